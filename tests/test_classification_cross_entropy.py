"""Cross-entropy losses against PyTorch goldens, optax, and analytic limits."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads
from references import load

import jaxloss
from jaxloss.classification import _focal as _cross_entropy

G = load("cross_entropy")
TOL = {"rtol": 1e-6, "atol": 1e-9}


def _sum_grad(fn, *args, argnums=0):
    return jax.grad(lambda *a: jnp.sum(fn(*a)), argnums=argnums)(*args)


# --------------------------------------------------------------------------- softmax CE vs torch


@pytest.mark.parametrize(("weighted", "ignore", "smoothing"),
                         list(itertools.product((0, 1), (0, 1), (0.0, 0.2))))
def test_softmax_cross_entropy_integer_labels_against_torch(weighted, ignore, smoothing, x64):
    key = f"ce/w{weighted}_i{ignore}_s{smoothing}"
    kw = {"class_weights": G["ce/cw"] if weighted else None,
          "ignore_index": 2 if ignore else None, "label_smoothing": smoothing}
    for reduction in ("mean", "sum", "none"):
        fn = lambda x, r=reduction: jaxloss.softmax_cross_entropy(x, G["ce/labels"], reduction=r, **kw)  # noqa: E731
        np.testing.assert_allclose(fn(G["ce/logits"]), G[f"{key}/{reduction}"], **TOL)
        np.testing.assert_allclose(_sum_grad(fn, G["ce/logits"]), G[f"{key}/{reduction}/grad"], **TOL)


@pytest.mark.parametrize(("weighted", "smoothing"), list(itertools.product((0, 1), (0.0, 0.2))))
def test_softmax_cross_entropy_probability_labels_against_torch(weighted, smoothing, x64):
    key = f"ce/probs_w{weighted}_s{smoothing}"
    cw = G["ce/cw"] if weighted else None
    for reduction in ("mean", "none"):
        fn = lambda x, y, r=reduction: jaxloss.softmax_cross_entropy(  # noqa: E731
            x, y, class_weights=cw, label_smoothing=smoothing, reduction=r)
        np.testing.assert_allclose(fn(G["ce/logits"], G["ce/probs"]), G[f"{key}/{reduction}"], **TOL)
        gx, gy = _sum_grad(fn, G["ce/logits"], G["ce/probs"], argnums=(0, 1))
        np.testing.assert_allclose(gx, G[f"{key}/{reduction}/grad"], **TOL)
        np.testing.assert_allclose(gy, G[f"{key}/{reduction}/grad_labels"], **TOL)


def test_softmax_cross_entropy_channel_axis_against_torch(x64):
    def fn(x):
        return jaxloss.softmax_cross_entropy(x, G["ce3/labels"], axis=1, class_weights=G["ce/cw"],
                                             ignore_index=-1, label_smoothing=0.1)

    value, grad = jax.jit(jax.value_and_grad(fn))(G["ce3/logits"])  # one jit each (CI time)
    np.testing.assert_allclose(value, G["ce3/int"], **TOL)
    np.testing.assert_allclose(grad, G["ce3/int/grad"], **TOL)

    def fp(x):
        return jaxloss.softmax_cross_entropy(x, G["ce3/probs"], axis=1, class_weights=G["ce/cw"],
                                             label_smoothing=0.1, reduction="none")

    out, grad = jax.jit(lambda x: (fp(x), _sum_grad(fp, x)))(G["ce3/logits"])
    np.testing.assert_allclose(out, G["ce3/probs_out"], **TOL)
    np.testing.assert_allclose(grad, G["ce3/probs_out/grad"], **TOL)


def test_softmax_cross_entropy_against_optax(rng):
    logits = rng.standard_normal((4, 3, 6)).astype(np.float32)
    labels = rng.integers(0, 6, (4, 3))
    probs = rng.dirichlet(np.ones(6), (4, 3)).astype(np.float32)
    tol = {"rtol": 1e-5, "atol": 1e-6}
    np.testing.assert_allclose(
        jaxloss.softmax_cross_entropy(logits, labels, reduction="none"),
        optax.softmax_cross_entropy_with_integer_labels(logits, labels), **tol)
    np.testing.assert_allclose(
        jaxloss.softmax_cross_entropy(logits, probs, reduction="none"),
        optax.softmax_cross_entropy(logits, probs), **tol)
    np.testing.assert_allclose(
        jaxloss.softmax_cross_entropy(logits, probs, label_smoothing=0.3, reduction="none"),
        optax.softmax_cross_entropy(logits, optax.smooth_labels(probs, 0.3)), **tol)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int64])
def test_integer_label_dtypes(dtype, rng):
    logits = rng.standard_normal((5, 4)).astype(np.float32)
    labels = rng.integers(0, 4, 5)
    np.testing.assert_allclose(jaxloss.softmax_cross_entropy(logits, labels.astype(dtype)),
                               jaxloss.softmax_cross_entropy(logits, labels.astype(np.int32)))


def test_label_smoothing_is_differentiable(rng):
    logits = rng.standard_normal((5, 4)).astype(np.float32)
    labels = rng.integers(0, 4, 5)
    f = lambda s: jaxloss.softmax_cross_entropy(logits, labels, label_smoothing=s)  # noqa: E731
    g = jax.grad(f)(jnp.float32(0.1))
    np.testing.assert_allclose(g, (f(0.2) - f(0.0)) / 0.2, rtol=1e-4)


def test_out_of_range_labels():
    logits = jnp.zeros((3, 4))
    labels = jnp.array([0, 4, 1])
    with pytest.raises(ValueError, match=r"softmax_cross_entropy: labels must lie in \[0, 4\)"):
        jaxloss.softmax_cross_entropy(logits, labels)
    with pytest.raises(ValueError, match="labels must lie"):
        jaxloss.softmax_focal_loss(logits, jnp.array([0, -100, 1]))  # -100 is not ignored here
    out = np.asarray(jax.jit(lambda x, y: jaxloss.softmax_cross_entropy(x, y, reduction="none"))(logits, labels))
    assert np.isnan(out[1]) and np.all(np.isfinite(out[[0, 2]]))
    assert np.isnan(jax.jit(jaxloss.softmax_cross_entropy)(logits, labels))
    assert np.isnan(jax.jit(jaxloss.softmax_focal_loss)(logits, labels))
    assert np.isnan(jax.jit(jaxloss.poly1_cross_entropy)(logits, labels))
    with pytest.raises(Exception, match=r"labels has entries outside \[0, 4\)"):
        jaxloss.checked(jaxloss.softmax_cross_entropy)(logits, labels)
    # ignored labels are fine, in range or not
    assert np.isfinite(jax.jit(lambda x, y: jaxloss.softmax_cross_entropy(x, y, ignore_index=4))(logits, labels))


def test_shape_errors():
    with pytest.raises(ValueError) as info:
        jaxloss.softmax_cross_entropy(jnp.zeros((32, 10)), jnp.zeros((32, 5), jnp.int32))
    assert str(info.value) == (
        "softmax_cross_entropy: labels has shape (32, 5) but logits has shape (32, 10); "
        "integer labels must have logits.shape without axis -1")
    with pytest.raises(ValueError, match="probability labels must have the shape of logits"):
        jaxloss.softmax_cross_entropy(jnp.zeros((4, 3)), jnp.zeros((4, 2)))
    with pytest.raises(ValueError, match="ignore_index applies to integer labels only"):
        jaxloss.softmax_cross_entropy(jnp.zeros((4, 3)), jnp.zeros((4, 3)), ignore_index=0)
    with pytest.raises(TypeError, match="labels must be integer"):
        jaxloss.softmax_cross_entropy(jnp.zeros((4, 3)), jnp.zeros(4, bool))
    with pytest.raises(ValueError, match="class_weights has shape"):
        jaxloss.softmax_cross_entropy(jnp.zeros((4, 3)), jnp.zeros(4, jnp.int32), class_weights=jnp.ones(4))
    with pytest.raises(ValueError, match="alpha has shape"):
        jaxloss.softmax_focal_loss(jnp.zeros((4, 3)), jnp.zeros(4, jnp.int32), alpha=jnp.ones(2))


def test_ignored_and_masked_entries_leak_nothing():
    logits = jnp.array([[1.0, 2.0, 0.5], [jnp.nan, 0.0, 1.0], [0.3, -1.0, 2.0]])
    labels = jnp.array([0, 1, 2])
    where = jnp.array([True, False, True])
    for fn in (jaxloss.softmax_cross_entropy, jaxloss.softmax_focal_loss, jaxloss.poly1_cross_entropy):
        value, grad = jax.jit(jax.value_and_grad(lambda x, fn=fn: fn(x, labels, where=where)))(logits)
        assert np.isfinite(value) and np.all(np.isfinite(grad)), fn.__name__
        np.testing.assert_array_equal(grad[1], 0.0)
    g = jax.jit(jax.grad(lambda x: jaxloss.softmax_cross_entropy(x, jnp.array([-1, 0, 2]), ignore_index=-1)))(
        logits.at[1].set(0.0))
    np.testing.assert_array_equal(g[0], 0.0)


def test_all_ignored_is_zero():
    value, grad = jax.value_and_grad(lambda x: jaxloss.softmax_cross_entropy(
        x, jnp.array([-100, -100]), ignore_index=-100, class_weights=jnp.ones(3)))(jnp.ones((2, 3)))
    assert value == 0 and np.all(grad == 0)


# --------------------------------------------------------------------------- sigmoid BCE


@pytest.mark.parametrize("pw", [0, 1])
def test_sigmoid_binary_cross_entropy_against_torch(pw, x64):
    pos_weight = G["bce/pos_weight"] if pw else None
    for reduction in ("mean", "none"):
        fn = lambda x, r=reduction: jaxloss.sigmoid_binary_cross_entropy(  # noqa: E731
            x, G["bce/labels"], pos_weight=pos_weight, reduction=r)
        np.testing.assert_allclose(fn(G["bce/logits"]), G[f"bce/pw{pw}/{reduction}"], **TOL)
        np.testing.assert_allclose(_sum_grad(fn, G["bce/logits"]), G[f"bce/pw{pw}/{reduction}/grad"], **TOL)


def test_sigmoid_binary_cross_entropy_against_optax(rng):
    logits = rng.standard_normal((5, 3)).astype(np.float32) * 4
    labels = rng.uniform(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(jaxloss.sigmoid_binary_cross_entropy(logits, labels, reduction="none"),
                               optax.sigmoid_binary_cross_entropy(logits, labels), rtol=1e-5, atol=1e-6)
    smoothed = labels * 0.8 + 0.1
    np.testing.assert_allclose(
        jaxloss.sigmoid_binary_cross_entropy(logits, labels, label_smoothing=0.2, reduction="none"),
        optax.sigmoid_binary_cross_entropy(logits, smoothed), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- sigmoid focal


@pytest.mark.parametrize(("alpha", "gamma"), [(0.25, 2.0), (0.6, 0.5), (-1.0, 1.5), (0.25, 0.0)])
def test_sigmoid_focal_against_torchvision(alpha, gamma, x64):
    key = f"sfocal/a{alpha}_g{gamma}"
    x, y = G["sfocal/logits"], G["sfocal/labels"]

    def fn(x, a, g):
        return jaxloss.sigmoid_focal_loss(x, y, alpha=None if alpha < 0 else a, gamma=g, reduction="none")

    np.testing.assert_allclose(fn(x, alpha, gamma), G[key], **TOL)
    gx, ga, gg = _sum_grad(fn, x, jnp.float64(alpha), jnp.float64(gamma), argnums=(0, 1, 2))
    np.testing.assert_allclose(gx, G[f"{key}/grad"], **TOL)
    np.testing.assert_allclose(gg, G[f"{key}/grad_gamma"], **TOL)
    if alpha >= 0:
        np.testing.assert_allclose(ga, G[f"{key}/grad_alpha"], **TOL)


def test_sigmoid_focal_extreme_logits_against_torchvision():
    x, y = G["sfocal_ext/logits"].astype(np.float32), G["sfocal_ext/labels"].astype(np.float32)
    fn = jax.jit(lambda x: jaxloss.sigmoid_focal_loss(x, y, reduction="sum"))
    np.testing.assert_allclose(fn(x), G["sfocal_ext"].sum(), rtol=1e-6)
    np.testing.assert_allclose(jax.grad(fn)(x), G["sfocal_ext/grad"], rtol=1e-5, atol=1e-30)


@pytest.mark.parametrize("gamma", [0.0, 0.3, 1.0, 2.5])
def test_sigmoid_focal_against_optax(gamma, rng):
    x = rng.standard_normal((6, 5)).astype(np.float32) * 3
    y = rng.uniform(size=(6, 5)).astype(np.float32)
    y[0] = [0, 1, 0, 1, 1]
    for alpha in (None, 0.3):
        ours = jaxloss.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma, reduction="none")
        theirs = optax.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma)
        np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-6)
        gours = _sum_grad(lambda x, a=alpha: jaxloss.sigmoid_focal_loss(x, y, alpha=a, gamma=gamma), x)
        gtheirs = _sum_grad(lambda x, a=alpha: optax.sigmoid_focal_loss(x, y, alpha=a, gamma=gamma).mean(), x)
        np.testing.assert_allclose(gours, gtheirs, rtol=1e-4, atol=1e-7)


def test_sigmoid_focal_custom_vjp_check_grads(rng, x64):
    x = rng.standard_normal((4, 3)) * 2
    y = rng.uniform(0.05, 0.95, (4, 3))
    for gamma in (0.5, 2.0):
        f = lambda x, y, a, g: jaxloss.sigmoid_focal_loss(x, y, alpha=a, gamma=g)  # noqa: E731
        check_grads(jax.jit(f), (x, y, 0.3, gamma), order=1, modes=("rev",), eps=1e-6)
        core = lambda x, y, g: jnp.sum(_cross_entropy._binary_focal(x, y, g))  # noqa: E731
        check_grads(jax.jit(core), (x, y, gamma), order=1, modes=("rev",), eps=1e-6)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0])
def test_sigmoid_focal_finite_at_extremes(gamma):
    x = jnp.array([1e4, -1e4, 1e4, -1e4, 60.0, -60.0, 0.0], jnp.float32)
    y = jnp.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0], jnp.float32)

    def f(x, y, a, g):
        return jaxloss.sigmoid_focal_loss(x, y, alpha=a, gamma=g, reduction="sum")

    value = f(x, y, 0.25, gamma)
    grads = jax.grad(f, argnums=(0, 1, 2, 3))(x, y, jnp.float32(0.25), jnp.float32(gamma))
    assert np.isfinite(value)
    for g in grads:
        assert np.all(np.isfinite(g)), grads
    gx = np.asarray(grads[0])
    # p_t -> 1: the gradient vanishes like q^gamma * (1 + gamma * ...); wrong-side logits
    # give the BCE slope alpha_t * (p - y).
    if gamma > 0:
        np.testing.assert_array_equal(gx[[0, 1, 4, 5]], 0.0)
    np.testing.assert_allclose(gx[[2, 3]], [0.75, -0.25])


def test_sigmoid_focal_gamma_half_gradient_tends_to_zero_at_pt_one(x64):
    # q = 1 - p_t -> 0 with gamma = 0.5: q^(gamma-1) diverges but dL/dx ~ q^0.5 -> 0.
    xs = jnp.array([5.0, 10.0, 20.0, 40.0, 80.0, 700.0])
    g = jax.jit(jax.grad(lambda x: jaxloss.sigmoid_focal_loss(x, jnp.ones_like(x), alpha=None, gamma=0.5,
                                                              reduction="sum")))(xs)
    assert np.all(np.isfinite(g)) and np.all(g <= 0)
    assert np.all(np.diff(np.abs(g)) < 0) and abs(g[-1]) < 1e-100
    # leading-order asymptotic: L ~ q^1.5 with q ~ exp(-x): dL/dx ~ -1.5 exp(-1.5 x)
    np.testing.assert_allclose(g[3], -1.5 * np.exp(-1.5 * 40.0), rtol=1e-6)


def test_sigmoid_focal_gamma_zero_is_bce(rng):
    x = jnp.asarray(np.r_[rng.standard_normal(6) * 5, 1e4, -1e4].astype(np.float32))
    y = jnp.asarray(rng.uniform(size=8).astype(np.float32)).at[6:].set(1.0)
    f = lambda x: jaxloss.sigmoid_focal_loss(x, y, alpha=None, gamma=0.0, reduction="sum")  # noqa: E731
    b = lambda x: jaxloss.sigmoid_binary_cross_entropy(x, y, reduction="sum")  # noqa: E731
    (fv, fg), (bv, bg) = (jax.jit(jax.value_and_grad(h))(x) for h in (f, b))
    np.testing.assert_allclose(fv, bv, rtol=1e-6)
    np.testing.assert_allclose(fg, bg, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- softmax focal


@pytest.mark.parametrize(("gamma", "vec"), [(2.0, 1), (0.5, 0), (0.0, 1), (3.0, 0)])
def test_softmax_focal_against_torch(gamma, vec, x64):
    key = f"mfocal/g{gamma}_v{vec}"
    alpha = G["mfocal/alpha"] if vec else np.float64(0.3)

    def fn(x, a, g):
        return jaxloss.softmax_focal_loss(x, G["mfocal/labels"], alpha=a, gamma=g, ignore_index=-100)

    def run(x, a, g):  # the value at the concrete gamma and the gradients, in one jit (CI time)
        return fn(x, a, gamma), jax.grad(fn, argnums=(0, 1, 2))(x, a, g)

    value, (gx, ga, gg) = jax.jit(run)(G["mfocal/logits"], alpha, jnp.float64(gamma))
    np.testing.assert_allclose(value, G[key], **TOL)
    np.testing.assert_allclose(gx, G[f"{key}/grad"], **TOL)
    np.testing.assert_allclose(ga, G[f"{key}/grad_alpha"], **TOL)
    np.testing.assert_allclose(gg, G[f"{key}/grad_gamma"], rtol=1e-6, atol=1e-12)


def test_softmax_focal_check_grads(rng, x64):
    x = rng.standard_normal((5, 4)) * 2
    labels = rng.integers(0, 4, 5)
    for gamma in (0.5, 2.0):
        f = lambda x, a, g: jaxloss.softmax_focal_loss(x, labels, alpha=a, gamma=g, axis=0)  # noqa: E731
        check_grads(jax.jit(f), (x.T, rng.uniform(0.2, 1, 4), gamma), order=1, modes=("rev",), eps=1e-6)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_softmax_focal_finite_at_extremes(gamma):
    x = jnp.array([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [30.0, 0.0, 0.0]])
    labels = jnp.array([0, 1, 2, 0])
    f = lambda x, g: jaxloss.softmax_focal_loss(x, labels, gamma=g, reduction="sum")  # noqa: E731
    value = f(x, gamma)
    gx, gg = jax.grad(f, argnums=(0, 1))(x, jnp.float32(gamma))
    assert np.isfinite(value) and np.all(np.isfinite(gx)) and np.isfinite(gg)
    if gamma > 0:
        np.testing.assert_array_equal(gx[0], 0.0)  # p_t = 1
    # p_t = 0: gradient of the CE term, alpha=1
    np.testing.assert_allclose(gx[1], [1.0, -1.0, 0.0], atol=1e-6)


def test_softmax_focal_gamma_zero_is_cross_entropy(rng):
    x = rng.standard_normal((6, 5)).astype(np.float32) * 3
    labels = rng.integers(0, 5, 6)
    f = lambda x: jaxloss.softmax_focal_loss(x, labels, gamma=0.0)  # noqa: E731
    c = lambda x: jaxloss.softmax_cross_entropy(x, labels)  # noqa: E731
    (fv, fg), (cv, cg) = (jax.jit(jax.value_and_grad(h))(x) for h in (f, c))
    np.testing.assert_allclose(fv, cv, rtol=1e-6)
    np.testing.assert_allclose(fg, cg, rtol=1e-5, atol=1e-7)


def test_softmax_focal_gamma_half_gradient_near_pt_one(x64):
    # p_t = 1 - q with q = 2 exp(-d): dL/dz_t -> -(q^0.5)(1 + 0.5) q ... -> 0, finite throughout.
    ds = jnp.array([5.0, 20.0, 40.0, 700.0])
    x = jnp.stack([ds, jnp.zeros_like(ds), jnp.zeros_like(ds)], axis=1)
    g = jax.jit(jax.grad(lambda x: jaxloss.softmax_focal_loss(x, jnp.zeros(4, jnp.int32), gamma=0.5,
                                                              reduction="sum")))(x)
    assert np.all(np.isfinite(g))
    assert np.all(np.diff(np.abs(g[:, 0])) < 0) and abs(g[-1, 0]) < 1e-100
    # L ~ q^1.5 with q ~ 2 exp(-d): dL/dz_t ~ -1.5 q^1.5
    q = 2 * np.exp(-40.0)
    np.testing.assert_allclose(g[2, 0], -1.5 * q**1.5, rtol=1e-6)


# --------------------------------------------------------------------------- PolyLoss


def test_poly_loss_against_torch(x64):
    fn = lambda x: jaxloss.poly_loss(x, G["poly/labels"], epsilons=(1.0, -0.5, 0.25))  # noqa: E731
    value, grad = jax.jit(jax.value_and_grad(fn))(G["poly/logits"])  # one jit (CI time)
    np.testing.assert_allclose(value, G["poly/n3"], **TOL)
    np.testing.assert_allclose(grad, G["poly/n3/grad"], **TOL)
    arr = jax.jit(lambda x: jaxloss.poly_loss(x, G["poly/labels"], epsilons=jnp.array([1.0, -0.5, 0.25])))(
        G["poly/logits"])
    np.testing.assert_allclose(arr, G["poly/n3"], **TOL)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_poly1_against_optax(smoothing, rng):
    x = rng.standard_normal((6, 5)).astype(np.float32) * 2
    labels = rng.integers(0, 5, 6)
    onehot = optax.smooth_labels(jax.nn.one_hot(labels, 5), smoothing)
    probs = rng.dirichlet(np.ones(5), 6).astype(np.float32)
    tol = {"rtol": 1e-5, "atol": 1e-6}
    for lab, ref in ((labels, onehot), (probs, optax.smooth_labels(probs, smoothing))):
        ours = lambda x, lab=lab: jaxloss.poly1_cross_entropy(  # noqa: E731
            x, lab, epsilon=2.0, label_smoothing=smoothing, reduction="none")
        theirs = lambda x, ref=ref: optax.losses.poly_loss_cross_entropy(x, ref, epsilon=2.0)  # noqa: E731
        np.testing.assert_allclose(ours(x), theirs(x), **tol)
        np.testing.assert_allclose(_sum_grad(ours, x), _sum_grad(theirs, x), **tol)
    np.testing.assert_allclose(jaxloss.poly1_cross_entropy(x, labels, epsilon=2.0),
                               jaxloss.poly_loss(x, labels, epsilons=(2.0,)))


def test_poly1_epsilon_is_differentiable(rng):
    x = rng.standard_normal((6, 5)).astype(np.float32)
    labels = rng.integers(0, 5, 6)
    g = jax.grad(lambda e: jaxloss.poly1_cross_entropy(x, labels, epsilon=e))(1.0)
    p_t = np.take_along_axis(np.asarray(jax.nn.softmax(x)), labels[:, None], 1)[:, 0]
    np.testing.assert_allclose(g, np.mean(1 - p_t), rtol=1e-5)


# --------------------------------------------------------------------------- utilities


def test_smooth_labels_against_optax(rng):
    labels = rng.integers(0, 4, 6)
    onehot = jax.nn.one_hot(labels, 4)
    np.testing.assert_allclose(jaxloss.smooth_labels(labels, 0.2, num_classes=4),
                               optax.smooth_labels(onehot, 0.2), rtol=1e-6)
    np.testing.assert_allclose(jaxloss.smooth_labels(onehot, 0.2), optax.smooth_labels(onehot, 0.2), rtol=1e-6)
    with pytest.raises(ValueError, match="num_classes is required"):
        jaxloss.smooth_labels(labels, 0.1)
    with pytest.raises(ValueError, match=r"smooth_labels: labels must lie in \[0, 4\)"):
        jaxloss.smooth_labels(np.array([0, 4]), 0.1, num_classes=4)
    assert np.all(np.isnan(jax.jit(lambda y: jaxloss.smooth_labels(y, 0.1, num_classes=4))(np.array([0, 4]))[1]))
    assert "smooth_labels" not in jaxloss.available()


@pytest.mark.parametrize("beta", [0.9, 0.999, 0.9999])
def test_class_balanced_weights_against_reference(beta, x64):
    w = jaxloss.class_balanced_weights(G["cb/counts"], beta=beta)
    np.testing.assert_allclose(w, G[f"cb/{beta}"], rtol=1e-10)
    assert "class_balanced_weights" not in jaxloss.available()


def test_class_balanced_weights_zero_counts_and_grad():
    w = jaxloss.class_balanced_weights(jnp.array([0, 10, 10]), beta=0.9)
    np.testing.assert_allclose(w, [0.0, 1.5, 1.5], rtol=1e-6)
    g = jax.grad(lambda b: jaxloss.class_balanced_weights(jnp.array([1.0, 100.0]), beta=b)[0])(0.99)
    assert np.isfinite(g) and g > 0
