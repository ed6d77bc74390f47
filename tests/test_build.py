"""Tests of tools.build: jupytext sources -> solution and student notebooks."""

from __future__ import annotations

import copy
import os
import re
import runpy
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from tools import build
from tools.build import build_all, build_notebooks, main, strip_solutions

FIXTURES = Path(__file__).parent / "fixtures" / "build"
REGIONS = FIXTURES / "sources" / "00_regions.py"
MINIMAL = FIXTURES / "sources" / "01_minimal.py"
UNBALANCED = FIXTURES / "invalid" / "90_unbalanced.py"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def sol_meta(grade_id: str, *, markdown: bool = False, points: int = 1) -> dict:
    meta = {
        "grade": markdown,
        "grade_id": grade_id,
        "locked": False,
        "schema_version": 3,
        "solution": True,
        "task": False,
    }
    if markdown:
        meta["points"] = points
    return meta


def hidden_meta(grade_id: str, points: int = 1) -> dict:
    return {
        "grade": True,
        "grade_id": grade_id,
        "locked": True,
        "points": points,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }


@pytest.fixture(scope="module")
def regions():
    """(solution, student) notebooks of the main fixture."""
    return build_notebooks(REGIONS)


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A temporary course root holding a copy of the fixture sources."""
    shutil.copytree(FIXTURES / "sources", tmp_path / "sources")
    return tmp_path


def sources(nb) -> list[str]:
    return [cell.source for cell in nb.cells]


# --- strip_solutions: one cell's text ------------------------------------------------------


def test_region_inside_function_gets_stub_and_raise_at_its_indentation():
    text = (
        "import math\n"
        "\n"
        "def f(xs):\n"
        "    total = 0\n"
        "    for x in xs:\n"
        "        ### BEGIN SOLUTION\n"
        "        total += x\n"
        "        ### END SOLUTION\n"
        "    return total\n"
        "\n"
        "print(f([1]))"
    )
    assert strip_solutions(text, kind="code") == (
        "import math\n"
        "\n"
        "def f(xs):\n"
        "    total = 0\n"
        "    for x in xs:\n"
        "        # YOUR CODE HERE\n"
        "        raise NotImplementedError()\n"
        "    return total\n"
        "\n"
        "print(f([1]))"
    )


def test_top_level_region_leaves_only_the_comment():
    text = "a = None\n### BEGIN SOLUTION\na = 1\nb = 2\n### END SOLUTION\nprint(a)"
    assert strip_solutions(text, kind="code") == "a = None\n# YOUR CODE HERE\nprint(a)"


def test_markdown_region_becomes_answer_stub():
    text = "Question?\n\n### BEGIN SOLUTION\nAnswer,\non two lines.\n### END SOLUTION\nAfter."
    assert strip_solutions(text, kind="markdown") == "Question?\n\nYOUR ANSWER HERE\nAfter."


def test_hidden_tests_and_points_line_are_removed():
    text = (
        "assert 1 == 1\n### POINTS: 2\n### BEGIN HIDDEN TESTS\nassert 2 == 2\n"
        "### END HIDDEN TESTS\nprint('done')"
    )
    assert strip_solutions(text, kind="code") == "assert 1 == 1\nprint('done')"


def test_text_without_markers_is_unchanged():
    text = "def f():\n    # BEGIN is not a marker here\n    return 1\n"
    assert strip_solutions(text, kind="code") == text


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("### BEGIN SOLUTION\nx = 1", "code", "line 1: the solution region opened here has no"),
        ("x = 1\n### END SOLUTION", "code", "line 2: '### END SOLUTION' without a matching BEGIN"),
        (
            "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n### END SOLUTION",
            "code",
            "line 2: nested marker",
        ),
        (
            "### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n### END SOLUTION",
            "code",
            "line 2: nested marker '### BEGIN HIDDEN TESTS' inside the solution region",
        ),
        (
            "### BEGIN HIDDEN TESTS\nx = 1\n### END SOLUTION",
            "code",
            "line 3: '### END SOLUTION' closes the hidden tests region opened on line 1",
        ),
        ("x = 1  # BEGIN SOLUTION", "code", "line 1: malformed marker"),
        ("## BEGIN SOLUTION\nx\n## END SOLUTION", "code", "line 1: malformed marker"),
        ("### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS", "markdown", "only allowed in code"),
        ("### POINTS: many", "code", "line 1: '### POINTS: many' is not a number"),
        ("### POINTS: 1\n### POINTS: 2", "code", "line 2: second '### POINTS'"),
        ("x = 1", "raw", "kind must be 'code' or 'markdown'"),
    ],
)
def test_bad_markers_raise_value_error(text, kind, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        strip_solutions(text, kind=kind)


# --- build_notebooks: whole sources ------------------------------------------------------


def test_function_region_in_fixture(regions):
    solution, student = regions
    cell = student.cells[1].source
    assert "        # YOUR CODE HERE\n        raise NotImplementedError()\n" in cell
    assert "total += value * value" not in cell
    # the rest of the function and of the cell is untouched
    expected = solution.cells[1].source.replace(
        "        ### BEGIN SOLUTION\n        total += value * value\n        ### END SOLUTION\n",
        "        # YOUR CODE HERE\n        raise NotImplementedError()\n",
    )
    assert cell == expected
    assert cell.startswith("import math\n\n\ndef scaled_norm(values, scale=1.0):\n")
    assert cell.endswith("    return scale * math.sqrt(total)\n\n\nNORM_DOC = scaled_norm.__doc__")
    # the solution version keeps the region, markers included
    assert (
        "        ### BEGIN SOLUTION\n        total += value * value\n" in solution.cells[1].source
    )
    assert student.cells[1].metadata == {"nbgrader": sol_meta("00_regions-sol-1")}
    assert solution.cells[1].metadata == student.cells[1].metadata


def test_top_level_region_in_fixture(regions):
    solution, student = regions
    assert student.cells[2].source == 'answer = None\n# YOUR CODE HERE\nprint("answer:", answer)'
    assert "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION" in solution.cells[2].source
    assert student.cells[2].metadata.nbgrader == sol_meta("00_regions-sol-2")


def test_whole_solution_cells(regions):
    solution, student = regions
    code_sol, code_stu = solution.cells[3], student.cells[3]
    assert code_stu.cell_type == "code"
    assert code_stu.source == "# YOUR CODE HERE"
    assert code_sol.source == "solution_only = [1, 2, 3]\nprint(sum(solution_only))"
    assert code_stu.metadata == {"tags": ["solution"], "nbgrader": sol_meta("00_regions-sol-3")}

    md_sol, md_stu = solution.cells[4], student.cells[4]
    assert md_stu.cell_type == "markdown"
    assert md_stu.source == "YOUR ANSWER HERE"
    assert md_sol.source.startswith("The whole of this markdown cell")
    # nbgrader wants written answers to be grade cells too (manually graded)
    assert md_stu.metadata == {
        "tags": ["solution"],
        "nbgrader": sol_meta("00_regions-sol-4", markdown=True),
    }
    assert md_sol.metadata == md_stu.metadata


def test_markdown_answer_region(regions):
    solution, student = regions
    assert student.cells[5].source == ("Why does the norm use a square root?\n\nYOUR ANSWER HERE")
    assert "### BEGIN SOLUTION\nBecause it is the Euclidean length.\n### END SOLUTION" in (
        solution.cells[5].source
    )
    assert student.cells[5].metadata.nbgrader == sol_meta("00_regions-sol-5", markdown=True)


def test_hidden_tests(regions):
    solution, student = regions
    sol, stu = solution.cells[6], student.cells[6]
    assert stu.source == 'assert NORM_DOC.startswith("Return")'
    assert sol.source == (
        'assert NORM_DOC.startswith("Return")\n'
        "### BEGIN HIDDEN TESTS\n"
        "assert scaled_norm([3.0, 4.0]) == 5.0\n"
        "assert scaled_norm([3.0, 4.0], scale=2.0) == 10.0\n"
        "### END HIDDEN TESTS"
    )
    assert "POINTS" not in sol.source
    assert sol.metadata == stu.metadata == {"nbgrader": hidden_meta("00_regions-test-1", 3)}
    # a cell made only of hidden tests stays, empty, in the student version
    assert student.cells[-1].source == ""
    assert (
        solution.cells[-1].source
        == "### BEGIN HIDDEN TESTS\nassert answer == 42\n### END HIDDEN TESTS"
    )
    assert student.cells[-1].metadata.nbgrader == hidden_meta("00_regions-test-2")


def test_remove_student_and_remove_solution_tags(regions):
    solution, student = regions
    assert any("instructor note" in s for s in sources(solution))
    assert not any("instructor note" in s for s in sources(student))
    assert any("only in the student notebook" in s for s in sources(student))
    assert not any("only in the student notebook" in s for s in sources(solution))
    assert len(solution.cells) == len(student.cells) == 9


def test_unbalanced_fixture_names_file_and_cell():
    with pytest.raises(ValueError) as info:
        build_notebooks(UNBALANCED)
    message = str(info.value)
    assert str(UNBALANCED) in message
    assert "cell 3" in message
    assert "no matching END" in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "# %%\nx = 1\n\n# %%\n### BEGIN SOLUTION\ny = 1\n### END SOLUTION\n"
            "### BEGIN HIDDEN TESTS\nassert y\n### END HIDDEN TESTS\n",
            "cell 2 .*both a solution and hidden tests",
        ),
        ("# %%\nx = 1\n### POINTS: 2\n", "cell 1 .*'### POINTS' is only allowed"),
        ('# %% tags=["remove-student", "remove-solution"]\nx = 1\n', "cell 1 .*tagged both"),
        ("# %% [markdown]\n# hi\n\n# %% [markdown]\n# ### END SOLUTION\n", "cell 2 .*without"),
    ],
)
def test_cell_level_errors_name_file_and_cell(tmp_path, text, message):
    source = tmp_path / "05_bad.py"
    source.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=f"05_bad.py: {message}"):
        build_notebooks(source)


def test_grade_ids_are_unique_and_sanitised(tmp_path):
    source = tmp_path / "07_a.b c.py"
    source.write_text(MINIMAL.read_text(encoding="utf-8"), encoding="utf-8")
    solution, _ = build_notebooks(source)
    assert solution.cells[1].metadata.nbgrader.grade_id == "07_a_b_c-sol-1"


# --- output format ---------------------------------------------------------------------------


def test_output_format(regions, course):
    for nb in regions:
        assert nb.nbformat == 4
        assert nb.nbformat_minor == 4
        assert nb.metadata == {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
        nbformat.validate(nb)
        for cell in nb.cells:
            assert "id" not in cell
            assert set(cell.metadata) <= {"tags", "nbgrader"}
            assert cell.metadata.get("tags", ["non-empty"]) != []
            if cell.cell_type == "code":
                assert cell.outputs == []
                assert cell.execution_count is None

    written = build_all(course)
    names = sorted(p.relative_to(course).as_posix() for p in written)
    assert names == [
        "labs/00_regions.ipynb",
        "labs/01_minimal.ipynb",
        "solutions/00_regions.ipynb",
        "solutions/01_minimal.ipynb",
    ]
    first = {p: p.read_bytes() for p in written}
    for data in first.values():
        text = data.decode("utf-8")
        assert text.endswith("}\n") and not text.endswith("\n\n")
        assert text.startswith('{\n "cells": [\n  {\n')  # indent 1
        assert '"id":' not in text and "jupytext" not in text
        assert nbformat.reads(text, as_version=4).nbformat_minor == 4

    # a second build writes nothing and a fresh one is byte-identical
    assert build_all(course) == []
    for path in written:
        path.unlink()
    build_all(course)
    assert {p: p.read_bytes() for p in written} == first


# --- build_all(check=True) and the command line ---------------------------------------------


def test_check_reports_stale_and_orphan_notebooks(course):
    assert {p.name for p in build_all(course, check=True)} == {
        "00_regions.ipynb",
        "01_minimal.ipynb",
    }  # missing
    assert not (course / "labs").exists()  # check writes nothing
    build_all(course)
    assert build_all(course, check=True) == []

    source = course / "sources" / "01_minimal.py"
    source.write_text(source.read_text() + "\n# %%\nprint(double(2))\n", encoding="utf-8")
    orphan = course / "labs" / "02_renamed.ipynb"
    orphan.write_text("{}", encoding="utf-8")
    before = {p: p.read_bytes() for p in course.rglob("*.ipynb")}

    stale = build_all(course, check=True)
    assert stale == [
        course / "solutions" / "01_minimal.ipynb",
        course / "labs" / "01_minimal.ipynb",
        orphan,
    ]
    assert {p: p.read_bytes() for p in course.rglob("*.ipynb")} == before

    # building rewrites the stale notebooks but never deletes: the orphan stays reported
    assert build_all(course) == stale[:2]
    assert orphan.exists()
    assert build_all(course, check=True) == [orphan]
    orphan.unlink()
    assert build_all(course, check=True) == []

    # a CRLF checkout (git autocrlf) still counts as up to date
    lab = course / "labs" / "00_regions.ipynb"
    lab.write_bytes(lab.read_bytes().replace(b"\n", b"\r\n"))
    assert build_all(course, check=True) == []


def test_main_check_and_build(course, capsys):
    assert main(["--root", str(course), "--check"]) == 1
    out = capsys.readouterr().out
    assert "labs/00_regions.ipynb is missing; run: python tasks.py build" in out

    assert main(["--root", str(course)]) == 0
    out = capsys.readouterr().out
    assert "wrote labs/00_regions.ipynb" in out
    assert out.endswith("notebooks up to date\n")

    orphan = course / "solutions" / "03_old.ipynb"
    orphan.write_text("{}", encoding="utf-8")
    (course / "sources" / "00_regions.py").write_text("# %%\nx = 1\n", encoding="utf-8")
    assert main(["--root", str(course), "--check"]) == 1
    out = capsys.readouterr().out
    assert "labs/00_regions.ipynb is out of date with its source; run: python tasks.py build" in out
    assert (
        "solutions/03_old.ipynb has no source (sources/03_old.py); "
        "delete it (git rm solutions/03_old.ipynb), or restore the source and run: "
        "python tasks.py build"
    ) in out
    assert out.endswith("3 notebook(s) stale\n")

    assert main(["--root", str(course)]) == 0
    captured = capsys.readouterr()
    assert "warning: solutions/03_old.ipynb has no source" in captured.err
    assert orphan.exists()
    orphan.unlink()
    assert main(["--root", str(course), "--check"]) == 0
    assert capsys.readouterr().out == "notebooks up to date\n"


def test_main_reports_bad_source(course, capsys):
    shutil.copy(UNBALANCED, course / "sources" / UNBALANCED.name)
    assert main(["--root", str(course), "--check"]) == 1
    assert "cell 3" in capsys.readouterr().err
    assert main(["--root", str(course)]) == 1
    assert not (course / "labs").exists()


@pytest.mark.filterwarnings("ignore:'tools.build' found in sys.modules:RuntimeWarning")
def test_module_runs_as_a_script(course, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["build.py", "--check", "--root", str(course)])
    with pytest.raises(SystemExit) as info:
        runpy.run_module("tools.build", run_name="__main__", alter_sys=True)
    assert info.value.code == 1
    assert "run: python tasks.py build" in capsys.readouterr().out


def test_default_root_is_repository_root():
    assert build.REPO_ROOT == Path(build.__file__).resolve().parent.parent
    assert (build.REPO_ROOT / "tools" / "build.py").is_file()


# --- nbgrader and execution ------------------------------------------------------------------


def test_nbgrader_validator_and_generate_assignment_preprocessors(regions):
    """nbgrader's schema-3 validator accepts both versions, and the database-free part of
    ``nbgrader generate_assignment`` (its preprocessor chain minus SaveCells, which needs the
    gradebook) turns the solution notebook into our student version."""
    from nbgrader.nbgraderformat import MetadataValidator
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearHiddenTests,
        ClearOutput,
        ClearSolutions,
        ComputeChecksums,
        LockCells,
    )

    solution, student = regions
    MetadataValidator().validate_nb(copy.deepcopy(solution))
    MetadataValidator().validate_nb(copy.deepcopy(student))

    # nbgrader keeps remove-student cells (it does not know our tags): compare without them
    release = copy.deepcopy(solution)
    release.cells = [c for c in release.cells if "remove-student" not in c.metadata.get("tags", [])]
    resources: dict = {}
    for preprocessor in (
        LockCells,
        ClearSolutions,
        ClearOutput,
        CheckCellMetadata,
        ComputeChecksums,
        ClearHiddenTests,
        ComputeChecksums,
        CheckCellMetadata,
    ):
        release, resources = preprocessor().preprocess(release, resources)

    ours = [c for c in student.cells if "remove-solution" not in c.metadata.get("tags", [])]
    assert len(release.cells) == len(ours)
    for theirs, mine in zip(release.cells, ours, strict=True):
        mine_meta = mine.metadata.get("nbgrader")
        theirs_meta = theirs.metadata.get("nbgrader")
        if mine_meta is None:
            assert theirs_meta is None
        else:  # generate_assignment only adds a checksum and the cell type
            assert theirs_meta.pop("checksum")
            assert theirs_meta.pop("cell_type") == mine.cell_type
            assert theirs_meta == mine_meta
        # the one intended difference: a top-level stub gets no raise in our student version
        assert mine.source == without_top_level_raise(theirs.source)


def without_top_level_raise(text: str) -> str:
    """nbgrader's stub minus the `raise` that follows a top-level `# YOUR CODE HERE`."""
    lines = text.split("\n")
    kept = [
        line
        for i, line in enumerate(lines)
        if not (
            line == "raise NotImplementedError()" and i > 0 and lines[i - 1] == "# YOUR CODE HERE"
        )
    ]
    return "\n".join(kept)


@pytest.mark.filterwarnings("ignore::Warning")
def test_nbgrader_generate_assignment_and_autograde(tmp_path, monkeypatch, regions):
    """Full offline round trip through nbgrader (sqlite gradebook in tmp_path): the solution
    notebook is the nbgrader source, our student notebook with the answers filled in is the
    submission, and autograding restores the hidden tests and gives full marks."""
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    # nbgrader runs the `alembic` executable from PATH; it lives next to this interpreter
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    solution, student = regions
    (tmp_path / "source" / "ps1").mkdir(parents=True)
    (tmp_path / "source" / "ps1" / "00_regions.ipynb").write_text(nbformat.writes(solution))
    answers = {
        c.metadata.nbgrader["grade_id"]: c.source
        for c in solution.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    submission = copy.deepcopy(student)
    for cell in submission.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    (tmp_path / "submitted" / "alice" / "ps1").mkdir(parents=True)
    (tmp_path / "submitted" / "alice" / "ps1" / "00_regions.ipynb").write_text(
        nbformat.writes(submission)
    )

    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    config.CourseDirectory.course_id = "mlsec"
    api = NbGraderAPI(config=config)
    result = api.generate_assignment("ps1")
    assert result["success"], result.get("error")
    result = api.autograde("ps1", "alice")
    assert result["success"], result.get("error")

    with Gradebook(api.coursedir.db_url, "mlsec") as gradebook:
        notebook = gradebook.find_submission_notebook("00_regions", "ps1", "alice")
        scores = {g.name: (g.auto_score, g.max_score) for g in notebook.grades}
    assert scores == {
        "00_regions-test-1": (3.0, 3.0),
        "00_regions-test-2": (1.0, 1.0),
        "00_regions-sol-4": (None, 1.0),  # written answers: graded by hand
        "00_regions-sol-5": (None, 1.0),
    }


def test_student_notebook_executes_end_to_end(regions):
    from nbclient import NotebookClient

    _, student = regions
    nb = copy.deepcopy(student)
    NotebookClient(nb, kernel_name="python3", timeout=60).execute()
    printed = "".join(
        output.get("text", "") for cell in nb.cells for output in cell.get("outputs", [])
    )
    assert "answer: None" in printed
    assert "only in the student notebook" in printed
