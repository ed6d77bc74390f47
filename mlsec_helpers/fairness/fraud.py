"""Fraud and credit (lab 07): who is wrongly denied a mortgage, who is wrongly blocked.

- Credit, on HMDA (Boston mortgage applications, 1990; race in ``sensitive_*``, not in ``X``):
  :func:`credit_decisions` fits a logistic regression and fairlearn's ``ExponentiatedGradient``
  under a demographic-parity constraint on one split and returns both sets of decisions;
  :func:`credit_parity_over_splits` repeats it over several splits (a table: accuracy,
  demographic-parity and equalised-odds gaps before and after).
- Fraud, on the simulator: :func:`fraud_review_decisions` trains lab 00's ``FraudScorer`` on the
  first days of the training period, sets the bank's review threshold (the score that sends a
  share ``budget`` of transactions to review) on the last days, and a per-group threshold that
  gives every customer group the same false-positive rate there; it returns the flags of both on
  the validation days and on the test period; :func:`fpr_gap_noise_floor` says how large a
  false-positive-rate gap between groups of these sizes is from chance alone.
- Figures: :func:`credit_rates_figure` and :func:`fraud_review_figure` (rates per group with
  Wilson intervals).

Introduced in lab 07 (Bias and fairness).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .. import repro
from ..validate import check_choice, check_int, check_labels, check_number, check_seed
from .results import CreditDecisions, FraudReview

__all__ = [
    "CREDIT_SPLITS",
    "FRAUD_GROUPINGS",
    "credit_decisions",
    "credit_parity_over_splits",
    "credit_rates_figure",
    "fraud_review_decisions",
    "fraud_review_figure",
    "fpr_gap_noise_floor",
]

CREDIT_SPLITS: tuple[int, ...] = (0, 1, 2, 3, 4)
"""The HMDA split seeds the lab averages over (the issue's check is a mean over splits).
Introduced in lab 07 (Bias and fairness)."""

FRAUD_GROUPINGS: tuple[str, ...] = ("customer_region", "age_band")
"""The customer groups :func:`fraud_review_decisions` compares: the simulator's region, or the
age band of lab 06 (18-29, 30-44, 45-59, 60+). Neither is a model feature.
Introduced in lab 07 (Bias and fairness)."""

_AGE_EDGES = (30, 45, 60)
_AGE_LABELS = np.array(["18-29", "30-44", "45-59", "60+"], dtype=object)


def _credit_model():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def credit_decisions(split: int = 0, *, difference_bound: float = 0.03,
                     seed: int = 0) -> CreditDecisions:
    """Denials of HMDA's test applications (split ``split``) by an unaware logistic regression
    (race is not an input) and by fairlearn's ``ExponentiatedGradient`` around the same model
    under ``DemographicParity(difference_bound)``: the denial rates of black and other
    applicants may differ by at most ``difference_bound`` on the training applications.

    ``ExponentiatedGradient`` returns a randomised classifier (a mixture of logistic
    regressions); its test decisions are drawn with ``seed``. Race is given to it only at
    training time, as fairlearn's reductions need; the mitigated model does not take race as
    an input either.

    Introduced in lab 07 (Bias and fairness).
    """
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient

    from ..data import load_dataset

    split = check_seed(split)
    difference_bound = check_number(difference_bound, "difference_bound", low=0.0, high=1.0,
                                    low_open=True)
    seed = check_seed(seed)
    d = load_dataset("hmda", seed=split)
    afam_train = d.sensitive_train["afam"].to_numpy()
    with repro.seeded(seed), repro.limited_threads(1), warnings.catch_warnings():
        # fairlearn 0.15.0 writes new keys with Series.at and sets bools into a float Series,
        # which pandas 3 deprecates (Pandas4Warnings at every iteration); results unaffected
        for message in ("Setting a value on a Series via .at",
                        "Setting an item of incompatible dtype"):
            warnings.filterwarnings("ignore", message=message)
        before = _credit_model().fit(d.X_train, d.y_train).predict(d.X_test)
        mitigator = ExponentiatedGradient(
            _credit_model(), DemographicParity(difference_bound=difference_bound),
            # a Pipeline takes sample weights per step: fairlearn's default name
            # ("sample_weight") makes Pipeline.fit raise ValueError
            sample_weight_name="logisticregression__sample_weight")
        mitigator.fit(d.X_train, d.y_train, sensitive_features=afam_train)
        after = mitigator.predict(d.X_test, random_state=seed)
    y = d.y_test
    return CreditDecisions(
        y_true=y, afam=d.sensitive_test["afam"].to_numpy(), before=before.astype(np.int64),
        after=np.asarray(after, dtype=np.int64), accuracy_before=float(np.mean(before == y)),
        accuracy_after=float(np.mean(after == y)), split=split,
        difference_bound=difference_bound,
        on=f"{len(y)} HMDA test applications (split {split})")


def credit_parity_over_splits(splits=CREDIT_SPLITS, *, difference_bound: float = 0.03,
                              seed: int = 0) -> pd.DataFrame:
    """:func:`credit_decisions` on each split of ``splits``: one row per split with the test
    accuracy and fairlearn's demographic-parity and equalised-odds differences (across
    ``afam``) before and after the mitigation.

    Introduced in lab 07 (Bias and fairness).
    """
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
    from tqdm.auto import tqdm

    if isinstance(splits, (str, bytes)) or not hasattr(splits, "__iter__"):
        raise ValueError(f"splits must be a sequence of split seeds, got {splits!r}")
    splits = [check_seed(s) for s in splits]
    if not splits or len(set(splits)) != len(splits):
        raise ValueError(f"splits must be distinct split seeds, at least one, got {splits}")
    rows = []
    for split in tqdm(splits, desc="HMDA splits", leave=False):
        r = credit_decisions(split, difference_bound=difference_bound, seed=seed)
        row = {"split": split, "accuracy before": r.accuracy_before,
               "accuracy after": r.accuracy_after}
        for name, gap in (("parity", demographic_parity_difference),
                          ("equalised odds", equalized_odds_difference)):
            for when, pred in (("before", r.before), ("after", r.after)):
                row[f"{name} {when}"] = float(gap(r.y_true, pred, sensitive_features=r.afam))
        rows.append(row)
    return pd.DataFrame(rows).set_index("split")


def _groups_of(sensitive: pd.DataFrame, grouping: str) -> np.ndarray:
    if grouping == "customer_region":
        return sensitive["customer_region"].astype(str).to_numpy(dtype=object)
    return _AGE_LABELS[np.searchsorted(_AGE_EDGES, sensitive["customer_age"].to_numpy(),
                                       side="right")]


def fraud_review_decisions(*, grouping: str = "customer_region", budget: float = 0.10,
                           validation_fraction: float = 0.25, seed: int = 0) -> FraudReview:
    """Which legitimate transactions the bank holds for review, by customer group, with one
    threshold and with a threshold per group.

    Lab 00's ``FraudScorer`` (seed ``seed``) is trained on the first days of the fraud data's
    training period; the last ``validation_fraction`` of its days set the thresholds: the
    bank's (the score above which a share ``budget`` of transactions is reviewed) and one per
    group of ``grouping`` (:data:`FRAUD_GROUPINGS`) that gives the group's legitimate
    transactions the false-positive rate the bank's threshold has on all of them. Both are
    applied to the validation days and to the test period (the next days).

    Written by hand: fairlearn's ``ThresholdOptimizer`` (with
    ``constraints="false_positive_rate_parity"``) picks each group's threshold to maximise an
    objective (accuracy, balanced accuracy, ...), not to hold the bank's review budget; with
    1% frauds the accuracy it maximises is best when nothing is reviewed.

    Introduced in lab 07 (Bias and fairness).
    """
    from ..data import load_dataset
    from ..systems import FraudScorer

    grouping = check_choice(grouping, FRAUD_GROUPINGS, "grouping")
    budget = check_number(budget, "budget", low=0.0, high=1.0, low_open=True, high_open=True)
    validation_fraction = check_number(validation_fraction, "validation_fraction", low=0.0,
                                       high=0.5, low_open=True)
    seed = check_seed(seed)
    d = load_dataset("fraud", seed=0)
    day = d.frame_train["day"].to_numpy()
    days = np.unique(day)
    first_validation_day = days[int(round(len(days) * (1 - validation_fraction)))]
    fit, val = day < first_validation_day, day >= first_validation_day
    with repro.seeded(seed), repro.limited_threads(1):
        scorer = FraudScorer(seed=seed).fit(d.X_train[fit], d.y_train[fit])
        s_val = scorer.predict_proba(d.X_train[val])[:, 1]
        s_test = scorer.predict_proba(d.X_test)[:, 1]
    y_val, y_test = d.y_train[val], d.y_test
    g_val = _groups_of(d.sensitive_train, grouping)[val]
    g_test = _groups_of(d.sensitive_test, grouping)
    threshold = float(np.quantile(s_val, 1 - budget))
    target_fpr = float(np.mean(s_val[y_val == 0] >= threshold))
    per_group = {str(v): float(np.quantile(s_val[(g_val == v) & (y_val == 0)], 1 - target_fpr))
                 for v in np.unique(g_val)}

    def flags(scores, groups):
        own = np.array([per_group[str(v)] for v in groups])
        return (scores >= threshold).astype(np.int64), (scores >= own).astype(np.int64)

    val_before, val_after = flags(s_val, g_val)
    test_before, test_after = flags(s_test, g_test)
    n_val_days, n_test_days = int(len(np.unique(day[val]))), int(d.frame_test["day"].nunique())
    return FraudReview(
        grouping=grouping, budget=budget, threshold=threshold, group_thresholds=per_group,
        target_fpr=target_fpr, y_validation=y_val, groups_validation=g_val,
        flagged_validation_before=val_before, flagged_validation_after=val_after,
        y_test=y_test, groups_test=g_test, flagged_before=test_before, flagged_after=test_after,
        on_validation=f"{len(y_val):,} transactions of the last {n_val_days} training days",
        on_test=f"{len(y_test):,} test-period transactions ({n_test_days} days)")


def fpr_gap_noise_floor(y_true, flagged, groups, *, n_permutations: int = 200,
                        seed: int = 0) -> float:
    """The 95th percentile of the false-positive-rate gap (largest minus smallest group) when
    the group labels of the legitimate rows are shuffled: how large a gap groups of these sizes
    show by chance alone. A measured gap below it is no evidence of a disparity; the bootstrap
    interval of a largest-minus-smallest gap does not say this (with several groups it sits
    above zero even when the groups do not differ).

    Written by hand: fairlearn has no permutation test.

    Introduced in lab 07 (Bias and fairness).
    """
    y_true = check_labels(y_true, None, "y_true", n_classes=2)
    flagged = check_labels(flagged, len(y_true), "flagged", n_classes=2)
    g = np.asarray(groups)
    if g.ndim != 1 or len(g) != len(y_true):
        raise ValueError(f"groups must be 1-D with one entry per row ({len(y_true)}), "
                         f"got shape {g.shape}")
    n_permutations = check_int(n_permutations, "n_permutations", 20)
    legit = y_true == 0
    values, codes = np.unique(g[legit], return_inverse=True)
    if len(values) < 2:
        raise ValueError("groups must hold at least two groups among the legitimate rows")
    held = flagged[legit].astype(np.float64)
    sizes = np.bincount(codes, minlength=len(values))
    gen = np.random.default_rng(seed)
    gaps = np.empty(n_permutations)
    for k in range(n_permutations):
        rates = np.bincount(gen.permutation(codes), weights=held,
                            minlength=len(values)) / sizes
        gaps[k] = rates.max() - rates.min()
    return float(np.quantile(gaps, 0.95))


def _rate_bars(fig, name, groups, hits, totals, color):
    from ..stats import proportion

    rates = [proportion(int(h), int(n)) for h, n in zip(hits, totals, strict=True)]
    fig.add_bar(name=name, x=list(groups), y=[r.value for r in rates], marker_color=color,
                error_y=dict(type="data", symmetric=False,
                             array=[r.high - r.value for r in rates],
                             arrayminus=[r.value - r.low for r in rates]),
                text=[f"{r.value:.1%}" for r in rates], textposition="auto")


def credit_rates_figure(decisions: CreditDecisions, *, title: str | None = None):
    """Bars per race: the lender's denial rate, the model's, the mitigated model's, and the
    share of the applications the lender approved that each model denies (wrongly denied),
    with 95% Wilson intervals.

    Introduced in lab 07 (Bias and fairness).
    """
    import plotly.graph_objects as go

    from .. import plots

    if not isinstance(decisions, CreditDecisions):
        raise TypeError(f"decisions must be a CreditDecisions, got {type(decisions).__name__}")
    r = decisions
    names = {1: "black applicants", 0: "other applicants"}
    fig = go.Figure()
    x = [f"{what}<br>{names[a]}" for what in ("denied", "wrongly denied") for a in (1, 0)]
    series = (("the lender", r.y_true, plots.COLORS["neutral"]),
              ("the model", r.before, plots.COLORS["baseline"]),
              ("parity-constrained", r.after, plots.COLORS["defended"]))
    for name, pred, color in series:
        hits, totals = [], []
        for approved_only in (False, True):
            for a in (1, 0):
                rows = (r.afam == a) & ((r.y_true == 0) if approved_only else True)
                hits.append(int(pred[rows].sum()))
                totals.append(int(rows.sum()))
        if name == "the lender":  # the lender wrongly denies nobody by definition of the label
            hits, totals, x_used = hits[:2], totals[:2], x[:2]
        else:
            x_used = x
        _rate_bars(fig, name, x_used, hits, totals, color)
    fig.update_layout(barmode="group", yaxis_title="share of applications",
                      yaxis_tickformat=".0%", height=420, title=title or r.on,
                      template="plotly_white+mlsec")
    return fig


def fraud_review_figure(review: FraudReview, *, title: str | None = None):
    """Bars per customer group: the false-positive rate (legitimate transactions held for
    review) on the test period with the bank's threshold and with the per-group thresholds,
    95% Wilson intervals, and the validation days' rate the per-group thresholds aim at.

    Introduced in lab 07 (Bias and fairness).
    """
    import plotly.graph_objects as go

    from .. import plots

    if not isinstance(review, FraudReview):
        raise TypeError(f"review must be a FraudReview, got {type(review).__name__}")
    r = review
    legit = r.y_test == 0
    groups = list(r.group_thresholds)
    totals = [int((legit & (r.groups_test == g)).sum()) for g in groups]
    fig = go.Figure()
    for name, flags, color in (("one threshold", r.flagged_before, plots.COLORS["baseline"]),
                               ("a threshold per group", r.flagged_after,
                                plots.COLORS["defended"])):
        hits = [int(flags[legit & (r.groups_test == g)].sum()) for g in groups]
        _rate_bars(fig, name, groups, hits, totals, color)
    fig.add_hline(y=r.target_fpr, line_dash="dot", line_color=plots.COLORS["neutral"],
                  annotation_text="the rate set on the validation days",
                  annotation_position="top left")
    fig.update_layout(barmode="group", yaxis_title="legitimate transactions held",
                      yaxis_tickformat=".0%", height=420, title=title or r.on_test,
                      template="plotly_white+mlsec")
    return fig
