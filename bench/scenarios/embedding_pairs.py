"""Triplet losses with in-batch mining, forward + backward: jaxloss vs pytorch-metric-learning.

Batch-hard: ``triplet_loss(mining="batch_hard")`` vs PML ``BatchHardMiner`` +
``TripletMarginLoss`` (euclidean ``LpDistance(normalize_embeddings=False)``; PML
averages the non-zero triplets, jaxloss all valid anchors: the same work).
Semi-hard: ``triplet_loss(mining="semi_hard")`` (TF-Addons rule, per positive pair)
vs PML ``TripletMarginMiner(type_of_triplets="semihard")`` + ``TripletMarginLoss``
(every semi-hard triplet): the closest peer PML offers, not the same selection.
triplet_memory_<B> (memory scenarios): every mining at D = 128 against PML
batch-hard; soft-margin batch-all (the only mining with B^3 work, done in anchor
chunks) is only compiled at B = 4096 (about 2e11 softplus evaluations on CPU).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.harness import Scenario, jax_fwd_bwd, torch_fwd_bwd

HARD_FULL, HARD_QUICK = (1024, 128), (256, 64)
SEMI_FULL, SEMI_QUICK = (256, 32), (128, 32)
MEM_SIZES = ((1024, 64), (4096, 128))  # (B at full size, B with --quick)
MEM_DIM, MEM_CLASSES = 128, 64
MEM_MININGS = {"jaxloss": ("batch_hard", False), "semi-hard": ("semi_hard", False),
               "batch-all": ("batch_all", False), "batch-all-soft": ("batch_all", True)}
CLASSES = 32
MARGIN = 0.2
NOTES = ("Semi-hard: PML's TripletMarginMiner('semihard') keeps every semi-hard triplet; jaxloss "
         "follows TF-Addons (one negative per positive pair), so the two compute different losses. "
         "In `triplet_memory_<B>`, B^3 float32 would be 4 GiB at B = 1024 and 256 GiB at B = 4096.")


def _inputs(shape, classes: int = CLASSES):
    rng = np.random.default_rng(0)
    n, d = shape
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True), rng.integers(0, classes, n).astype(np.int32)


def _jax(mining: Any, shape, classes: int = CLASSES, soft_margin: bool = False, run: bool = True):
    import jax.numpy as jnp

    import jaxloss

    x, y = _inputs(shape, classes)
    labels = jnp.asarray(y)
    return jax_fwd_bwd(lambda e: jaxloss.triplet_loss(e, labels, margin=MARGIN, mining=mining,
                                                      soft_margin=soft_margin), x, run=run)


def _pml(miner_name: str, shape, classes: int = CLASSES):
    import torch
    from pytorch_metric_learning import losses, miners
    from pytorch_metric_learning.distances import LpDistance

    x, y = _inputs(shape, classes)
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


def _triplet_memory(sizes: tuple[int, int], mining: str | None, soft: bool = False):
    """Factory of one memory implementation: a jaxloss mining, or PML batch-hard (``mining=None``)."""

    def make(quick: bool):
        b = sizes[1] if quick else sizes[0]
        if mining is None:
            return _pml("hard", (b, MEM_DIM), MEM_CLASSES)
        return _jax(mining, (b, MEM_DIM), MEM_CLASSES, soft, run=not (soft and b > 1024))

    return make


def _triplet_memory_scenario(sizes: tuple[int, int]) -> Scenario:
    impls = {name: _triplet_memory(sizes, mining, soft) for name, (mining, soft) in MEM_MININGS.items()}
    what = f"[{{b}}, {MEM_DIM}] f32, {MEM_CLASSES} classes, jaxloss: batch_hard"
    return Scenario(
        name=f"triplet_memory_{sizes[0]}",
        family="embedding",
        shape=what.format(b=sizes[0]) + ("; batch-all-soft compiled only" if sizes[0] > 1024 else ""),
        quick_shape=what.format(b=sizes[1]),
        impls={**impls, "pml-batch-hard": _triplet_memory(sizes, None)},
        memory=True,
    )


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
    *(_triplet_memory_scenario(sizes) for sizes in MEM_SIZES),
]
