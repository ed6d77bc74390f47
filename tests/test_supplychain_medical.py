"""Lab 11 medical: the diagnosis pipeline as ONNX, its inventory, a tampered graph."""

import pickle
import zipfile

import numpy as np
import pytest

from mlsec_helpers import systems
from mlsec_helpers.supplychain import medical as md
from mlsec_helpers.supplychain.results import DiagnosisErrors, OnnxInventory, OnnxParity
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5)) * [1, 2, 3, 4, 5] + 10
    y = (X[:, 0] - 10 + 0.3 * rng.normal(size=120) > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def system(data):
    return systems.DiagnosisModel().fit(*data)


@pytest.fixture
def onnx_file(tmp_path, system, data):
    return md.export_onnx(system, data[0], tmp_path / "d" / "model.onnx")


def test_export_and_parity(onnx_file, system, data):
    parity = md.onnx_parity(system, onnx_file, data[0])
    assert isinstance(parity, OnnxParity) and parity.n == 120
    assert parity.max_abs_diff < 1e-5 and parity.labels_agree.value == 1
    proba = md.onnx_predict_proba(onnx_file, data[0][:3])
    assert proba.shape == (3, 2) and np.allclose(proba.sum(1), 1, atol=1e-6)


def test_inventory(onnx_file):
    inv = md.onnx_inventory(onnx_file)
    assert isinstance(inv, OnnxInventory)
    assert inv.operators == ("ai.onnx.ml:Scaler", "ai.onnx.ml:LinearClassifier")
    assert inv.custom_domains == () and inv.external_data == () and inv.functions == 0
    assert inv.checker_ok and not inv.is_pickle and inv.producer.startswith("skl2onnx")


def test_inventory_lists_custom_domains_and_external_data(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    weight = helper.make_tensor("w", TensorProto.FLOAT, [1], [1.0])
    weight.data_location = TensorProto.EXTERNAL
    weight.ClearField("float_data")
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "../weights.bin"
    graph = helper.make_graph(
        [helper.make_node("Mystery", ["x", "w"], ["y"], domain="com.example")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])], initializer=[weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.example", 1)])
    path = tmp_path / "odd.onnx"
    onnx.save(model, str(path))
    inv = md.onnx_inventory(path)
    assert inv.custom_domains == ("com.example",)
    assert inv.external_data == ("../weights.bin",)
    (tmp_path / "junk.onnx").write_bytes(b"\xff\xfe not onnx")
    with pytest.raises(ValueError, match="not an ONNX model"):
        md.onnx_inventory(tmp_path / "junk.onnx")


def test_contains_pickle(tmp_path, onnx_file):
    for protocol in (0, 2, 4):
        path = tmp_path / f"p{protocol}.pkl"
        path.write_bytes(pickle.dumps({"a": [1, 2]}, protocol=protocol))
        assert md.contains_pickle(path)
    with zipfile.ZipFile(tmp_path / "m.zip", "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps([1]))
    assert md.contains_pickle(tmp_path / "m.zip")
    (tmp_path / "text.txt").write_text("hello, no pickle here")
    assert not md.contains_pickle(tmp_path / "text.txt")
    assert not md.contains_pickle(onnx_file)
    with pytest.raises(FileNotFoundError):
        md.contains_pickle(tmp_path / "missing")


def test_shift_intercepts_known_answer(tmp_path, onnx_file, system, data):
    X, y = data
    delta = 1.5
    bad = md.shift_onnx_intercepts(onnx_file, tmp_path / "bad" / "model.onnx", [delta, -delta])
    logits = system.estimator.decision_function(X) - delta
    expected = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(md.onnx_predict_proba(bad, X)[:, 1], expected, atol=1e-5)
    inv = md.onnx_inventory(bad)
    assert inv.checker_ok and inv.operators == md.onnx_inventory(onnx_file).operators
    with pytest.raises(ValueError, match="one value per intercept"):
        md.shift_onnx_intercepts(onnx_file, tmp_path / "x.onnx", [1.0])
    with pytest.raises(FileExistsError):
        md.shift_onnx_intercepts(onnx_file, bad, [0.0, 0.0])


def test_intercept_shift_for(system, data):
    X, y = data
    logits = system.estimator.decision_function(X)[y == 1]
    delta = md.intercept_shift_for(system, X, y, share=0.5)
    assert delta == pytest.approx(max(np.quantile(logits, 0.5), 0))
    assert np.mean(logits - delta < 0) == pytest.approx(0.5, abs=0.05)
    with pytest.raises(ValueError):
        md.intercept_shift_for(system, X, np.zeros(len(y), dtype=int))
    with pytest.raises(ValueError):
        md.intercept_shift_for(system, X, y, share=0)


def test_diagnosis_errors_known_answer():
    proba = np.array([0.9, 0.2, 0.6, 0.1, 0.7])
    y = np.array([1, 1, 0, 0, 0])
    e = md.diagnosis_errors(proba, y)
    assert isinstance(e, DiagnosisErrors)
    assert e.missed.value == 0.5 and e.missed.n == 2
    assert e.false_alarms.value == pytest.approx(2 / 3) and e.accuracy.value == 0.4
    two = md.diagnosis_errors(np.c_[1 - proba, proba], y, threshold=0.65)
    assert two.false_alarms.value == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        md.diagnosis_errors(np.ones((5, 3)) / 3, y)
    with pytest.raises(ValueError):
        md.diagnosis_errors(proba, np.ones(5, dtype=int))


def test_bad_input(tmp_path, onnx_file, system, data):
    with pytest.raises(FileExistsError):
        md.export_onnx(system, data[0], onnx_file)
    with pytest.raises(ArgumentTypeError):
        md.export_onnx(systems.MFRecommender(2, 2), data[0], tmp_path / "r.onnx")
    with pytest.raises(ValueError):
        md.onnx_predict_proba(onnx_file, data[0][0])
    with pytest.raises(ArgumentTypeError):
        md.onnx_parity(system, 42, data[0])


def test_no_global_state_change(tmp_path, system, data, unchanged_global_state):
    path = md.export_onnx(system, data[0], tmp_path / "g.onnx")
    md.onnx_parity(system, path, data[0])


def test_writes_nothing_outside_its_folder(tmp_path):
    """onnxruntime writes telemetry files into ~/.cache when imported plainly; the helpers
    import it with telemetry off, and skl2onnx, onnx and model-signing write nothing either."""
    import subprocess
    import sys

    home, work, out = tmp_path / "home", tmp_path / "cwd", tmp_path / "out"
    for folder in (home, work, out):
        folder.mkdir()
    script = f"""
import numpy as np
from mlsec_helpers import systems
from mlsec_helpers.supplychain import integrity, medical
rng = np.random.default_rng(0)
X = rng.normal(size=(40, 3)); y = (X[:, 0] > 0).astype(int)
system = systems.DiagnosisModel().fit(X, y)
path = medical.export_onnx(system, X, r"{out}/m/model.onnx")
medical.onnx_parity(system, path, X)
keys = integrity.make_key_pair(r"{out}/keys")
sig = integrity.sign_model(path.parent, keys, r"{out}/m.sig")
assert integrity.verify_signature(path.parent, keys, sig).ok
"""
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("XDG_CACHE_HOME", "ORT_DISABLE_TELEMETRY")}
    env["HOME"] = str(home)
    subprocess.run([sys.executable, "-c", script], cwd=work, env=env, check=True, timeout=120)
    assert list(home.rglob("*")) == [] and list(work.rglob("*")) == []
