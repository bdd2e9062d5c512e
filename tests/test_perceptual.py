"""Perceptual losses with a small random Flax CNN, Gram matrices and total variation by hand."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

import jaxloss


class TinyCNN(nn.Module):
    @nn.compact
    def __call__(self, x):
        a = nn.relu(nn.Conv(4, (3, 3))(x))
        b = nn.relu(nn.Conv(6, (3, 3), strides=2)(a))
        return a, b


def _setup():
    rng = np.random.default_rng(0)
    model = TinyCNN()
    x = jnp.asarray(rng.standard_normal((2, 8, 8, 3)), jnp.float32)
    y = jnp.asarray(rng.standard_normal((2, 8, 8, 3)), jnp.float32)
    params = model.init(jax.random.key(0), x)
    return (lambda images: model.apply(params, images)), x, y


def test_perceptual_loss_with_a_flax_cnn():
    feature_fn, x, y = _setup()
    a_x, b_x = feature_fn(x)
    a_y, b_y = feature_fn(y)
    expected = np.mean((a_x - a_y) ** 2, axis=(1, 2, 3)) + 0.5 * np.mean((b_x - b_y) ** 2, axis=(1, 2, 3))
    out = jaxloss.perceptual_loss(feature_fn, x, y, layer_weights=(1.0, 0.5), reduction="none")
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    l1 = jaxloss.perceptual_loss(feature_fn, x, y, distance="l1")
    np.testing.assert_allclose(l1, np.mean(np.abs(a_x - a_y)) + np.mean(np.abs(b_x - b_y)), rtol=1e-5)
    assert jaxloss.perceptual_loss(feature_fn, x, x) == 0.0


def test_targets_features_carry_no_gradient():
    feature_fn, x, y = _setup()
    grad_y = jax.grad(lambda t: jaxloss.perceptual_loss(feature_fn, x, t))(y)
    np.testing.assert_array_equal(grad_y, 0.0)
    grad_x = jax.grad(lambda p: jaxloss.style_loss(feature_fn, p, y))(x)
    assert np.all(np.isfinite(grad_x)) and np.any(grad_x != 0)


def test_gram_matrix_normalisation_and_style_loss_by_hand():
    f = jnp.array([[[[1.0, 0.0], [2.0, 1.0]]]])  # [1, 1, 2, 2]: two positions, two channels
    gram = jaxloss.perceptual.gram_matrix(f)
    # F^T F = [[1 + 4, 2], [2, 1]], divided by C H W = 2 * 1 * 2.
    np.testing.assert_allclose(gram[0], np.array([[5.0, 2.0], [2.0, 1.0]]) / 4)
    out = jaxloss.style_loss(lambda x: x, f, jnp.zeros_like(f), reduction="none")
    np.testing.assert_allclose(out, [(25 + 4 + 4 + 1) / 16])


def test_total_variation_matches_tf_image_definition():
    x = jnp.array([[1.0, 3.0, 2.0], [0.0, 0.0, 5.0]])[None, :, :, None]
    # Vertical |0-1| + |0-3| + |5-2| = 7; horizontal |3-1| + |2-3| + |0-0| + |5-0| = 8.
    np.testing.assert_allclose(jaxloss.total_variation_loss(x, reduction="none"), [15.0])
    grad = jax.grad(jaxloss.total_variation_loss)(jnp.zeros((1, 2, 2, 1)))
    np.testing.assert_array_equal(grad, 0.0)
