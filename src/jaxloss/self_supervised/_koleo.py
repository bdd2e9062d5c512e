"""The KoLeo regulariser of DINOv2 (Kozachenko-Leonenko differential-entropy estimate)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.embeddings import check_rows
from .._src.numerics import param, safe_norm, upcast
from .._src.reduce import check_reduction, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["koleo_loss"]

# torch nn.PairwiseDistance(2, eps=1e-8), as DINOv2 builds it.
_PAIRWISE_EPS = 1e-8


@register("self_supervised", reference="DINOv2 KoLeoLoss (Sablayrolles et al. 2019)")
def koleo_loss(
    embeddings: ArrayLike,
    *,
    eps: float = 1e-8,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""KoLeo: spread a batch out by pushing each point away from its nearest neighbour.

    Rows are L2-normalised, :math:`x_i \leftarrow x_i / \max(\lVert x_i\rVert,
    \epsilon)`; :math:`\text{nn}(i)` is the row :math:`j \ne i` with the largest dot
    product :math:`x_i \cdot x_j`, and

    .. math::
       \mathcal{L}_i = -\log\big(\lVert x_i - x_{\text{nn}(i)} + \epsilon\rVert + \epsilon\big)

    where the :math:`\epsilon` inside the norm is always ``1e-8`` (torch
    ``PairwiseDistance(eps=1e-8)``, fixed in DINOv2) and ``eps`` sets the other two.
    The neighbour index carries no gradient (it is an ``argmax``). Two identical rows
    give :math:`-\log(10^{-8}\sqrt{D} + \epsilon)`: large but finite.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings (batch >= 2).
      eps: :math:`\epsilon > 0`, the floor of the normalisation and the shift of the
        logarithm (DINOv2's ``forward(..., eps=1e-8)``).
      weights: optional per-row weights broadcastable to ``[batch]``.
      where: optional boolean ``[batch]`` mask of the rows' terms (a masked row is
        still a candidate neighbour of the others).
      reduction: ``"mean"`` (default, DINOv2's), ``"sum"`` or ``"none"`` (the
        ``[batch]`` per-row terms).

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[batch]`` per-row terms for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
      >>> jaxloss.koleo_loss(x)
      Array(-0.3465..., dtype=float32)

    References:
      A. Sablayrolles et al., "Spreading vectors for similarity search", ICLR 2019,
      https://arxiv.org/abs/1806.03198; M. Oquab et al., DINOv2, 2023,
      ``dinov2/loss/koleo_loss.py`` (``KoLeoLoss``), per device (DINOv2 does not
      gather). Deliberate differences: the self-similarity is excluded with
      :math:`-\infty` where DINOv2 writes :math:`-1` on the diagonal (they differ only
      when every other row is at dot product :math:`\le -1`, e.g. two antipodal rows,
      where DINOv2 may pick the row itself); ties between neighbours pick the first
      index, as ``jnp.argmax``.
    """
    check_reduction(reduction)
    check_rows(embeddings, "embeddings")
    contracts.nonempty(embeddings, "embeddings", minimum=2, hint="each row needs a neighbour")
    contracts.bounded(eps, "eps", gt=0)
    (x,) = upcast(embeddings)
    e = param(eps, x.dtype)
    x = x / jnp.maximum(safe_norm(x, keepdims=True), e)
    dots = jax.lax.stop_gradient(jnp.matmul(x, x.T, precision="highest"))
    n = x.shape[0]
    dots = jnp.where(jnp.eye(n, dtype=bool), -jnp.inf, dots)
    neighbour = jnp.argmax(dots, axis=1)
    distance = safe_norm(x - x[neighbour] + _PAIRWISE_EPS)
    loss = -jnp.log(distance + e)
    return reduce(loss, reduction, weights=weights, where=where)
