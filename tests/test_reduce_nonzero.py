"""``reduction="mean_nonzero"`` (PML's ``AvgNonZeroReducer``) against pytorch-metric-learning,
across devices, and refused by name where a loss's mean has its own normaliser."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("reduce_nonzero")


@pytest.mark.parametrize("margin", [0.3, 1.0])
def test_triplets_average_over_positive_losses_like_pml(margin, x64):
    a, p, n = G["a"], G["p"], G["n"]

    @jax.jit
    def both(a, p, n):
        def f(reduction):
            return lambda a, p, n: jaxloss.triplet_margin_loss(a, p, n, margin=margin, eps=0.0,
                                                               reduction=reduction)

        value, grads = jax.value_and_grad(f("mean_nonzero"), (0, 1, 2))(a, p, n)
        return value, grads, f("none")(a, p, n), f("mean")(a, p, n)

    value, grads, none, mean = both(a, p, n)
    assert 0 < int(np.sum(none > 0)) < none.size  # the indicator matters here
    np.testing.assert_allclose(value, G[f"triplet_{margin}"], rtol=1e-10)
    np.testing.assert_allclose(np.stack(grads), G[f"triplet_{margin}_grad"], rtol=1e-8, atol=1e-12)
    assert float(value) > float(mean)


def test_supcon_and_the_cross_device_count(x64):
    x, labels = G["supcon_x"], G["supcon_labels"]

    @jax.jit
    def both(x):
        def f(x):
            return jaxloss.supervised_contrastive_loss(x, labels, temperature=0.5, reduction="mean_nonzero")

        def per_device(xs, ls):  # two "devices" of 4 rows: the count of positive terms is global
            return jaxloss.supervised_contrastive_loss(xs, ls, temperature=0.5, axis_name="d",
                                                       reduction="mean_nonzero")

        sharded = jax.vmap(per_device, axis_name="d")(x.reshape(2, 4, -1), labels.reshape(2, 4))
        return jax.value_and_grad(f)(x), sharded

    (value, grad), sharded = both(x)
    np.testing.assert_allclose(value, G["supcon"], rtol=1e-10)
    np.testing.assert_allclose(grad, G["supcon_grad"], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(sharded, [G["supcon"]] * 2, rtol=1e-10)


def test_nothing_positive_is_zero_with_zero_gradients():
    a = jnp.zeros((3, 2))
    far = jnp.full((3, 2), 10.0)
    value, grad = jax.jit(jax.value_and_grad(
        lambda a: jaxloss.triplet_margin_loss(a, a, a + far, reduction="mean_nonzero")))(a)
    assert float(value) == 0.0 and not np.any(grad)


def test_losses_with_their_own_normaliser_refuse_it_by_name():
    x, labels = jnp.ones((4, 3)), jnp.array([0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"batch_contrastive_loss: reduction='mean_nonzero'.*own normaliser"):
        jaxloss.batch_contrastive_loss(x, labels, reduction="mean_nonzero")
    with pytest.raises(ValueError, match=r"reduction must be one of \('mean', 'sum', 'none', 'mean_nonzero'\)"):
        jaxloss.huber_loss(x, x, reduction="nonzero")  # type: ignore[arg-type]
