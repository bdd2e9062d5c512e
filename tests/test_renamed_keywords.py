"""Wave-1 keywords renamed to DESIGN.md's names table keep working for one release.

The old keyword gives the same value with a ``DeprecationWarning`` naming the new one;
passing both raises ``TypeError``. (The angular-margin heads' ``class_weights`` ->
``centers`` is in ``test_embedding_names.py``.)
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

import jaxloss

A = np.array([0.5, -1.0, 2.0], np.float32)
B = np.array([1.0, 0.0, 3.0], np.float32)
SIGNS = np.array([1.0, -1.0, 1.0], np.float32)
E1 = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], np.float32)
E2 = np.array([[0.5, 0.5], [1.0, 0.0], [0.0, -1.0]], np.float32)


def _critic(x):
    return 2.0 * x.sum(axis=-1) + (x**2).sum(axis=-1)


# name -> (function, positional args before the renamed one, old keyword, new keyword, value, other kwargs)
CASES = {
    "poisson_nll_loss": (jaxloss.poisson_nll_loss, (), "inputs", "predictions", A, {"targets": B}),
    "margin_ranking_loss": (jaxloss.margin_ranking_loss, (A, B), "y", "labels", SIGNS, {"margin": 0.5}),
    "cosine_embedding_loss": (jaxloss.cosine_embedding_loss, (E1, E2), "y", "labels", SIGNS, {}),
    "gradient_penalty": (jaxloss.gradient_penalty, (_critic, E1, E2, jax.random.key(0)), "target", "target_norm",
                         0.5, {}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_old_keyword_warns_and_gives_the_same_value(name):
    fn, positional, old, new, value, kwargs = CASES[name]
    expected = fn(*positional, **{new: value}, **kwargs)
    with pytest.warns(DeprecationWarning, match=f"{name}: the keyword {old}= is deprecated; use {new}= instead"):
        got = fn(*positional, **{old: value}, **kwargs)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
    with pytest.raises(TypeError, match=f"got both {new}= and its deprecated name {old}="):
        fn(*positional, **{old: value, new: value}, **kwargs)


def test_the_new_keyword_changes_the_value():
    # Guards the table above: the renamed argument is actually used (not shadowed by a default).
    fn, positional, _, new, value, kwargs = CASES["gradient_penalty"]
    assert float(fn(*positional, **{new: value}, **kwargs)) != float(fn(*positional, **kwargs))
