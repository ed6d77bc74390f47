"""Repository-wide rules: generated files are current, public helpers name their lab."""

import importlib
import inspect
import json
import pkgutil
import re

import nbformat

import mlsec_helpers
from tools import build, readme
from mlsec_helpers.registry import REPO_ROOT


def test_committed_notebooks_match_their_sources():
    stale = build.build_all(REPO_ROOT, check=True)
    assert not stale, f"out of date (run: python tasks.py build): {[str(p) for p in stale]}"


def test_every_source_has_both_notebooks():
    stems = {p.stem for p in (REPO_ROOT / "sources").glob("[0-9][0-9]_*.py")}
    assert stems, "no lab sources found"
    assert stems == {p.stem for p in (REPO_ROOT / "labs").glob("*.ipynb")}
    assert stems == {p.stem for p in (REPO_ROOT / "solutions").glob("*.ipynb")}


def test_notebooks_are_clean():
    for folder in ("labs", "solutions"):
        for path in (REPO_ROOT / folder).glob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            assert nb.nbformat_minor == 4
            for cell in nb.cells:
                assert "id" not in cell
                if cell.cell_type == "code":
                    assert cell.outputs == [] and cell.execution_count is None


def test_student_notebooks_hold_no_solutions():
    for path in (REPO_ROOT / "labs").glob("*.ipynb"):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, path


def test_readme_tables_are_current():
    assert readme.render(write=False), "README tables are stale: run python tasks.py readme"


def test_benchmark_covers_every_lab():
    data = json.loads((REPO_ROOT / "benchmark.json").read_text())
    stems = {p.stem for p in (REPO_ROOT / "sources").glob("[0-9][0-9]_*.py")}
    missing = stems - set(data["labs"])
    assert not missing, f"not benchmarked yet (run: python tasks.py bench): {missing}"
    for stem in stems:
        assert set(data["labs"][stem]) == {"solution", "student"}


def test_public_functions_name_the_lab_that_introduces_them():
    missing = []
    for info in pkgutil.walk_packages(mlsec_helpers.__path__, "mlsec_helpers."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                doc = inspect.getdoc(obj) or ""
                if not re.search(r"\b[Ll]ab \d\d\b", doc):
                    missing.append(f"{info.name}.{name}")
    assert not missing, f"public helpers whose docstring names no lab: {missing}"
