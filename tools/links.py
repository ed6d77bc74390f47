"""nbgitpuller links for a JupyterHub: one per lab, to hand out to a class.

    python tasks.py links https://hub.example.edu https://github.com/org/ml-model-security
    python tasks.py links HUB REPO --branch main --app lab

A student who clicks a link logs in to the hub; nbgitpuller clones the repository into their
home directory the first time (later clicks merge new commits without touching their edits)
and opens the lab. The hub's image needs the course installed (see the README, "Running the
course for a class"). Standard library only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent


def lab_stems(root: Path = ROOT) -> list[str]:
    """The student notebooks of the course, in order (``labs/NN_*.ipynb``)."""
    return sorted(p.stem for p in (root / "labs").glob("[0-9][0-9]_*.ipynb"))


def _check_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{what} must be an http(s) URL such as https://hub.example.edu, "
                         f"got {url!r}")
    return url.rstrip("/")


def link(hub: str, repo: str, notebook: str, *, branch: str = "main", app: str = "lab") -> str:
    """The nbgitpuller URL that clones ``repo`` (``branch``) on ``hub`` and opens
    ``labs/<notebook>.ipynb`` in JupyterLab (``app="lab"``) or the classic notebook
    (``app="notebook"``)."""
    hub = _check_url(hub, "hub")
    repo = _check_url(repo, "repo")
    if app not in ("lab", "notebook"):
        raise ValueError(f"app must be 'lab' or 'notebook', got {app!r}")
    if not branch or any(c in branch for c in " ?&#"):
        raise ValueError(f"branch must be a git branch name, got {branch!r}")
    folder = repo.rsplit("/", 1)[-1].removesuffix(".git")
    path = f"{folder}/labs/{notebook}.ipynb"
    urlpath = f"lab/tree/{path}" if app == "lab" else f"tree/{path}"
    query = urlencode({"repo": repo, "urlpath": urlpath, "branch": branch}, quote_via=quote)
    return f"{hub}/hub/user-redirect/git-pull?{query}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tasks.py links", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("hub", help="the hub's URL, e.g. https://hub.example.edu")
    parser.add_argument("repo", help="the repository's git URL")
    parser.add_argument("--branch", default="main")
    parser.add_argument("--app", default="lab", choices=("lab", "notebook"))
    args = parser.parse_args(argv)
    try:
        for stem in lab_stems():
            print(f"{stem}: {link(args.hub, args.repo, stem, branch=args.branch, app=args.app)}")
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
