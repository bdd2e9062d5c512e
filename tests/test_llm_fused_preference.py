"""The fused preference losses against Liger-Kernel goldens (values and gradients) and against
the sequence-level losses on materialised logits."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss
from jaxloss.llm import (
    fused_linear_cpo_loss,
    fused_linear_dpo_loss,
    fused_linear_orpo_loss,
    fused_linear_simpo_loss,
)

G = load("llm_fused_preference")
TOL = {"rtol": 2e-5, "atol": 2e-6}
# Tokens per chunk and vocabulary columns per tile that divide neither 20 tokens nor V = 11
# (vocabulary tiles on two cases only: each compiles a nested scan).
CHUNKS = {"chunk_size": 6, "vocab_chunk_size": 4}
TILED = ("dpo_ref", "orpo")

# Liger's options mapped (compute_nll_loss=True with alpha is nll_weight=alpha).
CASES = {
    "dpo_ref": (fused_linear_dpo_loss, {}),
    "dpo_options": (
        fused_linear_dpo_loss,
        {
            "loss_type": "robust",
            "label_smoothing": 0.1,
            "beta": 0.5,
            "nll_weight": 0.5,
            "average_log_prob": True,
        },
    ),
    "orpo": (fused_linear_orpo_loss, {"beta": 0.3}),
    "simpo": (
        fused_linear_simpo_loss,
        {"beta": 2.0, "gamma": 0.7, "label_smoothing": 0.1, "nll_weight": 0.5},
    ),
    "cpo": (fused_linear_cpo_loss, {"beta": 0.5, "label_smoothing": 0.1}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_against_liger(case):
    fn, options = CASES[case]
    if case == "dpo_ref":
        options = {
            "ref_hidden": G["ref_hidden"],
            "ref_weight": G["ref_weight"],
            "ref_bias": G["ref_bias"],
        }

    def loss(h, w, b):
        chunks = CHUNKS if case in TILED else {"chunk_size": 6}
        return fn(h, w, G["labels"], bias=b, **chunks, **options)

    value, grads = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))(
        *(G[k].astype(np.float32) for k in ("hidden", "weight", "bias"))
    )
    np.testing.assert_allclose(value, G[f"{case}/loss"], **TOL)
    for name, g in zip(("hidden", "weight", "bias"), grads):
        np.testing.assert_allclose(g, G[f"{case}/{name}"], **TOL, err_msg=name)


def _sequence_logps(h, w, y, average):
    """Log-probabilities from the materialised logits (a distinct code path)."""
    logp = jax.nn.log_softmax(h @ w, axis=-1)
    valid = y != -100
    lp = jnp.take_along_axis(logp, jnp.where(valid, y, 0)[..., None], axis=-1)[..., 0]
    lp = jnp.where(valid, lp, 0.0)
    total = jnp.sum(lp, axis=-1)
    count = jnp.sum(valid, axis=-1)
    return (total / jnp.maximum(count, 1) if average else total), lp, valid


def test_fused_equals_unfused_dpo_with_given_reference_and_masks():
    h, w, y = G["hidden"].astype(np.float32), G["weight"].astype(np.float32), G["labels"]
    ref = np.array([-20.0, -15.0], np.float32), np.array([-18.0, -9.0], np.float32)
    pair_weights = np.array([0.5, 2.0], np.float32)

    def fused(h, w):
        return fused_linear_dpo_loss(
            h,
            w,
            y,
            ref_chosen_logps=ref[0],
            ref_rejected_logps=ref[1],
            loss_type="ipo",
            nll_weight=0.3,
            weights=pair_weights,
            reduction="sum",
            chunk_size=6,
        )

    def unfused(h, w):
        seq, lp, valid = _sequence_logps(h, w, y, average=False)
        counts = jnp.sum(valid, axis=-1)
        pref = jaxloss.dpo_loss(
            seq[:2],
            seq[2:],
            *ref,
            loss_type="ipo",
            chosen_lengths=counts[:2],
            rejected_lengths=counts[2:],
            reduction="none",
        )
        # NLL per pair: the chosen tokens' NLL over the mean chosen-token count per pair.
        nll = -jnp.sum(lp[:2], axis=-1) / (jnp.sum(counts[:2]) / 2)
        return jnp.sum(pair_weights * (pref + 0.3 * nll))

    got, want = jax.jit(
        lambda h, w: (
            jax.value_and_grad(fused, (0, 1))(h, w),
            jax.value_and_grad(unfused, (0, 1))(h, w),
        )
    )(h, w)
    for x, r in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(x, r, rtol=1e-5, atol=1e-5)


def test_all_tokens_ignored_gives_zero_logps_and_finite_gradients():
    h, w = G["hidden"].astype(np.float32), G["weight"].astype(np.float32)
    y = np.full(G["labels"].shape, -100)

    def losses(h, w):
        return (
            fused_linear_simpo_loss(h, w, y, gamma=0.5, reduction="none"),
            fused_linear_dpo_loss(h, w, y, nll_weight=1.0, average_log_prob=True),
        )

    (simpo, dpo), grads = jax.jit(
        lambda h, w: (losses(h, w), jax.grad(lambda h, w: losses(h, w)[1], (0, 1))(h, w))
    )(h, w)
    # Every sequence log-probability is 0 and so is the NLL (Liger divides 0 by 0 there).
    np.testing.assert_allclose(simpo, jax.nn.softplus(0.5) * np.ones(2), rtol=1e-6)
    np.testing.assert_allclose(dpo, np.log(2.0), rtol=1e-6)
    for g in grads:
        np.testing.assert_array_equal(g, 0.0)


def test_reference_arguments_are_checked():
    h, w, y = G["hidden"], G["weight"], G["labels"]
    with pytest.raises(ValueError, match="fused_linear_dpo_loss: give the reference"):
        fused_linear_dpo_loss(h, w, y, ref_hidden=h)
    with pytest.raises(ValueError, match="odd"):
        fused_linear_orpo_loss(h[:3], w, y[:3])
