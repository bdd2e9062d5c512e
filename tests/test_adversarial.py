"""GAN losses against TF-GAN's test values, penalties, and adversarial training."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxloss

# TF-GAN losses_impl_test.py: discriminator outputs on real and generated data.
D_REAL = jnp.array([-5.0, 1.4, 12.5, 2.7])
D_GEN = jnp.array([10.0, 4.4, -5.5, 3.6])


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (lambda: jaxloss.wasserstein_generator_loss(D_GEN), -3.125),
        (lambda: jaxloss.wasserstein_discriminator_loss(D_REAL, D_GEN), 0.225),
        (lambda: jaxloss.hinge_discriminator_loss(D_REAL, D_GEN), 6.75),
        (lambda: jaxloss.least_squares_generator_loss(D_GEN), 17.69625),
        (lambda: jaxloss.least_squares_discriminator_loss(D_REAL, D_GEN), 41.73375),
    ],
)
def test_tfgan_test_values(fn, expected):
    np.testing.assert_allclose(fn(), expected, rtol=1e-5)


def test_minimax_losses_against_optax_bce():
    bce = optax.losses.sigmoid_binary_cross_entropy
    ones, zeros = jnp.ones(4), jnp.zeros(4)
    np.testing.assert_allclose(
        jaxloss.minimax_discriminator_loss(D_REAL, D_GEN),
        bce(D_REAL, ones).mean() + bce(D_GEN, zeros).mean(), rtol=1e-6,
    )
    # TF-GAN's label smoothing s moves the real label to 1 - s/2.
    np.testing.assert_allclose(
        jaxloss.minimax_discriminator_loss(D_REAL, D_GEN, label_smoothing=0.25),
        bce(D_REAL, jnp.full(4, 0.875)).mean() + bce(D_GEN, zeros).mean(), rtol=1e-6,
    )
    np.testing.assert_allclose(jaxloss.minimax_generator_loss(D_GEN), -bce(D_GEN, zeros).mean(), rtol=1e-6)
    np.testing.assert_allclose(jaxloss.nonsaturating_generator_loss(D_GEN), bce(D_GEN, ones).mean(), rtol=1e-6)


def test_relativistic_average_losses_against_the_paper_formula():
    bce = optax.losses.sigmoid_binary_cross_entropy
    real_rel, gen_rel = D_REAL - D_GEN.mean(), D_GEN - D_REAL.mean()
    np.testing.assert_allclose(
        jaxloss.relativistic_average_discriminator_loss(D_REAL, D_GEN),
        bce(real_rel, jnp.ones(4)).mean() + bce(gen_rel, jnp.zeros(4)).mean(), rtol=1e-6,
    )
    np.testing.assert_allclose(
        jaxloss.relativistic_average_generator_loss(D_REAL, D_GEN),
        bce(real_rel, jnp.zeros(4)).mean() + bce(gen_rel, jnp.ones(4)).mean(), rtol=1e-6,
    )


def test_discriminator_weights_and_none():
    real_w = jnp.array([1.0, 0.0, 1.0, 1.0])
    value = jaxloss.wasserstein_discriminator_loss(D_REAL, D_GEN, real_weights=real_w)
    np.testing.assert_allclose(value, D_GEN.mean() - (-5.0 + 12.5 + 2.7) / 3, rtol=1e-6)
    real_term, gen_term = jaxloss.hinge_discriminator_loss(D_REAL, D_GEN, reduction="none")
    np.testing.assert_allclose(real_term, [6.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(gen_term, [11.0, 5.4, 0.0, 4.6], rtol=1e-6)


def test_gradient_penalty_tfgan_value_and_safe_norm():
    # TF-GAN: a critic 2 * sum(x) over 4 features has gradient norm 4, penalty (4 - 1)^2 = 9.
    critic = lambda x: 2.0 * jnp.sum(x, axis=-1)  # noqa: E731
    real, fake = jnp.ones((5, 2, 2)), jnp.zeros((5, 2, 2))
    key = jax.random.key(1)
    np.testing.assert_allclose(jaxloss.gradient_penalty(critic, real, fake, key), 9.0, rtol=1e-6)
    flat = lambda x: jnp.zeros(x.shape[0])  # noqa: E731
    value, grad = jax.value_and_grad(lambda f: jaxloss.gradient_penalty(flat, real, f, key))(fake)
    assert value == 1.0 and np.all(np.isfinite(grad))


def test_gradient_penalty_per_sample_norms_and_flows_to_fake():
    critic = lambda x: jnp.sum(x**2, axis=-1)  # noqa: E731
    real, fake = jnp.full((3, 2), 2.0), jnp.zeros((3, 2))
    out = jaxloss.gradient_penalty(critic, real, fake, jax.random.key(0), reduction="none")
    eps = jax.random.uniform(jax.random.key(0), (3, 1))
    np.testing.assert_allclose(out, (2 * np.sqrt(2) * 2 * eps[:, 0] - 1) ** 2, rtol=1e-5)
    assert jnp.all(jnp.isfinite(jax.grad(lambda f: jaxloss.gradient_penalty(critic, real, f, jax.random.key(0)))(fake)))


def test_r1_penalty():
    critic = lambda x: jnp.sum(x**2, axis=-1)  # noqa: E731
    x = jnp.array([[1.0, 2.0], [0.0, 3.0]])
    # grad = 2x; gamma/2 * |2x|^2 = 2 gamma |x|^2
    np.testing.assert_allclose(jaxloss.r1_penalty(critic, x, gamma=10.0, reduction="none"), [100.0, 180.0])


def test_fgsm_and_pgd_stay_in_the_ball_and_clip():
    loss_fn = lambda x: jnp.sum(jnp.sin(3 * x))  # noqa: E731
    x = jnp.linspace(-1, 1, 11)
    adv = jaxloss.fgsm_perturbation(loss_fn, x, epsilon=0.1)
    np.testing.assert_allclose(jnp.abs(adv - x), 0.1, rtol=1e-5)
    assert loss_fn(adv) > loss_fn(x)
    pgd = jaxloss.pgd_perturbation(loss_fn, x, jax.random.key(0), epsilon=0.2, step_size=0.05, steps=20,
                                   clip_min=-1.0, clip_max=1.0)
    assert jnp.max(jnp.abs(pgd - x)) <= 0.2 + 1e-6
    assert jnp.min(pgd) >= -1.0 and jnp.max(pgd) <= 1.0
    assert loss_fn(pgd) >= loss_fn(adv) - 1e-3


def test_adversarial_loss_mixes_clean_and_adversarial():
    loss_fn = lambda x: jnp.sum(x**2)  # noqa: E731
    x = jnp.array([1.0, -2.0])
    np.testing.assert_allclose(jaxloss.adversarial_loss(loss_fn, x, epsilon=0.1), 0.5 * (5.0 + 5.62), rtol=1e-6)
    pgd = jaxloss.adversarial_loss(loss_fn, x, epsilon=0.1, method="pgd", key=jax.random.key(0),
                                   adversarial_weight=1.0, steps=10)
    np.testing.assert_allclose(pgd, 5.62, rtol=1e-5)
    with pytest.raises(ValueError, match="adversarial_loss: method='pgd' needs a PRNG key"):
        jaxloss.adversarial_loss(loss_fn, x, epsilon=0.1, method="pgd")


def test_trades_reduces_to_clean_cross_entropy_at_zero_epsilon():
    rng = np.random.default_rng(0)
    w = jnp.asarray(rng.standard_normal((5, 3)), jnp.float32)
    logits_fn = lambda x: jnp.tanh(x) @ w  # noqa: E731
    x = jnp.asarray(rng.standard_normal((8, 5)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 3, 8))
    ce = optax.losses.softmax_cross_entropy_with_integer_labels(logits_fn(x), y).mean()
    np.testing.assert_allclose(jaxloss.trades_loss(logits_fn, x, y, jax.random.key(0), epsilon=0.0), ce, rtol=1e-6)
    robust = jaxloss.trades_loss(logits_fn, x, y, jax.random.key(0), epsilon=0.3, beta=6.0, steps=5)
    assert robust > ce
    grads = jax.grad(lambda w_: jaxloss.trades_loss(lambda z: jnp.tanh(z) @ w_, x, y, jax.random.key(0),
                                                    epsilon=0.3, steps=3))(w)
    assert np.all(np.isfinite(grads)) and np.any(grads != 0)
