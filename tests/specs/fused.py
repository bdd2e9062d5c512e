"""Contract specs for the fused (large-vocabulary) family."""

from . import Spec, args, integers, normal

SPECS = {
    # chunk_size=4 does not divide the 6 tokens: the padded last chunk is exercised too. class_weights change
    # the mean's denominator (torch), so they are tested in tests/test_fused_cross_entropy_options.py.
    "fused_linear_cross_entropy": Spec(
        make=args(normal(6, 4), normal(4, 5), integers(6, high=5)),
        kwargs={"chunk_size": 4, "label_smoothing": 0.1, "z_loss": 1e-3, "softcap": 4.0},
        diff=(0, 1),
        extreme=args(normal(6, 4, scale=1e3), normal(4, 5), integers(6, high=5)),
        bad=args(normal(6, 4), normal(5, 5), integers(6, high=5)),
        nonnegative=True,
        numeric=(2,),
    ),
}
