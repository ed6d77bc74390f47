"""Lab 07, medical section: a mortality-risk model on NHEFS and patients' sex.

Holds the risk model (:func:`nhefs_risk_model`), its operating point
(:func:`balanced_accuracy_threshold`), fairlearn's post-processing under a parity or an
equalised-odds constraint (:func:`nhefs_threshold_optimizer`), the per-sex table of outcomes
(:func:`patient_outcomes_by_group`), the two impossibility results in numbers
(:func:`chouldechova_fpr`, :func:`kleinberg_balance`), "unawareness" and its proxies
(:func:`nhefs_drop_sex`, :func:`nhefs_sex_proxy_auc`), the same comparison over repeated splits
of the cohort (:func:`nhefs_repeated_splits`) and the section's figure
(:func:`nhefs_policy_figure`).

Introduced in lab 07 (Bias and fairness).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import repro
from ..data import NHEFS_FEATURES
from ..stats import Rate, auc_interval, proportion
from ..validate import (
    check_array,
    check_choice,
    check_int,
    check_labels,
    check_number,
    check_vector,
)
from .results import NhefsSplitStudy

__all__ = [
    "NHEFS_POLICIES",
    "balanced_accuracy_threshold",
    "chouldechova_fpr",
    "kleinberg_balance",
    "nhefs_drop_sex",
    "nhefs_policy_figure",
    "nhefs_repeated_splits",
    "nhefs_risk_model",
    "nhefs_sex_proxy_auc",
    "nhefs_threshold_optimizer",
    "patient_outcomes_by_group",
]

NHEFS_POLICIES: tuple[str, ...] = ("one threshold", "demographic parity", "equalized odds")
"""The flagging policies the medical section compares: one risk threshold for everyone, and
fairlearn's ``ThresholdOptimizer`` under each constraint. Introduced in lab 07 (Bias and
fairness)."""

_SEX = NHEFS_FEATURES.index("sex")


def _sex(sex, n: int, name: str = "sex") -> np.ndarray:
    return check_labels(sex, n, name, n_classes=2)


def _features(X, name: str = "X") -> np.ndarray:
    # float64, not check_array's default float32: fairlearn 0.15's ThresholdOptimizer.predict
    # fails on a model that returns float32 probabilities wherever it randomises between two
    # thresholds (``_interpolated_thresholder._pmf_predict`` writes float64 values into a
    # float32 pandas Series: "TypeError: Invalid value '[1. 0. 0.3516 ...]' for dtype
    # 'float32'").
    X = check_array(X, name, ndim=2, dtype=np.float64)
    if X.shape[1] not in (len(NHEFS_FEATURES), len(NHEFS_FEATURES) - 1):
        raise ValueError(f"{name} must hold NHEFS's {len(NHEFS_FEATURES)} baseline fields (or "
                         f"all but sex), got {X.shape[1]} columns")
    return X


def nhefs_risk_model(X, y, *, seed: int = 0):
    """A mortality-risk model: standardised NHEFS fields, then a logistic regression, fitted
    on ``X``, ``y`` (death by 1992). Its probabilities are the patients' risks.

    Introduced in lab 07 (Bias and fairness).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = _features(X)
    y = check_labels(y, len(X), "y", n_classes=2)
    seed = check_int(seed, "seed", minimum=0)
    with repro.limited_threads(1):
        return make_pipeline(StandardScaler(), LogisticRegression(
            max_iter=2000, random_state=seed)).fit(X, y)


def balanced_accuracy_threshold(y, scores) -> float:
    """The risk threshold that maximises balanced accuracy (true-positive rate minus
    false-positive rate, Youden's J) on the patients ``y``, ``scores``: flag a patient when
    the risk is at least this. The same objective ``ThresholdOptimizer`` maximises below,
    so the policies differ only in their constraint.

    Introduced in lab 07 (Bias and fairness).
    """
    from sklearn.metrics import roc_curve

    s = check_vector(scores, "scores")
    y = check_labels(y, len(s), "y", n_classes=2)
    if y.min() == y.max():
        raise ValueError("y must contain both classes to choose a threshold")
    fpr, tpr, thresholds = roc_curve(y, s)
    return float(thresholds[int(np.argmax(tpr - fpr))])


def nhefs_threshold_optimizer(model, X, y, sex, *, constraint: str):
    """fairlearn's ``ThresholdOptimizer`` (Hardt et al., 2016) on the fitted risk ``model``:
    per-sex thresholds, randomised where needed, that maximise balanced accuracy on ``X``,
    ``y`` under ``constraint`` (``"demographic_parity"`` or ``"equalized_odds"``). Predict
    with ``.predict(X, sensitive_features=sex, random_state=seed)``.

    Introduced in lab 07 (Bias and fairness).
    """
    from fairlearn.postprocessing import ThresholdOptimizer

    constraint = check_choice(constraint, ("demographic_parity", "equalized_odds"),
                              "constraint")
    X = _features(X)
    y = check_labels(y, len(X), "y", n_classes=2)
    sex = _sex(sex, len(X))
    with repro.limited_threads(1):
        return ThresholdOptimizer(estimator=model, constraints=constraint,
                                  objective="balanced_accuracy_score", prefit=True,
                                  predict_method="predict_proba").fit(
            X, y, sensitive_features=sex)


def patient_outcomes_by_group(y, flags, groups, scores=None, *,
                              names=("men", "women")) -> pd.DataFrame:
    """Per group of patients: how many, deaths, the death rate (base rate) with its Wilson
    interval, the share flagged, the true-positive rate (deaths flagged), the false-positive
    rate (survivors flagged), the positive predictive value (flagged who died), the missed
    deaths, and, given ``scores``, the mean predicted risk (calibration in the large: it
    should match the death rate). ``groups`` holds 0..len(names)-1.

    Introduced in lab 07 (Bias and fairness).
    """
    y = check_labels(y, None, "y", n_classes=2)
    f = check_labels(flags, len(y), "flags", n_classes=2)
    names = list(names)
    g = check_labels(groups, len(y), "groups", n_classes=len(names))
    s = None if scores is None else check_vector(scores, "scores")
    if s is not None and len(s) != len(y):
        raise ValueError(f"scores must hold one risk per patient ({len(y)}), got {len(s)}")
    rows = []
    for k, name in enumerate(names):
        m = g == k
        if not m.any():
            raise ValueError(f"no patient in group {name!r}")
        yk, fk = y[m], f[m]
        rate = proportion(int(yk.sum()), int(m.sum()))
        with np.errstate(invalid="ignore", divide="ignore"):
            row = {"group": name, "patients": int(m.sum()), "deaths": int(yk.sum()),
                   "death rate": rate.value, "death rate 95% CI": f"[{rate.low:.3f}, "
                   f"{rate.high:.3f}]", "flagged": fk.mean(),
                   "TPR (deaths flagged)": fk[yk == 1].mean() if yk.any() else np.nan,
                   "FPR (survivors flagged)": fk[yk == 0].mean() if (yk == 0).any() else np.nan,
                   "PPV (flagged who died)": yk[fk == 1].mean() if fk.any() else np.nan,
                   "missed deaths": int(((fk == 0) & (yk == 1)).sum())}
        if s is not None:
            row["mean predicted risk"] = float(s[m].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def chouldechova_fpr(base_rate, ppv, tpr):
    """The false-positive rate that a group's base rate ``p``, positive predictive value and
    true-positive rate force (Chouldechova, 2017): ``FPR = p / (1 - p) * (1 - PPV) / PPV *
    TPR``. An identity of the confusion table: two groups with equal PPV and equal TPR but
    different base rates cannot have equal FPR. Works elementwise on arrays.

    Introduced in lab 07 (Bias and fairness).
    """
    p, v, t = (np.asarray(a, dtype=float) for a in (base_rate, ppv, tpr))
    for a, name in ((p, "base_rate"), (v, "ppv"), (t, "tpr")):
        if np.any(~np.isfinite(a)) or np.any(a < 0) or np.any(a > 1):
            raise ValueError(f"{name} must lie in [0, 1]")
    if np.any(p >= 1) or np.any(v <= 0):
        raise ValueError("base_rate must be below 1 and ppv above 0")
    out = p / (1 - p) * (1 - v) / v * t
    return float(out) if out.ndim == 0 else out


def kleinberg_balance(y, scores, groups, *, names=("men", "women")) -> pd.DataFrame:
    """Kleinberg, Mullainathan and Raghavan's (2017) three conditions, per group: mean risk
    against the observed death rate (calibration in the large), mean risk of those who died
    (balance for the positive class) and of those who survived (balance for the negative
    class). With different base rates and an imperfect model, no score meets all three.

    Introduced in lab 07 (Bias and fairness).
    """
    s = check_vector(scores, "scores")
    y = check_labels(y, len(s), "y", n_classes=2)
    names = list(names)
    g = check_labels(groups, len(s), "groups", n_classes=len(names))
    rows = []
    for k, name in enumerate(names):
        m = g == k
        if not (m & (y == 1)).any() or not (m & (y == 0)).any():
            raise ValueError(f"group {name!r} needs deaths and survivors")
        rows.append({"group": name, "death rate": y[m].mean(), "mean risk": s[m].mean(),
                     "mean risk of those who died": s[m & (y == 1)].mean(),
                     "mean risk of survivors": s[m & (y == 0)].mean()})
    return pd.DataFrame(rows)


def nhefs_drop_sex(X) -> np.ndarray:
    """``X`` without the ``sex`` column ("fairness through unawareness").

    Introduced in lab 07 (Bias and fairness).
    """
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    if X.shape[1] != len(NHEFS_FEATURES):
        raise ValueError(f"X must hold NHEFS's {len(NHEFS_FEATURES)} baseline fields, got "
                         f"{X.shape[1]} columns")
    return np.delete(X, _SEX, axis=1)


def nhefs_sex_proxy_auc(X_train, sex_train, X_test, sex_test, *, seed: int = 0,
                        on: str = "") -> Rate:
    """How well the other 17 fields predict sex (ROC AUC with a bootstrap interval, on the
    test rows): a logistic regression trained on the training rows. Near 1: dropping ``sex``
    hides little (height and weight are proxies).

    Introduced in lab 07 (Bias and fairness).
    """
    seed = check_int(seed, "seed", minimum=0)
    X_train, X_test = nhefs_drop_sex(X_train), nhefs_drop_sex(X_test)
    sex_train = _sex(sex_train, len(X_train), "sex_train")
    sex_test = _sex(sex_test, len(X_test), "sex_test")
    proxy = nhefs_risk_model(np.insert(X_train, _SEX, 0, axis=1), sex_train, seed=seed)
    scores = proxy.predict_proba(np.insert(X_test, _SEX, 0, axis=1))[:, 1]
    return auc_interval(sex_test, scores, on=on, seed=seed)


def nhefs_repeated_splits(X, y, sex, *, n_splits: int = 20, test_size: float = 0.25,
                          seed: int = 0) -> NhefsSplitStudy:
    """The section's comparison on ``n_splits`` stratified random splits of the whole cohort
    (``X``, ``y``, ``sex``; splits fixed by ``random_state=0``, ``seed`` drives
    ``ThresholdOptimizer``'s randomisation): per split and policy (:data:`NHEFS_POLICIES`),
    the parity and equalised-odds gaps and the quality on the split's test patients. One test
    split of 408 patients holds about 80 deaths; the spread over splits shows how much of a
    single split's gap is noise.

    Introduced in lab 07 (Bias and fairness).
    """
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedShuffleSplit
    from tqdm.auto import tqdm

    X = _features(X)
    y = check_labels(y, len(X), "y", n_classes=2)
    sex = _sex(sex, len(X))
    n_splits = check_int(n_splits, "n_splits", minimum=2)
    test_size = check_number(test_size, "test_size", low=0.0, high=1.0, low_open=True,
                             high_open=True)
    seed = check_int(seed, "seed", minimum=0)
    rows = []
    splitter = StratifiedShuffleSplit(n_splits, test_size=test_size, random_state=0)
    for k, (tr, te) in enumerate(tqdm(list(splitter.split(X, y)), desc="splits", leave=False)):
        model = nhefs_risk_model(X[tr], y[tr], seed=seed)
        threshold = balanced_accuracy_threshold(y[tr], model.predict_proba(X[tr])[:, 1])
        flags = {"one threshold": (model.predict_proba(X[te])[:, 1] >= threshold).astype(int)}
        for c in ("demographic_parity", "equalized_odds"):
            opt = nhefs_threshold_optimizer(model, X[tr], y[tr], sex[tr], constraint=c)
            flags[c.replace("_", " ")] = opt.predict(
                X[te], sensitive_features=sex[te], random_state=seed)
        yt, st = y[te], sex[te]
        for policy, f in flags.items():
            row = {"split": k, "policy": policy,
                   "parity gap": demographic_parity_difference(yt, f, sensitive_features=st),
                   "equalized odds gap": equalized_odds_difference(yt, f, sensitive_features=st),
                   "accuracy": float((f == yt).mean()),
                   "balanced accuracy": balanced_accuracy_score(yt, f),
                   "missed deaths": int(((f == 0) & (yt == 1)).sum())}
            for g, name in enumerate(("men", "women")):
                m = st == g
                row[f"TPR {name}"] = float(f[m & (yt == 1)].mean())
                row[f"flagged {name}"] = float(f[m].mean())
                row[f"missed deaths {name}"] = int(((f == 0) & (yt == 1) & m).sum())
            rows.append(row)
    return NhefsSplitStudy(frame=pd.DataFrame(rows), n_splits=n_splits, n_test=len(te))


def nhefs_policy_figure(tables: dict[str, pd.DataFrame], *, title: str | None = None):
    """Grouped bars: deaths flagged (TPR) and survivors flagged (FPR) per sex, under each
    policy; ``tables`` maps a policy's name to its :func:`patient_outcomes_by_group` table.

    Introduced in lab 07 (Bias and fairness).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from ..plots import COLORS

    if not tables:
        raise ValueError("tables must name at least one policy")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("deaths flagged (TPR)",
                                                        "survivors flagged (FPR)"))
    policies = list(tables)
    groups = list(next(iter(tables.values()))["group"])
    colours = [COLORS["baseline"], COLORS["accent"], COLORS["neutral"]]
    for k, group in enumerate(groups):
        for col, metric in ((1, "TPR (deaths flagged)"), (2, "FPR (survivors flagged)")):
            values = [float(tables[p].set_index("group").loc[group, metric]) for p in policies]
            fig.add_trace(go.Bar(name=group, x=policies, y=values, showlegend=col == 1,
                                 marker_color=colours[k % len(colours)], legendgroup=group,
                                 text=[f"{v:.0%}" for v in values], textposition="outside"),
                          row=1, col=col)
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.1])
    fig.update_layout(title=title, height=420, template="plotly_white+mlsec")
    return fig
