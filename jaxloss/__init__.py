"""jaxloss: loss functions for JAX.

Every loss is a pure function over arrays (or pytrees), jit-compatible, with
keyword-only options and a shared ``reduction`` / ``weights`` / ``where``
convention. Losses are importable flat (``jaxloss.huber_loss``) and from their
family module (``jaxloss.regression.huber_loss``); ``jaxloss.get(name)`` looks
one up by name or alias.
"""

from . import (
    adversarial,
    classification,
    clustering,
    distribution,
    embedding,
    fused,
    mining,
    multitask,
    perceptual,
    ranking,
    regression,
    segmentation,
)
from ._core import checked
from ._registry import LossInfo, aliases, available, get, info

FAMILIES = (
    regression,
    classification,
    embedding,
    mining,
    segmentation,
    distribution,
    ranking,
    clustering,
    adversarial,
    perceptual,
    multitask,
    fused,
)

__version__ = "0.1.0"
__all__ = ["FAMILIES", "LossInfo", "aliases", "available", "checked", "get", "info"]



def _export_families() -> None:
    """Flat namespace: every family module lists its public names in ``__all__``."""
    for module in FAMILIES:
        for name in module.__all__:
            if name in globals() and globals()[name] is not getattr(module, name):
                raise ImportError(f"jaxloss: {name!r} is exported by two families")
            globals()[name] = getattr(module, name)
            __all__.append(name)


_export_families()
