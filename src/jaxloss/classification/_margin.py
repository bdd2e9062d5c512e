"""Margin losses (hinge, perceptron, sparsemax) and CTC.

Binary losses take ``scores`` and ``labels`` of the same shape; labels may be
``{-1, +1}`` or ``{0, 1}`` (integer or floating): every label ``> 0`` is the
positive class, every other label the negative one. Multiclass forms take
integer class indices with the shape of ``scores`` without its last (class)
axis.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.labels import class_labels, poison
from .._src.numerics import compute_dtype, param, rows, upcast
from .._src.reduce import broadcast, reduce, sanitize
from .._src.registry import register
from ._cross_entropy import _is_label, _take

__all__ = [
    "ctc_loss",
    "hinge_loss",
    "multiclass_hinge_loss",
    "perceptron_loss",
    "sparsemax_loss",
    "squared_hinge_loss",
]

_FAMILY = "classification"


# --------------------------------------------------------------------------- preparation


def _signed(labels: Any, dtype: Any) -> jax.Array:
    """``{0, 1}`` or ``{-1, +1}`` labels (numeric or boolean) as ``+-1`` in ``dtype``."""
    labels = jnp.asarray(labels)
    positive = labels > jnp.zeros((), labels.dtype)
    signs = jnp.where(positive, jnp.ones((), dtype), -jnp.ones((), dtype))
    if jnp.issubdtype(labels.dtype, jnp.floating):
        # A NaN label has no sign: it must reach the loss (NaN in, NaN out), not read as -1.
        signs = jnp.where(jnp.isnan(labels), jnp.asarray(jnp.nan, dtype), signs)
    return signs


def _binary(scores: Any, labels: Any, where: Any, *, multiclass: bool = False,
            what: str = "scores"):
    """Checks same-shape binary inputs; returns upcast scores, ``+-1`` labels, the mask."""
    contracts.floating(**{what: scores})
    hint = f"binary labels have the shape of {what}" + (
        f"; integer class labels have {what}.shape without the last axis" if multiclass else "")
    contracts.same_shape(hint, **{what: scores, "labels": labels})
    dtype = contracts._dtype(labels)
    if not (jnp.issubdtype(dtype, jnp.number) or dtype == jnp.bool_):
        raise TypeError(f"{function_name()}: labels must be numeric, got {dtype}")
    (s,) = upcast(scores, dtype=compute_dtype(scores, labels))
    mask = None if where is None else broadcast(where, s.shape, "where", dtype=bool)
    return sanitize(s, mask), _signed(labels, s.dtype), mask


def _is_multiclass(scores: Any, labels: Any) -> bool:
    """Integer labels with one axis fewer than ``scores``: class indices over the last axis."""
    return bool(jnp.issubdtype(contracts._dtype(labels), jnp.integer)) and \
        np.ndim(labels) == np.ndim(scores) - 1


def _multiclass(scores: Any, labels: Any, where: Any, what: str = "scores"):
    """Checks ``[..., C]`` scores with ``[...]`` integer labels; returns scores, safe, bad, mask."""
    contracts.floating(**{what: scores})
    contracts.integer(labels=labels)
    contracts.min_rank(scores, 1, what)
    shape = tuple(np.shape(scores))
    if tuple(np.shape(labels)) != shape[:-1]:
        raise ValueError(
            f"{function_name()}: labels has shape {tuple(np.shape(labels))} but {what} has "
            f"shape {shape}; integer labels must have {what}.shape without the last (class) axis"
        )
    (s,) = upcast(scores)
    mask = None if where is None else broadcast(where, shape[:-1], "where", dtype=bool)
    if mask is not None:
        s = sanitize(s, mask[..., None])
    safe, _, bad = class_labels(labels, shape[-1])
    return s, safe, bad, mask


# --------------------------------------------------------------------------- hinge


@register(_FAMILY, reference="optax.losses.hinge_loss; sklearn.metrics.hinge_loss",
          aliases=("hinge",))
def hinge_loss(
    scores: Any, labels: Any, *, weights: Any = None, where: Any = None, reduction: str = "mean"
) -> jax.Array:
    r"""Binary hinge loss.

    .. math:: \ell(s, y) = \max(0, 1 - y s), \qquad y \in \{-1, +1\}

    Labels ``> 0`` are positive, all others negative, so ``{0, 1}`` and
    ``{-1, +1}`` labels (integer or floating) give the same loss.

    Args:
      scores: floating decision values, any shape.
      labels: labels of the same shape, ``{-1, +1}`` or ``{0, 1}``.
      weights: optional weights broadcastable to ``scores``.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.hinge_loss(jnp.array([2.0, 0.5, -0.5]), jnp.array([1, 1, 0]), reduction="none")
      Array([0. , 0.5, 0.5], dtype=float32)

    References:
      optax ``hinge_loss``; scikit-learn ``sklearn.metrics.hinge_loss`` (the mean).
    """
    s, y, mask = _binary(scores, labels, where)
    return reduce(jnp.maximum(0, 1 - y * s), reduction, weights=weights, where=mask)


@register(_FAMILY, reference="squared hinge (L2-SVM); sklearn LinearSVC loss='squared_hinge'",
          aliases=("squared_hinge",))
def squared_hinge_loss(
    scores: Any, labels: Any, *, weights: Any = None, where: Any = None, reduction: str = "mean"
) -> jax.Array:
    r"""Squared binary hinge loss (L2-SVM).

    .. math:: \ell(s, y) = \max(0, 1 - y s)^2, \qquad y \in \{-1, +1\}

    Labels ``> 0`` are positive, all others negative (``{0, 1}`` or ``{-1, +1}``).

    Args:
      scores: floating decision values, any shape.
      labels: labels of the same shape, ``{-1, +1}`` or ``{0, 1}``.
      weights: optional weights broadcastable to ``scores``.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.squared_hinge_loss(jnp.array([2.0, 0.5, -0.5]), jnp.array([1, 1, -1]))
      Array(0.16666667, dtype=float32)

    References:
      The L2-SVM loss; scikit-learn ``LinearSVC(loss="squared_hinge")``.
    """
    s, y, mask = _binary(scores, labels, where)
    return reduce(jnp.square(jnp.maximum(0, 1 - y * s)), reduction, weights=weights,
                        where=mask)


@register(_FAMILY, reference="torch.nn.functional.multi_margin_loss",
          aliases=("multi_margin_loss",))
def multiclass_hinge_loss(
    scores: Any, labels: Any, *, margin: Any = 1.0, p: int = 1, class_weights: Any = None,
    weights: Any = None, where: Any = None, reduction: str = "mean",
) -> jax.Array:
    r"""Multiclass hinge loss with PyTorch ``multi_margin_loss`` semantics.

    .. math::
       \ell_i = \frac{w_{y_i}}{C} \sum_{j \ne y_i} \max(0, m - s_{i y_i} + s_{ij})^p

    This is the Weston--Watkins form (a sum over wrong classes). optax's
    ``multiclass_hinge_loss`` is the Crammer--Singer form
    :math:`\max_j (s_j + [j \ne y]) - s_y` (the largest violation only, no
    division by :math:`C`) and differs from this one.

    Class weights multiply the per-example loss and, as in PyTorch, do not
    enter the denominator of ``"mean"`` (the mean over examples).

    Args:
      scores: ``[..., C]`` floating scores, classes on the last axis.
      labels: ``[...]`` integer class indices in ``[0, C)``.
      margin: :math:`m`; float or traced array.
      p: exponent, ``1`` or ``2`` (static).
      class_weights: optional ``[C]`` weights :math:`w_c` (PyTorch ``weight``).
      weights: optional per-example weights broadcastable to ``labels``.
      where: optional boolean mask with the shape of ``labels``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``labels.shape`` for ``"none"``.
      Out-of-range labels raise ``ValueError`` eagerly and give NaN under ``jit``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> scores = jnp.array([[0.1, 0.2, 0.4, 0.8]])
      >>> jaxloss.multiclass_hinge_loss(scores, jnp.array([3]))  # torch docs example
      Array(0.325, dtype=float32)

    References:
      PyTorch ``torch.nn.functional.multi_margin_loss``; Weston & Watkins,
      Support Vector Machines for Multi-Class Pattern Recognition, ESANN 1999.
    """
    contracts.choice(p, (1, 2), "p")
    s, safe, bad, mask = _multiclass(scores, labels, where)
    num_classes = s.shape[-1]
    m = param(margin, s.dtype)
    violation = jnp.maximum(0, m - _take(s, safe)[..., None] + s)
    if p == 2:
        violation = jnp.square(violation)
    violation = jnp.where(_is_label(safe, num_classes), jnp.zeros((), s.dtype), violation)
    loss = jnp.sum(violation, axis=-1) / num_classes
    if class_weights is not None:
        contracts.shape_is(class_weights, (num_classes,), "class_weights", "one weight per class")
        loss = jnp.asarray(class_weights, s.dtype)[safe] * loss
    return reduce(poison(loss, bad), reduction, weights=weights, where=mask)


# --------------------------------------------------------------------------- perceptron


@register(_FAMILY, reference="optax.losses.perceptron_loss; optax.losses.multiclass_perceptron_loss",
          aliases=("perceptron",))
def perceptron_loss(
    scores: Any, labels: Any, *, weights: Any = None, where: Any = None, reduction: str = "mean"
) -> jax.Array:
    r"""Perceptron loss, binary or multiclass (decided by the shapes).

    .. math::
       \ell_\text{binary}(s, y) = \max(0, -y s), \qquad
       \ell_\text{multiclass}(s, y) = \max_j s_j - s_y

    Dispatch: **integer** ``labels`` with exactly one axis fewer than
    ``scores`` are class indices over the last axis of ``scores``
    (multiclass, optax ``multiclass_perceptron_loss``). Otherwise ``labels``
    must have the shape of ``scores`` and are binary (optax ``perceptron_loss``):
    labels ``> 0`` are positive, all others negative (``{0, 1}`` or ``{-1, +1}``).

    Args:
      scores: floating scores; ``[..., C]`` for the multiclass form.
      labels: binary labels with the shape of ``scores``, or ``[...]`` integer
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
      >>> jaxloss.perceptron_loss(jnp.array([0.5, -2.0]), jnp.array([0, 1]), reduction="none")
      Array([0.5, 2. ], dtype=float32)
      >>> jaxloss.perceptron_loss(jnp.array([[1.0, 3.0, 2.0]]), jnp.array([2]), reduction="none")
      Array([1.], dtype=float32)

    References:
      Rosenblatt 1958; Collins, Discriminative Training Methods for Hidden
      Markov Models, EMNLP 2002; optax ``perceptron_loss`` and
      ``multiclass_perceptron_loss``.
    """
    if _is_multiclass(scores, labels):
        s, safe, bad, mask = _multiclass(scores, labels, where)
        loss = poison(jnp.max(s, axis=-1) - _take(s, safe), bad)
    else:
        s, y, mask = _binary(scores, labels, where, multiclass=True)
        loss = jnp.maximum(0, -y * s)
    return reduce(loss, reduction, weights=weights, where=mask)


# --------------------------------------------------------------------------- sparsemax


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
    logits: Any, labels: Any, *, weights: Any = None, where: Any = None, reduction: str = "mean"
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
    if _is_multiclass(logits, labels):
        s, safe, bad, mask = _multiclass(logits, labels, where, what="logits")
        prob = _sparsemax(s)
        loss = jnp.sum(prob * s, axis=-1) - _take(s, safe) + 0.5 * (1 - jnp.sum(prob * prob, -1))
        loss = poison(loss, bad)
    else:
        x, y, mask = _binary(logits, labels, where, multiclass=True, what="logits")
        loss = jax.nn.sparse_plus(-y * x)
    return reduce(loss, reduction, weights=weights, where=mask)


# --------------------------------------------------------------------------- CTC


def _shift(alpha: jax.Array, by: int, fill: jax.Array) -> jax.Array:
    """``alpha[:, s - by]`` along the state axis, ``fill`` for ``s < by``."""
    pad = jnp.broadcast_to(fill, (alpha.shape[0], by))
    return jnp.concatenate([pad, alpha[:, :-by]], axis=1)


@functools.partial(jax.jit, static_argnums=5)
def _ctc_log_likelihood(x, frame_pad, safe, lengths, eps, blank_id):
    """Log-domain CTC forward algorithm; jitted so eager calls reuse the compiled scan."""
    batch, dtype = x.shape[0], x.dtype
    # Blank-extended sequence: blank, y1, blank, y2, ..., yN, blank (S = 2N + 1 states).
    blanks = jnp.full_like(safe, blank_id)
    ext = jnp.concatenate([rows(jnp.stack([blanks, safe], axis=-1)),
                           blanks[:, :1]], axis=1)
    states = ext.shape[1]
    # Skipping the blank between two labels is allowed unless they are equal.
    differs = jnp.concatenate([jnp.zeros((batch, 1), bool), safe[:, 1:] != safe[:, :-1]], axis=1)
    skip = jnp.concatenate([rows(jnp.stack([jnp.zeros_like(differs), differs], axis=-1)),
                            jnp.zeros((batch, 1), bool)], axis=1)

    log_probs = jax.nn.log_softmax(x, axis=-1)
    emit = jnp.take_along_axis(
        log_probs, jnp.broadcast_to(ext[:, None, :], (*log_probs.shape[:2], states)), axis=2)

    def step(alpha, inputs):
        emit_t, pad_t = inputs
        stay_or_advance = jnp.logaddexp(alpha, _shift(alpha, 1, eps))
        jump = jnp.where(skip, _shift(alpha, 2, eps), eps)
        new = jnp.logaddexp(stay_or_advance, jump) + emit_t
        return jnp.where(pad_t[:, None], alpha, new), None

    # A virtual start: state 0 "before the first frame" has log-probability 0.
    start = jnp.concatenate([jnp.zeros((batch, 1), dtype),
                             jnp.broadcast_to(eps, (batch, states - 1))], axis=1)
    alpha, _ = jax.lax.scan(step, start, (jnp.swapaxes(emit, 0, 1), frame_pad.T))

    last_blank = _take(alpha, 2 * lengths)
    last_label = _take(alpha, jnp.maximum(2 * lengths - 1, 0))
    log_likelihood = jnp.where(lengths > 0, jnp.logaddexp(last_blank, last_label), last_blank)
    return log_likelihood


def _is_padding(paddings: Any) -> jax.Array:
    """Boolean padding flags from 0/1 paddings of any dtype (bool, integer or floating)."""
    paddings = jnp.asarray(paddings)
    if paddings.dtype == jnp.bool_:
        return paddings
    return paddings > jnp.asarray(0.5, paddings.dtype)


def _nan_rows(paddings: Any) -> jax.Array | bool:
    """Sequences with a NaN padding flag: their loss is NaN (NaN in, NaN out)."""
    paddings = jnp.asarray(paddings)
    return jnp.any(jnp.isnan(paddings), axis=1) if jnp.issubdtype(paddings.dtype, jnp.floating) else False


@register(_FAMILY, reference="optax.losses.ctc_loss; torch.nn.functional.ctc_loss",
          aliases=("ctc",))
def ctc_loss(
    logits: Any, logit_paddings: Any, labels: Any, label_paddings: Any, *,
    blank_id: int = 0, log_epsilon: Any = -1e5,
    weights: Any = None, where: Any = None, reduction: str = "mean",
) -> jax.Array:
    r"""Connectionist temporal classification loss (optax ``ctc_loss`` semantics).

    .. math::
       \ell_b = -\log \sum_{\pi \in \mathcal{B}^{-1}(y_b)} \prod_t p_{b t \pi_t},
       \qquad p_{bt} = \mathrm{softmax}(z_{bt})

    the negative log-likelihood of the label sequence summed over all
    alignments (label sequence with blanks inserted, repeats collapsed),
    computed by the log-domain forward algorithm over the ``2N + 1``
    blank-extended states with :func:`jax.lax.scan`. ``log_epsilon`` stands for
    :math:`\log 0`, so a label sequence that no alignment of the given length
    can produce gets a large finite loss (about ``-log_epsilon``) with finite
    gradients instead of ``inf``.

    Padded frames (``logit_paddings == 1``, anywhere in the sequence) are
    skipped; labels must be right-padded (``label_paddings`` a run of 0 then 1)
    and padded label entries are ignored.

    ``reduction="none"`` is optax's per-sequence loss; ``"mean"`` is its mean
    over sequences. PyTorch ``ctc_loss(reduction="mean")`` instead divides
    each sequence's loss by its target length (at least 1) before averaging;
    to get it, pass ``weights=1 / max(target_lengths, 1)`` with
    ``reduction="sum"`` and divide by ``B``. Both sum over all alignments and
    agree with ``reduction="none"``/``"sum"`` of ``torch.nn.functional.ctc_loss``
    on ``log_softmax`` inputs in its ``(T, B, K)`` layout when frames are
    right-padded (PyTorch gives ``inf`` for impossible alignments).

    Args:
      logits: ``[B, T, K]`` floating logits, ``K`` classes including the blank.
      logit_paddings: ``[B, T]``, 1 for padded frames, 0 otherwise (any dtype).
      labels: ``[B, N]`` integer labels in ``[0, K)`` (padded entries may hold anything).
      label_paddings: ``[B, N]``, 1 for padded labels, 0 otherwise (right-padded).
      blank_id: class index of the blank (static).
      log_epsilon: the stand-in for :math:`\log 0`; float or traced array.
      weights: optional per-sequence weights broadcastable to ``[B]``.
      where: optional boolean ``[B]`` mask.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[B]`` for ``"none"``. A sequence
      with an out-of-range (unpadded) label raises ``ValueError`` eagerly and
      is NaN under ``jit``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.zeros((1, 2, 3))  # uniform over {blank, a, b}: each path has p = 1/9
      >>> labels, no_pad = jnp.array([[1]]), jnp.zeros((1, 1))
      >>> jaxloss.ctc_loss(logits, jnp.zeros((1, 2)), labels, no_pad)  # paths "a-", "-a", "aa"
      Array(1.0986123, dtype=float32)

    References:
      Graves et al., `Connectionist Temporal Classification
      <https://www.cs.toronto.edu/~graves/icml_2006.pdf>`_, ICML 2006;
      optax ``ctc_loss``; PyTorch ``torch.nn.functional.ctc_loss``.
    """
    name = function_name()
    contracts.floating(logits=logits)
    contracts.integer(labels=labels)
    contracts.rank(logits, 3, "logits", "[batch, time, classes]")
    contracts.rank(labels, 2, "labels", "[batch, max_label_length]")
    batch, _, num_classes = np.shape(logits)
    contracts.shape_is(logit_paddings, np.shape(logits)[:2], "logit_paddings",
                        "one padding flag per frame of logits [B, T, K]", like={"logits": logits})
    contracts.shape_is(labels, (batch, None), "labels", like={"logits": logits})
    contracts.shape_is(label_paddings, np.shape(labels), "label_paddings",
                        "one padding flag per label", like={"labels": labels})
    if not 0 <= blank_id < num_classes:
        raise ValueError(f"{name}: blank_id={blank_id} is outside [0, {num_classes})")

    (x,) = upcast(logits)
    dtype = x.dtype
    mask = None if where is None else broadcast(where, (batch,), "where", dtype=bool)
    if mask is not None:
        x = sanitize(x, mask[:, None, None])
    frame_pad, label_pad = _is_padding(logit_paddings), _is_padding(label_paddings)
    lengths = jnp.sum(~label_pad, axis=1)
    safe, _, bad = class_labels(jnp.where(label_pad, 0, labels), num_classes)
    eps = param(log_epsilon, dtype)

    log_likelihood = _ctc_log_likelihood(x, frame_pad, safe, lengths, eps, blank_id)
    nan_rows = _nan_rows(logit_paddings) | _nan_rows(label_paddings)
    loss = poison(-log_likelihood, jnp.any(bad, axis=1) | nan_rows)
    return reduce(loss, reduction, weights=weights, where=mask)
