"""Contract specs for the clustering family."""

import numpy as np

from . import Spec, args, normal


def _graph(rng, scale=1.0):
    w = rng.uniform(0, 1, (5, 5)).astype(np.float32)
    w = (w + w.T) / 2
    np.fill_diagonal(w, 0)
    return (scale * rng.standard_normal((5, 2))).astype(np.float32), w


SPECS = {
    "kmeans_loss": Spec(
        make=args(normal(6, 2), normal(3, 2)), extreme=args(normal(6, 2, scale=1e3), normal(3, 2)),
        bad=args(normal(6, 2), normal(3, 3)), diff=(0, 1),
    ),
    # One total (cut + orthogonality); "none" gives per-node cut terms without the penalty.
    "spectral_clustering_loss": Spec(
        make=_graph, extreme=lambda rng: _graph(rng, 1e3), bad=lambda rng: (_graph(rng)[0], np.ones((4, 4), np.float32)),
        masks=False, kwargs={"orthogonality": 0.5},
    ),
}
