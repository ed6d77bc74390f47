"""Lab 01 (Threat modelling): threat models, risk registers and one quick probe per system.

The lab imports the topic (``from mlsec_helpers import threatmodel as tm``) and calls
``tm.name``. What it uses, and where it lives:

=============  ===================================================================================
file           what it holds
=============  ===================================================================================
model.py       the rubric (:data:`LIKELIHOOD`, :data:`IMPACT`, :data:`RISK_BANDS`,
               :data:`ACCESS_LEVELS`), the records (:class:`Asset`, :class:`Actor`,
               :class:`EntryPoint`, :class:`Control`, :class:`Threat`, :class:`Node`,
               :class:`Flow`, :class:`TrustBoundary`, :class:`DataFlow`), :class:`ThreatModel`
               and its register, risk scoring (:func:`risk_score`, :func:`residual_risk`,
               :func:`likelihood_from_evidence`), :func:`optimal_controls`, :func:`gaps`,
               tables and the Markdown/CSV export
common.py      what the five reference models share (the diagram layout, the entry points
               E1-E6, the assets, the actors) and :func:`reference_model` /
               :func:`reference_models`
image.py       the digit reader's reference model; :func:`probe_image_fgsm` (one FGSM step
               flips correctly read digits: evasion)
nlp.py         the support triage's reference model; :func:`probe_nlp_edits` (a few edits
               make a detected scam pass: evasion)
recommender.py the movie recommender's reference model; :func:`probe_recommender_shilling`
               (a handful of fake accounts lift an obscure film: poisoning)
fraud.py       the fraud scorer's reference model; :func:`probe_fraud_evasion` (waiting or
               paying less drops alerted frauds below the alert line: evasion)
medical.py     the diagnosis aid's reference model; :func:`probe_medical_extraction`
               (n_features + 1 queries rebuild the model: theft)
results.py     :class:`ProbeResult` (what a probe measured) and :func:`probes_table`
figures.py     :func:`overview_figure`, :func:`dataflow_figure`, :func:`risk_matrix_figure`,
               :func:`ranking_figure` and the :class:`RiskExplorer` widget
=============  ===================================================================================

The threat categories (:data:`THREAT_CATEGORIES`, :class:`ThreatCategory`) are the course's,
from :mod:`mlsec_helpers.catalogue`; they are re-exported here because every threat names one.
"""

from __future__ import annotations

from ..catalogue import THREAT_CATEGORIES, ThreatCategory
from .common import reference_model, reference_models
from .figures import (
    RiskExplorer,
    dataflow_figure,
    overview_figure,
    ranking_figure,
    risk_matrix_figure,
)
from .fraud import fraud_threat_model, probe_fraud_evasion
from .image import image_threat_model, probe_image_fgsm
from .medical import medical_threat_model, probe_medical_extraction
from .model import (
    ACCESS_LEVELS,
    ACTOR_KINDS,
    ASSET_KINDS,
    IMPACT,
    LIKELIHOOD,
    REQUIRED_ASSET_KINDS,
    RISK_BANDS,
    Actor,
    Asset,
    Control,
    DataFlow,
    EntryPoint,
    Flow,
    Node,
    RubricLevel,
    Threat,
    ThreatModel,
    TrustBoundary,
    controls_table,
    describe_gaps,
    gaps,
    likelihood_from_evidence,
    optimal_controls,
    register_to_csv,
    register_to_markdown,
    residual_risk,
    risk_band,
    risk_score,
    rubric_table,
    total_residual,
)
from .nlp import FILLER_WORDS, LOOKALIKES, nlp_threat_model, probe_nlp_edits
from .recommender import probe_recommender_shilling, recommender_threat_model
from .results import ProbeResult, probes_table

__all__ = [
    "ACCESS_LEVELS",
    "ACTOR_KINDS",
    "ASSET_KINDS",
    "FILLER_WORDS",
    "IMPACT",
    "LIKELIHOOD",
    "LOOKALIKES",
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
    "ProbeResult",
    "RiskExplorer",
    "RubricLevel",
    "Threat",
    "ThreatCategory",
    "ThreatModel",
    "TrustBoundary",
    "controls_table",
    "dataflow_figure",
    "describe_gaps",
    "fraud_threat_model",
    "gaps",
    "image_threat_model",
    "likelihood_from_evidence",
    "medical_threat_model",
    "nlp_threat_model",
    "optimal_controls",
    "overview_figure",
    "probe_fraud_evasion",
    "probe_image_fgsm",
    "probe_medical_extraction",
    "probe_nlp_edits",
    "probe_recommender_shilling",
    "probes_table",
    "ranking_figure",
    "recommender_threat_model",
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
