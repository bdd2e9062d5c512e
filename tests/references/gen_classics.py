"""Goldens for the classic losses of API.md 3.E.3, from the anchors themselves (float64).

- PyTorch 2.13: ``F.nll_loss`` (E26), ``F.binary_cross_entropy`` (E27, torch form),
  ``F.hinge_embedding_loss`` (E33), ``F.multilabel_margin_loss`` (E34); values and
  autograd gradients (torch's own backward).
- Keras 3 with the torch backend (``KERAS_BACKEND=torch``, floatx float64):
  ``BinaryCrossentropy`` (E27, ``eps=1e-7``), ``CategoricalCrossentropy`` /
  ``SparseCategoricalCrossentropy`` (E28), ``CategoricalGeneralizedCrossEntropy`` (E37),
  ``MeanAbsolutePercentageError`` / ``MeanSquaredLogarithmicError`` (E36),
  ``CategoricalHinge`` (E24's documented non-alias). Values are Keras's per-sample
  output (``reduction=None``, the mean over the last axis); gradients are torch autograd
  through Keras's own torch-backend ops, of the batch mean of that output (Keras's
  ``"sum_over_batch_size"``; its reduction step itself casts to float32, so the
  mean is taken in torch).
- optax: ``multiclass_hinge_loss`` (E24; a margin ``m`` is ``m * optax(s / m)``, an
  identity of the formula) and ``generalized_kl_divergence`` (E22, with ``where``);
  gradients by ``jax.grad`` of optax. scipy ``special.kl_div`` summed is E22's
  second reference.
"""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported (Keras-backed gradients)

import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax
import scipy.special
import torch
import torch.nn.functional as F

jax.config.update("jax_enable_x64", True)
keras.config.set_floatx("float64")
torch.set_default_dtype(torch.float64)


def _t(x, grad=False):
    return torch.tensor(np.asarray(x), requires_grad=grad)


def _grads(out, *tensors):
    out.sum().backward()
    return [t.grad.numpy().copy() for t in tensors]


def _nll(out, rng):
    n, c = 7, 5
    logp = np.log(rng.dirichlet(np.ones(c), n))
    labels = rng.integers(0, c, n)
    labels[[1, 4]] = 2  # the class ignore_index=2 removes
    cw = rng.uniform(0.2, 2.0, c)
    out.update({"nll/logp": logp, "nll/labels": labels, "nll/cw": cw})
    for weighted in (0, 1):
        for ignore in (0, 1):
            kw = {"weight": _t(cw) if weighted else None, "ignore_index": 2 if ignore else -100}
            for reduction in ("mean", "sum", "none"):
                x = _t(logp, True)
                value = F.nll_loss(x, _t(labels), reduction=reduction, **kw)
                key = f"nll/w{weighted}_i{ignore}/{reduction}"
                out[key] = value.detach().numpy()
                (out[f"{key}/grad"],) = _grads(value, x)
    # torch's [N, C, d] layout with its default ignore_index=-100 in the labels.
    logp3 = np.log(np.moveaxis(rng.dirichlet(np.ones(c), (3, 4)), -1, 1))
    labels3 = rng.integers(0, c, (3, 4))
    labels3[0, 1] = -100
    x = _t(logp3, True)
    value = F.nll_loss(x, _t(labels3), weight=_t(cw))
    out.update({"nll3/logp": logp3, "nll3/labels": labels3, "nll3/value": value.detach().numpy()})
    (out["nll3/grad"],) = _grads(value, x)


def _bce_torch(out, rng):
    p = rng.uniform(0.02, 0.98, (6, 3))
    y = rng.uniform(0, 1, (6, 3))
    y[0, :] = (0.0, 1.0, 1.0)
    w = rng.uniform(0.5, 2.0, (6, 3))
    out.update({"bce/p": p, "bce/y": y, "bce/w": w})
    for reduction in ("mean", "sum", "none"):
        x, t = _t(p, True), _t(y, True)
        value = F.binary_cross_entropy(x, t, reduction=reduction)
        out[f"bce/{reduction}"] = value.detach().numpy()
        out[f"bce/{reduction}/grad_p"], out[f"bce/{reduction}/grad_y"] = _grads(value, x, t)
    x = _t(p, True)
    value = F.binary_cross_entropy(x, _t(y), weight=_t(w), reduction="sum")
    out["bce/weighted_sum"] = value.detach().numpy()
    (out["bce/weighted_sum/grad_p"],) = _grads(value, x)
    # p at exactly 0 and 1: the -100 clamp and torch's 1e-12 floor (the target gradient is inf there).
    p01 = np.array([0.0, 1.0, 0.0, 1.0, 0.5, 1e-30])
    y01 = np.array([0.0, 1.0, 1.0, 0.0, 0.3, 1.0])
    x = _t(p01, True)
    value = F.binary_cross_entropy(x, _t(y01), reduction="none")
    out.update({"bce01/p": p01, "bce01/y": y01, "bce01/none": value.detach().numpy()})
    (out["bce01/grad_p"],) = _grads(value, x)


def _keras_per_sample(loss, y, p, grad_y=True):
    """Keras's per-sample loss, and torch-autograd gradients of its batch mean."""
    x, t = _t(p, True), _t(y, grad_y and np.issubdtype(np.asarray(y).dtype, np.floating))
    value = loss(t, x)
    value.mean().backward()
    gy = t.grad.numpy().copy() if t.requires_grad else None
    return value.detach().numpy(), x.grad.numpy().copy(), gy


def _bce_keras(out, rng):
    p = rng.uniform(0.02, 0.98, (5, 4))
    p[0, :] = (0.0, 1.0, 1e-9, 0.5)  # outside the clip
    y = rng.uniform(0, 1, (5, 4))
    out.update({"kbce/p": p, "kbce/y": y})
    for ls in (0.0, 0.2):
        value, gp, gy = _keras_per_sample(
            keras.losses.BinaryCrossentropy(label_smoothing=ls, reduction=None), y, p
        )
        out[f"kbce/ls{ls}"], out[f"kbce/ls{ls}/grad_p"], out[f"kbce/ls{ls}/grad_y"] = value, gp, gy


def _cce_keras(out, rng):
    n, c = 6, 4
    p = rng.dirichlet(np.ones(c), n)
    p[1] *= 2.0  # not normalised: Keras renormalises
    p[2, 0] = 0.0  # below the clip
    onehot = np.eye(c)[rng.integers(0, c, n)]
    soft = rng.dirichlet(np.ones(c), n)
    labels = rng.integers(0, c, n)
    out.update({"cce/p": p, "cce/onehot": onehot, "cce/soft": soft, "cce/labels": labels})
    for name, y in (("onehot", onehot), ("soft", soft)):
        for ls in (0.0, 0.1):
            value, gp, gy = _keras_per_sample(
                keras.losses.CategoricalCrossentropy(label_smoothing=ls, reduction=None), y, p
            )
            key = f"cce/{name}_ls{ls}"
            out[key], out[f"{key}/grad_p"], out[f"{key}/grad_y"] = value, gp, gy
    value, gp, _ = _keras_per_sample(
        keras.losses.SparseCategoricalCrossentropy(reduction=None), labels, p
    )
    out["cce/sparse"], out["cce/sparse/grad_p"] = value, gp
    # axis=1 ([N, C, d]).
    p3 = np.moveaxis(rng.dirichlet(np.ones(c), (3, 2)), -1, 1)
    y3 = np.moveaxis(rng.dirichlet(np.ones(c), (3, 2)), -1, 1)
    value, gp, _ = _keras_per_sample(
        keras.losses.CategoricalCrossentropy(axis=1, reduction=None), y3, p3, grad_y=False
    )
    out.update({"cce3/p": p3, "cce3/y": y3, "cce3/value": value, "cce3/grad_p": gp})


def _gce_keras(out, rng):
    n, c = 6, 4
    p = rng.dirichlet(np.ones(c), n) * 0.98 + 0.005
    labels = rng.integers(0, c, n)
    z = rng.standard_normal((n, c)) * 2
    out.update({"gce/p": p, "gce/labels": labels, "gce/z": z})
    for q in (0.5, 0.3):
        loss = keras.losses.CategoricalGeneralizedCrossEntropy(q=q, reduction=None)
        value, gp, _ = _keras_per_sample(loss, labels, p)
        out[f"gce/q{q}"], out[f"gce/q{q}/grad_p"] = value, gp
        # Logits: Keras on torch.softmax(z); the gradient flows back to z.
        x = _t(z, True)
        value = loss(_t(labels), torch.softmax(x, dim=-1))
        value.mean().backward()
        out[f"gce/q{q}/logits"], out[f"gce/q{q}/logits/grad_z"] = (
            value.detach().numpy(),
            x.grad.numpy().copy(),
        )


def _regression_keras(out, rng):
    p = rng.standard_normal((5, 3)) * 2
    t = rng.standard_normal((5, 3)) * 2
    t[0, 0] = 0.0  # |t| below eps
    t[1, 1] = 1e-9
    out.update({"kreg/p": p, "kreg/t": t})
    for name, loss in (
        ("mape", keras.losses.MeanAbsolutePercentageError(reduction=None)),
        ("msle", keras.losses.MeanSquaredLogarithmicError(reduction=None)),
    ):
        value, gp, gt = _keras_per_sample(loss, t, p)
        out[f"kreg/{name}"], out[f"kreg/{name}/grad_p"], out[f"kreg/{name}/grad_t"] = value, gp, gt


def _crammer_singer(out, rng):
    n, c = 6, 5
    s = rng.standard_normal((n, c)) * 2
    labels = rng.integers(0, c, n)
    out.update({"cs/scores": s, "cs/labels": labels})
    for m in (1.0, 0.5):

        def f(x, m=m):
            return m * optax.losses.multiclass_hinge_loss(x / m, labels)

        out[f"cs/m{m}"] = np.asarray(f(jnp.asarray(s)))
        out[f"cs/m{m}/grad"] = np.asarray(jax.grad(lambda x: f(x).sum())(jnp.asarray(s)))
    # Keras CategoricalHinge: one row where every wrong-class score is negative (it differs there).
    sk = s.copy()
    sk[0] = -np.abs(sk[0]) - 0.1
    sk[0, labels[0]] = -0.5
    value, _, _ = _keras_per_sample(
        keras.losses.CategoricalHinge(reduction=None), np.eye(c)[labels], sk, grad_y=False
    )
    out.update({"cs/keras_scores": sk, "cs/keras": value})


def _hinge_embedding(out, rng):
    x = rng.standard_normal((6, 3)) * 1.5
    y = np.where(rng.uniform(size=(6, 3)) < 0.5, -1.0, 1.0)
    out.update({"he/x": x, "he/y": y})
    for margin in (1.0, 0.5):
        for reduction in ("mean", "none"):
            xt = _t(x, True)
            value = F.hinge_embedding_loss(xt, _t(y), margin=margin, reduction=reduction)
            out[f"he/m{margin}/{reduction}"] = value.detach().numpy()
            (out[f"he/m{margin}/{reduction}/grad"],) = _grads(value, xt)


def _multilabel_margin(out, rng):
    x = rng.standard_normal((5, 4)) * 1.5
    targets = np.array(
        [
            [3, 0, -1, 1],  # torch docs: entries after -1 ignored
            [1, -1, -1, -1],
            [-1, 2, 3, 0],  # empty label set
            [2, 2, 0, -1],  # a repeated index counts twice
            [0, 1, 2, 3],
        ]
    )  # every class a target: nothing to violate
    out.update({"mlm/x": x, "mlm/targets": targets})
    for reduction in ("mean", "none"):
        xt = _t(x, True)
        value = F.multilabel_margin_loss(xt, _t(targets), reduction=reduction)
        out[f"mlm/{reduction}"] = value.detach().numpy()
        (out[f"mlm/{reduction}/grad"],) = _grads(value, xt)


def _generalized_kl(out, rng):
    lq = rng.standard_normal((4, 5))
    p = rng.uniform(0.05, 2.0, (4, 5))
    p[1, 2] = 0.0  # p = 0: contributes q
    where = rng.uniform(size=(4, 5)) < 0.7
    where[3] = False  # a row with nothing included
    out.update({"gkl/lq": lq, "gkl/p": p, "gkl/where": where})
    for masked in (0, 1):
        w = jnp.asarray(where) if masked else None

        def f(a, b, w=w):
            return optax.losses.generalized_kl_divergence(a, b, where=w)

        value = np.asarray(f(jnp.asarray(lq), jnp.asarray(p)))
        g_lq, g_p = jax.grad(lambda a, b: f(a, b).sum(), argnums=(0, 1))(
            jnp.asarray(lq), jnp.asarray(p)
        )
        out[f"gkl/w{masked}"], out[f"gkl/w{masked}/grad_lq"], out[f"gkl/w{masked}/grad_p"] = (
            value,
            np.asarray(g_lq),
            np.asarray(g_p),
        )
    out["gkl/scipy"] = scipy.special.kl_div(p, np.exp(lq)).sum(-1)


def generate() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    rng = np.random.default_rng(17)
    for part in (
        _nll,
        _bce_torch,
        _bce_keras,
        _cce_keras,
        _gce_keras,
        _regression_keras,
        _crammer_singer,
        _hinge_embedding,
        _multilabel_margin,
        _generalized_kl,
    ):
        part(out, rng)
    return {k: np.asarray(v) for k, v in out.items()}
