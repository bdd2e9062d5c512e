"""Function transforms over the labelled-batch losses, pytorch-metric-learning semantics:
a cross-batch memory (XBM, a ring buffer of past embeddings as explicit state) and the
self-supervised wrapper (two views of the same items as one labelled batch).

Both call any loss that takes ``(embeddings, labels, *, ref_embeddings=, ref_labels=,
ref_where=)``: ``triplet_loss``, ``batch_contrastive_loss``, ``ntxent``,
``supervised_contrastive_loss``, ``multi_similarity_loss``, ``circle_loss``,
``generalized_lifted_structure_loss``, ``nca_loss``, ``angular_loss``,
``tuplet_margin_loss``, ... They are transforms, not registered losses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import calling, function_name
from .._src.embeddings import check_labels, check_rows
from .._src.types import ArrayLike

__all__ = ["XBMState", "cross_batch_memory_loss", "self_supervised_loss", "xbm_init"]


class XBMState(NamedTuple):
    """The cross-batch memory: a ring buffer of past embeddings and their labels.

    Attributes:
      embeddings: ``[memory_size, dim]`` stored embeddings (never carry gradient).
      labels: ``[memory_size]`` their integer labels.
      valid: ``[memory_size]`` bool, the slots written so far.
      index: int32 scalar, the next slot to write.
    """

    embeddings: jax.Array
    labels: jax.Array
    valid: jax.Array
    index: jax.Array


def xbm_init(
    memory_size: int, dim: int, *, dtype: Any = jnp.float32, label_dtype: Any = jnp.int32
) -> XBMState:
    """An empty cross-batch memory (PML ``CrossBatchMemory.reset_queue``).

    Args:
      memory_size: the number of slots (PML ``memory_size``), a Python int ``>= 1``.
      dim: the embedding dimension (PML ``embedding_size``).
      dtype: the dtype of the stored embeddings.
      label_dtype: the integer dtype of the stored labels.

    Returns:
      An :class:`XBMState` with zero embeddings, zero labels, no valid slot and
      write index 0.

    Examples:
      >>> import jaxloss
      >>> state = jaxloss.xbm_init(8, 4)
      >>> state.embeddings.shape, int(state.valid.sum()), int(state.index)
      ((8, 4), 0, 0)
    """
    with calling("xbm_init"):
        for value, what in ((memory_size, "memory_size"), (dim, "dim")):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(
                    f"{function_name()}: {what} must be a Python int >= 1, got {value!r}"
                )
        return XBMState(
            jnp.zeros((int(memory_size), int(dim)), dtype),
            jnp.zeros((int(memory_size),), label_dtype),
            jnp.zeros((int(memory_size),), bool),
            jnp.zeros((), jnp.int32),
        )


def cross_batch_memory_loss(
    loss_fn: Callable[..., jax.Array],
    embeddings: ArrayLike,
    labels: ArrayLike,
    state: XBMState,
    *,
    enqueue_mask: ArrayLike | None = None,
    **loss_kwargs: Any,
) -> tuple[jax.Array, XBMState]:
    r"""Cross-batch memory (XBM, Wang et al. 2020), PML ``CrossBatchMemory`` semantics.

    The batch is written into the ring buffer first (its rows under
    ``stop_gradient``, overwriting the oldest slots), then

    .. code-block:: python

       loss_fn(embeddings, labels, ref_embeddings=memory, ref_labels=memory_labels,
               ref_where=valid, **loss_kwargs)

    runs: the batch's anchors against every filled slot, each anchor's own new
    slot excluded (PML ``do_remove_self_comparisons``). ``ref_where`` is then
    the ``[batch, memory_size]`` mask of the (anchor, slot) pairs that count.

    With ``enqueue_mask`` (PML ``enqueue_mask``), the rows where it is true only
    enter the memory and the others only query it, with no self-exclusion: the
    enqueued rows get an all-false ``ref_where`` row, so they have no pair.
    Losses that average over anchors without pairs too (``multi_similarity_loss``,
    ``generalized_lifted_structure_loss``) then count them as 0 terms: pass
    ``where=~enqueue_mask`` in ``loss_kwargs`` for PML's value there.

    Shapes are fixed (the memory is masked, never sliced), so the step jits;
    ``state.index`` and ``enqueue_mask`` may be traced.

    Args:
      loss_fn: a labelled-batch loss taking ``ref_embeddings``, ``ref_labels``
        and ``ref_where`` (PML's supported list: Angular, Circle, Contrastive,
        GeneralizedLifted, Margin, MultiSimilarity, NCA, NTXent, SupCon,
        Triplet, Tuplet; here e.g. ``jaxloss.batch_contrastive_loss``).
      embeddings: ``[batch, dim]`` floating embeddings (``batch <= memory_size``
        without ``enqueue_mask``; at most ``memory_size`` enqueued rows with it).
      labels: ``[batch]`` integer labels.
      state: the :class:`XBMState` from :func:`xbm_init` or the previous step.
      enqueue_mask: optional boolean ``[batch]``: the rows that enter the memory.
      **loss_kwargs: passed to ``loss_fn`` (margins, ``reduction``, ...).

    Returns:
      ``(loss, new_state)``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> state = jaxloss.xbm_init(8, 2)
      >>> x, y = jnp.array([[0.0, 1.0], [0.0, 0.5], [1.0, 0.0]]), jnp.array([0, 0, 1])
      >>> loss, state = jaxloss.cross_batch_memory_loss(jaxloss.batch_contrastive_loss, x, y, state)
      >>> loss, int(state.index)
      (Array(0.5, dtype=float32), 3)

    References:
      X. Wang, H. Zhang, W. Huang, M. R. Scott, "Cross-Batch Memory for
      Embedding Learning", CVPR 2020, https://arxiv.org/abs/1912.06798;
      pytorch-metric-learning ``CrossBatchMemory``.
    """
    with calling("cross_batch_memory_loss"):
        for what in ("ref_embeddings", "ref_labels", "ref_where"):
            if what in loss_kwargs:
                raise ValueError(
                    f"{function_name()}: {what} is set from the memory; do not pass it"
                )
        check_rows(embeddings, "embeddings")
        check_labels(labels, embeddings)
        memory, memory_labels, valid, index = state
        size, dim = memory.shape
        n = np.shape(embeddings)[0]
        if np.shape(embeddings)[1] != dim:
            raise ValueError(
                f"{function_name()}: embeddings has shape {tuple(np.shape(embeddings))} but the memory "
                f"holds dim {dim}; make the state with xbm_init(memory_size, {np.shape(embeddings)[1]})"
            )
        x = jnp.asarray(embeddings)
        y = jnp.asarray(labels)
        slot_of = jnp.arange(n, dtype=jnp.int32)
        if enqueue_mask is None:
            if n > size:
                raise ValueError(
                    f"{function_name()}: embeddings has {n} rows but the memory has {size} slots; "
                    "the batch must fit in the memory (memory_size >= batch)"
                )
            enqueue = jnp.ones((n,), bool)
        else:
            contracts.shape_is(
                enqueue_mask,
                (n,),
                "enqueue_mask",
                "one bool per embedding",
                like={"embeddings": embeddings},
            )
            enqueue = jnp.asarray(enqueue_mask, bool)
            slot_of = jnp.cumsum(enqueue, dtype=jnp.int32) - 1
        slots = (index.astype(jnp.int32) + slot_of) % size
        # Rows that are not enqueued write nowhere (an out-of-range index is dropped).
        target = jnp.where(enqueue, slots, size)
        stored = jax.lax.stop_gradient(x).astype(memory.dtype)
        memory = memory.at[target].set(stored, mode="drop")
        memory_labels = memory_labels.at[target].set(y.astype(memory_labels.dtype), mode="drop")
        valid = valid.at[target].set(True, mode="drop")
        new_index = (index.astype(jnp.int32) + jnp.sum(enqueue, dtype=jnp.int32)) % size
        columns = jnp.arange(size, dtype=jnp.int32)[None, :]
        if enqueue_mask is None:
            pairs = valid[None, :] & (columns != slots[:, None])
        else:
            pairs = valid[None, :] & ~enqueue[:, None]
        new_state = XBMState(memory, memory_labels, valid, new_index)
    loss = loss_fn(
        x, y, ref_embeddings=memory, ref_labels=memory_labels, ref_where=pairs, **loss_kwargs
    )
    return loss, new_state


def self_supervised_loss(
    loss_fn: Callable[..., jax.Array],
    embeddings: ArrayLike,
    ref_embeddings: ArrayLike,
    *,
    symmetric: bool = True,
    **loss_kwargs: Any,
) -> jax.Array:
    r"""Two views of the same items as a labelled batch, PML ``SelfSupervisedLoss`` semantics.

    Row ``i`` of ``embeddings`` and row ``i`` of ``ref_embeddings`` are two
    views (augmentations) of item ``i``, so item ``i`` is label ``i``:

    - ``symmetric=True`` (default): ``loss_fn(concat([embeddings, ref_embeddings]),
      concat([arange(B), arange(B)]))``, the two views as one batch of ``2B``
      (what PML does);
    - ``symmetric=False``: ``loss_fn(embeddings, arange(B),
      ref_embeddings=ref_embeddings, ref_labels=arange(B))``.

    Deliberate difference from the wording of API.md A29 ("averages it with the
    swapped call"): PML 2.9 concatenates the views, and that is what this does.

    Args:
      loss_fn: a labelled-batch loss (with ``ref_embeddings``/``ref_labels``
        for ``symmetric=False``), e.g. ``jaxloss.ntxent``, ``jaxloss.triplet_loss``.
      embeddings: ``[batch, dim]`` floating embeddings of the first view.
      ref_embeddings: ``[batch, dim]`` embeddings of the second view.
      symmetric: concatenate the views (default) or use the second as references.
      **loss_kwargs: passed to ``loss_fn``.

    Returns:
      What ``loss_fn`` returns (for ``reduction="none"`` with ``symmetric=True``,
      ``2B`` anchors: the first view's, then the second's).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> jaxloss.self_supervised_loss(jaxloss.ntxent, x, x, temperature=1.0)
      Array(0.5514447, dtype=float32)

    References:
      pytorch-metric-learning ``SelfSupervisedLoss``.
    """
    with calling("self_supervised_loss"):
        check_rows(embeddings, "embeddings")
        check_rows(ref_embeddings, "ref_embeddings")
        contracts.same_shape(
            "one second view per item", embeddings=embeddings, ref_embeddings=ref_embeddings
        )
        n = np.shape(embeddings)[0]
        labels = jnp.arange(n, dtype=jnp.int32)
        if symmetric:
            both = jnp.concatenate([jnp.asarray(embeddings), jnp.asarray(ref_embeddings)], axis=0)
            call = (both, jnp.concatenate([labels, labels]))
            kwargs = loss_kwargs
        else:
            call = (jnp.asarray(embeddings), labels)
            kwargs = {**loss_kwargs, "ref_embeddings": ref_embeddings, "ref_labels": labels}
    return loss_fn(*call, **kwargs)
