"""Contract specs for the softmax / contrastive embedding losses and the margin heads."""

import numpy as np

from . import LABEL_PROBES, Spec, accepting, args, integers, normal
from .laws import both, each, relabel, replace, rows

B, D, C = 6, 4, 3


def _pair_labels(rng):
    return np.array([0, 0, 1, 1, 2, 2], np.int32)[rng.permutation(B)]


def _unit_rows(scale):
    return lambda rng: (scale * rng.standard_normal((B, D))).astype(np.float32)


_labelled = args(normal(B, D), _pair_labels)
_labelled_extreme = args(normal(B, D, scale=1e4), _pair_labels)
_labelled_bad = args(normal(B, D), integers(B - 1, high=3))
_IDS = accepting("labels are identities, not class indices: any integer is a valid label", (1,), LABEL_PROBES)

_head_args = args(normal(B, D), normal(D, C), integers(B, high=C))
_head_extreme = args(_unit_rows(1e4), normal(D, C, scale=1e-4), integers(B, high=C))
_head_bad = args(normal(B, D), normal(C, D + 1), integers(B, high=C))


def _curricular(rng):
    return (*_head_args(rng), np.float32(0.2))


def _curricular_extreme(rng):
    return (*_head_extreme(rng), np.float32(0.2))


def _curricular_bad(rng):
    return (*_head_bad(rng), np.float32(0.2))


def _center(rng):
    return normal(B, D)(rng), normal(C, D)(rng), integers(B, high=C)(rng)


def _center_extreme(rng):
    return normal(B, D, scale=1e4)(rng), normal(C, D)(rng), integers(B, high=C)(rng)


def _speakers(args, rng):
    e = args[0][rng.permutation(args[0].shape[0])]
    return (e[:, rng.permutation(e.shape[1])],)


def _centers(args, rng):
    args = rows(0, 2)(args, rng)
    return relabel(1, 2, axis=0)(args, rng)


def _head(**kwargs):
    # Renaming the classes permutes the columns of the class matrix.
    return Spec(make=_head_args, extreme=_head_extreme, bad=_head_bad, diff=(0, 1), kwargs=kwargs, nonnegative=True,
                permuted=relabel(1, 2, axis=1), numeric=(2,))


SPECS = {
    "infonce_loss": Spec(
        make=args(normal(B, D), normal(B, D)), extreme=args(normal(B, D, scale=1e4), normal(B, D)),
        bad=args(normal(B, D), normal(B, D + 1)), diff=(0, 1), kwargs={"temperature": 0.5, "symmetric": True},
        nonnegative=True, permuted=rows(0, 1),
    ),
    # Per-anchor sums over positive pairs; each anchor of the spec data has exactly one
    # positive, so the pair-count normaliser is 1 and the generic weights law holds.
    "ntxent": Spec(make=_labelled, extreme=_labelled_extreme, bad=_labelled_bad, kwargs={"temperature": 0.5},
                   nonnegative=True, permuted=rows(0, 1), accepts=_IDS, numeric=(1,)),
    "supervised_contrastive_loss": Spec(
        make=_labelled, extreme=_labelled_extreme, bad=_labelled_bad, kwargs={"temperature": 0.5},
        nonnegative=True, permuted=rows(0, 1), accepts=_IDS, numeric=(1,),
    ),
    "multiple_negatives_ranking_loss": Spec(
        make=args(normal(B, D), normal(B, D), normal(B, 2, D)),
        extreme=args(normal(B, D, scale=1e4), normal(B, D), normal(B, 2, D, scale=1e-4)),
        bad=args(normal(B, D), normal(B - 1, D), normal(B, 2, D)), diff=(0, 1, 2), kwargs={"scale": 5.0},
        nonnegative=True, permuted=both(rows(0, 1, 2), each(2, axis=1)),
        accepts={(2, "rank_down"): "[batch, k, dim] minus its batch axis is [m, dim]: negatives shared by every anchor"},
    ),
    "ge2e_loss": Spec(
        make=args(normal(3, 4, D)), extreme=args(normal(3, 4, D, scale=1e4)), bad=args(normal(3, D)),
        kwargs={"w": 3.0, "b": -1.0},
        nonnegative=True, permuted=_speakers, shard=False,
        accepts={(0, "batch_short"): "fewer speakers is a valid [speakers, utterances, dim] batch"},
    ),
    "arcface_loss": _head(scale=8.0, margin=0.3),
    "cosface_loss": _head(scale=8.0, margin=0.2),
    # The state t' (the batch mean of the target cosine) is a stop-gradient by design,
    # which finite differences see; and `where` removes examples from that batch mean,
    # so a masked example changes the others' losses (tested in the family file).
    "curricularface_loss": Spec(
        make=_curricular, extreme=_curricular_extreme, bad=_curricular_bad, diff=(0, 1),
        kwargs={"scale": 8.0, "margin": 0.3}, output=lambda out: out[0], grad_check=False, masks=False,
        nonnegative=True, numeric=(2,),
    ),
    "center_loss": Spec(
        make=_center, extreme=_center_extreme, bad=args(normal(B, D), normal(C, D + 1), integers(B, high=C)),
        diff=(0, 1), kwargs={"alpha": 0.3}, output=lambda out: out[0],
        nonnegative=True, zero_at=lambda a: replace(a, a0=a[1][a[2]]), permuted=_centers, numeric=(2,),
    ),
}
