"""Segmentation benchmarks: 3-D Dice loss (softmax, integer targets), forward + backward."""

from __future__ import annotations

import numpy as np

from bench.harness import Scenario, jax_fwd_bwd, torch_fwd_bwd

DICE_FULL, DICE_QUICK = (2, 48, 48, 48, 4), (2, 16, 16, 16, 4)


def _dice_inputs(quick: bool):
    shape = DICE_QUICK if quick else DICE_FULL
    rng = np.random.default_rng(0)
    logits = rng.standard_normal(shape).astype(np.float32)
    labels = rng.integers(0, shape[-1], shape[:-1]).astype(np.int32)
    return logits, labels


def dice_jaxloss(quick: bool):
    import jax.numpy as jnp

    import jaxloss

    logits, labels = _dice_inputs(quick)
    y = jnp.asarray(labels)
    return jax_fwd_bwd(lambda x: jaxloss.dice_loss(x, y), logits)


def dice_monai(quick: bool):
    import torch
    from monai.losses.dice import DiceLoss

    logits, labels = _dice_inputs(quick)
    loss = DiceLoss(softmax=True, to_onehot_y=True)
    # MONAI is channel-first: [B, C, D, H, W] logits and [B, 1, D, H, W] labels.
    x = torch.tensor(np.ascontiguousarray(np.moveaxis(logits, -1, 1)), requires_grad=True)
    y = torch.tensor(labels[:, None]).long()
    return torch_fwd_bwd(lambda x: loss(x, y), x)


SCENARIOS = [
    Scenario(
        name="dice_3d",
        family="segmentation",
        shape=f"[{', '.join(map(str, DICE_FULL))}] f32 logits (channel-last), integer targets, softmax",
        quick_shape=f"[{', '.join(map(str, DICE_QUICK))}] f32",
        impls={"jaxloss": dice_jaxloss, "monai": dice_monai},
        target="<= 0.7x monai",
    ),
]
