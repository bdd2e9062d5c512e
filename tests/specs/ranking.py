"""Contract specs for the ranking family (rax semantics: where/weights per item)."""

import numpy as np

from . import Spec, args, normal
from .laws import replace, rows


def _labels(*shape):
    return lambda rng: rng.integers(0, 3, shape).astype(np.float32)


_lists = args(normal(3, 5), _labels(3, 5))
_extreme = args(normal(3, 5, scale=1e4), _labels(3, 5))
_bad = args(normal(3, 5), _labels(3, 4))


_ITEMS = rows(0, 1, axis=1)  # the order of the items of each list


def _listwise(nonnegative: bool | str = True, permuted=_ITEMS, **kwargs):
    # where/weights are per item, not per "none" entry: tested against rax in test_ranking.py.
    # Three lists: every input is replicated on the mesh.
    return Spec(make=_lists, extreme=_extreme, bad=_bad, masks=False, kwargs=kwargs, nonnegative=nonnegative,
                permuted=permuted, numeric=(1,), shard=False)


SPECS = {
    "bpr_loss": Spec(make=args(normal(4, 3), normal(4, 3)), extreme=args(normal(4, 3, scale=1e4), normal(4, 3)),
                     bad=args(normal(4, 3), normal(4, 2)), diff=(0, 1), nonnegative=True, numeric=(1,)),
    "pairwise_hinge_loss": _listwise().with_(zero_at=lambda a: replace(a, a0=2 * a[1])),
    "pairwise_logistic_loss": _listwise(),
    "softmax_ranking_loss": _listwise(),
    "listmle_loss": _listwise(permuted=None),
    "approx_ndcg_loss": _listwise(nonnegative="the negative (approximate) NDCG, in [-1, 0]", temperature=0.7),
}
