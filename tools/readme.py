"""Render the README's generated tables (labs, datasets) from the catalogue and the benchmark.

The lab table comes from the course catalogue (:mod:`mlsec_helpers.catalogue`, rendered by
:func:`mlsec_helpers.frameworks.lab_table_markdown`) and ``benchmark.json``; the dataset table
from :mod:`mlsec_helpers.registry`. ``tests/test_repo.py`` fails when the README is out of date:
run ``python tasks.py readme``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from mlsec_helpers import frameworks, registry
from mlsec_helpers.registry import REPO_ROOT

README = REPO_ROOT / "README.md"


def _bench() -> tuple[dict[int, tuple[float, float]], str]:
    path = REPO_ROOT / "benchmark.json"
    if not path.exists():
        return {}, "not measured yet"
    data = json.loads(path.read_text())
    out = {}
    for stem, entry in data.get("labs", {}).items():
        runs = [entry[k] for k in ("solution", "student") if k in entry]
        if runs:
            out[int(stem[:2])] = (max(r["seconds"] for r in runs), max(r["peak_mb"] for r in runs))
    return out, f"measured on {data.get('date', '?')}, {data.get('machine', '?')}"


def lab_table() -> str:
    """The lab table: one row per lab, with runtime and peak memory from the benchmark.
    """
    bench, note = _bench()
    links = {
        int(p.stem[:2]): f"labs/{p.name}" for p in sorted((REPO_ROOT / "labs").glob("*.ipynb"))
    }
    bench = {k: v for k, v in bench.items() if k in links}
    return (
        frameworks.lab_table_markdown(bench, links=links)
        + f"\nRuntime and peak memory: the slower of the solution and student notebook, "
        f"{note} (`python tasks.py bench`).\n"
    )


# How long a lab takes a student, estimated from the source rather than guessed. The rates are
# stated in the README under the table: technical prose read at 150 words a minute, code read
# and run at 10 lines a minute, 10 minutes per exercise, 5 per reflection question.
WORDS_PER_MINUTE = 150
CODE_LINES_PER_MINUTE = 10
MINUTES_PER_EXERCISE = 10
MINUTES_PER_QUESTION = 5


def student_work(source: Path) -> dict[str, int]:
    """What a student reads and does in a lab: prose words, code lines, exercises, reflection
    questions (solution and hidden-test regions left out: the student never sees them)."""
    words = code = questions = 0
    kind, hidden, reflection = None, False, False
    for raw in source.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("# %%"):
            kind = "markdown" if "[markdown]" in line else "code"
            continue
        text = line[1:].strip() if kind == "markdown" and line.startswith("#") else line
        if re.match(r"#* *### BEGIN (SOLUTION|HIDDEN TESTS)", text) or re.match(
                r"### BEGIN (SOLUTION|HIDDEN TESTS)", line):
            hidden = True
            continue
        if re.search(r"### END (SOLUTION|HIDDEN TESTS)", line):
            hidden = False
            continue
        if hidden or kind is None or not text or "### POINTS:" in text:
            continue
        if kind == "markdown":
            if text.startswith("#"):
                reflection = text.lstrip("# ").lower().startswith("reflection")
            if reflection and re.match(r"(\*\*)?\d+\.(\*\*)? ", text):
                questions += 1
            words += len(re.findall(r"[A-Za-z0-9][\w'-]*", text))
        elif not text.startswith("#"):
            code += 1
    exercises = len(re.findall(r"^\w+ = check\(", source.read_text(encoding="utf-8"), re.M))
    return {"words": words, "code lines": code, "exercises": exercises, "questions": questions}


def student_minutes(source: Path) -> int:
    """A student's time for a lab from :func:`student_work`, rounded to 5 minutes (the figure
    the README's table and the lab's own header give)."""
    w = student_work(source)
    minutes = (w["words"] / WORDS_PER_MINUTE + w["code lines"] / CODE_LINES_PER_MINUTE
               + w["exercises"] * MINUTES_PER_EXERCISE + w["questions"] * MINUTES_PER_QUESTION)
    return 5 * round(minutes / 5)


def time_table() -> str:
    """The README's table of how long each lab takes a student, from :func:`student_work`."""
    rows = ["| Lab | Prose (words) | Code (lines) | Exercises | Reflection questions | "
            "Student time (min) |", "|---|---|---|---|---|---|"]
    for source in sorted((REPO_ROOT / "sources").glob("[0-9][0-9]_*.py")):
        w = student_work(source)
        rows.append(f"| {source.stem} | {w['words']:,} | {w['code lines']} | {w['exercises']} | "
                    f"{w['questions']} | {student_minutes(source)} |")
    return "\n".join(rows) + (
        f"\n\nEstimated from each lab's source (`python tasks.py readme`): prose at "
        f"{WORDS_PER_MINUTE} words a minute, code read and run at {CODE_LINES_PER_MINUTE} lines a "
        f"minute, {MINUTES_PER_EXERCISE} minutes per exercise and {MINUTES_PER_QUESTION} per "
        "reflection question, rounded to 5 minutes; solutions and hidden tests not counted.\n")


def dataset_table() -> str:
    """The dataset table: name, domain, source, licence, datasheet link.
    """
    rows = ["| Dataset | Domain | Source | Licence |", "|---|---|---|---|"]
    for e in registry.REGISTRY.values():
        rows.append(
            f"| [{e.title}](datasets/{e.datasheet}) | {e.domain} | {e.source} | {e.licence} |"
        )
    return "\n".join(rows) + "\n"


def _replace(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"README.md lacks the markers <!-- {name}:start --> / :end -->")
    return pattern.sub(lambda m: m.group(1) + body + m.group(2), text)


def render(write: bool = False) -> bool:
    """Re-render the generated tables; return True when README.md was already up to date.
    """
    text = README.read_text(encoding="utf-8")
    new = _replace(_replace(text, "labs", lab_table()), "datasets", dataset_table())
    new = _replace(new, "time", time_table())
    if write and new != text:
        README.write_text(new, encoding="utf-8")
    return new == text


def main() -> int:
    """CLI: ``python -m tools.readme`` rewrites the tables.
    """
    up_to_date = render(write=True)
    print("README.md was up to date" if up_to_date else "README.md tables re-rendered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
