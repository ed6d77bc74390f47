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
