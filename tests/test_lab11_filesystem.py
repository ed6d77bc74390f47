"""Lab 11 writes nothing outside its own temporary folder, and removes that folder at the end.

The solution notebook runs in a kernel whose home, temporary directory and working directory
are fresh, empty folders (Jupyter's and IPython's own runtime files go elsewhere): afterwards
the home and the temporary directory must be empty and the working directory must hold only
the notebook.
"""

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "solutions" / "11_supply_chain.ipynb"


@pytest.mark.skipif(not NOTEBOOK.exists(), reason="lab 11 is not built")
def test_lab11_writes_nothing_outside_its_temporary_folder(tmp_path, monkeypatch):
    home, temp, work, runtime = (tmp_path / name for name in ("home", "tmp", "work", "runtime"))
    for folder in (home, temp, work, runtime):
        folder.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime / "jupyter"))
    monkeypatch.setenv("IPYTHONDIR", str(runtime / "ipython"))
    monkeypatch.setenv("MPLCONFIGDIR", str(runtime / "matplotlib"))
    copy = work / NOTEBOOK.name
    shutil.copy(NOTEBOOK, copy)
    nb = nbformat.read(copy, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(work)}}).execute()
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == []
    assert sorted(p.relative_to(temp).as_posix() for p in temp.rglob("*")) == []
    assert [p.name for p in work.iterdir()] == [NOTEBOOK.name]
