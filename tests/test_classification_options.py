"""Classification options of API.md E29-E32 against their anchors (goldens from
``references/gen_classification_options.py``): Keras ``BinaryFocalCrossentropy`` /
``CategoricalFocalCrossentropy`` / ``CosineSimilarity``, smp ``focal_loss_with_logits``,
MONAI ``FocalLoss(use_softmax=True)`` and optax's ``where`` (its own test inputs)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("classification_options")
TOL = {"rtol": 1e-6, "atol": 1e-9}
F32 = {"rtol": 2e-5, "atol": 1e-6}


def _value_grad(fn, *args):
    """``fn(*args)`` and the gradient of its sum w.r.t. every argument, in one compilation."""
    return jax.jit(jax.value_and_grad(lambda *a: jnp.sum(fn(*a)), argnums=tuple(range(len(args)))))(
        *args
    ), jax.jit(fn)(*args)


# --------------------------------------------------------------------------- E29 sigmoid focal

_KERAS_BINARY = {
    "k_default": ("bf/p", {"alpha": None, "gamma": 2.0, "from_logits": False}),
    "k_logits": ("bf/x", {"alpha": 0.4, "gamma": 1.5, "label_smoothing": 0.1}),
    "k_smooth": (
        "bf/p",
        {"alpha": None, "gamma": 0.5, "from_logits": False, "label_smoothing": 0.2},
    ),
}


_SMP = {
    "norm": {"gamma": 2.0, "alpha": 0.25, "normalized": True},
    "reduced": {"gamma": 2.0, "alpha": None, "reduced_threshold": 0.5},
    "both": {"gamma": 1.5, "alpha": 0.3, "normalized": True, "reduced_threshold": 0.4},
}


def test_sigmoid_focal_against_keras_and_smp(x64):
    def keras(key, kw):
        fn = lambda p, y: jnp.mean(jaxloss.sigmoid_focal_loss(p, y, reduction="none", **kw), -1)  # noqa: E731
        return fn(G[key], G["bf/y"]), jax.grad(lambda p, y: jnp.sum(fn(p, y)), (0, 1))(
            G[key], G["bf/y"]
        )

    def smp(kw):
        return jax.value_and_grad(lambda x: jaxloss.sigmoid_focal_loss(x, G["smp/y"], **kw))(
            G["smp/x"]
        )

    run = jax.jit(
        lambda: (
            {c: keras(*a) for c, a in _KERAS_BINARY.items()},
            {c: smp(kw) for c, kw in _SMP.items()},
        )
    )
    k_out, s_out = run()
    for case, (value, (gp, gy)) in k_out.items():
        np.testing.assert_allclose(value, G[f"bf/{case}"], err_msg=case, **TOL)
        np.testing.assert_allclose(gp, G[f"bf/{case}/grad"], err_msg=case, **TOL)
        np.testing.assert_allclose(gy, G[f"bf/{case}/grad_y"], err_msg=case, **TOL)
    for case, (value, grad) in s_out.items():
        np.testing.assert_allclose(value, G[f"smp/{case}"], err_msg=case, **TOL)
        np.testing.assert_allclose(grad, G[f"smp/{case}/grad"], err_msg=case, **TOL)


def test_sigmoid_focal_new_options_finite_and_limits():
    x = jnp.array([-100.0, -3.0, 0.0, 3.0, 100.0])
    y = jnp.array([0.0, 1.0, 0.5, 1.0, 1.0])

    def total(x):
        a = jaxloss.sigmoid_focal_loss(x, y, gamma=0.5, normalized=True, reduced_threshold=0.6)
        b = jaxloss.sigmoid_focal_loss(x, y, gamma=0.5, label_smoothing=0.1)
        c = jaxloss.sigmoid_focal_loss(jax.nn.sigmoid(x), y, gamma=0.5, from_logits=False)
        d = jaxloss.sigmoid_focal_loss(x, y, gamma=2.0, reduced_threshold=1.0, reduction="none")
        e = jaxloss.sigmoid_focal_loss(x, y, gamma=0.0, reduction="none")
        return a + b + c, d - e

    (_, diff), grad = jax.jit(jax.value_and_grad(total, has_aux=True))(x)
    assert bool(jnp.all(jnp.isfinite(grad)))
    # reduced_threshold=1 puts every entry below the threshold: the focal factor is 1 (gamma=0).
    np.testing.assert_allclose(diff, 0.0, atol=1e-6)
    with pytest.raises(ValueError, match="reduced_threshold"):
        jaxloss.sigmoid_focal_loss(x, y, reduced_threshold=0.0)


# --------------------------------------------------------------------------- E30 softmax focal


_MONAI = {"g2": (None, 2.0), "g05_a03": ((0.7, 0.3, 0.3, 0.3), 0.5)}


def test_softmax_focal_soft_targets_against_monai(x64):
    def one(alpha, gamma):
        def fn(x, y):
            return jaxloss.softmax_focal_loss(
                x, y, axis=1, alpha=alpha, gamma=gamma, reduction="none"
            )

        return fn(G["mf/x"], G["mf/y"]), jax.grad(lambda x, y: jnp.sum(fn(x, y)), (0, 1))(
            G["mf/x"], G["mf/y"]
        )

    for case, (value, (gx, gy)) in jax.jit(
        lambda: {c: one(*a) for c, a in _MONAI.items()}
    )().items():
        # MONAI keeps the class axis ("none" is [B, C, H]); its sum over C is this loss.
        # MONAI's forward casts to float32, so the goldens carry float32 rounding.
        np.testing.assert_allclose(value, G[f"mf/{case}"].sum(1), err_msg=case, **F32)
        np.testing.assert_allclose(gx, G[f"mf/{case}/grad"], err_msg=case, **F32)
        np.testing.assert_allclose(gy, G[f"mf/{case}/grad_y"], err_msg=case, **F32)


_KERAS_CATEGORICAL = {
    "probs": (
        "kf/p",
        "kf/soft",
        {"alpha": 0.25, "gamma": 2.0, "from_logits": False, "label_smoothing": 0.1},
    ),
    "logits_onehot": ("kf/z", "kf/labels", {"alpha": 0.25, "gamma": 2.0}),
    "logits_smooth": ("kf/z", "kf/labels", {"alpha": 0.5, "gamma": 1.5, "label_smoothing": 0.2}),
}


def test_softmax_focal_against_keras(x64):
    def one(key, labels, kw):
        fn = lambda p, y: jaxloss.softmax_focal_loss(p, y, reduction="none", **kw)  # noqa: E731
        grad = jax.grad(lambda p: jnp.sum(fn(p, G[labels])))(G[key])
        grad_y = (
            jax.grad(lambda y: jnp.sum(fn(G[key], y)))(G[labels]) if labels == "kf/soft" else None
        )
        return fn(G[key], G[labels]), grad, grad_y

    run = jax.jit(lambda: {c: one(*a) for c, a in _KERAS_CATEGORICAL.items()})
    for case, (value, gp, gy) in run().items():
        np.testing.assert_allclose(value, G[f"kf/{case}"], err_msg=case, **TOL)
        # Keras clips the softmax at 1e-7 with from_logits=True (this loss does not).
        np.testing.assert_allclose(gp, G[f"kf/{case}/grad"], rtol=1e-6, atol=1e-8, err_msg=case)
        if gy is not None:
            np.testing.assert_allclose(gy, G[f"kf/{case}/grad_y"], err_msg=case, **TOL)


def _plain_soft_focal(x, y, alpha, gamma):
    """The soft-target formula with plain autodiff (fine away from p -> 1)."""
    log_p = jax.nn.log_softmax(x)
    return -jnp.sum(jnp.broadcast_to(alpha, y.shape) * y * (1 - jnp.exp(log_p)) ** gamma * log_p)


def test_softmax_focal_soft_custom_vjp(x64):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4)) * 2
    y = rng.dirichlet(np.ones(4), 3)
    y[1] = np.eye(4)[2]
    labels = np.array([0, 3, 1])
    alpha = np.array([0.2, 0.5, 1.0, 0.7])
    ours = lambda x, y, a, g: jaxloss.softmax_focal_loss(x, y, alpha=a, gamma=g, reduction="sum")  # noqa: E731
    hard = lambda x, a, g: jaxloss.softmax_focal_loss(x, labels, alpha=a, gamma=g, reduction="sum")  # noqa: E731

    @jax.jit
    def run(x, y, a, g):
        args = (x, y, a, g)
        onehot = (x, jnp.eye(4)[labels], a, g)
        return (
            jax.value_and_grad(ours, (0, 1, 2, 3))(*args),
            jax.value_and_grad(_plain_soft_focal, (0, 1, 2, 3))(*args),
            jax.value_and_grad(ours, (0, 2, 3))(*onehot),
            jax.value_and_grad(hard, (0, 1, 2))(x, a, g),
        )

    (v1, g1), (v2, g2), (v3, g3), (v4, g4) = run(x, y, alpha, 0.7)
    np.testing.assert_allclose(v1, v2, rtol=1e-12)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
    # One-hot probabilities follow the integer-label path, value and gradients (alpha, gamma too).
    np.testing.assert_allclose(v3, v4, rtol=1e-12)
    for a, b in zip(g3, g4):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


def test_softmax_focal_soft_finite_at_extremes():
    # Finite at p -> 1 with gamma < 1, and nothing leaks from a masked example.
    z = jnp.array([[200.0, 0.0, -200.0], [jnp.nan, 0.0, 0.0]])
    t = jnp.array([[0.9, 0.1, 0.0], [1.0, 0.0, 0.0]])
    fn = lambda z, t: jaxloss.softmax_focal_loss(z, t, gamma=0.5, where=jnp.array([True, False]))  # noqa: E731
    g = jax.jit(jax.grad(fn, argnums=(0, 1)))(z, t)
    assert all(bool(jnp.all(jnp.isfinite(v))) for v in g)
    assert not np.any(g[0][1]) and not np.any(g[1][1])


# --------------------------------------------------------------------------- E31 axis_where (optax)


def test_axis_where_optax_per_logit_mask_and_batched(x64):
    ys, ts, ti, mask = G["ox/ys"], G["ox/ts"], G["ox/ti"], G["ox/mask"]
    x, t, li, m = G["o2/x"], G["o2/t"], G["o2/li"], G["o2/mask"]
    fns = {
        "sce": lambda a: jaxloss.softmax_cross_entropy(a, t, axis_where=m, reduction="none"),
        "sce_int": lambda a: jaxloss.softmax_cross_entropy(a, li, axis_where=m, reduction="none"),
        "poly": lambda a: jaxloss.poly_loss(a, t, epsilons=(1.5,), axis_where=m, reduction="none"),
        "kl": lambda a: jaxloss.kl_divergence(
            jax.nn.log_softmax(a), t, axis_where=m, reduction="none"
        ),
    }

    @jax.jit
    def run(x):
        optax_cases = (
            jaxloss.softmax_cross_entropy(ys, ts, reduction="none"),
            jaxloss.softmax_cross_entropy(ys, ts, axis_where=mask, reduction="none"),
            jaxloss.softmax_cross_entropy(ys, ti, axis_where=mask, reduction="none"),
        )
        return optax_cases, {
            n: (f(x), jax.grad(lambda a, f=f: jnp.sum(f(a)))(x)) for n, f in fns.items()
        }

    (full, soft, integer), batched = run(x)
    np.testing.assert_allclose(full, G["ox/sce_full"], **TOL)
    np.testing.assert_allclose(soft, G["ox/sce_mask"], **TOL)
    np.testing.assert_allclose(integer, G["ox/int_mask"], **TOL)
    for name, (value, grad) in batched.items():
        np.testing.assert_allclose(value, G[f"o2/{name}"], err_msg=name, **TOL)
        np.testing.assert_allclose(grad, G[f"o2/{name}/grad"], err_msg=name, **TOL)


_MASKED = {
    "sce": lambda p, t, m: jaxloss.softmax_cross_entropy(p, t, axis_where=m, reduction="none"),
    "poly": lambda p, t, m: jaxloss.poly1_cross_entropy(
        p, t, epsilon=2.0, axis_where=m, reduction="none"
    ),
    "kl": lambda p, t, m: jaxloss.kl_divergence(p, t, axis_where=m, reduction="none"),
    "kl_log": lambda p, t, m: jaxloss.kl_divergence(
        p, jnp.log(t), log_targets=True, axis_where=m, reduction="none"
    ),
    "gkl": lambda p, t, m: jaxloss.generalized_kl_divergence(p, t, axis_where=m, reduction="none"),
}


def test_axis_where_optax_test_mask(x64):
    k = "om10"  # optax's test_mask (size 10; size 5 is the same code path)
    p, t, m = G[f"{k}/preds"], G[f"{k}/targets"], G[f"{k}/mask"]

    @jax.jit
    def run(p, t, m):
        return {name: jax.value_and_grad(fn)(p, t, m) for name, fn in _MASKED.items()}

    for name, (value, grad) in run(p, t, m).items():
        np.testing.assert_allclose(value, G[f"{k}/{name}"], err_msg=name, **TOL)
        np.testing.assert_allclose(value, G[f"{k}/{name}/compressed"], rtol=1e-6, err_msg=name)
        np.testing.assert_allclose(grad, G[f"{k}/{name}/grad"], err_msg=name, **TOL)
        assert not np.any(np.asarray(grad)[~m]), name


def test_axis_where_all_masked_rows_are_zero_with_zero_gradient():
    x = jnp.array([[1.0, 2.0, 3.0], [jnp.inf, jnp.nan, -jnp.inf]])
    t = jnp.array([[0.2, 0.3, 0.5], [0.2, 0.3, 0.5]])
    m = jnp.array([[True, False, True], [False, False, False]])
    li = jnp.array([0, 1])
    fns = (
        lambda x: jaxloss.softmax_cross_entropy(
            x, t, axis_where=m, label_smoothing=0.1, reduction="none"
        ),
        lambda x: jaxloss.softmax_cross_entropy(
            x,
            li,
            axis_where=m,
            class_weights=jnp.array([1.0, 2.0, 0.5]),
            label_smoothing=0.1,
            z_loss=0.1,
            reduction="none",
        ),
        lambda x: jaxloss.poly_loss(
            x, li, epsilons=(1.0, 2.0), axis_where=m, label_smoothing=0.2, reduction="none"
        ),
        lambda x: jaxloss.kl_divergence(x, t, axis_where=m, reduction="none"),
        lambda x: jaxloss.generalized_kl_divergence(x, t, axis_where=m, reduction="none"),
        lambda x: jaxloss.cosine_distance(x, t, axis_where=m, reduction="none") - 1,
    )

    @jax.jit
    def run(x):
        return [(f(x), jax.grad(lambda a, f=f: jnp.sum(f(a)))(x)) for f in fns]

    for i, (value, grad) in enumerate(run(x)):
        assert value[1] == 0, i
        assert bool(jnp.all(jnp.isfinite(value[0]))) and bool(jnp.all(jnp.isfinite(grad))), i
        assert not np.any(np.asarray(grad)[1]) and grad[0, 1] == 0, i


# --------------------------------------------------------------------------- E32 cosine


def test_cosine_against_optax_and_keras(x64):
    a, b, m = G["cos/a"], G["cos/b"], G["cos/mask"]
    cases = {"plain": {}, "eps": {"epsilon": 0.5}, "where": {"axis_where": m}}
    names = ("cosine_similarity", "cosine_distance")

    def one(fn, kw):
        f = lambda a, b: fn(a, b, reduction="none", **kw)  # noqa: E731
        return f(a, b), jax.grad(lambda a, b: jnp.sum(f(a, b)), (0, 1))(a, b)

    @jax.jit
    def run(a, b):
        out = {(n, c): one(getattr(jaxloss, n), kw) for n in names for c, kw in cases.items()}
        # Keras CosineSimilarity = cosine_distance - 1 (norms floored at 1e-7).
        out["keras", ""] = one(
            lambda a, b, **kw: jaxloss.cosine_distance(a, b, epsilon=1e-14, **kw) - 1, {}
        )
        # A zero vector: similarity 0 (distance 1) with finite gradients.
        z = a.at[0].set(0.0)
        out["zero", ""] = jax.value_and_grad(
            lambda z: jaxloss.cosine_distance(z, b, reduction="sum")
        )(z)
        return out

    out = run(a, b)
    for (name, case), (value, (ga, gb)) in ((k, v) for k, v in out.items() if k[0] in names):
        np.testing.assert_allclose(value, G[f"cos/{name}/{case}"], err_msg=f"{name} {case}", **TOL)
        np.testing.assert_allclose(
            ga, G[f"cos/{name}/{case}/grad"], err_msg=f"{name} {case}", **TOL
        )
        np.testing.assert_allclose(
            gb, G[f"cos/{name}/{case}/grad_t"], err_msg=f"{name} {case}", **TOL
        )
    value, (ga, gb) = out["keras", ""]
    np.testing.assert_allclose(value, G["cos/keras"], **TOL)
    np.testing.assert_allclose(ga, G["cos/keras/grad"], **TOL)
    np.testing.assert_allclose(gb, G["cos/keras/grad_y"], **TOL)
    value, grad = out["zero", ""]
    np.testing.assert_allclose(value, 1.0 + np.sum(G["cos/cosine_distance/plain"][1:]), **TOL)
    assert bool(jnp.all(jnp.isfinite(grad)))
