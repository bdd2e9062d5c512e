"""Contract specs for the sentence-transformers losses (CoSENT, AnglE, cosine similarity,
online contrastive, contrastive on distances, MarginMSE, global orthogonal regularisation)."""

import numpy as np

from . import Spec, accepting, args, normal, uniform
from .laws import replace, rows, swap

B, D, K = 6, 4, 3


def _binary(rng):
    # Both kinds of pair, whatever the draw: every threshold of the online selection is defined.
    return np.array([1, 0, 1, 0, 1, 0], np.float32)[rng.permutation(B)]


def _grades(rng):
    return rng.integers(0, 4, B).astype(np.float32)


_pairs = args(normal(B, D), normal(B, D), _grades)
# A function of the set of pairs: any order of the rows (one shared permutation).
_SET = rows(0, 1, 2)


def _ranked(**kwargs):
    # One scalar per batch ("none" included); all scores equal leaves no ordered pair: 0.
    return Spec(
        make=_pairs,
        extreme=args(normal(B, D, scale=1e4), normal(B, D, scale=1e-4), _grades),
        bad=args(normal(B, D), normal(B, D), normal(B + 1)),
        diff=(0, 1),
        kwargs=kwargs,
        nonnegative=True,
        zero_at=lambda a: replace(a, a2=np.ones_like(a[2])),
        permuted=_SET,
        numeric=(2,),
    )


SPECS = {
    "cosent_loss": _ranked(scale=5.0).with_(symmetric=(swap, 1.0)),
    # The angle similarity is not symmetric (its sine part changes sign).
    "angle_loss": _ranked(scale=5.0),
    "cosine_similarity_loss": Spec(
        make=args(normal(B, D), normal(B, D), uniform(B)),
        extreme=args(normal(B, D, scale=1e4), normal(B, D, scale=1e-4), uniform(B)),
        bad=args(normal(B, D), normal(B, D + 1), uniform(B)),
        diff=(0, 1),
        nonnegative=True,
        zero_at=lambda a: replace(a, a1=a[0], a2=np.ones_like(a[2])),
        symmetric=(swap, 1.0),
        permuted=_SET,
        numeric=(2,),
    ),
    # "mean" is over the selected (hard) pairs and `where` removes pairs from the selection too:
    # not the generic weights/where law over the "none" vector (tested in the family file).
    "online_contrastive_loss": Spec(
        make=args(normal(B, D), normal(B, D), _binary),
        extreme=args(normal(B, D, scale=1e4), normal(B, D, scale=1e-4), _binary),
        bad=args(normal(B, D), normal(B, D), normal(B - 1)),
        diff=(0, 1),
        kwargs={"margin": 1.2},
        masks=False,
        nonnegative=True,
        zero_at=lambda a: replace(a, a1=np.where(a[2][:, None] == 1, a[0], -a[0])),
        symmetric=(swap, 1.0),
        permuted=_SET,
        numeric=(2,),
    ),
    "contrastive_loss_from_distances": Spec(
        make=args(
            uniform(B, low=0.0, high=2.0), lambda rng: rng.integers(0, 2, B).astype(np.float32)
        ),
        extreme=args(uniform(B, low=1e3, high=1e4), lambda rng: np.ones(B, np.float32)),
        bad=args(uniform(B), uniform(B + 1)),
        kwargs={"margin": 1.5},
        nonnegative=True,
        zero_at=lambda a: replace(a, a0=np.where(a[1] == 1, 0.0, 2.0).astype(np.float32)),
        permuted=rows(0, 1),
        numeric=(1,),
    ),
    "margin_mse_loss": Spec(
        make=args(normal(B), normal(B, K), normal(B, K)),
        extreme=args(normal(B, scale=1e4), normal(B, K, scale=1e4), normal(B, K)),
        bad=args(normal(B), normal(B, K), normal(B, K + 2)),
        diff=(0, 1),
        nonnegative=True,
        zero_at=lambda a: replace(a, a2=a[0][:, None] - a[1]),
        permuted=rows(0, 1, 2),
        numeric=(2,),
    ),
    "global_orthogonal_regularization": Spec(
        make=args(normal(B, D + 2)),
        extreme=args(normal(B, D + 2, scale=1e4)),
        bad=args(normal(B)),
        nonnegative=True,
        zero_at=lambda a: (np.eye(B, D + 2, dtype=np.float32),),
        permuted=rows(0),
        accepts=accepting(
            "one batch of any size: the regulariser of fewer rows", (0,), ("batch_short",)
        ),
    ),
}
