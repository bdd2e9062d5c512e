"""Non-contrastive two-view losses: VICReg and Barlow Twins (single-device form).

Both compare two batches of embeddings of the same images under two augmentations,
``z1`` and ``z2`` (``[batch, dim]``), through batch statistics: per-feature variances
and the feature covariance (VICReg) or cross-correlation (Barlow Twins). They have no
per-example decomposition: ``reduction="none"`` returns the scalar too, and
``weights``/``where`` act on that scalar (broadcastable to ``()``).
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.embeddings import check_rows
from .._src.numerics import param, safe_sqrt, upcast
from .._src.reduce import check_reduction, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["barlow_twins_loss", "vicreg_loss"]

Normalization = Literal["batchnorm", "monai"]


def _views(z1: ArrayLike, z2: ArrayLike) -> tuple[jax.Array, jax.Array]:
    """Checks the two views (floating ``[batch, dim]``, same shape, batch >= 2) and upcasts."""
    check_rows(z1, "z1")
    check_rows(z2, "z2")
    contracts.same_shape("row i of z2 is the second view of row i of z1", z1=z1, z2=z2)
    contracts.nonempty(z1, "z1", minimum=2, hint="batch statistics need two rows")
    return upcast(z1, z2)


def _off_diagonal_sum_of_squares(c: jax.Array) -> jax.Array:
    off = ~jnp.eye(c.shape[0], dtype=bool)
    return jnp.sum(jnp.where(off, jnp.square(c), jnp.zeros((), c.dtype)))


@register(
    "self_supervised", reference="PML VICRegLoss / facebookresearch/vicreg (Bardes et al. 2022)"
)
def vicreg_loss(
    z1: ArrayLike,
    z2: ArrayLike,
    *,
    invariance_weight: ArrayLike = 25.0,
    variance_weight: ArrayLike = 25.0,
    covariance_weight: ArrayLike = 1.0,
    eps: float = 1e-4,
    return_aux: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
    r"""VICReg: variance-invariance-covariance regularisation of two views.

    .. math::
       \mathcal{L} = \lambda\,\frac{1}{ND}\lVert Z_1 - Z_2\rVert_F^2
       + \mu\,\tfrac12\big[v(Z_1) + v(Z_2)\big] + \nu\,\big[c(Z_1) + c(Z_2)\big]

    with :math:`v(Z) = \frac1D\sum_d \max(0, 1 - \sqrt{\operatorname{Var}(Z_{:,d}) +
    \epsilon})` (unbiased variance over the batch) and :math:`c(Z) = \frac1D
    \sum_{d \ne d'} C(Z)_{dd'}^2`, :math:`C(Z)` the feature covariance divided by
    :math:`N - 1`.

    Args:
      z1: ``[batch, dim]`` floating embeddings of the first view (batch >= 2).
      z2: ``[batch, dim]`` embeddings of the second view, same shape.
      invariance_weight: :math:`\lambda \ge 0` (PML ``invariance_lambda``); float or
        traced array.
      variance_weight: :math:`\mu \ge 0` (PML ``variance_mu``); float or traced array.
      covariance_weight: :math:`\nu \ge 0` (PML ``covariance_v``); float or traced
        array.
      eps: :math:`\epsilon > 0` inside the square root of the variance (keeps the
        standard deviation and its gradient finite for a constant feature).
      return_aux: also return a dict of the three weighted terms ``"invariance"``,
        ``"variance"``, ``"covariance"`` (under ``stop_gradient``; they sum to the
        loss before ``weights``/``where``).
      weights: optional weight of the batch loss (broadcastable to ``()``).
      where: optional boolean ``()`` mask of the batch loss.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``: all three give the
        batch's scalar.

    Returns:
      The scalar loss, or ``(loss, aux)`` with ``return_aux=True``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> z = jnp.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.0], [0.0, -2.0]])
      >>> jaxloss.vicreg_loss(z, z)
      Array(0., dtype=float32)

    References:
      A. Bardes, J. Ponce, Y. LeCun, "VICReg: Variance-Invariance-Covariance
      Regularization for Self-Supervised Learning", ICLR 2022,
      https://arxiv.org/abs/2105.04906; pytorch-metric-learning
      ``VICRegLoss(invariance_lambda=25, variance_mu=25, covariance_v=1, eps=1e-4)``
      called as ``loss(z1, ref_emb=z2)``, and facebookresearch/vicreg ``main_vicreg.py``
      (the same terms). Deliberate differences: none in the value; PML returns the
      terms to its reducer, here they are summed (and offered in ``aux``).
    """
    check_reduction(reduction)
    for value, what in (
        (invariance_weight, "invariance_weight"),
        (variance_weight, "variance_weight"),
        (covariance_weight, "covariance_weight"),
    ):
        contracts.bounded(value, what, ge=0)
    contracts.bounded(eps, "eps", gt=0)
    x, y = _views(z1, z2)
    n, d = x.shape
    invariance = jnp.mean(jnp.square(x - y))

    def variance(z):
        std = safe_sqrt(jnp.var(z, axis=0, ddof=1) + param(eps, z.dtype))
        return jnp.mean(jax.nn.relu(1.0 - std))

    def covariance(z):
        zc = z - jnp.mean(z, axis=0, keepdims=True)
        cov = jnp.matmul(zc.T, zc, precision="highest") / (n - 1)
        return _off_diagonal_sum_of_squares(cov) / d

    terms = {
        "invariance": param(invariance_weight, x.dtype) * invariance,
        "variance": param(variance_weight, x.dtype) * 0.5 * (variance(x) + variance(y)),
        "covariance": param(covariance_weight, x.dtype) * (covariance(x) + covariance(y)),
    }
    loss = reduce(
        terms["invariance"] + terms["variance"] + terms["covariance"],
        reduction,
        weights=weights,
        where=where,
    )
    if return_aux:
        return loss, jax.lax.stop_gradient(terms)
    return loss


@register(
    "self_supervised",
    reference="facebookresearch/barlowtwins main.py; MONAI BarlowTwinsLoss (Zbontar et al. 2021)",
)
def barlow_twins_loss(
    z1: ArrayLike,
    z2: ArrayLike,
    *,
    lambd: ArrayLike = 0.0051,
    normalization: Normalization = "batchnorm",
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Barlow Twins: drive the cross-correlation of two views to the identity.

    .. math::
       C = \tfrac1N\,\hat Z_1^\top \hat Z_2, \qquad
       \mathcal{L} = \sum_i (C_{ii} - 1)^2 + \lambda \sum_{i \ne j} C_{ij}^2

    where :math:`\hat Z` standardises each feature over the batch:

    - ``normalization="batchnorm"`` (the paper's ``nn.BatchNorm1d(affine=False)``):
      :math:`(z - \bar z)/\sqrt{\operatorname{Var}_{\text{biased}}(z) + 10^{-5}}`;
    - ``normalization="monai"`` (MONAI ``BarlowTwinsLoss``):
      :math:`(z - \bar z)/(\operatorname{std}_{\text{unbiased}}(z) + 10^{-6})`. MONAI's
      default is ``lambd=0.005``.

    Args:
      z1: ``[batch, dim]`` floating embeddings of the first view (batch >= 2).
      z2: ``[batch, dim]`` embeddings of the second view, same shape.
      lambd: :math:`\lambda \ge 0`, the weight of the redundancy (off-diagonal) term;
        float or traced array.
      normalization: ``"batchnorm"`` (default) or ``"monai"``, as above.
      weights: optional weight of the batch loss (broadcastable to ``()``).
      where: optional boolean ``()`` mask of the batch loss.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``: all three give the
        batch's scalar.

    Returns:
      The scalar loss.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> z = jnp.array([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])
      >>> jaxloss.barlow_twins_loss(z, -z)
      Array(7.99..., dtype=float32)

    References:
      J. Zbontar et al., "Barlow Twins: Self-Supervised Learning via Redundancy
      Reduction", ICML 2021, https://arxiv.org/abs/2103.03230; facebookresearch/barlowtwins
      ``main.py`` (``BarlowTwins.forward``: ``bn(z1).T @ bn(z2)``, divided by the batch
      size, ``on_diag + lambd * off_diag``) and MONAI ``BarlowTwinsLoss(lambd=0.005)``.
      Deliberate differences: the projector is the caller's, so ``z1``/``z2`` are its
      outputs; a constant feature has a zero (finite) gradient through its standard
      deviation, where MONAI's ``std`` gives NaN.
    """
    contracts.choice(normalization, ("batchnorm", "monai"), "normalization")
    check_reduction(reduction)
    contracts.bounded(lambd, "lambd", ge=0)
    x, y = _views(z1, z2)
    n = x.shape[0]

    def standardise(z):
        centred = z - jnp.mean(z, axis=0, keepdims=True)
        if normalization == "batchnorm":
            return centred / jnp.sqrt(jnp.var(z, axis=0, keepdims=True) + 1e-5)
        return centred / (safe_sqrt(jnp.var(z, axis=0, ddof=1, keepdims=True)) + 1e-6)

    c = jnp.matmul(standardise(x).T, standardise(y), precision="highest") / n
    on_diagonal = jnp.sum(jnp.square(jnp.diagonal(c) - 1.0))
    loss = on_diagonal + param(lambd, x.dtype) * _off_diagonal_sum_of_squares(c)
    return reduce(loss, reduction, weights=weights, where=where)
