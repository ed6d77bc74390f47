"""Quick probes: one cheap attack per reference system that shows a threat is real.

A threat model scores likelihood; lab 01 argues it from a measurement instead of a guess. Each
probe here runs a small, real attack on a trained baseline in a few seconds and returns a
:class:`ProbeResult` with the measured numbers: how often the attack worked, on how many
targets, with how many queries, and the access it needed. The later labs treat each threat in
depth; these probes only show that it is not hypothetical.

=============  ===============================================================  =============
system         probe                                                            threat
=============  ===============================================================  =============
image          one FGSM step (ART) of size eps flips correctly read digits      evasion
nlp            a few word/character edits make a detected scam pass as          evasion
               a legitimate intent (black-box greedy search)
recommender    a handful of fake accounts (a few dozen ratings) lift an         poisoning
               obscure film in almost every user's ranking
fraud          delaying a payment by a few hours and/or lowering its amount     evasion
               (only what the fraudster controls) drops alerted frauds
               below the alert threshold
medical        n_features + 1 queries of predict_proba rebuild the diagnosis    theft
               model exactly (equation solving)
=============  ===============================================================  =============
"""

from __future__ import annotations

import math
import numbers
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import fraud_sim
from .repro import rng
from .threatmodel import ACCESS_LEVELS, THREAT_CATEGORIES, likelihood_from_evidence
from .validate import check_int

__all__ = [
    "ProbeResult",
    "probe_fraud_evasion",
    "probe_image_fgsm",
    "probe_medical_extraction",
    "probe_nlp_edits",
    "probe_recommender_shilling",
    "probes_table",
]


@dataclass
class ProbeResult:
    """What a probe measured: the success rate of a cheap attack and the evidence around it.

    ``success_rate`` is the share of targets the attack succeeded on (its meaning is in
    ``metric``); the probe *shows the threat* when it reaches ``threshold``. ``access`` is what
    the attacker needs (a key of :data:`mlsec_helpers.threatmodel.ACCESS_LEVELS`) and
    ``white_box`` whether the probe used the model itself; both feed :attr:`likelihood`.
    ``details`` holds the other measured numbers, ``examples`` a few attacked inputs.

    Introduced in lab 01 (Threat modelling).
    """

    domain: str
    threat_id: str
    category: str
    technique: str
    question: str
    metric: str
    success_rate: float
    threshold: float
    n_targets: int
    queries: int
    access: str
    white_box: bool
    seconds: float
    details: dict = field(default_factory=dict)
    examples: pd.DataFrame | None = None

    @property
    def shows_threat(self) -> bool:
        """Whether the measured success rate reaches the probe's threshold."""
        return bool(self.success_rate >= self.threshold)

    @property
    def likelihood(self) -> int:
        """The likelihood (1-5) the course's rule gives this measurement."""
        return likelihood_from_evidence(self.success_rate, self.access, self.white_box)

    def summary(self) -> str:
        """One sentence: what was measured, and whether it shows the threat."""
        verdict = "shows the threat" if self.shows_threat else "does NOT show the threat"
        return (f"[{self.domain}] {self.metric}: {self.success_rate:.1%} of {self.n_targets} "
                f"targets ({self.queries:,} queries, {self.seconds:.1f} s) -> {verdict} "
                f"(threshold {self.threshold:.0%}); likelihood {self.likelihood} "
                f"({self.access} access{', white-box' if self.white_box else ''})")

    def as_row(self) -> dict:
        """A flat dict for a table of probes."""
        return {
            "domain": self.domain, "threat": self.threat_id,
            "category": THREAT_CATEGORIES[self.category].name, "ATLAS": self.technique,
            "probe": self.question, "metric": self.metric, "success rate": self.success_rate,
            "targets": self.n_targets, "queries": self.queries, "access": self.access,
            "white-box": self.white_box, "shows threat": self.shows_threat,
            "likelihood": self.likelihood, "seconds": round(self.seconds, 2),
        }

    def __str__(self) -> str:
        return self.summary()


def probes_table(results: Sequence[ProbeResult]) -> pd.DataFrame:
    """One row per probe result (see :meth:`ProbeResult.as_row`).

    Introduced in lab 01 (Threat modelling).
    """
    results = list(results)
    for r in results:
        if not isinstance(r, ProbeResult):
            raise TypeError(f"expected ProbeResult objects, got {type(r).__name__}")
    return pd.DataFrame([r.as_row() for r in results])


# --- argument checks ----------------------------------------------------------------------------


_check_count = check_int


def _check_real(value: object, what: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"{what} must be a finite number, got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{what} must lie in [{lo}, {hi}], got {value}")
    return float(value)


def _check_access(access: str) -> str:
    if access not in ACCESS_LEVELS:
        raise ValueError(f"access must be one of {list(ACCESS_LEVELS)}, got {access!r}")
    return access


def _fitted(model, what: str):
    if not getattr(model, "fitted_", False):
        raise ValueError(f"{what} must be a fitted reference system (call fit first)")
    return model


# --- image: one FGSM step ------------------------------------------------------------------------


def probe_image_fgsm(cnn, X, y, eps: float = 0.1, n: int = 200, access: str = "account",
                     threat_id: str = "IMG-T1") -> ProbeResult:
    """One FGSM step (ART's ``FastGradientMethod``) of L-inf size ``eps`` on the first ``n``
    images: the share of correctly read digits whose reading changes.

    ``cnn`` is a fitted :class:`mlsec_helpers.systems.DigitsCNN`; ``X`` images in [0, 1],
    shape (m, 1, side, side); ``y`` their labels. FGSM needs the model's gradients, so the
    result counts as white-box evidence (an upper bound for an outsider).

    Introduced in lab 01 (Threat modelling).
    """
    from art.attacks.evasion import FastGradientMethod

    _fitted(cnn, "cnn")
    eps = _check_real(eps, "eps", 0.0, 1.0)
    n = _check_count(n, "n")
    _check_access(access)
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    if X.ndim != 4 or len(X) != len(y):
        raise ValueError(f"X must be (m, 1, side, side) images with one label each in y, got "
                         f"X {X.shape} and y {y.shape}")
    X, y = X[:n], y[:n]
    start = time.perf_counter()
    pred = cnn.predict(X)
    correct = pred == y
    if not correct.any():
        raise ValueError("the model reads none of these digits correctly; nothing to flip")
    attack = FastGradientMethod(cnn.art_estimator(), eps=eps, batch_size=256)
    X_adv = attack.generate(X[correct]).astype(np.float32)
    adv_pred = cnn.predict(X_adv)
    flipped = adv_pred != y[correct]
    seconds = time.perf_counter() - start
    k = np.flatnonzero(flipped)[:6]
    examples = pd.DataFrame({
        "index": np.flatnonzero(correct)[k], "label": y[correct][k], "read after": adv_pred[k],
    })
    return ProbeResult(
        domain="image", threat_id=threat_id, category="evasion", technique="AML.T0043.000",
        question=f"Does one FGSM step of size {eps} change the digit read?",
        metric=f"correctly read digits misread after FGSM (eps={eps})",
        success_rate=float(flipped.mean()), threshold=0.2, n_targets=int(correct.sum()),
        queries=int(correct.sum()), access=access, white_box=True, seconds=seconds,
        details={
            "eps": eps, "clean accuracy": float(correct.mean()),
            "accuracy under attack": float((cnn.predict(np.concatenate(
                [X_adv, X[~correct]])) == np.concatenate([y[correct], y[~correct]])).mean()),
            "max pixel change": float(np.abs(X_adv - X[correct]).max()),
        },
        examples=examples.assign(clean=list(X[correct][k]), adversarial=list(X_adv[k])),
    )


# --- NLP: a few edits make a scam pass --------------------------------------------------------

#: Look-alike characters a scammer swaps in (one per edit).
LOOKALIKES = {"o": "0", "i": "1", "e": "3", "a": "@", "s": "5"}
#: Everyday words a scammer may add (written by hand, not taken from the training data).
FILLER_WORDS = ("my", "i", "me", "it", "is", "got", "this", "real", "help", "please", "thanks",
                "hello", "regards", "best wishes", "?")
# Tokens that carry the scam's payload (links, addresses, numbers) are never edited.
_PAYLOAD = re.compile(r"(https?://|www\.|\.example|@|\d{3,}|\.[a-z]{2,}/)")


def _edits(text: str) -> list[str]:
    """Every message one edit away: delete a word, swap in a look-alike, add a word."""
    toks = text.split(" ")
    out = []
    for k, tok in enumerate(toks):
        if _PAYLOAD.search(tok):
            continue
        out.append(" ".join(toks[:k] + toks[k + 1:]))
        for j, ch in enumerate(tok.lower()):
            if ch in LOOKALIKES and len(tok) >= 3:
                out.append(" ".join(toks[:k] + [tok[:j] + LOOKALIKES[ch] + tok[j + 1:]]
                                    + toks[k + 1:]))
                break
    for word in FILLER_WORDS:
        out.append(f"{word} {text}")
        out.append(f"{text} {word}")
    return out


def _keeps_payload(original: str, edited: str) -> bool:
    """Whether every payload token of ``original`` is still in ``edited``, unchanged."""
    from collections import Counter

    need = Counter(t for t in original.split(" ") if _PAYLOAD.search(t))
    have = Counter(edited.split(" "))
    return all(have[t] >= k for t, k in need.items())


def probe_nlp_edits(triage, texts, y, scam_index: int, n: int = 40, max_edits: int = 10,
                    access: str = "public", threat_id: str = "NLP-T1") -> ProbeResult:
    """Greedy black-box edits on the first ``n`` scams the model detects: the share that no
    longer reads as a scam after at most ``max_edits`` edits.

    One edit deletes a word, swaps one letter of a word for a look-alike (o->0, i->1, ...) or
    adds one everyday word (:data:`FILLER_WORDS`) at the start or the end; links, e-mail
    addresses and numbers are never touched, so the scam still works. At each step every
    one-edit variant is scored (one batch of queries to ``predict_proba``) and the one with the
    lowest scam probability is kept; the search stops as soon as a variant is classified as
    another label. Written by hand: ART's evasion attacks work on numeric arrays, not on text.

    Introduced in lab 01 (Threat modelling).
    """
    _fitted(triage, "triage")
    n = _check_count(n, "n")
    max_edits = _check_count(max_edits, "max_edits")
    _check_access(access)
    texts = np.asarray(texts, dtype=object)
    y = np.asarray(y)
    if texts.ndim != 1 or len(texts) != len(y):
        raise ValueError("texts must be a 1-D sequence of messages with one label each in y")
    scam_index = _check_count(scam_index, "scam_index", 0)
    start = time.perf_counter()
    detected = np.flatnonzero((y == scam_index) & (triage.predict(texts) == scam_index))[:n]
    if len(detected) == 0:
        raise ValueError("the model detects none of these scams; nothing to evade")
    queries, needed, rows = 0, [], []
    for i in detected:
        text, used = texts[i], None
        for step in range(1, max_edits + 1):
            variants = _edits(text)
            proba = triage.predict_proba(np.array(variants, dtype=object))
            queries += len(variants)
            passed = np.flatnonzero(proba.argmax(1) != scam_index)
            if len(passed):
                best = passed[np.argmin(proba[passed, scam_index])]
                text, used = variants[best], step
                break
            text = variants[int(np.argmin(proba[:, scam_index]))]
        needed.append(used)
        if used is not None:
            assert _keeps_payload(texts[i], text), "a payload token was edited"
            if len(rows) < 4:
                label = int(triage.predict(np.array([text], dtype=object))[0])
                rows.append({"scam message": texts[i], "after edits": text, "edits": used,
                             "now read as": label})
    seconds = time.perf_counter() - start
    ok = np.array([k is not None for k in needed])
    used = np.array([k for k in needed if k is not None])
    curve = {k: float(np.mean([u is not None and u <= k for u in needed]))
             for k in range(1, max_edits + 1)}
    return ProbeResult(
        domain="nlp", threat_id=threat_id, category="evasion", technique="AML.T0043.001",
        question=f"Do at most {max_edits} small edits make a detected scam pass?",
        metric=f"detected scams no longer flagged after <= {max_edits} edits",
        success_rate=float(ok.mean()), threshold=0.3, n_targets=len(detected), queries=queries,
        access=access, white_box=False, seconds=seconds,
        details={"median edits (successes)": float(np.median(used)) if len(used) else math.nan,
                 "success within k edits": curve,
                 "queries per scam": queries / len(detected)},
        examples=pd.DataFrame(rows),
    )


# --- recommender: a handful of fake accounts ---------------------------------------------------


def _item_stats(X, y, n_items):
    counts = np.bincount(X[:, 1], minlength=n_items)
    sums = np.bincount(X[:, 1], weights=y, minlength=n_items)
    return counts, np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)


def _ranks(scores: np.ndarray, items: Sequence[int]) -> np.ndarray:
    """Rank (0 = top) of each item in every user's row of scores: (n_users, len(items))."""
    return np.stack([(scores > scores[:, [i]]).sum(1) for i in items], axis=1)


def probe_recommender_shilling(recommender, X_train, y_train, n_fake: int = 5,
                               n_filler: int = 10, target: int | None = None, seed: int = 0,
                               titles: Sequence[str] | None = None, access: str = "account",
                               threat_id: str = "REC-T1") -> ProbeResult:
    """Add ``n_fake`` fake accounts that rate a target film 5 stars (and ``n_filler`` popular
    films at their average, to look real), retrain the recommender the same way, and measure
    how the target moves in the real users' rankings.

    The target (unless given) is the first film with 3-5 ratings averaging at most 3 stars:
    an obscure film nobody would recommend. A control film, the next such film, is not
    attacked: how it moves shows the noise of retraining (it rises for about half the users).
    ``success_rate`` is the share of real users whose ranking of the target improved; the
    probe shows the threat from 70%, well above that noise.

    Introduced in lab 01 (Threat modelling).
    """
    from .systems import MFRecommender

    _fitted(recommender, "recommender")
    if not isinstance(recommender, MFRecommender):
        raise TypeError(f"recommender must be an MFRecommender, got {type(recommender).__name__}")
    n_fake = _check_count(n_fake, "n_fake")
    n_filler = _check_count(n_filler, "n_filler", 0)
    _check_access(access)
    X_train = np.asarray(X_train)
    y_train = np.asarray(y_train, dtype=np.float32)
    if X_train.ndim != 2 or X_train.shape[1] != 2 or len(X_train) != len(y_train):
        raise ValueError("X_train must be (n, 2) (user, item) pairs with one rating each")
    n_users, n_items = recommender.n_users, recommender.n_items
    counts, means = _item_stats(X_train, y_train, n_items)
    obscure = np.flatnonzero((counts >= 3) & (counts <= 5) & (means <= 3.0))
    if target is None:
        if len(obscure) < 2:
            raise ValueError("no obscure film (3-5 ratings, mean <= 3) to promote")
        target, control = int(obscure[0]), int(obscure[1])
    else:
        target = _check_count(target, "target", 0)
        if target >= n_items:
            raise ValueError(f"target must be an item index below {n_items}, got {target}")
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
    params = {k: getattr(recommender, k) for k in ("dim", "epochs", "lr", "weight_decay",
                                                    "bias_decay", "batch_size", "seed")}
    poisoned = MFRecommender(n_users + n_fake, n_items, **params).fit(X_pois, y_pois)
    users = np.arange(n_users)
    before = _ranks(recommender.score(users), [target, control])
    after = _ranks(poisoned.score(users), [target, control])
    pairs = np.column_stack([users, np.full(n_users, target)])
    stars_before = float(recommender.predict(pairs).mean())
    stars_after = float(poisoned.predict(pairs).mean())
    seconds = time.perf_counter() - start
    improved = after[:, 0] < before[:, 0]
    name = titles[target] if titles is not None else f"item {target}"
    return ProbeResult(
        domain="recommender", threat_id=threat_id, category="poisoning", technique="AML.T0020",
        question=f"Do {n_fake} fake accounts lift an obscure film in real users' rankings?",
        metric=f"real users whose ranking of the target rose ({n_fake} fake accounts)",
        success_rate=float(improved.mean()), threshold=0.7, n_targets=n_users, queries=0,
        access=access, white_box=False, seconds=seconds,
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


# --- fraud: only what the fraudster controls ---------------------------------------------------

_RAW = ("timestamp", "customer_id", "terminal_id", "amount", "merchant_category", "is_online",
        "is_fraud")


def _cents(amount: np.ndarray, category: np.ndarray) -> np.ndarray:
    """Round amounts down to whole cents (to multiples of 10, at least 10, for cash)."""
    out = np.maximum(np.floor(np.asarray(amount, dtype=np.float64) * 100.0) / 100.0,
                     fraud_sim.AMOUNT_MIN)
    cash = np.asarray(category) == "cash_withdrawal"
    out[cash] = np.maximum(np.floor(out[cash] / 10.0) * 10.0, 10.0)
    return out


def probe_fraud_evasion(scorer, data, alert_rate: float = 0.01, max_delay_hours: int = 6,
                        amount_fractions: Sequence[float] = (1.0, 0.75, 0.5),
                        access: str = "public", threat_id: str = "FRD-T1") -> ProbeResult:
    """Alerted test frauds changed only in what a fraudster controls: the share that drops
    below the alert threshold.

    The alert threshold flags the top ``alert_rate`` of the test transactions' scores (the
    analysts' budget). Each alerted fraud is replayed ``0..max_delay_hours`` hours later
    (action ``choose_hour`` of :data:`mlsec_helpers.fraud_sim.ATTACKER_CONSTRAINTS`: waiting)
    and for a smaller amount (``change_amount``: each of ``amount_fractions`` of the original,
    in whole cents). Every history feature is recomputed with :func:`fraud_sim.derive_features`
    from the card's and the terminal's real history, and every variant must pass
    :func:`fraud_sim.check_constraints`. The fraudster sees only accept/decline, which is what
    "below the threshold" means.

    ``details`` also reports the best single rule (one delay and one fraction for every
    fraud), which a fraud ring can learn once and reuse.

    Introduced in lab 01 (Threat modelling).
    """
    _fitted(scorer, "scorer")
    alert_rate = _check_real(alert_rate, "alert_rate", 1e-6, 0.5)
    max_delay_hours = _check_count(max_delay_hours, "max_delay_hours", 0)
    if max_delay_hours > 48:
        raise ValueError(f"max_delay_hours must be at most 48, got {max_delay_hours}")
    fractions = tuple(_check_real(f, "amount fraction", 0.01, 1.0) for f in amount_fractions)
    if not fractions:
        raise ValueError("amount_fractions must hold at least one fraction")
    _check_access(access)
    for name in ("frame_train", "frame_test", "X_test", "y_test"):
        if getattr(data, name, None) is None:
            raise ValueError(f"data must be the fraud Dataset (it has no {name})")
    start = time.perf_counter()
    features = list(fraud_sim.FEATURES)
    i_amount = features.index("amount")
    i_ratio = features.index("amount_to_cust_mean_30d")
    i_mean = features.index("cust_mean_amount_30d")
    scores = scorer.predict_proba(data.X_test)[:, 1]
    threshold = float(np.quantile(scores, 1.0 - alert_rate))
    alerted = np.flatnonzero((np.asarray(data.y_test) == 1) & (scores >= threshold))
    if len(alerted) == 0:
        raise ValueError("no fraud is alerted at this alert rate; nothing to evade")
    full = pd.concat([data.frame_train, data.frame_test], ignore_index=True)
    offset = len(data.frame_train)
    cust_rows = full.groupby("customer_id").indices
    term_rows = full.groupby("terminal_id").indices
    raw = full.loc[:, list(_RAW)]
    delays = np.arange(max_delay_hours + 1)
    # One frame with a private copy of the card's and the terminal's history per variant:
    # fresh (negative) customer and terminal IDs keep the variants out of each other's history.
    idx, cust_new, term_new, variant_of, is_variant = [], [], [], [], []
    meta = []
    vid = 0
    cust_all = full["customer_id"].to_numpy()
    term_all = full["terminal_id"].to_numpy()
    for k in alerted:
        r = offset + int(k)
        c, t = cust_all[r], term_all[r]
        hist = np.union1d(cust_rows[c], term_rows[t])
        hist = hist[hist != r]
        own_c, own_t = cust_all[hist] == c, term_all[hist] == t
        flag = np.zeros(len(hist) + 1, dtype=bool)
        flag[-1] = True
        for d in delays:
            vid += 1
            idx.append(np.append(hist, r))
            cust_new.append(np.append(np.where(own_c, -vid, cust_all[hist]), -vid))
            term_new.append(np.append(np.where(own_t, -vid, term_all[hist]), -vid))
            is_variant.append(flag)
            variant_of.append(np.full(len(hist) + 1, vid))
            meta.append((int(k), int(d)))
    rows = np.concatenate(idx)
    frame = raw.iloc[rows].reset_index(drop=True)
    frame["customer_id"] = np.concatenate(cust_new)
    frame["terminal_id"] = np.concatenate(term_new)
    flags = np.concatenate(is_variant)
    delay_of = np.repeat([d for _, d in meta], [len(a) for a in idx])
    frame.loc[flags, "timestamp"] = (frame.loc[flags, "timestamp"]
                                     + pd.to_timedelta(delay_of[flags], unit="h"))
    frame["_variant"] = np.where(flags, np.concatenate(variant_of), 0)
    derived = fraud_sim.derive_features(frame)
    variants = derived[flags].sort_values("_variant")
    meta = np.array(meta)
    base = variants[features].to_numpy(dtype=np.float64)
    categories = variants["merchant_category"].to_numpy()
    evaded = np.zeros((len(meta), len(fractions)), dtype=bool)
    valid = []
    for j, frac in enumerate(fractions):
        Xv = base.copy()
        Xv[:, i_amount] = _cents(base[:, i_amount] * frac, categories)
        mean30 = Xv[:, i_mean]
        Xv[:, i_ratio] = np.where(mean30 > 0, Xv[:, i_amount] / np.where(mean30 > 0, mean30, 1),
                                  1.0)
        checked = variants.copy()
        checked[features] = Xv
        valid.append(fraud_sim.check_constraints(checked).to_numpy())
        evaded[:, j] = (scorer.predict_proba(Xv)[:, 1] < threshold) & valid[-1]
    seconds = time.perf_counter() - start
    fraud_of = meta[:, 0]
    per_fraud = pd.DataFrame(evaded).groupby(fraud_of).any()
    success = per_fraud.any(axis=1).to_numpy()
    full_amount = per_fraud[0].to_numpy() if fractions[0] == 1.0 else np.zeros_like(success)
    # The best single rule (one delay, one fraction) over all alerted frauds.
    rule_rates = {(int(d), fractions[j]): float(evaded[meta[:, 1] == d, j].mean())
                  for d in delays for j in range(len(fractions))}
    best_rule = max(rule_rates, key=lambda key: (rule_rates[key], -key[0], key[1]))
    scen = data.frame_test["fraud_scenario"].to_numpy()[per_fraud.index.to_numpy()]
    by_scenario = {fraud_sim.SCENARIOS[s]["name"]: float(success[scen == s].mean())
                   for s in sorted(set(scen))}
    return ProbeResult(
        domain="fraud", threat_id=threat_id, category="evasion", technique="AML.T0043.001",
        question=(f"Does waiting up to {max_delay_hours} h or paying less (>= "
                  f"{min(fractions):.0%}) get an alerted fraud under the alert line?"),
        metric="alerted frauds below the alert threshold after controllable changes",
        success_rate=float(success.mean()), threshold=0.2, n_targets=len(alerted),
        queries=len(meta) * len(fractions), access=access, white_box=False, seconds=seconds,
        details={
            "alert threshold": threshold, "alert rate": alert_rate,
            "frauds in test": int(np.sum(data.y_test)), "alerted frauds": len(alerted),
            "evaded at the full amount": float(full_amount.mean()),
            "best single rule (delay h, fraction)": best_rule,
            "best single rule success": rule_rates[best_rule],
            "variants valid": float(np.mean(np.concatenate(valid))),
            "success by scenario": by_scenario,
        },
    )


# --- medical: rebuild the model from a few queries ----------------------------------------------


def probe_medical_extraction(model, X_public, X_eval, n_queries: int | None = None,
                             seed: int = 0, access: str = "partner",
                             threat_id: str = "MED-T1") -> ProbeResult:
    """Query ``predict_proba`` at ``n_queries`` random points (default: number of features + 1)
    inside the range of a few public records, solve for the logistic model's weights, and
    measure how often the copy agrees with the victim on ``X_eval``.

    A logistic regression's log-odds are linear in the raw features (standardisation is
    affine), so d + 1 probabilities determine its d weights and bias exactly: the
    equation-solving attack of Tramer et al. (USENIX Security 2016). Written by hand because
    ART's extraction attacks (CopycatCNN, KnockoffNets, FunctionallyEquivalentExtraction)
    train neural thieves or target ReLU networks; this one is ten lines of least squares.

    Introduced in lab 01 (Threat modelling).
    """
    _fitted(model, "model")
    _check_access(access)
    X_public = np.asarray(X_public, dtype=np.float64)
    X_eval = np.asarray(X_eval, dtype=np.float64)
    if X_public.ndim != 2 or X_eval.ndim != 2 or X_public.shape[1] != X_eval.shape[1]:
        raise ValueError("X_public and X_eval must be 2-D with the same number of features")
    d = X_public.shape[1]
    n_queries = d + 1 if n_queries is None else _check_count(n_queries, "n_queries", d + 1)
    start = time.perf_counter()
    lo, hi = X_public.min(0), X_public.max(0)
    queries = lo + rng(seed).random((n_queries, d)) * (hi - lo)
    p = model.predict_proba(queries)[:, 1]
    keep = (p > 1e-12) & (p < 1 - 1e-12)  # saturated answers carry no usable log-odds
    if keep.sum() < d + 1:
        raise ValueError(f"only {keep.sum()} of {n_queries} answers are unsaturated; ask more")
    logit = np.log(p[keep] / (1 - p[keep]))
    design = np.column_stack([queries[keep], np.ones(keep.sum())])
    coef, *_ = np.linalg.lstsq(design, logit, rcond=None)
    copy_p = 1 / (1 + np.exp(-(np.column_stack([X_eval, np.ones(len(X_eval))]) @ coef)))
    victim_p = model.predict_proba(X_eval)[:, 1]
    agree = (copy_p >= 0.5) == (victim_p >= 0.5)
    seconds = time.perf_counter() - start
    return ProbeResult(
        domain="medical", threat_id=threat_id, category="theft", technique="AML.T0024.002",
        question=f"Do {n_queries} queries of predict_proba rebuild the diagnosis model?",
        metric=f"held-out patients the copy diagnoses like the victim ({n_queries} queries)",
        success_rate=float(agree.mean()), threshold=0.95, n_targets=len(X_eval),
        queries=n_queries, access=access, white_box=False, seconds=seconds,
        details={"max probability difference": float(np.abs(copy_p - victim_p).max()),
                 "features": d, "unsaturated answers": int(keep.sum())},
    )
