"""Writes the notebooks in notebooks/ from the cell sources below, executed.

    python scripts/docs_notebooks.py               # write and execute every notebook
    python scripts/docs_notebooks.py 03            # only the notebooks whose name contains "03"
    python scripts/docs_notebooks.py --no-execute  # write them without outputs

Editing the cells here (not the .ipynb files) keeps the notebooks reviewable.
The notebooks are committed with their outputs (executed on CPU by this script);
the documentation build (docs/conf.py, myst-nb) executes them again, so a
notebook that stops running fails the site build. Replaces make_notebooks.py.
"""

from __future__ import annotations

import pathlib
import sys
import time

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
REPO = "jaxloss/jaxloss"


def badge(name: str) -> str:
    url = f"https://colab.research.google.com/github/{REPO}/blob/main/notebooks/{name}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


SETUP_MD = """**Set-up (CPU, GPU or TPU).** The next cell installs jaxloss when it is missing
(on Colab). On an accelerator machine whose JAX lacks the TPU or GPU backend it
installs the matching JAX build (`jax[tpu]`, `jax[cuda12]`); on a CPU, or where
JAX already matches the hardware (Colab's TPU and GPU runtimes), it installs
nothing. On Colab, *Runtime -> Change runtime type -> TPU* (or GPU) gives an
accelerator; nothing in jaxloss is device-specific. Everything here also runs on
a CPU in well under two minutes."""

SETUP = f"""import importlib.metadata, importlib.util, os, shutil, subprocess, sys

def pip_install(*args):
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *args], check=True)

def installed(dist):
    try:
        return bool(importlib.metadata.version(dist))
    except importlib.metadata.PackageNotFoundError:
        return False

if importlib.util.find_spec("jaxloss") is None:  # Colab: jaxloss from the repository
    pip_install("jaxloss[demo] @ git+https://github.com/{REPO}")
tpu = os.path.exists("/dev/accel0") or os.path.exists("/dev/vfio/0") or "COLAB_TPU_ADDR" in os.environ
gpu = shutil.which("nvidia-smi") is not None
if tpu and not installed("libtpu"):  # a TPU host with a CPU-only JAX
    pip_install("-U", "jax[tpu]")
elif gpu and not any(installed(d) for d in ("jax-cuda12-plugin", "jax-cuda13-plugin")):
    pip_install("-U", "jax[cuda12]")

import jax, jax.numpy as jnp, numpy as np, optax
import jaxloss
print(jax.default_backend(), jax.devices())"""

# fmt: off  (cell sources read best as written)
NOTEBOOKS: dict[str, list[tuple[str, str]]] = {
    "01_quickstart.ipynb": [
        ("md", "# jaxloss quickstart: losses in an optax training step with Flax NNX"),
        ("md", SETUP_MD),
        ("code", SETUP),
        (
            "md",
            """Every loss is a pure function with keyword-only options and
`reduction="mean" | "sum" | "none"`, `weights=` and `where=`.""",
        ),
        (
            "code",
            """logits = jnp.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
labels = jnp.array([0, 2])
print(jaxloss.softmax_cross_entropy(logits, labels))
print(jaxloss.softmax_cross_entropy(logits, labels, reduction="none"))
print(jaxloss.softmax_cross_entropy(logits, labels, label_smoothing=0.1, where=jnp.array([True, False])))
print(jaxloss.get("focal").__name__, "-", len(jaxloss.available()), "losses")""",
        ),
        (
            "md",
            """A small Flax NNX classifier on scikit-learn's digits, trained with the focal
loss on 75% of the images; the accuracy reported is on the held-out quarter.""",
        ),
        (
            "code",
            """from flax import nnx
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

digits = load_digits()
x_tr, x_te, y_tr, y_te = train_test_split(
    digits.data / 16.0, digits.target, test_size=0.25, stratify=digits.target, random_state=0)
x_tr, x_te = jnp.asarray(x_tr, jnp.float32), jnp.asarray(x_te, jnp.float32)
y_tr, y_te = jnp.asarray(y_tr), jnp.asarray(y_te)

class MLP(nnx.Module):
    def __init__(self, rngs):
        self.hidden = nnx.Linear(64, 64, rngs=rngs)
        self.out = nnx.Linear(64, 10, rngs=rngs)
    def __call__(self, x):
        return self.out(nnx.relu(self.hidden(x)))

model = MLP(nnx.Rngs(0))
optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)

@nnx.jit
def train_step(model, optimizer, x, y):
    loss_fn = lambda m: jaxloss.softmax_focal_loss(m(x), y, gamma=2.0)
    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss

for step in range(200):
    loss = train_step(model, optimizer, x_tr, y_tr)
accuracy = lambda x, y: float(jnp.mean(jnp.argmax(model(x), -1) == y))
print(f"training loss {float(loss):.4f}")
print(f"held-out accuracy {accuracy(x_te, y_te):.3f} ({len(y_te)} images never trained on; "
      f"training accuracy {accuracy(x_tr, y_tr):.3f})")""",
        ),
        ("md", "Pytrees: the regression losses and regularisers accept matching pytrees."),
        (
            "code",
            """params = nnx.state(model, nnx.Param)
print(jaxloss.l2_regularization(params))
pred = {"a": jnp.ones(3), "b": jnp.zeros((2, 2))}
print(jaxloss.huber_loss(pred, jax.tree.map(jnp.zeros_like, pred)))""",
        ),
    ],
    "02_metric_learning.ipynb": [
        ("md", "# Metric learning with mining"),
        ("md", SETUP_MD),
        ("code", SETUP),
        (
            "md",
            """`jaxloss.mining` gives fixed-shape masks and indices, so mining jits.
`triplet_loss` mines inside the loss (`batch_all`, `batch_hard`, `semi_hard`).""",
        ),
        (
            "code",
            """from jaxloss import mining
rng = np.random.default_rng(0)
emb = jnp.asarray(rng.standard_normal((8, 4)), jnp.float32)
labels = jnp.array([0, 0, 1, 1, 2, 2, 3, 3])
d = mining.pairwise_distances(emb, metric="euclidean")
print(mining.positive_mask(labels).astype(int))
for m in ("batch_all", "batch_hard", "semi_hard"):
    print(m, jaxloss.triplet_loss(emb, labels, margin=0.5, mining=m))""",
        ),
        (
            "md",
            "Train an embedding of the digits with batch-hard triplets and with SupCon; compare recall@1.",
        ),
        (
            "code",
            """from flax import nnx
from sklearn.datasets import load_digits
digits = load_digits()
x = jnp.asarray(digits.data / 16.0, jnp.float32)
y = jnp.asarray(digits.target)
x_tr, y_tr, x_te, y_te = x[:1200], y[:1200], x[1200:], y[1200:]

class Embed(nnx.Module):
    def __init__(self, rngs):
        self.a = nnx.Linear(64, 64, rngs=rngs)
        self.b = nnx.Linear(64, 16, rngs=rngs)
    def __call__(self, x):
        z = self.b(nnx.relu(self.a(x)))
        return z / jnp.linalg.norm(z, axis=-1, keepdims=True)

def recall_at_1(e, y):
    s = e @ e.T - 10 * jnp.eye(len(y))
    return float(jnp.mean(y[jnp.argmax(s, 1)] == y))

def train(loss_fn, steps=150):
    model = Embed(nnx.Rngs(0))
    opt = nnx.Optimizer(model, optax.adam(3e-3), wrt=nnx.Param)
    @nnx.jit
    def step(model, opt, xb, yb):
        loss, g = nnx.value_and_grad(lambda m: loss_fn(m(xb), yb))(model)
        opt.update(model, g)
        return loss
    key = np.random.default_rng(0)
    for _ in range(steps):
        idx = key.choice(len(y_tr), 128, replace=False)
        step(model, opt, x_tr[idx], y_tr[idx])
    return recall_at_1(model(x_te), y_te)

print("batch-hard triplet recall@1", train(lambda e, y: jaxloss.triplet_loss(e, y, margin=0.2)))
print("SupCon recall@1", train(lambda e, y: jaxloss.supervised_contrastive_loss(e, y, temperature=0.1)))""",
        ),
    ],
    "03_segmentation.ipynb": [
        ("md", "# Segmentation with Dice and Lovasz losses"),
        ("md", SETUP_MD),
        ("code", SETUP),
        ("md", "Channel-last logits `[batch, H, W, classes]` and integer masks `[batch, H, W]`."),
        (
            "code",
            """rng = np.random.default_rng(0)
masks = np.zeros((4, 16, 16), np.int32)
masks[:, 4:10, 4:10] = 1
masks[:, 11:14, 2:6] = 2
logits = jnp.asarray(rng.standard_normal((4, 16, 16, 3)), jnp.float32)
print("dice", jaxloss.dice_loss(logits, masks))
print("dice, no background", jaxloss.dice_loss(logits, masks, include_background=False))
print("generalized dice", jaxloss.generalized_dice_loss(logits, masks))
print("lovasz-softmax", jaxloss.lovasz_softmax_loss(logits, masks))
perfect = 20.0 * jax.nn.one_hot(masks, 3)
print("perfect prediction:", jaxloss.dice_loss(perfect, masks))""",
        ),
        (
            "md",
            """Gradient descent directly on the logits with each loss. These losses are
means of per-image ratios over all pixels, so the gradient with respect to one
pixel's logit is about `1 / (H * W)` of the loss's scale: a plain gradient step
on per-pixel logits needs a step size of the order of `H * W` (here 2 x 16 x 16
= 512; with a network in between, an optimiser such as Adam takes care of the
scale).""",
        ),
        (
            "code",
            """step_size = 2.0 * masks.shape[1] * masks.shape[2]
predictions = {}
for name, fn in {"dice": jaxloss.dice_loss, "lovasz": jaxloss.lovasz_softmax_loss,
                 "tversky": jaxloss.tversky_loss}.items():
    z = logits
    grad = jax.jit(jax.grad(lambda z: fn(z, masks)))
    for _ in range(100):
        z = z - step_size * grad(z)
    iou = np.mean([(np.asarray(jnp.argmax(z, -1) == c) & (masks == c)).sum()
                   / max(((np.asarray(jnp.argmax(z, -1)) == c) | (masks == c)).sum(), 1) for c in range(3)])
    predictions[name] = np.asarray(jnp.argmax(z, -1))
    print(f"{name:8s} loss {float(fn(z, masks)):.4f}  mean IoU {iou:.3f}")""",
        ),
        (
            "code",
            """import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 4, figsize=(6, 1.8), dpi=72)
for ax, (title, image) in zip(axes, [("target", masks[0]), *[(k, v[0]) for k, v in predictions.items()]]):
    ax.imshow(image, vmin=0, vmax=2, cmap="viridis", interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
plt.show()""",
        ),
    ],
    "04_transport_and_gans.ipynb": [
        ("md", "# Optimal transport and GAN losses"),
        ("md", SETUP_MD),
        ("code", SETUP),
        ("md", "Sinkhorn in the log domain; gradients by implicit differentiation."),
        (
            "code",
            """rng = np.random.default_rng(0)
x = jnp.asarray(rng.standard_normal((64, 2)), jnp.float32)
target = jnp.asarray(rng.standard_normal((64, 2)) * 0.5 + 3.0, jnp.float32)
out = jaxloss.sinkhorn(x, target, epsilon=0.1)
print("reg OT cost", float(out.reg_ot_cost))
print("divergence(x, x) ~ 0:", float(jaxloss.sinkhorn_divergence(x, x, epsilon=0.1)))
print("1-D W1", float(jaxloss.wasserstein_1d(x[:, 0], target[:, 0])))
print("sliced W2", float(jaxloss.sliced_wasserstein(x, target, jax.random.key(0))))
print("MMD", float(jaxloss.mmd_loss(x, target)))""",
        ),
        ("md", "Move a point cloud onto the target by descending the Sinkhorn divergence:"),
        (
            "code",
            """grad = jax.jit(jax.grad(lambda p: jaxloss.sinkhorn_divergence(p, target, epsilon=0.1)))
points = x
for _ in range(60):
    points = points - 2.0 * grad(points)
print("mean before", x.mean(0), "after", points.mean(0), "target", target.mean(0))""",
        ),
        (
            "md",
            "GAN losses with TF-GAN's names; the critic's gradient penalty uses per-sample gradients.",
        ),
        (
            "code",
            """d_real = jnp.array([-5.0, 1.4, 12.5, 2.7])
d_gen = jnp.array([10.0, 4.4, -5.5, 3.6])
for name in ("wasserstein", "least_squares", "hinge", "minimax"):
    d = getattr(jaxloss, f"{name}_discriminator_loss")(d_real, d_gen)
    print(f"{name:14s} D {float(d):9.4f}")
critic = lambda v: 2.0 * jnp.sum(v, axis=-1)
print("gradient penalty", jaxloss.gradient_penalty(critic, jnp.ones((4, 4)), jnp.zeros((4, 4)), jax.random.key(0)))""",
        ),
    ],
}
# fmt: on


def build(name: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["accelerator"] = "TPU"
    body = [nbformat.v4.new_markdown_cell(badge(name))]
    for kind, source in cells:
        maker = nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
        body.append(maker(source))
    nb.cells = body
    return nb


def execute(nb: nbformat.NotebookNode) -> None:
    from nbclient import NotebookClient

    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    for cell in nb.cells:  # no run-dependent metadata in the committed files
        cell.metadata.pop("execution", None)


def main(argv: list[str]) -> None:
    out = ROOT / "notebooks"
    out.mkdir(exist_ok=True)
    only = [a for a in argv if not a.startswith("--")]
    for name, cells in NOTEBOOKS.items():
        if only and not any(o in name for o in only):
            continue
        nb = build(name, cells)
        start = time.perf_counter()
        if "--no-execute" not in argv:
            execute(nb)
        nbformat.write(nb, out / name)
        print(f"notebooks/{name} ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
