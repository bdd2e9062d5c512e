"""Contract specs for the margin part of the classification family and CTC."""

import numpy as np

from . import Spec, args, integers, normal
from .laws import replace, winning

N, C = 4, 3


def _signs(*shape):
    return lambda rng: np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0).astype(np.float32)


_binary = args(normal(N, C, scale=2.0), _signs(N, C))
_binary_extreme = args(normal(N, C, scale=1e4), _signs(N, C))
_binary_bad = args(normal(N, C), _signs(N, 2))
_int = args(normal(N, C, scale=2.0), integers(N, high=C))
_int_extreme = args(normal(N, C, scale=1e4), integers(N, high=C))
_int_bad = args(normal(N, C), integers(N, 2, high=C))

B, T, K, L = 3, 6, 4, 3


def _ctc(scale):
    def make(rng):
        logits = (scale * rng.standard_normal((B, T, K))).astype(np.float32)
        logit_paddings = np.zeros((B, T), np.float32)
        logit_paddings[1, 4:] = 1
        labels = rng.integers(1, K, (B, L)).astype(np.int32)
        label_paddings = np.zeros((B, L), np.float32)
        label_paddings[2, 1:] = 1
        return logits, logit_paddings, labels, label_paddings

    return make


def _ctc_bad(rng):
    logits, logit_paddings, labels, label_paddings = _ctc(1.0)(rng)
    return logits, logit_paddings[:, :-1], labels, label_paddings


def _binary_spec(floor):
    # Zero once every margin y * s is at least 1 (hinge) or positive (perceptron).
    return Spec(make=_binary, extreme=_binary_extreme, bad=_binary_bad, nonnegative=True, numeric=(1,),
                zero_at=lambda a: replace(a, a0=a[1] * (floor + np.abs(a[0]))))


def _winning(a):
    return replace(a, a0=winning(a[0], a[1], 1.0))


SPECS = {
    # The seeded inputs lie far (>> eps = 1e-6) from the kinks y*s = 1 / y*s = 0 and from
    # ties in the max, so finite differences stay on one linear piece: check_grads runs.
    "hinge_loss": _binary_spec(1.0),
    "squared_hinge_loss": _binary_spec(1.0),
    "perceptron_loss": _binary_spec(1e-3),
    "multiclass_hinge_loss": Spec(make=_int, extreme=_int_extreme, bad=_int_bad,
                                  kwargs={"margin": 0.7, "p": 2, "class_weights": (0.5, 1.0, 2.0)},
                                  nonnegative=True, zero_at=_winning, numeric=(1,)),
    "sparsemax_loss": Spec(make=_int, extreme=_int_extreme, bad=_int_bad, nonnegative=True, zero_at=_winning,
                           numeric=(1,)),
    "ctc_loss": Spec(make=_ctc(1.0), extreme=_ctc(1e3), bad=_ctc_bad, kwargs={"blank_id": 0}, nonnegative=True,
                     numeric=(1, 2, 3), shard=False),
}
