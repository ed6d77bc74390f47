"""The security report card: five measured categories, each with its interval and a grade,
for any model an :class:`AuditTarget` describes.

A card measures what the course's labs taught, on small, stated samples:

==============  ===========================================  =====================  =========
category        the number                                   from                   interval
==============  ===========================================  =====================  =========
robustness      attack success rate at a stated budget        lab 02 (Evasion)       Wilson
privacy         membership-inference ROC AUC                  lab 05                 bootstrap
extraction      fidelity of a copy stolen with a query        lab 04 (Model theft)   Wilson or
                budget (balanced over the victim's                                   bootstrap
                decisions; overlap@10 for a ranking)
fairness        the largest gap between groups                lab 07                 bootstrap
supply_chain    failed hygiene checks (of four)               lab 11                 exact
==============  ===========================================  =====================  =========

Each category is graded A-F by :func:`grade_interval` from the cut points of
:data:`GRADE_SCALE`, on the **pessimistic end** of the interval (the upper end when higher is
worse): a number measured on a small sample cannot earn a good grade by luck. A category that
does not apply (no sensitive attribute, a ranking model without a measurement of its own) is
marked "n/a" with the reason, never given a made-up number.

:func:`report_card` runs the card; :func:`reference_target` builds the target for each of the
five reference systems (reusing the labs' helpers: ``evasion``, ``privacy``, ``extraction``,
``fairness``, ``supplychain``) and :func:`capstone_target` for lab 14's credit pre-approval
system. :func:`compare` tabulates the grade changes between two cards (before and after a
defence); :meth:`ReportCard.to_html` writes the card as one self-contained HTML file
(:mod:`~mlsec_helpers.capstone.reportcard_html`).

Nothing is cached on disk: the supply-chain checks work in a ``tempfile.mkdtemp`` folder that
the card removes before it returns.

Introduced in lab 14 (Capstone).
"""

from __future__ import annotations

import datetime as _dt
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..catalogue import check_domain
from ..stats import auc_interval, proportion
from ..validate import (
    ArgumentTypeError,
    check_array,
    check_choice,
    check_eps,
    check_int,
    check_labels,
    check_number,
    check_path,
    check_seed,
    check_str,
)

__all__ = [
    "CATEGORIES",
    "GRADES",
    "GRADE_SCALE",
    "KINDS",
    "REPORT_EPOCH",
    "Artefact",
    "AuditTarget",
    "Budget",
    "FeatureConstraints",
    "GradeScale",
    "Measurement",
    "ReportCard",
    "capstone_target",
    "card_date",
    "compare",
    "grade_interval",
    "not_applicable",
    "reference_target",
    "report_card",
    "supply_chain_checks",
]

CATEGORIES: tuple[str, ...] = ("robustness", "privacy", "extraction", "fairness",
                               "supply_chain")
"""The five categories of a card, in the order the card shows them.

Introduced in lab 14 (Capstone)."""

KINDS: tuple[str, ...] = ("tabular", "image", "text", "ranking")
"""The kinds of model a card knows how to attack: ``"tabular"`` (rows of numbers: fraud,
medical, credit), ``"image"`` (grey images (n, 1, H, W) with pixels in [0, 1]), ``"text"``
(raw strings) and ``"ranking"`` (a recommender: every category needs a measurement of its own,
see :class:`AuditTarget` ``overrides``).

Introduced in lab 14 (Capstone)."""

GRADES: tuple[str, ...] = ("A", "B", "C", "D", "F")
"""The grades, best first. Introduced in lab 14 (Capstone)."""

REPORT_EPOCH = _dt.date(2025, 1, 6)
"""The date of a card made with seed 0; seed ``s`` dates it ``s`` days later
(:func:`card_date`), so the same seed gives the same card, byte for byte, on any day.

Introduced in lab 14 (Capstone)."""


# --- grading ------------------------------------------------------------------------------------


def _thresholds(thresholds, higher_is_worse: bool) -> tuple[float, float, float, float]:
    if isinstance(thresholds, str | bytes) or not isinstance(thresholds, Sequence | np.ndarray):
        raise ValueError(f"thresholds must be four numbers (the cut points of A, B, C and D), "
                         f"got {thresholds!r}")
    cuts = tuple(check_number(t, "each threshold") for t in thresholds)
    if len(cuts) != 4:
        raise ValueError(f"thresholds must be exactly four cut points (A, B, C, D), got "
                         f"{len(cuts)}")
    steps = np.diff(cuts)
    if higher_is_worse and not np.all(steps > 0):
        raise ValueError(f"when higher is worse the thresholds must increase strictly, got "
                         f"{cuts}")
    if not higher_is_worse and not np.all(steps < 0):
        raise ValueError(f"when higher is better the thresholds must decrease strictly, got "
                         f"{cuts}")
    return cuts  # type: ignore[return-value]


def grade_interval(low: float, high: float, thresholds: Sequence[float],
                   higher_is_worse: bool = True) -> str:
    """The grade (``"A"`` to ``"F"``) of a measurement with interval ``[low, high]``, read on
    its pessimistic end: ``high`` when higher is worse (attack success, membership AUC,
    fidelity of a stolen copy, a fairness gap, failed checks), ``low`` when higher is better.

    ``thresholds`` are the four cut points of A, B, C and D. When higher is worse they increase
    strictly and the grade is the first letter whose cut point the value does not exceed
    (``value <= t[0]``: A, ``<= t[1]``: B, ``<= t[2]``: C, ``<= t[3]``: D, else F); when higher
    is better they decrease strictly and the grade is the first letter whose cut point the
    value reaches (``value >= t[0]``: A, ... else F). A value exactly on a cut point earns the
    better grade. Bad input raises ``ValueError``: ``low > high``, NaN or infinite ends,
    thresholds that are not four numbers in the right order, a ``higher_is_worse`` that is not
    a bool.

    Introduced in lab 14 (Capstone).
    """
    if not isinstance(higher_is_worse, bool | np.bool_):
        raise ArgumentTypeError(f"higher_is_worse must be True or False, got "
                                f"{higher_is_worse!r}")
    low = check_number(low, "low")
    high = check_number(high, "high")
    if low > high:
        raise ValueError(f"low must not exceed high, got low={low:g} > high={high:g}")
    cuts = _thresholds(thresholds, bool(higher_is_worse))
    value = high if higher_is_worse else low
    for letter, cut in zip(GRADES, cuts, strict=False):
        if (value <= cut) if higher_is_worse else (value >= cut):
            return letter
    return GRADES[-1]


@dataclass(frozen=True)
class GradeScale:
    """How one kind of number is graded: its category, direction, the four cut points of A,
    B, C and D (see :func:`grade_interval`), the range its bar is drawn on, and why.

    Introduced in lab 14 (Capstone).
    """

    category: str
    """The category (:data:`CATEGORIES`) this number grades."""
    metric: str
    """The number, in words (the key of :data:`GRADE_SCALE`)."""
    higher_is_worse: bool
    """True when a larger number is worse for the defender."""
    thresholds: tuple[float, float, float, float]
    """The cut points of A, B, C and D."""
    axis: tuple[float, float]
    """The range the HTML report draws the number's bar on."""
    rationale: str
    """Why these cut points, in one or two sentences."""

    def __post_init__(self):
        check_choice(self.category, CATEGORIES, "category")
        _thresholds(self.thresholds, self.higher_is_worse)

    def grade(self, low: float, high: float) -> str:
        """:func:`grade_interval` with this scale's cut points and direction."""
        return grade_interval(low, high, self.thresholds, self.higher_is_worse)

    def bands(self) -> list[tuple[str, float, float]]:
        """The (grade, from, to) bands of the scale within :attr:`axis`, best grade first."""
        lo, hi = self.axis
        cuts = [min(max(t, lo), hi) for t in self.thresholds]
        edges = [lo, *cuts, hi] if self.higher_is_worse else [hi, *cuts, lo]
        return [(g, min(a, b), max(a, b))
                for g, a, b in zip(GRADES, edges[:-1], edges[1:], strict=True)]


GRADE_SCALE: Mapping[str, GradeScale] = MappingProxyType({
    "attack success rate": GradeScale(
        "robustness", "attack success rate", True, (0.05, 0.15, 0.30, 0.50), (0.0, 1.0),
        "the share of correctly handled inputs an attacker turns, at the stated budget: under "
        "1 in 20 is an A; above half the attacks succeeding is an F"),
    "membership AUC": GradeScale(
        "privacy", "membership AUC", True, (0.55, 0.60, 0.70, 0.80), (0.4, 1.0),
        "0.5 is a coin flip: a bootstrap upper end below 0.55 means no measurable leak on the "
        "sample; above 0.8 the attack ranks most members above most non-members"),
    "fidelity": GradeScale(
        "extraction", "fidelity", True, (0.60, 0.70, 0.80, 0.90), (0.0, 1.0),
        "agreement of the stolen copy with the victim on inputs balanced over the victim's "
        "decisions (a constant guess scores 1/classes): a copy that agrees 9 times in 10 at "
        "the stated budget is a working substitute (F); one near chance is an A"),
    "overlap@10": GradeScale(
        "extraction", "overlap@10", True, (0.10, 0.20, 0.30, 0.50), (0.0, 1.0),
        "for a recommender: the share of the service's top 10 that the stolen copy also "
        "lists, averaged over real users; a copy that shares half of every list is a working "
        "substitute (F)"),
    "fairness gap": GradeScale(
        "fairness", "fairness gap", True, (0.05, 0.10, 0.20, 0.30), (0.0, 1.0),
        "the largest minus the smallest rate across groups (lab 07): a gap under 5 points "
        "at the interval's upper end is an A, one above 30 points an F. The cut points are "
        "the course's choice for comparing systems, not a legal standard"),
    "failed checks": GradeScale(
        "supply_chain", "failed checks", True, (0.5, 1.5, 2.5, 3.5), (0.0, 4.0),
        "a checklist, not a sample (the 'interval' is the count itself): safe format, "
        "signature verifies, tampered copy refused, dependencies pinned; no failed check is "
        "an A and each failed check costs one grade (the cut points sit between counts)"),
})
"""The documented grading of every number a card reports, keyed by metric (each names its
category). Every scale is read on the pessimistic end of the interval (:func:`grade_interval`).

Introduced in lab 14 (Capstone)."""


def card_date(seed: int) -> _dt.date:
    """The date printed on a card made with ``seed``: :data:`REPORT_EPOCH` plus ``seed`` days
    (never the wall clock, so the same seed gives the same report).

    Introduced in lab 14 (Capstone).
    """
    return REPORT_EPOCH + _dt.timedelta(days=check_seed(seed))


# --- measurements and cards ----------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """One category of a card: the number, its interval, the sample, what was done, how to
    improve, and (computed from :data:`GRADE_SCALE`) its grade.

    A category that does not apply has ``metric=None``, no number, and ``reason`` says why
    (:func:`not_applicable`).

    Introduced in lab 14 (Capstone).
    """

    category: str
    """One of :data:`CATEGORIES`."""
    metric: str | None
    """The key of :data:`GRADE_SCALE` that grades it; None when not applicable."""
    value: float | None
    """The measured number (None when not applicable)."""
    low: float | None
    """Lower end of its 95% interval (for a checklist: the count itself)."""
    high: float | None
    """Upper end of its 95% interval."""
    n: int
    """How many cases stand behind the number (inputs attacked, records, rows, checks)."""
    on: str
    """The sample, in words ("100 correctly classified test digits")."""
    how: str
    """What was measured and with which budget, in words."""
    improve: str
    """What would improve the grade, in words."""
    reason: str = ""
    """Why the category does not apply (empty when it does)."""
    details: Mapping = field(default_factory=dict)
    """Further numbers (secondary metrics, queries spent, per-group rates) for the reader."""

    def __post_init__(self):
        check_choice(self.category, CATEGORIES, "category")
        if self.metric is None:
            if not self.reason:
                raise ValueError("a measurement without a metric must say why (reason)")
            return
        scale = check_choice(self.metric, list(GRADE_SCALE), "metric")
        if GRADE_SCALE[scale].category != self.category:
            raise ValueError(f"metric {self.metric!r} grades {GRADE_SCALE[scale].category}, "
                             f"not {self.category}")
        for name in ("value", "low", "high"):
            check_number(getattr(self, name), name)
        if not self.low <= self.value <= self.high:
            raise ValueError(f"the interval [{self.low:g}, {self.high:g}] must hold the value "
                             f"{self.value:g}")
        check_int(self.n, "n", minimum=1)

    @property
    def applicable(self) -> bool:
        """False for a category marked not applicable."""
        return self.metric is not None

    @property
    def scale(self) -> GradeScale | None:
        """The :class:`GradeScale` of the metric (None when not applicable)."""
        return GRADE_SCALE[self.metric] if self.metric is not None else None

    @property
    def graded_on(self) -> float | None:
        """The end of the interval the grade reads (the pessimistic one)."""
        if self.scale is None:
            return None
        return self.high if self.scale.higher_is_worse else self.low

    @property
    def grade(self) -> str:
        """``"A"``-``"F"`` from :data:`GRADE_SCALE`, or ``"n/a"``."""
        if self.scale is None:
            return "n/a"
        return self.scale.grade(self.low, self.high)

    def text(self, precision: int = 3) -> str:
        """The number with its interval ("0.420 [0.330, 0.515]"), or "n/a"."""
        if not self.applicable:
            return "n/a"
        if self.metric == "failed checks":
            return f"{self.value:.0f} of {self.n}"
        p = precision
        return f"{self.value:.{p}f} [{self.low:.{p}f}, {self.high:.{p}f}]"


def not_applicable(category: str, reason: str, *, improve: str = "") -> Measurement:
    """A :class:`Measurement` that marks ``category`` not applicable, with the reason.

    Introduced in lab 14 (Capstone).
    """
    return Measurement(category, None, None, None, None, 0, "", "", improve,
                       reason=check_str(reason, "reason"))


def _from_rate(category: str, metric: str, rate, *, how: str, improve: str,
               details: Mapping | None = None, on: str | None = None) -> Measurement:
    value = float(rate.value)
    low, high = min(float(rate.low), value), max(float(rate.high), value)
    return Measurement(category, metric, value, low, high, int(rate.n),
                       on if on is not None else str(rate.on), how, improve,
                       details=dict(details or {}))


@dataclass(frozen=True)
class ReportCard:
    """A security report card: one :class:`Measurement` per category of :data:`CATEGORIES`.

    ``frame()`` is the table, ``grades`` the letters, ``to_html(path)`` the self-contained
    HTML report. ``seconds`` is how long the card took (for the lab's budget; it is printed
    nowhere in the report, which depends on the seed only).

    Introduced in lab 14 (Capstone).
    """

    name: str
    """The audited model's name."""
    kind: str
    """Its kind (:data:`KINDS`)."""
    seed: int
    """The seed of every sample and attack of the card."""
    date: _dt.date
    """The card's date (:func:`card_date` of the seed)."""
    measurements: tuple[Measurement, ...]
    """One per category, in the order of :data:`CATEGORIES`."""
    description: str = ""
    """What the model is and how it is reached (the target's description)."""
    seconds: float = 0.0
    """Wall time the card took."""
    timings: Mapping[str, float] = field(default_factory=dict, compare=False)
    """Wall time of each category (for the lab's budget; printed nowhere in the report)."""

    def __post_init__(self):
        cats = tuple(m.category for m in self.measurements)
        if cats != CATEGORIES:
            raise ValueError(f"a card needs one measurement per category in the order "
                             f"{CATEGORIES}, got {cats}")

    def measurement(self, category: str) -> Measurement:
        """The measurement of ``category``."""
        category = check_choice(category, CATEGORIES, "category")
        return self.measurements[CATEGORIES.index(category)]

    @property
    def grades(self) -> dict[str, str]:
        """``{category: grade}`` (``"n/a"`` for a category that does not apply)."""
        return {m.category: m.grade for m in self.measurements}

    def frame(self) -> pd.DataFrame:
        """One row per category: metric, value, interval, the end graded, grade, sample, and
        what was measured (``"n/a"`` rows give the reason instead)."""
        rows = []
        for m in self.measurements:
            rows.append({
                "category": m.category.replace("_", " "),
                "metric": m.metric or "not applicable",
                "value": m.value, "low": m.low, "high": m.high, "graded on": m.graded_on,
                "grade": m.grade, "sample": m.on if m.applicable else "-",
                "what was measured": m.how if m.applicable else m.reason,
            })
        return pd.DataFrame(rows)

    def to_html(self, path) -> Path:
        """Write this card as ONE self-contained HTML file at ``path`` (inline CSS and SVG,
        no script, font or other file fetched); returns the path.

        Introduced in lab 14 (Capstone).
        """
        from .reportcard_html import write_report

        return write_report([self], path, title=f"Security report card: {self.name}")

    def __repr__(self) -> str:
        letters = " ".join(f"{c}={g}" for c, g in self.grades.items())
        return f"ReportCard({self.name!r}, seed={self.seed}: {letters})"


def compare(before: ReportCard, after: ReportCard) -> pd.DataFrame:
    """The grade changes from card ``before`` to card ``after`` (a system before and after a
    defence): one row per category with both numbers, both grades, and the change in grade
    steps (positive: better; None where either is not applicable).

    Introduced in lab 14 (Capstone).
    """
    for name, card in (("before", before), ("after", after)):
        if not isinstance(card, ReportCard):
            raise ArgumentTypeError(f"{name} must be a ReportCard (report_card), got "
                                    f"{type(card).__name__}")
    rows = []
    for a, b in zip(before.measurements, after.measurements, strict=True):
        both = a.applicable and b.applicable
        steps = GRADES.index(a.grade) - GRADES.index(b.grade) if both else None
        if steps is None:
            change = "n/a"
        elif steps == 0:
            change = "same"
        else:
            change = f"{'better' if steps > 0 else 'worse'} by {abs(steps)}"
        rows.append({"category": a.category.replace("_", " "),
                     "metric": a.metric or b.metric or "not applicable",
                     f"before ({before.name})": a.text(), f"after ({after.name})": b.text(),
                     "grade before": a.grade, "grade after": b.grade, "steps": steps,
                     "change": change})
    return pd.DataFrame(rows)


# --- what a card needs from a model ------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """The sample sizes and query budgets of a card (each is stated on the card).

    Introduced in lab 14 (Capstone).
    """

    attack_inputs: int = 100
    """Robustness: how many correctly handled inputs (of the attacked classes) are attacked."""
    attack_queries: int = 60
    """Robustness: black-box queries the attacker may spend per input."""
    pgd_steps: int = 10
    """Robustness (images with a white box): PGD iterations."""
    members: int = 250
    """Privacy: members of the training set sampled, and as many non-members."""
    theft_queries: int = 200
    """Extraction: queries the thief sends through one attacker session."""
    fidelity_inputs: int = 400
    """Extraction: inputs the copy is compared on, balanced over the victim's decisions."""
    bootstrap: int = 1000
    """Resamples of every bootstrap interval."""

    def __post_init__(self):
        for name in ("attack_inputs", "attack_queries", "pgd_steps", "members",
                     "theft_queries", "fidelity_inputs"):
            check_int(getattr(self, name), name)
        check_int(self.bootstrap, "bootstrap", minimum=100)


@dataclass(frozen=True)
class FeatureConstraints:
    """What a tabular attacker may change: per feature, the largest change (0: the attacker
    cannot touch it), optional hard bounds and which features take whole values.

    Introduced in lab 14 (Capstone).
    """

    step: np.ndarray
    """The largest absolute change of each feature (0 where the attacker has no control)."""
    lower: np.ndarray | None = None
    """Hard lower bound of each feature (None: unbounded)."""
    upper: np.ndarray | None = None
    """Hard upper bound of each feature (None: unbounded)."""
    integer: np.ndarray | None = None
    """True for features that take whole values (counts, yes/no, scores)."""
    description: str = ""
    """The constraint in words, for the card ("pirat and hirat by up to 0.05")."""

    def __post_init__(self):
        step = check_array(self.step, "step", ndim=1, dtype=np.float64)
        if (step < 0).any():
            raise ValueError("step must be >= 0 for every feature")
        if not (step > 0).any():
            raise ValueError("step must let the attacker change at least one feature")
        object.__setattr__(self, "step", step)
        for name in ("lower", "upper"):
            bound = getattr(self, name)
            if bound is not None:
                bound = check_array(bound, name, ndim=1, dtype=np.float64, finite=False)
                if bound.shape != step.shape or np.isnan(bound).any():
                    raise ValueError(f"{name} must hold one bound per feature ({len(step)})")
                object.__setattr__(self, name, bound)
        if self.integer is not None:
            integer = np.asarray(self.integer)
            if integer.dtype != bool or integer.shape != step.shape:
                raise ValueError(f"integer must be a boolean mask over the {len(step)} "
                                 "features")
            object.__setattr__(self, "integer", integer)
        check_str(self.description, "description")

    @property
    def mutable(self) -> np.ndarray:
        """Indices of the features the attacker may change."""
        return np.flatnonzero(self.step > 0)

    @classmethod
    def relative(cls, X_train, relative: float = 0.05, *, mutable=None,
                 description: str = "") -> FeatureConstraints:
        """Every feature (or those in ``mutable``, indices) may move by ``relative`` times its
        median in ``X_train``: lab 02's measurement tolerance
        (``evasion.measurement_tolerance``). Features whose median is 0 stay fixed.

        Introduced in lab 14 (Capstone).
        """
        from ..evasion import measurement_tolerance

        step = measurement_tolerance(X_train, relative)
        if mutable is not None:
            keep = np.zeros(len(step), dtype=bool)
            keep[np.asarray(mutable, dtype=np.int64)] = True
            step = np.where(keep, step, 0.0)
        text = description or (f"each feature within {relative:.0%} of its training median "
                               "(lab 02's measurement tolerance)")
        return cls(step=step, description=text)

    def check(self, n_features: int) -> FeatureConstraints:
        """Self, after checking it describes ``n_features`` features."""
        if len(self.step) != n_features:
            raise ValueError(f"the constraints describe {len(self.step)} features, the data "
                             f"has {n_features}")
        return self

    def clip(self, candidates: np.ndarray, origin: np.ndarray) -> np.ndarray:
        """``candidates`` moved back into the box around ``origin``, the bounds, and whole
        values where :attr:`integer` says so."""
        out = np.clip(candidates, origin - self.step, origin + self.step)
        if self.integer is not None:
            out = np.where(self.integer, np.round(out), out)
        if self.lower is not None:
            out = np.maximum(out, self.lower)
        if self.upper is not None:
            out = np.minimum(out, self.upper)
        return out


@dataclass(frozen=True)
class Artefact:
    """The model as shipped, for the supply-chain checks.

    Introduced in lab 14 (Capstone).
    """

    path: Path
    """The model file or folder as it ships."""
    loader: Callable[[Path], object] | None = None
    """The deployment's loader: called with a path (a copy of ``path``), returns the model or
    raises to refuse it. None: the card cannot offer it a tampered copy (a failed check)."""
    verify: Callable[[Path], bool] | None = None
    """The publisher's integrity check (a signature over the files): True when the files at
    the given path verify. None: the model is not signed (a failed check)."""
    requirements: Path | None = None
    """The dependency list the model runs with (a ``pyproject.toml`` or a
    ``requirements.txt``). None: no pinned dependencies (a failed check)."""
    description: str = ""
    """How it is packaged, in words."""

    def __post_init__(self):
        object.__setattr__(self, "path", check_path(self.path, "artefact path",
                                                    kind="exists"))
        for name in ("loader", "verify"):
            fn = getattr(self, name)
            if fn is not None and not callable(fn):
                raise ArgumentTypeError(f"{name} must be callable or None")
        if self.requirements is not None:
            object.__setattr__(self, "requirements",
                               check_path(self.requirements, "requirements", kind="file"))


def _default_refusals() -> tuple[type[BaseException], ...]:
    from ..extraction import QueryBudgetExceeded

    return (QueryBudgetExceeded,)


@dataclass
class AuditTarget:
    """What a report card needs from a model: point it at any classifier (scikit-learn, torch,
    or a web API) by filling these fields, or use :meth:`from_sklearn`.

    Three ways of reaching the model, because the three parties see different things:

    * the **auditor** sees the model's decisions (``predict``) and, where it has them, its
      probabilities (``predict_proba``), without limits: fairness and the fidelity of a stolen
      copy are judged on them;
    * **one query** of the deployed interface (``answer``) returns what an outside user gets:
      rows of probabilities (an (n, classes) array, possibly rounded) or labels only (an (n,)
      array); the robustness and privacy attacks see only these answers;
    * an **attacker session** (``attacker_session()``, e.g. one API key) is the interface
      with its quotas and rate limits: the thief of the extraction category works through one
      session, and stops when it refuses a query (one of ``refusals``).

    Inputs are rows of ``X_*``: an (n, features) array for ``"tabular"``, (n, 1, H, W) images
    with pixels in [0, 1] for ``"image"``, a 1-D array or list of strings for ``"text"``.
    Labels are integers 0..k-1. Each field is documented below; for a student's torch image
    model, for example::

        AuditTarget("my CNN", "image", X_test, y_test, X_members=X_train, y_members=y_train,
                    predict_proba=lambda X: systems.torch_predict_proba(net, X),
                    white_box=net, eps=0.1)

    Introduced in lab 14 (Capstone).
    """

    name: str
    """The model's name, printed on the card."""
    kind: str
    """One of :data:`KINDS`: which attacks apply."""
    X_eval: object
    """Evaluation inputs, never trained on (attacked, judged for fairness)."""
    y_eval: object
    """Their true labels."""
    X_members: object = None
    """Known training records (privacy; None: privacy is not applicable)."""
    y_members: object = None
    """Their labels."""
    X_nonmembers: object = None
    """Records known to be outside the training set (default: ``X_eval``)."""
    y_nonmembers: object = None
    """Their labels."""
    predict: Callable | None = None
    """The auditor's view: the model's decision for each input (default: the class of the
    largest probability of ``predict_proba``)."""
    predict_proba: Callable | None = None
    """The auditor's view: the model's (n, classes) probabilities, if it has them."""
    answer: Callable | None = None
    """One query of the deployed interface, without quota: probability rows (possibly rounded
    or one-hot) or labels (default: ``predict_proba``, else ``predict``). Robustness and
    privacy attack through it."""
    attacker_session: Callable[[], Callable] | None = None
    """Opens a fresh attacker session (one API key, one account) and returns its query
    function, with the interface's quotas; the thief of the extraction category uses one
    (default: ``answer`` without limits)."""
    refusals: tuple[type[BaseException], ...] = ()
    """Exception types by which a session refuses a query (lab 04's
    ``QueryBudgetExceeded`` always counts)."""
    X_pool: object = None
    """The inputs the thief queries (default: at most half of ``X_eval``, drawn at random)."""
    X_fidelity: object = None
    """Fresh inputs the stolen copy is compared on (default: the rest of ``X_eval``, or all
    of it when ``X_pool`` is given)."""
    sensitive: object = None
    """One group label per row of ``X_eval`` (None: fairness is not applicable)."""
    sensitive_name: str = "group"
    """What the groups are, in words ("race (afam)")."""
    positive_class: int = 1
    """The decision whose rate fairness compares (a referral, a fraud flag, a scam flag)."""
    decision_threshold: float | None = None
    """For a binary model that decides class 1 when its probability reaches a threshold other
    than 0.5 (a referral policy): that threshold, so that probability answers are read as the
    decisions they stand for."""
    fairness_metric: str = "equalized_odds"
    """One of ``fairness.DISPARITY_METRICS`` (lab 07)."""
    attack_classes: tuple[int, ...] | None = None
    """The true classes whose inputs an attacker wants to move (None: every class)."""
    constraints: FeatureConstraints | None = None
    """Tabular: what an attacker may change, and by how much (None: robustness is not
    applicable)."""
    eps: float = 0.1
    """Images: the L-infinity budget on [0, 1] pixels."""
    white_box: object = None
    """Images: a course system with ``art_estimator()`` or a torch module giving logits; then
    the attack is lab 02's PGD (else a weak black-box search)."""
    text_attacks: tuple[str, ...] = ("homoglyph", "zero_width", "leetspeak", "typo")
    """Text: lab 02's perturbations (``evasion.TEXT_ATTACKS``) the attacker may use."""
    artefact: Artefact | Callable[[Path], Artefact] | None = None
    """The model as shipped: an :class:`Artefact`, or a function that writes one into the
    empty folder it is given (the card calls it in its temporary folder), or None
    (supply chain not applicable)."""
    budget: Budget = field(default_factory=Budget)
    """Sample sizes and query budgets (:class:`Budget`)."""
    overrides: Mapping[str, Callable] = field(default_factory=dict)
    """``{category: fn(target, seed) -> Measurement}``: a measurement of the target's own (a
    recommender's; a lab's domain-specific attack)."""
    not_applicable: Mapping[str, str] = field(default_factory=dict)
    """``{category: reason}``: categories that do not apply, with the reason."""
    description: str = ""
    """What the model is and how it is reached, printed on the card."""

    def __post_init__(self):
        self.name = check_str(self.name, "name")
        self.kind = check_choice(self.kind, KINDS, "kind of model")
        if not isinstance(self.budget, Budget):
            raise ArgumentTypeError(f"budget must be a Budget, got {type(self.budget).__name__}")
        for key in (*self.overrides, *self.not_applicable):
            check_choice(key, CATEGORIES, "category")
        for key, fn in self.overrides.items():
            if not callable(fn):
                raise ArgumentTypeError(f"overrides[{key!r}] must be callable (target, seed)")
        if set(self.overrides) & set(self.not_applicable):
            raise ValueError("a category cannot be both overridden and not applicable")
        self.X_eval = self._inputs(self.X_eval, "X_eval")
        self.y_eval = check_labels(self.y_eval, len(self.X_eval), "y_eval")
        if self.X_members is not None:
            self.X_members = self._inputs(self.X_members, "X_members")
            self.y_members = check_labels(self.y_members, len(self.X_members), "y_members")
        if self.X_nonmembers is None:
            self.X_nonmembers, self.y_nonmembers = self.X_eval, self.y_eval
        else:
            self.X_nonmembers = self._inputs(self.X_nonmembers, "X_nonmembers")
            self.y_nonmembers = check_labels(self.y_nonmembers, len(self.X_nonmembers),
                                             "y_nonmembers")
        for name in ("X_pool", "X_fidelity"):
            if getattr(self, name) is not None:
                setattr(self, name, self._inputs(getattr(self, name), name))
        for name in ("predict", "predict_proba", "answer", "attacker_session"):
            fn = getattr(self, name)
            if fn is not None and not callable(fn):
                raise ArgumentTypeError(f"{name} must be callable or None, got "
                                        f"{type(fn).__name__}")
        if self.kind != "ranking":
            if self.predict is None and self.predict_proba is None:
                raise ValueError("a classifier target needs predict or predict_proba")
            if self.predict is None:
                proba_fn = self.predict_proba
                self.predict = lambda X: _answers(proba_fn, X, "predict_proba").argmax(1)
            if self.answer is None:
                self.answer = self.predict_proba if self.predict_proba is not None \
                    else self.predict
            if self.attacker_session is None:
                answer = self.answer
                self.attacker_session = lambda: answer
        if isinstance(self.refusals, type):
            self.refusals = (self.refusals,)
        self.refusals = tuple(self.refusals) + _default_refusals()
        for exc in self.refusals:
            if not (isinstance(exc, type) and issubclass(exc, BaseException)):
                raise ArgumentTypeError("refusals must be exception types")
        if self.sensitive is not None:
            groups = np.asarray(self.sensitive)
            if groups.ndim != 1 or len(groups) != len(self.X_eval):
                raise ValueError(f"sensitive must hold one group per evaluation row "
                                 f"({len(self.X_eval)}), got shape {groups.shape}")
            if len(np.unique(groups)) < 2:
                raise ValueError("sensitive must hold at least two groups")
            self.sensitive = groups
        self.sensitive_name = check_str(self.sensitive_name, "sensitive_name")
        self.positive_class = check_int(self.positive_class, "positive_class", minimum=0)
        if self.decision_threshold is not None:
            self.decision_threshold = check_number(self.decision_threshold,
                                                   "decision_threshold", low=0.0, high=1.0,
                                                   low_open=True, high_open=True)
        from ..fairness import DISPARITY_METRICS

        self.fairness_metric = check_choice(self.fairness_metric, DISPARITY_METRICS,
                                            "fairness metric")
        if self.attack_classes is not None:
            self.attack_classes = tuple(check_int(c, "attack class", minimum=0)
                                        for c in self.attack_classes)
        if self.constraints is not None:
            if not isinstance(self.constraints, FeatureConstraints):
                raise ArgumentTypeError("constraints must be a FeatureConstraints")
            if self.kind == "tabular":
                self.constraints.check(self.X_eval.shape[1])
        self.eps = check_eps(self.eps)
        from ..evasion import TEXT_ATTACKS

        self.text_attacks = tuple(check_choice(a, TEXT_ATTACKS, "text attack")
                                  for a in self.text_attacks)
        if self.artefact is not None and not (isinstance(self.artefact, Artefact)
                                              or callable(self.artefact)):
            raise ArgumentTypeError("artefact must be an Artefact, a function writing one, "
                                    "or None")
        self.description = check_str(self.description, "description")

    def _inputs(self, X, name: str):
        if self.kind == "text":
            if isinstance(X, str):
                raise ArgumentTypeError(f"{name} must be a list of texts, not one string")
            arr = np.asarray(list(X), dtype=object)
            if arr.ndim != 1 or not all(isinstance(t, str) for t in arr):
                raise ArgumentTypeError(f"{name} must be a 1-D sequence of strings")
            return arr
        if self.kind == "image":
            from ..validate import check_images

            return check_images(X, name)
        if self.kind == "ranking":
            return np.asarray(X)
        return check_array(X, name, ndim=2, dtype=np.float64)

    @classmethod
    def from_sklearn(cls, model, X_train, y_train, X_test, y_test, sensitive=None,
                     artefact=None, *, name: str | None = None, outputs: str = "proba",
                     constraints: FeatureConstraints | None = None, positive_class: int = 1,
                     fairness_metric: str = "equalized_odds", attack_classes=None,
                     sensitive_name: str = "group", budget: Budget | None = None,
                     description: str = "") -> AuditTarget:
        """The target for a fitted scikit-learn classifier on tabular data.

        ``X_train``/``y_train`` are its training data (the members), ``X_test``/``y_test``
        held-out data (the evaluation set and the non-members); ``sensitive`` holds one group
        per test row (or None); ``artefact`` is an :class:`Artefact` or the path of the model
        file as shipped (then it is loaded with ``joblib.load`` if it is a pickle, skops if
        it is a skops file, and counts as unsigned, with no dependency list). ``outputs``:
        what the model's users get, ``"proba"`` (probability rows) or ``"labels"``.
        ``constraints`` defaults to lab 02's measurement tolerance (5% of each feature's
        training median, :meth:`FeatureConstraints.relative`).

        Introduced in lab 14 (Capstone).
        """
        for method in ("predict", "predict_proba"):
            if not callable(getattr(model, method, None)):
                raise ArgumentTypeError(f"model must be a fitted scikit-learn classifier with "
                                        f"{method}, got {type(model).__name__}")
        outputs = check_choice(outputs, ("proba", "labels"), "outputs")
        X_train = check_array(X_train, "X_train", ndim=2, dtype=np.float64)
        y_train = check_labels(y_train, len(X_train), "y_train")
        X_test = check_array(X_test, "X_test", ndim=2, dtype=np.float64)
        y_test = check_labels(y_test, len(X_test), "y_test")
        if X_train.shape[1] != X_test.shape[1]:
            raise ValueError(f"X_train and X_test must have the same features, got "
                             f"{X_train.shape[1]} and {X_test.shape[1]}")
        if artefact is not None and not isinstance(artefact, Artefact):
            artefact = _plain_artefact(artefact)
        classes = getattr(model, "classes_", None)
        if classes is not None and not np.array_equal(np.asarray(classes),
                                                      np.arange(len(classes))):
            raise ValueError("the model's classes_ must be 0..k-1 (encode the labels as "
                             f"integers first), got {list(classes)}")

        def proba(X):
            return model.predict_proba(np.asarray(X, dtype=np.float64))

        def labels(X):
            return np.asarray(model.predict(np.asarray(X, dtype=np.float64))).astype(np.int64)

        gets = "probabilities" if outputs == "proba" else "labels"
        return cls(
            name=name or type(model).__name__, kind="tabular", X_eval=X_test, y_eval=y_test,
            X_members=X_train, y_members=y_train, predict=labels, predict_proba=proba,
            answer=proba if outputs == "proba" else labels, sensitive=sensitive,
            sensitive_name=sensitive_name, positive_class=positive_class,
            fairness_metric=fairness_metric, attack_classes=attack_classes,
            constraints=constraints if constraints is not None else _default_box(X_train),
            artefact=artefact, budget=budget or Budget(),
            description=description or (f"a scikit-learn {type(model).__name__}; its users "
                                        f"get {gets}"),
        )


def _default_box(X_train) -> FeatureConstraints | None:
    """Lab 02's measurement tolerance, or None when it would fix every feature (medians 0)."""
    try:
        return FeatureConstraints.relative(X_train)
    except ValueError:
        return None


def _plain_artefact(path) -> Artefact:
    """An artefact given as a bare path: loaded as its bytes say, unsigned, no pins."""
    from ..supplychain import file_format

    path = check_path(path, "artefact", kind="exists")
    fmt = file_format(path) if path.is_file() else "folder"

    def load(copy: Path):
        if fmt == "skops":
            import skops.io

            return skops.io.load(copy, trusted=skops.io.get_untrusted_types(file=copy))
        if fmt == "unknown" and copy.suffix == ".safetensors":
            import safetensors.numpy

            return safetensors.numpy.load_file(copy)
        import joblib

        return joblib.load(copy)  # what a deployment without checks does

    return Artefact(path, loader=load, description=f"a {fmt} file, no signature")


# --- answers and small helpers ------------------------------------------------------------------


def _as_batch(X):
    return list(X) if isinstance(X, np.ndarray) and X.dtype == object else X


def _answers(fn: Callable, X, what: str = "answer") -> np.ndarray:
    """Call ``fn`` on a batch and check what came back: probability rows or labels."""
    out = np.asarray(fn(_as_batch(X)))
    n = len(X)
    if out.ndim == 2:
        if len(out) != n:
            raise ValueError(f"{what} must answer one row per input ({n}), got shape "
                             f"{out.shape}")
        out = out.astype(np.float64)
        if not np.isfinite(out).all() or out.min(initial=0) < -1e-9 or \
                out.max(initial=0) > 1 + 1e-6:
            raise ValueError(f"{what} must return probabilities in [0, 1], got values from "
                             f"{np.nanmin(out):g} to {np.nanmax(out):g}")
        if out.shape[1] < 2 or not np.allclose(out.sum(1), 1.0, atol=1e-3):
            raise ValueError(f"{what} must return probability rows that sum to 1 (n, "
                             "classes >= 2)")
        return np.clip(out, 0.0, 1.0)
    if out.ndim == 1:
        return check_labels(out, n, f"labels from {what}")
    raise ValueError(f"{what} must return (n, classes) probabilities or (n,) labels, got "
                     f"shape {out.shape}")


def _labels_of(answers: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """The decision each answer stands for: the label itself, the class of the largest
    probability, or (binary, with a decision ``threshold``) class 1 where p1 >= threshold."""
    if answers.ndim == 1:
        return answers
    if threshold is not None and answers.shape[1] == 2:
        return (answers[:, 1] >= threshold).astype(np.int64)
    return answers.argmax(1)


def _sample(gen: np.random.Generator, n_have: int, n_want: int) -> np.ndarray:
    return np.sort(gen.permutation(n_have)[:min(n_have, n_want)])


# --- robustness ---------------------------------------------------------------------------------


def _attacked_inputs(target: AuditTarget, gen) -> tuple[np.ndarray, str]:
    y = target.y_eval
    pred = np.asarray(target.predict(_as_batch(target.X_eval)))
    mask = pred == y
    if target.attack_classes is not None:
        mask &= np.isin(y, target.attack_classes)
    pool = np.flatnonzero(mask)
    if not len(pool):
        raise ValueError("no evaluation input of the attacked classes is handled correctly: "
                         "nothing to attack")
    idx = pool[_sample(gen, len(pool), target.budget.attack_inputs)]
    which = ("" if target.attack_classes is None
             else f" of class {'/'.join(map(str, target.attack_classes))}")
    return idx, which


def _box_attack(answer: Callable, X: np.ndarray, y: np.ndarray, box: FeatureConstraints,
                queries: int, seed: int, threshold: float | None = None
                ) -> tuple[np.ndarray, np.ndarray, bool]:
    """A black-box attack inside a per-feature box, written by hand because no library does
    this for arbitrary tabular models: lab 02's tabular attacks are domain-specific
    (``constrained_fraud_attack`` rewrites fraud transaction frames, ``worst_case_linear``
    needs a linear model's weights), and ART's black-box attacks (HopSkipJump, Boundary) take
    one global clip range, not a mutable mask with per-feature steps and whole-number
    features.

    With probability answers: one-sided finite differences on each mutable feature (one query
    each) give the direction that lowers the true class's probability; the attack jumps to
    that corner of the box, then spends the remaining queries on a random local search
    around it (a few signs flipped, kept when the probability drops). With labels only: the
    budget goes to random points of the box's corners and faces. An input evades when the
    answer's decision (:func:`_labels_of` with ``threshold``) leaves its true class. Returns
    (evaded, queries used, probability access).
    """
    gen = np.random.default_rng(seed)
    n, d = X.shape
    mut = box.mutable
    first = _answers(answer, X)
    proba = first.ndim == 2 and not _one_hot(first)
    used = np.ones(n, dtype=np.int64)
    evaded = _labels_of(first, threshold) != y
    rows = np.arange(n)

    def p_true(ans, owners):
        return ans[np.arange(len(owners)), y[owners]] if proba else None

    best = X.copy()
    if proba:
        best_p = first[rows, y]
        active = np.flatnonzero(~evaded)
        n_fd = min(len(mut), max(0, queries - 2))
        fd = mut if n_fd == len(mut) else np.sort(gen.choice(mut, n_fd, replace=False))
        direction = np.zeros((n, d))
        direction[:, mut] = gen.choice([-1.0, 1.0], size=(n, len(mut)))
        if len(active) and len(fd):
            cands = np.repeat(X[active], len(fd), axis=0)
            owners = np.repeat(active, len(fd))
            cols = np.tile(fd, len(active))
            cands[np.arange(len(cands)), cols] += box.step[cols]
            cands = box.clip(cands, X[owners])
            ans = _answers(answer, cands)
            used[active] += len(fd)
            delta = p_true(ans, owners) - best_p[owners]
            sign = np.where(delta > 0, -1.0, np.where(delta < 0, 1.0, 0.0))
            keep = sign != 0
            direction[owners[keep], cols[keep]] = sign[keep]
            hit = _labels_of(ans, threshold) != y[owners]
            for k in np.flatnonzero(hit):
                if not evaded[owners[k]]:
                    evaded[owners[k]] = True
        active = np.flatnonzero(~evaded & (used < queries))
        if len(active):
            corner = box.clip(X[active] + direction[active] * box.step, X[active])
            ans = _answers(answer, corner)
            used[active] += 1
            evaded[active] |= _labels_of(ans, threshold) != y[active]
            better = p_true(ans, active) < best_p[active]
            best[active[better]] = corner[better]
            best_p[active[better]] = p_true(ans, active)[better]
        while True:
            active = np.flatnonzero(~evaded & (used < queries))
            if not len(active):
                break
            flip = gen.random((len(active), len(mut))) < max(0.1, 2.0 / max(len(mut), 1))
            cand = best[active].copy()
            moved = X[active][:, mut] + np.where(flip, -1.0, 1.0) * (
                best[active][:, mut] - X[active][:, mut])
            moved = np.where(flip & (best[active][:, mut] == X[active][:, mut]),
                             X[active][:, mut] + gen.choice([-1.0, 1.0], size=moved.shape)
                             * box.step[mut], moved)
            cand[:, mut] = moved
            cand = box.clip(cand, X[active])
            ans = _answers(answer, cand)
            used[active] += 1
            evaded[active] |= _labels_of(ans, threshold) != y[active]
            p = p_true(ans, active)
            better = p < best_p[active]
            best[active[better]] = cand[better]
            best_p[active[better]] = p[better]
    else:
        while True:
            active = np.flatnonzero(~evaded & (used < queries))
            if not len(active):
                break
            cand = X[active].copy()
            cand[:, mut] += gen.choice([-1.0, 0.0, 1.0], size=(len(active), len(mut)),
                                       p=[0.4, 0.2, 0.4]) * box.step[mut]
            cand = box.clip(cand, X[active])
            ans = _answers(answer, cand)
            used[active] += 1
            evaded[active] |= _labels_of(ans, threshold) != y[active]
    return evaded, used, proba


class _AnswerSystem:
    """A fitted-looking system whose predict_proba is a target's answer (for lab 02's text
    attack, which only queries predict_proba)."""

    fitted_ = True

    def __init__(self, answer):
        self._answer = answer

    def predict_proba(self, X):
        return _answers(self._answer, np.asarray(list(X), dtype=object))

    def predict(self, X):
        return self.predict_proba(X).argmax(1)


class _TorchImageSystem:
    """A bare torch image classifier (logits out, pixels in [0, 1]) with the course system's
    ``art_estimator()``, so lab 02's ART wrappers (``evasion.art_pgd``) take it."""

    fitted_ = True

    def __init__(self, model, image_shape: tuple, n_classes: int):
        self.model, self.image_shape, self.n_classes = model, tuple(image_shape), n_classes

    def art_estimator(self):
        from ..systems import art_pytorch_classifier

        return art_pytorch_classifier(self.model, self.image_shape, self.n_classes,
                                      clip_values=(0.0, 1.0))


def _text_attack(answer: Callable, texts: np.ndarray, y: np.ndarray, attacks, queries: int,
                 seed: int, threshold: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Labels-only text attack: each try perturbs a share of a message's words with one of lab
    02's character-level perturbations (``evasion.perturb_text``, a fresh seed per try), the
    share growing from 10% on the first try to every word on the last; the first try whose
    label leaves the true class wins. (Lab 02's greedy attack needs probabilities, and spends
    most of a small budget ranking the words.)"""
    from ..evasion import perturb_text

    evaded = _labels_of(_answers(answer, texts), threshold) != y
    used = np.ones(len(texts), dtype=np.int64)
    tries = max(queries - 1, 1)
    for t in range(tries):
        active = np.flatnonzero(~evaded)
        if not len(active):
            break
        share = min(1.0, 0.1 + 0.9 * t / max(tries - 1, 1))
        batch = np.array([perturb_text(texts[i], attacks[t % len(attacks)], share,
                                       seed=seed + 7919 * t + 31 * int(i)) for i in active],
                         dtype=object)
        used[active] += 1
        evaded[active] |= _labels_of(_answers(answer, batch), threshold) != y[active]
    return evaded, used


def _robustness(target: AuditTarget, seed: int) -> Measurement:
    improve = {
        "tabular": "take the features an applicant controls out of the decision or make it "
                   "monotone in them; train on attacked examples; answer labels only",
        "image": "adversarial training (lab 02's PGD training); certified defences",
        "text": "canonicalise inputs before the model (lab 02: homoglyphs, zero-width "
                "characters, leetspeak); augment training with perturbed messages",
    }.get(target.kind, "")
    if target.kind == "ranking":
        return not_applicable("robustness", "a ranking model needs a robustness measurement "
                              "of its own (overrides['robustness'])")
    gen = np.random.default_rng(seed)
    idx, which = _attacked_inputs(target, gen)
    X, y = target.X_eval[idx], target.y_eval[idx]
    budget = target.budget
    details: dict = {}
    if target.kind == "tabular":
        if target.constraints is None:
            return not_applicable("robustness", "no feature constraints given: the card "
                                  "needs to know which features an attacker controls and by "
                                  "how much (constraints)", improve=improve)
        evaded, used, proba = _box_attack(target.answer, X, y, target.constraints,
                                          budget.attack_queries, seed,
                                          target.decision_threshold)
        how = (f"black-box search through the answers ({'probabilities' if proba else 'labels'}"
               f"), at most {budget.attack_queries} queries per input, within: "
               f"{target.constraints.description or 'the given feature box'}")
        details["mean queries"] = float(used.mean())
    elif target.kind == "image":
        if target.white_box is not None:
            from ..evasion import art_fgsm, art_pgd

            system = target.white_box
            if not callable(getattr(system, "art_estimator", None)):
                n_classes = int(max(target.y_eval.max(), target.y_members.max()
                                    if target.y_members is not None else 0) + 1)
                system = _TorchImageSystem(system, X.shape[1:], max(n_classes, 2))
            X_adv = art_pgd(system, X, y, target.eps, steps=budget.pgd_steps, restarts=1,
                            seed=seed)
            evaded = np.asarray(target.predict(X_adv)) != y
            fgsm = np.asarray(target.predict(art_fgsm(system, X, y, target.eps))) != y
            details["FGSM success at the same eps"] = float(fgsm.mean())
            how = (f"white-box PGD (lab 02, adversarial-robustness-toolbox), L-infinity eps "
                   f"{target.eps:g} on [0, 1] pixels, {budget.pgd_steps} steps, one random "
                   "start")
        else:
            box = FeatureConstraints(step=np.full(X[0].size, target.eps), lower=np.zeros(
                X[0].size), upper=np.ones(X[0].size), description="")
            flat = X.reshape(len(X), -1).astype(np.float64)
            shape = X.shape[1:]

            def answer_flat(rows):
                return target.answer(np.asarray(rows, dtype=np.float32).reshape(
                    (-1, *shape)))

            evaded, used, _ = _box_attack(answer_flat, flat, y, box, budget.attack_queries,
                                          seed, target.decision_threshold)
            how = (f"black-box random search (no white box given: a weak attack, so the "
                   f"number is a lower bound), L-infinity eps {target.eps:g}, at most "
                   f"{budget.attack_queries} queries per image")
    else:  # text
        probe = _answers(target.answer, X)
        queries = max(2, min(budget.attack_queries, 30))
        if probe.ndim == 2 and not _one_hot(probe):
            from ..evasion import greedy_text_attack

            evaded = np.zeros(len(X), dtype=bool)
            for c in np.unique(y):
                rows = np.flatnonzero(y == c)
                res = greedy_text_attack(_AnswerSystem(target.answer), list(X[rows]), int(c),
                                         target.text_attacks, query_budget=queries,
                                         seed=seed, progress=False)
                evaded[rows] = res.evaded
            how = (f"lab 02's greedy text attack through the probabilities "
                   f"({', '.join(target.text_attacks)}), at most {queries} queries per message")
        else:
            evaded, used = _text_attack(target.answer, X, y, target.text_attacks, queries,
                                        seed, target.decision_threshold)
            how = (f"labels-only random search with lab 02's character-level attacks "
                   f"({', '.join(target.text_attacks)}) on a growing share of the words (10% "
                   f"to all), at most {queries} queries per message")
    noun = {"tabular": "inputs", "image": "images", "text": "messages"}[target.kind]
    on = f"{len(idx)} correctly handled test {noun}{which}"
    return _from_rate("robustness", "attack success rate", proportion(evaded, on=on),
                      how=how, improve=improve, details=details)


# --- privacy ------------------------------------------------------------------------------------


def _privacy(target: AuditTarget, seed: int) -> Measurement:
    improve = ("regularise or stop training earlier; train with DP-SGD (lab 05); answer "
               "labels or coarse scores only")
    if target.kind == "ranking":
        return not_applicable("privacy", "a ranking model needs a membership measurement of "
                              "its own (overrides['privacy'])", improve=improve)
    if target.X_members is None:
        return not_applicable("privacy", "no known members of the training set given "
                              "(X_members): membership cannot be tested", improve=improve)
    from ..privacy import cross_entropy_losses, membership_metrics

    gen = np.random.default_rng(seed + 1)
    m = min(target.budget.members, len(target.X_members), len(target.X_nonmembers))
    i_in = _sample(gen, len(target.X_members), m)
    i_out = _sample(gen, len(target.X_nonmembers), m)
    X = [target.X_members[i_in], target.X_nonmembers[i_out]]
    y = np.concatenate([target.y_members[i_in], target.y_nonmembers[i_out]])
    answers = [_answers(target.answer, part) for part in X]
    if answers[0].ndim != answers[1].ndim:
        raise ValueError("the answers changed form between calls (probabilities, then labels)")
    member = np.r_[np.ones(m, dtype=int), np.zeros(m, dtype=int)]
    if answers[0].ndim == 2 and _one_hot(np.vstack(answers)):
        answers = [_labels_of(a) for a in answers]
    if answers[0].ndim == 2:
        k = max(answers[0].shape[1], answers[1].shape[1])
        if answers[0].shape[1] != answers[1].shape[1] or y.max() >= k:
            raise ValueError("the probability rows must have one column per class")
        scores = -cross_entropy_losses(np.vstack(answers), y)
        how = ("lab 05's loss-threshold attack (Yeom et al.): the lower the cross-entropy of "
               "the answer on the true label, the more likely a member")
    else:
        scores = (np.concatenate(answers) == y).astype(np.float64)
        how = ("lab 05's gap attack on labels-only answers: a correctly answered record is "
               "called a member")
    on = (f"{m} training records and {m} records outside the training set")
    auc = auc_interval(member, scores, on=on, n_resamples=target.budget.bootstrap, seed=seed)
    mm = membership_metrics(member, scores, fpr=0.05)
    return _from_rate("privacy", "membership AUC", auc, how=how, improve=improve,
                      details={"TPR at 5% FPR": mm.tpr_at_fpr,
                               "membership advantage": mm.advantage})


# --- extraction ---------------------------------------------------------------------------------


class _TabularThief:
    """The thief's copy of a tabular model: it fits both a scaled logistic regression and
    gradient-boosted trees on the answers (probability rows as sample weights, labels as
    they come) and keeps the one that agrees better with the answers in 3-fold
    cross-validation, as a thief without the victim's labels would choose."""

    def __init__(self, seed: int, threshold: float | None = None):
        self.seed, self.threshold = seed, threshold

    def _candidates(self):
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return {"logistic regression": make_pipeline(StandardScaler(),
                                                     LogisticRegression(max_iter=2000)),
                "gradient-boosted trees": HistGradientBoostingClassifier(
                    max_iter=60, random_state=self.seed, early_stopping=False)}

    @staticmethod
    def _expand(X, answers, n_classes):
        if answers.ndim == 1:
            return X, answers, np.ones(len(X))
        k = answers.shape[1]
        Xr = np.repeat(X, k, axis=0)
        yr = np.tile(np.arange(k), len(X))
        w = answers.ravel()
        keep = w > 1e-6
        return Xr[keep], yr[keep], w[keep]

    def fit(self, X, answers):
        labels = _labels_of(answers, self.threshold)
        self.soft_ = answers.ndim == 2 and self.threshold is not None and answers.shape[1] == 2
        self.constant_ = None
        if len(np.unique(labels)) < 2:
            self.constant_ = int(labels[0]) if len(labels) else 0
            self.choice_ = "a constant (one answer class seen)"
            return self
        n_classes = answers.shape[1] if answers.ndim == 2 else int(labels.max()) + 1
        scores = {}
        fold = np.arange(len(X)) % 3
        np.random.default_rng(self.seed).shuffle(fold)
        for name, model in self._candidates().items():
            agree = []
            for f in range(3):
                tr, te = fold != f, fold == f
                Xe, ye, we = self._expand(X[tr], answers[tr], n_classes)
                if len(np.unique(ye)) < 2 or not te.any():
                    continue
                model.fit(Xe, ye, **self._weights(model, we))
                agree.append(np.mean(self._decide(model, X[te]) == labels[te]))
            scores[name] = float(np.mean(agree)) if agree else 0.0
        self.choice_ = max(scores, key=scores.get)
        self.model_ = self._candidates()[self.choice_]
        Xe, ye, we = self._expand(X, answers, n_classes)
        self.model_.fit(Xe, ye, **self._weights(self.model_, we))
        return self

    @staticmethod
    def _weights(model, w):
        from sklearn.pipeline import Pipeline

        if isinstance(model, Pipeline):
            return {f"{model.steps[-1][0]}__sample_weight": w}
        return {"sample_weight": w}

    def _decide(self, model, X):
        if self.soft_:  # the copy learnt probabilities: decide at the victim's threshold
            return (model.predict_proba(X)[:, 1] >= self.threshold).astype(np.int64)
        return np.asarray(model.predict(X)).astype(np.int64)

    def predict(self, X):
        if self.constant_ is not None:
            return np.full(len(X), self.constant_, dtype=np.int64)
        return self._decide(self.model_, X)


class _RidgeThief:
    """The thief's copy of an image model: ridge regression from pixels to the answer rows
    (closed form, like lab 04's text copy), the label its largest output."""

    def fit(self, X, answers, n_classes: int):
        from sklearn.linear_model import Ridge

        A = answers if answers.ndim == 2 else np.eye(n_classes)[answers]
        self.model_ = Ridge(alpha=10.0).fit(X.reshape(len(X), -1), A)
        self.choice_ = "ridge regression on the pixels"
        return self

    def predict(self, X):
        return np.asarray(self.model_.predict(X.reshape(len(X), -1))).argmax(1)


def _theft_sets(target: AuditTarget, seed: int):
    """The thief's pool (in query order) and the fresh inputs the copy is judged on."""
    gen = np.random.default_rng(seed + 2)
    n_q = target.budget.theft_queries
    if target.X_pool is not None:
        pool = target.X_pool
        idx = gen.permutation(len(pool))[:n_q]
        fid = target.X_fidelity if target.X_fidelity is not None else target.X_eval
        return pool, idx, fid
    order = gen.permutation(len(target.X_eval))
    idx = order[:min(n_q, len(order) // 2)]
    fid = (target.X_fidelity if target.X_fidelity is not None
           else target.X_eval[np.sort(order[len(idx):])])
    return target.X_eval, idx, fid


def _one_hot(answers: np.ndarray) -> bool:
    """True when every answer row is a one-hot decision: a labels-only interface."""
    return answers.ndim == 2 and len(answers) > 0 and bool(
        np.isin(answers, (0.0, 1.0)).all() and np.allclose(answers.sum(1), 1.0))


def _steal(target: AuditTarget, seed: int):
    """Send the thief's queries through one attacker session; stop at the first refusal.
    Returns the queried inputs, their answers, whether the session refused, the number
    answered, and the fresh inputs for fidelity."""
    pool, idx, fid = _theft_sets(target, seed)
    session = target.attacker_session()
    got, sent, refused = [], 0, False
    for start in range(0, len(idx), 25):
        rows = idx[start:start + 25]
        try:
            got.append(_answers(session, pool[rows], "the attacker session"))
        except target.refusals:
            refused = True
            break
        sent += len(rows)
    X = pool[idx[:sent]]
    if got:
        answers = np.concatenate(got) if got[0].ndim == 1 else np.vstack(got)
    else:
        answers = np.zeros(0, dtype=np.int64)
    if _one_hot(answers):
        answers = _labels_of(answers)
    return X, answers, refused, sent, fid


def _balanced(gen, labels: np.ndarray, n_total: int) -> np.ndarray:
    classes = np.unique(labels)
    per = max(1, min(n_total // len(classes), min(int((labels == c).sum()) for c in classes)))
    return np.sort(np.concatenate([gen.permutation(np.flatnonzero(labels == c))[:per]
                                   for c in classes]))


def _extraction(target: AuditTarget, seed: int) -> Measurement:
    improve = ("answer labels only, not probabilities; a per-key query budget and rate limit; "
               "watch the query stream (lab 04's PRADA); watermark the model to prove theft")
    if target.kind == "ranking":
        return not_applicable("extraction", "a ranking model needs an extraction measurement "
                              "of its own (overrides['extraction'])", improve=improve)
    from ..extraction import fidelity, steal_text_model

    X, answers, refused, sent, X_fid = _steal(target, seed)
    gen = np.random.default_rng(seed + 3)
    victim_all = np.asarray(target.predict(_as_batch(X_fid))).astype(np.int64)
    idx = _balanced(gen, victim_all, target.budget.fidelity_inputs)
    victim = victim_all[idx]
    n_classes = int(max(victim_all.max(), target.y_eval.max()) + 1)
    if answers.ndim == 2:
        n_classes = max(n_classes, answers.shape[1])
    threshold = target.decision_threshold
    if sent < 2 or len(np.unique(_labels_of(answers, threshold))) < 2:
        seen = _labels_of(answers, threshold)
        guess = int(np.bincount(seen).argmax()) if sent else 0
        copy, choice = np.full(len(idx), guess), "a constant guess (too few answers)"
    elif target.kind == "text":
        rows = answers if answers.ndim == 2 else np.eye(n_classes)[answers]
        thief = steal_text_model(list(X), rows, labels_only=answers.ndim == 1)
        copy, choice = thief.predict(list(X_fid[idx])), "lab 04's TF-IDF + ridge copy"
    elif target.kind == "image":
        thief = _RidgeThief().fit(X, answers, n_classes)
        copy, choice = thief.predict(X_fid[idx]), thief.choice_
    else:
        thief = _TabularThief(seed, threshold).fit(X, answers)
        copy, choice = thief.predict(X_fid[idx]), thief.choice_
    on = (f"{len(idx)} fresh inputs (never queried) balanced over the victim's "
          f"{len(np.unique(victim))} decisions (chance: {1 / len(np.unique(victim)):.2f})")
    rate = fidelity(np.asarray(copy), victim, on=on)
    form = "probability rows" if answers.ndim == 2 else "labels"
    how = (f"a thief sends up to {target.budget.theft_queries} queries through one attacker "
           f"session ({sent} answered, as {form}{'; then refused' if refused else ''}) and "
           f"trains {choice} on the answers; fidelity = agreement with the victim")
    return _from_rate("extraction", "fidelity", rate, how=how, improve=improve,
                      details={"queries answered": sent, "refused": refused,
                               "answers": form})


# --- fairness -----------------------------------------------------------------------------------


def _fairness(target: AuditTarget, seed: int) -> Measurement:
    improve = ("find the proxy features; post-process the thresholds per group (fairlearn's "
               "ThresholdOptimizer, lab 07) or train under a fairness constraint; reweigh")
    if target.sensitive is None:
        return not_applicable("fairness", "no sensitive attribute given: the data records no "
                              "group of people to compare", improve=improve)
    from ..fairness import disparity

    pred = np.asarray(target.predict(_as_batch(target.X_eval))).astype(np.int64)
    y_true = (target.y_eval == target.positive_class).astype(int)
    y_pred = (pred == target.positive_class).astype(int)
    groups = target.sensitive
    on = f"all {len(pred)} evaluation rows, groups by {target.sensitive_name}"
    gap = disparity(target.fairness_metric, y_true, y_pred, groups,
                    n_boot=target.budget.bootstrap, seed=seed, on=on)
    dp = disparity("demographic_parity", y_true, y_pred, groups, n_boot=100, seed=seed)
    rates = {f"rate of class {target.positive_class} for {g}": float(y_pred[groups == g].mean())
             for g in np.unique(groups)}
    how = (f"the {target.fairness_metric.replace('_', ' ')} gap (fairlearn's definition, lab 07) "
           f"of decision {target.positive_class} across {target.sensitive_name}, with a "
           "bootstrap interval (rows resampled within each group)")
    return _from_rate("fairness", "fairness gap", gap, how=how, improve=improve,
                      details={"demographic parity gap": dp.value, **rates}, on=on)


# --- supply chain -------------------------------------------------------------------------------


def _files_of(path: Path) -> list[Path]:
    return [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())


def supply_chain_checks(artefact: Artefact, workdir, *, seed: int = 0,
                        trials: int = 5) -> pd.DataFrame:
    """The four hygiene checks of lab 11 on a shipped model, one row each (check, passed,
    evidence), working on copies inside ``workdir`` (an existing folder):

    1. **safe format**: no file of the artefact is a pickle stream or a compressed one
       (``supplychain.contains_pickle``, ``supplychain.file_format``);
    2. **signature verifies**: the publisher's ``verify`` accepts the genuine files;
    3. **tampered copy refused**: ``trials`` copies, each with one bit flipped in its largest
       file (``supplychain.flip_bit``, seeds ``seed``..), are all refused by the ``loader``
       (it raises);
    4. **dependencies pinned**: every requirement of ``requirements`` is an exact ``==``
       pin that the installed version matches (``supplychain.pinned_requirements``).

    Introduced in lab 14 (Capstone).
    """
    from ..supplychain import contains_pickle, file_format, flip_bit

    if not isinstance(artefact, Artefact):
        raise ArgumentTypeError(f"artefact must be an Artefact, got {type(artefact).__name__}")
    workdir = check_path(workdir, "workdir", kind="dir")
    trials = check_int(trials, "trials")
    seed = check_seed(seed)
    rows = []
    files = _files_of(artefact.path)
    unsafe = [f.name for f in files if contains_pickle(f) or file_format(f) in (
        "pickle", "zlib", "gzip", "bz2", "lzma", "xz")]
    rows.append({"check": "safe format", "passed": not unsafe and bool(files),
                 "evidence": (f"pickle-based: {', '.join(unsafe)}" if unsafe else
                              f"{len(files)} file(s), none a pickle stream")})
    if artefact.verify is None:
        rows.append({"check": "signature verifies", "passed": False,
                     "evidence": "no signature shipped"})
    else:
        try:
            ok = bool(artefact.verify(artefact.path))
            evidence = "the genuine files verify" if ok else "the genuine files do not verify"
        except Exception as exc:  # a verifier that raises has not verified
            ok, evidence = False, f"verification failed: {type(exc).__name__}"
        rows.append({"check": "signature verifies", "passed": ok, "evidence": evidence})
    if artefact.loader is None:
        rows.append({"check": "tampered copy refused", "passed": False,
                     "evidence": "no loader given: nothing refuses a copy"})
    else:
        refused = 0
        for t in range(trials):
            copy = workdir / f"tampered{t}" / artefact.path.name
            if artefact.path.is_dir():
                shutil.copytree(artefact.path, copy)
            else:
                copy.parent.mkdir(parents=True)
                shutil.copy2(artefact.path, copy)
            target_file = max(_files_of(copy), key=lambda p: p.stat().st_size)
            size = target_file.stat().st_size
            flip_bit(target_file, seed=seed + t, start=size // 2, end=size)
            try:
                artefact.loader(copy)
            except Exception:  # refusing is raising, whatever the loader's error type
                refused += 1
            shutil.rmtree(copy.parent)
        rows.append({"check": "tampered copy refused", "passed": refused == trials,
                     "evidence": f"{refused} of {trials} copies with one flipped bit refused"})
    if artefact.requirements is None:
        rows.append({"check": "dependencies pinned", "passed": False,
                     "evidence": "no dependency list shipped"})
    else:
        pins = _requirements(artefact.requirements)
        loose = pins.loc[~(pins["exact"] & pins["matches"]), "package"].tolist()
        rows.append({"check": "dependencies pinned", "passed": bool(len(pins)) and not loose,
                     "evidence": (f"{len(pins)} requirements, all pinned and installed as "
                                  "pinned" if not loose else
                                  f"not pinned or not matching: {', '.join(loose[:5])}")})
    return pd.DataFrame(rows)


def _requirements(path: Path) -> pd.DataFrame:
    from ..supplychain import pinned_requirements

    if path.suffix == ".toml":
        return pinned_requirements(path)
    from importlib import metadata

    from packaging.requirements import Requirement

    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        try:
            installed = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            installed = None
        exact = len(req.specifier) == 1 and next(iter(req.specifier)).operator == "=="
        rows.append({"package": req.name, "exact": exact, "installed": installed,
                     "matches": installed is not None and req.specifier.contains(
                         installed, prereleases=True)})
    return pd.DataFrame(rows, columns=["package", "exact", "installed", "matches"])


def _supply_chain(target: AuditTarget, seed: int) -> Measurement:
    improve = ("ship a safe format (safetensors, skops with an allow-list), sign it and load "
               "only after the signature verifies (lab 11); pin every dependency")
    if target.artefact is None:
        return not_applicable("supply_chain", "no model file given (artefact): the card "
                              "cannot inspect how the model ships", improve=improve)
    folder = Path(tempfile.mkdtemp(prefix="mlsec_card_"))
    try:
        artefact = target.artefact
        if not isinstance(artefact, Artefact):
            (folder / "shipped").mkdir()
            artefact = artefact(folder / "shipped")
            if not isinstance(artefact, Artefact):
                raise ArgumentTypeError("the artefact function must return an Artefact")
        (folder / "work").mkdir()
        checks = supply_chain_checks(artefact, folder / "work", seed=seed)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    failed = int((~checks["passed"]).sum())
    how = ("lab 11's checks: " + "; ".join(
        f"{r.check}: {'pass' if r.passed else 'FAIL'} ({r.evidence})"
        for r in checks.itertuples()))
    return Measurement("supply_chain", "failed checks", float(failed), float(failed),
                       float(failed), len(checks),
                       f"{len(checks)} checks on {artefact.description or artefact.path.name}",
                       how, improve,
                       details={r.check: bool(r.passed) for r in checks.itertuples()})


_MEASURE = {"robustness": _robustness, "privacy": _privacy, "extraction": _extraction,
            "fairness": _fairness, "supply_chain": _supply_chain}


def report_card(target: AuditTarget, *, seed: int) -> ReportCard:
    """Measure and grade ``target`` in the five categories (:data:`CATEGORIES`): lab 02's
    attacks for robustness, lab 05's membership inference for privacy, lab 04's theft for
    extraction, lab 07's gaps for fairness and lab 11's checks for the supply chain, each on
    the small samples of ``target.budget`` (stated on the card), all seeded by ``seed``.

    A category in ``target.not_applicable`` is marked "n/a" with its reason; one in
    ``target.overrides`` is measured by the target's own function. Returns a
    :class:`ReportCard`.

    Introduced in lab 14 (Capstone).
    """
    if not isinstance(target, AuditTarget):
        raise ArgumentTypeError(f"target must be an AuditTarget (AuditTarget(...), "
                                f"AuditTarget.from_sklearn, reference_target), got "
                                f"{type(target).__name__}")
    seed = check_seed(seed)
    start = time.perf_counter()
    out, timings = [], {}
    for category in CATEGORIES:
        began = time.perf_counter()
        if category in target.not_applicable:
            m = not_applicable(category, target.not_applicable[category])
        elif category in target.overrides:
            m = target.overrides[category](target, seed)
            if not isinstance(m, Measurement) or m.category != category:
                raise ValueError(f"overrides[{category!r}] must return a Measurement of "
                                 f"{category}")
        else:
            m = _MEASURE[category](target, seed)
        out.append(m)
        timings[category] = time.perf_counter() - began
    return ReportCard(target.name, target.kind, seed, card_date(seed), tuple(out),
                      target.description, time.perf_counter() - start, timings)


# --- the five reference systems -----------------------------------------------------------------


def _lab11_artefact(system, domain: str) -> Callable[[Path], Artefact]:
    """Lab 11's packaging of a reference system, written into the card's folder: the safe
    format (``supplychain.save_system``), a manifest, a model-signing signature with a fresh
    key pair, and ``verify_then_load`` as the loader; the repository's pins."""

    def write(folder: Path) -> Artefact:
        from ..supplychain import (
            TRUSTED_TYPES,
            check_manifest,
            make_key_pair,
            repository_pyproject,
            save_system,
            sign_model,
            verify_signature,
            verify_then_load,
            write_manifest,
        )

        model = folder / domain
        save_system(system, model)
        keys = make_key_pair(folder / "keys")
        manifest = write_manifest(model, folder / "manifest.json") and folder / "manifest.json"
        signature = sign_model(model, keys, folder / "model.sig")
        trusted = TRUSTED_TYPES.get(domain, ())

        def load(path: Path):
            return verify_then_load(path, manifest=manifest, signature=signature,
                                    public_key=keys, trusted=trusted)

        def verify(path: Path) -> bool:
            return (check_manifest(path, manifest).ok
                    and verify_signature(path, keys, signature).ok)

        fmt = "safetensors" if domain in ("image", "recommender") else "skops"
        return Artefact(model, loader=load, verify=verify,
                        requirements=repository_pyproject(),
                        description=f"lab 11's packaging ({fmt}, manifest, signature)")

    return write


def _reference_image(seed: int) -> AuditTarget:
    from ..data import load_dataset
    from ..systems import reference_system

    data = load_dataset("image", seed=0)
    system = reference_system("image", seed=0)
    return AuditTarget(
        name="digits CNN (image)", kind="image", X_eval=data.X_test, y_eval=data.y_test,
        X_members=data.X_train, y_members=data.y_train, predict=system.predict,
        predict_proba=system.predict_proba, white_box=system, eps=0.1,
        artefact=_lab11_artefact(system, "image"),
        not_applicable={"fairness": "the digits record no attribute of their writers (no "
                                    "age, sex or group); lab 07's pen-style gaps are a "
                                    "question of robustness to style"},
        budget=Budget(attack_inputs=100, members=250, theft_queries=300, fidelity_inputs=400),
        description=(f"lab 00's digit reader ({system.source_}; the seed-0 checkpoint for "
                     f"every seed, as labs 07 and 10 do); its API answers probabilities"))


def _reference_nlp(seed: int) -> AuditTarget:
    from ..data import load_dataset
    from ..extraction import surrogate_corpus
    from ..systems import reference_system

    data = load_dataset("nlp", seed=0)
    system = reference_system("nlp", seed=seed)
    scam = int(data.extra["scam_index"])

    def dialect_gap(target: AuditTarget, card_seed: int) -> Measurement:
        from ..fairness import scam_dialect_bias, scam_dialect_pairs

        frame = data.frame_test.iloc[_sample(np.random.default_rng(card_seed + 4),
                                             len(data.frame_test), 300)]
        pairs = scam_dialect_pairs(frame, seed=card_seed)
        res = scam_dialect_bias(system, pairs, scam_index=scam,
                                n_boot=target.budget.bootstrap, seed=card_seed)
        gap = res.fpr_gap
        on = f"{len(frame)} test messages, each in both registers ({' / '.join(pairs.registers)})"
        return Measurement(
            "fairness", "fairness gap", gap.value, min(gap.low, gap.value),
            max(gap.high, gap.value), int(gap.n), on,
            "lab 07's counterfactual pairs: the false-positive-rate gap (legitimate messages "
            "flagged as scam) between the same messages written in two registers of English",
            "counterfactual data augmentation (lab 07); audit the training labels by register",
            details={"decisions flipped by the register": res.flips.value,
                     "mean change of the scam probability": res.mean_gap})

    return AuditTarget(
        name="support triage (NLP)", kind="text", X_eval=data.X_test, y_eval=data.y_test,
        X_members=data.X_train, y_members=data.y_train, predict=system.predict,
        predict_proba=system.predict_proba, answer=system.predict,
        X_pool=np.asarray(surrogate_corpus(300, seed=seed + 1), dtype=object),
        attack_classes=(scam,), positive_class=scam,
        artefact=_lab11_artefact(system, "nlp"), overrides={"fairness": dialect_gap},
        budget=Budget(attack_inputs=40, attack_queries=30, members=250, theft_queries=300,
                      fidelity_inputs=360),
        description=(f"lab 00's TF-IDF + logistic regression triage ({system.source_}); its "
                     "users see the label only (lab 12), so every attack works from labels"))


def _reference_fraud(seed: int) -> AuditTarget:
    from ..data import load_dataset
    from ..systems import reference_system

    data = load_dataset("fraud", seed=0)
    system = reference_system("fraud", seed=seed)
    legit_scores = system.predict_proba(data.X_train)[:, 1][data.y_train == 0]
    threshold = float(np.quantile(legit_scores, 0.99))  # 1% false positives, as in lab 02

    def decide(X):
        return (system.predict_proba(np.asarray(X))[:, 1] >= threshold).astype(np.int64)

    def constrained(target: AuditTarget, card_seed: int) -> Measurement:
        from ..evasion import constrained_fraud_attack

        history = pd.concat([data.frame_train, data.frame_test], ignore_index=True)
        caught = np.flatnonzero((decide(data.X_test) == 1) & (data.y_test == 1))
        gen = np.random.default_rng(card_seed)
        rows = caught[_sample(gen, len(caught), target.budget.attack_inputs)]
        res = constrained_fraud_attack(
            system, history, len(data.frame_train) + rows, threshold, access="decision",
            query_budget=target.budget.attack_queries, seed=card_seed, progress=False)
        rate = proportion(np.asarray(res.plan["evaded"], dtype=bool),
                          on=f"{len(rows)} test frauds the scorer catches")
        return _from_rate(
            "robustness", "attack success rate", rate,
            how=(f"lab 02's constrained attack with approve/decline answers: only the "
                 f"fraudster's legal moves (category, channel, delay, splitting), at most "
                 f"{target.budget.attack_queries} queries per fraud"),
            improve="features splitting within a day cannot lower (lab 02's robust features); "
                    "adversarial training on the attack's transactions")

    sens = data.sensitive_test["customer_region"].to_numpy()
    return AuditTarget(
        name="fraud scorer (fraud)", kind="tabular", X_eval=data.X_test, y_eval=data.y_test,
        X_members=data.X_train, y_members=data.y_train, predict=decide, answer=decide,
        sensitive=sens, sensitive_name="customer region", positive_class=1,
        fairness_metric="false_positive_rate", attack_classes=(1,),
        artefact=_lab11_artefact(system, "fraud"), overrides={"robustness": constrained},
        budget=Budget(attack_inputs=40, attack_queries=50, members=250, theft_queries=300,
                      fidelity_inputs=400, bootstrap=500),
        description=(f"lab 00's gradient-boosted scorer ({system.source_}) behind an "
                     f"approve/decline API (lab 04), declining above the score {threshold:.3f} "
                     "(1% of legitimate training transactions)"))


def _reference_medical(seed: int) -> AuditTarget:
    from ..data import load_dataset
    from ..systems import reference_system

    data = load_dataset("medical", seed=0)
    system = reference_system("medical", seed=seed)
    return AuditTarget(
        name="diagnosis aid (medical)", kind="tabular", X_eval=data.X_test, y_eval=data.y_test,
        X_members=data.X_train, y_members=data.y_train, predict=system.predict,
        predict_proba=system.predict_proba,
        constraints=FeatureConstraints.relative(data.X_train, 0.05),
        artefact=_lab11_artefact(system, "medical"),
        not_applicable={"fairness": "WDBC records no attribute of the patients (no age, "
                                    "ethnicity or site): there are no groups to compare"},
        budget=Budget(attack_inputs=100, attack_queries=60, members=114, theft_queries=114,
                      fidelity_inputs=400),
        description=(f"lab 00's logistic regression on WDBC ({system.source_}); its API "
                     "answers probabilities (lab 04)"))


def _reference_recommender(seed: int) -> AuditTarget:
    import torch

    from ..data import load_dataset
    from ..systems import reference_system

    data = load_dataset("recommender", seed=0)
    system = reference_system("recommender", seed=0)
    n_users, n_items = data.extra["n_users"], data.extra["n_items"]
    eps = 0.3

    def top10(scores: np.ndarray) -> np.ndarray:
        # torch.topk on float32: a tenth of the memory of NumPy's argpartition on float64
        S = torch.as_tensor(np.asarray(scores, dtype=np.float32)).clone()
        S[data.X_train[:, 0], data.X_train[:, 1]] = -torch.inf
        return torch.topk(S, 10, dim=1).indices.numpy()

    liked = data.X_test[data.y_test >= 4.0]

    def hits(slates: np.ndarray) -> np.ndarray:
        shown = np.zeros((n_users, n_items), dtype=bool)
        shown[np.repeat(np.arange(n_users), slates.shape[1]), slates.ravel()] = True
        out = np.zeros(n_users, dtype=bool)
        np.logical_or.at(out, liked[:, 0], shown[liked[:, 0], liked[:, 1]])
        return out

    def robustness(target: AuditTarget, card_seed: int) -> Measurement:
        from ..evasion import embedding_attack, perturbed_scores

        clean = hits(top10(system.score(np.arange(n_users))))
        direction = embedding_attack(system, data.X_train, data.y_train, seed=card_seed)
        attacked = hits(top10(perturbed_scores(system, direction, eps)))
        users = np.flatnonzero(clean)
        rate = proportion(~attacked[users], on=f"{len(users)} users whose top 10 holds a film "
                                               "they go on to like")
        return _from_rate(
            "robustness", "attack success rate", rate,
            how=(f"lab 02's adversarial perturbation of the embeddings (He et al.'s APR "
                 f"direction, white box), each user's and film's vector moved by {eps:g} of "
                 "its length: the share of users who lose their liked film from the top 10"),
            improve="adversarial personalised ranking training (lab 02's apr_training)")

    def privacy(target: AuditTarget, card_seed: int) -> Measurement:
        # Each sampled user's last training rating (a member) against their first held-out
        # rating (a non-member): the same user, next to each other in time, so neither the
        # user's own bias nor much drift separates them.
        train = data.frame_train.sort_values(["user", "timestamp"], kind="stable")
        test = data.frame_test.sort_values(["user", "timestamp"], kind="stable")
        last = train.groupby("user").tail(1).set_index("user")
        first = test.groupby("user").head(1).set_index("user")
        users = np.intersect1d(last.index.to_numpy(), first.index.to_numpy())
        users = users[_sample(np.random.default_rng(card_seed + 1), len(users),
                              target.budget.members)]
        rows = [last.loc[users], first.loc[users]]
        pairs = [np.column_stack([users, r["item"].to_numpy()]).astype(np.int64) for r in rows]
        err = np.concatenate([(system.predict(p) - r["rating"].to_numpy()) ** 2
                              for p, r in zip(pairs, rows, strict=True)])
        member = np.r_[np.ones(len(users), dtype=int), np.zeros(len(users), dtype=int)]
        auc = auc_interval(member, -err, n_resamples=target.budget.bootstrap, seed=card_seed,
                           on=f"{len(users)} users: each one's last training rating and first "
                              "held-out rating")
        return _from_rate(
            "privacy", "membership AUC", auc,
            how=("membership of a rating (was this user's rating of this film in training?): "
                 "lab 05's loss attack with the squared error of the predicted rating. Every "
                 "user is a member (lab 00 holds out each user's latest ratings), so each "
                 "member is a user's last training rating and its non-member the same user's "
                 "next, held-out rating"),
            improve="stronger weight decay; DP training of the factors; serve lists, not "
                    "predicted ratings")

    def extraction_overlap(target: AuditTarget, card_seed: int) -> Measurement:
        from ..extraction import (
            ListAPI,
            candidate_items,
            overlap_at_k,
            profiles_from_ratings,
            steal_recommender,
            synthetic_profiles,
        )

        candidates = candidate_items(data.X_train, n_items, min_ratings=50)
        counts = np.bincount(data.X_train[:, 1], minlength=n_items)
        chart = np.argsort(-counts, kind="stable")[:1000]
        honest = profiles_from_ratings(data.X_train, data.y_train, np.arange(n_users)[::4])
        victim = ListAPI(system, k=10, allowed=candidates)(honest)
        budget = target.budget.theft_queries
        profiles = synthetic_profiles(chart, budget, size=(10, 40), seed=card_seed + 1)
        lists = ListAPI(system, k=10, allowed=candidates)(profiles)
        copy = steal_recommender(profiles, lists, n_items, seed=card_seed)
        rate = overlap_at_k(copy.recommend(honest, 10), victim, 10, seed=card_seed,
                            n_boot=target.budget.bootstrap,
                            on=f"the profiles of {len(honest)} real users")
        return _from_rate(
            "extraction", "overlap@10", rate,
            how=(f"lab 04's theft: {budget} made-up profiles sent to the list API (top 10 "
                 "from the candidate films), a factorisation trained on the lists; overlap@10 "
                 "with the service's lists for real users"),
            improve="a per-account quota and perturbed or truncated lists (lab 04)")

    def fairness_gap(target: AuditTarget, card_seed: int) -> Measurement:
        from ..fairness import (
            liked_hit_disparity,
            liked_hit_rows,
            long_tail_exposure,
            long_tail_split,
        )

        split = long_tail_split(data.X_train, n_items)
        slates = top10(system.score(np.arange(n_users)))
        on = f"the {len(data.y_test)} held-out ratings of {n_users} users"
        gap = liked_hit_disparity(slates, split, data.X_test, data.y_test,
                                  n_boot=target.budget.bootstrap, seed=card_seed, on=on)
        liked, shown, films = liked_hit_rows(slates, split, data.X_test, data.y_test)
        rates = {f"share of liked {g} films shown": float(shown[(liked == 1) & (films == g)]
                                                          .mean()) for g in ("head", "tail")}
        exposure = long_tail_exposure(slates, split, n_boot=100, seed=card_seed)
        return Measurement(
            "fairness", "fairness gap", gap.value, min(gap.low, gap.value),
            max(gap.high, gap.value), int(gap.n), on,
            "provider-side fairness (lab 07; MovieLens records nothing about its users): the "
            "equal-opportunity gap between popular (head) and long-tail films, the share of "
            "liked held-out films the top 10 had shown. Both shares are small, so read the "
            "gap with them (details)",
            "re-rank with a popularity penalty (lab 07's popularity_penalised)",
            details={**rates, "tail share of the top-10 slots": exposure.share,
                     "tail share of the training ratings": split.tail_share_of_ratings})

    def pairs_eval():
        return data.X_test

    return AuditTarget(
        name="film recommender (recommender)", kind="ranking", X_eval=pairs_eval(),
        y_eval=np.zeros(len(data.X_test), dtype=np.int64),
        artefact=_lab11_artefact(system, "recommender"),
        overrides={"robustness": robustness, "privacy": privacy,
                   "extraction": extraction_overlap, "fairness": fairness_gap},
        budget=Budget(members=250, theft_queries=500, bootstrap=500),
        description=(f"lab 00's matrix factorisation of MovieLens ratings ({system.source_}; "
                     "the seed-0 checkpoint for every seed); it serves top-10 lists"))


_REFERENCE = {"image": _reference_image, "nlp": _reference_nlp,
              "recommender": _reference_recommender, "fraud": _reference_fraud,
              "medical": _reference_medical}


def reference_target(domain: str, *, seed: int = 0) -> AuditTarget:
    """The :class:`AuditTarget` of lab 00's reference system of ``domain`` (``systems
    .reference_system``; the data split is seed 0's, as in every lab): what its users get, its
    members and non-members, its groups, lab 11's packaging of it, and the labs' own attacks
    where the generic card would miss the point (the fraud scorer's constrained attack of
    lab 02, the triage's dialect pairs of lab 07, all four measured categories of the
    recommender). The digits CNN and the recommender are the seed-0 checkpoints for every
    ``seed`` (training them takes longer than the card's budget); the others are trained
    with ``seed``.

    Introduced in lab 14 (Capstone).
    """
    domain = check_domain(domain)
    return _REFERENCE[domain](check_seed(seed))


# --- the capstone system ------------------------------------------------------------------------


def _capstone_answer(system, tag: str) -> Callable:
    """One query of the capstone API per row, each batch of at most ``QUERY_BUDGET`` rows
    sent with a newly issued key (keys are free: every applicant has one), so the per-key
    limit does not cut an attack that one applicant, or a few, could run."""
    from .system import QUERY_BUDGET

    counter = [0]

    def answer(X):
        X = np.asarray(X, dtype=np.float64)
        out = []
        for start in range(0, len(X), QUERY_BUDGET):
            counter[0] += 1
            api = system.proba_api(system.issue_key(f"{tag}-{counter[0]}"))
            out.append(api(X[start:start + QUERY_BUDGET]))
        return np.vstack(out)

    return answer


def _capstone_session(system) -> Callable[[], Callable]:
    """A fresh attacker session: one new API key, its answers as the API gives them; a 429
    (the key's daily budget spent) becomes lab 04's ``QueryBudgetExceeded``."""
    from ..extraction import QueryBudgetExceeded

    counter = [0]

    def session():
        counter[0] += 1
        api = system.proba_api(system.issue_key(f"card-thief-{counter[0]}"))

        def ask(X):
            try:
                return api(np.asarray(X, dtype=np.float64))
            except RuntimeError as err:
                if "429" in str(err):
                    raise QueryBudgetExceeded(str(err)) from None
                raise

        return ask

    return session


def _capstone_artefact(system) -> Artefact:
    from ..supplychain import check_manifest, repository_pyproject, verify_signature

    verify = None
    if system.signed:
        def verify(path: Path) -> bool:
            return (check_manifest(path, system.manifest_path).ok
                    and verify_signature(path, system.public_key, system.signature_path).ok)

    fmt = "skops, manifest and signature" if system.signed else "joblib, unsigned"
    return Artefact(system.model_dir, loader=system.load_model, verify=verify,
                    requirements=repository_pyproject(),
                    description=f"the lender's model folder ({fmt})")


def capstone_target(system) -> AuditTarget:
    """The :class:`AuditTarget` of lab 14's credit pre-approval system (weak or hardened, a
    ``capstone.system.CapstoneSystem``): its decisions (``refer``: 1 = referred to an
    underwriter) and probabilities for the auditor; every query of an attack goes through its
    HTTP API (``proba_api``: probabilities, or the decision only once labels and a rate limit
    are applied), each batch with a newly issued key; the thief of the extraction category
    holds one key and stops at its daily budget. Fairness compares the referral rate of
    black and other applicants (``groups_test``, demographic parity: W3); robustness lets an
    applicant change only the fields declared without proof (``DECLARED_FEATURES``: W5), the
    attack moving each of them over its whole range; the artefact is the model folder the
    service loads with ``load_model`` (W4). Close the system yourself: the target borrows it.

    Introduced in lab 14 (Capstone).
    """
    from .system import DECLARED_FEATURES, FEATURES, REFER_AT, CapstoneSystem

    if not isinstance(system, CapstoneSystem):
        raise ArgumentTypeError(f"system must be a CapstoneSystem (capstone.system."
                                f"capstone_system or harden), got {type(system).__name__}")
    if getattr(system, "_closed", False):
        raise ValueError("the system is closed: build a new one")
    data = system.data
    d = len(FEATURES)
    step, lower, upper = np.zeros(d), np.full(d, -np.inf), np.full(d, np.inf)
    integer = np.zeros(d, dtype=bool)
    for name in DECLARED_FEATURES:
        j = FEATURES.index(name)
        if name == "unemp":  # a rate in [1, 11] per cent: any value of the range
            step[j], lower[j], upper[j] = 10.0, 1.0, 11.0
        else:  # yes/no fields
            step[j], lower[j], upper[j], integer[j] = 1.0, 0.0, 1.0, True
    box = FeatureConstraints(step=step, lower=lower, upper=upper, integer=integer,
                             description=("only the fields the applicant declares without "
                                          f"proof ({', '.join(DECLARED_FEATURES)}), each over "
                                          "its whole range"))
    controls = ", ".join(system.controls) if system.controls else "none"
    access = "decisions only, rate-limited" if system.labels_only else "probabilities, no limit"
    return AuditTarget(
        name=f"credit pre-approval ({system.name})", kind="tabular",
        X_eval=data.X_test, y_eval=data.y_test, X_members=system.X_members,
        y_members=data.y_train, X_nonmembers=system.X_nonmembers, y_nonmembers=data.y_test,
        predict=system.refer, predict_proba=system.predict_proba,
        answer=_capstone_answer(system, "card"), attacker_session=_capstone_session(system),
        sensitive=np.where(system.groups_test == 1, "black", "not black"),
        sensitive_name="race (afam)", positive_class=1, decision_threshold=REFER_AT,
        fairness_metric="demographic_parity", attack_classes=(1,), constraints=box,
        artefact=_capstone_artefact(system),
        budget=Budget(attack_inputs=100, attack_queries=60, members=250, theft_queries=200,
                      fidelity_inputs=400),
        description=(f"lab 14's credit pre-approval assistant on HMDA (seed {system.seed}), "
                     f"controls: {controls}; referred when P(deny) >= {REFER_AT}; reached "
                     f"through its API ({access})"))
