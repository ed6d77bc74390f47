"""Lab 07's image domain: who the digit reader fails, measured on the writers' style.

The digit CNN has no "sensitive attribute" in its data; what stands in for writers (children,
people with a tremor, another school's way of writing) is their *style*, measured from the
images themselves:

* :func:`digit_stroke_width` and :func:`digit_slant`: stroke width (pixels) and slant
  (pixels of lean per row, from the image's second moments);
* :func:`digit_style_groups`: quartile labels of a style measure ("thinnest" ... "thickest");
* :func:`digit_accuracy_gap`: the accuracy gap between groups of digits, with fairlearn's
  definition and a bootstrap interval (through :func:`~mlsec_helpers.fairness.disparity`);
* :func:`digit_pen` and :func:`digit_shear`: controlled changes of the same digits (a fine or
  a broad pen, a slant), to test causally what the model relies on;
* :func:`finetune_digits_with_pens`: the mitigation, a short fine-tune of the reference CNN on
  training digits rewritten with random pens (data augmentation).

Introduced in lab 07 (Bias and fairness).
"""

from __future__ import annotations

import copy

import numpy as np
from scipy import ndimage

from ..systems import DigitsCNN, fit_torch_classifier
from ..validate import (
    check_choice,
    check_fraction,
    check_images,
    check_int,
    check_labels,
    check_number,
    check_positive,
    check_seed,
    check_str,
    check_vector,
)
from .common import disparity
from .results import Disparity

__all__ = ["DIGIT_PENS", "digit_accuracy_gap", "digit_pen", "digit_shear", "digit_slant",
           "digit_stroke_width", "digit_style_groups", "finetune_digits_with_pens"]

DIGIT_PENS: dict[str, tuple[str, int]] = {"fine": ("erosion", 2), "broad": ("dilation", 3)}
"""The pens :func:`digit_pen` simulates: a grey-level morphological erosion (fine pen, about
half the ink) or dilation (broad pen, about twice the ink) with a square window of this side.
Introduced in lab 07 (Bias and fairness)."""

_QUARTILE_NAMES = ("Q1 (lowest)", "Q2", "Q3", "Q4 (highest)")


def digit_stroke_width(X) -> np.ndarray:
    """Stroke width of each digit in pixels: twice the inked area over the boundary length
    (pixels above 0.5; a stroke of width w and length L has area w*L and about 2*L boundary
    pixels). Measured from the image alone, so it needs no label about the writer.

    Introduced in lab 07 (Bias and fairness).
    """
    X = check_images(X, "X", min_side=3)
    ink = X[:, 0] > 0.5
    in_plane = np.zeros((3, 3, 3), dtype=bool)
    in_plane[1] = ndimage.generate_binary_structure(2, 1)  # erode each image on its own
    boundary = ink & ~ndimage.binary_erosion(ink, structure=in_plane)
    return 2.0 * ink.sum((1, 2)) / np.maximum(boundary.sum((1, 2)), 1)


def digit_slant(X) -> np.ndarray:
    """Slant of each digit: how many columns its ink moves to the right per row upwards
    (``-mu11 / mu02`` of the grey image's central moments; 0 upright, > 0 leaning right as in
    italics). Images with no ink get 0.

    Introduced in lab 07 (Bias and fairness).
    """
    X = check_images(X, "X").astype(np.float64)[:, 0]
    rows, cols = np.mgrid[: X.shape[1], : X.shape[2]]
    mass = X.sum((1, 2))
    safe = np.where(mass > 0, mass, 1.0)
    r0 = (X * rows).sum((1, 2)) / safe
    c0 = (X * cols).sum((1, 2)) / safe
    dr, dc = rows - r0[:, None, None], cols - c0[:, None, None]
    mu11 = (X * dr * dc).sum((1, 2)) / safe
    mu02 = (X * dr**2).sum((1, 2)) / safe
    return np.where((mass > 0) & (mu02 > 0), -mu11 / np.where(mu02 > 0, mu02, 1.0), 0.0)


def digit_style_groups(values, names=_QUARTILE_NAMES) -> np.ndarray:
    """The quartile (or, with ``k`` names, the k-quantile) of each value, as the names given:
    ``digit_style_groups(digit_stroke_width(X), ("thinnest", "2", "3", "thickest"))``.
    Ties at a cut go to the lower group.

    Introduced in lab 07 (Bias and fairness).
    """
    v = check_vector(values, "values")
    if not isinstance(names, (tuple, list)) or len(names) < 2:
        raise ValueError("names must be a tuple or list of at least two group names")
    names = [check_str(n, "names") for n in names]
    if len(set(names)) != len(names):
        raise ValueError("names must be distinct")
    if len(v) < len(names):
        raise ValueError(f"need at least {len(names)} values for {len(names)} groups")
    cuts = np.quantile(v, np.arange(1, len(names)) / len(names))
    return np.asarray(names, dtype=object)[np.searchsorted(cuts, v, side="left")]


def digit_accuracy_gap(correct, groups, *, n_boot: int = 1000, seed: int = 0,
                       on: str = "") -> Disparity:
    """The accuracy gap (largest minus smallest accuracy across ``groups``, fairlearn's
    ``accuracy_score_difference``) of a 10-class reader, from ``correct``: one 0/1 per digit,
    1 where the prediction was right. With a 95% bootstrap interval (digits resampled within
    each group).

    :func:`~mlsec_helpers.fairness.disparity` takes binary labels; accuracy depends only on
    right or wrong, so it is called with every true label 1 and the prediction ``correct``.

    Introduced in lab 07 (Bias and fairness).
    """
    ok = check_labels(correct, None, "correct", n_classes=2)
    seed = check_seed(seed)
    return disparity("accuracy", np.ones_like(ok), ok, groups, n_boot=n_boot, seed=seed, on=on)


def digit_pen(X, *, pen: str) -> np.ndarray:
    """The same digits rewritten with another pen (:data:`DIGIT_PENS`): ``"fine"`` thins every
    stroke (grey erosion, 2x2), ``"broad"`` thickens it (grey dilation, 3x3). The digit's shape
    and label stay; only the stroke changes, so a change in accuracy is caused by the stroke.

    Introduced in lab 07 (Bias and fairness).
    """
    X = check_images(X, "X", min_side=3)
    pen = check_choice(pen, DIGIT_PENS, "pen")
    op, side = DIGIT_PENS[pen]
    f = ndimage.grey_erosion if op == "erosion" else ndimage.grey_dilation
    return f(X, size=(1, 1, side, side)).astype(np.float32)


def digit_shear(X, *, shear: float) -> np.ndarray:
    """The same digits slanted: each row moves ``shear`` columns to the right per row above
    the image's centre (``shear > 0`` leans right, like italics), bilinear, pixels clipped to
    [0, 1]. ``shear`` lies in [-1, 1].

    Introduced in lab 07 (Bias and fairness).
    """
    X = check_images(X, "X", min_side=3)
    s = check_number(shear, "shear", low=-1.0, high=1.0)
    centre = (X.shape[2] - 1) / 2
    # output (n, r, c) reads input (n, r, c + s * (r - centre)): the bottom shifts left
    matrix = np.array([[1.0, 0, 0], [0, 1, 0], [0, s, 1]])
    out = ndimage.affine_transform(X[:, 0].astype(np.float64), matrix,
                                   offset=(0.0, 0.0, -s * centre), order=1)
    return np.clip(out, 0, 1).astype(np.float32)[:, None]


def finetune_digits_with_pens(system: DigitsCNN, X, y, *, pens=("fine", "broad"),
                              fraction: float = 0.5, epochs: int = 1, lr: float = 5e-4,
                              seed: int = 0) -> DigitsCNN:
    """A copy of the digit CNN ``system`` fine-tuned on (X, y) where a ``fraction`` of the
    digits (drawn with ``seed``) are rewritten with one of ``pens`` (:func:`digit_pen`, drawn
    uniformly): data augmentation, so that the model meets the stroke widths the training
    digits lack. ``system`` is left unchanged. The copy's ``pens_`` lists the pens.

    Introduced in lab 07 (Bias and fairness).
    """
    if not isinstance(system, DigitsCNN) or not getattr(system, "fitted_", False):
        raise ValueError("system must be a fitted DigitsCNN (systems.reference_system('image'))")
    X = check_images(X, "X", min_side=3)
    y = check_labels(y, len(X), "y", n_classes=system.n_classes)
    if isinstance(pens, str) or not pens:
        raise ValueError(f"pens must be a non-empty tuple of pens from {sorted(DIGIT_PENS)}")
    pens = tuple(check_choice(p, DIGIT_PENS, "pen") for p in pens)
    fraction = check_fraction(fraction, "fraction")
    epochs = check_int(epochs, "epochs")
    lr = check_positive(lr, "lr")
    gen = np.random.default_rng(check_seed(seed))
    X_aug = X.copy()
    rewritten = gen.random(len(X)) < fraction
    choice = gen.integers(0, len(pens), size=len(X))
    for k, pen in enumerate(pens):
        rows = np.flatnonzero(rewritten & (choice == k))
        if len(rows):
            X_aug[rows] = digit_pen(X[rows], pen=pen)
    tuned = copy.copy(system)
    tuned.model = copy.deepcopy(system.model)
    tuned.losses_ = fit_torch_classifier(tuned.model, X_aug, y, epochs=epochs, lr=lr,
                                         batch_size=system.batch_size, seed=seed,
                                         progress="digits CNN with pens")
    tuned.pens_ = pens
    return tuned
