"""The sigmoid (pairwise binary) contrastive loss of SigLIP, on one device or across devices.

Every image/text pair of the batch is an independent binary classification: the
matching pair (the diagonal) is positive, every other pair negative. Unlike the
softmax (InfoNCE/CLIP) loss there is no normalisation over the batch, so each image's
loss is a plain sum over the texts. The memory-bounded forms (text chunks, a ring of
devices) are the shared blockwise kernel of ``_src/blockwise.py``.
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.blockwise import CrossDevice, check_blockwise, pair_rows
from .._src.contracts import function_name
from .._src.distributed import global_index, global_reduce
from .._src.embeddings import check_rows
from .._src.numerics import l2_normalize, param, upcast
from .._src.reduce import check_reduction
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["siglip_loss"]

Similarity = Literal["cosine", "dot"]


@register(
    "self_supervised",
    reference="big_vision siglip.py / open_clip SigLipLoss (Zhai et al. 2023)",
    aliases=("sigmoid_contrastive_loss",),
)
def siglip_loss(
    image_embeddings: ArrayLike,
    text_embeddings: ArrayLike,
    *,
    scale: ArrayLike = 10.0,
    bias: ArrayLike = -10.0,
    similarity: Similarity = "cosine",
    axis_name: str | None = None,
    cross_device: CrossDevice = "ring",
    chunk_size: int | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""SigLIP's sigmoid loss for paired image and text embeddings.

    With :math:`\ell_{ij} = \text{scale}\cdot\text{sim}(x_i, y_j) + \text{bias}` and
    :math:`z_{ij} = +1` for the matching pair :math:`i = j`, :math:`-1` otherwise,
    the loss of image :math:`i` sums over all texts:

    .. math::
       \mathcal{L}_i = -\sum_j \log \sigma(z_{ij}\,\ell_{ij})
       = \operatorname{softplus}(-\ell_{ii}) + \sum_{j \ne i} \operatorname{softplus}(\ell_{ij})

    computed in that form (``softplus`` is the stable :math:`-\log\sigma(-x)`; the
    positive term is computed once, with no :math:`2I - 1` label matrix). ``"mean"``
    averages over the images, which is exactly the big_vision / open_clip loss (their
    sum over all pairs divided by the number of images).

    Args:
      image_embeddings: ``[n, dim]`` floating image embeddings.
      text_embeddings: ``[n, dim]`` floating text embeddings; row ``i`` is the text of
        image ``i``.
      scale: the logit multiplier :math:`e^{t}` (> 0); float or traced array, and
        differentiable. SigLIP learns :math:`t` (init :math:`\log 10`): pass
        ``jnp.exp(t)``.
      bias: the logit bias :math:`b` (SigLIP init ``-10``); float or traced array, and
        differentiable.
      similarity: ``"cosine"`` (default: rows are L2-normalised, as ``F.normalize``,
        so zero rows give similarity 0 with finite gradients) or ``"dot"`` (the raw
        dot product: pass pre-normalised embeddings, as big_vision's and open_clip's
        models do).
      axis_name: under ``shard_map``/``pmap``, each device holds ``n`` of the ``N``
        pairs and every text of every device is a negative of every other image:
        ``"mean"``/``"sum"`` are the single-device values on the concatenated batch
        (and so are the gradients, those of ``scale`` and ``bias`` summed over the
        devices); ``"none"`` is this device's ``[n]`` share.
      cross_device: with ``axis_name``, ``"ring"`` (default: the text blocks travel
        ``devices - 1`` ``lax.ppermute`` steps and each step forms one ``[n, n]``
        logit block, never ``[n, N]``; the backward replays the ring, the text
        cotangents travelling with their blocks) or ``"all_gather"`` (gather the
        texts, then ``[n, N]`` logits, or ``[n, chunk_size]`` tiles).
      chunk_size: split the texts into tiles of this many columns (a positive int):
        logits are formed ``[n, chunk_size]`` at a time, in the forward and in the
        ``custom_vjp`` backward, which recomputes them. ``None`` (default): whole
        blocks (the dense ``[n, n]`` form on one device).
      weights: optional per-image weights broadcastable to ``[n]``.
      where: optional boolean ``[n]`` mask of the images; a masked image's own loss
        drops out (its text remains a negative for the other images).
      reduction: ``"mean"`` (default, over images), ``"sum"`` or ``"none"`` (the
        ``[n]`` per-image losses).

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[n]`` per-image losses for ``"none"``.
      Float32 for half-precision inputs (the logits are formed in float32).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> jaxloss.siglip_loss(x, x)
      Array(0.6931..., dtype=float32)

    References:
      X. Zhai et al., "Sigmoid Loss for Language Image Pre-Training", ICCV 2023,
      https://arxiv.org/abs/2303.15343; big_vision
      ``big_vision/trainers/proj/image_text/siglip.py`` (``loss_fn``) and open_clip
      ``SigLipLoss`` (single process: ``rank=0, world_size=1``). Deliberate
      differences: both anchors take already-normalised features and a dot product
      (here ``similarity="dot"``); the default here normalises the rows (cosine).
      open_clip's ``logit_scale`` is the multiplier itself, as ``scale`` here. The
      cross-device forms have big_vision's ``chunked_sigmoid_loss`` and open_clip's
      ``neighbour_exchange`` semantics (every other device's texts are negatives);
      big_vision fetches each block with an all-reduce where ``"ring"`` uses
      ``ppermute``, and both anchors' per-device means are averaged by the trainer,
      where ``"mean"`` here is already global.
    """
    contracts.choice(similarity, ("cosine", "dot"), "similarity")
    check_blockwise(chunk_size, cross_device, function_name())
    check_reduction(reduction)
    check_rows(image_embeddings, "image_embeddings")
    check_rows(text_embeddings, "text_embeddings")
    contracts.same_shape(
        "row i of text_embeddings is the text of image i",
        image_embeddings=image_embeddings,
        text_embeddings=text_embeddings,
    )
    contracts.bounded(scale, "scale", gt=0)
    contracts.bounded(bias, "bias")
    n = np.shape(image_embeddings)[0]
    x, y = upcast(image_embeddings, text_embeddings)
    if similarity == "cosine":
        x, y = l2_normalize(x), l2_normalize(y)
    if chunk_size is None and axis_name is None:
        sim = jnp.matmul(x, y.T, precision="highest")
        logits = param(scale, x.dtype) * sim + param(bias, x.dtype)
        diagonal = jnp.eye(n, dtype=bool)
        negatives = jnp.where(diagonal, jnp.zeros((), x.dtype), jax.nn.softplus(logits))
        loss = jnp.sum(negatives, axis=1) + jax.nn.softplus(-jnp.diagonal(logits))
    else:
        pairs = global_index(n, axis_name)
        loss = pair_rows(
            x,
            y,
            pairs,
            pairs,
            scale=param(scale, x.dtype),
            bias=param(bias, x.dtype),
            kind="sigmoid",
            chunk_size=chunk_size,
            axis_name=axis_name,
            cross_device=cross_device,
        )
    return global_reduce(loss, reduction, axis_name, weights=weights, where=where)
