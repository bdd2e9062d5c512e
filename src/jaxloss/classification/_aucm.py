"""The AUC-margin loss (AUCM; Yuan et al. 2021), MONAI ``AUCMLoss`` semantics.

A min-max objective for the area under the ROC curve: the model, ``a`` and ``b`` are
minimised, the dual variable ``alpha`` is maximised. MONAI keeps ``a``, ``b`` and
``alpha`` as parameters of the loss module; here they are explicit data arguments, so
the caller owns them (and ascends ``alpha``: flip the sign of its gradient).
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.labels import class_labels, poison
from .._src.numerics import is_traced, param, upcast
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["aucm_loss"]

_FAMILY = "classification"


def _binary_labels(labels: ArrayLike, scores: jax.Array) -> tuple[jax.Array, jax.Array | None]:
    """``(positive, bad)``: the 0/1 labels as a boolean mask, and the entries that are neither
    0 nor 1 (``None`` when none can be: concrete bad labels raise)."""
    labels = jnp.asarray(labels)
    if jnp.issubdtype(labels.dtype, jnp.integer) or labels.dtype == jnp.bool_:
        safe, _, bad = class_labels(labels.astype(jnp.int32), 2, like={"scores": scores})
        return safe == 1, bad
    contracts.floating(labels=labels)
    bad = ~((labels == 0) | (labels == 1))
    if not is_traced(bad):
        found = np.asarray(labels)[np.asarray(bad)]
        if found.size:
            raise ValueError(
                f"{function_name()}: labels must be 0 or 1 (binary AUC); found {found.size} "
                f"other entries, e.g. {found[:5].tolist()}"
            )
        return labels == 1, None
    return labels == 1, bad


@register(_FAMILY, reference="monai.losses.AUCMLoss (LibAUC; Yuan et al. 2021)")
def aucm_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    alpha: ArrayLike,
    *,
    margin: float | ArrayLike = 1.0,
    imratio: float | None = None,
    version: Literal["v1", "v2"] = "v1",
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""AUC-margin (AUCM) min-max loss for binary AUROC optimisation, MONAI ``AUCMLoss``.

    With scores :math:`s_i`, binary labels :math:`y_i`, :math:`n` entries and the
    positive ratio :math:`p` (``imratio``, or the batch's :math:`\frac1n\sum_i y_i`),
    ``version="v1"`` is

    .. math::
       \mathcal{L} = (1-p)\,\overline{(s-a)^2 y} + p\,\overline{(s-b)^2 (1-y)}
       + 2\alpha\big(p(1-p)m + \overline{p\,s\,(1-y) - (1-p)\,s\,y}\big) - p(1-p)\alpha^2

    where :math:`\overline{\cdot}` is the mean over all :math:`n` entries, and
    ``version="v2"`` uses class-conditional means :math:`\mathbb{E}_+`, :math:`\mathbb{E}_-`
    (0 for an absent class) and no prior:

    .. math::
       \mathcal{L} = \mathbb{E}_+[(s-a)^2] + \mathbb{E}_-[(s-b)^2]
       + 2\alpha\big(m + \mathbb{E}_-[s] - \mathbb{E}_+[s]\big) - \alpha^2

    The objective is minimised over the model, :math:`a` and :math:`b`, and maximised
    over :math:`\alpha \ge 0` (LibAUC's PESG optimiser ascends :math:`\alpha` and
    projects it onto :math:`\alpha \ge 0`; that step is the caller's).

    This is a batch-level loss: ``"none"`` gives the scalar too.

    Args:
      scores: prediction scores, any shape (MONAI ``[B, 1, *spatial]``; flattened).
      labels: binary labels (0/1, integer, boolean or floating) with the shape of
        ``scores``. Other values raise a ``ValueError`` with concrete inputs and give NaN
        under ``jit``.
      a: scalar, the positive-class centre (minimised; MONAI's parameter ``a``, init 0).
      b: scalar, the negative-class centre (minimised; init 0).
      alpha: scalar dual variable (maximised; init 0).
      margin: :math:`m` of the squared-hinge surrogate (``>= 0``; float or traced).
      imratio: the dataset's positive ratio :math:`p` in ``[0, 1]`` (static), or ``None``
        (default) for the batch estimate. Ignored by ``"v2"``.
      version: ``"v1"`` (default, with the class prior) or ``"v2"`` (class-conditional
        means, no prior). Static.
      weights: optional weight of the batch loss (broadcastable to ``()``).
      where: optional boolean ``()`` mask of the batch loss.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``: all three give the
        batch's scalar (MONAI accepts ``reduction`` and ignores it likewise).

    Returns:
      The scalar loss.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> s, y = jnp.array([0.9, 0.2, 0.7, 0.1]), jnp.array([1, 0, 1, 0])
      >>> jaxloss.aucm_loss(s, y, 0.0, 0.0, 0.0)
      Array(0.16874999, dtype=float32)

    References:
      Z. Yuan, Y. Yan, M. Sonka, T. Yang, "Large-scale Robust Deep AUC Maximization: A
      New Surrogate Loss and Empirical Studies on Medical Image Classification", ICCV
      2021, https://arxiv.org/abs/2012.03173; MONAI 1.6.1 ``AUCMLoss(margin=1.0,
      imratio=None, version="v1")`` (after LibAUC 1.4.0 ``AUCMLoss``), whose value this
      reproduces with ``a``, ``b``, ``alpha`` as MONAI's three parameters.

      Differences: ``a``, ``b`` and ``alpha`` are arguments instead of module parameters;
      the batch estimate of :math:`p` is a traced value (MONAI takes it to the host with
      ``.item()``; neither carries a gradient); MONAI requires a channel axis of size 1,
      here any shape is accepted. An empty input raises a ``ValueError``, as in MONAI.
    """
    contracts.choice(version, ("v1", "v2"), "version")
    contracts.bounded(margin, "margin", ge=0)
    if imratio is not None:
        contracts.bounded(imratio, "imratio", ge=0, le=1)
    contracts.floating(scores=scores, a=a, b=b, alpha=alpha)
    contracts.same_shape(scores=scores, labels=labels)
    for what, value in (("a", a), ("b", b), ("alpha", alpha)):
        if np.ndim(value) != 0:
            raise ValueError(
                f"{function_name()}: {what} must be a scalar, got shape {np.shape(value)}"
            )
    s, a_, b_, al = upcast(scores, a, b, alpha)
    s = s.reshape(-1)
    contracts.nonempty(s, "scores", hint="AUCM needs at least one score")
    positive, bad = _binary_labels(jnp.asarray(labels).reshape(-1), s)
    pos = positive.astype(s.dtype)
    neg = 1 - pos
    n = s.shape[0]
    m = param(margin, s.dtype)
    if version == "v1":
        p = jnp.sum(pos) / n if imratio is None else jnp.asarray(imratio, s.dtype)
        q = 1 - p
        interaction = jnp.sum(p * s * neg - q * s * pos) / n
        loss = (
            q * jnp.sum(jnp.square(s - a_) * pos) / n
            + p * jnp.sum(jnp.square(s - b_) * neg) / n
            + 2 * al * (p * q * m + interaction)
            - p * q * jnp.square(al)
        )
    else:

        def class_mean(x: jax.Array, mask: jax.Array) -> jax.Array:
            count = jnp.sum(mask)
            return jnp.sum(x * mask) / jnp.maximum(count, 1)

        loss = (
            class_mean(jnp.square(s - a_), pos)
            + class_mean(jnp.square(s - b_), neg)
            + 2 * al * (m + class_mean(s, neg) - class_mean(s, pos))
            - jnp.square(al)
        )
    if bad is not None:
        loss = poison(loss, jnp.any(bad))
    return reduce(loss, reduction, weights=weights, where=where)
