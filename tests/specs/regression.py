"""Contract specs for the regression family."""

from . import Spec, args, normal, uniform
from .laws import same, swap

_pair = args(normal(4, 3), normal(4, 3))
_extreme = args(normal(4, 3, scale=1e4), normal(4, 3))
_bad = args(normal(4, 3), normal(4, 2))


def _spec(symmetric=(swap, 1.0), nonnegative: bool | str = True, **kwargs):
    # Elementwise residual losses: 0 at predictions == targets, pytrees accepted.
    return Spec(make=_pair, extreme=_extreme, bad=_bad, kwargs=kwargs, nonnegative=nonnegative, zero_at=same,
                symmetric=symmetric, numeric=(1,), pytree=True)


SPECS = {
    "squared_error": _spec(),
    "absolute_error": _spec(),
    "mean_bias_error": _spec(nonnegative="the signed residual", symmetric=(swap, -1.0)),
    "huber_loss": _spec(delta=1.5),
    "smooth_l1_loss": _spec(beta=0.5),
    "log_cosh": _spec(),
    "wing_loss": _spec(width=2.0, curvature=0.5),
    # Pinball loss: swapping p and t is the same as quantile -> 1 - quantile (test_properties.py).
    "quantile_loss": _spec(quantile=0.3, symmetric=None),
    "robust_loss": _spec(alpha=0.5, scale=0.7),
    "gaussian_nll_loss": Spec(
        make=args(normal(4, 3), normal(4, 3), uniform(4, 3, low=0.5, high=2.0)),
        extreme=args(normal(4, 3, scale=1e4), normal(4, 3), uniform(4, 3, low=1e-3, high=1e3)),
        bad=args(normal(4, 3), normal(4, 3), uniform(2, 3, low=0.5, high=2.0)),
        diff=(0, 2),
        nonnegative="log(variance) / 2 is negative for variance < 1",
        numeric=(1,), pytree=True,
    ),
    "poisson_nll_loss": Spec(
        make=args(normal(4, 3), uniform(4, 3, high=5.0)),
        extreme=args(normal(4, 3, scale=20.0), uniform(4, 3, high=1e4)),
        bad=_bad,
        kwargs={"full": True},
        # With full=True the Stirling term makes it -log of a Poisson likelihood:
        # its minimum over the rate is t - t log t >= 0 (t <= 1) or log(2 pi t) / 2 > 0 (t > 1).
        nonnegative=True,
        scalable=(1,),  # the log-rate is not scaled: exp overflows
        numeric=(1,),
        not_finite={(0, "extreme"): "log_input=True: exp(1e4) is beyond float range (the loss is +inf)"},
        pytree=True,
    ),
}
