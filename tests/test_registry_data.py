"""Registry, integrity checks and the loaders of the real datasets."""

import shutil

import numpy as np
import pytest

from mlsec_helpers import data, registry


def test_every_dataset_has_a_datasheet_and_licence():
    for name, entry in registry.REGISTRY.items():
        assert entry.licence and entry.citation and entry.source, name
        text = registry.datasheet_markdown(name)
        assert len(text) > 300, f"datasheet of {name} is too short"
    table = registry.datasets_table()
    assert set(table["dataset"]) == set(registry.REGISTRY)


def test_files_verify_against_the_registry():
    for name, entry in registry.REGISTRY.items():
        for k in range(len(entry.files)):
            assert registry.read_verified(name, k)


def test_unknown_dataset_name_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown dataset or domain 'mnsit'.*known: .*digits"):
        data.load_dataset("mnsit")
    with pytest.raises(ValueError, match="did you mean 'digits'"):
        registry.get_entry("digit")
    with pytest.raises(TypeError):
        data.load_dataset(3)


def test_tampered_file_is_a_clear_error(tmp_path):
    src = registry.resolve(registry.REGISTRY["breast_cancer"].files[0])
    copy = tmp_path / "breast_cancer.csv"
    shutil.copy(src, copy)
    registry.read_verified("breast_cancer", path=copy)  # an intact copy passes
    with copy.open("a") as fh:
        fh.write("1,2,3\n")
    with pytest.raises(registry.DataIntegrityError, match="does not match the registry.*Fix:"):
        registry.read_verified("breast_cancer", path=copy)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(registry.DataIntegrityError, match="not found.*Fix:"):
        registry.read_verified("digits", path=tmp_path / "nope.csv.gz")


def test_fingerprint_mismatch_is_a_clear_error(monkeypatch):
    entry = registry.REGISTRY["support"]
    monkeypatch.setitem(
        registry.REGISTRY, "support", registry.DatasetEntry(**{**entry.__dict__,
                                                              "fingerprint": "0" * 64})
    )
    with pytest.raises(registry.DataIntegrityError, match="differs from the registered"):
        registry.verify_fingerprint("support", "1" * 64)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_bad_seed(seed):
    with pytest.raises((TypeError, ValueError)):
        data.load_dataset("digits", seed=seed)


def test_digits_split_is_deterministic_and_scaled():
    a, b = data.load_dataset("image", seed=0), data.load_dataset("image", seed=0)
    c = data.load_dataset("image", seed=1)
    assert a.X_train.shape == (4000, 1, 28, 28) and a.X_test.shape == (1000, 1, 28, 28)
    assert a.X_train.dtype == np.float32 and 0 <= a.X_train.min() and a.X_train.max() <= 1
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.y_train, c.y_train)
    assert sorted(np.unique(a.y_train)) == list(range(10))


def test_digits_tiny_fallback():
    d = data.load_dataset("digits_tiny")
    assert d.X_train.shape[1:] == (1, 8, 8)


def test_movielens_split():
    d = data.load_dataset("recommender")
    assert len(d.y_train) + len(d.y_test) == 100_004
    assert d.extra["n_users"] == 671
    # every user keeps ratings in training and has at least one held out
    assert set(np.unique(d.X_test[:, 0])) == set(np.unique(d.X_train[:, 0]))
    # held-out ratings are each user's most recent
    last_train = d.frame_train.groupby("user")["timestamp"].max()
    first_test = d.frame_test.groupby("user")["timestamp"].min()
    assert (first_test >= last_train.loc[first_test.index]).all()


def test_breast_cancer_positive_class_is_malignant():
    d = data.load_dataset("medical")
    assert d.target_names == ["benign", "malignant"]
    assert len(d.feature_names) == 30
    share = np.concatenate([d.y_train, d.y_test]).mean()
    assert abs(share - 212 / 569) < 1e-9


def test_summary_table():
    d = data.load_dataset("medical")
    row = d.summary().iloc[0]
    assert row["train rows"] == 455 and "CC BY" in row["licence"]


def test_generated_datasets_match_their_registered_fingerprints():
    for name in ("support", "fraud"):
        assert registry.REGISTRY[name].fingerprint
    d = data.load_dataset("nlp")  # verifies the fingerprint of seed 0 on load
    assert len(d.y_train) + len(d.y_test) == 4000
    f = data.load_dataset("fraud")
    assert f.X_train.shape[1] == len(f.feature_names)
    assert f.frame_train["day"].max() < f.frame_test["day"].min()
    assert set(f.sensitive_train.columns) == {"customer_age", "customer_region"}


@pytest.mark.parametrize("name, module", [("support", "nlp_corpus"), ("fraud", "fraud_sim")])
def test_generated_datasheets_agree_with_the_registry(name, module):
    """One licence per dataset: the generator's datasheet says what the registry says."""
    import importlib

    sheet = importlib.import_module(f"mlsec_helpers.{module}").DATASHEET
    assert sheet["licence"] == registry.get_entry(name).licence
