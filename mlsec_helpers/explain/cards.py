"""Lab 08's transparency artefacts: a model card (Mitchell et al., FAT* 2019) for each of the five
reference systems, with a security section, generated from the package's metadata and the
numbers measured in the run.

What this file holds:

* ``measure_card_metrics``: the card's quantitative analyses, measured on the test split, each
  with its interval (Wilson for proportions, bootstrap for an AUC or an RMSE) and, where groups
  are given, per group;
* ``card_security_test``: one security test run against the system, as the card records it;
* ``build_model_card``: the card, from ``catalogue`` (domain, threats), ``registry`` (the
  dataset's source, licence, known biases; its datasheet), the system (class,
  hyper-parameters), ``checkpoints`` (the weights' SHA-256) and the measured metrics;
* ``model_card_markdown``, ``model_card_dict``: the card as Markdown and as a JSON-ready dict;
* ``card_untraced_numbers``: the numbers in a card's text that are none of its fields (the
  check that no number was typed by hand);
* ``model_cards_table``, ``model_card_diff``: the compact table of several cards, and two cards
  side by side;
* ``finetune_backdoored_digits``: the backdoored digit reader of the card diff (the reference
  CNN fine-tuned on digits poisoned with lab 03's BadNets trigger).

No number is typed into a card: every number on it is a field of the card (a measured metric, a
hyper-parameter, a count, a hash), and the text templates below hold no digits (a test checks).

Introduced in lab 08 (Explainability).
"""

from __future__ import annotations

import copy
import dataclasses
import re
import time

import numpy as np
import pandas as pd

from .. import catalogue, checkpoints, registry, stats, systems
from ..validate import (
    ArgumentTypeError,
    check_fitted,
    check_fraction,
    check_int,
    check_number,
    check_seed,
    check_str,
    unknown_name,
)
from .results import CardMetric, CardSecurityTest, ModelCard

__all__ = [
    "build_model_card",
    "card_security_test",
    "card_untraced_numbers",
    "finetune_backdoored_digits",
    "measure_card_metrics",
    "model_card_diff",
    "model_card_dict",
    "model_card_markdown",
    "model_cards_table",
]

# What each reference system is for, what it is not for, and its factors: metadata written
# once, without numbers (the numbers come from the run).
_PURPOSE: dict[str, dict[str, str]] = {
    "image": dict(
        name="digits CNN (the reference digit reader)",
        rows="test digits",
        intended="Reading single handwritten digits (centred, size-normalised, grey) in a "
                 "teaching setting; the course's victim for evasion, poisoning and theft.",
        out_of_scope="Reading amounts on real cheques or postcodes without a human check; any "
                     "image that is not one centred digit; decisions about people.",
        factors="Digit class (measured per class below); writing style and pen (the fairness lab "
                "measures stroke width and slant; not on this card); scanner and background "
                "(not in the data).",
    ),
    "nlp": dict(
        name="support-message triage (TF-IDF and logistic regression)",
        rows="test messages",
        intended="Routing synthetic customer-support messages to an intent, and flagging "
                 "scams, for a human agent to act on.",
        out_of_scope="Blocking customers or messages without review; languages or registers "
                     "other than the templated English of the corpus.",
        factors="Intent (measured per class below); wording, identity terms, typos (the fairness "
                "and explainability labs probe these; not on this card).",
    ),
    "recommender": dict(
        name="MovieLens recommender (biased matrix factorisation)",
        rows="held-out ratings",
        intended="Ranking unseen films for a MovieLens user from their past ratings.",
        out_of_scope="Recommending to new users without ratings; any domain other than films; "
                     "ranking that must resist fake profiles (the poisoning lab's shilling "
                     "attacks).",
        factors="User activity and item popularity (the popularity baseline is measured "
                "below for comparison); user demographics (not in the data).",
    ),
    "fraud": dict(
        name="fraud scorer (gradient-boosted trees)",
        rows="test transactions",
        intended="Scoring simulated card transactions so that analysts review the likely frauds "
                 "first.",
        out_of_scope="Declining a card or a customer without review; real transaction streams "
                     "(the data are simulated); credit decisions.",
        factors="Customer region (measured per group below); customer age; the fraud "
                "scenarios the simulator writes down (others are not represented).",
    ),
    "medical": dict(
        name="diagnosis model (standardised logistic regression on WDBC)",
        rows="test patients",
        intended="Teaching: a second opinion on whether a fine-needle aspirate's nuclei look "
                 "malignant, always read by a clinician.",
        out_of_scope="Diagnosis without a clinician; screening populations (malignant cases are "
                     "over-represented in the data); other clinics' imaging set-ups.",
        factors="Diagnosis (recall on malignant and false alarms on benign, below); patient "
                "demographics and clinic (not in the data, so not measured).",
    ),
}

_CAVEATS = (
    "Every number was measured on one test split of one dataset; another population or another "
    "time can change them.",
    "A card records what was measured: a threat that no test on this card measured is not "
    "excluded by it (a backdoor leaves clean accuracy unchanged).",
)

# The hyper-parameters a course system keeps as attributes (the scikit-learn systems keep
# theirs in the estimator, whose repr lists the ones that differ from the defaults).
_HYPER_PARAMETERS = ("width", "hidden", "dim", "epochs", "lr", "batch_size", "weight_decay",
                     "bias_decay", "seed")


def _check_domain_system(system, data) -> str:
    check_fitted(system)
    domain = catalogue.check_domain(getattr(data, "domain", None))
    if getattr(system, "domain", domain) not in (domain, "tabular"):
        raise ValueError(f"system is a {system.domain!r} system but data is the {domain!r} "
                         "dataset")
    return domain


def _wilson(name: str, hits, on: str, confidence: float) -> CardMetric:
    r = stats.proportion(np.asarray(hits, dtype=bool), on=on, confidence=confidence)
    return CardMetric(name, r.value, r.low, r.high, r.n, on, f"Wilson {confidence:.0%}")


def _group_rows(name: str, hits, groups, label: str, rows: str,
                confidence: float) -> list[CardMetric]:
    out = []
    for g in sorted(pd.unique(groups), key=str):
        idx = groups == g
        if idx.any():
            out.append(_wilson(f"{name}, {label} {g}", hits[idx],
                               f"{int(idx.sum())} {rows} ({label} {g})", confidence))
    return out


def _classifier_metrics(system, data, groups, group_label, rows, seed, n_resamples, confidence):
    proba = system.predict_proba(data.X_test)
    y = np.asarray(data.y_test)
    pred = proba.argmax(1)
    on = f"{len(y)} {rows}"
    correct = pred == y
    metrics = [_wilson("accuracy", correct, on, confidence)]
    names = list(data.target_names) if data.target_names is not None else []
    if proba.shape[1] == 2:
        auc = stats.auc_interval(y, proba[:, 1], on=on, seed=seed, n_resamples=n_resamples,
                                 confidence=confidence)
        metrics.append(CardMetric("ROC AUC", auc.value, auc.low, auc.high, auc.n, on,
                                  f"bootstrap {confidence:.0%}, {n_resamples} resamples"))
        pos = names[1] if len(names) == 2 else "positive"
        neg = names[0] if len(names) == 2 else "negative"
        metrics.append(_wilson(f"recall ({pos})", correct[y == 1],
                               f"{int((y == 1).sum())} {pos} {rows}", confidence))
        metrics.append(_wilson(f"false-positive rate ({neg} flagged)", pred[y == 0] == 1,
                               f"{int((y == 0).sum())} {neg} {rows}", confidence))
    groups_rows = []
    if groups is not None:
        groups = np.asarray(groups)
        if len(groups) != len(y):
            raise ValueError(f"groups must hold one value per test row ({len(y)}), got "
                             f"{len(groups)}")
        groups_rows += _group_rows("accuracy", correct, groups, group_label, rows, confidence)
        if proba.shape[1] == 2:
            pos = y == 1
            groups_rows += _group_rows("recall", correct[pos], groups[pos], group_label,
                                       f"{names[1] if len(names) == 2 else 'positive'} {rows}",
                                       confidence)
    elif proba.shape[1] > 2:  # per true class: the worst class is the card's headline factor
        cls = np.array([names[k] if k < len(names) else str(k) for k in y], dtype=object)
        groups_rows += _group_rows("recall", correct, cls, "class", rows, confidence)
        worst = min(groups_rows, key=lambda m: m.value)
        metrics.append(dataclasses.replace(worst, name="worst-class recall"))
    return metrics, groups_rows


def _recommender_metrics(system, data, rows, seed, n_resamples, k, confidence):
    from scipy.stats import bootstrap

    X, y = np.asarray(data.X_test), np.asarray(data.y_test, dtype=np.float64)
    on = f"{len(y)} {rows}"
    err2 = (system.predict(X) - y) ** 2
    res = bootstrap((err2,), lambda e, axis=-1: np.sqrt(e.mean(axis=axis)), vectorized=True,
                    n_resamples=n_resamples, method="percentile", confidence_level=confidence,
                    rng=np.random.default_rng(seed))
    low, high = res.confidence_interval
    metrics = [CardMetric("RMSE (stars)", float(np.sqrt(err2.mean())), float(low), float(high),
                          len(y), on, f"bootstrap {confidence:.0%}, {n_resamples} resamples")]
    n_users, n_items = data.extra["n_users"], data.extra["n_items"]
    for label, scores in (("", system.score(np.arange(n_users))),
                          (" (popularity baseline)",
                           systems.popularity_scores(data.X_train, n_users, n_items))):
        r = systems.ranking_metrics(scores, data.X_train, X, y, k=k)
        users = r["users"]
        hits = round(r[f"hr@{k}"] * users)
        on_u = f"{users} users with a liked held-out film"
        rate = stats.proportion(hits, users, on=on_u, confidence=confidence)
        metrics.append(CardMetric(f"HR@{k}{label}", rate.value, rate.low, rate.high, users,
                                  on_u, f"Wilson {confidence:.0%}"))
        metrics.append(CardMetric(f"NDCG@{k}{label}", r[f"ndcg@{k}"], None, None, users, on_u,
                                  "none"))
    return metrics, []


def measure_card_metrics(system, data, *, groups=None, group_label: str = "group",
                         seed: int = 0, n_resamples: int = 1000, k: int = 10,
                         confidence: float = 0.95):
    """Measure a model card's quantitative analyses on ``data``'s test split.

    A classifier gets its accuracy (Wilson interval) and, if binary, its ROC AUC (bootstrap),
    recall on the positive class and false-positive rate; a multi-class one gets its recall
    per true class and its worst class. ``groups`` (one value per test row, named
    ``group_label``) adds accuracy and, if binary, recall per group. The recommender gets its
    RMSE (bootstrap) and HR@k (Wilson over users) and NDCG@k, next to the popularity baseline's.
    ``seed`` drives the bootstraps; every interval is at ``confidence``. Returns
    ``(metrics, group_metrics)``, two tuples of :class:`CardMetric`.

    Introduced in lab 08 (Explainability).
    """
    domain = _check_domain_system(system, data)
    seed = check_seed(seed)
    n_resamples = check_int(n_resamples, "n_resamples", minimum=100)
    k = check_int(k, "k")
    confidence = check_number(confidence, "confidence", low=0.0, high=1.0, low_open=True,
                              high_open=True)
    group_label = check_str(group_label, "group_label")
    rows = _PURPOSE[domain]["rows"]
    if domain == "recommender":
        if groups is not None:
            raise ValueError("the recommender's card has no per-group metrics: pass groups=None")
        metrics, group_rows = _recommender_metrics(system, data, rows, seed, n_resamples, k,
                                                   confidence)
    else:
        metrics, group_rows = _classifier_metrics(system, data, groups, group_label, rows, seed,
                                                  n_resamples, confidence)
    return tuple(metrics), tuple(group_rows)


def card_security_test(threat: str, test: str, value, *, measure: str,
                       on: str) -> CardSecurityTest:
    """Record one security test run against a system, for its card: the threat (a key of
    ``catalogue.THREAT_CATEGORIES``), what was run, the measured ``value``, what it measures
    and on what.

    Introduced in lab 08 (Explainability).
    """
    if threat not in catalogue.THREAT_CATEGORIES:
        raise unknown_name(threat, catalogue.THREAT_CATEGORIES, "threat")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"value must be a number, got {value!r}") from None
    if not np.isfinite(value):
        raise ValueError("value must be finite")
    return CardSecurityTest(threat, check_str(test, "test"), value,
                            check_str(measure, "measure"), check_str(on, "on"))


def _model_details(system, domain: str, checkpoint: str | None) -> dict:
    details = {"class": type(system).__name__}
    if isinstance(system, systems.SklearnSystem):
        details["estimator"] = " ".join(repr(system.estimator).split())
    else:
        details["hyper-parameters"] = ", ".join(
            f"{a}={getattr(system, a)}" for a in _HYPER_PARAMETERS if hasattr(system, a))
        details["parameters"] = int(sum(p.numel() for p in system.model.parameters()))
    details["source"] = getattr(system, "source_", "trained in this run")
    if checkpoint is not None:
        if checkpoint not in checkpoints.CHECKPOINTS:
            raise unknown_name(checkpoint, checkpoints.CHECKPOINTS, "checkpoint")
        ckpt = checkpoints.CHECKPOINTS[checkpoint]
        details["checkpoint"] = ckpt.name
        details["checkpoint SHA-256"] = ckpt.sha256
    if getattr(system, "train_seconds_", None) is not None:
        details["training seconds (this run)"] = round(float(system.train_seconds_), 2)
    details["domain"] = domain
    return details


def build_model_card(system, data, *, metrics, group_metrics=(), security_tests=(),
                     checkpoint: str | None = None, name: str | None = None) -> ModelCard:
    """A :class:`ModelCard` for ``system`` evaluated on ``data`` (a ``Dataset``).

    The card's facts come from the package: the domain and the threats from ``catalogue``,
    the data's source, licence and known biases from ``registry`` (its datasheet is
    ``registry.datasheet_markdown(card.datasheet)``), the model's class and hyper-parameters
    from the system, the weights' SHA-256 from ``checkpoints`` (``checkpoint``: the name of the
    checkpoint the system was loaded from, if any); its numbers are ``metrics`` and
    ``group_metrics`` (from :func:`measure_card_metrics`) and ``security_tests`` (from
    :func:`card_security_test`): the tests run, and nothing else, appear in its security
    section. ``name`` overrides the system's name.

    Introduced in lab 08 (Explainability).
    """
    domain = _check_domain_system(system, data)
    for what, rows, kind in (("metrics", metrics, CardMetric),
                             ("group_metrics", group_metrics, CardMetric),
                             ("security_tests", security_tests, CardSecurityTest)):
        if isinstance(rows, kind) or not all(isinstance(r, kind) for r in rows):
            raise ArgumentTypeError(f"{what} must be a sequence of {kind.__name__}")
    if not metrics:
        raise ValueError("a model card needs at least one measured metric")
    purpose = _PURPOSE[domain]
    entry = registry.get_entry(data.name)
    tested = {t.threat for t in security_tests}
    return ModelCard(
        name=check_str(name, "name") if name is not None else purpose["name"],
        domain=domain,
        model_details=_model_details(system, domain, checkpoint),
        intended_use=purpose["intended"],
        out_of_scope=purpose["out_of_scope"],
        factors=purpose["factors"],
        metrics=tuple(metrics),
        group_metrics=tuple(group_metrics),
        evaluation_data=f"{entry.title}: the test split of seed {data.seed}, "
                        f"{len(data.y_test)} {purpose['rows']}.",
        training_data=f"{entry.title}: the training split, {len(data.y_train)} rows; source "
                      f"{entry.source}; licence {entry.licence}.",
        datasheet=entry.name,
        ethical_considerations=tuple(entry.known_biases),
        caveats=_CAVEATS,
        security_tests=tuple(security_tests),
        threats_not_tested=tuple(t for t in catalogue.THREAT_CATEGORIES if t not in tested),
    )


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def _metric_table(rows) -> list[str]:
    out = ["| metric | value | interval | evaluation set |", "|---|---|---|---|"]
    for m in rows:
        ci = "-" if m.low is None else f"[{_fmt(m.low)}, {_fmt(m.high)}] ({m.interval})"
        out.append(f"| {m.name} | {_fmt(m.value)} | {ci} | {m.on} |")
    return out


def model_card_markdown(card: ModelCard) -> str:
    """The card as Markdown, in Mitchell et al.'s sections plus a security section that lists
    the tests run and the threats no test measured.

    Introduced in lab 08 (Explainability).
    """
    if not isinstance(card, ModelCard):
        raise ArgumentTypeError(f"card must be a ModelCard, got {type(card).__name__}")
    details = "; ".join(f"{k}: `{v}`" if k in ("estimator", "checkpoint SHA-256") else f"{k}: {v}"
                        for k, v in card.model_details.items())
    entry = registry.get_entry(card.datasheet)
    lines = [
        f"### Model card: {card.name}", "",
        f"**Model details.** {details}", "",
        f"**Intended use.** {card.intended_use}", "",
        f"**Out-of-scope uses.** {card.out_of_scope}", "",
        f"**Factors.** {card.factors}", "",
        f"**Evaluation data.** {card.evaluation_data}", "",
        f"**Training data.** {card.training_data} Datasheet: `datasets/{entry.datasheet}`.", "",
        "**Quantitative analyses** (measured in this run):", "",
        *_metric_table(card.metrics), "",
    ]
    if card.group_metrics:
        lines += ["Per group:", "", *_metric_table(card.group_metrics), ""]
    lines += ["**Ethical considerations** (the data's known biases, from the registry): "
              + "; ".join(card.ethical_considerations) + ".", "",
              "**Caveats.** " + " ".join(card.caveats), "",
              "**Security** (the tests run against this system in this run):", ""]
    if card.security_tests:
        lines += ["| threat | test | result | evaluation set |", "|---|---|---|---|"]
        for t in card.security_tests:
            cat = catalogue.THREAT_CATEGORIES[t.threat]
            lines.append(f"| {cat.name} ({cat.lab_title}) | {t.test} | {t.measure} "
                         f"{_fmt(t.value)} | {t.on} |")
    else:
        lines.append("No security test was run.")
    cats = catalogue.THREAT_CATEGORIES
    untested = [f"{cats[t].name} ({cats[t].lab_title})" for t in card.threats_not_tested]
    lines += ["", "Not tested on this card (nothing here speaks for or against them): "
              + ", ".join(untested) + "."]
    return "\n".join(lines)


def model_card_dict(card: ModelCard) -> dict:
    """The card as a JSON-ready dict (``json.dumps`` takes it as is).

    Introduced in lab 08 (Explainability).
    """
    if not isinstance(card, ModelCard):
        raise ArgumentTypeError(f"card must be a ModelCard, got {type(card).__name__}")
    return dataclasses.asdict(card)


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _traced_tokens(value, out: set) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _traced_tokens(k, out)
            _traced_tokens(v, out)
    elif isinstance(value, list | tuple):
        for v in value:
            _traced_tokens(v, out)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | np.integer):
        out.add(str(int(value)))
    elif isinstance(value, float | np.floating):
        out.update(_NUMBER.findall(_fmt(float(value))))
        out.update(_NUMBER.findall(repr(float(value))))
    else:
        out.update(_NUMBER.findall(str(value)))


def card_untraced_numbers(card: ModelCard, text: str | None = None) -> list[str]:
    """The numbers in ``text`` (by default the card's Markdown) that are not a value of one of
    the card's fields (as the Markdown formats it) nor part of the catalogue's and registry's
    text it cites: an empty list when no number on the card was typed by hand.

    Introduced in lab 08 (Explainability).
    """
    text = model_card_markdown(card) if text is None else check_str(text, "text")
    traced: set[str] = set()
    _traced_tokens(model_card_dict(card), traced)
    for t in catalogue.THREAT_CATEGORIES.values():  # the threats' lab titles the card cites
        _traced_tokens(t.lab_title, traced)
    _traced_tokens(registry.get_entry(card.datasheet).datasheet, traced)
    return sorted({n for n in _NUMBER.findall(text) if n not in traced})


def _check_cards(cards) -> list[ModelCard]:
    cards = list(cards.values()) if isinstance(cards, dict) else list(cards)
    if not cards or not all(isinstance(c, ModelCard) for c in cards):
        raise ArgumentTypeError("cards must be a non-empty sequence (or dict) of ModelCard")
    return cards


def model_cards_table(cards) -> pd.DataFrame:
    """One row per card: the system, where its weights come from, its first metric with its
    interval, how many numbers the run computed for it, and its security coverage.

    Introduced in lab 08 (Explainability).
    """
    rows = []
    for c in _check_cards(cards):
        head = c.metrics[0]
        ci = "" if head.low is None else f" [{_fmt(head.low)}, {_fmt(head.high)}]"
        rows.append({
            "domain": c.domain, "system": c.name,
            "weights": c.model_details.get("checkpoint", "trained in this run"),
            "headline metric": f"{head.name} {_fmt(head.value)}{ci}",
            "evaluation set": head.on,
            "measured rows": len(c.metrics) + len(c.group_metrics) + len(c.security_tests),
            "security tests run": len(c.security_tests),
            "threats not tested": len(c.threats_not_tested),
            "datasheet": f"datasets/{registry.get_entry(c.datasheet).datasheet}",
        })
    return pd.DataFrame(rows)


def model_card_diff(card_a: ModelCard, card_b: ModelCard, *, names=("A", "B")) -> pd.DataFrame:
    """Two cards side by side: every metric and security test of either card, each card's
    value (with its interval where it has one) and whether the two intervals overlap (a
    difference the evaluation set cannot resolve). A row one card lacks shows "not measured".

    Introduced in lab 08 (Explainability).
    """
    for card, what in ((card_a, "card_a"), (card_b, "card_b")):
        if not isinstance(card, ModelCard):
            raise ArgumentTypeError(f"{what} must be a ModelCard, got {type(card).__name__}")
    if len(names) != 2 or not all(isinstance(n, str) for n in names):
        raise ArgumentTypeError("names must be two strings")

    def rows(card):
        out = {m.name: (m.value, m.low, m.high) for m in card.metrics + card.group_metrics}
        out.update({f"security: {t.measure}": (t.value, None, None)
                    for t in card.security_tests})
        return out

    ra, rb = rows(card_a), rows(card_b)
    table = []
    for key in list(ra) + [k for k in rb if k not in ra]:
        a, b = ra.get(key), rb.get(key)
        overlap = None
        if a is not None and b is not None and a[1] is not None and b[1] is not None:
            overlap = bool(a[1] <= b[2] and b[1] <= a[2])
        table.append({
            "measure": key,
            names[0]: "not measured" if a is None else _fmt(a[0]),
            names[1]: "not measured" if b is None else _fmt(b[0]),
            "difference": None if a is None or b is None else b[0] - a[0],
            "intervals overlap": overlap,
        })
    return pd.DataFrame(table)


def finetune_backdoored_digits(system, X, y, *, target: int, rate: float, epochs: int = 1,
                               lr: float = 4e-3, seed: int = 0):
    """A backdoored copy of a fitted ``DigitsCNN``: the copy is fine-tuned on (X, y) after
    ``poisoning.poison_images`` stamped lab 03's BadNets trigger on ``rate`` of them and
    relabelled them ``target``. ``system`` is left unchanged.

    The scenario of the card diff: someone fine-tuned the published model on data an attacker
    poisoned (lab 03's attack, on a fine-tune rather than a training from scratch, which costs
    the lab a second instead of several). Returns the new system; its ``source_`` says so.

    Introduced in lab 08 (Explainability).
    """
    from ..poisoning import poison_images

    if not isinstance(system, systems.DigitsCNN):
        raise ArgumentTypeError(f"system must be a DigitsCNN, got {type(system).__name__}")
    check_fitted(system)
    rate = check_fraction(rate, "rate (the poison rate)", allow_zero=False)
    epochs = check_int(epochs, "epochs")
    seed = check_seed(seed)
    start = time.perf_counter()
    poisoned = poison_images(X, y, target, rate, seed=seed)
    out = copy.deepcopy(system)
    systems.fit_torch_classifier(out.model, poisoned.X, poisoned.y, epochs=epochs, lr=lr,
                                 batch_size=system.batch_size, seed=seed,
                                 progress="backdoor fine-tune")
    out.source_ = (f"the reference CNN fine-tuned for {epochs} epoch(s) on {len(poisoned.y)} "
                   f"digits, {len(poisoned.poison_idx)} of them poisoned (trigger, label "
                   f"{target})")
    out.train_seconds_ = time.perf_counter() - start
    return out
