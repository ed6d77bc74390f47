"""environment.yml (Binder, conda-forge) and pyproject.toml (pip) must pin the same set."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# pip name -> conda-forge name, where they differ
CONDA_NAMES = {"torch": "pytorch-cpu"}


def _pip_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
    pins = {}
    for req in reqs:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^;\s]+)", req.strip())
        assert m, f"pyproject.toml dependency {req!r} is not pinned with =="
        pins[m.group(1).lower()] = m.group(2)
    return pins


def _env_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    pins: dict[str, str] = {}
    pip_items: list[str] = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_items += dep["pip"]
            continue
        name, _, version = dep.partition("=")
        pins[name.lower()] = version
    for item in pip_items:
        if item.startswith("-e"):
            continue
        name, _, version = item.partition("==")
        pins[name.lower()] = version
    return pins


def test_environment_yml_matches_pyproject():
    pip = _pip_pins()
    conda = _env_pins()
    assert conda.pop("python") == "3.11"
    conda.pop("pip")
    expected = {CONDA_NAMES.get(name, name): version for name, version in pip.items()}
    missing = sorted(set(expected) - set(conda))
    extra = sorted(set(conda) - set(expected))
    assert not missing, f"in pyproject.toml but not in environment.yml: {missing}"
    assert not extra, f"in environment.yml but not in pyproject.toml: {extra}"
    differ = {n: (expected[n], conda[n]) for n in expected if expected[n] != conda[n]}
    assert not differ, f"versions differ (pyproject, environment.yml): {differ}"


def test_environment_yml_installs_the_package_and_caps_threads():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_items = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_items
    assert env["variables"]["MLSEC_THREADS"] == "1"


def test_torch_pinned_to_the_cpu_release():
    assert _pip_pins()["torch"] == "2.13.0"
