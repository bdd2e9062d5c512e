"""Builders for the law metadata of a ``Spec`` (``zero_at``, ``symmetric``, ``permuted``).

``zero_at``/``symmetric`` builders map the spec's positional arguments to new ones;
``permuted`` builders take ``(args, rng)``. ``tests/test_properties.py`` applies them.
"""

from __future__ import annotations

import numpy as np


def replace(args: tuple, **new) -> tuple:
    """``args`` with ``a<i>=value`` entries replaced (``replace(args, a1=x)``)."""
    out = list(args)
    for k, v in new.items():
        out[int(k[1:])] = v
    return tuple(out)


def same(args: tuple) -> tuple:
    """The second argument set to the first (predictions == targets)."""
    return replace(args, a1=args[0])


def swap(args: tuple) -> tuple:
    """The first two arguments exchanged."""
    return replace(args, a0=args[1], a1=args[0])


def prototypes(labels: np.ndarray, dim: int) -> np.ndarray:
    """Embeddings equal within a class and >= 14 apart across classes."""
    return (10.0 * np.eye(dim, dtype=np.float32)[labels]).astype(np.float32)


def onehot_logits(targets: np.ndarray, classes: int, big: float = 50.0) -> np.ndarray:
    return (big * (2.0 * np.eye(classes, dtype=np.float32)[targets] - 1.0)).astype(np.float32)


def winning(scores: np.ndarray, labels: np.ndarray, gap: float) -> np.ndarray:
    """Scores whose labelled class beats every other by ``gap``."""
    s = scores.copy()
    s[np.arange(len(labels)), labels] = s.max(-1) + gap
    return s


def rows(*indices, axis=0):
    """Permutes the given arguments along ``axis`` with one shared permutation."""

    def permute(args, rng):
        n = args[indices[0]].shape[axis]
        p = rng.permutation(n)
        return tuple(np.take(a, p, axis=axis) if i in indices else a for i, a in enumerate(args))

    return permute


def each(*indices, axis=1):
    """Permutes each given argument along ``axis`` independently (point clouds, 1-D samples)."""

    def permute(args, rng):
        return tuple(np.take(a, rng.permutation(a.shape[axis]), axis=axis) if i in indices else a
                     for i, a in enumerate(args))

    return permute


def relabel(scores_axis_arg: int, labels_arg: int, axis: int):
    """Renames the classes: permutes the class axis of one argument and maps the labels."""

    def permute(args, rng):
        c = args[scores_axis_arg].shape[axis]
        p = rng.permutation(c)
        out = list(args)
        out[scores_axis_arg] = np.take(args[scores_axis_arg], p, axis=axis)
        out[labels_arg] = np.argsort(p)[args[labels_arg]].astype(args[labels_arg].dtype)
        return tuple(out)

    return permute


def both(*perms):
    """Applies several permutations in turn."""

    def permute(args, rng):
        for p in perms:
            args = p(args, rng)
        return args

    return permute
