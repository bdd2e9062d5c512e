"""Labelled-batch losses on a one-item batch: no anchor has a positive, so the loss is 0
with zero gradients (PML; issue 19), for every registered ``(embeddings, labels)`` loss."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from specs import all_specs

import jaxloss

SPECS = all_specs()


def _labelled(name: str) -> bool:
    if name not in SPECS or jaxloss.info(name).family != "embedding":  # a missing spec fails test_contract
        return False
    args = SPECS[name].make(np.random.default_rng(0))
    return (len(args) == 2 and np.ndim(args[0]) == 2 and np.ndim(args[1]) == 1
            and np.issubdtype(np.asarray(args[1]).dtype, np.integer) and len(args[0]) == len(args[1]))


LABELLED = [n for n in sorted(jaxloss.available()) if _labelled(n)]


def test_the_labelled_batch_losses_are_found():
    assert {"supervised_contrastive_loss", "ntxent", "triplet_loss", "batch_contrastive_loss"} <= set(LABELLED)


@pytest.mark.parametrize("name", LABELLED)
def test_one_item_batch_is_zero_with_zero_gradients(name):
    spec, fn = SPECS[name], jaxloss.get(name)
    embeddings, labels = spec.make(np.random.default_rng(1))
    value, grad = jax.value_and_grad(lambda e: spec.output(fn(e, labels[:1], **spec.kwargs)))(embeddings[:1])
    assert float(value) == 0.0
    np.testing.assert_array_equal(grad, 0.0)
