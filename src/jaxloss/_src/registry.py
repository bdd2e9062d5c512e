"""Name -> loss registry: ``jaxloss.get``, ``jaxloss.available``, aliases."""

from __future__ import annotations

import dataclasses
import difflib
import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from . import anchor_names
from .contracts import calling
from .keywords import accepted, check_keywords


@dataclasses.dataclass(frozen=True)
class LossInfo:
    """What the registry knows about a loss."""

    name: str
    fn: Callable[..., Any]
    family: str
    reference: str
    aliases: tuple[str, ...] = ()


P = ParamSpec("P")
R = TypeVar("R")

_LOSSES: dict[str, LossInfo] = {}
_ALIASES: dict[str, str] = {}


def register(
    family: str, *, reference: str, aliases: tuple[str, ...] = (), name: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Registers a public loss under its function name (and ``aliases``).

    The registered function is wrapped so that contract and value errors raised
    inside it name it.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        loss_name = name or fn.__name__

        keywords = accepted(fn)

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            check_keywords(loss_name, keywords, kwargs)
            with calling(loss_name):
                return fn(*args, **kwargs)

        for key in (loss_name, *aliases):
            if key in _LOSSES or key in _ALIASES:
                raise ValueError(f"jaxloss: {key!r} is registered twice")
        _LOSSES[loss_name] = LossInfo(loss_name, wrapper, family, reference, tuple(aliases))
        for alias in aliases:
            _ALIASES[alias] = loss_name
        return wrapper

    return decorate


def info(name: str) -> LossInfo:
    """The :class:`LossInfo` of a loss, by name or alias.

    Args:
      name: a registered name or alias.

    Returns:
      The :class:`LossInfo` (name, function, family, reference, aliases).

    Examples:
      >>> import jaxloss
      >>> jaxloss.info("focal").name
      'sigmoid_focal_loss'
    """
    key = _ALIASES.get(name, name)
    if key not in _LOSSES:
        close = difflib.get_close_matches(name, [*_LOSSES, *_ALIASES], n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"jaxloss.get: no loss named {name!r}{hint}")
    return _LOSSES[key]


def get(name: str) -> Callable[..., Any]:
    """Returns the loss registered as ``name``, or the loss an anchor library calls ``name``.

    ``name`` is tried as a registered jaxloss name or alias first, then as an anchor's name from
    the migration table (``jaxloss/_src/anchor_names.py``): torch (``"nll_loss"``,
    ``"BCEWithLogitsLoss"``, ``"torch.nn.functional.cross_entropy"``, ``"F.mse_loss"``), optax
    (``"optax.softmax_cross_entropy"``), PML (``"MultiSimilarityLoss"``,
    ``"pml.ContrastiveLoss"``), MONAI (``"DiceCELoss"``, ``"monai.losses.FocalLoss"``), rax, ott/POT,
    Keras, sentence-transformers, open_clip, TRL and Liger. Class and function names are
    case-sensitive, as in their libraries. A bare name that two libraries use for different losses
    (``"TripletMarginLoss"``, ``"ContrastiveLoss"``) needs its library prefix. The function is
    returned with jaxloss's defaults; the anchor's defaults, where they differ, are on the
    "Coming from ..." pages of the documentation.

    Args:
      name: a registered name or alias, or an anchor's (optionally prefixed) name; a near miss
        raises ``ValueError`` with suggestions, an ambiguous anchor name ``ValueError`` listing
        the prefixed spellings.

    Returns:
      The loss function.

    Examples:
      >>> import jaxloss
      >>> jaxloss.get("mse") is jaxloss.squared_error
      True
      >>> jaxloss.get("BCEWithLogitsLoss") is jaxloss.sigmoid_binary_cross_entropy
      True
      >>> jaxloss.get("optax.multiclass_hinge_loss") is jaxloss.crammer_singer_hinge_loss
      True
    """
    key = _ALIASES.get(name, name)
    if key in _LOSSES:
        return _LOSSES[key].fn
    target = anchor_names.resolve(name)  # raises AmbiguousName (a ValueError)
    if target is not None and target in _LOSSES:
        return _LOSSES[target].fn
    candidates = [*_LOSSES, *_ALIASES, *anchor_names.names()]
    close = difflib.get_close_matches(name, candidates, n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    raise ValueError(f"jaxloss.get: no loss named {name!r}{hint}")


def available(family: str | None = None) -> dict[str, str]:
    """``{name: family}`` of every registered loss, sorted by family then name.

    Args:
      family: only the losses of this family (e.g. ``"regression"``).

    Returns:
      A dict from loss name to family name.

    Examples:
      >>> import jaxloss
      >>> jaxloss.available()["huber_loss"]
      'regression'
    """
    items = sorted(_LOSSES.values(), key=lambda i: (i.family, i.name))
    return {i.name: i.family for i in items if family is None or i.family == family}


def aliases() -> dict[str, str]:
    """Every alias and the loss it stands for.

    Returns:
      A dict ``{alias: canonical name}``.

    Examples:
      >>> import jaxloss
      >>> jaxloss.aliases()["mse"]
      'squared_error'
    """
    return dict(sorted(_ALIASES.items()))
