"""Contract specs for the ranking metric losses (API.md E8, E10; rax semantics: where/weights per item)."""

from .ranking import _listwise

SPECS = {
    # No topn here: rax's cut point is under stop_gradient (finite differences disagree);
    # topn is tested against rax in test_ranking_metrics.py.
    "approx_metric_loss": _listwise(
        nonnegative="the negative (approximate) metric", metric="ap", temperature=0.7
    ),
    # The weights depend on the ranks: the pair set and weights are piecewise constant.
    "lambda_loss": _listwise(k=3),
}
