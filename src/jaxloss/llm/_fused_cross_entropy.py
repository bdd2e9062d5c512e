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

Gradients are accumulated in float32 (or float64 for float64 inputs).
"""

from __future__ import annotations

import functools
import math
from typing import cast

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

__all__ = ["default_chunk_size", "fused_linear_cross_entropy"]

_FAMILY = "fused"
# Bytes of one chunk's float32 logits the default aims for: fastest on CPU (bench/scenarios/fused.py NOTES).
_CHUNK_BYTES = 32 * 2**20
_MIN_CHUNK = 64


def default_chunk_size(num_tokens: int, vocab_size: int) -> int:
    """The chunk size :func:`fused_linear_cross_entropy` uses when none is given.

    The largest power of two whose float32 logits chunk ``[chunk, vocab]``
    stays within 32 MiB, at least 64 tokens, and never more than the number
    of tokens (fewer tokens make a single chunk).

    Args:
      num_tokens: the number of tokens (rows of ``hidden``).
      vocab_size: the vocabulary size (columns of ``weight``).

    Returns:
      The number of tokens per chunk.

    Examples:
      >>> from jaxloss.fused import default_chunk_size
      >>> default_chunk_size(8192, 32768)
      256
      >>> default_chunk_size(10, 32768)
      10
    """
    chunk = 1 << (max(_CHUNK_BYTES // (4 * vocab_size), 1).bit_length() - 1)
    return max(1, min(num_tokens, max(chunk, _MIN_CHUNK)))


# --------------------------------------------------------------------------- the chunk routine


def _logits(h: jax.Array, w: jax.Array, b: jax.Array | None) -> jax.Array:
    z = h @ w
    return z if b is None else z + b[None, :]


def _stats(h, w, b, y):
    """Per-token log-sum-exp, target logit and sum of logits of one chunk (and the logits)."""
    z = _logits(h, w, b)
    lse = jax.nn.logsumexp(z, axis=-1)
    zy = jnp.take_along_axis(z, y[:, None], axis=-1)[:, 0]
    return z, lse, zy, jnp.sum(z, axis=-1)


def _token_loss(lse, zy, zs, eps, zc, vocab):
    # torch's smoothing, (1 - eps)(lse - z_y) + eps/V sum_j (lse - z_j), plus PaLM's z-loss; each
    # bracket is a non-negative difference, so large logits cancel before they are weighted.
    return (1 - eps) * (lse - zy) + eps * (lse - zs / vocab) + zc * jnp.square(lse)


def _logit_grad(z, lse, y, g, eps, zc):
    """d(sum_i g_i l_i) / d z for one chunk; ``g`` is the per-token cotangent."""
    vocab = z.shape[-1]
    # exp(z - lse) is the softmax without a second max/sum pass.
    p = jnp.exp(z - lse[:, None])
    target = jax.lax.broadcasted_iota(jnp.int32, z.shape, 1) == y[:, None]
    scale = (g * (1 + 2 * zc * lse))[:, None]
    smooth = (g * (eps / vocab))[:, None]
    hit = (g * (1 - eps))[:, None]
    return p * scale - smooth - jnp.where(target, hit, jnp.zeros((), z.dtype))


def _chunked(x: jax.Array, chunk: int) -> jax.Array:
    """``x`` with its leading axis padded to a multiple of ``chunk`` and split into chunks."""
    n = x.shape[0]
    pad = -n % chunk
    if pad:
        x = jnp.concatenate([x, jnp.zeros((pad, *x.shape[1:]), x.dtype)])
    return x.reshape(((n + pad) // chunk, chunk, *x.shape[1:]))


def _unchunked(x: jax.Array, n: int) -> jax.Array:
    return x.reshape((-1, *x.shape[2:]))[:n]


def _all_stats(h, w, b, y, chunk):
    """Per-token (lse, z_y, sum z) over all chunks; ``[N]`` each."""
    n = h.shape[0]

    def body(xs):
        _, lse, zy, zs = _stats(xs[0], w, b, xs[1])
        return lse, zy, zs

    out = jax.lax.map(body, (_chunked(h, chunk), _chunked(y, chunk)))
    return tuple(_unchunked(o, n) for o in out)


def _accumulate_grads(h, w, b, y, g, eps, zc, chunk):
    """Gradients of ``sum_i g_i l_i`` w.r.t. hidden, weight, bias, chunk by chunk.

    Returns ``(dh, dw, db, lse, zy, zs)``: the weight and bias gradients are
    scan carries (in the compute dtype, at least float32); the per-token
    statistics come along for free.
    """
    n, vocab = h.shape[0], w.shape[1]

    def body(carry, xs):
        dw, db = carry
        h_c, y_c, g_c = xs
        z, lse, zy, zs = _stats(h_c, w, b, y_c)
        gz = _logit_grad(z, lse, y_c, g_c, eps, zc)
        dw = dw + h_c.T @ gz
        db = None if db is None else db + jnp.sum(gz, axis=0)
        return (dw, db), (gz @ w.T, lse, zy, zs)

    init = (jnp.zeros(w.shape, w.dtype), None if b is None else jnp.zeros((vocab,), w.dtype))
    xs = (_chunked(h, chunk), _chunked(y, chunk), _chunked(g, chunk))
    (dw, db), out = jax.lax.scan(body, init, xs)
    dh, lse, zy, zs = (_unchunked(o, n) for o in out)
    return dh, dw, db, lse, zy, zs


# --------------------------------------------------------------------------- per-token kernel ("none")


@functools.partial(jax.custom_vjp, nondiff_argnums=(6,))
def _per_token(h, w, b, y, eps, zc, chunk):
    lse, zy, zs = _all_stats(h, w, b, y, chunk)
    return _token_loss(lse, zy, zs, eps, zc, w.shape[1])


def _per_token_fwd(h, w, b, y, eps, zc, chunk):
    lse, zy, zs = _all_stats(h, w, b, y, chunk)
    loss = _token_loss(lse, zy, zs, eps, zc, w.shape[1])
    return loss, (h, w, b, y, eps, zc, lse, zy, zs)


def _per_token_bwd(chunk, res, g):
    h, w, b, y, eps, zc, lse, zy, zs = res
    dh, dw, db, *_ = _accumulate_grads(h, w, b, y, g, eps, zc, chunk)
    deps = jnp.sum(g * (zy - zs / w.shape[1]))
    dzc = jnp.sum(g * jnp.square(lse))
    return dh, dw, db, None, deps, dzc


_per_token.defvjp(_per_token_fwd, _per_token_bwd)


# --------------------------------------------------------------------------- scalar kernel ("mean", "sum")


@functools.partial(jax.custom_vjp, nondiff_argnums=(8,))
def _weighted_sum(h, w, b, y, c, keep, eps, zc, chunk):
    lse, zy, zs = _all_stats(h, w, b, y, chunk)
    loss = _token_loss(lse, zy, zs, eps, zc, w.shape[1])
    return jnp.sum(c * jnp.where(keep, loss, jnp.zeros((), loss.dtype)))


def _weighted_sum_fwd(h, w, b, y, c, keep, eps, zc, chunk):
    dh, dw, db, lse, zy, zs = _accumulate_grads(h, w, b, y, c, eps, zc, chunk)
    loss = jnp.where(keep, _token_loss(lse, zy, zs, eps, zc, w.shape[1]), jnp.zeros((), lse.dtype))
    deps = jnp.sum(c * (zy - zs / w.shape[1]))
    dzc = jnp.sum(c * jnp.square(lse))
    return jnp.sum(c * loss), (dh, dw, db, loss, deps, dzc)


def _weighted_sum_bwd(chunk, res, g):
    dh, dw, db, loss, deps, dzc = res
    db = None if db is None else g * db
    return g * dh, g * dw, db, None, g * loss, None, g * deps, g * dzc


_weighted_sum.defvjp(_weighted_sum_fwd, _weighted_sum_bwd)


# --------------------------------------------------------------------------- public


@register(_FAMILY, reference="torch.nn.functional.cross_entropy(hidden @ weight + bias, labels)")
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
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Softmax cross-entropy of ``hidden @ weight + bias`` without materialising the logits.

    .. math::
       z_i = h_i W + b, \qquad L_i = \log \sum_j e^{z_{ij}}, \qquad
       \ell_i = (1 - \varepsilon)(L_i - z_{i y_i})
       + \frac{\varepsilon}{V} \sum_j (L_i - z_{ij}) + \lambda_z L_i^2

    equal to ``torch.nn.functional.cross_entropy(h @ W + b, y,
    ignore_index=ignore_index, label_smoothing=eps)`` plus PaLM's auxiliary
    ``z_loss`` :math:`\lambda_z L_i^2`. Tokens are processed ``chunk_size`` at a
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
      weights: optional per-token weights broadcastable to ``labels.shape``.
      where: optional boolean mask of ``labels.shape``; masked tokens contribute
        nothing (NaN/inf in their hidden states included).
      reduction: ``"mean"`` (over non-ignored, unmasked tokens), ``"sum"`` or
        ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"`` (0 with zero gradients when every token
      is ignored); the per-token loss of shape ``labels.shape`` for ``"none"``
      (0 at ignored tokens). Out-of-range labels raise ``ValueError`` eagerly
      and give NaN under ``jit``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> h = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> w = jnp.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
      >>> jaxloss.fused_linear_cross_entropy(h, w, jnp.array([0, 1, -100]), chunk_size=2)
      Array(0.23954487, dtype=float32)

    References:
      PyTorch ``torch.nn.functional.cross_entropy``; the chunked formulation of
      Liger-Kernel's ``FusedLinearCrossEntropy`` (Hsu et al. 2024,
      https://arxiv.org/abs/2410.10989) and Apple's Cut Cross-Entropy
      (Wijmans et al. 2024, https://arxiv.org/abs/2411.09009); z-loss from
      PaLM (Chowdhery et al. 2022, https://arxiv.org/abs/2204.02311).
    """
    contracts.bounded(label_smoothing, "label_smoothing", ge=0, le=1)
    contracts.bounded(z_loss, "z_loss", ge=0)
    check_reduction(reduction)
    contracts.floating(hidden=hidden, weight=weight, bias=bias)
    contracts.integer(labels=labels)
    contracts.min_rank(hidden, 1, "hidden")
    contracts.rank(weight, 2, "weight", hint="weight is [D, V]; torch's nn.Linear weight is its transpose")
    dim, vocab = np.shape(weight)
    contracts.shape_is(hidden, (*np.shape(hidden)[:-1], dim), "hidden",
                        hint=f"its last axis must be weight.shape[0] = {dim} (weight has shape {(dim, vocab)})")
    contracts.shape_is(labels, np.shape(hidden)[:-1], "labels", hint="labels must have hidden.shape[:-1]",
                        like={"hidden": hidden})
    if bias is not None:
        contracts.shape_is(bias, (vocab,), "bias", hint=f"bias must be [V] with V = {vocab}")
    if chunk_size is not None and (not isinstance(chunk_size, int | np.integer) or chunk_size < 1):
        raise ValueError(f"{function_name()}: chunk_size must be a positive int or None, got {chunk_size!r}")

    shape = tuple(np.shape(labels))
    n = math.prod(shape)
    h, w, b = upcast(hidden, weight, bias)
    dtype = h.dtype
    eps, zc = param(label_smoothing, dtype), param(z_loss, dtype)
    safe, valid, bad = class_labels(labels, vocab, ignore_index=ignore_index)
    keep = combine_masks(shape, valid, where)
    h = h.reshape((n, dim))
    if keep is not None:
        # Ignored / masked tokens: zero hidden state, so NaN/inf there reach neither value nor gradient.
        h = jnp.where(keep.reshape((n, 1)), h, jnp.zeros((), dtype))
    y = safe.reshape((n,))
    chunk = int(min(max(n, 1), chunk_size or default_chunk_size(n, vocab)))

    if reduction == "none" or n == 0:
        # cast: functools.partial(jax.custom_vjp, ...) hides the return type from pyright.
        loss = cast(jax.Array, _per_token(h, w, b, y, eps, zc, chunk)).reshape(shape)
        return reduce(poison(loss, bad), reduction, weights=weights, where=where, valid=valid)

    # mean/sum: reduce is linear in the per-token loss; its coefficients c_i (weights, masks and
    # the mean's denominator) are its gradient, which lets the kernel form gradients in its forward.
    def reduced(per_token: jax.Array) -> jax.Array:
        return reduce(per_token, reduction, weights=weights, where=where, valid=valid)

    coefficients = jax.grad(reduced)(jnp.zeros(shape, dtype)).reshape((n,))
    kept = jnp.ones((n,), bool) if keep is None else keep.reshape((n,))
    total = cast(jax.Array, _weighted_sum(h, w, b, y, coefficients, kept, eps, zc, chunk))
    # Out-of-range labels on counted tokens poison the result, as poison does per token.
    poisoned = combine_masks(shape, bad, where)
    return poison(total, jnp.any(bad if poisoned is None else poisoned))
