"""Function transforms over embedding losses: Matryoshka (nested dimensions) and GradCache
(chunked re-embedding for batches larger than the activations' memory).

These are not losses themselves (they are not registered): each takes a loss function
(any ``jaxloss`` embedding loss, or the user's own) and returns its value.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import l2_normalize
from .._src.types import ArrayLike

__all__ = ["cached_embed", "cached_loss", "matryoshka_loss"]


# --------------------------------------------------------------------------- Matryoshka


def _check_dims(dims: Sequence[int], full: int, weights: Sequence[float] | None) -> None:
    if isinstance(dims, (int, np.integer)) or len(dims) == 0:
        raise ValueError(
            f"{function_name()}: dims must be a non-empty sequence of ints, got {dims!r}"
        )
    for d in dims:
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool) or not 0 < d <= full:
            raise ValueError(
                f"{function_name()}: dims must be static ints in [1, {full}] (the embedding "
                f"dimension), got {tuple(dims)!r}"
            )
    if weights is not None and len(weights) != len(dims):
        raise ValueError(
            f"{function_name()}: weights has {len(weights)} entries but dims has {len(dims)}; "
            "pass one weight per dimension"
        )


def _matryoshka_checks(
    columns: list[Any],
    dims: Sequence[int],
    weights: Sequence[float] | None,
    n_dims_per_step: int | None,
    key: jax.Array | None,
) -> tuple[int, list[float], jax.Array | None]:
    """The full dimension, the dims' weights and the drawn dims' mask (``None``: all)."""
    if not columns:
        raise ValueError(f"{function_name()}: embeddings is empty; pass one array or a sequence")
    contracts.floating(**{f"embeddings[{i}]": c for i, c in enumerate(columns)})
    full = int(np.shape(columns[0])[-1]) if np.ndim(columns[0]) else 0
    for i, c in enumerate(columns):
        if np.ndim(c) == 0 or np.shape(c)[-1] != full:
            raise ValueError(
                f"{function_name()}: embeddings[{i}] has shape {tuple(np.shape(c))} but the "
                f"embedding dimension (last axis) of embeddings[0] is {full}; all columns must match"
            )
    _check_dims(dims, full, weights)
    w = [1.0] * len(dims) if weights is None else list(weights)
    chosen = None
    if n_dims_per_step is not None:
        if (
            isinstance(n_dims_per_step, bool)
            or not isinstance(n_dims_per_step, (int, np.integer))
            or n_dims_per_step < 1
        ):
            raise ValueError(
                f"{function_name()}: n_dims_per_step must be None or an int >= 1, got {n_dims_per_step!r}"
            )
        if n_dims_per_step < len(dims):
            if key is None:
                raise ValueError(
                    f"{function_name()}: n_dims_per_step={n_dims_per_step} draws dims; pass key="
                )
            contracts.prng_key(key)
            order = jax.random.permutation(key, len(dims))
            chosen = jnp.zeros((len(dims),), bool).at[order[:n_dims_per_step]].set(True)

    return full, w, chosen


def matryoshka_loss(
    loss_fn: Callable[..., jax.Array],
    embeddings: ArrayLike | Sequence[ArrayLike],
    *args: Any,
    dims: Sequence[int],
    weights: Sequence[float] | None = None,
    n_dims_per_step: int | None = None,
    key: jax.Array | None = None,
    normalize: bool = True,
    **loss_kwargs: Any,
) -> jax.Array:
    r"""Matryoshka representation learning: a loss summed over nested prefixes of the embeddings.

    .. math::
       \mathcal{L} = \sum_k w_k\, \mathcal{L}_{\text{fn}}\big(e^{(1)}_{:d_k}, \dots,
       e^{(c)}_{:d_k}, \text{args}\big)

    Every embedding array is truncated to its first :math:`d_k` features (the
    last axis) and, with ``normalize`` (sentence-transformers 6.x), L2-normalised
    again; label arrays of rank 2 or 3 whose last axis is the full embedding
    dimension (distillation targets) are truncated too, as in sentence-transformers.

    Args:
      loss_fn: the loss, called as ``loss_fn(*truncated_embeddings, *args, **loss_kwargs)``
        (e.g. :func:`jaxloss.multiple_negatives_ranking_loss`).
      embeddings: one ``[..., dim]`` floating array or a sequence of them (the
        columns: anchors, positives, ...), all with the same ``dim``.
      *args: further positional arguments of ``loss_fn`` (labels, scores).
      dims: the nested dimensions :math:`d_k`, static ints in ``[1, dim]``
        (ST's ``matryoshka_dims``; the order does not matter).
      weights: the :math:`w_k`, one per dimension (ST's ``matryoshka_weights``;
        default all 1). Per-example weights of ``loss_fn`` go through
        ``functools.partial(loss_fn, weights=...)``.
      n_dims_per_step: when set (and smaller than ``len(dims)``), only this many
        dimensions, drawn without replacement with ``key``, enter each call;
        the others are skipped at run time (``lax.cond``). ``None`` (default, ST's
        ``-1``) uses all of them.
      key: the PRNG key of the draw; required with ``n_dims_per_step``.
      normalize: L2-normalise every truncated embedding (default ``True``, ST 6.x's
        ``shrink``); ``False`` is plain truncation (ST before 6.0).
      **loss_kwargs: keyword options of ``loss_fn``.

    Returns:
      The weighted sum of ``loss_fn``'s outputs (its shape: a scalar for a reduced loss).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
      >>> jaxloss.matryoshka_loss(jaxloss.multiple_negatives_ranking_loss, (a, a), dims=(3, 1), scale=1.0)
      Array(0.9772814, dtype=float32)

    References:
      A. Kusupati et al., "Matryoshka Representation Learning", NeurIPS 2022,
      https://arxiv.org/abs/2205.13147; sentence-transformers ``MatryoshkaLoss(model,
      loss, matryoshka_dims, matryoshka_weights=None, n_dims_per_step=-1)``, which
      truncates the model's cached full embeddings (the same math). Deliberate
      differences: the embeddings are given; the draw of ``n_dims_per_step`` uses a
      JAX key (ST uses Python's ``random``); the layer half of ``Matryoshka2dLoss``
      is model-level and not offered.
    """
    columns = [embeddings] if hasattr(embeddings, "shape") else list(embeddings)  # type: ignore[arg-type]
    with contracts.calling("matryoshka_loss"):
        full, w, chosen = _matryoshka_checks(columns, dims, weights, n_dims_per_step, key)

    def truncate(x: Any, d: int, embedding: bool) -> Any:
        if embedding:
            x = jnp.asarray(x)[..., :d]
            return l2_normalize(x) if normalize else x
        if hasattr(x, "shape") and np.ndim(x) in (2, 3) and np.shape(x)[-1] == full:
            return jnp.asarray(x)[..., :d]
        return x

    def at(d: int) -> jax.Array:
        trunc = [truncate(c, d, True) for c in columns]
        rest = [truncate(x, d, False) for x in args]
        return jnp.asarray(loss_fn(*trunc, *rest, **loss_kwargs))

    total = None
    for k, d in enumerate(dims):
        if chosen is None:
            term = w[k] * at(int(d))
        else:
            shape = jax.eval_shape(functools.partial(at, int(d)))
            term = jax.lax.cond(
                chosen[k],
                lambda d=int(d), wk=w[k]: wk * at(d),
                lambda shape=shape: jnp.zeros(shape.shape, shape.dtype),
            )
        total = term if total is None else total + term
    assert total is not None
    return total


# --------------------------------------------------------------------------- GradCache


def cached_embed(embed_fn: Callable[..., Any], *, chunk_size: int) -> Callable[..., Any]:
    r"""``embed_fn`` computed chunk by chunk with its activations recomputed in the backward pass.

    The returned function has ``embed_fn``'s signature plus an optional ``key=``:
    ``cached(params, *inputs, key=None)``. The inputs (pytrees with a leading batch
    axis) are cut into chunks of ``chunk_size`` rows; each chunk is embedded under
    ``jax.checkpoint(policy=nothing_saveable)``, so the forward pass keeps only
    the embeddings and the backward pass re-embeds each chunk and pulls the
    embeddings' cotangent through it (GradCache). The value and the gradients are
    those of ``embed_fn`` on the whole batch; the activation memory is that of one
    chunk. A stochastic ``embed_fn`` (dropout) takes ``key=``: chunk ``c`` is called
    with ``jax.random.fold_in(key, c)``, which the recomputation replays exactly
    (ST's ``RandContext``).

    Args:
      embed_fn: ``embed_fn(params, *inputs)`` (or ``embed_fn(params, *inputs, key=k)``)
        returning a pytree of arrays with the batch on the leading axis.
      chunk_size: rows per chunk, an int ``>= 1`` (ST's ``mini_batch_size``); a
        remainder chunk takes the last ``batch % chunk_size`` rows.

    Returns:
      The chunked embedding function.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> embed = jaxloss.cached_embed(lambda w, x: jnp.tanh(x @ w), chunk_size=2)
      >>> embed(jnp.eye(3), jnp.ones((5, 3))).shape
      (5, 3)

    References:
      L. Gao et al., "Scaling Deep Contrastive Learning Batch Size under Memory
      Limited Setup" (GradCache), 2021, https://arxiv.org/abs/2101.06983;
      sentence-transformers ``Cached*Loss(mini_batch_size=32)``.
    """
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, (int, np.integer))
        or chunk_size < 1
    ):
        raise ValueError(f"cached_embed: chunk_size must be an int >= 1, got {chunk_size!r}")
    size = int(chunk_size)

    def call(params: Any, chunk: tuple[Any, ...], key: jax.Array | None) -> Any:
        if key is None:
            return embed_fn(params, *chunk)
        return embed_fn(params, *chunk, key=key)

    body = jax.checkpoint(call, policy=jax.checkpoint_policies.nothing_saveable)

    @functools.wraps(embed_fn)
    def cached(params: Any, *inputs: Any, key: jax.Array | None = None) -> Any:
        leaves = jax.tree.leaves(inputs)
        if not leaves:
            raise ValueError("cached_embed: no inputs to embed")
        batch = {int(np.shape(x)[0]) if np.ndim(x) else -1 for x in leaves}
        if len(batch) != 1 or -1 in batch:
            raise ValueError(
                f"cached_embed: every input needs the same leading batch axis, got sizes {sorted(batch)}"
            )
        (n,) = batch
        full, rest = divmod(n, size)
        pieces = []
        if full:
            chunks = jax.tree.map(
                lambda x: jnp.reshape(
                    jnp.asarray(x)[: full * size], (full, size, *np.shape(x)[1:])
                ),
                inputs,
            )
            index = jnp.arange(full)

            def one(carry: tuple[Any, jax.Array]) -> Any:
                chunk, c = carry
                return body(params, chunk, None if key is None else jax.random.fold_in(key, c))

            out = jax.lax.map(one, (chunks, index))
            pieces.append(jax.tree.map(lambda y: y.reshape(full * size, *y.shape[2:]), out))
        if rest:
            tail = jax.tree.map(lambda x: jnp.asarray(x)[full * size :], inputs)
            pieces.append(
                body(params, tail, None if key is None else jax.random.fold_in(key, full))
            )
        if len(pieces) == 1:
            return pieces[0]
        return jax.tree.map(lambda *ys: jnp.concatenate(ys, axis=0), *pieces)

    return cached


def cached_loss(
    loss_fn: Callable[..., jax.Array],
    embed_fn: Callable[..., Any],
    params: Any,
    *inputs: Any,
    chunk_size: int = 32,
    key: jax.Array | None = None,
    **loss_kwargs: Any,
) -> jax.Array:
    r"""A contrastive loss over a large batch with GradCache memory: chunked re-embedding.

    .. math::
       \mathcal{L}(\theta) = \mathcal{L}_{\text{fn}}\big(f_\theta(x^{(1)}), \dots, f_\theta(x^{(c)})\big)

    Each input column :math:`x^{(j)}` (anchors, positives, negatives, ...) is
    embedded by :func:`cached_embed` ``(embed_fn, chunk_size=chunk_size)``, then
    ``loss_fn`` takes the embeddings. ``jax.grad`` with respect to ``params``
    gives exactly the gradient of the uncached composition
    ``loss_fn(*(embed_fn(params, x) for x in inputs))`` while the encoder's
    activations are held for one chunk at a time (the loss itself still sees the
    whole batch of embeddings, as in-batch negatives require).

    Args:
      loss_fn: the loss over embeddings, e.g.
        :func:`jaxloss.multiple_negatives_ranking_loss` (``axis_name`` in
        ``loss_kwargs`` gathers after the local embedding).
      embed_fn: ``embed_fn(params, x)`` returning ``[batch, dim]`` (or
        ``embed_fn(params, x, key=k)`` when ``key`` is given).
      params: the encoder's parameters (any pytree).
      *inputs: the columns, each a pytree with a leading batch axis.
      chunk_size: rows per chunk, an int ``>= 1`` (ST's ``mini_batch_size``, 32).
      key: optional PRNG key of a stochastic ``embed_fn``: column ``j`` uses
        ``fold_in(key, j)`` and its chunk ``c`` ``fold_in(fold_in(key, j), c)``.
      **loss_kwargs: keyword options of ``loss_fn``.

    Returns:
      ``loss_fn``'s value.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxloss
      >>> embed = lambda w, x: x @ w
      >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> loss = lambda w: jaxloss.cached_loss(jaxloss.multiple_negatives_ranking_loss,
      ...                                      embed, w, x, 2 * x, chunk_size=2, scale=1.0)
      >>> loss(jnp.eye(2))
      Array(0.80343777, dtype=float32)

    References:
      L. Gao et al., "Scaling Deep Contrastive Learning Batch Size under Memory
      Limited Setup" (GradCache), 2021, https://arxiv.org/abs/2101.06983;
      sentence-transformers ``CachedMultipleNegativesRankingLoss(model, scale=20.0,
      mini_batch_size=32)`` (value checked with a stub model) and its cached
      siblings for the symmetric, GISTEmbed and bidirectional losses. Deliberate
      differences: ST runs a no-grad forward then a second forward with gradients;
      here ``jax.checkpoint`` does the same recomputation inside the usual
      ``jax.grad``, and the loss is not additionally split over anchor chunks.
    """
    if not inputs:
        raise ValueError("cached_loss: pass at least one input column to embed")
    if key is not None:
        contracts.prng_key(key)
    embed = cached_embed(embed_fn, chunk_size=chunk_size)
    columns = [
        embed(params, x, key=None if key is None else jax.random.fold_in(key, j))
        for j, x in enumerate(inputs)
    ]
    return loss_fn(*columns, **loss_kwargs)
