"""Medical: breast-cancer diagnosis on patient records the model server never sees in clear.

Introduced in lab 10 (Secure computation). The diagnosis aid of lab 00 is a standardised
logistic regression on the 30 WDBC measurements; :func:`folded_linear_model` folds the scaler
into the weights, so the server holds the whole model as one weight vector and a bias and the
hospital sends raw measurements, encrypted (CKKS, :mod:`.common`) or secret-shared (three
parties, :mod:`.common`).

What the file holds:

- the model as a linear score: :func:`folded_linear_model`;
- the encrypted sigmoid and its range pitfall: :func:`polynomial_sigmoid_study` runs the
  textbook polynomial on raw logits, the same on logits scaled into its range, and a
  least-squares fit over the observed logit range, all under encryption;
- what a curious party learns from its shares: :func:`coalition_views` (1, 2 or all of the
  parties pool their shares and try to read the records and predict the diagnosis) and
  :func:`share_distribution_test` (a party's share has the same distribution whatever the
  secret).
"""

from __future__ import annotations

import numpy as np

from ..stats import proportion
from ..validate import (
    ArgumentTypeError,
    check_array,
    check_int,
    check_labels,
    check_number,
    check_seed,
)
from .common import (
    TEXTBOOK_SIGMOID_COEFFS,
    TEXTBOOK_SIGMOID_RANGE,
    encrypted_sigmoid_scores,
    fit_sigmoid_poly,
    reconstruct,
    share,
    sigmoid,
)
from .results import CoalitionView, FoldedLinear, PolySigmoidResult, ShareDistributionTest

__all__ = [
    "coalition_views",
    "folded_linear_model",
    "polynomial_sigmoid_study",
    "share_distribution_test",
]


def folded_linear_model(system) -> FoldedLinear:
    """The diagnosis model as one linear score on raw measurements: for lab 00's pipeline
    (``StandardScaler`` then ``LogisticRegression``), ``w = coef / scale`` and
    ``b = intercept - sum(coef * mean / scale)``, so ``X @ w + b`` is the model's logit
    (``decision_function``) and ``sigmoid`` of it the probability of malignancy.

    Introduced in lab 10 (Secure computation).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    est = getattr(system, "estimator", None)
    if not (isinstance(est, Pipeline) and len(est.steps) == 2
            and isinstance(est.steps[0][1], StandardScaler)
            and isinstance(est.steps[1][1], LogisticRegression)):
        raise ArgumentTypeError("system must be lab 00's medical reference system (a scaled "
                                f"logistic regression), got {type(system).__name__}")
    if not getattr(system, "fitted_", False):
        raise ValueError("system is not fitted: train it first (systems.train_baseline)")
    scaler, lr = est.steps[0][1], est.steps[1][1]
    if lr.coef_.shape[0] != 1:
        raise ValueError("the diagnosis model must be binary (one weight vector)")
    coef = lr.coef_[0]
    w = coef / scaler.scale_
    b = float(lr.intercept_[0] - np.sum(coef * scaler.mean_ / scaler.scale_))
    return FoldedLinear(w=w, b=b)


def _logits_range(logits) -> float:
    z = check_array(logits, "fit_logits", ndim=1, dtype=np.float64)
    if len(z) == 0:
        raise ValueError("fit_logits must hold at least one logit")
    return float(np.abs(z).max())


def polynomial_sigmoid_study(context, X, y, w, b, *, fit_logits) -> tuple[PolySigmoidResult, ...]:
    """The encrypted sigmoid's range pitfall, measured: the server evaluates a degree-3
    polynomial on the encrypted logit of each row of ``X`` (packed) and the client decrypts a
    probability. Three variants:

    - ``"textbook, raw logits"``: :data:`TEXTBOOK_SIGMOID_COEFFS` on the logits as they are;
    - ``"textbook, scaled logits"``: the same polynomial on ``z / s``, with ``s`` chosen so the
      largest ``|z|`` of ``fit_logits`` lands on the edge of :data:`TEXTBOOK_SIGMOID_RANGE`
      (the division is folded into the weights);
    - ``"least squares on the logit range"``: a degree-3 least-squares fit of the sigmoid on
      ``[-m, m]``, ``m`` the largest ``|z|`` of ``fit_logits``.

    ``fit_logits`` are logits the model owner knows (its training set's), never the test
    rows'. ``context`` needs three levels after encryption (see
    :func:`~.common.encrypted_sigmoid_scores`). Each result has the accuracy against ``y`` and
    the agreement with the plaintext model's decisions (Wilson intervals), the largest error of
    the decrypted probability against the exact sigmoid (the approximation's error) and against
    the same polynomial in plaintext (the encryption's error), and the time per row.

    Introduced in lab 10 (Secure computation).
    """
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    y = check_labels(y, len(X))
    w = check_array(w, "w", ndim=1, dtype=np.float64)
    b = check_number(b, "b")
    m = _logits_range(fit_logits)
    z = X @ w + b
    plain = z > 0
    edge = TEXTBOOK_SIGMOID_RANGE[1]
    variants = (
        ("textbook, raw logits", np.asarray(TEXTBOOK_SIGMOID_COEFFS), 1.0),
        ("textbook, scaled logits", np.asarray(TEXTBOOK_SIGMOID_COEFFS), max(m / edge, 1.0)),
        ("least squares on the logit range", fit_sigmoid_poly(3, -m, m), 1.0),
    )
    on = f"{len(X)} test patients"
    out = []
    for name, coeffs, scale in variants:
        r = encrypted_sigmoid_scores(context, X, w, b, coeffs, logit_scale=scale)
        decided = r.probabilities > 0.5
        out.append(PolySigmoidResult(
            name=name, coeffs=np.asarray(coeffs, dtype=np.float64), logit_scale=scale,
            probabilities=r.probabilities,
            accuracy=proportion(decided == y.astype(bool), on=on),
            agreement=proportion(decided == plain, on=on),
            max_abs_error=float(np.abs(r.probabilities - sigmoid(z)).max()),
            he_error=float(np.abs(r.probabilities
                                  - np.polynomial.polynomial.polyval(z / scale, coeffs)).max()),
            outside_range=proportion(np.abs(z / scale) > edge, on=on),
            ms_per_row=r.ms_per_row, bytes_per_row=r.bytes_per_row))
    return tuple(out)


def _coalition_values(shares: np.ndarray, k: int) -> np.ndarray:
    """What ``k`` pooled parties can compute from their shares: the sum of theirs modulo 2^64,
    read as a signed fixed-point number (all parties: the secret itself)."""
    if k == len(shares):
        return reconstruct(shares)
    pooled = shares[:k].sum(axis=0, dtype=np.uint64)
    return pooled.view(np.int64).astype(np.float64) / 2.0 ** 63  # uniform on [-1, 1) if blind


def _cv_accuracy(V, y, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    return cross_val_predict(model, V, y, cv=folds) == y


def coalition_views(X, y, *, seed: int, n_parties: int = 3) -> tuple[CoalitionView, ...]:
    """What a coalition of curious parties learns from the shares of the records ``X``, for
    coalitions of 1, 2, ... ``n_parties`` parties (who know the protocol and pool everything
    they hold). Each pools its shares (sum modulo 2^64) and (1) correlates the result with the
    true measurements, feature by feature, and (2) trains a classifier on it to predict the
    diagnosis ``y`` (5-fold cross-validation, logistic regression): an attacker who learns
    nothing does no better than always guessing the majority class.

    Introduced in lab 10 (Secure computation).
    """
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    y = check_labels(y, len(X))
    seed = check_seed(seed)
    n_parties = check_int(n_parties, "n_parties", minimum=2)
    if len(X) < 10 or len(np.unique(y)) < 2:
        raise ValueError("coalition_views needs at least 10 records of both classes")
    shares = share(X, n_parties, seed=seed)
    on = f"{len(X)} patients (5-fold cross-validation)"
    majority = float(max(np.mean(y), 1 - np.mean(y)))
    out = []
    for k in range(1, n_parties + 1):
        V = _coalition_values(shares, k)
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.array([np.corrcoef(V[:, j], X[:, j])[0, 1] for j in range(X.shape[1])])
        corr = np.nan_to_num(corr)
        exact = np.abs(V - X) <= 2.0 ** -20
        out.append(CoalitionView(
            parties=k, mean_abs_corr=float(np.mean(np.abs(corr))),
            max_abs_corr=float(np.max(np.abs(corr))), exact_share=float(exact.mean()),
            diagnosis_accuracy=proportion(_cv_accuracy(V, y, seed), on=on),
            majority_rate=majority))
    return tuple(out)


def share_distribution_test(secret_a: float, secret_b: float, *, n_draws: int = 20000,
                            seed: int, n_parties: int = 3) -> ShareDistributionTest:
    """Does one party's share depend on the secret? Shares ``secret_a`` and ``secret_b`` each
    ``n_draws`` times and, for every party, compares the distributions of its share (as a
    number in [0, 1): share / 2^64) for the two secrets with a two-sample Kolmogorov-Smirnov
    test, and each with the uniform distribution. Large p-values: no evidence that the share
    carries the secret.

    Introduced in lab 10 (Secure computation).
    """
    from scipy.stats import ks_2samp, kstest

    a = check_number(secret_a, "secret_a")
    b = check_number(secret_b, "secret_b")
    n_draws = check_int(n_draws, "n_draws", minimum=100)
    seed = check_seed(seed)
    n_parties = check_int(n_parties, "n_parties", minimum=2)
    sa = share(np.full(n_draws, a), n_parties, seed=seed).astype(np.float64) / 2.0 ** 64
    sb = share(np.full(n_draws, b), n_parties, seed=seed + 1).astype(np.float64) / 2.0 ** 64
    between = tuple(float(ks_2samp(sa[i], sb[i]).pvalue) for i in range(n_parties))
    uniform = tuple(float(kstest(sa[i], "uniform").pvalue) for i in range(n_parties))
    return ShareDistributionTest(secret_a=a, secret_b=b, n_draws=n_draws,
                                 p_same_distribution=between, p_uniform=uniform)
