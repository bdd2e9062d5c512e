"""Cross-entropy losses: softmax / sigmoid cross-entropy, focal losses, PolyLoss.

Integer labels are class indices over ``axis`` (the class axis is removed from
the ``"none"`` output); floating labels are per-class probabilities with the
shape of ``logits``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import calling, function_name
from .._src.labels import class_labels, poison
from .._src.numerics import compute_dtype, mul0, param, upcast
from .._src.reduce import broadcast, reduce, sanitize
from .._src.registry import register

__all__ = [
    "class_balanced_weights",
    "poly1_cross_entropy",
    "poly_loss",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_labels",
    "softmax_cross_entropy",
    "softmax_focal_loss",
]

_FAMILY = "classification"


def _is_zero(x: Any) -> bool:
    """A literal Python zero: a static fast path (traced values take the general path)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == 0


# --------------------------------------------------------------------------- preparation


class _Classes(NamedTuple):
    """Logits with the class axis last, and the labels in that layout."""

    x: jax.Array  # [..., C] in the compute dtype
    labels: jax.Array  # [...] int32 (safe) or [..., C] probabilities
    integer: bool
    valid: jax.Array | None  # ignore_index validity (integer labels)
    bad: jax.Array | None  # out-of-range labels (integer labels)
    where: jax.Array | None  # [...] user mask


def _classes(logits: Any, labels: Any, axis: int, ignore_index: Any, where: Any) -> _Classes:
    """Checks shapes and dtypes, moves the class axis last and validates the labels."""
    name = function_name()
    contracts.floating(logits=logits)
    contracts.min_rank(logits, 1, "logits")
    shape = tuple(np.shape(logits))
    ax = contracts.axis_index(axis, len(shape), "logits")
    out_shape = shape[:ax] + shape[ax + 1 :]
    dtype = contracts._dtype(labels)
    integer = bool(jnp.issubdtype(dtype, jnp.integer))
    if integer:
        if tuple(np.shape(labels)) != out_shape:
            raise ValueError(
                f"{name}: labels has shape {tuple(np.shape(labels))} but logits has shape "
                f"{shape}; integer labels must have logits.shape without axis {axis}"
            )
    elif jnp.issubdtype(dtype, jnp.floating):
        if tuple(np.shape(labels)) != shape:
            raise ValueError(
                f"{name}: labels has shape {tuple(np.shape(labels))} but logits has shape "
                f"{shape}; probability labels must have the shape of logits"
            )
        if ignore_index is not None:
            raise ValueError(f"{name}: ignore_index applies to integer labels only")
    else:
        raise TypeError(
            f"{name}: labels must be integer class indices or floating probabilities, "
            f"got dtype {dtype}"
        )
    x, probs = upcast(logits, None if integer else labels)
    x = jnp.moveaxis(x, ax, -1)
    mask = None if where is None else broadcast(where, out_shape, "where", dtype=bool)
    if mask is not None:
        x = sanitize(x, mask[..., None])
    if integer:
        safe, valid, bad = class_labels(labels, shape[ax], ignore_index=ignore_index)
        return _Classes(x, safe, True, valid, bad, mask)
    probs = jnp.moveaxis(probs, ax, -1)
    if mask is not None:
        probs = sanitize(probs, mask[..., None])
    return _Classes(x, probs, False, None, None, mask)


def _take(x: jax.Array, index: jax.Array) -> jax.Array:
    """``x[..., index]`` along the last axis (a gather, no one-hot)."""
    return jnp.take_along_axis(x, index[..., None], axis=-1)[..., 0]


def _is_label(labels: jax.Array, num_classes: int) -> jax.Array:
    """Boolean ``[..., C]``: ``True`` at each entry's class (broadcast, never a one-hot matmul)."""
    return jax.lax.broadcasted_iota(labels.dtype, (*labels.shape, num_classes), labels.ndim) == \
        labels[..., None]


def _smoothed(probs: jax.Array, epsilon: Any) -> jax.Array:
    if _is_zero(epsilon):
        return probs
    eps = param(epsilon, probs.dtype)
    return (1 - eps) * probs + eps / probs.shape[-1]


class _CrossEntropy(NamedTuple):
    loss: jax.Array  # per-example loss, poisoned where labels are bad
    normalizer: jax.Array | None  # torch's w[y_i] mean denominator
    valid: jax.Array | None
    one_minus_pt: Any  # () -> 1 - p_t (with smoothed labels), computed on demand


def _cross_entropy(c: _Classes, label_smoothing: Any, class_weights: Any) -> _CrossEntropy:
    """PyTorch ``cross_entropy`` per example, before reduction."""
    x = c.x
    num_classes = x.shape[-1]
    cw = None
    if class_weights is not None:
        contracts.shape_is(class_weights, (num_classes,), "class_weights", "one weight per class")
        cw = jnp.asarray(class_weights, x.dtype)
    lse = jax.nn.logsumexp(x, axis=-1)
    if c.integer:
        nll = lse - _take(x, c.labels)
        w = None if cw is None else cw[c.labels]
        loss = nll if w is None else w * nll
        if not _is_zero(label_smoothing):
            eps = param(label_smoothing, x.dtype)
            # sum_c w_c (-log p_c) = lse * sum(w) - <w, x>: no log_softmax array needed.
            if cw is None:
                smooth = num_classes * lse - jnp.sum(x, axis=-1)
            else:
                smooth = lse * jnp.sum(cw) - jnp.einsum("...c,c->...", x, cw)
            loss = (1 - eps) * loss + (eps / num_classes) * smooth

        def one_minus_pt() -> jax.Array:
            # -expm1(-nll) = 1 - p_t without cancellation. With smoothed labels y',
            # sum_c y'_c (1 - p_c) = (1 - eps)(1 - p_t) + eps (1 - 1/C).
            q = -jnp.expm1(-nll)
            if _is_zero(label_smoothing):
                return q
            eps = param(label_smoothing, x.dtype)
            return (1 - eps) * q + eps * (1 - 1 / num_classes)

        return _CrossEntropy(poison(loss, c.bad), w, c.valid, one_minus_pt)

    y = _smoothed(c.labels, label_smoothing)
    log_p = x - lse[..., None]
    wy = y if cw is None else y * jnp.broadcast_to(cw, y.shape)
    loss = -jnp.sum(mul0(wy, log_p), axis=-1)

    def one_minus_pt() -> jax.Array:
        return jnp.sum(y * (1 - jnp.exp(log_p)), axis=-1)

    return _CrossEntropy(loss, None, None, one_minus_pt)


# --------------------------------------------------------------------------- softmax CE


@register(_FAMILY, reference="torch.nn.functional.cross_entropy; optax.softmax_cross_entropy",
          aliases=("cross_entropy",))
def softmax_cross_entropy(
    logits: Any, labels: Any, *, axis: int = -1, label_smoothing: Any = 0.0,
    class_weights: Any = None, ignore_index: int | None = None,
    weights: Any = None, where: Any = None, reduction: str = "mean",
) -> jax.Array:
    r"""Softmax cross-entropy with integer or probability labels (PyTorch semantics).

    .. math::
       \ell_i = (1 - \varepsilon)\, w_{y_i} (-\log p_{i y_i})
       + \frac{\varepsilon}{C} \sum_c w_c (-\log p_{ic}),
       \qquad p_i = \mathrm{softmax}(z_i)

    For probability labels :math:`\ell_i = -\sum_c w_c \tilde y_{ic} \log p_{ic}`
    with :math:`\tilde y = (1-\varepsilon) y + \varepsilon / C`.

    ``"mean"`` follows ``torch.nn.functional.cross_entropy``: with integer labels
    it divides by :math:`\sum_i w_{y_i}` over the non-ignored examples (the
    number of them without ``class_weights``); with probability labels by the
    number of examples.

    Args:
      logits: ``[..., C, ...]`` floating logits, classes along ``axis``.
      labels: integer class indices with the shape of ``logits`` without
        ``axis`` (any integer dtype), or floating probabilities with the shape
        of ``logits`` (decided by dtype).
      axis: the class axis (``1`` for PyTorch's ``[N, C, d1, ...]`` layout).
      label_smoothing: :math:`\varepsilon \in [0, 1]`; float or traced array.
      class_weights: optional ``[C]`` weights :math:`w_c` (PyTorch ``weight``).
      ignore_index: integer label whose examples are excluded (integer labels only).
      weights: optional per-example weights broadcastable to the ``"none"`` output.
      where: optional boolean mask with the shape of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``logits.shape`` without ``axis`` for
      ``"none"`` (ignored and masked examples are 0). Out-of-range integer labels
      raise ``ValueError`` eagerly and give NaN under ``jit``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[1.2, -0.8, -0.5], [0.9, -1.2, 1.1]])
      >>> jaxloss.softmax_cross_entropy(logits, jnp.array([0, 1]), reduction="none")
      Array([0.27612972, 2.951799  ], dtype=float32)
      >>> jaxloss.softmax_cross_entropy(logits, jnp.array([0, -100]), ignore_index=-100)
      Array(0.2761, dtype=float32)

    References:
      PyTorch ``torch.nn.functional.cross_entropy``; optax ``softmax_cross_entropy``
      and ``softmax_cross_entropy_with_integer_labels``.
    """
    c = _classes(logits, labels, axis, ignore_index, where)
    ce = _cross_entropy(c, label_smoothing, class_weights)
    return reduce(ce.loss, reduction, weights=weights, where=c.where, valid=ce.valid,
                        normalizer=ce.normalizer)


# --------------------------------------------------------------------------- PolyLoss


@register(_FAMILY, reference="Leng et al. 2022 (PolyLoss); optax.poly_loss_cross_entropy",
          aliases=("poly_n_loss",))
def poly_loss(
    logits: Any, labels: Any, *, epsilons: Any = (1.0,), axis: int = -1,
    label_smoothing: Any = 0.0, ignore_index: int | None = None,
    weights: Any = None, where: Any = None, reduction: str = "mean",
) -> jax.Array:
    r"""Poly-N loss: cross-entropy plus the first ``N`` polynomial terms of ``1 - p_t``.

    .. math:: \ell = \mathrm{CE} + \sum_{j=1}^{N} \epsilon_j (1 - p_t)^j

    With probability (or smoothed) labels :math:`1 - p_t = \sum_c y_c (1 - p_c)`
    as in optax and the paper's code.

    Args:
      logits: ``[..., C, ...]`` floating logits, classes along ``axis``.
      labels: integer class indices (``logits.shape`` without ``axis``) or
        probabilities (``logits.shape``).
      epsilons: sequence of ``N`` coefficients :math:`\epsilon_j` (floats or
        traced scalars), or a ``[N]`` array.
      axis: the class axis.
      label_smoothing: :math:`\varepsilon` applied to the labels of both terms.
      ignore_index: integer label whose examples are excluded.
      weights: optional per-example weights broadcastable to the ``"none"`` output.
      where: optional boolean mask with the shape of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``logits.shape`` without ``axis`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[0.0, 0.0]])
      >>> jaxloss.poly_loss(logits, jnp.array([0]), epsilons=(1.0, 2.0))  # log 2 + .5 + 2 * .25
      Array(1.6931, dtype=float32)

    References:
      Leng et al., `PolyLoss <https://arxiv.org/abs/2204.12511>`_, ICLR 2022.
    """
    c = _classes(logits, labels, axis, ignore_index, where)
    ce = _cross_entropy(c, label_smoothing, None)
    q = ce.one_minus_pt()
    if isinstance(epsilons, (list, tuple)):
        eps = [param(e, q.dtype) for e in epsilons]
    else:
        eps = jnp.asarray(epsilons, q.dtype)
        contracts.rank(eps, 1, "epsilons", "one coefficient per polynomial term")
        eps = list(eps)
    poly = sum((e * q**j for j, e in enumerate(eps, start=1)), jnp.zeros_like(q))
    return reduce(ce.loss + poly, reduction, weights=weights, where=c.where, valid=ce.valid)


@register(_FAMILY, reference="Leng et al. 2022 (Poly-1); optax.poly_loss_cross_entropy",
          aliases=("poly1",))
def poly1_cross_entropy(
    logits: Any, labels: Any, *, epsilon: Any = 1.0, axis: int = -1,
    label_smoothing: Any = 0.0, ignore_index: int | None = None,
    weights: Any = None, where: Any = None, reduction: str = "mean",
) -> jax.Array:
    r"""Poly-1 loss: cross-entropy plus :math:`\epsilon (1 - p_t)`.

    .. math:: \ell = -\log p_t + \epsilon (1 - p_t)

    Equal to :func:`poly_loss` with ``epsilons=(epsilon,)``; see there for the
    arguments.

    Args:
      logits: ``[..., C, ...]`` floating logits, classes along ``axis``.
      labels: integer class indices or probabilities.
      epsilon: coefficient of ``1 - p_t`` (the paper recommends 2 for ImageNet,
        -1 for detection); float or traced array.
      axis: the class axis.
      label_smoothing: :math:`\varepsilon` applied to the labels.
      ignore_index: integer label whose examples are excluded.
      weights: optional per-example weights broadcastable to the ``"none"`` output.
      where: optional boolean mask with the shape of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``logits.shape`` without ``axis`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.poly1_cross_entropy(jnp.array([[0.0, 0.0]]), jnp.array([1]), epsilon=2.0)
      Array(1.6931, dtype=float32)

    References:
      Leng et al., `PolyLoss <https://arxiv.org/abs/2204.12511>`_, ICLR 2022.
    """
    return poly_loss(logits, labels, epsilons=(epsilon,), axis=axis,
                     label_smoothing=label_smoothing, ignore_index=ignore_index,
                     weights=weights, where=where, reduction=reduction)


# --------------------------------------------------------------------------- sigmoid BCE


def _elementwise_pair(logits: Any, labels: Any, where: Any) -> tuple[jax.Array, jax.Array, Any]:
    """Checks ``logits``/``labels`` (same shape) and upcasts; masked entries set to 0."""
    contracts.floating(logits=logits)
    contracts.same_shape(logits=logits, labels=labels)
    x, y = upcast(logits, labels)
    mask = None if where is None else broadcast(where, x.shape, "where", dtype=bool)
    return sanitize(x, mask), sanitize(y, mask), mask


@register(_FAMILY, reference="torch.nn.functional.binary_cross_entropy_with_logits",
          aliases=("bce_with_logits",))
def sigmoid_binary_cross_entropy(
    logits: Any, labels: Any, *, pos_weight: Any = None, label_smoothing: Any = 0.0,
    weights: Any = None, where: Any = None, reduction: str = "mean",
) -> jax.Array:
    r"""Sigmoid (binary) cross-entropy with logits, elementwise.

    .. math::
       \ell = -\left[ w_+ \, y \log \sigma(x) + (1 - y) \log (1 - \sigma(x)) \right],
       \qquad y \leftarrow (1 - \varepsilon) y + \varepsilon / 2

    computed as :math:`w_+ y\,\mathrm{softplus}(-x) + (1-y)\,\mathrm{softplus}(x)`.

    Args:
      logits: floating logits of any shape.
      labels: targets in ``[0, 1]`` with the shape of ``logits`` (any numeric dtype).
      pos_weight: optional weight :math:`w_+` of the positive term, broadcast
        against ``logits`` (a ``[C]`` vector applies per class along the last
        axis, as in PyTorch).
      label_smoothing: :math:`\varepsilon`: targets move towards 1/2 (Keras
        ``binary_crossentropy`` convention); float or traced array.
      weights: optional weights broadcastable to ``logits``.
      where: optional boolean mask broadcastable to ``logits``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.sigmoid_binary_cross_entropy(jnp.array([0.0, 2.0]), jnp.array([1.0, 0.0]),
      ...                                      reduction="none")
      Array([0.6931472, 2.126928 ], dtype=float32)

    References:
      PyTorch ``torch.nn.functional.binary_cross_entropy_with_logits``; optax
      ``sigmoid_binary_cross_entropy``.
    """
    x, y, mask = _elementwise_pair(logits, labels, where)
    if not _is_zero(label_smoothing):
        eps = param(label_smoothing, x.dtype)
        y = (1 - eps) * y + eps / 2
    positive = jax.nn.softplus(-x)  # -log sigmoid(x), stable for large |x|
    if pos_weight is not None:
        positive = broadcast(pos_weight, x.shape, "pos_weight", dtype=x.dtype) * positive
    loss = mul0(y, positive) + mul0(1 - y, jax.nn.softplus(x))
    return reduce(loss, reduction, weights=weights, where=mask)


# --------------------------------------------------------------------------- focal losses


def _pow(log_q: jax.Array, gamma: jax.Array) -> jax.Array:
    """``q ** gamma`` from ``log q``, with ``0 ** 0 = 1`` (torch's ``pow``)."""
    return jnp.where(gamma == 0, jnp.ones((), log_q.dtype), jnp.exp(gamma * log_q))


@jax.custom_vjp
def _binary_focal(x: jax.Array, y: jax.Array, gamma: jax.Array) -> jax.Array:
    """``ce(x, y) * (1 - p_t) ** gamma`` elementwise (without alpha)."""
    return _binary_focal_fwd(x, y, gamma)[0]


def _binary_focal_split(x, y, e):
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
    logits: Any, labels: Any, *, alpha: Any = 0.25, gamma: Any = 2.0,
    weights: Any = None, where: Any = None, reduction: str = "mean",
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
    x, y, mask = _elementwise_pair(logits, labels, where)
    loss = _binary_focal(x, y, param(gamma, x.dtype))
    if alpha is not None:
        a = param(alpha, x.dtype)
        loss = (a * y + (1 - a) * (1 - y)) * loss
    return reduce(loss, reduction, weights=weights, where=mask)


@jax.custom_vjp
def _softmax_focal(x: jax.Array, labels: jax.Array, gamma: jax.Array) -> jax.Array:
    """``-(1 - p_t) ** gamma * log p_t`` per example (without alpha); ``x`` is ``[..., C]``."""
    return _softmax_focal_fwd(x, labels, gamma)[0]


def _softmax_focal_fwd(x, labels, gamma):
    lse = jax.nn.logsumexp(x, axis=-1)
    log_p = _take(x, labels) - lse
    target = _is_label(labels, x.shape[-1])
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
    dx = coef[..., None] * jnp.where(_is_label(labels, x.shape[-1]), -q[..., None], softmax)
    dgamma = jnp.where(focal > 0, -focal * log_q * log_p, zero)
    return dx, None, jnp.sum(g * dgamma).reshape(jnp.shape(gamma))


_softmax_focal.defvjp(_softmax_focal_fwd, _softmax_focal_bwd)


@register(_FAMILY, reference="Lin et al. 2017 multiclass focal loss", aliases=("softmax_focal",))
def softmax_focal_loss(
    logits: Any, labels: Any, *, alpha: Any = None, gamma: Any = 2.0, axis: int = -1,
    ignore_index: int | None = None,
    weights: Any = None, where: Any = None, reduction: str = "mean",
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
    contracts.integer(labels=labels)
    c = _classes(logits, labels, axis, ignore_index, where)
    alpha_t = None
    if alpha is not None:
        alpha_t = param(alpha, c.x.dtype)
        contracts.rank(alpha_t, {0, 1}, "alpha", "a scalar or one weight per class")
        if alpha_t.ndim == 1:
            contracts.shape_is(alpha_t, (c.x.shape[-1],), "alpha", "one weight per class")
            alpha_t = alpha_t[c.labels]
    loss = _softmax_focal(c.x, c.labels, param(gamma, c.x.dtype))
    if alpha_t is not None:
        loss = alpha_t * loss
    loss = poison(loss, c.bad)
    return reduce(loss, reduction, weights=weights, where=c.where, valid=c.valid)


# --------------------------------------------------------------------------- utilities


def smooth_labels(labels: Any, epsilon: Any, *, num_classes: int | None = None) -> jax.Array:
    r"""Label smoothing: integer or one-hot labels to a smoothed distribution.

    .. math:: \tilde y = (1 - \epsilon)\, y + \epsilon / C

    Args:
      labels: integer class indices ``[...]`` (then ``num_classes`` is
        required) or floating one-hot / probability labels ``[..., C]``.
      epsilon: smoothing factor in ``[0, 1]``; float or traced array.
      num_classes: number of classes ``C`` for integer labels.

    Returns:
      ``[..., C]`` floating labels (float32 for integer or half inputs).
      Out-of-range integer labels raise ``ValueError`` eagerly; NaN rows under ``jit``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.smooth_labels(jnp.array([0, 2]), 0.3, num_classes=3)
      Array([[0.8, 0.1, 0.1],
             [0.1, 0.1, 0.8]], dtype=float32)

    References:
      Szegedy et al. 2016 (Inception-v3); Müller et al., `When does label
      smoothing help? <https://arxiv.org/abs/1906.02629>`_; optax ``smooth_labels``.
    """
    with calling("smooth_labels"):
        if jnp.issubdtype(contracts._dtype(labels), jnp.integer):
            if num_classes is None:
                raise ValueError("smooth_labels: num_classes is required for integer labels")
            safe, _, bad = class_labels(labels, num_classes)
            dtype = compute_dtype()
            y = poison(jax.nn.one_hot(safe, num_classes, dtype=dtype), bad[..., None])
        else:
            contracts.floating(labels=labels)
            contracts.min_rank(labels, 1, "labels")
            if num_classes is not None and np.shape(labels)[-1] != num_classes:
                raise ValueError(
                    f"smooth_labels: labels has shape {tuple(np.shape(labels))} but "
                    f"num_classes={num_classes}"
                )
            (y,) = upcast(labels)
        eps = param(epsilon, y.dtype)
        return (1 - eps) * y + eps / y.shape[-1]


def class_balanced_weights(counts: Any, *, beta: Any = 0.999) -> jax.Array:
    r"""Class-balanced weights from the effective number of samples (Cui et al. 2019).

    .. math:: w_c \propto \frac{1 - \beta}{1 - \beta^{n_c}}, \qquad \sum_c w_c = C

    Classes with ``n_c = 0`` get weight 0 (their effective number is 0). Use the
    result as ``class_weights=`` of :func:`softmax_cross_entropy` or as
    ``alpha=`` of :func:`softmax_focal_loss`.

    Args:
      counts: ``[C]`` number of training samples per class (integer or float).
      beta: :math:`\beta \in [0, 1)`; float or traced array (differentiable).

    Returns:
      ``[C]`` weights summing to ``C`` (float32, or float64 for float64 counts).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.class_balanced_weights(jnp.array([1, 1]), beta=0.9)
      Array([1., 1.], dtype=float32)
      >>> jaxloss.class_balanced_weights(jnp.array([10, 1000]), beta=0.99)
      Array([1.8254471 , 0.17455284], dtype=float32)

    References:
      Cui et al., `Class-Balanced Loss Based on Effective Number of Samples
      <https://arxiv.org/abs/1901.05555>`_, CVPR 2019.
    """
    with calling("class_balanced_weights"):
        contracts.rank(counts, 1, "counts", "one count per class")
        dtype = compute_dtype(counts)
        n = jnp.asarray(counts, dtype)
        b = param(beta, dtype)
        present = n > 0
        # 1 - beta^n = -expm1(n log beta): no cancellation for beta -> 1.
        effective = -jnp.expm1(jnp.where(present, n, 1) * jnp.log(b))
        w = jnp.where(present, (1 - b) / effective, jnp.zeros((), dtype))
        return w * (n.shape[0] / jnp.sum(w))
