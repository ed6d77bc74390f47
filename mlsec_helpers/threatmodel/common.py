"""What the five reference threat models share: one diagram layout, the six entry points, the
asset list, the actors of each system, and the dispatch to each domain's model.

One layout for every system, so students compare like with like::

    [data source] -> [labelling] -> [training] -> [model artefact]     ([libraries] above)
    [users]  <------------------->  [serving API] -> [downstream]

Introduced in lab 01 (Threat modelling).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping, Sequence

from ..catalogue import DOMAINS
from .model import (
    Actor,
    Asset,
    DataFlow,
    EntryPoint,
    Flow,
    Node,
    ThreatModel,
    TrustBoundary,
    canonical_name,
)

__all__ = [
    "ACTORS",
    "FEEDBACK_VIA",
    "LAYOUT",
    "entry_points",
    "flow_diagram",
    "prefix_ids",
    "reference_assets",
    "reference_model",
    "reference_models",
]

LAYOUT: dict[str, tuple[float, float]] = {
    "source": (0.0, 2.4), "labelling": (3.0, 2.4), "training": (6.0, 2.4),
    "artefact": (9.0, 2.4), "libs": (6.0, 4.6), "users": (0.0, 0.0), "api": (6.0, 0.0),
    "downstream": (9.0, 0.0),
}
"""Where each box of the course's data-flow diagram sits (x, y). Introduced in lab 01."""
#: A route for a feedback flow from the downstream box back to labelling, above the platform.
FEEDBACK_VIA = ((10.45, 0.0), (10.45, 3.55), (3.0, 3.55))


def flow_diagram(labels: Mapping[str, tuple[str, str]], extra_flows: Sequence[Flow] = (),
                 source_boundary: str = "third-party data") -> DataFlow:
    """The course's data-flow diagram of an ML system, with this system's box ``labels``
    (``{box: (label, detail)}`` for the eight boxes of :data:`LAYOUT`), its ``extra_flows``
    and the name of the trust boundary around its data source.

    Introduced in lab 01 (Threat modelling).
    """
    kinds = {"source": "external", "labelling": "process", "training": "process",
             "artefact": "store", "libs": "external", "users": "user", "api": "process",
             "downstream": "process"}
    nodes = tuple(Node(k, labels[k][0], kinds[k], *LAYOUT[k], detail=labels[k][1]) for k in LAYOUT)
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


def entry_points(access_api: str, access_source: str, names: Mapping[str, str]
                 ) -> tuple[EntryPoint, ...]:
    """The six entry points E1-E6 every ML system has, on the boxes of :func:`flow_diagram`:
    the access its serving API and its data source take, and the names of E1, E2 and E5.

    Introduced in lab 01 (Threat modelling).
    """
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


def prefix_ids(prefix: str, model: ThreatModel) -> ThreatModel:
    """A copy of ``model`` with its threat and control IDs prefixed by the system's tag
    (``IMG-T1``, ``IMG-C1``, ...).

    Introduced in lab 01 (Threat modelling).
    """
    def p(i):
        return f"{prefix}-{i}"

    controls = tuple(dataclasses.replace(c, id=p(c.id)) for c in model.controls)
    threats = tuple(dataclasses.replace(t, id=p(t.id), controls=tuple(p(c) for c in t.controls))
                    for t in model.threats)
    return dataclasses.replace(model, controls=controls, threats=threats,
                               applied=tuple(p(c) for c in model.applied))


ACTORS: dict[str, tuple[Actor, ...]] = {
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
"""The four actors X1-X4 (one of each actor kind) of each reference system, by domain.

Introduced in lab 01 (Threat modelling)."""


def reference_assets(personal: str, data: str, labels: str, preds: str,
                     availability: bool = True) -> tuple[Asset, ...]:
    """The assets A1-A7 of a reference system: its training data, labels, weights,
    predictions, personal data, code and (unless ``availability=False``) its availability.

    Introduced in lab 01 (Threat modelling).
    """
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


def reference_model(domain: str) -> ThreatModel:
    """The course's threat model of one reference system (a fresh, validated object).

    Each covers the eight threat categories of the course, the five required asset kinds and
    the four actor kinds; IDs are prefixed by the system (``IMG``, ``NLP``, ``REC``, ``FRD``,
    ``MED``). Scores are the rubric's prior judgement; lab 01 replaces the likelihood of the
    probed threat by one argued from a measurement. Each domain's model is built in that
    domain's file (``image.image_threat_model``, ...).

    Introduced in lab 01 (Threat modelling).
    """
    domain = canonical_name(domain, DOMAINS, "domain")
    # Imported here: the domain files build on this module.
    module = importlib.import_module(f".{domain}", __package__)
    return getattr(module, f"{domain}_threat_model")()


def reference_models() -> dict[str, ThreatModel]:
    """The threat models of the five systems, in course order: ``{domain: ThreatModel}``.

    Introduced in lab 01 (Threat modelling).
    """
    return {d: reference_model(d) for d in DOMAINS}
