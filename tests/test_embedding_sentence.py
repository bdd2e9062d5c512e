"""sentence-transformers losses (CoSENT, AnglE, cosine similarity, online contrastive,
contrastive on distances, MarginMSE, global orthogonal regularisation) against ST goldens
(values and gradients, ST defaults and mapped options), TF-Addons' contrastive formula
by hand (transcribe), and the edge cases: ties, no ordered pair, zero vectors, odd
dimensions, batches without positives or negatives, ignored labels, masked pairs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("embedding_sentence")
TOL = {"rtol": 1e-6, "atol": 1e-9}
F32 = {"rtol": 2e-4, "atol": 2e-5}


def _vg(fn, argnums=(0, 1)):
    return jax.jit(jax.value_and_grad(fn, argnums=argnums))


def _check(value, grads, key, tol):
    np.testing.assert_allclose(value, G[key], **tol)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, G[f"{key}_g{i}"], **tol)


# --------------------------------------------------------------------------- CoSENT, AnglE

# golden key -> (loss, first embeddings, second embeddings, scores, options)
RANKED = {
    "cosent": ("cosent_loss", "c_x1", "c_x2", "c_scores", {}),
    "cosent_s5": ("cosent_loss", "c_x1", "c_x2", "c_scores", {"scale": 5.0}),
    "cosent_dot": ("cosent_loss", "c_x1", "c_x2", "c_scores", {"scale": 2.0, "similarity": "dot"}),
    "cosent_ints": ("cosent_loss", "c_x1", "c_x2", "c_ints", {}),
    "cosent_bools": ("cosent_loss", "c_x1", "c_x2", "c_bools", {}),
    "cosent_zero": ("cosent_loss", "c_zero1", "c_x2", "c_scores", {}),
    "cosent_angle": ("cosent_loss", "c_x1", "c_x2", "c_scores", {"similarity": "angle"}),
    "angle": ("angle_loss", "c_x1", "c_x2", "c_scores", {}),
    "angle_s3": ("angle_loss", "c_x1", "c_x2", "c_scores", {"scale": 3.0}),
    "angle_odd": ("angle_loss", "c_odd1", "c_odd2", "c_scores", {}),
    "angle_zero": ("angle_loss", "c_zero1", "c_x2", "c_scores", {}),
    "angle_ints": ("angle_loss", "c_x1", "c_x2", "c_ints", {}),
}


def _ranked_call(case, dtype):
    name, k1, k2, ks, kw = RANKED[case]
    fn = jaxloss.get(name)
    scores = G[ks]
    scores = scores.astype(dtype) if scores.dtype == np.float64 else scores
    return _vg(lambda a, b: fn(a, b, scores, **kw))(G[k1].astype(dtype), G[k2].astype(dtype))


@pytest.mark.parametrize("case", list(RANKED))
def test_cosent_and_angle_against_sentence_transformers(case, x64):
    value, grads = _ranked_call(case, np.float64)
    _check(value, grads, case, TOL)


@pytest.mark.parametrize("case", ["cosent", "cosent_dot", "angle", "angle_odd", "angle_zero"])
def test_cosent_and_angle_float32(case):
    value, grads = _ranked_call(case, np.float32)
    assert value.dtype == jnp.float32
    _check(value, grads, case, F32)


def test_cosent_equals_the_pairwise_formula(x64):
    # log(1 + sum over the pairs with y_i < y_j of e^{s_i - s_j}), written out pair by pair.
    x1, x2, y = G["c_x1"], G["c_x2"], G["c_scores"]
    cos = np.sum(x1 * x2, 1) / np.linalg.norm(x1, axis=1) / np.linalg.norm(x2, axis=1)
    s = 20.0 * cos
    terms = [np.exp(s[i] - s[j]) for i in range(len(y)) for j in range(len(y)) if y[i] < y[j]]
    got = jax.jit(lambda a, b: jaxloss.cosent_loss(a, b, y))(x1, x2)
    np.testing.assert_allclose(got, np.log1p(np.sum(terms)), rtol=1e-12)


def test_cosent_without_ordered_pairs_is_zero_with_zero_gradients():
    x1, x2 = jnp.asarray(G["c_x1"], jnp.float32), jnp.asarray(G["c_x2"], jnp.float32)
    for fn in (jaxloss.cosent_loss, jaxloss.angle_loss):

        @jax.jit
        def run(a, b, fn=fn):
            vg = jax.value_and_grad(lambda u, v: fn(u, v, jnp.full((10,), 0.3)), argnums=(0, 1))
            return vg(a, b), fn(a[:1], b[:1], jnp.ones(1))

        (value, grads), one = run(x1, x2)
        assert float(value) == 0.0
        for g in grads:
            np.testing.assert_array_equal(g, 0.0)
        assert float(one) == 0.0


def test_cosent_none_is_the_batch_scalar_and_masks_act_on_it():
    x1, x2, y = (
        G["c_x1"].astype(np.float32),
        G["c_x2"].astype(np.float32),
        G["c_scores"].astype(np.float32),
    )
    for fn in (
        jaxloss.cosent_loss,
        jaxloss.angle_loss,
        lambda a, b, c, **k: jaxloss.cosent_loss(a, b, c, similarity="dot", **k),
    ):

        @jax.jit
        def run(a, b, c, fn=fn):
            return (
                fn(a, b, c),
                [fn(a, b, c, reduction=reduction) for reduction in ("none", "sum")],
                fn(a, b, c, weights=2.0, reduction="sum"),
                fn(a, b, c, where=False),
            )

        mean, outs, weighted, masked = run(x1, x2, y)
        for out in outs:
            assert out.shape == ()
            np.testing.assert_allclose(out, mean, rtol=1e-6)
        np.testing.assert_allclose(weighted, 2 * mean, rtol=1e-6)
        assert float(masked) == 0.0


def test_cosent_scale_is_differentiable_and_checked():
    x1, x2, y = (
        G["c_x1"].astype(np.float32),
        G["c_x2"].astype(np.float32),
        G["c_scores"].astype(np.float32),
    )
    g = jax.jit(jax.grad(lambda s: jaxloss.cosent_loss(x1, x2, y, scale=s)))(5.0)
    assert np.isfinite(g) and g != 0.0
    with pytest.raises(ValueError, match="cosent_loss: scale must be"):
        jaxloss.cosent_loss(x1, x2, y, scale=0.0)
    with pytest.raises(ValueError, match="angle_loss: scale must be"):
        jaxloss.angle_loss(x1, x2, y, scale=-1.0)
    with pytest.raises(ValueError, match="cosent_loss: similarity must be"):
        jaxloss.cosent_loss(x1, x2, y, similarity="euclidean")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cosent_loss: x1 must have rank 2"):
        jaxloss.cosent_loss(x1[None], x2[None], y[None])


def test_cosent_nan_score_gives_nan():
    x1, x2, y = (
        G["c_x1"].astype(np.float32),
        G["c_x2"].astype(np.float32),
        G["c_scores"].astype(np.float32),
    )
    y = y.copy()
    y[4] = np.nan
    assert np.isnan(jax.jit(jaxloss.cosent_loss)(x1, x2, y))


def test_angle_similarity_is_the_complex_quotient():
    # |Re + Im| of the normalised quotient u / v of complex vectors (AnglE's paper form).
    x1, x2 = G["c_x1"], G["c_x2"]
    u = (x1[:, :3] + 1j * x1[:, 3:]) / np.linalg.norm(x1, axis=1, keepdims=True)
    v = (x2[:, :3] + 1j * x2[:, 3:]) / np.linalg.norm(x2, axis=1, keepdims=True)
    z = np.sum(u * np.conj(v), axis=1)  # sum_k u_k conj(v_k) = sum_k u_k / v_k |v_k|^2
    sim = np.abs(z.real + z.imag)
    y = np.array([0.0, 1.0])  # one ordered pair: log(1 + e^{s_0 - s_1})
    angle = jax.jit(lambda a, b: jaxloss.angle_loss(a, b, y, scale=3.0))  # one compile, 4 calls
    for i in range(4):
        expected = np.log1p(np.exp(3.0 * (sim[2 * i] - sim[2 * i + 1])))
        got = angle(x1[2 * i : 2 * i + 2], x2[2 * i : 2 * i + 2])
        np.testing.assert_allclose(got, expected, rtol=1e-5)


# --------------------------------------------------------------------------- cosine similarity


def test_cosine_similarity_against_sentence_transformers(x64):
    t = G["s_targets"]
    value, grads = _vg(lambda a, b: jaxloss.cosine_similarity_loss(a, b, t))(G["s_x1"], G["s_x2"])
    _check(value, grads, "cossim", TOL)
    value, grads = _vg(lambda a, b: jaxloss.cosine_similarity_loss(a, b, t.astype(np.float32)))(
        G["s_x1"].astype(np.float32), G["s_x2"].astype(np.float32)
    )
    _check(value, grads, "cossim", F32)


def test_cosine_similarity_masked_nan_pairs_leave_no_trace():
    x1, x2, t = (G[k].astype(np.float32) for k in ("s_x1", "s_x2", "s_targets"))
    bad = x1.copy()
    bad[2] = np.nan
    where = np.arange(10) != 2
    value, grads = _vg(lambda a, b: jaxloss.cosine_similarity_loss(a, b, t, where=where))(bad, x2)
    expected = jaxloss.cosine_similarity_loss(
        np.delete(x1, 2, 0), np.delete(x2, 2, 0), np.delete(t, 2)
    )
    np.testing.assert_allclose(value, expected, rtol=1e-6)
    assert np.all(np.isfinite(grads[0])) and np.all(grads[0][2] == 0.0)
    zero = jaxloss.cosine_similarity_loss(
        np.zeros((1, 3), np.float32), np.ones((1, 3), np.float32), np.ones(1)
    )
    np.testing.assert_allclose(zero, 1.0)  # a zero vector: cosine 0


# --------------------------------------------------------------------------- online contrastive

ONLINE = {
    "online": {},
    "online_m1": {"margin": 1.0},
    "online_euclidean": {"margin": 3.0, "metric": "euclidean"},
    "online_manhattan": {"margin": 6.0, "metric": "manhattan"},
    "online_nopos": {"margin": 1.5},
    "online_noneg": {},
    "online_onepos": {"margin": 1.0},
    "online_ignored": {},
}


@pytest.mark.parametrize("case", list(ONLINE))
def test_online_contrastive_against_sentence_transformers(case, x64):
    y = G[f"{case}_labels"]
    fn = _vg(lambda a, b: jaxloss.online_contrastive_loss(a, b, y, reduction="sum", **ONLINE[case]))
    value, grads = fn(G["o_x1"], G["o_x2"])
    assert G[case] > 0  # every case selects something
    _check(value, grads, case, TOL)


def test_online_contrastive_float32_and_st_euclidean():
    y = G["online_labels"]
    x1, x2 = G["o_x1"].astype(np.float32), G["o_x2"].astype(np.float32)
    value, grads = _vg(lambda a, b: jaxloss.online_contrastive_loss(a, b, y, reduction="sum"))(
        x1, x2
    )
    _check(value, grads, "online", F32)
    # ST's own EUCLIDEAN adds 1e-6 to the difference (F.pairwise_distance): equal to f32 tolerance.
    value, grads = _vg(
        lambda a, b: jaxloss.online_contrastive_loss(
            a, b, y, margin=3.0, metric="euclidean", reduction="sum"
        )
    )(x1, x2)
    _check(value, grads, "online_st_euclidean", F32)


def _selected(x1, x2, y):
    """The hard pairs, from ST's rule written with NumPy (cosine distance)."""
    d = 1.0 - np.sum(x1 * x2, 1) / np.linalg.norm(x1, axis=1) / np.linalg.norm(x2, axis=1)
    pos, neg = y == 1, y == 0
    hard_neg = neg & (d < (d[pos].max() if pos.any() else d[neg].mean()))
    hard_pos = pos & (d > (d[neg].min() if neg.any() else d[pos].mean()))
    return hard_pos | hard_neg


def test_online_contrastive_mean_none_and_where():
    x1, x2, y = G["o_x1"].astype(np.float32), G["o_x2"].astype(np.float32), G["online_labels"]
    fn = jax.jit(jaxloss.online_contrastive_loss, static_argnames=("reduction",))
    none = np.asarray(fn(x1, x2, y, reduction="none"))
    selected = _selected(G["o_x1"], G["o_x2"], y)
    assert 0 < selected.sum() < 10
    np.testing.assert_array_equal(none[~selected], 0.0)
    np.testing.assert_allclose(none.sum(), G["online"], rtol=1e-5)
    np.testing.assert_allclose(fn(x1, x2, y), none.sum() / selected.sum(), rtol=1e-6)
    w = np.linspace(0.5, 2.0, 10).astype(np.float32)
    np.testing.assert_allclose(
        fn(x1, x2, y, weights=w), (w * none).sum() / w[selected].sum(), rtol=1e-6
    )
    np.testing.assert_allclose(
        fn(x1, x2, y, weights=w, reduction="sum"), (w * none).sum(), rtol=1e-6
    )
    # A masked pair leaves the batch: equal to the call without it, thresholds included.
    where = np.arange(10) != 2  # the positive pair 2
    keep = np.flatnonzero(where)
    masked = fn(x1, x2, y, where=where, reduction="none")
    np.testing.assert_allclose(
        masked[keep], fn(x1[keep], x2[keep], y[keep], reduction="none"), rtol=1e-6
    )
    assert masked[2] == 0.0
    np.testing.assert_allclose(
        fn(x1, x2, y, where=where), fn(x1[keep], x2[keep], y[keep]), rtol=1e-6
    )


def test_online_contrastive_empty_selection_and_all_masked():
    x1, x2 = G["o_x1"].astype(np.float32), G["o_x2"].astype(np.float32)
    labels = np.full(10, 2)  # neither positive nor negative: nothing selected
    value, grads = _vg(lambda a, b: jaxloss.online_contrastive_loss(a, b, labels))(x1, x2)
    assert float(value) == 0.0
    for g in grads:
        np.testing.assert_array_equal(g, 0.0)
    bad = x1.copy()
    bad[0] = np.nan
    where = np.zeros(10, bool)
    value, grads = _vg(
        lambda a, b: jaxloss.online_contrastive_loss(a, b, G["online_labels"], where=where)
    )(bad, x2)
    assert float(value) == 0.0
    for g in grads:
        np.testing.assert_array_equal(g, 0.0)


def test_online_contrastive_nan_is_not_hidden_by_the_selection():
    x1, x2, y = G["o_x1"].astype(np.float32), G["o_x2"].astype(np.float32), G["online_labels"]
    bad = x1.copy()
    bad[1] = np.nan  # a pair that the selection would drop (NaN compares False)
    assert np.isnan(jaxloss.online_contrastive_loss(bad, x2, y))
    yf = y.astype(np.float32)
    yf[0] = np.nan
    assert np.isnan(jaxloss.online_contrastive_loss(x1, x2, yf))


def test_online_contrastive_identical_pairs_have_finite_gradients():
    x1 = G["o_x1"].astype(np.float32)
    for metric in ("cosine", "euclidean", "manhattan", "squared_euclidean"):
        _, grads = _vg(
            lambda a, b, metric=metric: jaxloss.online_contrastive_loss(
                a, b, G["online_labels"], metric=metric
            )
        )(x1, x1.copy())
        assert all(np.all(np.isfinite(g)) for g in grads), metric


# --------------------------------------------------------------------------- contrastive on distances


def test_contrastive_from_distances_tf_addons_formula():
    # transcribe: TF-Addons contrastive_loss = y d^2 + (1 - y) max(m - d, 0)^2, Keras mean.
    d = np.array([0.5, 0.25, 1.5, 0.0], np.float32)
    y = np.array([1.0, 0.0, 0.0, 1.0], np.float32)
    # 0.5^2 = 0.25; (1 - 0.25)^2 = 0.5625; max(1 - 1.5, 0)^2 = 0; 0^2 = 0.
    none = jaxloss.contrastive_loss_from_distances(d, y, reduction="none")
    np.testing.assert_allclose(none, [0.25, 0.5625, 0.0, 0.0])
    np.testing.assert_allclose(jaxloss.contrastive_loss_from_distances(d, y), 0.8125 / 4)
    # margin 2: (2 - 0.25)^2 = 3.0625, (2 - 1.5)^2 = 0.25.
    np.testing.assert_allclose(
        jaxloss.contrastive_loss_from_distances(d, y, margin=2.0, reduction="sum"),
        0.25 + 3.0625 + 0.25,
    )


@pytest.mark.parametrize(
    ("case", "margin", "labels", "reduction"),
    [
        ("k", 1.0, "k_y", "mean"),
        ("k_m05", 0.5, "k_y", "mean"),
        ("k_soft", 1.5, "k_soft_y", "mean"),
        ("k_sum", 1.0, "k_y", "sum"),
    ],
)
def test_contrastive_from_distances_is_twice_sentence_transformers(
    case, margin, labels, reduction, x64
):
    y = G[labels]
    value, (grad,) = _vg(
        lambda d: jaxloss.contrastive_loss_from_distances(d, y, margin=margin, reduction=reduction),
        argnums=(0,),
    )(G["k_d"])
    np.testing.assert_allclose(value, 2 * G[case], **TOL)
    np.testing.assert_allclose(grad, 2 * G[f"{case}_g0"], **TOL)


def test_contrastive_from_distances_matches_contrastive_loss():
    x1, x2 = G["o_x1"].astype(np.float32), G["o_x2"].astype(np.float32)
    y = G["online_labels"].astype(np.float32)
    d = np.linalg.norm(x1 - x2, axis=1).astype(np.float32)
    np.testing.assert_allclose(
        jaxloss.contrastive_loss_from_distances(d, y, margin=3.0),
        2 * jaxloss.contrastive_loss(x1, x2, y, margin=3.0),
        rtol=1e-5,
    )


# --------------------------------------------------------------------------- MarginMSE


def _bi_encoder(target):
    def loss(q, p, n):
        pos = jnp.sum(q * p, -1)
        neg = jnp.einsum("bd,kbd->bk", q, n) if n.ndim == 3 else jnp.sum(q * n, -1)
        return jaxloss.margin_mse_loss(pos, neg, target)

    return _vg(loss, argnums=(0, 1, 2))


@pytest.mark.parametrize(
    ("case", "target", "neg"),
    [
        ("mm", "mm_margins", "mm_n"),
        ("mm_teacher", "mm_teacher_t", "mm_n"),
        ("mm_single", "mm_single_t", "mm_n0"),
    ],
)
def test_margin_mse_bi_encoder_against_sentence_transformers(case, target, neg, x64):
    n = G["mm_n"][0] if neg == "mm_n0" else G["mm_n"]
    value, grads = _bi_encoder(G[target])(G["mm_q"], G["mm_p"], n)
    _check(value, grads, case, TOL)


def test_margin_mse_on_scores_against_sentence_transformers(x64):
    value, grads = _vg(lambda p, n: jaxloss.margin_mse_loss(p, n, G["mm_teacher_t"]))(
        G["mm_pos"], G["mm_neg"]
    )
    _check(value, grads, "mm_scores", TOL)
    f32 = (G["mm_pos"].astype(np.float32), G["mm_neg"].astype(np.float32))
    value, grads = _vg(
        lambda p, n: jaxloss.margin_mse_loss(p, n, G["mm_teacher_t"].astype(np.float32))
    )(*f32)
    _check(value, grads, "mm_scores", F32)


def test_margin_mse_target_forms_and_errors():
    pos, neg = jnp.asarray(G["mm_pos"][:4], jnp.float32), jnp.asarray(G["mm_neg"][:4], jnp.float32)
    t = jnp.asarray(G["mm_teacher_t"][:4], jnp.float32)
    margins = t[:, :1] - t[:, 1:]
    np.testing.assert_allclose(
        jaxloss.margin_mse_loss(pos, neg, t), jaxloss.margin_mse_loss(pos, neg, margins)
    )
    none = jaxloss.margin_mse_loss(pos, neg[:, 0], margins[:, 0], reduction="none")
    assert none.shape == (4,)
    np.testing.assert_allclose(
        none, jaxloss.margin_mse_loss(pos, neg[:, :1], margins[:, :1], reduction="none")[:, 0]
    )
    np.testing.assert_allclose(
        none, jaxloss.margin_mse_loss(pos, neg[:, 0], t[:, :2], reduction="none")
    )
    # The teacher's margins carry no gradient (ST detaches its labels).
    np.testing.assert_array_equal(
        jax.grad(lambda m: jaxloss.margin_mse_loss(pos, neg, m))(margins), 0.0
    )
    with pytest.raises(ValueError, match=r"margin_mse_loss: target_margins has shape \(4, 5\)"):
        jaxloss.margin_mse_loss(pos, neg, jnp.zeros((4, 5)))
    with pytest.raises(ValueError, match="margin_mse_loss: negative_scores"):
        jaxloss.margin_mse_loss(pos, neg[:3], margins[:3])


# --------------------------------------------------------------------------- global orthogonal regularisation

GOR = {
    "gor": ("g_e", {}),
    "gor_dot": ("g_e", {"similarity": "dot", "mean_weight": 0.5, "second_moment_weight": 2.0}),
    "gor_spread": ("g_e", {"mean_weight": 0.0}),
    "gor_mean_only": ("g_e", {"second_moment_weight": 0.0}),
    "gor_one": ("g_one", {}),
}


@pytest.mark.parametrize("case", list(GOR))
def test_gor_against_sentence_transformers(case, x64):
    key, kw = GOR[case]
    x = 0.5 * G[key] if case == "gor_dot" else G[key]
    value, grads = _vg(lambda e: jaxloss.global_orthogonal_regularization(e, **kw), argnums=(0,))(x)
    _check(value, grads, case, TOL)
    if case == "gor":
        value, grads = _vg(lambda e: jaxloss.global_orthogonal_regularization(e), argnums=(0,))(
            x.astype(np.float32)
        )
        _check(value, grads, case, F32)


def test_gor_columns_average_and_options():
    e = jnp.asarray(G["g_e"], jnp.float32)
    # ST averages over the columns it is given: the mean of one call per column.
    both = jnp.mean(jax.vmap(jaxloss.global_orthogonal_regularization)(jnp.stack([e, -e[::-1]])))
    # float32, two programs (vmapped and not): a few ulps of rounding apart.
    np.testing.assert_allclose(both, jaxloss.global_orthogonal_regularization(e), rtol=2e-6)
    assert jaxloss.global_orthogonal_regularization(e, reduction="none").shape == ()
    g = jax.grad(lambda w: jaxloss.global_orthogonal_regularization(e, mean_weight=w))(1.0)
    assert np.isfinite(g) and g > 0
    with pytest.raises(ValueError, match="global_orthogonal_regularization: mean_weight must be"):
        jaxloss.global_orthogonal_regularization(e, mean_weight=-1.0)
    with pytest.raises(ValueError, match="both 0"):
        jaxloss.global_orthogonal_regularization(e, mean_weight=0.0, second_moment_weight=0.0)


def test_margins_are_checked():
    d, y = np.array([0.5, 1.0], np.float32), np.array([1.0, 0.0], np.float32)
    with pytest.raises(ValueError, match="contrastive_loss_from_distances: margin must be"):
        jaxloss.contrastive_loss_from_distances(d, y, margin=-0.5)
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="online_contrastive_loss: margin must be"):
        jaxloss.online_contrastive_loss(x, x, y, margin=-1.0)
    with pytest.raises(ValueError, match="online_contrastive_loss: metric must be"):
        jaxloss.online_contrastive_loss(x, x, y, metric="dot")  # type: ignore[arg-type]
    # Traced margins are not checked, and differentiable.
    g = jax.grad(lambda m: jaxloss.contrastive_loss_from_distances(d, y, margin=m))(2.0)
    np.testing.assert_allclose(g, 0.5 * 2 * (2.0 - 1.0))
