"""Embedding / metric-learning losses: pairs and triplets, contrastive (softmax) family,
angular-margin heads. Mining utilities live in :mod:`jaxloss.mining`."""

from ._embedding_pairs import *  # noqa: F403
from ._embedding_pairs import __all__ as _pairs_all
from ._embedding_softmax import *  # noqa: F403
from ._embedding_softmax import __all__ as _softmax_all

__all__ = [*_pairs_all, *_softmax_all]
