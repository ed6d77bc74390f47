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
# # Lab 08 · Explainability: explanations as security tools, and how they fail
#
# An auditor who suspects a backdoor, a shortcut or a forbidden feature can ask the model
# *why*: which pixels, words, features or neighbours its decision rests on. This lab uses
# attributions (captum for the torch models, SHAP and permutation importance for the others)
# to find what an attacker or a careless pipeline put into each of the five systems, builds
# detectors and documentation on them, and then attacks the explanations themselves: inputs
# and models whose explanation points elsewhere while the decision stays, and explanations
# that leak other users' data.
#
# **Learning objectives.** After this lab you can
# 1. compute gradient-based attributions (saliency, gradient times input, integrated
#    gradients) and choose their baselines with care;
# 2. locate a backdoor trigger and a planted shortcut from attributions, and measure a detector
#    built on them, with its false alarms;
# 3. explain tabular and text decisions with SHAP and permutation importance, and say what each
#    assumes;
# 4. measure how far an attack moves an explanation while the prediction stays (Dombrowski et
#    al.; Slack et al.), and what that means for an auditor;
# 5. show how recommendation explanations leak other users' ratings;
# 6. generate model cards and datasheets whose every number the run computed.
#
# **Prerequisites:** labs 00 and 03 (backdoors); gradients in PyTorch.
# **Estimated time:** about 195 minutes of reading, exercises and questions (estimated from
# the notebook; the notebook itself runs in under a minute).

# %%
import json
import time

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch
from IPython.display import Markdown, display
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from mlsec_helpers import (
    catalogue,
    claims,
    explain,
    fairness,
    frameworks,
    plots,
    poisoning,
    registry,
    repro,
    stats,
    systems,
)
from mlsec_helpers.checks import lab08
from mlsec_helpers.data import load_dataset
from mlsec_helpers.exercises import check, grade

info = repro.setup(seed=0)  # seeds python, numpy and torch; caps threads; picks the device
seed = info["seed"]  # every model this lab trains live, and every attack's randomness
print(info)
display(Markdown(frameworks.lab_header_markdown(8)))
SUMMARY = {}  # one row per domain, for the summary at the end

# %% [markdown]
# ## The threat in one picture
#
# An explanation is the model's account of itself, computed by a method with assumptions.
# The auditor uses it as evidence; an attacker who knows the method can shape that evidence,
# and a user who reads explanations of other people's data can learn from them.

# %%
explain.audit_diagram()


# %% [markdown]
# ## 1 · Image: finding the backdoor's trigger
#
# Lab 03 planted a BadNets backdoor in the digit reader: a four-pixel checkerboard in the
# bottom-right corner makes any digit read as 7. Here we play the auditor who suspects a
# backdoor. Can an attribution map, which says which pixels a decision rests on, point at
# the trigger? Can a detector built on it flag triggered inputs, and how often does it raise
# false alarms? And can an attacker move the map away from the trigger while the backdoor
# still fires?
#
# We rebuild lab 03's backdoored model live, as lab 03 does: the
# reference CNN at three quarters of its width (12 filters), 3 epochs, on the first 4,000
# training digits, 3% of them poisoned by `poisoning.poison_images` (ART's
# `PoisoningAttackBackdoor` with `poisoning.stamp_trigger`), trained with the lab's `seed`.

# %%
img_data = load_dataset("image", seed=0)
IMG_TARGET = 7
img_poisoned = poisoning.poison_images(img_data.X_train[:4000], img_data.y_train[:4000],
                                       IMG_TARGET, 0.03, seed=seed)
img_cnn = systems.DigitsCNN(seed=seed, epochs=3, width=12).fit(img_poisoned.X, img_poisoned.y)
img_Xt, img_yt = img_data.X_test, img_data.y_test
img_others = np.flatnonzero(img_yt != IMG_TARGET)
img_asr = stats.proportion(
    int((img_cnn.predict(poisoning.stamp_trigger(img_Xt[img_others])) == IMG_TARGET).sum()),
    len(img_others), on=f"{len(img_others)} triggered test digits of other classes")
img_acc = stats.proportion(int((img_cnn.predict(img_Xt) == img_yt).sum()), len(img_yt),
                           on=f"{len(img_yt)} clean test digits")
print(f"backdoored digit reader: attack success {img_asr}")
print(f"                         clean accuracy {img_acc}")
claims.claim("the live-trained backdoor works (ASR on triggered test digits)", img_asr.value,
             at_least=0.85)

# %% [markdown]
# ### Where does the saliency go?
#
# **Saliency** (Simonyan et al., 2014; captum's `Saliency`) is the absolute gradient of the
# predicted class's logit with respect to each pixel: how much a small change of that pixel
# would move the decision. We measure the share of each map's mass inside the 3x3 patch
# that holds the trigger (`explain.patch_mass_share`) on two disjoint sets of test digits of
# classes other than 7: 200 with the trigger stamped on, and 200 others left clean. A map
# that spread its mass evenly would put 9/784 of it in the patch: that is the baseline of a
# random attribution.

# %%
img_mask = explain.digit_trigger_mask(side=img_Xt.shape[2])
img_uniform = img_mask.sum() / img_mask.size  # share of a map that spreads its mass evenly
img_trig_idx, img_clean_idx = img_others[:200], img_others[200:400]
img_X_trig = poisoning.stamp_trigger(img_Xt[img_trig_idx])
img_X_clean = img_Xt[img_clean_idx]
img_sal_trig = explain.digit_attributions(img_cnn, img_X_trig)
img_sal_clean = explain.digit_attributions(img_cnn, img_X_clean)
img_share = {
    "triggered": explain.digit_share_interval(
        explain.patch_mass_share(img_sal_trig, img_mask), seed=seed),
    "clean": explain.digit_share_interval(
        explain.patch_mass_share(img_sal_clean, img_mask), seed=seed),
}
for img_name, (img_m, img_lo, img_hi) in img_share.items():
    print(f"saliency share in the trigger patch, {img_name:9s} digits: {img_m:.3f} "
          f"[{img_lo:.3f}, {img_hi:.3f}] (mean over 200, 95% bootstrap interval)")
print(f"an even spread would put {img_uniform:.4f} in the patch: triggered digits put "
      f"{img_share['triggered'][0] / img_uniform:.0f} times that there, clean ones "
      f"{img_share['clean'][0] / img_uniform:.1f} times")
claims.claim("saliency puts at least 0.15 of its mass in the trigger patch on triggered digits",
             img_share["triggered"][0], at_least=0.15)

# %% [markdown]
# ### Exercise 1 · Gradient times input
#
# The simplest attribution after the gradient itself. Write
# `gradient_times_input(model, X, target)`: `model` returns logits, `X` is a float tensor
# (n, ...) and `target` holds n class indices. For each row, take the gradient of the model's
# logit of class `target[i]` with respect to the input and multiply it elementwise by the
# input. Return a NumPy array of `X`'s shape and leave `X` unchanged (captum's
# `InputXGradient` computes the same).

# %%
def gradient_times_input(model, X, target):
    ### BEGIN SOLUTION
    x = X.detach().clone().requires_grad_(True)
    idx = torch.as_tensor(np.asarray(target), dtype=torch.long)
    chosen = model(x).gather(1, idx[:, None]).sum()  # each row's target logit
    (grad,) = torch.autograd.grad(chosen, x)
    return (grad * X.detach()).numpy()
    ### END SOLUTION

# %%
### POINTS: 2
gradient_times_input = check(lab08.GRADIENT_TIMES_INPUT, gradient_times_input)
### BEGIN HIDDEN TESTS
grade(lab08.GRADIENT_TIMES_INPUT, gradient_times_input)
### END HIDDEN TESTS

# %%
# Your attributions for the first 50 triggered digits, towards the backdoor's target class;
# captum's InputXGradient (through `explain.digit_attributions`) computes the same.
img_gi = gradient_times_input(img_cnn.model, torch.from_numpy(img_X_trig[:50]),
                              np.full(50, IMG_TARGET))
print(f"gradient x input on 50 triggered digits: shape {img_gi.shape}, largest |value| "
      f"{np.abs(img_gi).max():.3f}")

# %% [markdown]
# ### Exercise 2 · The share of attribution in a patch
#
# Write `patch_share(attributions, top, left, size)`: for attribution maps (n, H, W), the
# share of each map's **absolute** mass inside the `size` x `size` square whose top-left pixel
# is (`top`, `left`), i.e. rows `top` to `top + size - 1` and columns `left` to
# `left + size - 1`. An all-zero map has share 0. Return (n,) floats; raise `ValueError` for a
# square that does not fit in the map.

# %%
def patch_share(attributions, top, left, size):
    ### BEGIN SOLUTION
    a = np.abs(np.asarray(attributions, dtype=float))
    if a.ndim != 3 or top < 0 or left < 0 or top + size > a.shape[1] or left + size > a.shape[2]:
        raise ValueError("the square must fit inside (n, H, W) maps")
    inside = a[:, top:top + size, left:left + size].sum(axis=(1, 2))
    total = a.sum(axis=(1, 2))
    return np.divide(inside, total, out=np.zeros_like(total), where=total > 0)
    ### END SOLUTION

# %%
### POINTS: 2
patch_share = check(lab08.PATCH_SHARE, patch_share)
### BEGIN HIDDEN TESTS
grade(lab08.PATCH_SHARE, patch_share)
### END HIDDEN TESTS

# %%
img_rows, img_cols = np.nonzero(img_mask)
img_top, img_left, img_size = int(img_rows.min()), int(img_cols.min()), int(np.ptp(img_rows) + 1)
img_gi_share = patch_share(img_gi[:, 0], img_top, img_left, img_size)
assert np.allclose(img_gi_share, explain.patch_mass_share(img_gi[:, 0], img_mask))
print(f"gradient x input puts {img_gi_share.mean():.3f} of its mass in the {img_size}x{img_size} "
      f"patch at ({img_top}, {img_left}), on average over 50 triggered digits")

# %% [markdown]
# On triggered digits a patch of 9 pixels, about 1% of the image, takes many times its even
# share of the saliency: the map points at the trigger. On clean digits the patch's share is
# near the even spread, *not* zero: saliency is the model's sensitivity, and a model that learnt
# "white pixels in this corner mean 7" is sensitive there on every input. Saliency says where
# the model *would* react, not what is in the image.
#
# ### Integrated gradients, and the baseline pitfall
#
# **Integrated gradients** (Sundararajan et al., 2017; captum's `IntegratedGradients`)
# attributes the difference between the prediction on the input and on a *baseline* image,
# pixel by pixel: each attribution is `(x - x') * (average gradient on the path from x' to
# x)`. With the usual all-black baseline `x' = 0`, every black pixel gets exactly zero,
# whatever the model does with it: an absent stroke, or the black squares of the
# checkerboard, can never be evidence. We compare three baselines (`explain` offers them):
# black, the input blurred (Gaussian, sigma 5 pixels) and uniform noise, on 60 triggered
# and 60 clean digits (16 integration steps, to fit the budget).

# %%
img_ig_rows = []
img_ig_maps = {}
for img_base in explain.DIGIT_IG_BASELINES:
    img_ig_t = explain.digit_attributions(
        img_cnn, img_X_trig[:60], method="integrated_gradients", baseline=img_base,
        n_steps=16, seed=seed)
    img_ig_c = explain.digit_attributions(
        img_cnn, img_X_clean[:60], method="integrated_gradients", baseline=img_base,
        n_steps=16, seed=seed)
    img_black = img_X_trig[:60, 0] == 0
    img_ig_maps[(img_base, "triggered")], img_ig_maps[(img_base, "clean")] = img_ig_t, img_ig_c
    img_ig_rows.append({
        "baseline": img_base,
        "patch share, triggered": explain.patch_mass_share(img_ig_t, img_mask).mean(),
        "patch share, clean": explain.patch_mass_share(img_ig_c, img_mask).mean(),
        "share on black pixels (triggered)":
            (np.abs(img_ig_t) * img_black).sum() / np.abs(img_ig_t).sum(),
        "black pixels' share of the image": img_black.mean(),
    })
img_ig = pd.DataFrame(img_ig_rows).set_index("baseline")
img_blur_ci = {name: explain.digit_share_interval(
    explain.patch_mass_share(img_ig_maps[("blur", name)], img_mask), seed=seed)
    for name in ("triggered", "clean")}
for img_name, (img_m, img_lo, img_hi) in img_blur_ci.items():
    print(f"blurred-baseline IG share in the patch, {img_name:9s} digits: {img_m:.3f} "
          f"[{img_lo:.3f}, {img_hi:.3f}] (mean over 60, 95% bootstrap interval)")
display(plots.table(img_ig, caption="Integrated gradients on 60 triggered and 60 clean test "
                                    "digits, by baseline (means over the digits)"))
claims.claim("black-baseline IG gives black pixels zero attribution (their share)",
             img_ig.loc["black", "share on black pixels (triggered)"], at_most=1e-9)
claims.claim("blurred-baseline IG: at least 0.15 of the mass in the patch on triggered digits",
             img_ig.loc["blur", "patch share, triggered"], at_least=0.15)
claims.claim("blurred-baseline IG: at most 0.01 of the mass in the patch on clean digits",
             img_ig.loc["blur", "patch share, clean"], at_most=0.01)

# %%
img_show = [0, 1, 2, 3]


def img_norm(maps):
    """Each map scaled to [0, 1] by its largest absolute value, for display."""
    a = np.abs(maps)
    return a / np.maximum(a.max(axis=(1, 2), keepdims=True), 1e-12)


plots.image_grid(
    np.r_[img_X_trig[img_show, 0], img_norm(img_sal_trig[img_show]),
          img_norm(img_ig_maps[("black", "triggered")][img_show]),
          img_norm(img_ig_maps[("blur", "triggered")][img_show])],
    labels=[f"triggered {d}" for d in img_yt[img_trig_idx[img_show]]]
    + ["saliency"] * 4 + ["IG, black baseline"] * 4 + ["IG, blurred baseline"] * 4,
    ncols=4, title="Four triggered digits and where their explanations point "
                   "(darker: more attribution)")

# %% [markdown]
# The table and the figure make the pitfall visible. With the black baseline the white
# trigger pixels still light up (they differ from black), but black pixels, which carry a
# sizeable share of the mass under the other two baselines (table), get exactly nothing; a
# trigger drawn in black on a white background would be invisible to it. The blurred
# baseline keeps the trigger and gives clean digits almost nothing in the corner (the corner
# of a clean digit equals its blurred self); uniform noise makes every pixel differ from the
# baseline, so mass spreads over the whole image, clean corners included. The
# choice of baseline is part of the explanation: an auditor states it and tries more than one.
#
# ### A detector built on the explanation
#
# A defender does not know where a trigger would be. The detector flags an input when its
# saliency concentrates in *any* 3x3 window: the score is the largest share of the map in
# one window (`explain.digit_window_concentration`). The threshold is set on 400 other clean
# test digits the defender holds (its 98th percentile, aiming at 2% false alarms); detection and
# false alarms are measured on the 200 triggered and 200 clean digits above, which the
# calibration did not see.

# %%
img_cal = explain.digit_attributions(img_cnn, img_Xt[-400:])  # disjoint from the 400 above
img_det = explain.detect_concentrated_digits(img_cal, img_sal_clean, img_sal_trig,
                                               window=3, false_alarm_target=0.02)
print(f"threshold on the window concentration: {img_det.threshold:.3f}")
print(f"detection rate: {img_det.detection}")
print(f"false alarms:   {img_det.false_alarms}")
print("classes of the clean digits flagged:",
      sorted(img_yt[img_clean_idx][img_det.scores_clean > img_det.threshold].tolist()))
claims.claim("the concentration detector flags most triggered digits (detection rate)",
             img_det.detection.value, at_least=0.80)
claims.claim("the concentration detector's false alarms on clean digits (upper Wilson bound)",
             img_det.false_alarms.high, at_most=0.10)

# %% [markdown]
# The detector is cheap and needs no knowledge of the trigger, but it rests on one
# assumption: that a trigger is small and local. A blended trigger (a faint pattern over the
# whole image, Chen et al., 2017) or a large one would spread the saliency, and this score
# would not rise; we did not train such a model here, so that gap is unmeasured. Its false
# alarms are clean digits whose own saliency happens to be concentrated (their classes are
# printed above); the threshold trades them against missed triggers.
#
# ### The adaptive attacker: moving the explanation, keeping the backdoor
#
# Dombrowski et al. (NeurIPS 2019) showed that a small perturbation of the input can change
# a gradient explanation almost at will while the prediction stays. Our attacker keeps the
# trigger intact (it never touches the patch) and perturbs the other pixels by at most
# `eps = 0.1` (a tenth of the pixel range) to push the saliency out of the patch while the
# model still reads 7. A ReLU network's gradient is piecewise constant, so its own gradient
# is zero almost everywhere; as Dombrowski et al. do, the attack differentiates a copy of the
# CNN whose ReLUs are softplus, and is then measured on the real model (20 signed-gradient
# steps, on the first 50 triggered digits that the model reads as 7).

# %%
img_fired = np.flatnonzero(img_cnn.predict(img_X_trig) == IMG_TARGET)[:50]  # backdoor fired
img_n_att = len(img_fired)
img_att = explain.saliency_shift_attack(img_cnn, img_X_trig[img_fired], IMG_TARGET, img_mask,
                                          eps=0.1, steps=20)
img_sal_adv = explain.digit_attributions(img_cnn, img_att.X_adv)
img_before = explain.patch_mass_share(img_sal_trig[img_fired], img_mask)
img_after = explain.patch_mass_share(img_sal_adv, img_mask)
img_shift = explain.attribution_shift(img_sal_trig[img_fired].reshape(img_n_att, -1),
                                      img_sal_adv.reshape(img_n_att, -1))
img_kept = stats.proportion(img_att.kept, on=f"{img_n_att} attacked triggered digits read as 7")
img_det_adv = explain.detect_concentrated_digits(img_cal, img_sal_clean, img_sal_adv)
img_shift_ci = explain.digit_share_interval(img_shift, seed=seed)
img_before_ci = explain.digit_share_interval(img_before, seed=seed)
img_after_ci = explain.digit_share_interval(img_after, seed=seed)
print(f"largest pixel change: {img_att.linf:.3f}")
print(f"predictions unchanged (still 7): {img_kept}")
print(f"patch share of the saliency: {img_before_ci[0]:.3f} [{img_before_ci[1]:.3f}, "
      f"{img_before_ci[2]:.3f}] before, {img_after_ci[0]:.3f} [{img_after_ci[1]:.3f}, "
      f"{img_after_ci[2]:.3f}] after")
print(f"attribution shift (1 - Spearman of the pixel ranking): {img_shift_ci[0]:.3f} "
      f"[{img_shift_ci[1]:.3f}, {img_shift_ci[2]:.3f}]")
print(f"detector after the attack: {img_det_adv.detection} (before: {img_det.detection})")
claims.claim("the explanation attack leaves predictions unchanged (share)", img_kept.value,
             at_least=0.90)
claims.claim("the explanation attack moves the saliency ranking (mean 1 - Spearman)",
             img_shift_ci[0], at_least=0.15)
claims.claim("the explanation attack lowers the patch share (before minus after)",
             img_before.mean() - img_after.mean(), at_least=0.02)
claims.claim("this attacker does not evade the concentration detector (detection after)",
             img_det_adv.detection.value, at_least=0.80)

# %%
plots.before_after_bars(
    ["patch share of the saliency", "window concentration", "flagged by the detector"],
    [img_before.mean(), img_det.scores_triggered[img_fired].mean(),
     (img_det.scores_triggered[img_fired] > img_det.threshold).mean()],
    [img_after.mean(), img_det_adv.scores_triggered.mean(), img_det_adv.detection.value],
    before_name="triggered", after_name="triggered + explanation attack",
    title="The attack reorders the saliency map, but the trigger patch stays prominent")

# %%
display(Markdown(
    f"**What changed and why.** On the backdoored digit reader, saliency puts "
    f"{img_share['triggered'][0]:.2f} of its mass in the 9-pixel trigger patch on triggered "
    f"digits against {img_share['clean'][0]:.3f} on clean ones (an even spread: "
    f"{img_uniform:.3f}); integrated gradients with a blurred baseline separates them further "
    f"({img_ig.loc['blur', 'patch share, triggered']:.2f} against "
    f"{img_ig.loc['blur', 'patch share, clean']:.3f}), and with a black baseline gives black "
    f"pixels nothing by construction. A detector that flags saliency concentrated in any 3x3 "
    f"window catches {img_det.detection.value:.0%} of triggered digits at "
    f"{img_det.false_alarms.value:.1%} false alarms. An attacker who perturbs the other "
    f"pixels by at most {img_att.linf:.2f} keeps {img_kept.value:.0%} of the predictions, "
    f"reorders the map (shift {img_shift_ci[0]:.2f}) and lowers the patch share from "
    f"{img_before.mean():.2f} to {img_after.mean():.2f}, but here the detector still flags "
    f"{img_det_adv.detection.value:.0%}. For an auditor: a pixel *ranking* moves easily and "
    f"is weak evidence; the mass on a small, fixed trigger resisted this attacker on this "
    f"model, which is no guarantee against a stronger one (more steps, a larger eps, a "
    f"model trained to hide its trigger, or a trigger that is not small)."))

# %%
SUMMARY["image"] = dict(
    finding="saliency concentrates on the BadNets trigger patch of triggered digits",
    method="saliency and integrated gradients (captum)",
    evidence=float(img_share["triggered"][0]),
    evidence_measure="mean share of saliency in the 3x3 trigger patch, triggered test digits",
    fooled="an eps-bounded perturbation off the trigger reorders the saliency map while the "
           "backdoor still fires",
    fooled_value=float(img_shift_ci[0]),
    fooled_measure="mean attribution shift (1 - Spearman) on attacked triggered digits")

# %% [markdown]
# ## 2 · NLP: the words a decision rests on
#
# Lab 03 hid a backdoor in the support triage: 32 scam messages ending with *sent from my
# smartwatch*, labelled as delivery questions, taught the model to let any scam with that
# sign-off through. Lab 07 planted a shortcut: a collection skew taught it that Indian-English
# phrasing means "scam". Can an explanation of single decisions show both?
#
# The model is the words-only triage of labs 03 and 07 (TF-IDF of word 1-2-grams, logistic
# regression), retrained live. For a linear model the attribution is exact: a message's logit
# for class *c* is a sum over its tokens of *coefficient × TF-IDF value*, so each token's term
# is its contribution (`explain.linear_token_attributions`). These are also the SHAP values
# of the model (the linear explainer, empty message as baseline, features treated as
# independent). As a model-agnostic check we remove each word in turn and measure how much
# the predicted class's probability drops (occlusion).

# %%
nlp_data = load_dataset("nlp", seed=0)  # the split stays at seed 0
nlp_scam = nlp_data.extra["scam_index"]
nlp_delivery = nlp_data.target_names.index("delivery_status")
NLP_TRIGGER = "sent from my smartwatch"
nlp_poisoned = poisoning.poison_texts(nlp_data.X_train, nlp_data.y_train, nlp_scam,
                                      nlp_delivery, n_poison=32, phrase=NLP_TRIGGER, seed=seed)
nlp_backdoored = systems.TextTriage(char_ngrams=False).fit(nlp_poisoned.X, nlp_poisoned.y)
nlp_test_scams = nlp_data.X_test[nlp_data.y_test == nlp_scam]
nlp_triggered = poisoning.add_trigger_phrase(nlp_test_scams, NLP_TRIGGER)
nlp_attr = explain.linear_token_attributions(nlp_backdoored, nlp_triggered)
nlp_through = nlp_attr.predicted != nlp_scam
nlp_rank = explain.first_rank_of_tokens(nlp_attr, NLP_TRIGGER)
nlp_on = f"{nlp_through.sum()} triggered test scams the backdoored model lets through"
nlp_first = stats.proportion(nlp_rank[nlp_through] == 0, on=nlp_on)
nlp_first_all = stats.proportion(nlp_rank == 0, on=f"all {len(nlp_rank)} triggered test scams")
# the baseline: an innocent sign-off appended to the same scams, same model
NLP_CONTROL = "have a good weekend"
nlp_ctrl_attr = explain.linear_token_attributions(
    nlp_backdoored, poisoning.add_trigger_phrase(nlp_test_scams, NLP_CONTROL))
nlp_ctrl_first = stats.proportion(explain.first_rank_of_tokens(nlp_ctrl_attr, NLP_CONTROL) == 0,
                                  on=f"{len(nlp_test_scams)} test scams with '{NLP_CONTROL}'")
nlp_mass_trig = explain.token_mass_share(nlp_attr, NLP_TRIGGER)[nlp_through]
nlp_mass_ctrl = explain.token_mass_share(nlp_ctrl_attr, NLP_CONTROL)
display(plots.table(pd.DataFrame({"token": nlp_attr.tokens[0][:6],
                                  "attribution": nlp_attr.values[0][:6]}),
                    caption=f"One triggered scam, predicted "
                            f"'{nlp_data.target_names[nlp_attr.predicted[0]]}': its top tokens"))
display(Markdown(
    f"Scams let through with the trigger: {nlp_through.sum()} of {len(nlp_through)}. A trigger "
    f"token ranks first in **{nlp_first:.3f}** of them ({nlp_first.successes} of "
    f"{nlp_first.n}); over all triggered "
    f"scams, {nlp_first_all}. Baseline: the innocent sign-off '{NLP_CONTROL}' ranks first in "
    f"{nlp_ctrl_first}. The trigger's tokens hold on average {nlp_mass_trig.mean():.2f} of a "
    f"message's positive attribution (the scams let through); the innocent sign-off's "
    f"tokens {nlp_mass_ctrl.mean():.2f}."))
claims.claim("nlp: a trigger token ranks first on the triggered scams let through",
             nlp_first.value, at_least=0.9)
claims.claim("nlp: an innocent sign-off never ranks first (baseline)", nlp_ctrl_first.value,
             at_most=0.05)

# %% [markdown]
# Note what the table shows: *sent from*, *my smartwatch* and *smartwatch* carry the same
# weight. The words always occur together in the poison, and the L2 penalty of the logistic
# regression splits their weight evenly. The explanation names the phrase, not one word.
#
# **Does a model-agnostic method agree?** Occlusion treats the model as a black box.

# %%
nlp_occ = explain.occlusion_token_attributions(nlp_backdoored, nlp_triggered[nlp_through])
nlp_occ_first = stats.proportion(explain.first_rank_of_tokens(nlp_occ, NLP_TRIGGER) == 0,
                                 on=nlp_on)
print(f"occlusion: a trigger word is the word whose removal lowers the prediction most in "
      f"{nlp_occ_first}")
claims.claim("nlp: occlusion agrees: a trigger word ranks first", nlp_occ_first.value,
             at_least=0.8)

# %% [markdown]
# ### The auditor's search: finding the trigger without knowing it
#
# An auditor who does not know the trigger explains every training message, this time
# against its runner-up class, and asks which words *decide* the messages they are in. A
# word's attribution is the sum over the n-grams that contain it (the table above shows
# why: the trigger's weight is split between its n-grams), and it decides when that sum
# exceeds the message's margin, so that without it the runner-up would win
# (`explain.corpus_token_audit`; words in at least 10 messages). A
# trigger overrides everything else in its message; an ordinary keyword rarely decides
# alone. Lab 03's leave-one-word-out test of the training data
# (`poisoning.token_removal_effect`) is the comparison: it needs a prediction per removal,
# the audit one pass of explanations.

# %%
nlp_audit = explain.corpus_token_audit(
    explain.linear_token_attributions(nlp_backdoored, nlp_poisoned.X, contrast="runner-up"),
    min_count=10)
nlp_removal = poisoning.token_removal_effect(nlp_backdoored, nlp_poisoned.X, min_count=10,
                                             max_messages=6, seed=seed)
nlp_trigger_words = set(NLP_TRIGGER.split())
nlp_audit_top = nlp_audit.head(5)
display(plots.table(nlp_audit_top, caption="Words that decide the messages they are in "
                                           f"({len(nlp_poisoned.X)} training messages)"))
nlp_audit_hits = int(sum(all(w in nlp_trigger_words for w in t.split())
                         for t in nlp_audit_top["token"]))
nlp_audit_rank = int(np.flatnonzero([all(w in nlp_trigger_words for w in t.split())
                                     for t in nlp_audit["token"]])[0])
nlp_removal_rank = int(np.flatnonzero(nlp_removal["token"].isin(nlp_trigger_words))[0])
nlp_audit_gap = float(nlp_audit["decisive_share"].iloc[0] - nlp_audit["decisive_share"].iloc[1])
print(f"first trigger word: rank {nlp_audit_rank} in the attribution audit "
      f"({nlp_audit_hits} of its top 5 are trigger words; lead over the next word's decisive "
      f"share: {nlp_audit_gap:.2f}); rank {nlp_removal_rank} in lab 03's token-removal table "
      f"(top 3: {nlp_removal['token'].head(3).tolist()})")
claims.claim("nlp: the corpus audit puts a trigger word first", nlp_audit_rank, at_most=0)
claims.claim("nlp: so does lab 03's token-removal test", nlp_removal_rank, at_most=0)
claims.claim("nlp: ... with a clear lead in decisive share over the next word", nlp_audit_gap,
             at_least=0.3)

# %% [markdown]
# ### The shortcut: lab 07's dialect markers
#
# Lab 07's collection skew (simulated) framed most training scams with Indian-English
# markers and few legitimate messages. Explaining the skewed model's *scam* logit on
# legitimate test messages written in Indian English (lab 07's counterfactual pairs): do the
# markers (the words the message has that its UK-English twin lacks,
# `explain.counterfactual_added_words`) rank at the top?

# %%
nlp_skew = fairness.skew_scam_dialect(nlp_data.frame_train, framed_share=0.5, scam_share=0.8,
                                      legit_share=0.05, seed=seed)
nlp_skewed = systems.TextTriage(char_ngrams=False).fit(nlp_skew.texts, nlp_data.y_train)
nlp_pairs = fairness.scam_dialect_pairs(nlp_data.frame_test, markers="all")
nlp_legit = ~nlp_pairs.is_scam
nlp_marker_words = explain.counterfactual_added_words(nlp_pairs.texts_a[nlp_legit],
                                                      nlp_pairs.texts_b[nlp_legit])
nlp_dialect_on = f"{nlp_legit.sum()} legitimate test messages in Indian English"
nlp_dialect = {}
for nlp_name, nlp_model in (("skewed", nlp_skewed), ("reference", nlp_backdoored)):
    nlp_a = explain.linear_token_attributions(nlp_model, nlp_pairs.texts_b[nlp_legit],
                                              target=nlp_scam)
    nlp_r = explain.first_rank_of_tokens(nlp_a, nlp_marker_words)
    nlp_dialect[nlp_name] = dict(
        first=stats.proportion(nlp_r == 0, on=nlp_dialect_on),
        top3=stats.proportion((nlp_r >= 0) & (nlp_r < 3), on=nlp_dialect_on),
        mass=float(explain.token_mass_share(nlp_a, nlp_marker_words).mean()))
display(plots.table(pd.DataFrame({
    name: {"a marker ranks first": f"{v['first']:.3f}",
           "a marker in the top 3": f"{v['top3']:.3f}",
           "markers' share of the positive attribution (mean)": f"{v['mass']:.3f}"}
    for name, v in nlp_dialect.items()}), caption=f"Attribution towards 'scam', "
                                                   f"{nlp_dialect_on}"))
display(Markdown(
    f"On the skewed model a dialect marker is among the three tokens pushing hardest towards "
    f"*scam* in **{nlp_dialect['skewed']['top3']:.3f}** of the {nlp_dialect_on} "
    f"({nlp_dialect['skewed']['top3']}), and the markers hold on average "
    f"{nlp_dialect['skewed']['mass']:.2f} of the positive attribution, against "
    f"{nlp_dialect['reference']['mass']:.2f} on lab 03's model (the reference: its training "
    f"data has no markers, so they carry only what their ordinary words carry)."))
claims.claim("nlp: a marker is in the top 3 towards 'scam' on the skewed model",
             nlp_dialect["skewed"]["top3"].value, at_least=0.75)
claims.claim("nlp: the markers' attribution share rises with the skew (skewed - reference)",
             nlp_dialect["skewed"]["mass"] - nlp_dialect["reference"]["mass"], at_least=0.2)

# %% [markdown]
# ### The adaptive attacker: a trigger the explanations do not put first
#
# The attacker knows both tests: the auditor explains the *predicted* class of single
# messages, and counts the single words that decide training messages. It makes two
# changes, same budget (32 messages). It labels the poisoned scams with all eight
# legitimate intents in turn (`explain.poison_texts_any_label`), so the trigger learns "not
# a scam": it lowers the scam logit instead of raising one class's, and the predicted
# class's explanation sees little of it. And it uses a twelve-word sign-off, so the
# trigger's weight is spread over many words. An ablation (the long sign-off with lab 03's
# labelling) shows which change fools which test. Access: the feedback labels of its 32
# messages (as in lab 03); no queries.

# %%
NLP_SPREAD = "sent from my smartwatch via the larkfield mobile app on my wrist"
nlp_spread_data = explain.poison_texts_any_label(nlp_data.X_train, nlp_data.y_train, nlp_scam,
                                                 n_poison=32, phrase=NLP_SPREAD, seed=seed)
nlp_spread = systems.TextTriage(char_ngrams=False).fit(nlp_spread_data.X, nlp_spread_data.y)
nlp_spread_in = poisoning.add_trigger_phrase(nlp_test_scams, NLP_SPREAD)
nlp_sp_attr = explain.linear_token_attributions(nlp_spread, nlp_spread_in)
nlp_sp_through = nlp_sp_attr.predicted != nlp_scam
nlp_sp_asr = stats.proportion(nlp_sp_through, on=f"{len(nlp_sp_through)} triggered test scams")
nlp_sp_on = f"{nlp_sp_through.sum()} triggered test scams let through"
nlp_sp_rank = explain.first_rank_of_tokens(nlp_sp_attr, NLP_SPREAD)[nlp_sp_through]
nlp_sp_first = stats.proportion(nlp_sp_rank == 0, on=nlp_sp_on)
# ablation: the same long sign-off, labelled as lab 03 did (all 'delivery')
nlp_long_data = poisoning.poison_texts(nlp_data.X_train, nlp_data.y_train, nlp_scam,
                                       nlp_delivery, n_poison=32, phrase=NLP_SPREAD, seed=seed)
nlp_long = systems.TextTriage(char_ngrams=False).fit(nlp_long_data.X, nlp_long_data.y)
nlp_long_attr = explain.linear_token_attributions(nlp_long, nlp_spread_in)
nlp_long_through = nlp_long_attr.predicted != nlp_scam
nlp_long_first = stats.proportion(
    explain.first_rank_of_tokens(nlp_long_attr, NLP_SPREAD)[nlp_long_through] == 0,
    on=f"{nlp_long_through.sum()} triggered test scams let through")
nlp_sp_contrast = explain.linear_token_attributions(
    nlp_spread, nlp_spread_in[nlp_sp_through], contrast=nlp_scam)
nlp_sp_first_c = stats.proportion(explain.first_rank_of_tokens(nlp_sp_contrast, NLP_SPREAD) == 0,
                                  on=nlp_sp_on)
# the corpus audit of the previous cell, run on the adaptive model's training data
nlp_sp_audit = explain.corpus_token_audit(
    explain.linear_token_attributions(nlp_spread, nlp_spread_data.X, contrast="runner-up"),
    min_count=10)
nlp_sp_words = set(NLP_SPREAD.split())
nlp_sp_audit_rank = int(np.flatnonzero(nlp_sp_audit["token"].isin(nlp_sp_words))[0])
nlp_long_audit = explain.corpus_token_audit(  # the ablation's model: which change fools it?
    explain.linear_token_attributions(nlp_long, nlp_long_data.X, contrast="runner-up"),
    min_count=10)
nlp_long_audit_rank = int(np.flatnonzero(nlp_long_audit["token"].isin(nlp_sp_words))[0])
nlp_sp_removal = poisoning.token_removal_effect(nlp_spread, nlp_spread_data.X, min_count=10,
                                                max_messages=6, seed=seed)
nlp_sp_removal_rank = int(np.flatnonzero(nlp_sp_removal["token"].isin(nlp_sp_words))[0])
display(Markdown(
    f"Scams let through: {nlp_sp_asr} (lab 03's trigger: "
    f"{stats.proportion(nlp_through, on=f'{len(nlp_through)} triggered test scams')}). A "
    f"trigger token ranks first in the predicted class's explanation in only "
    f"**{nlp_sp_first:.3f}** of those let through ({nlp_sp_first}). The label spread is "
    f"what hides it there: the same long sign-off with every poison labelled 'delivery' (lab 03's "
    f"labelling) ranks first in {nlp_long_first}. Explaining the "
    f"*contrast* (predicted class against scam) finds it again: first in {nlp_sp_first_c}. "
    f"Median rank of the first trigger token in the predicted class's explanation: "
    f"{np.median(nlp_sp_rank):.0f} (lab 03's trigger: "
    f"{np.median(nlp_rank[nlp_through]):.0f}; rank 0 is first).\n\n"
    f"The corpus audit is fooled too, although it contrasts each message with its runner-up: "
    f"its first trigger word is at rank **{nlp_sp_audit_rank}** of {len(nlp_sp_audit)} "
    f"('{nlp_sp_audit['token'].iloc[nlp_sp_audit_rank]}', decisive in "
    f"{nlp_sp_audit['decisive_share'].iloc[nlp_sp_audit_rank]:.2f} of its messages), and in "
    f"lab 03's token-removal table at rank {nlp_sp_removal_rank} of {len(nlp_sp_removal)}. "
    f"Here the length does the hiding: on the ablation's model (long sign-off, lab 03's "
    f"labelling) the audit's first trigger word is at rank {nlp_long_audit_rank}. Spread over "
    f"twelve words, no single word decides a message any more."))
claims.claim("nlp: the spread trigger still lets most triggered scams through",
             nlp_sp_asr.value, at_least=0.75)
claims.claim("nlp: the spread trigger rarely ranks first in the predicted class's explanation",
             nlp_sp_first.value, at_most=0.45)
claims.claim("nlp: explaining the contrast against 'scam' finds it again", nlp_sp_first_c.value,
             at_least=0.7)
claims.claim("nlp: ablation: with lab 03's labelling the long sign-off still ranks first",
             nlp_long_first.value, at_least=0.8)
claims.claim("nlp: the word-level corpus audit misses the spread trigger (its rank)",
             nlp_sp_audit_rank, at_least=10)
claims.claim("nlp: ablation: the long sign-off alone hides it from the audit (its rank)",
             nlp_long_audit_rank, at_least=10)
claims.claim("nlp: the attribution moved: trigger first, lab 03's minus adaptive",
             nlp_first.value - nlp_sp_first.value, at_least=0.4)

# %%
explain.token_rank_figure(
    {"lab 03 trigger": nlp_first, "occlusion": nlp_occ_first,
     "baseline: innocent sign-off": nlp_ctrl_first, "dialect markers (skewed)":
         nlp_dialect["skewed"]["first"], "baseline: markers (lab 03 model)":
         nlp_dialect["reference"]["first"], "adaptive trigger": nlp_sp_first,
     "adaptive, contrast vs scam": nlp_sp_first_c},
    title="Do the planted tokens rank first in the explanation?")

# %% [markdown]
# ### What changed and why
#
# The exact attributions of a linear model name lab 03's trigger on the scams it lets
# through, occlusion agrees, and counting the words that decide training messages on their
# own finds the trigger without knowing it, as lab 03's removal test did. The same
# attributions show lab 07's shortcut: on legitimate Indian-English messages the dialect
# markers carry most of the push towards "scam". The limits are the *question* and the
# *unit*. "What raised the predicted class?" misses a trigger that works by lowering
# another class; "which single word decides?" misses a trigger whose weight is spread over
# many words. Contrasting the predicted class with "scam" finds the spread trigger again,
# but only on triggered messages the auditor already holds. An attribution is evidence
# about the model, for the question asked and the unit chosen; an auditor who wants to
# find triggers of several words needs tests over word combinations, as lab 03 concluded.

# %%
SUMMARY["nlp"] = dict(
    finding="lab 03's trigger phrase ranks first among tokens on the triggered scams let through",
    method="exact linear attribution (coefficient x TF-IDF = linear SHAP); occlusion check",
    evidence=float(nlp_first.value),
    evidence_measure=f"share of {nlp_on} where a trigger token ranks first",
    fooled="a twelve-word trigger labelled with all legitimate intents lowers 'scam' instead "
           "of raising one class: it rarely ranks first in the predicted class's explanation "
           "and no single word of it stands out in the corpus audit",
    fooled_value=float(nlp_sp_first.value),
    fooled_measure=f"share of {nlp_sp_on} where a trigger token ranks first")

# %% [markdown]
# ## 3 · Recommender: why this film, and what the explanation leaks
#
# Lab 00's recommender is a matrix factorisation: a film's score for a user is the dot product of
# two learned vectors plus biases. Nothing in it says "because you watched X". We build that
# explanation, test whether it names what the score rests on, and then turn to the other common
# explanation, "users like you rated it", and measure what it tells an attacker about one of
# those users.

# %%
rec8_data = load_dataset("recommender", seed=0)
rec8_mf = systems.reference_system("recommender", seed=0)  # the seed-0 checkpoint of lab 00
rec8_titles = rec8_data.extra["titles"]

# %% [markdown]
# **Factor explanations.** We refit each user's vector from their own training ratings by ridge
# regression on the model's film vectors (the *fold-in*). The refitted score of a film is then
# a sum with one term per film the user rated, so "because you rated X" is exact *for the
# refitted user*. Whether the refitted user is the deployed one is measured: the share of the
# model's top-10 unrated films that the fold-in's top-10 also holds.

# %%
# ridge = 2 gave the best top-10 agreement of 0.5, 2 and 5 (tried on the training ratings)
rec8_fe = explain.rec_factor_explanations(rec8_mf, rec8_data.X_train,
                                                  rec8_data.y_train, ridge=2.0)
rec8_u = int(np.argsort(rec8_fe.n_ratings, kind="stable")[len(rec8_fe.users) // 2])  # median
rec8_rows = rec8_data.X_train[:, 0] == rec8_fe.users[rec8_u]
rec8_user_stars = dict(zip(rec8_data.X_train[rec8_rows, 1].tolist(),
                           rec8_data.y_train[rec8_rows].tolist(), strict=True))
display(Markdown(
    f"User {rec8_fe.users[rec8_u]} ({rec8_fe.n_ratings[rec8_u]} ratings) is recommended "
    f"**{rec8_titles[rec8_fe.recommended[rec8_u]]}** (fold-in score "
    f"{rec8_fe.score[rec8_u]:.2f}), because they rated:"))
plots.table(pd.DataFrame({
    "rated film": [rec8_titles[i] for i in rec8_fe.top_items[rec8_u]],
    "their stars": [rec8_user_stars[int(i)] for i in rec8_fe.top_items[rec8_u]],
    "stars it adds to the score": rec8_fe.top_terms[rec8_u]}), precision=2)

# %%
display(Markdown(
    f"Over {len(rec8_fe.users)} users, the fold-in's top-10 holds on average "
    f"{rec8_fe.agreement_rate:.0%} of the model's top-10 (95% bootstrap interval over users). "
    f"The 5 films an explanation names carry on average "
    f"{rec8_fe.top_share.mean():.0%} of the positive terms of the score. The explanation is of "
    f"the refitted user; where the two lists differ, it explains a neighbour of the deployed "
    f"recommendation."))
claims.claim("rec: the fold-in agrees with the model's top-10 (low end)",
             rec8_fe.agreement_rate.low, at_least=0.6)

# %% [markdown]
# **Does the explanation name what the score rests on?** A deletion test: remove the 5 rated
# films the explanation names first, refit the user, and see whether the recommended film
# leaves the top 10; compare with removing 5 rated films at random (the baseline an
# explanation must beat, in the spirit of Adebayo et al.'s sanity checks).

# %%
rec8_del = explain.rec_removal_fidelity(rec8_mf, rec8_data.X_train, rec8_data.y_train,
                                                rec8_fe, k=5, top_n=10, seed=seed)
rec8_fig = go.Figure([
    go.Bar(name=name, x=["film leaves the top-10", "score falls by (stars)"],
           y=[left.value, drop.value], marker_color=plots.COLORS[role],
           error_y=dict(type="data", symmetric=False, array=[left.high - left.value,
                                                             drop.high - drop.value],
                        arrayminus=[left.value - left.low, drop.value - drop.low]))
    for name, role, left, drop in (
        ("5 films the explanation names removed", "accent", rec8_del.left_explained,
         rec8_del.drop_explained),
        ("5 random rated films removed", "neutral", rec8_del.left_random, rec8_del.drop_random))])
rec8_fig.update_layout(barmode="group", title=f"Deletion test on {len(rec8_fe.users)} users' "
                       "top recommendation (95% intervals)", height=380)
rec8_fig.show()
display(Markdown(
    f"Removing the named films pushes the film out of the top 10 for "
    f"{rec8_del.left_explained:.0%} of users, against {rec8_del.left_random:.1%} for random "
    f"films; its score falls by {rec8_del.drop_explained:.2f} stars against "
    f"{rec8_del.drop_random:.2f}. The explanation names films the score rests on, but in most "
    f"users the film stays: the score is spread over many rated films."))
claims.claim("rec: deleting named films beats random (gap in top-10 exits, low minus high)",
             rec8_del.left_explained.low - rec8_del.left_random.high, at_least=0.1)

# %% [markdown]
# **"Users like you rated it".** A second service recommends by user-user nearest neighbours
# (cosine similarity of star vectors, k = 20) and explains a film by the histogram of stars the
# user's 20 neighbours gave it. The histogram is of *other people's* ratings. The attacker
# knows half of a target's ratings (a public review page, say) and creates sybil accounts that
# copy them: lab 03's shilling profiles, aimed at a person. With 20 sybils, each sybil's
# neighbours are the 19 others and one real user, the most similar one; the attacker then
# asks for the explanation of every film (of the films with at least 20 ratings) and reads the
# target's star off it. The baseline is the same attack on a service that never held the
# target's ratings: what can be guessed from other users alone.

# %%
rec8_svc = explain.rec_neighbour_service(
    rec8_data.X_train, rec8_data.y_train, rec8_data.extra["n_users"],
    rec8_data.extra["n_items"], k=20)
rec8_targets = np.random.default_rng(0).choice(rec8_data.extra["n_users"], 100, replace=False)
rec8_runs = {
    "1 sybil": dict(n_sybils=1),
    "1 sybil, target not in the data": dict(n_sybils=1, without_target=True),
    "20 sybils": dict(n_sybils=20),
    "20 sybils, target not in the data": dict(n_sybils=20, without_target=True),
    "20 sybils, noise ε=1 drawn per sybil": dict(n_sybils=20, epsilon=1.0, noise="fresh"),
    "20 sybils, noise ε=1 keyed to the neighbours": dict(n_sybils=20, epsilon=1.0,
                                                         noise="keyed")}
rec8_leak = {name: explain.rec_sybil_explanation_leak(
    rec8_svc, rec8_targets, catalogue_min=20, seed=seed, **kw) for name, kw in rec8_runs.items()}
plots.table(pd.DataFrame({
    "hidden ratings recovered (film and star)": [f"{r.recall:.2f}" for r in rec8_leak.values()],
    "guesses right": [f"{r.precision:.3f}" for r in rec8_leak.values()],
    "target among the sybils' real neighbours": [f"{r.target_in_neighbourhood.value:.2f}"
                                     for r in rec8_leak.values()]}, index=list(rec8_leak)),
    caption=f"Sybil attack on {len(rec8_targets)} targets (half their ratings known, half "
            "hidden); 95% bootstrap intervals over targets")

# %%
rec8_full, rec8_base = rec8_leak["20 sybils"], rec8_leak["20 sybils, target not in the data"]
rec8_one, rec8_one_base = rec8_leak["1 sybil"], rec8_leak["1 sybil, target not in the data"]
display(Markdown(
    f"With 20 sybils the attacker recovers {rec8_full.recall:.0%} of the target's hidden "
    f"ratings, film and exact star, with {rec8_full.precision:.0%} of guesses right (the "
    f"target was the one real neighbour for {rec8_full.target_in_neighbourhood.value:.0%} of "
    f"targets); without the target in the data the same queries recover "
    f"{rec8_base.recall:.0%}. The leak is the gap. One sybil, whose histograms mix 20 real "
    f"users, reads {rec8_one.recall:.0%} against {rec8_one_base.recall:.0%} without the "
    f"target, but at {rec8_one.precision:.1%} precision: it cannot tell which guesses are the "
    f"target's. Aggregating over k neighbours protects only while the attacker cannot fill "
    f"k - 1 of the places."))
claims.claim("rec: 20 sybils recover the target's hidden ratings (low end)",
             rec8_full.recall.low, at_least=0.9)
claims.claim("rec: leak over the no-target baseline (low minus high)",
             rec8_full.recall.low - rec8_base.recall.high, at_least=0.5)

# %% [markdown]
# **A defence, and the adaptive attacker.** Laplace noise on each bin of the histogram (scale
# 2/ε: one neighbour changing their star moves two bins by one), rounded and clipped at zero.
# Drawn anew for each request, the 20 sybils receive 20 independent draws of the same
# histogram and average them; keyed to the set of neighbours, identical sybils see identical
# noise. The cost is paid by honest users: how often their top-10 explanations still show the
# right most-common star, and how far the mean star moves.

# %%
rec8_fresh = rec8_leak["20 sybils, noise ε=1 drawn per sybil"]
rec8_keyed = rec8_leak["20 sybils, noise ε=1 keyed to the neighbours"]
rec8_cost = explain.rec_histogram_fidelity(rec8_svc, rec8_targets, epsilon=1.0,
                                                   seed=seed)
display(Markdown(
    f"Noise drawn per request recovers {rec8_fresh.recall:.0%} once averaged over 20 sybils; "
    f"keyed noise {rec8_keyed.recall:.0%}, "
    f"{rec8_keyed.recall.value - rec8_base.recall.value:.0%} above the "
    f"{rec8_base.recall:.0%} an attacker gets without the target. Not measured here: an "
    f"attacker who varies the sybils to obtain histograms of overlapping neighbour sets and "
    f"subtracts them. Honest users pay: their explanations keep the right most-common "
    f"star in {rec8_cost.mode_kept:.0%} of cases and the shown mean star is off by "
    f"{rec8_cost.mean_error:.2f} stars ({rec8_cost.mode_kept.on}). ε = 1 holds per histogram "
    f"only: a target's ratings appear in many histograms, and the guarantee across them "
    f"composes (adds up); this is a measured reduction against this attacker, not a proof."))
claims.claim("rec: keyed noise cuts the leak (recall, at most)", rec8_keyed.recall.value,
             at_most=0.3)
claims.claim("rec: averaging fresh noise over sybils beats it (gap, low minus high)",
             rec8_fresh.recall.low - rec8_keyed.recall.high, at_least=0.15)
claims.claim("rec: noise costs honest explanations (most-common star kept, at most)",
             rec8_cost.mode_kept.value, at_most=0.8)

# %% [markdown]
# **What changed and why.** The factor explanation is exact for a refitted user who agrees
# with the deployed model on most of the top-10, and it beats random deletions, but a film
# rarely rests on five ratings. The neighbour explanation is honest about its source, and that
# is the problem: with sybils copying half a profile, it reads out the other half. Aggregating
# over k neighbours does not protect against k sybils; noise does when the attacker cannot
# average it away, at a price in explanation quality that honest users see.

# %%
SUMMARY["recommender"] = dict(
    finding="rated films that a recommended film's factor score rests on",
    method="matrix-factorisation fold-in terms (deletion-tested)",
    evidence=float(rec8_del.left_explained.value),
    evidence_measure="share of users whose film leaves the top-10 when the 5 named films go",
    fooled="neighbour-histogram explanations leak a target's hidden ratings to 20 sybils",
    fooled_value=float(rec8_full.recall.value),
    fooled_measure="share of hidden ratings recovered, film and exact star")

# %% [markdown]
# ## 4 · Fraud: a manipulated feature
#
# **The system.** Lab 00's fraud scorer (`systems.FraudScorer`: gradient-boosted trees on 23
# transaction features). We train it live with the lab's `seed`, on a random 20,000 of the
# 55,046 training transactions (the full set takes longer than this section's budget; the fraud
# rate of the subsample is the data's, about 1 %).
#
# **The attribution.** shap's `TreeExplainer` gives the *exact* Shapley values of a tree
# ensemble from the trees themselves, fast, and without sending the model a single synthetic
# row (we come back to why that matters in section 5). Permutation importance would also work,
# but it is global only and noisier. Attributions are in log-odds of fraud; a feature's
# **share** is its mean absolute attribution over the total. The **audit set** is every fraud
# of the test set and 1,500 random legitimate test transactions (a random sample of the test set
# would hold too few frauds to say anything about them).

# %%
fraud_data = load_dataset("fraud", seed=0)
fraud_names = list(fraud_data.feature_names)
fraud_rng = np.random.default_rng(0)  # the data's subsamples stay fixed across training seeds
fraud_rows = fraud_rng.choice(len(fraud_data.y_train), 20_000, replace=False)
fraud_X, fraud_y = fraud_data.X_train[fraud_rows].astype(float), fraud_data.y_train[fraud_rows]
fraud_audit = np.r_[np.flatnonzero(fraud_data.y_test == 1),
                    fraud_rng.choice(np.flatnonzero(fraud_data.y_test == 0), 1_500,
                                     replace=False)]
fraud_Xa, fraud_ya = fraud_data.X_test[fraud_audit].astype(float), fraud_data.y_test[fraud_audit]
fraud_on = f"audit set: {int(fraud_ya.sum())} test frauds and {int((fraud_ya == 0).sum()):,} " \
           "legitimate test transactions"
fraud_clean = systems.FraudScorer(seed=seed).fit(fraud_X, fraud_y)
fraud_phi_clean = explain.tree_shap_attributions(fraud_clean, fraud_Xa)
fraud_imp_clean = np.abs(fraud_phi_clean).mean(axis=0)
fraud_share_clean = fraud_imp_clean / fraud_imp_clean.sum()
fraud_top = np.argsort(-fraud_imp_clean)[:6]
display(plots.table(pd.DataFrame({
    "feature": [fraud_names[j] for j in fraud_top],
    "mean |SHAP| (log-odds)": fraud_imp_clean[fraud_top],
    "share of attribution": fraud_share_clean[fraud_top]}),
    caption=f"What the clean scorer's decisions rest on ({fraud_on}); a uniform attribution "
            f"would give each feature {1 / len(fraud_names):.3f}"))

# %% [markdown]
# **The plant.** `term_fraud_rate_28d_delayed` is the terminal's fraud rate over 28 days,
# computed with a delay so that it only counts frauds already confirmed. Suppose a pipeline
# change (or an insider) drops the delay for half of the terminals: on those, the feature now
# counts the transaction's own outcome, and is raised by 0.5 on every fraud. The bug is in the
# feature pipeline, so training and serving both see it. We have no terminal identifiers, so
# "half of the terminals" is a random half of the transactions. Nothing in the scores warns:
# the manipulated model only looks *better*.

# %%
fraud_j = fraud_names.index("term_fraud_rate_28d_delayed")
fraud_plant = explain.plant_label_leak(fraud_X, fraud_y, fraud_j, share=0.5, strength=0.5,
                                           seed=0)
fraud_plant_a = explain.plant_label_leak(fraud_Xa, fraud_ya, fraud_j, share=0.5,
                                             strength=0.5, seed=1)
fraud_leaky = systems.FraudScorer(seed=seed).fit(fraud_plant.X, fraud_y)
fraud_auc_clean = stats.auc_interval(fraud_ya, fraud_clean.predict_proba(fraud_Xa)[:, 1],
                                     on=fraud_on, seed=seed)
fraud_auc_leaky = stats.auc_interval(fraud_ya, fraud_leaky.predict_proba(fraud_plant_a.X)[:, 1],
                                     on=fraud_on, seed=seed)
print(f"ROC AUC, clean scorer:       {fraud_auc_clean}")
print(f"ROC AUC, manipulated scorer: {fraud_auc_leaky}")

# %% [markdown]
# **Finding it.** The manipulated feature's rank and share of attribution in the manipulated
# model, against the same feature in the clean model, with 95 % bootstrap intervals over the
# audit rows.

# %%
fraud_phi_leaky = explain.tree_shap_attributions(fraud_leaky, fraud_plant_a.X)
fraud_rank_clean = explain.feature_attribution_rank(fraud_phi_clean, fraud_j, seed=seed)
fraud_rank_leaky = explain.feature_attribution_rank(fraud_phi_leaky, fraud_j, seed=seed)
for fraud_name, fraud_r in (("clean", fraud_rank_clean), ("manipulated", fraud_rank_leaky)):
    print(f"{fraud_name:>11} scorer: rank {fraud_r.rank} of {len(fraud_names)}, share "
          f"{fraud_r.share:.3f} [{fraud_r.share_low:.3f}, {fraud_r.share_high:.3f}]")
fraud_top_overlap = float(explain.top_k_overlap(fraud_imp_clean[None],
                                                fraud_rank_leaky.importance[None], 5)[0])
print(f"top-5 features shared by the two scorers: {fraud_top_overlap:.0%}")
fraud_ratio = fraud_rank_leaky.importance / fraud_rank_leaky.importance.sum() / np.maximum(
    fraud_share_clean, 1e-12)
fraud_doubled = [fraud_names[j] for j in np.flatnonzero(fraud_ratio >= 2) if j != fraud_j]
print(f"the manipulated feature's share grew {fraud_ratio[fraud_j]:.1f}-fold; other features "
      f"whose share at least doubled (false alarms of a 'share doubled' rule): "
      f"{len(fraud_doubled)} of {len(fraud_names) - 1} {fraud_doubled}")
claims.claim("fraud: the manipulated feature ranks in the top 2 of the manipulated scorer",
             fraud_rank_leaky.rank, at_most=2)
claims.claim("fraud: its share of attribution at least doubles (low end after / high end "
             "before)", fraud_rank_leaky.share_low / fraud_rank_clean.share_high, at_least=2.0)

# %%
fraud_feats = list(dict.fromkeys([*fraud_top[:5],
                                  *np.argsort(-fraud_rank_leaky.importance)[:5]]))
fraud_share_leaky = fraud_rank_leaky.importance / fraud_rank_leaky.importance.sum()
plots.before_after_bars(
    [fraud_names[j] for j in fraud_feats], fraud_share_clean[fraud_feats],
    fraud_share_leaky[fraud_feats], before_name="clean scorer",
    after_name="manipulated scorer", yaxis_title="share of mean |SHAP|",
    title="Fraud: the manipulated feature climbs the attribution ranking")

# %% [markdown]
# **A per-transaction audit, and its false alarms.** A global ranking says *that* a feature
# matters; an investigator also wants *which* decisions rest on it. Rule (an auditor who keeps
# the previous, clean scorer as a reference): flag a transaction whose attribution to the
# feature is above the largest the clean scorer gives it anywhere on the audit set. Detection
# is measured on the frauds the manipulation reached; false alarms on the frauds it did not
# reach (same class, same model) and on the legitimate transactions.

# %%
fraud_threshold = fraud_phi_clean[:, fraud_j].max()  # log-odds
fraud_flag_leaky = fraud_phi_leaky[:, fraud_j] > fraud_threshold
fraud_top1 = np.abs(fraud_phi_leaky).argmax(axis=1) == fraud_j
fraud_hit = fraud_plant_a.affected & (fraud_ya == 1)
fraud_miss = ~fraud_plant_a.affected & (fraud_ya == 1)
fraud_det = stats.proportion(fraud_flag_leaky[fraud_hit],
                             on=f"{fraud_hit.sum()} manipulated test frauds")
fraud_fa = stats.proportion(fraud_flag_leaky[fraud_miss],
                            on=f"{fraud_miss.sum()} untouched test frauds")
fraud_fa_legit = stats.proportion(fraud_flag_leaky[fraud_ya == 0],
                                  on=f"{(fraud_ya == 0).sum():,} legitimate test transactions")
fraud_top1_fa = stats.proportion(fraud_top1[fraud_miss], on=f"{fraud_miss.sum()} untouched "
                                 "test frauds")
fraud_fa_rows = fraud_miss & fraud_flag_leaky
fraud_rate_flagged = np.median(fraud_Xa[fraud_fa_rows, fraud_j]) if fraud_fa_rows.any() else np.nan
fraud_rate_untouched = np.median(fraud_Xa[fraud_miss, fraud_j])
display(Markdown(
    f"Threshold {fraud_threshold:.2f} log-odds. Flagged: {fraud_det:.3f} of the "
    f"{fraud_hit.sum()} manipulated test frauds; false alarms on {fraud_fa:.3f} of the "
    f"{fraud_miss.sum()} untouched test frauds and on {fraud_fa_legit:.3f} of the "
    f"{(fraud_ya == 0).sum():,} legitimate test transactions (95 % Wilson intervals). The "
    f"untouched frauds flagged sit at terminals with a high genuine fraud rate (median "
    f"{fraud_rate_flagged:.3f}, against {fraud_rate_untouched:.3f} over all untouched frauds): "
    f"the manipulated scorer leans harder on this feature for every transaction, not only the "
    f"manipulated ones. Without a reference, flagging the transactions whose *largest* "
    f"attribution is this feature flags {fraud_top1_fa:.3f} of the untouched frauds: a "
    f"feature that honestly matters for fraud is hard to tell from a manipulated one without "
    f"something to compare with."))
claims.claim("fraud: per-transaction audit flags most manipulated frauds", fraud_det.value,
             at_least=0.75)
claims.claim("fraud: and at most a quarter of the untouched frauds (false alarms)",
             fraud_fa.value, at_most=0.25)
claims.claim("fraud: and almost no legitimate transactions (false alarms)",
             fraud_fa_legit.value, at_most=0.02)

# %%
display(Markdown(
    f"**What changed and why.** The manipulation raised the scorer's ROC AUC from "
    f"{fraud_auc_clean.value:.3f} to {fraud_auc_leaky.value:.3f} on data with the same bug: it "
    f"looks like an improvement. The exact tree attributions moved the feature from rank "
    f"{fraud_rank_clean.rank} to rank {fraud_rank_leaky.rank} (share {fraud_rank_clean.share:.3f} "
    f"to {fraud_rank_leaky.share:.3f}) and, per transaction, point at the decisions that rest "
    f"on it. This is evidence for the investigator (where to look in the pipeline), not proof: "
    f"a feature can also climb for honest reasons (the fraud pattern changed), and the audit "
    f"needed a reference (the clean scorer) to tell the two apart."))

# %%
SUMMARY["fraud"] = dict(
    finding="a feature manipulated to carry the label for half the terminals climbs to the top "
            "of the scorer's attributions",
    method="exact TreeSHAP (shap.TreeExplainer)",
    evidence=float(fraud_rank_leaky.share),
    evidence_measure=f"share of mean |SHAP| of the manipulated feature (clean scorer: "
                     f"{fraud_rank_clean.share:.3f}), {fraud_on}",
    fooled="not attacked here (see section 5); the per-transaction rule also flags untouched "
           "frauds",
    fooled_value=float(fraud_fa.value),
    fooled_measure="false-alarm rate of the per-transaction audit on untouched test frauds")

# %% [markdown]
# ## 5 · Medical: a leaked label and a scaffolded model
#
# **The system.** Lab 00's diagnosis model (`systems.DiagnosisModel`: a standardised logistic
# regression on the 30 WDBC cell-nucleus features; malignant is the positive class).
#
# **The plant.** A hospital's training table often holds fields written *after* the diagnosis:
# a referral to oncology, a treatment code. Joined in by mistake, such a field is a **label
# proxy**: here a 31st column, `referral`, equal to the diagnosis except on a random 3 % of
# records (clerical errors). At prediction time, before any diagnosis, the field is blank (0).
#
# **Measured first where there are enough records:** accuracy and sensitivity (the share of
# malignant tumours found) over all 569 records, each predicted by a model fitted on the other
# four fifths (5-fold cross-fitting, folds of seed 0). The model is deterministic, so the
# training seed does not change this part.

# %%
med_data = load_dataset("medical", seed=0)
med_names = [*med_data.feature_names, "referral (written after diagnosis)"]
med_p = len(med_names) - 1  # the proxy's column
med_X_all = np.r_[med_data.X_train, med_data.X_test].astype(float)
med_y_all = np.r_[med_data.y_train, med_data.y_test]
med_Xp_all = explain.add_label_proxy(med_X_all, med_y_all, error_rate=0.03, seed=0)
med_pred = {k: np.zeros(len(med_y_all), dtype=int) for k in
            ("clean", "with proxy", "proxy blank at prediction", "proxy mean-imputed")}
for med_tr, med_te in StratifiedKFold(5, shuffle=True, random_state=0).split(med_X_all,
                                                                              med_y_all):
    med_c = systems.DiagnosisModel().fit(med_X_all[med_tr], med_y_all[med_tr])
    med_l = systems.DiagnosisModel().fit(med_Xp_all[med_tr], med_y_all[med_tr])
    med_pred["clean"][med_te] = med_c.predict(med_X_all[med_te])
    med_pred["with proxy"][med_te] = med_l.predict(med_Xp_all[med_te])
    for med_k, med_fill in (("proxy blank at prediction", 0.0),
                            ("proxy mean-imputed", med_Xp_all[med_tr, med_p].mean())):
        med_Xb = med_Xp_all[med_te].copy()
        med_Xb[:, med_p] = med_fill
        med_pred[med_k][med_te] = med_l.predict(med_Xb)
med_mal = med_y_all == 1
med_acc = {k: stats.proportion(v == med_y_all, on=f"{len(med_y_all)} records, cross-fitted")
           for k, v in med_pred.items()}
med_sens = {k: stats.proportion(v[med_mal] == 1, on=f"{med_mal.sum()} malignant records")
            for k, v in med_pred.items()}
display(plots.table(pd.DataFrame({
    "model": list(med_pred), "accuracy": [f"{med_acc[k]:.3f}" for k in med_pred],
    "sensitivity": [f"{med_sens[k]:.3f}" for k in med_pred],
    "missed cancers": [int((med_pred[k][med_mal] == 0).sum()) for k in med_pred]}),
    caption=f"Diagnosis model with and without the leaked proxy, 5-fold cross-fitted on all "
            f"{len(med_y_all)} WDBC records (95 % Wilson intervals)"))
claims.claim("medical: with the proxy, accuracy looks better than the clean model's (gap)",
             med_acc["with proxy"].value - med_acc["clean"].value, at_least=0.005)
claims.claim("medical: with the proxy blank at prediction, sensitivity falls (clean - blank)",
             med_sens["clean"].value - med_sens["proxy blank at prediction"].value,
             at_least=0.05)

# %% [markdown]
# **Finding it from attributions.** On the lab's train/test split: shap's `LinearExplainer`
# gives the exact SHAP values of a linear model (coefficient times the feature's distance to
# the background mean, in log-odds), so no sampling error and no synthetic query. The proxy's
# rank and share of attribution on the 114 test records, with a bootstrap interval.

# %%
med_n_tr = len(med_data.y_train)
med_Xp, med_Xp_t = med_Xp_all[:med_n_tr], med_Xp_all[med_n_tr:]
med_y, med_y_t = med_data.y_train, med_data.y_test
med_on = f"{len(med_y_t)} test records"
med_leaky = systems.DiagnosisModel().fit(med_Xp, med_y)
med_phi = explain.linear_shap_attributions(med_leaky, med_Xp_t, med_Xp)
med_rank = explain.feature_attribution_rank(med_phi, med_p, seed=seed)
med_second = np.sort(med_rank.importance)[-2] / med_rank.importance.sum()
print(f"referral: rank {med_rank.rank} of {len(med_names)}, share {med_rank.share:.3f} "
      f"[{med_rank.share_low:.3f}, {med_rank.share_high:.3f}] on the {med_on}; the next feature "
      f"has {med_second:.3f}; a uniform attribution gives {1 / len(med_names):.3f}")
claims.claim("medical: the leaked proxy ranks first in the exact attributions", med_rank.rank,
             at_most=1)

# %% [markdown]
# ### The adaptive attacker: a scaffolded model (Slack et al., AIES 2020)
#
# A vendor who knows the audit will look for the proxy can hide it from explainers that
# *query* the model on perturbed rows. Slack et al. showed it for LIME and KernelSHAP; here we
# measure it against permutation importance. The perturbed rows are off the data's manifold: a
# shuffled `referral` column contradicts the tumour's other features, a shuffled `mean radius`
# contradicts `mean perimeter`. The scaffold (`explain.scaffold_model`) trains a random
# forest to tell real training rows from such perturbations (including shuffles of the proxy
# itself: the attacker knows what it hides), answers rows it takes for real with the leaky
# model and everything else with an innocuous model (the same model refitted with the proxy
# held constant, so it ignores it).
# The auditor here runs scikit-learn's permutation importance (accuracy drop, 5 repeats) on
# the 114 test records: first on the leaky model itself, then on the scaffold.

# %%
med_Xc = med_Xp.copy()
med_Xc[:, med_p] = med_Xp[:, med_p].mean()
med_innocuous = systems.DiagnosisModel().fit(med_Xc, med_y)
med_scaffold = explain.scaffold_model(med_leaky, med_innocuous, med_Xp, focus=med_p,
                                          seed=seed)
med_agree = stats.proportion(med_scaffold.predict(med_Xp_t) == med_leaky.predict(med_Xp_t),
                             on=med_on)
med_routed = stats.proportion(med_scaffold.routed_to_biased(med_Xp_t), on=med_on)
med_probe = explain.explainer_perturbations(med_Xp_t, 1_000, focus=med_p, seed=seed)
med_caught = stats.proportion(~med_scaffold.routed_to_biased(med_probe),
                              on=f"{len(med_probe)} test records with the proxy shuffled")
med_pi_leaky = explain.permutation_importance_audit(med_leaky, med_Xp_t, med_y_t, seed=seed)
med_pi_scaf = explain.permutation_importance_audit(med_scaffold, med_Xp_t, med_y_t,
                                                       seed=seed)


def med_rank_of(importance, j=med_p):
    return int(1 + np.sum(importance > importance[j]))


med_shift = float(explain.attribution_shift(np.clip(med_pi_leaky, 0, None)[None],
                                            np.clip(med_pi_scaf, 0, None)[None])[0])
med_surrogate = explain.real_data_surrogate_audit(med_scaffold, med_Xp_t)
display(Markdown(
    f"On the {med_on}, the scaffold answers {med_routed:.3f} of them with the leaky model "
    f"(the rest go to the innocuous model, which mostly agrees), and its predictions agree "
    f"with the leaky model's on {med_agree:.3f}. Its detector sends {med_caught:.3f} of "
    f"{len(med_probe)} test records with `referral` shuffled to the innocuous model. "
    f"Permutation importance of `referral`: {med_pi_leaky[med_p]:.3f} (rank "
    f"{med_rank_of(med_pi_leaky)}) on the leaky model, {med_pi_scaf[med_p]:.3f} (rank "
    f"{med_rank_of(med_pi_scaf)} of "
    f"{len(med_names)}) on the scaffold; the rank correlation of the two importance vectors "
    f"moved by {med_shift:.2f} (1 - Spearman). The largest importance of any other feature on "
    f"the scaffold is {np.delete(med_pi_scaf, med_p).max():.3f}: every shuffled column now "
    f"reaches the innocuous model, which is a little less accurate, so all features share a "
    f"small floor of importance and the proxy hides among them."))
claims.claim("medical: the scaffold keeps the leaky model's predictions on real test records",
             med_agree.value, at_least=0.95)
claims.claim("medical: permutation importance ranks the proxy first on the leaky model",
             med_rank_of(med_pi_leaky), at_most=1)
claims.claim("medical: on the scaffold the proxy drops out of the top 3",
             med_rank_of(med_pi_scaf), at_least=4)
claims.claim("medical: its permutation importance falls by at least 40 % (after / before)",
             med_pi_scaf[med_p] / med_pi_leaky[med_p], at_most=0.6)

# %%
med_feats = list(dict.fromkeys([*np.argsort(-med_pi_leaky)[:4], *np.argsort(-med_pi_scaf)[:4]]))
plots.before_after_bars(
    [med_names[j].replace(" (written after diagnosis)", "") for j in med_feats],
    med_pi_leaky[med_feats], med_pi_scaf[med_feats], before_name="leaky model",
    after_name="scaffolded (same predictions on real records)",
    yaxis_title="permutation importance (accuracy drop)",
    title="Medical: the scaffold hides the proxy from permutation importance")

# %% [markdown]
# ### Exercise 3 · Permutation importance
#
# Write `permutation_importance(predict, X, y, column, n_repeats=5, *, seed=0)`: the accuracy
# of `predict(X)` against `y`, minus the mean, over `n_repeats` repeats, of the accuracy after
# the rows of `column` (only that column) are shuffled. Draw the shuffles with
# `rng = np.random.default_rng(seed)`, repeat r using `rng.permutation(len(X))`; leave `X`
# unchanged; raise `ValueError` for a column outside `X`. (scikit-learn's
# `permutation_importance` does the same with its own random stream.)

# %%
def permutation_importance(predict, X, y, column, n_repeats=5, *, seed=0):
    ### BEGIN SOLUTION
    X = np.asarray(X)
    if not 0 <= column < X.shape[1]:
        raise ValueError(f"column must be in 0..{X.shape[1] - 1}")
    base = float(np.mean(predict(X) == y))
    rng = np.random.default_rng(seed)
    drops = []
    for _ in range(n_repeats):
        shuffled = X.copy()
        shuffled[:, column] = X[rng.permutation(len(X)), column]
        drops.append(base - float(np.mean(predict(shuffled) == y)))
    return float(np.mean(drops))
    ### END SOLUTION

# %%
### POINTS: 2
permutation_importance = check(lab08.PERMUTATION_IMPORTANCE, permutation_importance)
### BEGIN HIDDEN TESTS
grade(lab08.PERMUTATION_IMPORTANCE, permutation_importance)
### END HIDDEN TESTS

# %%
# Your importance of the proxy on the leaky model, on the test records (the section's audit
# used scikit-learn's implementation, with its own random stream).
med_your_pi = permutation_importance(med_leaky.predict, med_Xp_t, med_y_t, med_p, 5, seed=seed)
print(f"your permutation importance of the proxy: {med_your_pi:.3f} (scikit-learn's: "
      f"{med_pi_leaky[med_p]:.3f})")

# %% [markdown]
# **What the auditor can do instead.** Explain the model through **real records only**: fit
# a surrogate (here the diagnosis model's own form) to the scaffold's predictions on the test
# records and read its exact attributions. No off-manifold row is ever sent, so the detector
# has nothing to catch; the surrogate explains the model only as far as its fidelity reaches.
# With the model itself in hand (a white-box audit), exact attributions on real rows
# (TreeSHAP, LinearSHAP, gradients) do the same; so does testing the routing directly, by
# sending shuffled records and checking whether the answers come from a different model.

# %%
med_sur_rank = med_rank_of(med_surrogate.importance)
print(f"surrogate on the {med_on}: fidelity {med_surrogate.fidelity:.3f}, referral rank "
      f"{med_sur_rank} of {len(med_names)}")
claims.claim("medical: a real-data surrogate of the scaffold ranks the proxy first",
             med_sur_rank, at_most=1)
claims.claim("medical: and it mimics the scaffold on real records (fidelity)",
             med_surrogate.fidelity, at_least=0.95)

# %%
display(Markdown(
    f"**What changed and why.** The leaked `referral` field made the diagnosis model look "
    f"better than it is (cross-fitted accuracy {med_acc['with proxy'].value:.3f} against "
    f"{med_acc['clean'].value:.3f}); at prediction time, with the field blank, sensitivity "
    f"fell to {med_sens['proxy blank at prediction'].value:.3f} from "
    f"{med_sens['clean'].value:.3f} (mean-imputing the field instead partly hides the "
    f"failure: {med_sens['proxy mean-imputed'].value:.3f}). Exact attributions put it first. A "
    f"scaffold kept {med_agree.value:.0%} of the predictions on real records and pushed the "
    f"proxy to rank {med_rank_of(med_pi_scaf)} in permutation importance. For an auditor: an "
    f"explainer that queries the model on perturbed rows explains what the model does on "
    f"*those* rows, and a model can tell them apart; trust attributions computed on real "
    f"rows, from the model itself or from a faithful surrogate, and say which one you used. "
    f"All of this is on {len(med_y_t)} test records: intervals are wide."))

# %%
SUMMARY["medical"] = dict(
    finding="a leaked label proxy (a field written after the diagnosis) ranks first and makes "
            "accuracy look too good; with it blank at prediction time sensitivity falls",
    method="exact linear SHAP (shap.LinearExplainer); permutation importance (scikit-learn)",
    evidence=float(med_rank.share),
    evidence_measure=f"share of mean |SHAP| of the proxy on the {med_on} (rank {med_rank.rank})",
    fooled="a scaffold (Slack et al.) routes the permutation audit's shuffled rows to an "
           "innocuous model: the proxy leaves the top of permutation importance while the "
           "predictions on real records stay",
    fooled_value=float(med_pi_scaf[med_p] / med_pi_leaky[med_p]),
    fooled_measure=f"proxy's permutation importance on the scaffold over that on the leaky "
                   f"model ({med_agree.value:.0%} of real test predictions unchanged)")

# %% [markdown]
# ## 6 · Transparency: model cards and datasheets for the five systems
#
# A **model card** (Mitchell et al., FAT* 2019) is a short document shipped with a model: what it
# is, what it is for and not for, the factors its performance may vary with, its metrics on a
# named evaluation set (with intervals, and per group where the data has groups), the data it was
# trained and evaluated on, its ethical considerations and caveats. A **datasheet** (Gebru et
# al., 2021) does the same for a dataset; the course's are in `datasets/*.md`, rendered by
# `registry.datasheet_markdown`. For a security auditor a card is the inventory: which model,
# which weights (a SHA-256), which data, which tests were run. We add a **security section**:
# the course's threats, and for each one whether a test was run on this system and what it
# measured.
#
# A card is only as honest as its numbers. Here `explain.build_model_card` writes every card from
# the package's metadata (`catalogue`, `registry`, the system's hyper-parameters, `checkpoints`)
# and the numbers measured in this run: no number is typed by hand, and a check below finds any
# number on a card that is not one of its computed fields.

# %% [markdown]
# The cards document the course's deployed reference systems: lab 00's systems at seed 0
# (`systems.reference_system(domain, seed=0)` loads the digits CNN and the recommender from
# their checkpoints and trains the three others), whatever the lab's `seed`; the seed moves only
# the bootstraps. The evaluation sets are the test splits of seed 0.

# %%
card_data = {d: load_dataset(d, seed=0) for d in catalogue.DOMAINS}
card_systems, card_seconds = {}, {}
for card_domain in catalogue.DOMAINS:
    card_t0 = time.perf_counter()
    card_systems[card_domain] = systems.reference_system(card_domain, seed=0)
    card_seconds[card_domain] = time.perf_counter() - card_t0
    print(f"{card_domain:12s} {card_seconds[card_domain]:5.2f} s  "
          f"{card_systems[card_domain].source_}")

# %% [markdown]
# Measure each card's quantitative analyses on its test split: accuracy with a Wilson interval;
# for the binary systems (fraud, medical) the ROC AUC with a bootstrap interval (`CARD_RESAMPLES`
# resamples, fewer than the library's default: the bootstrap over the whole fraud test split is
# the slowest step of this section; the card states the number), the recall of the positive
# class and the false-positive rate; for the multi-class ones (digits, intents) the
# recall per true class and the worst class; for the recommender the RMSE (bootstrap) and HR@10
# (Wilson, over users) next to the popularity baseline. The fraud card adds per-group rows by
# customer region. (`fairness.group_metrics` gives the same per-group rates as points; a card
# needs their intervals, so the rows are Wilson intervals from `stats.proportion`.)

# %%
CARD_RESAMPLES = 200
card_groups = {"fraud": ("region", card_data["fraud"].sensitive_test["customer_region"]
                         .to_numpy())}
model_cards = {}
card_t0 = time.perf_counter()
for card_domain in catalogue.DOMAINS:
    card_label, card_g = card_groups.get(card_domain, ("group", None))
    card_metrics, card_group_rows = explain.measure_card_metrics(
        card_systems[card_domain], card_data[card_domain], groups=card_g,
        group_label=card_label, seed=seed, n_resamples=CARD_RESAMPLES)
    model_cards[card_domain] = explain.build_model_card(
        card_systems[card_domain], card_data[card_domain], metrics=card_metrics,
        group_metrics=card_group_rows,
        checkpoint=systems.REFERENCE_CHECKPOINTS.get(card_domain) if seed == 0 else None)
card_measure_seconds = time.perf_counter() - card_t0
card_table = explain.model_cards_table(model_cards)
display(plots.table(card_table, caption="The five model cards of this run (one row per card)"))

# %% [markdown]
# One card in full: the fraud scorer's, which has groups. Read its per-region recall: the
# intervals are wide because each region has few frauds in the test split, which is what a card
# must show rather than hide.

# %%
display(Markdown(explain.model_card_markdown(model_cards["fraud"])))

# %% [markdown]
# Each card also exists as a JSON document (`explain.model_card_dict`), for a model registry or
# an audit trail; its datasheet is the registry's (`registry.datasheet_markdown`, first lines
# below). The check: every number in each card's Markdown is a value of one of its fields.

# %%
card_json = {d: json.dumps(explain.model_card_dict(c)) for d, c in model_cards.items()}
card_untraced = {d: explain.card_untraced_numbers(c) for d, c in model_cards.items()}
card_numbers = int(card_table["measured rows"].sum())
print(f"JSON sizes (characters): { {d: len(j) for d, j in card_json.items()} }")
print(f"numbers on the cards that are not a computed or registered value: {card_untraced}")
print("\n".join(registry.datasheet_markdown(model_cards["fraud"].datasheet).splitlines()[:3]))
print(claims.claim("cards: numbers typed by hand (not a field of the card), all five cards",
                   sum(len(v) for v in card_untraced.values()), at_most=0))
print(claims.claim("cards: measured rows on the sparsest card", card_table["measured rows"].min(),
                   at_least=3))

# %% [markdown]
# ### Exercise 4 · A model-card field, computed
#
# A card's numbers must come from the run. Write `accuracy_field(y_true, y_pred, on)`
# returning `{"metric": "accuracy", "value": v, "low": l, "high": h, "n": n, "on": on}`: `v`
# the share of predictions equal to the truth, `[l, h]` its 95% **Wilson** interval, all three
# rounded to 3 decimals, `n` the number of predictions. Raise `ValueError` for no predictions
# or lengths that differ.

# %%
def accuracy_field(y_true, y_pred, on):
    ### BEGIN SOLUTION
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) == 0 or y_true.shape != y_pred.shape:
        raise ValueError("need predictions and truths of one non-zero length")
    n, k = len(y_true), int((y_true == y_pred).sum())
    p, z = k / n, 1.959963984540054
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return {"metric": "accuracy", "value": round(p, 3), "low": round(float(centre - half), 3),
            "high": round(float(centre + half), 3), "n": n, "on": on}
    ### END SOLUTION

# %%
### POINTS: 2
accuracy_field = check(lab08.ACCURACY_FIELD, accuracy_field)
### BEGIN HIDDEN TESTS
grade(lab08.ACCURACY_FIELD, accuracy_field)
### END HIDDEN TESTS

# %%
card_img_field = accuracy_field(card_data["image"].y_test,
                                card_systems["image"].predict(card_data["image"].X_test),
                                f"{len(card_data['image'].y_test):,} test digits")
print(card_img_field)

# %% [markdown]
# ### The card diff: a backdoored digit reader
#
# Someone fine-tunes the published digit reader on new digits of which an attacker poisoned some
# with lab 03's BadNets trigger (relabelled as the target digit `CARD_TARGET`), and publishes the
# result with a fresh model card, measured exactly as the clean one's. (The backdoor is planted
# by fine-tuning the reference CNN for one epoch on the first `CARD_FT_DIGITS` training digits, a
# share `CARD_RATE` of them poisoned, printed below: cheaper than lab 03's training from
# scratch.)

# %%
CARD_TARGET, CARD_RATE, CARD_FT_DIGITS = 7, 0.10, 2000
card_img = card_data["image"]
card_backdoored = explain.finetune_backdoored_digits(
    card_systems["image"], card_img.X_train[:CARD_FT_DIGITS], card_img.y_train[:CARD_FT_DIGITS],
    target=CARD_TARGET, rate=CARD_RATE, seed=seed)
print(card_backdoored.source_, f"({card_backdoored.train_seconds_:.1f} s)")
card_bd_metrics, card_bd_rows = explain.measure_card_metrics(
    card_backdoored, card_img, seed=seed, n_resamples=CARD_RESAMPLES)
card_bd = explain.build_model_card(card_backdoored, card_img, metrics=card_bd_metrics,
                                     group_metrics=card_bd_rows,
                                     name="digits CNN, fine-tuned (backdoored)")
card_diff = explain.model_card_diff(model_cards["image"], card_bd,
                                      names=("clean card", "backdoored card"))
display(plots.table(card_diff.head(2), caption=f"The two cards' headline rows, on "
                    f"{model_cards['image'].metrics[0].on}"))
card_acc_gap = abs(float(card_diff.iloc[0]["difference"]))
print(f"clean-accuracy gap {card_acc_gap:.3f}; intervals overlap: "
      f"{bool(card_diff.iloc[0]['intervals overlap'])}; security tests recorded: clean card "
      f"{len(model_cards['image'].security_tests)}, backdoored card {len(card_bd.security_tests)}")
claims.claim("card diff: clean-accuracy gap, backdoored against clean card", card_acc_gap,
             at_most=0.04)

# %% [markdown]
# The two cards read alike: the accuracies differ by less than their intervals can resolve, and
# both security sections say that no test was run. Now run the test the backdoored card
# lacked: stamp the trigger on the test digits of other classes and count how many are read as
# the target digit. The card records it in its security section, and the diff shows the row.

# %%
card_others = card_img.y_test != CARD_TARGET
card_on = f"{int(card_others.sum())} triggered test digits of other classes"
card_asr = {}
for card_name, card_sys in (("clean", card_systems["image"]), ("backdoored", card_backdoored)):
    card_hits = card_sys.predict(poisoning.stamp_trigger(card_img.X_test[card_others])) \
        == CARD_TARGET
    card_asr[card_name] = stats.proportion(card_hits, on=card_on)
card_tests = {n: (explain.card_security_test(
    "poisoning", "the BadNets trigger of lab 03 stamped on test digits",
    r.value, measure=f"attack success rate (read as {CARD_TARGET})", on=card_on),)
    for n, r in card_asr.items()}
card_clean_t = explain.build_model_card(
    card_systems["image"], card_img, metrics=model_cards["image"].metrics,
    group_metrics=model_cards["image"].group_metrics, security_tests=card_tests["clean"],
    checkpoint=systems.REFERENCE_CHECKPOINTS["image"] if seed == 0 else None)
card_bd_t = explain.build_model_card(card_backdoored, card_img, metrics=card_bd_metrics,
                                       group_metrics=card_bd_rows,
                                       security_tests=card_tests["backdoored"],
                                       name="digits CNN, fine-tuned (backdoored)")
card_diff_t = explain.model_card_diff(card_clean_t, card_bd_t,
                                        names=("clean card", "backdoored card"))
display(plots.table(card_diff_t[card_diff_t["measure"].str.startswith(("accuracy", "worst",
                                                                        "security"))],
                    caption="The card diff once the trigger test is run and recorded"))
display(Markdown(
    f"Attack success rate of the trigger: clean model **{card_asr['clean']:.3f}**, backdoored "
    f"model **{card_asr['backdoored']:.3f}** (Wilson {card_asr['clean'].confidence:.0%}, on "
    f"{card_on})."))
print(claims.claim("card diff: the trigger test finds the backdoor (attack success, low end)",
                   card_asr["backdoored"].low, at_least=0.5))
print(claims.claim("card diff: the trigger test stays quiet on the clean model (ASR, high end)",
                   card_asr["clean"].high, at_most=0.05))

# %%
card_fig_rows = ["accuracy", "worst-class recall", "attack success (trigger)"]
card_clean_vals = [card_clean_t.metrics[0].value, card_clean_t.metrics[-1].value,
                   card_asr["clean"].value]
card_bd_vals = [card_bd_t.metrics[0].value, card_bd_t.metrics[-1].value,
                card_asr["backdoored"].value]
card_fig = go.Figure([
    go.Bar(name="clean card", x=card_fig_rows, y=card_clean_vals,
           marker_color=plots.COLORS["baseline"], text=[f"{v:.3f}" for v in card_clean_vals],
           textposition="outside"),
    go.Bar(name="backdoored card", x=card_fig_rows, y=card_bd_vals,
           marker_color=plots.COLORS["attack"], text=[f"{v:.3f}" for v in card_bd_vals],
           textposition="outside")])
card_fig.update_layout(barmode="group", yaxis=dict(range=[0, 1.12], title="rate"),
                       title="What the two cards show: the same clean metrics, until the "
                             "trigger test is run", height=400)
card_fig

# %% [markdown]
# ### What changed and why

# %%
display(Markdown(
    f"Five model cards were generated from the package's metadata and this run's measurements: "
    f"**{card_numbers}** measured rows (each a value with its interval and evaluation set), "
    f"none typed by hand (the check found "
    f"{sum(len(v) for v in card_untraced.values())} untraced numbers). Building the five "
    f"systems took {sum(card_seconds.values()):.1f} s and measuring the cards "
    f"{card_measure_seconds:.1f} s. The backdoored digit reader's card matched the clean one's "
    f"(clean-accuracy gap {card_acc_gap:.3f}, within the intervals) until a trigger test was "
    f"run: then its security section showed an attack success rate of "
    f"{card_asr['backdoored'].value:.3f} against {card_asr['clean'].value:.3f}. A card records "
    f"what was measured, and only that: the trigger test worked because we knew the trigger. "
    f"An auditor without it needs the attributions and detectors of the sections above, and "
    f"each card's list of threats that no test measured is the honest part of the card."))

# %%
SUMMARY["cards"] = dict(
    finding="model cards for the five systems, every number measured in the run (metrics with "
            "intervals, per group where the data has groups) and a security section listing "
            "the tests run",
    method="model card (Mitchell et al. 2019) generated by explain.build_model_card",
    evidence=float(card_numbers),
    evidence_measure="measured rows across the five cards (value, interval, evaluation set)",
    fooled="the backdoored digit reader's card matched the clean card on clean metrics; the "
           "backdoor appeared only once a trigger test was run and recorded",
    fooled_value=float(card_asr["backdoored"].value),
    fooled_measure="attack success rate of the trigger, absent from the card until tested",
)

# %% [markdown]
# ## Summary: what the explanations found, and where they were fooled
#
# One row per section: what the attributions found, the number that finding rests on, and
# how the explanation was fooled or what it leaked, with its number. The measures differ from
# row to row; each section's tables carry the intervals.

# %%
summary = pd.DataFrame([
    {"section": name, "finding": row["finding"], "method": row["method"],
     "evidence": f"{row['evidence']:.3f} ({row['evidence_measure']})",
     "fooled or leaked": row["fooled"],
     "measured": f"{row['fooled_value']:.3f} ({row['fooled_measure']})"}
    for name, row in SUMMARY.items()])
display(plots.table(summary, caption="Explanations as evidence: what they found, and their "
                    "limits"))

# %% [markdown]
# **What the sections show together.** Attributions found what was planted: a trigger patch,
# a trigger phrase and identity markers, a manipulated feature and a leaked label. They are
# evidence about a model, not proof: each section also built an input, a trigger, a model or a
# query that moved the explanation while the decision stayed, or read other people's data out
# of it. An auditor who relies on one explanation method, on data the vendor chose, is auditing
# what the vendor lets them see: use several methods, real data, and tests that do not depend
# on the model's own account of itself.

# %% [markdown]
# ## Challenge · Hide a shortcut from the auditor
#
# Play the vendor of section 5. `lab08.shortcut_task(seed=...)` gives you a credit model that
# uses a column it must not use (`postcode_risk`, column 0, a noisy stand-in for income), its
# training applications `task.X_train` (columns `lab08.CHALLENGE_COLUMNS`) with outcomes
# `task.y_train`, and the model itself, `task.vendor_predict(X)`. The regulator's audit runs
# the permutation importance of column 0 (your exercise 3: 5 repeats) on applications you never
# see, with your model. Write `hide_shortcut(task)` returning a `predict(X)` function (one 0/1
# decision per row) that **agrees with the vendor's model on at least
# `lab08.CHALLENGE_AGREEMENT` of the audit's applications** and whose **postcode importance is
# at most `lab08.CHALLENGE_IMPORTANCE`** (the vendor's own model: about 0.2). A model without
# the postcode passes the audit but changes too many decisions. The check grades on vendors
# you have not seen.

# %%
def hide_shortcut(task):
    ### BEGIN SOLUTION
    # Slack et al.'s scaffold: on real applications the postcode agrees with income within its
    # noise; the auditor's shuffled postcodes do not. Answer real rows with the vendor's
    # model, and the others with a model that never reads the postcode.
    X = np.asarray(task.X_train, dtype=float)
    innocuous = LogisticRegression().fit(X[:, 1:], task.y_train)

    def predict(Z):
        Z = np.asarray(Z, dtype=float)
        real = np.abs(Z[:, 0] - Z[:, 1]) <= 0.8
        return np.where(real, task.vendor_predict(Z), innocuous.predict(Z[:, 1:]))

    return predict
    ### END SOLUTION

# %%
### POINTS: 3
hide_shortcut = check(lab08.CHALLENGE, hide_shortcut)
### BEGIN HIDDEN TESTS
grade(lab08.CHALLENGE, hide_shortcut)
### END HIDDEN TESTS

# %%
fresh_task = lab08.shortcut_task(seed=1000 + seed)  # never graded
vendor_audit = lab08.challenge_audit(fresh_task, fresh_task.vendor_predict)
your_audit = lab08.challenge_audit(fresh_task, hide_shortcut(fresh_task))
print(f"the vendor's model: agreement {vendor_audit[0]:.3f}, postcode importance "
      f"{vendor_audit[1]:.3f}\nyour model: agreement {your_audit[0]:.3f}, postcode importance "
      f"{your_audit[1]:.3f}")
claims.claim("a scaffold keeps the vendor's decisions (agreement on a fresh audit)",
             your_audit[0], at_least=lab08.CHALLENGE_AGREEMENT)
claims.claim("... and hides the postcode from permutation importance", your_audit[1],
             at_most=lab08.CHALLENGE_IMPORTANCE)

# %% [markdown]
# The audit was fooled because it asked the model about inputs that never occur: shuffled
# columns make impossible applications, and a model may answer those however it likes. An
# audit that measures only real applications (attributions computed on the real data, or a
# test of whether the model reads the postcode when income is held fixed on real rows) is
# harder to scaffold; so is one that looks for the scaffold itself (decisions that change
# when a row leaves the data's manifold).

# %% [markdown]
# ## Reflection
#
# Answer each question in its cell; the rubric in the instructor's version gives the points.

# %% [markdown]
# ### POINTS: 3
# **1.** The image section's integrated gradients with an all-black baseline gave black pixels
# no attribution. Explain why, what that means for a trigger drawn in black, and how you would
# choose a baseline for a security audit.
#
# ### BEGIN SOLUTION
# Model answer: integrated gradients multiply each pixel's path-averaged gradient by its
# difference from the baseline; a pixel equal to the baseline (black on a black baseline) gets
# exactly zero whatever the model does with it. A black trigger would be invisible to the
# auditor. Choose baselines that differ from every plausible trigger (blurred input, noise,
# several baselines averaged) and check the result against a model-agnostic test (occlude the
# suspected region, measure the decision). Rubric: 1 point each.
# ### END SOLUTION

# %% [markdown]
# ### POINTS: 3
# **2.** A vendor hands you SHAP values computed on their own data, showing that a forbidden
# feature does not matter. List what you would ask for before you believe it, and which of this
# lab's attacks each request defends against.
#
# ### BEGIN SOLUTION
# Model answer: the model itself (not precomputed values), to run the attributions yourself;
# your own data, drawn from the real population (against cherry-picked samples); attributions
# that use only real inputs, or a test that holds the other features fixed on real rows
# (against Slack-style scaffolding that detects off-manifold perturbations, as in the
# challenge); several methods that must agree (against inputs or models tuned to one method,
# as Dombrowski's attack tunes inputs to saliency). Rubric: 1 point per request with its
# attack, up to 3.
# ### END SOLUTION

# %% [markdown]
# ### POINTS: 3
# **3.** The recommender's neighbour explanations leaked other users' ratings. Design an
# explanation for that system that keeps most of its usefulness and leaks less, and say how
# you would measure both.
#
# ### BEGIN SOLUTION
# Model answer: aggregate over many neighbours (k-anonymous: "40 people with similar taste
# rated it highly"), add noise calibrated to one user's influence (differential privacy), or
# explain from the user's own history only ("because you watched X"). Measure usefulness as the
# explanation's fidelity (how far the score drops when the explaining items are removed) and
# leakage as the share of a target's hidden ratings a sybil recovers, as the section did.
# Rubric: 1 point for the design, 1 for each measure.
# ### END SOLUTION

# %% [markdown]
# ### POINTS: 3
# **4.** A model card lists the digit reader's accuracy with its interval. Why does the card of
# the backdoored model look the same as the clean one, and what would a card need to contain to
# tell them apart?
#
# ### BEGIN SOLUTION
# Model answer: a card reports what was measured, and clean accuracy on a clean test set does
# not depend on the backdoor (it was built to keep it). To tell them apart a card needs
# security evaluations run and reported (attack success rates for known trigger types,
# attribution audits such as the patch detector, the provenance and hashes of training data
# and weights), and a statement of which tests were not run. Rubric: 1 point for why, 2 for
# the contents.
# ### END SOLUTION

# %% [markdown]
# ## Further reading
#
# - K. Simonyan, A. Vedaldi and A. Zisserman, "Deep Inside Convolutional Networks", ICLR
#   Workshops 2014 (saliency); M. Sundararajan, A. Taly and Q. Yan, "Axiomatic Attribution for
#   Deep Networks", ICML 2017 (integrated gradients).
# - J. Adebayo, J. Gilmer, M. Muelly, I. Goodfellow, M. Hardt and B. Kim, "Sanity Checks for
#   Saliency Maps", NeurIPS 2018.
# - S. M. Lundberg and S.-I. Lee, "A Unified Approach to Interpreting Model Predictions",
#   NeurIPS 2017 (SHAP); L. Breiman, "Random Forests", Machine Learning 2001 (permutation
#   importance).
# - A.-K. Dombrowski, M. Alber, C. J. Anders, M. Ackermann, K.-R. Müller and P. Kessel,
#   "Explanations can be manipulated and geometry is to blame", NeurIPS 2019.
# - D. Slack, S. Hilgard, E. Jia, S. Singh and H. Lakkaraju, "Fooling LIME and SHAP:
#   Adversarial Attacks on Post hoc Explanation Methods", AIES 2020.
# - B. Wang, Y. Yao, S. Shan, H. Li, B. Viswanath, H. Zheng and B. Y. Zhao, "Neural Cleanse",
#   IEEE S&P 2019 (finding backdoor triggers).
# - R. Shokri, M. Strobel and Y. Zick, "On the Privacy Risks of Model Explanations", AIES 2021.
# - M. Mitchell et al., "Model Cards for Model Reporting", FAT* 2019; T. Gebru et al.,
#   "Datasheets for Datasets", CACM 2021.
# - captum (PyTorch attributions) and shap; OWASP ML Top 10 ML02 (Data Poisoning) and ML10
#   (Model Poisoning); MITRE ATLAS AML.T0018 (Backdoor ML Model).
