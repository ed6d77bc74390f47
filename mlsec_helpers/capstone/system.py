"""The capstone's sixth system: a credit pre-approval assistant on HMDA, with six planted
weaknesses, and the blue team's controls that :func:`harden` applies.

A lender pre-approves mortgage applications with a model trained on the Boston HMDA data of
lab 07 (target ``deny``; race, ``afam``, is not an input). The system is three things:

* the **model** (:class:`CreditModel`): a logistic scorecard on the applicant's fields; the weak
  version adds a "case memory", an RBF kernel term fitted to the scorecard's residuals on the
  training applicants, so that it reproduces every past decision exactly (W2); far from its
  training applicants it is the scorecard, a linear model (which W1 and W6 exploit);
* the **API** (FastAPI; lab 12's :class:`~mlsec_helpers.apisec.KeyStore`,
  :class:`~mlsec_helpers.apisec.RateLimiter`, :class:`~mlsec_helpers.apisec.ManualClock` and
  :class:`~mlsec_helpers.apisec.AuditLog`): ``POST /v1/preapprove`` (a batch of applications:
  pre-approved or referred; the weak API adds the raw probability of denial and has no rate
  limit, W1) and ``POST /v1/explain`` ("why was I referred?": the weak API returns each field's
  contribution to the score and the nearest pre-approved applicant of the training data, W6);
* the **artefact**: the model file the service loads, in a temporary folder; the weak system
  ships ``model.joblib`` with no signature and loads whatever is there (W4).

The planted weaknesses (:data:`WEAKNESSES`): W1 extraction, W2 membership leakage, W3 an
approval gap between black and other applicants, W4 an unsigned pickle, W5 gaming through the
fields an applicant declares without proof, W6 explanations that give the weights away.

:data:`CONTROLS` lists the blue team's controls (cost, lab, what they treat) and
:func:`harden` returns a new system with the named ones applied. Every system owns a temporary
folder: use it as a context manager or call :meth:`CapstoneSystem.close`.

Introduced in lab 14 (Capstone).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

import numpy as np
import pandas as pd
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from ..apisec import AuditLog, KeyStore, ManualClock, Principal, RateLimiter, api_client
from ..data import HMDA_FEATURES, Dataset, load_dataset
from ..validate import (
    ArgumentTypeError,
    check_array,
    check_choice,
    check_int,
    check_number,
    check_seed,
    check_str,
)
from .results import CapstoneControl

__all__ = [
    "FIELD_BOUNDS",
    "INTEGER_FIELDS",
    "API_PREFIX",
    "CONTROLS",
    "DECLARED_FEATURES",
    "EXPLANATION_BUDGET",
    "FEATURES",
    "QUERY_BUDGET",
    "REASONS",
    "REFER_AT",
    "VERIFIED_FEATURES",
    "WEAKNESSES",
    "CapstoneSystem",
    "CreditModel",
    "ModelRefused",
    "capstone_system",
    "controls_table",
    "harden",
]

FEATURES: tuple[str, ...] = tuple(HMDA_FEATURES)
"""The application's fields, in the model's order (``data.HMDA_FEATURES``).
Introduced in lab 14 (Capstone)."""

DECLARED_FEATURES: tuple[str, ...] = ("unemp", "selfemp", "single", "hschool")
"""Fields the applicant declares and the lender does not verify: the industry they work in
(which sets ``unemp``, the industry's unemployment rate), self-employment, marital status and
a high-school diploma. W5 games them. Introduced in lab 14 (Capstone)."""

VERIFIED_FEATURES: tuple[str, ...] = tuple(f for f in FEATURES if f not in DECLARED_FEATURES)
"""Fields the lender checks against documents (pay slips, credit bureau, appraisal).
Introduced in lab 14 (Capstone)."""

REFER_AT = 0.2
"""The policy: an application whose predicted probability of denial is at least this is
referred to an underwriter (not pre-approved). Introduced in lab 14 (Capstone)."""

API_PREFIX = "/v1"
"""The prefix of the capstone API's routes. Introduced in lab 14 (Capstone)."""

QUERY_BUDGET = 100
"""Applications one API key may submit per day once ``labels_and_rate_limit`` is applied (a
token bucket of this size refilled over 24 hours of the system's clock).
Introduced in lab 14 (Capstone)."""

EXPLANATION_BUDGET = 3
"""Explanations one API key may ask for per 30 days once ``coarse_explanations`` is applied.
Introduced in lab 14 (Capstone)."""

WEAKNESSES: Mapping[str, str] = MappingProxyType({
    "W1": "extraction: raw probabilities to every key, no rate limit",
    "W2": "membership leakage: a case memory reproduces every training decision",
    "W3": "bias: black applicants are referred far more often than others",
    "W4": "supply chain: an unsigned joblib model file, loaded as it is",
    "W5": "gaming: fields the applicant declares without proof move the decision",
    "W6": "explanations: per-field contributions and a real training applicant as the "
          "counterfactual",
})
"""The planted weaknesses of the weak system, by id. Introduced in lab 14 (Capstone)."""

REASONS: Mapping[str, str] = MappingProxyType({
    "pirat": "debt payments too high relative to income",
    "hirat": "housing expense too high relative to income",
    "lvrat": "loan amount too high relative to the property's value",
    "chist": "consumer credit history",
    "mhist": "mortgage payment history",
    "phist": "public record of bad credit",
    "unemp": "employment sector",
    "selfemp": "self-employment income",
    "insurance": "mortgage insurance denied",
    "condomin": "type of property",
    "single": "household",
    "hschool": "education",
})
"""The principal reason, in words, that a field's adverse contribution gives (as on an
adverse-action notice). Introduced in lab 14 (Capstone)."""

_DAY = 86_400.0
_PROBA_FLOOR = 1e-12


# --- the model ----------------------------------------------------------------------------------


class CreditModel:
    """The pre-approval model: a logistic scorecard on ``features``, optionally with a case
    memory and a demographic-parity constraint.

    ``score(x) = w . z(x) + b [+ sum_i alpha_i exp(-gamma ||z(x) - z_i||^2)]`` with ``z`` the
    standardised fields. The scorecard is scikit-learn's ``LogisticRegression`` (inverse
    regularisation ``C``). ``memory=True`` adds the kernel term over the training applicants,
    fitted (kernel ridge, ``ridge``) so that each training applicant's score is ``+-target``:
    the model reproduces every past decision, with near-certain confidence (written here: no
    library fits a kernel residual on top of a linear model). ``fair=True`` fits the scorecard
    with fairlearn's reduction of ``DemographicParity`` (race is used in training only, never as
    an input), its multiplier searched (``grid_size`` bisection steps) for the referral rates
    at :data:`REFER_AT` to be equal between the groups on the training data.

    Introduced in lab 14 (Capstone).
    """

    def __init__(self, features: Iterable[str] = FEATURES, *, C: float = 1e3,
                 memory: bool = False, gamma: float = 10.0, target: float = 6.0,
                 ridge: float = 1e-3, fair: bool = False, grid_size: int = 12):
        features = tuple(features)
        if not features:
            raise ValueError("features must name at least one field")
        for f in features:
            check_choice(f, FEATURES, "feature")
        if len(set(features)) != len(features):
            raise ValueError("features must not repeat a field")
        self.features = features
        self.C = check_number(C, "C", low=0.0, low_open=True)
        self.memory = bool(memory)
        self.gamma = check_number(gamma, "gamma", low=0.0, low_open=True)
        self.target = check_number(target, "target", low=0.0, low_open=True)
        self.ridge = check_number(ridge, "ridge", low=0.0, low_open=True)
        self.fair = bool(fair)
        self.grid_size = check_int(grid_size, "grid_size", minimum=3)

    # -- fitting --
    @property
    def columns(self) -> np.ndarray:
        """The positions of :attr:`features` among :data:`FEATURES`."""
        return np.array([FEATURES.index(f) for f in self.features])

    def _z(self, X) -> np.ndarray:
        X = check_array(X, "X", ndim=2, dtype=np.float64)
        if X.shape[1] != len(FEATURES):
            raise ValueError(f"X must have the {len(FEATURES)} fields of FEATURES as columns, "
                             f"got {X.shape[1]}")
        return (X[:, self.columns] - self.mean_) / self.scale_

    def fit(self, X, y, groups=None) -> CreditModel:
        """Fit on the applications ``X`` (all :data:`FEATURES` as columns) and the past
        decisions ``y`` (1 = denied); ``groups`` (0/1 per row, race) only with ``fair``."""
        from sklearn.linear_model import LogisticRegression

        X = check_array(X, "X", ndim=2, dtype=np.float64)
        if X.shape[1] != len(FEATURES):
            raise ValueError(f"X must have the {len(FEATURES)} fields of FEATURES as columns, "
                             f"got {X.shape[1]}")
        y = np.asarray(y)
        if y.shape != (len(X),) or not np.isin(y, (0, 1)).all():
            raise ValueError(f"y must hold one 0/1 decision per row of X ({len(X)})")
        y = y.astype(np.int64)
        if self.fair:
            if groups is None:
                raise ValueError("fair=True needs groups (the sensitive attribute of each row)")
            groups = np.asarray(groups)
            if groups.shape != (len(X),) or not np.isin(groups, (0, 1)).all():
                raise ValueError(f"groups must hold one 0/1 value per row of X ({len(X)})")
        Xs = X[:, self.columns]
        self.mean_ = Xs.mean(axis=0)
        self.scale_ = np.where(Xs.std(axis=0) > 0, Xs.std(axis=0), 1.0)
        Z = (Xs - self.mean_) / self.scale_
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lbfgs's convergence note at large C
            if self.fair:
                self.linear_ = self._fair_scorecard(Z, y, groups.astype(np.int64))
            else:
                self.linear_ = LogisticRegression(C=self.C, solver="newton-cholesky",
                                                  max_iter=500).fit(Z, y)
        if self.memory:
            from scipy import sparse
            from scipy.sparse.linalg import spsolve
            from sklearn.metrics.pairwise import rbf_kernel

            K = rbf_kernel(Z, Z, gamma=self.gamma)
            # entries below 1e-12 change no score; dropping them makes the solve sparse
            # (about 3% of the entries are left: 15 ms instead of about 1 s dense)
            K = sparse.csc_matrix(np.where(K > 1e-12, K, 0.0)) + self.ridge * sparse.eye(
                len(Z), format="csc")
            residual = (np.where(y == 1, self.target, -self.target)
                        - self.linear_.decision_function(Z))
            self.centres_ = Z
            self.alpha_ = np.asarray(spsolve(K, residual), dtype=np.float64)
        else:
            self.centres_ = np.zeros((0, len(self.features)))
            self.alpha_ = np.zeros(0)
        self.fitted_ = True
        return self

    def _fair_scorecard(self, Z, y, groups):
        """fairlearn's reduction of demographic parity to cost-sensitive classification
        (Agarwal et al., 2018): for a multiplier ``t`` on the constraint, the signed weights of
        ``DemographicParity`` plus those of its error objective relabel and reweight the
        training rows, and a logistic regression is fitted to them (what ``GridSearch`` does
        for each point of its grid). Here ``t`` is searched by bisection for the referral gap
        at :data:`REFER_AT` on the training rows to cross zero (GridSearch's grid, 31 fits,
        misses the narrow crossing and takes about 4 s); the fit with the smallest gap is
        kept."""
        from fairlearn.reductions import DemographicParity
        from sklearn.linear_model import LogisticRegression

        constraints = DemographicParity()
        constraints.load_data(Z, y, sensitive_features=groups)
        objective = constraints.default_objective()
        objective.load_data(Z, y, sensitive_features=groups)
        base = objective.signed_weights()

        def fit(t):
            lam = pd.Series(0.0, index=constraints.index)
            lam[("-", "all", 0)] = t
            weights = constraints.signed_weights(lam) + base
            labels = (weights > 0).astype(np.int64).to_numpy()
            model = LogisticRegression(C=self.C, solver="newton-cholesky", max_iter=500).fit(
                Z, labels, sample_weight=weights.abs().to_numpy())
            refer = model.predict_proba(Z)[:, 1] >= REFER_AT
            return model, float(refer[groups == 1].mean() - refer[groups == 0].mean())

        tried = [fit(0.0)]
        lo, hi = 0.0, 8.0
        tried.append(fit(hi))
        for _ in range(self.grid_size):
            mid = (lo + hi) / 2
            tried.append(fit(mid))
            if tried[-1][1] > 0:
                lo = mid
            else:
                hi = mid
        return min(tried, key=lambda pair: abs(pair[1]))[0]

    # -- answers --
    def _check_fitted(self):
        if not getattr(self, "fitted_", False):
            from ..validate import NotFittedError

            raise NotFittedError("the CreditModel is not fitted: call fit first")

    def decision_function(self, X) -> np.ndarray:
        """The score (log-odds of denial) of each application."""
        self._check_fitted()
        Z = self._z(X)
        score = self.linear_.decision_function(Z)
        if len(self.alpha_):
            from sklearn.metrics.pairwise import rbf_kernel

            score = score + rbf_kernel(Z, self.centres_, gamma=self.gamma) @ self.alpha_
        return score

    def predict_proba(self, X) -> np.ndarray:
        """``(n, 2)`` probabilities of approval (column 0) and denial (column 1)."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - p, p])

    def refer(self, X) -> np.ndarray:
        """1 where the application is referred (probability of denial >= :data:`REFER_AT`)."""
        return (self.predict_proba(X)[:, 1] >= REFER_AT).astype(np.int64)

    def scorecard(self) -> tuple[np.ndarray, float]:
        """The scorecard on raw fields: ``(w, b)`` with one weight per field of
        :data:`FEATURES` (0 for a field the model does not use), so that the linear part of
        the score is ``X @ w + b``."""
        self._check_fitted()
        w = np.zeros(len(FEATURES))
        w[self.columns] = self.linear_.coef_[0] / self.scale_
        b = float(self.linear_.intercept_[0] - (self.linear_.coef_[0] * self.mean_
                                                / self.scale_).sum())
        return w, b

    def contributions(self, X) -> np.ndarray:
        """Each field's contribution to the scorecard's score against the average training
        applicant, ``w_j (x_j - mean_j)``: the exact SHAP values of the linear part (0 for a
        field the model does not use). ``(n, len(FEATURES))``."""
        self._check_fitted()
        X = check_array(X, "X", ndim=2, dtype=np.float64)
        w, _ = self.scorecard()
        mean = np.zeros(len(FEATURES))
        mean[self.columns] = self.mean_
        return (X - mean) * w

    def __repr__(self) -> str:
        parts = [f"{len(self.features)} fields", f"C={self.C:g}"]
        if self.memory:
            parts.append(f"case memory of {len(self.alpha_)} applicants" if
                         getattr(self, "fitted_", False) else "case memory")
        if self.fair:
            parts.append("demographic-parity reduction")
        return f"CreditModel({', '.join(parts)})"


# --- controls -----------------------------------------------------------------------------------

CONTROLS: Mapping[str, CapstoneControl] = MappingProxyType({c.key: c for c in (
    CapstoneControl(
        "labels_and_rate_limit", "labels-only answers and a per-key rate limit", 1, ("W1",), 12,
        "the API answers pre-approved or referred only, and each key may submit "
        f"{QUERY_BUDGET} applications a day (token bucket, 429 beyond)",
        "PR", "SAIF-2", ("AML.M0004", "AML.M0002"), likelihood_reduction=2),
    CapstoneControl(
        "regularised_model", "regularised scorecard, no case memory", 2, ("W2",), 5,
        "the model is a logistic scorecard with L2 regularisation (C = 0.1) and no case memory",
        "PR", "SAIF-1", ("AML.M0012",), likelihood_reduction=2),
    CapstoneControl(
        "fairness_mitigation", "demographic-parity training (fairlearn)", 2, ("W3",), 7,
        "the scorecard is fitted with fairlearn's DemographicParity reduction, referral rates "
        "equalised on the training data; race is used in training only", "GV", "SAIF-6", (),
        likelihood_reduction=2),
    CapstoneControl(
        "signed_safe_format", "skops file, signed, verified before load", 2, ("W4",), 11,
        "the model ships as a skops file with a SHA-256 manifest and an ECDSA signature "
        "(model-signing); the service refuses a file that does not verify",
        "PR", "SAIF-4", ("AML.M0014", "AML.M0013"), likelihood_reduction=3),
    CapstoneControl(
        "verified_features", "decide on verified fields only", 2, ("W5",), 2,
        "the model drops the fields the applicant declares without proof "
        f"({', '.join(DECLARED_FEATURES)})", "PR", "SAIF-5", ("AML.M0003",),
        likelihood_reduction=2),
    CapstoneControl(
        "coarse_explanations", "principal reasons only, with a budget", 1, ("W6",), 8,
        "the explain endpoint names the top three adverse reasons in words (no numbers, no "
        f"counterfactual applicant), {EXPLANATION_BUDGET} explanations per key per 30 days",
        "PR", "SAIF-2", ("AML.M0002", "AML.M0004"), likelihood_reduction=2, impact_reduction=1),
    CapstoneControl(
        "query_monitoring", "alarms on keys that probe the boundary", 3, (), 13,
        "a monitoring duty (lab 13's detectors on the audit log); a process control: nothing "
        "in the running system changes here", "DE", "SAIF-2", ("AML.M0015",),
        likelihood_reduction=1, changes_code=False),
    CapstoneControl(
        "label_review", "four-eyes review of new training labels", 2, (), 3,
        "a review duty before retraining on new decisions; a process control: nothing in the "
        "running system changes here", "GV", "SAIF-6", ("AML.M0007",),
        likelihood_reduction=1, changes_code=False),
)})
"""The blue team's controls, by key: cost (person-weeks), the planted weaknesses each treats,
the lab that built it, and its NIST CSF function, SAIF element and ATLAS mitigations. The last
two are process controls that treat threats outside the planted six.
Introduced in lab 14 (Capstone)."""


def controls_table(controls: Mapping[str, CapstoneControl] | None = None) -> pd.DataFrame:
    """The controls as a table: key, title, cost, treats, lab, NIST, SAIF, what it does.

    Introduced in lab 14 (Capstone).
    """
    controls = CONTROLS if controls is None else controls
    if not isinstance(controls, Mapping):
        raise ArgumentTypeError("controls must be a mapping key -> CapstoneControl (CONTROLS)")
    rows = []
    for key, c in controls.items():
        if not isinstance(c, CapstoneControl):
            raise ArgumentTypeError(f"controls[{key!r}] must be a CapstoneControl")
        rows.append({"control": key, "title": c.title, "cost (person-weeks)": c.cost,
                     "treats": ", ".join(c.treats) or "(other threats)", "lab": c.lab,
                     "NIST CSF": c.nist, "SAIF": c.saif, "what it does": c.what})
    return pd.DataFrame(rows)


class ModelRefused(RuntimeError):
    """The service refused to load its model file (a manifest or signature that does not
    verify, or a file that is not the safe format).

    Introduced in lab 14 (Capstone).
    """


# --- the system ---------------------------------------------------------------------------------


class CapstoneSystem:
    """The credit pre-approval assistant: its data, model, API and artefact folder.

    Built by :func:`capstone_system` (weak) and :func:`harden`; never directly. Attributes:
    ``seed``, ``data`` (the HMDA :class:`~mlsec_helpers.data.Dataset` of the seed), ``model``
    (a :class:`CreditModel`), ``controls`` (the applied control keys, sorted), ``clock`` (a
    :class:`~mlsec_helpers.apisec.ManualClock` every limit reads), ``keys`` (its
    :class:`~mlsec_helpers.apisec.KeyStore`), ``audit`` (its
    :class:`~mlsec_helpers.apisec.AuditLog`), ``app`` (the FastAPI app), ``client`` (an
    in-process HTTP client), ``api_keys`` (raw keys by holder name: ``"applicant"``,
    ``"broker"``), ``folder`` (the temporary artefact folder), ``model_dir`` (the model
    folder inside it), ``model_path`` (the model file). Hardened with ``signed_safe_format``:
    ``manifest_path``, ``signature_path``, ``public_key`` (outside ``model_dir``).

    Introduced in lab 14 (Capstone).
    """

    def __init__(self, seed: int, data: Dataset, model: CreditModel, controls: Iterable[str]):
        self.seed = check_seed(seed)
        self.data = data
        self.model = model
        self.controls = tuple(sorted(controls))
        self.clock = ManualClock()
        self.keys = KeyStore(secret_seed=self.seed)
        self.audit = AuditLog(_secret(self.seed, "audit"), clock=self.clock)
        self.limiter = (RateLimiter(QUERY_BUDGET / _DAY, QUERY_BUDGET, self.clock)
                        if self.labels_only else None)
        self.explain_limiter = (RateLimiter(EXPLANATION_BUDGET / (30 * _DAY),
                                            EXPLANATION_BUDGET, self.clock)
                                if self.coarse_explanations else None)
        self.api_keys = {"applicant": self.keys.issue("applicant", "user"),
                         "broker": self.keys.issue("broker", "user")}
        self.folder = Path(tempfile.mkdtemp(prefix="mlsec-lab14-"))
        # a safety net: the folder also goes when the system is garbage-collected or the
        # interpreter exits (a notebook kernel that shuts down); close() is the normal way
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.folder),
                                           ignore_errors=True)
        self.manifest_path = self.signature_path = self.public_key = None
        self._closed = False
        try:
            self.model_dir = self.folder / "model"
            self.model_dir.mkdir()
            self._write_artefact()
            self._counterfactual_pool()
            self.app = _build_app(self)
            self.client = api_client(self.app)
        except BaseException:
            self._finalizer()
            raise

    # -- switches --
    @property
    def labels_only(self) -> bool:
        """True when the API answers labels only, with a per-key rate limit (W1's control)."""
        return "labels_and_rate_limit" in self.controls

    @property
    def coarse_explanations(self) -> bool:
        """True when explanations are principal reasons only, with a budget (W6's control)."""
        return "coarse_explanations" in self.controls

    @property
    def signed(self) -> bool:
        """True when the model ships as a signed skops file (W4's control)."""
        return "signed_safe_format" in self.controls

    @property
    def name(self) -> str:
        """``"weak"`` with no control, ``"hardened"`` otherwise."""
        return "hardened" if self.controls else "weak"

    # -- the lender's own view (not through the API) --
    def predict_proba(self, X) -> np.ndarray:
        """The model's ``(n, 2)`` probabilities (approval, denial), as the lender computes them
        (the API decides what a caller sees)."""
        return self.model.predict_proba(X)

    def refer(self, X) -> np.ndarray:
        """1 where the application is referred, 0 where it is pre-approved."""
        return self.model.refer(X)

    @property
    def X_members(self) -> np.ndarray:
        """The training applications (members of the training set)."""
        return self.data.X_train

    @property
    def X_nonmembers(self) -> np.ndarray:
        """The held-out applications (non-members)."""
        return self.data.X_test

    @property
    def groups_test(self) -> np.ndarray:
        """Race of the held-out applicants (1 = black), for fairness measurements only."""
        return self.data.sensitive_test["afam"].to_numpy(dtype=np.int64)

    @property
    def groups_train(self) -> np.ndarray:
        """Race of the training applicants (1 = black)."""
        return self.data.sensitive_train["afam"].to_numpy(dtype=np.int64)

    # -- API helpers --
    def issue_key(self, name: str) -> str:
        """A new API key for ``name`` (any applicant or broker can get one: keys are free)."""
        return self.keys.issue(check_str(name, "name"), "user")

    def body(self, X) -> dict:
        """The JSON body of ``POST /v1/preapprove`` for the applications ``X``."""
        X = check_array(X, "X", ndim=2, dtype=np.float64)
        if X.shape[1] != len(FEATURES):
            raise ValueError(f"X must have the {len(FEATURES)} fields of FEATURES as columns")
        return {"applications": [_row(x) for x in X]}

    def preapprove(self, X, key: str | None = None):
        """``POST /v1/preapprove`` with the applications ``X`` as ``key`` (default: the
        applicant's key); returns the HTTP response."""
        key = self.api_keys["applicant"] if key is None else check_str(key, "key")
        return self.client.post(f"{API_PREFIX}/preapprove", json=self.body(X),
                                headers={"X-API-Key": key})

    def explain(self, application, key: str | None = None):
        """``POST /v1/explain`` for one ``application`` (its 12 fields) as ``key``; returns the
        response."""
        key = self.api_keys["applicant"] if key is None else check_str(key, "key")
        values = check_array(application, "application", ndim=1, dtype=np.float64)
        if values.shape != (len(FEATURES),):
            raise ValueError(f"application must hold the {len(FEATURES)} fields of FEATURES")
        return self.client.post(f"{API_PREFIX}/explain", json={"application": _row(values)},
                                headers={"X-API-Key": key})

    def proba_api(self, key: str | None = None):
        """A callable ``api(X) -> (n, 2)`` answers through HTTP, the shape lab 04's attacks
        take: the probabilities when the API gives them, else a one-hot row of the decision
        (column 1 = referred). A refusal (429, ...) raises ``RuntimeError`` naming the status."""
        key = self.api_keys["applicant"] if key is None else check_str(key, "key")

        def api(X):
            response = self.preapprove(X, key)
            if response.status_code != 200:
                raise RuntimeError(f"the API refused the request: {response.status_code}")
            answer = response.json()
            if "p_deny" in answer:
                p = np.asarray(answer["p_deny"], dtype=np.float64)
            else:
                p = (np.asarray(answer["decisions"]) == "referred").astype(np.float64)
            return np.column_stack([1.0 - p, p])

        return api

    # -- the artefact --
    def _write_artefact(self):
        if self.signed:
            import zipfile

            import skops.io

            from ..supplychain import integrity

            self.model_path = self.model_dir / "model.skops"
            skops.io.dump(self.model, self.model_path, compression=zipfile.ZIP_DEFLATED)
            (self.model_dir / "config.json").write_text(json.dumps(
                {"format": "skops", "refer_at": REFER_AT, "features": list(self.model.features)},
                indent=1) + "\n", encoding="utf-8")
            keys = integrity.make_key_pair(self.folder / "keys", name="lender")
            self.public_key = keys.public_key
            self.manifest_path = self.folder / "model.manifest.json"
            self.signature_path = self.folder / "model.sig"
            integrity.write_manifest(self.model_dir, self.manifest_path)
            integrity.sign_model(self.model_dir, keys, self.signature_path)
        else:
            import joblib

            self.model_path = self.model_dir / "model.joblib"
            joblib.dump(self.model, self.model_path)

    def load_model(self, folder=None, *, manifest=None, signature=None) -> CreditModel:
        """What the service does at start-up: load the model from ``folder`` (default: its own
        ``model_dir``). Weak: ``joblib.load`` of ``model.joblib``, whatever it holds (unpickling
        runs any code in the file). Hardened with ``signed_safe_format``: the folder must match
        the manifest and the signature must verify with the lender's public key (pinned in the
        service, never read from the store), then the skops file is loaded trusting only
        :class:`CreditModel`; anything else raises :class:`ModelRefused` before a byte of the
        model is parsed. ``manifest`` and ``signature`` (paths) stand for an artefact store
        whose manifest or signature file an attacker replaced (default: the system's own)."""
        from ..validate import check_path

        folder = self.model_dir if folder is None else check_path(folder, "folder", kind="dir")
        if not self.signed:
            import joblib

            return joblib.load(folder / "model.joblib")
        from ..supplychain import integrity
        from ..supplychain.fraud import allow_listed_load

        manifest = (self.manifest_path if manifest is None
                    else check_path(manifest, "manifest", kind="file"))
        signature = (self.signature_path if signature is None
                     else check_path(signature, "signature", kind="file"))
        check = integrity.check_manifest(folder, manifest)
        if not check.ok:
            raise ModelRefused(f"refused {folder.name}: {check}")
        signed = integrity.verify_signature(folder, self.public_key, signature)
        if not signed.ok:
            raise ModelRefused(f"refused {folder.name}: {signed.reason}")
        try:
            loaded = allow_listed_load(folder / "model.skops", allow_list=_TRUSTED)
        except ValueError as err:
            raise ModelRefused(f"refused {folder.name}: {err}") from None
        if not loaded.loaded:
            raise ModelRefused(f"refused {folder.name}: untrusted types {loaded.refused_types}")
        return loaded.model

    def _counterfactual_pool(self):
        # the nearest pre-approved training applicant is what W6's counterfactual returns
        X = self.data.X_train
        self._pool = X[self.model.refer(X) == 0]

    def counterfactual(self, application) -> np.ndarray:
        """The nearest pre-approved training applicant to ``application`` (standardised
        distance): what the weak explain endpoint returns as "an applicant like you who was
        pre-approved"."""
        values = check_array(application, "application", ndim=1, dtype=np.float64)
        if values.shape != (len(FEATURES),):
            raise ValueError(f"application must hold the {len(FEATURES)} fields of FEATURES")
        scale = self.data.X_train.std(axis=0) + 1e-12
        d = (((self._pool - values) / scale) ** 2).sum(axis=1)
        return self._pool[int(np.argmin(d))]

    # -- lifetime --
    def close(self) -> None:
        """Remove the artefact folder (idempotent)."""
        if not self._closed:
            client = getattr(self, "client", None)
            if client is not None:
                client.close()
            self._finalizer()
            self._closed = True

    def __enter__(self) -> CapstoneSystem:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"CapstoneSystem({self.name}, seed={self.seed}, controls={list(self.controls)},"
                f" model={self.model!r})")


_TRUSTED = ("mlsec_helpers.capstone.system.CreditModel",)


def _secret(seed: int, label: str) -> bytes:
    import hashlib

    return hashlib.sha256(f"mlsec-lab14/{seed}/{label}".encode()).digest()


def _row(values: np.ndarray) -> dict:
    out = {}
    for f, v in zip(FEATURES, values, strict=True):
        out[f] = int(round(v)) if f in INTEGER_FIELDS and float(v).is_integer() else float(v)
    return out


INTEGER_FIELDS = ("chist", "mhist", "phist", "selfemp", "insurance", "condomin", "single",
                  "hschool")
"""The application's fields that are whole numbers (scores and yes/no flags).

Introduced in lab 14 (Capstone)."""

FIELD_BOUNDS = {"pirat": (0.0, 3.0), "hirat": (0.0, 3.0), "lvrat": (0.0, 2.0), "chist": (1, 6),
                "mhist": (1, 4), "phist": (0, 1), "unemp": (1.0, 11.0), "selfemp": (0, 1),
                "insurance": (0, 1), "condomin": (0, 1), "single": (0, 1), "hschool": (0, 1)}
"""The range the API accepts for each field (the data's ranges, with room to spare).

Introduced in lab 14 (Capstone)."""


def _application_model():
    fields = {}
    for f in FEATURES:
        lo, hi = FIELD_BOUNDS[f]
        if f in INTEGER_FIELDS:
            fields[f] = (int, Field(ge=lo, le=hi))
        else:
            fields[f] = (float, Field(ge=lo, le=hi, allow_inf_nan=False))
    return create_model("Application", __config__=ConfigDict(extra="forbid"), **fields)


# The request bodies (at module level: FastAPI resolves the routes' annotations here).
_Application = _application_model()


class _Batch(BaseModel):
    """The body of ``POST /v1/preapprove``: 1 to 1,000 applications."""

    model_config = ConfigDict(extra="forbid")
    applications: list[_Application] = Field(min_length=1, max_length=1000)


class _One(BaseModel):
    """The body of ``POST /v1/explain``: one application."""

    model_config = ConfigDict(extra="forbid")
    application: _Application


def _principal_of(request: Request,
                  x_api_key: Annotated[str | None, Header()] = None) -> Principal:
    """The API's authentication, a dependency: FastAPI runs it before it validates the body,
    so a request without a valid key gets 401 whatever its body holds."""
    system = request.app.state.system
    principal = system.keys.verify(x_api_key) if x_api_key else None
    if principal is None:
        _audit(system, None, request.url.path, 401, 0, request)
        raise HTTPException(401, "a valid X-API-Key header is required")
    return principal


_Caller = Annotated[Principal, Depends(_principal_of)]


def _build_app(system: CapstoneSystem):
    app = FastAPI(title="credit pre-approval assistant (lab 14)", version="1.0")
    app.state.system = system

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        # never echo the input back: field locations and messages only
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        _audit(system, None, request.url.path, 422, 0, request)
        return JSONResponse(status_code=422, content={"detail": errors})


    @app.get(f"{API_PREFIX}/health", summary="liveness")
    def health() -> dict:
        """Liveness: anyone."""
        return {"status": "ok", "system": system.name}

    @app.post(f"{API_PREFIX}/preapprove", summary="pre-approve a batch of applications")
    def preapprove(request: Request, principal: _Caller, body: _Batch) -> dict:
        """Pre-approved or referred, per application (weak: with the probability of denial)."""
        endpoint = f"{API_PREFIX}/preapprove"
        n = len(body.applications)
        if system.limiter is not None and not system.limiter.allow(principal.key_id, n):
            _audit(system, principal, endpoint, 429, n, request)
            raise HTTPException(429, "rate limit: too many applications for this key today")
        X = np.array([[getattr(a, f) for f in FEATURES] for a in body.applications],
                     dtype=np.float64)
        p = system.model.predict_proba(X)[:, 1]
        answer = {"decisions": ["referred" if v >= REFER_AT else "pre-approved" for v in p]}
        if not system.labels_only:
            answer["p_deny"] = [float(v) for v in p]
        _audit(system, principal, endpoint, 200, n, request)
        return answer

    @app.post(f"{API_PREFIX}/explain", summary="why was this application referred?")
    def explain(request: Request, principal: _Caller, body: _One) -> dict:
        """The reasons of a referral (weak: contributions and a counterfactual applicant)."""
        endpoint = f"{API_PREFIX}/explain"
        if (system.explain_limiter is not None
                and not system.explain_limiter.allow(principal.key_id, 1)):
            _audit(system, principal, endpoint, 429, 1, request)
            raise HTTPException(429, "explanation budget of this key is spent")
        x = np.array([[getattr(body.application, f) for f in FEATURES]], dtype=np.float64)
        p = float(system.model.predict_proba(x)[0, 1])
        referred = p >= REFER_AT
        answer: dict = {"decision": "referred" if referred else "pre-approved"}
        contrib = system.model.contributions(x)[0]
        if system.coarse_explanations:
            order = np.argsort(-contrib, kind="stable")
            answer["reasons"] = ([REASONS[FEATURES[j]] for j in order[:3] if contrib[j] > 0]
                                 if referred else [])
        else:
            answer["p_deny"] = p
            if referred:
                answer["contributions"] = {f: float(c) for f, c in zip(FEATURES, contrib,
                                                                       strict=True)}
                answer["counterfactual"] = _row(system.counterfactual(x[0]))
        _audit(system, principal, endpoint, 200, 1, request)
        return answer

    return app


def _audit(system: CapstoneSystem, principal, endpoint: str, status: int, n: int,
           request) -> None:
    from ..apisec.common import outcome_of

    system.audit.record(principal, endpoint, "capstone", status, n, outcome_of(status),
                        system.audit.request_digest(request.method, request.url.path,
                                                    request.url.query),
                        method=request.method)


# --- building -----------------------------------------------------------------------------------


def _model_for(controls: tuple[str, ...]) -> CreditModel:
    features = VERIFIED_FEATURES if "verified_features" in controls else FEATURES
    if "regularised_model" in controls:
        return CreditModel(features, C=0.1, memory=False,
                           fair="fairness_mitigation" in controls)
    return CreditModel(features, C=1e3, memory=True, fair="fairness_mitigation" in controls)


def _build(seed: int, controls: tuple[str, ...], data: Dataset | None = None) -> CapstoneSystem:
    data = load_dataset("hmda", seed=seed) if data is None else data
    model = _model_for(controls).fit(data.X_train, data.y_train,
                                     data.sensitive_train["afam"].to_numpy())
    return CapstoneSystem(seed, data, model, controls)


def capstone_system(seed: int = 0) -> CapstoneSystem:
    """The weak credit pre-approval assistant of the seed, with its six planted weaknesses
    (:data:`WEAKNESSES`): HMDA split by ``seed``, the case-memory model, the API with two
    keys, and ``model.joblib`` unsigned in a new temporary folder (close the system to remove
    it: ``with capstone_system(0) as system: ...``).

    Introduced in lab 14 (Capstone).
    """
    return _build(check_seed(seed), ())


def harden(system: CapstoneSystem, controls: Iterable[str]) -> CapstoneSystem:
    """A new system: ``system``'s seed and data with the named controls of :data:`CONTROLS`
    applied on top of those it already has (the model refitted when a control changes it, a
    new API, a new artefact folder). ``system`` is left as it is (close both).

    Introduced in lab 14 (Capstone).
    """
    if not isinstance(system, CapstoneSystem):
        raise ArgumentTypeError(f"system must be a CapstoneSystem (capstone_system), got "
                                f"{type(system).__name__}")
    if system._closed:
        raise ValueError("system is closed: build a new one")
    if isinstance(controls, str) or not isinstance(controls, Iterable):
        raise ArgumentTypeError("controls must be a list of control keys (see CONTROLS), not "
                                f"{type(controls).__name__}")
    names = tuple(controls)
    for name in names:
        check_choice(name, list(CONTROLS), "control")
    if not names:
        raise ValueError("controls is empty: name at least one control of CONTROLS")
    return _build(system.seed, tuple(sorted(set(system.controls) | set(names))), system.data)
