"""Goldens for the regression family from PyTorch (values and input gradients)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def _run(fn, *inputs, grad=(0,)):
    tensors = [torch.tensor(x, requires_grad=i in grad) for i, x in enumerate(inputs)]
    out = fn(*tensors)
    out.sum().backward()
    return out.detach().numpy(), [tensors[i].grad.numpy() for i in grad]


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1234)
    p = rng.standard_normal((5, 4)) * 2
    t = rng.standard_normal((5, 4))
    p[0, 0] = t[0, 0]  # a zero residual: L1 gradient must be 0 there
    out: dict[str, np.ndarray] = {"p": p, "t": t}

    cases = {
        "mse": lambda a, b: F.mse_loss(a, b, reduction="mean"),
        "l1": lambda a, b: F.l1_loss(a, b, reduction="mean"),
        "l1_none": lambda a, b: F.l1_loss(a, b, reduction="none"),
        "huber_1.5": lambda a, b: F.huber_loss(a, b, delta=1.5, reduction="sum"),
        "huber_none": lambda a, b: F.huber_loss(a, b, delta=0.7, reduction="none"),
        "smooth_l1_0.5": lambda a, b: F.smooth_l1_loss(a, b, beta=0.5, reduction="mean"),
        "smooth_l1_0": lambda a, b: F.smooth_l1_loss(a, b, beta=0.0, reduction="mean"),
        "smooth_l1_none": lambda a, b: F.smooth_l1_loss(a, b, beta=2.0, reduction="none"),
    }
    for name, fn in cases.items():
        value, (grad,) = _run(fn, p, t)
        out[f"{name}/value"], out[f"{name}/grad"] = value, grad

    var = rng.uniform(0.1, 2.0, (5, 4))
    var[1, 1] = 1e-8  # below eps: torch clamps the value, not the gradient
    var_row = rng.uniform(0.1, 2.0, (5, 1))
    out["var"], out["var_row"] = var, var_row
    for full in (False, True):
        value, (g_mu, g_var) = _run(
            lambda a, b, v, full=full: F.gaussian_nll_loss(a, b, v, full=full, eps=1e-6, reduction="mean"),
            p, t, var, grad=(0, 2),
        )
        out[f"gauss_full{full}/value"], out[f"gauss_full{full}/grad_mean"] = value, g_mu
        out[f"gauss_full{full}/grad_var"] = g_var
    value, (g_mu, g_var) = _run(
        lambda a, b, v: F.gaussian_nll_loss(a, b, v, reduction="none"), p, t, var_row, grad=(0, 2)
    )
    out["gauss_row/value"], out["gauss_row/grad_mean"], out["gauss_row/grad_var"] = value, g_mu, g_var
    value, (g_mu, g_var) = _run(
        lambda a, b, v: F.gaussian_nll_loss(a, b, v, reduction="sum"), p, t, var_row[:, 0], grad=(0, 2)
    )
    out["gauss_vec/value"], out["gauss_vec/grad_mean"], out["gauss_vec/grad_var"] = value, g_mu, g_var

    counts = rng.poisson(3.0, (5, 4)).astype(np.float64)
    counts[0, :2] = [0.0, 1.0]
    rates = rng.uniform(0.1, 5.0, (5, 4))
    out["counts"], out["rates"] = counts, rates
    for log_input, x in ((True, p), (False, rates)):
        for full in (False, True):
            value, (grad,) = _run(
                lambda a, b, li=log_input, full=full: F.poisson_nll_loss(a, b, log_input=li, full=full, reduction="none"),
                x, counts,
            )
            out[f"poisson_log{log_input}_full{full}/value"] = value
            out[f"poisson_log{log_input}_full{full}/grad"] = grad
    return out
