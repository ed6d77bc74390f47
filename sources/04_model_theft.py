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
# # Lab 04 · Model theft: stealing a model through its API, and making theft costly and provable
#
# A model that took months of data and training answers questions for anyone who pays a few
# cents a query. A competitor, or a fraudster who wants to test evasions offline, can send it
# inputs of their own, record the answers and train a **copy**: model extraction. This lab
# steals all five systems through nothing but their prediction APIs, counts every query, and
# then makes theft harder (answers that say less, a monitor on the query stream) and provable
# (a watermark that survives in the copy), each defence tested against a thief who knows it.
#
# **Learning objectives.** After this lab you can
# 1. steal a model through its API (adversarial-robustness-toolbox's CopycatCNN and
#    KnockoffNets, distillation of a text model, top-k lists, approve/decline answers) and
#    measure the copy by its **fidelity** (agreement with the victim), with its interval,
#    against the number of queries;
# 2. solve for a logistic model's weights from d + 1 answers (equation solving) and from labels
#    alone (line search), and say what rounding does to it;
# 3. harden a prediction API (labels only, rounding, the reverse sigmoid, query budgets) and
#    measure what each costs honest users;
# 4. watch a query stream for theft (PRADA) and set its threshold on benign users;
# 5. watermark a model so that a stolen copy can be proven stolen, and test the claim against
#    a thief who tries to wash the mark out;
# 6. test each defence against a thief who knows it, and say plainly when it breaks.
#
# **Prerequisites:** lab 00 (the five systems), lab 02 (the fraud attacker's moves); linear
# algebra (solving a linear system); PyTorch basics.
# **Estimated time:** about 190 minutes of reading, exercises and questions (estimated
# from the notebook; the notebook itself runs in under a minute).

# %%
import math
import time

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from art.defences.postprocessor import ClassLabels
from IPython.display import Markdown, display
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from mlsec_helpers import claims, extraction, frameworks, plots, repro, stats, systems
from mlsec_helpers.checks import lab04
from mlsec_helpers.data import load_dataset
from mlsec_helpers.exercises import check, grade

info = repro.setup(seed=0)  # seeds python, numpy and torch; caps threads; picks the device
print(info)
SEED = info["seed"]  # every model and every attack below uses it; data and splits stay at seed 0
display(Markdown(frameworks.lab_header_markdown(4)))
section_seconds = {}  # how long each section takes, shown at the end
summary_rows = {}  # one row per domain for the cross-domain summary

# %% [markdown]
# ## The threat in one picture
#
# The thief never sees the victim's weights or data. It picks inputs (its **query pool**),
# asks the API, and trains its own model on the answers. Below, a victim classifier on two
# features, and a copy trained on the answers to 60 random queries: where the thief asked,
# the copy's boundary follows the victim's; where it did not, the two can part. Fidelity is
# the share of inputs on which they agree.

# %%
gen = np.random.default_rng(SEED)
X_toy = np.r_[gen.normal([-1.0, 0.5], 0.6, (150, 2)), gen.normal([1.0, -0.2], 0.6, (150, 2))]
y_toy = np.r_[np.zeros(150, int), np.ones(150, int)]
toy_victim = MLPClassifier((16,), max_iter=2000, random_state=SEED).fit(X_toy, y_toy)
toy_api = extraction.PredictionAPI(toy_victim.predict_proba, output="labels")
X_thief = gen.uniform(-3, 3, (60, 2))
toy_copy = LogisticRegression().fit(X_thief, extraction.answer_labels(toy_api(X_thief)))
grid = np.stack(np.meshgrid(np.linspace(-3, 3, 120), np.linspace(-3, 3, 120)), -1).reshape(-1, 2)
toy_fidelity = extraction.fidelity(toy_copy.predict(grid), toy_victim.predict(grid),
                                   on=f"{len(grid):,} points of the square")
fig = go.Figure()
for model, name, color in ((toy_victim, "victim", "baseline"), (toy_copy, "stolen copy",
                                                                   "attack")):
    z = model.predict_proba(grid)[:, 1].reshape(120, 120)
    fig.add_trace(go.Contour(x=np.linspace(-3, 3, 120), y=np.linspace(-3, 3, 120), z=z,
                             contours=dict(start=0.5, end=0.5, coloring="none"),
                             line=dict(color=plots.COLORS[color], width=3), name=name,
                             showscale=False, showlegend=True))
fig.add_trace(go.Scatter(x=X_thief[:, 0], y=X_thief[:, 1], mode="markers", name="thief's queries",
                         marker=dict(color=plots.COLORS["attack"], symbol="x", size=8)))
fig.update_layout(title=f"A copy from {toy_api.queries} label-only queries: fidelity "
                  f"{toy_fidelity.value:.2f} on the square", xaxis_title="feature 1",
                  yaxis_title="feature 2", height=460)
fig

# %% [markdown]
# ## The API and its answers
#
# Every section puts its victim behind `extraction.PredictionAPI`: the thief calls `api(X)`,
# every input row is one query (`api.queries` counts them; `max_queries` refuses more), and the
# provider chooses what an answer says: the probabilities (`"proba"`), the top label only
# (`"labels"`), probabilities rounded to a few decimals (`"rounded"`), or the reverse sigmoid
# (`"reverse_sigmoid"`, Lee et al., 2019), which keeps the top label and garbles the rest.
#
# ### Exercise 1 · A labels-only answer that is right
#
# adversarial-robustness-toolbox has a postprocessor for labels-only answers, `ClassLabels`.
# Run it on two rows whose top classes differ:

# %%
two_rows = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
print("ART's ClassLabels:\n", ClassLabels()(two_rows))

# %% [markdown]
# Both rows come back marking classes 0 *and* 2: in version 1.20.1 it marks every class that
# wins in *any* row of the batch. A "labels-only" defence built on it would look perfect
# against a thief (its answers name no label at all) while being broken. Write
# `labels_only(proba)`: for each row of `proba` (n, n_classes), a one-hot row of floats that
# marks its most probable class (ties: the lowest index), leaving `proba` unchanged; raise
# `ValueError` for an empty or non-2-D `proba`.

# %%
def labels_only(proba):
    ### BEGIN SOLUTION
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or proba.size == 0:
        raise ValueError(f"proba must be a non-empty (n, n_classes) array, got {proba.shape}")
    out = np.zeros_like(proba)
    out[np.arange(len(proba)), proba.argmax(axis=1)] = 1.0
    return out
    ### END SOLUTION


# %%
### POINTS: 2
labels_only = check(lab04.LABELS_ONLY, labels_only)
### BEGIN HIDDEN TESTS
grade(lab04.LABELS_ONLY, labels_only)
### END HIDDEN TESTS

# %%
print("yours:\n", labels_only(two_rows))
assert np.array_equal(labels_only(two_rows), extraction.one_hot_labels(two_rows))

# %% [markdown]
# The package's `extraction.one_hot_labels` does the same, and every labels-only API below
# uses it. A correct labels-only answer still hands the thief the label: the sections below
# measure how far that goes.

# %% [markdown]
# ## 1 · Image: stealing the digit reader
#
# The victim is lab 00's digits CNN, now served behind a prediction API. The thief never sees
# its weights or its gradients: it sends images and gets back what the API answers (the ten
# probabilities, or less once the API is hardened). The API counts every query, and every
# result below says how many the thief spent.

# %%

t0 = time.perf_counter()
image_data = load_dataset("image", seed=0)
# lab 00's CNN, its answers computed once per distinct image (each API still counts every query)
digits_cnn = extraction.CachedVictim(systems.reference_system("image", seed=SEED))
X_pool, X_eval, y_eval = image_data.X_train, image_data.X_test, image_data.y_test
X_other = extraction.upscaled_sklearn_digits()  # scikit-learn's 8x8 digits, scaled up
on_eval = f"{len(X_eval):,} test digits"
print(f"victim: {digits_cnn.system.source_}")
print(f"the thief's pools: {len(X_pool):,} digits from the victim's distribution (MNIST) and "
      f"{len(X_other):,} from another one (scikit-learn's 8x8 digits, upscaled)")
print(f"fidelity and accuracy are measured on the {on_eval}, which no thief queries")

# %% [markdown]
# Two thieves, both from adversarial-robustness-toolbox: **KnockoffNets** keeps the
# probabilities the API returns and distils them (temperature 3); **CopycatCNN** keeps only
# the top label. Each trains its own small CNN (it reads the digits at half resolution, with
# about 1/36 of the victim's arithmetic per image) on its queries and the answers. Fidelity is
# the share of test digits on which the copy agrees with the victim: a faithful copy is what a
# thief who wants to resell the model, or to craft evasion attacks offline, is after.

# %%
budgets = [250, 1_000, 4_000]


def theft_row(theft, pool_name):
    q = extraction.copy_quality(theft.model, digits_cnn, X_eval, y_eval, on=on_eval)
    return {"attack": theft.attack, "API answers": theft.access, "pool": pool_name,
            "queries": theft.queries, "fidelity": q.fidelity, "accuracy": q.accuracy}


theft_rows = []
for budget in budgets:  # the probability thief on the victim's distribution, at every budget
    api = extraction.PredictionAPI(digits_cnn.predict_proba)
    theft = extraction.steal(api, X_pool, budget, attack="knockoff", seed=SEED)
    theft_rows.append(theft_row(theft, "MNIST"))
    if budget == 1_000:
        knockoff_1k = theft
for attack, pool_name, pool in [("copycat", "MNIST", X_pool),
                                ("knockoff", "sklearn 8x8", X_other),
                                ("copycat", "sklearn 8x8", X_other)]:
    api = extraction.PredictionAPI(digits_cnn.predict_proba)
    theft = extraction.steal(api, pool, 1_000, attack=attack, seed=SEED)
    theft_rows.append(theft_row(theft, pool_name))
    if (attack, pool_name) == ("copycat", "MNIST"):
        copycat_1k = theft

thefts = pd.DataFrame(theft_rows)


def fid(attack, pool_name, queries=1_000, rows=thefts):
    row = rows[(rows.attack == attack) & (rows.pool == pool_name) & (rows.queries == queries)]
    return row.fidelity.iloc[0]


display(plots.table(thefts.assign(fidelity=thefts.fidelity.map(str),
                                  accuracy=thefts.accuracy.map(str)),
                    caption="Thefts of the digits CNN (fidelity: agreement with the victim)"))

# %%
fig = go.Figure()
prob = thefts[(thefts.attack == "KnockoffNets") & (thefts.pool == "MNIST")]
fig.add_trace(go.Scatter(
    x=prob.queries, y=[r.value for r in prob.fidelity], name="probabilities, MNIST pool",
    mode="lines+markers", line=dict(color=plots.COLORS["attack"], width=2.5),
    error_y=dict(type="data", symmetric=False,
                 array=[r.high - r.value for r in prob.fidelity],
                 arrayminus=[r.value - r.low for r in prob.fidelity])))
for (attack, pool_name), color, symbol in [
        (("CopycatCNN", "MNIST"), plots.COLORS["accent"], "diamond"),
        (("KnockoffNets", "sklearn 8x8"), plots.COLORS["neutral"], "square"),
        (("CopycatCNN", "sklearn 8x8"), plots.COLORS["baseline"], "x")]:
    r = fid(attack, pool_name)
    access = "labels" if attack == "CopycatCNN" else "probabilities"
    fig.add_trace(go.Scatter(
        x=[1_000], y=[r.value], name=f"{access}, {pool_name} pool", mode="markers",
        marker=dict(color=color, size=11, symbol=symbol),
        error_y=dict(type="data", symmetric=False, array=[r.high - r.value],
                     arrayminus=[r.value - r.low])))
fig.update_layout(title="Fidelity of the stolen digit reader against the thief's query budget",
                  xaxis_title="queries to the API", yaxis_title=f"fidelity on {on_eval}",
                  height=400)
fig.update_xaxes(type="log")
fig.show()

# %%
fid_prob, fid_label = fid("KnockoffNets", "MNIST"), fid("CopycatCNN", "MNIST")
fid_prob_other = fid("KnockoffNets", "sklearn 8x8")
fid_label_other = fid("CopycatCNN", "sklearn 8x8")
claims.claim("image: probability thief's fidelity at 1,000 queries", fid_prob.value,
             at_least=0.93)
claims.claim("image: label thief's fidelity at 1,000 queries", fid_label.value, at_least=0.90)
claims.claim("image: fidelity lost with an other-distribution pool (probabilities)",
             fid_prob.value - fid_prob_other.value, at_least=0.08)
claims.claim("image: fidelity lost with an other-distribution pool (labels)",
             fid_label.value - fid_label_other.value, at_least=0.08)
claims.claim("image: 250 MNIST queries beat 1,000 other-distribution queries by",
             fid("KnockoffNets", "MNIST", 250).value - fid_prob_other.value, at_least=0.05)
print(f"1,000 queries from MNIST: probabilities {fid_prob}, labels {fid_label}")
print(f"1,000 queries from scikit-learn's digits: probabilities {fid_prob_other}, labels "
      f"{fid_label_other}")

# %% [markdown]
# ### Defence 1: harden the answers
#
# The API can answer less: the top label only, probabilities rounded to two decimals, or the
# reverse sigmoid of Lee et al. (2019), which keeps the top label and garbles the rest of the
# distribution. The probability thief (KnockoffNets, 1,000 queries from MNIST) keeps whatever
# the hardened API gives it. A labels-only API gives every thief exactly what CopycatCNN
# keeps, so the label thief above is already the theft of a labels-only API (checked below).

# %%
labels_api = extraction.PredictionAPI(digits_cnn.predict_proba, output="labels")
labels_only_is_copycat = np.array_equal(labels_api(copycat_1k.X),
                                        extraction.one_hot_labels(copycat_1k.answers))
print(f"a labels-only API answers CopycatCNN's {copycat_1k.queries:,} queries exactly as "
      f"CopycatCNN reads the undefended API's answers: {labels_only_is_copycat}")
hardened = {"labels": (copycat_1k, fid_label)} if labels_only_is_copycat else {}
for output in ["rounded", "reverse_sigmoid"] + ([] if labels_only_is_copycat else ["labels"]):
    api = extraction.PredictionAPI(digits_cnn.predict_proba, output=output)
    theft = extraction.steal(api, X_pool, 1_000, attack="knockoff", seed=SEED)
    hardened[output] = (theft, extraction.copy_quality(theft.model, digits_cnn, X_eval, y_eval,
                                                        on=on_eval).fidelity)

# %% [markdown]
# **The thief who knows the defence.** Against labels only and rounding the thief has nothing
# to undo: it keeps what it gets. The reverse sigmoid keeps the top label, so a thief who
# knows it is there throws the garbled probabilities away and keeps the top label: CopycatCNN
# on the reverse-sigmoid API. If its queries are the same images and their top labels the same
# as through the undefended API (checked below), it trains exactly the label thief of the
# first table.

# %%
rs_theft = hardened["reverse_sigmoid"][0]
rs_keeps_top = np.array_equal(extraction.answer_labels(rs_theft.answers),
                              digits_cnn.predict(rs_theft.X))
same_queries = np.array_equal(rs_theft.X, copycat_1k.X)
print(f"reverse sigmoid kept the victim's top label on every one of {rs_theft.queries:,} "
      f"queries: {rs_keeps_top}; the adaptive thief's queries are CopycatCNN's: {same_queries}")
if rs_keeps_top and same_queries:
    fid_rs_adaptive = fid_label  # the same (query, top label) pairs: the same training run
else:
    api = extraction.PredictionAPI(digits_cnn.predict_proba, output="reverse_sigmoid")
    theft = extraction.steal(api, X_pool, 1_000, attack="copycat", seed=SEED)
    fid_rs_adaptive = extraction.copy_quality(theft.model, digits_cnn, X_eval, y_eval,
                                               on=on_eval).fidelity

proba_eval = digits_cnn.predict_proba(X_eval)
costs = {}
defence_rows = [{"API answers": "proba (undefended)", "queries": 1_000,
                 "thief's fidelity": fid_prob, "adaptive thief's fidelity": fid_prob,
                 "honest answers, top label changed": stats.proportion(0, len(X_eval),
                                                                        on=on_eval),
                 "honest answers, mean distortion (TV)": 0.0}]
for output in ["labels", "rounded", "reverse_sigmoid"]:
    theft, fid_hardened = hardened[output]
    honest = extraction.PredictionAPI(digits_cnn.predict_proba, output=output)(X_eval)
    costs[output] = extraction.answer_cost(honest, proba_eval, on=on_eval)
    defence_rows.append({
        "API answers": output, "queries": theft.queries, "thief's fidelity": fid_hardened,
        "adaptive thief's fidelity": fid_rs_adaptive if output == "reverse_sigmoid"
        else fid_hardened,
        "honest answers, top label changed": costs[output].top1_changed,
        "honest answers, mean distortion (TV)": costs[output].mean_tv})
defences = pd.DataFrame(defence_rows)
rate_columns = ["thief's fidelity", "adaptive thief's fidelity",
                "honest answers, top label changed"]
display(plots.table(defences.assign(**{c: defences[c].map(str) for c in rate_columns}),
                    caption="Hardened answers: the thief, the adaptive thief, honest users"))

# %%
fid_rs, fid_rounded = hardened["reverse_sigmoid"][1], hardened["rounded"][1]
claims.claim("image: labels-only answers, the thief's fidelity", fid_label.value,
             at_least=0.90)
claims.claim("image: rounded answers, the probability thief's fidelity", fid_rounded.value,
             at_least=0.90)
claims.claim("image: reverse sigmoid, the adaptive (top-label) thief's fidelity",
             fid_rs_adaptive.value, at_least=0.90)
claims.claim("image: reverse sigmoid, mean distortion of honest answers (TV)",
             costs["reverse_sigmoid"].mean_tv, at_least=0.5)
print(f"reverse sigmoid: the probability thief {fid_prob:.3f} -> {fid_rs:.3f}, the thief who "
      f"keeps the top label {fid_rs_adaptive:.3f}; honest answers moved by "
      f"{costs['reverse_sigmoid'].mean_tv:.2f} in total variation on average")

# %% [markdown]
# ### Defence 2: watch the query stream (PRADA)
#
# PRADA (Juuti et al., 2019) keeps, for each client, the distance from every new query to the
# nearest earlier query the victim gave the same label. A benign user's digits give distances
# that look normally distributed; a thief who makes synthetic queries by small steps from a
# few natural images gives many tiny distances and a few large ones. The detector raises an
# alarm when Shapiro-Wilk's W of the distances falls below a threshold, set here on 20 benign
# streams of 200 MNIST digits and tested on 20 others. At the alarm the provider blocks the
# client, who keeps the answers it got so far.
#
# Three thieves meet it, each with 1,000 queries: one that starts from 50 natural digits and
# steps from them in small random directions (in the manner of Papernot et al.'s synthetic
# queries), one that knows the detector and disguises the same 50 seeds (each synthetic query
# a seed shifted by up to two pixels, a step as large as that between two natural digits, and
# every other query a public scikit-learn digit), and KnockoffNets with its natural MNIST
# queries.

# %%
stream_rng = np.random.default_rng(SEED)


def benign_streams(X, count=20, length=200):
    picks = [X[stream_rng.choice(len(X), length, replace=False)] for _ in range(count)]
    return [(x, digits_cnn.predict(x)) for x in picks]


calibration = extraction.calibrate_prada(benign_streams(X_pool), margin=0.08)
threshold = calibration.threshold
honest_scans = [extraction.prada_scan(x, y, threshold=threshold)
                for x, y in benign_streams(X_eval)]
false_alarms = sum(s.first_alarm is not None for s in honest_scans)

seeds_50 = X_pool[stream_rng.choice(len(X_pool), 50, replace=False)]
streams = {
    "synthetic (small steps)": extraction.synthetic_queries(seeds_50, 1_000, step=0.1,
                                                             seed=SEED),
    "disguised (shifts, mixed with public digits)": extraction.disguised_queries(
        seeds_50, X_other, 1_000, max_shift=2, seed=SEED),
    "KnockoffNets (natural MNIST)": knockoff_1k.X,
}
prada_rows, prada_scans = [], {}
for name, X_stream in streams.items():
    api = extraction.PredictionAPI(digits_cnn.predict_proba, log=True)
    answers = api(X_stream)
    scan = extraction.prada_scan(X_stream, extraction.answer_labels(answers),
                                  threshold=threshold)
    prada_scans[name] = scan
    answered = scan.first_alarm or len(X_stream)  # the provider blocks the client at the alarm
    if name.startswith("KnockoffNets") and scan.first_alarm is None:
        stolen_fid = fid_prob  # unblocked: the copy of the first table
    else:
        model = extraction.train_thief(X_stream[:answered], answers[:answered], temperature=3,
                                        seed=SEED)
        stolen_fid = extraction.copy_quality(model, digits_cnn, X_eval, y_eval,
                                              on=on_eval).fidelity
    prada_rows.append({"query stream": name, "queries sent": len(X_stream),
                       "first alarm at query": scan.first_alarm or "none",
                       "lowest W": scan.w.min(), "queries answered": answered,
                       "fidelity of what it stole": stolen_fid})
prada_table = pd.DataFrame(prada_rows)
print(f"threshold W < {threshold:.3f} (lowest W on 20 benign calibration streams "
      f"{calibration.benign_min_w.min():.3f}, less {calibration.margin})")
print(f"false alarms on 20 new benign streams of 200 test digits: {false_alarms} of 20, "
      f"{stats.proportion(false_alarms, 20, on='20 benign streams')}")
display(plots.table(prada_table.assign(**{"fidelity of what it stole":
                                          prada_table["fidelity of what it stole"].map(str)}),
                    caption="PRADA over each thief's query stream (blocked at the alarm)"))

# %%
fig = go.Figure()
for (name, scan), color in zip(prada_scans.items(), [plots.COLORS["attack"],
                                                     plots.COLORS["accent"],
                                                     plots.COLORS["neutral"]], strict=True):
    fig.add_trace(go.Scatter(x=scan.queries, y=scan.w, name=name, mode="lines",
                             line=dict(color=color, width=2.5)))
for k, scan in enumerate(honest_scans):
    fig.add_trace(go.Scatter(x=scan.queries, y=scan.w, mode="lines", showlegend=k == 0,
                             name="20 benign users", line=dict(color=plots.COLORS["defended"],
                                                               width=1), opacity=0.5))
fig.add_hline(y=threshold, line_dash="dash", annotation_text="alarm threshold")
fig.update_layout(title="PRADA's statistic over each query stream",
                  xaxis_title="queries seen", yaxis_title="Shapiro-Wilk W", height=400)
fig.show()

# %%
synthetic_alarm = prada_scans["synthetic (small steps)"].first_alarm
claims.claim("image: PRADA catches the synthetic-query thief within (queries)",
             synthetic_alarm if synthetic_alarm is not None else 10_000, at_most=200)
claims.claim("image: PRADA false alarms on 20 benign streams", false_alarms, at_most=0)
disguised = prada_scans["disguised (shifts, mixed with public digits)"]
fid_disguised = prada_table["fidelity of what it stole"].iloc[1]
natural = prada_scans["KnockoffNets (natural MNIST)"]
claims.claim("image: KnockoffNets' natural queries, lowest W above the threshold by",
             natural.w.min() - threshold, at_least=0.0)
claims.claim("image: the disguised thief's lowest W stays above the threshold by",
             disguised.w.min() - threshold, at_least=0.0)
claims.claim("image: the disguised thief's fidelity after 1,000 unflagged queries",
             fid_disguised.value, at_least=0.85)

# %% [markdown]
# ### Defence 3: watermark the answers (DAWN) and test a suspect model
#
# DAWN (Szyller et al., 2021) does not stop the theft; it makes it provable. A keyed hash of
# each query picks about 5% of them, and the API answers those with a wrong label (the top
# class and a keyed other class swap their probabilities). The owner keeps the marked queries
# and their labels. A model that fits its training answers closely learns some of the wrong
# labels; a model that never saw them gives such a label only by chance (we assume 1 in 10,
# which errs on the side of the accused). The owner's test is a one-sided binomial test at
# p < 0.001. The thief here is CopycatCNN trained for 30 epochs, to fit every answer it paid for.

# %%
dawn_api = extraction.DawnAPI(extraction.PredictionAPI(digits_cnn.predict_proba),
                               key=f"owner secret, client 42, seed {SEED}".encode(),
                               fraction=0.05)
wm_theft = extraction.steal(dawn_api, X_pool, 1_000, attack="copycat", epochs=30, seed=SEED)
watermark = dawn_api.watermark()

# images the thief did not send: an independent party's own digits, and the thief's fresh ones
sent = {x.tobytes() for x in wm_theft.X}
unqueried = np.array([i for i, x in enumerate(X_pool) if x.tobytes() not in sent])
pick_rng = np.random.default_rng(SEED + 1)
own, fresh = np.split(pick_rng.choice(unqueried, 2_000, replace=False), 2)
# an independent model: someone's own CNN, trained on 1,000 digits they labelled themselves
independent = extraction.train_thief(X_pool[own], np.eye(10)[image_data.y_train[own]],
                                      seed=SEED + 1)
# the adaptive thief: distil the stolen copy on 1,000 digits it never sent to the API
distilled = extraction.distil(wm_theft.model, X_pool[fresh], seed=SEED)

suspects = {"stolen through the watermarked API": wm_theft.model,
            "stolen, then distilled on fresh digits": distilled,
            "independent (own labelled digits)": independent,
            "stolen through the unmarked API (same queries)": copycat_1k.model}
tests = {name: extraction.ownership_test(model, watermark) for name, model in suspects.items()}
suspect_fid = {name: extraction.copy_quality(model, digits_cnn, X_eval, y_eval,
                                              on=on_eval).fidelity
               for name, model in suspects.items()}
ownership = pd.DataFrame([
    {"suspect model": name, "marked queries matched": str(t.rate), "p-value": f"{t.p_value:.2g}",
     "ownership shown": t.verified, "fidelity": str(suspect_fid[name])}
    for name, t in tests.items()])
print(f"{dawn_api.queries:,} queries answered, {len(watermark.labels)} of them marked")
display(plots.table(ownership, caption="DAWN ownership test on each suspect model"))

# %%
honest_dawn = extraction.DawnAPI(extraction.PredictionAPI(digits_cnn.predict_proba),
                                  key=b"owner secret, an honest client", fraction=0.05)
costs["DAWN watermark"] = extraction.answer_cost(honest_dawn(X_eval), proba_eval, on=on_eval)
t_stolen, t_distilled = tests["stolen through the watermarked API"], \
    tests["stolen, then distilled on fresh digits"]
t_independent = tests["independent (own labelled digits)"]
t_unmarked = tests["stolen through the unmarked API (same queries)"]
claims.claim("image: marked queries behind the ownership test", len(watermark.labels),
             at_least=25)
claims.claim("image: watermark p-value on the stolen model", t_stolen.p_value, at_most=1e-3)
claims.claim("image: watermark p-value on an independent model", t_independent.p_value,
             at_least=0.05)
claims.claim("image: watermark p-value on the copy stolen without the watermark",
             t_unmarked.p_value, at_least=0.05)
print(f"stolen: {t_stolen.rate}; distilled: {t_distilled.rate}; "
      f"independent: {t_independent.rate}")
claims.claim("image: watermark p-value after the thief distils its copy", t_distilled.p_value,
             at_least=0.01)
claims.claim("image: fidelity of the distilled copy", suspect_fid[
    "stolen, then distilled on fresh digits"].value, at_least=0.85)

# %% [markdown]
# ### What each defence costs an honest user
#
# An honest user sends natural digits (here the 1,000 test digits, or 20 streams of 200) and
# reads the answers. Hardening moves the probabilities they read (total variation: half the
# summed absolute change, 0 for none, 1 for all); the watermark gives some of them a wrong
# label; the detector can block them by mistake.

# %%
cost_rows = [{"defence": "labels only", "what an honest user loses":
              "the confidence of each answer", "answers with a wrong top label":
              str(costs["labels"].top1_changed), "mean distortion (TV)": costs["labels"].mean_tv},
             {"defence": "rounded to 2 decimals", "what an honest user loses":
              "small probabilities", "answers with a wrong top label":
              str(costs["rounded"].top1_changed), "mean distortion (TV)":
              costs["rounded"].mean_tv},
             {"defence": "reverse sigmoid", "what an honest user loses":
              "every probability but the order of the top one", "answers with a wrong top label":
              str(costs["reverse_sigmoid"].top1_changed), "mean distortion (TV)":
              costs["reverse_sigmoid"].mean_tv},
             {"defence": "DAWN watermark (5%)", "what an honest user loses":
              "the right answer on marked queries", "answers with a wrong top label":
              str(costs["DAWN watermark"].top1_changed), "mean distortion (TV)":
              costs["DAWN watermark"].mean_tv},
             {"defence": "PRADA detector", "what an honest user loses":
              "service, if blocked by a false alarm", "answers with a wrong top label":
              f"blocked streams: {stats.proportion(false_alarms, 20, on='20 benign streams')}",
              "mean distortion (TV)": 0.0}]
display(plots.table(pd.DataFrame(cost_rows), caption="What each defence costs an honest user"))
claims.claim("image: DAWN's wrong answers to an honest user (share)",
             costs["DAWN watermark"].top1_changed.value, at_most=0.10)

# %% [markdown]
# **What changed and why.** With 1,000 queries from the victim's distribution both thieves
# copied the digit reader closely; from another distribution's digits the same budget bought a
# much worse copy, worse than 250 queries from the right one. Hardened answers did not stop a
# thief that keeps the top label: labels only and rounding left it a close copy, and the
# reverse sigmoid, which distorted honest answers the most, did not hold against a thief who
# kept only the top label. PRADA blocked the thief who made its queries by small steps, raised
# no alarm on the benign streams, and saw nothing wrong in a thief who sent natural digits or
# disguised its steps. The watermark showed the theft of a copy that fit its answers and
# stayed silent on the models that never saw the marks; distilling the copy on fresh digits
# shed it. The figures of this run:

# %%
display(Markdown(
    f"- theft, 1,000 queries, MNIST pool: probabilities {fid_prob}, labels {fid_label}; "
    f"scikit-learn pool: {fid_prob_other:.3f} and {fid_label_other:.3f}\n"
    f"- reverse sigmoid: the probability thief {fid_rs:.3f}, the top-label thief "
    f"{fid_rs_adaptive:.3f}; honest answers moved by "
    f"{costs['reverse_sigmoid'].mean_tv:.2f} (TV)\n"
    f"- PRADA: synthetic thief blocked after {synthetic_alarm} queries (copy fidelity "
    f"{prada_table['fidelity of what it stole'].iloc[0]:.3f}); disguised thief unflagged "
    f"after {disguised.queries[-1]:,} queries (fidelity {fid_disguised:.3f}); "
    f"{false_alarms} false alarms on 20 benign streams\n"
    f"- DAWN: stolen copy matched {t_stolen.matches} of {len(watermark.labels)} marks "
    f"(p = {t_stolen.p_value:.1e}); distilled copy {t_distilled.matches} (p = "
    f"{t_distilled.p_value:.2f}); independent model {t_independent.matches}; "
    f"{costs['DAWN watermark'].top1_changed.value:.1%} of honest answers wrong"))

section_seconds["image"] = time.perf_counter() - t0
summary_rows["image"] = {
    "attack": "KnockoffNets (ART), MNIST pool",
    "access": "probabilities",
    "queries": 1_000,
    "fidelity before": fid_prob.value,
    "defence": "reverse sigmoid answers",
    "fidelity after": fid_rs.value,
    "adaptive attacker": "keeps the top label only (CopycatCNN)",
    "fidelity, adaptive": fid_rs_adaptive.value,
    "cost to honest users": f"answers moved by {costs['reverse_sigmoid'].mean_tv:.2f} in "
                            "total variation (top label kept)",
}
print(f"image section: {section_seconds['image']:.1f} s")

# %% [markdown]
# ## 2 · NLP: stealing the message triage
#
# The bank offers its triage model as an API: send a message, get back the probability of
# each of the nine labels (eight intents and "scam"). A competitor, or a fraudster who wants a
# private copy to test scams against offline, wants the model without paying for it.
#
# **What the thief sees**: the API's answer for any text it sends, and nothing else (no
# weights, no training data). Every text is one query, counted by the API.
# **What the thief has**: texts that look like the bank's traffic. Here the course's message
# generator with a seed of the thief's own stands in for a scraped or public corpus of
# support messages: same kind of text, none of the victim's messages, no labels.

# %%

t_nlp = time.perf_counter()
nlp = load_dataset("nlp", seed=0)
triage = systems.train_baseline("nlp", nlp, seed=SEED)  # the victim: lab 00's TF-IDF + LR
# The referee's view: the victim's own labels on the 800 test messages (not the thief's
# queries; they measure how faithful a copy is).
victim_test = triage.predict(nlp.X_test)
EVAL_ON = f"{len(nlp.X_test)} test messages"
pool = extraction.surrogate_corpus(1600, seed=1000 + SEED)  # the thief's texts, unseen by the bank
print(f"victim accuracy {triage.evaluate(nlp.X_test, nlp.y_test)['accuracy']:.3f}; "
      f"the thief holds {len(pool)} unlabelled messages, e.g. {pool[0]!r}")

# %% [markdown]
# ### The theft, measured against the query budget
#
# The thief sends its texts, keeps the answers, and trains a copy on them. The copy is a
# lighter model than the victim (word n-grams and a ridge regression per label, no
# character n-grams): it trains in a fraction of a second, so we can train one per budget.
# Fidelity (how often the copy's label agrees with the victim's) is measured on the 800 test
# messages. Two thieves: one learns from the probabilities, one only from the top label.

# %%
BUDGETS = [100, 200, 400, 800, 1600]
FULL = BUDGETS[-1]
api = extraction.PredictionAPI(triage.predict_proba, output="proba")
curve_proba = extraction.theft_curve(api, pool, BUDGETS, nlp.X_test, victim_test, on=EVAL_ON)
api_labels = extraction.PredictionAPI(triage.predict_proba, output="labels")
curve_labels = extraction.theft_curve(api_labels, pool, BUDGETS, nlp.X_test, victim_test,
                                on=EVAL_ON)
nlp_queries = api.queries
display(plots.table(pd.DataFrame({
    "queries": BUDGETS,
    "fidelity, answers = probabilities": [f"{r:.3f}" for r in curve_proba["fidelity"]],
    "fidelity, answers = top label only": [f"{r:.3f}" for r in curve_labels["fidelity"]],
}), caption=f"Fidelity of the stolen copy [95% Wilson interval] on {EVAL_ON}"))
fid_full = curve_proba["fidelity"].iloc[-1]
fid_labels_full = curve_labels["fidelity"].iloc[-1]
print(f"after {nlp_queries} queries the copy agrees with the victim on {fid_full}")
claims.claim(f"the copy stolen with {FULL} queries agrees with the victim on most test messages "
             "(fidelity)", fid_full.value, at_least=0.90)
claims.claim("top labels alone cost the thief little (fidelity, probabilities minus labels, "
             f"{FULL} queries)", fid_full.value - fid_labels_full.value, at_most=0.03)
fig = plots.curves(BUDGETS, {"answers: probabilities": curve_proba["value"],
                             "answers: top label only": curve_labels["value"]},
                   log_x=True, xaxis_title="queries (texts sent to the API)",
                   yaxis_title=f"fidelity on {EVAL_ON}",
                   title="NLP: fidelity of the stolen triage model against the query budget")
fig

# %% [markdown]
# ### Defence 1: harden the answers
#
# The API can give less away: the top label only, probabilities rounded to two decimals, or
# the reverse sigmoid (Lee et al., 2019), which keeps the top label and falsifies the rest of
# the probabilities. The thief below trains on whatever the API answers, as before.
# The cost to honest users: do they still get the right label, and how far off is the scam
# probability they are shown?

# %%
hardened = {}
for output in ("rounded", "reverse_sigmoid"):
    api_h = extraction.PredictionAPI(triage.predict_proba, output=output)
    answers = api_h(pool)
    hardened[output] = extraction.fidelity(
        extraction.steal_text_model(pool, answers).predict(nlp.X_test), victim_test, on=EVAL_ON)
# The thief who knows the reverse sigmoid falsifies the probabilities keeps only the top label.
adaptive_rs = extraction.fidelity(
    extraction.steal_text_model(pool, answers, labels_only=True).predict(nlp.X_test), victim_test,
    on=EVAL_ON)
true_p = triage.predict_proba(nlp.X_test)
shown = extraction.harden(true_p, "reverse_sigmoid")
scam = nlp.extra["scam_index"]
top1_kept = stats.proportion(int((shown.argmax(1) == true_p.argmax(1)).sum()), len(true_p),
                             on=EVAL_ON)
scam_shift = float(np.abs(shown[:, scam] - true_p[:, scam]).mean())
display(plots.table(pd.DataFrame([
    {"API answers": "probabilities", "thief": "soft targets", "fidelity": f"{fid_full:.3f}"},
    {"API answers": "rounded (2 decimals)", "thief": "soft targets",
     "fidelity": f"{hardened['rounded']:.3f}"},
    {"API answers": "reverse sigmoid", "thief": "soft targets",
     "fidelity": f"{hardened['reverse_sigmoid']:.3f}"},
    {"API answers": "reverse sigmoid", "thief": "adaptive: top label only",
     "fidelity": f"{adaptive_rs:.3f}"},
    {"API answers": "top label only", "thief": "top label", "fidelity": f"{fid_labels_full:.3f}"},
]), caption=f"Fidelity [95% Wilson interval] on {EVAL_ON} after {FULL} queries"))
print(f"reverse sigmoid, honest users: top label unchanged on {top1_kept}; the scam "
      f"probability shown is off by {scam_shift:.3f} on average")
best_hardening = min(hardened["rounded"].value, hardened["reverse_sigmoid"].value,
                     fid_labels_full.value)
claims.claim("no hardening of the answers cuts fidelity by more than 5 points (probabilities "
             "minus the best hardening)", fid_full.value - best_hardening, at_most=0.05)
claims.claim("the reverse sigmoid keeps honest users' top label (share of test messages)",
             top1_kept.value, at_least=0.99)

# %% [markdown]
# The copy needs labels, not probabilities: each answer's top label carries most of what the
# thief learns, so hardening the probabilities barely slows it. What does slow it is the
# number of answers (the curve above).
#
# ### Defence 2: a query quota per API key
#
# Each API key may ask `QUOTA` = 200 questions a day. The thief with one key gets 200 answers,
# then is refused.

# %%
QUOTA = 200
key = extraction.PredictionAPI(triage.predict_proba, output="labels", max_queries=QUOTA)
got = key(pool[:QUOTA])
try:
    key(pool[QUOTA:QUOTA + 1])
except extraction.QueryBudgetExceeded as refusal:
    print("refused:", refusal)
one_key = extraction.fidelity(
    extraction.steal_text_model(pool[:QUOTA], got).predict(nlp.X_test), victim_test, on=EVAL_ON)

# %% [markdown]
# **An attacker who knows the defence** opens more keys (free sign-ups, stolen credentials) and
# spreads the queries over them: `FULL / QUOTA` = 8 keys, each under its quota, top labels
# only.

# %%
n_keys = FULL // QUOTA
keys = [extraction.PredictionAPI(triage.predict_proba, output="labels", max_queries=QUOTA)
        for _ in range(n_keys)]
spread = extraction.query_with_keys(keys, pool)
many_keys = extraction.fidelity(
    extraction.steal_text_model(pool, spread).predict(nlp.X_test), victim_test, on=EVAL_ON)
assert sum(k.queries for k in keys) == FULL and max(k.queries for k in keys) <= QUOTA
display(plots.table(pd.DataFrame([
    {"thief": "no quota", "keys": 1, "queries": FULL, "fidelity": f"{fid_labels_full:.3f}"},
    {"thief": f"quota {QUOTA} a key", "keys": 1, "queries": QUOTA, "fidelity": f"{one_key:.3f}"},
    {"thief": "adaptive: many keys", "keys": n_keys, "queries": FULL,
     "fidelity": f"{many_keys:.3f}"},
]), caption=f"Top-label thief: fidelity [95% Wilson interval] on {EVAL_ON}"))
claims.claim(f"a quota of {QUOTA} queries per key cuts the one-key thief's fidelity (no quota "
             "minus quota)", fid_labels_full.value - one_key.value, at_least=0.08)
claims.claim(f"spreading the queries over {n_keys} keys wins the fidelity back (many keys "
             "minus one key)", many_keys.value - one_key.value, at_least=0.08)
section_seconds["nlp"] = time.perf_counter() - t_nlp

# %% [markdown]
# **What changed and why.** The copy is trained only on the API's answers to texts the bank
# never saw, and its fidelity rises with the number of answers (the figure). Hardening the
# answers costs the thief little, since the top label alone carries almost as much as the
# probabilities (the tables above); the reverse sigmoid keeps honest users' top label but
# shows them a falsified scam probability. The quota cuts a one-key thief to the fidelity of
# its first 200 answers, and a thief with many keys gets it all back: a per-key quota limits
# one account, not one adversary. Linking the keys (same payment card, same network, same
# traffic pattern) is what it would take, a topic of lab 12 (API security). A watermark in the
# triage model (the image section's third defence) is not built for this domain.

# %%
summary_rows["nlp"] = {
    "attack": f"copy the triage model from its API answers to a surrogate corpus (fidelity on "
              f"{EVAL_ON})",
    "access": "API answers (probabilities, or the top label) for any text",
    "queries": int(FULL),
    "fidelity before": float(fid_full.value),
    "defence": f"a quota of {QUOTA} queries per API key",
    "fidelity after": float(one_key.value),
    "adaptive attacker": f"{n_keys} keys of {QUOTA} queries, top labels only",
    "fidelity, adaptive": float(many_keys.value),
    "cost to honest users": f"none under {QUOTA} queries a day (honest volumes not modelled); "
                            f"the reverse sigmoid shifts the scam probability shown by "
                            f"{scam_shift:.3f} on average",
}
print(f"NLP section: {section_seconds['nlp']:.1f} s")

# %% [markdown]
# ## 3 · Recommender: stealing the recommendations
#
# The film service folds any user profile (films rated, star ratings) into lab 00's matrix
# factorisation and answers its top-10 list. The service recommends from the films with at
# least 50 ratings (a candidate set: scores of films with a handful of ratings are noise); that
# one line is all that differs from lab 00's `recommend`.
#
# **What the thief sees**: the top-10 list (no scores) for any profile it sends; each profile
# is one query. **What the thief has**: a chart of the 1,000 most-rated films (here taken
# from the training counts; a public box-office or rating-site chart plays that role) from
# which it makes up users.

# %%

t_rec = time.perf_counter()
movies = load_dataset("recommender", seed=0)
recommender = systems.reference_system("recommender", seed=SEED)
n_items = movies.extra["n_items"]
candidates = extraction.candidate_items(movies.X_train, n_items, min_ratings=50)
counts = np.bincount(movies.X_train[:, 1], minlength=n_items)
chart = np.argsort(-counts, kind="stable")[:1000]  # the thief's public chart
# The referee's view: what the service answers to the training profiles of every fourth real
# user (not the thief's queries; they measure how faithful a copy is).
honest = extraction.profiles_from_ratings(movies.X_train, movies.y_train,
                                    np.arange(movies.extra["n_users"])[::4])
referee = extraction.ListAPI(recommender, k=10, allowed=candidates)
victim_lists = referee(honest)
EVAL_REC = f"the profiles of {len(honest)} real users"
print(f"the recommender: {recommender.source_}; {candidates.sum()} candidate films")

# %% [markdown]
# ### Exercise 2 · Overlap at k
#
# How faithful is a copy that returns lists? Write `overlap_at_k(lists_a, lists_b, k)`: two
# (n_users, >= k) arrays of item indices, one list per user, best first, each list holding
# distinct items. For each user, count the items that the first `k` of `lists_a` and the
# first `k` of `lists_b` share, divide by `k`; return the mean over users as a float. Only
# the first `k` items count, and their order does not. Raise `ValueError` when the two have
# different numbers of users or fewer than `k` items per list.

# %%
def overlap_at_k(lists_a, lists_b, k):
    ### BEGIN SOLUTION
    A, B = np.asarray(lists_a), np.asarray(lists_b)
    if A.ndim != 2 or B.ndim != 2 or len(A) != len(B) or not len(A):
        raise ValueError(f"need two 2-D arrays with the same rows, got {A.shape} and {B.shape}")
    if A.shape[1] < k or B.shape[1] < k:
        raise ValueError(f"every list needs at least k = {k} items")
    shared = [len(set(a[:k].tolist()) & set(b[:k].tolist())) for a, b in zip(A, B, strict=True)]
    return float(np.mean(shared) / k)
    ### END SOLUTION


# %%
### POINTS: 2
overlap_at_k = check(lab04.OVERLAP_AT_K, overlap_at_k)
### BEGIN HIDDEN TESTS
grade(lab04.OVERLAP_AT_K, overlap_at_k)
### END HIDDEN TESTS

# %% [markdown]
# ### The theft, measured against the query budget
#
# The thief makes up users (10 to 40 films from its chart, half-star ratings drawn at random),
# asks for their lists, and trains a factorisation of its own that folds profiles in the same
# textbook way, so that its lists match the answers (a listwise loss). Fidelity here is
# **overlap at 10**: the share of the service's top 10 that the copy's top 10 also holds,
# averaged over real users' profiles, with a bootstrap interval over users. The control is a
# copy without personalisation: the films the answers listed most often, the same for everyone.

# %%
REC_BUDGETS = [250, 500, 1000, 2000]
REC_FULL = REC_BUDGETS[-1]
thief_profiles = extraction.synthetic_profiles(chart, REC_FULL, size=(10, 40), seed=SEED)
api_rec = extraction.ListAPI(recommender, k=10, allowed=candidates)
answers = api_rec(thief_profiles)
rec_queries = api_rec.queries


def overlap_of(copy):
    """Overlap at 10 of a copy's lists with the service's, on the real users' profiles."""
    return extraction.overlap_at_k(copy.recommend(honest, 10), victim_lists, 10, on=EVAL_REC,
                             seed=SEED)


copies = {b: extraction.steal_recommender(thief_profiles[:b], answers[:b], n_items, seed=SEED)
          for b in REC_BUDGETS}
overlap = {b: overlap_of(c) for b, c in copies.items()}
listed = np.bincount(answers.ravel(), minlength=n_items).astype(float)
popular_lists = extraction.top_k_lists(np.tile(listed, (len(honest), 1)), 10,
                                 exclude=[p.items for p in honest])
control = extraction.overlap_at_k(popular_lists, victim_lists, 10, on=EVAL_REC, seed=SEED)
display(plots.table(pd.DataFrame({
    "lists asked (queries)": REC_BUDGETS,
    "overlap@10, stolen copy": [f"{overlap[b]:.3f}" for b in REC_BUDGETS],
    "overlap@10, control (most listed films)": f"{control:.3f}",
}), caption=f"Overlap at 10 [95% bootstrap interval] with the service on {EVAL_REC}"))
print(f"after {rec_queries} lists the copy shares {overlap[REC_FULL]} of the service's top 10; "
      f"the control shares {control.value:.3f}")
print(f"your overlap_at_k on the same lists: "
      f"{overlap_at_k(copies[REC_FULL].recommend(honest, 10), victim_lists, 10):.3f}")
claims.claim(f"the copy stolen from {REC_FULL} lists beats the unpersonalised control "
             "(overlap@10, copy minus control)", overlap[REC_FULL].value - control.value,
             at_least=0.06)
claims.claim(f"more lists make a better copy (overlap@10, {REC_FULL} minus {REC_BUDGETS[0]} "
             "lists)", overlap[REC_FULL].value - overlap[REC_BUDGETS[0]].value, at_least=0.04)
fig = plots.curves(REC_BUDGETS, {
    "stolen copy": [overlap[b].value for b in REC_BUDGETS],
    "control: most listed films": [control.value] * len(REC_BUDGETS)},
    log_x=True, xaxis_title="lists asked (queries)", yaxis_title="overlap@10 with the service",
    title="Recommender: overlap at 10 of the stolen copy against the query budget")
fig

# %% [markdown]
# ### Defence 1: a quota per account
#
# Each account may ask for `REC_QUOTA` = 250 lists a day. A thief with one account gets 250
# lists and the copy of the first point of the curve. **An attacker who knows the defence**
# opens `REC_FULL / REC_QUOTA` = 8 accounts (or waits 8 days) and gets every list it wanted.

# %%
REC_QUOTA = 250
accounts = [extraction.ListAPI(recommender, k=10, allowed=candidates, max_queries=REC_QUOTA)
            for _ in range(REC_FULL // REC_QUOTA)]
spread_lists = np.concatenate([acc(thief_profiles[j * REC_QUOTA:(j + 1) * REC_QUOTA])
                               for j, acc in enumerate(accounts)])
try:
    accounts[0](thief_profiles[:1])
except extraction.QueryBudgetExceeded as refusal:
    print("refused:", refusal)
# The exact lists are deterministic: the spread thief holds the same 2000 answers as above.
assert np.array_equal(spread_lists, answers)
one_account, many_accounts = overlap[REC_QUOTA], overlap[REC_FULL]
print(f"one account: overlap@10 {one_account}; {len(accounts)} accounts: {many_accounts}")

# %% [markdown]
# ### Defence 2: perturbed lists
#
# The service adds Gumbel noise of scale `NOISE` (in stars) to its scores before it takes the
# top 10, a fresh draw for every answer: the lists vary around the true ranking. The cost to
# honest users is measured where it matters, on their real held-out ratings: HR@10 (the share
# of test users with a liked held-out film in their top 10) with and without the noise (the
# mean of 3 noise draws).

# %%
NOISE = 0.3
noisy_api = extraction.ListAPI(recommender, k=10, allowed=candidates, mode="perturbed",
                         noise=NOISE, seed=SEED)
noisy_answers = noisy_api(thief_profiles)
noisy_copy = overlap_of(extraction.steal_recommender(thief_profiles, noisy_answers, n_items,
                                               seed=SEED))
# Honest users: their own user vectors from lab 00, candidates only, with and without noise.
user_scores = recommender.score(np.arange(movies.extra["n_users"]))
user_scores[:, ~candidates] = -np.inf
noise_gen = np.random.default_rng(SEED)


def honest_hr(scores):
    """HR@10 of the test users (lab 00's metric) for a matrix of scores."""
    return systems.ranking_metrics(scores, movies.X_train, movies.X_test, movies.y_test, k=10)


def noisy(scores):
    """The scores with fresh Gumbel noise on the candidate films."""
    out = scores.copy()
    out[:, candidates] += NOISE * noise_gen.gumbel(size=(len(out), int(candidates.sum())))
    return out


hr = {"exact": honest_hr(user_scores)}
# Noisy HR@10: the mean over 3 noise draws (one draw moves it by a few users).
noisy_hr = [honest_hr(noisy(user_scores))["hr@10"] for _ in range(3)]
hr["perturbed"] = {"hr@10": float(np.mean(noisy_hr)), "users": hr["exact"]["users"]}
N_REC_USERS = hr["exact"]["users"]
hr_rate = {name: stats.proportion(round(m["hr@10"] * N_REC_USERS), N_REC_USERS,
                                  on=f"{N_REC_USERS} test users") for name, m in hr.items()}

# %% [markdown]
# **An attacker who knows the defence** knows the noise is fresh for every answer, so it asks
# each profile `REPEATS` = 3 times and keeps a consensus list (films ranked by how many of the
# answers list them, then by mean position): three times the queries, the same training cost.

# %%
REPEATS = 3
repeated = np.stack([noisy_answers] + [noisy_api(thief_profiles) for _ in range(REPEATS - 1)])
voted_copy = overlap_of(extraction.steal_recommender(
    thief_profiles, extraction.consensus_lists(repeated), n_items, seed=SEED))
display(plots.table(pd.DataFrame([
    {"service": "exact lists", "thief": "one ask per profile", "queries": REC_FULL,
     "overlap@10": f"{overlap[REC_FULL]:.3f}", "honest HR@10": f"{hr_rate['exact']:.3f}"},
    {"service": f"quota {REC_QUOTA} a day", "thief": "one account", "queries": REC_QUOTA,
     "overlap@10": f"{one_account:.3f}", "honest HR@10": f"{hr_rate['exact']:.3f}"},
    {"service": f"quota {REC_QUOTA} a day", "thief": f"adaptive: {len(accounts)} accounts",
     "queries": REC_FULL, "overlap@10": f"{many_accounts:.3f}",
     "honest HR@10": f"{hr_rate['exact']:.3f}"},
    {"service": f"perturbed (noise {NOISE})", "thief": "one ask per profile",
     "queries": REC_FULL, "overlap@10": f"{noisy_copy:.3f}",
     "honest HR@10": f"{hr_rate['perturbed']:.3f}"},
    {"service": f"perturbed (noise {NOISE})", "thief": f"adaptive: {REPEATS} asks and a vote",
     "queries": noisy_api.queries, "overlap@10": f"{voted_copy:.3f}",
     "honest HR@10": f"{hr_rate['perturbed']:.3f}"},
]), caption=f"Overlap at 10 [95% bootstrap interval] on {EVAL_REC}; honest users' HR@10 "
   f"[95% Wilson interval] on {N_REC_USERS} test users"))
hr_cost = hr["exact"]["hr@10"] - hr["perturbed"]["hr@10"]
print(f"noise {NOISE}: the copy loses {1 - noisy_copy.value / overlap[REC_FULL].value:.0%} of "
      f"its overlap@10; honest users lose {hr_cost / hr['exact']['hr@10']:.0%} of their HR@10")
claims.claim(f"a quota of {REC_QUOTA} lists cuts the one-account copy (overlap@10, no quota "
             "minus quota)", many_accounts.value - one_account.value, at_least=0.04)
claims.claim("perturbed lists cut the copy (overlap@10, exact minus perturbed)",
             overlap[REC_FULL].value - noisy_copy.value, at_least=0.03)
claims.claim("asking three times and voting does not do worse than one ask (overlap@10, voted "
             "minus perturbed; the gain is small)", voted_copy.value - noisy_copy.value,
             at_least=0.0)
claims.claim("the noise costs honest users HR@10 (exact minus perturbed)", hr_cost,
             at_least=0.0)
section_seconds["recommender"] = time.perf_counter() - t_rec

# %% [markdown]
# **What changed and why.** Top-10 lists without scores are enough to learn a copy that
# shares more of the service's recommendations than the unpersonalised control, and the copy
# improves with the number of lists (the figure); it remains far from a perfect copy at these
# budgets. A per-account quota only sets the price in accounts (or days): the spread thief asks
# for exactly the same lists. Noise in the lists makes each answer less informative and costs
# honest users HR@10 (the table and the shares lost printed under it): the same noise that
# blurs the thief's lists blurs the honest users' lists, so the defence is paid for in
# recommendation quality. The thief who asks each profile three times
# and votes gains little over one ask (within the intervals); a hypothesis these numbers do not
# test is that the copy's own capacity, not the noise, is what limits it. Truncated lists
# (top 3 instead of top 10) are the other hardening; this section does not measure them.

# %%
summary_rows["recommender"] = {
    "attack": f"copy the recommender from the top-10 lists of made-up profiles (fidelity = "
              f"overlap@10 on {EVAL_REC})",
    "access": "top-10 lists, no scores, for any profile",
    "queries": int(REC_FULL),
    "fidelity before": float(overlap[REC_FULL].value),
    "defence": f"perturbed lists (Gumbel noise {NOISE} stars)",
    "fidelity after": float(noisy_copy.value),
    "adaptive attacker": f"asks each profile {REPEATS} times and votes",
    "fidelity, adaptive": float(voted_copy.value),
    "cost to honest users": f"HR@10 {hr['exact']['hr@10']:.3f} -> "
                            f"{hr['perturbed']['hr@10']:.3f}",
}
print(f"Recommender section: {section_seconds['recommender']:.1f} s")

# %% [markdown]
# ## 4 · Fraud: stealing the score from approve/decline
#
# The victim is lab 00's fraud scorer (`systems.FraudScorer`, gradient-boosted trees), which
# declines a payment above the threshold that gives 1% false positives on training data.
#
# **Access: approve/decline.** A fraudster never sees the bank's score, only whether a
# payment goes through. `extraction.fraud.decision_api` puts the scorer behind exactly that:
# one answer, approve or decline, per transaction; every transaction is one query. The thief
# holds a pool of 10,000 unlabelled transactions (drawn from the training period: the kind a
# fraud ring sees through its cards and shops) and 40 of its own past frauds (used below,
# by the thief who knows the defence).
#
# **Why steal it?** Lab 02's approve/decline evasion probes the bank with up to 100
# payments per fraud, and every declined probe is a warning sign. A stolen copy can be
# probed offline for free: the thief runs lab 02's constrained attack (legal moves only,
# history features recomputed) against the copy, then submits each final plan to the bank
# once. The **transfer rate** is the share of caught frauds whose plan the bank approves in
# full: theft feeding evasion.
#
# The thief spends its queries by **active learning**: half at random, then three rounds,
# each asking about the pool transactions its current copy thinks most likely declined
# (declines are under 2% of payments: random queries almost never show the side the
# fraudster needs to learn).

# %%

t_fraud = time.perf_counter()
fraud = load_dataset("fraud", seed=0)
fraud_victim = systems.train_baseline("fraud", fraud, seed=SEED)
train_scores = fraud_victim.predict_proba(fraud.X_train)[:, 1]
thr_fraud = float(np.quantile(train_scores[fraud.y_train == 0], 0.99))
declined_test = fraud_victim.predict_proba(fraud.X_test)[:, 1] >= thr_fraud
caught_frauds = np.flatnonzero(declined_test & (fraud.y_test == 1))
history = pd.concat([fraud.frame_train, fraud.frame_test], ignore_index=True)
n_train_fraud = len(fraud.frame_train)

pick = repro.rng(0)  # the thief's data is fixed; only the victim and the thief's draws vary
own_rows = pick.choice(np.flatnonzero(fraud.y_train == 1), size=40, replace=False)
X_own = fraud.X_train[own_rows]  # the fraud ring's own past frauds
pool_rows = np.setdiff1d(pick.choice(len(fraud.X_train), size=10_000, replace=False), own_rows)
X_pool = fraud.X_train[pool_rows]
# fidelity on the decisions that matter: every test transaction the bank declines, and as
# many approved ones drawn at random
approved = np.flatnonzero(~declined_test)
eval_rows = np.r_[np.flatnonzero(declined_test),
                  pick.choice(approved, size=int(declined_test.sum()), replace=False)]
eval_on = f"{len(eval_rows)} test transactions, half of them declined by the bank"
N_CAUGHT_FRAUD = len(caught_frauds)


def fraud_theft(budget, n_queries, *, X_own=None):
    """One theft and its transfer: the copy's fidelity and the evasions it feeds."""
    api = extraction.decision_api(fraud_victim, thr_fraud, max_queries=budget)
    stolen = extraction.steal_fraud_scorer(api, X_pool, n_queries=n_queries,
                                            strategy="active", X_own=X_own, seed=SEED)
    fid = extraction.fidelity(stolen.predict(fraud.X_test[eval_rows]),
                              declined_test[eval_rows].astype(np.int64), on=eval_on)
    moved = extraction.transfer_attack(fraud_victim, thr_fraud, stolen, history,
                                        n_train_fraud + caught_frauds, seed=SEED)
    rate = stats.proportion(int(moved.plan["transferred"].sum()), N_CAUGHT_FRAUD,
                            on=f"{N_CAUGHT_FRAUD} caught test frauds")
    return stolen, fid, moved, rate, api.queries


FRAUD_QUERIES = 2000
stolen_free, fid_free, moved_free, transfer_free, q_free = fraud_theft(None, FRAUD_QUERIES)
print(f"the bank declines {declined_test.mean():.1%} of test payments (threshold "
      f"{thr_fraud:.3f}) and catches {N_CAUGHT_FRAUD} test frauds")
print(f"theft with {q_free} approve/decline queries ({stolen_free.declines} declined): "
      f"fidelity {fid_free}")
print(f"evasions crafted on the copy: {moved_free.plan['evades_copy'].mean():.0%} pass the copy;"
      f" the bank approves {transfer_free} in full, at {moved_free.victim_queries} payments "
      f"submitted (one per part), {moved_free.victim_queries / N_CAUGHT_FRAUD:.1f} per fraud")
claims.claim("a copy stolen from approve/decline answers feeds evasions that transfer to the "
             "bank (transfer rate)", transfer_free.value, at_least=0.3)

# %% [markdown]
# ### Defence: a query budget
#
# The bank caps what one client can ask: 300 decisions a month. A thief who does not plan
# for it sends its 2,000-query theft in batches until the API refuses, and copies what it
# got (the first 300 queries of its random half). The cost to honest users is the share of
# customers whose own payments in some 30 days exceed the cap, measured on the simulator's
# two months.
#
# **The attacker who knows the budget** spends it where the declines are: it starts with its
# own 40 frauds and spends the rest by active learning, all within 300 queries.

# %%
FRAUD_BUDGET = 300
stolen_cut, fid_cut, moved_cut, transfer_cut, q_cut = fraud_theft(FRAUD_BUDGET, FRAUD_QUERIES)
stolen_ad, fid_ad, moved_ad, transfer_ad, q_ad = fraud_theft(FRAUD_BUDGET, FRAUD_BUDGET,
                                                             X_own=X_own)
assert stolen_cut.refused and q_cut <= FRAUD_BUDGET and q_ad <= FRAUD_BUDGET

# honest cost: the most payments any customer makes in a 30-day window
pay = history.sort_values(["customer_id", "timestamp"])
cust = pay["customer_id"].to_numpy()
secs = (pay["timestamp"] - pay["timestamp"].min()).dt.total_seconds().to_numpy()
key = cust * 1e8 + secs  # customers far apart on one axis
in_window = np.searchsorted(key, key + 30 * 86400, side="left") - np.arange(len(key))
per_customer = pd.Series(in_window).groupby(cust).max()
honest_blocked = stats.proportion(int((per_customer > FRAUD_BUDGET).sum()), len(per_customer),
                                  on=f"{len(per_customer):,} customers")

fraud_table = pd.DataFrame([
    {"thief": f"no budget, {q_free} queries", "queries": q_free,
     "declines seen": stolen_free.declines, "fidelity": fid_free.value,
     "transfer rate": transfer_free.value,
     "transfer 95% CI": f"{transfer_free.low:.2f}-{transfer_free.high:.2f}"},
    {"thief": f"budget {FRAUD_BUDGET}, naive (refused after {q_cut})", "queries": q_cut,
     "declines seen": stolen_cut.declines, "fidelity": fid_cut.value,
     "transfer rate": transfer_cut.value,
     "transfer 95% CI": f"{transfer_cut.low:.2f}-{transfer_cut.high:.2f}"},
    {"thief": f"budget {FRAUD_BUDGET}, adaptive (own frauds + active)", "queries": q_ad,
     "declines seen": stolen_ad.declines, "fidelity": fid_ad.value,
     "transfer rate": transfer_ad.value,
     "transfer 95% CI": f"{transfer_ad.low:.2f}-{transfer_ad.high:.2f}"},
])
display(plots.table(fraud_table, precision=3, caption=f"Theft and transfer; fidelity on "
                    f"{eval_on}; transfer on {N_CAUGHT_FRAUD} caught test frauds"))
print(f"budget {FRAUD_BUDGET}: naive thief fidelity {fid_cut}, transfer {transfer_cut}")
print(f"adaptive thief: fidelity {fid_ad}, transfer {transfer_ad}")
print(f"cost to honest users: customers with more than {FRAUD_BUDGET} payments in some 30 "
      f"days: {honest_blocked} (the most any customer made: {int(per_customer.max())})")
claims.claim("the query budget cuts the naive thief's transfer rate (no budget minus budget)",
             transfer_free.value - transfer_cut.value, at_least=0.2)
claims.claim("the thief who knows the budget gets the transfer back (adaptive minus naive)",
             transfer_ad.value - transfer_cut.value, at_least=0.2)
claims.claim("the budget costs honest customers nothing (share over the cap)",
             honest_blocked.value, at_most=0.01)
fig = plots.before_after_bars(
    ["transfer rate", "fidelity"], [transfer_free.value, fid_free.value],
    [transfer_cut.value, fid_cut.value], before_name="no budget",
    after_name=f"budget {FRAUD_BUDGET}, naive thief", percent=True,
    title="Fraud: a copy from approve/decline answers, with and without a query budget")
fig.add_bar(x=["transfer rate", "fidelity"], y=[transfer_ad.value, fid_ad.value],
            name=f"budget {FRAUD_BUDGET}, adaptive thief", marker_color=plots.COLORS["attack"])
section_seconds["fraud"] = time.perf_counter() - t_fraud
fig

# %% [markdown]
# **What changed and why.** With no budget, the copy that approve/decline answers allow
# (the fidelity printed above, on transactions half of which the bank declines) is good
# enough to plan evasions offline: the bank approved many of the plans in full (the transfer
# rate), and each fraud cost the thief one submission per part at the bank, where lab 02's
# approve/decline attacker was allowed up to 100 probing payments per fraud. The budget
# stops a thief who spends its queries without a plan: its random queries saw only a handful
# of declines, and its copy's plans rarely transferred. It does not stop a thief who knows
# the cap: starting from its own frauds and asking only about transactions near the decline
# side, it saw many more declines in 300 queries than the naive thief (the table) and got
# most or all of the transfer rate back. The cap cost no honest customer anything here (the
# share printed above); we read that as a hint, not a measurement, that a cap loose enough
# for honest customers is too loose to matter against a thief who spends queries well.

# %%
summary_rows["fraud"] = {
    "attack": "active-learning theft, then evasion crafted on the copy",
    "access": "approve/decline",
    "queries": int(q_free),
    "fidelity before": float(fid_free.value),
    "defence": f"query budget ({FRAUD_BUDGET} a month)",
    "fidelity after": float(fid_cut.value),
    "adaptive attacker": "own frauds + active learning within the budget",
    "fidelity, adaptive": float(fid_ad.value),
    "cost to honest users": f"{honest_blocked.value:.1%} of customers over the cap",
}

# %% [markdown]
# ## 5 · Medical: solving for the diagnosis model
#
# The victim is lab 00's diagnosis model (`systems.DiagnosisModel()`): a pipeline that
# standardises the 30 WDBC measurements and applies a logistic regression. Its API takes the
# **raw** measurements (radii in mm, areas in mm², smoothness around 0.1: scales that differ
# by a factor of 10,000) and, as deployed, answers the probability of each diagnosis.
#
# **Access: probabilities.** Seen from outside, standardising then a linear model is still
# one linear model of the raw features: `p(x) = sigmoid(w @ x + b)`. So every answer is an
# equation, `logit(p) = log(p / (1 - p)) = w @ x + b`, in the `d + 1 = 31` unknowns, and
# `d + 1` well-chosen queries determine the model exactly (equation solving; Tramer et al.,
# USENIX Security 2016). The thief holds 200 WDBC patients without diagnoses (the data set
# is public); the other 369 patients are where we measure fidelity.
#
# The raw scales matter: stepping each feature by 1 raw unit would barely move an area and
# throw a smoothness far outside anything real, and the equations would be badly
# conditioned. The attack steps each feature by its own spread in the thief's patients,
# from the thief's average patient, solves in those step units, and maps back to raw units.
# We measure the stolen weights in the victim's own standardised coordinates (relative
# error of all 31 parameters), where they are comparable.

# %%

t_medical = time.perf_counter()
medical = load_dataset("medical", seed=0)
diagnosis = systems.train_baseline("medical", medical, seed=SEED)
patients = np.vstack([medical.X_train, medical.X_test]).astype(np.float64)
split = repro.rng(0).permutation(len(patients))
X_thief, X_eval = patients[split[:200]], patients[split[200:]]
y_eval = diagnosis.predict(X_eval)
eval_med = f"{len(X_eval)} WDBC patients the thief never saw"
x_base, step = X_thief.mean(axis=0), X_thief.std(axis=0)
D = X_thief.shape[1]


def medical_theft(output, decimals=2, offsets=(1.0,)):
    """Equation solving against an API with the given output; error, fidelity, queries."""
    api = extraction.PredictionAPI(diagnosis.predict_proba, output=output, decimals=decimals)
    stolen = extraction.equation_solving_attack(api, x_base, step, offsets=offsets)
    err = extraction.parameter_error(diagnosis, stolen.w, stolen.b)
    fid = extraction.fidelity(stolen.predict(X_eval), y_eval, on=eval_med)
    return stolen, err, fid, api.queries


stolen_exact, err_exact, fid_exact, q_exact = medical_theft("proba")
stolen_r4, err_r4, fid_r4, q_r4 = medical_theft("rounded", 4)
print(f"exact probabilities, {q_exact} queries (d + 1): relative error of the weights "
      f"{err_exact:.1e}; fidelity {fid_exact}")
print(f"probabilities rounded to 4 decimals, {q_r4} queries: error {err_r4:.1e}; fidelity "
      f"{fid_r4}")
assert q_exact == D + 1
claims.claim("exact probabilities give the weights to within 1e-9 with d + 1 queries "
             "(relative error)", err_exact, at_most=1e-9)
claims.claim("4-decimal rounding keeps the weight error below 0.01", err_r4, at_most=0.01)

# %% [markdown]
# ### Exercise 3 · Solve for a logistic model
#
# Write `solve_logistic(X, p)`: `X` holds `n` queries (rows, raw features) and `p` the
# probability of class 1 the API answered for each. Return `(w, b)` (a float64 array of `d`
# weights and one number) with `logit(p_i) = X_i @ w + b`:
# 1. the unknowns are `d` weights **and** an intercept: `n >= d + 1` answers are needed;
#    fewer raise `ValueError`;
# 2. an answer of exactly 0 or 1 has no finite logit: raise `ValueError`;
# 3. with exactly `d + 1` answers solve the square system; with more, use **all** of them by
#    least squares (`np.linalg.lstsq`): rounding makes them disagree slightly.
#
# Leave the arguments unchanged.

# %%
def solve_logistic(X, p):
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    n, d = X.shape
    if n < d + 1:
        raise ValueError(f"need at least {d + 1} answers, got {n}")
    if ((p <= 0) | (p >= 1)).any():
        raise ValueError("every probability must lie strictly between 0 and 1")
    A = np.column_stack([X, np.ones(n)])
    theta = np.linalg.lstsq(A, np.log(p / (1 - p)), rcond=None)[0]
    return theta[:d], float(theta[d])
    ### END SOLUTION


# %%
### POINTS: 2
solve_logistic = check(lab04.EQUATION_SOLVING, solve_logistic)
### BEGIN HIDDEN TESTS
grade(lab04.EQUATION_SOLVING, solve_logistic)
### END HIDDEN TESTS

# %% [markdown]
# Your function on the 31 answers the exact theft used (the same queries, in step units),
# then mapped back to raw features:

# %%
Z_axes = np.vstack([np.zeros(D), np.eye(D)])
api_check = extraction.PredictionAPI(diagnosis.predict_proba)
v_mine, c_mine = solve_logistic(Z_axes, api_check(x_base + Z_axes * step)[:, 1])
w_mine = v_mine / step
err_mine = extraction.parameter_error(diagnosis, w_mine, c_mine - w_mine @ x_base)
print(f"your solve_logistic, {api_check.queries} queries: relative error {err_mine:.1e}")

# %% [markdown]
# ### Defences: rounding, labels only; and the attackers who know them
#
# **Rounding to 2 decimals.** Each answer is now an equation with an error of up to 0.005
# in `p`. The attacker who knows it asks more (steps of -2, -1, +1 and +2 spreads along each
# feature: `4 d + 1` queries) and solves by least squares: longer steps make the rounding a
# smaller share of each difference, and the extra equations average it out.
#
# **Labels only.** No answer has a finite logit, so there is no equation to solve. The
# attacker who knows it searches for the decision boundary instead: between two patients
# with opposite labels, a **line search** (Lowd and Meek, 2005) halves the segment at each
# query and keeps the half where the label changes; each search ends with a bracket, two
# close points on either side of the boundary, and a linear model fitted to every labelled
# point the searches made lies between them.

# %% [markdown]
# ### Exercise 4 · The line search for the boundary
#
# Write `boundary_bracket(label, x_neg, x_pos, steps)`: `label(x)` answers 0 or 1 for one
# input `x`; `x_neg` is labelled 0 and `x_pos` 1 (known: do not query them). `steps` times,
# query the midpoint of the current bracket and let it replace the end **whose label it
# shares**. Return `(lo, hi)` (float arrays, `lo` labelled 0), `2 ** -steps` of the segment
# apart; with `steps = 0`, the ends as given. Ends of different shapes raise `ValueError`.
# Leave the arguments unchanged.

# %%
def boundary_bracket(label, x_neg, x_pos, steps):
    ### BEGIN SOLUTION
    lo = np.array(x_neg, dtype=np.float64)
    hi = np.array(x_pos, dtype=np.float64)
    if lo.shape != hi.shape:
        raise ValueError("x_neg and x_pos must have the same shape")
    for _ in range(steps):
        mid = (lo + hi) / 2
        if label(mid) == 1:
            hi = mid
        else:
            lo = mid
    return lo, hi
    ### END SOLUTION


# %%
### POINTS: 2
boundary_bracket = check(lab04.LINE_SEARCH, boundary_bracket)
### BEGIN HIDDEN TESTS
grade(lab04.LINE_SEARCH, boundary_bracket)
### END HIDDEN TESTS

# %%
api_label = extraction.PredictionAPI(diagnosis.predict_proba, output="labels")
benign_side = X_thief[diagnosis.predict(X_thief) == 0][0]
malignant_side = X_thief[diagnosis.predict(X_thief) == 1][0]
lo_b, hi_b = boundary_bracket(lambda x: int(api_label(x[None, :]).argmax()), benign_side,
                              malignant_side, 20)
print(f"your line search: {api_label.queries} label queries bracket the boundary to within "
      f"{np.linalg.norm((hi_b - lo_b) / step):.1e} feature spreads")

# %%
stolen_r2, err_r2, fid_r2, q_r2 = medical_theft("rounded", 2)
stolen_r2a, err_r2a, fid_r2a, q_r2a = medical_theft("rounded", 2, offsets=(-2.0, -1.0, 1.0, 2.0))
try:  # the equation-solving thief against labels only: no answer is an equation
    medical_theft("labels")
    labels_stop = "solved (unexpected)"
except ValueError as err:
    labels_stop = f"stopped: {err}"
api_ls = extraction.PredictionAPI(diagnosis.predict_proba, output="labels")
stolen_ls = extraction.line_search_attack(api_ls, X_thief, seed=SEED)
fid_ls = extraction.fidelity(stolen_ls.predict(X_eval), y_eval, on=eval_med)
q_ls = api_ls.queries
MEDICAL_BUDGET = 150  # a query budget on top of labels only
api_budget = extraction.PredictionAPI(diagnosis.predict_proba, output="labels",
                                      max_queries=MEDICAL_BUDGET)
try:
    extraction.line_search_attack(api_budget, X_thief, seed=SEED)
    budget_stop = "not stopped"
except extraction.QueryBudgetExceeded:
    budget_stop = f"refused after {api_budget.queries} queries"
api_small = extraction.PredictionAPI(diagnosis.predict_proba, output="labels",
                                     max_queries=MEDICAL_BUDGET)
stolen_small = extraction.line_search_attack(api_small, X_thief, n_labels=20, n_pairs=6,
                                                n_near=30, n_pairs_near=10, steps=6, seed=SEED)
fid_small = extraction.fidelity(stolen_small.predict(X_eval), y_eval, on=eval_med)

# cost to honest users: what a clinician no longer sees
p_eval = diagnosis.predict_proba(X_eval)[:, 1]
shown_r2 = extraction.harden(diagnosis.predict_proba(X_eval), "rounded", decimals=2)[:, 1]
flipped_r2 = int((extraction.answer_labels(
    extraction.harden(diagnosis.predict_proba(X_eval), "rounded", decimals=2)) != y_eval).sum())
uncertain = stats.proportion(int(((p_eval > 0.1) & (p_eval < 0.9)).sum()), len(p_eval),
                             on=eval_med)
medical_table = pd.DataFrame([
    {"API answers": "probabilities", "thief": "equation solving (d + 1)", "queries": q_exact,
     "weight error": err_exact, "fidelity": fid_exact.value, "fidelity low": fid_exact.low},
    {"API answers": "rounded, 4 decimals", "thief": "equation solving (d + 1)",
     "queries": q_r4, "weight error": err_r4, "fidelity": fid_r4.value,
     "fidelity low": fid_r4.low},
    {"API answers": "rounded, 2 decimals", "thief": "equation solving (d + 1)",
     "queries": q_r2, "weight error": err_r2, "fidelity": fid_r2.value,
     "fidelity low": fid_r2.low},
    {"API answers": "rounded, 2 decimals", "thief": "adaptive: least squares, longer steps",
     "queries": q_r2a, "weight error": err_r2a, "fidelity": fid_r2a.value,
     "fidelity low": fid_r2a.low},
    {"API answers": "labels only", "thief": "adaptive: line search", "queries": q_ls,
     "weight error": np.nan, "fidelity": fid_ls.value, "fidelity low": fid_ls.low},
    {"API answers": f"labels only, {MEDICAL_BUDGET} queries", "thief": "adaptive: shorter "
     "line search", "queries": stolen_small.queries, "weight error": np.nan,
     "fidelity": fid_small.value, "fidelity low": fid_small.low},
])
display(plots.table(medical_table, precision=4, caption=f"Stealing the diagnosis model; "
                    f"fidelity on {eval_med} (fidelity low: the Wilson 95% lower bound); "
                    "weight error relative, in the victim's standardised coordinates"))
print(f"labels only, equation solving: {labels_stop}")
print(f"labels only: the line search needs {q_ls} queries for fidelity {fid_ls}")
print(f"labels only with a budget of {MEDICAL_BUDGET}: the full line search is {budget_stop}; "
      f"a shorter one ({stolen_small.queries} queries) reaches {fid_small}")
print(f"cost to honest users: rounding to 2 decimals moves a shown probability by at most "
      f"{np.abs(shown_r2 - p_eval).max():.4f} and changes {flipped_r2} diagnoses; labels only "
      f"hides which patients are uncertain cases (0.1 < p < 0.9): {uncertain}")
claims.claim("label-only line search reaches 0.99 agreement (fidelity)", fid_ls.value,
             at_least=0.99)
claims.claim("and needs at most 300 queries", q_ls, at_most=300)
claims.claim("the thief who knows the rounding cuts its weight error (d + 1 minus adaptive)",
             err_r2 - err_r2a, at_least=0.0)
claims.claim("2-decimal rounding leaves the d + 1 copy's diagnoses nearly intact (fidelity)",
             fid_r2.value, at_least=0.98)
claims.claim("labels only stop equation solving (1 = stopped)",
             float(labels_stop.startswith("stopped")), at_least=1.0)
fig = go.Figure()
for _, row in medical_table.iterrows():
    fig.add_trace(go.Scatter(x=[row["queries"]], y=[row["fidelity"]], mode="markers+text",
                             text=[row["API answers"]], textposition="top center",
                             name=f"{row['API answers']}: {row['thief']}",
                             marker={"size": 11}))
fig.update_layout(title="Medical: fidelity of the stolen diagnosis model against queries "
                  "spent", xaxis_title="queries", yaxis_title=f"fidelity ({eval_med})")
section_seconds["medical"] = time.perf_counter() - t_medical
fig

# %% [markdown]
# **What changed and why.** With probabilities, 31 queries gave the victim's 31 parameters
# to rounding error (the first row): the API hands out one exact equation per answer.
# Rounding to 4 decimals left an error far below 1%, and even 2 decimals left a copy that
# agrees with the victim on nearly every unseen patient (the table); the attacker who knew
# the rounding spent more queries and cut the weight error further. Rounding costs the
# thief some precision in the *weights*, which more queries buy back, and does not stop the
# theft of the *diagnoses*. Labels only
# stopped equation solving (no answer had a finite logit), but the line search, which needs
# nothing but labels, still reached the fidelity printed above in fewer than 300 queries; a
# budget of 150 on top stopped that search, and a shorter search within the budget still
# built a close copy. What labels only costs honest users is real: a clinician no longer
# sees which of the patients are uncertain cases (the share printed above).

# %%
summary_rows["medical"] = {
    "attack": "equation solving (Tramer et al. 2016)",
    "access": "probabilities",
    "queries": int(q_exact),
    "fidelity before": float(fid_exact.value),
    "defence": "probabilities rounded to 2 decimals",
    "fidelity after": float(fid_r2.value),
    "adaptive attacker": f"least squares, {q_r2a} queries",
    "fidelity, adaptive": float(fid_r2a.value),
    "cost to honest users": f"probabilities shown to 2 decimals; {flipped_r2} diagnoses change",
}

# %% [markdown]
# ## Summary: five systems stolen, defended, and stolen again
#
# One row per domain: the main theft and what its thief sees, the queries it spent, the
# fidelity of its copy before and after the defence, and what the thief who knows the defence
# gets back. Fidelity is measured as each section says (agreement of labels, or overlap of
# top-10 lists for the recommender); the intervals are in each section's tables.

# %%
summary = pd.DataFrame.from_dict(summary_rows, orient="index")
summary.index.name = "domain"
display(plots.table(summary.reset_index(), caption="Model theft before and after the "
                    "defence, and the thief who knows the defence"))
fig = go.Figure()
for key, name, color in (("fidelity before", "undefended", "baseline"),
                         ("fidelity after", "defended", "defended"),
                         ("fidelity, adaptive", "defended, adaptive thief", "attack")):
    fig.add_trace(go.Bar(x=summary.index, y=summary[key], name=name,
                         marker_color=plots.COLORS[color],
                         text=[f"{v:.2f}" for v in summary[key]], textposition="outside",
                         customdata=summary["defence"],
                         hovertemplate="%{x}: %{y:.3f} (defence: %{customdata})<extra></extra>"))
fig.update_layout(barmode="group", title="Fidelity of the stolen copy: undefended, defended, "
                  "and against the thief who knows the defence", yaxis_title="fidelity",
                  yaxis_range=[0, 1.1], height=460)
fig

# %%
largest_loss = (summary["fidelity before"] - summary["fidelity, adaptive"]).max()
smallest_gain = (summary["fidelity, adaptive"] - summary["fidelity after"]).min()
print(f"the thief who knows the defence ends at most {largest_loss:.3f} below the undefended "
      f"copy's fidelity, and at least {smallest_gain:.3f} above the plain thief against the "
      "same defence")
claims.claim("in every domain the thief who knows the defence gets within 0.06 of the "
             "undefended copy's fidelity (largest loss)", largest_loss, at_most=0.06)
claims.claim("knowing the defence never costs the thief fidelity (smallest gain over the "
             "plain thief against the defence)", smallest_gain, at_least=0.0)

# %% [markdown]
# **What the five sections show together.** Every system was copied through its API alone,
# with a few dozen to a few thousand queries (the queries column), from probabilities, top
# labels, top-10 lists or approve/decline answers. The defences that change the answers
# (labels only, rounding, the reverse sigmoid, noisy lists) and the budgets per key, account
# or client cost a thief who knows them little: in every domain it came back to within a few
# points of the undefended copy (the printed gap). They raise the price of theft in queries,
# keys or accounts; they do not prevent it, and the answer-changing ones charge honest users
# too (the last column). Two defences work differently: the query-stream monitor of the image
# section caught the careless synthetic thief but not one who sent natural-looking queries,
# and the watermark proved the theft of a copy that fit its answers, until the thief
# distilled the copy. Together with a budget and a monitor, a watermark is what a provider
# can hold up after the fact.

# %%
timing = pd.DataFrame({"section": list(section_seconds),
                       "seconds": [round(s, 1) for s in section_seconds.values()]})
display(plots.table(timing, precision=1, caption="How long each section took on this machine"))

# %% [markdown]
# ## Challenge · Steal a model behind an API that rounds to 1 decimal
#
# A vendor answers the security review: "our API rounds every probability to 1 decimal and
# answers at most 300 queries per client, so our model cannot be stolen: the equations of
# section 5 need exact probabilities". `lab04.rounded_api(seed=...)` gives you
# their system: `api(X) -> (n, 2)` probabilities rounded to 1 decimal (a logistic model on
# 10 features measured in units that differ by up to a factor of 100,000), and `X_public`,
# 200 unlabelled inputs of the kind the model sees. Your access: the rounded probabilities,
# at most `lab04.CHALLENGE_BUDGET` queries in all (`api.queries` counts them; one
# more raises `QueryBudgetExceeded`).
#
# Write `steal_rounded_model(api, X_public)` returning a linear copy `(w, b)`: a float array
# of 10 weights and a number, predicting class 1 where `X @ w + b >= 0`. The check runs your
# thief against fresh APIs of other seeds and needs a **fidelity of at least
# `lab04.CHALLENGE_TARGET`** (the share of unseen inputs on which your copy gives
# the model's label) on each; the grading uses seeds you have not seen. The inputs it
# measures on are kept apart from `api`: reading them is not an attack. The attacks of
# section 5, as they stand, fall short of the target (the course's tests check that they
# do): the rounding leaves more than the vendor thinks, but you have to find it.

# %%


def steal_rounded_model(api, X_public):
    ### BEGIN SOLUTION
    # The rounded answer steps from r to r + 0.1 exactly where p = r + 0.05: a line search
    # for that step finds a point x with the exact equation w @ x + b = logit(r + 0.05).
    X = np.asarray(X_public, dtype=np.float64)
    r = np.round(api(X[:40])[:, 1], 1)  # 40 queries
    order = np.argsort(r, kind="stable")
    rows, targets, k = [], [], 0
    while len(rows) < 16 and k < 4 * len(order):  # 16 searches of 14 queries: 224
        i, j = order[k % len(order)], order[-1 - (7 * k) % len(order)]
        k += 1
        if r[i] >= r[j]:
            continue
        lo, hi, level = X[i].copy(), X[j].copy(), r[i]
        for _ in range(14):
            mid = (lo + hi) / 2
            if round(float(api(mid[None, :])[0, 1]), 1) > level:
                hi = mid
            else:
                lo = mid
        rows.append((lo + hi) / 2)
        targets.append(math.log((level + 0.05) / (0.95 - level)))
    A = np.column_stack([np.array(rows), np.ones(len(rows))])
    scale = np.abs(A).max(axis=0)  # columns in units 1e5 apart: solve on scaled columns
    theta = np.linalg.lstsq(A / scale, np.array(targets), rcond=None)[0] / scale
    return theta[:-1], float(theta[-1])
    ### END SOLUTION


# %%
### POINTS: 3
steal_rounded_model = check(lab04.CHALLENGE, steal_rounded_model)
### BEGIN HIDDEN TESTS
grade(lab04.CHALLENGE, steal_rounded_model)
### END HIDDEN TESTS

# %%
challenge_api, challenge_public = lab04.rounded_api(seed=SEED + 1000)  # never graded
w_ch, b_ch = steal_rounded_model(challenge_api, challenge_public)
challenge_fid = lab04.challenge_fidelity(challenge_api, w_ch, b_ch)
challenge_rate = stats.proportion(round(challenge_fid * 4000), 4000,
                                  on="4,000 unseen inputs of a fresh rounded API")
print(f"your thief on a fresh rounded API: fidelity {challenge_rate} with "
      f"{challenge_api.queries} of {challenge_api.max_queries} queries (target "
      f"{lab04.CHALLENGE_TARGET})")
claims.claim("a thief breaks the 1-decimal rounding API (fidelity)", challenge_fid,
             at_least=lab04.CHALLENGE_TARGET)

# %% [markdown]
# ## Reflection
#
# Answer each question in its cell; the rubric in the instructor's version gives the points.

# %% [markdown]
# ### POINTS: 3
# **1.** A thief reports its copy's *accuracy* on the test set. Why does this lab measure
# *fidelity* instead, and for which thief (look at the fraud section) does the difference
# matter most?
#
# ### BEGIN SOLUTION
# Model answer: accuracy compares the copy with the truth, fidelity with the victim. A thief
# who wants a substitute service cares about accuracy; a thief who wants to attack the victim
# (craft evasions offline, as the fraudster does, or probe for membership) needs the copy to
# make the *victim's* decisions, mistakes included, so that what fools the copy fools the
# victim. Two copies with the same accuracy can differ in fidelity wherever the victim is
# wrong; the transfer rate of the fraud section follows fidelity.
#
# Rubric (3 points): 1 point for the definitions (truth vs victim); 1 point for why a thief
# who attacks the victim needs fidelity (transfer of evasions, the victim's errors); 1 point
# for pointing to the fraud section's theft-feeding-evasion result.
# ### END SOLUTION

# %% [markdown]
# ### POINTS: 3
# **2.** A provider switches its API to labels only and writes in its security review "model
# extraction mitigated". Using this lab's measurements, is that true, what does it cost the
# provider's honest users, and what would you write instead?
#
# ### BEGIN SOLUTION
# Model answer: labels only removes the confidence scores, which costs the thief some queries
# or some fidelity (compare the label thief with the probability thief in the image and NLP
# sections), but a label thief still reaches a high fidelity with a modest budget, and for a
# linear model a line search recovers the boundary from labels alone (medical section).
# Honest users lose the scores they may need (a clinician's risk estimate, a merchant's
# review queue). A truthful line: "raises the number of queries needed by the measured factor;
# does not prevent theft; combine with query budgets, monitoring and a watermark".
#
# Rubric (3 points): 1 point for the measured effect (fidelity or queries, with the numbers);
# 1 point for the cost to honest users; 1 point for a claim that matches the measurement and
# names complementary controls.
# ### END SOLUTION

# %% [markdown]
# ### POINTS: 4
# **3.** Query monitoring (PRADA) and watermarking answer different questions. Which question
# does each answer, how did the thief who knew each defence fare, and which would you deploy
# for the fraud scorer and which for the digit reader sold as a product?
#
# ### BEGIN SOLUTION
# Model answer: monitoring tries to *stop* a theft in progress by spotting query streams
# unlike honest users'; the adaptive thief who spaces its queries or mixes them with natural
# ones stays under the threshold (at the price of more queries or accounts). A watermark does
# not stop theft; it lets the owner *prove* afterwards that a model was copied; the thief who
# fine-tunes or distils the copy weakens the mark (the image section measures by how much),
# so the ownership test needs a margin set on independent models. For the fraud scorer, theft
# is a step towards evasion, so stopping it (monitoring, budgets per card and merchant)
# matters more; for a product sold to others, provable ownership (watermark) supports a legal
# claim.
#
# Rubric (4 points): 1 point per defence for the question it answers (stop vs prove); 1
# point for the adaptive thief's result against each, with numbers; 1 point for a reasoned
# deployment choice per system.
# ### END SOLUTION

# %% [markdown]
# ### POINTS: 3
# **4.** Why do d + 1 exact answers reveal a logistic model of d features, and what does
# rounding the answers change? What does it mean for a credit or risk score published with
# many decimals?
#
# ### BEGIN SOLUTION
# Model answer: the logit of each answer, log(p / (1 - p)), is a linear function w.x + b of
# the query, so d + 1 queries in general position give d + 1 linear equations for the d + 1
# unknowns; exact answers give the weights to machine precision. Rounding turns each equation
# into an interval, so the error grows as the decimals shrink (the medical section measures
# it), and more queries (least squares) win part of it back. A score published with many
# decimals is, for a linear model, the model itself.
#
# Rubric (3 points): 1 point for the logit being linear in the input; 1 point for counting
# equations and unknowns; 1 point for the effect of rounding with the measured errors and the
# consequence for published scores.
# ### END SOLUTION

# %% [markdown]
# ## Further reading
#
# - F. Tramèr, F. Zhang, A. Juels, M. K. Reiter and T. Ristenpart, "Stealing Machine Learning
#   Models via Prediction APIs", USENIX Security 2016 (equation solving, path finding).
# - D. Lowd and C. Meek, "Adversarial Learning", ACM KDD 2005 (learning a linear classifier
#   from membership queries).
# - J. R. Correia-Silva, R. F. Berriel, C. Badue, A. F. de Souza and T. Oliveira-Santos,
#   "Copycat CNN", IJCNN 2018; T. Orekondy, B. Schiele and M. Fritz, "Knockoff Nets: Stealing
#   Functionality of Black-Box Models", CVPR 2019.
# - M. Jagielski, N. Carlini, D. Berthelot, A. Kurakin and N. Papernot, "High Accuracy and
#   High Fidelity Extraction of Neural Networks", USENIX Security 2020.
# - M. Juuti, S. Szyller, S. Marchal and N. Asokan, "PRADA: Protecting Against DNN Model
#   Stealing Attacks", IEEE EuroS&P 2019.
# - T. Lee, B. Edwards, I. Molloy and D. Su, "Defending Against NN Model Stealing Attacks
#   Using Deceptive Perturbations", IEEE S&P Workshops 2019 (the reverse sigmoid).
# - S. Szyller, B. G. Atli, S. Marchal and N. Asokan, "DAWN: Dynamic Adversarial Watermarking
#   of Neural Networks", ACM Multimedia 2021.
# - adversarial-robustness-toolbox: extraction attacks (CopycatCNN, KnockoffNets) and output
#   postprocessors (Rounded, ReverseSigmoid, ClassLabels).
# - OWASP Machine Learning Security Top 10, ML05 (Model Theft); MITRE ATLAS AML.T0024.002
#   (Extract ML Model).
