"""Knowledge distillation between a student's and a teacher's logits: KD (forward/reverse KL),
GKD's generalized Jensen-Shannon divergence, total variation and DistiLLM's skew KL.

Every loss is per row (token) over the class (vocabulary) axis ``axis``; ``"mean"`` averages over
rows, so ``where=labels != -100`` gives TRL/Liger's token ``batchmean``. The divergences themselves
are the distribution family's :func:`~jaxloss.kl_divergence` and :func:`~jaxloss.js_divergence`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.numerics import abs0, is_traced, param, upcast
from .._src.reduce import check_reduction, reduce, sanitize
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ..distribution import js_divergence, kl_divergence

__all__ = ["generalized_jsd_loss", "kd_loss", "skew_kl_loss", "tvd_loss"]

_FAMILY = "llm"


def _pair(student_logits: ArrayLike, teacher_logits: ArrayLike, axis: int, where: ArrayLike | None):
    """Checks the pair, upcasts, and zeroes rows outside ``where`` (no NaN reaches the gradient)."""
    contracts.floating(student_logits=student_logits, teacher_logits=teacher_logits)
    contracts.same_shape(
        "one teacher distribution per student row",
        student_logits=student_logits,
        teacher_logits=teacher_logits,
    )
    contracts.min_rank(student_logits, 1, "student_logits")
    ax = contracts.axis_index(axis, jnp.ndim(student_logits), "student_logits")
    s, t = upcast(student_logits, teacher_logits)
    if where is not None:
        rows = tuple(d for i, d in enumerate(s.shape) if i != ax)
        keep = jnp.expand_dims(jnp.broadcast_to(jnp.asarray(where, bool), rows), ax)
        s, t = sanitize(s, keep), sanitize(t, keep)
    return s, t, ax


def _log_probs(logits: jax.Array, temperature: ArrayLike, axis: int) -> jax.Array:
    return jax.nn.log_softmax(logits / param(temperature, logits.dtype), axis=axis)


@register(
    _FAMILY,
    reference="torch F.kl_div(log_softmax(s/T), log_softmax(t/T), log_target=True, 'batchmean') * T^2",
)
def kd_loss(
    student_logits: ArrayLike,
    teacher_logits: ArrayLike,
    *,
    temperature: ArrayLike = 1.0,
    reverse: bool = False,
    temperature_squared: bool = True,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Knowledge distillation (Hinton et al. 2015): KL between temperature-softened softmaxes.

    .. math::
       \ell = T^2\,\mathrm{KL}\big(\operatorname{softmax}(t/T) \,\|\, \operatorname{softmax}(s/T)\big)

    per row; ``reverse=True`` gives :math:`T^2\,\mathrm{KL}(\operatorname{softmax}(s/T) \,\|\,
    \operatorname{softmax}(t/T))` (MiniLLM's reverse KL). :math:`T^2` keeps the gradient scale
    independent of :math:`T`; ``temperature_squared=False`` drops it (TRL/Liger's token
    distillation losses apply no such factor).

    Args:
      student_logits: ``[..., V, ...]`` student logits.
      teacher_logits: same shape, teacher logits (differentiable; wrap them in
        ``jax.lax.stop_gradient`` for a frozen teacher).
      temperature: :math:`T > 0`; float or traced array.
      reverse: KL(student ‖ teacher) instead of KL(teacher ‖ student).
      temperature_squared: multiply by :math:`T^2` (default, Hinton et al.).
      axis: the class (vocabulary) axis.
      weights: optional per-row weights (shape without ``axis``).
      where: optional per-row boolean mask (e.g. ``labels != -100``).
      reduction: ``"mean"`` (over rows), ``"sum"`` or ``"none"`` (per row).

    Returns:
      A scalar, or the per-row loss (``axis`` removed) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([[1.0, 2.0, 3.0]])
      >>> jaxloss.kd_loss(s, s, temperature=2.0)
      Array(0., dtype=float32)
      >>> jaxloss.kd_loss(jnp.array([[0.0, 0.0]]), jnp.array([[0.0, 20.0]]))
      Array(0.6931472, dtype=float32)

    References:
      G. Hinton, O. Vinyals, J. Dean, "Distilling the Knowledge in a Neural Network", 2015,
      https://arxiv.org/abs/1503.02531; Y. Gu et al., "MiniLLM", 2024 (reverse KL). Anchor:
      torch ``F.kl_div(F.log_softmax(s / T), F.log_softmax(t / T), log_target=True,
      reduction="batchmean") * T**2`` on ``[rows, V]`` (``"mean"``); sentence-transformers
      ``DistillKLDivLoss`` (on score rows, also scaled by :math:`T^2`). Deliberate differences:
      none in the value; torch's ``"batchmean"`` divides by the first dimension only, so for
      ``[B, T, V]`` inputs it equals ``"sum"`` / ``B`` here.
    """
    check_reduction(reduction)
    contracts.bounded(temperature, "temperature", gt=0)
    s, t, ax = _pair(student_logits, teacher_logits, axis, where)
    log_s, log_t = _log_probs(s, temperature, ax), _log_probs(t, temperature, ax)
    if reverse:
        loss = kl_divergence(log_t, log_s, log_targets=True, axis=ax, reduction="none")
    else:
        loss = kl_divergence(log_s, log_t, log_targets=True, axis=ax, reduction="none")
    if temperature_squared:
        loss = loss * jnp.square(param(temperature, loss.dtype))
    return reduce(loss, reduction, weights=weights, where=where)


@register(_FAMILY, reference="TRL GKDTrainer.generalized_jsd_loss (Agarwal et al. 2024)")
def generalized_jsd_loss(
    student_logits: ArrayLike,
    teacher_logits: ArrayLike,
    *,
    beta: ArrayLike = 0.5,
    temperature: ArrayLike = 1.0,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""GKD's generalized Jensen-Shannon divergence between student and teacher.

    With :math:`S = \operatorname{softmax}(s/T)`, :math:`P = \operatorname{softmax}(t/T)` (the
    teacher) and :math:`M = \beta P + (1 - \beta) S`:

    .. math::
       \mathrm{JSD}_\beta = \beta\,\mathrm{KL}(P \,\|\, M) + (1 - \beta)\,\mathrm{KL}(S \,\|\, M)

    per row, :func:`~jaxloss.js_divergence` of the two log-softmaxes with the same ``beta``.
    As in TRL, ``beta=0`` is :math:`\mathrm{KL}(P \,\|\, S)` (forward KL) and ``beta=1`` is
    :math:`\mathrm{KL}(S \,\|\, P)` (reverse KL), not the continuous limit (0); a traced
    ``beta`` selects them with ``where``. No :math:`T^2` factor.

    Args:
      student_logits: ``[..., V, ...]`` student logits.
      teacher_logits: same shape, teacher logits.
      beta: :math:`\beta \in [0, 1]`, the teacher's weight in the mixture; float or traced.
      temperature: :math:`T > 0`; float or traced.
      axis: the class (vocabulary) axis.
      weights: optional per-row weights (shape without ``axis``).
      where: optional per-row boolean mask (TRL's ``labels != -100``).
      reduction: ``"mean"`` (over rows), ``"sum"`` or ``"none"`` (per row).

    Returns:
      A scalar, or the per-row divergence (``axis`` removed) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.generalized_jsd_loss(jnp.array([[0.0, 30.0]]), jnp.array([[30.0, 0.0]]))
      Array(0.6931472, dtype=float32)

    References:
      R. Agarwal et al., "On-Policy Distillation of Language Models: Learning from
      Self-Generated Mistakes" (GKD), ICLR 2024, https://arxiv.org/abs/2306.13649; TRL 1.16
      ``GKDTrainer.generalized_jsd_loss`` (a staticmethod); Liger ``LigerJSD`` (GPU only).
      Deliberate differences: TRL's ``reduction="batchmean"`` without ``labels`` divides the
      sum over ``[B, T, V]`` by ``B``; here ``"mean"`` averages over rows (tokens), which is
      TRL's value with ``labels`` (then ``where=labels != -100``).
    """
    check_reduction(reduction)
    contracts.bounded(beta, "beta", ge=0, le=1)
    contracts.bounded(temperature, "temperature", gt=0)
    s, t, ax = _pair(student_logits, teacher_logits, axis, where)
    loss = js_divergence(
        _log_probs(s, temperature, ax),
        _log_probs(t, temperature, ax),
        beta=beta,
        axis=ax,
        reduction="none",
    )
    return reduce(loss, reduction, weights=weights, where=where)


@register(_FAMILY, reference="Liger LigerTVDLoss (0.5 * sum |p - q|, batchmean)")
def tvd_loss(
    student_logits: ArrayLike,
    teacher_logits: ArrayLike,
    *,
    temperature: ArrayLike = 1.0,
    from_logits: bool = True,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Total variation distance between the student's and the teacher's distributions.

    .. math:: \ell = \tfrac12 \sum_v \big|\,p_v - q_v\big|

    per row, with :math:`p = \operatorname{softmax}(s/T)` and :math:`q =
    \operatorname{softmax}(t/T)` (``from_logits=True``), or the given probabilities
    (``from_logits=False``, as Liger's ``LigerTVDLoss`` takes them; ``temperature`` must then be
    1). The derivative of :math:`|\cdot|` at a tie :math:`p_v = q_v` is 0 (as torch).

    Args:
      student_logits: ``[..., V, ...]`` student logits (or probabilities).
      teacher_logits: same shape, teacher logits (or probabilities).
      temperature: :math:`T > 0` dividing the logits; float or traced.
      from_logits: whether the inputs are logits (default) or probabilities.
      axis: the class (vocabulary) axis.
      weights: optional per-row weights (shape without ``axis``).
      where: optional per-row boolean mask (Liger's ``labels != ignore_index``).
      reduction: ``"mean"`` (over rows, Liger's ``"batchmean"``), ``"sum"`` or ``"none"``.

    Returns:
      A scalar in ``[0, 1]``, or the per-row distance (``axis`` removed) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, q = jnp.array([[0.5, 0.5]]), jnp.array([[1.0, 0.0]])
      >>> jaxloss.tvd_loss(p, q, from_logits=False)
      Array(0.5, dtype=float32)

    References:
      Liger-Kernel ``LigerTVDLoss`` / ``liger_kernel.ops.tvd`` (Triton, GPU only; the
      ``"batchmean"`` reduction over non-ignored tokens). Reference here: the torch composition
      ``0.5 * (p - q).abs().sum(-1)`` on the softmaxes. Deliberate differences: Liger takes
      probabilities only; ``from_logits=True`` (the default here) applies the softmax first.
    """
    check_reduction(reduction)
    contracts.bounded(temperature, "temperature", gt=0)
    if not from_logits and not is_traced(temperature) and float(np.asarray(temperature)) != 1.0:
        raise ValueError(
            f"tvd_loss: temperature={temperature} divides logits; with from_logits=False the inputs are "
            "probabilities, so temperature must be 1"
        )
    s, t, ax = _pair(student_logits, teacher_logits, axis, where)
    if from_logits:
        s = jax.nn.softmax(s / param(temperature, s.dtype), axis=ax)
        t = jax.nn.softmax(t / param(temperature, t.dtype), axis=ax)
    loss = 0.5 * jnp.sum(abs0(s - t), axis=ax)
    return reduce(loss, reduction, weights=weights, where=where)


@register(
    _FAMILY,
    reference="DistiLLM distillm/losses.py skewed_forward_kl / skewed_reverse_kl (Ko et al. 2024)",
)
def skew_kl_loss(
    student_logits: ArrayLike,
    teacher_logits: ArrayLike,
    *,
    alpha: ArrayLike = 0.1,
    reverse: bool = False,
    temperature: ArrayLike = 1.0,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""DistiLLM's skew KL (SKL) and skew reverse KL (SRKL).

    With :math:`p = \operatorname{softmax}(t/T)` (teacher) and :math:`q =
    \operatorname{softmax}(s/T)` (student):

    .. math::
       \mathrm{SKL} = \mathrm{KL}\big(p \,\|\, \alpha p + (1 - \alpha) q\big), \qquad
       \mathrm{SRKL} = \mathrm{KL}\big(q \,\|\, \alpha q + (1 - \alpha) p\big)

    per row (``reverse=True`` for SRKL). The mixture is formed in log space,
    ``logaddexp(log alpha + log p, log(1 - alpha) + log q)``; ``alpha=0`` is the plain
    forward (reverse) KL and ``alpha=1`` gives 0.

    Args:
      student_logits: ``[..., V, ...]`` student logits.
      teacher_logits: same shape, teacher logits.
      alpha: skew :math:`\alpha \in [0, 1]` (DistiLLM's ``lam``, default 0.1); float or traced.
      reverse: SRKL instead of SKL.
      temperature: :math:`T > 0` dividing both logits (DistiLLM has none: 1).
      axis: the class (vocabulary) axis.
      weights: optional per-row weights (shape without ``axis``).
      where: optional per-row boolean mask (DistiLLM's ``label != -100``).
      reduction: ``"mean"`` (over rows, DistiLLM's token mean), ``"sum"`` or ``"none"``.

    Returns:
      A scalar, or the per-row divergence (``axis`` removed) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.array([[0.0, 1.0, 2.0]])
      >>> jaxloss.skew_kl_loss(s, s)
      Array(0., dtype=float32)

    References:
      J. Ko et al., "DistiLLM: Towards Streamlined Distillation for Large Language Models",
      ICML 2024, https://arxiv.org/abs/2402.03898; jongwooko/distillm ``distillm/losses.py``
      ``skewed_forward_kl`` / ``skewed_reverse_kl`` (``lam`` = ``alpha``). Deliberate
      differences: ``skewed_forward_kl`` drops the student-independent :math:`\sum p \log p`
      and returns the cross-entropy :math:`-\sum p \log m`; this function returns the KL, lower
      by the teacher entropy :math:`H(p)`, with the same gradient w.r.t. the student.
      ``skewed_reverse_kl`` is the KL itself, as here. DistiLLM zeroes vocabulary entries where
      either logit is infinite; here a ``-inf`` logit is a zero probability.
    """
    check_reduction(reduction)
    contracts.bounded(alpha, "alpha", ge=0, le=1)
    contracts.bounded(temperature, "temperature", gt=0)
    s, t, ax = _pair(student_logits, teacher_logits, axis, where)
    log_q, log_p = _log_probs(s, temperature, ax), _log_probs(t, temperature, ax)
    if reverse:
        log_p, log_q = log_q, log_p  # SRKL is SKL with the roles exchanged
    a = param(alpha, log_p.dtype)
    inside = (a > 0) & (a < 1)
    a_in = jnp.where(inside, a, 0.5)
    finite = (log_p > -jnp.inf) | (log_q > -jnp.inf)
    mixed = jnp.logaddexp(
        jnp.where(finite, log_p, 0.0) + jnp.log(a_in),
        jnp.where(finite, log_q, 0.0) + jnp.log1p(-a_in),
    )
    mixed = jnp.where(finite, mixed, -jnp.inf)
    log_m = jnp.where(inside, mixed, jnp.where(a == 0, log_q, log_p))
    loss = kl_divergence(log_m, log_p, log_targets=True, axis=ax, reduction="none")
    return reduce(loss, reduction, weights=weights, where=where)
