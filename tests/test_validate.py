import numpy as np
import pytest

from mlsec_helpers.validate import ArgumentTypeError, check_int


def test_check_int_accepts_integers():
    assert check_int(3, "n") == 3
    assert check_int(np.int64(0), "n", minimum=0) == 0


@pytest.mark.parametrize("bad", [1.0, "2", None, True])
def test_check_int_rejects_other_types(bad):
    with pytest.raises(TypeError, match="n must be an int"):
        check_int(bad, "n")
    with pytest.raises(ValueError):  # the same error is also a ValueError
        check_int(bad, "n")
    assert issubclass(ArgumentTypeError, TypeError)


def test_check_int_minimum():
    with pytest.raises(ValueError, match="k must be >= 2, got 1"):
        check_int(1, "k", minimum=2)
