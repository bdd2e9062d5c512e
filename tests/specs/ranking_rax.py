"""Contract specs for the wave-2 ranking losses (API.md E5-E7; rax semantics: where/weights per item)."""

from .laws import same
from .ranking import _listwise

SPECS = {
    "pairwise_mse_loss": _listwise().with_(zero_at=same),
    "pairwise_soft_zero_one_loss": _listwise(),
    "pairwise_qr_loss": _listwise(tau=0.3).with_(zero_at=same),
    "poly1_softmax_loss": _listwise(),
    "unique_softmax_loss": _listwise(),
}
