"""Contract specs for DINO, iBOT, SwAV and CoCa (the self-distillation and clustering
self-supervised losses, and the contrastive captioner)."""

import numpy as np

from . import Spec, accepting, args, integers, normal

V, G, B, K = 4, 2, 3, 5  # crops, global crops, images, prototypes
N = 4  # patches per image
D, T, VOCAB = 3, 5, 6  # CoCa: embedding dim, tokens, vocabulary

_state = dict(output=lambda out: out[0], nonnegative=True)


def _masks(rng):
    m = rng.uniform(size=(B, N)) < 0.5
    m[0, 0] = True  # the hostile probes write NaN at entry 0: it must be a counted patch
    m[1] = False  # an image with nothing masked
    return m


def _ibot(scale=1.0):
    return lambda rng: (
        normal(B, N, K, scale=scale)(rng),
        normal(B, N, K, scale=scale)(rng),
        _masks(rng),
        normal(K)(rng),
    )


def _caption_labels(rng):
    labels = rng.integers(0, VOCAB, (B + 1, T)).astype(np.int32)
    labels[:, 0] = 1 + labels[:, 0] % (VOCAB - 1)  # a non-padding token in every caption
    return labels


SPECS = {
    "dino_loss": Spec(
        make=args(normal(V, B, K), normal(G, B, K), normal(K)),
        extreme=args(normal(V, B, K, scale=1e4), normal(G, B, K, scale=1e4), normal(K)),
        bad=args(normal(V, B, K), normal(G, B, K + 1), normal(K)),
        accepts=accepting(
            "fewer crops is a valid call (the student keeps >= 2 crops, the teacher >= 1)",
            (0, 1),
            ("batch_short",),
        ),
        **_state,
    ),
    "ibot_patch_loss": Spec(
        shard=False,  # odd leading dimension
        make=_ibot(),
        extreme=_ibot(1e4),
        bad=lambda rng: (
            normal(B, N, K)(rng),
            normal(B, N, K)(rng),
            _masks(rng)[:, :-1],
            normal(K)(rng),
        ),
        **_state,
    ),
    # The Sinkhorn codes are targets under stop_gradient, which finite differences see.
    "swav_loss": Spec(
        shard=False,  # odd leading dimension
        make=args(normal(3, B + 1, K)),
        extreme=args(normal(3, B + 1, K, scale=1e4)),
        bad=args(normal(B + 1, K)),
        grad_check=False,
        nonnegative=True,
        accepts=accepting(
            "two crops are enough for crops_for_assign=(0, 1)", (0,), ("batch_short",)
        ),
    ),
    "coca_loss": Spec(
        make=args(normal(B + 1, D), normal(B + 1, D), normal(B + 1, T, VOCAB), _caption_labels),
        extreme=args(
            normal(B + 1, D, scale=1e4),
            normal(B + 1, D, scale=1e-4),
            normal(B + 1, T, VOCAB, scale=1e4),
            _caption_labels,
        ),
        bad=args(
            normal(B + 1, D),
            normal(B + 1, D),
            normal(B + 1, T, VOCAB),
            integers(B + 1, T + 1, high=VOCAB),
        ),
        diff=(0, 1, 2),
        nonnegative=True,
    ),
}
