"""The red team of the capstone: the system's threat model, the pen-test plan derived from it,
and each attack of the plan run with the earlier labs' helpers.

* :func:`capstone_threat_model`: a lab 01 :class:`~mlsec_helpers.threatmodel.ThreatModel` of
  the credit pre-approval assistant, with threats in every category of the course and the blue
  team's :data:`~.system.CONTROLS` as its controls (:data:`CONTROL_IDS`).
* :func:`pentest_plan`: one row per threat (the attack, the helper that runs it, the evidence it
  produces, the rule that makes it a finding), led by the rule that finds what no earlier lab
  showed: **for every endpoint, ask what its answer reveals** (:func:`endpoint_review`).
* The attacks, each through the API where the attacker would be: :func:`extraction_attack`
  (lab 04's equation solving), :func:`membership_attack` (lab 05's loss threshold),
  :func:`bias_audit` (lab 07's disparity), :func:`supply_chain_attack` (lab 11's trojaned
  joblib with a benign payload), :func:`gaming_attack` (lab 02's constrained evasion on the
  declared fields) and :func:`explanation_attack` (the novel one: the scorecard rebuilt from
  two explanations, Milli et al. 2019, and real applicants read from the counterfactuals).
* :func:`run_attacks` runs them all (:data:`FINDING_RULES` says when each is a finding) and
  :func:`findings_table` / :func:`run_red_team` turn them into the FINDINGS table.

Introduced in lab 14 (Capstone).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..stats import Rate, auc_interval, proportion
from ..validate import ArgumentTypeError, check_int, check_seed
from .results import AttackResult, ExplanationTheft, GamingResult, Theft
from .system import (
    API_PREFIX,
    CONTROLS,
    DECLARED_FEATURES,
    FEATURES,
    REFER_AT,
    WEAKNESSES,
    CapstoneSystem,
    ModelRefused,
)

__all__ = [
    "audit_population",
    "check_system",
    "copy_agreement",
    "format_rate",
    "linear_refer",
    "CONTROL_IDS",
    "ENDPOINT_RULE",
    "FINDING_RULES",
    "REVEALS",
    "WEAKNESS_THREATS",
    "bias_audit",
    "capstone_threat_model",
    "endpoint_review",
    "explanation_attack",
    "extraction_attack",
    "findings_table",
    "gaming_attack",
    "gaming_moves",
    "membership_attack",
    "pentest_plan",
    "random_applications",
    "run_attacks",
    "run_red_team",
    "supply_chain_attack",
]

CONTROL_IDS: Mapping[str, str] = MappingProxyType(
    {key: f"CAP-C{i}" for i, key in enumerate(CONTROLS, start=1)})
"""The id of each control of :data:`~.system.CONTROLS` in the threat model (``CAP-C1`` ...).
Introduced in lab 14 (Capstone)."""

WEAKNESS_THREATS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "W1": ("CAP-T1",), "W2": ("CAP-T2",), "W3": ("CAP-T3",), "W4": ("CAP-T4",),
    "W5": ("CAP-T5",), "W6": ("CAP-T6", "CAP-T7"),
})
"""The threats of the threat model behind each planted weakness. Introduced in lab 14 (Capstone)."""

ENDPOINT_RULE = ("for every endpoint, ask what its answer reveals: call it as an attacker "
                 "would, list every field of the answer, and for each field ask which asset "
                 "it exposes (weights, training records, the boundary)")
"""The rule of the plan that finds W6, the weakness no earlier lab showed.
Introduced in lab 14 (Capstone)."""

REVEALS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "status": ("nothing", "-"),
    "system": ("which version is deployed", "-"),
    "decisions": ("the decision boundary, one label per query (line search, lab 04)", "CAP-T1"),
    "decision": ("the decision boundary, one label per query", "CAP-T1"),
    "p_deny": ("the exact score: the weights by equation solving (lab 04); members by their "
               "confidence (lab 05)", "CAP-T1, CAP-T2"),
    "contributions": ("w_j (x_j - mean_j) for every field: two answers give every weight",
                      "CAP-T6"),
    "counterfactual": ("a whole application: is it a real applicant of the training data?",
                       "CAP-T7"),
    "reasons": ("which fields weigh against the applicant, in order, with no magnitude",
                "CAP-T6 (residual)"),
})
"""What each field of an answer can reveal, and the threat it points to (the answers of
:func:`endpoint_review`). Introduced in lab 14 (Capstone)."""

FINDING_RULES: Mapping[str, tuple[str, float, str]] = MappingProxyType({
    "W1": ("referred_agreement", 0.5, "a copy made with at most 2 d + 1 queries agrees with "
           "the system on at least half of its referrals (lower end >= 0.5)"),
    "W2": ("auc", 0.6, "the loss-threshold attack's AUC has its lower end >= 0.6"),
    "W3": ("referral_gap", 0.10, "the referral-rate gap between black and other applicants, "
           "over all 2,380 applications, has its lower end >= 0.10"),
    "W4": ("tampered_loaded", 0.5, "tampered model files load without refusal (lower end of "
           "the share >= 0.5)"),
    "W5": ("gaming_success", 0.1, "declared-field changes pre-approve referred applicants "
           "(lower end of the share, over the referred among all applications, >= 0.1)"),
    "W6": ("explained_referred_agreement", 0.5, "the scorecard rebuilt from explanations "
           "agrees on at least half of the referrals (lower end >= 0.5), or the "
           "counterfactuals reveal training applicants"),
})
"""For each planted weakness: the metric, its threshold and the rule. A weakness is FOUND when
the metric's interval lies at or above the threshold (lower end >= threshold) and CLOSED when
it lies below (upper end < threshold); the blue team's re-test applies the same rule.
Introduced in lab 14 (Capstone)."""


# --- the threat model ---------------------------------------------------------------------------


def capstone_threat_model():
    """The threat model of the credit pre-approval assistant (lab 01's classes): its data-flow
    diagram, assets, actors, entry points, the controls of :data:`~.system.CONTROLS`
    (:data:`CONTROL_IDS`) and nine threats covering the eight categories of the course, with
    the rubric's prior scores (the red team's findings replace the likelihoods).

    Introduced in lab 14 (Capstone).
    """
    from ..threatmodel import Actor, Control, Flow, Threat, ThreatModel
    from ..threatmodel.common import (
        FEEDBACK_VIA,
        entry_points,
        flow_diagram,
        reference_assets,
    )

    flow = flow_diagram({
        "source": ("HMDA applications", "Past mortgage applications and decisions."),
        "labelling": ("underwriters' decisions", "Denied or approved, by a person."),
        "training": ("scorecard training", "Logistic scorecard (+ case memory)."),
        "artefact": ("model file", "model.joblib, loaded by the service."),
        "libs": ("PyPI, scikit-learn, fairlearn", "Libraries the model is built with."),
        "users": ("applicants, brokers", "Anyone can get an API key."),
        "api": ("pre-approval API", "/v1/preapprove and /v1/explain."),
        "downstream": ("underwriting queue", "Referred applications go to a person."),
    }, extra_flows=(Flow("downstream", "labelling", "new decisions", via=FEEDBACK_VIA),),
        source_boundary="lender's records")
    controls = tuple(
        Control(CONTROL_IDS[key], c.title, c.nist, c.saif, c.lab, cost=c.cost,
                likelihood_reduction=c.likelihood_reduction,
                impact_reduction=c.impact_reduction, atlas_mitigations=c.atlas_mitigations,
                description=c.what)
        for key, c in CONTROLS.items())
    c = CONTROL_IDS
    actors = (
        Actor("X1", "applicant gaming the pre-approval", "external attacker",
              "get a mortgage pre-approved that would be referred"),
        Actor("X2", "underwriter colluding with applicants", "malicious insider",
              "flip past decisions before retraining"),
        Actor("X3", "compromised package or model store", "compromised supplier",
              "run code inside the lender's service"),
        Actor("X4", "competing lender or data broker with a key", "curious or abusive user",
              "copy the scorecard, learn who applied"),
    )
    threats = (
        Threat("T1", "a broker copies the scorecard from the probabilities the API returns",
               "theft", "X4", ("A3",), "E5", ("AML.T0024.002", "AML.T0040"), ("ML05",), 3, 4,
               (c["labels_and_rate_limit"], c["query_monitoring"]),
               "Any key gets P(deny); a scorecard is linear."),
        Threat("T2", "the API's confidence tells whether an application was in the training "
               "data", "membership_inference", "X4", ("A5", "A1"), "E5", ("AML.T0024.000",),
               ("ML04",), 3, 4, (c["regularised_model"], c["labels_and_rate_limit"]),
               "Mortgage applications are personal financial data."),
        Threat("T3", "black applicants are referred far more often than others", "bias", None,
               ("A4", "A5"), "E6", ("AML.T0048.002", "AML.T0048.003"), (), 3, 5,
               (c["fairness_mitigation"],), "The data's denial rates differ by race "
               "(datasheet); fair lending law applies."),
        Threat("T4", "a tampered model file runs code when the service loads it",
               "supply_chain", "X3", ("A3", "A6"), "E4", ("AML.T0010.003", "AML.T0011.000"),
               ("ML06", "ML10"), 2, 5, (c["signed_safe_format"],),
               "The model ships as joblib (a pickle), unsigned."),
        Threat("T5", "applicants misdeclare fields nobody checks to get pre-approved",
               "evasion", "X1", ("A4",), "E5", ("AML.T0015", "AML.T0043.003"), ("ML01",), 4, 3,
               (c["verified_features"],), "Industry, self-employment, marital status and "
               "education are declared, not verified."),
        Threat("T6", "the explanations give the scorecard's weights away", "theft", "X4",
               ("A3",), "E5", ("AML.T0024.002",), ("ML05",), 2, 4,
               (c["coarse_explanations"], c["query_monitoring"]),
               "Explanations are owed to referred applicants."),
        Threat("T7", "the explanation's counterfactual is a real applicant of the training "
               "data", "inversion", "X4", ("A5", "A1"), "E5", ("AML.T0024.001",), ("ML03",),
               2, 4, (c["coarse_explanations"],), "A counterfactual drawn from the data is a "
               "person's application."),
        Threat("T8", "an underwriter flips past decisions before the next retraining",
               "poisoning", "X2", ("A2",), "E2", ("AML.T0020",), ("ML02",), 2, 4,
               (c["label_review"],), "New decisions feed the next model."),
        Threat("T9", "unauthenticated, malformed or flooding requests", "api_abuse", "X4",
               ("A7",), "E5", ("AML.T0029", "AML.T0040"), ("ML09",), 2, 3,
               (c["labels_and_rate_limit"], c["query_monitoring"]),
               "The API is on the internet; keys are free."),
    )
    from ..threatmodel.common import prefix_ids

    model = ThreatModel(
        "fraud", "credit pre-approval assistant",
        "A logistic scorecard (with a case memory) pre-approves mortgage applications through "
        "an API with an explain endpoint; the model ships as a joblib file.",
        reference_assets("applicants' financial data", "past mortgage applications",
                         "underwriters' decisions", "pre-approval decisions"),
        actors,
        entry_points("public", "insider", {"E1": "lender's application records",
                                            "E2": "underwriters' decisions",
                                            "E5": "pre-approval and explain API"}),
        controls, threats, flow)
    # threat ids get the system's tag; the controls already carry theirs
    prefixed = prefix_ids("CAP", model)
    import dataclasses

    unprefix = {f"CAP-{cid}": cid for cid in CONTROL_IDS.values()}
    return dataclasses.replace(
        prefixed, controls=model.controls,
        threats=tuple(dataclasses.replace(t, controls=tuple(unprefix[x] for x in t.controls))
                      for t in prefixed.threats))


# --- the plan -----------------------------------------------------------------------------------

_PLAN_ROWS = (
    ("every endpoint", ENDPOINT_RULE, "endpoint_review",
     "each endpoint's answer fields and what each reveals"),
    ("CAP-T1", "equation solving on the probabilities (lab 04, Tramer et al. 2016)",
     "extraction_attack", "queries spent; the copy's decision agreement on held-out "
     "applications and on the referred ones (Wilson)"),
    ("CAP-T2", "loss-threshold membership inference (lab 05, Yeom et al. 2018)",
     "membership_attack", "AUC over training vs held-out applications (bootstrap), TPR at "
     "1% FPR"),
    ("CAP-T3", "referral-rate gap by race (lab 07, fairlearn's definitions)", "bias_audit",
     "demographic-parity gap over all applications with its bootstrap interval; referral "
     "rate per group (Wilson); the same on held-out applications"),
    ("CAP-T4", "trojaned joblib files with a benign payload (lab 11)", "supply_chain_attack",
     "share of tampered copies the service loads; whether the payload ran (marker file)"),
    ("CAP-T5", "constrained evasion on the declared fields (lab 02)", "gaming_attack",
     "share of referred applicants pre-approved by the cheapest change (Wilson)"),
    ("CAP-T6", "rebuild the scorecard from two explanations (Milli et al. 2019)",
     "explanation_attack", "queries needed; the rebuilt copy's agreement (Wilson); weight "
     "error"),
    ("CAP-T7", "read the counterfactuals (Aivodji et al. 2020)", "explanation_attack",
     "share of counterfactuals that are rows of the training data (Wilson)"),
    ("CAP-T8", "label flipping before retraining (lab 03)", "(not run: process review)",
     "retraining is not part of the deployed system; reviewed on paper"),
    ("CAP-T9", "requests without a key, with malformed or absurd bodies (lab 12)",
     "endpoint_review", "status codes (401, 422), no echo of the input"),
)


def pentest_plan(model=None) -> pd.DataFrame:
    """The pen-test plan derived from the threat model: one row per threat (id, threat,
    category, the attack, the helper of this module that runs it, the evidence it produces,
    the finding rule of :data:`FINDING_RULES` where a planted weakness lies behind it), led by
    the endpoint rule (:data:`ENDPOINT_RULE`). Every threat of ``model`` (default:
    :func:`capstone_threat_model`) must have a row.

    Introduced in lab 14 (Capstone).
    """
    from ..catalogue import THREAT_CATEGORIES
    from ..threatmodel import ThreatModel

    model = capstone_threat_model() if model is None else model
    if not isinstance(model, ThreatModel):
        raise ArgumentTypeError(f"model must be a ThreatModel, got {type(model).__name__}")
    planned = {row[0] for row in _PLAN_ROWS}
    missing = [t.id for t in model.threats if t.id not in planned]
    if missing:
        raise ValueError(f"the plan has no attack for the threats {missing}")
    rule_of = {t: w for w, ts in WEAKNESS_THREATS.items() for t in ts}
    rows = []
    for tid, attack, helper, evidence in _PLAN_ROWS:
        if tid == "every endpoint":
            title, category = "what each answer reveals", "all"
        else:
            t = model.threat(tid)
            title, category = t.title, THREAT_CATEGORIES[t.category].name
        rule = FINDING_RULES[rule_of[tid]][2] if tid in rule_of else "-"
        rows.append({"threat": tid, "title": title, "category": category, "attack": attack,
                     "helper": helper, "evidence": evidence, "finding rule": rule})
    return pd.DataFrame(rows)


def endpoint_review(system: CapstoneSystem) -> pd.DataFrame:
    """The endpoint rule, run: call every route of the API as an attacker with a key would
    (a referred held-out application for the explain endpoint), and list each field of each
    answer with what it reveals (:data:`REVEALS`). Also tries each POST route without a key and
    with a malformed body (expect 401 and 422, the input not echoed). One row per (endpoint,
    field).

    Introduced in lab 14 (Capstone).
    """
    check_system(system)
    X = system.data.X_test
    referred = X[system.refer(X) == 1]
    sample = referred[0] if len(referred) else X[0]
    rows = []
    for route in system.app.routes:
        path = getattr(route, "path", "")
        if not path.startswith(API_PREFIX):
            continue
        for method in sorted(getattr(route, "methods", set()) - {"HEAD"}):
            if method == "GET":
                response = system.client.get(path)
            elif path.endswith("/preapprove"):
                response = system.preapprove(sample[None, :], system.api_keys["broker"])
            else:
                response = system.explain(sample, system.api_keys["broker"])
            answer = response.json() if response.status_code == 200 else {}
            hygiene = ""
            if method == "POST":
                no_key = system.client.post(path, json={}).status_code
                bad = system.client.post(path, json={"applications": "<script>x</script>",
                                                     "application": "<script>x</script>"},
                                         headers={"X-API-Key": system.api_keys["broker"]})
                echoed = "<script>" in bad.text
                hygiene = (f"no key -> {no_key}; malformed -> {bad.status_code}"
                           f"{' (input echoed)' if echoed else ''}")
            for field in answer or {"(refused)": None}:
                what, threat = REVEALS.get(field, ("?", "-"))
                rows.append({"endpoint": f"{method} {path}", "status": response.status_code,
                             "answer field": field, "what it reveals": what,
                             "threat": threat, "hygiene": hygiene})
    return pd.DataFrame(rows)


# --- shared -------------------------------------------------------------------------------------


def check_system(system) -> CapstoneSystem:
    """Return ``system`` if it is a :class:`CapstoneSystem`; raise a clear error otherwise.

    Introduced in lab 14 (Capstone).
    """
    if not isinstance(system, CapstoneSystem):
        raise ArgumentTypeError(f"system must be a CapstoneSystem (system.capstone_system), "
                                f"got {type(system).__name__}")
    if system._closed:
        raise ValueError("system is closed: build a new one")
    return system


def copy_agreement(system: CapstoneSystem, copy_refer: np.ndarray) -> tuple[Rate, Rate]:
    """Decision agreement of a copy with the system on the held-out applications, overall
    and on the ones the system refers.

    Introduced in lab 14 (Capstone).
    """
    truth = system.refer(system.data.X_test)
    same = copy_refer.astype(np.int64) == truth
    n_ref = int(truth.sum())
    overall = proportion(same, on=f"{len(truth)} held-out applications")
    referred = proportion(int(same[truth == 1].sum()), max(n_ref, 1),
                          on=f"{n_ref} held-out applications the system refers")
    return overall, referred


def linear_refer(X: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """The referral decision (1 = referred) of a linear scorecard ``X @ w + b`` at the system's
    referral threshold :data:`REFER_AT`.

    Introduced in lab 14 (Capstone).
    """
    score = X @ w + b
    return (score >= np.log(REFER_AT / (1 - REFER_AT))).astype(np.int64)


# --- W1: theft through the API ------------------------------------------------------------------


def random_applications(n: int, *, seed: int = 0) -> np.ndarray:
    """``n`` valid applications drawn uniformly within the API's accepted ranges (integer
    fields uniform over their values): the thief's queries, made up, not real applicants.

    Introduced in lab 14 (Capstone).
    """
    from .system import FIELD_BOUNDS, INTEGER_FIELDS

    n = check_int(n, "n", 1)
    gen = np.random.default_rng(check_seed(seed))
    cols = []
    for f in FEATURES:
        lo, hi = FIELD_BOUNDS[f]
        if f in INTEGER_FIELDS:
            cols.append(gen.integers(lo, hi + 1, size=n).astype(np.float64))
        else:
            cols.append(np.round(gen.uniform(lo, hi if f != "unemp" else 10.0, size=n), 3))
    return np.column_stack(cols)


def extraction_attack(system: CapstoneSystem, *, key: str | None = None,
                      n_queries: int | None = None, seed: int = 0) -> Theft:
    """Lab 04's equation solving through the API (Tramer et al., 2016): ``n_queries`` (default
    ``2 d + 1`` = 25) made-up valid applications (:func:`random_applications`), each answer's
    ``logit(p)`` an equation in the scorecard's weights, solved by least squares
    (:func:`~mlsec_helpers.extraction.medical.solve_logistic`; more equations than unknowns
    absorb what the case memory adds). Labels-only answers carry no equation: the attack fails
    and the thief is left with the copy that pre-approves everyone (its agreement is
    reported). A rate-limit refusal stops it the same way.

    Introduced in lab 14 (Capstone).
    """
    from ..extraction.medical import solve_logistic

    check_system(system)
    d = len(FEATURES)
    n_queries = 2 * d + 1 if n_queries is None else check_int(n_queries, "n_queries", d + 1)
    X = random_applications(n_queries, seed=seed)
    api = system.proba_api(key)
    try:
        p = api(X)[:, 1]
        w, b = solve_logistic(X, p)
    except (ValueError, RuntimeError) as err:
        overall, referred = copy_agreement(system, np.zeros(len(system.data.X_test), np.int64))
        return Theft("equation solving", n_queries, overall, referred, None, None,
                     error=str(err).split(":")[0])
    overall, referred = copy_agreement(system, linear_refer(system.data.X_test, w, b))
    return Theft("equation solving", n_queries, overall, referred, w, float(b))


# --- W2: membership -----------------------------------------------------------------------------


def membership_attack(system: CapstoneSystem, *, through_api: bool = True,
                      seed: int = 0) -> tuple[Rate, float]:
    """Lab 05's loss-threshold attack (Yeom et al., 2018): the attacker knows each person's
    application and past decision and scores membership by the model's loss on it. Members:
    the training applications; non-members: the held-out ones. ``through_api`` sends them to
    the API (needs probabilities; labels-only answers make it fail with ``ValueError``);
    ``through_api=False`` reads the model's probabilities directly (the auditor's worst case,
    as if the scores leaked). Returns the AUC with its bootstrap interval and the TPR at 1%
    FPR.

    Introduced in lab 14 (Capstone).
    """
    from ..privacy import cross_entropy_losses, tpr_at_fpr

    check_system(system)
    X = np.vstack([system.data.X_train, system.data.X_test])
    y = np.concatenate([system.data.y_train, system.data.y_test])
    member = np.r_[np.ones(len(system.data.X_train)), np.zeros(len(system.data.X_test))]
    if through_api:
        if system.labels_only:
            raise ValueError("the API answers labels only: the loss-threshold attack needs "
                             "probabilities (use through_api=False for the auditor's view)")
        api = system.proba_api(system.api_keys["broker"])
        proba = np.vstack([api(X[i:i + 1000]) for i in range(0, len(X), 1000)])
    else:
        proba = system.predict_proba(X)
    score = -cross_entropy_losses(proba, y)
    auc = auc_interval(member.astype(np.int64), score, seed=check_seed(seed),
                       on=f"{int(member.sum())} training vs {int((1 - member).sum())} held-out "
                          "applications")
    return auc, float(tpr_at_fpr(member.astype(np.int64), score, 0.01))


# --- W3: bias -----------------------------------------------------------------------------------


def audit_population(system: CapstoneSystem, on: str) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                          str]:
    """The applications an audit runs on: ``"all"`` (training and held-out, 2,380: the book
    the system decides) or ``"held-out"``; their past decisions, race and a description.

    Introduced in lab 14 (Capstone).
    """
    from ..validate import check_choice

    on = check_choice(on, ("all", "held-out"), "on")
    d = system.data
    if on == "held-out":
        return d.X_test, d.y_test, system.groups_test, "held-out applications"
    return (np.vstack([d.X_train, d.X_test]), np.concatenate([d.y_train, d.y_test]),
            np.concatenate([system.groups_train, system.groups_test]), "applications (all)")


def bias_audit(system: CapstoneSystem, *, on: str = "all", seed: int = 0) -> dict:
    """Lab 07's audit of the decisions: the referral-rate gap between black and other
    applicants (fairlearn's demographic-parity difference, via
    :func:`~mlsec_helpers.fairness.disparity`, bootstrap interval), each group's referral rate
    (Wilson), and the adverse-impact ratio (pre-approval rate of black applicants over that of
    the others; the four-fifths rule asks for >= 0.8). ``on``: ``"all"`` applications (2,380,
    339 black applicants: the decisions the system makes on the lender's whole book; the
    default, whose interval is half as wide) or the ``"held-out"`` ones (595, about 85 black
    applicants). Returns a dict with ``gap`` (a :class:`~mlsec_helpers.stats.Rate`), ``rates``
    (group -> Rate), ``impact_ratio``, ``refer`` (the decisions) and ``groups``.

    Introduced in lab 14 (Capstone).
    """
    from ..fairness import disparity

    check_system(system)
    X, y, g, where = audit_population(system, on)
    refer = system.refer(X)
    d = disparity("demographic_parity", y, refer, g, seed=check_seed(seed), on=where)
    gap = Rate(d.value, d.low, d.high, d.n, f"referral-rate gap over {len(y)} {where}")
    rates = {name: proportion(refer[g == v], on=f"{int((g == v).sum())} {name} applicants "
                              f"({where})")
             for v, name in ((1, "black"), (0, "not black"))}
    approve = {v: 1 - refer[g == v].mean() for v in (0, 1)}
    return {"gap": gap, "rates": rates, "refer": refer, "groups": g,
            "impact_ratio": float(approve[1] / approve[0]) if approve[0] else float("nan")}


# --- W4: supply chain ---------------------------------------------------------------------------

_TAMPERS = tuple((placement, compress) for placement in ("before", "after")
                 for compress in (0, 3, ("gzip", 3), ("bz2", 3), ("lzma", 3)))


def supply_chain_attack(system: CapstoneSystem) -> dict:
    """Lab 11's attack on the artefact store: an attacker with write access replaces the model
    file by a trojaned joblib (:func:`~mlsec_helpers.supplychain.nlp.trojan_joblib`: the
    working model plus a benign payload that writes a marker file; both placements, five
    compressions: 10 copies), and, for a skops file, also injects a call into it
    (:func:`~mlsec_helpers.supplychain.nlp.inject_skops_call`). Each tampered copy is handed
    to the service's loader (:meth:`~.system.CapstoneSystem.load_model`). Returns a dict:
    ``loaded`` (share of copies loaded without refusal, Wilson), ``payload_ran`` (share whose
    payload ran), ``same_answers`` (whether the loaded models answer as the original),
    ``trials`` (a table). Works in a temporary folder inside the system's, removed after.

    Introduced in lab 14 (Capstone).
    """
    from ..supplychain import marker_payload, payload_ran
    from ..supplychain.nlp import inject_skops_call, trojan_joblib

    check_system(system)
    work = Path(tempfile.mkdtemp(prefix="tamper-", dir=system.folder))
    rows = []
    try:
        X = system.data.X_test[:50]
        reference = system.predict_proba(X)
        name = system.model_path.name
        variants = [("trojaned joblib", p, c) for p, c in _TAMPERS]
        if system.signed:
            variants.append(("call injected into skops", "-", "-"))
        for i, (kind, placement, compress) in enumerate(variants):
            folder = work / f"copy{i}"
            shutil.copytree(system.model_dir, folder)
            marker = work / f"marker{i}.txt"
            payload = marker_payload(marker)
            target = folder / name
            target.unlink()
            if kind == "trojaned joblib":
                trojan_joblib(system.model, payload, target, placement=placement,
                              compress=compress)
            else:
                inject_skops_call(system.model_path, target, payload)
            try:
                model = system.load_model(folder)
                loaded, why = True, "loaded"
                same = bool(np.allclose(model.predict_proba(X), reference))
            except ModelRefused as err:
                loaded, why, same = False, str(err)[:80], False
            rows.append({"copy": f"{kind} ({placement}, compress={compress})",
                         "loaded": loaded, "payload ran": payload_ran(marker),
                         "answers as the original": same, "loader": why})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    trials = pd.DataFrame(rows)
    n = len(trials)
    return {"loaded": proportion(trials["loaded"].to_numpy(dtype=np.int64),
                                 on=f"{n} tampered copies"),
            "payload_ran": proportion(trials["payload ran"].to_numpy(dtype=np.int64),
                                      on=f"{n} tampered copies"),
            "same_answers": bool(trials.loc[trials["loaded"], "answers as the original"].all())
            if trials["loaded"].any() else False,
            "trials": trials}


# --- W5: gaming ---------------------------------------------------------------------------------


def gaming_moves(system: CapstoneSystem) -> dict[str, np.ndarray]:
    """What a gaming applicant may declare, per declared field (:data:`~.system.
    DECLARED_FEATURES`): ``unemp`` any industry rate seen in the training data, the yes/no
    fields 0 or 1.

    Introduced in lab 14 (Capstone).
    """
    check_system(system)
    unemp = np.unique(system.data.X_train[:, FEATURES.index("unemp")])
    return {"unemp": unemp, "selfemp": np.array([0.0, 1.0]), "single": np.array([0.0, 1.0]),
            "hschool": np.array([0.0, 1.0])}


def gaming_attack(system: CapstoneSystem, *, fields=DECLARED_FEATURES,
                  max_changed: int | None = None, on: str = "all") -> GamingResult:
    """Lab 02's constrained evasion on tabular data: each referred applicant (among ``on``:
    ``"all"`` applications or the ``"held-out"`` ones) tries every combination of values of
    the declared ``fields`` (:func:`gaming_moves`), fewest fields changed first, and keeps the
    first that the system pre-approves. Returns the share who succeed (Wilson) among the
    referred.

    Introduced in lab 14 (Capstone).
    """
    import itertools

    check_system(system)
    fields = tuple(fields)
    moves = gaming_moves(system)
    for f in fields:
        if f not in moves:
            raise ValueError(f"{f!r} is not a declared field; choose from {tuple(moves)}")
    max_changed = len(fields) if max_changed is None else check_int(max_changed, "max_changed",
                                                                    1, len(fields))
    X, _, _, where = audit_population(system, on)
    referred = X[system.refer(X) == 1]
    cols = [FEATURES.index(f) for f in fields]
    grid = np.array(list(itertools.product(*[moves[f] for f in fields])))
    success = np.zeros(len(referred), bool)
    changed = np.full(len(referred), np.nan)
    examples = []
    queries = 0
    for i, x in enumerate(referred):
        tries = np.repeat(x[None, :], len(grid), axis=0)
        tries[:, cols] = grid
        n_changed = (tries[:, cols] != x[cols]).sum(axis=1)
        keep = (n_changed > 0) & (n_changed <= max_changed)
        tries, n_changed = tries[keep], n_changed[keep]
        order = np.argsort(n_changed, kind="stable")
        tries, n_changed = tries[order], n_changed[order]
        queries += len(tries)
        ok = np.flatnonzero(system.refer(tries) == 0)
        if len(ok):
            success[i], changed[i] = True, n_changed[ok[0]]
            if len(examples) < 3:
                examples.append({FEATURES[j]: (round(float(x[j]), 3),
                                               round(float(tries[ok[0], j]), 3))
                                 for j in cols if tries[ok[0], j] != x[j]})
    n = max(len(referred), 1)
    rate = proportion(int(success.sum()), n, on=f"{len(referred)} referred {where}")
    text = tuple(f"{f}: {'any seen industry rate' if f == 'unemp' else '0 or 1'}"
                 for f in fields)
    return GamingResult(rate, text, float(np.nanmean(changed)) if success.any() else float("nan"),
                        queries, tuple(examples))


# --- W6: explanations ---------------------------------------------------------------------------


def _probe_pair(system: CapstoneSystem) -> tuple[np.ndarray, np.ndarray]:
    """Two valid applications that differ in every field and that a scorecard like this one
    refers: poor histories, high ratios (the attacker's own, not real applicants)."""
    x1 = np.array([0.45, 0.35, 0.95, 5, 3, 1, 4.0, 1, 1, 1, 1, 0], dtype=np.float64)
    x2 = np.array([0.55, 0.30, 1.05, 6, 4, 0, 5.0, 0, 0, 0, 0, 1], dtype=np.float64)
    return x1, x2


def explanation_attack(system: CapstoneSystem, *, n_leak: int = 20, key: str | None = None,
                       keys: int = 1) -> ExplanationTheft:
    """The novel attack (W6). Rebuild: ask the explain endpoint about two of the attacker's
    own applications that differ in every field (:func:`_probe_pair`); each answer's
    contributions are ``w_j (x_j - mean_j)``, so ``w_j = (c_j - c'_j) / (x_j - x'_j)`` for
    every field, and with one probability the whole scorecard is known (Milli et al., 2019,
    "Model Reconstruction from Model Explanations"). Leak: ask about ``n_leak`` referred
    held-out applicants and check whether each counterfactual returned is, exactly, a row of
    the training data (Aivodji et al., 2020). ``keys`` API keys share the requests (the first
    is ``key``, default the applicant's; more are issued). Coarse answers (reasons only) give no
    numbers: nothing is rebuilt and the thief keeps the copy that pre-approves everyone.

    Introduced in lab 14 (Capstone).
    """
    check_system(system)
    n_leak = check_int(n_leak, "n_leak", 1)
    keys = check_int(keys, "keys", 1)
    key_list = [system.api_keys["applicant"] if key is None else key]
    key_list += [system.issue_key(f"explainer-{i}") for i in range(1, keys)]
    sent = refused = numbers = 0

    def ask(x):
        nonlocal sent, refused, numbers
        response = system.explain(x, key_list[sent % len(key_list)])
        sent += 1
        if response.status_code != 200:
            refused += 1
            return None
        answer = response.json()
        numbers += len(answer.get("contributions", {})) + ("p_deny" in answer)
        return answer

    x1, x2 = _probe_pair(system)
    a1, a2 = ask(x1), ask(x2)
    numbers_rebuild = numbers
    w = b = error = None
    if a1 and a2 and "contributions" in a1 and "contributions" in a2:
        c1 = np.array([a1["contributions"][f] for f in FEATURES])
        c2 = np.array([a2["contributions"][f] for f in FEATURES])
        w = (c1 - c2) / (x1 - x2)
        p1 = float(a1["p_deny"])
        b = float(np.log(p1) - np.log1p(-p1) - w @ x1)
        w_true, b_true = system.model.scorecard()
        scale = system.data.X_train.std(axis=0)
        error = float(np.linalg.norm((w - w_true) * scale) / np.linalg.norm(w_true * scale))
        copy_refer = linear_refer(system.data.X_test, w, b)
    else:
        copy_refer = np.zeros(len(system.data.X_test), np.int64)
    overall, referred = copy_agreement(system, copy_refer)
    X = system.data.X_test
    pool = X[system.refer(X) == 1][:n_leak]
    revealed = in_train = 0
    train = {tuple(r) for r in np.round(system.data.X_train, 6)}
    for x in pool:
        answer = ask(x)
        if answer and "counterfactual" in answer:
            revealed += 1
            row = np.array([answer["counterfactual"][f] for f in FEATURES], dtype=np.float64)
            in_train += tuple(np.round(row, 6)) in train
    leak = proportion(in_train, max(len(pool), 1),
                      on=f"{len(pool)} explanation requests about referred applicants")
    return ExplanationTheft(queries=2, numbers_returned=numbers_rebuild, weights=w, intercept=b,
                            weight_error=error, fidelity=overall, refused_agreement=referred,
                            counterfactuals=revealed, counterfactuals_in_training=leak,
                            refused_requests=refused, keys=len(key_list))


# --- the whole red team -------------------------------------------------------------------------


def format_rate(rate: Rate) -> str:
    """A rate as ``"value [low, high]"`` with three decimals.

    Introduced in lab 14 (Capstone).
    """
    return f"{rate.value:.3f} [{rate.low:.3f}, {rate.high:.3f}]"


def run_attacks(system: CapstoneSystem, *, seed: int = 0) -> dict[str, AttackResult]:
    """Every attack of the plan against ``system``, one :class:`~.results.AttackResult` per
    planted weakness (``"W1"`` ... ``"W6"``), each judged by :data:`FINDING_RULES`. The
    system's clock is moved on a day before each attack (the rate limits refill), as if the
    attacks ran on different days.

    Introduced in lab 14 (Capstone).
    """
    check_system(system)
    seed = check_seed(seed)
    out: dict[str, AttackResult] = {}

    def add(w, threat, attack, metric, value, evidence, detail):
        found = value.low >= FINDING_RULES[w][1]
        out[w] = AttackResult(w, threat, attack, metric, value, bool(found), evidence, detail)

    system.clock.advance(86_400)
    theft = extraction_attack(system, key=system.issue_key("thief"), seed=seed)
    add("W1", "CAP-T1", "equation solving through /v1/preapprove", "referred_agreement",
        theft.refused_agreement,
        (f"{theft.queries} queries; copy agrees on {format_rate(theft.refused_agreement)} of "
         f"referrals, {format_rate(theft.fidelity)} overall" if theft.error is None else
         f"{theft.queries} queries; no copy ({theft.error})"), theft)
    system.clock.advance(86_400)
    api_view = not system.labels_only
    auc, tpr = membership_attack(system, through_api=api_view, seed=seed)
    add("W2", "CAP-T2", "loss threshold on " + ("the API's probabilities" if api_view
                                                 else "the model's probabilities (auditor)"),
        "auc", auc, f"AUC {format_rate(auc)}; TPR at 1% FPR {tpr:.3f}", {"auc": auc, "tpr": tpr})
    bias = bias_audit(system, seed=seed)
    r = bias["rates"]
    add("W3", "CAP-T3", "referral-rate gap (lab 07)", "referral_gap", bias["gap"],
        (f"gap {format_rate(bias['gap'])}; referred: black {format_rate(r['black'])}, others "
         f"{format_rate(r['not black'])}; adverse-impact ratio {bias['impact_ratio']:.2f}"), bias)
    chain = supply_chain_attack(system)
    add("W4", "CAP-T4", "tampered model files offered to the loader", "tampered_loaded",
        chain["loaded"], (f"loaded {format_rate(chain['loaded'])}; payload ran "
                          f"{format_rate(chain['payload_ran'])}; answers unchanged: "
                          f"{chain['same_answers']}"), chain)
    gaming = gaming_attack(system)
    add("W5", "CAP-T5", "constrained evasion on the declared fields", "gaming_success",
        gaming.success, (f"{format_rate(gaming.success)} of referred applicants pre-approved; "
                         f"{gaming.mean_changed:.1f} fields changed on average"), gaming)
    system.clock.advance(86_400)
    expl = explanation_attack(system, key=system.issue_key("explainer"))
    metric = expl.refused_agreement
    leak = expl.counterfactuals_in_training
    found_leak = leak.low >= FINDING_RULES["W6"][1]
    add("W6", "CAP-T6, CAP-T7", "weights from 2 explanations; counterfactuals read",
        "explained_referred_agreement", metric,
        (f"2 explanations; rebuilt copy agrees on {format_rate(metric)} of referrals"
         + (f", weight error {expl.weight_error:.1e}" if expl.weight_error is not None else
            ", no numbers returned")
         + f"; counterfactuals that are training rows {format_rate(leak)}"), expl)
    if found_leak and not out["W6"].found:
        out["W6"] = AttackResult(**{**out["W6"].__dict__, "found": True})
    return out


def findings_table(results: Mapping[str, AttackResult], model=None) -> pd.DataFrame:
    """The FINDINGS table: one row per planted weakness found (weakness, threat, how found,
    evidence, severity: the risk band (lab 01) of the threat's likelihood x impact, the
    prior likelihood raised by one step when the attack succeeded: a measured exploit is more
    likely than a judged one), plus ``found``, the metric and its interval.

    Introduced in lab 14 (Capstone).
    """
    from ..threatmodel import risk_band

    if not isinstance(results, Mapping) or not all(isinstance(r, AttackResult)
                                                   for r in results.values()):
        raise ArgumentTypeError("results must map weakness ids to AttackResult (run_attacks)")
    model = capstone_threat_model() if model is None else model
    rows = []
    for w, r in results.items():
        threat = model.threat(WEAKNESS_THREATS[w][0])
        likelihood = min(5, threat.likelihood + int(r.found))
        how = ("endpoint rule, then " + r.attack) if w == "W6" else r.attack
        rows.append({"weakness": w, "threat": r.threat, "how found": how,
                     "evidence": r.evidence,
                     "severity": risk_band(int(likelihood * threat.impact)),
                     "found": r.found, "metric": r.metric, "value": r.value.value,
                     "low": r.value.low, "high": r.value.high,
                     "planted": WEAKNESSES[w]})
    return pd.DataFrame(rows)


def run_red_team(system: CapstoneSystem, *, seed: int = 0) -> pd.DataFrame:
    """The red team in one call: :func:`run_attacks` then :func:`findings_table`.

    Introduced in lab 14 (Capstone).
    """
    return findings_table(run_attacks(system, seed=seed))
