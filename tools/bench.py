"""Benchmark: run every notebook alone, record wall seconds and the kernel's peak memory.

    python tasks.py bench                 all notebooks in solutions/ and labs/
    python tasks.py bench 00_meet_the_systems

Each notebook runs in a fresh process whose only child is the notebook's kernel, so the peak
resident memory of that process's children (``getrusage(RUSAGE_CHILDREN)``) is the kernel's.
Results go to ``benchmark.json`` and the README's lab table. A benchmark, not a timed test:
the budgets (60 s, 1.5 GB per lab on 2 CPU cores) are reported, not asserted.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from mlsec_helpers.registry import REPO_ROOT

RESULTS = REPO_ROOT / "benchmark.json"
BUDGET_SECONDS, BUDGET_MB = 60.0, 1536.0


def _run_one(path: Path) -> dict:
    """Execute one notebook with nbclient in this process; return seconds and peak MB."""
    import resource

    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    peak_mb = peak_kb / 1024 if sys.platform != "darwin" else peak_kb / 2**20
    return {"seconds": round(seconds, 1), "peak_mb": round(peak_mb)}


def run_notebook(path: Path) -> dict:
    """Run ``path`` in a fresh Python process and return its measurements.
    """
    out = subprocess.run(
        [sys.executable, "-m", "tools.bench", "--one", str(path)],
        capture_output=True, text=True, env=os.environ.copy(),
    )
    if out.returncode:
        raise RuntimeError(f"{path} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """CLI entry point (see the module docstring).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--one"]:
        print(json.dumps(_run_one(Path(argv[1]))))
        return 0
    stems = sorted(p.stem for p in (REPO_ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    if argv:
        unknown = set(argv) - set(stems)
        if unknown:
            print(f"unknown notebook(s) {sorted(unknown)}; known: {stems}", file=sys.stderr)
            return 2
        stems = argv
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"labs": {}}
    over = []
    for stem in stems:
        entry = {}
        for kind, folder in (("solution", "solutions"), ("student", "labs")):
            m = run_notebook(REPO_ROOT / folder / f"{stem}.ipynb")
            entry[kind] = m
            flag = "" if m["seconds"] <= BUDGET_SECONDS and m["peak_mb"] <= BUDGET_MB else (
                "  OVER BUDGET")
            if flag:
                over.append(f"{folder}/{stem}")
            print(f"{folder}/{stem}.ipynb: {m['seconds']:.1f} s, {m['peak_mb']} MB{flag}",
                  flush=True)
        results["labs"][stem] = entry
    results["machine"] = (
        f"{platform.machine()}, {os.cpu_count()} CPU cores, Python "
        f"{platform.python_version()}, MLSEC_THREADS={os.environ.get('MLSEC_THREADS', '1')}"
    )
    results["date"] = datetime.now(UTC).strftime("%Y-%m-%d")
    RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    from tools.readme import render

    render(write=True)
    print(f"wrote {RESULTS.name} and the README tables")
    if over:
        print(f"over the budget of {BUDGET_SECONDS:.0f} s / {BUDGET_MB:.0f} MB: {over}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
