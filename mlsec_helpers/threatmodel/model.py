"""Threat models and risk registers for ML systems, in the vocabulary of the field.

A :class:`ThreatModel` holds what a team writes down about one system: its **assets** (what is
worth protecting), its **actors** (who might attack it), its **entry points** (where they get
in, on a data-flow diagram with trust boundaries), its **threats** (what they might do, mapped
to MITRE ATLAS techniques, the OWASP Machine Learning Security Top 10 and the threats of this
course) and the **controls** that treat them (each tagged with its NIST CSF 2.0 function and
Google SAIF element). Every ID is checked against :mod:`mlsec_helpers.frameworks` when the object
is built, and every score against the course's likelihood x impact rubric, so a typo is an
error with a message, not a wrong register.

From a model this module derives the **risk register** (one row per threat: inherent risk,
controls applied, residual risk, the lab that treats it) and exports it to Markdown and CSV;
:mod:`.figures` draws it.

The rubric (:data:`LIKELIHOOD`, :data:`IMPACT`, :data:`RISK_BANDS`):

* likelihood and impact are whole numbers from 1 to 5; risk = likelihood x impact (1-25);
* a control lowers likelihood and/or impact by whole steps; the steps of several controls add
  up, and neither falls below 1 (a risk is reduced, never removed): see :func:`residual_risk`;
* where a probe measured an attack, :func:`likelihood_from_evidence` turns the measurement and
  the access the attacker needs into a likelihood.

Introduced in lab 01 (Threat modelling).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import frameworks
from ..catalogue import DOMAINS, THREAT_CATEGORIES, get_lab
from ..plots import COLORS
from ..validate import ArgumentTypeError, check_int, check_number, unknown_name

__all__ = [
    "ACCESS_LEVELS",
    "ACTOR_KINDS",
    "ASSET_KINDS",
    "BAND_COLORS",
    "IMPACT",
    "LIKELIHOOD",
    "NODE_KINDS",
    "REQUIRED_ASSET_KINDS",
    "RISK_BANDS",
    "Actor",
    "Asset",
    "Control",
    "DataFlow",
    "EntryPoint",
    "Flow",
    "Node",
    "ResidualFn",
    "RubricLevel",
    "Threat",
    "ThreatModel",
    "TrustBoundary",
    "canonical_name",
    "check_impact",
    "check_likelihood",
    "check_models",
    "controls_table",
    "describe_gaps",
    "gaps",
    "likelihood_from_evidence",
    "optimal_controls",
    "register_to_csv",
    "register_to_markdown",
    "residual_risk",
    "risk_band",
    "risk_score",
    "rubric_table",
    "total_residual",
]

# --------------------------------------------------------------------------------------------
# The rubric
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RubricLevel:
    """One level of the likelihood or impact scale: its number, name and criteria.

    Introduced in lab 01 (Threat modelling).
    """

    level: int
    name: str
    criteria: str


LIKELIHOOD: dict[int, RubricLevel] = {
    r.level: r
    for r in (
        RubricLevel(1, "rare", "Needs several unlikely conditions at once (e.g. an insider and "
                    "a supplier colluding); no working attack on systems like this is known."),
        RubricLevel(2, "unlikely", "Needs privileged access (insider, supplier, partner) or a "
                    "costly, skilled effort; shown in research, rarely seen in practice."),
        RubricLevel(3, "possible", "An outsider with some skill, or a partner with access, could "
                    "do it; a probe shows it works in some cases."),
        RubricLevel(4, "likely", "Anyone can try it through a public interface at little cost; "
                    "a cheap probe shows it works."),
        RubricLevel(5, "almost certain", "Cheap, public and a probe succeeds in most cases; "
                    "attackers are known to do this to systems like this one."),
    )
}
"""The likelihood scale of the course (1-5). Introduced in lab 01 (Threat modelling)."""

IMPACT: dict[int, RubricLevel] = {
    r.level: r
    for r in (
        RubricLevel(1, "negligible", "A minor inconvenience; no personal data, no money lost."),
        RubricLevel(2, "minor", "A small, contained loss or a quality drop for a few users; "
                    "easily reversed."),
        RubricLevel(3, "moderate", "Noticeable losses or a quality drop for many users, or "
                    "exposure of non-sensitive personal data."),
        RubricLevel(4, "major", "Significant financial loss, a regulatory breach, or exposure "
                    "of sensitive personal data."),
        RubricLevel(5, "severe", "Harm to people's health or safety, large fraud losses, or "
                    "loss of the service or its intellectual property; hard to reverse."),
    )
}
"""The impact scale of the course (1-5). Introduced in lab 01 (Threat modelling)."""

RISK_BANDS: tuple[tuple[int, int, str], ...] = (
    (1, 4, "low"),
    (5, 9, "medium"),
    (10, 14, "high"),
    (15, 25, "critical"),
)
"""Risk bands over the score likelihood x impact: (lowest, highest, name).

Introduced in lab 01 (Threat modelling)."""

BAND_COLORS = {"low": "#6A994E", "medium": "#EDAE49", "high": "#E07A3F", "critical": "#D1495B"}
"""The colour of each risk band in lab 01's figures. Introduced in lab 01 (Threat modelling)."""

ACCESS_LEVELS: dict[str, tuple[int, str]] = {
    "public": (4, "anyone, through a public interface, without an account"),
    "account": (3, "anyone who opens a free customer account"),
    "partner": (2, "an authenticated partner or professional user"),
    "insider": (2, "an employee or contractor with internal access"),
    "supplier": (2, "a third party whose data, software or models the system uses"),
}
"""How much access an attacker needs at an entry point, and the base likelihood it gives.

Introduced in lab 01 (Threat modelling)."""

ASSET_KINDS: tuple[str, ...] = (
    "training data",
    "labels",
    "model weights",
    "predictions",
    "personal data",
    "software",
    "availability",
)
"""The kinds of asset a threat model names. Introduced in lab 01 (Threat modelling)."""

REQUIRED_ASSET_KINDS: tuple[str, ...] = ASSET_KINDS[:5]
"""The asset kinds every ML system has and its threat model must name.

Introduced in lab 01 (Threat modelling)."""

ACTOR_KINDS: tuple[str, ...] = (
    "external attacker",
    "malicious insider",
    "compromised supplier",
    "curious or abusive user",
)
"""The kinds of threat actor. Introduced in lab 01 (Threat modelling)."""


# --------------------------------------------------------------------------------------------
# Record checks: IDs, free text, rubric scores, forgiving names (numbers, arrays and plain
# choices are checked with mlsec_helpers.validate)
# --------------------------------------------------------------------------------------------

_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


def _check_id(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{what} must be a str, got {type(value).__name__}")
    if not _ID_RE.fullmatch(value):
        raise ValueError(
            f"{what} must be a short ID of letters, digits, '-', '_' or '.', got {value!r}"
        )
    return value


def _check_text(value: object, what: str, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{what} must be a str, got {type(value).__name__}")
    if not empty and not value.strip():
        raise ValueError(f"{what} must not be empty")
    return value.strip()


_SCALES = {
    "likelihood": " (1 = rare ... 5 = almost certain, the course's rubric)",
    "impact": " (1 = negligible ... 5 = severe, the course's rubric)",
}


def _check_level(value: object, what: str, scale: str) -> int:
    # validate.check_int decides; the message keeps the rubric's words (lab 01 prints it).
    try:
        return check_int(value, what, minimum=1, maximum=5)
    except ArgumentTypeError:
        raise ArgumentTypeError(f"{what} must be an integer from 1 to 5{_SCALES[scale]}, got "
                                f"{type(value).__name__} {value!r}") from None
    except ValueError:
        raise ValueError(f"{what} must be an integer from 1 to 5{_SCALES[scale]}, got "
                         f"{value}") from None


def check_likelihood(value: object, what: str = "likelihood") -> int:
    """A likelihood on the course's rubric: an integer from 1 (rare) to 5 (almost certain).

    The error names the rubric, so a student sees the scale the score must come from.

    Introduced in lab 01 (Threat modelling).
    """
    return _check_level(value, what, "likelihood")


def check_impact(value: object, what: str = "impact") -> int:
    """An impact on the course's rubric: an integer from 1 (negligible) to 5 (severe).

    Introduced in lab 01 (Threat modelling).
    """
    return _check_level(value, what, "impact")


def canonical_name(value: object, options: Sequence[str], what: str) -> str:
    """``value`` as one of ``options``, forgiving case and ``_``/``-``/space
    (``"Membership inference"`` -> ``"membership_inference"``); else the course's
    unknown-name error (:func:`mlsec_helpers.validate.unknown_name`).

    Introduced in lab 01 (Threat modelling).
    """
    options = tuple(options)
    if isinstance(value, str):
        key = value.strip().lower()
        if key in options:
            return key
        spaced = key.replace("_", " ").replace("-", " ")
        for option in options:
            if option.replace("_", " ") == spaced:
                return option
    raise unknown_name(value, options, what)


def _tuple_of(value: object, what: str, *, min_len: int = 0) -> tuple:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Iterable):
        raise TypeError(f"{what} must be a list of IDs, got {type(value).__name__}")
    out = tuple(value)
    if len(out) < min_len:
        raise ValueError(f"{what} needs at least {min_len} ID(s), got none")
    return out


def _canon_ids(value: object, validator: Callable[[str], str], what: str,
               min_len: int = 0) -> tuple[str, ...]:
    ids = _tuple_of(value, what, min_len=min_len)
    out: list[str] = []
    for id_ in ids:
        try:
            canon = validator(id_)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{what}: {err}") from None
        if canon not in out:
            out.append(canon)
    return tuple(out)


def _local_ids(value: object, what: str, min_len: int = 0) -> tuple[str, ...]:
    ids = _tuple_of(value, what, min_len=min_len)
    out = tuple(_check_id(i, f"an ID in {what}") for i in ids)
    if len(set(out)) != len(out):
        raise ValueError(f"{what} lists an ID twice: {list(out)}")
    return out


def _set(obj, name, value):
    object.__setattr__(obj, name, value)


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Asset:
    """Something worth protecting: training data, labels, weights, predictions, personal data.

    ``kind`` is one of :data:`ASSET_KINDS`.

    Introduced in lab 01 (Threat modelling).
    """

    id: str
    name: str
    kind: str
    description: str = ""

    def __post_init__(self):
        _check_id(self.id, "asset id")
        _check_text(self.name, f"asset {self.id}: name")
        _set(self, "kind", canonical_name(self.kind, ASSET_KINDS, f"asset kind (asset {self.id})"))
        _check_text(self.description, f"asset {self.id}: description", empty=True)


@dataclass(frozen=True)
class Actor:
    """Someone who might attack the system, with a motive. ``kind``: one of :data:`ACTOR_KINDS`.

    Introduced in lab 01 (Threat modelling).
    """

    id: str
    name: str
    kind: str
    motive: str = ""

    def __post_init__(self):
        _check_id(self.id, "actor id")
        _check_text(self.name, f"actor {self.id}: name")
        _set(self, "kind", canonical_name(self.kind, ACTOR_KINDS, f"actor kind (actor {self.id})"))
        _check_text(self.motive, f"actor {self.id}: motive", empty=True)


@dataclass(frozen=True)
class EntryPoint:
    """Where an attacker gets in: a lifecycle stage, a node of the data-flow diagram, the access
    it takes (one of :data:`ACCESS_LEVELS`).

    ``stage`` is a key of :data:`mlsec_helpers.frameworks.LIFECYCLE_STAGES`.

    Introduced in lab 01 (Threat modelling).
    """

    id: str
    name: str
    stage: str
    node: str
    access: str
    description: str = ""

    def __post_init__(self):
        _check_id(self.id, "entry point id")
        _check_text(self.name, f"entry point {self.id}: name")
        _set(self, "stage", canonical_name(self.stage, tuple(frameworks.LIFECYCLE_STAGES),
                                    f"lifecycle stage (entry point {self.id})"))
        _check_id(self.node, f"entry point {self.id}: node")
        _set(self, "access", canonical_name(self.access, tuple(ACCESS_LEVELS),
                                     f"access level (entry point {self.id})"))
        _check_text(self.description, f"entry point {self.id}: description", empty=True)


@dataclass(frozen=True)
class Control:
    """A security control: what it does, its NIST CSF 2.0 function, its SAIF element, the ATLAS
    mitigations it implements, the lab that builds it, its cost and its effect.

    ``likelihood_reduction`` and ``impact_reduction`` are whole rubric steps (0-4) taken off a
    threat the control treats; ``cost`` is in person-weeks (used when a budget is short).

    Introduced in lab 01 (Threat modelling).
    """

    id: str
    name: str
    nist: str
    saif: str
    lab: int
    cost: int = 1
    likelihood_reduction: int = 0
    impact_reduction: int = 0
    atlas_mitigations: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self):
        _check_id(self.id, "control id")
        _check_text(self.name, f"control {self.id}: name")
        try:
            _set(self, "nist", frameworks.validate_nist_function(self.nist))
        except (TypeError, ValueError) as err:
            raise type(err)(f"control {self.id}: {err}") from None
        try:
            saif = frameworks.validate_saif_id(self.saif)
        except (TypeError, ValueError) as err:
            raise type(err)(f"control {self.id}: {err}") from None
        if saif not in frameworks.SAIF_ELEMENTS:
            raise ValueError(f"control {self.id}: {saif} is a SAIF risk; a control carries a "
                             f"SAIF core element ({', '.join(frameworks.SAIF_ELEMENTS)})")
        _set(self, "saif", saif)
        try:
            get_lab(self.lab)
        except (TypeError, ValueError) as err:
            raise type(err)(f"control {self.id}: {err}") from None
        check_int(self.cost, f"control {self.id}: cost (person-weeks)", minimum=0,
                  maximum=1000)
        check_int(self.likelihood_reduction, f"control {self.id}: likelihood_reduction (rubric "
                  "steps)", minimum=0, maximum=4)
        check_int(self.impact_reduction, f"control {self.id}: impact_reduction (rubric steps)",
                  minimum=0, maximum=4)
        _set(self, "atlas_mitigations", _canon_ids(
            self.atlas_mitigations, frameworks.validate_atlas_mitigation_id,
            f"control {self.id}: atlas_mitigations"))
        _check_text(self.description, f"control {self.id}: description", empty=True)

    @property
    def label(self) -> str:
        """``"IMG-C1 adversarial training (PR, SAIF-5)"``."""
        return f"{self.id} {self.name} ({self.nist}, {self.saif})"


@dataclass(frozen=True)
class Threat:
    """A threat to one system: who, what, where, how (ATLAS, OWASP), how likely, how bad.

    ``category`` is a key of :data:`THREAT_CATEGORIES` and gives the lab that treats it.
    ``actor`` is an actor ID of the model, or ``None`` for a harm without an adversary (bias).
    ``atlas`` must hold at least one catalogued MITRE ATLAS technique and ``owasp`` at least one
    OWASP ML Top 10 (2023) ID, except for a bias threat: the OWASP ML Top 10 (2023) has no bias
    item (its ML08 "Model Skewing" is an attacker skewing a model through its feedback data, not
    unfairness), so a bias threat carries none. :func:`gaps` reports an OWASP ID that does not
    fit the category.
    ``likelihood`` and ``impact`` are 1-5 (:data:`LIKELIHOOD`, :data:`IMPACT`). ``controls``
    names the model's controls that treat this threat.

    Introduced in lab 01 (Threat modelling).
    """

    id: str
    title: str
    category: str
    actor: str | None
    assets: tuple[str, ...]
    entry_point: str
    atlas: tuple[str, ...]
    owasp: tuple[str, ...]
    likelihood: int
    impact: int
    controls: tuple[str, ...] = ()
    rationale: str = ""
    evidence: str = ""

    def __post_init__(self):
        _check_id(self.id, "threat id")
        _check_text(self.title, f"threat {self.id}: title")
        _set(self, "category", canonical_name(self.category, tuple(THREAT_CATEGORIES),
                                       f"threat category (threat {self.id})"))
        if self.actor is not None:
            _check_id(self.actor, f"threat {self.id}: actor")
        _set(self, "assets", _local_ids(self.assets, f"threat {self.id}: assets", min_len=1))
        _check_id(self.entry_point, f"threat {self.id}: entry_point")
        _set(self, "atlas", _canon_ids(self.atlas, frameworks.validate_atlas_id,
                                       f"threat {self.id}: atlas", min_len=1))
        # A category the OWASP ML Top 10 (2023) does not list (bias) needs no OWASP ID.
        needs_owasp = bool(THREAT_CATEGORIES[self.category].owasp)
        _set(self, "owasp", _canon_ids(self.owasp, frameworks.validate_owasp_id,
                                       f"threat {self.id}: owasp", min_len=int(needs_owasp)))
        _set(self, "likelihood", check_likelihood(self.likelihood,
                                                   f"threat {self.id}: likelihood"))
        _set(self, "impact", check_impact(self.impact, f"threat {self.id}: impact"))
        _set(self, "controls", _local_ids(self.controls, f"threat {self.id}: controls"))
        _check_text(self.rationale, f"threat {self.id}: rationale", empty=True)
        _check_text(self.evidence, f"threat {self.id}: evidence", empty=True)

    @property
    def lab(self) -> int:
        """The number of the lab that treats this threat (from its category)."""
        return THREAT_CATEGORIES[self.category].lab

    @property
    def inherent(self) -> int:
        """Likelihood x impact before any control."""
        return self.likelihood * self.impact


# --- data-flow diagram ------------------------------------------------------------------------

NODE_KINDS: dict[str, tuple[str, str]] = {
    "external": ("#F1F3F5", "#6C757D"),
    "process": ("#E8F0FA", COLORS["baseline"]),
    "store": ("#E6F4F1", COLORS["defended"]),
    "user": ("#FDF3E1", "#B7791F"),
}
"""The kinds of box of a data-flow diagram, with their (fill, line) colours.

Introduced in lab 01 (Threat modelling)."""


@dataclass(frozen=True)
class Node:
    """A box of a data-flow diagram centred at (cx, cy): an external source, a process, a store
    or users.

    Introduced in lab 01 (Threat modelling).
    """

    id: str
    label: str
    kind: str
    cx: float
    cy: float
    detail: str = ""

    def __post_init__(self):
        _check_id(self.id, "node id")
        _check_text(self.label, f"node {self.id}: label")
        _set(self, "kind", canonical_name(self.kind, tuple(NODE_KINDS),
                                          f"node kind (node {self.id})"))
        for name in ("cx", "cy"):
            check_number(getattr(self, name), f"node {self.id}: {name}")


@dataclass(frozen=True)
class Flow:
    """An arrow of a data-flow diagram from node ``src`` to node ``dst``; ``via`` bends it
    through (x, y) points; ``offset`` shifts a straight arrow sideways (two arrows between the
    same boxes, one each way); ``label_pos`` places the label along the arrow's longest
    segment (0: its start, 1: its end).

    Introduced in lab 01 (Threat modelling).
    """

    src: str
    dst: str
    label: str = ""
    via: tuple[tuple[float, float], ...] = ()
    offset: float = 0.0
    label_pos: float = 0.5


@dataclass(frozen=True)
class TrustBoundary:
    """A dashed rectangle around nodes that share one level of trust.

    Introduced in lab 01 (Threat modelling).
    """

    id: str
    label: str
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class DataFlow:
    """A data-flow diagram: nodes, flows and trust boundaries (checked for consistency).

    Introduced in lab 01 (Threat modelling).
    """

    nodes: tuple[Node, ...]
    flows: tuple[Flow, ...]
    boundaries: tuple[TrustBoundary, ...] = ()

    def __post_init__(self):
        _set(self, "nodes", tuple(self.nodes))
        _set(self, "flows", tuple(self.flows))
        _set(self, "boundaries", tuple(self.boundaries))
        ids = [n.id for n in self.nodes]
        if len(set(ids)) != len(ids):
            raise ValueError(f"data flow: duplicate node IDs in {ids}")
        known = set(ids)
        for f in self.flows:
            for end in (f.src, f.dst):
                if end not in known:
                    raise ValueError(f"data flow: flow {f.src}->{f.dst} names unknown node "
                                     f"{end!r}; nodes: {', '.join(ids)}")
        for b in self.boundaries:
            missing = [n for n in b.nodes if n not in known]
            if missing or not b.nodes:
                raise ValueError(f"trust boundary {b.id!r} names unknown nodes {missing}")

    def node(self, id_: str) -> Node:
        """The node with this ID."""
        for n in self.nodes:
            if n.id == id_:
                return n
        raise KeyError(f"no node {id_!r} in the data flow")


# --------------------------------------------------------------------------------------------
# Risk arithmetic
# --------------------------------------------------------------------------------------------


def risk_score(likelihood: int, impact: int) -> int:
    """Risk = likelihood x impact, both checked to be integers from 1 to 5.

    Introduced in lab 01 (Threat modelling).
    """
    return check_likelihood(likelihood) * check_impact(impact)


def risk_band(score: int) -> str:
    """The band of a risk score: ``"low"`` (1-4), ``"medium"`` (5-9), ``"high"`` (10-14) or
    ``"critical"`` (15-25).

    Introduced in lab 01 (Threat modelling).
    """
    score = check_int(score, "risk score (likelihood x impact)", minimum=1, maximum=25)
    for lo, hi, name in RISK_BANDS:
        if lo <= score <= hi:
            return name
    raise AssertionError("unreachable")  # pragma: no cover


def _check_controls(controls: object) -> list[Control]:
    if isinstance(controls, Control):
        return [controls]
    if not isinstance(controls, Iterable) or isinstance(controls, str | bytes):
        raise TypeError(f"controls must be a list of Control objects, got "
                        f"{type(controls).__name__}")
    out = list(controls)
    for c in out:
        if not isinstance(c, Control):
            raise TypeError(f"controls must hold Control objects, got {type(c).__name__}")
    return out


def residual_risk(likelihood: int, impact: int, controls: Iterable[Control]
                  ) -> tuple[int, int, int]:
    """Residual (likelihood, impact, score) of a threat once ``controls`` are applied.

    Each control takes its ``likelihood_reduction`` steps off the likelihood and its
    ``impact_reduction`` steps off the impact; the steps of several controls add up; neither
    goes below 1, because a control reduces a risk but never removes it.

    Introduced in lab 01 (Threat modelling).
    """
    likelihood = check_likelihood(likelihood)
    impact = check_impact(impact)
    controls = _check_controls(controls)
    res_l = max(1, likelihood - sum(c.likelihood_reduction for c in controls))
    res_i = max(1, impact - sum(c.impact_reduction for c in controls))
    return res_l, res_i, res_l * res_i


def total_residual(threats: Iterable[Threat], applied: Iterable[Control],
                   residual_fn: Callable | None = None) -> int:
    """Sum of residual risk scores over ``threats`` when the controls ``applied`` are in place.

    A control counts for a threat only if the threat lists it in ``controls``.

    Introduced in lab 01 (Threat modelling).
    """
    fn = residual_fn or residual_risk
    applied = {c.id: c for c in _check_controls(applied)}
    total = 0
    for t in threats:
        if not isinstance(t, Threat):
            raise TypeError(f"threats must hold Threat objects, got {type(t).__name__}")
        total += fn(t.likelihood, t.impact, [applied[c] for c in t.controls if c in applied])[2]
    return int(total)


def optimal_controls(threats: Sequence[Threat], controls: Sequence[Control], budget: int,
                     max_controls: int = 16) -> tuple[str, ...]:
    """The set of controls of total cost <= ``budget`` that minimises :func:`total_residual`,
    found by trying every subset (fine up to ``max_controls`` controls: 2**16 subsets).

    Ties are broken by the lower total cost, then by the alphabetically first sorted ID list.
    Returns the chosen IDs, sorted.

    Introduced in lab 01 (Threat modelling).
    """
    controls = _check_controls(controls)
    budget = check_int(budget, "budget (person-weeks)", minimum=0, maximum=10**6)
    if len(controls) > max_controls:
        raise ValueError(f"{len(controls)} controls give 2**{len(controls)} subsets; exhaustive "
                         f"search is limited to {max_controls}")
    threats = list(threats)
    best: tuple | None = None
    for k in range(len(controls) + 1):
        for subset in itertools.combinations(controls, k):
            cost = sum(c.cost for c in subset)
            if cost > budget:
                continue
            key = (total_residual(threats, subset), cost, tuple(sorted(c.id for c in subset)))
            if best is None or key < best:
                best = key
    return best[2] if best else ()


def likelihood_from_evidence(success_rate, access: str, white_box: bool = False) -> int:
    """A likelihood (1-5) argued from a measurement, by the course's rule.

    A probe's success rate measures *exploitability under the probe's conditions* (this model,
    these inputs, this budget), not likelihood: how likely an attack is also depends on who has
    a motive and how exposed the entry point is. The rule combines the two parts it can see:
    exposure, as the base likelihood of the access the attack needs (:data:`ACCESS_LEVELS`:
    public 4, account 3, partner/insider/supplier 2); and exploitability, which moves it by one
    step. It assumes the actor who has that access has a motive (the model's actors say
    which); motive itself is judged, not measured.

    ``success_rate`` is a :class:`~mlsec_helpers.stats.Rate` (a proportion with its Wilson
    interval, as :attr:`ProbeResult.rate` gives): add 1 when the interval's lower end is at
    least 50% and at least 5 attacks succeeded; take 1 off when its upper end is below 10%
    (which takes at least 35 cases); so no step rests on one or two events. A bare number is
    read as a point estimate (>= 0.5 adds 1, < 0.1 takes 1 off), for a quick what-if only.
    Then take 1 off when the probe needed the model itself (``white_box``: a measurement an
    outsider cannot repeat as is); keep the result within 1-5.

    Introduced in lab 01 (Threat modelling).
    """
    from ..stats import Rate

    access = canonical_name(access, tuple(ACCESS_LEVELS), "access level")
    value = ACCESS_LEVELS[access][0]
    if isinstance(success_rate, Rate):
        k = success_rate.successes
        if k is None:
            raise ValueError("likelihood_from_evidence needs a proportion (stats.proportion), "
                             "not an AUC")
        if success_rate.low >= 0.5 and k >= 5:
            value += 1
        elif success_rate.high < 0.1:
            value -= 1
    else:
        success_rate = check_number(success_rate, "success_rate", low=0.0, high=1.0)
        if success_rate >= 0.5:
            value += 1
        elif success_rate < 0.1:
            value -= 1
    if white_box:
        value -= 1
    return int(min(5, max(1, value)))


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------

ResidualFn = Callable[[int, int, list], tuple]
"""A residual-risk rule: ``(likelihood, impact, controls) -> (likelihood, impact, score)``,
like :func:`residual_risk` (lab 01's exercise 2 writes one)."""


@dataclass(frozen=True)
class ThreatModel:
    """The threat model of one system: assets, actors, entry points, controls, threats, its
    data-flow diagram and the controls currently ``applied``.

    Built once, checked once: every cross-reference (a threat's actor, assets, entry point and
    controls; an entry point's node) must exist, and IDs must be unique, else ``ValueError``
    lists every problem. Models are immutable; :meth:`with_threat`, :meth:`with_scores`,
    :meth:`with_applied` and :meth:`extended` return changed copies.

    Introduced in lab 01 (Threat modelling).
    """

    domain: str
    system: str
    description: str
    assets: tuple[Asset, ...]
    actors: tuple[Actor, ...]
    entry_points: tuple[EntryPoint, ...]
    controls: tuple[Control, ...]
    threats: tuple[Threat, ...]
    dataflow: DataFlow | None = None
    applied: tuple[str, ...] = ()

    def __post_init__(self):
        _set(self, "domain", canonical_name(self.domain, DOMAINS, "domain"))
        _check_text(self.system, "system")
        for name, cls in (("assets", Asset), ("actors", Actor), ("entry_points", EntryPoint),
                          ("controls", Control), ("threats", Threat)):
            items = getattr(self, name)
            if isinstance(items, cls) or not isinstance(items, Iterable):
                raise TypeError(f"{name} must be a list of {cls.__name__} objects")
            items = tuple(items)
            for item in items:
                if not isinstance(item, cls):
                    raise TypeError(f"{name} must hold {cls.__name__} objects, got "
                                    f"{type(item).__name__}")
            _set(self, name, items)
        if self.dataflow is not None and not isinstance(self.dataflow, DataFlow):
            raise TypeError(f"dataflow must be a DataFlow, got {type(self.dataflow).__name__}")
        _set(self, "applied", _local_ids(self.applied, "applied"))
        problems = self._problems()
        if problems:
            raise ValueError(f"threat model of {self.system} is inconsistent:\n- "
                             + "\n- ".join(problems))

    def _problems(self) -> list[str]:
        problems = []
        index = {}
        for name in ("assets", "actors", "entry_points", "controls", "threats"):
            ids = [x.id for x in getattr(self, name)]
            dup = sorted({i for i in ids if ids.count(i) > 1})
            if dup:
                problems.append(f"duplicate {name} IDs: {', '.join(dup)}")
            index[name] = set(ids)
        for t in self.threats:
            if t.actor is not None and t.actor not in index["actors"]:
                problems.append(f"threat {t.id}: unknown actor {t.actor!r}; actors: "
                                f"{', '.join(sorted(index['actors']))}")
            for a in t.assets:
                if a not in index["assets"]:
                    problems.append(f"threat {t.id}: unknown asset {a!r}; assets: "
                                    f"{', '.join(sorted(index['assets']))}")
            if t.entry_point not in index["entry_points"]:
                problems.append(f"threat {t.id}: unknown entry point {t.entry_point!r}; entry "
                                f"points: {', '.join(sorted(index['entry_points']))}")
            for c in t.controls:
                if c not in index["controls"]:
                    problems.append(f"threat {t.id}: unknown control {c!r}; controls: "
                                    f"{', '.join(sorted(index['controls']))}")
        for c in self.applied:
            if c not in index["controls"]:
                problems.append(f"applied control {c!r} is not one of the model's controls")
        if self.dataflow is not None:
            nodes = {n.id for n in self.dataflow.nodes}
            for e in self.entry_points:
                if e.node not in nodes:
                    problems.append(f"entry point {e.id}: node {e.node!r} is not in the "
                                    f"data-flow diagram")
        return problems

    # --- look-ups --------------------------------------------------------------------------

    def _get(self, name: str, id_: str):
        for x in getattr(self, name):
            if x.id == id_:
                return x
        raise KeyError(f"{self.system}: no {name[:-1].replace('_', ' ')} {id_!r}")

    def threat(self, id_: str) -> Threat:
        """The threat with this ID (``KeyError`` if none)."""
        return self._get("threats", id_)

    def control(self, id_: str) -> Control:
        """The control with this ID (``KeyError`` if none)."""
        return self._get("controls", id_)

    def asset(self, id_: str) -> Asset:
        """The asset with this ID (``KeyError`` if none)."""
        return self._get("assets", id_)

    def actor(self, id_: str) -> Actor:
        """The actor with this ID (``KeyError`` if none)."""
        return self._get("actors", id_)

    def entry_point(self, id_: str) -> EntryPoint:
        """The entry point with this ID (``KeyError`` if none)."""
        return self._get("entry_points", id_)

    # --- changed copies --------------------------------------------------------------------

    def with_threat(self, threat: Threat) -> ThreatModel:
        """A copy with ``threat`` added, or replacing the threat with the same ID."""
        if not isinstance(threat, Threat):
            raise TypeError(f"expected a Threat, got {type(threat).__name__}")
        threats = [t for t in self.threats if t.id != threat.id]
        pos = next((k for k, t in enumerate(self.threats) if t.id == threat.id), len(threats))
        threats.insert(pos, threat)
        return dataclasses.replace(self, threats=tuple(threats))

    def with_scores(self, threat_id: str, likelihood: int | None = None,
                    impact: int | None = None, evidence: str | None = None) -> ThreatModel:
        """A copy with new scores (and evidence) for one threat; scores are checked."""
        t = self.threat(threat_id)
        changes = {}
        if likelihood is not None:
            changes["likelihood"] = likelihood
        if impact is not None:
            changes["impact"] = impact
        if evidence is not None:
            changes["evidence"] = evidence
        return self.with_threat(dataclasses.replace(t, **changes))

    def with_applied(self, applied: Iterable[str]) -> ThreatModel:
        """A copy with these control IDs applied (unknown IDs raise ``ValueError``)."""
        return dataclasses.replace(self, applied=tuple(applied))

    def extended(self, *, assets: Iterable[Asset] = (), actors: Iterable[Actor] = (),
                 entry_points: Iterable[EntryPoint] = (), controls: Iterable[Control] = (),
                 threats: Iterable[Threat] = ()) -> ThreatModel:
        """A copy with more assets, actors, entry points, controls and threats appended."""
        return dataclasses.replace(
            self,
            assets=self.assets + tuple(assets),
            actors=self.actors + tuple(actors),
            entry_points=self.entry_points + tuple(entry_points),
            controls=self.controls + tuple(controls),
            threats=self.threats + tuple(threats),
        )

    # --- the register ----------------------------------------------------------------------

    def register(self, applied: Iterable[str] | None = None,
                 residual_fn: ResidualFn | None = None) -> pd.DataFrame:
        """The risk register: one row per threat, highest residual risk first.

        ``applied`` (default: the model's ``applied``) is the set of control IDs in place; a
        control counts for a threat only if the threat lists it. ``residual_fn(likelihood,
        impact, controls) -> (likelihood, impact, score)`` defaults to :func:`residual_risk`.
        """
        applied = set(self.applied if applied is None else _local_ids(applied, "applied"))
        unknown = applied - {c.id for c in self.controls}
        if unknown:
            raise ValueError(f"{self.system}: unknown controls {sorted(unknown)}")
        fn = residual_fn or residual_risk
        rows = []
        for t in self.threats:
            in_place = [self.control(c) for c in t.controls if c in applied]
            res_l, res_i, res = fn(t.likelihood, t.impact, in_place)
            actor = self.actor(t.actor) if t.actor else None
            rows.append({
                "id": t.id,
                "domain": self.domain,
                "system": self.system,
                "threat": t.title,
                "category": THREAT_CATEGORIES[t.category].name,
                "actor": f"{actor.name} ({actor.kind})" if actor else "none (accidental)",
                "assets": ", ".join(self.asset(a).name for a in t.assets),
                "entry point": self.entry_point(t.entry_point).name,
                "ATLAS": ", ".join(t.atlas),
                "OWASP": ", ".join(t.owasp),
                "likelihood": t.likelihood,
                "impact": t.impact,
                "inherent": t.inherent,
                "inherent band": risk_band(t.inherent),
                "controls": ", ".join(t.controls),
                "applied": ", ".join(c.id for c in in_place),
                "residual likelihood": int(res_l),
                "residual impact": int(res_i),
                "residual": int(res),
                "residual band": risk_band(int(res)) if res >= 1 else "low",
                "treated in": THREAT_CATEGORIES[t.category].lab_title,
                "evidence": t.evidence,
            })
        frame = pd.DataFrame(rows)
        order = np.lexsort((-frame["inherent"].to_numpy(), -frame["residual"].to_numpy()))
        return frame.iloc[order].reset_index(drop=True)

    def threat_table(self) -> pd.DataFrame:
        """A compact table of the threats for display (ID, title, category, ATLAS, OWASP,
        likelihood, impact, risk, lab)."""
        return pd.DataFrame([{
            "id": t.id, "threat": t.title, "category": THREAT_CATEGORIES[t.category].name,
            "actor": self.actor(t.actor).kind if t.actor else "none (accidental)",
            "entry": t.entry_point, "ATLAS": ", ".join(t.atlas), "OWASP": ", ".join(t.owasp),
            "L": t.likelihood, "I": t.impact, "risk": t.inherent,
            "treated in": THREAT_CATEGORIES[t.category].lab_title,
        } for t in self.threats])

    def assets_table(self) -> pd.DataFrame:
        """Assets with the threats that target each."""
        return pd.DataFrame([{
            "id": a.id, "asset": a.name, "kind": a.kind,
            "threats": ", ".join(t.id for t in self.threats if a.id in t.assets) or "-",
        } for a in self.assets])

    def to_markdown(self, applied: Iterable[str] | None = None) -> str:
        """The register as a Markdown document (title, rubric note and table)."""
        head = (f"# Risk register: {self.system}\n\n{self.description}\n\n"
                "Risk = likelihood x impact (1-5 each, see the course rubric); residual risk "
                "after the applied controls.\n\n")
        return head + register_to_markdown(self.register(applied))

    def to_csv(self, path: str | Path | None = None,
               applied: Iterable[str] | None = None) -> str:
        """The register as CSV; written to ``path`` when given. Returns the CSV text."""
        return register_to_csv(self.register(applied), path)


# --------------------------------------------------------------------------------------------
# Completeness
# --------------------------------------------------------------------------------------------


def gaps(model: ThreatModel, categories: Iterable[str] | None = None,
         asset_kinds: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """What a threat model still lacks, as ``(kind, item)`` pairs (empty: complete).

    Kinds: ``"category"`` (a threat category of the course with no threat), ``"asset kind"``
    (a required asset kind with no asset), ``"untargeted asset"`` (an asset no threat
    targets), ``"owasp"`` (a threat whose OWASP IDs include none of its category's, or a bias
    threat with an OWASP ID: the OWASP ML Top 10 2023 has no bias item),
    ``"atlas"`` (a threat whose ATLAS techniques include none of its category's usual
    techniques, or a sub-technique of one), ``"no control"`` (a threat that no control
    treats) and ``"actor kind"`` (an actor kind of :data:`ACTOR_KINDS` absent from the model).

    Introduced in lab 01 (Threat modelling).
    """
    if not isinstance(model, ThreatModel):
        raise TypeError(f"expected a ThreatModel, got {type(model).__name__}")
    cats = tuple(THREAT_CATEGORIES) if categories is None else tuple(
        canonical_name(c, tuple(THREAT_CATEGORIES), "threat category") for c in categories)
    kinds = REQUIRED_ASSET_KINDS if asset_kinds is None else tuple(
        canonical_name(k, ASSET_KINDS, "asset kind") for k in asset_kinds)
    out: list[tuple[str, str]] = []
    present = {t.category for t in model.threats}
    out += [("category", c) for c in cats if c not in present]
    have_kinds = {a.kind for a in model.assets}
    out += [("asset kind", k) for k in kinds if k not in have_kinds]
    targeted = {a for t in model.threats for a in t.assets}
    out += [("untargeted asset", a.id) for a in model.assets if a.id not in targeted]
    actor_kinds = {a.kind for a in model.actors}
    out += [("actor kind", k) for k in ACTOR_KINDS if k not in actor_kinds]
    for t in model.threats:
        cat = THREAT_CATEGORIES[t.category]
        if (not set(t.owasp) & set(cat.owasp)) if cat.owasp else bool(t.owasp):
            out.append(("owasp", t.id))  # none of its category's, or any for bias (none fits)
        usual = set(cat.atlas)
        if not any(a in usual or frameworks.ATLAS_TECHNIQUES[a].parent in usual
                   for a in t.atlas):
            out.append(("atlas", t.id))
        if not t.controls:
            out.append(("no control", t.id))
    return out


def describe_gaps(found: Sequence[tuple[str, str]], model: ThreatModel | None = None) -> str:
    """A readable sentence for :func:`gaps`' output (``"complete"`` when empty).

    Introduced in lab 01 (Threat modelling).
    """
    if not found:
        return "complete"
    parts = []
    names = {
        "category": "threat categories with no threat",
        "asset kind": "asset kinds with no asset",
        "untargeted asset": "assets no threat targets",
        "actor kind": "actor kinds with no actor",
        "owasp": "threats whose OWASP IDs do not fit their category",
        "atlas": "threats whose ATLAS techniques do not fit their category",
        "no control": "threats no control treats",
    }
    for kind, title in names.items():
        items = [item for k, item in found if k == kind]
        if not items:
            continue
        if kind == "owasp" and model is not None:
            items = [f"{i} ({model.threat(i).category}: expected one of "
                     f"{', '.join(THREAT_CATEGORIES[model.threat(i).category].owasp)})"
                     if THREAT_CATEGORIES[model.threat(i).category].owasp else
                     f"{i} ({model.threat(i).category}: expected none, the OWASP ML Top 10 "
                     "2023 has no item for it)" for i in items]
        parts.append(f"{title}: {', '.join(items)}")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------------
# Tables and export
# --------------------------------------------------------------------------------------------


def rubric_table() -> pd.DataFrame:
    """The likelihood and impact scales side by side, one row per level.

    Introduced in lab 01 (Threat modelling).
    """
    return pd.DataFrame([{
        "level": k,
        "likelihood": LIKELIHOOD[k].name, "likelihood criteria": LIKELIHOOD[k].criteria,
        "impact": IMPACT[k].name, "impact criteria": IMPACT[k].criteria,
    } for k in range(1, 6)])


def controls_table(models: Iterable[ThreatModel]) -> pd.DataFrame:
    """Every control of the models with its NIST CSF function, SAIF element, ATLAS mitigations,
    the lab that builds it, its cost and effect, and the threats it treats.

    Introduced in lab 01 (Threat modelling).
    """
    rows = []
    for m in check_models(models):
        for c in m.controls:
            rows.append({
                "id": c.id, "domain": m.domain, "control": c.name,
                "NIST CSF": f"{c.nist} {frameworks.NIST_CSF_FUNCTIONS[c.nist].name}",
                "SAIF": c.saif, "ATLAS mitigations": ", ".join(c.atlas_mitigations) or "-",
                "built in": f"lab {c.lab:02d}", "cost (person-weeks)": c.cost,
                "L steps": c.likelihood_reduction, "I steps": c.impact_reduction,
                "treats": ", ".join(t.id for t in m.threats if c.id in t.controls) or "-",
            })
    return pd.DataFrame(rows)


def check_models(models: ThreatModel | Iterable[ThreatModel] | Mapping[str, ThreatModel]
                 ) -> list[ThreatModel]:
    """One threat model, a list of them or a ``{domain: model}`` dict, as a list (each checked).

    Introduced in lab 01 (Threat modelling).
    """
    if isinstance(models, ThreatModel):
        return [models]
    out = list(models.values() if isinstance(models, Mapping) else models)
    for m in out:
        if not isinstance(m, ThreatModel):
            raise TypeError(f"expected ThreatModel objects, got {type(m).__name__}")
    return out


_EXPORT_COLUMNS = ("id", "system", "threat", "category", "actor", "assets", "entry point",
                   "ATLAS", "OWASP", "likelihood", "impact", "inherent", "inherent band",
                   "applied", "residual likelihood", "residual impact", "residual",
                   "residual band", "treated in", "evidence")


def _check_register(register: object) -> pd.DataFrame:
    if not isinstance(register, pd.DataFrame):
        raise TypeError(f"register must be a DataFrame from ThreatModel.register, got "
                        f"{type(register).__name__}")
    missing = [c for c in _EXPORT_COLUMNS if c not in register.columns]
    if missing:
        raise ValueError(f"register lacks the columns {missing}; build it with "
                         "ThreatModel.register()")
    return register.loc[:, list(_EXPORT_COLUMNS)]


def register_to_markdown(register: pd.DataFrame) -> str:
    """A risk register (from :meth:`ThreatModel.register`) as a Markdown table.

    Written here rather than with ``DataFrame.to_markdown``, which needs the optional
    ``tabulate`` package; pipes and line breaks in cells are escaped.

    Introduced in lab 01 (Threat modelling).
    """
    frame = _check_register(register)

    def cell(v) -> str:
        text = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
        return text.replace("|", "\\|").replace("\n", " ") or "-"

    lines = ["| " + " | ".join(frame.columns) + " |",
             "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def register_to_csv(register: pd.DataFrame, path: str | Path | None = None) -> str:
    """A risk register as CSV text (all cells quoted where needed); written to ``path`` too.

    Introduced in lab 01 (Threat modelling).
    """
    frame = _check_register(register)
    buf = io.StringIO()
    frame.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    text = buf.getvalue()
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text

