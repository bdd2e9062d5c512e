"""Contract specs for the fused KTO, GRPO and distillation losses (API.md 3.C C20-C22)."""

import numpy as np

from . import Spec, args, integers, normal
from .laws import rows

B, T, D, V = 4, 3, 4, 5
# Distillation: a teacher with a wider hidden state and a padded (larger) vocabulary.
DT, VT = 6, 7


def _labels(rng):
    """Next-token labels, the last token of most rows ignored (not the first token: the hostile
    tests put NaN there, and an ignored token's hidden state is unused)."""
    y = rng.integers(0, V, (B, T)).astype(np.int32)
    y[1:, -1] = -100
    return y


def _desirable(rng):
    d = rng.uniform(size=B) < 0.5
    d[:2] = True, False
    return d


def _kl(rng):
    return np.float32(0.3) * np.ones((), np.float32)


def _mask(rng):
    m = rng.uniform(size=(B, T)) < 0.75
    m[:, 0] = True
    return m


def _kto(scale=1.0, rows_=B):
    return args(
        normal(rows_, T, D, scale=scale),
        normal(D, V),
        lambda rng: _labels(rng)[:rows_],
        lambda rng: _desirable(rng)[:rows_],
        _kl,
    )


def _grpo(scale=1.0, mask_tokens=T):
    return args(
        normal(B, T, D, scale=scale),
        normal(D, V),
        integers(B, T, high=V),
        lambda rng: np.pad(_mask(rng), ((0, 0), (0, mask_tokens - T)), constant_values=True),
        normal(B),
    )


def _distill(scale=1.0, vocab=V):
    return args(
        normal(B, T, D, scale=scale),
        normal(D, vocab),
        normal(B, T, DT),
        normal(DT, VT),
        integers(B, T, high=V),
    )


SPECS = {
    "fused_linear_kto_loss": Spec(
        make=_kto(),
        kwargs={"chunk_size": 5, "desirable_weight": 1.5, "undesirable_weight": 0.7},
        diff=(0, 1),
        extreme=_kto(scale=1e3),
        bad=args(normal(B, T, D), normal(D, V), _labels, lambda rng: _desirable(rng)[:-1], _kl),
        nonnegative=True,
        permuted=rows(0, 2, 3),
        numeric=(2, 4),
    ),
    # grpo_loss's own normalisations ("mean" is not sum(w*l)/sum(w) over "none"): masks=False,
    # as for grpo_loss; padding and where are tested in tests/test_llm_fused_more.py.
    "fused_linear_grpo_loss": Spec(
        make=_grpo(),
        kwargs={"chunk_size": 5, "beta": 0.0},
        diff=(0, 1),
        extreme=_grpo(scale=1e3),
        bad=_grpo(mask_tokens=T + 1),
        masks=False,
        # old_logprobs=None: the ratio exp(lp - sg(lp)) is 1 everywhere, so the value is flat while
        # the policy gradient is not; finite differences cannot see it. The gradients are checked
        # against Liger with old log-probabilities in tests/test_llm_fused_more.py.
        grad_check=False,
        nonnegative="the surrogate is -rho * A: negative wherever the advantage is positive",
        numeric=(2, 3, 4),
    ),
    "fused_linear_distillation_loss": Spec(
        make=_distill(),
        kwargs={"chunk_size": 5},
        diff=(0, 1),
        extreme=_distill(scale=1e3),
        bad=_distill(vocab=VT + 1),
        nonnegative=True,
        numeric=(4,),
    ),
}
