"""Keywords from torch, MONAI, PML, Keras or optax raise a ``TypeError`` naming the jaxloss
spelling (issue 19); deprecated jaxloss names still pass."""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import pytest

import jaxloss

X, Y = jnp.zeros((2, 3)), jnp.array([0, 1])
MAP, LAB = jnp.zeros((1, 4, 4, 2)), jnp.zeros((1, 4, 4), jnp.int32)

CASES = [
    (jaxloss.softmax_cross_entropy, (X, Y), {"weight": jnp.ones(3)},
     "softmax_cross_entropy\\(\\) got an unexpected keyword argument 'weight'; use class_weights= or weights="),
    (jaxloss.softmax_cross_entropy, (X, Y), {"size_average": True}, "'size_average'; use reduction="),
    (jaxloss.softmax_cross_entropy, (X, Y), {"from_logits": False}, "the input kind is fixed per loss and named by its first argument"),
    (jaxloss.softmax_cross_entropy, (X, Y), {"epsilon": 0.1}, "'epsilon'; use label_smoothing="),
    (jaxloss.softmax_cross_entropy, (X, Y), {"lable_smoothing": 0.1}, "did you mean label_smoothing=\\?"),
    (jaxloss.huber_loss, (X, X), {"weight": X}, "huber_loss\\(\\) got an unexpected keyword argument 'weight'; use weights="),
    (jaxloss.dice_loss, (MAP, LAB), {"softmax": True}, "'softmax'; use activation= \\(MONAI softmax=True is"),
    (jaxloss.dice_loss, (MAP, LAB), {"smooth_nr": 1e-5}, "'smooth_nr'; use smooth_numerator="),
    (jaxloss.dice_loss, (MAP, LAB), {"squared_pred": True}, "'squared_pred'; use squared= \\(MONAI squared_pred\\)"),
    (jaxloss.dice_loss, (MAP, LAB), {"to_onehot_y": True}, "integer class maps are accepted as they are"),
    (jaxloss.triplet_loss, (X, Y), {"distance": "cosine"}, "'distance'; use metric="),
    (jaxloss.infonce_loss, (X, X), {"scale": 10.0}, "'scale'; use temperature= \\(temperature is 1 / scale\\)"),
]


@pytest.mark.parametrize("fn, args, kwargs, message", CASES)
def test_foreign_keywords_name_the_jaxloss_spelling(fn, args, kwargs, message):
    with pytest.raises(TypeError, match=message):
        fn(*args, **kwargs)


def test_deprecated_keywords_are_still_accepted():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DeprecationWarning, match="class_weights= is deprecated"):
            jaxloss.arcface_loss(X, class_weights=jnp.ones((3, 2)), labels=Y)
