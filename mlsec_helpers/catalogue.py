"""The course catalogue: the five domains, the fifteen labs and the eight threats, in one place.

Every other module reads the course's facts from here: the domain list and its order (the order
of the sections of every lab), the dataset of each domain, each lab's threat, defence and
framework items, and which lab treats which threat. :mod:`mlsec_helpers.frameworks` checks the
framework IDs against its catalogues at import; the README tables are rendered from here.

Introduced in lab 00 (Meet the five systems).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .validate import unknown_name

__all__ = [
    "DOMAINS",
    "DOMAIN_DATASETS",
    "LABS",
    "THREAT_CATEGORIES",
    "Lab",
    "ThreatCategory",
    "UnknownLabError",
    "check_domain",
    "get_lab",
]

#: The five domains, in the order of every lab's sections.
DOMAINS: tuple[str, ...] = ("image", "nlp", "recommender", "fraud", "medical")

#: The dataset each domain's reference system is built on.
DOMAIN_DATASETS: dict[str, str] = {
    "image": "digits",
    "nlp": "support",
    "recommender": "movielens",
    "fraud": "fraud",
    "medical": "breast_cancer",
}


def check_domain(domain: object) -> str:
    """``domain`` if it is one of :data:`DOMAINS`, else the course's unknown-name error.

    Introduced in lab 00 (Meet the five systems).
    """
    if not isinstance(domain, str) or domain not in DOMAINS:
        raise unknown_name(domain, DOMAINS, "domain")
    return domain


@dataclass(frozen=True)
class Lab:
    """One lab of the course and the framework items it covers (IDs only; see the catalogues).

    ``nist_csf`` holds function codes (``"PR"``), ``saif`` element IDs (``"SAIF-1"``),
    ``saif_risks`` course risk IDs (``"SAIF-R-DP"``) and ``ibm`` pillar IDs (``"IBM-DATA"``).

    Introduced in lab 00 (Meet the five systems).
    """

    number: int
    slug: str
    title: str
    threat: str
    defence: str
    domains: tuple[str, ...]
    atlas: tuple[str, ...]
    owasp: tuple[str, ...]
    nist_csf: tuple[str, ...]
    saif: tuple[str, ...]
    saif_risks: tuple[str, ...] = ()
    ibm: tuple[str, ...] = ()
    atlas_mitigations: tuple[str, ...] = ()
    nist_categories: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The two-digit lab number, e.g. ``"02"``."""
        return f"{self.number:02d}"


class UnknownLabError(KeyError, ValueError):
    """Raised for a lab number outside the course; a ``KeyError`` and a ``ValueError``.

    Introduced in lab 00 (Meet the five systems).
    """

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else ""


# Every item of a framework, for the labs that cover them all (the IDs are checked against the
# catalogues of mlsec_helpers.frameworks at import).
_ALL_OWASP = tuple(f"ML{k:02d}" for k in range(1, 11))
_ALL_NIST_CSF = ("GV", "ID", "PR", "DE", "RS", "RC")
_ALL_SAIF = tuple(f"SAIF-{k}" for k in range(1, 7))
_ALL_SAIF_RISKS = ("SAIF-R-DP", "SAIF-R-UTD", "SAIF-R-MST", "SAIF-R-EDH", "SAIF-R-MXF",
                   "SAIF-R-MDT", "SAIF-R-DMS", "SAIF-R-MRE", "SAIF-R-IIC", "SAIF-R-PIJ",
                   "SAIF-R-MEV", "SAIF-R-SDD", "SAIF-R-ISD", "SAIF-R-IMO", "SAIF-R-RA")
_ALL_IBM = ("IBM-DATA", "IBM-MODEL", "IBM-USAGE", "IBM-INFRA", "IBM-GOV")

LABS: tuple[Lab, ...] = (
    Lab(
        0, "00_meet_the_systems", "Meet the five systems",
        "meet the five systems; the ML lifecycle and MLOps; the frameworks",
        "baselines and their metrics",
        DOMAINS,
        atlas=("AML.T0040", "AML.T0047"),
        owasp=(),
        nist_csf=("GV", "ID"),
        saif=("SAIF-1", "SAIF-6"),
        ibm=("IBM-GOV",),
        nist_categories=("GV.OC", "ID.AM"),
    ),
    Lab(
        1, "01_threat_modelling", "Threat modelling",
        "threat modelling and risk assessment",
        "threat model and risk register per system",
        DOMAINS,
        atlas=("AML.T0000", "AML.T0001", "AML.T0002", "AML.T0003", "AML.T0004", "AML.T0006",
               "AML.T0007", "AML.T0013", "AML.T0014", "AML.T0016", "AML.T0017", "AML.T0040",
               "AML.T0041", "AML.T0044", "AML.T0047", "AML.T0048", "AML.T0048.000",
               "AML.T0048.001", "AML.T0048.002", "AML.T0048.003"),
        owasp=_ALL_OWASP,
        nist_csf=("GV", "ID"),
        saif=("SAIF-1", "SAIF-6"),
        saif_risks=_ALL_SAIF_RISKS,
        ibm=("IBM-GOV",),
        atlas_mitigations=("AML.M0000", "AML.M0001", "AML.M0018"),
        nist_categories=("GV.RM", "ID.AM", "ID.RA"),
    ),
    Lab(
        2, "02_evasion", "Evasion",
        "evasion: adversarial examples",
        "adversarial training, input normalisation, robustness evaluation",
        DOMAINS,
        atlas=("AML.T0043", "AML.T0043.000", "AML.T0043.001", "AML.T0043.002", "AML.T0043.003",
               "AML.T0015", "AML.T0042", "AML.T0005", "AML.T0005.002", "AML.T0016.000",
               "AML.T0040", "AML.T0044"),
        owasp=("ML01",),
        nist_csf=("ID", "PR", "DE"),
        saif=("SAIF-1", "SAIF-2", "SAIF-3", "SAIF-5"),
        saif_risks=("SAIF-R-MEV",),
        ibm=("IBM-MODEL", "IBM-USAGE"),
        atlas_mitigations=("AML.M0003", "AML.M0006", "AML.M0010", "AML.M0015"),
        nist_categories=("ID.RA", "PR.PS", "DE.AE"),
    ),
    Lab(
        3, "03_poisoning", "Data poisoning and backdoors",
        "data poisoning and backdoors",
        "data sanitisation and validation, poison detection, provenance",
        DOMAINS,
        atlas=("AML.T0020", "AML.T0019", "AML.T0018", "AML.T0018.000", "AML.T0043.004",
               "AML.T0010.002", "AML.T0031", "AML.T0059"),
        owasp=("ML02", "ML08", "ML10"),
        nist_csf=("ID", "PR", "DE"),
        saif=("SAIF-1", "SAIF-2", "SAIF-3"),
        saif_risks=("SAIF-R-DP", "SAIF-R-UTD"),
        ibm=("IBM-DATA", "IBM-MODEL"),
        atlas_mitigations=("AML.M0005", "AML.M0007", "AML.M0008", "AML.M0014", "AML.M0025"),
        nist_categories=("ID.AM", "PR.DS", "DE.AE"),
    ),
    Lab(
        4, "04_model_theft", "Model theft",
        "model theft (extraction)",
        "output hardening, query monitoring, watermarking",
        DOMAINS,
        atlas=("AML.T0024", "AML.T0024.002", "AML.T0005", "AML.T0005.001", "AML.T0013",
               "AML.T0014", "AML.T0040", "AML.T0048.004"),
        owasp=("ML05",),
        nist_csf=("PR", "DE"),
        saif=("SAIF-1", "SAIF-2"),
        saif_risks=("SAIF-R-MRE",),
        ibm=("IBM-MODEL", "IBM-USAGE"),
        atlas_mitigations=("AML.M0002", "AML.M0004", "AML.M0019", "AML.M0024"),
        nist_categories=("PR.AA", "PR.DS", "DE.CM"),
    ),
    Lab(
        5, "05_membership_inference", "Membership inference",
        "membership inference",
        "differential privacy (DP-SGD with opacus), regularisation",
        DOMAINS,
        atlas=("AML.T0024", "AML.T0024.000", "AML.T0005", "AML.T0005.000", "AML.T0005.001",
               "AML.T0040"),
        owasp=("ML04",),
        nist_csf=("ID", "PR"),
        saif=("SAIF-1", "SAIF-5"),
        saif_risks=("SAIF-R-SDD",),
        ibm=("IBM-DATA", "IBM-USAGE"),
        atlas_mitigations=("AML.M0002", "AML.M0004"),
        nist_categories=("ID.RA", "PR.DS"),
    ),
    Lab(
        6, "06_model_inversion", "Model inversion",
        "model inversion and attribute inference",
        "output coarsening, differential privacy",
        DOMAINS,
        atlas=("AML.T0024", "AML.T0024.001", "AML.T0040", "AML.T0044"),
        owasp=("ML03",),
        nist_csf=("ID", "PR"),
        saif=("SAIF-1", "SAIF-5"),
        saif_risks=("SAIF-R-SDD", "SAIF-R-ISD"),
        ibm=("IBM-DATA", "IBM-USAGE"),
        atlas_mitigations=("AML.M0002", "AML.M0004"),
        nist_categories=("ID.RA", "PR.DS"),
    ),
    Lab(
        7, "07_bias_fairness", "Bias and fairness",
        "bias and fairness",
        "fairness metrics, mitigation, explainability",
        DOMAINS,
        atlas=("AML.T0048", "AML.T0048.001", "AML.T0048.002", "AML.T0048.003"),
        owasp=(),  # the OWASP ML Top 10 (2023) has no bias item (ML08 is Model Skewing)
        nist_csf=("GV", "ID"),
        saif=("SAIF-5", "SAIF-6"),
        ibm=("IBM-GOV",),
        atlas_mitigations=("AML.M0008",),
        nist_categories=("GV.OC", "GV.PO", "ID.RA"),
    ),
    Lab(
        8, "08_explainability", "Explainability",
        "explainability and transparency for security",
        "attributions to find backdoors and shortcuts, model cards",
        DOMAINS,
        atlas=("AML.T0018", "AML.T0018.000", "AML.T0020", "AML.T0043.004"),
        owasp=("ML02", "ML10"),
        nist_csf=("GV", "ID", "DE"),
        saif=("SAIF-2", "SAIF-6"),
        saif_risks=("SAIF-R-DP", "SAIF-R-MST"),
        ibm=("IBM-MODEL", "IBM-GOV"),
        atlas_mitigations=("AML.M0008",),
        nist_categories=("GV.OV", "ID.AM", "DE.AE"),
    ),
    Lab(
        9, "09_federated_learning", "Federated learning",
        "federated learning and its attacks",
        "robust aggregation, secure aggregation, DP",
        DOMAINS,
        atlas=("AML.T0020", "AML.T0018", "AML.T0018.000", "AML.T0031", "AML.T0024",
               "AML.T0024.000", "AML.T0024.001"),
        owasp=("ML02", "ML03", "ML04", "ML10"),
        nist_csf=("PR", "DE"),
        saif=("SAIF-1", "SAIF-3", "SAIF-4"),
        saif_risks=("SAIF-R-DP", "SAIF-R-SDD"),
        ibm=("IBM-DATA", "IBM-MODEL", "IBM-INFRA"),
        atlas_mitigations=("AML.M0007", "AML.M0008"),
        nist_categories=("PR.AA", "PR.DS", "DE.AE"),
    ),
    Lab(
        10, "10_secure_computation", "Secure computation",
        "model encryption and secure computation",
        "homomorphic encryption, secret sharing, encryption at rest",
        DOMAINS,
        atlas=("AML.T0035", "AML.T0037", "AML.T0025", "AML.T0044", "AML.T0048.004"),
        owasp=("ML05",),
        nist_csf=("PR",),
        saif=("SAIF-1", "SAIF-4"),
        saif_risks=("SAIF-R-MXF", "SAIF-R-SDD", "SAIF-R-EDH"),
        ibm=("IBM-DATA", "IBM-MODEL", "IBM-INFRA"),
        atlas_mitigations=("AML.M0005", "AML.M0012"),
        nist_categories=("PR.DS",),
    ),
    Lab(
        11, "11_supply_chain", "Supply chain",
        "secure packaging and the model supply chain",
        "safe formats, scanning, signing, hashes",
        DOMAINS,
        atlas=("AML.T0010", "AML.T0010.001", "AML.T0010.002", "AML.T0010.003", "AML.T0011",
               "AML.T0011.000", "AML.T0018.001", "AML.T0019", "AML.T0058"),
        owasp=("ML06", "ML07", "ML10"),
        nist_csf=("GV", "ID", "PR"),
        saif=("SAIF-1", "SAIF-3", "SAIF-4"),
        saif_risks=("SAIF-R-MST", "SAIF-R-MDT"),
        ibm=("IBM-MODEL", "IBM-INFRA"),
        atlas_mitigations=("AML.M0011", "AML.M0013", "AML.M0014", "AML.M0016", "AML.M0018",
                           "AML.M0023"),
        nist_categories=("GV.SC", "ID.AM", "PR.AT", "PR.PS"),
    ),
    Lab(
        12, "12_api_security", "API security",
        "API security and access control",
        "authentication, authorisation, rate limits, input validation, pen testing",
        DOMAINS,
        atlas=("AML.T0040", "AML.T0049", "AML.T0012", "AML.T0055", "AML.T0006", "AML.T0029",
               "AML.T0034", "AML.T0046"),
        owasp=("ML05", "ML09"),
        nist_csf=("ID", "PR", "DE"),
        saif=("SAIF-1", "SAIF-2", "SAIF-4"),
        saif_risks=("SAIF-R-DMS", "SAIF-R-IIC", "SAIF-R-IMO"),
        ibm=("IBM-USAGE", "IBM-INFRA"),
        atlas_mitigations=("AML.M0004", "AML.M0015", "AML.M0019", "AML.M0024"),
        nist_categories=("ID.IM", "PR.AA", "PR.PS", "PR.IR", "DE.CM"),
    ),
    Lab(
        13, "13_monitoring_response", "Monitoring and response",
        "continuous monitoring and incident response",
        "drift and attack detection, alerting, rollback",
        DOMAINS,
        atlas=("AML.T0015", "AML.T0031", "AML.T0029", "AML.T0046", "AML.T0020", "AML.T0024",
               "AML.T0040"),
        owasp=("ML01", "ML02", "ML08"),
        nist_csf=("DE", "RS", "RC"),
        saif=("SAIF-2", "SAIF-3", "SAIF-5"),
        saif_risks=("SAIF-R-MEV", "SAIF-R-DP", "SAIF-R-DMS"),
        ibm=("IBM-USAGE", "IBM-GOV"),
        atlas_mitigations=("AML.M0008", "AML.M0015", "AML.M0024"),
        nist_categories=("DE.CM", "DE.AE", "RS.MA", "RS.AN", "RS.CO", "RS.MI", "RC.RP"),
    ),
    Lab(
        14, "14_capstone", "Capstone",
        "capstone: red team / blue team audit",
        "governance, compliance, a security report card",
        DOMAINS,
        atlas=("AML.T0043", "AML.T0015", "AML.T0042", "AML.T0020", "AML.T0018", "AML.T0024",
               "AML.T0010", "AML.T0040", "AML.T0048"),
        owasp=_ALL_OWASP,
        nist_csf=_ALL_NIST_CSF,
        saif=_ALL_SAIF,
        saif_risks=("SAIF-R-DP", "SAIF-R-UTD", "SAIF-R-MST", "SAIF-R-MXF", "SAIF-R-MDT",
                    "SAIF-R-DMS", "SAIF-R-MRE", "SAIF-R-MEV", "SAIF-R-SDD", "SAIF-R-ISD",
                    "SAIF-R-IMO"),
        ibm=_ALL_IBM,
        atlas_mitigations=("AML.M0000", "AML.M0018", "AML.M0023", "AML.M0024"),
        nist_categories=("GV.RM", "GV.RR", "GV.PO", "GV.OV", "ID.RA", "ID.IM", "RS.CO",
                         "RC.CO"),
    ),
)
"""The fifteen labs, in course order. Introduced in lab 00 (Meet the five systems)."""

_LABS_BY_NUMBER: dict[int, Lab] = {lab.number: lab for lab in LABS}


def get_lab(number: int) -> Lab:
    """Return the lab with this number (0-14).

    Raises ``TypeError`` for a non-integer and :class:`UnknownLabError` (both a ``KeyError``
    and a ``ValueError``) naming the valid range for an unknown number.

    Introduced in lab 00 (Meet the five systems).
    """
    if isinstance(number, bool) or not isinstance(number, numbers.Integral):
        raise TypeError(f"lab number must be an int, got {type(number).__name__}")
    number = int(number)
    try:
        return _LABS_BY_NUMBER[number]
    except KeyError:
        lo, hi = min(_LABS_BY_NUMBER), max(_LABS_BY_NUMBER)
        raise UnknownLabError(
            f"unknown lab {number}; labs are numbered {lo} to {hi}"
        ) from None


@dataclass(frozen=True)
class ThreatCategory:
    """One threat of the course, with the lab that treats it and its usual framework IDs.

    ``owasp`` lists the OWASP ML Top 10 items a threat of this category maps to (one of them
    must be on the threat); it is empty for bias, which the OWASP ML Top 10 (2023) does not
    list (its ML08 "Model Skewing" is an attacker skewing a model through its feedback data),
    and a bias threat then carries no OWASP ID. ``atlas`` lists typical MITRE ATLAS techniques.

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
        return f"lab {self.lab:02d} {get_lab(self.lab).title}"


THREAT_CATEGORIES: Mapping[str, ThreatCategory] = MappingProxyType({
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
        # No OWASP item: the OWASP ML Top 10 (2023) has none for bias. ML08 "Model Skewing"
        # is an attacker skewing a model through its feedback data (poisoning, API abuse).
        ThreatCategory("bias", "bias and unfairness", 7, (),
                       ("AML.T0048.002", "AML.T0048.003"),
                       "The system errs more for some groups of people than for others."),
        ThreatCategory("supply_chain", "supply chain", 11, ("ML06", "ML07", "ML10"),
                       ("AML.T0010", "AML.T0011.000"),
                       "Data, software or models the system depends on are compromised."),
        ThreatCategory("api_abuse", "API abuse", 12, ("ML05", "ML08", "ML09"),
                       ("AML.T0040", "AML.T0029", "AML.T0034", "AML.T0046", "AML.T0049"),
                       "The serving interface is misused: floods, forged or altered outputs."),
    )
})
"""The eight threats of the course (lab 01's categories), in course order (read-only).

Introduced in lab 01 (Threat modelling)."""
