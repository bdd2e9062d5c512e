"""sentence-transformers losses over given embeddings or scores: CoSENT, AnglE, the
cosine-similarity regression, online (hard-pair) contrastive, MarginMSE and the global
orthogonal regulariser, plus the TF-Addons contrastive loss on given distances.

sentence-transformers (ST) computes each of these from the embeddings its model
returns (``compute_loss_from_embeddings``); here the embeddings (or scores) are the
data. Similarities are those of ST's ``util``: the cosine of L2-normalised rows
(``F.normalize``: zero vectors give 0 with finite gradients), raw dot products, or
the AnglE similarity. CoSENT, AnglE and the orthogonal regulariser have no
per-item decomposition: they return one scalar for ``reduction="none"`` too, and
``weights``/``where`` then act on that scalar (broadcastable to ``()``).
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.elementwise import elementwise
from .._src.embeddings import check_rows, embedding_tuples
from .._src.labels import poison
from .._src.numerics import abs0, is_traced, l2_normalize, param, upcast
from .._src.reduce import broadcast, check_reduction, reduce, sanitize
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._pairs import _paired

__all__ = [
    "angle_loss",
    "contrastive_loss_from_distances",
    "cosent_loss",
    "cosine_similarity_loss",
    "global_orthogonal_regularization",
    "margin_mse_loss",
    "online_contrastive_loss",
]

_FAMILY = "embedding"
PairSimilarity = Literal["cosine", "angle", "dot"]
_PAIR_SIMILARITIES: tuple[PairSimilarity, ...] = ("cosine", "angle", "dot")
Similarity = Literal["cosine", "dot"]
PairMetric = Literal["cosine", "euclidean", "squared_euclidean", "manhattan"]
_PAIR_METRICS: tuple[PairMetric, ...] = ("cosine", "euclidean", "squared_euclidean", "manhattan")


# --------------------------------------------------------------------------- shared pieces


def _row_similarity(a: jax.Array, b: jax.Array, kind: str) -> jax.Array:
    """Similarity of matching rows, ``[...]``: ST's ``pairwise_cos_sim``,
    ``pairwise_dot_score`` or ``pairwise_angle_sim``."""
    if kind == "dot":
        return jnp.sum(a * b, axis=-1)
    a, b = l2_normalize(a), l2_normalize(b)
    cos = jnp.sum(a * b, axis=-1)
    if kind == "cosine":
        return cos
    # ST pads an odd dimension with one zero (after the normalisation: the norms are unchanged).
    if a.shape[-1] % 2:
        pad = [(0, 0)] * (a.ndim - 1) + [(0, 1)]
        a, b = jnp.pad(a, pad), jnp.pad(b, pad)
    h = a.shape[-1] // 2
    sin = jnp.sum(a[..., h:] * b[..., :h] - a[..., :h] * b[..., h:], axis=-1)
    return abs0(cos + sin)


def _has_nan(x: jax.Array, mask: jax.Array | None = None) -> jax.Array | None:
    """Whether a floating ``x`` has a NaN (where ``mask``); ``None`` for other dtypes."""
    if not jnp.issubdtype(x.dtype, jnp.floating):
        return None
    nan = jnp.isnan(x)
    return jnp.any(nan if mask is None else nan & mask)


def _cosent(
    x1: ArrayLike,
    x2: ArrayLike,
    scores: ArrayLike,
    scale: ArrayLike,
    similarity: str,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: str,
) -> jax.Array:
    """CoSENT on ``similarity`` (the body of :func:`cosent_loss` and :func:`angle_loss`)."""
    contracts.choice(similarity, _PAIR_SIMILARITIES, "similarity")
    check_reduction(reduction)
    (a, b), y = embedding_tuples({"x1": x1, "x2": x2}, scores, "scores")
    contracts.rank(a, 2, "x1", "[batch, dim]: CoSENT ranks the pairs of one batch")
    contracts.bounded(scale, "scale", gt=0)
    s = _row_similarity(a, b, similarity) * param(scale, a.dtype)
    y = jnp.asarray(y)
    y = y.astype(jnp.int32) if y.dtype == jnp.bool_ else y
    # log(1 + sum_{y_i < y_j} e^{s_i - s_j}) in O(B log B), as ST: sort the pairs by score; the
    # pairs above pair i start at `start[i]`, and a reversed cumulative logsumexp of -s sums them.
    order = jnp.argsort(y, stable=True)
    ys, ss = y[order], s[order]
    start = jnp.searchsorted(ys, ys, side="right")
    suffix = jax.lax.cumlogsumexp(-ss, axis=0, reverse=True)
    suffix = jnp.concatenate([suffix, jnp.full((1,), -jnp.inf, s.dtype)])
    terms = jnp.concatenate([jnp.zeros((1,), s.dtype), ss + suffix[start]])
    loss = poison(jax.nn.logsumexp(terms), _has_nan(y))
    return reduce(loss, reduction, weights=weights, where=where)


# --------------------------------------------------------------------------- CoSENT, AnglE


@register(_FAMILY, reference="sentence-transformers CoSENTLoss (Su 2022)")
def cosent_loss(
    x1: ArrayLike,
    x2: ArrayLike,
    scores: ArrayLike,
    *,
    scale: ArrayLike = 20.0,
    similarity: PairSimilarity = "cosine",
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""CoSENT: a ranking loss that orders the pair similarities by their gold scores.

    .. math::
       \mathcal{L} = \log\Big(1 + \sum_{(i, j):\, y_i < y_j} e^{s_i - s_j}\Big),
       \qquad s_i = \text{scale} \cdot \operatorname{sim}(x_{1,i}, x_{2,i})

    Every pair whose gold score is lower than another's should have the lower
    similarity. The sum runs over the ordered pairs of the batch (sorted once:
    ``O(B log B)`` time and ``O(B)`` memory); ties in ``scores`` are not
    compared. ``similarity="angle"`` is :func:`angle_loss`.

    Args:
      x1: ``[batch, dim]`` floating embeddings of the first texts.
      x2: same shape: the second texts.
      scores: ``[batch]`` gold similarity scores (float, integer or bool; only
        their order matters). A NaN score makes the loss NaN.
      scale: the multiplier of the similarities, ``> 0`` (ST's ``scale``, 1 /
        temperature); float or traced array.
      similarity: ``"cosine"`` (default, ST's ``pairwise_cos_sim``), ``"dot"``
        (``pairwise_dot_score``) or ``"angle"`` (``pairwise_angle_sim``).
      weights: optional weight of the batch loss (broadcastable to ``()``).
      where: optional boolean ``()`` mask of the batch loss.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``: all three give the
        batch's scalar (there is no per-pair term).

    Returns:
      The scalar loss of the batch.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x1 = jnp.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
      >>> x2 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> jaxloss.cosent_loss(x1, x2, jnp.array([1.0, 0.0, 0.5]), scale=1.0)
      Array(0.9582..., dtype=float32)

    References:
      J. Su, "CoSENT", 2022, https://kexue.fm/archives/8847; sentence-transformers
      ``CoSENTLoss(model, scale=20.0, similarity_fct=pairwise_cos_sim)``; ST 6.x
      sums the pairs by sorting too, older releases masked a ``[B, B]`` matrix with
      ``-1e12`` (equal in float32). Deliberate differences: the embeddings are given,
      not computed by a model; ``similarity`` names ST's ``similarity_fct`` choices
      (another function is not taken).
    """
    return _cosent(x1, x2, scores, scale, similarity, weights, where, reduction)


@register(_FAMILY, reference="sentence-transformers AnglELoss (Li & Li 2023)")
def angle_loss(
    x1: ArrayLike,
    x2: ArrayLike,
    scores: ArrayLike,
    *,
    scale: ArrayLike = 20.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""AnglE: CoSENT on the angle similarity of complex-valued embeddings.

    .. math::
       \mathcal{L} = \log\Big(1 + \sum_{(i, j):\, y_i < y_j} e^{s_i - s_j}\Big), \qquad
       s_i = \text{scale}\,\big|\cos(u_i, v_i) + \textstyle\sum_k (b_{ik} c_{ik} - a_{ik} d_{ik})\big|

    with :math:`u = (a, b)` and :math:`v = (c, d)` the L2-normalised rows of
    ``x1`` and ``x2`` split into halves (real and imaginary parts): the absolute
    value of the real plus the imaginary part of the normalised complex quotient
    :math:`u / v`. An odd ``dim`` is padded with one zero, as ST does.

    Args:
      x1: ``[batch, dim]`` floating embeddings of the first texts.
      x2: same shape: the second texts.
      scores: ``[batch]`` gold similarity scores (only their order matters).
      scale: the multiplier of the similarities, ``> 0``; float or traced array.
      weights: optional weight of the batch loss (broadcastable to ``()``).
      where: optional boolean ``()`` mask of the batch loss.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``: all three give the
        batch's scalar.

    Returns:
      The scalar loss of the batch.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x1 = jnp.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
      >>> x2 = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> jaxloss.angle_loss(x1, x2, jnp.array([1.0, 0.0, 0.5]), scale=1.0)
      Array(1.6265..., dtype=float32)

    References:
      X. Li, J. Li, "AnglE-optimized Text Embeddings", 2023,
      https://arxiv.org/abs/2309.12871; sentence-transformers ``AnglELoss(model,
      scale=20.0)`` (``util.pairwise_angle_sim``). Deliberate differences: pairs only
      (ST's triplet columns, which it turns into pairs with labels 1 and 0, are
      not taken); zero vectors give similarity 0 with finite gradients (ST's
      ``F.normalize`` does the same).
    """
    return _cosent(x1, x2, scores, scale, "angle", weights, where, reduction)


# --------------------------------------------------------------------------- cosine similarity


@register(_FAMILY, reference="sentence-transformers CosineSimilarityLoss")
def cosine_similarity_loss(
    x1: ArrayLike,
    x2: ArrayLike,
    targets: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Squared error between the cosine similarity of a pair and its gold score.

    .. math:: \ell_i = \big(\cos(x_{1,i}, x_{2,i}) - t_i\big)^2

    Args:
      x1: ``[..., dim]`` floating embeddings.
      x2: same shape as ``x1``.
      targets: ``[...]`` gold similarities (float, integer or bool), usually in
        ``[-1, 1]`` or ``[0, 1]``.
      weights: optional weights broadcastable to ``[...]``.
      where: optional boolean mask of shape ``[...]``; masked pairs contribute
        nothing (NaN included).
      reduction: ``"mean"`` (default; ST's ``MSELoss``), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[...]`` per-pair losses for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x1 = jnp.array([[1.0, 0.0], [1.0, 0.0]])
      >>> x2 = jnp.array([[1.0, 1.0], [0.0, 2.0]])
      >>> jaxloss.cosine_similarity_loss(x1, x2, jnp.array([1.0, 0.0]))
      Array(0.04289322, dtype=float32)

    References:
      sentence-transformers ``CosineSimilarityLoss(model)`` (default ``loss_fct=MSELoss()``,
      ``cos_score_transformation=Identity()``). Deliberate differences: the cosine
      normalises each row by ``max(||x||, 1e-12)`` (ST's ``F.normalize``-based
      similarities) where ``torch.cosine_similarity`` clamps the norms at ``1e-8``:
      equal except for rows with norms between the two; another ``loss_fct`` or
      transformation is composed by hand.
    """
    check_reduction(reduction)
    (a, b), t = embedding_tuples({"x1": x1, "x2": x2}, targets, "targets")
    mask = None if where is None else broadcast(where, a.shape[:-1], "where", dtype=bool)
    if mask is not None:
        a, b = sanitize(a, mask[..., None]), sanitize(b, mask[..., None])
    loss = jnp.square(_row_similarity(a, b, "cosine") - jnp.asarray(t).astype(a.dtype))
    return reduce(loss, reduction, weights=weights, where=mask)


# --------------------------------------------------------------------------- contrastive


@register(_FAMILY, reference="sentence-transformers OnlineContrastiveLoss")
def online_contrastive_loss(
    x1: ArrayLike,
    x2: ArrayLike,
    similar: ArrayLike,
    *,
    margin: ArrayLike = 0.5,
    metric: PairMetric = "cosine",
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Contrastive loss on the hard pairs of a batch (sentence-transformers ``OnlineContrastiveLoss``).

    .. math::
       \mathcal{L} = \sum_{i \in P_{\text{hard}}} d_i^2 + \sum_{i \in N_{\text{hard}}} \max(0, m - d_i)^2

    With :math:`d_i = d(x_{1,i}, x_{2,i})`, :math:`P` the pairs with ``similar == 1``
    and :math:`N` those with ``similar == 0``:

    - hard negatives: :math:`d_i < \max_P d`, or :math:`d_i < \operatorname{mean}_N d`
      when the batch has no positive pair;
    - hard positives: :math:`d_i > \min_N d`, or :math:`d_i > \operatorname{mean}_P d`
      when the batch has no negative pair.

    The selection carries no gradient; shapes are fixed (the other pairs give 0).
    Pairs whose ``similar`` is neither 0 nor 1 are in neither set (ST ignores them
    too). Pairs masked by ``where`` leave the batch: they are neither selected nor
    counted in the thresholds.

    Args:
      x1: ``[batch, dim]`` floating embeddings.
      x2: same shape as ``x1``.
      similar: ``[batch]`` pair labels: 1 (or ``True``) for similar pairs, 0 for
        dissimilar ones.
      margin: :math:`m \ge 0`; float or traced array.
      metric: ``"cosine"`` (default, :math:`1 - \cos`; ST's ``COSINE_DISTANCE``),
        ``"euclidean"`` (``EUCLIDEAN``), ``"manhattan"`` (``MANHATTAN``) or
        ``"squared_euclidean"``.
      weights: optional ``[batch]`` pair weights.
      where: optional boolean ``[batch]`` pair mask.
      reduction: ``"mean"`` (default: the weighted mean over the selected pairs),
        ``"sum"`` (ST's value) or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[batch]`` per-pair losses for
      ``"none"`` (0 off the selected pairs).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x1 = jnp.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
      >>> x2 = jnp.array([[1.0, 0.2], [0.0, 1.0], [1.0, 0.9], [1.0, 1.0]])
      >>> jaxloss.online_contrastive_loss(x1, x2, jnp.array([1, 1, 0, 0]), reduction="sum")
      Array(1.1020..., dtype=float32)

    References:
      sentence-transformers ``OnlineContrastiveLoss(model, margin=0.5)``
      (``SiameseDistanceMetric.COSINE_DISTANCE``); R. Hadsell, S. Chopra, Y. LeCun,
      CVPR 2006. Deliberate differences: ST returns the sum, here
      ``reduction="sum"``; ``"mean"`` divides by the number of selected pairs. The
      fallback thresholds apply when the other set is empty, as in ST 6.x (older
      releases used them when it had at most one pair). ``"euclidean"`` omits the ``1e-6`` that
      ``F.pairwise_distance`` adds to the difference. A NaN distance or label
      makes the loss NaN (ST's comparisons would drop it).
    """
    contracts.choice(metric, _PAIR_METRICS, "metric")
    contracts.bounded(margin, "margin", ge=0)
    check_reduction(reduction)
    (a, b), target = embedding_tuples({"x1": x1, "x2": x2}, similar, "similar")
    contracts.rank(a, 2, "x1", "[batch, dim]: the hard pairs are mined within the batch")
    y = jnp.asarray(target)
    n = a.shape[0]
    mask = jnp.ones((n,), bool) if where is None else broadcast(where, (n,), "where", dtype=bool)
    a, b = sanitize(a, mask[:, None]), sanitize(b, mask[:, None])
    d = jnp.sum(abs0(a - b), axis=-1) if metric == "manhattan" else _paired(a, b, metric)
    dn = jax.lax.stop_gradient(d)
    pos, neg = mask & (y == 1), mask & (y == 0)
    n_pos, n_neg = jnp.sum(pos), jnp.sum(neg)
    zero = jnp.zeros((), d.dtype)

    def mean(m: jax.Array, count: jax.Array) -> jax.Array:
        return jnp.sum(jnp.where(m, dn, zero)) / jnp.maximum(count, 1).astype(d.dtype)

    neg_threshold = jnp.where(
        n_pos > 0, jnp.max(jnp.where(pos, dn, -jnp.inf), initial=-jnp.inf), mean(neg, n_neg)
    )
    pos_threshold = jnp.where(
        n_neg > 0, jnp.min(jnp.where(neg, dn, jnp.inf), initial=jnp.inf), mean(pos, n_pos)
    )
    hard_neg, hard_pos = neg & (dn < neg_threshold), pos & (dn > pos_threshold)
    m = param(margin, d.dtype)
    loss = jnp.where(hard_pos, jnp.square(d), zero) + jnp.where(
        hard_neg, jnp.square(jax.nn.relu(m - d)), zero
    )
    bad = jnp.any(jnp.isnan(dn) & mask)
    label_nan = _has_nan(y, mask)
    bad = bad if label_nan is None else bad | label_nan
    out = reduce(loss, reduction, weights=weights, where=where, valid=hard_pos | hard_neg)
    return poison(out, bad)


@register(_FAMILY, reference="TF-Addons contrastive_loss; sentence-transformers ContrastiveLoss")
def contrastive_loss_from_distances(
    distances: ArrayLike,
    similar: ArrayLike,
    *,
    margin: ArrayLike = 1.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Contrastive loss of given pair distances, TF-Addons semantics.

    .. math:: \ell = y\, d^2 + (1 - y) \max(0, m - d)^2

    This is twice :func:`contrastive_loss` (which computes the distances from
    embeddings and carries Hadsell et al.'s factor :math:`\tfrac12`).

    Args:
      distances: floating pair distances of any shape (TF-Addons ``y_pred``).
      similar: same shape: 1 (or ``True``) for similar pairs, 0 for dissimilar
        ones (TF-Addons ``y_true``); soft values interpolate.
      margin: :math:`m \ge 0`; float or traced array.
      weights: optional weights broadcastable to the elementwise loss.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default; Keras' ``SUM_OVER_BATCH_SIZE``), ``"sum"``
        or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.contrastive_loss_from_distances(jnp.array([0.5, 0.25]), jnp.array([1.0, 0.0]))
      Array(0.40625, dtype=float32)

    References:
      TF-Addons ``tfa.losses.contrastive_loss(y_true, y_pred, margin=1.0)``
      (formula transcribed: TF is not installable here); sentence-transformers
      ``ContrastiveLoss(model, margin=0.5, size_average=True)`` is half of this
      on its distances; R. Hadsell, S. Chopra, Y. LeCun, CVPR 2006.
    """
    contracts.bounded(margin, "margin", ge=0)
    return elementwise(
        lambda d, y, margin: y * jnp.square(d) + (1.0 - y) * jnp.square(jax.nn.relu(margin - d)),
        distances,
        similar,
        weights=weights,
        where=where,
        reduction=reduction,
        names=("distances", "similar"),
        margin=margin,
    )


# --------------------------------------------------------------------------- MarginMSE


def _margins(target: jax.Array, batch: int, k: int) -> jax.Array:
    """ST's label forms as ``[batch, k]`` margins: margins ``[batch, k]`` (``[batch]`` when
    ``k == 1``), or teacher scores ``[batch, 1 + k]`` turned into ``t_0 - t_j``."""
    shape = tuple(target.shape)
    if shape == (batch, k):
        return target
    if shape == (batch,) and k == 1:
        return target[:, None]
    if shape == (batch, k + 1):
        return target[:, :1] - target[:, 1:]
    raise ValueError(
        f"{function_name()}: target_margins has shape {shape} but ({batch}, {k}) margins or "
        f"({batch}, {k + 1}) teacher scores (positive first) are expected"
        + (f" (or ({batch},) margins)" if k == 1 else "")
    )


@register(_FAMILY, reference="sentence-transformers MarginMSELoss (Hofstätter et al. 2020)")
def margin_mse_loss(
    positive_scores: ArrayLike,
    negative_scores: ArrayLike,
    target_margins: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""MarginMSE: squared error between the student's and the teacher's score margins.

    .. math:: \ell_{ik} = \big((s^+_i - s^-_{ik}) - m_{ik}\big)^2

    Args:
      positive_scores: ``[batch]`` floating scores of the query with its positive
        (a dot product of embeddings for a bi-encoder, ST's default
        ``pairwise_dot_score``; a logit for a cross-encoder).
      negative_scores: ``[batch]`` or ``[batch, k]`` scores with the ``k`` negatives.
      target_margins: the teacher's margins ``[batch, k]`` (``[batch]`` when
        ``negative_scores`` is ``[batch]``), or the teacher's scores ``[batch, 1 + k]``
        (positive first), which become the margins :math:`t_0 - t_k` as in ST.
        No gradient flows into them (ST detaches its labels).
      weights: optional weights broadcastable to ``negative_scores``' shape.
      where: optional boolean mask of that shape.
      reduction: ``"mean"`` (default; ST's ``MSELoss``), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; for ``"none"`` the losses with
      ``negative_scores``' shape.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> pos, neg = jnp.array([3.0, 1.0]), jnp.array([[1.0, 0.0], [2.0, 1.0]])
      >>> jaxloss.margin_mse_loss(pos, neg, jnp.array([[2.0, 4.0], [0.0, 1.0]]))
      Array(0.75, dtype=float32)

    References:
      S. Hofstätter et al., "Improving Efficient Neural Ranking Models with
      Cross-Architecture Knowledge Distillation", 2020, https://arxiv.org/abs/2010.02666;
      sentence-transformers ``MarginMSELoss(model)`` (bi-encoder) and
      ``cross_encoder.losses.MarginMSELoss(model)``. Deliberate difference: the
      scores are given (ST computes them from its model).
    """
    check_reduction(reduction)
    contracts.floating(positive_scores=positive_scores, negative_scores=negative_scores)
    contracts.rank(positive_scores, 1, "positive_scores", "[batch]")
    batch = np.shape(positive_scores)[0]
    contracts.rank(negative_scores, {1, 2}, "negative_scores", "[batch] or [batch, k]")
    contracts.shape_is(
        negative_scores,
        (batch,) + (None,) * (np.ndim(negative_scores) - 1),
        "negative_scores",
        "one row of negative scores per positive score",
        like={"positive_scores": positive_scores},
    )
    k = 1 if np.ndim(negative_scores) == 1 else np.shape(negative_scores)[1]
    pos, neg, t = upcast(positive_scores, negative_scores, target_margins)
    margins = jax.lax.stop_gradient(_margins(t, batch, k))
    neg2 = neg if neg.ndim == 2 else neg[:, None]
    diff = (pos[:, None] - neg2 - margins).reshape(neg.shape)
    mask = None if where is None else broadcast(where, neg.shape, "where", dtype=bool)
    return reduce(jnp.square(sanitize(diff, mask)), reduction, weights=weights, where=mask)


# --------------------------------------------------------------------------- global orthogonal regularisation


@register(
    _FAMILY,
    reference="sentence-transformers GlobalOrthogonalRegularizationLoss (Zhang et al. 2017)",
)
def global_orthogonal_regularization(
    embeddings: ArrayLike,
    *,
    mean_weight: ArrayLike = 1.0,
    second_moment_weight: ArrayLike = 1.0,
    similarity: Similarity = "cosine",
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Global orthogonal regularisation: spread the embeddings of a batch out.

    .. math::
       \mathcal{L} = w_1 \Big(\frac{\sum_{i \ne j} S_{ij}}{B(B-1)}\Big)^2
       + w_2 \max\Big(0, \frac{\sum_{i \ne j} S_{ij}^2}{B(B-1)} - \frac1{\text{dim}}\Big)

    with :math:`S` the pairwise similarities of the batch (off the diagonal): the
    mean similarity of random unit vectors is 0 and its second moment
    :math:`1/\text{dim}`. EmbeddingGemma's spread-out loss is ``mean_weight=0``.
    Add it to a task loss (e.g. with :func:`jaxloss.weighted_sum`).

    Args:
      embeddings: ``[batch, dim]`` floating embeddings (one column of a dataset).
      mean_weight: :math:`w_1 \ge 0`; float or traced array.
      second_moment_weight: :math:`w_2 \ge 0`; float or traced array (not both 0).
      similarity: ``"cosine"`` (default, ST's ``cos_sim``) or ``"dot"``.
      weights: optional weight of the batch loss (broadcastable to ``()``).
      where: optional boolean ``()`` mask of the batch loss.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``: all three give the
        batch's scalar.

    Returns:
      The scalar regulariser of the batch.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> e = jnp.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
      >>> jaxloss.global_orthogonal_regularization(e)
      Array(0.2222..., dtype=float32)

    References:
      X. Zhang et al., "Learning Spread-out Local Feature Descriptors", ICCV 2017,
      https://arxiv.org/abs/1708.06320; sentence-transformers
      ``GlobalOrthogonalRegularizationLoss(model, mean_weight=1.0,
      second_moment_weight=1.0)``. Deliberate differences: ST returns the two terms
      in a dict (the trainer adds them) and averages them over the embedding
      columns it is given (``aggregation="mean"``); here one column gives the sum of
      the two terms, and several columns are averaged by hand (``jnp.mean`` of the
      calls, or ``vmap``).
    """
    contracts.choice(similarity, ("cosine", "dot"), "similarity")
    check_reduction(reduction)
    check_rows(embeddings, "embeddings")
    for value, what in (
        (mean_weight, "mean_weight"),
        (second_moment_weight, "second_moment_weight"),
    ):
        contracts.bounded(value, what, ge=0)
    if (
        not is_traced(mean_weight)
        and not is_traced(second_moment_weight)
        and not (np.any(np.asarray(mean_weight)) or np.any(np.asarray(second_moment_weight)))
    ):
        raise ValueError(
            f"{function_name()}: mean_weight and second_moment_weight are both 0 (nothing to compute)"
        )
    n, dim = np.shape(embeddings)
    if dim == 0:
        raise ValueError(
            f"{function_name()}: embeddings has shape {(n, dim)}; the embedding dimension must be > 0"
        )
    (e,) = upcast(embeddings)
    if similarity == "cosine":
        e = l2_normalize(e)
    s = jnp.matmul(e, e.T, precision="highest")
    s = jnp.where(jnp.eye(n, dtype=bool), jnp.zeros((), s.dtype), s)
    pairs = max(n * (n - 1), 1)
    first = jnp.square(jnp.sum(s) / pairs)
    second = jax.nn.relu(jnp.sum(jnp.square(s)) / pairs - 1.0 / dim)
    loss = param(mean_weight, e.dtype) * first + param(second_moment_weight, e.dtype) * second
    return reduce(loss, reduction, weights=weights, where=where)
