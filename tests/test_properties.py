"""Property tests (hypothesis) of the laws the registered losses obey.

Which law holds for which loss, and how to build the call, is in the loss's
``Spec`` (``tests/specs/``): ``nonnegative`` classifies every registered loss
(a new loss must say), ``zero_at`` / ``symmetric`` / ``permuted`` give the
arguments at which the law is checked. Generic laws (reduction consistency,
finite-difference gradients) run over every spec that opts in. Array shapes are those the specs make, so each
jitted call compiles once and hypothesis only changes values.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from specs import all_reductions, all_specs, diff_split, directional, jit_call

import jaxloss

SPECS = all_specs()
NAMES = sorted(jaxloss.available())

SETTINGS = settings(
    max_examples=8, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
seeds = st.integers(0, 2**31 - 1)


def log_uniform(low: float, high: float):
    """Scales spread evenly over decades (``st.floats`` alone piles up near ``high``)."""
    return st.floats(np.log10(low), np.log10(high)).map(lambda e: float(10.0**e))


def _is_float(a) -> bool:
    return isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)


# --------------------------------------------------------------------------- calling a loss

_FIXED_CALLABLES: dict[str, dict[int, object]] = {}


def _make(name: str, seed: int) -> tuple:
    """The spec's arguments; callables (models, critics) are the ones of seed 0, so jit caches hit."""
    args = list(SPECS[name].make(np.random.default_rng(seed)))
    fixed = _FIXED_CALLABLES.setdefault(name, {i: a for i, a in enumerate(args) if callable(a)})
    for i, f in fixed.items():
        args[i] = f
    return tuple(args)


def call(name: str, args: tuple, reduction: str = "mean", extra: tuple = (), **masks) -> np.ndarray:
    """The loss under a cached ``jit`` (one compilation per name, reduction, options and shapes)."""
    out = jit_call(name, args, reduction, extra, **masks)
    leaves = [np.asarray(leaf, np.float64) for leaf in jax.tree.leaves(out)]
    return leaves[0] if len(leaves) == 1 else np.concatenate([leaf.ravel() for leaf in leaves])


def _scaled(args: tuple, indices, scale: float) -> tuple:
    return tuple((a * np.float32(scale)).astype(a.dtype) if i in indices and _is_float(a) else a
                 for i, a in enumerate(args))


def scalable(name: str) -> tuple[int, ...]:
    """Arguments that may be multiplied by a drawn scale without leaving the loss's domain:
    the spec's differentiated float arguments unless the spec says otherwise
    ((log-)probabilities, labels in [0, 1] and log-rates are not scaled)."""
    spec = SPECS[name]
    return spec.diff if spec.scalable is None else spec.scalable


def _scaled_make(name: str, seed: int, scale: float) -> tuple[tuple, float]:
    max_scale = SPECS[name].max_scale
    scale = scale if max_scale is None else min(scale, max_scale)
    return _scaled(_make(name, seed), scalable(name), scale), scale


def _tol(name: str, default: float) -> float:
    """The tolerance of a law check: the spec's own where the loss is an iterative solve."""
    return SPECS[name].law_tol or default


def _reductions(name: str) -> tuple[str, ...]:
    return SPECS[name].reductions


def _unreduced(name: str) -> str:
    """``"none"`` where supported: the laws below hold entry by entry, and every law then reuses
    one compilation per loss."""
    return "none" if "none" in _reductions(name) else _reductions(name)[0]


# --------------------------------------------------------------------------- non-negativity

def test_nonnegative_table_covers_every_loss():
    # Every spec says True or why not (``Spec.nonnegative``).
    unclassified = [n for n in NAMES if SPECS[n].nonnegative is None]
    assert not unclassified, f"specs without nonnegative=True or a reason: {unclassified}"
    assert all(SPECS[n].nonnegative is True or isinstance(SPECS[n].nonnegative, str) for n in NAMES)


@pytest.mark.parametrize("name", [n for n in NAMES if SPECS[n].nonnegative is True])
@SETTINGS
@given(seed=seeds, scale=log_uniform(1e-3, 1e3))
def test_nonnegative(name, seed, scale):
    args, scale = _scaled_make(name, seed, scale)
    signed = SPECS[name].signed_terms is not None or "none" not in _reductions(name)
    reduction = _reductions(name)[0] if signed else "none"
    out = call(name, args, reduction)
    assert not np.any(np.isnan(out)), f"{name}: NaN at scale {scale}"
    assert np.all(out >= -1e-5), f"{name}: negative loss {out.min()} at scale {scale}"


@SETTINGS
@given(seed=seeds, scale=log_uniform(1e-3, 1e2))
def test_biased_mmd_is_nonnegative(seed, scale):
    # The biased estimator is the squared RKHS norm of the mean-embedding difference.
    args = _scaled(_make("mmd_loss", seed), (0, 1), scale)
    assert np.all(call("mmd_loss", args, "none", (("unbiased", False),)) >= -1e-6)


# --------------------------------------------------------------------------- zero at identity


# Not zero anywhere (no ``zero_at``): the softmax contrastive losses (InfoNCE/NT-Xent/SupCon/
# ArcFace at finite temperature or scale), Gaussian/Poisson NLL, BPR/logistic/ListMLE, GAN losses
# with log terms, ApproxNDCG (-1 at a perfect ranking) and the Sinkhorn *distance*.
IDENTITY = sorted(n for n in NAMES if SPECS[n].zero_at is not None)


@pytest.mark.parametrize("name", IDENTITY)
@SETTINGS
@given(seed=seeds, scale=log_uniform(1e-2, 1e2))
def test_zero_at_identity(name, seed, scale):
    spec = SPECS[name]
    assert spec.zero_at is not None
    args, scale = _scaled_make(name, seed, scale)
    args = spec.zero_at(args)
    args = tuple(a.astype(np.float32) if _is_float(a) and a.dtype == np.float64 else a for a in args)
    out = call(name, args, _unreduced(name), tuple(spec.zero_at_kwargs.items()))
    atol = _tol(name, 1e-5)
    np.testing.assert_allclose(out, 0.0, atol=atol * max(1.0, scale), err_msg=f"{name} at scale {scale}")


# --------------------------------------------------------------------------- symmetry

# loss(swap(args)) == sign * loss(args); the pinball loss's swap is the complementary quantile (below).
SYMMETRIC = sorted(n for n in NAMES if SPECS[n].symmetric is not None)


@pytest.mark.parametrize("name", SYMMETRIC)
@SETTINGS
@given(seed=seeds, scale=log_uniform(1e-2, 1e2))
def test_symmetric(name, seed, scale):
    symmetric = SPECS[name].symmetric
    assert symmetric is not None
    swap, sign = symmetric
    args, scale = _scaled_make(name, seed, scale)
    reduction = _unreduced(name)
    np.testing.assert_allclose(call(name, swap(args), reduction), sign * call(name, args, reduction),
                               rtol=_tol(name, 2e-5), atol=1e-6 * max(1.0, scale**2), err_msg=f"{name} at scale {scale}")


@SETTINGS
@given(seed=seeds, quantile=st.floats(0.0, 1.0))
def test_quantile_swap_is_complementary_quantile(seed, quantile):
    p, t = _make("quantile_loss", seed)
    np.testing.assert_allclose(_elementwise("quantile_loss", t, p, quantile=quantile),
                               _elementwise("quantile_loss", p, t, quantile=1.0 - quantile), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- permutation invariance


# Batch-level losses are functions of the *set* of examples (and of class names only through labels).
PERMUTED = sorted(n for n in NAMES if SPECS[n].permuted is not None)


@pytest.mark.parametrize("name", PERMUTED)
@SETTINGS
@given(seed=seeds, perm_seed=seeds)
def test_permutation_invariant(name, seed, perm_seed):
    permute = SPECS[name].permuted
    assert permute is not None
    args = _make(name, seed)
    permuted = permute(args, np.random.default_rng(perm_seed))
    tol = _tol(name, 1e-5)
    # The multiset of unreduced entries (per anchor, pair, node, problem...) is invariant.
    before, after = (np.sort(call(name, a, _unreduced(name)).ravel()) for a in (args, permuted))
    np.testing.assert_allclose(after, before, rtol=tol, atol=tol)


# --------------------------------------------------------------------------- scale behaviour


def _residuals(seed: int, low: float, high: float, n: int = 12) -> np.ndarray:
    """Residuals with |r| in [low, high], both signs."""
    rng = np.random.default_rng(seed)
    r = rng.uniform(low, high, n) * np.where(rng.uniform(size=n) < 0.5, -1, 1)
    return r.astype(np.float32)


@functools.cache
def _traced_options(name: str):
    fn = jaxloss.get(name)
    return jax.jit(lambda p, t, options: fn(p, t, **options, reduction="none"))


def _elementwise(name: str, r: np.ndarray, targets=None, **options) -> np.ndarray:
    """The loss of residual ``r`` (predictions r, targets 0); numeric options are traced
    (one compilation for every drawn value)."""
    t = np.zeros_like(r) if targets is None else targets
    options = {k: np.float32(v) for k, v in options.items()}
    return np.asarray(_traced_options(name)(r, t, options), np.float64)


@SETTINGS
@given(seed=seeds, delta=log_uniform(1e-2, 1e2))
def test_huber_and_smooth_l1_regimes(seed, delta):
    small, large = _residuals(seed, 0.0, 0.99 * delta), _residuals(seed, 1.01 * delta, 100 * delta)
    a, tol = np.abs, {"rtol": 1e-5, "atol": 1e-7 * delta**2}
    # Huber: r^2 / 2 inside [-delta, delta], delta (|r| - delta / 2) outside.
    np.testing.assert_allclose(_elementwise("huber_loss", small, delta=delta), small.astype(np.float64) ** 2 / 2, **tol)
    np.testing.assert_allclose(_elementwise("huber_loss", large, delta=delta), delta * (a(large) - delta / 2), **tol)
    # Smooth L1 = Huber / beta: r^2 / (2 beta) inside, |r| - beta / 2 outside.
    tol = {"rtol": 1e-5, "atol": 1e-7 * delta}
    np.testing.assert_allclose(_elementwise("smooth_l1_loss", small, beta=delta),
                               small.astype(np.float64) ** 2 / (2 * delta), **tol)
    np.testing.assert_allclose(_elementwise("smooth_l1_loss", large, beta=delta), a(large) - delta / 2, **tol)


@SETTINGS
@given(seed=seeds, small=log_uniform(1e-4, 1e-2))
def test_log_cosh_small_residuals_quadratic(seed, small):
    r = _residuals(seed, small / 2, small).astype(np.float64)
    # log cosh r = r^2 / 2 - r^4 / 12 + ...: relative error r^2 / 6.
    np.testing.assert_allclose(_elementwise("log_cosh", r.astype(np.float32)), r**2 / 2, rtol=small**2 / 6 + 1e-5)


@SETTINGS
@given(seed=seeds, large=log_uniform(20.0, 1e4))
def test_log_cosh_large_residuals_linear(seed, large):
    r = _residuals(seed, large / 2, large)
    # log cosh r = |r| - log 2 + log(1 + exp(-2|r|)).
    np.testing.assert_allclose(_elementwise("log_cosh", r), np.abs(r) - np.log(2.0), rtol=1e-6, atol=1e-6)


@SETTINGS
@given(seed=seeds, width=log_uniform(0.1, 10.0), curvature=log_uniform(0.1, 10.0))
def test_wing_regimes(seed, width, curvature):
    small, large = _residuals(seed, 0.0, 0.99 * width), _residuals(seed, 1.01 * width, 100 * width)
    c = width - width * np.log1p(width / curvature)
    opts = {"width": width, "curvature": curvature}
    np.testing.assert_allclose(_elementwise("wing_loss", small, **opts),
                               width * np.log1p(np.abs(small) / curvature), rtol=2e-5, atol=1e-6 * width)
    np.testing.assert_allclose(_elementwise("wing_loss", large, **opts), np.abs(large) - c, rtol=2e-5,
                               atol=1e-5 * width)


@SETTINGS
@given(seed=seeds, scale=log_uniform(0.1, 10.0), alpha=st.floats(-8.0, 8.0))
def test_robust_loss_special_cases(seed, scale, alpha):
    r = _residuals(seed, 0.0, 10 * scale)
    x2 = (r.astype(np.float64) / scale) ** 2
    cases = {2.0: x2 / 2, 1.0: np.sqrt(x2 + 1) - 1, 0.0: np.log1p(x2 / 2), -2.0: 2 * x2 / (x2 + 4)}
    for a, expected in cases.items():  # L2, pseudo-Huber (Charbonnier), Cauchy, Geman-McClure
        np.testing.assert_allclose(_elementwise("robust_loss", r, alpha=a, scale=scale), expected,
                                   rtol=1e-4, atol=1e-6, err_msg=f"alpha={a}")
    # Every shape is quadratic near zero: rho ~ (x / c)^2 / 2.
    tiny = _residuals(seed, 0.0, 1e-3 * scale)
    np.testing.assert_allclose(_elementwise("robust_loss", tiny, alpha=alpha, scale=scale),
                               (tiny.astype(np.float64) / scale) ** 2 / 2, rtol=1e-3, atol=1e-12)


@SETTINGS
@given(seed=seeds, quantile=st.floats(0.0, 1.0))
def test_quantile_is_pinball(seed, quantile):
    r = _residuals(seed, 0.0, 10.0).astype(np.float64)  # predictions r, targets 0: t - p = -r
    np.testing.assert_allclose(_elementwise("quantile_loss", r.astype(np.float32), quantile=quantile),
                               np.maximum(-quantile * r, (1 - quantile) * r), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- reduction consistency

MASKED = [n for n in NAMES if SPECS[n].masks and {"mean", "sum", "none"} <= set(SPECS[n].reductions)]


@pytest.mark.parametrize("name", MASKED)
@settings(SETTINGS, max_examples=10)
@given(seed=seeds, data=st.data())
def test_reductions_are_weighted_sums_of_none(name, seed, data):
    args = _make(name, seed)
    shape = jax.eval_shape(lambda: SPECS[name].output(jaxloss.get(name)(*args, **SPECS[name].kwargs,
                                                                         reduction="none"))).shape
    # Weights 0 or >= 2^-10: XLA on CPU flushes float32 subnormals (w * l) to zero.
    weight = st.one_of(st.just(0.0), st.just(1.0), st.floats(2.0**-10, 4.0, width=32))
    w = data.draw(hnp.arrays(np.float32, shape, elements=weight), label="weights")
    m = data.draw(hnp.arrays(np.bool_, shape), label="where")
    out = {k: np.asarray(v, np.float64) for k, v in all_reductions(name, args, w, m).items()}
    n, wm = out["none"], w.astype(np.float64) * m
    # mean = sum(w m l) / sum(w m) (0 when nothing is weighted in), sum = sum(w m l).
    expected = {"mean": 0.0 if wm.sum() == 0 else (wm * n).sum() / wm.sum(), "sum": (wm * n).sum()}
    if "mean_nonzero" in out:  # PML's AvgNonZeroReducer: only positive terms are counted
        counted = (wm * (n > 0)).sum()
        expected["mean_nonzero"] = 0.0 if counted == 0 else (wm * n).sum() / counted
    for key, value in expected.items():
        np.testing.assert_allclose(out[key], value, rtol=2e-5, atol=1e-6 * max(1.0, np.abs(n).max()),
                                   err_msg=f"{name}: {key}")


# --------------------------------------------------------------------------- gradients

GRAD_CHECKED = [n for n in NAMES if SPECS[n].grad_check]


@pytest.mark.parametrize("name", GRAD_CHECKED)
@settings(SETTINGS, max_examples=3)
@given(seed=seeds, scale=log_uniform(0.1, 10.0))
def test_check_grads_at_random_points(name, seed, scale, x64):
    args, scale = _scaled_make(name, seed, scale)
    args = tuple(a.astype(np.float64) if _is_float(a) else a for a in args)
    xs, others, statics = diff_split(name, args)
    rng = np.random.default_rng(seed)
    directions = tuple(rng.standard_normal(np.shape(x)) for x in xs)
    # check_grads(order=1, modes=("rev",)) along a random direction, compiled once per loss and
    # shared with test_contract's check at the spec's point.
    numerical, analytic = directional(name, statics)(xs, others, directions)
    assert abs(numerical - analytic) <= 1e-4 + 1e-4 * abs(analytic), (
        f"{name}: reverse-mode directional derivative {analytic} != central difference {numerical}")
