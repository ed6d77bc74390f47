"""Exercises of lab 11 (Supply chain).

Each exercise's cases test every rule its statement in the lab states (named in each case's
label); ``hidden_cases`` test the same rules on other inputs, for :func:`exercises.grade`.
Nothing here writes a file, except the challenge's task, which writes only inside its own
temporary folder and removes it.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import pickletools
import shutil
import tempfile
import uuid
import weakref
from pathlib import Path

import numpy as np

from ..exercises import Case, Exercise, Mistake

# --- exercise 1: verify a manifest --------------------------------------------------------------


def verify_manifest(files, manifest) -> dict:
    """Compare a model folder with its manifest. ``files`` maps each file's relative path (POSIX
    style) to its bytes; ``manifest`` maps relative paths to the SHA-256 hex digest (lowercase)
    of the file's bytes. Return ``{"missing": [...], "added": [...], "changed": [...]}``: the
    manifest's paths with no file, the files the manifest does not list, and the paths whose
    bytes no longer hash to the manifest's digest; each list sorted. An empty result (three
    empty lists) means the folder is exactly what was signed.

    Introduced in lab 11 (Supply chain).
    """
    missing = sorted(set(manifest) - set(files))
    added = sorted(set(files) - set(manifest))
    changed = sorted(p for p in set(files) & set(manifest)
                     if hashlib.sha256(files[p]).hexdigest() != manifest[p].lower())
    return {"missing": missing, "added": added, "changed": changed}


def _vm_md5(files, manifest):  # MD5 instead of SHA-256
    return {"missing": sorted(set(manifest) - set(files)),
            "added": sorted(set(files) - set(manifest)),
            "changed": sorted(p for p in set(files) & set(manifest)
                              if hashlib.md5(files[p]).hexdigest() != manifest[p])}


def _vm_no_added(files, manifest):  # never reports added files
    out = verify_manifest(files, manifest)
    return {**out, "added": []}


def _vm_no_hash(files, manifest):  # never compares contents
    return {"missing": sorted(set(manifest) - set(files)),
            "added": sorted(set(files) - set(manifest)), "changed": []}



def _vm_swapped(files, manifest):  # missing and added swapped
    out = verify_manifest(files, manifest)
    return {"missing": out["added"], "added": out["missing"], "changed": out["changed"]}


def _vm_changed_only(files, manifest):  # only the files present in both are checked
    out = verify_manifest(files, manifest)
    return {"missing": [], "added": [], "changed": out["changed"]}


def _manifest_of(files):
    return {p: hashlib.sha256(b).hexdigest() for p, b in files.items()}


def _flip(data: bytes, index: int) -> bytes:
    b = bytearray(data)
    b[index] ^= 0x01
    return bytes(b)


def _manifest_cases() -> list[Case]:
    gen = np.random.default_rng(111)
    files = {"model.safetensors": gen.bytes(300), "config.json": b'{"dim": 32}',
             "tokenizer/vocab.txt": b"hello\nworld\n"}
    signed = _manifest_of(files)
    tampered = dict(files)
    tampered["model.safetensors"] = _flip(files["model.safetensors"], 77)
    extra = {**files, "model.pkl": b"\x80\x05N."}
    fewer = {k: v for k, v in files.items() if k != "config.json"}
    upper = {p: d.upper() for p, d in signed.items()}
    return [
        Case((files, signed), label="the untouched folder: three empty lists"),
        Case((tampered, signed), label="a flipped bit in the weights: changed (SHA-256 of the "
                                       "bytes)"),
        Case((extra, signed), label="an added file (a pickle dropped next to the weights)"),
        Case((fewer, signed), label="a missing file"),
        Case(({**tampered, "z.txt": b"x", "a.txt": b"y"}, signed),
             label="changed and two added files, sorted"),
        Case((files, upper), label="digests written in upper case still match"),
    ]


def _manifest_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(1111)
    files = {f"shard-{i:02d}.safetensors": gen.bytes(64) for i in range(12)}
    signed = _manifest_of(files)
    messy = {k: v for k, v in files.items() if k not in ("shard-03.safetensors",
                                                          "shard-07.safetensors")}
    messy["shard-05.safetensors"] = _flip(files["shard-05.safetensors"], 3)
    messy["extra/readme.md"] = b"# hi"
    reordered = {"zeta.bin": b"z", **{k: files[k] for k in sorted(files, reverse=True)},
                 "alpha.bin": b"a"}
    return [Case((messy, signed), label="12 shards: two missing, one changed, one added"),
            Case((files, signed), label="12 untouched shards"),
            Case((reordered, signed), label="files listed in another order: sorted lists"),
            Case((files, {p: d.upper() for p, d in signed.items()}),
                 label="upper-case digests")]


def _manifest_validate(got, case: Case) -> str | None:
    if not isinstance(got, dict) or set(got) != {"missing", "added", "changed"}:
        return 'return a dict with exactly the keys "missing", "added" and "changed"'
    for key, value in got.items():
        if not isinstance(value, list):
            return f'"{key}" must be a list of paths, got {type(value).__name__}'
        if value != sorted(value):
            return f'"{key}" must be sorted'
    return None


VERIFY_MANIFEST = Exercise(
    name="verify_manifest",
    reference=verify_manifest,
    cases=_manifest_cases,
    hidden_cases=_manifest_hidden_cases,
    validate=_manifest_validate,
    compare=lambda got, expected: got == expected,
    mistakes=[
        Mistake("MD5 instead of SHA-256", _vm_md5, "the manifest holds SHA-256 digests: "
                "hashlib.sha256(data).hexdigest()"),
        Mistake("added files never reported", _vm_no_added,
                "a file the manifest does not list is an attack surface too (a pickle dropped "
                "next to the weights): report it under \"added\""),
        Mistake("contents never compared", _vm_no_hash,
                "hash every file's bytes and compare with the manifest's digest"),
        Mistake("missing and added swapped", _vm_swapped,
                "missing: in the manifest but not in the folder; added: the other way round"),
        Mistake("only files in both checked", _vm_changed_only,
                "also compare the two sets of paths (missing and added)"),
    ],
    hint="sets of paths for missing and added; hashlib.sha256(bytes).hexdigest() compared with "
         "manifest[path].lower() for changed; sort each list",
)

# --- exercise 2: an allow-list unpickler --------------------------------------------------------


def restricted_loads(data, allowed):
    """Unpickle ``data`` (bytes) allowing only the globals in ``allowed``, a set of ``(module,
    name)`` pairs: a ``pickle.Unpickler`` subclass whose ``find_class`` returns the object for
    an allowed pair and raises ``pickle.UnpicklingError`` for any other, so nothing outside the
    allow-list is ever imported or called. Return the unpickled object.

    Introduced in lab 11 (Supply chain).
    """

    class _AllowList(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) in allowed:
                return super().find_class(module, name)
            raise pickle.UnpicklingError(f"global {module}.{name} is not on the allow-list")

    return _AllowList(io.BytesIO(bytes(data))).load()







class _Calls:
    """A picklable stand-in for a payload: unpickling calls ``func(*args)``."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


_NUMPY_GLOBALS = {("numpy._core.multiarray", "_reconstruct"), ("numpy", "ndarray"),
                  ("numpy", "dtype"), ("numpy._core.numeric", "_frombuffer")}


def _allow_cases() -> list[Case]:
    import collections
    import operator

    arr = np.arange(6.0).reshape(2, 3)
    return [
        Case((pickle.dumps({"w": [1.0, 2.0], "b": 0.5}), set()),
             label="plain data needs no global at all"),
        Case((pickle.dumps(arr), _NUMPY_GLOBALS), label="a numpy array with numpy's globals "
                                                        "allowed"),
        Case((pickle.dumps(_Calls(operator.add, 2, 3)), _NUMPY_GLOBALS),
             label="a callable outside the allow-list (operator.add) is refused",
             raises=pickle.UnpicklingError),
        Case((pickle.dumps(collections.Counter("aab")), {("collections", "OrderedDict")}),
             label="another name of an allowed module (collections.Counter) is refused",
             raises=pickle.UnpicklingError),
        Case((pickle.dumps(_Calls(len, "abc")), {("operator", "len")}),
             label="an allowed name in another module (builtins.len) is refused",
             raises=pickle.UnpicklingError),
        Case((pickle.dumps(collections.OrderedDict(a=1)), {("collections", "OrderedDict")}),
             label="an allowed global loads"),
    ]


def _allow_hidden_cases() -> list[Case]:
    import collections
    import operator

    return [
        Case((pickle.dumps([np.ones(3), np.zeros((2, 2))]), _NUMPY_GLOBALS),
             label="a list of arrays"),
        Case((pickle.dumps(_Calls(operator.mul, 2, 3)), set()),
             label="an empty allow-list refuses every global", raises=pickle.UnpicklingError),
        Case((pickle.dumps(collections.deque([1])), {("collections", "OrderedDict")}),
             label="collections.deque is not collections.OrderedDict",
             raises=pickle.UnpicklingError),
        Case((pickle.dumps(_Calls(pow, 2, 3)), {("math", "pow")}),
             label="builtins.pow is not math.pow", raises=pickle.UnpicklingError),
    ]


def _allow_compare(got, expected) -> bool:
    from ..exercises import same_value

    return type(got) is type(expected) and same_value(got, expected)


RESTRICTED_LOADS = Exercise(
    name="restricted_loads",
    reference=restricted_loads,
    cases=_allow_cases,
    hidden_cases=_allow_hidden_cases,
    compare=_allow_compare,
    # no named mistakes: the wrong answers (a deny-list, whole modules, names without their
    # module, no restriction) differ from the reference only on the pickles it must refuse,
    # where the check's own message says which global got through
    hint="class A(pickle.Unpickler): def find_class(self, module, name): allow only if "
         "(module, name) in allowed, else raise pickle.UnpicklingError",
)

# --- exercise 3: load weights that match the architecture ---------------------------------------


def load_checked_weights(blob, expected):
    """Load a safetensors file's tensors (``blob``: the file's bytes; use
    ``safetensors.numpy.load``) and check them against the architecture: ``expected`` maps each
    tensor name to its shape (a tuple). Raise ``ValueError`` if a name is missing or extra, if a
    shape differs, or if a tensor is not floating point; otherwise return the dict of arrays.

    Introduced in lab 11 (Supply chain).
    """
    from safetensors.numpy import load

    tensors = load(bytes(blob))
    if set(tensors) != set(expected):
        raise ValueError(f"tensor names differ: missing {sorted(set(expected) - set(tensors))}, "
                         f"extra {sorted(set(tensors) - set(expected))}")
    for name, shape in expected.items():
        if tuple(tensors[name].shape) != tuple(shape):
            raise ValueError(f"{name} has shape {tensors[name].shape}, expected {shape}")
        if not np.issubdtype(tensors[name].dtype, np.floating):
            raise ValueError(f"{name} has dtype {tensors[name].dtype}, expected floating point")
    return tensors






def _st(tensors) -> bytes:
    from safetensors.numpy import save

    return save(tensors)


def _weights_cases() -> list[Case]:
    gen = np.random.default_rng(211)
    good = {"conv.weight": gen.normal(size=(8, 1, 3, 3)).astype(np.float32),
            "conv.bias": gen.normal(size=8).astype(np.float32),
            "fc.weight": gen.normal(size=(10, 32)).astype(np.float32)}
    shapes = {k: tuple(v.shape) for k, v in good.items()}
    return [
        Case((_st(good), shapes), label="the expected tensors load"),
        Case((_st({**good, "backdoor.weight": np.ones((2, 2), np.float32)}), shapes),
             label="an extra tensor is refused", raises=ValueError),
        Case((_st({k: v for k, v in good.items() if k != "conv.bias"}), shapes),
             label="a missing tensor is refused", raises=ValueError),
        Case((_st({**good, "fc.weight": good["fc.weight"].reshape(32, 10)}), shapes),
             label="a transposed tensor (same size, other shape) is refused",
             raises=ValueError),
        Case((_st({**good, "conv.bias": np.arange(8, dtype=np.int64)}), shapes),
             label="an integer tensor is refused", raises=ValueError),
    ]


def _weights_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(2111)
    good = {"user.weight": gen.normal(size=(50, 4)), "item.weight": gen.normal(size=(70, 4))}
    shapes = {k: tuple(v.shape) for k, v in good.items()}
    return [
        Case((_st(good), shapes), label="float64 factors load"),
        Case((_st({**good, "item.weight": good["item.weight"][:, :2].copy()}), shapes),
             label="a narrower tensor is refused", raises=ValueError),
        Case((_st({**good, "extra": np.zeros(1)}), shapes), label="an extra tensor is refused",
             raises=ValueError),
        Case((_st({"user.weight": good["user.weight"]}), shapes),
             label="a missing tensor is refused", raises=ValueError),
        Case((_st({**good, "item.weight": good["item.weight"].reshape(140, 2).copy()}),
              shapes), label="a reshaped tensor is refused", raises=ValueError),
        Case((_st({**good, "user.weight": np.ones((50, 4), np.int32)}), shapes),
             label="an int32 tensor is refused", raises=ValueError),
    ]


def _weights_validate(got, case: Case) -> str | None:
    if not isinstance(got, dict) or not all(isinstance(v, np.ndarray) for v in got.values()):
        return "return the dict of numpy arrays (name -> tensor)"
    return None


LOAD_CHECKED_WEIGHTS = Exercise(
    name="load_checked_weights",
    reference=load_checked_weights,
    cases=_weights_cases,
    hidden_cases=_weights_hidden_cases,
    validate=_weights_validate,
    # no named mistakes: each wrong answer (extra tensors, shapes, sizes, dtypes unchecked)
    # differs only on a file it must refuse, and the check's message names that case
    hint="tensors = safetensors.numpy.load(blob); compare set(tensors) with set(expected), "
         "each shape, and the dtype",
)

# --- exercise 4: a signature check --------------------------------------------------------------


def verify_signature(public_key_pem, data, signature) -> bool:
    """Verify a detached ECDSA signature (NIST P-256, SHA-256; DER-encoded, as
    ``cryptography``'s ``private_key.sign(data, ec.ECDSA(hashes.SHA256()))`` makes) of ``data``
    (bytes: a manifest) with the PEM-encoded public key: return True if it verifies, False if
    it does not (``InvalidSignature``: tampered data, another key, a damaged signature). A key
    that is not a PEM elliptic-curve public key raises ``ValueError``.

    Introduced in lab 11 (Supply chain).
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_public_key(bytes(public_key_pem))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("the key is not an elliptic-curve public key")
    try:
        key.verify(bytes(signature), bytes(data), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _vs_always(pem, data, sig):  # swallows every error, accepts everything
    try:
        verify_signature(pem, data, sig)
    except Exception:
        pass
    return True


def _vs_sha1(pem, data, sig):  # the wrong hash
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_public_key(bytes(pem))
    try:
        key.verify(bytes(sig), bytes(data), ec.ECDSA(hashes.SHA1()))
    except InvalidSignature:
        return False
    return True




def _keys(seed: int):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    secret = int.from_bytes(hashlib.sha256(f"lab11 key {seed}".encode()).digest(), "big")
    private = ec.derive_private_key(secret % (2**255) + 1, ec.SECP256R1())
    pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, pem


def _sign(private, data: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    return private.sign(data, ec.ECDSA(hashes.SHA256()))


def _signature_cases() -> list[Case]:
    private, pem = _keys(1)
    other, other_pem = _keys(2)
    manifest = b'{"model.safetensors": "ab12..."}'
    sig = _sign(private, manifest)
    return [
        Case((pem, manifest, sig), label="the untouched manifest verifies (True)"),
        Case((pem, manifest.replace(b"ab12", b"ab13"), sig),
             label="a changed manifest does not (False)"),
        Case((other_pem, manifest, sig), label="another key does not (False)"),
        Case((pem, manifest, _flip(sig, len(sig) - 3)), label="a damaged signature does not "
                                                              "(False)"),
        Case((b"not a key", manifest, sig), label="a key that is not PEM raises ValueError",
             raises=ValueError),
    ]


def _signature_hidden_cases() -> list[Case]:
    private, pem = _keys(3)
    data = np.random.default_rng(3).bytes(5000)
    sig = _sign(private, data)
    _, other_pem = _keys(4)
    return [Case((pem, data, sig), label="a 5 kB manifest verifies"),
            Case((pem, data[:-1], sig), label="a truncated manifest does not"),
            Case((other_pem, data, sig), label="another key does not"),
            Case((pem, data, sig[:-2]), label="a truncated signature does not")]


def _signature_validate(got, case: Case) -> str | None:
    if not isinstance(got, bool):
        return f"return True or False, got {type(got).__name__}"
    return None


VERIFY_SIGNATURE = Exercise(
    name="verify_signature",
    reference=verify_signature,
    cases=_signature_cases,
    hidden_cases=_signature_hidden_cases,
    validate=_signature_validate,
    compare=lambda got, expected: got is expected,
    mistakes=[
        Mistake("bad signatures accepted", _vs_always,
                "a signature that does not verify must give False: call key.verify and catch "
                "InvalidSignature (and nothing broader)"),
        Mistake("SHA-1 instead of SHA-256", _vs_sha1, "ec.ECDSA(hashes.SHA256())"),
    ],
    hint="key = serialization.load_pem_public_key(pem); key.verify(signature, data, "
         "ec.ECDSA(hashes.SHA256())) inside try/except InvalidSignature",
)

# --- the challenge: get a payload past the lab's scanner, then close the hole -------------------

#: What the lab's scanner refuses: modules, and single names of the builtins.
LAB_SCANNER_DENY_MODULES = frozenset({"os", "posix", "nt", "subprocess", "sys", "socket",
                                      "shutil", "pty", "runpy", "importlib", "webbrowser"})
LAB_SCANNER_DENY_BUILTINS = frozenset({"eval", "exec", "compile", "open", "__import__",
                                       "getattr", "setattr", "globals", "breakpoint"})
_TRUTH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def pickle_globals(data) -> list[tuple[str, str]]:
    """The ``(module, name)`` globals a pickle imports, read from its opcodes without loading
    it (``pickletools.genops`` on the first pickle of ``data``): ``GLOBAL``/``INST`` carry the
    pair; ``STACK_GLOBAL`` takes the last two strings pushed (or fetched from the memo).

    Introduced in lab 11 (Supply chain).
    """
    found, strings, memo = [], [], {}
    for op, arg, _ in pickletools.genops(bytes(data)):
        name = op.name
        if name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE",
                    "SHORT_BINSTRING", "BINSTRING", "STRING"):
            strings.append(arg)
        elif name == "MEMOIZE":
            memo[len(memo)] = strings[-1] if strings else None
        elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[arg] = strings[-1] if strings else None
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            strings.append(memo.get(arg))
        elif name in ("GLOBAL", "INST"):
            module, _, attr = arg.partition(" ")
            found.append((module, attr))
        elif name == "STACK_GLOBAL" and len(strings) >= 2:
            attr, module = strings.pop(), strings.pop()
            found.append((str(module), str(attr)))
    return found


def lab_scan(data) -> list[str]:
    """The lab's own scanner, a deny-list like the scanners of the lab: the globals of ``data``
    (:func:`pickle_globals`) whose module is in :data:`LAB_SCANNER_DENY_MODULES`, or which are
    builtins in :data:`LAB_SCANNER_DENY_BUILTINS`. Returns the findings (empty: it passes).

    Introduced in lab 11 (Supply chain).
    """
    findings = []
    for module, name in pickle_globals(data):
        root = module.split(".")[0]
        if root in LAB_SCANNER_DENY_MODULES or (
                root in ("builtins", "__builtin__") and name in LAB_SCANNER_DENY_BUILTINS):
            findings.append(f"{module}.{name}")
    return findings


class ScannerTask:
    """The challenge's setting: ``marker_path``, a file in a temporary folder that your payload
    must create when unpickled (and nothing else; the folder exists only while
    :func:`challenge_outcome` grades the payload, which then removes it); ``lab_scan(data)``,
    the lab's scanner (:func:`lab_scan`) that your payload must pass; ``clean_pickles``, pickles
    of the kind of models the team ships (your scanner must pass those). The hidden payloads and
    models your scanner is graded on are kept apart, for :func:`challenge_outcome` only.

    Introduced in lab 11 (Supply chain).
    """

    __slots__ = ("__weakref__", "_clean", "_folder", "_marker")

    def __init__(self, folder: Path, clean: tuple[bytes, ...]):
        self._folder, self._marker, self._clean = folder, folder / "marker.txt", clean

    @property
    def marker_path(self) -> Path:
        """The file your payload must create when unpickled."""
        return self._marker

    @property
    def clean_pickles(self) -> tuple[bytes, ...]:
        """Pickles of legitimate models (fitted scikit-learn estimators and numpy arrays)."""
        return self._clean

    @staticmethod
    def lab_scan(data) -> list[str]:
        """The lab's scanner: its findings on ``data`` (empty: it passes)."""
        return lab_scan(data)

    def __repr__(self):
        return f"ScannerTask(marker at {self._marker})"

    def __deepcopy__(self, memo):
        return self  # read-only: the check may hand it twice


def _models(gen: np.random.Generator) -> list:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = gen.normal(size=(60, 4))
    y = (X[:, 0] + gen.normal(size=60) > 0).astype(int)
    return [LogisticRegression().fit(X, y),
            make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(X, y),
            {"weights": gen.normal(size=(4, 2)), "bias": gen.normal(size=2)},
            gen.normal(size=(3, 3)).astype(np.float32)]


def _evasive_payloads(marker: Path) -> list[bytes]:
    """Payloads the lab's deny-list misses (each would write near the marker, or run code, if
    loaded; the grader only scans them)."""
    import codecs
    import operator
    import pathlib

    target = str(marker.with_name("other.txt"))
    return [pickle.dumps(_Payload(io.open, (target, "w"))),
            pickle.dumps(_Payload(codecs.open, (target, "w"))),
            pickle.dumps(_Payload(pathlib.Path.touch, (pathlib.Path(target),))),
            pickle.dumps(_Payload(operator.methodcaller, ("touch",))),
            pickle.dumps(_Payload(np.save, (target, np.zeros(1))))]


class _Payload:
    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def scanner_task(*, seed: int = 0) -> ScannerTask:
    """The challenge's setting, drawn with ``seed`` (see :class:`ScannerTask`).

    Introduced in lab 11 (Supply chain).
    """
    gen = np.random.default_rng(seed)
    # a name no other folder has; the folder itself is made only while a payload is graded
    folder = Path(tempfile.gettempdir()) / f"mlsec_lab11_challenge_{uuid.uuid4().hex}"
    visible = tuple(pickle.dumps(m, protocol=p) for m, p in zip(_models(gen), (5, 4, 5, 2),
                                                                 strict=True))
    task = ScannerTask(folder, visible)
    hidden_clean = tuple(pickle.dumps(m, protocol=p) for m, p in zip(_models(gen), (4, 5, 2, 5),
                                                                      strict=True))
    _TRUTH[task] = (hidden_clean, tuple(_evasive_payloads(task.marker_path)))
    return task


def challenge_outcome(task, payload, scanner) -> dict:
    """Grade a payload and a scanner on ``task``: whether the lab's scanner passes the payload,
    whether unpickling it creates the marker (it is unpickled here, once, then the marker is
    removed), whether ``scanner`` flags it, the share of the hidden evasive payloads the scanner
    flags, and the share of hidden clean models it passes. For grading and measuring.

    Introduced in lab 11 (Supply chain).
    """
    if not isinstance(task, ScannerTask) or task not in _TRUTH:
        raise TypeError("task must be a task returned by scanner_task()")
    hidden_clean, evasive = _TRUTH[task]
    payload = bytes(payload)
    marker = task.marker_path
    passes_lab = not lab_scan(payload)
    marker.parent.mkdir(exist_ok=True)
    try:
        try:
            pickle.loads(payload)  # the student's own payload: it runs here, as in the lab
        except Exception:  # noqa: BLE001 - a payload that raises after the marker still counts
            pass
        ran = marker.exists()
    finally:
        shutil.rmtree(marker.parent, ignore_errors=True)
    return {"passes_lab_scanner": passes_lab, "creates_marker": ran,
            "flags_own_payload": bool(scanner(payload)),
            "flags_hidden_payloads": float(np.mean([bool(scanner(p)) for p in evasive])),
            "passes_clean_models": float(np.mean([not scanner(p) for p in hidden_clean]))}


def break_and_fix(task):
    """The reference answer. The payload calls ``io.open(marker, "w")``: ``io.open`` is
    ``builtins.open`` under another module name, which the deny-list does not list. The fix is
    an allow-list, learnt from the clean models: every global the team's model pickles import,
    and nothing else.

    Introduced in lab 11 (Supply chain).
    """
    payload = pickle.dumps(_Payload(io.open, (str(task.marker_path), "w")))
    allowed = {g for clean in task.clean_pickles for g in pickle_globals(clean)}

    def scanner(data) -> bool:
        return any(g not in allowed for g in pickle_globals(data))

    return payload, scanner


def _challenge_cases() -> list[Case]:
    return [Case((scanner_task(seed=s),), label=f"a team's models (seed {s})") for s in (0, 1)]


def _challenge_hidden_cases() -> list[Case]:
    return [Case((scanner_task(seed=s),), label=f"another team (seed {s})") for s in (101, 202)]


def _challenge_validate(got, case: Case) -> str | None:
    if not (isinstance(got, tuple) and len(got) == 2 and isinstance(got[0], bytes | bytearray)
            and callable(got[1])):
        return "return a tuple (payload bytes, scanner function)"
    out = challenge_outcome(case.args[0], got[0], got[1])
    if not out["passes_lab_scanner"]:
        return f"the lab's scanner catches your payload: {lab_scan(got[0])}"
    if not out["creates_marker"]:
        return "your payload passes the scanner but does not create task.marker_path"
    if not out["flags_own_payload"]:
        return "your scanner does not flag your own payload: the hole is still open"
    if out["flags_hidden_payloads"] < 1.0:
        return (f"your scanner flags {out['flags_hidden_payloads']:.0%} of other payloads the "
                "lab's deny-list misses: a longer deny-list is still a deny-list")
    if out["passes_clean_models"] < 1.0:
        return (f"your scanner refuses {1 - out['passes_clean_models']:.0%} of the team's "
                "legitimate models")
    return None


CHALLENGE = Exercise(
    name="break_and_fix",
    reference=break_and_fix,
    cases=_challenge_cases,
    hidden_cases=_challenge_hidden_cases,
    validate=_challenge_validate,
    compare=lambda got, expected: True,  # graded by the outcome (validate)
    hint="which module besides builtins offers open? Then: what do the team's own pickles "
         "import (pickle_globals), and why not allow only that?",
    time_limit=30.0,
)

#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (LOAD_CHECKED_WEIGHTS, RESTRICTED_LOADS, VERIFY_MANIFEST,
                                   VERIFY_SIGNATURE, CHALLENGE)

__all__ = [
    "CHALLENGE",
    "EXERCISES",
    "LAB_SCANNER_DENY_BUILTINS",
    "LAB_SCANNER_DENY_MODULES",
    "LOAD_CHECKED_WEIGHTS",
    "RESTRICTED_LOADS",
    "ScannerTask",
    "VERIFY_MANIFEST",
    "VERIFY_SIGNATURE",
    "break_and_fix",
    "challenge_outcome",
    "lab_scan",
    "load_checked_weights",
    "pickle_globals",
    "restricted_loads",
    "scanner_task",
    "verify_manifest",
    "verify_signature",
]
