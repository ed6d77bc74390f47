#!/usr/bin/env python3
"""Task runner of the course (standard library only, so it runs before anything is installed).

    python3 tasks.py lab        set up .venv and open the labs in JupyterLab
    python3 tasks.py test       set up .venv and run the whole test suite (what CI runs)
    python3 tasks.py test-lab NN  one lab's notebooks (solution and student) and its check tests
    python3 tasks.py setup      create or update .venv only
    python3 tasks.py build      regenerate solutions/ and labs/ from sources/
    python3 tasks.py bench      time every notebook, write benchmark.json and the README tables
    python3 tasks.py seeds      rerun the labs with other training seeds, report every claim
    python3 tasks.py readme     re-render the README tables from the catalogue and benchmark.json
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".mlsec-installed"

# The same caps for students, Binder, the tests and CI: one thread per process (see
# mlsec_helpers/repro.py for why), idle OpenMP threads sleep, helpers stay on the CPU in tests.
THREAD_ENV = {
    "MLSEC_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_WAIT_POLICY": "PASSIVE",
}
TEST_ENV = {**THREAD_ENV, "MLSEC_DEVICE": "cpu", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg",
            "MLSEC_STRICT_CLAIMS": "1"}  # a failed teaching claim fails the run (claims.py)


def run(*cmd: object, env: dict | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, env={**os.environ, **(env or {})})
    if result.returncode:
        sys.exit(result.returncode)


def setup() -> None:
    """Create .venv (Python 3.11) and install the package with its pinned dependencies."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"the course needs Python 3.11; this is {sys.version.split()[0]}. "
                 "Run this file with a Python 3.11 interpreter (e.g. python3.11 tasks.py ...).")
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == want:
        print(".venv is up to date", flush=True)
        return
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    # torch is pinned to 2.13.0 in pyproject.toml: that release's CPU build is what the course
    # is measured with (a bare `torch` would pull a CUDA build of several GB).
    run(PY, "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(want + "\n")


def build(check: bool = False) -> None:
    run(PY, "-m", "tools.build", *(["--check"] if check else []))


def test(extra: list[str]) -> None:
    setup()
    run(PY, "-m", "ruff", "check", "mlsec_helpers", "tools", "sources", "tests", "tasks.py")
    build(check=True)
    # Unit tests and every notebook (solutions/ and labs/) under nbval, two processes; each
    # notebook's cells stay in one process (--dist loadfile), each kernel uses one thread.
    run(
        PY, "-m", "pytest", "-n", "2", "--dist", "loadfile",
        "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=300",
        "tests", "solutions", "labs", *extra,
        env=TEST_ENV,
    )


def test_lab(extra: list[str]) -> None:
    """Run one lab's two notebooks under nbval, and its exercise checks' own tests."""
    if not extra or not extra[0].isdigit():
        sys.exit("usage: python3 tasks.py test-lab NN [pytest options]  (e.g. test-lab 02)")
    number, extra = f"{int(extra[0]):02d}", extra[1:]
    stems = [p.stem for p in (ROOT / "sources").glob(f"{number}_*.py")]
    if not stems:
        sys.exit(f"no lab {number}: sources/{number}_*.py does not exist")
    setup()
    build(check=True)
    checks = ROOT / "tests" / f"test_checks_lab{number}.py"
    run(
        PY, "-m", "pytest", "-n", "2", "--dist", "loadfile",
        "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=300",
        f"solutions/{stems[0]}.ipynb", f"labs/{stems[0]}.ipynb",
        *([str(checks.relative_to(ROOT))] if checks.exists() else []), *extra,
        env=TEST_ENV,
    )


def lab() -> None:
    setup()
    os.chdir(ROOT)
    os.environ.update(THREAD_ENV)
    jupyter = BIN / ("jupyter.exe" if os.name == "nt" else "jupyter")
    args = [str(jupyter), "lab", "labs"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # containers often run as root; Jupyter refuses otherwise
    os.execv(str(jupyter), args)


def main(argv: list[str]) -> None:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return
    cmd, extra = argv[0], argv[1:]
    if cmd == "setup":
        setup()
    elif cmd == "lab":
        lab()
    elif cmd == "test":
        test(extra)
    elif cmd == "test-lab":
        test_lab(extra)
    elif cmd == "build":
        setup()
        build()
    elif cmd == "bench":
        setup()
        run(PY, "-m", "tools.bench", *extra, env=THREAD_ENV | {"MLSEC_DEVICE": "cpu"})
    elif cmd == "seeds":
        setup()
        run(PY, "-m", "tools.seeds", *extra, env=THREAD_ENV | {"MLSEC_DEVICE": "cpu"})
    elif cmd == "readme":
        setup()
        run(PY, "-m", "tools.readme")
    else:
        sys.exit(f"unknown task {cmd!r}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv[1:])
