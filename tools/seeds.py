"""Rerun labs with other seeds of model training and attack randomness; report every claim.

    python tasks.py seeds                      every lab, seeds 1 and 2 (and 0, the lab's own)
    python tasks.py seeds 02_evasion --seeds 1 2 3
    python tasks.py seeds --jobs 2             two runs at a time (one thread each)

Each run executes the solution notebook in a fresh kernel with ``MLSEC_SEED=<seed>`` (read by
``repro.setup``) and ``MLSEC_CLAIMS_LOG`` set, with claims not strict, so that every claim of the
lab is recorded, whether it holds or not. The data and its splits stay those of seed 0. The
report (``seeds.md``, ``.bench/seeds.json``) lists each claim with its value and margin per
seed, and how many seeds it held for; runs of labs and seeds not named keep their earlier
results. Not part of the test command: a lab's asserted claims are
expected to hold for every seed listed here (a claim that does not is reworded or measured on
more cases).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mlsec_helpers.registry import REPO_ROOT

OUT_DIR = REPO_ROOT / ".bench"
REPORT = REPO_ROOT / "seeds.md"


def run_lab(stem: str, seed: int) -> list[dict]:
    """Execute ``solutions/<stem>.ipynb`` with ``seed``; return the claims it recorded."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "claims.jsonl"
        env = {**os.environ, "MLSEC_SEED": str(seed), "MLSEC_CLAIMS_LOG": str(log),
               "MLSEC_STRICT_CLAIMS": "0"}
        code = ("import nbformat, sys; from nbclient import NotebookClient; "
                "p = sys.argv[1]; nb = nbformat.read(p, as_version=4); "
                "NotebookClient(nb, kernel_name='python3', timeout=900, "
                "resources={'metadata': {'path': str(__import__('pathlib').Path(p).parent)}})"
                ".execute()")
        done = subprocess.run([sys.executable, "-c", code,
                               str(REPO_ROOT / "solutions" / f"{stem}.ipynb")],
                              capture_output=True, text=True, env=env)
        rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        if done.returncode:
            rows.append({"name": "(the notebook failed to run to the end)", "value": float("nan"),
                         "held": False, "margin": float("-inf"),
                         "error": done.stderr[-500:]})
        return rows


def render(results: dict[str, dict[int, list[dict]]]) -> str:
    """The report as Markdown: one table per lab, a row per claim, a column per seed."""
    lines = ["# Claims under other seeds", "",
             "Value (margin) of every claim each lab asserts, per seed of model training and "
             "attack randomness (data and splits fixed). Made by `python tasks.py seeds`.", ""]
    for stem, by_seed in results.items():
        seeds = sorted(by_seed)
        names = list(dict.fromkeys(r["name"] for s in seeds for r in by_seed[s]))
        lines += [f"## {stem}", "", "| claim | " + " | ".join(f"seed {s}" for s in seeds)
                  + " | held |", "|---|" + "---|" * (len(seeds) + 1)]
        for name in names:
            cells, held = [], 0
            for s in seeds:
                row = next((r for r in by_seed[s] if r["name"] == name), None)
                if row is None:
                    cells.append("-")
                    continue
                held += bool(row["held"])
                mark = "" if row["held"] else " ✗"
                cells.append(f"{row['value']:.4g} ({row['margin']:+.3g}){mark}")
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {held}/{len(seeds)} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tasks.py seeds", description=__doc__)
    parser.add_argument("labs", nargs="*", help="notebook stems (default: every lab)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs at a time (each kernel uses one thread; default 1)")
    args = parser.parse_args(argv)
    stems = sorted(p.stem for p in (REPO_ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    unknown = set(args.labs) - set(stems)
    if unknown:
        print(f"unknown notebook(s) {sorted(unknown)}; known: {stems}", file=sys.stderr)
        return 2
    if args.jobs < 1:
        print("--jobs must be at least 1", file=sys.stderr)
        return 2
    runs = [(stem, seed) for stem in args.labs or stems for seed in args.seeds]

    def one(run):
        print(f"{run[0]}, seed {run[1]} ...", flush=True)
        return run_lab(*run)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:  # each run is its own process
        done = list(pool.map(one, runs))
    # Runs of other labs and seeds from earlier calls stay in the report; these replace theirs.
    saved = OUT_DIR / "seeds.json"
    results: dict[str, dict[int, list[dict]]] = {}
    if saved.is_file():
        old = json.loads(saved.read_text())
        results = {stem: {int(s): rows for s, rows in by.items()} for stem, by in old.items()
                   if stem in stems}
    for (stem, seed), rows in zip(runs, done, strict=True):
        results.setdefault(stem, {})[seed] = rows
    results = {stem: results[stem] for stem in sorted(results)}
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "seeds.json").write_text(json.dumps(results, indent=1))
    REPORT.write_text(render(results) + "\n")
    failed = sum(not r["held"] for by in results.values() for rows in by.values() for r in rows)
    print(f"wrote {REPORT.name}; {failed} claim result(s) did not hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
