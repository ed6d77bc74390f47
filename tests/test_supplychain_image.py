"""Tests of lab 11's torch section: payload checkpoints, weights-only loads, safetensors and
the adaptive attacker's search, on a tiny digits CNN (8x8 images, width 2)."""

from __future__ import annotations

import numpy as np
import pytest

from mlsec_helpers import repro, systems
from mlsec_helpers.supplychain import image
from mlsec_helpers.supplychain.results import EvasionSearch, LoadAttempt


@pytest.fixture(scope="module")
def tiny():
    with repro.seeded(0):
        state = systems.SmallCNN(image_size=8, width=2).state_dict()
    return systems.DigitsCNN(seed=0, width=2).restore(state, image_side=8)


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).random((20, 1, 8, 8)).astype(np.float32)


def test_payload_checkpoint_runs_only_when_loaded_unsafely(tiny, tmp_path):
    clean = image.save_checkpoint(tiny, tmp_path / "clean.pt")
    marker = tmp_path / "marker.txt"
    bad = image.save_checkpoint_with_payload(tiny, tmp_path / "bad.pt", marker)
    assert not marker.exists()
    unsafe = image.try_torch_load(bad, marker, weights_only=False)
    assert isinstance(unsafe, LoadAttempt) and unsafe.loaded and unsafe.payload_ran
    assert set(unsafe.value) == {"model", "training_args"} and unsafe.value["training_args"] is None
    default = image.try_torch_load(bad, marker)
    assert default.weights_only and not default.loaded and not default.payload_ran
    assert not marker.exists()  # the earlier marker was removed before the load
    assert default.error_type == "UnpicklingError" and default.blocked_global == "exec"
    assert "Unsupported global" in default.error and "\x1b" not in default.error
    ok = image.try_torch_load(clean, marker)
    assert ok.loaded and not ok.payload_ran and ok.error is None and ok.value is not None


def test_safetensors_round_trip_and_header(tiny, X, tmp_path):
    path = image.save_safetensors(tiny, tmp_path / "w.safetensors", metadata={"a": "b"})
    fresh = image.load_safetensors_system(path)
    np.testing.assert_array_equal(fresh.predict_proba(X), tiny.predict_proba(X))
    header = image.safetensors_header(path)
    assert header["__metadata__"] == {"a": "b"}
    assert header["features.0.weight"]["shape"] == [2, 1, 5, 5]
    assert header["features.0.weight"]["dtype"] == "F32"


def test_safetensors_attempts_never_run_the_payload(tiny, tmp_path):
    table = image.safetensors_payload_attempts(tiny, tmp_path, tmp_path / "m.txt")
    assert table["saved"].tolist() == [False, True, True]
    assert table["loaded"].tolist() == [False, True, False]
    assert not table["payload_ran"].any()
    assert not (tmp_path / "payload_as_tensor.safetensors").exists()
    assert "str of" in table["outcome"][1]


def test_search_finds_a_payload_off_the_deny_lists(tiny, tmp_path, monkeypatch,
                                                    unchanged_global_state):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    work = tmp_path / "attacker"
    work.mkdir()
    search = image.search_evasive_payload(tiny, work, vias=("exec", "torch_save"),
                                          protocols=(2,))
    assert isinstance(search, EvasionSearch)
    assert search.chosen_via == "torch_save" and search.chosen_protocol == 2
    assert search.evaded == ("picklescan", "modelscan", "fickling")
    assert search.queries == 3 + 2 * 3
    exec_row = search.table.iloc[0]
    assert exec_row["runs_unsafe"] and not exec_row["passes_all"]
    assert exec_row["picklescan"] == "flagged (dangerous)"
    assert search.table["runs_unsafe"].all()
    assert [v.scanner for v in search.clean] == ["picklescan", "modelscan", "fickling"]
    refused = image.try_torch_load(search.chosen_file, work / "m.txt")
    assert not refused.loaded and refused.blocked_global == "torch.serialization.save"
    assert list(cwd.iterdir()) == []
    assert not any(p.name.startswith("marker") for p in work.iterdir())  # cleaned up


def test_search_is_deterministic(tiny, tmp_path):
    runs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        s = image.search_evasive_payload(tiny, tmp_path / name, vias=("write_text",),
                                         protocols=(2, 4), scanners=("picklescan",))
        runs.append(s.table)
    assert runs[0].equals(runs[1])
    assert runs[0]["picklescan_passes"].tolist() == [False, True]  # getattr in protocol 2


def test_bad_input(tiny, tmp_path):
    with pytest.raises(ValueError, match=r"\.pt"):
        image.save_checkpoint(tiny, tmp_path / "w.bin")
    with pytest.raises(ValueError, match="does not exist"):
        image.save_checkpoint(tiny, tmp_path / "missing" / "w.pt")
    with pytest.raises(TypeError, match="course system"):
        image.save_checkpoint(object(), tmp_path / "w.pt")
    with pytest.raises(ValueError, match="unknown payload via"):
        image.save_checkpoint_with_payload(tiny, tmp_path / "w.pt", tmp_path / "m", via="os")
    with pytest.raises(ValueError, match="pickle_protocol"):
        image.save_checkpoint_with_payload(tiny, tmp_path / "w.pt", tmp_path / "m",
                                           pickle_protocol=1)
    with pytest.raises(ValueError, match="temporary folder"):
        image.save_checkpoint_with_payload(tiny, tmp_path / "w.pt", "/etc/marker")
    clean = image.save_checkpoint(tiny, tmp_path / "c.pt")
    with pytest.raises(TypeError):
        image.try_torch_load(clean, tmp_path / "m", weights_only="yes")
    with pytest.raises(ValueError, match="no such file"):
        image.try_torch_load(tmp_path / "nope.pt", tmp_path / "m")
    with pytest.raises(ValueError, match="not a safetensors"):
        image.safetensors_header(clean)
    with pytest.raises(TypeError, match="metadata"):
        image.save_safetensors(tiny, tmp_path / "w.safetensors", metadata={"a": 1})
    with pytest.raises(ValueError, match="existing folder"):
        image.search_evasive_payload(tiny, tmp_path / "missing")
    with pytest.raises(ValueError, match="at least one"):
        image.search_evasive_payload(tiny, tmp_path, vias=())
    with pytest.raises(ValueError, match="unknown scanner"):
        image.search_evasive_payload(tiny, tmp_path, scanners=("clamav",))
