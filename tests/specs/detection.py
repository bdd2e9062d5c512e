"""Contract specs for the detection family (matched box pairs, xyxy)."""

import numpy as np

from . import Spec
from .laws import replace, rows, swap


def _boxes(n: int, scale: float = 1.0):
    def make(rng):
        lo = rng.uniform(-2.0, 2.0, (n, 2))
        return (scale * np.concatenate([lo, lo + rng.uniform(0.2, 3.0, (n, 2))], axis=-1)).astype(
            np.float32
        )

    return make


_pair = lambda rng: (_boxes(6)(rng), _boxes(6)(rng))  # noqa: E731
_extreme = lambda rng: (_boxes(6, 1e4)(rng), _boxes(6, 1e-4)(rng))  # noqa: E731
_bad = lambda rng: (_boxes(6)(rng), _boxes(6)(rng)[:, :3])  # noqa: E731


def _spec(**changes):
    return Spec(
        make=_pair,
        extreme=_extreme,
        bad=_bad,
        diff=(0, 1),
        nonnegative=True,
        # eps = 0: identical boxes have IoU exactly 1 (a tiny eps leaves eps / area).
        zero_at=lambda a: replace(a, a1=a[0]),
        zero_at_kwargs={"eps": 0.0},
        symmetric=(swap, 1.0),
        permuted=rows(0, 1),
        numeric=(0, 1),
    ).with_(**changes)


SPECS = {
    "generalized_box_iou_loss": _spec(),
    "distance_box_iou_loss": _spec(),
    # alpha is under stop_gradient (torchvision's no_grad): the gradient is not the derivative.
    "complete_box_iou_loss": _spec(grad_check=False),
}
