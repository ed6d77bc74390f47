import numpy as np
import pytest
import torch

from mlsec_helpers import repro


def test_setup_seeds_and_caps():
    info = repro.setup(3, threads=1)
    assert info["seed"] == 3 and info["threads"] == 1 and torch.get_num_threads() == 1
    a = (np.random.rand(3), torch.rand(3))
    repro.setup(3, threads=1)
    b = (np.random.rand(3), torch.rand(3))
    np.testing.assert_array_equal(a[0], b[0])
    assert torch.equal(a[1], b[1])


def test_bad_input():
    with pytest.raises(TypeError):
        repro.seed_everything("1")
    with pytest.raises(ValueError):
        repro.seed_everything(-2)
    with pytest.raises(ValueError):
        repro.cap_threads(0)


def test_env_threads(monkeypatch):
    monkeypatch.setenv("MLSEC_THREADS", "abc")
    with pytest.raises(ValueError, match="MLSEC_THREADS"):
        repro.default_threads()
    monkeypatch.setenv("MLSEC_THREADS", "2")
    assert repro.default_threads() == 2


def test_device(monkeypatch):
    monkeypatch.setenv("MLSEC_DEVICE", "cpu")
    assert repro.device().type == "cpu"
    monkeypatch.setenv("MLSEC_DEVICE", "tpu")
    with pytest.raises(ValueError):
        repro.device()


def test_generators_are_seeded():
    assert repro.rng(5).integers(1000) == repro.rng(5).integers(1000)
    assert torch.equal(torch.rand(2, generator=repro.torch_generator(1)),
                       torch.rand(2, generator=repro.torch_generator(1)))


def test_seeded_gives_the_seeds_numbers_and_restores_the_callers_state(unchanged_global_state):
    import random

    with repro.seeded(4):
        a = (random.random(), np.random.rand(), torch.rand(1).item())
    with repro.seeded(4):
        b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b
    assert torch.rand(1, generator=torch.Generator().manual_seed(4)).item() == a[2]


def test_seeded_restores_state_on_error():
    before = torch.random.get_rng_state()
    with pytest.raises(ZeroDivisionError), repro.seeded(1):
        torch.rand(5)
        raise ZeroDivisionError
    assert torch.equal(before, torch.random.get_rng_state())


def test_limited_threads_restores_the_callers_caps(unchanged_global_state):
    with repro.limited_threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
    with pytest.raises(ValueError):
        with repro.limited_threads(0):
            pass


def test_deterministic_algorithms_restores_the_callers_setting(unchanged_global_state):
    with repro.deterministic_algorithms():
        assert torch.are_deterministic_algorithms_enabled()


def test_the_seeds_task_overrides_the_labs_seed(monkeypatch):
    monkeypatch.setenv("MLSEC_SEED", "7")
    assert repro.setup(0)["seed"] == 7
    monkeypatch.setenv("MLSEC_SEED", "seven")
    with pytest.raises(ValueError, match="MLSEC_SEED"):
        repro.setup(0)
    monkeypatch.delenv("MLSEC_SEED")
    assert repro.setup(0)["seed"] == 0


def test_the_fixture_tells_a_changed_pool_from_a_newly_loaded_one():
    from conftest import pools_changed

    before = {("openblas", "/lib/a.so"): 1}
    assert not pools_changed(before, {**before, ("openmp", "/lib/b.so"): 2})  # newly loaded
    assert pools_changed(before, {("openblas", "/lib/a.so"): 2})  # a thread count changed
    assert pools_changed(before, {})  # a pool gone
