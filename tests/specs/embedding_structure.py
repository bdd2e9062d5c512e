"""Contract specs for the pair-structure embedding losses (multi-similarity, circle,
lifted structure, NCA, angular, tuplet margin)."""

import numpy as np

from . import LABEL_PROBES, Spec, accepting, args, integers, normal
from .laws import prototypes, replace, rows

B, D = 6, 4


def _pair_labels(rng):
    # Every anchor has one positive and four negatives: every per-anchor term is counted.
    return np.array([0, 0, 1, 1, 2, 2], np.int32)[rng.permutation(B)]


_labelled = args(normal(B, D), _pair_labels)
_labelled_extreme = args(normal(B, D, scale=1e4), _pair_labels)
_labelled_bad = args(normal(B, D), integers(B - 1, high=3))
_IDS = accepting(
    "labels are identities, not class indices: any integer is a valid label", (1,), LABEL_PROBES
)


def _clustered(a):
    return replace(a, a0=prototypes(a[1], a[0].shape[1]))


def _batch(zero: bool = False, per_pair: bool = False, **kwargs):
    # A function of the set of labelled examples: any labels, any order. Per-pair losses
    # ("none" is [batch, batch], counted on the positive pairs only) do not follow the
    # generic weights/where law over the whole "none" matrix: tested in the family file.
    return Spec(
        make=_labelled,
        extreme=_labelled_extreme,
        bad=_labelled_bad,
        kwargs=kwargs,
        nonnegative=True,
        zero_at=_clustered if zero else None,
        permuted=rows(0, 1),
        accepts=_IDS,
        numeric=(1,),
        masks=not per_pair,
    )


SPECS = {
    "multi_similarity_loss": _batch(beta=10.0),
    # detach_weights=True (PML, the default) is deliberately not the gradient of the value, so
    # the finite-difference checks run on the Keras form; PML's is checked against its goldens.
    "circle_loss": _batch(gamma=8.0, detach_weights=False),
    "generalized_lifted_structure_loss": _batch(zero=True, neg_margin=2.0),
    "lifted_structure_loss": _batch(zero=True, per_pair=True, neg_margin=2.0),
    "nca_loss": _batch(softmax_scale=0.5),
    "angular_loss": _batch(per_pair=True),
    "tuplet_margin_loss": _batch(per_pair=True, scale=8.0),
}
