"""The executed migration table (``jaxloss/_src/anchor_names.py``) and anchor-name lookup.

Every row of the table is executed here or names the test that executes it:

- ``"optax"`` / ``"scipy"`` rows run the anchor itself (installed by the ``test`` extra) on the
  row's inputs and compare it with the row's jaxloss call (values, and gradients for optax);
- ``"golden"`` rows compare with the values and gradients that
  ``tests/references/gen_migration.py`` produced from the anchor (torch, torchvision, PML,
  MONAI, rax, POT, Keras, sentence-transformers, open_clip);
- ``"test:<file>"`` rows are executed by that family test against the anchor's goldens (this file
  checks that the file exists and calls the loss);
- ``"none: ..."`` rows say why they cannot be checked here.

Kept fast: inputs are tiny and the calls run eagerly (no per-row compilation).
"""

from __future__ import annotations

import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.spatial.distance
import scipy.stats
from references import load

import jaxloss
from jaxloss._src import anchor_names
from jaxloss._src.anchor_names import ANCHORS, KINDS, ROWS, AnchorRow, Arg
from jaxloss._src.keywords import accepted

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXECUTED = [r for r in ROWS if r.check in ("golden", "optax", "scipy")]

# These small programs run once: compiling them cheaply (about 4x less CPU than XLA's default
# pipeline) matters more than running them fast. Tolerances are float32 ones either way.
FAST_COMPILE = {
    "xla_backend_optimization_level": 0,
    "xla_llvm_disable_expensive_passes": True,
    "xla_cpu_use_fusion_emitters": False,
}


def _optax_generalized_dice(predictions, labels):
    """optax takes one-hot targets and broadcasts its class weights by rank promotion."""
    with jax.numpy_rank_promotion("allow"):
        targets = jax.nn.one_hot(labels, predictions.shape[-1])
        return optax.losses.multiclass_generalized_dice_loss(predictions, targets)


# ident -> the optax / scipy call on the row's inputs (same positional order as KINDS).
LIVE = {
    "optax/softmax_cross_entropy/0": optax.losses.softmax_cross_entropy,
    "optax/softmax_cross_entropy_with_integer_labels/0": (
        optax.losses.softmax_cross_entropy_with_integer_labels
    ),
    "optax/safe_softmax_cross_entropy/0": optax.losses.safe_softmax_cross_entropy,
    "optax/sigmoid_binary_cross_entropy/0": optax.losses.sigmoid_binary_cross_entropy,
    "optax/sigmoid_focal_loss/0": lambda x, y: optax.losses.sigmoid_focal_loss(x, y, alpha=0.25),
    "optax/squared_error/0": optax.losses.squared_error,
    "optax/l2_loss/0": optax.losses.l2_loss,
    "optax/huber_loss/0": lambda x, y: optax.losses.huber_loss(x, y, delta=0.5),
    "optax/log_cosh/0": optax.losses.log_cosh,
    "optax/hinge_loss/0": optax.losses.hinge_loss,
    "optax/multiclass_hinge_loss/0": optax.losses.multiclass_hinge_loss,
    "optax/perceptron_loss/0": optax.losses.perceptron_loss,
    "optax/multiclass_perceptron_loss/0": optax.losses.multiclass_perceptron_loss,
    "optax/sparsemax_loss/0": optax.losses.sparsemax_loss,
    "optax/multiclass_sparsemax_loss/0": optax.losses.multiclass_sparsemax_loss,
    "optax/kl_divergence/0": optax.losses.kl_divergence,
    "optax/kl_divergence_with_log_targets/0": optax.losses.kl_divergence_with_log_targets,
    "optax/convex_kl_divergence/0": optax.losses.convex_kl_divergence,
    "optax/generalized_kl_divergence/0": optax.losses.generalized_kl_divergence,
    "optax/poly_loss_cross_entropy/0": lambda x, y: optax.losses.poly_loss_cross_entropy(
        x, y, epsilon=2.0
    ),
    "optax/ctc_loss/0": optax.losses.ctc_loss,
    "optax/ntxent/0": lambda e, y: optax.losses.ntxent(e, y, temperature=0.07),
    "optax/multiclass_generalized_dice_loss/0": lambda x, y: _optax_generalized_dice(x, y),
    "optax/cosine_similarity/0": optax.losses.cosine_similarity,
    "optax/cosine_distance/0": optax.losses.cosine_distance,
    "ott/scipy.stats.wasserstein_distance/0": scipy.stats.wasserstein_distance,
    "ott/scipy.stats.energy_distance/0": lambda x, y: scipy.stats.energy_distance(x[:, 0], y[:, 0]),
    "ott/scipy.spatial.distance.jensenshannon/0": lambda lp, lq: (
        scipy.spatial.distance.jensenshannon(np.exp(lp), np.exp(lq), axis=-1) ** 2  # pyright: ignore[reportCallIssue]
    ),
}


def _arrays(row: AnchorRow) -> dict[str, np.ndarray]:
    """The row's inputs from migration.npz (float64 stored, float32 here)."""
    prefix = row.ident + "/"
    out = {}
    for key, value in load("migration").items():
        name = key[len(prefix) :]
        if key.startswith(prefix) and name not in ("value", "grad"):
            out[name] = value.astype(np.float32) if value.dtype == np.float64 else value
    return out


def _value_and_grad(fn, arrays, names):
    """(fn's output, gradient of its sum w.r.t. the first input)."""

    def total(first):
        out = fn(first, *(arrays[n] for n in names[1:]))
        return jnp.sum(out), out

    (_, out), grad = jax.value_and_grad(total, has_aux=True)(arrays[names[0]])
    return out, grad


def _row_outputs(row: AnchorRow, arrays):
    """The jaxloss call's (value, grad), and for optax rows the anchor's, traced together."""
    loss = jaxloss.get(row.loss)
    kwargs = {k: arrays[v.name] if isinstance(v, Arg) else v for k, v in row.kwargs.items()}
    names = KINDS[row.inputs]
    out = {"jaxloss": _value_and_grad(lambda *a: row.scale * loss(*a, **kwargs), arrays, names)}
    if row.check == "optax":
        with jax.numpy_dtype_promotion("standard"):  # optax mixes int labels and floats
            out["anchor"] = _value_and_grad(LIVE[row.ident], arrays, names)
    return out


@functools.cache
def _anchor_group(anchor: str):
    """Every executed row of one anchor in ONE compiled call (compiling per row is too slow)."""
    rows = [r for r in EXECUTED if r.anchor == anchor]
    inputs = {r.ident: {k: jnp.asarray(v) for k, v in _arrays(r).items()} for r in rows}
    run = jax.jit(lambda data: {r.ident: _row_outputs(r, data[r.ident]) for r in rows})
    compiled = run.lower(inputs).compile(FAST_COMPILE)
    return jax.tree.map(np.asarray, compiled(inputs))


@pytest.mark.parametrize("row", EXECUTED, ids=lambda r: r.ident)
def test_row_agrees_with_its_anchor(row: AnchorRow):
    outputs = _anchor_group(row.anchor)[row.ident]
    value, grad = outputs["jaxloss"]
    if row.check == "golden":
        data = load("migration")
        expected_value, expected_grad = data[f"{row.ident}/value"], data[f"{row.ident}/grad"]
    elif row.check == "optax":
        expected_value, expected_grad = outputs["anchor"]
    else:  # scipy: values only (no gradients)
        arrays = _arrays(row)
        args = (np.asarray(arrays[n], np.float64) for n in KINDS[row.inputs])
        expected_value, expected_grad = np.asarray(LIVE[row.ident](*args)), None
    np.testing.assert_allclose(
        value, expected_value, rtol=row.tol, atol=1e-5, err_msg=f"{row.ident} value"
    )
    if expected_grad is not None:
        np.testing.assert_allclose(
            grad, expected_grad, rtol=row.tol, atol=1e-5, err_msg=f"{row.ident} gradient"
        )


def test_every_row_has_a_check():
    """Each row is executed here, by a named family test, or says why it cannot be."""
    available = jaxloss.available()
    for row in ROWS:
        where = f"{row.anchor} {row.name}"
        assert row.anchor in ANCHORS, where
        if row.utility:  # a public function that is not a registered loss
            assert row.loss not in available, f"{where}: {row.loss} is registered: drop utility"
            assert row.loss in jaxloss.__all__, f"{where}: {row.loss} is not public"
            assert row.check.startswith("test:"), f"{where}: utility rows name their family test"
            fn = getattr(jaxloss, row.loss)
        else:
            assert row.loss in available, f"{where}: {row.loss} is not a registered loss"
            fn = jaxloss.get(row.loss)
        keywords = accepted(fn)
        if keywords is not None:
            unknown = set(row.kwargs) - keywords
            assert not unknown, f"{where}: unknown keywords {unknown}"
        if row.check in ("golden", "optax", "scipy"):
            assert row.inputs in KINDS, where
            if row.check != "golden":
                assert row.ident in LIVE, f"{where}: no live anchor call in LIVE"
        elif row.check.startswith("test:"):
            path = ROOT / row.check[len("test:") :]
            assert path.is_file(), f"{where}: {path} does not exist"
            assert row.loss in path.read_text(), f"{where}: {path.name} never calls {row.loss}"
        else:
            assert row.check.startswith("none: ") and len(row.check) > 20, (
                f"{where}: a row that is not executed must say why ('none: ...')"
            )
    data = load("migration")
    goldens = {k.rsplit("/", 1)[0] for k in data if k.endswith("/value")}
    assert goldens == {r.ident for r in ROWS if r.check == "golden"}, "migration.npz is stale"
    assert set(LIVE) == {r.ident for r in ROWS if r.check in ("optax", "scipy")}


# --------------------------------------------------------------------------- jaxloss.get


@pytest.mark.parametrize(
    ("name", "loss"),
    [
        ("nll_loss", "nll_loss"),
        ("NLLLoss", "nll_loss"),
        ("torch.nn.functional.nll_loss", "nll_loss"),
        ("torch.nn.NLLLoss", "nll_loss"),
        ("F.cross_entropy", "softmax_cross_entropy"),
        ("CrossEntropyLoss", "softmax_cross_entropy"),
        ("BCEWithLogitsLoss", "sigmoid_binary_cross_entropy"),
        ("nn.BCELoss", "binary_cross_entropy"),
        ("MultiMarginLoss", "multiclass_hinge_loss"),
        ("optax.softmax_cross_entropy", "softmax_cross_entropy"),
        ("optax.losses.softmax_cross_entropy_with_integer_labels", "softmax_cross_entropy"),
        ("optax.multiclass_hinge_loss", "crammer_singer_hinge_loss"),
        ("optax.l2_loss", "squared_error"),
        ("DiceCELoss", "dice_ce_loss"),
        ("monai.losses.DiceCELoss", "dice_ce_loss"),
        ("monai.losses.FocalLoss", "segmentation_focal_loss"),
        ("MultiSimilarityLoss", "multi_similarity_loss"),
        ("pml.MultiSimilarityLoss", "multi_similarity_loss"),
        ("pytorch_metric_learning.losses.TripletMarginLoss", "triplet_loss"),
        ("torch.nn.TripletMarginLoss", "triplet_margin_loss"),
        ("pml.ContrastiveLoss", "batch_contrastive_loss"),
        ("sentence_transformers.losses.ContrastiveLoss", "contrastive_loss"),
        ("rax.softmax_loss", "softmax_ranking_loss"),
        ("keras.losses.CategoricalCrossentropy", "categorical_cross_entropy"),
        ("sigmoid_focal_loss", "sigmoid_focal_loss"),
        ("torchvision.ops.complete_box_iou_loss", "complete_box_iou_loss"),
        ("open_clip.SigLipLoss", "siglip_loss"),
        ("ot.wasserstein_1d", "wasserstein_1d"),
        ("liger_kernel.chunked_loss.LigerFusedLinearDPOLoss", "fused_linear_dpo_loss"),
        ("keras.losses.CosineSimilarity", "cosine_similarity"),
        ("BinaryFocalCrossentropy", "sigmoid_focal_loss"),
        ("monai.losses.AUCMLoss", "aucm_loss"),
        ("PatchAdversarialLoss", "patch_adversarial_loss"),
        ("torch.nn.AdaptiveLogSoftmaxWithLoss", "adaptive_log_softmax_loss"),
        ("tfa.losses.WeightedKappaLoss", "weighted_kappa_loss"),
        ("ott.tools.unreg.wassdis_p", "exact_wasserstein"),
    ],
)
def test_get_resolves_anchor_names(name, loss):
    assert jaxloss.get(name) is jaxloss.get(loss)


def test_registered_names_win_and_every_row_name_resolves():
    # jaxloss's own multiclass_hinge_loss (Weston-Watkins) is not optax's (Crammer-Singer).
    assert jaxloss.get("multiclass_hinge_loss") is jaxloss.multiclass_hinge_loss
    resolved = [r for r in ROWS if not r.utility]
    for row in resolved:
        prefix = ANCHORS[row.anchor]["prefixes"][0]
        for name in (row.name, *row.aliases):
            first = next(
                r for r in resolved if r.anchor == row.anchor and name in (r.name, *r.aliases)
            )
            assert jaxloss.get(prefix + name) is jaxloss.get(first.loss), prefix + name


def test_utility_rows_are_documented_but_not_resolved():
    # get() returns registered losses only: a solver or factory row is not one.
    utility = [r for r in ROWS if r.utility]
    assert {"gromov_wasserstein", "make_fenchel_young_loss"} <= {r.loss for r in utility}
    for row in utility:
        prefix = ANCHORS[row.anchor]["prefixes"][0]
        if any(r.name == row.name and not r.utility for r in ROWS):
            continue
        with pytest.raises(ValueError, match="no loss named"):
            jaxloss.get(prefix + row.name)


@pytest.mark.parametrize("name", ["TripletMarginLoss", "ContrastiveLoss"])
def test_ambiguous_bare_names_need_the_prefix(name):
    with pytest.raises(ValueError, match="use the prefixed name") as err:
        jaxloss.get(name)
    assert "torch.nn.functional." in str(err.value) or "sentence_transformers" in str(err.value)


def test_unknown_names_keep_the_hint():
    with pytest.raises(ValueError, match=r"no loss named 'DiceCELos'.*did you mean 'DiceCELoss'"):
        jaxloss.get("DiceCELos")
    with pytest.raises(ValueError, match="no loss named"):
        jaxloss.get("no_such_loss")
    with pytest.raises(ValueError, match="no loss named"):
        jaxloss.get("nllloss")  # case-sensitive, as the anchors are


def test_table_module_imports_no_jax():
    source = pathlib.Path(anchor_names.__file__).read_text()
    assert "import jax" not in source


def test_migration_pages_are_generated_from_the_table():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "docs_migration", ROOT / "scripts" / "docs_migration.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pages = module.pages()
    assert set(pages) == {"index.md", *(f"{a}.md" for a in ANCHORS)}
    for row in ROWS:
        assert f"`{row.call()}`".replace("|", "\\|") in pages[f"{row.anchor}.md"], row.ident
    for name, text in pages.items():  # committed pages, where present, are not stale
        path = ROOT / "docs" / "migration" / name
        if path.exists():
            assert path.read_text() == text, (
                f"{path} is stale: run python scripts/docs_migration.py"
            )
