"""Medical (the breast-cancer diagnosis aid): its reference threat model and its probe,
n_features + 1 queries of predict_proba that rebuild the diagnosis model exactly (equation
solving; theft).

Introduced in lab 01 (Threat modelling).
"""

from __future__ import annotations

import time

import numpy as np

from ..repro import rng
from ..validate import check_array, check_choice, check_fitted, check_int
from .common import ACTORS, entry_points, flow_diagram, prefix_ids, reference_assets
from .model import ACCESS_LEVELS, Control, Threat, ThreatModel
from .results import ProbeResult

__all__ = ["medical_threat_model", "probe_medical_extraction"]


def medical_threat_model() -> ThreatModel:
    """The reference threat model of the breast-cancer diagnosis aid:
    its data-flow diagram, controls and eight threats, IDs prefixed.

    Introduced in lab 01 (Threat modelling).
    """
    flow = flow_diagram({
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
               None, ("A4", "A5"), "E6", ("AML.T0048.003", "AML.T0048.002"), (), 3, 4,
               ("C6",), "WDBC comes from one hospital in Wisconsin."),
        Threat("T7", "tampered model file shipped in a software update", "supply_chain", "X3",
               ("A3", "A6"), "E3", ("AML.T0010.003", "AML.T0011.000"), ("ML06", "ML10"), 2, 5,
               ("C5",), "The clinic cannot inspect the vendor's build."),
        Threat("T8", "probability altered between the API and the patient record",
               "api_abuse", "X2", ("A4",), "E6", ("AML.T0049",), ("ML09",), 1, 5,
               ("C5", "C7"), "The integration passes plain JSON."),
    )
    return prefix_ids("MED", ThreatModel(
        "medical", "breast-cancer diagnosis aid",
        "Logistic regression on 30 biopsy measurements estimates the probability of malignancy.",
        reference_assets("patients' biopsy measurements and diagnoses", "biopsy records",
                "diagnoses", "malignancy probabilities", availability=False),
        ACTORS["medical"],
        entry_points("partner", "insider", {"E1": "hospital records", "E2": "pathologists' "
                                             "diagnoses", "E5": "diagnosis-aid API"}),
        controls, threats, flow, applied=("C7",),
    ))

def probe_medical_extraction(system, X_public, X_eval, n_queries: int | None = None, *,
                             seed: int = 0, access: str = "partner",
                             threat_id: str = "MED-T1") -> ProbeResult:
    """Query ``predict_proba`` at ``n_queries`` random points (default: number of features + 1)
    inside the range of a few public records, solve for the logistic model's weights, and
    measure how often the copy agrees with the victim on ``X_eval``.

    ``system`` is a fitted :class:`mlsec_helpers.systems.DiagnosisModel` (the victim, queried
    through its outputs only), ``X_public`` the records the attacker holds; ``seed`` draws the
    queries.

    A logistic regression's log-odds are linear in the raw features (standardisation is
    affine), so d + 1 probabilities determine its d weights and bias exactly: the
    equation-solving attack of Tramer et al. (USENIX Security 2016). Written by hand because
    ART's extraction attacks (CopycatCNN, KnockoffNets, FunctionallyEquivalentExtraction)
    train neural thieves or target ReLU networks; this one is ten lines of least squares.

    Introduced in lab 01 (Threat modelling).
    """
    check_fitted(system)
    check_choice(access, ACCESS_LEVELS, "access")
    X_public = check_array(X_public, "X_public", ndim=2, dtype=np.float64)
    X_eval = check_array(X_eval, "X_eval", ndim=2, dtype=np.float64)
    if X_public.shape[1] != X_eval.shape[1]:
        raise ValueError(f"X_public and X_eval must have the same number of features, got "
                         f"{X_public.shape[1]} and {X_eval.shape[1]}")
    d = X_public.shape[1]
    n_queries = d + 1 if n_queries is None else check_int(n_queries, "n_queries", minimum=d + 1)
    start = time.perf_counter()
    lo, hi = X_public.min(0), X_public.max(0)
    queries = lo + rng(seed).random((n_queries, d)) * (hi - lo)
    p = system.predict_proba(queries)[:, 1]
    keep = (p > 1e-12) & (p < 1 - 1e-12)  # saturated answers carry no usable log-odds
    if keep.sum() < d + 1:
        raise ValueError(f"only {keep.sum()} of {n_queries} answers are unsaturated; ask more")
    logit = np.log(p[keep] / (1 - p[keep]))
    design = np.column_stack([queries[keep], np.ones(keep.sum())])
    coef, *_ = np.linalg.lstsq(design, logit, rcond=None)
    copy_p = 1 / (1 + np.exp(-(np.column_stack([X_eval, np.ones(len(X_eval))]) @ coef)))
    victim_p = system.predict_proba(X_eval)[:, 1]
    agree = (copy_p >= 0.5) == (victim_p >= 0.5)
    seconds = time.perf_counter() - start
    return ProbeResult(
        domain="medical", threat_id=threat_id, category="theft", technique="AML.T0024.002",
        question=f"Do {n_queries} queries of predict_proba rebuild the diagnosis model?",
        metric=f"held-out patients the copy diagnoses like the victim ({n_queries} queries)",
        success_rate=float(agree.mean()), threshold=0.95, n_targets=len(X_eval),
        queries=n_queries, access=access, white_box=False, seconds=seconds,
        targets="test patients",
        details={"max probability difference": float(np.abs(copy_p - victim_p).max()),
                 "features": d, "unsaturated answers": int(keep.sum())},
    )
