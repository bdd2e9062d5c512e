"""Concrete hyper-parameters outside their domain raise a ``ValueError`` naming the loss
and the bound (traced values are not checked: ``contracts.bounded``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from specs import all_specs

import jaxloss

SPECS = all_specs()

# (loss, keyword, a value outside its domain, the bound the message states)
OUT_OF_DOMAIN = [
    ("softmax_cross_entropy", "label_smoothing", 1.5, "must be >= 0 and <= 1"),
    ("softmax_cross_entropy", "label_smoothing", -0.1, "must be >= 0 and <= 1"),
    ("poly1_cross_entropy", "label_smoothing", 1.5, "must be >= 0 and <= 1"),
    ("poly_loss", "label_smoothing", 2.0, "must be >= 0 and <= 1"),
    ("sigmoid_binary_cross_entropy", "label_smoothing", 1.5, "must be >= 0 and <= 1"),
    ("fused_linear_cross_entropy", "label_smoothing", 1.5, "must be >= 0 and <= 1"),
    ("fused_linear_cross_entropy", "z_loss", -1e-4, "must be >= 0"),
    ("minimax_discriminator_loss", "label_smoothing", 1.5, "must be >= 0 and <= 1"),
    ("sigmoid_focal_loss", "alpha", 1.5, "must be >= 0 and <= 1"),
    ("sigmoid_focal_loss", "gamma", -1.0, "must be >= 0"),
    ("softmax_focal_loss", "gamma", -1.0, "must be >= 0"),
    ("softmax_focal_loss", "alpha", -0.5, "must be >= 0"),
    ("tversky_loss", "alpha", -0.5, "must be >= 0"),
    ("focal_tversky_loss", "gamma", 0.0, "must be > 0"),
    ("r1_penalty", "gamma", -1.0, "must be >= 0"),
    ("trades_loss", "beta", -1.0, "must be >= 0"),
    ("adversarial_loss", "epsilon", -0.1, "must be >= 0"),
    ("approx_ndcg_loss", "temperature", 0.0, "must be > 0"),
    ("kmeans_loss", "temperature", -1.0, "must be > 0"),
    ("sinkhorn_divergence", "epsilon", 0.0, "must be > 0"),
    ("infonce_loss", "temperature", 0.0, "must be > 0"),
    ("ntxent", "temperature", -0.5, "must be > 0"),
    ("supervised_contrastive_loss", "temperature", 0.0, "must be > 0"),
    ("huber_loss", "delta", 0.0, "must be > 0"),
    ("smooth_l1_loss", "beta", -1.0, "must be >= 0"),
    ("quantile_loss", "quantile", 1.5, "must be >= 0 and <= 1"),
    ("quantile_loss", "quantile", float("nan"), "must be >= 0 and <= 1"),
]


def _args(name):
    return SPECS[name].make(np.random.default_rng(0))


@pytest.mark.parametrize("name, keyword, value, bound", OUT_OF_DOMAIN)
def test_out_of_domain_hyperparameters_raise(name, keyword, value, bound):
    kwargs = {**SPECS[name].kwargs, keyword: value}
    with pytest.raises(ValueError, match=f"{name}: {keyword} {bound}, got"):
        jaxloss.get(name)(*_args(name), **kwargs)


@pytest.mark.parametrize("name, keyword", sorted({(n, k) for n, k, _, _ in OUT_OF_DOMAIN
                                                 if n in ("softmax_cross_entropy", "sigmoid_focal_loss", "huber_loss")}))
def test_traced_hyperparameters_are_not_checked(name, keyword):
    # A traced value (learned, scheduled) cannot be checked at trace time: it passes through.
    args, kwargs = _args(name), dict(SPECS[name].kwargs)
    value = {"label_smoothing": 0.1, "alpha": 0.25, "gamma": 2.0, "delta": 1.0}[keyword]
    f = jax.jit(lambda v: jaxloss.get(name)(*args, **{**kwargs, keyword: v}))
    assert np.isfinite(f(jnp.float32(value)))


def test_bounds_in_the_domain_are_accepted():
    x, y = np.zeros((2, 3), np.float32), np.array([0, 2])
    for ls in (0.0, 1.0):
        assert np.isfinite(jaxloss.softmax_cross_entropy(x, y, label_smoothing=ls))
    assert np.isfinite(jaxloss.sigmoid_focal_loss(x, np.ones_like(x), alpha=None, gamma=0.0))
    assert np.isfinite(jaxloss.softmax_focal_loss(x, y, alpha=np.array([0.0, 1.0, 2.0], np.float32)))
