"""Integrity and provenance of a saved model: a manifest of SHA-256 hashes, and a signature.

A **manifest** lists every file of a model folder (relative path, size, SHA-256): checked
against it, a folder reports the files that are missing, added or changed. A manifest says
nothing about who wrote it: an attacker who can change the model can usually rewrite the
manifest stored next to it. A **signature** closes that: the `model-signing` package (OpenSSF,
Sigstore project) hashes the folder into the same kind of manifest and signs it with a private
key; whoever holds the matching public key can verify that the files are those the key's owner
signed. The lab signs offline with an elliptic-curve key pair generated here with
`cryptography` (:func:`make_key_pair`), never with Sigstore's keyless (OIDC, network) flow.

What the file holds:

- manifests: :func:`build_manifest`, :func:`write_manifest`, :func:`read_manifest`,
  :func:`check_manifest`;
- signatures: :func:`make_key_pair`, :func:`sign_model`, :func:`verify_signature`
  (:class:`SignatureError` when asked to raise);
- tamperings: :func:`flip_bit`, :func:`forge_key_hint`, :func:`tamper_trials` (the flipped
  bit, the added file and the wrong key, each caught or not) and :func:`adaptive_trials` (an
  attacker who knows the checks: rewrites the manifest, re-signs, forges the key hint, edits
  the signed statement).

Every function takes the files and folders it reads and writes as arguments: nothing is
written anywhere else (model-signing and cryptography write no cache).

Introduced in lab 11 (Supply chain).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np

from ..validate import ArgumentTypeError, check_int, check_path, check_seed, check_str
from .common import sha256_file
from .results import KeyPair, ManifestCheck, SignatureCheck, TamperTrial, TamperTrials

__all__ = [
    "MANIFEST_ALGORITHM",
    "SignatureError",
    "adaptive_trials",
    "build_manifest",
    "check_manifest",
    "flip_bit",
    "forge_key_hint",
    "make_key_pair",
    "read_manifest",
    "sign_model",
    "tamper_trials",
    "verify_signature",
    "write_manifest",
]

MANIFEST_ALGORITHM = "sha256"
"""The hash of the lab's manifests (and of its signatures' manifests).

Introduced in lab 11 (Supply chain)."""


class SignatureError(ValueError):
    """A model's signature did not verify (:func:`verify_signature` with ``raise_error=True``).

    Introduced in lab 11 (Supply chain).
    """


# --- paths --------------------------------------------------------------------------------------






def _outside(path: Path, model: Path, name: str) -> Path:
    """Refuse an output file inside the model folder: it would become part of the model."""
    if path == model or (model.is_dir() and model in path.parents):
        raise ValueError(f"{name} {path} lies inside the model folder {model}: it would count as "
                         "an added file; write it next to the folder instead")
    return path


def _files(model: Path) -> list[tuple[str, Path]]:
    """Every regular file of a model (a folder or one file), as (relative POSIX path, path)."""
    if model.is_file():
        return [(model.name, model)]
    out = []
    for root, dirs, names in os.walk(model, followlinks=False):
        dirs.sort()
        for name in [*sorted(names), *[d for d in dirs if (Path(root) / d).is_symlink()]]:
            path = Path(root) / name
            if path.is_symlink():
                raise ValueError(f"{path} is a symbolic link: a manifest covers regular files "
                                 "only (a link could point anywhere)")
            out.append((path.relative_to(model).as_posix(), path))
    return sorted(out)


# --- manifests ----------------------------------------------------------------------------------


def build_manifest(model) -> dict[str, dict[str, object]]:
    """The manifest of a model folder (or of one model file): for every file, hidden ones
    included, its path relative to the folder (POSIX), its size in bytes and its SHA-256
    (:func:`~mlsec_helpers.supplychain.common.sha256_file`), sorted by path. Symbolic links are
    refused.

    Introduced in lab 11 (Supply chain).
    """
    model = check_path(model, "model", kind="exists")
    return {rel: {"size": path.stat().st_size, MANIFEST_ALGORITHM: sha256_file(path)}
            for rel, path in _files(model)}


def write_manifest(model, manifest_path) -> dict[str, dict[str, object]]:
    """Build the manifest of ``model`` (:func:`build_manifest`) and write it as JSON to
    ``manifest_path``, which must lie outside the model folder. Returns the manifest.

    Introduced in lab 11 (Supply chain).
    """
    model = check_path(model, "model", kind="exists")
    manifest_path = _outside(check_path(manifest_path, "manifest_path"), model, "manifest_path")
    manifest = build_manifest(model)
    manifest_path.write_text(json.dumps({"algorithm": MANIFEST_ALGORITHM, "files": manifest},
                                        indent=1) + "\n", encoding="utf-8")
    return manifest


def _check_manifest_dict(manifest) -> dict[str, dict[str, object]]:
    if not isinstance(manifest, dict):
        raise ArgumentTypeError(f"manifest must be a dict (build_manifest) or a path to a JSON "
                                f"manifest (write_manifest), got {type(manifest).__name__}")
    for rel, entry in manifest.items():
        if (not isinstance(rel, str) or not isinstance(entry, dict)
                or not isinstance(entry.get(MANIFEST_ALGORITHM), str)
                or not isinstance(entry.get("size"), int)):
            raise ValueError(f"manifest entry {rel!r} must be {{'size': int, "
                             f"'{MANIFEST_ALGORITHM}': hex str}}, got {entry!r}")
    return manifest


def read_manifest(manifest_path) -> dict[str, dict[str, object]]:
    """The manifest written by :func:`write_manifest` at ``manifest_path`` (checked).

    Introduced in lab 11 (Supply chain).
    """
    path = check_path(manifest_path, "manifest_path", kind="exists")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a JSON manifest: {exc}") from None
    if not isinstance(doc, dict) or doc.get("algorithm") != MANIFEST_ALGORITHM or (
            "files" not in doc):
        raise ValueError(f"{path} is not a manifest of write_manifest (expected keys "
                         f"'algorithm' = {MANIFEST_ALGORITHM!r} and 'files')")
    return _check_manifest_dict(doc["files"])


def check_manifest(model, manifest) -> ManifestCheck:
    """Check a model folder (or file) against ``manifest`` (a dict from :func:`build_manifest`
    or the path of a JSON file from :func:`write_manifest`): which files are missing, added or
    changed (size or SHA-256).

    Introduced in lab 11 (Supply chain).
    """
    model = check_path(model, "model", kind="exists")
    expected = (_check_manifest_dict(manifest) if isinstance(manifest, dict)
                else read_manifest(manifest))
    found = build_manifest(model)
    missing = tuple(sorted(set(expected) - set(found)))
    added = tuple(sorted(set(found) - set(expected)))
    changed = tuple(sorted(rel for rel in set(expected) & set(found)
                           if expected[rel] != found[rel]))
    return ManifestCheck(not (missing or added or changed), missing, added, changed,
                         len(expected))


# --- keys and signatures ------------------------------------------------------------------------


def _fingerprint(public_pem: bytes) -> str:
    # model-signing's key hint: SHA-256 of the public key's PEM bytes (sign_ec_key.py)
    return hashlib.sha256(public_pem).hexdigest()


def make_key_pair(folder, *, name: str = "signer") -> KeyPair:
    """Generate an elliptic-curve (NIST P-256) key pair with `cryptography` and write it into
    ``folder`` (created if needed) as ``<name>.key`` (private, PKCS #8 PEM, unencrypted,
    owner-only permissions) and ``<name>.pub`` (public, PEM). Existing files are not
    overwritten (``FileExistsError``). The key comes from the operating system's random source:
    a signature is not reproducible, its verification is.

    Introduced in lab 11 (Supply chain).
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    folder = check_path(folder, "folder")
    name = check_str(name, "name")
    if Path(name).name != name or name.startswith("."):
        raise ValueError(f"name must be a plain file name stem, got {name!r}")
    private_path, public_path = folder / f"{name}.key", folder / f"{name}.pub"
    for path in (private_path, public_path):
        if path.exists():
            raise FileExistsError(f"{path} exists: pick another name (keys are never "
                                  "overwritten)")
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    public_path.write_bytes(public_pem)
    return KeyPair(private_path, public_path, _fingerprint(public_pem))


def _key_path(key, which: str) -> Path:
    if isinstance(key, KeyPair):
        return key.private_key if which == "private" else key.public_key
    return check_path(key, f"{which}_key", kind="exists")


def _hashing_config():
    from model_signing import hashing

    # every file counts: model-signing ignores .git, .gitattributes, .github and .gitignore by
    # default; one worker (the course runs on one thread; the models are small)
    return hashing.Config().use_file_serialization(
        hashing_algorithm=MANIFEST_ALGORITHM, max_workers=1).set_ignored_paths(
        paths=[], ignore_git_paths=False)


def sign_model(model, private_key, signature_path) -> Path:
    """Sign a model folder (or file) with model-signing's elliptic-curve key signer
    (``model_signing.signing.Config().use_elliptic_key_signer``): it hashes every file
    (SHA-256, git files included), signs the manifest as an in-toto statement and writes a
    Sigstore bundle (JSON) to ``signature_path``, outside the model folder. ``private_key`` is
    a :class:`~mlsec_helpers.supplychain.results.KeyPair` or the path of a PEM private key. No
    network: no Sigstore, no transparency log. Returns ``signature_path``.

    Introduced in lab 11 (Supply chain).
    """
    from model_signing import signing

    model = check_path(model, "model", kind="exists")
    signature_path = _outside(check_path(signature_path, "signature_path"), model, "signature_path")
    config = signing.Config().use_elliptic_key_signer(private_key=_key_path(private_key,
                                                                            "private"))
    config.set_hashing_config(_hashing_config()).sign(model, signature_path)
    return signature_path


def _shorten(text: str, limit: int = 300) -> str:
    """The verifier's message with its hex digests cut to 12 digits, at most ``limit`` long."""
    text = re.sub(r"\b([0-9a-f]{12})[0-9a-f]{52}\b", r"\1...", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _files_differ(model: Path, signature_path: Path) -> str:
    """Which files differ from the manifest signed in the bundle, in a few words (read from the
    bundle's statement, not parsed from the verifier's message, which holds raw digests)."""
    try:
        bundle = json.loads(signature_path.read_text(encoding="utf-8"))
        statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
        signed = {r["name"]: r["digest"] for r in statement["predicate"]["resources"]}
    except (KeyError, TypeError, ValueError):
        return "the signed manifest is unreadable"
    if model.is_file() and list(signed) == ["."]:  # model-signing names a lone file "."
        signed = {model.name: signed["."]}
    found = {rel: entry[MANIFEST_ALGORITHM] for rel, entry in build_manifest(model).items()}
    parts = [f"{what} {', '.join(names)}" for what, names in (
        ("changed", sorted(r for r in set(signed) & set(found) if signed[r] != found[r])),
        ("added", sorted(set(found) - set(signed))),
        ("missing", sorted(set(signed) - set(found)))) if names]
    return "; ".join(parts) or "the manifests differ"


def verify_signature(model, public_key, signature_path, *,
                     raise_error: bool = False) -> SignatureCheck:
    """Verify a model folder (or file) against its signature with model-signing's
    elliptic-curve key verifier (``model_signing.verifying.Config().use_elliptic_key_verifier``):
    the bundle must name this public key, its signature over the statement must be valid for
    that key, and the files must match the signed manifest exactly (no file missing, added or
    changed, with the hashing settings of :func:`sign_model`: SHA-256, every file).
    ``public_key`` is a :class:`~mlsec_helpers.supplychain.results.KeyPair` or the path of a
    PEM public key. Returns a
    :class:`~mlsec_helpers.supplychain.results.SignatureCheck`; with ``raise_error=True`` a
    failure raises :class:`SignatureError` instead.

    Introduced in lab 11 (Supply chain).
    """
    from cryptography.exceptions import InvalidSignature
    from model_signing import verifying

    model = check_path(model, "model", kind="exists")
    public = _key_path(public_key, "public")
    signature_path = check_path(signature_path, "signature_path", kind="exists")
    if not isinstance(raise_error, bool):
        raise ArgumentTypeError(f"raise_error must be a bool, got {raise_error!r}")
    start = time.perf_counter()
    reason = error = None
    try:
        # the hashing configuration is set, not guessed from the bundle: model-signing 1.1.1
        # guesses it with hashing.Config(), whose ignore_git_paths defaults to True, so a
        # folder signed with git files included fails with "Missing files ... .gitattributes"
        # (verifying.Config().use_elliptic_key_verifier(public_key=k).verify(folder, sig))
        verifying.Config().use_elliptic_key_verifier(public_key=public).set_hashing_config(
            _hashing_config()).verify(model, signature_path)
    except InvalidSignature:
        reason = ("invalid signature: the signed statement was not signed by this key "
                  "(edited or re-signed)")
        error = "cryptography.exceptions.InvalidSignature"
    except ValueError as exc:
        error = _shorten(str(exc))
        if error.startswith("Key mismatch"):
            reason = "wrong key: the signature was made with another key pair"
        elif error.startswith("Signature mismatch"):
            reason = ("the files differ from the signed manifest ("
                      + _files_differ(model, signature_path) + ")")
        else:
            reason = f"unreadable or invalid signature ({error})"
    except Exception as exc:  # a malformed bundle fails in the JSON / protobuf parsers
        error = f"{type(exc).__name__}: {_shorten(str(exc))}"
        reason = f"unreadable signature file ({error})"
    check = SignatureCheck(reason is None, reason, error, time.perf_counter() - start)
    if raise_error and not check.ok:
        raise SignatureError(f"the signature of {model} did not verify with {public.name}: "
                             f"{check.reason}")
    return check


# --- tamperings ---------------------------------------------------------------------------------


def flip_bit(path, *, seed: int = 0, start: int = 0, end: int | None = None) -> tuple[int, int]:
    """Flip one bit of the file at ``path``, in place: a byte drawn uniformly from
    ``[start, end)`` (the whole file by default) and a bit of it drawn uniformly, both from
    ``numpy.random.default_rng(seed)``. Returns ``(byte offset, bit index)``.

    Introduced in lab 11 (Supply chain).
    """
    path = check_path(path, "path", kind="exists")
    if not path.is_file():
        raise ValueError(f"path must be a file, got the folder {path}")
    size = path.stat().st_size
    end = size if end is None else end
    start = check_int(start, "start", minimum=0)
    end = check_int(end, "end", minimum=start + 1, maximum=size)
    rng = np.random.default_rng(check_seed(seed))
    offset, bit = int(rng.integers(start, end)), int(rng.integers(8))
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)[0]
        fh.seek(offset)
        fh.write(bytes([byte ^ (1 << bit)]))
    return offset, bit


def forge_key_hint(signature_path, public_key, dest) -> Path:
    """An attacker's edit of a signature bundle: copy it to ``dest`` with its key hint (the
    fingerprint of the key it claims to be signed by) replaced by that of ``public_key`` (the
    publisher's key, which is public). The signature bytes are untouched. Returns ``dest``.

    Introduced in lab 11 (Supply chain).
    """
    src = check_path(signature_path, "signature_path", kind="exists")
    dest = check_path(dest, "dest")
    bundle = json.loads(src.read_text(encoding="utf-8"))
    try:
        bundle["verificationMaterial"]["publicKey"]["hint"] = _fingerprint(
            _key_path(public_key, "public").read_bytes())
    except (KeyError, TypeError):
        raise ValueError(f"{src} is not a key-signed model-signing bundle") from None
    dest.write_text(json.dumps(bundle), encoding="utf-8")
    return dest


def _edit_statement(signature_path: Path, model: Path, dest: Path) -> Path:
    """An attacker's edit of a bundle's signed statement: each resource digest of the in-toto
    statement inside it is replaced by that file's hash in ``model`` (the tampered files); the
    signature bytes are kept."""
    bundle = json.loads(signature_path.read_text(encoding="utf-8"))
    envelope = bundle["dsseEnvelope"]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    found = build_manifest(model)
    for resource in statement["predicate"]["resources"]:
        if resource["name"] in found:
            resource["digest"] = found[resource["name"]][MANIFEST_ALGORITHM]
    envelope["payload"] = base64.b64encode(json.dumps(statement, indent=2).encode()).decode()
    dest.write_text(json.dumps(bundle), encoding="utf-8")
    return dest


def _copy(model: Path, dest: Path) -> Path:
    if dest.exists():
        raise FileExistsError(f"{dest} exists: give tamper_trials an empty workdir")
    if model.is_dir():
        shutil.copytree(model, dest, symlinks=True)
        return dest
    dest.mkdir(parents=True)
    shutil.copy2(model, dest / model.name)
    return dest / model.name


def _target(model: Path, target: str | None) -> tuple[str, Path]:
    files = _files(model)
    if not files:
        raise ValueError(f"{model} holds no file to tamper with")
    if target is None:  # the largest file: the weights
        return max(files, key=lambda f: (f[1].stat().st_size, f[0]))
    for rel, path in files:
        if rel == target:
            return rel, path
    raise ValueError(f"target {target!r} is not a file of the model; files: "
                     f"{', '.join(r for r, _ in files)}")


def _prepare(model, manifest, key_pair, signature_path, workdir):
    model = check_path(model, "model", kind="exists")
    if not isinstance(key_pair, KeyPair):
        raise ArgumentTypeError(f"key_pair must be the publisher's KeyPair (make_key_pair), got "
                                f"{type(key_pair).__name__}")
    manifest = (_check_manifest_dict(manifest) if isinstance(manifest, dict)
                else read_manifest(manifest))
    signature_path = check_path(signature_path, "signature_path", kind="exists")
    workdir = _outside(check_path(workdir, "workdir"), model, "workdir")
    workdir.mkdir(parents=True, exist_ok=True)
    return model, manifest, signature_path, workdir


def tamper_trials(model, *, manifest, key_pair: KeyPair, signature_path, workdir,
                  seed: int = 0, target: str | None = None,
                  byte_range: tuple[int, int] | None = None) -> TamperTrials:
    """The acceptance test of a signed model: copies of ``model`` in ``workdir`` (an empty or
    new folder outside the model), each checked against ``manifest`` and verified with
    ``key_pair``'s public key (:func:`verify_signature`):

    - ``untouched``: an exact copy, which must pass both checks;
    - ``flipped bit``: one bit flipped (:func:`flip_bit` with ``seed``) in ``target`` (a
      relative path; the largest file by default) within ``byte_range`` (the whole file by
      default);
    - ``added file``: a new file ``notes.txt`` next to the model's files (for a one-file
      model, ``added bytes``: 16 bytes appended to it);
    - ``wrong key``: the untouched copy signed with another key pair (made in ``workdir``),
      checked with the publisher's public key.

    Introduced in lab 11 (Supply chain).
    """
    model, manifest, signature_path, workdir = _prepare(model, manifest, key_pair,
                                                        signature_path, workdir)
    seed = check_seed(seed)
    rel, _ = _target(model, target)
    trials = []

    def check(case, change, should_pass, copy, signature):
        trials.append(TamperTrial(case, change, should_pass, check_manifest(copy, manifest),
                                  verify_signature(copy, key_pair, signature)))

    copy = _copy(model, workdir / "untouched")
    check("untouched", "none (an exact copy)", True, copy, signature_path)

    copy = _copy(model, workdir / "flipped_bit")
    path = copy if copy.is_file() else copy / rel
    start, end = (0, None) if byte_range is None else byte_range
    offset, bit = flip_bit(path, seed=seed, start=start, end=end)
    check("flipped bit", f"bit {bit} of byte {offset} of {rel}", False, copy, signature_path)

    copy = _copy(model, workdir / "added_file")
    if copy.is_dir():
        (copy / "notes.txt").write_text("an extra file\n", encoding="utf-8")
        check("added file", "notes.txt added", False, copy, signature_path)
    else:  # a one-file model has no folder to add to: the addition goes at the file's end
        with open(copy, "ab") as fh:
            fh.write(b"an extra record\n")
        check("added bytes", f"16 bytes appended to {copy.name}", False, copy, signature_path)

    copy = _copy(model, workdir / "wrong_key")
    other = make_key_pair(workdir, name="other_signer")
    signature = sign_model(copy, other, workdir / "wrong_key.sig")
    check("wrong key", "signed with another key pair, verified with the publisher's key",
          False, copy, signature)
    return TamperTrials(tuple(trials))


def adaptive_trials(model, tampered, *, manifest, key_pair: KeyPair, signature_path,
                    workdir) -> TamperTrials:
    """An attacker who knows the checks and has changed ``model`` into ``tampered`` (a folder
    or file of the same layout: a subtle edit of the weights, say) tries to make the change
    pass. Each case works on a copy of ``tampered`` in ``workdir``:

    - ``rewritten manifest``: the attacker also rewrites the manifest stored with the model
      (the copy is checked against the attacker's manifest: it passes) and keeps the
      publisher's signature;
    - ``re-signed``: the attacker signs the tampered model with their own key pair;
    - ``re-signed, key hint forged``: the same, with the bundle's key hint set to the
      publisher's key (:func:`forge_key_hint`);
    - ``signed statement edited``: the manifest inside the publisher's bundle is replaced by
      the tampered model's; the publisher's signature bytes are kept.

    Every case is verified with ``key_pair``'s public key. The first case's manifest check uses
    the attacker's manifest; the others use ``manifest`` (the publisher's).

    Introduced in lab 11 (Supply chain).
    """
    model, manifest, signature_path, workdir = _prepare(model, manifest, key_pair,
                                                        signature_path, workdir)
    tampered = check_path(tampered, "tampered", kind="exists")
    if tampered.is_dir() != model.is_dir():
        raise ValueError("tampered must be of the same kind as model (both folders or files)")
    trials = []
    attacker = make_key_pair(workdir, name="attacker")

    copy = _copy(tampered, workdir / "rewritten_manifest")
    trials.append(TamperTrial(
        "rewritten manifest", "tampered; the manifest next to it rebuilt by the attacker",
        False, check_manifest(copy, build_manifest(copy)),
        verify_signature(copy, key_pair, signature_path)))

    copy = _copy(tampered, workdir / "re_signed")
    signature = sign_model(copy, attacker, workdir / "re_signed.sig")
    trials.append(TamperTrial("re-signed", "tampered; signed with the attacker's key pair",
                              False, check_manifest(copy, manifest),
                              verify_signature(copy, key_pair, signature)))

    copy = _copy(tampered, workdir / "forged_hint")
    signature = forge_key_hint(sign_model(copy, attacker, workdir / "forged_hint.raw.sig"),
                               key_pair, workdir / "forged_hint.sig")
    trials.append(TamperTrial(
        "re-signed, key hint forged",
        "tampered; signed with the attacker's key, the bundle naming the publisher's key",
        False, check_manifest(copy, manifest), verify_signature(copy, key_pair, signature)))

    copy = _copy(tampered, workdir / "edited_statement")
    signature = _edit_statement(signature_path, copy, workdir / "edited_statement.sig")
    trials.append(TamperTrial(
        "signed statement edited",
        "tampered; the publisher's bundle with the tampered files' hashes written in",
        False, check_manifest(copy, manifest), verify_signature(copy, key_pair, signature)))
    return TamperTrials(tuple(trials))
