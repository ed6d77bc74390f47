"""Lab 07, NLP: dialect markers, the simulated skew, counterfactual pairs, CDA and the bias
measurements (mlsec_helpers.fairness.nlp)."""

import numpy as np
import pandas as pd
import pytest
import scipy.stats  # noqa: F401  (loads SciPy's BLAS before the state fixture looks)
import sklearn.linear_model  # noqa: F401  (the same for scikit-learn's)

from mlsec_helpers.fairness import nlp as fair_nlp
from mlsec_helpers.fairness.results import DialectPairs, DialectSkew, ScamDialectBias
from mlsec_helpers.validate import ArgumentTypeError

MARKERS = fair_nlp.DIALECT_MARKERS


def _frame(n=400, scam_every=4):
    labels = ["scam" if i % scam_every == 0 else "card_lost" for i in range(n)]
    texts = [f"message {i}: please help with my card" if lab != "scam"
             else f"message {i}: verify your account now" for i, lab in enumerate(labels)]
    return pd.DataFrame({"text": texts, "label": labels})


class _KindlyModel:
    """Two classes (0: legit, 1: scam); the scam probability rises with the listed
    Indian-English openings (both end in "sir,") and with the word 'verify'."""

    def predict_proba(self, texts):
        p = np.array([0.1 + 0.45 * ("sir," in t.lower()) + 0.5 * ("verify" in t)
                      for t in texts]).clip(0, 0.99)
        return np.column_stack([1 - p, p])


def test_markers_are_paired_and_cover_both_positions():
    assert fair_nlp.DIALECT_REGISTERS == ("UK English", "Indian English")
    for where, uk, indian, listed in MARKERS:
        assert where in ("open", "close") and uk != indian and isinstance(listed, bool)
    for where in ("open", "close"):
        assert any(m[3] for m in MARKERS if m[0] == where)
        assert any(not m[3] for m in MARKERS if m[0] == where)


def test_skew_follows_the_shares_and_is_seeded():
    frame = _frame(2000)
    skew = fair_nlp.skew_scam_dialect(frame, framed_share=0.5, scam_share=0.9,
                                      legit_share=0.1, seed=3)
    assert isinstance(skew, DialectSkew)
    framed = skew.registers != ""
    assert 0.45 < framed.mean() < 0.55
    scam = (frame["label"] == "scam").to_numpy()
    indian = skew.registers == "Indian English"
    assert indian[framed & scam].mean() > 0.8 and indian[framed & ~scam].mean() < 0.2
    assert (skew.texts[~framed] == frame["text"].to_numpy()[~framed]).all()
    assert (skew.base_texts == frame["text"].to_numpy()).all()
    assert (skew.markers[~framed] == -1).all() and (skew.markers[framed] >= 0).all()
    for i in np.flatnonzero(framed)[:20]:
        reg = 1 + int(indian[i])
        pre, post = skew.markers[i]
        assert skew.texts[i].startswith(MARKERS[pre][reg] + " ")
        assert skew.texts[i].endswith(" " + MARKERS[post][reg])
    again = fair_nlp.skew_scam_dialect(frame, framed_share=0.5, scam_share=0.9,
                                       legit_share=0.1, seed=3)
    assert (again.texts == skew.texts).all()
    other = fair_nlp.skew_scam_dialect(frame, framed_share=0.5, scam_share=0.9,
                                       legit_share=0.1, seed=4)
    assert (other.texts != skew.texts).any()


def test_pairs_differ_only_in_markers():
    frame = _frame(60)
    for which in ("listed", "unlisted", "all"):
        pairs = fair_nlp.scam_dialect_pairs(frame, markers=which, seed=1)
        assert isinstance(pairs, DialectPairs) and pairs.markers == which
        allowed_a = {m[1] for m in MARKERS if which == "all" or m[3] == (which == "listed")}
        for a, b, text in zip(pairs.texts_a, pairs.texts_b, frame["text"], strict=True):
            assert text in a and text.replace("please", "kindly") in b
            assert a.split(" ")[0] + " " in " ".join(sorted(allowed_a)) + " "
        assert (pairs.is_scam == (frame["label"] == "scam")).all()


def test_augmentation_swaps_listed_markers_only():
    frame = _frame(400)
    skew = fair_nlp.skew_scam_dialect(frame, framed_share=1.0, scam_share=1.0,
                                      legit_share=0.0, seed=0)
    labels = (frame["label"] == "scam").to_numpy().astype(int)
    texts, y = fair_nlp.augment_dialect_counterfactuals(skew, labels)
    n = len(frame)
    assert len(texts) == len(y) == 2 * n and (y[n:] == labels).all()
    for k in range(n):
        pre, post = skew.markers[k]
        reg = 1 + int(labels[k])  # scams were framed in Indian English, the rest in UK
        swapped = 3 - reg
        new = texts[n + k]
        assert new.startswith(MARKERS[pre][swapped if MARKERS[pre][3] else reg] + " ")
        assert new.endswith(" " + MARKERS[post][swapped if MARKERS[post][3] else reg])
        assert ("kindly" in new) == (swapped == 2)


def test_bias_measures_a_marker_dependent_model(unchanged_global_state):
    frame = _frame(400)
    pairs = fair_nlp.scam_dialect_pairs(frame, markers="listed", seed=0)
    res = fair_nlp.scam_dialect_bias(_KindlyModel(), pairs, scam_index=1, n_boot=200, seed=0)
    assert isinstance(res, ScamDialectBias)
    # legitimate messages (3 in 4) gain 0.45; scams gain 0.39 (clipped at 0.99)
    assert res.mean_gap == pytest.approx(0.75 * 0.45 + 0.25 * 0.39)
    assert res.mean_gap_low <= res.mean_gap <= res.mean_gap_high
    assert res.fpr_a.value == 0.0 and res.fpr_b.value == 1.0
    assert res.tpr_a.value == 1.0 and res.tpr_b.value == 1.0
    assert res.fpr_gap.value == pytest.approx(1.0)
    assert res.flips.value == pytest.approx(0.75)
    fig = fair_nlp.scam_dialect_figure({"toy": res}, title="toy")
    assert len(fig.data) == 2


def test_bias_of_a_trained_triage_model(unchanged_global_state):
    from mlsec_helpers import systems
    from mlsec_helpers.data import load_dataset

    data = load_dataset("nlp", seed=0)
    train = data.frame_train.iloc[:1200]
    skew = fair_nlp.skew_scam_dialect(train, framed_share=0.6, scam_share=0.9,
                                      legit_share=0.05, seed=0)
    model = systems.TextTriage(char_ngrams=False).fit(skew.texts, data.y_train[:1200])
    pairs = fair_nlp.scam_dialect_pairs(data.frame_test.iloc[:300], markers="listed")
    scam = data.extra["scam_index"]
    before = fair_nlp.scam_dialect_bias(model, pairs, scam_index=scam, n_boot=200)
    texts, labels = fair_nlp.augment_dialect_counterfactuals(skew, data.y_train[:1200])
    fixed = systems.TextTriage(char_ngrams=False).fit(texts, labels)
    after = fair_nlp.scam_dialect_bias(fixed, pairs, scam_index=scam, n_boot=200)
    assert before.mean_gap > 0.02 and before.mean_gap_low > 0
    assert abs(after.mean_gap) < before.mean_gap / 3


@pytest.mark.parametrize("call", [
    lambda f: fair_nlp.skew_scam_dialect(f, scam_share=1.5),
    lambda f: fair_nlp.skew_scam_dialect(f, framed_share=-0.1),
    lambda f: fair_nlp.skew_scam_dialect(f, seed=-1),
    lambda f: fair_nlp.skew_scam_dialect(f.drop(columns="label")),
    lambda f: fair_nlp.skew_scam_dialect(f.iloc[:1]),
    lambda f: fair_nlp.skew_scam_dialect(f.assign(text=1)),
    lambda f: fair_nlp.skew_scam_dialect(f["text"]),
    lambda f: fair_nlp.scam_dialect_pairs(f, markers="some"),
    lambda f: fair_nlp.augment_dialect_counterfactuals("not a skew", [0, 1]),
    lambda f: fair_nlp.augment_dialect_counterfactuals(fair_nlp.skew_scam_dialect(f), [0, 1]),
    lambda f: fair_nlp.scam_dialect_bias(_KindlyModel(), "pairs", scam_index=1),
    lambda f: fair_nlp.scam_dialect_bias(_KindlyModel(), fair_nlp.scam_dialect_pairs(f),
                                         scam_index=2),
    lambda f: fair_nlp.scam_dialect_bias(_KindlyModel(), fair_nlp.scam_dialect_pairs(f),
                                         scam_index=-1),
    lambda f: fair_nlp.scam_dialect_bias(object(), fair_nlp.scam_dialect_pairs(f),
                                         scam_index=1),
    lambda f: fair_nlp.scam_dialect_bias(_KindlyModel(), fair_nlp.scam_dialect_pairs(f),
                                         scam_index=1, n_boot=5),
    lambda f: fair_nlp.scam_dialect_figure({}),
    lambda f: fair_nlp.scam_dialect_figure({"a": 1}),
])
def test_bad_inputs_raise(call):
    with pytest.raises(ValueError):
        call(_frame(40))


def test_wrong_types_are_argument_type_errors():
    frame = _frame(40)
    with pytest.raises(ArgumentTypeError):
        fair_nlp.skew_scam_dialect(frame["text"])
    with pytest.raises(ArgumentTypeError):
        fair_nlp.scam_dialect_bias(_KindlyModel(), "pairs", scam_index=1)
    with pytest.raises(ArgumentTypeError):
        fair_nlp.augment_dialect_counterfactuals("not a skew", [0, 1])
