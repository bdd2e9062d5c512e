"""Regularisers of embeddings and of class matrices, pytorch-metric-learning
semantics: ``LpRegularizer``, ``ZeroMeanRegularizer``,
``CenterInvariantRegularizer``, ``RegularFaceRegularizer`` and
``SparseCentersRegularizer``.

PML attaches these to a loss (``embedding_regularizer=``, ``weight_regularizer=``)
and adds them with a weight (``embedding_reg_weight``, ``weight_reg_weight``);
here they are losses of their own, added with :func:`jaxloss.weighted_sum` or by
hand. Class matrices are ``[dim, classes]`` (the ``centers`` of the margin heads;
PML passes its ``W.t()``, ``[classes, dim]``).
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import abs0, is_traced, l2_normalize, safe_sqrt, upcast
from .._src.reduce import check_reduction, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._mining import _lp_norm, check_p, raise_power

__all__ = [
    "center_invariant_regularization",
    "embedding_norm_regularization",
    "regular_face_regularization",
    "sparse_centers_regularization",
    "zero_mean_regularization",
]

_FAMILY = "embedding"


def _rows(x: ArrayLike, what: str, hint: str) -> jax.Array:
    contracts.floating(**{what: x})
    contracts.rank(x, 2, what, hint)
    (out,) = upcast(x)
    return out


def _centers(centers: ArrayLike) -> jax.Array:
    """The ``[dim, classes]`` class matrix as ``[classes, dim]`` rows, upcast."""
    return _rows(centers, "centers", "[dim, classes]").T


# --------------------------------------------------------------------------- embeddings


@register(_FAMILY, reference="pytorch-metric-learning LpRegularizer")
def embedding_norm_regularization(
    embeddings: ArrayLike,
    *,
    p: float = 2.0,
    power: ArrayLike = 1.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""The ``p``-norm of each embedding raised to ``power`` (PML ``LpRegularizer``).

    .. math::
       \ell_i = \lVert x_i \rVert_p^{\,\text{power}}

    The mean over rows is PML's value (its ``MeanReducer``); add it to a loss
    with the weight PML calls ``embedding_reg_weight``. The norm of a zero row
    has a zero gradient.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      p: the norm degree (a Python number >= 1; ``float("inf")`` allowed).
      power: the exponent (> 0); float or traced array.
      weights: optional ``[batch]`` row weights.
      where: optional boolean ``[batch]`` row mask.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[batch]`` per-row terms for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.embedding_norm_regularization(jnp.array([[3.0, 4.0], [0.0, 1.0]]))
      Array(3., dtype=float32)

    References:
      pytorch-metric-learning ``LpRegularizer(p=2, power=1)``.
    """
    check_p(p, power)
    check_reduction(reduction)
    x = _rows(embeddings, "embeddings", "[batch, dim]")
    loss = raise_power(_lp_norm(x, p), power)
    return reduce(loss, reduction, weights=weights, where=where)


@register(_FAMILY, reference="pytorch-metric-learning ZeroMeanRegularizer")
def zero_mean_regularization(
    embeddings: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""The absolute sum of each embedding's entries (PML ``ZeroMeanRegularizer``).

    .. math::
       \ell_i = \Big|\sum_d x_{id}\Big|

    The mean over rows is PML's value. The derivative of :math:`|\cdot|` at 0
    is 0, as in PyTorch.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      weights: optional ``[batch]`` row weights.
      where: optional boolean ``[batch]`` row mask.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[batch]`` per-row terms for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.zero_mean_regularization(jnp.array([[1.0, -3.0], [2.0, 0.0]]))
      Array(2., dtype=float32)

    References:
      pytorch-metric-learning ``ZeroMeanRegularizer``.
    """
    check_reduction(reduction)
    x = _rows(embeddings, "embeddings", "[batch, dim]")
    return reduce(abs0(jnp.sum(x, axis=1)), reduction, weights=weights, where=where)


# --------------------------------------------------------------------------- class matrices


@register(_FAMILY, reference="pytorch-metric-learning CenterInvariantRegularizer")
def center_invariant_regularization(
    centers: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Equal squared norms of the class centres (PML ``CenterInvariantRegularizer``).

    .. math::
       \ell_c = \tfrac14 \big(\lVert w_c \rVert^2 - \tfrac1C \textstyle\sum_{c'} \lVert w_{c'} \rVert^2\big)^2

    The mean over classes is PML's value; the gradient also flows through the
    mean norm, as in PML.

    Args:
      centers: ``[dim, classes]`` class centres (the columns).
      weights: optional ``[classes]`` class weights.
      where: optional boolean ``[classes]`` class mask (a masked class still
        enters the mean norm).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[classes]`` per-class terms for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.center_invariant_regularization(jnp.array([[1.0, 3.0], [0.0, 0.0]]))
      Array(4., dtype=float32)

    References:
      Y. Wu, H. Liu, J. Li, Y. Fu, "Deep Face Recognition with Center Invariant
      Loss", ACM MM Workshops 2017; pytorch-metric-learning
      ``CenterInvariantRegularizer`` (given ``W.t()``).
    """
    check_reduction(reduction)
    w = _centers(centers)
    sq = jnp.sum(jnp.square(w), axis=1)
    loss = jnp.square(sq - jnp.mean(sq)) / 4.0
    return reduce(loss, reduction, weights=weights, where=where)


@register(_FAMILY, reference="pytorch-metric-learning RegularFaceRegularizer (Zhao et al. 2019)")
def regular_face_regularization(
    centers: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Exclusive regularisation of class centres (RegularFace, PML ``RegularFaceRegularizer``).

    Each class's largest cosine to another class centre:

    .. math::
       \ell_c = \cos(w_c, w_{j^*(c)}), \qquad j^*(c) = \arg\max_{j \ne c} \cos(w_c, w_j)

    The choice of :math:`j^*` carries no gradient (PML selects it under
    ``no_grad``); ties go to the lowest index. With a single class its own
    centre is the only candidate (PML's behaviour: 1). The mean over classes is
    PML's value.

    Args:
      centers: ``[dim, classes]`` class centres (the columns).
      weights: optional ``[classes]`` class weights.
      where: optional boolean ``[classes]`` class mask.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[classes]`` per-class terms for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.regular_face_regularization(jnp.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]]))
      Array(0., dtype=float32)

    References:
      K. Zhao, J. Xu, M.-M. Cheng, "RegularFace: Deep Face Recognition via
      Exclusive Regularization", CVPR 2019; pytorch-metric-learning
      ``RegularFaceRegularizer`` (given ``W.t()``).
    """
    check_reduction(reduction)
    w = l2_normalize(_centers(centers))
    k = w.shape[0]
    cos = jnp.matmul(w, w.T, precision="highest")
    others = jnp.where(jnp.eye(k, dtype=bool), -jnp.inf, jax.lax.stop_gradient(cos))
    j = jnp.argmax(others, axis=1)
    loss = jnp.take_along_axis(cos, j[:, None], axis=1)[:, 0]
    return reduce(loss, reduction, weights=weights, where=where)


@register(_FAMILY, reference="pytorch-metric-learning SparseCentersRegularizer (Qian et al. 2019)")
def sparse_centers_regularization(
    centers: ArrayLike,
    *,
    centers_per_class: int,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""The SoftTriple centre regulariser (PML ``SparseCentersRegularizer``).

    With :math:`K` = ``centers_per_class`` centres per class (class-major
    columns of ``centers``, the layout of :func:`jaxloss.soft_triple_loss`) and
    :math:`s_{kl}` the cosine of two centres of class :math:`c`:

    .. math::
       \ell_c = \frac{1}{K(K-1)} \sum_{k < l} \sqrt{2 + \epsilon - \min(2 s_{kl}, 2)}

    with :math:`\epsilon` the dtype's smallest normal number (PML's
    ``small_val``); the square root has a zero gradient where its argument
    rounds to 0 (PML's is infinite there). The mean over classes is PML's value,
    :math:`\sum_{\text{pairs}} \sqrt{\cdot} / (2 \cdot \#\text{pairs})` (its
    ``DivisorReducer``); ``"none"`` groups the pairs by class.

    Args:
      centers: ``[dim, classes * centers_per_class]`` centres, class-major.
      centers_per_class: :math:`K`, a Python int >= 2 (PML asserts ``> 1``).
      weights: optional ``[classes]`` class weights.
      where: optional boolean ``[classes]`` class mask.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[classes]`` per-class terms for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> w = jnp.array([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]])
      >>> jaxloss.sparse_centers_regularization(w, centers_per_class=2)
      Array(1., dtype=float32)

    References:
      Q. Qian et al., "SoftTriple Loss: Deep Metric Learning Without Triplet
      Sampling", ICCV 2019, https://arxiv.org/abs/1909.05235;
      pytorch-metric-learning ``SparseCentersRegularizer`` (given ``fc.t()``).
      Deliberate difference: PML's ``"none"`` is per pair; here it is per class
      (the same mean).
    """
    if (
        is_traced(centers_per_class)
        or not isinstance(centers_per_class, numbers.Integral)
        or isinstance(centers_per_class, bool)
        or centers_per_class < 2
    ):
        raise ValueError(
            f"{function_name()}: centers_per_class must be a Python int >= 2, got {centers_per_class!r}"
        )
    check_reduction(reduction)
    w = _centers(centers)
    total, dim = w.shape
    k = int(centers_per_class)
    if total % k:
        raise ValueError(
            f"{function_name()}: centers has shape {tuple(np.shape(centers))}; its "
            f"{total} columns are not a multiple of centers_per_class={k} (expected "
            "[dim, classes * centers_per_class], class-major)"
        )
    if dim == 0:
        raise ValueError(
            f"{function_name()}: centers has shape {tuple(np.shape(centers))}; the centres need "
            "a dimension >= 1 (a zero vector has no direction to compare)"
        )
    w = l2_normalize(w).reshape(total // k, k, dim)
    s = jnp.einsum("ckd,cld->ckl", w, w, precision="highest")
    pairs = jnp.triu(jnp.ones((k, k), dtype=bool), k=1)
    tiny = jnp.finfo(w.dtype).tiny
    # Safe sqrt: in float32 2 + tiny rounds to 2, so the radicand can be exactly 0.
    root = safe_sqrt(2.0 + tiny - jnp.minimum(2.0 * s, 2.0))
    loss = jnp.sum(jnp.where(pairs, root, jnp.zeros((), w.dtype)), axis=(1, 2)) / (k * (k - 1))
    return reduce(loss, reduction, weights=weights, where=where)
