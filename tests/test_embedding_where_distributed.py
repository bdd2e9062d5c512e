"""``where`` masks for the cross-device (``axis_name``) losses on 8 emulated CPU devices.

Complements ``test_embedding_pairs_distributed.py``/``test_embedding_softmax_distributed.py`` (which cover
values, gradients, ``"none"`` and ``weights``): here ``where`` (with and without
``weights``) masks every row of one device's shard, so that device contributes
nothing to the ``psum``-ed numerator and denominator. The global ``"mean"``/``"sum"``,
their gradients and the masked ``"none"`` must equal the single-device loss on the
concatenated batch, and a mask that is all ``False`` on every device must give ``0``
with zero gradients. Every loss with an ``axis_name`` parameter is listed in CASES.
"""

from __future__ import annotations

import inspect
import textwrap

from multidevice import run_on_eight_devices

import jaxloss

BODY = """
    B, D = 16, 5
    q, k, n, e = (rng.standard_normal((B, D)).astype(np.float32) for _ in range(4))
    n2 = rng.standard_normal((B, 2, D)).astype(np.float32)
    labels = rng.integers(0, 4, B).astype(np.int32)
    labels[5] = 99  # an anchor without a positive anywhere in the global batch
    w = rng.uniform(0.5, 2.0, B).astype(np.float32)
    keep = rng.uniform(size=B) < 0.7
    keep[:2] = False  # device 0's whole shard is masked
    keep[2] = True
    nothing = np.zeros(B, bool)

    CASES = {
        "infonce_loss": (lambda x, y, **kw: jaxloss.infonce_loss(x, y, temperature=0.3, **kw), (q, k)),
        "infonce_loss symmetric": (lambda x, y, **kw: jaxloss.infonce_loss(
            x, y, symmetric=True, similarity="dot", **kw), (q, k)),
        "supervised_contrastive_loss": (lambda x, y, **kw: jaxloss.supervised_contrastive_loss(
            x, y, temperature=0.2, **kw), (e, labels)),
        "multiple_negatives_ranking_loss": (lambda x, y, z, **kw: jaxloss.multiple_negatives_ranking_loss(
            x, y, z, scale=5.0, **kw), (q, k, n2)),
        "siglip_loss": (lambda x, y, **kw: jaxloss.siglip_loss(x, y, scale=3.0, bias=-1.0, **kw), (q, k)),
        "multiple_negatives_symmetric_ranking_loss": (lambda x, y, z, **kw: (
            jaxloss.multiple_negatives_symmetric_ranking_loss(x, y, z, scale=5.0, **kw)), (q, k, n2)),
        "multiple_negatives_bidirectional_ranking_loss": (lambda x, y, z, **kw: (
            jaxloss.multiple_negatives_bidirectional_ranking_loss(x, y, z, temperature=0.2, **kw)), (q, k, n2)),
        "gist_embed_loss": (lambda x, y, z, **kw: jaxloss.gist_embed_loss(x, y, z, temperature=0.2, **kw),
                            (q, k, n2)),
        "triplet_loss batch_hard": (lambda x, y, **kw: jaxloss.triplet_loss(x, y, margin=0.7, **kw), (e, labels)),
        "triplet_loss batch_all": (lambda x, y, **kw: jaxloss.triplet_loss(
            x, y, margin=0.7, mining="batch_all", **kw), (e, labels)),
        "triplet_loss semi_hard": (lambda x, y, **kw: jaxloss.triplet_loss(
            x, y, margin=0.7, mining="semi_hard", **kw), (e, labels)),
    }
    assert {c.split()[0] for c in CASES} == set(AXIS_LOSSES), (sorted(CASES), AXIS_LOSSES)

    def run(fn, data, ws, m, axis):
        # value and gradient of the "mean" and the "sum", and the "none" output
        floats = tuple(i for i, x in enumerate(data) if x.dtype == np.float32)
        extra = (ws, m) if ws is not None else (m,)

        def local(reduction, *xs):
            ws_, m_ = (xs[-2], xs[-1]) if ws is not None else (None, xs[-1])
            return fn(*xs[:len(data)], reduction=reduction, weights=ws_, where=m_, axis_name=axis)

        def loss(reduction):
            if axis is None:
                return lambda *xs: local(reduction, *xs)
            return jax.shard_map(lambda *xs: local(reduction, *xs), mesh=mesh,
                                 in_specs=tuple(P("d") for _ in data + extra),
                                 out_specs=P("d") if reduction == "none" else P())

        def grads(reduction, *xs):
            return jax.value_and_grad(lambda *ds: loss(reduction)(*[
                ds[floats.index(i)] if i in floats else x for i, x in enumerate(xs)], *extra),
                argnums=tuple(range(len(floats))))(*[xs[i] for i in floats])

        return jax.jit(lambda *xs: (grads("mean", *xs), grads("sum", *xs),
                                    loss("none")(*xs, *extra)))(*data)

    failures = []
    for name, (fn, data) in CASES.items():
        for label, ws, m in (("where", None, keep), ("weights+where", w, keep), ("all masked", w, nothing)):
            ref, got = run(fn, data, ws, m, None), run(fn, data, ws, m, "d")
            try:
                for i, (r, g) in enumerate(zip(jax.tree.leaves(ref), jax.tree.leaves(got))):
                    np.testing.assert_allclose(g, r, rtol=2e-5, atol=2e-6, err_msg=f"leaf {i}")
                if label == "all masked":
                    for g in jax.tree.leaves(got):
                        np.testing.assert_array_equal(g, 0.0)
            except AssertionError as err:
                failures.append(f"{name} ({label}): {err}")
    print("\\n".join(failures))
    assert not failures
    print("OK")
    """


def _axis_losses() -> list[str]:
    # Wave-2 losses whose where-mask case is still to be written (issue 19, next session).
    pending = {"bco_loss", "coca_loss", "dino_loss", "grpo_loss", "ibot_patch_loss", "swav_loss", "kto_kl_estimate",
               "fused_linear_grpo_loss"}
    return sorted(n for n in jaxloss.available()
                  if "axis_name" in inspect.signature(jaxloss.get(n)).parameters and n not in pending)


def test_where_and_all_masked_equal_single_device_on_concatenated_batch():
    run_on_eight_devices(f"AXIS_LOSSES = {_axis_losses()!r}\n" + textwrap.dedent(BODY))
