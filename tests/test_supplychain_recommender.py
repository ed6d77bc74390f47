"""Lab 11 recommender: the MF model as safetensors + JSON, tampered with and measured."""

import json
import struct

import numpy as np
import pytest
import torch

from mlsec_helpers import systems
from mlsec_helpers.supplychain import recommender as rc
from mlsec_helpers.supplychain.results import BitFlipEffects, ItemPromotion
from mlsec_helpers.validate import ArgumentTypeError, NotFittedError

N_USERS, N_ITEMS = 12, 40


def _pairs(seed=0):
    rng = np.random.default_rng(seed)
    X = np.array([(u, i) for u in range(N_USERS)
                  for i in rng.choice(N_ITEMS, 8, replace=False)], dtype=np.int64)
    return X, rng.uniform(1, 5, len(X))


@pytest.fixture(scope="module")
def tiny():
    X, y = _pairs()
    return systems.MFRecommender(N_USERS, N_ITEMS, dim=4, epochs=3, seed=0).fit(X, y), X


@pytest.fixture
def folder(tmp_path, tiny):
    return rc.save_mf_folder(tiny[0], tmp_path / "model")


def _hand_built(X):
    """A recommender whose scores are known: item i scores i for every user (bias only)."""
    system = systems.MFRecommender(2, 5, dim=1)
    state = {"P.weight": torch.zeros(2, 1), "Q.weight": torch.zeros(5, 1),
             "bu.weight": torch.zeros(2, 1),
             "bi.weight": torch.tensor([[0.0], [1.0], [2.0], [3.0], [3.0]]),
             "mu": torch.tensor(0.0, dtype=torch.float64)}
    return system.restore(state, X)


# --- the format ---------------------------------------------------------------------------------


def test_round_trip(folder, tiny):
    system, X = tiny
    assert sorted(p.name for p in folder.iterdir()) == [rc.MF_CONFIG_FILE, rc.MF_WEIGHTS_FILE]
    config = json.loads((folder / rc.MF_CONFIG_FILE).read_text())
    assert (config["n_users"], config["n_items"], config["dim"]) == (N_USERS, N_ITEMS, 4)
    back = rc.load_mf_folder(folder, X)
    users = np.arange(N_USERS)
    np.testing.assert_array_equal(back.score(users), system.score(users))
    np.testing.assert_array_equal(rc.top_k_lists(back, 5), rc.top_k_lists(system, 5))


def test_no_pickle_in_the_folder(folder):
    from mlsec_helpers.supplychain.medical import contains_pickle

    assert not any(contains_pickle(p) for p in folder.iterdir())


def test_load_restores_global_state(folder, tiny, unchanged_global_state):
    rc.load_mf_folder(folder, tiny[1])


def test_save_and_load_refuse_bad_input(tmp_path, folder, tiny):
    system, X = tiny
    with pytest.raises(FileExistsError):
        rc.save_mf_folder(system, folder)
    with pytest.raises(ArgumentTypeError):
        rc.save_mf_folder(systems.DiagnosisModel(), tmp_path / "x")
    with pytest.raises(NotFittedError):
        rc.save_mf_folder(systems.MFRecommender(3, 3), tmp_path / "y")
    with pytest.raises(FileNotFoundError):
        rc.load_mf_folder(tmp_path / "nowhere", X)
    config = json.loads((folder / rc.MF_CONFIG_FILE).read_text())
    config["dim"] = 5
    (folder / rc.MF_CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ValueError, match="shape"):
        rc.load_mf_folder(folder, X)
    (folder / rc.MF_CONFIG_FILE).write_text("{}")
    with pytest.raises(ValueError, match="not a recommender config"):
        rc.load_mf_folder(folder, X)


def test_safetensors_data_range(folder, tmp_path):
    path = folder / rc.MF_WEIGHTS_FILE
    with open(path, "rb") as fh:
        n = struct.unpack("<Q", fh.read(8))[0]
    assert rc.safetensors_data_range(path) == (8 + n, path.stat().st_size)
    (tmp_path / "short").write_bytes(b"abc")
    with pytest.raises(ValueError):
        rc.safetensors_data_range(tmp_path / "short")


# --- lists and reach ----------------------------------------------------------------------------


def test_top_k_lists_known_answer():
    X = np.array([[0, 3], [1, 0]])
    system = _hand_built(X)
    lists = rc.top_k_lists(system, k=3)
    # user 0 rated item 3: 4 (tied with 3, absent) first, then 2, 1
    np.testing.assert_array_equal(lists[0], [4, 2, 1])
    # user 1: items 3 and 4 tie at 3, broken by index
    np.testing.assert_array_equal(lists[1], [3, 4, 2])
    with pytest.raises(ValueError):
        rc.top_k_lists(system, k=6)


def test_item_reach_and_obscure_items():
    r = rc.item_reach(np.array([[1, 2], [3, 4], [1, 5], [6, 7]]), 1)
    assert r.value == 0.5 and r.n == 4 and r.low < 0.5 < r.high
    with pytest.raises(ValueError):
        rc.item_reach(np.array([1.0, 2.0]), 1)
    X = np.array([[0, 0], [1, 0], [0, 1], [1, 4]])
    system = _hand_built(X)
    # item 3 is both users' top 1 (ties with 4 broken by index); ratings: 0 twice, 1 and 4 once
    lists = rc.top_k_lists(system, k=1)
    np.testing.assert_array_equal(lists, [[3], [3]])
    np.testing.assert_array_equal(rc.obscure_items(system, lists, max_ratings=1), [1, 4])
    np.testing.assert_array_equal(rc.obscure_items(system, lists, max_ratings=2), [0, 1, 4])


# --- tamperings ---------------------------------------------------------------------------------


def test_promote_item(tmp_path, folder, tiny, unchanged_global_state):
    system, X = tiny
    lists = rc.top_k_lists(system, 3)
    item = int(rc.obscure_items(system, lists, max_ratings=3)[0])
    promo = rc.promote_item(folder, tmp_path / "promoted", item, X, k=3, steps=100)
    assert isinstance(promo, ItemPromotion) and promo.item == item
    assert promo.values_changed <= 5 and promo.n_values == sum(
        n * d for n, d in ((N_USERS, 5), (N_ITEMS, 5))) + 1
    assert promo.in_range and promo.score_gain > 0
    assert promo.file_size == (folder / rc.MF_WEIGHTS_FILE).stat().st_size == (
        tmp_path / "promoted" / rc.MF_WEIGHTS_FILE).stat().st_size
    after = rc.top_k_lists(rc.load_mf_folder(tmp_path / "promoted", X), 3)
    assert rc.item_reach(after, item).value > rc.item_reach(lists, item).value
    again = rc.promote_item(folder, tmp_path / "again", item, X, k=3, steps=100)
    assert again == promo  # deterministic
    assert (tmp_path / "again" / rc.MF_WEIGHTS_FILE).read_bytes() == (
        tmp_path / "promoted" / rc.MF_WEIGHTS_FILE).read_bytes()
    review = rc.weight_review(folder, tmp_path / "promoted")
    assert list(review["tensor"]) == list(rc.MF_TENSORS)
    assert review["values changed"].sum() == promo.values_changed
    same = rc.weight_review(folder, folder)
    assert same["largest change (SDs)"].max() == 0 and same["values changed"].sum() == 0
    with pytest.raises(FileExistsError):
        rc.promote_item(folder, tmp_path / "promoted", item, X)
    with pytest.raises(ValueError):
        rc.promote_item(folder, tmp_path / "z", N_ITEMS, X)


def test_bit_flip_effects(tmp_path, folder, tiny, unchanged_global_state):
    X = tiny[1]
    effects = rc.bit_flip_effects(folder, X, tmp_path / "flips", n=4, seed=1, k=3)
    assert isinstance(effects, BitFlipEffects)
    assert effects.hash_caught.value == 1 and effects.loaded.n == 4
    start, end = rc.safetensors_data_range(folder / rc.MF_WEIGHTS_FILE)
    assert ((effects.offsets >= start) & (effects.offsets < end)).all()
    assert set(effects.tensors) <= set(rc.MF_TENSORS)
    again = rc.bit_flip_effects(folder, X, tmp_path / "flips2", n=4, seed=1, k=3)
    np.testing.assert_array_equal(again.offsets, effects.offsets)
    with pytest.raises(FileExistsError):
        rc.bit_flip_effects(folder, X, tmp_path / "flips", n=2)
    with pytest.raises(ValueError):
        rc.bit_flip_effects(folder, X, tmp_path / "f3", n=0)
