"""Contract specs for issue 16's AUC-margin, patch-adversarial and LPIPS losses.

``deep_supervision_loss`` is a transform over a loss function (not registered, as
``matryoshka_loss``): tests/test_imaging_more.py covers it.
"""

import numpy as np

from . import ANY_SHAPE, Spec, accepting, args, normal
from .laws import replace, rows
from .perceptual import features


def _binary(rng):
    # Both classes present: three positives among eight.
    return np.array([1, 1, 1, 0, 0, 0, 0, 0], np.int32)[rng.permutation(8)]


def _scalar(scale=1.0):
    return lambda rng: np.asarray(scale * rng.standard_normal(), np.float32)


def _aucm(scale=1.0):
    return args(normal(8, scale=scale), _binary, _scalar(), _scalar(), _scalar())


def _aucm_zero(a):
    zero = np.zeros((), np.float32)
    return replace(a, a0=np.zeros_like(a[0]), a2=zero, a3=zero, a4=zero)


_LINEAR = ((1.0, 0.5), (0.3, 2.0))
_pair = lambda rng: (features, *args(normal(2, 3, 3, 2), normal(2, 3, 3, 2))(rng))  # noqa: E731
_extreme = lambda rng: (features, *args(normal(2, 3, 3, 2, scale=1e2), normal(2, 3, 3, 2))(rng))  # noqa: E731
_bad = lambda rng: (features, *args(normal(2, 3, 3, 2), normal(2, 3, 3, 1))(rng))  # noqa: E731

SPECS = {
    "aucm_loss": Spec(
        make=_aucm(),
        extreme=_aucm(1e4),
        bad=args(normal(8), lambda rng: _binary(rng)[:7], _scalar(), _scalar(), _scalar()),
        diff=(0, 2, 3, 4),
        scalable=(0,),  # a drawn scale turns a 0-d array into a NumPy scalar
        nonnegative="a min-max objective: the -p(1-p) alpha^2 term makes it negative for large alpha",
        zero_at=_aucm_zero,
        permuted=rows(0, 1),
        numeric=(1,),
    ),
    "patch_adversarial_loss": Spec(
        make=args(normal(2, 3, 3, 1)),
        extreme=args(normal(2, 3, 3, 1, scale=1e4)),
        kwargs={"target_is_real": True, "for_discriminator": True},
        nonnegative=True,
        zero_at=lambda a: replace(a, a0=np.ones_like(a[0])),
        accepts=accepting(ANY_SHAPE, (0,)),
    ),
    "lpips_loss": Spec(
        make=_pair,
        extreme=_extreme,
        bad=_bad,
        diff=(1,),
        vmap=False,
        kwargs={"linear_weights": _LINEAR},
        nonnegative=True,
        zero_at=lambda a: replace(a, a2=a[1]),
        symmetric=(lambda a: replace(a, a1=a[2], a2=a[1]), 1.0),
        numeric=(2,),
    ),
}
