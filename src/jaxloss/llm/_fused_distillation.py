"""Knowledge distillation fused with the student's and the teacher's output projections:
a hard (cross-entropy) term plus a soft divergence on ``hidden @ weight`` without the
``[tokens, V]`` logits of either model.

Tokens are walked ``chunk_size`` at a time (:mod:`._chunks`); each chunk's student and teacher
logits ``[chunk, V]`` are formed, turned into per-token terms by the public distillation losses
(:func:`jaxloss.generalized_jsd_loss`, :func:`jaxloss.kd_loss`, :func:`jaxloss.tvd_loss`,
:func:`jaxloss.skew_kl_loss`, with ``reduction="none"``), and dropped. The chunk body is under
``jax.checkpoint``, so the reverse pass stores only each chunk's inputs and recomputes its
logits: temporary memory is ``O(chunk_size * V + D * V)`` in both passes.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.labels import class_labels, poison
from .._src.numerics import l2_normalize, param, upcast
from .._src.reduce import check_reduction, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._chunks import check_fused, chunked, default_chunk_size, unchunked
from ._distillation import generalized_jsd_loss, kd_loss, skew_kl_loss, tvd_loss

__all__ = ["fused_linear_distillation_loss"]

_FAMILY = "llm"

Divergence = Literal[
    "jsd", "forward_kl", "reverse_kl", "tvd", "skew_kl", "skew_reverse_kl", "cosine"
]
_DIVERGENCES = ("jsd", "forward_kl", "reverse_kl", "tvd", "skew_kl", "skew_reverse_kl", "cosine")


def _soft_terms(
    s: jax.Array,
    t: jax.Array,
    divergence: str,
    beta: ArrayLike,
    alpha: ArrayLike,
    temperature: ArrayLike,
) -> jax.Array:
    """Per-row divergence between the student logits ``s`` and teacher logits ``t`` ``[c, V]``."""
    options: dict[str, Any] = {"temperature": temperature, "reduction": "none"}
    if divergence == "jsd":
        return generalized_jsd_loss(s, t, beta=beta, **options)
    if divergence in ("forward_kl", "reverse_kl"):
        return kd_loss(
            s, t, reverse=divergence == "reverse_kl", temperature_squared=False, **options
        )
    if divergence == "tvd":
        return tvd_loss(s, t, **options)
    if divergence in ("skew_kl", "skew_reverse_kl"):
        return skew_kl_loss(s, t, alpha=alpha, reverse=divergence == "skew_reverse_kl", **options)
    # cosine: beta * (1 - cos(s / T, t / T)), Liger's normalise-then-dot.
    tau = param(temperature, s.dtype)
    cos = jnp.sum(l2_normalize(s / tau) * l2_normalize(t / tau), axis=-1)
    return param(beta, s.dtype) * (1.0 - cos)


@register(
    _FAMILY,
    reference="Liger-Kernel 0.8.5 liger_kernel.chunked_loss LigerFusedLinearJSDLoss and "
    "LigerFusedLinearCosineSimilarityLoss (compiled=False)",
)
def fused_linear_distillation_loss(
    student_hidden: ArrayLike,
    student_weight: ArrayLike,
    teacher_hidden: ArrayLike,
    teacher_weight: ArrayLike,
    labels: ArrayLike,
    *,
    divergence: Divergence = "jsd",
    beta: ArrayLike = 0.5,
    alpha: ArrayLike = 0.1,
    temperature: ArrayLike = 1.0,
    hard_weight: ArrayLike = 0.5,
    soft_weight: ArrayLike = 0.5,
    student_bias: ArrayLike | None = None,
    teacher_bias: ArrayLike | None = None,
    ignore_index: int | None = -100,
    chunk_size: int | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Distillation on ``hidden @ weight`` for a student and a teacher, without the logits of
    either: a weighted cross-entropy on the labels plus a divergence from the teacher.

    .. math::
       s_i = h^S_i W^S + b^S, \qquad t_i = \operatorname{sg}(h^T_i W^T + b^T), \qquad
       \ell_i = w_h\,\mathrm{CE}(s_i, y_i) + w_s\,D(s_i / T, t_i / T)

    and ``"mean"`` is :math:`\sum_{i\ \text{valid}} \ell_i / \#\text{valid}` (Liger's hard and
    soft sums, each divided by the number of non-ignored tokens). :math:`D` is chosen by
    ``divergence``:

    - ``"jsd"``: :func:`jaxloss.generalized_jsd_loss` with ``beta`` (Liger's JSD; ``beta=0``
      is KL(teacher ‖ student), ``beta=1`` KL(student ‖ teacher));
    - ``"forward_kl"`` / ``"reverse_kl"``: :func:`jaxloss.kd_loss` without the :math:`T^2`
      factor (KL(teacher ‖ student) / KL(student ‖ teacher));
    - ``"tvd"``: :func:`jaxloss.tvd_loss`;
    - ``"skew_kl"`` / ``"skew_reverse_kl"``: :func:`jaxloss.skew_kl_loss` with ``alpha``;
    - ``"cosine"``: :math:`\beta\,(1 - \cos(s_i, t_i))` (Liger's cosine-similarity loss).

    The cross-entropy is on the student logits without temperature (as Liger). When the
    teacher's vocabulary is larger, the student logits are padded with zeros up to it for the
    divergence (Liger: a teacher head padded for efficiency, the same tokenizer). Tokens are
    processed ``chunk_size`` at a time and the chunk body is rematerialised in the reverse
    pass (``jax.checkpoint``), so no ``[tokens, V]`` array of either model exists; the teacher
    is under ``stop_gradient``.

    Args:
      student_hidden: ``[..., D_s]`` student hidden states (leading axes are tokens).
      student_weight: ``[D_s, V_s]`` student output projection (the transpose of torch's
        ``lm_head.weight``).
      teacher_hidden: ``[..., D_t]`` teacher hidden states, the same tokens.
      teacher_weight: ``[D_t, V_t]`` teacher output projection, ``V_t >= V_s``.
      labels: integer labels of shape ``student_hidden.shape[:-1]`` (``ignore_index`` at
        prompt and padding tokens).
      divergence: ``"jsd"`` (default), ``"forward_kl"``, ``"reverse_kl"``, ``"tvd"``,
        ``"skew_kl"``, ``"skew_reverse_kl"`` or ``"cosine"``.
      beta: :math:`\beta \in [0, 1]` of ``"jsd"`` (the teacher's weight in the mixture) and the
        factor of ``"cosine"``; float or traced.
      alpha: skew :math:`\alpha \in [0, 1]` of the skew divergences; float or traced.
      temperature: :math:`T > 0` dividing both logits in the divergence; float or traced.
      hard_weight: :math:`w_h \ge 0` of the cross-entropy (Liger's ``weight_hard_loss``).
      soft_weight: :math:`w_s \ge 0` of the divergence (Liger's ``weight_soft_loss``).
      student_bias: optional ``[V_s]`` student bias.
      teacher_bias: optional ``[V_t]`` teacher bias.
      ignore_index: label of the tokens left out (``-100``; ``None`` for none).
      chunk_size: tokens per chunk (static); ``None`` picks
        :func:`jaxloss.fused.default_chunk_size` for ``V_t``.
      weights: optional per-token weights of shape ``labels.shape``.
      where: optional boolean per-token mask, ANDed with ``labels != ignore_index``.
      reduction: ``"mean"`` (over the valid tokens, Liger's value), ``"sum"`` or ``"none"``
        (per token, 0 at ignored ones).

    Returns:
      The loss (scalar, or ``labels.shape`` for ``"none"``). Out-of-range labels raise
      ``ValueError`` eagerly and give NaN under ``jit``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> h = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> w = jnp.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
      >>> y = jnp.array([0, 1])
      >>> jaxloss.fused_linear_distillation_loss(h, w, h, w, y, hard_weight=0.0)
      Array(0., dtype=float32)

    References:
      R. Agarwal et al., "On-Policy Distillation of Language Models" (GKD), ICLR 2024,
      https://arxiv.org/abs/2306.13649; Liger-Kernel 0.8.5 ``LigerFusedLinearJSDLoss(
      weight_hard_loss=0.5, weight_soft_loss=0.5, beta=0.5, ignore_index=-100,
      temperature=1.0)`` and ``LigerFusedLinearCosineSimilarityLoss`` (same defaults; its
      ``beta`` is the factor) called as ``loss(student_hidden, student_weight.T,
      teacher_hidden, teacher_weight.T, labels, student_bias, teacher_bias)`` on flattened
      tokens. Deliberate differences: ``"forward_kl"``, ``"reverse_kl"``, ``"tvd"`` and the
      skew divergences have no Liger fused twin (their per-token math is the unfused jaxloss
      loss of the same name); Liger's ``chunk_size`` of 1024 is replaced by a
      vocabulary-aware default; ``weights``/``where`` are extra; a student vocabulary larger
      than the teacher's raises ``ValueError`` (Liger fails on the shapes).
    """
    check_reduction(reduction)
    contracts.choice(divergence, _DIVERGENCES, "divergence")
    contracts.bounded(beta, "beta", ge=0, le=1)
    contracts.bounded(alpha, "alpha", ge=0, le=1)
    contracts.bounded(temperature, "temperature", gt=0)
    contracts.bounded(hard_weight, "hard_weight", ge=0)
    contracts.bounded(soft_weight, "soft_weight", ge=0)
    dim_s, vocab_s = check_fused(
        student_hidden,
        student_weight,
        labels,
        student_bias,
        ("student_hidden", "student_weight", "labels", "student_bias"),
        chunk_size=chunk_size,
    )
    dim_t, vocab_t = check_fused(
        teacher_hidden,
        teacher_weight,
        labels,
        teacher_bias,
        ("teacher_hidden", "teacher_weight", "labels", "teacher_bias"),
    )
    if vocab_t < vocab_s:
        raise ValueError(
            f"{function_name()}: teacher_weight has shape {np.shape(teacher_weight)} and "
            f"student_weight {np.shape(student_weight)}; the teacher's vocabulary must be at "
            "least the student's (a larger one is a padded head: the student is zero-padded)"
        )
    shape = tuple(np.shape(labels))
    n = math.prod(shape)
    hs, ws, bs, ht, wt, bt = upcast(
        student_hidden,
        student_weight,
        student_bias,
        *jax.lax.stop_gradient((teacher_hidden, teacher_weight, teacher_bias)),
    )
    dtype = hs.dtype
    safe, valid, bad = class_labels(labels, vocab_s, ignore_index=ignore_index)
    keep = jnp.ones((n,), bool) if valid is None else valid.reshape((n,))
    # Ignored tokens: zero hidden states, so NaN/inf there reach neither value nor gradient.
    zero = jnp.zeros((), dtype)
    hs = jnp.where(keep[:, None], hs.reshape((n, dim_s)), zero)
    ht = jnp.where(keep[:, None], ht.reshape((n, dim_t)), zero)
    w_hard, w_soft = param(hard_weight, dtype), param(soft_weight, dtype)

    @jax.checkpoint
    def chunk_terms(xs: tuple[jax.Array, ...]) -> jax.Array:
        hs_c, ht_c, y_c, keep_c = xs
        s = hs_c @ ws if bs is None else hs_c @ ws + bs[None, :]
        t = ht_c @ wt if bt is None else ht_c @ wt + bt[None, :]
        ce = -jnp.take_along_axis(jax.nn.log_softmax(s, axis=-1), y_c[:, None], axis=-1)[:, 0]
        if vocab_t > vocab_s:
            s = jnp.concatenate([s, jnp.zeros((s.shape[0], vocab_t - vocab_s), dtype)], axis=-1)
        soft = _soft_terms(s, t, divergence, beta, alpha, temperature)
        return jnp.where(keep_c, w_hard * ce + w_soft * soft, zero)

    chunk = int(min(max(n, 1), chunk_size or default_chunk_size(n, vocab_t)))
    xs = (hs, ht, safe.reshape((n,)), keep)
    if chunk >= n:  # one chunk: no loop
        terms = chunk_terms(xs)
    else:
        terms = unchunked(jax.lax.map(chunk_terms, tuple(chunked(x, chunk) for x in xs)), n)
    loss = poison(terms.reshape(shape), bad)
    return reduce(loss, reduction, weights=weights, where=where, valid=valid)
