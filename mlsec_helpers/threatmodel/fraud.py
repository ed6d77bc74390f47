"""Fraud (the card-transaction fraud scorer): its reference threat model and its probe,
delaying a payment by a few hours and/or lowering its amount (only what the fraudster
controls) to drop alerted frauds below the alert threshold (evasion).

Introduced in lab 01 (Threat modelling).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import fraud_sim
from ..validate import check_choice, check_fitted, check_int, check_number
from .common import ACTORS, FEEDBACK_VIA, entry_points, flow_diagram, prefix_ids, reference_assets
from .model import ACCESS_LEVELS, Control, Flow, Threat, ThreatModel
from .results import ProbeResult

__all__ = ["fraud_threat_model", "probe_fraud_evasion"]


def fraud_threat_model() -> ThreatModel:
    """The reference threat model of the card-transaction fraud scorer:
    its data-flow diagram, controls and eight threats, IDs prefixed.

    Introduced in lab 01 (Threat modelling).
    """
    flow = flow_diagram({
        "source": ("card-network transactions", "Authorisations from terminals and websites."),
        "labelling": ("chargebacks, analyst verdicts", "Labels arrive days to weeks later."),
        "training": ("GBT training", "Gradient-boosted trees on history features."),
        "artefact": ("scorer model file", "The trees, loaded by the scoring service."),
        "libs": ("PyPI, scikit-learn, data vendor", "Libraries and a vendor's risk lists."),
        "users": ("card holders, fraudsters", "Anyone with card details can pay."),
        "api": ("real-time scoring", "Scores every authorisation within milliseconds."),
        "downstream": ("alert queue, declines", "Top 1% of scores go to analysts."),
    }, extra_flows=(Flow("downstream", "labelling", "analyst verdicts (labels)",
                         via=FEEDBACK_VIA),
                    Flow("users", "source", "payments")),
        source_boundary="card network")
    controls = (
        Control("C1", "constraint-aware adversarial training", "PR", "SAIF-5", 2, cost=4,
                likelihood_reduction=1, atlas_mitigations=("AML.M0003",)),
        Control("C2", "velocity rules and step-up authentication", "DE", "SAIF-2", 13, cost=2,
                likelihood_reduction=1, impact_reduction=1, atlas_mitigations=("AML.M0015",)),
        Control("C3", "four-eyes review of analyst verdicts", "GV", "SAIF-6", 3, cost=2,
                likelihood_reduction=1, atlas_mitigations=("AML.M0007",)),
        Control("C4", "decline reasons withheld, probing detection", "DE", "SAIF-2", 4, cost=2,
                likelihood_reduction=1, atlas_mitigations=("AML.M0002", "AML.M0004")),
        Control("C5", "encrypted, access-controlled model and features", "PR", "SAIF-1", 10,
                cost=2, likelihood_reduction=1, impact_reduction=1,
                atlas_mitigations=("AML.M0005", "AML.M0012")),
        Control("C6", "vendor data validation and signed artefacts", "PR", "SAIF-4", 11,
                cost=2, likelihood_reduction=2, atlas_mitigations=("AML.M0014", "AML.M0013")),
        Control("C7", "false-positive audits by age and region", "GV", "SAIF-6", 7, cost=1,
                likelihood_reduction=1),
        Control("C8", "fraud incident response and rollback", "RS", "SAIF-2", 13, cost=1,
                impact_reduction=1),
    )
    threats = (
        Threat("T1", "fraudster shifts time and amount so a fraud scores below the alert line",
               "evasion", "X1", ("A4",), "E5", ("AML.T0043.001", "AML.T0015"), ("ML01",),
               4, 5, ("C1", "C2", "C4", "C8"), "Fraudsters learn from declines."),
        Threat("T2", "colluding analyst marks frauds as legitimate", "poisoning", "X2",
               ("A2",), "E2", ("AML.T0020", "AML.T0031"), ("ML02",), 2, 4, ("C3",),
               "Verdicts feed training directly."),
        Threat("T3", "merchant probes the scorer to learn which payments pass", "theft", "X4",
               ("A3", "A4"), "E5", ("AML.T0024.002", "AML.T0013"), ("ML05",), 2, 4, ("C4",),
               "Only accept/decline is visible, but at scale."),
        Threat("T4", "scorer reveals whether a card was in the training data",
               "membership_inference", "X4", ("A5",), "E5", ("AML.T0024.000",), ("ML04",),
               1, 3, ("C4", "C5"), "Decisions, not scores, are exposed."),
        Threat("T5", "feature store and model reveal customers' spending habits", "inversion",
               "X2", ("A5", "A1"), "E4", ("AML.T0024.001", "AML.T0044"), ("ML03",), 2, 4,
               ("C5",), "History features are personal data."),
        Threat("T6", "more false alarms for young or southern customers", "bias", None,
               ("A4", "A5"), "E6", ("AML.T0048.003", "AML.T0048.002"), (), 3, 3,
               ("C7",), "The data has known age and region biases (datasheet)."),
        Threat("T7", "tampered vendor risk list or library changes the scores",
               "supply_chain", "X3", ("A6", "A1"), "E3", ("AML.T0010.002", "AML.T0010.001"),
               ("ML06", "ML10"), 2, 5, ("C6",), "Third-party lists enter features."),
        Threat("T8", "card-testing bots flood the scoring service", "api_abuse", "X1",
               ("A7",), "E5", ("AML.T0029", "AML.T0034"), ("ML09",), 3, 3, ("C2", "C8"),
               "Scenario 4 of the simulator is exactly this."),
    )
    return prefix_ids("FRD", ThreatModel(
        "fraud", "card-transaction fraud scorer",
        "Gradient-boosted trees score each card payment; the top 1% go to analysts.",
        reference_assets("card holders' transaction histories", "transactions",
                "fraud labels (chargebacks, verdicts)", "fraud scores and alerts"),
        ACTORS["fraud"],
        entry_points("public", "public", {"E1": "card payments", "E2": "analyst verdicts",
                                           "E5": "authorisation scoring"}),
        controls, threats, flow, applied=("C5", "C8"),
    ))

_RAW = ("timestamp", "customer_id", "terminal_id", "amount", "merchant_category", "is_online",
        "is_fraud")


def _cents(amount: np.ndarray, category: np.ndarray) -> np.ndarray:
    """Round amounts down to whole cents (to multiples of 10, at least 10, for cash)."""
    out = np.maximum(np.floor(np.asarray(amount, dtype=np.float64) * 100.0) / 100.0,
                     fraud_sim.AMOUNT_MIN)
    cash = np.asarray(category) == "cash_withdrawal"
    out[cash] = np.maximum(np.floor(out[cash] / 10.0) * 10.0, 10.0)
    return out


def probe_fraud_evasion(system, data, alert_rate: float = 0.01, max_delay_hours: int = 6,
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

    ``system`` is a fitted :class:`mlsec_helpers.systems.FraudScorer` (or any fitted system
    on :data:`mlsec_helpers.fraud_sim.FEATURES`), ``data`` the fraud ``Dataset`` (its raw
    frames ``frame_train``/``frame_test`` and ``X_test``/``y_test``).

    ``details`` also reports the best single rule (one delay and one fraction for every
    fraud), which a fraud ring can learn once and reuse.

    Introduced in lab 01 (Threat modelling).
    """
    check_fitted(system)
    alert_rate = check_number(alert_rate, "alert_rate", low=1e-6, high=0.5)
    max_delay_hours = check_int(max_delay_hours, "max_delay_hours", minimum=0, maximum=48)
    fractions = tuple(check_number(f, "amount fraction", low=0.01, high=1.0)
                      for f in amount_fractions)
    if not fractions:
        raise ValueError("amount_fractions must hold at least one fraction")
    check_choice(access, ACCESS_LEVELS, "access")
    for name in ("frame_train", "frame_test", "X_test", "y_test"):
        if getattr(data, name, None) is None:
            raise ValueError(f"data must be the fraud Dataset (it has no {name})")
    start = time.perf_counter()
    features = list(fraud_sim.FEATURES)
    i_amount = features.index("amount")
    i_ratio = features.index("amount_to_cust_mean_30d")
    i_mean = features.index("cust_mean_amount_30d")
    scores = system.predict_proba(data.X_test)[:, 1]
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
        evaded[:, j] = (system.predict_proba(Xv)[:, 1] < threshold) & valid[-1]
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
        targets="alerted test frauds",
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
