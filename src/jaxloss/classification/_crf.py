"""Linear-chain conditional random field: negative log-likelihood and Viterbi decoding."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.labels import class_labels, poison
from .._src.numerics import is_traced, upcast
from .._src.reduce import check_reduction, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["crf_decode", "crf_loss"]


def _chain(
    potentials: ArrayLike,
    transitions: ArrayLike,
    lengths: ArrayLike | None,
    start_transitions: ArrayLike | None,
    end_transitions: ArrayLike | None,
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]:
    """Checks and upcasts the chain; returns ``(x, trans, start, end, lengths, on)``."""
    contracts.rank(potentials, 3, "potentials", "[batch, steps, tags]")
    contracts.floating(
        potentials=potentials,
        transitions=transitions,
        start_transitions=start_transitions,
        end_transitions=end_transitions,
    )
    batch, steps, tags = jnp.shape(potentials)
    like = {"potentials": potentials}
    contracts.shape_is(transitions, (tags, tags), "transitions", "[from_tag, to_tag]", like=like)
    for value, what in (
        (start_transitions, "start_transitions"),
        (end_transitions, "end_transitions"),
    ):
        if value is not None:
            contracts.shape_is(value, (tags,), what, like=like)
    if steps < 1 or tags < 1:
        raise ValueError(
            f"{contracts.function_name()}: potentials has shape {(batch, steps, tags)}; "
            "at least one step and one tag are needed"
        )
    x, trans, start, end = upcast(potentials, transitions, start_transitions, end_transitions)
    start = jnp.zeros((tags,), x.dtype) if start is None else start
    end = jnp.zeros((tags,), x.dtype) if end is None else end
    if lengths is None:
        n = jnp.full((batch,), steps, jnp.int32)
    else:
        contracts.integer(lengths=lengths)
        contracts.shape_is(lengths, (batch,), "lengths", "one length per sequence", like=like)
        if not is_traced(lengths) and not np.all(
            (np.asarray(lengths) >= 0) & (np.asarray(lengths) <= steps)
        ):
            raise ValueError(
                f"{contracts.function_name()}: lengths must lie in [0, {steps}] (potentials has "
                f"{steps} steps), got {np.asarray(lengths).tolist()}"
            )
        n = jnp.clip(jnp.asarray(lengths).astype(jnp.int32), 0, steps)
    on = jnp.arange(steps, dtype=jnp.int32)[None, :] < n[:, None]
    return x, trans, start, end, n, on


@register(
    "classification",
    reference="pytorch-crf CRF; TF-Addons crf_log_likelihood (Lafferty et al. 2001)",
)
def crf_loss(
    potentials: ArrayLike,
    tags: ArrayLike,
    transitions: ArrayLike,
    *,
    lengths: ArrayLike | None = None,
    start_transitions: ArrayLike | None = None,
    end_transitions: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Negative log-likelihood of a tag sequence under a linear-chain CRF.

    For a sequence of length :math:`L` with unary potentials :math:`x_{t,c}`, tags
    :math:`y_t`, transition scores :math:`A_{ij}` (from tag :math:`i` to tag :math:`j`) and
    optional start/end scores :math:`a, e`,

    .. math::
       s(y) = a_{y_1} + \sum_{t=1}^{L} x_{t,y_t} + \sum_{t=2}^{L} A_{y_{t-1} y_t} + e_{y_L},
       \qquad \ell = \log \sum_{y'} e^{s(y')} - s(y)

    with the partition function computed by the forward algorithm in log space
    (``logsumexp`` in a ``lax.scan``; padded steps carry :math:`\alpha` unchanged). A
    sequence of length 0 gives 0.

    Args:
      potentials: ``[batch, steps, tags]`` floating unary (emission) scores.
      tags: ``[batch, steps]`` integer gold tags in ``[0, tags)``; entries past a
        sequence's length are ignored (any value).
      transitions: ``[tags, tags]`` transition scores, ``transitions[i, j]`` from tag
        ``i`` to tag ``j`` (pytorch-crf ``transitions``, TF-Addons ``transition_params``).
      lengths: optional ``[batch]`` integer lengths in ``[0, steps]`` (default: every
        sequence is ``steps`` long); the valid steps are a prefix (pytorch-crf's ``mask``
        is ``arange(steps) < lengths``).
      start_transitions: optional ``[tags]`` scores of the first tag (pytorch-crf);
        ``None`` gives 0 (TF-Addons).
      end_transitions: optional ``[tags]`` scores of the last tag (pytorch-crf); ``None``
        gives 0.
      weights: optional weights broadcastable to ``[batch]``.
      where: optional boolean ``[batch]`` mask of the sequences.
      reduction: ``"mean"`` (default; pytorch-crf ``reduction="mean"`` negated), ``"sum"``
        or ``"none"`` (``[batch]`` per-sequence negative log-likelihoods). pytorch-crf's
        ``"token_mean"`` is ``"sum"`` divided by ``lengths.sum()``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[batch]`` per-sequence losses for
      ``"none"``. Out-of-range tags inside a sequence give NaN under ``jit`` (a
      ``ValueError`` when concrete).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.zeros((1, 3, 2))
      >>> jaxloss.crf_loss(x, jnp.array([[0, 1, 1]]), jnp.zeros((2, 2)))
      Array(2.0794415, dtype=float32)

    References:
      J. Lafferty, A. McCallum, F. Pereira, "Conditional Random Fields: Probabilistic
      Models for Segmenting and Labeling Sequence Data", ICML 2001; pytorch-crf 0.7.2
      ``CRF(num_tags, batch_first=True)(emissions, tags, mask, reduction)`` (which returns
      the log-likelihood: the loss is its negation) and TF-Addons ``text/crf.py``
      ``crf_log_likelihood(inputs, tag_indices, sequence_lengths, transition_params)``
      (no start/end scores). Deliberate differences: sequence lengths replace
      pytorch-crf's mask (both are prefixes); a length-0 sequence gives 0 where
      pytorch-crf requires the first step of every sequence to be valid.
    """
    check_reduction(reduction)
    x, trans, start, end, n, on = _chain(
        potentials, transitions, lengths, start_transitions, end_transitions
    )
    contracts.integer(tags=tags)
    contracts.shape_is(tags, x.shape[:2], "tags", like={"potentials": potentials})
    num_tags = x.shape[2]
    inside = jnp.where(on, jnp.asarray(tags), 0)
    y, _, bad = class_labels(inside, num_tags, what="tags", like={"potentials": potentials})
    emit = jnp.take_along_axis(x, y[..., None], axis=2)[..., 0]
    pair = trans[y[:, :-1], y[:, 1:]]
    last = jnp.take_along_axis(y, jnp.maximum(n - 1, 0)[:, None], axis=1)[:, 0]
    zero = jnp.zeros((), x.dtype)
    score = (
        start[y[:, 0]]
        + jnp.sum(jnp.where(on, emit, zero), axis=1)
        + jnp.sum(jnp.where(on[:, 1:], pair, zero), axis=1)
        + end[last]
    )

    def forward(alpha, inputs):
        x_t, on_t = inputs
        new = jax.nn.logsumexp(alpha[:, :, None] + trans[None], axis=1) + x_t
        return jnp.where(on_t[:, None], new, alpha), None

    alpha, _ = jax.lax.scan(
        forward, start[None] + x[:, 0], (jnp.swapaxes(x[:, 1:], 0, 1), on[:, 1:].T)
    )
    log_z = jax.nn.logsumexp(alpha + end[None], axis=1)
    loss = jnp.where(n > 0, log_z - score, zero)
    return reduce(poison(loss, jnp.any(bad, axis=1)), reduction, weights=weights, where=where)


def crf_decode(
    potentials: ArrayLike,
    transitions: ArrayLike,
    *,
    lengths: ArrayLike | None = None,
    start_transitions: ArrayLike | None = None,
    end_transitions: ArrayLike | None = None,
) -> tuple[jax.Array, jax.Array]:
    r"""The highest-scoring tag sequence of a linear-chain CRF (Viterbi).

    Finds :math:`\arg\max_y s(y)` for the score :math:`s` of :func:`~jaxloss.crf_loss`
    by dynamic programming (a max-product ``lax.scan`` and a reverse scan over the
    back-pointers). Ties go to the lowest tag index.

    Args:
      potentials: ``[batch, steps, tags]`` floating unary scores.
      transitions: ``[tags, tags]`` transition scores (``[i, j]``: from ``i`` to ``j``).
      lengths: optional ``[batch]`` integer lengths in ``[0, steps]``.
      start_transitions: optional ``[tags]`` first-tag scores (``None``: 0).
      end_transitions: optional ``[tags]`` last-tag scores (``None``: 0).

    Returns:
      ``(tags, best_score)``: ``[batch, steps]`` int32 tags (0 past each length, as
      TF-Addons ``crf_decode`` pads) and the ``[batch]`` score of the best sequence (0
      for a length-0 sequence). No gradient flows through ``tags``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[[2.0, 0.0], [0.0, 1.0], [0.0, 3.0]]])
      >>> tags, score = jaxloss.crf_decode(x, jnp.array([[0.0, -5.0], [0.0, 0.0]]))
      >>> tags, score
      (Array([[1, 1, 1]], dtype=int32), Array([4.], dtype=float32))

    References:
      pytorch-crf 0.7.2 ``CRF.decode`` (lists of tags per sequence) and TF-Addons
      ``text/crf.py::crf_decode`` (padded tags and ``best_score``).
    """
    with contracts.calling("crf_decode"):
        x, trans, start, end, n, on = _chain(
            potentials, transitions, lengths, start_transitions, end_transitions
        )
        num_tags = x.shape[2]

        def forward(score, inputs):
            x_t, on_t = inputs
            candidates = score[:, :, None] + trans[None]  # [batch, from, to]
            new = jnp.max(candidates, axis=1) + x_t
            best = jnp.argmax(candidates, axis=1).astype(jnp.int32)
            keep = jnp.broadcast_to(jnp.arange(num_tags, dtype=jnp.int32), best.shape)
            return jnp.where(on_t[:, None], new, score), jnp.where(on_t[:, None], best, keep)

        score, pointers = jax.lax.scan(
            forward, start[None] + x[:, 0], (jnp.swapaxes(x[:, 1:], 0, 1), on[:, 1:].T)
        )
        final = score + end[None]
        last = jnp.argmax(final, axis=1).astype(jnp.int32)

        def backward(tag, pointer):
            return jnp.take_along_axis(pointer, tag[:, None], axis=1)[:, 0], tag

        first, rest = jax.lax.scan(backward, last, pointers, reverse=True)
        path = jnp.concatenate([first[:, None], rest.T], axis=1)
        path = jnp.where(on, path, 0)
        best = jnp.where(n > 0, jnp.max(final, axis=1), jnp.zeros((), x.dtype))
        return jax.lax.stop_gradient(path), best
