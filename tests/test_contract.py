"""The shared invariants, run over every registered loss.

A loss is called the way its spec in ``tests/specs/`` says; each test here
states one property every loss must have. Apart from the eager side of
``test_jit_equals_eager`` and the error tests, calls go through the compiled
functions cached in ``specs`` (one per loss, reduction and static arguments,
shared with the hostile-input and property tests).
"""

from __future__ import annotations

import os
import zlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from specs import (
    all_reductions,
    all_specs,
    diff_split,
    directional,
    jit_call,
    resolve,
    split,
    value_and_grad,
)

import jaxloss

SPECS = all_specs()
NAMES = sorted(jaxloss.available())


def _is_float(x) -> bool:
    return isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating)


def _call(name, args, reduction="mean", **extra):
    spec = SPECS[name]
    fn = jaxloss.get(name)
    return spec.output(fn(*args, **spec.kwargs, reduction=resolve(name, reduction), **extra))


def _assert_all_finite(tree, what):
    for leaf in jax.tree.leaves(tree):
        assert np.all(np.isfinite(np.asarray(leaf, np.float64))), f"{what}: {leaf}"


def test_every_registered_loss_has_a_spec():
    missing = [n for n in NAMES if n not in SPECS]
    assert not missing, f"registered losses without a contract spec: {missing}"
    stale = [n for n in SPECS if n not in NAMES]
    assert not stale, f"specs for names that are not registered: {stale}"


def test_aliases_resolve():
    for alias, name in jaxloss.aliases().items():
        assert jaxloss.get(alias) is jaxloss.get(name)
    with pytest.raises(ValueError, match="did you mean"):
        jaxloss.get("hubber_loss")


@pytest.mark.parametrize("name", NAMES)
def test_exported_flat_and_in_family(name):
    fn = jaxloss.get(name)
    assert getattr(jaxloss, name) is fn
    family = getattr(jaxloss, jaxloss.info(name).family)
    assert getattr(family, name) is fn


# Eager op-by-op dispatch compiles every primitive for the spec's shapes (about 1-5 s per loss
# on 2 cores, a third of the registry sweeps). test_hostile calls every loss eagerly on its probes;
# the eager == jit comparison runs on a fixed quarter of the registry (by name hash), or on all
# of it with JAXLOSS_ALL_EAGER=1.
EAGER = set(NAMES) if os.environ.get("JAXLOSS_ALL_EAGER") else {n for n in NAMES if zlib.crc32(n.encode()) % 4 == 0}


def test_the_eager_sample_is_a_quarter_of_the_registry():
    assert len(NAMES) // 8 <= len(EAGER) <= len(NAMES) // 2 or len(EAGER) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_jit_equals_eager(name):
    spec = SPECS[name]
    args = spec.make(np.random.default_rng(1))
    # One reduction eagerly (the others are the same trace up to the final reduce, checked
    # against "none" in test_properties), every one jitted.
    reduction = "none" if "none" in spec.reductions else spec.reductions[0]
    eager = _call(name, args, reduction) if name in EAGER else None
    if eager is not None:
        _assert_all_finite(eager, f"{name} ({reduction})")
    # Where test_properties checks mean/sum against "none" in one compilation, "sum" is not
    # compiled again here.
    covered = spec.masks and {"mean", "sum", "none"} <= set(spec.reductions)
    for r in [r for r in spec.reductions if not covered or r in (reduction, "mean")]:
        jitted = jit_call(name, args, r)  # callables (models, critics) stay static
        _assert_all_finite(jitted, f"{name} ({r}, jit)")
        if r == reduction and eager is not None:
            for e, j in zip(jax.tree.leaves(eager), jax.tree.leaves(jitted)):
                np.testing.assert_allclose(e, j, rtol=2e-5, atol=1e-6, err_msg=f"{name} {reduction}")


@pytest.mark.parametrize("name", NAMES)
def test_gradients_finite_on_random_and_extreme_inputs(name):
    spec = SPECS[name]
    cases = [spec.make(np.random.default_rng(2))]
    if spec.extreme is not None:
        cases.append(spec.extreme(np.random.default_rng(3)))
    for args in cases:
        value, grads = value_and_grad(name, args)
        _assert_all_finite(value, f"{name} value")
        _assert_all_finite(grads, f"{name} gradient")


@pytest.mark.parametrize("name", NAMES)
def test_check_grads_float64(name, x64):
    spec = SPECS[name]
    if not spec.grad_check:
        pytest.skip("spec opts out of finite-difference checks (piecewise or sampled)")
    args = tuple(a.astype(np.float64) if _is_float(a) else a for a in spec.make(np.random.default_rng(4)))
    xs, others, statics = diff_split(name, args)
    rng = np.random.default_rng(0)
    directions = tuple(rng.standard_normal(np.shape(x)) for x in xs)
    numerical, analytic = directional(name, statics)(xs, others, directions)
    # check_grads(order=1, modes=("rev",)) with its tolerances, compiled as one function.
    assert abs(numerical - analytic) <= 1e-4 + 1e-4 * abs(analytic), (
        f"{name}: reverse-mode directional derivative {analytic} != central difference {numerical}")


# Both half dtypes take the same upcast path: each loss is checked with one of them (by name
# hash, so both dtypes cover half the registry), or with both with JAXLOSS_ALL_DTYPES=1.
HALF = [jnp.bfloat16, jnp.float16]
HALF_CASES = [(n, d) for n in NAMES for i, d in enumerate(HALF)
              if os.environ.get("JAXLOSS_ALL_DTYPES") or zlib.crc32(n.encode()) % 2 == i]


@pytest.mark.parametrize(("name", "dtype"), HALF_CASES)
def test_half_inputs_computed_in_float32(name, dtype):
    spec = SPECS[name]
    if not spec.half:
        pytest.skip("spec opts out of half-precision inputs")
    args = spec.make(np.random.default_rng(5))
    half = tuple(jnp.asarray(a, dtype) if _is_float(a) else a for a in args)
    rounded = tuple(jnp.asarray(a, jnp.float32) if _is_float(a) else a for a in half)
    out, ref = jit_call(name, half), jit_call(name, rounded)
    assert out.dtype == jnp.float32, f"{name}: half inputs must give a float32 loss, got {out.dtype}"
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_weights_and_where(name):
    spec = SPECS[name]
    if not spec.masks:
        pytest.skip("spec has its own weights/where semantics, tested in its family file")
    rng = np.random.default_rng(6)
    args = spec.make(rng)
    none = np.asarray(jit_call(name, args, "none"), np.float64)
    w = rng.uniform(0.5, 2.0, none.shape).astype(np.float32)
    m = rng.uniform(size=none.shape) < 0.6
    m.flat[0] = True
    tol: dict[str, Any] = {"rtol": 1e-5, "atol": 1e-6}
    weighted = all_reductions(name, args, w, np.ones_like(m))  # the same compiled function for both
    masked = all_reductions(name, args, np.ones_like(w), m)
    np.testing.assert_allclose(weighted["mean"], (w * none).sum() / w.sum(), **tol)
    np.testing.assert_allclose(weighted["sum"], (w * none).sum(), **tol)
    np.testing.assert_allclose(masked["mean"], none[m].mean(), **tol)
    np.testing.assert_allclose(masked["none_where"], np.where(m, none, 0), **tol)


@pytest.mark.parametrize("name", NAMES)
def test_all_masked_is_zero_with_zero_gradients(name):
    spec = SPECS[name]
    if not spec.masks:
        pytest.skip("spec has its own where semantics, tested in its family file")
    args = spec.make(np.random.default_rng(7))
    shape = np.shape(jit_call(name, args, "none"))
    where = np.zeros(shape, bool)
    value, grads = value_and_grad(name, args, where=where)
    assert float(value) == 0.0
    for g in jax.tree.leaves(grads):
        np.testing.assert_array_equal(g, 0.0)


@pytest.mark.parametrize("name", NAMES)
def test_vmap_over_leading_axis_equals_loop(name):
    spec = SPECS[name]
    if not spec.vmap:
        pytest.skip("spec opts out of vmap")
    batches = [spec.make(np.random.default_rng(s)) for s in (8, 9)]
    stacked = tuple(np.stack(parts) for parts in zip(*batches))
    out = jax.jit(jax.vmap(lambda *a: _call(name, a)))(*stacked)
    expected = [jit_call(name, b) for b in batches]
    np.testing.assert_allclose(out, np.stack(expected), rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_bad_shapes_raise_clear_error(name):
    spec = SPECS[name]
    if spec.bad is None:
        pytest.skip("spec has no shape contract to break")
    with pytest.raises((ValueError, TypeError)) as info:
        _call(name, spec.bad(np.random.default_rng(10)))
    assert name in str(info.value), f"error does not name {name}: {info.value}"


@pytest.mark.parametrize("name", NAMES)
def test_bad_reduction_raises(name):
    spec = SPECS[name]
    args = spec.make(np.random.default_rng(11))

    def run(arrays):
        it = iter(arrays)
        return _call(name, tuple(a if callable(a) else next(it) for a in args), "average")

    with pytest.raises(ValueError, match="reduction"):  # raised while tracing: nothing is run
        jax.eval_shape(run, split(args)[0])
