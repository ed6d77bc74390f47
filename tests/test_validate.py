import numpy as np
import pytest

from mlsec_helpers import validate as v
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


# --- the shared checks (mlsec_helpers.validate) -------------------------------------------------



def test_unknown_name_lists_choices_and_suggests():
    err = v.unknown_name("imgae", ["image", "nlp"], "domain")
    assert isinstance(err, ValueError)
    assert str(err) == "unknown domain 'imgae'; did you mean 'image'?; known: image, nlp"
    assert "did you mean" not in str(v.unknown_name("zzz", ["image"], "domain"))
    with pytest.raises(ValueError, match="unknown norm 3"):
        v.check_choice(3, ["inf", 2, 1], "norm")
    assert v.check_choice(2, ["inf", 2, 1], "norm") == 2
    with pytest.raises(ValueError, match="unknown x"):
        v.check_choice([1], ["a"], "x")  # unhashable is not a choice either


@pytest.mark.parametrize(("call", "error", "words"), [
    (lambda: v.check_eps(-0.1), ValueError, "eps must be >= 0"),
    (lambda: v.check_eps(float("nan")), ValueError, "finite"),
    (lambda: v.check_eps("0.1"), TypeError, "eps must be a number"),
    (lambda: v.check_eps(True), TypeError, "must be a number"),
    (lambda: v.check_positive(0, "lr"), ValueError, r"lr must be > 0"),
    (lambda: v.check_fraction(1.5, "rate"), ValueError, r"rate must lie in \[0, 1\]"),
    (lambda: v.check_fraction(0.0, "rate", allow_zero=False), ValueError, r"\(0, 1\]"),
    (lambda: v.check_number(5, "p", low=0, high=1, high_open=True), ValueError, r"\[0, 1\)"),
    (lambda: v.check_int(11, "k", minimum=1, maximum=10), ValueError, "k must be >= 1, <= 10"),
    (lambda: v.check_seed(-1), ValueError, "seed must be >= 0"),
    (lambda: v.check_array([[1, np.nan]], "X"), ValueError, "NaN"),
    (lambda: v.check_array([1, 2], "X", ndim=2), ValueError, "2 dimension"),
    (lambda: v.check_array(["a"], "X"), TypeError, "numeric"),
    (lambda: v.check_images(np.zeros((2, 28, 28))), ValueError, r"\(n, 1, H, W\)"),
    (lambda: v.check_images(np.full((1, 1, 4, 4), 2.0)), ValueError, "divide raw"),
    (lambda: v.check_images(np.zeros((1, 1, 3, 3)), min_side=5), ValueError, "at least 5x5"),
    (lambda: v.check_labels([0, 1], 3), ValueError, "3 labels"),
    (lambda: v.check_labels([0.5, 1], 2), TypeError, "integer class labels"),
    (lambda: v.check_labels([0, 3], 2, n_classes=3), ValueError, r"0\.\.2"),
    (lambda: v.check_membership([1, 1]), ValueError, "both members"),
    (lambda: v.check_membership([0, 2]), ValueError, "0/1"),
    (lambda: v.check_proba([[0.5, 0.5]], [2]), ValueError, r"0\.\.1"),
    (lambda: v.check_proba([[2.0, -1.0]], [0]), ValueError, "softmax"),
    (lambda: v.check_vector([[1.0]], "s"), ValueError, "1-D"),
    (lambda: v.check_pairs(np.array([[0, 5]]), 2, 3), ValueError, "item indices"),
    (lambda: v.check_pairs(np.array([[0.0, 1.0]]), 2, 3), ValueError, "integer array"),
    (lambda: v.check_texts("one message"), TypeError, r"wrap it in \[ \]"),
    (lambda: v.check_texts(["a", 3]), TypeError, "strings only"),
    (lambda: v.check_fitted(object()), v.NotFittedError, "not fitted yet"),
])
def test_bad_input_gets_a_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_checks_return_clean_values():
    assert v.check_eps(np.float32(0.25)) == 0.25 and isinstance(v.check_eps(1), float)
    assert v.check_labels(np.array([1.0, 0.0])).dtype == np.int64
    assert v.check_membership([1, 0]).dtype == bool
    import torch

    X = v.check_images(torch.zeros(2, 1, 5, 5))
    assert isinstance(X, np.ndarray) and X.dtype == np.float32
    assert issubclass(v.NotFittedError, RuntimeError) and issubclass(v.NotFittedError, ValueError)


def test_frames_ratings_and_strings():
    import pandas as pd

    frame = pd.DataFrame({"a": [1], "b": [2]})
    assert v.check_frame(frame, ["a"]) is frame
    with pytest.raises(ValueError, match=r"history lacks the columns \['c'\]"):
        v.check_frame(frame, ["a", "c"], "history")
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        v.check_frame({"a": [1]}, ["a"])
    X, y = v.check_ratings(np.array([[0, 1]]), [4.5], 1, 2)
    assert y.dtype == np.float64 and X.dtype == np.int64
    with pytest.raises(ValueError, match="one rating per row"):
        v.check_ratings(np.array([[0, 1]]), [4.5, 3.0], 1, 2)
    assert v.check_str("word", "word") == "word"
    with pytest.raises(TypeError, match="word must be a string"):
        v.check_str(["word"], "word")


def test_check_path_resolves_and_checks_what_kind_of_path(tmp_path, monkeypatch):
    from mlsec_helpers.validate import PathNotFoundError, check_path

    (tmp_path / "f.txt").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert check_path("f.txt") == tmp_path.resolve() / "f.txt"
    assert check_path(tmp_path / "new", "dest") == tmp_path.resolve() / "new"  # may not exist
    assert check_path("f.txt", kind="file").is_file()
    assert check_path(".", kind="dir").is_dir()
    assert check_path("f.txt", kind="exists").exists()
    for value, kind, match in (("missing", "exists", "does not exist"),
                               ("f.txt", "dir", "not a folder"),
                               (".", "file", "not a file")):
        with pytest.raises(PathNotFoundError, match=match) as info:
            check_path(value, "thing", kind=kind)
        assert isinstance(info.value, ValueError) and isinstance(info.value, FileNotFoundError)
    with pytest.raises(TypeError, match="str or a pathlib.Path"):
        check_path(3)
    with pytest.raises(ValueError, match="kind"):
        check_path("f.txt", kind="folder")
