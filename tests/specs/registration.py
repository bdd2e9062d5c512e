"""Contract specs for the registration family (channel-last fields and images)."""

import numpy as np

from . import Spec, accepting, args, normal, uniform
from .laws import replace, rows, swap


def _constant(a):
    return replace(a, a0=np.broadcast_to(a[0][:, :1, :1], a[0].shape).copy())


def _regularizer(shape, **kwargs):
    return Spec(
        make=args(normal(*shape)),
        extreme=args(normal(*shape, scale=1e4)),
        bad=args(normal(*shape[:-1], shape[-1] + 1)),
        kwargs=kwargs,
        nonnegative=True,
        zero_at=_constant,
        permuted=rows(0),
        numeric=(0,),
        accepts=accepting("a single field: any batch size is valid", (0,), ("batch_short",)),
    )


_images = args(uniform(2, 6, 5, 1), uniform(2, 6, 5, 1))

SPECS = {
    "bending_energy_loss": _regularizer((2, 5, 4, 2)),
    # 1-D: in 2-D and 3-D the first-derivative stencils never read the corner voxels (as in
    # MONAI), so a NaN placed there by the hostile probe would rightly not reach the loss.
    "diffusion_loss": _regularizer((2, 7, 1), normalize=True),
    "local_normalized_cross_correlation_loss": Spec(
        make=_images,
        extreme=args(normal(2, 6, 5, 1, scale=1e3), uniform(2, 6, 5, 1)),
        bad=args(uniform(2, 6, 5, 1), uniform(2, 6, 4, 1)),
        diff=(0, 1),
        kwargs={"kernel_size": 3},
        nonnegative="the negated squared local correlation lies in [-1, 0]",
        symmetric=(swap, 1.0),
        permuted=rows(0, 1),
    ),
    "global_mutual_information_loss": Spec(
        make=args(uniform(2, 6, 5, 1), uniform(2, 6, 5, 1)),
        extreme=args(uniform(2, 6, 5, 1, low=-1e3, high=1e3), uniform(2, 6, 5, 1)),
        bad=args(uniform(2, 6, 5, 1), uniform(2, 6, 5, 2)),
        diff=(0, 1),
        nonnegative="the negated mutual information is <= 0 (up to the smoothing constants)",
        symmetric=(swap, 1.0),
        permuted=rows(0, 1),
        # Intensities live in [0, 1] (the Gaussian window clamps): a drawn scale would leave it.
        scalable=(),
    ),
}
