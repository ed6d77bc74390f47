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


def test_student_work_counts_what_a_student_reads_and_does(tmp_path):
    from tools import readme

    source = tmp_path / "99_x.py"
    source.write_text(
        "# %% [markdown]\n# # Lab 99 · A title\n#\n# Five words of prose here.\n\n"
        "# %%\nimport numpy as np\nx = np.ones(3)\n\n"
        "# %%\ndef f(a):\n    ### BEGIN SOLUTION\n    return a + 1\n    ### END SOLUTION\n\n"
        "# %%\nf = check(lab99.F, f)\n### BEGIN HIDDEN TESTS\ngrade(lab99.F, f)\n"
        "### END HIDDEN TESTS\n\n"
        "# %% [markdown]\n# ## Reflection\n#\n# 1. Why?\n# 2. How?\n#\n"
        "# ### BEGIN SOLUTION\n# Because of many long words in the answer.\n# ### END SOLUTION\n")
    work = readme.student_work(source)
    assert work == {"words": 14, "code lines": 4, "exercises": 1, "questions": 2}


def test_each_lab_header_gives_the_estimated_student_time():
    import re

    from tools import readme

    for source in sorted((readme.REPO_ROOT / "sources").glob("[0-9][0-9]_*.py")):
        text = source.read_text(encoding="utf-8")
        stated = re.search(r"\*\*Estimated time:\*\* about (\d+) minutes", text)
        assert stated, f"{source.name} has no 'Estimated time: about N minutes' line"
        assert int(stated.group(1)) == readme.student_minutes(source), (
            f"{source.name} says {stated.group(1)} minutes; its content gives "
            f"{readme.student_minutes(source)} (update the header)")
