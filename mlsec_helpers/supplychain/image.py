"""Lab 11, image: torch files of the digit reader, a payload in their pickle, the weights-only
loader, safetensors, and an attacker who crafts a payload the scanners let through.

``torch.save`` writes a zip archive whose ``data.pkl`` is a pickle: whatever callable the pickle
names runs when ``torch.load(weights_only=False)`` reads it. ``torch.load``'s default
(``weights_only=True``) unpickles with an allow-list of the globals a tensor checkpoint needs
and refuses any other; safetensors stores a JSON header and raw tensor bytes and has nothing to
unpickle.

Introduced in lab 11 (Supply chain).
"""

from __future__ import annotations

import json
import pickle
import re
import time
import warnings
from pathlib import Path

from ..validate import ArgumentTypeError, check_choice, check_int
from .common import (
    PAYLOAD_VIAS,
    SCANNERS,
    marker_payload,
    passes_as_clean,
    payload_ran,
    scan_file,
)
from .results import EvasionSearch, LoadAttempt

__all__ = [
    "load_safetensors_system",
    "safetensors_header",
    "safetensors_payload_attempts",
    "save_checkpoint",
    "save_checkpoint_with_payload",
    "save_safetensors",
    "search_evasive_payload",
    "try_torch_load",
]


def _state_dict(system) -> dict:
    model = getattr(system, "model", None)
    if model is None or not hasattr(model, "state_dict"):
        raise ArgumentTypeError(f"system must be a fitted course system with a torch .model "
                                f"(a DigitsCNN), got {type(system).__name__}")
    # contiguous CPU copies: the CNN keeps its conv weights channels_last, and safetensors
    # refuses non-contiguous tensors
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def _destination(path, suffixes) -> Path:
    if not isinstance(path, (str, Path)):
        raise ArgumentTypeError(f"path must be a str or a pathlib.Path, got {type(path).__name__}")
    path = Path(path)
    if path.suffix not in suffixes:
        raise ValueError(f"path must end with {' or '.join(suffixes)}, got {path.name!r}")
    if not path.parent.is_dir():
        raise ValueError(f"the folder {path.parent} does not exist (create the lab's folder "
                         f"first)")
    return path


def save_checkpoint(system, path) -> Path:
    """Save ``system``'s weights the usual way, ``torch.save({"model": state_dict}, path)``
    (a ``.pt`` file): the clean checkpoint. Returns the path.

    Introduced in lab 11 (Supply chain).
    """
    import torch

    path = _destination(path, (".pt", ".pth"))
    torch.save({"model": _state_dict(system)}, path)
    return path


def save_checkpoint_with_payload(system, path, marker_path, *, via: str = "exec",
                                 pickle_protocol: int = 2) -> Path:
    """Save ``system``'s weights as :func:`save_checkpoint` does, with one more entry,
    ``"training_args"``, holding :func:`common.marker_payload` (``via``): loading the file with
    ``torch.load(weights_only=False)`` returns working weights and, on the way, writes the
    marker file. ``pickle_protocol`` is ``torch.save``'s (2 by default). Returns the path.

    Introduced in lab 11 (Supply chain).
    """
    import torch

    path = _destination(path, (".pt", ".pth"))
    protocol = check_int(pickle_protocol, "pickle_protocol", 2, pickle.HIGHEST_PROTOCOL)
    payload = marker_payload(marker_path, via=via)
    torch.save({"model": _state_dict(system), "training_args": payload}, path,
               pickle_protocol=protocol)
    return path


_BLOCKED = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def try_torch_load(path, marker_path, *, weights_only: bool = True) -> LoadAttempt:
    """``torch.load(path, weights_only=...)`` with the marker of ``marker_path`` removed first,
    and whether the marker appeared: the load's outcome, its error (the weights-only unpickler
    names the import it refused) and whether the payload ran. ``weights_only=True`` is torch's
    default. An exception is recorded, not raised.

    Introduced in lab 11 (Supply chain).
    """
    import torch

    path = Path(path) if isinstance(path, (str, Path)) else path
    if not isinstance(path, Path) or not path.is_file():
        raise ValueError(f"no such file: {path}")
    if not isinstance(weights_only, bool):
        raise ArgumentTypeError(f"weights_only must be a bool, got {type(weights_only).__name__}")
    if payload_ran(marker_path):  # validates the marker's path (inside the temporary folder)
        Path(marker_path).unlink()
    value, error_type, error, blocked = None, None, None, None
    start = time.perf_counter()
    with warnings.catch_warnings():
        # torch warns that its weights-only unpickler may not support protocols above 2
        warnings.filterwarnings("ignore", message="Detected pickle protocol")
        try:
            value = torch.load(path, weights_only=weights_only, map_location="cpu")
        except Exception as exc:  # noqa: BLE001 (the outcome is the lesson: record it)
            error_type, text = type(exc).__name__, _ANSI.sub("", str(exc))
            lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
            # the weights-only unpickler's reason ("Unsupported global: ...", "Unsupported
            # operand 149" for a pickle protocol it does not read) follows a long preamble
            reason = [ln for ln in lines if "Unsupported" in ln]
            error = (reason or lines or [""])[0]
            found = _BLOCKED.search(text)
            blocked = found.group(1) if found else None
    seconds = time.perf_counter() - start
    return LoadAttempt(file=path.name, weights_only=weights_only, loaded=error_type is None,
                       payload_ran=payload_ran(marker_path), error_type=error_type, error=error,
                       blocked_global=blocked, seconds=seconds, value=value)


def save_safetensors(system, path, *, metadata: dict[str, str] | None = None) -> Path:
    """Save ``system``'s weights with ``safetensors.torch.save_file`` (a ``.safetensors`` file:
    a JSON header of names, dtypes, shapes and offsets, then raw bytes); ``metadata`` is an
    optional str -> str dict stored in the header. Returns the path.

    Introduced in lab 11 (Supply chain).
    """
    from safetensors.torch import save_file

    path = _destination(path, (".safetensors",))
    if metadata is not None and (not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise ArgumentTypeError("metadata must be a dict of str -> str")
    save_file(_state_dict(system), str(path), metadata=metadata)
    return path


def load_safetensors_system(path):
    """A fresh digits CNN (``systems.DigitsCNN``) restored from a ``.safetensors`` file written
    by :func:`save_safetensors` (``safetensors.torch.load_file``: no unpickling). The image
    side and the width are read from the weights' shapes.

    Introduced in lab 11 (Supply chain).
    """
    from safetensors.torch import load_file

    from ..systems import DigitsCNN

    path = Path(path) if isinstance(path, (str, Path)) else path
    if not isinstance(path, Path) or not path.is_file():
        raise ValueError(f"no such file: {path}")
    tensors = load_file(str(path))
    try:
        width = int(tensors["features.0.weight"].shape[0])
        flat = int(tensors["head.0.weight"].shape[1])
    except KeyError as exc:
        raise ValueError(f"{path.name} holds no digits-CNN weights (missing {exc})") from None
    side = 4 * round((flat / (2 * width)) ** 0.5)
    return DigitsCNN(seed=0, width=width).restore(tensors, image_side=side)


def safetensors_header(path) -> dict:
    """The JSON header of a ``.safetensors`` file: each tensor's dtype, shape and byte offsets,
    and ``__metadata__`` (str -> str). Read by hand (8 bytes of little-endian length, then the
    JSON) because the safetensors package returns the tensors and the metadata but not the raw
    header, which is what shows that the format describes data and holds no code.

    Introduced in lab 11 (Supply chain).
    """
    path = Path(path) if isinstance(path, (str, Path)) else path
    if not isinstance(path, Path) or not path.is_file():
        raise ValueError(f"no such file: {path}")
    with open(path, "rb") as fh:
        size = int.from_bytes(fh.read(8), "little")
        if not 0 < size <= 100_000_000:
            raise ValueError(f"{path.name} is not a safetensors file (header size {size})")
        try:
            return json.loads(fh.read(size))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ValueError(f"{path.name} is not a safetensors file") from None


def safetensors_payload_attempts(system, folder, marker_path):
    """Three ways an attacker could try to put the payload of :func:`common.marker_payload`
    into a safetensors model, each tried for real inside ``folder``: the payload object as a
    tensor (``save_file`` refuses it), the payload's pickle bytes in the header's metadata
    (saved and loaded, they come back as a string and never run), and a torch pickle file
    renamed ``.safetensors`` (the loader refuses it). A DataFrame with one row per attempt:
    attempt, saved, loaded, outcome, payload_ran.

    Introduced in lab 11 (Supply chain).
    """
    import pandas as pd
    import torch
    from safetensors.torch import load_file, save_file

    folder = Path(folder) if isinstance(folder, (str, Path)) else folder
    if not isinstance(folder, Path) or not folder.is_dir():
        raise ValueError(f"folder must be an existing folder, got {folder!r}")
    payload = marker_payload(marker_path, via="exec")
    rows = []

    def attempt(name, save, load):
        if payload_ran(marker_path):
            Path(marker_path).unlink()
        saved = loaded = False
        try:
            save()
            saved = True
            outcome = load()
            loaded = True
        except Exception as exc:  # noqa: BLE001 (a refusal is the outcome)
            outcome = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
        rows.append({"attempt": name, "saved": saved, "loaded": loaded, "outcome": outcome,
                     "payload_ran": payload_ran(marker_path)})

    as_tensor = folder / "payload_as_tensor.safetensors"
    attempt("the payload object as a tensor",
            lambda: save_file({**_state_dict(system), "x": payload}, str(as_tensor)),
            lambda: "saved")
    in_meta = folder / "payload_in_metadata.safetensors"
    blob = pickle.dumps(payload, protocol=2).hex()
    attempt("the payload's pickle bytes in the metadata",
            lambda: save_safetensors(system, in_meta, metadata={"training_args": blob}),
            lambda: (f"loaded {len(load_file(str(in_meta)))} tensors; metadata "
                     f"'training_args' is a str of "
                     f"{len(safetensors_header(in_meta)['__metadata__']['training_args'])} "
                     f"hex digits"))
    renamed = folder / "pickle_renamed.safetensors"
    attempt("a torch pickle file renamed .safetensors",
            lambda: torch.save({"model": _state_dict(system), "training_args": payload},
                               renamed),
            lambda: f"loaded {len(load_file(str(renamed)))} tensors")
    return pd.DataFrame(rows)


def search_evasive_payload(system, folder, *, vias=PAYLOAD_VIAS, protocols=(2, 4),
                           scanners=SCANNERS) -> EvasionSearch:
    """The adaptive attacker of the torch section. It knows which scanners a model hub runs
    (their deny-lists are public) and sees only their verdicts: for every payload callable of
    ``vias`` and pickle protocol of ``protocols`` it writes a checkpoint of ``system`` with the
    payload (:func:`save_checkpoint_with_payload`, marker ``marker_<via>_p<protocol>.txt`` in
    ``folder``), checks the payload runs when loaded unsafely, and runs every scanner; a
    candidate passes a scanner when its verdict does not stand out from the clean
    checkpoint's (:func:`common.passes_as_clean`). Candidates are tried protocol by protocol
    (torch's default 2 first), payload by payload; the first that runs and passes every
    scanner is chosen. Every scanner run is counted as a query.

    Introduced in lab 11 (Supply chain).
    """
    import pandas as pd

    folder = Path(folder) if isinstance(folder, (str, Path)) else folder
    if not isinstance(folder, Path) or not folder.is_dir():
        raise ValueError(f"folder must be an existing folder, got {folder!r}")
    vias = [check_choice(v, PAYLOAD_VIAS, "payload via") for v in vias]
    protocols = [check_int(p, "protocol", 2, pickle.HIGHEST_PROTOCOL) for p in protocols]
    scanners = [check_choice(s, SCANNERS, "scanner") for s in scanners]
    if not vias or not protocols or not scanners:
        raise ValueError("vias, protocols and scanners must each name at least one")
    clean_path = save_checkpoint(system, folder / "attacker_clean.pt")
    clean = {s: scan_file(clean_path, s) for s in scanners}
    queries = len(scanners)
    rows, chosen = [], None
    for protocol in protocols:
        for via in vias:
            marker = folder / f"marker_{via}_p{protocol}.txt"
            path = save_checkpoint_with_payload(system, folder / f"payload_{via}_p{protocol}.pt",
                                                marker, via=via, pickle_protocol=protocol)
            runs = try_torch_load(path, marker, weights_only=False).payload_ran
            if payload_ran(marker):
                marker.unlink()
            row = {"via": via, "protocol": protocol, "file": path.name, "runs_unsafe": runs}
            for s in scanners:
                verdict = scan_file(path, s)
                queries += 1
                row[s] = f"{'flagged' if verdict.flagged else 'passed'} ({verdict.severity})"
                row[f"{s}_passes"] = passes_as_clean(verdict, clean[s])
            row["passes_all"] = runs and all(row[f"{s}_passes"] for s in scanners)
            rows.append(row)
            if chosen is None and row["passes_all"]:
                chosen = (path, via, protocol)
    table = pd.DataFrame(rows)
    if chosen is not None:
        evaded = tuple(scanners)
    else:
        evaded = tuple(s for s in scanners if table[f"{s}_passes"].any())
    return EvasionSearch(table=table, clean=tuple(clean[s] for s in scanners),
                         chosen_file=None if chosen is None else chosen[0],
                         chosen_via=None if chosen is None else chosen[1],
                         chosen_protocol=None if chosen is None else chosen[2],
                         evaded=evaded, queries=queries)
