"""Large-vocabulary benchmarks: cross-entropy fused with the output projection, forward + backward.

``fused_linear_ce`` times ``jax.value_and_grad`` w.r.t. ``hidden`` and
``weight`` (mean over tokens) of :func:`jaxloss.fused_linear_cross_entropy`
against the unfused jitted JAX computation (full logits, ``log_softmax``,
gather) and PyTorch's ``F.cross_entropy(h @ W, y)`` with autograd.
``fused_linear_ce_memory`` (a memory scenario) compares the compiled temporary
memory of the same step for several chunk sizes and for the unfused computation.
"""

from __future__ import annotations

import numpy as np

from bench.harness import Scenario, jax_fwd_bwd, torch_fwd_bwd

FULL, QUICK = (4096, 256, 32768), (512, 64, 4096)  # tokens, hidden dim, vocabulary
MEM_FULL, MEM_QUICK = (8192, 256, 32768), (1024, 16, 16384)
MEM_CHUNKS = (64, 128, 1024)  # besides the default, jaxloss.fused.default_chunk_size(tokens, vocab)


def _inputs(shape: tuple[int, int, int]):
    n, d, v = shape
    rng = np.random.default_rng(0)
    hidden = rng.standard_normal((n, d)).astype(np.float32)
    weight = (rng.standard_normal((d, v)) / np.sqrt(d)).astype(np.float32)
    labels = rng.integers(0, v, n).astype(np.int32)
    labels[::16] = -100  # some padding tokens, as in language-model batches
    return hidden, weight, labels


def _jax_runner(loss, shape: tuple[int, int, int], **kwargs):
    import jax.numpy as jnp

    hidden, weight, labels = _inputs(shape)
    y = jnp.asarray(labels)
    return jax_fwd_bwd(lambda h, w: loss(h, w, y, **kwargs), hidden, weight, argnums=(0, 1))


def unfused_jax_loss(hidden, weight, labels, ignore_index: int = -100):
    """Plain-jnp cross-entropy of the full logits, mean over non-ignored tokens."""
    import jax
    import jax.numpy as jnp

    logp = jax.nn.log_softmax(hidden @ weight, axis=-1)
    valid = labels != ignore_index
    safe = jnp.where(valid, labels, 0)
    nll = -jnp.take_along_axis(logp, safe[:, None], axis=-1)[:, 0]
    return jnp.sum(jnp.where(valid, nll, 0.0)) / jnp.sum(valid).astype(nll.dtype)


def fused_jaxloss(quick: bool, chunk_size: int | None = None):
    import jaxloss

    return _jax_runner(jaxloss.fused_linear_cross_entropy, QUICK if quick else FULL, chunk_size=chunk_size)


def unfused_jax(quick: bool):
    return _jax_runner(unfused_jax_loss, QUICK if quick else FULL)


def unfused_torch(quick: bool):
    import torch
    import torch.nn.functional as F

    hidden, weight, labels = _inputs(QUICK if quick else FULL)
    y = torch.tensor(labels).long()
    return torch_fwd_bwd(
        lambda h, w: F.cross_entropy(h @ w, y, ignore_index=-100),
        torch.tensor(hidden, requires_grad=True), torch.tensor(weight, requires_grad=True),
    )


def _fused_memory(chunk_size: int | None):
    def make(quick: bool):
        import jaxloss

        return _jax_runner(jaxloss.fused_linear_cross_entropy, MEM_QUICK if quick else MEM_FULL,
                           chunk_size=chunk_size)

    return make


def unfused_jax_memory(quick: bool):
    return _jax_runner(unfused_jax_loss, MEM_QUICK if quick else MEM_FULL)


def _memory_shape(shape: tuple[int, int, int]) -> str:
    n, d, v = shape
    return (f"hidden [{n}, {d}], weight [{d}, {v}] f32, grads w.r.t. both; f32 logits {n * v * 4 / 2**20:g} MiB "
            "(target: fused temp below 1/8 of that); jaxloss: the default chunk_size")


SCENARIOS = [
    Scenario(
        name="fused_linear_ce",
        family="fused",
        shape=f"hidden [{FULL[0]}, {FULL[1]}], weight [{FULL[1]}, {FULL[2]}] f32, grads w.r.t. both",
        quick_shape=f"hidden [{QUICK[0]}, {QUICK[1]}], weight [{QUICK[1]}, {QUICK[2]}] f32",
        impls={"jaxloss": fused_jaxloss, "unfused-jax": unfused_jax, "torch": unfused_torch},
        target="<= 1.3x unfused-jax",
    ),
    Scenario(
        name="fused_linear_ce_memory",
        family="fused",
        shape=_memory_shape(MEM_FULL),
        quick_shape=_memory_shape(MEM_QUICK),
        impls={"jaxloss": _fused_memory(None), **{f"chunk-{c}": _fused_memory(c) for c in MEM_CHUNKS},
               "unfused-jax": unfused_jax_memory},
        memory=True,
    ),
]

NOTES = """``fused_linear_ce_memory``: the temporary memory of the fused step has a floor of about the
float32 ``d weight`` accumulator ([D, V]) plus ``d hidden``, and the chunk adds about one float32
``[chunk, V]`` buffer; the unfused step holds about 3 times the full logits. The default chunk
(``jaxloss.fused.default_chunk_size``) is the largest power of two whose f32 logits chunk stays
within 32 MiB: on CPU, chunks from 128 up run equally fast within noise. The mean/sum path forms
the gradients while the forward pass holds each chunk's logits (3 matmuls, like the unfused
computation); ``reduction="none"`` recomputes the logits in the backward pass (4 matmuls).
"""
