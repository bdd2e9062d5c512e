"""Hostile inputs, for every registered loss.

Each probe perturbs one positional array argument of the spec's call (see
``tests/specs``): wrong rank, mismatched batch size, wrong dtype, an empty
batch, NaN, inf, out-of-range integer labels, all-zero inputs and extreme
magnitudes. The outcome must be either a correct result or a ``ValueError`` /
``TypeError`` whose message names the function, the argument and what it
received: never an internal error, a silent broadcast or a finite wrong value.

Where a perturbation is legitimately accepted (an elementwise loss of a single
argument takes any shape; identity labels take any integer), the loss's spec
lists the case in ``Spec.accepts`` with the reason, and the test then checks
that the result is right rather than that an error is raised. The other
per-loss exceptions are spec fields too: ``numeric`` (dtype probes that may be
accepted), ``not_finite``, ``empty_all`` and ``key`` (see ``tests/specs``).

NaN policy (README, "Numerics"): a NaN in any floating input the loss reads
makes the loss NaN; it is never hidden by a guard, a comparison or a mining
step. Entries excluded by ``where``/``ignore_index`` are the exception: they
contribute nothing, NaN included (tested in ``test_contract.py``).
"""

from __future__ import annotations

import inspect
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from specs import all_specs, jit_call, resolve, value_and_grad

import jaxloss

SPECS = all_specs()
NAMES = sorted(jaxloss.available())

def _params(name: str) -> list[str]:
    sig = inspect.signature(jaxloss.get(name))
    return [p.name for p in sig.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]


def _call(name, args, reduction="mean"):
    spec = SPECS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spec.output(jaxloss.get(name)(*args, **spec.kwargs, reduction=resolve(name, reduction)))


def _is_array(a) -> bool:
    return isinstance(a, np.ndarray)


def _is_float(a) -> bool:
    return _is_array(a) and np.issubdtype(a.dtype, np.floating)


def _is_int(a) -> bool:
    return _is_array(a) and np.issubdtype(a.dtype, np.signedinteger)


def _value(out) -> np.ndarray:
    return np.asarray(jax.tree.leaves(out)[0], np.float64)


def _outcome(name, args, reduction="mean", compiled=False):
    """``("ok", value)`` or ``("error", message)``; any other exception propagates (a defect).

    ``compiled``: through the cached ``jit`` (for probes that keep the spec's shapes and only
    change values, which trace-time checks cannot see); otherwise eager.
    """
    try:
        if compiled:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return "ok", _value(jit_call(name, args, reduction))
        return "ok", _value(_call(name, args, reduction))
    except (ValueError, TypeError) as e:
        return "error", f"{type(e).__name__}: {e}"


def _replace(args, i, new):
    full = list(args)
    full[i] = new
    return tuple(full)


def _check_error(problems, label, message, name, arg, shape=None):
    for needle, what in ((name, "function"), (arg, "argument")):
        if needle not in message:
            problems.append(f"{label}: error does not name the {what} ({needle!r}): {message}")
    # A scalar's "()" is not required: the message may describe it as one task / one item.
    if shape is not None and len(shape) and str(tuple(shape)) not in message:
        problems.append(f"{label}: error does not show the received shape {tuple(shape)}: {message}")


def _shape_probes(a):
    probes = {"rank_up": a[..., None]}
    if a.ndim >= 1:
        probes["rank_down"] = a[0]
        if a.shape[0] > 1:
            probes["batch_short"] = a[:-1]
    return probes


@pytest.mark.parametrize("name", NAMES)
def test_wrong_shapes_raise_named_errors(name):
    spec = SPECS[name]
    args = spec.make(np.random.default_rng(0))
    names = _params(name)
    problems = []
    for i, a in enumerate(args):
        if not _is_array(a) or a.dtype == np.uint32:  # raw PRNG keys: tested in test_prng_keys_checked
            continue
        arg = names[i]
        for probe, new in _shape_probes(a).items():
            label = f"{arg}.{probe} {a.shape}->{new.shape}"
            kind, result = _outcome(name, _replace(args, i, new))
            reason = spec.accepts.get((i, probe))
            if reason is None and kind == "ok":
                problems.append(f"{label}: accepted silently (value {result})")
            elif reason is None:
                _check_error(problems, label, result, name, arg, new.shape)
            elif kind == "error":
                problems.append(f"{label}: raised although valid ({reason}): {result}")
            elif not np.all(np.isfinite(result)):
                problems.append(f"{label}: valid input gave {result}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", NAMES)
def test_wrong_dtypes_raise_or_match_the_cast_call(name):
    spec = SPECS[name]
    args = spec.make(np.random.default_rng(0))
    names = _params(name)
    problems = []
    for i, a in enumerate(args):
        if _is_float(a):
            probe, new, same = "int", a.astype(np.int32), a.astype(np.int32).astype(np.float32)
        elif _is_int(a):
            probe, new, same = "float", a.astype(np.float32), a
        else:
            continue
        arg = names[i]
        label = f"{arg}.{probe} ({a.dtype}->{new.dtype})"
        kind, result = _outcome(name, _replace(args, i, new))
        if kind == "error":
            _check_error(problems, label, result, name, arg)
            # Float labels are a valid other form (probabilities, one-hot): then the shape is at fault.
            if str(new.dtype) not in result and str(new.shape) not in result:
                problems.append(f"{label}: error shows neither the received dtype nor shape: {result}")
            continue
        if i not in spec.numeric:
            problems.append(f"{label}: accepted {new.dtype} for {arg} (value {result})")
            continue
        expected = _value(_call(name, _replace(args, i, same)))
        if not np.allclose(result, expected, rtol=1e-5, atol=1e-6, equal_nan=True):
            problems.append(f"{label}: {result} differs from the call with {same.dtype} values {expected}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", NAMES)
def test_nan_in_gives_nan_out(name):
    spec = SPECS[name]
    args = spec.make(np.random.default_rng(0))
    names = _params(name)
    problems = []
    for i, a in enumerate(args):
        if not _is_float(a) or a.size == 0:
            continue
        for bad in (np.nan, np.inf, -np.inf):
            new = a.copy()
            new.flat[0] = bad
            kind, result = _outcome(name, _replace(args, i, new), compiled=True)
            label = f"{names[i]}[0] = {bad}"
            if kind == "error":
                problems.append(f"{label}: raised {result}")
            elif np.isnan(bad) and not np.all(np.isnan(result)):
                problems.append(f"{label}: NaN hidden, the loss is {result}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", NAMES)
def test_out_of_range_labels_raise_or_are_identities(name):
    spec = SPECS[name]
    args = spec.make(np.random.default_rng(0))
    names = _params(name)
    problems = []
    for i, a in enumerate(args):
        if not _is_int(a) or a.size == 0:
            continue
        arg = names[i]
        for probe, value in (("oob_hi", 10**6), ("oob_neg", -7)):
            new = a.copy()
            new.flat[0] = value
            label = f"{arg}[0] = {value}"
            kind, result = _outcome(name, _replace(args, i, new))
            reason = spec.accepts.get((i, probe))
            if reason is None:
                if kind == "ok":
                    problems.append(f"{label}: accepted (value {result}); out-of-range labels must raise")
                else:
                    _check_error(problems, label, result, name, arg)
                continue
            relabelled = a.copy()
            relabelled.flat[0] = a.max() + 1
            expected = _value(_call(name, _replace(args, i, relabelled)))
            if kind == "error" or not np.allclose(result, expected, rtol=1e-5, atol=1e-6):
                problems.append(f"{label}: {result}, but relabelling with an unused id gives {expected}")
    assert not problems, "\n".join(problems)


def _finite_value_and_grads(name, args):
    """The ``"mean"`` loss and its gradients, through the cached ``jit``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return value_and_grad(name, args)


def _compiled_outcome(name, args):
    """``("ok", (value, grads))`` of :func:`_finite_value_and_grads` or ``("error", message)``:
    batch-size errors are raised while tracing, so one compilation serves both outcomes."""
    try:
        return "ok", _finite_value_and_grads(name, args)
    except (ValueError, TypeError) as e:
        return "error", f"{type(e).__name__}: {e}"


@pytest.mark.parametrize("name", NAMES)
def test_zero_and_extreme_inputs_stay_finite(name):
    """All-zero arrays (zero vectors, zero logits) and extreme magnitudes: finite value and gradient.

    Real-valued arguments (those the spec draws with negative entries) are scaled to 1e4;
    arguments drawn in [0, 1] (probabilities, masks) are pushed to 1e-30.
    """
    spec = SPECS[name]
    args = spec.make(np.random.default_rng(0))
    names = _params(name)
    problems = []
    for i, a in enumerate(args):
        if not _is_float(a) or a.size == 0:
            continue
        extreme = a * np.float32(1e4) if np.any(a < 0) else np.where(a < 0.5, 1e-30, 1.0).astype(a.dtype)
        for probe, new in (("zeros", np.zeros_like(a)), ("extreme", extreme)):
            if (i, probe) in spec.not_finite:
                continue
            label = f"{names[i]}.{probe}"
            try:
                value, grads = _finite_value_and_grads(name, _replace(args, i, new))
            except (ValueError, TypeError) as e:
                problems.append(f"{label}: raised {type(e).__name__}: {e}")
                continue
            leaves = [np.asarray(g, np.float64) for g in jax.tree.leaves(grads)]
            if not np.all(np.isfinite(np.asarray(value, np.float64))):
                problems.append(f"{label}: value {value}")
            elif not all(np.all(np.isfinite(g)) for g in leaves):
                problems.append(f"{label}: non-finite gradient (value {value})")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", NAMES)
def test_empty_batch_gives_zero_or_a_named_error(name):
    """An empty batch: ``mean``/``sum`` are 0 with zero gradients (nothing to average, as when
    everything is masked), ``none`` is empty; or a ``ValueError`` for batch-level losses that
    need items to compare."""
    spec = SPECS[name]
    args = spec.make(np.random.default_rng(0))
    first = next((a for a in args if _is_array(a) and a.ndim), None)
    if first is None:
        pytest.skip("no batched array argument")
    batch = first.shape[0]
    empty = tuple(a[:0] if _is_array(a) and a.ndim and a.dtype != np.uint32
                  and (a.shape[0] == batch or spec.empty_all) else a for a in args)
    kind, result = _compiled_outcome(name, empty)
    if kind == "error":
        assert name in result and "(0" in result, result
        return
    value, grads = result
    assert np.all(np.asarray(value) == 0.0), f"mean over an empty batch: {value}"
    assert np.all(_value(jit_call(name, empty, "sum")) == 0.0)
    for g in jax.tree.leaves(grads):
        assert np.all(np.asarray(g) == 0.0)


@pytest.mark.parametrize("name", [n for n in NAMES if SPECS[n].permuted is not None])
def test_one_item_batch_is_finite_or_a_named_error(name):
    """Batch-level losses (an item's term depends on the others: the spec's ``permuted`` law)
    on a batch of one: a finite value with finite gradients (the documented value, e.g. 0 when
    no anchor has a positive), or a ``ValueError`` naming the function where the loss needs
    two items (batch statistics); never NaN or an internal error (issue 19)."""
    spec = SPECS[name]
    args = spec.make(np.random.default_rng(0))
    first = next(a for a in args if _is_array(a) and a.ndim)
    batch = first.shape[0]
    one = tuple(a[:1] if _is_array(a) and a.ndim and a.dtype != np.uint32
                and (a.shape[0] == batch or spec.empty_all) else a for a in args)
    kind, result = _compiled_outcome(name, one)
    if kind == "error":
        assert name in result and "(1" in result, result
        return
    value, grads = result
    assert np.all(np.isfinite(np.asarray(value))), f"{name}: one-item batch gives {value}"
    for g in jax.tree.leaves(grads):
        assert np.all(np.isfinite(np.asarray(g))), f"{name}: one-item batch gives gradient {g}"


@pytest.mark.parametrize("name", [n for n in NAMES if SPECS[n].key is not None])
def test_prng_keys_checked(name):
    spec = SPECS[name]
    args = spec.make(np.random.default_rng(0))
    i = spec.key
    assert i is not None
    assert jnp.issubdtype(args[i].dtype, jax.dtypes.prng_key) or args[i].dtype == np.uint32, args[i]
    for bad in (np.zeros(3, np.uint32), np.zeros((2, 2), np.uint32), np.float32(0.0)):
        with pytest.raises(TypeError, match=f"{name}: key must be one PRNG key"):
            _call(name, _replace(args, i, bad))
