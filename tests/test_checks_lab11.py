"""Lab 11's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise.

A mutant suite: for each exercise, plausible wrong answers that are NOT among its known
mistakes (the check and the grading must reject every one), and correct answers written
differently from the reference (both must accept every one). Then the challenge's task.
"""

import hashlib
import io
import pickle

import numpy as np
import pytest
from mutants import assert_enough_mutants, mutant_tests

from mlsec_helpers.checks import lab11
from mlsec_helpers.exercises import run_check

# --- exercise: verify_manifest ------------------------------------------------------------------


def _sha(b):
    return hashlib.sha256(b).hexdigest()


def vm_path_hash(files, manifest):  # hashes the path, not the content
    return {"missing": sorted(set(manifest) - set(files)),
            "added": sorted(set(files) - set(manifest)),
            "changed": sorted(p for p in set(files) & set(manifest)
                              if _sha(p.encode()) != manifest[p])}


def vm_unsorted(files, manifest):  # lists in insertion order
    return {"missing": [p for p in manifest if p not in files],
            "added": [p for p in files if p not in manifest],
            "changed": [p for p in files if p in manifest and _sha(files[p]) != manifest[p]]}


def vm_case_sensitive(files, manifest):  # upper-case digests count as changed
    return {"missing": sorted(set(manifest) - set(files)),
            "added": sorted(set(files) - set(manifest)),
            "changed": sorted(p for p in set(files) & set(manifest)
                              if _sha(files[p]) != manifest[p])}


def vm_sha512(files, manifest):
    return {"missing": sorted(set(manifest) - set(files)),
            "added": sorted(set(files) - set(manifest)),
            "changed": sorted(p for p in set(files) & set(manifest)
                              if hashlib.sha512(files[p]).hexdigest()[:64] != manifest[p].lower())}


def vm_tuple(files, manifest):  # tuples, not lists
    out = lab11.verify_manifest(files, manifest)
    return {k: tuple(v) for k, v in out.items()}


def vm_ok_flag(files, manifest):  # adds an "ok" key
    out = lab11.verify_manifest(files, manifest)
    return {**out, "ok": not any(out.values())}


def vm_changed_includes_missing(files, manifest):
    out = lab11.verify_manifest(files, manifest)
    return {**out, "changed": sorted(out["changed"] + out["missing"])}


def vm_size_compare(files, manifest):  # a file of the same size counts as unchanged
    return {"missing": sorted(set(manifest) - set(files)),
            "added": sorted(set(files) - set(manifest)),
            "changed": sorted(p for p in set(files) & set(manifest) if len(files[p]) == 0)}


def vm_loop(files, manifest):
    out = {"missing": [], "added": [], "changed": []}
    for path, digest in manifest.items():
        if path not in files:
            out["missing"].append(path)
        elif hashlib.sha256(files[path]).hexdigest() != digest.lower():
            out["changed"].append(path)
    out["added"] = [p for p in files if p not in manifest]
    return {k: sorted(v) for k, v in out.items()}


def vm_hashlib_new(files, manifest):
    def digest(b):
        h = hashlib.new("sha256")
        h.update(b)
        return h.hexdigest()

    paths = set(files) | set(manifest)
    return {"missing": sorted(p for p in paths if p not in files),
            "added": sorted(p for p in paths if p not in manifest),
            "changed": sorted(p for p in paths if p in files and p in manifest
                              and digest(files[p]).lower() != manifest[p].lower())}


def vm_bytes_compare(files, manifest):
    return {"missing": sorted(set(manifest).difference(files)),
            "added": sorted(set(files).difference(manifest)),
            "changed": sorted(p for p in set(files).intersection(manifest)
                              if hashlib.sha256(files[p]).digest()
                              != bytes.fromhex(manifest[p]))}


def vm_chunks(files, manifest):
    def digest(b):
        h = hashlib.sha256()
        for i in range(0, len(b), 7):
            h.update(b[i:i + 7])
        return h.hexdigest()

    out = {}
    out["missing"] = sorted(p for p in manifest if p not in files)
    out["added"] = sorted(p for p in files if p not in manifest)
    out["changed"] = sorted(p for p in files if p in manifest
                            and digest(files[p]) != manifest[p].casefold())
    return out


# --- exercise: restricted_loads -----------------------------------------------------------------


def _loader(check):
    class _L(pickle.Unpickler):
        def find_class(self, module, name):
            if not check(module, name):
                raise pickle.UnpicklingError(f"{module}.{name}")
            return super().find_class(module, name)

    return lambda data: _L(io.BytesIO(bytes(data))).load()


def rl_denylist(data, allowed):
    return _loader(lambda m, n: m not in ("os", "posix", "nt", "subprocess", "sys"))(data)


def rl_module_only(data, allowed):
    return _loader(lambda m, n: m in {a for a, _ in allowed})(data)


def rl_plain(data, allowed):
    return pickle.loads(bytes(data))


def rl_name_only(data, allowed):
    return _loader(lambda m, n: n in {b for _, b in allowed})(data)


def rl_none(data, allowed):  # None instead of an error
    try:
        return lab11.restricted_loads(data, allowed)
    except pickle.UnpicklingError:
        return None


def rl_value_error(data, allowed):  # the wrong exception
    try:
        return lab11.restricted_loads(data, allowed)
    except pickle.UnpicklingError as err:
        raise ValueError(str(err)) from None


def rl_prefix(data, allowed):  # allows any module that starts like an allowed one
    return _loader(lambda m, n: any(m.startswith(a.split(".")[0]) for a, _ in allowed))(data)


def rl_numpy_always(data, allowed):  # trusts everything from numpy and collections
    return _loader(lambda m, n: (m, n) in allowed or m.split(".")[0] in ("numpy",
                                                                          "collections"))(data)


def rl_set_of_strings(data, allowed):
    names = {f"{m}.{n}" for m, n in allowed}
    return _loader(lambda m, n: f"{m}.{n}" in names)(data)


def rl_lookup_after(data, allowed):
    class _L(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) not in set(allowed):
                raise pickle.UnpicklingError("not allowed")
            return super().find_class(module, name)

    return _L(io.BytesIO(data), encoding="ASCII").load()


def rl_frozenset(data, allowed):
    allowed = frozenset(tuple(p) for p in allowed)
    return _loader(lambda m, n: (m, n) in allowed)(data)


def rl_manual_import(data, allowed):
    import importlib

    class _L(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) in allowed:
                obj = importlib.import_module(module)
                for part in name.split("."):
                    obj = getattr(obj, part)
                return obj
            raise pickle.UnpicklingError(f"refused {module}.{name}")

    return _L(io.BytesIO(bytes(data))).load()


# --- exercise: load_checked_weights -------------------------------------------------------------


def _load(blob):
    from safetensors.numpy import load

    return load(bytes(blob))


def lw_no_extra(blob, expected):
    t = _load(blob)
    for k, s in expected.items():
        if k not in t or t[k].shape != tuple(s) or not np.issubdtype(t[k].dtype, np.floating):
            raise ValueError(k)
    return {k: t[k] for k in expected}


def lw_no_shape(blob, expected):
    t = _load(blob)
    if set(t) != set(expected) or any(not np.issubdtype(v.dtype, np.floating)
                                      for v in t.values()):
        raise ValueError("bad")
    return t


def lw_size_only(blob, expected):
    t = _load(blob)
    if set(t) != set(expected):
        raise ValueError("names")
    for k, s in expected.items():
        if t[k].size != int(np.prod(s)) or not np.issubdtype(t[k].dtype, np.floating):
            raise ValueError(k)
    return t


def lw_no_dtype(blob, expected):
    t = _load(blob)
    if set(t) != set(expected) or any(t[k].shape != tuple(s) for k, s in expected.items()):
        raise ValueError("bad")
    return t


def lw_no_missing(blob, expected):  # only checks the tensors present
    t = _load(blob)
    if set(t) - set(expected):
        raise ValueError("extra")
    for k, v in t.items():
        if v.shape != tuple(expected[k]) or not np.issubdtype(v.dtype, np.floating):
            raise ValueError(k)
    return t


def lw_type_error(blob, expected):  # the wrong exception
    try:
        return lab11.load_checked_weights(blob, expected)
    except ValueError as err:
        raise TypeError(str(err)) from None


def lw_list(blob, expected):  # a list of arrays instead of a dict
    return list(lab11.load_checked_weights(blob, expected).values())


def lw_float32_only(blob, expected):  # refuses float64 weights
    t = lab11.load_checked_weights(blob, expected)
    if any(v.dtype != np.float32 for v in t.values()):
        raise ValueError("float32 only")
    return t


def lw_torch(blob, expected):
    import torch
    from safetensors.torch import load

    t = load(bytes(blob))
    if sorted(t) != sorted(expected):
        raise ValueError("names")
    for k, s in expected.items():
        if tuple(t[k].shape) != tuple(s) or not torch.is_floating_point(t[k]):
            raise ValueError(k)
    return {k: v.numpy() for k, v in t.items()}


def lw_kind(blob, expected):
    t = _load(blob)
    problems = [k for k in set(t) ^ set(expected)]
    problems += [k for k in set(t) & set(expected)
                 if list(t[k].shape) != list(expected[k]) or t[k].dtype.kind != "f"]
    if problems:
        raise ValueError(f"refused: {sorted(problems)}")
    return dict(t)


def lw_safe_open(blob, expected):
    import os
    import tempfile

    from safetensors import safe_open

    fd, path = tempfile.mkstemp(suffix=".safetensors")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(bytes(blob))
        with safe_open(path, framework="numpy") as f:
            keys = set(f.keys())
            if keys != set(expected):
                raise ValueError("names differ")
            out = {k: f.get_tensor(k) for k in keys}
    finally:
        os.remove(path)
    for k, s in expected.items():
        if out[k].shape != tuple(s) or not np.issubdtype(out[k].dtype, np.floating):
            raise ValueError(k)
    return out


def lw_generator(blob, expected):
    t = _load(blob)
    ok = (set(t) == set(expected)
          and all(t[k].shape == tuple(s) for k, s in expected.items())
          and all(np.issubdtype(t[k].dtype, np.floating) for k in expected))
    if not ok:
        raise ValueError("the file does not match the architecture")
    return t


# --- exercise: verify_signature -----------------------------------------------------------------


def _key(pem):
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_public_key(bytes(pem))


def vs_nonempty(pem, data, sig):
    _key(pem)
    return len(sig) > 0


def vs_raises(pem, data, sig):  # InvalidSignature escapes
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    _key(pem).verify(bytes(sig), bytes(data), ec.ECDSA(hashes.SHA256()))
    return True


def vs_sha384(pem, data, sig):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        _key(pem).verify(bytes(sig), bytes(data), ec.ECDSA(hashes.SHA384()))
    except InvalidSignature:
        return False
    return True


def vs_hash_data(pem, data, sig):  # verifies the hex digest instead of the data
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        _key(pem).verify(bytes(sig), _sha(bytes(data)).encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def vs_bad_key_false(pem, data, sig):  # a bad key gives False instead of ValueError
    try:
        return lab11.verify_signature(pem, data, sig)
    except ValueError:
        return False


def vs_int(pem, data, sig):  # 1/0 instead of a bool
    return int(lab11.verify_signature(pem, data, sig))


def vs_prefix(pem, data, sig):  # verifies only the first 100 bytes
    return lab11.verify_signature(pem, bytes(data)[:100], sig)


def vs_string(pem, data, sig):
    return "valid" if lab11.verify_signature(pem, data, sig) else "invalid"


def vs_try_else(pem, data, sig):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = _key(pem)
    try:
        key.verify(bytes(sig), bytes(data), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        ok = False
    else:
        ok = True
    return ok


def vs_prehashed(pem, data, sig):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils

    digest = hashlib.sha256(bytes(data)).digest()
    try:
        _key(pem).verify(bytes(sig), digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        return True
    except InvalidSignature:
        return False


def vs_isinstance(pem, data, sig):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = _key(pem)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("not an EC key")
    try:
        key.verify(sig, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def vs_bool_call(pem, data, sig):
    return bool(lab11.verify_signature.__wrapped__(pem, data, sig)) \
        if hasattr(lab11.verify_signature, "__wrapped__") else vs_try_else(pem, data, sig)


# --- the challenge ------------------------------------------------------------------------------


class _P:
    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _allow(task):
    allowed = {g for c in task.clean_pickles for g in lab11.pickle_globals(c)}
    return lambda data: any(g not in allowed for g in lab11.pickle_globals(data))


def ch_caught_payload(task):  # os.system-like import the lab's scanner catches
    import shutil

    return pickle.dumps(_P(shutil.copy, ("a", "b"))), _allow(task)


def ch_no_marker(task):  # passes the scanner but never writes the marker
    import operator

    return pickle.dumps(_P(operator.add, (1, 2))), _allow(task)


def ch_denylist_fix(task):  # closes its own hole with a longer deny-list
    payload = pickle.dumps(_P(io.open, (str(task.marker_path), "w")))
    return payload, lambda d: bool(lab11.lab_scan(d)) or ("io", "open") in lab11.pickle_globals(d)


def ch_no_fix(task):  # the lab's scanner unchanged
    payload = pickle.dumps(_P(io.open, (str(task.marker_path), "w")))
    return payload, lambda d: bool(lab11.lab_scan(d))


def ch_paranoid(task):  # refuses everything, legitimate models too
    payload = pickle.dumps(_P(io.open, (str(task.marker_path), "w")))
    return payload, lambda d: True


def ch_not_bytes(task):
    return str(task.marker_path), _allow(task)


def ch_scanner_only(task):
    return _allow(task)


def ch_sklearn_denied(task):  # allow-list without the model classes
    payload = pickle.dumps(_P(io.open, (str(task.marker_path), "w")))
    allowed = {g for c in task.clean_pickles for g in lab11.pickle_globals(c)
               if not g[0].startswith("sklearn")}
    return payload, lambda d: any(g not in allowed for g in lab11.pickle_globals(d))


def ch_codecs(task):
    import codecs

    return pickle.dumps(_P(codecs.open, (str(task.marker_path), "w"))), _allow(task)


def ch_pathlib_touch(task):
    import pathlib

    return (pickle.dumps(_P(pathlib.Path.touch, (pathlib.Path(task.marker_path),))),
            _allow(task))


def ch_numpy_save(task):
    target = str(task.marker_path)
    path_no_suffix = target[:-4] if target.endswith(".npy") else target

    class _Save:
        def __reduce__(self):
            return np.savetxt, (path_no_suffix, np.zeros(1))

    return pickle.dumps(_Save()), _allow(task)


def ch_protocol0(task):
    payload = pickle.dumps(_P(io.open, (str(task.marker_path), "w")), protocol=0)
    return payload, _allow(task)


WRONG = [
    (lab11.VERIFY_MANIFEST, f) for f in (vm_path_hash, vm_unsorted, vm_case_sensitive, vm_sha512,
                                         vm_tuple, vm_ok_flag, vm_changed_includes_missing,
                                         vm_size_compare)
] + [
    (lab11.RESTRICTED_LOADS, f) for f in (rl_denylist, rl_module_only, rl_plain, rl_name_only,
                                          rl_none, rl_value_error, rl_prefix, rl_numpy_always)
] + [
    (lab11.LOAD_CHECKED_WEIGHTS, f) for f in (lw_no_extra, lw_no_shape, lw_size_only,
                                              lw_no_dtype, lw_no_missing, lw_type_error,
                                              lw_list, lw_float32_only)
] + [
    (lab11.VERIFY_SIGNATURE, f) for f in (vs_nonempty, vs_raises, vs_sha384, vs_hash_data,
                                          vs_bad_key_false, vs_int, vs_prefix, vs_string)
] + [
    (lab11.CHALLENGE, f) for f in (ch_caught_payload, ch_no_marker, ch_denylist_fix, ch_no_fix,
                                   ch_paranoid, ch_not_bytes, ch_scanner_only, ch_sklearn_denied)
]

RIGHT = [
    (lab11.VERIFY_MANIFEST, f) for f in (vm_loop, vm_hashlib_new, vm_bytes_compare, vm_chunks)
] + [
    (lab11.RESTRICTED_LOADS, f) for f in (rl_set_of_strings, rl_lookup_after, rl_frozenset,
                                          rl_manual_import)
] + [
    (lab11.LOAD_CHECKED_WEIGHTS, f) for f in (lw_torch, lw_kind, lw_safe_open, lw_generator)
] + [
    (lab11.VERIFY_SIGNATURE, f) for f in (vs_try_else, vs_prehashed, vs_isinstance,
                                          vs_bool_call)
] + [
    (lab11.CHALLENGE, f) for f in (ch_codecs, ch_pathlib_touch, ch_numpy_save, ch_protocol0)
]


def test_the_suite_has_enough_mutants_for_every_exercise():
    assert_enough_mutants(lab11.EXERCISES, WRONG, RIGHT)


(test_a_wrong_answer_is_rejected_by_the_check_and_the_grading,
 test_a_correct_answer_written_differently_is_accepted) = mutant_tests(WRONG, RIGHT)


# --- the challenge's task -----------------------------------------------------------------------


def test_the_task_is_read_only_and_its_folder_exists_only_while_grading():
    task = lab11.scanner_task(seed=3)
    folder = task.marker_path.parent
    assert not folder.exists()
    with pytest.raises(AttributeError):
        task.marker_path = "elsewhere"
    with pytest.raises(AttributeError):
        task.clean_pickles = ()
    lab11.challenge_outcome(task, *lab11.break_and_fix(task))
    assert not folder.exists()


def test_the_lab_scanner_catches_the_obvious_and_misses_the_evasive():
    import shutil

    assert lab11.lab_scan(pickle.dumps(_P(shutil.rmtree, ("x",))))
    assert lab11.lab_scan(pickle.dumps(_P(eval, ("1",))))
    assert not lab11.lab_scan(pickle.dumps(_P(io.open, ("x", "w"))))
    assert not lab11.lab_scan(pickle.dumps({"w": np.ones(3)}))


def test_the_outcome_removes_the_marker_and_needs_a_task():
    task = lab11.scanner_task(seed=4)
    payload, scanner = lab11.break_and_fix(task)
    out = lab11.challenge_outcome(task, payload, scanner)
    assert out == {"passes_lab_scanner": True, "creates_marker": True, "flags_own_payload": True,
                   "flags_hidden_payloads": 1.0, "passes_clean_models": 1.0}
    assert not task.marker_path.exists()
    with pytest.raises(TypeError):
        lab11.challenge_outcome(object(), payload, scanner)


def test_a_longer_deny_list_is_told_why_it_fails():
    result = run_check(lab11.CHALLENGE, ch_denylist_fix)
    assert result.status == "wrong" and "deny-list" in result.line()


def test_pickle_globals_reads_memoised_stack_globals():
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(np.random.rand(10, 2), np.arange(10) % 2)
    found = lab11.pickle_globals(pickle.dumps([model, model.coef_], protocol=5))
    assert ("sklearn.linear_model._logistic", "LogisticRegression") in found
    assert lab11.pickle_globals(pickle.dumps([1, "a", 2.0])) == []
