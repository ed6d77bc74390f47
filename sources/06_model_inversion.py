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
# # Lab 06 · Model inversion: what a model gives back of its training data
#
# A model is a summary of its training data, and a summary can be read backwards. From the
# digit reader, an attacker draws what each digit looks like; from the support chatbot's
# autocomplete, it pulls a customer's PIN; from public "people who liked this also liked"
# lists, the film a user just rated; from a scoring API, a customer's age band or a
# patient's smoking habit. This lab runs each of these attacks on the course's systems,
# measures what it gets back against what a guess without the model gets, then defends
# (differential privacy, scrubbing, coarser or noisier answers) and attacks the defence again,
# as an attacker who knows it.
#
# **Learning objectives.** After this lab you can
# 1. reconstruct what a class looks like from a classifier (MIFace, with and without the
#    weights) and say when that is a privacy breach and when it is not;
# 2. measure how much a language model memorised a secret (exposure, Carlini et al.'s secret
#    sharer) and extract it by greedy and beam search;
# 3. infer a hidden rating from changes in public recommendation lists (Calandrino et al.);
# 4. run attribute inference (Fredrikson et al.; score matching) and judge it against the two
#    baselines that do not use the model: the prior and imputation;
# 5. defend with DP training, PII scrubbing, randomised response, coarse and noisy answers, and
#    measure what each costs honest users;
# 6. attack each defence as an attacker who knows it: a prior from public data, formats the
#    scrubber misses, repeated queries that average noise away.
#
# **Prerequisites:** labs 00 and 05 (differential privacy, DP-SGD, epsilon); Bayes' rule;
# PyTorch basics.
# **Estimated time:** about 190 minutes of reading, exercises and questions (estimated from
# the notebook; the notebook itself runs in under a minute: the canary language models are
# loaded from checkpoints, see section 2; every attack runs live).

# %%
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from IPython.display import Markdown, display
from plotly.subplots import make_subplots
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlsec_helpers import claims, frameworks, inversion, plots, privacy, repro, stats
from mlsec_helpers.checks import lab06
from mlsec_helpers.data import load_dataset
from mlsec_helpers.exercises import check, grade

info = repro.setup(seed=0)  # seeds python, numpy and torch; caps threads; picks the device
seed = info["seed"]  # every model this lab trains live, and every attack's randomness
print(info)
display(Markdown(frameworks.lab_header_markdown(6)))
SUMMARY = {}  # one row per domain, for the summary at the end

# %% [markdown]
# ## The threat in one picture
#
# The attacker holds part of what it wants: the model or an API to it, a record without its
# sensitive field, the beginning of a message, a few of a user's ratings, or public data of
# the same kind. It queries (or follows the gradients) and reconstructs the rest. Every
# section measures the result against what the same attacker gets **without** the model: a
# guess from the prior, or a model of public data. Only the difference is the model's leak.

# %%
inversion.threat_diagram()


# %% [markdown]
# ## 1 · Image: the digit reader
#
# **The question.** Given the digit CNN, can an attacker draw what its training images look
# like? **MIFace** (Fredrikson, Jha and Ristenpart, CCS 2015) asks the model for the image it
# finds most "class c": gradient ascent on the class's logit, starting from noise, with the
# pixels kept in [0, 1]. We run the adversarial-robustness-toolbox's `MIFace` (with a
# workaround for its stopping rule, which can freeze a start after one step: see
# `inversion.digits_miface`) on lab 05's target: the width-4 `SmallCNN` trained for 60
# epochs on **750 member digits** (loaded from its checkpoint,
# `privacy.load_digits_models("lab05_digits_target")`; nothing trains here).
#
# **What we measure**, per class: the Pearson correlation of the reconstruction (averaged over
# 5 seeded random starts) with the **mean of that class's 750-member training images**, and
# whether it **identifies** its class: it correlates best with its own class mean among the
# ten. Two baselines: chance identifies 1 class in 10, and a *prior* with no model at all, the
# mean of public digits (the 1,000 test digits, unlabelled), shows what correlation "looking
# like a digit" already earns.

# %%
image = load_dataset("image", seed=0)
ds = privacy.DIGITS_SETTINGS
digits_split = privacy.digits_membership_split(len(image.X_train), ds["n_members"],
                                               seed=ds["seed"])
X_mem, y_mem = image.X_train[digits_split.members], image.y_train[digits_split.members]
digits_target = privacy.load_digits_models("lab05_digits_target").models["model0"]
dp_ckpt = privacy.load_digits_models("lab05_digits_dp")
dp_eps = {float(e): dp_ckpt.models[f"eps{i}.model0"]
          for i, e in enumerate(dp_ckpt.tensors["epsilons"].tolist())}
n_test_digits = len(image.X_test)


def digits_test_accuracy(model):
    hits = privacy.predict_logits(model, image.X_test).argmax(1).numpy() == image.y_test
    return stats.proportion(hits, on=f"{n_test_digits:,} test digits")


inv_on = "10 digit classes, class means of the 750 members"
miface_plain = inversion.digits_miface(digits_target, n_restarts=5, max_iter=30,
                                       learning_rate=0.3, seed=seed)
score_plain = inversion.digits_inversion_scores(miface_plain.reconstructions, X_mem, y_mem,
                                                on=inv_on, seed=seed)
public_decoder = inversion.digits_pca_decoder(image.X_test, n_components=20)
public_mean = public_decoder.decode(np.zeros((1, 20), np.float32))  # z = 0: the mean digit
score_prior = inversion.digits_inversion_scores(np.repeat(public_mean, 10, axis=0), X_mem,
                                                y_mem, on=inv_on)


def inversion_row(attack, score, **extra):
    return {"attack": attack, **extra, "correlation": score.mean_correlation,
            "95% CI (classes)": f"[{score.correlation_low:.2f}, {score.correlation_high:.2f}]",
            "contrast": round(float(score.contrast.mean()), 3) + 0.0,
            "classes identified": f"{score.n_identified}/10",
            "single restarts identify": f"{score.restart_identification:.2f}"}


display(plots.table(pd.DataFrame([
    inversion_row("MIFace, undefended CNN (white-box)", score_plain),
    inversion_row("no model: the mean public digit (prior alone)", score_prior),
]), precision=3, caption="What MIFace gives back of each class (" + inv_on + ")"))
print(f"MIFace on the undefended CNN: {score_plain}")
claims.claim("image: MIFace identifies the classes of the undefended CNN",
             score_plain.n_identified, at_least=9)
claims.claim("image: single MIFace restarts identify their class (50 restarts)",
             score_plain.restart_identification.value, at_least=0.85)
claims.claim("image: MIFace reconstructions correlate with the class means",
             score_plain.mean_correlation, at_least=0.22)

# %% [markdown]
# Read the two rows together. The mean public digit correlates far *more* with the class
# means than MIFace's reconstructions do, because every digit is a bright stroke in the
# middle of a dark square: raw correlation mostly measures "looks like a digit". What the
# model gives back is in the other columns. The prior identifies one class in ten, chance,
# and its **contrast** (correlation with its own class mean minus the mean correlation with
# the nine others) is 0 by construction, since it offers the same image for every class.
# The reconstructions identify nearly every class. They are not
# pretty digits: the ascent pushes pixels to 0 or 1 where the logit rewards them, so the
# result is a template of what the model looks for.
#
# **What this is not.** A class here is many writers' digits, so the reconstruction is what
# the class looks like on average, not any one member's image: a privacy breach only when
# the class is itself sensitive. Where a class *is* one person (face recognition, one class
# per employee), what the class looks like is that person. We show it at the end of the
# section.
#
# ### Defence 1: DP-SGD (eps = 1 and 8)
#
# Lab 05's DP checkpoints: the same CNN on the same members, trained with DP-SGD (opacus,
# delta 1e-5). DP bounds what any one record changes. It does not promise to hide what a
# *class* looks like, but the noise it adds blurs the class templates the attack climbs.

# %%
score_dp, acc_dp = {}, {"no DP": digits_test_accuracy(digits_target)}
miface_dp = {}
for e, model in dp_eps.items():
    if e not in (1.0, 8.0):  # lab 05 also holds eps = 3; two budgets tell the story here
        continue
    miface_dp[e] = inversion.digits_miface(model, n_restarts=5, max_iter=30,
                                           learning_rate=0.3, seed=seed)
    score_dp[e] = inversion.digits_inversion_scores(miface_dp[e].reconstructions, X_mem, y_mem,
                                                    on=inv_on, seed=seed)
    acc_dp[f"eps {e:g}"] = digits_test_accuracy(model)
dp_rows = [inversion_row("MIFace, undefended", score_plain, **{"DP eps": "none"},
                         **{"test accuracy": f"{acc_dp['no DP']:.3f}"})]
dp_rows += [inversion_row("MIFace, DP-SGD", score_dp[e], **{"DP eps": f"{e:g}"},
                          **{"test accuracy": f"{acc_dp[f'eps {e:g}']:.3f}"})
            for e in sorted(score_dp, reverse=True)]
display(plots.table(pd.DataFrame(dp_rows), precision=3,
                    caption="MIFace against DP-SGD; test accuracy on the "
                            f"{n_test_digits:,} test digits (95% Wilson intervals)"))
score_dp1, acc_cost = score_dp[1.0], acc_dp["no DP"].value - acc_dp["eps 1"].value
print(f"eps = 1: correlation {score_plain.mean_correlation:.3f} -> "
      f"{score_dp1.mean_correlation:.3f}, classes identified {score_plain.n_identified} -> "
      f"{score_dp1.n_identified}; honest users pay {acc_cost:.3f} of test accuracy "
      f"({acc_dp['no DP']} -> {acc_dp['eps 1']})")
claims.claim("image: DP eps 1 lowers MIFace's correlation", score_dp1.mean_correlation,
             at_most=0.25)
claims.claim("image: DP eps 1 lowers single-restart identification",
             score_dp1.restart_identification.value, at_most=0.85)
claims.claim("image: DP eps 1 costs test accuracy", acc_cost, at_least=0.03)

# %%
grid_rows = {"members' mean": np.stack([X_mem[y_mem == c].mean(0) for c in range(10)]),
             "undefended": miface_plain.reconstructions.mean(0),
             **{f"DP eps={e:g}": miface_dp[e].reconstructions.mean(0) for e in (8.0, 1.0)}}
plots.image_grid(np.concatenate(list(grid_rows.values())),
                 labels=[name if c == 0 else str(c) for name in grid_rows for c in range(10)],
                 ncols=10, size=90,
                 title="MIFace's reconstructions (mean of 5 restarts), rows: "
                       + " / ".join(grid_rows))

# %% [markdown]
# At eps = 8 the templates survive; at eps = 1 they fade into the noise DP-SGD added.
#
# ### Defence 2: coarse outputs (against an attacker without the weights)
#
# MIFace reads gradients, so it needs the weights. An attacker who only queries a serving
# API can run the same ascent with gradients **estimated from the answers** (antithetic
# finite differences along random directions, as in NES):
# `inversion.digits_zeroth_order_inversion`, 20 directions a step. A coarse API that returns
# only the label, or probabilities rounded to 2 decimals, answers the same to every small
# probe, so the estimate is zero and the image never moves; the attacker gives up after 5
# steps in which no answer changed, and the table counts the queries it spent. This defence
# does nothing against anyone who holds the weights.

# %%
coarse_rows, coarse_score = [], {}
for access in inversion.DIGITS_API_ACCESS:
    bb = inversion.digits_zeroth_order_inversion(digits_target, access=access, n_steps=40,
                                                 n_directions=20, seed=seed)
    coarse_score[access] = inversion.digits_inversion_scores(bb.reconstructions, X_mem, y_mem,
                                                             on=inv_on, seed=seed)
    coarse_rows.append(inversion_row(bb.access, coarse_score[access],
                                     **{"queries per class": bb.queries_per_class}))
display(plots.table(pd.DataFrame(coarse_rows).drop(columns=["single restarts identify"]),
                    precision=3, caption="Black-box inversion of the undefended CNN through "
                    "its API"))
claims.claim("image: black-box inversion from full probabilities identifies classes",
             coarse_score["probabilities"].n_identified, at_least=8)
claims.claim("image: label-only answers leave the black-box attack at chance",
             coarse_score["label"].n_identified, at_most=3)
claims.claim("image: rounded answers leave the black-box attack at chance",
             coarse_score["rounded"].n_identified, at_most=3)

# %% [markdown]
# Coarsening costs honest users nothing in accuracy (the label is the same), only the
# confidence they lose.
#
# ### The adaptive attacker: a prior from public digits
#
# The attacker knows both defences and brings what the model does not have to give: what
# digits look like. It fits a PCA (20 components) on unlabelled public digits (the test split)
# and searches the 20 PCA coordinates instead of 784 pixels, starting from the mean public
# digit. In 20 dimensions, probes one standard deviation wide cross the model's decision
# boundaries, so even the label API answers differently to different probes. Against DP it
# runs MIFace in the same latent space (white-box).

# %%
adaptive_rows, adaptive_score = [inversion_row("the prior alone (mean public digit)",
                                               score_prior)], {}
for name, model, access in [("undefended, label-only API", digits_target, "label"),
                            ("undefended, rounded API", digits_target, "rounded"),
                            ("DP eps 1, label-only API", dp_eps[1.0], "label")]:
    bb = inversion.digits_zeroth_order_inversion(model, access=access, decoder=public_decoder,
                                                 n_steps=20, n_directions=10, sigma=1.0,
                                                 learning_rate=0.1, seed=seed)
    adaptive_score[name] = inversion.digits_inversion_scores(bb.reconstructions, X_mem, y_mem,
                                                             on=inv_on, seed=seed)
    adaptive_rows.append(inversion_row(f"prior + black-box, {name}", adaptive_score[name],
                                       **{"queries per class": bb.queries_per_class}))
    n_queries_prior = bb.queries_per_class
wb_latent = inversion.digits_miface(dp_eps[1.0], n_restarts=5, max_iter=30, learning_rate=0.3,
                                    decoder=public_decoder, seed=seed)
adaptive_score["DP eps 1, white-box"] = inversion.digits_inversion_scores(
    wb_latent.reconstructions, X_mem, y_mem, on=inv_on, seed=seed)
adaptive_rows.append(inversion_row("prior + MIFace, DP eps 1 (white-box)",
                                   adaptive_score["DP eps 1, white-box"],
                                   **{"queries per class": 0}))
display(plots.table(pd.DataFrame(adaptive_rows), precision=3,
                    caption="The attacker with a prior: PCA of unlabelled public digits"))
adaptive_label = adaptive_score["undefended, label-only API"]
adaptive_dp = max(adaptive_score["DP eps 1, label-only API"].n_identified,
                  adaptive_score["DP eps 1, white-box"].n_identified)
claims.claim("image: the prior defeats the label-only API", adaptive_label.n_identified,
             at_least=8)
adaptive_dp_bb = adaptive_score["DP eps 1, label-only API"]
display(Markdown(
    "Coarse outputs stopped the pixel-space attacker, not an attacker with a prior: 20 "
    "well-chosen coordinates are enough to read the class templates through labels alone "
    f"({adaptive_label.n_identified}/10 classes for {n_queries_prior} queries a class). "
    "The prior lifts every correlation to its own level "
    f"({score_prior.mean_correlation:.2f} with no model at all), so judge the rows by "
    "identification and contrast. Against DP at eps = 1 the attacker with the prior "
    f"identifies {adaptive_dp_bb.n_identified}/10 classes through labels and "
    f"{adaptive_score['DP eps 1, white-box'].n_identified}/10 with the weights, against "
    f"{score_dp1.n_identified}/10 for MIFace in pixels: on ten classes their intervals "
    "(single-restart column) overlap, and all stay below the undefended "
    f"model's {score_plain.n_identified}/10. The prior makes a better-looking digit; it does "
    "not give back what the noise removed from the model."))

# %% [markdown]
#
# ### When a class is one person
#
# Now make each class **one individual**, as a face recogniser's class is one employee: for
# each digit, one member image (seeded choice) stands for the person, and a softmax
# regression (the model of Fredrikson et al.'s face experiments, trained here in a fraction
# of a second) learns 40 copies of it, shifted by up to 2 pixels with noise added. A control
# model trains the same way on the 750 members, where a class is many writers. For each
# class we rank the chosen image among all member images of its digit by their correlation
# with the reconstruction.

# %%
one_person = inversion.digits_one_individual_inversion(X_mem, y_mem, seed=seed)
beats_one, beats_many = float(one_person.beats_one.mean()), float(one_person.beats_many.mean())
display(plots.table(pd.DataFrame({
    "model": ["one individual per class", "many writers per class (control)"],
    "corr. with the individual": [one_person.correlation_one.mean(),
                                  one_person.correlation_many.mean()],
    "share of its class it beats": [beats_one, beats_many],
    "individual ranks first": [f"{one_person.top_one:.2f}", f"{one_person.top_many:.2f}"],
}), precision=3, caption="Does the reconstruction point at one member? (10 classes, "
                         "~75 member images each)"))
claims.claim("image: one-person classes: the reconstruction points at the person",
             beats_one, at_least=0.85)
claims.claim("image: many-writer classes: the chosen member is not singled out",
             beats_many, at_most=0.75)

# %% [markdown]
# ### What changed and why

# %%
display(Markdown(f"""
- **Attack.** White-box MIFace on the undefended CNN identified
  {score_plain.n_identified}/10 classes (correlation with the class means
  {score_plain.mean_correlation:.2f}, 95% CI over classes [{score_plain.correlation_low:.2f},
  {score_plain.correlation_high:.2f}]); the prior alone identifies
  {score_prior.n_identified}/10 at correlation {score_prior.mean_correlation:.2f}: raw
  correlation rewards looking like any digit, identification measures what the model gives.
- **DP-SGD at eps = 1** cut it to {score_dp1.n_identified}/10 (correlation
  {score_dp1.mean_correlation:.2f}) for {acc_cost:.3f} of test accuracy; eps = 8 kept
  {score_dp[8.0].n_identified}/10.
- **Coarse outputs** stopped the black-box attack in pixel space
  ({coarse_score['probabilities'].n_identified}/10 from probabilities,
  {coarse_score['label'].n_identified}/10 from labels), but an attacker with a public prior
  read {adaptive_label.n_identified}/10 classes through the label-only API, and against DP at
  eps = 1 the prior reached {adaptive_dp}/10.
- **One class, one person.** When a class was one individual, the reconstruction correlated
  more with that individual than with {beats_one:.0%} of the other images of its digit
  (control, many writers a class: {beats_many:.0%}). Inverting a face recogniser is a
  privacy breach for that reason; inverting a digit reader mostly is not.
"""))

# %%
SUMMARY["image"] = dict(
    leak="what each digit class looks like (the class template)",
    measure="classes identified by the reconstruction, share of 10",
    undefended=score_plain.n_identified / 10, defended=score_dp1.n_identified / 10,
    adaptive=adaptive_dp / 10, defence="DP-SGD at eps = 1",
    cost=f"{acc_cost:.3f} of test accuracy ({acc_dp['no DP'].value:.3f} -> "
         f"{acc_dp['eps 1'].value:.3f})",
    chance=0.1)

# %% [markdown]
# ## 2 · NLP: the support chatbot's autocomplete
#
# The support chatbot suggests how a customer's sentence goes on. Its autocomplete model is
# lab 05's character-level language model (an LSTM), trained on past support messages. Some
# customers put secrets in those messages. An attacker who can type into the autocomplete
# box types the beginning of such a message, "Hi, this is Mei Chen, my passcode is ", and
# reads what the model thinks comes next. This is **the secret sharer** (Carlini et al.,
# USENIX Security 2019): we plant **canaries**, messages with a random 4-digit PIN, each
# repeated `k` times among the support messages the model trains on, and measure how much
# the model gives away about each PIN.
#
# Every canary has its own made-up customer and its own phrase before the PIN. Besides the
# PINs written as digits, two are written with spaces ("9 4 8 5") and two as words ("six
# eight four three"), and ten **controls** are written like the others but never planted:
# they show what the attack gets on a secret the model never saw.

# %%
canaries = inversion.canary_set(seed=0)  # the canaries are part of the data: seed 0, always
canary_frame = pd.DataFrame([dict(customer=c.name, message=c.text, format=c.fmt,
                                  planted=c.repeats) for c in canaries])
display(plots.table(canary_frame.iloc[::4], caption=f"Some of the {len(canaries)} canaries "
                    f"({sum(c.repeats > 0 for c in canaries)} planted, "
                    f"{sum(c.repeats == 0 for c in canaries)} controls)"))
canary_settings = inversion.CANARY_LM_SETTINGS
print(f"training data: {canary_settings['n_messages']:,} support messages and "
      f"{sum(c.repeats for c in canaries)} planted canary messages; the LSTM has "
      f"{canary_settings['hidden']} units")

# %% [markdown]
# Three models are trained on the corpus: as is, after a PII scrubber (below), and with
# DP-SGD. The DP one takes minutes on one core (opacus's `DPLSTM`), more than this notebook's
# budget, so all three are **checkpoints** trained by `inversion.train_canary_lm` (retrain
# with `checkpoints.retrain("lab06_canary_lm")`, `"lab06_canary_lm_scrubbed"` and
# `"lab06_canary_lm_dp"`); every attack below runs live.

# %%
canary_lms = inversion.load_canary_lms()
# to retrain one: checkpoints.retrain("lab06_canary_lm_dp") (minutes; same SHA-256)
lm_plain, lm_scrubbed = canary_lms["plain"].model, canary_lms["scrubbed"].model
lm_dp, lm_dp_spent = canary_lms["dp"].model, canary_lms["dp"].privacy
print(f"DP model: epsilon = {lm_dp_spent.epsilon:.2f} per message at delta = "
      f"{lm_dp_spent.delta:g} (noise sigma {lm_dp_spent.noise_multiplier:.2f}, "
      f"{lm_dp_spent.steps} steps)")

# %% [markdown]
# ### The attack: exposure and extraction
#
# The attacker knows the prefix and that a PIN follows. For each of the 10,000 PINs the
# model gives a **log-perplexity**, `-log2 P(PIN | prefix)` in bits; the attacker ranks all of
# them (`inversion.canary_candidate_scores` runs the LSTM once over a trie of the
# candidates). The **exposure** of the true PIN is `log2(10,000) - log2(rank)`: 13.3 bits when
# it is the model's first guess, about 1.4 bits on average for a PIN the model never saw.
# Extraction needs no list of candidates: **greedy decoding** writes the likeliest character
# four times; **beam search** keeps the 16 likeliest continuations at every character.

# %%
max_exposure = np.log2(10_000)
attack_plain = inversion.canary_attack_table(lm_plain, canaries)
cols = ["name", "fmt", "repeats", "pin", "rank", "exposure", "greedy", "beam"]
display(plots.table(attack_plain[cols], precision=1,
                    caption="The undefended model: every canary attacked"))
digits_plain = attack_plain[attack_plain.fmt == "digits"]
by_k = digits_plain.groupby("repeats").agg(
    canaries=("exposure", "size"), mean_exposure=("exposure", "mean"),
    min_exposure=("exposure", "min"), greedy_extracts=("greedy_right", "sum"),
    beam_extracts=("beam_right", "sum"))
display(plots.table(by_k, precision=1, caption="Digit canaries by times planted (0: controls)"))
chance_controls = digits_plain[digits_plain.repeats == 0].exposure.mean()
claims.claim("the undefended model exposes every PIN planted 5+ times (min bits)",
             digits_plain[digits_plain.repeats >= 5].exposure.min(), at_least=12.0)
claims.claim("never-planted control PINs are at chance (mean exposure, bits)",
             chance_controls, at_most=3.0)
claims.claim("greedy decoding writes the PINs planted 20 times (of 3)",
             digits_plain[digits_plain.repeats == 20].greedy_right.sum(), at_least=2)

# %% [markdown]
# ### Exercise 1 · The exposure of a secret
#
# Write `exposure(secret_score, candidate_scores)`: `candidate_scores` holds the
# log-perplexity of every candidate of the secret's space (the secret among them; lower is
# likelier) and `secret_score` the secret's own. Return `log2(n) - log2(rank)` in bits, where
# `n` is the number of candidates and `rank` is one plus the number of candidates scored
# **strictly** lower than the secret (a tie does not count against it). Raise `ValueError`
# for no candidates or a NaN or infinite score.

# %%
def exposure(secret_score, candidate_scores):
    ### BEGIN SOLUTION
    scores = np.asarray(candidate_scores, dtype=float)
    if scores.ndim != 1 or scores.size == 0:
        raise ValueError("candidate_scores must be a non-empty 1-D array")
    if not (np.isfinite(secret_score) and np.isfinite(scores).all()):
        raise ValueError("scores must be finite")
    rank = 1 + int(np.sum(scores < secret_score))
    return float(np.log2(scores.size) - np.log2(rank))
    ### END SOLUTION

# %%
### POINTS: 2
exposure = check(lab06.EXPOSURE, exposure)
### BEGIN HIDDEN TESTS
grade(lab06.EXPOSURE, exposure)
### END HIDDEN TESTS

# %%
# Your function on the undefended model's scores for one canary planted 5 times and one
# control; the table above computed the same with inversion.exposure.
for c in (next(c for c in canaries if c.fmt == "digits" and c.repeats == 5),
          next(c for c in canaries if c.fmt == "digits" and c.repeats == 0)):
    pin_scores = inversion.canary_candidate_scores(lm_plain, c.prefix, c.fmt)
    yours = exposure(pin_scores[c.pin], pin_scores)
    print(f"{c.name} (planted {c.repeats} times): {yours:.2f} bits")
    assert abs(yours - inversion.exposure(pin_scores[c.pin], pin_scores)) < 1e-9

# %% [markdown]
# ### Defence 1: scrub personal data from the training messages
#
# Before training, `inversion.scrub_pii` replaces what regular expressions can recognise with
# tags: emails `[EMAIL]`, card numbers in the corpus's three formats `[CARD]`, UK phone
# numbers `[PHONE]`, 8-digit account numbers `[ACCOUNT]` and 4-6-digit codes `[PIN]` (its
# docstring states every rule). The corpus generator labels which personal data each message
# holds, so we can measure the scrubber's recall per type on the corpus's training messages,
# and what it changes in messages that hold none.

# %%
support = load_dataset("nlp", seed=0)
print(inversion.scrub_pii(support.frame_train.text[support.frame_train.has_pii].iloc[2]))
scrub_recall = inversion.scrub_pii_recall(support.frame_train)
display(plots.table(scrub_recall, caption="The scrubber against the corpus's own PII labels "
                    "(rate: recall; last row: messages without PII that it changed)"))
scrub_rows = scrub_recall.set_index("pii_type")
claims.claim("the scrubber catches card numbers (recall, lower bound)",
             scrub_rows.loc["card_number", "low"], at_least=0.95)
claims.claim("the scrubber changes few messages without PII (share)",
             scrub_rows.loc["no PII (over-scrub)", "rate"], at_most=0.01)

# %% [markdown]
# ### Exercise 2 · A scrubber of your own
#
# Write `scrub(text)`, a smaller scrubber with three rules, applied in this order:
# 1. every **email address** (letters, digits or `._%+-`, an `@`, then a domain of at least
#    two parts of letters, digits or `-` joined by dots) becomes `[EMAIL]`;
# 2. every **card number** (16 digits in four groups of four, with the same separator between
#    the groups: none, one space or one hyphen; not touching another digit) becomes `[CARD]`;
# 3. every **code of 4 to 6 digits** in a row becomes `[PIN]`, unless it is part of a longer
#    number: a digit, `.`, `,` or `£` right before it, or a digit (or `.` or `,` followed by a
#    digit) right after it.
#
# Everything else stays as it is; a text that is not a string raises `TypeError`. Python's
# `re` module does it in three `re.sub` calls.

# %%
def scrub(text):
    ### BEGIN SOLUTION
    import re

    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    text = re.sub(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", "[EMAIL]", text)
    text = re.sub(r"(?<!\d)\d{4}([ -]?)\d{4}\1\d{4}\1\d{4}(?!\d)", "[CARD]", text)
    return re.sub(r"(?<![\d.,£])\d{4,6}(?!\d|[.,]\d)", "[PIN]", text)
    ### END SOLUTION

# %%
### POINTS: 2
scrub = check(lab06.SCRUB, scrub)
### BEGIN HIDDEN TESTS
grade(lab06.SCRUB, scrub)
### END HIDDEN TESTS

# %%
# Your scrubber on the corpus's labelled messages and on the planted canaries.
pii_train = support.frame_train[support.frame_train.has_pii]
yours_rows = []
for kind, tag in (("email", "[EMAIL]"), ("card_number", "[CARD]")):
    labelled = pii_train[pii_train.pii_types.str.contains(kind)].text
    yours_rows.append(dict(what=f"messages labelled {kind}", caught=stats.proportion(
        np.array([tag in scrub(t) for t in labelled]), on=f"{len(labelled)} messages")))
for fmt in ("digits", "spaced", "words"):
    texts = [c.text for c in canaries if c.fmt == fmt and c.repeats > 0]
    yours_rows.append(dict(what=f"planted canaries, PIN as {fmt}", caught=stats.proportion(
        np.array(["[PIN]" in scrub(t) for t in texts]), on=f"{len(texts)} canaries")))
display(plots.table(pd.DataFrame([dict(what=r["what"], share=r["caught"].value,
                                       low=r["caught"].low, high=r["caught"].high,
                                       n=r["caught"].n) for r in yours_rows]),
                    caption="What your scrubber catches"))

# %% [markdown]
# The scrubber does not try names (their recall is in the table): a regular expression cannot
# tell "Grace Thompson" from "Grace Street"; that takes a list of names or a named-entity
# model (and both miss unusual names).
# Now the canaries under the model trained on the scrubbed corpus. Its digit canaries were
# trained as "... my passcode is [PIN]":

# %%
attack_scrubbed = inversion.canary_attack_table(lm_scrubbed, canaries)
digits_scrubbed = attack_scrubbed[(attack_scrubbed.fmt == "digits")
                                  & (attack_scrubbed.repeats > 0)]
scrubbed_exposure = digits_scrubbed.exposure.mean()
print(f"planted digit PINs: mean exposure {scrubbed_exposure:.1f} bits under the scrubbed "
      f"model, against {digits_plain[digits_plain.repeats > 0].exposure.mean():.1f} undefended "
      f"and {chance_controls:.1f} for never-planted controls; extracted greedily: "
      f"{int(digits_scrubbed.greedy_right.sum())} of {len(digits_scrubbed)}")
print("what the scrubbed model completes:", repr(attack_scrubbed.greedy.iloc[0]),
      "| best PIN:", attack_scrubbed.best_pin.iloc[0])
claims.claim("scrubbing puts the digit PINs at chance (mean exposure, bits)",
             scrubbed_exposure, at_most=3.0)

# %% [markdown]
# **The adaptive attacker** knows the scrubber's rules: a regular expression only matches
# what it was written for. Customers write PINs in other ways too, "9 4 8 5" or "six eight
# four three", and the scrubber leaves those alone (its rule 5 wants 4-6 digits in a row).
# The attacker ranks the 10,000 PINs written in those formats:

# %%
adaptive_scrubbed = attack_scrubbed[attack_scrubbed.fmt != "digits"]
display(plots.table(adaptive_scrubbed[cols], precision=1,
                    caption="PINs written as spaced digits or words, under the scrubbed model"))
adaptive_exposure = adaptive_scrubbed.exposure.mean()
claims.claim("PINs the scrubber misses stay exposed in the scrubbed model (mean bits)",
             adaptive_exposure, at_least=10.0)

# %% [markdown]
# ### Defence 2: DP training
#
# DP-SGD (opacus) bounds how much any one training message can change the model: at
# epsilon 8 per message. The same attack on the DP model, and what the DP model costs honest
# users: its cross-entropy on held-out support messages without personal data (the test
# split), in bits per character (lower is better autocomplete).

# %%
digit_canaries = [c for c in canaries if c.fmt == "digits"]
attack_dp = inversion.canary_attack_table(lm_dp, digit_canaries)
canary_tables = {"undefended": attack_plain, "scrubbed": attack_scrubbed, "DP": attack_dp}
exposure_by_k = pd.DataFrame({
    name: table[table.fmt == "digits"].groupby("repeats").exposure.mean()
    for name, table in canary_tables.items()})
display(plots.table(exposure_by_k, precision=1,
                    caption="Mean exposure (bits) of the digit canaries by times planted "
                    "(3 canaries per count; 0: the never-planted controls)"))
# held-out messages without personal data: the scrubbed model never learned to write card
# numbers (by design), so messages that hold them would charge it for the defence working
held_out = list(support.frame_test.text[~support.frame_test.has_pii][:400])
bpc = {name: inversion.canary_lm_bits_per_char(model, held_out)
       for name, model in (("undefended", lm_plain), ("scrubbed", lm_scrubbed), ("DP", lm_dp))}
# the baseline any model must beat: letter frequencies of the training split, per character
letters_nats = privacy.char_unigram_losses(support.X_train, held_out,
                                           max_len=canary_settings["max_len"])
n_chars = np.array([min(len(t), canary_settings["max_len"]) + 1 for t in held_out])
letters_bpc = float((letters_nats * n_chars).sum() / n_chars.sum() / np.log(2))
print(f"bits per character on {len(held_out)} held-out messages:",
      {k: round(v, 2) for k, v in bpc.items()}, f"| letter frequencies alone: {letters_bpc:.2f}")
dp_k10, plain_k10 = exposure_by_k.loc[10, "DP"], exposure_by_k.loc[10, "undefended"]
claims.claim("DP at epsilon 8: exposure of PINs planted 10 times (mean bits)", dp_k10,
             at_most=8.0)
claims.claim("DP cuts the exposure of PINs planted 10 times (bits)", plain_k10 - dp_k10,
             at_least=5.0)
claims.claim("DP costs autocomplete quality (held-out bits/char, increase)",
             bpc["DP"] - bpc["undefended"], at_least=0.2)
claims.claim("the DP model still beats letter frequencies (bits/char)",
             letters_bpc - bpc["DP"], at_least=0.5)

# %% [markdown]
# Three canaries per count are a demonstration, not an estimate. Pooled over the nine digit
# canaries planted 5, 10 or 20 times, the share whose PIN is the model's **first guess** of
# the 10,000 (a guess without the model: 1 in 10,000), with Wilson intervals:

# %%
often = f"{sum(c.repeats >= 5 for c in digit_canaries)} digit canaries planted 5-20 times"
first_guess = {name: stats.proportion(table[(table.fmt == "digits") & (table.repeats >= 5)]
                                      .top_guess_right.to_numpy(), on=often)
               for name, table in canary_tables.items()}
display(plots.table(pd.DataFrame(
    [dict(model=name, first_guess=r.value, low=r.low, high=r.high, n=r.n)
     for name, r in first_guess.items()]), caption=f"PIN is the first guess, on {often}"))
dp_k20 = attack_dp[attack_dp.repeats == 20]
print(f"DP model, PINs planted 20 times: mean exposure {dp_k20.exposure.mean():.1f} bits, "
      f"first guess {int(dp_k20.top_guess_right.sum())} of {len(dp_k20)}, written by greedy "
      f"decoding {int(dp_k20.greedy_right.sum())}, by beam search {int(dp_k20.beam_right.sum())}")
claims.claim("the undefended model's first guess is the PIN (share, lower bound)",
             first_guess["undefended"].low, at_least=0.5)

# %%
fig = go.Figure()
for name, color in (("undefended", plots.COLORS["baseline"]),
                    ("scrubbed", plots.COLORS["accent"]), ("DP", plots.COLORS["defended"])):
    d = canary_tables[name][canary_tables[name].fmt == "digits"]
    fig.add_trace(go.Scatter(x=d.repeats.astype(str), y=d.exposure, mode="markers",
                             name=name if name != "DP" else "DP (epsilon 8)",
                             marker=dict(color=color, size=9, opacity=0.75)))
fig.add_hline(y=max_exposure, line_dash="dot", line_color=plots.COLORS["attack"],
              annotation_text=f"first guess ({max_exposure:.1f} bits)")
fig.add_hline(y=1 / np.log(2), line_dash="dot", line_color=plots.COLORS["neutral"],
              annotation_text=f"chance ({1 / np.log(2):.1f} bits on average)")
fig.update_layout(title="Exposure of each digit PIN by times planted (0: controls)",
                  xaxis_title="times the canary is in the training data",
                  yaxis_title="exposure (bits)", template="plotly_white+mlsec", height=380)
fig

# %% [markdown]
# **Group privacy.** Epsilon 8 is a promise about **one message**. A secret written `k`
# times is protected only as a group of `k` messages, at `k` times epsilon:

# %%
dp_epsilon = lm_dp_spent.epsilon
for k in (1, 5, 10, 20):
    group = privacy.group_epsilon(dp_epsilon, k)
    print(f"k = {k:2d}: group epsilon <= {group:5.0f}: the secret may be up to e^{group:.0f} "
          f"times likelier to be guessed than had it never been written")

# %%
one_guess = min(1.0, np.exp(dp_epsilon) / 10_000)
display(Markdown(
    f"Even at `k = 1` the bound is weak for a secret from a space this small: a first guess "
    f"right 1 time in 10,000 without the message may be right {one_guess:.0%} of the time "
    f"with it (e^{dp_epsilon:.0f} / 10,000). What the DP model does leak is what this model "
    f"and this noise happen to give, not what the guarantee promises, and it grows with `k`: "
    f"{exposure_by_k.loc[1, 'DP']:.1f} bits at `k = 1`, {dp_k10:.1f} at `k = 10`, "
    f"{exposure_by_k.loc[20, 'DP']:.1f} at `k = 20` (table above)."))

# %%
display(Markdown(
    f"**What changed and why.** The undefended model learns a PIN it has seen even once "
    f"({exposure_by_k.loc[1, 'undefended']:.1f} bits on average at `k = 1`), and greedy "
    f"decoding writes {by_k.loc[10, 'greedy_extracts']} of {by_k.loc[10, 'canaries']} PINs "
    f"planted 10 times and {by_k.loc[20, 'greedy_extracts']} of {by_k.loc[20, 'canaries']} "
    f"planted 20 times for whoever types the prefix. Scrubbing removes the PIN before training, so "
    f"there is nothing to memorise ({scrubbed_exposure:.1f} bits, chance "
    f"{chance_controls:.1f} on the controls), and ordinary text is predicted as well as before "
    f"({bpc['scrubbed']:.2f} against {bpc['undefended']:.2f} bits per character); but it "
    f"removes only what its rules describe: names pass untouched "
    f"({scrub_rows.loc['name', 'rate']:.0%} recall), and a PIN written as \"9 4 8 5\" or in "
    f"words is memorised as before ({adaptive_exposure:.1f} bits). DP training's promise does "
    f"not depend on how a secret is written, because it limits what any one message can "
    f"teach the model: {dp_k10:.1f} bits at `k = 10`; but autocomplete gets much worse "
    f"({bpc['DP']:.2f} bits "
    f"per character, letter frequencies alone {letters_bpc:.2f}), and the guarantee is per "
    f"message, so a secret written often leaks ({dp_k20.exposure.mean():.1f} bits at "
    f"`k = 20`). Scrub what rules can catch, train with DP for the rest, and expect neither "
    f"to save a secret that customers repeat."))

# %%
SUMMARY["nlp"] = dict(
    leak="a card PIN written 10 times in the autocomplete's training messages",
    measure="exposure of the PIN among all 10,000, bits (13.3: the model's first guess)",
    undefended=float(plain_k10), defended=float(exposure_by_k.loc[10, "scrubbed"]),
    adaptive=float(adaptive_exposure), defence="PII scrubbing of the training messages",
    cost=(f"held-out bits/char {bpc['undefended']:.2f} -> {bpc['scrubbed']:.2f}; names not "
          f"scrubbed (recall {scrub_rows.loc['name', 'rate']:.0%}); DP-SGD at epsilon 8 "
          f"instead: {dp_k10:.1f} bits at {bpc['DP']:.2f} bits/char"),
    chance=float(1 / np.log(2)))

# %% [markdown]
# ## 3 · Recommender: the film recommender
#
# A film service shows, on every film's page, the films "people who liked this also liked":
# the films whose star vectors (one entry per user) are most similar to this film's by
# cosine, recomputed at each publication. These lists are public, and they are computed from
# everyone's ratings. Calandrino et al. ("You might also like: privacy risks of collaborative
# filtering", IEEE S&P 2011) showed that they give back what one user rated: rate a film, and
# it moves up a little in the lists of every film you rated before.
#
# **What leaks here is the public lists, not a model.** Lab 00's recommender
# (`systems.MFRecommender`) turns the same MovieLens ratings into each user's private
# recommendations; its factors are never published and this section does not touch them.
# The service below is built on the same data: the catalogue is every film with at least 10
# training ratings, its star matrix the training ratings, and the ratings users add later are
# the held-out ones (each user's most recent).
#
# **Threat model.** The attacker knows 20 films the target rated (from the target's public
# reviews, say) and reads those 20 films' public pages at one publication and at the next.
# Between the two, the target rates one more film (their real next rating) and 20 other
# users rate one film each, so lists move for other reasons too. The attacker scores every
# film it does not know the target rated by how far it rose in the 20 lists (entering at the
# top counts most) and guesses the best. Measured over 150 target users.

# %%
rec_films = inversion.related_items_service(load_dataset("recommender", seed=0))
rec_n_films = len(rec_films.items)
rec_window = inversion.related_items_window(rec_films, n_targets=150, n_known=20,
                                                  n_background=20, seed=seed)
print(f"catalogue: {rec_n_films} films with >= 10 ratings; {len(rec_window.targets)} target "
      f"users, each with 20 known films; lists of k = 20 related films")

# %% [markdown]
# One target, to see the signal: the lists of the films the attacker knows, in which the film
# the target rated next rose (position 1 is the top; "-" means absent).

# %%
rec_plain = inversion.related_items_attack(rec_films, rec_window, k=20, seed=seed)
# the film's position (0 = absent, 1 = top) in each known film's list, before and after
rec_truth = rec_window.truth[:, None, None]
rec_pos_before = ((rec_window.near_before[:, :, :20] == rec_truth) * np.arange(1, 21)).max(2)
rec_pos_after = ((rec_window.near_after[:, :, :20] == rec_truth) * np.arange(1, 21)).max(2)
rec_rose = (rec_pos_after > 0) & ((rec_pos_before == 0) | (rec_pos_after < rec_pos_before))
# the correctly guessed target whose film rose in the most lists
rec_example = int(np.argmax(rec_rose.sum(1) * (rec_plain.guesses[:, 0] == rec_plain.truth)))
rec_truth_film = rec_window.truth[rec_example]
rec_example_rows = [
    {"known film's page": rec_films.titles[a], "position before": int(b) if b else "-",
     "position after": int(c)}
    for a, b, c, r in zip(rec_window.known[rec_example], rec_pos_before[rec_example],
                          rec_pos_after[rec_example], rec_rose[rec_example], strict=True) if r]
rec_n_rose = rec_rose.sum(1)
display(Markdown(
    f"Target user {rec_window.targets[rec_example]} rated "
    f"**{rec_films.titles[rec_truth_film]}** in the window; it rose in "
    f"{len(rec_example_rows)} of the 20 known films' lists (over all targets, the new film "
    f"rose in {rec_n_rose.mean():.1f} lists on average, and in none for "
    f"{(rec_n_rose == 0).mean():.0%} of them):"))
display(plots.table(pd.DataFrame(rec_example_rows)))

# %% [markdown]
# ### Exercise 3 · How far each film rose
#
# The attacker scores every film by how far it rose in the lists it watches. Write
# `rank_gain(before, after, n_films)`: `before` and `after` are (r, k) integer arrays, the
# lists (best first) of the same r films at two publications. A film's weight in a list is
# `(k - position) / k` (1 at position 0, the top; 1/k at the bottom; 0 when it is absent);
# its gain is its weight summed over the `after` lists minus its weight summed over the
# `before` lists. Return the (n_films,) float gains; raise `ValueError` for arrays of
# different shapes or a film index outside `0..n_films-1`.

# %%
def rank_gain(before, after, n_films):
    ### BEGIN SOLUTION
    before, after = np.asarray(before), np.asarray(after)
    if before.ndim != 2 or before.shape != after.shape:
        raise ValueError("before and after must be (r, k) arrays of the same shape")
    for lists in (before, after):
        if lists.size and (lists.min() < 0 or lists.max() >= n_films):
            raise ValueError(f"film indices must lie in 0..{n_films - 1}")
    k = before.shape[1]
    weight = np.tile((k - np.arange(k)) / k, len(before))
    return (np.bincount(after.ravel(), weight, n_films)
            - np.bincount(before.ravel(), weight, n_films))
    ### END SOLUTION

# %%
### POINTS: 2
rank_gain = check(lab06.RANK_GAIN, rank_gain)
### BEGIN HIDDEN TESTS
grade(lab06.RANK_GAIN, rank_gain)
### END HIDDEN TESTS

# %%
# Your function on the example target's 20 watched lists: where does the film they rated
# next rank among the films the attacker does not know they rated?
rec_gain = rank_gain(rec_window.near_before[rec_example, :, :20],
                     rec_window.near_after[rec_example, :, :20], rec_n_films)
rec_gain[rec_window.known[rec_example]] = -np.inf  # films the attacker knows are no guess
rec_place = 1 + int((rec_gain > rec_gain[rec_truth_film]).sum())
print(f"{rec_films.titles[rec_truth_film]} has gain {rec_gain[rec_truth_film]:.2f}, place "
      f"{rec_place} of {rec_n_films - 20} candidates")

# %% [markdown]
# **The attack, measured.** Two baselines watch no change: the most popular film the attacker
# does not know the target rated, and the film the known films' lists rank highest at the
# first publication (what item-to-item recommendation itself would suggest to the target).
# "In 5 guesses" counts a target as found when the film is among the attacker's 5 best.

# %%
def rec_row(name, result):
    return {"attacker / service": name,
            "first guess right": f"{result.top1:.3f}",
            f"in {result.n_guesses} guesses": f"{result.top_n:.3f}",
            "lists read per target": result.queries,
            "list overlap with exact": result.list_overlap}


rec_rows = [rec_row("watches 20 lists (exact lists)", rec_plain),
            {"attacker / service": "baseline: most popular unknown film",
             "first guess right": f"{rec_plain.popular_baseline:.3f}",
             "lists read per target": 0},
            {"attacker / service": "baseline: top of the known films' lists (no change)",
             "first guess right": f"{rec_plain.static_baseline:.3f}",
             "lists read per target": 20}]
display(plots.table(pd.DataFrame(rec_rows), caption=f"Guessing the target's new film, on "
                    f"{rec_plain.top1.on} (uniform guess: {rec_plain.chance:.4f})"))
claims.claim("the list changes reveal the target's new film (first-guess rate)",
             rec_plain.top1.value, at_least=0.25)
claims.claim("watching the change beats the best baseline (first-guess rate gap)",
             rec_plain.top1.value - max(rec_plain.popular_baseline.value,
                                        rec_plain.static_baseline.value), at_least=0.2)

# %% [markdown]
# The top of the static lists is almost never the target's next film (the baseline row);
# their *change* often points to it. One rating moves the cosine of every pair (film the
# target rated, new film) a little, and a film already low in several of those lists climbs
# or crosses into them, as in the example above.
#
# **Defence 1: noise.** The service adds fresh Gaussian noise (standard deviation σ, in
# cosine units) to the scores of each film's 50 nearest films every time it renders the
# page, and shows the top 20 of the noisy ranking. The cost to honest users: the share of a
# shown list that the exact list holds. **The attacker who knows the defence** reloads each
# page 16 times before and after the window and averages the rank weights: fresh noise
# averages out, the rating's shift does not.

# %%
rec_noise_levels = [0.0, 0.005, 0.01, 0.02, 0.04]
rec_by_noise = {
    sigma: (inversion.related_items_attack(rec_films, rec_window, noise=sigma, seed=seed),
            inversion.related_items_attack(rec_films, rec_window, noise=sigma,
                                                 n_renders=16, seed=seed))
    for sigma in rec_noise_levels}
rec_sweep = {"one render": [once.top1.value for once, _ in rec_by_noise.values()],
             "adaptive (16 renders)": [many.top1.value for _, many in rec_by_noise.values()],
             "list overlap": [once.list_overlap for once, _ in rec_by_noise.values()]}
rec_fig = plots.curves(rec_noise_levels,
                       {"attack": rec_sweep["one render"],
                        "adaptive attack (16 renders)": rec_sweep["adaptive (16 renders)"],
                        "defended": rec_sweep["list overlap"]},
                       title="Noise in the lists: the attack, the adaptive attack, the cost",
                       xaxis_title="noise σ added to each cosine", yaxis_title="share")
rec_fig.data[0].name = "first guess right, attacker reads each page once"
rec_fig.data[1].name = "first guess right, attacker reads each page 16 times"
rec_fig.data[2].name = "list overlap with the exact list (honest users)"
rec_fig.data[1].line.color = plots.COLORS["accent"]
# Wilson intervals on the 150 targets
for trace, k in ((rec_fig.data[0], 0), (rec_fig.data[1], 1)):
    rates = [pair[k].top1 for pair in rec_by_noise.values()]
    trace.error_y = dict(type="data", array=[r.high - r.value for r in rates],
                         arrayminus=[r.value - r.low for r in rates])
rec_fig

# %%
rec_sigma = 0.01
rec_noisy, rec_adaptive = rec_by_noise[rec_sigma]
rec_rows += [rec_row(f"reads each page once (noise σ = {rec_sigma})", rec_noisy),
             rec_row(f"reads each page 16 times (noise σ = {rec_sigma})", rec_adaptive)]
display(plots.table(pd.DataFrame([rec_rows[0]] + rec_rows[-2:]),
                    caption=f"Noise σ = {rec_sigma}, on {rec_plain.top1.on}"))
claims.claim("noise of 0.01 cuts the attack (first-guess rate drop)",
             rec_plain.top1.value - rec_noisy.top1.value, at_least=0.15)
claims.claim("noise of 0.01 changes some, but under 15%, of each shown list (overlap)",
             rec_noisy.list_overlap, at_least=0.85, at_most=0.97)
claims.claim("averaging 16 renders wins back most of what noise took (share of the drop)",
             (rec_adaptive.top1.value - rec_noisy.top1.value)
             / (rec_plain.top1.value - rec_noisy.top1.value), at_least=0.5)

# %%
rec_strongest = rec_by_noise[rec_noise_levels[-1]]
display(Markdown(
    f"At σ = {rec_sigma}, noise drawn afresh on every render cuts the first-guess rate from "
    f"{rec_plain.top1.value:.2f} to {rec_noisy.top1.value:.2f} for an attacker who looks once, "
    f"and the attacker who reloads each page 16 times gets back to "
    f"{rec_adaptive.top1.value:.2f}, while honest users see lists of which "
    f"{rec_noisy.list_overlap:.0%} are the exact films. At the largest noise tried "
    f"(σ = {rec_noise_levels[-1]}) the reloading attacker still gets "
    f"{rec_strongest[1].top1.value:.2f} (against {rec_plain.popular_baseline.value:.3f} for the "
    f"popular-film baseline), and only {rec_strongest[0].list_overlap:.0%} of each shown list is "
    f"exact."))

# %% [markdown]
# The fix the measurement points to: draw the noise once per publication and keep it, so
# reloads show the same list. Whether an attacker averaging over many publications (with
# other users' ratings piling up in between) then wins it back is a question this section
# does not measure.
#
# **Defence 2: delay.** The service publishes once per batch of 500 new ratings instead of
# 20: the target's rating is hidden among 25 times as many changes. Its cost: until the next
# publication, users see lists computed before the batch (the share of the up-to-date list
# they still show, measured at the end of the batch). **The attacker who knows the defence**
# takes a second look: it also reads the pages of its 30 best candidates, since the film the
# target just rated moves toward the target's other films in its *own* list, and one rating
# moves a rarely rated film's list more than a popular one's.

# %%
rec_batch_window = inversion.related_items_window(rec_films, n_targets=150, n_known=20,
                                                        n_background=500, seed=seed)
rec_batched = inversion.related_items_attack(rec_films, rec_batch_window, seed=seed)
rec_second = inversion.related_items_attack(rec_films, rec_batch_window, second_look=30,
                                                  seed=seed)
rec_batch_table = pd.DataFrame([
    rec_row("20 other ratings per publication: watches 20 lists", rec_plain)
    | {"up-to-date share at the end of the window": rec_plain.stale_overlap},
    rec_row("500 other ratings per publication: watches 20 lists", rec_batched)
    | {"up-to-date share at the end of the window": rec_batched.stale_overlap},
    rec_row("500 other ratings per publication: + second look at 30 candidates", rec_second)
    | {"up-to-date share at the end of the window": rec_batched.stale_overlap},
]).drop(columns="list overlap with exact")
display(plots.table(rec_batch_table, caption=f"Publishing less often, on {rec_batched.top1.on}"))
claims.claim("batching 500 ratings per publication cuts the attack (first-guess rate drop)",
             rec_plain.top1.value - rec_batched.top1.value, at_least=0.1)
claims.claim("the second look does not undo batching (gap to the undefended first-guess rate)",
             rec_plain.top1.value - rec_second.top1.value, at_least=0.1)
claims.claim("batched lists still show most of the up-to-date list (share)",
             rec_batched.stale_overlap, at_least=0.9)

# %%
display(Markdown(
    f"Publishing once per 500 ratings cuts the first guess from {rec_plain.top1.value:.2f} to "
    f"{rec_batched.top1.value:.2f}; the second look gets {rec_second.top1.value:.2f} "
    f"({rec_second.top_n.value:.2f} in 5 guesses, against {rec_batched.top_n.value:.2f} "
    f"without it). At the end of a batch, the shown lists hold "
    f"{rec_batched.stale_overlap:.0%} of the up-to-date lists' films."))

# %% [markdown]
# **What changed and why.** A related-items list is a function of everyone's ratings, so
# its change between two publications is a function of the ratings added between them. The
# attacker who knows some of a target's ratings knows which lists to watch, and the film
# that rose in many of them is the target's far more often than either baseline's guess.
# Fresh noise per render hides the change only from an attacker who looks once. Publishing
# less often buries one rating under many others; here the second look at the candidates'
# own lists wins back little of it, and honest users pay in freshness: a new rating reaches
# the lists only at the next batch. Neither defence comes with a bound. An attacker who
# knows more of the target's films, or a target who rates several related films in one
# batch, would give a stronger signal (not measured here). A guarantee needs
# differentially private lists, which perturb the co-rating counts themselves (McSherry and
# Mironov, "Differentially private recommender systems", KDD 2009).

# %%
SUMMARY["recommender"] = dict(
    leak="a user's newly rated film, from the change in public related-items lists",
    measure="share of targets whose new film is the first guess",
    undefended=rec_plain.top1.value, defended=rec_noisy.top1.value,
    adaptive=rec_adaptive.top1.value,
    defence=f"fresh noise (σ = {rec_sigma}) on list scores at each render",
    cost=f"shown lists keep {rec_noisy.list_overlap:.0%} of the exact lists' films",
    chance=rec_plain.chance)

# %% [markdown]
# ## 4 · Fraud: the card-fraud scorer
#
# Lab 00's `FraudScorer` never sees a customer's age: the simulator records `customer_age`,
# but it is not one of the model's features. Many real scoring models do take such customer
# attributes as inputs. So this section **builds** one: lab 00's recipe (gradient-boosted
# trees) with the customer's age band (18-29, 30-44, 45-59, 60+) as one more input, trained on
# the training period's transactions. In the simulator, account takeovers pick customers of 60
# and over more often, so the band is a genuine risk factor, and the model uses it.
#
# **The attacker** is a partner that sees the score the bank's API returns for a customer's
# transaction (a merchant's payment processor, say), knows the transaction's other features,
# and may call the same API on transactions it composes. It asks for the score of the
# customer's transaction under each of the four age bands and keeps the bands whose score equals
# the one it saw (score matching; Fredrikson et al., CCS 2015, exploit confidence values the
# same way). Access: the score of the customer's transaction, then one query per band (four);
# no training data.

# %%
fraud_data = load_dataset("fraud", seed=0)
ages = inversion.fraud_age_features(fraud_data)
bands = np.arange(len(inversion.FRAUD_AGE_BANDS))
age_scorer = inversion.fraud_scorer_with_age(ages.X_train, fraud_data.y_train, seed=seed)
age_scores = age_scorer.predict_proba(ages.X_test)[:, 1]  # what the API returns
print(f"{len(ages.X_train):,} training transactions, {len(ages.X_test):,} test transactions of "
      f"{len(np.unique(ages.customers_test)):,} customers; age-band shares (the prior): "
      + ", ".join(f"{b} {p:.1%}" for b, p in zip(inversion.FRAUD_AGE_BANDS, ages.prior,
                                                  strict=True)))

# %% [markdown]
# ### The attack, measured, and two baselines that never query the model
#
# One transaction per customer (the first of the test period), so the rate counts customers.
# The guess is the likeliest band among those whose score matches. It is compared with the
# prior's most common band and with **imputation** (Jayaraman and Evans, CCS 2022): a
# logistic regression trained on the training period's transactions, which predicts the band
# from the transaction's features (young customers shop online at night, older ones withdraw
# cash). Whatever imputation gets right, the population gives away, not the model. A fourth row
# is Fredrikson et al.'s 2014 rule with the known outcome (fraud or not) instead of the score.

# %%
first = inversion.first_per_customer(ages.customers_test)
truth = ages.band_test[first]
on_fraud = f"{len(first):,} customers (first test-period transaction)"
candidates = inversion.candidate_probabilities(age_scorer, ages.X_test, column=ages.column,
                                               values=bands)  # (n, 4 bands, 2 classes)
matching = inversion.score_matching_candidates(age_scores, candidates[:, :, 1])
public_view = np.c_[fraud_data.X_train, fraud_data.y_train]  # the attacker's labelled data
imputed = inversion.impute_attribute(public_view, ages.band_train,
                                     np.c_[fraud_data.X_test, fraud_data.y_test],
                                     n_values=len(bands), seed=seed)
prior_guess = np.full(len(first), ages.prior.argmax())
fraud_guesses = {
    "score matching": inversion.pick_candidate(matching[first], ages.prior),
    "score matching, ties broken by imputation": inversion.pick_candidate(matching[first],
                                                                          imputed[first]),
    "Fredrikson: known outcome, no score": inversion.fredrikson_inference(
        candidates[first], fraud_data.y_test[first], ages.prior),
}
vs_prior = {n: inversion.inference_advantage(g, truth, prior_guess, on=on_fraud)
            for n, g in fraud_guesses.items()}
vs_imputation = inversion.inference_advantage(
    fraud_guesses["score matching, ties broken by imputation"], truth,
    imputed[first].argmax(1), on=on_fraud)
fraud_table = pd.DataFrame(
    [{"attacker": n, "accuracy": r.attack.value, "95% CI": f"[{r.attack.low:.3f}, "
      f"{r.attack.high:.3f}]", "gain over the prior": r.gain,
      "gain 95% CI": f"[{r.gain_low:+.3f}, {r.gain_high:+.3f}]"} for n, r in vs_prior.items()]
    + [{"attacker": "imputation (no model)", "accuracy": vs_imputation.baseline.value,
        "95% CI": f"[{vs_imputation.baseline.low:.3f}, {vs_imputation.baseline.high:.3f}]"},
       {"attacker": "prior's most common band", "accuracy": vs_prior["score matching"]
        .baseline.value}])
display(plots.table(fraud_table, caption=f"Inferring the age band ({on_fraud})"))
unique_share = (matching[first].sum(1) == 1).mean()
print(f"score matching + imputation vs imputation alone: {vs_imputation}")
print(f"the score singles out one band for {unique_share:.0%} of the customers")

# %%
# Members or not? The same attack on each customer's first *training* transaction.
first_train = inversion.first_per_customer(ages.customers_train)
train_candidates = inversion.candidate_probabilities(age_scorer, ages.X_train[first_train],
                                                     column=ages.column, values=bands)
train_match = inversion.score_matching_candidates(
    age_scorer.predict_proba(ages.X_train[first_train])[:, 1], train_candidates[:, :, 1])
on_train = f"{len(first_train):,} customers (first training transaction)"
train_rate = stats.proportion(inversion.pick_candidate(train_match, ages.prior)
                              == ages.band_train[first_train], on=on_train)
train_prior = stats.proportion(ages.band_train[first_train] == ages.prior.argmax(), on=on_train)
print(f"score matching on training transactions: {train_rate} (prior {train_prior.value:.3f}); "
      f"on test transactions: {vs_prior['score matching'].attack}")
fraud_gain = vs_prior["score matching"]
claims.claim("score matching beats the prior (lower end of the paired 95% CI on the gain)",
             fraud_gain.gain_low, at_least=0.1)
claims.claim("score matching adds to imputation (lower end of the 95% CI on the gain)",
             vs_imputation.gain_low, at_least=0.1)
claims.claim("the known outcome alone gives no more than the prior (|gain|)",
             abs(vs_prior["Fredrikson: known outcome, no score"].gain), at_most=0.02)
claims.claim("score matching beats the prior on training transactions too (accuracy gain)",
             train_rate.value - train_prior.value, at_least=0.1)

# %% [markdown]
# The score gives the band away; the outcome does not. With 1% frauds, "legitimate" is what
# the model expects under every band, so Fredrikson's 2014 rule falls back on the prior. The
# score is a continuous function of the band wherever a tree of the model splits on it, so
# matching it recovers the band far more often than the prior or imputation (table). The
# test-period transactions were never trained on, and the attack works on training transactions
# too (printed): what leaks is the model's use of the attribute, not a memorised record. How
# much leaks depends on how many of the trees split on the band, which changes with the
# training seed (rerun with another `seed` to see it).
#
# ### Defences: coarser answers, or drop the attribute
#
# Three changes to the API, and what each costs the bank's honest users, measured on the
# **test period's** transactions: ROC AUC (bootstrap interval) and the precision of the 1% of
# transactions an analyst can review.
#
# * **Scores rounded to 0.01** (rounding is the countermeasure Fredrikson et al. proposed in
#   2015). A score of 0.0213 becomes 0.02; most transactions get the same rounded score under
#   every band, and matching finds nothing to tell them apart.
# * **Decision only**: the API answers "review" for the 1% of transactions the bank's analysts
#   can review (the threshold is the 99th percentile of the training-period scores), "approve"
#   otherwise.
# * **Drop the age band** (lab 00's features only). The score no longer depends on the band, so
#   every band matches; what is left to the attacker is imputation.

# %%
rounded_match = inversion.score_matching_candidates(age_scores, candidates[:, :, 1], step=0.01)
rounded_gain = inversion.inference_advantage(
    inversion.pick_candidate(rounded_match[first], ages.prior), truth, prior_guess, on=on_fraud)
no_age_scorer = inversion.fraud_scorer_with_age(fraud_data.X_train, fraud_data.y_train,
                                                seed=seed)
no_age_scores = no_age_scorer.predict_proba(fraud_data.X_test)[:, 1]
on_test = f"{len(no_age_scores):,} test transactions"
review_threshold = np.quantile(age_scorer.predict_proba(ages.X_train)[:, 1], 0.99)
decision_match = inversion.score_matching_candidates(  # 1 = review, 0 = approve
    (age_scores >= review_threshold).astype(float),
    (candidates[:, :, 1] >= review_threshold).astype(float))
decision_gain = inversion.inference_advantage(
    inversion.pick_candidate(decision_match[first], ages.prior), truth, prior_guess, on=on_fraud)
released = {"exact scores (with age)": age_scores,
            "scores rounded to 0.01": np.round(age_scores / 0.01) * 0.01,
            "decision only (review the top 1%)": (age_scores >= review_threshold).astype(float),
            "age band dropped": no_age_scores}
cost = {n: (stats.auc_interval(fraud_data.y_test, s, on=on_test, n_resamples=100, seed=seed),
            inversion.precision_at_review_budget(fraud_data.y_test, s, budget=0.01, seed=seed))
        for n, s in released.items()}
cost_table = pd.DataFrame([
    {"API": n, "ROC AUC": a.value, "AUC 95% CI": f"[{a.low:.3f}, {a.high:.3f}]",
     "precision, top 1%": p.value, "precision 95% CI": f"[{p.low:.3f}, {p.high:.3f}]",
     "attack accuracy (one transaction)": acc}
    for (n, (a, p)), acc in zip(cost.items(), (fraud_gain.attack.value,
                                               rounded_gain.attack.value,
                                               decision_gain.attack.value,
                                               vs_imputation.baseline.value), strict=True)])
display(plots.table(cost_table, caption=f"What each API costs ({on_test}) and leaks "
                    f"({on_fraud}; with the band dropped, the attacker is left with imputation)"))
auc_full, auc_rounded, auc_decision, auc_dropped = (cost[n][0].value for n in released)
print(f"rounded to 0.01: {rounded_gain}\ndecision only: {decision_gain}\nROC AUC: exact "
      f"{auc_full:.3f}, rounded {auc_rounded:.3f}, decisions {auc_decision:.3f}, band dropped "
      f"{auc_dropped:.3f}")
claims.claim("rounding to 0.01 cuts the one-transaction attack (gain over the prior)",
             rounded_gain.gain, at_most=0.08)
claims.claim("rounding to 0.01 costs ranking quality (AUC drop)", auc_full - auc_rounded,
             at_least=0.005)
claims.claim("decision only costs much more ranking quality (AUC drop)",
             auc_full - auc_decision, at_least=0.1)
claims.claim("dropping the band costs little ranking quality (AUC drop)",
             auc_full - auc_dropped, at_most=0.02)

# %% [markdown]
# ### The adaptive attacker: several transactions of the same customer
#
# The attacker who knows the answers are coarse watches more of the customer's transactions:
# each answer rules out the bands it does not match, and the bands consistent with **all** of
# them remain (ties broken by imputation over the same transactions). The fair baseline sees
# as many transactions: imputation that combines them (`customer_posterior`, treating them as
# independent evidence). How many transactions a customer makes in the test period is printed
# below; the curve stops at 8.

# %%
customer_truth = pd.Series(ages.band_test).groupby(ages.customers_test).first()
watch = [1, 2, 4, 8]
coarse = {"exact scores": matching, "scores rounded to 0.01": rounded_match,
          "decision only": decision_match}
curve = {**{name: [] for name in coarse}, "imputation (no model)": []}
hits = {}  # per customer, at the last number of watched transactions
for k in watch:
    rows = inversion.first_per_customer(ages.customers_test, k)
    who = ages.customers_test[rows]
    posterior = inversion.customer_posterior(imputed[rows], who, ages.prior)
    target = customer_truth.loc[posterior.groups].to_numpy()
    for name, m in coarse.items():
        kept = inversion.customer_candidates(m[rows], who)
        hits[name] = inversion.pick_candidate(kept.evidence, posterior.evidence) == target
        curve[name].append(hits[name].mean())
    hits["imputation (no model)"] = posterior.evidence.argmax(1) == target
    curve["imputation (no model)"].append(hits["imputation (no model)"].mean())
on_watched = f"{len(target):,} customers, up to {watch[-1]} test transactions each"
fraud_adaptive = stats.proportion(hits["scores rounded to 0.01"], on=on_watched)
decision_adaptive = stats.proportion(hits["decision only"], on=on_watched)
imputation_8 = stats.proportion(hits["imputation (no model)"], on=on_watched)
fig = plots.curves(np.array(watch), curve, title="Age band inferred from a customer's "
                   "transactions", xaxis_title="transactions the attacker watches",
                   yaxis_title="accuracy")
for trace, role in zip(fig.data, ("attack", "accent", "defended", "neutral"), strict=True):
    trace.line.color = plots.COLORS[role]
fig.add_hline(y=fraud_gain.baseline.value, line_dash="dot", line_color=plots.COLORS["neutral"],
              annotation_text="prior's most common band")
fig.show()
per_customer = np.unique(ages.customers_test, return_counts=True)[1]
print(f"test-period transactions per customer: median {np.median(per_customer):.0f}, "
      f"{(per_customer >= watch[-1]).mean():.0%} with {watch[-1]} or more.\nRounded scores + "
      f"imputation: {fraud_adaptive}\ndecisions + imputation: {decision_adaptive}\n"
      f"imputation alone: {imputation_8}")
claims.claim("watching up to 8 transactions beats rounding (adaptive minus imputation "
             "accuracy)", fraud_adaptive.value - imputation_8.value, at_least=0.06)
claims.claim("decisions alone add little to imputation, even over 8 transactions (accuracy "
             "gain)", decision_adaptive.value - imputation_8.value, at_most=0.03)

# %% [markdown]
# **What changed and why.** The score is a fine-grained function of every input, the age band
# included, so anyone who can see a score and query the API recovers the band whenever a tree
# splits on it; the outcome alone (fraud or not) tells almost nothing. Rounding to 0.01 hides
# the band in one transaction but not in several: each rounded score still rules bands out,
# and a handful of a customer's transactions bring much of the leak back (figure). A decision
# alone almost never changes with the band, so even eight of them add little to imputation,
# but partners lose the ranking (AUC in the table). Dropping the band removes the leak at the
# root, for a cost in ranking quality within the intervals (table); what remains is
# imputation, which needs no model at all. A feature that changes a customer's score is a
# feature the score reveals.

# %%
SUMMARY["fraud"] = dict(
    leak="a customer's age band, from the score API (score matching)",
    measure=f"accuracy of the inferred band, {on_fraud} (adaptive: {on_watched})",
    undefended=fraud_gain.attack.value, defended=rounded_gain.attack.value,
    adaptive=fraud_adaptive.value, defence="scores rounded to 0.01",
    cost=f"ROC AUC {auc_full:.3f} -> {auc_rounded:.3f} on {on_test}",
    chance=fraud_gain.baseline.value)

# %% [markdown]
# ## 5 · Medical: the diagnosis model
#
# Lab 00's `DiagnosisModel` reads measurements of cell nuclei (WDBC): it has no demographic or
# lifestyle input to infer. Fredrikson et al. (USENIX Security 2014) attacked a model that
# did: a warfarin-dosing model that takes a patient's genotype as an input. This section does
# the same on a real cohort, **NHEFS** (1,629 adults who smoked in 1971, followed up to 1992;
# datasheet `datasets/nhefs.md`): a model of death by 1992 from the 1971 record (age, sex,
# race, weight, conditions, ...) that takes the patient's **smoking intensity band** (1-10,
# 11-20, 21-30, 31+ cigarettes a day) as one input. The model is a random forest (fully grown
# trees, scikit-learn's defaults), trained on 75% of the cohort, the study's members.
#
# **The attacker** knows a patient's other fields and the outcome (death records are public)
# and can query the model. For each band it asks for the probability of the known outcome
# and guesses (`inversion.fredrikson_inference`):
#
# * **Fredrikson's rule**: the band that maximises `prior[band] * P(outcome | record, band)`;
# * **the flat rule**: the same with a flat prior, the band under which the model is surest of
#   the known outcome (the confidence-based attack of Mehnaz et al., USENIX Security 2022).

# %%
nhefs = load_dataset("nhefs", seed=0)
patients = inversion.nhefs_patient_records(nhefs)
band_values = np.arange(len(inversion.NHEFS_SMOKING_BANDS))
forest = inversion.nhefs_mortality_forest(patients.X_members, patients.y_members, seed=seed)
logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(
    patients.X_members, patients.y_members)  # a low-capacity model, for comparison
on_members = f"{len(patients.y_members):,} study members (the model's training patients)"
on_others = f"{len(patients.y_others):,} people outside the study"
flat = np.ones(len(band_values))
print("smoking-band shares outside the study (the prior): " + ", ".join(
    f"{b} {p:.1%}" for b, p in zip(inversion.NHEFS_SMOKING_BANDS, patients.prior,
                                   strict=True)))


def smoking_guesses(model, X, y, rule, release=lambda p: p):
    """The attacker's band for each patient: one query per band, ``release`` what the API
    returns of the probabilities, ``rule`` the prior passed to Fredrikson's rule."""
    asked = inversion.candidate_probabilities(model, X, column=patients.column,
                                              values=band_values)
    return infer_attribute(release(asked), y, rule)  # your exercise 4

# %% [markdown]
# ### Exercise 4 · Fredrikson's rule
#
# Write `infer_attribute(proba_by_value, y, prior)`: `proba_by_value` is (n, n_values,
# n_classes), the model's probabilities for each record with its attribute set to each
# value; `y` holds the records' known outcomes (n integers) and `prior` the attribute's
# distribution (n_values). For each record return the index `v` that maximises
# `prior[v] * proba_by_value[i, v, y[i]]` (ties: the lowest index), as an (n,) integer array.
# Raise `ValueError` for a `prior` whose length is not n_values or a `y` outside the classes.
# The rest of the section uses your function.

# %%
def infer_attribute(proba_by_value, y, prior):
    ### BEGIN SOLUTION
    p = np.asarray(proba_by_value, dtype=float)
    y = np.asarray(y)
    prior = np.asarray(prior, dtype=float)
    if p.ndim != 3 or prior.shape != (p.shape[1],) or y.shape != (p.shape[0],):
        raise ValueError("shapes must be (n, n_values, n_classes), (n,) and (n_values,)")
    if len(y) and (y.min() < 0 or y.max() >= p.shape[2]):
        raise ValueError("y must name classes of proba_by_value")
    likelihood = p[np.arange(len(y)), :, y]  # (n, n_values): P(known outcome | value)
    return np.argmax(likelihood * prior, axis=1)
    ### END SOLUTION

# %%
### POINTS: 2
infer_attribute = check(lab06.ATTRIBUTE_INFERENCE, infer_attribute)
### BEGIN HIDDEN TESTS
grade(lab06.ATTRIBUTE_INFERENCE, infer_attribute)
### END HIDDEN TESTS

# %% [markdown]
# ### The attack, measured on members and on people outside the study
#
# Two baselines never query the model: the prior's most common band, and **imputation**
# (Jayaraman and Evans, CCS 2022): a logistic regression that predicts the band from the
# other fields and the outcome, trained on the people outside the study (public data; their
# own predictions are cross-fitted). The difference between members and non-members is what
# the model leaks of its training patients; the rest is what the population gives away.

# %%
imputed_bands = inversion.nhefs_imputation(patients, seed=0)
groups = {"members": (patients.X_members, patients.y_members, patients.band_members,
                      imputed_bands.members, on_members),
          "outside the study": (patients.X_others, patients.y_others, patients.band_others,
                                imputed_bands.others, on_others)}
med_rows, med_result = [], {}
for model_name, model in (("random forest", forest), ("logistic regression", logistic)):
    for group, (X, y, band, imputed_p, on) in groups.items():
        mode = np.full(len(band), patients.prior.argmax())
        for rule_name, rule in (("flat rule", flat), ("Fredrikson's rule", patients.prior)):
            g = smoking_guesses(model, X, y, rule)
            r = inversion.inference_advantage(g, band, mode, on=on)
            r_imp = inversion.inference_advantage(g, band, imputed_p.argmax(1), on=on)
            med_result[model_name, group, rule_name] = (r, r_imp)
            med_rows.append({"model": model_name, "patients": group, "attacker": rule_name,
                             "accuracy": r.attack.value,
                             "95% CI": f"[{r.attack.low:.3f}, {r.attack.high:.3f}]",
                             "prior": r.baseline.value, "imputation": r_imp.baseline.value,
                             "gain over prior": r.gain,
                             "gain 95% CI": f"[{r.gain_low:+.3f}, {r.gain_high:+.3f}]"})
display(plots.table(pd.DataFrame(med_rows), caption="Inferring the smoking band (accuracy; "
                    "gains are paired, on the same patients)"))
leak, leak_vs_imputation = med_result["random forest", "members", "flat rule"]
outside, _ = med_result["random forest", "outside the study", "flat rule"]
fredrikson_members, _ = med_result["random forest", "members", "Fredrikson's rule"]
print(f"members: {leak}\nmembers, against imputation: {leak_vs_imputation}\n"
      f"outside the study: {outside}")
claims.claim("the flat rule beats the prior on the forest's members (lower end of the 95% "
             "CI on the gain)", leak.gain_low, at_least=0.05)
claims.claim("... and beats imputation on them (lower end of the 95% CI on the gain)",
             leak_vs_imputation.gain_low, at_least=0.05)
claims.claim("outside the study the flat rule does not beat the prior (gain)", outside.gain,
             at_most=0.0)
claims.claim("Fredrikson's prior-weighted rule barely moves from the prior (gain)",
             fredrikson_members.gain, at_most=0.03)

# %% [markdown]
# **What this shows.** On people outside the study, no rule beats the prior, and imputation
# does not either: smoking intensity is hard to read from the other fields and the outcome,
# so there is little for the population to give away. On the forest's **members** the flat
# rule is right far more often (table): a fully grown forest has learned each training
# patient's record, band included, and is surest of the true outcome under the true band. That
# member-minus-non-member difference is the model's leak (Yeom et al., CSF 2018, tie attribute
# inference to overfitting). Fredrikson's rule weighs by the prior and, with an outcome as weak
# as death by 1992, hardly leaves it. The logistic model leaks nothing measurable either way.
#
# ### Defences: differential privacy on the band, and label-only answers
#
# * **DP**: randomised response on the smoking band before training (`epsilon` = 1: each
#   member's band is kept with probability `e / (e + 3)`, about 0.48, otherwise replaced by
#   another band at random). The released column, and every model trained on it, is
#   1-differentially private for each member's band. Opacus's DP-SGD protects whole records but
#   trains only torch models; a forest needs its DP at the data.
# * **Coarsened outputs**: the API answers only the predicted label (died or not).
#
# Cost, on the people outside the study: ROC AUC of what each API releases.

# %%
dp_members = patients.X_members.copy()
dp_members[:, patients.column] = inversion.randomized_response(
    patients.band_members, len(band_values), epsilon=1.0, seed=seed)
dp_forest = inversion.nhefs_mortality_forest(dp_members, patients.y_members, seed=seed)
mode_members = np.full(len(patients.y_members), patients.prior.argmax())


def members_attack(model, rule, release=lambda p: p):
    g = smoking_guesses(model, patients.X_members, patients.y_members, rule, release)
    return inversion.inference_advantage(g, patients.band_members, mode_members, on=on_members)


dp_plain = members_attack(dp_forest, flat)
label_plain = members_attack(forest, flat, inversion.label_only_outputs)
med_cost = {
    "exact probabilities": stats.auc_interval(
        patients.y_others, forest.predict_proba(patients.X_others)[:, 1], on=on_others,
        seed=seed),
    "DP band (epsilon 1)": stats.auc_interval(
        patients.y_others, dp_forest.predict_proba(patients.X_others)[:, 1], on=on_others,
        seed=seed),
    "label only": stats.auc_interval(
        patients.y_others, forest.predict(patients.X_others).astype(float), on=on_others,
        seed=seed),
}
print("ROC AUC of the released outputs: " + "; ".join(f"{n} {a}" for n, a in med_cost.items()))
print(f"flat rule on members: undefended {leak.attack}; DP band {dp_plain.attack}; label only "
      f"{label_plain.attack}")
claims.claim("DP on the band takes the flat rule down to the prior or below (gain)",
             dp_plain.gain, at_most=0.0)
claims.claim("DP on the band costs little AUC (drop)", med_cost["exact probabilities"].value
             - med_cost["DP band (epsilon 1)"].value, at_most=0.03)
claims.claim("label-only answers cost ranking quality (AUC drop)",
             med_cost["exact probabilities"].value - med_cost["label only"].value,
             at_least=0.1)

# %% [markdown]
# ### Adaptive attackers: they know the defence
#
# * against **rounded probabilities** (to 0.1, a coarsening we add for comparison): the flat
#   rule, ties broken by the prior;
# * against **label-only** answers: Fredrikson's original rule on labels, keep the bands under
#   which the model predicts the known outcome, then the most common of them (a label is read
#   as 98% sure, so a patient whom no band fits falls back on the prior);
# * against **DP on the band**: Fredrikson's prior-weighted rule (the flat rule reads the
#   randomised band). No attacker can get much more out of the model: whatever else it knows,
#   the model moves the odds between two bands by at most `e^epsilon` (2.7). An attacker who
#   read a member's randomised band exactly and knew only the prior besides would be right at
#   most with the probability printed below.

# %%
tie_break = 1 + 1e-3 * patients.prior  # flat, but the prior decides between equal answers
rounded_adaptive = members_attack(forest, tie_break, lambda p: np.round(p, 1))
label_adaptive = members_attack(
    forest, patients.prior, lambda p: 0.98 * inversion.label_only_outputs(p) + 0.01)
dp_adaptive = members_attack(dp_forest, patients.prior)
keep = np.e / (np.e + len(band_values) - 1)
channel = np.full((len(band_values),) * 2, (1 - keep) / (len(band_values) - 1))
np.fill_diagonal(channel, keep)
dp_bound = float((channel * patients.prior[:, None]).max(axis=0).sum())
adaptive_table = pd.DataFrame([
    {"released": n, "plain flat rule": p.attack.value, "adaptive attacker": a.attack.value,
     "adaptive 95% CI": f"[{a.attack.low:.3f}, {a.attack.high:.3f}]",
     "adaptive gain over prior": a.gain, "gain 95% CI": f"[{a.gain_low:+.3f}, {a.gain_high:+.3f}]"}
    for n, p, a in (("exact probabilities", leak, leak),
                    ("rounded to 0.1", members_attack(forest, flat, lambda q: np.round(q, 1)),
                     rounded_adaptive),
                    ("label only", label_plain, label_adaptive),
                    ("DP band (epsilon 1)", dp_plain, dp_adaptive))])
display(plots.table(adaptive_table, caption=f"Attacks on the members ({on_members}); prior "
                    f"{leak.baseline.value:.3f}"))
fig = plots.before_after_bars(adaptive_table["released"], adaptive_table["plain flat rule"],
                              adaptive_table["adaptive attacker"], before_name="plain flat rule",
                              after_name="adaptive attacker", percent=True,
                              title="Smoking band inferred for the study's members",
                              yaxis_title="accuracy")
fig.data[0].marker.color, fig.data[1].marker.color = plots.COLORS["neutral"], plots.COLORS["attack"]
fig.add_hline(y=leak.baseline.value, line_dash="dot", line_color=plots.COLORS["neutral"],
              annotation_text="prior's most common band")
fig.show()
print(f"DP bound for an attacker who reads the randomised band exactly: {dp_bound:.3f} "
      f"(prior {leak.baseline.value:.3f})")
claims.claim("rounding to 0.1 does not stop the adaptive attacker (gain over the prior)",
             rounded_adaptive.gain, at_least=0.08)
claims.claim("label-only answers narrow the gap (adaptive gain over the prior)",
             label_adaptive.gain, at_most=0.04)
claims.claim("... but leave a gain above zero (lower end of its 95% CI)", label_adaptive.gain_low,
             at_least=0.0)
claims.claim("against DP the adaptive attacker stays at the prior (gain)", dp_adaptive.gain,
             at_most=0.02)

# %% [markdown]
# **What changed and why.** The smoking band leaks from the forest's members, not from the
# population: the same rule that recovers members' bands far above the prior is worse than
# the prior outside the study, and imputation, the no-model baseline, finds nothing. The leak
# comes from memorisation, so it survives rounding (the adaptive attacker breaks ties with the
# prior). Label-only answers leave a small gain, measurably above zero on these members, and
# cost the clinicians the risk ranking (AUC). Randomised response gives a guarantee instead of
# a measurement: the model never saw most members' true band, and the adaptive attacker stays
# at the prior, for no measurable loss of AUC here, because the forest's predictions of death
# hardly depend on the band. A model that needed the attribute would pay more.

# %%
SUMMARY["medical"] = dict(
    leak="a study member's smoking band, from a mortality model and the known outcome",
    measure=f"accuracy of the inferred band, {on_members}",
    undefended=leak.attack.value, defended=dp_plain.attack.value,
    adaptive=dp_adaptive.attack.value, defence="randomised response on the band (epsilon 1)",
    cost=(f"ROC AUC {med_cost['exact probabilities'].value:.3f} -> "
          f"{med_cost['DP band (epsilon 1)'].value:.3f} on {on_others}"),
    chance=leak.baseline.value)

# %% [markdown]
# ## Summary: what leaks in five systems, and what the defences leave
#
# One row per domain: what the attacker reconstructs, on the measure each section used, for
# the undefended model, the defended one and the attacker who knows the defence, next to
# what a guess without the model gets (the chance column). The measures differ (bits,
# correlations, accuracies), so the figure gives each domain its own axis.

# %%
summary = pd.DataFrame.from_dict(SUMMARY, orient="index")
summary.index.name = "domain"
summary = summary.loc[[d for d in ("image", "nlp", "recommender", "fraud", "medical")
                       if d in summary.index]]
display(plots.table(summary.reset_index()[["domain", "leak", "measure", "chance", "undefended",
                                           "defence", "defended", "adaptive", "cost"]],
                    caption="What leaks, with and without the defence, and against an "
                    "attacker who knows it"))

# %%
fig = make_subplots(rows=1, cols=len(summary), subplot_titles=[
    f"{d}<br><sup>{plots.wrap(m, 24)}</sup>"
    for d, m in zip(summary.index, summary["measure"], strict=True)])
for col, (domain, row) in enumerate(summary.iterrows(), start=1):
    for key, name, color in (("undefended", "undefended", "baseline"),
                             ("defended", "defended", "defended"),
                             ("adaptive", "adaptive attacker", "attack")):
        fig.add_trace(go.Bar(x=[name], y=[row[key]], marker_color=plots.COLORS[color],
                             name=name, showlegend=col == 1, legendgroup=name,
                             text=[f"{row[key]:.2f}"], textposition="outside",
                             hovertemplate=f"{domain}, {name}: %{{y:.3f}}<extra></extra>"),
                      row=1, col=col)
    fig.add_hline(y=row["chance"], line_dash="dot", line_color=plots.COLORS["neutral"],
                  row=1, col=col)
    fig.update_xaxes(showticklabels=False, row=1, col=col)
    fig.update_yaxes(rangemode="tozero", row=1, col=col)
fig.update_layout(title="What the attacker reconstructs, per domain (dotted: chance)",
                  height=430, barmode="group")
fig

# %%
beats_chance = int((summary["undefended"] > summary["chance"]).sum())
reduced = int((summary["defended"] < summary["undefended"]).sum())
print(f"the undefended attack beats chance in {beats_chance} of {len(summary)} domains; the "
      f"defence reduces the leak in {reduced} of {len(summary)} (each section's claims carry "
      "the intervals)")
claims.claim("domains where the undefended attack beats a guess without the model",
             beats_chance, at_least=len(summary))
claims.claim("domains where the defence reduces what leaks", reduced, at_least=len(summary))

# %%
lift = summary["undefended"] - summary["defended"]
left = (summary["adaptive"] - summary["defended"]) / lift
display(Markdown(
    "**What the five sections show together.** Every system gave something back: a class "
    "template, a PIN, a newly rated film, an age band, a smoking band, each measured against "
    "a guess without the model (the chance column). Every defence cut what the plain attacker "
    "got, and each attacker who knew the defence won back part of it: "
    + "; ".join(f"{d} {max(v, 0.0):.0%}" for d, v in left.items())
    + " of what the defence had taken (the adaptive column against the defended one). The "
    "defences that change the answers (rounding, fresh noise, label-only) or the data by rule "
    "(scrubbing) hold only against an attacker who does not adapt; the ones with a guarantee "
    "(DP-SGD, randomised response) bound what any one record can give, at a price the cost "
    "column states, and a secret repeated many times or a class that is one person is "
    "exactly where a per-record guarantee says little."))

# %% [markdown]
# ## Challenge · A passcode behind a noisy autocomplete
#
# A vendor's autocomplete was trained on support chats, and one chat held a customer's
# one-time passcode. The vendor answers the security review: "our service shows only the
# top 3 suggestions, and it adds Laplace noise to its counts before ranking them, which is
# differential privacy; greedy extraction finds nothing". `lab06.noisy_autocomplete(seed=...)`
# gives you their service: `api.suggest(text)` returns the 3 characters its model finds
# likeliest to follow `text` (best first, one string); `api.prefix` is the start of the
# planted message, which goes on with a `lab06.SECRET_DIGITS`-digit passcode. It answers at
# most `lab06.CHALLENGE_BUDGET` queries (`api.queries` counts them; one more raises
# `QueryBudgetExceeded`).
#
# Write `extract_passcode(api)` returning the passcode as a string of digits. The check runs
# your attack against fresh services of other seeds and needs the exact passcode on each;
# the grading uses seeds you have not seen. The passcode is kept apart from `api`: reading it
# is not an attack. First, how far does greedy extraction get (one query per digit)?

# %%
greedy_apis = [lab06.noisy_autocomplete(seed=10_000 + seed * 1000 + k) for k in range(200)]
greedy_found = stats.proportion(
    np.array([lab06.challenge_secret_found(a, lab06.greedy_extraction(a)) for a in greedy_apis]),
    on="200 fresh noisy autocompletes")
print(f"greedy extraction finds the passcode: {greedy_found}")
claims.claim("greedy extraction mostly fails against the noisy autocomplete (share found)",
             greedy_found.high, at_most=0.5)

# %%
def extract_passcode(api):
    ### BEGIN SOLUTION
    # The noise is drawn afresh for every answer: asking the same prefix again averages it
    # away. 20 queries per digit; the 3 suggestions score 3, 2 and 1 points.
    out = ""
    for _ in range(lab06.SECRET_DIGITS):
        points = dict.fromkeys("0123456789", 0)
        for _ in range(api.max_queries // lab06.SECRET_DIGITS):
            for rank, c in enumerate(api.suggest(api.prefix + out)):
                if c in points:
                    points[c] += 3 - rank
        out += max(points, key=points.get)
    return out
    ### END SOLUTION

# %%
### POINTS: 3
extract_passcode = check(lab06.CHALLENGE, extract_passcode)
### BEGIN HIDDEN TESTS
grade(lab06.CHALLENGE, extract_passcode)
### END HIDDEN TESTS

# %%
fresh = [lab06.noisy_autocomplete(seed=20_000 + seed * 1000 + k) for k in range(30)]
yours = stats.proportion(np.array([lab06.challenge_secret_found(a, extract_passcode(a))
                                   for a in fresh]), on="30 fresh noisy autocompletes")
print(f"your attack finds the passcode: {yours}, with at most {lab06.CHALLENGE_BUDGET} queries "
      "each")
claims.claim("an attacker who repeats queries extracts the passcode (share of fresh services)",
             yours.value, at_least=0.9)

# %% [markdown]
# Noise drawn afresh for every answer is not differential privacy of the service: each
# answer spends privacy, and an accountant adds up what all answers spent (lab 05). Noise
# that protects needs a budget over every query a user can make, or the same noise for the
# same question (which the attacker then cannot average away, but which leaks through other
# questions: the next character's context shifts by one).

# %% [markdown]
# ## Reflection
#
# Answer each question in its cell; the rubric in the instructor's version gives the points.

# %% [markdown]
# ### POINTS: 3
# **1.** The image section reconstructs "what a 3 looks like" from the digit reader. A
# colleague says that is no privacy breach at all. When is she right, and when is she wrong?
# Use the section's measurements and one system outside this course.
#
# ### BEGIN SOLUTION
# Model answer: she is right when a class is a population: a class average reveals what
# every member shares, which is what the model is for, not one person's data (the
# reconstruction correlates with the class mean, not with any one training digit). She is
# wrong when a class is one person or a few: a face recogniser whose class is a named
# person gives back that person's face (Fredrikson et al., 2015), and the section's
# one-person class shows the reconstruction resembling that individual. Rubric: 1 point for
# class versus individual, 1 for a measured number from the section, 1 for a system where a
# class is a person (face, voice, a rare disease's few patients).
# ### END SOLUTION

# %% [markdown]
# ### POINTS: 3
# **2.** Scrubbing removed the digit-format canaries' exposure but not the spaced or
# spelled-out ones; DP-SGD lowered the digit canaries' exposure at a cost in bits per
# character. Which would you deploy for the support chatbot, and what would you still worry
# about? Consider group privacy: a secret that appears k times.
#
# ### BEGIN SOLUTION
# Model answer: both. Scrubbing is cheap and removes the formats it knows at no cost in
# quality, but it is a blocklist: any format it misses leaks fully, as the adaptive canaries
# showed. DP bounds what any one message can leak, whatever its format (the lab measured it
# on digit canaries only), at a measured cost
# in bits per character, but its promise for a secret repeated k times is only k times
# epsilon (group privacy), which at epsilon 8 and k = 10 promises nothing; the measured
# exposure is lower than that bound. Still worry about repeated secrets, the formats the
# scrubber misses and the quality cost. Rubric: 1 point for why scrubbing alone fails, 1 for
# group privacy, 1 for a decision with its cost.
# ### END SOLUTION

# %% [markdown]
# ### POINTS: 3
# **3.** An attribute inference guesses a patient's attribute right 70% of the time. Why is
# that number alone no evidence that the model leaks? Name the two comparisons the medical
# and fraud sections made and what each one tells.
#
# ### BEGIN SOLUTION
# Model answer: the attribute may be guessable without the model: from its prior (the most
# common value) or from the record's other features (imputation, Jayaraman and Evans 2022).
# The comparison with the prior says whether the model's answers carry information about the
# attribute at all; the comparison with an imputation model trained on public data says
# whether the model adds anything beyond what the population already reveals; and comparing
# the attack on training members with non-members says whether the model leaks about the
# people it was trained on, which is the privacy question. Rubric: 1 point per comparison,
# 1 for members versus non-members.
# ### END SOLUTION

# %% [markdown]
# ### POINTS: 3
# **4.** The recommender's defence added noise to its published lists; an attacker who knew
# it watched more publications. What does this say about output noise as a defence in
# general, and what would make it hold (use the challenge too)?
#
# ### BEGIN SOLUTION
# Model answer: noise drawn afresh for every answer averages out over repeated answers; its
# strength must be set for everything the attacker can observe, across publications and
# queries, which is what a privacy budget and an accountant do. Making it hold: noise bound
# to a budget (DP accounting over releases), the same answer for the same question, rate
# limits, and fewer, delayed releases. Rubric: 1 point for averaging, 1 for the budget across
# observations, 1 for a concrete fix.
# ### END SOLUTION

# %% [markdown]
# ## Further reading
#
# - M. Fredrikson, E. Lantz, S. Jha, S. Lin, D. Page and T. Ristenpart, "Privacy in
#   Pharmacogenetics: An End-to-End Case Study of Personalized Warfarin Dosing", USENIX
#   Security 2014 (attribute inference).
# - M. Fredrikson, S. Jha and T. Ristenpart, "Model Inversion Attacks that Exploit Confidence
#   Information and Basic Countermeasures", ACM CCS 2015 (MIFace, rounding as a defence).
# - N. Carlini, C. Liu, Ú. Erlingsson, J. Kos and D. Song, "The Secret Sharer: Evaluating and
#   Testing Unintended Memorization in Neural Networks", USENIX Security 2019 (exposure).
# - N. Carlini et al., "Extracting Training Data from Large Language Models", USENIX Security
#   2021.
# - J. A. Calandrino, A. Kilzer, A. Narayanan, E. W. Felten and V. Shmatikov, "'You Might
#   Also Like:' Privacy Risks of Collaborative Filtering", IEEE S&P 2011.
# - B. Jayaraman and D. Evans, "Are Attribute Inference Attacks Just Imputation?", ACM CCS
#   2022.
# - Y. Zhang, R. Jia, H. Pei, W. Wang, B. Li and D. Song, "The Secret Revealer: Generative
#   Model-Inversion Attacks Against Deep Neural Networks", CVPR 2020 (inversion with a prior).
# - adversarial-robustness-toolbox: `MIFace` and the attribute-inference attacks in
#   `art.attacks.inference`; opacus for DP-SGD.
# - OWASP Machine Learning Security Top 10, ML03 (Model Inversion); MITRE ATLAS AML.T0024
#   (Exfiltration via ML Inference API).
