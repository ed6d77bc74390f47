# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 01 · Threat modelling and risk assessment
#
# Before you attack or defend a model, decide what is worth protecting, from whom, and where
# they get in. This lab builds a threat model and a risk register for each of the five
# systems of lab 00, in the vocabulary the field uses: MITRE ATLAS, the OWASP Machine Learning
# Security Top 10, NIST CSF 2.0 and Google's SAIF. One likelihood per system is not only
# guessed: a quick probe attacks the baseline and measures how exploitable that threat is (the
# image and fraud evasion threats, scam evasion, shilling of the recommender, theft of the
# diagnosis aid). The other seven threats of each system are judged with the rubric.
#
# **Learning objectives.** After this lab you can
# 1. draw an ML system's data flow with its trust boundaries and find its entry points;
# 2. list its assets, actors and threats, and map each threat to MITRE ATLAS, the OWASP ML
#    Top 10 and the lab of this course that treats it;
# 3. argue a likelihood from a measurement (a cheap attack on the baseline, with its
#    interval), and say what the measurement cannot tell (motive, exposure);
# 4. score risks with a likelihood x impact rubric, pick controls (each with its NIST CSF
#    function and SAIF element) and compute the residual risk;
# 5. choose controls under a budget, keep a risk register and export it.
#
# **Prerequisites:** lab 00 (the five systems and the frameworks).
# **Estimated time:** about 90 minutes of reading, exercises and questions (estimated
# from the notebook; the notebook itself runs in under a minute).

# %%
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from IPython.display import Markdown, display
from plotly.subplots import make_subplots

from mlsec_helpers import claims, frameworks, plots, repro, systems
from mlsec_helpers import threatmodel as tm
from mlsec_helpers.checks import lab01
from mlsec_helpers.data import load_dataset
from mlsec_helpers.exercises import check, grade
from mlsec_helpers.threatmodel import Asset, Threat

info = repro.setup(seed=0)  # seeds python, numpy and torch; caps threads; picks the device
print(info)
display(Markdown(frameworks.lab_header_markdown(1)))

# %% [markdown]
# ## The threat in one picture
#
# A threat model answers four questions (Adam Shostack's): *what are we working on? what can
# go wrong? what are we going to do about it? did we do a good job?* The first answer is a
# **data-flow diagram**: the boxes the data passes through, and dashed **trust boundaries**
# where it crosses from one owner or level of trust to another. Attacks enter where a flow
# crosses a boundary: those are the **entry points** (red, E1-E6). Every ML system has the
# same six, and each lab of this course treats the threats that enter at one of them (hover
# the red dots).

# %%
tm.overview_figure(title="An ML system's entry points and the threats that enter there")

# %% [markdown]
# ## The vocabulary, and a model that checks it
#
# The threat model of a system (`threatmodel.ThreatModel`) holds
# - **assets**: what is worth protecting (training data, labels, model weights, predictions,
#   personal data, code, availability);
# - **actors**: who might attack (external attacker, malicious insider, compromised supplier,
#   curious or abusive user), with a motive;
# - **entry points**: where they get in, with the access that takes;
# - **threats**: who does what to which asset through which entry point, mapped to MITRE
#   ATLAS techniques (`AML.T0043`), OWASP ML Top 10 items (`ML01`) and a course category
#   (evasion, poisoning, theft, membership inference, inversion, bias, supply chain, API
#   abuse) that names the lab treating it; with a likelihood and an impact. A bias threat
#   carries no OWASP ID: the OWASP ML Top 10 (2023) has no bias item, and its ML08 "Model
#   Skewing" is an attacker skewing a model through its feedback data, which is poisoning,
#   not unfairness;
# - **controls**: what treats a threat, each tagged with its NIST CSF 2.0 function (Govern,
#   Identify, Protect, Detect, Respond, Recover) and its SAIF core element.
#
# Every ID is checked against the catalogue of lab 00 and every score against the rubric
# below when the object is built, so a slip is an error, not a wrong register:

# %%
for bad in [dict(likelihood=7), dict(atlas=("AML.T0999",)), dict(owasp=("ML11",))]:
    fields = dict(id="T9", title="an example", category="evasion", actor=None,
                  assets=("A1",), entry_point="E5", atlas=("AML.T0015",), owasp=("ML01",),
                  likelihood=3, impact=4) | bad
    try:
        Threat(**fields)
    except ValueError as err:
        print(f"{list(bad)[0]} = {list(bad.values())[0]!r}: {err}")

# %% [markdown]
# ## How risk is scored
#
# **Risk = likelihood x impact**, both on a 1-5 scale. The criteria make two people score
# the same threat alike:

# %%
display(plots.table(tm.rubric_table(), caption="The course's likelihood and impact rubric"))
display(plots.table(pd.DataFrame(tm.RISK_BANDS, columns=["from", "to", "band"]),
                    caption="Risk bands over likelihood x impact (1-25)"))

# %% [markdown]
# **Likelihood from evidence, and what evidence cannot give.** A probe's success rate
# measures *exploitability under the probe's conditions* (this model, these inputs, this
# budget), not likelihood: how likely an attack is also depends on who has a motive and how
# exposed the entry point is. So the rule starts from exposure, the base likelihood of the
# access the attack needs (below), and lets the measurement move it by one step: add 1 when
# the 95% Wilson interval of the success rate lies at or above 50% (and at least 5 attacks
# succeeded), take 1 off when the interval lies below 10% (which takes at least 35 cases),
# and take 1 off when the probe needed the model itself (white-box), which an outsider does
# not have. Motive is not measured: the rule assumes the actor with that access has one (the
# actors' motives say who), which is a judgement. One threat per system is probed; the other
# likelihoods stay the rubric's judgement.

# %%
display(plots.table(pd.DataFrame(
    [{"access": k, "who": who, "base likelihood": base}
     for k, (base, who) in tm.ACCESS_LEVELS.items()]), caption="Base likelihood by access"))

# %% [markdown]
# **Controls** lower likelihood and/or impact by whole steps; the steps of several controls
# add up, and neither falls below 1: a control reduces a risk, it never removes it. What is
# left is the **residual risk**. The five reference models below (in
# `threatmodel.reference_model`) start with the controls each organisation runs today.

# %%
models = tm.reference_models()
prior = {d: {t.id: t.likelihood for t in m.threats} for d, m in models.items()}
display(plots.table(pd.DataFrame([{
    "system": m.system, "assets": len(m.assets), "actors": len(m.actors),
    "entry points": len(m.entry_points), "threats": len(m.threats),
    "controls": len(m.controls), "in place today": ", ".join(m.applied),
} for m in models.values()]), caption="The five threat models"))
assert all(not tm.gaps(m) for m in models.values()), "every reference model is complete"

# %% [markdown]
# ## 1 · Image: the handwritten-digit reader
#
# The reader turns scanned cheques into amounts that are paid. The attacker who matters most
# writes the cheque: they control every pixel the scanner sees.

# %%
image = load_dataset("image", seed=0)
cnn = systems.train_baseline("image", image, seed=info["seed"])
print(f"baseline test accuracy {cnn.evaluate(image.X_test, image.y_test)['accuracy']:.3f}")
tm.dataflow_figure(models["image"], title="Digit reader: data flow, trust boundaries, "
                                          "entry points")

# %%
display(plots.table(models["image"].threat_table(), caption="Threats to the digit reader"))

# %% [markdown]
# **Probe.** Is evasion real? One step of the Fast Gradient Sign Method (Goodfellow et al.,
# via adversarial-robustness-toolbox) moves every pixel by at most 0.1 in the direction that
# hurts the model most. How many correctly read digits does it change?

# %%
image_probe = tm.probe_image_fgsm(cnn, image.X_test, image.y_test, eps=0.1, n=200,
                                  seed=info["seed"])
print(image_probe.summary())
claims.claim("one FGSM step (eps 0.1) misreads at least 20% of the correctly read digits",
             image_probe.success_rate, at_least=0.2)
ex = image_probe.examples.head(4)
plots.image_grid(
    np.stack([*ex["clean"], *ex["adversarial"]]),
    labels=[f"clean: {y}" for y in ex["label"]] + [f"read as {p}" for p in ex["read after"]],
    ncols=4, title="Top: digits read correctly. Bottom: after one FGSM step (eps 0.1)",
)

# %% [markdown]
# **What the measurement changes.** FGSM is white-box: it needs the weights, which a cheque
# forger does not have, so the rule discounts it; but it shows how little a change a model
# can need. The likelihood of the evasion threat now comes from the probe and the rule (the
# probe gives exploitability, the access level exposure; the forger's motive is judged):

# %%
def apply_probe(domain, result):
    """Replace the probed threat's likelihood by the one the rule gives; say what moved."""
    before = models[domain].threat(result.threat_id).likelihood
    models[domain] = models[domain].with_scores(
        result.threat_id, likelihood=result.likelihood, evidence=result.summary())
    row = models[domain].register().set_index("id").loc[result.threat_id]
    print(f"{result.threat_id}: exploitability {result.rate:.0%} on {result.rate.on}; "
          f"likelihood {before} (judged) -> {result.likelihood} (rule: {result.access} "
          f"access{', white-box' if result.white_box else ''}; motive judged); risk "
          f"{row['inherent']} ({row['inherent band']}), residual with today's controls "
          f"{row['residual']} ({row['residual band']})")
    return row


image_row = apply_probe("image", image_probe)
# The rule adds a step only when the interval lies above 50%; below that, the white-box
# discount is its only move, and the likelihood drops under the judged one.
claims.claim("FGSM's success is not clearly above half (its interval starts below 50%)",
             image_probe.rate.low, at_most=0.5)

# %% [markdown]
# ## 2 · NLP: the support chatbot's triage
#
# The triage model routes messages and flags scams. Anyone can write to the chat, and the
# chats are logged to retrain the model: the customers' own words, with their names and card
# numbers, become training data.

# %%
nlp = load_dataset("nlp", seed=0)
triage = systems.train_baseline("nlp", nlp, seed=info["seed"])
print(f"baseline test accuracy {triage.evaluate(nlp.X_test, nlp.y_test)['accuracy']:.3f}")
tm.dataflow_figure(models["nlp"], title="Support triage: data flow, trust boundaries, "
                                        "entry points")

# %% [markdown]
# ### Exercise 1 · Complete the triage system's threat model
#
# A colleague started the model: `lab01.partial_nlp_model()` has the assets (but no personal
# data), actors, entry points and controls, and only three threats (evasion, poisoning,
# theft). Write `complete_nlp_model(partial)` that returns it completed with
# `partial.extended(assets=[...], threats=[...])`:
# - an `Asset` of kind `"personal data"` (what in a support chat is personal?), unless the
#   partial model has one already: then the new threats target that one;
# - one `Threat` for each category with no threat yet (here: membership inference,
#   inversion, bias, supply chain, API abuse), and only for those. Each threat
#   - maps to MITRE ATLAS and OWASP IDs that fit its category (`tm.THREAT_CATEGORIES[category]`
#     lists them): at least one of the category's ATLAS techniques (or a sub-technique of
#     one), and OWASP IDs of the category only (none for bias: `owasp=()`);
#   - targets at least one asset of the kind its category harms (`lab01.TARGET_KINDS`):
#     the personal data for membership inference and inversion, the predictions for bias,
#     the software for the supply chain, the availability or the predictions for API abuse;
#   - names one of the model's actors (`X1`-`X4`; only a bias threat, a harm without an
#     adversary, may have `actor=None`), an entry point (`E1`-`E6`) and at least one of the
#     model's controls (`NLP-C1`-`NLP-C7`);
# - every asset ends up targeted by at least one threat;
# - nothing else changes: keep the threats, assets, actors, entry points, controls and
#   applied controls you were given as they are, and add no control.
#
# The check also hands your function partial models in which the colleague got further (the
# personal-data asset and the privacy threats already written, for example): it must
# complete each of them. `Threat(id, title, category, actor, assets, entry_point, atlas,
# owasp, likelihood, impact, controls)` takes IDs for the actor, assets, entry point and
# controls; the given threat printed below shows the shape. The check reports what is still
# missing or wrong.

# %%
partial = lab01.partial_nlp_model()
display(plots.table(partial.threat_table(), caption="The partial model: three threats"))
display(plots.table(tm.controls_table(partial)[["id", "control", "NIST CSF", "SAIF"]],
                    caption="Its controls"))
print("assets:", "; ".join(f"{a.id} {a.name} ({a.kind})" for a in partial.assets))
print("actors:", "; ".join(f"{a.id} {a.name} ({a.kind})" for a in partial.actors))
print("entry points:", "; ".join(f"{e.id} {e.name}" for e in partial.entry_points))
print("a given threat:", partial.threat("NLP-T2"))
print("missing:", tm.describe_gaps(tm.gaps(partial), partial))


# %%
def complete_nlp_model(partial):
    ### BEGIN SOLUTION
    asset = {}  # the ID of the first asset of each kind
    for a in partial.assets:
        asset.setdefault(a.kind, a.id)
    assets = []
    if "personal data" not in asset:
        assets.append(Asset("A5", "customers' messages (names, card numbers, phones)",
                            "personal data"))
        asset["personal data"] = "A5"
    personal, data = asset["personal data"], asset["training data"]
    threats = [
        Threat("NLP-T4", "model reveals that a customer's complaint was in the training set",
               "membership_inference", "X4", (personal, data), "E5", ("AML.T0024.000",),
               ("ML04",), 2, 3, ("NLP-C4", "NLP-C5")),
        Threat("NLP-T5", "vocabulary of the shipped vectoriser leaks card-number fragments",
               "inversion", "X2", (personal, asset["model weights"]), "E4",
               ("AML.T0024.001", "AML.T0044"), ("ML03",), 3, 4, ("NLP-C4",)),
        Threat("NLP-T6", "messages with typos or non-native English are misrouted more often",
               "bias", None, (asset["predictions"],), "E6", ("AML.T0048.003",), (), 3, 3,
               ("NLP-C7",)),
        Threat("NLP-T7", "malicious package or pickled pipeline runs code on the chat servers",
               "supply_chain", "X3", (asset["software"], personal), "E3",
               ("AML.T0010.001", "AML.T0011.000"), ("ML06",), 2, 5, ("NLP-C6",)),
        Threat("NLP-T8", "flood of chaff messages clogs the queues and skews the retrain",
               "api_abuse", "X4", (asset["availability"], data), "E5",
               ("AML.T0046", "AML.T0029"), ("ML08",), 3, 3, ("NLP-C5", "NLP-C3")),
    ]
    done = {t.category for t in partial.threats}
    return partial.extended(assets=assets, threats=[t for t in threats if t.category not in done])
    ### END SOLUTION


# %%
complete_nlp_model = check(lab01.COMPLETE_NLP_MODEL, complete_nlp_model)
### BEGIN HIDDEN TESTS
grade(lab01.COMPLETE_NLP_MODEL, complete_nlp_model)
### END HIDDEN TESTS

# %%
completed = complete_nlp_model(partial)
print("gaps in the completed model:", tm.describe_gaps(tm.gaps(completed), completed))
models["nlp"] = completed.with_applied(models["nlp"].applied)
display(plots.table(models["nlp"].threat_table(), caption="Threats to the support triage"))

# %% [markdown]
# **Probe.** Is scam evasion real? A black-box search edits a detected scam one step at a
# time (delete a word, swap a letter for a look-alike, add an everyday word) and keeps the
# edit that lowers the scam score most; links, addresses and numbers are never touched, so
# the scam still works. How many detected scams pass within ten edits?

# %%
nlp_probe = tm.probe_nlp_edits(triage, nlp.X_test, nlp.y_test, nlp.extra["scam_index"],
                               n=40, max_edits=10)
print(nlp_probe.summary())
claims.claim("at least 30% of detected scams pass within 10 edits",
             nlp_probe.success_rate, at_least=0.3)
curve = nlp_probe.details["success within k edits"]
examples = nlp_probe.examples.assign(
    **{"now read as": [nlp.target_names[k] for k in nlp_probe.examples["now read as"]]})
display(plots.table(examples, caption="Scams that pass after a few edits"))
fig = plots.curves(list(curve), {"nlp": list(curve.values())}, xaxis_title="edits allowed",
                   yaxis_title="detected scams that pass",
                   title="Scam evasion: share of detected scams that pass, by edit budget")
fig.update_yaxes(tickformat=".0%", range=[0, 1])
fig

# %%
nlp_row = apply_probe("nlp", nlp_probe)

# %% [markdown]
# ## 3 · Recommender: the movie recommender
#
# Every rating is a training label and anyone can open an account: the data source *is* the
# public. The obvious threat is poisoning (shilling): fake accounts that rate a film up.

# %%
movies = load_dataset("recommender", seed=0)
recommender = systems.train_baseline("recommender", movies, seed=info["seed"])
print(f"baseline RMSE {recommender.evaluate(movies.X_test, movies.y_test)['rmse']:.3f}")
tm.dataflow_figure(models["recommender"], title="Recommender: data flow, trust boundaries, "
                                                "entry points")

# %%
display(plots.table(models["recommender"].threat_table(), caption="Threats to the recommender"))

# %% [markdown]
# **Probe.** Five fake accounts each rate an obscure film 5 stars, plus ten popular films at
# their average to look real; the recommender is retrained the same way. A control film
# that nobody attacked shows how much retraining alone moves a film.

# %%
rec_probe = tm.probe_recommender_shilling(
    recommender, movies.X_train, movies.y_train, n_fake=5, n_filler=10, seed=info["seed"],
    titles=movies.extra["titles"])
print(rec_probe.summary())
rd = rec_probe.details
print(f"target: {rd['target']} ({rd['target ratings before']} real ratings); "
      f"{rd['fake ratings']} fake ratings = {rd['share of all ratings']:.2%} of all ratings")
print(f"median rank among {rd['items']:,} films: {rd['median rank before']:.0f} -> "
      f"{rd['median rank after']:.0f}; users with it in their top 10: "
      f"{rd['users with target in top 10 before']} -> {rd['users with target in top 10 after']}")
print(f"mean predicted stars {rd['mean predicted stars before']:.2f} -> "
      f"{rd['mean predicted stars after']:.2f}; the control film rose for "
      f"{rd['control film: users whose ranking rose']:.0%} of users")
claims.claim("five fake accounts raise the target film for at least 70% of real users",
             rec_probe.success_rate, at_least=0.7)
claims.claim("the target rises for 20 points more of the users than the unattacked control film",
             rec_probe.success_rate - rd["control film: users whose ranking rose"], at_least=0.2)
rec_row = apply_probe("recommender", rec_probe)

# %% [markdown]
# ## 4 · Fraud: the card-transaction fraud scorer
#
# Fraudsters meet the scorer at every payment and learn from every decline. The simulator
# says what they control (lab 00): the amount, the hour, the category, the channel. The
# analysts' verdicts flow back as labels (the feedback arrow).

# %%
fraud = load_dataset("fraud", seed=0)
scorer = systems.train_baseline("fraud", fraud, seed=info["seed"])
print(f"baseline ROC AUC {scorer.evaluate(fraud.X_test, fraud.y_test)['roc_auc']:.3f}")
tm.dataflow_figure(models["fraud"], title="Fraud scorer: data flow, trust boundaries, "
                                          "entry points")

# %%
display(plots.table(models["fraud"].threat_table(), caption="Threats to the fraud scorer"))

# %% [markdown]
# **Probe.** Take the frauds the scorer alerts on (top 1% of scores, the analysts' budget).
# The fraudster only waits (pays up to six hours later) or pays less (75% or 50% of the
# amount); every history feature is recomputed from the card's real history and every
# variant is checked against the simulator's constraints. How many alerted frauds slip under
# the alert line?

# %%
fraud_probe = tm.probe_fraud_evasion(scorer, fraud, alert_rate=0.01, max_delay_hours=6,
                                     amount_fractions=(1.0, 0.75, 0.5))
print(fraud_probe.summary())
fd = fraud_probe.details
print(f"{fd['alerted frauds']} of {fd['frauds in test']} test frauds are alerted; "
      f"{fd['evaded at the full amount']:.0%} pass by waiting alone; the best single rule "
      f"{fd['best single rule (delay h, fraction)']} works for "
      f"{fd['best single rule success']:.0%}; {fd['variants valid']:.0%} of variants valid")
claims.claim("waiting or paying less lets at least 20% of alerted frauds pass",
             fraud_probe.success_rate, at_least=0.2)
assert fd["variants valid"] == 1.0, "every attacked transaction must respect the constraints"
display(plots.table(pd.Series(fd["success by scenario"], name="alerted frauds that pass")
                    .rename_axis("scenario").reset_index(), caption="By fraud scenario"))
fraud_row = apply_probe("fraud", fraud_probe)

# %% [markdown]
# Why can waiting work at all? It changes no amount, only the features computed from time:
# the hour, whether the hour is unusual for the card, and the velocities (transactions in the
# last day, seconds since the previous one). Our hypothesis, not tested here: a burst spread
# over a few hours looks more like ordinary use. Lab 02 attacks these features on purpose;
# lab 13 watches for the pattern.
#
# ## 5 · Medical: the breast-cancer diagnosis aid
#
# The aid is sold to clinics and answers through an API used by clinicians and research
# partners. It returns the full probability of malignancy.

# %%
medical = load_dataset("medical", seed=0)
diagnosis = systems.train_baseline("medical", medical, seed=info["seed"])
print(f"baseline accuracy {diagnosis.evaluate(medical.X_test, medical.y_test)['accuracy']:.3f}")
tm.dataflow_figure(models["medical"], title="Diagnosis aid: data flow, trust boundaries, "
                                            "entry points")

# %%
display(plots.table(models["medical"].threat_table(), caption="Threats to the diagnosis aid"))

# %% [markdown]
# **Probe.** Is theft real? A partner with an account sends made-up biopsies (random values
# within the range of 20 records it holds), one more than the model has features, and solves
# for the model's weights and bias from the returned probabilities (Tramer et al., 2016).
# Does the copy diagnose the other patients like the original?

# %%
med_probe = tm.probe_medical_extraction(diagnosis, medical.X_test[:20], medical.X_test,
                                        seed=info["seed"])
print(med_probe.summary())
print(f"largest probability difference between copy and original: "
      f"{med_probe.details['max probability difference']:.1e}")
print(f"{med_probe.queries} queries for {med_probe.details['features']} features")
claims.claim("d + 1 queries rebuild a copy that agrees with the aid on at least 95% of "
             "test patients", med_probe.success_rate, at_least=0.95)
med_row = apply_probe("medical", med_probe)

# %% [markdown]
# ## Risk assessment across the five systems
#
# ### Exercise 2 · Residual risk
#
# Write `residual_risk(likelihood, impact, controls)`: `controls` is the list of `Control`
# objects in place for this threat, each with `likelihood_reduction` and `impact_reduction`
# (whole steps). Return `(residual_likelihood, residual_impact, residual_score)` by the rule
# above: subtract the steps of all controls, never go below 1, score = likelihood x impact.

# %%
def residual_risk(likelihood, impact, controls):
    ### BEGIN SOLUTION
    res_l = max(1, likelihood - sum(c.likelihood_reduction for c in controls))
    res_i = max(1, impact - sum(c.impact_reduction for c in controls))
    return res_l, res_i, res_l * res_i
    ### END SOLUTION


# %%
residual_risk = check(lab01.RESIDUAL_RISK, residual_risk)
### BEGIN HIDDEN TESTS
grade(lab01.RESIDUAL_RISK, residual_risk)
### END HIDDEN TESTS

# %% [markdown]
# Your function now computes the register: one row per threat of the five systems, with the
# controls in place today, highest residual risk first. Each row names the lab that treats
# the threat, and says where its likelihood comes from: a probe (one threat per system) or
# the rubric's judgement (all the others).
#
# **A caveat on ranking and adding scores.** Likelihood and impact are *ordinal*: 4 means
# "more likely than 3", not "a third more likely", and a score of 12 need not be twice as bad
# as a 6. Ranking risks by L x I, and adding scores into a "total risk" per system (as this
# lab does below, and as the budget exercise minimises), is a convention that makes plans
# comparable, not a measurement; two rubrics that order every threat alike can rank the
# totals differently (L. A. Cox, "What's wrong with risk matrices?", *Risk Analysis* 28(2),
# 2008). Read the totals as a way to compare plans under one stated rubric, and look at the
# individual risks before deciding.

# %%
probed = {r.threat_id for r in (image_probe, nlp_probe, rec_probe, fraud_probe, med_probe)}
register = pd.concat([m.register(residual_fn=residual_risk) for m in models.values()],
                     ignore_index=True).sort_values(["residual", "inherent"], ascending=False,
                                                    kind="stable", ignore_index=True)
register["likelihood from"] = ["probe + rule" if i in probed else "rubric (judged)"
                               for i in register["id"]]
columns = ["id", "threat", "category", "ATLAS", "OWASP", "likelihood", "likelihood from",
           "impact", "inherent", "applied", "residual", "residual band", "treated in"]
display(plots.table(register[columns].head(12), caption="Risk register, top 12 of "
                                                         f"{len(register)} (today's controls)"))
assert (register["residual"] <= register["inherent"]).all()
for key, validate in [("ATLAS", frameworks.validate_atlas_id),
                      ("OWASP", frameworks.validate_owasp_id)]:
    ids = {i for cell in register[key] for i in cell.split(", ") if i}
    assert all(validate(i) == i for i in ids), f"an unknown {key} ID in the register"
owasp_used = {i for cell in register["OWASP"] for i in cell.split(", ") if i}
no_owasp = [t.category for m in models.values() for t in m.threats if not t.owasp]
assert set(no_owasp) <= {"bias"}, "only a bias threat carries no OWASP ID"
n_probed = int((register["likelihood from"] == "probe + rule").sum())
print(f"{len(register)} threats, {register['ATLAS'].str.split(', ').explode().nunique()} "
      f"ATLAS techniques, {len(owasp_used)} of the 10 OWASP ML Top 10 items ({len(no_owasp)} "
      f"bias threats carry none: the Top 10 has no bias item)")
print(f"likelihoods: {n_probed} from a probe and the rule, {len(register) - n_probed} judged "
      "with the rubric")
print(f"sum of the L x I scores (a convention, see above): {register['inherent'].sum()} "
      f"without controls -> {register['residual'].sum()} with today's")
assert owasp_used == set(frameworks.OWASP_ML_TOP10), "the register covers every OWASP item"

# %% [markdown]
# The risk matrix places each risk in its cell: left without any control, right with the
# controls in place today. Hover a dot for its threat.

# %%
tm.risk_matrix_figure(register, "both",
                      title=f"Risk matrix of the {len(register)} risks, without and with "
                            "today's controls")

# %% [markdown]
# ### The controls, and what they cost
#
# Each control carries its NIST CSF 2.0 function and SAIF element, the ATLAS mitigations it
# implements, the lab that builds it, its cost in person-weeks and its effect on the rubric.

# %%
controls = tm.controls_table(models.values())
display(plots.table(controls, caption="Controls of the five systems"))
print("NIST CSF functions used:", ", ".join(sorted(controls["NIST CSF"].unique())))

# %% [markdown]
# ### Exercise 3 · Choose controls under a budget
#
# Each team has 6 person-weeks a year for controls (today's included). Write
# `choose_controls(threats, controls, budget)` that returns the sorted tuple of control IDs
# whose total cost fits the budget and that leaves the lowest total residual risk
# (`tm.total_residual(threats, chosen_controls)` computes it; the check's cases have a
# single best set). Greedy choices are tempting; are they right? (The total is a sum of
# ordinal scores: "lowest" is lowest under this rubric's convention, see the caveat above.)

# %%
def choose_controls(threats, controls, budget):
    ### BEGIN SOLUTION
    import itertools

    best, best_key = (), None
    for k in range(len(controls) + 1):
        for subset in itertools.combinations(controls, k):
            cost = sum(c.cost for c in subset)
            if cost > budget:
                continue
            key = (tm.total_residual(threats, subset), cost)
            if best_key is None or key < best_key:
                best, best_key = tuple(sorted(c.id for c in subset)), key
    return best
    ### END SOLUTION


# %%
choose_controls = check(lab01.CHOOSE_CONTROLS, choose_controls)
### BEGIN HIDDEN TESTS
grade(lab01.CHOOSE_CONTROLS, choose_controls)
### END HIDDEN TESTS

# %%
BUDGET = 6
plan = {d: choose_controls(list(m.threats), list(m.controls), BUDGET)
        for d, m in models.items()}
rows = []
for d, m in models.items():
    greedy = lab01.greedy_controls(list(m.threats), list(m.controls), BUDGET)
    rows.append({
        "system": d, "today": ", ".join(m.applied),
        "residual today": m.register()["residual"].sum(),
        "plan (6 person-weeks)": ", ".join(plan[d]),
        "residual with plan": m.register(applied=plan[d])["residual"].sum(),
        "greedy by reduction/cost": m.register(applied=greedy)["residual"].sum(),
    })
plans = pd.DataFrame(rows)
display(plots.table(plans, caption="Controls chosen within 6 person-weeks per system"))
assert (plans["residual with plan"] <= plans["residual today"]).all()
assert (plans["residual with plan"] <= plans["greedy by reduction/cost"]).all()

# %% [markdown]
# ### Explore the ranking
#
# Tick controls (ctrl/cmd-click) or re-score a threat, and the ranking is redrawn. It starts
# with the plan above. (Run without a browser, the cell still draws the figure once.)

# %%
explorer = tm.RiskExplorer(models, applied=[c for ids in plan.values() for c in ids], top=15)
display(explorer.widget)
ranking = explorer.update()
print(explorer.summary.value.replace("<b>", "").replace("</b>", ""))
assert explorer.last_register["residual"].sum() == plans["residual with plan"].sum()
ranking

# %% [markdown]
# ### Hand it out: export the register
#
# `register_to_markdown` and `register_to_csv` write the register as a document an
# instructor can hand out or a team can track. Here they go to a temporary folder that is
# removed afterwards; pass your own path to keep them.

# %%
planned = pd.concat([m.register(applied=plan[d]) for d, m in models.items()],
                    ignore_index=True).sort_values("residual", ascending=False, kind="stable")
with tempfile.TemporaryDirectory(prefix="risk_register_") as tmp:  # removed afterwards
    out = Path(tmp)
    (out / "risk_register.md").write_text(tm.register_to_markdown(planned), encoding="utf-8")
    csv_text = tm.register_to_csv(planned, out / "risk_register.csv")
    print(f"wrote {out / 'risk_register.md'} and {out / 'risk_register.csv'} "
          f"({len(csv_text.splitlines()) - 1} rows)")
    assert len(pd.read_csv(out / "risk_register.csv")) == len(planned)
print("\n".join(tm.register_to_markdown(planned.head(3)).splitlines()[:4]))

# %% [markdown]
# ## Cross-domain summary
#
# One probe per system measured how exploitable one threat is on the baseline (with its 95%
# Wilson interval and its evaluation set); the rule turned it into a likelihood, the register
# into a risk, and the plan lowered the sum of the scores (a convention, not a measurement:
# see the caveat on ordinal scores). The defence of this lab is the plan, its cost in
# person-weeks, not accuracy: the controls are built in the labs named in the register.

# %%
probe_results = [image_probe, nlp_probe, rec_probe, fraud_probe, med_probe]
quality = {
    "image": ("accuracy", cnn.evaluate(image.X_test, image.y_test)["accuracy"]),
    "nlp": ("accuracy", triage.evaluate(nlp.X_test, nlp.y_test)["accuracy"]),
    "recommender": ("RMSE", recommender.evaluate(movies.X_test, movies.y_test)["rmse"]),
    "fraud": ("ROC AUC", scorer.evaluate(fraud.X_test, fraud.y_test)["roc_auc"]),
    "medical": ("accuracy", diagnosis.evaluate(medical.X_test, medical.y_test)["accuracy"]),
}
summary = pd.DataFrame([{
    "domain": r.domain, "baseline": f"{quality[r.domain][0]} {quality[r.domain][1]:.3f}",
    "probed threat": r.threat_id, "attack success": r.success_rate,
    "95% interval": f"{r.rate.low:.0%}-{r.rate.high:.0%}", "evaluation set": r.rate.on,
    "likelihood judged": prior[r.domain][r.threat_id], "likelihood (probe + rule)": r.likelihood,
    "total risk": models[r.domain].register(applied=())["inherent"].sum(),
    "residual today": plans.set_index("system").loc[r.domain, "residual today"],
    "residual with plan": plans.set_index("system").loc[r.domain, "residual with plan"],
} for r in probe_results])
display(plots.table(summary, caption="Five systems: probe (95% Wilson interval), likelihood "
                                      "and the sum of risk scores"))
fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=[
    "attack success of each probe on the baseline (95% CI)",
    "sum of L x I scores (ordinal: a convention)"])
fig.add_trace(go.Bar(x=summary["domain"], y=summary["attack success"], showlegend=False,
                     marker_color=[plots.DOMAIN_COLORS[d] for d in summary["domain"]],
                     error_y=dict(type="data", symmetric=False,
                                  array=[r.rate.high - r.rate.value for r in probe_results],
                                  arrayminus=[r.rate.value - r.rate.low for r in probe_results]),
                     text=[f"{v:.0%}" for v in summary["attack success"]],
                     textposition="inside"), row=1, col=1)
fig.add_trace(go.Scatter(x=summary["domain"], y=[r.threshold for r in probe_results],
                         mode="markers", name="threshold that shows the threat",
                         marker=dict(symbol="line-ew-open", size=28, color="#2B2D42",
                                     line=dict(width=2))), row=1, col=1)
for name, col, color in [("no controls", "total risk", plots.COLORS["baseline"]),
                         ("plan (6 person-weeks)", "residual with plan",
                          plots.COLORS["defended"])]:
    fig.add_trace(go.Bar(x=summary["domain"], y=summary[col], name=name, marker_color=color,
                         text=summary[col], textposition="outside"), row=1, col=2)
fig.update_yaxes(tickformat=".0%", range=[0, 1.15], row=1, col=1)
fig.update_layout(barmode="group", height=430, legend=dict(orientation="h", y=-0.15),
                  title="Five systems: one threat's exploitability measured, and the summed "
                        "risk scores before and after the plan")
fig

# %% [markdown]
# ## Reflection
#
# Answer each question in its cell; the rubric in the instructor's version gives the points.

# %% [markdown]
# ### POINTS: 3
# **1.** The FGSM probe flipped digits, yet the rule lowered the image evasion likelihood. Was
# that right? What probe would an outsider actually be able to run?
#
# ### BEGIN SOLUTION
# Model answer: mostly yes. FGSM needs the weights; a forger works black-box on paper, so the
# measured flip rate is exploitability under white-box conditions, an upper bound for an
# outsider, and it says nothing about the forger's motive or how exposed the reader is. A
# fairer probe is a black-box or transfer attack through a surrogate model, or physical
# changes (scanned strokes) as in lab 02; if that also works, raise the likelihood again.
#
# Rubric (3 points): 1 point for saying FGSM is white-box (needs the gradients or weights) and
# an outsider has no such access; 1 point for naming a probe an outsider can run (black-box
# queries, a transfer attack from a surrogate, physical or printed changes); 1 point for
# separating exploitability from likelihood (the rate says the attack works under the
# probe's conditions; motive and exposure are judged) or for saying when the likelihood
# should go back up.
# ### END SOLUTION

# %% [markdown]
# ### POINTS: 3
# **2.** The fraud probe only waited and paid less. Which threat does that make more urgent,
# and which control in the register would you fund first?
#
# ### BEGIN SOLUTION
# Model answer: evasion of the fraud scorer (FRD-T1): fraudsters learn from declines at no
# cost, and the probe needed only the changes a fraudster controls. Velocity rules and
# step-up authentication (FRD-C2) also treat card testing, and constraint-aware adversarial
# training (FRD-C1) is built in lab 02; monitoring for spread-out bursts is lab 13's job.
#
# Rubric (3 points): 1 point for naming the evasion threat of the fraud scorer and why it
# is cheap for the attacker (public access, feedback from every decline, only controllable
# changes); 1 point for choosing a control from the register and linking it to the
# mechanism (time and velocity features, alerts); 1 point for weighing its cost against the
# budget or saying which lab builds or tests it. Any defensible control earns the points if
# the reasoning ties it to the measured attack.
# ### END SOLUTION

# %% [markdown]
# ### POINTS: 4
# **3.** Pick a risk whose residual score stays high after the plan. What would you tell the
# board: accept it, transfer it (insurance, contract), or find budget?
#
# ### BEGIN SOLUTION
# Model answer: for example the medical bias risk: it needs subgroup data the vendor does not
# have. Accepting it needs a documented decision and a date to revisit (NIST CSF Govern);
# transferring it to the vendor by contract does not remove the harm to patients, so the
# honest answer is often to find budget or to restrict the aid's use. The score itself is
# ordinal: the board should hear the harm and who bears it, not only "12 of 25".
#
# Rubric (4 points): 1 point for picking a risk that really stays high in the planned
# register and saying why the plan leaves it (no control within budget, or the controls do
# not reach it); 1 point for a decision among accept, transfer, mitigate with more budget or
# avoid (restrict the use), with its reason; 1 point for the condition that makes it
# legitimate (a documented owner and review date for acceptance, or what a contract or
# insurance cannot transfer, such as harm to people); 1 point for presenting the risk in
# terms of harm rather than only its ordinal score.
# ### END SOLUTION

# %% [markdown]
# ## Further reading
#
# - A. Shostack, *Threat Modeling: Designing for Security*, Wiley 2014 (the four questions,
#   data-flow diagrams, trust boundaries).
# - MITRE ATLAS, <https://atlas.mitre.org/>; OWASP Machine Learning Security Top 10,
#   <https://owasp.org/www-project-machine-learning-security-top-10/>.
# - NIST, *The NIST Cybersecurity Framework (CSF) 2.0*, CSWP 29, 2024; NIST, *AI Risk
#   Management Framework 1.0*, NIST AI 100-1, 2023; A. Vassilev et al., *Adversarial Machine
#   Learning: A Taxonomy and Terminology of Attacks and Mitigations*, NIST AI 100-2e2023.
# - Google, *Secure AI Framework (SAIF)*, <https://saif.google>.
# - Microsoft, *Threat Modeling AI/ML Systems and Dependencies*, 2019 (learn.microsoft.com).
# - I. Goodfellow, J. Shlens and C. Szegedy, "Explaining and Harnessing Adversarial
#   Examples", ICLR 2015.
# - F. Tramer et al., "Stealing Machine Learning Models via Prediction APIs", USENIX
#   Security 2016.
# - B. Mobasher et al., "Toward Trustworthy Recommender Systems: An Analysis of Attack Models
#   and Algorithm Robustness", ACM TOIT 2007.
