"""Chunking machinery shared by the fused large-vocabulary functions.

The fused functions (:func:`jaxloss.fused_linear_cross_entropy`,
:func:`jaxloss.llm.fused_linear_logprobs` and the fused preference losses built
on the latter) all take ``hidden [..., D]``, ``weight [D, V]``, integer
``labels`` and an optional ``bias [V]``, flatten the tokens, and walk them
``chunk`` tokens at a time (and, where asked, ``vocab_chunk`` vocabulary
columns at a time), so the ``[tokens, V]`` logits never exist at once. This
module holds the pieces they share: the argument checks, the default chunk
size, token chunking with padding, and vocabulary slices that need no copy of
``weight``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name

__all__ = ["default_chunk_size"]

# Bytes of one chunk's float32 logits the default aims for: fastest on CPU (bench/scenarios/fused.py NOTES).
_CHUNK_BYTES = 32 * 2**20
_MIN_CHUNK = 64


def default_chunk_size(num_tokens: int, vocab_size: int) -> int:
    """The chunk size :func:`fused_linear_cross_entropy` uses when none is given.

    The largest power of two whose float32 logits chunk ``[chunk, vocab]``
    stays within 32 MiB, at least 64 tokens, and never more than the number
    of tokens (fewer tokens make a single chunk). :func:`fused_linear_logprobs`
    uses it with ``vocab_size`` its vocabulary chunk.

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


def check_fused(
    hidden: Any,
    weight: Any,
    labels: Any,
    bias: Any,
    names: tuple[str, str, str, str] = ("hidden", "weight", "labels", "bias"),
    **chunks: int | None,
) -> tuple[int, int]:
    """Trace-time checks of the fused functions' common arguments; returns ``(D, V)``.

    ``names`` are the argument names the messages use (``student_hidden``, ...).
    ``chunks`` are the static chunk-size options by name (``chunk_size=...``): each must be a
    positive int or ``None``.
    """
    h_name, w_name, y_name, b_name = names
    contracts.floating(**{h_name: hidden, w_name: weight, b_name: bias})
    contracts.integer(**{y_name: labels})
    contracts.min_rank(hidden, 1, h_name)
    contracts.rank(
        weight, 2, w_name, hint=f"{w_name} is [D, V]; torch's nn.Linear weight is its transpose"
    )
    dim, vocab = np.shape(weight)
    contracts.shape_is(
        hidden,
        (*np.shape(hidden)[:-1], dim),
        h_name,
        hint=f"its last axis must be {w_name}.shape[0] = {dim} ({w_name} has shape {(dim, vocab)})",
    )
    contracts.shape_is(
        labels,
        np.shape(hidden)[:-1],
        y_name,
        hint=f"{y_name} must have {h_name}.shape[:-1]",
        like={h_name: hidden},
    )
    if bias is not None:
        contracts.shape_is(bias, (vocab,), b_name, hint=f"{b_name} must be [V] with V = {vocab}")
    for name, size in chunks.items():
        if size is not None and (
            not isinstance(size, int | np.integer) or isinstance(size, bool) or size < 1
        ):
            raise ValueError(
                f"{function_name()}: {name} must be a positive int or None, got {size!r}"
            )
    return int(dim), int(vocab)


def check_reference(
    ref_hidden: Any, ref_weight: Any, ref_bias: Any, given: bool, given_name: str
) -> None:
    """The reference model of a fused loss is ``ref_hidden`` with ``ref_weight`` (and optionally
    ``ref_bias``), or precomputed log-probabilities (``given``, named ``given_name``), or
    nothing; anything else raises ``ValueError``."""
    model = (ref_hidden is not None, ref_weight is not None)
    if model[0] != model[1] or (given and any(model)) or (ref_bias is not None and not all(model)):
        raise ValueError(
            f"{function_name()}: give the reference as ref_hidden with ref_weight (a frozen "
            f"model), or as {given_name}, or not at all"
        )


def chunked(x: jax.Array, chunk: int) -> jax.Array:
    """``x`` with its leading axis padded (zeros) to a multiple of ``chunk`` and split into chunks."""
    n = x.shape[0]
    pad = -n % chunk
    if pad:
        x = jnp.concatenate([x, jnp.zeros((pad, *x.shape[1:]), x.dtype)])
    return x.reshape(((n + pad) // chunk, chunk, *x.shape[1:]))


def unchunked(x: jax.Array, n: int) -> jax.Array:
    """The inverse of :func:`chunked`: the first ``n`` rows."""
    return x.reshape((-1, *x.shape[2:]))[:n]


def vocab_slice(
    w: jax.Array, b: jax.Array | None, k: Any, width: int
) -> tuple[jax.Array, jax.Array | None, jax.Array, jax.Array]:
    """The ``k``-th vocabulary chunk of ``width`` columns, without copying or padding ``weight``.

    The last chunk is shifted left to end at ``V`` (``lax.dynamic_slice``
    clamps), so it overlaps its predecessor; ``live`` marks the columns that
    belong to chunk ``k`` (global index ``>= k * width``), and every column is
    live in exactly one chunk. Returns ``(w_k [D, width], b_k [width] or None,
    start, live [width])``; ``start`` is the global index of column 0.
    """
    dim, vocab = w.shape
    start = jnp.minimum(k * width, vocab - width)
    w_k = jax.lax.dynamic_slice(w, (jnp.zeros((), start.dtype), start), (dim, width))
    b_k = None if b is None else jax.lax.dynamic_slice(b, (start,), (width,))
    live = start + jnp.arange(width, dtype=jnp.int32) >= k * width
    return w_k, b_k, start, live
