"""Fraud: where a payload sits in a joblib file decides what the scanners see (lab 11, section 4).

Holds:

* :func:`joblib_scanner_probe`: the fraud scorer saved clean and trojaned, with the payload
  before or after the numpy buffers, uncompressed or compressed with each of joblib's
  compressors; every file scanned by every scanner (real runs), every trojan loaded once to
  prove it runs; per scanner the share of the adaptive files it let through and the share of
  clean files it flagged, with Wilson intervals;
* :func:`file_format`: what a file is, from its first bytes (pickle, compressed stream, zip);
* :func:`allow_listed_load`: the defence that does not scan: refuse every pickle-based format,
  load only a skops file, with an explicit allow-list of types;
* :func:`skops_attacks`: the attacker who knows that defence: three ways to smuggle the payload
  into a skops file, each tried against it.

Introduced in lab 11 (Supply chain).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..stats import proportion
from ..validate import ArgumentTypeError, check_choice, check_path, check_str
from .common import SCANNERS, payload_ran, scan_matrix, scan_table
from .nlp import JOBLIB_COMPRESSORS, inject_skops_call, skops_load, trojan_joblib
from .results import JoblibProbe, ScannerRates, SkopsLoad

__all__ = [
    "allow_listed_load",
    "file_format",
    "joblib_scanner_probe",
    "skops_attacks",
]

_SHOWN = ("clean", "clean, compressed", "plain payload (before the buffers)",
          "payload after the buffers", "compressed payload")




def _variants(compressors) -> list[dict]:
    """The files of the probe: (label, malicious, placement, compressor, shown, adaptive)."""
    rows = [{"label": "clean", "malicious": False, "placement": "", "compressor": "",
             "shown": True, "adaptive": False}]
    for c in compressors:
        rows.append({"label": "clean, compressed" if c == "zlib" else f"clean, {c}",
                     "malicious": False, "placement": "", "compressor": c,
                     "shown": c == "zlib", "adaptive": False})
    rows.append({"label": "plain payload (before the buffers)", "malicious": True,
                 "placement": "before", "compressor": "", "shown": True, "adaptive": False})
    rows.append({"label": "payload after the buffers", "malicious": True, "placement": "after",
                 "compressor": "", "shown": True, "adaptive": True})
    for c in compressors:
        for placement in ("before", "after"):
            shown = c == "zlib" and placement == "before"
            rows.append({"label": "compressed payload" if shown else f"{c}, payload {placement}",
                         "malicious": True, "placement": placement, "compressor": c,
                         "shown": shown, "adaptive": True})
    return rows


def _rates(table, variants, scanner: str) -> ScannerRates:
    rows = table[table["scanner"] == scanner].set_index("file")
    flagged = rows["flagged"].astype(bool)
    errored = rows["error"].notna()
    clean = [v["label"] for v in variants if not v["malicious"]]
    adaptive = [v["label"] for v in variants if v["adaptive"]]
    plain = "plain payload (before the buffers)"
    after = "payload after the buffers"
    return ScannerRates(
        scanner=scanner,
        flags_plain=bool(flagged[plain]),
        flags_after_buffers=bool(flagged[after]),
        flags_compressed=bool(flagged["compressed payload"]),
        missed_adaptive=proportion(int((~flagged[adaptive]).sum()), len(adaptive),
                                   on=f"{len(adaptive)} adaptive trojan files"),
        false_alarms=proportion(int(flagged[clean].sum()), len(clean),
                                on=f"{len(clean)} clean files"),
        fail_closed_false_alarms=proportion(int((flagged[clean] | errored[clean]).sum()),
                                            len(clean), on=f"{len(clean)} clean files"),
    )


def joblib_scanner_probe(model, folder, marker_path, payload, *,
                         compressors=JOBLIB_COMPRESSORS) -> JoblibProbe:
    """The probe of the scanners on joblib files: ``model`` saved with ``joblib.dump`` into
    ``folder``, clean and with each of ``compressors``; trojaned (:func:`nlp.trojan_joblib`)
    with ``payload`` before the numpy buffers (the plain attack), after them, and compressed
    with each compressor with the payload before and after. Every file goes through every
    scanner of ``common.SCANNERS`` (real runs); every trojan is loaded once with
    ``joblib.load`` (the marker ``marker_path``, that ``payload`` writes, is deleted before
    and checked after) so that an evasion is counted only for a file that runs.

    The adaptive attacker is the one who knows how the scanners parse: every placement after
    the buffers or inside a compressed stream. A scanner "misses" a file it does not flag.

    Introduced in lab 11 (Supply chain).
    """
    import joblib
    import pandas as pd

    folder = check_path(folder, "folder", kind="dir")
    compressors = [check_choice(c, JOBLIB_COMPRESSORS, "compressor") for c in compressors]
    if "zlib" not in compressors:
        raise ValueError("compressors must include 'zlib' (joblib's compress=3, the shown file)")
    marker = Path(marker_path)
    payload_ran(marker)  # checks that the marker lies in the temporary folder
    variants = _variants(compressors)
    for i, v in enumerate(variants):
        path = folder / f"fraud_{i:02d}.joblib"
        compress = (v["compressor"], 3) if v["compressor"] else 0
        if v["malicious"]:
            trojan_joblib(model, payload, path, placement=v["placement"], compress=compress)
        else:
            joblib.dump(model, path, compress=compress)
        v["path"] = path
    runs = []
    for v in variants:
        marker.unlink(missing_ok=True)
        loaded = joblib.load(v["path"])
        runs.append(payload_ran(marker))
        if type(loaded) is not type(model):
            raise AssertionError(f"{v['label']}: joblib.load returned {type(loaded).__name__}")
    marker.unlink(missing_ok=True)
    frame = pd.DataFrame(variants)
    frame["runs_when_loaded"] = runs
    table = scan_table(dict(zip(frame["label"], frame["path"], strict=True)))
    rates = {s: _rates(table, variants, s) for s in SCANNERS}
    adaptive = frame.loc[frame["adaptive"], "label"].tolist()
    evaded = tuple(s for s in SCANNERS if rates[s].missed_adaptive.successes == len(adaptive))
    shown = table[table["file"].isin(_SHOWN)]
    return JoblibProbe(variants=frame, table=table, matrix=scan_matrix(shown),
                       rates=rates, evaded=evaded, queries=len(table))


_PICKLE_PROTOCOLS = tuple(bytes([0x80, p]) for p in range(2, 6))


def file_format(path) -> str:
    """What a model file is, from its first bytes (never from its name): ``"skops"`` (a zip
    holding ``schema.json``), ``"zip"`` (another zip: a torch file), ``"pickle"`` (a pickle
    stream: joblib, ``pickle.dump``), ``"zlib"``/``"gzip"``/``"bz2"``/``"lzma"``/``"xz"``
    (a compressed stream: a compressed joblib file is one of these around a pickle), or
    ``"unknown"``.

    Introduced in lab 11 (Supply chain).
    """
    path = Path(path) if isinstance(path, (str, Path)) else None
    if path is None:
        raise ArgumentTypeError("path must be a str or a pathlib.Path")
    if not path.is_file():
        raise ValueError(f"no such file: {path}")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(path) as z:
            return "skops" if "schema.json" in z.namelist() else "zip"
    if head[:2] in _PICKLE_PROTOCOLS:
        return "pickle"
    if head[:1] == b"x" and len(head) > 1 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"
    for magic, name in ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"),
                        (b"\x5d\x00\x00", "lzma")):
        if head.startswith(magic):
            return name
    return "unknown"


def allow_listed_load(path, *, allow_list) -> SkopsLoad:
    """The loader that does not depend on scanning: refuse any file that is not a skops file
    (pickle streams, compressed streams, other zips: ``ValueError`` before a byte is
    deserialised, whatever its name says), then load it with ``skops.io.load`` trusting only
    ``allow_list`` beyond skops's defaults; a refusal comes back as a ``SkopsLoad`` with
    ``loaded=False``.

    Introduced in lab 11 (Supply chain).
    """
    if isinstance(allow_list, str):
        raise ArgumentTypeError("allow_list must be a list of type names (wrap it in a list)")
    allow_list = [check_str(t, "each allowed type") for t in allow_list]
    kind = file_format(path)
    if kind != "skops":
        raise ValueError(f"{Path(path).name} is a {kind} file, not skops: pickle-based formats "
                         "are refused (they can run code when loaded)")
    return skops_load(path, trusted=allow_list)


def _pickled_member(src: Path, dst: Path, payload) -> Path:
    """A copy of skops file ``src`` whose first .npy member is replaced by an object array
    holding ``payload`` (a pickle inside the safe format, as ``numpy.save`` writes it)."""
    import io

    import numpy as np

    with zipfile.ZipFile(src) as zin:
        members = [i for i in zin.infolist() if i.filename.endswith(".npy")]
        if not members:
            raise ValueError(f"{src.name} holds no numpy array to replace")
        target = members[0].filename
        buf = io.BytesIO()
        array = np.empty(1, dtype=object)
        array[0] = payload
        np.save(buf, array, allow_pickle=True)
        with zipfile.ZipFile(dst, "w") as zout:
            for info in zin.infolist():
                data = buf.getvalue() if info.filename == target else zin.read(info.filename)
                zout.writestr(info, data)
    return dst


def skops_attacks(clean_skops, folder, marker_path, payload, *, allow_list):
    """The attacker who knows the defence (:func:`allow_listed_load` with ``allow_list``) tries
    three files built from the published skops file ``clean_skops``: a call of the payload's
    function injected as a node (:func:`nlp.inject_skops_call`), the payload pickled inside
    one of the file's numpy members (an object array), and a trojaned joblib file renamed
    ``.skops``. Each goes through the defence; the marker is deleted before and checked after.
    Returns a DataFrame: attack, loaded, refused by (the defence's words), payload ran.

    Introduced in lab 11 (Supply chain).
    """
    import pandas as pd

    folder = check_path(folder, "folder", kind="dir")
    clean_skops = Path(clean_skops)
    if file_format(clean_skops) != "skops":
        raise ValueError(f"{clean_skops.name} is not a skops file")
    marker = Path(marker_path)
    payload_ran(marker)
    model = skops_load(clean_skops, trusted=list(allow_list)).model
    if model is None:
        raise ValueError("the allow-list does not load the clean file: list its types first")
    files = {
        "function call injected as a node": inject_skops_call(
            clean_skops, folder / "attack_injected.skops", payload),
        "pickle inside a numpy member": _pickled_member(
            clean_skops, folder / "attack_npy_pickle.skops", payload),
        "joblib trojan renamed .skops": trojan_joblib(
            model, payload, folder / "attack_renamed.skops"),
    }
    rows = []
    for attack, path in files.items():
        marker.unlink(missing_ok=True)
        try:
            result = allow_listed_load(path, allow_list=allow_list)
            loaded = result.loaded
            reason = "" if loaded else f"skops refused the types {list(result.refused_types)}"
        except ValueError as err:  # the format policy, or numpy's allow_pickle=False
            loaded, reason = False, str(err).splitlines()[0]
        rows.append({"attack": attack, "loaded": loaded, "refused by": reason,
                     "payload ran": payload_ran(marker)})
    marker.unlink(missing_ok=True)
    return pd.DataFrame(rows)
