"""Losses on probabilities and log-probabilities (PyTorch and Keras names).

These take the output of a softmax / sigmoid / log-softmax, not logits:
``nll_loss`` (torch ``F.nll_loss``), ``binary_cross_entropy`` (torch
``F.binary_cross_entropy`` or, with ``eps=``, Keras ``BinaryCrossentropy``),
``categorical_cross_entropy`` (Keras ``CategoricalCrossentropy`` /
``SparseCategoricalCrossentropy``) and ``generalized_cross_entropy`` (Keras
``CategoricalGeneralizedCrossEntropy``, also on logits). For logits use
:func:`~jaxloss.softmax_cross_entropy` and
:func:`~jaxloss.sigmoid_binary_cross_entropy`.
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

__all__ = [
    "binary_cross_entropy",
    "categorical_cross_entropy",
    "generalized_cross_entropy",
    "nll_loss",
]

_FAMILY = "classification"
# Keras's backend.epsilon(): the clip of probability inputs (API.md 3.0, from_logits=False).
_KERAS_EPSILON = 1e-7
# torch's clamp of the logs in binary_cross_entropy and the floor of its backward's denominator.
_TORCH_LOG_FLOOR = -100.0
_TORCH_BACKWARD_FLOOR = 1e-12


# --------------------------------------------------------------------------- nll


@register(_FAMILY, reference="torch.nn.functional.nll_loss")
def nll_loss(
    log_probs: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    class_weights: ArrayLike | Sequence[float] | None = None,
    ignore_index: int | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Negative log-likelihood of integer labels given log-probabilities (PyTorch ``nll_loss``).

    .. math:: \ell_i = -w_{y_i}\, x_{i y_i}

    with ``x = log_probs`` (usually ``log_softmax`` outputs). No softmax is
    applied: the gradient w.r.t. ``log_probs`` is :math:`-w_{y_i}` at the label
    and 0 elsewhere, which differs from
    :func:`~jaxloss.softmax_cross_entropy` applied to the same array.

    ``"mean"`` follows torch: :math:`\sum_i w_{y_i} \ell_i / \sum_i w_{y_i}` over
    the non-ignored examples (the number of them without ``class_weights``);
    ``weights=`` multiply both sums.

    Differences from torch: when every example is ignored or masked the mean
    is 0 with zero gradients (torch returns NaN); a NaN anywhere in an
    example's log-probabilities makes its loss NaN (torch reads only the
    labelled entry).

    Args:
      log_probs: ``[..., C, ...]`` floating log-probabilities, classes along ``axis``.
      labels: integer class indices with the shape of ``log_probs`` without ``axis``.
      axis: the class axis (``1`` for PyTorch's ``[N, C, d1, ...]`` layout).
      class_weights: optional ``[C]`` weights :math:`w_c` (PyTorch ``weight``).
      ignore_index: integer label whose examples are excluded. PyTorch's default
        is ``-100``; here it must be passed explicitly.
      weights: optional per-example weights broadcastable to the ``"none"`` output.
      where: optional boolean mask with the shape of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``log_probs.shape`` without ``axis`` for
      ``"none"`` (ignored and masked examples are 0). Out-of-range labels raise
      ``ValueError`` eagerly and give NaN under ``jit``.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxloss
      >>> log_probs = jax.nn.log_softmax(jnp.array([[1.2, -0.8, -0.5], [0.9, -1.2, 1.1]]))
      >>> jaxloss.nll_loss(log_probs, jnp.array([0, 1]), reduction="none")
      Array([0.2761297, 2.951799 ], dtype=float32)
      >>> jaxloss.nll_loss(log_probs, jnp.array([0, -100]), ignore_index=-100)
      Array(0.2761297, dtype=float32)

    References:
      PyTorch ``torch.nn.functional.nll_loss`` / ``torch.nn.NLLLoss``.
    """
    c = class_scores(
        log_probs,
        labels,
        axis=axis,
        ignore_index=ignore_index,
        where=where,
        integer_only=True,
        what="log_probs",
    )
    x = c.logits
    loss = -take(x, c.labels)
    # NaN anywhere in an example's log-probabilities reaches its loss (torch gathers past it).
    loss = jnp.where(jnp.any(jnp.isnan(x), axis=-1), jnp.asarray(jnp.nan, x.dtype), loss)
    w = None
    if class_weights is not None:
        contracts.shape_is(class_weights, (x.shape[-1],), "class_weights", "one weight per class")
        w = jnp.asarray(class_weights, x.dtype)[c.labels]
        loss = w * loss
    return reduce(
        c.poisoned(loss), reduction, weights=weights, where=c.where, valid=c.valid, normalizer=w
    )


# --------------------------------------------------------------------------- binary


@jax.custom_vjp
def _torch_bce(p: jax.Array, y: jax.Array) -> jax.Array:
    """torch ``binary_cross_entropy`` elementwise, with torch's backward."""
    return _torch_bce_fwd(p, y)[0]


def _torch_bce_fwd(p, y):
    floor = jnp.asarray(_TORCH_LOG_FLOOR, p.dtype)
    log_p = jnp.maximum(jnp.log(p), floor)
    log_1mp = jnp.maximum(jnp.log1p(-p), floor)
    return -(y * log_p + (1 - y) * log_1mp), (p, y, log_p, log_1mp)


def _torch_bce_bwd(res, g):
    p, y, log_p, log_1mp = res
    # torch: (p - y) / max(p (1 - p), 1e-12); finite at p in {0, 1}.
    gp = g * (p - y) / jnp.maximum(p * (1 - p), jnp.asarray(_TORCH_BACKWARD_FLOOR, p.dtype))
    # torch's target gradient is -logit(p) (infinite at p in {0, 1}); the clamped logs keep it finite.
    gy = g * (log_1mp - log_p)
    return gp, gy


_torch_bce.defvjp(_torch_bce_fwd, _torch_bce_bwd)


@register(
    _FAMILY,
    reference="torch.nn.functional.binary_cross_entropy; keras.losses.BinaryCrossentropy",
    aliases=("bce",),
)
def binary_cross_entropy(
    probabilities: ArrayLike,
    labels: ArrayLike,
    *,
    eps: float | ArrayLike | None = None,
    label_smoothing: float | ArrayLike = 0.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Binary cross-entropy of probabilities (PyTorch ``BCELoss``, or Keras with ``eps=``).

    .. math:: \ell = -\bigl(\tilde y \log p + (1 - \tilde y) \log(1 - p)\bigr),
       \qquad \tilde y = y (1 - \lambda) + \lambda / 2

    ``eps=None`` (default) is ``torch.nn.functional.binary_cross_entropy``:
    each log is clamped at :math:`-100`, and the gradient is torch's
    :math:`(p - \tilde y) / \max(p (1 - p), 10^{-12})`, finite at
    :math:`p \in \{0, 1\}` (a ``custom_vjp``). ``eps=1e-7`` is Keras
    ``BinaryCrossentropy(from_logits=False)``: :math:`p` is clipped to
    :math:`[\epsilon, 1 - \epsilon]` with zero gradient outside. Label smoothing
    :math:`\lambda` is Keras's (torch has none).

    Differences from the anchors: torch raises for probabilities outside
    ``[0, 1]``; here they give NaN in the torch form (the Keras form clips
    them). torch's gradient w.r.t. the targets is :math:`-\mathrm{logit}(p)`,
    infinite at :math:`p \in \{0, 1\}`; here it uses the clamped logs, so it
    stays finite (equal elsewhere). Keras averages over the last axis
    before the batch; with equal row lengths its default equals ``"mean"``
    here, whose ``"none"`` output is elementwise.

    Args:
      probabilities: floating probabilities :math:`p \in [0, 1]`, any shape.
      labels: targets :math:`y \in [0, 1]` with the same shape (any numeric dtype).
      eps: ``None`` for torch's semantics, or Keras's clip :math:`\epsilon`
        (``1e-7``, ``keras.config.epsilon()``) in ``(0, 0.5)``.
      label_smoothing: :math:`\lambda \in [0, 1]`; float or traced array.
      weights: optional weights broadcastable to the elementwise loss.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, y = jnp.array([0.9, 0.2, 0.0]), jnp.array([1.0, 0.0, 1.0])
      >>> jaxloss.binary_cross_entropy(p, y, reduction="none")  # torch: log 0 clamped at -100
      Array([  0.10536055,   0.22314355, 100.        ], dtype=float32)
      >>> jaxloss.binary_cross_entropy(p, y, eps=1e-7, reduction="none")  # Keras
      Array([ 0.10536055,  0.22314355, 16.118095  ], dtype=float32)

    References:
      PyTorch ``torch.nn.functional.binary_cross_entropy`` / ``torch.nn.BCELoss``;
      Keras ``keras.losses.BinaryCrossentropy(from_logits=False)``.
    """
    contracts.bounded(label_smoothing, "label_smoothing", ge=0, le=1)
    contracts.bounded(eps, "eps", gt=0, lt=0.5)
    b = binary_scores(
        probabilities,
        labels,
        where=where,
        what="probabilities",
        hint="binary labels have the shape of probabilities",
    )
    p, y = b.logits, b.labels
    if not is_zero(label_smoothing):
        ls = param(label_smoothing, p.dtype)
        y = y * (1 - ls) + 0.5 * ls
    if eps is None:
        loss = _torch_bce(p, y)
    else:
        e = param(eps, p.dtype)
        pc = jnp.clip(p, e, 1 - e)
        loss = -(y * jnp.log(pc) + (1 - y) * jnp.log1p(-pc))
    return reduce(loss, reduction, weights=weights, where=b.where)


# --------------------------------------------------------------------------- categorical


@register(
    _FAMILY,
    reference="keras.losses.CategoricalCrossentropy; keras.losses.SparseCategoricalCrossentropy",
    aliases=("categorical_crossentropy",),
)
def categorical_cross_entropy(
    probabilities: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    eps: float | ArrayLike = _KERAS_EPSILON,
    label_smoothing: float | ArrayLike = 0.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Categorical cross-entropy of probabilities (Keras, ``from_logits=False``).

    .. math:: \ell_i = -\sum_c \tilde y_{ic} \log \operatorname{clip}\Bigl(
       \frac{p_{ic}}{\sum_k p_{ik}}, \epsilon, 1 - \epsilon\Bigr),
       \qquad \tilde y = (1 - \lambda) y + \lambda / C

    The probabilities are renormalised over ``axis`` and clipped (zero gradient
    outside the clip), as Keras ``CategoricalCrossentropy``. Integer labels are
    the sparse form (Keras ``SparseCategoricalCrossentropy``), equal to one-hot
    labels. For logits use :func:`~jaxloss.softmax_cross_entropy`.

    Differences from the anchors: Keras's ``SparseCategoricalCrossentropy`` has
    no label smoothing; here ``label_smoothing`` applies to integer labels too
    (as to their one-hot form). A row of probabilities summing to 0 has no
    normalisation and gives NaN, as in Keras.

    Args:
      probabilities: ``[..., C, ...]`` non-negative class probabilities along ``axis``.
      labels: integer class indices with the shape of ``probabilities`` without
        ``axis``, or floating probabilities with the shape of ``probabilities``.
      axis: the class axis.
      eps: the clip :math:`\epsilon` (Keras's ``backend.epsilon()``, ``1e-7``), in ``(0, 0.5)``.
      label_smoothing: :math:`\lambda \in [0, 1]`; float or traced array.
      weights: optional per-example weights broadcastable to the ``"none"`` output.
      where: optional boolean mask with the shape of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``probabilities.shape`` without ``axis``
      for ``"none"``. Out-of-range integer labels raise ``ValueError`` eagerly and
      give NaN under ``jit``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])  # Keras docs example
      >>> jaxloss.categorical_cross_entropy(p, jnp.array([1, 2]))
      Array(1.1769392, dtype=float32)

    References:
      Keras ``keras.losses.CategoricalCrossentropy`` and
      ``keras.losses.SparseCategoricalCrossentropy`` (``from_logits=False``).
    """
    contracts.bounded(label_smoothing, "label_smoothing", ge=0, le=1)
    contracts.bounded(eps, "eps", gt=0, lt=0.5)
    c = class_scores(probabilities, labels, axis=axis, where=where, what="probabilities")
    p = c.logits
    if c.where is not None:  # masked rows are 0 after class_scores: keep them normalisable
        p = jnp.where(c.where[..., None], p, jnp.ones((), p.dtype))
    e = param(eps, p.dtype)
    log_p = jnp.log(jnp.clip(p / jnp.sum(p, axis=-1, keepdims=True), e, 1 - e))
    num_classes = p.shape[-1]
    if c.integer:
        y = is_label(c.labels, num_classes).astype(p.dtype)
    else:
        y = c.labels
    y = smooth(y, label_smoothing)
    loss = -jnp.sum(mul0(y, log_p), axis=-1)
    return reduce(c.poisoned(loss), reduction, weights=weights, where=c.where)


# --------------------------------------------------------------------------- GCE


@register(
    _FAMILY,
    reference="Zhang & Sabuncu 2018; keras.losses.CategoricalGeneralizedCrossEntropy",
    aliases=("gce",),
)
def generalized_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    q: float | ArrayLike = 0.5,
    from_logits: bool = True,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Generalized cross-entropy (GCE), a noise-robust loss between CE and MAE.

    .. math:: \ell_i = \frac{1 - p_{i y_i}^{\,q}}{q}

    With ``from_logits=True`` (default) :math:`p = \mathrm{softmax}(z)` and
    :math:`p^q = \exp(q \log\mathrm{softmax}(z))`, finite with finite
    gradients for any logits. With ``from_logits=False`` the inputs are
    probabilities, as Keras ``CategoricalGeneralizedCrossEntropy``; they are
    clipped to :math:`[10^{-7}, 1 - 10^{-7}]` (API.md 3.0) so the gradient
    :math:`-p^{q-1}` stays finite at :math:`p = 0`. As :math:`q \to 0` the loss
    tends to cross-entropy; :math:`q = 1` is :math:`1 - p_y` (MAE).

    Probability labels give :math:`\sum_c y_c (1 - p_c^q) / q` (the integer form
    for one-hot labels).

    Differences from Keras: Keras takes probabilities only (``from_logits`` is
    ours), does not clip them (its gradient is infinite at :math:`p = 0`; the
    clip changes values by less than :math:`10^{-7}`), and accepts
    :math:`0 < q < 1`; here :math:`q = 1` is allowed (the paper's range
    :math:`(0, 1]`).

    Args:
      logits: ``[..., C, ...]`` logits (or probabilities with ``from_logits=False``),
        classes along ``axis``.
      labels: integer class indices (``logits.shape`` without ``axis``) or
        probabilities (``logits.shape``).
      q: :math:`q \in (0, 1]`; float or traced array.
      from_logits: whether ``logits`` are logits (``True``) or probabilities (static).
      axis: the class axis.
      weights: optional per-example weights broadcastable to the ``"none"`` output.
      where: optional boolean mask with the shape of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``logits.shape`` without ``axis`` for
      ``"none"``. Out-of-range integer labels raise ``ValueError`` eagerly and
      give NaN under ``jit``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4], [0.4, 0.6]])  # Keras docs example
      >>> jaxloss.generalized_cross_entropy(p, jnp.array([0, 1, 0, 1]), from_logits=False)
      Array(0.35985968, dtype=float32)

    References:
      Zhang & Sabuncu, `Generalized Cross Entropy Loss for Training Deep Neural
      Networks with Noisy Labels <https://arxiv.org/abs/1805.07836>`_, NeurIPS 2018;
      Keras ``keras.losses.CategoricalGeneralizedCrossEntropy``.
    """
    contracts.bounded(q, "q", gt=0, le=1)
    contracts.choice(from_logits, (True, False), "from_logits")
    c = class_scores(logits, labels, axis=axis, where=where)
    x = c.logits
    qq = param(q, x.dtype)
    if from_logits:
        log_p = jax.nn.log_softmax(x, axis=-1)
    else:
        log_p = jnp.log(jnp.clip(x, _KERAS_EPSILON, 1 - _KERAS_EPSILON))
    if c.integer:
        loss = -jnp.expm1(qq * take(log_p, c.labels)) / qq
    else:
        loss = jnp.sum(c.labels * -jnp.expm1(qq * log_p), axis=-1) / qq
    return reduce(c.poisoned(loss), reduction, weights=weights, where=c.where)
