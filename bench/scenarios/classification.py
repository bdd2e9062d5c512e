"""Classification benchmarks: softmax cross-entropy and sigmoid focal loss, forward + backward."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bench.harness import Scenario, jax_fwd_bwd, torch_fwd_bwd

CE_FULL, CE_QUICK = (4096, 1000), (512, 100)
FOCAL_FULL, FOCAL_QUICK = (65536, 80), (4096, 80)


def _ce_inputs(quick: bool):
    n, c = CE_QUICK if quick else CE_FULL
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, c)).astype(np.float32), rng.integers(0, c, n).astype(np.int32)


def _focal_inputs(quick: bool):
    shape = FOCAL_QUICK if quick else FOCAL_FULL
    rng = np.random.default_rng(0)
    logits = (2 * rng.standard_normal(shape)).astype(np.float32)
    labels = (rng.uniform(size=shape) < 0.1).astype(np.float32)  # sparse positives, as in detection
    return logits, labels


def _torch_runner(loss: Callable, logits: np.ndarray) -> Callable[[], object]:
    import torch

    return torch_fwd_bwd(loss, torch.tensor(logits, requires_grad=True))


# --------------------------------------------------------------------------- cross-entropy


def ce_jaxloss(quick: bool):
    import jax.numpy as jnp

    import jaxloss

    logits, labels = _ce_inputs(quick)
    y = jnp.asarray(labels)
    return jax_fwd_bwd(lambda x: jaxloss.softmax_cross_entropy(x, y), logits)


def ce_optax(quick: bool):
    import jax.numpy as jnp
    import optax

    logits, labels = _ce_inputs(quick)
    y = jnp.asarray(labels)
    return jax_fwd_bwd(lambda x: optax.losses.softmax_cross_entropy_with_integer_labels(x, y).mean(), logits)


def ce_torch(quick: bool):
    import torch
    import torch.nn.functional as F

    logits, labels = _ce_inputs(quick)
    y = torch.tensor(labels).long()
    return _torch_runner(lambda x: F.cross_entropy(x, y), logits)


# --------------------------------------------------------------------------- sigmoid focal


def focal_jaxloss(quick: bool):
    import jax.numpy as jnp

    import jaxloss

    logits, labels = _focal_inputs(quick)
    y = jnp.asarray(labels)
    return jax_fwd_bwd(lambda x: jaxloss.sigmoid_focal_loss(x, y, alpha=0.25, gamma=2.0), logits)


def focal_optax(quick: bool):
    import jax.numpy as jnp
    import optax

    logits, labels = _focal_inputs(quick)
    y = jnp.asarray(labels)
    return jax_fwd_bwd(lambda x: optax.losses.sigmoid_focal_loss(x, y, alpha=0.25, gamma=2.0).mean(), logits)


def torchvision_focal(inputs, targets, alpha: float = 0.25, gamma: float = 2.0):
    """torchvision.ops.sigmoid_focal_loss's formula (torchvision itself is optional), mean."""
    import torch
    import torch.nn.functional as F

    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return (alpha_t * loss).mean()


def focal_torch(quick: bool):
    import torch

    logits, labels = _focal_inputs(quick)
    y = torch.tensor(labels)
    return _torch_runner(lambda x: torchvision_focal(x, y), logits)


SCENARIOS = [
    Scenario(
        name="cross_entropy",
        family="classification",
        shape=f"[{CE_FULL[0]}, {CE_FULL[1]}] f32, integer labels",
        quick_shape=f"[{CE_QUICK[0]}, {CE_QUICK[1]}] f32",
        impls={"jaxloss": ce_jaxloss, "optax": ce_optax, "torch": ce_torch},
        target="<= 1.05x optax",
    ),
    Scenario(
        name="sigmoid_focal",
        family="classification",
        shape=f"[{FOCAL_FULL[0]}, {FOCAL_FULL[1]}] f32, alpha=0.25, gamma=2",
        quick_shape=f"[{FOCAL_QUICK[0]}, {FOCAL_QUICK[1]}] f32",
        impls={"jaxloss": focal_jaxloss, "optax": focal_optax, "torch": focal_torch},
        target="<= 0.4x optax, <= 1.0x torch",
    ),
]
