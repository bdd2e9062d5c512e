"""Contract specs for the adversarial family (GAN losses, penalties, adversarial training)."""

import jax
import jax.numpy as jnp

from . import Spec, args, integers, normal


def critic(x):
    return jnp.sum(jnp.sin(2 * x) + 0.5 * x**2, axis=-1)


def model(x):
    return 2 * x[..., :3] - jnp.roll(x, 1, axis=-1)[..., :3] ** 2


def _key(rng):
    return jax.random.key(int(rng.integers(1 << 30)))


_pair = args(normal(6), normal(5))
_pair_extreme = args(normal(6, scale=1e4), normal(5, scale=1e4))
_discriminator = Spec(make=_pair, extreme=_pair_extreme, diff=(0, 1), masks=False)
_generator = Spec(make=args(normal(6)), extreme=args(normal(6, scale=1e4)), bad=None)

SPECS = {
    "minimax_discriminator_loss": Spec(
        make=_pair, extreme=_pair_extreme, diff=(0, 1), masks=False, kwargs={"label_smoothing": 0.2}
    ),
    "wasserstein_discriminator_loss": _discriminator,
    "least_squares_discriminator_loss": _discriminator,
    "hinge_discriminator_loss": Spec(make=_pair, extreme=_pair_extreme, diff=(0, 1), masks=False, grad_check=False),
    "relativistic_average_discriminator_loss": _discriminator,
    "relativistic_average_generator_loss": _discriminator,
    "minimax_generator_loss": _generator,
    "nonsaturating_generator_loss": _generator,
    "wasserstein_generator_loss": _generator,
    "least_squares_generator_loss": _generator,
    "hinge_generator_loss": _generator,
    "gradient_penalty": Spec(
        make=lambda rng: (critic, *args(normal(4, 3), normal(4, 3))(rng), _key(rng)),
        extreme=lambda rng: (critic, *args(normal(4, 3, scale=1e3), normal(4, 3))(rng), _key(rng)),
        bad=lambda rng: (critic, *args(normal(4, 3), normal(5, 3))(rng), _key(rng)),
        diff=(1, 2), vmap=False,
    ),
    "r1_penalty": Spec(
        make=lambda rng: (critic, normal(4, 3)(rng)),
        extreme=lambda rng: (critic, normal(4, 3, scale=1e4)(rng)),
        diff=(1,), vmap=False,
    ),
    # The attack is a constant of the objective (stop_gradient, Danskin), so finite
    # differences, which move the attack with the input, do not apply.
    "adversarial_loss": Spec(
        make=lambda rng: (lambda x: jnp.sum(model(x) ** 2), normal(4, 5)(rng)),
        extreme=lambda rng: (lambda x: jnp.sum(model(x) ** 2), normal(4, 5, scale=1e2)(rng)),
        kwargs={"epsilon": 0.1}, diff=(1,), masks=False, vmap=False, grad_check=False,
    ),
    "trades_loss": Spec(
        make=lambda rng: (model, normal(4, 5)(rng), integers(4, high=3)(rng), _key(rng)),
        extreme=lambda rng: (model, normal(4, 5, scale=1e2)(rng), integers(4, high=3)(rng), _key(rng)),
        bad=lambda rng: (model, normal(4, 5)(rng), integers(3, high=3)(rng), _key(rng)),
        kwargs={"epsilon": 0.1, "steps": 3}, diff=(1,), vmap=False, grad_check=False,
    ),
}
