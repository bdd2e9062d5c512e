"""The adversarial loss of patch (and multi-scale patch) discriminators, MONAI semantics.

A patch discriminator scores every patch of an image, so its output is a map
(``[batch, *patches, 1]`` or any shape); a multi-scale discriminator returns one map per
scale, passed here as a list. The outputs are raw (no final activation): the loss
applies the activation that its criterion needs.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import upcast
from .._src.reduce import reduce, sanitize
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["patch_adversarial_loss"]

_FAMILY = "adversarial"
_CRITERIA = ("least_squares", "bce", "hinge")


def _per_scale(value: object, n: int, is_list: bool, what: str) -> list[ArrayLike | None]:
    """``weights``/``where`` as one entry per scale (``None`` for every scale when not given)."""
    if value is None:
        return [None] * n
    if not is_list:
        return [value]  # type: ignore[list-item]
    entries = list(value)  # type: ignore[call-overload]
    if len(entries) != n:
        raise ValueError(
            f"{function_name()}: {what} has {len(entries)} entries but discriminator_outputs has "
            f"{n} scales; pass one {what} array per scale"
        )
    return entries


@register(_FAMILY, reference="monai.losses.PatchAdversarialLoss")
def patch_adversarial_loss(
    discriminator_outputs: ArrayLike | Sequence[ArrayLike],
    *,
    target_is_real: bool,
    for_discriminator: bool,
    criterion: Literal["least_squares", "bce", "hinge"] = "least_squares",
    no_activation_leastsq: bool = False,
    weights: ArrayLike | Sequence[ArrayLike] | None = None,
    where: ArrayLike | Sequence[ArrayLike] | None = None,
    reduction: Reduction = "mean",
) -> jax.Array | list[jax.Array]:
    r"""Adversarial loss on (multi-scale) patch-discriminator outputs, MONAI ``PatchAdversarialLoss``.

    Each raw output :math:`x` of every scale gets the criterion's elementwise term, with
    target :math:`t = 1` for real and :math:`t = 0` for fake:

    .. math::
       \text{least\_squares: } (\mathrm{LeakyReLU}_{0.05}(x) - t)^2,\quad
       \text{bce: } -t\log\sigma(x) - (1-t)\log(1-\sigma(x)),\quad
       \text{hinge: } \max(0, 1 \mp \tanh x)

    (hinge: :math:`-` for real, :math:`+` for fake). Each scale is reduced on its own
    and the scales are averaged (``"mean"``) or added (``"sum"``), as MONAI does. A
    generator loss (``for_discriminator=False``) always targets "real".

    Args:
      discriminator_outputs: raw discriminator outputs, one array of any shape, or a
        list/tuple with one array per scale (a multi-scale discriminator).
      target_is_real: whether the outputs were computed on real images (static). With
        ``for_discriminator=False`` it is set to ``True`` with a warning, as in MONAI.
      for_discriminator: whether this is the discriminator's loss (static).
      criterion: ``"least_squares"`` (default), ``"bce"`` or ``"hinge"``. Static.
      no_activation_leastsq: skip the LeakyReLU of ``"least_squares"`` (static).
      weights: optional weights broadcastable to the outputs (a list, one per scale, for
        a list of outputs); each scale's mean is the weighted mean.
      where: optional boolean mask of the same structure (a scale with nothing valid
        adds 0 and still counts in the average over scales).
      reduction: ``"mean"`` (default: the mean over scales of each scale's mean),
        ``"sum"`` (the sum over scales of each scale's sum) or ``"none"`` (the
        elementwise terms: an array, or a list with one array per scale).

    Returns:
      A scalar for ``"mean"``/``"sum"``; for ``"none"`` the elementwise terms with the
      structure of ``discriminator_outputs``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.5, 2.0], [-1.0, 1.0]])
      >>> jaxloss.patch_adversarial_loss(x, target_is_real=True, for_discriminator=True)
      Array(0.588125, dtype=float32)

    References:
      Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks"
      (PatchGAN), CVPR 2017, https://arxiv.org/abs/1611.07004; MONAI 1.6.1
      ``PatchAdversarialLoss(reduction="mean", criterion="least_squares",
      no_activation_leastsq=False)``, whose ``forward(input, target_is_real,
      for_discriminator)`` this follows.

      Differences: ``"bce"`` is computed from the logits with log-sigmoid (MONAI applies
      ``sigmoid`` and then ``BCELoss``, whose probabilities saturate to 0/1 beyond
      :math:`|x| \approx 17` in float32 and whose logs are clamped at :math:`-100`, so its
      terms stop growing there); for ``"hinge"`` MONAI always takes each scale's mean,
      whatever the reduction, so its ``"none"`` is one value per scale and its ``"sum"``
      the sum of the scale means, where here ``"none"`` is elementwise and ``"sum"`` adds
      the elements; ``weights``/``where`` are additions.
    """
    contracts.choice(criterion, _CRITERIA, "criterion")
    is_list = isinstance(discriminator_outputs, (list, tuple))
    outputs = list(discriminator_outputs) if is_list else [discriminator_outputs]  # type: ignore[arg-type]
    if not outputs:
        raise ValueError(
            f"{function_name()}: discriminator_outputs is an empty list; pass at least one array"
        )
    contracts.floating(**{f"discriminator_outputs[{i}]": x for i, x in enumerate(outputs)})
    if not for_discriminator and not target_is_real:
        warnings.warn(
            f"{function_name()}: target_is_real=False with for_discriminator=False; a generator always "
            "targets real, so target_is_real is set to True (as MONAI does)",
            stacklevel=3,
        )
        target_is_real = True
    ws = _per_scale(weights, len(outputs), is_list, "weights")
    ms = _per_scale(where, len(outputs), is_list, "where")

    def term(x: jax.Array) -> jax.Array:
        if criterion == "least_squares":
            z = x if no_activation_leastsq else jax.nn.leaky_relu(x, 0.05)
            return jnp.square(z - 1) if target_is_real else jnp.square(z)
        if criterion == "bce":
            return jax.nn.softplus(-x) if target_is_real else jax.nn.softplus(x)
        z = jnp.tanh(x)
        return jax.nn.relu(1 - z) if target_is_real else jax.nn.relu(1 + z)

    # Masked-out entries are zeroed first, so NaN/inf there reach neither value nor gradient.
    terms = [
        term(sanitize(upcast(x)[0], None if m is None else jnp.asarray(m)))
        for x, m in zip(outputs, ms)
    ]
    if reduction == "none":
        out = [reduce(t, "none", weights=w, where=m) for t, w, m in zip(terms, ws, ms)]
        return out if is_list else out[0]
    per_scale = [reduce(t, reduction, weights=w, where=m) for t, w, m in zip(terms, ws, ms)]
    total = jnp.sum(jnp.stack(per_scale))
    return total / len(per_scale) if reduction == "mean" else total
