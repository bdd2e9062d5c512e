"""Contract specs for the assorted wave-2 losses: adaptive softmax (torch), CTC with forward
variables (optax), weighted kappa (TF-Addons)."""

import numpy as np

from . import Spec, args, integers
from .laws import rows
from .margin import _ctc, _ctc_bad

N, D, C = 6, 4, 5
CUTOFFS = (2, 4)  # shortlist {0, 1}, clusters {2, 3} and {4, 5, 6}: vocabulary 7
V = 7


def _adaptive(scale: float = 1.0, dim: int = D):
    # The tails are one pytree argument (a tuple of (proj, out) pairs): not in ``diff``, so the
    # sweep's directional and dtype checks perturb the hidden states and the head only; their
    # gradients are compared with torch's in tests/test_assorted.py. vmap=False: the contract
    # test stacks the arguments of two draws with np.stack, which does not take a tuple of pairs.
    def make(rng):
        hidden = (scale * rng.standard_normal((N, dim))).astype(np.float32)
        head = rng.standard_normal((D, CUTOFFS[0] + len(CUTOFFS))).astype(np.float32)
        tails = (
            (
                rng.standard_normal((D, 2)).astype(np.float32),
                rng.standard_normal((2, 2)).astype(np.float32),
            ),
            (
                rng.standard_normal((D, 1)).astype(np.float32),
                rng.standard_normal((1, 3)).astype(np.float32),
            ),
        )
        labels = np.array([0, 1, 2, 3, 4, 6], np.int32)
        return hidden, head, tails, labels

    return make


def _probabilities(scale: float = 1.0):
    def make(rng):
        z = scale * rng.standard_normal((N, C))
        p = np.exp(z - z.max(-1, keepdims=True))
        return (p / p.sum(-1, keepdims=True)).astype(np.float32)

    return make


SPECS = {
    "adaptive_log_softmax_loss": Spec(
        make=_adaptive(),
        extreme=_adaptive(1e3),
        bad=_adaptive(dim=D + 1),
        diff=(0, 1),
        kwargs={"cutoffs": CUTOFFS},
        nonnegative=True,
        scalable=(0,),
        vmap=False,
    ),
    # The loss is the first output; the forward variables come along unreduced.
    "ctc_loss_with_forward_probs": Spec(
        make=_ctc(1.0),
        extreme=_ctc(1e3),
        bad=_ctc_bad,
        kwargs={"blank_id": 0},
        nonnegative=True,
        numeric=(1, 2, 3),
        shard=False,
        output=lambda out: out[0],
    ),
    # One scalar per batch ("none" too): weights/where act on it, tested in tests/test_assorted.py
    # (the generic check draws a mask of the "none" shape, which for a 0-d output may be all
    # False); a function of the set of rows.
    "weighted_kappa_loss": Spec(
        make=args(_probabilities(), integers(N, high=C)),
        extreme=args(_probabilities(30.0), integers(N, high=C)),
        bad=args(_probabilities(), integers(N + 1, high=C)),
        kwargs={"num_classes": C},
        nonnegative="a log-ratio: log(observed / expected disagreement + eps) < 0 below chance disagreement",
        permuted=rows(0, 1),
        masks=False,
    ),
}
