"""Goldens for the assorted wave-2 losses (API.md C24, E23, E25, E35, E39), float64.

- ``adaptive_log_softmax_loss`` (C24): torch 2.13 CPU ``nn.AdaptiveLogSoftmaxWithLoss``, its
  randomly initialised weights copied out (``head.weight``, ``head.bias``, ``tail[i][0].weight``,
  ``tail[i][1].weight``, stored transposed to jaxloss's ``[in, out]`` layout); the value is the
  module's ``loss`` (the mean), the per-token ``-output``, and the gradients of ``loss`` w.r.t.
  the input and every weight. Two modules: ``cutoffs=[3, 7]`` of 12 classes with
  ``div_value=2``, no head bias; ``cutoffs=[4]`` of 9 classes, default ``div_value=4``,
  ``head_bias=True``.
- ``make_fenchel_young_loss`` (E23): optax 0.2.8 ``losses.make_fenchel_young_loss`` with
  ``logsumexp`` and with ``max`` on ``[2, 3, 5]`` scores (leading axes vectorised), the per-row
  value and the gradient of its sum; plus optax's own test ``test_fenchel_young_reg`` inputs
  (``theta_random``, ``y_true``, ``y_one_hot``) with its two outputs.
- ``ctc_loss_with_forward_probs`` (E25): optax 0.2.8 ``losses.ctc_loss_with_forward_probs`` on
  optax's own test case ``CTCTest.test_with_one_to_one_alignment`` (its inputs are rebuilt in
  the test from the same legacy ``np.random.seed(1234)`` draws; the forward variables at four
  frames are stored, to keep the file small), and on a padded case with repeated labels,
  padded frames in the middle and padded label entries holding -1 and 0: every output and the
  gradient of the summed loss w.r.t. the logits.
- ``triplet_margin_loss(distance_function=...)`` (E35): torch 2.13
  ``nn.TripletMarginWithDistanceLoss(reduction="none")`` with the default distance
  (``pairwise_distance``), the L1 (Manhattan) distance with ``margin=0.5, swap=True`` and the
  cosine distance ``1 - cosine_similarity`` with ``margin=0.3``; values and gradients of the sum.
- ``weighted_kappa_loss`` (E39), **transcribed**: TF-Addons needs TensorFlow, which is not
  installable here. The expected values are computed below in NumPy from the formula of
  ``tensorflow_addons/losses/kappa_loss.py`` (92b99f1, ``WeightedKappaLoss.call``) as written in
  its docstring and API.md E39, written independently of jaxloss: the weight matrix from the
  label index against every class index, the numerator ``sum(W[y] * P)``, the denominator
  ``(hist_y @ W @ hist_p) / B``, ``divide_no_nan``, ``log(. + epsilon)``; gradients by central
  differences in float64. TF-Addons divides ``W`` by ``C - 1`` (linear) or ``(C - 1)**2``
  (quadratic) in both the numerator and ``weight_mat``; the factor cancels in the ratio and is
  kept below. No second anchor exists in the installed libraries; tests/test_assorted.py also
  checks TF-Addons' own documented example (-1.1611923).
"""

from __future__ import annotations

import jax
import numpy as np
import optax
import torch
import torch.nn.functional as F
from jax.scipy.special import logsumexp

jax.config.update("jax_enable_x64", True)
torch.set_default_dtype(torch.float64)


# --------------------------------------------------------------------------- C24


def _adaptive(out, key, rng, dim, n_classes, cutoffs, div_value, head_bias, labels):
    torch.manual_seed(int(rng.integers(1 << 30)))
    module = torch.nn.AdaptiveLogSoftmaxWithLoss(
        dim, n_classes, cutoffs, div_value=div_value, head_bias=head_bias
    )
    x = torch.tensor(rng.standard_normal((len(labels), dim)), requires_grad=True)
    result = module(x, torch.tensor(labels))
    result.loss.backward()
    out[f"{key}_hidden"] = x.detach().numpy()
    out[f"{key}_labels"] = np.asarray(labels, np.int32)
    out[f"{key}_loss"] = result.loss.detach().numpy()
    out[f"{key}_none"] = -result.output.detach().numpy()
    out[f"{key}_g_hidden"] = x.grad.numpy()
    out[f"{key}_head"] = module.head.weight.detach().numpy().T
    out[f"{key}_g_head"] = module.head.weight.grad.numpy().T
    if head_bias:
        out[f"{key}_bias"] = module.head.bias.detach().numpy()
        out[f"{key}_g_bias"] = module.head.bias.grad.numpy()
    for i, tail in enumerate(module.tail):
        for j in range(2):
            out[f"{key}_tail{i}{j}"] = tail[j].weight.detach().numpy().T
            out[f"{key}_g_tail{i}{j}"] = tail[j].weight.grad.numpy().T


# --------------------------------------------------------------------------- E23


def _fenchel_young(out, rng):
    scores = rng.standard_normal((2, 3, 5))
    targets = np.exp(rng.standard_normal((2, 3, 5)))
    targets /= targets.sum(-1, keepdims=True)
    out["fy_scores"], out["fy_targets"] = scores, targets
    for name, max_fun in (("lse", logsumexp), ("max", jax.numpy.max)):
        fy = optax.losses.make_fenchel_young_loss(max_fun)
        out[f"fy_{name}_none"] = np.asarray(fy(scores, targets))
        out[f"fy_{name}_g"] = np.asarray(jax.grad(lambda s, fy=fy: fy(s, targets).sum())(scores))
    # optax's own test (test_fenchel_young_reg), its inputs drawn here in float64.
    fy_loss = jax.jit(optax.losses.make_fenchel_young_loss(logsumexp))
    rngs = jax.random.split(jax.random.key(0), 2)
    theta_true = jax.random.uniform(rngs[0], (8, 5))
    y_true = jax.vmap(jax.nn.softmax)(theta_true)
    theta_random = jax.random.uniform(rngs[1], (8, 5))
    y_one_hot = jax.nn.one_hot(jax.numpy.argmax(theta_true, -1), 5)
    out["fy_optax_theta"] = np.asarray(theta_random)
    out["fy_optax_y_true"] = np.asarray(y_true)
    out["fy_optax_y_one_hot"] = np.asarray(y_one_hot)
    out["fy_optax_grad"] = np.asarray(jax.vmap(jax.grad(fy_loss))(theta_random, y_true))
    out["fy_optax_loss_one_hot"] = np.asarray(jax.vmap(fy_loss)(theta_random, y_one_hot))


# --------------------------------------------------------------------------- E25


def optax_one_to_one_case():
    """The inputs of optax's ``CTCTest.test_with_one_to_one_alignment`` (seed 1234, legacy RNG)."""
    np.random.seed(1234)
    batchsize, steps, nclasses = 8, 50, 40
    logits = np.random.randn(batchsize, steps, nclasses)
    labels = np.random.uniform(1, nclasses, size=(batchsize, steps)).astype(np.int32)
    for n in range(labels.shape[0]):
        for t in range(1, labels.shape[1]):
            while labels[n, t] == labels[n, t - 1]:
                labels[n, t] = np.random.uniform(1, nclasses)
    return logits, labels


FRAMES = np.array([0, 10, 25, 49])


def _ctc(out, rng):
    logits, labels = optax_one_to_one_case()
    loss, blank, emit = optax.losses.ctc_loss_with_forward_probs(
        logits, np.zeros(logits.shape[:2]), labels, np.zeros(labels.shape)
    )
    out["ctc_optax_loss"] = np.asarray(loss)
    out["ctc_optax_blank"] = np.asarray(blank)[FRAMES]
    out["ctc_optax_emit"] = np.asarray(emit)[FRAMES]

    b, t, k = 4, 7, 5
    logits = rng.standard_normal((b, t, k))
    logit_paddings = np.zeros((b, t))
    logit_paddings[1, 5:] = 1
    logit_paddings[2, 3] = 1  # a padded frame inside the sequence
    labels = np.array([[1, 1, 2, 3], [2, 3, 3, -1], [4, 0, 0, 0], [1, 2, 2, 2]], np.int32)
    label_paddings = np.array([[0, 0, 0, 0], [0, 0, 0, 1], [0, 1, 1, 1], [0, 0, 1, 1]], np.float64)
    for key, blank_id, labs in (
        ("ctc_pad", 0, labels),
        ("ctc_pad_b4", 4, np.where(labels == 4, 0, labels)),
    ):

        def f(x, labs=labs, blank_id=blank_id):
            return optax.losses.ctc_loss_with_forward_probs(
                x, logit_paddings, labs, label_paddings, blank_id=blank_id
            )

        loss, blank, emit = f(logits)
        out[f"{key}_labels"] = labs
        out[f"{key}_loss"], out[f"{key}_blank"], out[f"{key}_emit"] = map(
            np.asarray, (loss, blank, emit)
        )
        out[f"{key}_g"] = np.asarray(jax.grad(lambda x, f=f: f(x)[0].sum())(logits))
    out["ctc_pad_logits"], out["ctc_pad_logit_paddings"] = logits, logit_paddings
    out["ctc_pad_label_paddings"] = label_paddings


# --------------------------------------------------------------------------- E35


def _triplets(out, rng):
    a, p, n = (rng.standard_normal((6, 4)) for _ in range(3))
    out["tri_a"], out["tri_p"], out["tri_n"] = a, p, n
    cases = {
        "default": dict(),
        "l1": dict(distance_function=lambda x, y: (x - y).abs().sum(-1), margin=0.5, swap=True),
        "cos": dict(distance_function=lambda x, y: 1 - F.cosine_similarity(x, y), margin=0.3),
    }
    for key, kwargs in cases.items():
        ts = [torch.tensor(v, requires_grad=True) for v in (a, p, n)]
        loss = torch.nn.TripletMarginWithDistanceLoss(reduction="none", **kwargs)(*ts)
        loss.sum().backward()
        out[f"tri_{key}_none"] = loss.detach().numpy()
        for name, t in zip("apn", ts):
            out[f"tri_{key}_g_{name}"] = t.grad.numpy()


# --------------------------------------------------------------------------- E39 (transcribed)


def kappa_tfa(probs: np.ndarray, onehot: np.ndarray, weightage: str, epsilon: float) -> float:
    """TF-Addons ``WeightedKappaLoss.call``, transcribed to NumPy (float64)."""
    num_classes = probs.shape[1]
    label_index = onehot @ np.arange(num_classes, dtype=np.float64)  # cat_labels
    diff = label_index[:, None] - np.arange(num_classes)[None, :]
    scale = num_classes - 1 if weightage == "linear" else (num_classes - 1) ** 2
    weight = (np.abs(diff) if weightage == "linear" else diff**2) / scale
    numerator = np.sum(weight * probs)
    classes = np.arange(num_classes)
    weight_mat = classes[:, None] - classes[None, :]
    weight_mat = (np.abs(weight_mat) if weightage == "linear" else weight_mat**2) / scale
    denominator = np.sum(
        onehot.sum(0, keepdims=True) @ (weight_mat @ probs.sum(0, keepdims=True).T)
    )
    denominator /= probs.shape[0]
    ratio = numerator / denominator if denominator != 0 else 0.0
    return float(np.log(ratio + epsilon))


def _kappa(out, rng):
    b, c = 8, 5
    z = rng.standard_normal((b, c))
    probs = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    labels = rng.integers(0, c, b)
    onehot = np.eye(c)[labels]
    out["kappa_probs"], out["kappa_labels"] = probs, labels.astype(np.int32)
    h = 1e-6
    for weightage in ("quadratic", "linear"):
        for eps in (1e-6, 0.1):
            key = f"kappa_{weightage}_{eps:g}"
            out[key] = np.array(kappa_tfa(probs, onehot, weightage, eps))
            grad = np.zeros_like(probs)
            for i in range(b):
                for j in range(c):
                    step = np.zeros_like(probs)
                    step[i, j] = h
                    plus = kappa_tfa(probs + step, onehot, weightage, eps)
                    minus = kappa_tfa(probs - step, onehot, weightage, eps)
                    grad[i, j] = (plus - minus) / (2 * h)
            out[f"{key}_g"] = grad
    # Zero denominator (every label and every prediction on class 2): divide_no_nan gives log(eps).
    one = np.eye(c)[np.full(b, 2)]
    out["kappa_degenerate"] = np.array(kappa_tfa(one, one, "quadratic", 1e-6))


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261203)
    out: dict[str, np.ndarray] = {}
    _adaptive(out, "als_a", rng, 8, 12, [3, 7], 2.0, False, [0, 2, 3, 6, 7, 11, 1, 9, 4, 8])
    _adaptive(out, "als_b", rng, 8, 9, [4], 4.0, True, [0, 3, 4, 8, 5, 1])
    _fenchel_young(out, rng)
    _ctc(out, rng)
    _triplets(out, rng)
    _kappa(out, rng)
    return out
