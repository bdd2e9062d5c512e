"""The shared core: reduction path, dtype policy, labels, checked, registry, contracts."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss._src import contracts as _contracts
from jaxloss._src.contracts import calling, function_name
from jaxloss._src.labels import class_labels, poison
from jaxloss._src.numerics import compute_dtype, l2_normalize, mul0, safe_norm
from jaxloss._src.reduce import reduce
from jaxloss._src.registry import register


def test_reduce_mean_sum_none_with_weights_where_valid_normalizer():
    loss = jnp.array([1.0, 2.0, 3.0, 4.0])
    w = jnp.array([1.0, 2.0, 0.5, 1.0])
    where = jnp.array([True, True, False, True])
    valid = jnp.array([True, False, True, True])
    norm = jnp.array([2.0, 1.0, 1.0, 3.0])
    assert reduce(loss, "mean") == 2.5
    assert reduce(loss, "sum") == 10.0
    np.testing.assert_allclose(reduce(loss, "mean", weights=w), (1 + 4 + 1.5 + 4) / 4.5)
    np.testing.assert_allclose(reduce(loss, "none", weights=w, where=where), [1, 4, 0, 4])
    # Entries must pass both `where` and `valid`: only 0 and 3 remain.
    np.testing.assert_allclose(reduce(loss, "mean", where=where, valid=valid), 2.5)
    np.testing.assert_allclose(
        reduce(loss, "mean", where=where, valid=valid, normalizer=norm), (1 + 4) / (2 + 3)
    )


def test_reduce_broadcasts_weights_and_rejects_bad_shapes():
    loss = jnp.ones((2, 3))
    np.testing.assert_allclose(reduce(loss, "sum", weights=jnp.array([1.0, 2.0, 3.0])), 12.0)
    with pytest.raises(ValueError, match=r"weights has shape \(2,\), which does not broadcast"):
        reduce(loss, "sum", weights=jnp.ones(2))
    with pytest.raises(ValueError, match="reduction must be one of"):
        reduce(loss, "avg")


def test_all_masked_mean_is_zero_with_zero_gradient_even_with_nan_loss():
    def f(x):
        loss = jnp.log(x)  # NaN for x < 0
        return reduce(loss, "mean", where=jnp.zeros(3, bool))

    value, grad = jax.value_and_grad(f)(jnp.array([1.0, 2.0, 3.0]))
    assert value == 0.0
    np.testing.assert_array_equal(grad, 0.0)
    assert reduce(jnp.zeros((0,)), "mean") == 0.0  # empty batch


def test_reduce_over_pytrees_is_the_flat_mean():
    tree = {"a": jnp.array([1.0, 2.0]), "b": jnp.array([[3.0], [4.0], [5.0]])}
    np.testing.assert_allclose(reduce(tree, "mean"), 3.0)
    np.testing.assert_allclose(reduce(tree, "sum"), 15.0)
    weights = {"a": jnp.array([1.0, 0.0]), "b": jnp.ones((3, 1))}
    np.testing.assert_allclose(reduce(tree, "mean", weights=weights), (1 + 12) / 4)
    assert jax.tree.structure(reduce(tree, "none")) == jax.tree.structure(tree)
    with pytest.raises(ValueError, match="weights must be a pytree"):
        reduce(tree, "mean", weights=jnp.ones(2))


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [(jnp.bfloat16, jnp.float32), (jnp.float16, jnp.float32), (jnp.float32, jnp.float32)],
)
def test_dtype_policy(dtype, expected):
    x = jnp.ones(3, dtype)
    assert compute_dtype(x, jnp.ones(3, jnp.int32)) == expected
    assert jaxloss.mse(x, x).dtype == expected


def test_float64_inputs_stay_float64(x64):
    x = jnp.ones(3, jnp.float64)
    assert jaxloss.huber_loss(x, jnp.zeros(3, jnp.float32)).dtype == jnp.float64


def test_class_labels_concrete_raises_traced_gives_nan():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\).*\[5, -2\]"):
        class_labels(jnp.array([0, 5, -2]), 3)
    safe, valid, bad = class_labels(jnp.array([0, -100, 2]), 3, ignore_index=-100)
    np.testing.assert_array_equal(safe, [0, 0, 2])
    np.testing.assert_array_equal(valid, [True, False, True])
    assert not np.any(bad)

    @jax.jit
    def per_entry(labels):
        safe, _, bad = class_labels(labels, 3)
        return poison(safe.astype(jnp.float32), bad)

    out = per_entry(jnp.array([1, 9]))
    assert out[0] == 1.0 and np.isnan(out[1])


def test_out_of_range_labels_under_jit_give_nan_gradients():
    """A NaN loss with a finite gradient would let training carry on (issue 19)."""
    x = jnp.zeros((3, 4))
    labels = jnp.array([0, 7, 2])
    grad = jax.jit(jax.grad(lambda x, y, **kw: jaxloss.softmax_cross_entropy(x, y, **kw)))
    g = np.asarray(grad(x, labels))
    assert np.all(np.isnan(g[1])) and np.all(np.isfinite(g[[0, 2]]))
    # where= drops the entry before it is poisoned: no trace in the gradient.
    masked = np.asarray(grad(x, labels, where=jnp.array([True, False, True])))
    np.testing.assert_array_equal(masked[1], 0.0)
    tangent = jax.jit(lambda x, y: jax.jvp(lambda x: jaxloss.softmax_cross_entropy(x, y, reduction="none"), (x,),
                                            (jnp.ones_like(x),))[1])(x, labels)
    tangent = np.asarray(tangent)
    assert np.isnan(tangent[1]) and np.all(np.isfinite(tangent[[0, 2]]))


def test_checked_raises_under_jit_for_out_of_range_labels():
    def loss(scores, labels, *, reduction="mean"):
        safe, _, bad = class_labels(labels, scores.shape[-1])
        picked = jnp.take_along_axis(scores, safe[:, None], axis=-1)[:, 0]
        return reduce(poison(picked, bad), reduction)

    safe_loss = jaxloss.checked(loss)
    np.testing.assert_allclose(safe_loss(jnp.eye(3)[:2], jnp.array([0, 1])), 1.0)
    with pytest.raises(ValueError, match=r"entries outside \[0, 3\)"):
        safe_loss(jnp.eye(3)[:2], jnp.array([0, 4]))
    with pytest.raises(ValueError, match=r"entries outside \[0, 3\)"):
        safe_loss(jnp.eye(3)[:2], jnp.array([0, 4]), reduction="sum")


CE = jaxloss.checked(jaxloss.softmax_cross_entropy)
FIX = r"labels has entries outside \[0, 4\); to skip padding entries, pass ignore_index= \(PyTorch pads with ignore_index=-100\)"


def _in_a_shard_map(x, y):
    mesh = jax.make_mesh((len(jax.devices()),), ("batch",))
    spec = jax.sharding.PartitionSpec("batch")
    step = jax.shard_map(lambda x, y: jax.lax.pmean(CE(x, y), "batch"), mesh=mesh, in_specs=(spec, spec),
                         out_specs=jax.sharding.PartitionSpec())
    sharded = jax.sharding.NamedSharding(mesh, spec)
    return jax.jit(step)(jax.device_put(x, sharded), jax.device_put(y, sharded))


# The three ways a checked loss is called: eagerly, jitted, and inside a user's own traced step.
CHECKED_FORMS = {
    "eager": CE,
    "jit": jax.jit(CE),
    "train_step": jax.jit(lambda x, y: jax.value_and_grad(lambda x: CE(x, y))(x)[0]),
    "vmap": jax.jit(lambda x, y: jax.vmap(CE)(x[None], y[None])[0]),
    "shard_map": _in_a_shard_map,
}


@pytest.mark.parametrize("form", sorted(CHECKED_FORMS))
def test_checked_raises_with_the_fix_in_every_calling_form(form):
    n = 2 * len(jax.devices())
    x = jnp.zeros((n, 4))
    good = jnp.arange(n) % 4
    bad = good.at[1].set(-100)
    np.testing.assert_allclose(CHECKED_FORMS[form](x, good), np.log(4.0), rtol=1e-6)
    with pytest.raises(Exception, match=FIX) as info:
        jax.block_until_ready(CHECKED_FORMS[form](x, bad))
    assert "Cannot abstractly evaluate" not in str(info.value)
    # Unchecked: NaN under jit, never a finite wrong loss.
    assert np.isnan(jax.jit(jaxloss.softmax_cross_entropy)(x, bad))


def test_concrete_label_errors_say_how_to_ignore_padding():
    with pytest.raises(ValueError, match=r"found 1 entries outside, e\.g\. \[-100\]; to skip padding entries, pass "
                                         r"ignore_index= \(PyTorch pads with ignore_index=-100\)"):
        jaxloss.softmax_cross_entropy(jnp.zeros((2, 3)), jnp.array([0, -100]))
    with pytest.raises(ValueError, match=r"e\.g\. \[7\]; to skip padding entries, pass their value as ignore_index=$"):
        jaxloss.softmax_cross_entropy(jnp.zeros((2, 3)), jnp.array([0, 7]))
    with pytest.raises(ValueError, match=r"and not ignore_index=-1; found 1 entries outside, e\.g\. \[7\]$"):
        jaxloss.softmax_cross_entropy(jnp.zeros((2, 3)), jnp.array([-1, 7]), ignore_index=-1)


def test_contract_messages_name_function_arguments_and_shapes():
    with pytest.raises(ValueError, match=r"huber_loss: predictions has shape \(3,\), targets has shape \(4,\)"):
        jaxloss.huber_loss(jnp.ones(3), jnp.ones(4))
    with pytest.raises(TypeError, match="squared_error: predictions must have a floating dtype, got int32"):
        jaxloss.mse(jnp.ones(3, jnp.int32), jnp.ones(3))
    with calling("demo"):
        with pytest.raises(ValueError, match=r"demo: x must have rank 2, got shape \(3,\)"):
            _contracts.rank(jnp.ones(3), 2, "x")
        with pytest.raises(ValueError, match="demo: metric must be one of"):
            _contracts.choice("l3", ("l1", "l2"), "metric")


def test_outermost_public_name_wins_in_errors():
    with calling("outer"), calling("inner"):
        assert function_name() == "outer"


def test_registry_get_available_aliases_and_duplicates():
    assert jaxloss.get("mse") is jaxloss.squared_error
    assert jaxloss.available("regression")["huber_loss"] == "regression"
    assert "mse" in jaxloss.aliases()
    assert jaxloss.info("huber").reference.startswith("torch")
    with pytest.raises(ValueError, match="no loss named"):
        jaxloss.get("no_such_loss")
    with pytest.raises(ValueError, match="registered twice"):
        register("regression", reference="-", name="huber_loss")(lambda x: x)


def test_safe_norm_and_l2_normalize_are_finite_at_zero():
    g = jax.grad(lambda x: safe_norm(x))(jnp.zeros(3))
    np.testing.assert_array_equal(g, 0.0)
    assert np.all(np.isfinite(jax.grad(lambda x: jnp.sum(l2_normalize(x)))(jnp.zeros(3))))
    np.testing.assert_allclose(l2_normalize(jnp.array([3.0, 4.0])), [0.6, 0.8])


def test_mul0_is_the_product_except_zero_times_inf():
    a = jnp.array([0.0, 0.0, 2.0, 0.0])
    b = jnp.array([3.0, -jnp.inf, 5.0, jnp.nan])
    out = mul0(a, b)
    np.testing.assert_array_equal(out[:3], [0.0, 0.0, 10.0])
    assert np.isnan(out[3])  # NaN in, NaN out
    da, db = jax.grad(lambda a, b: jnp.sum(mul0(a, b)[:3]), argnums=(0, 1))(a, b)
    # d(ab)/da = b where b is finite (a label-0 entry still has the gradient -log p); 0 at the inf.
    np.testing.assert_array_equal(da[:3], [3.0, 0.0, 5.0])
    np.testing.assert_array_equal(db[:3], [0.0, 0.0, 2.0])
