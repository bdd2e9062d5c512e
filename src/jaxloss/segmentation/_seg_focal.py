"""MONAI's ``FocalLoss`` on dense class maps: sigmoid per channel or softmax over the classes.

The elementwise terms (:func:`focal_terms`) are shared with :func:`._compound.dice_focal_loss`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal, NamedTuple, TypeAlias

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import function_name
from .._src.labels import poison
from .._src.numerics import param
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._inputs import class_maps

__all__ = ["segmentation_focal_loss"]

_FAMILY = "segmentation"

FocalActivation: TypeAlias = Literal["sigmoid", "softmax"]


def _pow(log_q: jax.Array, gamma: jax.Array) -> jax.Array:
    """``q ** gamma`` from ``log q``, with ``0 ** 0 = 1`` (torch's ``pow``)."""
    return jnp.where(gamma == 0, jnp.ones((), log_q.dtype), jnp.exp(gamma * log_q))


def _sigmoid_focal(x: jax.Array, t: jax.Array, gamma: jax.Array) -> jax.Array:
    """MONAI's ``sigmoid_focal_loss`` without alpha: ``BCE(x, t) * exp(gamma * logsigmoid(-x (2t - 1)))``.

    Everything is in log space, so plain autodiff is finite for any logits and any
    ``gamma >= 0`` (the derivative of ``exp(gamma log q)`` never forms ``q^(gamma - 1)``).
    """
    ce = jax.nn.relu(x) - x * t + jnp.log1p(jnp.exp(-jnp.abs(x)))
    return ce * _pow(jax.nn.log_sigmoid(-x * (2 * t - 1)), gamma)


@jax.custom_vjp
def _sigmoid_focal_binary(x: jax.Array, t: jax.Array, gamma: jax.Array) -> jax.Array:
    """:func:`_sigmoid_focal` for 0/1 targets (integer labels): with ``z = -x (2t - 1)``,
    ``BCE = softplus(z)`` and ``log(1 - p_t) = log_sigmoid(z) = -softplus(-z)`` share one
    ``log1p(exp(-|x|))``, and the backward is the closed form
    ``d/dz = q^gamma (sigmoid(z) + gamma softplus(z) sigmoid(-z))``, ``q = sigmoid(z)``: three
    transcendental passes forward instead of five, one fused pass backward.
    """
    return _sigmoid_focal_binary_fwd(x, t, gamma)[0]


def _sigmoid_binary_parts(
    x: jax.Array, t: jax.Array, gamma: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(softplus(z), log_sigmoid(z), q^gamma)`` with ``z = -x`` where ``t = 1``, ``x`` where ``t = 0``."""
    z = jnp.where(t > 0, -x, x)
    shared = jnp.log1p(jnp.exp(-jnp.abs(x)))  # |z| = |x|
    bce = jax.nn.relu(z) + shared
    log_q = -(jax.nn.relu(-z) + shared)
    return bce, log_q, _pow(log_q, gamma)


def _sigmoid_focal_binary_fwd(x, t, gamma):
    bce, _, focal = _sigmoid_binary_parts(x, t, gamma)
    return bce * focal, (x, t, gamma)


def _sigmoid_focal_binary_bwd(res, g):
    x, t, gamma = res
    bce, log_q, focal = _sigmoid_binary_parts(x, t, gamma)
    # sigmoid(z) = exp(log_q), sigmoid(-z) = exp(-softplus(z)): both without cancellation
    dz = focal * (jnp.exp(log_q) + gamma * bce * jnp.exp(-bce))
    dx = g * jnp.where(t > 0, -dz, dz)
    # d/dgamma q^gamma = q^gamma log q (0 at gamma = 0, where _pow is the constant 1)
    dgamma = jnp.where(gamma == 0, jnp.zeros((), x.dtype), g * bce * focal * log_q)
    return dx, jnp.zeros_like(t), jnp.sum(dgamma).reshape(jnp.shape(gamma))


_sigmoid_focal_binary.defvjp(_sigmoid_focal_binary_fwd, _sigmoid_focal_binary_bwd)


@jax.custom_vjp
def _softmax_focal(x: jax.Array, gamma: jax.Array) -> jax.Array:
    """``-(1 - p_c) ** gamma * log p_c`` for every channel ``c`` of ``p = softmax(x)`` (last axis)."""
    return _softmax_focal_fwd(x, gamma)[0]


def _softmax_parts(x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(log p, log q, q)`` with ``q = 1 - p`` per channel, without cancellation as ``p -> 1``.

    Only the largest channel can have ``p > 1/2``; its ``1 - p`` is the sum of the other
    channels' exponentials (no subtraction), its ``log p = -log1p(rest)``.
    """
    m = jnp.max(x, axis=-1, keepdims=True)
    e = jnp.exp(x - m)
    s = jnp.sum(e, axis=-1, keepdims=True)
    top = jax.nn.one_hot(jnp.argmax(x, axis=-1), x.shape[-1], dtype=bool)
    rest = jnp.sum(jnp.where(top, 0, e), axis=-1, keepdims=True)
    log_s = jnp.log(s)
    log_p = jnp.where(top, -jnp.log1p(rest), x - m - log_s)
    p = jnp.exp(log_p)
    safe_rest = jnp.where(rest > 0, rest, 1)
    log_q_top = jnp.where(rest > 0, jnp.log(safe_rest), -jnp.inf) - log_s
    log_q = jnp.where(top, log_q_top, jnp.log1p(-jnp.where(top, 0, p)))
    return log_p, log_q, jnp.exp(log_q)


def _softmax_focal_fwd(x, gamma):
    log_p, log_q, _ = _softmax_parts(x)
    focal = _pow(log_q, gamma)
    return -focal * log_p, (x, gamma)


def _softmax_focal_bwd(res, g):
    x, gamma = res
    log_p, log_q, q = _softmax_parts(x)
    focal = _pow(log_q, gamma)
    zero = jnp.zeros((), x.dtype)
    p = jnp.exp(log_p)
    # r = p log p / q in [-1, 0], with the precise log p = log1p(-q) near p = 1 and the limit -1 at q = 0.
    lp = jnp.where(q < 0.5, jnp.log1p(-q), log_p)
    r = jnp.where(q > 0, jnp.exp(lp) * lp / jnp.where(q > 0, q, 1), -jnp.ones((), x.dtype))
    # p_c dh_c/dp_c = q^gamma (gamma r - 1); then the softmax Jacobian: dx_j = u_j - p_j sum_c u_c.
    u = g * focal * (gamma * r - 1)
    dx = u - p * jnp.sum(u, axis=-1, keepdims=True)
    dgamma = jnp.where(focal > 0, -focal * log_q * log_p, zero)
    return dx, jnp.sum(g * dgamma).reshape(jnp.shape(gamma))


_softmax_focal.defvjp(_softmax_focal_fwd, _softmax_focal_bwd)


class FocalTerms(NamedTuple):
    """Elementwise focal loss ``[B, *S, C']`` (channel-last) and its validity mask (from :func:`focal_terms`)."""

    loss: jax.Array
    valid: jax.Array | None


def drop_background(include_background: bool, *arrays: jax.Array) -> tuple[jax.Array, ...]:
    """Drops channel 0 of channel-last arrays (``include_background=False``); a single channel
    is kept with MONAI's warning."""
    if include_background:
        return arrays
    if arrays[0].shape[-1] == 1:
        warnings.warn(
            f"{function_name()}: single channel prediction, include_background=False ignored (as MONAI)",
            stacklevel=4,
        )
        return arrays
    return tuple(a[..., 1:] for a in arrays)


def _per_class(w: jax.Array, classes: int, ndim: int, what: str) -> jax.Array:
    """A scalar, or a ``[classes]`` vector reshaped to broadcast over channel-last arrays of rank ``ndim``."""
    contracts.rank(w, {0, 1}, what, "a scalar or one value per (kept) class")
    if w.ndim == 0:
        return w
    contracts.shape_is(
        w, (classes,), what, "one value per class, without class 0 when include_background=False"
    )
    return w.reshape((1,) * (ndim - 1) + (classes,))


def focal_terms(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    activation: FocalActivation,
    gamma: float | ArrayLike,
    alpha: float | ArrayLike | Sequence[float] | None,
    class_weights: ArrayLike | Sequence[float] | None,
    include_background: bool,
    ignore_index: int | None,
    axis: int,
) -> FocalTerms:
    """The prologue and MONAI's elementwise focal loss (alpha and class weights applied), channel-last."""
    contracts.choice(activation, ("sigmoid", "softmax"), "activation")
    contracts.bounded(gamma, "gamma", ge=0)
    contracts.bounded(alpha, "alpha", ge=0, le=1, scalar=False)
    contracts.bounded(class_weights, "class_weights", ge=0, scalar=False)
    prep = class_maps(predictions, targets, activation, ignore_index, axis=axis)
    assert prep.t is not None
    x, t = drop_background(include_background, prep.x, prep.t)
    classes = x.shape[-1]
    g = param(gamma, x.dtype)
    if activation == "sigmoid" and jnp.issubdtype(contracts._dtype(targets), jnp.integer):
        loss = _sigmoid_focal_binary(x, t, g)  # integer labels: t is exactly 0 or 1
    elif activation == "sigmoid":
        loss = _sigmoid_focal(x, t, g)
    else:
        loss = t * _softmax_focal(x, g)
    if alpha is not None:
        a = _per_class(param(alpha, x.dtype), classes, x.ndim, "alpha")
        if activation == "sigmoid":
            # Scalar: alpha on positives, 1 - alpha on negatives; per class: alpha_c where t == 1.
            factor = a * t + (1 - a) * (1 - t) if a.ndim == 0 else jnp.where(t == 1, a, 1)
            loss = factor * loss
        elif a.ndim > 0:
            loss = a * loss
        elif include_background or prep.x.shape[-1] == 1:
            factor = jnp.concatenate([1 - a[None], jnp.broadcast_to(a, (classes - 1,))])
            loss = factor.reshape((1,) * (x.ndim - 1) + (classes,)) * loss
        else:
            warnings.warn(
                f"{function_name()}: include_background=False, scalar alpha ignored when using "
                "softmax (as MONAI)",
                stacklevel=3,
            )
    if class_weights is not None:
        w = _per_class(param(class_weights, x.dtype), classes, x.ndim, "class_weights")
        loss = w * loss
    if prep.bad is not None:
        loss = poison(loss, prep.bad.reshape((-1,) + (1,) * (loss.ndim - 1)))
    valid = None if prep.m is None else jnp.broadcast_to(prep.m > 0, loss.shape)
    return FocalTerms(loss, valid)


@register(_FAMILY, reference="monai.losses.FocalLoss")
def segmentation_focal_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    activation: FocalActivation = "sigmoid",
    gamma: float | ArrayLike = 2.0,
    alpha: float | ArrayLike | Sequence[float] | None = None,
    class_weights: ArrayLike | Sequence[float] | None = None,
    include_background: bool = True,
    ignore_index: int | None = None,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Focal loss on dense class maps (MONAI ``FocalLoss`` semantics).

    Sigmoid (default, MONAI ``use_softmax=False``), per channel and pixel:

    .. math::
       \ell = \alpha_t \, w_c \, (1 - p_t)^\gamma \, \mathrm{BCE}(x, t), \qquad
       1 - p_t = \sigma(-x (2t - 1)), \quad \alpha_t = \alpha t + (1 - \alpha)(1 - t)

    Softmax (MONAI ``use_softmax=True``), with :math:`p = \mathrm{softmax}(x)` over the classes:

    .. math:: \ell_c = -\alpha_c \, w_c \, (1 - p_c)^\gamma \, t_c \log p_c

    A scalar :math:`\alpha` is :math:`1 - \alpha` on channel 0 and :math:`\alpha` on the
    others (softmax), a ``[C]`` vector is per class (sigmoid: applied where
    :math:`t = 1` only, 1 elsewhere, as MONAI). :math:`w_c` are ``class_weights``.
    The sigmoid form is computed in log space; the softmax form has a ``custom_vjp``
    whose closed-form gradient stays finite as :math:`p_c \to 1`, also for
    :math:`\gamma < 1`. Gradients flow to ``predictions``, float ``targets``,
    ``alpha``, ``class_weights`` and ``gamma``.

    Args:
      predictions: ``[batch, *spatial, classes]`` floating logits (1 to 3 spatial axes;
        the class axis is ``axis``).
      targets: integer class indices ``[batch, *spatial]`` (a binary mask with one
        channel) or floating one-hot / probability maps with the shape of ``predictions``.
      activation: ``"sigmoid"`` (default, per channel) or ``"softmax"`` over the classes
        (needs at least two).
      gamma: focusing exponent :math:`\gamma \ge 0`; float or traced array.
      alpha: ``None`` (default), a scalar in ``[0, 1]`` or a ``[classes]`` vector (without
        class 0 when ``include_background=False``).
      class_weights: scalar or ``[classes]`` non-negative factors per channel (MONAI's
        ``weight``); they multiply the loss and the mean stays plain.
      include_background: if ``False`` channel 0 is dropped from the logits **before** the
        softmax (MONAI); a scalar ``alpha`` is then ignored with softmax (MONAI's warning).
      ignore_index: pixels whose target is ``ignore_index`` are excluded (MONAI's
        ``ignore_index``, one-hot rules as :func:`dice_loss`).
      axis: the class axis: ``-1`` channel-last (default), ``1`` channels-first (MONAI's
        layout).
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output.
      reduction: ``"mean"`` (default: over batch, spatial positions and channels),
        ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; for ``"none"`` the elementwise loss with the
      shape (and layout) of ``predictions``, without channel 0 when
      ``include_background=False``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[[0.0], [2.0]]])  # [1 batch, 2 pixels, 1 channel]
      >>> jaxloss.segmentation_focal_loss(x, jnp.array([[1, 1]]), gamma=1.0)
      Array(0.1809, dtype=float32)

    References:
      Lin et al., `Focal Loss for Dense Object Detection
      <https://arxiv.org/abs/1708.02002>`_, 2017; MONAI ``monai.losses.FocalLoss``
      (``to_onehot_y=True`` for integer targets). Deliberate differences: with
      ``ignore_index``, ``"mean"`` divides by the number of valid (pixel, channel)
      entries (MONAI divides the channel sum by the number of valid pixels, i.e. it is
      ``C`` times larger); ``"sum"`` is the plain sum (MONAI's ``"sum"`` first averages
      over the spatial axes); ``activation="softmax"`` with one channel raises
      (MONAI returns 0).
    """
    terms = focal_terms(
        predictions,
        targets,
        activation=activation,
        gamma=gamma,
        alpha=alpha,
        class_weights=class_weights,
        include_background=include_background,
        ignore_index=ignore_index,
        axis=axis,
    )
    loss, valid = terms.loss, terms.valid
    ndim = loss.ndim
    ax = axis % ndim
    if ax != ndim - 1:
        loss = jnp.moveaxis(loss, -1, ax)
        valid = None if valid is None else jnp.moveaxis(valid, -1, ax)
    return reduce(loss, reduction, weights=weights, where=where, valid=valid)
