"""Classic margin losses: Crammer--Singer (optax), hinge embedding and multilabel margin (PyTorch).

The Weston--Watkins form (torch ``multi_margin_loss``) is
:func:`~jaxloss.multiclass_hinge_loss`; the binary hinge is :func:`~jaxloss.hinge_loss`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.labels import class_labels, poison
from .._src.numerics import param, upcast
from .._src.reduce import broadcast, reduce, sanitize
from .._src.registry import register
from .._src.scores import binary_scores, class_scores, is_label, take
from .._src.types import ArrayLike, Reduction

__all__ = ["crammer_singer_hinge_loss", "hinge_embedding_loss", "multilabel_margin_loss"]

_FAMILY = "classification"


@register(_FAMILY, reference="optax.losses.multiclass_hinge_loss (Crammer-Singer)")
def crammer_singer_hinge_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    margin: float | ArrayLike = 1.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Crammer--Singer multiclass hinge loss (optax ``multiclass_hinge_loss``).

    .. math:: \ell_i = \max_j \bigl(s_{ij} + m [j \ne y_i]\bigr) - s_{i y_i}
       = \max\bigl(0,\, m + \max_{j \ne y_i} s_{ij} - s_{i y_i}\bigr)

    Only the largest violation counts (the Weston--Watkins sum over wrong
    classes, torch ``multi_margin_loss``, is :func:`~jaxloss.multiclass_hinge_loss`).
    One-hot (or soft) labels :math:`y_{ic}` give
    :math:`\max_j (s_{ij} + m (1 - y_{ij})) - \sum_c y_{ic} s_{ic}`. The
    gradient at a tie of the maximum is split evenly (``jnp.max``, as optax).

    Keras ``CategoricalHinge`` is
    :math:`\max(0, 1 + \max(0, \max_{j \ne y} s_j) - s_y)`: equal to this loss
    when some wrong-class score is non-negative, larger when every wrong-class
    score is negative (it is not an alias).

    Differences from optax: ``margin`` generalises optax's fixed 1; optax takes
    integer labels only.

    Args:
      scores: ``[..., C]`` floating scores, classes on the last axis.
      labels: ``[...]`` integer class indices in ``[0, C)``, or ``[..., C]``
        one-hot (floating) labels.
      margin: :math:`m \ge 0`; float or traced array.
      weights: optional per-example weights broadcastable to the ``"none"`` output.
      where: optional boolean mask with the shape of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``scores.shape[:-1]`` for ``"none"``.
      Out-of-range integer labels raise ``ValueError`` eagerly and give NaN under ``jit``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> scores = jnp.array([[0.1, 0.2, 0.4, 0.8], [2.0, -1.0, 0.5, 0.0]])
      >>> jaxloss.crammer_singer_hinge_loss(scores, jnp.array([3, 0]), reduction="none")
      Array([0.6, 0. ], dtype=float32)

    References:
      Crammer & Singer, On the Algorithmic Implementation of Multiclass
      Kernel-based Vector Machines, JMLR 2001; optax ``multiclass_hinge_loss``.
    """
    contracts.bounded(margin, "margin", ge=0)
    c = class_scores(scores, labels, axis=None, where=where, what="scores")
    s = c.logits
    m = param(margin, s.dtype)
    if c.integer:
        y = is_label(c.labels, s.shape[-1]).astype(s.dtype)
        true = take(s, c.labels)
    else:
        y = c.labels
        true = jnp.sum(s * y, axis=-1)
    loss = jnp.max(s + m * (1 - y), axis=-1) - true
    return reduce(c.poisoned(loss), reduction, weights=weights, where=c.where)


@register(_FAMILY, reference="torch.nn.functional.hinge_embedding_loss")
def hinge_embedding_loss(
    predictions: ArrayLike,
    labels: ArrayLike,
    *,
    margin: float | ArrayLike = 1.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Hinge embedding loss (PyTorch ``HingeEmbeddingLoss``).

    .. math:: \ell = \begin{cases} x & y = 1 \\ \max(0, m - x) & y = -1 \end{cases}

    ``predictions`` :math:`x` are usually distances (for example an L1 distance
    between two embeddings) and ``labels`` say whether the pair is similar
    (:math:`+1`) or dissimilar (:math:`-1`). As in torch, a label that is
    neither gives the sum of both terms.

    Difference from torch: at the kink :math:`x = m` of a :math:`-1` label the
    gradient here is half of torch's (``jnp.maximum`` splits a tie; torch's
    ``clamp_min`` passes it whole).

    Args:
      predictions: floating values :math:`x`, any shape (torch ``input``).
      labels: :math:`\pm 1` labels with the same shape (any numeric dtype).
      margin: :math:`m`; float or traced array.
      weights: optional weights broadcastable to the elementwise loss.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x, y = jnp.array([0.3, 0.3, 2.0]), jnp.array([1, -1, -1])
      >>> jaxloss.hinge_embedding_loss(x, y, reduction="none")
      Array([0.3, 0.7, 0. ], dtype=float32)

    References:
      PyTorch ``torch.nn.functional.hinge_embedding_loss`` / ``torch.nn.HingeEmbeddingLoss``.
    """
    b = binary_scores(
        predictions,
        labels,
        where=where,
        what="predictions",
        hint="labels have the shape of predictions",
    )
    x, y = b.logits, b.labels
    m = param(margin, x.dtype)
    zero = jnp.zeros((), x.dtype)
    loss = jnp.where(y != 1, jnp.maximum(m - x, zero), zero) + jnp.where(y != -1, x, zero)
    loss = jnp.where(jnp.isnan(y), jnp.asarray(jnp.nan, x.dtype), loss)  # NaN label in, NaN out
    return reduce(loss, reduction, weights=weights, where=b.where)


@register(_FAMILY, reference="torch.nn.functional.multilabel_margin_loss")
def multilabel_margin_loss(
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Multilabel margin loss (PyTorch ``MultiLabelMarginLoss``).

    .. math:: \ell_i = \frac{1}{C} \sum_{j \in T_i} \sum_{k \notin T_i}
       \max\bigl(0,\, 1 - (s_{ij} - s_{ik})\bigr)

    ``targets`` has the shape of ``scores``: the class indices of the example's
    label set :math:`T_i`, followed by ``-1`` (everything from the first ``-1``
    on is ignored), as torch. A repeated index counts once per occurrence in
    the outer sum, as torch. The hinge has zero gradient at the kink (torch's
    ``z > 0``).

    Args:
      scores: ``[..., C]`` floating scores, classes on the last axis.
      targets: ``[..., C]`` integer class indices padded with ``-1``.
      weights: optional per-example weights broadcastable to the ``"none"`` output.
      where: optional boolean mask with the shape of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``scores.shape[:-1]`` for ``"none"``.
      Entries outside ``[-1, C)`` (anywhere, as torch checks) raise ``ValueError``
      eagerly and give NaN under ``jit``. A NaN score gives NaN (torch's
      ``z > 0`` test drops it where it enters no violated pair): a deliberate
      difference.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> scores = jnp.array([[0.1, 0.2, 0.4, 0.8]])
      >>> jaxloss.multilabel_margin_loss(scores, jnp.array([[3, 0, -1, 1]]))  # torch docs example
      Array(0.85, dtype=float32)

    References:
      PyTorch ``torch.nn.functional.multilabel_margin_loss`` /
      ``torch.nn.MultiLabelMarginLoss``.
    """
    contracts.floating(scores=scores)
    contracts.integer(targets=targets)
    contracts.min_rank(scores, 1, "scores")
    contracts.same_shape(
        "targets are class indices padded with -1, shaped like scores",
        scores=scores,
        targets=targets,
    )
    # -1 terminates the list: slot k counts while every entry up to k is >= 0. Every entry must lie
    # in [-1, C), the ignored tail included (torch raises otherwise).
    t = jnp.asarray(targets)
    (s,) = upcast(scores)
    mask = None if where is None else broadcast(where, s.shape[:-1], "where", dtype=bool)
    s = s if mask is None else sanitize(s, mask[..., None])
    num_classes = s.shape[-1]
    # Eager ValueError / NaN under jit / checkify, as for class labels, with -1 the padding value.
    _, _, bad = class_labels(
        t, num_classes, ignore_index=-1, what="targets", like={"scores": scores}
    )
    slot = jnp.cumprod(t >= 0, axis=-1).astype(bool) & ~bad
    safe = jnp.where(slot, t, 0).astype(jnp.int32)
    hits = (
        jax.lax.broadcasted_iota(jnp.int32, (*safe.shape, num_classes), safe.ndim)
        == safe[..., None]
    )
    is_target = jnp.any(hits & slot[..., None], axis=-2)  # [..., C]
    true = jnp.take_along_axis(s, safe, axis=-1)  # [..., K] score of each listed target
    z = 1 - true[..., :, None] + s[..., None, :]  # [..., K, C]
    keep = slot[..., :, None] & ~is_target[..., None, :] & (z > 0)
    loss = jnp.sum(jnp.where(keep, z, jnp.zeros((), s.dtype)), axis=(-2, -1)) / num_classes
    # A NaN score must reach the loss (torch's z > 0 test would drop it); bad targets give NaN.
    poisoned = jnp.any(bad, axis=-1) | jnp.any(jnp.isnan(s), axis=-1)
    return reduce(poison(loss, poisoned), reduction, weights=weights, where=mask)
