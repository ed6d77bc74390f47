"""The shared measures of lab 08 (Explainability): patch share, top-k overlap, shift."""

import numpy as np
import pytest

from mlsec_helpers import explain


def test_patch_mass_share_counts_absolute_mass_per_map():
    a = np.zeros((3, 4, 4))
    a[0, :2, :2] = -1.0          # all of map 0 in the patch, negative
    a[1] = 1.0                   # 4 of 16
    mask = np.zeros((4, 4), bool)
    mask[:2, :2] = True
    assert explain.patch_mass_share(a, mask).tolist() == [1.0, 0.25, 0.0]  # map 2: all zero
    with pytest.raises(ValueError):
        explain.patch_mass_share(a, np.zeros((3, 3), bool))


def test_top_k_overlap_and_shift_measure_how_far_an_attribution_moved():
    a = np.array([[5.0, 4, 3, 2, 1], [1, 2, 3, 4, 5]])
    assert explain.top_k_overlap(a, a, 2).tolist() == [1.0, 1.0]
    assert explain.top_k_overlap(a, a[:, ::-1], 2).tolist() == [0.0, 0.0]
    assert explain.attribution_shift(a, a).tolist() == pytest.approx([0.0, 0.0])
    assert explain.attribution_shift(a, a[:, ::-1]).tolist() == pytest.approx([2.0, 2.0])
    assert explain.attribution_shift(a, -a).tolist() == pytest.approx([0.0, 0.0])  # |a|


@pytest.mark.parametrize("call", [
    lambda: explain.top_k_overlap(np.ones((2, 3)), np.ones((2, 4)), 1),
    lambda: explain.top_k_overlap(np.ones((2, 3)), np.ones((2, 3)), 4),
    lambda: explain.attribution_shift(np.ones((2, 1)), np.ones((2, 1))),
    lambda: explain.attribution_shift(np.ones(3), np.ones(3)),
])
def test_bad_input_is_a_clear_error(call):
    with pytest.raises(ValueError):
        call()
