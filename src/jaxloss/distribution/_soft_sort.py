"""Differentiable sorting operators by optimal transport (Cuturi, Teboul & Vert 2019), ott-jax semantics.

Each operator squashes a 1-D slice into ``[0, 1]`` (by default the sigmoid of the whitened
values), solves a balanced entropic OT problem to ``T`` increasing targets
``linspace(0, 1, T)`` (squared-Euclidean cost) with :func:`sinkhorn`'s solver, and reads
the result off the coupling ``P``: sorted values ``P^T x / b``, ranks ``P t / a``,
quantiles (interleaved targets), quantization ``P (P^T x / b) / a`` and quantile
normalization ``P y / a``. The coupling is differentiated implicitly (``custom_vjp``, as
ott). These are operators, not losses: no reduction. :func:`spearman_loss` is the loss
built on :func:`soft_rank`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import calling
from .._src.numerics import param, safe_sqrt, upcast
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._sinkhorn_solver import solve_cost

__all__ = [
    "soft_quantile",
    "soft_quantile_normalization",
    "soft_quantize",
    "soft_rank",
    "soft_sort",
    "soft_topk_mask",
    "spearman_loss",
]

_FAMILY = "distribution"
Squashing = Callable[[jax.Array], jax.Array]


def _whitened_sigmoid(z: jax.Array) -> jax.Array:
    # ott's default squashing; the std is a safe root (finite gradient for a constant slice).
    centred = z - jnp.mean(z)
    return jax.nn.sigmoid(centred / (safe_sqrt(jnp.mean(centred * centred)) + 1e-10))


def _coupling(x, a, b, eps, squashing_fn, max_iterations, tolerance):
    """``[n, T]`` coupling from the squashed ``x`` to ``linspace(0, 1, T)`` with masses ``a``, ``b``."""
    s = (squashing_fn or _whitened_sigmoid)(x)
    t = jnp.linspace(0.0, 1.0, b.shape[0], dtype=x.dtype)
    c = jnp.square(s[:, None] - t[None, :])
    out = solve_cost(
        c,
        a,
        b,
        eps,
        taus=(1.0, 1.0),
        max_iterations=max_iterations,
        tolerance=tolerance,
        implicit_diff=True,
    )
    return out.coupling


def _on_axis(op: Callable[[jax.Array], jax.Array], x: jax.Array, axis: int) -> jax.Array:
    """Applies a 1-D operator along ``axis`` (vmapped over the other axes)."""
    moved = jnp.moveaxis(x, axis, -1)
    flat = moved.reshape((-1, moved.shape[-1]))
    out = jax.vmap(op)(flat)
    return jnp.moveaxis(out.reshape(moved.shape[:-1] + out.shape[-1:]), -1, axis)


def _prologue(inputs: ArrayLike, axis: int, epsilon: ArrayLike) -> tuple[jax.Array, int, jax.Array]:
    contracts.floating(inputs=inputs)
    contracts.min_rank(inputs, 1, "inputs")
    (x,) = upcast(inputs)
    axis = contracts.axis_index(axis, x.ndim, "axis")
    if x.shape[axis] < 2:
        raise ValueError(
            f"{contracts.function_name()}: inputs needs at least 2 entries along axis {axis}, "
            f"got shape {x.shape}"
        )
    contracts.bounded(epsilon, "epsilon", gt=0)
    return x, axis, param(epsilon, x.dtype)


def _ranks_1d(x, target_weights, eps, squashing_fn, max_iterations, tolerance):
    n, t = x.shape[0], target_weights.shape[0]
    a = jnp.full((n,), 1.0 / n, x.dtype)
    p = _coupling(x, a, target_weights, eps, squashing_fn, max_iterations, tolerance)
    return (p @ jnp.arange(t, dtype=x.dtype)) / a * (n - 1.0) / (t - 1.0)


def soft_sort(
    inputs: ArrayLike,
    *,
    axis: int = -1,
    topk: int = -1,
    num_targets: int | None = None,
    epsilon: float | ArrayLike = 1e-2,
    squashing_fn: Squashing | None = None,
    max_iterations: int = 2000,
    tolerance: float = 1e-3,
) -> jax.Array:
    r"""Soft sort along ``axis`` (ott-jax ``tools.soft_sort.sort``), increasing order.

    With the coupling :math:`P` of the entropic OT from the squashed inputs (uniform
    masses ``1/n``) to ``T`` increasing targets with masses ``b``, the soft-sorted
    values are :math:`(P^T x) / b`: convex combinations of the inputs that tend to
    ``jnp.sort(inputs)`` as ``epsilon`` goes to 0.

    Args:
      inputs: an array of any shape (float).
      axis: the axis to sort along (at least 2 entries).
      topk: if ``0 < topk < n``, only the ``topk`` largest values (in increasing
        order): targets with masses ``((n - topk)/n, 1/n, ..., 1/n)``, the first dropped.
      num_targets: otherwise, ``T`` composite sorted values (default ``n``).
      epsilon: entropic regularisation (absolute, on the squashed ``[0, 1]`` values).
      squashing_fn: maps a 1-D slice into ``[0, 1]``; default the sigmoid of the
        whitened values (ott's); ``lambda z: z`` for none.
      max_iterations: Sinkhorn iteration cap (ott's default 2000).
      tolerance: Sinkhorn marginal-error threshold (ott's default 1e-3).

    Returns:
      ``inputs``' shape with ``axis`` of size ``topk`` or ``num_targets`` (default ``n``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([3.0, 1.0, 2.0])
      >>> jaxloss.soft_sort(x, epsilon=1e-3, tolerance=1e-6).round(2)
      Array([1., 2., 3.], dtype=float32)

    References:
      Cuturi, Teboul & Vert 2019, "Differentiable Ranks and Sorting using Optimal
      Transport" (arXiv 1905.11885); ott-jax ``ott.tools.soft_sort.sort``.
      Differences: no ``SortingInitializer`` (the same fixed point from zero
      potentials); the squashing std is a safe root (finite gradients for a constant slice).
    """
    with calling("soft_sort"):
        x, ax, eps = _prologue(inputs, axis, epsilon)
        n = x.shape[ax]

        def op(z):
            if 0 < topk < n:
                b = jnp.concatenate(
                    [jnp.array([(n - topk) / n], z.dtype), jnp.full((topk,), 1.0 / n, z.dtype)]
                )
                start = 1
            else:
                t = n if num_targets is None else num_targets
                b, start = jnp.full((t,), 1.0 / t, z.dtype), 0
            a = jnp.full((n,), 1.0 / n, z.dtype)
            p = _coupling(z, a, b, eps, squashing_fn, max_iterations, tolerance)
            return ((z @ p) / b)[start:]

        return _on_axis(op, x, ax)


def soft_rank(
    inputs: ArrayLike,
    *,
    axis: int = -1,
    num_targets: int | None = None,
    target_weights: ArrayLike | None = None,
    epsilon: float | ArrayLike = 1e-2,
    squashing_fn: Squashing | None = None,
    max_iterations: int = 2000,
    tolerance: float = 1e-3,
) -> jax.Array:
    r"""Soft ranks along ``axis`` (ott-jax ``tools.soft_sort.ranks``), 0-based.

    :math:`r = (P\,t) / a \cdot (n - 1) / (T - 1)` with :math:`t = (0, \dots, T-1)`:
    ranks in ``[0, n - 1]`` that tend to ``argsort(argsort(inputs))`` as ``epsilon`` goes to 0.

    Args:
      inputs: an array of any shape (float).
      axis: the axis to rank along (at least 2 entries).
      num_targets: ``T`` uniform targets (default ``n``) when ``target_weights`` is None.
      target_weights: ``[T]`` target masses summing to 1 (overrides ``num_targets``).
      epsilon: entropic regularisation on the squashed values.
      squashing_fn: as :func:`soft_sort`.
      max_iterations: Sinkhorn iteration cap (ott's default 2000).
      tolerance: Sinkhorn threshold (ott's default 1e-3).

    Returns:
      Soft ranks, the shape of ``inputs``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([3.0, 1.0, 2.0])
      >>> jaxloss.soft_rank(x, epsilon=1e-3, tolerance=1e-6).round(2)
      Array([2., 0., 1.], dtype=float32)

    References:
      Cuturi, Teboul & Vert 2019 (arXiv 1905.11885); ott-jax ``ott.tools.soft_sort.ranks``.
    """
    with calling("soft_rank"):
        x, ax, eps = _prologue(inputs, axis, epsilon)
        n = x.shape[ax]
        if target_weights is None:
            t = n if num_targets is None else num_targets
            w = jnp.full((t,), 1.0 / t, x.dtype)
        else:
            (w,) = upcast(target_weights, dtype=x.dtype)
            contracts.rank(w, 1, "target_weights")
        fn = functools.partial(
            _ranks_1d,
            target_weights=w,
            eps=eps,
            squashing_fn=squashing_fn,
            max_iterations=max_iterations,
            tolerance=tolerance,
        )
        return _on_axis(fn, x, ax)


def soft_topk_mask(
    inputs: ArrayLike,
    k: int,
    *,
    axis: int = -1,
    epsilon: float | ArrayLike = 1e-2,
    squashing_fn: Squashing | None = None,
    max_iterations: int = 2000,
    tolerance: float = 1e-3,
) -> jax.Array:
    r"""Soft top-``k`` mask along ``axis`` (ott-jax ``tools.soft_sort.topk_mask``).

    The soft ranks against two targets with masses ``(1 - k/n, k/n)``: values in
    ``[0, 1]`` that tend to the indicator of the ``k`` largest entries.

    Args:
      inputs: an array of any shape (float).
      k: the number of entries to select, ``0 < k < n`` (static).
      axis: the axis to select along.
      epsilon: entropic regularisation on the squashed values.
      squashing_fn: as :func:`soft_sort`.
      max_iterations: Sinkhorn iteration cap (ott's default 2000).
      tolerance: Sinkhorn threshold (ott's default 1e-3).

    Returns:
      The soft mask, the shape of ``inputs``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([3.0, 1.0, 2.0, 0.0])
      >>> jaxloss.soft_topk_mask(x, 2, epsilon=1e-3, tolerance=1e-6).round(2)
      Array([1., 0., 1., 0.], dtype=float32)

    References:
      Cuturi, Teboul & Vert 2019 (arXiv 1905.11885); ott-jax ``ott.tools.soft_sort.topk_mask``.
    """
    with calling("soft_topk_mask"):
        x, ax, eps = _prologue(inputs, axis, epsilon)
        n = x.shape[ax]
        if not 0 < k < n:
            raise ValueError(
                f"soft_topk_mask: k must satisfy 0 < k < {n} (the size of axis {ax}), got {k}"
            )
        w = jnp.array([1.0 - k / n, k / n], x.dtype)
        fn = functools.partial(
            _ranks_1d,
            target_weights=w,
            eps=eps,
            squashing_fn=squashing_fn,
            max_iterations=max_iterations,
            tolerance=tolerance,
        )
        return _on_axis(fn, x, ax) / (n - 1)


def _quantile_masses(q: jax.Array, weight: jax.Array | None, n: int) -> jax.Array:
    """ott's interleaved target masses ``(filler_0, w, filler_1, ..., w, filler_m)`` for sorted ``q``."""
    m = q.shape[0]
    dt = q.dtype
    extended = jnp.concatenate([jnp.zeros((1,), dt), q, jnp.ones((1,), dt)])
    filler = extended[1:] - extended[:-1]
    candidates = [jnp.full((1,), 0.5 / m, dt), 0.5 * filler]
    if weight is None:  # ~0.02 per quantile for few points, ~1.5 points per quantile otherwise
        candidates.append(jnp.array([0.02, 1.5 / n], dt))
    else:
        candidates.append(jnp.reshape(weight, (1,)))
    w = jnp.min(jnp.concatenate(candidates))
    ends = jnp.zeros((m + 1,), dt).at[jnp.array([0, m])].add(0.5)
    filler = filler + w * (ends - 1.0)  # each quantile's mass w is taken from its two fillers
    return jnp.stack([filler, jnp.full((m + 1,), w, dt)], axis=1).reshape(-1)[:-1]


def soft_quantile(
    inputs: ArrayLike,
    q: float | ArrayLike,
    *,
    axis: int = -1,
    weight: float | ArrayLike | None = None,
    epsilon: float | ArrayLike = 1e-2,
    squashing_fn: Squashing | None = None,
    max_iterations: int = 2000,
    tolerance: float = 1e-3,
) -> jax.Array:
    r"""Soft quantiles along ``axis`` (ott-jax ``tools.soft_sort.quantile``).

    For the ``m`` sorted levels :math:`q_1 < \dots < q_m`, the OT targets are
    ``linspace(0, 1, 2m + 1)`` with masses
    :math:`(q_1 - \tfrac{1}{2}w,\ w,\ q_2 - q_1 - w,\ w,\ \dots,\ w,\ 1 - q_m - \tfrac{1}{2}w)`
    (fillers interleaved with one target of mass :math:`w` per quantile), and the
    :math:`j`-th soft quantile is the value read at its target, :math:`(P^T x)_{2j-1} / w`
    (``j = 1..m``, targets numbered from 0):
    a convex combination of the inputs that tends to ``jnp.quantile`` (at the nearest
    sorted value) as ``epsilon`` goes to 0. :math:`w` is the smallest of ``weight``
    (default ``min(0.02, 1.5/n)``), :math:`1/(2m)` and half of every gap
    :math:`q_1, q_2 - q_1, \dots, 1 - q_m`, as ott.

    Args:
      inputs: an array of any shape (float).
      q: a level or a ``[m]`` vector of distinct levels, each in ``(0, 1)`` (any order).
      axis: the axis to take the quantiles along (at least 2 entries).
      weight: the mass of each quantile target (of the order of ``1/n``); capped as above.
      epsilon: entropic regularisation (absolute, on the squashed ``[0, 1]`` values).
      squashing_fn: as :func:`soft_sort`.
      max_iterations: Sinkhorn iteration cap (ott's default 2000).
      tolerance: Sinkhorn marginal-error threshold (ott's default 1e-3).

    Returns:
      ``inputs``' shape with ``axis`` of size ``m`` (1 for a scalar ``q``), in the order of ``q``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([4.0, 0.0, 2.0, 3.0, 1.0])
      >>> jaxloss.soft_quantile(x, jnp.array([0.1, 0.5, 0.9]), epsilon=1e-3).round(1)
      Array([0., 2., 4.], dtype=float32)

    References:
      Cuturi, Teboul & Vert 2019 (arXiv 1905.11885); ott-jax ``ott.tools.soft_sort.quantile``.
      Differences: levels ``q`` given out of order come back in the order of ``q``
      (ott 0.6 indexes its sorted result by ``argsort(q)``, which reorders them unless
      the permutation is its own inverse); ``q`` is required (ott's ``None`` means
      ``(0.2, 0.5, 0.8)``).
    """
    with calling("soft_quantile"):
        x, ax, eps = _prologue(inputs, axis, epsilon)
        n = x.shape[ax]
        contracts.bounded(q, "q", gt=0, lt=1, scalar=False)
        contracts.bounded(weight, "weight", gt=0)
        (levels,) = upcast(q, dtype=x.dtype)
        contracts.rank(levels, {0, 1}, "q")
        levels = jnp.atleast_1d(levels)
        order = jnp.argsort(levels)
        w = None if weight is None else param(weight, x.dtype)
        b = _quantile_masses(levels[order], w, n)
        a = jnp.full((n,), 1.0 / n, x.dtype)
        back = jnp.argsort(order)

        def op(z):
            p = _coupling(z, a, b, eps, squashing_fn, max_iterations, tolerance)
            return ((z @ p) / b)[1::2][back]

        return _on_axis(op, x, ax)


def soft_quantize(
    inputs: ArrayLike,
    *,
    num_levels: int = 10,
    axis: int = -1,
    epsilon: float | ArrayLike = 1e-2,
    squashing_fn: Squashing | None = None,
    max_iterations: int = 2000,
    tolerance: float = 1e-3,
) -> jax.Array:
    r"""Soft quantization along ``axis`` (ott-jax ``tools.soft_sort.quantize``).

    The inputs are soft-sorted into ``L = num_levels`` composite levels
    :math:`s = (P^T x) / b` (uniform target masses ``1/L``), then each input is
    replaced by its coupling-weighted level, :math:`(P\,s) / a`: values that
    concentrate on ``L`` levels and tend to hard quantization (each input mapped to
    the mean of its ``1/L``-quantile bin) as ``epsilon`` goes to 0.

    Args:
      inputs: an array of any shape (float).
      num_levels: the number of levels ``L >= 1`` (static).
      axis: the axis to quantize along (at least 2 entries).
      epsilon: entropic regularisation on the squashed values.
      squashing_fn: as :func:`soft_sort`.
      max_iterations: Sinkhorn iteration cap (ott's default 2000).
      tolerance: Sinkhorn threshold (ott's default 1e-3).

    Returns:
      The quantized values, the shape of ``inputs``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([0.0, 0.5, 2.0, 2.5])
      >>> jaxloss.soft_quantize(x, num_levels=2, epsilon=1e-3).round(2)
      Array([0.25, 0.25, 2.25, 2.25], dtype=float32)

    References:
      Cuturi, Teboul & Vert 2019 (arXiv 1905.11885); ott-jax ``ott.tools.soft_sort.quantize``.
    """
    with calling("soft_quantize"):
        x, ax, eps = _prologue(inputs, axis, epsilon)
        n = x.shape[ax]
        if isinstance(num_levels, bool) or not isinstance(num_levels, int) or num_levels < 1:
            raise ValueError(f"soft_quantize: num_levels must be an int >= 1, got {num_levels!r}")
        a = jnp.full((n,), 1.0 / n, x.dtype)
        b = jnp.full((num_levels,), 1.0 / num_levels, x.dtype)

        def op(z):
            p = _coupling(z, a, b, eps, squashing_fn, max_iterations, tolerance)
            return (p @ ((z @ p) / b)) / a

        return _on_axis(op, x, ax)


def soft_quantile_normalization(
    inputs: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    axis: int = -1,
    epsilon: float | ArrayLike = 1e-2,
    squashing_fn: Squashing | None = None,
    max_iterations: int = 2000,
    tolerance: float = 1e-3,
) -> jax.Array:
    r"""Soft quantile normalization along ``axis`` (ott-jax ``tools.soft_sort.quantile_normalization``).

    Maps the inputs onto the discrete distribution of the sorted ``targets``
    :math:`y` (masses ``weights``, default uniform): the coupling :math:`P` from the
    squashed inputs to ``linspace(0, 1, T)`` with masses ``weights`` gives
    :math:`(P\,y) / a`, which preserves the order of the inputs and tends to
    "the value of ``targets`` at the input's quantile" as ``epsilon`` goes to 0.

    Args:
      inputs: an array of any shape (float).
      targets: ``[T]`` target values, sorted in increasing order (not checked).
      weights: ``[T]`` non-negative target masses summing to 1 (default ``1/T``).
      axis: the axis to normalize along (at least 2 entries).
      epsilon: entropic regularisation on the squashed values.
      squashing_fn: as :func:`soft_sort`.
      max_iterations: Sinkhorn iteration cap (ott's default 2000).
      tolerance: Sinkhorn threshold (ott's default 1e-3).

    Returns:
      The normalized values, the shape of ``inputs``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([0.3, -2.0, 5.0, 1.0])
      >>> y = jnp.array([10.0, 20.0, 30.0, 40.0])
      >>> jaxloss.soft_quantile_normalization(x, y, epsilon=1e-3).round(1)
      Array([20., 10., 40., 30.], dtype=float32)

    References:
      Cuturi, Teboul & Vert 2019 (arXiv 1905.11885); ott-jax
      ``ott.tools.soft_sort.quantile_normalization``.
    """
    with calling("soft_quantile_normalization"):
        x, ax, eps = _prologue(inputs, axis, epsilon)
        n = x.shape[ax]
        (y,) = upcast(targets, dtype=x.dtype)
        contracts.rank(y, 1, "targets")
        contracts.nonempty(y, "targets")
        if weights is None:
            b = jnp.full(y.shape, 1.0 / y.shape[0], x.dtype)
        else:
            (b,) = upcast(weights, dtype=x.dtype)
            contracts.same_shape(targets=y, weights=b)
        a = jnp.full((n,), 1.0 / n, x.dtype)

        def op(z):
            p = _coupling(z, a, b, eps, squashing_fn, max_iterations, tolerance)
            return (p @ y) / a

        return _on_axis(op, x, ax)


def _average_ranks(t: jax.Array) -> jax.Array:
    """0-based ranks with ties averaged (scipy ``rankdata(method="average") - 1``)."""
    less = jnp.sum(t[None, :] < t[:, None], axis=-1).astype(t.dtype)
    equal = jnp.sum(t[None, :] == t[:, None], axis=-1).astype(t.dtype)
    return less + 0.5 * (equal - 1.0)


def _pearson_loss(r: jax.Array, s: jax.Array) -> jax.Array:
    rc, sc = r - jnp.mean(r), s - jnp.mean(s)
    vr, vs = jnp.sum(rc * rc), jnp.sum(sc * sc)
    ok = (vr > 0) & (vs > 0)
    denom = safe_sqrt(jnp.where(ok, vr * vs, 1.0))
    loss = jnp.where(ok, 1.0 - jnp.sum(rc * sc) / denom, 0.0)
    return jnp.where(jnp.isnan(vr), jnp.nan, loss)  # a NaN prediction poisons its list


@register(_FAMILY, reference="Blondel et al. 2020 soft Spearman; ott.tools.soft_sort.ranks")
def spearman_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    epsilon: float | ArrayLike = 1e-2,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Soft Spearman loss: one minus the Pearson correlation of soft and true ranks.

    .. math::
       \ell = 1 - \mathrm{corr}\big(\mathrm{soft\_rank}_\varepsilon(\hat y),\ \mathrm{rank}(y)\big)

    per list along ``axis`` (Blondel et al. 2020's soft Spearman, with ott-jax's OT soft
    ranks of :func:`soft_rank`). Target ranks are the tie-averaged hard ranks (scipy
    ``rankdata``) and carry no gradient. It tends to ``1 - scipy.stats.spearmanr``
    as ``epsilon`` goes to 0 when ``predictions`` have no ties. A list whose
    predictions' soft ranks or targets are constant gives 0 with zero gradient.

    Args:
      predictions: ``[..., n]`` scores (``n >= 2`` along ``axis``).
      targets: ``[..., n]`` relevance values (float or integer), the same shape.
      epsilon: entropic regularisation of :func:`soft_rank`.
      axis: the list axis.
      weights: optional per-list weights (the shape without ``axis``).
      where: optional per-list boolean mask.
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (one value per list).

    Returns:
      A scalar, or one value per list for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([0.1, 0.9, 0.4])
      >>> round(float(jaxloss.spearman_loss(p, jnp.array([1.0, 3.0, 2.0]), epsilon=1e-3)), 3)
      0.0

    References:
      Blondel, Teboul, Berthet & Djolonga 2020, "Fast Differentiable Sorting and
      Ranking" (arXiv 2002.08871); Cuturi, Teboul & Vert 2019 (arXiv 1905.11885);
      ott-jax ``ott.tools.soft_sort.ranks``. Differences: Blondel et al. rank by
      isotonic regression (the ``fast-soft-sort`` package); this uses ott's OT ranks
      (ott's default squashing, Sinkhorn threshold 1e-3).
    """
    with calling("spearman_loss"):
        contracts.floating(predictions=predictions)
        contracts.same_shape(predictions=predictions, targets=targets)
        x, ax, eps = _prologue(predictions, axis, epsilon)
        (t,) = upcast(targets, dtype=x.dtype)
        soft = soft_rank(x, axis=ax, epsilon=eps)
        hard = _on_axis(_average_ranks, jax.lax.stop_gradient(t), ax)
        r, s = jnp.moveaxis(soft, ax, -1), jnp.moveaxis(hard, ax, -1)
        loss = jax.vmap(_pearson_loss)(r.reshape(-1, r.shape[-1]), s.reshape(-1, s.shape[-1]))
        loss = loss.reshape(r.shape[:-1])
        # NaN targets would only reorder the hard ranks: poison their list instead.
        loss = jnp.where(jnp.isnan(jnp.sum(jnp.moveaxis(t, ax, -1), axis=-1)), jnp.nan, loss)
        return reduce(loss, reduction, weights=weights, where=where)
