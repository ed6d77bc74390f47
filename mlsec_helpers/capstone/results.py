"""The result dataclasses of the capstone's system, red team and blue team.

Each helper that produces more than one thing returns one of these small frozen dataclasses:
the fields are named and documented. Sections follow the lab's order.

Introduced in lab 14 (Capstone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..stats import Rate

__all__ = [
    "AdaptiveResult",
    "AttackResult",
    "BlueTeamReport",
    "CapstoneControl",
    "ExplanationTheft",
    "GamingResult",
    "QualityCost",
    "Theft",
]


# --- the system ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapstoneControl:
    """A blue-team control of the capstone system: what :func:`~.system.harden` does when it
    is named, what it costs and which planted weaknesses it treats.

    Introduced in lab 14 (Capstone).
    """

    key: str
    """The name :func:`~.system.harden` takes (``"labels_and_rate_limit"``, ...)."""
    title: str
    """What it is, in a few words."""
    cost: int
    """Its cost in person-weeks (what the budget of the blue team counts)."""
    treats: tuple[str, ...]
    """The planted weaknesses (``"W1"`` ... ``"W6"``) it treats; empty for a process control
    that treats threats outside the planted six."""
    lab: int
    """The lab of the course that built it."""
    what: str
    """What changes in the system when it is applied, in one sentence."""
    nist: str
    """Its NIST CSF 2.0 function (``"PR"``, ``"DE"``, ...)."""
    saif: str
    """Its SAIF core element (``"SAIF-1"`` ... ``"SAIF-6"``)."""
    atlas_mitigations: tuple[str, ...]
    """The MITRE ATLAS mitigations it implements."""
    likelihood_reduction: int
    """Rubric steps it takes off the likelihood of a threat it treats (lab 01's rule)."""
    impact_reduction: int = 0
    """Rubric steps it takes off the impact of a threat it treats."""
    changes_code: bool = True
    """False for a process control (a review, a monitoring duty): :func:`~.system.harden`
    records it but nothing in the running system changes."""


# --- the red team -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Theft:
    """A copy of the lender's scorecard made through its prediction API (lab 04's attacks).

    Introduced in lab 14 (Capstone).
    """

    attack: str
    """``"equation solving"`` (probabilities) or ``"line search"`` (labels only)."""
    queries: int
    """Applications the thief sent."""
    fidelity: Rate
    """Share of the held-out applications on which the copy's decision (pre-approve or refer)
    agrees with the system's, with its Wilson interval."""
    refused_agreement: Rate
    """The same share over the held-out applications the system refers (the decisions that
    matter to a gaming applicant; a copy that approves everyone scores 0 here)."""
    weights: np.ndarray | None
    """The copy's raw-feature weights (``None`` when the attack got nothing usable)."""
    intercept: float | None
    """The copy's intercept (``None`` when the attack got nothing usable)."""
    error: str | None = None
    """Why the attack failed (``None`` when it produced a copy)."""
    keys: int = 1
    """API keys the thief used."""
    refused: int = 0
    """Requests the API refused (429: rate limit) during the theft."""


@dataclass(frozen=True)
class ExplanationTheft:
    """The scorecard rebuilt from the answers of the "explain this decision" endpoint (W6).

    Introduced in lab 14 (Capstone).
    """

    queries: int
    """Explanation requests sent."""
    numbers_returned: int
    """How many numbers (contributions and probabilities) the two rebuilding answers held."""
    weights: np.ndarray | None
    """The rebuilt raw-feature weights (``None`` when the answers held no numbers)."""
    intercept: float | None
    """The rebuilt intercept (``None`` when not recoverable)."""
    weight_error: float | None
    """``||w_hat - w|| / ||w||`` against the system's scorecard weights in standardised units
    (``None`` when nothing was rebuilt)."""
    fidelity: Rate
    """Decision agreement of the rebuilt scorecard with the system on the held-out
    applications (the copy that approves everyone when nothing was rebuilt)."""
    refused_agreement: Rate
    """The same over the held-out applications the system refers."""
    counterfactuals: int
    """Counterfactual applicants the answers revealed."""
    counterfactuals_in_training: Rate
    """Share of the revealed counterfactuals that are, exactly, rows of the training data
    (a privacy leak: real applicants), with its Wilson interval; over the explanation requests
    when none was revealed."""
    refused_requests: int = 0
    """Requests the API refused (429: the explanation budget)."""
    keys: int = 1
    """API keys used."""


@dataclass(frozen=True)
class GamingResult:
    """Referred applicants who flip the decision by changing only what they declare themselves
    (W5; lab 02's constrained evasion on tabular data).

    Introduced in lab 14 (Capstone).
    """

    success: Rate
    """Share of the referred held-out applicants pre-approved after the cheapest allowed
    change, with its Wilson interval."""
    moves: tuple[str, ...]
    """The fields the attacker may change and how."""
    mean_changed: float
    """Mean number of fields changed among the successes (NaN when none)."""
    queries: int
    """Applications evaluated (through the decision function)."""
    examples: tuple[dict, ...] = ()
    """A few successful changes, as ``{field: (before, after)}``."""


@dataclass(frozen=True)
class AttackResult:
    """One attack of the pen-test plan, run: the number it measured and what it rests on.

    Introduced in lab 14 (Capstone).
    """

    weakness: str
    """The planted weakness it tests (``"W1"`` ... ``"W6"``)."""
    threat: str
    """The threat id of the capstone's threat model."""
    attack: str
    """What was run."""
    metric: str
    """What the number measures."""
    value: Rate
    """The measurement with its interval."""
    found: bool
    """Whether the measurement shows the weakness (the plan's finding rule)."""
    evidence: str
    """The evidence in one line (numbers with intervals)."""
    detail: object = None
    """The attack's own result (a :class:`Theft`, :class:`GamingResult`, ...)."""


# --- the blue team ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdaptiveResult:
    """An attacker who knows a control and works around it, measured.

    Introduced in lab 14 (Capstone).
    """

    weakness: str
    """The weakness the control treats."""
    control: str
    """The control's key."""
    attack: str
    """What the adaptive attacker does."""
    metric: str
    """What the number measures."""
    value: Rate
    """The measurement with its interval."""
    cost: str
    """What the adaptation costs the attacker (keys, queries, money), in words."""
    detail: object = None
    """The attack's own numbers (a dict: keys used, a control experiment's result, the trials
    table, ...)."""


@dataclass(frozen=True)
class QualityCost:
    """What the controls cost honest applicants: accuracy and pre-approval rate on the held-out
    applications, before and after.

    Introduced in lab 14 (Capstone).
    """

    accuracy_before: Rate
    """Share of held-out applications whose pre-approval decision matches the lender's past
    decision (referred = denied), weak system."""
    accuracy_after: Rate
    """The same, hardened system."""
    approval_before: Rate
    """Share of held-out applications pre-approved, weak system."""
    approval_after: Rate
    """The same, hardened system."""
    accuracy_change: Rate
    """Paired bootstrap of after - before accuracy (same applications)."""
    approval_change: Rate
    """Paired bootstrap of after - before pre-approval rate."""
    denials_before: Rate
    """Share of the held-out applications denied in the past that the weak system refers (the
    risky applications it catches)."""
    denials_after: Rate
    """The same, hardened system."""
    denials_change: Rate
    """Paired bootstrap of after - before share of past denials referred."""


@dataclass(frozen=True)
class BlueTeamReport:
    """The blue team's whole run (:func:`~.blueteam.run_blue_team`).

    Introduced in lab 14 (Capstone).
    """

    model: object
    """The threat model scored with the red team's findings (a lab 01 ``ThreatModel``), with
    the chosen controls applied."""
    register: object
    """Its risk register (a DataFrame: inherent and residual risk per threat)."""
    budget: int
    """The budget the controls were chosen under (person-weeks)."""
    chosen: tuple[str, ...]
    """The chosen control keys (of ``system.CONTROLS``)."""
    system: object
    """The hardened :class:`~.system.CapstoneSystem` (close it when done)."""
    after: dict
    """The red team's attacks re-run on the hardened system (weakness -> AttackResult)."""
    retest: object
    """The RETEST table (a DataFrame)."""
    adaptive: tuple
    """The adaptive attackers' results (:class:`AdaptiveResult`, one per weakness)."""
    quality: QualityCost
    """What the controls cost honest applicants."""
