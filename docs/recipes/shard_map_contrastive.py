"""Data-parallel contrastive training step with ``jax.shard_map`` and ``jax.make_mesh``.

The batch is split over the devices of a one-axis mesh; inside the shard,
``supervised_contrastive_loss(..., axis_name="data")`` gathers the embeddings of
every device, so each anchor sees the negatives of the global batch, and the
value and gradients equal the single-device ones on the concatenated batch.

Run it on 8 emulated CPU devices (any device count that divides the batch works):

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python docs/recipes/shard_map_contrastive.py

``tests/test_docs_site.py`` runs this file on 1 and on 8 devices.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

import jaxloss

mesh = jax.make_mesh((jax.device_count(),), ("data",))


def embed(params, x):
    z = jnp.tanh(x @ params["w1"]) @ params["w2"]
    return z  # the loss normalises the embeddings itself


def loss_fn(params, x, y):
    def local(params, x, y):  # runs once per device, on its slice of the batch
        z = embed(params, x)
        return jaxloss.supervised_contrastive_loss(z, y, temperature=0.1, axis_name="data")

    return jax.shard_map(local, mesh=mesh, in_specs=(P(), P("data"), P("data")), out_specs=P())(
        params, x, y
    )


optimizer = optax.adam(1e-2)


@jax.jit
def train_step(params, opt_state, x, y):
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def main() -> None:
    rng = np.random.default_rng(0)
    batch, dim = 64, 16
    params = {
        "w1": jnp.asarray(rng.standard_normal((dim, 32)) / 4, jnp.float32),
        "w2": jnp.asarray(rng.standard_normal((32, 8)) / 6, jnp.float32),
    }
    labels = rng.integers(0, 4, batch)
    centres = rng.standard_normal((4, dim))
    x = jnp.asarray(centres[labels] + 0.5 * rng.standard_normal((batch, dim)), jnp.float32)
    y = jnp.asarray(labels, jnp.int32)
    # The single-device loss on the whole batch (unsharded arrays) ...
    single = jaxloss.supervised_contrastive_loss(embed(params, x), y, temperature=0.1)
    # ... equals the sharded one: each device holds batch / device_count rows.
    x, y = jax.device_put((x, y), NamedSharding(mesh, P("data")))
    np.testing.assert_allclose(loss_fn(params, x, y), single, rtol=1e-5)

    opt_state = optimizer.init(params)
    first = None
    for _ in range(10):
        params, opt_state, loss = train_step(params, opt_state, x, y)
        first = loss if first is None else first
    print(f"devices {jax.device_count()}  loss {float(first):.4f} -> {float(loss):.4f}")
    assert float(loss) < float(first)
    print("OK")


if __name__ == "__main__":
    main()
