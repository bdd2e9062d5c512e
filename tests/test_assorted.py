"""Assorted wave-2 losses against their anchors (goldens from tests/references/gen_assorted.py):
adaptive softmax (torch ``AdaptiveLogSoftmaxWithLoss``), Fenchel-Young losses and CTC forward
variables (optax), triplet margin with a distance function (torch
``TripletMarginWithDistanceLoss``), weighted kappa (TF-Addons, transcribed)."""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.special import logsumexp

import jaxloss

REF = np.load(pathlib.Path(__file__).parent / "references" / "assorted.npz")
TOL = {"rtol": 1e-5, "atol": 1e-5}


def f32(key: str) -> jax.Array:
    return jnp.asarray(REF[key], jnp.float32)


# --------------------------------------------------------------------------- adaptive softmax

CASES = {"als_a": ((3, 7), 2, False), "als_b": ((4,), 1, True)}


@pytest.mark.parametrize("key", sorted(CASES))
def test_adaptive_log_softmax_matches_torch(key):
    cutoffs, clusters, has_bias = CASES[key]
    hidden, head, labels = (
        f32(f"{key}_hidden"),
        f32(f"{key}_head"),
        jnp.asarray(REF[f"{key}_labels"]),
    )
    tails = tuple((f32(f"{key}_tail{i}0"), f32(f"{key}_tail{i}1")) for i in range(clusters))
    bias = f32(f"{key}_bias") if has_bias else None

    @jax.jit
    def run(hidden, head, tails, bias):
        def mean(hidden, head, tails, bias):
            return jaxloss.adaptive_log_softmax_loss(
                hidden, head, tails, labels, cutoffs=cutoffs, head_bias=bias
            )

        none = jaxloss.adaptive_log_softmax_loss(
            hidden, head, tails, labels, cutoffs=cutoffs, head_bias=bias, reduction="none"
        )
        return none, *jax.value_and_grad(mean, argnums=(0, 1, 2, 3))(hidden, head, tails, bias)

    none, loss, (g_hidden, g_head, g_tails, g_bias) = run(hidden, head, tails, bias)
    np.testing.assert_allclose(none, REF[f"{key}_none"], **TOL)
    np.testing.assert_allclose(loss, REF[f"{key}_loss"], **TOL)
    np.testing.assert_allclose(g_hidden, REF[f"{key}_g_hidden"], **TOL)
    np.testing.assert_allclose(g_head, REF[f"{key}_g_head"], **TOL)
    for i in range(clusters):
        for j in range(2):
            np.testing.assert_allclose(g_tails[i][j], REF[f"{key}_g_tail{i}{j}"], **TOL)
    if has_bias:
        np.testing.assert_allclose(g_bias, REF[f"{key}_g_bias"], **TOL)


def test_adaptive_log_softmax_layout_errors_name_the_argument():
    hidden, head, labels = f32("als_a_hidden"), f32("als_a_head"), jnp.asarray(REF["als_a_labels"])
    tails = tuple((f32(f"als_a_tail{i}0"), f32(f"als_a_tail{i}1")) for i in range(2))
    fn = jaxloss.adaptive_log_softmax_loss
    with pytest.raises(ValueError, match=r"adaptive_log_softmax_loss.*tail_weights"):
        fn(hidden, head, tails[:1], labels, cutoffs=(3, 7))
    with pytest.raises(ValueError, match=r"tail_weights\[0\]\[1\]"):
        fn(hidden, head, ((tails[0][0], tails[0][1][:, :3]), tails[1]), labels, cutoffs=(3, 7))
    with pytest.raises(ValueError, match="head_weight"):
        fn(hidden, head[:, :-1], tails, labels, cutoffs=(3, 7))
    with pytest.raises(ValueError, match="cutoffs"):
        fn(hidden, head, tails, labels, cutoffs=(7, 3))
    with pytest.raises(ValueError, match="labels"):
        fn(hidden, head, tails, labels.at[0].set(12), cutoffs=(3, 7))


# --------------------------------------------------------------------------- Fenchel-Young


def test_fenchel_young_matches_optax():
    lse, top = jaxloss.make_fenchel_young_loss(logsumexp), jaxloss.make_fenchel_young_loss(jnp.max)

    @jax.jit
    def run(scores, targets, theta, y_true, y_one_hot):
        out = {}
        for name, fy in (("lse", lse), ("max", top)):
            out[f"{name}_none"] = fy(scores, targets, reduction="none")
            out[f"{name}_g"] = jax.grad(lambda s, fy=fy: fy(s, targets, reduction="sum"))(scores)
        out["optax_grad"] = jax.grad(lambda t: lse(t, y_true, reduction="sum"))(theta)
        out["optax_loss_one_hot"] = lse(theta, y_one_hot, reduction="none")
        # A NaN row masked out by where reaches neither the value nor the gradient.
        bad = scores.at[0, 0].set(jnp.nan)
        where = jnp.ones(scores.shape[:-1], bool).at[0, 0].set(False)
        out["masked"], out["masked_g"] = jax.value_and_grad(lambda s: lse(s, targets, where=where))(
            bad
        )
        return out

    out = run(
        f32("fy_scores"),
        f32("fy_targets"),
        f32("fy_optax_theta"),
        f32("fy_optax_y_true"),
        f32("fy_optax_y_one_hot"),
    )
    for key in ("lse_none", "lse_g", "max_none", "max_g", "optax_grad", "optax_loss_one_hot"):
        np.testing.assert_allclose(out[key], REF[f"fy_{key}"], **TOL)
    none = REF["fy_lse_none"]
    np.testing.assert_allclose(out["masked"], (none.sum() - none[0, 0]) / (none.size - 1), **TOL)
    assert np.all(np.isfinite(out["masked_g"])) and np.all(out["masked_g"][0, 0] == 0)


def test_fenchel_young_rejects_a_non_callable():
    with pytest.raises(TypeError, match="max_fun"):
        jaxloss.make_fenchel_young_loss(1.0)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- CTC forward variables


def _optax_one_to_one_case():
    """optax's ``CTCTest.test_with_one_to_one_alignment`` inputs (seed 1234, legacy RNG)."""
    np.random.seed(1234)
    logits = np.random.randn(8, 50, 40)
    labels = np.random.uniform(1, 40, size=(8, 50)).astype(np.int32)
    for n in range(labels.shape[0]):
        for t in range(1, labels.shape[1]):
            while labels[n, t] == labels[n, t - 1]:
                labels[n, t] = np.random.uniform(1, 40)
    return logits.astype(np.float32), labels


FRAMES = np.array([0, 10, 25, 49])


def test_ctc_forward_probs_on_optax_own_case():
    logits, labels = _optax_one_to_one_case()
    loss, blank, emit = jax.jit(jaxloss.ctc_loss_with_forward_probs, static_argnames="reduction")(
        logits, np.zeros(logits.shape[:2]), labels, np.zeros(labels.shape), reduction="none"
    )
    np.testing.assert_allclose(loss, REF["ctc_optax_loss"], rtol=1e-5)
    np.testing.assert_allclose(blank[FRAMES], REF["ctc_optax_blank"], rtol=1e-5)
    np.testing.assert_allclose(emit[FRAMES], REF["ctc_optax_emit"], rtol=1e-5)


def test_ctc_forward_probs_padded_with_repeats_matches_optax():
    logits, logit_paddings = f32("ctc_pad_logits"), f32("ctc_pad_logit_paddings")
    label_paddings = f32("ctc_pad_label_paddings")
    labels, labels_b4 = jnp.asarray(REF["ctc_pad_labels"]), jnp.asarray(REF["ctc_pad_b4_labels"])

    @jax.jit
    def run(x):
        def total(x):
            out = jaxloss.ctc_loss_with_forward_probs(
                x, logit_paddings, labels, label_paddings, reduction="none"
            )
            return out[0].sum(), out

        (_, out), grad = jax.value_and_grad(total, has_aux=True)(x)
        b4 = jaxloss.ctc_loss_with_forward_probs(
            x, logit_paddings, labels_b4, label_paddings, blank_id=4, reduction="none"
        )
        return {"ctc_pad": out, "ctc_pad_b4": b4}, grad

    out, grad = run(logits)
    for key, (loss, blank, emit) in out.items():
        np.testing.assert_allclose(loss, REF[f"{key}_loss"], **TOL)
        np.testing.assert_allclose(blank, REF[f"{key}_blank"], rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(emit, REF[f"{key}_emit"], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(grad, REF["ctc_pad_g"], **TOL)


# --------------------------------------------------------------------------- triplet distance_function


def _l1(x, y):
    return jnp.sum(jnp.abs(x - y), axis=-1)


def _cosine(x, y):
    dot = jnp.sum(x * y, axis=-1)
    return 1 - dot / (jnp.linalg.norm(x, axis=-1) * jnp.linalg.norm(y, axis=-1))


def test_triplet_margin_distance_function_matches_torch():
    fn = jaxloss.triplet_margin_loss
    cases = {
        "default": {"margin": 1.0},
        "l1": {"distance_function": _l1, "margin": 0.5, "swap": True},
        "cos": {"distance_function": _cosine, "margin": 0.3},
    }

    @jax.jit
    def run(a, p, n):
        return {
            key: (
                fn(a, p, n, reduction="none", **kw),
                jax.grad(lambda *x, kw=kw: fn(*x, reduction="sum", **kw), argnums=(0, 1, 2))(
                    a, p, n
                ),
            )
            for key, kw in cases.items()
        }

    out = run(f32("tri_a"), f32("tri_p"), f32("tri_n"))
    for key, (none, grads) in out.items():
        np.testing.assert_allclose(none, REF[f"tri_{key}_none"], **TOL)
        for name, g in zip("apn", grads):
            np.testing.assert_allclose(g, REF[f"tri_{key}_g_{name}"], **TOL)


def test_triplet_margin_distance_function_must_return_row_distances():
    x = jnp.ones((3, 2))
    with pytest.raises(ValueError, match="triplet_margin_loss: distance_function returned shape"):
        jaxloss.triplet_margin_loss(x, x, x, distance_function=lambda a, b: a - b)


# --------------------------------------------------------------------------- weighted kappa (transcribed)


# The example of TF-Addons' WeightedKappaLoss docstring (labels one-hot there: 2, 1, 0, 3).
TFA_PROBS = np.array(
    [[0.1, 0.2, 0.6, 0.1], [0.1, 0.5, 0.3, 0.1], [0.8, 0.05, 0.05, 0.1], [0.01, 0.09, 0.1, 0.8]],
    np.float32,
)


def test_weighted_kappa_matches_the_tfa_formula():
    probs, labels = f32("kappa_probs"), jnp.asarray(REF["kappa_labels"])
    onehot = jax.nn.one_hot(labels, 5)
    one = jax.nn.one_hot(jnp.full(8, 2), 5)

    @jax.jit
    def run(probs, eps):
        out = {}
        for weightage in ("quadratic", "linear"):

            def f(p, eps, weightage=weightage):
                return jaxloss.weighted_kappa_loss(
                    p, labels, num_classes=5, weightage=weightage, epsilon=eps
                )

            out[weightage] = jax.vmap(jax.value_and_grad(f), in_axes=(None, 0))(probs, eps)
        kw = {"num_classes": 5}
        out["onehot"] = jaxloss.weighted_kappa_loss(probs, onehot, **kw)
        out["degenerate"] = jaxloss.weighted_kappa_loss(one, jnp.full(8, 2), **kw)
        out["tfa_doc"] = jaxloss.weighted_kappa_loss(
            TFA_PROBS, jnp.array([2, 1, 0, 3]), num_classes=4
        )
        out["none"] = jaxloss.weighted_kappa_loss(probs, labels, reduction="none", **kw)
        out["weighted"] = jaxloss.weighted_kappa_loss(
            probs, labels, weights=2.0, reduction="sum", **kw
        )
        out["masked"] = jax.value_and_grad(
            lambda p: jaxloss.weighted_kappa_loss(p, labels, where=jnp.asarray(False), **kw)
        )(probs)
        return out

    out = run(probs, jnp.array([1e-6, 0.1], jnp.float32))
    for weightage in ("quadratic", "linear"):
        values, grads = out[weightage]
        for i, eps in enumerate((1e-6, 0.1)):
            np.testing.assert_allclose(values[i], REF[f"kappa_{weightage}_{eps:g}"], **TOL)
            np.testing.assert_allclose(
                grads[i], REF[f"kappa_{weightage}_{eps:g}_g"], rtol=1e-4, atol=1e-5
            )
    expected = REF["kappa_quadratic_1e-06"]
    np.testing.assert_allclose(out["onehot"], expected, **TOL)
    np.testing.assert_allclose(out["none"], expected, **TOL)
    np.testing.assert_allclose(out["weighted"], 2 * expected, **TOL)
    np.testing.assert_allclose(out["degenerate"], REF["kappa_degenerate"], **TOL)
    assert out["masked"][0] == 0 and np.all(out["masked"][1] == 0)
    np.testing.assert_allclose(out["tfa_doc"], -1.1611923, rtol=1e-6)  # TF-Addons' documented value
