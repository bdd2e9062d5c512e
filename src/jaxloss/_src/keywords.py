"""Keywords from other libraries (torch, MONAI, PML, Keras, optax): a ``TypeError`` that
names the jaxloss spelling instead of Python's bare "unexpected keyword argument"."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

# foreign keyword -> (jaxloss keywords it may map to, in order of preference; what to say otherwise)
FOREIGN: dict[str, tuple[tuple[str, ...], str]] = {
    "weight": (("class_weights", "weights"), "per-entry weights are weights=, per-class weights class_weights="),
    "pos_weight": (("class_weights", "weights"), "scale the positive term with weights= or class_weights="),
    "size_average": (("reduction",), '"mean" | "sum" | "none"'),
    "reduce": (("reduction",), '"mean" | "sum" | "none"'),
    "reducer": (("reduction",), "PML MeanReducer is \"mean\""),
    "softmax": (("activation",), 'MONAI softmax=True is activation="softmax"'),
    "sigmoid": (("activation",), 'MONAI sigmoid=True is activation="sigmoid"'),
    "other_act": (("activation",), "pass activation=None and apply your activation first"),
    "to_onehot_y": ((), "integer class maps are accepted as they are; one-hot maps too"),
    "smooth_nr": (("smooth_numerator",), "MONAI smooth_nr"),
    "smooth_dr": (("smooth_denominator",), "MONAI smooth_dr"),
    "squared_pred": (("squared",), "MONAI squared_pred"),
    "ce_weight": (("class_weights",), "per-class weights of the cross-entropy term"),
    "focal_weight": (("class_weights",), "per-class weights of the focal term"),
    "lambda_gdl": (("lambda_dice",), "the weight of the Dice term"),
    "w_type": (("weight_type",), "MONAI w_type"),
    "jaccard": ((), "MONAI DiceLoss(jaccard=True) is jaccard_loss"),
    "distance": (("metric", "similarity"), 'PML distances are metric="euclidean" | "cosine" | ... or a callable'),
    "from_logits": ((), "the input kind is fixed per loss and named by its first argument (logits, "
                        "probabilities, log_probs): e.g. softmax_cross_entropy takes logits, "
                        "categorical_cross_entropy probabilities"),
    "use_softmax": (("activation",), 'MONAI use_softmax=True is activation="softmax"'),
    "ignore_label": (("ignore_index",), "the padding label value"),
    "smoothing": (("label_smoothing",), ""),
    "epsilon": (("eps", "label_smoothing"), "numerical floors are eps=, label smoothing label_smoothing="),
    "temperature": (("scale",), "scale is 1 / temperature"),
    "scale": (("temperature",), "temperature is 1 / scale"),
    "target": (("targets", "labels"), ""),
    "input": (("predictions", "logits"), ""),
    "y_true": (("targets", "labels"), ""),
    "y_pred": (("predictions", "logits"), ""),
}


def accepted(fn: Callable[..., Any]) -> frozenset[str] | None:
    """The keywords ``fn`` accepts (with its deprecated names), or ``None`` if it takes ``**kwargs``."""
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    renamed: Mapping[str, str] = getattr(fn, "__renamed__", {})
    return frozenset(p.name for p in params if p.kind is not p.POSITIONAL_ONLY) | frozenset(renamed)


def check_keywords(name: str, keywords: frozenset[str] | None, kwargs: Mapping[str, Any]) -> None:
    """Raises ``TypeError`` for a keyword ``name`` does not take, saying what to use instead."""
    if keywords is None:
        return
    for key in kwargs:
        if key in keywords:
            continue
        mapped, note = FOREIGN.get(key, ((), ""))
        ours = [k for k in mapped if k in keywords]
        if ours:
            hint = f"; use {' or '.join(f'{k}=' for k in ours)}" + (f" ({note})" if note else "")
        elif note:
            hint = f"; {note}"
        else:
            close = difflib.get_close_matches(key, sorted(keywords), n=1)
            hint = f"; did you mean {close[0]}=?" if close else ""
        raise TypeError(f"{name}() got an unexpected keyword argument {key!r}{hint}")
