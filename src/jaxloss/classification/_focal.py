"""Focal losses: sigmoid (torchvision) and softmax (multiclass) focal loss.

Both have a ``custom_vjp`` that computes the gradient in closed form in log
space, finite for any logits and any ``gamma >= 0``.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.numerics import mul0, param
from .._src.reduce import reduce
from .._src.registry import register
from .._src.scores import binary_scores, class_scores, is_label, take
from .._src.types import ArrayLike, Reduction

__all__ = ["sigmoid_focal_loss", "softmax_focal_loss"]

_FAMILY = "classification"


def _pow(log_q: jax.Array, gamma: jax.Array) -> jax.Array:
    """``q ** gamma`` from ``log q``, with ``0 ** 0 = 1`` (torch's ``pow``)."""
    return jnp.where(gamma == 0, jnp.ones((), log_q.dtype), jnp.exp(gamma * log_q))


@jax.custom_vjp
def _binary_focal(x: jax.Array, y: jax.Array, gamma: jax.Array) -> jax.Array:
    """``ce(x, y) * (1 - p_t) ** gamma`` elementwise (without alpha)."""
    return _binary_focal_fwd(x, y, gamma)[0]


def _binary_focal_split(x: jax.Array, y: jax.Array, e: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(c, num)`` with ``1 - p_t = num / (1 + e)``, ``num = c + (1 - c) e``, ``e = exp(-|x|)``.

    ``num`` is a sum of non-negative terms (no cancellation); it can only
    underflow where ``c = 0``, i.e. ``y`` is exactly 0 or 1 on the confident side.
    """
    c = jnp.where(x >= 0, 1 - y, y)
    return c, c + (1 - c) * e


def _binary_focal_fwd(x, y, gamma):
    e = jnp.exp(-jnp.abs(x))
    softplus = jnp.log1p(e)
    c, num = _binary_focal_split(x, y, e)
    ce = mul0(c, jnp.abs(x)) + softplus  # = max(x, 0) - x y + softplus(-|x|), without cancellation
    # log(1 - p_t); where num underflows (c = 0) it is exactly -|x| - log1p(e).
    log_q = jnp.where(c > 0, jnp.log(num), -jnp.abs(x)) - softplus
    focal = _pow(log_q, gamma)
    return ce * focal, (x, y, gamma, e, ce, log_q, focal)


def _binary_focal_bwd(res, g):
    x, y, gamma, e, ce, log_q, focal = res
    one = jnp.ones((), x.dtype)
    c, num = _binary_focal_split(x, y, e)
    inv = 1 / (1 + e)
    pos = x >= 0
    p = jnp.where(pos, inv, e * inv)
    # p - y = +-(c - e / (1 + e)): exact where c = 0 (1 - p would round to 0).
    p_minus_y = jnp.where(pos, c - e * inv, e * inv - c)
    # r = p (1 - p) / (1 - p_t) lies in [0, 1], so q^(gamma-1) p (1-p) = q^gamma r never
    # overflows, even for gamma < 1 at p_t -> 1; its limit where num underflows is 1/(1+e).
    r = jnp.where(c > 0, e * inv / jnp.where(c > 0, num, one), inv)
    dx = focal * (p_minus_y + gamma * ce * r * (1 - 2 * y))
    # d/dy: ce' = -x, q' = 1 - 2p; ce / q -> 1 where q underflows (y = 1, p -> 1 or y = 0, p -> 0).
    q = jnp.exp(log_q)
    dy = focal * (-x + gamma * jnp.where(q > 0, ce / jnp.where(q > 0, q, one), one) * (1 - 2 * p))
    # focal = q^gamma underflows to 0 only at |x| -> inf, where x q^gamma -> 0: not 0 * inf.
    dy = jnp.where(focal == 0, jnp.zeros((), x.dtype), dy)
    # d/dgamma = ce q^gamma log q, with the limit 0 where q^gamma = 0.
    dgamma = jnp.where(focal > 0, ce * focal * log_q, jnp.zeros((), x.dtype))
    return g * dx, g * dy, jnp.sum(g * dgamma).reshape(jnp.shape(gamma))


_binary_focal.defvjp(_binary_focal_fwd, _binary_focal_bwd)


@register(_FAMILY, reference="torchvision.ops.sigmoid_focal_loss; optax.sigmoid_focal_loss",
          aliases=("focal", "focal_loss"))
def sigmoid_focal_loss(
    logits: ArrayLike, labels: ArrayLike, *, alpha: float | ArrayLike | None = 0.25,
    gamma: float | ArrayLike = 2.0,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Sigmoid focal loss (torchvision semantics), elementwise.

    .. math::
       \ell = \alpha_t (1 - p_t)^\gamma \, \mathrm{BCE}(x, y), \quad
       p_t = p y + (1 - p)(1 - y), \quad \alpha_t = \alpha y + (1 - \alpha)(1 - y)

    with :math:`p = \sigma(x)`. A ``custom_vjp`` computes the gradient in closed
    form in log space, so value and gradient are finite for any logits and any
    :math:`\gamma \ge 0` (also :math:`\gamma < 1` at :math:`p_t \to 1`, where
    :math:`(1-p_t)^{\gamma-1}` diverges). Gradients flow to ``logits``,
    ``labels``, ``alpha`` and ``gamma``.

    Args:
      logits: floating logits of any shape.
      labels: targets in ``[0, 1]`` (binary or soft) with the shape of ``logits``.
      alpha: weight of the positive class in ``[0, 1]``, or ``None`` for no
        weighting (torchvision's ``alpha < 0``); float or traced array.
      gamma: focusing exponent :math:`\gamma \ge 0`; float or traced array.
      weights: optional weights broadcastable to ``logits``.
      where: optional boolean mask broadcastable to ``logits``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.sigmoid_focal_loss(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]),
      ...                            alpha=None, gamma=1.0, reduction="none")
      Array([0.3466, 0.3466], dtype=float32)

    References:
      Lin et al., `Focal Loss for Dense Object Detection
      <https://arxiv.org/abs/1708.02002>`_, 2017; ``torchvision.ops.sigmoid_focal_loss``.
    """
    contracts.bounded(alpha, "alpha", ge=0, le=1)
    contracts.bounded(gamma, "gamma", ge=0)
    b = binary_scores(logits, labels, where=where)
    x, y = b.logits, b.labels
    loss = _binary_focal(x, y, param(gamma, x.dtype))
    if alpha is not None:
        a = param(alpha, x.dtype)
        loss = (a * y + (1 - a) * (1 - y)) * loss
    return reduce(loss, reduction, weights=weights, where=b.where)


@jax.custom_vjp
def _softmax_focal(x: jax.Array, labels: jax.Array, gamma: jax.Array) -> jax.Array:
    """``-(1 - p_t) ** gamma * log p_t`` per example (without alpha); ``x`` is ``[..., C]``."""
    return _softmax_focal_fwd(x, labels, gamma)[0]


def _softmax_focal_fwd(x, labels, gamma):
    lse = jax.nn.logsumexp(x, axis=-1)
    log_p = take(x, labels) - lse
    target = is_label(labels, x.shape[-1])
    # log(1 - p_t) from the other classes: 1 - exp(log p_t) cancels when p_t -> 1.
    others = jnp.where(target, jnp.asarray(-jnp.inf, x.dtype), x)
    log_q = jax.nn.logsumexp(others, axis=-1) - lse
    focal = _pow(log_q, gamma)
    return -focal * log_p, (x, labels, gamma, lse, log_p, log_q, focal)


def _softmax_focal_bwd(res, g):
    x, labels, gamma, lse, log_p, log_q, focal = res
    zero = jnp.zeros((), x.dtype)
    q = jnp.exp(log_q)
    # Precise log p_t near p_t = 1 (log1p(-q)); p * r = -p log p / q -> 1 as q -> 0.
    lp = jnp.where(q < 0.5, jnp.log1p(-q), log_p)
    pr = jnp.where(q > 0, -jnp.exp(lp) * lp / jnp.where(q > 0, q, 1), jnp.ones((), x.dtype))
    coef = g * focal * (1 + gamma * pr)
    softmax = jnp.exp(x - lse[..., None])
    # softmax - onehot, with p_t - 1 = -q exact (it would round to 0 as p_t -> 1).
    dx = coef[..., None] * jnp.where(is_label(labels, x.shape[-1]), -q[..., None], softmax)
    dgamma = jnp.where(focal > 0, -focal * log_q * log_p, zero)
    return dx, None, jnp.sum(g * dgamma).reshape(jnp.shape(gamma))


_softmax_focal.defvjp(_softmax_focal_fwd, _softmax_focal_bwd)


@register(_FAMILY, reference="Lin et al. 2017 multiclass focal loss", aliases=("softmax_focal",))
def softmax_focal_loss(
    logits: ArrayLike, labels: ArrayLike, *, alpha: float | ArrayLike | Sequence[float] | None = None,
    gamma: float | ArrayLike = 2.0, axis: int = -1, ignore_index: int | None = None,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Multiclass (softmax) focal loss with integer labels.

    .. math:: \ell_i = -\alpha_{y_i} (1 - p_{i y_i})^\gamma \log p_{i y_i},
       \qquad p_i = \mathrm{softmax}(z_i)

    A ``custom_vjp`` gives the closed-form gradient, finite for any logits and
    any :math:`\gamma \ge 0` (``1 - p_t`` is computed from the other classes so
    it does not cancel as :math:`p_t \to 1`). Gradients flow to ``logits``,
    ``alpha`` and ``gamma``. ``"mean"`` averages over the non-ignored examples.

    Args:
      logits: ``[..., C, ...]`` floating logits, classes along ``axis``.
      labels: integer class indices with the shape of ``logits`` without ``axis``.
      alpha: ``None`` (no weighting), a scalar, or a ``[C]`` per-class weight
        vector; float or traced array.
      gamma: focusing exponent :math:`\gamma \ge 0`; float or traced array.
      axis: the class axis.
      ignore_index: integer label whose examples are excluded.
      weights: optional per-example weights broadcastable to the ``"none"`` output.
      where: optional boolean mask with the shape of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``logits.shape`` without ``axis`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.softmax_focal_loss(jnp.array([[0.0, 0.0]]), jnp.array([0]), gamma=1.0)
      Array(0.3466, dtype=float32)

    References:
      Lin et al., `Focal Loss for Dense Object Detection
      <https://arxiv.org/abs/1708.02002>`_, 2017.
    """
    contracts.bounded(alpha, "alpha", ge=0, scalar=False)
    contracts.bounded(gamma, "gamma", ge=0)
    contracts.integer(labels=labels)
    c = class_scores(logits, labels, axis=axis, ignore_index=ignore_index, where=where)
    x = c.logits
    alpha_t = None
    if alpha is not None:
        alpha_t = param(alpha, x.dtype)
        contracts.rank(alpha_t, {0, 1}, "alpha", "a scalar or one weight per class")
        if alpha_t.ndim == 1:
            contracts.shape_is(alpha_t, (x.shape[-1],), "alpha", "one weight per class")
            alpha_t = alpha_t[c.labels]
    loss = _softmax_focal(x, c.labels, param(gamma, x.dtype))
    if alpha_t is not None:
        loss = alpha_t * loss
    return reduce(c.poisoned(loss), reduction, weights=weights, where=c.where, valid=c.valid)

