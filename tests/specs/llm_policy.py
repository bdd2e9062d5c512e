"""Contract specs for the llm policy losses (API.md 3.C C7, C9, C10) and the distillation
losses (C11-C14)."""

import numpy as np

from . import Spec, args, normal
from .laws import replace, same, swap

B, L, V = 4, 5, 6


def _logprobs(*shape, high=3.0):
    return lambda rng: -rng.uniform(0.05, high, shape).astype(np.float32)


def _mask(*shape):
    def make(rng):
        m = rng.uniform(size=shape) < 0.75
        m[:, 0] = True
        return m

    return make


def _full_mask(*shape):
    return lambda rng: np.ones(shape, bool)


def _near(rng):
    """(logprobs, old_logprobs) with ratios around 1, some beyond the clip range."""
    lp = _logprobs(B, L)(rng)
    return lp, (lp + 0.3 * rng.standard_normal((B, L))).astype(np.float32)


def _grpo_args(rng):
    lp, old = _near(rng)
    return lp, old, normal(B)(rng), _mask(B, L)(rng)


def _grpo_extreme(rng):
    lp, old = _near(rng)
    return 1e2 * lp, old, normal(B, scale=1e4)(rng), _mask(B, L)(rng)


def _grpo_bad(rng):
    lp, old = _near(rng)
    return lp, old, normal(B)(rng), _mask(B, L + 1)(rng)


_PAIR = args(normal(B, V), normal(B, V))
_PAIR_EXTREME = args(normal(B, V, scale=1e3), normal(B, V, scale=1e3))
_PAIR_BAD = args(normal(B, V), normal(B, V + 1))
_distill = Spec(
    make=_PAIR, extreme=_PAIR_EXTREME, bad=_PAIR_BAD, diff=(0, 1), nonnegative=True, zero_at=same
)

SPECS = {
    "kl_penalty": Spec(
        make=args(_logprobs(B, L), _logprobs(B, L)),
        extreme=args(_logprobs(B, L, high=30.0), _logprobs(B, L, high=30.0)),
        bad=args(_logprobs(B, L), _logprobs(B, L + 1)),
        diff=(0, 1),
        nonnegative=True,
        zero_at=same,
        not_finite={
            (0, "extreme"): "k3 = e^(ref - logp) - ...: a log-ratio of 1e4 overflows every float "
            "format (TRL and Liger overflow too)",
        },
    ),
    "grpo_loss": Spec(
        make=_grpo_args,
        extreme=_grpo_extreme,
        bad=_grpo_bad,
        masks=False,
        kwargs={"beta": 0.0},
        nonnegative="the surrogate is -rho * A: negative wherever the advantage is positive",
        numeric=(2, 3),
        not_finite={
            (1, "extreme"): "rho = e^(logp - old): a log-ratio of 1e4 overflows (TRL and Liger "
            "overflow too), and the unclipped branch is then -inf * A",
        },
    ),
    "ppo_value_loss": Spec(
        # An all-true mask: the generic weights/where laws then hold over the "none" output
        # (padding is tested in tests/test_llm_policy.py).
        make=args(normal(B, L), normal(B, L), normal(B, L), _full_mask(B, L)),
        extreme=args(normal(B, L, scale=1e4), normal(B, L), normal(B, L), _full_mask(B, L)),
        bad=args(normal(B, L), normal(B, L), normal(B, L + 1), _full_mask(B, L)),
        nonnegative=True,
        zero_at=lambda a: replace(a, a1=a[0], a2=a[0]),
        numeric=(3,),
    ),
    "kd_loss": _distill.with_(kwargs={"temperature": 2.0}),
    "generalized_jsd_loss": _distill.with_(symmetric=(swap, 1.0)),
    "tvd_loss": _distill.with_(symmetric=(swap, 1.0)),
    "skew_kl_loss": _distill,
}
