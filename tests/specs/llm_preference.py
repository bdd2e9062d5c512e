"""Contract specs for the preference losses on sequence log-probabilities (DPO, SimPO,
ORPO, CPO, KTO, BCO)."""

import numpy as np

from jaxloss import bco_init

from . import Spec, args
from .laws import rows

B = 4


def _logps(*shape, scale=1.0, low=0.1, high=6.0):
    """Negative log-probabilities (sums over a completion, or length averages)."""
    return lambda rng: (-scale * rng.uniform(low, high, shape)).astype(np.float32)


def _bools(*shape):
    return lambda rng: rng.uniform(size=shape) < 0.5


def _scalar(value):
    return lambda rng: np.float32(value) * np.ones((), np.float32)


def _paired(n, **fields):
    """``n`` paired [B] log-probability arguments, policy ones differentiated."""
    return Spec(
        make=args(*(_logps(B) for _ in range(n))),
        extreme=args(*(_logps(B, scale=1e4) for _ in range(n))),
        bad=args(*(_logps(B) for _ in range(n - 1)), _logps(B + 1)),
        diff=(0, 1),
        nonnegative=True,
        permuted=rows(*range(n)),
        **fields,
    )


_AVERAGED = {"low": 0.05, "high": 3.0}

SPECS = {
    "dpo_loss": _paired(4),
    "simpo_loss": _paired(2),
    "cpo_loss": _paired(2),
    "orpo_loss": Spec(
        make=args(_logps(B, **_AVERAGED), _logps(B, **_AVERAGED)),
        extreme=args(_logps(B, scale=1e4, **_AVERAGED), _logps(B, scale=1e-4, **_AVERAGED)),
        bad=args(_logps(B), _logps(B + 1)),
        diff=(0, 1),
        nonnegative=True,
        permuted=rows(0, 1),
        not_finite={
            (1, "zeros"): "a rejected log-probability of 0 has infinite odds: the loss is +inf",
        },
    ),
    "kto_loss": Spec(
        make=args(_logps(B), _logps(B), _bools(B), _scalar(0.3)),
        extreme=args(_logps(B, scale=1e4), _logps(B, scale=1e4), _bools(B), _scalar(1e4)),
        bad=args(_logps(B), _logps(B + 1), _bools(B), _scalar(0.3)),
        kwargs={"desirable_weight": 1.5, "undesirable_weight": 0.7},
        diff=(0,),
        nonnegative=True,
        permuted=rows(0, 1, 2),
        numeric=(3,),
    ),
    # The where mask also keeps examples out of the running moments (the delta of the other
    # examples changes): tested in tests/test_llm_preference.py, not by the generic contract.
    # delta is the running mean of this batch's rewards under stop_gradient (TRL): finite
    # differences see its dependence on the log-probabilities, the gradient does not.
    "bco_loss": Spec(
        make=lambda rng: (
            _logps(B)(rng),
            _logps(B)(rng),
            _bools(B)(rng),
            bco_init()._replace(mean=np.float32(rng.standard_normal())),
        ),
        extreme=lambda rng: (
            _logps(B, scale=1e4)(rng),
            _logps(B, scale=1e4)(rng),
            _bools(B)(rng),
            bco_init(),
        ),
        bad=lambda rng: (_logps(B)(rng), _logps(B)(rng), _bools(B + 1)(rng), bco_init()),
        diff=(0,),
        output=lambda out: out[0],
        masks=False,
        vmap=False,
        grad_check=False,
        nonnegative=True,
        permuted=rows(0, 1, 2),
    ),
}
