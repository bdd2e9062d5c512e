"""Classification losses: cross-entropy family, focal, PolyLoss, margin losses, CTC."""

from ._cross_entropy import *  # noqa: F403
from ._cross_entropy import __all__ as _ce_all
from ._margin import *  # noqa: F403
from ._margin import __all__ as _margin_all

__all__ = [*_ce_all, *_margin_all]
