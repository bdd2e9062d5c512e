"""Pointwise-pair ranking losses: BPR, and the margin ranking loss re-exported.

The list-based losses live beside this module: ``_pairwise`` (pair losses),
``_listwise`` (softmax-type list losses), ``_approx`` (approximate metrics)
and ``_lambdaweights``.
"""

from __future__ import annotations

import jax

from .._src.elementwise import elementwise
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ..embedding import margin_ranking_loss

__all__ = ["bpr_loss", "margin_ranking_loss"]

_FAMILY = "ranking"


@register(_FAMILY, reference="Rendle et al. 2009, arXiv:1205.2618 (BPR)")
def bpr_loss(
    positive_scores: ArrayLike,
    negative_scores: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Bayesian personalised ranking: a positive item should outscore a negative one.

    .. math:: \ell = -\log \sigma(s^+ - s^-) = \operatorname{softplus}(s^- - s^+)

    Args:
      positive_scores: scores of observed items, any shape.
      negative_scores: scores of sampled negatives, same shape.
      weights: optional weights broadcastable to the scores.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (elementwise).

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.bpr_loss(jnp.array([2.0, 0.0]), jnp.array([0.0, 0.0]), reduction="none")
      Array([0.126928 , 0.6931472], dtype=float32)

    References:
      Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit
      Feedback", UAI 2009, https://arxiv.org/abs/1205.2618.
    """
    return elementwise(
        lambda pos, neg: jax.nn.softplus(neg - pos),
        positive_scores,
        negative_scores,
        weights=weights,
        where=where,
        reduction=reduction,
        names=("positive_scores", "negative_scores"),
    )
