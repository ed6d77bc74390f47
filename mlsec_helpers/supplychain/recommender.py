"""Recommender: lab 00's matrix-factorisation model saved as safetensors, and tampered with.

The recommender (:class:`~mlsec_helpers.systems.MFRecommender`, a torch model) is saved as a
folder of two files that hold no code: its tensors in safetensors (``weights.safetensors``) and
its sizes in JSON (``config.json``) (:func:`save_mf_folder`, :func:`load_mf_folder`). A safe
format stops code from running at load time; it does not stop the numbers from being changed.
Two tamperings show it:

- a **single flipped bit** in the weights (:func:`bit_flip_effects`): the file still loads,
  usually nothing visible changes, and only a hash notices;
- a **promoted item** (:func:`promote_item`): one obscure item's factor and bias are rewritten,
  within the range of the other items' values, so that it enters many users' top-10 lists
  (:func:`item_reach`) while the file loads and the tensors' summaries stay as they were
  (:func:`weight_review`).

A manifest and a signature (:mod:`~mlsec_helpers.supplychain.integrity`) catch both.

Introduced in lab 11 (Supply chain).
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..repro import limited_threads, seeded
from ..stats import Rate, proportion
from ..validate import (
    ArgumentTypeError,
    check_fitted,
    check_fraction,
    check_int,
    check_pairs,
    check_path,
    check_seed,
)
from .common import sha256_file
from .integrity import flip_bit
from .results import BitFlipEffects, ItemPromotion

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MF_CONFIG_FILE",
    "MF_TENSORS",
    "MF_WEIGHTS_FILE",
    "bit_flip_effects",
    "item_reach",
    "load_mf_folder",
    "obscure_items",
    "promote_item",
    "safetensors_data_range",
    "save_mf_folder",
    "top_k_lists",
    "weight_review",
]

MF_WEIGHTS_FILE = "weights.safetensors"
"""The tensors of a saved recommender (safetensors: a JSON header, then raw numbers).

Introduced in lab 11 (Supply chain)."""

MF_CONFIG_FILE = "config.json"
"""The sizes of a saved recommender (JSON).

Introduced in lab 11 (Supply chain)."""

MF_TENSORS = ("P.weight", "Q.weight", "bu.weight", "bi.weight", "mu")
"""The tensors of a saved recommender: user factors, item factors, user and item biases, and
the global mean rating (a float64 scalar).

Introduced in lab 11 (Supply chain)."""

_FORMAT = "mlsec-mf-recommender"






def _check_recommender(system):
    from ..systems import MFRecommender

    if not isinstance(system, MFRecommender):
        raise ArgumentTypeError(f"system must be the course's MFRecommender, got "
                                f"{type(system).__name__}")
    return check_fitted(system, "the recommender")


def save_mf_folder(system, folder) -> Path:
    """Save a fitted :class:`~mlsec_helpers.systems.MFRecommender` into ``folder`` (a new or
    empty folder): its tensors (:data:`MF_TENSORS`) in :data:`MF_WEIGHTS_FILE` with
    ``safetensors.torch.save_file`` and its sizes in :data:`MF_CONFIG_FILE`. Neither file holds
    code. Returns the folder.

    Introduced in lab 11 (Supply chain).
    """
    import torch
    from safetensors.torch import save_file

    system = _check_recommender(system)
    folder = check_path(folder, "folder")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise FileExistsError(f"{folder} exists and is not an empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous().clone()
               for k, v in system.model.state_dict().items()}
    tensors["mu"] = torch.tensor(float(system.model.mu), dtype=torch.float64)
    save_file(tensors, folder / MF_WEIGHTS_FILE, metadata={"format": _FORMAT})
    config = {"format": _FORMAT, "n_users": system.n_users, "n_items": system.n_items,
              "dim": system.dim, "tensors": list(MF_TENSORS)}
    (folder / MF_CONFIG_FILE).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    return folder


def _read(folder: Path) -> tuple[dict, dict]:
    """The config and tensors of a saved recommender folder, checked against each other."""
    from safetensors.torch import load_file

    try:
        config = json.loads((folder / MF_CONFIG_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{folder} has no {MF_CONFIG_FILE}: not a saved "
                                "recommender") from None
    if not isinstance(config, dict) or config.get("format") != _FORMAT:
        raise ValueError(f"{folder / MF_CONFIG_FILE} is not a recommender config of "
                         "save_mf_folder")
    tensors = load_file(folder / MF_WEIGHTS_FILE)
    n_users, n_items, dim = (check_int(config.get(k), f"config {k}")
                             for k in ("n_users", "n_items", "dim"))
    shapes = {"P.weight": (n_users, dim), "Q.weight": (n_items, dim), "bu.weight": (n_users, 1),
              "bi.weight": (n_items, 1), "mu": ()}
    if set(tensors) != set(shapes):
        raise ValueError(f"{MF_WEIGHTS_FILE} must hold exactly {sorted(shapes)}, got "
                         f"{sorted(tensors)}")
    for name, shape in shapes.items():
        if tuple(tensors[name].shape) != shape:
            raise ValueError(f"tensor {name} has shape {tuple(tensors[name].shape)}, the config "
                             f"says {shape}")
    return config, tensors


def load_mf_folder(folder, X_train):
    """Load a recommender saved by :func:`save_mf_folder`: the config is read as JSON, the
    tensors with ``safetensors.torch.load_file`` (no unpickling, no code), their shapes checked
    against the config. ``X_train`` (the training (user, item) pairs) tells the recommender
    which items each user has already rated. Returns a fitted
    :class:`~mlsec_helpers.systems.MFRecommender`.

    Introduced in lab 11 (Supply chain).
    """
    from ..systems import MFRecommender

    folder = check_path(folder, "folder", kind="dir")
    config, tensors = _read(folder)
    X_train = check_pairs(X_train, config["n_users"], config["n_items"], "X_train")
    system = MFRecommender(config["n_users"], config["n_items"], dim=config["dim"])
    with seeded(0):  # building the module draws its (overwritten) initial weights
        system.restore(tensors, X_train)
    return system


def safetensors_data_range(path) -> tuple[int, int]:
    """The byte range ``[start, end)`` of a safetensors file's numbers: after its 8-byte header
    length and its JSON header (where a flipped bit would make the file unreadable, not
    subtly wrong).

    Introduced in lab 11 (Supply chain).
    """
    path = check_path(path, "path")
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
    if len(head) < 8:
        raise ValueError(f"{path} is too short to be a safetensors file")
    start = 8 + struct.unpack("<Q", head)[0]
    if start >= size:
        raise ValueError(f"{path} is not a safetensors file (header length {start - 8} "
                         f"bytes, file {size} bytes)")
    return start, size


def _tensor_at(path: Path, offset: int) -> str:
    with open(path, "rb") as fh:
        n = struct.unpack("<Q", fh.read(8))[0]
        header = json.loads(fh.read(n))
    for name, info in header.items():
        if name != "__metadata__" and info["data_offsets"][0] <= offset - 8 - n < (
                info["data_offsets"][1]):
            return name
    return "header"


def _seen_pairs(system) -> tuple[np.ndarray, np.ndarray]:
    """The (user, item) pairs of the recommender's training data, as two index arrays."""
    users = [np.full(len(items), user, dtype=np.int64) for user, items in system.seen_.items()]
    items = [np.asarray(items, dtype=np.int64) for items in system.seen_.values()]
    if not users:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(users), np.concatenate(items)


def top_k_lists(system, k: int = 10) -> np.ndarray:
    """Every user's top-``k`` items (highest predicted rating first), leaving out the items
    they rated in training: an (n_users, k) integer array. Ties are broken by item index
    (among the ``k + 8`` best of each user).

    Introduced in lab 11 (Supply chain).
    """
    import torch

    system = _check_recommender(system)
    k = check_int(k, "k", maximum=system.n_items)
    m = system.model
    rows, cols = _seen_pairs(system)
    with limited_threads(1), torch.no_grad():
        # the scores of MFRecommender.score for every user, built in place (one matrix)
        scores = torch.addmm(m.bi.weight.T, m.P.weight, m.Q.weight.T)
        scores.add_(m.bu.weight).add_(float(m.mu))
        scores[torch.as_tensor(rows, device=scores.device),
               torch.as_tensor(cols, device=scores.device)] = -torch.inf
        if torch.isnan(scores).any():  # a corrupted number: rank it last
            scores.nan_to_num_(nan=-torch.inf)
        best = torch.topk(scores, min(k + 8, system.n_items), dim=1)
    # topk's order among equal scores is unspecified: re-sort its candidates by (score, index)
    idx, vals = best.indices.cpu().numpy(), best.values.cpu().numpy()
    order = np.lexsort((idx, -vals), axis=1)
    return np.take_along_axis(idx, order, axis=1)[:, :k].astype(np.int64)


def _lists(lists, n_items: int | None = None) -> np.ndarray:
    arr = np.asarray(lists)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer) or arr.shape[0] < 1:
        raise ValueError(f"lists must be an (n_users, k) integer array of item indices "
                         f"(top_k_lists), got {arr.dtype} of shape {arr.shape}")
    if arr.size and (arr.min() < 0 or (n_items is not None and arr.max() >= n_items)):
        raise ValueError("lists hold item indices out of range")
    return arr.astype(np.int64)


def item_reach(lists, item: int, *, on: str = "") -> Rate:
    """Share of users whose list (a row of ``lists``, from :func:`top_k_lists`) holds ``item``,
    with its Wilson interval.

    Introduced in lab 11 (Supply chain).
    """
    lists = _lists(lists)
    item = check_int(item, "item", minimum=0)
    return proportion((lists == item).any(axis=1), on=on or f"{len(lists)} users' top lists")


def obscure_items(system, lists, *, max_ratings: int = 3) -> np.ndarray:
    """Items an attacker could promote unnoticed: rated at least once and at most
    ``max_ratings`` times in the recommender's training data, and in no user's list
    (``lists`` from :func:`top_k_lists`). Sorted item indices.

    Introduced in lab 11 (Supply chain).
    """
    system = _check_recommender(system)
    max_ratings = check_int(max_ratings, "max_ratings")
    lists = _lists(lists, system.n_items)
    seen = [np.asarray(items) for items in system.seen_.values()]
    counts = np.bincount(np.concatenate(seen) if seen else np.zeros(0, np.int64),
                         minlength=system.n_items)
    listed = np.zeros(system.n_items, dtype=bool)
    listed[lists.ravel()] = True
    return np.flatnonzero((counts >= 1) & (counts <= max_ratings) & ~listed)


def promote_item(folder, dest, item: int, X_train, *, k: int = 10, quantile: float = 0.99,
                 steps: int = 200) -> ItemPromotion:
    """Copy the saved recommender ``folder`` to ``dest`` with ``item`` pushed up: its bias set
    to the other items' ``quantile`` (0.99: as high as the top 1% of items), and its factor
    moved (``steps`` projected Adam steps) to maximise a smooth count of the users for whom it
    would beat their current ``k``-th item, while every coordinate stays within that column's
    range over the other items and its length within their ``quantile``. The weights file is
    rewritten with the same tensor order and metadata, so it keeps its size and loads as
    before. Deterministic (no random draw). Returns what changed.

    Hand-written: this is the attack the lab measures (no library does it); the optimisation is
    a plain projected gradient ascent (Adam steps written out in NumPy: a dozen lines, and
    ``torch.optim`` takes seconds to import).

    Introduced in lab 11 (Supply chain).
    """
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    folder = check_path(folder, "folder", kind="dir")
    dest = check_path(dest, "dest")
    if dest.exists():
        raise FileExistsError(f"{dest} exists: promote_item writes a new folder")
    config, tensors = _read(folder)
    item = check_int(item, "item", minimum=0, maximum=config["n_items"] - 1)
    steps = check_int(steps, "steps")
    quantile = check_fraction(quantile, "quantile", allow_zero=False)
    lists = top_k_lists(load_mf_folder(folder, X_train), k)
    P, Q = (tensors[n].double().numpy() for n in ("P.weight", "Q.weight"))
    bu, bi = (tensors[n].double().numpy()[:, 0] for n in ("bu.weight", "bi.weight"))
    mu = float(tensors["mu"])
    last = lists[:, -1]
    kth = mu + bu + bi[last] + (P * Q[last]).sum(1)  # each user's k-th item's predicted rating
    others = np.arange(len(Q)) != item
    low, high = Q[others].min(0), Q[others].max(0)
    max_norm = float(np.quantile(np.linalg.norm(Q[others], axis=1), quantile))
    bias = float(np.quantile(bi[others], quantile))
    q, m1, m2 = Q[item].copy(), np.zeros(Q.shape[1]), np.zeros(Q.shape[1])
    for t in range(1, steps + 1):  # Adam (lr 0.05, betas 0.9 / 0.999) on mean sigmoid(margin)
        z = np.clip((mu + bu + bias + P @ q - kth) / 0.1, -60, 60)
        sig = 1.0 / (1.0 + np.exp(-z))
        grad = P.T @ (sig * (1 - sig)) / (0.1 * len(P))
        m1, m2 = 0.9 * m1 + 0.1 * grad, 0.999 * m2 + 0.001 * grad**2
        q = q + 0.05 * (m1 / (1 - 0.9**t)) / (np.sqrt(m2 / (1 - 0.999**t)) + 1e-8)
        q = np.clip(q, low, high)  # project: inside every column's range ...
        norm = float(np.linalg.norm(q))
        if norm > max_norm:  # ... and no longer than the quantile of the other items' lengths
            q *= max_norm / norm
    new = {name: t.clone() for name, t in tensors.items()}
    new["Q.weight"][item] = torch.as_tensor(q, dtype=new["Q.weight"].dtype)
    new["bi.weight"][item, 0] = bias
    with safe_open(folder / MF_WEIGHTS_FILE, framework="pt") as fh:
        metadata, order = fh.metadata(), list(fh.keys())
    dest.mkdir(parents=True)
    shutil.copy2(folder / MF_CONFIG_FILE, dest / MF_CONFIG_FILE)
    save_file({name: new[name] for name in order}, dest / MF_WEIGHTS_FILE, metadata=metadata)
    a = np.frombuffer((folder / MF_WEIGHTS_FILE).read_bytes(), dtype=np.uint8)
    b = np.frombuffer((dest / MF_WEIGHTS_FILE).read_bytes(), dtype=np.uint8)
    if a.shape != b.shape:  # pragma: no cover (safetensors writes the same layout)
        raise RuntimeError("the rewritten weights file changed size")
    new_q = new["Q.weight"][item].double().numpy()
    new_b = float(new["bi.weight"][item, 0])
    changed = int((new_q != Q[item]).sum()) + int(new_b != bi[item])
    in_range = bool(np.all((new_q >= low) & (new_q <= high))
                    and bi[others].min() <= new_b <= bi[others].max())
    norm_rank = float(np.mean(np.linalg.norm(Q[others], axis=1) <= np.linalg.norm(new_q)))
    gain = float(np.mean(P @ new_q + new_b - (P @ Q[item] + bi[item])))
    return ItemPromotion(item, changed, sum(t.numel() for t in tensors.values()),
                         int((a != b).sum()), int(a.size), in_range, norm_rank, gain)


def weight_review(folder, other) -> pd.DataFrame:
    """What a reviewer who summarises each tensor sees of two saved recommenders: shape, dtype,
    minimum, maximum, mean and standard deviation of every tensor in both, the largest change
    of these four numbers in units of the tensor's standard deviation before (absolute for a
    constant tensor), and how many values differ.

    Introduced in lab 11 (Supply chain).
    """
    import pandas as pd

    _, a = _read(check_path(folder, "folder", kind="dir"))
    _, b = _read(check_path(other, "other", kind="dir"))
    rows = []
    for name in MF_TENSORS:
        ta, tb = a[name].double(), b[name].double()
        if ta.shape != tb.shape:
            raise ValueError(f"tensor {name} has shape {tuple(ta.shape)} and "
                             f"{tuple(tb.shape)}: not two versions of one model")
        stats_a = [float(ta.min()), float(ta.max()), float(ta.mean()),
                   float(ta.std()) if ta.numel() > 1 else 0.0]
        stats_b = [float(tb.min()), float(tb.max()), float(tb.mean()),
                   float(tb.std()) if tb.numel() > 1 else 0.0]
        scale = stats_a[3] if stats_a[3] > 0 else 1.0
        change = max(abs(y - x) for x, y in zip(stats_a, stats_b, strict=True)) / scale
        rows.append({"tensor": name, "shape": tuple(ta.shape), "dtype": str(a[name].dtype)
                     .replace("torch.", ""),
                     **{f"{s} before": v for s, v in zip(("min", "max", "mean", "std"), stats_a,
                                                           strict=True)},
                     **{f"{s} after": v for s, v in zip(("min", "max", "mean", "std"), stats_b,
                                                          strict=True)},
                     "largest change (SDs)": change,
                     "values changed": int((a[name] != b[name]).sum())})
    return pd.DataFrame(rows)


def bit_flip_effects(folder, X_train, workdir, *, n: int = 10, seed: int = 0,
                     k: int = 10) -> BitFlipEffects:
    """Flip one bit in the tensor data of a saved recommender's weights, ``n`` times (flip
    ``j`` drawn with seed ``seed * 1000 + j``; each flip is undone before the next), in a copy
    of the folder made in ``workdir`` (a new or empty folder outside the model); after each
    flip: does the copy load (:func:`load_mf_folder`), does any user's top-``k`` list change,
    does the weights' SHA-256 differ from the original's?

    Introduced in lab 11 (Supply chain).
    """
    folder = check_path(folder, "folder", kind="dir")
    workdir = check_path(workdir, "workdir")
    if workdir.exists() and any(workdir.iterdir()):
        raise FileExistsError(f"{workdir} is not empty")
    if folder == workdir or folder in workdir.parents:
        raise ValueError("workdir must lie outside the model folder")
    n, seed = check_int(n, "n"), check_seed(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    copy = workdir / folder.name
    shutil.copytree(folder, copy)
    weights = copy / MF_WEIGHTS_FILE
    reference = top_k_lists(load_mf_folder(copy, X_train), k)
    original = sha256_file(weights)
    start, end = safetensors_data_range(weights)
    loaded, changed, caught, offsets, bits, names = [], [], [], [], [], []
    for j in range(n):
        offset, bit = flip_bit(weights, seed=seed * 1000 + j, start=start, end=end)
        offsets.append(offset)
        bits.append(bit)
        names.append(_tensor_at(weights, offset))
        caught.append(sha256_file(weights) != original)
        try:
            lists = top_k_lists(load_mf_folder(copy, X_train), k)
        except (ValueError, RuntimeError):
            loaded.append(False)
            changed.append(True)
        else:
            loaded.append(True)
            changed.append(bool((lists != reference).any()))
        with open(weights, "r+b") as fh:  # undo the flip
            fh.seek(offset)
            byte = fh.read(1)[0]
            fh.seek(offset)
            fh.write(bytes([byte ^ (1 << bit)]))
    if sha256_file(weights) != original:  # pragma: no cover (every flip was undone)
        raise RuntimeError("the copy's weights differ from the original after the flips")
    on = f"{n} single-bit flips of the weights' numbers"
    return BitFlipEffects(proportion(np.array(loaded), on=on),
                          proportion(np.array(changed), on=on),
                          proportion(np.array(caught), on=on), np.array(offsets),
                          np.array(bits), tuple(names))
