"""Contract specs for the clustering family."""

import numpy as np

from . import Spec, args, normal
from .laws import both, replace, rows

_SIZES = "independent sets of points / items, so their sizes need not match"


def _graph(rng, scale=1.0):
    w = rng.uniform(0, 1, (5, 5)).astype(np.float32)
    w = (w + w.T) / 2
    np.fill_diagonal(w, 0)
    return (scale * rng.standard_normal((5, 2))).astype(np.float32), w


def _nodes(args, rng):
    p = rng.permutation(len(args[0]))
    return args[0][p], args[1][p][:, p]


SPECS = {
    "kmeans_loss": Spec(
        make=args(normal(6, 2), normal(3, 2)), extreme=args(normal(6, 2, scale=1e3), normal(3, 2)),
        bad=args(normal(6, 2), normal(3, 3)), diff=(0, 1),
        nonnegative=True,
        zero_at=lambda a: replace(a, a0=a[1][np.arange(len(a[0])) % len(a[1])]),
        permuted=both(rows(0), rows(1)),
        accepts={(0, "batch_short"): _SIZES, (1, "batch_short"): _SIZES},
    ),
    # One total (cut + orthogonality); "none" gives per-node cut terms without the penalty.
    "spectral_clustering_loss": Spec(
        make=_graph, extreme=lambda rng: _graph(rng, 1e3), bad=lambda rng: (_graph(rng)[0], np.ones((4, 4), np.float32)),
        masks=False, kwargs={"orthogonality": 0.5},
        nonnegative=True, permuted=_nodes, numeric=(1,), shard=False,
    ),
}
