"""Contract specs for the perceptual family (feature extractors are plain functions)."""

import jax.numpy as jnp
import numpy as np

from . import ANY_SHAPE, Spec, args, normal
from .laws import replace


def features(x):
    return jnp.tanh(x), jnp.square(x[:, ::2, ::2]) - x[:, ::2, ::2]


_pair = lambda rng: (features, *args(normal(2, 3, 3, 2), normal(2, 3, 3, 2))(rng))  # noqa: E731
_extreme = lambda rng: (features, *args(normal(2, 3, 3, 2, scale=1e2), normal(2, 3, 3, 2))(rng))  # noqa: E731
_bad = lambda rng: (features, *args(normal(2, 3, 3, 2), normal(2, 3, 3, 1))(rng))  # noqa: E731



def _features(**kwargs):
    return Spec(make=_pair, extreme=_extreme, bad=_bad, diff=(1,), vmap=False, kwargs=kwargs, nonnegative=True,
                zero_at=lambda a: replace(a, a2=a[1]), symmetric=(lambda a: replace(a, a1=a[2], a2=a[1]), 1.0),
                numeric=(2,))


def _flat(a):
    return replace(a, a0=np.broadcast_to(a[0][:, :1, :1], a[0].shape).copy())


SPECS = {
    "perceptual_loss": _features(layer_weights=(1.0, 0.5)),
    "style_loss": _features(),
    "total_variation_loss": Spec(make=args(normal(2, 3, 3, 2)), extreme=args(normal(2, 3, 3, 2, scale=1e4)),
                                 bad=args(normal(3, 3, 2)), nonnegative=True, zero_at=_flat,
                                 accepts={(0, "batch_short"): ANY_SHAPE}),
}
