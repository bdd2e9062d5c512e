"""Cross-device (``axis_name``) contrastive losses under ``shard_map`` on 8 emulated CPU devices.

Runs in a subprocess with ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` so
the rest of the suite keeps one device. The global ``"mean"``/``"sum"`` and the
gradients must equal the single-device loss on the concatenated batch.
"""

from __future__ import annotations

from multidevice import run_on_eight_devices

BODY = """
    B, D = 16, 5
    q, k, n = (rng.standard_normal((B, D)).astype(np.float32) for _ in range(3))
    n2 = rng.standard_normal((B, 2, D)).astype(np.float32)
    labels = rng.integers(0, 5, B).astype(np.int32)
    labels[3] = 99  # an anchor without a positive anywhere in the global batch
    w = rng.uniform(0.5, 2.0, B).astype(np.float32)
    idx = rng.integers(0, B, B).astype(np.int32)

    cases = {
        "infonce": (lambda x, y, r, a, ww: jaxloss.infonce_loss(x, y, temperature=0.3, axis_name=a,
                                                                reduction=r, weights=ww), (q, k)),
        "infonce_sym_dot": (lambda x, y, r, a, ww: jaxloss.infonce_loss(
            x, y, symmetric=True, similarity="dot", axis_name=a, reduction=r, weights=ww), (q, k)),
        "infonce_idx": (lambda x, y, r, a, ww: jaxloss.infonce_loss(
            x, y, positive_indices=idx[:x.shape[0]] if a is None else
            jax.lax.dynamic_slice_in_dim(idx, jax.lax.axis_index(a) * x.shape[0], x.shape[0]),
            axis_name=a, reduction=r, weights=ww), (q, k)),
        "supcon": (lambda x, y, r, a, ww: jaxloss.supervised_contrastive_loss(
            x, y, temperature=0.2, axis_name=a, reduction=r, weights=ww), (q, labels)),
        "mnrl": (lambda x, y, z, r, a, ww: jaxloss.multiple_negatives_ranking_loss(
            x, y, z, axis_name=a, reduction=r, weights=ww), (q, k, n)),
        "mnrl_k": (lambda x, y, z, r, a, ww: jaxloss.multiple_negatives_ranking_loss(
            x, y, z, scale=5.0, axis_name=a, reduction=r, weights=ww), (q, k, n2)),
    }
    for name, (fn, data) in cases.items():
        floats = tuple(i for i, x in enumerate(data) if x.dtype == np.float32)
        for reduction, weights in (("mean", w), ("sum", None)):
            def single(*xs):
                return fn(*xs, reduction, None, weights)

            def local(*xs):
                ws = xs[-1] if weights is not None else None
                return fn(*xs[:len(data)], reduction, "d", ws)

            sharded_args = data + ((weights,) if weights is not None else ())
            sharded = jax.shard_map(local, mesh=mesh, in_specs=tuple(P("d") for _ in sharded_args),
                                    out_specs=P())
            ref_v, ref_g = jax.jit(jax.value_and_grad(single, floats))(*data)
            got_v, got_g = jax.jit(jax.value_and_grad(
                lambda *xs: sharded(*xs, *sharded_args[len(data):]), floats))(*data)
            np.testing.assert_allclose(got_v, ref_v, rtol=2e-5, atol=1e-6, err_msg=f"{name} {reduction}")
            for gg, rg in zip(got_g, ref_g):
                np.testing.assert_allclose(gg, rg, rtol=2e-4, atol=2e-6, err_msg=f"{name} {reduction} grad")
        none = jax.shard_map(lambda *xs: fn(*xs, "none", "d", None), mesh=mesh,
                             in_specs=tuple(P("d") for _ in data), out_specs=P("d"))
        expected = jax.jit(lambda *xs: fn(*xs, "none", None, None))(*data)
        np.testing.assert_allclose(jax.jit(none)(*data), expected, rtol=2e-5, atol=1e-6, err_msg=name)
    print("OK")
    """


def test_axis_name_equals_single_device_on_concatenated_batch():
    run_on_eight_devices(BODY)
