"""Contract spec for the linear-chain CRF negative log-likelihood."""

from . import Spec, args, integers, normal

B, T, C = 4, 3, 3

SPECS = {
    "crf_loss": Spec(
        make=args(normal(B, T, C), integers(B, T, high=C), normal(C, C)),
        extreme=args(normal(B, T, C, scale=1e4), integers(B, T, high=C), normal(C, C, scale=1e4)),
        bad=args(normal(B, T, C), integers(B, T + 1, high=C), normal(C, C)),
        diff=(0, 2),
        nonnegative=True,
    ),
}
