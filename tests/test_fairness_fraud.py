"""Lab 07, fraud and credit: HMDA denials under a parity constraint, the fraud scorer's
review flags by customer group, and the noise floor of a false-positive-rate gap."""

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference

from mlsec_helpers.fairness import fraud as fair_fraud
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def credit():
    return fair_fraud.credit_decisions(0, seed=0)


def test_credit_decisions_shapes_and_the_parity_constraint(credit, unchanged_global_state):
    r = fair_fraud.credit_decisions(0, seed=0)
    np.testing.assert_array_equal(r.after, credit.after)  # seeded: the same draws
    assert len(r.y_true) == len(r.afam) == len(r.before) == len(r.after) == 595
    assert set(np.unique(r.before)) <= {0, 1} and set(np.unique(r.after)) <= {0, 1}
    assert r.accuracy_before == pytest.approx(np.mean(r.before == r.y_true))
    assert "595 HMDA test applications" in r.on and r.difference_bound == 0.03
    gap = lambda p: demographic_parity_difference(r.y_true, p, sensitive_features=r.afam)  # noqa: E731
    assert gap(r.before) > 0.05 and gap(r.after) < gap(r.before)
    with pytest.raises(AttributeError):
        r.split = 1  # frozen


def test_credit_parity_over_splits_table():
    table = fair_fraud.credit_parity_over_splits((0, 1), seed=0)
    assert list(table.index) == [0, 1]
    assert {"accuracy before", "parity after", "equalised odds before"} <= set(table.columns)
    assert ((table >= 0) & (table <= 1)).all().all()


@pytest.mark.parametrize("kwargs, error", [
    ({"split": -1}, ValueError), ({"split": 1.5}, (TypeError, ValueError)),
    ({"difference_bound": 0.0}, ValueError), ({"difference_bound": "0.1"}, ArgumentTypeError),
    ({"seed": -2}, ValueError)])
def test_credit_decisions_bad_arguments(kwargs, error):
    with pytest.raises(error):
        fair_fraud.credit_decisions(**kwargs)


@pytest.mark.parametrize("splits", [(), (0, 0), "01", 3, (0, -1)])
def test_credit_parity_over_splits_bad_splits(splits):
    with pytest.raises((ValueError, TypeError)):
        fair_fraud.credit_parity_over_splits(splits)


@pytest.fixture(scope="module")
def review():
    return fair_fraud.fraud_review_decisions(grouping="age_band", seed=0)


def test_fraud_review_thresholds_equalise_validation_fpr(review, unchanged_global_state):
    r = fair_fraud.fraud_review_decisions(grouping="age_band", seed=0)
    np.testing.assert_array_equal(r.flagged_before, review.flagged_before)
    assert set(r.group_thresholds) == {"18-29", "30-44", "45-59", "60+"}
    assert len(r.y_test) == len(r.groups_test) == len(r.flagged_after)
    assert len(r.y_validation) == len(r.flagged_validation_after)
    # the bank's threshold reviews about `budget` of the validation transactions
    assert abs(r.flagged_validation_before.mean() - r.budget) < 0.005
    legit = r.y_validation == 0
    rates = [r.flagged_validation_after[legit & (r.groups_validation == g)].mean()
             for g in r.group_thresholds]
    assert max(rates) - min(rates) < 0.003
    assert abs(np.mean(rates) - r.target_fpr) < 0.005
    assert "test-period transactions" in r.on_test


@pytest.mark.parametrize("kwargs, error", [
    ({"grouping": "city"}, ValueError), ({"budget": 0.0}, ValueError),
    ({"budget": 1.0}, ValueError), ({"validation_fraction": 0.6}, ValueError),
    ({"budget": "0.1"}, ArgumentTypeError), ({"seed": 0.5}, (TypeError, ValueError))])
def test_fraud_review_bad_arguments(kwargs, error):
    with pytest.raises(error):
        fair_fraud.fraud_review_decisions(**kwargs)


def test_noise_floor_is_above_a_null_gap_and_below_a_real_one():
    gen = np.random.default_rng(0)
    y = np.zeros(4000, dtype=int)
    groups = np.repeat(["a", "b", "c", "d"], 1000)
    same = (gen.random(4000) < 0.1).astype(int)
    floor = fair_fraud.fpr_gap_noise_floor(y, same, groups, seed=0)
    rates = [same[groups == g].mean() for g in "abcd"]
    assert 0.01 < floor < 0.06 and max(rates) - min(rates) < floor + 0.01
    assert floor == fair_fraud.fpr_gap_noise_floor(y, same, groups, seed=0)
    skewed = (gen.random(4000) < np.where(groups == "a", 0.2, 0.1)).astype(int)
    assert np.mean(skewed[groups == "a"]) - np.mean(skewed[groups == "b"]) > 2 * floor


@pytest.mark.parametrize("kwargs, error", [
    ({"groups": np.zeros(10)}, ValueError), ({"groups": np.arange(5)}, ValueError),
    ({"y_true": np.full(10, 2)}, ValueError), ({"flagged": np.full(10, 0.5)}, ArgumentTypeError),
    ({"n_permutations": 5}, ValueError)])
def test_noise_floor_bad_arguments(kwargs, error):
    args = {"y_true": np.zeros(10, dtype=int), "flagged": np.r_[np.ones(5), np.zeros(5)],
            "groups": np.repeat([0, 1], 5)}
    args.update(kwargs)
    with pytest.raises(error):
        fair_fraud.fpr_gap_noise_floor(args.pop("y_true"), args.pop("flagged"),
                                       args.pop("groups"), **args)


def test_figures_show_rates_per_group(credit, review):
    fig = fair_fraud.credit_rates_figure(credit, title="t")
    assert [t.name for t in fig.data] == ["the lender", "the model", "parity-constrained"]
    assert len(fig.data[0].x) == 2 and len(fig.data[1].x) == 4
    assert all(0 <= v <= 1 for t in fig.data for v in t.y)
    fig = fair_fraud.fraud_review_figure(review)
    assert len(fig.data) == 2 and list(fig.data[0].x) == list(review.group_thresholds)
    with pytest.raises(TypeError):
        fair_fraud.credit_rates_figure(review)
    with pytest.raises(TypeError):
        fair_fraud.fraud_review_figure(credit)
