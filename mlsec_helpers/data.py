"""Loaders of the five domains' data, offline, verified and split deterministically.

``load_dataset(name, seed)`` returns a :class:`Dataset`: train/test splits for the seed, the
feature and target names, the sensitive attributes where the domain has them, and the
datasheet. Files are read through :func:`mlsec_helpers.registry.read_verified` (SHA-256 checked);
generated data comes from the project's seeded generators.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from . import registry
from .catalogue import DOMAIN_DATASETS
from .validate import ArgumentTypeError, check_seed, unknown_name

__all__ = [
    "HMDA_FEATURES",
    "HMDA_SENSITIVE",
    "NHEFS_FEATURES",
    "NHEFS_SENSITIVE",
    "Dataset",
    "load_dataset",
]


@dataclass
class Dataset:
    """Train/test splits of one dataset, with its names, sensitive attributes and datasheet.

    ``X_*``/``y_*`` are NumPy arrays ready for the domain's reference system. ``frame_*`` keep
    the raw rows (texts, transactions, ratings) where there are any. ``sensitive_*`` hold the
    attributes a fairness or privacy lab studies (``None`` where the domain has none).

    Introduced in lab 00 (Meet the five systems).
    """

    name: str
    domain: str
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    feature_names: list[str]
    target_names: list[str]
    seed: int
    frame_train: pd.DataFrame | None = None
    frame_test: pd.DataFrame | None = None
    sensitive_train: pd.DataFrame | None = None
    sensitive_test: pd.DataFrame | None = None
    extra: dict = field(default_factory=dict)

    @property
    def datasheet(self) -> registry.DatasetEntry:
        """The registry record (source, licence, citation, known biases)."""
        return registry.get_entry(self.name)

    def datasheet_markdown(self) -> str:
        """The full datasheet, as Markdown."""
        return registry.datasheet_markdown(self.name)

    def summary(self) -> pd.DataFrame:
        """A one-row table: sizes, number of features and classes, source, licence."""
        entry = self.datasheet
        return pd.DataFrame(
            [
                {
                    "dataset": self.name,
                    "domain": self.domain,
                    "train rows": len(self.y_train),
                    "test rows": len(self.y_test),
                    "features": len(self.feature_names),
                    "classes": len(self.target_names) if self.target_names else "-",
                    "source": entry.source,
                    "licence": entry.licence,
                }
            ]
        )


def _fingerprint(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    return registry.sha256_bytes(hashed.tobytes() + ",".join(map(str, frame.columns)).encode())


# --- the raw sources, read once per process (the splits are made fresh on every call) ---------


@lru_cache(maxsize=2)
def _raw_digits(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Pixels and labels of a gzipped CSV of digit images (last column: the label)."""
    data = registry.read_verified(name)
    arr = pd.read_csv(io.BytesIO(data), header=None, compression="gzip").to_numpy()
    return arr[:, :-1].astype(np.uint8), arr[:, -1].astype(np.int64)


@lru_cache(maxsize=2)
def _raw_movielens() -> pd.DataFrame:
    data = registry.read_verified("movielens")
    # The file's hash was checked above, so unpickling it is unpickling known bytes.
    return pd.read_pickle(io.BytesIO(data), compression="xz")


@lru_cache(maxsize=2)
def _raw_breast_cancer():
    registry.read_verified("breast_cancer")
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer()


@lru_cache(maxsize=2)
def _raw_nhefs() -> pd.DataFrame:
    data = registry.read_verified("nhefs")
    # The file's hash was checked above, so unpickling it is unpickling known bytes.
    return pd.read_pickle(io.BytesIO(data), compression="xz")


@lru_cache(maxsize=2)
def _raw_hmda() -> pd.DataFrame:
    data = registry.read_verified("hmda")
    # The file's hash was checked above, so unpickling it is unpickling known bytes.
    return pd.read_pickle(io.BytesIO(data), compression="xz")


@lru_cache(maxsize=8)
def _generated(name: str, seed: int) -> pd.DataFrame:
    """Run the registered generator of ``name``; check the fingerprint of the default seed."""
    import importlib

    module, func = registry.get_entry(name).generator.split(":")
    frame = getattr(importlib.import_module(module), func)(seed=seed)
    if seed == 0:
        registry.verify_fingerprint(name, _fingerprint(frame))
    return frame


# --- one loader per dataset ---------------------------------------------------------------------


def _load_digits(seed: int, tiny: bool = False) -> Dataset:
    X, y = _raw_digits("digits_tiny" if tiny else "digits")
    side, scale = (8, 16.0) if tiny else (28, 255.0)
    images = (X / scale).astype(np.float32).reshape(-1, 1, side, side)
    X_tr, X_te, y_tr, y_te = train_test_split(
        images, y, test_size=0.2, stratify=y, random_state=seed
    )
    return Dataset(
        name="digits_tiny" if tiny else "digits",
        domain="image",
        X_train=X_tr,
        X_test=X_te,
        y_train=y_tr,
        y_test=y_te,
        feature_names=[f"px_{r}_{c}" for r in range(side) for c in range(side)],
        target_names=[str(d) for d in range(10)],
        seed=seed,
        extra={"image_shape": (1, side, side), "clip_values": (0.0, 1.0)},
    )


def _load_support(seed: int) -> Dataset:
    from .nlp_corpus import LABELS, SCAM_LABEL

    frame = _generated("support", seed).copy()
    label_index = {label: i for i, label in enumerate(LABELS)}
    y = frame["label"].map(label_index).to_numpy(dtype=np.int64)
    f_tr, f_te = train_test_split(frame, test_size=0.2, stratify=y, random_state=seed)
    f_tr, f_te = f_tr.reset_index(drop=True), f_te.reset_index(drop=True)
    return Dataset(
        name="support",
        domain="nlp",
        X_train=f_tr["text"].to_numpy(dtype=object),
        X_test=f_te["text"].to_numpy(dtype=object),
        y_train=f_tr["label"].map(label_index).to_numpy(dtype=np.int64),
        y_test=f_te["label"].map(label_index).to_numpy(dtype=np.int64),
        feature_names=["text"],
        target_names=list(LABELS),
        seed=seed,
        frame_train=f_tr,
        frame_test=f_te,
        extra={"scam_index": label_index[SCAM_LABEL]},
    )


def _load_movielens(seed: int, test_fraction: float = 0.1) -> Dataset:
    raw = _raw_movielens()
    frame = raw[["userId", "movieId", "rating", "timestamp", "title", "genres"]].copy()
    user_ids = np.sort(frame["userId"].unique())
    item_ids = np.sort(frame["movieId"].unique())
    frame["user"] = np.searchsorted(user_ids, frame["userId"].to_numpy())
    frame["item"] = np.searchsorted(item_ids, frame["movieId"].to_numpy())
    # Each user's most recent ratings are held out (ties broken by a seeded shuffle), so the
    # test asks what a deployed recommender is asked: predict what this user rates next.
    gen = np.random.default_rng(seed)
    frame["_tie"] = gen.random(len(frame))
    frame = frame.sort_values(["user", "timestamp", "_tie"], kind="stable")
    rank_from_end = frame.groupby("user").cumcount(ascending=False)
    n_user = frame.groupby("user")["user"].transform("size")
    n_test = np.maximum(1, np.floor(n_user * test_fraction)).astype(int)
    is_test = rank_from_end < n_test
    frame = frame.drop(columns="_tie")
    f_tr = frame[~is_test].reset_index(drop=True)
    f_te = frame[is_test].reset_index(drop=True)
    titles = (
        frame.drop_duplicates("item").set_index("item").sort_index()["title"].astype(str).tolist()
    )
    return Dataset(
        name="movielens",
        domain="recommender",
        X_train=f_tr[["user", "item"]].to_numpy(dtype=np.int64),
        X_test=f_te[["user", "item"]].to_numpy(dtype=np.int64),
        y_train=f_tr["rating"].to_numpy(dtype=np.float32),
        y_test=f_te["rating"].to_numpy(dtype=np.float32),
        feature_names=["user", "item"],
        target_names=[],
        seed=seed,
        frame_train=f_tr,
        frame_test=f_te,
        extra={
            "n_users": len(user_ids),
            "n_items": len(item_ids),
            "user_ids": user_ids,
            "item_ids": item_ids,
            "titles": titles,
        },
    )


def _load_fraud(seed: int) -> Dataset:
    from .fraud_sim import FEATURES, TARGET, feature_matrix

    frame = _generated("fraud", seed)
    # Split on time, as a deployed scorer meets the future: the last quarter of days is the test.
    cut = frame["day"].quantile(0.75)
    f_tr = frame[frame["day"] <= cut].reset_index(drop=True)
    f_te = frame[frame["day"] > cut].reset_index(drop=True)
    X_tr, y_tr = feature_matrix(f_tr)
    X_te, y_te = feature_matrix(f_te)
    sens = ["customer_age", "customer_region"]
    return Dataset(
        name="fraud",
        domain="fraud",
        X_train=X_tr,
        X_test=X_te,
        y_train=y_tr,
        y_test=y_te,
        feature_names=list(FEATURES),
        target_names=["legitimate", "fraud"],
        seed=seed,
        frame_train=f_tr,
        frame_test=f_te,
        sensitive_train=f_tr[sens].copy(),
        sensitive_test=f_te[sens].copy(),
        extra={"target": TARGET},
    )


def _load_breast_cancer(seed: int) -> Dataset:
    bunch = _raw_breast_cancer()
    # scikit-learn codes 0 = malignant, 1 = benign; the course uses 1 = malignant (the positive
    # class a diagnosis aid must not miss).
    y = (bunch.target == 0).astype(np.int64)
    X_tr, X_te, y_tr, y_te = train_test_split(
        bunch.data.astype(np.float64), y, test_size=0.2, stratify=y, random_state=seed
    )
    return Dataset(
        name="breast_cancer",
        domain="medical",
        X_train=X_tr,
        X_test=X_te,
        y_train=y_tr,
        y_test=y_te,
        feature_names=[str(n) for n in bunch.feature_names],
        target_names=["benign", "malignant"],
        seed=seed,
    )


#: The 1971 baseline fields of NHEFS that :func:`load_dataset` puts in ``X`` (none is missing):
#: demographics, smoking, body size, activity, alcohol and the diagnoses recorded in 1971, and
#: ``qsmk`` (quit smoking by 1982). The raw table, all 68 columns, is in ``frame_*``.
NHEFS_FEATURES: tuple[str, ...] = (
    "age", "sex", "race", "education", "smokeintensity", "smokeyrs", "wt71", "ht", "exercise",
    "active", "alcoholfreq", "asthma", "bronch", "hf", "tumor", "chroniccough", "weakheart",
    "qsmk",
)
#: The demographic columns of NHEFS that ``sensitive_*`` hold (sex: 0 male, 1 female; race:
#: 0 white, 1 black or other; age in 1971).
NHEFS_SENSITIVE: tuple[str, ...] = ("sex", "race", "age")


def _load_nhefs(seed: int, test_fraction: float = 0.25) -> Dataset:
    raw = _raw_nhefs()
    frame = raw.drop(columns=["rownames"]).reset_index(drop=True)
    y = frame["death"].to_numpy(dtype=np.int64)
    f_tr, f_te = train_test_split(frame, test_size=test_fraction, stratify=y, random_state=seed)
    f_tr, f_te = f_tr.reset_index(drop=True), f_te.reset_index(drop=True)
    sens = list(NHEFS_SENSITIVE)
    return Dataset(
        name="nhefs",
        domain="medical",
        X_train=f_tr[list(NHEFS_FEATURES)].to_numpy(dtype=np.float64),
        X_test=f_te[list(NHEFS_FEATURES)].to_numpy(dtype=np.float64),
        y_train=f_tr["death"].to_numpy(dtype=np.int64),
        y_test=f_te["death"].to_numpy(dtype=np.int64),
        feature_names=list(NHEFS_FEATURES),
        target_names=["alive in 1992", "died by 1992"],
        seed=seed,
        frame_train=f_tr,
        frame_test=f_te,
        sensitive_train=f_tr[sens].copy(),
        sensitive_test=f_te[sens].copy(),
        extra={"target": "death"},
    )


#: The fields of HMDA that :func:`load_dataset` puts in ``X``, in this order (none is missing):
#: payments-to-income and housing-expense-to-income ratios, loan-to-value ratio, consumer and
#: mortgage credit history scores (1 best: chist 1-6, mhist 1-4), public bad credit record,
#: the 1989 unemployment rate of the applicant's industry, and the yes/no facts self-employed,
#: denied mortgage insurance, condominium, single and high-school diploma (coded 1 = yes).
#: The applicant's race is not among them: it is in ``sensitive_*``.
HMDA_FEATURES: tuple[str, ...] = (
    "pirat", "hirat", "lvrat", "chist", "mhist", "phist", "unemp", "selfemp", "insurance",
    "condomin", "single", "hschool",
)
#: The column of HMDA that ``sensitive_*`` holds: ``afam``, 1 = the applicant is black
#: (African American), 0 = not.
HMDA_SENSITIVE: tuple[str, ...] = ("afam",)
_HMDA_YES_NO = ("deny", "phist", "selfemp", "insurance", "condomin", "afam", "single", "hschool")


def _load_hmda(seed: int, test_fraction: float = 0.25) -> Dataset:
    raw = _raw_hmda()
    # The raw table, with the AER row number kept as the application's id.
    frame = raw.rename(columns={"rownames": "application"}).reset_index(drop=True)
    coded = frame.copy()
    for column in _HMDA_YES_NO:
        coded[column] = (frame[column] == "yes").astype(np.int64)
    y = coded["deny"].to_numpy(dtype=np.int64)
    idx_tr, idx_te = train_test_split(
        np.arange(len(frame)), test_size=test_fraction, stratify=y, random_state=seed
    )
    c_tr, c_te = coded.iloc[idx_tr], coded.iloc[idx_te]
    sens = list(HMDA_SENSITIVE)
    return Dataset(
        name="hmda",
        domain="fraud",
        X_train=c_tr[list(HMDA_FEATURES)].to_numpy(dtype=np.float64),
        X_test=c_te[list(HMDA_FEATURES)].to_numpy(dtype=np.float64),
        y_train=y[idx_tr],
        y_test=y[idx_te],
        feature_names=list(HMDA_FEATURES),
        target_names=["approved", "denied"],
        seed=seed,
        frame_train=frame.iloc[idx_tr].reset_index(drop=True),
        frame_test=frame.iloc[idx_te].reset_index(drop=True),
        sensitive_train=c_tr[sens].reset_index(drop=True),
        sensitive_test=c_te[sens].reset_index(drop=True),
        extra={"target": "deny", "sensitive": "afam", "sensitive_values": {0: "not black",
                                                                            1: "black"}},
    )


_LOADERS = {
    "digits": lambda seed: _load_digits(seed),
    "digits_tiny": lambda seed: _load_digits(seed, tiny=True),
    "support": _load_support,
    "movielens": _load_movielens,
    "fraud": _load_fraud,
    "breast_cancer": _load_breast_cancer,
    "nhefs": _load_nhefs,
    "hmda": _load_hmda,
}


def load_dataset(name: str, *, seed: int = 0) -> Dataset:
    """Load dataset ``name`` (or a domain name such as ``"image"``) with splits for ``seed``.

    Offline: files come from installed packages and are verified against the registry;
    generated data comes from the project's seeded generators. The same seed gives the same
    arrays. Unknown names raise ``ValueError`` listing the known ones.

    Introduced in lab 00 (Meet the five systems).
    """
    if not isinstance(name, str):
        raise ArgumentTypeError(f"dataset name must be a str, got {type(name).__name__}")
    seed = check_seed(seed)
    key = DOMAIN_DATASETS.get(name, name)
    if key not in _LOADERS:
        raise unknown_name(name, sorted(_LOADERS) + sorted(DOMAIN_DATASETS), "dataset or domain")
    return _LOADERS[key](seed)
