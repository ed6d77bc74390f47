# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 11 · The model supply chain: loading a model can run code
#
# Teams download pretrained models, share checkpoints, and ship model files through registries,
# buckets and containers. The most common model formats are Python pickles, and unpickling a file
# runs whatever code its author put in it. This lab builds a (benign) malicious model for each of
# the five systems, watches it run, measures what today's scanners catch and miss, and then
# closes the door properly: formats that cannot carry code, allow-lists instead of deny-lists,
# hashes and signatures that prove a file is the one that was reviewed, and an inventory of the
# software the models depend on.
#
# **Learning objectives.** After this lab you can
# 1. explain why `pickle.load`, `torch.load(weights_only=False)` and `joblib.load` run code,
#    and show it with a payload;
# 2. run picklescan, modelscan and fickling, read their verdicts, and say why a clean scan is
#    not proof of safety (the attacker adapts to the scanner);
# 3. save and load each system in a format that cannot carry code (safetensors, skops with
#    trusted types, ONNX) and check what you load against the architecture;
# 4. build and verify a manifest of hashes and a signature of a model folder, and catch a
#    changed bit, an added file and the wrong key;
# 5. pin dependencies, produce a software bill of materials (CycloneDX), and place each control
#    in a secure development lifecycle mapped to SAIF and the NIST CSF.
#
# **Prerequisites:** lab 00; Python's `pickle` at the level of "it saves objects".
# **Estimated time:** about 205 minutes of reading, exercises and questions (estimated from
# the notebook; the notebook itself runs in under a minute).
#
# **Safety.** The "malicious" models of this lab are benign: unpickling one writes a marker file
# inside the lab's temporary folder and nothing else. The lab writes nothing outside that
# folder, and removes the folder at the end.


# %%
import json
import pickle
import shutil
import time
from importlib import metadata as sdl_metadata

import joblib
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import skops.io as sio
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from IPython.display import Markdown, display
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from mlsec_helpers import (
    catalogue,
    claims,
    frameworks,
    plots,
    repro,
    stats,
    supplychain,
    systems,
)
from mlsec_helpers.checks import lab11
from mlsec_helpers.data import load_dataset
from mlsec_helpers.exercises import check, grade

info = repro.setup(seed=0)  # seeds python, numpy and torch; caps threads; picks the device
seed = info["seed"]  # every model this lab trains live, and every attack's randomness
print(info)
display(Markdown(frameworks.lab_header_markdown(11)))
SUMMARY = {}  # one row per domain, for the summary at the end
import os
import tempfile
from pathlib import Path

# onnxruntime (section 5) writes telemetry files into ~/.cache unless this is set before it loads
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
LAB_DIR = Path(tempfile.mkdtemp(prefix="mlsec_lab11_"))  # everything the lab writes goes here
print(f"the lab writes only inside {LAB_DIR} (removed at the end of the lab)")


# %% [markdown]
# ## The threat in one picture
#
# A model file travels from whoever trained it to whoever loads it, through hands and storage
# the loader does not control. An attacker who can change the file on the way (or publish a
# model of their own) gets code execution on the loading machine if the format runs code, and
# a silently different model if nobody checks what was loaded.


# %%
supplychain.supply_chain_diagram()


# %% [markdown]
# ## 1 · Image: a torch file that runs code when it is loaded
#
# **The file.** `torch.save` writes a zip archive whose `data.pkl` is a Python pickle. A pickle
# is a small program for a stack machine: it can name any importable callable and the
# arguments to call it with, and `pickle` calls it while loading (that is how `__reduce__`
# rebuilds objects). So a model file can carry code that runs the moment someone loads it.
#
# **Our payload is benign.** `supplychain.common.marker_payload` builds an object whose
# pickle calls `builtins.exec` on one line, `with open(<marker>, 'w') as f: f.write(...)`: it
# writes one marker file inside this lab's temporary folder and does nothing else (the helper
# refuses any path outside the temporary folder). `exec` is what real malicious checkpoints
# use, so the scanners below see something realistic. We put it next to the weights of lab
# 00's digit reader, under a key `training_args`, as a poisoned checkpoint on a model hub
# would.


# %%

img_t0 = time.perf_counter()
img_dir = LAB_DIR / "image"
img_dir.mkdir()
# the lesson is about the file, not the weights: lab 00's checkpoint serves every seed
img_system = systems.reference_system("image", seed=0)
print(f"digit reader: {img_system.source_}")
img_data = load_dataset("image", seed=0)
img_X, img_n = img_data.X_test, len(img_data.X_test)
img_pred = img_system.predict_proba(img_X).argmax(1)
img_on = f"the {img_n:,} test digits"

img_clean = supplychain.save_checkpoint(img_system, img_dir / "digits_clean.pt")
img_marker = img_dir / "marker_exec.txt"
img_bad = supplychain.save_checkpoint_with_payload(img_system, img_dir / "digits_payload.pt",
                                                img_marker, via="exec")
for img_f in (img_clean, img_bad):
    print(f"{img_f.name}: {img_f.stat().st_size:,} bytes, SHA-256 "
          f"{supplychain.sha256_file(img_f)[:16]}...")
print(f"marker present before any load: {supplychain.payload_ran(img_marker)}")


# %% [markdown]
# **Loading it.** First as older code and many tutorials did, `torch.load(f,
# weights_only=False)`; then with torch's default since 2.6, `weights_only=True`, which
# unpickles with an **allow-list** of the few globals a tensor checkpoint needs and refuses
# everything else. The clean checkpoint is the control: the allow-list must still load it.


# %%
img_unsafe = supplychain.try_torch_load(img_bad, img_marker, weights_only=False)
img_fresh = systems.DigitsCNN(seed=0).restore(img_unsafe.value["model"],
                                               image_side=img_X.shape[2])
img_same_unsafe = stats.proportion(img_fresh.predict_proba(img_X).argmax(1) == img_pred,
                                   on=img_on)
print(f"weights_only=False: loaded {img_unsafe.loaded}, marker appeared "
      f"{img_unsafe.payload_ran}; the weights work: same predictions {img_same_unsafe}")
img_default = supplychain.try_torch_load(img_bad, img_marker)
img_default_clean = supplychain.try_torch_load(img_clean, img_marker)
print(f"default torch.load (weights_only=True): {img_default.error_type}: "
      f"{img_default.error.split(' Please use')[0]}")
print(f"  refused import: {img_default.blocked_global}; marker appeared "
      f"{img_default.payload_ran}; the clean checkpoint loads: {img_default_clean.loaded}")
claims.claim("image: torch.load(weights_only=False) runs the payload (the marker appears)",
             float(img_unsafe.payload_ran), at_least=1)
claims.claim("image: default torch.load refuses the payload file, marker absent, and loads "
             "the clean one", float(not img_default.loaded and not img_default.payload_ran
                                    and img_default_clean.loaded), at_least=1)


# %% [markdown]
# The unsafe load gave back working weights: nothing tells the user that code ran. The
# default load refused the file, naming the import it does not allow.


# %% [markdown]
# ### A format with nothing to unpickle: safetensors
#
# A `.safetensors` file is an 8-byte length, a JSON header (each tensor's dtype, shape and
# byte offsets, plus optional string metadata) and the raw bytes. Its loader parses JSON and
# copies bytes; there is no step at which it could call anything. We save the weights, load
# them into a fresh CNN, and then try three ways to smuggle the payload in.


# %%
img_st = supplychain.save_safetensors(img_system, img_dir / "digits.safetensors")
img_header = supplychain.safetensors_header(img_st)
display(plots.table(pd.DataFrame([{"tensor": k, **v} for k, v in img_header.items()
                                  if k != "__metadata__"][:4]),
                    caption="The first entries of the safetensors header: data only"))
img_st_system = supplychain.load_safetensors_system(img_st)
img_same_st = stats.proportion(img_st_system.predict_proba(img_X).argmax(1) == img_pred,
                               on=img_on)
print(f"safetensors round trip: same predictions as the original on {img_same_st}")
img_marker_st = img_dir / "marker_safetensors.txt"
img_attempts = supplychain.safetensors_payload_attempts(img_system, img_dir, img_marker_st)
display(plots.table(img_attempts, caption="Three attempts to put the payload in safetensors"))
claims.claim(f"image: safetensors gives identical predictions ({img_on}) and none of the 3 "
             "smuggling attempts runs the payload",
             float(img_same_st.value == 1 and not img_attempts["payload_ran"].any()),
             at_least=1)


# %% [markdown]
# The metadata attempt is the control: the payload's pickle bytes *are* inside that file,
# saved and loaded, and they come back as a string, because nothing in the loader unpickles.


# %% [markdown]
# ### Exercise 1 · Load weights that match the architecture
#
# A safetensors file cannot run code, but it can still hold the wrong tensors: an extra layer,
# a reshaped matrix, integers where weights should be. Write `load_checked_weights(blob,
# expected)`: load the tensors of a safetensors file (`blob`, the file's bytes; use
# `safetensors.numpy.load`) and check them against the architecture, `expected`, which maps each
# tensor name to its shape (a tuple). Raise `ValueError` if a name is missing or extra, if a
# shape differs, or if a tensor is not floating point; otherwise return the dict of arrays.


# %%
def load_checked_weights(blob, expected):
    ### BEGIN SOLUTION
    from safetensors.numpy import load

    tensors = load(bytes(blob))
    if set(tensors) != set(expected):
        raise ValueError(f"tensor names differ: missing {sorted(set(expected) - set(tensors))}, "
                         f"extra {sorted(set(tensors) - set(expected))}")
    for name, shape in expected.items():
        if tuple(tensors[name].shape) != tuple(shape):
            raise ValueError(f"{name} has shape {tensors[name].shape}, expected {shape}")
        if not np.issubdtype(tensors[name].dtype, np.floating):
            raise ValueError(f"{name} has dtype {tensors[name].dtype}, not floating point")
    return tensors
    ### END SOLUTION


# %%
### POINTS: 1
load_checked_weights = check(lab11.LOAD_CHECKED_WEIGHTS, load_checked_weights)
### BEGIN HIDDEN TESTS
grade(lab11.LOAD_CHECKED_WEIGHTS, load_checked_weights)
### END HIDDEN TESTS


# %%
# Your loader on the digit reader's safetensors file, against the architecture's own shapes;
# then on a copy with one extra tensor (a second head an attacker could route to).

img_expected = {k: tuple(v.shape) for k, v in img_system.model.state_dict().items()}
img_ex_loaded = load_checked_weights(img_st.read_bytes(), img_expected)
print(f"loaded {len(img_ex_loaded)} tensors matching the architecture")
img_ex_extra = st_save({**st_load(img_st.read_bytes()),
                        "head2.weight": np.zeros((10, 4), np.float32)})
try:
    load_checked_weights(img_ex_extra, img_expected)
    print("the extra tensor went unnoticed")
except ValueError as err:
    print(f"refused: {err}")


# %% [markdown]
# ### Scanners: deny-lists, measured
#
# A model hub cannot make every user load safely, so it scans uploads. picklescan and
# modelscan read the pickle's opcodes without running them and flag imports on their
# **deny-lists** (`exec`, `os.system`, ...); fickling decompiles the pickle and grades what
# it does. Each verdict below is a real run of the installed tool.


# %%
img_versions = supplychain.scanner_versions()
print("scanner versions:", ", ".join(f"{k} {v}" for k, v in img_versions.items()))
img_scans = supplychain.scan_table({"clean checkpoint (.pt)": img_clean,
                                  "payload exec (.pt)": img_bad,
                                  "weights (.safetensors)": img_st})
display(plots.table(supplychain.scan_matrix(img_scans),
                    caption="Each scanner's verdict (and its own severity) on each file"))
img_v = {(r.file, r.scanner): bool(r.flagged) for r in img_scans.itertuples()}
img_deny_right = sum([img_v[("payload exec (.pt)", s)] for s in ("picklescan", "modelscan")]
                     + [not img_v[("clean checkpoint (.pt)", s)]
                        for s in ("picklescan", "modelscan")])
print(f"picklescan and modelscan: {img_deny_right} of 4 verdicts right (payload flagged, "
      f"clean passed); fickling flags the clean checkpoint: "
      f"{img_v[('clean checkpoint (.pt)', 'fickling')]}")
claims.claim("image: picklescan and modelscan flag the exec payload and pass the clean file",
             img_deny_right, at_least=4)
claims.claim("image: fickling flags the clean torch checkpoint too (a false alarm)",
             float(img_v[("clean checkpoint (.pt)", "fickling")]), at_least=1)


# %% [markdown]
# fickling flags every torch checkpoint, clean ones included: it calls torch's own
# tensor-rebuilding imports "not part of the standard library ... inherently unsafe". Its
# *severity* still ranks the payload above the clean file. On the safetensors file, fickling
# reports a parse error, which it also counts as unsafe.


# %% [markdown]
# ### The adaptive attacker
#
# **What it knows:** which scanners the hub runs, and their deny-lists (they are public
# source code). **What it sees:** only each scanner's verdict on its upload, the way a hub
# shows a "safe"/"unsafe" badge. **Its goal:** a checkpoint whose payload still runs under
# `weights_only=False`, and which stands out from a clean checkpoint to no scanner (for
# fickling, which flags every torch file, that means a severity no higher than the clean
# file's). It tries four callables that write the marker, `exec`, `pathlib.Path.write_text`,
# `torch.save` (the loader's own save function) and `numpy.savetxt`, in torch's default
# pickle protocol 2 and in protocol 4, and counts every scan it spends.


# %%
img_attacker_dir = img_dir / "attacker"
img_attacker_dir.mkdir()
img_search = supplychain.search_evasive_payload(
    img_system, img_attacker_dir, vias=("exec", "write_text", "torch_save", "savetxt"))
display(plots.table(img_search.table.drop(columns=[c for c in img_search.table.columns
                                                   if c.endswith("_passes")]),
                    caption="The attacker's candidates: every scanner's real verdict"))
img_chosen = img_search.chosen_file
img_callables = {"exec": "builtins.exec", "write_text": "pathlib.Path.write_text",
                 "torch_save": "torch.save", "savetxt": "numpy.savetxt"}
print(f"chosen: payload via {img_search.chosen_via}, protocol {img_search.chosen_protocol} "
      f"({img_chosen.name}), after {img_search.queries} scans; it stands out to none of "
      f"{', '.join(img_search.evaded)}")
claims.claim("image: the adaptive payload stands out from a clean checkpoint to no scanner "
             "(picklescan and modelscan do not flag it)", len(img_search.evaded), at_least=3)


# %% [markdown]
# `write_text` in protocol 2 is caught only because protocol 2 spells a method as
# `getattr(Path, 'write_text')`, and `getattr` is on the deny-lists; the same call in
# protocol 4 passes. `torch.save` and `numpy.savetxt` are on no list: a deny-list only knows
# the dangerous callables someone thought of, and Python has thousands that write a file.


# %% [markdown]
# ### What still stops it: allow-lists
#
# `weights_only=True` does not ask "is this import known to be dangerous?" but "is it one of
# the few a checkpoint needs?". picklescan has the same switch (`--strict`: any import not on
# its safe list counts as dangerous). Both on every candidate, with the clean file as control.


# %%
img_loads = {f: supplychain.try_torch_load(img_attacker_dir / f, img_attacker_dir / "marker.txt")
             for f in img_search.table.file}
img_strict = {f: supplychain.scan_file(img_attacker_dir / f, "picklescan", strict=True).flagged
              for f in img_search.table.file}
img_strict_clean = supplychain.scan_file(img_clean, "picklescan", strict=True)
img_refused = stats.proportion([not a.loaded and not a.payload_ran for a in img_loads.values()],
                               on=f"{len(img_loads)} candidate payload files")
img_strict_rate = stats.proportion(list(img_strict.values()),
                                   on=f"{len(img_strict)} candidate payload files")
img_chosen_load = img_loads[img_chosen.name]
print(f"default torch.load refuses, marker absent: {img_refused}")
print(f"  on the chosen file it refused {img_chosen_load.blocked_global!r}; "
      f"protocol-4 files fail earlier ({img_loads[img_search.table.file.iloc[-1]].error})")
print(f"picklescan --strict flags: {img_strict_rate}; the clean checkpoint: "
      f"{'flagged' if img_strict_clean.flagged else 'passed'}")
claims.claim("image: the allow-lists stop every candidate (torch.load's default refuses, "
             "marker absent; picklescan --strict flags) and pass the clean file",
             float(img_refused.value == 1 and img_strict_rate.value == 1
                   and not img_strict_clean.flagged and img_default_clean.loaded), at_least=1)


# %%
img_rows = ["clean checkpoint (.pt)", "payload exec (.pt)"] + [
    f"{v} p{p}" for v, p in zip(img_search.table.via, img_search.table.protocol, strict=True)]
img_files = [img_clean, img_bad] + [img_attacker_dir / f for f in img_search.table.file]
img_cols = ["picklescan", "modelscan", "fickling", "picklescan --strict",
            "torch.load default refuses"]
img_z = []
for img_f in img_files:
    img_row = [float(supplychain.scan_file(img_f, s).flagged) for s in supplychain.SCANNERS]
    img_row.append(float(supplychain.scan_file(img_f, "picklescan", strict=True).flagged))
    img_row.append(float(not supplychain.try_torch_load(img_f, img_dir / "marker_fig.txt").loaded))
    img_z.append(img_row)
img_fig = plots.heatmap(np.array(img_z), img_cols, img_rows, colorscale="Reds",
                        title="Flagged or refused (1) / passed (0): deny-lists against "
                              "allow-lists")
img_fig.show()


# %% [markdown]
# ### Integrity: is this the file that was published?
#
# Scanners guess; a hash knows. The publisher records the SHA-256 of the clean checkpoint and
# of the safetensors file; a downloader compares. The tamperings: the exec payload, the
# attacker's chosen file, and one flipped bit in the safetensors weights (which safetensors
# loads without complaint: it is a valid file with one changed number).


# %%
img_published = {"pt": supplychain.sha256_file(img_clean), "st": supplychain.sha256_file(img_st)}
img_flipped = img_dir / "digits_flipped.safetensors"
img_bytes = bytearray(img_st.read_bytes())
img_bytes[-3] ^= 0x01  # one bit of the last weight's bytes
img_flipped.write_bytes(bytes(img_bytes))
img_flip_system = supplychain.load_safetensors_system(img_flipped)
img_tampered = {"payload exec (.pt)": (img_bad, "pt"), "adaptive payload (.pt)": (img_chosen, "pt"),
                "one flipped bit (.safetensors)": (img_flipped, "st")}
img_caught = stats.proportion([supplychain.sha256_file(f) != img_published[kind]
                               for f, kind in img_tampered.values()],
                              on=f"{len(img_tampered)} tampered files")
img_untouched_ok = (supplychain.sha256_file(img_clean) == img_published["pt"]
                    and supplychain.sha256_file(img_st) == img_published["st"])
print(f"the flipped file loads: {img_flip_system.fitted_}; the hash catches "
      f"{img_caught.successes} of {img_caught.n} tamperings; the untouched files match: "
      f"{img_untouched_ok}")
claims.claim("image: SHA-256 catches each tampering and passes the untouched files",
             float(img_caught.value == 1 and img_untouched_ok), at_least=1)
print(f"image section cells: {time.perf_counter() - img_t0:.1f} s")


# %%
display(Markdown(f"""
**What changed and why (image).** Loading the checkpoint with `weights_only=False` ran the
payload and returned working weights ({img_same_unsafe.value:.0%} identical predictions): the
pickle, not the model, decides what runs. torch's default `weights_only=True` refused it and
named the import (`{img_default.blocked_global}`), and safetensors, which has nothing to
unpickle, gave identical predictions ({img_same_st}) while none of {len(img_attempts)} smuggling
attempts ran. picklescan and modelscan flagged the plain `exec` payload; fickling flagged it,
and the clean file too (at a lower severity). The adaptive attacker spent {img_search.queries}
scans to find `{img_callables[img_search.chosen_via]}` in protocol {img_search.chosen_protocol},
a callable on no deny-list: picklescan and modelscan passed it, and fickling ranked it no higher
than the clean checkpoint. The allow-lists stopped every candidate: `weights_only=True` refused
{img_refused.successes} of {img_refused.n}, picklescan `--strict` flagged
{img_strict_rate.successes} of {img_strict_rate.n}. A deny-list enumerates known-bad callables
and loses to the next one; an allow-list enumerates what a checkpoint needs. And the SHA-256 of
the published files caught {img_caught.successes} of {img_caught.n} tamperings, the flipped bit
included, which no scanner looks for.
"""))
SUMMARY["image"] = {
    "format_unsafe": "torch.save pickle (.pt) loaded with weights_only=False",
    "payload_ran_unsafe": bool(img_unsafe.payload_ran),
    "safe_format": "safetensors (and torch.load's default weights_only=True)",
    "payload_ran_safe": bool(img_default.payload_ran or img_attempts["payload_ran"].any()
                             or any(a.payload_ran for a in img_loads.values())),
    "scanners_flagged": {s: img_v[("payload exec (.pt)", s)] for s in supplychain.SCANNERS},
    "adaptive_evaded": list(img_search.evaded),
    "integrity": "SHA-256 of the published .pt and .safetensors against 3 tampered files",
    "integrity_caught": float(img_caught.value),
}


# %% [markdown]
# ## 2 · NLP: the triage pipeline in a joblib file, then in a skops file
#
# **The file.** scikit-learn's documentation saves models with `joblib.dump`: a pickle, with
# numpy arrays written as raw bytes between its opcodes. Loading it with `joblib.load` is
# unpickling, so everything section 1 showed for torch files holds here, and no
# `weights_only` switch exists. We save lab 00's chatbot triage (TF-IDF + logistic regression)
# and publish its SHA-256 next to it.


# %%


nlp_t0 = time.perf_counter()
nlp_dir = LAB_DIR / "nlp"
nlp_dir.mkdir()
nlp_system = systems.reference_system("nlp", seed=seed)
print("triage:", nlp_system.source_)
nlp_X = list(load_dataset("nlp", seed=0).X_test)
nlp_on = f"the {len(nlp_X):,} test messages"
nlp_pred = nlp_system.estimator.predict(nlp_X)

nlp_clean = nlp_dir / "triage.joblib"
joblib.dump(nlp_system.estimator, nlp_clean)
nlp_published_sha = supplychain.sha256_file(nlp_clean)  # published with the model (a manifest)
print(f"{nlp_clean.name}: {nlp_clean.stat().st_size / 1e6:.1f} MB, SHA-256 "
      f"{nlp_published_sha[:16]}...")


# %% [markdown]
# **The trojan.** An attacker who can replace the file (a compromised model registry, a
# look-alike upload on a hub) writes the same pipeline with the marker payload pickled in
# front of it (`supplychain.trojan_joblib`): `joblib.load` runs the payload and then returns the
# real pipeline, so the victim gets a model that works.


# %%
nlp_marker = nlp_dir / "marker.txt"
nlp_payload = supplychain.marker_payload(nlp_marker)  # builtins.exec of one line: the marker
nlp_trojan = supplychain.trojan_joblib(nlp_system.estimator, nlp_payload,
                                  nlp_dir / "triage_trojan.joblib")
print(f"marker before loading: {supplychain.payload_ran(nlp_marker)}")
nlp_loaded = joblib.load(nlp_trojan)
nlp_ran_unsafe = supplychain.payload_ran(nlp_marker)
nlp_same_trojan = stats.proportion(nlp_loaded.predict(nlp_X) == nlp_pred, on=nlp_on)
print(f"joblib.load: marker appeared {nlp_ran_unsafe}; the model it returned answers the same "
      f"{nlp_same_trojan}")
nlp_marker.unlink()
claims.claim("nlp: joblib.load of the trojaned pipeline runs the payload (marker appears)",
             float(nlp_ran_unsafe), at_least=1)
claims.claim("nlp: the trojaned file's pipeline answers as the clean one (test messages)",
             nlp_same_trojan.value, at_least=1)


# %% [markdown]
# **The scanners, on the clean file and two trojans.** The plain trojan above uses `exec`,
# the call every deny-list names. The adaptive attacker reads the deny-lists and picks a
# callable they do not name: `numpy.savetxt`, which writes a text file wherever it is told
# (`marker_payload(..., via="savetxt")`; here it writes the marker). Each cell below is a real
# run of the tool (versions printed); "flagged" is the tool's own verdict.


# %%
nlp_adaptive_marker = nlp_dir / "marker_savetxt.txt"
nlp_adaptive = supplychain.trojan_joblib(
    nlp_system.estimator, supplychain.marker_payload(nlp_adaptive_marker, via="savetxt"),
    nlp_dir / "triage_trojan_savetxt.joblib")
joblib.load(nlp_adaptive)
nlp_adaptive_ran = supplychain.payload_ran(nlp_adaptive_marker)
nlp_adaptive_marker.unlink()
nlp_scans = supplychain.scan_table({"clean": nlp_clean, "trojan, exec": nlp_trojan,
                                  "trojan, numpy.savetxt": nlp_adaptive})
nlp_flag = {(r.file, r.scanner): bool(r.flagged) for r in nlp_scans.itertuples()}
print("scanner versions:", supplychain.scanner_versions())
display(plots.table(supplychain.scan_matrix(nlp_scans),
                    caption="Each scanner on the NLP pipeline's joblib files (real runs)"))
display(plots.table(nlp_scans[["file", "scanner", "findings", "error"]].assign(
    findings=nlp_scans["findings"].str.slice(0, 110)),
    caption="What each scanner reported (findings cut at 110 characters)"))
print(f"the savetxt trojan runs when loaded: {nlp_adaptive_ran}")
nlp_adaptive_evaded = [s for s in supplychain.SCANNERS if not nlp_flag["trojan, numpy.savetxt", s]]
claims.claim("nlp: picklescan flags the exec trojan and passes the clean file",
             float(nlp_flag["trojan, exec", "picklescan"]
                   and not nlp_flag["clean", "picklescan"]), at_least=1)
claims.claim("nlp: the savetxt trojan runs and gets past picklescan",
             float(nlp_adaptive_ran and not nlp_flag["trojan, numpy.savetxt", "picklescan"]),
             at_least=1)


# %% [markdown]
# Read the table row by row. picklescan catches `exec` and lets `numpy.savetxt` through as
# merely "suspicious", the same level as the clean file (every scikit-learn class is
# "suspicious" to it). modelscan reports a parse error and no issue on all three: it stops at
# the first raw numpy buffer and drops what it had read (section 4 shows the control). fickling
# flags the clean file as well: a verdict it gives every file tells nothing about this one.
# Scanners are deny-lists and parsers: an attacker who reads them finds the gap.


# %% [markdown]
# ### Exercise 2 · An allow-list unpickler
#
# Before a better format, a better loader. Write `restricted_loads(data, allowed)`: unpickle
# `data` (bytes) allowing only the globals in `allowed`, a set of `(module, name)` pairs. Subclass
# `pickle.Unpickler` and override `find_class(self, module, name)`: return
# `super().find_class(module, name)` for an allowed pair, and raise `pickle.UnpicklingError`
# for any other, so nothing outside the allow-list is ever imported or called. Return the
# unpickled object.


# %%
def restricted_loads(data, allowed):
    ### BEGIN SOLUTION
    import io
    import pickle

    class AllowList(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) in allowed:
                return super().find_class(module, name)
            raise pickle.UnpicklingError(f"global {module}.{name} is not on the allow-list")

    return AllowList(io.BytesIO(bytes(data))).load()
    ### END SOLUTION


# %%
### POINTS: 2
restricted_loads = check(lab11.RESTRICTED_LOADS, restricted_loads)
### BEGIN HIDDEN TESTS
grade(lab11.RESTRICTED_LOADS, restricted_loads)
### END HIDDEN TESTS


# %%
# Your unpickler on the triage pipeline: the allow-list is what its own pickle imports
# (lab11.pickle_globals reads it from the opcodes, without loading); then the same pipeline
# with the payload next to it.

nlp_ex_clean = pickle.dumps(nlp_system.estimator)
nlp_ex_allowed = set(lab11.pickle_globals(nlp_ex_clean))
nlp_ex_model = restricted_loads(nlp_ex_clean, nlp_ex_allowed)
print(f"{len(nlp_ex_allowed)} globals allowed; the pipeline loads and answers the same on "
      f"{np.mean(nlp_ex_model.predict(nlp_X) == nlp_pred):.3f} of {nlp_on}")
try:
    restricted_loads(pickle.dumps({"model": nlp_system.estimator, "extra": nlp_payload}),
                     nlp_ex_allowed)
    print("the payload got through")
except pickle.UnpicklingError as err:
    print(f"refused: {err}; marker present: {supplychain.payload_ran(nlp_marker)}")


# %% [markdown]
# ### skops: a format that builds only the types it trusts
#
# `skops.io.dump` writes a zip: a JSON description of every object (its class and its
# attributes) and the numpy arrays as `.npy` files. `skops.io.load` imports nothing that is
# not on its allow-list (scikit-learn's estimators, numpy and scipy basics) unless the caller
# names it in `trusted`; `skops.io.get_untrusted_types` lists, without loading, what a file
# would need.


# %%
nlp_skops = nlp_dir / "triage.skops"
nlp_t = time.perf_counter()
sio.dump(nlp_system.estimator, nlp_skops)
nlp_dump_s = time.perf_counter() - nlp_t
nlp_needed = sio.get_untrusted_types(file=nlp_skops)
print(f"types the clean pipeline needs trusted beyond skops's defaults: {nlp_needed}")
nlp_safe = supplychain.skops_load(nlp_skops, trusted=nlp_needed)
nlp_same_skops = stats.proportion(nlp_safe.model.predict(nlp_X) == nlp_pred, on=nlp_on)
print(f"skops round trip: loaded {nlp_safe.loaded}, same predictions {nlp_same_skops}")
print(f"cost: {nlp_skops.stat().st_size / 1e6:.1f} MB against "
      f"{nlp_clean.stat().st_size / 1e6:.1f} MB for joblib (every vocabulary entry is a JSON "
      f"node); dump {nlp_dump_s:.1f} s, load {nlp_safe.seconds:.1f} s")
claims.claim("nlp: the skops round trip answers as the original pipeline (test messages)",
             nlp_same_skops.value, at_least=1)


# %% [markdown]
# **An injected function.** skops can store functions (a `FunctionTransformer`'s `func`), and
# its loader calls a type with saved arguments to rebuild some objects. The attacker edits the
# published file (`supplychain.inject_skops_call`): one more attribute on the pipeline whose node
# says "call `builtins.exec` with this line", the payload's callable. We load it as a careful
# user would, trusting only what the clean file needed.


# %%
nlp_injected = supplychain.inject_skops_call(nlp_skops, nlp_dir / "triage_injected.skops",
                                        nlp_payload)
nlp_refused = supplychain.skops_load(nlp_injected, trusted=nlp_needed)
nlp_ran_safe = supplychain.payload_ran(nlp_marker)
print(f"skops.io.load: loaded {nlp_refused.loaded}; {nlp_refused.error}")
print(f"marker after the refused load: {nlp_ran_safe}")
claims.claim("nlp: skops refuses the injected function until it is trusted; marker absent",
             float(not nlp_refused.loaded and not nlp_ran_safe
                   and "builtins.exec" in nlp_refused.refused_types), at_least=1)


# %% [markdown]
# **What "trusting" it would do.** The refusal names `builtins.exec`. A user who makes the
# error go away by passing what skops listed (`trusted=get_untrusted_types(file=...)`, the
# habit skops's own message warns against) runs the attacker's line. We do it once, here,
# because our line only writes the marker.


# %%
nlp_trusting = supplychain.skops_load(nlp_injected, trusted=nlp_refused.refused_types)
nlp_ran_trusted = supplychain.payload_ran(nlp_marker)
print(f"trusting {list(nlp_refused.refused_types)}: loaded {nlp_trusting.loaded}, marker "
      f"appeared {nlp_ran_trusted}")
nlp_marker.unlink(missing_ok=True)
claims.claim("nlp: trusting the listed function runs the payload at load time",
             float(nlp_ran_trusted), at_least=1)


# %% [markdown]
# **The check that does not read the file's content.** The published SHA-256 is compared
# before any loader sees a byte (`supplychain.load_if_hash_matches`): each swapped file is refused.


# %%
nlp_swaps = {"trojan, exec": nlp_trojan, "trojan, numpy.savetxt": nlp_adaptive,
             "skops with the injected call": nlp_injected}
nlp_caught = []
for nlp_name, nlp_path in nlp_swaps.items():
    try:
        supplychain.load_if_hash_matches(nlp_path, nlp_published_sha, joblib.load)
        nlp_caught.append(False)
    except ValueError as nlp_err:
        nlp_caught.append(True)
        print(f"{nlp_name}: {nlp_err}")
supplychain.load_if_hash_matches(nlp_clean, nlp_published_sha, joblib.load)  # the original passes
nlp_integrity = float(np.mean(nlp_caught))
print(f"swapped files refused by the hash check: {sum(nlp_caught)} of {len(nlp_caught)}; "
      f"marker: {supplychain.payload_ran(nlp_marker)}")
claims.claim("nlp: the hash check refuses every swapped file before loading",
             nlp_integrity, at_least=1)
SUMMARY["nlp"] = {
    "format_unsafe": "joblib (pickle)",
    "payload_ran_unsafe": bool(nlp_ran_unsafe),
    "safe_format": "skops (trusted types)",
    "payload_ran_safe": bool(nlp_ran_safe),
    "scanners_flagged": {s: nlp_flag["trojan, exec", s] for s in supplychain.SCANNERS},
    "adaptive_evaded": nlp_adaptive_evaded,
    "integrity": "SHA-256 of the published file compared before loading",
    "integrity_caught": nlp_integrity,
}
print(f"NLP section: {time.perf_counter() - nlp_t0:.1f} s")


# %%
display(Markdown(
    f"**What changed and why.** A joblib file is a pickle: loading the trojan ran the payload "
    f"and returned a pipeline that answers as the original ({nlp_same_trojan.value:.0%} of "
    f"{nlp_on}), so nothing told the user. Of the three scanners, "
    f"{', '.join(s for s in supplychain.SCANNERS if nlp_flag['trojan, exec', s]) or 'none'} "
    f"flagged the `exec` trojan and "
    f"{', '.join(s for s in supplychain.SCANNERS if nlp_flag['clean', s]) or 'none'} also "
    f"flagged the clean file; the trojan that calls `numpy.savetxt` got past "
    f"{', '.join(nlp_adaptive_evaded) or 'none'}. Scanners are heuristics (deny-lists of "
    f"callables, parsers that give up): useful to catch the careless, not a guarantee. "
    f"skops changes the question from *is this pickle bad?* to *which types may this file "
    f"build?*: the clean pipeline needed {len(nlp_needed)} extra trusted types and loaded with "
    f"the same predictions, the injected `exec` was refused and the marker stayed absent; "
    f"trusting what skops listed ran it. skops costs "
    f"{nlp_skops.stat().st_size / nlp_clean.stat().st_size:.0f} times the disk space here. "
    f"The published hash refused {sum(nlp_caught)} of {len(nlp_caught)} swapped files before "
    f"any loader read them."))


# %% [markdown]
# ## 3 · Recommender: a safe format, and weights that lie
#
# **The file.** Lab 00's recommender is a torch model: two factor tables (users, items), two
# bias vectors and the mean rating. We save it the safe way from the start: its tensors in
# **safetensors** (`weights.safetensors`: a JSON header and raw numbers, nothing to call) and
# its sizes in `config.json`, in one folder. Loading it runs no code. The threat left is the
# one a safe format does not address: **numbers that were changed** on the way, by a
# compromised mirror, a poisoned model hub account or a faulty disk.
#
# **The publisher's controls.** Next to the folder, the publisher writes a **manifest** (every
# file's path, size and SHA-256) and a **signature**: the `model-signing` package (OpenSSF)
# hashes the folder the same way and signs that list with a private key. We generate an
# elliptic-curve key pair (NIST P-256) here with `cryptography` and sign offline: no Sigstore
# account, no network, no transparency log. Whoever holds the public key can check that the
# files are the ones the key's owner signed.


# %%

rec_t0 = time.perf_counter()
rec_dir = LAB_DIR / "recommender"
rec_dir.mkdir()
# the lesson is about the files, not the training: lab 00's seed-0 checkpoint serves every seed
# (retraining another seed takes longer than this section's budget); `seed` draws which bit is
# flipped and which item the attacker promotes
rec_system = systems.reference_system("recommender", seed=0)
print(f"recommender: {rec_system.source_}")
rec_data = load_dataset("recommender", seed=0)
rec_model = supplychain.save_mf_folder(rec_system, rec_dir / "mf_model")
rec_lists = supplychain.top_k_lists(rec_system, k=10)
rec_reloaded = supplychain.load_mf_folder(rec_model, rec_data.X_train)
rec_same = bool((supplychain.top_k_lists(rec_reloaded, k=10) == rec_lists).all())
for rec_f in sorted(rec_model.iterdir()):
    print(f"  {rec_f.name}: {rec_f.stat().st_size:,} bytes")
print(f"reloaded from safetensors + JSON: the same top-10 lists for all "
      f"{len(rec_lists)} users: {rec_same}")

rec_keys = supplychain.make_key_pair(rec_dir / "keys", name="publisher")
rec_manifest = supplychain.write_manifest(rec_model, rec_dir / "mf_model.manifest.json")
rec_sig = supplychain.sign_model(rec_model, rec_keys, rec_dir / "mf_model.sig")
rec_ok = supplychain.verify_signature(rec_model, rec_keys, rec_sig)
print(f"publisher key fingerprint {rec_keys.fingerprint[:16]}...; manifest of "
      f"{len(rec_manifest)} files; {rec_ok} in {rec_ok.seconds * 1000:.0f} ms")


# %% [markdown]
# ### Exercise 3 · Verify a manifest
#
# Write `verify_manifest(files, manifest)`. `files` maps each file's relative path (POSIX
# style) to its bytes, a model folder as you read it; `manifest` maps relative paths to the
# SHA-256 hex digest of each file's bytes, as published with the model. Return
# `{"missing": [...], "added": [...], "changed": [...]}`: the manifest's paths with no file, the
# files the manifest does not list, and the paths whose bytes no longer hash to the manifest's
# digest (compare digests case-insensitively); each list sorted. Three empty lists mean the
# folder is exactly what was published.


# %%
def verify_manifest(files, manifest):
    ### BEGIN SOLUTION
    import hashlib

    missing = sorted(set(manifest) - set(files))
    added = sorted(set(files) - set(manifest))
    changed = sorted(p for p in set(files) & set(manifest)
                     if hashlib.sha256(files[p]).hexdigest() != manifest[p].lower())
    return {"missing": missing, "added": added, "changed": changed}
    ### END SOLUTION


# %%
### POINTS: 1
verify_manifest = check(lab11.VERIFY_MANIFEST, verify_manifest)
### BEGIN HIDDEN TESTS
grade(lab11.VERIFY_MANIFEST, verify_manifest)
### END HIDDEN TESTS


# %%
# Your check on the recommender's folder and its published manifest; then on the folder as an
# attacker leaves it: one bit of the weights flipped and a pickle dropped next to them.
rec_ex_files = {p.relative_to(rec_model).as_posix(): p.read_bytes()
                for p in sorted(rec_model.rglob("*")) if p.is_file()}
rec_ex_manifest = {path: entry["sha256"] for path, entry in rec_manifest.items()}
print(f"untouched: {verify_manifest(rec_ex_files, rec_ex_manifest)}")
rec_ex_weights = supplychain.MF_WEIGHTS_FILE
rec_ex_bad = dict(rec_ex_files)
rec_ex_bad[rec_ex_weights] = bytes([rec_ex_files[rec_ex_weights][0] ^ 1]) + \
    rec_ex_files[rec_ex_weights][1:]
rec_ex_bad["helper.pkl"] = pickle.dumps({"note": "an unexpected file"})
print(f"tampered: {verify_manifest(rec_ex_bad, rec_ex_manifest)}")


# %% [markdown]
# ### The acceptance test: three tamperings
#
# Each case is a copy of the signed folder, checked against the manifest and verified with
# the publisher's public key: the **untouched** copy must pass; a **flipped bit** in the
# weights' numbers, an **added file**, and a signature made with **another key pair** must
# each be rejected, with a reason.


# %%
rec_range = supplychain.safetensors_data_range(rec_model / supplychain.MF_WEIGHTS_FILE)
rec_trials = supplychain.tamper_trials(
    rec_model, manifest=rec_manifest, key_pair=rec_keys, signature_path=rec_sig,
    workdir=rec_dir / "trials", seed=seed, target=supplychain.MF_WEIGHTS_FILE,
    byte_range=rec_range)
display(plots.table(rec_trials.frame(), caption="the signed recommender folder and three "
                    "tampered copies (model-signing 1.1.1, EC P-256 key)"))
claims.claim("recommender: the untouched folder passes manifest and signature",
             float(rec_trials.untouched_passed), at_least=1)
claims.claim("recommender: the signature rejects the flipped bit, the added file and the "
             "wrong key (share of the 3 tamperings)", rec_trials.caught, at_least=1)


# %% [markdown]
# A manifest passes the wrong-key copy: its files are untouched, and a list of hashes says
# nothing about who wrote it. Only the signature names its signer.
#
# **Would anyone notice a flipped bit without a hash?** We flip one bit at a time in the
# weights' numbers, at seeded positions, each flip undone before the next, and ask three
# questions: does the file still load, does any user's top-10 list change, does the SHA-256
# change?


# %%
rec_flips = supplychain.bit_flip_effects(rec_model, rec_data.X_train, rec_dir / "flips",
                                            n=20, seed=seed)
print(f"still loads: {rec_flips.loaded}\nsome user's top-10 changes: {rec_flips.lists_changed}"
      f"\nSHA-256 changes: {rec_flips.hash_caught}")
print(f"(bits flipped: {', '.join(map(str, rec_flips.bits))}; in tensors "
      f"{', '.join(sorted(set(rec_flips.tensors)))})")
claims.claim(f"recommender: every flipped bit still loads and changes the SHA-256 "
             f"({rec_flips.loaded.on})", min(rec_flips.loaded.value, rec_flips.hash_caught.value),
             at_least=1)


# %% [markdown]
# Every flipped copy loads, and almost none changes a single top-10 list: nobody would
# notice, the hash does. (Our hypothesis for why so few show: most bits of a float32 are
# low mantissa bits. A flip in an exponent bit could make one number huge, and safetensors,
# which checks the layout and not the values, would load it just the same.)


# %% [markdown]
# ### A tampering a reviewer would not see: promoting an item
#
# **The attacker** holds the weights file (say, write access to the model's storage) and
# wants one item in front of many users. They pick an obscure film (rated by at most three
# users, in nobody's top 10) and rewrite only its factor (32 numbers) and its bias, by a few
# hundred steps of projected gradient ascent that push it past each user's 10th film, while
# keeping every new number within the range of the other items' values and its length within
# their top 1%. They write the file back with the same layout: same size, same header, loads.
#
# **The reviewer** loads the file and summarises each tensor (shape, dtype, min, max, mean,
# standard deviation), as one would before a release.


# %%
rec_rng = np.random.default_rng(seed)
rec_item = int(rec_rng.choice(supplychain.obscure_items(rec_system, rec_lists,
                                                           max_ratings=3)))
rec_title = rec_data.extra["titles"][rec_item] if "titles" in rec_data.extra else rec_item
rec_promo = supplychain.promote_item(rec_model, rec_dir / "mf_model_promoted", rec_item,
                                        rec_data.X_train, k=10, quantile=0.99, steps=200)
rec_promoted = rec_dir / "mf_model_promoted"
rec_lists_after = supplychain.top_k_lists(
    supplychain.load_mf_folder(rec_promoted, rec_data.X_train), k=10)
rec_on = f"top-10 lists of all {len(rec_lists)} users"
rec_reach0 = supplychain.item_reach(rec_lists, rec_item, on=rec_on)
rec_reach1 = supplychain.item_reach(rec_lists_after, rec_item, on=rec_on)
rec_review = supplychain.weight_review(rec_model, rec_promoted)
display(plots.table(rec_review.drop(columns=["min before", "max before"]), precision=4,
                    caption="the reviewer's summary of each tensor, before and after"))
print(f"promoted item {rec_item} ({rec_title}): {rec_promo.values_changed} of "
      f"{rec_promo.n_values:,} numbers and {rec_promo.bytes_changed} of "
      f"{rec_promo.file_size:,} bytes changed; every new number within its column's range: "
      f"{rec_promo.in_range}; its factor is longer than {rec_promo.norm_rank:.1%} of items'")
print(f"in a user's top 10: before {rec_reach0}\n                    after  {rec_reach1}")
print(f"its predicted rating rose by {rec_promo.score_gain:.2f} stars on average over users")
rec_largest = float(rec_review["largest change (SDs)"].max())
claims.claim("recommender: the promoted item enters at least 15% of users' top-10 lists "
             "(all users)", rec_reach1.value, at_least=0.15)
claims.claim("recommender: before the tampering it is in no user's top 10",
             rec_reach0.value, at_most=0)
claims.claim("recommender: the reviewer's summaries move by under 0.01 standard deviations "
             "and every new number is in range", rec_largest if rec_promo.in_range else 1.0,
             at_most=0.01)


# %%
rec_fig = go.Figure(go.Bar(
    x=["before", "after the tampering"], y=[rec_reach0.value, rec_reach1.value],
    marker_color=[plots.COLORS["baseline"], plots.COLORS["attack"]],
    error_y=dict(type="data", symmetric=False,
                 array=[r.high - r.value for r in (rec_reach0, rec_reach1)],
                 arrayminus=[r.value - r.low for r in (rec_reach0, rec_reach1)]),
    text=[f"{r.value:.0%}" for r in (rec_reach0, rec_reach1)], textposition="outside"))
rec_fig.update_layout(title=f"Share of users with item {rec_item} in their top 10 "
                      f"({rec_promo.values_changed} numbers changed)",
                      yaxis=dict(tickformat=".0%", range=[0, 1]), height=380)
rec_fig.show()


# %% [markdown]
# **What catches it.** Not the format: the file loads. Not the reviewer: the summaries barely
# move (table above). Not the scanners, which look for code in pickles: we run all three on
# the clean and the tampered weights. The hash and the signature do.


# %%
rec_weights = {"weights (clean)": rec_model / supplychain.MF_WEIGHTS_FILE,
               "weights (promoted item)": rec_promoted / supplychain.MF_WEIGHTS_FILE}
rec_scans = {lab: {s: supplychain.scan_file(p, s) for s in supplychain.SCANNERS}
             for lab, p in rec_weights.items()}
display(plots.table(pd.DataFrame([{
    "file": lab, "scanner": s, "flagged": v.flagged, "severity": v.severity,
    "note": v.error or "; ".join(v.findings)[:80]}
    for lab, row in rec_scans.items() for s, v in row.items()]),
    caption="scanners on the weights (" + ", ".join(
        f"{k} {v}" for k, v in supplychain.scanner_versions().items()) + ")"))
rec_evaded = [s for s in supplychain.SCANNERS if supplychain.passes_as_clean(
    rec_scans["weights (promoted item)"][s], rec_scans["weights (clean)"][s])]
rec_check_manifest = supplychain.check_manifest(rec_promoted, rec_manifest)
rec_check_sig = supplychain.verify_signature(rec_promoted, rec_keys, rec_sig)
print(f"scanners that cannot tell the tampered file from the clean one: {rec_evaded}")
print(f"{rec_check_manifest}\n{rec_check_sig}")
claims.claim("recommender: manifest and signature both reject the promoted-item weights",
             float(not rec_check_manifest.ok and not rec_check_sig.ok), at_least=1)


# %% [markdown]
# fickling "flags" both safetensors files alike: it fails to parse them as pickles and
# reports the parse error, so its flag says nothing about the tampering.


# %% [markdown]
# ### The adaptive attacker: knows the manifest and the signature
#
# The attacker now also controls what is stored next to the model. They (1) **rewrite the
# manifest** to match the tampered files; (2) **re-sign** the tampered folder with their own
# key pair; (3) re-sign and **forge the key hint** in the bundle so that it names the
# publisher's key; (4) keep the publisher's bundle and **edit the signed statement** to list
# the tampered hashes. The verifier holds only the publisher's public key, obtained out of
# band (a key pinned in the deployment, not one fetched next to the model).


# %%
rec_adaptive = supplychain.adaptive_trials(rec_model, rec_promoted, manifest=rec_manifest,
                                            key_pair=rec_keys, signature_path=rec_sig,
                                            workdir=rec_dir / "adaptive")
display(plots.table(rec_adaptive.frame(), caption="an attacker who knows the checks, on the "
                    "promoted-item folder"))
claims.claim("recommender: the attacker's rewritten manifest passes a manifest check, and the "
             "signature rejects all 4 adaptive attempts",
             rec_adaptive.caught if rec_adaptive.trials[0].manifest.ok else 0.0, at_least=1)
rec_seconds = time.perf_counter() - rec_t0
print(f"section time: {rec_seconds:.1f} s")


# %% [markdown]
# ### What changed and why
#
# - **Safe format, not safe numbers.** safetensors keeps code out of the recommender's file,
#   but one item's factor and bias, changed within the range of the other items' values, put
#   it in many users' top 10 (measured above); the file loads and a tensor-by-tensor review
#   sees nothing.
# - **A hash sees every change**, down to one flipped bit that changes nothing visible. A
#   manifest alone is only as trustworthy as where it is kept: stored next to the model, the
#   attacker rewrites it.
# - **A signature binds the hashes to a key.** model-signing rejected the flipped bit, the added
#   file, the wrong key, a re-signed folder, a forged key hint and an edited statement, and
#   passed the untouched folder. What it needs: the public key obtained by another channel, and
#   every file covered (model-signing skips `.git*` files by default; our helper covers them).
# - **Scanners are beside the point here**: they look for code, and there is none.
# - `SUMMARY["recommender"]`: "format_unsafe" names the pickle (`torch.save`) the model would
#   be saved with otherwise; this section runs no payload, so the payload fields are False and
#   the scanners' verdicts are those on the tampered weights file (the section's "malicious
#   file"), the evaders those that cannot tell it from the clean file.


# %%
SUMMARY["recommender"] = {
    "format_unsafe": "torch.save pickle (not attacked here: the section tampers with weights)",
    "payload_ran_unsafe": False,
    "safe_format": "safetensors + JSON config",
    "payload_ran_safe": False,
    "scanners_flagged": {s: bool(rec_scans["weights (promoted item)"][s].flagged)
                         for s in supplychain.SCANNERS},
    "adaptive_evaded": rec_evaded,
    "integrity": "SHA-256 manifest + model-signing EC P-256 signature of the folder",
    "integrity_caught": (rec_trials.caught * rec_trials.n_tampered
                         + float(not rec_check_sig.ok)
                         + rec_adaptive.caught * rec_adaptive.n_tampered)
    / (rec_trials.n_tampered + 1 + rec_adaptive.n_tampered),
}


# %% [markdown]
# ## 4 · Fraud: where the payload sits decides what the scanners see
#
# **The probe.** Lab 00's fraud scorer (boosted trees, scikit-learn's
# `HistGradientBoostingClassifier`) saved with `joblib.dump`, clean and trojaned. joblib writes
# each numpy array as raw bytes *between* the pickle's opcodes, so a file is opcodes, then
# array bytes, then opcodes again. We place the payload before the first array (the plain
# trojan), after the arrays, or inside a compressed file (`compress=3`, joblib's usual
# setting), and run every scanner on every file. Every trojan is also loaded once, to prove
# that it runs: an evasion only counts for a file that still attacks.


# %%



frd_t0 = time.perf_counter()
frd_dir = LAB_DIR / "fraud"
frd_dir.mkdir()
frd_system = systems.reference_system("fraud", seed=seed)
print("fraud scorer:", frd_system.source_)
frd_X = load_dataset("fraud", seed=0).X_test
frd_on = f"the {len(frd_X):,} test transactions"
frd_pred = frd_system.estimator.predict(frd_X)
frd_marker = frd_dir / "marker.txt"
frd_payload = supplychain.marker_payload(frd_marker)  # builtins.exec of one line: the marker
frd_probe = supplychain.joblib_scanner_probe(frd_system.estimator, frd_dir, frd_marker, frd_payload)
frd_v = frd_probe.variants.set_index("label")
print("scanner versions:", supplychain.scanner_versions())
display(plots.table(frd_probe.matrix, caption="Each scanner on five joblib files of the fraud "
                                              "scorer (real runs; the tool's own verdict)"))
frd_shown = frd_v[frd_v["shown"]]
print("the three trojans run when loaded:",
      {k: bool(v) for k, v in frd_shown.loc[frd_shown["malicious"], "runs_when_loaded"].items()})
frd_r = frd_probe.rates
claims.claim("fraud: every trojaned joblib file runs the payload when loaded",
             float(frd_v.loc[frd_v["malicious"], "runs_when_loaded"].all()), at_least=1)
claims.claim("fraud: picklescan flags the plain trojan, not the payload after the buffers "
             "nor the compressed one",
             float(frd_r["picklescan"].flags_plain and not frd_r["picklescan"].flags_after_buffers
                   and not frd_r["picklescan"].flags_compressed), at_least=1)


# %% [markdown]
# **Why, and a control.** picklescan reads opcodes until the first array's bytes, which are not
# opcodes: it stops there with a parse error but keeps what it had read (so it catches the
# payload in front); what lies behind the arrays, it never sees. modelscan stops at the same
# place and *drops* the unfinished pickle, so it reports a parse error and no issue even on
# the plain trojan. Compressed files are not pickles at all to either tool. The controls: the
# same payload dumped alone, with no array in the file; and the clean scorer written with
# `pickle.dump` (no joblib buffers), for fickling.


# %%
frd_alone = frd_dir / "payload_alone.joblib"
joblib.dump(frd_payload, frd_alone)
frd_alone_scan = {s: supplychain.scan_file(frd_alone, s) for s in supplychain.SCANNERS}
frd_plain_pickle = frd_dir / "fraud_clean.pkl"
frd_plain_pickle.write_bytes(pickle.dumps(frd_system.estimator))
frd_fickling_plain = supplychain.scan_file(frd_plain_pickle, "fickling")
frd_errors = frd_probe.table.set_index(["file", "scanner"])["error"]
print("payload alone (no numpy buffer):",
      {s: ("flagged" if v.flagged else "passed") + f" ({v.severity})"
       for s, v in frd_alone_scan.items()})
print("modelscan on the plain trojan:",
      frd_errors["plain payload (before the buffers)", "modelscan"])
print(f"fickling on the clean scorer as a plain pickle: flagged {frd_fickling_plain.flagged} "
      f"({frd_fickling_plain.severity}); first finding: {frd_fickling_plain.findings[0]}")
claims.claim("fraud: modelscan flags the payload alone but misses it in front of the trees' "
             "arrays (parse error)",
             float(frd_alone_scan["modelscan"].flagged and not frd_r["modelscan"].flags_plain),
             at_least=1)


# %% [markdown]
# **fickling** decides differently: anything it cannot fully parse, or that imports outside the
# standard library, is unsafe. It flags every trojan, and every clean file too.
#
# **The adaptive attacker** knows how the scanners parse, so every one of its files puts the
# payload after the arrays or inside a compressed stream (each of joblib's five compressors,
# payload before or after the arrays): the rates below are over those files, and over six clean
# files (uncompressed and each compressor) for false alarms. "Fail-closed" counts a scanner's
# parse error as a rejection, as a cautious pipeline might.


# %%
frd_rates = pd.DataFrame([{
    "scanner": s, "flags the plain trojan": r.flags_plain,
    "adaptive trojans missed": f"{r.missed_adaptive:.2f}",
    "clean files flagged": f"{r.false_alarms:.2f}",
    "clean files rejected, fail-closed": f"{r.fail_closed_false_alarms:.2f}"}
    for s, r in frd_r.items()])
display(plots.table(frd_rates, caption=f"Scanners against the adaptive attacker: "
                                       f"{frd_r['picklescan'].missed_adaptive.n} trojans, "
                                       f"{frd_r['picklescan'].false_alarms.n} clean files, "
                                       f"{frd_probe.queries} scanner runs (Wilson 95% intervals)"))
display(plots.before_after_bars(
    list(frd_r), [r.missed_adaptive.value for r in frd_r.values()],
    [r.false_alarms.value for r in frd_r.values()], before_name="adaptive trojans missed",
    after_name="clean files flagged", percent=True,
    title="No scanner both catches the adaptive trojans and passes clean files"))
frd_evaded_share = len(frd_probe.evaded) / len(supplychain.SCANNERS)
print(f"scanners the adaptive attacker evades on every file: {list(frd_probe.evaded)} "
      f"({frd_evaded_share:.0%} of the scanners)")
claims.claim("fraud: picklescan and modelscan miss every adaptive trojan (share missed, lower "
             "Wilson bound)", min(frd_r["picklescan"].missed_adaptive.low,
                                  frd_r["modelscan"].missed_adaptive.low), at_least=0.7)
claims.claim("fraud: fickling flags the clean joblib files (false alarms, lower Wilson bound) "
             "and the clean plain pickle", frd_r["fickling"].false_alarms.low
             if frd_fickling_plain.flagged else 0.0, at_least=0.5)


# %% [markdown]
# Scanners are heuristics: deny-lists of callables read by parsers that give up. They catch the
# careless attacker; the one who reads them gets past two of the three, and the third pays for
# catching everything by flagging everything. The real fix is a format that cannot carry code.


# %% [markdown]
# ### The defence that does not scan: skops with an allow-list, and no pickle at all
#
# The publisher saves the model with skops and reviews, once, the types it needs beyond skops's
# defaults (`get_untrusted_types`): that reviewed list is the allow-list shipped with the
# loader. The loader refuses any file that is not skops, read from its first bytes, whatever
# its name (`supplychain.allow_listed_load`).


# %%
frd_skops = frd_dir / "fraud.skops"
sio.dump(frd_system.estimator, frd_skops)
frd_allow = sio.get_untrusted_types(file=frd_skops)  # reviewed by the publisher
print(f"allow-list (types beyond skops's defaults): {frd_allow}")
frd_default = supplychain.skops_load(frd_skops)
print(f"skops defaults alone: loaded {frd_default.loaded} ({frd_default.error})")
frd_safe = supplychain.allow_listed_load(frd_skops, allow_list=frd_allow)
frd_same = stats.proportion(frd_safe.model.predict(frd_X) == frd_pred, on=frd_on)
print(f"with the allow-list: loaded {frd_safe.loaded}, same predictions {frd_same}")
frd_refused = []
for frd_path in frd_probe.variants["path"]:
    try:
        supplychain.allow_listed_load(frd_path, allow_list=frd_allow)
        frd_refused.append(False)
    except ValueError:
        frd_refused.append(True)
frd_formats = pd.Series([supplychain.file_format(p) for p in frd_probe.variants["path"]])
print(f"joblib files refused by the format check: {sum(frd_refused)} of {len(frd_refused)} "
      f"(formats: {({k: int(v) for k, v in frd_formats.value_counts().items()})}); marker: "
      f"{supplychain.payload_ran(frd_marker)}")
claims.claim("fraud: the allow-listed skops load answers as the original (test transactions) "
             "and the loader refuses every joblib file of the probe",
             frd_same.value if all(frd_refused) else 0.0, at_least=1)


# %% [markdown]
# **The attacker who knows this defence** gets the published skops file and the allow-list and
# tries three ways in: a call of `builtins.exec` injected as a node (as in section 2); the
# payload pickled inside one of the file's numpy members, as an object array (a pickle inside
# the safe format); and the joblib trojan renamed `.skops`.


# %%
frd_attacks = supplychain.skops_attacks(frd_skops, frd_dir, frd_marker, frd_payload,
                                     allow_list=frd_allow)
display(plots.table(frd_attacks, caption="The adaptive attacker against skops + allow-list"))
frd_ran_safe = bool(frd_attacks["payload ran"].any())
claims.claim("fraud: none of the attacker's skops files loads or runs the payload",
             float(not frd_attacks["loaded"].any() and not frd_ran_safe), at_least=1)


# %% [markdown]
# **A hash manifest, checked before loading.** The publisher also lists each file's SHA-256;
# the loader compares before it opens the file (`supplychain.load_if_hash_matches`). A swapped file
# fails whatever is inside it. (Whoever can replace the file may replace the manifest too:
# signatures, in the next section, bind it to a key.)


# %%
frd_manifest = {"fraud.joblib": supplychain.sha256_file(frd_v.loc["clean", "path"]),
                "fraud.skops": supplychain.sha256_file(frd_skops)}
frd_swapped = [(p, "fraud.joblib") for p in frd_probe.variants.loc[
    frd_probe.variants["malicious"], "path"]] + [
    (frd_dir / n, "fraud.skops") for n in ("attack_injected.skops", "attack_npy_pickle.skops",
                                           "attack_renamed.skops")]
frd_caught = []
for frd_path, frd_name in frd_swapped:
    try:
        supplychain.load_if_hash_matches(frd_path, frd_manifest[frd_name], joblib.load)
        frd_caught.append(False)
    except ValueError:
        frd_caught.append(True)
frd_integrity = stats.proportion(np.array(frd_caught), on=f"{len(frd_caught)} swapped files")
supplychain.load_if_hash_matches(frd_v.loc["clean", "path"], frd_manifest["fraud.joblib"],
                            joblib.load)  # the published file passes
print(f"swapped files refused by the hash check: {frd_integrity}; marker: "
      f"{supplychain.payload_ran(frd_marker)}")
claims.claim("fraud: the hash check refuses every swapped file (lower Wilson bound)",
             frd_integrity.low, at_least=0.75)
SUMMARY["fraud"] = {
    "format_unsafe": "joblib (pickle), uncompressed and compressed",
    "payload_ran_unsafe": bool(frd_v.loc["plain payload (before the buffers)",
                                         "runs_when_loaded"]),
    "safe_format": "skops with an allow-list; pickle-based formats refused",
    "payload_ran_safe": frd_ran_safe,
    "scanners_flagged": {s: frd_r[s].flags_plain for s in supplychain.SCANNERS},
    "adaptive_evaded": list(frd_probe.evaded),
    "integrity": "SHA-256 manifest checked before loading",
    "integrity_caught": frd_integrity.value,
}
print(f"fraud section: {time.perf_counter() - frd_t0:.1f} s")


# %%
display(Markdown(
    f"**What changed and why.** The probe reproduced: picklescan flagged the plain trojan and "
    f"missed the payload after the arrays and the compressed one; modelscan missed all three "
    f"(it flags the payload alone, so its deny-list is not the problem: its parser stops at "
    f"the first array); fickling flagged {frd_r['fickling'].false_alarms.value:.0%} of the "
    f"clean files. Against the adaptive attacker's {frd_r['picklescan'].missed_adaptive.n} "
    f"files, {', '.join(frd_probe.evaded)} missed every one ({frd_evaded_share:.0%} of the "
    f"scanners evaded). Scanners are heuristics, deny-lists behind parsers: worth running, "
    f"never a reason to load. The fix is a format that cannot carry code: skops with a "
    f"reviewed allow-list loaded the scorer with the same predictions "
    f"({frd_same.value:.0%} of {frd_on}), refused every joblib file by its first bytes, and "
    f"let none of the attacker's {len(frd_attacks)} skops files run. The hash manifest "
    f"refused {sum(frd_caught)} of {len(frd_caught)} swapped files before any byte was "
    f"read."))


# %% [markdown]
# ## 5 · Medical: a graph, not code (ONNX)
#
# **The file.** Lab 00's diagnosis model is a scikit-learn pipeline (standardisation, then
# logistic regression). The usual way to save it, `pickle` or `joblib`, writes a pickle:
# loading it can run code, as the NLP and fraud sections showed. **ONNX** is another kind of
# file: a protobuf description of a computation graph made of standard operators (here
# `Scaler` and `LinearClassifier` from the `ai.onnx.ml` set) and their numbers. We export the
# pipeline with **skl2onnx** and run it with **onnxruntime**, which implements those operators
# itself: it never imports anything the file names.
#
# Two checks: the exported model must give the **same probabilities** (within 1e-5) on the
# test patients, and the file must hold **no pickle** (the joblib file of the same pipeline is
# the control).


# %%


med_t0 = time.perf_counter()
med_dir = LAB_DIR / "medical"
med_dir.mkdir()
med_data = load_dataset("medical", seed=0)
med_system = systems.reference_system("medical", seed=seed)
print(f"diagnosis model: {med_system.source_}")
med_X, med_y = med_data.X_test, med_data.y_test
med_on = f"{len(med_y)} test patients"
med_onnx = supplychain.export_onnx(med_system, med_data.X_train, med_dir / "diagnosis" /
                                  "model.onnx")
med_parity = supplychain.onnx_parity(med_system, med_onnx, med_X)
med_inv = supplychain.onnx_inventory(med_onnx)
med_joblib = med_dir / "diagnosis.joblib"  # the control: the usual way to save it
joblib.dump(med_system.estimator, med_joblib)
med_joblib_pickle = supplychain.contains_pickle(med_joblib)
print(f"model.onnx: {med_onnx.stat().st_size:,} bytes, written by {med_inv.producer}")
print(f"operators: {', '.join(med_inv.operators)}; opsets {med_inv.opsets}; domains outside "
      f"the standard ones: {list(med_inv.custom_domains)}; local functions: "
      f"{med_inv.functions}; external data files: {list(med_inv.external_data)}; "
      f"onnx.checker accepts it: {med_inv.checker_ok}")
print(f"is a pickle: model.onnx {med_inv.is_pickle}, diagnosis.joblib (control) "
      f"{med_joblib_pickle}")
print(f"scikit-learn vs onnxruntime: max |difference| of probabilities "
      f"{med_parity.max_abs_diff:.1e}; same diagnosis {med_parity.labels_agree}")
claims.claim("medical: the ONNX model's probabilities match scikit-learn's within 1e-5 "
             f"({med_on})", med_parity.max_abs_diff, at_most=1e-5)
claims.claim("medical: the ONNX file is no pickle (the joblib file of the same model is) and "
             "uses only standard operators, no external data",
             float(not med_inv.is_pickle and med_joblib_pickle and not med_inv.custom_domains
                   and not med_inv.external_data and med_inv.functions == 0), at_least=1)


# %% [markdown]
# `is a pickle` parses the bytes as pickle opcodes: the joblib file starts with one (protocol
# header, then opcodes), the ONNX file fails at its first byte. What ONNX does **not** close:
# a model with a **custom operator domain** needs a native library loaded into the runtime (code,
# so the inventory above lists domains); tensors can point to **external data files** (the
# `onnx` package had path-traversal bugs there, e.g. CVE-2024-27318); and, above all, a
# **changed graph is still a valid model**.


# %% [markdown]
# ### A tampered graph: the model that misses cancers
#
# **The attacker** can write the model file (a compromised registry, a build step) and wants
# malignant tumours called benign, without raising false alarms that someone would report.
# They lower the malignant class's logit by one number: the intercepts of the
# `LinearClassifier` node, shifted by the amount that calls half of the malignant **training**
# cases benign (the attacker's data). Two floats of the file change.


# %%
med_delta = supplychain.intercept_shift_for(med_system, med_data.X_train, med_data.y_train,
                                           share=0.5)
med_bad = supplychain.shift_onnx_intercepts(med_onnx, med_dir / "diagnosis_tampered" /
                                           "model.onnx", [med_delta, -med_delta])
med_bad_inv = supplychain.onnx_inventory(med_bad)
med_p0 = supplychain.onnx_predict_proba(med_onnx, med_X)
med_p1 = supplychain.onnx_predict_proba(med_bad, med_X)
med_before = supplychain.diagnosis_errors(med_p0, med_y, on=med_on)
med_after = supplychain.diagnosis_errors(med_p1, med_y, on=med_on)
# lowering the malignant logit can only turn "malignant" calls into "benign" ones: checked
med_new_alarms = int(((med_p1[:, 1] >= 0.5) & (med_p0[:, 1] < 0.5)).sum())
print(f"intercepts shifted by {med_delta:.2f}; same size: "
      f"{med_bad.stat().st_size == med_onnx.stat().st_size}; same operators: "
      f"{med_bad_inv.operators == med_inv.operators}; onnx.checker accepts it: "
      f"{med_bad_inv.checker_ok}")
print(f"missed malignant: before {med_before.missed}\n                  after  "
      f"{med_after.missed}")
print(f"false alarms:     before {med_before.false_alarms}\n                  after  "
      f"{med_after.false_alarms}")
claims.claim("medical: the tampered graph passes onnx.checker and runs",
             float(med_bad_inv.checker_ok), at_least=1)
claims.claim("medical: the tampering adds at least 20 points of missed malignant cases "
             "(same patients)", med_after.missed.value - med_before.missed.value, at_least=0.2)
claims.claim("medical: the tampered model calls no patient malignant whom the original called "
             f"benign ({med_on})", med_new_alarms, at_most=0)


# %%
med_fig = go.Figure([
    go.Bar(name=name, x=["malignant cases missed", "benign cases flagged"],
           y=[e.missed.value, e.false_alarms.value], marker_color=plots.COLORS[color],
           error_y=dict(type="data", symmetric=False,
                        array=[r.high - r.value for r in (e.missed, e.false_alarms)],
                        arrayminus=[r.value - r.low for r in (e.missed, e.false_alarms)]),
           text=[f"{r.value:.0%}" for r in (e.missed, e.false_alarms)], textposition="outside")
    for name, e, color in (("original ONNX", med_before, "baseline"),
                           ("tampered ONNX (2 numbers)", med_after, "attack"))])
med_fig.update_layout(barmode="group", title=f"Diagnosis errors on {med_on} (Wilson 95%)",
                      yaxis=dict(tickformat=".0%", range=[0, 1]), height=380)
med_fig.show()


# %% [markdown]
# ### Sign the model
#
# The hospital's ML team signs the folder holding `model.onnx` with its key (model-signing,
# elliptic-curve key made here, offline), and the deployment verifies it with the team's
# public key before loading. The acceptance test: the untouched copy passes; a flipped bit,
# an added file and another key pair's signature are rejected; then the tampered graph, the
# three pickle scanners on both files, and the attacker who also controls the manifest and
# the signature file.


# %%
med_model = med_onnx.parent
med_keys = supplychain.make_key_pair(med_dir / "keys", name="ml_team")
med_manifest = supplychain.write_manifest(med_model, med_dir / "diagnosis.manifest.json")
med_sig = supplychain.sign_model(med_model, med_keys, med_dir / "diagnosis.sig")
med_trials = supplychain.tamper_trials(med_model, manifest=med_manifest, key_pair=med_keys,
                                        signature_path=med_sig, workdir=med_dir / "trials",
                                        seed=seed)
med_bad_sig = supplychain.verify_signature(med_bad.parent, med_keys, med_sig)
med_bad_manifest = supplychain.check_manifest(med_bad.parent, med_manifest)
display(plots.table(pd.concat([med_trials.frame(), pd.DataFrame([{
    "case": "tampered graph", "change": f"LinearClassifier intercepts shifted by "
    f"{med_delta:.2f}", "expected": "reject",
    "manifest": "pass" if med_bad_manifest.ok else "FAIL: changed " +
    ", ".join(med_bad_manifest.changed),
    "signature": "pass" if med_bad_sig.ok else f"REJECTED: {med_bad_sig.reason}"}])],
    ignore_index=True), caption="the signed ONNX model and its tampered copies"))
med_scans = {lab: {s: supplychain.scan_file(p, s) for s in supplychain.SCANNERS}
             for lab, p in (("model.onnx (clean)", med_onnx),
                            ("model.onnx (tampered graph)", med_bad))}
display(plots.table(pd.DataFrame([{
    "file": lab, "scanner": s, "flagged": v.flagged, "severity": v.severity,
    "note": v.error or "; ".join(v.findings)[:80]}
    for lab, row in med_scans.items() for s, v in row.items()]),
    caption="scanners on the ONNX files (" + ", ".join(
        f"{k} {v}" for k, v in supplychain.scanner_versions().items()) + ")"))
med_evaded = [s for s in supplychain.SCANNERS if supplychain.passes_as_clean(
    med_scans["model.onnx (tampered graph)"][s], med_scans["model.onnx (clean)"][s])]
med_adaptive = supplychain.adaptive_trials(med_model, med_bad.parent, manifest=med_manifest,
                                            key_pair=med_keys, signature_path=med_sig,
                                            workdir=med_dir / "adaptive")
display(plots.table(med_adaptive.frame(), caption="an attacker who knows the checks, on the "
                    "tampered graph"))
print(f"scanners that cannot tell the tampered graph from the clean one: {med_evaded}")
claims.claim("medical: the untouched signed model passes manifest and signature",
             float(med_trials.untouched_passed), at_least=1)
claims.claim("medical: the signature rejects the flipped bit, the added file and the wrong "
             "key (share of the 3 tamperings)", med_trials.caught, at_least=1)
claims.claim("medical: manifest and signature reject the tampered graph, and the signature "
             "all 4 adaptive attempts", med_adaptive.caught if not med_bad_sig.ok
             and not med_bad_manifest.ok else 0.0, at_least=1)
med_seconds = time.perf_counter() - med_t0
print(f"section time: {med_seconds:.1f} s")


# %% [markdown]
# ### Exercise 4 · Check a signature
#
# Underneath model-signing is one operation: verifying a detached signature with a public key.
# Write `verify_signature(public_key_pem, data, signature)` for an ECDSA signature (NIST P-256,
# SHA-256, DER-encoded, as `cryptography`'s `private_key.sign(data, ec.ECDSA(hashes.SHA256()))`
# makes) of `data` (bytes: a manifest). Return True if it verifies and False if it does not
# (`InvalidSignature`: tampered data, another key, a damaged signature). A key that is not a PEM
# elliptic-curve public key raises `ValueError` (as `load_pem_public_key` does).


# %%
def verify_signature(public_key_pem, data, signature):
    ### BEGIN SOLUTION
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
    ### END SOLUTION


# %%
### POINTS: 1
verify_signature = check(lab11.VERIFY_SIGNATURE, verify_signature)
### BEGIN HIDDEN TESTS
grade(lab11.VERIFY_SIGNATURE, verify_signature)
### END HIDDEN TESTS


# %%
# Your check on the diagnosis model's manifest, signed here with the ML team's private key;
# then on the manifest of the tampered graph, and with another team's key.


med_ex_private = serialization.load_pem_private_key(med_keys.private_key.read_bytes(), None)
med_ex_data = json.dumps(med_manifest, sort_keys=True).encode()
med_ex_sig = med_ex_private.sign(med_ex_data, ec.ECDSA(hashes.SHA256()))
med_ex_pub = med_keys.public_key.read_bytes()
med_ex_other = supplychain.make_key_pair(med_dir / "other_keys", name="other_team")
med_ex_bad = json.dumps(supplychain.build_manifest(med_bad.parent), sort_keys=True).encode()
print(f"the signed manifest: {verify_signature(med_ex_pub, med_ex_data, med_ex_sig)}; the "
      f"tampered model's manifest: {verify_signature(med_ex_pub, med_ex_bad, med_ex_sig)}; "
      f"another team's key: "
      f"{verify_signature(med_ex_other.public_key.read_bytes(), med_ex_data, med_ex_sig)}")


# %% [markdown]
# ### What changed and why
#
# - **ONNX removes the code path, not the attack surface.** The exported model computes the
#   same probabilities as the pipeline and its file is a graph of standard operators with no
#   pickle in it: loading it cannot run a payload. But two changed numbers turned it into a
#   model that misses many more cancers (measured above) while raising no more false alarms,
#   and the ONNX checker and runtime accepted it.
# - **Scanners do not help with that**: they look for code in pickles; a graph has none, so
#   they say nothing about a changed one (their verdicts are in the table: fickling flags
#   the clean and the tampered file alike, the other two do not flag either).
# - **The signature does.** It passed the untouched model and rejected the flipped bit, the
#   added file, the wrong key, the tampered graph and the attacker's rewritten manifest,
#   re-signature, forged key hint and edited statement. It protects the model between the
#   team that signed it and the runtime that checks it, no further: a graph tampered before
#   signing (in the training pipeline) is signed like any other.
# - `SUMMARY["medical"]`: "format_unsafe" names the pickle (joblib) the pipeline would be saved
#   with otherwise; no payload runs in this section (payload fields False), and the scanners'
#   verdicts are those on the tampered ONNX file, the evaders those that cannot tell it from
#   the clean one.


# %%
SUMMARY["medical"] = {
    "format_unsafe": "joblib pickle (not attacked here: the section tampers with the graph)",
    "payload_ran_unsafe": False,
    "safe_format": "ONNX (skl2onnx, run by onnxruntime)",
    "payload_ran_safe": False,
    "scanners_flagged": {s: bool(med_scans["model.onnx (tampered graph)"][s].flagged)
                         for s in supplychain.SCANNERS},
    "adaptive_evaded": med_evaded,
    "integrity": "SHA-256 manifest + model-signing EC P-256 signature of the ONNX folder",
    "integrity_caught": (med_trials.caught * med_trials.n_tampered + float(not med_bad_sig.ok)
                         + med_adaptive.caught * med_adaptive.n_tampered)
    / (med_trials.n_tampered + 1 + med_adaptive.n_tampered),
}


# %% [markdown]
# ## 6 · The lifecycle: all five systems shipped safely, and the course's own supply chain
#
# The sections so far each attacked one file. A team ships **every** model, and builds them
# all with the same libraries. This section does, for the five reference systems, what a
# release pipeline does: write each in a format a loader reads without running code the file
# chooses, hash every file
# into a manifest, sign the folder, and load it **only** through a function that verifies
# first. Then it turns to the environment that trained them (pinned dependencies, a lock file,
# an SBOM), and ends with a map of every control of the course onto the lifecycle, SAIF and
# the NIST CSF.


# %%

sdl_dir = LAB_DIR / "lifecycle"
sdl_dir.mkdir()
sdl_start = time.perf_counter()
# the five reference systems the sections above loaded or trained
sdl_systems = {"image": img_system, "nlp": nlp_system, "recommender": rec_system,
               "fraud": frd_system, "medical": med_system}
sdl_data = {d: load_dataset(d, seed=0) for d in catalogue.DOMAINS}
sdl_build_s = time.perf_counter() - sdl_start
for sdl_domain, sdl_system in sdl_systems.items():
    print(f"{sdl_domain:12s} {sdl_system.source_}")
print(f"(systems ready in {sdl_build_s:.1f} s; the timings below exclude this)")
sdl_t0 = time.perf_counter()


# %% [markdown]
# ### Five systems, two safe formats
#
# Torch systems hold tensors only: **safetensors** stores raw tensors behind a JSON header,
# so reading it parses numbers, never code. The scikit-learn systems are objects (vocabularies,
# trees, pipelines), not tensors: **skops** rebuilds them from a JSON schema and refuses any
# type outside its defaults unless the *loader* trusts it by name. The trust list below is the
# deployer's policy, written here, never read from the file. A `config.json` (plain JSON) says
# how to rebuild each system. No pickle anywhere.


# %%
sdl_formats = pd.DataFrame([
    {"system": d, "class": type(sdl_systems[d]).__name__,
     "safe format": supplychain.SAFE_FORMATS[d][0], "why": supplychain.SAFE_FORMATS[d][1],
     "trusted types (skops)": ", ".join(supplychain.TRUSTED_TYPES.get(d, ())) or
     ("none beyond skops' defaults" if d in supplychain.TRUSTED_TYPES else "-")}
    for d in catalogue.DOMAINS])
display(plots.table(sdl_formats, caption="The safe format of each reference system"))


# %% [markdown]
# ### Saved, hashed, signed, and loaded only after verification
#
# A publisher key pair (elliptic curve P-256, generated here with `cryptography`) signs each
# folder with `model-signing` offline: no Sigstore, no network. `verify_then_load` checks the
# manifest and then the signature, and only then parses the files; a failure raises before
# anything in the model is parsed. The reloaded systems answer the first 500 test inputs of their
# domain (seed-0 split; the 114 test patients for the medical system) and we compare every
# output bit for bit with the original's.


# %%

print("tools: " + ", ".join(f"{p} {sdl_metadata.version(p)}" for p in (
    "safetensors", "skops", "model-signing", "cryptography")))
sdl_keys = supplychain.make_key_pair(sdl_dir / "keys", name="publisher")
sdl_start = time.perf_counter()
sdl_n_eval = 500  # the first 500 test inputs of each domain
sdl_trips = {d: supplychain.secure_round_trip(sdl_systems[d], sdl_dir / "models",
                                               key_pair=sdl_keys,
                                               X=sdl_data[d].X_test[:sdl_n_eval])
             for d in catalogue.DOMAINS}
sdl_trip_s = time.perf_counter() - sdl_start
sdl_rows = pd.DataFrame([{
    "system": d, "format": t.saved.format, "files": ", ".join(t.saved.files),
    "bytes": t.saved.bytes, "save ms": 1000 * t.saved.seconds, "sign ms": 1000 * t.sign_seconds,
    "verify ms": 1000 * t.verify_seconds, "verify + load ms": 1000 * t.verify_load_seconds,
    "test inputs": t.same.size, "same predictions": t.same_share,
} for d, t in sdl_trips.items()])
display(plots.table(sdl_rows, precision=1, caption="Each system saved safely, signed, "
                    "verified and reloaded (same predictions: share of test inputs answered "
                    "bit for bit as before)"))
sdl_same = stats.proportion(np.concatenate([t.same for t in sdl_trips.values()]).astype(int),
                            on=f"{sum(t.same.size for t in sdl_trips.values()):,} test inputs "
                            "of the five systems")
sdl_verified = sum(  # checked once more, independently of the loader
    supplychain.check_manifest(t.saved.folder, t.manifest).ok
    and supplychain.verify_signature(t.saved.folder, sdl_keys, t.signature).ok
    for t in sdl_trips.values())
print(f"systems verified and reloaded: {sdl_verified}/5 in {sdl_trip_s:.2f} s")
print(f"identical outputs after reload: {sdl_same}")
claims.claim("lifecycle: all five systems verify and reload", sdl_verified, at_least=5)
claims.claim("lifecycle: reloaded systems answer identically (share of test inputs)",
             sdl_same.value, at_least=1.0)


# %% [markdown]
# ### The attacker who knows the loader
#
# The attacker can write to the model store and knows that the loader checks a manifest and a
# signature; they lack the publisher's private key. Four attempts per system, each on a copy:
# a flipped bit in the weights; a pickle carrying the lab's benign payload added next to the
# weights, with the manifest rewritten to list it; a flipped bit with the manifest rewritten;
# and the same re-signed with the attacker's own key. We record what the manifest check alone
# says and whether `verify_then_load` refused, and whether the payload's marker appeared.


# %%
sdl_attacker = supplychain.make_key_pair(sdl_dir / "keys", name="attacker")
sdl_trials = [trial for d in catalogue.DOMAINS for trial in supplychain.refusal_trials(
    sdl_trips[d], sdl_dir / "attacks" / d, key_pair=sdl_keys, attacker=sdl_attacker,
    seed=seed)]
sdl_attacks = pd.DataFrame([{
    "system": t.domain, "tampering": t.case,
    "manifest alone": "passes" if t.manifest_ok else "caught",
    "verify-then-load": "refused" if t.refused else "LOADED",
    "why": t.reason.split("(")[0].strip(), "payload ran": t.payload_ran} for t in sdl_trials])
display(plots.table(sdl_attacks, caption="Tampered copies offered to verify_then_load"))
sdl_refused = stats.proportion(np.array([t.refused for t in sdl_trials], dtype=int),
                               on=f"{len(sdl_trials)} tampered copies (4 per system)")
sdl_manifest_caught = stats.proportion(np.array([not t.manifest_ok for t in sdl_trials],
                                                dtype=int), on=f"{len(sdl_trials)} copies")
sdl_payload_runs = sum(t.payload_ran for t in sdl_trials)
print(f"refused by verify-then-load: {sdl_refused}")
print(f"caught by the manifest alone: {sdl_manifest_caught}")
print(f"payload markers that appeared: {sdl_payload_runs}")
claims.claim("lifecycle: verify-then-load refuses every tampered copy", sdl_refused.value,
             at_least=1.0)
claims.claim("lifecycle: a manifest alone misses the attacker who rewrites it",
             sdl_manifest_caught.value, at_most=0.5)
claims.claim("lifecycle: the planted payload never runs", sdl_payload_runs, at_most=0)
sdl_cases = list(dict.fromkeys(t.case for t in sdl_trials))
plots.before_after_bars(
    sdl_cases,
    [np.mean([not t.manifest_ok for t in sdl_trials if t.case == c]) for c in sdl_cases],
    [np.mean([t.refused for t in sdl_trials if t.case == c]) for c in sdl_cases],
    before_name="manifest alone", after_name="manifest + signature (verify-then-load)",
    percent=True, yaxis_title="share of the five systems caught",
    title="What each check catches, per tampering")


# %% [markdown]
# ### The environment: pins, a lock file, installed files
#
# The weights are only half of what runs: the libraries that load them are the other half.
# The course pins every dependency exactly in `pyproject.toml`; here each pin is compared with
# what `importlib.metadata` says is installed (PEP 440: `==2.13.0` accepts the local build
# `2.13.0+cpu`).


# %%
sdl_start = time.perf_counter()
sdl_pins = supplychain.pinned_requirements(supplychain.repository_pyproject())
sdl_pins_match = stats.proportion(sdl_pins["matches"].to_numpy(dtype=int),
                                  on=f"{len(sdl_pins)} pinned runtime dependencies")
print(f"exact pins: {int(sdl_pins['exact'].sum())}/{len(sdl_pins)}; "
      f"installed versions matching their pin: {sdl_pins_match}")
display(plots.table(sdl_pins[~sdl_pins["matches"] | (sdl_pins["installed"] != sdl_pins["pin"]
                                                      .str.lstrip("="))],
                    caption="Pins whose installed version is not written the same way "
                    "(or does not match)"))
claims.claim("lifecycle: every exact pin matches the installed version", sdl_pins_match.value,
             at_least=1.0)


# %% [markdown]
# A pin names a version; it does not say which bytes. A **lock file** does: every package with
# its version and the SHA-256 of the exact wheel, so that `pip install --require-hashes -r
# requirements.lock.txt` refuses any other file (a re-uploaded wheel, a mirror's copy). Those
# wheel hashes live in the package index; offline, the environment records them only for
# packages installed from a local archive (PEP 610 `direct_url.json`). What it does record
# offline is each package's `RECORD`: the SHA-256 of every file the installer wrote, which we
# can check again.


# %%
sdl_lock = supplychain.lock_view(list(sdl_pins["package"]), sdl_dir)
print(f"lock-file view of {len(sdl_lock.frame)} packages written to "
      f"{sdl_lock.path.relative_to(LAB_DIR)}; wheel hashes known offline: {sdl_lock.hashed}")
print("\n".join(sdl_lock.path.read_text().splitlines()[:4]) + "\n...")
sdl_tools = ["picklescan", "modelscan", "fickling", "skops", "safetensors", "model-signing",
             "cyclonedx-bom", "onnx"]
sdl_records = [supplychain.verify_installed(p) for p in sdl_tools]
sdl_record_rows = pd.DataFrame([{"package": r.package, "version": r.version,
                                 "files re-hashed": r.checked, "changed": len(r.mismatched),
                                 "missing": len(r.missing)} for r in sdl_records])
display(plots.table(sdl_record_rows, caption="The lab's supply-chain tools: installed files "
                    "against the SHA-256 hashes of their RECORD"))
sdl_record_ok = stats.proportion(np.array([r.ok for r in sdl_records], dtype=int),
                                 on=f"{len(sdl_records)} packages")
print(f"packages whose installed files all match their RECORD: {sdl_record_ok}")


# %% [markdown]
# ### An SBOM of the running environment
#
# A software bill of materials lists every component of what ships, so that when an advisory
# names a package, you know in minutes whether you run it. `cyclonedx-bom` reads the installed
# distributions of this kernel's interpreter and writes CycloneDX JSON into the lab's folder;
# we then validate it against the strict CycloneDX schema bundled with the library (offline).


# %%
sdl_sbom = supplychain.write_sbom(sdl_dir)
sdl_components = supplychain.sbom_frame(sdl_sbom.path)
sdl_pinned_in_sbom = stats.proportion(np.array([
    p.lower().replace("_", "-") in set(sdl_components["name"].str.lower().str.replace("_", "-"))
    for p in sdl_pins["package"]], dtype=int), on=f"{len(sdl_pins)} pinned packages")
print(f"{sdl_sbom.tool}: `{sdl_sbom.command}` in {sdl_sbom.seconds:.1f} s")
print(f"CycloneDX {sdl_sbom.spec_version}: {sdl_sbom.components} components; schema errors: "
      f"{len(sdl_sbom.errors)} (validated in {sdl_sbom.validate_seconds:.2f} s); pinned "
      f"packages listed: {sdl_pinned_in_sbom}")
display(plots.table(sdl_components[sdl_components["name"].str.lower().isin(
    [t.lower() for t in sdl_tools])], caption="A few components of the SBOM"))
claims.claim("lifecycle: the SBOM is valid CycloneDX", len(sdl_sbom.errors), at_most=0)
claims.claim("lifecycle: the SBOM lists every pinned package", sdl_pinned_in_sbom.value,
             at_least=1.0)


# %% [markdown]
# **A vulnerability audit is not run here.** `pip-audit` looks every package up in an online
# advisory service (PyPI's JSON API or OSV), and the lab runs offline. We assume no offline
# source of advisories; the cell below only checks that no audit tool is installed with one.
# On a machine with network access, run it after every change of the lock file and on a
# schedule:


# %%
sdl_installed = {d.metadata["Name"].lower() for d in sdl_metadata.distributions()}
sdl_audit_tools = sorted(sdl_installed & {"pip-audit", "safety", "safety-db", "osv",
                                          "pysentry"})
print(f"audit tools installed here: {sdl_audit_tools or 'none'}")
print(supplychain.PIP_AUDIT_COMMAND)


# %% [markdown]
# ### The secure development lifecycle for models
#
# Each control of the course sits at a stage of the lifecycle of lab 00 (data collection,
# labelling, training, the model artefact i.e. packaging, deployment/serving, use/monitoring)
# and serves an element of Google's SAIF and a category of the NIST CSF 2.0. Every identifier
# below is checked against the course's catalogues (`frameworks`, `catalogue`): the SAIF
# element must be one of its lab's, the category must belong to one of its lab's NIST CSF
# functions.


# %%
sdl_map = supplychain.sdl_table()
display(plots.table(sdl_map, caption="Secure development lifecycle: controls, stages, SAIF "
                    "and NIST CSF 2.0"))
sdl_stage_names = [s.name for s in frameworks.LIFECYCLE_STAGES.values()]
sdl_functions = list(frameworks.NIST_CSF_FUNCTIONS)
sdl_counts = np.array([[int(((sdl_map["stage"] == st) & sdl_map["NIST CSF"].str.startswith(
    fn + " ")).sum()) for fn in sdl_functions] for st in sdl_stage_names])
sdl_stages_covered = int((sdl_counts.sum(1) > 0).sum())
print(f"{len(sdl_map)} controls; lifecycle stages with at least one control: "
      f"{sdl_stages_covered}/{len(sdl_stage_names)}")
plots.heatmap(sdl_counts, [f"{fn} {frameworks.NIST_CSF_FUNCTIONS[fn].name}"
                           for fn in sdl_functions], sdl_stage_names, text_format=".0f",
              title="Controls per lifecycle stage and NIST CSF function",
              xaxis_title="NIST CSF 2.0 function", yaxis_title="lifecycle stage")


# %% [markdown]
# ### What changed and why


# %%
sdl_trusted = {d: t for d, t in supplychain.TRUSTED_TYPES.items() if t}
sdl_lab11_stages = sorted({frameworks.LIFECYCLE_STAGES[c.stage].name
                           for c in supplychain.SDL_CONTROLS if c.lab == 11})
sdl_other_labs = sorted({c.lab for c in supplychain.SDL_CONTROLS if c.lab != 11})
display(Markdown(f"""
- **Packaging.** All {sdl_verified} systems now ship without pickle:
  {', '.join(d for d in catalogue.DOMAINS if supplychain.SAFE_FORMATS[d][0] == 'safetensors')}
  as safetensors, {', '.join(d for d in catalogue.DOMAINS
                             if supplychain.SAFE_FORMATS[d][0] == 'skops')} as skops
  ({sum(map(len, sdl_trusted.values()))} type trusted by name, for
  {', '.join(sdl_trusted)}). Reloaded through verify-then-load they answer
  identically on {sdl_same.n:,} test inputs (share {sdl_same.value:.3f}, 95% CI
  [{sdl_same.low:.3f}, {sdl_same.high:.3f}]). Signing took at most
  {sdl_rows['sign ms'].max():.0f} ms and verifying at most {sdl_rows['verify ms'].max():.0f} ms
  a system; the largest cost is skops itself on the NLP pipeline's vocabularies
  ({sdl_rows.set_index('system').loc['nlp', 'save ms']:.0f} ms to save,
  {sdl_rows.set_index('system').loc['nlp', 'verify + load ms']:.0f} ms to verify and
  load).
- **The attacker who knows the checks.** A manifest stored next to the model caught only
  {sdl_manifest_caught.value:.0%} of {sdl_manifest_caught.n} tampered copies: whoever can
  change the weights can rewrite it. The signature caught {sdl_refused.value:.0%}
  (95% CI [{sdl_refused.low:.2f}, {sdl_refused.high:.2f}]), the attacker's own key included,
  and the planted pickle never ran ({sdl_payload_runs} markers): the loader refused before
  parsing any model file, and it has no pickle path to begin with.
- **The environment.** {int(sdl_pins['matches'].sum())}/{len(sdl_pins)} exact pins match the
  installed versions, but pins name versions, not bytes: wheel hashes known offline
  {sdl_lock.hashed}/{len(sdl_lock.frame)}, so the lock-file view cannot yet be installed with
  `--require-hashes`; a real lock file (`pip-compile --generate-hashes` or
  `uv pip compile --generate-hashes`, run against the index) adds them.
  The installed files of {len(sdl_records)} supply-chain tools match their RECORD. The SBOM
  lists {sdl_sbom.components} components and is valid CycloneDX {sdl_sbom.spec_version}; the
  vulnerability audit it enables needs the network and was not run.
- **The map.** {len(sdl_map)} controls of the course cover {sdl_stages_covered} of
  {len(sdl_stage_names)} lifecycle stages; this lab's sit at {', '.join(sdl_lab11_stages)};
  the others come from labs {', '.join(f'{n:02d}' for n in sdl_other_labs)} (the serving
  and monitoring controls of labs 12 and 13 are not in this table).
"""))
print(f"section 6 cells after the systems were built: {time.perf_counter() - sdl_t0:.1f} s")


# %%
SUMMARY["lifecycle"] = {
    "systems_verified": int(sdl_verified),
    "same_predictions": float(sdl_same.value),
    "pins_matching": float(sdl_pins_match.value),
    "sbom_components": int(sdl_sbom.components),
}
print(SUMMARY["lifecycle"])


# %% [markdown]
# ## Summary: five systems, one supply chain
#
# One row per section: the unsafe format it attacked and whether the payload ran, the safe
# format and whether it ran there (it must not), what the three scanners said about the
# section's malicious file, which scanners the adaptive payload got past, and the integrity
# check the section ran with the share of tamperings it caught.


# %%
summary_domains = [d for d in catalogue.DOMAINS if d in SUMMARY]
summary = pd.DataFrame([{
    "system": d, "unsafe format": SUMMARY[d]["format_unsafe"],
    "payload ran (unsafe)": SUMMARY[d]["payload_ran_unsafe"],
    "safe format": SUMMARY[d]["safe_format"],
    "payload ran (safe)": SUMMARY[d]["payload_ran_safe"],
    **{f"{s} flagged": SUMMARY[d]["scanners_flagged"].get(s) for s in supplychain.SCANNERS},
    "adaptive payload evaded": ", ".join(SUMMARY[d]["adaptive_evaded"]) or "-",
    "integrity check": SUMMARY[d]["integrity"],
    "tamperings caught": SUMMARY[d]["integrity_caught"]} for d in summary_domains])
display(plots.table(summary, caption="What ran, what the scanners said, what the integrity "
                    "checks caught"))


# %%
summary_flags = np.array([[np.nan if SUMMARY[d]["scanners_flagged"].get(s) is None
                           else float(SUMMARY[d]["scanners_flagged"][s])
                           for s in supplychain.SCANNERS] for d in summary_domains])
summary_evaded = np.array([[float(s in SUMMARY[d]["adaptive_evaded"])
                            for s in supplychain.SCANNERS] for d in summary_domains])
summary_fig = plots.heatmap(np.hstack([summary_flags, summary_evaded]),
                            [f"{s}: flags the payload" for s in supplychain.SCANNERS]
                            + [f"{s}: evaded by the adaptive one" for s in supplychain.SCANNERS],
                            summary_domains, colorscale="Reds",
                            title="Scanners catch the plain payload; the adaptive one gets past")
summary_fig


# %%
summary_safe_ran = sum(bool(SUMMARY[d]["payload_ran_safe"]) for d in summary_domains)
summary_payload = [d for d in summary_domains if SUMMARY[d]["payload_ran_unsafe"]]
summary_evasions = sum(len(SUMMARY[d]["adaptive_evaded"]) for d in summary_domains)
summary_caught = min(SUMMARY[d]["integrity_caught"] for d in summary_domains)
display(Markdown(
    f"**What the sections show together.** The payload ran whenever a pickle-based file was "
    f"loaded the usual way ({', '.join(summary_payload)}; the other sections attacked the "
    f"weights, not the loader) and {summary_safe_ran} times on a safe path. Scanners are "
    f"deny-lists of what their authors anticipated: the adaptive payloads got "
    f"past a scanner {summary_evasions} times across the sections, and fickling, which is "
    f"stricter, also flags clean model files, so its verdict alone cannot decide. What held "
    f"every time was not detection but construction: formats that cannot carry code, loaders "
    f"that accept only an allow-list, and hashes and signatures checked before anything is "
    f"loaded (every section caught at least {summary_caught:.0%} of its tamperings)."))
claims.claim("summary: no safe path ran a payload in any section", summary_safe_ran, at_most=0)
claims.claim("summary: every tampering was caught by the integrity checks (smallest share)",
             summary_caught, at_least=1.0)


# %% [markdown]
# ## Challenge · Get past the lab's scanner, then close the hole
#
# The lab's own scanner, `lab11.lab_scan(data)`, is a deny-list: it refuses pickles that import
# from `os`, `subprocess`, `sys`, `socket`, `shutil` and a few others, or the builtins `eval`,
# `exec`, `compile`, `open`, `__import__` and `getattr`
# (`lab11.LAB_SCANNER_DENY_MODULES`, `lab11.LAB_SCANNER_DENY_BUILTINS`; it reads the globals
# with `lab11.pickle_globals`). `lab11.scanner_task(seed=...)` gives you `task.marker_path` and
# `task.clean_pickles` (pickles of the team's legitimate models). Write `break_and_fix(task)`
# returning a tuple `(payload, scanner)`:
# - `payload`: pickle bytes that `task.lab_scan` passes and that, when unpickled, create
#   `task.marker_path` (and nothing else);
# - `scanner(data) -> bool`: your replacement scanner, True to refuse. It must refuse your
#   payload and other payloads the deny-list misses, and pass the team's legitimate models.
#
# The check unpickles your payload once (it is your own code, as in the sections above) in a
# folder it creates for the purpose and removes, and grades your scanner on payloads and models
# you have not seen.


# %%
def break_and_fix(task):
    ### BEGIN SOLUTION
    import io
    import pickle

    # io.open is builtins.open under another module name: the deny-list never lists it
    class Payload:
        def __reduce__(self):
            return io.open, (str(task.marker_path), "w")

    payload = pickle.dumps(Payload())
    # the fix: an allow-list of exactly what the team's models import, nothing else
    allowed = {g for clean in task.clean_pickles for g in lab11.pickle_globals(clean)}

    def scanner(data):
        return any(g not in allowed for g in lab11.pickle_globals(data))

    return payload, scanner
    ### END SOLUTION


# %%
### POINTS: 3
break_and_fix = check(lab11.CHALLENGE, break_and_fix)
### BEGIN HIDDEN TESTS
grade(lab11.CHALLENGE, break_and_fix)
### END HIDDEN TESTS


# %%
fresh_task = lab11.scanner_task(seed=1000 + seed)  # never graded
fresh_out = lab11.challenge_outcome(fresh_task, *break_and_fix(fresh_task))
display(plots.table(pd.DataFrame([fresh_out]), caption="your payload and scanner on a fresh "
                    "team's models"))
claims.claim("a deny-list scanner is evaded (the fresh payload passes it and runs)",
             float(fresh_out["passes_lab_scanner"] and fresh_out["creates_marker"]),
             at_least=1.0)
claims.claim("an allow-list closes the hole (hidden evasive payloads refused)",
             fresh_out["flags_hidden_payloads"], at_least=1.0)
claims.claim("... and keeps the team's models (hidden clean models passed)",
             fresh_out["passes_clean_models"], at_least=1.0)


# %% [markdown]
# A deny-list asks "is this one of the bad things I know?"; an allow-list asks "is this one of
# the few things I need?". The first loses to the first thing its author did not know (here,
# one of the many other ways to open a file); the second fails closed. That is why
# `torch.load(weights_only=True)` and skops's trusted types are allow-lists, and why the safe
# formats go further and carry no code at all.


# %% [markdown]
# ## Reflection
#
# Answer each question in its cell; the rubric in the instructor's version gives the points.


# %% [markdown]
# ### POINTS: 3
# **1.** A colleague says: "we scan every model we download with two scanners, so pickles are
# fine." Using this lab's measurements, answer them.
#
# ### BEGIN SOLUTION
# Model answer: scanners are deny-lists of known dangerous imports and known file layouts; the
# lab's adaptive payloads (other callables, payloads placed after the numpy buffers or in a
# compressed joblib file) passed them, and the strict scanner flags clean model files, so its
# warnings are ignored in practice. A scan reduces risk from careless attackers but proves
# nothing against one who tests against the scanner. Prefer formats that cannot carry code
# (safetensors, skops with trusted types, ONNX), load pickles only from sources you verify by
# hash and signature, and load them in a sandbox if you must. Rubric: 1 point for the misses,
# 1 for the false positives, 1 for what to do instead.
# ### END SOLUTION


# %% [markdown]
# ### POINTS: 3
# **2.** A signed model folder verified, yet the model recommends one film to everybody. What
# does a signature prove, and what does it not?
#
# ### BEGIN SOLUTION
# Model answer: a signature proves that the files are exactly those the key holder signed, and
# that nobody without the key changed them since; it says nothing about whether the signer's
# model is good or honest (a poisoned training run, an insider, a stolen signing key, or a
# model edited before signing all verify). It must be paired with who holds the key (key
# management), what was reviewed before signing (evaluation, backdoor tests, provenance of
# data and code), and a trusted record of which signer and version to accept. Rubric: 1 point
# for what it proves, 2 for what it does not and what complements it.
# ### END SOLUTION


# %% [markdown]
# ### POINTS: 3
# **3.** The course's environment has a CycloneDX SBOM. Describe two concrete uses of it during
# an incident (for example a vulnerability announced in a package the models depend on).
#
# ### BEGIN SOLUTION
# Model answer: find every system and image that contains the affected package and version
# (the SBOM lists components with versions and purls) without inspecting each machine; check
# whether a fixed version is pinned and rebuild from the lock file; prove to an auditor or
# regulator which version was deployed when; compare SBOMs of two releases to see what changed.
# Rubric: 1.5 points per concrete use.
# ### END SOLUTION


# %% [markdown]
# ### POINTS: 3
# **4.** Place three controls of this lab in a secure development lifecycle for models and name
# the SAIF element and the NIST CSF function each supports.
#
# ### BEGIN SOLUTION
# Model answer (examples): pinned dependencies and an SBOM at build time (SAIF: secure-by-default
# infrastructure foundations; CSF: Identify, asset management); safe formats and signing at
# packaging (SAIF: extend detection and response / harmonise platform controls; CSF: Protect,
# data security and platform security); verification before loading at deployment (CSF:
# Protect, and Detect when it fails). Accept any mapping the lab's table supports. Rubric:
# 1 point per correctly placed control.
# ### END SOLUTION


# %% [markdown]
# ## Further reading
#
# - Python documentation, `pickle`: "Warning: The pickle module is not secure"; PyTorch,
#   `torch.load` and `weights_only`; Hugging Face, safetensors.
# - Trail of Bits, "Never a dill moment: Exploiting machine learning pickle files" (2021) and
#   fickling; Protect AI, modelscan; picklescan.
# - skops, "Secure persistence" (trusted types); ONNX and ONNX Runtime.
# - OpenSSF, model-signing (the OpenSSF Model Signing specification, 2025); Sigstore.
# - CycloneDX (ECMA-424) and SPDX; NTIA, "The Minimum Elements for a Software Bill of Materials"
#   (2021); NIST SP 800-218 (SSDF) and SP 800-218A (SSDF for generative AI and dual-use
#   foundation models).
# - Google, Secure AI Framework (SAIF); NIST Cybersecurity Framework 2.0.
# - OWASP ML Top 10 ML06 (AI Supply Chain Attacks) and ML10 (Model Poisoning); MITRE ATLAS
#   AML.T0010 (ML Supply Chain Compromise) and AML.T0011.000 (Unsafe ML Artifacts).


# %%

shutil.rmtree(LAB_DIR)
print(f"removed {LAB_DIR}: the lab leaves nothing behind ({not LAB_DIR.exists()})")
