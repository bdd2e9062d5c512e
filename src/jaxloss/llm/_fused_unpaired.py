"""Unpaired preference optimisation fused with the output projection: KTO on ``hidden @ weight``
without the ``[tokens, V]`` logits.

Each row of ``hidden [B, T, D]`` is one completion with a boolean ``desirable`` label (Liger's
``preference_labels``). The rows' sequence log-probabilities come from
:func:`jaxloss.llm.fused_linear_logprobs` (chunked, with its ``custom_vjp``), summed or averaged
over the non-ignored tokens exactly as the paired fused losses do (the helper is shared with
:mod:`._fused_preference`), and go to the public sequence-level :func:`jaxloss.kto_loss`, which
also does the reduction.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._chunks import check_fused, check_reference
from ._fused_preference import _sequence_logps
from ._preference_unpaired import KTOType, kto_loss

__all__ = ["fused_linear_kto_loss"]

_FAMILY = "llm"


@register(_FAMILY, reference="Liger-Kernel 0.8.5 liger_kernel.chunked_loss LigerFusedLinearKTOLoss")
def fused_linear_kto_loss(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    desirable: ArrayLike,
    kl: ArrayLike | None = None,
    *,
    bias: ArrayLike | None = None,
    ref_hidden: ArrayLike | None = None,
    ref_weight: ArrayLike | None = None,
    ref_bias: ArrayLike | None = None,
    ref_logps: ArrayLike | None = None,
    beta: ArrayLike = 0.1,
    desirable_weight: ArrayLike = 1.0,
    undesirable_weight: ArrayLike = 1.0,
    loss_type: KTOType = "kto",
    average_log_prob: bool = False,
    chunk_size: int | None = None,
    vocab_chunk_size: int | None = None,
    ignore_index: int | None = -100,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""KTO on ``hidden @ weight`` without the logits: :func:`jaxloss.kto_loss` on fused
    sequence log-probabilities.

    .. math::
       \pi_i = \sum_{t:\, y_{it} \ne \text{ignore}} \log\operatorname{softmax}(h_{it} W + b)_{y_{it}}
       \quad (\text{divided by the token count with } \texttt{average\_log\_prob}),

       L = \frac1B \sum_{i=1}^{B} \ell_{\text{KTO}}(\pi_i, \pi^{ref}_i, d_i, z_0)

    where :math:`\ell_{\text{KTO}}` is :func:`jaxloss.kto_loss` (per example:
    :math:`\lambda_D(1 - \sigma(\beta(r - z_0)))` for a desirable completion,
    :math:`\lambda_U(1 - \sigma(\beta(z_0 - r)))` otherwise, :math:`r = \pi - \pi^{ref}`).
    The reference log-probabilities come from ``ref_hidden``/``ref_weight``/``ref_bias``
    (the same fused computation under ``stop_gradient``, Liger's ``use_ref_model=True``), or
    are given as ``ref_logps``, or are 0 when neither is given (Liger's default
    ``use_ref_model=False``).

    Args:
      hidden: ``[B, T, D]`` hidden states of the completions (``[B, ..., D]`` works too;
        Liger's ``_input``).
      weight: ``[D, V]`` output projection (the transpose of torch's ``lm_head.weight``).
      labels: ``[B, T]`` integer next-token labels, ``ignore_index`` at prompt and padding
        tokens (Liger's ``target``).
      desirable: ``[B]`` boolean, True for a desirable completion (Liger's
        ``preference_labels``).
      kl: the KL estimate :math:`z_0` (a scalar or ``[B]``, never differentiated; see
        :func:`jaxloss.kto_kl_estimate`), or ``None`` for 0 (Liger's ``kl=None``).
      bias: optional ``[V]`` bias.
      ref_hidden: ``[B, T, D]`` hidden states of the reference model (with ``ref_weight``).
      ref_weight: ``[D, V]`` the reference model's output projection.
      ref_bias: optional ``[V]`` bias of the reference projection.
      ref_logps: ``[B]`` precomputed reference sequence log-probabilities (instead of
        ``ref_hidden``; not put under ``stop_gradient``).
      beta: :math:`\beta > 0`; float or traced array.
      desirable_weight: :math:`\lambda_D \ge 0` (TRL's; Liger has none: 1).
      undesirable_weight: :math:`\lambda_U \ge 0` (TRL's; Liger has none: 1).
      loss_type: ``"kto"`` (default) or ``"apo_zero_unpaired"`` (TRL).
      average_log_prob: average the token log-probabilities of each sequence instead of
        summing them (a sequence without tokens gives 0).
      chunk_size: tokens per chunk of :func:`jaxloss.llm.fused_linear_logprobs` (static;
        ``None`` picks the default). Liger's ``chunk_size`` counts sequences instead.
      vocab_chunk_size: vocabulary columns per tile (static; ``None``: all at once).
      ignore_index: label of the tokens that are not part of a completion (``-100``; ``None``
        for none).
      weights: optional ``[B]`` per-example weights.
      where: optional boolean ``[B]`` mask of the examples.
      reduction: ``"mean"`` (default: the plain mean over examples, Liger's value), ``"sum"``
        or ``"none"`` (per example).

    Returns:
      The loss.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> h = jnp.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
      >>> w = jnp.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
      >>> y = jnp.array([[0, 1], [0, -100]])
      >>> jaxloss.fused_linear_kto_loss(h, w, y, jnp.array([True, False]), beta=1.0)
      Array(0.3568..., dtype=float32)

    References:
      K. Ethayarajh et al., "KTO: Model Alignment as Prospect Theoretic Optimization",
      ICML 2024, https://arxiv.org/abs/2402.01306; Liger-Kernel 0.8.5
      ``LigerFusedLinearKTOLoss(ignore_index=-100, beta=0.1, use_ref_model=False,
      average_log_prob=False)`` called as ``loss(hidden, weight.T, labels, bias,
      desirable, ref_hidden, ref_weight.T, ref_bias, kl)`` (with ``use_ref_model=True`` when
      a reference is given). Deliberate differences: a sequence without non-ignored tokens
      gives 0 with ``average_log_prob`` where Liger divides 0 by 0; ``desirable_weight``,
      ``undesirable_weight`` and ``"apo_zero_unpaired"`` are TRL's (Liger has neither);
      precomputed reference log-probabilities are accepted; ``chunk_size`` counts tokens,
      not sequences.
    """
    contracts.min_rank(hidden, 2, "hidden")
    check_reference(ref_hidden, ref_weight, ref_bias, ref_logps is not None, "ref_logps")
    options = {
        "average": average_log_prob,
        "chunk_size": chunk_size,
        "vocab_chunk_size": vocab_chunk_size,
        "ignore_index": ignore_index,
    }
    policy, _, _ = _sequence_logps(hidden, weight, labels, bias, **options)
    if ref_hidden is not None and ref_weight is not None:
        check_fused(
            ref_hidden,
            ref_weight,
            labels,
            ref_bias,
            ("ref_hidden", "ref_weight", "labels", "ref_bias"),
        )
        ref, _, _ = _sequence_logps(
            *jax.lax.stop_gradient((ref_hidden, ref_weight, labels, ref_bias)), **options
        )
    elif ref_logps is not None:
        ref = jnp.asarray(ref_logps)
    else:
        ref = jnp.zeros_like(policy)
    return kto_loss(
        policy,
        ref,
        desirable,
        kl,
        beta=beta,
        desirable_weight=desirable_weight,
        undesirable_weight=undesirable_weight,
        loss_type=loss_type,
        weights=weights,
        where=where,
        reduction=reduction,
    )
