"""Contract specs for the classic losses of issue 17 (API.md 3.E.3): probability and
log-probability losses, classic margins, Keras regression errors, generalized KL."""

import numpy as np

from . import Spec, args, integers, normal, uniform
from .distribution import _log_probs
from .laws import replace, same, swap, winning

N, C = 4, 3


def _probs(*shape):
    def make(rng):
        return rng.dirichlet(np.ones(shape[-1]), shape[:-1]).astype(np.float32)

    return make


def _signs(*shape):
    return lambda rng: np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0).astype(np.float32)


def _label_lists(rng):
    """torch multilabel targets: a few distinct classes per row, then -1 padding."""
    out = -np.ones((N, C), np.int32)
    for i in range(N):
        k = rng.integers(0, C + 1)
        out[i, :k] = rng.permutation(C)[:k]
    return out


def _at_label(value):
    """The labelled class's entry set to ``value`` (log-probability 0, probability 1)."""

    def at(a):
        x = a[0].copy()
        x[np.arange(len(a[1])), a[1]] = value
        if value == 1.0:
            x = np.where(np.eye(x.shape[-1], dtype=bool)[a[1]], x, 0.0).astype(np.float32)
        return replace(a, a0=x)

    return at


def _winning(a):
    return replace(a, a0=winning(a[0], a[1], 5.0))


def _exact_binary(a):
    y = np.round(a[1]).astype(np.float32)
    return replace(a, a0=y, a1=y)


_int_bad = integers(N, 2, high=C)

SPECS = {
    "nll_loss": Spec(
        make=args(_log_probs(N, C), integers(N, high=C)),
        extreme=args(_log_probs(N, C, scale=1e4), integers(N, high=C)),
        bad=args(_log_probs(N, C), _int_bad),
        # class_weights change the mean's denominator (torch): tested in the family file.
        nonnegative=True,
        zero_at=_at_label(0.0),
        numeric=(1,),
    ),
    "binary_cross_entropy": Spec(
        make=args(uniform(N, C, low=0.05, high=0.95), uniform(N, C)),
        bad=args(uniform(N, C), uniform(N, 2)),
        diff=(0, 1),
        nonnegative=True,
        zero_at=_exact_binary,
        scalable=(),
        numeric=(1,),
    ),
    "categorical_cross_entropy": Spec(
        make=args(_probs(N, C), integers(N, high=C)),
        bad=args(_probs(N, C), _int_bad),
        kwargs={"label_smoothing": 0.1},
        nonnegative=True,
        zero_at=_at_label(1.0),
        zero_at_kwargs={"label_smoothing": 0.0},
        numeric=(1,),
        not_finite={
            (0, "zeros"): "a row of probabilities summing to 0 has no normalisation (NaN, as Keras)"
        },
    ),
    "generalized_cross_entropy": Spec(
        make=args(normal(N, C), integers(N, high=C)),
        extreme=args(normal(N, C, scale=1e4), integers(N, high=C)),
        bad=args(normal(N, C), _int_bad),
        kwargs={"q": 0.7},
        nonnegative=True,
        numeric=(1,),
    ),
    "crammer_singer_hinge_loss": Spec(
        make=args(normal(N, C, scale=2.0), integers(N, high=C)),
        extreme=args(normal(N, C, scale=1e4), integers(N, high=C)),
        bad=args(normal(N, C), _int_bad),
        kwargs={"margin": 0.7},
        nonnegative=True,
        zero_at=_winning,
        numeric=(1,),
    ),
    "hinge_embedding_loss": Spec(
        make=args(uniform(N, C, high=2.0), _signs(N, C)),
        extreme=args(normal(N, C, scale=1e4), _signs(N, C)),
        bad=args(normal(N, C), _signs(N, 2)),
        kwargs={"margin": 1.5},
        nonnegative="a +1 label's term is x itself, negative for negative x",
        numeric=(1,),
    ),
    "multilabel_margin_loss": Spec(
        make=args(normal(N, C, scale=2.0), _label_lists),
        extreme=args(normal(N, C, scale=1e4), _label_lists),
        bad=args(normal(N, C), _int_bad),
        nonnegative=True,
    ),
    "absolute_percentage_error": Spec(
        make=args(normal(N, C), normal(N, C)),
        extreme=args(normal(N, C, scale=1e4), normal(N, C)),
        bad=args(normal(N, C), normal(N, 2)),
        nonnegative=True,
        zero_at=same,
        numeric=(1,),
        pytree=True,
    ),
    "squared_logarithmic_error": Spec(
        make=args(uniform(N, C, high=3.0), uniform(N, C, high=3.0)),
        extreme=args(normal(N, C, scale=1e4), normal(N, C)),
        bad=args(normal(N, C), normal(N, 2)),
        nonnegative=True,
        zero_at=same,
        symmetric=(swap, 1.0),
        numeric=(1,),
        pytree=True,
    ),
    "generalized_kl_divergence": Spec(
        make=args(normal(N, C), uniform(N, C, low=0.05, high=2.0)),
        extreme=args(normal(N, C, scale=10.0), uniform(N, C, high=1.0)),
        bad=args(normal(N, C), uniform(N, 2)),
        diff=(0, 1),
        nonnegative=True,
        zero_at=lambda a: replace(a, a0=np.log(a[1])),
        scalable=(1,),
        numeric=(1,),
        not_finite={(0, "extreme"): "q = exp(1e4) is beyond float range: the loss is +inf"},
    ),
}
