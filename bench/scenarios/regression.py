"""Regression benchmarks: elementwise losses, forward + backward w.r.t. the predictions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bench.harness import Scenario, jax_fwd_bwd, torch_fwd_bwd

FULL, QUICK = 1_000_000, 250_000


def _inputs(quick: bool) -> tuple[np.ndarray, np.ndarray]:
    n = QUICK if quick else FULL
    rng = np.random.default_rng(0)
    predictions = (2 * rng.standard_normal(n)).astype(np.float32)  # ~1/3 of residuals beyond delta=1
    targets = rng.standard_normal(n).astype(np.float32)
    return predictions, targets


def _jax(loss: Callable) -> Callable[[bool], Callable[[], object]]:
    """Factory timing ``jax.value_and_grad(lambda p: loss(p, t))`` under ``jax.jit``."""

    def make(quick: bool) -> Callable[[], object]:
        import jax

        predictions, targets = _inputs(quick)
        t = jax.device_put(targets)
        return jax_fwd_bwd(lambda p: loss(p, t), predictions)

    return make


def _torch(loss_name: str) -> Callable[[bool], Callable[[], object]]:
    """Factory timing ``torch.nn.functional.<loss_name>`` (mean) + ``backward``."""

    def make(quick: bool) -> Callable[[], object]:
        import torch
        import torch.nn.functional as F

        loss = getattr(F, loss_name)
        predictions, targets = _inputs(quick)
        t = torch.tensor(targets)
        return torch_fwd_bwd(lambda p: loss(p, t), torch.tensor(predictions, requires_grad=True))

    return make


def _jaxloss(name: str) -> Callable[[bool], Callable[[], object]]:
    def make(quick: bool) -> Callable[[], object]:
        import jaxloss

        return _jax(getattr(jaxloss, name))(quick)

    return make


def _optax(name: str) -> Callable[[bool], Callable[[], object]]:
    def make(quick: bool) -> Callable[[], object]:
        import optax

        loss = getattr(optax.losses, name)
        return _jax(lambda p, t: loss(p, t).mean())(quick)

    return make


def _scenario(name: str, torch_name: str | None, shape: str = f"[{FULL:_}] f32") -> Scenario:
    """jaxloss.<name> vs optax.losses.<name> (mean) [vs torch.nn.functional.<torch_name>]."""
    impls = {"jaxloss": _jaxloss(name), "optax": _optax(name)}
    if torch_name:
        impls["torch"] = _torch(torch_name)
    return Scenario(name=name.removesuffix("_loss"), family="regression", shape=shape,
                    quick_shape=f"[{QUICK:_}] f32", impls=impls, target="<= 1.05x optax")


SCENARIOS = [
    _scenario("huber_loss", "huber_loss", shape=f"[{FULL:_}] f32, delta=1"),
    _scenario("squared_error", "mse_loss"),
    _scenario("log_cosh", None),
]
