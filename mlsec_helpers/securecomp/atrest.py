"""Models encrypted at rest: envelope encryption with AES-256-GCM, keys kept apart, tamper
detection and key rotation, for the five reference systems.

A model file on a disk, in a backup or in a bucket is encrypted with its own random **data
key** (AES-256-GCM, a fresh random 96-bit nonce per encryption); the data key is stored in the
file only **wrapped** (encrypted) by a **key-encryption key** (KEK) that lives elsewhere: in a
key-management service, here the stand-in :class:`KeyStore` (one key file per KEK in a folder
of its own). Whoever steals the model folder without the key folder holds ciphertext.

File layout (:func:`seal_model` writes it, :func:`read_header` parses it)::

    magic (8) | len(key id) (1) | key id | wrap nonce (12) | wrapped data key (48)
    | nonce (12) | len(associated data) (2) | associated data | ciphertext + tag (16)

The **associated data** (canonical JSON of the model's name, version and serialisation format)
is not secret but authenticated: it is bound to the ciphertext (GCM's associated data) and to
the wrapped key (the KEK's wrapping context, as a KMS's "encryption context"), so a file cannot
be renamed, swapped for another model or rolled back to an old version unnoticed, provided the
reader says which name and version it expects. Every failure of authentication (a flipped bit
anywhere, the wrong key) raises :class:`TamperedModelError`, never a silently wrong model; a key
the store does not hold raises :class:`UnknownKeyError`.

**Rotation** (:func:`rotate_key`): a new KEK re-wraps each file's data key without touching the
ciphertext (:func:`rewrap`: the cryptography touches 32 bytes whatever the model's size; the
file is only copied); once the old KEK is retired it opens nothing. Re-wrapping does not help
against someone who already unwrapped a data key (or kept an old file and the old KEK):
:func:`reencrypt` seals the model again under a new data key, at the cost of decrypting and
encrypting the whole file.

What it protects: a stolen disk, backup or bucket. What it does not: the model in memory while
it serves, the server that holds the keys, and the answers the model gives (section "what
encryption does not stop", :mod:`~mlsec_helpers.securecomp.leaks`). Serialisation
(:func:`model_bytes`, :func:`restore_model`): torch systems as safetensors (tensors only),
scikit-learn systems as their pickle, which runs code when it is loaded: encryption says the
file is the one that was sealed, not that it is safe to unpickle (lab 11's problem).

Keys and nonces come from the operating system's generator (``os.urandom``), never from a seed:
a seeded nonce would repeat across runs, and a repeated GCM nonce under one key gives away the
XOR of two plaintexts and the authentication key. ``seed`` arguments choose only which bit a
tamper check flips.

:func:`unauthenticated_flip` is the control: the same model under AES-CTR (encryption without
authentication) with one bit flipped decrypts and loads without error, and predicts otherwise.

Introduced in lab 10 (Secure computation).
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import re
import struct
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..stats import proportion
from ..validate import ArgumentTypeError, check_choice, check_int, check_seed, check_str
from .results import (
    AtRestMeasurement,
    KeyRotation,
    Malleability,
    SealedHeader,
    SerialisedModel,
    TamperCheck,
)

__all__ = [
    "FIELDS",
    "MAGIC",
    "KeyStore",
    "SealedModelError",
    "TamperedModelError",
    "UnknownKeyError",
    "flip_bit",
    "measure_at_rest",
    "model_bytes",
    "model_predictions",
    "open_model",
    "read_header",
    "reencrypt",
    "restore_model",
    "rewrap",
    "rotate_key",
    "seal_model",
    "tamper_checks",
    "unauthenticated_flip",
]

MAGIC = b"MLSEC10\x01"
"""The first 8 bytes of a sealed model file (format version 1). Introduced in lab 10 (Secure
computation)."""

FIELDS: tuple[str, ...] = ("ciphertext", "nonce", "associated_data", "wrapped_key")
"""The parts of a sealed file that :func:`flip_bit` and :func:`tamper_checks` modify. Introduced
in lab 10 (Secure computation)."""

_NONCE = 12       # 96-bit nonces, GCM's recommended size
_KEY = 32         # AES-256
_TAG = 16
_KEY_ID_RE = re.compile(r"kek-([1-9][0-9]*)")
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class SealedModelError(Exception):
    """A sealed model file could not be opened. Introduced in lab 10 (Secure computation)."""


class TamperedModelError(SealedModelError):
    """A sealed model file failed authentication (modified, malformed, opened with the wrong key)
    or is an authentic file of another model or version. Introduced in lab 10 (Secure
    computation)."""


class UnknownKeyError(SealedModelError):
    """The key store holds no key-encryption key of the id a sealed file names (retired after a
    rotation, or the wrong store). Introduced in lab 10 (Secure computation)."""


def _aesgcm(key: bytes):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


def _check_name(name) -> str:
    name = check_str(name, "name")
    if not _NAME_RE.fullmatch(name):
        raise ValueError(f"name must be 1-64 letters, digits, '_', '.' or '-' (it names a "
                         f"file), got {name!r}")
    return name


def _check_blob(blob) -> bytes:
    if not isinstance(blob, bytes | bytearray):
        raise ArgumentTypeError(f"blob must be the bytes of a sealed model file, got "
                                f"{type(blob).__name__}")
    return bytes(blob)


class KeyStore:
    """A stand-in for a key-management service: key-encryption keys (KEKs) in a folder of their
    own, one file ``kek-N.key`` (32 random bytes, owner-only permissions) per key, ``kek-1``,
    ``kek-2``, ... in order of creation; the newest is :attr:`current`.

    The store wraps and unwraps data keys (AES-256-GCM, random nonce, the key id and a caller's
    ``context`` as associated data) and never hands a KEK out. A real KMS keeps the KEK inside
    an HSM and logs every unwrap; the point kept here is that the KEK is not stored with the
    files it protects. Keys are read from the folder at each use, so deleting a file
    (:meth:`retire`) destroys that key.

    Introduced in lab 10 (Secure computation).
    """

    def __init__(self, directory):
        if not isinstance(directory, str | os.PathLike):
            raise ArgumentTypeError(f"directory must be a path, got {type(directory).__name__}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def key_ids(self) -> list[str]:
        """The ids of the keys the store holds, oldest first."""
        found = [(int(m.group(1)), m.group(0)) for p in self.directory.glob("kek-*.key")
                 if (m := _KEY_ID_RE.fullmatch(p.stem))]
        return [kid for _, kid in sorted(found)]

    @property
    def current(self) -> str:
        """The id of the newest key, the one :meth:`wrap` uses."""
        ids = self.key_ids()
        if not ids:
            raise UnknownKeyError(f"the key store at {self.directory} holds no key: call "
                                  "create_key() first")
        return ids[-1]

    def create_key(self) -> str:
        """Create a new random 256-bit KEK, which becomes :attr:`current`; returns its id."""
        ids = self.key_ids()
        number = int(_KEY_ID_RE.fullmatch(ids[-1]).group(1)) + 1 if ids else 1
        kid = f"kek-{number}"
        fd = os.open(self.directory / f"{kid}.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(_KEY))
        return kid

    def _key(self, kid: str) -> bytes:
        if not isinstance(kid, str) or not _KEY_ID_RE.fullmatch(kid):
            raise UnknownKeyError(f"{kid!r} is not a key id of this store (kek-1, kek-2, ...)")
        path = self.directory / f"{kid}.key"
        if not path.is_file():
            raise UnknownKeyError(f"the key store at {self.directory} holds no key {kid!r} "
                                  f"(it holds {self.key_ids()}): retired after a rotation, or "
                                  "the wrong store")
        key = path.read_bytes()
        if len(key) != _KEY:
            raise UnknownKeyError(f"key file {path} holds {len(key)} bytes, not {_KEY}")
        return key

    def wrap(self, data_key: bytes, *, context: bytes) -> tuple[str, bytes, bytes]:
        """Encrypt ``data_key`` under the current KEK; returns ``(key id, nonce, wrapped)``."""
        if not isinstance(data_key, bytes) or len(data_key) != _KEY:
            raise ValueError(f"data_key must be {_KEY} bytes")
        if not isinstance(context, bytes):
            raise ArgumentTypeError("context must be bytes")
        kid = self.current
        nonce = os.urandom(_NONCE)
        wrapped = _aesgcm(self._key(kid)).encrypt(nonce, data_key, kid.encode() + b"\0" + context)
        return kid, nonce, wrapped

    def unwrap(self, kid: str, nonce: bytes, wrapped: bytes, *, context: bytes) -> bytes:
        """Decrypt a wrapped data key; raises :class:`UnknownKeyError` for a key the store does
        not hold and ``cryptography.exceptions.InvalidTag`` when authentication fails."""
        key = self._key(kid)
        return _aesgcm(key).decrypt(bytes(nonce), bytes(wrapped),
                                    kid.encode() + b"\0" + context)

    def retire(self, kid: str) -> None:
        """Destroy key ``kid`` (delete its file): what it wrapped can no longer be opened."""
        self._key(kid)
        (self.directory / f"{kid}.key").unlink()

    def __repr__(self) -> str:
        return f"KeyStore({str(self.directory)!r}, keys={self.key_ids()})"


def _associated_data(name: str, version: int, fmt: str) -> bytes:
    return json.dumps({"format": fmt, "name": name, "version": version}, sort_keys=True,
                      separators=(",", ":")).encode()


def seal_model(data: bytes, store: KeyStore, *, name: str, version: int = 1,
               fmt: str = "bytes") -> bytes:
    """Encrypt the serialised model ``data`` for storage: a fresh random data key and nonce,
    AES-256-GCM with the associated data ``{"format", "name", "version"}``, the data key wrapped
    by ``store``'s current KEK. Returns the bytes of the sealed file (layout in the module
    docstring); it is 100 to 200 bytes longer than ``data``.

    Introduced in lab 10 (Secure computation).
    """
    if not isinstance(data, bytes | bytearray):
        raise ArgumentTypeError(f"data must be bytes (a serialised model), got "
                                f"{type(data).__name__}")
    if not isinstance(store, KeyStore):
        raise ArgumentTypeError(f"store must be a KeyStore, got {type(store).__name__}")
    name = _check_name(name)
    version = check_int(version, "version", 1)
    fmt = check_str(fmt, "fmt")
    ad = _associated_data(name, version, fmt)
    if len(ad) > 0xFFFF:
        raise ValueError("name and format are too long for the header")
    data_key = os.urandom(_KEY)
    nonce = os.urandom(_NONCE)
    ciphertext = _aesgcm(data_key).encrypt(nonce, bytes(data), MAGIC + ad)
    kid, wrap_nonce, wrapped = store.wrap(data_key, context=MAGIC + ad)
    return _assemble(kid, wrap_nonce, wrapped, nonce, ad, ciphertext)


def _assemble(kid: str, wrap_nonce: bytes, wrapped: bytes, nonce: bytes, ad: bytes,
              ciphertext: bytes) -> bytes:
    kid_b = kid.encode()
    return b"".join([MAGIC, struct.pack(">B", len(kid_b)), kid_b, wrap_nonce, wrapped, nonce,
                     struct.pack(">H", len(ad)), ad, ciphertext])


def read_header(blob: bytes) -> SealedHeader:
    """Parse a sealed file's header **without authenticating it** (the key id to ask the store
    for, the nonces, the wrapped key, the associated data) and the byte range of each part.
    A file too short or without the magic bytes raises :class:`TamperedModelError`.

    Introduced in lab 10 (Secure computation).
    """
    blob = _check_blob(blob)

    def malformed(why: str):
        return TamperedModelError(f"not a readable sealed model file: {why}")

    if blob[:len(MAGIC)] != MAGIC:
        raise malformed("it does not start with the magic bytes of format 1")
    pos = len(MAGIC)
    ranges = {"magic": (0, pos)}
    try:
        (n_kid,) = struct.unpack_from(">B", blob, pos)
        ranges["key_id"] = (pos + 1, pos + 1 + n_kid)
        pos += 1 + n_kid
        for part, size in (("wrap_nonce", _NONCE), ("wrapped_key", _KEY + _TAG),
                           ("nonce", _NONCE)):
            ranges[part] = (pos, pos + size)
            pos += size
        (n_ad,) = struct.unpack_from(">H", blob, pos)
        ranges["associated_data"] = (pos + 2, pos + 2 + n_ad)
        pos += 2 + n_ad
    except struct.error:
        raise malformed("the header is truncated") from None
    if len(blob) < pos + _TAG:
        raise malformed("the file is truncated (no room for the ciphertext's tag)")
    ranges["ciphertext"] = (pos, len(blob))

    def part(key):
        return blob[slice(*ranges[key])]

    try:
        kid = part("key_id").decode("ascii")
    except UnicodeDecodeError:
        raise malformed("the key id is not ASCII") from None
    return SealedHeader(key_id=kid, wrap_nonce=part("wrap_nonce"),
                        wrapped_key=part("wrapped_key"), nonce=part("nonce"),
                        associated_data=part("associated_data"),
                        ciphertext_bytes=ranges["ciphertext"][1] - ranges["ciphertext"][0],
                        ranges=ranges)


def _unwrap(header: SealedHeader, store: KeyStore, label: str) -> bytes:
    from cryptography.exceptions import InvalidTag

    try:
        return store.unwrap(header.key_id, header.wrap_nonce, header.wrapped_key,
                            context=MAGIC + header.associated_data)
    except InvalidTag:
        raise TamperedModelError(
            f"{label} failed authentication: its data key does not unwrap under key-encryption "
            f"key {header.key_id!r} (the wrong key, or the wrapped key or the associated data "
            "was modified)") from None
    except UnknownKeyError as err:
        raise UnknownKeyError(f"{label}: {err}") from None


def _identity(header: SealedHeader, label: str) -> dict:
    try:
        meta = json.loads(header.associated_data)
        return {k: meta[k] for k in ("format", "name", "version")}
    except (ValueError, KeyError, TypeError):
        raise TamperedModelError(f"{label}: its associated data is not a model identity"
                                 ) from None


def open_model(blob: bytes, store: KeyStore, *, name: str, version: int = 1) -> bytes:
    """Authenticate and decrypt a sealed model file; returns the serialised model.

    ``name`` and ``version`` are what the caller expects to load: after authentication the
    file's own (authenticated) identity must match them, so a swapped or rolled-back file is
    refused. Raises :class:`TamperedModelError` when anything was modified (ciphertext, nonce,
    associated data, wrapped key), when the KEK is the wrong one, or when the identity differs;
    :class:`UnknownKeyError` when ``store`` holds no key of the id the file names.

    Introduced in lab 10 (Secure computation).
    """
    from cryptography.exceptions import InvalidTag

    if not isinstance(store, KeyStore):
        raise ArgumentTypeError(f"store must be a KeyStore, got {type(store).__name__}")
    name = _check_name(name)
    version = check_int(version, "version", 1)
    label = f"model file {name!r} v{version}"
    header = read_header(blob)
    data_key = _unwrap(header, store, label)
    ciphertext = bytes(blob)[slice(*header.ranges["ciphertext"])]
    try:
        data = _aesgcm(data_key).decrypt(header.nonce, ciphertext,
                                         MAGIC + header.associated_data)
    except InvalidTag:
        raise TamperedModelError(f"{label} failed authentication: the ciphertext, its nonce or "
                                 "its associated data was modified") from None
    meta = _identity(header, label)
    if (meta["name"], meta["version"]) != (name, version):
        raise TamperedModelError(
            f"{label}: the file is an authentic sealed file of {meta['name']!r} "
            f"v{meta['version']}, not of the model asked for (a swapped or rolled-back file)")
    return data


def flip_bit(blob: bytes, field: str, *, seed: int = 0) -> bytes:
    """A copy of the sealed file ``blob`` with one bit flipped in ``field`` (one of
    :data:`FIELDS`); the byte and the bit are drawn with ``seed``.

    Introduced in lab 10 (Secure computation).
    """
    field = check_choice(field, FIELDS, "field")
    header = read_header(blob)
    start, stop = header.ranges[field]
    if stop <= start:
        raise ValueError(f"the file's {field} is empty: nothing to flip")
    gen = np.random.default_rng(check_seed(seed))
    out = bytearray(blob)
    out[int(gen.integers(start, stop))] ^= 1 << int(gen.integers(8))
    return bytes(out)


def _attempt(blob: bytes, store: KeyStore, name: str, version: int, what: str) -> TamperCheck:
    try:
        open_model(blob, store, name=name, version=version)
    except TamperedModelError as err:
        return TamperCheck(what, True, f"TamperedModelError: {err}")
    except Exception as err:  # noqa: BLE001 (any other outcome is a failure of the check)
        return TamperCheck(what, False, f"{type(err).__name__}: {err}")
    return TamperCheck(what, False, "opened without error")


def tamper_checks(blob: bytes, store: KeyStore, *, name: str, version: int = 1,
                  wrong_store: KeyStore | None = None, seed: int = 0
                  ) -> tuple[TamperCheck, ...]:
    """Try to open ``blob`` with one bit flipped in each of :data:`FIELDS` (bits drawn with
    ``seed``), and, if ``wrong_store`` is given, with another store's key of the same id.
    Returns one :class:`TamperCheck` per attempt: ``detected`` is True only when opening raised
    :class:`TamperedModelError`.

    Introduced in lab 10 (Secure computation).
    """
    checks = [_attempt(flip_bit(blob, field, seed=seed + k), store, name, version, field)
              for k, field in enumerate(FIELDS)]
    if wrong_store is not None:
        if not isinstance(wrong_store, KeyStore):
            raise ArgumentTypeError(f"wrong_store must be a KeyStore, got "
                                    f"{type(wrong_store).__name__}")
        checks.append(_attempt(blob, wrong_store, name, version, "wrong key"))
    return tuple(checks)


def rewrap(blob: bytes, store: KeyStore, *, name: str, version: int = 1) -> bytes:
    """Key rotation without re-encryption: unwrap the file's data key with the KEK it names and
    wrap it again under ``store``'s current KEK. The nonce, the associated data and the
    ciphertext are copied unchanged. Raises as :func:`open_model` does when the key envelope
    does not authenticate.

    Introduced in lab 10 (Secure computation).
    """
    if not isinstance(store, KeyStore):
        raise ArgumentTypeError(f"store must be a KeyStore, got {type(store).__name__}")
    label = f"model file {_check_name(name)!r} v{check_int(version, 'version', 1)}"
    header = read_header(blob)
    data_key = _unwrap(header, store, label)
    kid, wrap_nonce, wrapped = store.wrap(data_key, context=MAGIC + header.associated_data)
    ciphertext = bytes(blob)[slice(*header.ranges["ciphertext"])]
    return _assemble(kid, wrap_nonce, wrapped, header.nonce, header.associated_data, ciphertext)


def reencrypt(blob: bytes, store: KeyStore, *, name: str, version: int = 1) -> bytes:
    """Full re-encryption: open the file (authenticated) and seal the model again under a fresh
    data key, wrapped by ``store``'s current KEK.

    Introduced in lab 10 (Secure computation).
    """
    data = open_model(blob, store, name=name, version=version)
    fmt = _identity(read_header(blob), name)["format"]
    return seal_model(data, store, name=name, version=version, fmt=fmt)


def _median_ms(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return float(np.median(times)), out


def rotate_key(sealed: Mapping[str, bytes], store: KeyStore, *, version: int = 1,
               repeats: int = 3) -> KeyRotation:
    """Rotate ``store``'s KEK for the sealed files ``sealed`` (model name -> file bytes, all of
    ``version``): create a new KEK, re-wrap every file's data key under it (:func:`rewrap`,
    timed, median of ``repeats``) and time a full :func:`reencrypt` of each for comparison.
    The old KEK is left in the store: retire it (``store.retire(result.old_key)``) once every
    file is re-wrapped.

    Introduced in lab 10 (Secure computation).
    """
    if not isinstance(sealed, Mapping) or not sealed:
        raise ArgumentTypeError("sealed must be a non-empty mapping of model name -> sealed "
                                "file bytes")
    repeats = check_int(repeats, "repeats", 1)
    old = store.current
    new = store.create_key()
    rewrapped, rewrap_ms, reencrypt_ms, unchanged = {}, {}, {}, {}
    for name, blob in sealed.items():
        rewrap_ms[name], rewrapped[name] = _median_ms(
            lambda b=blob, n=name: rewrap(b, store, name=n, version=version), repeats)
        reencrypt_ms[name], _ = _median_ms(
            lambda b=blob, n=name: reencrypt(b, store, name=n, version=version), repeats)
        before, after = read_header(blob), read_header(rewrapped[name])
        unchanged[name] = (
            bytes(blob)[slice(*before.ranges["ciphertext"])]
            == rewrapped[name][slice(*after.ranges["ciphertext"])]
            and before.nonce == after.nonce and after.key_id == new)
    return KeyRotation(old_key=old, new_key=new, rewrapped=rewrapped, rewrap_ms=rewrap_ms,
                       reencrypt_ms=reencrypt_ms, ciphertext_unchanged=unchanged)


# --- serialisation of the five systems ---------------------------------------------------------


def _torch_module(system):
    from torch import nn

    model = getattr(system, "model", None)
    return model if isinstance(model, nn.Module) else None


def model_bytes(system) -> SerialisedModel:
    """Serialise a fitted course system for storage: a torch system's weights as safetensors
    bytes (the recommender's global mean ``mu`` as one more tensor), a scikit-learn system's
    estimator as its pickle (which runs code when loaded: lab 11).

    Introduced in lab 10 (Secure computation).
    """
    from ..systems import MFRecommender, SklearnSystem

    if isinstance(system, SklearnSystem):
        if not getattr(system, "fitted_", False):
            raise ValueError("the system is not fitted: fit it before serialising it")
        data = pickle.dumps(system.estimator, protocol=pickle.HIGHEST_PROTOCOL)
        return SerialisedModel(data=data, format="pickle", n_tensors=0)
    module = _torch_module(system)
    if module is None:
        raise ArgumentTypeError(f"system must be a fitted course system (a SklearnSystem or one "
                                f"with a torch .model), got {type(system).__name__}")
    import torch
    from safetensors.torch import save

    tensors = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    if isinstance(system, MFRecommender):
        tensors["mu"] = torch.tensor(float(module.mu), dtype=torch.float64)
    return SerialisedModel(data=save(tensors), format="safetensors", n_tensors=len(tensors))


def restore_model(data: bytes, template):
    """A new system from serialised ``data`` (from :func:`model_bytes`, after
    :func:`open_model`), shaped like ``template`` (a system of the same kind). For a torch
    system every parameter of a copy of ``template`` is first zeroed, then loaded from the
    tensors (strict: every tensor must be there), so the result's weights come from ``data``
    alone. For a scikit-learn system the estimator is unpickled.

    Introduced in lab 10 (Secure computation).
    """
    from ..systems import MFRecommender, SklearnSystem

    if not isinstance(data, bytes | bytearray):
        raise ArgumentTypeError(f"data must be bytes, got {type(data).__name__}")
    new = copy.copy(template)
    if isinstance(template, SklearnSystem):
        # unpickling runs whatever code the file names: safe here only because the file
        # authenticated under our key (lab 11 shows what a hostile pickle does)
        new.estimator = pickle.loads(bytes(data))  # noqa: S301
        return new
    module = _torch_module(template)
    if module is None:
        raise ArgumentTypeError(f"template must be a course system, got "
                                f"{type(template).__name__}")
    import torch
    from safetensors.torch import load

    tensors = load(bytes(data))
    new.model = copy.deepcopy(module)
    with torch.no_grad():
        for tensor in list(new.model.parameters()) + list(new.model.buffers()):
            tensor.zero_()
    if isinstance(template, MFRecommender):
        if "mu" not in tensors:
            raise ValueError("the recommender's tensors lack 'mu', its global mean rating")
        new.model.mu = float(tensors.pop("mu"))
    new.model.load_state_dict(tensors, strict=True)
    new.model.eval()
    return new


def model_predictions(system, X) -> np.ndarray:
    """What a system answers for ``X``: class probabilities, or for the recommender the score
    of every item for the users ``X``.

    Introduced in lab 10 (Secure computation).
    """
    from ..systems import MFRecommender

    if isinstance(system, MFRecommender):
        return system.score(X)
    return np.asarray(system.predict_proba(X))


def measure_at_rest(system, X, store: KeyStore, *, name: str, version: int = 1,
                    directory=None, wrong_store: KeyStore | None = None, repeats: int = 3,
                    seed: int = 0) -> AtRestMeasurement:
    """Seal ``system`` at rest and check it: serialise (:func:`model_bytes`), encrypt
    (:func:`seal_model`, median ms of ``repeats``), write the file to ``directory`` (if given)
    and read it back, decrypt (:func:`open_model`, median ms), restore (:func:`restore_model`)
    and compare the restored system's answers on ``X`` with the original's (exactly equal), then
    run :func:`tamper_checks` (``seed`` picks the flipped bits; ``wrong_store`` adds a wrong-key
    attempt). Returns an :class:`~mlsec_helpers.securecomp.results.AtRestMeasurement` whose
    ``sealed`` holds the file's bytes.

    Introduced in lab 10 (Secure computation).
    """
    name = _check_name(name)
    version = check_int(version, "version", 1)
    repeats = check_int(repeats, "repeats", 1)
    serial = model_bytes(system)
    encrypt_ms, blob = _median_ms(
        lambda: seal_model(serial.data, store, name=name, version=version, fmt=serial.format),
        repeats)
    path = None
    if directory is not None:
        path = Path(directory) / f"{name}-v{version}.sealed"
        path.write_bytes(blob)
        blob = path.read_bytes()
    decrypt_ms, data = _median_ms(lambda: open_model(blob, store, name=name, version=version),
                                  repeats)
    restored = restore_model(data, system)
    same = bool(np.array_equal(model_predictions(system, X), model_predictions(restored, X)))
    checks = tamper_checks(blob, store, name=name, version=version, wrong_store=wrong_store,
                           seed=seed)
    return AtRestMeasurement(system=name, format=serial.format, file_bytes=len(serial.data),
                             encrypted_bytes=len(blob), encrypt_ms=encrypt_ms,
                             decrypt_ms=decrypt_ms, same_predictions=same, tamper=checks,
                             sealed=blob, path=None if path is None else str(path),
                             plaintext_visible=_visible_names(serial, blob))


def _visible_names(serial: SerialisedModel, blob: bytes) -> tuple[int, int]:
    """How many of the model's tensor or class names a thief reads in the plain file and in
    the sealed one."""
    if serial.format == "safetensors":
        (n,) = struct.unpack_from("<Q", serial.data, 0)
        names = [k for k in json.loads(serial.data[8:8 + n]) if k != "__metadata__"]
    else:
        names = ["sklearn", "numpy"]
    encoded = [f'"{k}"'.encode() for k in names] if serial.format == "safetensors" else [
        k.encode() for k in names]  # quoted as in the header: short names occur by chance
    return (sum(k in serial.data for k in encoded), sum(k in blob for k in encoded))


# --- the control: encryption without authentication -------------------------------------------


def unauthenticated_flip(system, X, store: KeyStore, *, tensor: str | None = None,
                         bit: int = 30, seed: int = 0) -> Malleability:
    """What AES-CTR (encryption without authentication) lets an attacker without the key do:
    encrypt ``system``'s safetensors bytes with AES-256-CTR, flip ``bit`` (of 32; 30 is a
    float32's top exponent bit) of one element of ``tensor`` (default: the last bias; the
    element drawn with ``seed``) in the **ciphertext** (CTR flips the same plaintext bit; the
    file layout is public, so the attacker knows where the tensor lies), decrypt and restore.
    Returns whether anything raised, the tensor value before and after, and the share of ``X``
    whose predicted label changed (Wilson interval). The same flip in the same bytes sealed with
    AES-GCM under ``store`` raises :class:`TamperedModelError` (``gcm_error``).

    Introduced in lab 10 (Secure computation).
    """
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    if not isinstance(store, KeyStore):
        raise ArgumentTypeError(f"store must be a KeyStore, got {type(store).__name__}")
    serial = model_bytes(system)
    if serial.format != "safetensors":
        raise ArgumentTypeError("unauthenticated_flip needs a torch system (safetensors bytes)")
    bit = check_int(bit, "bit", 0, 31)
    data = serial.data
    (n,) = struct.unpack_from("<Q", data, 0)
    layout = {k: v for k, v in json.loads(data[8:8 + n]).items() if k != "__metadata__"}
    if tensor is None:
        tensor = [k for k in layout if k.endswith("bias")][-1]
    tensor = check_choice(tensor, sorted(layout), "tensor")
    if layout[tensor]["dtype"] != "F32":
        raise ValueError(f"tensor {tensor!r} is {layout[tensor]['dtype']}, not float32")
    begin, end = layout[tensor]["data_offsets"]
    n_elem = (end - begin) // 4
    element = int(np.random.default_rng(check_seed(seed)).integers(n_elem))
    offset = 8 + n + begin + 4 * element + bit // 8          # little-endian float32
    key, iv = os.urandom(_KEY), os.urandom(16)

    def ctr():
        return Cipher(algorithms.AES(key), modes.CTR(iv))

    enc = ctr().encryptor()
    ciphertext = bytearray(enc.update(data) + enc.finalize())
    ciphertext[offset] ^= 1 << (bit % 8)
    dec = ctr().decryptor()
    tampered = dec.update(bytes(ciphertext)) + dec.finalize()
    raised = ""
    try:
        restored = restore_model(tampered, system)
        after = model_predictions(restored, X).argmax(1)
    except Exception as err:  # noqa: BLE001 (the point is whether anything complains)
        raised, after = f"{type(err).__name__}: {err}", None
    before = model_predictions(system, X).argmax(1)
    value_before = float(np.frombuffer(data, np.float32, 1, 8 + n + begin + 4 * element)[0])
    value_after = float(np.frombuffer(tampered, np.float32, 1, 8 + n + begin + 4 * element)[0])
    changed = proportion(0 if after is None else int((after != before).sum()), len(before),
                         on=f"{len(before)} inputs")
    # the same bit in an AES-GCM file: GCM encrypts in counter mode too, so the attacker can
    # flip the same plaintext bit, but the tag check refuses the file
    blob = bytearray(seal_model(data, store, name="control", fmt="safetensors"))
    blob[read_header(bytes(blob)).ranges["ciphertext"][0] + offset] ^= 1 << (bit % 8)
    gcm = _attempt(bytes(blob), store, "control", 1, "ciphertext")
    return Malleability(tensor=tensor, element=element, bit=bit, value_before=value_before,
                        value_after=value_after, error=raised, changed=changed,
                        labels_after=None if after is None else np.bincount(
                            after, minlength=before.max() + 1),
                        gcm_error=gcm.error if gcm.detected else "")
