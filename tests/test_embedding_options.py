"""PML options on the older labelled-batch losses (``triplet_loss``,
``batch_contrastive_loss``, ``contrastive_loss``, ``ntxent``,
``supervised_contrastive_loss``): ``metric=`` (callable included),
``normalize_embeddings=``, ``ref_embeddings``/``ref_labels``/``ref_where``,
``pos_mask``/``neg_mask``, and the ``triplet_loss`` options of A6 (``swap``,
``smooth_loss``, ``triplet_type``, ``mining="easy_hard"``, ``triplets_per_anchor``),
against pytorch-metric-learning goldens (values and gradients), plus edge cases."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss
from jaxloss import mining

G = load("embedding_options")
TOL = {"rtol": 1e-6, "atol": 1e-9}
F32 = {"rtol": 2e-4, "atol": 2e-5}
Y, RY = G["labels"].astype(np.int32), G["ref_labels"].astype(np.int32)
PML = {"normalize_embeddings": True}


def _lp3(a, b):
    return mining.pairwise_distances(a, b, metric="lp", p=3.0)


# golden key -> (loss, options, uses the references)
CASES = {
    "ntxent": ("ntxent", {"temperature": 0.5}, False),
    "ntxent_lp": ("ntxent", {"temperature": 0.5, "metric": "euclidean", **PML}, False),
    "ntxent_ref": ("ntxent", {"temperature": 0.5}, True),
    "ntxent_lp_ref": ("ntxent", {"temperature": 0.5, "metric": "lp", **PML}, True),
    "supcon": ("supervised_contrastive_loss", {"temperature": 0.5}, False),
    "supcon_lp": (
        "supervised_contrastive_loss",
        {"temperature": 0.5, "metric": "euclidean", **PML},
        False,
    ),
    "supcon_ref": ("supervised_contrastive_loss", {"temperature": 0.5}, True),
    "supcon_lp_ref": (
        "supervised_contrastive_loss",
        {"temperature": 0.5, "metric": "euclidean", **PML},
        True,
    ),
    "con": ("batch_contrastive_loss", {"pos_margin": 0.1, "neg_margin": 0.8, **PML}, False),
    "con_l1": (
        "batch_contrastive_loss",
        {"pos_margin": 0.2, "neg_margin": 1.5, "metric": "manhattan", **PML},
        False,
    ),
    "con_lp3": (
        "batch_contrastive_loss",
        {"pos_margin": 0.5, "neg_margin": 3.0, "metric": _lp3},
        False,
    ),
    "con_ref": ("batch_contrastive_loss", {"pos_margin": 0.1, "neg_margin": 0.8, **PML}, True),
    "con_miner": (
        "batch_contrastive_loss",
        {
            "pos_margin": 0.1,
            "neg_margin": 0.8,
            **PML,
            "pos_mask": G["con_miner_pos"],
            "neg_mask": G["con_miner_neg"],
        },
        False,
    ),
    "tri": ("triplet_loss", {"margin": 0.2, "mining": "batch_all", **PML}, False),
    "tri_swap": (
        "triplet_loss",
        {"margin": 0.2, "mining": "batch_all", "swap": True, **PML},
        False,
    ),
    "tri_smooth": (
        "triplet_loss",
        {"margin": 0.2, "mining": "batch_all", "smooth_loss": True, **PML},
        False,
    ),
    "tri_swap_smooth": (
        "triplet_loss",
        {"margin": 0.1, "mining": "batch_all", "swap": True, "smooth_loss": True, **PML},
        False,
    ),
    "tri_ref": ("triplet_loss", {"margin": 0.2, "mining": "batch_all", **PML}, True),
    "tri_smooth_ref": (
        "triplet_loss",
        {"margin": 0.2, "mining": "batch_all", "smooth_loss": True, **PML},
        True,
    ),
    **{
        f"tri_type_{kind}": (
            "triplet_loss",
            {
                "margin": 0.2,
                "mining": "batch_all",
                "triplet_type": kind,
                "miner_margin": 0.3,
                **PML,
            },
            False,
        )
        for kind in ("easy", "semihard", "hard", "all")
    },
    **{
        f"{key}{swap}": (
            "triplet_loss",
            {
                "margin": 0.2,
                "mining": "easy_hard",
                "pos_strategy": ps,
                "neg_strategy": ns,
                "allowed_pos_range": pr,
                "allowed_neg_range": nr,
                "swap": bool(swap),
                **PML,
            },
            False,
        )
        for key, (ps, ns, pr, nr) in {
            "eh": ("easy", "semihard", None, None),
            "eh_hard_hard": ("hard", "hard", None, None),
            "eh_semi_hard": ("semihard", "hard", None, None),
            "eh_easy_easy": ("easy", "easy", None, None),
            "eh_all_hard": ("all", "hard", None, None),
            "eh_hard_all": ("hard", "all", None, None),
            "eh_range": ("hard", "hard", (0.0, 1.0), (0.6, 2.0)),
        }.items()
        for swap in ("", "_swap")
    },
}
# One compiled function per group of cases (the test-time budget).
GROUPS = {
    "softmax": [k for k in CASES if k.startswith(("ntxent", "supcon"))],
    "contrastive": [k for k in CASES if k.startswith("con")],
    "triplet": [k for k in CASES if k.startswith("tri")],
    "easy_hard": [k for k in CASES if k.startswith("eh")],
}


def _all_cases(keys, x, r):
    out = {}
    for key in keys:
        name, kw, with_ref = CASES[key]
        fn = jaxloss.get(name)
        if with_ref:
            value, grads = jax.value_and_grad(
                lambda e, q, fn=fn, kw=kw: fn(e, Y, ref_embeddings=q, ref_labels=RY, **kw),
                argnums=(0, 1),
            )(x, r)
        else:
            value, grad = jax.value_and_grad(lambda e, fn=fn, kw=kw: fn(e, Y, **kw))(x)
            grads = (grad,)
        out[key] = (value, grads)
    return out


def _check(out, tol):
    for key, (value, grads) in out.items():
        np.testing.assert_allclose(value, G[key], **tol, err_msg=key)
        np.testing.assert_allclose(grads[0], G[f"{key}_g"], **tol, err_msg=key)
        if len(grads) > 1 and grads[1] is not None:
            np.testing.assert_allclose(grads[1], G[f"{key}_gr"], **tol, err_msg=key)


def _vg_all(keys, x, r):
    # One compiled function for the whole group.
    return jax.jit(functools.partial(_all_cases, keys))(x, r)


@pytest.mark.parametrize("group", list(GROUPS))
def test_against_pytorch_metric_learning(group, x64):
    _check(_vg_all(GROUPS[group], G["x"], G["r"]), TOL)


def test_against_pytorch_metric_learning_float32():
    keys = ["ntxent_lp_ref", "con_lp3", "tri_swap_smooth"]
    _check(_vg_all(keys, G["x"].astype(np.float32), G["r"].astype(np.float32)), F32)


def test_triplet_margin_miner_counts_match_pml(x64):
    d = mining.pairwise_distances(G["x"], normalize_embeddings=True)
    for kind in ("easy", "semihard", "hard", "all"):
        mask = mining.triplet_margin_mask(d, Y, margin=0.3, type_of_triplets=kind)
        assert int(mask.sum()) == int(G[f"tri_type_{kind}_count"]), kind


# --------------------------------------------------------------------------- defaults and edge cases


def test_defaults_are_unchanged_by_the_new_options():
    x, y = jnp.asarray(G["x"], jnp.float32), jnp.asarray(Y)

    @jax.jit
    def run(e):  # every call of the test in one compile
        explicit = []
        for name, kw in [
            ("triplet_loss", {"metric": "euclidean"}),
            ("batch_contrastive_loss", {"mining": "hard"}),
        ]:
            fn = jaxloss.get(name)
            explicit.append((fn(e, y, **kw, normalize_embeddings=False), fn(e, y, **kw)))
        metric = []
        for name in ("ntxent", "supervised_contrastive_loss"):
            fn = jaxloss.get(name)
            a = fn(e, y, temperature=0.5)
            b = fn(
                e,
                y,
                temperature=0.5,
                metric=lambda p, q: mining.pairwise_distances(p, q, metric="cosine"),
            )
            metric.append((a, b))
        return explicit, metric

    explicit, metric = run(x)
    for with_default, without in explicit:
        np.testing.assert_allclose(with_default, without, rtol=1e-6)
    # cosine similarity logits == negated cosine distance logits (softmax is shift-invariant)
    for a, b in metric:
        np.testing.assert_allclose(a, b, rtol=1e-5)


def test_contrastive_loss_metric_options():
    rng = np.random.default_rng(3)
    x1, x2 = (
        rng.standard_normal((6, 4)).astype(np.float32),
        rng.standard_normal((6, 4)).astype(np.float32),
    )
    sim = jnp.asarray([1, 0, 1, 0, 0, 1], jnp.float32)
    u1, u2 = (
        x1 / np.linalg.norm(x1, axis=1, keepdims=True),
        x2 / np.linalg.norm(x2, axis=1, keepdims=True),
    )
    np.testing.assert_allclose(
        jaxloss.contrastive_loss(x1, x2, sim, normalize_embeddings=True),
        jaxloss.contrastive_loss(u1, u2, sim),
        rtol=1e-5,
    )
    d = np.abs(x1 - x2).sum(-1)
    expected = np.mean(0.5 * (sim * d**2 + (1 - sim) * np.maximum(0, 2.0 - d) ** 2))
    np.testing.assert_allclose(
        jaxloss.contrastive_loss(x1, x2, sim, margin=2.0, metric="manhattan"), expected, rtol=1e-5
    )
    np.testing.assert_allclose(
        jaxloss.contrastive_loss(
            x1,
            x2,
            sim,
            margin=2.0,
            metric=lambda a, b: mining.pairwise_distances(a, b, metric="manhattan"),
        ),
        expected,
        rtol=1e-5,
    )


def test_ref_where_masks_rows_nan_included():
    x, r = jnp.asarray(G["x"], jnp.float32), np.asarray(G["r"], np.float32)
    keep = np.array([1, 1, 0, 1, 1, 0, 1, 1, 1], bool)
    poisoned = np.where(keep[:, None], r, np.nan).astype(np.float32)
    for name, kw in [("supervised_contrastive_loss", {}), ("triplet_loss", {"swap": True})]:
        fn = jaxloss.get(name)
        full, grads = jax.jit(
            jax.value_and_grad(
                lambda e, q, fn=fn, kw=kw: fn(
                    e, Y, ref_embeddings=q, ref_labels=RY, ref_where=keep, **kw
                ),
                argnums=(0, 1),
            )
        )(x, poisoned)
        reference, g_ref = jax.jit(
            jax.value_and_grad(
                lambda e, q, fn=fn, kw=kw: fn(e, Y, ref_embeddings=q, ref_labels=RY[keep], **kw),
                argnums=(0, 1),
            )
        )(x, r[keep])
        np.testing.assert_allclose(full, reference, rtol=1e-5, err_msg=name)
        np.testing.assert_allclose(grads[0], g_ref[0], rtol=1e-4, atol=1e-6, err_msg=name)
        assert np.all(np.isfinite(grads[1])) and np.all(np.asarray(grads[1])[~keep] == 0), name


def test_pair_masks_select_the_pairs():
    x, y = jnp.asarray(G["x"], jnp.float32), jnp.asarray(Y)
    pos, neg = mining.positive_mask(y), mining.negative_mask(y)
    none, only = jax.jit(
        lambda e: (
            jaxloss.batch_contrastive_loss(e, y, reduction="none"),
            jaxloss.batch_contrastive_loss(
                e, y, pos_mask=pos & (jnp.arange(12) < 6)[:, None], neg_mask=neg, reduction="none"
            ),
        )
    )(x)
    np.testing.assert_allclose(np.asarray(only)[:6], np.asarray(none)[:6], rtol=1e-6)
    assert np.all(np.asarray(only)[6:][np.asarray(pos)[6:]] == 0)


def test_sampled_triplets_follow_the_uniform_distribution():
    x, y = (
        jnp.asarray(G["x"], jnp.float64 if jax.config.jax_enable_x64 else jnp.float32),
        jnp.asarray(Y),
    )
    k = 2000
    per_anchor = jaxloss.triplet_loss(
        x,
        y,
        margin=0.2,
        mining="batch_all",
        triplets_per_anchor=k,
        key=jax.random.key(0),
        reduction="none",
    )
    d = np.asarray(mining.pairwise_distances(x))
    pos, neg = np.asarray(mining.positive_mask(y)), np.asarray(mining.negative_mask(y))
    for a in range(12):
        if not pos[a].any():
            assert per_anchor[a] == 0
            continue
        h = np.maximum(0.0, d[a][pos[a]][:, None] - d[a][neg[a]][None, :] + 0.2).ravel()
        assert abs(per_anchor[a] / k - h.mean()) < 5 * h.std() / np.sqrt(k) + 1e-6, a


def test_option_errors():
    x, y = jnp.asarray(G["x"], jnp.float32), jnp.asarray(Y)
    with pytest.raises(ValueError, match="smooth_loss"):
        jaxloss.triplet_loss(x, y, soft_margin=True, smooth_loss=True)
    with pytest.raises(ValueError, match="triplet_type"):
        jaxloss.triplet_loss(x, y, triplet_type="hard")
    with pytest.raises(ValueError, match="key"):
        jaxloss.triplet_loss(x, y, mining="batch_all", triplets_per_anchor=3)
    with pytest.raises(ValueError, match="semihard"):
        jaxloss.triplet_loss(x, y, mining="easy_hard", pos_strategy="semihard", neg_strategy="all")
    with pytest.raises(ValueError, match="ref_labels"):
        jaxloss.ntxent(x, y, ref_embeddings=x)
    with pytest.raises(ValueError, match="metric"):
        jaxloss.batch_contrastive_loss(x, y, metric=lambda a, b: a @ b.T[:, :3])
    with pytest.raises(ValueError, match="pos_mask"):
        jaxloss.batch_contrastive_loss(x, y, pos_mask=jnp.ones((12, 9), bool))
