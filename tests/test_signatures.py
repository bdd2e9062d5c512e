"""Every registered loss's signature against DESIGN.md ("Names" and "How a loss is written").

Data arguments are positional, options keyword-only; ``reduction: Reduction = "mean"``
keyword-only; ``weights`` before ``where``; the table's names (``predictions``/``targets``,
``labels``, ``weights``, ``eps``, ``centers``) rather than the foreign ones; every parameter
and the return annotated, none with a bare ``Any``.
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
from specs import all_specs

import jaxloss
from jaxloss._src.types import Reduction

SPECS = all_specs()
NAMES = sorted(jaxloss.available())

# Names the table replaces: name -> what to use instead.
FORBIDDEN = {
    "inputs": "predictions (elementwise data)",
    "y_pred": "predictions",
    "target": "targets (elementwise) or labels (classes)",
    "y": "labels",
    "weight": "weights= (per entry) or class_weights= (per class)",
}
# (loss, parameter) -> why a forbidden name is the right one there.
FOREIGN_OK = {
    ("mmd_loss", "y"): "two samples x, y (ott-jax, POT): points, not labels",
    ("sinkhorn_divergence", "y"): "two samples x, y (ott-jax, POT): points, not labels",
    ("sliced_wasserstein", "y"): "two samples x, y (POT): points, not labels",
    ("exact_wasserstein", "y"): "two samples x, y (ott-jax wassdis_p, POT emd2): points, not labels",
    ("max_sliced_wasserstein", "y"): "two samples x, y (POT): points, not labels",
    ("energy_distance", "y"): "two samples x, y (scipy, geomloss): points, not labels",
    ("empirical_gaussian_wasserstein", "y"): "two samples x, y (POT): points, not labels",
    ("soft_dtw", "y"): "two time series x, y (ott-jax, tslearn), not labels",
    ("adversarial_loss", "inputs"): "the model's inputs that the attack perturbs, not predictions",
    ("trades_loss", "inputs"): "the model's inputs that the attack perturbs, not predictions",
    ("fused_linear_cross_entropy", "weight"): "the [D, V] output projection: API.md 3.0 names it weight (Liger FLCE)",
    ("fused_linear_dpo_loss", "weight"): "the [D, V] output projection: API.md 3.0 names it weight (Liger)",
    ("fused_linear_orpo_loss", "weight"): "the [D, V] output projection: API.md 3.0 names it weight (Liger)",
    ("fused_linear_simpo_loss", "weight"): "the [D, V] output projection: API.md 3.0 names it weight (Liger)",
    ("fused_linear_cpo_loss", "weight"): "the [D, V] output projection: API.md 3.0 names it weight (Liger)",
    ("fused_linear_kto_loss", "weight"): "the [D, V] output projection: API.md 3.0 names it weight (Liger)",
    ("fused_linear_grpo_loss", "weight"): "the [D, V] output projection: API.md 3.0 names it weight (Liger)",
    ("asymmetric_unified_focal_loss", "weight"): "the mixing weight of the focal and focal-Tversky terms (MONAI; API.md D7)",
}
# A paper's own epsilon (DESIGN.md: only where nothing else in that family uses it); numerical
# floors are ``eps``.
EPSILON_OK = {
    "sinkhorn_divergence": "the entropic regularisation of optimal transport",
    "poly1_cross_entropy": "the Poly-1 coefficient",
    "adversarial_loss": "the FGSM radius",
    "trades_loss": "the PGD radius",
    "grpo_loss": "the PPO clip range (TRL GRPOConfig.epsilon)",
    "fused_linear_grpo_loss": "the PPO clip range (TRL GRPOConfig.epsilon)",
    "swav_loss": "the entropic regularisation of SwAV's Sinkhorn step",
    "poly1_softmax_loss": "the Poly-1 coefficient (rax)",
    "spearman_loss": "the entropic regularisation of the soft ranks (ott)",
    "weighted_kappa_loss": "the additive constant inside the log (TF-Addons WeightedKappaLoss.epsilon)",
    "cosine_similarity": "the norm floor (optax cosine_similarity's epsilon)",
    "cosine_distance": "the norm floor (optax cosine_distance's epsilon)",
}
# Losses whose reduction defaults to "sum" (documented behaviour, kept): loss -> why.
SUM_DEFAULT = {
    "weighted_sum": "a sum of task losses, not an average (\"mean\" raises)",
    "uncertainty_weighting": "a sum of task losses, not an average (\"mean\" raises)",
    "gradnorm_loss": "the paper's L_grad sums over tasks (\"mean\" raises)",
    "l1_regularization": "a regulariser sums over the parameters (optax)",
    "l2_regularization": "a regulariser sums over the parameters (optax)",
    "elastic_net": "a regulariser sums over the parameters (optax)",
    "prior_matching_loss": "one KL divergence: a sum over classes",
    "spectral_clustering_loss": "one total: cut plus orthogonality penalty",
}
# (loss, parameter) -> why an option-like name is a data argument there.
DATA_OK = {("weighted_sum", "weights"): "the task weights are data being combined, not a mask"}
# Option names that must never be positional.
OPTIONS = {"reduction", "weights", "where", "axis", "eps", "epsilon", "temperature", "scale", "margin",
           "label_smoothing", "class_weights", "ignore_index", "axis_name"}
POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
ANY = re.compile(r"\bAny\b")


def _problems(name: str) -> list[str]:
    fn = jaxloss.get(name)
    try:
        sig = inspect.signature(fn, eval_str=True)
    except NameError as e:  # an annotation that does not resolve at run time
        return [f"annotations do not evaluate: {e}"]
    raw = inspect.signature(fn)  # the annotations as written (``from __future__ import annotations``)
    params = list(sig.parameters.values())
    names = [p.name for p in params]
    problems: list[str] = []

    for p in params:
        where = f"{p.name}"
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            problems.append(f"{where}: *args/**kwargs hide the signature")
        if p.kind in POSITIONAL and (p.name in OPTIONS or p.default not in (p.empty, None)) and (
            (name, p.name) not in DATA_OK
        ):
            problems.append(f"{where}: an option, so keyword-only (after *)")
        if p.name in FORBIDDEN and (name, p.name) not in FOREIGN_OK:
            problems.append(f"{where}: named {p.name!r}; the table says {FORBIDDEN[p.name]}")
        if p.name == "epsilon" and name not in EPSILON_OK:
            problems.append(f"{where}: a numerical floor is eps=, label smoothing label_smoothing=")
        if p.name == "class_weights" and p.kind in POSITIONAL:
            problems.append(f"{where}: a [dim, classes] matrix is data: call it centers (class_weights is a [C] option)")
        if p.annotation is p.empty:
            problems.append(f"{where}: not annotated")
        elif ANY.search(str(raw.parameters[p.name].annotation)):
            problems.append(f"{where}: annotated {raw.parameters[p.name].annotation} (use ArrayLike, a Literal, ...)")

    if sig.return_annotation is sig.empty:
        problems.append("return: not annotated")
    elif ANY.search(str(raw.return_annotation)):
        problems.append(f"return: annotated {raw.return_annotation}")

    if "reduction" not in sig.parameters:
        problems.append("no reduction parameter")
    else:
        r = sig.parameters["reduction"]
        default = "sum" if name in SUM_DEFAULT else "mean"
        if r.kind is not r.KEYWORD_ONLY:
            problems.append("reduction: not keyword-only")
        if r.default != default:
            problems.append(f"reduction: default {r.default!r}, expected {default!r}")
        if r.annotation != Reduction:
            problems.append(f"reduction: annotated {r.annotation}, expected Reduction")
    if "weights" in names and "where" in names and names.index("weights") > names.index("where"):
        problems.append("weights must come before where")

    class_weights = SPECS[name].kwargs.get("class_weights") if name in SPECS else None
    if class_weights is not None and np.ndim(class_weights) > 1:
        problems.append("class_weights in the spec is a matrix: it is centers")
    return problems


@pytest.mark.parametrize("name", NAMES)
def test_signature_follows_the_names_table(name):
    problems = _problems(name)
    assert not problems, f"{name}{inspect.signature(jaxloss.get(name))}:\n  " + "\n  ".join(problems)
