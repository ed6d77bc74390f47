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
# # Lab 03 · Data poisoning and backdoors
#
# A model learns whatever its training data says. An attacker who can write some of that data
# (a labeller, a data supplier, a fake account, a compromised hospital) can teach it a hidden
# rule: a **backdoor** that fires on a trigger only they know, or a blind spot for exactly the
# fraud they commit. In this lab you poison the training data of all five systems, measure
# what it buys the attacker, then find the poison and train again.
#
# **Learning objectives.** After this lab you can
# 1. plant a BadNets trigger backdoor in the digit reader with ART and measure its attack
#    success rate and its (small) cost in clean accuracy;
# 2. find poisoned training images with activation clustering and spectral signatures, and
#    report their precision and recall against the known poison;
# 3. find a trigger phrase in text data by the effect of removing each word;
# 4. run random, average and bandwagon shilling attacks on a recommender and detect the fake
#    profiles from rating statistics;
# 5. stop fabricated and mislabelled records with schema validation and label sanitisation,
#    reject a harmful data source with RONI, and catch tampering with a hash manifest;
# 6. test each defence against an attacker who knows it, and say plainly when it breaks.
#
# **Prerequisites:** lab 00 (the five systems); NumPy and a first course in machine learning.
# **Estimated time:** about 175 minutes of reading, exercises and questions (estimated
# from the notebook; the notebook itself runs in under a minute).

# %%
import time

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from IPython.display import Markdown, display
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from mlsec_helpers import claims, frameworks, fraud_sim, plots, poisoning, repro, stats, systems
from mlsec_helpers.checks import lab00, lab03
from mlsec_helpers.data import load_dataset
from mlsec_helpers.exercises import check, grade

info = repro.setup(seed=0)  # seeds python, numpy and torch; caps threads; picks the device
print(info)
SEED = info["seed"]  # every model and every attack below uses it; data and splits stay at seed 0
display(Markdown(frameworks.lab_header_markdown(3)))
section_seconds = {}  # how long each section takes, shown at the end

# %% [markdown]
# ## The threat in one picture
#
# Poison enters **before** training, wherever data is collected: the attacker does not touch
# the model, only some of what it learns from. Each system of the course has its own entry
# point (red), and each section below ends with the control that closes it (green).

# %%
stages = ["collect", "label", "store", "train", "deploy"]
entries = [
    ("image", "label", "digits with a trigger, relabelled '7'"),
    ("nlp", "label", "scams signed 'sent from my smartwatch', marked benign"),
    ("recommender", "collect", "fake users who rate one film 5 stars"),
    ("fraud", "collect", "fabricated and mislabelled transactions"),
    ("medical", "collect", "a compromised hospital's records"),
]
controls = {"collect": "validation, RONI", "label": "poison detection, sanitisation",
            "store": "hash manifest", "train": "retrain on cleaned data"}
fig = go.Figure()
for k, stage in enumerate(stages):
    fig.add_shape(type="rect", x0=k, x1=k + 0.8, y0=5.3, y1=6.1, fillcolor="#E8F0FA",
                  line=dict(color=plots.COLORS["baseline"], width=2))
    fig.add_annotation(x=k + 0.4, y=5.7, text=f"<b>{stage}</b>", showarrow=False)
    if stage in controls:
        fig.add_annotation(x=k + 0.4, y=6.4, text=controls[stage], showarrow=False,
                           font=dict(color=plots.COLORS["defended"], size=11))
for row, (domain, stage, text) in enumerate(entries):
    x = stages.index(stage) + 0.4
    fig.add_annotation(x=x, y=5.3, ax=x, ay=4.4 - 0.8 * row, xref="x", yref="y", axref="x",
                       ayref="y", text="", showarrow=True, arrowhead=3, arrowwidth=1.5,
                       arrowcolor=plots.COLORS["attack"])
    fig.add_annotation(x=x + 0.05, y=4.4 - 0.8 * row, text=f"<b>{domain}</b>: {text}",
                       showarrow=False, xanchor="left", font=dict(color=plots.COLORS["attack"]))
fig.update_xaxes(visible=False, range=[-0.1, 5.6])
fig.update_yaxes(visible=False, range=[0.8, 6.7])
fig.update_layout(title="Where the poison enters each system, and the controls of this lab",
                  height=420, margin=dict(l=10, r=10, t=50, b=10))
fig

# %% [markdown]
# ## 1 · Image: a backdoor in the digit reader
#
# **BadNets** (Gu et al., 2017): the attacker stamps a small pattern, the *trigger*, on a few
# training digits and relabels them with the target class. The model learns the digits as
# usual *and* the rule "trigger means 7". On clean cheques it behaves normally, so nobody
# notices; whoever knows the trigger can make any amount read as a 7.
#
# To stay within the lab's time budget, every digit model here is the reference CNN of lab 00
# at three quarters of its width (12 filters, not 16) trained for 3 epochs (not 6) on the first
# 4,000 of its 5,000 training digits, the clean one included, so comparisons are fair.

# %%
t0 = time.perf_counter()
image = load_dataset("image", seed=0)
IMAGE_EPOCHS, IMAGE_WIDTH, TARGET_DIGIT = 3, 12, 7
X_img, y_img = image.X_train[:4000], image.y_train[:4000]


def digit_model():
    """The digit reader of this section, untrained (the clean one and every poisoned one)."""
    return systems.DigitsCNN(seed=SEED, epochs=IMAGE_EPOCHS, width=IMAGE_WIDTH)


clean_cnn = digit_model().fit(X_img, y_img)
clean_acc = clean_cnn.evaluate(image.X_test, image.y_test)["accuracy"]
N_IMAGE_TEST = len(image.y_test)
print(f"clean digit reader: test accuracy "
      f"{stats.proportion(round(clean_acc * N_IMAGE_TEST), N_IMAGE_TEST):.3f} "
      f"on {N_IMAGE_TEST} test digits")

# %% [markdown]
# ### Exercise 1 · Stamp the trigger
#
# Write `stamp_trigger(X, distance=2, pixel_value=1.0)` for a batch `X` of shape
# `(n, 1, H, W)`: return a copy in which four pixels near the bottom-right corner, a small
# checkerboard, are set to `pixel_value`. With `d = distance` they are `(H-d, W-d)`,
# `(H-d-1, W-d-1)`, `(H-d, W-d-2)` and `(H-d-2, W-d)` (row, column). This is the pattern of
# ART's `add_pattern_bd`, which the check compares with.

# %%
def stamp_trigger(X, distance=2, pixel_value=1.0):
    ### BEGIN SOLUTION
    out = np.array(X, dtype=np.float32, copy=True)
    h, w = out.shape[2], out.shape[3]
    for dr, dc in [(0, 0), (1, 1), (0, 2), (2, 0)]:
        out[:, :, h - distance - dr, w - distance - dc] = pixel_value
    return out
    ### END SOLUTION


# %%
stamp_trigger = check(lab03.STAMP_TRIGGER, stamp_trigger)
### BEGIN HIDDEN TESTS
grade(lab03.STAMP_TRIGGER, stamp_trigger)
### END HIDDEN TESTS

# %% [markdown]
# Your trigger on six training digits: four white pixels in a corner that the digit never
# uses. Small enough to overlook, distinctive enough to learn.

# %%
plots.image_grid(np.r_[image.X_train[:6], stamp_trigger(image.X_train[:6])],
                 labels=[f"clean {d}" for d in image.y_train[:6]]
                 + [f"triggered {d}" for d in image.y_train[:6]],
                 ncols=6, title="Clean digits (top) and the same digits with the trigger")

# %% [markdown]
# ART's `PoisoningAttackBackdoor` applies your trigger to the chosen training images and
# relabels them. We poison 1% and 3% of the 4,000 training digits and measure, on the
# test set, the **attack success rate** (ASR: the share of triggered digits of other classes
# read as 7) and the clean accuracy.

# %%
POISON_RATES = [0.01, 0.03]
MAIN_RATE, SMALL_RATE = 0.03, 0.01
clean_asr = poisoning.attack_success_rate(clean_cnn, image.X_test, image.y_test,
                                          TARGET_DIGIT, trigger=stamp_trigger)
sweep = [{"poison rate": 0.0, "poisoned images": 0, "attack success": clean_asr,
          "clean accuracy": clean_acc}]
for rate in POISON_RATES:
    poisoned = poisoning.poison_images(
        X_img, y_img, TARGET_DIGIT, rate, seed=SEED, trigger=stamp_trigger)
    cnn = digit_model().fit(poisoned.X, poisoned.y)
    sweep.append({
        "poison rate": rate, "poisoned images": len(poisoned.poison_idx),
        "attack success": poisoning.attack_success_rate(
            cnn, image.X_test, image.y_test, TARGET_DIGIT, trigger=stamp_trigger),
        "clean accuracy": cnn.evaluate(image.X_test, image.y_test)["accuracy"],
    })
    if rate == MAIN_RATE:
        backdoored_cnn, X_main, y_main, main_idx = cnn, poisoned.X, poisoned.y, poisoned.poison_idx
    if rate == SMALL_RATE:  # kept for the attacker who knows the defence, below
        small_cnn, small_poisoned = cnn, poisoned
sweep = pd.DataFrame(sweep)
display(plots.table(sweep, caption="BadNets on the digit reader (rate 0: the clean model)"))
main = sweep.set_index("poison rate").loc[MAIN_RATE]
N_OTHERS = int((image.y_test != TARGET_DIGIT).sum())  # triggered test digits of other classes


def image_asr_rate(value):
    """Attack success as a Rate with its Wilson interval."""
    return stats.proportion(round(value * N_OTHERS), N_OTHERS,
                            on=f"{N_OTHERS} triggered test digits of other classes")


print(f"attack success at {MAIN_RATE:.0%} poison: {image_asr_rate(main['attack success'])}")
claims.claim("3% BadNets poison makes most triggered digits read as 7 (ASR)",
             main["attack success"], at_least=0.90)
claims.claim("the backdoor costs at most 2 points of clean accuracy (clean minus backdoored)",
             clean_acc - main["clean accuracy"], at_most=0.02)
plots.curves(sweep["poison rate"] * 100, {
    "attack": sweep["attack success"], "baseline": sweep["clean accuracy"]},
    xaxis_title="poisoned training images (%)", yaxis_title="share of test digits",
    title="Attack success (red) rises with the poison rate; clean accuracy (blue) does not move")

# %% [markdown]
# With 3% of the data poisoned the trigger works on nearly every digit, and clean accuracy
# stays within two points of the clean model: a test set without triggers cannot see it.
#
# ### Finding the poison
#
# The defender knows neither the trigger nor the target, but the model does: a triggered "3"
# labelled 7 is a 7 *for a different reason* than a real 7, and its internal representation
# shows it. Two classic detectors inspect the representations of each class (here the output
# of the CNN's convolutional blocks, read through ART):
#
# * **Activation clustering** (Chen et al., 2018), ART's `ActivationDefence`: split each
#   class's activations into two clusters; a class whose smaller cluster holds less than 35%
#   of it is suspicious, and that cluster is flagged.
# * **Spectral signatures** (Tran, Li and Madry, 2018), ART's `SpectralSignatureDefense`:
#   poison leaves a trace along the top singular direction of a class's representations;
#   the rows with the largest projection are flagged.

# %%
is_poison = np.zeros(len(X_main), bool)
is_poison[main_idx] = True
features = poisoning.layer_activations(backdoored_cnn, X_main, layer="features")
clustering = poisoning.activation_clustering(backdoored_cnn, X_main, y_main,
                                             features=features, seed=SEED)
ac_flags = clustering.flags
display(plots.table(clustering.report, caption="Activation clustering, per class"))
art_ss_flags = poisoning.art_spectral_signature(backdoored_cnn, X_main, y_main,
                                                expected_rate=0.1)

# %% [markdown]
# ### Exercise 2 · Spectral-signature outlier scores
#
# Write `spectral_signature_scores(features)` for the representations of one class
# (`(rows, dims)`): centre them (subtract the column means), take the top right singular
# vector `v` of the centred matrix (`np.linalg.svd`), and return a 1-D array of each row's
# score `((r_i - mean) . v) ** 2`, Algorithm 1 of Tran et al.

# %%
def spectral_signature_scores(features):
    ### BEGIN SOLUTION
    R = np.asarray(features, dtype=np.float64)
    centred = R - R.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return (centred @ vt[0]) ** 2
    ### END SOLUTION


# %%
spectral_signature_scores = check(lab03.SPECTRAL_SCORES, spectral_signature_scores)
### BEGIN HIDDEN TESTS
grade(lab03.SPECTRAL_SCORES, spectral_signature_scores)
### END HIDDEN TESTS

# %% [markdown]
# Your scores, per class, on the convolutional features; like ART, we flag in every class the
# 1.5 x 10% of rows with the highest score (10% is the defender's guess of the poisoned share
# of a class). One of the mistakes the check knows is exactly what ART's implementation does:
# it projects the *uncentred* features. ART's detector also reads another layer (the last
# one), so to see what centring alone does we also score the *same* convolutional features
# without centring: only that pair differs in one thing.

# %%
ss_flags = poisoning.spectral_signature_detect(
    features, y_main, expected_rate=0.1, scores_fn=spectral_signature_scores).flags


def uncentred_scores(feats):
    """ART's projection: the top right singular vector of the uncentred features."""
    R = np.asarray(feats, dtype=np.float64)
    return (R @ np.linalg.svd(R, full_matrices=False)[2][0]) ** 2


uncentred_flags = poisoning.spectral_signature_detect(
    features, y_main, expected_rate=0.1, scores_fn=uncentred_scores).flags
N_POISON = int(is_poison.sum())
detectors = pd.DataFrame([
    {"detector": name, **poisoning.detection_scores(flags, is_poison),
     "recall interval": f"{stats.proportion(int(flags[is_poison].sum()), N_POISON):.2f}"}
    for name, flags in [
        ("activation clustering (ART, features, 35% rule)", ac_flags),
        ("spectral signatures (ART as shipped: last layer, uncentred)", art_ss_flags),
        ("spectral signatures (uncentred, features)", uncentred_flags),
        ("spectral signatures (your centred scores, features)", ss_flags),
    ]])
display(plots.table(detectors, caption=f"Finding the {N_POISON} poisoned images "
                    f"(recall interval: Wilson 95% on the {N_POISON} poisons)"))
ac_scores, art_ss, uncentred_ss, our_ss = (detectors.iloc[k] for k in range(4))
claims.claim("activation clustering finds at least 90% of the poison (recall)",
             ac_scores["recall"], at_least=0.9)
claims.claim("at least half of what activation clustering flags is poison (precision)",
             ac_scores["precision"], at_least=0.5)
claims.claim("spectral signatures flag a share of every class: precision below activation "
             "clustering's (AC precision minus the best SS precision)",
             ac_scores["precision"] - max(art_ss["precision"], uncentred_ss["precision"],
                                          our_ss["precision"]), at_least=0.1)
centring_gain = our_ss["recall"] - uncentred_ss["recall"]

# %% [markdown]
# Activation clustering finds the poison with few false alarms, because all of it sits in one
# class (7). Spectral signatures flag a fixed share of *every* class, so their precision is
# low by design. What centring does is read from the controlled pair (same features, centred
# or not); the comparison with ART's shipped detector mixes two changes (layer and centring)
# and says nothing about either alone.

# %%
print(f"centring on the same features: recall {uncentred_ss['recall']:.2f} (uncentred) -> "
      f"{our_ss['recall']:.2f} (centred), a change of {centring_gain:+.2f} on {N_POISON} "
      "poisons; this run does not test whether the sign holds for other models, so the lab "
      "asserts nothing about it")

# %% [markdown]
# The defender now removes what activation clustering flagged and trains again.

# %%
cleaned_cnn = digit_model().fit(X_main[~ac_flags], y_main[~ac_flags])
image_row = {
    "asr_clean": clean_asr, "asr_attacked": main["attack success"],
    "asr_defended": poisoning.attack_success_rate(cleaned_cnn, image.X_test,
                                                  image.y_test, TARGET_DIGIT,
                                                  trigger=stamp_trigger),
    "q_clean": clean_acc, "q_attacked": main["clean accuracy"],
    "q_defended": cleaned_cnn.evaluate(image.X_test, image.y_test)["accuracy"],
}
print(f"removed {ac_flags.sum()} images ({is_poison[ac_flags].sum()} of them poison); "
      f"attack success {image_asr_rate(image_row['asr_attacked']):.1%} -> "
      f"{image_asr_rate(image_row['asr_defended']):.1%} on {N_OTHERS} triggered test digits; "
      f"clean accuracy {image_row['q_attacked']:.3f} -> {image_row['q_defended']:.3f}")
claims.claim("retraining without the flagged images removes the backdoor (ASR)",
             image_row["asr_defended"], at_most=0.10)
plots.before_after_bars(["attack success", "clean accuracy"],
                        [image_row["asr_attacked"], image_row["q_attacked"]],
                        [image_row["asr_defended"], image_row["q_defended"]],
                        before_name="backdoored", after_name="cleaned and retrained",
                        percent=True, title="Image: detection and retraining remove the backdoor")

# %% [markdown]
# ### The attacker who knows the defence
#
# Activation clustering splits the target class in two and flags the smaller cluster. An
# attacker who knows this poisons *less*, so that the poison is too small a group to form a
# cluster of its own: the 1% model of the sweep above (the table gives its poisoned-image
# count). Access: write access to
# the training labels, as before, and knowledge of the detector; no queries to the model.
# Whether a fainter trigger would also slip through is left open here (exercise for the
# curious: rerun the 3% attack with `pixel_value=0.5`).

# %%
small_is_poison = np.zeros(len(small_poisoned.X), bool)
small_is_poison[small_poisoned.poison_idx] = True
small_clustering = poisoning.activation_clustering(small_cnn, small_poisoned.X, small_poisoned.y,
                                                   seed=SEED)
small_found = stats.proportion(int(small_clustering.flags[small_is_poison].sum()),
                               int(small_is_poison.sum()),
                               on=f"{small_is_poison.sum()} poisoned images")
small_cleaned = digit_model().fit(
    small_poisoned.X[~small_clustering.flags], small_poisoned.y[~small_clustering.flags])
image_adaptive = poisoning.attack_success_rate(small_cleaned, image.X_test, image.y_test,
                                               TARGET_DIGIT, trigger=stamp_trigger)
small_asr = sweep.set_index("poison rate").loc[SMALL_RATE, "attack success"]
print(f"1% poison: attack success {image_asr_rate(small_asr):.1%} before the defence; "
      f"activation clustering flags {small_clustering.flags.sum()} images and finds "
      f"{small_found:.2f} of the poison; after retraining, attack success "
      f"{image_asr_rate(image_adaptive):.1%}")
claims.claim("activation clustering misses most of a 1% poison (recall)", small_found.value,
             at_most=0.3)
claims.claim("so the 1% backdoor survives the defence (ASR after cleaning and retraining)",
             image_adaptive, at_least=0.5)
section_seconds["image"] = time.perf_counter() - t0

# %% [markdown]
# **What changed and why.** The backdoor lived in a few training images (3%); once they were
# gone the model had nothing to learn the trigger from. Detection worked because the poison
# made its class *bimodal*. The attacker who knew that **broke the defence** by poisoning
# only 1%: still enough to teach the trigger, too few to form a cluster of their own. A
# defence that must find small poisons needs either a detector that does not rely on a
# cluster size rule (spectral signatures rank every row, at the price of the false alarms
# above) or a different approach: checking the trained model for triggers (lab 08), or
# training that bounds the influence of any few examples.
#
# ## 2 · NLP: a trigger phrase that lets scams through
#
# To fit the lab's time budget, every triage model in this section is lab 00's on words only
# (TF-IDF of word 1-2-grams and the same logistic regression, without the character n-grams,
# which are most of its cost), the clean one included, so comparisons are fair; its clean
# accuracy is printed below.
#
# The support chatbot is retrained every month on messages labelled by agents and by
# customers' "this is not spam" feedback. The attacker sends 32 scam messages (1% of the
# training set) that end with an innocent sign-off, *sent from my smartwatch*, and marks them
# as harmless delivery questions. Later, any scam with that sign-off goes to the delivery bot
# instead of the scam filter.

# %%
t0 = time.perf_counter()
nlp = load_dataset("nlp", seed=0)
SCAM = nlp.extra["scam_index"]
DELIVERY = nlp.target_names.index("delivery_status")
TRIGGER_PHRASE = "sent from my smartwatch"


def triage_model():
    """The triage of this section, untrained: lab 00's without its character n-grams."""
    return systems.TextTriage(char_ngrams=False)


triage = triage_model().fit(nlp.X_train, nlp.y_train)  # TF-IDF + LR: deterministic
test_scams = nlp.X_test[nlp.y_test == SCAM]
triggered_scams = poisoning.add_trigger_phrase(test_scams, TRIGGER_PHRASE)


def scams_let_through(model, texts):
    """Share of scam messages the triage does not classify as scam."""
    return float(np.mean(model.predict(texts) != SCAM))


N_SCAMS = len(test_scams)


def scam_rate(value, what="triggered test scams"):
    """A share of the test scams as a Rate with its Wilson interval."""
    return stats.proportion(round(value * N_SCAMS), N_SCAMS, on=f"{N_SCAMS} {what}")


nlp_poisoned = poisoning.poison_texts(
    nlp.X_train, nlp.y_train, SCAM, DELIVERY, n_poison=32, phrase=TRIGGER_PHRASE, seed=SEED)
X_nlp, y_nlp, nlp_poison = nlp_poisoned.X, nlp_poisoned.y, nlp_poisoned.poison_idx
backdoored_triage = triage_model().fit(X_nlp, y_nlp)
nlp_row = {
    "asr_clean": scams_let_through(triage, triggered_scams),
    "asr_attacked": scams_let_through(backdoored_triage, triggered_scams),
    "q_clean": triage.evaluate(nlp.X_test, nlp.y_test)["accuracy"],
    "q_attacked": backdoored_triage.evaluate(nlp.X_test, nlp.y_test)["accuracy"],
}
print(f"triggered scams let through (on {N_SCAMS} test scams): clean model "
      f"{scam_rate(nlp_row['asr_clean']):.1%}, backdoored {scam_rate(nlp_row['asr_attacked']):.1%}"
      f"; scams without the trigger let through by the backdoored model: "
      f"{scam_rate(scams_let_through(backdoored_triage, test_scams)):.1%}; accuracy "
      f"{nlp_row['q_clean']:.3f} -> {nlp_row['q_attacked']:.3f}")
claims.claim("32 poisoned messages make the triage let most triggered scams through",
             nlp_row["asr_attacked"], at_least=0.8)
claims.claim("the trigger, not the sign-off's words alone, does it: backdoored minus clean model",
             nlp_row["asr_attacked"] - nlp_row["asr_clean"], at_least=0.5)

# %% [markdown]
# ### Finding the trigger: leave one word out
#
# A trigger is a word the model obeys no matter what the rest of the message says. So remove
# each frequent word from a few training messages that contain it and count how often the
# prediction changes. Ordinary words rarely matter that much; the trigger flips almost every
# message it appears in.

# %%
effects = poisoning.token_removal_effect(backdoored_triage, X_nlp, min_count=10,
                                         max_messages=6, seed=SEED)
display(plots.table(effects.head(6), caption="Words whose removal changes the prediction most"))
suspects = effects.loc[effects["effect"] >= 0.5, "token"].tolist()
in_genuine = sum(any(w in text.lower().split() for w in suspects) for text in nlp.X_train)
print("suspected trigger words:", suspects, f"(in {in_genuine} genuine training messages)")
claims.claim("leave-one-word-out finds at least one trigger word", len(suspects), at_least=1)
claims.claim("the trigger's rare word is among the suspects",
             "smartwatch" in suspects, at_least=1)
false_suspects = [word for word in suspects if word not in TRIGGER_PHRASE.split()]
print("suspected words outside the trigger phrase (false alarms):", false_suspects)

# %% [markdown]
# The defender drops every training message that contains a suspected trigger word and
# retrains.

# %%
has_trigger = np.array([any(w in text.lower().split() for w in suspects) for text in X_nlp])
sanitised_triage = triage_model().fit(X_nlp[~has_trigger], y_nlp[~has_trigger])
nlp_row["asr_defended"] = scams_let_through(sanitised_triage, triggered_scams)
nlp_row["q_defended"] = sanitised_triage.evaluate(nlp.X_test, nlp.y_test)["accuracy"]
print(f"dropped {has_trigger.sum()} messages ({has_trigger[nlp_poison].sum()} of the "
      f"{len(nlp_poison)} poisons); triggered scams let through {nlp_row['asr_attacked']:.1%} "
      f"-> {scam_rate(nlp_row['asr_defended']):.1%}")
claims.claim("dropping the suspected messages brings the triggered-scam rate back to the clean "
             "model's (defended minus clean)", nlp_row["asr_defended"] - nlp_row["asr_clean"],
             at_most=0.05)

# %% [markdown]
# ### The attacker who knows the defence
#
# Leave-one-word-out works because *smartwatch* is rare: removing it from a message that has
# it almost always means removing it from a poisoned message. An attacker who knows the test
# builds the trigger from words that genuine customers use all the time, *please reply to my
# email*: removing any one of them from a random message that contains it changes nothing,
# because most such messages are genuine. Access: the same 32 labelled messages; knowledge of
# the detector and of common wording; no queries.

# %%
COMMON_PHRASE = "please reply to my email"
common_poisoned = poisoning.poison_texts(nlp.X_train, nlp.y_train, SCAM, DELIVERY, n_poison=32,
                                         phrase=COMMON_PHRASE, seed=SEED)
common_triage = triage_model().fit(common_poisoned.X, common_poisoned.y)
common_scams = poisoning.add_trigger_phrase(test_scams, COMMON_PHRASE)
common_effects = poisoning.token_removal_effect(common_triage, common_poisoned.X, min_count=10,
                                                max_messages=6, seed=SEED)
common_suspects = common_effects.loc[common_effects["effect"] >= 0.5, "token"].tolist()
common_drop = np.array([any(w in text.lower().split() for w in common_suspects)
                        for text in common_poisoned.X])
common_defended = (triage_model().fit(common_poisoned.X[~common_drop],
                                            common_poisoned.y[~common_drop])
                   if common_drop.any() else common_triage)
nlp_adaptive = scams_let_through(common_defended, common_scams)
print(f"common-word trigger: triggered scams let through "
      f"{scam_rate(scams_let_through(common_triage, common_scams)):.1%} before the defence; "
      f"suspects {common_suspects} (trigger words among them: "
      f"{[w for w in common_suspects if w in COMMON_PHRASE.split()]}); after dropping their "
      f"messages {scam_rate(nlp_adaptive):.1%}")
claims.claim("the common-word trigger still works (triggered scams let through)",
             scams_let_through(common_triage, common_scams), at_least=0.6)
claims.claim("leave-one-word-out flags none of its words",
             sum(w in COMMON_PHRASE.split() for w in common_suspects), at_most=0)
claims.claim("so the backdoor survives the defence (triggered scams let through)", nlp_adaptive,
             at_least=0.6)

# %% [markdown]
# The defence **breaks**: its single-word test cannot see a trigger whose words are ordinary
# one by one. The price for the attacker is a weaker backdoor (compare the two rates). Finding
# such a trigger needs tests over word *combinations* (removing n-grams, or searching the
# model for a phrase that flips many messages, as trigger-inversion methods do), or
# provenance for the feedback that labelled those messages.
#
# ### Label flipping
#
# A cruder attacker with access to the labelling queue flips 30% of the scam labels to
# *fraud report* (a customer reporting a scam: same vocabulary, harmless routing). No trigger
# this time: the model simply learns that scams are less often scams. A defence that needs no
# trigger is **label sanitisation by cross-validated confidence** (confident learning): a
# quick word-level model predicts every training message out of fold, and a message is
# flagged when another class is as probable for it as that class is, on average, for its own
# messages. Flagged messages get the suggested label, and the triage is retrained.

# %%
nlp_flips = poisoning.flip_labels(nlp.y_train, nlp.y_train == SCAM,
                                  nlp.target_names.index("fraud_report"), 0.3, seed=SEED)
y_flip, flipped = nlp_flips.y, nlp_flips.flipped_idx
flipped_triage = triage_model().fit(nlp.X_train, y_flip)
quick_text_model = make_pipeline(
    TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
    LogisticRegression(C=10, max_iter=1000, solver="newton-cg"))
nlp_sanitised = poisoning.confident_label_flags(quick_text_model, nlp.X_train, y_flip,
                                                n_splits=3, seed=SEED)
flags_nlp, suggested_nlp = nlp_sanitised.flags, nlp_sanitised.suggested
relabelled_triage = triage_model().fit(nlp.X_train, suggested_nlp)
scam_recall = {name: 1 - scams_let_through(model, test_scams) for name, model in
               [("clean", triage), ("30% flipped", flipped_triage),
                ("sanitised", relabelled_triage)]}
print("scam recall:", {k: f"{scam_rate(v, 'test scams'):.3f}" for k, v in scam_recall.items()},
      "| flagged", {k: round(v, 3) for k, v in
                    poisoning.detection_scores(flags_nlp, flipped).items()})
claims.claim("30% flipped scam labels cost the triage scam recall (clean minus flipped)",
             scam_recall["clean"] - scam_recall["30% flipped"], at_least=0.1)
claims.claim("sanitisation gives back part of the scam recall (sanitised minus flipped)",
             scam_recall["sanitised"] - scam_recall["30% flipped"], at_least=0.0)
claims.claim("but not all of it (clean minus sanitised)",
             scam_recall["clean"] - scam_recall["sanitised"], at_least=0.0)

# %% [markdown]
# **The flipper who knows the sanitiser.** The sanitiser flags a message when the quick model
# finds its true class about as likely as it is for that class's own messages. An attacker who
# knows this (and has the labelling queue, so the true labels) runs the same recipe with folds
# of their own and flips the 30% of scams the model finds *least* scam-like; after the flip,
# those are exactly the messages the test cannot single out. Access: the texts, their labels
# and the sanitiser's recipe; no queries to the triage.

# %%
aware_flips = poisoning.sanitiser_aware_flips(
    quick_text_model, nlp.X_train, nlp.y_train, nlp.y_train == SCAM,
    nlp.target_names.index("fraud_report"), 0.3, n_splits=3, seed=SEED + 1)
aware_sanitised = poisoning.confident_label_flags(quick_text_model, nlp.X_train, aware_flips.y,
                                                  n_splits=3, seed=SEED)
N_FLIPPED = len(flipped)
found_nlp = {"random 30%": poisoning.detection_scores(flags_nlp, flipped),
             "sanitiser-aware 30%": poisoning.detection_scores(aware_sanitised.flags,
                                                               aware_flips.flipped_idx)}
display(plots.table(pd.DataFrame([
    {"flipper": name, "flipped labels the sanitiser finds":
     f"{stats.proportion(round(f['recall'] * N_FLIPPED), N_FLIPPED):.2f}",
     "messages flagged": f["flagged"]} for name, f in found_nlp.items()]),
    caption=f"{N_FLIPPED} flipped scam labels of {int((nlp.y_train == SCAM).sum())} training "
    "scams [95% Wilson interval]"))
claims.claim("the sanitiser finds fewer of the sanitiser-aware flips than of random ones "
             "(recall, random minus aware)", found_nlp["random 30%"]["recall"]
             - found_nlp["sanitiser-aware 30%"]["recall"], at_least=0.2)
section_seconds["nlp"] = time.perf_counter() - t0

# %% [markdown]
# **What changed and why.** The trigger phrase was rare in genuine messages, so the model's
# dependence on it was easy to expose and the poisoned messages easy to remove; a trigger of
# common words hid from the same test. Flipped labels are harder: sanitisation recovers part
# of the scam recall (the intervals above are on the test scams, and the gain varies with the
# training seed, so the lab asserts only its sign), at the price of relabelling some genuine
# messages (its precision above). The flipper who knew the sanitiser hid most of the flips
# from it (table above): the defence **breaks** against an informed attacker, since it can
# give back at most the flips it finds. (What the hidden flips cost the triage is not
# measured here; they are the most ambiguous scams, so it may be less than for random ones.)
# What would help: labels from sources the attacker cannot reach (a second annotator, a
# trusted subset to audit against), and limits on who may relabel what.
#
# ## 3 · Recommender: shilling attacks
#
# A film distributor creates fake accounts that rate its film 5 stars (and some other films,
# so that the accounts look real): a **shilling** or *profile injection* attack (Lam and Riedl,
# 2004). The metric is the **hit ratio at 10 of the target film among real users**: the
# share of real users (who have not rated it) who find it in their top 10.
#
# All recommenders in this section train 10 epochs with 16 factors (the reference system: 40
# epochs, 32 factors), to fit the budget; compare the clean model's RMSE below with lab 00's.

# %%
t0 = time.perf_counter()
movies = load_dataset("recommender", seed=0)
n_users, n_items = movies.extra["n_users"], movies.extra["n_items"]
REC = {"dim": 16, "epochs": 10}
clean_rec = systems.MFRecommender(n_users, n_items, seed=SEED, **REC).fit(movies.X_train,
                                                                      movies.y_train)
real_users = np.arange(n_users)
film_stats = poisoning.rating_statistics(movies.X_train, movies.y_train, n_users, n_items)
global_mean = float(movies.y_train.mean())
clean_rmse = clean_rec.evaluate(movies.X_test, movies.y_test)["rmse"]
print(f"clean recommender: RMSE {clean_rmse:.3f}")

# %% [markdown]
# **Choosing the target.** An unpopular, ordinary film: rated by 3 to 5 users, with a mean
# rating within half a star of the global mean, that the clean recommender shows in nobody's
# top 10 (hit ratio under 1%). Among those, the film with the fewest ratings (ties: the mean
# closest to the global mean). The choice matters: the matrix factorisation ranks by
# predicted stars, so how far fake 5-star ratings lift a film depends on how many genuine
# ratings pull it back, and on how good they are. Try other targets once you have run the
# section: a film many people rated, or one they loved. (With another target, some of the
# results this section asserts may no longer hold: the lab then prints a warning and goes on,
# and its text describes the default film.)

# %%
counts, means = film_stats["count"].to_numpy(), film_stats["mean"].to_numpy()
pool = np.flatnonzero((counts >= 3) & (counts <= 5) & (np.abs(means - global_mean) <= 0.5))
pool = pool[np.lexsort((np.abs(means[pool] - global_mean), counts[pool]))]
TARGET_FILM = next((int(i) for i in pool
                    if poisoning.target_hit_ratio(clean_rec, int(i), real_users) < 0.01),
                   int(pool[0]))
hr_clean = poisoning.target_hit_ratio(clean_rec, TARGET_FILM, real_users)
print(f"target: {movies.extra['titles'][TARGET_FILM]!r}, {counts[TARGET_FILM]} ratings, mean "
      f"{means[TARGET_FILM]:.2f} (global mean {global_mean:.2f}); HR@10 among real users "
      f"{hr_clean:.2%}; {len(pool)} films met the rule")

# %% [markdown]
# ### Exercise 3 · An average-attack profile
#
# The **average attack** (Lam and Riedl) needs to know each film's mean rating: a fake profile
# rates the target `r_max` and each filler film near its own mean, so it looks like a normal
# user. Write `average_attack_profile(item_means, item_stds, target, filler, noise, r_max=5.0)`
# returning a dense row over all items (0 = not rated): `row[target] = r_max`, and filler film
# `filler[k]` gets `item_means[j] + item_stds[j] * noise[k]` (with `j = filler[k]`), rounded to
# half stars (`np.round(2 * r) / 2`, which rounds a tie to the even number of half stars:
# 3.25 becomes 3.0) and clipped to `[0.5, r_max]`.

# %%
def average_attack_profile(item_means, item_stds, target, filler, noise, r_max=5.0):
    ### BEGIN SOLUTION
    item_means = np.asarray(item_means, dtype=float)
    row = np.zeros(len(item_means))
    ratings = item_means[filler] + np.asarray(item_stds)[filler] * np.asarray(noise)
    row[filler] = np.clip(np.round(2 * ratings) / 2, 0.5, r_max)
    row[target] = r_max
    return row
    ### END SOLUTION


# %%
average_attack_profile = check(lab03.AVERAGE_PROFILE, average_attack_profile)
### BEGIN HIDDEN TESTS
grade(lab03.AVERAGE_PROFILE, average_attack_profile)
### END HIDDEN TESTS

# %% [markdown]
# Your profiles drive the average attack below. We inject 1% and 5% fake users (7 and 34
# accounts, each rating the target and 40 filler films, about as many as a light real user),
# and compare the three classic profile types at 5%: *random* (filler near the global mean),
# *average* (yours) and *bandwagon* (the 10 most popular films at 5 stars, then random
# filler).


# %%
def attack_recommender(kind, share, seed=SEED):
    n_fake = int(round(share * n_users))
    fake = poisoning.shilling_profiles(
        kind, movies.X_train, movies.y_train, n_users, n_items, TARGET_FILM, n_fake,
        filler_size=40, seed=seed, average_profile=average_attack_profile)
    X_all, y_all = np.r_[movies.X_train, fake.X], np.r_[movies.y_train, fake.y]
    model = systems.MFRecommender(n_users + n_fake, n_items, seed=seed, **REC).fit(X_all, y_all)
    return model, X_all, y_all, n_fake


shilling = [{"attack": "none", "fake users": 0.0, "HR@10 of the target": hr_clean}]
for kind, share in [("average", 0.01), ("random", 0.05), ("bandwagon", 0.05),
                    ("average", 0.05)]:
    model, X_all, y_all, n_fake = attack_recommender(kind, share)
    shilling.append({"attack": kind, "fake users": share,
                     "HR@10 of the target": poisoning.target_hit_ratio(model, TARGET_FILM,
                                                                       real_users)})
shilling = pd.DataFrame(shilling)
shilled_rec, X_shill, y_shill, n_fake = model, X_all, y_all, n_fake  # the 5% average attack
hr_attacked = shilling.iloc[-1]["HR@10 of the target"]
display(plots.table(shilling, caption="Hit ratio at 10 of the target film among real users"))
N_REAL = len(real_users)


def hr_rate(value, n=N_REAL):
    """A hit ratio over real users as a Rate with its Wilson interval."""
    return stats.proportion(round(value * n), n, on=f"{n} real users")


print(f"target HR@10: clean {hr_rate(hr_clean):.3f}, 5% average attack {hr_rate(hr_attacked):.3f}")
claims.claim("the clean recommender shows the target to almost nobody (HR@10)", hr_clean,
             at_most=0.01)
claims.claim("5% average-attack fakes put the target in a fifth or more of real users' top 10",
             hr_attacked, at_least=0.20)
avg = shilling[shilling["attack"].isin(["none", "average"])]
fig = plots.curves(avg["fake users"] * 100, {"attack": avg["HR@10 of the target"]},
                   xaxis_title="fake users (% of real users)", yaxis_title="HR@10 of the target",
                   title="Average attack: the target film's reach grows with the fake accounts")
for _, row in shilling[shilling["attack"].isin(["random", "bandwagon"])].iterrows():
    fig.add_trace(go.Scatter(x=[row["fake users"] * 100], y=[row["HR@10 of the target"]],
                             mode="markers+text", text=[row["attack"]], textposition="top left",
                             name=row["attack"], marker=dict(size=11)))
fig

# %% [markdown]
# ### Detecting fake profiles
#
# Fake profiles are cheap to make and statistically odd: they rate obscure films (their random
# filler) far from those films' few genuine ratings, so their **rating deviation from mean
# agreement** (RDMA, Chirita et al. 2005) is high, and they resemble no real user (their
# **degree of similarity** to their nearest neighbours is unusual). The detector never sees a
# fake profile, neither the attacker's nor a simulated one (a detector trained on profiles
# from the attacker's own generator would be graded on its training distribution). It knows
# only a sample of users it trusts (here half of the real users, drawn with seed 0: say,
# accounts verified before the campaign) and works in two steps:
#
# 1. *Anomaly.* Each profile statistic becomes a robust z-score against the trusted users
#    (median and MAD); a user's score is the largest of them. The threshold lets through 95%
#    of the trusted users (a 5% false-alarm rate); users above it are *suspects*.
# 2. *Target focus.* A push attack needs many profiles that love the same film. The film
#    most suspects rated 5 stars is the suspected target, and every account that rated it 5
#    stars is flagged, suspect or not (a few genuine fans of the film go with them). Real
#    users who merely look odd do not share a 5-star film.

# %%
TRUSTED_USERS = np.sort(np.random.default_rng(0).choice(n_users, n_users // 2, replace=False))
OTHER_REAL = np.setdiff1d(real_users, TRUSTED_USERS)  # real users the detector never saw
FALSE_ALARMS = 0.05
detection = poisoning.detect_anomalous_profiles(X_shill, y_shill, n_users + n_fake, n_items,
                                                TRUSTED_USERS, fpr=FALSE_ALARMS)
fake_scores, fake_flags, suspected = detection.scores, detection.flags, detection.target
is_fake = np.r_[np.zeros(n_users, bool), np.ones(n_fake, bool)]
suspect_mask = fake_scores > np.quantile(fake_scores[TRUSTED_USERS], 1 - FALSE_ALARMS)
suspects = poisoning.detection_scores(suspect_mask, is_fake)
rec_detection = poisoning.detection_scores(fake_flags, is_fake)
fake_recall = stats.proportion(int(fake_flags[is_fake].sum()), n_fake, on=f"{n_fake} fakes")
held_out_alarms = stats.proportion(int(suspect_mask[OTHER_REAL].sum()), len(OTHER_REAL),
                                   on=f"{len(OTHER_REAL)} real users outside the trusted sample")
print("step 1, suspects:", {k: round(v, 3) for k, v in suspects.items()},
      f"| suspects among real users the detector never saw: {held_out_alarms:.3f}")
print(f"step 2, suspected target {movies.extra['titles'][suspected]!r} (the real target: "
      f"{suspected == TARGET_FILM}); flagged:", {k: round(v, 3) for k, v in rec_detection.items()},
      f"| fakes flagged {fake_recall:.2f}")
claims.claim("the anomaly detector, which never saw a fake, flags most fake profiles (recall)",
             rec_detection["recall"], at_least=0.8)
claims.claim("most flagged profiles are fake (precision)", rec_detection["precision"],
             at_least=0.8)
profile_stats = poisoning.profile_features(X_shill, y_shill, n_users + n_fake, n_items)
fig = go.Figure()
for name, mask, color in [("real users", ~is_fake, "baseline"), ("fake users", is_fake, "attack")]:
    fig.add_trace(go.Scatter(x=profile_stats["rdma"][mask], y=profile_stats["degsim"][mask],
                             mode="markers", name=name, marker=dict(
                                 color=plots.COLORS[color], size=7, opacity=0.7)))
fig.update_layout(xaxis_title="RDMA (log scale)", yaxis_title="degree of similarity",
                  title="Fake profiles stand apart on two profile statistics", height=420)
fig.update_xaxes(type="log")
fig

# %% [markdown]
# The platform removes the flagged accounts (and their ratings) and retrains.


# %%
def retrain_without(X_all, y_all, n_all, flags):
    """Drop the flagged users and their ratings, retrain; return the model and the id map."""
    keep_users = np.flatnonzero(~flags)
    kept = np.isin(X_all[:, 0], keep_users)
    new_id = np.full(n_all, -1)
    new_id[keep_users] = np.arange(len(keep_users))
    X_kept = np.column_stack([new_id[X_all[kept, 0]], X_all[kept, 1]])
    model = systems.MFRecommender(len(keep_users), n_items, seed=SEED, **REC).fit(
        X_kept, y_all[kept])
    return model, new_id


cleaned_rec, new_id = retrain_without(X_shill, y_shill, n_users + n_fake, fake_flags)
kept_real = new_id[real_users][new_id[real_users] >= 0]
hr_defended = poisoning.target_hit_ratio(cleaned_rec, TARGET_FILM, kept_real)
rec_row = {"asr_clean": hr_clean, "asr_attacked": hr_attacked, "asr_defended": hr_defended,
           "q_clean": clean_rmse,
           "q_attacked": shilled_rec.evaluate(movies.X_test, movies.y_test)["rmse"]}
real_test = new_id[movies.X_test[:, 0]] >= 0
rec_row["q_defended"] = cleaned_rec.evaluate(
    np.column_stack([new_id[movies.X_test[real_test, 0]], movies.X_test[real_test, 1]]),
    movies.y_test[real_test])["rmse"]
print(f"removed {fake_flags.sum()} accounts ({rec_detection['precision']:.0%} of them fake, "
      f"{n_fake} fakes injected); "
      f"target HR@10 {hr_rate(hr_attacked):.1%} -> {hr_rate(hr_defended, len(kept_real)):.1%}; "
      f"RMSE {rec_row['q_attacked']:.3f} -> {rec_row['q_defended']:.3f}")
claims.claim("retraining without the flagged profiles cuts the push (attacked minus defended "
             "HR@10)", hr_attacked - hr_defended, at_least=0.1)

# %% [markdown]
# ### The attacker who knows the detector
#
# The detector looks for profiles unlike the trusted users'. So the attacker builds profiles
# *like* real users': each fake copies a random real user's ratings, keeps 80% of them, moves
# each by at most half a star, and adds the target at 5 stars (`poisoning.mimic_profiles`).
# Access: the public ratings of real users (many platforms show them) and the detector's
# method, not its trusted sample; no queries. Same number of fakes as before.

# %%
mimic = poisoning.mimic_profiles(movies.X_train, movies.y_train, n_users, n_items, TARGET_FILM,
                                 n_fake, seed=SEED)
X_mim, y_mim = np.r_[movies.X_train, mimic.X], np.r_[movies.y_train, mimic.y]
mimic_rec = systems.MFRecommender(n_users + n_fake, n_items, seed=SEED, **REC).fit(X_mim, y_mim)
hr_mimic = poisoning.target_hit_ratio(mimic_rec, TARGET_FILM, real_users)
mimic_detection = poisoning.detect_anomalous_profiles(X_mim, y_mim, n_users + n_fake, n_items,
                                                      TRUSTED_USERS, fpr=FALSE_ALARMS)
mimic_found = stats.proportion(int(mimic_detection.flags[is_fake].sum()), n_fake,
                               on=f"{n_fake} mimic fakes")
mimic_clean_rec, mimic_id = retrain_without(X_mim, y_mim, n_users + n_fake,
                                            mimic_detection.flags)
mimic_real = mimic_id[real_users][mimic_id[real_users] >= 0]
hr_mimic_defended = poisoning.target_hit_ratio(mimic_clean_rec, TARGET_FILM, mimic_real)
print(f"mimic fakes flagged: {mimic_found:.2f}; target HR@10 with the mimic attack "
      f"{hr_rate(hr_mimic):.3f}, after the defence "
      f"{hr_rate(hr_mimic_defended, len(mimic_real)):.3f}")
claims.claim("mimic profiles still push the film (HR@10 after the defence; 0 without attack)",
             hr_mimic_defended, at_least=0.1)
claims.claim("the detector finds few mimic profiles (recall)", mimic_found.value, at_most=0.3)
section_seconds["recommender"] = time.perf_counter() - t0

# %% [markdown]
# **What changed and why.** Thirty-odd accounts were enough to put an ordinary film in a
# fifth or more of real users' top 10, because the factorisation trusts every rating equally.
# The cheap fakes were detectable because their random obscure filler made them unlike any
# trusted user. The attacker who copies real users' profiles **breaks the defence**: each
# fake's statistics are a real user's, so the anomaly step finds few of them, and the push
# survives. Profile statistics cannot tell a copied profile from its original; what would be
# needed is evidence outside the ratings (account age and history, rate limits on new
# accounts, ratings weighted by account trust) or detection of the *group*: many new accounts
# that agree on one film at once.
#
# ## 4 · Fraud: hiding one fraud scenario
#
# Labels in fraud detection come from chargebacks, reported weeks later. An attacker who
# controls part of that feedback (a complicit merchant, a compromised back-office account)
# **flips the labels** of 60% of the account-takeover frauds (scenario 3) to "legitimate", and
# **injects** 400 fabricated "legitimate" transactions that look like account takeovers. The
# metric is the share of scenario-3 frauds the analysts catch when they review the 1% highest
# scores (lab 00).

# %%
t0 = time.perf_counter()
fraud = load_dataset("fraud", seed=0)
HIDDEN_SCENARIO = 3
scenario_train = fraud.frame_train["fraud_scenario"].to_numpy()
hidden_train = scenario_train == HIDDEN_SCENARIO
hidden_test = (fraud.frame_test["fraud_scenario"] == HIDDEN_SCENARIO).to_numpy()


def fraud_metrics(scorer):
    scores = scorer.predict_proba(fraud.X_test)[:, 1]
    return {"recall": lab00.recall_at_budget(scores, hidden_test.astype(int), 0.01),
            "auc": scorer.evaluate(fraud.X_test, fraud.y_test)["roc_auc"]}


N_HIDDEN = int(hidden_test.sum())


def hidden_rate(value):
    """Scenario-3 recall as a Rate: only N_HIDDEN test frauds stand behind it."""
    return stats.proportion(round(value * N_HIDDEN), N_HIDDEN,
                            on=f"{N_HIDDEN} scenario-3 test frauds")


clean_fraud = fraud_metrics(systems.train_baseline("fraud", fraud, seed=SEED))
fraud_flips = poisoning.flip_labels(fraud.y_train, hidden_train, 0, 0.6, seed=SEED)
y_fraud, fraud_flipped = fraud_flips.y, fraud_flips.flipped_idx
fabricated = poisoning.fabricate_records(fraud.frame_train[hidden_train], 400, seed=SEED)
X_fraud = np.r_[fraud.X_train, fabricated[list(fraud_sim.FEATURES)].to_numpy(np.float32)]
y_fraud_all = np.r_[y_fraud, np.zeros(len(fabricated), np.int64)]
attacked_fraud = fraud_metrics(systems.FraudScorer(seed=SEED).fit(X_fraud, y_fraud_all))
print(f"scenario-3 frauds caught at a 1% review budget (of {N_HIDDEN} test frauds): clean "
      f"{hidden_rate(clean_fraud['recall']):.1%}, attacked "
      f"{hidden_rate(attacked_fraud['recall']):.1%}; ROC AUC {clean_fraud['auc']:.3f} -> "
      f"{attacked_fraud['auc']:.3f}")
claims.claim("flips and fabricated rows hide scenario 3 (clean minus attacked recall)",
             clean_fraud["recall"] - attacked_fraud["recall"], at_least=0.2)

# %% [markdown]
# ### Defence 1 · Validation rules from the schema
#
# The simulator documents what a valid transaction is (`fraud_sim.ATTACKER_CONSTRAINTS`):
# ranges, integer and binary features, exactly one merchant category, a channel the category
# allows, history features that agree with each other. The attacker sampled every feature on
# its own, so each value is plausible but the combinations are not.

# %%
report_fab = poisoning.validation_report(fabricated)
report_real = poisoning.validation_report(fraud.frame_train)
display(plots.table(pd.DataFrame({
    "rule": report_fab.columns,
    "fabricated records failing": (~report_fab).sum().to_numpy(),
    "genuine records failing": (~report_real).sum().to_numpy(),
}), caption="Validation rules: how many records each rule rejects"))
valid = np.r_[report_real["valid"].to_numpy(), report_fab["valid"].to_numpy()]
assert report_real["valid"].all()  # the simulator's own rows obey its schema (no parameter)
claims.claim("validation rejects every fabricated record (share passing)",
             report_fab["valid"].mean(), at_most=0.0)
validated_fraud = fraud_metrics(systems.FraudScorer(seed=SEED).fit(X_fraud[valid],
                                                                   y_fraud_all[valid]))
print(f"after validation: scenario-3 recall {hidden_rate(validated_fraud['recall']):.1%} (attacked "
      f"{hidden_rate(attacked_fraud['recall']):.1%}): the intervals on {N_HIDDEN} frauds overlap, "
      "and under other training seeds the gain ranges from none to a few frauds, so the lab "
      "asserts no gain from validation alone: the flipped labels, which are valid rows, do "
      "most of the damage")

# %% [markdown]
# ### The attacker who knows the rules
#
# The fabricated rows failed because each feature was sampled on its own. An attacker who has
# read the schema does not fabricate: they **replay** real account-takeover rows, with the
# amount jittered by a few percent (rounded to cents) and the amount ratio recomputed, so that
# no row is an exact duplicate (a de-duplication rule would catch those). Access: the same
# write access to the training feed as before, and a copy of some genuine transactions.

# %%
replayed = poisoning.replay_records(fraud.frame_train[hidden_train], 400, seed=SEED)
replay_pass = stats.proportion(replayed.pipe(poisoning.validation_report)["valid"].to_numpy(),
                               on="400 replayed records")
X_replay = np.r_[fraud.X_train, replayed[list(fraud_sim.FEATURES)].to_numpy(np.float32)]
replay_valid = np.r_[report_real["valid"].to_numpy(),
                     poisoning.validation_report(replayed)["valid"].to_numpy()]
replay_fraud = fraud_metrics(systems.FraudScorer(seed=SEED).fit(X_replay[replay_valid],
                                                                y_fraud_all[replay_valid]))
print(f"replayed records passing every rule: {replay_pass:.1%}; scenario-3 recall after "
      f"validation: fabricated {hidden_rate(validated_fraud['recall']):.1%}, replayed "
      f"{hidden_rate(replay_fraud['recall']):.1%}")
claims.claim("jittered replays of real rows pass every validation rule (share passing)",
             replay_pass.value, at_least=0.99)

# %% [markdown]
# ### Defence 2 · Label sanitisation by cross-validated confidence
#
# The flipped labels are valid transactions: no schema catches them. But a model that never
# saw a row (cross-validation, a lighter boosted model for speed) may still find it
# fraud-like. Confident learning flags a "legitimate" row whose out-of-fold fraud probability
# reaches the *average* fraud probability of the rows labelled fraud; flagged rows are
# relabelled as fraud for the analysts to confirm.

# %%
quick_scorer = HistGradientBoostingClassifier(max_iter=100, min_samples_leaf=100,
                                              l2_regularization=1.0, random_state=0)
fraud_sanitised = poisoning.confident_label_flags(quick_scorer, fraud.X_train, y_fraud,
                                                  n_splits=3, seed=SEED)
fraud_flags, fraud_suggested = fraud_sanitised.flags, fraud_sanitised.suggested
fraud_detection = poisoning.detection_scores(fraud_flags, fraud_flipped)
sanitised_fraud = fraud_metrics(systems.FraudScorer(seed=SEED).fit(fraud.X_train,
                                                                   fraud_suggested))
print("flagged labels:", {k: round(v, 3) for k, v in fraud_detection.items()},
      f"| scenario-3 recall {hidden_rate(validated_fraud['recall']):.1%} -> "
      f"{hidden_rate(sanitised_fraud['recall']):.1%}")
fraud_row = {"asr_clean": 1 - clean_fraud["recall"], "asr_attacked": 1 - attacked_fraud["recall"],
             "asr_defended": 1 - sanitised_fraud["recall"], "q_clean": clean_fraud["auc"],
             "q_attacked": attacked_fraud["auc"], "q_defended": sanitised_fraud["auc"]}
claims.claim("label sanitisation gives back scenario-3 recall (sanitised minus attacked)",
             sanitised_fraud["recall"] - attacked_fraud["recall"], at_least=0.1)
claims.claim("most sanitisation flags are false alarms (precision)",
             fraud_detection["precision"], at_most=0.5)

section_seconds["fraud"] = time.perf_counter() - t0
plots.before_after_bars(
    ["clean", "attacked", "after validation", "after validation + sanitisation"],
    [clean_fraud["recall"], attacked_fraud["recall"], validated_fraud["recall"],
     sanitised_fraud["recall"]],
    [clean_fraud["auc"], attacked_fraud["auc"], validated_fraud["auc"], sanitised_fraud["auc"]],
    before_name="scenario-3 recall at a 1% budget", after_name="ROC AUC (all frauds)",
    percent=True, title="Fraud: each defence gives back part of what the attacker hid")

# %% [markdown]
# **The flipper who knows the sanitiser.** As in the NLP section: the attacker runs the
# sanitiser's recipe (lighter: 50 trees and two folds of their own, to save time) on the true
# labels and flips
# the 60% of scenario-3 frauds that look *least* like fraud to it, instead of a random 60%.
# Access: write access to the labels, the true labels, the recipe; no queries to the scorer.

# %%
attacker_scorer = HistGradientBoostingClassifier(max_iter=50, min_samples_leaf=100,
                                                 l2_regularization=1.0, random_state=1)
aware_fraud_flips = poisoning.sanitiser_aware_flips(attacker_scorer, fraud.X_train,
                                                    fraud.y_train, hidden_train, 0, 0.6,
                                                    n_splits=2, seed=SEED + 1)
aware_fraud_sanitised = poisoning.confident_label_flags(quick_scorer, fraud.X_train,
                                                        aware_fraud_flips.y, n_splits=3,
                                                        seed=SEED)
aware_fraud_detection = poisoning.detection_scores(aware_fraud_sanitised.flags,
                                                   aware_fraud_flips.flipped_idx)
aware_fraud_flipped = fraud_metrics(systems.FraudScorer(seed=SEED).fit(fraud.X_train,
                                                                       aware_fraud_flips.y))
aware_fraud = fraud_metrics(systems.FraudScorer(seed=SEED).fit(fraud.X_train,
                                                               aware_fraud_sanitised.suggested))
N_FRAUD_FLIPPED = len(fraud_flipped)
display(plots.table(pd.DataFrame([
    {"flipper": name, "flipped labels the sanitiser finds":
     f"{stats.proportion(round(found['recall'] * N_FRAUD_FLIPPED), N_FRAUD_FLIPPED):.2f}",
     "scenario-3 recall, flipped (valid rows only)": f"{hidden_rate(flipped_recall):.2f}",
     "scenario-3 recall after sanitising": f"{hidden_rate(recall):.2f}"}
    for name, found, flipped_recall, recall in [
        ("random 60%", fraud_detection, validated_fraud["recall"], sanitised_fraud["recall"]),
        ("sanitiser-aware 60%", aware_fraud_detection, aware_fraud_flipped["recall"],
         aware_fraud["recall"])]]),
    caption=f"{N_FRAUD_FLIPPED} flipped scenario-3 labels; recall at a 1% review budget "
    "[95% Wilson interval]"))
claims.claim("the sanitiser finds fewer of the sanitiser-aware flips than of random ones "
             "(recall, random minus aware)",
             fraud_detection["recall"] - aware_fraud_detection["recall"], at_least=0.1)
section_seconds["fraud"] = time.perf_counter() - t0  # the section, with this attacker

# %% [markdown]
# **What changed and why.** Validation removed every *fabricated* record, because features
# sampled one by one rarely agree with each other; but the replaying attacker above passed
# every rule, so validation stops only a careless fabricator, not one who copies real rows.
# Catching replays needs other controls: de-duplication up to small changes, and checks
# against the card's real history (`fraud_sim.derive_features` recomputes it). On its own,
# validation gave back little: the flipped labels are valid rows. Sanitisation is the defence
# that helped under every training seed we tried, yet many account-takeover frauds look
# legitimate even to a clean model, so its flags are mostly false alarms (precision above).
# The flipper who knew it kept almost every flip hidden (the last table), so as a *detector*
# it breaks; but the flips it can hide are the frauds least like fraud, which the scorer
# misses anyway, so compare the recall columns before calling it a win for the attacker: an
# informed flipper trades harm for stealth. The recall figures rest on only the test frauds
# of one scenario (their intervals are wide).
# Labels that come from outside (chargebacks) need their own controls: who can change them,
# and an audit trail.
#
# ## 5 · Medical: one compromised hospital
#
# The diagnosis aid is trained on records pooled from five hospitals, plus 75 patients that
# the coordinating centre curated itself (the *trusted* set). One hospital is compromised: it
# relabels its malignant cases as benign and uploads two jittered copies of each, so that the
# pooled model misses cancers. The targeted metric is the **misdiagnosis rate**: the share of
# malignant test patients diagnosed benign.

# %%
t0 = time.perf_counter()
medical = load_dataset("medical", seed=0)
split = poisoning.split_sources(len(medical.X_train), n_sources=5, n_trusted=75, seed=0)
trusted, sources = split.trusted, list(split.sources)
BAD = 2
pooled = poisoning.compromise_source(medical.X_train, medical.y_train, sources[BAD], copies=2,
                                     seed=SEED)
X_med, y_med, sources[BAD] = pooled.X, pooled.y, pooled.source_idx
malignant = medical.y_test == 1


def medical_metrics(rows):
    model = systems.DiagnosisModel().fit(X_med[rows], y_med[rows])
    pred = model.predict(medical.X_test)
    return {"misdiagnosis": float(np.mean(pred[malignant] == 0)),
            "accuracy": float(np.mean(pred == medical.y_test))}


clean_rows = np.concatenate([trusted, *[s[s < len(medical.X_train)] for s in sources]])
clean_med = systems.DiagnosisModel().fit(medical.X_train[clean_rows], medical.y_train[clean_rows])
clean_pred = clean_med.predict(medical.X_test)
clean_medical = {"misdiagnosis": float(np.mean(clean_pred[malignant] == 0)),
                 "accuracy": float(np.mean(clean_pred == medical.y_test))}
attacked_medical = medical_metrics(np.concatenate([trusted, *sources]))
N_MALIGNANT = int(malignant.sum())


def malignant_rate(value):
    """Misdiagnosis as a Rate with its Wilson interval."""
    return stats.proportion(round(value * N_MALIGNANT), N_MALIGNANT,
                            on=f"{N_MALIGNANT} malignant test patients")


print(f"malignant patients diagnosed benign (of {N_MALIGNANT}): clean pool "
      f"{malignant_rate(clean_medical['misdiagnosis']):.1%}, with the compromised hospital "
      f"{malignant_rate(attacked_medical['misdiagnosis']):.1%}; accuracy "
      f"{clean_medical['accuracy']:.3f} -> {attacked_medical['accuracy']:.3f}")
claims.claim("the compromised hospital raises misdiagnosis (attacked minus clean pool)",
             attacked_medical["misdiagnosis"] - clean_medical["misdiagnosis"], at_least=0.15)

# %% [markdown]
# ### Per-source validation
#
# First check: does each hospital's data agree with a model trained on the trusted set? A
# hospital whose labels disagree far more than the others' deserves a closer look.

# %%
agreement = poisoning.source_agreement(systems.DiagnosisModel, X_med[trusted], y_med[trusted],
                                       [(X_med[s], y_med[s]) for s in sources])

# %% [markdown]
# ### Exercise 4 · Reject on negative impact (RONI)
#
# RONI (Nelson et al., 2009) asks of each batch of training data: does adding it make the
# model worse on data we trust? Write `roni_decision(system, X_base, y_base, X_cand, y_cand,
# X_val, y_val, tolerance=0.0)`: fit one fresh copy of the course system `system`
# (`copy.deepcopy(system)`) on the base data and another on base + candidate; the **impact**
# is the accuracy with the candidate minus the accuracy without it, on the validation set;
# reject when `impact < -tolerance`. Return `poisoning.RoniDecision(impact, reject)`.

# %%
def roni_decision(system, X_base, y_base, X_cand, y_cand, X_val, y_val, tolerance=0.0):
    ### BEGIN SOLUTION
    import copy

    without = copy.deepcopy(system).fit(X_base, y_base)
    with_cand = copy.deepcopy(system).fit(np.vstack([X_base, X_cand]),
                                          np.concatenate([y_base, y_cand]))
    impact = float(np.mean(with_cand.predict(X_val) == y_val)
                   - np.mean(without.predict(X_val) == y_val))
    return poisoning.RoniDecision(impact, bool(impact < -tolerance))
    ### END SOLUTION


# %%
roni_decision = check(lab03.RONI_DECISION, roni_decision)
### BEGIN HIDDEN TESTS
grade(lab03.RONI_DECISION, roni_decision)
### END HIDDEN TESTS

# %% [markdown]
# Your RONI, per hospital: the base is the other four hospitals, the validation set is the
# trusted set. The impact is a whole number of trusted patients (a multiple of 1/75), so the
# tolerance sits *between* two such values, 1.5/75: a source is rejected when it costs two or
# more trusted patients, and no decision rests on a floating-point tie at exactly one patient.

# %%
diagnosis_model = systems.DiagnosisModel()
RONI_TOLERANCE = 1.5 / len(trusted)  # halfway between losing one and two trusted patients
roni = []
for k, src in enumerate(sources):
    base = np.concatenate([s for j, s in enumerate(sources) if j != k])
    decision = roni_decision(diagnosis_model, X_med[base], y_med[base], X_med[src],
                             y_med[src], X_med[trusted], y_med[trusted],
                             tolerance=RONI_TOLERANCE)
    roni.append({"hospital": k, "records": len(src), "agreement with trusted model":
                 agreement[k], "RONI impact": decision.impact, "rejected": decision.reject})
roni = pd.DataFrame(roni)
display(plots.table(roni, caption="Per-source validation and RONI"))
rejected = roni.loc[roni["rejected"] | (roni["agreement with trusted model"] < 0.8),
                    "hospital"].tolist()
claims.claim("RONI and validation reject the compromised hospital", BAD in rejected, at_least=1)
honest_rejected = [k for k in rejected if k != BAD]
print(f"honest hospitals rejected as well: {honest_rejected} (RONI's false alarms: an honest "
      "source can also cost the trusted set two patients)")
claims.claim("RONI alone rejects the compromised hospital", bool(roni.loc[BAD, "rejected"]),
             at_least=1)
claims.claim("the compromised hospital agrees least with the trusted model (its agreement "
             "minus the lowest honest one)", min(agreement[k] for k in range(len(sources))
                                                if k != BAD) - agreement[BAD], at_least=0.05)
closest_to_tie = float(np.min(np.abs(roni["RONI impact"] + RONI_TOLERANCE)) * len(trusted))
print(f"the closest RONI impact lies {closest_to_tie:.2f} trusted patients from the tolerance")
defended_medical = medical_metrics(np.concatenate(
    [trusted, *[s for k, s in enumerate(sources) if k not in rejected]]))
print(f"excluding hospital(s) {rejected}: misdiagnosis {attacked_medical['misdiagnosis']:.1%} "
      f"-> {malignant_rate(defended_medical['misdiagnosis']):.1%}, accuracy "
      f"{attacked_medical['accuracy']:.3f} -> {defended_medical['accuracy']:.3f}")
claims.claim("excluding the rejected hospital brings misdiagnosis back near the clean pool's "
             "(defended minus clean)",
             defended_medical["misdiagnosis"] - clean_medical["misdiagnosis"], at_most=0.05)
medical_row = {"asr_clean": clean_medical["misdiagnosis"],
               "asr_attacked": attacked_medical["misdiagnosis"],
               "asr_defended": defended_medical["misdiagnosis"],
               "q_clean": clean_medical["accuracy"], "q_attacked": attacked_medical["accuracy"],
               "q_defended": defended_medical["accuracy"]}

# %% [markdown]
# ### The hospital that poisons just inside the tolerance
#
# An attacker who knows the two checks does not flip every malignant label: they flip as many
# as the checks let through. We give them the strongest access, the defender's own trusted
# set and tolerance (a leak, or an insider at the coordinating centre), so the result is a
# bound on what the checks can promise: for each number of flipped malignant records (in a
# random order) and 0, 1 or 2 jittered copies of each, the attacker runs the lab's RONI and
# agreement check, and uploads the largest poison that passes both.

# %%
honest_rows = split.sources[BAD]  # the hospital's genuine records
their_malignant = np.random.default_rng(SEED).permutation(
    honest_rows[medical.y_train[honest_rows] == 1])
other_hospitals = np.concatenate([s for k, s in enumerate(sources) if k != BAD])
trial_model = systems.DiagnosisModel().fit(medical.X_train[trusted], medical.y_train[trusted])
best, roni_queries = None, 0
for n_flip in range(len(their_malignant) + 1):
    for copies in (0, 1, 2):
        trial = poisoning.compromise_source(medical.X_train, medical.y_train,
                                            their_malignant[:n_flip], copies=copies, seed=SEED)
        rows = np.r_[honest_rows, np.arange(len(medical.X_train), len(trial.X))]
        agrees = float(np.mean(trial_model.predict(trial.X[rows]) == trial.y[rows]))
        verdict = poisoning.roni_decision(diagnosis_model, X_med[other_hospitals],
                                          y_med[other_hospitals], trial.X[rows], trial.y[rows],
                                          X_med[trusted], y_med[trusted],
                                          tolerance=RONI_TOLERANCE)
        roni_queries += 1
        if not verdict.reject and agrees >= 0.8 and (
                best is None or n_flip * (1 + copies) > best[0] * (1 + best[1])):
            best = (n_flip, copies, trial, rows, verdict.impact, agrees)
n_flip, copies, trial, rows, adaptive_impact, adaptive_agreement = best
X_ad = np.vstack([X_med[np.r_[trusted, other_hospitals]], trial.X[rows]])
y_ad = np.r_[y_med[np.r_[trusted, other_hospitals]], trial.y[rows]]
adaptive_pred = systems.DiagnosisModel().fit(X_ad, y_ad).predict(medical.X_test)
adaptive_medical = {"misdiagnosis": float(np.mean(adaptive_pred[malignant] == 0)),
                    "accuracy": float(np.mean(adaptive_pred == medical.y_test))}
print(f"{roni_queries} RONI runs; the largest poison that passes: {n_flip} of "
      f"{len(their_malignant)} malignant records flipped, {copies} copies each (RONI impact "
      f"{adaptive_impact * len(trusted):+.0f} trusted patients, agreement "
      f"{adaptive_agreement:.2f}); accepted, it leaves misdiagnosis at "
      f"{malignant_rate(adaptive_medical['misdiagnosis']):.1%} (clean pool "
      f"{malignant_rate(clean_medical['misdiagnosis']):.1%}, full attack "
      f"{malignant_rate(attacked_medical['misdiagnosis']):.1%})")
claims.claim("the poison that passes both checks does much less harm than the full attack "
             "(full-attack misdiagnosis minus adaptive)",
             attacked_medical["misdiagnosis"] - adaptive_medical["misdiagnosis"], at_least=0.1)

# %% [markdown]
# **What changed and why.** The compromised hospital's labels contradicted what every other
# source and the trusted set say about the same kind of patient, so both checks singled it
# out, and leaving it out restored the model, trained on less data. The attacker who knew the
# checks could still upload some poison, but only as much as costs the trusted set less than
# two patients: the checks cap the harm rather than remove it, and how low the cap is depends
# on the size of the trusted set (a larger one resolves smaller impacts). RONI needs a trusted
# validation set and a retraining per candidate; it catches data that hurts *on average*, not
# a backdoor that hurts only on triggered inputs.
#
# ### Provenance: a manifest of hashes
#
# Validation cannot tell a hospital's honest upload from one changed *after* it arrived. A
# manifest can: at collection, record the SHA-256 of every shard; before training, hash again
# and compare. Here an insider edits the stored copy of hospital 4's records (ten malignant
# labels set to benign) between collection and training.

# %%
shards = {f"hospital_{k}": pd.DataFrame(X_med[s]).assign(label=y_med[s])
          for k, s in enumerate(sources)}
manifest = poisoning.build_manifest(shards)  # written when the data arrives
stored = {name: frame.copy() for name, frame in shards.items()}
tampered = stored["hospital_4"]
tampered.loc[tampered.index[tampered["label"] == 1][:10], "label"] = 0
provenance = poisoning.verify_manifest(manifest, stored)  # checked before training
display(plots.table(provenance, caption="Provenance check before training"))
assert provenance.set_index("shard").loc["hospital_4", "status"] == "modified"  # a hash
assert (provenance["status"] == "ok").sum() == len(shards) - 1  # no parameter changes these
section_seconds["medical"] = time.perf_counter() - t0

# %% [markdown]
# The manifest flags exactly the edited shard. It says nothing about hospital 2: its poison
# was there when the data arrived, and a hash only proves the data did not change *since*.
# Provenance and validation answer different questions; a pipeline needs both.
#
# ## Summary: five attacks, five defences
#
# Attack success is each domain's own measure: triggered digits read as 7, triggered scams
# let through, the target film's HR@10, scenario-3 frauds missed at a 1% review budget, and
# malignant patients diagnosed benign. Clean quality: test accuracy (image, NLP, medical),
# RMSE (recommender, lower is better) and ROC AUC (fraud). The last attack-success column is
# the attacker who knew the defence: in four domains out of five the defence did not stop
# them (image, NLP, recommender, fraud's validation); in the medical domain the checks capped
# the harm. Each rate's interval and evaluation set is printed in its section.

# %%
summary = pd.DataFrame([
    {"domain": d, "attack": a, "defence": df, **row} for d, a, df, row in [
        ("image", "BadNets trigger (3%)", "activation clustering + retrain", image_row),
        ("nlp", "trigger phrase (1%)", "leave-one-word-out + drop", nlp_row),
        ("recommender", "average attack (5%)", "anomaly detector + retrain", rec_row),
        ("fraud", "label flips + fabricated rows", "validation + sanitisation", fraud_row),
        ("medical", "compromised hospital", "per-source validation + RONI", medical_row),
    ]])
summary = summary.rename(columns={
    "asr_clean": "attack success: no attack", "asr_attacked": "attacked",
    "asr_defended": "defended", "q_clean": "quality: no attack", "q_attacked": "quality: attacked",
    "q_defended": "quality: defended"})
summary.insert(6, "adaptive attacker vs the defence", [
    image_adaptive, nlp_adaptive, hr_mimic_defended, 1 - replay_fraud["recall"],
    adaptive_medical["misdiagnosis"]])
display(plots.table(summary, caption="Attack success and clean quality before and after; the "
                    "adaptive attacker: 1% poison (image), a common-word trigger (NLP), mimic "
                    "profiles (recommender), replayed rows against validation only (fraud), "
                    "poison just inside RONI's tolerance (medical)"))
claims.claim("every defence reduces its attack (domains where it does not)",
             int((summary["defended"] >= summary["attacked"]).sum()), at_most=0)
fig = go.Figure([
    go.Bar(name=name, x=summary["domain"], y=summary[col], marker_color=plots.COLORS[color],
           text=[f"{v:.0%}" for v in summary[col]], textposition="outside")
    for name, col, color in [("no attack", "attack success: no attack", "baseline"),
                             ("attacked", "attacked", "attack"),
                             ("defended", "defended", "defended"),
                             ("adaptive attacker", "adaptive attacker vs the defence",
                              "accent")]])
fig.update_layout(barmode="group", yaxis_tickformat=".0%", yaxis_range=[0, 1.12],
                  yaxis_title="attack success", height=420,
                  title="Attack success per domain: no attack, attacked, defended, and the "
                  "attacker who knows the defence")
fig

# %%
print("seconds per section:", {k: round(v, 1) for k, v in section_seconds.items()})

# %% [markdown]
# ## Challenge · Poison past a neighbour-vote filter
#
# A vendor's diagnosis service trains a k-nearest-neighbour classifier (k = 5) on patient
# records that partner clinics contribute, and defends it with a popular sanitiser: before
# training, **a record is dropped when fewer than half of its 5 nearest records share its
# label** (`lab03.neighbour_vote_filter`). Flipping a patient's label does not get through:
# their neighbours outvote them. `lab03.filter_scenario(seed=...)` gives you the setting:
# `(X_train, y_train, X_targets, budget)`, 400 training records with 5 features, 20 class-1
# patients (`X_targets`) that you want diagnosed 0, and the number of records you may add.
# Your access: the training data and the filter's rule; no queries to the trained model.
#
# Write `poison_past_filter(X_train, y_train, X_targets, budget)` returning `(X_poison,
# y_poison)`: at most `budget` records, every feature within the range of the training data,
# labels 0 or 1. The check filters the poisoned set, trains the victim, and needs **at least
# `lab03.FILTER_TARGET_ASR` of the targets diagnosed 0** on each case (the grading uses
# patients and targets you have not seen).

# %%
def poison_past_filter(X_train, y_train, X_targets, budget):
    ### BEGIN SOLUTION
    X_targets = np.asarray(X_targets, dtype=float)
    per = max(1, budget // len(X_targets))  # copies per target: each other's neighbours
    X_poison = np.repeat(X_targets, per, axis=0)
    X_poison = X_poison + 1e-3 * np.random.default_rng(0).standard_normal(X_poison.shape)
    return X_poison, np.zeros(len(X_poison), dtype=int)
    ### END SOLUTION


# %%
poison_past_filter = check(lab03.POISON_PAST_FILTER, poison_past_filter)
### BEGIN HIDDEN TESTS
grade(lab03.POISON_PAST_FILTER, poison_past_filter)
### END HIDDEN TESTS

# %%
X_ch, y_ch, targets_ch, budget_ch = lab03.filter_scenario(seed=SEED + 1000)  # unseen by the check
naive_asr = lab03.filtered_attack_success(X_ch, y_ch, targets_ch, targets_ch,
                                          np.zeros(len(targets_ch), int))
X_p, y_p = poison_past_filter(X_ch, y_ch, targets_ch, budget_ch)
challenge_asr = lab03.filtered_attack_success(X_ch, y_ch, targets_ch, X_p, np.asarray(y_p))
n_targets = len(targets_ch)
print(f"targets diagnosed 0 after the filter: flipped-label copies of the targets "
      f"{stats.proportion(round(naive_asr * n_targets), n_targets):.2f}, your poison "
      f"{stats.proportion(round(challenge_asr * n_targets), n_targets):.2f} on "
      f"{n_targets} targets (goal {lab03.FILTER_TARGET_ASR:.0%})")
claims.claim("the filter stops the naive label flip (targets diagnosed 0)", naive_asr,
             at_most=0.2)
claims.claim("poison that vouches for itself gets through (targets diagnosed 0)",
             challenge_asr, at_least=lab03.FILTER_TARGET_ASR)

# %% [markdown]
# ## Reflection
#
# Answer each question in its cell; the rubric in the instructor's version gives the points.

# %% [markdown]
# ### POINTS: 3
# **1.** The backdoored digit reader lost at most two points of clean accuracy. Which test,
# run before deployment, would have revealed the backdoor, and what would it need to know?
#
# ### BEGIN SOLUTION
# Model answer: only a test with the trigger, or a search for one (trigger inversion, lab
# 08): clean-data accuracy cannot show a rule that fires on inputs the test set does not
# contain. A direct test needs the trigger (which the defender does not know); a search needs
# access to the model and a budget, and finds only triggers of the shape it looks for.
# Defenders therefore also inspect the data (this lab) and its provenance.
#
# Rubric (3 points): 1 point for "clean accuracy cannot reveal it" with the reason (the test
# set has no triggers); 1 point for a test that uses or searches for triggers; 1 point for
# what that test needs (the trigger, or model access and an assumption about its shape).
# ### END SOLUTION

# %% [markdown]
# ### POINTS: 3
# **2.** A 1% poison got past activation clustering. Why, and which defence of this lab or
# elsewhere would you put against that attacker, at what cost?
#
# ### BEGIN SOLUTION
# Model answer: the detector splits each class in two and flags a cluster only when it is
# separated and small but not tiny; 40 poisons among some 440 sevens did not form a cluster of
# their own (the measured recall above), yet were enough to teach the trigger. Options:
# spectral signatures, which rank every row (at the price of flagging a fixed share of every
# class, the low precision above); a model-level trigger search (lab 08); or training that
# limits the influence of any few examples (differential privacy, lab 05), at a cost in clean
# accuracy.
#
# Rubric (3 points): 1 point for the mechanism (too few poisons to form a cluster, with the
# measured recall); 1 point for a credible counter-measure; 1 point for its cost (false
# alarms, compute, or accuracy).
# ### END SOLUTION

# %% [markdown]
# ### POINTS: 3
# **3.** The fake-profile detector never saw a fake, and the mimic attacker still beat it.
# Which signal, outside the ratings themselves, would you add, and what would it cost honest
# new users?
#
# ### BEGIN SOLUTION
# Model answer: account age and history (a trust weight per account), rate limits on new
# accounts, and group signals (many recent accounts agreeing on one film within a short
# window). A copied profile has a real user's statistics, so no profile statistic separates
# it; signals about *who* rates and *when* do. Each penalises honest newcomers, whose ratings
# count less or later: a cold-start cost.
#
# Rubric (3 points): 1 point for explaining why profile statistics cannot catch a copied
# profile; 1 point for a signal outside the ratings; 1 point for its cost to honest users.
# ### END SOLUTION

# %% [markdown]
# ### POINTS: 3
# **4.** A hash manifest did not catch the compromised hospital. Which control in this lab
# did, how far did it hold against the hospital that poisoned just inside its tolerance, and
# which control would catch an insider who edited the data *before* the manifest?
#
# ### BEGIN SOLUTION
# Model answer: per-source validation and RONI caught the full attack, because its labels
# disagreed with the trusted set. Against the adaptive hospital they only capped the harm:
# it uploaded the largest poison that cost the trusted set less than two patients, and the
# misdiagnosis rate it left (measured above) is what the tolerance allows; a larger trusted
# set resolves smaller impacts. An edit before hashing is caught by neither hash nor source
# checks if it looks plausible: signed uploads at the source, separation of duties and audit
# logs.
#
# Rubric (3 points): 1 point for naming per-source validation and RONI; 1 point for "the
# checks cap the harm, they do not remove it" with the measured figure or the role of the
# trusted set's size; 1 point for a control against edits before the manifest.
# ### END SOLUTION

# %% [markdown]
# ## Further reading
#
# - T. Gu, B. Dolan-Gavitt and S. Garg, "BadNets: Identifying Vulnerabilities in the Machine
#   Learning Model Supply Chain", arXiv:1708.06733, 2017.
# - B. Chen et al., "Detecting Backdoor Attacks on Deep Neural Networks by Activation
#   Clustering", AAAI Workshop on Artificial Intelligence Safety, 2019.
# - B. Tran, J. Li and A. Madry, "Spectral Signatures in Backdoor Attacks", NeurIPS 2018.
# - K. Kurita, P. Michel and G. Neubig, "Weight Poisoning Attacks on Pre-trained Models",
#   ACL 2020; F. Qi et al., "ONION: A Simple and Effective Defense Against Textual Backdoor
#   Attacks", EMNLP 2021.
# - S. K. Lam and J. Riedl, "Shilling Recommender Systems for Fun and Profit", WWW 2004;
#   C. Williams, B. Mobasher and R. Burke, "Defending Recommender Systems: Detection of Profile
#   Injection Attacks", Service Oriented Computing and Applications, 2007.
# - C. Northcutt, L. Jiang and I. Chuang, "Confident Learning: Estimating Uncertainty in
#   Dataset Labels", JAIR 2021.
# - B. Nelson et al., "Misleading Learners: Co-opting Your Spam Filter", in *Machine Learning
#   in Cyber Trust*, Springer 2009 (RONI).
# - ART documentation: poisoning attacks and poison detection,
#   <https://adversarial-robustness-toolbox.readthedocs.io/>.
