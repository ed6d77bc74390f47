"""The secure development lifecycle for models: all five systems packaged safely, the course's
own dependencies pinned, locked and listed in an SBOM, and every control mapped to SAIF and the
NIST CSF.

- **Safe packaging** (:func:`save_system`, :func:`load_system`, :func:`verify_then_load`,
  :func:`secure_round_trip`): torch weights as safetensors, scikit-learn models as skops with an
  explicit allow-list of trusted types (:data:`TRUSTED_TYPES`); every folder hashed into a
  manifest and signed with model-signing (:mod:`~mlsec_helpers.supplychain.integrity`), and
  loaded only after both verify. :func:`refusal_trials` offers tampered copies to the loader.
- **Dependencies** (:func:`pinned_requirements`, :func:`lock_view`, :func:`verify_installed`,
  :func:`write_sbom`, :func:`validate_sbom`, :func:`sbom_frame`): the exact pins of
  ``pyproject.toml`` against what is installed, a lock-file view, installed files against their
  RECORD hashes, and a CycloneDX SBOM written by cyclonedx-bom. :data:`PIP_AUDIT_COMMAND` is the
  vulnerability audit the lab shows but cannot run offline.
- **The map** (:data:`SDL_CONTROLS`, :func:`check_sdl_control`, :func:`sdl_table`): each
  control of the course at its lifecycle stage, with the SAIF element and the NIST CSF 2.0
  category it serves, every ID checked against :mod:`mlsec_helpers.frameworks`.

Every function that writes takes its destination as an argument; nothing is written elsewhere.

Introduced in lab 11 (Supply chain).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from .. import frameworks
from ..catalogue import check_domain, get_lab
from ..validate import ArgumentTypeError, check_path, check_seed, check_str
from . import integrity
from .common import marker_payload, payload_ran
from .results import (
    KeyPair,
    LockFile,
    RecordCheck,
    RefusalTrial,
    SavedSystem,
    Sbom,
    SdlControl,
    SecureRoundTrip,
)

__all__ = [
    "PIP_AUDIT_COMMAND",
    "SAFE_FORMATS",
    "SDL_CONTROLS",
    "TRUSTED_TYPES",
    "RefusedToLoad",
    "check_sdl_control",
    "load_system",
    "lock_view",
    "pinned_requirements",
    "refusal_trials",
    "repository_pyproject",
    "same_outputs",
    "save_system",
    "sbom_frame",
    "sdl_table",
    "secure_round_trip",
    "validate_sbom",
    "verify_installed",
    "verify_then_load",
    "write_sbom",
]

SAFE_FORMATS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "image": ("safetensors", "a torch CNN: only tensors to store; safetensors holds raw tensors "
              "and a JSON header, so loading it cannot run code"),
    "nlp": ("skops", "a scikit-learn pipeline (TF-IDF vocabularies, logistic regression): not "
            "tensors; skops rebuilds only allow-listed types, without pickle"),
    "recommender": ("safetensors", "torch embeddings and biases: tensors only (the global mean "
                    "and the items each user rated are stored as tensors too)"),
    "fraud": ("skops", "scikit-learn gradient-boosted trees: skops, with the tree predictor "
              "type trusted explicitly"),
    "medical": ("skops", "a scikit-learn scaler and logistic regression: skops; every type is "
                "trusted by skops by default"),
})
"""Each domain's safe format and why it fits (the systems of ``systems.reference_system``).

Introduced in lab 11 (Supply chain)."""

TRUSTED_TYPES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "nlp": (),
    "fraud": ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",),
    "medical": (),
})
"""The deployer's allow-list: the types each skops system may hold beyond skops' own defaults,
as ``skops.io.get_untrusted_types`` reports them for the reference systems (skops 0.16.0,
scikit-learn 1.9.1). It is a policy of whoever loads, never read from the artefact.

Introduced in lab 11 (Supply chain)."""

PIP_AUDIT_COMMAND = "pip-audit --requirement requirements.lock.txt --require-hashes --strict"
"""The vulnerability audit of the environment: pip-audit queries an online advisory database
(PyPI's JSON API or OSV), so the lab shows the command and does not run it.

Introduced in lab 11 (Supply chain)."""

_CONFIG = "config.json"
_SAFETENSORS = "model.safetensors"
_SEEN = "seen_pairs.safetensors"
_SKOPS = "model.skops"


class RefusedToLoad(ValueError):  # noqa: N818 (reads as what happened)
    """:func:`verify_then_load` or :func:`load_system` refused a model: its manifest or its
    signature did not verify, or it holds a type outside the allow-list. ``check`` holds the
    failed check (a ``ManifestCheck`` or ``SignatureCheck``) or the refused type names.

    Introduced in lab 11 (Supply chain).
    """

    def __init__(self, message: str, check: object = None):
        super().__init__(message)
        self.check = check


# --- paths --------------------------------------------------------------------------------------






def _new_folder(value, name: str = "folder") -> Path:
    folder = check_path(value, name)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise FileExistsError(f"{name} {folder} exists and is not an empty folder: give a new one")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _trusted(trusted) -> tuple[str, ...]:
    if isinstance(trusted, str) or not isinstance(trusted, Sequence):
        raise ArgumentTypeError("trusted must be a sequence of type names (e.g. "
                                "TRUSTED_TYPES['fraud']), not " + type(trusted).__name__)
    for name in trusted:
        check_str(name, "each trusted type")
    return tuple(trusted)


# --- safe packaging -----------------------------------------------------------------------------


def _kind(system) -> str:
    from ..systems import DigitsCNN, MFRecommender, SklearnSystem

    for cls in (DigitsCNN, MFRecommender, SklearnSystem):
        if isinstance(system, cls):
            if not getattr(system, "fitted_", False):
                raise ValueError(f"the {cls.__name__} is not fitted: train or load it first")
            return cls.__name__
    raise ArgumentTypeError("system must be a course reference system (DigitsCNN, "
                            f"MFRecommender or SklearnSystem), got {type(system).__name__}")


def save_system(system, folder) -> SavedSystem:
    """Write a fitted reference system into ``folder`` (new or empty) in its safe format
    (:data:`SAFE_FORMATS`): torch systems as ``model.safetensors`` (the recommender also
    ``seen_pairs.safetensors``, the (user, item) pairs of its training set, which ``recommend``
    leaves out), scikit-learn systems as ``model.skops`` (zip-deflated), and a plain
    ``config.json`` with what rebuilding needs. No pickle anywhere.

    Introduced in lab 11 (Supply chain).
    """
    import safetensors.torch
    import skops.io
    import torch

    kind = _kind(system)
    folder = _new_folder(folder)
    start = time.perf_counter()
    config: dict[str, object] = {"system": kind, "domain": system.domain}
    if kind == "DigitsCNN":
        tensors = {k: v.detach().cpu().contiguous() for k, v in system.model.state_dict().items()}
        safetensors.torch.save_file(tensors, folder / _SAFETENSORS, metadata={"format": "pt"})
        config.update(image_side=int(system.image_shape[-1]), width=int(system.width),
                      format="safetensors")
    elif kind == "MFRecommender":
        tensors = {k: v.detach().cpu().contiguous() for k, v in system.model.state_dict().items()}
        tensors["mu"] = torch.tensor(float(system.model.mu), dtype=torch.float64)
        safetensors.torch.save_file(tensors, folder / _SAFETENSORS, metadata={"format": "pt"})
        seen = [np.column_stack([np.full(len(items), user), items])
                for user, items in sorted(system.seen_.items())]
        pairs = np.concatenate(seen).astype(np.int64) if seen else np.zeros((0, 2), np.int64)
        safetensors.torch.save_file({"pairs": torch.from_numpy(pairs)}, folder / _SEEN)
        config.update(n_users=system.n_users, n_items=system.n_items, dim=system.dim,
                      format="safetensors")
    else:
        import zipfile

        skops.io.dump(system.estimator, folder / _SKOPS, compression=zipfile.ZIP_DEFLATED)
        config.update(text=bool(system.text), n_classes=int(system.n_classes), format="skops")
        if not system.text:
            config["n_features"] = int(system.n_features_)
    (folder / _CONFIG).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    files = tuple(sorted(p.name for p in folder.iterdir()))
    size = sum((folder / f).stat().st_size for f in files)
    return SavedSystem(system.domain, str(config["format"]), folder, files, size,
                       time.perf_counter() - start)


def _read_config(folder: Path) -> dict:
    path = folder / _CONFIG
    if not path.is_file():
        raise ValueError(f"{folder} holds no {_CONFIG}: not a folder written by save_system")
    config = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(config, dict) or config.get("system") not in (
            "DigitsCNN", "MFRecommender", "SklearnSystem"):
        raise ValueError(f"{path}: 'system' must be DigitsCNN, MFRecommender or SklearnSystem")
    return config


def load_system(folder, *, trusted: Sequence[str] = ()):
    """Rebuild a system written by :func:`save_system`, WITHOUT checking its integrity (use
    :func:`verify_then_load`). Nothing is unpickled: safetensors for torch weights, skops for
    scikit-learn, whose file may hold only skops' default types and those in ``trusted``
    (anything else raises :class:`RefusedToLoad` naming the types, before loading).

    Introduced in lab 11 (Supply chain).
    """
    import safetensors.torch
    import skops.io

    from ..systems import DigitsCNN, MFRecommender, SklearnSystem

    folder = check_path(folder, "folder", kind="dir")
    trusted = _trusted(trusted)
    config = _read_config(folder)
    domain = check_domain(config.get("domain"))
    if config["system"] == "DigitsCNN":
        tensors = safetensors.torch.load_file(folder / _SAFETENSORS)
        system = DigitsCNN(width=int(config["width"])).restore(
            tensors, image_side=int(config["image_side"]))
    elif config["system"] == "MFRecommender":
        tensors = safetensors.torch.load_file(folder / _SAFETENSORS)
        pairs = safetensors.torch.load_file(folder / _SEEN)["pairs"].numpy()
        system = MFRecommender(int(config["n_users"]), int(config["n_items"]),
                               dim=int(config["dim"])).restore(tensors, pairs)
    else:
        from skops.io.exceptions import UntrustedTypesFoundException

        path = folder / _SKOPS
        try:  # skops checks every type against its defaults and `trusted` before building
            estimator = skops.io.load(path, trusted=list(trusted))
        except UntrustedTypesFoundException:  # name the refused types for the caller
            refused = tuple(sorted(set(skops.io.get_untrusted_types(file=path)) - set(trusted)))
            raise RefusedToLoad(f"{path.name} holds types outside the allow-list: "
                                f"{', '.join(refused)}; trust them only after reading them",
                                refused) from None
        system = SklearnSystem(estimator, domain=domain, text=bool(config["text"]))
        system.n_classes = int(config["n_classes"])
        if not system.text:
            system.n_features_ = int(config["n_features"])
        system.fitted_ = True
    system.source_ = f"loaded from {folder.name} ({config['format']})"
    return system


def verify_then_load(folder, *, manifest, signature, public_key,
                     trusted: Sequence[str] = ()):
    """Load a system only if it verifies: the folder must match ``manifest`` (a JSON manifest
    of :func:`~mlsec_helpers.supplychain.integrity.write_manifest`) exactly, and its
    model-signing ``signature`` must verify with ``public_key`` (a ``KeyPair`` or a PEM path);
    then :func:`load_system` with ``trusted``. Any failure raises :class:`RefusedToLoad` before
    a byte of the model is parsed.

    Introduced in lab 11 (Supply chain).
    """
    folder = check_path(folder, "folder", kind="dir")
    trusted = _trusted(trusted)
    check = integrity.check_manifest(folder, check_path(manifest, "manifest"))
    if not check.ok:
        raise RefusedToLoad(f"refused {folder.name}: {check}", check)
    signed = integrity.verify_signature(folder, public_key, check_path(signature, "signature"))
    if not signed.ok:
        raise RefusedToLoad(f"refused {folder.name}: {signed}", signed)
    return load_system(folder, trusted=trusted)


def same_outputs(system, other, X) -> np.ndarray:
    """One bool per input of ``X``: ``other`` answers bit-for-bit as ``system`` (the same row
    of probabilities; for the recommender, the same predicted rating).

    Introduced in lab 11 (Supply chain).
    """
    kind, other_kind = _kind(system), _kind(other)
    if kind != other_kind:
        raise ValueError(f"cannot compare a {kind} with a {other_kind}")
    if kind == "MFRecommender":
        return np.asarray(system.predict(X)) == np.asarray(other.predict(X))
    a, b = np.asarray(system.predict_proba(X)), np.asarray(other.predict_proba(X))
    if a.shape != b.shape:
        return np.zeros(len(a), dtype=bool)
    return np.all(a == b, axis=1)


def _paths(dest: Path, domain: str) -> tuple[Path, Path, Path]:
    return dest / domain, dest / f"{domain}.manifest.json", dest / f"{domain}.sig"


def secure_round_trip(system, dest, *, key_pair: KeyPair, X,
                      trusted: Sequence[str] | None = None) -> SecureRoundTrip:
    """Save ``system`` safely into ``dest/<domain>`` (:func:`save_system`), write its manifest
    (``dest/<domain>.manifest.json``) and sign it with ``key_pair`` (``dest/<domain>.sig``),
    then reload it through :func:`verify_then_load` and compare its outputs on ``X`` with the
    original's (:func:`same_outputs`). ``trusted`` defaults to :data:`TRUSTED_TYPES` of the
    domain.

    Introduced in lab 11 (Supply chain).
    """
    if not isinstance(key_pair, KeyPair):
        raise ArgumentTypeError(f"key_pair must be a KeyPair (integrity.make_key_pair), got "
                                f"{type(key_pair).__name__}")
    _kind(system)
    dest = check_path(dest, "dest")
    domain = check_domain(system.domain)
    trusted = _trusted(TRUSTED_TYPES.get(domain, ()) if trusted is None else trusted)
    folder, manifest, signature = _paths(dest, domain)
    for path in (manifest, signature):
        if path.exists():
            raise FileExistsError(f"{path} exists: give secure_round_trip a new dest")
    import model_signing.signing  # noqa: F401 (imported here, not inside the timings)
    import model_signing.verifying  # noqa: F401

    saved = save_system(system, folder)
    integrity.write_manifest(folder, manifest)
    start = time.perf_counter()
    integrity.sign_model(folder, key_pair, signature)
    sign_seconds = time.perf_counter() - start
    start = time.perf_counter()
    check = integrity.check_manifest(folder, manifest)
    signed = integrity.verify_signature(folder, key_pair, signature)
    verify_seconds = time.perf_counter() - start
    if not (check.ok and signed.ok):  # pragma: no cover (a fresh folder always verifies)
        raise RefusedToLoad(f"{folder.name} did not verify right after signing: {check}; "
                            f"{signed}")
    start = time.perf_counter()
    reloaded = verify_then_load(folder, manifest=manifest, signature=signature,
                                public_key=key_pair, trusted=trusted)
    verify_load_seconds = time.perf_counter() - start
    return SecureRoundTrip(saved, manifest, signature, sign_seconds, verify_seconds,
                           verify_load_seconds, same_outputs(system, reloaded, X), reloaded)


def _weights(folder: Path) -> Path:
    return folder / (_SAFETENSORS if (folder / _SAFETENSORS).is_file() else _SKOPS)


def refusal_trials(round_trip: SecureRoundTrip, workdir, *, key_pair: KeyPair,
                   attacker: KeyPair, seed: int = 0) -> tuple[RefusalTrial, ...]:
    """Offer :func:`verify_then_load` four tampered copies of a signed system (each made in
    ``workdir``, new or empty, from ``round_trip``'s folder), by an attacker who can write to
    the model store and knows the checks, but not the publisher's private key:

    - ``flipped bit``: one bit of the weights file flipped (``integrity.flip_bit`` with
      ``seed``); the stored manifest left alone;
    - ``pickle added``: a pickle holding the benign marker payload (``common.marker_payload``,
      marker in ``workdir``) added next to the weights, and the manifest rewritten to list it;
    - ``flipped bit, manifest rewritten``: the bit flipped and the manifest rebuilt by the
      attacker, the publisher's signature kept;
    - ``re-signed, manifest rewritten``: the same, signed with ``attacker``'s key pair.

    Returns one :class:`~mlsec_helpers.supplychain.results.RefusalTrial` per case; the loader
    must refuse every one, and the marker must never appear.

    Introduced in lab 11 (Supply chain).
    """
    if not isinstance(round_trip, SecureRoundTrip):
        raise ArgumentTypeError("round_trip must be a SecureRoundTrip (secure_round_trip), got "
                                f"{type(round_trip).__name__}")
    for name, key in (("key_pair", key_pair), ("attacker", attacker)):
        if not isinstance(key, KeyPair):
            raise ArgumentTypeError(f"{name} must be a KeyPair, got {type(key).__name__}")
    if attacker.fingerprint == key_pair.fingerprint:
        raise ValueError("attacker must hold another key pair than the publisher")
    seed = check_seed(seed)
    workdir = _new_folder(workdir, "workdir")
    source = round_trip.saved.folder
    domain = round_trip.saved.domain
    trusted = TRUSTED_TYPES.get(domain, ())
    marker = workdir / "marker.txt"
    trials = []
    for k, case in enumerate(("flipped bit", "pickle added", "flipped bit, manifest rewritten",
                              "re-signed, manifest rewritten")):
        copy = workdir / f"case{k}" / domain
        shutil.copytree(source, copy)
        manifest, signature = round_trip.manifest, round_trip.signature
        if "flipped bit" in case:
            integrity.flip_bit(_weights(copy), seed=seed)
        if case == "pickle added":
            with open(copy / "extra_weights.pkl", "wb") as fh:
                pickle.dump({"weights": marker_payload(marker)}, fh)
        if case != "flipped bit":  # the attacker rewrites the manifest next to the model
            manifest = copy.parent / "manifest.json"
            integrity.write_manifest(copy, manifest)
        if case.startswith("re-signed"):
            signature = integrity.sign_model(copy, attacker, copy.parent / "model.sig")
        manifest_ok = integrity.check_manifest(copy, manifest).ok
        try:
            verify_then_load(copy, manifest=manifest, signature=signature,
                             public_key=key_pair, trusted=trusted)
            refused, reason = False, "loaded"
        except RefusedToLoad as exc:
            refused, reason = True, str(exc.check)
        trials.append(RefusalTrial(domain, case, manifest_ok, refused, reason,
                                   payload_ran(marker)))
    return tuple(trials)


# --- dependencies: pins, lock file, installed files, SBOM -------------------------------------


def repository_pyproject() -> Path:
    """The ``pyproject.toml`` of the checkout the course package was installed from (an
    editable install); ``FileNotFoundError`` when the package does not come from a checkout.

    Introduced in lab 11 (Supply chain).
    """
    path = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if not path.is_file():
        raise FileNotFoundError(f"no pyproject.toml at {path}: mlsec_helpers is not installed "
                                "from a checkout of the course repository")
    return path


def _installed_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def pinned_requirements(pyproject, *, groups: Sequence[str] = ("dependencies",)) -> pd.DataFrame:
    """The requirements of a ``pyproject.toml`` against the installed distributions
    (``importlib.metadata``): one row per requirement with package, group, pin (the specifier),
    exact (an ``==`` pin), installed (the version, or None), matches (the installed version
    satisfies the pin, local labels such as ``+cpu`` allowed as PEP 440 says). ``groups``:
    ``"dependencies"`` and/or names of ``[project.optional-dependencies]``.

    Introduced in lab 11 (Supply chain).
    """
    import tomllib

    from packaging.requirements import Requirement

    path = check_path(pyproject, "pyproject")
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    if isinstance(groups, str) or not isinstance(groups, Sequence) or not groups:
        raise ArgumentTypeError("groups must be a non-empty sequence of names, e.g. "
                                "('dependencies', 'dev')")
    project = tomllib.loads(path.read_text(encoding="utf-8")).get("project", {})
    optional = project.get("optional-dependencies", {})
    rows = []
    for group in groups:
        if group == "dependencies":
            specs = project.get("dependencies", [])
        elif group in optional:
            specs = optional[group]
        else:
            from ..validate import unknown_name

            raise unknown_name(group, ["dependencies", *optional], "requirement group")
        for spec in specs:
            req = Requirement(spec)
            if req.marker is not None and not req.marker.evaluate():
                continue
            installed = _installed_version(req.name)
            exact = len(req.specifier) == 1 and next(iter(req.specifier)).operator == "=="
            rows.append({"package": req.name, "group": group, "pin": str(req.specifier),
                         "exact": exact, "installed": installed,
                         "matches": installed is not None and req.specifier.contains(
                             installed, prereleases=True)})
    return pd.DataFrame(rows, columns=["package", "group", "pin", "exact", "installed",
                                       "matches"])


def _distribution(name: str):
    from importlib import metadata

    name = check_str(name, "package")
    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise ValueError(f"package {name!r} is not installed") from None


def _archive_hash(dist) -> str | None:
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    info = json.loads(text).get("archive_info", {})
    hashes = info.get("hashes") or {}
    if "sha256" in hashes:
        return hashes["sha256"]
    legacy = info.get("hash", "")
    return legacy.split("=", 1)[1] if legacy.startswith("sha256=") else None


def lock_view(packages: Sequence[str], dest) -> LockFile:
    """A lock-file view of the installed ``packages``: for each its version, the tool that
    installed it, the archive's SHA-256 where the environment recorded it offline (PEP 610
    ``direct_url.json``; absent for packages installed from an index: the wheel hashes live in
    the index), and a fingerprint of its RECORD. Writes ``dest/requirements.lock.txt``
    (``name==version``, with ``--hash=sha256:...`` where known). ``dest`` must exist.

    Introduced in lab 11 (Supply chain).
    """
    if isinstance(packages, str) or not isinstance(packages, Sequence) or not packages:
        raise ArgumentTypeError("packages must be a non-empty sequence of names")
    dest = check_path(dest, "dest", kind="dir")
    rows, lines = [], ["# lock-file view of the course environment (offline)"]
    for name in packages:
        dist = _distribution(name)
        record = dist.read_text("RECORD") or ""
        archive = _archive_hash(dist)
        rows.append({"package": dist.metadata["Name"], "version": dist.version,
                     "installer": (dist.read_text("INSTALLER") or "?").strip(),
                     "archive_sha256": archive,
                     "record_files": sum(1 for line in record.splitlines() if line.strip()),
                     "record_sha256": hashlib.sha256(record.encode()).hexdigest()})
        line = f"{dist.metadata['Name']}=={dist.version}"
        lines.append(f"{line} \\\n    --hash=sha256:{archive}" if archive else
                     f"{line}  # no archive hash recorded offline")
    path = dest / "requirements.lock.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    frame = pd.DataFrame(rows)
    return LockFile(path, frame, int(frame["archive_sha256"].notna().sum()))


def verify_installed(package: str) -> RecordCheck:
    """Re-hash an installed distribution's files and compare them with the SHA-256 hashes its
    RECORD lists (what the installer wrote; files listed without a hash, such as RECORD itself
    and compiled ``.pyc`` files, are skipped).

    Introduced in lab 11 (Supply chain).
    """
    import csv

    dist = _distribution(package)
    record = dist.read_text("RECORD")
    if record is None:
        raise ValueError(f"{package!r} has no RECORD: it cannot be checked")
    checked, mismatched, missing = 0, [], []
    for row in csv.reader(record.splitlines()):
        if len(row) < 2 or not row[1].startswith("sha256="):
            continue
        path = Path(dist.locate_file(row[0]))
        if not path.is_file():
            missing.append(row[0])
            continue
        digest = base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest())
        checked += 1
        if digest.rstrip(b"=").decode() != row[1][len("sha256="):]:
            mismatched.append(row[0])
    return RecordCheck(dist.metadata["Name"], dist.version, checked, tuple(mismatched),
                       tuple(missing))


def _strict_validator(spec_version: str):
    from cyclonedx.schema import SchemaVersion, _res
    from jsonschema import FormatChecker
    from jsonschema.validators import Draft7Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT7

    version = SchemaVersion.from_version(spec_version)
    schema_file = _res.BOM_JSON_STRICT.get(version)
    if schema_file is None:
        raise ValueError(f"no strict JSON schema for CycloneDX {spec_version}")

    def resource(path):
        with open(path, encoding="utf-8") as fh:
            return DRAFT7.create_resource(json.load(fh))

    prefix = "http://cyclonedx.org/schema/"
    registry = Registry().with_resources([
        (f"{prefix}spdx.SNAPSHOT.schema.json", resource(_res.SPDX_JSON)),
        (f"{prefix}cryptography-defs.SNAPSHOT.schema.json", resource(_res.CRYPTOGRAPHY_DEFS)),
        (f"{prefix}jsf-0.82.SNAPSHOT.schema.json", resource(_res.JSF)),
    ])
    # The same schemas and registry as cyclonedx's JsonStrictValidator, with one change: its
    # checker tests the "iri-reference" format with rfc3987-syntax's Earley parser, about
    # 70 ms a URL, so `cyclonedx-py environment --validate` took 40 s on the course's 218
    # components (2.5 s with --no-validate). Here an IRI is checked as a URI reference
    # (rfc3986-validator, microseconds) when it is ASCII, and accepted otherwise.
    base = Draft7Validator.FORMAT_CHECKER
    checker = FormatChecker([f for f in base.checkers if f not in ("iri", "iri-reference")])
    for fmt, as_uri in (("iri", "uri"), ("iri-reference", "uri-reference")):
        checker.checks(fmt)(lambda value, as_uri=as_uri: not isinstance(value, str) or (
            not value.isascii() or base.conforms(value, as_uri)))
    with open(schema_file, encoding="utf-8") as fh:
        return Draft7Validator(json.load(fh), registry=registry, format_checker=checker)


def validate_sbom(path) -> tuple[str, ...]:
    """Validate a CycloneDX JSON SBOM against the strict JSON schema of its ``specVersion``,
    bundled with cyclonedx-python-lib (offline). Returns the errors (path: message), empty when
    valid.

    Introduced in lab 11 (Supply chain).
    """
    path = check_path(path, "path")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a readable JSON file: {exc}") from None
    if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
        raise ValueError(f"{path} is not a CycloneDX JSON document (bomFormat missing)")
    validator = _strict_validator(str(doc.get("specVersion")))
    return tuple(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                 for e in validator.iter_errors(doc))


def write_sbom(dest, *, python=None, spec_version: str = "1.6") -> Sbom:
    """Write a CycloneDX SBOM (JSON) of a Python environment with cyclonedx-bom, as
    ``python -m cyclonedx_py environment <python>`` (reproducible output; the tool's own
    validation is skipped, see :func:`validate_sbom`, which then validates the file), into
    ``dest/sbom.cdx.json``. ``python`` is the environment's interpreter (this one by default).
    The tool runs in ``dest`` and writes no bytecode.

    Introduced in lab 11 (Supply chain).
    """
    from importlib import metadata

    dest = check_path(dest, "dest", kind="dir")
    if python is None:
        python = sys.executable
    else:  # not resolved: a virtual environment's interpreter is a link to the base one
        check_path(python, "python")
        python = str(Path(python).expanduser().absolute())
        if not Path(python).exists():
            raise FileNotFoundError(f"no interpreter or environment at {python}")
    spec_version = check_str(spec_version, "spec_version")
    out = dest / "sbom.cdx.json"
    if out.exists():
        raise FileExistsError(f"{out} exists: give write_sbom a new dest")
    command = [sys.executable, "-m", "cyclonedx_py", "environment", "--sv", spec_version,
               "--of", "JSON", "--output-reproducible", "--no-validate", "-o", str(out),
               python]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    start = time.perf_counter()
    done = subprocess.run(command, cwd=dest, env=env, capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - start
    if done.returncode or not out.is_file():
        raise RuntimeError(f"cyclonedx-py failed ({done.returncode}): {done.stderr[-2000:]}")
    start = time.perf_counter()
    errors = validate_sbom(out)
    validate_seconds = time.perf_counter() - start
    doc = json.loads(out.read_text(encoding="utf-8"))
    shown = " ".join(["python", *command[1:-3], out.name, "<python>"])
    return Sbom(out, str(doc.get("specVersion")), len(doc.get("components", [])),
                f"cyclonedx-py {metadata.version('cyclonedx-bom')}", shown, seconds, errors,
                validate_seconds)


def sbom_frame(path) -> pd.DataFrame:
    """The components of a CycloneDX JSON SBOM: one row each with name, version, purl and
    licences (``"; "``-joined SPDX IDs or names), sorted by name.

    Introduced in lab 11 (Supply chain).
    """
    path = check_path(path, "path")
    doc = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for comp in doc.get("components", []):
        licences = []
        for entry in comp.get("licenses", []):
            lic = entry.get("license", {})
            licences.append(lic.get("id") or lic.get("name") or entry.get("expression", "?"))
        rows.append({"name": comp.get("name"), "version": comp.get("version"),
                     "purl": comp.get("purl"), "licences": "; ".join(licences)})
    frame = pd.DataFrame(rows, columns=["name", "version", "purl", "licences"])
    return frame.sort_values("name", key=lambda s: s.str.lower(), ignore_index=True)


# --- the secure development lifecycle, mapped to SAIF and the NIST CSF -------------------------

SDL_CONTROLS: tuple[SdlControl, ...] = (
    SdlControl("dataset provenance: SHA-256 of every dataset", 3, "data_collection", "SAIF-1",
               "ID.AM", "a manifest of shard hashes checked before training, lab 03"),
    SdlControl("poison and outlier detection before training", 3, "data_collection", "SAIF-3",
               "DE.AE", "poison detection rates, lab 03"),
    SdlControl("label audit of annotators' labels", 3, "labelling", "SAIF-2", "DE.AE",
               "flipped labels found by sanitisation, lab 03"),
    SdlControl("fairness metrics and mitigation", 7, "training", "SAIF-6", "ID.RA",
               "group error gaps before and after, lab 07"),
    SdlControl("adversarial training", 2, "training", "SAIF-5", "PR.PS",
               "robust accuracy against the attack, lab 02"),
    SdlControl("differential privacy (DP-SGD)", 5, "training", "SAIF-1", "PR.DS",
               "membership advantage at an epsilon, lab 05"),
    SdlControl("robust and secure aggregation", 9, "training", "SAIF-3", "PR.DS",
               "poisoned updates resisted, lab 09"),
    SdlControl("attributions to find backdoors and shortcuts", 8, "training", "SAIF-2",
               "DE.AE", "trigger found by attribution, lab 08"),
    SdlControl("exact dependency pins and a lock file", 11, "training", "SAIF-4", "PR.PS",
               "every pin matches the installed version; lock-file view"),
    SdlControl("SBOM of the environment (CycloneDX)", 11, "model_artefact", "SAIF-1", "ID.AM",
               "components listed, schema-valid"),
    SdlControl("vulnerability audit of the SBOM's packages", 11, "monitoring", "SAIF-3",
               "GV.SC", "pip-audit command (needs the online advisory database)"),
    SdlControl("safe formats: safetensors, skops with trusted types, ONNX", 11,
               "model_artefact", "SAIF-1", "PR.PS", "payload never runs on a safe path"),
    SdlControl("scanning third-party pickles (picklescan, modelscan, fickling)", 11,
               "model_artefact", "SAIF-3", "GV.SC", "verdicts and misses measured"),
    SdlControl("manifest of SHA-256 hashes and model signature", 11, "model_artefact",
               "SAIF-4", "PR.DS", "every tampering rejected, untouched model verified"),
    SdlControl("encryption of the model at rest", 10, "model_artefact", "SAIF-1", "PR.DS",
               "a stolen file is unreadable without the key, lab 10"),
    SdlControl("verify-then-load at deployment", 11, "serving", "SAIF-4", "PR.PS",
               "tampered copies refused before parsing; same predictions after reload"),
    SdlControl("output hardening (labels, rounding)", 4, "serving", "SAIF-1", "PR.DS",
               "extraction fidelity with and without, lab 04"),
    SdlControl("authentication, authorisation and rate limits", 12, "serving", "SAIF-1",
               "PR.AA", "API abuse blocked (lab 12, planned)"),
    SdlControl("query monitoring for extraction", 4, "monitoring", "SAIF-2", "DE.CM",
               "extraction queries flagged, lab 04"),
    SdlControl("drift and attack detection, alerting", 13, "monitoring", "SAIF-2", "DE.CM",
               "detection delay and false alarms (lab 13, planned)"),
    SdlControl("rollback to the last verified model", 13, "monitoring", "SAIF-5", "RC.RP",
               "restore a signed, verified artefact (lab 13, planned)"),
)
"""The secure development lifecycle for models: each control of the course at its stage
(``frameworks.LIFECYCLE_STAGES``), with the SAIF element and NIST CSF 2.0 category it serves.
Each SAIF element is one of its lab's (``catalogue.LABS``) and each category belongs to one of
its lab's NIST CSF functions (:func:`check_sdl_control`).

Introduced in lab 11 (Supply chain)."""


def check_sdl_control(control: SdlControl) -> SdlControl:
    """``control`` if every identifier in it is one the package knows: its lab
    (``catalogue.get_lab``), its stage (``frameworks.LIFECYCLE_STAGES``), its SAIF element
    (``frameworks.validate_saif_id``, and an element, not a risk) and its NIST CSF category
    (``frameworks.validate_nist_category``); and if it agrees with the catalogue: the SAIF
    element is one of the lab's, and the category's function one of the lab's NIST functions.
    Else ``ValueError``.

    Introduced in lab 11 (Supply chain).
    """
    if not isinstance(control, SdlControl):
        raise ArgumentTypeError(f"control must be an SdlControl, got {type(control).__name__}")
    lab = get_lab(control.lab)
    if control.stage not in frameworks.LIFECYCLE_STAGES:
        from ..validate import unknown_name

        raise unknown_name(control.stage, frameworks.LIFECYCLE_STAGES, "lifecycle stage")
    saif = frameworks.validate_saif_id(control.saif)
    if saif not in frameworks.SAIF_ELEMENTS:
        raise ValueError(f"{control.control!r}: {saif} is a SAIF risk, not a core element")
    category = frameworks.validate_nist_category(control.nist_category)
    if saif != control.saif or category != control.nist_category:
        raise ValueError(f"{control.control!r}: write IDs in their canonical form "
                         f"({saif}, {category})")
    if saif not in lab.saif:
        raise ValueError(f"{control.control!r}: lab {lab.label} covers {', '.join(lab.saif)}, "
                         f"not {saif}")
    if category[:2] not in lab.nist_csf:
        raise ValueError(f"{control.control!r}: lab {lab.label} covers the NIST CSF functions "
                         f"{', '.join(lab.nist_csf)}, not {category[:2]}")
    return control


def sdl_table(controls: Sequence[SdlControl] = SDL_CONTROLS) -> pd.DataFrame:
    """The secure development lifecycle as a table, in lifecycle order: stage, control, lab,
    SAIF element, NIST CSF function and category (each ID with its name), evidence. Every
    control is checked first (:func:`check_sdl_control`).

    Introduced in lab 11 (Supply chain).
    """
    if isinstance(controls, SdlControl) or not isinstance(controls, Sequence) or not controls:
        raise ArgumentTypeError("controls must be a non-empty sequence of SdlControl")
    order = list(frameworks.LIFECYCLE_STAGES)
    rows = []
    for c in sorted(map(check_sdl_control, controls), key=lambda c: order.index(c.stage)):
        function = frameworks.NIST_CSF_FUNCTIONS[c.nist_category[:2]]
        rows.append({
            "stage": frameworks.LIFECYCLE_STAGES[c.stage].name,
            "control": c.control,
            "lab": f"{c.lab:02d} {get_lab(c.lab).title}",
            "SAIF": f"{c.saif} {frameworks.SAIF_ELEMENTS[c.saif].name}",
            "NIST CSF": f"{function.id} {function.name} / {c.nist_category} "
                        f"{frameworks.NIST_CSF_CATEGORIES[c.nist_category].name}",
            "evidence": c.evidence,
        })
    return pd.DataFrame(rows, columns=["stage", "control", "lab", "SAIF", "NIST CSF",
                                       "evidence"])

