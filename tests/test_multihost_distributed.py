"""Cross-device losses across processes: ``jax.distributed`` over gloo on 127.0.0.1.

Every loss with an ``axis_name`` parameter, ``shard_map``-ped over a mesh spanning 2
processes (and 4 processes of 2 devices each for one loss), must give the single-device
value and gradient on the concatenated batch, as the 8-device single-process tests check.
"""

from __future__ import annotations

import inspect
import pathlib
import subprocess
import sys

from multihost import run_processes

import jaxloss

BODY = """
    B, D = 16, 5
    q, k, e = (rng.standard_normal((B, D)).astype(np.float32) for _ in range(3))
    n2 = rng.standard_normal((B, 2, D)).astype(np.float32)
    labels = rng.integers(0, 4, B).astype(np.int32)
    CASES = {
        "infonce_loss": (lambda x, y, **kw: jaxloss.infonce_loss(x, y, temperature=0.3, symmetric=True, **kw),
                         (q, k)),
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
        "triplet_loss": (lambda x, y, **kw: jaxloss.triplet_loss(x, y, margin=0.7, mining="batch_all", **kw),
                         (e, labels)),
    }
    ONLY = {only}
    assert ONLY <= set(CASES), ONLY
    for name in sorted(ONLY):
        fn, data = CASES[name]
        floats = tuple(i for i, x in enumerate(data) if x.dtype == np.float32)

        def value_and_grad(loss, data, floats=floats):
            # value and gradient w.r.t. the floating arguments; every argument is passed in
            def of_floats(*fs):
                return loss(*[fs[floats.index(i)] if i in floats else x for i, x in enumerate(data)])
            return jax.value_and_grad(of_floats, argnums=tuple(range(len(floats))))(*[data[i] for i in floats])

        def across(*xs, fn=fn):
            return jax.shard_map(lambda *ps: fn(*ps, axis_name="d"), mesh=mesh,
                                 in_specs=tuple(P("d") for _ in xs), out_specs=P())(*xs)

        ref_v, ref_g = value_and_grad(fn, data)
        value, grads = jax.jit(lambda *gd: value_and_grad(across, gd))(*[glob(x) for x in data])
        np.testing.assert_allclose(np.asarray(value), np.asarray(ref_v), rtol=2e-5, err_msg=name)
        for g, r in zip(grads, ref_g):
            for shard in g.addressable_shards:
                np.testing.assert_allclose(np.asarray(shard.data), np.asarray(r)[shard.index], rtol=2e-5,
                                           atol=2e-6, err_msg=name)
    print("OK", pid, jax.process_count(), jax.device_count())
"""
AXIS_LOSSES = sorted(n for n in jaxloss.available() if "axis_name" in inspect.signature(jaxloss.get(n)).parameters)
# Wave-2 losses with axis_name whose cross-process case is still to be written; their
# single-process 8-device checks are in their family tests (issue 19, next session).
PENDING = {"dino_loss", "ibot_patch_loss", "swav_loss", "coca_loss", "grpo_loss", "bco_loss",
           "fused_linear_grpo_loss"}
AXIS_LOSSES = [n for n in AXIS_LOSSES if n not in PENDING]


def test_every_axis_name_loss_across_two_processes():
    outputs = run_processes(BODY.replace("{only}", repr(set(AXIS_LOSSES))), processes=2)
    assert [f"OK {i} 2 2" in out for i, out in enumerate(outputs)] == [True, True]


def test_four_processes_of_two_devices():
    outputs = run_processes(BODY.replace("{only}", repr({"infonce_loss"})), processes=4, devices=2)
    assert "OK 3 4 8" in outputs[3]


def test_multihost_training_example():
    example = pathlib.Path(__file__).parent.parent / "examples" / "multihost_train.py"
    result = subprocess.run([sys.executable, str(example), "--processes", "2", "--steps", "30"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.count("OK") == 2, result.stdout + result.stderr[-4000:]
