"""Contract specs for the pair / triplet embedding losses."""

import numpy as np

from . import Spec, args, integers, normal

B, D = 6, 4


def _pair_labels(rng):
    # One positive per anchor: the per-anchor normalisers (pair counts) are 1.
    return np.array([0, 0, 1, 1, 2, 2], np.int32)[rng.permutation(B)]


def _signs(*shape):
    return lambda rng: np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0).astype(np.float32)


_labelled = args(normal(B, D), _pair_labels)
_labelled_extreme = args(normal(B, D, scale=1e4), _pair_labels)
_labelled_bad = args(normal(B, D), integers(B - 1, high=3))

SPECS = {
    "contrastive_loss": Spec(
        make=args(normal(B, D), normal(B, D), lambda rng: rng.integers(0, 2, B).astype(np.float32)),
        extreme=args(normal(B, D, scale=1e4), normal(B, D, scale=1e-4), lambda rng: np.ones(B, np.float32)),
        bad=args(normal(B, D), normal(B, D + 1), normal(B)), diff=(0, 1), kwargs={"margin": 1.5},
    ),
    # "mean" is the sum of two means over the non-zero positive / negative pair losses (PML),
    # not one weighted mean of the "none" matrix: tested in tests/test_embedding_pairs.py.
    "batch_contrastive_loss": Spec(
        make=_labelled, extreme=_labelled_extreme, bad=_labelled_bad, masks=False,
        kwargs={"pos_margin": 0.1, "neg_margin": 1.5},
    ),
    "triplet_margin_loss": Spec(
        make=args(normal(B, D), normal(B, D), normal(B, D)),
        extreme=args(normal(B, D, scale=1e4), normal(B, D), normal(B, D, scale=1e-4)),
        bad=args(normal(B, D), normal(B, D), normal(B, D + 1)), diff=(0, 1, 2), kwargs={"margin": 2.0},
    ),
    # Batch-hard: one term per anchor (every anchor of the spec data has a positive and a
    # negative), so the generic weights/where law holds; batch-all and semi-hard are
    # covered by the family file.
    "triplet_loss": Spec(make=_labelled, extreme=_labelled_extreme, bad=_labelled_bad, kwargs={"margin": 3.0}),
    "margin_ranking_loss": Spec(
        make=args(normal(B), normal(B), _signs(B)), extreme=args(normal(B, scale=1e4), normal(B), _signs(B)),
        bad=args(normal(B), normal(B + 1), _signs(B)), diff=(0, 1), kwargs={"margin": 0.5},
    ),
    "cosine_embedding_loss": Spec(
        make=args(normal(B, D), normal(B, D), _signs(B)),
        extreme=args(normal(B, D, scale=1e4), normal(B, D, scale=1e-4), _signs(B)),
        bad=args(normal(B, D), normal(B, D), _signs(B + 1)), diff=(0, 1), kwargs={"margin": -0.5},
    ),
}
