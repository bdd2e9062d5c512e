"""How to call each registered loss in the shared tests, and what holds for it.

Each family has a module here defining ``SPECS = {name: Spec(...)}``;
``tests/test_contract.py`` runs the shared invariants over every registered
loss and fails when one has no spec. A spec also carries the loss's metadata
for the law, hostile-input and sharding tests (``tests/test_properties.py``,
``tests/test_hostile.py``, ``tests/test_sharded_inputs.py``), so adding a loss
touches its module, its spec and its reference test only. Builders for the law
fields are in ``specs/laws.py``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss


@dataclasses.dataclass(frozen=True)
class Spec:
    """How the contract tests call one loss.

    make: ``rng -> tuple`` of positional data arguments (NumPy arrays), small.
    kwargs: keyword options used in every call.
    diff: indices of the positional arguments to differentiate.
    extreme: ``rng -> tuple`` of arguments at extreme magnitudes (value and
      gradient must stay finite), or ``None`` to skip.
    bad: ``rng -> tuple`` of arguments with a shape error (must raise
      ``ValueError``/``TypeError`` naming the function), or ``None``.
    masks: whether ``weights``/``where`` follow the generic contract
      (``mean == sum(w * none) / sum(w)`` over the ``"none"`` output).
    half: whether float16/bfloat16 inputs are tested.
    vmap: whether vmap over a leading axis is tested.
    grad_check: whether ``jax.test_util.check_grads`` runs (in float64).
    output: extracts the loss from the return value (for ``(loss, state)``).
    reductions: the reductions the loss supports.

    Laws (``tests/test_properties.py``):

    nonnegative: ``True`` where the loss is >= 0 on its whole domain, otherwise the
      reason it is not (every spec must say one or the other).
    signed_terms: why the ``"none"`` entries may be negative although the total is
      not (terms of one divergence); only the reduced loss is then checked.
    zero_at: ``args -> args`` at which the loss is 0, or ``None`` (no zero).
    zero_at_kwargs: option overrides for the ``zero_at`` call.
    symmetric: ``(swap, sign)`` with ``loss(swap(args)) == sign * loss(args)``, or ``None``.
    permuted: ``(args, rng) -> args`` with the same multiset of ``"none"`` entries
      (batch-level losses are functions of the set of examples), or ``None``.
    scalable: positions of the arguments a drawn scale may multiply without leaving
      the domain; ``None`` means ``diff``.
    max_scale: the largest scale the laws hold at (iterative solvers), or ``None``.
    law_tol: the tolerance of the law checks where the loss is an iterative solve
      (``None``: the default tolerances).

    Hostile inputs (``tests/test_hostile.py``); ``(i, probe)`` keys name a positional
    argument by its position ``i``:

    accepts: ``(i, probe) -> why`` the perturbed call is valid (``rank_up``,
      ``rank_down``, ``batch_short``, ``oob_hi``, ``oob_neg``); the result is then checked.
    numeric: positions whose dtype probe may be accepted (numeric labels, targets and
      task values may be integers) when the result equals the call with cast values.
    not_finite: ``(i, probe) -> why`` the value is not finite there in exact arithmetic
      (``zeros``, ``extreme``).
    empty_all: the positional arrays are independent batches: the empty-batch probe
      empties every one, not only those of the first batch size.
    key: the position of the PRNG key argument (its checks are tested), or ``None``.

    Sharding (``tests/test_sharded_inputs.py``):

    shard: whether axis 0 is sharded over the devices; ``False`` where the first
      array argument's leading dimension is odd (every input is then replicated).
    pytree: whether the loss takes pytrees (then also run on differently sharded leaves).
    sharding_defect: a known defect on sharded inputs (the run skips the loss and a
      test asserts it still fails), or ``None``.
    """

    make: Callable[[np.random.Generator], tuple]
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    diff: tuple[int, ...] = (0,)
    extreme: Callable[[np.random.Generator], tuple] | None = None
    bad: Callable[[np.random.Generator], tuple] | None = None
    masks: bool = True
    half: bool = True
    vmap: bool = True
    grad_check: bool = True
    output: Callable[[Any], Any] = lambda out: out
    reductions: tuple[str, ...] = ("mean", "sum", "none")
    # laws
    nonnegative: bool | str | None = None
    signed_terms: str | None = None
    zero_at: Callable[[tuple], tuple] | None = None
    zero_at_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    symmetric: tuple[Callable[[tuple], tuple], float] | None = None
    permuted: Callable[[tuple, np.random.Generator], tuple] | None = None
    scalable: tuple[int, ...] | None = None
    max_scale: float | None = None
    law_tol: float | None = None
    # hostile inputs
    accepts: dict[tuple[int, str], str] = dataclasses.field(default_factory=dict)
    numeric: tuple[int, ...] = ()
    not_finite: dict[tuple[int, str], str] = dataclasses.field(default_factory=dict)
    empty_all: bool = False
    key: int | None = None
    # sharding
    shard: bool = True
    pytree: bool = False
    sharding_defect: str | None = None

    def with_(self, **changes: Any) -> Spec:
        """A copy with some fields changed (for specs built from a shared one)."""
        return dataclasses.replace(self, **changes)


@functools.cache
def all_specs() -> dict[str, Spec]:
    """Specs from every module in this package (one dict per process: do not modify it)."""
    specs: dict[str, Spec] = {}
    for mod in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{mod.name}")
        for name, spec in getattr(module, "SPECS", {}).items():
            assert name not in specs, f"two specs for {name}"
            specs[name] = spec
    return specs


SHAPE_PROBES = ("rank_up", "rank_down", "batch_short")
LABEL_PROBES = ("oob_hi", "oob_neg")
ANY_SHAPE = "a single argument of any shape: every shape is valid"


def accepting(why: str, positions: tuple[int, ...], probes: tuple[str, ...] = SHAPE_PROBES) -> dict[tuple[int, str], str]:
    """``accepts`` entries: every probe of ``probes`` on every argument of ``positions``."""
    return {(i, p): why for i in positions for p in probes}


def normal(*shape: int, scale: float = 1.0) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: (scale * rng.standard_normal(shape)).astype(np.float32)


def uniform(*shape: int, low: float = 0.0, high: float = 1.0):
    return lambda rng: rng.uniform(low, high, shape).astype(np.float32)


def integers(*shape: int, high: int):
    return lambda rng: rng.integers(0, high, shape).astype(np.int32)


def args(*makers: Callable[[np.random.Generator], Any]) -> Callable[[np.random.Generator], tuple]:
    """Combines per-argument makers into a ``make``/``extreme``/``bad`` callable."""
    return lambda rng: tuple(m(rng) for m in makers)


# --------------------------------------------------------------------------- compiled calls
# One jitted function per (loss, reduction, options, static arguments), shared by the contract,
# hostile-input and property tests of a process; jit's own cache then keys on shapes and dtypes.
# Callable arguments (models, critics, feature functions) are static, arrays are traced.


def split(args: tuple) -> tuple[tuple, tuple]:
    """``(arrays, statics)``: the traced arguments, and ``(position, callable)`` pairs."""
    return tuple(a for a in args if not callable(a)), tuple((i, a) for i, a in enumerate(args) if callable(a))


def _merge(static: dict[int, Any], parts: dict[int, Any], rest) -> list:
    n = len(static) + len(parts) + len(rest)
    it = iter(rest)
    return [static[i] if i in static else parts[i] if i in parts else next(it) for i in range(n)]


def resolve(name: str, reduction: str = "mean") -> str:
    """``"mean"`` becomes the loss's first (default) reduction where it has no ``"mean"`` (the
    task-level sums, ``weighted_sum``, ... reject it); any other value is passed through."""
    reductions = all_specs()[name].reductions
    return reductions[0] if reduction == "mean" and "mean" not in reductions else reduction


@functools.cache
def compiled(name: str, reduction: str = "mean", extra: tuple = (), statics: tuple = ()):
    """``f(arrays, masks)``: the loss (``spec.output`` of it) under ``jit``."""
    spec, fn = all_specs()[name], jaxloss.get(name)
    reduction = resolve(name, reduction)
    kwargs, static = {**spec.kwargs, **dict(extra)}, dict(statics)

    def f(arrays, masks):
        return spec.output(fn(*_merge(static, {}, arrays), **kwargs, reduction=reduction, **masks))

    return jax.jit(f)


def jit_call(name: str, args: tuple, reduction: str = "mean", extra: tuple = (), **masks):
    """``spec.output(loss(*args, **spec.kwargs, **extra, reduction=..., **masks))``, compiled once."""
    arrays, statics = split(args)
    return compiled(name, reduction, extra, statics)(arrays, masks)


@functools.cache
def _all_reductions(name: str, statics: tuple):
    spec, fn = all_specs()[name], jaxloss.get(name)
    static = dict(statics)

    def f(arrays, w, m):
        full = _merge(static, {}, arrays)

        def run(reduction, **masks):
            return spec.output(fn(*full, **spec.kwargs, reduction=reduction, **masks))

        out = {"none": run("none"), "none_where": run("none", where=m),
               "mean": run("mean", weights=w, where=m), "sum": run("sum", weights=w, where=m)}
        try:
            out["mean_nonzero"] = run("mean_nonzero", weights=w, where=m)
        except ValueError as e:  # a loss whose mean has its own normaliser refuses it by name
            if "mean_nonzero" not in str(e):
                raise
        return out

    return jax.jit(f)


def all_reductions(name: str, args: tuple, w, m) -> dict[str, Any]:
    """Every reduction of one call, compiled once per loss: ``"none"`` (unmasked),
    ``"none_where"`` (``where=m``), and ``"mean"``/``"sum"``/``"mean_nonzero"`` (where the
    loss offers it) with ``weights=w, where=m``."""
    arrays, statics = split(args)
    return _all_reductions(name, statics)(arrays, w, m)


@functools.cache
def differentiable(name: str, statics: tuple = ()):
    """``f(xs, others)``: the ``"mean"`` loss of the differentiated arguments ``xs``
    (``spec.diff``) given the other traced ones, under ``jit``."""
    spec, fn = all_specs()[name], jaxloss.get(name)
    static = dict(statics)

    def f(xs, others):
        return spec.output(fn(*_merge(static, dict(zip(spec.diff, xs)), others), **spec.kwargs))

    return jax.jit(f)


def diff_split(name: str, args: tuple) -> tuple[tuple, tuple, tuple]:
    """``(xs, others, statics)`` of ``args`` for :func:`differentiable` / :func:`value_and_grad`."""
    diff = all_specs()[name].diff
    xs = tuple(args[i] for i in diff)
    others = tuple(a for i, a in enumerate(args) if i not in diff and not callable(a))
    return xs, others, split(args)[1]


@functools.cache
def directional(name: str, statics: tuple):
    """``(central difference, grad . v)`` along directions ``v``, in one compiled function
    (``jax.test_util.check_grads`` compiles the forward, the VJP and its transpose apart)."""
    f, eps = differentiable(name, statics), 1e-6

    @jax.jit
    def both(xs, others, v):
        plus = tuple(x + eps * d for x, d in zip(xs, v))
        minus = tuple(x - eps * d for x, d in zip(xs, v))
        numerical = (f(plus, others) - f(minus, others)) / (2 * eps)
        grads = jax.grad(lambda xs: f(xs, others))(xs)
        return numerical, sum(jnp.vdot(g, d) for g, d in zip(grads, v))

    return both


@functools.cache
def _value_and_grad(name: str, statics: tuple):
    spec, fn = all_specs()[name], jaxloss.get(name)
    static, reduction = dict(statics), resolve(name)

    def f(xs, others, masks):
        def mean(*xs):
            full = _merge(static, dict(zip(spec.diff, xs)), others)
            return spec.output(fn(*full, **spec.kwargs, reduction=reduction, **masks))

        return jax.value_and_grad(mean, argnums=tuple(range(len(xs))))(*xs)

    return jax.jit(f)


def value_and_grad(name: str, args: tuple, **masks):
    """The ``"mean"`` loss and its gradients w.r.t. the arguments ``spec.diff``, compiled once.

    Without masks, a loss under the generic contract gets ``where`` = all True (the same value):
    every call then shares one compilation with the all-masked check."""
    xs, others, statics = diff_split(name, args)
    spec = all_specs()[name]
    if not masks and spec.masks and "none" in spec.reductions:
        arrays = split(args)[0]
        shape = jax.eval_shape(compiled(name, "none", (), statics), arrays, {}).shape
        masks = {"where": np.ones(shape, bool)}
    return _value_and_grad(name, statics)(xs, others, masks)
