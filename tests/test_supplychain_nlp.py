"""Lab 11 (Supply chain), NLP section: joblib trojans, skops loads and injections, hash checks."""

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from mlsec_helpers.supplychain import common, nlp
from mlsec_helpers.supplychain.results import SkopsLoad

TEXTS = ["refund my order please", "card was stolen call me", "where is my parcel",
         "win a prize click this link", "refund the payment", "prize waiting click now"] * 3
LABELS = [0, 1, 2, 3, 0, 3] * 3


class _BytesArgument:
    def __reduce__(self):
        return len, (b"not JSON",)


@pytest.fixture(scope="module")
def pipeline():
    return make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=200)).fit(TEXTS, LABELS)


@pytest.mark.parametrize("placement", nlp.JOBLIB_PLACEMENTS)
@pytest.mark.parametrize("compress", [0, 3, ("bz2", 1)])
def test_trojan_joblib_runs_payload_and_returns_the_model(tmp_path, pipeline, placement,
                                                          compress):
    marker = tmp_path / "marker.txt"
    path = nlp.trojan_joblib(pipeline, common.marker_payload(marker), tmp_path / "t.joblib",
                             placement=placement, compress=compress)
    assert not common.payload_ran(marker)
    loaded = joblib.load(path)
    assert common.payload_ran(marker)
    assert marker.read_text() == common.MARKER_TEXT
    np.testing.assert_array_equal(loaded.predict(TEXTS), pipeline.predict(TEXTS))


def test_trojan_placement_decides_what_picklescan_sees(tmp_path, pipeline):
    marker = tmp_path / "m.txt"
    payload = common.marker_payload(marker)
    before = nlp.trojan_joblib(pipeline, payload, tmp_path / "b.joblib", placement="before")
    after = nlp.trojan_joblib(pipeline, payload, tmp_path / "a.joblib", placement="after")
    assert common.scan_file(before, "picklescan").flagged
    assert not common.scan_file(after, "picklescan").flagged


def test_trojan_joblib_is_deterministic(tmp_path, pipeline):
    payload = common.marker_payload(tmp_path / "m.txt")
    a = nlp.trojan_joblib(pipeline, payload, tmp_path / "a.joblib")
    b = nlp.trojan_joblib(pipeline, payload, tmp_path / "b.joblib")
    assert common.sha256_file(a) == common.sha256_file(b)


def test_trojan_joblib_bad_input(tmp_path, pipeline):
    payload = common.marker_payload(tmp_path / "m.txt")
    with pytest.raises(ValueError, match="placement"):
        nlp.trojan_joblib(pipeline, payload, tmp_path / "x.joblib", placement="middle")
    with pytest.raises(ValueError, match="compressor"):
        nlp.trojan_joblib(pipeline, payload, tmp_path / "x.joblib", compress=("lz5", 3))
    with pytest.raises(ValueError, match="compress"):
        nlp.trojan_joblib(pipeline, payload, tmp_path / "x.joblib", compress=12)
    with pytest.raises(ValueError, match="folder does not exist"):
        nlp.trojan_joblib(pipeline, payload, tmp_path / "no" / "x.joblib")
    with pytest.raises(TypeError):
        nlp.trojan_joblib(pipeline, payload, 3)
    with pytest.raises(TypeError, match="payload"):
        nlp.trojan_joblib(pipeline, None, tmp_path / "x.joblib")


def test_skops_round_trip_and_refusal(tmp_path, pipeline):
    path = tmp_path / "p.skops"
    sio.dump(pipeline, path)
    assert sio.get_untrusted_types(file=path) == []
    result = nlp.skops_load(path)
    assert isinstance(result, SkopsLoad) and result.loaded and result.error is None
    np.testing.assert_array_equal(result.model.predict(TEXTS), pipeline.predict(TEXTS))


def test_injected_call_refused_until_trusted(tmp_path, pipeline, unchanged_global_state):
    marker = tmp_path / "marker.txt"
    clean = tmp_path / "p.skops"
    sio.dump(pipeline, clean)
    injected = nlp.inject_skops_call(clean, tmp_path / "i.skops", common.marker_payload(marker))
    assert sio.get_untrusted_types(file=injected) == ["builtins.exec"]
    refused = nlp.skops_load(injected)
    assert not refused.loaded and refused.model is None
    assert refused.refused_types == ("builtins.exec",)
    assert not common.payload_ran(marker)
    trusted = nlp.skops_load(injected, trusted=refused.refused_types)
    assert trusted.loaded and common.payload_ran(marker)
    np.testing.assert_array_equal(trusted.model.predict(TEXTS), pipeline.predict(TEXTS))


def test_inject_skops_call_bad_input(tmp_path, pipeline):
    clean = tmp_path / "p.skops"
    sio.dump(pipeline, clean)
    marker = tmp_path / "m.txt"
    with pytest.raises(ValueError, match="module-level function"):
        nlp.inject_skops_call(clean, tmp_path / "i.skops",
                              common.marker_payload(marker, via="write_text"))
    with pytest.raises(ValueError, match="JSON"):
        nlp.inject_skops_call(clean, tmp_path / "i.skops", _BytesArgument())
    with pytest.raises(ValueError, match="does not exist"):
        nlp.inject_skops_call(tmp_path / "none.skops", tmp_path / "i.skops",
                              common.marker_payload(marker))
    with pytest.raises(ValueError, match="already has"):
        nlp.inject_skops_call(clean, tmp_path / "i.skops", common.marker_payload(marker),
                              attribute="steps")
    with pytest.raises(ValueError, match="JSON"):  # copyreg's reconstructor of a type
        nlp.inject_skops_call(clean, tmp_path / "i.skops", object())
    with pytest.raises(TypeError):
        nlp.skops_load(clean, trusted="builtins.exec")


def test_load_if_hash_matches(tmp_path, pipeline):
    clean = tmp_path / "p.joblib"
    joblib.dump(pipeline, clean)
    sha = common.sha256_file(clean)
    marker = tmp_path / "m.txt"
    trojan = nlp.trojan_joblib(pipeline, common.marker_payload(marker), tmp_path / "t.joblib")
    model = nlp.load_if_hash_matches(clean, sha.upper(), joblib.load)
    np.testing.assert_array_equal(model.predict(TEXTS), pipeline.predict(TEXTS))
    with pytest.raises(ValueError, match="refusing"):
        nlp.load_if_hash_matches(trojan, sha, joblib.load)
    assert not common.payload_ran(marker)
    with pytest.raises(ValueError, match="64 hex"):
        nlp.load_if_hash_matches(clean, "abc", joblib.load)
    with pytest.raises(TypeError, match="loader"):
        nlp.load_if_hash_matches(clean, sha, "joblib.load")
