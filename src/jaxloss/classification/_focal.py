"""Focal losses: sigmoid (torchvision, Keras, smp) and softmax (multiclass) focal loss.

Both have a ``custom_vjp`` that computes the gradient in closed form in log
space, finite for any logits and any ``gamma >= 0`` (the softmax one also for
soft targets); probability inputs (``from_logits=False``) are clipped to
``[1e-7, 1 - 1e-7]`` as in Keras.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.numerics import mul0, param
from .._src.reduce import reduce
from .._src.registry import register
from .._src.scores import binary_scores, class_scores, is_label, is_zero, smooth, take
from .._src.types import ArrayLike, Reduction

__all__ = ["sigmoid_focal_loss", "softmax_focal_loss"]

_FAMILY = "classification"
# Keras's backend.epsilon(): probabilities are clipped to [eps, 1 - eps] (from_logits=False).
_CLIP = 1e-7
# smp's clamp of the normalised focal loss's denominator.
_NORM_FLOOR = 1e-6


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


def _binary_log_q(x: jax.Array, y: jax.Array) -> tuple[jax.Array, ...]:
    """``(e, c, num, log(1 - p_t))`` from logits (see :func:`_binary_focal_split`)."""
    e = jnp.exp(-jnp.abs(x))
    c, num = _binary_focal_split(x, y, e)
    safe = jnp.where(c > 0, num, jnp.ones((), x.dtype))
    return e, c, num, jnp.where(c > 0, jnp.log(safe), -jnp.abs(x)) - jnp.log1p(e)


@jax.custom_jvp
def _binary_focal_term(x: jax.Array, y: jax.Array, gamma: jax.Array) -> jax.Array:
    """``(1 - p_t) ** gamma`` from logits, with the log-space derivatives of ``_binary_focal``."""
    return _pow(_binary_log_q(x, y)[-1], gamma)


@_binary_focal_term.defjvp
def _binary_focal_term_jvp(primals, tangents):
    x, y, gamma = primals
    dx, dy, dgamma = tangents
    one, zero = jnp.ones((), x.dtype), jnp.zeros((), x.dtype)
    e, c, num, log_q = _binary_log_q(x, y)
    inv = 1 / (1 + e)
    p = jnp.where(x >= 0, inv, e * inv)
    focal = _pow(log_q, gamma)
    # d/dx q^gamma = gamma q^gamma r (1 - 2y), r = p (1 - p) / q in [0, 1] (see _binary_focal_bwd).
    r = jnp.where(c > 0, e * inv / jnp.where(c > 0, num, one), inv)
    q = jnp.exp(log_q)
    fx = gamma * focal * r * (1 - 2 * y)
    # d/dy q^gamma = gamma q^(gamma - 1) (1 - 2p): 0 where q^gamma underflows (no 0 * inf).
    fy = jnp.where(q > 0, gamma * focal / jnp.where(q > 0, q, one) * (1 - 2 * p), zero)
    fg = jnp.where(focal > 0, focal * log_q, zero)
    return focal, fx * dx + fy * dy + fg * dgamma


@register(_FAMILY, reference="torchvision.ops.sigmoid_focal_loss; optax.sigmoid_focal_loss",
          aliases=("focal", "focal_loss"))
def sigmoid_focal_loss(
    logits: ArrayLike, labels: ArrayLike, *, alpha: float | ArrayLike | None = 0.25,
    gamma: float | ArrayLike = 2.0, from_logits: bool = True,
    label_smoothing: float | ArrayLike = 0.0, normalized: bool = False,
    reduced_threshold: float | ArrayLike | None = None,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Sigmoid focal loss (torchvision semantics), elementwise.

    .. math::
       \ell = \alpha_t (1 - p_t)^\gamma \, \mathrm{BCE}(x, y), \quad
       p_t = p y + (1 - p)(1 - y), \quad \alpha_t = \alpha y + (1 - \alpha)(1 - y)

    with :math:`p = \sigma(x)` (or :math:`p = x` clipped to
    :math:`[10^{-7}, 1 - 10^{-7}]` with ``from_logits=False``). A ``custom_vjp``
    computes the gradient in closed form in log space, so value and gradient
    are finite for any logits and any :math:`\gamma \ge 0` (also
    :math:`\gamma < 1` at :math:`p_t \to 1`, where :math:`(1-p_t)^{\gamma-1}`
    diverges). Gradients flow to ``logits``, ``labels``, ``alpha`` and ``gamma``.

    Options of the other anchors:

    - ``label_smoothing`` :math:`\varepsilon`: :math:`y \leftarrow (1 -
      \varepsilon) y + \varepsilon / 2` first (Keras).
    - ``normalized=True`` (smp ``FocalLoss(normalized=True)``, Lin et al.'s
      normalised focal loss): every term is divided by
      :math:`\max(\sum f, 10^{-6})`, the sum of the focal factors
      :math:`f = (1 - p_t)^\gamma` over all entries not masked by ``where``
      (``weights`` do not enter it); the gradient flows through the sum, as in smp.
    - ``reduced_threshold`` :math:`r \in (0, 1]` (smp, the reduced focal loss
      of Sergievskiy & Ponamarev 2019): the focal factor becomes
      :math:`((1 - p_t) / r)^\gamma`, and 1 where :math:`p_t < r`.

    Anchor mappings: torchvision ``sigmoid_focal_loss(x, y, alpha, gamma)`` is
    the default (``alpha=-1`` there is ``alpha=None``). Keras
    ``BinaryFocalCrossentropy(gamma, from_logits=False, label_smoothing)``
    is ``from_logits=False, alpha=None``; its ``apply_class_balancing=True,
    alpha=a`` is ``alpha=a``; Keras means over the last axis, which the
    ``"mean"`` reduction equals for equal rows. TF-Addons
    ``SigmoidFocalCrossEntropy`` (``from_logits=False``, ``alpha=0.25``) sums
    the last axis: sum the ``"none"`` output over axis -1. smp
    ``FocalLoss("binary", alpha, gamma, normalized, reduced_threshold)`` is
    the same options with ``"mean"`` (smp's ``alpha=None`` default is
    ``alpha=None``).

    Differences from the anchors: for soft labels, the focal factor uses
    torchvision's :math:`p_t = p y + (1 - p)(1 - y)` where smp uses
    :math:`\exp(-\mathrm{BCE})` (equal for hard labels); with
    ``from_logits=False`` the focal factor uses the clipped probability (Keras
    the raw one, which differs only within :math:`10^{-7}` of 0 or 1 and keeps
    the gradient finite there).

    Args:
      logits: floating logits of any shape (probabilities with ``from_logits=False``).
      labels: targets in ``[0, 1]`` (binary or soft) with the shape of ``logits``.
      alpha: weight of the positive class in ``[0, 1]``, or ``None`` for no
        weighting (torchvision's ``alpha < 0``); float or traced array.
      gamma: focusing exponent :math:`\gamma \ge 0`; float or traced array.
      from_logits: whether ``logits`` are logits (default) or probabilities.
      label_smoothing: :math:`\varepsilon \in [0, 1]`; float or traced array.
      normalized: divide by the sum of the focal factors (smp).
      reduced_threshold: :math:`r \in (0, 1]` of the reduced focal loss
        (smp), or ``None``; float or traced array.
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
    contracts.bounded(label_smoothing, "label_smoothing", ge=0, le=1)
    if reduced_threshold is not None:
        contracts.bounded(reduced_threshold, "reduced_threshold", gt=0, le=1)
    b = binary_scores(logits, labels, where=where)
    x, y = b.logits, b.labels
    if not is_zero(label_smoothing):
        eps = param(label_smoothing, x.dtype)
        y = (1 - eps) * y + eps / 2
    g = param(gamma, x.dtype)
    focal = None
    if from_logits and not normalized and reduced_threshold is None:
        loss = _binary_focal(x, y, g)
    else:
        if from_logits:
            ce = mul0(y, jax.nn.softplus(-x)) + mul0(1 - y, jax.nn.softplus(x))
            focal = _binary_focal_term(x, y, g)
            p = jax.nn.sigmoid(x)
        else:
            p = jnp.clip(x, _CLIP, 1 - _CLIP)
            ce = -(y * jnp.log(p) + (1 - y) * jnp.log1p(-p))
            focal = _pow(jnp.log(p * (1 - y) + (1 - p) * y), g)  # q >= 1e-7: finite
        if reduced_threshold is not None:
            r = param(reduced_threshold, x.dtype)
            p_t = jax.lax.stop_gradient(p * y + (1 - p) * (1 - y))
            focal = jnp.where(p_t < r, jnp.ones((), x.dtype), focal * jnp.exp(-g * jnp.log(r)))
        loss = ce * focal
    if alpha is not None:
        a = param(alpha, x.dtype)
        loss = (a * y + (1 - a) * (1 - y)) * loss
    if normalized and focal is not None:
        counted = focal if b.where is None else jnp.where(b.where, focal, jnp.zeros((), x.dtype))
        loss = loss / jnp.maximum(jnp.sum(counted), _NORM_FLOOR)
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


@jax.custom_vjp
def _soft_focal(x: jax.Array, wy: jax.Array, gamma: jax.Array) -> jax.Array:
    """``-sum_c wy_c (1 - p_c) ** gamma log p_c`` per example; ``x``, ``wy`` are ``[..., C]``."""
    return _soft_focal_fwd(x, wy, gamma)[0]


def _soft_focal_parts(x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(log p, q = 1 - p, log q)`` per class; ``q`` from ``expm1`` (no cancellation at p -> 0)."""
    log_p = jax.nn.log_softmax(x, axis=-1)
    q = -jnp.expm1(log_p)
    log_q = jnp.log(jnp.where(q > 0, q, 1)) + jnp.where(q > 0, 0, -jnp.inf)
    return log_p, q, log_q.astype(x.dtype)


def _soft_focal_fwd(x, wy, gamma):
    log_p, q, log_q = _soft_focal_parts(x)
    focal = _pow(log_q, gamma)
    return -jnp.sum(mul0(wy, focal * log_p), axis=-1), (x, wy, gamma, log_p, q, log_q, focal)


def _soft_focal_bwd(res, g):
    x, wy, gamma, log_p, q, log_q, focal = res
    one, zero = jnp.ones((), x.dtype), jnp.zeros((), x.dtype)
    # d l / d x_j = p_j S - wy_j A_j with A_c = f_c (1 + gamma p_c r_c), S = sum_c wy_c A_c and
    # p r = -p log p / q -> 1 as q -> 0 (the integer-label backward, per class).
    lp = jnp.where(q < 0.5, jnp.log1p(-q), log_p)
    pr = jnp.where(q > 0, -jnp.exp(lp) * lp / jnp.where(q > 0, q, one), one)
    a = focal * (1 + gamma * pr)
    total = jnp.sum(mul0(wy, a), axis=-1, keepdims=True)
    dx = g[..., None] * (jnp.exp(log_p) * total - mul0(wy, a))
    dwy = -g[..., None] * focal * log_p
    dgamma = jnp.where(focal > 0, -mul0(wy, focal * log_q * log_p), zero)
    return dx, dwy, jnp.sum(g[..., None] * dgamma).reshape(jnp.shape(gamma))


_soft_focal.defvjp(_soft_focal_fwd, _soft_focal_bwd)


@register(_FAMILY, reference="Lin et al. 2017 multiclass focal loss", aliases=("softmax_focal",))
def softmax_focal_loss(
    logits: ArrayLike, labels: ArrayLike, *, alpha: float | ArrayLike | Sequence[float] | None = None,
    gamma: float | ArrayLike = 2.0, axis: int = -1, ignore_index: int | None = None,
    label_smoothing: float | ArrayLike = 0.0, from_logits: bool = True,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Multiclass (softmax) focal loss with integer, soft or multi-hot labels.

    .. math:: \ell_i = -\alpha_{y_i} (1 - p_{i y_i})^\gamma \log p_{i y_i},
       \qquad p_i = \mathrm{softmax}(z_i)

    and for probability (soft or multi-hot) labels, or any ``label_smoothing``,

    .. math:: \ell_i = -\sum_c \alpha_c \tilde y_{ic} (1 - p_{ic})^\gamma \log p_{ic},
       \qquad \tilde y = (1 - \varepsilon) y + \varepsilon / C

    (integer labels are one-hot there). A ``custom_vjp`` gives the closed-form
    gradient, finite for any logits and any :math:`\gamma \ge 0` (``1 - p``
    is computed without cancellation as :math:`p \to 1`). Gradients flow to
    ``logits``, probability ``labels``, ``alpha`` and ``gamma``. ``"mean"``
    averages over the non-ignored examples.

    With ``from_logits=False``, ``logits`` are probabilities: as in Keras they
    are renormalised over ``axis`` and clipped to :math:`[10^{-7}, 1 -
    10^{-7}]` (zero gradient outside), and the formula runs with plain autodiff.

    Anchor mappings: MONAI ``FocalLoss(use_softmax=True, gamma, alpha=a)`` on
    ``[B, C, ...]`` is this loss with ``axis=1`` and the per-class
    ``alpha=[1 - a, a, ..., a]``, divided by ``C`` (MONAI averages over the
    class axis too; :func:`~jaxloss.segmentation_focal_loss` is MONAI exactly).
    Keras ``CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0, from_logits,
    label_smoothing)`` is ``alpha=0.25`` with the same options (Keras clips
    the softmax too with ``from_logits=True``; this loss does not, which
    differs only where a probability is within :math:`10^{-7}` of 0 or 1).

    Args:
      logits: ``[..., C, ...]`` floating logits, classes along ``axis``
        (probabilities with ``from_logits=False``).
      labels: integer class indices with the shape of ``logits`` without
        ``axis``, or floating probabilities (soft or multi-hot) with the shape
        of ``logits`` (decided by dtype).
      alpha: ``None`` (no weighting), a scalar, or a ``[C]`` per-class weight
        vector; float or traced array.
      gamma: focusing exponent :math:`\gamma \ge 0`; float or traced array.
      axis: the class axis.
      ignore_index: integer label whose examples are excluded (integer labels only).
      label_smoothing: :math:`\varepsilon \in [0, 1]` (Keras); float or traced array.
      from_logits: whether ``logits`` are logits (default) or probabilities.
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
    contracts.bounded(label_smoothing, "label_smoothing", ge=0, le=1)
    c = class_scores(logits, labels, axis=axis, ignore_index=ignore_index, where=where)
    x = c.logits
    num_classes = x.shape[-1]
    alpha_c = None
    if alpha is not None:
        alpha_c = param(alpha, x.dtype)
        contracts.rank(alpha_c, {0, 1}, "alpha", "a scalar or one weight per class")
        if alpha_c.ndim == 1:
            contracts.shape_is(alpha_c, (num_classes,), "alpha", "one weight per class")
    g = param(gamma, x.dtype)
    if c.integer and from_logits and is_zero(label_smoothing):
        loss = _softmax_focal(x, c.labels, g)
        if alpha_c is not None:
            loss = (alpha_c[c.labels] if alpha_c.ndim == 1 else alpha_c) * loss
        return reduce(c.poisoned(loss), reduction, weights=weights, where=c.where, valid=c.valid)
    y = jax.nn.one_hot(c.labels, num_classes, dtype=x.dtype) if c.integer else c.labels
    y = smooth(y, label_smoothing)
    wy = y if alpha_c is None else jnp.broadcast_to(alpha_c, y.shape) * y
    if from_logits:
        loss = _soft_focal(x, wy, g)
    else:
        total = jnp.sum(x, axis=-1, keepdims=True)
        total = jnp.where(total > 0, total, jnp.ones((), x.dtype))  # masked rows: no 0 / 0
        p = jnp.clip(x / total, _CLIP, 1 - _CLIP)
        loss = -jnp.sum(wy * _pow(jnp.log1p(-p), g) * jnp.log(p), axis=-1)
    return reduce(c.poisoned(loss), reduction, weights=weights, where=c.where, valid=c.valid)

