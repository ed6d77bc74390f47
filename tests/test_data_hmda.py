"""The HMDA dataset (lab 07, fraud and credit): registry entry, integrity check, loader and
datasheet."""

import shutil

import numpy as np
import pytest

from mlsec_helpers import data, registry


def test_hmda_is_registered_with_a_verified_file_and_a_datasheet():
    entry = registry.get_entry("hmda")
    assert entry.domain == "fraud" and entry.files and entry.licence and entry.citation
    assert registry.read_verified("hmda")
    text = registry.datasheet_markdown("hmda")
    assert "2,380" in text and "Licence" in text and "Unawareness is not fairness" in text
    assert "hmda" in set(registry.datasets_table()["dataset"])


def test_tampered_hmda_file_is_a_clear_error(tmp_path):
    copy = tmp_path / "HMDA.pkl.compress"
    shutil.copy(registry.resolve(registry.get_entry("hmda").files[0]), copy)
    registry.read_verified("hmda", path=copy)  # an intact copy passes
    with copy.open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(registry.DataIntegrityError, match="does not match the registry.*Fix:"):
        registry.read_verified("hmda", path=copy)


def test_hmda_split_shapes_labels_and_sensitive_column():
    d = data.load_dataset("hmda", seed=0)
    assert d.domain == "fraud"
    assert d.X_train.shape == (1785, len(data.HMDA_FEATURES))
    assert d.X_test.shape == (595, len(data.HMDA_FEATURES))
    assert d.feature_names == list(data.HMDA_FEATURES)
    assert np.isfinite(d.X_train).all() and np.isfinite(d.X_test).all()
    assert d.target_names == ["approved", "denied"]
    y = np.concatenate([d.y_train, d.y_test])
    assert y.sum() == 285 and set(np.unique(y)) == {0, 1}
    # stratified: both splits keep the denial rate within a percentage point
    assert abs(d.y_train.mean() - d.y_test.mean()) < 0.01
    # race is kept out of X (an "unaware" model) and held in sensitive_* as afam 0/1
    assert "afam" not in d.feature_names
    assert list(d.sensitive_train.columns) == list(data.HMDA_SENSITIVE) == ["afam"]
    afam = np.concatenate([d.sensitive_train["afam"], d.sensitive_test["afam"]])
    assert set(np.unique(afam)) == {0, 1} and afam.sum() == 339
    assert len(d.sensitive_train) == len(d.y_train) and len(d.sensitive_test) == len(d.y_test)
    # the datasheet's denial rates by race (28% against 9%)
    assert abs(y[afam == 1].mean() - 0.283) < 0.001 and abs(y[afam == 0].mean() - 0.093) < 0.001
    # yes/no columns are 0/1 in X; the raw frame keeps the text, row for row
    for name in ("phist", "selfemp", "insurance", "condomin", "single", "hschool"):
        column = d.X_train[:, d.feature_names.index(name)]
        assert set(np.unique(column)) == {0.0, 1.0}
        np.testing.assert_array_equal(column == 1, d.frame_train[name].to_numpy() == "yes")
    assert len(d.frame_train) == 1785 and "application" in d.frame_train.columns
    np.testing.assert_array_equal(d.X_train[:, 0], d.frame_train["pirat"].to_numpy())
    np.testing.assert_array_equal(d.y_train, (d.frame_train["deny"] == "yes").to_numpy())
    np.testing.assert_array_equal(d.sensitive_train["afam"],
                                  (d.frame_train["afam"] == "yes").to_numpy())


def test_hmda_split_is_deterministic_per_seed():
    a, b, c = (data.load_dataset("hmda", seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.sensitive_test, b.sensitive_test)
    assert not np.array_equal(a.frame_train["application"], c.frame_train["application"])
    assert set(a.frame_train["application"]).isdisjoint(a.frame_test["application"])
    assert len(set(a.frame_train["application"]) | set(a.frame_test["application"])) == 2380


@pytest.mark.parametrize("seed", [-1, 1.5, "0"])
def test_hmda_bad_seed(seed):
    with pytest.raises((TypeError, ValueError)):
        data.load_dataset("hmda", seed=seed)
