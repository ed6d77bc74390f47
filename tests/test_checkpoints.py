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
    monkeypatch.setitem(checkpoints.CHECKPOINTS, "tiny", checkpoints.Checkpoint(
        "tiny", "0" * 64, f"{__name__}:tiny_trainer", "a test checkpoint"))
    digest = checkpoints.retrain("tiny")
    monkeypatch.setitem(checkpoints.CHECKPOINTS, "tiny", checkpoints.register(
        "tiny", digest, f"{__name__}:tiny_trainer", "a test checkpoint"))
    return checkpoints.CHECKPOINTS["tiny"]


def test_retrain_is_deterministic_and_loads(ckpt):
    assert checkpoints.retrain("tiny", write=False) == ckpt.sha256
    tensors = checkpoints.load("tiny")
    assert torch.equal(tensors["weight"], tiny_trainer()["weight"])


def test_tampered_checkpoint_is_refused(ckpt):
    data = bytearray(ckpt.path.read_bytes())
    data[-1] ^= 0xFF
    ckpt.path.write_bytes(bytes(data))
    with pytest.raises(DataIntegrityError, match="does not match the registry.*retrain"):
        checkpoints.load("tiny")


def test_missing_checkpoint_and_unknown_name(ckpt):
    ckpt.path.unlink()
    with pytest.raises(DataIntegrityError, match="not found"):
        checkpoints.load("tiny")
    with pytest.raises(ValueError, match="unknown checkpoint"):
        checkpoints.load("nope")


def test_register_validates():
    with pytest.raises(ValueError):
        checkpoints.register("bad name!", "0" * 64, "m:f", "")
    with pytest.raises(ValueError):
        checkpoints.register("ok", "abc", "m:f", "")
