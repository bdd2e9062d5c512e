"""Hinge and perceptron losses, binary and multiclass.

Binary losses take ``scores`` and ``labels`` of the same shape; labels may be
``{-1, +1}`` or ``{0, 1}`` (integer or floating): every label ``> 0`` is the
positive class, every other label the negative one. Multiclass forms take
integer class indices with the shape of ``scores`` without its last (class)
axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.numerics import param
from .._src.reduce import reduce
from .._src.registry import register
from .._src.scores import binary_scores, class_scores, is_class_indices, is_label, take
from .._src.types import ArrayLike, Reduction

__all__ = ["hinge_loss", "multiclass_hinge_loss", "perceptron_loss", "squared_hinge_loss"]

_FAMILY = "classification"


@register(_FAMILY, reference="optax.losses.hinge_loss; sklearn.metrics.hinge_loss",
          aliases=("hinge",))
def hinge_loss(
    scores: ArrayLike, labels: ArrayLike, *,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Binary hinge loss.

    .. math:: \ell(s, y) = \max(0, 1 - y s), \qquad y \in \{-1, +1\}

    Labels ``> 0`` are positive, all others negative, so ``{0, 1}`` and
    ``{-1, +1}`` labels (integer or floating) give the same loss.

    Args:
      scores: floating decision values, any shape.
      labels: labels of the same shape, ``{-1, +1}`` or ``{0, 1}``.
      weights: optional weights broadcastable to ``scores``.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.hinge_loss(jnp.array([2.0, 0.5, -0.5]), jnp.array([1, 1, 0]), reduction="none")
      Array([0. , 0.5, 0.5], dtype=float32)

    References:
      optax ``hinge_loss``; scikit-learn ``sklearn.metrics.hinge_loss`` (the mean).
    """
    b = binary_scores(scores, labels, where=where, signed=True, what="scores",
                      hint="binary labels have the shape of scores")
    loss = jnp.maximum(0, 1 - b.labels * b.logits)
    return reduce(loss, reduction, weights=weights, where=b.where)


@register(_FAMILY, reference="squared hinge (L2-SVM); sklearn LinearSVC loss='squared_hinge'",
          aliases=("squared_hinge",))
def squared_hinge_loss(
    scores: ArrayLike, labels: ArrayLike, *,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Squared binary hinge loss (L2-SVM).

    .. math:: \ell(s, y) = \max(0, 1 - y s)^2, \qquad y \in \{-1, +1\}

    Labels ``> 0`` are positive, all others negative (``{0, 1}`` or ``{-1, +1}``).

    Args:
      scores: floating decision values, any shape.
      labels: labels of the same shape, ``{-1, +1}`` or ``{0, 1}``.
      weights: optional weights broadcastable to ``scores``.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.squared_hinge_loss(jnp.array([2.0, 0.5, -0.5]), jnp.array([1, 1, -1]))
      Array(0.16666667, dtype=float32)

    References:
      The L2-SVM loss; scikit-learn ``LinearSVC(loss="squared_hinge")``.
    """
    b = binary_scores(scores, labels, where=where, signed=True, what="scores",
                      hint="binary labels have the shape of scores")
    return reduce(jnp.square(jnp.maximum(0, 1 - b.labels * b.logits)), reduction, weights=weights,
                  where=b.where)


@register(_FAMILY, reference="torch.nn.functional.multi_margin_loss",
          aliases=("multi_margin_loss",))
def multiclass_hinge_loss(
    scores: ArrayLike, labels: ArrayLike, *, margin: float | ArrayLike = 1.0, p: Literal[1, 2] = 1,
    class_weights: ArrayLike | Sequence[float] | None = None,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Multiclass hinge loss with PyTorch ``multi_margin_loss`` semantics.

    .. math::
       \ell_i = \frac{w_{y_i}}{C} \sum_{j \ne y_i} \max(0, m - s_{i y_i} + s_{ij})^p

    This is the Weston--Watkins form (a sum over wrong classes). optax's
    ``multiclass_hinge_loss`` is the Crammer--Singer form
    :math:`\max_j (s_j + [j \ne y]) - s_y` (the largest violation only, no
    division by :math:`C`) and differs from this one.

    Class weights multiply the per-example loss and, as in PyTorch, do not
    enter the denominator of ``"mean"`` (the mean over examples).

    Args:
      scores: ``[..., C]`` floating scores, classes on the last axis.
      labels: ``[...]`` integer class indices in ``[0, C)``.
      margin: :math:`m`; float or traced array.
      p: exponent, ``1`` or ``2`` (static).
      class_weights: optional ``[C]`` weights :math:`w_c` (PyTorch ``weight``).
      weights: optional per-example weights broadcastable to ``labels``.
      where: optional boolean mask with the shape of ``labels``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``labels.shape`` for ``"none"``.
      Out-of-range labels raise ``ValueError`` eagerly and give NaN under ``jit``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> scores = jnp.array([[0.1, 0.2, 0.4, 0.8]])
      >>> jaxloss.multiclass_hinge_loss(scores, jnp.array([3]))  # torch docs example
      Array(0.325, dtype=float32)

    References:
      PyTorch ``torch.nn.functional.multi_margin_loss``; Weston & Watkins,
      Support Vector Machines for Multi-Class Pattern Recognition, ESANN 1999.
    """
    contracts.choice(p, (1, 2), "p")
    c = class_scores(scores, labels, axis=None, where=where, integer_only=True, what="scores")
    s, safe = c.logits, c.labels
    num_classes = s.shape[-1]
    m = param(margin, s.dtype)
    violation = jnp.maximum(0, m - take(s, safe)[..., None] + s)
    if p == 2:
        violation = jnp.square(violation)
    violation = jnp.where(is_label(safe, num_classes), jnp.zeros((), s.dtype), violation)
    loss = jnp.sum(violation, axis=-1) / num_classes
    if class_weights is not None:
        contracts.shape_is(class_weights, (num_classes,), "class_weights", "one weight per class")
        loss = jnp.asarray(class_weights, s.dtype)[safe] * loss
    return reduce(c.poisoned(loss), reduction, weights=weights, where=c.where)


# --------------------------------------------------------------------------- perceptron


@register(_FAMILY, reference="optax.losses.perceptron_loss; optax.losses.multiclass_perceptron_loss",
          aliases=("perceptron",))
def perceptron_loss(
    scores: ArrayLike, labels: ArrayLike, *,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Perceptron loss, binary or multiclass (decided by the shapes).

    .. math::
       \ell_\text{binary}(s, y) = \max(0, -y s), \qquad
       \ell_\text{multiclass}(s, y) = \max_j s_j - s_y

    Dispatch: **integer** ``labels`` with exactly one axis fewer than
    ``scores`` are class indices over the last axis of ``scores``
    (multiclass, optax ``multiclass_perceptron_loss``). Otherwise ``labels``
    must have the shape of ``scores`` and are binary (optax ``perceptron_loss``):
    labels ``> 0`` are positive, all others negative (``{0, 1}`` or ``{-1, +1}``).

    Args:
      scores: floating scores; ``[..., C]`` for the multiclass form.
      labels: binary labels with the shape of ``scores``, or ``[...]`` integer
        class indices in ``[0, C)``.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask with the shape of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; for ``"none"`` the elementwise loss
      (binary) or ``labels.shape`` (multiclass; out-of-range labels raise
      ``ValueError`` eagerly and give NaN under ``jit``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.perceptron_loss(jnp.array([0.5, -2.0]), jnp.array([0, 1]), reduction="none")
      Array([0.5, 2. ], dtype=float32)
      >>> jaxloss.perceptron_loss(jnp.array([[1.0, 3.0, 2.0]]), jnp.array([2]), reduction="none")
      Array([1.], dtype=float32)

    References:
      Rosenblatt 1958; Collins, Discriminative Training Methods for Hidden
      Markov Models, EMNLP 2002; optax ``perceptron_loss`` and
      ``multiclass_perceptron_loss``.
    """
    if is_class_indices(scores, labels):
        c = class_scores(scores, labels, axis=None, where=where, integer_only=True, what="scores")
        loss = c.poisoned(jnp.max(c.logits, axis=-1) - take(c.logits, c.labels))
    else:
        c = binary_scores(scores, labels, where=where, signed=True, what="scores", hint=(
            "binary labels have the shape of scores; integer class labels have "
            "scores.shape without the last axis"))
        loss = jnp.maximum(0, -c.labels * c.logits)
    return reduce(loss, reduction, weights=weights, where=c.where)
