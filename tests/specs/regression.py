"""Contract specs for the regression family."""

from . import Spec, args, normal, uniform

_pair = args(normal(4, 3), normal(4, 3))
_extreme = args(normal(4, 3, scale=1e4), normal(4, 3))
_bad = args(normal(4, 3), normal(4, 2))


def _spec(**kwargs):
    return Spec(make=_pair, extreme=_extreme, bad=_bad, kwargs=kwargs)


SPECS = {
    "squared_error": _spec(),
    "absolute_error": _spec(),
    "mean_bias_error": _spec(),
    "huber_loss": _spec(delta=1.5),
    "smooth_l1_loss": _spec(beta=0.5),
    "log_cosh": _spec(),
    "wing_loss": _spec(width=2.0, curvature=0.5),
    "quantile_loss": _spec(quantile=0.3),
    "robust_loss": _spec(alpha=0.5, scale=0.7),
    "gaussian_nll_loss": Spec(
        make=args(normal(4, 3), normal(4, 3), uniform(4, 3, low=0.5, high=2.0)),
        extreme=args(normal(4, 3, scale=1e4), normal(4, 3), uniform(4, 3, low=1e-3, high=1e3)),
        bad=args(normal(4, 3), normal(4, 3), uniform(2, 3, low=0.5, high=2.0)),
        diff=(0, 2),
    ),
    "poisson_nll_loss": Spec(
        make=args(normal(4, 3), uniform(4, 3, high=5.0)),
        extreme=args(normal(4, 3, scale=20.0), uniform(4, 3, high=1e4)),
        bad=_bad,
        kwargs={"full": True},
    ),
}
