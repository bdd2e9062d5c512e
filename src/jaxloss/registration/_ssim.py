"""Structural similarity losses: SSIM and multi-scale SSIM (MONAI semantics), channel-last.

Images are ``[batch, *spatial, channels]`` with 1 to 3 spatial axes (MONAI's
``[B, C, *spatial]`` transposed). Local statistics are 'valid' separable filters
(no padding), per channel, as MONAI's grouped convolutions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import param
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._similarity import _images

__all__ = ["ms_ssim_loss", "ssim_loss"]

_FAMILY = "registration"
_KERNELS = ("gaussian", "uniform")
# Wang et al. 2003's five scale exponents (MONAI's default ``weights``).
_MS_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _checked(
    predictions: ArrayLike,
    targets: ArrayLike,
    kernel: str,
    win_size: int,
    kernel_sigma: Any,
    data_range: Any,
    k1: Any,
    k2: Any,
) -> tuple[jax.Array, jax.Array]:
    """Checks the options and two ``[batch, *spatial, channels]`` images; returns them upcast."""
    contracts.choice(kernel, _KERNELS, "kernel")
    if not isinstance(win_size, (int, np.integer)) or win_size < 1:
        raise ValueError(
            f"{function_name()}: win_size must be a positive integer, got {win_size!r}"
        )
    contracts.bounded(kernel_sigma, "kernel_sigma", gt=0)
    contracts.bounded(data_range, "data_range", gt=0)
    contracts.bounded(k1, "k1", ge=0)
    contracts.bounded(k2, "k2", ge=0)
    return _images(predictions, targets)


def _window(kernel: str, win_size: int, sigma: Any, dtype: Any) -> jax.Array:
    """MONAI's normalised 1-D window: a Gaussian on ``(1 - n)/2 .. (n - 1)/2`` or a box."""
    if kernel == "uniform":
        return jnp.full((win_size,), 1.0 / win_size, dtype)
    x = jnp.arange(win_size, dtype=dtype) - (win_size - 1) / 2
    g = jnp.exp(-0.5 * jnp.square(x / sigma))
    return g / jnp.sum(g)


def _valid_filter(x: jax.Array, window: jax.Array) -> jax.Array:
    """Separable 'valid' filtering of every spatial axis of ``[B, *S, C]`` (traced weights).

    Along each axis of length ``n`` the filter is a product with the banded ``[n - k + 1, n]``
    matrix of the window (``sum_j w_j E_j``, ``E_j`` the shifted identities): XLA CPU runs it
    as a matrix product, many times faster than a depthwise convolution
    (``feature_group_count`` = channels), forward and backward.
    """
    d, k = x.ndim - 2, window.shape[0]
    for axis in range(1, d + 1):
        n = x.shape[axis]
        m = max(n - k + 1, 0)
        shifts = np.zeros((k, m, n), np.float32)
        for j in range(k):
            shifts[j, np.arange(m), np.arange(m) + j] = 1.0
        band = jnp.tensordot(window.astype(x.dtype), jnp.asarray(shifts, x.dtype), axes=1)
        filtered = jnp.tensordot(x, band, axes=((axis,), (1,)), precision=jax.lax.Precision.HIGHEST)
        x = jnp.moveaxis(filtered, -1, axis)
    return x


def _ssim_and_cs(
    p: jax.Array, t: jax.Array, window: jax.Array, c1: jax.Array, c2: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Per-image means over channels and window positions of SSIM and contrast sensitivity, ``[B]``."""
    channels = p.shape[-1]
    # The five local statistics in one filtering pass (stacked along the channel axis).
    stats = _valid_filter(jnp.concatenate([p, t, p * p, t * t, p * t], axis=-1), window)
    mu_p, mu_t, pp, tt, pt = (stats[..., i * channels : (i + 1) * channels] for i in range(5))
    var_p = pp - mu_p * mu_p
    var_t = tt - mu_t * mu_t
    cov = pt - mu_p * mu_t
    cs = (2 * cov + c2) / (var_p + var_t + c2)
    ssim = (2 * mu_p * mu_t + c1) / (mu_p * mu_p + mu_t * mu_t + c1) * cs
    axes = tuple(range(1, p.ndim))
    return jnp.mean(ssim, axis=axes), jnp.mean(cs, axis=axes)


def _check_size(shape: tuple[int, ...], win_size: int, minimum: int, why: str) -> None:
    small = [n for n in shape[1:-1] if n < minimum]
    if small:
        raise ValueError(
            f"{function_name()}: spatial sizes {shape[1:-1]} are too small for win_size={win_size}: "
            f"each must be >= {minimum}{why}"
        )


@register(_FAMILY, reference="monai.losses.SSIMLoss")
def ssim_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    data_range: float | ArrayLike = 1.0,
    kernel: Literal["gaussian", "uniform"] = "gaussian",
    win_size: int = 11,
    kernel_sigma: float | ArrayLike = 1.5,
    k1: float | ArrayLike = 0.01,
    k2: float | ArrayLike = 0.03,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""One minus the structural similarity (SSIM) of two images, MONAI ``SSIMLoss``.

    .. math:: \ell_b = 1 - \frac{1}{|W| C} \sum_{w, c}
       \frac{(2 \mu_p \mu_t + c_1)(2 \sigma_{pt} + c_2)}
       {(\mu_p^2 + \mu_t^2 + c_1)(\sigma_p^2 + \sigma_t^2 + c_2)},
       \qquad c_1 = (k_1 L)^2,\; c_2 = (k_2 L)^2

    with local means, variances and covariance from a normalised window (Gaussian or box)
    at every 'valid' position :math:`w` (no padding) of every channel :math:`c`, and
    :math:`L` = ``data_range``. 2-D or 3-D (also 1-D) by the rank. Identical images give 0.
    Only quotients with denominators ``>= c_1, c_2`` occur: no square roots.

    Args:
      predictions: images ``[batch, *spatial, channels]``, 1 to 3 spatial axes.
      targets: reference images, same shape.
      data_range: :math:`L`, the value range of the images (``> 0``).
      kernel: ``"gaussian"`` (default) or ``"uniform"`` (MONAI ``kernel_type``). Static.
      win_size: window size along every spatial axis (each spatial size must be at least
        this). Static.
      kernel_sigma: the Gaussian's standard deviation (``> 0``; float or traced).
      k1: luminance constant (``>= 0``).
      k2: contrast constant (``>= 0``).
      weights: optional per-image weights ``[batch]``.
      where: optional per-image mask ``[batch]``.
      reduction: ``"mean"`` (default; MONAI's batch mean), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.linspace(0.0, 1.0, 256).reshape(1, 16, 16, 1)
      >>> jaxloss.ssim_loss(x, x)
      Array(0., dtype=float32)

    References:
      Wang et al., `Image quality assessment: from error visibility to structural
      similarity <https://doi.org/10.1109/TIP.2003.819861>`_, IEEE TIP 2004. Follows MONAI
      ``SSIMLoss`` (``SSIMMetric``, 1.6.1); MONAI's ``spatial_dims`` is inferred from the rank.

      Differences: channel-last layout; one window size and sigma for every axis (MONAI
      also takes sequences); MONAI computes in float32 whatever the input, jaxloss in the
      input dtype (at least float32). kornia ``ssim_loss`` is a different convention: it
      pads the images ('same' output, reflection padding) and returns
      :math:`(1 - \mathrm{SSIM}) / 2`, so its values differ.
    """
    p, t = _checked(predictions, targets, kernel, win_size, kernel_sigma, data_range, k1, k2)
    _check_size(p.shape, win_size, win_size, "")
    window = _window(kernel, int(win_size), param(kernel_sigma, p.dtype), p.dtype)
    rng = param(data_range, p.dtype)
    c1, c2 = jnp.square(param(k1, p.dtype) * rng), jnp.square(param(k2, p.dtype) * rng)
    ssim, _ = _ssim_and_cs(p, t, window, c1, c2)
    return reduce(1 - ssim, reduction, weights=weights, where=where)


def _avg_pool2(x: jax.Array) -> jax.Array:
    """torch ``avg_pool`` with kernel 2 and stride 2 over every spatial axis (odd ends dropped)."""
    for axis in range(1, x.ndim - 1):
        n = x.shape[axis] // 2 * 2
        x = jax.lax.slice_in_dim(x, 0, n, axis=axis)
        x = 0.5 * (
            jax.lax.slice_in_dim(x, 0, n, stride=2, axis=axis)
            + jax.lax.slice_in_dim(x, 1, n, stride=2, axis=axis)
        )
    return x


def _power(x: jax.Array, w: jax.Array) -> jax.Array:
    """``x ** w`` for ``x >= 0`` (``0 ** 0 = 1``), computed as ``exp(w log x)`` behind a double
    ``where``: the value is exact and the gradient at ``x = 0`` is 0, not ``w * 0 ** (w - 1) = inf``."""
    positive = ~(x <= 0)  # NaN takes this branch: it propagates
    value = jnp.exp(w * jnp.log(jnp.where(positive, x, 1)))
    return jnp.where(positive, value, jnp.where(w == 0, 1, 0).astype(x.dtype))


@register(_FAMILY, reference="1 - monai.metrics.MultiScaleSSIMMetric")
def ms_ssim_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    data_range: float | ArrayLike = 1.0,
    kernel: Literal["gaussian", "uniform"] = "gaussian",
    win_size: int = 11,
    kernel_sigma: float | ArrayLike = 1.5,
    k1: float | ArrayLike = 0.01,
    k2: float | ArrayLike = 0.03,
    scale_weights: Sequence[float] | ArrayLike = _MS_WEIGHTS,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""One minus the multi-scale structural similarity (MS-SSIM), MONAI ``MultiScaleSSIMMetric``.

    .. math:: \ell_b = 1 - \mathrm{relu}(\mathrm{SSIM}_M)^{\beta_M}
       \prod_{j=1}^{M-1} \mathrm{relu}(\mathrm{CS}_j)^{\beta_j}

    where :math:`\mathrm{CS}_j` is the contrast-structure term of :func:`ssim_loss` (the
    ratio with :math:`c_2`) averaged over channels and 'valid' positions at scale
    :math:`j`, the images are halved by 2x average pooling between scales (odd ends
    dropped, as torch), :math:`\mathrm{SSIM}_M` is the full SSIM at the last scale and
    :math:`\beta` = ``scale_weights`` (:math:`M` = their number).

    Each power is computed as :math:`\exp(\beta \log x)` behind a double ``where``: the
    value equals :math:`x^\beta` (0 at 0, after MONAI's ``relu``), and where a term is 0
    the gradient is 0 instead of the :math:`\beta x^{\beta-1} = \infty` that makes
    MONAI's gradient NaN there.

    Args:
      predictions: images ``[batch, *spatial, channels]``, 1 to 3 spatial axes.
      targets: reference images, same shape.
      data_range: :math:`L`, the value range of the images (``> 0``).
      kernel: ``"gaussian"`` (default) or ``"uniform"``. Static.
      win_size: window size along every spatial axis. Static.
      kernel_sigma: the Gaussian's standard deviation (``> 0``).
      k1: luminance constant (``>= 0``).
      k2: contrast constant (``>= 0``).
      scale_weights: the exponents :math:`\beta_j`, one per scale (MONAI ``weights``; its
        number is static, the values may be traced). Every spatial size ``n`` must satisfy
        ``n // (M - 1)**2 > win_size - 1`` (MONAI's check, kept as is).
      weights: optional per-image weights ``[batch]``.
      where: optional per-image mask ``[batch]``.
      reduction: ``"mean"`` (default; the batch mean), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.linspace(0.0, 1.0, 1024).reshape(1, 32, 32, 1)
      >>> jaxloss.ms_ssim_loss(x, x, win_size=3, scale_weights=(0.3, 0.7))
      Array(0., dtype=float32)

    References:
      Wang, Simoncelli & Bovik, `Multiscale structural similarity for image quality
      assessment <https://doi.org/10.1109/ACSSC.2003.1292216>`_, Asilomar 2003. Follows
      ``1 - monai.metrics.MultiScaleSSIMMetric`` (``compute_ms_ssim``, 1.6.1).

      Differences: channel-last layout; MONAI's ``weights`` is ``scale_weights`` here
      (``weights=`` keeps the library's per-image weights); finite (zero) gradients where
      a clamped term is 0; computed in the input dtype (MONAI: float32). kornia
      ``MS_SSIMLoss`` is a different convention (Gaussian pyramid with padding, an L1 mix),
      not this function.
    """
    p, t = _checked(predictions, targets, kernel, win_size, kernel_sigma, data_range, k1, k2)
    betas = param(scale_weights, p.dtype)
    contracts.rank(betas, {1}, "scale_weights", "one exponent per scale")
    scales = betas.shape[0]
    if scales < 1:
        raise ValueError(f"{function_name()}: scale_weights must hold at least one exponent")
    divisor = max(1, scales - 1) ** 2
    small = [n for n in p.shape[1:-1] if n // divisor <= win_size - 1]
    if small:
        raise ValueError(
            f"{function_name()}: for {scales} scale_weights and win_size={win_size} every spatial size "
            f"must be larger than {(win_size - 1) * divisor} (MONAI's check), got {p.shape[1:-1]}"
        )
    # Where MONAI's check lets an image through that its last scale cannot hold (torch's
    # convolution raises), raise a clear error.
    _check_size(
        p.shape,
        win_size,
        win_size * 2 ** (scales - 1),
        f" to hold the window after {scales - 1} poolings",
    )
    window = _window(kernel, int(win_size), param(kernel_sigma, p.dtype), p.dtype)
    rng = param(data_range, p.dtype)
    c1, c2 = jnp.square(param(k1, p.dtype) * rng), jnp.square(param(k2, p.dtype) * rng)
    value = jnp.ones(p.shape[:1], p.dtype)
    for j in range(scales):
        ssim, cs = _ssim_and_cs(p, t, window, c1, c2)
        term = ssim if j == scales - 1 else cs
        value = value * _power(jax.nn.relu(term), betas[j])
        if j < scales - 1:
            p, t = _avg_pool2(p), _avg_pool2(t)
    return reduce(1 - value, reduction, weights=weights, where=where)
