"""Divergences between discrete distributions over a class axis: KL and Jensen-Shannon."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import is_traced, upcast
from .._src.reduce import broadcast, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["js_divergence", "kl_divergence"]

_FAMILY = "distribution"
# How far from 0 a row's logsumexp of log_predictions may be (half precision, renormalised inputs).
_LOG_NORMALISED = 1e-2


def _xlogy_over(p: jax.Array, log_p: jax.Array, log_q: jax.Array, support: jax.Array) -> jax.Array:
    """``p (log p - log q)`` where ``support``, 0 elsewhere, with zero gradients off-support."""
    # Double where: log 0 = -inf (and log q = -inf) off the support must not reach the gradient.
    lp = jnp.where(support, log_p, 0.0)
    lq = jnp.where(support, log_q, 0.0)
    return jnp.where(support, jnp.where(support, p, 0.0) * (lp - lq), 0.0)


def _check_log_probabilities(log_q: jax.Array, axis: int) -> None:
    """Concrete ``log_q`` rows must log-sum-exp to 0 (within 1e-2): logits or probabilities passed
    by mistake give a plausible wrong value otherwise. Rows with NaN are left to NaN-in-NaN-out."""
    if is_traced(log_q) or log_q.size == 0:
        return
    v = np.asarray(log_q, np.float64)
    with np.errstate(all="ignore"):
        top = np.max(v, axis=axis, keepdims=True)
        lse = np.squeeze(top, axis) + np.log(np.sum(np.exp(v - np.where(np.isfinite(top), top, 0.0)), axis=axis))
    off = np.abs(np.where(np.isnan(lse), 0.0, lse))
    if np.any(off > _LOG_NORMALISED):
        worst = lse.flat[int(np.argmax(off))]
        raise ValueError(
            f"{function_name()}: log_predictions must be log-probabilities (each row log-sum-exps to 0), "
            f"found a row with logsumexp {worst:.3g}; pass jax.nn.log_softmax(logits) or jnp.log(probabilities)"
        )


@register(_FAMILY, reference="torch.nn.functional.kl_div / optax.losses.kl_divergence", aliases=("kl_div",))
def kl_divergence(
    log_predictions: ArrayLike, targets: ArrayLike, *, log_targets: bool = False, axis: int = -1,
    axis_where: ArrayLike | None = None,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Kullback-Leibler divergence ``KL(targets || predictions)``.

    .. math:: \mathrm{KL}(p \,\|\, q) = \sum_c p_c (\log p_c - \log q_c)

    with ``log q = log_predictions`` and ``p = targets`` (torch ``kl_div``'s
    ``input``/``target`` order, optax ``kl_divergence``). Entries with
    ``p_c = 0`` contribute 0; their gradient w.r.t. both arguments is 0 (the
    one-sided derivative w.r.t. ``p_c`` is ``-inf``: such entries are treated
    as outside the support, which is also what keeps ``log q_c = -inf`` there
    harmless). torch returns NaN gradients at those points.

    Reductions: ``"none"`` is per example, ``axis`` summed (optax's output,
    torch's ``reduction="none"`` summed over ``axis``); ``"mean"`` averages
    over examples, torch's ``"batchmean"`` for 2-D inputs (torch's ``"mean"``
    additionally divides by the number of classes).

    Eagerly, ``log_predictions`` whose rows do not log-sum-exp to 0 (within 1e-2)
    raise ``ValueError``: logits or probabilities passed by mistake give a
    plausible wrong value (about -1.5 for logits). Under ``jit`` this is not
    checked (torch's ``kl_div`` never checks), nor with ``axis_where`` (a row
    restricted to some classes need not be normalised over them).

    Args:
      log_predictions: ``[..., C, ...]`` log-probabilities ``log q``.
      targets: same shape; probabilities ``p`` (or ``log p`` with
        ``log_targets=True``, where ``-inf`` marks zero probability).
      log_targets: whether ``targets`` are log-probabilities (torch ``log_target``).
      axis: the class axis.
      axis_where: optional boolean mask with the shape of ``log_predictions``:
        the entries to include in the sum over ``axis`` (optax ``where``;
        nothing is renormalised). Excluded entries get zero gradient; a row
        with nothing included is 0.
      weights: optional per-example weights (shape without ``axis``).
      where: optional per-example boolean mask.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
      A scalar, or the per-example divergence (``axis`` removed) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[0.5, 0.5, 0.0]])
      >>> jaxloss.kl_divergence(jnp.log(jnp.array([[0.25, 0.25, 0.5]])), p)
      Array(0.6931472, dtype=float32)

    References:
      Kullback & Leibler 1951; PyTorch ``torch.nn.functional.kl_div``;
      optax ``kl_divergence`` / ``kl_divergence_with_log_targets``.
    """
    contracts.floating(log_predictions=log_predictions, targets=targets)
    contracts.same_shape(log_predictions=log_predictions, targets=targets)
    ax = contracts.axis_index(axis, jnp.ndim(log_predictions), "log_predictions")
    lq, t = upcast(log_predictions, targets)
    include = None
    if axis_where is None:
        _check_log_probabilities(lq, ax)
    else:  # double where: excluded entries reach neither the value nor the gradient
        include = broadcast(axis_where, lq.shape, "axis_where", dtype=bool)
        lq = jnp.where(include, lq, 0.0)
        t = jnp.where(include, t, 0.0 if log_targets else 1.0)
    if log_targets:
        support = t != -jnp.inf  # NaN stays in the support (NaN in, NaN out)
        lp = jnp.where(support, t, 0.0)
        p = jnp.exp(lp)
    else:
        support = ~(t <= 0)  # NaN stays in the support (NaN in, NaN out)
        p = t
        lp = jnp.log(jnp.where(support, t, 1.0))
    if include is not None:
        support = support & include
    loss = jnp.sum(_xlogy_over(p, lp, lq, support), axis=ax)
    return reduce(loss, reduction, weights=weights, where=where)


@register(_FAMILY, reference="scipy.spatial.distance.jensenshannon (squared, natural log)")
def js_divergence(
    log_p: ArrayLike, log_q: ArrayLike, *, beta: ArrayLike = 0.5, axis: int = -1,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Jensen-Shannon divergence (natural log) between two categorical distributions.

    .. math::
       \mathrm{JS}(p, q) = \tfrac12 \mathrm{KL}(p \,\|\, m) + \tfrac12 \mathrm{KL}(q \,\|\, m),
       \qquad m = \tfrac12 (p + q)

    computed from log-probabilities (``log m = logaddexp(log p, log q) - log 2``).
    Symmetric, in ``[0, log 2]``; zero-probability entries (``-inf``)
    contribute 0 with finite gradients. SciPy's ``jensenshannon`` returns the
    square root of this value.

    ``beta`` gives the generalized (skewed) divergence of GKD (Agarwal et al. 2024),
    with ``beta`` the weight of the second distribution:

    .. math::
       \mathrm{JS}_\beta(p, q) = (1-\beta)\,\mathrm{KL}(p \,\|\, m) + \beta\,\mathrm{KL}(q \,\|\, m),
       \qquad m = (1-\beta)\,p + \beta\,q

    (``log m = logaddexp(log p + log(1 - beta), log q + log beta)``). As in TRL's
    ``GKDTrainer.generalized_jsd_loss`` (student ``p``, teacher ``q``), the endpoints are
    not the continuous limit (which is 0): ``beta=0`` gives ``KL(q || p)`` and ``beta=1``
    gives ``KL(p || q)``; a traced ``beta`` selects them with ``where``.
    ``beta=0.5`` (the default) is the symmetric divergence above.

    Args:
      log_p: ``[..., C, ...]`` log-probabilities (normalised over ``axis``).
      log_q: same shape.
      beta: :math:`\beta \in [0, 1]`, the weight of ``q`` in the mixture; float or traced.
      axis: the class axis.
      weights: optional per-example weights (shape without ``axis``).
      where: optional per-example boolean mask.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
      A scalar, or the per-example divergence (``axis`` removed) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.js_divergence(jnp.log(jnp.array([1.0, 0.0])), jnp.log(jnp.array([0.0, 1.0])))
      Array(0.6931472, dtype=float32)

    References:
      Lin 1991, "Divergence measures based on the Shannon entropy";
      SciPy ``scipy.spatial.distance.jensenshannon`` (its square); for ``beta``,
      R. Agarwal et al., "On-Policy Distillation of Language Models" (GKD), ICLR 2024,
      https://arxiv.org/abs/2306.13649, and TRL ``GKDTrainer.generalized_jsd_loss``.
    """
    contracts.floating(log_p=log_p, log_q=log_q)
    contracts.same_shape(log_p=log_p, log_q=log_q)
    ax = contracts.axis_index(axis, jnp.ndim(log_p), "log_p")
    contracts.bounded(beta, "beta", ge=0, le=1)
    lp, lq = upcast(log_p, log_q)
    sp, sq = lp > -jnp.inf, lq > -jnp.inf
    p, q = jnp.exp(jnp.where(sp, lp, 0.0)), jnp.exp(jnp.where(sq, lq, 0.0))
    fixed = None if is_traced(beta) else float(np.asarray(beta))
    if fixed == 0.5:
        loss = _skewed_js(p, q, lp, lq, sp, sq, 0.5, ax)
    elif fixed in (0.0, 1.0):
        loss = _endpoint_kl(p, q, lp, lq, sp, sq, fixed, ax)
    else:
        b = jnp.asarray(beta, lp.dtype)
        inside = (b > 0) & (b < 1)
        loss = jnp.where(
            inside,
            _skewed_js(p, q, lp, lq, sp, sq, jnp.where(inside, b, 0.5), ax),
            jnp.where(
                b == 0,
                _endpoint_kl(p, q, lp, lq, sp, sq, 0.0, ax),
                _endpoint_kl(p, q, lp, lq, sp, sq, 1.0, ax),
            ),
        )
    return reduce(loss, reduction, weights=weights, where=where)


def _skewed_js(p, q, lp, lq, sp, sq, beta, ax) -> jax.Array:
    """``(1 - beta) KL(p || m) + beta KL(q || m)``, ``m = (1 - beta) p + beta q``, ``0 < beta < 1``."""
    either = sp | sq
    # Both -inf: logaddexp(-inf, -inf) has a NaN gradient; that entry is off both supports.
    if isinstance(beta, float) and beta == 0.5:
        lm = jnp.logaddexp(jnp.where(either, lp, 0.0), jnp.where(either, lq, 0.0)) - math.log(2.0)
        return 0.5 * jnp.sum(_xlogy_over(p, lp, lm, sp) + _xlogy_over(q, lq, lm, sq), axis=ax)
    lm = jnp.logaddexp(
        jnp.where(either, lp, 0.0) + jnp.log1p(-beta), jnp.where(either, lq, 0.0) + jnp.log(beta)
    )
    return jnp.sum(
        (1 - beta) * _xlogy_over(p, lp, lm, sp) + beta * _xlogy_over(q, lq, lm, sq), axis=ax
    )


def _endpoint_kl(p, q, lp, lq, sp, sq, beta: float, ax) -> jax.Array:
    """GKD's endpoints: ``KL(q || p)`` at ``beta = 0``, ``KL(p || q)`` at ``beta = 1``."""
    if beta == 0.0:
        return jnp.sum(_xlogy_over(q, lq, lp, sq), axis=ax)
    return jnp.sum(_xlogy_over(p, lp, lq, sp), axis=ax)
