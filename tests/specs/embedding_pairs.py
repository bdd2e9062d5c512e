"""Contract specs for the pair / triplet embedding losses."""

import numpy as np

from . import LABEL_PROBES, Spec, accepting, args, integers, normal
from .laws import prototypes, replace, rows, swap

B, D = 6, 4


def _pair_labels(rng):
    # One positive per anchor: the per-anchor normalisers (pair counts) are 1.
    return np.array([0, 0, 1, 1, 2, 2], np.int32)[rng.permutation(B)]


def _signs(*shape):
    return lambda rng: np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0).astype(np.float32)


_labelled = args(normal(B, D), _pair_labels)
_labelled_extreme = args(normal(B, D, scale=1e4), _pair_labels)
_labelled_bad = args(normal(B, D), integers(B - 1, high=3))
_IDS = accepting("labels are identities, not class indices: any integer is a valid label", (1,), LABEL_PROBES)


def _clustered(a):
    return replace(a, a0=prototypes(a[1], a[0].shape[1]))


def _batch(**kwargs):
    # A function of the set of labelled examples: any labels, any order.
    return Spec(make=_labelled, extreme=_labelled_extreme, bad=_labelled_bad, kwargs=kwargs, nonnegative=True,
                zero_at=_clustered, permuted=rows(0, 1), accepts=_IDS, numeric=(1,))

SPECS = {
    "contrastive_loss": Spec(
        make=args(normal(B, D), normal(B, D), lambda rng: rng.integers(0, 2, B).astype(np.float32)),
        extreme=args(normal(B, D, scale=1e4), normal(B, D, scale=1e-4), lambda rng: np.ones(B, np.float32)),
        bad=args(normal(B, D), normal(B, D + 1), normal(B)), diff=(0, 1), kwargs={"margin": 1.5},
        nonnegative=True, zero_at=lambda a: replace(a, a1=a[0], a2=np.ones_like(a[2])), symmetric=(swap, 1.0),
        numeric=(1, 2),
    ),
    # "mean" is the sum of two means over the non-zero positive / negative pair losses (PML),
    # not one weighted mean of the "none" matrix: tested in tests/test_embedding_pairs.py.
    "batch_contrastive_loss": _batch(pos_margin=0.1, neg_margin=1.5).with_(masks=False),
    "triplet_margin_loss": Spec(
        make=args(normal(B, D), normal(B, D), normal(B, D)),
        extreme=args(normal(B, D, scale=1e4), normal(B, D), normal(B, D, scale=1e-4)),
        bad=args(normal(B, D), normal(B, D), normal(B, D + 1)), diff=(0, 1, 2), kwargs={"margin": 2.0},
        nonnegative=True, zero_at=lambda a: replace(a, a1=a[0], a2=a[0] + 10),
    ),
    # Batch-hard: one term per anchor (every anchor of the spec data has a positive and a
    # negative), so the generic weights/where law holds; batch-all and semi-hard are
    # covered by the family file.
    "triplet_loss": _batch(margin=3.0),
    "margin_ranking_loss": Spec(
        make=args(normal(B), normal(B), _signs(B)), extreme=args(normal(B, scale=1e4), normal(B), _signs(B)),
        bad=args(normal(B), normal(B + 1), _signs(B)), diff=(0, 1), kwargs={"margin": 0.5},
        nonnegative=True, zero_at=lambda a: replace(a, a0=a[1] + 1.5 * a[2]),
        symmetric=(lambda a: replace(a, a0=a[1], a1=a[0], a2=-a[2]), 1.0), numeric=(1, 2),
    ),
    "cosine_embedding_loss": Spec(
        make=args(normal(B, D), normal(B, D), _signs(B)),
        extreme=args(normal(B, D, scale=1e4), normal(B, D, scale=1e-4), _signs(B)),
        bad=args(normal(B, D), normal(B, D), _signs(B + 1)), diff=(0, 1), kwargs={"margin": -0.5},
        nonnegative=True, zero_at=lambda a: replace(a, a1=a[2][:, None] * a[0]), symmetric=(swap, 1.0),
        numeric=(1, 2),
    ),
}
