"""Goldens for the wave-2 ranking options and losses from rax 0.4.0 (values and score gradients).

Covers ``segments=`` on every rax loss (on a random batch and on the inputs of
rax's own ``test_computes_loss_value_with_segments[_and_mask]``), the pairwise
MSE / soft zero-one / quantile-regression losses, ``poly1_softmax_loss``,
``unique_softmax_loss``, ``listmle_loss(key=)``, the DCG / DCG2 / label-difference
lambdaweights and their use as ``lambdaweight_fn`` of the pairwise losses, and
``gumbel_t12n`` (``gumbel/<case>/{value,grad}``).
Keys: ``<case>/<variant>/{value,grad,none}`` (``none`` as rax returns it:
pair axes flattened) and ``lw/<case>/<variant>`` for the lambdaweights.
"""

from __future__ import annotations

import functools
import types

import jax

# rax 0.4's t12n uses jax.util.wraps, which newer JAX removed; this restores it (API.md E8).
jax.util = types.SimpleNamespace(wraps=lambda f, **k: functools.wraps(f))

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import rax  # noqa: E402
from rax._src import segment_utils  # noqa: E402

jax.config.update("jax_enable_x64", True)

KEY = 3  # jax.random.PRNGKey(KEY) for listmle's tie-break


def data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    scores = rng.standard_normal((3, 7))
    labels = rng.integers(0, 4, (3, 7)).astype(np.float64)
    labels[2, :3] = 0.0
    where = rng.uniform(size=(3, 7)) < 0.75
    where[1] = False  # a list with no valid item
    where[0, :2] = True
    weights = rng.uniform(0.5, 2.0, (3, 7))
    # Unsorted ids, a singleton segment, a segment whose items are all masked (row 0: id 5).
    segments = np.array([[0, 0, 1, 1, 1, 2, 5], [0, 1, 0, 1, 2, 2, 1], [3, 3, 1, 3, 1, 3, 3]])
    return {
        "scores": scores,
        "labels": labels,
        "where": where,
        "weights": weights,
        "segments": segments,
        # rax's own segment test inputs (losses_test.py, test_computes_loss_value_with_segments*)
        "rax/scores": np.array([0.0, 3.0, 1.0, 2.0, 4.0, 3.0, 0.0, 2.0, 0.0, 0.0]),
        "rax/labels": np.array([0.0, 1.0, 2.0, 1.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0]),
        "rax/segments": np.array([0, 0, 1, 1, 1, 2, 3, 3, 0, 0]),
        "rax/where": np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], bool),
    }


def losses() -> dict[str, tuple]:
    """case -> (rax loss, whether it takes weights)."""
    lw = rax.dcg_lambdaweight
    return {
        "pairwise_hinge": (rax.pairwise_hinge_loss, True),
        "pairwise_logistic": (rax.pairwise_logistic_loss, True),
        "pairwise_soft_zero_one": (rax.pairwise_soft_zero_one_loss, True),
        "pairwise_mse": (rax.pairwise_mse_loss, True),
        "pairwise_qr": (rax.pairwise_qr_loss, True),
        "pairwise_qr_t0.25_sq": (
            functools.partial(rax.pairwise_qr_loss, tau=0.25, squared=True),
            True,
        ),
        "softmax": (rax.softmax_loss, True),
        "softmax_normalized": (
            functools.partial(rax.softmax_loss, label_fn=rax.utils.normalize_probabilities),
            True,
        ),
        "poly1": (rax.poly1_softmax_loss, True),
        "poly1_e-0.5": (functools.partial(rax.poly1_softmax_loss, epsilon=-0.5), True),
        "unique_softmax": (rax.unique_softmax_loss, True),
        "unique_softmax_nogain": (functools.partial(rax.unique_softmax_loss, gain_fn=None), True),
        "listmle": (rax.listmle_loss, False),
        "listmle_key": (functools.partial(rax.listmle_loss, key=jax.random.PRNGKey(KEY)), False),
        "approx_ndcg": (rax.approx_t12n(rax.ndcg_metric), True),
        "logistic_dcg": (functools.partial(rax.pairwise_logistic_loss, lambdaweight_fn=lw), True),
        "logistic_dcg2": (
            functools.partial(rax.pairwise_logistic_loss, lambdaweight_fn=rax.dcg2_lambdaweight),
            True,
        ),
        "logistic_labeldiff": (
            functools.partial(
                rax.pairwise_logistic_loss, lambdaweight_fn=rax.labeldiff_lambdaweight
            ),
            True,
        ),
        "hinge_ndcg_top3": (
            functools.partial(
                rax.pairwise_hinge_loss,
                lambdaweight_fn=functools.partial(lw, topn=3, normalize=True),
            ),
            True,
        ),
    }


def lambdaweights() -> dict[str, object]:
    return {
        "dcg": rax.dcg_lambdaweight,
        "dcg_top2_norm": functools.partial(rax.dcg_lambdaweight, topn=2, normalize=True),
        "dcg2": rax.dcg2_lambdaweight,
        "dcg2_light": functools.partial(rax.dcg2_lambdaweight, light_discount=True),
        "dcg2_top2": functools.partial(rax.dcg2_lambdaweight, topn=2),
        "dcg2_norm": functools.partial(rax.dcg2_lambdaweight, normalize=True),
        "labeldiff": rax.labeldiff_lambdaweight,
    }


def variants(d: dict[str, np.ndarray], weighted: bool) -> dict[str, dict]:
    out = {
        "plain": {},
        "where": {"where": d["where"]},
        "segments": {"segments": d["segments"]},
        "segments_where": {"segments": d["segments"], "where": d["where"]},
    }
    if weighted:
        out["weights"] = {"weights": d["weights"]}
        out["segments_weights"] = {"segments": d["segments"], "weights": d["weights"]}
    return out


GUMBEL_KEY = 42


def gumbels() -> dict[str, tuple]:
    """case -> (rax.gumbel_t12n(...), whether it is called with where)."""
    return {
        "softmax": (rax.gumbel_t12n(rax.softmax_loss), True),
        "listmle_s4_b0.5": (rax.gumbel_t12n(rax.listmle_loss, samples=4, beta=0.5), True),
        "softmax_smooth": (rax.gumbel_t12n(rax.softmax_loss, smoothing_factor=1e-20), True),
        "approx_ndcg": (rax.gumbel_t12n(rax.approx_t12n(rax.ndcg_metric)), False),
    }


def _rowwise(fn):
    """rax's batched call, one list at a time.

    rax 0.4's ``poly1_softmax_loss`` with both ``segments`` and ``where`` fails on a
    batch (its all-masked fix-up broadcasts ``[batch]`` against ``[batch, list]``); the
    rows are independent, so the unreduced loss is computed per row with ``vmap`` and
    the mean taken over rax's own first-item segment mask.
    """

    def call(scores, labels, *, segments, where, reduce_fn=jnp.mean):
        none = jax.vmap(lambda s, y, g, w: fn(s, y, segments=g, where=w, reduce_fn=None))(
            scores, labels, segments, where
        )
        if reduce_fn is None:
            return none
        first = segment_utils.first_item_segment_mask(segments, where=where)
        return jnp.sum(none) / jnp.sum(first)

    return call


def generate() -> dict[str, np.ndarray]:
    d = data()
    out = dict(d)
    for name, (fn, weighted) in losses().items():
        runs = {v: (d["scores"], d["labels"], kw) for v, kw in variants(d, weighted).items()}
        runs["rax_segments"] = (
            d["rax/scores"][:8],
            d["rax/labels"][:8],
            {"segments": d["rax/segments"][:8]},
        )
        runs["rax_segments_where"] = (
            d["rax/scores"],
            d["rax/labels"],
            {"segments": d["rax/segments"], "where": d["rax/where"]},
        )
        for variant, (scores, labels, kwargs) in runs.items():
            call = _rowwise(fn) if name.startswith("poly1") and variant == "segments_where" else fn
            kw = {k: jnp.asarray(v) for k, v in kwargs.items()}
            f = lambda s, fn=call, kw=kw, labels=labels: fn(s, jnp.asarray(labels), **kw)  # noqa: E731
            value, grad = jax.value_and_grad(f)(jnp.asarray(scores))
            out[f"{name}/{variant}/value"] = np.asarray(value)
            out[f"{name}/{variant}/grad"] = np.asarray(grad)
            none = call(jnp.asarray(scores), jnp.asarray(labels), reduce_fn=None, **kw)
            out[f"{name}/{variant}/none"] = np.asarray(none)
    for name, (fn, masked) in gumbels().items():
        kw = {"where": jnp.asarray(d["where"])} if masked else {}
        f = lambda s, fn=fn, kw=kw: fn(  # noqa: E731
            s, jnp.asarray(d["labels"]), key=jax.random.PRNGKey(GUMBEL_KEY), **kw
        )
        value, grad = jax.value_and_grad(f)(jnp.asarray(d["scores"]))
        out[f"gumbel/{name}/value"] = np.asarray(value)
        out[f"gumbel/{name}/grad"] = np.asarray(grad)
    for name, fn in lambdaweights().items():
        for variant, kwargs in variants(d, True).items():
            kw = {k: jnp.asarray(v) for k, v in kwargs.items()}
            out[f"lw/{name}/{variant}"] = np.asarray(
                fn(jnp.asarray(d["scores"]), jnp.asarray(d["labels"]), **kw)
            )
    return out
