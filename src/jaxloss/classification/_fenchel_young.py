"""Fenchel-Young losses built from a user's max function (optax ``make_fenchel_young_loss``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.numerics import upcast
from .._src.reduce import broadcast, reduce, sanitize
from .._src.types import ArrayLike, Reduction

__all__ = ["make_fenchel_young_loss"]


def make_fenchel_young_loss(max_fun: Callable[..., Any]) -> Callable[..., jax.Array]:
    r"""Makes the Fenchel-Young loss of a max function (a public helper, not a registered loss).

    .. math::
       \ell(s, y) = \Omega^*(s) - \langle s, y \rangle

    where :math:`\Omega^*` is ``max_fun``, a convex "max" over the last axis
    (``logsumexp`` gives the softmax cross-entropy up to the entropy of
    :math:`y`; a sparsemax or soft-sort max gives their losses). Leading axes
    are vectorised (``jnp.vectorize`` with signature ``(n)->()``), so
    ``max_fun`` is written for one score vector. The gradient w.r.t. the scores
    is :math:`\nabla \Omega^*(s) - y`, as differentiable as ``max_fun`` is.

    The returned function is
    ``loss_fn(scores, targets, *, weights=None, where=None, reduction="mean", **max_fun_kwargs)``:
    ``scores`` and ``targets`` are ``[..., n]`` (same shape), the ``"none"``
    output is ``[...]`` (one value per score vector), ``weights``/``where``
    are broadcastable to ``[...]`` and ``max_fun_kwargs`` are passed to
    ``max_fun``. Rows masked out by ``where`` are replaced by zeros before
    ``max_fun`` sees them, so a NaN there reaches neither value nor gradient.

    Args:
      max_fun: ``max_fun(scores[n], **kwargs) -> ()``, a convex function of one
        score vector (for example :func:`jax.scipy.special.logsumexp`).

    Returns:
      The loss function described above. Its ``reduction="none"`` value equals
      ``optax.losses.make_fenchel_young_loss(max_fun)(scores, targets)``; the
      default ``"mean"`` is its mean over the leading axes.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> from jax.scipy.special import logsumexp
      >>> fy = jaxloss.make_fenchel_young_loss(logsumexp)
      >>> scores, targets = jnp.array([[1.0, 2.0, 3.0]]), jnp.array([[0.0, 0.0, 1.0]])
      >>> fy(scores, targets)  # softmax cross-entropy of class 2
      Array(0.4076059, dtype=float32)

    References:
      M. Blondel, A. F. T. Martins, V. Niculae, `Learning with Fenchel-Young
      Losses <https://arxiv.org/abs/1901.02324>`_, JMLR 2020; optax
      ``losses.make_fenchel_young_loss``, whose value this follows. Differences:
      the loss takes the library's ``weights``/``where``/``reduction`` (optax
      returns the per-row values, jaxloss's ``"none"``), and extra arguments of
      ``max_fun`` are keywords only (optax also forwards positional ones, which
      its vectorised call does not support).
    """
    if not callable(max_fun):
        raise TypeError(
            f"make_fenchel_young_loss: max_fun must be a callable, got {type(max_fun).__name__}"
        )
    dot_last = jnp.vectorize(jnp.vdot, signature="(n),(n)->()")

    def fenchel_young_loss(
        scores: ArrayLike,
        targets: ArrayLike,
        *,
        weights: ArrayLike | None = None,
        where: ArrayLike | None = None,
        reduction: Reduction = "mean",
        **max_fun_kwargs: Any,
    ) -> jax.Array:
        with contracts.calling("fenchel_young_loss"):
            contracts.floating(scores=scores)
            contracts.min_rank(scores, 1, "scores")
            contracts.same_shape(scores=scores, targets=targets)
            s, y = upcast(scores, targets)
            batch = np.shape(s)[:-1]
            mask = None if where is None else broadcast(where, batch, "where", dtype=bool)
            if mask is not None:
                s, y = sanitize(s, mask[..., None]), sanitize(y, mask[..., None])
            max_last = jnp.vectorize(
                functools.partial(max_fun, **max_fun_kwargs), signature="(n)->()"
            )
            loss = jnp.asarray(max_last(s)).astype(s.dtype) - dot_last(y, s)
            return reduce(loss, reduction, weights=weights, where=mask)

    return fenchel_young_loss
