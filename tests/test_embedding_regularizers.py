"""The PML regularisers (``LpRegularizer``, ``ZeroMeanRegularizer``,
``CenterInvariantRegularizer``, ``RegularFaceRegularizer``, ``SparseCentersRegularizer``)
against pytorch-metric-learning goldens, values and gradients, with a zero row and a
zero-sum row (the kinks), the ``[dim, classes]`` layout and the bad-input errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("embedding_ap")
TOL = {"rtol": 1e-6, "atol": 1e-9}

# golden key -> (loss, options, input key, transpose: PML's [classes, dim] -> [dim, classes])
CASES = {
    "g_lp": ("embedding_norm_regularization", {}, "g_x", False),
    "g_lp_p1_pow2": ("embedding_norm_regularization", {"p": 1.0, "power": 2.0}, "g_x", False),
    "g_lp_p3_pow15": ("embedding_norm_regularization", {"p": 3.0, "power": 1.5}, "g_x", False),
    "g_zero_mean": ("zero_mean_regularization", {}, "g_x", False),
    "g_center_invariant": ("center_invariant_regularization", {}, "g_w", True),
    "g_regular_face": ("regular_face_regularization", {}, "g_w", True),
    "g_sparse": ("sparse_centers_regularization", {"centers_per_class": 3}, "g_fc", True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_against_pytorch_metric_learning(case, x64):
    name, kw, key, transpose = CASES[case]
    fn = jaxloss.get(name)
    x = G[key].T if transpose else G[key]
    value, grad = jax.jit(jax.value_and_grad(lambda a: fn(a, **kw)))(x)
    np.testing.assert_allclose(value, G[case], **TOL)
    np.testing.assert_allclose(grad.T if transpose else grad, G[f"{case}_g"], **TOL)


def test_per_item_outputs_and_masks():
    x = G["g_x"].astype(np.float32)
    w = G["g_w"].T.astype(np.float32)
    fc = G["g_fc"].T.astype(np.float32)

    @jax.jit
    def outputs(x, w, fc, where):
        return {
            "lp": jaxloss.embedding_norm_regularization(x, reduction="none"),
            "lp_masked": jaxloss.embedding_norm_regularization(x, where=where),
            "ci": jaxloss.center_invariant_regularization(w, reduction="none"),
            "rf": jaxloss.regular_face_regularization(w, reduction="none"),
            "sc": jaxloss.sparse_centers_regularization(fc, centers_per_class=3, reduction="none"),
            "sc_single": jaxloss.sparse_centers_regularization(
                fc[:, :3], centers_per_class=3, reduction="none"
            ),
            # Identical centres of one class: the radicand rounds to 0.
            "sc_same_grad": jax.grad(
                lambda a: jaxloss.sparse_centers_regularization(a, centers_per_class=3)
            )(jnp.repeat(fc[:, :1], 3, axis=1)),
        }

    where = np.array([True, True, False, True, True, False])
    out = outputs(x, w, fc, where)
    assert out["lp"].shape == (6,) and out["lp"][2] == 0
    np.testing.assert_allclose(out["lp_masked"], out["lp"][where].mean(), rtol=1e-6)
    assert out["ci"].shape == (5,) and out["rf"].shape == (5,)
    # Per class; the first class alone gives its own term.
    assert out["sc"].shape == (4,)
    np.testing.assert_allclose(out["sc_single"], out["sc"][:1], rtol=1e-6)
    # ... and the gradient stays finite.
    assert np.all(np.isfinite(out["sc_same_grad"]))


def test_bad_inputs():
    fc = G["g_fc"].T.astype(np.float32)
    with pytest.raises(ValueError, match=r"sparse_centers_regularization.*centers_per_class"):
        jaxloss.sparse_centers_regularization(fc, centers_per_class=1)
    with pytest.raises(ValueError, match=r"sparse_centers_regularization.*\(4, 12\).*multiple"):
        jaxloss.sparse_centers_regularization(fc, centers_per_class=5)
    with pytest.raises(ValueError, match=r"embedding_norm_regularization.*p"):
        jaxloss.embedding_norm_regularization(fc, p=0.5)
