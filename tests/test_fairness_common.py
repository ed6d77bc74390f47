"""The shared pieces of lab 07 (Bias and fairness): group metrics and gaps with intervals."""

import numpy as np
import pytest
from fairlearn import metrics as fm

from mlsec_helpers import fairness
from mlsec_helpers.validate import ArgumentTypeError

FAIRLEARN = {
    "demographic_parity": fm.demographic_parity_difference,
    "equalized_odds": fm.equalized_odds_difference,
    "equal_opportunity": fm.equal_opportunity_difference,
    "false_positive_rate": fm.false_positive_rate_difference,
    "accuracy": fm.accuracy_score_difference,
}


def _data(n=600, seed=0):
    gen = np.random.default_rng(seed)
    groups = gen.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    y = (gen.random(n) < np.where(groups == "a", 0.3, 0.5)).astype(int)
    y_pred = np.where(gen.random(n) < 0.8, y, 1 - y)
    y_pred[(groups == "c") & (gen.random(n) < 0.3)] = 1
    return y, y_pred, groups


@pytest.mark.parametrize("metric", fairness.DISPARITY_METRICS)
def test_each_gap_is_fairlearns_and_its_interval_holds_it(metric, unchanged_global_state):
    y, y_pred, groups = _data()
    d = fairness.disparity(metric, y, y_pred, groups, n_boot=300, seed=1, on="600 rows")
    assert d.value == pytest.approx(FAIRLEARN[metric](y, y_pred, sensitive_features=groups))
    assert d.low <= d.value <= d.high and d.high - d.low < 0.3
    assert d.n == 600 and "600 rows" in str(d) and f"{d:.2f}" == f"{d.value:.2f}"


def test_the_interval_is_seeded_and_narrows_with_more_rows():
    y, y_pred, groups = _data()
    a = fairness.disparity("demographic_parity", y, y_pred, groups, seed=3)
    b = fairness.disparity("demographic_parity", y, y_pred, groups, seed=3)
    assert (a.low, a.high) == (b.low, b.high)
    big = fairness.disparity("demographic_parity", *_data(6000), seed=3)
    assert big.high - big.low < a.high - a.low


def test_group_metrics_has_one_row_per_group_and_overall():
    y, y_pred, groups = _data()
    table = fairness.group_metrics(y, y_pred, groups)
    assert list(table.index) == ["a", "b", "c", "overall"]
    assert table.loc["overall", "rows"] == 600
    assert table.loc["a", "selection rate"] == pytest.approx(y_pred[groups == "a"].mean())


@pytest.mark.parametrize(("args", "error"), [
    (("parity", [0, 1], [0, 1], ["a", "b"]), ValueError),          # unknown metric
    (("accuracy", [0, 1], [0, 1, 1], ["a", "b"]), ValueError),     # lengths differ
    (("accuracy", [0, 1], [0, 1], ["a", "a"]), ValueError),        # one group only
    (("accuracy", [0, 2], [0, 1], ["a", "b"]), ValueError),        # not binary
    (("accuracy", [0, 1], [0, 1], ["a", "b", "c"]), ValueError),   # groups of another length
    (("accuracy", [0.5, 1], [0, 1], ["a", "b"]), ArgumentTypeError),  # not labels
])
def test_bad_input_is_a_clear_error(args, error):
    with pytest.raises(error):
        fairness.disparity(*args)


def test_the_shared_figures_draw_and_reject_bad_rows():
    d = fairness.Disparity("demographic_parity", 0.1, 0.05, 0.2, 100, on="x")
    fig = fairness.disparity_summary({"a": ("parity", d, d), "b": ("odds", d, d)})
    assert len(fig.data) == 2 and list(fig.data[0].y) == [0.1, 0.1]
    assert fairness.bias_pipeline_diagram().layout.title.text
    with pytest.raises(ValueError):
        fairness.disparity_summary({})
    with pytest.raises(ArgumentTypeError):
        fairness.disparity_summary({"a": ("parity", 0.1, 0.2)})
