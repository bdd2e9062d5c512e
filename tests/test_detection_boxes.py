"""Detection family: GIoU / DIoU / CIoU against torchvision.ops and MONAI goldens, edge cases."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from references import load

import jaxloss

G = load("detection")
LOSSES = {
    "giou": jaxloss.generalized_box_iou_loss,
    "diou": jaxloss.distance_box_iou_loss,
    "ciou": jaxloss.complete_box_iou_loss,
}
# case -> (data, options); the reference is in gen_detection.py
CASES = {
    "random": ("random", {}),
    "eps": ("random", {"eps": 1e-2}),
    "edge": ("edge", {}),
    "nested": ("nested", {}),
}
GOLDEN = sorted((loss, case) for loss in LOSSES for case in CASES if f"{loss}_{case}/none" in G)


def _value_and_grads(fn, b1, b2, **kwargs):
    return jax.value_and_grad(
        lambda a, b: jnp.sum(fn(a, b, reduction="none", **kwargs)), argnums=(0, 1)
    )(b1, b2)


def _none_mean_and_grads(fn, b1, b2, **kwargs):
    """``fn``'s "none" and "mean" values and the gradients of the "none" sum, in one jit.

    Eager op-by-op dispatch compiles every primitive again for each new shape, which for
    CIoU costs several times one jit (CI time).
    """

    def run(a, b):
        none, mean = fn(a, b, reduction="none", **kwargs), fn(a, b, **kwargs)
        return none, mean, _value_and_grads(fn, a, b, **kwargs)[1]

    return jax.jit(run)(b1, b2)


def test_every_loss_has_goldens():
    assert {loss for loss, _ in GOLDEN} == set(LOSSES)
    assert len(GOLDEN) == 11


@pytest.mark.parametrize("loss, case", GOLDEN)
def test_values_and_gradients_match_torchvision(loss, case, x64):
    fn, (data, kwargs) = LOSSES[loss], CASES[case]
    b1, b2 = jnp.asarray(G[f"{data}/b1"]), jnp.asarray(G[f"{data}/b2"])
    key = f"{loss}_{case}"
    none, mean, (g1, g2) = _none_mean_and_grads(fn, b1, b2, **kwargs)
    np.testing.assert_allclose(none, G[f"{key}/none"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mean, G[f"{key}/mean"], rtol=1e-10)
    np.testing.assert_allclose(g1, G[f"{key}/grad1"], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(g2, G[f"{key}/grad2"], rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_float32_matches_torchvision(loss):
    fn = LOSSES[loss]
    b1, b2 = (jnp.asarray(G[f"random/{k}"], jnp.float32) for k in ("b1", "b2"))
    none, _, (g1, _) = _none_mean_and_grads(fn, b1, b2)
    np.testing.assert_allclose(none, G[f"{loss}_random/none"], rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(g1, G[f"{loss}_random/grad1"], rtol=1e-4, atol=1e-5)


def test_giou_3d_matches_monai(x64):
    # MONAI adds finfo(float32).eps and computes in float32.
    b1, b2 = jnp.asarray(G["monai3d/b1"]), jnp.asarray(G["monai3d/b2"])
    eps = float(np.finfo(np.float32).eps)
    fn = jaxloss.generalized_box_iou_loss
    none, mean, (g1, g2) = _none_mean_and_grads(fn, b1, b2, eps=eps)
    np.testing.assert_allclose(none, G["monai3d/none"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mean, G["monai3d/mean"], rtol=1e-5)
    np.testing.assert_allclose(g1, G["monai3d/grad1"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(g2, G["monai3d/grad2"], rtol=1e-4, atol=1e-6)


def test_giou_2d_is_3d_with_a_unit_depth(x64):
    b1, b2 = jnp.asarray(G["random/b1"]), jnp.asarray(G["random/b2"])

    def lift(b):
        return jnp.concatenate(
            [b[:, :2], jnp.zeros((len(b), 1)), b[:, 2:], jnp.ones((len(b), 1))], 1
        )

    fn = jaxloss.generalized_box_iou_loss
    np.testing.assert_allclose(
        fn(lift(b1), lift(b2), reduction="none"), fn(b1, b2, reduction="none"), rtol=1e-12
    )


def test_worked_example():
    # [0,0,2,2] vs [1,1,3,3]: IoU 1/7, enclosing area 9, union 7 -> GIoU = 1/7 - 2/9.
    a, b = jnp.array([0.0, 0.0, 2.0, 2.0]), jnp.array([1.0, 1.0, 3.0, 3.0])
    np.testing.assert_allclose(
        jaxloss.generalized_box_iou_loss(a, b, eps=0.0), 1 - (1 / 7 - 2 / 9), rtol=1e-6
    )
    # DIoU: centre distance^2 = 2, enclosing diagonal^2 = 18.
    np.testing.assert_allclose(
        jaxloss.distance_box_iou_loss(a, b, eps=0.0), 1 - 1 / 7 + 2 / 18, rtol=1e-6
    )
    # Equal aspect ratios: CIoU equals DIoU.
    np.testing.assert_allclose(
        jaxloss.complete_box_iou_loss(a, b), jaxloss.distance_box_iou_loss(a, b), rtol=1e-7
    )


DEGENERATE = {
    "point boxes": ([0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]),
    "both points at one place": ([1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]),
    "zero width": ([0.0, 0.0, 0.0, 2.0], [0.0, 0.0, 1.0, 2.0]),
    "zero height": ([0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 2.0, 1.0]),
    "zero width and height apart": ([0.0, 0.0, 0.0, 2.0], [5.0, 5.0, 6.0, 5.0]),
    "disjoint": ([0.0, 0.0, 1.0, 1.0], [5.0, 5.0, 6.0, 6.0]),
    "touching": ([0.0, 0.0, 1.0, 1.0], [1.0, 0.0, 2.0, 1.0]),
    "identical": ([0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]),
}


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("case", sorted(DEGENERATE))
@pytest.mark.parametrize("eps", [1e-7, 0.0])
def test_degenerate_boxes_finite_value_and_gradient(loss, case, eps):
    b1, b2 = (jnp.asarray(b)[None] for b in DEGENERATE[case])
    if (
        eps == 0.0
        and case
        in (
            "point boxes",
            "both points at one place",
            "zero width",
            "zero height",
            "zero width and height apart",
        )
        and loss != "ciou"
    ):
        pytest.skip("eps=0 with a zero union or enclosing area is 0/0 by definition")
    if eps == 0.0 and loss == "ciou" and case not in ("disjoint", "touching", "identical"):
        pytest.skip("eps=0 with a zero union is 0/0 by definition")
    value, grads = _value_and_grads(LOSSES[loss], b1, b2, eps=eps)
    assert np.isfinite(value), value
    for g in grads:
        assert np.all(np.isfinite(g)), (case, g)


def test_ciou_aspect_angle_is_continuous_at_zero_height(x64):
    # atan(w/h) -> pi/2 as h -> 0+: the zero-height value is the limit.
    fn = jaxloss.complete_box_iou_loss
    ref = jnp.array([[0.0, 0.0, 2.0, 1.0]])
    flat = fn(jnp.array([[0.0, 0.0, 2.0, 0.0]]), ref)
    almost = fn(jnp.array([[0.0, 0.0, 2.0, 1e-9]]), ref)
    np.testing.assert_allclose(flat, almost, rtol=1e-6)


def test_ciou_alpha_carries_no_gradient(x64):
    # d/dx of DIoU + sg(alpha) v equals the torchvision golden (alpha under no_grad), and differs
    # from the gradient with alpha differentiated.
    b1, b2 = jnp.asarray(G["random/b1"]), jnp.asarray(G["random/b2"])
    _, (g1, _) = jax.jit(lambda a, b: _value_and_grads(jaxloss.complete_box_iou_loss, a, b))(b1, b2)
    np.testing.assert_allclose(g1, G["ciou_random/grad1"], rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("loss", ["diou", "giou"])  # CIoU's stop-gradient alpha is not a derivative
def test_check_grads_float64(loss, x64):
    b1, b2 = jnp.asarray(G["random/b1"]), jnp.asarray(G["random/b2"])
    check_grads(
        jax.jit(lambda a, b: LOSSES[loss](a, b)),
        (b1, b2),
        order=1,
        modes=("rev",),
        atol=1e-5,
        rtol=1e-5,
    )


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_integer_boxes_are_cast(loss):
    b1 = np.array([[0, 0, 4, 3], [2, 2, 5, 7]])
    b2 = np.array([[1, 1, 3, 5], [0, 1, 4, 4]])
    np.testing.assert_allclose(
        LOSSES[loss](b1, b2), LOSSES[loss](b1.astype(np.float32), b2.astype(np.float32))
    )


def test_masked_pairs_leak_no_nan(x64):
    b1, b2 = jnp.asarray(G["random/b1"][:4]), jnp.asarray(G["random/b2"][:4])
    b1 = b1.at[2].set(jnp.nan)
    where = jnp.array([True, True, False, True])
    for fn in LOSSES.values():
        value, grad = jax.jit(jax.value_and_grad(lambda a: fn(a, b2, where=where)))(b1)  # noqa: B023
        assert np.isfinite(value)
        assert np.all(np.isfinite(grad)) and np.all(grad[2] == 0)


@pytest.mark.parametrize("loss", ["diou", "ciou"])
def test_3d_boxes_only_for_giou(loss):
    with pytest.raises(ValueError, match=r"\[\.\.\., 4\]"):
        LOSSES[loss](np.zeros((2, 6), np.float32), np.zeros((2, 6), np.float32))


def test_bad_options_raise():
    b = np.zeros((2, 4), np.float32)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        jaxloss.generalized_box_iou_loss(b, b, eps=-1.0)
    with pytest.raises(ValueError, match="boxes1 has shape"):
        jaxloss.generalized_box_iou_loss(b, np.zeros((3, 4), np.float32))
    with pytest.raises(TypeError, match="boxes2"):
        jaxloss.generalized_box_iou_loss(b, b.astype(bool))


def test_eps_may_be_traced():
    b1, b2 = jnp.asarray(G["random/b1"], jnp.float32), jnp.asarray(G["random/b2"], jnp.float32)
    f = jax.jit(lambda e: jaxloss.generalized_box_iou_loss(b1, b2, eps=e))
    concrete = jax.jit(lambda a, b: jaxloss.generalized_box_iou_loss(a, b, eps=1e-2))(b1, b2)
    np.testing.assert_allclose(f(1e-2), concrete, rtol=1e-6)
    assert np.isfinite(
        jax.jit(jax.grad(lambda e: jaxloss.complete_box_iou_loss(b1, b2, eps=e)))(1e-7)
    )
