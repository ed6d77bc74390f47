"""The tooling outside the course package: the seeds report."""

from tools import seeds


def test_seeds_report_lists_each_claim_per_seed():
    results = {"02_evasion": {
        0: [{"name": "attack works", "value": 0.98, "held": True, "margin": 0.48}],
        1: [{"name": "attack works", "value": 0.41, "held": False, "margin": -0.09}],
    }}
    text = seeds.render(results)
    assert "| claim | seed 0 | seed 1 | held |" in text
    assert "| attack works | 0.98 (+0.48) | 0.41 (-0.09) ✗ | 1/2 |" in text
