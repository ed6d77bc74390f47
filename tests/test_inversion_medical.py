"""Lab 06, medical section: NHEFS records, the mortality forest, imputation and the defences."""

import math

import numpy as np
import pytest

from mlsec_helpers.data import load_dataset
from mlsec_helpers.inversion import medical as inv
from mlsec_helpers.inversion.common import candidate_probabilities, fredrikson_inference
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def patients():
    return inv.nhefs_patient_records(load_dataset("nhefs", seed=0))


def test_smoking_bands_edges_and_errors():
    np.testing.assert_array_equal(inv.nhefs_smoking_band([1, 10, 11, 20, 21, 30, 31, 80]),
                                  [0, 0, 1, 1, 2, 2, 3, 3])
    assert len(inv.NHEFS_SMOKING_BANDS) == 4
    with pytest.raises(ValueError, match="at least 1"):
        inv.nhefs_smoking_band([0])


def test_patient_records_replace_intensity_by_its_band(patients):
    d = load_dataset("nhefs", seed=0)
    col = patients.column
    assert patients.feature_names[col] == "smoking_band"
    np.testing.assert_array_equal(patients.X_members[:, col], patients.band_members)
    np.testing.assert_array_equal(patients.band_members, inv.nhefs_smoking_band(d.X_train[:, col]))
    np.testing.assert_array_equal(np.delete(patients.X_others, col, 1), np.delete(d.X_test, col, 1))
    assert abs(patients.prior.sum() - 1) < 1e-12 and len(patients.y_others) == 408
    with pytest.raises(ArgumentTypeError, match="nhefs"):
        inv.nhefs_patient_records(load_dataset("medical"))


def test_forest_and_the_flat_rule_on_members(patients, unchanged_global_state):
    forest = inv.nhefs_mortality_forest(patients.X_members, patients.y_members, seed=0)
    asked = candidate_probabilities(forest, patients.X_members,
                                              column=patients.column, values=np.arange(4))
    guess = fredrikson_inference(asked, patients.y_members, np.ones(4))
    prior_rate = (patients.band_members == patients.prior.argmax()).mean()
    assert (guess == patients.band_members).mean() > prior_rate + 0.05  # the members' leak
    with pytest.raises(ValueError):
        inv.nhefs_mortality_forest(patients.X_members, patients.y_members[:-1])
    with pytest.raises(ArgumentTypeError):
        inv.nhefs_mortality_forest(patients.X_members, patients.y_members, n_estimators=2.5)


def test_imputation_is_cross_fitted_probabilities(patients, unchanged_global_state):
    imputed = inv.nhefs_imputation(patients, seed=0, n_folds=3)
    p_m, p_o = imputed.members, imputed.others
    assert p_m.shape == (len(patients.y_members), 4) and p_o.shape == (len(patients.y_others), 4)
    assert np.allclose(p_m.sum(1), 1) and np.allclose(p_o.sum(1), 1)
    with pytest.raises(ArgumentTypeError):
        inv.nhefs_imputation("patients")
    with pytest.raises(ValueError):
        inv.nhefs_imputation(patients, n_folds=1)


def test_randomized_response_keep_rate_and_seed(unchanged_global_state):
    v = np.repeat(np.arange(4), 5000)
    out = inv.randomized_response(v, 4, epsilon=1.0, seed=0)
    keep = math.e / (math.e + 3)
    assert abs((out == v).mean() - keep) < 0.015
    changed = out[out != v]
    assert set(np.unique(changed)) <= {0, 1, 2, 3}
    # a replaced value is uniform over the three others
    shares = np.bincount((out[v == 0]), minlength=4)[1:] / (v == 0).sum()
    assert np.allclose(shares, (1 - keep) / 3, atol=0.02)
    np.testing.assert_array_equal(out, inv.randomized_response(v, 4, epsilon=1.0, seed=0))
    assert (inv.randomized_response(v, 4, epsilon=50.0, seed=1) == v).all()
    with pytest.raises(ValueError, match="epsilon"):
        inv.randomized_response(v, 4, epsilon=0.0)
    with pytest.raises(ValueError):
        inv.randomized_response([0, 4], 4, epsilon=1.0)
    with pytest.raises(ValueError):
        inv.randomized_response([0, 1], 1, epsilon=1.0)


def test_label_only_outputs():
    p = np.array([[0.2, 0.8], [0.6, 0.4]])
    np.testing.assert_array_equal(inv.label_only_outputs(p), [[0, 1], [1, 0]])
    cube = np.stack([p, p[::-1]], axis=1)  # (n, values, classes), as the attack queries it
    assert inv.label_only_outputs(cube).shape == (2, 2, 2)
    with pytest.raises(ValueError, match="classes"):
        inv.label_only_outputs(np.array([0.2, 0.8]))
