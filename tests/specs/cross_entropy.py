"""Contract specs for the cross-entropy part of the classification family."""

from . import Spec, args, integers, normal, uniform

N, C = 4, 3

_int = args(normal(N, C), integers(N, high=C))
_int_extreme = args(normal(N, C, scale=1e4), integers(N, high=C))
_int_bad = args(normal(N, C), integers(N, 2, high=C))  # labels of the wrong shape
_probs = args(normal(N, C), uniform(N, C))
_pair = args(normal(N, C), uniform(N, C))
_pair_extreme = args(normal(N, C, scale=1e4), uniform(N, C))
_pair_bad = args(normal(N, C), uniform(N, 2))


def _labelled(**kwargs):
    return Spec(make=_int, extreme=_int_extreme, bad=_int_bad, kwargs=kwargs)


SPECS = {
    # class_weights change the mean's denominator (torch), so they are tested in the family file.
    "softmax_cross_entropy": _labelled(label_smoothing=0.1),
    "softmax_focal_loss": _labelled(gamma=1.5, alpha=(0.25, 0.5, 1.0)),
    "poly1_cross_entropy": _labelled(epsilon=2.0, label_smoothing=0.05),
    "poly_loss": _labelled(epsilons=(1.0, 0.5)),
    "sigmoid_binary_cross_entropy": Spec(
        make=_pair, extreme=_pair_extreme, bad=_pair_bad,
        kwargs={"pos_weight": (2.0, 1.0, 0.5), "label_smoothing": 0.1}, diff=(0, 1),
    ),
    "sigmoid_focal_loss": Spec(
        make=_pair, extreme=_pair_extreme, bad=_pair_bad, kwargs={"alpha": 0.25, "gamma": 0.5},
        diff=(0, 1),
    ),
}
