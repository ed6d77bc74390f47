import importlib

import pytest
import torch

from mlsec_helpers import checkpoints
from mlsec_helpers.registry import DataIntegrityError


def tiny_trainer():
    torch.manual_seed(0)
    return {"weight": torch.randn(3, 2), "bias": torch.zeros(2)}


@pytest.fixture
def ckpt(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "CHECKPOINT_DIR", tmp_path)
    monkeypatch.setitem(checkpoints.CHECKPOINTS, "lab99_tiny", checkpoints.Checkpoint(
        "lab99_tiny", "0" * 64, f"{__name__}:tiny_trainer", "a test checkpoint"))
    digest = checkpoints.retrain("lab99_tiny")
    monkeypatch.setitem(checkpoints.CHECKPOINTS, "lab99_tiny", checkpoints.Checkpoint(
        "lab99_tiny", digest, f"{__name__}:tiny_trainer", "a test checkpoint"))
    return checkpoints.CHECKPOINTS["lab99_tiny"]


def test_retrain_is_deterministic_and_loads(ckpt):
    assert checkpoints.retrain("lab99_tiny", write=False) == ckpt.sha256
    tensors = checkpoints.load("lab99_tiny")
    assert torch.equal(tensors["weight"], tiny_trainer()["weight"])


def test_tampered_checkpoint_is_refused(ckpt):
    data = bytearray(ckpt.path.read_bytes())
    data[-1] ^= 0xFF
    ckpt.path.write_bytes(bytes(data))
    with pytest.raises(DataIntegrityError, match="does not match the registry.*retrain"):
        checkpoints.load("lab99_tiny")


def test_missing_checkpoint_and_unknown_name(ckpt):
    ckpt.path.unlink()
    with pytest.raises(DataIntegrityError, match="not found"):
        checkpoints.load("lab99_tiny")
    with pytest.raises(ValueError, match="unknown checkpoint"):
        checkpoints.load("nope")


@pytest.mark.parametrize("fields", [
    ("bad name!", "0" * 64, "m:f", ""),
    ("robust_cnn", "0" * 64, "m:f", ""),  # no labNN_ prefix
    ("lab02_ok", "abc", "m:f", ""),
    ("lab02_ok", "0" * 64, "no_colon", ""),
])
def test_checkpoint_record_validates(fields):
    with pytest.raises(ValueError):
        checkpoints.Checkpoint(*fields)


@pytest.mark.parametrize("name", sorted(checkpoints.CHECKPOINTS))
def test_every_checkpoint_is_in_the_table_file_and_trainer(name):
    ckpt = checkpoints.CHECKPOINTS[name]
    assert ckpt.path.is_file(), f"{ckpt.path} is missing"
    module, func = ckpt.trainer.split(":")
    assert callable(getattr(importlib.import_module(module), func))
    assert 0 <= ckpt.lab <= 14


def test_checkpoints_load_without_importing_their_trainers():
    """checkpoints.load works in a fresh process that imported nothing else of the package."""
    import subprocess
    import sys

    code = ("import sys; from mlsec_helpers import checkpoints; "
            "checkpoints.load('lab02_robust_digits_cnn'); checkpoints.load('lab05_digits_target');"
            "assert 'mlsec_helpers.evasion' not in sys.modules; "
            "assert 'mlsec_helpers.privacy' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_stray_checkpoint_files():
    files = {p.stem for p in checkpoints.CHECKPOINT_DIR.glob("*.safetensors")}
    assert files == set(checkpoints.CHECKPOINTS)
