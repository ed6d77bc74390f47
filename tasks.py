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
    python3 tasks.py links HUB REPO   nbgitpuller links to every lab, for a JupyterHub
    python3 tasks.py federation  lab 09's Flower app on a SuperLink and 3 SuperNodes on 127.0.0.1
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import socket
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


# The course is pinned and measured on Python 3.11: the CPU build of torch 2.13.0 at hand on the
# project's machines is a cp311 wheel, and it is the pin that decides (the others are pure Python
# or ship wheels for newer versions too).
PYTHON = (3, 11)
HOW_TO_GET_PYTHON = """the course needs Python 3.11 and none was found on this machine. To get one:
  Linux:   sudo apt install python3.11 python3.11-venv  (or: uv python install 3.11)
  macOS:   brew install python@3.11                     (or: uv python install 3.11)
  Windows: winget install Python.Python.3.11            (then: py -3.11 tasks.py ...)"""
TORCH_PIN = "torch==2.13.0"  # the same pin as pyproject.toml (a test keeps them equal)
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def python_candidates() -> list[list[str]]:
    """Commands that may start a Python 3.11 here: the Windows launcher, python3.11 on PATH,
    pyenv's and uv's managed interpreters."""
    found: list[list[str]] = []
    if os.name == "nt" and shutil.which("py"):
        found.append(["py", "-3.11"])
    for name in ("python3.11", "python3.11.exe"):
        if shutil.which(name):
            found.append([shutil.which(name)])
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for version in sorted((pyenv_root / "versions").glob("3.11*"), reverse=True):
        for exe in (version / "bin" / "python", version / "python.exe"):
            if exe.exists():
                found.append([str(exe)])
    if shutil.which("uv"):
        try:
            out = subprocess.run(["uv", "python", "find", "3.11"], capture_output=True,
                                 text=True, timeout=20)
            if out.returncode == 0 and out.stdout.strip():
                found.append([out.stdout.strip()])
        except (OSError, subprocess.SubprocessError):
            pass
    return found


def find_python(candidates: list[list[str]] | None = None) -> list[str] | None:
    """The first candidate command that really runs Python 3.11, or None."""
    probe = "import sys; print(sys.version_info[:2] == (3, 11))"
    for cmd in python_candidates() if candidates is None else candidates:
        try:
            out = subprocess.run([*cmd, "-c", probe], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0 and out.stdout.strip() == "True":
            return cmd
    return None


def ensure_python(argv: list[str]) -> None:
    """Run by another Python, rerun this file with a Python 3.11 if there is one; else say
    how to get one."""
    if sys.version_info[:2] == PYTHON:
        return
    cmd = find_python()
    if cmd is None:
        sys.exit(f"this is Python {platform.python_version()}; {HOW_TO_GET_PYTHON}")
    print(f"this is Python {platform.python_version()}; the course needs 3.11: running "
          f"{' '.join(cmd)} tasks.py {' '.join(argv)}", flush=True)
    sys.exit(subprocess.run([*cmd, str(Path(__file__).resolve()), *argv]).returncode)


def reachable(host: str, port: int = 443, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to host:port opens within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def install_torch() -> None:
    """On Linux, the CPU build of the pinned torch from PyTorch's CPU index when it answers;
    otherwise (and on macOS and Windows, whose wheels are CPU builds) the default index."""
    if sys.platform.startswith("linux"):
        if reachable("download.pytorch.org"):
            print(f"installing {TORCH_PIN} (CPU build) from {TORCH_CPU_INDEX}", flush=True)
            run(PY, "-m", "pip", "install", "--progress-bar", "on", TORCH_PIN,
                "--index-url", TORCH_CPU_INDEX)
            return
        print("PyTorch's CPU index is not reachable: installing torch from the default index",
              flush=True)
    run(PY, "-m", "pip", "install", "--progress-bar", "on", TORCH_PIN)


def setup() -> None:
    """Create .venv (Python 3.11) and install the package with its pinned dependencies."""
    if sys.version_info[:2] != PYTHON:
        sys.exit(f"the course needs Python 3.11; this is {platform.python_version()}. "
                 "Run this file with a Python 3.11 interpreter (e.g. python3.11 tasks.py ...).")
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == want:
        print(".venv is up to date", flush=True)
        return
    print("First set-up: installing the course's pinned packages into .venv (about 2 GB with "
          "PyTorch and JupyterLab; usually 3 to 10 minutes, depending on the network). "
          "Later runs skip this step until pyproject.toml changes.", flush=True)
    run(PY, "-m", "pip", "install", "--progress-bar", "on", "--upgrade", "pip")
    # torch first, from the CPU index on Linux (a bare `torch` would pull a CUDA build of several
    # GB); pyproject.toml pins the same version, so the next step leaves it in place.
    install_torch()
    run(PY, "-m", "pip", "install", "--progress-bar", "on", "-e", ".[dev]")
    STAMP.write_text(want + "\n")
    print("set-up done", flush=True)


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


def federation(extra: list[str]) -> None:
    """Lab 09's hospitals' Flower app on Flower's deployment engine: a SuperLink and one SuperNode
    per hospital as separate processes on 127.0.0.1, the app started with ``flwr run``; prints
    the test accuracy the ServerApp logs after each round, then stops every process it started
    (mlsec_helpers/federated/flower_app.py). Options: --rule, --hospitals, --rounds, --timeout."""
    setup()
    cmd = [str(PY), "-m", "mlsec_helpers.federated.flower_app", *extra]
    print("+", " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **THREAD_ENV})
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        # The run got the same Ctrl-C: give it time to stop its Flower processes (subprocess.run
        # would kill it at once and leave them running).
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.terminate()
            code = proc.wait()
    if code:
        sys.exit(code)


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
    ensure_python(argv)
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
    elif cmd == "links":  # standard library only: works before set-up
        run(sys.executable, "-m", "tools.links", *extra)
    elif cmd == "federation":
        federation(extra)
    elif cmd == "readme":
        setup()
        run(PY, "-m", "tools.readme")
    else:
        sys.exit(f"unknown task {cmd!r}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv[1:])
