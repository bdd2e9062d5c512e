"""Ranking options against sentence-transformers CrossEncoder losses (gen_ranking_st.py, a stub model).

ListNetLoss is softmax_ranking_loss with label_fn = softmax of the labels over the valid
items (API.md E4); ListMLELoss and PListMLELoss are listmle_loss without and with
position_weights="plistmle" (E3). float32, as the anchor.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from references import load

import jaxloss

G = load("ranking_st")


def _softmax_labels(labels, where=None):
    """The target of ST's ListNetLoss: softmax of the labels over the valid items."""
    return jax.nn.softmax(labels if where is None else jnp.where(where, labels, -jnp.inf), axis=-1)


CASES = {
    "listnet": lambda s: jaxloss.softmax_ranking_loss(
        s, G["labels"], where=G["where"], label_fn=_softmax_labels
    ),
    "listmle": lambda s: jaxloss.listmle_loss(s, G["labels"], where=G["where"]),
    "plistmle": lambda s: jaxloss.listmle_loss(
        s, G["labels"], where=G["where"], position_weights="plistmle"
    ),
}


def test_against_sentence_transformers():
    @jax.jit
    def every(s):
        return {name: jax.value_and_grad(fn)(s) for name, fn in CASES.items()}

    for name, (value, grad) in every(jnp.asarray(G["scores"])).items():
        np.testing.assert_allclose(value, G[f"{name}/value"], rtol=2e-6, err_msg=name)
        np.testing.assert_allclose(grad, G[f"{name}/grad"], rtol=2e-5, atol=1e-7, err_msg=name)


def test_plistmle_with_segments_equals_separate_lists():
    """The packed form of the padded lists (one segment per list) gives the same loss."""
    where = G["where"]
    segments = np.broadcast_to(np.arange(where.shape[0])[:, None], where.shape).reshape(1, -1)
    packed = [G["scores"].reshape(1, -1), G["labels"].reshape(1, -1)]
    loss = jax.jit(
        lambda s, y: jaxloss.listmle_loss(
            s, y, where=where.reshape(1, -1), segments=segments, position_weights="plistmle"
        )
    )
    got = loss(*packed)
    np.testing.assert_allclose(got, G["plistmle/value"], rtol=2e-6)
