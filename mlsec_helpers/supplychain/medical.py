"""Medical: lab 00's diagnosis model exported to ONNX, a format that carries a graph, not code.

The diagnosis model (a scikit-learn pipeline: standardisation, then logistic regression) would
usually be saved with pickle or joblib, which run code when loaded. Exported to ONNX with
skl2onnx (:func:`export_onnx`) it becomes a protobuf graph of standard operators (here the
``ai.onnx.ml`` ``Scaler`` and ``LinearClassifier``), run by onnxruntime
(:func:`onnx_predict_proba`) with the same probabilities (:func:`onnx_parity`). What the file
holds can be listed without running it (:func:`onnx_inventory`), and its bytes are no pickle
(:func:`contains_pickle`).

What ONNX does not protect: a changed graph is still a valid model. Shifting the classifier's
intercepts (:func:`shift_onnx_intercepts`, by :func:`intercept_shift_for`) makes it miss
malignant cases (:func:`diagnosis_errors`) while ``onnx.checker`` accepts it and onnxruntime
runs it; a signature (:mod:`~mlsec_helpers.supplychain.integrity`) catches it.

Introduced in lab 11 (Supply chain).
"""

from __future__ import annotations

import io
import os
import pickletools
import sys
import zipfile
from pathlib import Path

import numpy as np

from ..stats import proportion
from ..validate import (
    ArgumentTypeError,
    check_array,
    check_fitted,
    check_fraction,
    check_labels,
    check_number,
    check_path,
)
from .results import DiagnosisErrors, OnnxInventory, OnnxParity

__all__ = [
    "STANDARD_ONNX_DOMAINS",
    "contains_pickle",
    "diagnosis_errors",
    "export_onnx",
    "intercept_shift_for",
    "onnx_inventory",
    "onnx_parity",
    "onnx_predict_proba",
    "shift_onnx_intercepts",
]

STANDARD_ONNX_DOMAINS = ("ai.onnx", "ai.onnx.ml")
"""The operator domains every ONNX runtime implements (``""`` is ``ai.onnx``); any other
domain needs a custom-operator library, which is native code.

Introduced in lab 11 (Supply chain)."""






def _new(value, name: str) -> Path:
    path = check_path(value, name)
    if path.exists():
        raise FileExistsError(f"{name} {path} exists: it is never overwritten")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _sklearn_classifier(system):
    from ..systems import SklearnSystem

    if not isinstance(system, SklearnSystem):
        raise ArgumentTypeError(f"system must be a course SklearnSystem (the diagnosis model), "
                                f"got {type(system).__name__}")
    check_fitted(system, "system")
    return system.estimator


def export_onnx(system, X_sample, path) -> Path:
    """Export a fitted scikit-learn course system (the diagnosis pipeline) to ONNX with
    ``skl2onnx.to_onnx`` and write it to ``path`` (a new file). ``X_sample`` (a few rows of
    features) fixes the input's width; the input is float32 and the classifier's output is a
    plain probability matrix (``zipmap`` off). Returns ``path``.

    Introduced in lab 11 (Supply chain).
    """
    from skl2onnx import to_onnx

    estimator = _sklearn_classifier(system)
    X_sample = check_array(X_sample, "X_sample", ndim=2)
    path = _new(path, "path")
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    options = {id(final): {"zipmap": False}} if hasattr(final, "predict_proba") else None
    model = to_onnx(estimator, X_sample[:1], options=options)
    path.write_bytes(model.SerializeToString())
    return path


def _onnxruntime():
    """onnxruntime, imported with its telemetry off. onnxruntime 1.32 on Linux writes a device
    id and an event database under ``~/.cache/Microsoft/DeveloperTools/.onnxruntime`` (or
    ``$XDG_CACHE_HOME``) when it is first imported (``python -c "import onnxruntime"`` creates
    ``deviceid`` and ``onnxruntime.db`` there) unless ``ORT_DISABLE_TELEMETRY`` is set at that
    moment; the lab writes nothing outside its own folder. The variable is set for the import
    only, then restored."""
    if "onnxruntime" in sys.modules:
        return sys.modules["onnxruntime"]
    before = os.environ.get("ORT_DISABLE_TELEMETRY")
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    try:
        import onnxruntime
    finally:
        if before is None:
            del os.environ["ORT_DISABLE_TELEMETRY"]
        else:
            os.environ["ORT_DISABLE_TELEMETRY"] = before
    return onnxruntime


def onnx_predict_proba(path, X) -> np.ndarray:
    """Class probabilities of the ONNX classifier at ``path`` for the rows of ``X``, computed by
    onnxruntime on the CPU with one thread (nothing is written: no optimised-model file, no
    profile; onnxruntime's telemetry files are not written either, see ``_onnxruntime``).

    Introduced in lab 11 (Supply chain).
    """
    ort = _onnxruntime()

    path = check_path(path, "path", kind="file")
    X = check_array(X, "X", ndim=2)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ValueError(f"the ONNX model must take one input, it takes {len(inputs)}")
    outputs = {o.name: o for o in session.get_outputs()}
    if "probabilities" not in outputs:
        raise ValueError(f"the ONNX model has no 'probabilities' output (outputs: "
                         f"{', '.join(outputs)}): export a classifier with zipmap off")
    (proba,) = session.run(["probabilities"], {inputs[0].name: X})
    return np.asarray(proba, dtype=np.float64)


def onnx_parity(system, path, X) -> OnnxParity:
    """Run the scikit-learn system and its ONNX export on ``X``: the largest difference of
    their probabilities and the share of rows whose labels agree.

    Introduced in lab 11 (Supply chain).
    """
    _sklearn_classifier(system)
    X = check_array(X, "X", ndim=2)
    ours, theirs = system.predict_proba(X), onnx_predict_proba(path, X)
    if ours.shape != theirs.shape:
        raise ValueError(f"the ONNX model gives probabilities of shape {theirs.shape}, the "
                         f"system {ours.shape}")
    agree = ours.argmax(1) == theirs.argmax(1)
    return OnnxParity(float(np.abs(ours - theirs).max()),
                      proportion(agree, on=f"{len(X)} inputs"), len(X))


def _parses_as_pickle(data: bytes) -> bool:
    """A pickle stream starts with PROTO (protocol 2 and later) or parses to STOP (0 and 1)."""
    try:
        ops = pickletools.genops(io.BytesIO(data))
        first = next(ops)[0].name
        if first == "PROTO":
            return True
        return any(op.name == "STOP" for op, _, _ in ops)
    except Exception:  # any byte that is no opcode ends the parse: not a pickle
        return False


def contains_pickle(path) -> bool:
    """True when the file's bytes (or, for a zip archive such as a torch file, one of its
    members) parse as a pickle stream: opened by ``pickle.load``, it would run whatever its
    opcodes call. Compressed files (gzip, xz) are not opened: they report False.

    Introduced in lab 11 (Supply chain).
    """
    path = check_path(path, "path", kind="file")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return any(_parses_as_pickle(archive.read(name)) for name in archive.namelist())
    return _parses_as_pickle(path.read_bytes())


def onnx_inventory(path) -> OnnxInventory:
    """What the ONNX file at ``path`` holds, read with ``onnx.load`` (external data not
    loaded) and never run: its operators, operator sets, domains outside the standard ones
    (:data:`STANDARD_ONNX_DOMAINS`), local functions, external data files, the checker's
    verdict, whether it is a pickle, and its producer.

    Introduced in lab 11 (Supply chain).
    """
    import onnx

    path = check_path(path, "path", kind="file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise ValueError(f"{path} is not an ONNX model: {exc}") from None
    domain = lambda d: d or "ai.onnx"  # noqa: E731
    nodes = list(model.graph.node) + [n for f in model.functions for n in f.node]
    operators = tuple(f"{domain(n.domain)}:{n.op_type}" for n in nodes)
    opsets = {domain(o.domain): int(o.version) for o in model.opset_import}
    custom = tuple(sorted({domain(n.domain) for n in nodes} - set(STANDARD_ONNX_DOMAINS)
                          - {f.domain for f in model.functions}))
    external = tuple(sorted({entry.value for t in model.graph.initializer
                             if t.data_location == onnx.TensorProto.EXTERNAL
                             for entry in t.external_data if entry.key == "location"}))
    try:
        onnx.checker.check_model(model)
        checker_ok = True
    except onnx.checker.ValidationError:
        checker_ok = False
    return OnnxInventory(operators, opsets, custom, len(model.functions), external, checker_ok,
                         contains_pickle(path),
                         f"{model.producer_name} {model.producer_version}".strip())


def intercept_shift_for(system, X, y, *, share: float = 0.5) -> float:
    """The amount by which lowering the malignant class's logit makes the logistic-regression
    system classify ``share`` of the malignant cases (label 1) of ``(X, y)`` as benign: the
    ``share`` quantile of their logits (the attacker's choice of a tampering that misses
    cancers, computed from data the attacker holds).

    Introduced in lab 11 (Supply chain).
    """
    estimator = _sklearn_classifier(system)
    X = check_array(X, "X", ndim=2)
    y = check_labels(y, len(X), "y", n_classes=2)
    share = check_fraction(share, "share", allow_zero=False)
    if not hasattr(estimator, "decision_function"):
        raise ArgumentTypeError("the system's estimator has no decision_function (logits)")
    logits = np.asarray(estimator.decision_function(X), dtype=np.float64)[y == 1]
    if logits.size == 0:
        raise ValueError("y holds no malignant case (label 1)")
    return float(max(np.quantile(logits, share), 0.0))


def shift_onnx_intercepts(path, dest, shifts) -> Path:
    """Copy the ONNX classifier at ``path`` to ``dest`` (a new file) with ``shifts`` added to
    the ``intercepts`` of its one ``ai.onnx.ml`` ``LinearClassifier`` node (one shift per
    intercept; skl2onnx writes a binary logistic regression as two opposite intercepts, so
    ``[+d, -d]`` lowers class 1's logit by ``d``). Nothing else changes: the result passes
    ``onnx.checker`` and runs. Returns ``dest``.

    Introduced in lab 11 (Supply chain).
    """
    import onnx

    path = check_path(path, "path", kind="file")
    shifts = check_array(shifts, "shifts", ndim=1, dtype=np.float64)
    model = onnx.load(str(path), load_external_data=False)
    nodes = [n for n in model.graph.node if n.op_type == "LinearClassifier"]
    if len(nodes) != 1:
        raise ValueError(f"the model must hold one LinearClassifier node, it holds "
                         f"{len(nodes)}")
    (attribute,) = [a for a in nodes[0].attribute if a.name == "intercepts"]
    if len(attribute.floats) != len(shifts):
        raise ValueError(f"shifts must have one value per intercept ({len(attribute.floats)}), "
                         f"got {len(shifts)}")
    new = [float(v + s) for v, s in zip(attribute.floats, shifts, strict=True)]
    del attribute.floats[:]
    attribute.floats.extend(new)
    dest = _new(dest, "dest")
    dest.write_bytes(model.SerializeToString())
    return dest


def diagnosis_errors(proba, y, *, threshold: float = 0.5, on: str = "") -> DiagnosisErrors:
    """Missed malignant cases, false alarms and accuracy of probabilities ``proba`` (an
    (n, 2) matrix, or the malignant probability per case) against labels ``y`` (1 =
    malignant), a case being called malignant when its probability reaches ``threshold``.

    Introduced in lab 11 (Supply chain).
    """
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim == 2:
        if proba.shape[1] != 2:
            raise ValueError(f"proba must be (n, 2) or (n,), got shape {proba.shape}")
        proba = proba[:, 1]
    proba = check_array(proba, "proba", ndim=1, dtype=np.float64)
    y = check_labels(y, len(proba), "y", n_classes=2)
    threshold = check_number(threshold, "threshold", low=0.0, high=1.0)
    called = proba >= threshold
    if not (y == 1).any() or not (y == 0).any():
        raise ValueError("y must hold both malignant (1) and benign (0) cases")
    on = on or f"{len(y)} patients"
    return DiagnosisErrors(
        proportion(~called[y == 1], on=f"{int((y == 1).sum())} malignant cases of {on}"),
        proportion(called[y == 0], on=f"{int((y == 0).sum())} benign cases of {on}"),
        proportion(called == (y == 1), on=on))
