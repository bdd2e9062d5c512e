"""LambdaLoss (Wang et al. 2018) as sentence-transformers' CrossEncoder ``LambdaLoss``.

``scores`` and ``labels`` are ``[..., list_size]``: lists on the last axis, any
batch shape; ``where`` marks the valid items (sentence-transformers' ragged
lists, padded). The loss is a mean over the selected item pairs of the whole
batch; ``reduction="none"`` returns the ``[..., list_size, list_size]`` pair
matrix (item order, 0 at the pairs that are not selected).
"""

from __future__ import annotations

import math
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.lists import ranked_lists
from .._src.numerics import param
from .._src.reduce import reduce, sanitize
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._segments import ranks

__all__ = ["lambda_loss"]

_FAMILY = "ranking"

Weighting = Literal["ndcg_loss1", "ndcg_loss2", "lambdarank", "ndcg_loss2pp"]
_WEIGHTINGS = ("ndcg_loss1", "ndcg_loss2", "lambdarank", "ndcg_loss2pp")


@register(
    _FAMILY,
    reference="sentence_transformers.cross_encoder.losses.LambdaLoss (Wang et al. 2018)",
)
def lambda_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    weighting: Weighting | None = "ndcg_loss2pp",
    k: int | None = None,
    sigma: ArrayLike = 1.0,
    mu: ArrayLike = 10.0,
    eps: float = 1e-10,
    log_base: float = 2.0,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""LambdaLoss: metric-weighted pairwise logistic loss over the predicted ranking.

    Items are ranked by score (positions :math:`p_i = 1, 2, \dots`, ties in input
    order); with gains :math:`G_i = (2^{\max(y_i, 0)} - 1) / \max(\mathrm{IDCG@k}, \epsilon)`
    and discounts :math:`D_p = \log_2(1 + p)`:

    .. math::
       \ell = -\frac{1}{|P|} \sum_{(i, j) \in P}
              w_{ij} \log_b \sigma\bigl(\sigma_s (s_i - s_j)\bigr)

    over the pairs :math:`P` of valid items with :math:`y_i > y_j` (every valid
    pair for ``"ndcg_loss1"``) of which at least one is in the top ``k``, with
    :math:`w_{ij}` by ``weighting``: ``None``: 1; ``"ndcg_loss1"``:
    :math:`G_i / D_{p_i}`; ``"ndcg_loss2"``: :math:`|1/D_{|p_i - p_j|} - 1/D_{|p_i - p_j| + 1}|\,|G_i - G_j|`;
    ``"lambdarank"``: :math:`|1/D_{p_i} - 1/D_{p_j}|\,|G_i - G_j|`;
    ``"ndcg_loss2pp"``: :math:`\mu` ndcg_loss2 + lambdarank. The weights depend on
    the labels and the (integer) positions only.

    Args:
      scores: ``[..., list_size]`` item scores (the CrossEncoder logits).
      labels: ``[..., list_size]`` relevance labels (graded or binary).
      weighting: ``"ndcg_loss2pp"`` (default), ``"ndcg_loss2"``, ``"lambdarank"``,
        ``"ndcg_loss1"`` or ``None`` (unweighted).
      k: optional static cutoff (an integer >= 1) of NDCG@k; ``None`` uses every item.
      sigma: the score-difference scale :math:`\sigma_s` (> 0).
      mu: :math:`\mu` of ``"ndcg_loss2pp"`` (>= 0).
      eps: the floor of the ideal DCG (> 0).
      log_base: ``b``, 2 (ST ``reduction_log="binary"``, default) or ``math.e``
        (``"natural"``); any base > 0 other than 1.
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over the selected pairs of the whole batch, default),
        ``"sum"`` or ``"none"``.

    Returns:
      A scalar; for ``"none"`` the ``[..., list_size, list_size]`` pair losses in
      item order (0 at the pairs not selected).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.lambda_loss(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]), weighting=None)
      Array(1., dtype=float32)

    References:
      Wang et al., "The LambdaLoss Framework for Ranking Metric Optimization",
      CIKM 2018; sentence-transformers 6.3 CrossEncoder ``LambdaLoss`` (allRank),
      defaults mapped: ``weighting_scheme=NDCGLoss2PPScheme(mu=10)`` is
      ``weighting="ndcg_loss2pp", mu=10``, ``k=None``, ``sigma=1``, ``eps=1e-10``,
      ``reduction_log="binary"`` is ``log_base=2``; ``activation_fn`` and
      ``mini_batch_size`` are the model's side (apply the activation to the scores).
      Differences: ragged lists are padded and marked by ``where``; ties of
      scores are ranked in input order (torch's descending sort does not
      promise an order); score differences are clamped at :math:`\pm 10^8` as
      ST, but a NaN difference is not zeroed (it propagates).
    """
    if weighting is not None and weighting not in _WEIGHTINGS:
        raise ValueError(
            f"lambda_loss: weighting must be one of {_WEIGHTINGS} or None, got {weighting!r}"
        )
    if k is not None and (not isinstance(k, (int, np.integer)) or isinstance(k, bool)):
        raise TypeError(f"lambda_loss: k must be an int or None, got {k!r}")
    contracts.bounded(k, "k", ge=1)
    contracts.bounded(sigma, "sigma", gt=0)
    contracts.bounded(mu, "mu", ge=0)
    contracts.bounded(eps, "eps", gt=0)
    contracts.bounded(log_base, "log_base", gt=0)
    if log_base == 1:
        raise ValueError("lambda_loss: log_base must not be 1")
    s, y, mask, _ = ranked_lists(scores, labels, weights=None, where=where)
    valid = jnp.ones(s.shape, bool) if mask is None else mask
    s, y = sanitize(s, mask), sanitize(y, mask)
    n = s.shape[-1]
    cut = n if k is None else min(int(k), n)
    # Positions by score and ideal positions by label (1-based; invalid items last).
    pos = ranks(s, mask, None).astype(s.dtype)
    ideal_pos = ranks(y, mask, None).astype(s.dtype)
    raw_gain = jnp.where(valid, jnp.exp2(jnp.maximum(y, 0)) - 1, 0)
    ideal = jnp.sum(jnp.where(ideal_pos <= cut, raw_gain / jnp.log2(1 + ideal_pos), 0), axis=-1)
    gain = raw_gain / jnp.maximum(ideal, eps)[..., None]
    inv_disc = 1 / jnp.log2(1 + pos)
    gain_diff = jnp.abs(gain[..., :, None] - gain[..., None, :])
    dist = jnp.abs(pos[..., :, None] - pos[..., None, :])
    safe = jnp.where(dist == 0, 1, dist)
    ndcg2 = (
        jnp.where(dist == 0, 0, jnp.abs(1 / jnp.log2(1 + safe) - 1 / jnp.log2(2 + safe)))
        * gain_diff
    )
    lambdarank = jnp.abs(inv_disc[..., :, None] - inv_disc[..., None, :]) * gain_diff
    if weighting is None:
        w = jnp.ones_like(gain_diff)
    elif weighting == "ndcg_loss1":
        w = jnp.broadcast_to((gain * inv_disc)[..., :, None], gain_diff.shape)
    elif weighting == "ndcg_loss2":
        w = ndcg2
    elif weighting == "lambdarank":
        w = lambdarank
    else:
        w = param(mu, s.dtype) * ndcg2 + lambdarank
    selected = valid[..., :, None] & valid[..., None, :]
    if weighting != "ndcg_loss1":
        selected = selected & (y[..., :, None] > y[..., None, :])
    selected = selected & ((pos[..., :, None] <= cut) | (pos[..., None, :] <= cut))
    diff = jnp.clip(s[..., :, None] - s[..., None, :], -1e8, 1e8)
    pair = -w * jax.nn.log_sigmoid(param(sigma, s.dtype) * diff) / math.log(log_base)
    return reduce(pair, reduction, valid=selected)
