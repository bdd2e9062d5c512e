"""Issue 17 OT odds and ends: values and gradients vs SciPy, geomloss, POT and ott-jax goldens."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss
from jaxloss.distribution import (
    empirical_gaussian_wasserstein,
    energy_distance,
    gaussian_wasserstein,
    max_sliced_wasserstein,
)

R = load("distribution_extra")


# --------------------------------------------------------------------------- energy distance


def test_energy_1d_matches_scipy(x64):
    u, v = R["e1/u"][:, None], R["e1/v"][:, None]
    np.testing.assert_allclose(energy_distance(u, v, squared=False), R["e1/scipy"], rtol=1e-12)
    out = energy_distance(
        u, v, R["e1/wu"], R["e1/wv"], squared=False
    )  # SciPy normalises the weights
    np.testing.assert_allclose(out, R["e1/scipy_weighted"], rtol=1e-12)


@pytest.mark.parametrize("tag", ["uniform", "weighted"])
def test_energy_matches_geomloss_value_and_gradients(tag):
    x, y, a, b = (jnp.asarray(R[f"e3/{k}"], jnp.float32) for k in "xyab")
    weights = (a, b) if tag == "weighted" else (None, None)
    argnums = (0, 1, 2, 3) if tag == "weighted" else (0, 1)

    def half(x, y, a=None, b=None):  # geomloss SamplesLoss("energy") is E / 2
        return energy_distance(x, y, a, b) / 2

    value, grads = jax.value_and_grad(half, argnums)(x, y, *weights)
    # geomloss floors every distance at sqrt(1e-8) = 1e-4, the zero self-distances included:
    # its E/2 is ours minus (1e-4 / 2) * (sum a_i^2 + sum b_j^2); the floor has no gradient.
    wa = R["e3/a"] if tag == "weighted" else np.full(6, 1 / 6)
    wb = R["e3/b"] if tag == "weighted" else np.full(5, 1 / 5)
    floor = 0.5e-4 * (np.sum(wa**2) + np.sum(wb**2))
    np.testing.assert_allclose(value, R[f"e3/{tag}/half_energy"] + floor, rtol=2e-6)
    expected = {name: R[f"e3/{tag}/grad_{name}"] for name in ("x", "y")}
    if tag == "weighted":
        # geomloss takes the weights as given; ours are normalised, so our weight gradient is
        # geomloss's (plus the floor's 1e-4 * w) projected onto sum(dw) = 0 (the weights sum to 1).
        for name, w in (("a", wa), ("b", wb)):
            g = R[f"e3/{tag}/grad_{name}"] + 1e-4 * w
            expected[name] = g - np.dot(w, g)
    for g, name in zip(grads, ("x", "y", "a", "b"), strict=False):
        np.testing.assert_allclose(g, expected[name], rtol=1e-4, atol=1e-6, err_msg=name)


def test_energy_identical_and_coincident_points_have_finite_gradients():
    x = jnp.asarray(np.random.default_rng(0).standard_normal((5, 2)), jnp.float32)
    value, grads = jax.value_and_grad(energy_distance, (0, 1))(x, x)
    assert float(value) == 0.0
    np.testing.assert_allclose(grads[0], 0.0, atol=1e-6)
    dup = x.at[1].set(x[0])  # coincident points inside one cloud
    assert np.all(np.isfinite(jax.grad(energy_distance)(dup, x + 1.0)))
    root = jax.grad(lambda x, y: energy_distance(x, y, squared=False))  # sqrt(E) at E = 0
    np.testing.assert_array_equal(root(x, x), 0.0)


def _moments(tag):
    return R["g/mx"], R[f"g/{tag}/cx"], R["g/my"], R[f"g/{tag}/cy"]


@pytest.mark.parametrize("tag", ["full", "rank2"])
def test_gaussian_matches_pot_and_ott(tag, x64):
    args = _moments(tag)
    # Rank 2: square roots of eigenvalues at rounding level carry ~1e-10 of compiler-dependent error.
    np.testing.assert_allclose(
        gaussian_wasserstein(*args, squared=False), R[f"g/{tag}/pot_w"], rtol=1e-10 if tag == "full" else 1e-9
    )
    np.testing.assert_allclose(gaussian_wasserstein(*args), R[f"g/{tag}/pot_w"] ** 2, rtol=1e-9)
    # ott's matrix square root is an iterative Newton–Schulz: exact at full rank only.
    np.testing.assert_allclose(
        gaussian_wasserstein(*args), R[f"g/{tag}/ott_w2"], rtol=1e-10 if tag == "full" else 1e-4
    )


def test_gaussian_gradients_match_pot_and_ott(x64):
    args = _moments("full")
    grads = jax.grad(gaussian_wasserstein, (0, 1, 2, 3))(*args, squared=False)
    for g, name in zip(grads, ("mx", "cx", "my", "cy"), strict=True):
        np.testing.assert_allclose(
            g, R[f"g/full/pot_grad_{name}"], rtol=1e-8, atol=1e-12, err_msg=name
        )
    grads = jax.grad(gaussian_wasserstein, (0, 1, 2, 3))(*args)
    for g, name in zip(grads, ("mx", "cx", "my", "cy"), strict=True):
        np.testing.assert_allclose(
            g, R[f"g/full/ott_grad_{name}"], rtol=1e-8, atol=1e-12, err_msg=name
        )


def test_gaussian_rank_deficient_and_zero_covariances_have_finite_gradients():
    m = jnp.zeros(3)
    rank1 = jnp.outer(jnp.array([1.0, 2.0, 0.0]), jnp.array([1.0, 2.0, 0.0]))
    grad = jax.jit(jax.grad(gaussian_wasserstein, (0, 1, 2, 3)), static_argnames="squared")
    for cx, cy in (
        (rank1, rank1),
        (rank1, 2.0 * rank1),
        (jnp.zeros((3, 3)), rank1),
        (jnp.zeros((3, 3)),) * 2,
    ):
        for squared in (True, False):
            grads = grad(m, cx, m + 1.0, cy, squared=squared)
            assert all(np.all(np.isfinite(g)) for g in grads), (cx, cy, squared)
    # Equal Gaussians: W = 0 up to rounding, with finite gradients.
    value = gaussian_wasserstein(m, rank1, m, rank1, squared=False)
    assert float(value) < 1e-3
    assert all(np.all(np.isfinite(g)) for g in grad(m, rank1, m, rank1, squared=False))


def test_gaussian_closed_form_commuting_covariances():
    # Diagonal covariances: W^2 = |dm|^2 + sum (sqrt(s_i) - sqrt(t_i))^2.
    s, t = jnp.array([1.0, 4.0, 0.25]), jnp.array([9.0, 1.0, 0.0])
    dm = jnp.array([1.0, -2.0, 0.5])
    expected = float(jnp.sum(dm**2) + jnp.sum((jnp.sqrt(s) - jnp.sqrt(t)) ** 2))
    np.testing.assert_allclose(
        gaussian_wasserstein(dm, jnp.diag(s), jnp.zeros(3), jnp.diag(t)), expected, rtol=1e-5
    )


def test_gaussian_shape_errors_name_the_function():
    eye = jnp.eye(3)
    with pytest.raises(ValueError, match=r"gaussian_wasserstein.*cov_y"):
        gaussian_wasserstein(jnp.zeros(3), eye, jnp.zeros(3), jnp.eye(2))


@pytest.mark.parametrize(
    ("tag", "kwargs"),
    [("default", {}), ("nobias", {"bias": False}), ("reg", {"reg": 1e-2}), ("weighted", {})],
)
def test_empirical_gaussian_matches_pot(tag, kwargs, x64):
    x, y = R["eg/x"], R["eg/y"]
    weighted = tag == "weighted"
    ab = (R["eg/a"], R["eg/b"]) if weighted else ()
    argnums = (0, 1, 2, 3) if weighted else (0, 1)
    value, grads = jax.value_and_grad(empirical_gaussian_wasserstein, argnums)(
        x, y, *ab, squared=False, **kwargs
    )
    np.testing.assert_allclose(value, R[f"eg/{tag}/pot_w"], rtol=1e-10)
    for g, name in zip(grads, ("x", "y", "a", "b"), strict=False):
        np.testing.assert_allclose(
            g, R[f"eg/{tag}/grad_{name}"], rtol=1e-7, atol=1e-12, err_msg=name
        )


def test_empirical_gaussian_checks_reg_and_accepts_traced_reg():
    x = jnp.ones((4, 2))
    with pytest.raises(ValueError, match="empirical_gaussian_wasserstein: reg must be >= 0"):
        empirical_gaussian_wasserstein(x, x, reg=-1.0)
    g = jax.grad(lambda r: empirical_gaussian_wasserstein(x, x + 1.0, reg=r))(0.1)
    assert np.isfinite(g)
    # Fewer points than dimensions (rank-deficient covariances), no ridge: finite gradients.
    pts = jnp.asarray(np.random.default_rng(2).standard_normal((2, 3)), jnp.float32)
    grads = jax.grad(empirical_gaussian_wasserstein, (0, 1))(pts, 2.0 * pts, reg=0.0)
    assert all(np.all(np.isfinite(g)) for g in grads)


# --------------------------------------------------------------------------- max-sliced


@pytest.mark.parametrize("tag", ["p1", "p2", "p2_weighted"])
def test_max_sliced_matches_pot_value_and_gradients(tag, x64):
    x, y, proj = R["ms/x"], R["ms/y"], R["ms/proj"]
    p = 1.0 if tag == "p1" else 2.0
    kw = {"b": R["ms/b"]} if tag.endswith("weighted") else {}
    value, grads = jax.value_and_grad(max_sliced_wasserstein, (0, 1))(
        x, y, projections=proj, p=p, **kw
    )
    np.testing.assert_allclose(value, R[f"ms/{tag}/pot"], rtol=1e-12)
    np.testing.assert_allclose(grads[0], R[f"ms/{tag}/grad_x"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[1], R[f"ms/{tag}/grad_y"], rtol=1e-10, atol=1e-12)


def test_max_sliced_key_projections_and_identical_inputs():
    rng = np.random.default_rng(3)
    x, y = (
        rng.standard_normal((6, 3)).astype(np.float32),
        rng.standard_normal((5, 3)).astype(np.float32),
    )
    key = jax.random.key(4)
    from jaxloss.distribution._wasserstein import random_projections

    proj = random_projections(key, 3, 20)
    np.testing.assert_allclose(
        max_sliced_wasserstein(x, y, key, num_projections=20),
        max_sliced_wasserstein(x, y, projections=proj),
        rtol=1e-6,
    )
    value, g = jax.value_and_grad(max_sliced_wasserstein)(x, x, key, num_projections=20)
    assert float(value) == 0.0
    np.testing.assert_array_equal(g, 0.0)
    with pytest.raises(ValueError, match="max_sliced_wasserstein"):
        max_sliced_wasserstein(x, y)
    with pytest.raises(ValueError, match="num_projections"):
        max_sliced_wasserstein(x, y, key, num_projections=0)


def test_registered():
    for name in (
        "energy_distance",
        "gaussian_wasserstein",
        "empirical_gaussian_wasserstein",
        "max_sliced_wasserstein",
    ):
        assert name in jaxloss.available("distribution")
