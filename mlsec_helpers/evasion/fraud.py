"""Fraud: evading the transaction scorer within the rules, and the defence's robust features.

ART's evasion attacks perturb feature vectors freely; they know nothing of a card's history,
of one-hot categories or of payments split over time. The fraudster's real moves (category,
channel, hour, splitting; ``fraud_sim.ATTACKER_CONSTRAINTS``) are written here, and every
candidate transaction gets its history features recomputed by ``fraud_sim.derive_features``,
so it is a transaction that could happen.

* the fraudster's moves (:func:`legal_moves`, :func:`split_amounts`) and the black-box
  constrained attack (:func:`constrained_fraud_attack`);
* its unconstrained counterpart on raw features (:func:`unconstrained_fraud_attack`) and the
  count of the impossible transactions it makes (:func:`impossible_transactions`);
* the model inputs: the baseline's (:func:`fraud_features`) and the defence's, with two
  features that splitting within 24 hours cannot lower (:func:`robust_fraud_features`).

Both attacks take the fraud classifier as ``system`` and only query its ``predict_proba``.

Introduced in lab 02 (Evasion).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

import numpy as np
import pandas as pd

from .. import fraud_sim
from ..validate import (
    ArgumentTypeError,
    check_choice,
    check_fitted,
    check_frame,
    check_int,
    check_number,
)
from .common import progress_bar, query_proba
from .results import FraudAttackResult, UnconstrainedResult

__all__ = [
    "FRAUD_CHANNELS",
    "ROBUST_FRAUD_FEATURES",
    "SPLIT_GAP_SECONDS",
    "constrained_fraud_attack",
    "fraud_features",
    "impossible_transactions",
    "legal_moves",
    "robust_fraud_features",
    "split_amounts",
    "unconstrained_fraud_attack",
]

FRAUD_CHANNELS: Mapping[int, tuple[int, ...]] = MappingProxyType(
    {1: (0, 1), 2: (0,), 3: (1,), 4: (1,)})
"""Channels (``is_online`` values) each fraud scenario can use (``ATTACKER_CONSTRAINTS``).

Scenario 1 (stolen card) pays in person or online, 2 (cloned card) in person only, 3 and 4
(card details without the card) online only. Introduced in lab 02 (Evasion)."""

SPLIT_GAP_SECONDS: int = 30 * 60
"""Time between the parts of a split payment (30 minutes). Introduced in lab 02 (Evasion)."""

_DAY_NS = 86_400 * 10**9


def legal_moves(scenario: int) -> list[tuple[str, int]]:
    """The (merchant category, is_online) pairs a fraud of ``scenario`` may use.

    Introduced in lab 02 (Evasion).
    """
    check_choice(scenario, FRAUD_CHANNELS, "fraud scenario")
    out = []
    for online in FRAUD_CHANNELS[scenario]:
        cats = fraud_sim.ONLINE_CATEGORIES if online else fraud_sim.IN_PERSON_CATEGORIES
        out += [(c, online) for c in fraud_sim.MERCHANT_CATEGORIES if c in cats]
    return out


def split_amounts(amount: float, parts: int, category: str) -> np.ndarray | None:
    """Split ``amount`` into ``parts`` legal amounts that sum to it (cents; tens for cash).

    Returns None when the split is impossible (parts below the smallest legal amount).
    Introduced in lab 02 (Evasion).
    """
    parts = check_int(parts, "parts")
    unit = 1000 if category == "cash_withdrawal" else 1  # in cents
    total = int(round(float(amount) * 100))
    if total % unit or total // unit < parts:
        return None
    base = (total // unit // parts) * unit
    out = np.full(parts, base, dtype=np.int64)
    out[-1] += total - base * parts
    return out / 100.0


_RAW_COLUMNS = ("timestamp", "customer_id", "terminal_id", "amount", "merchant_category",
                "is_online", fraud_sim.TARGET)


def _check_frame(frame, name="frame") -> pd.DataFrame:
    return check_frame(frame, _RAW_COLUMNS, name)


class _FraudContext:
    """Indexes of the transaction history that candidate transactions are evaluated in."""

    def __init__(self, history: pd.DataFrame):
        h = _check_frame(history, "history").reset_index(drop=True)
        self.h = h
        self.t = pd.to_datetime(h["timestamp"]).to_numpy("datetime64[ns]").astype(np.int64)
        self.cust = h["customer_id"].to_numpy()
        self.term = h["terminal_id"].to_numpy()
        order = np.lexsort((self.t, self.cust))
        self.by_cust = {c: idx for c, idx in zip(*_groups(self.cust, order), strict=True)}
        order = np.lexsort((self.t, self.term))
        self.by_term = {c: idx for c, idx in zip(*_groups(self.term, order), strict=True)}
        self.category = h["merchant_category"].astype(str).to_numpy(dtype=object)
        self.online = h["is_online"].to_numpy(dtype=np.int64)
        terms = pd.DataFrame({"terminal": self.term, "kind": self.category + "|"
                              + self.online.astype(str)})
        per_term = terms.groupby("terminal", sort=True).agg(kind=("kind", "first"),
                                                            n=("kind", "size"))
        self.kind_terminals: dict[str, int] = {}
        for k, grp in per_term.groupby("kind"):
            grp = grp.sort_values("n", kind="stable")
            self.kind_terminals[k] = int(grp.index[len(grp) // 2])  # median-traffic terminal
        self.raw = h

    def terminal_for(self, row_pos: int, category: str, online: int) -> int:
        """The card's own most used terminal of that kind, else a typical one."""
        if (self.category[row_pos], self.online[row_pos]) == (category, online):
            return int(self.term[row_pos])
        rows = self.by_cust[self.cust[row_pos]]
        same = rows[(self.category[rows] == category) & (self.online[rows] == online)]
        if len(same):
            vals, counts = np.unique(self.term[same], return_counts=True)
            return int(vals[np.argmax(counts)])
        return self.kind_terminals[f"{category}|{online}"]


def _groups(keys, order):
    k = keys[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    ends = np.r_[starts[1:], len(k)]
    return k[starts], [order[s:e] for s, e in zip(starts, ends, strict=True)]


def _evaluate_candidates(ctx: _FraudContext, cands: list[dict], features):
    """Feature rows of every candidate (one per part), history features recomputed.

    Each candidate gets private copies of its card's history (under a fresh customer key) and
    of its terminal's last 36 days (under a fresh terminal key), so candidates never see each
    other, and one call of ``fraud_sim.derive_features`` serves them all.
    """
    q_total = len(cands)
    idx, cust_key, term_key, new_rows = [], [], [], []
    for q, c in enumerate(cands):
        r, times = c["row"], c["times"]
        card = ctx.by_cust[ctx.cust[r]]
        card = card[(card != r) & (ctx.t[card] < times[-1])]
        trows = ctx.by_term.get(c["terminal"], np.zeros(0, dtype=np.int64))
        trows = trows[(trows != r) & (ctx.t[trows] >= times[0] - 36 * _DAY_NS)
                      & (ctx.t[trows] < times[-1])]
        idx += [card, trows]
        cust_key += [np.full(len(card), q), np.full(len(trows), q_total + q)]
        term_key += [np.full(len(card), q_total + q), np.full(len(trows), q)]
        new_rows.append((q, times, c["amounts"], c["category"], c["online"]))
    idx = np.concatenate(idx).astype(np.int64)
    k_new = np.array([len(t) for _, t, _, _, _ in new_rows])
    q_new = np.repeat([q for q, *_ in new_rows], k_new)
    h = ctx.raw
    frame = pd.DataFrame({
        "timestamp": np.concatenate([ctx.t[idx]] + [t for _, t, _, _, _ in new_rows]
                                    ).astype("datetime64[ns]"),
        "customer_id": np.concatenate(cust_key + [q_new]).astype(np.int64),
        "terminal_id": np.concatenate(term_key + [q_new]).astype(np.int64),
        "amount": np.concatenate([h["amount"].to_numpy(dtype=np.float64)[idx]]
                                 + [a for _, _, a, _, _ in new_rows]),
        "merchant_category": np.concatenate([
            h["merchant_category"].to_numpy(dtype=object)[idx],
            np.repeat(np.array([c for *_, c, _ in new_rows], dtype=object), k_new)]),
        "is_online": np.concatenate([h["is_online"].to_numpy()[idx],
                                     np.repeat([o for *_, o in new_rows], k_new)]
                                    ).astype(np.int64),
        fraud_sim.TARGET: np.concatenate([h[fraud_sim.TARGET].to_numpy()[idx],
                                          np.ones(k_new.sum(), dtype=np.int64)]),
    })
    frame = fraud_sim.derive_features(frame)
    X = features(frame)
    first = len(idx)
    bounds = first + np.concatenate([[0], np.cumsum(k_new)])
    return ([X[bounds[j]:bounds[j + 1]] for j in range(q_total)],
            [(frame, bounds[j], bounds[j + 1]) for j in range(q_total)])


def _check_threshold(threshold) -> float:
    return check_number(threshold, "threshold", low=0.0, high=1.0, low_open=True,
                        high_open=True)


def _fraud_score(system, X) -> np.ndarray:
    """The black-box query: the system's probability of fraud for each row of ``X``."""
    return query_proba(system, X)[:, 1]


def fraud_features(frame: pd.DataFrame) -> np.ndarray:
    """The baseline scorer's inputs: ``fraud_sim.FEATURES`` of every row, as float32.

    Introduced in lab 02 (Evasion).
    """
    return frame[list(fraud_sim.FEATURES)].to_numpy(dtype=np.float32)


ROBUST_FRAUD_FEATURES: tuple[str, ...] = ("cust_amount_24h", "cust_amount_24h_to_mean_30d")
"""Extra features that splitting a payment within 24 hours cannot lower (lab 02's defence).

``cust_amount_24h``: the card's total spent in the 24 hours up to and including this
transaction; ``cust_amount_24h_to_mean_30d``: that total over the card's 30-day mean amount
(1 when there is no history). Introduced in lab 02 (Evasion)."""


def robust_fraud_features(frame: pd.DataFrame) -> np.ndarray:
    """``fraud_sim.FEATURES`` plus :data:`ROBUST_FRAUD_FEATURES`, computed from raw columns.

    The history features must be current (run ``fraud_sim.derive_features`` first).
    Introduced in lab 02 (Evasion).
    """
    _check_frame(frame)
    t = pd.to_datetime(frame["timestamp"]).to_numpy("datetime64[ns]").astype(np.int64)
    cust = pd.factorize(frame["customer_id"])[0].astype(np.int64)
    amount = frame["amount"].to_numpy(dtype=np.float64)
    order = np.lexsort((t, cust))
    key_t = t[order] - t.min()
    span = int(key_t.max()) + 2 * _DAY_NS + 1
    key = cust[order] * span + key_t
    cs = np.concatenate([[0.0], np.cumsum(amount[order])])
    hi = np.searchsorted(key, key, side="right")
    lo = np.searchsorted(key, key - _DAY_NS, side="left")
    total = np.empty(len(t))
    total[order] = cs[hi] - cs[lo]
    mean30 = frame["cust_mean_amount_30d"].to_numpy(dtype=np.float64)
    ratio = np.where(mean30 > 0, total / np.where(mean30 > 0, mean30, 1.0), 1.0)
    return np.column_stack([fraud_features(frame), total, ratio]).astype(np.float32)


def constrained_fraud_attack(
    system,
    history: pd.DataFrame,
    targets: Sequence[int],
    threshold: float,
    *,
    features: Callable[[pd.DataFrame], np.ndarray] = fraud_features,
    max_parts: int = 10,
    passes: int = 2,
    query_budget: int = 400,
    gaps_hours: Sequence[float] = (SPLIT_GAP_SECONDS / 3600,),
    access: str = "proba",
    seed: int = 0,
    progress: bool | str = True,
) -> FraudAttackResult:
    """Black-box evasion of a fraud scorer that only uses the fraudster's legal moves.

    For each row position in ``targets`` (frauds of ``history``, the full transaction frame
    with raw columns and ``fraud_scenario``), a greedy coordinate search over what the
    fraudster controls (``fraud_sim.ATTACKER_CONSTRAINTS``): the merchant category and channel
    (legal for the scenario, see :func:`legal_moves`; a new category means another terminal),
    the time (a delay of 0-23 hours, which sets the hour: a fraudster can wait, but cannot pay
    before they hold the card) and splitting the payment into up to ``max_parts`` parts 30
    minutes apart (:func:`split_amounts`; the total stays). Every candidate is inserted into
    the card's and the terminal's real history and its history features are recomputed with
    ``fraud_sim.derive_features``; ``features`` turns that frame into the model's inputs and
    ``system`` (a fitted fraud classifier on those inputs: ``systems.FraudScorer()`` on
    :func:`fraud_features`, or one trained on :func:`robust_fraud_features`) scores them; the
    attack only queries its probability of fraud (``predict_proba``). A fraud evades when
    every part scores below ``threshold``. Each pass tries every value of one move at a time
    and keeps the best (lowest highest-part score); each scored part costs one query, up to
    ``query_budget`` per fraud. Returns a :class:`FraudAttackResult`.

    ``gaps_hours`` are the times the fraudster may leave between the parts of a split payment
    (default: 30 minutes only); with more than one, the gap is a move too, and long gaps
    spread the parts over several days. ``access`` is what the attacker sees of each part:
    ``"proba"`` (the probability of fraud, the greedy search above) or ``"decision"``
    (approve or decline only): then the search is a seeded random search over the same moves
    (``seed``): each try submits the parts in time order until one is declined (each part
    submitted is one query) and the first try whose parts are all approved wins. The true
    scores in the returned plan are for the reader, not seen by a ``"decision"`` attacker.

    Introduced in lab 02 (Evasion).
    """
    check_fitted(system)
    access = check_choice(access, ("proba", "decision"), "access")
    gaps = [check_number(g, "gaps_hours", low=0.0, low_open=True) for g in gaps_hours]
    if not gaps:
        raise ValueError("gaps_hours must hold at least one gap")
    ctx = _FraudContext(history)
    if "fraud_scenario" not in ctx.h.columns:
        raise ValueError("history needs the fraud_scenario column (which moves are legal)")
    targets = np.asarray(targets)
    if targets.ndim != 1 or not np.issubdtype(targets.dtype, np.integer):
        raise ArgumentTypeError("targets must be a 1-D array of integer row positions of "
                                "history")
    if len(targets) and (targets.min() < 0 or targets.max() >= len(ctx.h)):
        raise ValueError(f"targets must be row positions in 0..{len(ctx.h) - 1}")
    scen = ctx.h["fraud_scenario"].to_numpy()[targets] if len(targets) else np.zeros(0)
    if np.any(scen == 0):
        raise ValueError("targets must be frauds (fraud_scenario 1-4), not legitimate rows")
    threshold = _check_threshold(threshold)
    max_parts = check_int(max_parts, "max_parts")
    passes = check_int(passes, "passes")
    query_budget = check_int(query_budget, "query_budget")
    h = ctx.h
    state = []
    for r in targets:
        r = int(r)
        t0 = int(ctx.t[r])
        state.append({
            "row": r, "scenario": int(h.at[r, "fraud_scenario"]),
            "category": str(h.at[r, "merchant_category"]), "online": int(h.at[r, "is_online"]),
            "delay": 0, "parts": 1, "gap": gaps[0],
            "amount": float(h.at[r, "amount"]), "t0": t0, "queries": 0, "score": np.inf,
            "evaded": False, "rows": None,
        })

    def candidate(s, **change):
        c = {**s, **change}
        amounts = split_amounts(c["amount"], c["parts"], c["category"])
        if amounts is None:
            return None
        start = c["t0"] + c["delay"] * 3_600_000_000_000
        gap_ns = int(round(c["gap"] * 3_600_000_000_000))
        times = start + np.arange(c["parts"], dtype=np.int64) * gap_ns
        return {"row": c["row"], "times": times, "amounts": amounts,
                "category": c["category"], "online": c["online"],
                "terminal": ctx.terminal_for(c["row"], c["category"], c["online"]),
                "change": change}

    def run_round(options_of):
        cands, owner = [], []
        for k, s in enumerate(state):
            if s["evaded"] or s["queries"] >= query_budget:
                continue
            for change in options_of(s):
                c = candidate(s, **change)
                if c is not None and s["queries"] + len(c["amounts"]) <= query_budget:
                    cands.append(c)
                    owner.append(k)
                    s["queries"] += len(c["amounts"])
        if not cands:
            return
        X, rows = _evaluate_candidates(ctx, cands, features)
        flat = _fraud_score(system, np.vstack(X))
        bounds = np.cumsum([0] + [len(x) for x in X])
        for j, (c, k) in enumerate(zip(cands, owner, strict=True)):
            worst = float(flat[bounds[j]:bounds[j + 1]].max())
            s = state[k]
            if worst < s["score"]:
                s.update(c["change"])
                s["score"], s["rows"], s["X"] = worst, rows[j], X[j]
                s["evaded"] = worst < threshold

    def decision_round(draws):
        """Random tries; the attacker sees approve/decline of each part, in time order."""
        cands, owner = [], []
        for k, s in enumerate(state):
            if s["evaded"] or s["queries"] >= query_budget:
                continue
            for change in draws(s):
                c = candidate(s, **change)
                if c is not None:
                    cands.append(c)
                    owner.append(k)
        if not cands:
            return False
        X, rows = _evaluate_candidates(ctx, cands, features)
        flat = _fraud_score(system, np.vstack(X))
        bounds = np.cumsum([0] + [len(x) for x in X])
        for j, (c, k) in enumerate(zip(cands, owner, strict=True)):
            s = state[k]
            if s["evaded"] or s["queries"] >= query_budget:
                continue
            part_scores = flat[bounds[j]:bounds[j + 1]]
            declined = np.flatnonzero(part_scores >= threshold)
            sent = int(declined[0]) + 1 if len(declined) else len(part_scores)
            if s["queries"] + sent > query_budget:
                s["queries"] = query_budget
                continue
            s["queries"] += sent
            if not len(declined):
                s.update(c["change"])
                s["score"], s["rows"], s["X"] = float(part_scores.max()), rows[j], X[j]
                s["evaded"] = True
        return True

    # The transaction as it happened is the first candidate (and the first query).
    run_round(lambda s: [{}])
    before = [s["score"] for s in state]
    if access == "proba":
        moves = [
            lambda s: [{"category": c, "online": o} for c, o in legal_moves(s["scenario"])],
            lambda s: [{"delay": hours} for hours in range(24)],
            lambda s: [{"parts": p} for p in range(1, max_parts + 1)],
        ]
        if len(gaps) > 1:
            moves.append(lambda s: [{"gap": g} for g in gaps])
        bar = progress_bar(progress, "fraud attack", total=passes * len(moves))
        for _ in range(passes):
            for options in moves:
                run_round(options)
                bar.update(1)
        bar.close()
    else:
        rng = np.random.default_rng(seed)

        def draws(s, n=8):
            legal = legal_moves(s["scenario"])
            out = []
            for _ in range(n):
                c, o = legal[rng.integers(len(legal))]
                out.append({"category": c, "online": o, "delay": int(rng.integers(24)),
                            "parts": int(rng.integers(1, max_parts + 1)),
                            "gap": gaps[rng.integers(len(gaps))]})
            return out

        rounds = max(1, -(-query_budget // 8))
        bar = progress_bar(progress, "fraud attack (approve/decline)", total=rounds)
        for _ in range(rounds):
            more = decision_round(draws)
            bar.update(1)
            if not more:
                break
        bar.close()
    parts = []
    for k, s in enumerate(state):
        if s["rows"] is not None:
            frame, lo, hi = s["rows"]
            parts.append(frame.iloc[lo:hi].assign(attack_target=int(targets[k]),
                                          customer_id=h.at[s["row"], "customer_id"],
                                          terminal_id=ctx.terminal_for(
                                              s["row"], s["category"], s["online"])))
    transactions = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    X_adv = np.vstack([s["X"] for s in state if s["rows"] is not None]) if parts else None
    if len(transactions):
        valid = fraud_sim.check_constraints(transactions).groupby(
            transactions["attack_target"]).all()
    else:
        valid = pd.Series(dtype=bool)
    plan = pd.DataFrame({
        "row": targets, "scenario": [s["scenario"] for s in state],
        "category": [s["category"] for s in state], "online": [s["online"] for s in state],
        "delay (h)": [s["delay"] for s in state], "parts": [s["parts"] for s in state],
        "gap (h)": [s["gap"] for s in state],
        "amount": [s["amount"] for s in state], "score before": before,
        "score after": [s["score"] for s in state], "evaded": [s["evaded"] for s in state],
        "queries": [s["queries"] for s in state],
        "valid": [bool(valid.get(int(r), False)) for r in targets],
    })
    return FraudAttackResult(plan=plan, transactions=transactions, X_adv=X_adv)


def unconstrained_fraud_attack(
    system,
    X: np.ndarray,
    threshold: float,
    grid_from: np.ndarray,
    *,
    feature_names: Sequence[str] = fraud_sim.FEATURES,
    n_values: int = 11,
    passes: int = 2,
    query_budget: int = 400,
) -> UnconstrainedResult:
    """The same greedy black-box search as :func:`constrained_fraud_attack`, on raw features.

    It ignores what the fraudster controls: each move sets one feature of the row to one of
    ``n_values`` quantiles of that feature in ``grid_from`` (legitimate transactions, so each
    value on its own looks ordinary) and keeps the best move; passes repeat over all features.
    Nothing ties the features together, so a "success" is often a transaction that cannot
    exist: count them with ``fraud_sim.check_constraints`` (:func:`impossible_transactions`).
    ``system`` is a fitted fraud classifier on the columns of ``X`` (``feature_names``); the
    attack only queries its probability of fraud. Introduced in lab 02 (Evasion).
    """
    check_fitted(system)
    X = np.asarray(X, dtype=np.float32)
    grid_from = np.asarray(grid_from, dtype=np.float32)
    if X.ndim != 2 or grid_from.ndim != 2 or X.shape[1] != grid_from.shape[1]:
        raise ValueError(f"X and grid_from must be 2-D with the same columns, got {X.shape} "
                         f"and {grid_from.shape}")
    if len(feature_names) != X.shape[1]:
        raise ValueError(f"{len(feature_names)} feature names for {X.shape[1]} columns")
    threshold = _check_threshold(threshold)
    n_values = check_int(n_values, "n_values", minimum=2)
    passes = check_int(passes, "passes")
    query_budget = check_int(query_budget, "query_budget")
    grids = [np.unique(np.quantile(grid_from[:, j], np.linspace(0, 1, n_values)))
             for j in range(X.shape[1])]
    X_adv = X.copy()
    score = np.asarray(_fraud_score(system, X_adv), dtype=float)
    queries = np.ones(len(X), dtype=np.int64)
    for _ in range(passes):
        for j, grid in enumerate(grids):
            active = np.flatnonzero((score >= threshold) & (queries + len(grid) <= query_budget))
            if not len(active):
                break
            cand = np.repeat(X_adv[active], len(grid), axis=0)
            cand[:, j] = np.tile(grid, len(active))
            s = np.asarray(_fraud_score(system, cand), dtype=float).reshape(len(active),
                                                                     len(grid))
            queries[active] += len(grid)
            best = s.argmin(1)
            better = s[np.arange(len(active)), best] < score[active]
            rows = active[better]
            X_adv[rows, j] = grid[best[better]]
            score[rows] = s[np.arange(len(active)), best][better]
    changed = [[feature_names[j] for j in np.flatnonzero(X_adv[k] != X[k])]
               for k in range(len(X))]
    return UnconstrainedResult(X_adv=X_adv, evaded=score < threshold, queries=queries,
                               changed=changed)


def impossible_transactions(X_adv: np.ndarray, originals: pd.DataFrame) -> pd.DataFrame:
    """Which attacked rows are impossible: ``check_constraints`` fails, or a feature the
    fraudster does not control (``ATTACKER_CONSTRAINTS``) was moved.

    ``originals`` are the transactions as they happened (raw columns included, one per row of
    ``X_adv``, in ``fraud_sim.FEATURES`` order). Returns one row per transaction with the
    columns ``fails_check_constraints``, ``moves_uncontrolled_feature`` and ``impossible``.
    Introduced in lab 02 (Evasion).
    """
    X_adv = np.asarray(X_adv, dtype=np.float64)
    if not isinstance(originals, pd.DataFrame):
        raise ArgumentTypeError("originals must be the DataFrame of the original "
                                "transactions")
    names = list(fraud_sim.FEATURES)
    if X_adv.ndim != 2 or X_adv.shape != (len(originals), len(names)):
        raise ValueError(f"X_adv must be ({len(originals)}, {len(names)}), got {X_adv.shape}")
    attacked = originals.copy()
    before = originals[names].to_numpy(dtype=np.float64)
    # float32 feature matrices round amounts off whole cents: only what the attack changed
    # (beyond float32 rounding) replaces the original value.
    changed = ~np.isclose(X_adv, before, rtol=1e-6, atol=1e-6)
    for j, name in enumerate(names):
        attacked[name] = np.where(changed[:, j], X_adv[:, j], before[:, j])
    fails = ~fraud_sim.check_constraints(attacked).to_numpy()
    fixed = np.array([not fraud_sim.ATTACKER_CONSTRAINTS[n]["controllable"] for n in names])
    moved = changed[:, fixed].any(1)
    return pd.DataFrame({"fails_check_constraints": fails, "moves_uncontrolled_feature": moved,
                         "impossible": fails | moved}, index=originals.index)
