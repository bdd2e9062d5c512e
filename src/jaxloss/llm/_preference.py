"""Paired preference optimisation on sequence log-probabilities: DPO and its TRL variants,
SimPO, ORPO and CPO (the unpaired KTO and BCO are in ``_preference_unpaired.py``).

The data are per-sequence log-probabilities ``[batch]`` (sums of completion-token
log-probabilities unless a function says "length-averaged"), all ``<= 0``: a positive
entry raises ``ValueError`` for concrete inputs (under ``jit`` it is not checked).
Paired losses take the chosen and rejected completions of the same prompts as two
arrays of the same shape; ``reduction="none"`` gives one term per pair, ``"mean"`` the
plain mean over pairs (``weights``/``where`` as the library rule).
"""

from __future__ import annotations

import math
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.nn import log_sigmoid, sigmoid, softplus

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import is_traced, param, upcast
from .._src.reduce import broadcast, check_reduction, reduce, sanitize
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["cpo_loss", "dpo_loss", "orpo_loss", "simpo_loss"]

_FAMILY = "llm"

# fmt: off
DPOType = Literal["sigmoid", "hinge", "ipo", "robust", "exo_pair", "nca_pair", "bco_pair",
                  "sppo_hard", "aot", "aot_unpaired", "apo_zero", "apo_down", "discopop",
                  "sigmoid_norm"]
# fmt: on
FDivergence = Literal["reverse_kl", "forward_kl", "js_divergence", "alpha_divergence"]
_DPO_TYPES = DPOType.__args__  # type: ignore[attr-defined]
_F_DIVERGENCES = ("reverse_kl", "forward_kl", "js_divergence", "alpha_divergence")
# TRL: the f-DPO reparameterisation only cancels log Z(x) in the chosen - rejected difference.
_F_TYPES = ("sigmoid", "sigmoid_norm", "hinge", "ipo", "exo_pair", "robust", "discopop")
_LENGTH_TYPES = ("ipo", "sigmoid_norm")
_PAIRED = "chosen and rejected completions are paired"
# TRL clamps (alpha - 1) * log-ratio at 80 before exp (float32 / bfloat16).
_ALPHA_CLAMP = 80.0


# --------------------------------------------------------------------------- prologue


def _nonpositive(x: ArrayLike, what: str) -> None:
    """Concrete log-probabilities are ``<= 0`` (eager only, as the library's other value checks)."""
    if is_traced(x):
        return
    v = np.asarray(x)
    bad = v > 0
    if np.any(bad):
        raise ValueError(
            f"{function_name()}: {what} has shape {v.shape} and {int(bad.sum())} positive entries, "
            f"e.g. {v[bad][:3].tolist()}; log-probabilities are <= 0 (sum or mean the "
            "log_softmax of the completion tokens; not logits, not probabilities)"
        )


def _sequences(
    hint: str, where: ArrayLike | None, fill: float = 0.0, **arrays: ArrayLike
) -> tuple[jax.Array | None, list[jax.Array]]:
    """Checks ``[batch]`` floating log-probabilities of equal shapes, upcasts them and sets
    the entries masked out by ``where`` to ``fill``. Returns ``(valid, arrays)``."""
    contracts.floating(**arrays)
    for name, x in arrays.items():
        contracts.rank(x, 1, name, hint="one log-probability per sequence, [batch]")
    contracts.same_shape(hint, **arrays)
    for name, x in arrays.items():
        _nonpositive(x, name)
    xs = upcast(*arrays.values())
    valid = None if where is None else broadcast(where, xs[0].shape, "where", dtype=bool)
    return valid, [sanitize(x, valid, fill) for x in xs]


def _smoothed(z: jax.Array, eps: jax.Array) -> jax.Array:
    """``-(1 - eps) log sigmoid(z) - eps log sigmoid(-z)``."""
    return (1 - eps) * softplus(-z) + eps * softplus(z)


# --------------------------------------------------------------------------- DPO


def _f_scores(logratio: jax.Array, f_divergence: str, f_alpha: ArrayLike) -> jax.Array:
    """TRL's f'(exp(logratio)) for each ``f_divergence``."""
    if f_divergence == "forward_kl":  # f'(t) = 1 - 1/t
        return -jnp.expm1(-logratio)
    if f_divergence == "js_divergence":  # f'(t) = log(2t / (t + 1))
        return math.log(2.0) + log_sigmoid(logratio)
    if f_divergence == "alpha_divergence":  # f'(t) = (t^(alpha-1) - 1) / (alpha - 1)
        am1 = param(f_alpha, logratio.dtype) - 1
        limit = jnp.abs(am1) < 1e-6  # TRL falls back to reverse KL (the limit)
        safe = jnp.where(limit, jnp.ones_like(am1), am1)
        t = jnp.minimum(safe * logratio, _ALPHA_CLAMP)
        return jnp.where(limit, logratio, jnp.expm1(t) / safe)
    return logratio


def _sorted(x: jax.Array, valid: jax.Array | None) -> jax.Array:
    """``x`` ascending, entries outside ``valid`` last (their order does not matter)."""
    key = jnp.zeros(x.shape, jnp.int32) if valid is None else (~valid).astype(jnp.int32)
    idx = jnp.arange(x.shape[0], dtype=jnp.int32)
    _, _, perm = jax.lax.sort((key, jax.lax.stop_gradient(x), idx), num_keys=2)
    return x[perm]


def _lengths(lengths: ArrayLike, like: jax.Array, what: str) -> jax.Array:
    contracts.shape_is(lengths, like.shape, what, like={"policy_chosen_logps": like})
    return jnp.maximum(jnp.asarray(lengths).astype(like.dtype), 1)  # TRL clamps at 1 token


@register(_FAMILY, reference="TRL 1.16 DPOTrainer._compute_loss; Liger LigerFusedLinearDPOFunction")
def dpo_loss(
    policy_chosen_logps: ArrayLike,
    policy_rejected_logps: ArrayLike,
    ref_chosen_logps: ArrayLike,
    ref_rejected_logps: ArrayLike,
    *,
    beta: ArrayLike = 0.1,
    loss_type: DPOType = "sigmoid",
    label_smoothing: ArrayLike = 0.0,
    chosen_lengths: ArrayLike | None = None,
    rejected_lengths: ArrayLike | None = None,
    f_divergence: FDivergence = "reverse_kl",
    f_alpha: ArrayLike = 1.0,
    discopop_tau: ArrayLike = 0.05,
    return_aux: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
    r"""Direct Preference Optimization and TRL's variants of it (``loss_type``).

    With the log-ratios :math:`\rho_c = \pi_c - \pi^{ref}_c`, :math:`\rho_r = \pi_r -
    \pi^{ref}_r`, the scores :math:`s = f'(e^{\rho})` of ``f_divergence`` (``"reverse_kl"``:
    :math:`s = \rho`; ``"forward_kl"``: :math:`1 - e^{-\rho}`; ``"js_divergence"``:
    :math:`\log 2 + \log\sigma(\rho)`; ``"alpha_divergence"``: :math:`(e^{(\alpha-1)\rho} -
    1)/(\alpha - 1)`, exponent clamped at 80) and :math:`z = \beta\Delta`,
    :math:`\Delta = s_c - s_r`:

    .. math::
       \ell_{\text{sigmoid}} = -(1-\varepsilon)\log\sigma(z) - \varepsilon\log\sigma(-z),
       \qquad \ell_{\text{ipo}} = \Big(\Delta - \frac{1}{2\beta}\Big)^2,
       \qquad \ell_{\text{hinge}} = [1 - z]_+

    ``"robust"``: :math:`((1-\varepsilon)(-\log\sigma(z)) - \varepsilon(-\log\sigma(-z)))
    /(1-2\varepsilon)`; ``"exo_pair"``: :math:`\mathrm{KL}([\sigma(z), \sigma(-z)] \,\|\,
    [1-\varepsilon, \varepsilon])`; ``"nca_pair"``: :math:`-\log\sigma(\beta\rho_c) -
    \tfrac12\log\sigma(-\beta\rho_c) - \tfrac12\log\sigma(-\beta\rho_r)`; ``"bco_pair"``:
    :math:`-\log\sigma(\beta\rho_c) - \log\sigma(-\beta\rho_r)`; ``"sppo_hard"``:
    :math:`(\rho_c - \tfrac{1}{2\beta})^2 + (\rho_r + \tfrac{1}{2\beta})^2`; ``"apo_zero"``:
    :math:`1 - \sigma(\beta\rho_c) + \sigma(\beta\rho_r)`; ``"apo_down"``:
    :math:`\sigma(\beta\rho_c) + 1 - \sigma(\beta(\rho_c - \rho_r))`; ``"discopop"``:
    :math:`-\log\sigma(z)(1 - m) + e^{-z} m`, :math:`m = \sigma(z/\tau)`;
    ``"sigmoid_norm"``: :math:`-\log\sigma(\beta\Delta_{\text{len}})` with each score divided
    by its completion length; ``"aot"``: the sigmoid form (with :math:`\varepsilon`) on
    :math:`\beta(\operatorname{sort}(\pi_c - \pi_r) - \operatorname{sort}(\pi^{ref}_c -
    \pi^{ref}_r))`, and ``"aot_unpaired"`` on :math:`\beta(\operatorname{sort}(\rho_c) -
    \operatorname{sort}(\rho_r))`, sorted over the batch. ``f_divergence`` other than
    ``"reverse_kl"`` applies to sigmoid, sigmoid_norm, hinge, ipo, exo_pair, robust and
    discopop only (TRL raises for the others, as here).

    Args:
      policy_chosen_logps: ``[batch]`` policy log-probabilities of the chosen completions.
      policy_rejected_logps: ``[batch]`` policy log-probabilities of the rejected ones.
      ref_chosen_logps: ``[batch]`` reference log-probabilities of the chosen completions
        (not put under ``stop_gradient``: pass a frozen model's values).
      ref_rejected_logps: ``[batch]`` reference log-probabilities of the rejected ones.
      beta: :math:`\beta > 0`; float or traced array.
      loss_type: one of the forms above (default ``"sigmoid"``).
      label_smoothing: :math:`\varepsilon`, used by sigmoid (cDPO), robust (``< 0.5``),
        exo_pair (``> 0``), aot and aot_unpaired; ignored by the others (as TRL).
      chosen_lengths: ``[batch]`` completion token counts of the chosen sequences
        (clamped at 1): ``"ipo"`` divides the scores by them when given (TRL), and
        ``"sigmoid_norm"`` needs them; other loss types reject them.
      rejected_lengths: the same for the rejected sequences.
      f_divergence: the divergence that regularises towards the reference (above).
      f_alpha: :math:`\alpha` of ``"alpha_divergence"`` (within 1e-6 of 1 it is reverse KL).
      discopop_tau: :math:`\tau > 0` of ``"discopop"``.
      return_aux: also return a dict of per-pair metrics under ``stop_gradient``:
        ``"chosen_rewards"`` :math:`\beta\rho_c`, ``"rejected_rewards"`` :math:`\beta\rho_r`,
        ``"margins"`` (their difference) and ``"accuracies"`` (1.0 where chosen > rejected).
      weights: optional per-pair weights (``[batch]``); not with aot/aot_unpaired.
      where: optional boolean ``[batch]`` mask of the pairs. For aot/aot_unpaired the
        masked pairs are left out of the sort, and the unmasked ranks come first.
      reduction: ``"mean"`` (default; the plain mean over pairs), ``"sum"`` or ``"none"``
        (one term per pair; per rank of the sort for aot/aot_unpaired).

    Returns:
      The loss, or ``(loss, aux)`` with ``return_aux=True``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> c, r = jnp.array([-3.0, -5.0]), jnp.array([-4.0, -4.0])
      >>> jaxloss.dpo_loss(c, r, r, r, beta=1.0, reduction="none")
      Array([0.3132617, 1.3132617], dtype=float32)

    References:
      R. Rafailov et al., "Direct Preference Optimization", NeurIPS 2023,
      https://arxiv.org/abs/2305.18290; TRL 1.16 ``trl/trainer/dpo_trainer.py``
      ``DPOTrainer._compute_loss`` (every loss type and f-divergence; ``beta=0.1``,
      ``label_smoothing=0``, ``discopop_tau=0.05``, ``f_alpha_divergence_coef=1.0``) and
      Liger-Kernel 0.8.5 ``LigerFusedLinearDPOFunction.preference_loss_fn``. Deliberate
      differences: ``label_smoothing > 0`` with ``"sigmoid"`` is cDPO, as TRL <= 0.28
      (TRL >= 0.29 and Liger ignore it: pass 0 to match them); discopop's
      :math:`e^{-z} m` is computed as :math:`\exp(-z + \log\sigma(z/\tau))`, finite where
      TRL's product overflows to ``inf * 0``; lengths are arguments (TRL counts the
      completion mask); float64 inputs use the clamp of 80 (TRL has none for float64);
      TRL's "sft" type is ``fused_linear_cross_entropy`` on the chosen half, and WPO
      weighting and ``ld_alpha`` act on per-token log-probabilities (out of scope here).
    """
    check_reduction(reduction)
    contracts.choice(loss_type, _DPO_TYPES, "loss_type")
    contracts.choice(f_divergence, _F_DIVERGENCES, "f_divergence")
    if f_divergence != "reverse_kl" and loss_type not in _F_TYPES:
        raise ValueError(
            f"{function_name()}: f_divergence={f_divergence!r} is only defined for loss_type in "
            f"{_F_TYPES}, got loss_type={loss_type!r}; use f_divergence='reverse_kl'"
        )
    contracts.bounded(beta, "beta", gt=0)
    contracts.bounded(label_smoothing, "label_smoothing", ge=0, le=1)
    if loss_type == "robust":
        contracts.bounded(label_smoothing, "label_smoothing (robust)", lt=0.5)
    if loss_type == "exo_pair":
        contracts.bounded(
            label_smoothing, "label_smoothing (exo_pair; the paper uses 1e-3)", gt=0, lt=1
        )
    contracts.bounded(discopop_tau, "discopop_tau", gt=0)
    valid, (pc, pr, rc, rr) = _sequences(
        "chosen and rejected completions are paired: one entry per pair in each",
        where,
        policy_chosen_logps=policy_chosen_logps,
        policy_rejected_logps=policy_rejected_logps,
        ref_chosen_logps=ref_chosen_logps,
        ref_rejected_logps=ref_rejected_logps,
    )
    has_lengths = chosen_lengths is not None or rejected_lengths is not None
    if loss_type not in _LENGTH_TYPES and has_lengths:
        raise ValueError(
            f"{function_name()}: chosen_lengths/rejected_lengths are used by loss_type 'ipo' and "
            f"'sigmoid_norm' only, got loss_type={loss_type!r}"
        )
    if (chosen_lengths is None) != (rejected_lengths is None) or (
        loss_type == "sigmoid_norm" and chosen_lengths is None
    ):
        raise ValueError(
            f"{function_name()}: pass both chosen_lengths and rejected_lengths (completion token "
            f"counts, [batch]) for loss_type={loss_type!r}"
        )
    if loss_type in ("aot", "aot_unpaired") and weights is not None:
        raise ValueError(
            f"{function_name()}: weights= is not defined for loss_type={loss_type!r}, whose terms are "
            "ranks of a sort over the batch, not pairs (TRL refuses WPO weights there too); use where="
        )
    dtype = pc.dtype
    b, eps = param(beta, dtype), param(label_smoothing, dtype)
    chosen, rejected = pc - rc, pr - rr
    sc, sr = (_f_scores(x, f_divergence, f_alpha) for x in (chosen, rejected))
    if chosen_lengths is not None and rejected_lengths is not None:
        sc = sc / _lengths(chosen_lengths, pc, "chosen_lengths")
        sr = sr / _lengths(rejected_lengths, pc, "rejected_lengths")
    delta = sc - sr
    z = b * delta
    bc, br = b * chosen, b * rejected
    tau = param(discopop_tau, dtype)
    forms = {  # each evaluated only when chosen
        "sigmoid": lambda: _smoothed(z, eps),
        "sigmoid_norm": lambda: softplus(-z),
        "hinge": lambda: jax.nn.relu(1 - z),
        "ipo": lambda: jnp.square(delta - 1 / (2 * b)),
        "exo_pair": lambda: (
            sigmoid(z) * (log_sigmoid(z) - jnp.log1p(-eps))
            + sigmoid(-z) * (log_sigmoid(-z) - jnp.log(eps))
        ),
        "nca_pair": lambda: softplus(-bc) + 0.5 * softplus(bc) + 0.5 * softplus(br),
        "robust": lambda: ((1 - eps) * softplus(-z) - eps * softplus(z)) / (1 - 2 * eps),
        "bco_pair": lambda: softplus(-bc) + softplus(br),
        "sppo_hard": lambda: jnp.square(chosen - 0.5 / b) + jnp.square(rejected + 0.5 / b),
        "apo_zero": lambda: sigmoid(-bc) + sigmoid(br),
        "apo_down": lambda: sigmoid(bc) + sigmoid(-(bc - br)),
        # e^{-z} sigmoid(z / tau) in log space: finite where the product is inf * 0.
        "discopop": lambda: softplus(-z) * sigmoid(-z / tau) + jnp.exp(-z + log_sigmoid(z / tau)),
        "aot": lambda: _smoothed(b * (_sorted(pc - pr, valid) - _sorted(rc - rr, valid)), eps),
        "aot_unpaired": lambda: _smoothed(
            b * (_sorted(chosen, valid) - _sorted(rejected, valid)), eps
        ),
    }
    loss = forms[loss_type]()
    if loss_type in ("aot", "aot_unpaired") and valid is not None:
        valid = jnp.arange(pc.shape[0]) < jnp.sum(valid)  # the unmasked ranks come first
    out = reduce(loss, reduction, weights=weights, where=valid)
    if not return_aux:
        return out
    aux = {"chosen_rewards": bc, "rejected_rewards": br, "margins": bc - br}
    return out, jax.lax.stop_gradient({**aux, "accuracies": (bc > br).astype(dtype)})


# --------------------------------------------------------------------------- SimPO, CPO, ORPO


@register(
    _FAMILY, reference="Liger LigerFusedLinearSimPOFunction; TRL CPOTrainer(loss_type='simpo')"
)
def simpo_loss(
    policy_chosen_logps: ArrayLike,
    policy_rejected_logps: ArrayLike,
    *,
    beta: ArrayLike = 0.1,
    gamma: ArrayLike = 0.5,
    label_smoothing: ArrayLike = 0.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""SimPO: reference-free preference loss on length-averaged log-probabilities.

    .. math::
       z = \beta(\bar\pi_c - \bar\pi_r) - \gamma, \qquad
       \ell = -(1-\varepsilon)\log\sigma(z) - \varepsilon\log\sigma(-z)

    Args:
      policy_chosen_logps: ``[batch]`` length-averaged log-probabilities of the chosen
        completions.
      policy_rejected_logps: ``[batch]`` the same for the rejected completions.
      beta: :math:`\beta > 0` (the paper uses 2-2.5); float or traced array.
      gamma: the target reward margin :math:`\gamma` (the paper: :math:`\gamma/\beta
        \approx 0.5`); float or traced array.
      label_smoothing: :math:`\varepsilon \in [0, 1]`.
      weights: optional per-pair weights (``[batch]``).
      where: optional boolean ``[batch]`` mask of the pairs.
      reduction: ``"mean"`` (default, over pairs), ``"sum"`` or ``"none"`` (per pair).

    Returns:
      The loss.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.simpo_loss(jnp.array([-0.5]), jnp.array([-1.5]), beta=2.0, gamma=1.0)
      Array(0.3132..., dtype=float32)

    References:
      Y. Meng, M. Xia, D. Chen, "SimPO: Simple Preference Optimization with a
      Reference-Free Reward", NeurIPS 2024, https://arxiv.org/abs/2405.14734; Liger-Kernel
      0.8.5 ``LigerFusedLinearSimPOFunction.preference_loss_fn`` (defaults ``beta=0.1,
      gamma=0.5, label_smoothing=0``) and TRL 1.16 ``trl/experimental/cpo/cpo_trainer.py``
      ``CPOTrainer.cpo_loss`` with ``loss_type="simpo"`` (``simpo_gamma``; the same value).
      Deliberate differences: none in the value; the NLL term (Liger ``alpha``, TRL
      ``cpo_alpha``) is the caller's.
    """
    check_reduction(reduction)
    contracts.bounded(beta, "beta", gt=0)
    contracts.bounded(label_smoothing, "label_smoothing", ge=0, le=1)
    valid, (c, r) = _sequences(
        _PAIRED,
        where,
        policy_chosen_logps=policy_chosen_logps,
        policy_rejected_logps=policy_rejected_logps,
    )
    z = param(beta, c.dtype) * (c - r) - param(gamma, c.dtype)
    loss = _smoothed(z, param(label_smoothing, c.dtype))
    return reduce(loss, reduction, weights=weights, where=valid)


CPOType = Literal["sigmoid", "hinge", "ipo"]


@register(_FAMILY, reference="TRL 1.16 CPOTrainer.cpo_loss; Liger LigerFusedLinearCPOFunction")
def cpo_loss(
    policy_chosen_logps: ArrayLike,
    policy_rejected_logps: ArrayLike,
    *,
    beta: ArrayLike = 0.1,
    label_smoothing: ArrayLike = 0.0,
    loss_type: CPOType = "sigmoid",
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""CPO: contrastive preference loss without a reference model.

    .. math::
       \Delta = \pi_c - \pi_r, \quad
       \ell_{\text{sigmoid}} = -(1-\varepsilon)\log\sigma(\beta\Delta)
       - \varepsilon\log\sigma(-\beta\Delta), \quad
       \ell_{\text{hinge}} = [1 - \beta\Delta]_+, \quad
       \ell_{\text{ipo}} = \Big(\Delta - \frac{1}{2\beta}\Big)^2

    Args:
      policy_chosen_logps: ``[batch]`` log-probabilities of the chosen completions.
      policy_rejected_logps: ``[batch]`` log-probabilities of the rejected completions.
      beta: :math:`\beta > 0`; float or traced array.
      label_smoothing: :math:`\varepsilon \in [0, 1]` (``"sigmoid"`` only, as TRL).
      loss_type: ``"sigmoid"`` (default), ``"hinge"`` or ``"ipo"``.
      weights: optional per-pair weights (``[batch]``).
      where: optional boolean ``[batch]`` mask of the pairs.
      reduction: ``"mean"`` (default, over pairs), ``"sum"`` or ``"none"`` (per pair).

    Returns:
      The loss.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.cpo_loss(jnp.array([-10.0]), jnp.array([-20.0]), beta=0.1)
      Array(0.3132..., dtype=float32)

    References:
      H. Xu et al., "Contrastive Preference Optimization", ICML 2024,
      https://arxiv.org/abs/2401.08417; TRL 1.16 ``trl/experimental/cpo/cpo_trainer.py``
      ``CPOTrainer.cpo_loss`` (sigmoid, hinge, ipo; ``beta=0.1``, ``label_smoothing=0``)
      and Liger-Kernel 0.8.5 ``LigerFusedLinearCPOFunction.preference_loss_fn`` (sigmoid).
      Deliberate differences: the BC/NLL term (``cpo_alpha``) is the caller's; TRL's
      ``"simpo"`` type is :func:`simpo_loss`; AlphaPO (TRL ``alpha != 0``) is not offered.
    """
    check_reduction(reduction)
    contracts.choice(loss_type, ("sigmoid", "hinge", "ipo"), "loss_type")
    contracts.bounded(beta, "beta", gt=0)
    contracts.bounded(label_smoothing, "label_smoothing", ge=0, le=1)
    valid, (c, r) = _sequences(
        _PAIRED,
        where,
        policy_chosen_logps=policy_chosen_logps,
        policy_rejected_logps=policy_rejected_logps,
    )
    b, delta = param(beta, c.dtype), c - r
    if loss_type == "sigmoid":
        loss = _smoothed(b * delta, param(label_smoothing, c.dtype))
    elif loss_type == "hinge":
        loss = jax.nn.relu(1 - b * delta)
    else:
        loss = jnp.square(delta - 1 / (2 * b))
    return reduce(loss, reduction, weights=weights, where=valid)


def _log_expm1(u: jax.Array) -> jax.Array:
    """``log(expm1(u))`` for ``u >= 0`` (``-inf`` at 0), without overflow for large ``u``."""
    large = u > 1.0
    small = jnp.where(large, jnp.ones_like(u), u)
    big = jnp.where(large, u, jnp.ones_like(u))
    return jnp.where(large, big + jnp.log1p(-jnp.exp(-big)), jnp.log(jnp.expm1(small)))


@jax.custom_jvp
def _log_expm1_sum(u: jax.Array, v: jax.Array) -> jax.Array:
    """``log(expm1(u) + expm1(v))``, differentiable where one of ``u``, ``v`` is 0."""
    return jnp.logaddexp(_log_expm1(u), _log_expm1(v))


@_log_expm1_sum.defjvp
def _log_expm1_sum_jvp(primals, tangents):
    u, v = primals
    h = jnp.logaddexp(_log_expm1(u), _log_expm1(v))
    # d/du log(expm1(u) + expm1(v)) = e^u / (expm1(u) + expm1(v)) = exp(u - h).
    return h, jnp.exp(u - h) * tangents[0] + jnp.exp(v - h) * tangents[1]


@register(
    _FAMILY, reference="Liger LigerFusedLinearORPOFunction; TRL 1.16 ORPOTrainer.odds_ratio_loss"
)
def orpo_loss(
    policy_chosen_logps: ArrayLike,
    policy_rejected_logps: ArrayLike,
    *,
    beta: ArrayLike = 0.1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""ORPO's odds-ratio term on length-averaged log-probabilities.

    .. math::
       \log\operatorname{odds}(p) = p - \log(1 - e^{p}), \qquad
       \ell = -\beta\log\sigma\big(\log\operatorname{odds}(\bar\pi_c)
       - \log\operatorname{odds}(\bar\pi_r)\big)

    computed as :math:`\beta\log(1 + \operatorname{expm1}(-\bar\pi_c) /
    \operatorname{expm1}(-\bar\pi_r))` (the same value), so a chosen log-probability of 0
    (odds :math:`+\infty`) gives :math:`\ell = 0` with the finite one-sided gradient
    :math:`-\beta/\operatorname{expm1}(-\bar\pi_r)`; a rejected log-probability of 0 gives
    :math:`+\infty`.

    Args:
      policy_chosen_logps: ``[batch]`` length-averaged log-probabilities of the chosen
        completions (``<= 0``).
      policy_rejected_logps: ``[batch]`` the same for the rejected completions.
      beta: :math:`\beta \ge 0`, the weight of the odds-ratio term; float or traced array.
      weights: optional per-pair weights (``[batch]``).
      where: optional boolean ``[batch]`` mask of the pairs.
      reduction: ``"mean"`` (default, over pairs), ``"sum"`` or ``"none"`` (per pair).

    Returns:
      The loss (without the NLL term, which the caller adds).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.orpo_loss(jnp.array([0.0, -0.1]), jnp.array([-1.0, -1.0]), reduction="none")
      Array([0.    , 0.0...], dtype=float32)

    References:
      J. Hong, N. Lee, J. Thorne, "ORPO: Monolithic Preference Optimization without
      Reference Model", EMNLP 2024, https://arxiv.org/abs/2403.07691; Liger-Kernel 0.8.5
      ``LigerFusedLinearORPOFunction.preference_loss_fn`` (``beta=0.1``) and TRL 1.16
      ``trl/experimental/orpo/orpo_trainer.py`` ``ORPOTrainer.odds_ratio_loss`` (its
      ``log1mexp``; TRL subtracts ``beta * logsigmoid``, the same sign). Deliberate
      differences: finite at a log-probability of 0, where Liger's ``log1p(-exp(p))`` and
      TRL's ``log1mexp`` give NaN gradients; the NLL term (Liger ``alpha``) is the caller's.
    """
    check_reduction(reduction)
    contracts.bounded(beta, "beta", ge=0)
    valid, (c, r) = _sequences(
        _PAIRED,
        where,
        -1.0,
        policy_chosen_logps=policy_chosen_logps,
        policy_rejected_logps=policy_rejected_logps,
    )
    loss = param(beta, c.dtype) * (_log_expm1_sum(-c, -r) - _log_expm1(-r))
    return reduce(loss, reduction, weights=weights, where=valid)
