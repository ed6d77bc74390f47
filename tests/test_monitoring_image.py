"""Tests of lab 13's image week: the scanner change, feature squeezing, PGD digits, the week,
its monitors, the damage and the adaptive attacker."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from mlsec_helpers import systems
from mlsec_helpers.data import load_dataset
from mlsec_helpers.monitoring import common, image
from mlsec_helpers.monitoring.results import AdaptiveImageAttack, DigitBank, SqueezeScores
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def setup():
    data = load_dataset("image", seed=0)
    system = systems.reference_system("image", seed=0)
    pca = PCA(5, random_state=0).fit(data.X_train[:300].reshape(300, -1))
    reference = image.digit_bank(system, data.X_train[:300], data.y_train[:300], pca,
                                 squeeze=False)
    clean = image.digit_bank(system, data.X_test[:200], data.y_test[:200], pca)
    drifted = image.digit_bank(system, image.scanner_change(data.X_test[:100]),
                               data.y_test[:100], pca)
    adv_images = image.pgd_digits(system, data.X_test[200:260], data.y_test[200:260], 0.2,
                                  steps=5, seed=0)
    adversarial = image.digit_bank(system, adv_images, data.y_test[200:260], pca)
    return {"data": data, "system": system, "pca": pca, "reference": reference,
            "clean": clean, "drifted": drifted, "adversarial": adversarial,
            "adv_images": adv_images}


def test_scanner_change_by_hand():
    X = np.array([0.0, 0.5, 1.0], dtype=np.float32).reshape(1, 1, 1, 3)
    np.testing.assert_allclose(image.scanner_change(X).ravel(), [0.1, 0.5, 0.9], atol=1e-6)
    np.testing.assert_allclose(image.scanner_change(X, brightness=0.5, contrast=1.0).ravel(),
                               [0.5, 1.0, 1.0])
    with pytest.raises(ValueError, match="pixels"):
        image.scanner_change(X * 2)
    with pytest.raises(ValueError):
        image.scanner_change(X, contrast=0)
    with pytest.raises(ValueError):
        image.scanner_change(np.zeros((3, 28, 28)))


def test_squeezers_by_hand():
    X = np.array([[0.1, 0.6], [0.4, 0.9]], dtype=np.float32).reshape(1, 1, 2, 2)
    np.testing.assert_allclose(image.squeeze_bit_depth(X).ravel(), [0, 1, 0, 1])
    np.testing.assert_allclose(image.squeeze_bit_depth(X, 2).ravel(), [0, 2 / 3, 1 / 3, 1])
    # 2x2 windows starting at each pixel, edges repeated; median = mean of the 2 middle values
    expected = [np.median([0.1, 0.6, 0.4, 0.9]), np.median([0.6, 0.6, 0.9, 0.9]),
                np.median([0.4, 0.9, 0.4, 0.9]), 0.9]
    np.testing.assert_allclose(image.squeeze_median(X).ravel(), expected, atol=1e-6)
    with pytest.raises(ValueError):
        image.squeeze_bit_depth(X, 0)
    with pytest.raises(ValueError):
        image.squeeze_median(X, 1)


def test_squeeze_scores_match_the_model(setup):
    system, X = setup["system"], setup["data"].X_test[:30]
    scores = image.squeeze_scores(system, X)
    assert isinstance(scores, SqueezeScores) and scores.squeeze.shape == (30,)
    p = system.predict_proba(X)
    pb = system.predict_proba(image.squeeze_bit_depth(X))
    pm = system.predict_proba(image.squeeze_median(X))
    expected = np.maximum(np.abs(p - pb).sum(1), np.abs(p - pm).sum(1))
    np.testing.assert_allclose(scores.squeeze, expected, atol=1e-5)
    np.testing.assert_array_equal(scores.predicted, p.argmax(1))
    np.testing.assert_allclose(scores.confidence, p.max(1), atol=1e-6)
    np.testing.assert_allclose(scores.intensity, X.reshape(30, -1).mean(1), atol=1e-6)
    assert ((scores.squeeze >= 0) & (scores.squeeze <= 2)).all()
    with pytest.raises(ValueError, match="not fitted"):
        image.squeeze_scores(object(), X)

    class Fitted:
        fitted_ = True

    with pytest.raises(ArgumentTypeError, match="digit reader"):
        image.squeeze_scores(Fitted(), X)


def test_pgd_digits_stay_in_the_ball_and_fool_the_model(setup, unchanged_global_state):
    X, y = setup["data"].X_test[200:260], setup["data"].y_test[200:260]
    adv = setup["adv_images"]
    assert np.abs(adv - X).max() <= 0.2 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    misread = (setup["adversarial"].scores.predicted != y).mean()
    assert misread > 0.7
    again = image.pgd_digits(setup["system"], X[:10], y[:10], 0.2, steps=5, seed=0)
    np.testing.assert_array_equal(again, adv[:10])
    state = torch.random.get_rng_state()
    image.pgd_digits(setup["system"], X[:4], y[:4], 0.1, steps=2, seed=3)
    assert torch.equal(state, torch.random.get_rng_state())
    np.testing.assert_array_equal(image.pgd_digits(setup["system"], X[:3], y[:3], 0.0), X[:3])
    with pytest.raises(ValueError):
        image.pgd_digits(setup["system"], X[:3], y[:2], 0.1)
    with pytest.raises(ValueError):
        image.pgd_digits(setup["system"], X[:3], y[:3], -0.1)


def test_squeezing_flags_adversarial_digits_not_the_new_scanner(setup):
    limit = np.quantile(setup["clean"].scores.squeeze, 0.99)
    flagged = {k: (setup[k].scores.squeeze > limit).mean()
               for k in ("clean", "drifted", "adversarial")}
    assert flagged["adversarial"] > 0.5 > 0.1 > flagged["drifted"]


def test_digit_bank_without_squeezing(setup):
    ref = setup["reference"]
    assert isinstance(ref, DigitBank) and len(ref) == 300
    assert np.isnan(ref.scores.squeeze).all() and ref.features.shape == (300, 5)
    bare = image.digit_bank(setup["system"], setup["data"].X_test[:5], setup["data"].y_test[:5])
    assert bare.features.shape == (5, 0)


def test_image_week_layout(setup):
    week = image.image_week(setup["clean"], setup["drifted"], setup["adversarial"], seed=1,
                            per_hour=20, adversarial_per_hour=3)
    assert len(week) == 168 and [i.kind for i in week.incidents] == ["drift", "attack"]
    assert week.incident("adversarial digits").hours == range(96, 120)
    counts = [int(w.meta["is_adversarial"].sum()) for w in week.windows]
    assert counts[96:120] == [3] * 24 and sum(counts) == 72
    assert all(len(w) == 20 for w in week.windows)
    # drifted digits on day 3: their intensity is the new scanner's
    assert week.windows[50].meta["intensity"].mean() > week.windows[10].meta["intensity"].mean()
    # the honest traffic depends on the seed only
    quiet = image.image_week(setup["clean"], setup["drifted"], None, seed=1, per_hour=20,
                             attack_hours=None)
    np.testing.assert_array_equal(quiet.windows[97].X[3:], week.windows[97].X[3:])
    np.testing.assert_array_equal(quiet.windows[10].X, week.windows[10].X)
    paced = image.image_week(setup["clean"], None, setup["adversarial"], seed=1,
                             drift_hours=None, adversarial_per_hour={60: 2, 100: 1})
    assert paced.incidents[0].hours == range(60, 101)
    with pytest.raises(ValueError, match="drifted bank"):
        image.image_week(setup["clean"], None, None)
    with pytest.raises(ValueError, match="cannot exceed"):
        image.image_week(setup["clean"], setup["drifted"], setup["adversarial"], per_hour=10,
                         adversarial_per_hour=11)
    with pytest.raises(ValueError, match="adversarial bank"):
        image.image_week(setup["clean"], setup["drifted"], None, adversarial_per_hour={5: 1})


def test_monitors_and_damage(setup):
    week = image.image_week(setup["clean"], setup["drifted"], setup["adversarial"], seed=0,
                            per_hour=30)
    limit = image.squeeze_threshold(week, 0.01)
    benign = np.concatenate([week.windows[h].meta["squeeze"] for h in week.benign_hours])
    assert (benign > limit).mean() <= 0.01
    monitors = image.image_monitors(setup["reference"], limit, seed=0)
    assert [m.kind for m in monitors] == ["input", "input", "prediction", "prediction",
                                          "attack"]
    frame = common.run_monitors(week, monitors)
    assert frame.loc[96:119, "feature squeezing"].mean() > frame.loc[:47,
                                                                     "feature squeezing"].mean()
    assert frame.loc[48:71, "intensity PSI"].min() > frame.loc[:47, "intensity PSI"].max()
    open_ = image.attack_damage(week)
    assert open_.n == 96 and open_.value > 0.7
    responded = image.attack_damage(week, 97, squeeze_limit=limit)
    assert responded.successes < open_.successes
    with pytest.raises(ValueError, match="squeeze_limit"):
        image.attack_damage(week, 97)
    quiet = image.image_week(setup["clean"], setup["drifted"], None, seed=0, attack_hours=None)
    with pytest.raises(ValueError, match="no adversarial digit"):
        image.attack_damage(quiet)
    with pytest.raises(ValueError, match="projection"):
        image.image_monitors(image.digit_bank(setup["system"], setup["data"].X_test[:5],
                                              setup["data"].y_test[:5]), limit)
    with pytest.raises(ValueError):
        image.image_monitors(setup["reference"], 3.0)


def test_paced_attacker_raises_no_alert_of_its_own(setup, unchanged_global_state):
    week = image.image_week(setup["clean"], setup["drifted"], setup["adversarial"], seed=0,
                            per_hour=30)
    limit = image.squeeze_threshold(week, 0.01)
    monitors = image.image_monitors(setup["reference"], limit, seed=0)
    report = common.monitor_week(week, monitors, 0.01)
    result, paced = image.paced_attack(setup["clean"], setup["drifted"], setup["adversarial"],
                                       monitors, report.thresholds, limit, seed=0,
                                       hours=range(72, 84), max_per_hour=3, per_hour=30,
                                       unpaced_misread=7)
    assert isinstance(result, AdaptiveImageAttack)
    assert result.alerts == 0 and result.success.value == 1.0
    assert 0 < result.sent <= 3 * 12 and result.misread == result.sent
    assert result.unpaced_misread == 7 and result.hours == 12
    assert 0 < result.survivors <= result.crafted == 60
    sent = [int(w.meta["is_adversarial"].sum()) for w in paced.windows]
    assert sum(sent) == result.sent and sum(sent[:72]) == 0
    flagged = np.concatenate([w.meta["squeeze"][w.meta["is_adversarial"]]
                              for w in paced.windows])
    assert (flagged <= limit).all()
    with pytest.raises(ValueError, match="exactly the monitors"):
        image.paced_attack(setup["clean"], setup["drifted"], setup["adversarial"], monitors,
                           {"x": 1.0}, limit)
