"""SwAV: Sinkhorn-Knopp equipartition codes and the swapped-prediction loss.

:func:`sinkhorn_knopp` is an operator (it returns codes, not a loss), so it is a public
utility and not a registered loss, as the soft-sort operators are (API.md 3.F). It is
shared by :func:`swav_loss` and DINOv2's ``centering="sinkhorn_knopp"`` in
:func:`~jaxloss.dino_loss`.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.distributed import global_reduce
from .._src.numerics import param, upcast
from .._src.reduce import check_reduction
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["sinkhorn_knopp", "swav_loss"]


def check_iterations(value: int, what: str) -> None:
    """A static iteration count: a Python ``int >= 0`` (shared with ``dino_loss``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{contracts.function_name()}: {what} must be an int >= 0, got {value!r}")


def _global_logsumexp(x: jax.Array, axis: int | None, axis_name: str | None) -> jax.Array:
    """``logsumexp`` over ``axis`` of the array concatenated over ``axis_name`` along ``axis``
    (``axis=None``: over every entry of every device). Keeps the reduced axes (size 1)."""
    keep = tuple(range(x.ndim)) if axis is None else (axis,)
    peak = jnp.max(x, axis=keep, keepdims=True)
    if axis_name is not None:
        peak = jax.lax.pmax(peak, axis_name)
    peak = jnp.where(jnp.isfinite(peak), peak, jnp.zeros((), x.dtype))
    total = jnp.sum(jnp.exp(x - peak), axis=keep, keepdims=True)
    if axis_name is not None:
        total = jax.lax.psum(total, axis_name)
    return peak + jnp.log(total)


def _sinkhorn_log_codes(
    scores: jax.Array, epsilon: jax.Array, num_iterations: int, axis_name: str | None
) -> jax.Array:
    """``log`` of the SwAV codes ``[B, K]`` (no checks, no stop_gradient)."""
    n, k = scores.shape
    n_total = n if axis_name is None else n * jax.lax.psum(1, axis_name)
    log_k = jnp.log(jnp.asarray(k, scores.dtype))
    log_n = jnp.log(jnp.asarray(n_total, scores.dtype))
    # SwAV's Q is K-by-B; here it is kept B-by-K: its "rows" (prototypes) are axis 1.
    log_q = scores / epsilon
    log_q = log_q - _global_logsumexp(log_q, None, axis_name)

    def normalise(_, log_q):
        # Each prototype gets total mass 1/K (a sum over the global batch)...
        log_q = log_q - _global_logsumexp(log_q, 0, axis_name) - log_k
        # ...then each sample gets total mass 1/B (a sum over the prototypes).
        return log_q - jax.nn.logsumexp(log_q, axis=1, keepdims=True) - log_n

    # A loop, not an unrolled graph: the codes carry no gradient.
    log_q = jax.lax.fori_loop(0, num_iterations, normalise, log_q)
    return log_q + log_n


def sinkhorn_knopp(
    scores: ArrayLike,
    *,
    epsilon: ArrayLike = 0.05,
    num_iterations: int = 3,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Equipartitioned soft assignments of samples to prototypes (SwAV's Sinkhorn-Knopp).

    With :math:`S \in \mathbb{R}^{B \times K}` the scores of :math:`B` samples (global
    batch) against :math:`K` prototypes, start from :math:`Q = \exp(S/\epsilon)`
    normalised to total mass 1, then repeat ``num_iterations`` times

    .. math::
       Q_{bk} \leftarrow \frac{Q_{bk}}{K \sum_{b'} Q_{b'k}}, \qquad
       Q_{bk} \leftarrow \frac{Q_{bk}}{B \sum_{k'} Q_{bk'}}

    (every prototype gets mass :math:`1/K`, then every sample :math:`1/B`), and return
    :math:`B\,Q`: each sample's code sums to 1. As the iterations grow, :math:`Q` tends
    to the entropic optimal transport plan between uniform marginals for the cost
    :math:`-S` at regularisation :math:`\epsilon`.

    Args:
      scores: ``[batch, prototypes]`` floating scores (SwAV: prototype logits of the
        normalised features; DINOv2: teacher logits, with ``epsilon`` the teacher
        temperature).
      epsilon: :math:`\epsilon > 0`, the entropic regularisation (SwAV ``--epsilon``);
        float or traced array.
      num_iterations: rounds of row and column normalisation (SwAV
        ``--sinkhorn_iterations``, default 3); static.
      axis_name: under ``shard_map``/``pmap``, the batch is sharded over this axis: the
        sums over samples are ``psum``-ed and :math:`B` is the global batch, so each
        device returns its rows of the codes of the concatenated batch.

    Returns:
      The ``[batch, prototypes]`` codes (rows sum to 1) under ``stop_gradient`` (they
      are targets), float32 for half inputs.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> codes = jaxloss.sinkhorn_knopp(jnp.array([[1.0, 0.0], [0.9, 0.1]]), epsilon=1.0)
      >>> codes.sum(axis=1)
      Array([1., 1.], dtype=float32)

    References:
      M. Caron et al., "Unsupervised Learning of Visual Features by Contrasting Cluster
      Assignments" (SwAV), NeurIPS 2020, https://arxiv.org/abs/2006.09882;
      facebookresearch/swav ``main_swav.py::distributed_sinkhorn`` (and DINOv2's
      ``sinkhorn_knopp_teacher``). Deliberate differences: the iterations run in log
      space (``logsumexp``), where SwAV's ``exp(scores / epsilon)`` overflows float32
      once ``|scores| / epsilon > 88``; the result is otherwise the same.
    """
    with contracts.calling("sinkhorn_knopp"):
        contracts.rank(scores, 2, "scores", "[batch, prototypes]")
        contracts.floating(scores=scores)
        contracts.bounded(epsilon, "epsilon", gt=0)
        check_iterations(num_iterations, "num_iterations")
        (s,) = upcast(scores)
        s = jax.lax.stop_gradient(s)
        log_codes = _sinkhorn_log_codes(
            s, param(jax.lax.stop_gradient(epsilon), s.dtype), num_iterations, axis_name
        )
        return jax.lax.stop_gradient(jnp.exp(log_codes))


def _check_crops(crops_for_assign: Sequence[int], n_crops: int) -> tuple[int, ...]:
    crops = tuple(crops_for_assign)
    if not crops or any(
        isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < n_crops for c in crops
    ):
        raise ValueError(
            f"swav_loss: crops_for_assign must be a non-empty sequence of crop indices in "
            f"[0, {n_crops}) (scores has {n_crops} crops), got {crops_for_assign!r}"
        )
    return crops


@register("self_supervised", reference="facebookresearch/swav main_swav.py (Caron et al. 2020)")
def swav_loss(
    scores: ArrayLike,
    *,
    temperature: ArrayLike = 0.1,
    epsilon: ArrayLike = 0.05,
    sinkhorn_iterations: int = 3,
    crops_for_assign: Sequence[int] = (0, 1),
    queue_scores: ArrayLike | None = None,
    axis_name: str | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""SwAV: predict the Sinkhorn code of one crop from the scores of every other crop.

    ``scores[v]`` are the prototype scores of crop :math:`v` (of :math:`V` crops). For each
    crop :math:`i` in ``crops_for_assign``, its codes are
    :math:`q^{(i)} = \text{sinkhorn\_knopp}([\text{queue}_i; S_i])` restricted to the
    batch rows (the queue only enlarges the transport problem), and

    .. math::
       \ell_b = \frac{1}{|A|\,(V - 1)} \sum_{i \in A} \sum_{v \ne i}
       -\sum_k q^{(i)}_{bk} \log \operatorname{softmax}(S_{v,b} / \tau)_k

    The codes carry no gradient.

    Args:
      scores: ``[n_crops, batch, prototypes]`` floating scores (prototype logits of the
        L2-normalised features), crops in SwAV's order (the chunks of its ``output``).
      temperature: :math:`\tau > 0` of the student softmax (SwAV ``--temperature``);
        float or traced array.
      epsilon: :math:`\epsilon > 0` of :func:`~jaxloss.sinkhorn_knopp` (SwAV
        ``--epsilon``); float or traced array.
      sinkhorn_iterations: Sinkhorn rounds (SwAV ``--sinkhorn_iterations``); static.
      crops_for_assign: the crops whose codes are targets (SwAV ``--crops_for_assign``);
        static, distinct indices into ``n_crops``.
      queue_scores: optional ``[len(crops_for_assign), queue, prototypes]`` scores of the
        queued features of each assigned crop against the current prototypes (SwAV's
        ``queue[i] @ prototypes.T``); they enter the Sinkhorn problem only. Filling and
        starting the queue are the caller's.
      axis_name: under ``shard_map``/``pmap``: Sinkhorn sums over the global batch (and
        queues), and ``"mean"``/``"sum"`` are global.
      weights: optional weights broadcastable to ``[batch]``.
      where: optional boolean ``[batch]`` mask (the codes still use every sample).
      reduction: ``"mean"`` (default, SwAV's), ``"sum"`` or ``"none"`` (``[batch]``
        per-sample terms).

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[batch]`` per-sample terms for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([[[1.0, 0.0], [0.0, 1.0]], [[0.8, 0.1], [0.2, 0.9]]])
      >>> jaxloss.swav_loss(s)
      Array(0.000494..., dtype=float32)

    References:
      M. Caron et al., "Unsupervised Learning of Visual Features by Contrasting Cluster
      Assignments" (SwAV), NeurIPS 2020, https://arxiv.org/abs/2006.09882;
      facebookresearch/swav ``main_swav.py`` (the ``swav loss`` block of ``train``:
      ``loss += subloss / (sum(nmb_crops) - 1)``, then ``loss /= len(crops_for_assign)``),
      with SwAV's defaults ``temperature=0.1``, ``epsilon=0.05``, three iterations and
      ``crops_for_assign=(0, 1)``. Deliberate differences: the Sinkhorn step runs in log
      space (see :func:`~jaxloss.sinkhorn_knopp`); the queue is passed in (its scores),
      and SwAV's "use the queue only once it is full" switch is the caller's.
    """
    check_reduction(reduction)
    contracts.rank(scores, 3, "scores", "[n_crops, batch, prototypes]")
    contracts.floating(scores=scores, queue_scores=queue_scores)
    n_crops, batch, k = jnp.shape(scores)
    if n_crops < 2:
        raise ValueError(
            f"swav_loss: scores needs at least 2 crops, got shape {tuple(jnp.shape(scores))}"
        )
    crops = _check_crops(crops_for_assign, n_crops)
    contracts.bounded(temperature, "temperature", gt=0)
    contracts.bounded(epsilon, "epsilon", gt=0)
    if queue_scores is not None:
        contracts.shape_is(
            queue_scores, (len(crops), None, k), "queue_scores", like={"scores": scores}
        )
    check_iterations(sinkhorn_iterations, "sinkhorn_iterations")
    s, queue = upcast(scores, queue_scores)
    tau = param(temperature, s.dtype)
    log_p = jax.nn.log_softmax(s / tau, axis=-1)  # [n_crops, batch, K]
    eps = param(jax.lax.stop_gradient(epsilon), s.dtype)
    total = jnp.zeros((batch,), s.dtype)
    for i, crop in enumerate(crops):
        target = s[crop] if queue is None else jnp.concatenate([queue[i], s[crop]])
        target = jax.lax.stop_gradient(target)
        q = jnp.exp(_sinkhorn_log_codes(target, eps, sinkhorn_iterations, axis_name))[-batch:]
        q = jax.lax.stop_gradient(q)
        others = jnp.asarray([v for v in range(n_crops) if v != crop])
        total = total - jnp.sum(q[None] * log_p[others], axis=(0, 2))
    loss = total / ((n_crops - 1) * len(crops))
    return global_reduce(loss, reduction, axis_name, weights=weights, where=where)
