"""Goldens for issue 17's OT odds and ends (float64): energy distance, Bures–Wasserstein, max-sliced.

Anchors: SciPy ``stats.energy_distance`` (1-D, returns sqrt(E)); geomloss 0.3.1
``SamplesLoss("energy", backend="tensorized")`` (returns E / 2; values and torch
autograd gradients); POT 0.9.7 ``ot.gaussian.bures_wasserstein_distance`` and
``empirical_bures_wasserstein_distance`` and ``ot.max_sliced_wasserstein_distance``
on torch tensors (values and autograd gradients); ott-jax ``costs.Bures`` (W^2 and
jax gradients).
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import ot
import scipy.stats
import torch

jax.config.update("jax_enable_x64", True)

torch.set_default_dtype(torch.float64)


def _t(a):
    return torch.tensor(a, requires_grad=True)


def _grads(*ts):
    return [t.grad.numpy().copy() for t in ts]


def _spd(rng, d, rank=None):
    g = rng.standard_normal((d, rank or d))
    return g @ g.T / d + (0.1 * np.eye(d) if rank is None else 0.0)


def _energy(out, rng):
    from geomloss import SamplesLoss

    u, v = rng.standard_normal(7) * 1.5, rng.standard_normal(5) + 0.7
    wu, wv = rng.uniform(0.1, 1.0, 7), rng.uniform(0.1, 1.0, 5)
    out["e1/u"], out["e1/v"], out["e1/wu"], out["e1/wv"] = u, v, wu, wv
    out["e1/scipy"] = np.array(scipy.stats.energy_distance(u, v))
    out["e1/scipy_weighted"] = np.array(scipy.stats.energy_distance(u, v, wu, wv))
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((5, 3)) * 1.3 + 0.4
    a, b = rng.uniform(0.1, 1.0, 6), rng.uniform(0.1, 1.0, 5)
    a, b = a / a.sum(), b / b.sum()  # geomloss takes probability vectors
    out["e3/x"], out["e3/y"], out["e3/a"], out["e3/b"] = x, y, a, b
    loss = SamplesLoss("energy", backend="tensorized")
    for tag, weighted in (("uniform", False), ("weighted", True)):
        tx, ty = _t(x), _t(y)
        if weighted:
            ta, tb = _t(a), _t(b)
            value = loss(ta, tx, tb, ty)
        else:
            value = loss(tx, ty)
        value.backward()
        out[f"e3/{tag}/half_energy"] = value.detach().numpy()
        out[f"e3/{tag}/grad_x"], out[f"e3/{tag}/grad_y"] = _grads(tx, ty)
        if weighted:
            out[f"e3/{tag}/grad_a"], out[f"e3/{tag}/grad_b"] = _grads(ta, tb)


def _ott_bures(bures, m1, c1, m2, c2):
    """ott's Bures cost on its packed ``[mean, flattened covariance]`` vectors."""
    pack = lambda m, c: jax.numpy.concatenate([m, c.reshape(-1)])  # noqa: E731
    return bures(pack(m1, c1), pack(m2, c2))


def _gaussian(out, rng):
    from ott.geometry import costs

    d = 3
    mx, my = rng.standard_normal(d), rng.standard_normal(d)
    cases = {"full": (_spd(rng, d), _spd(rng, d)), "rank2": (_spd(rng, d, rank=2), _spd(rng, d))}
    out["g/mx"], out["g/my"] = mx, my
    for tag, (cx, cy) in cases.items():
        out[f"g/{tag}/cx"], out[f"g/{tag}/cy"] = cx, cy
        tm, tc, un, uc = _t(mx), _t(cx), _t(my), _t(cy)
        w = ot.gaussian.bures_wasserstein_distance(tm, un, tc, uc)
        out[f"g/{tag}/pot_w"] = w.detach().numpy()
        if tag == "full":
            w.backward()
            g = _grads(tm, tc, un, uc)
            for name, arr in zip(("mx", "cx", "my", "cy"), g, strict=True):
                out[f"g/{tag}/pot_grad_{name}"] = arr
        f = functools.partial(_ott_bures, costs.Bures(dimension=d))
        value, grads = jax.value_and_grad(f, (0, 1, 2, 3))(mx, cx, my, cy)
        out[f"g/{tag}/ott_w2"] = np.asarray(value)
        if tag == "full":
            for name, arr in zip(("mx", "cx", "my", "cy"), grads, strict=True):
                out[f"g/{tag}/ott_grad_{name}"] = np.asarray(arr)


def _empirical(out, rng):
    x, y = (
        rng.standard_normal((8, 3)),
        rng.standard_normal((7, 3)) @ rng.standard_normal((3, 3)) + 0.5,
    )
    a, b = rng.uniform(0.1, 1.0, 8), rng.uniform(0.1, 1.0, 7)
    out["eg/x"], out["eg/y"], out["eg/a"], out["eg/b"] = x, y, a, b
    for tag, kwargs, weighted in (
        ("default", {}, False),
        ("nobias", {"bias": False}, False),
        ("reg", {"reg": 1e-2}, False),
        ("weighted", {}, True),
    ):
        tx, ty = _t(x), _t(y)
        extra = {}
        if weighted:
            ta, tb = _t(a[:, None]), _t(b[:, None])  # POT takes [n, 1] weight columns
            extra = {"ws": ta, "wt": tb}
        w = ot.gaussian.empirical_bures_wasserstein_distance(tx, ty, **kwargs, **extra)
        w.backward()
        out[f"eg/{tag}/pot_w"] = w.detach().numpy()
        out[f"eg/{tag}/grad_x"], out[f"eg/{tag}/grad_y"] = _grads(tx, ty)
        if weighted:
            out[f"eg/{tag}/grad_a"], out[f"eg/{tag}/grad_b"] = (g[:, 0] for g in _grads(ta, tb))


def _max_sliced(out, rng):
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((5, 3)) * 1.5 + 0.3
    proj = rng.standard_normal((3, 8))
    proj /= np.linalg.norm(proj, axis=0, keepdims=True)
    b = rng.uniform(0.1, 1.0, 5)
    b /= b.sum()  # POT does not normalise the weights
    out["ms/x"], out["ms/y"], out["ms/proj"], out["ms/b"] = x, y, proj, b
    for tag, p, weighted in (("p1", 1, False), ("p2", 2, False), ("p2_weighted", 2, True)):
        tx, ty = _t(x), _t(y)
        kw = {"b": torch.tensor(b)} if weighted else {}
        value = ot.max_sliced_wasserstein_distance(
            tx, ty, projections=torch.tensor(proj), p=p, **kw
        )
        value.backward()
        out[f"ms/{tag}/pot"] = value.detach().numpy()
        out[f"ms/{tag}/grad_x"], out[f"ms/{tag}/grad_y"] = _grads(tx, ty)


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(17)
    out: dict[str, np.ndarray] = {}
    for part in (_energy, _gaussian, _empirical, _max_sliced):
        part(out, rng)
    return {k: np.asarray(v) for k, v in out.items()}
