"""Contract specs for the fused preference losses (DPO, ORPO, SimPO, CPO on hidden @ weight)."""

import numpy as np

from . import Spec, args, normal

PAIRS, T, D, V = 2, 3, 4, 5


def _labels(rng):
    """Next-token labels of the stacked chosen/rejected completions, padding ignored (not the
    first token: the hostile tests put NaN there, and an ignored token's hidden state is unused)."""
    y = rng.integers(0, V, (2 * PAIRS, T)).astype(np.int32)
    y[1:, -1] = -100
    return y


def _spec(**kwargs):
    # Rows are chosen-then-rejected halves, so permuting axis 0 would break the pairs.
    return Spec(
        make=args(normal(2 * PAIRS, T, D), normal(D, V), _labels),
        kwargs={"chunk_size": 5, **kwargs},
        diff=(0, 1),
        extreme=args(normal(2 * PAIRS, T, D, scale=1e3), normal(D, V), _labels),
        bad=args(normal(2 * PAIRS - 1, T, D), normal(D, V), lambda rng: _labels(rng)[:-1]),
        nonnegative=True,
        numeric=(2,),
    )


SPECS = {
    "fused_linear_dpo_loss": _spec(nll_weight=0.5),
    "fused_linear_orpo_loss": _spec(),
    "fused_linear_simpo_loss": _spec(),
    "fused_linear_cpo_loss": _spec(),
}
