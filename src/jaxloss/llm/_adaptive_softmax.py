"""Adaptive softmax (Grave et al. 2017): a frequent-word head plus low-rank tail clusters."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.labels import class_labels, poison
from .._src.numerics import upcast
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["adaptive_log_softmax_loss"]

_FAMILY = "llm"


def _check_layout(
    hidden: ArrayLike,
    head_weight: ArrayLike,
    tail_weights: Sequence[tuple[ArrayLike, ArrayLike]],
    cutoffs: Sequence[int],
    head_bias: ArrayLike | None,
) -> int:
    """Checks the head, the tails and the cutoffs against each other; returns the vocabulary size."""
    name = function_name()
    contracts.floating(hidden=hidden, head_weight=head_weight)
    contracts.min_rank(hidden, 1, "hidden")
    cuts = [int(c) for c in cutoffs]
    if not cuts or cuts[0] <= 0 or any(b <= a for a, b in itertools.pairwise(cuts)):
        raise ValueError(
            f"{name}: cutoffs must be a non-empty increasing sequence of positive integers "
            f"(torch's cutoffs, without the vocabulary size), got {tuple(cutoffs)}"
        )
    dim = np.shape(hidden)[-1]
    head_shape = (dim, cuts[0] + len(cuts))
    contracts.shape_is(
        head_weight,
        head_shape,
        "head_weight",
        f"[dim, shortlist + clusters] = [dim, cutoffs[0] + len(cutoffs)] = {list(head_shape)}",
        like={"hidden": hidden},
    )
    if head_bias is not None:
        contracts.shape_is(
            head_bias,
            head_shape[1:],
            "head_bias",
            "one bias per head output",
            like={"head_weight": head_weight},
        )
    pairs = list(tail_weights) if isinstance(tail_weights, (list, tuple)) else None
    if (
        pairs is None
        or len(pairs) != len(cuts)
        or any(not isinstance(p, (list, tuple)) or len(p) != 2 for p in pairs)
    ):
        raise ValueError(
            f"{name}: tail_weights must be a sequence of {len(cuts)} (proj, out) pairs, one per "
            f"cluster of cutoffs={tuple(cuts)}"
        )
    for i, (proj, out) in enumerate(pairs):
        contracts.floating(**{f"tail_weights[{i}][0]": proj, f"tail_weights[{i}][1]": out})
        contracts.shape_is(
            proj,
            (dim, None),
            f"tail_weights[{i}][0]",
            "[dim, cluster_hidden]",
            like={"hidden": hidden},
        )
        width = None if i == len(cuts) - 1 else cuts[i + 1] - cuts[i]
        contracts.shape_is(
            out,
            (np.shape(proj)[-1], width),
            f"tail_weights[{i}][1]",
            "[cluster_hidden, cluster_size] with cluster_size = cutoffs[i + 1] - cutoffs[i]",
            like={f"tail_weights[{i}][0]": proj},
        )
    last = np.shape(pairs[-1][1])[-1]
    if last < 1:
        raise ValueError(f"{name}: the last cluster (tail_weights[-1][1]) has no classes")
    return cuts[-1] + last


@register(_FAMILY, reference="torch.nn.AdaptiveLogSoftmaxWithLoss")
def adaptive_log_softmax_loss(
    hidden: ArrayLike,
    head_weight: ArrayLike,
    tail_weights: Sequence[tuple[ArrayLike, ArrayLike]],
    labels: ArrayLike,
    *,
    cutoffs: Sequence[int],
    head_bias: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Negative log-likelihood under an adaptive softmax (Grave et al. 2017).

    .. math::
       \log p(y \mid h) =
       \begin{cases}
         \log \mathrm{softmax}(h W_0 + b_0)_y & y < c_0 \\
         \log \mathrm{softmax}(h W_0 + b_0)_{c_0 + i}
           + \log \mathrm{softmax}(h P_i O_i)_{y - c_i} & c_i \le y < c_{i+1}
       \end{cases}

    and :math:`\ell = -\log p(y \mid h)`. The vocabulary is split by
    ``cutoffs`` :math:`c_0 < c_1 < \dots` into a shortlist of the
    :math:`c_0` most frequent classes, scored by the head together with one
    token per cluster, and clusters :math:`[c_i, c_{i+1})` (the last ends at
    the vocabulary size), each scored by a low-rank tail
    :math:`P_i O_i` and entered through its head token. The log-softmaxes are
    computed per cluster (no ``[tokens, vocab]`` normaliser).

    Args:
      hidden: ``[..., D]`` floating hidden states.
      head_weight: ``[D, c_0 + n_clusters]`` head matrix (torch's ``head.weight``
        transposed, the fused-loss layout).
      tail_weights: a sequence of ``n_clusters = len(cutoffs)`` pairs
        ``(proj [D, h_i], out [h_i, c_{i+1} - c_i])`` (torch's
        ``tail[i][0].weight.T`` and ``tail[i][1].weight.T``); the last pair's
        width fixes the vocabulary size.
      labels: ``[...]`` integer classes in ``[0, vocab)``.
      cutoffs: torch's ``cutoffs`` (static): increasing positive integers,
        without the vocabulary size.
      head_bias: optional ``[c_0 + n_clusters]`` head bias (torch ``head_bias=True``).
      weights: optional per-token weights broadcastable to ``[...]``.
      where: optional boolean ``[...]`` mask.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[...]`` per-token losses for
      ``"none"``. A label outside ``[0, vocab)`` raises ``ValueError`` eagerly
      and is NaN under ``jit``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> hidden = jnp.ones((1, 4))
      >>> head, tails = jnp.zeros((4, 3)), [(jnp.ones((4, 2)), jnp.zeros((2, 4)))]
      >>> jaxloss.adaptive_log_softmax_loss(hidden, head, tails, jnp.array([5]), cutoffs=[2])
      Array(2.4849067, dtype=float32)

    References:
      E. Grave, A. Joulin, M. Cissé, D. Grangier, H. Jégou, `Efficient softmax
      approximation for GPUs <https://arxiv.org/abs/1609.04309>`_, ICML 2017;
      PyTorch ``torch.nn.AdaptiveLogSoftmaxWithLoss`` (its ``loss`` output),
      whose value and gradients this reproduces from the module's weights.
      Differences: the weights are arguments in the ``[in, out]`` layout (the
      transposes of torch's), the ``div_value`` of torch's constructor is
      implied by the tail shapes, and ``reduction``/``weights``/``where`` follow
      the library (torch returns the mean and the per-token ``output``, which is
      ``-`` the ``"none"`` value). The tails are evaluated for every token,
      not only for the tokens of their cluster as torch does: the same value and
      gradients, more arithmetic where the tails are wide.
    """
    vocab = _check_layout(hidden, head_weight, tail_weights, cutoffs, head_bias)
    contracts.integer(labels=labels)
    contracts.shape_is(
        labels,
        np.shape(hidden)[:-1],
        "labels",
        "one class per hidden state",
        like={"hidden": hidden},
    )
    leaves = [
        hidden,
        head_weight,
        *(() if head_bias is None else (head_bias,)),
        *jax.tree.leaves(tail_weights),
    ]
    h, w, *rest = upcast(*leaves)
    b, tails = (None, rest) if head_bias is None else (rest[0], rest[1:])
    safe, _, bad = class_labels(labels, vocab, like={"tail_weights[-1][1]": tail_weights[-1][1]})
    cuts = [int(c) for c in cutoffs]
    shortlist = cuts[0]
    head = h @ w if b is None else h @ w + jnp.broadcast_to(b, (*h.shape[:-1], b.shape[0]))
    head_logp = jax.nn.log_softmax(head, axis=-1)
    logp = jnp.take_along_axis(head_logp, jnp.minimum(safe, shortlist - 1)[..., None], axis=-1)[
        ..., 0
    ]
    bounds = [*cuts, vocab]
    for i in range(len(cuts)):
        lo, hi = bounds[i], bounds[i + 1]
        member = (safe >= lo) & (safe < hi)
        tail_logp = jax.nn.log_softmax((h @ tails[2 * i]) @ tails[2 * i + 1], axis=-1)
        within = jnp.take_along_axis(
            tail_logp, jnp.clip(safe - lo, 0, hi - lo - 1)[..., None], axis=-1
        )[..., 0]
        logp = jnp.where(member, head_logp[..., shortlist + i] + within, logp)
    return reduce(poison(-logp, bad), reduction, weights=weights, where=where)
