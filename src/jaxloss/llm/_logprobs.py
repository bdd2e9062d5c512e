"""Per-token log-probabilities (and entropies) of ``hidden @ weight`` without the logits.

:func:`fused_linear_logprobs` is the primitive under the fused preference,
policy and distillation losses: for every token the log-probability of its
label under ``softmax((h W + b) / T)``, and optionally the entropy of that
softmax, computed ``chunk_size`` tokens at a time and, within a chunk,
``vocab_chunk_size`` vocabulary columns at a time with an online log-sum-exp
(running max ``m``, ``s = sum_j e^{z_j - m}`` and ``t = sum_j e^{z_j - m}(z_j - m)``,
rescaled when ``m`` grows), so neither ``[tokens, V]`` nor ``[chunk, V]`` exists
when the vocabulary is chunked.

The ``custom_vjp`` keeps only per-token ``lse`` (and the entropy) from the
forward pass; the backward pass recomputes each ``[chunk, vocab_chunk]`` tile
of logits and turns it into the logit gradient

    dz_j = g_lp (1[j = y] - p_j) - g_H p_j (log p_j + H)

which it contracts with ``weight`` (for ``d hidden``) and ``hidden`` (for
``d weight``), accumulating in float32 at least. The temperature's cotangent
is ``-sum(dz * z) / T``, a by-product of the same tiles.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Literal, cast, overload

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import calling
from .._src.labels import class_labels, poison
from .._src.numerics import param, upcast
from .._src.types import ArrayLike
from ._chunks import check_fused, chunked, default_chunk_size, unchunked, vocab_slice

__all__ = ["fused_linear_logprobs"]


# --------------------------------------------------------------------------- forward statistics


def _tile(h, w_k, b_k, t):
    z = h @ w_k
    return (z if b_k is None else z + b_k[None, :]) / t


def _fold(carry, z, live, cols, y):
    """Folds one tile of logits into the online statistics ``(m, s, u, zy)`` of a token chunk.

    ``m`` is the running max, ``s = sum e^{z - m}``, ``u = sum e^{z - m} (z - m)``
    and ``zy`` the label's logit; columns that are not ``live`` are skipped.
    """
    m, s, u, zy = carry
    masked = jnp.where(live[None, :], z, -jnp.inf)
    m_new = jnp.maximum(m, jnp.max(masked, axis=-1))
    shift = m - m_new  # <= 0, finite (m starts at the dtype's lowest finite value)
    scale = jnp.exp(shift)
    e = jnp.exp(masked - m_new[:, None])  # 0 at dead columns
    d = jnp.where(live[None, :], z - m_new[:, None], jnp.zeros((), z.dtype))
    s_new = scale * s + jnp.sum(e, axis=-1)
    # sum e^{z - m_new} (z - m_new) over the old columns = scale * (u + shift * s).
    u_new = scale * (u + shift * s) + jnp.sum(e * d, axis=-1)
    hit = live[None, :] & (cols[None, :] == y[:, None])
    zy = zy + jnp.sum(jnp.where(hit, z, jnp.zeros((), z.dtype)), axis=-1)
    return m_new, s_new, u_new, zy


def _chunk_stats(h, y, w, b, t, vchunk):
    """Per-token ``(lse, entropy, z_y)`` of one token chunk, vocabulary chunk by chunk."""
    vocab = w.shape[1]
    dtype = h.dtype
    init = (
        jnp.full(h.shape[:1], jnp.finfo(dtype).min, dtype),
        jnp.zeros(h.shape[:1], dtype),
        jnp.zeros(h.shape[:1], dtype),
        jnp.zeros(h.shape[:1], dtype),
    )
    if vchunk >= vocab:
        carry = _fold(
            init, _tile(h, w, b, t), jnp.ones((vocab,), bool), jnp.arange(vocab, dtype=jnp.int32), y
        )
    else:

        def body(carry, k):
            w_k, b_k, start, live = vocab_slice(w, b, k, vchunk)
            return _fold(
                carry, _tile(h, w_k, b_k, t), live, start + jnp.arange(vchunk, dtype=jnp.int32), y
            ), None

        carry, _ = jax.lax.scan(body, init, jnp.arange(-(-vocab // vchunk), dtype=jnp.int32))
    m, s, u, zy = carry
    log_s = jnp.log(s)
    # H = lse - E[z] = log s - E[z - m] = log s - u / s.
    return m + log_s, log_s - u / s, zy


def _all_stats(h, y, w, b, t, chunk, vchunk):
    n = h.shape[0]
    out = jax.lax.map(
        lambda xs: _chunk_stats(xs[0], xs[1], w, b, t, vchunk),
        (chunked(h, chunk), chunked(y, chunk)),
    )
    return tuple(unchunked(o, n) for o in out)


# --------------------------------------------------------------------------- backward


def _grads(h, y, w, b, t, lse, ent, g_lp, g_ent, chunk, vchunk):
    """Gradients w.r.t. hidden, weight, bias and temperature of ``sum g_lp * lp + g_ent * H``."""
    n, vocab = h.shape[0], w.shape[1]
    dim = w.shape[0]

    def tile_grad(h_c, y_c, lse_c, ent_c, glp_c, gent_c, w_k, b_k, cols, live):
        z = _tile(h_c, w_k, b_k, t)
        logp = z - lse_c[:, None]
        p = jnp.exp(logp)
        target = cols[None, :] == y_c[:, None]
        dz = glp_c[:, None] * (jnp.where(target, jnp.ones((), z.dtype), jnp.zeros((), z.dtype)) - p)
        if gent_c is not None:
            # dH/dz_j = -p_j (log p_j + H).
            dz = dz - gent_c[:, None] * p * (logp + ent_c[:, None])
        dz = jnp.where(live[None, :], dz, jnp.zeros((), z.dtype))
        dt = jnp.sum(dz * z, axis=-1)  # d/dT of z = raw / T is -z / T; scaled below
        dz = dz / t  # w.r.t. the raw logits h W + b
        return dz, dt

    def token_body(carry, xs):
        dw, db, dt = carry
        h_c, y_c, lse_c, ent_c, glp_c, gent_c = xs
        if vchunk >= vocab:
            dz, dt_c = tile_grad(
                h_c,
                y_c,
                lse_c,
                ent_c,
                glp_c,
                gent_c,
                w,
                b,
                jnp.arange(vocab, dtype=jnp.int32),
                jnp.ones((vocab,), bool),
            )
            dw = dw + h_c.T @ dz
            db = None if db is None else db + jnp.sum(dz, axis=0)
            return (dw, db, dt + jnp.sum(dt_c)), dz @ w.T

        def vocab_body(inner, k):
            dh_c, dw, db, dt = inner
            w_k, b_k, start, live = vocab_slice(w, b, k, vchunk)
            dz, dt_c = tile_grad(
                h_c,
                y_c,
                lse_c,
                ent_c,
                glp_c,
                gent_c,
                w_k,
                b_k,
                start + jnp.arange(vchunk, dtype=jnp.int32),
                live,
            )
            zero = jnp.zeros((), start.dtype)
            dw_k = jax.lax.dynamic_slice(dw, (zero, start), (dim, vchunk)) + h_c.T @ dz
            dw = jax.lax.dynamic_update_slice(dw, dw_k, (zero, start))
            if db is not None:
                db_k = jax.lax.dynamic_slice(db, (start,), (vchunk,)) + jnp.sum(dz, axis=0)
                db = jax.lax.dynamic_update_slice(db, db_k, (start,))
            return (dh_c + dz @ w_k.T, dw, db, dt + jnp.sum(dt_c)), None

        (dh_c, dw, db, dt), _ = jax.lax.scan(
            vocab_body,
            (jnp.zeros_like(h_c), dw, db, dt),
            jnp.arange(-(-vocab // vchunk), dtype=jnp.int32),
        )
        return (dw, db, dt), dh_c

    init = (
        jnp.zeros(w.shape, w.dtype),
        None if b is None else jnp.zeros((vocab,), w.dtype),
        jnp.zeros((), w.dtype),
    )
    xs = tuple(None if a is None else chunked(a, chunk) for a in (h, y, lse, ent, g_lp, g_ent))
    (dw, db, dt), dh = jax.lax.scan(token_body, init, xs)
    return unchunked(dh, n), dw, db, -dt / t


# --------------------------------------------------------------------------- custom_vjp kernel


@functools.partial(jax.custom_vjp, nondiff_argnums=(5, 6, 7))
def _logprobs(h, w, b, y, t, chunk, vchunk, entropy):
    lse, ent, zy = _all_stats(h, y, w, b, t, chunk, vchunk)
    return (zy - lse, ent) if entropy else zy - lse


def _logprobs_fwd(h, w, b, y, t, chunk, vchunk, entropy):
    lse, ent, zy = _all_stats(h, y, w, b, t, chunk, vchunk)
    out = (zy - lse, ent) if entropy else zy - lse
    return out, (h, w, b, y, t, lse, ent if entropy else None)


def _logprobs_bwd(chunk, vchunk, entropy, res, g):
    h, w, b, y, t, lse, ent = res
    g_lp, g_ent = g if entropy else (g, None)
    dh, dw, db, dt = _grads(h, y, w, b, t, lse, ent, g_lp, g_ent, chunk, vchunk)
    return dh, dw, db, None, dt


_logprobs.defvjp(_logprobs_fwd, _logprobs_bwd)


# --------------------------------------------------------------------------- public


@overload
def fused_linear_logprobs(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    bias: ArrayLike | None = ...,
    temperature: float | ArrayLike = ...,
    chunk_size: int | None = ...,
    vocab_chunk_size: int | None = ...,
    ignore_index: int | None = ...,
    return_entropy: Literal[False] = ...,
) -> jax.Array: ...


@overload
def fused_linear_logprobs(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    bias: ArrayLike | None = ...,
    temperature: float | ArrayLike = ...,
    chunk_size: int | None = ...,
    vocab_chunk_size: int | None = ...,
    ignore_index: int | None = ...,
    return_entropy: Literal[True],
) -> tuple[jax.Array, jax.Array]: ...


def fused_linear_logprobs(
    hidden: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    bias: ArrayLike | None = None,
    temperature: float | ArrayLike = 1.0,
    chunk_size: int | None = None,
    vocab_chunk_size: int | None = None,
    ignore_index: int | None = -100,
    return_entropy: bool = False,
) -> jax.Array | tuple[jax.Array, jax.Array]:
    r"""Per-token log-probabilities of the labels under ``softmax((hidden @ weight + bias) / T)``, fused.

    .. math::
       z_i = (h_i W + b) / T, \qquad
       \log p_i = z_{i y_i} - \log \sum_j e^{z_{ij}}, \qquad
       H_i = -\sum_j p_{ij} \log p_{ij}

    equal to TRL's ``selective_log_softmax(logits / T, labels)`` (and
    ``entropy_from_logits(logits / T)``) on the full logits ``h @ W + b``, 0 at
    tokens whose label is ``ignore_index`` (TRL's ``row_mask``), without
    materialising the ``[tokens, V]`` logits: tokens are processed
    ``chunk_size`` at a time and, with ``vocab_chunk_size``, the vocabulary
    ``vocab_chunk_size`` columns at a time with an online log-sum-exp (as TRL's
    ``ChunkedLogProbFunction``). The gradients w.r.t. ``hidden``, ``weight``,
    ``bias`` and ``temperature`` (the entropy's included) are a ``custom_vjp``
    that recomputes each chunk's logits; temporary memory is
    ``O(chunk_size * vocab_chunk_size + D * V)``. Arithmetic and accumulation
    are in float32 at least; half-precision inputs give float32 outputs and
    gradients in their own dtype.

    This is a primitive, not a loss: it has no ``reduction`` and is not in the
    loss registry. Sequence log-probabilities (``*_logps`` of the preference
    losses) are ``jnp.sum(logprobs, axis=-1)`` over a ``[B, T]`` batch.

    ``weight`` is ``[D, V]`` (``hidden @ weight``); a PyTorch ``nn.Linear(D, V)``
    (an LM head) stores the transpose, ``lm_head.weight`` of shape ``[V, D]``.

    Args:
      hidden: ``[..., D]`` floating hidden states (leading axes are tokens).
      weight: ``[D, V]`` output projection.
      labels: integer token ids of shape ``hidden.shape[:-1]`` (already shifted
        for next-token prediction).
      bias: optional ``[V]`` bias.
      temperature: :math:`T > 0` dividing the logits (TRL's sampling
        temperature); float or traced array (differentiable).
      chunk_size: tokens per chunk (static); ``None`` picks
        :func:`default_chunk_size` for ``[chunk, vocab_chunk_size]`` float32
        tiles of about 32 MiB. It need not divide the number of tokens.
      vocab_chunk_size: vocabulary columns per tile (static); ``None`` (the
        default) takes the whole vocabulary at once. It need not divide ``V``.
      ignore_index: label whose tokens give 0 (log-probability and entropy)
        with zero gradient (``-100`` by default; ``None`` for none).
      return_entropy: also return the per-token entropy :math:`H_i` (nats).

    Returns:
      ``logprobs`` of shape ``labels.shape``, or ``(logprobs, entropy)`` with
      ``return_entropy=True``. Out-of-range labels raise ``ValueError``
      eagerly and give NaN under ``jit``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> h = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> w = jnp.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
      >>> jaxloss.llm.fused_linear_logprobs(h, w, jnp.array([0, 1, -100]), vocab_chunk_size=2)
      Array([-0.23954487, -0.23954487,  0.        ], dtype=float32)

    Differences from the anchors: TRL's ``selective_log_softmax`` also takes
    ``[..., K]`` index arrays (top-K gathers); here one label per token. TRL's
    ``row_mask`` is expressed by ``ignore_index``.

    References:
      TRL ``trl.trainer.utils.selective_log_softmax``, ``entropy_from_logits``
      and ``trl.kernels.ChunkedLogProbFunction``; the chunked formulation of
      Liger-Kernel (Hsu et al. 2024, https://arxiv.org/abs/2410.10989); online
      softmax (Milakov & Gimelshein 2018, https://arxiv.org/abs/1805.02867).
    """
    with calling("fused_linear_logprobs"):
        contracts.bounded(temperature, "temperature", gt=0)
        dim, vocab = check_fused(
            hidden, weight, labels, bias, chunk_size=chunk_size, vocab_chunk_size=vocab_chunk_size
        )
        shape = tuple(np.shape(labels))
        n = math.prod(shape)
        h, w, b = upcast(hidden, weight, bias)
        dtype = h.dtype
        t = param(temperature, dtype)
        safe, valid, bad = class_labels(labels, vocab, ignore_index=ignore_index)
        h = h.reshape((n, dim))
        if valid is not None:
            # Ignored tokens: zero hidden state, so NaN/inf there reach neither value nor gradient.
            h = jnp.where(valid.reshape((n, 1)), h, jnp.zeros((), dtype))
        vchunk = int(min(vocab, vocab_chunk_size or vocab))
        chunk = int(min(max(n, 1), chunk_size or default_chunk_size(n, vchunk)))
        out: Any = _logprobs(
            h, w, b, safe.reshape((n,)).astype(jnp.int32), t, chunk, vchunk, return_entropy
        )
        outputs = cast(tuple[jax.Array, ...], out if return_entropy else (out,))
        zero = jnp.zeros((), dtype)
        results = []
        for x in outputs:
            x = x.reshape(shape)
            x = x if valid is None else jnp.where(valid, x, zero)
            results.append(poison(x, bad))
        return (results[0], results[1]) if return_entropy else results[0]
