"""``jaxloss.checked`` inside a ``shard_map``-ped step on 8 emulated CPU devices.

Bad labels on one device only must make the whole step raise with the jaxloss message
(every device fails together), not leave the other devices waiting in the step's
collective until XLA aborts the process.
"""

from __future__ import annotations

from multidevice import run_on_eight_devices

BODY = """
    ce = jaxloss.checked(jaxloss.softmax_cross_entropy)
    sharded = jax.sharding.NamedSharding(mesh, P("d"))
    step = jax.jit(jax.shard_map(lambda x, y: jax.lax.pmean(ce(x, y), "d"), mesh=mesh,
                                 in_specs=(P("d"), P("d")), out_specs=P()))
    x = jax.device_put(jnp.zeros((16, 4)), sharded)
    good = jnp.arange(16) % 4
    np.testing.assert_allclose(step(x, jax.device_put(good, sharded)), np.log(4.0), rtol=1e-6)
    try:
        jax.block_until_ready(step(x, jax.device_put(good.at[13].set(-100), sharded)))  # device 6 only
        raise AssertionError("no error")
    except jax.errors.JaxRuntimeError as e:
        assert "softmax_cross_entropy: labels has entries outside [0, 4)" in str(e), str(e)
        assert "ignore_index=-100" in str(e), str(e)
    print("OK")
"""


def test_checked_raises_on_every_device_when_one_shard_is_bad():
    run_on_eight_devices(BODY)
