"""Policy-gradient losses fused with the output projection: GRPO/PPO on ``hidden @ weight``
without the ``[tokens, V]`` logits.

The per-token log-probabilities of the sampled tokens come from
:func:`jaxloss.llm.fused_linear_logprobs` (chunked over tokens and, optionally, over the
vocabulary, with its ``custom_vjp``); the clipped surrogate, the KL penalty, the loss-type
normalisations and the reduction are those of the public :func:`jaxloss.grpo_loss`, called on
them. The reference model's log-probabilities are computed the same way under
``stop_gradient`` when its hidden states and head are given.
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._chunks import check_fused, check_reference
from ._logprobs import fused_linear_logprobs
from ._policy import GRPOLossType, KLEstimator, grpo_loss

__all__ = ["fused_linear_grpo_loss"]

_FAMILY = "llm"


def _token_logprobs(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: jax.Array,
    bias: ArrayLike | None,
    active: jax.Array,
    *,
    temperature: ArrayLike,
    chunk_size: int | None,
    vocab_chunk_size: int | None,
) -> jax.Array:
    """Per-token log-probabilities ``[B, T]`` of ``labels``, 0 outside ``active``.

    Inactive tokens get label 0 and a zero hidden state, so whatever they hold (padding ids,
    ``ignore_index``, NaN) reaches neither the value nor the gradient.
    """
    h = jnp.asarray(hidden)
    h = jnp.where(active[..., None], h, jnp.zeros((), h.dtype))
    y = jnp.where(active, labels, jnp.zeros((), labels.dtype))
    return fused_linear_logprobs(
        h,
        weight,
        y,
        bias=bias,
        temperature=temperature,
        chunk_size=chunk_size,
        vocab_chunk_size=vocab_chunk_size,
        ignore_index=None,
    )


@register(
    _FAMILY,
    reference="Liger-Kernel 0.8.5 liger_kernel.chunked_loss LigerFusedLinearGRPOLoss (compiled=False)",
)
def fused_linear_grpo_loss(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    mask: ArrayLike,
    advantages: ArrayLike,
    *,
    bias: ArrayLike | None = None,
    temperature: ArrayLike = 1.0,
    old_logprobs: ArrayLike | None = None,
    ref_logprobs: ArrayLike | None = None,
    ref_hidden: ArrayLike | None = None,
    ref_weight: ArrayLike | None = None,
    ref_bias: ArrayLike | None = None,
    beta: ArrayLike = 0.0,
    epsilon: ArrayLike = 0.2,
    epsilon_high: ArrayLike | None = None,
    delta: ArrayLike | None = None,
    loss_type: GRPOLossType = "dapo",
    importance_sampling_level: Literal["token", "sequence"] = "token",
    kl_estimator: KLEstimator = "k3",
    use_bias_correction_kl: bool = False,
    max_completion_length: int | None = None,
    normalizer: ArrayLike | None = None,
    sapo_temperature_pos: ArrayLike = 1.0,
    sapo_temperature_neg: ArrayLike = 1.05,
    importance_weights: ArrayLike | None = None,
    axis_name: str | None = None,
    chunk_size: int | None = None,
    vocab_chunk_size: int | None = None,
    ignore_index: int | None = -100,
    return_aux: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
    r"""GRPO / PPO clipped surrogate on ``hidden @ weight`` without the logits:
    :func:`jaxloss.grpo_loss` on fused per-token log-probabilities.

    .. math::
       \log\pi_{bt} = \log\operatorname{softmax}\big((h_{bt} W + b) / T\big)_{y_{bt}}, \qquad
       L = \text{grpo\_loss}(\log\pi, \log\pi_{\text{old}}, A, m)

    with every option of :func:`jaxloss.grpo_loss` (loss types ``grpo``, ``bnpo``,
    ``dr_grpo``, ``dapo``, ``cispo``, ``sapo``; token or sequence importance sampling; KL
    estimators; ``delta``; bias-corrected KL; ``importance_weights``; ``axis_name``). The
    log-probabilities are :func:`jaxloss.llm.fused_linear_logprobs` (chunked, ``custom_vjp``),
    so neither ``[B*T, V]`` nor, with ``vocab_chunk_size``, ``[chunk, V]`` exists. The
    reference log-probabilities for the KL term come from ``ref_hidden``/``ref_weight``/
    ``ref_bias`` (the same fused computation at the same temperature, under
    ``stop_gradient``), or are given as ``ref_logprobs``; without either there is no KL term.

    Args:
      hidden: ``[B, T, D]`` hidden states of the completions (Liger's ``_input``).
      weight: ``[D, V]`` output projection (the transpose of torch's ``lm_head.weight``).
      labels: ``[B, T]`` integer sampled token ids (Liger's ``selected_token_ids``).
      mask: ``[B, T]`` completion-token mask (boolean; 0/1 read as ``mask != 0``; Liger's
        ``attention_mask``). Tokens whose label is ``ignore_index`` are left out as well.
      advantages: ``[B]`` per-sequence (or ``[B, T]`` per-token) advantages.
      bias: optional ``[V]`` bias.
      temperature: :math:`T > 0` dividing the logits (the sampling temperature); float or
        traced.
      old_logprobs: ``[B, T]`` log-probabilities under the sampling policy, or ``None`` for
        ``stop_gradient`` of the current ones.
      ref_logprobs: ``[B, T]`` reference log-probabilities (instead of ``ref_hidden``).
      ref_hidden: ``[B, T, D]`` hidden states of the reference model (with ``ref_weight``).
      ref_weight: ``[D, V]`` the reference model's output projection.
      ref_bias: optional ``[V]`` bias of the reference projection.
      beta: KL coefficient :math:`\beta \ge 0` (default 0, TRL; Liger's default is 0.04).
      epsilon: lower clip :math:`\epsilon` (Liger's ``epsilon_low``).
      epsilon_high: upper clip (``None``: ``epsilon``).
      delta: INTELLECT-2 upper clamp of the ratio, or ``None``.
      loss_type: see :func:`jaxloss.grpo_loss` (default ``"dapo"``, as Liger and TRL).
      importance_sampling_level: ``"token"`` or ``"sequence"`` (GSPO).
      kl_estimator: :func:`jaxloss.kl_penalty` estimator (``"k3"``, Liger's).
      use_bias_correction_kl: multiply the KL term by the ratio (DeepSeek-V3.2).
      max_completion_length: ``dr_grpo``'s constant (``None``: ``T``).
      normalizer: ``dapo``/``cispo`` denominator (Liger's ``num_items_in_batch``).
      sapo_temperature_pos: SAPO :math:`\tau` for positive advantages.
      sapo_temperature_neg: SAPO :math:`\tau` otherwise.
      importance_weights: ``[B, T]`` or ``[B, 1]`` factors of the policy term (Liger's
        ``vllm_is_ratio``).
      axis_name: mapped axis for the global normalisation (see :func:`jaxloss.grpo_loss`).
      chunk_size: tokens per chunk of :func:`jaxloss.llm.fused_linear_logprobs` (static;
        ``None`` picks the default). Liger's ``chunk_size`` counts sequences instead.
      vocab_chunk_size: vocabulary columns per tile (static; ``None``: all at once).
      ignore_index: label marking tokens outside the completion (``-100``; ``None`` for none).
      return_aux: also return :func:`jaxloss.grpo_loss`'s metrics (clip fractions, mean KL).
      weights: optional per-token weights broadcastable to ``[B, T]`` (numerators only).
      where: optional boolean mask broadcastable to ``[B, T]``, ANDed with ``mask``.
      reduction: ``"mean"`` (the loss type's normalisation), ``"sum"`` or ``"none"``
        (``[B, T]``).

    Returns:
      The loss, or ``(loss, aux)`` with ``return_aux``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> h = jnp.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 1.0]]])
      >>> w = jnp.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
      >>> y, mask = jnp.array([[0, 1], [2, 0]]), jnp.array([[True, True], [True, False]])
      >>> jaxloss.fused_linear_grpo_loss(h, w, y, mask, jnp.array([1.0, -1.0]))
      Array(-0.333..., dtype=float32)

    References:
      Z. Shao et al., "DeepSeekMath" (GRPO), 2024, https://arxiv.org/abs/2402.03300;
      Liger-Kernel 0.8.5 ``LigerFusedLinearGRPOLoss(beta=0.04, use_ref_model=True,
      epsilon_low=0.2, epsilon_high=0.2, loss_type="dapo", temperature=1.0)`` called as
      ``loss(hidden, weight.T, labels, mask, advantages, bias, ref_logprobs, old_logprobs,
      ref_hidden, ref_weight.T, ref_bias, vllm_is_ratio, num_items_in_batch)``: ``epsilon`` is
      ``epsilon_low``, ``importance_weights`` is ``vllm_is_ratio``, ``normalizer`` is
      ``num_items_in_batch``. Deliberate differences: the default ``beta`` is 0 (TRL's and
      :func:`jaxloss.grpo_loss`'s; pass ``beta=0.04`` for Liger's); ``dr_grpo`` without
      ``max_completion_length`` uses ``T`` (Liger raises); ``"sequence"`` is allowed with
      ``cispo``/``sapo`` (Liger raises); Liger's ``vespo`` and ``luspo`` are not offered
      (API.md 3.G); with ``axis_name`` the loss is the global one on every device instead of
      Liger's per-process ``normalizer / world_size``; ``chunk_size`` counts tokens, not
      sequences; Liger computes no KL term for ``beta=0`` and uses ``ref = logprobs.detach()``
      without a reference, here no reference means no KL term (the same value and gradient).
    """
    contracts.rank(hidden, 3, "hidden", "hidden states [batch, tokens, D]")
    check_fused(
        hidden, weight, labels, bias, chunk_size=chunk_size, vocab_chunk_size=vocab_chunk_size
    )
    contracts.same_shape("one mask entry per token [batch, tokens]", labels=labels, mask=mask)
    check_reference(ref_hidden, ref_weight, ref_bias, ref_logprobs is not None, "ref_logprobs")
    y = jnp.asarray(labels)
    active = jnp.asarray(mask).astype(bool)
    if ignore_index is not None:
        active = active & (y != ignore_index)
    fused = {"temperature": temperature, "chunk_size": chunk_size}
    logprobs = _token_logprobs(
        hidden, weight, y, bias, active, vocab_chunk_size=vocab_chunk_size, **fused
    )
    if ref_hidden is not None and ref_weight is not None:
        check_fused(
            ref_hidden,
            ref_weight,
            labels,
            ref_bias,
            ("ref_hidden", "ref_weight", "labels", "ref_bias"),
        )
        ref_logprobs = jax.lax.stop_gradient(
            _token_logprobs(
                *jax.lax.stop_gradient((ref_hidden, ref_weight, y, ref_bias)),
                active,
                vocab_chunk_size=vocab_chunk_size,
                **fused,
            )
        )
    return grpo_loss(
        logprobs,
        old_logprobs,
        advantages,
        active,
        ref_logprobs=ref_logprobs,
        beta=beta,
        epsilon=epsilon,
        epsilon_high=epsilon_high,
        delta=delta,
        loss_type=loss_type,
        importance_sampling_level=importance_sampling_level,
        kl_estimator=kl_estimator,
        use_bias_correction_kl=use_bias_correction_kl,
        max_completion_length=max_completion_length,
        normalizer=normalizer,
        sapo_temperature_pos=sapo_temperature_pos,
        sapo_temperature_neg=sapo_temperature_neg,
        importance_weights=importance_weights,
        axis_name=axis_name,
        return_aux=return_aux,
        weights=weights,
        where=where,
        reduction=reduction,
    )
