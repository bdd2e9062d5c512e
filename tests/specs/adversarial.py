"""Contract specs for the adversarial family (GAN losses, penalties, adversarial training)."""

import jax
import jax.numpy as jnp
import numpy as np

from . import ANY_SHAPE, Spec, accepting, args, integers, normal
from .laws import replace

_NOT_BOUNDED = "linear in the critic outputs, unbounded below"
_SETS = accepting("the two arguments are independent sets (real and generated): their sizes need not match", (0, 1))
_MODEL = accepting("the input only reaches the loss through the user's model, which accepts any batch", (1,))


def critic(x):
    return jnp.sum(jnp.sin(2 * x) + 0.5 * x**2, axis=-1)


def model(x):
    return 2 * x[..., :3] - jnp.roll(x, 1, axis=-1)[..., :3] ** 2


def _key(rng):
    return jax.random.key(int(rng.integers(1 << 30)))


def _unit_critic(x):
    return x[..., 0] * 0.6 + x[..., 1] * 0.8  # gradient norm 1 everywhere


def _flat_critic(x):
    return jnp.zeros(x.shape[:-1], x.dtype)


_pair = args(normal(6), normal(5))
_pair_extreme = args(normal(6, scale=1e4), normal(5, scale=1e4))
# Both arrays are independent batches: the empty probe empties both.
_discriminator = Spec(make=_pair, extreme=_pair_extreme, diff=(0, 1), masks=False, nonnegative=True, accepts=_SETS,
                      empty_all=True)
_generator = Spec(make=args(normal(6)), extreme=args(normal(6, scale=1e4)), bad=None, nonnegative=True,
                  accepts=accepting(ANY_SHAPE, (0,)))

SPECS = {
    "minimax_discriminator_loss": _discriminator.with_(kwargs={"label_smoothing": 0.2}),
    "wasserstein_discriminator_loss": _discriminator.with_(nonnegative=_NOT_BOUNDED),
    "least_squares_discriminator_loss": _discriminator.with_(
        zero_at=lambda a: replace(a, a0=np.ones_like(a[0]), a1=np.zeros_like(a[1]))),
    "hinge_discriminator_loss": _discriminator.with_(
        grad_check=False, zero_at=lambda a: replace(a, a0=1 + np.abs(a[0]), a1=-1 - np.abs(a[1]))),
    "relativistic_average_discriminator_loss": _discriminator,
    "relativistic_average_generator_loss": _discriminator,
    "minimax_generator_loss": _generator.with_(nonnegative="log(1 - D(G(z))) <= 0 (the saturating form)"),
    "nonsaturating_generator_loss": _generator,
    "wasserstein_generator_loss": _generator.with_(nonnegative=_NOT_BOUNDED),
    "least_squares_generator_loss": _generator.with_(zero_at=lambda a: replace(a, a0=np.ones_like(a[0]))),
    "hinge_generator_loss": _generator.with_(nonnegative=_NOT_BOUNDED),
    "gradient_penalty": Spec(
        make=lambda rng: (critic, *args(normal(4, 3), normal(4, 3))(rng), _key(rng)),
        extreme=lambda rng: (critic, *args(normal(4, 3, scale=1e3), normal(4, 3))(rng), _key(rng)),
        bad=lambda rng: (critic, *args(normal(4, 3), normal(5, 3))(rng), _key(rng)),
        diff=(1, 2), vmap=False,
        nonnegative=True, zero_at=lambda a: replace(a, a0=_unit_critic), key=3,
    ),
    "r1_penalty": Spec(
        make=lambda rng: (critic, normal(4, 3)(rng)),
        extreme=lambda rng: (critic, normal(4, 3, scale=1e4)(rng)),
        diff=(1,), vmap=False,
        nonnegative=True, zero_at=lambda a: replace(a, a0=_flat_critic), accepts=_MODEL,
    ),
    # The attack is a constant of the objective (stop_gradient, Danskin), so finite
    # differences, which move the attack with the input, do not apply.
    "adversarial_loss": Spec(
        make=lambda rng: (lambda x: jnp.sum(model(x) ** 2), normal(4, 5)(rng)),
        extreme=lambda rng: (lambda x: jnp.sum(model(x) ** 2), normal(4, 5, scale=1e2)(rng)),
        kwargs={"epsilon": 0.1}, diff=(1,), masks=False, vmap=False, grad_check=False,
        nonnegative=True,  # a convex mix of two values of loss_fn (here a sum of squares)
        accepts=_MODEL,
    ),
    "trades_loss": Spec(
        make=lambda rng: (model, normal(4, 5)(rng), integers(4, high=3)(rng), _key(rng)),
        extreme=lambda rng: (model, normal(4, 5, scale=1e2)(rng), integers(4, high=3)(rng), _key(rng)),
        bad=lambda rng: (model, normal(4, 5)(rng), integers(3, high=3)(rng), _key(rng)),
        kwargs={"epsilon": 0.1, "steps": 3}, diff=(1,), vmap=False, grad_check=False,
        nonnegative=True, numeric=(2,),
    ),
}
