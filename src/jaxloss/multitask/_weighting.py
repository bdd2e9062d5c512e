"""Multi-task weighting: combining task losses and balancing their gradients.

Task losses are pytrees of scalars (a dict ``{"seg": l1, "depth": l2}``, a
list, or an array ``[tasks]``). ``pcgrad`` and ``dynamic_weight_average``
return gradients and weights rather than losses, so they are exported but not
registered as losses.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import calling, function_name
from .._src.numerics import abs0, compute_dtype, param, upcast
from .._src.reduce import check_reduction, reduce
from .._src.registry import register
from .._src.types import ArrayLike, ArrayTree, Reduction

__all__ = [
    "dynamic_weight_average",
    "gradnorm_loss",
    "pcgrad",
    "uncertainty_weighting",
    "weighted_sum",
]

_FAMILY = "multitask"


def _stack(tree: ArrayTree, what: str) -> jax.Array:
    """The scalar leaves of ``tree`` as one vector (a ``[tasks]`` array passes through)."""
    leaves = jax.tree.leaves(tree)
    if len(leaves) == 1 and jnp.ndim(leaves[0]) == 1:
        return upcast(leaves[0])[0]
    for leaf in leaves:
        if jnp.ndim(leaf) != 0:
            raise ValueError(
                f"{function_name()}: {what} must be a pytree of scalars or a [tasks] array; "
                f"found a leaf of shape {jnp.shape(leaf)}"
            )
    dtype = compute_dtype(*leaves)
    return jnp.stack([jnp.asarray(x, dtype) for x in leaves])


def _task_terms(losses: ArrayTree, terms: jax.Array, reduction: Reduction) -> ArrayTree:
    """``"none"``: the per-task terms in the structure of ``losses``; ``"sum"``: their sum."""
    check_reduction(reduction, own_rule=True)
    if reduction == "mean":
        raise ValueError(
            f"{function_name()}: reduction='mean' is not supported: the loss is a sum over tasks; "
            "use 'sum' (the default) or 'none', and divide by the number of tasks yourself for an average"
        )
    if reduction == "none":
        leaves = jax.tree.leaves(losses)
        if len(leaves) == 1 and jnp.ndim(leaves[0]) == 1:
            return terms
        return jax.tree.unflatten(jax.tree.structure(losses), list(terms))
    return reduce(terms, "sum")


@register(_FAMILY, reference="definition (weighted sum of task losses)")
def weighted_sum(losses: ArrayTree, weights: ArrayTree, *, reduction: Reduction = "sum") -> ArrayTree:
    r"""Weighted sum of task losses.

    .. math:: \mathcal{L} = \sum_i w_i L_i

    Args:
      losses: pytree of scalar task losses, or an array ``[tasks]``.
      weights: matching pytree of scalars, or an array ``[tasks]``.
      reduction: ``"sum"`` (default) or ``"none"`` (the weighted terms, in the structure of ``losses``). ``"mean"``
        raises ``ValueError``: the loss is a sum over tasks (wave 1 returned the sum).

    Returns:
      A scalar, or the per-task terms for ``"none"``.

    Examples:
      >>> import jaxloss
      >>> jaxloss.weighted_sum({"a": 2.0, "b": 3.0}, {"a": 0.5, "b": 2.0})
      Array(7., dtype=float32)

    References:
      The linear scalarisation of multi-objective optimisation.
    """
    values, w = _stack(losses, "losses"), _stack(weights, "weights")
    contracts.same_shape(losses=values, weights=w)
    return _task_terms(losses, values * w.astype(values.dtype), reduction)


@register(_FAMILY, reference="Kendall, Gal & Cipolla 2018, arXiv:1705.07115")
def uncertainty_weighting(
    losses: ArrayTree, log_variances: ArrayTree, *, reduction: Reduction = "sum"
) -> ArrayTree:
    r"""Homoscedastic uncertainty weighting of task losses (learnt ``s_i = log sigma_i^2``).

    .. math:: \mathcal{L} = \sum_i e^{-s_i} L_i + s_i

    (the common form of Kendall et al.'s objective; ``s_i`` are trainable).

    Args:
      losses: pytree of scalar task losses, or an array ``[tasks]``.
      log_variances: matching pytree of scalars ``s_i``, or an array ``[tasks]``.
      reduction: ``"sum"`` (default) or ``"none"`` (the per-task terms). ``"mean"``
        raises ``ValueError``: the loss is a sum over tasks (wave 1 returned the sum).

    Returns:
      A scalar, or the per-task terms for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.uncertainty_weighting(jnp.array([2.0, 3.0]), jnp.array([0.0, 1.0]))
      Array(4.10364, dtype=float32)

    References:
      Kendall, Gal & Cipolla, "Multi-Task Learning Using Uncertainty to Weigh
      Losses", CVPR 2018, https://arxiv.org/abs/1705.07115.
    """
    values, s = _stack(losses, "losses"), _stack(log_variances, "log_variances")
    contracts.same_shape(losses=values, log_variances=s)
    s = s.astype(values.dtype)
    return _task_terms(losses, jnp.exp(-s) * values + s, reduction)


def dynamic_weight_average(loss_history: ArrayLike, *, temperature: float | ArrayLike = 2.0) -> jax.Array:
    r"""Dynamic Weight Average task weights from the last two epochs' losses.

    .. math::
       w_k = K \frac{\exp(r_k / T)}{\sum_j \exp(r_j / T)},\quad
       r_k = \frac{L_k(t-1)}{L_k(t-2)}

    With fewer than two epochs of history every weight is 1.

    Args:
      loss_history: ``[epochs, tasks]`` average task losses, oldest first.
      temperature: ``T``; larger is more uniform.

    Returns:
      Weights ``[tasks]`` summing to ``tasks``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.dynamic_weight_average(jnp.array([[1.0, 1.0], [1.0, 1.0]]))
      Array([1., 1.], dtype=float32)

    References:
      Liu, Johns & Davison, "End-to-End Multi-Task Learning with Attention",
      CVPR 2019, https://arxiv.org/abs/1803.10704.
    """
    with calling("dynamic_weight_average"):
        contracts.rank(loss_history, 2, "loss_history", "expected [epochs, tasks]")
        (history,) = upcast(loss_history)
    num_tasks = history.shape[1]
    if history.shape[0] < 2:
        return jnp.ones(num_tasks, history.dtype)
    ratio = history[-1] / history[-2]
    return num_tasks * jax.nn.softmax(ratio / param(temperature, history.dtype))


def pcgrad(task_grads: ArrayTree, key: ArrayLike | None = None) -> ArrayTree:
    r"""Projecting Conflicting Gradients: the sum of task gradients with conflicts removed.

    Each task gradient ``g_i`` is projected, in turn, onto the normal plane of every
    *original* other task gradient ``g_j`` it conflicts with:

    .. math::
       g_i \leftarrow g_i - \frac{g_i \cdot g_j}{\lVert g_j \rVert^2} g_j
       \quad\text{if } g_i \cdot g_j < 0

    then the projected gradients are summed. Dot products run over the whole
    pytree.

    Args:
      task_grads: pytree whose leaves carry a leading task axis ``[tasks, ...]``
        (e.g. ``jax.vmap`` or ``jax.jacrev`` of the per-task losses).
      key: optional PRNG key; when given, each task visits the others in a random
        order (as in the paper), otherwise in index order.

    Returns:
      A pytree like one task's gradient (leaves without the task axis).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.pcgrad({"w": jnp.array([[1.0, 0.0], [-1.0, 1.0]])})
      {'w': Array([0.5, 1.5], dtype=float32)}

    References:
      Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020,
      https://arxiv.org/abs/2001.06782.
    """
    leaves, treedef = jax.tree.flatten(task_grads)
    num_tasks = leaves[0].shape[0]
    with calling("pcgrad"):
        for leaf in leaves:
            contracts.min_rank(leaf, 1, "task_grads leaves")
            if leaf.shape[0] != num_tasks:
                raise ValueError(
                    f"pcgrad: task_grads leaves must share the leading task axis; got sizes "
                    f"{[x.shape[0] for x in leaves]}"
                )
    dtype = compute_dtype(*leaves)
    flat = jnp.concatenate([jnp.reshape(x, (num_tasks, -1)).astype(dtype) for x in leaves], axis=1)
    others = jnp.arange(num_tasks)
    if key is None:
        order = jnp.broadcast_to(others, (num_tasks, num_tasks))
    else:
        order = jax.vmap(lambda k: jax.random.permutation(k, num_tasks))(jax.random.split(key, num_tasks))
    sq_norms = jnp.sum(flat**2, axis=1)
    projected = flat
    for step in range(num_tasks):
        j = order[:, step]
        g_j = flat[j]
        dots = jnp.sum(projected * g_j, axis=1)
        conflict = (dots < 0) & (j != others)
        # Double where: a zero task gradient never conflicts, and must not divide by 0.
        safe = jnp.where(conflict, sq_norms[j], 1)
        projected = projected - jnp.where(conflict, dots / safe, 0)[:, None] * g_j
    total = jnp.sum(projected, axis=0)
    sizes = [x[0].size for x in leaves]
    pieces = jnp.split(total, list(jnp.cumsum(jnp.array(sizes))[:-1]))
    return treedef.unflatten(
        [p.reshape(x.shape[1:]).astype(x.dtype) for p, x in zip(pieces, leaves)]
    )


@register(_FAMILY, reference="Chen et al. 2018, arXiv:1711.02257 (GradNorm)")
def gradnorm_loss(
    grad_norms: ArrayTree, task_losses: ArrayTree, initial_losses: ArrayTree, *,
    alpha: float | ArrayLike = 1.5, reduction: Reduction = "sum",
) -> ArrayTree:
    r"""GradNorm's gradient loss, to be minimised w.r.t. the task weights.

    .. math::
       \mathcal{L}_{grad} = \sum_i \left| G_i - \bar G \, r_i^{\alpha} \right|,\quad
       r_i = \frac{\tilde L_i}{\operatorname{mean}_j \tilde L_j},\ \tilde L_i = \frac{L_i}{L_i(0)}

    The target ``bar G r_i^alpha`` is a constant (no gradient flows through it,
    nor through the task losses), as in the paper.

    Args:
      grad_norms: ``G_i = ||grad_W w_i L_i||``, ``[tasks]`` (or pytree of scalars),
        differentiable w.r.t. the task weights ``w_i``.
      task_losses: current task losses ``L_i``.
      initial_losses: the losses at the first step ``L_i(0)``.
      alpha: restoring-force strength (1.5 in the paper).
      reduction: ``"sum"`` (default) or ``"none"`` (per task). ``"mean"``
        raises ``ValueError``: the loss is a sum over tasks (wave 1 returned the sum).

    Returns:
      A scalar, or per-task terms for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.gradnorm_loss(jnp.array([1.0, 3.0]), jnp.ones(2), jnp.ones(2))
      Array(2., dtype=float32)

    References:
      Chen et al., "GradNorm: Gradient Normalization for Adaptive Loss Balancing
      in Deep Multitask Networks", ICML 2018, https://arxiv.org/abs/1711.02257.
    """
    g = _stack(grad_norms, "grad_norms")
    current = _stack(task_losses, "task_losses").astype(g.dtype)
    initial = _stack(initial_losses, "initial_losses").astype(g.dtype)
    contracts.same_shape(grad_norms=g, task_losses=current, initial_losses=initial)
    inverse_rate = current / initial
    r = inverse_rate / jnp.mean(inverse_rate)
    target = jax.lax.stop_gradient(jnp.mean(g) * r ** param(alpha, g.dtype))
    return _task_terms(grad_norms, abs0(g - target), reduction)
