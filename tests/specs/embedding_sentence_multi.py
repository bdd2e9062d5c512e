"""Contract specs for the multi-direction sentence-transformers losses (symmetric and
bidirectional multiple-negatives ranking, GISTEmbed)."""

from . import Spec, args, normal
from .laws import both, each, rows

B, D = 6, 4

_SHARED = {
    (
        2,
        "rank_down",
    ): "[batch, k, dim] minus its batch axis is [m, dim]: negatives shared by every anchor"
}


def _mnrl_like(**kwargs):
    return Spec(
        make=args(normal(B, D), normal(B, D), normal(B, 2, D)),
        extreme=args(normal(B, D, scale=1e4), normal(B, D), normal(B, 2, D, scale=1e-4)),
        bad=args(normal(B, D), normal(B - 1, D), normal(B, 2, D)),
        diff=(0, 1, 2),
        kwargs=kwargs,
        nonnegative=True,
        permuted=both(rows(0, 1, 2), each(2, axis=1)),
        accepts=_SHARED,
    )


SPECS = {
    "multiple_negatives_symmetric_ranking_loss": _mnrl_like(scale=5.0),
    "multiple_negatives_bidirectional_ranking_loss": _mnrl_like(temperature=0.2),
    # Self-guided (no guide embeddings: the model's own, under stop_gradient); the
    # margin keeps some candidates dropped and some kept. The guide path is checked
    # against sentence-transformers in tests/test_embedding_sentence_multi.py.
    "gist_embed_loss": _mnrl_like(temperature=0.2, margin=0.1),
}
