"""Contract specs for the ranking/histogram embedding losses (FastAP, Smooth-AP,
histogram) and the PML regularisers (embedding norm, zero mean, centre invariant,
RegularFace, sparse centres)."""

import numpy as np

from . import LABEL_PROBES, Spec, accepting, args, integers, normal
from .laws import prototypes, replace, rows

B, D = 6, 4
C = 5  # classes of the centre matrices


def _pair_labels(rng):
    # Every query has one positive and four negatives.
    return np.array([0, 0, 1, 1, 2, 2], np.int32)[rng.permutation(B)]


_IDS = accepting(
    "labels are identities, not class indices: any integer is a valid label", (1,), LABEL_PROBES
)
_ANY_ROWS = accepting("any number of rows is a valid batch", (0,), ("batch_short",))
_ANY_DIM = accepting("any embedding dimension is valid (axis 0 is dim)", (0,), ("batch_short",))


def _clustered(a):
    return replace(a, a0=prototypes(a[1], a[0].shape[1]))


def _batch(zero_at_kwargs=None, **kwargs):
    return Spec(
        make=args(normal(B, D), _pair_labels),
        extreme=args(normal(B, D, scale=1e4), _pair_labels),
        bad=args(normal(B, D), integers(B - 1, high=3)),
        kwargs=kwargs,
        nonnegative=True,
        zero_at=_clustered,
        zero_at_kwargs=zero_at_kwargs or {},
        permuted=rows(0, 1),
        accepts=_IDS,
        numeric=(1,),
    )


def _embeddings(zero=None, nonnegative=True, **kwargs):
    return Spec(
        make=args(normal(B, D)),
        extreme=args(normal(B, D, scale=1e4)),
        bad=args(normal(B)),
        kwargs=kwargs,
        nonnegative=nonnegative,
        zero_at=zero,
        permuted=rows(0),
        accepts=_ANY_ROWS,
    )


def _centers(zero=None, nonnegative=True, permuted=True, make=None, **kwargs):
    make = make or normal(D, C)
    return Spec(
        make=args(make),
        extreme=args(lambda rng: 1e3 * make(rng)),
        bad=args(normal(D)),
        kwargs=kwargs,
        nonnegative=nonnegative,
        zero_at=zero,
        permuted=rows(0, axis=1) if permuted else None,
        accepts=_ANY_DIM,
    )


def _equal_norms(a):
    w = np.zeros((D, C), np.float32)
    w[np.arange(C) % D, np.arange(C)] = 2.0
    return (w,)


def _zero_sum_rows(a):
    x = a[0].copy()
    return (x - x.mean(axis=1, keepdims=True),)


SPECS = {
    "fast_ap_loss": _batch(num_bins=6),
    # A moderate temperature keeps the sigmoids resolvable by the finite-difference checks;
    # the zero (separated classes) needs a sharp one.
    "smooth_ap_loss": _batch(temperature=0.5, zero_at_kwargs={"temperature": 0.01}),
    "histogram_loss": _batch(num_bins=10),
    "embedding_norm_regularization": _embeddings(zero=lambda a: (np.zeros_like(a[0]),)),
    "zero_mean_regularization": _embeddings(zero=_zero_sum_rows),
    "center_invariant_regularization": _centers(zero=_equal_norms),
    "regular_face_regularization": _centers(
        nonnegative="a cosine: negative when every other centre points away"
    ),
    "sparse_centers_regularization": _centers(
        make=normal(D, 2 * 3), permuted=False, centers_per_class=3
    ),
}
