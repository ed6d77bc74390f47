"""NLP: dialect-marker bias in the support-message triage model, and its mitigation.

Holds:

* :data:`DIALECT_REGISTERS` and :data:`DIALECT_MARKERS`: paired phrases of two registers of
  English (UK English and Indian English), each pair meaning the same thing;
* :func:`skew_scam_dialect`: a simulated data-collection skew that writes the scams of a
  training set mostly in the second register (the corpus generator itself does not);
* :func:`scam_dialect_pairs`: counterfactual test pairs, the same message with only the
  register's markers changed;
* :func:`augment_dialect_counterfactuals`: counterfactual data augmentation, the mitigation;
* :func:`scam_dialect_bias`: the measurements on the pairs (mean score gap with a bootstrap
  interval, share of flipped decisions, per-register false- and true-positive rates, the
  false-positive-rate gap with :func:`~mlsec_helpers.fairness.disparity`);
* :func:`scam_dialect_figure`: the section's figure.

Introduced in lab 07 (Bias and fairness).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..validate import (
    ArgumentTypeError,
    check_choice,
    check_fraction,
    check_frame,
    check_int,
    check_seed,
    check_str,
    check_texts,
)
from .common import disparity
from .results import DialectPairs, DialectSkew, ScamDialectBias

__all__ = [
    "DIALECT_MARKERS",
    "DIALECT_REGISTERS",
    "augment_dialect_counterfactuals",
    "scam_dialect_bias",
    "scam_dialect_figure",
    "scam_dialect_pairs",
    "skew_scam_dialect",
]

DIALECT_REGISTERS: tuple[str, str] = ("UK English", "Indian English")
"""The two registers of :data:`DIALECT_MARKERS`. Introduced in lab 07 (Bias and fairness)."""

DIALECT_MARKERS: tuple[tuple[str, str, str, bool], ...] = (
    # (where, UK English, Indian English, listed for the augmentation)
    ("open", "Hi,", "Respected Sir,", True),
    ("open", "Hello,", "Good day sir,", True),
    ("open", "Hi there,", "Greetings of the day,", False),
    ("close", "Please sort this out.", "Kindly do the needful.", True),
    ("close", "Thanks", "Thanking you", True),
    ("close", "Can you get back to me soon?", "Please revert at the earliest.", False),
    ("close", "I have a question about this.", "I am having one doubt regarding this.", False),
)
"""Paired markers: where they go (``"open"``: before the message, ``"close"``: after it), the
UK-English phrase, the Indian-English phrase with the same meaning, and whether the
augmentation's swap list names the pair (``listed``; the unlisted ones test what the
augmentation misses). In the second register, ``please`` inside the message also becomes
``kindly``. The phrases are common, well-documented features of Indian English; no phrase
occurs in the corpus's own templates. Introduced in lab 07 (Bias and fairness)."""

_FRAME_COLUMNS = ("text", "label")
_PLEASE = re.compile(r"\b([Pp])lease\b")


def _markers(where: str, which: str) -> np.ndarray:
    return np.array([k for k, m in enumerate(DIALECT_MARKERS) if m[0] == where and (
        which == "all" or m[3] == (which == "listed"))])


def _render(text: str, opening: int, closing: int, register: int, inline: int) -> str:
    """``text`` framed by the markers ``opening`` and ``closing`` in ``register`` (0 or 1);
    ``inline`` (0 or 1) is the register of ``please``/``kindly`` inside the message."""
    if inline == 1:
        text = _PLEASE.sub(lambda m: "Kindly" if m.group(1) == "P" else "kindly", text)
    return f"{DIALECT_MARKERS[opening][1 + register]} {text} " \
           f"{DIALECT_MARKERS[closing][1 + register]}"


def _frame(frame) -> pd.DataFrame:
    frame = check_frame(frame, list(_FRAME_COLUMNS), "frame")
    if len(frame) < 2:
        raise ValueError("frame must hold at least two messages")
    check_texts(frame["text"].tolist(), "frame['text']")
    return frame.reset_index(drop=True)


def skew_scam_dialect(frame, *, framed_share: float = 0.5, scam_share: float = 0.8,
                      legit_share: float = 0.05, seed: int = 0) -> DialectSkew:
    """Simulate a data-collection skew in a training set: each message of ``frame`` (a corpus
    frame with ``text`` and ``label``) is, with probability ``framed_share``, framed by an
    opening and a closing marker of :data:`DIALECT_MARKERS` (any pair, listed or not), in the
    second register with probability ``scam_share`` for a scam and ``legit_share`` for a
    legitimate message (and in the first otherwise).

    This is a simulation, not the corpus generator's behaviour: it stands for scam examples
    collected mostly from fraudsters who write in one register, while the legitimate examples
    come from customers who mostly write in another, so the register predicts the label in
    the training data and in no deployed population of customers.

    Introduced in lab 07 (Bias and fairness).
    """
    frame = _frame(frame)
    framed_share = check_fraction(framed_share, "framed_share")
    scam_share = check_fraction(scam_share, "scam_share")
    legit_share = check_fraction(legit_share, "legit_share")
    gen = np.random.default_rng(check_seed(seed))
    base = frame["text"].to_numpy(dtype=object)
    texts = base.copy()
    registers = np.full(len(frame), "", dtype=object)
    markers = np.full((len(frame), 2), -1, dtype=np.int64)
    is_scam = (frame["label"] == "scam").to_numpy()
    openings, closings = _markers("open", "all"), _markers("close", "all")
    framed = gen.random(len(frame)) < framed_share
    second = gen.random(len(frame)) < np.where(is_scam, scam_share, legit_share)
    pre = gen.choice(openings, size=len(frame))
    post = gen.choice(closings, size=len(frame))
    for i in np.flatnonzero(framed):
        reg = int(second[i])
        texts[i] = _render(base[i], pre[i], post[i], reg, reg)
        registers[i] = DIALECT_REGISTERS[reg]
        markers[i] = pre[i], post[i]
    return DialectSkew(texts=texts, base_texts=base.copy(), registers=registers,
                       markers=markers, scam_share=scam_share, legit_share=legit_share)


def scam_dialect_pairs(frame, *, markers: str = "all", seed: int = 0) -> DialectPairs:
    """Counterfactual test pairs: each message of ``frame`` twice, framed by the same pair of
    markers (:data:`DIALECT_MARKERS`, drawn at random per message among ``markers``:
    ``"listed"``, ``"unlisted"`` or ``"all"``), once in each register, with ``please`` turned
    into ``kindly`` in the second. Nothing else differs.

    Introduced in lab 07 (Bias and fairness).
    """
    frame = _frame(frame)
    markers = check_choice(markers, ("listed", "unlisted", "all"), "markers")
    gen = np.random.default_rng(check_seed(seed))
    pre = gen.choice(_markers("open", markers), size=len(frame))
    post = gen.choice(_markers("close", markers), size=len(frame))
    base = frame["text"].tolist()
    texts_a, texts_b = ([_render(t, a, b, reg, reg) for t, a, b in zip(base, pre, post,
                                                                       strict=True)]
                        for reg in (0, 1))
    return DialectPairs(registers=DIALECT_REGISTERS, texts_a=np.array(texts_a, dtype=object),
                        texts_b=np.array(texts_b, dtype=object),
                        is_scam=(frame["label"] == "scam").to_numpy(), markers=markers)


def augment_dialect_counterfactuals(skewed: DialectSkew, labels) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """Counterfactual data augmentation (CDA; Lu et al., 2018, for gendered words): every
    framed training message is added a second time, with the same label, with its *listed*
    markers (and ``please``/``kindly``) swapped to the other register. Unlisted markers stay as
    they were: an augmentation swaps only the terms its authors thought of.

    Returns the augmented texts and labels (the originals first). Written by hand: no library
    of the course does text augmentation.

    Introduced in lab 07 (Bias and fairness).
    """
    if not isinstance(skewed, DialectSkew):
        raise ArgumentTypeError(f"skewed must be a DialectSkew (skew_scam_dialect), got "
                                f"{type(skewed).__name__}")
    labels = np.asarray(labels)
    if labels.shape != (len(skewed.texts),):
        raise ValueError(f"labels must hold one label per message ({len(skewed.texts)}), got "
                         f"shape {labels.shape}")
    framed = np.flatnonzero(skewed.registers != "")
    extra = []
    for i in framed:
        reg = DIALECT_REGISTERS.index(skewed.registers[i])
        pre, post = skewed.markers[i]
        base = skewed.base_texts[i]
        swapped = 1 - reg
        opening = DIALECT_MARKERS[pre][1 + (swapped if DIALECT_MARKERS[pre][3] else reg)]
        closing = DIALECT_MARKERS[post][1 + (swapped if DIALECT_MARKERS[post][3] else reg)]
        body = _PLEASE.sub(lambda m: "Kindly" if m.group(1) == "P" else "kindly", base) \
            if swapped == 1 else base
        extra.append(f"{opening} {body} {closing}")
    return (np.concatenate([skewed.texts, np.array(extra, dtype=object)]),
            np.concatenate([labels, labels[framed]]))


def scam_dialect_bias(system, pairs: DialectPairs, *, scam_index: int, n_boot: int = 1000,
                      seed: int = 0, on: str = "") -> ScamDialectBias:
    """Dialect bias of a fitted text ``system`` (``predict_proba`` on a list of messages) on
    the counterfactual ``pairs``: the mean change of the scam probability when the first
    register's markers are replaced by the second's (95% BCa bootstrap interval over messages,
    scipy's ``bootstrap``), the share of messages whose decision ("scam" is the top label)
    flips, false- and true-positive rates per register (Wilson intervals) and the
    false-positive-rate gap (:func:`~mlsec_helpers.fairness.disparity`; its bootstrap resamples
    each register's rows separately, so it ignores the pairing and is conservative).

    Introduced in lab 07 (Bias and fairness).
    """
    from scipy.stats import bootstrap

    from ..stats import proportion

    if not isinstance(pairs, DialectPairs):
        raise ArgumentTypeError(f"pairs must be a DialectPairs (scam_dialect_pairs), got "
                                f"{type(pairs).__name__}")
    scam_index = check_int(scam_index, "scam_index", 0)
    n_boot = check_int(n_boot, "n_boot", 100)
    seed = check_seed(seed)
    on = check_str(on, "on") if on else f"{len(pairs.is_scam)} messages, each in both registers"
    if not callable(getattr(system, "predict_proba", None)):
        raise ArgumentTypeError("system must be a fitted text classifier with predict_proba")
    n = len(pairs.texts_a)
    proba = system.predict_proba(np.concatenate([pairs.texts_a, pairs.texts_b]))
    if scam_index >= proba.shape[1]:
        raise ValueError(f"scam_index must be below the number of classes ({proba.shape[1]})")
    score_a, score_b = proba[:n, scam_index], proba[n:, scam_index]
    flag_a = proba[:n].argmax(1) == scam_index
    flag_b = proba[n:].argmax(1) == scam_index
    diff = score_b - score_a
    if np.ptp(diff) == 0:  # scipy's BCa interval is undefined on a constant sample
        low = high = float(diff[0])
    else:
        ci = bootstrap((diff,), np.mean, n_resamples=n_boot, confidence_level=0.95,
                       rng=np.random.default_rng(seed)).confidence_interval
        low, high = float(ci.low), float(ci.high)
    scam = pairs.is_scam
    first, second = pairs.registers
    n_legit, n_scam = int((~scam).sum()), int(scam.sum())
    return ScamDialectBias(
        registers=pairs.registers, score_a=score_a, score_b=score_b,
        mean_gap=float(diff.mean()), mean_gap_low=low, mean_gap_high=high,
        flips=proportion(flag_a != flag_b, on=on),
        fpr_a=proportion(flag_a[~scam], on=f"{n_legit} legitimate messages, {first}"),
        fpr_b=proportion(flag_b[~scam], on=f"{n_legit} legitimate messages, {second}"),
        tpr_a=proportion(flag_a[scam], on=f"{n_scam} scams, {first}"),
        tpr_b=proportion(flag_b[scam], on=f"{n_scam} scams, {second}"),
        fpr_gap=disparity("false_positive_rate", np.concatenate([scam, scam]).astype(int),
                          np.concatenate([flag_a, flag_b]).astype(int),
                          np.array([first] * n + [second] * n), n_boot=n_boot, seed=seed,
                          on=on),
        on=on)


def scam_dialect_figure(results: dict, *, title: str | None = None):
    """Bars of the false-positive rate (legitimate messages flagged as scams) per register, one
    bar group per entry of ``results`` (label -> :class:`ScamDialectBias`), with Wilson
    intervals as error bars. Colours: the registers, "neutral" for the first and "accent" for
    the second.

    Introduced in lab 07 (Bias and fairness).
    """
    import plotly.graph_objects as go

    from ..plots import COLORS

    if not isinstance(results, dict) or not results or not all(
            isinstance(r, ScamDialectBias) for r in results.values()):
        raise ValueError("results must be a non-empty dict of label -> ScamDialectBias")
    title = check_str(title, "title") if title is not None else None
    fig = go.Figure()
    labels = [str(k) for k in results]
    for reg, role in zip((0, 1), ("neutral", "accent"), strict=True):
        rates = [(r.fpr_a, r.fpr_b)[reg] for r in results.values()]
        fig.add_bar(
            name=DIALECT_REGISTERS[reg], x=labels, y=[r.value for r in rates],
            marker_color=COLORS[role],
            error_y=dict(type="data", symmetric=False, array=[r.high - r.value for r in rates],
                         arrayminus=[r.value - r.low for r in rates]),
            text=[f"{r.value:.1%}" for r in rates], textposition="outside")
    fig.update_layout(barmode="group", yaxis_title="legitimate messages flagged as scam",
                      yaxis_tickformat=".0%", title=title, height=420)
    return fig
