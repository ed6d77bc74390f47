"""Fraud: banks that train one fraud scorer without pooling their customers' transactions.

Introduced in lab 09 (Federated learning). Lab 00's ``FraudScorer`` is gradient-boosted trees,
which FedAvg cannot average (a tree ensemble has no parameter vector whose mean is a model), so
the banks federate a **logistic regression** on the same 23 features, with a public log
transform of the heavy-tailed ones and a standardisation whose statistics the banks compute
together by secure aggregation (nobody sees one bank's sums). The medical section reuses the
logistic clients, the standardisation and the privacy accounting.

What the file holds:

- the clients: :func:`bank_split` (each card belongs to one bank; banks draw their customers
  from the five regions in Dirichlet proportions: non-IID by construction),
  the public log transform (:func:`mlsec_helpers.fraud_sim.log_heavy_tails`),
  :func:`secure_standardiser` (means and standard deviations from securely aggregated sums and
  sums of squares), :func:`logistic_clients` (each client's local training: a few full-batch
  gradient steps of the weighted logistic loss) and :func:`logistic_scores`;
- the quality of a rare-event scorer: :func:`recall_at_alert_rate` (Wilson interval) and
  :func:`pr_auc_interval` (average precision with a bootstrap interval);
- the privacy accounting of DP-FedAvg: :func:`client_dp_epsilon` (opacus's RDP accountant).
"""

from __future__ import annotations

import numpy as np

from ..stats import Rate, proportion
from ..validate import (
    check_fraction,
    check_frame,
    check_int,
    check_labels,
    check_number,
    check_seed,
    check_vector,
)
from .common import dirichlet_split

__all__ = [
    "bank_split",
    "pr_auc_interval",
    "recall_at_alert_rate",
]



# --- the clients -------------------------------------------------------------------------------



def bank_split(frame, n_banks: int, alpha: float, *, seed: int = 0,
               min_customers: int = 20) -> list[np.ndarray]:
    """Deal a fraud frame's transactions to ``n_banks`` banks: each card (``customer_id``)
    belongs to one bank, and each region's customers go to the banks in Dirichlet(``alpha``)
    proportions (:func:`~mlsec_helpers.federated.dirichlet_split` on the customers' regions), so
    banks differ in customers, amounts and fraud rates. Returns one sorted array of row indices
    of ``frame`` per bank.

    Introduced in lab 09 (Federated learning).
    """
    frame = check_frame(frame, ["customer_id", "customer_region"])
    customers, first, rows_of = np.unique(frame["customer_id"].to_numpy(), return_index=True,
                                          return_inverse=True)
    regions = np.unique(frame["customer_region"].astype(str).to_numpy()[first],
                        return_inverse=True)[1]
    parts = dirichlet_split(regions, n_banks, alpha, seed=seed, min_size=min_customers)
    bank_of = np.empty(len(customers), dtype=int)
    for bank, part in enumerate(parts):
        bank_of[part] = bank
    row_bank = bank_of[rows_of]
    return [np.flatnonzero(row_bank == bank) for bank in range(len(parts))]






def recall_at_alert_rate(y_true, scores, alert_rate: float = 0.01, *, on: str = "") -> Rate:
    """The share of frauds among the ``alert_rate`` share of highest-scored transactions (the
    bank reviews that many alerts), with its Wilson interval over the frauds. Ties at the
    threshold count as alerts.

    Introduced in lab 09 (Federated learning).
    """
    s = check_vector(scores, "scores")
    y = check_labels(y_true, len(s), "y_true", n_classes=2)
    alert_rate = check_fraction(alert_rate, "alert_rate", allow_zero=False)
    if y.sum() == 0:
        raise ValueError("y_true has no positive case: recall is undefined")
    n_alerts = max(1, int(round(alert_rate * len(s))))
    threshold = np.sort(s)[::-1][n_alerts - 1]
    return proportion(np.asarray(s[y == 1] >= threshold, dtype=int), on=on)


def _average_precision(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Average precision (scikit-learn's definition: the sum over thresholds of the recall
    increase times the precision) from counts per block, blocks in decreasing score order:
    ``pos[:, b]`` positives at the b-th tied score that holds positives, ``neg[:, b]`` the
    negatives scored above it since the previous block or tied with it. One row per resample."""
    tp = np.cumsum(pos, axis=1)
    seen = np.cumsum(pos + neg, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos / tp[:, -1:] * tp / seen).sum(axis=1)


def pr_auc_interval(y_true, scores, *, on: str = "", n_boot: int = 1000, seed: int = 0,
                    confidence: float = 0.95) -> Rate:
    """The area under the precision-recall curve (average precision, as scikit-learn's
    ``average_precision_score``) with a percentile bootstrap interval over the cases
    (``n_boot`` resamples drawn from ``numpy.random.default_rng(seed)``). For a rare positive
    class it says more than the ROC AUC: chance is the positive rate, not 0.5.

    Written here: scikit-learn has no bootstrap, and ``scipy.stats.bootstrap`` would call the
    metric once per resample on all rows. Average precision depends only on how many
    positives share each score and how many negatives lie between them, so a resample is a
    multinomial draw over those few blocks (about twice the number of positives), exactly.

    Introduced in lab 09 (Federated learning).
    """
    s = check_vector(scores, "scores")
    y = check_labels(y_true, len(s), "y_true", n_classes=2)
    if y.sum() == 0:
        raise ValueError("y_true has no positive case: average precision is undefined")
    n_boot = check_int(n_boot, "n_boot", minimum=10)
    confidence = check_number(confidence, "confidence", low=0.0, high=1.0, low_open=True,
                              high_open=True)
    order = np.argsort(-s, kind="stable")
    group = np.r_[0, np.cumsum(np.diff(s[order]) != 0)]  # tied scores share a group
    pos_g = np.bincount(group, weights=y[order]).astype(np.int64)
    size_g = np.bincount(group)
    blocks = np.flatnonzero(pos_g > 0)
    neg_cum = np.cumsum(size_g - pos_g)[blocks]  # negatives scored at or above each block
    pos = pos_g[blocks]
    neg = np.diff(np.r_[0, neg_cum])
    rest = len(s) - pos.sum() - neg.sum()  # negatives below the last positive
    value = float(_average_precision(pos[None].astype(float), neg[None].astype(float))[0])
    gen = np.random.default_rng(check_seed(seed))
    probs = np.r_[pos, neg, rest] / len(s)
    draws = gen.multinomial(len(s), probs, size=n_boot).astype(np.float64)
    boots = _average_precision(draws[:, :len(pos)], draws[:, len(pos):2 * len(pos)])
    boots = boots[np.isfinite(boots)]  # a resample without positives has no AP
    tail = (1 - confidence) / 2
    return Rate(value, float(np.quantile(boots, tail)), float(np.quantile(boots, 1 - tail)),
                len(s), on, confidence)


# --- privacy accounting ------------------------------------------------------------------------
