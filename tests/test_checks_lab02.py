"""Lab 02's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise.

For every exercise: plausible wrong answers that are NOT among its known mistakes must be
rejected by the check and by the grading, and correct answers written differently from the
reference must be accepted by both. Then what the output checks, the read-only tables and the
case model guarantee.
"""

import copy
import math
import re
import unicodedata
from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest
import torch
from mutants import assert_accepted, assert_rejected
from torch import nn

from mlsec_helpers import evasion, fraud_sim
from mlsec_helpers.checks import lab02
from mlsec_helpers.exercises import check, grade, run_check

F = list(fraud_sim.FEATURES)
CATS = [F.index(f"cat_{c}") for c in fraud_sim.MERCHANT_CATEGORIES]
A, H, ONLINE = F.index("amount"), F.index("hour"), F.index("is_online")
MEAN30, RATIO = F.index("cust_mean_amount_30d"), F.index("amount_to_cust_mean_30d")
FIXED = [j for j, n in enumerate(F) if not fraud_sim.ATTACKER_CONSTRAINTS[n]["controllable"]]
ZW = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"


# --- exercise 1: FGSM ---------------------------------------------------------------------------


def _grad(model, X, y, loss_fn=None, train=False):
    model.train(train)
    X = X.clone().requires_grad_(True)
    out = model(X)
    loss = (loss_fn or nn.functional.cross_entropy)(out, y)
    (g,) = torch.autograd.grad(loss, X)
    return X.detach(), g


def fgsm_numpy(model, X, y, eps):
    X, g = _grad(model, X, y)
    return (X + eps * g.sign()).clamp(0, 1).numpy()


def fgsm_attached(model, X, y, eps):
    model.eval()
    X = X.clone().requires_grad_(True)
    loss = nn.functional.cross_entropy(model(X), y)
    (g,) = torch.autograd.grad(loss, X, retain_graph=True)
    return (X + eps * g.sign()).clamp(0, 1)


def fgsm_float64(model, X, y, eps):
    X, g = _grad(model, X, y)
    return (X.double() + eps * g.sign().double()).clamp(0, 1)


def fgsm_in_place(model, X, y, eps):
    model.eval()
    X.requires_grad_(True)
    loss = nn.functional.cross_entropy(model(X), y)
    (g,) = torch.autograd.grad(loss, X)
    X.requires_grad_(False)
    with torch.no_grad():
        X.add_(eps * g.sign()).clamp_(0, 1)
    return X.clone()


def fgsm_half_eps(model, X, y, eps):
    X, g = _grad(model, X, y)
    return (X + eps / 2 * g.sign()).clamp(0, 1)


def fgsm_predicted_labels(model, X, y, eps):
    model.eval()
    with torch.no_grad():
        pred = model(X).argmax(1)
    X, g = _grad(model, X, pred)
    return (X + eps * g.sign()).clamp(0, 1)


def fgsm_nll_on_logits(model, X, y, eps):
    X, g = _grad(model, X, y, nn.functional.nll_loss)
    return (X + eps * g.sign()).clamp(0, 1)


def fgsm_clamp_top_only(model, X, y, eps):
    X, g = _grad(model, X, y)
    return (X + eps * g.sign()).clamp(max=1)


def fgsm_true_logit(model, X, y, eps):
    X, g = _grad(model, X, y, lambda out, y: -out.gather(1, y[:, None]).sum())
    return (X + eps * g.sign()).clamp(0, 1)


def fgsm_mse(model, X, y, eps):
    X, g = _grad(model, X, y, lambda out, y: nn.functional.mse_loss(
        out.softmax(1), nn.functional.one_hot(y, out.shape[1]).float()))
    return (X + eps * g.sign()).clamp(0, 1)


def fgsm_batch_sign(model, X, y, eps):
    X, g = _grad(model, X, y)
    return (X + eps * g.mean(0, keepdim=True).sign()).clamp(0, 1)


def fgsm_only_up(model, X, y, eps):
    X, g = _grad(model, X, y)
    return (X + eps * g.sign().clamp(min=0)).clamp(0, 1)


def fgsm_perturbation(model, X, y, eps):
    X, g = _grad(model, X, y)
    return (X + eps * g.sign()).clamp(0, 1) - X


FGSM_WRONG = [fgsm_numpy, fgsm_attached, fgsm_float64, fgsm_in_place, fgsm_half_eps,
              fgsm_predicted_labels, fgsm_nll_on_logits, fgsm_clamp_top_only, fgsm_true_logit,
              fgsm_mse, fgsm_batch_sign, fgsm_only_up, fgsm_perturbation]


def fgsm_backward(model, X, y, eps):
    model.eval()
    X_adv = X.detach().clone()
    X_adv.requires_grad = True
    model.zero_grad()
    nn.CrossEntropyLoss()(model(X_adv), y).backward()
    with torch.no_grad():
        X_adv = X_adv + eps * X_adv.grad.sign()
        return torch.clamp(X_adv, 0.0, 1.0)


def fgsm_sum(model, X, y, eps):
    X, g = _grad(model, X, y, lambda out, y: nn.functional.cross_entropy(out, y,
                                                                           reduction="sum"))
    return torch.clamp(X + eps * torch.sign(g), min=0.0, max=1.0)


def fgsm_log_softmax(model, X, y, eps):
    X, g = _grad(model, X, y, lambda out, y: nn.functional.nll_loss(out.log_softmax(1), y))
    delta = eps * g.sign()
    return torch.minimum(torch.maximum(X + delta, torch.zeros_like(X)), torch.ones_like(X))


def fgsm_per_image(model, X, y, eps):
    model.eval()
    rows = []
    for k in range(len(X)):
        x = X[k:k + 1].clone().requires_grad_(True)
        loss = nn.functional.cross_entropy(model(x), y[k:k + 1])
        (g,) = torch.autograd.grad(loss, x)
        rows.append((x + eps * g.sign()).clamp(0, 1).detach())
    return torch.cat(rows)


def fgsm_art(model, X, y, eps):
    from art.attacks.evasion import FastGradientMethod
    from art.estimators.classification import PyTorchClassifier

    clf = PyTorchClassifier(model=model, loss=nn.CrossEntropyLoss(),
                            input_shape=tuple(X.shape[1:]), nb_classes=10, clip_values=(0, 1))
    model.eval()
    X_adv = FastGradientMethod(clf, eps=eps).generate(X.numpy(), y=y.numpy())
    return torch.as_tensor(X_adv, dtype=torch.float32)


FGSM_RIGHT = [fgsm_backward, fgsm_sum, fgsm_log_softmax, fgsm_per_image, fgsm_art]


@pytest.mark.parametrize("answer", FGSM_WRONG, ids=lambda f: f.__name__)
def test_fgsm_rejects_wrong_answers(answer):
    assert_rejected(lab02.FGSM, answer)


@pytest.mark.parametrize("answer", FGSM_RIGHT, ids=lambda f: f.__name__)
def test_fgsm_accepts_correct_answers(answer):
    assert_accepted(lab02.FGSM, answer)


@pytest.mark.parametrize(("answer", "words"), [
    (fgsm_numpy, "NumPy array"),
    (fgsm_attached, "attached to the autograd graph"),
    (fgsm_float64, "torch.float64"),
    (fgsm_clamp_top_only, "stay in [0, 1]"),
    (lambda model, X, y, eps: [0.0], "torch tensor"),
])
def test_fgsm_output_check_says_what_the_lab_needs(answer, words):
    result = run_check(lab02.FGSM, answer)
    assert result.status == "wrong" and words in result.message, result.line()


def test_fgsm_in_place_perturbation_is_caught():
    result = run_check(lab02.FGSM, fgsm_in_place)
    assert "modified its argument `X`" in result.message, result.line()


def test_fgsm_case_model_is_trained_in_training_mode_and_leaves_torch_rng(unchanged_global_state):
    lab02._fgsm_setup.cache_clear()  # build it here, under the fixture
    model, X, y, _ = lab02._fgsm_setup()
    assert model.training, "the case model must be handed over in training mode"
    assert any(isinstance(m, lab02._SeededDropout) for m in model.modules())
    m = copy.deepcopy(model).eval()
    with torch.no_grad():
        assert (m(X).argmax(1) == y).float().mean() > 0.85
    lab02.FGSM._cases()
    lab02.FGSM._cases(hidden=True)
    run_check(lab02.FGSM, lab02.FGSM.mistakes[4].impl)  # training mode: dropout on




# --- exercise 2: the canonicaliser --------------------------------------------------------------


def _map(text):
    return "".join(evasion.CONFUSABLES.get(ch, ch) for ch in text)


def _drop_zw(text):
    return "".join(ch for ch in text if ch not in evasion.ZERO_WIDTH)


def canon_nfkd(text):
    return _map(_drop_zw(unicodedata.normalize("NFKD", text)))


def canon_nfkc_per_char(text):
    return _map(_drop_zw("".join(unicodedata.normalize("NFKC", ch) for ch in text)))


def canon_only_zwsp(text):
    return _map(unicodedata.normalize("NFKC", text).replace("\u200b", ""))


def canon_zw_to_space(text):
    text = unicodedata.normalize("NFKC", text)
    return _map("".join(" " if ch in evasion.ZERO_WIDTH else ch for ch in text))


def canon_strip(text):
    return _map(_drop_zw(unicodedata.normalize("NFKC", text))).strip()


def canon_collapse_spaces(text):
    return " ".join(_map(_drop_zw(unicodedata.normalize("NFKC", text))).split())


def canon_homoglyphs_only(text):
    back = {v: k for k, v in evasion.HOMOGLYPHS.items()}
    return "".join(back.get(ch, ch) for ch in _drop_zw(unicodedata.normalize("NFKC", text)))


def canon_strip_accents(text):
    text = _map(_drop_zw(unicodedata.normalize("NFKC", text)))
    return "".join(ch for ch in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(ch))


def canon_lowercase_confusables_only(text):
    text = _drop_zw(unicodedata.normalize("NFKC", text))
    return "".join(evasion.CONFUSABLES.get(ch, ch) if ch.islower() else ch for ch in text)


def canon_ascii_after_mapping(text):
    return _map(_drop_zw(unicodedata.normalize("NFKC", text))).encode("ascii", "ignore").decode()


def canon_my_leet_table(text):
    table = {**evasion.CONFUSABLES, "0": "o", "1": "i", "3": "e"}
    return "".join(table.get(ch, ch) for ch in _drop_zw(unicodedata.normalize("NFKC", text)))


def canon_writes_the_table(text):
    evasion.CONFUSABLES["3"] = "e"  # read-only: raises TypeError
    return _map(_drop_zw(unicodedata.normalize("NFKC", text)))


CANON_WRONG = [canon_nfkd, canon_nfkc_per_char, canon_only_zwsp, canon_zw_to_space, canon_strip,
               canon_collapse_spaces, canon_homoglyphs_only, canon_strip_accents,
               canon_lowercase_confusables_only, canon_ascii_after_mapping, canon_my_leet_table,
               canon_writes_the_table]


def canon_translate(text):
    table = {ord(k): v for k, v in evasion.CONFUSABLES.items()}
    table.update({ord(z): None for z in evasion.ZERO_WIDTH})
    return unicodedata.normalize("NFKC", text).translate(table)


def canon_regex(text):
    text = re.sub("[" + "".join(sorted(evasion.ZERO_WIDTH)) + "]", "",
                  unicodedata.normalize("NFKC", text))
    return re.sub("|".join(map(re.escape, evasion.CONFUSABLES)),
                  lambda m: evasion.CONFUSABLES[m.group(0)], text)


def canon_loop(text):
    out = []
    for ch in unicodedata.normalize("NFKC", text):
        if ch in ZW:
            continue
        out.append(evasion.CONFUSABLES[ch] if ch in evasion.CONFUSABLES else ch)
    return "".join(out)


def canon_replace_calls(text):
    text = unicodedata.normalize("NFKC", text)
    for z in evasion.ZERO_WIDTH:
        text = text.replace(z, "")
    for k, v in dict(evasion.CONFUSABLES).items():
        text = text.replace(k, v)
    return text


CANON_RIGHT = [canon_translate, canon_regex, canon_loop, canon_replace_calls]


@pytest.mark.parametrize("answer", CANON_WRONG, ids=lambda f: f.__name__)
def test_canonicalise_rejects_wrong_answers(answer):
    assert_rejected(lab02.CANONICALISE, answer)


@pytest.mark.parametrize("answer", CANON_RIGHT, ids=lambda f: f.__name__)
def test_canonicalise_accepts_correct_answers(answer):
    assert_accepted(lab02.CANONICALISE, answer)


def test_the_tables_the_reference_reads_are_read_only():
    for table in (evasion.CONFUSABLES, evasion.HOMOGLYPHS, evasion.LEET, evasion.LEET_FOLD,
                  evasion.SYNONYMS):
        assert isinstance(table, MappingProxyType)
        with pytest.raises(TypeError):
            table["3"] = "e"
    assert isinstance(evasion.ZERO_WIDTH, frozenset)
    before = [lab02.canonicalise(*c.args) for c in lab02._CANON_CASES]
    result = run_check(lab02.CANONICALISE, canon_writes_the_table)
    assert result.status == "wrong" and "TypeError" in result.message
    assert "3" not in evasion.CONFUSABLES
    assert [lab02.canonicalise(*c.args) for c in lab02._CANON_CASES] == before


def test_rebinding_the_package_table_does_not_change_the_reference(monkeypatch):
    before = lab02.canonicalise("v3r1fy \u0430cc\u043eunt")
    monkeypatch.setattr(evasion, "CONFUSABLES", {**evasion.CONFUSABLES, "3": "e"})
    assert lab02.canonicalise("v3r1fy \u0430cc\u043eunt") == before == "v3r1fy account"


def test_the_case_where_nfkc_must_come_first_tells_the_orders_apart():
    case = next(c for c in lab02._CANON_CASES if "NFKC must come first" in c.label)
    assert lab02.canonicalise(*case.args) != lab02._canon_confusables_first(*case.args)
    assert lab02.canonicalise(*case.args) == "Your pin: unlock your TOKEN"


def test_canonicalise_output_must_be_a_string():
    result = run_check(lab02.CANONICALISE, lambda text: list(lab02._canon_nfc(text)))
    assert result.status == "wrong" and "one str" in result.message


# --- exercise 3: project_fraud ------------------------------------------------------------------


def _project(x_orig, x_adv, *, ties="first", hour=np.round, online_rule="statement",
             cash="nearest", cash_min=10.0, cents=2, ratio_amount="rounded",
             ratio_mean="restored", new_card_ratio=1.0, restore=FIXED, clip_online=True,
             dtype=np.float64, amount_max=fraud_sim.AMOUNT_MAX):
    """A student's projection with one switch per rule (the defaults follow the statement)."""
    x_orig = np.asarray(x_orig, dtype=np.float64)
    adv = np.asarray(x_adv, dtype=np.float64)
    x = adv.copy()
    x[restore] = x_orig[restore]
    values = x[CATS]
    best = int(np.argmax(values)) if ties == "first" else len(CATS) - 1 - int(
        np.argmax(values[::-1]))
    x[CATS] = 0.0
    x[CATS[best]] = 1.0
    category = fraud_sim.MERCHANT_CATEGORIES[best]
    x[H] = min(max(hour(x[H]), 0), 23) if hour is not None else x[H] % 24
    online = np.round(x[ONLINE])
    online = min(max(online, 0), 1) if clip_online else online
    if online_rule == "statement":
        if category == "online_retail":
            online = 1.0
        elif category not in fraud_sim.ONLINE_CATEGORIES:
            online = 0.0
    elif online_rule == "online_capable_forced":
        online = 1.0 if category in fraud_sim.ONLINE_CATEGORIES else 0.0
    x[ONLINE] = online
    amount = min(max(x[A], fraud_sim.AMOUNT_MIN), amount_max)
    unrounded = amount
    if category == "cash_withdrawal":
        tens = {"nearest": round, "down": math.floor}[cash](amount / 10.0)
        amount = max(cash_min, 10.0 * tens)
    x[A] = round(amount, cents)
    mean30 = x[MEAN30] if ratio_mean == "restored" else adv[MEAN30]
    num = x[A] if ratio_amount == "rounded" else unrounded
    x[RATIO] = num / mean30 if mean30 > 0 else new_card_ratio
    return x.astype(dtype)


def proj_last_on_ties(x_orig, x_adv):
    return _project(x_orig, x_adv, ties="last")


def proj_hour_truncated(x_orig, x_adv):
    return _project(x_orig, x_adv, hour=math.trunc)


def proj_hour_wrapped(x_orig, x_adv):
    return _project(x_orig, x_adv, hour=None)


def proj_online_capable_forced_online(x_orig, x_adv):
    return _project(x_orig, x_adv, online_rule="online_capable_forced")


def proj_cash_rounded_down(x_orig, x_adv):
    return _project(x_orig, x_adv, cash="down")


def proj_cash_without_minimum(x_orig, x_adv):
    return _project(x_orig, x_adv, cash_min=fraud_sim.AMOUNT_MIN)


def proj_whole_units(x_orig, x_adv):
    return _project(x_orig, x_adv, cents=0)


def proj_ratio_from_unrounded_amount(x_orig, x_adv):
    return _project(x_orig, x_adv, ratio_amount="unrounded")


def proj_ratio_from_attacked_mean(x_orig, x_adv):
    return _project(x_orig, x_adv, ratio_mean="attacked")


def proj_ratio_zero_for_new_card(x_orig, x_adv):
    return _project(x_orig, x_adv, new_card_ratio=0.0)


def proj_terminal_features_kept(x_orig, x_adv):
    return _project(x_orig, x_adv, restore=[j for j in FIXED if not F[j].startswith("term_")])


def proj_online_not_clipped(x_orig, x_adv):
    return _project(x_orig, x_adv, clip_online=False)


def proj_float32(x_orig, x_adv):
    return _project(x_orig, x_adv, dtype=np.float32)


def proj_limit_10000(x_orig, x_adv):
    return _project(x_orig, x_adv, amount_max=10000.0)


def proj_threshold_half(x_orig, x_adv):
    x = _project(x_orig, x_adv)
    x[CATS] = (np.asarray(x_adv, dtype=np.float64)[CATS] > 0.5).astype(np.float64)
    return x


def proj_in_place(x_orig, x_adv):
    x = _project(x_orig, x_adv)
    x_adv[:] = x
    return x


PROJ_WRONG = [proj_last_on_ties, proj_hour_truncated, proj_hour_wrapped,
              proj_online_capable_forced_online, proj_cash_rounded_down,
              proj_cash_without_minimum, proj_whole_units, proj_ratio_from_unrounded_amount,
              proj_ratio_from_attacked_mean, proj_ratio_zero_for_new_card,
              proj_terminal_features_kept, proj_online_not_clipped, proj_float32,
              proj_limit_10000, proj_threshold_half, proj_in_place]


def proj_switches(x_orig, x_adv):
    return _project(x_orig, x_adv)


def proj_pandas(x_orig, x_adv):
    s = pd.Series(np.asarray(x_adv, dtype=float), index=F)
    orig = pd.Series(np.asarray(x_orig, dtype=float), index=F)
    for name in F:
        if not fraud_sim.ATTACKER_CONSTRAINTS[name]["controllable"]:
            s[name] = orig[name]
    cat_cols = [f"cat_{c}" for c in fraud_sim.MERCHANT_CATEGORIES]
    chosen = s[cat_cols].idxmax()  # the first label of the maximum
    s[cat_cols] = [1.0 if c == chosen else 0.0 for c in cat_cols]
    category = chosen[len("cat_"):]
    s["hour"] = float(np.clip(np.rint(s["hour"]), 0, 23))
    s["is_online"] = (1.0 if category == "online_retail" else 0.0
                      if category not in fraud_sim.ONLINE_CATEGORIES
                      else float(s["is_online"] >= 0.5))
    amount = s["amount"].clip(fraud_sim.AMOUNT_MIN, fraud_sim.AMOUNT_MAX)
    if category == "cash_withdrawal":
        amount = max(10.0, math.floor(amount / 10.0 + 0.5) * 10.0)
    s["amount"] = float(np.round(amount, 2))
    mean = s["cust_mean_amount_30d"]
    s["amount_to_cust_mean_30d"] = s["amount"] / mean if mean > 0 else 1.0
    return s.to_numpy(dtype=np.float64)


def proj_eye(x_orig, x_adv):
    x = np.array(x_adv, dtype=np.float64)
    keep = np.array([fraud_sim.ATTACKER_CONSTRAINTS[n]["controllable"] for n in F])
    x = np.where(keep, x, np.asarray(x_orig, dtype=np.float64))
    k = int(np.flatnonzero(x[CATS] == x[CATS].max())[0])
    x[CATS] = np.eye(len(CATS))[k]
    cat = fraud_sim.MERCHANT_CATEGORIES[k]
    x[H] = np.round(x[H]).clip(0, 23)
    x[ONLINE] = {True: 1.0, False: 0.0}[cat == "online_retail"] if (
        cat == "online_retail" or cat not in fraud_sim.ONLINE_CATEGORIES) else (
        np.round(x[ONLINE]).clip(0, 1))
    a = x[A].clip(fraud_sim.AMOUNT_MIN, fraud_sim.AMOUNT_MAX)
    x[A] = max(10, 10 * np.round(a / 10)) if cat == "cash_withdrawal" else np.round(a, 2)
    x[RATIO] = x[A] / x[MEAN30] if x[MEAN30] else 1.0
    return x


def proj_dicts(x_orig, x_adv):
    row = dict(zip(F, (float(v) for v in x_adv), strict=True))
    orig = dict(zip(F, (float(v) for v in x_orig), strict=True))
    for name in F:
        if not fraud_sim.ATTACKER_CONSTRAINTS[name]["controllable"]:
            row[name] = orig[name]
    best = None
    for c in fraud_sim.MERCHANT_CATEGORIES:
        if best is None or row[f"cat_{c}"] > row[f"cat_{best}"]:
            best = c
    for c in fraud_sim.MERCHANT_CATEGORIES:
        row[f"cat_{c}"] = 1.0 if c == best else 0.0
    row["hour"] = float(min(23, max(0, round(row["hour"]))))
    if best == "online_retail":
        row["is_online"] = 1.0
    elif best not in fraud_sim.ONLINE_CATEGORIES:
        row["is_online"] = 0.0
    else:
        row["is_online"] = float(min(1, max(0, round(row["is_online"]))))
    amount = min(fraud_sim.AMOUNT_MAX, max(fraud_sim.AMOUNT_MIN, row["amount"]))
    if best == "cash_withdrawal":
        amount = max(10, round(amount, -1))
    row["amount"] = round(float(amount), 2)
    m = row["cust_mean_amount_30d"]
    row["amount_to_cust_mean_30d"] = row["amount"] / m if m > 0 else 1.0
    return np.array([row[n] for n in F])


PROJ_RIGHT = [proj_switches, proj_pandas, proj_eye, proj_dicts]


@pytest.mark.parametrize("answer", PROJ_WRONG, ids=lambda f: f.__name__)
def test_project_fraud_rejects_wrong_answers(answer):
    assert_rejected(lab02.PROJECT_FRAUD, answer)


@pytest.mark.parametrize("answer", PROJ_RIGHT, ids=lambda f: f.__name__)
def test_project_fraud_accepts_correct_answers(answer):
    assert_accepted(lab02.PROJECT_FRAUD, answer)


def test_projection_gives_valid_rows():
    for case in [*lab02._proj_cases(), *lab02._proj_hidden_cases()]:
        x = lab02.project_fraud(*case.args)
        assert x.dtype == np.float64
        assert fraud_sim.check_constraints(pd.DataFrame([x], columns=F)).all(), case.label
    with pytest.raises(ValueError, match="23 features"):
        lab02.project_fraud(np.zeros(3), np.zeros(3))


def test_project_fraud_float32_answer_is_told_why():
    result = run_check(lab02.PROJECT_FRAUD, proj_float32)
    assert result.status == "wrong" and "float64" in result.message, result.line()


def test_editing_the_constraints_does_not_change_the_reference(monkeypatch):
    case = lab02._proj_cases()[0]
    before = lab02.project_fraud(*case.args)
    # the table is read-only; a student could still rebind the module's name to an edited copy
    edited = {k: dict(v) if hasattr(v, "keys") else v
              for k, v in fraud_sim.ATTACKER_CONSTRAINTS.items()}
    for name in F:
        edited[name]["controllable"] = True
    monkeypatch.setattr(fraud_sim, "ATTACKER_CONSTRAINTS", edited)
    monkeypatch.setattr(fraud_sim, "AMOUNT_MAX", 10.0)
    np.testing.assert_array_equal(lab02.project_fraud(*case.args), before)


# --- exercise 4: certified_radius ---------------------------------------------------------------


def _q(norm):
    return 1 if norm == "inf" else 2


def radius_no_bias(w, b, X, norm="inf"):
    return np.abs(X @ w) / np.linalg.norm(w, ord=_q(norm))


def radius_l1_always(w, b, X, norm="inf"):
    return np.abs(X @ w + b) / np.sum(np.abs(w))


def radius_duals_swapped(w, b, X, norm="inf"):
    return np.abs(X @ w + b) / np.linalg.norm(w, ord=2 if norm == "inf" else 1)


def radius_sum_without_abs(w, b, X, norm="inf"):
    dual = abs(np.sum(w)) if norm == "inf" else np.linalg.norm(w)
    return np.abs(X @ w + b) / dual


def radius_mean_abs(w, b, X, norm="inf"):
    dual = np.mean(np.abs(w)) if norm == "inf" else np.linalg.norm(w)
    return np.abs(X @ w + b) / dual


def radius_squared_norm(w, b, X, norm="inf"):
    return np.abs(X @ w + b) / np.linalg.norm(w, ord=_q(norm)) ** 2


def radius_relu(w, b, X, norm="inf"):
    return np.maximum(X @ w + b, 0) / np.linalg.norm(w, ord=_q(norm))


def radius_row_normalised(w, b, X, norm="inf"):
    return np.abs(X @ w + b) / (np.linalg.norm(w, ord=_q(norm)) * np.linalg.norm(X, axis=1))


def radius_column(w, b, X, norm="inf"):
    return np.abs(X @ w[:, None] + b) / np.linalg.norm(w, ord=_q(norm))


def radius_smallest_only(w, b, X, norm="inf"):
    return np.min(np.abs(X @ w + b)) / np.linalg.norm(w, ord=_q(norm))


def radius_b_subtracted(w, b, X, norm="inf"):
    return np.abs(X @ w - b) / np.linalg.norm(w, ord=_q(norm))


def radius_sqrt_d(w, b, X, norm="inf"):
    return np.abs(X @ w + b) / (np.linalg.norm(w) * (np.sqrt(len(w)) if norm == "inf" else 1))


RADIUS_WRONG = [radius_no_bias, radius_l1_always, radius_duals_swapped, radius_sum_without_abs,
                radius_mean_abs, radius_squared_norm, radius_relu, radius_row_normalised,
                radius_column, radius_smallest_only, radius_b_subtracted, radius_sqrt_d]


def radius_loop(w, b, X, norm="inf"):
    dual = sum(abs(v) for v in w) if norm == "inf" else math.sqrt(sum(v * v for v in w))
    return np.array([abs(sum(wi * xi for wi, xi in zip(w, x, strict=True)) + b) / dual
                     for x in X])


def radius_torch(w, b, X, norm="inf"):
    w_t, X_t = torch.as_tensor(w), torch.as_tensor(X)
    dual = w_t.abs().sum() if norm in ("inf", float("inf")) else w_t.norm()
    return ((X_t @ w_t + b).abs() / dual).numpy()


def radius_float32(w, b, X, norm="inf"):
    w, X = np.float32(w), np.float32(X)
    return np.abs(X @ w + np.float32(b)) / np.linalg.norm(w, ord=_q(norm))


def radius_einsum(w, b, X, norm="inf"):
    margin = np.einsum("nd,d->n", X, w) + b
    dual = np.abs(w).sum() if str(norm) == "inf" else np.sqrt(np.dot(w, w))
    return np.abs(margin) / dual


def radius_scipy(w, b, X, norm="inf"):
    from scipy.linalg import norm as scipy_norm

    return np.abs(np.dot(X, w) + b) / scipy_norm(w, {"inf": 1, 2: 2}[norm])


RADIUS_RIGHT = [radius_loop, radius_torch, radius_float32, radius_einsum, radius_scipy]


@pytest.mark.parametrize("answer", RADIUS_WRONG, ids=lambda f: f.__name__)
def test_certified_radius_rejects_wrong_answers(answer):
    assert_rejected(lab02.CERTIFIED_RADIUS, answer)


@pytest.mark.parametrize("answer", RADIUS_RIGHT, ids=lambda f: f.__name__)
def test_certified_radius_accepts_correct_answers(answer):
    assert_accepted(lab02.CERTIFIED_RADIUS, answer)


def test_certified_radius_rejects_unknown_norm():
    with pytest.raises(ValueError, match="unknown norm"):
        lab02.certified_radius(np.ones(2), 0.0, np.ones((1, 2)), "L7")


def test_certified_radius_boundary_and_scaled_cases():
    cases = lab02._radius_cases()
    boundary = lab02.certified_radius(*cases[2].args)
    assert boundary[0] == 0.0 and (boundary[1:] > 0).all()
    w, b, X, norm = cases[4].args
    r = lab02.certified_radius(w, b, X, norm)
    # the worst case at distance r in the L-inf ball lands exactly on the boundary
    margin = X @ w + b
    x_edge = X - np.sign(margin)[:, None] * r[:, None] * np.sign(w)[None, :]
    np.testing.assert_allclose(x_edge @ w + b, 0.0, atol=1e-9)


def test_certified_radius_shape_is_checked():
    result = run_check(lab02.CERTIFIED_RADIUS, radius_column)
    assert result.status == "wrong" and "one radius per row" in result.message, result.line()


# --- every exercise -------------------------------------------------------------------------------


@pytest.mark.parametrize(("exercise", "wrapper"), [
    (lab02.FGSM, lambda model, X, y, eps: lab02.fgsm(model, X, y, eps)),
    (lab02.FGSM, lambda model, X, y, eps: evasion.fgsm(model, X, y, eps)),
    (lab02.CANONICALISE, lambda text: lab02.canonicalise(text)),
    (lab02.CANONICALISE, lambda text: evasion.canonicalise(text)),
    (lab02.CANONICALISE,
     lambda text: evasion.CanonicalisingTransformer(lambda t: t).transform([text])[0]),
    (lab02.PROJECT_FRAUD, lambda x_orig, x_adv: lab02.project_fraud(x_orig, x_adv)),
    (lab02.CERTIFIED_RADIUS, lambda w, b, X, norm="inf": lab02.certified_radius(w, b, X, norm)),
    (lab02.CERTIFIED_RADIUS,
     lambda w, b, X, norm="inf": evasion.certified_radius(w, b, X, norm=norm)),
], ids=["fgsm-reference", "fgsm-package", "canonicalise-reference", "canonicalise-package",
        "canonicalise-transformer", "project_fraud-reference", "certified_radius-reference",
        "certified_radius-package"])
def test_an_answer_that_calls_the_reference_or_the_package_is_rejected(exercise, wrapper):
    result = run_check(exercise, wrapper)
    assert result.status == "wrong" and "reference" in result.message, result.line()
    with pytest.raises(AssertionError):
        grade(exercise, wrapper)


# --- the lab's order ------------------------------------------------------------------------------


def test_exercises_in_the_lab_order():
    assert [ex.name for ex in lab02.EXERCISES] == [
        "fgsm", "canonicalise", "project_fraud", "certified_radius", "break_quantised"]


def test_check_hands_back_the_reference_for_a_wrong_answer(capsys):
    assert check(lab02.CANONICALISE, canon_strip) is lab02.canonicalise
    assert "❌" in capsys.readouterr().out


# --- the challenge: break the quantised reader ----------------------------------------------------


def _pgd_through_rounding(system, X, y, eps):
    """Plain PGD on the defended model, rounding included: its gradient is zero."""
    x0 = torch.as_tensor(X)
    xa = x0.clone()
    for _ in range(10):
        xa.requires_grad_(True)
        loss = nn.functional.cross_entropy(system.model(xa), torch.as_tensor(y))
        (g,) = torch.autograd.grad(loss, xa)
        xa = torch.min(torch.max(xa.detach() + eps / 4 * g.sign(), x0 - eps), x0 + eps)
    return xa.clamp(0, 1).numpy()


def _bpda_other(system, X, y, eps):
    """A different correct answer: BPDA with the straight-through rounding as an autograd
    function, no random start, 50 steps of eps / 8."""

    class Round(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            top = system.levels - 1
            return torch.round(x * top) / top

        @staticmethod
        def backward(ctx, g):
            return g

    x0 = torch.as_tensor(X)
    xa = x0.clone()
    for _ in range(50):
        xa.requires_grad_(True)
        loss = nn.functional.cross_entropy(system.cnn.model(Round.apply(xa)), torch.as_tensor(y),
                                           reduction="sum")
        (g,) = torch.autograd.grad(loss, xa)
        xa = torch.min(torch.max(xa.detach() + eps / 8 * g.sign(), x0 - eps), x0 + eps)
        xa = xa.clamp(0, 1)
    return xa.numpy()


@pytest.mark.parametrize(("answer", "why"), [
    (_pgd_through_rounding, "target"),
    (lambda system, X, y, eps: X.copy(), "target"),
    (lambda system, X, y, eps: np.clip(X + 2 * eps, 0, 1), "eps-ball"),
    (lambda system, X, y, eps: torch.as_tensor(X), "NumPy"),
    (lambda system, X, y, eps: X[:-1], "shape"),
], ids=["pgd-through-rounding", "unchanged", "outside-the-ball", "tensor", "shape"])
def test_challenge_rejects_weak_or_invalid_attacks(answer, why):
    result = run_check(lab02.BREAK_QUANTISED, answer)
    assert result.status == "wrong" and why in result.message, result.line()
    with pytest.raises(AssertionError):
        grade(lab02.BREAK_QUANTISED, answer)


def test_challenge_accepts_a_different_strong_attack():
    assert run_check(lab02.BREAK_QUANTISED, _bpda_other).correct
    grade(lab02.BREAK_QUANTISED, _bpda_other)
    # the reference clears the target on every digit of the case model with room to spare
    system, X, y = lab02._challenge_setup(4)
    fooled = np.mean(system.predict(lab02.break_quantised(system, X, y, 0.3)) != y)
    assert fooled >= lab02.CHALLENGE_TARGET + 0.1
