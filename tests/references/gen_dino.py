"""Goldens for DINO, iBOT, SwAV, Sinkhorn-Knopp and CoCa (torch 2.13 CPU, float64).

The facebookresearch repositories are not installable; their own code is RUN here from
checkouts OUTSIDE this repository (flag: vend), and only the values it produces are
committed. Point the generator at the checkouts (defaults in brackets):

- ``DINO_REPO`` [/tmp/vend/dino]: facebookresearch/dino at 7c446df5b9f45747937fb0d72314eb9f7b66930a.
  The class ``DINOLoss`` is taken from ``main_dino.py`` by its source (the module imports
  torchvision and the repository's ``utils``) and executed with a one-process stand-in for
  ``torch.distributed`` (``all_reduce`` is the identity, ``get_world_size() == 1``).
- ``DINOV2_REPO`` [/tmp/vend/dinov2]: facebookresearch/dinov2 at b8931f7bf91576930313be2c6d6af376033b35f0.
  ``dinov2/loss/ibot_patch_loss.py`` and ``dinov2/loss/dino_clstoken_loss.py`` are loaded as
  modules (xformers absent: their plain ``lossfunc``; ``dist`` not initialised).
- ``SWAV_REPO`` [/tmp/vend/swav]: facebookresearch/swav at 06b1b7cbaf6ba2a792300d79c7299db98b93b7f9.
  The function ``distributed_sinkhorn`` is taken from ``main_swav.py`` by its source and run
  with ``args`` (``epsilon``, ``sinkhorn_iterations``, ``world_size=1``) and the same
  ``dist`` stand-in. The swapped-prediction loop sits inside ``train()`` and cannot be
  called: it is TRANSCRIBED below (``_swav_loss``; lines "swav loss" of ``main_swav.py``),
  around the real ``distributed_sinkhorn`` (flag: transcribe for the loop only).

How each anchor is driven:

- DINO ``DINOLoss(out_dim=K, ncrops=V, warmup_teacher_temp=tau_t, teacher_temp=tau_t,
  warmup_teacher_temp_epochs=0, nepochs=1, student_temp, center_momentum)``; its
  ``center`` buffer set to the test centre; ``forward(student.flatten, teacher.flatten,
  epoch=0)`` gives the loss, the buffer afterwards the new centre. Per-image terms:
  ``forward`` on each image alone (the loss is a mean over images).
- DINO with DINOv2's Sinkhorn centering: DINOv2 ``DINOLoss.sinkhorn_knopp_teacher`` on the
  flat ``[G*B, K]`` teacher, then the DINO pair mean (v != g) of DINOv2 ``DINOLoss.forward``
  called on one (student crop, teacher crop) pair at a time.
- iBOT: DINOv2 ``iBOTPatchLoss(K, student_temp, center_momentum)``, centre buffer set;
  ``softmax_center_teacher(t[masks][None], tau_t)``, ``forward_masked(s[masks], q, masks)``,
  then ``update_center(t[masks][None])`` + ``apply_center_update()`` for the new centre.
- Sinkhorn-Knopp: SwAV ``distributed_sinkhorn`` (also = DINOv2 ``sinkhorn_knopp_teacher``);
  plus ott-jax 0.6 ``sinkhorn`` on ``Geometry(cost_matrix=-scores, epsilon)`` with uniform
  marginals, run to ``threshold=1e-10`` (the fixed point: codes = B * plan).
- CoCa: open_clip 3.3.0 ``CoCaLoss(caption_loss_weight, clip_loss_weight, pad_id)`` from
  its ``loss.py`` loaded on its own (``open_clip/__init__`` needs torchvision's compiled
  ops); ``logit_scale = 1 / temperature``; ``"cosine"`` cases pass ``F.normalize``-d
  features (open_clip's model normalises), ``"dot"`` cases raw features.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import pathlib
import types

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

torch.set_default_dtype(torch.float64)

V, G, B, K = 4, 2, 3, 5  # crops, global crops, images, prototypes
N = 4  # patches per image


def _repo(env: str, default: str) -> pathlib.Path:
    path = pathlib.Path(os.environ.get(env, default))
    assert path.exists(), f"{env}: no checkout at {path} (see this module's docstring)"
    return path


class _Dist:
    """One-process stand-in for ``torch.distributed``."""

    @staticmethod
    def all_reduce(x, *args, **kwargs):
        return None

    @staticmethod
    def get_world_size():
        return 1

    @staticmethod
    def is_initialized():
        return False


def _extract(path: pathlib.Path, name: str, namespace: dict) -> object:
    """Executes the top-level definition ``name`` of ``path`` in ``namespace``."""
    tree = ast.parse(path.read_text())
    node = next(
        n for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and n.name == name
    )
    exec(compile(ast.Module(body=[node], type_ignores=[]), str(path), "exec"), namespace)
    return namespace[name]


def _module(path: pathlib.Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _t(x, grad=True):
    return torch.tensor(np.asarray(x, np.float64), requires_grad=grad)


def _np(x):
    return x.detach().numpy().astype(np.float64)


# --------------------------------------------------------------------------- DINO


def _dino(out, rng):
    dino_loss_cls = _extract(
        _repo("DINO_REPO", "/tmp/vend/dino") / "main_dino.py",
        "DINOLoss",
        {"torch": torch, "nn": nn, "F": F, "np": np, "dist": _Dist},
    )
    s = 2.0 * rng.standard_normal((V, B, K))
    t = 2.0 * rng.standard_normal((G, B, K))
    c = 0.5 * rng.standard_normal(K)
    out.update(d_s=s, d_t=t, d_c=c, d_t_sk=0.5 * rng.standard_normal((G, B, K)))
    cases = {"dino": (0.1, 0.04, 0.9), "dino_opts": (0.2, 0.07, 0.5)}
    for key, (tau_s, tau_t, m) in cases.items():

        def run(s_np, t_np, tau_s=tau_s, tau_t=tau_t, m=m):
            loss = dino_loss_cls(K, V, tau_t, tau_t, 0, 1, student_temp=tau_s, center_momentum=m)
            loss.center = torch.tensor(c[None])
            student = _t(s_np.reshape(-1, K))
            value = loss(student, _t(t_np.reshape(-1, K), grad=False), 0)
            return value, student, loss.center

        value, student, center = run(s, t)
        value.backward()
        out[key] = _np(value)
        out[f"{key}_g0"] = _np(student.grad).reshape(V, B, K)
        out[f"{key}_center"] = _np(center)[0]
        out[f"{key}_rows"] = np.array(
            [_np(run(s[:, b : b + 1], t[:, b : b + 1])[0]) for b in range(B)]
        )
        out[f"{key}_params"] = np.array([tau_s, tau_t, m])


def _dino_sinkhorn(out):
    dinov2 = _module(
        _repo("DINOV2_REPO", "/tmp/vend/dinov2") / "dinov2" / "loss" / "dino_clstoken_loss.py",
        "dinov2_dino_clstoken_loss",
    )
    # DINOv2 casts the teacher to float32 before exp(t / tau_t): |t| / tau_t stays well
    # below 88 here (a larger teacher overflows to NaN in the anchor).
    s, t = out["d_s"], out["d_t_sk"]
    tau_s, tau_t = 0.1, 0.04
    loss = dinov2.DINOLoss(K, student_temp=tau_s)
    q = loss.sinkhorn_knopp_teacher(_t(t.reshape(-1, K), grad=False), tau_t, n_iterations=3)
    q = q.reshape(G, B, K)
    student = _t(s)
    total, pairs = 0.0, 0
    for g in range(G):
        for v in range(V):
            if v != g:
                total = total + loss([student[v]], [q[g]])
                pairs += 1
    value = total / pairs
    value.backward()
    out["dino_sk"] = _np(value)
    out["dino_sk_g0"] = _np(student.grad)
    out["dino_sk_q"] = _np(q)


# --------------------------------------------------------------------------- iBOT


def _ibot(out, rng):
    ibot = _module(
        _repo("DINOV2_REPO", "/tmp/vend/dinov2") / "dinov2" / "loss" / "ibot_patch_loss.py",
        "dinov2_ibot_patch_loss",
    )
    s = 2.0 * rng.standard_normal((B, N, K))
    t = 2.0 * rng.standard_normal((B, N, K))
    c = 0.5 * rng.standard_normal(K)
    masks = np.array(
        [[True, False, True, True], [False, False, False, False], [False, True, False, False]]
    )
    out.update(i_s=s, i_t=t, i_c=c, i_masks=masks)
    cases = {"ibot": (0.1, 0.04, 0.9), "ibot_opts": (0.2, 0.07, 0.5)}
    for key, (tau_s, tau_t, m) in cases.items():
        loss = ibot.iBOTPatchLoss(K, student_temp=tau_s, center_momentum=m)
        loss.center = torch.tensor(c[None, None])
        mt = torch.tensor(masks)
        student = _t(s)
        teacher = _t(t, grad=False)[mt]
        q = loss.softmax_center_teacher(teacher[None], teacher_temp=tau_t).squeeze(0)
        value = loss.forward_masked(student[mt], q, student_masks_flat=mt)
        value.backward()
        loss.update_center(teacher[None])
        loss.apply_center_update()
        out[key] = _np(value)
        out[f"{key}_g0"] = _np(student.grad)
        out[f"{key}_center"] = _np(loss.center).reshape(K)
        out[f"{key}_params"] = np.array([tau_s, tau_t, m])


# --------------------------------------------------------------------------- SwAV


def _sinkhorn_fn(epsilon, iterations):
    args = types.SimpleNamespace(epsilon=epsilon, sinkhorn_iterations=iterations, world_size=1)
    return _extract(
        _repo("SWAV_REPO", "/tmp/vend/swav") / "main_swav.py",
        "distributed_sinkhorn",
        {"torch": torch, "dist": _Dist, "args": args},
    )


def _sinkhorn(out, rng):
    scores = rng.standard_normal((6, 4))
    out["sk_scores"] = scores
    for key, eps, iters in (("sk", 0.05, 3), ("sk_opts", 0.5, 7), ("sk_zero", 0.3, 0)):
        with torch.no_grad():
            out[key] = _np(_sinkhorn_fn(eps, iters)(torch.tensor(scores)))
        out[f"{key}_params"] = np.array([eps, iters])
    # |scores| / epsilon up to ~400: float32 exp would overflow (float64 does not).
    big = 20.0 * rng.standard_normal((5, 3))
    out["sk_big_scores"] = big
    with torch.no_grad():
        out["sk_big"] = _np(_sinkhorn_fn(0.05, 3)(torch.tensor(big)))
    # The fixed point at many iterations: ott's entropic plan between uniform marginals.
    import jax

    jax.config.update("jax_enable_x64", True)
    from ott.geometry import geometry
    from ott.problems.linear import linear_problem
    from ott.solvers.linear import sinkhorn

    eps = 0.5
    geom = geometry.Geometry(cost_matrix=-np.asarray(scores), epsilon=eps)
    solved = sinkhorn.Sinkhorn(threshold=1e-12, max_iterations=20000)(
        linear_problem.LinearProblem(geom)
    )
    out["sk_ott"] = np.asarray(solved.matrix, np.float64) * scores.shape[0]
    out["sk_ott_eps"] = np.array(eps)


def _swav_loss(scores, temperature, epsilon, iterations, crops_for_assign, queue=None):
    """main_swav.py's "swav loss" block (transcribed), with ``output`` = the flat scores and
    ``queue[i] @ prototypes.T`` given as ``queue[i]`` (scores of the queued features)."""
    n_crops, bs, _ = scores.shape
    output = scores.reshape(n_crops * bs, -1)
    distributed_sinkhorn = _sinkhorn_fn(epsilon, iterations)
    loss = 0
    for i, crop_id in enumerate(crops_for_assign):
        with torch.no_grad():
            out = output[bs * crop_id : bs * (crop_id + 1)].detach()
            if queue is not None:
                out = torch.cat((queue[i], out))
            q = distributed_sinkhorn(out)[-bs:]
        subloss = 0
        for v in np.delete(np.arange(n_crops), crop_id):
            x = output[bs * v : bs * (v + 1)] / temperature
            subloss -= torch.mean(torch.sum(q * F.log_softmax(x, dim=1), dim=1))
        loss += subloss / (n_crops - 1)
    return loss / len(crops_for_assign)


def _swav(out, rng):
    scores = rng.standard_normal((3, B + 1, K))
    queue = rng.standard_normal((2, 6, K))
    out.update(sw_scores=scores, sw_queue=queue)
    cases = {
        "swav": (0.1, 0.05, 3, (0, 1), False),
        "swav_opts": (0.3, 0.2, 5, (2,), False),
        "swav_queue": (0.1, 0.05, 3, (0, 1), True),
    }
    for key, (tau, eps, iters, crops, use_queue) in cases.items():
        student = _t(scores)
        value = _swav_loss(
            student, tau, eps, iters, crops, torch.tensor(queue) if use_queue else None
        )
        value.backward()
        out[key] = _np(value)
        out[f"{key}_g0"] = _np(student.grad)


# --------------------------------------------------------------------------- CoCa


def _coca_class():
    spec = importlib.util.find_spec("open_clip")
    assert spec is not None and spec.submodule_search_locations
    path = pathlib.Path(next(iter(spec.submodule_search_locations))) / "loss.py"
    return _module(path, "open_clip_loss").CoCaLoss


def _coca(out, rng):
    coca = _coca_class()
    n, d, tokens, vocab = 4, 5, 6, 7
    x, y = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    y[1] = x[1] + 0.1 * rng.standard_normal(d)
    logits = rng.standard_normal((n, tokens, vocab))
    labels = rng.integers(1, vocab, (n, tokens))
    labels[0, 4:] = 0
    labels[2, 2:] = 0
    labels[3, 5] = 3  # with pad_id=3 this token is padding
    out.update(c_x=x, c_y=y, c_logits=logits, c_labels=labels)
    # key -> (temperature, clip_weight, caption_weight, pad_id, normalise)
    cases = {
        "coca": (0.07, 1.0, 2.0, 0, True),
        "coca_dot": (0.5, 1.0, 2.0, 0, False),
        "coca_opts": (0.2, 0.5, 1.5, 3, True),
    }
    for key, (tau, w_clip, w_cap, pad, normalise) in cases.items():
        xt, yt, lt = _t(x), _t(y), _t(logits)
        scale = _t(1.0 / tau)
        loss = coca(caption_loss_weight=w_cap, clip_loss_weight=w_clip, pad_id=pad)
        fx, fy = (F.normalize(xt, dim=-1), F.normalize(yt, dim=-1)) if normalise else (xt, yt)
        clip, caption = loss(fx, fy, lt, torch.tensor(labels), scale)
        value = clip + caption
        value.backward()
        out[key] = _np(value)
        out[f"{key}_clip"], out[f"{key}_caption"] = _np(clip), _np(caption)
        for i, g in enumerate((xt.grad, yt.grad, lt.grad)):
            out[f"{key}_g{i}"] = _np(g)
        # d/d temperature = d/d scale * d scale / d temperature = -scale.grad / tau**2
        out[f"{key}_gtau"] = -_np(scale.grad) / tau**2
        out[f"{key}_params"] = np.array([tau, w_clip, w_cap, pad])


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20260312)
    out: dict[str, np.ndarray] = {}
    _dino(out, rng)
    _dino_sinkhorn(out)
    _ibot(out, rng)
    _sinkhorn(out, rng)
    _swav(out, rng)
    _coca(out, rng)
    return out
