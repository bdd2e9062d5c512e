"""Gumbel transformation of a ranking loss (rax ``gumbel_t12n``; Bruch et al. 2020)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.types import ArrayLike

__all__ = ["gumbel_t12n"]


def _accepts_key(fn: Callable[..., jax.Array]) -> bool:
    try:
        inspect.signature(fn).bind_partial(key=None)
    except (TypeError, ValueError):
        return False
    return True


def gumbel_t12n(
    loss_fn: Callable[..., jax.Array],
    *,
    samples: int = 8,
    beta: ArrayLike = 1.0,
    smoothing_factor: float | None = None,
) -> Callable[..., jax.Array]:
    r"""Transforms a ranking loss to run on Gumbel-perturbed scores (stochastic ranking).

    The returned function ``fn(scores, labels, *, key, **kwargs)`` repeats the
    lists ``samples`` times along a new leading axis, adds ``beta`` times
    standard Gumbel noise to the scores and calls ``loss_fn`` on the result:

    .. math:: \tilde s^{(k)}_i = s_i + \beta\, g^{(k)}_i,\quad g \sim \mathrm{Gumbel}(0, 1)

    With ``smoothing_factor`` the perturbed scores become
    :math:`\log(\operatorname{softmax}(\tilde s) + \text{smoothing\_factor})`
    (invalid items masked out of the softmax when ``where`` is given);
    ``1e-20`` matches TF-Ranking's Gumbel losses. Array keyword arguments
    (``where``, ``weights``, ``segments``) are repeated with the lists. When
    ``loss_fn`` takes a ``key`` (``listmle_loss``), ``key`` is split first and
    one half passed on, in the order rax uses: the same key gives the same
    noise as ``rax.gumbel_t12n``.

    Args:
      loss_fn: a ranking loss ``(scores, labels, **kwargs)``.
      samples: the number of Gumbel samples (an integer >= 1, static).
      beta: the scale of the noise (may be traced).
      smoothing_factor: optional ``float``; ``None`` (default) uses the
        perturbed scores as they are.

    Returns:
      The transformed loss ``fn(scores, labels, *, key, **kwargs)``; with the
      default ``reduction="mean"`` it averages over the samples too.
      ``reduction="none"`` has the extra leading ``samples`` axis.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxloss
      >>> loss = jaxloss.gumbel_t12n(jaxloss.softmax_ranking_loss, samples=4)
      >>> loss(jnp.array([0.0, 1.0, 3.0]), jnp.array([0.0, 0.0, 1.0]), key=jax.random.key(0)).shape
      ()

    References:
      Bruch et al., "A Stochastic Treatment of Learning to Rank Scoring
      Functions", WSDM 2020; rax ``gumbel_t12n`` (same defaults). Differences
      from rax: NumPy array options are repeated as JAX arrays are (rax repeats
      only ``jax.Array`` values). rax splits the key whenever ``loss_fn``
      accepts a ``key`` keyword, which includes every function taking
      ``**kwargs`` (its ``approx_t12n`` losses); here only a ``key`` parameter
      or ``**kwargs`` does, so ``approx_ndcg_loss`` (no ``key``) gets the unsplit
      key and other noise than rax's ``approx_t12n(ndcg_metric)`` for the same key.
    """
    if not isinstance(samples, (int, np.integer)) or samples < 1:
        raise ValueError(f"gumbel_t12n: samples must be an integer >= 1, got {samples!r}")
    contracts.bounded(smoothing_factor, "smoothing_factor", ge=0)
    takes_key = _accepts_key(loss_fn)

    def repeat(a: ArrayLike) -> jax.Array:
        return jnp.repeat(jnp.asarray(a)[None], samples, axis=0)

    @functools.wraps(loss_fn)
    def gumbel_loss(
        scores: ArrayLike, labels: ArrayLike, *, key: ArrayLike, **kwargs: object
    ) -> jax.Array:
        contracts.prng_key(key)
        s, y = repeat(scores), repeat(labels)
        kwargs = {
            k: repeat(v) if isinstance(v, (jax.Array, np.ndarray)) else v  # type: ignore[arg-type]
            for k, v in kwargs.items()
        }
        if takes_key:
            key, kwargs["key"] = jax.random.split(key)  # type: ignore[assignment]
        noise = jax.random.gumbel(key, s.shape)  # type: ignore[arg-type]
        perturbed = noise * jnp.asarray(beta) + s
        if smoothing_factor is not None:
            where = kwargs.get("where")
            if where is not None:
                perturbed = jnp.where(jnp.asarray(where, bool), perturbed, -jnp.inf)
            perturbed = jnp.log(jax.nn.softmax(perturbed) + smoothing_factor)
        return loss_fn(perturbed, y, **kwargs)

    return gumbel_loss
