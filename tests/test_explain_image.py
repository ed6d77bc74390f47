"""Tests of lab 08's image helpers (mlsec_helpers.explain.image) on small inputs."""

from __future__ import annotations

import numpy as np
import pytest

from mlsec_helpers import explain, poisoning, systems
from mlsec_helpers.explain import image as xi
from mlsec_helpers.explain.results import DigitSaliencyAttack, DigitTriggerDetection
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def backdoored():
    """A tiny backdoored CNN on 12x12 synthetic 'digits' (a bar whose position is the class),
    with lab 03's trigger: trained in about a second."""
    rng = np.random.default_rng(0)
    n, side = 600, 12
    y = rng.integers(0, 10, n)
    X = np.zeros((n, 1, side, side), np.float32)
    for i, c in enumerate(y):
        X[i, 0, c % 8 + 1, 1:7] = 1.0 if c < 8 else 0.0
        X[i, 0, 1:7, c % 8 + 1] = 1.0 if c >= 8 else X[i, 0, 1:7, c % 8 + 1]
    X = np.clip(X + rng.uniform(0, 0.1, X.shape).astype(np.float32), 0, 1)
    p = poisoning.poison_images(X, y, 7, 0.1, seed=0)
    cnn = systems.DigitsCNN(seed=0, epochs=4, width=4).fit(p.X, p.y)
    return cnn, X[:40], y[:40]


def test_trigger_mask_covers_the_trigger():
    mask = xi.digit_trigger_mask(28, 2)
    assert mask.shape == (28, 28) and mask.sum() == 9
    stamped = poisoning.stamp_trigger(np.zeros((1, 1, 28, 28), np.float32))[0, 0] > 0
    assert stamped.sum() == 4 and (stamped & ~mask).sum() == 0
    with pytest.raises(ValueError):
        xi.digit_trigger_mask(6, 4)
    with pytest.raises(ArgumentTypeError):
        xi.digit_trigger_mask(28.0)


def test_window_concentration():
    a = np.zeros((2, 6, 6))
    a[0, 4:6, 4:6] = 1.0  # all mass in one corner window
    a[1] = 1.0  # spread evenly
    c = xi.digit_window_concentration(a, window=3)
    assert c[0] == pytest.approx(1.0) and c[1] == pytest.approx(9 / 36)
    assert xi.digit_window_concentration(np.zeros((1, 4, 4)))[0] == 0.0
    with pytest.raises(ValueError):
        xi.digit_window_concentration(a, window=7)
    with pytest.raises(ValueError):
        xi.digit_window_concentration(np.zeros((4, 4)))


def test_share_interval():
    m, lo, hi = xi.digit_share_interval(np.linspace(0, 1, 50), seed=0)
    assert lo < m < hi and m == pytest.approx(0.5)
    assert xi.digit_share_interval([0.1, 0.3], seed=1) == xi.digit_share_interval([0.1, 0.3],
                                                                                   seed=1)
    with pytest.raises(ValueError):
        xi.digit_share_interval([0.1])
    with pytest.raises(ValueError):
        xi.digit_share_interval([0.1, 0.2], confidence=1.0)


def test_attributions_and_baselines(backdoored, unchanged_global_state):
    cnn, X, _ = backdoored
    sal = xi.digit_attributions(cnn, X[:8])
    assert sal.shape == (8, 12, 12) and (sal >= 0).all()
    ig = xi.digit_attributions(cnn, X[:8], method="integrated_gradients", baseline="black",
                               n_steps=8)
    Xb = X[:8].copy()
    Xb[:, :, :3, :3] = 0.0
    ig_b = xi.digit_attributions(cnn, Xb, method="integrated_gradients", n_steps=8)
    assert np.all(ig_b[:, :3, :3] == 0)  # the black-baseline pitfall
    for base in ("blur", "uniform"):
        other = xi.digit_attributions(cnn, Xb, method="integrated_gradients", baseline=base,
                                      n_steps=8, seed=3)
        assert np.abs(other[:, :3, :3]).sum() > 0
    assert ig.shape == (8, 12, 12)
    ixg = xi.digit_attributions(cnn, X[:4], method="input_x_gradient", target=3)
    assert ixg.shape == (4, 12, 12)


def test_attributions_reject_bad_input(backdoored):
    cnn, X, _ = backdoored
    with pytest.raises(ValueError):
        xi.digit_attributions(cnn, X, method="lime")
    with pytest.raises(ValueError):
        xi.digit_attributions(cnn, X, method="integrated_gradients", baseline="white")
    with pytest.raises(ValueError):
        xi.digit_attributions(cnn, X[:, :, :8, :8])
    with pytest.raises(ValueError):
        xi.digit_attributions(cnn, X * 3)
    with pytest.raises(ValueError):
        xi.digit_attributions(cnn, X, target=10)
    with pytest.raises(ValueError):
        xi.digit_attributions(systems.DigitsCNN(), X)


def test_detector(backdoored):
    rng = np.random.default_rng(0)
    clean = rng.uniform(0, 1, (60, 10, 10))
    trig = clean.copy()
    trig[:, 7:10, 7:10] += 30.0
    det = xi.detect_concentrated_digits(clean[:30], clean[30:], trig[30:],
                                        false_alarm_target=0.05)
    assert isinstance(det, DigitTriggerDetection)
    assert det.detection.value == 1.0 and det.false_alarms.value <= 0.2
    assert det.detection.n == 30 and len(det.scores_clean) == 30
    with pytest.raises(ValueError):
        xi.detect_concentrated_digits(clean, clean, trig, false_alarm_target=0.0)


def test_saliency_shift_attack(backdoored, unchanged_global_state):
    cnn, X, _ = backdoored
    mask = xi.digit_trigger_mask(12, 2)
    Xt = poisoning.stamp_trigger(X[:10])
    att = xi.saliency_shift_attack(cnn, Xt, 7, mask, eps=0.1, steps=5)
    assert isinstance(att, DigitSaliencyAttack)
    assert att.X_adv.shape == Xt.shape and att.kept.shape == (10,)
    assert att.linf <= 0.1 + 1e-6
    assert np.all(att.X_adv[:, :, mask] == Xt[:, :, mask])  # the trigger is left intact
    assert att.X_adv.min() >= 0 and att.X_adv.max() <= 1
    again = xi.saliency_shift_attack(cnn, Xt, 7, mask, eps=0.1, steps=5)
    assert np.array_equal(att.X_adv, again.X_adv)  # deterministic
    before = explain.patch_mass_share(xi.digit_attributions(cnn, Xt, target=7), mask)
    after = explain.patch_mass_share(xi.digit_attributions(cnn, att.X_adv, target=7), mask)
    assert after.mean() <= before.mean() + 1e-9


def test_attack_rejects_bad_input(backdoored):
    cnn, X, _ = backdoored
    mask = xi.digit_trigger_mask(12, 2)
    with pytest.raises(ValueError):
        xi.saliency_shift_attack(cnn, X, 7, mask[:5])
    with pytest.raises(ValueError):
        xi.saliency_shift_attack(cnn, X, 11, mask)
    with pytest.raises(ValueError):
        xi.saliency_shift_attack(cnn, X, 7, mask, eps=-0.1)
    with pytest.raises(ValueError):
        xi.saliency_shift_attack(cnn, X, 7, mask, beta=0.0)
    with pytest.raises(ArgumentTypeError):
        xi.saliency_shift_attack(cnn, X, 7, mask, steps=2.5)
