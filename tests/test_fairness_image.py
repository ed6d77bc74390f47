"""Lab 07 (Bias and fairness), image domain: writing-style measures, controlled pen and slant
changes, the accuracy gap and the pen-augmentation fine-tune."""

import numpy as np
import pytest
import torch
from fairlearn import metrics as fm

from mlsec_helpers.fairness import image as fi
from mlsec_helpers.systems import DigitsCNN
from mlsec_helpers.validate import ArgumentTypeError


def _bar(width: int, side: int = 28) -> np.ndarray:
    """One (1, 1, side, side) image: a vertical bar ``width`` pixels wide, 20 rows long."""
    img = np.zeros((1, 1, side, side), np.float32)
    img[0, 0, 4:24, 12:12 + width] = 1.0
    return img


def _digits(n=48, side=12, seed=0):
    gen = np.random.default_rng(seed)
    y = np.arange(n) % 10
    X = np.zeros((n, 1, side, side), np.float32)
    for k, label in enumerate(y):  # a crude "digit": a bar whose column codes the label
        X[k, 0, 2:10, label % (side - 2): label % (side - 2) + 2] = 1.0
    X += gen.random(X.shape, dtype=np.float32) * 0.1
    return np.clip(X, 0, 1), y


def test_stroke_width_measures_the_bar_width():
    widths = fi.digit_stroke_width(np.concatenate([_bar(2), _bar(3), _bar(5)]))
    assert widths[0] < widths[1] < widths[2]
    assert widths[2] == pytest.approx(5, rel=0.35) and widths[0] == pytest.approx(2, rel=0.35)
    assert fi.digit_stroke_width(np.zeros((1, 1, 8, 8), np.float32))[0] == 0


def test_slant_reads_a_shear_back():
    upright = _bar(3)
    assert abs(fi.digit_slant(upright)[0]) < 1e-9
    for s in (-0.4, 0.3):
        assert fi.digit_slant(fi.digit_shear(upright, shear=s))[0] == pytest.approx(s, abs=0.03)
    assert fi.digit_slant(np.zeros((2, 1, 8, 8), np.float32)).tolist() == [0.0, 0.0]


def test_pens_thin_and_thicken_without_moving_the_digit():
    X = np.concatenate([_bar(3), _bar(4)])
    fine, broad = fi.digit_pen(X, pen="fine"), fi.digit_pen(X, pen="broad")
    assert fine.shape == broad.shape == X.shape and fine.dtype == np.float32
    assert fine.sum() < X.sum() < broad.sum()
    assert 0 <= fine.min() and broad.max() <= 1
    assert (fi.digit_stroke_width(fine) < fi.digit_stroke_width(X)).all()
    assert (fi.digit_stroke_width(broad) > fi.digit_stroke_width(X)).all()
    assert np.array_equal(fi.digit_shear(X, shear=0.0), X)


def test_style_groups_are_quantiles():
    g = fi.digit_style_groups(np.arange(8.0), ("low", "2", "3", "high"))
    assert g.tolist() == ["low", "low", "2", "2", "3", "3", "high", "high"]
    assert set(fi.digit_style_groups(np.arange(10.0))) == {"Q1 (lowest)", "Q2", "Q3",
                                                         "Q4 (highest)"}


def test_accuracy_gap_is_fairlearns():
    gen = np.random.default_rng(0)
    groups = gen.choice(["thin", "thick"], size=400)
    correct = (gen.random(400) < np.where(groups == "thin", 0.8, 0.95)).astype(int)
    gap = fi.digit_accuracy_gap(correct, groups, n_boot=200, seed=1, on="400 digits")
    ones = np.ones_like(correct)
    assert gap.value == pytest.approx(fm.accuracy_score_difference(
        ones, correct, sensitive_features=groups))
    assert gap.metric == "accuracy" and gap.low <= gap.value <= gap.high and gap.n == 400
    assert gap.value == pytest.approx(abs(correct[groups == "thin"].mean()
                                          - correct[groups == "thick"].mean()))


def _small_cnn():
    X, y = _digits()
    return DigitsCNN(seed=0, epochs=1, width=4).fit(X, y), X, y


def test_finetune_leaves_the_system_and_global_state_unchanged(unchanged_global_state):
    system, X, y = _small_cnn()
    before = {k: v.clone() for k, v in system.model.state_dict().items()}
    a = fi.finetune_digits_with_pens(system, X, y, epochs=1, seed=3)
    b = fi.finetune_digits_with_pens(system, X, y, epochs=1, seed=3)
    after = system.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert a.model is not system.model and a.pens_ == ("fine", "broad")
    assert any(not torch.equal(before[k], v) for k, v in a.model.state_dict().items())
    assert all(torch.equal(v, b.model.state_dict()[k]) for k, v in a.model.state_dict().items())
    assert a.predict(X).shape == (len(X),)


@pytest.mark.parametrize("call, error", [
    (lambda: fi.digit_stroke_width(np.zeros((2, 28, 28))), ValueError),
    (lambda: fi.digit_stroke_width(np.full((1, 1, 8, 8), 2.0)), ValueError),
    (lambda: fi.digit_slant(np.zeros((1, 3, 8, 8))), ValueError),
    (lambda: fi.digit_slant("image"), ValueError),
    (lambda: fi.digit_pen(_bar(2), pen="marker"), ValueError),
    (lambda: fi.digit_pen(np.zeros((1, 1, 2, 2), np.float32), pen="fine"), ValueError),
    (lambda: fi.digit_shear(_bar(2), shear=1.5), ValueError),
    (lambda: fi.digit_shear(_bar(2), shear="0.3"), ArgumentTypeError),
    (lambda: fi.digit_style_groups(np.arange(3.0)), ValueError),
    (lambda: fi.digit_style_groups(np.arange(8.0), ("a", "a")), ValueError),
    (lambda: fi.digit_style_groups(np.arange(8.0), "ab"), ValueError),
    (lambda: fi.digit_style_groups(np.array([1.0, np.nan, 2, 3])), ValueError),
    (lambda: fi.digit_accuracy_gap([1, 0, 2, 1], ["a", "a", "b", "b"]), ValueError),
    (lambda: fi.digit_accuracy_gap([1, 0, 1, 1], ["a", "a", "a", "a"]), ValueError),
    (lambda: fi.digit_accuracy_gap([1, 0, 1], ["a", "b"]), ValueError),
    (lambda: fi.digit_accuracy_gap([1.5, 0, 1, 1], ["a", "a", "b", "b"]), ArgumentTypeError),
    (lambda: fi.digit_accuracy_gap([1, 0, 1, 1], ["a", "a", "b", "b"], seed=-1), ValueError),
])
def test_bad_inputs_raise_clear_errors(call, error):
    with pytest.raises(error):
        call()


def test_finetune_rejects_bad_arguments():
    system, X, y = _small_cnn()
    with pytest.raises(ValueError, match="fitted DigitsCNN"):
        fi.finetune_digits_with_pens(DigitsCNN(), X, y)
    with pytest.raises(ValueError, match="fitted DigitsCNN"):
        fi.finetune_digits_with_pens("cnn", X, y)
    for kwargs in ({"pens": ("fine", "marker")}, {"pens": ()}, {"pens": "fine"},
                   {"fraction": 1.5}, {"epochs": 0}, {"lr": 0.0}, {"seed": -1}):
        with pytest.raises(ValueError):
            fi.finetune_digits_with_pens(system, X, y, **kwargs)
    with pytest.raises(ValueError):
        fi.finetune_digits_with_pens(system, X, y[:-1])
    with pytest.raises(ValueError):
        fi.finetune_digits_with_pens(system, X, y + 10)
