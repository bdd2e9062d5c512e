"""Ring and all-gather SigLIP and InfoNCE/CLIP under ``shard_map`` on 8 emulated CPU devices.

Runs in a subprocess (``tests/multidevice.py``) so the rest of the suite keeps one
device; marked ``separate`` (``.ci/run`` runs it as a step of its own). For every
``cross_device`` form, with and without ``chunk_size``, the global ``"mean"``/``"sum"``
and the gradients (embeddings, temperature, scale, bias) equal the single-device dense
loss on the concatenated batch, and ``"none"`` is each device's share. The ring's
shard_map body never holds an ``[n, N]`` array.
"""

from __future__ import annotations

import pytest
from multidevice import run_on_eight_devices

pytestmark = pytest.mark.separate

BODY = """
    import re

    n, D = 3, 5  # 3 pairs per device, N = 24; chunk_size=2 does not divide 3
    N = 8 * n
    x, y = (rng.standard_normal((N, D)).astype(np.float32) for _ in range(2))
    w = rng.uniform(0.5, 2.0, N).astype(np.float32)
    idx = rng.integers(0, N, N).astype(np.int32)

    def siglip(x, y, w, i, t, a, mode, chunk, reduction, **kw):
        return jaxloss.siglip_loss(x, y, scale=t, bias=-2.0 * t, weights=w, axis_name=a, cross_device=mode,
                                   chunk_size=chunk, reduction=reduction, **kw)

    def infonce(x, y, w, i, t, a, mode, chunk, reduction, **kw):
        return jaxloss.infonce_loss(x, y, temperature=t, weights=w, axis_name=a, cross_device=mode,
                                    chunk_size=chunk, reduction=reduction, **kw)

    def infonce_idx(x, y, w, i, t, a, mode, chunk, reduction):
        return infonce(x, y, w, None, t, a, mode, chunk, reduction, positive_indices=i)

    def mnrl(x, y, w, i, t, a, mode, chunk, reduction):
        return jaxloss.multiple_negatives_ranking_loss(x, y, scale=t, weights=w, axis_name=a, cross_device=mode,
                                                       chunk_size=chunk, reduction=reduction)

    def mnsrl(x, y, w, i, t, a, mode, chunk, reduction):
        return jaxloss.multiple_negatives_symmetric_ranking_loss(
            x, y, scale=t, weights=w, axis_name=a, cross_device=mode, chunk_size=chunk, reduction=reduction)

    cases = {
        "mnrl": (mnrl, None, 5.0),
        "mnsrl": (mnsrl, None, 5.0),
        "siglip": (siglip, {}, 3.0),
        "clip": (infonce, {"symmetric": True, "similarity": "dot"}, 0.3),
        "infonce_idx": (infonce_idx, None, 0.3),
    }
    forms = [("ring", None), ("ring", 2), ("all_gather", 2)]
    for name, (fn, kw, t) in cases.items():
        kw = kw or {}

        @jax.jit
        def reference(x, y, t):
            mean = jax.value_and_grad(lambda x, y, t: fn(x, y, w, idx, t, None, "all_gather", None, "mean", **kw),
                                      (0, 1, 2))(x, y, t)
            return mean, fn(x, y, None, idx, t, None, "all_gather", None, "none", **kw)

        @jax.jit
        def sharded(x, y, t):
            out = []
            for mode, chunk in forms:
                def local(x, y, w, i, t, reduction):
                    return fn(x, y, w, i, t, "d", mode, chunk, reduction, **kw)

                specs = (P("d"), P("d"), P("d"), P("d"), P())
                mean = jax.shard_map(lambda *a: local(*a, "mean"), mesh=mesh, in_specs=specs, out_specs=P())
                none = jax.shard_map(lambda x, y, i, t: local(x, y, None, i, t, "none"), mesh=mesh,
                                     in_specs=(P("d"), P("d"), P("d"), P()), out_specs=P("d"))
                out.append((jax.value_and_grad(lambda x, y, t: mean(x, y, w, idx, t), (0, 1, 2))(x, y, t),
                            none(x, y, idx, t)))
            return out

        (ref_v, ref_g), ref_none = reference(x, y, t)
        for (mode, chunk), ((v, g), rows) in zip(forms, sharded(x, y, t)):
            what = f"{name} {mode} chunk={chunk}"
            np.testing.assert_allclose(v, ref_v, rtol=2e-5, atol=1e-6, err_msg=what)
            for gg, rg in zip(g, ref_g):  # x, y, temperature / scale
                np.testing.assert_allclose(gg, rg, rtol=2e-4, atol=2e-6, err_msg=what + " grad")
            np.testing.assert_allclose(rows, ref_none, rtol=2e-5, atol=1e-6, err_msg=what + " none")

    # The ring's per-device program holds [n, n] (or [n, chunk]) blocks, never [n, N].
    def shapes(jaxpr):  # every array shape the jaxpr prints, nested jaxprs included
        return {tuple(int(d) for d in m.split(",")) for m in re.findall(r"\\[(\\d+(?:,\\d+)*)\\]", str(jaxpr))}

    for mode, expect_wide in (("ring", False), ("all_gather", True)):
        body = lambda x, y: jax.lax.psum(
            jaxloss.infonce_loss(x, y, symmetric=True, axis_name="d", cross_device=mode, reduction="sum")
            + jaxloss.siglip_loss(x, y, axis_name="d", cross_device=mode, reduction="sum"), "d")
        fn = jax.shard_map(body, mesh=mesh, in_specs=(P("d"), P("d")), out_specs=P())
        found = shapes(jax.make_jaxpr(jax.grad(fn, (0, 1)))(x, y))
        assert ((n, N) in found) == expect_wide, (mode, sorted(found))
    print("OK")
    """


def test_ring_and_all_gather_equal_single_device_on_concatenated_batch():
    run_on_eight_devices(BODY)
