"""Multi-task composition and regularisers against paper formulas, optax and SciPy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.stats

import jaxloss


def test_weighted_sum_pytree_and_none():
    losses = {"a": jnp.array(2.0), "b": [jnp.array(3.0), jnp.array(1.0)]}
    weights = {"a": 0.5, "b": [2.0, 4.0]}
    assert jaxloss.weighted_sum(losses, weights) == 11.0
    terms = jaxloss.weighted_sum(losses, weights, reduction="none")
    assert terms["b"][1] == 4.0
    with pytest.raises(ValueError, match="weighted_sum: losses must be a pytree of scalars"):
        jaxloss.weighted_sum({"a": jnp.ones(2), "b": jnp.ones(2)}, {"a": 1.0, "b": 1.0})


@pytest.mark.parametrize("name, args", [
    ("weighted_sum", (jnp.array([1.0, 2.0]), jnp.array([1.0, 1.0]))),
    ("uncertainty_weighting", (jnp.array([1.0, 2.0]), jnp.zeros(2))),
    ("gradnorm_loss", (jnp.array([1.0, 3.0]), jnp.ones(2), jnp.ones(2))),
])
def test_task_level_sums_reject_mean(name, args):
    # Wave 1 returned the sum for "mean": a silent surprise for anyone expecting an average.
    fn = jaxloss.get(name)
    assert float(fn(*args, reduction="sum")) == float(fn(*args))
    with pytest.raises(ValueError, match=f"{name}: reduction='mean' is not supported: the loss is a sum over tasks"):
        fn(*args, reduction="mean")


def test_uncertainty_weighting_optimum_is_log_loss():
    losses = jnp.array([0.5, 2.0, 8.0])
    s_star = jnp.log(losses)
    grad = jax.grad(lambda s: jaxloss.uncertainty_weighting(losses, s))(s_star)
    np.testing.assert_allclose(grad, 0.0, atol=1e-6)
    np.testing.assert_allclose(jaxloss.uncertainty_weighting(losses, s_star), 3 + jnp.sum(s_star), rtol=1e-6)


def test_dynamic_weight_average_paper_formula():
    history = jnp.array([[2.0, 1.0, 4.0], [1.0, 1.0, 1.0]])
    r = np.array([0.5, 1.0, 0.25])
    expected = 3 * np.exp(r / 2) / np.exp(r / 2).sum()
    np.testing.assert_allclose(jaxloss.dynamic_weight_average(history), expected, rtol=1e-6)
    np.testing.assert_allclose(jaxloss.dynamic_weight_average(history[:1]), 1.0)


def test_pcgrad_projects_onto_original_gradients():
    g = jnp.array([[1.0, 0.0, 0.0], [-1.0, 1.0, 0.0], [0.0, -1.0, 1.0]])
    out = jaxloss.pcgrad({"w": g})["w"]
    # Hand computation, each task visiting the others in index order:
    g0 = np.array([1.0, 0, 0]) - (-1 / 2) * np.array([-1.0, 1, 0])  # with g1 -> [.5, .5, 0]
    g0 = g0 - (-0.5 / 2) * np.array([0, -1.0, 1])  # now conflicts with g2 too (Alg. 1 uses g_i^PC)
    g1 = np.array([-1.0, 1, 0]) - (-1 / 1) * np.array([1.0, 0, 0])  # with g0 -> [0, 1, 0]
    g1 = g1 - (-1 / 2) * np.array([0, -1.0, 1])  # then with g2
    g2 = np.array([0, -1.0, 1]) - (-1 / 2) * np.array([-1.0, 1, 0])  # g2.g0 = 0: only g1
    np.testing.assert_allclose(out, g0 + g1 + g2, rtol=1e-6)
    no_conflict = jnp.array([[1.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(jaxloss.pcgrad(no_conflict), [1.0, 2.0])
    np.testing.assert_allclose(jaxloss.pcgrad(jnp.array([[0.0, 0.0], [1.0, 1.0]])), [1.0, 1.0])


def test_pcgrad_pytree_dot_products_and_random_order():
    grads = {"a": jnp.array([[1.0], [-1.0]]), "b": jnp.array([[0.0, 0.0], [1.0, 0.0]])}
    out = jaxloss.pcgrad(grads, key=jax.random.key(0))
    # Whole-tree vectors: g0 = (1, 0, 0), g1 = (-1, 1, 0); dot = -1 < 0.
    np.testing.assert_allclose(out["a"], [0.5])
    np.testing.assert_allclose(out["b"], [1.5, 0.0])


def test_pcgrad_in_an_optax_training_step():
    w0 = {"w": jnp.array([0.0, 0.0])}
    targets = jnp.array([[1.0, 0.0], [-1.0, 1.0]])
    task_losses = lambda p: jnp.sum((p["w"][None] - targets) ** 2, axis=1)  # noqa: E731
    opt = optax.sgd(0.1)

    @jax.jit
    def step(params, state):
        task_grads = jax.jacrev(task_losses)(params)
        updates, state = opt.update(jaxloss.pcgrad(task_grads), state, params)
        return optax.apply_updates(params, updates), state

    params, state = w0, opt.init(w0)
    for _ in range(50):
        params, state = step(params, state)
    assert jnp.all(jnp.isfinite(params["w"]))
    assert jnp.sum(task_losses(params)) < jnp.sum(task_losses(w0))


def test_gradnorm_target_is_constant_and_gradient_flows_to_weights():
    g = jnp.array([1.0, 3.0])
    losses, initial = jnp.array([0.5, 1.0]), jnp.array([1.0, 1.0])
    r = np.array([0.5, 1.0]) / 0.75
    expected = np.abs(g - 2.0 * r**1.5).sum()
    np.testing.assert_allclose(jaxloss.gradnorm_loss(g, losses, initial), expected, rtol=1e-6)
    grad = jax.grad(lambda g: jaxloss.gradnorm_loss(g, losses, initial))(g)
    np.testing.assert_allclose(grad, np.sign(np.asarray(g) - 2.0 * r**1.5))


def test_regularizers_against_optax_and_sklearn_penalty():
    rng = np.random.default_rng(0)
    params = {"w": rng.standard_normal((3, 4)).astype(np.float32), "b": rng.standard_normal(4).astype(np.float32)}
    flat = np.concatenate([params["w"].ravel(), params["b"]])
    np.testing.assert_allclose(
        jaxloss.l2_regularization(params),
        sum(optax.l2_loss(x).sum() for x in jax.tree.leaves(params)), rtol=1e-6,
    )
    np.testing.assert_allclose(jaxloss.l1_regularization(params), np.abs(flat).sum(), rtol=1e-6)
    # scikit-learn's ElasticNet penalty: alpha * (l1_ratio |w|_1 + 0.5 (1 - l1_ratio) |w|_2^2).
    np.testing.assert_allclose(
        jaxloss.elastic_net(params, alpha=0.3, l1_ratio=0.2),
        0.3 * (0.2 * np.abs(flat).sum() + 0.5 * 0.8 * (flat**2).sum()), rtol=1e-6,
    )
    masked = jaxloss.l2_regularization(params, mask=lambda p: {"w": True, "b": False})
    np.testing.assert_allclose(masked, 0.5 * (params["w"] ** 2).sum(), rtol=1e-6)
    np.testing.assert_array_equal(jax.grad(jaxloss.l1_regularization)(jnp.zeros(3)), 0.0)
    with pytest.raises(TypeError, match="l1_regularization: params must have a floating dtype"):
        jaxloss.l1_regularization({"w": jnp.ones(3, jnp.int32)})


def test_prior_matching_against_scipy_entropy():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(4), 16).astype(np.float32)
    prior = np.array([0.4, 0.3, 0.3, 0.0], np.float32)
    expected = scipy.stats.entropy(prior, probs.mean(0))
    np.testing.assert_allclose(jaxloss.prior_matching_loss(probs, prior), expected, rtol=1e-5)
    grad = jax.grad(lambda p: jaxloss.prior_matching_loss(p, prior))(probs)
    assert np.all(np.isfinite(grad))
    where = np.arange(16) < 8
    np.testing.assert_allclose(
        jaxloss.prior_matching_loss(probs, prior, where=where),
        scipy.stats.entropy(prior, probs[:8].mean(0)), rtol=1e-5,
    )
