"""Large vocabularies: cross-entropy fused with the output projection.

:func:`fused_linear_cross_entropy` computes the softmax cross-entropy of
``hidden @ weight (+ bias)`` token chunk by token chunk, so the ``[tokens,
vocab]`` logits never exist in memory at once, neither in the forward nor in
the backward pass.

Two ``custom_vjp`` kernels share one chunk routine:

- ``reduction="mean"``/``"sum"``: the loss is a scalar ``sum_i c_i l_i`` whose
  coefficients ``c_i`` are the (loss-independent) derivatives of
  :func:`jaxloss.reduce`, so every per-token cotangent is known up to
  the one scalar that arrives in the backward pass. The forward pass of the
  VJP therefore computes the gradients while it has each chunk's logits (three
  matmuls in all, as the unfused computation) and the backward pass scales
  them. Without differentiation only the forward matmul runs.
- ``reduction="none"``: per-token cotangents are arbitrary, so the forward
  pass keeps per-token statistics (log-sum-exp, target logit, logit sum) and
  the backward pass recomputes each chunk's logits (four matmuls).

Both carry torch's per-class weights (``class_weights``), Gemma 2's soft-capping
(its ``1 - tanh^2`` factor applied to each chunk's logit gradient) and, for
``return_aux``, per-token log-sum-exp and argmax hits. Gradients are accumulated
in float32 (or float64 for float64 inputs). The chunking pieces shared with
:func:`jaxloss.llm.fused_linear_logprobs` are in ``_chunks.py``.
"""

from __future__ import annotations

import functools
import math
from typing import Literal, cast, overload

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.labels import class_labels, poison
from .._src.numerics import param, upcast
from .._src.reduce import check_reduction, combine_masks, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._chunks import check_fused, chunked, default_chunk_size, unchunked

__all__ = ["fused_linear_cross_entropy"]

_FAMILY = "fused"


# --------------------------------------------------------------------------- the chunk routine
#
# A per-token "class-weight" triple carries torch's per-class weights w through the kernels:
# wy = w[y_i] (per token), cw = w (the [V] vector) and wsum = sum(w); without class weights they are
# 1, None and V. ``cap`` is the static softcap c (or None). ``aux`` (static) asks for argmax hits.


def _stats(h, w, b, y, cw, cap, aux):
    """Logits of one chunk (soft-capped) and per-token lse, z_y, <z, w> and [argmax z = y]."""
    z = h @ w
    z = z if b is None else z + b[None, :]
    if cap is not None:
        z = cap * jnp.tanh(z / cap)
    lse = jax.nn.logsumexp(z, axis=-1)
    zy = jnp.take_along_axis(z, y[:, None], axis=-1)[:, 0]
    zw = jnp.sum(z, axis=-1) if cw is None else z @ cw
    hit = (
        (jnp.argmax(z, axis=-1).astype(y.dtype) == y).astype(z.dtype)
        if aux
        else jnp.zeros_like(lse)
    )
    return z, lse, zy, zw, hit


def _token_ce(lse, zy, zw, wy, wsum, eps, vocab):
    # torch's smoothing, (1 - eps) w_y (lse - z_y) + eps/V sum_j w_j (lse - z_j); each bracket is a
    # non-negative difference, so large logits cancel before they are weighted.
    return (1 - eps) * wy * (lse - zy) + (eps / vocab) * (wsum * lse - zw)


def _logit_grad(z, lse, y, g, gz, wy, cw, wsum, eps, zc, cap):
    """d(sum_i g_i ce_i + gz_i zc lse_i^2) / d(pre-cap logits) for one chunk."""
    vocab = z.shape[-1]
    # exp(z - lse) is the softmax without a second max/sum pass.
    p = jnp.exp(z - lse[:, None])
    target = jax.lax.broadcasted_iota(jnp.int32, z.shape, 1) == y[:, None]
    scale = (g * ((1 - eps) * wy + eps * wsum / vocab) + gz * (2 * zc * lse))[:, None]
    smooth = (g * (eps / vocab))[:, None]
    smooth = smooth if cw is None else smooth * cw[None, :]
    hit = (g * (1 - eps) * wy)[:, None]
    gz_ = p * scale - smooth - jnp.where(target, hit, jnp.zeros((), z.dtype))
    # softcap's chain rule: d(c tanh(x / c)) / dx = 1 - tanh^2 = 1 - (z / c)^2.
    return gz_ if cap is None else gz_ * (1 - jnp.square(z / cap))


def _all_stats(h, w, b, y, cw, chunk, cap, aux):
    """Per-token (lse, z_y, <z, w>, hit) over all chunks; ``[N]`` each."""
    n = h.shape[0]

    def body(xs):
        return _stats(xs[0], w, b, xs[1], cw, cap, aux)[1:]

    out = jax.lax.map(body, (chunked(h, chunk), chunked(y, chunk)))
    return tuple(unchunked(o, n) for o in out)


def _accumulate_grads(h, w, b, y, g, gz, wy, cw, wsum, eps, zc, chunk, cap, aux):
    """Gradients of ``sum_i g_i ce_i + gz_i zc lse_i^2`` w.r.t. hidden, weight, bias, chunk by chunk.

    Returns ``(dh, dw, db, (lse, zy, zw, hit))``: the weight and bias gradients
    are scan carries (in the compute dtype, at least float32); the per-token
    statistics come along for free.
    """
    n, vocab = h.shape[0], w.shape[1]

    def body(carry, xs):
        dw, db = carry
        h_c, y_c, g_c, gz_c, wy_c = xs
        z, lse, zy, zw, hit = _stats(h_c, w, b, y_c, cw, cap, aux)
        dz = _logit_grad(z, lse, y_c, g_c, gz_c, wy_c, cw, wsum, eps, zc, cap)
        dw = dw + h_c.T @ dz
        db = None if db is None else db + jnp.sum(dz, axis=0)
        return (dw, db), (dz @ w.T, lse, zy, zw, hit)

    init = (jnp.zeros(w.shape, w.dtype), None if b is None else jnp.zeros((vocab,), w.dtype))
    xs = tuple(chunked(a, chunk) for a in (h, y, g, gz, wy))
    (dw, db), out = jax.lax.scan(body, init, xs)
    dh, *stats = (unchunked(o, n) for o in out)
    return dh, dw, db, tuple(stats)


def _cotangents(g, gz, wy, lse, zy, zw, wsum, vocab):
    """Cotangents of label_smoothing and z_loss from per-token coefficients."""
    deps = jnp.sum(g * ((wsum * lse - zw) / vocab - wy * (lse - zy)))
    return deps, jnp.sum(gz * jnp.square(lse))


# --------------------------------------------------------------------------- per-token kernel ("none")


@functools.partial(jax.custom_vjp, nondiff_argnums=(9, 10, 11))
def _per_token(h, w, b, y, wy, cw, eps, zc, wsum, chunk, cap, aux):
    lse, zy, zw, hit = _all_stats(h, w, b, y, cw, chunk, cap, aux)
    return _token_ce(lse, zy, zw, wy, wsum, eps, w.shape[1]) + zc * jnp.square(lse), lse, hit


def _per_token_fwd(h, w, b, y, wy, cw, eps, zc, wsum, chunk, cap, aux):
    lse, zy, zw, hit = _all_stats(h, w, b, y, cw, chunk, cap, aux)
    loss = _token_ce(lse, zy, zw, wy, wsum, eps, w.shape[1]) + zc * jnp.square(lse)
    return (loss, lse, hit), (h, w, b, y, wy, cw, eps, zc, wsum, lse, zy, zw)


def _per_token_bwd(chunk, cap, aux, res, cotangents):
    h, w, b, y, wy, cw, eps, zc, wsum, lse, zy, zw = res
    g = cotangents[0]  # lse and hit are reported under stop_gradient: their cotangents are dropped
    dh, dw, db, _ = _accumulate_grads(h, w, b, y, g, g, wy, cw, wsum, eps, zc, chunk, cap, False)
    deps, dzc = _cotangents(g, g, wy, lse, zy, zw, wsum, w.shape[1])
    # No gradient for the class weights (torch's weight= is a constant too).
    return dh, dw, db, None, None, None, deps, dzc, None


_per_token.defvjp(_per_token_fwd, _per_token_bwd)


# --------------------------------------------------------------------------- scalar kernel ("mean", "sum")


@functools.partial(jax.custom_vjp, nondiff_argnums=(12, 13, 14))
def _weighted_sum(h, w, b, y, c, cz, keep, wy, cw, eps, zc, wsum, chunk, cap, aux):
    lse, zy, zw, hit = _all_stats(h, w, b, y, cw, chunk, cap, aux)
    zero = jnp.zeros((), lse.dtype)
    ce = jnp.where(keep, _token_ce(lse, zy, zw, wy, wsum, eps, w.shape[1]), zero)
    zl = jnp.where(keep, zc * jnp.square(lse), zero)
    return jnp.sum(c * ce) + jnp.sum(cz * zl), lse, hit


def _weighted_sum_fwd(h, w, b, y, c, cz, keep, wy, cw, eps, zc, wsum, chunk, cap, aux):
    dh, dw, db, (lse, zy, zw, hit) = _accumulate_grads(
        h, w, b, y, c, cz, wy, cw, wsum, eps, zc, chunk, cap, aux
    )
    zero = jnp.zeros((), lse.dtype)
    ce = jnp.where(keep, _token_ce(lse, zy, zw, wy, wsum, eps, w.shape[1]), zero)
    zl = jnp.where(keep, zc * jnp.square(lse), zero)
    deps, dzc = _cotangents(c, cz, wy, lse, zy, zw, wsum, w.shape[1])
    total = jnp.sum(c * ce) + jnp.sum(cz * zl)
    return (total, lse, hit), (dh, dw, db, ce, zl, deps, dzc)


def _weighted_sum_bwd(chunk, cap, aux, res, cotangents):
    dh, dw, db, ce, zl, deps, dzc = res
    g = cotangents[0]
    db = None if db is None else g * db
    return g * dh, g * dw, db, None, g * ce, g * zl, None, None, None, g * deps, g * dzc, None


_weighted_sum.defvjp(_weighted_sum_fwd, _weighted_sum_bwd)


# --------------------------------------------------------------------------- public


@overload
def fused_linear_cross_entropy(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    bias: ArrayLike | None = ...,
    chunk_size: int | None = ...,
    ignore_index: int | None = ...,
    label_smoothing: float | ArrayLike = ...,
    z_loss: float | ArrayLike = ...,
    class_weights: ArrayLike | None = ...,
    softcap: float | None = ...,
    return_aux: Literal[False] = ...,
    weights: ArrayLike | None = ...,
    where: ArrayLike | None = ...,
    reduction: Reduction = ...,
) -> jax.Array: ...


@overload
def fused_linear_cross_entropy(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    bias: ArrayLike | None = ...,
    chunk_size: int | None = ...,
    ignore_index: int | None = ...,
    label_smoothing: float | ArrayLike = ...,
    z_loss: float | ArrayLike = ...,
    class_weights: ArrayLike | None = ...,
    softcap: float | None = ...,
    return_aux: Literal[True],
    weights: ArrayLike | None = ...,
    where: ArrayLike | None = ...,
    reduction: Reduction = ...,
) -> tuple[jax.Array, dict[str, jax.Array]]: ...


@register(_FAMILY, reference="torch.nn.functional.linear_cross_entropy (torch 2.13); Liger FLCE")
def fused_linear_cross_entropy(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    bias: ArrayLike | None = None,
    chunk_size: int | None = None,
    ignore_index: int | None = -100,
    label_smoothing: float | ArrayLike = 0.0,
    z_loss: float | ArrayLike = 0.0,
    class_weights: ArrayLike | None = None,
    softcap: float | None = None,
    return_aux: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
    r"""Softmax cross-entropy of ``hidden @ weight + bias`` without materialising the logits.

    .. math::
       z_i = c \tanh\big((h_i W + b) / c\big), \qquad L_i = \log \sum_j e^{z_{ij}},

       \ell_i = (1 - \varepsilon)\, w_{y_i} (L_i - z_{i y_i})
       + \frac{\varepsilon}{V} \sum_j w_j (L_i - z_{ij}) + \lambda_z L_i^2

    equal to ``torch.nn.functional.linear_cross_entropy(h, W.T, y, linear_bias=b,
    weight=w, ignore_index=ignore_index, label_smoothing=eps)`` (torch 2.13; the
    same as ``cross_entropy(h @ W + b, y, ...)``) plus PaLM's auxiliary
    ``z_loss`` :math:`\lambda_z L_i^2`, with Gemma 2's logit soft-capping
    (``softcap`` :math:`c`; none by default, :math:`z = hW + b`) and Liger's
    ``FusedLinearCrossEntropy`` options. Tokens are processed ``chunk_size`` at a
    time (the last chunk padded with ignored tokens), so the temporary memory
    of forward + backward is ``O(chunk_size * V + D * V)`` instead of
    ``O(N * V)``; the gradients w.r.t. ``hidden``, ``weight`` and ``bias`` are a
    ``custom_vjp`` that uses each chunk's logits while they exist (see the
    module docstring). Arithmetic and accumulation are in float32 at least;
    half-precision inputs give a float32 loss and gradients in their own dtype.

    ``weight`` is ``[D, V]`` (``hidden @ weight``); a PyTorch ``nn.Linear(D, V)``
    stores the transpose, ``linear.weight`` of shape ``[V, D]``.

    Args:
      hidden: ``[..., D]`` floating hidden states (leading axes are tokens).
      weight: ``[D, V]`` output projection.
      labels: integer class indices of shape ``hidden.shape[:-1]``.
      bias: optional ``[V]`` bias.
      chunk_size: tokens per chunk (static); ``None`` picks
        :func:`default_chunk_size` from the shapes (32 MiB of float32 logits per
        chunk). Any size works; it need not divide the number of tokens.
      ignore_index: label whose tokens contribute nothing (PyTorch's ``-100`` by
        default; ``None`` for none).
      label_smoothing: :math:`\varepsilon`, PyTorch's uniform smoothing; float
        or traced array (differentiable).
      z_loss: :math:`\lambda_z`, coefficient of :math:`L_i^2` (PaLM); float or
        traced array (differentiable).
      class_weights: optional ``[V]`` per-class weights :math:`w` (torch's and
        Liger's ``weight=``/``ce_weight=``); ``"mean"`` then divides the
        cross-entropy by :math:`\sum_i w_{y_i}` over the counted tokens, as
        torch does, smoothing term included. They receive no gradient.
      softcap: optional static ``c > 0``: logits become :math:`c \tanh(z / c)`
        before the softmax (Gemma 2's ``final_logit_softcapping``; Liger's
        ``softcap``). A Python float.
      return_aux: also return a dict of ``stop_gradient`` metrics over the
        counted tokens (not ignored, not masked by ``where``): ``"z_loss"``, the
        mean of :math:`\lambda_z L_i^2` (already part of the loss; Liger's
        ``return_z_loss``), and ``"accuracy"``, the mean of
        :math:`[\arg\max_j z_{ij} = y_i]` (ties take the first index; Liger's
        ``return_token_accuracy``); both 0 when no token counts, and both
        independent of ``reduction``.
      weights: optional per-token weights broadcastable to ``labels.shape``.
      where: optional boolean mask of ``labels.shape``; masked tokens contribute
        nothing (NaN/inf in their hidden states included).
      reduction: ``"mean"`` (over non-ignored, unmasked tokens), ``"sum"`` or
        ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"`` (0 with zero gradients when every token
      is ignored); the per-token loss of shape ``labels.shape`` for ``"none"``
      (0 at ignored tokens). With ``return_aux=True``, ``(loss, aux)``.
      Out-of-range labels raise ``ValueError`` eagerly and give NaN under
      ``jit``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> h = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> w = jnp.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
      >>> jaxloss.fused_linear_cross_entropy(h, w, jnp.array([0, 1, -100]), chunk_size=2)
      Array(0.23954487, dtype=float32)

    Differences from the anchors: with both ``class_weights`` and ``z_loss``,
    ``"mean"`` divides the z-loss by the number of counted tokens and the
    cross-entropy by :math:`\sum_i w_{y_i}` (Liger's rule; torch has no
    z-loss). ``weights=``/``where=`` are jaxloss's per-token options.

    References:
      PyTorch ``torch.nn.functional.linear_cross_entropy`` and
      ``cross_entropy``; the chunked formulation of Liger-Kernel's
      ``FusedLinearCrossEntropy`` (Hsu et al. 2024,
      https://arxiv.org/abs/2410.10989) and Apple's Cut Cross-Entropy
      (Wijmans et al. 2024, https://arxiv.org/abs/2411.09009); z-loss from
      PaLM (Chowdhery et al. 2022, https://arxiv.org/abs/2204.02311);
      soft-capping from Gemma 2 (https://arxiv.org/abs/2408.00118).
    """
    contracts.bounded(label_smoothing, "label_smoothing", ge=0, le=1)
    contracts.bounded(z_loss, "z_loss", ge=0)
    check_reduction(reduction, own_rule=True)
    if softcap is not None and (
        isinstance(softcap, bool)
        or not isinstance(softcap, int | float | np.floating)
        or not softcap > 0
    ):
        raise ValueError(
            f"{function_name()}: softcap must be a positive Python float or None, got {softcap!r}"
        )
    dim, vocab = check_fused(hidden, weight, labels, bias, chunk_size=chunk_size)

    shape = tuple(np.shape(labels))
    n = math.prod(shape)
    h, w, b = upcast(hidden, weight, bias)
    dtype = h.dtype
    eps, zc = param(label_smoothing, dtype), param(z_loss, dtype)
    cap = None if softcap is None else float(softcap)
    safe, valid, bad = class_labels(labels, vocab, ignore_index=ignore_index)
    keep = combine_masks(shape, valid, where)
    h = h.reshape((n, dim))
    if keep is not None:
        # Ignored / masked tokens: zero hidden state, so NaN/inf there reach neither value nor gradient.
        h = jnp.where(keep.reshape((n, 1)), h, jnp.zeros((), dtype))
    y = safe.reshape((n,))
    chunk = int(min(max(n, 1), chunk_size or default_chunk_size(n, vocab)))
    if class_weights is None:
        cw, wy, wsum = None, jnp.ones((n,), dtype), jnp.asarray(vocab, dtype)
    else:
        contracts.shape_is(
            class_weights, (vocab,), "class_weights", hint=f"one weight per class, V = {vocab}"
        )
        cw = jax.lax.stop_gradient(jnp.asarray(class_weights, dtype))
        wy, wsum = cw[y], jnp.sum(cw)
    kept = jnp.ones((n,), bool) if keep is None else keep.reshape((n,))

    if reduction == "none" or n == 0:
        # cast: functools.partial(jax.custom_vjp, ...) hides the return type from pyright.
        per_token, lse, hit = cast(
            tuple[jax.Array, ...],
            _per_token(h, w, b, y, wy, cw, eps, zc, wsum, chunk, cap, return_aux),
        )
        loss = reduce(
            poison(per_token.reshape(shape), bad),
            reduction,
            weights=weights,
            where=where,
            valid=valid,
            normalizer=None if cw is None or reduction != "mean" else wy.reshape(shape),
        )
    else:
        # mean/sum: reduce is linear in the per-token loss; its coefficients (weights, masks and the mean's
        # denominator) are its gradient, which lets the kernel form gradients in its forward pass. The
        # cross-entropy's mean divides by sum w_y with class weights (torch), the z-loss's by the count (Liger).
        def coefficients(normalizer: jax.Array | None) -> jax.Array:
            def reduced(per_token: jax.Array) -> jax.Array:
                return reduce(
                    per_token,
                    reduction,
                    weights=weights,
                    where=where,
                    valid=valid,
                    normalizer=normalizer,
                )

            return jax.grad(reduced)(jnp.zeros(shape, dtype)).reshape((n,))

        cz = coefficients(None)
        c = cz if cw is None or reduction == "sum" else coefficients(wy.reshape(shape))
        total, lse, hit = cast(
            tuple[jax.Array, ...],
            _weighted_sum(h, w, b, y, c, cz, kept, wy, cw, eps, zc, wsum, chunk, cap, return_aux),
        )
        # Out-of-range labels on counted tokens poison the result, as poison does per token.
        poisoned = combine_masks(shape, bad, where)
        loss = poison(total, jnp.any(bad if poisoned is None else poisoned))
    if not return_aux:
        return loss
    counted = kept.astype(dtype)
    count = jnp.maximum(jnp.sum(counted), 1)
    aux = {
        "z_loss": jnp.sum(counted * zc * jnp.square(lse)) / count,
        "accuracy": jnp.sum(counted * hit) / count,
    }
    return loss, jax.lax.stop_gradient(aux)
