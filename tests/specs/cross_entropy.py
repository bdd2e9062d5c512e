"""Contract specs for the cross-entropy part of the classification family."""

import numpy as np

from . import Spec, args, integers, normal, uniform
from .laws import relabel, replace, winning

N, C = 4, 3

_int = args(normal(N, C), integers(N, high=C))
_int_extreme = args(normal(N, C, scale=1e4), integers(N, high=C))
_int_bad = args(normal(N, C), integers(N, 2, high=C))  # labels of the wrong shape
_probs = args(normal(N, C), uniform(N, C))
_pair = args(normal(N, C), uniform(N, C))
_pair_extreme = args(normal(N, C, scale=1e4), uniform(N, C))
_pair_bad = args(normal(N, C), uniform(N, 2))

_NO_SMOOTHING = {"label_smoothing": 0.0}


def _saturated(a):
    # Saturated logits: exp(-100) vanishes against 1 in float32.
    return replace(a, a0=winning(a[0], a[1], 100.0))


def _saturated_binary(a):
    return replace(a, a0=100 * (2 * np.round(a[1]) - 1), a1=np.round(a[1]))


def _labelled(**kwargs):
    return Spec(make=_int, extreme=_int_extreme, bad=_int_bad, kwargs=kwargs, nonnegative=True, zero_at=_saturated,
                numeric=(1,))


def _binary(**kwargs):
    # The probabilities in [0, 1] are not scaled: only the logits are.
    return Spec(make=_pair, extreme=_pair_extreme, bad=_pair_bad, kwargs=kwargs, diff=(0, 1), nonnegative=True,
                zero_at=_saturated_binary, scalable=(0,), numeric=(1,))


SPECS = {
    # class_weights change the mean's denominator (torch), so they are tested in the family file.
    "softmax_cross_entropy": _labelled(label_smoothing=0.1).with_(zero_at_kwargs=_NO_SMOOTHING,
                                                                  permuted=relabel(0, 1, axis=1)),
    # No permutation law: the spec's per-class alpha moves when classes are renamed.
    "softmax_focal_loss": _labelled(gamma=1.5, alpha=(0.25, 0.5, 1.0)),
    "poly1_cross_entropy": _labelled(epsilon=2.0, label_smoothing=0.05).with_(zero_at_kwargs=_NO_SMOOTHING),
    "poly_loss": _labelled(epsilons=(1.0, 0.5)),
    "sigmoid_binary_cross_entropy": _binary(pos_weight=(2.0, 1.0, 0.5), label_smoothing=0.1).with_(
        zero_at_kwargs=_NO_SMOOTHING),
    "sigmoid_focal_loss": _binary(alpha=0.25, gamma=0.5),
}
