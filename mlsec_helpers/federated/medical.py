"""Medical: hospitals that train the diagnosis aid together, and what one update tells the server.

Introduced in lab 09 (Federated learning). Lab 00's ``DiagnosisModel`` is a standardised
logistic regression, which federates as it is: the hospitals agree the standardisation by
secure aggregation of their sums and sums of squares
(:func:`~mlsec_helpers.federated.fraud.secure_standardiser`) and train the weights with FedAvg
(:func:`~mlsec_helpers.federated.fraud.logistic_clients`). A hospital's update is not anonymous
data: its bias coordinate moves with the hospital's share of malignant cases, which a server
that sees the update reads; secure aggregation shows it only the sum.

What the file holds:

- the server's inference of a hospital's case mix from its update: :func:`shadow_clients`
  (clients the server simulates at known shares, from labelled data of its own),
  :func:`infer_case_mix` (a linear map from the bias update to the share, fitted on the
  shadow clients) and :func:`case_mix_leak` (how well it works: error, and how often it orders
  two hospitals right);
- what the server sees under secure aggregation: :func:`masked_coordinate` (one coordinate of
  a masked update, decoded as the server would).
"""

from __future__ import annotations

import numpy as np

from ..stats import proportion
from ..validate import (
    check_array,
    check_int,
    check_labels,
    check_seed,
    check_vector,
)
from .results import CaseMixInference

__all__ = [
    "case_mix_leak",
    "infer_case_mix",
    "masked_coordinate",
    "shadow_clients",
]


def shadow_clients(X, y, shares, size: int, *, seed: int = 0
                   ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Clients that the server simulates: for each share in ``shares``, ``size`` rows drawn
    with replacement from the labelled data ``(X, y)`` of its own, ``round(share * size)`` of
    them positive. Returns ``(parts_X, parts_y)`` as
    :func:`~mlsec_helpers.federated.fraud.logistic_clients` takes them.

    Introduced in lab 09 (Federated learning).
    """
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    y = check_labels(y, len(X), "y", n_classes=2)
    shares = check_vector(shares, "shares")
    if len(shares) < 2 or shares.min() < 0 or shares.max() > 1:
        raise ValueError("shares must hold at least 2 values in [0, 1]")
    size = check_int(size, "size", minimum=2)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("the server's data must hold both classes")
    gen = np.random.default_rng(check_seed(seed))
    parts_X, parts_y = [], []
    for share in shares:
        k = int(round(share * size))
        rows = np.r_[gen.choice(pos, k), gen.choice(neg, size - k)].astype(int)
        parts_X.append(X[rows])
        parts_y.append(y[rows])
    return parts_X, parts_y


def infer_case_mix(bias_updates, shadow_bias_updates, shadow_shares) -> np.ndarray:
    """The server's estimate of each client's share of positive cases from the bias
    coordinate of its update: a least-squares line ``share = a + b * update`` fitted on shadow
    clients (same global model, same local training, known shares: :func:`shadow_clients`),
    applied to the observed updates and clipped to [0, 1]. With one gradient step from a model
    that predicts 0.5 everywhere the line is exact: the bias moves by ``lr * (share - 0.5)``.

    Introduced in lab 09 (Federated learning).
    """
    observed = check_vector(bias_updates, "bias_updates")
    shadow = check_vector(shadow_bias_updates, "shadow_bias_updates")
    shares = check_vector(shadow_shares, "shadow_shares")
    if len(shadow) != len(shares) or len(shadow) < 2:
        raise ValueError("shadow_bias_updates and shadow_shares need the same length (>= 2)")
    if np.ptp(shadow) == 0:
        raise ValueError("the shadow updates are all equal: nothing to fit")
    slope, intercept = np.polyfit(shadow, shares, 1)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.clip(intercept + slope * observed, 0.0, 1.0)


def case_mix_leak(estimated, true, rounds, *, seed: int = 0) -> CaseMixInference:
    """How well the server reads the clients' case mix: the mean absolute error of the
    estimates, that of guessing the mean share for everyone, and the share of pairs of
    clients *of the same round* (``rounds`` gives each estimate's round) with different true
    shares that the estimates order right, with its Wilson interval. Chance is 0.5: a tie of
    the estimates (two clipped to 1, say) is settled by a coin drawn from ``seed``.

    Introduced in lab 09 (Federated learning).
    """
    est = check_vector(estimated, "estimated")
    tru = check_vector(true, "true")
    rnd = check_vector(rounds, "rounds", dtype=np.int64)
    if not len(est) == len(tru) == len(rnd) or len(est) < 2:
        raise ValueError("estimated, true and rounds need the same length (>= 2)")
    gen = np.random.default_rng(check_seed(seed))
    right = []
    for r in np.unique(rnd):
        i, j = np.triu_indices(int((rnd == r).sum()), k=1)
        e, t = est[rnd == r], tru[rnd == r]
        keep = t[i] != t[j]
        i, j = i[keep], j[keep]
        guess = np.sign(e[i] - e[j])
        guess[guess == 0] = gen.choice([-1.0, 1.0], int((guess == 0).sum()))
        right.extend((guess == np.sign(t[i] - t[j])).astype(int))
    if not right:
        raise ValueError("no round holds two clients with different true shares")
    return CaseMixInference(
        estimated=est, true=tru, mae=float(np.abs(est - tru).mean()),
        baseline_mae=float(np.abs(tru.mean() - tru).mean()),
        order_accuracy=proportion(np.asarray(right), on=f"{len(right)} pairs of clients"))


def masked_coordinate(masked, column: int, *, frac_bits: int = 24) -> np.ndarray:
    """One coordinate of each masked update (``SecureAggregation.masked``, uint64) decoded as
    the fixed-point number it would be without a mask: what a server that applies an attack
    to a single masked update reads. The mask makes it uniform over the whole range.

    Introduced in lab 09 (Federated learning).
    """
    masked = np.asarray(masked)
    if masked.ndim != 2 or masked.dtype != np.uint64:
        raise ValueError("masked must be the (clients, dim) uint64 array of a secure "
                         "aggregation")
    column = check_int(column, "column", minimum=-masked.shape[1], maximum=masked.shape[1] - 1)
    frac_bits = check_int(frac_bits, "frac_bits")
    return masked[:, column].view(np.int64) / 2.0**frac_bits
