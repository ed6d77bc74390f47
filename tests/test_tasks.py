"""tasks.py and tools/links.py: finding a Python 3.11, installing torch's CPU build, hub links."""

import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tools import links

ROOT = Path(__file__).resolve().parent.parent


def _tasks():
    spec = importlib.util.spec_from_file_location("tasks_module", ROOT / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_torch_pin_of_the_set_up_is_pyprojects():
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert _tasks().TORCH_PIN in deps


def test_find_python_takes_the_first_candidate_that_is_really_3_11(tmp_path):
    tasks = _tasks()
    wrong = tmp_path / "python-wrong"
    wrong.write_text("#!/bin/sh\necho False\n")
    wrong.chmod(0o755)
    found = tasks.find_python([[str(tmp_path / "missing")], [str(wrong)], [sys.executable]])
    assert found == [sys.executable]
    assert tasks.find_python([[str(wrong)]]) is None
    assert "python3.11" in tasks.HOW_TO_GET_PYTHON and "winget" in tasks.HOW_TO_GET_PYTHON


def _newer_python() -> str | None:
    """A working Python 3.12 or 3.13 on this machine (PATH or pyenv), if any."""
    candidates = [shutil.which(n) for n in ("python3.13", "python3.12")]
    candidates += sorted(str(p) for p in (Path.home() / ".pyenv" / "versions").glob(
        "3.1[23]*/bin/python3"))
    for exe in filter(None, candidates):
        try:
            if subprocess.run([exe, "--version"], capture_output=True, timeout=20).returncode == 0:
                return exe
        except (OSError, subprocess.SubprocessError):
            continue
    return None


NEWER = _newer_python()


@pytest.mark.skipif(NEWER is None, reason="no Python 3.12 or 3.13 on this machine")
def test_run_by_another_python_it_reruns_itself_with_3_11():
    out = subprocess.run([NEWER, str(ROOT / "tasks.py"), "links", "https://hub.example.edu",
                          "https://example.org/course.git"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "this is Python 3.1" in out.stdout and "the course needs 3.11" in out.stdout
    assert "00_meet_the_systems: https://hub.example.edu/hub/user-redirect/git-pull?" in out.stdout


def test_torch_comes_from_the_cpu_index_when_it_answers_and_falls_back_quickly(monkeypatch):
    tasks = _tasks()
    calls = []
    monkeypatch.setattr(tasks, "run", lambda *cmd, env=None: calls.append([str(c) for c in cmd]))
    monkeypatch.setattr(tasks.sys, "platform", "linux")
    monkeypatch.setattr(tasks, "reachable", lambda host, port=443, timeout=3.0: True)
    tasks.install_torch()
    assert calls[-1][-2:] == ["--index-url", tasks.TORCH_CPU_INDEX] and tasks.TORCH_PIN in calls[-1]
    monkeypatch.setattr(tasks, "reachable", lambda host, port=443, timeout=3.0: False)
    tasks.install_torch()
    assert "--index-url" not in calls[-1] and calls[-1][-1] == tasks.TORCH_PIN
    monkeypatch.setattr(tasks.sys, "platform", "darwin")  # macOS wheels are CPU builds
    tasks.install_torch()
    assert "--index-url" not in calls[-1]


def test_an_unreachable_index_is_known_within_seconds():
    tasks = _tasks()
    start = time.perf_counter()
    tasks.reachable("unreachable.invalid", timeout=3.0)
    assert time.perf_counter() - start < 4.0


def test_links_are_nbgitpuller_urls_for_every_lab():
    url = links.link("https://hub.example.edu/", "https://github.com/org/course.git",
                     "04_model_theft", branch="spring")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https", "hub.example.edu", "/hub/user-redirect/git-pull")
    query = parse_qs(parts.query)
    assert query == {"repo": ["https://github.com/org/course.git"], "branch": ["spring"],
                     "urlpath": ["lab/tree/course/labs/04_model_theft.ipynb"]}
    classic = parse_qs(urlsplit(links.link("https://h.org", "https://g.org/c", "00_x",
                                           app="notebook")).query)
    assert classic["urlpath"] == ["tree/c/labs/00_x.ipynb"]
    stems = links.lab_stems()
    assert stems and all((ROOT / "labs" / f"{s}.ipynb").is_file() for s in stems)
    for bad in [("hub.example.edu", "https://g.org/c"), ("https://h.org", "git@github.com:o/c")]:
        with pytest.raises(ValueError, match="http"):
            links.link(*bad, "00_x")
    with pytest.raises(ValueError, match="branch"):
        links.link("https://h.org", "https://g.org/c", "00_x", branch="a b")
    with pytest.raises(ValueError, match="app"):
        links.link("https://h.org", "https://g.org/c", "00_x", app="voila")
