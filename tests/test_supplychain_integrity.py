"""Lab 11 integrity: manifests, model-signing signatures with a local key, tamperings."""

import json
import os

import pytest

from mlsec_helpers.supplychain import integrity as ig
from mlsec_helpers.supplychain.results import KeyPair, ManifestCheck, TamperTrials
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture
def model(tmp_path):
    """A tiny model folder: weights, a config in a subfolder, a hidden file."""
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(bytes(range(256)) * 40)
    (folder / "sub" / "config.json").write_text('{"dim": 4}')
    (folder / ".gitattributes").write_text("*.bin binary\n")
    return folder


@pytest.fixture
def signed(tmp_path, model):
    keys = ig.make_key_pair(tmp_path / "keys")
    manifest = ig.write_manifest(model, tmp_path / "model.manifest.json")
    signature = ig.sign_model(model, keys, tmp_path / "model.sig")
    return keys, manifest, signature


# --- manifests ----------------------------------------------------------------------------------


def test_manifest_known_answer(model):
    import hashlib

    manifest = ig.build_manifest(model)
    assert list(manifest) == [".gitattributes", "sub/config.json", "weights.bin"]
    assert manifest["sub/config.json"] == {
        "size": 10, "sha256": hashlib.sha256(b'{"dim": 4}').hexdigest()}


def test_manifest_of_one_file(model):
    manifest = ig.build_manifest(model / "weights.bin")
    assert list(manifest) == ["weights.bin"] and manifest["weights.bin"]["size"] == 10240


def test_manifest_round_trip_and_check(tmp_path, model):
    written = ig.write_manifest(model, tmp_path / "m.json")
    assert ig.read_manifest(tmp_path / "m.json") == written
    check = ig.check_manifest(model, tmp_path / "m.json")
    assert isinstance(check, ManifestCheck) and check.ok and check.n_files == 3
    assert "3 files match" in str(check)


def test_manifest_reports_missing_added_changed(tmp_path, model):
    manifest = ig.build_manifest(model)
    (model / "sub" / "config.json").unlink()
    (model / "extra.txt").write_text("x")
    data = bytearray((model / "weights.bin").read_bytes())
    data[5] ^= 1
    (model / "weights.bin").write_bytes(bytes(data))
    check = ig.check_manifest(model, manifest)
    assert not check.ok
    assert check.missing == ("sub/config.json",) and check.added == ("extra.txt",)
    assert check.changed == ("weights.bin",)
    assert "FAILED" in str(check) and "extra.txt" in str(check)


def test_manifest_refuses_bad_input(tmp_path, model):
    with pytest.raises(ValueError, match="inside the model folder"):
        ig.write_manifest(model, model / "manifest.json")
    with pytest.raises(FileNotFoundError):
        ig.build_manifest(tmp_path / "nowhere")
    with pytest.raises(ArgumentTypeError):
        ig.build_manifest(3)
    with pytest.raises(ArgumentTypeError):
        ig.check_manifest(model, ["weights.bin"])
    with pytest.raises(ValueError, match="manifest entry"):
        ig.check_manifest(model, {"weights.bin": {"size": "big"}})
    (tmp_path / "bad.json").write_text(json.dumps({"files": {}}))
    with pytest.raises(ValueError, match="not a manifest"):
        ig.read_manifest(tmp_path / "bad.json")
    os.symlink(model / "weights.bin", model / "link.bin")
    with pytest.raises(ValueError, match="symbolic link"):
        ig.build_manifest(model)


# --- keys and signatures ------------------------------------------------------------------------


def test_key_pair(tmp_path):
    keys = ig.make_key_pair(tmp_path / "k", name="pub")
    assert isinstance(keys, KeyPair)
    assert keys.private_key.name == "pub.key" and keys.public_key.name == "pub.pub"
    assert keys.private_key.stat().st_mode & 0o077 == 0  # owner only
    assert b"BEGIN PRIVATE KEY" in keys.private_key.read_bytes()
    assert len(keys.fingerprint) == 64
    with pytest.raises(FileExistsError):
        ig.make_key_pair(tmp_path / "k", name="pub")
    with pytest.raises(ValueError, match="plain file name"):
        ig.make_key_pair(tmp_path / "k", name="../x")


def test_signature_passes_untouched_and_fails_each_tampering(tmp_path, model, signed):
    """The issue's acceptance bar: a pass and three clear failures."""
    keys, _, signature = signed
    ok = ig.verify_signature(model, keys, signature)
    assert ok.ok and ok.reason is None and str(ok) == "signature verified"

    other = ig.make_key_pair(tmp_path / "other")
    wrong = ig.verify_signature(model, other, signature)
    assert not wrong.ok and wrong.reason.startswith("wrong key")

    offset, bit = ig.flip_bit(model / "weights.bin", seed=1)
    flipped = ig.verify_signature(model, keys, signature)
    assert not flipped.ok and "changed weights.bin" in flipped.reason
    ig.flip_bit(model / "weights.bin", seed=1)  # the same draw undoes it
    assert ig.verify_signature(model, keys, signature).ok

    (model / "notes.txt").write_text("hi")
    added = ig.verify_signature(model, keys, signature)
    assert not added.ok and "added notes.txt" in added.reason
    with pytest.raises(ig.SignatureError, match="added notes.txt"):
        ig.verify_signature(model, keys, signature, raise_error=True)


def test_signature_covers_git_files(model, signed):
    keys, _, signature = signed
    (model / ".gitattributes").write_text("changed\n")
    assert not ig.verify_signature(model, keys, signature).ok


def test_signature_bad_input(tmp_path, model, signed):
    keys, _, signature = signed
    with pytest.raises(ValueError, match="inside the model folder"):
        ig.sign_model(model, keys, model / "model.sig")
    with pytest.raises(FileNotFoundError):
        ig.verify_signature(model, keys, tmp_path / "missing.sig")
    with pytest.raises(ArgumentTypeError):
        ig.verify_signature(model, keys, signature, raise_error="yes")
    (tmp_path / "garbage.sig").write_text("not a bundle")
    check = ig.verify_signature(model, keys, tmp_path / "garbage.sig")
    assert not check.ok and "unreadable" in check.reason


def test_signing_writes_only_where_asked(tmp_path, model, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    before = set(tmp_path.rglob("*"))
    keys = ig.make_key_pair(tmp_path / "keys")
    ig.verify_signature(model, keys, ig.sign_model(model, keys, tmp_path / "s.sig"))
    new = set(tmp_path.rglob("*")) - before
    assert new == {tmp_path / "keys", keys.private_key, keys.public_key, tmp_path / "s.sig"}


# --- tamperings ---------------------------------------------------------------------------------


def test_flip_bit_is_seeded_and_in_range(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(100))
    offset, bit = ig.flip_bit(path, seed=3, start=10, end=20)
    assert 10 <= offset < 20 and 0 <= bit < 8
    data = path.read_bytes()
    assert data[offset] == 1 << bit and sum(data) == data[offset]
    assert ig.flip_bit(path, seed=3, start=10, end=20) == (offset, bit)
    assert path.read_bytes() == bytes(100)
    with pytest.raises(ValueError):
        ig.flip_bit(path, start=50, end=40)
    with pytest.raises(ValueError):
        ig.flip_bit(path, seed=-1)


def test_tamper_trials(tmp_path, model, signed):
    keys, manifest, signature = signed
    trials = ig.tamper_trials(model, manifest=manifest, key_pair=keys, signature_path=signature,
                              workdir=tmp_path / "trials", seed=0)
    assert isinstance(trials, TamperTrials)
    assert [t.case for t in trials.trials] == ["untouched", "flipped bit", "added file",
                                               "wrong key"]
    assert trials.untouched_passed and trials.caught == 1.0 and trials.n_tampered == 3
    by_case = {t.case: t for t in trials.trials}
    assert by_case["flipped bit"].manifest.changed == ("weights.bin",)
    assert by_case["added file"].manifest.added == ("notes.txt",)
    assert by_case["wrong key"].manifest.ok  # a manifest cannot tell who made it
    frame = trials.frame()
    assert list(frame["expected"]) == ["pass", "reject", "reject", "reject"]
    assert frame["signature"].iloc[0] == "pass"
    assert ig.check_manifest(model, manifest).ok  # the original is untouched
    with pytest.raises(FileExistsError):
        ig.tamper_trials(model, manifest=manifest, key_pair=keys, signature_path=signature,
                         workdir=tmp_path / "trials", seed=0)
    with pytest.raises(ArgumentTypeError):
        ig.tamper_trials(model, manifest=manifest, key_pair=keys.public_key,
                         signature_path=signature, workdir=tmp_path / "t2")
    with pytest.raises(ValueError, match="target"):
        ig.tamper_trials(model, manifest=manifest, key_pair=keys, signature_path=signature,
                         workdir=tmp_path / "t3", target="nope.bin")


def test_tamper_trials_deterministic_flip(tmp_path, model, signed):
    keys, manifest, signature = signed
    changes = [ig.tamper_trials(model, manifest=manifest, key_pair=keys,
                                signature_path=signature, workdir=tmp_path / f"w{i}",
                                seed=5).trials[1].change for i in range(2)]
    assert changes[0] == changes[1] and "weights.bin" in changes[0]


def test_adaptive_trials(tmp_path, model, signed):
    import shutil

    keys, manifest, signature = signed
    tampered = tmp_path / "tampered"
    shutil.copytree(model, tampered)
    ig.flip_bit(tampered / "weights.bin", seed=2)
    trials = ig.adaptive_trials(model, tampered, manifest=manifest, key_pair=keys,
                                signature_path=signature, workdir=tmp_path / "adaptive")
    cases = {t.case: t for t in trials.trials}
    assert cases["rewritten manifest"].manifest.ok  # the attacker's own manifest passes
    assert trials.caught == 1.0 and trials.n_tampered == 4
    assert cases["re-signed"].signature.reason.startswith("wrong key")
    for case in ("re-signed, key hint forged", "signed statement edited"):
        assert cases[case].signature.reason.startswith("invalid signature")


def test_forge_key_hint(tmp_path, model, signed):
    keys, _, _ = signed
    attacker = ig.make_key_pair(tmp_path / "a")
    raw = ig.sign_model(model, attacker, tmp_path / "raw.sig")
    forged = ig.forge_key_hint(raw, keys, tmp_path / "forged.sig")
    bundle = json.loads(forged.read_text())
    assert bundle["verificationMaterial"]["publicKey"]["hint"] == keys.fingerprint
    assert not ig.verify_signature(model, keys, forged).ok
    (tmp_path / "x.sig").write_text("{}")
    with pytest.raises(ValueError, match="not a key-signed"):
        ig.forge_key_hint(tmp_path / "x.sig", keys, tmp_path / "y.sig")


def test_sign_one_file(tmp_path, model):
    keys = ig.make_key_pair(tmp_path / "keys")
    weights = model / "weights.bin"
    signature = ig.sign_model(weights, keys, tmp_path / "w.sig")
    assert ig.verify_signature(weights, keys, signature).ok
    ig.flip_bit(weights, seed=0)
    check = ig.verify_signature(weights, keys, signature)
    assert not check.ok and "changed weights.bin" in check.reason


def test_tamper_trials_one_file(tmp_path, model):
    keys = ig.make_key_pair(tmp_path / "keys")
    weights = model / "weights.bin"
    manifest = ig.build_manifest(weights)
    signature = ig.sign_model(weights, keys, tmp_path / "w.sig")
    trials = ig.tamper_trials(weights, manifest=manifest, key_pair=keys,
                              signature_path=signature, workdir=tmp_path / "t", seed=0)
    assert [t.case for t in trials.trials] == ["untouched", "flipped bit", "added bytes",
                                               "wrong key"]
    assert trials.untouched_passed and trials.caught == 1.0
