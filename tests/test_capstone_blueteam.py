"""Lab 14 capstone blue team: register, budgeted choice, re-test, adaptive attackers, cost."""

import pandas as pd
import pytest

from mlsec_helpers.capstone import blueteam as bt
from mlsec_helpers.capstone import redteam as rt
from mlsec_helpers.capstone import system as cs
from mlsec_helpers.capstone.results import AdaptiveResult, AttackResult, BlueTeamReport
from mlsec_helpers.stats import Rate
from mlsec_helpers.validate import ArgumentTypeError

WEAKNESS_CONTROLS = tuple(k for k, c in cs.CONTROLS.items() if c.treats)


@pytest.fixture(scope="module")
def weak():
    system = cs.capstone_system(0)
    yield system
    system.close()


@pytest.fixture(scope="module")
def red(weak):
    results = rt.run_attacks(weak, seed=0)
    return results, rt.findings_table(results)


@pytest.fixture(scope="module")
def report(weak, red):
    results, findings = red
    rep = bt.run_blue_team(weak, findings, results, seed=0)
    yield rep
    rep.system.close()


# --- register and choice ------------------------------------------------------------------------


def test_register_raises_likelihood_of_found_threats(red):
    _, findings = red
    prior = rt.capstone_threat_model()
    model, register = bt.risk_register(findings)
    for tids in rt.WEAKNESS_THREATS.values():
        for tid in tids:
            assert model.threat(tid).likelihood == min(5, prior.threat(tid).likelihood + 1)
            assert model.threat(tid).evidence
    assert register["weakness"].isin(list(cs.WEAKNESSES) + ["-"]).all()
    with pytest.raises(ArgumentTypeError):
        bt.risk_register(pd.DataFrame({"x": [1]}))
    bad = findings.copy()
    bad.loc[0, "weakness"] = "W9"
    with pytest.raises(ValueError, match="unknown weakness"):
        bt.risk_register(bad)


def test_choice_under_budget(red):
    _, findings = red
    model, _ = bt.risk_register(findings)
    chosen = bt.choose_controls(model, bt.BUDGET)
    assert set(chosen) == set(WEAKNESS_CONTROLS)
    assert bt.choose_controls(model, bt.BUDGET, method="greedy") == chosen
    assert bt.choose_controls(model, 0) == ()
    everything = bt.choose_controls(model, sum(c.cost for c in cs.CONTROLS.values()))
    assert set(everything) == set(cs.CONTROLS)
    small = bt.choose_controls(model, 4)
    assert sum(cs.CONTROLS[k].cost for k in small) <= 4
    with pytest.raises(ValueError, match="unknown method"):
        bt.choose_controls(model, 5, method="random")
    with pytest.raises(ArgumentTypeError):
        bt.choose_controls("model", 5)
    with pytest.raises(ValueError):
        bt.choose_controls(model, -1)


# --- re-test ------------------------------------------------------------------------------------


def _result(w, low, high, found):
    rate = Rate((low + high) / 2, low, high, 100)
    return AttackResult(w, "CAP-T1", "a", rt.FINDING_RULES[w][0], rate, found, "e")


def test_retest_closed_rule():
    before = {"W1": _result("W1", 0.8, 0.9, True), "W2": _result("W2", 0.9, 0.95, True)}
    after = {"W1": _result("W1", 0.0, 0.4, False), "W2": _result("W2", 0.55, 0.65, False)}
    table = bt.retest_table(before, after, ["labels_and_rate_limit"])
    assert table.set_index("weakness")["closed"].to_dict() == {"W1": True, "W2": False}
    assert table.set_index("weakness").loc["W2", "control"] == "(none)"
    with pytest.raises(ValueError, match="no re-test of W2"):
        bt.retest_table(before, {"W1": after["W1"]}, [])
    with pytest.raises(ArgumentTypeError):
        bt.retest_table({"W1": 0.9}, after, [])


def test_blue_team_closes_every_weakness(report):
    assert isinstance(report, BlueTeamReport)
    assert set(report.chosen) == set(WEAKNESS_CONTROLS)
    assert report.retest["closed"].all()
    assert (report.retest["after_high"] < report.retest["threshold"]).all()
    assert not any(r.found for r in report.after.values())
    assert report.register["residual"].sum() < report.register["inherent"].sum()


def test_adaptive_attackers(report):
    adaptive = {r.weakness: r for r in report.adaptive}
    assert set(adaptive) == set(cs.WEAKNESSES)
    assert all(isinstance(r, AdaptiveResult) for r in adaptive.values())
    assert adaptive["W1"].detail["keys"] >= 2
    assert adaptive["W2"].value.high < 0.6
    assert adaptive["W4"].value.successes == 0 and adaptive["W4"].detail["payload_ran"] == 0
    assert 0 <= adaptive["W5"].value.value < 0.5
    assert adaptive["W6"].detail["keys"] > 1
    table = bt.adaptive_table(report.adaptive)
    assert len(table) == 6 and {"adaptive attack", "result"} <= set(table.columns)
    with pytest.raises(ArgumentTypeError):
        bt.adaptive_table(report.adaptive[0])


def test_quality_cost(report, weak):
    q = report.quality
    for rate in (q.accuracy_before, q.accuracy_after, q.approval_before, q.approval_after):
        assert rate.n == len(weak.data.y_test) and rate.low <= rate.value <= rate.high
    assert abs(q.approval_change.value - (q.approval_after.value - q.approval_before.value)) < 1e-9
    other = cs.capstone_system(1)
    try:
        with pytest.raises(ValueError, match="seed"):
            bt.quality_cost(weak, other)
    finally:
        other.close()


def test_adaptive_bad_input(weak):
    with pytest.raises(ValueError, match="no signature"):
        bt.adaptive_supply_chain(weak)
    with pytest.raises(ValueError, match="even"):
        bt.adaptive_membership(weak, n_shadows=5)
    with pytest.raises(ValueError):
        bt.adaptive_gaming(weak, tolerance=0)
    with pytest.raises(ArgumentTypeError):
        bt.adaptive_explanations("system")
    assert bt.adaptive_attacks(weak) == ()


def test_no_files_left_behind(report):
    names = {p.name for p in report.system.folder.iterdir()}
    assert names == {"model", "keys", "model.manifest.json", "model.sig"}
