"""Lab 11 (Supply chain), fraud section: the joblib scanner probe and the skops defence."""

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.ensemble import HistGradientBoostingClassifier

from mlsec_helpers.stats import Rate
from mlsec_helpers.supplychain import common, fraud, nlp
from mlsec_helpers.supplychain.results import JoblibProbe, ScannerRates
from mlsec_helpers.validate import ArgumentTypeError

TREE = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


@pytest.fixture(scope="module")
def trees(data):
    return HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(*data)


@pytest.fixture(scope="module")
def probe(tmp_path_factory, trees):
    folder = tmp_path_factory.mktemp("probe")
    marker = folder / "marker.txt"
    return fraud.joblib_scanner_probe(trees, folder, marker, common.marker_payload(marker)), \
        marker


def test_probe_reproduces_the_issue(probe):
    result, marker = probe
    assert isinstance(result, JoblibProbe)
    v = result.variants
    assert len(v) == 1 + 5 + 2 + 10 and v["shown"].sum() == 5 and v["adaptive"].sum() == 11
    assert v.loc[v["malicious"], "runs_when_loaded"].all()
    assert not v.loc[~v["malicious"], "runs_when_loaded"].any()
    assert not common.payload_ran(marker)
    assert result.queries == len(v) * len(common.SCANNERS)
    r = result.rates
    assert set(r) == set(common.SCANNERS) and all(isinstance(x, ScannerRates) for x in r.values())
    # picklescan: catches the payload in front of the arrays, misses it behind and compressed
    assert r["picklescan"].flags_plain and not r["picklescan"].flags_after_buffers
    assert not r["picklescan"].flags_compressed
    assert r["picklescan"].false_alarms.value == 0
    # modelscan: drops the unfinished pickle at the first array, misses every trojan
    assert not r["modelscan"].flags_plain and r["modelscan"].missed_adaptive.value == 1
    assert r["modelscan"].fail_closed_false_alarms.value == 1
    # fickling: flags everything, clean files included
    assert r["fickling"].false_alarms.value == 1 and r["fickling"].missed_adaptive.value == 0
    assert result.evaded == ("picklescan", "modelscan")
    assert isinstance(r["picklescan"].missed_adaptive, Rate)
    assert r["picklescan"].missed_adaptive.n == 11 and r["picklescan"].false_alarms.n == 6
    assert list(result.matrix.index) == [
        "clean", "clean, compressed", "plain payload (before the buffers)",
        "payload after the buffers", "compressed payload"]


def test_probe_is_deterministic(tmp_path, trees):
    marker = tmp_path / "m.txt"
    a = fraud.joblib_scanner_probe(trees, tmp_path, marker, common.marker_payload(marker),
                                   compressors=("zlib",))
    hashes = [common.sha256_file(p) for p in a.variants["path"]]
    b = fraud.joblib_scanner_probe(trees, tmp_path, marker, common.marker_payload(marker),
                                   compressors=("zlib",))
    assert hashes == [common.sha256_file(p) for p in b.variants["path"]]
    assert a.matrix.equals(b.matrix)


def test_probe_bad_input(tmp_path, trees):
    marker = tmp_path / "m.txt"
    payload = common.marker_payload(marker)
    with pytest.raises(ValueError, match="zlib"):
        fraud.joblib_scanner_probe(trees, tmp_path, marker, payload, compressors=("bz2",))
    with pytest.raises(ValueError, match="compressor"):
        fraud.joblib_scanner_probe(trees, tmp_path, marker, payload, compressors=("zip",))
    with pytest.raises(ValueError, match="does not exist"):
        fraud.joblib_scanner_probe(trees, tmp_path / "none", marker, payload)
    with pytest.raises(ValueError, match="temporary folder"):
        fraud.joblib_scanner_probe(trees, tmp_path, "/etc/marker.txt", payload)


def test_file_format_reads_first_bytes(tmp_path, trees):
    for compress, expected in [(0, "pickle"), (3, "zlib"), (("gzip", 3), "gzip"),
                               (("bz2", 3), "bz2"), (("lzma", 3), "lzma"), (("xz", 3), "xz")]:
        path = tmp_path / "model.skops"  # the name lies; the bytes do not
        joblib.dump(trees, path, compress=compress)
        assert fraud.file_format(path) == expected
    sio.dump(trees, tmp_path / "m.bin")
    assert fraud.file_format(tmp_path / "m.bin") == "skops"
    (tmp_path / "t.txt").write_text("hello")
    assert fraud.file_format(tmp_path / "t.txt") == "unknown"
    with pytest.raises(ValueError, match="no such file"):
        fraud.file_format(tmp_path / "none")
    with pytest.raises(ArgumentTypeError):
        fraud.file_format(3)


def test_allow_listed_load(tmp_path, trees, data, unchanged_global_state):
    path = tmp_path / "t.skops"
    sio.dump(trees, path)
    assert not nlp.skops_load(path).loaded  # skops's defaults do not include the trees
    result = fraud.allow_listed_load(path, allow_list=[TREE])
    assert result.loaded
    np.testing.assert_array_equal(result.model.predict(data[0]), trees.predict(data[0]))
    joblib.dump(trees, tmp_path / "t.joblib")
    with pytest.raises(ValueError, match="pickle-based formats are refused"):
        fraud.allow_listed_load(tmp_path / "t.joblib", allow_list=[TREE])
    with pytest.raises(TypeError):
        fraud.allow_listed_load(path, allow_list=TREE)


def test_skops_attacks_all_refused(tmp_path, trees):
    clean = tmp_path / "t.skops"
    sio.dump(trees, clean)
    marker = tmp_path / "m.txt"
    frame = fraud.skops_attacks(clean, tmp_path, marker, common.marker_payload(marker),
                                allow_list=[TREE])
    assert len(frame) == 3
    assert not frame["loaded"].any() and not frame["payload ran"].any()
    assert frame["refused by"].str.len().gt(0).all()
    with pytest.raises(ValueError, match="allow-list"):
        fraud.skops_attacks(clean, tmp_path, marker, common.marker_payload(marker),
                            allow_list=[])
    joblib.dump(trees, tmp_path / "t.joblib")
    with pytest.raises(ValueError, match="not a skops"):
        fraud.skops_attacks(tmp_path / "t.joblib", tmp_path, marker,
                            common.marker_payload(marker), allow_list=[TREE])
