"""Large-vocabulary benchmark: per-token log-probabilities fused with the output projection (memory).

``fused_linear_logprobs_memory`` compares the compiled temporary memory of
``jax.value_and_grad`` w.r.t. ``hidden`` and ``weight`` of the sum of
:func:`jaxloss.llm.fused_linear_logprobs` (the sequence log-probability a
preference or policy loss consumes) with the unfused jitted computation (full
logits, ``log_softmax``, gather), for the default chunking, vocabulary chunks,
and with the entropy.
"""

from __future__ import annotations

from bench.harness import Scenario, jax_fwd_bwd
from bench.scenarios.fused import _inputs  # the same hidden, weight and labels (1 in 16 ignored)

FULL, QUICK = (4096, 256, 32768), (512, 16, 4096)  # tokens, hidden dim, vocabulary


def unfused_jax_logprobs(hidden, weight, labels, ignore_index: int = -100):
    """Plain-jnp selected log-probabilities of the full logits (0 at ignored tokens)."""
    import jax
    import jax.numpy as jnp

    logp = jax.nn.log_softmax(hidden @ weight, axis=-1)
    valid = labels != ignore_index
    lp = jnp.take_along_axis(logp, jnp.where(valid, labels, 0)[:, None], axis=-1)[:, 0]
    return jnp.where(valid, lp, 0.0)


def _runner(logprobs, quick: bool, **kwargs):
    import jax.numpy as jnp

    hidden, weight, labels = _inputs(QUICK if quick else FULL)
    y = jnp.asarray(labels)

    def loss(h, w):
        out = logprobs(h, w, y, **kwargs)
        return jnp.sum(out[0]) + jnp.sum(out[1]) if isinstance(out, tuple) else jnp.sum(out)

    return jax_fwd_bwd(loss, hidden, weight, argnums=(0, 1))


def _fused(**kwargs):
    def make(quick: bool):
        from jaxloss.llm import fused_linear_logprobs

        return _runner(fused_linear_logprobs, quick, **kwargs)

    return make


def unfused_jax(quick: bool):
    return _runner(unfused_jax_logprobs, quick)


def _shape(shape: tuple[int, int, int]) -> str:
    n, d, v = shape
    return (
        f"hidden [{n}, {d}], weight [{d}, {v}] f32, grads of sum(logprobs) w.r.t. both; f32 logits "
        f"{n * v * 4 / 2**20:g} MiB; jaxloss: default chunks (whole vocabulary per tile)"
    )


SCENARIOS = [
    Scenario(
        name="fused_linear_logprobs_memory",
        family="fused",
        shape=_shape(FULL),
        quick_shape=_shape(QUICK),
        impls={
            "jaxloss": _fused(),
            "vocab-chunk-4096": _fused(vocab_chunk_size=4096),
            "entropy": _fused(return_entropy=True),
            "unfused-jax": unfused_jax,
        },
        memory=True,
    ),
]

NOTES = """``fused_linear_logprobs_memory``: the backward pass recomputes each ``[chunk, vocab_chunk]``
tile of logits, so the temporary memory is about the float32 ``d weight`` accumulator ([D, V]) plus
``d hidden`` plus one or two tiles; the unfused step holds a few copies of the full logits.
"""
