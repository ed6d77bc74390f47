"""Lab 10, models at rest: envelope encryption, tamper detection, rotation, serialisation."""

import numpy as np
import pytest

from mlsec_helpers import systems
from mlsec_helpers.securecomp import atrest


@pytest.fixture
def store(tmp_path):
    s = atrest.KeyStore(tmp_path / "keys")
    s.create_key()
    return s


@pytest.fixture(scope="module")
def medical():
    from mlsec_helpers.data import load_dataset

    data = load_dataset("medical", seed=0)
    return systems.DiagnosisModel().fit(data.X_train, data.y_train), data.X_test[:40]


@pytest.fixture(scope="module")
def mlp():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    system = systems.TabularMLP(seed=0, hidden=8, epochs=2)
    return system.fit(X, y), X[:30]


def test_seal_open_round_trip_and_layout(store):
    data = bytes(range(256)) * 10
    blob = atrest.seal_model(data, store, name="toy", version=3, fmt="bytes")
    assert atrest.open_model(blob, store, name="toy", version=3) == data
    header = atrest.read_header(blob)
    assert header.key_id == "kek-1" and len(header.nonce) == 12 and len(header.wrapped_key) == 48
    assert header.ciphertext_bytes == len(data) + 16          # GCM: same length plus the tag
    assert header.associated_data == b'{"format":"bytes","name":"toy","version":3}'
    assert len(blob) - len(data) < 200
    assert blob[:8] == atrest.MAGIC and data[:64] not in blob
    # fresh data key and nonce every time: two seals of the same bytes differ
    other = atrest.seal_model(data, store, name="toy", version=3)
    assert atrest.read_header(other).nonce != header.nonce and other != blob


@pytest.mark.parametrize("field", atrest.FIELDS)
def test_every_flipped_bit_raises_tampered(store, field):
    blob = atrest.seal_model(b"weights" * 100, store, name="toy")
    flipped = atrest.flip_bit(blob, field, seed=1)
    assert sum(bin(a ^ b).count("1") for a, b in zip(blob, flipped, strict=True)) == 1
    start, stop = atrest.read_header(blob).ranges[field]
    assert blob[start:stop] != flipped[start:stop]
    with pytest.raises(atrest.TamperedModelError, match="failed authentication"):
        atrest.open_model(flipped, store, name="toy")


def test_flip_bit_is_deterministic_for_a_seed(store):
    blob = atrest.seal_model(b"x" * 500, store, name="toy")
    assert atrest.flip_bit(blob, "ciphertext", seed=4) == atrest.flip_bit(blob, "ciphertext",
                                                                          seed=4)
    assert atrest.flip_bit(blob, "ciphertext", seed=4) != atrest.flip_bit(blob, "ciphertext",
                                                                          seed=5)


def test_wrong_key_unknown_key_swap_and_rollback(store, tmp_path):
    blob = atrest.seal_model(b"model", store, name="medical", version=1)
    other = atrest.KeyStore(tmp_path / "other")
    other.create_key()                                  # kek-1 too, different material
    with pytest.raises(atrest.TamperedModelError, match="wrong key"):
        atrest.open_model(blob, other, name="medical")
    empty = atrest.KeyStore(tmp_path / "empty")
    with pytest.raises(atrest.UnknownKeyError, match="holds no key 'kek-1'"):
        atrest.open_model(blob, empty, name="medical")
    with pytest.raises(atrest.TamperedModelError, match="swapped or rolled-back"):
        atrest.open_model(blob, store, name="fraud")
    with pytest.raises(atrest.TamperedModelError, match="'medical' v1, not"):
        atrest.open_model(blob, store, name="medical", version=2)
    with pytest.raises(atrest.TamperedModelError, match="magic"):
        atrest.open_model(b"not a model file at all", store, name="medical")
    with pytest.raises(atrest.TamperedModelError, match="truncated"):
        atrest.open_model(blob[:60], store, name="medical")


def test_tamper_checks_report_each_attempt(store, tmp_path):
    other = atrest.KeyStore(tmp_path / "other")
    other.create_key()
    blob = atrest.seal_model(b"abc" * 50, store, name="toy")
    checks = atrest.tamper_checks(blob, store, name="toy", wrong_store=other, seed=0)
    assert [c.what for c in checks] == [*atrest.FIELDS, "wrong key"]
    assert all(c.detected and c.error.startswith("TamperedModelError") for c in checks)


def test_rotation_rewraps_without_touching_the_ciphertext(store):
    blobs = {"a": atrest.seal_model(b"A" * 300, store, name="a"),
             "b": atrest.seal_model(b"B" * 900, store, name="b")}
    rotation = atrest.rotate_key(blobs, store, repeats=1)
    assert (rotation.old_key, rotation.new_key) == ("kek-1", "kek-2")
    assert all(rotation.ciphertext_unchanged.values())
    assert set(rotation.rewrap_ms) == set(rotation.reencrypt_ms) == {"a", "b"}
    store.retire("kek-1")
    assert store.key_ids() == ["kek-2"] and store.current == "kek-2"
    assert atrest.open_model(rotation.rewrapped["b"], store, name="b") == b"B" * 900
    with pytest.raises(atrest.UnknownKeyError):
        atrest.open_model(blobs["a"], store, name="a")
    fresh = atrest.reencrypt(rotation.rewrapped["a"], store, name="a")
    assert atrest.read_header(fresh).nonce != atrest.read_header(blobs["a"]).nonce
    assert atrest.open_model(fresh, store, name="a") == b"A" * 300


def test_key_store_files_are_private_and_apart(tmp_path):
    store = atrest.KeyStore(tmp_path / "keys")
    with pytest.raises(atrest.UnknownKeyError, match="create_key"):
        _ = store.current
    assert [store.create_key(), store.create_key()] == ["kek-1", "kek-2"]
    path = tmp_path / "keys" / "kek-2.key"
    assert path.stat().st_mode & 0o077 == 0 and len(path.read_bytes()) == 32
    with pytest.raises(atrest.UnknownKeyError):
        store.retire("kek-9")


def test_sklearn_model_round_trip_and_measurement(store, medical, tmp_path):
    system, X = medical
    serial = atrest.model_bytes(system)
    assert serial.format == "pickle"
    restored = atrest.restore_model(serial.data, system)
    assert restored is not system and restored.estimator is not system.estimator
    np.testing.assert_array_equal(restored.predict_proba(X), system.predict_proba(X))
    m = atrest.measure_at_rest(system, X, store, name="medical", directory=tmp_path,
                               repeats=1, seed=0)
    assert m.same_predictions and m.tamper_detected and len(m.tamper) == 4
    assert m.encrypted_bytes - m.file_bytes < 200 and m.encrypt_ms > 0 and m.decrypt_ms > 0
    assert (tmp_path / "medical-v1.sealed").read_bytes() == m.sealed
    assert m.plaintext_visible[1] == 0


def test_torch_model_restores_from_bytes_alone(store, mlp, unchanged_global_state):
    system, X = mlp
    serial = atrest.model_bytes(system)
    assert serial.format == "safetensors" and serial.n_tensors == len(
        system.model.state_dict())
    restored = atrest.restore_model(serial.data, system)
    assert restored.model is not system.model
    np.testing.assert_array_equal(restored.predict_proba(X), system.predict_proba(X))
    m = atrest.measure_at_rest(system, X, store, name="fraud-mlp", repeats=1, seed=1)
    assert m.same_predictions and m.tamper_detected
    assert m.plaintext_visible[0] == serial.n_tensors and m.plaintext_visible[1] == 0


def test_recommender_round_trip_keeps_mu(store):
    rec = systems.MFRecommender(6, 5, dim=2, epochs=1, seed=0)
    rec.fit(np.array([[0, 1], [1, 2], [2, 3], [5, 4]]), np.array([4.0, 3.0, 5.0, 1.0]))
    restored = atrest.restore_model(atrest.model_bytes(rec).data, rec)
    assert restored.model.mu == rec.model.mu
    np.testing.assert_array_equal(atrest.model_predictions(restored, np.arange(6)),
                                  rec.score(np.arange(6)))


def test_unauthenticated_flip_is_silent_and_gcm_is_not(store, mlp, unchanged_global_state):
    system, X = mlp
    result = atrest.unauthenticated_flip(system, X, store, seed=0)
    assert result.error == "" and result.tensor.endswith("bias")
    assert abs(result.value_after) > 1e30 > abs(result.value_before)
    assert result.changed.n == len(X) and result.labels_after.sum() == len(X)
    assert result.gcm_error.startswith("TamperedModelError")
    again = atrest.unauthenticated_flip(system, X, store, seed=0)
    assert (again.element, again.value_after) == (result.element, result.value_after)


def test_bad_input_raises(store, medical):
    system, _ = medical
    with pytest.raises(ValueError, match="name must be"):
        atrest.seal_model(b"x", store, name="../escape")
    with pytest.raises(ValueError, match="version"):
        atrest.seal_model(b"x", store, name="ok", version=0)
    with pytest.raises(TypeError, match="data must be bytes"):
        atrest.seal_model("text", store, name="ok")
    with pytest.raises(TypeError, match="KeyStore"):
        atrest.seal_model(b"x", {"kek-1": b"0" * 32}, name="ok")
    with pytest.raises(ValueError, match="field"):
        atrest.flip_bit(atrest.seal_model(b"x", store, name="ok"), "tag")
    with pytest.raises(TypeError, match="course system"):
        atrest.model_bytes(object())
    with pytest.raises(ValueError, match="not fitted"):
        atrest.model_bytes(systems.DiagnosisModel())
    with pytest.raises(TypeError, match="torch system"):
        atrest.unauthenticated_flip(system, np.zeros((2, 30)), store)
    with pytest.raises(TypeError, match="sealed model file"):
        atrest.read_header("text")
    with pytest.raises(TypeError, match="mapping"):
        atrest.rotate_key({}, store)
