"""Cross-entropy losses: softmax / sigmoid cross-entropy, PolyLoss, label smoothing.

Integer labels are class indices over ``axis`` (the class axis is removed from
the ``"none"`` output); floating labels are per-class probabilities with the
shape of ``logits``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple, overload

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import calling
from .._src.deprecation import renamed
from .._src.labels import class_labels, poison
from .._src.numerics import compute_dtype, mul0, param, upcast
from .._src.reduce import broadcast, reduce
from .._src.registry import register
from .._src.scores import Scores, binary_scores, class_scores, is_zero, smooth, take
from .._src.types import ArrayLike, Reduction

__all__ = [
    "class_balanced_weights",
    "poly1_cross_entropy",
    "poly_loss",
    "sigmoid_binary_cross_entropy",
    "smooth_labels",
    "softmax_cross_entropy",
]

_FAMILY = "classification"


class _CrossEntropy(NamedTuple):
    loss: jax.Array  # per-example loss, poisoned where labels are bad
    normalizer: jax.Array | None  # torch's w[y_i] mean denominator
    valid: jax.Array | None
    one_minus_pt: Callable[[], jax.Array]  # 1 - p_t (with smoothed labels), computed on demand


def _class_mask(axis_where: Any, logits: Any, axis: int) -> jax.Array | None:
    """``axis_where`` (the logits' shape) as a boolean mask with the class axis moved last."""
    if axis_where is None:
        return None
    shape = tuple(np.shape(logits))
    ax = contracts.axis_index(axis, len(shape), "logits")
    return jnp.moveaxis(broadcast(axis_where, shape, "axis_where", dtype=bool), ax, -1)


def _class_weight_vector(class_weights: Any, num_classes: int, dtype: Any) -> jax.Array | None:
    """The ``[C]`` ``class_weights`` checked and cast, or ``None``."""
    if class_weights is None:
        return None
    contracts.shape_is(class_weights, (num_classes,), "class_weights", "one weight per class")
    return jnp.asarray(class_weights, dtype)


def _masked_lse(x: jax.Array, include: jax.Array | None) -> jax.Array:
    """``logsumexp`` over the included entries of the last axis (optax ``where``).

    A row with nothing included gives 0 (not ``-inf``), and excluded entries get
    zero gradient (double ``where``), so the caller can zero such rows safely.
    """
    if include is None:
        return jax.nn.logsumexp(x, axis=-1)
    zero = jnp.zeros((), x.dtype)
    xs = jnp.where(include, x, zero)
    anything = jnp.any(include, axis=-1)
    top = jax.lax.stop_gradient(jnp.max(jnp.where(include, xs, -jnp.inf), axis=-1))
    top = jnp.where(anything, top, zero)
    total = jnp.sum(jnp.where(include, jnp.exp(xs - top[..., None]), zero), axis=-1)
    return jnp.log(jnp.where(anything, total, jnp.ones((), x.dtype))) + top


def _cross_entropy(
    c: Scores, label_smoothing: Any, class_weights: Any, include: jax.Array | None = None
) -> _CrossEntropy:
    """PyTorch ``cross_entropy`` per example, before reduction.

    ``include`` (``[..., C]``, optional) restricts the softmax and the sums to
    the included classes (optax ``where``); rows with nothing included are 0.
    """
    if include is not None:
        return _masked_cross_entropy(c, label_smoothing, class_weights, include)
    x = c.logits
    num_classes = x.shape[-1]
    cw = _class_weight_vector(class_weights, num_classes, x.dtype)
    lse = jax.nn.logsumexp(x, axis=-1)
    if c.integer:
        nll = lse - take(x, c.labels)
        w = None if cw is None else cw[c.labels]
        loss = nll if w is None else w * nll
        if not is_zero(label_smoothing):
            eps = param(label_smoothing, x.dtype)
            # sum_c w_c (-log p_c) = lse * sum(w) - <w, x>: no log_softmax array needed.
            if cw is None:
                uniform = num_classes * lse - jnp.sum(x, axis=-1)
            else:
                uniform = lse * jnp.sum(cw) - jnp.einsum("...c,c->...", x, cw)
            loss = (1 - eps) * loss + (eps / num_classes) * uniform

        def one_minus_pt() -> jax.Array:
            # -expm1(-nll) = 1 - p_t without cancellation. With smoothed labels y',
            # sum_c y'_c (1 - p_c) = (1 - eps)(1 - p_t) + eps (1 - 1/C).
            q = -jnp.expm1(-nll)
            if is_zero(label_smoothing):
                return q
            eps = param(label_smoothing, x.dtype)
            return (1 - eps) * q + eps * (1 - 1 / num_classes)

        return _CrossEntropy(c.poisoned(loss), w, c.valid, one_minus_pt)

    y = smooth(c.labels, label_smoothing)
    log_p = x - lse[..., None]
    wy = y if cw is None else y * jnp.broadcast_to(cw, y.shape)
    loss = -jnp.sum(mul0(wy, log_p), axis=-1)

    def one_minus_pt() -> jax.Array:
        return jnp.sum(y * (1 - jnp.exp(log_p)), axis=-1)

    return _CrossEntropy(loss, None, None, one_minus_pt)


def _masked_cross_entropy(
    c: Scores, label_smoothing: Any, class_weights: Any, include: jax.Array
) -> _CrossEntropy:
    """:func:`_cross_entropy` over the included classes only (optax ``where`` semantics).

    The softmax normaliser runs over the included classes; integer labels take
    their logit whether or not it is included (as optax's integer-label form);
    probability labels and the smoothing term sum over the included classes.
    """
    x = c.logits
    num_classes = x.shape[-1]
    zero = jnp.zeros((), x.dtype)
    anything = jnp.any(include, axis=-1)
    cw = _class_weight_vector(class_weights, num_classes, x.dtype)
    lse = _masked_lse(x, include)
    xs = jnp.where(include, x, zero)
    log_p = jnp.where(include, xs - lse[..., None], zero)
    if c.integer:
        nll = lse - take(x, c.labels)
        w = None if cw is None else cw[c.labels]
        loss = nll if w is None else w * nll
        if not is_zero(label_smoothing):
            eps = param(label_smoothing, x.dtype)
            wc = jnp.ones((num_classes,), x.dtype) if cw is None else cw
            uniform = -jnp.sum(
                jnp.where(include, jnp.broadcast_to(wc, x.shape) * log_p, zero), axis=-1
            )
            loss = (1 - eps) * loss + (eps / num_classes) * uniform
        loss = jnp.where(anything, loss, zero)

        def one_minus_pt() -> jax.Array:
            q = jnp.where(anything, -jnp.expm1(-jnp.where(anything, nll, zero)), zero)
            if is_zero(label_smoothing):
                return q
            eps = param(label_smoothing, x.dtype)
            p = jnp.where(include, jnp.exp(log_p), zero)
            rest = jnp.sum(jnp.where(include, 1 - p, zero), axis=-1)
            return (1 - eps) * q + (eps / num_classes) * rest

        return _CrossEntropy(c.poisoned(loss), w, c.valid, one_minus_pt)

    y = smooth(c.labels, label_smoothing)
    wy = y if cw is None else y * jnp.broadcast_to(cw, y.shape)
    loss = -jnp.sum(jnp.where(include, mul0(wy, log_p), zero), axis=-1)

    def one_minus_pt() -> jax.Array:
        return jnp.sum(jnp.where(include, y * (1 - jnp.exp(log_p)), zero), axis=-1)

    return _CrossEntropy(loss, None, None, one_minus_pt)


# --------------------------------------------------------------------------- softmax CE


@overload
def softmax_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = ...,
    label_smoothing: float | ArrayLike = ...,
    class_weights: ArrayLike | Sequence[float] | None = ...,
    ignore_index: int | None = ...,
    softcap: float | ArrayLike | None = ...,
    z_loss: float | ArrayLike = ...,
    return_aux: Literal[False] = ...,
    axis_where: ArrayLike | None = ...,
    weights: ArrayLike | None = ...,
    where: ArrayLike | None = ...,
    reduction: Reduction = ...,
) -> jax.Array: ...


@overload
def softmax_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = ...,
    label_smoothing: float | ArrayLike = ...,
    class_weights: ArrayLike | Sequence[float] | None = ...,
    ignore_index: int | None = ...,
    softcap: float | ArrayLike | None = ...,
    z_loss: float | ArrayLike = ...,
    return_aux: Literal[True],
    axis_where: ArrayLike | None = ...,
    weights: ArrayLike | None = ...,
    where: ArrayLike | None = ...,
    reduction: Reduction = ...,
) -> tuple[jax.Array, dict[str, jax.Array]]: ...


@register(
    _FAMILY,
    reference="torch.nn.functional.cross_entropy; optax.softmax_cross_entropy",
    aliases=("cross_entropy",),
)
def softmax_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    label_smoothing: float | ArrayLike = 0.0,
    class_weights: ArrayLike | Sequence[float] | None = None,
    ignore_index: int | None = None,
    softcap: float | ArrayLike | None = None,
    z_loss: float | ArrayLike = 0.0,
    return_aux: bool = False,
    axis_where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
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
      softcap: optional :math:`c > 0`: the logits become :math:`c \tanh(z / c)`
        first (Gemma 2's logit soft-capping; Liger's ``softcap``); float or
        traced array (differentiable).
      z_loss: :math:`\lambda_z \ge 0`: adds PaLM's :math:`\lambda_z
        (\log\sum_c e^{z_c})^2` per example. ``"mean"`` divides it by the number
        of counted examples even with ``class_weights`` (Liger's rule); float or
        traced array (differentiable).
      return_aux: also return a dict of ``stop_gradient`` metrics over the
        counted examples (not ignored, not masked): ``"z_loss"``, the mean of
        the z-loss term (already in the loss), and ``"accuracy"``, the mean of
        :math:`[\arg\max_c z_c = y]` (ties take the first index; the argmax of
        probability labels), both independent of ``reduction``.
      axis_where: optional boolean mask with the shape of ``logits``: the
        classes to include (optax ``where``). The softmax normaliser, the
        probability-label sum and the smoothing sum run over the included
        classes; an integer label takes its logit even where it is excluded
        (as optax's integer-label form). An example with nothing included is 0
        with zero gradient. (``where=`` masks whole examples.)
      weights: optional per-example weights broadcastable to the ``"none"`` output.
      where: optional boolean mask with the shape of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``logits.shape`` without ``axis`` for
      ``"none"`` (ignored and masked examples are 0); ``(loss, aux)`` with
      ``return_aux=True``. Out-of-range integer labels raise ``ValueError``
      eagerly and give NaN under ``jit``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[1.2, -0.8, -0.5], [0.9, -1.2, 1.1]])
      >>> jaxloss.softmax_cross_entropy(logits, jnp.array([0, 1]), reduction="none")
      Array([0.27612972, 2.951799  ], dtype=float32)
      >>> jaxloss.softmax_cross_entropy(logits, jnp.array([0, -100]), ignore_index=-100)
      Array(0.2761, dtype=float32)

    References:
      PyTorch ``torch.nn.functional.cross_entropy``; optax ``softmax_cross_entropy``
      and ``softmax_cross_entropy_with_integer_labels``; z-loss from PaLM
      (https://arxiv.org/abs/2204.02311); soft-capping from Gemma 2
      (https://arxiv.org/abs/2408.00118); Liger-Kernel's cross-entropy options.
    """
    contracts.bounded(label_smoothing, "label_smoothing", ge=0, le=1)
    contracts.bounded(z_loss, "z_loss", ge=0)
    if softcap is not None:
        contracts.bounded(softcap, "softcap", gt=0)
    c = class_scores(logits, labels, axis=axis, ignore_index=ignore_index, where=where)
    include = _class_mask(axis_where, logits, axis)
    if softcap is not None:
        cap = param(softcap, c.logits.dtype)
        c = c._replace(logits=cap * jnp.tanh(c.logits / cap))
    ce = _cross_entropy(c, label_smoothing, class_weights, include)
    loss = reduce(
        ce.loss, reduction, weights=weights, where=c.where, valid=ce.valid, normalizer=ce.normalizer
    )
    z_term = None
    if not is_zero(z_loss) or return_aux:
        z_term = param(z_loss, c.logits.dtype) * jnp.square(_masked_lse(c.logits, include))
    if not is_zero(z_loss) and z_term is not None:
        loss = loss + reduce(z_term, reduction, weights=weights, where=c.where, valid=ce.valid)
    if not return_aux or z_term is None:
        return loss
    scores = c.logits if include is None else jnp.where(include, c.logits, -jnp.inf)
    guess = jnp.argmax(scores, axis=-1)
    truth = c.labels.astype(guess.dtype) if c.integer else jnp.argmax(c.labels, axis=-1)
    hit = (guess == truth).astype(c.logits.dtype)
    aux = {
        "z_loss": reduce(z_term, "mean", where=c.where, valid=ce.valid),
        "accuracy": reduce(hit, "mean", where=c.where, valid=ce.valid),
    }
    return loss, jax.lax.stop_gradient(aux)


# --------------------------------------------------------------------------- PolyLoss


@register(
    _FAMILY,
    reference="Leng et al. 2022 (PolyLoss); optax.poly_loss_cross_entropy",
    aliases=("poly_n_loss",),
)
def poly_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    epsilons: Sequence[float | ArrayLike] | ArrayLike = (1.0,),
    axis: int = -1,
    label_smoothing: float | ArrayLike = 0.0,
    ignore_index: int | None = None,
    axis_where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
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
      axis_where: optional boolean mask with the shape of ``logits``: the
        classes to include (optax ``poly_loss_cross_entropy``'s ``where``); the
        softmax and both sums run over them, as in
        :func:`softmax_cross_entropy`. An example with nothing included is 0
        with zero gradient.
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
    contracts.bounded(label_smoothing, "label_smoothing", ge=0, le=1)
    c = class_scores(logits, labels, axis=axis, ignore_index=ignore_index, where=where)
    ce = _cross_entropy(c, label_smoothing, None, _class_mask(axis_where, logits, axis))
    q = ce.one_minus_pt()
    if isinstance(epsilons, (list, tuple)):
        coefficients = [param(e, q.dtype) for e in epsilons]
    else:
        array = jnp.asarray(epsilons, q.dtype)
        contracts.rank(array, 1, "epsilons", "one coefficient per polynomial term")
        coefficients = list(array)
    poly = sum((e * q**j for j, e in enumerate(coefficients, start=1)), jnp.zeros_like(q))
    return reduce(ce.loss + poly, reduction, weights=weights, where=c.where, valid=ce.valid)


@register(
    _FAMILY,
    reference="Leng et al. 2022 (Poly-1); optax.poly_loss_cross_entropy",
    aliases=("poly1",),
)
def poly1_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    epsilon: float | ArrayLike = 1.0,
    axis: int = -1,
    label_smoothing: float | ArrayLike = 0.0,
    ignore_index: int | None = None,
    axis_where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
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
      axis_where: optional boolean mask with the shape of ``logits``: the
        classes to include (optax ``where``); see :func:`poly_loss`.
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
    contracts.bounded(label_smoothing, "label_smoothing", ge=0, le=1)
    return poly_loss(
        logits,
        labels,
        epsilons=(epsilon,),
        axis=axis,
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        axis_where=axis_where,
        weights=weights,
        where=where,
        reduction=reduction,
    )


# --------------------------------------------------------------------------- sigmoid BCE


@register(
    _FAMILY,
    reference="torch.nn.functional.binary_cross_entropy_with_logits",
    aliases=("bce_with_logits",),
)
def sigmoid_binary_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    pos_weight: ArrayLike | Sequence[float] | None = None,
    label_smoothing: float | ArrayLike = 0.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
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
    contracts.bounded(label_smoothing, "label_smoothing", ge=0, le=1)
    b = binary_scores(logits, labels, where=where)
    x, y = b.logits, b.labels
    if not is_zero(label_smoothing):
        eps = param(label_smoothing, x.dtype)
        y = (1 - eps) * y + eps / 2
    positive = jax.nn.softplus(-x)  # -log sigmoid(x), stable for large |x|
    if pos_weight is not None:
        positive = broadcast(pos_weight, x.shape, "pos_weight", dtype=x.dtype) * positive
    loss = mul0(y, positive) + mul0(1 - y, jax.nn.softplus(x))
    return reduce(loss, reduction, weights=weights, where=b.where)


# --------------------------------------------------------------------------- utilities


@renamed(epsilon="label_smoothing")
def smooth_labels(
    labels: ArrayLike, label_smoothing: float | ArrayLike, *, num_classes: int | None = None
) -> jax.Array:
    r"""Label smoothing: integer or one-hot labels to a smoothed distribution.

    .. math:: \tilde y = (1 - \epsilon)\, y + \epsilon / C

    Args:
      labels: integer class indices ``[...]`` (then ``num_classes`` is
        required) or floating one-hot / probability labels ``[..., C]``.
      label_smoothing: :math:`\epsilon \in [0, 1]`; float or traced array (the
        deprecated keyword ``epsilon=`` still works, with a ``DeprecationWarning``).
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
    contracts.bounded(label_smoothing, "label_smoothing", ge=0, le=1)
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
        eps = param(label_smoothing, y.dtype)
        return (1 - eps) * y + eps / y.shape[-1]


def class_balanced_weights(counts: ArrayLike, *, beta: float | ArrayLike = 0.999) -> jax.Array:
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
