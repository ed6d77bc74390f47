"""Threat models and risk registers for ML systems, in the vocabulary of the field.

A :class:`ThreatModel` holds what a team writes down about one system: its **assets** (what is
worth protecting), its **actors** (who might attack it), its **entry points** (where they get
in, on a data-flow diagram with trust boundaries), its **threats** (what they might do, mapped
to MITRE ATLAS techniques, the OWASP Machine Learning Security Top 10 and the threats of this
course) and the **controls** that treat them (each tagged with its NIST CSF 2.0 function and
Google SAIF element). Every ID is checked against :mod:`mlsec_helpers.frameworks` when the object
is built, and every score against the course's likelihood x impact rubric, so a typo is an
error with a message, not a wrong register.

From a model the module derives the **risk register** (one row per threat: inherent risk,
controls applied, residual risk, the lab that treats it), exports it to Markdown and CSV, and
draws the figures of lab 01: the data-flow diagram, the 5 x 5 risk matrix and the ranking of
risks, with an ipywidgets explorer that re-ranks them when scores or controls change.

The rubric (:data:`LIKELIHOOD`, :data:`IMPACT`, :data:`RISK_BANDS`):

* likelihood and impact are whole numbers from 1 to 5; risk = likelihood x impact (1-25);
* a control lowers likelihood and/or impact by whole steps; the steps of several controls add
  up, and neither falls below 1 (a risk is reduced, never removed): see :func:`residual_risk`;
* where a probe measured an attack, :func:`likelihood_from_evidence` turns the measurement and
  the access the attacker needs into a likelihood.

The reference models of the five systems are in :func:`reference_model`.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import itertools
import math
import numbers
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from . import frameworks
from .plots import COLORS, DOMAIN_COLORS, _wrap

__all__ = [
    "ACCESS_LEVELS",
    "ACTOR_KINDS",
    "ASSET_KINDS",
    "IMPACT",
    "LIKELIHOOD",
    "REQUIRED_ASSET_KINDS",
    "RISK_BANDS",
    "THREAT_CATEGORIES",
    "Actor",
    "Asset",
    "Control",
    "DataFlow",
    "EntryPoint",
    "Flow",
    "Node",
    "RiskExplorer",
    "RubricLevel",
    "Threat",
    "ThreatCategory",
    "ThreatModel",
    "TrustBoundary",
    "controls_table",
    "describe_gaps",
    "dataflow_figure",
    "gaps",
    "likelihood_from_evidence",
    "optimal_controls",
    "overview_figure",
    "ranking_figure",
    "reference_model",
    "reference_models",
    "register_to_csv",
    "register_to_markdown",
    "residual_risk",
    "risk_band",
    "risk_matrix_figure",
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


@dataclass(frozen=True)
class ThreatCategory:
    """One threat of the course, with the lab that treats it and its usual framework IDs.

    ``owasp`` lists the OWASP ML Top 10 items a threat of this category maps to (one of them
    must be on the threat); ``atlas`` lists typical MITRE ATLAS techniques.

    Introduced in lab 01 (Threat modelling).
    """

    key: str
    name: str
    lab: int
    owasp: tuple[str, ...]
    atlas: tuple[str, ...]
    description: str

    @property
    def lab_title(self) -> str:
        """``"lab 02 Evasion"``: the lab that treats the category."""
        return f"lab {self.lab:02d} {frameworks.get_lab(self.lab).title}"


THREAT_CATEGORIES: dict[str, ThreatCategory] = {
    c.key: c
    for c in (
        ThreatCategory("evasion", "evasion", 2, ("ML01",), ("AML.T0015", "AML.T0043"),
                       "Inputs crafted so that the model errs at prediction time."),
        ThreatCategory("poisoning", "poisoning", 3, ("ML02", "ML08", "ML10"),
                       ("AML.T0020", "AML.T0018", "AML.T0031"),
                       "Training data or labels manipulated so that the model learns wrong."),
        ThreatCategory("theft", "model theft", 4, ("ML05",),
                       ("AML.T0024.002", "AML.T0048.004", "AML.T0035"),
                       "A working copy of the model extracted through queries or stolen."),
        ThreatCategory("membership_inference", "membership inference", 5, ("ML04",),
                       ("AML.T0024.000",),
                       "Queries reveal whether a person's record was in the training data."),
        ThreatCategory("inversion", "model inversion", 6, ("ML03",),
                       ("AML.T0024.001",),
                       "Outputs or the artefact reveal private training data or attributes."),
        ThreatCategory("bias", "bias and unfairness", 7, ("ML08",),
                       ("AML.T0048.002", "AML.T0048.003"),
                       "The system errs more for some groups of people than for others."),
        ThreatCategory("supply_chain", "supply chain", 11, ("ML06", "ML07", "ML10"),
                       ("AML.T0010", "AML.T0011.000"),
                       "Data, software or models the system depends on are compromised."),
        ThreatCategory("api_abuse", "API abuse", 12, ("ML05", "ML08", "ML09"),
                       ("AML.T0040", "AML.T0029", "AML.T0034", "AML.T0046", "AML.T0049"),
                       "The serving interface is misused: floods, forged or altered outputs."),
    )
}
"""The eight threats of the course (lab 01's categories), in course order.

Introduced in lab 01 (Threat modelling)."""


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------

_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


def _check_id(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    if not _ID_RE.fullmatch(value):
        raise ValueError(
            f"{what} must be a short ID of letters, digits, '-', '_' or '.', got {value!r}"
        )
    return value


def _check_text(value: object, what: str, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    if not empty and not value.strip():
        raise ValueError(f"{what} must not be empty")
    return value.strip()


def _check_int(value: object, what: str, lo: int, hi: int, scale: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an integer from {lo} to {hi}{scale}, got "
                        f"{type(value).__name__} {value!r}")
    if not lo <= int(value) <= hi:
        raise ValueError(f"{what} must be an integer from {lo} to {hi}{scale}, got {value}")
    return int(value)


def _check_likelihood(value: object, what: str = "likelihood") -> int:
    return _check_int(value, what, 1, 5, " (1 = rare ... 5 = almost certain, the course's rubric)")


def _check_impact(value: object, what: str = "impact") -> int:
    return _check_int(value, what, 1, 5, " (1 = negligible ... 5 = severe, the course's rubric)")


def _choice(value: object, options: Sequence[str], what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    key = value.strip().lower()
    norm = {o.replace("_", " "): o for o in options}
    if key in options:
        return key
    if key.replace("_", " ").replace("-", " ") in norm:
        return norm[key.replace("_", " ").replace("-", " ")]
    close = difflib.get_close_matches(key, list(options), n=2, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"unknown {what} {value!r}{hint}; expected one of: {', '.join(options)}")


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
        _set(self, "kind", _choice(self.kind, ASSET_KINDS, f"asset kind (asset {self.id})"))
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
        _set(self, "kind", _choice(self.kind, ACTOR_KINDS, f"actor kind (actor {self.id})"))
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
        _set(self, "stage", _choice(self.stage, tuple(frameworks.LIFECYCLE_STAGES),
                                    f"lifecycle stage (entry point {self.id})"))
        _check_id(self.node, f"entry point {self.id}: node")
        _set(self, "access", _choice(self.access, tuple(ACCESS_LEVELS),
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
            frameworks.get_lab(self.lab)
        except (TypeError, ValueError) as err:
            raise type(err)(f"control {self.id}: {err}") from None
        _check_int(self.cost, f"control {self.id}: cost", 0, 1000, " person-weeks")
        _check_int(self.likelihood_reduction, f"control {self.id}: likelihood_reduction", 0, 4,
                   " rubric steps")
        _check_int(self.impact_reduction, f"control {self.id}: impact_reduction", 0, 4,
                   " rubric steps")
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
    OWASP ML Top 10 (2023) ID; :func:`gaps` reports an OWASP ID that does not fit the category.
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
        _set(self, "category", _choice(self.category, tuple(THREAT_CATEGORIES),
                                       f"threat category (threat {self.id})"))
        if self.actor is not None:
            _check_id(self.actor, f"threat {self.id}: actor")
        _set(self, "assets", _local_ids(self.assets, f"threat {self.id}: assets", min_len=1))
        _check_id(self.entry_point, f"threat {self.id}: entry_point")
        _set(self, "atlas", _canon_ids(self.atlas, frameworks.validate_atlas_id,
                                       f"threat {self.id}: atlas", min_len=1))
        _set(self, "owasp", _canon_ids(self.owasp, frameworks.validate_owasp_id,
                                       f"threat {self.id}: owasp", min_len=1))
        _set(self, "likelihood", _check_likelihood(self.likelihood,
                                                   f"threat {self.id}: likelihood"))
        _set(self, "impact", _check_impact(self.impact, f"threat {self.id}: impact"))
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


@dataclass(frozen=True)
class Node:
    """A box of a data-flow diagram at (x, y): an external source, a process, a store or users.

    Introduced in lab 01 (Threat modelling).
    """

    id: str
    label: str
    kind: str
    x: float
    y: float
    detail: str = ""

    def __post_init__(self):
        _check_id(self.id, "node id")
        _check_text(self.label, f"node {self.id}: label")
        _set(self, "kind", _choice(self.kind, tuple(NODE_KINDS), f"node kind (node {self.id})"))
        for name in ("x", "y"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise TypeError(f"node {self.id}: {name} must be a finite number, got {v!r}")


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
    return _check_likelihood(likelihood) * _check_impact(impact)


def risk_band(score: int) -> str:
    """The band of a risk score: ``"low"`` (1-4), ``"medium"`` (5-9), ``"high"`` (10-14) or
    ``"critical"`` (15-25).

    Introduced in lab 01 (Threat modelling).
    """
    score = _check_int(score, "risk score", 1, 25, " (likelihood x impact)")
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
    likelihood = _check_likelihood(likelihood)
    impact = _check_impact(impact)
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
    budget = _check_int(budget, "budget", 0, 10**6, " person-weeks")
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


def likelihood_from_evidence(success_rate: float, access: str, white_box: bool = False) -> int:
    """A likelihood (1-5) argued from a measurement, by the course's rule.

    Start from the base likelihood of the access the attack needs (:data:`ACCESS_LEVELS`:
    public 4, account 3, partner/insider/supplier 2); add 1 when the probe succeeded in at least
    half the cases, take 1 off when it succeeded in fewer than 10%; take 1 off when the probe
    needed the model itself (``white_box``: a measurement an outsider cannot repeat as is);
    keep the result within 1-5.

    Introduced in lab 01 (Threat modelling).
    """
    if isinstance(success_rate, bool) or not isinstance(success_rate, numbers.Real):
        raise TypeError(f"success_rate must be a number in [0, 1], got {success_rate!r}")
    if not 0.0 <= float(success_rate) <= 1.0:
        raise ValueError(f"success_rate must lie in [0, 1], got {success_rate}")
    access = _choice(access, tuple(ACCESS_LEVELS), "access level")
    value = ACCESS_LEVELS[access][0]
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
        _set(self, "domain", _choice(self.domain, frameworks.DOMAINS, "domain"))
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
    targets), ``"owasp"`` (a threat whose OWASP IDs include none of its category's),
    ``"atlas"`` (a threat whose ATLAS techniques include none of its category's usual
    techniques, or a sub-technique of one), ``"no control"`` (a threat that no control
    treats) and ``"actor kind"`` (an actor kind of :data:`ACTOR_KINDS` absent from the model).

    Introduced in lab 01 (Threat modelling).
    """
    if not isinstance(model, ThreatModel):
        raise TypeError(f"expected a ThreatModel, got {type(model).__name__}")
    cats = tuple(THREAT_CATEGORIES) if categories is None else tuple(
        _choice(c, tuple(THREAT_CATEGORIES), "threat category") for c in categories)
    kinds = REQUIRED_ASSET_KINDS if asset_kinds is None else tuple(
        _choice(k, ASSET_KINDS, "asset kind") for k in asset_kinds)
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
        if not set(t.owasp) & set(cat.owasp):
            out.append(("owasp", t.id))
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
                     for i in items]
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
    for m in _models(models):
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


def _models(models) -> list[ThreatModel]:
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


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------

_BOX_W, _BOX_H = 2.0, 0.8


def _short(text: str, width: int) -> str:
    """``text`` cut at a word boundary to at most ``width`` characters, with an ellipsis."""
    return text if len(text) <= width else textwrap.shorten(text, width, placeholder=" …")


def _edge_point(cx: float, cy: float, tx: float, ty: float,
                centre: tuple[float, float] | None = None) -> tuple[float, float]:
    """Where the segment from (cx, cy) inside a box towards (tx, ty) leaves the box (centred at
    ``centre``, default (cx, cy))."""
    bx, by = centre or (cx, cy)
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return cx, cy
    # distance to the box's vertical and horizontal edges along the direction (dx, dy)
    sx = ((bx + math.copysign(_BOX_W / 2, dx) - cx) / dx) if dx else math.inf
    sy = ((by + math.copysign(_BOX_H / 2, dy) - cy) / dy) if dy else math.inf
    s = max(0.0, min(sx, sy))
    return cx + dx * s, cy + dy * s


def dataflow_figure(model: ThreatModel | DataFlow, title: str | None = None,
                    entry_points: Sequence[EntryPoint] | None = None,
                    threats_at_entry: Mapping[str, str] | None = None) -> go.Figure:
    """Draw a data-flow diagram: boxes (colour by kind), arrows, dashed trust boundaries and,
    in red, the numbered entry points of the threat model (hover for their threats).

    Introduced in lab 01 (Threat modelling).
    """
    if isinstance(model, ThreatModel):
        if model.dataflow is None:
            raise ValueError(f"the threat model of {model.system} has no data-flow diagram")
        flow, eps = model.dataflow, model.entry_points
        if threats_at_entry is None:
            threats_at_entry = {
                e.id: "<br>".join(f"{t.id} {t.title}" for t in model.threats
                                  if t.entry_point == e.id) for e in eps}
    elif isinstance(model, DataFlow):
        flow, eps = model, tuple(entry_points or ())
    else:
        raise TypeError(f"expected a ThreatModel or a DataFlow, got {type(model).__name__}")
    threats_at_entry = threats_at_entry or {}
    fig = go.Figure()
    xs = [n.x for n in flow.nodes]
    ys = [n.y for n in flow.nodes]
    pad = 0.3
    # Trust boundaries first (behind everything).
    for b in flow.boundaries:
        members = [flow.node(n) for n in b.nodes]
        x0 = min(n.x for n in members) - _BOX_W / 2 - pad
        x1 = max(n.x for n in members) + _BOX_W / 2 + pad
        y0 = min(n.y for n in members) - _BOX_H / 2 - pad
        y1 = max(n.y for n in members) + _BOX_H / 2 + pad + 0.25
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, layer="below",
                      line=dict(color=COLORS["attack"], width=1.6, dash="dash"),
                      fillcolor="rgba(0,0,0,0)")
        fig.add_annotation(x=x0 + 0.08, y=y1 - 0.05, text=f"<i>{b.label}</i>", showarrow=False,
                           xanchor="left", yanchor="top", font=dict(size=11, color="#495057"))
    # Flows.
    for f in flow.flows:
        a, b = flow.node(f.src), flow.node(f.dst)
        ca, cb = (a.x, a.y), (b.x, b.y)
        if f.offset and not f.via:
            length = math.hypot(b.x - a.x, b.y - a.y) or 1.0
            nx, ny = -(b.y - a.y) / length, (b.x - a.x) / length
            ca = (a.x + f.offset * nx, a.y + f.offset * ny)
            cb = (b.x + f.offset * nx, b.y + f.offset * ny)
        pts = [ca, *[tuple(p) for p in f.via], cb]
        start = _edge_point(*ca, *pts[1], centre=(a.x, a.y))
        end = _edge_point(*cb, *pts[-2], centre=(b.x, b.y))
        path = [start, *pts[1:-1], end]
        if len(path) > 2:
            fig.add_trace(go.Scatter(x=[p[0] for p in path[:-1]], y=[p[1] for p in path[:-1]],
                                     mode="lines", line=dict(color="#6C757D", width=1.8),
                                     hoverinfo="skip", showlegend=False))
        fig.add_annotation(x=end[0], y=end[1], ax=path[-2][0], ay=path[-2][1], xref="x",
                           yref="y", axref="x", ayref="y", text="", showarrow=True,
                           arrowhead=3, arrowsize=1.2, arrowwidth=1.8, arrowcolor="#6C757D")
        if f.label:
            k = max(range(1, len(path)), key=lambda j: math.dist(path[j - 1], path[j]))
            p, q = path[k - 1], path[k]
            w = min(1.0, max(0.0, float(f.label_pos)))
            fig.add_annotation(x=p[0] + w * (q[0] - p[0]), y=p[1] + w * (q[1] - p[1]),
                               text=_wrap(f.label, 22),
                               showarrow=False, font=dict(size=10, color="#495057"),
                               bgcolor="rgba(255,255,255,0.85)")
        xs += [p[0] for p in f.via]
        ys += [p[1] for p in f.via]
    # Boxes.
    for n in flow.nodes:
        fill, line = NODE_KINDS[n.kind]
        fig.add_shape(type="rect", x0=n.x - _BOX_W / 2, x1=n.x + _BOX_W / 2,
                      y0=n.y - _BOX_H / 2, y1=n.y + _BOX_H / 2, fillcolor=fill,
                      line=dict(color=line, width=2), layer="below")
        fig.add_annotation(x=n.x, y=n.y, text=f"<b>{_wrap(n.label, 20)}</b>", showarrow=False,
                           font=dict(size=11))
    fig.add_trace(go.Scatter(
        x=[n.x for n in flow.nodes], y=[n.y for n in flow.nodes], mode="markers",
        marker=dict(size=40, opacity=0), showlegend=False,
        hovertext=[f"<b>{n.label}</b> ({n.kind})<br>{_wrap(n.detail, 50)}" for n in flow.nodes],
        hoverinfo="text"))
    # Entry points.
    if eps:
        ex = [flow.node(e.node).x - _BOX_W / 2 + 0.05 for e in eps]
        ey = [flow.node(e.node).y + _BOX_H / 2 - 0.02 for e in eps]
        # Several entry points on one node: spread them along the top edge.
        seen: dict[str, int] = {}
        for k, e in enumerate(eps):
            j = seen.get(e.node, 0)
            seen[e.node] = j + 1
            ex[k] += 0.32 * j
        fig.add_trace(go.Scatter(
            x=ex, y=ey, mode="markers+text", text=[e.id for e in eps],
            textfont=dict(color="white", size=10), name="entry point",
            marker=dict(size=24, color=COLORS["attack"], line=dict(color="white", width=1)),
            hovertext=[f"<b>{e.id} {e.name}</b> ({e.access} access, stage {e.stage})<br>"
                       f"{_wrap(e.description, 50)}<br>{threats_at_entry.get(e.id, '')}"
                       for e in eps], hoverinfo="text"))
    for kind, (fill, line) in NODE_KINDS.items():
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=kind,
                                 marker=dict(symbol="square", size=14, color=fill,
                                             line=dict(color=line, width=2))))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="trust boundary",
                             line=dict(color=COLORS["attack"], dash="dash")))
    fig.update_xaxes(visible=False, range=[min(xs) - _BOX_W / 2 - 0.6,
                                           max(xs) + _BOX_W / 2 + 0.6])
    fig.update_yaxes(visible=False, range=[min(ys) - _BOX_H / 2 - 0.6,
                                           max(ys) + _BOX_H / 2 + 0.9])
    span = max(xs) - min(xs) + _BOX_W + 1.2
    fig.update_layout(
        template="plotly_white+mlsec", title=title, height=int(150 + 95 * (max(ys) - min(ys))),
        width=max(700, int(85 * span)), plot_bgcolor="white",
        legend=dict(orientation="h", yanchor="top", y=-0.02, x=0),
        margin=dict(l=10, r=10, t=60 if title else 10, b=40),
    )
    return fig


def _jitter(n: int) -> list[tuple[float, float]]:
    """Offsets that spread ``n`` markers inside one cell of the risk matrix."""
    if n == 1:
        return [(0.0, 0.0)]
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    step = 0.8 / max(cols, rows)
    return [((k % cols - (cols - 1) / 2) * step, ((rows - 1) / 2 - k // cols) * step)
            for k in range(n)]


def risk_matrix_figure(register: pd.DataFrame, which: str = "inherent",
                       title: str | None = None) -> go.Figure:
    """The 5 x 5 risk matrix (impact across, likelihood up), cells coloured by band, with every
    risk of the register placed in its cell (coloured by system, labelled by threat number,
    hover for details).

    ``which`` is ``"inherent"``, ``"residual"`` or ``"both"`` (two matrices side by side:
    before and after the applied controls).

    Introduced in lab 01 (Threat modelling).
    """
    from plotly.subplots import make_subplots

    if not isinstance(register, pd.DataFrame):
        raise TypeError("register must be a DataFrame from ThreatModel.register")
    which = _choice(which, ("inherent", "residual", "both"), "matrix view")
    need = {"id", "domain", "threat", "likelihood", "impact", "residual likelihood",
            "residual impact"}
    if need - set(register.columns):
        raise ValueError(f"register lacks the columns {sorted(need - set(register.columns))}")
    views = {"inherent": [("likelihood", "impact", "inherent")],
             "residual": [("residual likelihood", "residual impact", "residual")],
             "both": [("likelihood", "impact", "inherent (no controls)"),
                      ("residual likelihood", "residual impact", "residual (controls applied)")]
             }[which]
    fig = make_subplots(rows=1, cols=len(views), horizontal_spacing=0.07,
                        subplot_titles=[v[2] for v in views] if which == "both" else None)
    z = np.array([[lik * imp for imp in range(1, 6)] for lik in range(1, 6)], dtype=int)
    order = [b for _, _, b in RISK_BANDS]
    bands = np.array([[risk_band(int(v)) for v in row] for row in z])
    zc = np.vectorize(order.index)(bands)
    colorscale = []
    for k, b in enumerate(order):
        colorscale += [(k / len(order), BAND_COLORS[b]), ((k + 1) / len(order), BAND_COLORS[b])]
    domains = [d for d in (*frameworks.DOMAINS, *register["domain"].unique())
               if d in set(register["domain"])]
    domains = list(dict.fromkeys(domains))
    for col, (lcol, icol, _) in enumerate(views, start=1):
        fig.add_trace(go.Heatmap(
            z=zc, x=list(range(1, 6)), y=list(range(1, 6)), zmin=-0.5, zmax=len(order) - 0.5,
            colorscale=colorscale, opacity=0.35, showscale=False, xgap=3, ygap=3,
            customdata=np.dstack([z, bands]),
            hovertemplate="likelihood %{y} x impact %{x} = %{customdata[0]} "
                          "(%{customdata[1]})<extra></extra>"), row=1, col=col)
        for lik in range(1, 6):
            for imp in range(1, 6):
                fig.add_annotation(x=imp + 0.45, y=lik - 0.42, text=str(lik * imp),
                                   showarrow=False, font=dict(size=9, color="#6C757D"),
                                   xanchor="right", row=1, col=col)
        pos = {}
        for (lik, imp), grp in register.groupby([lcol, icol], sort=False):
            for (dx, dy), (_, row) in zip(_jitter(len(grp)), grp.iterrows(), strict=True):
                pos[row["id"]] = (imp + dx, lik + dy)
        for domain in domains:
            grp = register[register["domain"] == domain]
            fig.add_trace(go.Scatter(
                x=[pos[i][0] for i in grp["id"]], y=[pos[i][1] for i in grp["id"]],
                mode="markers+text", name=str(domain), legendgroup=str(domain),
                showlegend=col == 1, text=[i.split("-")[-1] for i in grp["id"]],
                textfont=dict(size=8, color="white"),
                marker=dict(size=19, color=DOMAIN_COLORS.get(domain, COLORS["neutral"]),
                            line=dict(color="white", width=1)),
                hovertext=[f"<b>{r['id']}</b> {r['threat']}<br>L {r[lcol]} x I {r[icol]}"
                           for _, r in grp.iterrows()], hoverinfo="text"), row=1, col=col)
    for band in order:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{band} risk",
                                 marker=dict(symbol="square", size=14, color=BAND_COLORS[band],
                                             opacity=0.5)), row=1, col=1)
    labels_l = [f"{k} {LIKELIHOOD[k].name}" for k in range(1, 6)]
    labels_i = [f"{k} {IMPACT[k].name}" for k in range(1, 6)]
    fig.update_xaxes(title="impact", tickvals=list(range(1, 6)), ticktext=labels_i,
                     range=[0.5, 5.5], showgrid=False)
    fig.update_yaxes(tickvals=list(range(1, 6)), ticktext=labels_l, range=[0.5, 5.5],
                     showgrid=False)
    fig.update_yaxes(title="likelihood", row=1, col=1)
    if len(views) > 1:
        fig.update_yaxes(showticklabels=False, row=1, col=2)
    fig.update_layout(template="plotly_white+mlsec", title=title, height=560,
                      width=760 if len(views) == 1 else 1250,
                      legend=dict(title="system / band"))
    return fig


def ranking_figure(register: pd.DataFrame, top: int = 15, title: str | None = None
                   ) -> go.Figure:
    """Horizontal bars of the ``top`` risks by residual score: the inherent score faint behind,
    the residual score coloured by its band, band limits as dotted lines.

    Introduced in lab 01 (Threat modelling).
    """
    if not isinstance(register, pd.DataFrame):
        raise TypeError("register must be a DataFrame from ThreatModel.register")
    top = _check_int(top, "top", 1, 10_000)
    need = {"id", "threat", "inherent", "residual", "residual band"}
    if need - set(register.columns):
        raise ValueError(f"register lacks the columns {sorted(need - set(register.columns))}")
    reg = register.sort_values(["residual", "inherent"], ascending=False, kind="stable")
    reg = reg.head(top).iloc[::-1]
    labels = [f"{r['id']} {_short(r['threat'], 46)}" for _, r in reg.iterrows()]
    fig = go.Figure([
        go.Bar(y=labels, x=reg["inherent"], orientation="h", name="inherent",
               marker_color="rgba(141,153,174,0.35)", hovertemplate="inherent %{x}<extra></extra>"),
        go.Bar(y=labels, x=reg["residual"], orientation="h", name="residual",
               marker_color=[BAND_COLORS[b] for b in reg["residual band"]],
               text=reg["residual"], textposition="outside",
               hovertemplate="residual %{x}<extra></extra>"),
    ])
    for lo, _, band in RISK_BANDS[1:]:
        fig.add_vline(x=lo - 0.5, line=dict(color=BAND_COLORS[band], dash="dot", width=1))
    fig.update_layout(template="plotly_white+mlsec", title=title, barmode="overlay",
                      height=max(320, 28 * len(reg) + 140), xaxis_title="risk score (L x I)",
                      xaxis_range=[0, 26], legend=dict(orientation="h", y=-0.12),
                      margin=dict(l=10, r=20, t=60 if title else 20, b=60))
    fig.update_yaxes(automargin=True)
    return fig


# --------------------------------------------------------------------------------------------
# The explorer widget
# --------------------------------------------------------------------------------------------


class RiskExplorer:
    """An ipywidgets control: tick controls, re-score a threat, and see the ranking redrawn.

    ``widget`` is the box to display; :meth:`update` recomputes the register and the figure
    (and, inside a notebook kernel, redraws it in the widget's output area) and returns the
    figure, so that a notebook run without a browser (nbval, nbconvert) still produces it.

    Introduced in lab 01 (Threat modelling).
    """

    def __init__(self, models: Iterable[ThreatModel] | Mapping[str, ThreatModel],
                 applied: Iterable[str] | None = None, top: int = 15,
                 residual_fn: ResidualFn | None = None):
        import ipywidgets as widgets

        self.models = _models(models)
        if not self.models:
            raise ValueError("RiskExplorer needs at least one threat model")
        self.top = _check_int(top, "top", 1, 10_000)
        self.residual_fn = residual_fn
        self._controls = {c.id: (m, c) for m in self.models for c in m.controls}
        self._threats = {t.id: (m, t) for m in self.models for t in m.threats}
        if applied is None:
            applied = [c for m in self.models for c in m.applied]
        applied = tuple(applied)
        unknown = [c for c in applied if c not in self._controls]
        if unknown:
            raise ValueError(f"unknown controls {unknown}")
        self.overrides: dict[str, tuple[int, int]] = {}
        self.controls = widgets.SelectMultiple(
            options=[(f"{c.label}, cost {c.cost}", cid) for cid, (_, c) in self._controls.items()],
            value=applied, rows=min(12, len(self._controls)), description="controls",
            layout=widgets.Layout(width="98%"))
        first = next(iter(self._threats))
        self.threat = widgets.Dropdown(
            options=[(f"{tid} {t.title}", tid) for tid, (_, t) in self._threats.items()],
            value=first, description="threat", layout=widgets.Layout(width="98%"))
        t0 = self._threats[first][1]
        self.likelihood = widgets.IntSlider(value=t0.likelihood, min=1, max=5,
                                            description="likelihood")
        self.impact = widgets.IntSlider(value=t0.impact, min=1, max=5, description="impact")
        self.summary = widgets.HTML()
        self.output = widgets.Output()
        self.widget = widgets.VBox([
            widgets.HTML("<b>Applied controls</b> (ctrl/cmd-click to select several)"),
            self.controls,
            widgets.HTML("<b>Re-score one threat</b>"),
            self.threat, widgets.HBox([self.likelihood, self.impact]),
            self.summary, self.output,
        ])
        self._syncing = False
        self.controls.observe(self.update, names="value")
        self.threat.observe(self._on_threat, names="value")
        self.likelihood.observe(self._on_score, names="value")
        self.impact.observe(self._on_score, names="value")

    def _scores(self, tid: str) -> tuple[int, int]:
        t = self._threats[tid][1]
        return self.overrides.get(tid, (t.likelihood, t.impact))

    def _on_threat(self, change=None):
        self._syncing = True
        try:
            lik, imp = self._scores(self.threat.value)
            self.likelihood.value, self.impact.value = lik, imp
        finally:
            self._syncing = False

    def _on_score(self, change=None):
        if self._syncing:
            return
        self.set_scores(self.threat.value, self.likelihood.value, self.impact.value)

    def set_scores(self, threat_id: str, likelihood: int, impact: int) -> go.Figure:
        """Override one threat's scores (checked against the rubric) and redraw."""
        if threat_id not in self._threats:
            raise KeyError(f"no threat {threat_id!r}")
        self.overrides[threat_id] = (_check_likelihood(likelihood), _check_impact(impact))
        if self.threat.value == threat_id:
            self._on_threat()
        return self.update()

    def set_applied(self, applied: Iterable[str]) -> go.Figure:
        """Apply exactly these controls and redraw (unknown IDs raise ``ValueError``)."""
        applied = tuple(applied)
        unknown = [c for c in applied if c not in self._controls]
        if unknown:
            raise ValueError(f"unknown controls {unknown}")
        self.controls.unobserve(self.update, names="value")
        try:
            self.controls.value = applied
        finally:
            self.controls.observe(self.update, names="value")
        return self.update()

    def register(self) -> pd.DataFrame:
        """The combined register of all models with the current controls and overrides."""
        applied = set(self.controls.value)
        frames = []
        for m in self.models:
            for tid, (lik, imp) in self.overrides.items():
                if any(t.id == tid for t in m.threats):
                    m = m.with_scores(tid, likelihood=lik, impact=imp)
            own = [c.id for c in m.controls if c.id in applied]
            frames.append(m.register(applied=own, residual_fn=self.residual_fn))
        reg = pd.concat(frames, ignore_index=True)
        return reg.sort_values(["residual", "inherent"], ascending=False,
                               kind="stable").reset_index(drop=True)

    @property
    def cost(self) -> int:
        """Total cost (person-weeks) of the applied controls."""
        return int(sum(self._controls[c][1].cost for c in self.controls.value))

    def update(self, change=None) -> go.Figure:
        """Recompute the register, redraw the ranking; returns the figure."""
        reg = self.register()
        fig = ranking_figure(reg, top=self.top,
                             title=f"Top {min(self.top, len(reg))} risks after the applied "
                                   f"controls")
        self.last_register = reg
        self.summary.value = (
            f"{len(self.controls.value)} controls applied, cost {self.cost} person-weeks; "
            f"total risk {int(reg['inherent'].sum())} inherent -> "
            f"<b>{int(reg['residual'].sum())} residual</b>; "
            f"{int((reg['residual band'].isin(['high', 'critical'])).sum())} risks still "
            f"high or critical")
        try:
            from IPython import get_ipython

            shell = get_ipython()
        except ImportError:  # pragma: no cover
            shell = None
        if shell is not None and getattr(shell, "kernel", None) is not None:
            from IPython.display import display

            self.output.clear_output(wait=True)
            with self.output:
                display(fig)
        return fig


# --------------------------------------------------------------------------------------------
# The reference threat models of the five systems
# --------------------------------------------------------------------------------------------

# One layout for every system, so students compare like with like:
#
#   [data source] -> [labelling] -> [training] -> [model artefact]     ([libraries] above)
#   [users]  <------------------->  [serving API] -> [downstream]
_POS = {
    "source": (0.0, 2.4), "labelling": (3.0, 2.4), "training": (6.0, 2.4),
    "artefact": (9.0, 2.4), "libs": (6.0, 4.6), "users": (0.0, 0.0), "api": (6.0, 0.0),
    "downstream": (9.0, 0.0),
}
#: A route for a feedback flow from the downstream box back to labelling, above the platform.
_FEEDBACK_VIA = ((10.45, 0.0), (10.45, 3.55), (3.0, 3.55))


def _flow_diagram(labels: Mapping[str, tuple[str, str]], extra_flows: Sequence[Flow] = (),
                  source_boundary: str = "third-party data") -> DataFlow:
    kinds = {"source": "external", "labelling": "process", "training": "process",
             "artefact": "store", "libs": "external", "users": "user", "api": "process",
             "downstream": "process"}
    nodes = tuple(Node(k, labels[k][0], kinds[k], *_POS[k], detail=labels[k][1]) for k in _POS)
    flows = (
        Flow("source", "labelling", "raw records"),
        Flow("labelling", "training", "labelled data"),
        Flow("libs", "training", "libraries, models", label_pos=0.12),
        Flow("training", "artefact", "weights"),
        Flow("artefact", "api", "deployed model"),
        Flow("users", "api", "queries", offset=0.14),
        Flow("api", "users", "predictions", offset=0.14),
        Flow("api", "downstream", "decisions"),
        *extra_flows,
    )
    boundaries = (
        TrustBoundary("b-source", source_boundary, ("source",)),
        TrustBoundary("b-platform", "internal ML platform", ("labelling", "training",
                                                             "artefact")),
        TrustBoundary("b-supply", "software supply chain", ("libs",)),
        TrustBoundary("b-users", "internet / customers", ("users",)),
        TrustBoundary("b-prod", "production", ("api", "downstream")),
    )
    return DataFlow(nodes, flows, boundaries)


def _entry_points(access_api: str, access_source: str, names: Mapping[str, str]
                  ) -> tuple[EntryPoint, ...]:
    return (
        EntryPoint("E1", names["E1"], "data_collection", "source", access_source,
                   "Where outside data enters the training set."),
        EntryPoint("E2", names["E2"], "labelling", "labelling", "insider",
                   "Who decides the labels the model learns from."),
        EntryPoint("E3", "libraries and pre-trained parts", "training", "libs", "supplier",
                   "Open-source packages and pre-trained components pulled into training."),
        EntryPoint("E4", "model artefact store", "model_artefact", "artefact", "insider",
                   "Where the trained weights are kept and loaded from."),
        EntryPoint("E5", names["E5"], "serving", "api", access_api,
                   "The interface that answers queries with predictions."),
        EntryPoint("E6", "decision channel", "monitoring", "downstream", "insider",
                   "Where predictions turn into decisions, and feedback flows back."),
    )


def _prefix(prefix: str, model: ThreatModel) -> ThreatModel:
    """Prefix threat and control IDs with the system's tag (IMG-T1, IMG-C1, ...)."""
    def p(i):
        return f"{prefix}-{i}"

    controls = tuple(dataclasses.replace(c, id=p(c.id)) for c in model.controls)
    threats = tuple(dataclasses.replace(t, id=p(t.id), controls=tuple(p(c) for c in t.controls))
                    for t in model.threats)
    return dataclasses.replace(model, controls=controls, threats=threats,
                               applied=tuple(p(c) for c in model.applied))


_ACTORS = {
    "image": (
        Actor("X1", "cheque fraudster", "external attacker", "cash altered or forged cheques"),
        Actor("X2", "labelling contractor", "malicious insider", "paid to plant a weakness"),
        Actor("X3", "compromised package or model hub", "compromised supplier",
              "code execution inside the bank"),
        Actor("X4", "API client", "curious or abusive user", "copy or probe the reader"),
    ),
    "nlp": (
        Actor("X1", "scammer", "external attacker", "phish customers through the bank's channels"),
        Actor("X2", "support agent", "malicious insider", "help a scam ring, hide complaints"),
        Actor("X3", "compromised package", "compromised supplier", "run code where chats live"),
        Actor("X4", "curious customer or competitor", "curious or abusive user",
              "learn what others wrote, copy the model, flood the queues"),
    ),
    "recommender": (
        Actor("X1", "promoter of a film", "external attacker", "push a title up the charts"),
        Actor("X2", "data engineer", "malicious insider", "favour a partner studio"),
        Actor("X3", "compromised package", "compromised supplier", "steal viewing data"),
        Actor("X4", "competitor or curious viewer", "curious or abusive user",
              "copy the recommender, learn what others watch"),
    ),
    "fraud": (
        Actor("X1", "fraud ring", "external attacker", "get fraudulent payments approved"),
        Actor("X2", "analyst colluding with fraudsters", "malicious insider",
              "label fraud as legitimate"),
        Actor("X3", "compromised package or data vendor", "compromised supplier",
              "tamper with the scorer or its data"),
        Actor("X4", "merchant probing the scorer", "curious or abusive user",
              "learn which payments pass"),
    ),
    "medical": (
        Actor("X1", "insurer or data broker", "external attacker",
              "learn who has cancer, reuse the model for free"),
        Actor("X2", "research partner's employee", "malicious insider",
              "copy records or the model"),
        Actor("X3", "compromised package or model vendor", "compromised supplier",
              "plant a faulty model in the clinic"),
        Actor("X4", "clinician or patient gaming the aid", "curious or abusive user",
              "obtain a diagnosis that unlocks a treatment or a claim"),
    ),
}


def _assets(personal: str, data: str, labels: str, preds: str, availability: bool = True
            ) -> tuple[Asset, ...]:
    assets = (
        Asset("A1", data, "training data"),
        Asset("A2", labels, "labels"),
        Asset("A3", "model weights", "model weights", "The trained artefact (months of work)."),
        Asset("A4", preds, "predictions"),
        Asset("A5", personal, "personal data"),
        Asset("A6", "training and serving code", "software"),
    )
    return assets + ((Asset("A7", "service availability", "availability"),) if availability
                     else ())


def _image_model() -> ThreatModel:
    flow = _flow_diagram({
        "source": ("scanned cheques + MNIST", "Branch scans and the public MNIST digits."),
        "labelling": ("keying clerks", "Clerks key the amount; a contractor labels digits."),
        "training": ("CNN training job", "Trains the small CNN on labelled digits."),
        "artefact": ("model registry", "Weights stored as files and loaded by the API."),
        "libs": ("PyPI, torch, model hub", "torch, torchvision and their dependencies."),
        "users": ("branch scanners, mobile app", "Cheque images arrive from scanners and "
                  "customers' phones."),
        "api": ("cheque-reading API", "Returns the digits read and their confidence."),
        "downstream": ("payments clearing", "Pays the amount read, reviews low confidence."),
    }, extra_flows=(Flow("users", "source", "scans archived"),))
    controls = (
        Control("C1", "adversarial training and robustness tests", "PR", "SAIF-5", 2, cost=4,
                likelihood_reduction=1, atlas_mitigations=("AML.M0003",)),
        Control("C2", "human review of low-confidence amounts", "DE", "SAIF-2", 13, cost=2,
                likelihood_reduction=1, impact_reduction=1, atlas_mitigations=("AML.M0015",)),
        Control("C3", "label audits and data provenance", "ID", "SAIF-1", 3, cost=2,
                likelihood_reduction=1, atlas_mitigations=("AML.M0007", "AML.M0025")),
        Control("C4", "signed safetensors artefacts, access control", "PR", "SAIF-4", 11,
                cost=2, likelihood_reduction=2,
                atlas_mitigations=("AML.M0005", "AML.M0013", "AML.M0014")),
        Control("C5", "API authentication, rate limits, query logs", "PR", "SAIF-1", 12, cost=2,
                likelihood_reduction=1, atlas_mitigations=("AML.M0004", "AML.M0019")),
        Control("C6", "fairness tests across writing styles", "GV", "SAIF-6", 7, cost=1,
                likelihood_reduction=1),
        Control("C7", "incident playbook and model rollback", "RC", "SAIF-2", 13, cost=1,
                impact_reduction=1),
    )
    threats = (
        Threat("T1", "altered digits on a cheque are read as another amount", "evasion", "X1",
               ("A4",), "E5", ("AML.T0043", "AML.T0015", "AML.T0041"), ("ML01",), 3, 4,
               ("C1", "C2", "C7"), "Digits are drawn by the attacker on paper they control."),
        Threat("T2", "labelling contractor plants mislabelled digits", "poisoning", "X2",
               ("A1", "A2"), "E2", ("AML.T0020", "AML.T0018.000"), ("ML02",), 2, 4,
               ("C3", "C7"), "Needs a contractor on the inside."),
        Threat("T3", "weights copied from the registry or through the API", "theft", "X4",
               ("A3",), "E4", ("AML.T0024.002", "AML.T0048.004"), ("ML05",), 2, 3,
               ("C4", "C5"), "The artefact is small and valuable to competitors."),
        Threat("T4", "API reveals whether a customer's cheque was in training",
               "membership_inference", "X4", ("A5",), "E5", ("AML.T0024.000",), ("ML04",),
               1, 2, ("C5",), "Digits carry little personal data."),
        Threat("T5", "confidences reveal what a customer's handwriting looks like",
               "inversion", "X4", ("A5", "A1"), "E5", ("AML.T0024.001",), ("ML03",), 1, 2,
               ("C5",), "Class prototypes, not one person's writing, are recoverable."),
        Threat("T6", "reader errs more on unusual handwriting styles", "bias", None, ("A4",),
               "E6", ("AML.T0048.003",), ("ML08",), 3, 3, ("C6", "C2"),
               "MNIST's writers are not the bank's customers."),
        Threat("T7", "malicious package or pre-trained checkpoint compromises training",
               "supply_chain", "X3", ("A6", "A3"), "E3", ("AML.T0010.001", "AML.T0011.000"),
               ("ML06", "ML07"), 2, 5, ("C4",),
               "Typosquatted packages are common; a pre-trained backbone can carry a backdoor."),
        Threat("T8", "amounts altered between the API and payments clearing", "api_abuse",
               "X1", ("A4",), "E6", ("AML.T0049",), ("ML09",), 2, 4, ("C4", "C7"),
               "The API's answer is not signed."),
    )
    return _prefix("IMG", ThreatModel(
        "image", "handwritten-digit reader (cheques)",
        "A small CNN reads the amounts on scanned cheques; the amount read is paid.",
        _assets("cheque images (names, account numbers, signatures)",
                "digit images", "digit labels", "amounts read and confidences",
                availability=False),
        _ACTORS["image"],
        _entry_points("account", "public", {"E1": "scanned cheques and public digits",
                                            "E2": "labelling contractor",
                                            "E5": "cheque-reading API"}),
        controls, threats, flow, applied=("C4", "C2"),
    ))


def _nlp_model() -> ThreatModel:
    flow = _flow_diagram({
        "source": ("chat, e-mail and SMS logs", "Messages customers (and scammers) send."),
        "labelling": ("agents tag intents", "Support agents tag each message's intent."),
        "training": ("TF-IDF + LR training", "Nightly retrain on the tagged messages."),
        "artefact": ("pipeline file", "The fitted vectoriser (with its vocabulary) and model."),
        "libs": ("PyPI, scikit-learn", "scikit-learn, numpy and their dependencies."),
        "users": ("customers and scammers", "Anyone can write to the chat."),
        "api": ("triage service", "Routes each message to a queue; flags scams."),
        "downstream": ("agent queues, scam block", "Agents answer; scams are blocked."),
    }, extra_flows=(Flow("users", "source", "messages logged"),),
        source_boundary="customer channels")
    controls = (
        Control("C1", "adversarial and typo augmentation in training", "PR", "SAIF-5", 2,
                cost=3, likelihood_reduction=1, atlas_mitigations=("AML.M0003",)),
        Control("C2", "link and sender checks outside the model", "DE", "SAIF-2", 13, cost=2,
                likelihood_reduction=1, impact_reduction=1, atlas_mitigations=("AML.M0015",)),
        Control("C3", "double tagging and tag audits", "ID", "SAIF-1", 3, cost=2,
                likelihood_reduction=1, atlas_mitigations=("AML.M0007",)),
        Control("C4", "PII redaction before training, DP training", "PR", "SAIF-1", 5, cost=3,
                likelihood_reduction=1, impact_reduction=1, atlas_mitigations=("AML.M0002",)),
        Control("C5", "rate limits, authentication, coarse outputs", "PR", "SAIF-1", 12,
                cost=2, likelihood_reduction=1, atlas_mitigations=("AML.M0004", "AML.M0002")),
        Control("C6", "pinned, scanned dependencies; no pickles from outside", "PR", "SAIF-4",
                11, cost=1, likelihood_reduction=2,
                atlas_mitigations=("AML.M0011", "AML.M0016")),
        Control("C7", "error analysis by language and typing style", "GV", "SAIF-6", 7, cost=1,
                likelihood_reduction=1),
    )
    threats = (
        Threat("T1", "scammer rewords a message so it is routed as a legitimate intent",
               "evasion", "X1", ("A4",), "E5",
               ("AML.T0043.001", "AML.T0015"), ("ML01",), 4, 4, ("C1", "C2"),
               "Anyone can write to the chat and see how it is answered."),
        Threat("T2", "agent tags scams as legitimate so the model learns to let them pass",
               "poisoning", "X2", ("A2", "A1"), "E2", ("AML.T0020",), ("ML02",), 2, 4,
               ("C3",), "Needs an insider; tags are rarely double-checked."),
        Threat("T3", "competitor copies the triage model through its answers", "theft", "X4",
               ("A3",), "E5", ("AML.T0024.002",), ("ML05",), 3, 2, ("C5",),
               "Text models are easy to imitate from labelled queries."),
        Threat("T4", "model reveals that a customer's complaint was in the training set",
               "membership_inference", "X4", ("A5", "A1"), "E5", ("AML.T0024.000",),
               ("ML04",), 2, 3, ("C4", "C5"), "Chats carry names and card numbers."),
        Threat("T5", "vocabulary of the shipped vectoriser leaks card-number fragments",
               "inversion", "X2", ("A5", "A3"), "E4", ("AML.T0024.001", "AML.T0044"),
               ("ML03",), 3, 4, ("C4",), "Character n-grams of PII end up in the vocabulary."),
        Threat("T6", "messages with typos or non-native English are misrouted more often",
               "bias", None, ("A4",), "E6", ("AML.T0048.003",), ("ML08",), 3, 3, ("C7",),
               "The corpus has typos; error rates per group are unknown."),
        Threat("T7", "malicious package or pickled pipeline runs code on the chat servers",
               "supply_chain", "X3", ("A6", "A5"), "E3", ("AML.T0010.001", "AML.T0011.000"),
               ("ML06",), 2, 5, ("C6",), "sklearn pipelines are pickles."),
        Threat("T8", "flood of chaff messages clogs the queues and skews the nightly retrain",
               "api_abuse", "X4", ("A7", "A1"), "E5", ("AML.T0046", "AML.T0029"), ("ML08",),
               3, 3, ("C5", "C3"), "Chat is open to everyone; logs feed training."),
    )
    return _prefix("NLP", ThreatModel(
        "nlp", "support-chat triage with scam detection",
        "TF-IDF + logistic regression routes support messages and flags scams.",
        _assets("customers' messages (names, card numbers, phones)", "support messages",
                "intent tags", "routing decisions and scam flags"),
        _ACTORS["nlp"],
        _entry_points("public", "public", {"E1": "messages logged for training",
                                           "E2": "agents' tags", "E5": "chat triage API"}),
        controls, threats, flow, applied=("C2",),
    ))


def _recommender_model() -> ThreatModel:
    flow = _flow_diagram({
        "source": ("ratings ingestion", "Star ratings from every account, deduplicated."),
        "labelling": ("ratings are labels", "No curation: each rating is a training label."),
        "training": ("nightly MF retrain", "Matrix factorisation on all ratings."),
        "artefact": ("embeddings store", "User and item vectors and biases."),
        "libs": ("PyPI, torch", "torch and its dependencies."),
        "users": ("viewers (any account)", "Anyone can open an account and rate."),
        "api": ("recommendation API", "Top-10 lists and predicted stars."),
        "downstream": ("home page, marketing", "What viewers see first; promotion budgets."),
    }, extra_flows=(Flow("users", "source", "ratings"),), source_boundary="viewers' accounts")
    controls = (
        Control("C1", "robust ranking (trimmed means, popularity priors)", "PR", "SAIF-5", 2,
                cost=2, likelihood_reduction=1, atlas_mitigations=("AML.M0003",)),
        Control("C2", "fake-account and rating-burst detection", "DE", "SAIF-2", 3, cost=3,
                likelihood_reduction=2, atlas_mitigations=("AML.M0007", "AML.M0015")),
        Control("C3", "account verification before ratings count", "PR", "SAIF-1", 12, cost=2,
                likelihood_reduction=1, atlas_mitigations=("AML.M0019",)),
        Control("C4", "query limits and coarse scores on the API", "PR", "SAIF-1", 4, cost=1,
                likelihood_reduction=1, atlas_mitigations=("AML.M0004", "AML.M0002")),
        Control("C5", "DP training of user embeddings", "PR", "SAIF-1", 5, cost=3,
                likelihood_reduction=1, impact_reduction=1),
        Control("C6", "pinned, scanned dependencies and signed artefacts", "PR", "SAIF-4", 11,
                cost=1, likelihood_reduction=2, atlas_mitigations=("AML.M0013", "AML.M0016")),
        Control("C7", "exposure audits for small studios and niche genres", "GV", "SAIF-6", 7,
                cost=1, likelihood_reduction=1),
    )
    threats = (
        Threat("T1", "fake accounts rate a film up the charts (shilling)", "poisoning", "X1",
               ("A1", "A2", "A4"), "E1", ("AML.T0020", "AML.T0031"), ("ML02", "ML08"), 4, 3,
               ("C1", "C2", "C3"), "Anyone can open accounts and rate."),
        Threat("T2", "crafted rating profile makes a user's list show chosen items", "evasion",
               "X1", ("A4",), "E5", ("AML.T0043.003", "AML.T0015"), ("ML01",), 2, 2,
               ("C1",), "Affects mainly the attacker's own recommendations."),
        Threat("T3", "competitor copies the recommender from its top-10 lists", "theft", "X4",
               ("A3",), "E5", ("AML.T0024.002",), ("ML05",), 3, 3, ("C4",),
               "Lists for many probe accounts reveal the item embeddings."),
        Threat("T4", "API reveals which films a person rated", "membership_inference", "X4",
               ("A5",), "E5", ("AML.T0024.000",), ("ML04",), 2, 3, ("C4", "C5"),
               "Viewing histories reveal politics, religion, sexuality."),
        Threat("T5", "embeddings leak a user's sensitive tastes or traits", "inversion", "X2",
               ("A5", "A3"), "E4", ("AML.T0024.001", "AML.T0044"), ("ML03",), 2, 4, ("C5",),
               "User vectors are stored next to account IDs."),
        Threat("T6", "popularity bias buries small studios and niche genres", "bias", None,
               ("A4",), "E6", ("AML.T0048.002",), ("ML08",), 4, 2, ("C7",),
               "Lab 00 showed the top-10 lists favour a few titles."),
        Threat("T7", "malicious package exfiltrates viewing data from training", "supply_chain",
               "X3", ("A6", "A5"), "E3", ("AML.T0010.001",), ("ML06",), 2, 4, ("C6",),
               "Training runs with access to all ratings."),
        Threat("T8", "scraping bots flood the API and run up serving cost", "api_abuse", "X4",
               ("A7",), "E5", ("AML.T0034", "AML.T0029"), ("ML05",), 3, 2, ("C4",),
               "Public API, no quota per account."),
    )
    return _prefix("REC", ThreatModel(
        "recommender", "movie recommender",
        "Matrix factorisation of star ratings ranks films for each viewer.",
        _assets("viewing and rating histories", "ratings", "the ratings "
                "themselves (no curation)", "top-10 lists and predicted stars"),
        _ACTORS["recommender"],
        _entry_points("account", "account", {"E1": "ratings from any account",
                                             "E2": "rating curation", "E5": "recommendation API"}),
        controls, threats, flow, applied=("C6",),
    ))


def _fraud_model() -> ThreatModel:
    flow = _flow_diagram({
        "source": ("card-network transactions", "Authorisations from terminals and websites."),
        "labelling": ("chargebacks, analyst verdicts", "Labels arrive days to weeks later."),
        "training": ("GBT training", "Gradient-boosted trees on history features."),
        "artefact": ("scorer model file", "The trees, loaded by the scoring service."),
        "libs": ("PyPI, scikit-learn, data vendor", "Libraries and a vendor's risk lists."),
        "users": ("card holders, fraudsters", "Anyone with card details can pay."),
        "api": ("real-time scoring", "Scores every authorisation within milliseconds."),
        "downstream": ("alert queue, declines", "Top 1% of scores go to analysts."),
    }, extra_flows=(Flow("downstream", "labelling", "analyst verdicts (labels)",
                         via=_FEEDBACK_VIA),
                    Flow("users", "source", "payments")),
        source_boundary="card network")
    controls = (
        Control("C1", "constraint-aware adversarial training", "PR", "SAIF-5", 2, cost=4,
                likelihood_reduction=1, atlas_mitigations=("AML.M0003",)),
        Control("C2", "velocity rules and step-up authentication", "DE", "SAIF-2", 13, cost=2,
                likelihood_reduction=1, impact_reduction=1, atlas_mitigations=("AML.M0015",)),
        Control("C3", "four-eyes review of analyst verdicts", "GV", "SAIF-6", 3, cost=2,
                likelihood_reduction=1, atlas_mitigations=("AML.M0007",)),
        Control("C4", "decline reasons withheld, probing detection", "DE", "SAIF-2", 4, cost=2,
                likelihood_reduction=1, atlas_mitigations=("AML.M0002", "AML.M0004")),
        Control("C5", "encrypted, access-controlled model and features", "PR", "SAIF-1", 10,
                cost=2, likelihood_reduction=1, impact_reduction=1,
                atlas_mitigations=("AML.M0005", "AML.M0012")),
        Control("C6", "vendor data validation and signed artefacts", "PR", "SAIF-4", 11,
                cost=2, likelihood_reduction=2, atlas_mitigations=("AML.M0014", "AML.M0013")),
        Control("C7", "false-positive audits by age and region", "GV", "SAIF-6", 7, cost=1,
                likelihood_reduction=1),
        Control("C8", "fraud incident response and rollback", "RS", "SAIF-2", 13, cost=1,
                impact_reduction=1),
    )
    threats = (
        Threat("T1", "fraudster shifts time and amount so a fraud scores below the alert line",
               "evasion", "X1", ("A4",), "E5", ("AML.T0043.001", "AML.T0015"), ("ML01",),
               4, 5, ("C1", "C2", "C4", "C8"), "Fraudsters learn from declines."),
        Threat("T2", "colluding analyst marks frauds as legitimate", "poisoning", "X2",
               ("A2",), "E2", ("AML.T0020", "AML.T0031"), ("ML02",), 2, 4, ("C3",),
               "Verdicts feed training directly."),
        Threat("T3", "merchant probes the scorer to learn which payments pass", "theft", "X4",
               ("A3", "A4"), "E5", ("AML.T0024.002", "AML.T0013"), ("ML05",), 2, 4, ("C4",),
               "Only accept/decline is visible, but at scale."),
        Threat("T4", "scorer reveals whether a card was in the training data",
               "membership_inference", "X4", ("A5",), "E5", ("AML.T0024.000",), ("ML04",),
               1, 3, ("C4", "C5"), "Decisions, not scores, are exposed."),
        Threat("T5", "feature store and model reveal customers' spending habits", "inversion",
               "X2", ("A5", "A1"), "E4", ("AML.T0024.001", "AML.T0044"), ("ML03",), 2, 4,
               ("C5",), "History features are personal data."),
        Threat("T6", "more false alarms for young or southern customers", "bias", None,
               ("A4", "A5"), "E6", ("AML.T0048.003", "AML.T0048.002"), ("ML08",), 3, 3,
               ("C7",), "The data has known age and region biases (datasheet)."),
        Threat("T7", "tampered vendor risk list or library changes the scores",
               "supply_chain", "X3", ("A6", "A1"), "E3", ("AML.T0010.002", "AML.T0010.001"),
               ("ML06", "ML10"), 2, 5, ("C6",), "Third-party lists enter features."),
        Threat("T8", "card-testing bots flood the scoring service", "api_abuse", "X1",
               ("A7",), "E5", ("AML.T0029", "AML.T0034"), ("ML09",), 3, 3, ("C2", "C8"),
               "Scenario 4 of the simulator is exactly this."),
    )
    return _prefix("FRD", ThreatModel(
        "fraud", "card-transaction fraud scorer",
        "Gradient-boosted trees score each card payment; the top 1% go to analysts.",
        _assets("card holders' transaction histories", "transactions",
                "fraud labels (chargebacks, verdicts)", "fraud scores and alerts"),
        _ACTORS["fraud"],
        _entry_points("public", "public", {"E1": "card payments", "E2": "analyst verdicts",
                                           "E5": "authorisation scoring"}),
        controls, threats, flow, applied=("C5", "C8"),
    ))


def _medical_model() -> ThreatModel:
    flow = _flow_diagram({
        "source": ("hospital biopsy records", "Nuclei measurements of past patients."),
        "labelling": ("pathologists' diagnoses", "Confirmed by histology."),
        "training": ("vendor's LR training", "A vendor trains the model for the clinic."),
        "artefact": ("model file in clinic software", "Shipped inside the clinical software."),
        "libs": ("PyPI, scikit-learn", "scikit-learn and its dependencies."),
        "users": ("clinicians, research partners", "Authenticated professional users."),
        "api": ("diagnosis-aid API", "Probability that a biopsy is malignant."),
        "downstream": ("patient record, treatment", "Decisions a clinician signs off."),
    }, source_boundary="hospital records")
    controls = (
        Control("C1", "probability rounding and label-only outputs", "PR", "SAIF-1", 4, cost=1,
                likelihood_reduction=1, atlas_mitigations=("AML.M0002",)),
        Control("C2", "per-account query quotas and audit logs", "DE", "SAIF-2", 12, cost=2,
                likelihood_reduction=1, atlas_mitigations=("AML.M0004", "AML.M0024")),
        Control("C3", "DP training and regularisation", "PR", "SAIF-1", 5, cost=3,
                likelihood_reduction=1, impact_reduction=1),
        Control("C4", "measurement plausibility checks and second reads", "DE", "SAIF-2", 2,
                cost=2, likelihood_reduction=1, impact_reduction=1,
                atlas_mitigations=("AML.M0015",)),
        Control("C5", "signed model files and a verified vendor pipeline", "PR", "SAIF-4", 11,
                cost=2, likelihood_reduction=2, atlas_mitigations=("AML.M0013", "AML.M0014")),
        Control("C6", "subgroup validation before deployment", "GV", "SAIF-6", 7, cost=2,
                likelihood_reduction=1, atlas_mitigations=("AML.M0008",)),
        Control("C7", "clinical incident reporting and rollback", "RS", "SAIF-2", 13, cost=1,
                impact_reduction=1),
    )
    threats = (
        Threat("T1", "a few queries rebuild the model for free use", "theft", "X1", ("A3",),
               "E5", ("AML.T0024.002", "AML.T0048.004"), ("ML05",), 2, 3, ("C1", "C2"),
               "The API returns full probabilities."),
        Threat("T2", "measurements nudged within tolerance flip a diagnosis", "evasion", "X4",
               ("A4",), "E5", ("AML.T0043.000", "AML.T0015"), ("ML01",), 2, 5,
               ("C4", "C7"), "Borderline cases are a few percent away from the threshold."),
        Threat("T3", "vendor's training data silently mislabelled", "poisoning", "X3",
               ("A1", "A2"), "E2", ("AML.T0020", "AML.T0010.002"), ("ML02", "ML10"), 1, 5,
               ("C6", "C5"), "Needs a compromised vendor."),
        Threat("T4", "insurer learns that a patient's biopsy was in the training set",
               "membership_inference", "X1", ("A5",), "E5", ("AML.T0024.000",), ("ML04",),
               2, 4, ("C1", "C3"), "Being in the data means having had a biopsy."),
        Threat("T5", "copied model and outputs reveal patients' measurements", "inversion",
               "X2", ("A5", "A1"), "E4", ("AML.T0024.001", "AML.T0044"), ("ML03",), 2, 4,
               ("C3",), "A partner holds the model file."),
        Threat("T6", "aid is less accurate for groups under-represented in the data", "bias",
               None, ("A4", "A5"), "E6", ("AML.T0048.003", "AML.T0048.002"), ("ML08",), 3, 4,
               ("C6",), "WDBC comes from one hospital in Wisconsin."),
        Threat("T7", "tampered model file shipped in a software update", "supply_chain", "X3",
               ("A3", "A6"), "E3", ("AML.T0010.003", "AML.T0011.000"), ("ML06", "ML10"), 2, 5,
               ("C5",), "The clinic cannot inspect the vendor's build."),
        Threat("T8", "probability altered between the API and the patient record",
               "api_abuse", "X2", ("A4",), "E6", ("AML.T0049",), ("ML09",), 1, 5,
               ("C5", "C7"), "The integration passes plain JSON."),
    )
    return _prefix("MED", ThreatModel(
        "medical", "breast-cancer diagnosis aid",
        "Logistic regression on 30 biopsy measurements estimates the probability of malignancy.",
        _assets("patients' biopsy measurements and diagnoses", "biopsy records",
                "diagnoses", "malignancy probabilities", availability=False),
        _ACTORS["medical"],
        _entry_points("partner", "insider", {"E1": "hospital records", "E2": "pathologists' "
                                             "diagnoses", "E5": "diagnosis-aid API"}),
        controls, threats, flow, applied=("C7",),
    ))


_BUILDERS: dict[str, Callable[[], ThreatModel]] = {
    "image": _image_model,
    "nlp": _nlp_model,
    "recommender": _recommender_model,
    "fraud": _fraud_model,
    "medical": _medical_model,
}


def reference_model(domain: str) -> ThreatModel:
    """The course's threat model of one reference system (a fresh, validated object).

    Each covers the eight threat categories of the course, the five required asset kinds and
    the four actor kinds; IDs are prefixed by the system (``IMG``, ``NLP``, ``REC``, ``FRD``,
    ``MED``). Scores are the rubric's prior judgement; lab 01 replaces the likelihood of the
    probed threat by one argued from a measurement.

    Introduced in lab 01 (Threat modelling).
    """
    domain = _choice(domain, frameworks.DOMAINS, "domain")
    return _BUILDERS[domain]()


def reference_models() -> dict[str, ThreatModel]:
    """The threat models of the five systems, in course order: ``{domain: ThreatModel}``.

    Introduced in lab 01 (Threat modelling).
    """
    return {d: reference_model(d) for d in frameworks.DOMAINS}


def overview_figure(title: str | None = None) -> go.Figure:
    """The threat in one picture: a generic ML pipeline with its trust boundaries and, at each
    entry point, the threats of the course that enter there.

    Introduced in lab 01 (Threat modelling).
    """
    flow = _flow_diagram({
        "source": ("data sources", "Collected, bought or contributed data."),
        "labelling": ("labelling", "People or processes that decide the labels."),
        "training": ("training", "The pipeline that fits the model."),
        "artefact": ("model artefact", "The stored weights."),
        "libs": ("libraries, pre-trained models", "Third-party code and components."),
        "users": ("users, attackers", "Whoever can send queries."),
        "api": ("serving API", "Answers queries with predictions."),
        "downstream": ("downstream consumers", "Decisions, feedback, other systems."),
    }, extra_flows=(Flow("users", "source", "contributed data"),),
        source_boundary="outside data")
    eps = _entry_points("public", "public", {"E1": "data collection", "E2": "labelling",
                                             "E5": "serving API"})
    cats = {
        "E1": ("poisoning", "bias"), "E2": ("poisoning", "bias"), "E3": ("supply_chain",),
        "E4": ("theft", "inversion"),
        "E5": ("evasion", "theft", "membership_inference", "inversion", "api_abuse"),
        "E6": ("api_abuse", "bias"),
    }
    text = {e: "<br>".join(f"{THREAT_CATEGORIES[c].name} ({THREAT_CATEGORIES[c].lab_title})"
                           for c in cs) for e, cs in cats.items()}
    fig = dataflow_figure(flow, title=title, entry_points=eps, threats_at_entry=text)
    offsets = {"E1": (0, -0.75), "E2": (0, -0.75), "E3": (2.1, 0.1), "E4": (0, -0.75),
               "E5": (0, -0.72), "E6": (0, -0.72)}
    for e in eps:
        node = flow.node(e.node)
        dx, dy = offsets[e.id]
        names = ", ".join(f"{THREAT_CATEGORIES[c].name} ({THREAT_CATEGORIES[c].lab:02d})"
                          for c in cats[e.id])
        width = 30 if e.id in ("E5", "E6") else 60
        fig.add_annotation(x=node.x + dx, y=node.y + dy, text=f"<b>{e.id}</b>: "
                           f"{_wrap(names, width)}", showarrow=False, yanchor="top",
                           font=dict(size=10, color=COLORS["attack"]))
    fig.update_yaxes(range=[-1.7, 5.9])
    fig.update_layout(height=620)
    return fig
