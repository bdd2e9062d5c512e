"""CoCa: a CLIP contrastive term plus a captioning cross-entropy (open_clip ``CoCaLoss``)."""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.embeddings import check_rows
from .._src.labels import class_labels
from .._src.numerics import param
from .._src.reduce import check_reduction, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ..classification import softmax_cross_entropy
from ..embedding import infonce_loss

__all__ = ["coca_loss"]


@register("self_supervised", reference="open_clip CoCaLoss (Yu et al. 2022)")
def coca_loss(
    image_embeddings: ArrayLike,
    text_embeddings: ArrayLike,
    caption_logits: ArrayLike,
    caption_labels: ArrayLike,
    *,
    temperature: ArrayLike = 0.07,
    clip_weight: ArrayLike = 1.0,
    caption_weight: ArrayLike = 2.0,
    pad_id: int = 0,
    similarity: Literal["cosine", "dot"] = "cosine",
    axis_name: str | None = None,
    return_aux: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
    r"""CoCa: contrastive captioner loss, a weighted CLIP loss plus a captioning loss.

    .. math::
       \mathcal{L} = w_{\text{clip}}\,\frac{1}{2B}\sum_i \big(\ell^{x\to y}_i +
       \ell^{y\to x}_i\big) + w_{\text{cap}}\,
       \frac{\sum_{b,t:\,y_{bt} \ne \text{pad}} -\log \operatorname{softmax}(z_{bt})_{y_{bt}}}
       {\#\{b,t:\, y_{bt} \ne \text{pad}\}}

    where :math:`\ell^{x\to y}_i = -\log \operatorname{softmax}_j(\operatorname{sim}(x_i,
    y_j)/\tau)_i` is the image-to-text InfoNCE term (and :math:`\ell^{y\to x}` its
    transpose): :func:`~jaxloss.infonce_loss` with ``symmetric=True``. The captioning
    term is the token mean of the cross-entropy over the non-padding tokens (0 when every
    token is padding).

    Args:
      image_embeddings: ``[batch, dim]`` floating image embeddings.
      text_embeddings: ``[batch, dim]`` text embeddings; row ``i`` pairs with image ``i``.
      caption_logits: ``[batch, tokens, vocab]`` captioning-decoder logits.
      caption_labels: ``[batch, tokens]`` integer next-token labels; ``pad_id`` marks
        padding.
      temperature: :math:`\tau > 0` of the contrastive logits (open_clip's
        ``logit_scale`` is :math:`1/\tau`); float or traced array.
      clip_weight: :math:`w_{\text{clip}} \ge 0` (open_clip ``clip_loss_weight``, 1.0 in
        its training defaults); float or traced.
      caption_weight: :math:`w_{\text{cap}} \ge 0` (open_clip ``caption_loss_weight``,
        2.0 in its training defaults); float or traced.
      pad_id: the padding label, ignored by the captioning term (open_clip ``pad_id=0``);
        static.
      similarity: ``"cosine"`` (default; rows are L2-normalised, as open_clip's CoCa
        model does before the loss) or ``"dot"`` (embeddings used as given, as open_clip's
        ``ClipLoss`` does).
      axis_name: under ``shard_map``/``pmap``: the contrastive logits are over the global
        batch (open_clip's gathered features) and the caption mean is over the global
        tokens; the value equals the single-device value on the concatenated batch.
      return_aux: also return ``{"contrastive_loss", "caption_loss"}`` (the two weighted
        terms, under ``stop_gradient``; open_clip's ``output_dict=True``).
      weights: optional weight of the batch loss (broadcastable to ``()``).
      where: optional boolean ``()`` mask of the batch loss.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``: all three give the
        batch's scalar (the two terms average over different sets, images and tokens, so
        there is no per-image decomposition).

    Returns:
      The scalar loss, or ``(loss, aux)`` with ``return_aux=True``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.eye(2)
      >>> logits = jnp.zeros((2, 3, 4)); labels = jnp.array([[1, 2, 0], [3, 0, 0]])
      >>> jaxloss.coca_loss(x, x, logits, labels, temperature=1.0)
      Array(3.0858502, dtype=float32)

    References:
      J. Yu et al., "CoCa: Contrastive Captioners are Image-Text Foundation Models", 2022,
      https://arxiv.org/abs/2205.01917; open_clip ``loss.py::CoCaLoss(caption_loss_weight=2.0,
      clip_loss_weight=1.0, pad_id=0)`` (open_clip's training defaults
      ``--coca-caption-loss-weight 2.0 --coca-contrastive-loss-weight 1.0``), which returns
      the two weighted terms; here they are summed (and offered in ``aux``). Deliberate
      differences: the temperature replaces ``logit_scale`` (pass ``1 / logit_scale``);
      ``similarity="cosine"`` normalises the embeddings (open_clip's model normalises
      them before the loss); a batch whose tokens are all padding gives a captioning term
      of 0, where torch's ``CrossEntropyLoss`` gives NaN; under ``axis_name`` the caption
      mean is over the global tokens, where open_clip averages per device.
    """
    check_reduction(reduction)
    contracts.bounded(clip_weight, "clip_weight", ge=0)
    contracts.bounded(caption_weight, "caption_weight", ge=0)
    check_rows(image_embeddings, "image_embeddings")
    check_rows(text_embeddings, "text_embeddings")
    contracts.same_shape(
        "row i of text_embeddings pairs with row i of image_embeddings",
        image_embeddings=image_embeddings,
        text_embeddings=text_embeddings,
    )
    contracts.rank(caption_logits, 3, "caption_logits", "[batch, tokens, vocab]")
    contracts.floating(caption_logits=caption_logits)
    contracts.integer(caption_labels=caption_labels)
    contracts.shape_is(
        caption_labels,
        jnp.shape(caption_logits)[:2],
        "caption_labels",
        like={"caption_logits": caption_logits},
    )
    # Checked here so that an error names caption_labels (concrete labels outside the
    # vocabulary raise; traced ones give NaN through softmax_cross_entropy).
    class_labels(
        caption_labels, jnp.shape(caption_logits)[2], ignore_index=pad_id, what="caption_labels"
    )
    clip = infonce_loss(
        image_embeddings,
        text_embeddings,
        temperature=temperature,
        similarity=similarity,
        symmetric=True,
        axis_name=axis_name,
    )
    tokens = softmax_cross_entropy(
        caption_logits, caption_labels, ignore_index=pad_id, reduction="sum"
    )
    count = jnp.sum(jnp.asarray(caption_labels) != pad_id)
    if axis_name is not None:
        tokens, count = jax.lax.psum((tokens, count), axis_name)
    dtype = jnp.result_type(clip.dtype, tokens.dtype)
    count = count.astype(dtype)
    caption = jnp.where(
        count > 0, tokens.astype(dtype) / jnp.maximum(count, 1), jnp.zeros((), dtype)
    )
    terms = {
        "contrastive_loss": param(clip_weight, dtype) * clip.astype(dtype),
        "caption_loss": param(caption_weight, dtype) * caption,
    }
    loss = reduce(
        terms["contrastive_loss"] + terms["caption_loss"], reduction, weights=weights, where=where
    )
    if return_aux:
        return loss, jax.lax.stop_gradient(terms)
    return loss
