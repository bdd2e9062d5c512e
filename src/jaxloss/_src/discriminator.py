"""The discriminator-output prologues of the GAN losses, and the two-term epilogue.

A discriminator (critic) loss reads its outputs on real and on generated
samples, any shapes, each with its own weights (:func:`discriminator_outputs`);
TF-GAN reduces the two terms separately and adds them (:func:`two_terms`). A
generator loss reads the outputs on generated samples only, with the usual
``weights``/``where`` (:func:`generator_outputs`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from . import contracts
from .numerics import upcast
from .reduce import reduce, sanitize
from .types import ArrayLike, Reduction


class DiscriminatorOutputs(NamedTuple):
    """Checked discriminator outputs in their compute dtype (from :func:`discriminator_outputs`).

    Attributes:
      real: discriminator outputs (logits or critic values) on real data, any shape.
      generated: discriminator outputs on generated data, any shape.
      real_weights: optional weights broadcastable to ``real``, as given.
      generated_weights: optional weights broadcastable to ``generated``, as given.
    """

    real: jax.Array
    generated: jax.Array
    real_weights: ArrayLike | None = None
    generated_weights: ArrayLike | None = None


def discriminator_outputs(
    real_outputs: ArrayLike,
    generated_outputs: ArrayLike,
    real_weights: ArrayLike | None = None,
    generated_weights: ArrayLike | None = None,
) -> DiscriminatorOutputs:
    """Checks that both outputs are floating and upcasts them to one compute dtype."""
    contracts.floating(real_outputs=real_outputs, generated_outputs=generated_outputs)
    real, generated = upcast(real_outputs, generated_outputs)
    return DiscriminatorOutputs(real, generated, real_weights, generated_weights)


def generator_outputs(generated_outputs: ArrayLike, where: ArrayLike | None) -> jax.Array:
    """The generator losses' prologue: floating outputs on generated data, upcast, and
    masked-out entries set to 0 (so NaN/inf there reach neither value nor gradient)."""
    contracts.floating(generated_outputs=generated_outputs)
    (generated,) = upcast(generated_outputs)
    return sanitize(generated, None if where is None else jnp.asarray(where))


def two_terms(
    outputs: DiscriminatorOutputs, real_term: jax.Array, generated_term: jax.Array, reduction: Reduction
) -> jax.Array | tuple[jax.Array, jax.Array]:
    """TF-GAN's discriminator reduction: each term reduced with its weights, then added.

    ``"none"`` returns the pair ``(real_term, generated_term)`` (weighted).
    """
    real = reduce(real_term, reduction, weights=outputs.real_weights)
    generated = reduce(generated_term, reduction, weights=outputs.generated_weights)
    return (real, generated) if reduction == "none" else real + generated
