"""Deep supervision: one loss over the outputs of every decoder level (MONAI ``DeepSupervisionLoss``).

This is a transform, not a loss of its own (it is not registered): it takes a loss
function (any ``jaxloss`` segmentation loss, or the user's own), resizes the targets to
each level's resolution and returns the weighted sum of the level losses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.types import ArrayLike

__all__ = ["deep_supervision_loss"]

_MODES = ("exp", "same", "two")


def _nearest_exact_indices(in_size: int, out_size: int) -> np.ndarray:
    """Source indices of torch's ``interpolate(mode="nearest-exact")`` along one axis.

    torch computes ``min(floor((i + 0.5) * scale), in_size - 1)`` with the float32
    ``scale = in_size / out_size`` and the product rounded to float32 before the floor;
    this repeats that arithmetic (a half-pixel-centre rule, as Pillow and
    ``scipy.ndimage.zoom``), which ``jax.image.resize(method="nearest")`` does not.

    Args:
      in_size: the input length along the axis (static, ``>= 1``).
      out_size: the output length (static, ``>= 0``).

    Returns:
      ``[out_size]`` int32 indices into the input.
    """
    scale = np.float32(in_size) / np.float32(out_size) if out_size else np.float32(0)
    product = (np.arange(out_size, dtype=np.float64) + 0.5) * np.float64(scale)
    index = np.floor(product.astype(np.float32)).astype(np.int64)
    return np.minimum(index, in_size - 1).astype(np.int32)


def _resize_nearest_exact(x: jax.Array, axes: Sequence[int], shape: Sequence[int]) -> jax.Array:
    """``x`` resized along ``axes`` to ``shape`` by nearest-exact index gathers."""
    for ax, n in zip(axes, shape):
        if x.shape[ax] != n:
            x = jnp.take(x, jnp.asarray(_nearest_exact_indices(x.shape[ax], n)), axis=ax)
    return x


def _level_weights(
    levels: int, weight_mode: str, weights: Sequence[float] | ArrayLike | None
) -> list[Any]:
    if weights is not None:
        w = list(weights)  # type: ignore[arg-type]
        if len(w) < levels:
            raise ValueError(
                f"{function_name()}: weights has {len(w)} entries but predictions has {levels} levels; "
                "pass at least one weight per level (MONAI silently falls back to weight_mode)"
            )
        return w[:levels]
    if weight_mode == "same":
        return [1.0] * levels
    if weight_mode == "exp":
        return [max(0.5**level, 0.0625) for level in range(levels)]
    return [1.0 if level == 0 else 0.5 for level in range(levels)]


def deep_supervision_loss(
    loss_fn: Callable[..., jax.Array],
    predictions: ArrayLike | Sequence[ArrayLike],
    targets: ArrayLike,
    *,
    weight_mode: Literal["exp", "same", "two"] = "exp",
    weights: Sequence[float] | ArrayLike | None = None,
    axis: int | None = None,
    **loss_kwargs: Any,
) -> jax.Array:
    r"""Deep-supervision loss: a weighted sum of one loss over every output level, MONAI semantics.

    .. math:: \mathcal{L} = \sum_{l=0}^{L-1} w_l\, \mathcal{L}_{\text{fn}}\big(p_l,\;
       \mathrm{resize}(y, \mathrm{shape}(p_l))\big)

    The targets are resized to each level's spatial shape with torch's ``"nearest-exact"``
    rule (source index :math:`\min(\lfloor (i + \tfrac12)\,n_\text{in}/n_\text{out} \rfloor,
    n_\text{in} - 1)`, with torch's float32 rounding), as an index gather; a level with the targets' own
    spatial shape gets them unchanged. Level weights: ``"exp"``
    :math:`w_l = \max(2^{-l}, 1/16)`, ``"same"`` :math:`w_l = 1`, ``"two"``
    :math:`1, \tfrac12, \tfrac12, \dots`; explicit ``weights`` override the mode.

    Args:
      loss_fn: the loss, called as ``loss_fn(p_l, t_l, **loss_kwargs)`` (e.g.
        :func:`jaxloss.dice_loss`); it must return arrays of one shape at every level
        (a scalar for ``"mean"``/``"sum"``).
      predictions: the network's outputs, full resolution first: a list/tuple of arrays
        ``[batch, *spatial_l, classes]`` (channel-last), or one array (then
        ``loss_fn(predictions, targets)``, no resizing, as MONAI).
      targets: the full-resolution targets: integer labels ``[batch, *spatial]`` or
        one-hot/probability maps ``[batch, *spatial, classes]`` (the rank of the
        predictions); only the spatial axes are resized.
      weight_mode: ``"exp"`` (default), ``"same"`` or ``"two"``. Static.
      weights: explicit level weights (MONAI ``weights``), at least one per level;
        extra entries are ignored, as in MONAI. Values may be traced.
      axis: the class axis of the predictions (``None``: the last axis, not passed on).
        When given, it locates the spatial axes (channels-first: ``axis=1``) and is also
        passed to ``loss_fn`` as ``axis=``.
      **loss_kwargs: keyword options of ``loss_fn`` (``activation=``, ``reduction=``, ...).

    Returns:
      The weighted sum of the level losses (the shape ``loss_fn`` returns).

    Examples:
      >>> import jax, jax.numpy as jnp, jaxloss
      >>> t = jnp.zeros((1, 4, 4), jnp.int32).at[:, 2:, :].set(1)
      >>> p = [jax.nn.one_hot(t, 2), jax.nn.one_hot(t[:, ::2, ::2], 2)]
      >>> jaxloss.deep_supervision_loss(jaxloss.dice_loss, p, t, activation=None)
      Array(0., dtype=float32)

    References:
      C.-Y. Lee et al., "Deeply-Supervised Nets", AISTATS 2015,
      https://arxiv.org/abs/1409.5185; MONAI 1.6.1 ``DeepSupervisionLoss(loss,
      weight_mode="exp", weights=None)``, whose ``forward(input, target)`` this follows
      (``loss`` becomes ``loss_fn`` with ``loss_kwargs``).

      Differences: channel-last layout (``axis=1`` for channels-first); integer label
      targets are resized as well (MONAI resizes whatever tensor it is given, channel-first);
      fewer ``weights`` than levels and an unknown ``weight_mode`` raise a ``ValueError``
      (MONAI falls back to ``weight_mode``, and to equal weights); MONAI casts every level to
      float32, here each level keeps its dtype (``loss_fn`` upcasts halves).
    """
    contracts.choice(weight_mode, _MODES, "weight_mode")
    if axis is not None:
        loss_kwargs = {**loss_kwargs, "axis": axis}
    if not isinstance(predictions, (list, tuple)):
        return jnp.asarray(loss_fn(predictions, targets, **loss_kwargs))
    levels = list(predictions)
    if not levels:
        raise ValueError(
            f"{function_name()}: predictions is an empty list; pass at least one level"
        )
    t = jnp.asarray(targets)
    w = _level_weights(len(levels), weight_mode, weights)
    total: jax.Array | None = None
    for level, (p, wl) in enumerate(zip(levels, w)):
        p = jnp.asarray(p)
        channel = contracts.axis_index(-1 if axis is None else axis, p.ndim, "axis")
        spatial = [i for i in range(1, p.ndim) if i != channel]
        if t.ndim == p.ndim:
            target_axes = spatial
        elif t.ndim == p.ndim - 1:
            target_axes = list(range(1, t.ndim))
        else:
            raise ValueError(
                f"{function_name()}: predictions[{level}] has shape {p.shape} but targets has shape "
                f"{t.shape}; targets must be integer labels [batch, *spatial] or maps with the "
                "predictions' rank"
            )
        shape = [p.shape[i] for i in spatial]
        term = jnp.asarray(wl) * jnp.asarray(
            loss_fn(p, _resize_nearest_exact(t, target_axes, shape), **loss_kwargs)
        )
        total = term if total is None else total + term
    assert total is not None
    return total
