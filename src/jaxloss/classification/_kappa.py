"""Weighted kappa loss (TF-Addons ``WeightedKappaLoss``) for ordinal classification."""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.labels import class_labels, poison
from .._src.numerics import param, upcast
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["weighted_kappa_loss"]

_FAMILY = "classification"


def _targets(
    labels: ArrayLike, probabilities: jax.Array, num_classes: int
) -> tuple[jax.Array, jax.Array | None]:
    """One-hot ``[B, C]`` targets from integer ``[B]`` or one-hot ``[B, C]`` labels, and the bad rows."""
    if np.ndim(labels) == 1:
        contracts.integer(labels=labels)
        contracts.shape_is(
            labels,
            probabilities.shape[:1],
            "labels",
            "one class index per row",
            like={"probabilities": probabilities},
        )
        safe, _, bad = class_labels(labels, num_classes, like={"probabilities": probabilities})
        return jax.nn.one_hot(safe, num_classes, dtype=probabilities.dtype), bad
    contracts.shape_is(
        labels,
        probabilities.shape,
        "labels",
        "integer [B] class indices or one-hot [B, C] rows",
        like={"probabilities": probabilities},
    )
    return jnp.asarray(labels).astype(probabilities.dtype), None


@register(_FAMILY, reference="tfa.losses.WeightedKappaLoss (TF-Addons 92b99f1)")
def weighted_kappa_loss(
    probabilities: ArrayLike,
    labels: ArrayLike,
    *,
    num_classes: int,
    weightage: Literal["linear", "quadratic"] = "quadratic",
    epsilon: float | ArrayLike = 1e-6,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Weighted kappa loss for ordinal classes (Cohen's weighted kappa made differentiable).

    .. math::
       \ell = \log\left(\frac{\sum_{b,j} W_{y_b j}\, P_{bj}}
       {\frac{1}{B}\sum_{i,j} h^Y_i\, W_{ij}\, h^P_j} + \epsilon\right),
       \qquad h^Y = \sum_b Y_{b\cdot},\; h^P = \sum_b P_{b\cdot}

    with :math:`Y` the one-hot labels, :math:`P` the predicted probabilities,
    and :math:`W_{ij} = |i - j|` (``"linear"``) or :math:`(i - j)^2`
    (``"quadratic"``); TF-Addons divides both by :math:`C - 1` or
    :math:`(C - 1)^2`, which cancels in the ratio. The ratio is the observed over the chance-expected
    disagreement, i.e. :math:`1 - \kappa`; a zero denominator gives a ratio of
    0 (``divide_no_nan``) and the loss :math:`\log \epsilon`. The loss is one
    number for the whole batch (no per-example decomposition), so
    ``reduction="none"`` returns that scalar too and ``weights``/``where`` act
    on it (broadcastable to ``()``).

    Args:
      probabilities: ``[B, C]`` predicted class probabilities (rows of a softmax).
      labels: integer ``[B]`` class indices in ``[0, C)`` or one-hot ``[B, C]``
        rows (TF-Addons takes one-hot rows).
      num_classes: :math:`C` (static); must equal ``probabilities.shape[-1]``.
      weightage: ``"quadratic"`` (default) or ``"linear"`` disagreement weights.
      epsilon: added to the ratio inside the log (TF-Addons' name and default);
        float or traced array, ``>= 0``.
      weights: optional weight of the batch loss (broadcastable to ``()``).
      where: optional boolean ``()`` mask of the batch loss.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``; each gives the
        batch's scalar (0 for an empty batch).

    Returns:
      The scalar loss, a log-ratio: negative whenever the observed
      disagreement is below the chance-expected one. An integer label outside
      ``[0, C)`` raises ``ValueError`` eagerly and gives NaN under ``jit``.

    Examples:
      TF-Addons' own example (its documented value is -1.1611923):

      >>> import jax.numpy as jnp, jaxloss
      >>> labels = jnp.array([2, 1, 0, 3])
      >>> probs = jnp.array([[0.1, 0.2, 0.6, 0.1], [0.1, 0.5, 0.3, 0.1],
      ...                    [0.8, 0.05, 0.05, 0.1], [0.01, 0.09, 0.1, 0.8]])
      >>> jaxloss.weighted_kappa_loss(probs, labels, num_classes=4)
      Array(-1.1611925, dtype=float32)

    References:
      J. de la Torre, D. Puig, A. Valls, `Weighted kappa loss function for
      multi-class classification of ordinal data in deep learning
      <https://doi.org/10.1016/j.patrec.2017.05.018>`_, Pattern Recognition
      Letters 2018; TF-Addons ``tfa.losses.WeightedKappaLoss``
      (``losses/kappa_loss.py``), whose formula this follows with the same
      defaults (``weightage="quadratic"``, ``epsilon=1e-6``). Differences:
      integer labels are accepted besides one-hot rows, and
      ``weights``/``where``/``reduction`` follow the library convention
      (TF-Addons' ``Loss`` reduction of a scalar is the scalar itself).
    """
    name = function_name()
    contracts.floating(probabilities=probabilities)
    contracts.rank(probabilities, 2, "probabilities", "[batch, classes]")
    contracts.choice(weightage, ("linear", "quadratic"), "weightage")
    contracts.bounded(epsilon, "epsilon", ge=0)
    if np.shape(probabilities)[-1] != num_classes:
        raise ValueError(
            f"{name}: probabilities has shape {np.shape(probabilities)} but num_classes={num_classes}; "
            "the class axis must be the last one and have num_classes entries"
        )
    (p,) = upcast(probabilities)
    y, bad = _targets(labels, p, num_classes)
    # The ratio is invariant to the scale of p: divide by a constant (no gradient) so that huge
    # inputs do not overflow the squared denominator of the gradient.
    p = p / jax.lax.stop_gradient(
        jnp.maximum(jnp.max(jnp.abs(p), initial=0), jnp.finfo(p.dtype).tiny)
    )
    k = jnp.arange(num_classes, dtype=p.dtype)
    diff = k[:, None] - k[None, :]
    w = jnp.abs(diff) if weightage == "linear" else jnp.square(diff)
    numerator = jnp.sum((y @ w) * p)
    denominator = jnp.sum(y, axis=0) @ w @ jnp.sum(p, axis=0) / max(p.shape[0], 1)
    nonzero = denominator != 0
    ratio = jnp.where(nonzero, numerator / jnp.where(nonzero, denominator, 1), 0)
    loss = jnp.log(ratio + param(epsilon, p.dtype))
    # An empty batch has nothing to compare: 0, as when everything is masked.
    valid = jnp.asarray(p.shape[0] > 0)
    return reduce(
        poison(loss, None if bad is None else jnp.any(bad)),
        reduction,
        weights=weights,
        where=where,
        valid=valid,
    )
