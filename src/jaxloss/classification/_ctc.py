"""Connectionist temporal classification (CTC) loss."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.labels import class_labels, poison
from .._src.numerics import param, rows, upcast
from .._src.reduce import broadcast, reduce, sanitize
from .._src.registry import register
from .._src.scores import take
from .._src.types import ArrayLike, Reduction

__all__ = ["ctc_loss", "ctc_loss_with_forward_probs"]

_FAMILY = "classification"


def _shift(alpha: jax.Array, by: int, fill: jax.Array) -> jax.Array:
    """``alpha[:, s - by]`` along the state axis, ``fill`` for ``s < by``."""
    pad = jnp.broadcast_to(fill, (alpha.shape[0], by))
    return jnp.concatenate([pad, alpha[:, :-by]], axis=1)


@functools.partial(jax.jit, static_argnums=5)
def _ctc_log_likelihood(
    x: jax.Array, frame_pad: jax.Array, safe: jax.Array, lengths: jax.Array, eps: jax.Array,
    blank_id: int,
) -> jax.Array:
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

    last_blank = take(alpha, 2 * lengths)
    last_label = take(alpha, jnp.maximum(2 * lengths - 1, 0))
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


class _Sequences(NamedTuple):
    """CTC inputs ready for the forward algorithm.

    Attributes:
      logits: ``[B, T, K]`` in the compute dtype; sequences masked out by ``where`` are 0.
      frame_pad: ``[B, T]`` bool, ``True`` at padded frames.
      labels: ``[B, N]`` int32; padded and out-of-range entries are 0.
      lengths: ``[B]`` number of unpadded labels.
      bad: ``[B]`` bool: an out-of-range unpadded label or a NaN padding flag (the loss is NaN).
      where: ``[B]`` user mask (``None`` when not given).
    """

    logits: jax.Array
    frame_pad: jax.Array
    labels: jax.Array
    lengths: jax.Array
    bad: jax.Array
    where: jax.Array | None


def _sequences(
    logits: Any, logit_paddings: Any, labels: Any, label_paddings: Any, blank_id: int, where: Any
) -> _Sequences:
    """Checks the shapes and dtypes of :func:`ctc_loss`'s inputs; upcasts; applies ``where``."""
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
    mask = None if where is None else broadcast(where, (batch,), "where", dtype=bool)
    if mask is not None:
        x = sanitize(x, mask[:, None, None])
    frame_pad, label_pad = _is_padding(logit_paddings), _is_padding(label_paddings)
    safe, _, bad = class_labels(jnp.where(label_pad, 0, labels), num_classes)
    nan_rows = _nan_rows(logit_paddings) | _nan_rows(label_paddings)
    lengths = jnp.sum(~label_pad, axis=1)
    return _Sequences(x, frame_pad, safe, lengths, jnp.any(bad, axis=1) | nan_rows, mask)


@register(_FAMILY, reference="optax.losses.ctc_loss; torch.nn.functional.ctc_loss",
          aliases=("ctc",))
def ctc_loss(
    logits: ArrayLike, logit_paddings: ArrayLike, labels: ArrayLike, label_paddings: ArrayLike, *,
    blank_id: int = 0, log_epsilon: float | ArrayLike = -1e5,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
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
    s = _sequences(logits, logit_paddings, labels, label_paddings, blank_id, where)
    eps = param(log_epsilon, s.logits.dtype)
    log_likelihood = _ctc_log_likelihood(s.logits, s.frame_pad, s.labels, s.lengths, eps, blank_id)
    return reduce(poison(-log_likelihood, s.bad), reduction, weights=weights, where=s.where)


def _after_epsilon(phi: jax.Array, added: jax.Array) -> jax.Array:
    """``phi[:, n + 1] (+) added[:, n]`` in log space (a label state passing to the next blank state)."""
    return jnp.concatenate([phi[:, :1], jnp.logaddexp(phi[:, 1:], added)], axis=1)


@functools.partial(jax.jit, static_argnums=5)
def _ctc_forward_probs(
    x: jax.Array, frame_pad: jax.Array, labels: jax.Array, lengths: jax.Array, eps: jax.Array, blank_id: int,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Forward variables in optax's two-array form: blank states ``[T, B, N+1]``, label states ``[T, B, N]``.

    Blank state ``n`` has emitted the first ``n`` labels; label state ``n`` is emitting label ``n``. A
    label state reaches the next blank state by an epsilon move, blocked (``+ eps``) before a repeated
    label, which needs a blank in between. ``labels`` are the raw labels: a padded entry outside
    ``[0, K)`` emits with log-probability 0, as optax's one-hot gather gives.
    """
    batch, _, num_classes = x.shape
    dtype = x.dtype
    log_probs = jax.nn.log_softmax(x, axis=-1)
    repeat = jnp.pad((labels[:, :-1] == labels[:, 1:]).astype(dtype), ((0, 0), (0, 1)))
    emit = jnp.einsum("btk,bnk->tbn", log_probs, jax.nn.one_hot(labels, num_classes, dtype=dtype))
    blank = jnp.swapaxes(log_probs[:, :, blank_id:blank_id + 1], 0, 1)
    n = labels.shape[1]
    phi0 = jnp.full((batch, n + 1), eps, dtype).at[:, 0].set(0)
    emit0 = jnp.full((batch, n), eps, dtype)

    def step(carry, inputs):
        phi, lab = carry
        emit_t, blank_t, pad_t = inputs
        moved = _after_epsilon(phi, lab + eps * repeat)
        new_lab = jnp.logaddexp(moved[:, :-1], lab) + emit_t
        new_phi = _after_epsilon(moved + blank_t, lab + blank_t + eps * (1 - repeat))
        keep = pad_t[:, None]
        new = (jnp.where(keep, phi, new_phi), jnp.where(keep, lab, new_lab))
        return new, new

    _, (phi, lab) = jax.lax.scan(step, (phi0, emit0), (emit, blank, frame_pad.T))
    last = _after_epsilon(phi[-1], lab[-1])
    phi = phi.at[-1].set(last)
    return -take(last, lengths), phi, lab


@register(_FAMILY, reference="optax.losses.ctc_loss_with_forward_probs")
def ctc_loss_with_forward_probs(
    logits: ArrayLike, logit_paddings: ArrayLike, labels: ArrayLike, label_paddings: ArrayLike, *,
    blank_id: int = 0, log_epsilon: float | ArrayLike = -1e5,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> tuple[jax.Array, jax.Array, jax.Array]:
    r"""CTC loss and its forward variables (optax ``ctc_loss_with_forward_probs`` semantics).

    .. math::
       \ell_b = -\log \alpha^{\phi}_b(T, N_b), \qquad
       \alpha^{\phi}_b(t, n),\ \alpha^{y}_b(t, n)

    the same per-sequence loss as :func:`ctc_loss`, returned with the log
    forward variables of the blank-extended label sequence, split as optax
    splits them: :math:`\log\alpha^{\phi}(t, n)`, the log-probability of the
    frames up to ``t`` having emitted the first ``n`` labels and being in the
    blank state after them, and :math:`\log\alpha^{y}(t, n)`, being in the
    state of label ``n``. At the last frame the blank variables also hold the
    mass of the label states that end there (an epsilon move), so
    :math:`\alpha^{\phi}(T - 1, N_b)` is the likelihood. Padded frames carry the
    variables unchanged; ``log_epsilon`` stands for :math:`\log 0` additively,
    as in optax, so unreachable states hold finite values near multiples of it.

    Args:
      logits: ``[B, T, K]`` floating logits, ``K`` classes including the blank.
      logit_paddings: ``[B, T]``, 1 for padded frames, 0 otherwise (any dtype).
      labels: ``[B, N]`` integer labels in ``[0, K)``; padded entries may hold anything
        (an entry outside ``[0, K)`` emits with log-probability 0 in the forward
        variables beyond the sequence's length, as in optax).
      label_paddings: ``[B, N]``, 1 for padded labels, 0 otherwise (right-padded).
      blank_id: class index of the blank (static).
      log_epsilon: the stand-in for :math:`\log 0`; float or traced array.
      weights: optional per-sequence weights broadcastable to ``[B]``.
      where: optional boolean ``[B]`` mask (a masked sequence's logits are
        replaced by zeros, so its forward variables are those of uniform logits).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` for the loss.

    Returns:
      ``(loss, logalpha_blank, logalpha_nonblank)``: the loss reduced as
      ``reduction`` says (``[B]`` for ``"none"``, optax's first output), and
      the forward variables ``[T, B, N + 1]`` and ``[T, B, N]`` (not reduced).
      A sequence with an out-of-range unpadded label raises ``ValueError``
      eagerly; under ``jit`` its loss is NaN.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.zeros((1, 2, 3))
      >>> loss, blank, label = jaxloss.ctc_loss_with_forward_probs(
      ...     logits, jnp.zeros((1, 2)), jnp.array([[1]]), jnp.zeros((1, 1)), reduction="none")
      >>> loss, blank.shape, label.shape
      (Array([1.0986123], dtype=float32), (2, 1, 2), (2, 1, 1))

    References:
      Graves et al., `Connectionist Temporal Classification
      <https://www.cs.toronto.edu/~graves/icml_2006.pdf>`_, ICML 2006; optax
      ``losses.ctc_loss_with_forward_probs``, whose outputs this reproduces.
      Difference: optax returns the per-sequence loss (jaxloss's
      ``reduction="none"``); the default here is the library's ``"mean"``.
    """
    s = _sequences(logits, logit_paddings, labels, label_paddings, blank_id, where)
    eps = param(log_epsilon, s.logits.dtype)
    raw = jnp.asarray(labels).astype(jnp.int32)
    loss, phi, lab = _ctc_forward_probs(s.logits, s.frame_pad, raw, s.lengths, eps, blank_id)
    return reduce(poison(loss, s.bad), reduction, weights=weights, where=s.where), phi, lab
