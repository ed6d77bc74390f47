"""Recommender (the movie recommender): its reference threat model and its probe, a handful
of fake accounts (a few dozen ratings) that lift an obscure film in almost every user's
ranking (shilling; poisoning).

Introduced in lab 01 (Threat modelling).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from ..repro import rng
from ..validate import check_choice, check_fitted, check_int, check_pairs, check_vector
from .common import ACTORS, entry_points, flow_diagram, prefix_ids, reference_assets
from .model import ACCESS_LEVELS, Control, Flow, Threat, ThreatModel
from .results import ProbeResult

__all__ = ["probe_recommender_shilling", "recommender_threat_model"]


def recommender_threat_model() -> ThreatModel:
    """The reference threat model of the movie recommender:
    its data-flow diagram, controls and eight threats, IDs prefixed.

    Introduced in lab 01 (Threat modelling).
    """
    flow = flow_diagram({
        "source": ("ratings ingestion", "Star ratings from every account, deduplicated."),
        "labelling": ("ratings are labels", "No curation: each rating is a training label."),
        "training": ("nightly MF retrain", "Matrix factorisation on all ratings."),
        "artefact": ("embeddings store", "User and item vectors and biases."),
        "libs": ("PyPI, torch", "torch and its dependencies."),
        "users": ("viewers (any account)", "Anyone can open an account and rate."),
        "api": ("recommendation API", "Top-10 lists and predicted stars."),
        "downstream": ("home page, marketing", "What viewers see first; promotion budgets."),
    }, extra_flows=(Flow("users", "source", "ratings"),), source_boundary="viewers' accounts")
    controls = (
        Control("C1", "robust ranking (trimmed means, popularity priors)", "PR", "SAIF-5", 2,
                cost=2, likelihood_reduction=1, atlas_mitigations=("AML.M0003",)),
        Control("C2", "fake-account and rating-burst detection", "DE", "SAIF-2", 3, cost=3,
                likelihood_reduction=2, atlas_mitigations=("AML.M0007", "AML.M0015")),
        Control("C3", "account verification before ratings count", "PR", "SAIF-1", 12, cost=2,
                likelihood_reduction=1, atlas_mitigations=("AML.M0019",)),
        Control("C4", "query limits and coarse scores on the API", "PR", "SAIF-1", 4, cost=1,
                likelihood_reduction=1, atlas_mitigations=("AML.M0004", "AML.M0002")),
        Control("C5", "DP training of user embeddings", "PR", "SAIF-1", 5, cost=3,
                likelihood_reduction=1, impact_reduction=1),
        Control("C6", "pinned, scanned dependencies and signed artefacts", "PR", "SAIF-4", 11,
                cost=1, likelihood_reduction=2, atlas_mitigations=("AML.M0013", "AML.M0016")),
        Control("C7", "exposure audits for small studios and niche genres", "GV", "SAIF-6", 7,
                cost=1, likelihood_reduction=1),
    )
    threats = (
        Threat("T1", "fake accounts rate a film up the charts (shilling)", "poisoning", "X1",
               ("A1", "A2", "A4"), "E1", ("AML.T0020", "AML.T0031"), ("ML02", "ML08"), 4, 3,
               ("C1", "C2", "C3"), "Anyone can open accounts and rate."),
        Threat("T2", "crafted rating profile makes a user's list show chosen items", "evasion",
               "X1", ("A4",), "E5", ("AML.T0043.003", "AML.T0015"), ("ML01",), 2, 2,
               ("C1",), "Affects mainly the attacker's own recommendations."),
        Threat("T3", "competitor copies the recommender from its top-10 lists", "theft", "X4",
               ("A3",), "E5", ("AML.T0024.002",), ("ML05",), 3, 3, ("C4",),
               "Lists for many probe accounts reveal the item embeddings."),
        Threat("T4", "API reveals which films a person rated", "membership_inference", "X4",
               ("A5",), "E5", ("AML.T0024.000",), ("ML04",), 2, 3, ("C4", "C5"),
               "Viewing histories reveal politics, religion, sexuality."),
        Threat("T5", "embeddings leak a user's sensitive tastes or traits", "inversion", "X2",
               ("A5", "A3"), "E4", ("AML.T0024.001", "AML.T0044"), ("ML03",), 2, 4, ("C5",),
               "User vectors are stored next to account IDs."),
        Threat("T6", "popularity bias buries small studios and niche genres", "bias", None,
               ("A4",), "E6", ("AML.T0048.002",), (), 4, 2, ("C7",),
               "Lab 00 showed the top-10 lists favour a few titles."),
        Threat("T7", "malicious package exfiltrates viewing data from training", "supply_chain",
               "X3", ("A6", "A5"), "E3", ("AML.T0010.001",), ("ML06",), 2, 4, ("C6",),
               "Training runs with access to all ratings."),
        Threat("T8", "scraping bots flood the API and run up serving cost", "api_abuse", "X4",
               ("A7",), "E5", ("AML.T0034", "AML.T0029"), ("ML05",), 3, 2, ("C4",),
               "Public API, no quota per account."),
    )
    return prefix_ids("REC", ThreatModel(
        "recommender", "movie recommender",
        "Matrix factorisation of star ratings ranks films for each viewer.",
        reference_assets("viewing and rating histories", "ratings", "the ratings "
                "themselves (no curation)", "top-10 lists and predicted stars"),
        ACTORS["recommender"],
        entry_points("account", "account", {"E1": "ratings from any account",
                                             "E2": "rating curation", "E5": "recommendation API"}),
        controls, threats, flow, applied=("C6",),
    ))

def _item_stats(X, y, n_items):
    counts = np.bincount(X[:, 1], minlength=n_items)
    sums = np.bincount(X[:, 1], weights=y, minlength=n_items)
    return counts, np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)


def _ranks(scores: np.ndarray, items: Sequence[int]) -> np.ndarray:
    """Rank (0 = top) of each item in every user's row of scores: (n_users, len(items))."""
    return np.stack([(scores > scores[:, [i]]).sum(1) for i in items], axis=1)


def probe_recommender_shilling(system, X_train, y_train, n_fake: int = 5,
                               n_filler: int = 10, target: int | None = None, *,
                               seed: int = 0, titles: Sequence[str] | None = None,
                               access: str = "account",
                               threat_id: str = "REC-T1") -> ProbeResult:
    """Add ``n_fake`` fake accounts that rate a target film 5 stars (and ``n_filler`` popular
    films at their average, to look real), retrain the recommender the same way, and measure
    how the target moves in the real users' rankings.

    ``system`` is a fitted :class:`mlsec_helpers.systems.MFRecommender`, ``X_train`` the
    (user, item) pairs it was trained on and ``y_train`` their ratings; ``seed`` draws the
    fake accounts' filler films.

    The target (unless given) is the first film with 3-5 ratings averaging at most 3 stars:
    an obscure film nobody would recommend. A control film, the next such film, is not
    attacked: how it moves shows the noise of retraining (it rises for about half the users).
    ``success_rate`` is the share of real users whose ranking of the target improved; the
    probe shows the threat from 70%, well above that noise.

    Introduced in lab 01 (Threat modelling).
    """
    from ..systems import MFRecommender  # here, so importing threatmodel does not load torch

    check_fitted(system)
    if not isinstance(system, MFRecommender):
        raise TypeError(f"system must be an MFRecommender, got {type(system).__name__}")
    n_fake = check_int(n_fake, "n_fake")
    n_filler = check_int(n_filler, "n_filler", minimum=0)
    check_choice(access, ACCESS_LEVELS, "access")
    n_users, n_items = system.n_users, system.n_items
    X_train = check_pairs(X_train, n_users, n_items, "X_train")
    y_train = check_vector(y_train, "y_train", dtype=np.float32)
    if len(y_train) != len(X_train):
        raise ValueError(f"y_train must hold one rating per pair of X_train: {len(X_train)} "
                         f"pairs, {len(y_train)} ratings")
    counts, means = _item_stats(X_train, y_train, n_items)
    obscure = np.flatnonzero((counts >= 3) & (counts <= 5) & (means <= 3.0))
    if target is None:
        if len(obscure) < 2:
            raise ValueError("no obscure film (3-5 ratings, mean <= 3) to promote")
        target, control = int(obscure[0]), int(obscure[1])
    else:
        target = check_int(target, "target (an item index)", minimum=0, maximum=n_items - 1)
        control = int(next(i for i in obscure if i != target))
    start = time.perf_counter()
    gen = rng(seed)
    popular = np.argsort(-counts, kind="stable")[: max(3 * n_filler, 1)]
    rows, ratings = [], []
    for f in range(n_fake):
        user = n_users + f
        filler = gen.choice(popular, size=min(n_filler, len(popular)), replace=False)
        rows += [(user, target)] + [(user, int(i)) for i in filler]
        ratings += [5.0] + [float(np.clip(np.round(means[i] * 2) / 2, 0.5, 5.0)) for i in filler]
    X_pois = np.vstack([X_train, np.array(rows, dtype=X_train.dtype)])
    y_pois = np.concatenate([y_train, np.array(ratings, dtype=np.float32)])
    params = {k: getattr(system, k) for k in ("dim", "epochs", "lr", "weight_decay",
                                                    "bias_decay", "batch_size", "seed")}
    poisoned = MFRecommender(n_users + n_fake, n_items, **params).fit(X_pois, y_pois)
    users = np.arange(n_users)
    before = _ranks(system.score(users), [target, control])
    after = _ranks(poisoned.score(users), [target, control])
    pairs = np.column_stack([users, np.full(n_users, target)])
    stars_before = float(system.predict(pairs).mean())
    stars_after = float(poisoned.predict(pairs).mean())
    seconds = time.perf_counter() - start
    improved = after[:, 0] < before[:, 0]
    name = titles[target] if titles is not None else f"item {target}"
    return ProbeResult(
        domain="recommender", threat_id=threat_id, category="poisoning", technique="AML.T0020",
        question=f"Do {n_fake} fake accounts lift an obscure film in real users' rankings?",
        metric=f"real users whose ranking of the target rose ({n_fake} fake accounts)",
        success_rate=float(improved.mean()), threshold=0.7, n_targets=n_users, queries=0,
        access=access, white_box=False, seconds=seconds, targets="real users",
        details={
            "target": name, "target ratings before": int(counts[target]),
            "fake ratings": len(rows), "share of all ratings": len(rows) / len(X_pois),
            "median rank before": float(np.median(before[:, 0])),
            "median rank after": float(np.median(after[:, 0])),
            "users with target in top 10 before": int((before[:, 0] < 10).sum()),
            "users with target in top 10 after": int((after[:, 0] < 10).sum()),
            "mean predicted stars before": stars_before,
            "mean predicted stars after": stars_after,
            "control film: users whose ranking rose": float((after[:, 1] < before[:, 1]).mean()),
            "items": n_items,
        },
    )
