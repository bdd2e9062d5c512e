"""Contract specs for the proxy / multi-centre losses (Proxy-Anchor, SoftTriple, margin,
N-pairs) and the sub-center and multiplicative-margin heads."""

import numpy as np

from . import LABEL_PROBES, Spec, accepting, args, integers, normal
from .laws import relabel, rows

B, D, C, K = 6, 4, 3, 2


def _class_labels(rng):
    return np.array([0, 0, 1, 1, 2, 2], np.int32)[rng.permutation(B)]


def _unit_rows(scale):
    return lambda rng: (scale * rng.standard_normal((B, D))).astype(np.float32)


def _matrix_spec(columns: int, permuted, masks: bool = True, **kwargs) -> Spec:
    """A ``(embeddings, [dim, columns] matrix, class labels)`` loss."""
    return Spec(
        make=args(normal(B, D), normal(D, columns), _class_labels),
        extreme=args(_unit_rows(1e4), normal(D, columns, scale=1e-4), _class_labels),
        bad=args(normal(B, D), normal(columns, D + 1), _class_labels),
        diff=(0, 1),
        kwargs=kwargs,
        nonnegative=True,
        permuted=permuted,
        numeric=(2,),
        masks=masks,
    )


# Per-class boundaries: a 0-d beta would become a NumPy scalar when the law tests scale it.
_BETA = np.array([1.0, 1.2, 0.9], np.float32)


def _margin(rng):
    return normal(B, D)(rng), _class_labels(rng), _BETA.copy()


def _margin_extreme(rng):
    return normal(B, D, scale=1e4)(rng), _class_labels(rng), _BETA.copy()


def _margin_bad(rng):
    return normal(B, D)(rng), integers(B - 1, high=3)(rng), _BETA.copy()


SPECS = {
    # "mean" and "sum" are both the sum of the per-proxy terms (PML's value), so the generic
    # mean-of-"none" law does not apply: tested in tests/test_embedding_proxies.py.
    # Renaming the classes permutes the proxies (the "none" entries).
    "proxy_anchor_loss": _matrix_spec(C, relabel(1, 2, axis=1), masks=False, alpha=8.0),
    "soft_triple_loss": _matrix_spec(C * K, rows(0, 2), centers_per_class=K, la=5.0, gamma=0.5),
    "sub_center_arcface_loss": _matrix_spec(
        C * K, rows(0, 2), sub_centers=K, scale=8.0, margin=0.3
    ),
    "large_margin_softmax_loss": _matrix_spec(C, relabel(1, 2, axis=1), margin=3),
    "sphereface_loss": _matrix_spec(C, relabel(1, 2, axis=1), margin=3, scale=2.0),
    # "mean" divides by PML's count of active hinge terms (a normalizer), not by the number of
    # anchors: the generic weights/where law does not apply (tested in the family file).
    "margin_loss": Spec(
        make=_margin,
        extreme=_margin_extreme,
        bad=_margin_bad,
        diff=(0, 2),
        kwargs={"margin": 0.2},
        nonnegative=True,
        permuted=rows(0, 1),
        accepts={(2, "rank_down"): "a scalar beta is valid: one boundary for every class"},
        numeric=(2,),
        masks=False,
    ),
    "npairs_loss": Spec(
        make=args(normal(B, D), normal(B, D), _class_labels),
        extreme=args(normal(B, D, scale=1e4), normal(B, D), _class_labels),
        bad=args(normal(B, D), normal(B - 1, D), _class_labels),
        diff=(0, 1),
        kwargs={"temperature": 0.5},
        nonnegative=True,
        permuted=rows(0, 1, 2),
        accepts={
            **accepting(
                "labels are identities, not class indices: any integer is a valid label",
                (2,),
                LABEL_PROBES,
            ),
            (2, "rank_up"): "[batch, 1] is a valid multi-hot label matrix (one class)",
        },
        numeric=(2,),
    ),
}
