# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 14 · Capstone: audit a system you have never seen
#
# A lender asks your team to audit its new credit pre-approval assistant before it goes live.
# It decides, in seconds, whether a mortgage application is pre-approved or referred to an
# underwriter; applicants and brokers reach it through an API that also explains its
# decisions. You have not seen it in any earlier lab. Your team plays both sides: the **red
# team** derives a pen-test plan from a threat model and runs the course's attacks against the
# system, collecting evidence; the **blue team** chooses controls under a budget from the risk
# register, applies them and re-tests; then you write what a regulator and the lender's board
# need (lineage, model card, datasheet, the mapping of controls to frameworks and legal duties)
# and grade the system with a **security report card** that the helper package computes for
# any model: the five reference systems, this one, and your own.
#
# **Learning objectives.** After this lab you can
# 1. derive a red-team plan from a threat model that covers every threat of the course, run it
#    with measured evidence, and find a weakness no earlier lab showed by asking, for every
#    endpoint, what its answer reveals;
# 2. choose controls under a budget from a risk register, apply them, and show by re-testing,
#    with an attacker who knows them, what they closed and what they cost;
# 3. document a system for governance: data lineage, a model card, a datasheet, and the mapping
#    of controls to NIST CSF, SAIF, MITRE ATLAS, the OWASP ML Top 10, GDPR and the EU AI Act;
# 4. grade any model's security with measured numbers and intervals, and read a grade's
#    uncertainty before acting on it.
#
# **Prerequisites:** labs 00-13. **Estimated time:** about 155 minutes of reading, exercises
# and questions (estimated from the notebook; the notebook itself runs in under a minute).
#
# **Grading.** The exercises are autograded (nbgrader's solution regions and hidden test
# cells); the audit report at the end is graded by hand with the rubric given there. The lab
# writes only inside temporary folders it removes at the end.


# %%
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown, display

from mlsec_helpers import (
    capstone,
    catalogue,
    claims,
    explain,
    frameworks,
    plots,
    registry,
    repro,
    stats,
    threatmodel,
)
from mlsec_helpers.checks import lab14
from mlsec_helpers.exercises import check, grade

info = repro.setup(seed=0)  # seeds python, numpy and torch; caps threads; picks the device
seed = info["seed"]
print(info)
display(Markdown(frameworks.lab_header_markdown(14)))
SUMMARY = {}  # one row per audited system (the capstone and the five), for the summary at the end


# %% [markdown]
# ## The audit in one picture
#
# The red team starts from the threat model and tries every threat the course has taught,
# through every way into the system (the API's endpoints, the model file, the training data);
# each finding carries its evidence. The blue team ranks the findings by risk, buys controls
# within a budget and asks the red team to attack again, this time knowing the controls. The
# report card turns both runs into grades; governance turns the controls into duties met.


# %%
capstone.audit_diagram()


# %% [markdown]
# ## 1 · The system and its threat model
#
# The sixth system is new: a **credit pre-approval assistant**. A lender trained a model on
# the Boston HMDA mortgage applications of lab 07 (target: the application was denied; race is
# recorded but is not an input). Brokers and applicants send an application to an API and get
# back *pre-approved* or *referred* (to an underwriter); a referred applicant can ask the API
# why. The model ships to the service as a file.
#
# The system was built by a team that had not taken this course. Your job, in the next two
# sections, is the audit: find what is wrong (red team), then fix it within a budget and prove
# the fix (blue team). This section describes the system and writes its threat model, as
# lab 01 taught, before any attack is run.

# %%
sys_t0 = time.perf_counter()
sys_system = capstone.capstone_system(seed)
print(sys_system)
print(f"built in {time.perf_counter() - sys_t0:.1f} s; artefact folder: {sys_system.folder}")

# %% [markdown]
# ### What the system is made of
#
# Three parts, each an entry point for someone:
#
# * **the model**, a logistic *scorecard* over the twelve fields of an application, plus a
#   *case memory*: a kernel term fitted so that every past applicant of the training data gets
#   back exactly the lender's past decision (the team wanted the model to "agree with the
#   underwriters");
# * **the API**, with API keys (free to any broker or applicant), two routes and an audit log;
# * **the artefact**, the model file the service loads at start-up.
#
# The application's fields, and whether the lender checks them against a document:

# %%
sys_fields = pd.DataFrame({
    "field": list(capstone.FEATURES),
    "meaning": [
        "payments to income", "housing expense to income", "loan to value",
        "consumer credit history (1 best - 6)", "mortgage credit history (1 best - 4)",
        "public record of bad credit", "unemployment rate of the applicant's industry",
        "self-employed", "denied mortgage insurance", "condominium", "single",
        "high-school diploma"],
    "checked by the lender": ["declared only" if f in capstone.DECLARED_FEATURES
                              else "verified" for f in capstone.FEATURES],
    "principal reason text": [capstone.REASONS[f] for f in capstone.FEATURES]})
plots.table(sys_fields, caption=f"The {len(sys_fields)} fields of an application "
            f"({len(capstone.DECLARED_FEATURES)} declared without proof)")

# %% [markdown]
# The policy: an application whose predicted probability of denial is at least the threshold
# below is referred to an underwriter; the rest are pre-approved.

# %%
sys_X, sys_y = sys_system.data.X_test, sys_system.data.y_test
sys_refer = sys_system.refer(sys_X)
sys_accuracy = stats.proportion((sys_refer == sys_y).astype(int),
                                on=f"{len(sys_y)} held-out applications")
sys_referred = stats.proportion(sys_refer, on=f"{len(sys_y)} held-out applications")
display(Markdown(
    f"Referral threshold: P(deny) >= **{capstone.REFER_AT}**. On the held-out applications the "
    f"system refers {sys_referred:.3f} of them, and its decision matches the lender's past "
    f"decision (referred = denied) for {sys_accuracy:.3f}. Training applications: "
    f"{len(sys_system.data.y_train)}; held-out: {len(sys_y)}."))
claims.claim("the weak system's decisions match past decisions on held-out applications "
             "(lower end)", sys_accuracy.low, at_least=0.8)

# %% [markdown]
# ### The API, called as a broker would
#
# The routes, and one request to each: a batch of three held-out applications to
# `/v1/preapprove`, and one referred application to `/v1/explain`.

# %%
sys_routes = pd.DataFrame([{"method": ", ".join(sorted(r.methods - {"HEAD"})), "path": r.path,
                            "what it does": r.summary or ""}
                           for r in sys_system.app.routes
                           if getattr(r, "path", "").startswith(capstone.API_PREFIX)])
display(plots.table(sys_routes, caption="The routes of the pre-approval API"))
sys_answer = sys_system.preapprove(sys_X[:3]).json()
sys_example = sys_X[sys_refer == 1][0]
sys_explained = sys_system.explain(sys_example).json()
print("POST /v1/preapprove ->", sys_answer)
print("POST /v1/explain    ->", {k: (v if not isinstance(v, dict) else
                                     {f: round(x, 3) for f, x in v.items()})
                                 for k, v in sys_explained.items()})
claims.claim("the weak API returns raw probabilities to an ordinary key",
             float("p_deny" in sys_answer), at_least=1)

# %% [markdown]
# ### The artefact
#
# What the service loads at start-up, and whether anything proves the file is the one the
# team trained:

# %%
sys_files = pd.DataFrame([{"file": str(p.relative_to(sys_system.folder)),
                           "bytes": p.stat().st_size}
                          for p in sorted(sys_system.folder.rglob("*")) if p.is_file()])
display(plots.table(sys_files, caption="The artefact folder of the weak system"))
print(f"signature or manifest present: {sys_system.signed}")
claims.claim("the weak system ships its model as one joblib file with no signature",
             float(sys_system.model_path.suffix == ".joblib" and not sys_system.signed),
             at_least=1)

# %% [markdown]
# ### The threat model
#
# Lab 01's method: the data-flow diagram with its trust boundaries and entry points (E1-E6),
# the assets, the actors and one threat per way in. The controls the blue team could buy
# (section 3) are already in the model, with their costs, none applied. Hover over an entry
# point to see its threats.

# %%
sys_model = capstone.capstone_threat_model()
threatmodel.dataflow_figure(sys_model, title="The credit pre-approval assistant: data flow, "
                            "trust boundaries and entry points")

# %%
display(plots.table(sys_model.threat_table(), caption=f"The {len(sys_model.threats)} threats "
                    "of the capstone system (prior scores, before any test)"))
sys_gaps = threatmodel.gaps(sys_model)
sys_categories = {t.category for t in sys_model.threats}
print(f"categories covered: {len(sys_categories)} of 8; completeness gaps: "
      f"{threatmodel.describe_gaps(sys_gaps, sys_model) if sys_gaps else 'none'}")
claims.claim("the threat model covers every threat category of the course",
             len(sys_categories), at_least=8)

# %% [markdown]
# ### The risk register, before testing
#
# Likelihood x impact as the team judged them, before any attack. Section 2 replaces the
# judgement by measurements: a threat whose attack succeeds moves up one step of likelihood.

# %%
sys_register = sys_model.register()
display(plots.table(sys_register[["id", "threat", "category", "likelihood", "impact",
                                  "inherent", "inherent band", "controls"]],
                    caption="Prior risk register of the capstone system"))
threatmodel.risk_matrix_figure(sys_register, title="Prior risks (likelihood x impact)")

# %%
display(Markdown(
    f"**What changed and why.** Nothing yet: the system is described and its "
    f"{len(sys_model.threats)} threats written down, across all "
    f"{len(sys_categories)} categories of the course, with their prior risk "
    f"(highest: {sys_register.loc[0, 'id']}, score {sys_register.loc[0, 'inherent']}). "
    f"Section 2 tests each threat; section 3 buys controls. Section time "
    f"{time.perf_counter() - sys_t0:.1f} s."))


# %% [markdown]
# ## 2 · Red team: the pen-test plan, run
#
# A pen test that starts from a list of favourite attacks finds what its authors already know.
# This one starts from the threat model: every threat gets a row, an attack, the helper of the
# course that runs it, the evidence it must produce and the rule that makes the evidence a
# finding. One more rule leads the plan, because no earlier lab needed it:
#
# > **For every endpoint, ask what its answer reveals.**
#
# An endpoint is an output channel. Listing the fields of each answer and asking which asset
# each exposes is how an auditor finds a leak that no attack catalogue lists.

# %%
red_t0 = time.perf_counter()
red_plan = capstone.pentest_plan(sys_model)
display(plots.table(red_plan, caption=f"The pen-test plan: {len(red_plan) - 1} threats of the "
                    "threat model, led by the endpoint rule"))
claims.claim("the plan has an attack for every threat of the threat model",
             int(red_plan["threat"].isin([t.id for t in sys_model.threats]).sum()),
             at_least=len(sys_model.threats))

# %% [markdown]
# ### The endpoint rule, run
#
# Each route is called as a broker with a key would call it, and each field of its answer is
# listed with what it can reveal. The last column checks the API's hygiene on the way: a
# request without a key and a malformed body.

# %%
red_review = capstone.endpoint_review(sys_system)
display(plots.table(red_review, caption="What each answer of the weak API reveals"))
red_explain_fields = set(red_review.loc[red_review["endpoint"].str.endswith("/explain"),
                                        "answer field"])
claims.claim("the endpoint review flags the explain endpoint's contributions and "
             "counterfactual", float({"contributions", "counterfactual"} <= red_explain_fields),
             at_least=1)

# %% [markdown]
# Two answers stand out. `p_deny` is the exact score, which labs 04 and 05 exploited. The
# explain endpoint is new: its `contributions` are `w_j (x_j - mean_j)` for every field (the
# exact SHAP values of a linear scorecard), and its `counterfactual` is a whole application.
# The rule turns each into a hypothesis to test: *two explanations give every weight away*
# (Milli et al., 2019), and *the counterfactual is a real applicant* (Aivodji et al., 2020).
#
# ### The attacks
#
# Every attack of the plan, each through the API where an outsider would be (the clock moves
# a day between them). One call runs them all; the cells below show each one's evidence.

# %%
red_results = capstone.run_attacks(sys_system, seed=seed)
print(f"attacks run in {time.perf_counter() - red_t0:.1f} s (section so far)")

# %% [markdown]
# **W1 · Theft through the probabilities (lab 04).** The thief sends 25 made-up but valid
# applications; each answer's log-odds is one linear equation in the scorecard's 13 numbers.
# The copy is judged on the held-out applications the system refers: a copy that pre-approves
# everyone would score 0 there.

# %%
red_theft = red_results["W1"].detail
display(Markdown(
    f"Queries: **{red_theft.queries}**. The copy agrees with the system on "
    f"{red_theft.refused_agreement} and on {red_theft.fidelity} overall."))
claims.claim("W1 found: a 25-query copy agrees with the system on its referrals (lower end)",
             red_theft.refused_agreement.low, at_least=0.5)

# %% [markdown]
# Not every referral is matched. A hypothesis: the case memory adds to the scorecard near past
# applicants, which a linear copy cannot see (W6 below rebuilds the scorecard exactly and
# matches the same share, which supports it). The finding rule asks for half the referrals,
# not all.
#
# **W2 · Membership (lab 05).** The attacker knows a person's application and past decision
# (a broker who filed it) and asks the API. Members: the 1,785 training applications;
# non-members: the 595 held-out ones.

# %%
red_mia = red_results["W2"].detail
display(Markdown(f"Loss-threshold AUC: **{red_mia['auc']}**; TPR at 1% FPR: "
                 f"{red_mia['tpr']:.3f}."))
claims.claim("W2 found: the loss-threshold attack separates members (AUC, lower end)",
             red_mia["auc"].low, at_least=0.6)

# %% [markdown]
# The case memory gives every training applicant a loss of about `log(1 + e^-6)`; a held-out
# applicant gets the scorecard's loss, usually larger. The TPR at 1% FPR stays low; our
# hypothesis is that the scorecard alone is even more confident on the easiest held-out
# applicants, so the lowest losses are not members': the leak is broad, not a few exposed
# records.
#
# **W3 · Bias (lab 07).** The referral-rate gap between black and other applicants, over all
# 2,380 applications the lender holds (339 black applicants), and on the held-out ones alone.

# %%
red_bias = red_results["W3"].detail
red_bias_test = capstone.bias_audit(sys_system, on="held-out", seed=seed)
display(plots.table(pd.DataFrame([
    {"applications": where, "referred, black": f"{b['rates']['black']:.3f}",
     "referred, not black": f"{b['rates']['not black']:.3f}", "gap": f"{b['gap']:.3f}",
     "adverse-impact ratio": b["impact_ratio"]}
    for where, b in (("all", red_bias), ("held-out", red_bias_test))]),
    caption="Referral rates by race (Wilson) and their gap (bootstrap)"))
claims.claim("W3 found: black applicants are referred more often (gap over all applications, "
             "lower end)", red_bias["gap"].low, at_least=0.10)

# %% [markdown]
# **W4 · Supply chain (lab 11).** An attacker who can write to the artefact store replaces
# `model.joblib` with a trojaned copy: the working model plus a benign payload that writes a
# marker file, in ten variants (two placements, five compressions).

# %%
red_chain = red_results["W4"].detail
display(plots.table(red_chain["trials"], caption="Tampered copies offered to the weak "
                    "service's loader"))
claims.claim("W4 found: every tampered copy loads and runs its payload (share, lower end)",
             red_chain["payload_ran"].low, at_least=0.5)

# %% [markdown]
# **W5 · Gaming (lab 02).** A referred applicant changes only what they declare without
# proof (their industry, self-employment, marital status, diploma), trying the fewest changes
# first.

# %%
red_gaming = red_results["W5"].detail
display(Markdown(
    f"Pre-approved after the change: **{red_gaming.success}**, changing "
    f"{red_gaming.mean_changed:.1f} fields on average ({red_gaming.queries} tries). "
    f"Examples: {'; '.join(str(e) for e in red_gaming.examples)}."))
claims.claim("W5 found: declared-field changes pre-approve referred applicants (lower end)",
             red_gaming.success.low, at_least=0.1)

# %% [markdown]
# **W6 · Explanations (new).** Two explanations of the attacker's own made-up applications,
# differing in every field: the difference of the contributions, divided by the difference
# of the fields, is each weight; one probability gives the intercept. Then twenty
# explanations about referred applicants: is each counterfactual a row of the training data?

# %%
red_expl = red_results["W6"].detail
red_w_true, _ = sys_system.model.scorecard()
display(plots.table(pd.DataFrame({"field": list(capstone.FEATURES), "true weight": red_w_true,
                                  "rebuilt from 2 explanations": red_expl.weights}),
                    precision=4, caption="The scorecard's weights, and the ones rebuilt from "
                    "two answers of /v1/explain"))
display(Markdown(
    f"Explanations used: **{red_expl.queries}** (numbers returned: "
    f"{red_expl.numbers_returned}); weight error {red_expl.weight_error:.1e}; the rebuilt "
    f"scorecard agrees with the system on {red_expl.refused_agreement}. Counterfactuals that "
    f"are, exactly, training applicants: {red_expl.counterfactuals_in_training}."))
claims.claim("W6 found: the scorecard rebuilt from 2 explanations agrees on the referrals "
             "(lower end)", red_expl.refused_agreement.low, at_least=0.5)
claims.claim("W6 found: the counterfactuals are real training applicants (share, lower end)",
             red_expl.counterfactuals_in_training.low, at_least=0.5)

# %% [markdown]
# Two queries against the 25 of W1's equation solving, and exact weights rather than a least-
# squares fit: each explanation is twelve equations, not one. The rebuilt copy agrees exactly
# as well as W1's: both recover the scorecard, neither sees the case memory. The leak needs no
# attack at all: the endpoint hands over a training applicant with every answer.
#
# ### The findings
#
# One row per planted weakness; the severity is lab 01's risk band of the threat, its
# likelihood raised one step where the attack succeeded.

# %%
FINDINGS = capstone.findings_table(red_results, sys_model)
display(plots.table(FINDINGS[["weakness", "threat", "how found", "evidence", "severity"]],
                    caption="FINDINGS: the red team's findings on the weak system"))
claims.claim("every planted weakness W1-W6 is found", int(FINDINGS["found"].sum()),
             at_least=6)

# %%
display(Markdown(
    f"**What changed and why.** The plan turned {len(sys_model.threats)} threats into attacks; "
    f"{int(FINDINGS['found'].sum())} of the 6 planted weaknesses were found with evidence, "
    f"{int((FINDINGS['severity'] == 'critical').sum())} of them critical. The one no earlier "
    "lab showed (W6) was found by asking what each answer reveals, not by a known attack. "
    "The poisoning threat (CAP-T8) was reviewed on paper: retraining is not part of the "
    f"deployed system. Section time {time.perf_counter() - red_t0:.1f} s."))


# %% [markdown]
# ## 3 · Blue team: controls under a budget, applied, re-tested
#
# The blue team cannot buy everything. It scores the risks with the red team's evidence,
# chooses the controls that cut the most risk within its budget, applies them, and then does
# what a fix is worth nothing without: **runs the same attacks again**, and then attacks that
# know the fix. Last, it says what the fix costs the people the system serves.

# %%
blue_t0 = time.perf_counter()
blue_model, blue_register = capstone.risk_register(FINDINGS, sys_model)
display(plots.table(blue_register[["id", "weakness", "threat", "likelihood", "impact",
                                   "inherent", "inherent band", "controls", "evidence"]],
                    caption="Risk register scored with the findings (likelihood x impact)"))
threatmodel.risk_matrix_figure(blue_register, title="Risks after the red team's evidence")

# %% [markdown]
# ### The controls on offer
#
# Each control comes from a lab of the course, costs person-weeks, and takes rubric steps off
# the likelihood (or impact) of the threats it treats. Two are process controls: they treat
# threats outside the planted six and change no code here.

# %%
display(plots.table(capstone.controls_table(), caption=f"The {len(capstone.CONTROLS)} "
                    f"controls; budget: {capstone.BUDGET} person-weeks"))

# %% [markdown]
# ### The choice under a budget
#
# Which subset of controls, within the budget, leaves the least total residual risk? With
# eight controls there are 256 subsets: few enough to try them all (lab 01's
# `optimal_controls`). A greedy choice (best risk reduction per person-week first) is the
# usual shortcut; both are shown.

# %% [markdown]
# ### Exercise 1 · Buy the controls that remove the most risk
#
# Write `buy_controls(controls, budget)`. `controls` is a list of dicts with `"name"`,
# `"cost"` (> 0) and `"reduction"` (the risk the control removes from the register; reductions
# add up). Return the names, sorted, of the subset with the largest total reduction whose total
# cost does not exceed `budget` (spending exactly the budget is allowed); among subsets with the
# same reduction, the cheapest; among those, the one whose sorted names come first. A control
# that removes no risk is never bought. A negative budget, a cost that is not positive, or two
# controls with the same name are bad input: raise `ValueError`.
#
# With a dozen controls you can afford to try every subset (`itertools.combinations`); the
# obvious shortcuts (best ratio first, biggest first, cheapest first) can leave risk on the
# table.


# %%
def buy_controls(controls, budget):
    ### BEGIN SOLUTION
    import itertools

    if budget < 0 or any(c["cost"] <= 0 for c in controls):
        raise ValueError("the budget must be >= 0 and every cost > 0")
    if len({c["name"] for c in controls}) != len(controls):
        raise ValueError("control names must be unique")
    useful = [c for c in controls if c["reduction"] > 0]
    best_key, best = None, []
    for size in range(len(useful) + 1):
        for subset in itertools.combinations(useful, size):
            cost = sum(c["cost"] for c in subset)
            if cost > budget + 1e-12:
                continue
            names = sorted(c["name"] for c in subset)
            key = (-round(sum(c["reduction"] for c in subset), 9), round(cost, 9), names)
            if best_key is None or key < best_key:
                best_key, best = key, names
    return best
    ### END SOLUTION


# %%
### POINTS: 2
buy_controls = check(lab14.CHOOSE_CONTROLS, buy_controls)
### BEGIN HIDDEN TESTS
grade(lab14.CHOOSE_CONTROLS, buy_controls)
### END HIDDEN TESTS


# %%
ex1_total = int(blue_register["inherent"].sum())
ex1_offer = [{"name": k, "cost": capstone.CONTROLS[k].cost,
              "reduction": ex1_total - int(blue_model.with_applied(
                  [capstone.CONTROL_IDS[k]]).register()["residual"].sum())}
             for k in capstone.CONTROLS]
display(plots.table(pd.DataFrame(ex1_offer), caption="Each control's risk reduction on its own "
                    "(total inherent risk minus the residual with that control alone)"))
print(f"your choice within {capstone.BUDGET} person-weeks, adding the reductions up: "
      f"{', '.join(buy_controls(ex1_offer, capstone.BUDGET))}")

# %%
blue_controls = capstone.choose_controls(blue_model, capstone.BUDGET)
blue_greedy = capstone.choose_controls(blue_model, capstone.BUDGET, method="greedy")
blue_budgets = pd.DataFrame([
    {"budget (person-weeks)": b,
     "exact choice": ", ".join(capstone.choose_controls(blue_model, b)),
     "greedy choice": ", ".join(capstone.choose_controls(blue_model, b, method="greedy")),
     "residual risk (exact)": int(blue_model.with_applied(
         [capstone.CONTROL_IDS[k] for k in capstone.choose_controls(blue_model, b)])
         .register()["residual"].sum())}
    for b in (4, 6, 8, capstone.BUDGET, 12, 15)])
display(plots.table(blue_budgets, caption="The choice at several budgets (total residual risk "
                    f"with no control: {int(blue_register['inherent'].sum())})"))
display(Markdown(f"Chosen within {capstone.BUDGET} person-weeks: **"
                 f"{', '.join(blue_controls)}** (cost "
                 f"{sum(capstone.CONTROLS[k].cost for k in blue_controls)}); greedy agrees: "
                 f"{set(blue_greedy) == set(blue_controls)}."))
claims.claim("the chosen controls fit the budget",
             sum(capstone.CONTROLS[k].cost for k in blue_controls),
             at_most=capstone.BUDGET)
claims.claim("the chosen controls treat every planted weakness",
             len({w for k in blue_controls for w in capstone.CONTROLS[k].treats}), at_least=6)

# %% [markdown]
# At this budget the six controls that treat the measured weaknesses win; the process
# controls come in only when the budget grows. A smaller budget drops the control with the
# least risk reduction per person-week first.
#
# ### Applied
#
# `harden` builds a new system from the same data with the chosen controls: a regularised,
# parity-trained scorecard on the verified fields only, no case memory; an API that answers
# labels only, with a per-key rate limit, and explains with principal reasons and a budget;
# a skops file, signed, that the service verifies before it loads.

# %%
blue_system = capstone.harden(sys_system, blue_controls)
print(blue_system)
blue_answer = blue_system.preapprove(sys_X[:3]).json()
blue_explained = blue_system.explain(sys_example).json()
print("POST /v1/preapprove ->", blue_answer)
print("POST /v1/explain    ->", blue_explained)
display(plots.table(pd.DataFrame([{"file": str(p.relative_to(blue_system.folder)),
                                   "bytes": p.stat().st_size}
                                  for p in sorted(blue_system.folder.rglob("*"))
                                  if p.is_file()]),
                    caption="The artefact folder of the hardened system"))

# %% [markdown]
# ### The re-test: the same attacks
#
# Every attack of section 2 again, unchanged, against the hardened system. A weakness is
# closed when the re-test's whole interval lies below the finding rule's threshold (its upper
# end below it), the pessimistic reading.

# %%
blue_after = capstone.run_attacks(blue_system, seed=seed)
RETEST = capstone.retest_table(red_results, blue_after, blue_controls)
blue_findings = capstone.findings_table(blue_after, sys_model)
display(plots.table(RETEST[["weakness", "control", "metric", "threshold", "before", "after",
                            "closed"]], caption="RETEST: each weakness before and after, the "
                    "same attack"))
for blue_row in RETEST.itertuples():
    claims.claim(f"{blue_row.weakness} closed: the re-test's upper end is below the "
                 f"threshold {blue_row.threshold}", blue_row.after_high,
                 at_most=0.9 * blue_row.threshold)
claims.claim("every planted weakness is closed by the re-test", int(RETEST["closed"].sum()),
             at_least=6)

# %%
blue_scale = RETEST["threshold"]
blue_fig = plots.before_after_bars(
    RETEST["weakness"], RETEST["before_value"] / blue_scale, RETEST["after_value"] / blue_scale,
    before_name="weak system", after_name="hardened system",
    title="Each weakness's metric over its finding threshold (dashed line), with its interval",
    yaxis_title="metric / threshold")
for blue_trace, blue_when in zip(blue_fig.data, ("before", "after"), strict=True):
    blue_trace.error_y = dict(
        type="data", symmetric=False,
        array=(RETEST[f"{blue_when}_high"] - RETEST[f"{blue_when}_value"]) / blue_scale,
        arrayminus=(RETEST[f"{blue_when}_value"] - RETEST[f"{blue_when}_low"]) / blue_scale)
    blue_trace.textposition = "none"
blue_fig.add_hline(y=1, line_dash="dash", line_color=plots.COLORS["neutral"])
blue_fig

# %% [markdown]
# Read each closure for what it is. W1 and W6 fail because the answers no longer carry the
# numbers the attacks solve for; W2 because the regularised scorecard has no memory of its
# training applicants; W3 because the referral rates were equalised in training; W4 because
# the loader refuses any file that does not match the signed manifest; W5 because the model no
# longer reads the declared fields. None of this says the system is safe against an attacker
# who knows the controls. That is the next test.
#
# ### The adaptive attacker
#
# One attacker per control, who knows it and works around it.

# %%
blue_adaptive = capstone.adaptive_attacks(blue_system, seed=seed)
blue_adaptive_table = capstone.adaptive_table(blue_adaptive)
display(plots.table(blue_adaptive_table[["weakness", "control", "adaptive attack", "result",
                                         "attacker's cost"]],
                    caption="Adaptive attackers against each control"))
blue_adapt = {r.weakness: r for r in blue_adaptive}
blue_weak_eo = capstone.adaptive_fairness(sys_system, seed=seed).value
print(f"equalised-odds gap of the weak system, for comparison: {blue_weak_eo}")

# %%
claims.claim("W1 adaptive: the rate limit forces the label thief onto several keys",
             blue_adapt["W1"].detail["keys"], at_least=2)
claims.claim("W2 adaptive: offline LiRA still cannot separate members (AUC, upper end)",
             blue_adapt["W2"].value.high, at_most=0.58)
claims.claim("W4 adaptive: no re-signed or re-manifested copy loads",
             blue_adapt["W4"].value.successes, at_most=0)
claims.claim("W5 adaptive: stretching verified fields games fewer applicants than the weak "
             "system's declared fields (upper end after, lower end before)",
             blue_adapt["W5"].value.high - red_results["W5"].value.low, at_most=-0.1)
claims.claim("W6 adaptive: coarse reasons still carry information beyond the decisions "
             "(agreement of the reasons copy minus the decisions-only copy)",
             blue_adapt["W6"].value.value - blue_adapt["W6"].detail["decisions_only"],
             at_least=0.0)

# %% [markdown]
# What the adaptive attackers show:
#
# * **W1**: the rate limit does not stop theft, it prices it: a label-only line search needs
#   hundreds of queries and so several free keys, and its copy is good. Keys that cost
#   something (identity checks for brokers) or lab 13's monitoring across keys are the next
#   step.
# * **W2**: offline LiRA, lab 05's strongest attack, does no better than chance against the
#   regularised scorecard, consistent with the leak having been the case memory.
# * **W3**: parity of referral rates is one definition; the equalised-odds gap is another,
#   and it is reported, not fixed.
# * **W4**: an attacker who writes the whole store, manifest and signature included, is still
#   refused: the service pins the lender's public key.
# * **W5**: stretching verified ratios within a document tolerance still pre-approves some
#   referred applicants: verification reduces gaming to what documents let through.
# * **W6**: reasons without numbers, bought over many keys, still let a copy approach the
#   scorecard, and do better than the same decisions without reasons (the control
#   experiment): coarse explanations slow extraction, they do not prevent it.
#
# ### What it costs the applicants and the lender
#
# On the held-out applications, with paired intervals for the changes.

# %%
blue_quality = capstone.quality_cost(sys_system, blue_system, seed=seed)
blue_q = blue_quality
blue_rows = (("decision matches the past decision", blue_q.accuracy_before,
              blue_q.accuracy_after, blue_q.accuracy_change),
             ("pre-approved", blue_q.approval_before, blue_q.approval_after,
              blue_q.approval_change),
             ("past denials referred", blue_q.denials_before, blue_q.denials_after,
              blue_q.denials_change))
display(plots.table(pd.DataFrame([
    {"measure": m, "weak": f"{b:.3f}", "hardened": f"{a:.3f}", "change (paired)": f"{c:.3f}"}
    for m, b, a, c in blue_rows
]), caption=f"Clean quality before and after the controls ({blue_q.accuracy_before.n} held-out "
    "applications)"))
display(Markdown(
    f"Accuracy changes by {blue_q.accuracy_change.value:+.3f} "
    f"[{blue_q.accuracy_change.low:+.3f}, {blue_q.accuracy_change.high:+.3f}] and the "
    f"pre-approval rate by {blue_q.approval_change.value:+.3f} "
    f"[{blue_q.approval_change.low:+.3f}, {blue_q.approval_change.high:+.3f}]; the share of "
    f"past denials the system refers changes by {blue_q.denials_change.value:+.3f} "
    f"[{blue_q.denials_change.low:+.3f}, {blue_q.denials_change.high:+.3f}]."))
claims.claim("the controls cost at most a few points of accuracy (paired change, lower end)",
             blue_q.accuracy_change.low, at_least=-0.08)
claims.claim("the controls do not lower the pre-approval rate much (paired change, lower "
             "end)", blue_q.approval_change.low, at_least=-0.06)
claims.claim("the hardened system refers fewer of the applications denied in the past "
             f"(paired change over {blue_q.denials_before.n} denials, estimate)",
             blue_q.denials_change.value, at_most=-0.05)

# %% [markdown]
# The honest applicant barely notices: the share of decisions that match the past ones and
# the pre-approval rate move by a few points at most (the intervals above). The lender pays
# elsewhere: the hardened scorecard refers fewer of the applications its underwriters denied
# in the past; with only about 70 past denials among the held-out applications, the size of
# that drop is uncertain (its interval above). Which control causes it (the parity constraint,
# the regularisation, the dropped fields) is a hypothesis here: the challenge asks you to
# separate them.

# %%
display(Markdown(
    f"**What changed and why.** Within {capstone.BUDGET} person-weeks the blue team bought "
    f"{len(blue_controls)} controls ({', '.join(blue_controls)}), and the same attacks "
    f"now fail on {int(RETEST['closed'].sum())} of the 6 planted weaknesses. The adaptive "
    "attackers show what remains: theft through labels and reasons costs keys but still "
    "works, stretched documents still game some decisions. The price is paid by the lender "
    f"(past denials referred: {blue_q.denials_before.value:.2f} -> "
    f"{blue_q.denials_after.value:.2f}), not by the honest applicant. Section time "
    f"{time.perf_counter() - blue_t0:.1f} s."))


# %% [markdown]
# ## 4 · Governance: lineage, model card, datasheet, framework and regulatory mapping
#
# The red team found the weaknesses and the blue team closed them. A lender still has to show
# it: to an auditor, a supervisor, or an applicant who asks why. Governance answers four
# questions with artefacts built from the run itself:
#
# 1. **Where did every part come from?** Data lineage, from the raw file to the API, with a
#    fingerprint at each step.
# 2. **What is the system for, and how well does it work, for whom?** A model card.
# 3. **What is the data, and what is wrong with it?** The datasheet.
# 4. **Which duty does each control serve, and which duty does nothing serve?** A map from
#    the controls to the security frameworks and to the GDPR and the EU AI Act.
#
# > **Course material, not legal advice.** The summaries of the GDPR and the EU AI Act in this
# > section are the course's own one-line paraphrases of what an article asks of an ML
# > system's engineering. Whether and how a law applies to a real system, and what compliance
# > takes, is for its lawyers and regulators to say.

# %% [markdown]
# ### Data lineage
#
# Each row is one step from the raw HMDA file to the API of the system the blue team ships.
# The fingerprint of a file is its SHA-256, computed now: the raw file's must equal the one the
# course's registry pins (else loading would have stopped), the split's is the hash of the
# training rows' application numbers, the features' the hash of the matrix the model sees.
# The training run records its seed and the library versions of this environment: with the
# same versions and seed, the run gives the same model.

# %%
gov_lineage = capstone.lineage(blue_system)
gov_weak_lineage = capstone.lineage(sys_system)
plots.table(gov_lineage, caption="Lineage of the hardened system (fingerprints computed now)")

# %%
capstone.lineage_figure(gov_lineage, title="From the raw file to the API: the hardened "
                              "system's lineage")

# %% [markdown]
# What a fingerprint proves, and what it does not: it proves that a file is the one recorded,
# not that the recorded file was any good (a poisoned dataset has a perfectly stable hash).
# The weak and the hardened system share their first steps and part where a control changes
# something (the fields, the training run, the artefact, the API).

# %%
gov_steps = pd.DataFrame({"weak": gov_weak_lineage.set_index("step")["fingerprint"],
                          "hardened": gov_lineage.set_index("step")["fingerprint"]})
gov_steps["same"] = gov_steps["weak"] == gov_steps["hardened"]
gov_raw_ok = gov_lineage.loc[0, "fingerprint"] == registry.get_entry("hmda").files[0].sha256
display(Markdown(
    f"Raw file's SHA-256 equals the registry's: **{gov_raw_ok}**. Steps the two systems share: "
    f"{', '.join(gov_steps.index[gov_steps['same']])}; steps that differ: "
    f"{', '.join(gov_steps.index[~gov_steps['same']])}. The weak artefact: "
    f"{gov_weak_lineage.loc[4, 'detail']}; the hardened one: {gov_lineage.loc[4, 'detail']}."))
claims.claim("raw HMDA file matches the registry's SHA-256", float(gov_raw_ok), at_least=1)

# %% [markdown]
# ### The datasheet of the data
#
# The datasheet comes from the registry (`datasets/hmda.md`), headed by the provenance facts
# the registry verifies. Read its "Known biases" section with the model card below in mind:
# the label is the lender's past decision, so a model of it learns past decisions, biases
# included.

# %%
display(Markdown(capstone.capstone_datasheet_markdown("hmda")))

# %% [markdown]
# ### The model card
#
# Lab 08's model card (Mitchell et al., 2019), filled with this system's purpose and with
# numbers measured now on the held-out applications under the system's own decision policy
# (refer to an underwriter when the probability of denial reaches the threshold). Its
# security section lists the red team's measurements on each system; a threat no test
# measured is listed as not tested. The weak and the hardened system's cards side by side
# first: "intervals overlap" flags a difference the held-out set cannot resolve.

# %%
gov_weak_card = capstone.capstone_model_card(
    sys_system, seed=seed,
    security_tests=capstone.card_security_tests(FINDINGS, when="weak system"))
gov_card = capstone.capstone_model_card(
    blue_system, seed=seed,
    security_tests=capstone.card_security_tests(blue_findings, when="hardened system"))
plots.table(explain.model_card_diff(gov_weak_card, gov_card, names=("weak", "hardened")),
            caption="Model cards of the weak and the hardened system, measured in this run")

# %%
display(Markdown(capstone.capstone_card_markdown(
    gov_card, retest=RETEST[["weakness", "control", "metric", "threshold", "before", "after",
                             "closed"]])))

# %% [markdown]
# Every number on the card is one of its fields, computed by the run (lab 08's check lists the
# numbers of the text that are not). The fairness rows carry the question the card cannot
# answer by itself: how much gap is acceptable for this use, decided by whom.

# %%
gov_untraced = explain.card_untraced_numbers(gov_card)
gov_gap = {m.name: m for m in gov_card.group_metrics}["referral-rate gap (demographic parity)"]
gov_weak_gap = {m.name: m for m in gov_weak_card.group_metrics}[
    "referral-rate gap (demographic parity)"]
display(Markdown(
    f"Numbers typed by hand on the card: **{len(gov_untraced)}**. Referral-rate gap between "
    f"black and other applicants: weak {gov_weak_gap.value:.3f} [{gov_weak_gap.low:.3f}, "
    f"{gov_weak_gap.high:.3f}], hardened {gov_gap.value:.3f} [{gov_gap.low:.3f}, "
    f"{gov_gap.high:.3f}] (bootstrap 95%, on {gov_gap.on})."))
claims.claim("numbers on the hardened card not traced to a field", len(gov_untraced), at_most=0)

# %% [markdown]
# ### Controls in the frameworks and the law
#
# Each control (every control the blue team could choose, and those the course builds anyway:
# the threat model, the pen test and re-test, the audit log, referral to an underwriter
# instead of an automatic refusal, the lineage and datasheet, the model card) is mapped to
# NIST CSF 2.0
# categories, SAIF elements and risks, MITRE ATLAS techniques and mitigations, OWASP ML Top 10
# items and the regulatory duties it serves. Every identifier is checked against the course's
# catalogues (`frameworks`): a mistyped or invented ID stops the lab. An ATLAS mitigation is
# kept only where ATLAS's own data lists it for one of the control's techniques.

# %%
display(Markdown(
    f"**Why high-risk.** {capstone.AI_ACT_HIGH_RISK_BASIS.reference}: "
    f"{capstone.AI_ACT_HIGH_RISK_BASIS.summary}"))
gov_mapping = capstone.mapping_table()
plots.table(gov_mapping, caption="Each control in NIST CSF 2.0, SAIF, MITRE ATLAS, OWASP ML Top "
            "10 (2023), the GDPR and the EU AI Act, with the course's evidence")

# %% [markdown]
# ### Exercise 2 · Which duties does no control meet?
#
# A regulator will ask, duty by duty, which control meets it and how you know. Write
# `uncovered_duties(duties, controls)`: `duties` maps a duty's id (for example `"AI Act Art.
# 15"`) to its summary; `controls` maps a control's name to a dict with `"duties"` (the duty ids
# it serves) and `"evidence"` (what measured it works, or `None`). A control without evidence
# covers nothing: it is a control on paper. Return the ids of the duties no control covers,
# sorted. A control naming a duty that is not in `duties` is bad input: raise `ValueError`.


# %%
def uncovered_duties(duties, controls):
    ### BEGIN SOLUTION
    covered = set()
    for name, control in controls.items():
        unknown = set(control["duties"]) - set(duties)
        if unknown:
            raise ValueError(f"{name} names unknown duties: {sorted(unknown)}")
        if control.get("evidence"):
            covered |= set(control["duties"])
    return sorted(set(duties) - covered)
    ### END SOLUTION


# %%
### POINTS: 2
uncovered_duties = check(lab14.UNCOVERED_DUTIES, uncovered_duties)
### BEGIN HIDDEN TESTS
grade(lab14.UNCOVERED_DUTIES, uncovered_duties)
### END HIDDEN TESTS

# %% [markdown]
# A check that does not trust the table: every identifier is looked up again in the
# catalogues, one by one.

# %%
gov_maps = capstone.mappings_for()
gov_ids = [(m.control, i) for m in gov_maps.values()
           for i in (*m.nist_categories, *m.saif, *m.saif_risks, *m.atlas_techniques,
                     *m.atlas_mitigations, *m.owasp)]
gov_bad_ids = []
for gov_control, gov_id in gov_ids:
    try:
        frameworks.describe(gov_id)
    except ValueError:
        gov_bad_ids.append((gov_control, gov_id))
for gov_control, gov_duty in [(m.control, d) for m in gov_maps.values() for d in m.duties]:
    try:
        capstone.validate_duty_id(gov_duty)
    except ValueError:
        gov_bad_ids.append((gov_control, gov_duty))
print(f"{len(gov_ids)} framework identifiers and "
      f"{sum(len(m.duties) for m in gov_maps.values())} duty references in "
      f"{len(gov_maps)} controls; not in the catalogues: {gov_bad_ids or 'none'}")
claims.claim("identifiers of the mapping missing from the catalogues", len(gov_bad_ids),
             at_most=0)

# %% [markdown]
# ### Every planted weakness, in the frameworks and the law
#
# For each weakness, the blue-team controls that treat it and where they land: a control that
# reached no NIST CSF function or no EU AI Act article would be a control nobody could account
# for in an audit.

# %%
gov_weak_cov = capstone.weakness_coverage()
plots.table(gov_weak_cov, caption="Planted weaknesses, their controls, NIST CSF functions and "
            "articles")

# %%
display(claims.claim("fewest NIST CSF functions reached by a weakness's controls",
                     gov_weak_cov["nist functions"].min(), at_least=1))
claims.claim("fewest EU AI Act articles reached by a weakness's controls",
             gov_weak_cov["ai act articles"].min(), at_least=1)

# %% [markdown]
# ### The duties, and the gaps
#
# One row per duty: the controls that serve it and the course's evidence. "Served" is not
# "met": a rate limit serves the security duty of Art. 32 GDPR, it does not discharge it. The
# rows no control serves are the gaps.

# %%
gov_duties = capstone.duty_table()
plots.table(gov_duties.drop(columns=["holder"]),
            caption="GDPR and EU AI Act duties of a credit pre-approval model (course "
                    "paraphrases, not legal text)")

# %%
gov_gaps = capstone.duty_gaps()
gov_shipped = [*blue_system.controls, *capstone.GOVERNANCE_CONTROLS]
gov_gaps_shipped = capstone.duty_gaps(gov_shipped)
gov_gaps_without_blue = capstone.duty_gaps(list(capstone.GOVERNANCE_CONTROLS))
gov_named_gaps = ("GDPR-5-1-E", "GDPR-35", "AIA-27")


def gov_refs(ids):
    return "; ".join(f"{capstone.REGULATORY_DUTIES[d].reference} "
                     f"({capstone.REGULATORY_DUTIES[d].title})" for d in ids) or "none"


display(Markdown(
    f"Duties no control serves, with every control of the catalogue: **{len(gov_gaps)}** of "
    f"{len(capstone.REGULATORY_DUTIES)}: {gov_refs(gov_gaps)}.  \n"
    f"With the controls the blue team applied: **{len(gov_gaps_shipped)}** "
    f"(besides those: {gov_refs([d for d in gov_gaps_shipped if d not in gov_gaps])}).  \n"
    f"With none of the blue team's controls: {len(gov_gaps_without_blue)}."))
claims.claim("gaps other than the three named (storage limitation, DPIA, FRIA)",
             len(set(gov_gaps) ^ set(gov_named_gaps)), at_most=0)

# %% [markdown]
# These gaps are not technical: how long request logs and training data are kept
# (storage limitation), the data protection impact assessment, and the deployer's fundamental
# rights impact assessment are decisions and documents of the organisation. The threat model
# and the risk register of section 1 feed the two assessments; they do not replace them (an
# assessment also weighs necessity and proportionality, and consults people the course never
# meets).

# %% [markdown]
# ### Compliance coverage
#
# The controls of the hardened system (the blue team's and the course's) against the NIST CSF
# 2.0 functions (the number of the control's categories in each) and the articles (1 where the
# control serves it). An empty column is a gap.

# %%
gov_nist = capstone.coverage_matrix(gov_shipped, framework="nist")
gov_empty = [c for c in gov_nist.columns if gov_nist[c].sum() == 0]
gov_offered = capstone.coverage_matrix(list(capstone.CONTROL_MAPPINGS),
                                             framework="nist").sum(axis=0)
display(Markdown(
    f"NIST CSF functions no control of the hardened system reaches: "
    f"**{', '.join(gov_empty) or 'none'}**"
    + (f"; of these, the blue team's catalogue offers no control for "
       f"{', '.join(c for c in gov_empty if gov_offered[c] == 0) or 'none'} (lab 13's "
       "rollback and incident playbook would be the candidates)." if gov_empty else ".")))
capstone.coverage_figure(gov_shipped, families=("nist", "ai_act", "gdpr"),
                               title="Compliance coverage: controls x NIST CSF functions and "
                                     "articles")

# %% [markdown]
# ### What changed and why
#
# The same system, but now accountable: every artefact of its lineage has a fingerprint
# checked against the registry or computed from the file the service loads; the model card
# reports, with intervals, what the controls cost and gained; and each control is tied to the
# frameworks and to the duties it serves, with the identifiers checked. The map also shows
# what the controls do not reach: the organisational duties (retention, DPIA, FRIA) and the
# response and recovery functions, which no model-level control can stand in for.

# %%
gov_summary = {
    "duties": len(capstone.REGULATORY_DUTIES),
    "gaps": gov_gaps,
    "gaps_shipped": gov_gaps_shipped,
    "gaps_without_blue_team": len(gov_gaps_without_blue),
    "identifiers_checked": len(gov_ids),
    "nist_functions_unreached": tuple(gov_empty),
    "card": gov_card,
}


# %% [markdown]
# ## 5 · The security report card
#
# The red team's findings and the blue team's re-test were about one system. A **security report
# card** asks the same questions of *any* model, in the same way, so that systems can be compared
# and a defence shows up as a better grade. It has five categories, each measured by an earlier
# lab's attack or check on a small, stated sample:
#
# - **robustness**: the share of correctly handled inputs an attacker turns, at a stated budget
#   (lab 02);
# - **privacy**: how well a membership-inference attack tells training records from others, as
#   an ROC AUC (lab 05);
# - **extraction**: how faithful a copy a thief trains from the answers to a fixed number of
#   queries through one account (lab 04);
# - **fairness**: the largest gap between groups (lab 07);
# - **supply-chain hygiene**: safe format, signature, tampered copy refused, pinned dependencies
#   (lab 11).
#
# The card reaches a model through an adapter, `AuditTarget`: what the auditor sees (decisions,
# probabilities), what one query of the deployed interface answers, an attacker's session (one
# API key, with its limits), known members and non-members, the groups, what an attacker may
# change, and the model file as shipped. `AuditTarget.from_sklearn(model, X_train, y_train,
# X_test, y_test, sensitive=...)` builds one for any fitted scikit-learn classifier, so you can
# point the card at your own model.

# %%
rc_scale = pd.DataFrame([
    {"category": s.category.replace("_", " "), "metric": metric,
     "graded on": "upper end" if s.higher_is_worse else "lower end",
     **{f"{g} if at most": t for g, t in zip(capstone.GRADES, s.thresholds, strict=False)},
     "why": s.rationale}
    for metric, s in capstone.GRADE_SCALE.items()])
display(plots.table(rc_scale, caption="The grading scale (GRADE_SCALE): four cut points per "
                    "number; above the last one is an F"))

# %% [markdown]
# ### Exercise 3 · Grade the pessimistic end of an interval
#
# Every number on the card is a measurement with an interval, and the card grades the end of
# the interval that is worse for the system: a model whose attack success is 0.05 [0.01, 0.20]
# has not shown that it is an A. Write `grade_interval(low, high, thresholds,
# higher_is_worse=True)`:
# - grade `high` when higher is worse (attack success, membership AUC, fairness gap) and `low`
#   when higher is better (queries a thief needs);
# - `thresholds` are four cut points for A, B, C and D. When higher is worse they increase and
#   the grade is the first letter whose cut point the value does not exceed (`value <= t[0]` is
#   an A, ..., above `t[3]` an F); when higher is better they decrease and the grade is the first
#   letter whose cut point the value reaches (`value >= t[0]` is an A, ..., below `t[3]` an F);
# - bad input raises `ValueError`: `low > high`, NaN, or thresholds that are not four numbers in
#   the right order.


# %%
def grade_interval(low, high, thresholds, higher_is_worse=True):
    ### BEGIN SOLUTION
    import math

    values = [low, high, *thresholds]
    if len(thresholds) != 4 or any(math.isnan(v) for v in values) or low > high:
        raise ValueError("need low <= high, no NaN, and four cut points")
    pairs = list(zip(thresholds, thresholds[1:], strict=False))
    if higher_is_worse and not all(a < b for a, b in pairs):
        raise ValueError("when higher is worse the cut points must increase")
    if not higher_is_worse and not all(a > b for a, b in pairs):
        raise ValueError("when higher is better the cut points must decrease")
    value = high if higher_is_worse else low
    for letter, cut in zip("ABCD", thresholds, strict=True):
        if (value <= cut) if higher_is_worse else (value >= cut):
            return letter
    return "F"
    ### END SOLUTION


# %%
### POINTS: 2
grade_interval = check(lab14.GRADE_INTERVAL, grade_interval)
### BEGIN HIDDEN TESTS
grade(lab14.GRADE_INTERVAL, grade_interval)
### END HIDDEN TESTS

# %% [markdown]
# ### Grading on the pessimistic end
#
# Every number comes with a 95% interval: Wilson's for a proportion, a bootstrap for an AUC or a
# gap. The card grades the **end of the interval that is worse for the defender**: the upper end
# of an attack's success, of a membership AUC, of a stolen copy's fidelity, of a fairness gap. A
# measurement on a small sample has a wide interval, so it cannot earn a good grade by luck: to
# earn an A, measure enough to show the number is small. Supply-chain hygiene is a checklist, not a
# sample: its "interval" is the count of failed checks itself.

# %% [markdown]
# ### The capstone system, before and after the blue team's controls
#
# The card reaches the credit pre-approval assistant as an outsider does: every attack query goes
# through its HTTP API (each batch with a newly issued key, since keys are free), the thief of the
# extraction category holds one key and stops when the API refuses it, and the supply-chain checks
# offer tampered copies of the model folder to the service's own `load_model`. The fairness
# category compares the referral rates of black and other applicants (demographic parity, W3);
# robustness lets an applicant change only the fields declared without proof (W5).

# %%
try:  # the weak system of section 1 and the blue team's system of section 3
    rc_weak, rc_hard, rc_controls = sys_system, blue_system, tuple(blue_system.controls)
    rc_built = False
except NameError:  # this section run on its own: build both the way sections 1 and 3 do
    rc_weak = capstone.capstone_system(seed)
    rc_controls = tuple(k for k, c in capstone.CONTROLS.items() if c.changes_code)
    rc_hard = capstone.harden(rc_weak, rc_controls)
    rc_built = True
rc_before = capstone.report_card(capstone.capstone_target(rc_weak), seed=seed)
rc_after = capstone.report_card(capstone.capstone_target(rc_hard), seed=seed)
rc_change = capstone.compare(rc_before, rc_after)
display(plots.table(rc_change, caption=f"The capstone's grades before and after the controls "
                    f"({', '.join(rc_controls)}); numbers with their 95% intervals"))

# %%
rc_steps = {row.category: row.steps for row in rc_change.itertuples()}
rc_applicable = [s for s in rc_steps.values() if s is not None and not pd.isna(s)]
rc_m = {c: (rc_before.measurement(c), rc_after.measurement(c))
        for c in capstone.CATEGORIES}
display(Markdown(
    f"Before the controls, the membership attack reaches an AUC of "
    f"{rc_m['privacy'][0].text()} on {rc_m['privacy'][0].on}; after, "
    f"{rc_m['privacy'][1].text()}. The referral-rate gap between groups goes from "
    f"{rc_m['fairness'][0].text()} to {rc_m['fairness'][1].text()}; an applicant who changes "
    f"only declared fields turns {rc_m['robustness'][0].text()} of the referrals before and "
    f"{rc_m['robustness'][1].text()} after; the thief's copy agrees with the system on "
    f"{rc_m['extraction'][0].text()} of fresh applications before "
    f"({rc_m['extraction'][0].details['queries answered']} answers) and "
    f"{rc_m['extraction'][1].text()} after "
    f"({rc_m['extraction'][1].details['queries answered']} answers, then refused: "
    f"{rc_m['extraction'][1].details['refused']}). Failed supply-chain checks: "
    f"{rc_m['supply_chain'][0].text()} before, {rc_m['supply_chain'][1].text()} after. "
    f"In all, the grades move by {sum(rc_applicable)} steps; the worst single change is "
    f"{int(min(rc_applicable)):+d}."))
claims.claim("no grade of the capstone gets worse with the blue team's controls (worst change, "
             "grade steps)", min(rc_applicable), at_least=0)
claims.claim("the controls improve the capstone's grades by several steps in all (sum of "
             "grade steps)", sum(rc_applicable), at_least=6)
claims.claim("the membership attack works on the weak system (AUC, lower end)",
             rc_m["privacy"][0].low, at_least=0.8)
claims.claim("after the controls it is close to chance (AUC, upper end)",
             rc_m["privacy"][1].high, at_most=0.6)
claims.claim("the weak system's referral gap between groups (demographic parity, lower end)",
             rc_m["fairness"][0].low, at_least=0.05)
claims.claim("the gap shrinks with the controls (before minus after)",
             rc_m["fairness"][0].value - rc_m["fairness"][1].value, at_least=0.08)
claims.claim("gaming the declared fields works on the weak system (success, lower end)",
             rc_m["robustness"][0].low, at_least=0.05)
claims.claim("and not once the decision ignores them (success after)",
             rc_m["robustness"][1].value, at_most=0.02)
claims.claim("the copy stolen with probabilities is close to the weak system (fidelity, lower "
             "end)", rc_m["extraction"][0].low, at_least=0.7)
claims.claim("supply-chain checks failed by the weak system's pickle (of 4)",
             rc_m["supply_chain"][0].value, at_least=3)
claims.claim("supply-chain checks failed after signing and skops", rc_m["supply_chain"][1].value,
             at_most=0)

# %% [markdown]
# ### The five reference systems
#
# The same card, pointed at the five systems of lab 00. Each uses the interface its lab served:
# the digit reader and the diagnosis aid answer probabilities, the triage answers labels, the
# fraud scorer approves or declines. Where a category means something else for a kind of model,
# the card says so: for the recommender, robustness is lab 02's perturbation of the embeddings,
# membership asks whether a *rating* was in training, extraction is the overlap of a stolen copy's
# top 10, and fairness compares popular and long-tail films (MovieLens records nothing about its
# users). Where a category does not apply (no group of people in the digits or in WDBC), it is
# marked "n/a" with the reason, never filled with a number.

# %%
rc_cards, rc_budgets = {"capstone": rc_before}, {}
for rc_domain in catalogue.DOMAINS:  # one target at a time: each holds its system and data
    rc_target = capstone.reference_target(rc_domain, seed=seed)
    rc_cards[rc_domain] = capstone.report_card(rc_target, seed=seed)
    rc_budgets[rc_domain] = (rc_target.eps, rc_target.budget)
del rc_target
rc_grades = pd.DataFrame([{"system": card.name, **{c.replace("_", " "): g
                                                  for c, g in card.grades.items()}}
                          for card in [*rc_cards.values(), rc_after]])
display(plots.table(rc_grades, caption="Grades of the six systems (and the capstone after the "
                    "blue team's controls), read on the pessimistic end of each interval"))

# %%
rc_numbers = pd.DataFrame([{"system": card.name, "category": m.category.replace("_", " "),
                            "metric": m.metric or "n/a", "number [95% interval]": m.text(),
                            "grade": m.grade, "sample": m.on or m.reason}
                           for card in rc_cards.values() for m in card.measurements])
display(plots.table(rc_numbers, caption="What stands behind each grade"))
rc_na = [(card.name, m.category) for card in rc_cards.values() for m in card.measurements
         if not m.applicable]
rc_image_pgd = rc_cards["image"].measurement("robustness")
rc_rec_theft = rc_cards["recommender"].measurement("extraction")
display(Markdown(
    f"Not applicable, each with its reason: {', '.join(f'{n} ({c})' for n, c in rc_na)}. "
    f"PGD at eps {rc_budgets['image'][0]:g} turns {rc_image_pgd.text()} of "
    f"{rc_image_pgd.on}; the copy of the recommender stolen from "
    f"{rc_budgets['recommender'][1].theft_queries} lists shares {rc_rec_theft.text()} of "
    f"the service's top 10 for {rc_rec_theft.on}."))
claims.claim("every category of every card is measured or marked n/a with a reason (cards "
             "without a reason)", sum(1 for card in rc_cards.values() for m in card.measurements
                                      if not m.applicable and not m.reason), at_most=0)
claims.claim("PGD at eps 0.1 turns the digits CNN (success, lower end)", rc_image_pgd.low,
             at_least=0.25)

# %% [markdown]
# ### The report, as one file
#
# `write_report` puts every card, the capstone's grade changes and the grading scale in **one
# self-contained HTML file**: the styles are inline, the bars are inline SVG, there is no script
# and no font or image to fetch, so it opens in a browser offline and can be handed in. Its date
# comes from the seed, not the clock: the same seed writes the same file.

# %%
rc_folder = Path(tempfile.mkdtemp(prefix="lab14-report-"))
rc_path = capstone.write_report([rc_before, rc_after, *list(rc_cards.values())[1:]],
                               rc_folder / "security_report_card.html",
                               title="Lab 14: security report cards",
                               comparisons=[(rc_before, rc_after)])
rc_text = rc_path.read_text(encoding="utf-8")
rc_refs = capstone.network_references(rc_text)
print(f"{rc_path.name}: {rc_path.stat().st_size / 1024:.1f} KiB; 'http://' in it: "
      f"{'http://' in rc_text}; 'https://' in it: {'https://' in rc_text}; '<script src=' in it: "
      f"{'<script src=' in rc_text.lower()}; references that would reach the network: "
      f"{len(rc_refs)}")
claims.claim("the HTML report references nothing on the network", len(rc_refs), at_most=0)
with warnings.catch_warnings():  # IPython suggests IFrame, which needs a URL; srcdoc needs none
    warnings.simplefilter("ignore")
    display(HTML(capstone.inline_frame(rc_text, height=700)))

# %%
shutil.rmtree(rc_folder)  # the report's temporary folder
if rc_built:  # the systems this section built for itself (sections 1 and 3 close theirs)
    rc_weak.close()
    rc_hard.close()
print(f"removed {rc_folder.name}: {not rc_folder.exists()}; the six cards took "
      f"{sum(c.seconds for c in rc_cards.values()) + rc_after.seconds:.1f} s")

# %% [markdown]
# ### What changed and why

# %%
rc_better = [c for c, s in rc_steps.items() if s is not None and not pd.isna(s) and s > 0]
rc_moves = "; ".join(
    f"{c.replace('_', ' ')} {rc_m[c][0].text()} before, {rc_m[c][1].text()} after"
    for c in capstone.CATEGORIES)
display(Markdown(
    f"**What changed and why.** The blue team applied {', '.join(rc_controls)}. The card, "
    f"blind to which control does what, saw the grades improve in {len(rc_better)} of "
    f"{len(rc_applicable)} categories ({', '.join(c.replace('_', ' ') for c in rc_better)}) "
    f"and none get worse: {rc_moves}. The thief got "
    f"{rc_m['extraction'][0].details['queries answered']} answers as "
    f"{rc_m['extraction'][0].details['answers']} before, and "
    f"{rc_m['extraction'][1].details['queries answered']} as "
    f"{rc_m['extraction'][1].details['answers']} after. Which control moved which number is "
    f"what section 3's re-test shows; the card grades the system as a whole, the same way for "
    f"any model. Its grades read the pessimistic end of each interval, so a category measured "
    f"on few cases (the hardened system refers few applicants, which leaves few to game or to "
    f"compare a copy on) can keep a modest grade although its number improved. The same card "
    f"graded the five reference systems and marked what does not apply instead of inventing "
    f"a number."))
SUMMARY["capstone"] = {"card": rc_before, "hardened": rc_after}
for rc_domain in catalogue.DOMAINS:
    SUMMARY[rc_domain] = {"card": rc_cards[rc_domain], "hardened": None}


# %% [markdown]
# ## Summary: six systems, one card
#
# The same five measurements graded every system: the five reference systems of the course as
# they are, and the capstone before and after the blue team's controls. Grades are letters
# (A best, F worst; "n/a" where a category does not apply, with its reason on the card); the
# heatmap shows them as numbers (A = 4 ... F = 0) so that patterns stand out.


# %%
summary_rows = []
for summary_name, summary_entry in SUMMARY.items():
    summary_rows.append({"system": summary_name, **summary_entry["card"].grades})
    if summary_entry["hardened"] is not None:
        summary_rows.append({"system": f"{summary_name} (hardened)",
                             **summary_entry["hardened"].grades})
summary = pd.DataFrame(summary_rows).set_index("system")
display(plots.table(summary.reset_index(), caption="Grades of every card (A best, F worst)"))
summary_points = summary.replace({"A": 4, "B": 3, "C": 2, "D": 1, "F": 0, "n/a": np.nan})
plots.heatmap(summary_points.to_numpy(dtype=float), list(summary.columns), list(summary.index),
              colorscale="RdYlGn", text_format=".0f",
              title="Security grades (A = 4 ... F = 0; blank: not applicable)",
              xaxis_title="category", yaxis_title="system")


# %%
summary_weak = summary_points.loc["capstone"]
summary_hard = summary_points.loc["capstone (hardened)"]
summary_worst = summary_points.drop(index=["capstone (hardened)"]).min(axis=1)
display(Markdown(
    f"**What the audit shows.** The capstone went from {int((summary_weak <= 1).sum())} grades of "
    f"D or F to {int((summary_hard <= 1).sum())} after the blue team's controls. Every "
    f"reference system of the course has at least one grade of C or worse "
    f"({int((summary_worst.drop(index='capstone') <= 2).sum())} of "
    f"{len(summary_worst) - 1}): each earlier lab defended one threat at a time, and the card "
    f"shows the others still open. That is the card's purpose: one page that says where a "
    f"system stands on every threat, with the evidence and its uncertainty."))
claims.claim("summary: the capstone's controls leave fewer D and F grades than before",
             int((summary_hard <= 1).sum()) - int((summary_weak <= 1).sum()), at_most=-2)


# %% [markdown]
# ## Challenge · The model behind the explanations
#
# The red team found that the capstone's explanation endpoint gives the model away. Another
# lender heard about it and "fixed" it: its endpoint now rounds every reason score to one
# decimal and answers at most 60 explanations per key. `lab14.explanation_task(seed=...)` gives
# you that endpoint: `task.explain(x)` answers, for an application `x` (12 numbers between
# `task.low` and `task.high`), one reason score per feature, the model's slope for that feature
# times the feature's distance from the typical applicant, rounded. `task.feature_names` names
# the features; `task.queries_left` counts what is left.
#
# Write `recover_slopes(task)`, returning the 12 slopes (score per unit of each feature). The
# check wants them within 2% (relative L2 error, each slope weighed by its feature's accepted
# range) on lenders you have not seen.


# %%
def recover_slopes(task):
    ### BEGIN SOLUTION
    # each reason score is linear in its own feature, and rounding adds at most 0.05: spread the
    # queries over each feature's whole range (all features at once, in shuffled orders) and fit
    # each score against its feature by least squares, so the rounding errors average out
    gen = np.random.default_rng(0)
    n = task.queries_left
    grid = np.linspace(0.0, 1.0, n)
    X = np.column_stack([task.low[j] + (task.high[j] - task.low[j]) * gen.permutation(grid)
                         for j in range(len(task.low))])
    scores = np.array([task.explain(x) for x in X])
    slopes = []
    for j in range(X.shape[1]):
        A = np.column_stack([X[:, j], np.ones(n)])
        slopes.append(np.linalg.lstsq(A, scores[:, j], rcond=None)[0][0])
    return np.array(slopes)
    ### END SOLUTION


# %%
### POINTS: 3
recover_slopes = check(lab14.CHALLENGE, recover_slopes)
### BEGIN HIDDEN TESTS
grade(lab14.CHALLENGE, recover_slopes)
### END HIDDEN TESTS


# %%
challenge_task = lab14.explanation_task(seed=1000 + seed)  # a lender never graded
challenge_out = lab14.challenge_outcome(challenge_task, recover_slopes(challenge_task))
display(plots.table(pd.DataFrame([challenge_out]), caption="Your attack on a fresh lender"))
claims.claim("challenge: rounded explanations still give the slopes away (relative error)",
             challenge_out["relative_error"], at_most=lab14.CHALLENGE_ERROR)


# %% [markdown]
# Rounding hides each answer's last digits, not the model: every explanation is an exact
# equation up to a bounded error, and many equations average the error out. The capstone's
# blue team did what works instead: reason categories from a fixed list, a small budget of
# explanations per applicant, and no explanation that carries the model's numbers.


# %% [markdown]
# ## Your audit report (graded by hand)
#
# Write the report the lender's board receives, in the cell below, in at most one page. It
# must stand on the numbers this notebook computed (quote them with their intervals) and say
# what they rest on. Attach the HTML report card of the hardened system.
#
# 1. **Scope and method.** What was audited, from which threat model, with which access
#    (what the red team could see), and what was not tested.
# 2. **Findings.** Each planted weakness you found, its evidence, its severity; the one no
#    earlier lab showed and how the plan found it.
# 3. **Controls and re-test.** What the blue team bought within the budget and why; what the
#    re-test shows, including the adaptive attacker; what the controls cost the lender and
#    honest applicants.
# 4. **Residual risk and duties.** What is left, which legal duties (GDPR, EU AI Act) the
#    evidence supports and which remain open.
# 5. **Recommendation.** Go live, go live with conditions, or not yet; and what to monitor
#    (lab 13) from day one.


# %% [markdown]
# ### POINTS: 10
# *Your report here.*
#
# ### BEGIN SOLUTION
# Rubric (10 points): scope and method, with the access assumed and what was not tested (2);
# every planted weakness reported with its measured evidence and interval, the novel one
# explained as "the explanation endpoint reveals the model" and found by asking what each
# answer reveals (3); controls justified by the risk register and the budget, with the re-test
# against an attacker who knows them and the clean-quality cost stated with intervals (2);
# residual risk and the duties met and open, without claiming compliance the evidence does not
# show (2); a recommendation that follows from the numbers, with what to monitor (1). Deduct a
# point for any number quoted without its interval or without saying what it was measured on.
# ### END SOLUTION


# %% [markdown]
# ## Reflection
#
# Answer each question in its cell; the rubric in the instructor's version gives the points.


# %% [markdown]
# ### POINTS: 3
# **1.** The explanation endpoint was required by the lender's compliance team (applicants
# have a right to an explanation of an automated refusal). How do you reconcile that duty with
# the leak the red team measured?
#
# ### BEGIN SOLUTION
# Model answer: the duty is to give meaningful reasons, not the model's exact attributions or a
# nearest real applicant: principal reasons from a fixed list (as adverse-action notices do),
# coarsened and rate-limited per applicant, meet the duty while revealing little about the
# weights; explanations go only to the applicant concerned, with human review on request
# (GDPR Art. 22). Measure what the coarsened answers still leak (the re-test) rather than
# assume. Rubric: 1 point for the distinction between reasons and attributions, 1 for the
# concrete design, 1 for measuring the residual leak.
# ### END SOLUTION


# %% [markdown]
# ### POINTS: 3
# **2.** A grade on the card changed from C to B after a control. What would you check before
# reporting that the control worked?
#
# ### BEGIN SOLUTION
# Model answer: that the intervals before and after do not overlap so much that the change is
# noise (the grade uses the pessimistic end, but two grades can differ by chance); that the
# attacker of the re-test knew the control (an adaptive attack); that the measurement used the
# same data and budget; and what the control cost in clean quality. Rubric: 1 point each for
# uncertainty, adaptivity and cost (any three valid checks).
# ### END SOLUTION


# %% [markdown]
# ### POINTS: 3
# **3.** Which of the lender's duties under the EU AI Act for a high-risk credit model can a
# report card like this one support, and which can it not?
#
# ### BEGIN SOLUTION
# Model answer: it supports evidence for accuracy, robustness and cybersecurity (Art. 15), part
# of the risk management (Art. 9) and of the technical documentation (Art. 11), and monitoring
# after release (Art. 72) if run regularly; it cannot show data governance on its own (Art. 10:
# how the data were collected and checked), human oversight (Art. 14), transparency to the
# deployer and to applicants (Art. 13), or record-keeping in operation (Art. 12). Rubric:
# 1.5 points for each side with correct articles.
# ### END SOLUTION


# %% [markdown]
# ### POINTS: 3
# **4.** Point the report card at a model of your own (one of the earlier labs' exercises, or
# a model from your work). Which category would you expect to be its weakest, and why? Run it
# and compare.
#
# ### BEGIN SOLUTION
# Model answer: any reasoned prediction tied to the model's properties (an over-fitted model
# leaks membership; a model served with probabilities is cheap to extract; a pickled artefact
# fails supply-chain hygiene; a tabular model with unconstrained features is easy to game),
# followed by the measured card and an honest comparison. Rubric: 1 point for the prediction
# with its reason, 1 for running the card (AuditTarget.from_sklearn or its own adapter), 1 for
# the comparison.
# ### END SOLUTION


# %% [markdown]
# ## Further reading
#
# - NIST AI Risk Management Framework (AI RMF 1.0, 2023) and its Generative AI Profile (2024);
#   NIST CSF 2.0; ISO/IEC 42001 (AI management systems) and ISO/IEC 23894 (AI risk management).
# - Regulation (EU) 2024/1689 (the AI Act): Annex III point 5(b), Articles 9-15 and 72;
#   Regulation (EU) 2016/679 (GDPR): Articles 5, 22, 25, 32 and 35.
# - Mitchell et al., "Model Cards for Model Reporting" (2019); Gebru et al., "Datasheets for
#   Datasets" (2021).
# - Milli et al., "Model Reconstruction from Model Explanations" (2019); Aivodji et al.,
#   "Model Extraction from Counterfactual Explanations" (2020); Shokri et al., "On the Privacy
#   Risks of Model Explanations" (2021).
# - MITRE ATLAS case studies; OWASP Machine Learning Security Top 10; Google SAIF; Microsoft
#   and Google AI red-team reports (2023-2024).


# %%
sys_system.close()
blue_system.close()
print("the capstone systems' temporary folders are removed: "
      f"{not sys_system.folder.exists() and not blue_system.folder.exists()}")
