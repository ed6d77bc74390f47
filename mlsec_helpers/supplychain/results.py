"""The result dataclasses of lab 11's payloads, scanners, safe formats and signatures.

Each helper that produces more than one thing returns one of these small frozen dataclasses:
the fields are named and documented. Sections follow the lab's order.

Introduced in lab 11 (Supply chain).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..stats import Rate

__all__ = [
    "ScanVerdict",
    "LoadAttempt",
    "EvasionSearch",
    # nlp
    "SkopsLoad",
    # fraud
    "JoblibProbe",
    "ScannerRates",
    # recommender
    "BitFlipEffects",
    "ItemPromotion",
    # medical
    "DiagnosisErrors",
    "OnnxInventory",
    "OnnxParity",
    # integrity (manifests and signatures; every section)
    "KeyPair",
    "ManifestCheck",
    "SignatureCheck",
    "TamperTrial",
    "TamperTrials",
    # lifecycle
    "LockFile",
    "RecordCheck",
    "RefusalTrial",
    "SavedSystem",
    "Sbom",
    "SdlControl",
    "SecureRoundTrip",
]


# --- common (payloads, scanners, hashes) --------------------------------------------------------


@dataclass(frozen=True)
class ScanVerdict:
    """One scanner's verdict on one file, from a real run of the tool.

    Introduced in lab 11 (Supply chain).
    """

    scanner: str
    """The tool: ``"picklescan"``, ``"modelscan"`` or ``"fickling"``."""
    file: str
    """The file's name (not its folder)."""
    flagged: bool
    """The tool's own verdict: True when it reports the file unsafe (its command line would exit
    with the "unsafe" code)."""
    severity: str
    """The tool's own level: picklescan ``dangerous``/``suspicious``/``innocuous``; modelscan the
    highest issue severity, ``none`` or ``not scanned``; fickling its ``Severity`` name."""
    findings: tuple[str, ...]
    """What the tool reported (imports it listed, issues, analysis lines), one string each."""
    seconds: float
    """Wall time of the scan."""
    error: str | None = None
    """The tool's error or parse failure, ``None`` when it ran cleanly."""


# --- image (torch files) ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LoadAttempt:
    """One ``torch.load`` of a file, and whether the payload in it ran.

    Introduced in lab 11 (Supply chain).
    """

    file: str
    """The file's name."""
    weights_only: bool
    """The ``weights_only`` argument of the load (True is torch's default, an allow-list)."""
    loaded: bool
    """True when ``torch.load`` returned; False when it raised."""
    payload_ran: bool
    """True when the marker file appeared during the load."""
    error_type: str | None
    """The exception's class name (``UnpicklingError``) when the load raised."""
    error: str | None
    """The line of the exception's message that gives the reason (the weights-only
    unpickler's "Unsupported ..." line), else its first line."""
    blocked_global: str | None
    """The import the weights-only unpickler refused (``torch.serialization.save``), read from
    its message, when it names one."""
    seconds: float
    """Wall time of the load."""
    value: object = None
    """What ``torch.load`` returned (None when it raised)."""


@dataclass(frozen=True, eq=False)
class EvasionSearch:
    """An adaptive attacker's search for a payload that the scanners let through.

    Introduced in lab 11 (Supply chain).
    """

    table: object
    """A pandas DataFrame, one row per candidate file (via, pickle protocol, file, runs_unsafe);
    then for each scanner its ``<scanner>`` verdict ("flagged (severity)"/"passed (severity)") and
    ``<scanner>_passes`` (the file does not stand out from the clean one), and ``passes_all``."""
    clean: tuple
    """The scanners' verdicts (``ScanVerdict``) on the clean checkpoint: the attacker's
    yardstick."""
    chosen_file: Path | None
    """The first candidate that runs and passes every scanner (None if none does)."""
    chosen_via: str | None
    """Its payload callable (one of ``common.PAYLOAD_VIAS``)."""
    chosen_protocol: int | None
    """Its pickle protocol."""
    evaded: tuple[str, ...]
    """The scanners the chosen file got past (its verdict does not stand out from the clean
    file's), or, without a chosen file, those that some candidate got past."""
    queries: int
    """Scanner runs the attacker spent (candidates x scanners, plus the clean file)."""


# --- nlp (joblib and skops) ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SkopsLoad:
    """One ``skops.io.load`` with a list of trusted types
    (:func:`~mlsec_helpers.supplychain.nlp.skops_load`): loaded, or refused and why.

    Introduced in lab 11 (Supply chain).
    """

    file: str
    """The file's name."""
    loaded: bool
    """True when skops built the object; False when it refused the file."""
    model: object
    """The loaded object (None when refused)."""
    refused_types: tuple[str, ...]
    """The types or functions skops would not load (not trusted by default nor listed)."""
    trusted: tuple[str, ...]
    """The types the caller trusted beyond skops's defaults."""
    error: str | None
    """The first line of skops's refusal (None when loaded)."""
    seconds: float
    """Wall time of the load (or of the refusal)."""


# --- recommender --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemPromotion:
    """One item's factors rewritten in a saved recommender to push it into users' top lists
    (:func:`~mlsec_helpers.supplychain.recommender.promote_item`): what changed in the file.

    Introduced in lab 11 (Supply chain).
    """

    item: int
    """The promoted item's index."""
    values_changed: int
    """How many numbers of the weights file changed (the item's factor and bias)."""
    n_values: int
    """How many numbers the weights file holds."""
    bytes_changed: int
    """How many bytes of the weights file differ (same size: the file is rewritten in place)."""
    file_size: int
    """The weights file's size in bytes (unchanged by the tampering)."""
    in_range: bool
    """True when every new number lies within its column's range in the untampered tensor (a
    range check on the weights sees nothing)."""
    norm_rank: float
    """Share of items whose factor is no longer than the promoted item's new factor."""
    score_gain: float
    """Mean over users of the promoted item's predicted rating, after minus before (stars)."""


@dataclass(frozen=True)
class BitFlipEffects:
    """Single-bit flips in a saved recommender's weights, one per copy
    (:func:`~mlsec_helpers.supplychain.recommender.bit_flip_effects`): does the copy still load,
    do the recommendations change, does the hash notice?

    Introduced in lab 11 (Supply chain).
    """

    loaded: Rate
    """Share of flipped copies that safetensors still loads into a working recommender."""
    lists_changed: Rate
    """Share of flipped copies after which at least one user's top-k list changes."""
    hash_caught: Rate
    """Share of flipped copies whose SHA-256 differs from the original's."""
    offsets: np.ndarray
    """Byte offset of each flip (within the tensor data)."""
    bits: np.ndarray
    """Bit index (0-7) of each flip."""
    tensors: tuple[str, ...]
    """The tensor each flip landed in."""


# --- fraud --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScannerRates:
    """One scanner on the joblib probe's files (:func:`~mlsec_helpers.supplychain.fraud.
    joblib_scanner_probe`): its verdicts on the three shown trojans, and its rates.

    Introduced in lab 11 (Supply chain).
    """

    scanner: str
    """The tool (one of ``common.SCANNERS``)."""
    flags_plain: bool
    """It flags the plain trojan (payload before the numpy buffers, uncompressed)."""
    flags_after_buffers: bool
    """It flags the trojan whose payload sits after the numpy buffers."""
    flags_compressed: bool
    """It flags the zlib-compressed trojan."""
    missed_adaptive: Rate
    """Share of the adaptive trojans (after the buffers, or compressed) it does not flag."""
    false_alarms: Rate
    """Share of the clean files (uncompressed and compressed) it flags."""
    fail_closed_false_alarms: Rate
    """Share of the clean files it flags or fails to parse: what a pipeline that rejects on
    any scanner error would reject."""


@dataclass(frozen=True, eq=False)
class JoblibProbe:
    """The scanners on clean and trojaned joblib files of one model
    (:func:`~mlsec_helpers.supplychain.fraud.joblib_scanner_probe`).

    Introduced in lab 11 (Supply chain).
    """

    variants: object
    """A pandas DataFrame, one row per file: label, malicious, placement (before/after the
    buffers), compressor, shown (in the lab's five-row table), adaptive, path,
    runs_when_loaded (the marker appeared when ``joblib.load`` read it)."""
    table: object
    """``common.scan_table`` of every file: one row per (file, scanner), real runs."""
    matrix: object
    """``common.scan_matrix`` of the five shown files (file x scanner verdicts)."""
    rates: dict
    """Scanner name -> :class:`ScannerRates`."""
    evaded: tuple[str, ...]
    """The scanners that let every adaptive trojan through."""
    queries: int
    """Scanner runs spent (files x scanners)."""


# --- medical ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnnxParity:
    """A scikit-learn model and its ONNX export run on the same inputs
    (:func:`~mlsec_helpers.supplychain.medical.onnx_parity`).

    Introduced in lab 11 (Supply chain).
    """

    max_abs_diff: float
    """Largest absolute difference between the two models' class probabilities."""
    labels_agree: Rate
    """Share of inputs on which the predicted labels agree, with its Wilson interval."""
    n: int
    """How many inputs were compared."""


@dataclass(frozen=True)
class OnnxInventory:
    """What an ONNX file holds, read with ``onnx`` without running it
    (:func:`~mlsec_helpers.supplychain.medical.onnx_inventory`).

    Introduced in lab 11 (Supply chain).
    """

    operators: tuple[str, ...]
    """The graph's operators as ``domain:op_type`` (``ai.onnx`` for the default domain), in
    graph order."""
    opsets: dict
    """Operator-set version imported per domain."""
    custom_domains: tuple[str, ...]
    """Domains outside ``ai.onnx`` and ``ai.onnx.ml``: running them needs a custom-operator
    library, that is, native code (empty for a plain model)."""
    functions: int
    """How many model-local functions the file defines."""
    external_data: tuple[str, ...]
    """Files outside the model that its tensors point to (empty: all weights are inside)."""
    checker_ok: bool
    """True when ``onnx.checker.check_model`` accepts the file."""
    is_pickle: bool
    """True when the file's bytes parse as a pickle
    (:func:`~mlsec_helpers.supplychain.medical.contains_pickle`)."""
    producer: str
    """The converter that wrote the file, with its version."""


@dataclass(frozen=True)
class DiagnosisErrors:
    """The errors of a malignant / benign classifier on labelled patients
    (:func:`~mlsec_helpers.supplychain.medical.diagnosis_errors`).

    Introduced in lab 11 (Supply chain).
    """

    missed: Rate
    """Share of malignant cases classified benign (false negatives), Wilson interval."""
    false_alarms: Rate
    """Share of benign cases classified malignant (false positives), Wilson interval."""
    accuracy: Rate
    """Share of all cases classified correctly, Wilson interval."""


# --- integrity (manifests and signatures; used by every section) --------------------------------


@dataclass(frozen=True)
class ManifestCheck:
    """A folder checked against a manifest of SHA-256 hashes
    (:func:`~mlsec_helpers.supplychain.integrity.check_manifest`).

    Introduced in lab 11 (Supply chain).
    """

    ok: bool
    """True when the folder holds exactly the manifest's files, each with its hash and size."""
    missing: tuple[str, ...]
    """Files the manifest lists that the folder lacks (relative POSIX paths, sorted)."""
    added: tuple[str, ...]
    """Files in the folder that the manifest does not list."""
    changed: tuple[str, ...]
    """Files present in both whose size or SHA-256 differs."""
    n_files: int
    """How many files the manifest lists."""

    def __str__(self) -> str:
        if self.ok:
            return f"manifest verified: {self.n_files} files match"
        parts = [f"{what}: {', '.join(names)}" for what, names in (
            ("missing", self.missing), ("added", self.added), ("changed", self.changed)) if names]
        return "manifest check FAILED (" + "; ".join(parts) + ")"


@dataclass(frozen=True)
class KeyPair:
    """An elliptic-curve (NIST P-256) key pair written as PEM files
    (:func:`~mlsec_helpers.supplychain.integrity.make_key_pair`).

    Introduced in lab 11 (Supply chain).
    """

    private_key: Path
    """The private key (PKCS #8 PEM, unencrypted, owner-only permissions): keep it secret."""
    public_key: Path
    """The public key (SubjectPublicKeyInfo PEM): publish it with the model."""
    fingerprint: str
    """SHA-256 of the public key's PEM bytes, the key hint model-signing writes in a signature."""


@dataclass(frozen=True)
class SignatureCheck:
    """A model's signature verified with a public key
    (:func:`~mlsec_helpers.supplychain.integrity.verify_signature`).

    Introduced in lab 11 (Supply chain).
    """

    ok: bool
    """True when the signature is valid for this key and the files match what was signed."""
    reason: str | None
    """Why verification failed, in a few words (``None`` when it passed)."""
    error: str | None
    """The verifier's own error message (``None`` when it passed)."""
    seconds: float
    """Wall time of the verification (hashing included)."""

    def __str__(self) -> str:
        return "signature verified" if self.ok else f"signature REJECTED: {self.reason}"


@dataclass(frozen=True)
class TamperTrial:
    """One case of :func:`~mlsec_helpers.supplychain.integrity.tamper_trials`: what was done to
    a copy of a signed model, and what the manifest and the signature said.

    Introduced in lab 11 (Supply chain).
    """

    case: str
    """Short name of the case (``"untouched"``, ``"flipped bit"``, ``"added file"``, ...)."""
    change: str
    """What was changed, in words (which file, which byte and bit, which key)."""
    should_pass: bool
    """True only for the untouched model: every other case is a tampering."""
    manifest: ManifestCheck
    """The copy checked against the manifest (a manifest cannot tell who made it: it passes
    a wrong key)."""
    signature: SignatureCheck
    """The copy's signature verified with the trusted public key."""

    @property
    def caught(self) -> bool:
        """True when the signature check rejected the case."""
        return not self.signature.ok


@dataclass(frozen=True)
class TamperTrials:
    """A signed model and its tampered copies, each checked by manifest and signature
    (:func:`~mlsec_helpers.supplychain.integrity.tamper_trials`).

    Introduced in lab 11 (Supply chain).
    """

    trials: tuple[TamperTrial, ...]
    """The cases, the untouched model first."""

    @property
    def untouched_passed(self) -> bool:
        """True when every case that should pass (the untouched model) passed both checks."""
        return all(t.signature.ok and t.manifest.ok for t in self.trials if t.should_pass)

    @property
    def n_tampered(self) -> int:
        """How many cases are tamperings."""
        return sum(not t.should_pass for t in self.trials)

    @property
    def caught(self) -> float:
        """Share of the tamperings that the signature check rejected."""
        tampered = [t for t in self.trials if not t.should_pass]
        return sum(t.caught for t in tampered) / len(tampered) if tampered else float("nan")

    def frame(self):
        """One row per case: the change, the manifest's and the signature's verdicts."""
        import pandas as pd

        return pd.DataFrame([{
            "case": t.case, "change": t.change,
            "expected": "pass" if t.should_pass else "reject",
            "manifest": "pass" if t.manifest.ok else "FAIL: " + str(t.manifest).split("(", 1)[-1]
            .rstrip(")"),
            "signature": "pass" if t.signature.ok else f"REJECTED: {t.signature.reason}",
        } for t in self.trials])


# --- the lifecycle (all five systems, SBOM, lock file) ------------------------------------------


@dataclass(frozen=True)
class SavedSystem:
    """A reference system written in a safe format
    (:func:`~mlsec_helpers.supplychain.lifecycle.save_system`).

    Introduced in lab 11 (Supply chain).
    """

    domain: str
    """The system's domain (``"image"``, ..., ``"medical"``)."""
    format: str
    """The safe format of its weights: ``"safetensors"`` or ``"skops"``."""
    folder: Path
    """The folder holding its files."""
    files: tuple[str, ...]
    """The files written (names relative to ``folder``, sorted)."""
    bytes: int
    """Their total size."""
    seconds: float
    """Wall time of the save."""


@dataclass(frozen=True, eq=False)
class SecureRoundTrip:
    """A system saved safely, hashed, signed, verified and reloaded, and whether the reloaded
    system answers as the original (:func:`~mlsec_helpers.supplychain.lifecycle.secure_round_trip`).

    Introduced in lab 11 (Supply chain).
    """

    saved: SavedSystem
    """What was written."""
    manifest: Path
    """The manifest of SHA-256 hashes (JSON, next to the folder)."""
    signature: Path
    """The model-signing bundle (JSON, next to the folder)."""
    sign_seconds: float
    """Wall time of the signature (hashing included)."""
    verify_seconds: float
    """Wall time of a verification alone (manifest and signature, hashing included)."""
    verify_load_seconds: float
    """Wall time of ``verify_then_load``: the same verification, then parsing the files."""
    same: np.ndarray
    """One bool per evaluation input: the reloaded system's output is bit-for-bit the
    original's (a row of probabilities, or a predicted rating)."""
    system: object
    """The reloaded system."""

    @property
    def same_share(self) -> float:
        """Share of evaluation inputs answered identically."""
        return float(np.mean(self.same)) if self.same.size else float("nan")


@dataclass(frozen=True)
class RefusalTrial:
    """One tampered copy of a signed system offered to
    :func:`~mlsec_helpers.supplychain.lifecycle.verify_then_load`
    (:func:`~mlsec_helpers.supplychain.lifecycle.refusal_trials`).

    Introduced in lab 11 (Supply chain).
    """

    domain: str
    """The system's domain."""
    case: str
    """The tampering (``"flipped bit"``, ``"pickle added"``, ...)."""
    manifest_ok: bool
    """True when the copy passed the manifest check alone (the attacker rewrote it)."""
    refused: bool
    """True when ``verify_then_load`` refused to load the copy."""
    reason: str
    """Why it refused (or ``"loaded"``)."""
    payload_ran: bool
    """True when the marker of a planted pickle payload appeared (must stay False)."""


@dataclass(frozen=True, eq=False)
class LockFile:
    """A lock-file view of installed packages
    (:func:`~mlsec_helpers.supplychain.lifecycle.lock_view`).

    Introduced in lab 11 (Supply chain).
    """

    path: Path
    """The requirements-style lock file written (``name==version`` lines, hashes where known)."""
    frame: object
    """A pandas DataFrame, one row per package: package, version, installer, archive_sha256
    (the hash ``pip install --require-hashes`` would check, when recorded offline),
    record_files (files listed in the package's RECORD) and record_sha256."""
    hashed: int
    """How many packages have an archive hash known offline."""


@dataclass(frozen=True)
class RecordCheck:
    """An installed package's files checked against the SHA-256 hashes of its RECORD
    (:func:`~mlsec_helpers.supplychain.lifecycle.verify_installed`).

    Introduced in lab 11 (Supply chain).
    """

    package: str
    """The distribution's name."""
    version: str
    """Its installed version."""
    checked: int
    """Files whose hash RECORD lists and that were re-hashed."""
    mismatched: tuple[str, ...]
    """Files whose bytes no longer match RECORD."""
    missing: tuple[str, ...]
    """Files RECORD lists that are gone."""

    @property
    def ok(self) -> bool:
        """True when every checked file is present and matches."""
        return not (self.mismatched or self.missing)


@dataclass(frozen=True)
class Sbom:
    """A CycloneDX SBOM of a Python environment written by cyclonedx-bom
    (:func:`~mlsec_helpers.supplychain.lifecycle.write_sbom`).

    Introduced in lab 11 (Supply chain).
    """

    path: Path
    """The SBOM (CycloneDX JSON)."""
    spec_version: str
    """The CycloneDX specification version (``"1.6"``)."""
    components: int
    """How many components (installed distributions) it lists."""
    tool: str
    """The generator and its version (``"cyclonedx-py 7.5.0"``)."""
    command: str
    """The command that wrote it."""
    seconds: float
    """Wall time of the generator."""
    errors: tuple[str, ...]
    """Schema-validation errors (strict CycloneDX JSON schema), empty when valid."""
    validate_seconds: float
    """Wall time of the validation."""

    @property
    def valid(self) -> bool:
        """True when the SBOM validated against the schema."""
        return not self.errors


@dataclass(frozen=True)
class SdlControl:
    """One control of the secure development lifecycle for models, where it sits and what it
    serves (:data:`~mlsec_helpers.supplychain.lifecycle.SDL_CONTROLS`).

    Introduced in lab 11 (Supply chain).
    """

    control: str
    """The control, in a few words."""
    lab: int
    """The lab that shows it."""
    stage: str
    """Its stage: an ID of ``frameworks.LIFECYCLE_STAGES`` (``"model_artefact"``, ...)."""
    saif: str
    """The SAIF core element it serves (``"SAIF-1"``..``"SAIF-6"``)."""
    nist_category: str
    """The NIST CSF 2.0 category it serves (``"PR.DS"``, ...)."""
    evidence: str
    """What the lab measures or shows for it."""
