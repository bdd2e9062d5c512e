"""Renamed keywords of the embedding family: the angular-margin heads' matrix is ``centers``."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import jaxloss

X = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], np.float32)
W = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]], np.float32)  # [dim, classes]
Y = np.array([0, 1, 2], np.int32)

HEADS = {
    "arcface_loss": (jaxloss.arcface_loss, {}),
    "cosface_loss": (jaxloss.cosface_loss, {}),
    "curricularface_loss": (jaxloss.curricularface_loss, {"t": np.float32(0.1)}),
}


def _loss(out):
    return np.asarray(out[0] if isinstance(out, tuple) else out)


@pytest.mark.parametrize("name", sorted(HEADS))
def test_centers_is_the_second_positional_argument(name):
    fn, _ = HEADS[name]
    params = list(inspect.signature(fn).parameters)
    assert params[:3] == ["embeddings", "centers", "labels"]
    assert "class_weights" not in params


@pytest.mark.parametrize("name", sorted(HEADS))
def test_class_weights_keyword_still_works_with_a_deprecation_warning(name):
    fn, state = HEADS[name]
    expected = fn(X, W, Y, *state.values(), scale=4.0)
    with pytest.warns(DeprecationWarning, match=f"{name}: the keyword class_weights= is deprecated; use centers="):
        old = fn(X, class_weights=W, labels=Y, **state, scale=4.0)
    np.testing.assert_array_equal(_loss(old), _loss(expected))
    with pytest.raises(TypeError, match="got both centers= and its deprecated name class_weights="):
        fn(X, centers=W, class_weights=W, labels=Y, **state)
