"""Image (the handwritten-digit reader of cheques): its reference threat model and its probe,
one FGSM step (ART) of size eps that flips correctly read digits (evasion).

Introduced in lab 01 (Threat modelling).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..repro import seeded
from ..validate import (
    check_choice,
    check_fitted,
    check_images,
    check_int,
    check_labels,
    check_number,
)
from .common import ACTORS, entry_points, flow_diagram, prefix_ids, reference_assets
from .model import ACCESS_LEVELS, Control, Flow, Threat, ThreatModel
from .results import ProbeResult

__all__ = ["image_threat_model", "probe_image_fgsm"]


def image_threat_model() -> ThreatModel:
    """The reference threat model of the handwritten-digit reader (cheques):
    its data-flow diagram, controls and eight threats, IDs prefixed.

    Introduced in lab 01 (Threat modelling).
    """
    flow = flow_diagram({
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
               "E6", ("AML.T0048.003",), (), 3, 3, ("C6", "C2"),
               "MNIST's writers are not the bank's customers."),
        Threat("T7", "malicious package or pre-trained checkpoint compromises training",
               "supply_chain", "X3", ("A6", "A3"), "E3", ("AML.T0010.001", "AML.T0011.000"),
               ("ML06", "ML07"), 2, 5, ("C4",),
               "Typosquatted packages are common; a pre-trained backbone can carry a backdoor."),
        Threat("T8", "amounts altered between the API and payments clearing", "api_abuse",
               "X1", ("A4",), "E6", ("AML.T0049",), ("ML09",), 2, 4, ("C4", "C7"),
               "The API's answer is not signed."),
    )
    return prefix_ids("IMG", ThreatModel(
        "image", "handwritten-digit reader (cheques)",
        "A small CNN reads the amounts on scanned cheques; the amount read is paid.",
        reference_assets("cheque images (names, account numbers, signatures)",
                "digit images", "digit labels", "amounts read and confidences",
                availability=False),
        ACTORS["image"],
        entry_points("account", "public", {"E1": "scanned cheques and public digits",
                                            "E2": "labelling contractor",
                                            "E5": "cheque-reading API"}),
        controls, threats, flow, applied=("C4", "C2"),
    ))

def probe_image_fgsm(system, X, y, eps: float = 0.1, n: int = 200, access: str = "account",
                     threat_id: str = "IMG-T1", *, seed: int = 0) -> ProbeResult:
    """One FGSM step (ART's ``FastGradientMethod``) of L-inf size ``eps`` on the first ``n``
    images: the share of correctly read digits whose reading changes.

    ``system`` is a fitted :class:`mlsec_helpers.systems.DigitsCNN`; ``X`` images in [0, 1],
    shape (m, 1, side, side); ``y`` their labels. FGSM needs the model's gradients, so the
    result counts as white-box evidence (an upper bound for an outsider). FGSM itself draws no
    random numbers; ``seed`` seeds the global generators ART's batching touches, which are put
    back afterwards.

    Introduced in lab 01 (Threat modelling).
    """
    from art.attacks.evasion import FastGradientMethod

    check_fitted(system)
    eps = check_number(eps, "eps", low=0.0, high=1.0)
    n = check_int(n, "n")
    check_choice(access, ACCESS_LEVELS, "access")
    X = check_images(X)
    y = check_labels(y, len(X))
    X, y = X[:n], y[:n]
    start = time.perf_counter()
    pred = system.predict(X)
    correct = pred == y
    if not correct.any():
        raise ValueError("the model reads none of these digits correctly; nothing to flip")
    attack = FastGradientMethod(system.art_estimator(), eps=eps, batch_size=256)
    # ART's generate iterates a torch DataLoader, which draws a seed from torch's global
    # generator (unused here: no shuffling, no workers); seeded() puts the generator back.
    with seeded(seed):
        X_adv = attack.generate(X[correct]).astype(np.float32)
    adv_pred = system.predict(X_adv)
    flipped = adv_pred != y[correct]
    seconds = time.perf_counter() - start
    k = np.flatnonzero(flipped)[:6]
    examples = pd.DataFrame({
        "index": np.flatnonzero(correct)[k], "label": y[correct][k], "read after": adv_pred[k],
    })
    return ProbeResult(
        domain="image", threat_id=threat_id, category="evasion", technique="AML.T0043.000",
        question=f"Does one FGSM step of size {eps} change the digit read?",
        metric=f"correctly read digits misread after FGSM (eps={eps})",
        success_rate=float(flipped.mean()), threshold=0.2, n_targets=int(correct.sum()),
        queries=int(correct.sum()), access=access, white_box=True, seconds=seconds,
        targets="correctly read test digits",
        details={
            "eps": eps, "clean accuracy": float(correct.mean()),
            "accuracy under attack": float((system.predict(np.concatenate(
                [X_adv, X[~correct]])) == np.concatenate([y[correct], y[~correct]])).mean()),
            "max pixel change": float(np.abs(X_adv - X[correct]).max()),
        },
        examples=examples.assign(clean=list(X[correct][k]), adversarial=list(X_adv[k])),
    )
