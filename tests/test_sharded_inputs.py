"""Every registered loss on inputs sharded over a data axis (8 emulated CPU devices).

One subprocess per family (``XLA_FLAGS=--xla_force_host_platform_device_count=8``) runs
every loss the way its contract spec says. The single-device results (each reduction and
the gradient of the ``"mean"`` w.r.t. ``spec.diff``) are compared with the same ``jit``-ed program on inputs placed with a
``NamedSharding``: axis 0 of every array argument whose leading dimension is
divisible by the mesh size is sharded over ``"d"``, the others (per-class weights,
model params, PRNG keys, scalars) are replicated. The mesh takes the largest of
8/4/2 devices dividing the leading dimension of the first array argument.

Specs with ``shard=False`` (their first array argument has an odd leading
dimension) run with every input replicated on the 8-device mesh (they still
check that a replicated multi-device placement gives the single-device result).

A second part runs the losses whose spec says ``pytree=True`` (regression
family, parameter regularisers) on pytrees whose leaves are sharded differently (with matching sharded
``weights``/``where`` pytrees; the mask handling is the shared ``reduce``, so
it is not repeated for every loss) and checks the ``"none"`` output keeps the input
tree (and the data sharding of its sharded leaf).

Failures are collected over all losses and reported together.
"""

from __future__ import annotations

import os
import textwrap

import pytest
from multidevice import run_on_eight_devices
from specs import all_specs

import jaxloss

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))

SPECS = all_specs()
# name -> reason (``Spec.sharding_defect``); the main run skips these and
# ``test_known_defects_still_fail`` asserts each one still fails (clear it once the loss is fixed).
KNOWN_DEFECTS: dict[str, str] = {n: s.sharding_defect for n, s in SPECS.items() if s.sharding_defect}

BODY = """
import sys
import traceback

from jax.sharding import NamedSharding

sys.path.insert(0, TESTS_DIR)
from specs import all_specs

SPECS = all_specs()
TOL = dict(rtol=2e-5, atol=1e-6)
failures = {}


def placement(spec, args):
    arrays = [i for i, a in enumerate(args) if hasattr(a, "dtype")]
    first = next((args[i].shape[0] for i in arrays if args[i].ndim > 0), 1)
    k = next((k for k in (8, 4, 2) if first % k == 0), None)
    if not spec.shard:
        assert k is None, f"shard=False, but the leading dimension {first} is even: shard it"
        return arrays, {i: NamedSharding(mesh, P()) for i in arrays}
    assert k is not None, f"odd leading dimension {first}: the spec needs shard=False"
    sub = jax.sharding.Mesh(np.array(jax.devices()[:k]), ("d",))
    return arrays, {i: sharding(sub, args[i].shape) for i in arrays}


def sharding(sub, shape):
    n = sub.devices.size
    return NamedSharding(sub, P("d") if len(shape) and shape[0] % n == 0 else P())


def program(name, args, arrays):
    spec, fn = SPECS[name], jaxloss.get(name)

    def call(full, reduction, **extra):
        return spec.output(fn(*full, **spec.kwargs, reduction=reduction, **extra))

    def f(*xs):
        full = list(args)
        for i, x in zip(arrays, xs):
            full[i] = x
        out = {r: call(full, r) for r in spec.reductions}
        if "mean" in spec.reductions:
            def mean(*ds):
                g = list(full)
                for i, d in zip(spec.diff, ds):
                    g[i] = d
                return call(g, "mean")
            out["grad"] = jax.grad(mean, argnums=tuple(range(len(spec.diff))))(
                *[full[i] for i in spec.diff])
        return out

    return jax.jit(f)


def compare(name, ref, got):
    if jax.tree.structure(ref) != jax.tree.structure(got):
        failures[name] = f"tree {jax.tree.structure(got)} != {jax.tree.structure(ref)}"
        return
    for (path, r), g in zip(jax.tree_util.tree_leaves_with_path(ref), jax.tree.leaves(got)):
        try:
            np.testing.assert_allclose(np.asarray(g), np.asarray(r), **TOL)
        except AssertionError as e:
            failures.setdefault(name, "")
            failures[name] += f"{jax.tree_util.keystr(path)}: {str(e).strip()}\\n"


def check(name):
    spec = SPECS[name]
    args = spec.make(np.random.default_rng(0))
    arrays, shardings = placement(spec, args)
    inputs = [args[i] for i in arrays]
    placed = [jax.device_put(args[i], shardings[i]) for i in arrays]
    f = program(name, args, arrays)
    compare(name, f(*inputs), f(*placed))


def check_tree(name):
    spec = SPECS[name]
    a, b = spec.make(np.random.default_rng(0)), spec.make(np.random.default_rng(1))
    sub = jax.sharding.Mesh(np.array(jax.devices()[:4]), ("d",))
    data, rep = NamedSharding(sub, P("d")), NamedSharding(sub, P())
    assert a[0].shape[0] == 4, a[0].shape
    mrng = np.random.default_rng(2)
    w = {"w": mrng.uniform(0.5, 2.0, (4, 3)).astype(np.float32), "b": (np.ones(4, np.float32),)}
    m = {"w": mrng.uniform(size=(4, 3)) < 0.6, "b": (np.array([True, False, True, True]),)}
    trees = [{"w": x, "b": (y[:, 0],)} for x, y in zip(a, b)]
    place = lambda t: {"w": jax.device_put(t["w"], data), "b": (jax.device_put(t["b"][0], rep),)}
    placed = [place(t) for t in trees]
    fn = jaxloss.get(name)
    # the regularisers take ``weights`` but no ``where``
    masks = ("weights", "where") if spec.masks else ("weights",)

    @jax.jit
    def f(*ts_wm):
        *ts, ws, ms = ts_wm
        out = {r: fn(*ts, **spec.kwargs, reduction=r) for r in spec.reductions}
        extra = dict(zip(("weights", "where"), (ws, ms)))
        out["mean weights/where"] = fn(*ts, **spec.kwargs, reduction="mean",
                                       **{k: extra[k] for k in masks})

        def mean(*ds):
            full = list(ts)
            for i, d in zip(spec.diff, ds):
                full[i] = d
            return fn(*full, **spec.kwargs, reduction="mean")

        out["grad"] = jax.grad(mean, argnums=tuple(range(len(spec.diff))))(
            *[ts[i] for i in spec.diff])
        return out

    ref, got = f(*trees, w, m), f(*placed, place(w), place(m))
    compare(f"{name} (pytree)", ref, got)
    none = got["none"]
    if jax.tree.structure(none) != jax.tree.structure(trees[0]):
        failures[f"{name} (pytree)"] = f"'none' tree {jax.tree.structure(none)}"
    elif not none["w"].sharding.is_equivalent_to(data, 2):
        failures[f"{name} (pytree)"] = f"'none' leaf lost its data sharding: {none['w'].sharding}"


for name in ONLY or sorted(set(jaxloss.available()) - set(SKIP)):
    for checker, label in ((check, name), (check_tree, f"{name} (pytree)")):
        if checker is check_tree and not SPECS[name].pytree:
            continue
        try:
            checker(name)
        except Exception:
            failures[label] = traceback.format_exc(limit=-3)

for label, message in failures.items():
    print(f"=== {label}\\n{message}")
assert not failures, sorted(failures)
print("OK")
"""


def _script(only: tuple[str, ...] = (), skip: tuple[str, ...] = ()) -> str:
    header = f"TESTS_DIR = {TESTS_DIR!r}\nONLY = {only!r}\nSKIP = {skip!r}\n"
    return header + textwrap.dedent(BODY)


# One subprocess per family: bounded time each, and they spread over the xdist workers.
BY_FAMILY: dict[str, tuple[str, ...]] = {}
for _name in sorted(set(jaxloss.available()) - set(KNOWN_DEFECTS)):
    BY_FAMILY.setdefault(jaxloss.info(_name).family, ())
    BY_FAMILY[jaxloss.info(_name).family] += (_name,)


@pytest.mark.parametrize("family", sorted(BY_FAMILY))
def test_every_loss_on_sharded_inputs_equals_single_device(family):
    run_on_eight_devices(_script(only=BY_FAMILY[family]))


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=f"defect: {r}")) for n, r in
     sorted(KNOWN_DEFECTS.items())] or [pytest.param(None, marks=pytest.mark.skip("no known defect"))],
)
def test_known_defects_still_fail(name):
    run_on_eight_devices(_script(only=(name,)))
