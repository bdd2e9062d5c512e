"""Clustering losses: k-means SSE (hard or soft assignment) and the spectral relaxation."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.numerics import param, upcast
from .._src.reduce import broadcast, check_reduction, reduce, sanitize
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["kmeans_loss", "spectral_clustering_loss"]

_FAMILY = "clustering"


def _squared_distances(x: jax.Array, c: jax.Array) -> jax.Array:
    """``||x_i - c_k||^2`` as ``[N, K]`` without a ``[N, K, D]`` tensor."""
    d = jnp.sum(x**2, axis=-1)[:, None] + jnp.sum(c**2, axis=-1)[None, :] - 2 * x @ c.T
    # The expansion can dip below 0 by rounding; distances are non-negative.
    return jnp.maximum(d, 0)


@register(_FAMILY, reference="k-means objective (scipy.cluster.vq / sklearn inertia_)", aliases=("kmeans",))
def kmeans_loss(
    points: ArrayLike, centroids: ArrayLike, *, soft: bool = False,
    temperature: float | ArrayLike = 1.0,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""k-means objective: squared distance of each point to its centroid.

    .. math::
       \ell_i = \min_k \lVert x_i - c_k \rVert^2 \quad\text{(hard)},\qquad
       \ell_i = \sum_k \operatorname{softmax}_k(-d_{ik} / T)\, d_{ik} \quad\text{(soft)}

    ``reduction="sum"`` is the SSE (scikit-learn's ``inertia_``); the soft form
    tends to the hard one as ``T -> 0`` and gives every centroid a gradient.

    Args:
      points: ``[N, D]``.
      centroids: ``[K, D]``.
      soft: soft (differentiable) assignment instead of the nearest centroid.
      temperature: ``T`` of the soft assignment.
      weights: optional per-point weights ``[N]``.
      where: optional per-point mask ``[N]``.
      reduction: ``"mean"`` (default), ``"sum"`` (SSE) or ``"none"`` (per point).

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[N]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]])
      >>> jaxloss.kmeans_loss(x, jnp.array([[0.5, 0.0], [10.0, 1.0]]), reduction="sum")
      Array(1.5, dtype=float32)

    References:
      Lloyd, "Least squares quantization in PCM", 1982; soft assignment as in
      deep clustering (e.g. Fard et al. 2018, https://arxiv.org/abs/1806.10069).
    """
    contracts.bounded(temperature, "temperature", gt=0)
    contracts.rank(points, 2, "points", "expected [N, D]")
    contracts.rank(centroids, 2, "centroids", "expected [K, D]")
    contracts.shape_is(centroids, (None, jnp.shape(points)[1]), "centroids", "same feature size as points",
                        like={"points": points})
    contracts.floating(points=points, centroids=centroids)
    x, c = upcast(points, centroids)
    x = sanitize(x, None if where is None else broadcast(where, (x.shape[0],), "where", bool)[:, None])
    d = _squared_distances(x, c)
    if soft:
        loss = jnp.sum(jax.nn.softmax(-d / param(temperature, d.dtype), axis=-1) * d, axis=-1)
    else:
        loss = jnp.min(d, axis=-1)
    return reduce(loss, reduction, weights=weights, where=where)


@register(_FAMILY, reference="Shaham et al. 2018 (SpectralNet), arXiv:1801.01587", aliases=("spectral_loss",))
def spectral_clustering_loss(
    embeddings: ArrayLike, affinity: ArrayLike, *, normalized: bool = True,
    orthogonality: float | ArrayLike = 1.0, reduction: Reduction = "sum",
) -> jax.Array:
    r"""Spectral clustering relaxation (SpectralNet): the cut of an embedding plus
    an orthogonality penalty.

    .. math::
       \mathcal{L} = \tfrac12 \sum_{ij} W_{ij} \lVert \tilde y_i - \tilde y_j \rVert^2
       + \lambda \lVert Y^\top Y - I \rVert_F^2,\qquad
       \tilde y_i = y_i / \sqrt{d_i} \text{ (normalized) or } y_i

    With ``normalized=True`` the cut term is ``tr(Y^T L_sym Y)``, the
    normalised-cut relaxation (``L_sym = I - D^{-1/2} W D^{-1/2}``), else
    ``tr(Y^T L Y)`` with ``L = D - W``. Under ``Y^T Y = I`` its minimum is the sum
    of the smallest eigenvalues of the Laplacian, and a perfect partition of
    disconnected blocks has cut 0.

    Args:
      embeddings: ``Y``, ``[N, K]``.
      affinity: symmetric non-negative ``W``, ``[N, N]``.
      normalized: use the normalised Laplacian.
      orthogonality: ``lambda``, the weight of the orthogonality penalty.
      reduction: ``"sum"`` (default) and ``"mean"`` give the total; ``"none"`` gives
        the per-node cut terms ``[N]`` (without the penalty).

    Returns:
      A scalar, or ``[N]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> w = jnp.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
      >>> y = jnp.array([[1.0], [1.0], [0.0]]) / jnp.sqrt(2.0)
      >>> jaxloss.spectral_clustering_loss(y, w)
      Array(0., dtype=float32)

    References:
      Shaham et al., "SpectralNet: Spectral Clustering using Deep Neural
      Networks", ICLR 2018, https://arxiv.org/abs/1801.01587; Shi & Malik 2000.
    """
    check_reduction(reduction, own_rule=True)
    contracts.rank(embeddings, 2, "embeddings", "expected [N, K]")
    n = jnp.shape(embeddings)[0]
    contracts.shape_is(affinity, (n, n), "affinity", "expected [N, N] for N embeddings",
                        like={"embeddings": embeddings})
    contracts.floating(embeddings=embeddings)
    y, w = upcast(embeddings, affinity)
    if normalized:
        degree = jnp.sum(w, axis=1)
        # Isolated nodes (degree 0) have no edges to cut: scale them by 0, not 1/0.
        positive = degree > 0
        scaled = y * jnp.where(positive, jax.lax.rsqrt(jnp.where(positive, degree, 1)), 0)[:, None]
    else:
        scaled = y
    sq = jnp.sum(scaled**2, axis=1)
    per_node = 0.5 * jnp.sum(w * (sq[:, None] + sq[None, :] - 2 * scaled @ scaled.T), axis=1)
    if reduction == "none":
        return per_node
    eye = jnp.eye(y.shape[1], dtype=y.dtype)
    penalty = jnp.sum(jnp.square(y.T @ y - eye))
    return reduce(per_node, "sum") + param(orthogonality, y.dtype) * penalty
