"""Sparsemax loss (the Fenchel--Young loss of the Gini entropy), binary or multiclass."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._src.reduce import reduce
from .._src.registry import register
from .._src.scores import binary_scores, class_scores, is_class_indices, take
from .._src.types import ArrayLike, Reduction

__all__ = ["sparsemax_loss"]

_FAMILY = "classification"


@jax.custom_jvp
def _sparsemax(z: jax.Array) -> jax.Array:
    """Euclidean projection of ``z`` onto the simplex along the last axis (sort-based)."""
    desc = -jnp.sort(-z, axis=-1)
    cumsum = jnp.cumsum(desc, axis=-1)
    k = jax.lax.broadcasted_iota(z.dtype, z.shape, z.ndim - 1) + 1
    support = 1 + k * desc > cumsum
    size = jnp.sum(support, axis=-1, keepdims=True, dtype=jnp.int32)  # >= 1: the top is always in
    tau = (jnp.take_along_axis(cumsum, size - 1, axis=-1) - 1) / size.astype(z.dtype)
    return jnp.maximum(z - tau, 0)


@_sparsemax.defjvp
def _sparsemax_jvp(primals, tangents):
    (z,), (dz,) = primals, tangents
    p = _sparsemax(z)
    # Jacobian diag(S) - S S^T / |S| on the support S (Martins & Astudillo 2016, eq. 12).
    on = (p > 0).astype(z.dtype)
    mean = jnp.sum(on * dz, axis=-1, keepdims=True) / jnp.sum(on, axis=-1, keepdims=True)
    return p, on * (dz - mean)


@register(_FAMILY, reference="optax.losses.sparsemax_loss; optax.losses.multiclass_sparsemax_loss",
          aliases=("sparsemax",))
def sparsemax_loss(
    logits: ArrayLike, labels: ArrayLike, *,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Sparsemax loss (Fenchel--Young loss of the Gini entropy), binary or multiclass.

    .. math::
       \ell_\text{multiclass}(s, y) = \langle p, s \rangle - s_y
       + \tfrac12 (1 - \lVert p \rVert^2), \qquad p = \mathrm{sparsemax}(s)

    .. math::
       \ell_\text{binary}(x, y) = \mathrm{sparseplus}(-x)\ (y = 1), \quad
       \mathrm{sparseplus}(x)\ (y = 0)

    with :math:`\mathrm{sparseplus}(x) = \max(0, \min(x, (x + 1)^2 / 4))`
    (0 below -1, :math:`x` above 1). The loss is zero iff the prediction
    (``sparsemax`` / ``sparse_sigmoid``) equals the label. Its gradient is
    :math:`p - e_y` (``sparse_sigmoid(x) - y``); the projection is sort-based
    with a closed-form JVP.

    Dispatch as in :func:`perceptron_loss`: **integer** ``labels`` with one axis
    fewer than ``logits`` are class indices over the last axis (optax
    ``multiclass_sparsemax_loss``, which accepts only ``[N, C]``; any leading
    shape here); otherwise ``labels`` have the shape of ``logits`` and are
    binary (optax ``sparsemax_loss``): labels ``> 0`` are positive (``{0, 1}``
    or ``{-1, +1}``; soft labels are not supported).

    Args:
      logits: floating scores; ``[..., C]`` for the multiclass form.
      labels: binary labels with the shape of ``logits``, or ``[...]`` integer
        class indices in ``[0, C)``.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask with the shape of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; for ``"none"`` the elementwise loss
      (binary) or ``labels.shape`` (multiclass; out-of-range labels raise
      ``ValueError`` eagerly and give NaN under ``jit``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.sparsemax_loss(jnp.array([[2.0, 1.5, -1.0]]), jnp.array([1]))
      Array(0.5625, dtype=float32)
      >>> jaxloss.sparsemax_loss(jnp.array([0.0, 2.0]), jnp.array([1.0, 0.0]), reduction="none")
      Array([0.25, 2.  ], dtype=float32)

    References:
      Martins & Astudillo, `From Softmax to Sparsemax
      <https://arxiv.org/abs/1602.02068>`_, ICML 2016; Blondel et al.,
      `Learning with Fenchel-Young Losses <https://arxiv.org/abs/1901.02324>`_,
      JMLR 2020; optax ``sparsemax_loss`` and ``multiclass_sparsemax_loss``.
    """
    if is_class_indices(logits, labels):
        c = class_scores(logits, labels, axis=None, where=where, integer_only=True)
        s = c.logits
        prob = _sparsemax(s)
        loss = jnp.sum(prob * s, axis=-1) - take(s, c.labels) + 0.5 * (1 - jnp.sum(prob * prob, -1))
        loss = c.poisoned(loss)
    else:
        c = binary_scores(logits, labels, where=where, signed=True, hint=(
            "binary labels have the shape of logits; integer class labels have "
            "logits.shape without the last axis"))
        loss = jax.nn.sparse_plus(-c.labels * c.logits)
    return reduce(loss, reduction, weights=weights, where=c.where)
