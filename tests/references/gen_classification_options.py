"""Goldens for the classification options of API.md E29-E32, from the anchors themselves.

- Keras 3 (``KERAS_BACKEND=torch``, floatx float64, gradients by torch autograd):
  ``BinaryFocalCrossentropy`` (E29), ``CategoricalFocalCrossentropy`` (E30),
  ``CosineSimilarity`` (E32).
- segmentation-models-pytorch 0.6 ``losses._functional.focal_loss_with_logits`` (the
  function behind ``FocalLoss("binary", ...)``) with ``normalized`` and
  ``reduced_threshold`` (E29), imported without the package ``__init__`` (timm, torchvision)
  by ``gen_segmentation_more._smp_losses``.
- MONAI 1.6.1 ``FocalLoss(use_softmax=True)`` with soft targets (E30); its ``forward`` casts
  to float32, so these goldens carry float32 rounding.
- optax 0.2.8 ``where`` (E31, E32), values and ``jax.grad``: the cases of optax's own tests
  (``optax/losses/_classification_test.py``: the softmax cross-entropy setUp with its
  per-logit mask, float and integer labels; ``test_mask`` (its size 10; size 5 is the same
  path) for softmax CE, poly-1, KL, KL with log targets and the generalized KL, including
  optax's own check against the compressed vectors), a batched ``[4, 5]`` per-logit mask,
  and random cosine inputs with ``epsilon`` and ``where``.
"""

from __future__ import annotations

import os
import warnings

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported (Keras-backed gradients)

import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax
import torch
from gen_segmentation_more import _smp_losses
from monai.losses import FocalLoss

jax.config.update("jax_enable_x64", True)
keras.config.set_floatx("float64")
torch.set_default_dtype(torch.float64)
warnings.filterwarnings("ignore")


def _t(x, grad=False):
    return torch.tensor(np.asarray(x), requires_grad=grad)


def _keras(loss, y, p, out, key, grad_y=True):
    """Keras's per-sample loss; torch-autograd gradients of its sum."""
    x, t = _t(p, True), _t(y, grad_y)
    value = loss(t, x)
    value.sum().backward()
    out[key] = value.detach().numpy()
    out[f"{key}/grad"] = x.grad.numpy().copy()
    if grad_y:
        out[f"{key}/grad_y"] = t.grad.numpy().copy()


def _binary_focal(out, rng):
    p = rng.uniform(0.02, 0.98, (5, 4))
    x = rng.standard_normal((5, 4)) * 2
    y = rng.integers(0, 2, (5, 4)).astype(np.float64)
    y[0] = (0.3, 0.7, 0.5, 0.9)  # soft targets
    out.update({"bf/p": p, "bf/x": x, "bf/y": y})
    # Keras BinaryFocalCrossentropy: per-sample mean over the last axis.
    cases = {
        "k_default": ({"gamma": 2.0, "from_logits": False}, p),
        "k_logits": (
            {
                "apply_class_balancing": True,
                "alpha": 0.4,
                "gamma": 1.5,
                "from_logits": True,
                "label_smoothing": 0.1,
            },
            x,
        ),
        "k_smooth": ({"gamma": 0.5, "from_logits": False, "label_smoothing": 0.2}, p),
    }
    for name, (kw, inputs) in cases.items():
        loss = keras.losses.BinaryFocalCrossentropy(reduction=None, **kw)
        _keras(loss, y, inputs, out, f"bf/{name}")
    # smp focal_loss_with_logits (FocalLoss("binary")), hard labels, reduction "mean".
    f = _smp_losses()._functional.focal_loss_with_logits
    xs = rng.standard_normal((6, 5)) * 2
    ys = rng.integers(0, 2, (6, 5)).astype(np.float64)
    out.update({"smp/x": xs, "smp/y": ys})
    smp_cases = {
        "norm": {"gamma": 2.0, "alpha": 0.25, "normalized": True},
        "reduced": {"gamma": 2.0, "alpha": None, "reduced_threshold": 0.5},
        "both": {"gamma": 1.5, "alpha": 0.3, "normalized": True, "reduced_threshold": 0.4},
    }
    for name, kw in smp_cases.items():
        t = _t(xs, True)
        value = f(t, _t(ys), reduction="mean", **kw)
        value.backward()
        out[f"smp/{name}"] = value.detach().numpy()
        out[f"smp/{name}/grad"] = t.grad.numpy().copy()


def _softmax_focal(out, rng):
    # MONAI FocalLoss(use_softmax=True) on [B, C, H] with soft targets; "none" is [B, C, H].
    b, c, h = 2, 4, 3
    x = rng.standard_normal((b, c, h)) * 2
    y = np.moveaxis(rng.dirichlet(np.ones(c), (b, h)), -1, 1)
    out.update({"mf/x": x, "mf/y": y})
    for name, kw in {"g2": {"gamma": 2.0}, "g05_a03": {"gamma": 0.5, "alpha": 0.3}}.items():
        xt, yt = _t(x, True), _t(y, True)
        value = FocalLoss(use_softmax=True, reduction="none", **kw)(xt, yt)
        value.sum().backward()
        out[f"mf/{name}"] = value.detach().numpy()
        out[f"mf/{name}/grad"] = xt.grad.numpy().copy()
        out[f"mf/{name}/grad_y"] = yt.grad.numpy().copy()
    # Keras CategoricalFocalCrossentropy, [N, C], soft labels; probabilities and logits.
    n = 6
    p = rng.dirichlet(np.ones(5), n)
    z = rng.standard_normal((n, 5)) * 2
    labels = rng.integers(0, 5, n)
    soft = rng.dirichlet(np.ones(5), n)
    out.update({"kf/p": p, "kf/z": z, "kf/labels": labels, "kf/soft": soft})
    cases = {
        "probs": (
            {"alpha": 0.25, "gamma": 2.0, "from_logits": False, "label_smoothing": 0.1},
            soft,
            p,
        ),
        "logits_onehot": ({"alpha": 0.25, "gamma": 2.0, "from_logits": True}, np.eye(5)[labels], z),
        "logits_smooth": (
            {"alpha": 0.5, "gamma": 1.5, "from_logits": True, "label_smoothing": 0.2},
            np.eye(5)[labels],
            z,
        ),
    }
    for name, (kw, target, inputs) in cases.items():
        loss = keras.losses.CategoricalFocalCrossentropy(reduction=None, **kw)
        _keras(loss, target, inputs, out, f"kf/{name}", grad_y=name == "probs")


def _grad_sum(fn, *args):
    return np.asarray(jax.grad(lambda *a: jnp.sum(fn(*a)))(*args))


def _optax_where(out, rng):
    # softmax_cross_entropy(_with_integer_labels) per-logit mask (optax setUp), all-masked row.
    ys = np.array([[10.0, 1.0, -2.0], [1.0, 4.0, 0.2]])
    ts = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    ti = np.array([1, 0])
    mask = np.array([[1, 0, 0], [0, 0, 0]], bool)
    out.update({"ox/ys": ys, "ox/ts": ts, "ox/ti": ti, "ox/mask": mask})
    out["ox/sce_full"] = np.asarray(optax.losses.softmax_cross_entropy(ys, ts))
    out["ox/sce_mask"] = np.asarray(optax.losses.softmax_cross_entropy(ys, ts, where=mask))
    out["ox/int_mask"] = np.asarray(
        optax.losses.softmax_cross_entropy_with_integer_labels(ys, ti, where=mask)
    )
    # test_mask (sizes 5 and 10) of each loss, with one partial mask per size (and its gradient).
    for size in (10,):  # optax's sizes are 5 and 10: one code path
        preds = rng.standard_normal(size)
        targets = rng.dirichlet(np.ones(size))
        m = rng.integers(0, 2, size).astype(bool)
        m[0] = True
        k = f"om{size}"
        out.update({f"{k}/preds": preds, f"{k}/targets": targets, f"{k}/mask": m})
        losses = {
            "sce": lambda p, t, m=m: optax.losses.softmax_cross_entropy(p, t, where=m),
            "poly": lambda p, t, m=m: optax.losses.poly_loss_cross_entropy(
                p, t, epsilon=2.0, where=m
            ),
            "kl": lambda p, t, m=m: optax.losses.kl_divergence(p, t, where=m),
            "kl_log": lambda p, t, m=m: optax.losses.kl_divergence_with_log_targets(
                p, jnp.log(t), where=m
            ),
            "gkl": lambda p, t, m=m: optax.losses.generalized_kl_divergence(p, t, where=m),
        }
        for name, fn in losses.items():
            out[f"{k}/{name}"] = np.asarray(fn(preds, targets))
            out[f"{k}/{name}/grad"] = _grad_sum(fn, preds, targets)
            # optax's own test: the same loss on the compressed vectors.
            out[f"{k}/{name}/compressed"] = np.asarray(
                {
                    "sce": optax.losses.softmax_cross_entropy,
                    "poly": lambda p, t: optax.losses.poly_loss_cross_entropy(p, t, epsilon=2.0),
                    "kl": optax.losses.kl_divergence,
                    "kl_log": lambda p, t: optax.losses.kl_divergence_with_log_targets(
                        p, jnp.log(t)
                    ),
                    "gkl": optax.losses.generalized_kl_divergence,
                }[name](preds[m], targets[m])
            )
    # [N, C] with a per-logit mask and integer labels, label gradient for soft.
    x = rng.standard_normal((4, 5)) * 2
    t = rng.dirichlet(np.ones(5), 4)
    li = rng.integers(0, 5, 4)
    m = rng.integers(0, 2, (4, 5)).astype(bool)
    m[:, 0] = True
    m[np.arange(4), li] = True
    out.update({"o2/x": x, "o2/t": t, "o2/li": li, "o2/mask": m})
    fns = {
        "sce": lambda a: optax.losses.softmax_cross_entropy(a, t, where=m),
        "sce_int": lambda a: optax.losses.softmax_cross_entropy_with_integer_labels(a, li, where=m),
        "poly": lambda a: optax.losses.poly_loss_cross_entropy(a, t, epsilon=1.5, where=m),
        "kl": lambda a: optax.losses.kl_divergence(jax.nn.log_softmax(a), t, where=m),
    }
    for name, fn in fns.items():
        out[f"o2/{name}"] = np.asarray(fn(x))
        out[f"o2/{name}/grad"] = _grad_sum(fn, x)


def _cosine(out, rng):
    a = rng.standard_normal((4, 6))
    b = rng.standard_normal((4, 6))
    m = rng.integers(0, 2, (4, 6)).astype(bool)
    m[:, 0] = True
    out.update({"cos/a": a, "cos/b": b, "cos/mask": m})
    for name, kw in {"plain": {}, "eps": {"epsilon": 0.5}, "where": {"where": m}}.items():
        for fn in ("cosine_similarity", "cosine_distance"):
            f = getattr(optax.losses, fn)
            g = lambda x, y, f=f, kw=kw: f(x, y, **kw)  # noqa: E731
            out[f"cos/{fn}/{name}"] = np.asarray(g(a, b))
            ga, gb = jax.grad(lambda x, y, g=g: jnp.sum(g(x, y)), argnums=(0, 1))(a, b)
            out[f"cos/{fn}/{name}/grad"] = np.asarray(ga)
            out[f"cos/{fn}/{name}/grad_t"] = np.asarray(gb)
    # Keras CosineSimilarity(axis=-1): -cos per sample.
    _keras(keras.losses.CosineSimilarity(reduction=None), b, a, out, "cos/keras")


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261203)
    out: dict[str, np.ndarray] = {}
    _binary_focal(out, rng)
    _softmax_focal(out, rng)
    _optax_where(out, rng)
    _cosine(out, rng)
    return out
