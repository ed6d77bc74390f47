"""Tests of lab 11's shared pieces: the benign payload, the real scanners, file hashes."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from pathlib import Path

import pytest
import torch

from mlsec_helpers.supplychain import common
from mlsec_helpers.supplychain.results import ScanVerdict


@pytest.fixture
def torch_files(tmp_path):
    """A clean torch file and one whose pickle carries the exec payload."""
    weights = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    clean, bad = tmp_path / "clean.pt", tmp_path / "exec.pt"
    torch.save(weights, clean)
    torch.save({"weights": weights, "x": common.marker_payload(tmp_path / "m", via="exec")}, bad)
    return clean, bad, tmp_path / "m"


@pytest.mark.parametrize("via", common.PAYLOAD_VIAS)
@pytest.mark.parametrize("protocol", [2, 5])
def test_payload_writes_only_its_marker(tmp_path, via, protocol):
    marker = tmp_path / "marker.txt"
    blob = pickle.dumps({"x": common.marker_payload(marker, via=via)}, protocol=protocol)
    assert not common.payload_ran(marker)
    pickle.loads(blob)
    assert common.payload_ran(marker)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["marker.txt"]
    if via in ("exec", "write_text"):
        assert marker.read_text() == common.MARKER_TEXT
    if via == "savetxt":
        assert common.MARKER_TEXT in marker.read_text()


def test_payload_names_its_callable(tmp_path):
    blob = pickle.dumps(common.marker_payload(tmp_path / "m", via="exec"), protocol=2)
    assert b"exec" in blob and str(tmp_path / "m").encode() in blob
    assert b"MarkerPayload" not in blob  # the pickle names the callable, not the class
    assert "exec" in repr(common.marker_payload(tmp_path / "m"))


def test_payload_refuses_paths_outside_the_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.chdir("/")  # a relative path resolves against a folder outside the temp dir
    with pytest.raises(ValueError, match="temporary folder"):
        common.marker_payload(Path.home() / "marker.txt")
    with pytest.raises(ValueError, match="temporary folder"):
        common.marker_payload("relative_marker.txt")  # resolved against the working directory
    with pytest.raises(ValueError, match="temporary folder"):
        common.marker_payload(Path(tempfile.gettempdir()) / ".." / "etc" / "m")
    with pytest.raises(ValueError, match="unknown payload via"):
        common.marker_payload(tmp_path / "m", via="system")
    with pytest.raises(TypeError):
        common.marker_payload(3)
    with pytest.raises(ValueError, match="temporary folder"):
        common.payload_ran("/etc/passwd")


def test_sha256_known_answer(tmp_path):
    f = tmp_path / "abc"
    f.write_bytes(b"abc")
    assert common.sha256_file(f) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    assert common.sha256_file(str(f)) == hashlib.sha256(b"abc").hexdigest()
    with pytest.raises(ValueError, match="does not exist"):
        common.sha256_file(tmp_path / "missing")
    with pytest.raises(TypeError):
        common.sha256_file(b"abc")


def test_scanners_flag_the_plain_payload(torch_files):
    clean, bad, marker = torch_files
    for scanner in ("picklescan", "modelscan"):
        assert not common.scan_file(clean, scanner).flagged
        verdict = common.scan_file(bad, scanner)
        assert isinstance(verdict, ScanVerdict) and verdict.flagged and verdict.error is None
        assert any("exec" in f for f in verdict.findings)
    # fickling 0.1.12 flags every torch file (its import analysis calls torch's rebuild
    # functions unsafe) but ranks the payload higher
    fk_clean, fk_bad = common.scan_file(clean, "fickling"), common.scan_file(bad, "fickling")
    assert fk_clean.severity == "LIKELY_UNSAFE" and fk_bad.severity == "OVERTLY_MALICIOUS"
    assert fk_bad.flagged and fk_bad.seconds >= 0 and fk_bad.file == "exec.pt"
    assert not marker.exists()  # scanning never unpickles


def test_scanning_writes_nothing(torch_files, tmp_path, monkeypatch):
    clean, bad, _ = torch_files
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HOME", str(home))
    before = sorted(p.name for p in tmp_path.iterdir())
    mtimes = {p: p.stat().st_mtime_ns for p in (clean, bad)}
    table = common.scan_table([clean, bad])
    assert list(cwd.iterdir()) == [] and list(home.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert {p: p.stat().st_mtime_ns for p in (clean, bad)} == mtimes
    assert len(table) == 6


def test_scan_table_and_matrix(torch_files):
    clean, bad, _ = torch_files
    table = common.scan_table({"clean": clean, "payload": bad}, scanners=["modelscan",
                                                                          "picklescan"])
    assert list(table.columns) == ["file", "scanner", "flagged", "severity", "findings",
                                   "seconds", "error"]
    assert table["flagged"].tolist() == [False, False, True, True]
    matrix = common.scan_matrix(table)
    assert list(matrix.index) == ["clean", "payload"]
    assert list(matrix.columns) == ["modelscan", "picklescan"]
    assert matrix.loc["payload", "picklescan"] == "flagged (dangerous)"
    again = common.scan_table({"clean": clean, "payload": bad}, scanners=["modelscan",
                                                                          "picklescan"])
    assert again.drop(columns="seconds").equals(table.drop(columns="seconds"))


def test_scan_bad_input(torch_files, tmp_path):
    clean, _, _ = torch_files
    with pytest.raises(ValueError, match="unknown scanner"):
        common.scan_file(clean, "clamav")
    with pytest.raises(ValueError, match="does not exist"):
        common.scan_file(tmp_path / "missing.pt", "picklescan")
    with pytest.raises(TypeError):
        common.scan_table(clean)
    with pytest.raises(ValueError, match="empty"):
        common.scan_table([])
    with pytest.raises(ValueError, match="empty"):
        common.scan_table([clean], scanners=[])
    with pytest.raises(ValueError):
        common.scan_matrix(__import__("pandas").DataFrame({"file": []}))


def test_scan_leaves_loggers_and_state_alone(torch_files, unchanged_global_state):
    _, bad, _ = torch_files
    before = {n: logging.getLogger(n).disabled for n in ("picklescan", "modelscan")}
    common.scan_table([bad])
    assert {n: logging.getLogger(n).disabled for n in before} == before
    assert set(common.scanner_versions()) == set(common.SCANNERS)
    assert os.path.exists(bad)


def test_picklescan_strict_is_an_allow_list(torch_files, tmp_path):
    clean, _, _ = torch_files
    odd = tmp_path / "torch_save.pt"
    torch.save({"x": common.marker_payload(tmp_path / "m2", via="torch_save")}, odd)
    plain, strict = common.scan_file(odd, "picklescan"), common.scan_file(odd, "picklescan",
                                                                          strict=True)
    assert not plain.flagged and plain.severity == "suspicious"
    assert strict.flagged and strict.severity == "dangerous"
    assert not common.scan_file(clean, "picklescan", strict=True).flagged
    with pytest.raises(ValueError, match="allow-list"):
        common.scan_file(clean, "modelscan", strict=True)
    with pytest.raises(TypeError):
        common.scan_file(clean, "picklescan", strict=1)


def test_passes_as_clean(torch_files):
    clean, bad, _ = torch_files

    def v(scanner, flagged, severity):
        return ScanVerdict(scanner, "f", flagged, severity, (), 0.0)

    assert common.passes_as_clean(v("picklescan", False, "suspicious"),
                                  v("picklescan", False, "innocuous"))
    assert not common.passes_as_clean(v("picklescan", True, "dangerous"),
                                      v("picklescan", False, "innocuous"))
    # fickling flags clean torch files: a suspect at the same level got past it, one above not
    assert common.passes_as_clean(v("fickling", True, "LIKELY_UNSAFE"),
                                  v("fickling", True, "LIKELY_UNSAFE"))
    assert not common.passes_as_clean(v("fickling", True, "OVERTLY_MALICIOUS"),
                                      v("fickling", True, "LIKELY_UNSAFE"))
    assert not common.passes_as_clean(common.scan_file(bad, "fickling"),
                                      common.scan_file(clean, "fickling"))
    with pytest.raises(ValueError, match="different scanners"):
        common.passes_as_clean(v("fickling", True, "x"), v("modelscan", True, "x"))
    with pytest.raises(TypeError):
        common.passes_as_clean("flagged", v("modelscan", True, "x"))


def test_fickling_prints_nothing(tmp_path, capsys):
    f = tmp_path / "w.safetensors"
    f.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00" + b'{"a": 1}        ' + b"\x00" * 8)
    verdict = common.scan_file(f, "fickling")
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    assert verdict.flagged  # fickling calls a file it cannot parse unsafe
