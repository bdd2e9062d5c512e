"""Issue 13's metric-learning scenarios, forward + backward: jaxloss vs pytorch-metric-learning.

B = 1024 embeddings of dim 128 (unit rows), 100 classes (``--quick``: 256, 64, 32).
Each pair is the same loss with the anchor's defaults: Multi-Similarity with its
miner (PML ``MultiSimilarityMiner(epsilon=0.1)`` vs ``jaxloss.multi_similarity_pairs``
on the cosine similarities), Proxy-Anchor, Circle, SubCenterArcFace (3 sub-centres),
Lifted Structure (at B = 256: PML's runs out of memory at 1024), N-pairs (B/2 pairs of distinct classes: PML keeps one pair per class,
so both compute the same [B/2, B/2] cross-entropy) and SoftTriple (10 centres per
class). Proxies and centres are differentiated on both sides (PML's are parameters).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bench.harness import Scenario, jax_fwd_bwd, torch_fwd_bwd

FULL, QUICK = (1024, 128, 100), (256, 64, 32)
# PML's LiftedStructureLoss holds a [positive pairs, B] block per pair: at B = 1024 it was killed
# for memory on this 23 GiB machine, so lifted structure runs at B = 256.
LIFTED_FULL = (256, 128, 100)
CENTERS, SUB_CENTERS = 10, 3


def _inputs(size: tuple[int, int, int]):
    rng = np.random.default_rng(0)
    n, d, c = size
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True), rng.integers(0, c, n).astype(np.int32)


def _matrix(size: tuple[int, int, int], columns: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    return (rng.standard_normal((size[1], columns)) / np.sqrt(size[1])).astype(np.float32)


def _jax_pairs(size, make: Callable[[Any, Any], Any]):
    import jax.numpy as jnp

    x, y = _inputs(size)
    labels = jnp.asarray(y)
    return jax_fwd_bwd(lambda e: make(e, labels), x)


def _jax_matrix(size, columns: int, make: Callable[[Any, Any, Any], Any]):
    import jax.numpy as jnp

    x, y = _inputs(size)
    labels = jnp.asarray(y)
    return jax_fwd_bwd(lambda e, w: make(e, w, labels), x, _matrix(size, columns), argnums=(0, 1))


def _pml(size, build: Callable[[Any, int, int], Any], miner: Any = None):
    import torch

    x, y = _inputs(size)
    loss_fn = build(size[2], size[1])
    labels = torch.tensor(y).long()
    if miner is None:
        return torch_fwd_bwd(lambda e: loss_fn(e, labels), torch.tensor(x, requires_grad=True))
    return torch_fwd_bwd(lambda e: loss_fn(e, labels, miner(e, labels)), torch.tensor(x, requires_grad=True))


def _size(quick: bool) -> tuple[int, int, int]:
    return QUICK if quick else FULL


# --------------------------------------------------------------------------- jaxloss


def ms_jaxloss(quick: bool):
    import jax

    import jaxloss

    def loss(e, labels):
        s = jax.lax.stop_gradient(e @ e.T)  # unit rows: the cosine similarities
        pos, neg = jaxloss.mining.multi_similarity_pairs(s, labels, epsilon=0.1)
        return jaxloss.multi_similarity_loss(e, labels, pos_mask=pos, neg_mask=neg)

    return _jax_pairs(_size(quick), loss)


def proxy_anchor_jaxloss(quick: bool):
    import jaxloss

    size = _size(quick)
    return _jax_matrix(size, size[2], jaxloss.proxy_anchor_loss)


def circle_jaxloss(quick: bool):
    import jaxloss

    return _jax_pairs(_size(quick), jaxloss.circle_loss)


def sub_center_jaxloss(quick: bool):
    import jaxloss

    size = _size(quick)
    return _jax_matrix(size, size[2] * SUB_CENTERS,
                       lambda e, w, y: jaxloss.sub_center_arcface_loss(e, w, y, sub_centers=SUB_CENTERS))


def lifted_jaxloss(quick: bool):
    import jaxloss

    return _jax_pairs(QUICK if quick else LIFTED_FULL, jaxloss.lifted_structure_loss)


def npairs_jaxloss(quick: bool):
    import jaxloss

    x, _ = _inputs(_size(quick))
    half = x.shape[0] // 2
    return jax_fwd_bwd(lambda e: jaxloss.npairs_loss(e[:half], e[half:]), x)


def soft_triple_jaxloss(quick: bool):
    import jaxloss

    size = _size(quick)
    return _jax_matrix(size, size[2] * CENTERS,
                       lambda e, w, y: jaxloss.soft_triple_loss(e, w, y, centers_per_class=CENTERS))


# --------------------------------------------------------------------------- PML


def ms_pml(quick: bool):
    from pytorch_metric_learning import losses, miners

    return _pml(_size(quick), lambda c, d: losses.MultiSimilarityLoss(),
                miners.MultiSimilarityMiner(epsilon=0.1))


def proxy_anchor_pml(quick: bool):
    from pytorch_metric_learning import losses

    return _pml(_size(quick), lambda c, d: losses.ProxyAnchorLoss(num_classes=c, embedding_size=d))


def circle_pml(quick: bool):
    from pytorch_metric_learning import losses

    return _pml(_size(quick), lambda c, d: losses.CircleLoss())


def sub_center_pml(quick: bool):
    from pytorch_metric_learning import losses

    return _pml(_size(quick), lambda c, d: losses.SubCenterArcFaceLoss(
        num_classes=c, embedding_size=d, sub_centers=SUB_CENTERS))


def lifted_pml(quick: bool):
    from pytorch_metric_learning import losses

    return _pml(QUICK if quick else LIFTED_FULL, lambda c, d: losses.LiftedStructureLoss())


def npairs_pml(quick: bool):
    import torch
    from pytorch_metric_learning import losses

    x, _ = _inputs(_size(quick))
    half = x.shape[0] // 2
    labels = torch.cat([torch.arange(half), torch.arange(half)])
    loss_fn = losses.NPairsLoss()
    return torch_fwd_bwd(lambda e: loss_fn(e, labels), torch.tensor(x, requires_grad=True))


def soft_triple_pml(quick: bool):
    from pytorch_metric_learning import losses

    return _pml(_size(quick), lambda c, d: losses.SoftTripleLoss(
        num_classes=c, embedding_size=d, centers_per_class=CENTERS))


def _scenario(name: str, jax_impl, pml_impl, what: str = "", full: tuple[int, int, int] = FULL) -> Scenario:
    return Scenario(
        name=name,
        family="embedding",
        shape=f"[{full[0]}, {full[1]}] f32, {full[2]} classes{what}",
        quick_shape=f"[{QUICK[0]}, {QUICK[1]}] f32, {QUICK[2]} classes",
        impls={"jaxloss": jax_impl, "pml": pml_impl},
        target="<= 0.5x pml",
    )


SCENARIOS = [
    _scenario("multi_similarity_mined", ms_jaxloss, ms_pml, ", MultiSimilarityMiner"),
    _scenario("proxy_anchor", proxy_anchor_jaxloss, proxy_anchor_pml),
    _scenario("circle", circle_jaxloss, circle_pml),
    _scenario("sub_center_arcface", sub_center_jaxloss, sub_center_pml, f", {SUB_CENTERS} sub-centres"),
    _scenario("lifted_structure", lifted_jaxloss, lifted_pml, " (PML runs out of memory at B = 1024)", LIFTED_FULL),
    _scenario("npairs", npairs_jaxloss, npairs_pml, f", {FULL[0] // 2} pairs"),
    _scenario("soft_triple", soft_triple_jaxloss, soft_triple_pml, f", {CENTERS} centres per class"),
]
