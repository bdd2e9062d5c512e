"""Image similarity losses for registration: local normalized cross-correlation, mutual information.

Images are channel-last, ``[batch, *spatial, channels]`` with 1 to 3 spatial axes
(MONAI's ``BCH[WD]`` transposed); ``predictions`` is the warped moving image and
``targets`` the fixed image.
"""

from __future__ import annotations

from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import param, rows, upcast
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["global_mutual_information_loss", "local_normalized_cross_correlation_loss"]

_FAMILY = "registration"
_KERNELS = ("rectangular", "triangular", "gaussian")


def _images(predictions: Any, targets: Any) -> tuple[jax.Array, jax.Array]:
    """Checks two ``[batch, *spatial, channels]`` images; returns them in the compute dtype."""
    contracts.floating(predictions=predictions, targets=targets)
    contracts.same_shape(predictions=predictions, targets=targets)
    contracts.rank(
        predictions,
        {3, 4, 5},
        "predictions",
        "[batch, *spatial, channels] with 1 to 3 spatial axes",
    )
    p, t = upcast(predictions, targets)
    return p, t


def _kernel(kernel_type: str, kernel_size: int) -> np.ndarray:
    """MONAI's 1-D window: ones, a box convolved with itself, or an unnormalised Gaussian."""
    if kernel_type == "rectangular":
        return np.ones(kernel_size)
    if kernel_type == "triangular":
        box = (kernel_size + 1) // 2
        box -= 1 - box % 2  # an odd box
        tent = np.convolve(np.full(box, 1.0 / box), np.full(box, 1.0 / box))
        pad = (kernel_size - tent.size) // 2
        return np.pad(tent, pad)
    sigma = kernel_size / 3.0
    x = np.arange(-(kernel_size // 2), kernel_size // 2 + 1, dtype=np.float64)
    return np.exp(-0.5 / sigma**2 * x**2)


def _local_sums(x: jax.Array, kernel: np.ndarray) -> jax.Array:
    """Separable zero-padded filtering of every spatial axis (``same`` size, per channel)."""
    half = kernel.size // 2
    for axis in range(1, x.ndim - 1):
        n = x.shape[axis]
        pad = [(0, 0)] * x.ndim
        pad[axis] = (half, half)
        padded = jnp.pad(x, pad)
        x = sum(
            (
                float(w) * jax.lax.slice_in_dim(padded, j, j + n, axis=axis)
                for j, w in enumerate(kernel)
                if w != 0
            ),
            jnp.zeros_like(x),
        )
    return x


@register(_FAMILY, reference="MONAI LocalNormalizedCrossCorrelationLoss")
def local_normalized_cross_correlation_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    kernel_size: int = 3,
    kernel_type: Literal["rectangular", "triangular", "gaussian"] = "rectangular",
    smooth_numerator: float | ArrayLike = 0.0,
    smooth_denominator: float | ArrayLike = 1e-5,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Negated squared local normalized cross-correlation (LNCC) of two images.

    .. math:: \ell_{b,x,c} = -\frac{\mathrm{cross}^2 + s_{nr}}{\max(\sigma^2_t, s_{dr})\,
       \max(\sigma^2_p, s_{dr})},\quad
       \mathrm{cross} = \textstyle\sum_w t p - \bar p \sum_w t,\quad
       \sigma^2_t = \sum_w t^2 - \bar t \sum_w t

    where :math:`\sum_w` is a local weighted sum over a window centred on voxel :math:`x`
    (a separable kernel, zero padding at the border), :math:`\bar t = \sum_w t / V` and
    :math:`V` the kernel volume. The loss lies in about :math:`[-1, 0]`: ``-1`` for images
    that are locally affine in each other.

    Args:
      predictions: warped moving images ``[batch, *spatial, channels]``, 1 to 3 spatial axes.
      targets: fixed images, same shape.
      kernel_size: odd window size along every spatial axis. Static.
      kernel_type: ``"rectangular"`` (ones), ``"triangular"`` (a box convolved with itself)
        or ``"gaussian"`` (``exp(-x^2 / (2 sigma^2))``, ``sigma = kernel_size / 3``), as
        MONAI. Static.
      smooth_numerator: :math:`s_{nr}`, added to the squared cross term (``>= 0``).
      smooth_denominator: :math:`s_{dr}`, the floor of both local variances (``>= 0``).
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional mask broadcastable to the ``"none"`` output.
      reduction: ``"mean"`` (default; MONAI's mean over batch, channels and voxels),
        ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch, *spatial, channels]`` (per voxel) for
      ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.sin(jnp.arange(16.0)).reshape(1, 4, 4, 1)
      >>> jaxloss.local_normalized_cross_correlation_loss(x, -2 * x)
      Array(-1., dtype=float32)

    References:
      Avants et al., "Symmetric diffeomorphic image registration with cross-correlation",
      Medical Image Analysis 2008. Follows MONAI ``LocalNormalizedCrossCorrelationLoss``
      (DeepReg / VoxelMorph).

      Differences: channel-last layout (MONAI is ``[B, C, *spatial]``); the number of
      spatial axes is inferred from the rank (MONAI's ``spatial_dims`` argument).
    """
    contracts.choice(kernel_type, _KERNELS, "kernel_type")
    if not isinstance(kernel_size, (int, np.integer)) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(
            f"{function_name()}: kernel_size must be a positive odd integer, got {kernel_size!r}"
        )
    contracts.bounded(smooth_numerator, "smooth_numerator", ge=0)
    contracts.bounded(smooth_denominator, "smooth_denominator", ge=0)
    p, t = _images(predictions, targets)
    kernel = _kernel(kernel_type, int(kernel_size))
    volume = float(np.sum(kernel) ** (p.ndim - 2))
    s_nr, s_dr = param(smooth_numerator, p.dtype), param(smooth_denominator, p.dtype)
    t_sum, p_sum = _local_sums(t, kernel), _local_sums(p, kernel)
    t2_sum, p2_sum, tp_sum = (_local_sums(x, kernel) for x in (t * t, p * p, t * p))
    t_avg, p_avg = t_sum / volume, p_sum / volume
    cross = tp_sum - p_avg * t_sum
    t_var = jnp.maximum(t2_sum - t_avg * t_sum, s_dr)
    p_var = jnp.maximum(p2_sum - p_avg * p_sum, s_dr)
    ncc = (cross * cross + s_nr) / (t_var * p_var)
    return reduce(-ncc, reduction, weights=weights, where=where)


def _clamp(x: jax.Array, low: Any, high: Any) -> jax.Array:
    """``clip(x, low, high)`` with torch's ``clamp`` gradient: 1 on the closed interval, 0 outside."""
    return jnp.where(x < low, low, jnp.where(x > high, high, x)).astype(x.dtype)


def _gaussian_window(img: jax.Array, num_bins: int, sigma_ratio: Any) -> jax.Array:
    """Per-sample bin weights ``[batch, samples, bins]`` from a Gaussian Parzen window on [0, 1]."""
    centers = jnp.linspace(0.0, 1.0, num_bins, dtype=img.dtype)[None, None, :]
    sigma = sigma_ratio / (num_bins - 1)
    weight = jnp.exp(-jnp.square(_clamp(img, 0.0, 1.0)[..., None] - centers) / (2 * sigma**2))
    return weight / jnp.sum(weight, axis=-1, keepdims=True)


def _bspline_window(img: jax.Array, num_bins: int, order: int) -> jax.Array:
    """MONAI's (ITK's) B-spline Parzen window: cubic (order 3) or box (order 0), padded bins."""
    padding = 2
    low, high = jnp.min(img), jnp.max(img)
    bin_size = (high - low) / (num_bins - 2 * padding)
    term = _clamp(img / bin_size - (low / bin_size - padding), padding, num_bins - padding - 1)
    d = jnp.abs(jnp.arange(num_bins, dtype=img.dtype)[None, None, :] - term[..., None])
    if order == 0:
        weight = (d < 0.5).astype(img.dtype) + 0.5 * (d == 0.5).astype(img.dtype)
    else:
        zero = jnp.zeros((), img.dtype)
        near = jnp.where(d < 1, (4 - 6 * d**2 + 3 * d**3) / 6, zero)
        far = jnp.where((d >= 1) & (d < 2), (2 - d) ** 3 / 6, zero)
        weight = near + far
    return weight / jnp.sum(weight, axis=-1, keepdims=True)


@register(_FAMILY, reference="MONAI GlobalMutualInformationLoss")
def global_mutual_information_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    kernel_type: Literal["gaussian", "b-spline"] = "gaussian",
    num_bins: int = 23,
    sigma_ratio: float | ArrayLike = 0.5,
    smooth_numerator: float | ArrayLike = 1e-7,
    smooth_denominator: float | ArrayLike = 1e-7,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Negated mutual information of two images from a Parzen-window joint histogram.

    .. math:: \ell_b = -\sum_{i,j} p_{ij} \log\Big(\frac{p_{ij} + s_{nr}}{p_i q_j + s_{dr}}
       + s_{dr}\Big),\quad p_{ij} = \frac{1}{N}\sum_n w_i(x_n) v_j(y_n)

    where :math:`w_i(x_n)` (and :math:`v_j(y_n)`) are the Parzen-window weights of sample
    :math:`n` of image :math:`b` in intensity bin :math:`i`, normalised over the bins, and
    :math:`p_i`, :math:`q_j` the marginals (means over the :math:`N` samples). Every voxel
    and channel of an image is one sample.

    ``kernel_type="gaussian"``: intensities are clamped to :math:`[0, 1]`, the bins are
    ``num_bins`` equally spaced centres on :math:`[0, 1]` and the window is
    :math:`\exp(-(x - c)^2 / 2\sigma^2)` with :math:`\sigma` = ``sigma_ratio`` times the bin
    spacing. ``kernel_type="b-spline"`` (Mattes et al.; ITK): the bins span the intensity
    range of the whole batch with two padding bins on each side, the predictions use a cubic
    B-spline window and the targets a box window (no gradient).

    Args:
      predictions: warped moving images ``[batch, ...]`` (intensities in [0, 1] for the
        Gaussian window).
      targets: fixed images, same shape.
      kernel_type: ``"gaussian"`` or ``"b-spline"``. Static.
      num_bins: number of intensity bins (>= 2; >= 5 for ``"b-spline"``). Static.
      sigma_ratio: the Gaussian width in units of the bin spacing (``> 0``).
      smooth_numerator: :math:`s_{nr}` (``>= 0``).
      smooth_denominator: :math:`s_{dr}`, in the denominator and inside the log (``>= 0``).
      weights: optional per-image weights ``[batch]``.
      where: optional per-image mask ``[batch]``.
      reduction: ``"mean"`` (default; MONAI's mean over the batch), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.linspace(0.0, 1.0, 64).reshape(1, 8, 8, 1)
      >>> bool(jaxloss.global_mutual_information_loss(x, x) < jaxloss.global_mutual_information_loss(x, 1 - x ** 4))
      True

    References:
      Mattes et al., "PET-CT image registration in the chest using free-form deformations",
      IEEE TMI 2003; DeepReg (Fu et al. 2020). Follows MONAI
      ``GlobalMutualInformationLoss``.

      Differences: none in value; MONAI takes channels-first images, which give the same
      samples (the loss pools every voxel and channel of an image).
    """
    contracts.choice(kernel_type, ("gaussian", "b-spline"), "kernel_type")
    smallest = 2 if kernel_type == "gaussian" else 5
    if not isinstance(num_bins, (int, np.integer)) or num_bins < smallest:
        raise ValueError(
            f"{function_name()}: num_bins must be an integer >= {smallest} for kernel_type={kernel_type!r}, "
            f"got {num_bins!r}"
        )
    contracts.bounded(sigma_ratio, "sigma_ratio", gt=0)
    contracts.bounded(smooth_numerator, "smooth_numerator", ge=0)
    contracts.bounded(smooth_denominator, "smooth_denominator", ge=0)
    contracts.floating(predictions=predictions, targets=targets)
    contracts.same_shape(predictions=predictions, targets=targets)
    contracts.min_rank(predictions, 2, "predictions")
    p, t = upcast(predictions, targets)
    p, t = rows(p), rows(t)
    if p.size == 0:
        return reduce(jnp.sum(p, axis=1), reduction, weights=weights, where=where)
    if kernel_type == "gaussian":
        ratio = param(sigma_ratio, p.dtype)
        wp, wt = _gaussian_window(p, num_bins, ratio), _gaussian_window(t, num_bins, ratio)
    else:
        wp, wt = _bspline_window(p, num_bins, 3), _bspline_window(t, num_bins, 0)
    s_nr, s_dr = param(smooth_numerator, p.dtype), param(smooth_denominator, p.dtype)
    joint = jnp.einsum("bni,bnj->bij", wp, wt) / p.shape[1]
    marginals = jnp.mean(wp, axis=1)[:, :, None] * jnp.mean(wt, axis=1)[:, None, :]
    mi = jnp.sum(joint * jnp.log((joint + s_nr) / (marginals + s_dr) + s_dr), axis=(1, 2))
    return reduce(-mi, reduction, weights=weights, where=where)
