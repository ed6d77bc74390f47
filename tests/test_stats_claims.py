"""Intervals for rates (stats) and teaching claims (claims)."""

import json

import numpy as np
import pytest

from mlsec_helpers import claims, stats


def test_wilson_interval_matches_the_formula_and_behaves_at_the_edges():
    r = stats.proportion(169, 200, on="200 test digits")
    z = 1.959963984540054
    p, n = 169 / 200, 200
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert r.low == pytest.approx(centre - half) and r.high == pytest.approx(centre + half)
    assert str(r) == "0.845 [0.788, 0.889] on 200 test digits"
    zero = stats.proportion(np.zeros(30, dtype=bool))
    assert zero.value == 0 and zero.low == 0 and 0 < zero.high < 0.15 and zero.few_events
    assert f"{stats.proportion(1, 2):.2f}" == "0.50 [0.09, 0.91]"


@pytest.mark.parametrize(("args", "error"), [
    ((5, 3), ValueError), ((-1, 3), ValueError), ((1.5, 3), TypeError),
    ((np.array([0, 2]),), ValueError), ((0, 0), ValueError),
])
def test_proportion_rejects_bad_input(args, error):
    with pytest.raises(error):
        stats.proportion(*args)


def test_auc_interval_contains_the_auc_and_is_reproducible():
    gen = np.random.default_rng(0)
    y = gen.random(300) < 0.5
    s = gen.random(300) + 0.3 * y
    from sklearn.metrics import roc_auc_score

    r = stats.auc_interval(y.astype(int), s, on="300 cases", seed=1)
    assert r.value == pytest.approx(roc_auc_score(y, s))
    assert r.low < r.value < r.high and r.high - r.low < 0.2
    assert stats.auc_interval(y.astype(int), s, seed=1) == stats.auc_interval(
        y.astype(int), s, seed=1)
    with pytest.raises(ValueError, match="both classes"):
        stats.auc_interval(np.ones(5, int), np.arange(5.0))


def test_a_claim_that_holds_passes_quietly(capsys):
    c = claims.claim("attack works", 0.9, at_least=0.5)
    assert c.held and c.margin == pytest.approx(0.4) and capsys.readouterr().out == ""
    # a cell that ends with a claim shows one readable line, not the dataclass
    assert repr(c) == "✔ claim holds: attack works: 0.9 (expected at least 0.5)"


def test_a_failed_claim_fails_the_run_under_the_test_command(monkeypatch):
    monkeypatch.setenv("MLSEC_STRICT_CLAIMS", "1")
    with pytest.raises(AssertionError, match="claim not met: defence cuts it: measured 0.6"):
        claims.claim("defence cuts it", 0.6, at_most=0.3)


def test_a_failed_claim_only_warns_when_exploring(monkeypatch, capsys):
    monkeypatch.delenv("MLSEC_STRICT_CLAIMS", raising=False)
    c = claims.claim("defence cuts it", 0.6, at_most=0.3)
    out = capsys.readouterr().out
    assert not c.held and "defence cuts it" in out and "changed a parameter" in out


def test_claims_are_logged_for_the_seeds_task(monkeypatch, tmp_path):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv("MLSEC_CLAIMS_LOG", str(log))
    claims.claim("in band", 0.5, at_least=0.4, at_most=0.7)
    row = json.loads(log.read_text())
    assert row["name"] == "in band" and row["margin"] == pytest.approx(0.1) and row["held"]


def test_claim_rejects_bad_input():
    with pytest.raises(ValueError, match="needs at_least"):
        claims.claim("x", 1.0)
    with pytest.raises(TypeError):
        claims.claim("x", "high", at_least=0)


def test_mean_interval_bootstraps_the_mean_of_units():
    from mlsec_helpers import stats

    values = np.random.default_rng(0).normal(0.3, 0.1, size=400)
    r = stats.mean_interval(values, on="400 images", seed=1)
    assert r.value == pytest.approx(values.mean()) and r.low < r.value < r.high
    assert r.high - r.low == pytest.approx(2 * 1.96 * values.std() / 20, rel=0.2)
    assert r.n == 400 and r.on == "400 images"
    assert stats.mean_interval(values, seed=1) == stats.mean_interval(values, seed=1)
    for bad in ([1.0], [1.0, np.nan]):
        with pytest.raises(ValueError):
            stats.mean_interval(bad)
