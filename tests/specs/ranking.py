"""Contract specs for the ranking family (rax semantics: where/weights per item)."""

import numpy as np

from . import Spec, args, normal


def _labels(*shape):
    return lambda rng: rng.integers(0, 3, shape).astype(np.float32)


_lists = args(normal(3, 5), _labels(3, 5))
_extreme = args(normal(3, 5, scale=1e4), _labels(3, 5))
_bad = args(normal(3, 5), _labels(3, 4))


def _listwise(**kwargs):
    # where/weights are per item, not per "none" entry: tested against rax in test_ranking.py.
    return Spec(make=_lists, extreme=_extreme, bad=_bad, masks=False, kwargs=kwargs)


SPECS = {
    "bpr_loss": Spec(make=args(normal(4, 3), normal(4, 3)), extreme=args(normal(4, 3, scale=1e4), normal(4, 3)),
                     bad=args(normal(4, 3), normal(4, 2)), diff=(0, 1)),
    "pairwise_hinge_loss": _listwise(),
    "pairwise_logistic_loss": _listwise(),
    "softmax_ranking_loss": _listwise(),
    "listmle_loss": _listwise(),
    "approx_ndcg_loss": _listwise(temperature=0.7),
}
