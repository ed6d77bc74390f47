"""Tests of lab 11's lifecycle section: safe packaging behind verify-then-load, pins, the lock
file view, RECORD checks, the SBOM and the SDL map to SAIF and the NIST CSF."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from mlsec_helpers import catalogue, frameworks, systems
from mlsec_helpers.supplychain import integrity, lifecycle
from mlsec_helpers.supplychain.results import SdlControl

RNG = np.random.default_rng(0)
X_TAB = RNG.normal(size=(60, 4))
Y_TAB = (X_TAB[:, 0] + X_TAB[:, 1] > 0).astype(int)


@pytest.fixture(scope="module")
def tiny_systems():
    """One small fitted system of each kind (seconds to train)."""
    images = np.random.default_rng(1).uniform(size=(40, 1, 8, 8)).astype(np.float32)
    labels = np.arange(40) % 10
    cnn = systems.DigitsCNN(seed=0, epochs=1, width=2).fit(images, labels)
    pairs = np.array([[u, i] for u in range(5) for i in range(7) if (u + i) % 2 == 0])
    ratings = (1.0 + (pairs.sum(1) % 5)).astype(np.float32)
    rec = systems.MFRecommender(5, 7, dim=2, epochs=2, seed=0).fit(pairs, ratings)
    medical = systems.DiagnosisModel().fit(X_TAB, Y_TAB)
    fraud = systems.FraudScorer(seed=0)
    fraud.estimator.set_params(max_iter=5)
    fraud.fit(X_TAB, Y_TAB)
    return {"image": (cnn, images[:10]), "recommender": (rec, pairs),
            "medical": (medical, X_TAB), "fraud": (fraud, X_TAB)}


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    return (integrity.make_key_pair(folder, name="publisher"),
            integrity.make_key_pair(folder, name="attacker"))


# --- safe packaging -----------------------------------------------------------------------------


def test_formats_cover_every_domain():
    assert set(lifecycle.SAFE_FORMATS) == set(catalogue.DOMAINS)
    assert {d for d, (fmt, _) in lifecycle.SAFE_FORMATS.items() if fmt == "skops"} == set(
        lifecycle.TRUSTED_TYPES)


@pytest.mark.parametrize("domain", ["image", "recommender", "medical", "fraud"])
def test_round_trip_answers_identically(tiny_systems, keys, tmp_path, domain):
    system, X = tiny_systems[domain]
    trip = lifecycle.secure_round_trip(system, tmp_path, key_pair=keys[0], X=X)
    assert trip.same.all() and trip.same.size == len(X)
    assert trip.saved.format == lifecycle.SAFE_FORMATS[domain][0]
    assert "config.json" in trip.saved.files and not any(
        f.endswith((".pkl", ".pt", ".joblib")) for f in trip.saved.files)
    assert trip.manifest.parent == tmp_path and trip.signature.parent == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [domain, f"{domain}.manifest.json", f"{domain}.sig"])
    assert trip.sign_seconds > 0 and trip.verify_seconds > 0


def test_safetensors_files_are_deterministic(tiny_systems, tmp_path):
    cnn, _ = tiny_systems["image"]
    a = lifecycle.save_system(cnn, tmp_path / "a")
    b = lifecycle.save_system(cnn, tmp_path / "b")
    for name in a.files:
        assert (a.folder / name).read_bytes() == (b.folder / name).read_bytes()


def test_untrusted_skops_type_is_refused(tiny_systems, tmp_path):
    fraud, X = tiny_systems["fraud"]
    saved = lifecycle.save_system(fraud, tmp_path / "fraud")
    with pytest.raises(lifecycle.RefusedToLoad, match="TreePredictor") as info:
        lifecycle.load_system(saved.folder)
    assert info.value.check == lifecycle.TRUSTED_TYPES["fraud"]
    loaded = lifecycle.load_system(saved.folder, trusted=lifecycle.TRUSTED_TYPES["fraud"])
    assert np.array_equal(loaded.predict_proba(X), fraud.predict_proba(X))


def test_verify_then_load_refuses_a_changed_or_resigned_folder(tiny_systems, keys, tmp_path):
    medical, X = tiny_systems["medical"]
    trip = lifecycle.secure_round_trip(medical, tmp_path / "pub", key_pair=keys[0], X=X)
    # an added file (a flipped bit in the zip could also make it unreadable, which is not the
    # point here: skops files are not byte-reproducible, so where a seeded flip lands varies)
    (trip.saved.folder / "notes.txt").write_text("added by the attacker")
    with pytest.raises(lifecycle.RefusedToLoad, match="manifest check FAILED"):
        lifecycle.verify_then_load(trip.saved.folder, manifest=trip.manifest,
                                   signature=trip.signature, public_key=keys[0])
    # the attacker rewrites the manifest and re-signs: the publisher's key refuses it
    integrity.write_manifest(trip.saved.folder, tmp_path / "forged.json")
    integrity.sign_model(trip.saved.folder, keys[1], tmp_path / "forged.sig")
    with pytest.raises(lifecycle.RefusedToLoad, match="wrong key") as info:
        lifecycle.verify_then_load(trip.saved.folder, manifest=tmp_path / "forged.json",
                                   signature=tmp_path / "forged.sig", public_key=keys[0])
    assert not info.value.check.ok
    # ... and the attacker's own key would accept it: the trust is in the key, not the files
    loaded = lifecycle.verify_then_load(trip.saved.folder, manifest=tmp_path / "forged.json",
                                        signature=tmp_path / "forged.sig", public_key=keys[1])
    assert loaded.n_features_ == X.shape[1]


def test_refusal_trials_refuse_everything(tiny_systems, keys, tmp_path,
                                          unchanged_global_state):
    medical, X = tiny_systems["medical"]
    trip = lifecycle.secure_round_trip(medical, tmp_path / "pub", key_pair=keys[0], X=X)
    trials = lifecycle.refusal_trials(trip, tmp_path / "attack", key_pair=keys[0],
                                      attacker=keys[1], seed=3)
    assert [t.case for t in trials] == ["flipped bit", "pickle added",
                                        "flipped bit, manifest rewritten",
                                        "re-signed, manifest rewritten"]
    assert all(t.refused for t in trials) and not any(t.payload_ran for t in trials)
    assert [t.manifest_ok for t in trials] == [False, True, True, True]
    again = lifecycle.refusal_trials(trip, tmp_path / "attack2", key_pair=keys[0],
                                     attacker=keys[1], seed=3)
    assert [t.reason for t in again] == [t.reason for t in trials]  # same bit for a seed


def test_same_outputs_sees_a_changed_weight(tiny_systems, tmp_path):
    medical, X = tiny_systems["medical"]
    copy = lifecycle.load_system(lifecycle.save_system(medical, tmp_path / "m").folder)
    assert lifecycle.same_outputs(medical, copy, X).all()
    copy.estimator.steps[-1][1].coef_[0, 0] += 1e-3
    assert not lifecycle.same_outputs(medical, copy, X).all()
    with pytest.raises(ValueError, match="cannot compare"):
        lifecycle.same_outputs(medical, tiny_systems["image"][0], X)


def test_packaging_bad_input(tiny_systems, keys, tmp_path):
    medical, X = tiny_systems["medical"]
    with pytest.raises(TypeError, match="course reference system"):
        lifecycle.save_system(object(), tmp_path / "x")
    with pytest.raises(ValueError, match="not fitted"):
        lifecycle.save_system(systems.DiagnosisModel(), tmp_path / "y")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(FileExistsError):
        lifecycle.save_system(medical, tmp_path / "full")
    with pytest.raises(TypeError, match="KeyPair"):
        lifecycle.secure_round_trip(medical, tmp_path / "z", key_pair="key.pem", X=X)
    with pytest.raises(TypeError, match="trusted"):
        lifecycle.load_system(tmp_path, trusted="sklearn.Thing")
    with pytest.raises(ValueError, match="config.json"):
        lifecycle.load_system(tmp_path)
    with pytest.raises(FileNotFoundError):
        lifecycle.load_system(tmp_path / "missing")
    trip = lifecycle.secure_round_trip(medical, tmp_path / "pub", key_pair=keys[0], X=X)
    with pytest.raises(ValueError, match="another key pair"):
        lifecycle.refusal_trials(trip, tmp_path / "w", key_pair=keys[0], attacker=keys[0])
    with pytest.raises(FileExistsError):
        lifecycle.secure_round_trip(medical, tmp_path / "pub", key_pair=keys[0], X=X)


# --- dependencies -------------------------------------------------------------------------------


def test_pins_against_installed(tmp_path):
    from importlib import metadata

    numpy_version = metadata.version("numpy")
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'x'\nversion = '0'\ndependencies = [\n"
        f"  'numpy=={numpy_version}', 'pandas==0.0.1', 'no-such-package-xyz==1.0',\n"
        "  'scipy>=1', \"pytest==1.0; python_version < '3'\"]\n"
        "[project.optional-dependencies]\ndev = ['numpy>=1']\n")
    pins = lifecycle.pinned_requirements(tmp_path / "pyproject.toml").set_index("package")
    assert list(pins.index) == ["numpy", "pandas", "no-such-package-xyz", "scipy"]  # marker
    assert pins["matches"].tolist() == [True, False, False, True]
    assert pins["exact"].tolist() == [True, True, True, False]
    assert pd.isna(pins.loc["no-such-package-xyz", "installed"])
    both = lifecycle.pinned_requirements(tmp_path / "pyproject.toml",
                                         groups=("dependencies", "dev"))
    assert len(both) == 5 and both["group"].iloc[-1] == "dev"
    with pytest.raises(ValueError, match="unknown requirement group"):
        lifecycle.pinned_requirements(tmp_path / "pyproject.toml", groups=("test",))
    with pytest.raises(TypeError):
        lifecycle.pinned_requirements(tmp_path / "pyproject.toml", groups="dev")
    with pytest.raises(FileNotFoundError):
        lifecycle.pinned_requirements(tmp_path / "nope.toml")


def test_course_pins_all_match():
    pins = lifecycle.pinned_requirements(lifecycle.repository_pyproject())
    assert pins["exact"].all() and pins["matches"].all()
    assert "torch" in set(pins["package"])


def test_lock_view_and_record(tmp_path):
    lock = lifecycle.lock_view(["numpy", "picklescan"], tmp_path)
    assert lock.path == tmp_path / "requirements.lock.txt"
    lines = lock.path.read_text().splitlines()
    assert any(line.startswith("numpy==") for line in lines)
    assert list(lock.frame["package"].str.lower()) == ["numpy", "picklescan"]
    assert (lock.frame["record_files"] > 0).all() and lock.hashed == 0
    check = lifecycle.verify_installed("picklescan")
    assert check.ok and check.checked > 0
    with pytest.raises(ValueError, match="not installed"):
        lifecycle.verify_installed("no-such-package-xyz")
    with pytest.raises(TypeError):
        lifecycle.lock_view("numpy", tmp_path)
    with pytest.raises(FileNotFoundError):
        lifecycle.lock_view(["numpy"], tmp_path / "missing")


def _bom(**extra):
    return {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, **extra}


def test_validate_sbom_known_answers(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_bom(components=[{
        "type": "library", "name": "demo", "version": "1.0", "bom-ref": "demo==1.0",
        "externalReferences": [{"type": "website", "url": "https://example.org/demo"}]}])))
    assert lifecycle.validate_sbom(good) == ()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_bom(components=[{"type": "library", "name": 3}])))
    assert any("is not of type 'string'" in e for e in lifecycle.validate_sbom(bad))
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps(_bom(unknownField=1)))  # the strict schema refuses it
    assert lifecycle.validate_sbom(extra)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"spdxVersion": "SPDX-2.3"}))
    with pytest.raises(ValueError, match="not a CycloneDX"):
        lifecycle.validate_sbom(other)


def test_write_sbom_writes_only_into_dest(tmp_path):
    sbom = lifecycle.write_sbom(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sbom.cdx.json"]
    assert sbom.valid and sbom.spec_version == "1.6" and sbom.components > 50
    names = set(lifecycle.sbom_frame(sbom.path)["name"].str.lower())
    assert {"numpy", "torch", "skops", "model-signing"} <= names
    with pytest.raises(FileExistsError):
        lifecycle.write_sbom(tmp_path)
    (tmp_path / "other").mkdir()
    with pytest.raises(FileNotFoundError, match="no interpreter"):
        lifecycle.write_sbom(tmp_path / "other", python=tmp_path / "no" / "python")
    with pytest.raises(FileNotFoundError):
        lifecycle.write_sbom(tmp_path / "missing")


# --- the SDL map --------------------------------------------------------------------------------


def test_every_sdl_identifier_is_known():
    for c in lifecycle.SDL_CONTROLS:
        assert lifecycle.check_sdl_control(c) is c
        assert c.stage in frameworks.LIFECYCLE_STAGES
        assert frameworks.validate_saif_id(c.saif) in frameworks.SAIF_ELEMENTS
        assert frameworks.validate_nist_category(c.nist_category) == c.nist_category
        lab = catalogue.get_lab(c.lab)
        assert c.saif in lab.saif and c.nist_category[:2] in lab.nist_csf
    assert {c.stage for c in lifecycle.SDL_CONTROLS} == set(frameworks.LIFECYCLE_STAGES)
    assert {3, 5, 10, 11} <= {c.lab for c in lifecycle.SDL_CONTROLS}


def test_sdl_table_in_lifecycle_order():
    table = lifecycle.sdl_table()
    assert list(table.columns) == ["stage", "control", "lab", "SAIF", "NIST CSF", "evidence"]
    assert len(table) == len(lifecycle.SDL_CONTROLS)
    order = [s.name for s in frameworks.LIFECYCLE_STAGES.values()]
    ranks = [order.index(s) for s in table["stage"]]
    assert ranks == sorted(ranks)
    assert table["NIST CSF"].str.contains(r"^[A-Z]{2} \w+ / [A-Z]{2}\.[A-Z]{2} ").all()


@pytest.mark.parametrize("change, message", [
    ({"saif": "SAIF-9"}, "unknown SAIF"),
    ({"saif": "SAIF-R-MST"}, "risk, not a core element"),
    ({"saif": "saif-1"}, "canonical"),
    ({"saif": "SAIF-2"}, "lab 11 covers"),
    ({"nist_category": "PR.XX"}, "unknown NIST CSF 2.0 category"),
    ({"nist_category": "DE.CM"}, "NIST CSF functions"),
    ({"stage": "packaging"}, "unknown lifecycle stage"),
    ({"lab": 99}, "unknown lab"),
])
def test_bad_sdl_control_raises(change, message):
    good = next(c for c in lifecycle.SDL_CONTROLS if c.lab == 11)
    with pytest.raises(ValueError, match=message):
        lifecycle.check_sdl_control(replace(good, **change))


def test_sdl_bad_input():
    with pytest.raises(TypeError):
        lifecycle.check_sdl_control(("control", 11))
    with pytest.raises(TypeError):
        lifecycle.sdl_table(lifecycle.SDL_CONTROLS[0])
    with pytest.raises(TypeError):
        lifecycle.sdl_table([])
    assert isinstance(lifecycle.SDL_CONTROLS[0], SdlControl)
