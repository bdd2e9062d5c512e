"""Clustering losses against SciPy (vector quantisation, Laplacian eigenvalues)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import scipy.cluster.vq
import scipy.linalg

import jaxloss


def test_kmeans_hard_matches_scipy_vq():
    rng = np.random.default_rng(0)
    points = rng.standard_normal((40, 3)).astype(np.float32)
    centroids = rng.standard_normal((4, 3)).astype(np.float32)
    _, dist = scipy.cluster.vq.vq(points, centroids)
    np.testing.assert_allclose(jaxloss.kmeans_loss(points, centroids, reduction="none"), dist**2, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(jaxloss.kmeans_loss(points, centroids, reduction="sum"), np.sum(dist**2), rtol=1e-5)


def test_kmeans_gradient_moves_centroids_to_cluster_means():
    points = jnp.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [12.0, 10.0]])
    centroids = jnp.array([[0.5, 0.5], [11.0, 9.0]])
    grad = jax.grad(lambda c: jaxloss.kmeans_loss(points, c, reduction="sum"))(centroids)
    # d/dc sum ||x - c||^2 = 2 (n c - sum x): zero at the cluster means.
    np.testing.assert_allclose(grad, 2 * (2 * centroids - jnp.array([[2.0, 0.0], [22.0, 20.0]])), rtol=1e-6)


def test_soft_kmeans_tends_to_hard_and_reaches_every_centroid():
    rng = np.random.default_rng(1)
    points, centroids = rng.standard_normal((20, 2)), rng.standard_normal((3, 2))
    hard = jaxloss.kmeans_loss(points.astype(np.float32), centroids.astype(np.float32))
    soft = jaxloss.kmeans_loss(points.astype(np.float32), centroids.astype(np.float32), soft=True, temperature=1e-4)
    np.testing.assert_allclose(soft, hard, rtol=1e-4)
    grad = jax.grad(lambda c: jaxloss.kmeans_loss(points, c, soft=True))(centroids)
    assert np.all(np.abs(grad) > 0)


def _blocks():
    w = np.zeros((6, 6))
    w[:3, :3] = 1.0
    w[3:, 3:] = 2.0
    np.fill_diagonal(w, 0.0)
    return w


def test_spectral_zero_cut_for_perfect_partition_of_disconnected_blocks():
    w = _blocks()
    degree = w.sum(1)
    indicator = np.stack([np.r_[1, 1, 1, 0, 0, 0], np.r_[0, 0, 0, 1, 1, 1]], axis=1).astype(float)
    for normalized, y in ((True, indicator * np.sqrt(degree)[:, None]), (False, indicator)):
        y = y / np.linalg.norm(y, axis=0)
        value = jaxloss.spectral_clustering_loss(y.astype(np.float32), w.astype(np.float32), normalized=normalized)
        np.testing.assert_allclose(value, 0.0, atol=1e-5)


def test_spectral_cut_is_the_laplacian_quadratic_form(x64):
    rng = np.random.default_rng(2)
    w = rng.uniform(size=(7, 7))
    w = (w + w.T) / 2
    np.fill_diagonal(w, 0)
    d = w.sum(1)
    laplacian_sym = np.eye(7) - w / np.sqrt(np.outer(d, d))
    eigenvalues, eigenvectors = scipy.linalg.eigh(laplacian_sym)
    y = eigenvectors[:, :2]  # orthonormal: the penalty vanishes; the cut is the eigenvalue sum
    np.testing.assert_allclose(jaxloss.spectral_clustering_loss(y, w), eigenvalues[:2].sum(), rtol=1e-10, atol=1e-12)
    laplacian = np.diag(d) - w
    y = rng.standard_normal((7, 3))
    expected = np.trace(y.T @ laplacian @ y) + 0.3 * np.sum((y.T @ y - np.eye(3)) ** 2)
    np.testing.assert_allclose(
        jaxloss.spectral_clustering_loss(y, w, normalized=False, orthogonality=0.3), expected, rtol=1e-10
    )
