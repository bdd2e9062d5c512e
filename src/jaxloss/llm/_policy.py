"""Policy-gradient losses on per-token log-probabilities: GRPO/PPO clipping, KL penalties,
group advantages and the PPO value loss.

All functions take per-token log-probabilities ``[batch, tokens]`` (the output of
:func:`jaxloss.fused_linear_logprobs` or of ``log_softmax`` at the sampled tokens) and a
boolean ``mask`` of completion tokens, as TRL's ``GRPOTrainer`` and Liger's
``LigerFusedLinearGRPOFunction.ppo_loss_fn`` do. Masked tokens may hold anything (TRL pads
them with ``INVALID_LOGPROB = 1``): they are replaced before the formula runs, so they reach
neither the value nor the gradient.
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import calling
from .._src.numerics import abs0, compute_dtype, param, safe_sqrt, upcast
from .._src.reduce import broadcast, check_reduction, combine_masks, reduce, sanitize
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["grpo_advantages", "grpo_loss", "kl_penalty", "ppo_value_loss"]

_FAMILY = "llm"

KLEstimator = Literal["k1", "k2", "k3", "abs", "low_var_kl"]
GRPOLossType = Literal["grpo", "bnpo", "dr_grpo", "dapo", "cispo", "sapo"]
_ESTIMATORS = ("k1", "k2", "k3", "abs", "low_var_kl")
_LOSS_TYPES = ("grpo", "bnpo", "dr_grpo", "dapo", "cispo", "sapo")


def _kl_terms(logp: jax.Array, ref: jax.Array, estimator: str) -> jax.Array:
    """Per-token estimate of KL(pi || ref) from ``log pi`` and ``log ref`` at sampled tokens."""
    diff = logp - ref
    if estimator == "k1":
        return diff
    if estimator == "k2":
        return 0.5 * jnp.square(diff)
    if estimator == "abs":
        return abs0(diff)
    x = ref - logp
    if estimator == "low_var_kl":  # verl clamps the log-ratio at +-20, then the estimate at +-10
        x = jnp.clip(x, -20.0, 20.0)
        return jnp.clip(jnp.expm1(x) - x, -10.0, 10.0)
    # k3 = e^x - x - 1 as expm1(x) - x: no cancellation for x near 0.
    return jnp.expm1(x) - x


@register(
    _FAMILY,
    reference="TRL GRPOTrainer per_token_kl (k3); verl core_algos.kl_penalty (Schulman 2020)",
)
def kl_penalty(
    logprobs: ArrayLike,
    ref_logprobs: ArrayLike,
    *,
    estimator: KLEstimator = "k3",
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Per-token estimators of :math:`\mathrm{KL}(\pi \,\|\, \pi_{\text{ref}})` from sampled tokens.

    With :math:`x = \log \pi_{\text{ref}}(y_t) - \log \pi(y_t)` at tokens sampled from
    :math:`\pi` (Schulman, "Approximating KL divergence", 2020):

    .. math::
       k_1 = -x, \qquad k_2 = \tfrac12 x^2, \qquad k_3 = e^{x} - x - 1, \qquad
       \text{abs} = |x|, \qquad \text{low\_var\_kl} = \operatorname{clip}(k_3(\operatorname{clip}(x,
       \pm 20)), \pm 10)

    :math:`k_3` (TRL's ``per_token_kl``, Liger's ``k3_loss_fn``) is unbiased and non-negative;
    it is computed as ``expm1(x) - x``, exact near :math:`x = 0` where
    ``exp(x) - x - 1`` cancels. ``"low_var_kl"`` is verl's clamped :math:`k_3`; ``"k2"`` is
    verl's ``"mse"``, ``"k1"`` its ``"kl"``. ``"abs"`` has derivative 0 at ``x = 0`` (as torch).

    Args:
      logprobs: ``[...]`` log-probabilities of the sampled tokens under the policy.
      ref_logprobs: same shape; log-probabilities under the reference model.
      estimator: ``"k3"`` (default), ``"k1"``, ``"k2"``, ``"abs"`` or ``"low_var_kl"``.
      weights: optional per-token weights broadcastable to ``logprobs``.
      where: optional boolean mask (completion tokens) broadcastable to ``logprobs``.
      reduction: ``"mean"`` (over the tokens in ``where``), ``"sum"`` or ``"none"``.

    Returns:
      A scalar, or the per-token estimate (``logprobs``' shape) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> lp = jnp.log(jnp.array([0.5, 0.25]))
      >>> jaxloss.kl_penalty(lp, lp)
      Array(0., dtype=float32)
      >>> jaxloss.kl_penalty(jnp.log(jnp.array([0.5])), jnp.log(jnp.array([0.25])), reduction="none")
      Array([0.19314718], dtype=float32)

    References:
      J. Schulman, "Approximating KL Divergence", 2020, http://joschu.net/blog/kl-approx.html;
      TRL ``GRPOTrainer._compute_loss`` (``per_token_kl``, k3), Liger ``k3_loss_fn``, verl
      ``core_algos.kl_penalty`` (``kl``, ``abs``, ``mse``, ``low_var_kl``). Deliberate
      differences: none in the value; k3 is evaluated with ``expm1``.
    """
    check_reduction(reduction)
    contracts.choice(estimator, _ESTIMATORS, "estimator")
    contracts.floating(logprobs=logprobs, ref_logprobs=ref_logprobs)
    contracts.same_shape(
        "one reference log-probability per token", logprobs=logprobs, ref_logprobs=ref_logprobs
    )
    lp, ref = upcast(logprobs, ref_logprobs)
    keep = combine_masks(lp.shape, where)
    lp, ref = sanitize(lp, keep), sanitize(ref, keep)
    return reduce(_kl_terms(lp, ref, estimator), reduction, weights=weights, where=where)


def _psum(x: jax.Array, axis_name: str | None) -> jax.Array:
    return x if axis_name is None else jax.lax.psum(x, axis_name)


def _masked_mean(x: jax.Array, m: jax.Array, axis_name: str | None) -> jax.Array:
    """Global mean of ``x`` over the tokens in ``m`` (0 when there are none)."""
    total = _psum(jnp.sum(jnp.where(m, x, jnp.zeros((), x.dtype))), axis_name)
    count = _psum(jnp.sum(m.astype(x.dtype)), axis_name)
    return total / jnp.maximum(count, 1.0)


@register(
    _FAMILY,
    reference="TRL GRPOTrainer._compute_loss; Liger LigerFusedLinearGRPOFunction.ppo_loss_fn",
    aliases=("ppo_clip_loss",),
)
def grpo_loss(
    logprobs: ArrayLike,
    old_logprobs: ArrayLike | None,
    advantages: ArrayLike,
    mask: ArrayLike,
    *,
    ref_logprobs: ArrayLike | None = None,
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
    return_aux: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
    r"""GRPO / PPO clipped surrogate on per-token log-probabilities (TRL and Liger loss types).

    With the importance ratio :math:`\rho_t = e^{\log\pi(y_t) - \log\pi_{\text{old}}(y_t)}`
    (``"token"``), or :math:`\rho = \exp(\text{masked mean}_t \text{ log-ratio})` per sequence
    (``"sequence"``, GSPO), and advantages :math:`A`:

    .. math::
       \ell_t = -\min\big(\min(\rho_t, \delta) A,\ \operatorname{clip}(\rho_t, 1-\epsilon,
       1+\epsilon_{\text{high}}) A\big)\cdot w^{\text{IS}}_t
       + \beta\, \mathrm{KL}_t\,[\rho_t \text{ with bias correction}]

    for ``grpo``, ``bnpo``, ``dr_grpo``, ``dapo``. ``cispo``: :math:`\ell_t =
    -\operatorname{sg}(\min(\rho_t, \epsilon_{\text{high}}))\,A \log\pi(y_t)`. ``sapo``:
    :math:`\ell_t = -\sigma(\tau(\rho_t - 1))\,\tfrac{4}{\tau} A` with :math:`\tau` =
    ``sapo_temperature_pos`` where :math:`A > 0`, else ``sapo_temperature_neg``. The KL term
    is :func:`kl_penalty` (``kl_estimator``) against ``ref_logprobs``.

    Normalisation (``reduction="mean"``, the loss type's own), with :math:`m` the mask:

    - ``grpo``, ``sapo``: :math:`\frac1B\sum_b \sum_t m\ell / \max(\sum_t m, 1)`;
    - ``bnpo``: :math:`\sum m\ell / \max(\sum m, 1)`;
    - ``dr_grpo``: :math:`\sum m\ell / (B \cdot \text{max\_completion\_length})`;
    - ``dapo``, ``cispo``: :math:`\sum m\ell / \max(\text{normalizer}, 1)`, the normalizer
      defaulting to :math:`\sum m`.

    With ``axis_name`` (inside ``shard_map``/``pmap`` over a data axis) every sum and count
    above (the batch size :math:`B` and the active-token counts included) is ``psum``-ed, so
    each device returns the loss of the whole batch. A given ``normalizer`` is taken as
    already global (TRL's ``num_items_in_batch`` over processes and accumulation steps).

    Reductions, weights and masks: ``"mean"`` is the loss type's normalisation above;
    ``"sum"`` is its numerator :math:`\sum w m \ell`; ``"none"`` the per-token terms
    :math:`w\,\ell_t` (0 outside the mask), ``[B, T]``. ``where=`` is ANDed with ``mask``
    (it removes tokens everywhere, counts and sequence ratios included). ``weights=``
    multiplies each token's term in the numerators only; the counts stay token counts.

    Args:
      logprobs: ``[B, T]`` per-token log-probabilities of the sampled completion tokens under
        the current policy.
      old_logprobs: ``[B, T]`` log-probabilities under the sampling policy, or ``None`` for
        ``stop_gradient(logprobs)`` (one optimisation step per generation, TRL's default).
      advantages: ``[B]`` per-sequence advantages (:func:`grpo_advantages`) or ``[B, T]``
        per-token ones (PPO/GAE).
      mask: ``[B, T]`` completion-token mask (boolean; a 0/1 array is read as ``mask != 0``).
      ref_logprobs: ``[B, T]`` reference-model log-probabilities for the KL term, or ``None``
        (no KL term, as Liger's ``ref = logprobs.detach()``).
      beta: KL coefficient :math:`\beta \ge 0` (TRL's default 0; Liger's 0.04).
      epsilon: lower clip :math:`\epsilon \ge 0` (TRL ``epsilon``/``epsilon_low``).
      epsilon_high: upper clip (``None``: ``epsilon``); for ``cispo`` the cap on the ratio
        itself (TRL's ``epsilon_high``, e.g. 5.0).
      delta: upper clamp of :math:`\rho` in the unclipped branch (INTELLECT-2 two-sided
        clipping), ``None`` for none.
      loss_type: ``"dapo"`` (default), ``"grpo"``, ``"bnpo"``, ``"dr_grpo"``, ``"cispo"``,
        ``"sapo"``.
      importance_sampling_level: ``"token"`` (default) or ``"sequence"`` (GSPO).
      kl_estimator: the :func:`kl_penalty` estimator, ``"k3"`` (TRL, Liger).
      use_bias_correction_kl: multiply the KL term by :math:`\rho` (before ``delta``;
        DeepSeek-V3.2).
      max_completion_length: ``dr_grpo``'s constant (``None``: ``T``).
      normalizer: ``dapo``/``cispo`` denominator (clamped at 1), ``None`` for the active-token
        count.
      sapo_temperature_pos: SAPO :math:`\tau > 0` for positive advantages.
      sapo_temperature_neg: SAPO :math:`\tau > 0` otherwise.
      importance_weights: optional ``[B, T]`` or ``[B, 1]`` factors multiplying the policy term
        before the KL term is added (TRL/Liger's vLLM ``importance_sampling_ratio``).
      axis_name: mapped axis to sum counts and losses over, or ``None``.
      return_aux: also return a dict of ``stop_gradient`` metrics over the active tokens:
        ``"clip_low"``, ``"clip_high"``, ``"clip_region"`` (fractions of clipped tokens, TRL's
        ``clip_ratio/*_mean``; for ``cispo`` ``clip_high`` is the capped fraction) and ``"kl"``
        (the mean KL term, 0 without ``ref_logprobs``).
      weights: optional per-token weights broadcastable to ``[B, T]`` (numerators only).
      where: optional boolean mask broadcastable to ``[B, T]``, ANDed with ``mask``.
      reduction: ``"mean"`` (the loss type's normalisation), ``"sum"`` or ``"none"``.

    Returns:
      The loss (scalar, or ``[B, T]`` for ``"none"``), or ``(loss, aux)`` with ``return_aux``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> lp = jnp.log(jnp.array([[0.5, 0.5, 0.5], [0.25, 0.25, 0.25]]))
      >>> mask = jnp.array([[True, True, False], [True, True, True]])
      >>> jaxloss.grpo_loss(lp, None, jnp.array([1.0, -1.0]), mask)
      Array(0.2, dtype=float32)

    References:
      Z. Shao et al., "DeepSeekMath" (GRPO), 2024, https://arxiv.org/abs/2402.03300; Q. Yu et al.,
      "DAPO", 2025; Z. Liu et al., "Dr. GRPO", 2025; MiniMax-M1 (CISPO), 2025; SAPO, 2025; GSPO,
      2025. Anchors: TRL 1.16 ``GRPOTrainer._compute_loss`` (``delta``, bias correction, the
      normalisations) and Liger 0.8.5 ``LigerFusedLinearGRPOFunction.ppo_loss_fn`` (every
      ``loss_type``; its ``vllm_is_ratio`` is ``importance_weights``, ``num_items_in_batch``
      is ``normalizer``). Deliberate differences: TRL and Liger divide the ``dapo``/``cispo``
      loss of one process by ``normalizer / num_processes`` and let DDP average the gradients;
      here the loss with ``axis_name`` is the global one on every device (same gradients).
      TRL's gradient-accumulation scaling (``/ current_gradient_accumulation_steps``) is the
      caller's. Liger rejects ``"sequence"`` with ``cispo``/``sapo``; TRL allows it, so does
      this function. Clip fractions are token means (Liger) also at the sequence level, where
      TRL averages over sequences. TRL's ``vespo``/``luspo``, off-policy and entropy masks are
      out of scope (API.md 3.G); compose them through ``importance_weights``/``weights``.
    """
    check_reduction(reduction, own_rule=True)
    contracts.choice(loss_type, _LOSS_TYPES, "loss_type")
    contracts.choice(importance_sampling_level, ("token", "sequence"), "importance_sampling_level")
    contracts.choice(kl_estimator, _ESTIMATORS, "kl_estimator")
    contracts.bounded(beta, "beta", ge=0)
    contracts.bounded(epsilon, "epsilon", ge=0)
    contracts.bounded(epsilon_high, "epsilon_high", ge=0)
    contracts.bounded(delta, "delta", gt=0)
    contracts.bounded(sapo_temperature_pos, "sapo_temperature_pos", gt=0)
    contracts.bounded(sapo_temperature_neg, "sapo_temperature_neg", gt=0)
    if max_completion_length is not None and max_completion_length < 1:
        raise ValueError(
            f"grpo_loss: max_completion_length must be >= 1, got {max_completion_length}"
        )
    contracts.floating(logprobs=logprobs, old_logprobs=old_logprobs, ref_logprobs=ref_logprobs)
    contracts.rank(logprobs, 2, "logprobs", "per-token log-probabilities [batch, tokens]")
    contracts.same_shape(
        "per-token arrays [batch, tokens]",
        logprobs=logprobs,
        old_logprobs=old_logprobs,
        ref_logprobs=ref_logprobs,
        mask=mask,
    )
    b, t = jnp.shape(logprobs)
    contracts.rank(
        advantages, {1, 2}, "advantages", "[batch] per sequence or [batch, tokens] per token"
    )
    contracts.shape_is(
        advantages,
        (b,) if jnp.ndim(advantages) == 1 else (b, t),
        "advantages",
        like={"logprobs": logprobs},
    )
    dtype = compute_dtype(logprobs, old_logprobs, ref_logprobs, advantages)
    m = combine_masks((b, t), jnp.asarray(mask).astype(bool), where)
    assert m is not None
    lp = sanitize(jnp.asarray(logprobs, dtype), m)
    old = (
        jax.lax.stop_gradient(lp)
        if old_logprobs is None
        else sanitize(jnp.asarray(old_logprobs, dtype), m)
    )
    adv = jnp.asarray(advantages, dtype)
    adv = adv[:, None] if adv.ndim == 1 else sanitize(adv, m)
    mf = m.astype(dtype)

    log_ratio = lp - old
    if importance_sampling_level == "sequence":
        log_ratio = jnp.sum(mf * log_ratio, axis=-1, keepdims=True) / jnp.maximum(
            jnp.sum(mf, axis=-1, keepdims=True), 1.0
        )
    rho = jnp.exp(log_ratio)
    eps_lo = param(epsilon, dtype)
    eps_hi = eps_lo if epsilon_high is None else param(epsilon_high, dtype)
    zeros = jnp.zeros((b, t), bool)
    if loss_type == "cispo":
        capped = jax.lax.stop_gradient(jnp.minimum(rho, eps_hi))
        per_token = -capped * adv * lp
        low, high = zeros, (rho > eps_hi) & (adv > 0)
    elif loss_type == "sapo":
        tau = jnp.where(
            adv > 0, param(sapo_temperature_pos, dtype), param(sapo_temperature_neg, dtype)
        )
        per_token = -jax.nn.sigmoid(tau * (rho - 1.0)) * 4.0 / tau * adv
        low = high = zeros
    else:
        clipped = jnp.clip(rho, 1.0 - eps_lo, 1.0 + eps_hi)
        unclipped = rho if delta is None else jnp.minimum(rho, param(delta, dtype))
        per_token = -jnp.minimum(unclipped * adv, clipped * adv)
        low = (unclipped < 1.0 - eps_lo) & (adv < 0)
        high = (unclipped > 1.0 + eps_hi) & (adv > 0)
    if importance_weights is not None:
        per_token = per_token * broadcast(
            importance_weights, (b, t), "importance_weights", dtype=dtype
        )
    kl = jnp.zeros((b, t), dtype)
    if ref_logprobs is not None:
        ref = sanitize(jnp.asarray(ref_logprobs, dtype), m)
        kl = _kl_terms(lp, ref, kl_estimator)
        if use_bias_correction_kl:
            kl = kl * rho
        per_token = per_token + param(beta, dtype) * kl
    per_token = jnp.broadcast_to(per_token, (b, t))

    if reduction == "none":
        loss = reduce(per_token, "none", weights=weights, where=m)
    else:
        if loss_type in ("grpo", "sapo"):
            coef = jnp.broadcast_to(
                1.0 / jnp.maximum(jnp.sum(mf, axis=-1, keepdims=True), 1.0), (b, t)
            )
            denominator = _psum(jnp.asarray(b, dtype), axis_name)
        elif loss_type == "dr_grpo":
            coef = None
            length = t if max_completion_length is None else max_completion_length
            denominator = _psum(jnp.asarray(b, dtype), axis_name) * length
        elif loss_type in ("dapo", "cispo") and normalizer is not None:
            coef, denominator = None, jnp.asarray(normalizer, dtype)
        else:  # bnpo, and dapo/cispo counting the active tokens
            coef, denominator = None, _psum(jnp.sum(mf), axis_name)
        w = coef
        if weights is not None:
            user = broadcast(weights, (b, t), "weights", dtype=dtype)
            w = user if coef is None else coef * user
        total = _psum(reduce(per_token, "sum", weights=w, where=m), axis_name)
        loss = total if reduction == "sum" else total / jnp.maximum(denominator, 1.0)
    if return_aux:
        region = low | high
        aux = {
            "clip_low": _masked_mean(jnp.broadcast_to(low, (b, t)).astype(dtype), m, axis_name),
            "clip_high": _masked_mean(jnp.broadcast_to(high, (b, t)).astype(dtype), m, axis_name),
            "clip_region": _masked_mean(
                jnp.broadcast_to(region, (b, t)).astype(dtype), m, axis_name
            ),
            "kl": _masked_mean(jnp.broadcast_to(kl, (b, t)), m, axis_name),
        }
        return loss, jax.lax.stop_gradient(aux)
    return loss


def grpo_advantages(
    rewards: ArrayLike,
    *,
    group_size: int,
    scale_rewards: Literal["group", "batch", "none"] = "group",
    eps: float = 1e-4,
) -> jax.Array:
    r"""Group-relative advantages of GRPO (TRL ``GRPOTrainer``).

    Rewards come in consecutive groups of ``group_size`` completions of one prompt:

    .. math:: A_i = \frac{r_i - \bar r_{g(i)}}{s + \epsilon}

    with :math:`\bar r_g` the group mean and :math:`s` the unbiased standard deviation of the
    group (``scale_rewards="group"``) or of the whole batch (``"batch"``);
    ``scale_rewards="none"`` does not divide (Dr. GRPO). A group with constant rewards gets
    advantages 0 (finite, zero gradient). With ``group_size=1`` the standard deviation is 0,
    as TRL sets it.

    Args:
      rewards: ``[B]`` rewards, ``B`` a multiple of ``group_size``, groups contiguous (TRL's
        ``repeat_interleave`` layout).
      group_size: completions per prompt (TRL ``num_generations``), static.
      scale_rewards: ``"group"`` (default), ``"batch"`` or ``"none"``.
      eps: added to the standard deviation (TRL's 1e-4).

    Returns:
      ``[B]`` advantages (float32, or float64 for float64 rewards).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.grpo_advantages(jnp.array([1.0, 0.0, 2.0, 2.0]), group_size=2, scale_rewards="none")
      Array([ 0.5, -0.5,  0. ,  0. ], dtype=float32)

    References:
      Z. Shao et al., "DeepSeekMath", 2024, https://arxiv.org/abs/2402.03300; TRL 1.16
      ``GRPOTrainer._generate_and_score_completions`` (``sum_then_normalize``: group mean,
      ``nanstd``, ``/ (std + 1e-4)``). Deliberate differences: rewards are one array (TRL's
      weighted sum of reward functions is the caller's); NaN rewards (unscorable) are not
      excluded from the statistics, filter them first.
    """
    with calling("grpo_advantages"):
        contracts.choice(scale_rewards, ("group", "batch", "none"), "scale_rewards")
        contracts.rank(rewards, 1, "rewards", "one reward per completion")
        if not isinstance(group_size, int) or group_size < 1:
            raise ValueError(
                f"grpo_advantages: group_size must be a positive int, got {group_size!r}"
            )
        n = jnp.shape(rewards)[0]
        if n % group_size:
            raise ValueError(
                f"grpo_advantages: rewards has shape ({n},), not a multiple of group_size={group_size}"
            )
        contracts.bounded(eps, "eps", ge=0)
        (r,) = upcast(rewards)
        groups = r.reshape((n // group_size, group_size))
        centred = (groups - jnp.mean(groups, axis=-1, keepdims=True)).reshape((n,))
        if scale_rewards == "none":
            return centred

        def std(x: jax.Array) -> jax.Array:
            k = x.shape[-1]
            if k < 2:
                return jnp.zeros(x.shape[:-1], x.dtype)
            return safe_sqrt(jnp.var(x, axis=-1, ddof=1))

        s = jnp.repeat(std(groups), group_size) if scale_rewards == "group" else std(r)
        return centred / (s + param(eps, r.dtype))


@register(_FAMILY, reference="TRL PPOTrainer value loss (vf_loss, cliprange_value)")
def ppo_value_loss(
    values: ArrayLike,
    old_values: ArrayLike,
    returns: ArrayLike,
    mask: ArrayLike,
    *,
    clip_range: ArrayLike = 0.2,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""PPO's clipped value-function loss (TRL ``PPOTrainer``).

    .. math::
       \ell_t = \tfrac12 \max\big((v_t - R_t)^2,\ (\operatorname{clip}(v_t, v^{\text{old}}_t - c,
       v^{\text{old}}_t + c) - R_t)^2\big)

    averaged over the tokens in ``mask`` (TRL's ``0.5 * masked_mean(max(vf_losses1,
    vf_losses2), mask)``).

    Args:
      values: ``[B, T]`` value predictions of the current critic.
      old_values: ``[B, T]`` value predictions at rollout time.
      returns: ``[B, T]`` returns (advantages + old values under GAE).
      mask: ``[B, T]`` tokens that count (boolean; 0/1 read as ``mask != 0``).
      clip_range: :math:`c \ge 0` (TRL ``cliprange_value``).
      weights: optional per-token weights broadcastable to ``[B, T]``.
      where: optional boolean mask broadcastable to ``[B, T]``, ANDed with ``mask``.
      reduction: ``"mean"`` (over the tokens in ``mask``), ``"sum"`` or ``"none"``.

    Returns:
      A scalar, or the ``[B, T]`` per-token terms (0 outside the mask) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> v = jnp.array([[1.0, 0.5]])
      >>> jaxloss.ppo_value_loss(v, v, jnp.array([[0.0, 0.5]]), jnp.array([[True, True]]))
      Array(0.25, dtype=float32)

    References:
      J. Schulman et al., "Proximal Policy Optimization Algorithms", 2017,
      https://arxiv.org/abs/1707.06347; TRL ``PPOTrainer.train`` (``vpredclipped``,
      ``vf_loss = 0.5 * masked_mean(vf_loss_max, ~padding_mask_p1)``), transcribed (TRL 1.16
      ships no PPO trainer). Deliberate differences: none.
    """
    check_reduction(reduction)
    contracts.bounded(clip_range, "clip_range", ge=0)
    contracts.floating(values=values, old_values=old_values, returns=returns)
    contracts.rank(values, 2, "values", "per-token values [batch, tokens]")
    contracts.same_shape(
        "per-token arrays [batch, tokens]",
        values=values,
        old_values=old_values,
        returns=returns,
        mask=mask,
    )
    shape = jnp.shape(values)
    m = combine_masks(shape, jnp.asarray(mask).astype(bool), where)
    v, old, ret = (sanitize(x, m) for x in upcast(values, old_values, returns))
    c = param(clip_range, v.dtype)
    clipped = jnp.clip(v, old - c, old + c)
    loss = 0.5 * jnp.maximum(jnp.square(v - ret), jnp.square(clipped - ret))
    return reduce(loss, reduction, weights=weights, where=m)
