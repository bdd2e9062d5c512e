"""Unpaired preference optimisation on sequence log-probabilities: KTO and BCO.

Each example is one completion with its policy and reference log-probabilities
(``[batch]``, sums over the completion tokens, ``<= 0``; a positive entry raises
``ValueError`` for concrete inputs) and a boolean ``desirable`` label.
``reduction="none"`` gives one term per example, ``"mean"`` their plain mean.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.nn import sigmoid, softplus

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import param
from .._src.reduce import check_reduction, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._preference import _sequences

__all__ = ["RunningMoments", "bco_init", "bco_loss", "kto_kl_estimate", "kto_loss"]

_FAMILY = "llm"
_SAME = "the policy and reference log-probabilities of the same completions"


def _labels(desirable: ArrayLike, like: jax.Array, what: str) -> jax.Array:
    dt = jnp.asarray(desirable).dtype
    if dt != np.bool_:
        raise TypeError(
            f"{function_name()}: desirable must be a boolean [batch] array (True for a desirable "
            f"completion), got {dt} with shape {np.shape(desirable)}; pass labels.astype(bool)"
        )
    contracts.shape_is(desirable, like.shape, "desirable", like={what: like})
    return jnp.asarray(desirable)


# --------------------------------------------------------------------------- KTO


KTOType = Literal["kto", "apo_zero_unpaired"]


@register(_FAMILY, reference="TRL 1.16 KTOTrainer._compute_loss; Liger LigerFusedLinearKTOFunction")
def kto_loss(
    policy_logps: ArrayLike,
    ref_logps: ArrayLike,
    desirable: ArrayLike,
    kl: ArrayLike | None = None,
    *,
    beta: ArrayLike = 0.1,
    desirable_weight: ArrayLike = 1.0,
    undesirable_weight: ArrayLike = 1.0,
    loss_type: KTOType = "kto",
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""KTO: prospect-theoretic loss on unpaired desirable / undesirable completions.

    .. math::
       r = \pi - \pi^{ref}, \qquad
       \ell = \begin{cases} \lambda_D\,(1 - \sigma(\beta(r - z_0))) & \text{desirable} \\
       \lambda_U\,(1 - \sigma(\beta(z_0 - r))) & \text{undesirable} \end{cases}

    with :math:`z_0` the KL estimate ``kl`` (under ``stop_gradient``; see
    :func:`kto_kl_estimate`). ``loss_type="apo_zero_unpaired"`` drops :math:`z_0`:
    :math:`\lambda_D(1 - \sigma(\beta r))` and :math:`\lambda_U\sigma(\beta r)`.

    Args:
      policy_logps: ``[batch]`` policy log-probabilities of the completions.
      ref_logps: ``[batch]`` reference log-probabilities of the same completions.
      desirable: ``[batch]`` boolean, True for a desirable completion.
      kl: the KL estimate :math:`z_0`, a scalar or ``[batch]``; ``None`` is 0 (Liger's
        ``kl=None``, TRL without KL). Never differentiated.
      beta: :math:`\beta > 0`; float or traced array.
      desirable_weight: :math:`\lambda_D \ge 0`, a factor of the desirable terms.
      undesirable_weight: :math:`\lambda_U \ge 0`, a factor of the undesirable terms.
      loss_type: ``"kto"`` (default) or ``"apo_zero_unpaired"``.
      weights: optional per-example weights (``[batch]``).
      where: optional boolean ``[batch]`` mask of the examples.
      reduction: ``"mean"`` (default; the plain mean of the weighted terms, as TRL),
        ``"sum"`` or ``"none"`` (per example).

    Returns:
      The loss.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logps, ref = jnp.array([-2.0, -2.0]), jnp.array([-2.0, -2.0])
      >>> jaxloss.kto_loss(logps, ref, jnp.array([True, False]), 0.0, reduction="none")
      Array([0.5, 0.5], dtype=float32)

    References:
      K. Ethayarajh et al., "KTO: Model Alignment as Prospect Theoretic Optimization",
      ICML 2024, https://arxiv.org/abs/2402.01306; TRL 1.16 ``trl/trainer/kto_trainer.py``
      ``KTOTrainer._compute_loss`` (``beta=0.1``, ``desirable_weight=undesirable_weight=1``,
      ``loss_type="kto"``; the loss is the mean of the concatenated weighted terms) and
      Liger-Kernel 0.8.5 ``LigerFusedLinearKTOFunction.preference_loss_fn`` (no weights).
      Deliberate differences: a NaN term gives a NaN mean (TRL takes ``nanmean``); the
      terms keep the input order (TRL concatenates desirable then undesirable).
    """
    check_reduction(reduction)
    contracts.choice(loss_type, ("kto", "apo_zero_unpaired"), "loss_type")
    contracts.bounded(beta, "beta", gt=0)
    contracts.bounded(desirable_weight, "desirable_weight", ge=0)
    contracts.bounded(undesirable_weight, "undesirable_weight", ge=0)
    valid, (p, q) = _sequences(_SAME, where, policy_logps=policy_logps, ref_logps=ref_logps)
    label = _labels(desirable, p, "policy_logps")
    z0 = jnp.zeros((), p.dtype)
    if kl is not None and loss_type == "kto":
        if np.shape(kl) != ():
            contracts.shape_is(
                kl, p.shape, "kl", hint="a scalar or [batch]", like={"policy_logps": p}
            )
        z0 = jax.lax.stop_gradient(jnp.asarray(kl).astype(p.dtype))
    x = param(beta, p.dtype) * (p - q - z0)
    dw, uw = param(desirable_weight, p.dtype), param(undesirable_weight, p.dtype)
    loss = jnp.where(label, dw * sigmoid(-x), uw * sigmoid(x))
    return reduce(loss, reduction, weights=weights, where=valid)


def kto_kl_estimate(
    policy_kl_logps: ArrayLike,
    ref_kl_logps: ArrayLike,
    *,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""KTO's reference point: :math:`z_0 = \max(0, \operatorname{mean}(\pi_{KL} -
    \pi^{ref}_{KL}))` under ``stop_gradient``.

    The log-probabilities are those of mismatched pairs (each prompt with another
    example's completion), as TRL's collator builds them. With ``axis_name`` the mean is
    over the whole batch across devices (TRL gathers it).

    Args:
      policy_kl_logps: ``[batch]`` policy log-probabilities of the mismatched completions.
      ref_kl_logps: ``[batch]`` reference log-probabilities of the same.
      where: optional boolean ``[batch]`` mask of the entries that count.
      axis_name: a mapped axis (``shard_map``/``pmap``/``vmap``) to average over.

    Returns:
      The scalar estimate (0 when nothing is valid).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.kto_kl_estimate(jnp.array([-1.0, -3.0]), jnp.array([-2.0, -2.5]))
      Array(0.25, dtype=float32)

    References:
      TRL 1.16 ``trl/trainer/kto_trainer.py`` ``KTOTrainer._compute_loss``:
      ``(KL_logps - ref_KL_logps).mean().detach()``, gathered, averaged and clamped at 0.
      Across devices this is the mean over all entries (TRL averages the per-process
      means: the same for equal batch sizes).
    """
    valid, (p, q) = _sequences(
        "one entry per mismatched completion",
        where,
        policy_kl_logps=policy_kl_logps,
        ref_kl_logps=ref_kl_logps,
    )
    d = jax.lax.stop_gradient(p - q)
    ok = jnp.ones(d.shape, bool) if valid is None else valid
    total = jnp.sum(jnp.where(ok, d, jnp.zeros((), d.dtype)))
    count = jnp.sum(ok).astype(d.dtype)
    if axis_name is not None:
        total, count = jax.lax.psum((total, count), axis_name)
    return jnp.maximum(total / jnp.maximum(count, 1), 0)


# --------------------------------------------------------------------------- BCO


class RunningMoments(NamedTuple):
    """The state of :func:`bco_loss`: running ``mean``, biased ``var`` and ``count`` of the
    rewards seen so far (float32 scalars), as TRL's ``RunningMoments`` (without ``std``)."""

    mean: jax.Array
    var: jax.Array
    count: jax.Array


def bco_init() -> RunningMoments:
    """The initial BCO state: TRL ``RunningMoments()`` (mean 0, var 1, count 1e-24).

    Returns:
      A :class:`RunningMoments` of float32 scalars.

    Examples:
      >>> import jaxloss
      >>> jaxloss.bco_init().mean
      Array(0., dtype=float32)
    """
    return RunningMoments(
        jnp.zeros((), jnp.float32), jnp.ones((), jnp.float32), jnp.asarray(1e-24, jnp.float32)
    )


@register(_FAMILY, reference="TRL experimental BCOTrainer.bco_loss + RunningMoments (trl <= 1.13)")
def bco_loss(
    policy_logps: ArrayLike,
    ref_logps: ArrayLike,
    desirable: ArrayLike,
    state: RunningMoments,
    *,
    beta: ArrayLike = 0.1,
    axis_name: str | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> tuple[jax.Array, RunningMoments]:
    r"""BCO: binary-classifier preference loss with a running reward baseline.

    .. math::
       r = \beta(\pi - \pi^{ref}), \qquad
       \ell = \begin{cases} -\log\sigma(r - \delta) & \text{desirable} \\
       -\log\sigma(-(r - \delta)) & \text{undesirable} \end{cases}

    where :math:`\delta` is the running mean of all rewards so far, this batch included:
    ``state`` is first updated with the batch's rewards (Chan et al.'s parallel update of
    mean, biased variance and count), then :math:`\delta` = the new mean, under
    ``stop_gradient``.

    Args:
      policy_logps: ``[batch]`` policy log-probabilities of the completions.
      ref_logps: ``[batch]`` reference log-probabilities of the same completions.
      desirable: ``[batch]`` boolean, True for a desirable completion.
      state: the :class:`RunningMoments` from :func:`bco_init` or the previous step.
      beta: :math:`\beta > 0`; float or traced array.
      axis_name: a mapped axis: the batch moments are over every device's batch (TRL's
        ``get_global_statistics``).
      weights: optional per-example weights of the loss terms (not of the moments).
      where: optional boolean ``[batch]`` mask: masked examples neither contribute to the
        loss nor update the moments.
      reduction: ``"mean"`` (default, over examples), ``"sum"`` or ``"none"``.

    Returns:
      ``(loss, new_state)``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> logps, ref = jnp.array([-1.0, -3.0]), jnp.array([-2.0, -2.0])
      >>> loss, state = jaxloss.bco_loss(logps, ref, jnp.array([True, False]), jaxloss.bco_init())
      >>> loss, state.mean
      (Array(0.6444..., dtype=float32), Array(0., dtype=float32))

    References:
      S. Jung et al., "Binary Classifier Optimization for Large Language Model Alignment",
      2024, https://arxiv.org/abs/2404.04656; TRL ``trl/experimental/bco/bco_trainer.py``
      ``BCOTrainer.bco_loss`` and ``RunningMoments.update`` (trl 1.13, the last release
      with BCO; removed in 1.14), ``beta=0.1``. Deliberate differences: without UDM
      (``match_underlying_distribution``, a prompt-embedding classifier); the state is a
      value passed in and out; a NaN term gives a NaN mean (TRL ``nanmean``); an empty or
      all-masked batch leaves the state unchanged (TRL divides by zero); ``count`` is
      float32 (TRL's Python float).
    """
    check_reduction(reduction)
    contracts.bounded(beta, "beta", gt=0)
    valid, (p, q) = _sequences(_SAME, where, policy_logps=policy_logps, ref_logps=ref_logps)
    label = _labels(desirable, p, "policy_logps")
    rewards = param(beta, p.dtype) * (p - q)
    ok = jnp.ones(p.shape, bool) if valid is None else valid
    seen = jnp.where(ok, jax.lax.stop_gradient(rewards), jnp.zeros((), p.dtype))
    n, total = jnp.sum(ok).astype(p.dtype), jnp.sum(seen)
    if axis_name is not None:
        n, total = jax.lax.psum((n, total), axis_name)
    batch_mean = total / jnp.maximum(n, 1)
    squares = jnp.sum(jnp.where(ok, jnp.square(seen - batch_mean), jnp.zeros((), p.dtype)))
    if axis_name is not None:
        squares = jax.lax.psum(squares, axis_name)
    batch_var = squares / jnp.maximum(n, 1)
    mean, var, count = (jnp.asarray(s, p.dtype) for s in jax.lax.stop_gradient(tuple(state)))
    shift, new_count = batch_mean - mean, count + n
    new_mean = mean + shift * n / new_count
    new_var = (var * count + jnp.square(shift) * count * n / new_count + batch_var * n) / new_count
    x = rewards - new_mean
    loss = jnp.where(label, softplus(-x), softplus(x))
    new = RunningMoments(new_mean, new_var, new_count)
    new = jax.tree.map(lambda x, old: x.astype(jnp.asarray(old).dtype), new, RunningMoments(*state))
    return reduce(loss, reduction, weights=weights, where=valid), new
