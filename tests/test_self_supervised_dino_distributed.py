"""DINO, iBOT, SwAV, Sinkhorn-Knopp and CoCa with ``axis_name`` under ``shard_map`` on 8 emulated
CPU devices equal the single-device value on the concatenated batch (a subprocess, marker
``separate``)."""

from __future__ import annotations

from multidevice import run_on_eight_devices

# --------------------------------------------------------------------------- axis_name
DISTRIBUTED = """
    V, G, B, K, N = 3, 2, 16, 5, 4
    s = rng.standard_normal((V, B, K)).astype(np.float32)
    t = rng.standard_normal((G, B, K)).astype(np.float32)
    c = rng.standard_normal(K).astype(np.float32)
    ps, pt = rng.standard_normal((2, B, N, K)).astype(np.float32)
    masks = rng.uniform(size=(B, N)) < 0.4
    x, y = rng.standard_normal((2, B, 3)).astype(np.float32)
    logits = rng.standard_normal((B, 4, 6)).astype(np.float32)
    labels = rng.integers(0, 6, (B, 4)).astype(np.int32)
    queue = rng.standard_normal((1, 8, K)).astype(np.float32)

    def run(fn, data, specs, out):
        ref = jax.jit(lambda *d: fn(*d, None))(*data)
        got = jax.jit(jax.shard_map(lambda *d: fn(*d, "d"), mesh=mesh, in_specs=specs, out_specs=out))(*data)
        for r, g in zip(jax.tree.leaves(ref), jax.tree.leaves(got)):
            np.testing.assert_allclose(g, r, rtol=2e-5, atol=2e-6)

    b = P(None, "d")
    run(lambda x, a: jaxloss.sinkhorn_knopp(x, axis_name=a), (s[0],), (P("d"),), P("d"))
    run(lambda x, a: jax.value_and_grad(lambda x: jaxloss.swav_loss(x, axis_name=a))(x), (s,), (b,), (P(), b))
    run(lambda x, q, a: jaxloss.swav_loss(x, crops_for_assign=(1,), queue_scores=q, axis_name=a),
        (s, queue), (b, P(None, "d")), P())
    for centering in ("ema", "sinkhorn_knopp"):
        run(lambda s, t, a: jax.value_and_grad(lambda s: jaxloss.dino_loss(
            s, t, c, centering=centering, teacher_temperature=0.5, axis_name=a), has_aux=True)(s),
            (s, t), (b, b), ((P(), P()), b))
    run(lambda s, t, m, a: jaxloss.ibot_patch_loss(s, t, m, c, axis_name=a), (ps, pt, masks),
        (P("d"), P("d"), P("d")), (P(), P()))
    run(lambda x, y, l, z, a: jax.value_and_grad(lambda x: jaxloss.coca_loss(x, y, l, z, axis_name=a))(x),
        (x, y, logits, labels), (P("d"),) * 4, (P(), P("d")))
    print("OK")
"""


def test_axis_name_equals_single_device():
    run_on_eight_devices(DISTRIBUTED)
