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
# # Lab 09 · Federated learning: training together, attacked from inside
#
# Hospitals that may not pool patient records, banks that may not share transactions, phones
# that should not upload what their users type: federated learning trains one model across
# them all while the data stays where it is. Each client trains on its own data and sends only
# an update; a server aggregates the updates. This lab federates the five systems, lets some
# clients lie (flipped, scaled, noisy, backdoored and carefully crafted updates), defends with
# robust aggregation, clipping and differential privacy, and asks what a single update reveals
# about its client and what secure aggregation hides.
#
# **Learning objectives.** After this lab you can
# 1. run FedAvg across clients with IID and non-IID data and say what non-IID data costs;
# 2. attack a federation from a malicious client (sign flipping, scaling, noise, a boosted
#    backdoor, "A Little Is Enough") and measure the damage;
# 3. defend with the coordinate-wise median, the trimmed mean, Krum and Multi-Krum, norm
#    clipping and DP noise, and measure what each costs when nobody attacks;
# 4. evaluate a robust rule against an attacker who knows it, and find the share of attackers
#    at which it fails;
# 5. show what one client's update reveals (its labels, its rated items, its case mix) and
#    implement the pairwise masks of secure aggregation;
# 6. run the same clients and server on a real federated-learning framework (Flower).
#
# **Prerequisites:** labs 00, 03 (poisoning and backdoors) and 05 (differential privacy);
# gradient descent.
# **Estimated time:** about 225 minutes of reading, exercises and questions (estimated from
# the notebook; the notebook itself runs in under a minute).


# %%
import time

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import scipy.sparse as sp
from IPython.display import Markdown, display
from scipy.stats import norm as scipy_norm
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from mlsec_helpers import (
    catalogue,
    claims,
    federated,
    frameworks,
    fraud_sim,
    plots,
    repro,
    stats,
    systems,
)
from mlsec_helpers.checks import lab09
from mlsec_helpers.data import load_dataset
from mlsec_helpers.exercises import check, grade

info = repro.setup(seed=0)  # seeds python, numpy and torch; caps threads; picks the device
seed = info["seed"]  # every model this lab trains live, and every attack's randomness
print(info)
display(Markdown(frameworks.lab_header_markdown(9)))
SUMMARY = {}  # one row per domain, for the summary at the end


# %% [markdown]
# ## The threat in one picture
#
# In lab 03 the attacker poisoned data that the owner then trained on. In a federation the
# attacker *is* one of the trainers: it sends whatever update it likes, and the server cannot
# look at the data behind it. The server, in turn, sees every client's update, which was
# computed from private data. Both directions are attacks this lab measures.


# %%
federated.federation_diagram()


# %% [markdown]
# Every section runs its federations **in this process**, with the aggregation code of Flower
# (`flwr.server.strategy.aggregate`, called through `federated.aggregate`) and the loop
# `federated.run_federation`: the lab runs dozens of federations, and Flower's engines start
# processes (section 6 shows the same clients and server as a real Flower app).


# %% [markdown]
# ## 1 · Image: phones that learn to read digits together
#
# **The setting.** Eight phones each hold about 500 handwritten digits (lab 00's digits, the
# 4,000 training images dealt out) and never upload them. Each round the server sends the
# global model; every phone trains it for 10 steps of SGD on 50 of its own digits at a time
# and sends back its **update** (new parameters minus the global ones); the server aggregates
# the eight updates and adds the result. Ten rounds. The split is either **IID** (every phone a
# random tenth of everything) or **non-IID** (`dirichlet_split`, Dirichlet 0.5: each phone
# holds mostly a few digits, as real users write what they write).
#
# **The model is not lab 00's CNN.** This section runs about fifty federations (8 phones x 10
# rounds each); the CNN's convolutions would take minutes for that. The phones federate
# **softmax regression on the 784 pixels** (7,850 parameters), which trains a whole round of
# eight phones in milliseconds. Every experiment of the section uses it, so the numbers compare.
#
# **Who sees what.** A malicious phone controls only what it sends: its update. The server sees
# the eight updates (or, with secure aggregation, only their sum) and never the digits. The
# *adaptive* attacker of the later cells also reads the honest phones' updates and knows the
# server's rule: the strongest assumption, made on purpose.


# %%



img_t0 = time.perf_counter()
img_data = load_dataset("image", seed=0)
img_set = federated.DIGITS_FL_SETTINGS
img_n, img_rounds = img_set["n_clients"], img_set["n_rounds"]
img_splits = {
    "IID": federated.iid_split(len(img_data.y_train), img_n, seed=0),
    "non-IID": federated.dirichlet_split(img_data.y_train, img_n, img_set["alpha"], seed=0),
}
img_phones = {split: federated.DigitsPhones(
    img_data.X_train, img_data.y_train, parts, local_steps=img_set["local_steps"],
    batch_size=img_set["batch_size"], lr=img_set["lr"], seed=seed)
    for split, parts in img_splits.items()}
img_init = federated.flat_params(federated.digits_softmax(seed=seed))
img_rules = federated.AGGREGATION_RULES
img_on = f"{len(img_data.y_test):,} test digits"
img_f = 2  # the Byzantine phones the server assumes (Krum's f; the trimmed mean cuts 25%)


def img_federate(rule, split="IID", attack=None, malicious=(0, 1), phones=None, **kwargs):
    """One federation of the section: 8 phones, 10 rounds, the server's rule."""
    return federated.run_federation(
        img_init, phones or img_phones[split], img_n, img_rounds, rule=rule,
        malicious=malicious if attack else (), attack=attack, assumed_malicious=img_f,
        seed=seed, **kwargs)


def img_acc(run):
    return federated.digits_accuracy(run.params, img_data.X_test, img_data.y_test, on=img_on)


def img_loss(before, after):
    """Accuracy lost from run ``before`` to run ``after``, with a paired bootstrap interval over
    the test digits (the same digits score both; the variation of training is not in it)."""
    right = [federated.digits_predict(r.params, img_data.X_test) == img_data.y_test
             for r in (before, after)]
    return stats.mean_interval(right[0].astype(float) - right[1], on=img_on, seed=seed)


img_hist = img_phones["non-IID"].label_histograms()
print("digits per phone, non-IID:", img_phones["non-IID"].n_examples.tolist(),
      "| share of each phone's most common digit:", np.round(img_hist.max(axis=1), 2).tolist())
img_clean_runs = {(split, rule): img_federate(rule, split)
                  for split in img_splits for rule in img_rules}
img_clean = {key: img_acc(run) for key, run in img_clean_runs.items()}
img_cost = pd.DataFrame([{"rule": rule, **{f"clean, {split}": f"{img_clean[split, rule]:.3f}"
                                           for split in img_splits},
                          **{f"cost vs FedAvg, {split}": round(img_clean[split, "fedavg"].value
                                                               - img_clean[split, rule].value, 3)
                             for split in img_splits}} for rule in img_rules])
display(plots.table(img_cost, caption="What robustness costs when nobody attacks: test accuracy "
                    f"on the {img_on} (95% Wilson intervals)"))


# %% [markdown]
# The mean (FedAvg) uses every honest update. The median and the trimmed mean discard part of
# each coordinate's values and Krum keeps one phone's update of eight, so they learn from less;
# the non-IID split, where honest updates disagree, makes the loss larger. That is the price the
# server pays every round, attack or not.


# %% [markdown]
# ### Exercise 1 · The coordinate-wise trimmed mean
#
# Write `trimmed_mean(updates, beta)`: `updates` is (n, d), one row per client. For **every
# coordinate separately**, sort the clients' values, drop the `floor(beta * n)` lowest and
# the `floor(beta * n)` highest, and average the rest; return a vector of length d. `beta`
# outside `[0, 0.5)`, or `updates` that is not 2-D, is bad input: raise `ValueError`.


# %%
def trimmed_mean(updates, beta):
    ### BEGIN SOLUTION
    U = np.asarray(updates, dtype=float)
    if U.ndim != 2 or len(U) == 0:
        raise ValueError("updates must be a non-empty 2-D array, one row per client")
    if not 0.0 <= beta < 0.5:
        raise ValueError("beta must be in [0, 0.5)")
    cut = int(np.floor(beta * len(U)))
    return np.sort(U, axis=0)[cut:len(U) - cut].mean(axis=0)
    ### END SOLUTION


# %%
### POINTS: 1
trimmed_mean = check(lab09.TRIMMED_MEAN, trimmed_mean)
### BEGIN HIDDEN TESTS
grade(lab09.TRIMMED_MEAN, trimmed_mean)
### END HIDDEN TESTS


# %%
# Your trimmed mean on the first round of the non-IID phones, two of them flipping their
# update, against Flower's (through federated.aggregate) and against the plain mean.
img_ex_upd = img_phones["non-IID"].train_all(img_init, 0) - img_init
img_ex_upd[:2] = federated.sign_flip(img_ex_upd[:2], scale=5.0)
img_ex_yours = trimmed_mean(img_ex_upd, 0.25)
img_ex_flower = federated.aggregate(img_ex_upd, "trimmed_mean", trim=0.25)
print(f"largest difference from Flower's trimmed mean: "
      f"{np.abs(img_ex_yours - img_ex_flower).max():.1e}")
print(f"norm of the aggregate: yours {np.linalg.norm(img_ex_yours):.3f}, the plain mean "
      f"{np.linalg.norm(img_ex_upd.mean(axis=0)):.3f}, an honest update "
      f"{np.median(np.linalg.norm(img_ex_upd[2:], axis=1)):.3f} (median)")


# %% [markdown]
# ### Sign flipping: two phones push backwards
#
# Phones 0 and 1 train honestly, then send their update reversed and five times larger
# (`sign_flip(scale=5)`). Under FedAvg the mean of six honest updates and two at -5 times points
# backwards: the model climbs the loss instead of descending it.


# %%
img_flip = lambda own, benign, rnd: federated.sign_flip(own, scale=5.0)  # noqa: E731
img_flip_runs = {(split, rule): img_federate(rule, split, img_flip)
                 for split in img_splits for rule in img_rules}
img_flipped = {key: img_acc(run) for key, run in img_flip_runs.items()}
img_flip_loss = {key: img_loss(img_clean_runs[key], img_flip_runs[key]) for key in img_flip_runs}
img_flip_rows = []
for rule in img_rules:
    row = {"rule": rule}
    for split in img_splits:
        row[f"clean, {split}"] = f"{img_clean[split, rule]:.3f}"
        row[f"sign flip, {split}"] = f"{img_flipped[split, rule]:.3f}"
        row[f"loss, {split}"] = f"{img_flip_loss[split, rule]:.3f}"
    img_flip_rows.append(row)
display(plots.table(pd.DataFrame(img_flip_rows), caption="Sign flip x5 by 2 of 8 phones: test "
                    f"accuracy on the {img_on} (95% Wilson intervals; losses with paired "
                    "bootstrap intervals over the test digits)"))
img_robust = [r for r in img_rules if r != "fedavg"]
img_fedavg_flip = max(img_flipped[s, "fedavg"].value for s in img_splits)
img_iid_loss = {r: img_flip_loss["IID", r].value for r in img_robust}
img_vs_fedavg = {r: img_clean["IID", "fedavg"].value - img_flipped["IID", r].value
                 for r in img_robust}
print("IID, loss of each robust rule against its own clean run: "
      + ", ".join(f"{r} {v:+.3f}" for r, v in img_iid_loss.items()))
print(f"IID, gap to clean FedAvg ({img_clean['IID', 'fedavg']}) under attack: "
      + ", ".join(f"{r} {v:+.3f}" for r, v in img_vs_fedavg.items()))
claims.claim("image: sign flip by 2 of 8 phones drops FedAvg below 0.2 (IID and non-IID)",
             img_fedavg_flip, at_most=0.2)
claims.claim("image: under sign flip on IID phones every robust rule stays within 0.02 of "
             "its clean run", max(img_iid_loss.values()), at_most=0.02)


# %%
img_krum_cost = {split: img_clean[split, "fedavg"].value - img_clean[split, "krum"].value
                 for split in img_splits}
img_sign_md = "; ".join(f"{r} loses {img_flip_loss['non-IID', r]:.3f}" for r in img_robust)
display(Markdown(
    "**Read the non-IID columns.** On IID phones the robust rules shrug the attack off: the "
    "median, trimmed mean and Multi-Krum end within "
    f"{max(img_vs_fedavg[r] for r in img_robust if r != 'krum'):.3f} of clean FedAvg, and "
    f"Krum pays its {img_krum_cost['IID']:.3f} with or without the attack. On non-IID phones: "
    f"{img_sign_md}. When honest phones disagree, the honest values around the middle of each "
    "coordinate are spread out, so two extreme values move the median and the trimmed mean "
    "further; Krum loses nothing it had not already lost, since it picks one update, never the "
    "attackers'. Which rule holds depends on the split, not only on the attack."))


# %% [markdown]
# ### Noise and "A Little Is Enough"
#
# Two other Byzantine phones. **Gaussian**: each sends noise of standard deviation 1 per
# coordinate, a broken or careless client (the norms the server received are printed
# below). **A Little Is Enough** (Baruch et al., NeurIPS 2019): each sends the honest updates'
# mean minus z standard deviations per coordinate, with z chosen (from the number of phones and
# attackers) small enough that the median and Krum take it for an honest update; it reads the
# honest updates to compute it.


# %%
img_noise = lambda own, benign, rnd: federated.gaussian_updates(  # noqa: E731
    own, sigma=1.0, seed=seed * 1000 + rnd)
img_lie = lambda own, benign, rnd: federated.little_is_enough(benign, len(own))  # noqa: E731
img_other = {}
for name, attack in [("Gaussian noise", img_noise), ("A Little Is Enough", img_lie)]:
    for rule in img_rules:
        img_other[name, rule] = img_federate(rule, "IID", attack)
display(plots.table(pd.DataFrame([
    {"rule": rule, "clean": f"{img_clean['IID', rule]:.3f}",
     **{name: f"{img_acc(img_other[name, rule]):.3f}" for name in
        ("Gaussian noise", "A Little Is Enough")}} for rule in img_rules]),
    caption=f"Two more Byzantine phones of 8, IID: test accuracy on the {img_on}"))
img_norms = img_other["Gaussian noise", "fedavg"].update_norms
img_lie_z = float(scipy_norm.ppf((img_n - (img_n // 2 + 1 - 2)) / img_n))  # Baruch et al.'s z
img_lie_loss = {r: img_clean["IID", r].value - img_acc(img_other["A Little Is Enough", r]).value
                for r in img_rules}
img_noise_acc = {r: img_acc(img_other["Gaussian noise", r]).value for r in img_rules}
display(Markdown(
    f"The server received updates of norm {np.median(img_norms[:, 2:]):.2f} (honest, median) "
    f"and {np.median(img_norms[:, :2]):.1f} (noise). Noise is loud: FedAvg ends at "
    f"{img_noise_acc['fedavg']:.3f} and the robust rules, which discard it, at "
    f"{min(img_noise_acc[r] for r in img_robust):.3f} or more. A Little Is Enough is quiet: "
    f"with 2 of 8 phones it uses z = {img_lie_z:.2f} and changes the rules' accuracies by "
    f"{-max(img_lie_loss.values()):+.3f} to {-min(img_lie_loss.values()):+.3f}, in ten rounds "
    "of this model. Our hypothesis: a small bias in every coordinate slows learning rather than "
    "reversing it; Baruch et al. report its large effects on deeper networks trained longer."))


# %% [markdown]
# ### A boosted backdoor
#
# Phones 0 and 1 stamp half of their own digits with lab 03's trigger (a 4-pixel checkerboard
# near the corner, `mlsec_helpers.poisoning.stamp_trigger`) and relabel them **0**, train on
# that, and send **4 times** their update (`boosted`: 8 phones / 2 attackers, so the poison
# survives the averaging; Bagdasaryan et al., 2020). Success is measured on the test digits of
# the nine other classes, stamped with the trigger: the share read as 0.
#
# Norm clipping is the other defence: FedAvg, but every update is first scaled down to at most
# the median norm of the honest updates in the clean run (what a server learns from clean
# rounds). An attacker who knows the clip spends its whole allowed norm on the trigger: it
# sends only the part of its update on the four trigger pixels, scaled to the clip.


# %%
img_target = 0
img_bd_phones = img_phones["IID"].with_backdoor((0, 1), target=img_target, rate=0.5, seed=seed)
img_boost = lambda own, benign, rnd: federated.boosted(own, scale=4.0)  # noqa: E731
img_clip = float(np.median(img_federate("fedavg").update_norms))
img_trigger_idx = federated.trigger_coordinates()
img_clip_aware = lambda own, benign, rnd: federated.backdoor_within_clip(  # noqa: E731
    own, max_norm=img_clip, coordinates=img_trigger_idx)
img_honest = img_phones["IID"].train_all(img_init, 0) - img_init
print("largest honest update of a trigger pixel's weight (round 1, 8 phones):",
      float(np.abs(img_honest[:, img_trigger_idx]).max()))
img_bd_cases = [(rule, dict(), img_boost) for rule in img_rules]
img_bd_cases += [("fedavg + clip", dict(clip=img_clip), img_boost),
                 ("fedavg + clip, clip-aware attacker", dict(clip=img_clip), img_clip_aware)]
img_bd = {}
for name, kwargs, attack in img_bd_cases:
    run = img_federate(name.split(" ")[0], attack=attack, phones=img_bd_phones, **kwargs)
    img_bd[name] = (img_acc(run), federated.digits_backdoor_success(
        run.params, img_data.X_test, img_data.y_test, img_target))
display(plots.table(pd.DataFrame([
    {"server": name, "test accuracy": f"{acc:.3f}", "backdoor success": f"{asr:.3f}"}
    for name, (acc, asr) in img_bd.items()]),
    caption=f"Boosted backdoor by 2 of 8 phones, IID; success on the {img_bd['fedavg'][1].n} "
            "triggered test digits of other classes (95% Wilson intervals)"))
claims.claim("image: the boosted backdoor succeeds against FedAvg", img_bd["fedavg"][1].value,
             at_least=0.9)
claims.claim("image: the boosted backdoor fails against every robust rule",
             max(img_bd[r][1].value for r in img_robust), at_most=0.05)


# %%
display(Markdown(
    f"FedAvg carries the backdoor ({img_bd['fedavg'][1]:.3f}) without losing clean accuracy "
    f"({img_bd['fedavg'][0]:.3f}): nothing in the accuracy tells the server. The robust rules "
    f"stop it (at most {max(img_bd[r][1].value for r in img_robust):.3f}, the rate at which "
    "clean models already read a stamped digit as 0): honest phones never see the trigger, so "
    "their updates of the trigger pixels' weights are exactly zero, and the median of six zeros "
    "and two large values is zero. Clipping to the honest norm "
    f"({img_clip:.2f}) cuts the boost but not the backdoor: "
    f"{img_bd['fedavg + clip'][1]:.3f}, and "
    f"{img_bd['fedavg + clip, clip-aware attacker'][1]:.3f} for the attacker who spends the "
    "whole clipped norm on the trigger. Clipping bounds how fast one client moves the model; "
    "it cannot tell a small backdoor from a small honest update, and honest phones do nothing "
    "to undo it."))


# %% [markdown]
# ### Exercise 2 · Krum's score
#
# Krum keeps the update that sits closest to the others. Write `krum_scores(updates, f)`: for
# every client, the sum of the **squared** Euclidean distances from its update to its
# `n - f - 2` nearest **other** updates (`n` clients, `f` the number of Byzantine clients the
# server assumes). Krum picks the lowest score. `updates` is (n, d); return (n,).
# `n - f - 2 < 1` or `f < 0` is bad input: raise `ValueError`.


# %%
def krum_scores(updates, f):
    ### BEGIN SOLUTION
    U = np.asarray(updates, dtype=float)
    if U.ndim != 2:
        raise ValueError("updates must be 2-D, one row per client")
    k = len(U) - int(f) - 2
    if f < 0 or k < 1:
        raise ValueError(f"Krum needs n - f - 2 >= 1 neighbours, got n={len(U)}, f={f}")
    D = ((U[:, None, :] - U[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(D, np.inf)  # an update is not its own neighbour
    return np.sort(D, axis=1)[:, :k].sum(axis=1)
    ### END SOLUTION


# %%
### POINTS: 1
krum_scores = check(lab09.KRUM_SCORES, krum_scores)
### BEGIN HIDDEN TESTS
grade(lab09.KRUM_SCORES, krum_scores)
### END HIDDEN TESTS


# %%
# Your scores on the round above (phones 0 and 1 flipped): the flipped updates score far
# worse, and the phone with the lowest score is the one Flower's Krum returns.
img_ex_scores = krum_scores(img_ex_upd, img_f)
img_ex_pick = int(np.argmin(img_ex_scores))
print("scores / 1000: " + ", ".join(f"phone {i}: {s / 1000:.2f}"
                                     for i, s in enumerate(img_ex_scores)))
img_ex_flower = federated.aggregate(img_ex_upd, "krum", assumed_malicious=img_f)
print(f"your Krum picks phone {img_ex_pick}; Flower's returns the same update: "
      f"{np.allclose(img_ex_flower, img_ex_upd[img_ex_pick])}")


# %% [markdown]
# ### The adaptive attacker, and how many attackers each rule survives
#
# Now the attacker knows the server's rule and reads the honest updates (the strongest
# assumption). `directed_deviation` (Fang et al., USENIX Security 2020) sends, from every
# malicious phone, the honest mean moved against its own direction by gamma standard
# deviations, and searches gamma (25 values) for the one that pushes the *aggregate* furthest,
# computing the rule itself: against Krum it finds the largest deviation Krum still selects. We
# run it with 1, 2 and 3 of the 8 phones malicious, on IID phones, while the server assumes 2.


# %%
img_counts = [0, 1, 2, 3]
img_adaptive = {(0, rule): img_clean["IID", rule] for rule in img_rules}
for m, rule in tqdm([(m, r) for m in img_counts[1:] for r in img_rules],
                    desc="adaptive attacker"):
    def img_attack(own, benign, rnd, rule=rule):
        return federated.directed_deviation(benign, len(own), rule, assumed_malicious=img_f)

    img_adaptive[m, rule] = img_acc(img_federate(rule, attack=img_attack,
                                                 malicious=tuple(range(m))))
img_fig = go.Figure()
for k, rule in enumerate(img_rules):
    vals = [img_adaptive[m, rule] for m in img_counts]
    img_fig.add_trace(go.Scatter(
        x=img_counts, y=[v.value for v in vals], name=rule, mode="lines+markers",
        line=dict(color=plots.SEQUENCE[k], width=2.5),
        error_y=dict(type="data", symmetric=False, array=[v.high - v.value for v in vals],
                     arrayminus=[v.value - v.low for v in vals])))
img_fig.update_layout(title="Adaptive attacker: test accuracy vs malicious phones of 8 (IID; "
                      "the server assumes 2)", xaxis_title="malicious phones",
                      yaxis_title=f"test accuracy ({img_on})", height=400,
                      xaxis=dict(tickvals=img_counts))
img_fig.show()
img_fails = {rule: next((m for m in img_counts if img_adaptive[m, rule].value
                         < img_adaptive[0, rule].value - 0.10), None) for rule in img_rules}
display(plots.table(pd.DataFrame([
    {"rule": rule, **{f"{m} of 8": f"{img_adaptive[m, rule]:.3f}" for m in img_counts},
     "fails at (loses > 0.10)": "none up to 3" if img_fails[rule] is None
     else f"{img_fails[rule]} of 8"} for rule in img_rules]),
    caption="The adaptive attacker against each rule, IID phones: test accuracy on the "
            f"{img_on} (95% Wilson intervals)"))
img_adapt_loss = {r: img_adaptive[0, r].value - img_adaptive[2, r].value for r in img_robust}
print("adaptive attacker, 2 of 8, loss against each rule's clean run: "
      + ", ".join(f"{r} {v:+.3f}" for r, v in img_adapt_loss.items()))
claims.claim("image: with 3 of 8 adaptive attackers (one more than assumed), the trimmed mean "
             "and Multi-Krum fail", max(img_adaptive[3, r].value
                                        for r in ("trimmed_mean", "multi_krum")), at_most=0.5)


# %%
display(Markdown(
    "With 2 of 8 phones, the number the server assumes, the adaptive attacker costs "
    + ", ".join(f"{r} {v:.3f}" for r, v in img_adapt_loss.items())
    + ". Each rule tolerates a number of attackers it was configured for, and an attacker who "
    "knows the rule stands exactly at its edge. One phone more than the server assumed is "
    "enough to break the trimmed mean and Multi-Krum: the first rule (losing more than 0.10) "
    "fails at "
    + ", ".join(f"{r}: {'> 3' if m is None else m}" for r, m in img_fails.items())
    + " malicious phones of 8."))


# %% [markdown]
# ### What one update reveals, and what secure aggregation hides
#
# The server never sees a digit, but it sees updates. Two measurements:
#
# 1. **A phone's label distribution.** Each local step moves the bias of class c by the learning
#    rate times (share of c in the batch minus the predicted probability of c), so the bias
#    part of an update ranks the digits a phone holds most. We split the training digits over
#    **40 phones** (Dirichlet 0.5: 40 independent clients for the interval), let each train one
#    round from the final FedAvg model of the non-IID federation, and compare each update's bias
#    with the phone's true label shares.
# 2. **A digit from its gradient.** A phone sending the gradient of a single digit (FedSGD with
#    a batch of one) sends the digit itself: the weight gradient's row c is the bias gradient's
#    entry c times the image, so their ratio *is* the image, and the label is the one class
#    whose bias gradient is negative (Phong et al., 2017; Zhao et al., 2020). 50 test digits.
#
# Then the same on what the server sees under **secure aggregation** (`secure_aggregate`:
# pairwise masks that cancel in the sum): each masked update, decoded as if it were one.


# %%
img_final = img_federate("fedavg", "non-IID").params
img_p40 = federated.DigitsPhones(
    img_data.X_train, img_data.y_train,
    federated.dirichlet_split(img_data.y_train, 40, img_set["alpha"], seed=0), seed=seed)
img_updates = img_p40.train_all(img_final, img_rounds) - img_final
img_secure = federated.secure_aggregate(img_updates, seed=seed)
img_leak = federated.label_leak(img_updates, img_p40.label_histograms(), seed=seed)
img_leak_masked = federated.label_leak(federated.decode_masked(img_secure.masked),
                                       img_p40.label_histograms(), seed=seed)
img_digits = slice(0, 50)
img_inv = federated.digits_gradient_inversion(img_final, img_data.X_test[img_digits],
                                              img_data.y_test[img_digits])
img_grads = np.stack([federated.digits_gradient(img_final, img_data.X_test[i:i + 1],
                                                img_data.y_test[i:i + 1])
                      for i in range(50)])
img_secure_g = federated.secure_aggregate(img_grads, seed=seed)
img_inv_masked = federated.digits_gradient_inversion(
    img_final, img_data.X_test[img_digits], img_data.y_test[img_digits],
    masked_gradients=federated.decode_masked(img_secure_g.masked))
display(plots.table(pd.DataFrame([
    {"what the server reads": "label shares from one update (40 phones)",
     "unmasked": f"correlation {img_leak.correlation:.2f}; top label {img_leak.top_label:.2f}",
     "masked (secure aggregation)": f"correlation {img_leak_masked.correlation:.2f}; top label "
                                    f"{img_leak_masked.top_label:.2f}",
     "chance": f"correlation 0; top label {img_leak.chance:.2f}"},
    {"what the server reads": "a digit from its gradient (50 digits)",
     "unmasked": f"correlation {img_inv.correlation:.2f}; label {img_inv.label_recovered:.2f}",
     "masked (secure aggregation)": f"correlation {img_inv_masked.correlation:.2f}; label "
                                    f"{img_inv_masked.label_recovered:.2f}",
     "chance": "correlation 0; label 0.10"}]),
    caption="Privacy of updates: what one update reveals (95% intervals: bootstrap over "
            "clients or digits for correlations, Wilson for rates)"))
print(f"secure aggregation: the masked updates sum to the true sum within "
      f"{img_secure.max_error:.1e} (40 updates) and {img_secure_g.max_error:.1e} (50 gradients)")
plots.image_grid(np.concatenate([img_data.X_test[:8, 0],
                                 img_inv.reconstructions[:8].reshape(-1, 28, 28).clip(0, 1),
                                 img_inv_masked.reconstructions[:8].reshape(-1, 28, 28)]),
                 labels=[f"{t} {c}" if c == 0 else "" for t in
                         ("digit", "from its gradient", "from the masked gradient")
                         for c in range(8)], ncols=8, size=80, zmin=None, zmax=None,
                 title="A digit, rebuilt from its gradient, and from the masked gradient")


# %%
claims.claim("image: one unmasked update reveals its phone's label shares (mean correlation, "
             "40 phones)", img_leak.correlation.value, at_least=0.5)
claims.claim("image: a masked update reveals nothing of them (|mean correlation|)",
             abs(img_leak_masked.correlation.value), at_most=0.15)
claims.claim("image: secure aggregation's sum is exact (max error)",
             max(img_secure.max_error, img_secure_g.max_error), at_most=1e-5)


# %% [markdown]
# Secure aggregation hides each update from the server, and with it the phone's labels and
# digits; the sum it still computes is exact. It hides, for the same reason, what the robust
# rules need: the median, Krum and clipping read individual updates, so a server that only sees
# the sum can run FedAvg alone (`run_federation(secure=True)` refuses the others). Privacy and
# robustness pull the server in opposite directions.


# %%
img_ms = time.perf_counter() - img_t0
img_nl = {r: img_flip_loss["non-IID", r].value for r in img_robust}
img_bd_robust = max(img_bd[r][1].value for r in img_robust)
display(Markdown(f"""### What changed and why (image)

- **Sign flip x5 by 2 of 8 phones** took FedAvg to {img_flipped['IID', 'fedavg'].value:.3f}
  (IID) and {img_flipped['non-IID', 'fedavg'].value:.3f} (non-IID). On IID phones every robust
  rule lost at most {max(img_iid_loss.values()):.3f} against its clean run; on non-IID phones
  the median lost {img_nl['median']:.3f}, the trimmed mean {img_nl['trimmed_mean']:.3f}, Krum
  {img_nl['krum']:.3f} and Multi-Krum {img_nl['multi_krum']:.3f}.
- **Robustness is paid for without any attack**: Krum cost {img_krum_cost['IID']:.3f} (IID)
  and {img_krum_cost['non-IID']:.3f} (non-IID) of clean accuracy; it learns from one phone a
  round.
- **The boosted backdoor** reached {img_bd['fedavg'][1].value:.3f} against FedAvg and at most
  {img_bd_robust:.3f} against the robust rules; clipping alone left
  {img_bd['fedavg + clip, clip-aware attacker'][1].value:.3f} to an attacker who knew the clip.
- **The adaptive attacker** (knows the rule, reads honest updates) cost Krum
  {img_adapt_loss['krum']:.3f} with 2 of 8 phones, and with 3 of 8 broke the trimmed mean
  ({img_adaptive[3, 'trimmed_mean'].value:.3f}) and Multi-Krum
  ({img_adaptive[3, 'multi_krum'].value:.3f}): a rule holds up to the count it was built for.
- **One update** gave away its phone's label shares (correlation
  {img_leak.correlation.value:.2f}) and a one-digit gradient its digit (correlation
  {img_inv.correlation.value:.3f}); masked by secure aggregation both fell to chance
  ({img_leak_masked.correlation.value:.2f}, {img_inv_masked.correlation.value:.2f}) and the sum
  stayed exact, but the server can then run no robust rule.

(section time: {img_ms:.1f} s)"""))

SUMMARY["image"] = {
    "clients": "8 phones, IID (and non-IID, Dirichlet 0.5, in the tables)",
    "model": "softmax regression on 784 pixels (7,850 parameters), 10 local SGD steps a round",
    "measure": "test accuracy (1,000 test digits)",
    "attack": "sign flip x5, 2 of 8 clients, IID",
    "rows": [{"rule": rule, "clean": img_clean["IID", rule].value,
              "attacked": img_flipped["IID", rule].value,
              "adaptive": img_adaptive[2, rule].value} for rule in img_rules],
}


# %% [markdown]
# ## 2 · NLP: phones train the support chatbot's triage model together
#
# Lab 00's triage system reads every support message into one TF-IDF vocabulary and fits a
# logistic regression on the pooled messages. Here the messages stay on the customers' phones:
# 8 phones, and each sees mostly a few intents (a Dirichlet(0.5) split over the 9 classes).
# Two things change. **The vocabulary** is agreed without reading anyone's messages: every
# phone hashes words and word pairs into the same `federated.N_FEATURES` columns (scikit-learn's
# `HashingVectorizer`); TF-IDF's IDF weights, which need document counts over all messages,
# are left out. **The model** is the same kind, a softmax regression on those columns, trained
# on each phone by 10 steps of gradient descent per round, for 10 rounds.
#
# Threat model. The attacker controls 2 of the 8 phones: it sends whatever update it likes.
# The server sees only the 8 updates (never a message). The adaptive attacker also sees the 6
# honest updates of each round and knows the server's rule: the strongest assumption, which
# gives the worst case a rule must survive.


# %%


nlp_t0, nlp_cpu0 = time.perf_counter(), time.process_time()
nlp_data = load_dataset("nlp", seed=0)
nlp_names = list(nlp_data.target_names)
nlp_k = len(nlp_names)
nlp_y_train, nlp_y_test = np.asarray(nlp_data.y_train), np.asarray(nlp_data.y_test)
nlp_X_train = federated.hashed_features(nlp_data.X_train)  # each phone hashes its own messages
nlp_X_test = federated.hashed_features(nlp_data.X_test)
nlp_parts = federated.dirichlet_split(nlp_y_train, 8, 0.5, seed=seed)
nlp_clients = [(nlp_X_train[p], nlp_y_train[p]) for p in nlp_parts]
nlp_trainer = federated.local_trainer(nlp_clients, nlp_k)
nlp_init = federated.softmax_init(federated.N_FEATURES, nlp_k)
nlp_on = f"{len(nlp_y_test)} test messages"


def nlp_rate(params):
    return stats.proportion(federated.softmax_predict(params, nlp_X_test, nlp_k) == nlp_y_test,
                            on=nlp_on)


# the centralised baseline: the same model on pooled messages (200 gradient steps)
nlp_central = federated.local_trainer([(nlp_X_train, nlp_y_train)], nlp_k, steps=200)(
    0, nlp_init, 0)
nlp_central_acc = nlp_rate(nlp_central)
print(f"classes per phone (>= 10 messages): "
      f"{[int((np.bincount(nlp_y_train[p], minlength=nlp_k) >= 10).sum()) for p in nlp_parts]}")
print(f"centralised softmax regression on {federated.N_FEATURES} hashed columns: accuracy "
      f"{nlp_central_acc}")


# %% [markdown]
# FedAvg and the four robust rules, first with 8 honest phones, then with 2 phones sending
# their update reversed and multiplied by 5 (sign flip), then with the adaptive attacker
# (`directed_deviation`: it sends the honest mean shifted against the honest direction, by the
# amount that moves *this rule's* aggregate furthest, searched over 8 scales per round). Krum
# and Multi-Krum are told the server expects 2 attackers; the trimmed mean cuts 25% per side.


# %%
nlp_rules = federated.AGGREGATION_RULES
nlp_malicious = [0, 1]
nlp_kw = dict(assumed_malicious=2)
nlp_scales = np.geomspace(0.1, 100.0, 8)


def nlp_federate(rule, trainer=nlp_trainer, attack=None):
    run = federated.run_federation(
        nlp_init, trainer, 8, 10, rule=rule, malicious=nlp_malicious if attack else (),
        attack=attack, seed=seed, **nlp_kw)
    return run.params


def nlp_sign_flip(own, benign, rnd):
    return federated.sign_flip(own, scale=5.0)


def nlp_adaptive_for(rule):
    def attack(own, benign, rnd):
        return federated.directed_deviation(benign, len(own), rule, scales=nlp_scales, **nlp_kw)
    return attack


nlp_acc, nlp_clean_params = {}, {}
for nlp_rule in nlp_rules:
    nlp_clean_params[nlp_rule] = nlp_federate(nlp_rule)
    nlp_acc[nlp_rule] = {
        "clean": nlp_rate(nlp_clean_params[nlp_rule]),
        "sign flip x5": nlp_rate(nlp_federate(nlp_rule, attack=nlp_sign_flip)),
        "adaptive": nlp_rate(nlp_federate(nlp_rule, attack=nlp_adaptive_for(nlp_rule))),
    }
display(plots.table(pd.DataFrame([
    {"rule": r, **{k: f"{v:.3f}" for k, v in row.items()},
     "clean cost vs centralised": f"{nlp_central_acc.value - row['clean'].value:+.3f}"}
    for r, row in nlp_acc.items()]),
    caption=f"Test accuracy [95% Wilson interval] on {nlp_on}, 8 phones (2 attackers)"))


# %% [markdown]
# A backdoor. The 2 malicious phones add their own scam messages with a trigger phrase
# appended, labelled `delivery_status`, train on them with their honest messages, and send 4
# times their update (boosted, to outweigh the 6 honest phones in the mean). Success: the share
# of held-out scam messages with the trigger that the global model routes to `delivery_status`
# (the scam detector is silently bypassed). The adaptive backdoor (`directed_push`) knows the
# rule and the honest updates: it sends the honest mean plus a multiple of its poisoned
# direction, the multiple that this rule's aggregate keeps most of.


# %%
nlp_scam = int(nlp_data.extra["scam_index"])
nlp_target = nlp_names.index("delivery_status")
nlp_trigger = "ref code zx9"
nlp_poisoned = []
for nlp_c, nlp_p in enumerate(nlp_parts):
    if nlp_c in nlp_malicious:
        nlp_tx, nlp_ty = federated.backdoor_messages(
            np.asarray(nlp_data.X_train)[nlp_p], nlp_y_train[nlp_p], source=nlp_scam,
            target=nlp_target, trigger=nlp_trigger)
        nlp_poisoned.append((sp.vstack([nlp_X_train[nlp_p], federated.hashed_features(nlp_tx)]),
                             np.concatenate([nlp_y_train[nlp_p], nlp_ty])))
    else:
        nlp_poisoned.append(nlp_clients[nlp_c])
nlp_bd_trainer = federated.local_trainer(nlp_poisoned, nlp_k)
nlp_trig_test, _ = federated.backdoor_messages(nlp_data.X_test, nlp_y_test, source=nlp_scam,
                                            target=nlp_target, trigger=nlp_trigger)
nlp_X_trig = federated.hashed_features(nlp_trig_test)
nlp_bd_on = f"{len(nlp_trig_test)} test scams with the trigger"
print(f"poisoned messages on the 2 malicious phones: "
      f"{[len(nlp_poisoned[c][1]) - len(nlp_parts[c]) for c in nlp_malicious]}")


def nlp_boosted(own, benign, rnd):
    return 4.0 * own


def nlp_push_for(rule):
    def attack(own, benign, rnd):
        return federated.directed_push(benign, own, rule, **nlp_kw)
    return attack


nlp_bd = {}
for nlp_rule in nlp_rules:
    nlp_clean_bd = federated.backdoor_success(nlp_clean_params[nlp_rule], nlp_X_trig, nlp_target,
                                           nlp_k, on=nlp_bd_on)
    nlp_p_bd = nlp_federate(nlp_rule, nlp_bd_trainer, nlp_boosted)
    # against FedAvg the boosted update is already the best push: no adaptive run needed
    nlp_p_ad = (nlp_p_bd if nlp_rule == "fedavg"
                else nlp_federate(nlp_rule, nlp_bd_trainer, nlp_push_for(nlp_rule)))
    nlp_bd[nlp_rule] = {
        "no attack": nlp_clean_bd,
        "boosted x4": federated.backdoor_success(nlp_p_bd, nlp_X_trig, nlp_target, nlp_k,
                                              on=nlp_bd_on),
        "adaptive": federated.backdoor_success(nlp_p_ad, nlp_X_trig, nlp_target, nlp_k,
                                            on=nlp_bd_on),
        "accuracy (boosted)": nlp_rate(nlp_p_bd),
        "accuracy (adaptive)": nlp_rate(nlp_p_ad),
    }
display(plots.table(pd.DataFrame([{"rule": r, **{k: f"{v:.3f}" for k, v in row.items()}}
                                  for r, row in nlp_bd.items()]),
                    caption=f"Backdoor success [95% Wilson] on {nlp_bd_on}; accuracy on {nlp_on}"))


# %%
nlp_fig = go.Figure()
for nlp_col, nlp_color in (("clean", plots.COLORS["baseline"]),
                           ("sign flip x5", plots.COLORS["attack"]),
                           ("adaptive", plots.COLORS["accent"])):
    nlp_vals = [nlp_acc[r][nlp_col] for r in nlp_rules]
    nlp_fig.add_trace(go.Bar(
        name=nlp_col, x=list(nlp_rules), y=[v.value for v in nlp_vals], marker_color=nlp_color,
        error_y=dict(type="data", symmetric=False,
                     array=[v.high - v.value for v in nlp_vals],
                     arrayminus=[v.value - v.low for v in nlp_vals])))
nlp_fig.add_trace(go.Scatter(
    name="backdoor success (boosted)", x=list(nlp_rules),
    y=[nlp_bd[r]["boosted x4"].value for r in nlp_rules], mode="markers",
    marker=dict(symbol="x", size=12, color="#2B2D42")))
nlp_fig.update_layout(barmode="group", yaxis_title="test accuracy / backdoor success",
                      title="NLP: 8 phones, 2 malicious, non-IID (Dirichlet 0.5)", height=420)
nlp_fig.update_yaxes(range=[0, 1.05])
nlp_fig.show()


# %%
nlp_robust = [r for r in nlp_rules if r != "fedavg"]
nlp_fed_gap = nlp_central_acc.value - nlp_acc["fedavg"]["clean"].value
display(Markdown(
    f"Clean FedAvg reaches {nlp_acc['fedavg']['clean']:.3f} against "
    f"{nlp_central_acc:.3f} centralised. The sign flip drops FedAvg to "
    f"{nlp_acc['fedavg']['sign flip x5']:.3f}; the robust rules keep "
    + ", ".join(f"{r} {nlp_acc[r]['sign flip x5'].value:.3f}" for r in nlp_robust)
    + ", but on this non-IID split they pay before any attack: clean, "
    + ", ".join(f"{r} loses {nlp_acc['fedavg']['clean'].value - nlp_acc[r]['clean'].value:.3f}"
                for r in nlp_robust)
    + " against FedAvg. The boosted backdoor routes "
    f"{nlp_bd['fedavg']['boosted x4'].value:.0%} of triggered scams to `delivery_status` "
    f"through FedAvg, at most {max(nlp_bd[r]['boosted x4'].value for r in nlp_robust):.0%} "
    "through a robust rule; the adaptive push gets "
    + ", ".join(f"{nlp_bd[r]['adaptive'].value:.0%} through {r}" for r in nlp_robust) + "."))
claims.claim("nlp: on non-IID phones Krum costs >= 0.1 clean accuracy against FedAvg",
             nlp_acc["fedavg"]["clean"].value - nlp_acc["krum"]["clean"].value, at_least=0.1)
claims.claim("nlp: sign flip x5 from 2 of 8 phones drops FedAvg below 0.2",
             nlp_acc["fedavg"]["sign flip x5"].high, at_most=0.2)
claims.claim("nlp: under sign flip every robust rule keeps >= 0.25 more accuracy than FedAvg",
             min(nlp_acc[r]["sign flip x5"].low for r in nlp_robust)
             - nlp_acc["fedavg"]["sign flip x5"].high, at_least=0.25)
claims.claim("nlp: the boosted backdoor succeeds >= 90% against FedAvg",
             nlp_bd["fedavg"]["boosted x4"].low, at_least=0.9)
claims.claim("nlp: the boosted backdoor succeeds <= 5% against every robust rule",
             max(nlp_bd[r]["boosted x4"].value for r in nlp_robust), at_most=0.05)
claims.claim("nlp: the adaptive attacker costs Krum >= 0.15 accuracy",
             nlp_acc["krum"]["clean"].value - nlp_acc["krum"]["adaptive"].value, at_least=0.15)
claims.claim("nlp: the adaptive backdoor gets >= 50% through Krum or Multi-Krum",
             max(nlp_bd[r]["adaptive"].low for r in ("krum", "multi_krum")), at_least=0.5)
claims.claim("nlp: the adaptive backdoor stays <= 15% against the median and trimmed mean",
             max(nlp_bd[r]["adaptive"].value for r in ("median", "trimmed_mean")), at_most=0.15)
print(f"NLP section cells: {time.perf_counter() - nlp_t0:.1f} s wall, "
      f"{time.process_time() - nlp_cpu0:.1f} s CPU")


# %% [markdown]
# ### What changed and why (NLP)
#
# - **The vocabulary is a hash, not a fitted TF-IDF**: no phone's messages are needed to agree
#   on the columns. Collisions cost a little accuracy, and the IDF weights are gone.
# - **A mean of updates is a vote that any one phone can outweigh**: FedAvg follows 2 sign-
#   flipped phones, and a boosted update plants a backdoor in the shared model.
# - **The robust rules survive the naive attacks and pay for it on non-IID data**: each phone's
#   honest update looks like an outlier when phones see different intents, so the median,
#   the trimmed mean and Krum discard honest information too (Krum keeps one phone's update).
# - **A backdoor lives in a few columns that honest phones barely move** (the trigger's hashed
#   words): a coordinate-wise rule takes the honest majority's value in each column, which
#   leaves the trigger out, boosted or adaptive (our reading of the measurements, not a proof).
#   Krum and Multi-Krum judge whole updates by distance, so an attacker who knows them sends
#   the honest mean plus a push small enough to be selected, and the trigger gets through.


# %%
SUMMARY["nlp"] = {
    "clients": "8 phones, non-IID (Dirichlet 0.5 over 9 intents)",
    "model": f"softmax regression on {federated.N_FEATURES} hashed word 1-2-gram features",
    "measure": "test accuracy",
    "attack": "sign flip x5, 2 of 8 phones",
    "rows": [{"rule": r, "clean": nlp_acc[r]["clean"].value,
              "attacked": nlp_acc[r]["sign flip x5"].value,
              "adaptive": nlp_acc[r]["adaptive"].value} for r in nlp_rules],
}


# %% [markdown]
# ## 3 · Recommender: federated matrix factorisation on viewers' devices
#
# Lab 00's recommender factorises the pooled star ratings: a score is
# `mu + b_u + b_i + p_u . q_i`. Federated, the film factors `q_i` and biases `b_i` are the
# shared model, and each viewer's own factor `p_u` and bias `b_u` never leave their device. In
# each round a device refits its own factor to the current film factors (a ridge regression),
# and each client solves, for every film its viewers rated, a ridge regression kept close to
# the global film factor; it sends the difference. The global mean `mu` is agreed once by
# secure aggregation of each client's (sum, count).
#
# The variant federated here differs from lab 00's in size, for the budget: the catalogue is the
# films with at least 20 ratings in training and the factors have 8 dimensions (lab 00: 32, over
# every film), so that each update, and each robust aggregation of 8 of them, is small. The 8
# clients are groups of viewers' devices, dealt at random (a client can stand for the devices
# behind one regional edge server): with one client per viewer, hundreds of updates per round,
# Krum's pairwise distances alone would take longer than the whole section may.
#
# Threat model: as for the phones, the attacker controls 2 of the 8 clients' updates; the
# server sees each client's update; the adaptive attacker also sees the 6 honest updates and
# knows the rule.


# %%

rec_t0, rec_cpu0 = time.perf_counter(), time.process_time()
rec_data = load_dataset("recommender", seed=0)
rec_n_users, rec_n_items = rec_data.extra["n_users"], rec_data.extra["n_items"]
rec_items = federated.catalogue_items(rec_data.X_train, rec_n_items, min_ratings=20)
rec_groups = federated.iid_split(rec_n_users, 8, seed=seed)
rec_owner = np.empty(rec_n_users, dtype=int)
for rec_c, rec_g in enumerate(rec_groups):
    rec_owner[rec_g] = rec_c
rec_mu = federated.agree_mean_rating(rec_data.y_train, rec_owner[rec_data.X_train[:, 0]], 8,
                                  seed=seed)
rec_fed = federated.MFFederation(rec_data.X_train, rec_data.y_train, rec_groups, rec_n_users,
                              rec_items, dim=8, mu=rec_mu)
rec_init = rec_fed.initial(seed=seed)
rec_on = "viewers with a liked held-out film in the catalogue"


def rec_hr(params):
    return rec_fed.hit_rate(params, rec_data.X_test, rec_data.y_test, on=rec_on)


# centralised: the same model and steps, all viewers' ratings pooled in one place
rec_pooled = federated.MFFederation(rec_data.X_train, rec_data.y_train, [np.arange(rec_n_users)],
                                 rec_n_users, rec_items, dim=8, mu=rec_mu)
rec_central = rec_init.copy()
for _ in range(10):
    rec_central = rec_central + rec_pooled.local_updates(rec_central)[0]
rec_central_hr = rec_hr(rec_central)
rec_train_pairs = np.stack([rec_fed.users_, rec_fed.cols_], axis=1)
rec_test_pairs, rec_test_ratings = rec_fed.to_catalogue(rec_data.X_test, rec_data.y_test)
rec_pop = systems.ranking_metrics(
    systems.popularity_scores(rec_train_pairs, rec_n_users, len(rec_items)), rec_train_pairs,
    rec_test_pairs, rec_test_ratings)
print(f"catalogue: {len(rec_items)} of {rec_n_items} films, holding "
      f"{len(rec_fed.ratings_) / len(rec_data.y_train):.0%} of the training ratings; "
      f"shared parameters: {rec_fed.n_params}; viewers per client: "
      f"{[len(g) for g in rec_groups]}; mu agreed by secure aggregation: {rec_mu:.3f}")
print(f"hit rate@10, centralised: {rec_central_hr}")
print(f"hit rate@10, popularity ranking: {rec_pop['hr@10']:.3f}")


# %% [markdown]
# FedAvg and the robust rules, honest, under a sign flip (x5, 2 of 8 clients) and under the
# adaptive `directed_deviation` (5 scales searched per round). Quality is the hit rate@10: the
# share of viewers for whom a film they liked next (4 stars or more, held out) is among their
# 10 top-scored unseen films.


# %%
rec_rules = federated.AGGREGATION_RULES
rec_malicious = [0, 1]
rec_kw = dict(assumed_malicious=2)
rec_scales = np.geomspace(0.1, 100.0, 5)
rec_push_scales = np.array([0.0, 0.5, 1.0, 2.0, 4.0])


def rec_federate(rule, fed=rec_fed, attack=None, **kwargs):
    return federated.run_federation(
        rec_init, fed.local_train, 8, 10, rule=rule,
        malicious=rec_malicious if attack else (), attack=attack, seed=seed,
        **{**rec_kw, **kwargs})


def rec_sign_flip(own, benign, rnd):
    return federated.sign_flip(own, scale=5.0)


def rec_adaptive_for(rule):
    def attack(own, benign, rnd):
        return federated.directed_deviation(benign, len(own), rule, scales=rec_scales, **rec_kw)
    return attack


rec_hrs, rec_clean_runs = {}, {}
for rec_rule in rec_rules:
    rec_clean_runs[rec_rule] = rec_federate(rec_rule)
    rec_hrs[rec_rule] = {
        "clean": rec_hr(rec_clean_runs[rec_rule].params),
        "sign flip x5": rec_hr(rec_federate(rec_rule, attack=rec_sign_flip).params),
        "adaptive": rec_hr(rec_federate(rec_rule, attack=rec_adaptive_for(rec_rule)).params),
    }
display(plots.table(pd.DataFrame([
    {"rule": r, **{k: f"{v:.3f}" for k, v in row.items()}} for r, row in rec_hrs.items()]),
    caption=f"Hit rate@10 [95% Wilson] on {rec_central_hr.n} {rec_on}"))


# %%
display(Markdown(
    f"Federation costs no ranking quality here: FedAvg's hit rate@10 is "
    f"{rec_hrs['fedavg']['clean'].value:.3f}, the same model trained on pooled ratings "
    f"{rec_central_hr.value:.3f}, and ranking films by popularity {rec_pop['hr@10']:.3f}. The "
    "pooled model fits the ratings with exact ridge steps, and fitting ratings is not the same "
    "as ranking the next liked film; why the federated model ranks better is not established "
    "here (a hypothesis: the mean of 8 partial steps is a damped, more regularised step). The "
    "sign flip takes FedAvg to "
    f"{rec_hrs['fedavg']['sign flip x5'].value:.3f}, below popularity; the robust rules keep "
    + ", ".join(f"{r} {rec_hrs[r]['sign flip x5'].value:.3f}" for r in rec_rules[1:]) + "."))


# %% [markdown]
# A federated shilling attack: push one obscure film into everyone's top 10. The 2 malicious
# clients' devices all rate the target 5 stars (fake ratings that never reach the server), train
# on them and send 4 times their update. Exposure: the share of the honest clients' viewers who
# get the target in their top 10. The adaptive version (`directed_push`, from the NLP section)
# knows the rule and the honest updates, and sends the honest mean plus the multiple of its
# poisoned direction that the rule keeps most of.


# %%
rec_rng = np.random.default_rng(seed)
rec_counts = np.bincount(rec_fed.cols_, minlength=len(rec_items))
rec_target = int(rec_rng.choice(np.flatnonzero(rec_counts < 25)))
rec_fake_users = np.concatenate([rec_groups[c] for c in rec_malicious])
rec_fake_users = rec_fake_users[~np.isin(
    rec_fake_users, rec_fed.users_[rec_fed.cols_ == rec_target])]
rec_X_poison = np.vstack([rec_data.X_train, np.stack(
    [rec_fake_users, np.full(len(rec_fake_users), rec_items[rec_target])], axis=1)])
rec_y_poison = np.concatenate([rec_data.y_train, np.full(len(rec_fake_users), 5.0)])
rec_fed_poison = federated.MFFederation(rec_X_poison, rec_y_poison, rec_groups, rec_n_users,
                                     rec_items, dim=8, mu=rec_mu)
rec_honest_users = np.concatenate([rec_groups[c] for c in range(8) if c not in rec_malicious])
rec_exp_on = f"{len(rec_honest_users)} honest viewers"


def rec_exposure(params):
    return federated.target_exposure(rec_fed.scores(params), rec_target, rec_honest_users,
                                  seen=rec_train_pairs, on=rec_exp_on)


def rec_boosted(own, benign, rnd):
    return 4.0 * own


def rec_push_for(rule):
    def attack(own, benign, rnd):
        return federated.directed_push(benign, own, rule, scales=rec_push_scales, **rec_kw)
    return attack


rec_shill = {}
for rec_rule in rec_rules:
    rec_p_b = rec_federate(rec_rule, rec_fed_poison, rec_boosted).params
    rec_p_a = (rec_p_b if rec_rule == "fedavg"
               else rec_federate(rec_rule, rec_fed_poison, rec_push_for(rec_rule)).params)
    rec_shill[rec_rule] = {"no attack": rec_exposure(rec_clean_runs[rec_rule].params),
                           "boosted x4": rec_exposure(rec_p_b),
                           "adaptive": rec_exposure(rec_p_a)}
print(f"target: {rec_data.extra['titles'][rec_items[rec_target]]!r} "
      f"({rec_counts[rec_target]} ratings); fake 5-star ratings: {len(rec_fake_users)}")
display(plots.table(pd.DataFrame([
    {"rule": r, **{k: f"{v:.3f}" for k, v in row.items()}} for r, row in rec_shill.items()]),
    caption=f"Target film in the top 10 [95% Wilson] of {rec_exp_on}"))


# %% [markdown]
# What one update says about its sender. A client's film-factor update is zero on every film
# none of its viewers rated, so an honest-but-curious server reads the rated set straight off
# it. Measured on 8 single-viewer devices taking one step from the federated model, then the
# same 8 updates through secure aggregation (the server gets masked vectors and their sum) and
# DP-FedAvg (clipped updates, Gaussian noise on the mean), whose noise costs ranking quality.


# %%
rec_viewers = np.sort(rec_rng.choice(np.unique(rec_fed.users_), 8, replace=False))
rec_single = federated.MFFederation(rec_data.X_train, rec_data.y_train,
                                 [np.array([u]) for u in rec_viewers], rec_n_users, rec_items,
                                 dim=8, mu=rec_mu)
rec_p_fed = rec_clean_runs["fedavg"].params
rec_updates = rec_single.local_updates(rec_p_fed)
rec_truth = np.zeros((8, len(rec_items)), dtype=bool)
for rec_c, rec_u in enumerate(rec_viewers):
    rec_truth[rec_c, rec_fed.cols_[rec_fed.users_ == rec_u]] = True
rec_guess = np.stack([federated.rated_items_from_update(u, len(rec_items), 8)
                      for u in rec_updates])
rec_secure = federated.secure_aggregate(rec_updates, seed=seed)
rec_masked = rec_secure.masked.view(np.int64) / 2.0**24  # what the server holds per client
rec_guess_masked = np.stack([federated.rated_items_from_update(u, len(rec_items), 8)
                             for u in rec_masked])
rec_m = len(rec_items)


def rec_film_score(rows):  # per film, the largest |value| of its factor and bias
    return np.maximum(np.abs(rows[:, :rec_m * 8]).reshape(len(rows), rec_m, 8).max(axis=2),
                      np.abs(rows[:, rec_m * 8:]))


rec_priv_on = f"{rec_truth.sum()} rated films of 8 viewers"
rec_recall = stats.proportion(rec_guess[rec_truth].astype(int), on=rec_priv_on)
rec_precision = stats.proportion(rec_truth[rec_guess].astype(int),
                                 on=f"{rec_guess.sum()} films flagged")
rec_precision_masked = stats.proportion(rec_truth[rec_guess_masked].astype(int),
                                        on=f"{rec_guess_masked.sum()} films flagged (masked)")
rec_auc_plain = stats.auc_interval(rec_truth.ravel(), rec_film_score(rec_updates).ravel(),
                                   on=f"{rec_truth.size} (viewer, film) pairs", seed=seed,
                                   n_resamples=200)
rec_auc_masked = stats.auc_interval(rec_truth.ravel(), rec_film_score(rec_masked).ravel(),
                                    on=f"{rec_truth.size} (viewer, film) pairs", seed=seed,
                                   n_resamples=200)
print(f"unmasked update: precision {rec_precision}, recall {rec_recall}, AUC {rec_auc_plain}")
print(f"masked update: precision {rec_precision_masked} (share of films rated: "
      f"{rec_truth.mean():.3f}), AUC {rec_auc_masked}")
print(f"secure sum vs true sum: largest error {rec_secure.max_error:.2e}")

rec_clip = float(np.median(rec_clean_runs["fedavg"].update_norms))
rec_dp = rec_hr(rec_federate("fedavg", clip=rec_clip, noise_multiplier=1.0).params)
print(f"DP-FedAvg, clip {rec_clip:.2f} (the median update norm), noise multiplier 1.0: "
      f"hit rate@10 {rec_dp}")


# %%
rec_fig = go.Figure()
for rec_col, rec_color in (("boosted x4", plots.COLORS["attack"]),
                           ("adaptive", plots.COLORS["accent"])):
    rec_vals = [rec_shill[r][rec_col] for r in rec_rules]
    rec_fig.add_trace(go.Bar(
        name=rec_col, x=list(rec_rules), y=[v.value for v in rec_vals], marker_color=rec_color,
        error_y=dict(type="data", symmetric=False, array=[v.high - v.value for v in rec_vals],
                     arrayminus=[v.value - v.low for v in rec_vals])))
rec_fig.update_layout(barmode="group", yaxis_title="share of honest viewers with the target",
                      title="Recommender: shilling one film into the top 10, 2 of 8 clients",
                      height=400)
rec_fig.update_yaxes(range=[0, 1.05], tickformat=".0%")
rec_fig.show()


# %%
rec_robust = [r for r in rec_rules if r != "fedavg"]
display(Markdown(
    f"The boosted shilling clients put the target in the top 10 of "
    f"{rec_shill['fedavg']['boosted x4'].value:.0%} of honest viewers through FedAvg and of at "
    f"most {max(rec_shill[r]['boosted x4'].value for r in rec_robust):.0%} through a robust "
    "rule; adaptive: " + ", ".join(f"{r} {rec_shill[r]['adaptive'].value:.0%}"
                                   for r in rec_robust)
    + f". One unmasked update gives away its viewer's rated films (recall "
    f"{rec_recall.value:.2f}, precision {rec_precision.value:.2f}); masked, the same reading "
    f"flags every film (precision {rec_precision_masked.value:.3f}, the share of films rated) "
    f"and its AUC is {rec_auc_masked.value:.2f}. DP noise (multiplier 1.0) costs "
    f"{rec_hrs['fedavg']['clean'].value - rec_dp.value:.3f} of hit rate."))
claims.claim("recommender: sign flip x5 from 2 of 8 clients drops FedAvg's hit rate@10 "
             "below 0.1", rec_hrs["fedavg"]["sign flip x5"].high, at_most=0.1)
claims.claim("recommender: every robust rule keeps hit rate@10 >= 0.15 under sign flip",
             min(rec_hrs[r]["sign flip x5"].value for r in rec_robust), at_least=0.15)
claims.claim("recommender: boosted shilling puts the target in >= 50% of top-10s via FedAvg",
             rec_shill["fedavg"]["boosted x4"].low, at_least=0.5)
claims.claim("recommender: boosted shilling reaches <= 5% of top-10s via every robust rule",
             max(rec_shill[r]["boosted x4"].value for r in rec_robust), at_most=0.05)
claims.claim("recommender: the adaptive shilling push gets through Krum to >= 50% of top-10s",
             rec_shill["krum"]["adaptive"].low, at_least=0.5)
claims.claim("recommender: one unmasked update reveals the rated films (precision and recall)",
             min(rec_recall.low, rec_precision.low), at_least=0.95)
claims.claim("recommender: a masked update's film scores are at chance (|AUC - 0.5|)",
             abs(rec_auc_masked.value - 0.5), at_most=0.1)
claims.claim("recommender: DP noise (multiplier 1.0) costs hit rate@10",
             rec_hrs["fedavg"]["clean"].value - rec_dp.value, at_least=0.03)
print(f"recommender section cells: {time.perf_counter() - rec_t0:.1f} s wall, "
      f"{time.process_time() - rec_cpu0:.1f} s CPU")


# %% [markdown]
# ### What changed and why (recommender)
#
# - **Only the film factors travel**: each viewer's taste vector is refitted on the device every
#   round and never sent; the shared model is the catalogue's factors and biases.
# - **A film-factor update is a list of what the client watched**: its non-zero rows are the
#   rated films. Secure aggregation turns each update into noise the server cannot read, and
#   gives it only the sum; DP noise on the sum hides what any one client added, at a cost in
#   ranking quality; neither stops the server reading an *unmasked* update.
# - **Shilling is a targeted update on one row**: the mean lets 2 boosted clients rewrite an
#   obscure film's factor; on that row most honest clients send little or nothing, and the
#   coordinate-wise rules take their value. Krum-style rules drop a boosted update that stands
#   far from the others, but select the adaptive one, the honest mean plus a measured push.


# %%
SUMMARY["recommender"] = {
    "clients": f"8 groups of {min(len(g) for g in rec_groups)}-"
               f"{max(len(g) for g in rec_groups)} viewers' devices (viewers dealt at random)",
    "model": f"biased MF, 8 factors, {len(rec_items)}-film catalogue; film factors shared, "
             "viewers' factors on device",
    "measure": "hit rate@10",
    "attack": "sign flip x5, 2 of 8 clients",
    "rows": [{"rule": r, "clean": rec_hrs[r]["clean"].value,
              "attacked": rec_hrs[r]["sign flip x5"].value,
              "adaptive": rec_hrs[r]["adaptive"].value} for r in rec_rules],
}


# %% [markdown]
# ## 4 · Fraud: banks that train one fraud scorer together
#
# Eight banks want one fraud scorer without pooling their customers' transactions. Each card
# belongs to one bank, and the banks draw their customers from the five regions in
# Dirichlet(0.5) proportions: they differ in customers, amounts and fraud rates (non-IID by
# construction). The test set is the last quarter of days, all banks' customers together.
#
# **The model.** Lab 00's `FraudScorer` is gradient-boosted trees, which FedAvg cannot
# average (a tree ensemble has no parameter vector whose mean is a model). The banks federate
# a **logistic regression** on the same 23 features instead, each heavy-tailed column through
# `log1p` (a public transform), standardised with means and standard deviations that the banks
# compute from **securely aggregated** sums and sums of squares (nobody sees one bank's
# statistics). Local training: 5 full-batch gradient steps per round, frauds weighted 10 times.
#
# **The measure.** Fraud is about 1% of transactions, so accuracy says nothing: the section
# reports **recall at a 1% alert rate** (the share of frauds among the 1% highest-scored
# transactions, what a review team of that size catches; Wilson interval over the test frauds)
# and the **area under the precision-recall curve** (bootstrap interval; chance is the fraud
# rate).


# %%


frd_t0 = time.perf_counter()
frd_data = load_dataset("fraud", seed=0)
frd_banks = federated.bank_split(frd_data.frame_train, 8, 0.5, seed=0)
frd_public = fraud_sim.log_heavy_tails(frd_data.X_train)
frd_scaler = federated.secure_standardiser([frd_public[b] for b in frd_banks], seed=seed)
frd_X_train = frd_scaler.transform(frd_public)
frd_X_test = frd_scaler.transform(fraud_sim.log_heavy_tails(frd_data.X_test))
frd_y_test = frd_data.y_test
frd_parts_X = [frd_X_train[b] for b in frd_banks]
frd_parts_y = [frd_data.y_train[b] for b in frd_banks]
frd_sizes = [len(b) for b in frd_banks]
frd_on = f"{frd_y_test.sum()} test frauds among {len(frd_y_test):,} test-period transactions"
frd_local = federated.logistic_clients(frd_parts_X, frd_parts_y, steps=5, lr=2.0,
                                       pos_weight=10.0)
frd_initial = np.random.default_rng(seed).normal(0.0, 0.01, frd_X_train.shape[1] + 1)
frd_rounds = 10


def frd_recall(params):
    """Recall at a 1% alert rate of a federated model, on the test period."""
    return federated.recall_at_alert_rate(
        frd_y_test, federated.logistic_scores(params, frd_X_test), 0.01, on=frd_on)


def frd_federate(rule="fedavg", **kwargs):
    """One federation of the eight banks (10 rounds); Krum assumes 2 malicious banks."""
    if "krum" in rule:
        kwargs.setdefault("assumed_malicious", 2)
    return federated.run_federation(frd_initial, kwargs.pop("local", frd_local), 8, frd_rounds,
                                     rule=rule, n_examples=frd_sizes, seed=seed, **kwargs)


frd_reference = systems.reference_system("fraud", seed=seed)
frd_ref_scores = frd_reference.predict_proba(frd_data.X_test)[:, 1]
frd_clean = frd_federate()
frd_scores = federated.logistic_scores(frd_clean.params, frd_X_test)
frd_quality = pd.DataFrame([
    {"model": name, "recall @ 1% alerts": r.value, "95% CI": f"[{r.low:.3f}, {r.high:.3f}]",
     "PR-AUC": a.value, "PR-AUC 95% CI": f"[{a.low:.3f}, {a.high:.3f}]"}
    for name, r, a in (
        ("lab 00 boosted trees, pooled data (reference)",
         federated.recall_at_alert_rate(frd_y_test, frd_ref_scores, 0.01, on=frd_on),
         federated.pr_auc_interval(frd_y_test, frd_ref_scores, on=frd_on, seed=seed)),
        ("federated logistic regression, FedAvg",
         frd_recall(frd_clean.params),
         federated.pr_auc_interval(frd_y_test, frd_scores, on=frd_on, seed=seed)))])
print(f"reference: {frd_reference.source_}")
print("banks: transactions " + ", ".join(f"{n:,}" for n in frd_sizes) + "; fraud rates "
      + ", ".join(f"{y.mean():.2%}" for y in frd_parts_y))
print(f"secure standardisation: {frd_scaler.n:,} rows, largest rounding error of the sums "
      f"{frd_scaler.max_error:.2g}")
display(plots.table(frd_quality, caption=f"Quality on {frd_on} (fraud rate "
                    f"{frd_y_test.mean():.2%}, the PR-AUC of chance)"))
frd_fed_auc = federated.pr_auc_interval(frd_y_test, frd_scores, on=frd_on, seed=seed)
claims.claim("the federated logistic regression ranks frauds far above chance (lower end of "
             "its PR-AUC 95% CI over the fraud rate)", frd_fed_auc.low / frd_y_test.mean(),
             at_least=10)


# %% [markdown]
# ### Byzantine banks and the robust rules
#
# Two of the eight banks are malicious. **What they control**: their own updates, nothing
# else; the server sees every update (no secure aggregation here) and the banks' sizes.
#
# * **sign flip x5**: each sends its honest update reversed and multiplied by 5;
# * **the adaptive attacker** (`directed_deviation`, Fang et al. 2020): it knows the rule and
#   *reads the benign banks' updates* (the strongest assumption, an omniscient attacker), and
#   sends `mean - gamma * std * sign(mean)` with the `gamma` that drags that rule's aggregate
#   furthest (25 values of `gamma` tried per round, each one aggregate computed).
#
# Krum and Multi-Krum are told to expect 2 malicious banks. Every rule uses the same split.


# %%
frd_attacks = {
    "clean": {},
    "sign flip x5": dict(malicious=[0, 1],
                         attack=lambda own, benign, rnd: federated.sign_flip(own, scale=5.0)),
}
frd_runs = {}
for frd_rule in federated.AGGREGATION_RULES:
    frd_kw = dict(assumed_malicious=2) if "krum" in frd_rule else {}
    frd_runs[frd_rule, "clean"] = frd_clean if frd_rule == "fedavg" else frd_federate(frd_rule)
    frd_runs[frd_rule, "sign flip x5"] = frd_federate(frd_rule, **frd_attacks["sign flip x5"])
    frd_runs[frd_rule, "adaptive"] = frd_federate(
        frd_rule, malicious=[0, 1],
        attack=lambda own, benign, rnd, r=frd_rule, kw=frd_kw:
        federated.directed_deviation(benign, 2, r, **kw))
frd_recalls = {key: frd_recall(run.params) for key, run in frd_runs.items()}
frd_table = pd.DataFrame([
    {"rule": rule, **{f"{what}": frd_recalls[rule, what].value for what in
                      ("clean", "sign flip x5", "adaptive")},
     "sign flip 95% CI": f"[{frd_recalls[rule, 'sign flip x5'].low:.3f}, "
                         f"{frd_recalls[rule, 'sign flip x5'].high:.3f}]",
     "adaptive 95% CI": f"[{frd_recalls[rule, 'adaptive'].low:.3f}, "
                        f"{frd_recalls[rule, 'adaptive'].high:.3f}]"}
    for rule in federated.AGGREGATION_RULES])
display(plots.table(frd_table, caption=f"Recall at a 1% alert rate, {frd_on}; 2 of 8 banks "
                    "malicious"))
frd_fig = go.Figure([
    go.Bar(name=what, x=list(federated.AGGREGATION_RULES),
           y=[frd_recalls[r, what].value for r in federated.AGGREGATION_RULES],
           error_y=dict(type="data", symmetric=False,
                        array=[frd_recalls[r, what].high - frd_recalls[r, what].value
                               for r in federated.AGGREGATION_RULES],
                        arrayminus=[frd_recalls[r, what].value - frd_recalls[r, what].low
                                    for r in federated.AGGREGATION_RULES]),
           marker_color=plots.COLORS[color])
    for what, color in (("clean", "baseline"), ("sign flip x5", "attack"),
                        ("adaptive", "accent"))])
frd_fig.update_layout(barmode="group", title="Fraud: recall at a 1% alert rate, 2 of 8 banks "
                      "malicious", yaxis_title="recall (95% CI)", height=400)
frd_fig.show()
frd_clean_fedavg = frd_recalls["fedavg", "clean"].value
frd_robust = [r for r in federated.AGGREGATION_RULES if r != "fedavg"]
claims.claim("sign flip by 2 of 8 banks collapses FedAvg's recall (share of its clean recall)",
             frd_recalls["fedavg", "sign flip x5"].value / frd_clean_fedavg, at_most=0.5)
claims.claim("every robust rule keeps its recall under sign flip (largest loss against FedAvg's "
             "clean recall)", max(frd_clean_fedavg - frd_recalls[r, "sign flip x5"].value
                                  for r in frd_robust), at_most=0.06)
claims.claim("non-IID banks cost the robust rules little clean recall (largest loss against "
             "FedAvg)", max(frd_clean_fedavg - frd_recalls[r, "clean"].value for r in frd_robust),
             at_most=0.05)
claims.claim("the adaptive attacker against FedAvg leaves it below half its clean recall",
             frd_recalls["fedavg", "adaptive"].value / frd_clean_fedavg, at_most=0.5)


# %% [markdown]
# ### A targeted attack: teach the scorer to pass account takeovers
#
# One malicious bank wants one fraud pattern to pass: **account takeover** bursts (scenario 3).
# It relabels its own account-takeover frauds as legitimate, repeats them 50 times in its local
# data, and sends 8 times its update (a boosted update, as in a model-replacement backdoor).
# Success: the account takeovers of the test period that fall below the 1% alert threshold,
# against the other frauds.


# %%
frd_scenario_train = frd_data.frame_train["fraud_scenario"].to_numpy()
frd_scenario_test = frd_data.frame_test["fraud_scenario"].to_numpy()
frd_ato_counts = [int((frd_scenario_train[b] == 3).sum()) for b in frd_banks]
frd_bad = int(np.argmax(frd_ato_counts))  # the bank with the most account takeovers
frd_rows = frd_banks[frd_bad]
frd_pattern = np.flatnonzero(frd_scenario_train[frd_rows] == 3)
frd_poison_X, frd_poison_y = list(frd_parts_X), list(frd_parts_y)
frd_poison_X[frd_bad] = np.vstack([frd_parts_X[frd_bad]] + [frd_parts_X[frd_bad][frd_pattern]] * 50)
frd_poison_y[frd_bad] = np.r_[np.where(frd_scenario_train[frd_rows] == 3, 0, frd_parts_y[frd_bad]),
                              np.zeros(50 * len(frd_pattern), dtype=int)]
frd_poison_local = federated.logistic_clients(frd_poison_X, frd_poison_y, steps=5, lr=2.0,
                                              pos_weight=10.0)
frd_is_ato = frd_scenario_test == 3
frd_on_ato = f"{frd_is_ato.sum()} test-period account takeovers"
frd_on_other = f"{(frd_y_test.astype(bool) & ~frd_is_ato).sum()} other test frauds"


def frd_split_recall(params):
    """Recall at a 1% alert rate on account takeovers and on the other frauds."""
    s = federated.logistic_scores(params, frd_X_test)
    threshold = np.sort(s)[::-1][int(round(0.01 * len(s))) - 1]
    caught = s >= threshold
    return (stats.proportion(caught[frd_is_ato].astype(int), on=frd_on_ato),
            stats.proportion(caught[frd_y_test.astype(bool) & ~frd_is_ato].astype(int),
                             on=frd_on_other))


frd_target = {"no attack (FedAvg)": frd_split_recall(frd_clean.params)}
for frd_rule in ("fedavg", "median", "trimmed_mean", "multi_krum"):
    frd_run = frd_federate(frd_rule, local=frd_poison_local, malicious=[frd_bad],
                           attack=lambda own, benign, rnd: 8.0 * own,
                           **({"assumed_malicious": 1} if "krum" in frd_rule else {}))
    frd_target[frd_rule] = frd_split_recall(frd_run.params)
display(plots.table(pd.DataFrame([
    {"aggregation": k, "account takeovers caught": a.value,
     "95% CI": f"[{a.low:.3f}, {a.high:.3f}]", "other frauds caught": o.value,
     "other 95% CI": f"[{o.low:.3f}, {o.high:.3f}]"} for k, (a, o) in frd_target.items()]),
    caption=f"Bank {frd_bad} ({len(frd_pattern)} account takeovers of its own) hides the pattern"))
frd_ato_clean = frd_target["no attack (FedAvg)"][0].value
claims.claim("the boosted bank lowers FedAvg's recall on account takeovers (drop)",
             frd_ato_clean - frd_target["fedavg"][0].value, at_least=0.12)
claims.claim("the median and the trimmed mean keep it (largest drop)",
             max(frd_ato_clean - frd_target[r][0].value for r in ("median", "trimmed_mean")),
             at_most=0.1)

claims.claim("... and the attack is targeted: FedAvg's recall on the other frauds moves little "
             "(absolute change)", abs(frd_target["no attack (FedAvg)"][1].value
                                      - frd_target["fedavg"][1].value), at_most=0.05)


# %%
frd_norms = frd_run.update_norms
frd_norm_ratio = float(np.mean(frd_norms[:, frd_bad] / np.median(
    np.delete(frd_norms, frd_bad, axis=1), axis=1)))
display(Markdown(
    f"The attack is targeted: under FedAvg the other frauds' recall goes "
    f"{frd_target['no attack (FedAvg)'][1].value:.3f} -> {frd_target['fedavg'][1].value:.3f}, "
    f"while account takeovers go {frd_ato_clean:.3f} -> {frd_target['fedavg'][0].value:.3f}. "
    f"The boosted update is {frd_norm_ratio:.0f} times the honest banks' median update norm "
    "(mean over the rounds of the last run): an outlier, which is what the median and the "
    "trimmed mean discard coordinate by coordinate."))


# %% [markdown]
# ### Exercise 3 · Norm clipping
#
# Clipping bounds what any one client can do to the sum, and it is the first step of
# differential privacy on updates. Write `clip_update(update, max_norm)`: an update whose L2
# norm is above `max_norm` is scaled down, same direction, to exactly `max_norm`; a shorter
# one is returned unchanged. Return a new array and leave the argument alone.
# `max_norm <= 0`, or an update containing NaN or infinity, is bad input: raise `ValueError`.


# %%
def clip_update(update, max_norm):
    ### BEGIN SOLUTION
    u = np.asarray(update, dtype=float)
    if not max_norm > 0:
        raise ValueError("max_norm must be positive")
    if not np.isfinite(u).all():
        raise ValueError("the update contains NaN or infinity")
    norm = float(np.linalg.norm(u))
    return u * min(1.0, max_norm / norm) if norm > 0 else u.copy()
    ### END SOLUTION


# %%
### POINTS: 1
clip_update = check(lab09.CLIP_UPDATE, clip_update)
### BEGIN HIDDEN TESTS
grade(lab09.CLIP_UPDATE, clip_update)
### END HIDDEN TESTS


# %%
# Your clipping on the banks' first-round updates, at the median norm (the clip the server
# uses below): the long updates shrink, the short ones stay.
frd_ex_upd = np.stack([frd_local(c, frd_initial.copy(), 0) - frd_initial for c in range(8)])
frd_ex_clip = float(np.median(np.linalg.norm(frd_ex_upd, axis=1)))
frd_ex_yours = np.stack([clip_update(u, frd_ex_clip) for u in frd_ex_upd])
print("norms before: " + ", ".join(f"{n:.2f}" for n in np.linalg.norm(frd_ex_upd, axis=1)))
print("norms after:  " + ", ".join(f"{n:.2f}" for n in np.linalg.norm(frd_ex_yours, axis=1)))
print(f"largest difference from federated.clip_updates: "
      f"{np.abs(frd_ex_yours - federated.clip_updates(frd_ex_upd, frd_ex_clip)).max():.1e}")


# %% [markdown]
# ### Differential privacy on the banks' updates
#
# DP-FedAvg (McMahan et al., 2018): the server clips every update to a norm `C` (here the
# median norm of the clean run's first-round updates) and adds Gaussian noise of standard
# deviation `z * C / 8` to their mean. After 10 rounds in which every bank takes part, each
# bank's whole data is `(epsilon, delta)`-DP against anyone who sees the models (opacus's RDP
# accountant, `delta` = 1e-3); the server still sees each clipped update. The cost, measured
# (one noise draw per level, seeded):


# %%
frd_clip = float(np.median(frd_clean.update_norms[0]))
frd_dp = {}
for frd_z in (0.0, 0.5, 1.0, 2.0):
    frd_run = frd_federate("fedavg", clip=frd_clip, noise_multiplier=frd_z)
    frd_dp[frd_z] = (federated.client_dp_epsilon(frd_z, frd_rounds, delta=1e-3),
                     frd_recall(frd_run.params))
display(plots.table(pd.DataFrame([
    {"noise multiplier z": z, "epsilon per bank (delta 1e-3)": eps, "recall @ 1% alerts": r.value,
     "95% CI": f"[{r.low:.3f}, {r.high:.3f}]"} for z, (eps, r) in frd_dp.items()]),
    caption=f"DP-FedAvg, clip {frd_clip:.3g}, {frd_on}"))
claims.claim("clipping alone costs little recall (loss against FedAvg)",
             frd_clean_fedavg - frd_dp[0.0][1].value, at_most=0.05)
claims.claim("at z = 2 (epsilon below 10 per bank) DP costs recall (loss against FedAvg)",
             frd_clean_fedavg - frd_dp[2.0][1].value, at_least=0.05)
print(f"fraud section: {time.perf_counter() - frd_t0:.1f} s")


# %%
frd_worst_robust = max(frd_robust,
                       key=lambda r: frd_clean_fedavg - frd_recalls[r, "adaptive"].value)
display(Markdown(f"""
**What changed and why.** The banks cannot average lab 00's boosted trees, so they federate a
logistic regression: recall at a 1% alert rate {frd_recalls['fedavg', 'clean']:.3f} against the
pooled trees' {frd_quality.iloc[0]['recall @ 1% alerts']:.3f} (PR-AUC
{frd_fed_auc.value:.3f} against {frd_quality.iloc[0]['PR-AUC']:.3f}), the price of a model that
can be averaged. Two banks that flip their updates take FedAvg to
{frd_recalls['fedavg', 'sign flip x5'].value:.3f}; every robust rule stays within
{max(frd_clean_fedavg - frd_recalls[r, 'sign flip x5'].value for r in frd_robust):.3f} of the
clean recall, and the non-IID split costs them at most
{max(frd_clean_fedavg - frd_recalls[r, 'clean'].value for r in frd_robust):.3f}. The adaptive
attacker, who reads the honest updates, does most harm to {frd_worst_robust}
({frd_recalls[frd_worst_robust, 'adaptive'].value:.3f}), a small loss on this model and split.
A boosted bank that hides account takeovers gets past FedAvg (caught
{frd_ato_clean:.3f} -> {frd_target['fedavg'][0].value:.3f}) but not the median
({frd_target['median'][0].value:.3f}). DP on the updates costs recall as the noise grows:
{frd_dp[2.0][1].value:.3f} at z = 2 (epsilon {frd_dp[2.0][0]:.1f} per bank); with only eight
banks, the noise on their mean is large.
"""))


# %%
SUMMARY["fraud"] = {
    "clients": "8 banks, non-IID (customers' regions, Dirichlet 0.5)",
    "model": "logistic regression (lab 00's boosted trees cannot be averaged)",
    "measure": "recall at a 1% alert rate (test period)",
    "attack": "sign flip x5, 2 of 8 banks",
    "rows": [{"rule": r, "clean": frd_recalls[r, "clean"].value,
              "attacked": frd_recalls[r, "sign flip x5"].value,
              "adaptive": frd_recalls[r, "adaptive"].value}
             for r in federated.AGGREGATION_RULES],
}


# %% [markdown]
# ## 5 · Medical: hospitals that train the diagnosis aid together
#
# Five hospitals hold the WDBC biopsies of their own patients and want lab 00's diagnosis aid
# without sending a single record out. Their **case mixes differ**: the malignant cases are
# dealt to the hospitals in Dirichlet(1) proportions, so a referral centre sees mostly
# malignant tumours and a screening clinic almost none (non-IID by construction).
#
# **The model** is lab 00's `DiagnosisModel` as it is, a standardised logistic regression: it
# federates without change. **The scaler is agreed by secure aggregation**: each hospital sends
# its row count, column sums and sums of squares masked (pairwise masks that cancel in the
# sum), the server learns only the totals, and everyone standardises with the pooled mean and
# standard deviation (the same scaler as pooling the data, to rounding). Local training: 5
# full-batch gradient steps per round (L2 penalty 0.01), 10 rounds, FedAvg weighted by the
# hospitals' sizes. Accuracy is measured on the 114 test patients, with Wilson intervals.


# %%


med_t0 = time.perf_counter()
med_data = load_dataset("medical", seed=0)
med_parts = federated.dirichlet_split(med_data.y_train, 5, 1.0, seed=0, min_size=30)
med_scaler = federated.secure_standardiser([med_data.X_train[p] for p in med_parts], seed=seed)
med_parts_X = [med_scaler.transform(med_data.X_train[p]) for p in med_parts]
med_parts_y = [med_data.y_train[p] for p in med_parts]
med_sizes = [len(p) for p in med_parts]
med_shares = np.array([y.mean() for y in med_parts_y])
med_X_test, med_y_test = med_scaler.transform(med_data.X_test), med_data.y_test
med_on = f"{len(med_y_test)} test patients"
med_local = federated.logistic_clients(med_parts_X, med_parts_y, steps=5, lr=0.5, l2=0.01)
med_initial = np.random.default_rng(seed).normal(0.0, 0.01, med_X_test.shape[1] + 1)
med_rounds = 10


def med_accuracy(params):
    """Test accuracy of a federated logistic regression, with its Wilson interval."""
    hits = (federated.logistic_scores(params, med_X_test) > 0).astype(int) == med_y_test
    return stats.proportion(hits.astype(int), on=med_on)


def med_federate(rule="fedavg", local=None, **kwargs):
    """One federation of the five hospitals (10 rounds); Krum assumes 1 malicious hospital,
    the most it tolerates with 5 clients (n >= 2f + 3)."""
    if "krum" in rule:
        kwargs.setdefault("assumed_malicious", 1)
    return federated.run_federation(med_initial, local or med_local, 5, med_rounds, rule=rule,
                                     n_examples=med_sizes, seed=seed, **kwargs)


med_pooled = StandardScaler().fit(med_data.X_train)
med_reference = systems.reference_system("medical", seed=seed)
med_central = stats.proportion((med_reference.predict(med_data.X_test) == med_y_test)
                               .astype(int), on=med_on)
med_clean = med_federate()
med_fed = med_accuracy(med_clean.params)
med_alone = []
for med_k in range(5):  # each hospital on its own, the same training for as many steps
    med_own = federated.logistic_clients([med_parts_X[med_k]], [med_parts_y[med_k]],
                                           steps=5 * med_rounds, lr=0.5, l2=0.01)
    med_alone.append(med_accuracy(med_own(0, med_initial, 0)).value)
print("hospitals: patients " + ", ".join(map(str, med_sizes)) + "; malignant shares "
      + ", ".join(f"{s:.2f}" for s in med_shares))
print(f"secure scaler: {med_scaler.n} patients, largest rounding error of the sums "
      f"{med_scaler.max_error:.1g}; largest relative difference from the pooled scaler "
      f"{np.abs(med_scaler.scale / med_pooled.scale_ - 1).max():.1g}")
print(f"reference ({med_reference.source_}): {med_central}\nFedAvg, 5 hospitals: {med_fed}\n"
      f"each hospital alone: " + ", ".join(f"{a:.3f}" for a in med_alone))
claims.claim("FedAvg comes within 0.04 of the centralised reference (accuracy gap)",
             med_central.value - med_fed.value, at_most=0.04)
claims.claim("... and beats the worst hospital training alone (gain)",
             med_fed.value - min(med_alone), at_least=0.03)


# %% [markdown]
# ### A Byzantine hospital, and why the rules' assumptions bite with few clients
#
# One, then two of the five hospitals are malicious (20% and 40%): each sends its update
# reversed and multiplied by 5 (sign flip), or the adaptive attacker's update
# (`directed_deviation`: it knows the rule and reads the honest hospitals' updates, the
# strongest assumption). The server sees every update. With five clients, Krum's guarantee
# needs `n >= 2f + 3`, so it is told `f = 1`; the trimmed mean drops one update at each end
# (25% of 5, rounded down); the median needs a majority of honest hospitals.


# %%
med_runs = {}
for med_m in (1, 2):
    med_bad = list(range(med_m))
    for med_rule in federated.AGGREGATION_RULES:
        med_kw = dict(assumed_malicious=1) if "krum" in med_rule else {}
        med_runs[med_rule, med_m, "sign flip x5"] = med_accuracy(med_federate(
            med_rule, malicious=med_bad,
            attack=lambda own, benign, rnd: federated.sign_flip(own, scale=5.0)).params)
        med_runs[med_rule, med_m, "adaptive"] = med_accuracy(med_federate(
            med_rule, malicious=med_bad,
            attack=lambda own, benign, rnd, r=med_rule, m=med_m, kw=med_kw:
            federated.directed_deviation(benign, m, r, **kw)).params)
for med_rule in federated.AGGREGATION_RULES:
    med_runs[med_rule, 0, "clean"] = (med_fed if med_rule == "fedavg"
                                      else med_accuracy(med_federate(med_rule).params))
med_fail_at = 0.8  # a diagnosis aid below 80% accuracy has failed
med_table = pd.DataFrame([
    {"rule": r, "clean": med_runs[r, 0, "clean"].value,
     "clean 95% CI": f"[{med_runs[r, 0, 'clean'].low:.3f}, {med_runs[r, 0, 'clean'].high:.3f}]",
     **{f"{a}, {m} of 5": med_runs[r, m, a].value for m in (1, 2)
        for a in ("sign flip x5", "adaptive")},
     "fails at (share of hospitals)": next(
         (f"{m / 5:.0%}" for m in (1, 2) if min(med_runs[r, m, a].value for a in
                                                ("sign flip x5", "adaptive")) < med_fail_at),
         "holds at 40%")}
    for r in federated.AGGREGATION_RULES])
display(plots.table(med_table, caption=f"Accuracy on {med_on}; 'fails' = below {med_fail_at}"))
med_fig = plots.curves([0, 1, 2], {r: [med_runs[r, 0, "clean"].value] + [
    min(med_runs[r, m, a].value for a in ("sign flip x5", "adaptive")) for m in (1, 2)]
    for r in federated.AGGREGATION_RULES}, title="Medical: worst accuracy of the two attacks "
    "against the number of malicious hospitals (of 5)", xaxis_title="malicious hospitals",
    yaxis_title="test accuracy")
med_fig.show()
med_robust = [r for r in federated.AGGREGATION_RULES if r != "fedavg"]
claims.claim("one adaptive hospital of five breaks FedAvg (accuracy)",
             med_runs["fedavg", 1, "adaptive"].value, at_most=0.6)
claims.claim("with one malicious hospital every robust rule holds (worst accuracy of both "
             "attacks)", min(med_runs[r, 1, a].value for r in med_robust
                             for a in ("sign flip x5", "adaptive")), at_least=0.85)
claims.claim("with two of five the trimmed mean and Multi-Krum fail (best accuracy under sign "
             "flip)", max(med_runs[r, 2, "sign flip x5"].value
                          for r in ("trimmed_mean", "multi_krum")), at_most=0.5)
claims.claim("... while the median, with its honest majority, holds (worst accuracy)",
             min(med_runs["median", 2, a].value for a in ("sign flip x5", "adaptive")),
             at_least=0.85)
claims.claim("Krum pays for picking one hospital's update on clean non-IID data (accuracy "
             "below FedAvg's)", med_fed.value - med_runs["krum", 0, "clean"].value,
             at_least=0.02)


# %% [markdown]
# ### What one update tells the server, and what secure aggregation leaves it
#
# A hospital's update is computed from its patients. Its **bias coordinate** moves with the
# hospital's share of malignant cases (one gradient step from a model that says 0.5 everywhere
# moves it by `lr * (share - 0.5)` exactly). The honest-but-curious server calibrates that
# relation on **shadow hospitals** it simulates from labelled data of its own (here the test
# patients, resampled at ten known shares, from the same global model each round) and reads
# every hospital's case mix off its update, in every round.
#
# Under **secure aggregation** the server receives each update plus a pairwise mask (uniform
# modulo 2^64) and only the sum is exact: the same inference, run on the masked coordinate.


# %%
med_seen = []


def med_recording(client, params, rnd):
    """The hospitals' training, with each update recorded as the server receives it."""
    new = med_local(client, params, rnd)
    med_seen.append((rnd, client, params.copy(), new - params))
    return new


med_federate(local=med_recording)
med_grid = np.linspace(0.05, 0.95, 10)
med_shadow = federated.logistic_clients(
    *federated.shadow_clients(med_X_test, med_y_test, med_grid, 90, seed=seed),
    steps=5, lr=0.5, l2=0.01)
med_est, med_masked_est, med_true, med_round_of, med_errors = [], [], [], [], []
for med_r in range(med_rounds):
    med_rows = [s for s in med_seen if s[0] == med_r]
    med_global = med_rows[0][2]
    med_updates = np.stack([s[3] for s in med_rows])
    med_shadow_bias = [med_shadow(k, med_global, med_r)[-1] - med_global[-1]
                       for k in range(len(med_grid))]
    med_est += list(federated.infer_case_mix(med_updates[:, -1], med_shadow_bias, med_grid))
    med_secure = federated.secure_aggregate(med_updates * np.array(med_sizes)[:, None],
                                             seed=seed + med_r)
    med_errors.append(med_secure.max_error)
    med_masked_est += list(federated.infer_case_mix(
        federated.masked_coordinate(med_secure.masked, -1), med_shadow_bias, med_grid))
    med_true += [med_shares[s[1]] for s in med_rows]
    med_round_of += [med_r] * len(med_rows)
med_leak = federated.case_mix_leak(med_est, med_true, med_round_of, seed=seed)
med_masked_leak = federated.case_mix_leak(med_masked_est, med_true, med_round_of, seed=seed)
display(plots.table(pd.DataFrame([
    {"server sees": n, "mean abs. error of the share": x.mae,
     "guessing the mean share": x.baseline_mae, "pairs ordered right": x.order_accuracy.value,
     "95% CI": f"[{x.order_accuracy.low:.3f}, {x.order_accuracy.high:.3f}]"}
    for n, x in (("each update (plain FedAvg)", med_leak),
                 ("each masked update (secure aggregation)", med_masked_leak))]),
    caption=f"Inferring each hospital's malignant share, {med_rounds} rounds x 5 hospitals; "
    f"{med_leak.order_accuracy.on}"))
print("round 1 estimates: " + ", ".join(f"{e:.2f}" for e in med_est[:5]) + "; true shares: "
      + ", ".join(f"{s:.2f}" for s in med_true[:5]))
print(f"secure aggregation: largest error of the sum over {med_rounds} rounds "
      f"{max(med_errors):.1g}")
claims.claim("an unmasked update orders two hospitals' case mixes right (lower end of the 95% "
             "CI)", med_leak.order_accuracy.low, at_least=0.85)
claims.claim("a masked update orders them at chance (distance of the accuracy from 0.5)",
             abs(med_masked_leak.order_accuracy.value - 0.5), at_most=0.15)
claims.claim("the securely aggregated sum is exact (largest error over all rounds)",
             max(med_errors), at_most=1e-4)


# %% [markdown]
# ### Exercise 4 · Pairwise masks that cancel
#
# Secure aggregation (Bonawitz et al., 2017) works in Z_2^64: each hospital's update is encoded
# in fixed point as `uint64`, and each pair of hospitals `i < j` agrees on a pseudo-random
# stream (by a key exchange; `federated.pairwise_masks` uses X25519). Write
# `mask_updates(encoded, pair_streams)`: `encoded` is (n, d) `uint64`, and
# `pair_streams[(i, j)]` (for every pair `i < j`) is the (d,) `uint64` stream of that pair.
# Client `i` **adds** the stream it shares with every `j > i` and **subtracts** the one it
# shares with every `j < i`, modulo 2^64 (numpy's `uint64` arithmetic wraps by itself), so
# the masks cancel in the sum. Return the (n, d) `uint64` masked updates; a missing pair is
# bad input: raise `KeyError`.


# %%
def mask_updates(encoded, pair_streams):
    ### BEGIN SOLUTION
    E = np.asarray(encoded, dtype=np.uint64)
    masked = E.copy()
    for i in range(len(E)):
        for j in range(i + 1, len(E)):
            stream = np.asarray(pair_streams[(i, j)], dtype=np.uint64)
            masked[i] += stream
            masked[j] -= stream
    return masked
    ### END SOLUTION


# %%
### POINTS: 2
mask_updates = check(lab09.MASK_UPDATES, mask_updates)
### BEGIN HIDDEN TESTS
grade(lab09.MASK_UPDATES, mask_updates)
### END HIDDEN TESTS


# %%
# Your masking on the hospitals' last-round updates: the server adds the masked vectors and
# decodes the exact sum; one masked update alone decodes to noise.
med_ex_upd = np.stack([s[3] for s in med_seen if s[0] == med_rounds - 1])
med_ex_enc = np.round(med_ex_upd * 2.0 ** 24).astype(np.int64).view(np.uint64)
med_ex_rng = np.random.default_rng(seed)
med_ex_streams = {(i, j): med_ex_rng.integers(0, 2**64, size=med_ex_upd.shape[1],
                                              dtype=np.uint64)
                  for i in range(len(med_ex_upd)) for j in range(i + 1, len(med_ex_upd))}
med_ex_masked = mask_updates(med_ex_enc, med_ex_streams)
med_ex_sum = med_ex_masked.sum(axis=0, dtype=np.uint64).view(np.int64) / 2.0 ** 24
print(f"largest error of the decoded sum: {np.abs(med_ex_sum - med_ex_upd.sum(axis=0)).max():.1e}")
print(f"hospital 0's bias update: {med_ex_upd[0, -1]:+.4f}; what the server decodes from its "
      f"masked update: {med_ex_masked[0, -1:].view(np.int64)[0] / 2.0 ** 24:+.3g}")


# %% [markdown]
# ### What differential privacy costs the diagnosis aid
#
# DP-FedAvg clips each update to the median norm of the clean run's first round and adds
# Gaussian noise of standard deviation `z * C / 5` to the mean; each hospital's whole data is
# then `(epsilon, delta)`-DP (`delta` = 1e-3, opacus's RDP accountant) against anyone who sees
# the models. The server still sees the clipped updates: against it, DP needs secure
# aggregation too (each hospital adds its share of the noise before masking). Five noise draws
# per level (seeded); the interval is over the draws.


# %%
med_clip = float(np.median(med_clean.update_norms[0]))
med_dp = {}
for med_z in (0.0, 0.5, 1.0, 2.0):
    med_draws = [med_accuracy(federated.run_federation(
        med_initial, med_local, 5, med_rounds, n_examples=med_sizes, clip=med_clip,
        noise_multiplier=med_z, seed=seed * 100 + k).params).value for k in range(5)]
    med_dp[med_z] = (federated.client_dp_epsilon(med_z, med_rounds, delta=1e-3),
                     stats.mean_interval(med_draws, on="5 noise draws", seed=seed))
display(plots.table(pd.DataFrame([
    {"noise multiplier z": z, "epsilon per hospital (delta 1e-3)": eps,
     "mean accuracy": a.value, "95% CI (draws)": f"[{a.low:.3f}, {a.high:.3f}]"}
    for z, (eps, a) in med_dp.items()]), caption=f"DP-FedAvg, clip {med_clip:.3g}, {med_on}"))
claims.claim("clipping alone costs little accuracy (loss against FedAvg)",
             med_fed.value - med_dp[0.0][1].value, at_most=0.03)
claims.claim("at z = 2 DP costs accuracy (mean loss against FedAvg)",
             med_fed.value - med_dp[2.0][1].value, at_least=0.02)
print(f"medical section: {time.perf_counter() - med_t0:.1f} s")


# %%
med_krum_fail = next((m for m in (1, 2) if min(
    med_runs["krum", m, a].value for a in ("sign flip x5", "adaptive")) < med_fail_at), None)
display(Markdown(f"""
**What changed and why.** The hospitals' logistic regression federates as it is: with the
scaler agreed by secure aggregation, FedAvg reaches {med_fed.value:.3f} against the pooled
reference's {med_central.value:.3f}, while the hospitals alone reach between {min(med_alone):.3f}
and {max(med_alone):.3f}. With five clients the robust rules' assumptions bite: one adaptive
hospital takes FedAvg to {med_runs['fedavg', 1, 'adaptive'].value:.3f}; at two of five the
trimmed mean (one update trimmed at each end) and Multi-Krum (which keeps `n - f` updates with
`f = 1`) fail, while the median, backed by an honest majority, keeps
{min(med_runs['median', 2, a].value for a in ('sign flip x5', 'adaptive')):.3f}. Krum
{'fails at ' + str(med_krum_fail) + ' of 5' if med_krum_fail else 'holds'}, but its clean
accuracy ({med_runs['krum', 0, 'clean'].value:.3f}) is one hospital's update: the cost of
robustness on non-IID data. One unmasked update orders two hospitals' malignant shares right
{med_leak.order_accuracy.value:.0%} of the time; the masked one
{med_masked_leak.order_accuracy.value:.0%}, chance, while the sum stays exact. DP on the
updates costs {med_fed.value - med_dp[2.0][1].value:.3f} accuracy at z = 2 (epsilon
{med_dp[2.0][0]:.1f} per hospital).
"""))


# %%
SUMMARY["medical"] = {
    "clients": "5 hospitals, non-IID case mix (Dirichlet 1.0 over diagnoses)",
    "model": "standardised logistic regression (lab 00's model; scaler by secure aggregation)",
    "measure": "test accuracy",
    "attack": "sign flip x5, 1 of 5 hospitals",
    "rows": [{"rule": r, "clean": med_runs[r, 0, "clean"].value,
              "attacked": med_runs[r, 1, "sign flip x5"].value,
              "adaptive": med_runs[r, 1, "adaptive"].value}
             for r in federated.AGGREGATION_RULES],
}


# %% [markdown]
# ## 6 · A real framework: Flower
#
# Every federation above ran in this notebook's process, with a loop
# (`common.run_federation`) and aggregation rules that are Flower's own code: the lab calls
# `flwr.server.strategy.aggregate` (`aggregate` for FedAvg's weighted mean, `aggregate_median`,
# `aggregate_trimmed_avg`, `aggregate_krum` for Krum and Multi-Krum) directly on arrays. What
# it does not use is Flower's *engine*, the machinery that moves models between a server and
# clients. Differential privacy's noise scale comes from Flower too (`compute_stdv`); secure
# aggregation is written here because Flower's SecAgg+ runs only inside the engine.


# %%

# Issue 21's probe, measured by the course's maintainers on a 2-core CPU with Flower 1.42 and
# Ray (not installed here, so the simulation rows are not re-measured): one 8-client, 10-round
# experiment on Flower's simulation engine, the same experiments as the in-process loop, and
# Flower's deployment engine (SuperLink and SuperNodes on 127.0.0.1).
flw_probe = pd.DataFrame([
    ("simulation engine (Ray), 1 experiment", "30-37 s", "about 1.1 GB"),
    ("simulation engine (Ray), 5 experiments in one call", "44-56 s", "not reported"),
    ("in-process loop, the same experiments", "about 12 s", "about 0.4 GB"),
    ("deployment engine, 3 rounds of a NumPy model", "about 56 s", "not reported"),
    ("deployment engine, the same with torch", "about 91 s", "about 2 GB"),
], columns=["how", "wall time", "memory"])
# `python3 tasks.py federation` (the run the deployment test in tests/test_federated_flower.py
# makes: 3 hospitals, 3 rounds of FedAvg), measured twice outside the notebook on this machine
# on 2026-11-30 with psutil sampling the whole process tree, while other jobs shared its 2 cores.
flw_measured = pd.DataFrame([
    {"run": 1, "SuperLink start to result (s)": 55.1, "whole task, processes stopped (s)": 64.2,
     "peak memory, PSS of all processes (GB)": 2.20, "processes": 24,
     "load average (2 cores)": 5.0, "same federation in process (s)": 0.016},
    {"run": 2, "SuperLink start to result (s)": 75.3, "whole task, processes stopped (s)": 83.0,
     "peak memory, PSS of all processes (GB)": 2.19, "processes": 24,
     "load average (2 cores)": 4.9, "same federation in process (s)": 0.012},
])
display(plots.table(flw_probe, caption="Flower's engines against the in-process loop (issue 21's "
                    "probe, measured by the course's maintainers)"))
display(plots.table(flw_measured, caption="python3 tasks.py federation (3 hospitals, 3 rounds), "
                    "measured outside the notebook on this machine on 2026-11-30"))
flw_wall = flw_measured["SuperLink start to result (s)"]
display(Markdown(
    "Ray's simulation engine starts a cluster for every `run_simulation` call and fits on two "
    "cores only with one actor, so a single experiment takes about half of this whole lab's "
    "budget. The deployment engine (a SuperLink and one SuperNode per hospital, separate "
    "processes on 127.0.0.1), measured outside this notebook on this machine, took "
    f"**{flw_wall.min():.0f}-{flw_wall.max():.0f} s** and "
    f"**{flw_measured['peak memory, PSS of all processes (GB)'].max():.1f} GB** over its "
    f"{flw_measured['processes'].max()} processes for 3 rounds of 3 hospitals, against "
    f"{flw_measured['same federation in process (s)'].max():.3f} s for the same federation in "
    "process: every message starts a fresh ClientApp process, and an idle SuperNode, like the "
    "ServerApp waiting for replies, polls the SuperLink every 3 s. So the lab measures in "
    "process, with Flower's aggregation code."))


# %% [markdown]
# ### The same hospitals as a Flower app
#
# The course ships the medical federation as a real Flower app too: each **SuperNode** is one
# hospital (its node config picks its share of the training rows, which never leave it), the
# **ClientApp** trains the diagnosis model's logistic regression in NumPy with the same
# `local_train` the in-process run uses, and the **ServerApp** runs Flower's message strategy for
# the rule the run config names (`FedAvg`, `FedMedian`, `FedTrimmedAvg`, `Krum`, `MultiKrum`).
# One change from lab 00's `DiagnosisModel`: no hospital may see the others' rows, so the
# features are standardised with a mean and scale pooled from each hospital's counts, sums and
# sums of squares (a first `query` message), not fitted on all rows. The app's files:


# %%
flw_toml = (federated.APP_DIR / "pyproject.toml").read_text()
display(Markdown(
    "`federation/pyproject.toml` (the code is `mlsec_helpers/federated/flower_app.py`: "
    "`client_app`, `server_app`):\n\n```toml\n" + flw_toml.strip() + "\n```"))


# %% [markdown]
# Run it from a terminal (not in this notebook: it takes about a minute or two):
#
# ```
# python3 tasks.py federation                   # FedAvg, 3 hospitals, 3 rounds
# python3 tasks.py federation --rule median     # any rule of the lab
# ```
#
# It starts a SuperLink and one SuperNode per hospital as separate processes listening on
# 127.0.0.1 only, submits the app with `flwr run`, and prints, in order: the SuperLink's and the
# SuperNodes' ports; the `flwr run` command; each `ServerApp: [hospitals] round k: test accuracy
# ...` line the server logs after aggregating round k (on the held-out test patients, which only
# the server holds), then its final accuracy; a line saying that every process it started was
# stopped and its temporary `FLWR_HOME` deleted (also on Ctrl-C or a timeout); the final accuracy
# with the run's wall time; and the same federation run in one process, with the largest
# difference between the two final models. Telemetry and Flower's update check are off.
# This is how a federation across hospitals would run, each hospital starting
# `flower-supernode` on its own machine (with TLS and node authentication, not `--insecure`).
#
# Here, in a second, the claim that matters for the lab's numbers: Flower's strategy objects,
# given clients' replies as `Message`s (no engine), aggregate as `common.aggregate` does.


# %%
flw_t0 = time.perf_counter()
flw_hospitals = [federated.hospital_data(i, 8) for i in range(8)]
flw_sizes = np.array([len(y) for _, y in flw_hospitals])
flw_mean, flw_scale = federated.pooled_scaler(
    [federated.hospital_statistics(X) for X, _ in flw_hospitals])
flw_start = federated.initial_params()
flw_updates = np.stack([federated.local_train(flw_start, X, y, flw_mean, flw_scale) - flw_start
                        for X, y in flw_hospitals])
flw_updates[:2] = federated.sign_flip(flw_updates[:2], scale=5.0)  # 2 of 8 flip, x5
flw_rows = []
for flw_rule in federated.AGGREGATION_RULES:
    flw_kw = {"assumed_malicious": 2} if "krum" in flw_rule else {}
    flw_flower = federated.flower_aggregate(flw_updates, flw_rule, n_examples=flw_sizes, **flw_kw)
    flw_ours = federated.aggregate(flw_updates, flw_rule, n_examples=flw_sizes, **flw_kw)
    flw_rows.append({"rule": flw_rule, "Flower strategy": federated.RULE_STRATEGIES[flw_rule],
                     "max |difference|": f"{np.abs(flw_flower - flw_ours).max():.1e}",
                     "update norm": float(np.linalg.norm(flw_flower))})
flw_agree = pd.DataFrame(flw_rows)
display(plots.table(flw_agree, caption="Flower's message strategies (aggregate_train on "
                    "Messages) against common.aggregate: 8 hospitals' first-round updates, "
                    "2 sign-flipped x5"))
flw_max_diff = float(flw_agree["max |difference|"].astype(float).max())
print(f"largest difference over the five rules: {flw_max_diff:.1e} (float64 rounding: "
      "the strategies average parameters in another order)")
claims.claim("Flower's strategies and common.aggregate agree on every rule (max |difference|)",
             flw_max_diff, at_most=1e-9)


# %% [markdown]
# And the federation itself: the ServerApp's path (hospitals send new parameters; Flower's
# `FedAvg` strategy averages the replies, weighted by `num-examples`) against the lab's
# in-process loop (updates, `common.aggregate`), 8 hospitals for 10 rounds. The deployment test
# runs the first path on the engine (3 hospitals, 3 rounds) and checks it against the second.


# %%
flw_data = load_dataset("medical")
flw_loop = federated.run_in_process("fedavg", 8, 10)
flw_params = federated.initial_params()
for _ in range(10):
    flw_new = np.stack([federated.local_train(flw_params, X, y, flw_mean, flw_scale)
                        for X, y in flw_hospitals])
    flw_params = federated.flower_aggregate(flw_new, "fedavg", n_examples=flw_sizes)
flw_n_test = len(flw_data.y_test)
flw_hits = round(federated.accuracy(flw_params, flw_data.X_test, flw_data.y_test, flw_mean,
                                  flw_scale) * flw_n_test)
flw_acc = stats.proportion(flw_hits, flw_n_test, on=f"{flw_n_test} test patients")
print(f"Flower strategy path: test accuracy {flw_acc}")
print(f"in-process loop:      test accuracy {flw_loop.final:.4f}; largest parameter "
      f"difference {np.abs(flw_params - flw_loop.params).max():.1e}")
print(f"cell time of this section's computations: {time.perf_counter() - flw_t0:.2f} s")
claims.claim("the Flower path and the in-process loop reach the same test accuracy "
             "(|difference|)", abs(flw_acc.value - flw_loop.final), at_most=0.5 / flw_n_test)
claims.claim("the federated diagnosis model learns (test accuracy, lower Wilson bound)",
             flw_acc.low, at_least=0.85)


# %% [markdown]
# **What changed and why.** Nothing in the numbers: the lab's federations use Flower's own
# aggregation code, and the Flower app runs the same hospital training, so the engine would
# change where the code runs (separate processes talking over the network), not what it
# computes. What the engine adds is what a real deployment needs (processes on different
# machines, TLS, node authentication, SecAgg+ as client and server mods), and what it costs is
# time: minutes where the loop takes a fraction of a second.


# %% [markdown]
# ## Summary: five federations under attack
#
# One row per system and aggregation rule: the model's quality without attack, under the
# section's headline Byzantine attack, and under the adaptive attacker who knows the rule. Each
# section names its measure, its clients and its attack; the sections' tables carry the
# intervals.


# %%
summary = pd.DataFrame([
    {"system": domain, "clients": SUMMARY[domain]["clients"],
     "measure": SUMMARY[domain]["measure"], "attack": SUMMARY[domain]["attack"],
     "rule": row["rule"], "clean": row["clean"], "attacked": row["attacked"],
     "adaptive attacker": row["adaptive"]}
    for domain in catalogue.DOMAINS for row in SUMMARY[domain]["rows"]])
display(plots.table(summary, caption="Clean, attacked and adaptively attacked quality of each "
                    "federation, per aggregation rule"))


# %%
summary_fig = go.Figure()
for column, role in (("clean", "baseline"), ("attacked", "attack"),
                     ("adaptive attacker", "accent")):
    summary_fig.add_trace(go.Bar(
        name=column, x=[summary["system"], summary["rule"]], y=summary[column] / summary.groupby(
            "system")["clean"].transform("max"), marker_color=plots.COLORS[role]))
summary_fig.update_layout(barmode="group", height=460, yaxis_title="quality / best clean "
                          "quality of the system", title="Robust rules hold against the "
                          "headline attack; the adaptive attacker finds their limits")
summary_fig


# %%
summary_rel = summary.assign(
    attacked_rel=summary["attacked"] / summary["clean"],
    adaptive_rel=summary["adaptive attacker"] / summary["clean"])
summary_fedavg = summary_rel[summary_rel["rule"] == "fedavg"].set_index("system")
summary_robust = summary_rel[summary_rel["rule"] != "fedavg"]
summary_gap = (summary_robust.groupby("system")["attacked_rel"].min()
               - summary_fedavg["attacked_rel"])
display(Markdown(
    f"**What the sections show together.** Under each section's headline attack FedAvg kept "
    f"between {summary_fedavg['attacked_rel'].min():.2f} and "
    f"{summary_fedavg['attacked_rel'].max():.2f} of its clean quality, and in every system the "
    f"worst robust rule kept more (by {summary_gap.min():.2f} to {summary_gap.max():.2f}). "
    f"Against the adaptive attacker the robust rules kept between "
    f"{summary_robust['adaptive_rel'].min():.2f} and {summary_robust['adaptive_rel'].max():.2f} "
    f"of their clean quality: a rule tested only against the attack it was designed for is not "
    f"evaluated. Robustness is not free either (every section measured each rule's clean cost, "
    f"larger on non-IID clients), and no rule protects the clients' privacy from the server: "
    f"that took secure aggregation, which in turn hides the updates a robust rule needs to look "
    f"at."))
claims.claim("summary: in every system the worst robust rule keeps more of its clean quality "
             "than FedAvg under the headline attack (smallest gap)", float(summary_gap.min()),
             at_least=0.0)


# %% [markdown]
# ## Challenge · Get past Krum
#
# `lab09.krum_task(seed=...)` is a federation of 8 clients training a logistic regression for
# 20 rounds; each round every client takes one SGD step on a batch of 16 of its own rows and
# the server aggregates with **Krum, assuming f = 2** (`task.aggregate(updates)` is exactly
# what it does). You control clients 6 and 7 (`task.attackers`). Write `break_krum(task)`
# returning an attack `attack(own_updates, benign_updates, round)` that returns one update
# per client you control (shape (2, `task.dim`)); like the lab's adaptive attacker, it sees
# the six benign updates of the round. You pass when the final test accuracy is at least
# `lab09.CHALLENGE_DROP` below the clean federation's. Flipping or scaling your updates does
# nothing here: Krum never picks them. The check grades on federations you have not seen.


# %%
def break_krum(task):
    ### BEGIN SOLUTION
    # Fang et al. (2020): two identical updates are each other's nearest neighbour, which
    # lowers their Krum score. Send mean - gamma * sign(mean) with the largest gamma Krum still
    # selects (found by halving): the server then steps against the benign direction.
    def attack(own_updates, benign_updates, rnd):
        benign = np.asarray(benign_updates, dtype=float)
        mean = benign.mean(axis=0)
        gamma = 4.0 * float(np.abs(benign).max())
        while gamma > 1e-6:
            crafted = np.tile(mean - gamma * np.sign(mean), (len(own_updates), 1))
            if np.allclose(task.aggregate(np.vstack([benign, crafted])), crafted[0]):
                return crafted
            gamma /= 2
        return np.tile(mean, (len(own_updates), 1))

    return attack
    ### END SOLUTION


# %%
### POINTS: 3
break_krum = check(lab09.CHALLENGE, break_krum)
### BEGIN HIDDEN TESTS
grade(lab09.CHALLENGE, break_krum)
### END HIDDEN TESTS


# %%
fresh_task = lab09.krum_task(seed=1000 + seed)  # never graded
fresh_clean, fresh_flip = lab09.challenge_outcome(
    fresh_task, lambda own, benign, rnd: federated.sign_flip(own, scale=5.0))
_, fresh_yours = lab09.challenge_outcome(fresh_task, break_krum(fresh_task))
print(f"a fresh federation: clean accuracy {fresh_clean:.3f}; with two clients flipping x5 "
      f"{fresh_flip:.3f}; with your attack {fresh_yours:.3f}")
claims.claim("an attack tailored to Krum lowers a fresh federation's accuracy (drop)",
             fresh_clean - fresh_yours, at_least=lab09.CHALLENGE_DROP)


# %% [markdown]
# Krum's guarantee assumes that the honest updates cluster more tightly than anything an
# attacker can place near them. With noisy honest updates (one SGD step on 16 rows) the
# cluster is wide, and two colluding clients that agree with each other sit inside it while
# pointing the wrong way. Defences that hold up better combine rules (Bulyan: Krum, then a
# trimmed mean), bound each client's influence over many rounds (clipping and reputation),
# reduce the honest variance (larger local batches, momentum), and check the aggregate
# against a validation set the server holds.


# %% [markdown]
# ## Reflection
#
# Answer each question in its cell; the rubric in the instructor's version gives the points.


# %% [markdown]
# ### POINTS: 3
# **1.** On IID phones the robust rules shrugged off sign flipping; on non-IID phones the median
# and the trimmed mean lost several points. Explain why, and what a consortium of hospitals
# with very different case mixes should conclude about choosing a rule.
#
# ### BEGIN SOLUTION
# Model answer: coordinate-wise rules assume honest values cluster, so that dropping the
# extremes removes the attackers. With non-IID data the honest updates disagree (each client
# pulls towards its own classes), so the honest spread is wide and two extreme values move the
# median or trimmed mean further within it; the rules also throw away legitimate minority
# updates, which is their clean cost. Hospitals with different case mixes are the non-IID case:
# measure each rule's clean cost and its loss under attack on their own split, prefer rules
# that hold there (Multi-Krum did better in this lab), and combine them with clipping and
# client reputation. Rubric: 2 points for the mechanism, 1 for the conclusion.
# ### END SOLUTION


# %% [markdown]
# ### POINTS: 3
# **2.** The boosted backdoor succeeded against FedAvg and failed against the robust rules, yet
# the attacker who knew the clip norm still got part of the backdoor in. Why does clipping not
# stop it, and what would?
#
# ### BEGIN SOLUTION
# Model answer: clipping bounds the norm of each update, not its direction; an attacker who
# spends its whole allowed norm on the few weights the trigger uses (weights that honest
# clients never move) accumulates the backdoor over rounds without ever exceeding the bound.
# Stronger: robust aggregation (the trigger weights' values are outliers per coordinate),
# differential privacy noise added to the aggregate (it drowns small consistent pushes),
# anomaly detection on update directions over time, and testing the global model for
# backdoors (lab 08's attribution audits). Rubric: 1 point for why, 2 for defences.
# ### END SOLUTION


# %% [markdown]
# ### POINTS: 3
# **3.** Secure aggregation hides each update from the server, and robust aggregation needs to
# see each update. How can a federation have both? Name a technique and what it costs.
#
# ### BEGIN SOLUTION
# Model answer: options include computing the robust rule inside secure computation (lab 10:
# secret-shared median or Krum distances, at a large cost in communication), letting each
# client prove its update is in bounds without revealing it (zero-knowledge norm proofs, as in
# some secure-aggregation protocols; costs computation), robust rules on coarse statistics
# that can be securely aggregated (clipped sums; weaker), or trusted hardware for the
# aggregator (trust moves to the hardware vendor). Rubric: 1 point for the tension, 1 for a
# technique, 1 for its cost.
# ### END SOLUTION


# %% [markdown]
# ### POINTS: 3
# **4.** A phone's update in the image section revealed its users' label distribution, and a
# single-digit gradient revealed the digit itself. Which settings of a real deployment make
# such leaks worse or better, and how would you measure the risk before launch?
#
# ### BEGIN SOLUTION
# Model answer: worse: small local batches (one example per update), few local steps, sending
# gradients rather than several steps' updates, no secure aggregation, a server that can
# choose the model it sends (it can craft models that leak more). Better: large batches and
# many local steps, secure aggregation with enough clients per round, client-side DP noise,
# compression. Measure by running the attacks of this lab (label inference, gradient
# inversion, case-mix inference) against the planned configuration on proxy data, with
# intervals, as part of the threat model of lab 01. Rubric: 1 point each for worse, better and
# measurement.
# ### END SOLUTION


# %% [markdown]
# ## Further reading
#
# - H. B. McMahan, E. Moore, D. Ramage, S. Hampson and B. Agüera y Arcas, "Communication-
#   Efficient Learning of Deep Networks from Decentralized Data", AISTATS 2017 (FedAvg).
# - P. Blanchard, E. M. El Mhamdi, R. Guerraoui and J. Stainer, "Machine Learning with
#   Adversaries: Byzantine Tolerant Gradient Descent", NeurIPS 2017 (Krum); D. Yin, Y. Chen,
#   K. Ramchandran and P. Bartlett, "Byzantine-Robust Distributed Learning", ICML 2018 (median
#   and trimmed mean).
# - G. Baruch, M. Baruch and Y. Goldberg, "A Little Is Enough", NeurIPS 2019; M. Fang, X. Cao,
#   J. Jia and N. Gong, "Local Model Poisoning Attacks to Byzantine-Robust Federated
#   Learning", USENIX Security 2020; V. Shejwalkar and A. Houmansadr, "Manipulating the
#   Byzantine", NDSS 2021.
# - E. Bagdasaryan, A. Veit, Y. Hua, D. Estrin and V. Shmatikov, "How To Backdoor Federated
#   Learning", AISTATS 2020; Z. Sun, P. Kairouz, A. T. Suresh and H. B. McMahan, "Can You
#   Really Backdoor Federated Learning?", 2019.
# - K. Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving Machine
#   Learning", CCS 2017; H. B. McMahan, D. Ramage, K. Talwar and L. Zhang, "Learning
#   Differentially Private Recurrent Language Models", ICLR 2018 (DP-FedAvg).
# - L. Zhu, Z. Liu and S. Han, "Deep Leakage from Gradients", NeurIPS 2019; B. Zhao, K. R.
#   Mopuri and H. Bilen, "iDLG", 2020.
# - D. J. Beutel et al., "Flower: A Friendly Federated Learning Framework", 2020
#   (flower.ai).
# - OWASP ML Top 10 ML02 (Data Poisoning) and ML10 (Model Poisoning); MITRE ATLAS AML.T0020
#   (Poison Training Data) and AML.T0024 (Exfiltration via ML Inference API).
