"""The NHEFS dataset (lab 06, medical): registry entry, integrity check, loader and datasheet."""

import shutil

import numpy as np
import pytest

from mlsec_helpers import data, registry


def test_nhefs_is_registered_with_a_verified_file_and_a_datasheet():
    entry = registry.get_entry("nhefs")
    assert entry.domain == "medical" and entry.files and entry.licence and entry.citation
    assert registry.read_verified("nhefs")
    text = registry.datasheet_markdown("nhefs")
    assert "1,629" in text and "Licence" in text


def test_tampered_nhefs_file_is_a_clear_error(tmp_path):
    copy = tmp_path / "nhefs.pkl.compress"
    shutil.copy(registry.resolve(registry.get_entry("nhefs").files[0]), copy)
    registry.read_verified("nhefs", path=copy)  # an intact copy passes
    with copy.open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(registry.DataIntegrityError, match="does not match the registry.*Fix:"):
        registry.read_verified("nhefs", path=copy)


def test_nhefs_split_shapes_labels_and_sensitive_columns():
    d = data.load_dataset("nhefs", seed=0)
    assert d.X_train.shape == (1221, len(data.NHEFS_FEATURES))
    assert d.X_test.shape == (408, len(data.NHEFS_FEATURES))
    assert d.feature_names == list(data.NHEFS_FEATURES)
    assert np.isfinite(d.X_train).all() and np.isfinite(d.X_test).all()
    assert d.target_names == ["alive in 1992", "died by 1992"]
    assert np.concatenate([d.y_train, d.y_test]).sum() == 318
    # stratified: both splits keep the death rate within a percentage point
    assert abs(d.y_train.mean() - d.y_test.mean()) < 0.01
    assert list(d.sensitive_train.columns) == list(data.NHEFS_SENSITIVE)
    assert set(np.unique(d.sensitive_train["sex"])) == {0, 1}
    assert len(d.frame_train) == 1221 and "smokeintensity" in d.frame_train.columns
    # the features and the raw frame describe the same people, row for row
    np.testing.assert_array_equal(d.X_train[:, 0], d.frame_train["age"].to_numpy())


def test_nhefs_split_is_deterministic_per_seed():
    a, b, c = (data.load_dataset("nhefs", seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.frame_train["seqn"], c.frame_train["seqn"])
    assert set(a.frame_train["seqn"]).isdisjoint(a.frame_test["seqn"])


@pytest.mark.parametrize("seed", [-1, 1.5, "0"])
def test_nhefs_bad_seed(seed):
    with pytest.raises((TypeError, ValueError)):
        data.load_dataset("nhefs", seed=seed)
