"""Triplet losses with in-batch mining, forward + backward: jaxloss vs pytorch-metric-learning.

Batch-hard: ``triplet_loss(mining="batch_hard")`` vs PML ``BatchHardMiner`` +
``TripletMarginLoss`` (euclidean ``LpDistance(normalize_embeddings=False)``; PML
averages the non-zero triplets, jaxloss all valid anchors: the same work).
Semi-hard: ``triplet_loss(mining="semi_hard")`` (TF-Addons rule, per positive pair)
vs PML ``TripletMarginMiner(type_of_triplets="semihard")`` + ``TripletMarginLoss``
(every semi-hard triplet): the closest peer PML offers, not the same selection.
"""

from __future__ import annotations

import numpy as np

from bench.harness import Scenario, jax_fwd_bwd, torch_fwd_bwd

HARD_FULL, HARD_QUICK = (1024, 128), (256, 64)
SEMI_FULL, SEMI_QUICK = (256, 32), (128, 32)
CLASSES = 32
MARGIN = 0.2
NOTES = ("Semi-hard: PML's TripletMarginMiner('semihard') keeps every semi-hard triplet; jaxloss "
         "follows TF-Addons (one negative per positive pair), so the two compute different losses.")


def _inputs(shape):
    rng = np.random.default_rng(0)
    n, d = shape
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True), rng.integers(0, CLASSES, n).astype(np.int32)


def _jax(mining: str, shape):
    import jax.numpy as jnp

    import jaxloss

    x, y = _inputs(shape)
    labels = jnp.asarray(y)
    return jax_fwd_bwd(lambda e: jaxloss.triplet_loss(e, labels, margin=MARGIN, mining=mining), x)


def _pml(miner_name: str, shape):
    import torch
    from pytorch_metric_learning import losses, miners
    from pytorch_metric_learning.distances import LpDistance

    x, y = _inputs(shape)
    distance = LpDistance(normalize_embeddings=False)
    miner = (miners.BatchHardMiner(distance=distance) if miner_name == "hard"
             else miners.TripletMarginMiner(margin=MARGIN, type_of_triplets="semihard", distance=distance))
    loss_fn = losses.TripletMarginLoss(margin=MARGIN, distance=distance)
    labels = torch.tensor(y).long()
    return torch_fwd_bwd(lambda e: loss_fn(e, labels, miner(e, labels)), torch.tensor(x, requires_grad=True))


def hard_jaxloss(quick: bool):
    return _jax("batch_hard", HARD_QUICK if quick else HARD_FULL)


def hard_pml(quick: bool):
    return _pml("hard", HARD_QUICK if quick else HARD_FULL)


def semi_jaxloss(quick: bool):
    return _jax("semi_hard", SEMI_QUICK if quick else SEMI_FULL)


def semi_pml(quick: bool):
    return _pml("semihard", SEMI_QUICK if quick else SEMI_FULL)


SCENARIOS = [
    Scenario(
        name="triplet_batch_hard",
        family="embedding",
        shape=f"[{HARD_FULL[0]}, {HARD_FULL[1]}] f32, {CLASSES} classes",
        quick_shape=f"[{HARD_QUICK[0]}, {HARD_QUICK[1]}] f32",
        impls={"jaxloss": hard_jaxloss, "pml": hard_pml},
        target="<= 0.5x pml",
    ),
    Scenario(
        name="triplet_semi_hard",
        family="embedding",
        shape=f"[{SEMI_FULL[0]}, {SEMI_FULL[1]}] f32, {CLASSES} classes",
        quick_shape=f"[{SEMI_QUICK[0]}, {SEMI_QUICK[1]}] f32",
        impls={"jaxloss": semi_jaxloss, "pml": semi_pml},
    ),
]
