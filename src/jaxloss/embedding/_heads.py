"""Classification heads for metric learning: angular-margin softmax losses
(ArcFace, sub-center ArcFace, CosFace, CurricularFace) and the center loss.

The margin heads take ``centers`` ``[dim, classes]`` (pytorch-metric-learning's
``W``; the keyword was ``class_weights`` before), or class-major
``[dim, classes * K]`` for ``K`` sub-centres per class; embeddings and centres are
L2-normalised, so the logits are ``scale * cos``. :func:`angular_head` and
:func:`head_cross_entropy` are shared with the SoftTriple and L-Softmax/SphereFace
modules. :func:`center_loss` takes
``centers`` ``[classes, dim]``. Label ``-1`` marks an example to ignore (as
insightface): it is excluded from the mean, and from the state updates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.deprecation import renamed
from .._src.embeddings import head_batch, pick
from .._src.labels import poison
from .._src.numerics import l2_normalize, param, safe_norm, safe_sqrt
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = [
    "arcface_loss",
    "center_loss",
    "cosface_loss",
    "curricularface_loss",
    "sub_center_arcface_loss",
    "sub_center_outliers",
]

_FAMILY = "embedding"


class _Head(NamedTuple):
    cos: jax.Array  # [batch, classes], clipped to [-1, 1]
    target: jax.Array  # [batch] cos of the own class
    is_target: jax.Array  # [batch, classes] bool
    counted: jax.Array  # [batch] bool: label != -1 and not masked by `where`
    valid: jax.Array  # [batch] bool: label != -1
    bad: jax.Array  # [batch] bool: out-of-range labels
    x_norm: jax.Array  # [batch] embedding norms (masked rows: 0)
    w_norm: jax.Array  # [columns] norms of the columns of ``centers``


def _check_sub_centers(
    embeddings: ArrayLike, centers: ArrayLike, sub_centers: int, what: str = "sub_centers"
) -> int:
    """The number of classes of a class-major ``[dim, classes * sub_centers]`` matrix."""
    if (
        isinstance(sub_centers, bool)
        or not isinstance(sub_centers, (int, np.integer))
        or sub_centers < 1
    ):
        raise ValueError(
            f"{function_name()}: {what} must be a static positive int, got {sub_centers!r}"
        )
    contracts.rank(embeddings, 2, "embeddings", "[batch, dim]")
    contracts.rank(centers, 2, "centers", "[dim, classes * K] (class-major)")
    dim, columns = np.shape(centers)
    if np.shape(embeddings)[1] != dim or columns % sub_centers:
        raise ValueError(
            f"{function_name()}: embeddings has shape {tuple(np.shape(embeddings))} but centers has shape "
            f"{(dim, columns)}; centers must be [dim, classes * {sub_centers}] (class-major) with the "
            "embeddings' dim"
        )
    return columns // sub_centers


def angular_head(
    embeddings: ArrayLike,
    centers: ArrayLike,
    labels: ArrayLike,
    where: ArrayLike | None,
    sub_centers: int = 1,
    pool: Callable[[jax.Array], jax.Array] | None = None,
    clip: bool = True,
    what: str = "sub_centers",
) -> _Head:
    """Cosines of the embeddings to the (normalised) columns of ``centers``.

    With ``sub_centers = K > 1`` the columns are class-major groups of ``K`` and ``pool``
    maps the ``[batch, classes, K]`` cosines to ``[batch, classes]``. ``clip`` keeps the
    cosines in ``[-1, 1]`` (rounding can leave them just outside, where ``sqrt(1 - cos^2)``
    is NaN).
    """
    if sub_centers == 1 and pool is None:
        batch = head_batch(embeddings, labels, centers, "centers", "[dim, classes]", where)
        full = batch.matrix
        cos = l2_normalize(batch.embeddings) @ l2_normalize(full, axis=0)
    else:
        classes = _check_sub_centers(embeddings, centers, sub_centers, what)
        # Checks, upcast and label range on one column per class; then the full matrix.
        first = jnp.asarray(centers)[:, ::sub_centers]
        batch = head_batch(embeddings, labels, first, "centers", "[dim, classes]", where)
        full = jnp.asarray(centers, batch.matrix.dtype)
        cos = l2_normalize(batch.embeddings) @ l2_normalize(full, axis=0)
        cos = cos.reshape(cos.shape[0], classes, sub_centers)
        cos = _first_max(cos) if pool is None else pool(cos)
    if clip:
        cos = jnp.clip(cos, -1.0, 1.0)
    is_target = jax.lax.broadcasted_iota(jnp.int32, cos.shape, 1) == batch.labels[:, None]
    x_norm, w_norm = safe_norm(batch.embeddings, axis=1), safe_norm(full, axis=0)
    return _Head(
        cos,
        pick(cos, batch.labels),
        is_target,
        batch.counted,
        batch.valid,
        batch.bad,
        x_norm,
        w_norm,
    )


def _first_max(cos: jax.Array) -> jax.Array:
    """The max over the last axis; its gradient goes to the first argmax only."""
    best = jnp.argmax(cos, axis=-1)
    return jnp.take_along_axis(cos, best[..., None], axis=-1)[..., 0]


def _sin(cos: jax.Array) -> jax.Array:
    """``sqrt(1 - cos^2)`` with a finite (zero) gradient at ``cos = +-1``."""
    return safe_sqrt(1.0 - jnp.square(cos))


def _arc_margin(cos: jax.Array, margin: jax.Array, easy_margin: bool) -> jax.Array:
    """``cos(theta + m)`` with insightface's fallback where ``theta + m > pi``."""
    cos_m = cos * jnp.cos(margin) - _sin(cos) * jnp.sin(margin)
    if easy_margin:
        return jnp.where(cos > 0, cos_m, cos)
    # theta + m > pi  <=>  cos < cos(pi - m) = -cos(m): keep the logit decreasing in theta.
    return jnp.where(cos > -jnp.cos(margin), cos_m, cos - margin * jnp.sin(margin))


def head_cross_entropy(
    h: _Head, target_logit: jax.Array, scale: jax.Array, others: jax.Array | None = None
) -> jax.Array:
    """Cross-entropy of ``scale * logits`` with the own class replaced by ``target_logit``;
    ``scale`` is a scalar or a ``[batch, classes]`` matrix (per-logit magnitudes)."""
    others = h.cos if others is None else others
    logits = scale * jnp.where(h.is_target, target_logit[:, None], others)
    own = jnp.sum(jnp.where(h.is_target, logits, jnp.zeros((), logits.dtype)), axis=1)
    return poison(jax.nn.logsumexp(logits, axis=1) - own, h.bad)


@register(_FAMILY, reference="Deng et al. 2019 (arXiv:1801.07698); insightface / PML ArcFaceLoss")
@renamed(class_weights="centers")
def arcface_loss(
    embeddings: ArrayLike,
    centers: ArrayLike,
    labels: ArrayLike,
    *,
    scale: ArrayLike = 64.0,
    margin: ArrayLike = 0.5,
    easy_margin: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""ArcFace: softmax cross-entropy with an additive angular margin on the target class.

    .. math::
       \ell_i = -\log \frac{e^{s \phi(\theta_{y_i})}}{e^{s \phi(\theta_{y_i})}
       + \sum_{j \ne y_i} e^{s \cos\theta_j}}, \qquad
       \phi(\theta) = \begin{cases} \cos(\theta + m) & \theta + m \le \pi \\
       \cos\theta - m \sin m & \text{otherwise (insightface fallback)} \end{cases}

    :math:`\cos\theta_j` is the cosine between the embedding and column
    :math:`j` of ``centers``. ``easy_margin=True`` applies the margin only
    where :math:`\cos\theta > 0` (plain :math:`\cos\theta` elsewhere).
    :math:`\sin\theta = \sqrt{\max(1 - \cos^2\theta, 0)}` has a finite gradient
    at :math:`\cos\theta = \pm 1`.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      centers: ``[dim, classes]`` class centres (normalised inside); the
        deprecated keyword ``class_weights=`` still works, with a ``DeprecationWarning``.
      labels: ``[batch]`` integer classes; ``-1`` ignores the example.
      scale: :math:`s`; float or traced array.
      margin: :math:`m` in radians; float or traced array.
      easy_margin: margin only for :math:`\cos\theta > 0`.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output's shape; masked
        entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"`` (the mean over non-ignored examples);
      ``[batch]`` per-example losses for ``"none"`` (0 where ignored).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> w = jnp.eye(2)
      >>> jaxloss.arcface_loss(jnp.array([[1.0, 0.0], [0.0, 1.0]]), w, jnp.array([0, 1]), scale=4.0)
      Array(0.02944922, dtype=float32)

    References:
      J. Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face
      Recognition", CVPR 2019, https://arxiv.org/abs/1801.07698; insightface
      ``arcface_torch``; pytorch-metric-learning ``ArcFaceLoss``.
    """
    h = angular_head(embeddings, centers, labels, where)
    dtype = h.cos.dtype
    phi = _arc_margin(h.target, param(margin, dtype), easy_margin)
    loss = head_cross_entropy(h, phi, param(scale, dtype))
    return reduce(loss, reduction, weights=weights, where=where, valid=h.valid)


@register(_FAMILY, reference="Wang et al. 2018 (arXiv:1801.09414); PML CosFaceLoss")
@renamed(class_weights="centers")
def cosface_loss(
    embeddings: ArrayLike,
    centers: ArrayLike,
    labels: ArrayLike,
    *,
    scale: ArrayLike = 64.0,
    margin: ArrayLike = 0.35,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""CosFace (large margin cosine loss): an additive cosine margin on the target class.

    .. math::
       \ell_i = -\log \frac{e^{s (\cos\theta_{y_i} - m)}}{e^{s (\cos\theta_{y_i} - m)}
       + \sum_{j \ne y_i} e^{s \cos\theta_j}}

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      centers: ``[dim, classes]`` class centres (normalised inside); the
        deprecated keyword ``class_weights=`` still works, with a ``DeprecationWarning``.
      labels: ``[batch]`` integer classes; ``-1`` ignores the example.
      scale: :math:`s`; float or traced array.
      margin: :math:`m`; float or traced array.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output's shape; masked
        entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` per-example losses for
      ``"none"`` (0 where ignored).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> w = jnp.eye(2)
      >>> jaxloss.cosface_loss(jnp.array([[1.0, 0.0], [0.0, 1.0]]), w, jnp.array([0, 1]), scale=4.0)
      Array(0.07164478, dtype=float32)

    References:
      H. Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face
      Recognition", CVPR 2018, https://arxiv.org/abs/1801.09414;
      pytorch-metric-learning ``CosFaceLoss``.
    """
    h = angular_head(embeddings, centers, labels, where)
    dtype = h.cos.dtype
    loss = head_cross_entropy(h, h.target - param(margin, dtype), param(scale, dtype))
    return reduce(loss, reduction, weights=weights, where=where, valid=h.valid)


def _state_dtype(state: ArrayLike, compute: jnp.dtype) -> jnp.dtype:
    """New state keeps the dtype of the state passed in (stable ``scan`` carries)."""
    dtype = getattr(state, "dtype", None)
    return dtype if dtype is not None and jnp.issubdtype(dtype, jnp.floating) else compute


@register(_FAMILY, reference="Huang et al. 2020 (arXiv:2004.00288); official CurricularFace head")
@renamed(class_weights="centers")
def curricularface_loss(
    embeddings: ArrayLike,
    centers: ArrayLike,
    labels: ArrayLike,
    t: ArrayLike,
    *,
    scale: ArrayLike = 64.0,
    margin: ArrayLike = 0.5,
    momentum: ArrayLike = 0.01,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> tuple[jax.Array, jax.Array]:
    r"""CurricularFace: ArcFace margin plus adaptive re-weighting of hard negatives.

    With :math:`\phi` the ArcFace target logit (with insightface's fallback),
    the state is first updated from the batch,
    :math:`t' = (1 - \mu)\, t + \mu\, \overline{\cos\theta_{y}}` (mean over
    counted examples: label not ``-1``, not masked; unchanged if there is none;
    a stop-gradient), and the negative logits are

    .. math::
       N(t', \cos\theta_j) = \begin{cases} \cos\theta_j\,(t' + \cos\theta_j) &
       \cos\theta_j > \cos(\theta_{y} + m) \\ \cos\theta_j & \text{otherwise} \end{cases}
       \qquad
       \ell_i = -\log \frac{e^{s \phi}}{e^{s \phi} + \sum_{j \ne y_i} e^{s N(t', \cos\theta_j)}}

    as in the official implementation (the updated :math:`t'` is used in the
    same step).

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      centers: ``[dim, classes]`` class centres (normalised inside); the
        deprecated keyword ``class_weights=`` still works, with a ``DeprecationWarning``.
      labels: ``[batch]`` integer classes; ``-1`` ignores the example.
      t: scalar state (0 at the start of training, as the paper).
      scale: :math:`s`; float or traced array.
      margin: :math:`m` in radians; float or traced array.
      momentum: :math:`\mu` of the running mean of the target cosine.
      weights: optional weights broadcastable to the ``"none"`` output (not
        used by the state update).
      where: optional boolean mask of the ``"none"`` output's shape; masked
        entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      ``(loss, new_t)``: the loss is a scalar for ``"mean"``/``"sum"`` and
      ``[batch]`` for ``"none"``; ``new_t`` is a scalar with the dtype of ``t``
      (the compute dtype for a Python number), without gradient.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> w = jnp.eye(2)
      >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> loss, t = jaxloss.curricularface_loss(x, w, jnp.array([0, 1]), 0.0, scale=4.0)
      >>> loss, t
      (Array(0.02944922, dtype=float32), Array(0.01, dtype=float32))

    References:
      Y. Huang et al., "CurricularFace: Adaptive Curriculum Learning Loss for
      Deep Face Recognition", CVPR 2020, https://arxiv.org/abs/2004.00288;
      the official implementation (``HuangYG123/CurricularFace``, ``head.py``).
    """
    h = angular_head(embeddings, centers, labels, where)
    dtype = h.cos.dtype
    m = param(margin, dtype)
    mu = param(momentum, dtype)
    t_in = param(t, dtype)
    contracts.rank(t_in, 0, "t", "a scalar state")
    count = jnp.sum(h.counted)
    batch_mean = jnp.sum(jnp.where(h.counted, h.target, 0.0)) / jnp.maximum(count, 1).astype(dtype)
    new_t = jax.lax.stop_gradient(jnp.where(count > 0, (1 - mu) * t_in + mu * batch_mean, t_in))
    cos_m = h.target * jnp.cos(m) - _sin(h.target) * jnp.sin(m)
    hard = h.cos > cos_m[:, None]
    others = jnp.where(hard, h.cos * (new_t + h.cos), h.cos)
    loss = head_cross_entropy(h, _arc_margin(h.target, m, False), param(scale, dtype), others)
    out = reduce(loss, reduction, weights=weights, where=where, valid=h.valid)
    return out, new_t.astype(_state_dtype(t, dtype))


@register(_FAMILY, reference="Wen et al. 2016 (ECCV, center loss)")
def center_loss(
    embeddings: ArrayLike,
    centers: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: ArrayLike = 0.5,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> tuple[jax.Array, jax.Array]:
    r"""Center loss: squared distance of each embedding to its class centre, and the centre update.

    .. math::
       \ell_i = \tfrac12 \lVert x_i - c_{y_i} \rVert^2, \qquad
       \Delta c_j = \frac{\sum_{i: y_i = j} (c_j - x_i)}{1 + n_j}, \qquad
       c_j \leftarrow c_j - \alpha\, \Delta c_j

    ``"mean"`` averages :math:`\ell_i` over the examples; the paper's
    :math:`L_C = \tfrac12 \sum_i \lVert x_i - c_{y_i} \rVert^2` is ``"sum"``.
    The returned centres follow the paper's update rule (stop-gradient; counted
    examples only: label not ``-1`` and not masked; ``weights`` are not used).
    The loss is differentiable w.r.t. ``centers`` as well, for those who learn
    the centres by gradient instead (then ignore ``new_centers``).

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      centers: ``[classes, dim]`` class centres (the state).
      labels: ``[batch]`` integer classes; ``-1`` ignores the example.
      alpha: centre learning rate :math:`\alpha`; float or traced array.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output's shape; masked
        entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      ``(loss, new_centers)``: the loss is a scalar for ``"mean"``/``"sum"`` and
      ``[batch]`` for ``"none"``; ``new_centers`` has the shape and dtype of
      ``centers`` (NaN if a label is out of range under ``jit``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [3.0, 0.0]])
      >>> loss, c = jaxloss.center_loss(x, jnp.zeros((1, 2)), jnp.array([0, 0]))
      >>> loss, c
      (Array(2.5, dtype=float32), Array([[0.6666667, 0.       ]], dtype=float32))

    References:
      Y. Wen, K. Zhang, Z. Li, Y. Qiao, "A Discriminative Feature Learning
      Approach for Deep Face Recognition", ECCV 2016,
      https://doi.org/10.1007/978-3-319-46478-7_31.
    """
    batch = head_batch(embeddings, labels, centers, "centers", "[classes, dim]", where)
    x, c, safe, counted, bad = (
        batch.embeddings,
        batch.matrix,
        batch.labels,
        batch.counted,
        batch.bad,
    )
    classes = c.shape[0]
    own = c[safe]
    loss = poison(0.5 * jnp.sum(jnp.square(x - own), axis=-1), bad)
    n = jax.ops.segment_sum(counted.astype(c.dtype), safe, num_segments=classes)
    delta = jax.ops.segment_sum(
        jnp.where(counted[:, None], own - x, 0.0), safe, num_segments=classes
    )
    new = c - param(alpha, c.dtype) * delta / (1.0 + n)[:, None]
    new = jnp.where(jnp.any(bad), jnp.asarray(jnp.nan, c.dtype), new)
    new = jax.lax.stop_gradient(new).astype(jnp.asarray(centers).dtype)
    return reduce(loss, reduction, weights=weights, where=where, valid=batch.valid), new


# --------------------------------------------------------------------------- sub-center ArcFace


@register(
    _FAMILY, reference="Deng et al. 2020 (ECCV, sub-center ArcFace); PML SubCenterArcFaceLoss"
)
def sub_center_arcface_loss(
    embeddings: ArrayLike,
    centers: ArrayLike,
    labels: ArrayLike,
    *,
    sub_centers: int = 3,
    scale: ArrayLike = 64.0,
    margin: ArrayLike = 0.5,
    easy_margin: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Sub-center ArcFace: ArcFace on the cosine to the nearest of ``K`` sub-centres per class.

    .. math::
       \cos\theta_j = \max_{k} \cos(x, w_{jk}), \qquad
       \ell_i = -\log \frac{e^{s \phi(\theta_{y_i})}}{e^{s \phi(\theta_{y_i})}
       + \sum_{j \ne y_i} e^{s \cos\theta_j}}

    with :math:`\phi` the ArcFace target logit of :func:`arcface_loss` (insightface's
    fallback :math:`\cos\theta - m \sin m` where :math:`\theta + m > \pi`, as PML's
    ``ArcFaceLoss``). The gradient of the max goes to the argmax sub-centre (the first
    one on ties). Use :func:`sub_center_outliers` to find the samples to drop once the
    sub-centres have formed (the paper's second stage).

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      centers: ``[dim, classes * sub_centers]`` sub-centres, class-major: columns
        ``c * K ... c * K + K - 1`` belong to class ``c`` (PML's ``W``); normalised inside.
      labels: ``[batch]`` integer classes; ``-1`` ignores the example.
      sub_centers: :math:`K`, a static positive int.
      scale: :math:`s`; float or traced array.
      margin: :math:`m` in radians; float or traced array. PML's default is 28.6° (0.499 rad).
      easy_margin: margin only for :math:`\cos\theta > 0` (insightface; PML has no such option).
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output's shape; masked
        entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"`` (the mean over non-ignored examples);
      ``[batch]`` per-example losses for ``"none"`` (0 where ignored).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> w = jnp.array([[1.0, 0.0, 0.0, -1.0], [0.0, 1.0, 1.0, 0.0]])  # 2 classes x 2 sub-centres
      >>> x = jnp.array([[0.0, 1.0], [-1.0, 0.1]])
      >>> jaxloss.sub_center_arcface_loss(x, w, jnp.array([0, 1]), sub_centers=2, scale=4.0)
      Array(0.5105051, dtype=float32)

    References:
      J. Deng, J. Guo, T. Liu, M. Gong, S. Zafeiriou, "Sub-center ArcFace: Boosting Face
      Recognition by Large-Scale Noisy Web Faces", ECCV 2020,
      https://doi.org/10.1007/978-3-030-58621-8_43; pytorch-metric-learning
      ``SubCenterArcFaceLoss`` (its ``W`` has this ``[dim, classes * K]`` layout).
    """
    contracts.bounded(scale, "scale", gt=0)
    h = angular_head(embeddings, centers, labels, where, sub_centers)
    dtype = h.cos.dtype
    phi = _arc_margin(h.target, param(margin, dtype), easy_margin)
    loss = head_cross_entropy(h, phi, param(scale, dtype))
    return reduce(loss, reduction, weights=weights, where=where, valid=h.valid)


def sub_center_outliers(
    embeddings: ArrayLike,
    centers: ArrayLike,
    labels: ArrayLike,
    *,
    sub_centers: int = 3,
    threshold: ArrayLike = 1.309,
) -> tuple[jax.Array, jax.Array]:
    r"""The samples far from their class's dominant sub-centre (sub-center ArcFace, stage 2).

    For each class, every sample of it picks its nearest sub-centre; the *dominant*
    sub-centre is the one picked most often (the first on ties). A sample is an outlier
    when its cosine to its class's dominant sub-centre is below :math:`\cos(\text{threshold})`.
    Nothing here is differentiated (a stop-gradient).

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      centers: ``[dim, classes * sub_centers]`` class-major sub-centres, as in
        :func:`sub_center_arcface_loss`.
      labels: ``[batch]`` integer classes; ``-1`` ignores the example (never an outlier).
      sub_centers: :math:`K`, a static positive int.
      threshold: the angle in radians; PML's default is 75° (1.309 rad).

    Returns:
      ``(outlier_mask, dominant_centers)``: a ``[batch]`` boolean mask (PML's
      ``get_outliers`` returns the index list ``jnp.nonzero(outlier_mask)``), and the
      ``[dim, classes]`` dominant sub-centres in the dtype of ``centers`` (for a class
      absent from the batch, its first sub-centre; PML leaves that column uninitialised).
      An out-of-range label under ``jit`` marks its sample as neither counted nor an outlier.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> w = jnp.array([[1.0, 0.0, 0.0, -1.0], [0.0, 1.0, 1.0, 0.0]])
      >>> x = jnp.array([[1.0, 0.1], [1.0, 0.0], [-0.2, -1.0]])
      >>> mask, dominant = jaxloss.sub_center_outliers(x, w, jnp.array([0, 0, 0]), sub_centers=2)
      >>> mask
      Array([False, False,  True], dtype=bool)

    References:
      J. Deng et al., "Sub-center ArcFace", ECCV 2020; pytorch-metric-learning
      ``SubCenterArcFaceLoss.get_outliers``.
    """
    with contracts.calling("sub_center_outliers"):
        return _outliers(embeddings, centers, labels, sub_centers, threshold)


def _outliers(
    embeddings: ArrayLike,
    centers: ArrayLike,
    labels: ArrayLike,
    sub_centers: int,
    threshold: ArrayLike,
) -> tuple[jax.Array, jax.Array]:
    classes = _check_sub_centers(embeddings, centers, sub_centers)
    first = jnp.asarray(centers)[:, ::sub_centers]
    batch = head_batch(embeddings, labels, first, "centers", "[dim, classes]", None)
    full = jax.lax.stop_gradient(jnp.asarray(centers, batch.matrix.dtype))
    x = jax.lax.stop_gradient(batch.embeddings)
    cos = (l2_normalize(x) @ l2_normalize(full, axis=0)).reshape(x.shape[0], classes, sub_centers)
    own = jnp.take_along_axis(cos, batch.labels[:, None, None], axis=1)[:, 0]  # [batch, K]
    counted = batch.valid & ~batch.bad
    nearest = jax.nn.one_hot(jnp.argmax(own, axis=-1), sub_centers, dtype=jnp.int32)
    votes = jax.ops.segment_sum(
        jnp.where(counted[:, None], nearest, 0), batch.labels, num_segments=classes
    )
    dominant = jnp.argmax(votes, axis=-1).astype(
        jnp.int32
    )  # [classes]; first on ties, 0 for absent classes
    to_dominant = pick(own, dominant[batch.labels])
    cut = jnp.cos(param(threshold, full.dtype))
    columns = jnp.arange(classes, dtype=jnp.int32) * sub_centers + dominant
    dominant_centers = full[:, columns].astype(jnp.asarray(centers).dtype)
    return counted & (to_dominant < cut), dominant_centers
