"""The shared pieces of lab 06 (Model inversion): exposure, Fredrikson's rule, the advantage."""

import math

import numpy as np
import pytest

from mlsec_helpers import inversion
from mlsec_helpers.validate import ArgumentTypeError


def test_exposure_is_log2_n_minus_log2_rank():
    scores = np.array([5.0, 9.0, 7.0, 8.0, 6.0, 10.0, 11.0, 12.0])
    assert inversion.secret_rank(8.0, scores) == 4
    assert inversion.exposure(8.0, scores) == pytest.approx(math.log2(8) - 2)
    assert inversion.exposure(5.0, scores) == pytest.approx(3.0)  # the likeliest: log2(8)
    assert inversion.exposure(12.0, scores) == pytest.approx(0.0)  # the least likely


def test_a_tie_does_not_count_against_the_secret():
    assert inversion.secret_rank(2.0, np.array([2.0, 2.0, 1.0])) == 2


def test_an_unseen_secret_has_about_1_4_bits_on_average():
    gen = np.random.default_rng(0)
    values = [inversion.exposure(s[0], s) for s in gen.normal(size=(2000, 100))]
    assert np.mean(values) == pytest.approx(1 / math.log(2), abs=0.1)


@pytest.mark.parametrize(("secret", "scores"), [
    (1.0, []), (float("nan"), [1.0]), (1.0, [1.0, np.inf]), (1.0, [[1.0, 2.0]])])
def test_exposure_rejects_bad_input(secret, scores):
    with pytest.raises(ValueError):
        inversion.exposure(secret, scores)


def test_exposure_from_rank_rejects_a_rank_beyond_the_space():
    with pytest.raises(ValueError, match="cannot exceed"):
        inversion.exposure_from_rank(11, 10)
    with pytest.raises(ValueError):
        inversion.exposure_from_rank(0, 10)


def test_fredrikson_weighs_the_known_outcome_by_the_prior():
    p = np.array([[[0.5, 0.5], [0.45, 0.55]],   # outcome 1 slightly likelier with value 1
                  [[0.3, 0.7], [0.8, 0.2]]])
    # uniform prior: the likelihood of the known outcome decides
    assert inversion.fredrikson_inference(p, [1, 0], [0.5, 0.5]).tolist() == [1, 1]
    # a strong prior on value 0 outweighs a small difference
    assert inversion.fredrikson_inference(p, [1, 0], [0.9, 0.1]).tolist() == [0, 0]


def test_fredrikson_breaks_ties_towards_the_lowest_index():
    assert inversion.fredrikson_inference(np.full((1, 3, 2), 0.5), [0], [1, 1, 1]).tolist() == [0]


@pytest.mark.parametrize(("p", "y", "prior", "error"), [
    (np.full((2, 2, 2), 0.5), [0, 2], [0.5, 0.5], ValueError),     # outcome outside classes
    (np.full((2, 2, 2), 0.5), [0, -1], [0.5, 0.5], ValueError),    # negative outcome
    (np.full((2, 2, 2), 0.5), [0, 1], [0.2, 0.3, 0.5], ValueError),  # prior of wrong length
    (np.full((2, 2, 2), 0.5), [0], [0.5, 0.5], ValueError),        # one outcome per record
    (np.full((2, 2), 0.5), [0, 1], [0.5, 0.5], ValueError),        # not (n, values, classes)
    (np.full((2, 2, 2), 1.5), [0, 1], [0.5, 0.5], ValueError),     # not probabilities
    (np.full((2, 2, 2), 0.5), [0, 1], [-0.5, 1.5], ValueError),    # negative prior
    (np.full((2, 2, 2), 0.5), [0.5, 1], [0.5, 0.5], ArgumentTypeError),  # not class labels
])
def test_fredrikson_rejects_bad_input(p, y, prior, error):
    with pytest.raises(error):
        inversion.fredrikson_inference(p, y, prior)


def test_inference_advantage_pairs_the_attack_with_its_baseline():
    truth = np.array([0, 1, 1, 0] * 50)
    attack = truth.copy()
    attack[:20] = 1 - attack[:20]           # 180 of 200 right
    baseline = np.zeros_like(truth)         # the most common value: 100 of 200 right
    adv = inversion.inference_advantage(attack, truth, baseline, on="200 records")
    assert adv.attack.value == pytest.approx(0.9) and adv.baseline.value == pytest.approx(0.5)
    assert adv.gain == pytest.approx(0.4)
    assert adv.gain_low < 0.4 < adv.gain_high and adv.gain_low > 0.3
    assert "200 records" in str(adv)


def test_inference_advantage_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        inversion.inference_advantage([0, 1], [0, 1, 1], [0, 0, 0], on="x")
    with pytest.raises(ValueError):
        inversion.inference_advantage([], [], [], on="x")


class _Echo:
    """A stand-in model whose class-1 probability is its input's first column."""

    def predict_proba(self, X):
        p = np.clip(np.asarray(X)[:, 0], 0, 1)
        return np.column_stack([1 - p, p])


def test_candidate_probabilities_asks_once_per_value_in_the_column():
    X = np.array([[0.9, 5.0], [0.1, 6.0]])
    out = inversion.candidate_probabilities(_Echo(), X, column=0, values=[0.2, 0.7])
    assert out.shape == (2, 2, 2)
    assert np.allclose(out[:, :, 1], [[0.2, 0.7], [0.2, 0.7]])  # the row's own value ignored
    assert X[0, 0] == 0.9  # the caller's array is left alone


@pytest.mark.parametrize(("kwargs", "error"), [
    (dict(column=2, values=[0.1]), ValueError),
    (dict(column=0, values=[]), ValueError),
])
def test_candidate_probabilities_rejects_bad_input(kwargs, error):
    with pytest.raises(error):
        inversion.candidate_probabilities(_Echo(), np.ones((2, 2)), **kwargs)
    with pytest.raises(ArgumentTypeError):
        inversion.candidate_probabilities(object(), np.ones((2, 2)), column=0, values=[0.1])


def test_imputation_learns_from_public_data_only(unchanged_global_state):
    gen = np.random.default_rng(0)
    X_public = gen.normal(size=(300, 2))
    a_public = (X_public[:, 0] > 0).astype(int) + (X_public[:, 1] > 1).astype(int)
    X = np.array([[2.0, 0.0], [-2.0, 0.0], [2.0, 3.0]])
    for method in ("logistic", "boosting"):
        p = inversion.impute_attribute(X_public, a_public, X, n_values=4, method=method)
        assert p.shape == (3, 4) and np.allclose(p.sum(1), 1)
        assert p[:, 3].max() == 0.0  # a value absent from the public data gets probability 0
        assert p.argmax(1).tolist() == [1, 0, 2]
    with pytest.raises(ValueError):
        inversion.impute_attribute(X_public, a_public, X[:, :1], n_values=4)
    with pytest.raises(ValueError):
        inversion.impute_attribute(X_public, a_public, X, n_values=4, method="magic")
