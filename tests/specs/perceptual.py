"""Contract specs for the perceptual family (feature extractors are plain functions)."""

import jax.numpy as jnp

from . import Spec, args, normal


def features(x):
    return jnp.tanh(x), jnp.square(x[:, ::2, ::2]) - x[:, ::2, ::2]


_pair = lambda rng: (features, *args(normal(2, 3, 3, 2), normal(2, 3, 3, 2))(rng))  # noqa: E731
_extreme = lambda rng: (features, *args(normal(2, 3, 3, 2, scale=1e2), normal(2, 3, 3, 2))(rng))  # noqa: E731
_bad = lambda rng: (features, *args(normal(2, 3, 3, 2), normal(2, 3, 3, 1))(rng))  # noqa: E731

SPECS = {
    "perceptual_loss": Spec(make=_pair, extreme=_extreme, bad=_bad, diff=(1,), vmap=False,
                            kwargs={"layer_weights": (1.0, 0.5)}),
    "style_loss": Spec(make=_pair, extreme=_extreme, bad=_bad, diff=(1,), vmap=False),
    "total_variation_loss": Spec(make=args(normal(2, 3, 3, 2)), extreme=args(normal(2, 3, 3, 2, scale=1e4)),
                                 bad=args(normal(3, 3, 2))),
}
