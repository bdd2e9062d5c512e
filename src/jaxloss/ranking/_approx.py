"""Approximate-metric ranking losses with rax semantics (``rax.approx_t12n``).

``scores`` and ``labels`` are ``[..., list_size]``: lists on the last axis, any
batch shape; ``where``, ``weights`` and ``segments`` are per item, as in rax.
Ranks are replaced by the smooth ranks ``1 + sum_j sigmoid((s_j - s_i) / T)``
over the other valid items of the same list (segment). ``reduction="none"``
returns one value per list (``[...]``), or with ``segments`` ``[..., list_size]``
with each segment's value on its first valid item.
"""

from __future__ import annotations

import jax

from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._metrics import approx_metric_loss

__all__ = ["approx_ndcg_loss"]

_FAMILY = "ranking"


@register(
    _FAMILY,
    reference="rax.approx_t12n(rax.ndcg_metric) (Qin et al. 2010)",
    aliases=("approx_ndcg",),
)
def approx_ndcg_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    temperature: ArrayLike = 1.0,
    segments: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Negative ApproxNDCG: NDCG with ranks replaced by a sigmoid approximation.

    .. math::
       \hat\pi_i = 1 + \sum_{j \ne i} \sigma\!\left(\frac{s_j - s_i}{T}\right),\quad
       \ell = -\frac{\sum_i (2^{y_i} - 1) / \log_2(1 + \hat\pi_i)}{\mathrm{IDCG}(y)}

    Lists whose ideal DCG is 0 (no relevant item) score 0. This is
    :func:`~jaxloss.approx_metric_loss` with ``metric="ndcg"``.

    Args:
      scores: ``[..., list_size]`` item scores.
      labels: ``[..., list_size]`` relevance labels (graded or binary).
      temperature: ``T``; smaller is closer to the true ranks.
      segments: optional ``[..., list_size]`` integer segment ids: several lists
        packed along the list axis, each ranked on its own.
      weights: optional ``[..., list_size]`` item weights (rax semantics).
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over lists or segments, default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar; for ``"none"`` ``[...]`` (one value per list), or ``[..., list_size]``
      with ``segments`` (each segment's value on its first valid item, 0 elsewhere).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.approx_ndcg_loss(jnp.array([10.0, -10.0]), jnp.array([1.0, 0.0]))
      Array(-1., dtype=float32)

    References:
      Qin, Liu & Li, "A general approximation framework for direct optimization
      of information retrieval measures", 2010; rax ``approx_t12n(ndcg_metric)``.
    """
    return approx_metric_loss(
        scores,
        labels,
        metric="ndcg",
        temperature=temperature,
        segments=segments,
        weights=weights,
        where=where,
        reduction=reduction,
    )
