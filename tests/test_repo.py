"""Repository-wide rules: generated files are current, public helpers name their lab."""

import ast
import dataclasses
import importlib
import inspect
import json
import pkgutil
import re
import subprocess

import nbformat

import mlsec_helpers
from mlsec_helpers.registry import REPO_ROOT
from tools import build, readme


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


# --- the package layout (CONTRIBUTING.md, "Conventions") ----------------------------------------


MODULES = sorted(info.name for info in pkgutil.walk_packages(mlsec_helpers.__path__,
                                                              "mlsec_helpers."))
PACKAGE_DIR = REPO_ROOT / "mlsec_helpers"


def _module_files():
    return sorted(PACKAGE_DIR.rglob("*.py"))


def test_every_module_declares_its_public_names():
    for name in MODULES:
        module = importlib.import_module(name)
        if name.endswith(".__main__"):
            continue
        assert hasattr(module, "__all__"), f"{name} has no __all__"
        missing = [n for n in module.__all__ if not hasattr(module, n)]
        assert not missing, f"{name}.__all__ names what it does not define: {missing}"


def _private_uses(tree: ast.AST, package_names: set[str]) -> list[str]:
    """Private names of the package that this code imports or reaches through an attribute."""
    found = []
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            ours = node.level > 0 or (node.module or "").startswith("mlsec_helpers")
            for alias in node.names:
                if ours:
                    bound.add(alias.asname or alias.name)
                    if alias.name.startswith("_"):
                        found.append(f"from {node.module} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mlsec_helpers"):
                    bound.add((alias.asname or alias.name).split(".")[0])
    bound |= package_names
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__") and isinstance(node.value, ast.Name)
                and node.value.id in bound):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names():
    problems = {}
    for path in _module_files():
        found = _private_uses(ast.parse(path.read_text()), set())
        if found:
            problems[str(path.relative_to(REPO_ROOT))] = found
    assert not problems, f"private names used across modules: {problems}"


def test_no_notebook_uses_a_private_name_of_the_package():
    problems = {}
    for path in sorted((REPO_ROOT / "sources").glob("[0-9][0-9]_*.py")):
        found = _private_uses(ast.parse(path.read_text()), set())
        if found:
            problems[path.name] = found
    assert not problems, f"notebooks use private names of mlsec_helpers: {problems}"


def test_the_private_name_scan_finds_what_it_should():
    code = ("from mlsec_helpers import systems\nfrom mlsec_helpers.data import _raw\n"
            "systems._CACHE\nimport numpy as np\nnp._private\n")
    assert _private_uses(ast.parse(code), set()) == [
        "from mlsec_helpers.data import _raw", "systems._CACHE"]


def _public_callables():
    for name in MODULES:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            if getattr(obj, "__module__", None) != name:
                continue  # re-exported: checked where it is defined
            if inspect.isclass(obj):
                if dataclasses.is_dataclass(obj):
                    continue  # a record's fields (Dataset.seed) are data, not arguments
                obj = obj.__init__
            if inspect.isfunction(obj):
                yield f"{name}.{attr}", inspect.signature(obj)


def test_seed_is_keyword_only_everywhere():
    positional = []
    for name, sig in _public_callables():
        params = [p for p in sig.parameters.values() if p.name != "self"]
        for k, p in enumerate(params):
            if p.name == "seed" and k > 0 and p.kind is not p.KEYWORD_ONLY:
                positional.append(name)
    assert not positional, f"seed must be keyword-only (after *): {positional}"


def test_eps_is_only_a_perturbation_budget():
    """The differential-privacy budget is called epsilon; eps is a perturbation size."""
    bad = [name for name, sig in _public_callables()
           if name.startswith("mlsec_helpers.privacy") and "eps" in sig.parameters]
    assert not bad, f"a privacy budget must be called epsilon: {bad}"


def test_batches_are_called_X():
    # plots take x as what it is there: the values of a figure's x axis
    bad = [name for name, sig in _public_callables()
           if "x" in sig.parameters and not name.startswith("mlsec_helpers.plots.")]
    assert not bad, f"feature matrices and batches are X, not x: {bad}"


def test_tooling_lives_outside_the_course_package():
    names = {path.stem for path in _module_files()}
    assert not names & {"build", "bench", "readme"}
    assert (REPO_ROOT / "tools" / "build.py").is_file()


def test_the_repository_cites_no_document_outside_it():
    files = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    citing = []
    for rel in files:
        if not rel.endswith((".py", ".md", ".toml", ".yml", ".txt", ".ipynb")):
            continue
        text = (REPO_ROOT / rel).read_text(errors="ignore")
        if re.search(r"COURSE\.md|STYLE\.md|\.\./shared", text):
            citing.append(rel)
    assert not citing, f"files citing documents outside the repository: {citing}"
