"""The blue team of the capstone: the risk register from the red team's findings, controls
chosen under a budget, applied with :func:`~.system.harden`, every weakness re-tested with the
same attacks, an adaptive attacker against each control, and what the controls cost honest
applicants.

* :func:`risk_register`: the threat model (:func:`~.redteam.capstone_threat_model`) with each
  threat's likelihood raised by one step where the red team's attack succeeded (the evidence),
  and its register (likelihood x impact, inherent and residual).
* :func:`choose_controls`: the controls of :data:`~.system.CONTROLS` that cut the most risk
  within a budget in person-weeks: ``"exact"`` (lab 01's
  :func:`~mlsec_helpers.threatmodel.optimal_controls`, every subset) or ``"greedy"`` (risk
  reduced per person-week, best first). The lab's Exercise 2 has students write the choice.
* :func:`retest_table`: the RETEST table (weakness, control, before, after with intervals,
  closed by :data:`~.redteam.FINDING_RULES`).
* The adaptive attackers (:func:`adaptive_attacks`): spreading queries over keys against the
  rate limit (lab 04's line search), offline LiRA against the regularised model (lab 05),
  another fairness definition against the parity fix (lab 07), re-signing and forged key hints
  against the signature (lab 11), stretching the verified fields within their tolerance against
  the verified-fields model (lab 02), and many keys' worth of reasons against the coarse
  explanations.
* :func:`quality_cost`: accuracy, pre-approval rate and denials caught, before and after, with
  paired intervals; :func:`run_blue_team` does everything.

Introduced in lab 14 (Capstone).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..stats import Rate, auc_interval, mean_interval, proportion
from ..validate import ArgumentTypeError, check_choice, check_int, check_seed
from .redteam import (
    CONTROL_IDS,
    FINDING_RULES,
    WEAKNESS_THREATS,
    audit_population,
    capstone_threat_model,
    check_system,
    copy_agreement,
    format_rate,
    linear_refer,
    run_attacks,
)
from .results import AdaptiveResult, AttackResult, BlueTeamReport, QualityCost
from .system import (
    CONTROLS,
    EXPLANATION_BUDGET,
    FEATURES,
    INTEGER_FIELDS,
    REASONS,
    REFER_AT,
    CapstoneSystem,
    CreditModel,
    ModelRefused,
    harden,
)

__all__ = [
    "BUDGET",
    "TOLERANCE",
    "adaptive_attacks",
    "adaptive_explanations",
    "adaptive_extraction",
    "adaptive_fairness",
    "adaptive_gaming",
    "adaptive_membership",
    "adaptive_supply_chain",
    "adaptive_table",
    "choose_controls",
    "quality_cost",
    "risk_register",
    "retest_table",
    "run_blue_team",
]

BUDGET = 10
"""The blue team's budget in person-weeks (the six weakness controls cost 10; all eight, 15).
Introduced in lab 14 (Capstone)."""

TOLERANCE = 0.05
"""How far an applicant can stretch a verified ratio (income, property value) before the
documents contradict it: 5% (the adaptive gaming attacker's budget).
Introduced in lab 14 (Capstone)."""

_KEY_OF = {cid: key for key, cid in CONTROL_IDS.items()}


# --- the register and the choice ----------------------------------------------------------------


def risk_register(findings: pd.DataFrame, model=None):
    """The threat model scored with the red team's findings: every threat behind a found
    weakness (:data:`~.redteam.WEAKNESS_THREATS`) gets its likelihood raised by one step (a
    measured exploit, lab 01's rule) and the finding's evidence. Returns ``(model, register)``:
    the scored :class:`~mlsec_helpers.threatmodel.ThreatModel` and its register (DataFrame,
    highest residual risk first, with a ``weakness`` column).

    Introduced in lab 14 (Capstone).
    """
    if not isinstance(findings, pd.DataFrame) or not {"weakness", "found", "evidence"} <= set(
            findings.columns):
        raise ArgumentTypeError("findings must be the FINDINGS table of redteam.findings_table "
                                "(columns weakness, found, evidence, ...)")
    model = capstone_threat_model() if model is None else model
    weakness_of = {}
    for row in findings.itertuples(index=False):
        check_choice(row.weakness, list(WEAKNESS_THREATS), "weakness")
        for tid in WEAKNESS_THREATS[row.weakness]:
            weakness_of[tid] = row.weakness
            if row.found:
                t = model.threat(tid)
                model = model.with_scores(tid, likelihood=min(5, t.likelihood + 1),
                                          evidence=str(row.evidence))
    register = model.register()
    register.insert(1, "weakness", register["id"].map(weakness_of).fillna("-"))
    return model, register


def _reduction(model, chosen_ids: Sequence[str]) -> int:
    from ..threatmodel.model import total_residual

    threats = model.threats
    none = total_residual(threats, [])
    return none - total_residual(threats, [model.control(c) for c in chosen_ids])


def choose_controls(model, budget: int = BUDGET, *, method: str = "exact") -> tuple[str, ...]:
    """The controls (keys of :data:`~.system.CONTROLS`) to apply within ``budget``
    person-weeks, to cut the total residual risk of ``model`` (a scored threat model from
    :func:`risk_register`) the most. ``"exact"``: every subset
    (:func:`~mlsec_helpers.threatmodel.optimal_controls`; ties: the cheaper); ``"greedy"``:
    repeatedly the control with the largest risk reduction per person-week that still fits.
    Returns the keys in :data:`~.system.CONTROLS` order.

    Introduced in lab 14 (Capstone).
    """
    from ..threatmodel import ThreatModel, optimal_controls

    if not isinstance(model, ThreatModel):
        raise ArgumentTypeError(f"model must be a ThreatModel (risk_register), got "
                                f"{type(model).__name__}")
    budget = check_int(budget, "budget (person-weeks)", minimum=0)
    method = check_choice(method, ("exact", "greedy"), "method")
    if method == "exact":
        ids = optimal_controls(model.threats, model.controls, budget)
    else:
        ids, spent = [], 0
        while True:
            best, best_gain = None, 0.0
            for c in model.controls:
                if c.id in ids or spent + c.cost > budget:
                    continue
                gain = (_reduction(model, ids + [c.id]) - _reduction(model, ids)) / max(c.cost, 1)
                if gain > best_gain:
                    best, best_gain = c, gain
            if best is None:
                break
            ids.append(best.id)
            spent += best.cost
    keys = {_KEY_OF[i] for i in ids}
    return tuple(k for k in CONTROLS if k in keys)


# --- the re-test --------------------------------------------------------------------------------


def retest_table(before: Mapping[str, AttackResult], after: Mapping[str, AttackResult],
                 applied: Sequence[str]) -> pd.DataFrame:
    """The RETEST table: one row per weakness with the control(s) applied that treat it, the
    metric, before and after (value with interval, and the numbers), and ``closed``: the
    after-interval lies below the finding rule's threshold (:data:`~.redteam.FINDING_RULES`,
    upper end < threshold).

    Introduced in lab 14 (Capstone).
    """
    for name, results in (("before", before), ("after", after)):
        if not isinstance(results, Mapping) or not all(isinstance(r, AttackResult)
                                                       for r in results.values()):
            raise ArgumentTypeError(f"{name} must map weakness ids to AttackResult "
                                    "(redteam.run_attacks)")
    rows = []
    for w, b in before.items():
        if w not in after:
            raise ValueError(f"after has no re-test of {w}")
        a = after[w]
        metric, threshold, _ = FINDING_RULES[w]
        controls = [k for k in applied if w in CONTROLS[k].treats]
        rows.append({"weakness": w, "control": ", ".join(controls) or "(none)",
                     "metric": metric, "threshold": threshold,
                     "before": format_rate(b.value), "after": format_rate(a.value),
                     "before_value": b.value.value, "before_low": b.value.low,
                     "before_high": b.value.high, "after_value": a.value.value,
                     "after_low": a.value.low, "after_high": a.value.high,
                     "closed": bool(a.value.high < threshold and not a.found),
                     "after evidence": a.evidence})
    return pd.DataFrame(rows)


# --- adaptive attackers -------------------------------------------------------------------------


def adaptive_extraction(system: CapstoneSystem, *, seed: int = 0,
                        max_keys: int = 20) -> AdaptiveResult:
    """Against labels-only answers and the per-key rate limit: lab 04's line search from labels
    (:func:`~mlsec_helpers.extraction.medical.line_search_attack`, Lowd and Meek 2005) on a
    pool of public HMDA-like applications (the held-out ones), its queries spread over as many
    free API keys as the rate limit makes it need (a new key on each 429, at most
    ``max_keys``). Measures the copy's agreement on the system's referrals.

    Introduced in lab 14 (Capstone).
    """
    from ..extraction.medical import line_search_attack

    check_system(system)
    max_keys = check_int(max_keys, "max_keys", 1)
    keys = [system.issue_key("sybil-0")]
    spent = {"queries": 0, "refused": 0}

    whole = [FEATURES.index(f) for f in INTEGER_FIELDS]

    def api(X):
        X = np.array(X, dtype=np.float64)
        X[:, whole] = np.round(X[:, whole])  # the API takes whole numbers there (else 422)
        while True:
            response = system.preapprove(X, keys[-1])
            if response.status_code == 429:
                spent["refused"] += 1
                if len(keys) >= max_keys:
                    raise RuntimeError("out of keys")
                keys.append(system.issue_key(f"sybil-{len(keys)}"))
                continue
            if response.status_code != 200:
                raise RuntimeError(f"the API refused: {response.status_code}")
            spent["queries"] += len(X)
            answer = response.json()
            p = (np.asarray(answer["decisions"]) == "referred").astype(np.float64)
            return np.column_stack([1 - p, p])

    # the labels mark the boundary P(deny) = REFER_AT: the copy refers where w . x + b >= 0
    result = line_search_attack(api, system.data.X_test, seed=check_seed(seed))
    shift = np.log(REFER_AT / (1 - REFER_AT))
    _, referred = copy_agreement(system, linear_refer(system.data.X_test, result.w,
                                                   result.b + shift))
    return AdaptiveResult("W1", "labels_and_rate_limit",
                          "line search from labels, spread over free keys", "referred_agreement",
                          referred, f"{result.queries} queries over {len(keys)} keys "
                                    f"({spent['refused']} requests refused with 429)",
                          {"keys": len(keys), "queries": int(result.queries),
                           "refused": spent["refused"]})


def adaptive_membership(system: CapstoneSystem, *, seed: int = 0,
                        n_shadows: int = 16) -> AdaptiveResult:
    """Against the regularised model: offline LiRA (Carlini et al., 2022; lab 05's
    :func:`~mlsec_helpers.privacy.lira_offline_score`), the strongest attack of lab 05. The
    attacker holds the public HMDA records (all 2,380 applications), trains ``n_shadows``
    scorecards of the same family (regularised, verified fields; without the parity step) on
    pairs of complementary random halves, and scores each application by how far the
    system's confidence on it lies above that of the shadows that never saw it. The system's
    confidences are read from the model (the auditor's view: the API gives labels only). AUC
    with its bootstrap interval.

    Introduced in lab 14 (Capstone).
    """
    from ..privacy import cross_entropy_losses, lira_offline_score

    check_system(system)
    n_shadows = check_int(n_shadows, "n_shadows", 4)
    if n_shadows % 2:
        raise ValueError(f"n_shadows must be even (pairs of complementary halves), got {n_shadows}")
    d = system.data
    X = np.vstack([d.X_train, d.X_test])
    y = np.concatenate([d.y_train, d.y_test])
    member = np.r_[np.ones(len(d.X_train)), np.zeros(len(d.X_test))].astype(np.int64)
    gen = np.random.default_rng(check_seed(seed))
    features = system.model.features
    losses = np.empty((n_shadows, len(X)))
    inside = np.zeros((n_shadows, len(X)), bool)
    for k in range(n_shadows):
        if k % 2 == 0:  # pairs of complementary halves: every record is OUT of half the shadows
            half = gen.permutation(len(X))[: len(X) // 2]
            inside[k, half] = True
        else:
            inside[k] = ~inside[k - 1]
        idx = np.flatnonzero(inside[k])
        shadow = CreditModel(features, C=system.model.C).fit(X[idx], y[idx])
        losses[k] = cross_entropy_losses(shadow.predict_proba(X), y)
    target = cross_entropy_losses(system.predict_proba(X), y)
    score = np.array([lira_offline_score(target[i], losses[~inside[:, i], i])
                      for i in range(len(X))])
    auc = auc_interval(member, score, seed=seed,
                       on=f"{int(member.sum())} training vs {int((1 - member).sum())} held-out "
                          "applications")
    return AdaptiveResult("W2", "regularised_model", f"offline LiRA with {n_shadows} shadow "
                          "scorecards", "auc", auc,
                          f"{n_shadows} shadow models on public records; needs the scores "
                          "(the API gives labels only)", {"shadows": n_shadows})


def adaptive_fairness(system: CapstoneSystem, *, seed: int = 0) -> AdaptiveResult:
    """Against the parity fix, the auditor who checks another definition: the equalised-odds
    gap (largest gap in true- or false-positive rate of referral, with the past decision as
    the truth; lab 07's :func:`~mlsec_helpers.fairness.disparity`) over all applications.
    Parity of referral rates can hide unequal errors.

    Introduced in lab 14 (Capstone).
    """
    from ..fairness import disparity

    check_system(system)
    X, y, g, where = audit_population(system, "all")
    d = disparity("equalized_odds", y, system.refer(X), g, seed=check_seed(seed), on=where)
    gap = Rate(d.value, d.low, d.high, d.n, f"equalised-odds gap over {len(y)} {where}")
    return AdaptiveResult("W3", "fairness_mitigation", "another fairness definition: "
                          "equalised odds", "equalized_odds_gap", gap,
                          "none: an audit, not an attack", {"disparity": d})


def adaptive_supply_chain(system: CapstoneSystem) -> AdaptiveResult:
    """Against the signed skops file, the attacker who can write the whole artefact store
    (model, manifest and signature, lab 11's adaptive trials through the service's loader):
    a trojaned file with a rewritten manifest and the publisher's signature; the same re-signed
    with the attacker's own key; re-signed with the key hint forged to the publisher's key
    (:func:`~mlsec_helpers.supplychain.integrity.forge_key_hint`); a call injected into the
    skops file, rewritten manifest, re-signed and forged; the weights edited (intercept moved),
    rewritten manifest, re-signed and forged. Measures the share the loader accepts.

    Introduced in lab 14 (Capstone).
    """
    import skops.io

    from ..supplychain import integrity, marker_payload, payload_ran
    from ..supplychain.nlp import inject_skops_call, trojan_joblib

    check_system(system)
    if not system.signed:
        raise ValueError("the system has no signature to attack: apply signed_safe_format")
    work = Path(tempfile.mkdtemp(prefix="adaptive-", dir=system.folder))
    rows = []
    try:
        attacker = integrity.make_key_pair(work / "attacker", name="attacker")
        cases = (("trojan, rewritten manifest, publisher's signature", "trojan", "keep"),
                 ("trojan, re-signed with own key", "trojan", "resign"),
                 ("trojan, re-signed, key hint forged", "trojan", "forge"),
                 ("call injected into skops, re-signed, forged", "inject", "forge"),
                 ("weights edited, re-signed, forged", "weights", "forge"))
        for i, (label, change, signature) in enumerate(cases):
            folder = work / f"copy{i}"
            shutil.copytree(system.model_dir, folder)
            marker = work / f"marker{i}.txt"
            target = folder / system.model_path.name
            target.unlink()
            if change == "trojan":
                trojan_joblib(system.model, marker_payload(marker), target)
            elif change == "inject":
                inject_skops_call(system.model_path, target, marker_payload(marker))
            else:
                model = skops.io.load(system.model_path,
                                      trusted=["mlsec_helpers.capstone.system.CreditModel"])
                model.linear_.intercept_ = model.linear_.intercept_ - 2.0
                skops.io.dump(model, target)
            manifest = work / f"copy{i}.manifest.json"
            integrity.write_manifest(folder, manifest)
            sig = system.signature_path
            if signature in ("resign", "forge"):
                sig = integrity.sign_model(folder, attacker, work / f"copy{i}.sig")
                if signature == "forge":
                    sig = integrity.forge_key_hint(sig, system.public_key,
                                                   work / f"copy{i}.forged.sig")
            try:
                system.load_model(folder, manifest=manifest, signature=sig)
                loaded, why = True, "loaded"
            except ModelRefused as err:
                loaded, why = False, str(err)[:90]
            rows.append({"copy": label, "loaded": loaded, "payload ran": payload_ran(marker),
                         "loader": why})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    trials = pd.DataFrame(rows)
    rate = proportion(trials["loaded"].to_numpy(dtype=np.int64),
                      on=f"{len(trials)} copies by an attacker who writes the whole store")
    return AdaptiveResult("W4", "signed_safe_format", "rewrite the manifest, re-sign, forge "
                          "the key hint", "tampered_loaded", rate,
                          "write access to the store and a key pair of one's own",
                          {"trials": trials, "payload_ran": int(trials["payload ran"].sum())})


def adaptive_gaming(system: CapstoneSystem, *, tolerance: float = TOLERANCE) -> AdaptiveResult:
    """Against the verified-fields model: the applicant who knows only verified fields count
    stretches them within what the documents allow (``tolerance``: income overstated, so
    ``pirat`` and ``hirat`` divided by ``1 + tolerance``; the property's value overstated, so
    ``lvrat`` divided by ``1 + tolerance``), alone or together, cheapest first. Share of the
    referred applicants (all applications) pre-approved.

    Introduced in lab 14 (Capstone).
    """
    from ..validate import check_fraction

    check_system(system)
    tolerance = check_fraction(tolerance, "tolerance", allow_zero=False)
    X, _, _, where = audit_population(system, "all")
    referred = X[system.refer(X) == 1]
    income = [FEATURES.index("pirat"), FEATURES.index("hirat")]
    value = [FEATURES.index("lvrat")]
    success = np.zeros(len(referred), bool)
    for cols in (income, value, income + value):
        tries = referred.copy()
        tries[:, cols] = tries[:, cols] / (1 + tolerance)
        success |= system.refer(tries) == 0
    rate = proportion(int(success.sum()), max(len(referred), 1),
                      on=f"{len(referred)} referred {where}")
    return AdaptiveResult("W5", "verified_features", f"stretch verified ratios by "
                          f"{tolerance:.0%} (income, property value)", "gaming_success", rate,
                          "a misstatement the documents can still contradict",
                          {"tolerance": tolerance})


def adaptive_explanations(system: CapstoneSystem, *, keys: int = 10, decision_keys: int = 3,
                          seed: int = 0) -> AdaptiveResult:
    """Against coarse explanations with a budget: ``decision_keys`` free keys' day of
    decisions (100 public applications each: the held-out ones, shuffled) find referred
    applicants and the share referred; ``keys`` more keys each spend their
    :data:`~.system.EXPLANATION_BUDGET` explanations on those referred applicants. The copy
    weighs each field by how often, and how high, it is named as a reason, in the direction the
    applicant differs from the average, scaled by the field's spread; its intercept makes it
    refer the share the decisions showed. Measures the copy's agreement on the system's
    referrals (the same metric as W6).

    Introduced in lab 14 (Capstone).
    """
    from .system import QUERY_BUDGET

    check_system(system)
    keys = check_int(keys, "keys", 1)
    decision_keys = check_int(decision_keys, "decision_keys", 1)
    X = system.data.X_test
    gen = np.random.default_rng(check_seed(seed))
    mean, std = X.mean(axis=0), X.std(axis=0) + 1e-12
    field_of = {text: FEATURES.index(f) for f, text in REASONS.items()}
    order = gen.permutation(len(X))[:decision_keys * QUERY_BUDGET]
    decided = []
    for i in range(decision_keys):
        chunk = order[i * QUERY_BUDGET:(i + 1) * QUERY_BUDGET]
        if not len(chunk):
            break
        response = system.preapprove(X[chunk], system.issue_key(f"reasons-decisions-{i}"))
        if response.status_code == 200:
            decided.append((chunk, np.asarray(response.json()["decisions"]) == "referred"))
    labelled = np.concatenate([c for c, _ in decided]) if decided else np.zeros(0, int)
    referred_flags = np.concatenate([r for _, r in decided]) if decided else np.zeros(0, bool)
    targets = list(labelled[referred_flags])
    points = np.zeros(len(FEATURES))
    asked = with_reasons = 0
    for i in range(keys):
        key = system.issue_key(f"reasons-{i}")
        for _ in range(EXPLANATION_BUDGET):
            if not targets:
                break
            x = X[targets.pop(0)]
            response = system.explain(x, key)
            asked += 1
            if response.status_code != 200:
                continue
            reasons = response.json().get("reasons", [])
            with_reasons += bool(reasons)
            for rank, text in enumerate(reasons):
                j = field_of[text]
                points[j] += (3 - rank) * np.sign(x[j] - mean[j])
    w = points / std
    share = float(referred_flags.mean()) if len(referred_flags) else 0.0
    score = X @ w
    cut = np.quantile(score, 1 - share) if share > 0 else np.inf
    copy_refer = (score >= cut).astype(np.int64)
    _, referred = copy_agreement(system, copy_refer)
    # control experiment: the same decisions without any reason (a logistic copy of them)
    control = float("nan")
    if 0 < referred_flags.sum() < len(referred_flags):
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(max_iter=2000).fit((X[labelled] - mean) / std, referred_flags)
        _, plain = copy_agreement(system, lr.predict((X - mean) / std).astype(np.int64))
        control = plain.value
    return AdaptiveResult("W6", "coarse_explanations", f"reasons from {keys} keys' budgets "
                          "turned into weights", "explained_referred_agreement", referred,
                          f"{asked} explanations over {keys} keys ({with_reasons} with "
                          f"reasons) and {len(labelled)} decisions over {decision_keys} keys; "
                          f"a copy of the decisions alone agrees on {control:.3f}",
                          {"keys": keys + decision_keys, "explanations": asked,
                           "decisions_only": control, "decisions": int(len(labelled))})


def adaptive_attacks(system: CapstoneSystem, *, seed: int = 0) -> tuple[AdaptiveResult, ...]:
    """Every adaptive attacker whose control ``system`` has, in weakness order. The clock moves
    on a day before each (fresh rate-limit buckets).

    Introduced in lab 14 (Capstone).
    """
    check_system(system)
    seed = check_seed(seed)
    runs = (("labels_and_rate_limit", lambda: adaptive_extraction(system, seed=seed)),
            ("regularised_model", lambda: adaptive_membership(system, seed=seed)),
            ("fairness_mitigation", lambda: adaptive_fairness(system, seed=seed)),
            ("signed_safe_format", lambda: adaptive_supply_chain(system)),
            ("verified_features", lambda: adaptive_gaming(system)),
            ("coarse_explanations", lambda: adaptive_explanations(system, seed=seed)))
    out = []
    for control, run in runs:
        if control in system.controls:
            system.clock.advance(86_400)
            out.append(run())
    return tuple(out)


def adaptive_table(results: Sequence[AdaptiveResult]) -> pd.DataFrame:
    """The adaptive attackers as a table: weakness, control, attack, metric, result (value with
    interval), what it cost the attacker.

    Introduced in lab 14 (Capstone).
    """
    if isinstance(results, AdaptiveResult) or not all(isinstance(r, AdaptiveResult)
                                                      for r in results):
        raise ArgumentTypeError("results must be a sequence of AdaptiveResult "
                                "(adaptive_attacks)")
    return pd.DataFrame([{"weakness": r.weakness, "control": r.control, "adaptive attack":
                          r.attack, "metric": r.metric, "result": format_rate(r.value),
                          "value": r.value.value, "low": r.value.low, "high": r.value.high,
                          "threshold": FINDING_RULES[r.weakness][1]
                          if r.metric == FINDING_RULES[r.weakness][0] else np.nan,
                          "attacker's cost": r.cost} for r in results])


# --- what it costs ------------------------------------------------------------------------------


def quality_cost(before: CapstoneSystem, after: CapstoneSystem, *, seed: int = 0) -> QualityCost:
    """What the controls cost honest applicants and the lender, on the held-out applications:
    accuracy (the decision matches the past decision: referred = denied), pre-approval rate,
    and the share of past denials the system refers, each with its Wilson interval, before and
    after; the changes with a paired bootstrap interval (the same applications).

    Introduced in lab 14 (Capstone).
    """
    for s in (before, after):
        check_system(s)
    if before.seed != after.seed:
        raise ValueError("before and after must share their seed (the same held-out data)")
    X, y = before.data.X_test, before.data.y_test
    rb, ra = before.refer(X), after.refer(X)
    on = f"{len(y)} held-out applications"
    denied = f"{int(y.sum())} held-out applications denied in the past"
    seed = check_seed(seed)
    return QualityCost(
        accuracy_before=proportion((rb == y).astype(np.int64), on=on),
        accuracy_after=proportion((ra == y).astype(np.int64), on=on),
        approval_before=proportion(1 - rb, on=on),
        approval_after=proportion(1 - ra, on=on),
        accuracy_change=mean_interval((ra == y).astype(float) - (rb == y).astype(float),
                                      on=on + " (paired)", seed=seed),
        approval_change=mean_interval(rb.astype(float) - ra.astype(float),
                                      on=on + " (paired)", seed=seed),
        denials_before=proportion(rb[y == 1], on=denied),
        denials_after=proportion(ra[y == 1], on=denied),
        denials_change=mean_interval(ra[y == 1].astype(float) - rb[y == 1].astype(float),
                                     on=denied + " (paired)", seed=seed))


# --- everything ---------------------------------------------------------------------------------


def run_blue_team(system: CapstoneSystem, findings: pd.DataFrame,
                  before: Mapping[str, AttackResult], *, budget: int = BUDGET,
                  method: str = "exact", seed: int = 0) -> BlueTeamReport:
    """The blue team in one call: :func:`risk_register` from ``findings``,
    :func:`choose_controls` within ``budget``, :func:`~.system.harden`, the red team's attacks
    re-run on the hardened system (:func:`~.redteam.run_attacks`), :func:`retest_table` against
    ``before`` (the red team's results on ``system``), :func:`adaptive_attacks` and
    :func:`quality_cost`. The hardened system is in the report: close it when done.

    Introduced in lab 14 (Capstone).
    """
    check_system(system)
    model, _ = risk_register(findings)
    chosen = choose_controls(model, budget, method=method)
    if not chosen:
        raise ValueError(f"no control fits a budget of {budget} person-weeks")
    model = model.with_applied([CONTROL_IDS[k] for k in chosen])
    register = model.register()
    hardened = harden(system, chosen)
    try:
        after = run_attacks(hardened, seed=seed)
        retest = retest_table(before, after, chosen)
        adaptive = adaptive_attacks(hardened, seed=seed)
        quality = quality_cost(system, hardened, seed=seed)
    except BaseException:
        hardened.close()
        raise
    return BlueTeamReport(model, register, budget, chosen, hardened, after, retest, adaptive,
                          quality)

