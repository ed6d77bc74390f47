"""Generate the lab notebooks from their jupytext sources.

Every lab has one source, ``sources/NN_topic.py`` (jupytext "percent" format), and it is the
only place the lab is edited. From it this module writes two notebooks:

* ``solutions/NN_topic.ipynb``: the instructor version. Solution regions and hidden tests are
  kept, markers included, so the file can go into nbgrader's ``source/<assignment>/`` folder.
* ``labs/NN_topic.ipynb``: the student version, solutions and hidden tests stripped.

Markers (nbgrader's conventions), each on a line of its own, possibly indented:

* ``### BEGIN SOLUTION`` / ``### END SOLUTION``: in a code cell the region becomes
  ``# YOUR CODE HERE`` at the marker's indentation, followed by ``raise NotImplementedError()``
  when the region is indented (a function, loop or ``if`` body). A top-level region keeps only
  the comment, so that the student notebook still runs end to end. In a markdown cell the region
  becomes ``YOUR ANSWER HERE``.
* A whole cell tagged ``solution`` (``# %% tags=["solution"]``) becomes ``# YOUR CODE HERE``
  (code) or ``YOUR ANSWER HERE`` (markdown).
* ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` (code cells only): removed from the
  student version.
* ``### POINTS: n`` in a hidden-test cell or a markdown answer cell sets its points (default 1);
  the line is removed from both versions.
* Cells tagged ``remove-student`` are left out of the student version, cells tagged
  ``remove-solution`` out of the solution version.

Both versions carry nbgrader (schema 3) cell metadata: answer cells get
``grade_id`` ``<stem>-sol-<k>``, hidden-test cells ``<stem>-test-<k>``. A markdown answer cell is
a manually graded answer (``grade`` and ``solution`` both true, with points), because nbgrader's
validator rejects a markdown cell that is a solution cell but not a grade cell.

Command line::

    python -m tools.build           # (re)write labs/ and solutions/
    python -m tools.build --check   # exit 1 and list the stale notebooks
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

__all__ = ["build_all", "build_notebooks", "main", "strip_solutions"]

REPO_ROOT = Path(__file__).resolve().parent.parent
"""Default root: the parent of the ``mlsec_helpers`` package directory."""

SOURCE_GLOB = "[0-9][0-9]_*.py"
FIX_COMMAND = "python tasks.py build"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}

CODE_STUB = "# YOUR CODE HERE"
RAISE_STUB = "raise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"

SOLUTION_TAG = "solution"
REMOVE_STUDENT_TAG = "remove-student"
REMOVE_SOLUTION_TAG = "remove-solution"

# marker line (stripped) -> (action, region)
_MARKERS = {
    "### BEGIN SOLUTION": ("begin", "solution"),
    "### END SOLUTION": ("end", "solution"),
    "### BEGIN HIDDEN TESTS": ("begin", "hidden tests"),
    "### END HIDDEN TESTS": ("end", "hidden tests"),
}
# nbgrader recognises a marker anywhere in a line ("BEGIN SOLUTION" in line), so any other
# line containing one of these phrases would be mangled by nbgrader: reject it.
_PHRASES = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
_POINTS_RE = re.compile(r"^\s*### POINTS:\s*(?P<value>\S+)\s*$")
_POINTS_PHRASE = "### POINTS"
_GRADE_ID_BAD_CHARS = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class _Scan:
    """The result of scanning one cell's text for markers."""

    solution: str  # instructor text: markers kept, POINTS lines removed
    student: str  # student text: regions stubbed or removed, POINTS lines removed
    has_solution: bool
    has_hidden: bool
    points: float | int | None


def _parse_points(value: str, lineno: int) -> float | int:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"line {lineno}: '### POINTS: {value}' is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"line {lineno}: '### POINTS: {value}' must be a number >= 0")
    return int(number) if number.is_integer() else number


def _scan(text: str, kind: str) -> _Scan:
    """Scan one cell's text; raise ValueError (with the line in the cell) on bad markers."""
    if kind not in ("code", "markdown"):
        raise ValueError(f"kind must be 'code' or 'markdown', not {kind!r}")
    solution_lines: list[str] = []
    student_lines: list[str] = []
    open_region: str | None = None
    open_line = 0
    has_solution = has_hidden = False
    points: float | int | None = None

    for lineno, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        points_match = _POINTS_RE.match(line)
        if points_match:
            if points is not None:
                raise ValueError(f"line {lineno}: second '### POINTS' line in the cell")
            points = _parse_points(points_match["value"], lineno)
            continue
        if _POINTS_PHRASE in line:
            raise ValueError(
                f"line {lineno}: malformed points line {stripped!r} "
                "(expected '### POINTS: n' on a line of its own)"
            )

        marker = _MARKERS.get(stripped)
        if marker is None and any(phrase in line for phrase in _PHRASES):
            raise ValueError(
                f"line {lineno}: malformed marker {stripped!r} (markers are "
                f"{', '.join(repr(m) for m in _MARKERS)}, each on a line of its own)"
            )
        if marker is None:
            solution_lines.append(line)
            if open_region is None:
                student_lines.append(line)
            continue

        action, region = marker
        solution_lines.append(line)
        if action == "begin":
            if open_region is not None:
                raise ValueError(
                    f"line {lineno}: nested marker {stripped!r} inside the {open_region} "
                    f"region opened on line {open_line}"
                )
            if region == "hidden tests" and kind == "markdown":
                raise ValueError(f"line {lineno}: hidden tests are only allowed in code cells")
            open_region, open_line = region, lineno
            indent = line[: len(line) - len(line.lstrip())]
            if region == "solution":
                has_solution = True
                if kind == "markdown":
                    student_lines.append(indent + TEXT_STUB)
                else:
                    student_lines.append(indent + CODE_STUB)
                    if indent:
                        student_lines.append(indent + RAISE_STUB)
            else:
                has_hidden = True
        else:
            if open_region is None:
                raise ValueError(f"line {lineno}: {stripped!r} without a matching BEGIN")
            if open_region != region:
                raise ValueError(
                    f"line {lineno}: {stripped!r} closes the {open_region} region opened on "
                    f"line {open_line}"
                )
            open_region = None

    if open_region is not None:
        raise ValueError(
            f"line {open_line}: the {open_region} region opened here has no matching END"
        )
    return _Scan(
        solution="\n".join(solution_lines),
        student="\n".join(student_lines),
        has_solution=has_solution,
        has_hidden=has_hidden,
        points=points,
    )


def strip_solutions(source_text: str, *, kind: str) -> str:
    """Return the student version of one cell's text.

    ``kind`` is ``"code"`` or ``"markdown"``. A ``### BEGIN SOLUTION`` ... ``### END SOLUTION``
    region becomes, in code, ``# YOUR CODE HERE`` at the marker's indentation plus
    ``raise NotImplementedError()`` when the region is indented (top-level regions keep only the
    comment); in markdown, ``YOUR ANSWER HERE``. A ``### BEGIN HIDDEN TESTS`` ...
    ``### END HIDDEN TESTS`` region is removed, and so is a ``### POINTS: n`` line. Everything
    else is returned unchanged. Whole cells tagged ``solution`` are handled by
    :func:`build_notebooks`, not here (this function sees only the text).

    Raises ``ValueError`` naming the line in the cell for nested, unbalanced or malformed
    markers, and for hidden tests in a markdown cell.
    """
    return _scan(source_text, kind).student


def _preview(text: str) -> str:
    for line in text.split("\n"):
        if line.strip():
            line = line.strip()
            return line if len(line) <= 40 else line[:37] + "..."
    return "(empty)"


def _grade_id_prefix(stem: str) -> str:
    return _GRADE_ID_BAD_CHARS.sub("_", stem)


def _nb_cell(cell_type: str, source: str, tags: list[str], nbgrader: dict | None) -> dict:
    metadata: dict = {}
    if tags:
        metadata["tags"] = list(tags)
    if nbgrader is not None:
        metadata["nbgrader"] = copy.deepcopy(nbgrader)
    cell: dict = {"cell_type": cell_type, "metadata": metadata, "source": source}
    if cell_type == "code":
        cell["execution_count"] = None
        cell["outputs"] = []
    return cell


def _notebook(cells: list[dict]) -> nbformat.NotebookNode:
    return nbformat.from_dict(
        {
            "nbformat": 4,
            "nbformat_minor": 4,
            "metadata": {
                "kernelspec": dict(KERNELSPEC),
                "language_info": dict(LANGUAGE_INFO),
            },
            "cells": cells,
        }
    )


def build_notebooks(source: Path) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """Build the (solution, student) notebooks of one lab source.

    ``source`` is a jupytext percent-format file such as ``sources/00_meet.py``. Both notebooks
    are nbformat 4.4 (no cell ids) with no outputs, ``execution_count`` None, notebook metadata
    reduced to the course kernelspec and ``language_info``, and cell metadata reduced to
    ``tags`` and ``nbgrader``. The solution notebook keeps solution regions (markers included)
    and hidden tests; the student notebook has them replaced as described in
    :func:`strip_solutions`, whole ``solution``-tagged cells replaced by a stub, and
    ``remove-student`` cells left out.

    nbgrader metadata (both versions): a cell with a solution region or the ``solution`` tag is
    an answer cell (``grade_id`` ``<stem>-sol-<k>``; code: ``grade`` false; markdown: ``grade``
    true with ``points``, as nbgrader requires for written answers); a cell with hidden tests is
    a locked grade cell (``<stem>-test-<k>``, ``points`` 1 or its ``### POINTS: n``).

    Raises ``ValueError`` naming the file and the cell (1-based, counting every cell of the
    source) when the markers are nested, unbalanced or malformed, when one cell holds both a
    solution and hidden tests, or when ``### POINTS`` is in a cell that gets no points.
    """
    source = Path(source)
    notebook = jupytext.reads(source.read_text(encoding="utf-8"), fmt="py:percent")
    prefix = _grade_id_prefix(source.stem)
    solution_cells: list[dict] = []
    student_cells: list[dict] = []
    n_solutions = n_tests = 0

    for number, cell in enumerate(notebook.cells, start=1):
        where = f"{source}: cell {number} (starting {_preview(cell.source)!r})"
        tags = [str(tag) for tag in cell.metadata.get("tags", [])]
        to_student = REMOVE_STUDENT_TAG not in tags
        to_solution = REMOVE_SOLUTION_TAG not in tags
        if not (to_student or to_solution):
            raise ValueError(
                f"{where}: tagged both {REMOVE_STUDENT_TAG!r} and {REMOVE_SOLUTION_TAG!r}"
            )

        if cell.cell_type not in ("code", "markdown"):
            if any(phrase in cell.source for phrase in (*_PHRASES, _POINTS_PHRASE)):
                raise ValueError(f"{where}: markers are only allowed in code and markdown cells")
            if SOLUTION_TAG in tags:
                raise ValueError(f"{where}: a {cell.cell_type} cell cannot be a solution cell")
            solution_text = student_text = cell.source
            nbgrader_meta = None
        else:
            try:
                scan = _scan(cell.source, cell.cell_type)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
            is_markdown = cell.cell_type == "markdown"
            whole = SOLUTION_TAG in tags
            is_answer = scan.has_solution or whole
            if is_answer and scan.has_hidden:
                raise ValueError(
                    f"{where}: holds both a solution and hidden tests; nbgrader needs them in "
                    "separate cells"
                )
            if scan.points is not None and not (scan.has_hidden or (is_answer and is_markdown)):
                raise ValueError(
                    f"{where}: '### POINTS' is only allowed in a cell with hidden tests or in "
                    "a markdown answer cell"
                )
            solution_text = scan.solution
            student_text = scan.student
            nbgrader_meta = None
            if is_answer:
                n_solutions += 1
                nbgrader_meta = {
                    "grade": is_markdown,
                    "grade_id": f"{prefix}-sol-{n_solutions}",
                    "locked": False,
                    "schema_version": 3,
                    "solution": True,
                    "task": False,
                }
                if is_markdown:
                    nbgrader_meta["points"] = 1 if scan.points is None else scan.points
                if whole and not scan.has_solution:
                    student_text = TEXT_STUB if is_markdown else CODE_STUB
            elif scan.has_hidden:
                n_tests += 1
                nbgrader_meta = {
                    "grade": True,
                    "grade_id": f"{prefix}-test-{n_tests}",
                    "locked": True,
                    "points": 1 if scan.points is None else scan.points,
                    "schema_version": 3,
                    "solution": False,
                    "task": False,
                }

        if to_solution:
            solution_cells.append(_nb_cell(cell.cell_type, solution_text, tags, nbgrader_meta))
        if to_student:
            student_cells.append(_nb_cell(cell.cell_type, student_text, tags, nbgrader_meta))

    return _notebook(solution_cells), _notebook(student_cells)


def _serialise(notebook: nbformat.NotebookNode) -> bytes:
    text = nbformat.writes(notebook, version=nbformat.NO_CONVERT, indent=1)
    if not text.endswith("\n"):
        text += "\n"
    return text.encode("utf-8")


def _is_orphan(root: Path, notebook: Path) -> bool:
    """True when ``notebook`` (in labs/ or solutions/) has no source that generates it."""
    source = root / "sources" / f"{notebook.stem}.py"
    return not (fnmatch.fnmatchcase(source.name, SOURCE_GLOB) and source.is_file())


def _orphans(root: Path) -> list[Path]:
    """The ``*.ipynb`` files in ``solutions/`` and ``labs/`` that no source generates."""
    return [
        path
        for folder in ("solutions", "labs")
        for path in sorted((root / folder).glob("*.ipynb"))
        if path.is_file() and _is_orphan(root, path)
    ]


def _up_to_date(path: Path, data: bytes) -> bool:
    # a checkout with CRLF line ends (git autocrlf on Windows) counts as up to date
    return path.is_file() and path.read_bytes().replace(b"\r\n", b"\n") == data


def build_all(root: Path = REPO_ROOT, check: bool = False) -> list[Path]:
    """Generate ``solutions/<stem>.ipynb`` and ``labs/<stem>.ipynb`` for every source.

    Sources are ``root/sources/[0-9][0-9]_*.py``. All notebooks are generated in memory first,
    so a source with bad markers (``ValueError``) leaves every file untouched.

    With ``check=False`` it writes the notebooks that are missing or differ from what their
    source generates (unchanged files are not rewritten, so their modification times stay) and
    returns the paths it wrote; an empty list means everything was already up to date. It never
    deletes anything: orphans (below) are left for a person to remove.

    With ``check=True`` it writes nothing and returns the stale paths: notebooks that are missing
    or differ from what their source generates (solutions/ then labs/ of each source in order),
    then orphans, that is ``*.ipynb`` files in ``labs/`` or ``solutions/`` with no source.
    """
    root = Path(root)
    expected: dict[Path, bytes] = {}
    for source in sorted((root / "sources").glob(SOURCE_GLOB)):
        solution, student = build_notebooks(source)
        expected[root / "solutions" / f"{source.stem}.ipynb"] = _serialise(solution)
        expected[root / "labs" / f"{source.stem}.ipynb"] = _serialise(student)

    stale = [path for path, data in expected.items() if not _up_to_date(path, data)]
    if check:
        return stale + _orphans(root)

    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(expected[path])
    return stale


def _display(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _orphan_message(root: Path, path: Path) -> str:
    shown = _display(root, path)
    return (
        f"{shown} has no source (sources/{path.stem}.py); delete it (git rm {shown}), "
        f"or restore the source and run: {FIX_COMMAND}"
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m tools.build [--check] [--root DIR]``.

    Without ``--check`` it runs :func:`build_all`, prints each notebook it wrote, warns about
    orphan notebooks (which it does not delete) and returns 0. With ``--check`` it writes
    nothing: it prints each stale notebook with the command that fixes it
    (``run: python tasks.py build``; for an orphan, delete it) and returns 1, or prints
    ``notebooks up to date`` and returns 0. A source with bad markers prints the error on stderr
    and returns 1 in both modes.
    """
    parser = argparse.ArgumentParser(
        prog="python -m tools.build",
        description="Generate labs/*.ipynb and solutions/*.ipynb from sources/NN_*.py.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a notebook is missing, stale or has no source",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=REPO_ROOT,
        help="course repository root (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()

    try:
        paths = build_all(root, check=args.check)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    if args.check:
        for path in paths:
            if _is_orphan(root, path):
                print(_orphan_message(root, path))
            elif path.is_file():
                print(f"{_display(root, path)} is out of date with its source; run: {FIX_COMMAND}")
            else:
                print(f"{_display(root, path)} is missing; run: {FIX_COMMAND}")
        if paths:
            print(f"{len(paths)} notebook(s) stale")
            return 1
        print("notebooks up to date")
        return 0

    for path in paths:
        print(f"wrote {_display(root, path)}")
    orphans = _orphans(root)
    for path in orphans:
        print(f"warning: {_orphan_message(root, path)}", file=sys.stderr)
    if orphans:
        print(f"{len(orphans)} orphan notebook(s) to delete by hand (see the warnings)")
    else:
        print("notebooks up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
