"""Cross-device triplet_loss (``axis_name``) under ``shard_map`` on 8 emulated CPU devices.

Runs in a subprocess with ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` so the
rest of the suite keeps one device. Each device's anchors are mined against the gathered
global batch; the global ``"mean"``/``"sum"``, the gradients and the per-anchor
``"none"`` must equal the single-device loss on the concatenated batch.
"""

from __future__ import annotations

from multidevice import run_on_eight_devices

BODY = """
    B, D = 16, 3
    x = rng.standard_normal((B, D)).astype(np.float32)
    labels = rng.integers(0, 4, B).astype(np.int32)
    labels[5] = 99  # an anchor without a positive anywhere in the global batch
    w = rng.uniform(0.5, 2.0, B).astype(np.float32)
    keep = rng.uniform(size=B) < 0.8
    cases = [dict(mining="batch_hard"), dict(mining="batch_all"), dict(mining="semi_hard"),
             dict(mining="batch_hard", soft_margin=True), dict(mining="batch_all", soft_margin=True),
             dict(mining="semi_hard", metric="cosine")]

    def loss(e, y, ww, m, axis, reduction, kw):
        return jaxloss.triplet_loss(e, y, margin=0.7, axis_name=axis, reduction=reduction, weights=ww, where=m, **kw)

    @jax.jit
    def single(e):
        out = []
        for kw in cases:
            for r in ("mean", "sum"):
                out.append(jax.value_and_grad(lambda v: loss(v, labels, w, keep, None, r, kw))(e))
            out.append(loss(e, labels, w, keep, None, "none", kw))
        return out

    def local(e, y, ww, m, kw, r):
        return loss(e, y, ww, m, "d", r, kw)

    @jax.jit
    def sharded(e):
        out = []
        spec = (P("d"),) * 4
        for kw in cases:
            for r in ("mean", "sum"):
                f = jax.shard_map(lambda *a, kw=kw, r=r: local(*a, kw, r), mesh=mesh, in_specs=spec, out_specs=P())
                out.append(jax.value_and_grad(lambda v: f(v, labels, w, keep))(e))
            f = jax.shard_map(lambda *a, kw=kw: local(*a, kw, "none"), mesh=mesh, in_specs=spec, out_specs=P("d"))
            out.append(f(e, labels, w, keep))
        return out

    ref, got = single(x), sharded(x)
    for i, (r, g) in enumerate(zip(jax.tree.leaves(ref), jax.tree.leaves(got))):
        np.testing.assert_allclose(g, r, rtol=2e-4, atol=2e-6, err_msg=str(i))
    print("OK")
    """


def test_axis_name_equals_single_device_on_concatenated_batch():
    run_on_eight_devices(BODY)
