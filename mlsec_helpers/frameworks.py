"""Security frameworks and the labs that cover them: one catalogue for headers, tables and checks.

Lab headers, the framework-coverage table of lab 00, the README's lab table and the
threat-model/risk-register helper of lab 01 are all rendered and validated from this module, so
that an ID shown to students is always a real one and always spelled the same way.

Versions reflected (IDs are official unless marked as the course's own):

* **MITRE ATLAS**: tactics, techniques and mitigations M0000-M0019 as in release 4.5.2 of the
  official ``mitre-atlas/atlas-data`` (checked against ``dist/ATLAS.yaml``, including each
  technique's tactics and each mitigation's technique list), plus AML.T0058, AML.T0059 and
  AML.M0020-AML.M0025, which later 4.x releases (2024-2025) added. Names are the 4.x ones.
  Releases from 2025 on replace "ML" with "AI" in many names (e.g. "Exfiltration via AI
  Inference API") and renamed a few items; the IDs stay the same, and the new names we checked
  are kept in each record's ``aka``. Only techniques relevant to the course are listed.
* **OWASP Machine Learning Security Top 10**, 2023 edition (ML01-ML10).
* **NIST Cybersecurity Framework 2.0** (NIST CSWP 29, February 2024): the six functions and all
  22 categories.
* **Google's Secure AI Framework (SAIF)**: the six core elements (June 2023) and the risks of
  the SAIF Risk Map (saif.google, 2024-2025). The short IDs ``SAIF-1``..``SAIF-6`` and
  ``SAIF-R-*`` are the course's own (the risk suffixes follow the abbreviations of the SAIF
  risks page).
* **IBM Framework for Securing Generative AI** (January 2024): its three core pillars plus
  securing the infrastructure and establishing governance. The ``IBM-*`` IDs are the course's
  own.
* The ML lifecycle / MLOps stages of lab 00 are the course's own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from .catalogue import DOMAINS, LABS, Lab, UnknownLabError, get_lab
from .validate import unknown_name

__all__ = [
    "ATLAS_MITIGATIONS",
    "ATLAS_TACTICS",
    "ATLAS_TECHNIQUES",
    "AtlasMitigation",
    "AtlasTactic",
    "AtlasTechnique",
    "CatalogueItem",
    "DOMAINS",
    "FRAMEWORKS",
    "Framework",
    "IBM_PILLARS",
    "LABS",
    "LIFECYCLE_STAGES",
    "Lab",
    "LifecycleStage",
    "NIST_CSF_CATEGORIES",
    "NIST_CSF_FUNCTIONS",
    "OWASP_ML_TOP10",
    "SAIF_ELEMENTS",
    "SAIF_RISKS",
    "UnknownLabError",
    "check_catalogue",
    "coverage_table",
    "describe",
    "get_lab",
    "lab_header_markdown",
    "lab_table_markdown",
    "labs_covering",
    "labs_table",
    "lifecycle_table",
    "mitigations_for",
    "validate_atlas_id",
    "validate_atlas_mitigation_id",
    "validate_atlas_tactic_id",
    "validate_ibm_id",
    "validate_nist_category",
    "validate_nist_function",
    "validate_owasp_id",
    "validate_saif_id",
]


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Framework:
    """A framework the course maps its labs to: display name, version reflected, home page.

    Introduced in lab 00 (Meet the five systems).
    """

    key: str
    name: str
    version: str
    url: str


@dataclass(frozen=True)
class AtlasTactic:
    """A MITRE ATLAS tactic (the adversary's goal), e.g. ``AML.TA0002`` Reconnaissance.

    Introduced in lab 00 (Meet the five systems).
    """

    id: str
    name: str
    aka: tuple[str, ...] = ()


@dataclass(frozen=True)
class AtlasTechnique:
    """A MITRE ATLAS technique or sub-technique.

    ``tactics`` are the tactic IDs the technique serves; a sub-technique (``parent`` set) has
    its parent's tactics, as in the ATLAS data.

    Introduced in lab 00 (Meet the five systems).
    """

    id: str
    name: str
    tactics: tuple[str, ...]
    parent: str | None = None
    aka: tuple[str, ...] = ()

    @property
    def is_subtechnique(self) -> bool:
        """Whether this is a sub-technique (``AML.Txxxx.yyy``)."""
        return self.parent is not None


@dataclass(frozen=True)
class AtlasMitigation:
    """A MITRE ATLAS mitigation and the catalogued techniques it addresses according to ATLAS.

    ``techniques`` is empty where the course did not check ATLAS's list.

    Introduced in lab 00 (Meet the five systems).
    """

    id: str
    name: str
    techniques: tuple[str, ...] = ()
    aka: tuple[str, ...] = ()


@dataclass(frozen=True)
class CatalogueItem:
    """An item of a list-style framework (OWASP, NIST CSF, SAIF, IBM): ID, name, one line.

    Introduced in lab 00 (Meet the five systems).
    """

    id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class LifecycleStage:
    """A stage of the ML lifecycle / MLOps pipeline and the labs whose threats enter there.

    Introduced in lab 00 (Meet the five systems).
    """

    id: str
    name: str
    description: str
    labs: tuple[int, ...]


# --------------------------------------------------------------------------------------------
# Frameworks
# --------------------------------------------------------------------------------------------

FRAMEWORKS: dict[str, Framework] = {
    "atlas": Framework(
        "atlas",
        "MITRE ATLAS",
        "atlas-data 4.5.2 + later 4.x additions (T0058, T0059, M0020-M0025)",
        "https://atlas.mitre.org",
    ),
    "owasp": Framework(
        "owasp",
        "OWASP Machine Learning Security Top 10",
        "2023",
        "https://owasp.org/www-project-machine-learning-security-top-10/",
    ),
    "nist": Framework(
        "nist",
        "NIST Cybersecurity Framework",
        "2.0 (February 2024)",
        "https://www.nist.gov/cyberframework",
    ),
    "saif": Framework(
        "saif",
        "Google Secure AI Framework (SAIF)",
        "core elements (2023), risk map (2024-2025)",
        "https://saif.google",
    ),
    "ibm": Framework(
        "ibm",
        "IBM Framework for Securing Generative AI",
        "January 2024",
        "https://www.ibm.com/think/insights/ibm-framework-for-securing-generative-ai",
    ),
}

# --------------------------------------------------------------------------------------------
# MITRE ATLAS
# --------------------------------------------------------------------------------------------

# Matrix order (left to right), as in ATLAS 4.5.2.
ATLAS_TACTICS: dict[str, AtlasTactic] = {
    t.id: t
    for t in (
        AtlasTactic("AML.TA0002", "Reconnaissance"),
        AtlasTactic("AML.TA0003", "Resource Development"),
        AtlasTactic("AML.TA0004", "Initial Access"),
        AtlasTactic("AML.TA0000", "ML Model Access", aka=("AI Model Access",)),
        AtlasTactic("AML.TA0005", "Execution"),
        AtlasTactic("AML.TA0006", "Persistence"),
        AtlasTactic("AML.TA0012", "Privilege Escalation"),
        AtlasTactic("AML.TA0007", "Defense Evasion"),
        AtlasTactic("AML.TA0013", "Credential Access"),
        AtlasTactic("AML.TA0008", "Discovery"),
        AtlasTactic("AML.TA0009", "Collection"),
        AtlasTactic("AML.TA0001", "ML Attack Staging", aka=("AI Attack Staging",)),
        AtlasTactic("AML.TA0010", "Exfiltration"),
        AtlasTactic("AML.TA0011", "Impact"),
    )
}

_RECON, _RESOURCE, _INITIAL = "AML.TA0002", "AML.TA0003", "AML.TA0004"
_MODEL_ACCESS, _EXECUTION, _PERSISTENCE = "AML.TA0000", "AML.TA0005", "AML.TA0006"
_PRIV_ESC, _DEF_EVASION, _CRED_ACCESS = "AML.TA0012", "AML.TA0007", "AML.TA0013"
_DISCOVERY, _COLLECTION, _STAGING = "AML.TA0008", "AML.TA0009", "AML.TA0001"
_EXFILTRATION, _IMPACT = "AML.TA0010", "AML.TA0011"

# (id, name, tactics, aka). A sub-technique lists no tactics: it takes its parent's.
_TECHNIQUE_ROWS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("AML.T0000", "Search for Victim's Publicly Available Research Materials", (_RECON,), ()),
    ("AML.T0000.000", "Journals and Conference Proceedings", (), ()),
    ("AML.T0000.001", "Pre-Print Repositories", (), ()),
    ("AML.T0000.002", "Technical Blogs", (), ()),
    ("AML.T0001", "Search for Publicly Available Adversarial Vulnerability Analysis",
     (_RECON,), ()),
    ("AML.T0002", "Acquire Public ML Artifacts", (_RESOURCE,), ()),
    ("AML.T0002.000", "Datasets", (), ()),
    ("AML.T0002.001", "Models", (), ()),
    ("AML.T0003", "Search Victim-Owned Websites", (_RECON,), ()),
    ("AML.T0004", "Search Application Repositories", (_RECON,), ()),
    ("AML.T0005", "Create Proxy ML Model", (_STAGING,), ("Create Proxy AI Model",)),
    ("AML.T0005.000", "Train Proxy via Gathered ML Artifacts", (), ()),
    ("AML.T0005.001", "Train Proxy via Replication", (), ()),
    ("AML.T0005.002", "Use Pre-Trained Model", (), ()),
    ("AML.T0006", "Active Scanning", (_RECON,), ()),
    ("AML.T0007", "Discover ML Artifacts", (_DISCOVERY,), ()),
    ("AML.T0008", "Acquire Infrastructure", (_RESOURCE,), ()),
    ("AML.T0008.000", "ML Development Workspaces", (), ()),
    ("AML.T0008.001", "Consumer Hardware", (), ()),
    ("AML.T0010", "ML Supply Chain Compromise", (_INITIAL,), ("AI Supply Chain Compromise",)),
    ("AML.T0010.000", "GPU Hardware", (), ("Hardware",)),
    ("AML.T0010.001", "ML Software", (), ("AI Software",)),
    ("AML.T0010.002", "Data", (), ()),
    ("AML.T0010.003", "Model", (), ()),
    ("AML.T0011", "User Execution", (_EXECUTION,), ()),
    ("AML.T0011.000", "Unsafe ML Artifacts", (), ()),
    ("AML.T0012", "Valid Accounts", (_INITIAL,), ()),
    ("AML.T0013", "Discover ML Model Ontology", (_DISCOVERY,), ()),
    ("AML.T0014", "Discover ML Model Family", (_DISCOVERY,), ()),
    ("AML.T0015", "Evade ML Model", (_INITIAL, _DEF_EVASION, _IMPACT), ()),
    ("AML.T0016", "Obtain Capabilities", (_RESOURCE,), ()),
    ("AML.T0016.000", "Adversarial ML Attack Implementations", (), ()),
    ("AML.T0016.001", "Software Tools", (), ()),
    ("AML.T0017", "Develop Capabilities", (_RESOURCE,), ()),
    ("AML.T0017.000", "Adversarial ML Attacks", (), ()),
    ("AML.T0018", "Backdoor ML Model", (_PERSISTENCE, _STAGING), ()),
    ("AML.T0018.000", "Poison ML Model", (), ()),
    ("AML.T0018.001", "Inject Payload", (), ()),
    ("AML.T0019", "Publish Poisoned Datasets", (_RESOURCE,), ()),
    ("AML.T0020", "Poison Training Data", (_RESOURCE, _PERSISTENCE), ()),
    ("AML.T0021", "Establish Accounts", (_RESOURCE,), ()),
    ("AML.T0024", "Exfiltration via ML Inference API", (_EXFILTRATION,),
     ("Exfiltration via AI Inference API",)),
    ("AML.T0024.000", "Infer Training Data Membership", (), ()),
    ("AML.T0024.001", "Invert ML Model", (), ("Invert AI Model",)),
    ("AML.T0024.002", "Extract ML Model", (), ("Extract AI Model",)),
    ("AML.T0025", "Exfiltration via Cyber Means", (_EXFILTRATION,), ()),
    ("AML.T0029", "Denial of ML Service", (_IMPACT,), ("Denial of AI Service",)),
    ("AML.T0031", "Erode ML Model Integrity", (_IMPACT,), ("Erode AI Model Integrity",)),
    ("AML.T0034", "Cost Harvesting", (_IMPACT,), ()),
    ("AML.T0035", "ML Artifact Collection", (_COLLECTION,), ()),
    ("AML.T0036", "Data from Information Repositories", (_COLLECTION,), ()),
    ("AML.T0037", "Data from Local System", (_COLLECTION,), ()),
    ("AML.T0040", "ML Model Inference API Access", (_MODEL_ACCESS,),
     ("AI Model Inference API Access",)),
    ("AML.T0041", "Physical Environment Access", (_MODEL_ACCESS,), ()),
    ("AML.T0042", "Verify Attack", (_STAGING,), ()),
    ("AML.T0043", "Craft Adversarial Data", (_STAGING,), ()),
    ("AML.T0043.000", "White-Box Optimization", (), ()),
    ("AML.T0043.001", "Black-Box Optimization", (), ()),
    ("AML.T0043.002", "Black-Box Transfer", (), ()),
    ("AML.T0043.003", "Manual Modification", (), ()),
    ("AML.T0043.004", "Insert Backdoor Trigger", (), ()),
    ("AML.T0044", "Full ML Model Access", (_MODEL_ACCESS,), ()),
    ("AML.T0046", "Spamming ML System with Chaff Data", (_IMPACT,),
     ("Spamming AI System with Chaff Data",)),
    ("AML.T0047", "ML-Enabled Product or Service", (_MODEL_ACCESS,),
     ("AI-Enabled Product or Service",)),
    ("AML.T0048", "External Harms", (_IMPACT,), ()),
    ("AML.T0048.000", "Financial Harm", (), ()),
    ("AML.T0048.001", "Reputational Harm", (), ()),
    ("AML.T0048.002", "Societal Harm", (), ()),
    ("AML.T0048.003", "User Harm", (), ()),
    ("AML.T0048.004", "ML Intellectual Property Theft", (), ("AI Intellectual Property Theft",)),
    ("AML.T0049", "Exploit Public-Facing Application", (_INITIAL,), ()),
    # 4.5.2 lists these four tactics; later releases file prompt injection under Execution.
    ("AML.T0051", "LLM Prompt Injection", (_INITIAL, _PERSISTENCE, _PRIV_ESC, _DEF_EVASION), ()),
    ("AML.T0051.000", "Direct", (), ()),
    ("AML.T0051.001", "Indirect", (), ()),
    ("AML.T0054", "LLM Jailbreak", (_PRIV_ESC, _DEF_EVASION), ()),
    ("AML.T0055", "Unsecured Credentials", (_CRED_ACCESS,), ()),
    ("AML.T0057", "LLM Data Leakage", (_EXFILTRATION,), ()),
    # Added after 4.5.2 (2024).
    ("AML.T0058", "Publish Poisoned Models", (_RESOURCE,), ()),
    ("AML.T0059", "Erode Dataset Integrity", (_IMPACT,), ()),
)


def _build_techniques() -> dict[str, AtlasTechnique]:
    out: dict[str, AtlasTechnique] = {}
    for id_, name, tactics, aka in _TECHNIQUE_ROWS:
        parent = id_[:-4] if id_.count(".") == 2 else None
        if parent is not None:
            tactics = out[parent].tactics
        out[id_] = AtlasTechnique(id_, name, tuple(tactics), parent, tuple(aka))
    return out


ATLAS_TECHNIQUES: dict[str, AtlasTechnique] = _build_techniques()

_T24 = ("AML.T0024", "AML.T0024.000", "AML.T0024.001", "AML.T0024.002")

# Technique lists: ATLAS 4.5.2 for M0000-M0019; M0024 from the current ATLAS site (only the
# catalogued techniques kept); left empty for M0020-M0023 and M0025 (not checked).
ATLAS_MITIGATIONS: dict[str, AtlasMitigation] = {
    m.id: m
    for m in (
        AtlasMitigation(
            "AML.M0000",
            "Limit Release of Public Information",
            ("AML.T0000", "AML.T0002", "AML.T0003", "AML.T0004"),
            aka=("Limit Public Release of Information",),
        ),
        AtlasMitigation(
            "AML.M0001",
            "Limit Model Artifact Release",
            ("AML.T0002.000", "AML.T0002.001", "AML.T0020"),
        ),
        AtlasMitigation(
            "AML.M0002",
            "Passive ML Output Obfuscation",
            ("AML.T0013", "AML.T0014", "AML.T0043.001", *_T24[1:]),
            aka=("Passive AI Output Obfuscation",),
        ),
        AtlasMitigation("AML.M0003", "Model Hardening", ("AML.T0015", "AML.T0031")),
        AtlasMitigation(
            "AML.M0004",
            "Restrict Number of ML Model Queries",
            ("AML.T0013", "AML.T0014", *_T24, "AML.T0029", "AML.T0034", "AML.T0043.001",
             "AML.T0046"),
        ),
        AtlasMitigation(
            "AML.M0005",
            "Control Access to ML Models and Data at Rest",
            ("AML.T0010.002", "AML.T0010.003", "AML.T0018.000", "AML.T0018.001", "AML.T0020",
             "AML.T0025", "AML.T0048.004"),
        ),
        AtlasMitigation(
            "AML.M0006",
            "Use Ensemble Methods",
            ("AML.T0010.001", "AML.T0010.003", "AML.T0014", "AML.T0015", "AML.T0031"),
        ),
        AtlasMitigation(
            "AML.M0007",
            "Sanitize Training Data",
            ("AML.T0010.002", "AML.T0018.000", "AML.T0020"),
        ),
        AtlasMitigation(
            "AML.M0008",
            "Validate ML Model",
            ("AML.T0010.003", "AML.T0018.000", "AML.T0018.001"),
        ),
        AtlasMitigation("AML.M0009", "Use Multi-Modal Sensors", ("AML.T0015", "AML.T0041")),
        AtlasMitigation(
            "AML.M0010", "Input Restoration", ("AML.T0015", "AML.T0031", "AML.T0043.001")
        ),
        AtlasMitigation("AML.M0011", "Restrict Library Loading", ("AML.T0011.000",)),
        AtlasMitigation(
            "AML.M0012",
            "Encrypt Sensitive Information",
            ("AML.T0007", "AML.T0035", "AML.T0048.004"),
        ),
        AtlasMitigation(
            "AML.M0013", "Code Signing", ("AML.T0010.001", "AML.T0010.003", "AML.T0011.000")
        ),
        AtlasMitigation(
            "AML.M0014",
            "Verify ML Artifacts",
            ("AML.T0010", "AML.T0011.000", "AML.T0019"),
            aka=("Verify AI Artifacts",),
        ),
        AtlasMitigation(
            "AML.M0015",
            "Adversarial Input Detection",
            ("AML.T0015", "AML.T0029", "AML.T0031", "AML.T0043.001"),
        ),
        AtlasMitigation("AML.M0016", "Vulnerability Scanning", ("AML.T0011.000", "AML.T0018")),
        AtlasMitigation(
            "AML.M0017",
            "Model Distribution Methods",
            ("AML.T0010.003", "AML.T0043.000", "AML.T0044"),
        ),
        AtlasMitigation("AML.M0018", "User Training", ("AML.T0011", "AML.T0011.000")),
        AtlasMitigation(
            "AML.M0019",
            "Control Access to ML Models and Data in Production",
            ("AML.T0024", "AML.T0040"),
        ),
        AtlasMitigation("AML.M0020", "Generative AI Guardrails"),
        AtlasMitigation("AML.M0021", "Generative AI Guidelines"),
        AtlasMitigation("AML.M0022", "Generative AI Model Alignment"),
        AtlasMitigation("AML.M0023", "AI Bill of Materials"),
        AtlasMitigation(
            "AML.M0024",
            "AI Telemetry Logging",
            (*_T24, "AML.T0005.001", "AML.T0040", "AML.T0047", "AML.T0051", "AML.T0051.000",
             "AML.T0051.001"),
        ),
        AtlasMitigation("AML.M0025", "Maintain AI Dataset Provenance"),
    )
}

# --------------------------------------------------------------------------------------------
# OWASP ML Top 10 (2023)
# --------------------------------------------------------------------------------------------


def _items(*rows: tuple[str, str, str]) -> dict[str, CatalogueItem]:
    return {id_: CatalogueItem(id_, name, description) for id_, name, description in rows}


OWASP_ML_TOP10: dict[str, CatalogueItem] = _items(
    ("ML01", "Input Manipulation Attack",
     "Inputs altered on purpose (adversarial examples) so that the model errs."),
    ("ML02", "Data Poisoning Attack",
     "Training data manipulated so that the model learns undesired behaviour."),
    ("ML03", "Model Inversion Attack",
     "Model outputs reverse-engineered to reconstruct private training data."),
    ("ML04", "Membership Inference Attack",
     "Queries reveal whether a given record was in the training set."),
    ("ML05", "Model Theft",
     "The model's parameters or a working copy of it are stolen or extracted."),
    ("ML06", "AI Supply Chain Attacks",
     "Libraries, pre-trained models or data the system depends on are compromised."),
    ("ML07", "Transfer Learning Attack",
     "A pre-trained model carries planted behaviour into the fine-tuned victim model."),
    ("ML08", "Model Skewing",
     "Feedback or training data shifted so that the model's decisions drift as intended."),
    ("ML09", "Output Integrity Attack",
     "Model outputs modified or forged between the model and their consumer."),
    ("ML10", "Model Poisoning",
     "Model parameters tampered with directly to change the model's behaviour."),
)

# --------------------------------------------------------------------------------------------
# NIST CSF 2.0
# --------------------------------------------------------------------------------------------

NIST_CSF_FUNCTIONS: dict[str, CatalogueItem] = _items(
    ("GV", "Govern", "The organization's cybersecurity risk management strategy, "
     "expectations, and policy are established, communicated, and monitored."),
    ("ID", "Identify", "The organization's current cybersecurity risks are understood."),
    ("PR", "Protect", "Safeguards to manage the organization's cybersecurity risks are used."),
    ("DE", "Detect", "Possible cybersecurity attacks and compromises are found and analyzed."),
    ("RS", "Respond", "Actions regarding a detected cybersecurity incident are taken."),
    ("RC", "Recover", "Assets and operations affected by a cybersecurity incident are restored."),
)

NIST_CSF_CATEGORIES: dict[str, CatalogueItem] = {
    id_: CatalogueItem(id_, name, f"Category of {NIST_CSF_FUNCTIONS[id_[:2]].name}.")
    for id_, name in (
        ("GV.OC", "Organizational Context"),
        ("GV.RM", "Risk Management Strategy"),
        ("GV.RR", "Roles, Responsibilities, and Authorities"),
        ("GV.PO", "Policy"),
        ("GV.OV", "Oversight"),
        ("GV.SC", "Cybersecurity Supply Chain Risk Management"),
        ("ID.AM", "Asset Management"),
        ("ID.RA", "Risk Assessment"),
        ("ID.IM", "Improvement"),
        ("PR.AA", "Identity Management, Authentication, and Access Control"),
        ("PR.AT", "Awareness and Training"),
        ("PR.DS", "Data Security"),
        ("PR.PS", "Platform Security"),
        ("PR.IR", "Technology Infrastructure Resilience"),
        ("DE.CM", "Continuous Monitoring"),
        ("DE.AE", "Adverse Event Analysis"),
        ("RS.MA", "Incident Management"),
        ("RS.AN", "Incident Analysis"),
        ("RS.CO", "Incident Response Reporting and Communication"),
        ("RS.MI", "Incident Mitigation"),
        ("RC.RP", "Incident Recovery Plan Execution"),
        ("RC.CO", "Incident Recovery Communication"),
    )
}

# --------------------------------------------------------------------------------------------
# Google SAIF (course IDs)
# --------------------------------------------------------------------------------------------

SAIF_ELEMENTS: dict[str, CatalogueItem] = _items(
    ("SAIF-1", "Expand strong security foundations to the AI ecosystem",
     "Apply secure-by-default infrastructure, access control and input/data protection to AI."),
    ("SAIF-2", "Extend detection and response to bring AI into an organization's threat universe",
     "Monitor AI inputs and outputs for anomalies and respond to AI incidents."),
    ("SAIF-3", "Automate defenses to keep pace with existing and new threats",
     "Use automation, including AI itself, to scale and speed up defences."),
    ("SAIF-4", "Harmonize platform-level controls to ensure consistent security across the "
     "organization", "Consistent controls and tooling for every AI platform and model."),
    ("SAIF-5", "Adapt controls to adjust mitigations and create faster feedback loops for AI "
     "deployment", "Continuous testing, red teaming and learning to tune mitigations."),
    ("SAIF-6", "Contextualize AI system risks in surrounding business processes",
     "End-to-end risk assessment of how the AI system is used in the business."),
)

SAIF_RISKS: dict[str, CatalogueItem] = _items(
    ("SAIF-R-DP", "Data Poisoning",
     "Training or tuning data altered to degrade, skew or backdoor the model."),
    ("SAIF-R-UTD", "Unauthorized Training Data",
     "The model is trained on data it is not authorised to use."),
    ("SAIF-R-MST", "Model Source Tampering",
     "Model code, dependencies or weights tampered with during development or in the supply "
     "chain."),
    ("SAIF-R-EDH", "Excessive Data Handling",
     "User data collected, kept or processed beyond what is needed or permitted."),
    ("SAIF-R-MXF", "Model Exfiltration",
     "Model weights or artefacts stolen from storage or serving infrastructure."),
    ("SAIF-R-MDT", "Model Deployment Tampering",
     "Unauthorised changes to the components that deploy and serve the model."),
    ("SAIF-R-DMS", "Denial of ML Service",
     "Requests that exhaust the model's resources and degrade its availability."),
    ("SAIF-R-MRE", "Model Reverse Engineering",
     "A model cloned or recreated by analysing its inputs and outputs."),
    ("SAIF-R-IIC", "Insecure Integrated Component",
     "Vulnerable software (plugins, libraries, services) that interacts with the model."),
    ("SAIF-R-PIJ", "Prompt Injection",
     "Instructions hidden in inputs make a generative model act against its instructions."),
    ("SAIF-R-MEV", "Model Evasion",
     "Inputs crafted so that the model produces wrong inferences."),
    ("SAIF-R-SDD", "Sensitive Data Disclosure",
     "The model reveals sensitive data, e.g. memorised training records."),
    ("SAIF-R-ISD", "Inferred Sensitive Data",
     "The model infers sensitive attributes about people that it was not given."),
    ("SAIF-R-IMO", "Insecure Model Output",
     "Model output passed on unvalidated causes harm downstream."),
    ("SAIF-R-RA", "Rogue Actions",
     "A model-driven agent or extension takes unintended actions."),
)

# --------------------------------------------------------------------------------------------
# IBM Framework for Securing Generative AI (course IDs)
# --------------------------------------------------------------------------------------------

IBM_PILLARS: dict[str, CatalogueItem] = _items(
    ("IBM-DATA", "Secure the data",
     "Discover, classify, encrypt and control access to the data used to train and tune."),
    ("IBM-MODEL", "Secure the model",
     "Secure model development: scan pipelines and artefacts, harden integrations."),
    ("IBM-USAGE", "Secure the usage",
     "Detect and respond to attacks on models in use: extraction, leakage, manipulation."),
    ("IBM-INFRA", "Secure the infrastructure",
     "Harden and monitor the infrastructure that trains and hosts the models."),
    ("IBM-GOV", "Establish governance",
     "AI governance: fairness, bias, drift, transparency and compliance."),
)

# --------------------------------------------------------------------------------------------
# Labs
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# ML lifecycle / MLOps stages (course's own, lab 00)
# --------------------------------------------------------------------------------------------

LIFECYCLE_STAGES: dict[str, LifecycleStage] = {
    s.id: s
    for s in (
        LifecycleStage(
            "data_collection", "data collection",
            "Poisoned or unrepresentative data, third-party datasets, data contributed by "
            "federated clients.",
            (3, 7, 9, 11),
        ),
        LifecycleStage(
            "labelling", "labelling",
            "Flipped or biased labels from annotators or labelling services.",
            (3, 7),
        ),
        LifecycleStage(
            "training", "training",
            "Backdoors and shortcuts learnt; memorisation that later leaks membership or "
            "attributes; poisoned federated updates.",
            (3, 5, 6, 8, 9),
        ),
        LifecycleStage(
            "model_artefact", "model artefact",
            "Model files stolen at rest, tampered with, or loaded through unsafe formats and "
            "compromised dependencies.",
            (10, 11),
        ),
        LifecycleStage(
            "serving", "deployment/serving",
            "Queries that extract, invert or probe the model; weak authentication; denial of "
            "service.",
            (2, 4, 5, 6, 12),
        ),
        LifecycleStage(
            "monitoring", "use/monitoring",
            "Adversarial inputs in production, drift and feedback loops that skew decisions.",
            (2, 7, 13),
        ),
    )
}

# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------

_ATLAS_TECHNIQUE_RE = re.compile(r"AML\.T\d{4}(\.\d{3})?")
_ATLAS_TACTIC_RE = re.compile(r"AML\.TA\d{4}")
_ATLAS_MITIGATION_RE = re.compile(r"AML\.M\d{4}")
_OWASP_RE = re.compile(r"(ML\d{2})(?::(\d{4}))?")
_NIST_CATEGORY_RE = re.compile(r"[A-Z]{2}\.[A-Z]{2}")


def _require_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    return value.strip()


def _known(ids: Iterable[str], limit: int = 8) -> str:
    ids = list(ids)
    if len(ids) <= limit:
        return ", ".join(ids)
    return f"{', '.join(ids[:limit])}, ... ({len(ids)} in all)"


def _atlas_kind_hint(canon: str) -> str:
    if canon in ATLAS_TACTICS:
        return f"; {canon} is a tactic ({ATLAS_TACTICS[canon].name})"
    if canon in ATLAS_MITIGATIONS:
        return f"; {canon} is a mitigation ({ATLAS_MITIGATIONS[canon].name})"
    if canon in ATLAS_TECHNIQUES:
        return f"; {canon} is a technique ({ATLAS_TECHNIQUES[canon].name})"
    return ""


def validate_atlas_id(id_: str) -> str:
    """Return the canonical ID of a catalogued MITRE ATLAS technique or sub-technique.

    Accepts any case and surrounding spaces (``" aml.t0043.000"`` -> ``"AML.T0043.000"``).
    Tactic and mitigation IDs are rejected (see :func:`validate_atlas_tactic_id` and
    :func:`validate_atlas_mitigation_id`). Raises ``TypeError`` for a non-string and
    ``ValueError`` for an ID that is malformed or not in :data:`ATLAS_TECHNIQUES`.

    Introduced in lab 00 (Meet the five systems).
    """
    canon = _require_str(id_, "MITRE ATLAS technique ID").upper()
    if not _ATLAS_TECHNIQUE_RE.fullmatch(canon):
        raise ValueError(
            f"not a MITRE ATLAS technique ID: {id_!r}{_atlas_kind_hint(canon)}; "
            "technique IDs look like 'AML.T0043' or 'AML.T0043.000'"
        )
    if canon not in ATLAS_TECHNIQUES:
        raise unknown_name(canon, ATLAS_TECHNIQUES, "MITRE ATLAS technique")
    return canon


def validate_atlas_tactic_id(id_: str) -> str:
    """Return the canonical ID of a MITRE ATLAS tactic (``"aml.ta0002"`` -> ``"AML.TA0002"``).

    Raises ``TypeError`` for a non-string and ``ValueError`` for anything else.

    Introduced in lab 00 (Meet the five systems).
    """
    canon = _require_str(id_, "MITRE ATLAS tactic ID").upper()
    if not _ATLAS_TACTIC_RE.fullmatch(canon):
        raise ValueError(
            f"not a MITRE ATLAS tactic ID: {id_!r}{_atlas_kind_hint(canon)}; "
            "tactic IDs look like 'AML.TA0002'"
        )
    if canon not in ATLAS_TACTICS:
        raise unknown_name(canon, ATLAS_TACTICS, "MITRE ATLAS tactic")
    return canon


def validate_atlas_mitigation_id(id_: str) -> str:
    """Return the canonical ID of a catalogued MITRE ATLAS mitigation (e.g. ``"AML.M0015"``).

    Raises ``TypeError`` for a non-string and ``ValueError`` for anything else.

    Introduced in lab 00 (Meet the five systems).
    """
    canon = _require_str(id_, "MITRE ATLAS mitigation ID").upper()
    if not _ATLAS_MITIGATION_RE.fullmatch(canon):
        raise ValueError(
            f"not a MITRE ATLAS mitigation ID: {id_!r}{_atlas_kind_hint(canon)}; "
            "mitigation IDs look like 'AML.M0015'"
        )
    if canon not in ATLAS_MITIGATIONS:
        raise unknown_name(canon, ATLAS_MITIGATIONS, "MITRE ATLAS mitigation")
    return canon


def validate_owasp_id(id_: str) -> str:
    """Return the canonical OWASP ML Top 10 (2023) ID: ``"ML01"`` and ``"ml01:2023"`` -> ``"ML01"``.

    Raises ``TypeError`` for a non-string and ``ValueError`` for anything else, including
    another edition's year and IDs of other OWASP lists (e.g. the LLM Top 10's ``LLM01``).

    Introduced in lab 00 (Meet the five systems).
    """
    canon = _require_str(id_, "OWASP ML Top 10 ID").upper()
    match = _OWASP_RE.fullmatch(canon)
    if match is None:
        hint = "; LLMxx IDs belong to the OWASP Top 10 for LLM Applications" if (
            canon.startswith("LLM")
        ) else ""
        raise ValueError(
            f"not an OWASP ML Top 10 ID: {id_!r}{hint}; IDs look like 'ML01' or 'ML01:2023'; "
            f"known: {_known(OWASP_ML_TOP10, 10)}"
        )
    code, year = match.groups()
    if year is not None and year != "2023":
        raise ValueError(
            f"OWASP ML Top 10 edition {year} in {id_!r} is not catalogued; the course uses 2023"
        )
    if code not in OWASP_ML_TOP10:
        raise unknown_name(code, OWASP_ML_TOP10, "OWASP ML Top 10 item")
    return code


def validate_nist_function(id_: str) -> str:
    """Return the NIST CSF 2.0 function code for a code or name in any case.

    ``"PR"``, ``"pr"``, ``"Protect"`` and ``"PROTECT"`` all give ``"PR"``. Raises ``TypeError``
    for a non-string and ``ValueError`` for anything else.

    Introduced in lab 00 (Meet the five systems).
    """
    text = _require_str(id_, "NIST CSF function")
    if text.upper() in NIST_CSF_FUNCTIONS:
        return text.upper()
    for code, item in NIST_CSF_FUNCTIONS.items():
        if text.casefold() == item.name.casefold():
            return code
    known = ", ".join(f"{code} ({item.name})" for code, item in NIST_CSF_FUNCTIONS.items())
    raise ValueError(f"unknown NIST CSF 2.0 function {id_!r}; known: {known}")


def validate_nist_category(id_: str) -> str:
    """Return the canonical NIST CSF 2.0 category ID (``"pr.ds"`` -> ``"PR.DS"``).

    Raises ``TypeError`` for a non-string and ``ValueError`` for anything else.

    Introduced in lab 00 (Meet the five systems).
    """
    canon = _require_str(id_, "NIST CSF category").upper()
    if not _NIST_CATEGORY_RE.fullmatch(canon):
        raise ValueError(f"not a NIST CSF 2.0 category ID: {id_!r}; they look like 'PR.DS'")
    if canon not in NIST_CSF_CATEGORIES:
        raise unknown_name(canon, NIST_CSF_CATEGORIES, "NIST CSF 2.0 category")
    return canon


def validate_saif_id(id_: str) -> str:
    """Return the canonical course ID of a SAIF core element or SAIF risk, in any case.

    Elements are ``"SAIF-1"`` .. ``"SAIF-6"``; risks are ``"SAIF-R-DP"``, ``"SAIF-R-MEV"``, ...
    (see :data:`SAIF_RISKS`). Raises ``TypeError`` for a non-string and ``ValueError`` for
    anything else.

    Introduced in lab 00 (Meet the five systems).
    """
    canon = _require_str(id_, "SAIF ID").upper()
    if canon in SAIF_ELEMENTS or canon in SAIF_RISKS:
        return canon
    both = {**SAIF_ELEMENTS, **SAIF_RISKS}
    raise unknown_name(canon, both, "SAIF element or risk")


def validate_ibm_id(id_: str) -> str:
    """Return the canonical course ID of an IBM framework pillar (``"ibm-data"`` -> ``"IBM-DATA"``).

    Raises ``TypeError`` for a non-string and ``ValueError`` for anything else.

    Introduced in lab 00 (Meet the five systems).
    """
    canon = _require_str(id_, "IBM pillar ID").upper()
    if canon not in IBM_PILLARS:
        raise unknown_name(canon, IBM_PILLARS, "IBM framework pillar")
    return canon


# --------------------------------------------------------------------------------------------
# Look-ups
# --------------------------------------------------------------------------------------------


def describe(id_: str) -> str:
    """Return an ID followed by its name, e.g. ``"AML.T0043 Craft Adversarial Data"``.

    Works for ATLAS tactics, techniques and mitigations, OWASP ML Top 10 items (``"ML01"``,
    ``"ML01:2023"``), NIST CSF 2.0 functions (code or name) and categories, SAIF elements and
    risks, and IBM pillars. The ID is canonicalised first. Raises ``TypeError`` for a non-string
    and ``ValueError`` for an unknown ID.

    Introduced in lab 00 (Meet the five systems).
    """
    text = _require_str(id_, "framework ID")
    canon = text.upper()
    if canon.startswith("AML.TA"):
        code = validate_atlas_tactic_id(canon)
        return f"{code} {ATLAS_TACTICS[code].name}"
    if canon.startswith("AML.M"):
        code = validate_atlas_mitigation_id(canon)
        return f"{code} {ATLAS_MITIGATIONS[code].name}"
    if canon.startswith("AML."):
        code = validate_atlas_id(canon)
        return f"{code} {ATLAS_TECHNIQUES[code].name}"
    if _OWASP_RE.fullmatch(canon) or canon.startswith("LLM"):
        code = validate_owasp_id(canon)
        return f"{code} {OWASP_ML_TOP10[code].name}"
    if canon.startswith("SAIF"):
        code = validate_saif_id(canon)
        return f"{code} {({**SAIF_ELEMENTS, **SAIF_RISKS})[code].name}"
    if canon.startswith("IBM"):
        code = validate_ibm_id(canon)
        return f"{code} {IBM_PILLARS[code].name}"
    if "." in canon:
        code = validate_nist_category(canon)
        return f"{code} {NIST_CSF_CATEGORIES[code].name}"
    try:
        code = validate_nist_function(text)
    except ValueError:
        raise ValueError(
            f"unknown framework ID {id_!r}; expected a MITRE ATLAS ID ('AML.T0043', "
            "'AML.TA0002', 'AML.M0015'), an OWASP ML Top 10 ID ('ML01'), a NIST CSF 2.0 "
            "function or category ('PR', 'PR.DS'), a SAIF ID ('SAIF-1', 'SAIF-R-DP') or an "
            "IBM pillar ID ('IBM-DATA')"
        ) from None
    return f"{code} {NIST_CSF_FUNCTIONS[code].name}"


def _lab_ids(lab: Lab, framework: str) -> tuple[str, ...]:
    if framework == "atlas_tactics":
        seen: dict[str, None] = {}
        for tid in lab.atlas:
            for tactic in ATLAS_TECHNIQUES[tid].tactics:
                seen[tactic] = None
        return tuple(seen)
    return getattr(lab, _FIELD[framework])


_FIELD = {
    "atlas": "atlas",
    "atlas_mitigations": "atlas_mitigations",
    "owasp": "owasp",
    "nist": "nist_csf",
    "nist_categories": "nist_categories",
    "saif": "saif",
    "saif_risks": "saif_risks",
    "ibm": "ibm",
}

_CATALOGUES: dict[str, Mapping[str, object]] = {
    "atlas": ATLAS_TECHNIQUES,
    "atlas_tactics": ATLAS_TACTICS,
    "atlas_mitigations": ATLAS_MITIGATIONS,
    "owasp": OWASP_ML_TOP10,
    "nist": NIST_CSF_FUNCTIONS,
    "nist_categories": NIST_CSF_CATEGORIES,
    "saif": SAIF_ELEMENTS,
    "saif_risks": SAIF_RISKS,
    "ibm": IBM_PILLARS,
}

_VALIDATORS = {
    "atlas": validate_atlas_id,
    "atlas_tactics": validate_atlas_tactic_id,
    "atlas_mitigations": validate_atlas_mitigation_id,
    "owasp": validate_owasp_id,
    "nist": validate_nist_function,
    "nist_categories": validate_nist_category,
    "saif": validate_saif_id,
    "saif_risks": validate_saif_id,
    "ibm": validate_ibm_id,
}


def _check_framework(framework: object) -> str:
    key = _require_str(framework, "framework").lower()
    if key not in _CATALOGUES:
        raise ValueError(f"unknown framework {framework!r}; known: {', '.join(_CATALOGUES)}")
    return key


def _framework_of(canon: str) -> str:
    if canon.startswith("AML.TA"):
        return "atlas_tactics"
    if canon.startswith("AML.M"):
        return "atlas_mitigations"
    if canon.startswith("AML."):
        return "atlas"
    if canon.startswith("SAIF-R-"):
        return "saif_risks"
    if canon.startswith("SAIF"):
        return "saif"
    if canon.startswith("IBM"):
        return "ibm"
    if _OWASP_RE.fullmatch(canon):
        return "owasp"
    return "nist_categories" if "." in canon else "nist"


def labs_covering(id_: str) -> tuple[int, ...]:
    """Return the numbers of the labs that cover a framework item, in lab order.

    Any ID that :func:`describe` accepts works; an ATLAS tactic is covered by a lab that covers
    one of its techniques. Raises like :func:`describe` for a bad ID.

    Introduced in lab 00 (Meet the five systems).
    """
    describe(id_)  # type and existence checks, with the usual messages
    text = id_.strip()
    framework = _framework_of(text.upper())
    canon = _VALIDATORS[framework](text)
    return tuple(lab.number for lab in LABS if canon in _lab_ids(lab, framework))


def mitigations_for(technique_id: str) -> tuple[str, ...]:
    """Return the IDs of the catalogued ATLAS mitigations that ATLAS lists for a technique.

    For a sub-technique, mitigations listed for its parent are included too. The lists come
    from the ATLAS data (see :data:`ATLAS_MITIGATIONS`); an empty tuple means none is
    catalogued, not that none exists.

    Introduced in lab 01 (Threat modelling).
    """
    canon = validate_atlas_id(technique_id)
    parent = ATLAS_TECHNIQUES[canon].parent
    wanted = {canon} if parent is None else {canon, parent}
    return tuple(m.id for m in ATLAS_MITIGATIONS.values() if wanted & set(m.techniques))


# --------------------------------------------------------------------------------------------
# Consistency
# --------------------------------------------------------------------------------------------


def check_catalogue(labs: Sequence[Lab] | None = None) -> None:
    """Check the catalogue and raise ``ValueError`` listing every problem found.

    Checks: labs numbered 0, 1, 2, ... with unique slugs that start with the two-digit number;
    every ID used by a lab, a mitigation or a lifecycle stage exists and is canonical; every
    NIST category of a lab belongs to one of its functions; no duplicate IDs within a lab;
    every OWASP ML Top 10 item and every NIST CSF function is covered by at least one lab.
    Runs at import on :data:`LABS`; pass ``labs`` to check another list.

    Introduced in lab 00 (Meet the five systems).
    """
    labs = LABS if labs is None else tuple(labs)
    problems: list[str] = []
    numbers = [lab.number for lab in labs]
    if numbers != list(range(len(labs))):
        problems.append(f"labs must be numbered 0..{len(labs) - 1} in order, got {numbers}")
    slugs = [lab.slug for lab in labs]
    if len(set(slugs)) != len(slugs):
        problems.append(f"duplicate lab slugs in {slugs}")
    for lab in labs:
        where = f"lab {lab.label}"
        if not lab.slug.startswith(f"{lab.label}_"):
            problems.append(f"{where}: slug {lab.slug!r} does not start with '{lab.label}_'")
        for domain in lab.domains:
            if domain not in DOMAINS:
                problems.append(f"{where}: unknown domain {domain!r}")
        for framework, field in _FIELD.items():
            ids = getattr(lab, field)
            if len(set(ids)) != len(ids):
                problems.append(f"{where}: duplicate IDs in {field}")
            for id_ in ids:
                try:
                    canon = _VALIDATORS[framework](id_)
                except (TypeError, ValueError) as exc:
                    problems.append(f"{where}: {exc}")
                    continue
                if canon != id_:
                    problems.append(f"{where}: {id_!r} should be written {canon!r}")
                if framework == "saif" and canon not in SAIF_ELEMENTS:
                    problems.append(f"{where}: {canon} is a SAIF risk, not an element")
                if framework == "saif_risks" and canon not in SAIF_RISKS:
                    problems.append(f"{where}: {canon} is a SAIF element, not a risk")
        for category in lab.nist_categories:
            if category[:2] not in lab.nist_csf:
                problems.append(
                    f"{where}: NIST category {category} outside its functions {lab.nist_csf}"
                )
    for technique in ATLAS_TECHNIQUES.values():
        for tactic in technique.tactics:
            if tactic not in ATLAS_TACTICS:
                problems.append(f"{technique.id}: unknown tactic {tactic}")
        if not technique.tactics:
            problems.append(f"{technique.id}: no tactic")
    for mitigation in ATLAS_MITIGATIONS.values():
        for tid in mitigation.techniques:
            if tid not in ATLAS_TECHNIQUES:
                problems.append(f"{mitigation.id}: unknown technique {tid}")
    lab_numbers = set(numbers)
    for stage in LIFECYCLE_STAGES.values():
        for number in stage.labs:
            if number not in lab_numbers:
                problems.append(f"lifecycle stage {stage.id!r}: unknown lab {number}")
    for framework, catalogue in (("owasp", OWASP_ML_TOP10), ("nist", NIST_CSF_FUNCTIONS)):
        covered = {id_ for lab in labs for id_ in getattr(lab, _FIELD[framework])}
        missing = [id_ for id_ in catalogue if id_ not in covered]
        if missing:
            problems.append(f"{framework}: not covered by any lab: {', '.join(missing)}")
    if problems:
        raise ValueError("framework catalogue is inconsistent:\n- " + "\n- ".join(problems))


check_catalogue()

# --------------------------------------------------------------------------------------------
# Tables and Markdown
# --------------------------------------------------------------------------------------------


def _join(ids: Iterable[str]) -> str:
    return ", ".join(ids)


def labs_table() -> pd.DataFrame:
    """Return one row per lab: lab, title, threat, defence, domains, ATLAS, OWASP, NIST CSF, SAIF.

    ``lab`` is the two-digit number (``"02"``); list columns hold IDs joined by ``", "``.

    Introduced in lab 00 (Meet the five systems).
    """
    rows = [
        {
            "lab": lab.label,
            "title": lab.title,
            "threat": lab.threat,
            "defence": lab.defence,
            "domains": _join(lab.domains),
            "ATLAS": _join(lab.atlas),
            "OWASP": _join(lab.owasp),
            "NIST CSF": _join(lab.nist_csf),
            "SAIF": _join(lab.saif),
        }
        for lab in LABS
    ]
    return pd.DataFrame(rows, columns=list(rows[0]))


def coverage_table(framework: str) -> pd.DataFrame:
    """Return one row per item of a framework: id, name, labs (e.g. ``"02, 03"``; ``""`` if none).

    ``framework`` is one of ``"atlas"`` (techniques), ``"atlas_tactics"``,
    ``"atlas_mitigations"``, ``"owasp"``, ``"nist"`` (functions), ``"nist_categories"``,
    ``"saif"`` (elements), ``"saif_risks"`` or ``"ibm"``, in any case. Items come in catalogue
    order; items no lab covers are kept, so the table also shows what the course leaves out.

    Introduced in lab 00 (Meet the five systems).
    """
    key = _check_framework(framework)
    catalogue = _CATALOGUES[key]
    covering: dict[str, list[str]] = {id_: [] for id_ in catalogue}
    for lab in LABS:
        for id_ in _lab_ids(lab, key):
            covering[id_].append(lab.label)
    rows = [
        {"id": id_, "name": item.name, "labs": _join(covering[id_])}
        for id_, item in catalogue.items()
    ]
    return pd.DataFrame(rows, columns=["id", "name", "labs"])


def lifecycle_table() -> pd.DataFrame:
    """Return one row per ML lifecycle stage: stage, description, labs, threats.

    ``labs`` lists the labs whose threats enter at that stage (``"03, 07"``) and ``threats``
    their threats, joined by ``"; "``.

    Introduced in lab 00 (Meet the five systems).
    """
    rows = [
        {
            "stage": stage.name,
            "description": stage.description,
            "labs": _join(f"{n:02d}" for n in stage.labs),
            "threats": "; ".join(get_lab(n).threat for n in stage.labs),
        }
        for stage in LIFECYCLE_STAGES.values()
    ]
    return pd.DataFrame(rows, columns=["stage", "description", "labs", "threats"])


def _named(ids: Iterable[str]) -> str:
    return "; ".join(f"`{d.split(' ', 1)[0]}` {d.split(' ', 1)[1]}" for d in map(describe, ids))


def lab_header_markdown(number: int) -> str:
    """Return a Markdown block for the top of a lab: its threat, defence and systems, then the
    framework items it covers, each ID with its name.

    Introduced in lab 00 (Meet the five systems).
    """
    lab = get_lab(number)
    lines = [
        f"### Lab {lab.label} · {lab.title}",
        "",
        f"**Threat:** {lab.threat}  ",
        f"**Defence:** {lab.defence}  ",
        f"**Systems:** {_join(lab.domains)}",
        "",
        "**Frameworks covered**",
        "",
    ]
    sections = (
        ("MITRE ATLAS techniques", lab.atlas),
        ("MITRE ATLAS mitigations", lab.atlas_mitigations),
        ("OWASP ML Top 10 (2023)", lab.owasp),
        ("NIST CSF 2.0 functions", lab.nist_csf),
        ("NIST CSF 2.0 categories", lab.nist_categories),
        ("Google SAIF elements", lab.saif),
        ("Google SAIF risks", lab.saif_risks),
        ("IBM Framework for Securing Generative AI", lab.ibm),
    )
    lines += [f"- **{title}:** {_named(ids)}" for title, ids in sections if ids]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or "-"


def _check_bench(bench: Mapping[int, tuple[float, float]] | None) -> dict[int, tuple[float, ...]]:
    if bench is None:
        return {}
    if not isinstance(bench, Mapping):
        raise TypeError(f"bench must be a dict, got {type(bench).__name__}")
    out: dict[int, tuple[float, ...]] = {}
    for number, value in bench.items():
        lab = get_lab(number)
        if not isinstance(value, tuple | list) or len(value) != 2:
            raise ValueError(
                f"bench[{number}] must be (runtime_s, peak_memory_mb), got {value!r}"
            )
        for x in value:
            if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
                raise ValueError(f"bench[{number}] must hold finite numbers, got {value!r}")
            if x < 0:
                raise ValueError(f"bench[{number}] must not be negative, got {value!r}")
        out[lab.number] = (float(value[0]), float(value[1]))
    return out


def lab_table_markdown(
    bench: dict[int, tuple[float, float]] | None = None, links: dict[int, str] | None = None
) -> str:
    """Return the README's lab table in Markdown, one row per lab.

    ``links`` maps a lab number to the path of its notebook; labs without one are marked
    "(planned)".

    Columns: lab, threat, defence, domains, the ATLAS, OWASP, NIST CSF and SAIF IDs, then
    runtime (s) and peak memory (MB) taken from ``bench`` (``{lab_number: (runtime_s,
    peak_memory_mb)}``) where given and ``-`` otherwise.

    Introduced in lab 00 (Meet the five systems).
    """
    measured = _check_bench(bench)
    header = (
        "Lab", "Threat", "Defence", "Domains", "ATLAS", "OWASP", "NIST CSF", "SAIF",
        "Runtime (s)", "Peak memory (MB)",
    )
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for lab in LABS:
        runtime, memory = (
            (f"{measured[lab.number][0]:.1f}", f"{measured[lab.number][1]:.0f}")
            if lab.number in measured
            else ("-", "-")
        )
        name = f"{lab.label} {lab.title}"
        if links is not None:
            name = f"[{name}]({links[lab.number]})" if lab.number in links else (
                f"{name} (planned)")
        cells = (
            name, lab.threat, lab.defence, _join(lab.domains),
            _join(lab.atlas), _join(lab.owasp), _join(lab.nist_csf), _join(lab.saif),
            runtime, memory,
        )
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"
