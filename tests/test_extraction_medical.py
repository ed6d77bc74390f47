import numpy as np
import pytest

from mlsec_helpers import extraction, systems
from mlsec_helpers.extraction import medical
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def victim():
    """A scaled logistic regression on features of very different scales (as WDBC's)."""
    gen = np.random.default_rng(0)
    scales = np.array([0.01, 0.1, 1.0, 20.0, 500.0, 3000.0])
    X = gen.normal(size=(300, 6)) * scales + 5 * scales
    y = ((X / scales - 5) @ gen.normal(size=6) + gen.normal(size=300) * 3 > 0).astype(int)
    return systems.DiagnosisModel().fit(X, y), X


def test_solve_logistic_recovers_a_model_exactly_and_by_least_squares():
    gen = np.random.default_rng(1)
    X = gen.normal(size=(4, 3))
    w, b = np.array([1.0, -2.0, 0.5]), 0.3
    p = 1 / (1 + np.exp(-(X @ w + b)))
    w_hat, b_hat = medical.solve_logistic(X, p)
    assert np.allclose(w_hat, w) and b_hat == pytest.approx(b)
    Xm = gen.normal(size=(50, 3))
    pm = np.round(1 / (1 + np.exp(-(Xm @ w + b))), 3)
    w_m, b_m = medical.solve_logistic(Xm, pm)
    assert np.allclose(w_m, w, atol=0.05) and isinstance(b_m, float)


@pytest.mark.parametrize(("X", "p", "words"), [
    (np.zeros((3, 3)), np.full(3, 0.5), "at least 4 answers"),
    (np.eye(4, 3), np.array([0.5, 1.0, 0.2, 0.3]), "strictly between 0 and 1"),
    (np.eye(4, 3), np.array([0.5, 0.0, 0.2, 0.3]), "strictly between 0 and 1"),
    (np.eye(4, 3), np.full(3, 0.5), "one probability per row"),
    (np.ones(4), np.full(4, 0.5), "dimension"),
])
def test_solve_logistic_rejects_bad_input(X, p, words):
    with pytest.raises(ValueError, match=words):
        medical.solve_logistic(X, p)


def test_equation_solving_is_exact_with_d_plus_1_queries(victim, unchanged_global_state):
    system, X = victim
    api = extraction.PredictionAPI(system.predict_proba)
    stolen = medical.equation_solving_attack(api, X.mean(0), X.std(0))
    assert api.queries == stolen.queries == X.shape[1] + 1 and stolen.unusable == 0
    assert medical.parameter_error(system, stolen.w, stolen.b) < 1e-9
    assert np.array_equal(stolen.predict(X), system.predict(X))


def test_raw_unit_steps_are_worse_than_steps_sized_to_each_feature(victim):
    system, X = victim
    api = extraction.PredictionAPI(system.predict_proba, output="rounded", decimals=4)
    sized = medical.equation_solving_attack(api, X.mean(0), X.std(0))
    assert medical.parameter_error(system, sized.w, sized.b) < 0.01
    # one raw unit is a huge step for a feature measured in hundredths: answers saturate
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        medical.equation_solving_attack(api, X.mean(0), np.ones(X.shape[1]))


def test_rounding_costs_precision_and_more_offsets_win_it_back(victim):
    system, X = victim
    errors = {}
    for decimals, offsets in [(4, (1.0,)), (2, (1.0,)), (2, (-1.0, -0.5, 0.5, 1.0))]:
        api = extraction.PredictionAPI(system.predict_proba, output="rounded", decimals=decimals)
        stolen = medical.equation_solving_attack(api, X.mean(0), X.std(0), offsets=offsets)
        assert stolen.queries == len(offsets) * X.shape[1] + 1
        errors[decimals, len(offsets)] = medical.parameter_error(system, stolen.w, stolen.b)
    assert errors[4, 1] < errors[2, 1]
    assert errors[2, 4] < errors[2, 1]


def test_labels_only_stop_equation_solving(victim):
    system, X = victim
    api = extraction.PredictionAPI(system.predict_proba, output="labels")
    with pytest.raises(ValueError, match="labels only"):
        medical.equation_solving_attack(api, X.mean(0), X.std(0))


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"scale": -1.0}, ValueError, "positive step"),
    ({"offsets": (1.0, 1.0)}, ValueError, "distinct"),
    ({"offsets": (0.0,)}, ValueError, "non-zero"),
    ({"api": "not an api"}, ArgumentTypeError, "callable"),
])
def test_equation_solving_rejects_bad_arguments(victim, kwargs, error, words):
    system, X = victim
    args = {"api": extraction.PredictionAPI(system.predict_proba), "x0": X.mean(0),
            "scale": X.std(0)}
    if "scale" in kwargs:
        args["scale"] = X.std(0) * kwargs.pop("scale")
    args.update(kwargs)
    offsets = args.pop("offsets", (1.0,))
    with pytest.raises(error, match=words):
        medical.equation_solving_attack(args["api"], args["x0"], args["scale"], offsets=offsets)


def test_boundary_bracket_halves_the_segment_each_query():
    calls = []

    def label(x):
        calls.append(x.copy())
        return int(x[0] >= 0.3)

    x_neg, x_pos = np.array([0.0, 1.0]), np.array([1.0, 1.0])
    lo, hi = medical.boundary_bracket(label, x_neg, x_pos, 10)
    assert len(calls) == 10 and label(lo) == 0 and label(hi) == 1
    assert hi[0] - lo[0] == pytest.approx(2.0 ** -10) and lo[0] <= 0.3 <= hi[0]
    assert np.array_equal(x_neg, [0.0, 1.0])  # the ends are not modified
    lo0, hi0 = medical.boundary_bracket(label, x_neg, x_pos, 0)
    assert np.array_equal(lo0, x_neg) and lo0 is not x_neg
    with pytest.raises(ValueError, match="same shape"):
        medical.boundary_bracket(label, x_neg, np.zeros(3), 3)
    with pytest.raises(ArgumentTypeError):
        medical.boundary_bracket("label", x_neg, x_pos, 3)
    with pytest.raises(ValueError, match="steps"):
        medical.boundary_bracket(label, x_neg, x_pos, -1)


def test_line_search_steals_from_labels_only_and_counts_its_queries(victim,
                                                                     unchanged_global_state):
    system, X = victim
    api = extraction.PredictionAPI(system.predict_proba, output="labels")
    stolen = medical.line_search_attack(api, X[:150], seed=0)
    assert stolen.queries == api.queries == 20 + 40 + (12 + 16) * 7
    assert stolen.brackets == 28
    assert np.mean(stolen.predict(X[150:]) == system.predict(X[150:])) >= 0.97
    again = medical.line_search_attack(extraction.PredictionAPI(
        system.predict_proba, output="labels"), X[:150], seed=0)
    assert np.array_equal(again.w, stolen.w)  # deterministic for a seed


def test_line_search_rejects_bad_arguments(victim):
    system, X = victim
    api = extraction.PredictionAPI(system.predict_proba, output="labels")
    with pytest.raises(ValueError, match="n_labels"):
        medical.line_search_attack(api, X[:10], n_labels=20)
    with pytest.raises(ValueError, match="label more"):
        medical.line_search_attack(api, X, n_labels=2, n_pairs=5)
    with pytest.raises(ArgumentTypeError):
        medical.line_search_attack(api, X, seed=-1.5)
    limited = extraction.PredictionAPI(system.predict_proba, output="labels", max_queries=50)
    with pytest.raises(extraction.QueryBudgetExceeded):
        medical.line_search_attack(limited, X, seed=0)


def test_parameter_error_and_victim_parameters(victim):
    system, X = victim
    w, b = medical.victim_parameters(system)
    assert np.allclose(X @ w + b, system.estimator.decision_function(X))
    assert medical.parameter_error(system, w, b) == 0.0
    assert medical.parameter_error(system, 2 * w, 2 * b) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="weights"):
        medical.parameter_error(system, w[:3], b)
    with pytest.raises(ArgumentTypeError):
        medical.parameter_error(systems.FraudScorer(), w, b)
