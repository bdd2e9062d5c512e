"""``python -m jaxloss.demo``: what the losses do, on scikit-learn's bundled digits.

Trains small Flax (NNX) models with optax on CPU and compares losses:

(a) imbalanced classification (classes 5-9 subsampled to 5 %): cross-entropy,
    class-balanced cross-entropy, softmax focal loss and Poly-1, scored by
    balanced accuracy on a balanced test split;
(b) an embedding network trained with batch-hard triplet loss and with
    supervised contrastive loss, scored by recall@1 on held-out digits;
(c) segmentation of synthetic shapes with Dice loss and with cross-entropy,
    scored by the mean Dice of the foreground classes.

It prints a results table and writes a figure (loss curves and metrics).
``--quick`` trains for fewer steps; ``--out DIR`` chooses where the figure goes.
"""

from __future__ import annotations

import argparse
import itertools
import pathlib
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

_EXTRA = 'pip install -e ".[demo]"'


def _require() -> dict[str, Any]:
    """Imports the demo's extra dependencies, or explains how to install them."""
    modules = {}
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import optax
        import sklearn.datasets
        from flax import nnx
        from tqdm.auto import tqdm
    except ImportError as err:
        print(
            f"jaxloss.demo needs the 'demo' extra ({err.name} is missing).\n"
            f"Install it from the repository root with:\n    {_EXTRA}",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
    modules.update(plt=plt, optax=optax, datasets=sklearn.datasets, nnx=nnx, tqdm=tqdm)
    return modules


# --------------------------------------------------------------------------- data


def _digits(datasets, seed: int):
    data = datasets.load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int32)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    x, y = x[order], y[order]
    test = np.zeros(len(y), bool)
    for c in range(10):  # a balanced test split: 40 per class
        test[np.flatnonzero(y == c)[:40]] = True
    return x[~test], y[~test], x[test], y[test]


def _imbalance(x, y, seed: int, keep: float = 0.05):
    rng = np.random.default_rng(seed)
    minority = y >= 5
    kept = ~minority | (rng.uniform(size=len(y)) < keep)
    return x[kept], y[kept]


def _shapes(n: int, size: int, seed: int):
    """Images with a square (class 1) and a disc (class 2) on a noisy background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images = rng.normal(0, 0.3, (n, size, size, 1)).astype(np.float32)
    masks = np.zeros((n, size, size), np.int32)
    for i in range(n):
        s = rng.integers(3, 6)
        r0, c0 = rng.integers(0, size - s, 2)
        masks[i, r0:r0 + s, c0:c0 + s] = 1
        radius = rng.uniform(2, 4)
        cr, cc = rng.uniform(radius, size - radius, 2)
        masks[i][(yy - cr) ** 2 + (xx - cc) ** 2 <= radius**2] = 2
    images[..., 0] += np.where(masks == 1, 1.0, 0.0) + np.where(masks == 2, -1.0, 0.0)
    return images, masks


# --------------------------------------------------------------------------- training


def _train(m, make_model: Callable, loss_fn: Callable, x, y, steps: int, lr: float, bar, batch: int | None = None,
           seed: int = 0):
    """Trains a fresh model with Adam on ``loss_fn(model(x), y)``; returns (model, curve)."""
    import jax

    nnx, optax = m["nnx"], m["optax"]
    model = make_model(nnx.Rngs(seed))
    optimizer = nnx.Optimizer(model, optax.adam(lr), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, xb, yb):
        loss, grads = nnx.value_and_grad(lambda mdl: loss_fn(mdl(xb), yb))(model)
        optimizer.update(model, grads)
        return loss

    rng = np.random.default_rng(seed)
    curve = []
    for _ in range(steps):
        if batch is None:
            xb, yb = x, y
        else:
            idx = rng.choice(len(y), batch, replace=False)
            xb, yb = x[idx], y[idx]
        curve.append(float(jax.device_get(step(model, optimizer, xb, yb))))
        bar.update(1)
    return model, np.asarray(curve)


def _mlp(nnx, sizes: list[int], normalize: bool = False):
    class MLP(nnx.Module):
        def __init__(self, rngs):
            self.layers = nnx.List(
                [nnx.Linear(a, b, rngs=rngs) for a, b in itertools.pairwise(sizes)]
            )

        def __call__(self, x):
            import jax.numpy as jnp

            for layer in self.layers[:-1]:
                x = nnx.relu(layer(x))
            x = self.layers[-1](x)
            return x / jnp.linalg.norm(x, axis=-1, keepdims=True) if normalize else x

    return MLP


def _segmenter(nnx, classes: int):
    class Segmenter(nnx.Module):
        def __init__(self, rngs):
            self.c1 = nnx.Conv(1, 16, (3, 3), rngs=rngs)
            self.c2 = nnx.Conv(16, 16, (3, 3), rngs=rngs)
            self.out = nnx.Conv(16, classes, (1, 1), rngs=rngs)

        def __call__(self, x):
            return self.out(nnx.relu(self.c2(nnx.relu(self.c1(x)))))

    return Segmenter


def _balanced_accuracy(pred, y) -> float:
    return float(np.mean([np.mean(pred[y == c] == c) for c in np.unique(y)]))


def _recall_at_1(emb, y) -> float:
    sim = emb @ emb.T
    np.fill_diagonal(sim, -np.inf)
    return float(np.mean(y[np.argmax(sim, axis=1)] == y))


def _mean_dice(pred, masks, classes: int) -> float:
    scores = []
    for c in range(1, classes):
        p, t = pred == c, masks == c
        denom = p.sum() + t.sum()
        scores.append(2 * np.logical_and(p, t).sum() / denom if denom else 1.0)
    return float(np.mean(scores))


# --------------------------------------------------------------------------- main


def run(quick: bool, out: pathlib.Path, seed: int = 0) -> dict[str, dict[str, float]]:
    m = _require()
    import jax.numpy as jnp

    import jaxloss

    nnx, plt = m["nnx"], m["plt"]
    steps_a, steps_b, steps_c = (150, 150, 120) if quick else (400, 400, 300)
    x_tr, y_tr, x_te, y_te = _digits(m["datasets"], seed)
    x_im, y_im = _imbalance(x_tr, y_tr, seed)
    counts = np.bincount(y_im, minlength=10)
    class_weights = jaxloss.class_balanced_weights(jnp.asarray(counts), beta=0.999)
    images, masks = _shapes(96 if quick else 192, 16, seed)
    test_images, test_masks = _shapes(48, 16, seed + 1)

    classification = {
        "cross-entropy": lambda z, y: jaxloss.softmax_cross_entropy(z, y),
        "class-balanced CE": lambda z, y: jaxloss.softmax_cross_entropy(z, y, class_weights=class_weights),
        "focal (gamma=2)": lambda z, y: jaxloss.softmax_focal_loss(z, y, gamma=2.0),
        "Poly-1 (eps=1)": lambda z, y: jaxloss.poly1_cross_entropy(z, y, epsilon=1.0),
    }
    embedding = {
        "triplet, batch-hard": lambda e, y: jaxloss.triplet_loss(e, y, margin=0.2, mining="batch_hard"),
        "supervised contrastive": lambda e, y: jaxloss.supervised_contrastive_loss(e, y, temperature=0.1),
    }
    segmentation = {
        "Dice": lambda z, y: jaxloss.dice_loss(z, y, activation="softmax"),
        "cross-entropy": lambda z, y: jaxloss.softmax_cross_entropy(z, y),
    }
    total = steps_a * len(classification) + steps_b * len(embedding) + steps_c * len(segmentation)
    results: dict[str, dict[str, float]] = {}
    curves: dict[str, dict[str, np.ndarray]] = {"a": {}, "b": {}, "c": {}}
    start = time.perf_counter()
    with m["tqdm"](total=total, desc="training", unit="step") as bar:
        for name, loss in classification.items():
            model, curves["a"][name] = _train(m, _mlp(nnx, [64, 64, 10]), loss, x_im, y_im, steps_a, 1e-2, bar, seed=seed)
            pred = np.asarray(jnp.argmax(model(x_te), -1))
            results[f"(a) {name}"] = {"balanced accuracy": _balanced_accuracy(pred, y_te)}
        for name, loss in embedding.items():
            model, curves["b"][name] = _train(
                m, _mlp(nnx, [64, 64, 32], normalize=True), loss, x_tr, y_tr, steps_b, 3e-3, bar, batch=128, seed=seed
            )
            results[f"(b) {name}"] = {"recall@1": _recall_at_1(np.asarray(model(x_te)), y_te)}
        for name, loss in segmentation.items():
            model, curves["c"][name] = _train(m, _segmenter(nnx, 3), loss, images, masks, steps_c, 1e-2, bar, seed=seed)
            pred = np.asarray(jnp.argmax(model(test_images), -1))
            results[f"(c) {name}"] = {"mean Dice": _mean_dice(pred, test_masks, 3)}
    elapsed = time.perf_counter() - start

    print(f"\nResults ({'quick' if quick else 'full'} run, {elapsed:.0f} s of training on CPU)\n")
    print(f"{'experiment':<32} {'metric':<18} {'value':>7}")
    print("-" * 59)
    for exp, metrics in results.items():
        for metric, value in metrics.items():
            print(f"{exp:<32} {metric:<18} {value:>7.3f}")

    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(3, 2, figsize=(12, 11))
    titles = {
        "a": ("(a) imbalanced digits: training loss", "balanced accuracy (balanced test split)"),
        "b": ("(b) embeddings: training loss", "recall@1 (held-out digits)"),
        "c": ("(c) synthetic shapes: training loss", "mean foreground Dice (test images)"),
    }
    for row, key in enumerate("abc"):
        for name, curve in curves[key].items():
            axes[row, 0].plot(curve, label=name)
        axes[row, 0].set_title(titles[key][0])
        axes[row, 0].set_xlabel("step")
        axes[row, 0].set_yscale("log" if key != "b" else "linear")
        axes[row, 0].legend()
        names = [n for n in results if n.startswith(f"({key})")]
        values = [next(iter(results[n].values())) for n in names]
        bars = axes[row, 1].barh([n[4:] for n in names], values, color="tab:blue")
        axes[row, 1].bar_label(bars, fmt="%.3f")
        axes[row, 1].set_xlim(0, 1.1)
        axes[row, 1].set_title(titles[key][1])
    fig.suptitle("jaxloss demo: what the losses do (Flax NNX + optax on CPU)")
    fig.tight_layout()
    path = out / "jaxloss_demo.png"
    fig.savefig(path, dpi=110)
    print(f"\nFigure: {path.resolve()}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jaxloss.demo", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer training steps (about a minute)")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("demo_out"), help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    run(args.quick, args.out, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
