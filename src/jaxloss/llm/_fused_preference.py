"""Paired preference losses fused with the output projection: DPO, ORPO, SimPO and CPO
on ``hidden @ weight`` without the ``[tokens, V]`` logits.

Each function stacks the chosen then the rejected completions along axis 0 of
``hidden [2B, T, D]`` (Liger's layout), turns them into per-token
log-probabilities with :func:`jaxloss.llm.fused_linear_logprobs` (chunked, with
its ``custom_vjp``), sums (or averages over non-ignored tokens) them into
sequence log-probabilities, and hands those to the public sequence-level loss
(:func:`jaxloss.dpo_loss`, :func:`jaxloss.orpo_loss`, :func:`jaxloss.simpo_loss`,
:func:`jaxloss.cpo_loss`) with ``reduction="none"``. The optional NLL term on the
chosen tokens (Liger's ``alpha`` with ``compute_nll_loss``) comes from the same
per-token log-probabilities, so the policy's logits are computed once.

``"none"`` gives one term per pair: the pair's preference term plus
``nll_weight`` times its chosen tokens' negative log-likelihood divided by the
mean number of chosen tokens per pair (over the whole batch, ``where`` or not), so
the plain mean over pairs is Liger's ``preference + alpha * NLL`` with the NLL a
token mean over all chosen tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import param
from .._src.reduce import check_reduction, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._chunks import check_fused
from ._logprobs import fused_linear_logprobs
from ._preference import CPOType, DPOType, cpo_loss, dpo_loss, orpo_loss, simpo_loss

__all__ = [
    "fused_linear_cpo_loss",
    "fused_linear_dpo_loss",
    "fused_linear_orpo_loss",
    "fused_linear_simpo_loss",
]

_FAMILY = "llm"
_LIGER = "Liger-Kernel 0.8.5 liger_kernel.chunked_loss"


# --------------------------------------------------------------------------- shared plumbing


def _check_pairs(hidden: Any, weight: Any, labels: Any, bias: Any, **chunks: int | None) -> None:
    """The fused checks plus the stacked-pairs layout ``[2B, T, D]``."""
    check_fused(hidden, weight, labels, bias, ("hidden", "weight", "labels", "bias"), **chunks)
    contracts.min_rank(hidden, 2, "hidden")
    rows = np.shape(hidden)[0]
    if rows % 2:
        raise ValueError(
            f"{function_name()}: hidden has shape {np.shape(hidden)}, whose leading axis {rows} is "
            "odd; stack the chosen then the rejected completions along axis 0 ([2B, T, D])"
        )


def _sequence_logps(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    bias: ArrayLike | None,
    *,
    average: bool,
    chunk_size: int | None,
    vocab_chunk_size: int | None,
    ignore_index: int | None,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per-sequence log-probabilities ``[2B]`` (sum, or mean over non-ignored tokens; 0 for a
    sequence without tokens), their token counts ``[2B]`` and the summed log-probabilities."""
    lp = fused_linear_logprobs(
        hidden,
        weight,
        labels,
        bias=bias,
        chunk_size=chunk_size,
        vocab_chunk_size=vocab_chunk_size,
        ignore_index=ignore_index,
    )
    rows = lp.shape[0]
    lp = lp.reshape((rows, -1))
    y = jnp.asarray(labels).reshape((rows, -1))
    valid = jnp.ones(y.shape, bool) if ignore_index is None else y != ignore_index
    counts = jnp.sum(valid, axis=-1).astype(lp.dtype)
    total = jnp.sum(lp, axis=-1)
    seq = total / jnp.maximum(counts, 1) if average else total
    return seq, counts, total


def _fused_pairs(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    bias: ArrayLike | None,
    *,
    average_log_prob: bool,
    nll_weight: ArrayLike,
    chunk_size: int | None,
    vocab_chunk_size: int | None,
    ignore_index: int | None,
    reference: tuple[ArrayLike, ArrayLike, ArrayLike | None] | None = None,
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array, tuple[jax.Array, jax.Array] | None]:
    """The plumbing shared by the fused preference losses.

    Returns ``(chosen_logps [B], rejected_logps [B], nll [B], counts [2B], ref)``: ``nll`` is
    ``nll_weight`` times each pair's chosen-token NLL divided by the mean chosen-token count per
    pair, and ``ref`` the reference's ``(chosen, rejected)`` sequence log-probabilities under
    ``stop_gradient`` when ``reference = (ref_hidden, ref_weight, ref_bias)`` is given.
    """
    _check_pairs(
        hidden, weight, labels, bias, chunk_size=chunk_size, vocab_chunk_size=vocab_chunk_size
    )
    contracts.bounded(nll_weight, "nll_weight", ge=0)
    options: dict[str, Any] = {
        "chunk_size": chunk_size,
        "vocab_chunk_size": vocab_chunk_size,
        "ignore_index": ignore_index,
    }
    seq, counts, total = _sequence_logps(
        hidden, weight, labels, bias, average=average_log_prob, **options
    )
    pairs = seq.shape[0] // 2
    # Liger: alpha * sum(NLL of the chosen tokens) / #chosen tokens, as per-pair terms whose
    # mean is that value (0 when no chosen token is left).
    per_pair_tokens = jnp.maximum(jnp.sum(counts[:pairs]), 1) / max(pairs, 1)
    nll = param(nll_weight, seq.dtype) * (-total[:pairs]) / per_pair_tokens
    ref = None
    if reference is not None:
        ref_hidden, ref_weight, ref_bias = reference
        _check_pairs(
            ref_hidden, ref_weight, labels, ref_bias, chunk_size=None, vocab_chunk_size=None
        )
        ref_seq, _, _ = _sequence_logps(
            *jax.lax.stop_gradient((ref_hidden, ref_weight, labels, ref_bias)),
            average=average_log_prob,
            **options,
        )
        ref = (ref_seq[:pairs], ref_seq[pairs:])
    return seq[:pairs], seq[pairs:], nll, counts, ref


def _finish(
    loss_fn: Callable[..., Any],
    chosen: jax.Array,
    rejected: jax.Array,
    nll: jax.Array,
    *extra: jax.Array,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: Reduction,
    **options: Any,
) -> jax.Array:
    """The public sequence-level loss per pair, plus the NLL term, reduced the library's way."""
    terms = jnp.asarray(loss_fn(chosen, rejected, *extra, where=where, reduction="none", **options))
    per_pair = terms + (nll if where is None else jnp.where(jnp.asarray(where, bool), nll, 0))
    return reduce(per_pair, reduction, weights=weights, where=where)


def _reference_free(
    loss_fn: Callable[..., Any],
    data: tuple[ArrayLike, ArrayLike, ArrayLike, ArrayLike | None],
    fused: tuple[bool, ArrayLike, int | None, int | None, int | None],
    masks: tuple[ArrayLike | None, ArrayLike | None, Reduction],
    **options: Any,
) -> jax.Array:
    """ORPO, SimPO and CPO: the fused pairs without a reference, then ``loss_fn`` per pair."""
    weights, where, reduction = masks
    check_reduction(reduction)
    average_log_prob, nll_weight, chunk_size, vocab_chunk_size, ignore_index = fused
    chosen, rejected, nll, _, _ = _fused_pairs(
        *data,
        average_log_prob=average_log_prob,
        nll_weight=nll_weight,
        chunk_size=chunk_size,
        vocab_chunk_size=vocab_chunk_size,
        ignore_index=ignore_index,
    )
    return _finish(
        loss_fn, chosen, rejected, nll, weights=weights, where=where, reduction=reduction, **options
    )


# --------------------------------------------------------------------------- DPO


@register(_FAMILY, reference=f"{_LIGER} LigerFusedLinearDPOLoss (compiled=False)")
def fused_linear_dpo_loss(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    bias: ArrayLike | None = None,
    ref_hidden: ArrayLike | None = None,
    ref_weight: ArrayLike | None = None,
    ref_bias: ArrayLike | None = None,
    ref_chosen_logps: ArrayLike | None = None,
    ref_rejected_logps: ArrayLike | None = None,
    beta: ArrayLike = 0.1,
    loss_type: DPOType = "sigmoid",
    label_smoothing: ArrayLike = 0.0,
    discopop_tau: ArrayLike = 0.05,
    nll_weight: ArrayLike = 0.0,
    average_log_prob: bool = False,
    chunk_size: int | None = None,
    vocab_chunk_size: int | None = None,
    ignore_index: int | None = -100,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""DPO on ``hidden @ weight`` without the logits: :func:`jaxloss.dpo_loss` on fused
    sequence log-probabilities, plus an optional NLL term on the chosen tokens.

    .. math::
       \pi_s = \sum_{t:\, y_{st} \ne \text{ignore}} \log\operatorname{softmax}(h_{st} W + b)_{y_{st}}
       \quad (\text{divided by the token count with } \texttt{average\_log\_prob}),

       L = \frac1B \sum_{i=1}^{B} \ell_{\text{DPO}}(\pi_i, \pi_{B+i}, \pi^{ref}_i, \pi^{ref}_{B+i})
       + \lambda\, \frac{-\sum_{i \le B,\, t} \log p_{it}}{\#\{\text{chosen tokens}\}}

    where :math:`\ell_{\text{DPO}}` is :func:`jaxloss.dpo_loss` with ``loss_type`` (per
    pair) and :math:`\lambda` is ``nll_weight``. The reference log-probabilities come from
    ``ref_hidden``/``ref_weight``/``ref_bias`` (the same fused computation under
    ``stop_gradient``), or are given as ``ref_chosen_logps``/``ref_rejected_logps``, or
    are 0 when neither is given (Liger's ``use_ref_model=False``: reference-free).

    Args:
      hidden: ``[2B, T, D]`` hidden states (``[2B, ..., D]`` works too), the ``B`` chosen
        completions first, then the ``B`` rejected ones (Liger's ``_input``).
      weight: ``[D, V]`` output projection (the transpose of torch's ``lm_head.weight``).
      labels: ``[2B, T]`` integer next-token labels, ``ignore_index`` at prompt and padding
        tokens (Liger's ``target``).
      bias: optional ``[V]`` bias.
      ref_hidden: ``[2B, T, D]`` hidden states of the reference model (with ``ref_weight``).
      ref_weight: ``[D, V]`` the reference model's output projection.
      ref_bias: optional ``[V]`` bias of the reference projection.
      ref_chosen_logps: ``[B]`` precomputed reference sequence log-probabilities of the
        chosen completions (instead of ``ref_hidden``; not put under ``stop_gradient``).
      ref_rejected_logps: ``[B]`` the same for the rejected completions.
      beta: :math:`\beta > 0`; float or traced array.
      loss_type: a :func:`jaxloss.dpo_loss` type (default ``"sigmoid"``); ``"ipo"`` and
        ``"sigmoid_norm"`` receive the completion token counts as lengths (TRL);
        ``"aot"``/``"aot_unpaired"`` (terms per rank, not per pair) are not offered.
      label_smoothing: :math:`\varepsilon` of :func:`jaxloss.dpo_loss`.
      discopop_tau: :math:`\tau` of ``"discopop"``.
      nll_weight: :math:`\lambda \ge 0`, weight of the chosen tokens' NLL (default 0).
      average_log_prob: average the token log-probabilities of each sequence instead of
        summing them (a sequence without tokens gives 0).
      chunk_size: tokens per chunk of :func:`jaxloss.llm.fused_linear_logprobs` (static;
        ``None`` picks the default). Liger's ``chunk_size`` counts pairs instead.
      vocab_chunk_size: vocabulary columns per tile (static; ``None``: all at once).
      ignore_index: label of the tokens that are not part of a completion (``-100``; ``None``
        for none).
      weights: optional ``[B]`` per-pair weights.
      where: optional boolean ``[B]`` mask of the pairs.
      reduction: ``"mean"`` (default: the plain mean over pairs, Liger's value), ``"sum"`` or
        ``"none"`` (one term per pair: its preference term plus ``nll_weight`` times its
        chosen tokens' NLL over the batch's mean chosen-token count per pair).

    Returns:
      The loss.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> h = jnp.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
      >>> w = jnp.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
      >>> y = jnp.array([[0, 1], [0, -100]])
      >>> jaxloss.fused_linear_dpo_loss(h, w, y, beta=1.0)
      Array(0.1586..., dtype=float32)

    References:
      R. Rafailov et al., "Direct Preference Optimization", NeurIPS 2023,
      https://arxiv.org/abs/2305.18290; Liger-Kernel 0.8.5
      ``LigerFusedLinearDPOLoss(ignore_index=-100, beta=0.1, alpha=1.0,
      compute_nll_loss=False, use_ref_model=True, average_log_prob=False,
      loss_type="sigmoid", label_smoothing=0.0)`` called as ``loss(weight.T, hidden,
      labels, bias, ref_hidden, ref_weight.T, ref_bias)``: ``nll_weight`` is ``alpha`` with
      ``compute_nll_loss=True`` and 0 without; ``use_ref_model=False`` is passing no
      reference. Deliberate differences: ``label_smoothing > 0`` with ``"sigmoid"`` is cDPO
      (:func:`jaxloss.dpo_loss`; Liger ignores it there); a sequence (or a chosen half)
      without non-ignored tokens gives 0 where Liger divides 0 by 0; ``"ipo"`` is offered
      (Liger raises); ``chunk_size`` counts tokens, not pairs; precomputed reference
      log-probabilities are accepted (TRL's ``precompute_ref_log_probs``).
    """
    check_reduction(reduction)
    contracts.choice(
        loss_type, tuple(t for t in DPOType.__args__ if not t.startswith("aot")), "loss_type"
    )
    given = (ref_chosen_logps is not None, ref_rejected_logps is not None)
    model = (ref_hidden is not None, ref_weight is not None)
    if (
        given[0] != given[1]
        or model[0] != model[1]
        or (any(given) and any(model))
        or (ref_bias is not None and not all(model))
    ):
        raise ValueError(
            f"{function_name()}: give the reference as ref_hidden with ref_weight (a frozen "
            "model), or as ref_chosen_logps with ref_rejected_logps, or not at all "
            "(reference-free)"
        )
    chosen, rejected, nll, counts, ref = _fused_pairs(
        hidden,
        weight,
        labels,
        bias,
        average_log_prob=average_log_prob,
        nll_weight=nll_weight,
        chunk_size=chunk_size,
        vocab_chunk_size=vocab_chunk_size,
        ignore_index=ignore_index,
        reference=(
            (ref_hidden, ref_weight, ref_bias)
            if ref_hidden is not None and ref_weight is not None
            else None
        ),
    )
    if ref is None:
        ref = (
            (jnp.asarray(ref_chosen_logps), jnp.asarray(ref_rejected_logps))
            if all(given)
            else (jnp.zeros_like(chosen), jnp.zeros_like(rejected))
        )
    pairs = chosen.shape[0]
    lengths: dict[str, Any] = {}
    if loss_type in ("ipo", "sigmoid_norm"):
        lengths = {"chosen_lengths": counts[:pairs], "rejected_lengths": counts[pairs:]}
    return _finish(
        dpo_loss,
        chosen,
        rejected,
        nll,
        *ref,
        weights=weights,
        where=where,
        reduction=reduction,
        beta=beta,
        loss_type=loss_type,
        label_smoothing=label_smoothing,
        discopop_tau=discopop_tau,
        **lengths,
    )


# --------------------------------------------------------------------------- ORPO, SimPO, CPO


@register(_FAMILY, reference=f"{_LIGER} LigerFusedLinearORPOLoss (compiled=False)")
def fused_linear_orpo_loss(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    bias: ArrayLike | None = None,
    beta: ArrayLike = 0.1,
    nll_weight: ArrayLike = 1.0,
    average_log_prob: bool = True,
    chunk_size: int | None = None,
    vocab_chunk_size: int | None = None,
    ignore_index: int | None = -100,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""ORPO on ``hidden @ weight`` without the logits: :func:`jaxloss.orpo_loss` on fused
    length-averaged log-probabilities plus the chosen tokens' NLL.

    .. math::
       L = \frac1B \sum_{i=1}^{B} \ell_{\text{OR}}(\bar\pi_i, \bar\pi_{B+i})
       + \lambda\, \frac{-\sum_{i \le B,\, t} \log p_{it}}{\#\{\text{chosen tokens}\}}

    with :math:`\ell_{\text{OR}}` of :func:`jaxloss.orpo_loss` and :math:`\bar\pi` the
    mean token log-probability of each sequence (see :func:`fused_linear_dpo_loss`).

    Args:
      hidden: ``[2B, T, D]`` hidden states (``[2B, ..., D]`` works too), the ``B`` chosen
        completions first, then the ``B`` rejected ones (Liger's ``_input``).
      weight: ``[D, V]`` output projection (the transpose of torch's ``lm_head.weight``).
      labels: ``[2B, T]`` integer next-token labels, ``ignore_index`` at prompt and padding
        tokens (Liger's ``target``).
      bias: optional ``[V]`` bias.
      beta: :math:`\beta \ge 0`, the weight of the odds-ratio term.
      nll_weight: :math:`\lambda \ge 0` (default 1: ORPO's SFT term).
      average_log_prob: average (default, as Liger) or sum the token log-probabilities.
      chunk_size: tokens per chunk of :func:`jaxloss.llm.fused_linear_logprobs` (static;
        ``None`` picks the default). Liger's ``chunk_size`` counts pairs instead.
      vocab_chunk_size: vocabulary columns per tile (static; ``None``: all at once).
      ignore_index: label of the tokens that are not part of a completion (``-100``; ``None``
        for none).
      weights: optional ``[B]`` per-pair weights.
      where: optional boolean ``[B]`` mask of the pairs.
      reduction: ``"mean"`` (default: the plain mean over pairs, Liger's value), ``"sum"`` or
        ``"none"`` (one term per pair: its preference term plus ``nll_weight`` times its
        chosen tokens' NLL over the batch's mean chosen-token count per pair).

    Returns:
      The loss.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> h = jnp.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
      >>> w = jnp.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
      >>> y = jnp.array([[0, 1], [0, -100]])
      >>> jaxloss.fused_linear_orpo_loss(h, w, y)
      Array(0.2427..., dtype=float32)

    References:
      J. Hong, N. Lee, J. Thorne, "ORPO", EMNLP 2024, https://arxiv.org/abs/2403.07691;
      Liger-Kernel 0.8.5 ``LigerFusedLinearORPOLoss(ignore_index=-100, beta=0.1,
      compute_nll_loss=True)`` called as ``loss(weight.T, hidden, labels, bias)`` (its NLL
      weight is 1: ``nll_weight=1``, or 0 for ``compute_nll_loss=False``). Deliberate
      differences: finite at a log-probability of 0 (:func:`jaxloss.orpo_loss`); a
      sequence without tokens gives 0 where Liger divides 0 by 0; ``chunk_size`` counts
      tokens; Liger's ``nll_target`` is not offered.
    """
    return _reference_free(
        orpo_loss,
        (hidden, weight, labels, bias),
        (average_log_prob, nll_weight, chunk_size, vocab_chunk_size, ignore_index),
        (weights, where, reduction),
        beta=beta,
    )


@register(_FAMILY, reference=f"{_LIGER} LigerFusedLinearSimPOLoss (compiled=False)")
def fused_linear_simpo_loss(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    bias: ArrayLike | None = None,
    beta: ArrayLike = 0.1,
    gamma: ArrayLike = 0.5,
    label_smoothing: ArrayLike = 0.0,
    nll_weight: ArrayLike = 1.0,
    average_log_prob: bool = True,
    chunk_size: int | None = None,
    vocab_chunk_size: int | None = None,
    ignore_index: int | None = -100,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""SimPO on ``hidden @ weight`` without the logits: :func:`jaxloss.simpo_loss` on fused
    length-averaged log-probabilities plus the chosen tokens' NLL.

    .. math::
       L = \frac1B \sum_{i=1}^{B} \ell_{\text{SimPO}}(\bar\pi_i, \bar\pi_{B+i})
       + \lambda\, \frac{-\sum_{i \le B,\, t} \log p_{it}}{\#\{\text{chosen tokens}\}}

    with :math:`\ell_{\text{SimPO}}` of :func:`jaxloss.simpo_loss` (see
    :func:`fused_linear_dpo_loss` for :math:`\bar\pi`).

    Args:
      hidden: ``[2B, T, D]`` hidden states (``[2B, ..., D]`` works too), the ``B`` chosen
        completions first, then the ``B`` rejected ones (Liger's ``_input``).
      weight: ``[D, V]`` output projection (the transpose of torch's ``lm_head.weight``).
      labels: ``[2B, T]`` integer next-token labels, ``ignore_index`` at prompt and padding
        tokens (Liger's ``target``).
      bias: optional ``[V]`` bias.
      beta: :math:`\beta > 0`.
      gamma: the target reward margin :math:`\gamma`.
      label_smoothing: :math:`\varepsilon \in [0, 1]`.
      nll_weight: :math:`\lambda \ge 0` (default 1, Liger's ``alpha=1`` with
        ``compute_nll_loss=True``; 0 for ``compute_nll_loss=False``).
      average_log_prob: average (default, as Liger) or sum the token log-probabilities.
      chunk_size: tokens per chunk of :func:`jaxloss.llm.fused_linear_logprobs` (static;
        ``None`` picks the default). Liger's ``chunk_size`` counts pairs instead.
      vocab_chunk_size: vocabulary columns per tile (static; ``None``: all at once).
      ignore_index: label of the tokens that are not part of a completion (``-100``; ``None``
        for none).
      weights: optional ``[B]`` per-pair weights.
      where: optional boolean ``[B]`` mask of the pairs.
      reduction: ``"mean"`` (default: the plain mean over pairs, Liger's value), ``"sum"`` or
        ``"none"`` (one term per pair: its preference term plus ``nll_weight`` times its
        chosen tokens' NLL over the batch's mean chosen-token count per pair).

    Returns:
      The loss.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> h = jnp.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
      >>> w = jnp.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
      >>> y = jnp.array([[0, 1], [0, -100]])
      >>> jaxloss.fused_linear_simpo_loss(h, w, y, nll_weight=0.0)
      Array(0.8543..., dtype=float32)

    References:
      Y. Meng, M. Xia, D. Chen, "SimPO", NeurIPS 2024, https://arxiv.org/abs/2405.14734;
      Liger-Kernel 0.8.5 ``LigerFusedLinearSimPOLoss(ignore_index=-100, beta=0.1,
      alpha=1.0, label_smoothing=0.0, compute_nll_loss=True, gamma=0.5)`` called as
      ``loss(weight.T, hidden, labels, bias)``. Deliberate differences: a sequence
      without tokens gives 0 where Liger divides 0 by 0; ``average_log_prob`` is an option
      (Liger always averages); ``chunk_size`` counts tokens.
    """
    return _reference_free(
        simpo_loss,
        (hidden, weight, labels, bias),
        (average_log_prob, nll_weight, chunk_size, vocab_chunk_size, ignore_index),
        (weights, where, reduction),
        beta=beta,
        gamma=gamma,
        label_smoothing=label_smoothing,
    )


@register(_FAMILY, reference=f"{_LIGER} LigerFusedLinearCPOLoss (compiled=False)")
def fused_linear_cpo_loss(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    bias: ArrayLike | None = None,
    beta: ArrayLike = 0.1,
    label_smoothing: ArrayLike = 0.0,
    loss_type: CPOType = "sigmoid",
    nll_weight: ArrayLike = 1.0,
    average_log_prob: bool = False,
    chunk_size: int | None = None,
    vocab_chunk_size: int | None = None,
    ignore_index: int | None = -100,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""CPO on ``hidden @ weight`` without the logits: :func:`jaxloss.cpo_loss` on fused
    sequence log-probabilities plus the chosen tokens' NLL (the BC term).

    .. math::
       L = \frac1B \sum_{i=1}^{B} \ell_{\text{CPO}}(\pi_i, \pi_{B+i})
       + \lambda\, \frac{-\sum_{i \le B,\, t} \log p_{it}}{\#\{\text{chosen tokens}\}}

    with :math:`\ell_{\text{CPO}}` of :func:`jaxloss.cpo_loss` (see
    :func:`fused_linear_dpo_loss` for :math:`\pi`).

    Args:
      hidden: ``[2B, T, D]`` hidden states (``[2B, ..., D]`` works too), the ``B`` chosen
        completions first, then the ``B`` rejected ones (Liger's ``_input``).
      weight: ``[D, V]`` output projection (the transpose of torch's ``lm_head.weight``).
      labels: ``[2B, T]`` integer next-token labels, ``ignore_index`` at prompt and padding
        tokens (Liger's ``target``).
      bias: optional ``[V]`` bias.
      beta: :math:`\beta > 0`.
      label_smoothing: :math:`\varepsilon \in [0, 1]` (``"sigmoid"`` only).
      loss_type: ``"sigmoid"`` (default, Liger's only one), ``"hinge"`` or ``"ipo"`` (TRL).
      nll_weight: :math:`\lambda \ge 0` (default 1, Liger's ``alpha=1`` with
        ``compute_nll_loss=True``; TRL's ``cpo_alpha``).
      average_log_prob: average the token log-probabilities instead of summing them
        (default ``False``, as Liger).
      chunk_size: tokens per chunk of :func:`jaxloss.llm.fused_linear_logprobs` (static;
        ``None`` picks the default). Liger's ``chunk_size`` counts pairs instead.
      vocab_chunk_size: vocabulary columns per tile (static; ``None``: all at once).
      ignore_index: label of the tokens that are not part of a completion (``-100``; ``None``
        for none).
      weights: optional ``[B]`` per-pair weights.
      where: optional boolean ``[B]`` mask of the pairs.
      reduction: ``"mean"`` (default: the plain mean over pairs, Liger's value), ``"sum"`` or
        ``"none"`` (one term per pair: its preference term plus ``nll_weight`` times its
        chosen tokens' NLL over the batch's mean chosen-token count per pair).

    Returns:
      The loss.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> h = jnp.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
      >>> w = jnp.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
      >>> y = jnp.array([[0, 1], [0, -100]])
      >>> jaxloss.fused_linear_cpo_loss(h, w, y, nll_weight=0.0)
      Array(0.6089..., dtype=float32)

    References:
      H. Xu et al., "Contrastive Preference Optimization", ICML 2024,
      https://arxiv.org/abs/2401.08417; Liger-Kernel 0.8.5
      ``LigerFusedLinearCPOLoss(ignore_index=-100, beta=0.1, alpha=1.0,
      label_smoothing=0.0, compute_nll_loss=True, average_log_prob=False)`` called as
      ``loss(weight.T, hidden, labels, bias)``. Deliberate differences: a sequence
      without tokens gives 0 where Liger divides 0 by 0; ``"hinge"``/``"ipo"`` are TRL's;
      ``chunk_size`` counts tokens.
    """
    return _reference_free(
        cpo_loss,
        (hidden, weight, labels, bias),
        (average_log_prob, nll_weight, chunk_size, vocab_chunk_size, ignore_index),
        (weights, where, reduction),
        beta=beta,
        label_smoothing=label_smoothing,
        loss_type=loss_type,
    )
