"""Fraud: stealing the fraud scorer from approve/decline answers, and using the stolen copy to
craft evasions that transfer to the bank's scorer.

A fraudster never sees the bank's score: a payment goes through or is declined.

* :func:`decision_api` puts the scorer behind an API that answers approve or decline only
  (a one-hot row ``[approve, decline]``), with an optional query budget;
* :func:`steal_fraud_scorer` trains a copy (the course's own ``systems.FraudScorer``) on the
  decisions the API gives for transactions from the thief's pool, chosen at random or, for
  an attacker who must make every query count, by rounds of active learning;
* :func:`transfer_attack` runs lab 02's constrained evasion
  (``evasion.constrained_fraud_attack``) against the stolen copy, where probing costs the
  fraudster nothing, and submits each final plan once to the bank: theft feeding evasion.

Introduced in lab 04 (Model theft).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from ..validate import (
    ArgumentTypeError,
    check_array,
    check_choice,
    check_fitted,
    check_int,
    check_number,
    check_seed,
)
from .common import PredictionAPI, QueryBudgetExceeded

__all__ = [
    "STRATEGIES",
    "StolenScorer",
    "TransferResult",
    "decision_api",
    "steal_fraud_scorer",
    "transfer_attack",
]

STRATEGIES: tuple[str, ...] = ("random", "active")
"""How :func:`steal_fraud_scorer` picks its queries from the pool: at random, or by rounds
of active learning (each round queries the pool transactions its current copy scores as most
likely declined). Introduced in lab 04 (Model theft)."""


def _decisions(system, threshold: float, X) -> np.ndarray:
    declined = np.asarray(system.predict_proba(X))[:, 1] >= threshold
    return np.column_stack([~declined, declined]).astype(np.float64)


def decision_api(system, threshold: float, *, max_queries: int | None = None,
                 log: bool = False) -> PredictionAPI:
    """The fraud scorer ``system`` behind an API that answers approve or decline only: for
    each transaction, the row ``[1, 0]`` (approved: score below ``threshold``) or ``[0, 1]``
    (declined). ``max_queries`` and ``log`` as for :class:`PredictionAPI`.

    Introduced in lab 04 (Model theft).
    """
    check_fitted(system)
    threshold = check_number(threshold, "threshold", low=0.0, high=1.0)
    return PredictionAPI(partial(_decisions, system, threshold), output="proba",
                         max_queries=max_queries, log=log)


@dataclass(frozen=True)
class StolenScorer:
    """A fraud scorer stolen from approve/decline answers.

    Introduced in lab 04 (Model theft).
    """

    system: object
    """The copy: a fitted ``systems.FraudScorer`` whose probability of class 1 is its
    estimate that the bank declines a transaction."""
    queries: int
    """The API queries the theft spent (one per transaction)."""
    declines: int
    """How many of those queries the bank declined (the copy's only view of the fraud side)."""
    refused: bool = False
    """Whether the API refused a query (the budget ran out before the thief's plan did)."""

    def predict(self, X) -> np.ndarray:
        """The copy's decision for each row of ``X``: 1 (decline) where it estimates a decline
        as at least as likely as not."""
        return (np.asarray(self.system.predict_proba(X))[:, 1] >= 0.5).astype(np.int64)


def steal_fraud_scorer(api: Callable, X_pool, *, n_queries: int, strategy: str = "random",
                       X_own=None, rounds: int = 3, batch: int = 100,
                       seed: int = 0) -> StolenScorer:
    """Steal a fraud scorer from its approve/decline answers.

    Queries ``n_queries`` transactions of the thief's pool ``X_pool`` (rows of model inputs)
    through ``api`` (answers one ``[approve, decline]`` row per transaction, such as
    :func:`decision_api`) and fits ``systems.FraudScorer(seed=seed)`` to the decisions.
    ``strategy`` (:data:`STRATEGIES`): ``"random"`` draws the queries at random (``seed``);
    ``"active"`` spends half the budget at random, then the rest in ``rounds`` equal rounds,
    each querying the unqueried pool transactions that a copy fitted so far (a lighter
    gradient-boosted model, 50 trees) scores as most likely declined (declines are rare: a
    random query almost never lands on the side the fraudster needs to learn). ``X_own``
    (optional): transactions the thief expects to be declined (a fraud ring's own past
    frauds), queried first; they count in ``n_queries`` and in the random half. Queries go
    out in batches of ``batch``; when the API refuses one (:class:`QueryBudgetExceeded`: a
    thief who did not plan for the budget), the thief stops and fits what it has. Returns a
    :class:`StolenScorer`.

    Introduced in lab 04 (Model theft).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    from ..systems import FraudScorer

    if not callable(api):
        raise ArgumentTypeError(f"api must be a callable prediction API, got "
                                f"{type(api).__name__}")
    X_pool = check_array(X_pool, "X_pool", ndim=2)
    n_queries = check_int(n_queries, "n_queries", 10, len(X_pool))
    strategy = check_choice(strategy, STRATEGIES, "strategy")
    rounds = check_int(rounds, "rounds", 1)
    seed = check_seed(seed)
    gen = np.random.default_rng(seed)

    batch = check_int(batch, "batch", 1)
    refused = False

    def ask(rows):
        nonlocal refused
        labels = []
        for start in range(0, len(rows), batch):
            part = rows[start:start + batch]
            try:
                answers = np.asarray(api(X_pool[part]), dtype=np.float64)
            except QueryBudgetExceeded:
                refused = True
                break
            if answers.shape != (len(part), 2):
                raise ValueError(f"the API must answer one [approve, decline] row per query, "
                                 f"got shape {answers.shape}")
            labels.append(answers.argmax(axis=1))
        return np.concatenate(labels) if labels else np.zeros(0, dtype=np.int64)

    def fit(rows, labels, light=False):
        if not len(labels) or labels.min() == labels.max():
            raise ValueError(f"all {len(labels)} queries got the same answer: a copy needs "
                             "both approvals and declines (query more, or other transactions)")
        if light:  # only to rank the pool between rounds: fewer trees, same kind of model
            return HistGradientBoostingClassifier(max_iter=50, random_state=seed).fit(
                X_pool[rows], labels)
        return FraudScorer(seed=seed).fit(X_pool[rows], labels)

    first = n_queries if strategy == "random" else n_queries // 2
    own = 0
    if X_own is not None:
        X_own = check_array(X_own, "X_own", ndim=2)
        if X_own.shape[1] != X_pool.shape[1] or len(X_own) >= first:
            raise ValueError(f"X_own must hold fewer than {first} rows (the random part of the "
                             f"theft) of {X_pool.shape[1]} features, got shape {X_own.shape}")
        own = len(X_own)
        X_pool = np.vstack([X_own, X_pool])
    rows = np.r_[np.arange(own), own + gen.choice(len(X_pool) - own, size=first - own,
                                                  replace=False)].astype(np.int64)
    labels = ask(rows)
    rows = rows[:len(labels)]
    if strategy == "active":
        per_round = np.diff(np.linspace(first, n_queries, rounds + 1).round().astype(int))
        for count in per_round:
            if count == 0 or refused:
                continue
            copy = fit(rows, labels, light=True)
            unqueried = np.setdiff1d(np.arange(len(X_pool)), rows)
            score = np.asarray(copy.predict_proba(X_pool[unqueried]))[:, 1]
            pick = unqueried[np.argsort(-score, kind="stable")[:count]]
            answered = ask(pick)
            rows = np.concatenate([rows, pick[:len(answered)]])
            labels = np.concatenate([labels, answered])
    return StolenScorer(system=fit(rows, labels), queries=len(rows), declines=int(labels.sum()),
                        refused=refused)


@dataclass(frozen=True)
class TransferResult:
    """Evasions crafted on a stolen fraud scorer and submitted once to the bank's.

    Introduced in lab 04 (Model theft).
    """

    plan: pd.DataFrame
    """One row per attacked fraud: lab 02's plan found against the copy (category, channel,
    hour, parts, ...), with ``evades_copy`` (every part below the copy's threshold) and
    ``transferred`` (every part approved by the bank)."""
    victim_queries: int
    """The bank's answers the submissions cost: one per part submitted."""

    @property
    def transfer_rate(self) -> float:
        """Share of the attacked frauds whose crafted plan the bank approves in full."""
        return float(self.plan["transferred"].mean()) if len(self.plan) else 0.0


def transfer_attack(victim, threshold: float, stolen, history: pd.DataFrame,
                    targets: Sequence[int], *, features: Callable | None = None,
                    copy_threshold: float = 0.1, seed: int = 0) -> TransferResult:
    """Theft feeding evasion: craft evasions on the stolen copy, then submit them to the bank.

    Runs ``evasion.constrained_fraud_attack`` (lab 02: only the fraudster's legal moves, each
    candidate's history features recomputed) against ``stolen`` (a :class:`StolenScorer` or a
    fitted scorer) with the copy's probability of a decline and ``copy_threshold`` (a margin
    well below the copy's own 0.5, since the copy is unsure near the boundary): probing the
    copy costs the bank nothing and shows it nothing. Then every part of each final plan
    is scored once by ``victim`` (the bank's scorer, declining at ``threshold``): a fraud
    transfers when all its parts are approved. ``history`` and ``targets`` as for
    ``constrained_fraud_attack``; ``features`` turns a transaction frame into model inputs
    (default: lab 02's ``fraud_features``). Returns a :class:`TransferResult`.

    Introduced in lab 04 (Model theft).
    """
    from ..evasion import constrained_fraud_attack, fraud_features

    check_fitted(victim, "victim")
    copy = stolen.system if isinstance(stolen, StolenScorer) else stolen
    check_fitted(copy, "stolen")
    threshold = check_number(threshold, "threshold", low=0.0, high=1.0)
    copy_threshold = check_number(copy_threshold, "copy_threshold", low=0.0, high=1.0,
                                  low_open=True)
    features = fraud_features if features is None else features
    if not callable(features):
        raise ArgumentTypeError("features must turn a transaction frame into model inputs")
    crafted = constrained_fraud_attack(copy, history, targets, copy_threshold,
                                       features=features, seed=check_seed(seed),
                                       progress=False)
    plan = crafted.plan.rename(columns={"evaded": "evades_copy"}).copy()
    if crafted.X_adv is None or not len(plan):
        plan["transferred"] = np.zeros(len(plan), dtype=bool)
        return TransferResult(plan=plan, victim_queries=0)
    approved = np.asarray(victim.predict_proba(crafted.X_adv))[:, 1] < threshold
    owner = crafted.transactions["attack_target"].to_numpy()
    all_approved = pd.Series(approved).groupby(owner).all()
    plan["transferred"] = plan["row"].map(all_approved).fillna(False).astype(bool).to_numpy()
    return TransferResult(plan=plan, victim_queries=len(approved))
