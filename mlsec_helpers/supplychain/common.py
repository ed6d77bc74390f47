"""What every part of lab 11 shares: a benign payload that proves a loader ran code, the three
pickle scanners run for real, and file hashes.

The payload is benign by construction: unpickling it writes one marker file, at a path it
carries, inside the system's temporary folder (:func:`marker_payload` refuses any other path),
and does nothing else (no network, no shell). The scanners are the field's tools, called through
their Python APIs (their command lines write report files to the working directory: fickling's
``safety_results.json``), so a scan writes nothing anywhere.

Introduced in lab 11 (Supply chain).
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
import time
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from importlib import metadata
from pathlib import Path

from ..validate import ArgumentTypeError, check_choice, check_path
from .results import ScanVerdict

__all__ = [
    "MARKER_TEXT",
    "PAYLOAD_VIAS",
    "SCANNERS",
    "MarkerPayload",
    "marker_payload",
    "passes_as_clean",
    "payload_ran",
    "scan_file",
    "scan_matrix",
    "scan_table",
    "scanner_versions",
    "sha256_file",
]

MARKER_TEXT = "marker written by the lab's benign payload at unpickling time"
"""What the payload writes into the marker file (``via="exec"``, ``"write_text"``)."""

PAYLOAD_VIAS = ("exec", "write_text", "savetxt", "torch_save")
"""The callables a :class:`MarkerPayload` can make the unpickler call, all writing only the
marker: ``exec`` (``builtins.exec`` of ``with open(marker, 'w') as f: f.write(...)``, the
classic payload every deny-list names), ``write_text`` (``pathlib.Path.write_text``; pickled
with protocol 2, as ``torch.save`` does by default, it becomes ``getattr(Path, 'write_text')``),
``savetxt`` (``numpy.savetxt``) and ``torch_save`` (``torch.serialization.save``, the loader's
own save function, which writes a small torch file at the marker path)."""

SCANNERS = ("picklescan", "modelscan", "fickling")
"""The scanners :func:`scan_file` runs, in the order the lab shows them."""

_LOGGERS = ("picklescan", "modelscan", "fickling")


def _temporary_root() -> Path:
    return Path(tempfile.gettempdir()).resolve()


def _marker_path(marker_path) -> Path:
    if not isinstance(marker_path, (str, Path)):
        raise ArgumentTypeError(
            f"marker_path must be a str or a pathlib.Path, got {type(marker_path).__name__}")
    path = Path(marker_path).expanduser().resolve()
    root = _temporary_root()
    if path == root or root not in path.parents:
        raise ValueError(f"marker_path must lie inside the temporary folder {root} (the lab's "
                         f"folder), got {path}: the payload writes nowhere else")
    return path


class MarkerPayload:
    """An object whose unpickling writes the marker file at ``path`` and nothing else: its
    ``__reduce__`` names the callable of ``via`` (one of :data:`PAYLOAD_VIAS`) and the marker
    path, so any pickle that holds it (a torch file, a joblib file) calls that callable when it
    is loaded. Copying it with :mod:`copy` also calls it (copy goes through ``__reduce__``).

    Introduced in lab 11 (Supply chain).
    """

    def __init__(self, path: Path, via: str) -> None:
        self.path = path
        self.via = via

    def __reduce__(self):
        path, via = self.path, self.via
        if via == "exec":
            code = f"with open({str(path)!r}, 'w') as f: f.write({MARKER_TEXT!r})"
            import builtins

            return builtins.exec, (code,)
        if via == "write_text":
            return Path.write_text, (path, MARKER_TEXT)
        if via == "savetxt":
            import numpy as np

            # header= is the sixth positional parameter of numpy.savetxt; a list of lists keeps
            # numpy's array globals out of the pickle, so only savetxt itself is imported.
            return np.savetxt, (str(path), [[0.0]], "%.1f", " ", "\n", MARKER_TEXT)
        import torch

        return torch.save, (MARKER_TEXT, str(path))

    def __repr__(self) -> str:
        return f"MarkerPayload(via={self.via!r}, path={str(self.path)!r})"


def marker_payload(marker_path, *, via: str = "exec") -> MarkerPayload:
    """A benign "malicious" payload: an object that, when a pickle holding it is loaded, calls
    ``via``'s callable (see :data:`PAYLOAD_VIAS`) to write the marker file ``marker_path`` and
    does nothing else. Put it anywhere in what you pickle (``torch.save({"weights": sd, "x":
    payload}, f)``, an attribute of an estimator before ``joblib.dump``); :func:`payload_ran`
    then tells whether a load ran it. ``marker_path`` must lie inside the temporary folder (the
    lab's ``LAB_DIR``); any other path raises ``ValueError``.

    Introduced in lab 11 (Supply chain).
    """
    path = _marker_path(marker_path)
    return MarkerPayload(path, check_choice(via, PAYLOAD_VIAS, "payload via"))


def payload_ran(marker_path) -> bool:
    """True when the marker file of :func:`marker_payload` exists (the payload ran); delete the
    file between two loads to test each one.

    Introduced in lab 11 (Supply chain).
    """
    return _marker_path(marker_path).is_file()


def sha256_file(path) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits.

    Introduced in lab 11 (Supply chain).
    """
    path = check_path(path, "path", kind="file")
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def scanner_versions() -> dict[str, str]:
    """The installed version of each scanner of :data:`SCANNERS` (state them with a table).

    Introduced in lab 11 (Supply chain).
    """
    return {name: metadata.version(name) for name in SCANNERS}




@contextmanager
def _quiet_loggers():
    # picklescan and modelscan log every finding as a warning; the lab shows them in a table.
    saved = []
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.disabled))
        logger.disabled = True
    try:
        yield
    finally:
        for logger, disabled in saved:
            logger.disabled = disabled


def _picklescan(path: Path, strict: bool = False) -> tuple[bool, str, tuple[str, ...],
                                                          str | None]:
    from picklescan.scanner import SafetyLevel, scan_file_path

    result = scan_file_path(str(path), strict=strict)
    shown = sorted((g for g in result.globals if g.safety is not SafetyLevel.Innocuous),
                   key=lambda g: (g.safety.value, g.module, g.name))
    findings = tuple(f"{g.safety.value} {g.module}.{g.name}" for g in shown)
    if result.scanned_files == 0:
        severity = "not scanned"
    elif result.issues_count:
        severity = SafetyLevel.Dangerous.value
    elif result.suspicious_count:
        severity = SafetyLevel.Suspicious.value
    else:
        severity = SafetyLevel.Innocuous.value
    error = "picklescan could not parse the whole pickle" if result.scan_err else None
    return result.infected_files > 0, severity, findings, error


def _modelscan(path: Path) -> tuple[bool, str, tuple[str, ...], str | None]:
    import copy

    from modelscan.modelscan import ModelScan
    from modelscan.settings import DEFAULT_SETTINGS

    # The settings' "reporting" entry is only used by generate_report (never called here), so
    # the scan writes no report.
    report = ModelScan(settings=copy.deepcopy(DEFAULT_SETTINGS)).scan(path)
    issues = report["issues"]
    findings = tuple(f"{i['severity']} {i['module']}.{i['operator']}" for i in issues)
    order = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
    if issues:
        severity = min((i["severity"] for i in issues), key=order.index)
    elif report["summary"]["scanned"]["total_scanned"] == 0:
        severity = "not scanned"
    else:
        severity = "none"
    errors = [f"{e.get('category', '')}: {e.get('description', '')}".strip(": ")
              for e in report["errors"]]
    return bool(issues), severity, findings, "; ".join(errors) or None


def _fickling(path: Path) -> tuple[bool, str, tuple[str, ...], str | None]:
    import zipfile

    from fickling.analysis import Severity
    from fickling.loader import scan_file as fickling_scan_file
    from fickling.loader import scan_zip_archive

    # The Python API with json_output_path=None: fickling's command line would append its
    # analysis to ./safety_results.json. A torch file is a zip archive whose data.pkl holds
    # the pickle; scan_zip_archive reads its .pkl/.pickle/.bin members.
    # fickling prints its parse warnings ("Warning: malformed pickle file ..."): they become
    # findings instead of notebook output.
    printed = io.StringIO()
    with redirect_stdout(printed), redirect_stderr(printed):
        if zipfile.is_zipfile(path):
            results = list(scan_zip_archive(str(path), graceful=True).values())
        else:
            results = [fickling_scan_file(str(path), graceful=True)]
    notes = tuple(dict.fromkeys(ln.strip() for ln in printed.getvalue().splitlines()
                                if ln.strip()))
    if not results:
        return False, "not scanned", notes, None
    severity = max(r.severity for r in results)
    findings = notes + tuple(dict.fromkeys(line for r in results for a in r.results
                                           for line in a.to_string().splitlines()
                                           if line.strip()))
    errors = [e for r in results for e in r.errors]
    flagged = severity > Severity.LIKELY_SAFE or bool(errors)
    return flagged, severity.name, findings, "; ".join(errors) or None


_RUNNERS = {"picklescan": _picklescan, "modelscan": _modelscan, "fickling": _fickling}


def scan_file(path, scanner: str, *, strict: bool = False) -> ScanVerdict:
    """Run one scanner of :data:`SCANNERS` on one file, for real, and return its verdict:
    ``flagged`` is the tool's own decision (picklescan: a dangerous import; modelscan: any
    issue; fickling: a severity above ``LIKELY_SAFE`` or a parse error, as its command line
    decides), with its severity, findings, wall time and error. Nothing is written anywhere.

    ``strict=True`` (picklescan only, its ``--strict``) turns picklescan's deny-list into an
    allow-list: every import it does not know as safe counts as dangerous.

    Introduced in lab 11 (Supply chain).
    """
    path = check_path(path, "path", kind="file")
    scanner = check_choice(scanner, SCANNERS, "scanner")
    if not isinstance(strict, bool):
        raise ArgumentTypeError(f"strict must be a bool, got {type(strict).__name__}")
    if strict and scanner != "picklescan":
        raise ValueError(f"strict=True is picklescan's allow-list mode; {scanner} has none")
    start = time.perf_counter()
    with _quiet_loggers():
        if strict:
            flagged, severity, findings, error = _picklescan(path.resolve(), strict=True)
        else:
            flagged, severity, findings, error = _RUNNERS[scanner](path.resolve())
    return ScanVerdict(scanner=scanner, file=path.name, flagged=bool(flagged),
                       severity=str(severity), findings=findings,
                       seconds=time.perf_counter() - start, error=error)


_SEVERITY_ORDER = {
    "picklescan": ("not scanned", "innocuous", "suspicious", "dangerous"),
    "modelscan": ("not scanned", "none", "LOW", "MEDIUM", "HIGH", "CRITICAL"),
    "fickling": ("not scanned", "LIKELY_SAFE", "POSSIBLY_UNSAFE", "SUSPICIOUS", "LIKELY_UNSAFE",
                 "LIKELY_OVERTLY_MALICIOUS", "OVERTLY_MALICIOUS"),
}


def passes_as_clean(verdict: ScanVerdict, clean: ScanVerdict) -> bool:
    """True when ``verdict`` (a suspect file) does not stand out from ``clean`` (the same
    scanner on a clean file of the same format): it is not flagged, or the scanner flags the
    clean file too and ranks the suspect no higher (fickling flags every torch file as
    ``LIKELY_UNSAFE``: a file at that level has got past it, since rejecting it would reject
    every clean model too). Severity ranks follow each tool's own order.

    Introduced in lab 11 (Supply chain).
    """
    for name, v in (("verdict", verdict), ("clean", clean)):
        if not isinstance(v, ScanVerdict):
            raise ArgumentTypeError(f"{name} must be a ScanVerdict, got {type(v).__name__}")
    if verdict.scanner != clean.scanner:
        raise ValueError(f"verdict and clean come from different scanners ({verdict.scanner} "
                         f"and {clean.scanner})")
    if not verdict.flagged:
        return True
    if not clean.flagged:
        return False
    order = _SEVERITY_ORDER[verdict.scanner]
    rank = {s: i for i, s in enumerate(order)}
    return rank.get(verdict.severity, len(order)) <= rank.get(clean.severity, -1)


def scan_table(paths, scanners=SCANNERS):
    """Every scanner of ``scanners`` on every file of ``paths`` (a list of paths, or a dict
    label -> path), each a real run of :func:`scan_file`: a DataFrame with one row per (file,
    scanner) and the columns file, scanner, flagged, severity, findings (joined with "; "),
    seconds and error.

    Introduced in lab 11 (Supply chain).
    """
    import pandas as pd

    if isinstance(paths, (str, Path)):
        raise ArgumentTypeError("paths must be a list of paths or a dict label -> path, not one "
                                "path (wrap it in a list)")
    items = list(paths.items()) if isinstance(paths, dict) else [
        (check_path(p, "path", kind="file").name, p) for p in paths]
    if not items:
        raise ValueError("paths is empty")
    scanners = [check_choice(s, SCANNERS, "scanner") for s in scanners]
    if not scanners:
        raise ValueError("scanners is empty")
    rows = []
    for label, path in items:
        for scanner in scanners:
            v = scan_file(path, scanner)
            rows.append({"file": str(label), "scanner": scanner, "flagged": v.flagged,
                         "severity": v.severity, "findings": "; ".join(v.findings),
                         "seconds": v.seconds, "error": v.error})
    return pd.DataFrame(rows)


def scan_matrix(table):
    """The verdicts of :func:`scan_table` as a file x scanner table of "flagged (severity)" /
    "passed (severity)", in the table's order, for display.

    Introduced in lab 11 (Supply chain).
    """
    from ..validate import check_frame

    table = check_frame(table, ["file", "scanner", "flagged", "severity"], "table")
    cells = table.assign(verdict=[f"{'flagged' if f else 'passed'} ({s})"
                                  for f, s in zip(table["flagged"], table["severity"],
                                                  strict=True)])
    wide = cells.pivot(index="file", columns="scanner", values="verdict")
    return wide.loc[list(dict.fromkeys(table["file"])), list(dict.fromkeys(table["scanner"]))]
