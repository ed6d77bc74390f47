"""Explainability and transparency as security tools, and attacks on explanations (lab 08).

Introduced in lab 08 (Explainability). Attributions find what an attacker or a careless
pipeline put into a model (a trigger patch, a trigger phrase, a manipulated feature, a leaked
label), documentation records what was measured, and the adaptive attacker makes explanations
point elsewhere (Dombrowski et al.'s inputs, Slack et al.'s scaffolded models) or leak other
users' data.

===========================  =====================================================  =========
piece                        what it does                                           library
===========================  =====================================================  =========
saliency, IG, input x grad   attributions of the torch digit reader                 captum
linear and tree SHAP         exact attributions of linear and tree models           shap
permutation importance       the accuracy lost when a column is shuffled            sklearn
token attributions           coefficient x TF-IDF, and occlusion                    by hand
saliency attack              double backprop through a softplus copy (Dombrowski)   by hand
scaffolding                  an off-manifold detector routing to an innocuous model by hand
model cards                  Mitchell et al.'s sections, every number measured      by hand
===========================  =====================================================  =========

Neither captum nor ART attacks explanations, and no library scaffolds a model or writes a
model card from a run's measurements: those are written here, and say so where they are.

Where the code of each part of the lab lives (the lab calls ``explain.name`` for all of them):

- every part, ``common.py``: :func:`patch_mass_share`, :func:`top_k_overlap`,
  :func:`attribution_shift`; ``figures.py``: :func:`audit_diagram`.
- image, ``image.py``: :data:`DIGIT_IG_BASELINES`, :func:`detect_concentrated_digits`,
  :func:`digit_attributions`, :func:`digit_share_interval`, :func:`digit_trigger_mask`,
  :func:`digit_window_concentration`, :func:`saliency_shift_attack`.
- nlp, ``nlp.py``: :func:`corpus_token_audit`, :func:`counterfactual_added_words`,
  :func:`first_rank_of_tokens`, :func:`linear_token_attributions`,
  :func:`occlusion_token_attributions`, :func:`poison_texts_any_label`,
  :func:`token_mass_share`, :func:`token_rank_figure`.
- recommender, ``recommender.py``: :func:`rec_factor_explanations`,
  :func:`rec_histogram_fidelity`, :func:`rec_neighbour_service`, :func:`rec_removal_fidelity`,
  :func:`rec_sybil_explanation_leak`.
- fraud and medical, ``tabular.py``: :class:`ScaffoldedModel`, :func:`add_label_proxy`,
  :func:`explainer_perturbations`, :func:`feature_attribution_rank`,
  :func:`fit_off_manifold_detector`, :func:`linear_shap_attributions`,
  :func:`permutation_importance_audit`, :func:`plant_label_leak`,
  :func:`real_data_surrogate_audit`, :func:`scaffold_model`, :func:`tree_shap_attributions`.
- model cards, ``cards.py``: :func:`build_model_card`, :func:`card_security_test`,
  :func:`card_untraced_numbers`, :func:`finetune_backdoored_digits`,
  :func:`measure_card_metrics`, :func:`model_card_dict`, :func:`model_card_diff`,
  :func:`model_card_markdown`, :func:`model_cards_table`.
- ``results.py``: the result dataclasses.
"""

from __future__ import annotations

from .cards import (
    build_model_card,
    card_security_test,
    card_untraced_numbers,
    finetune_backdoored_digits,
    measure_card_metrics,
    model_card_dict,
    model_card_diff,
    model_card_markdown,
    model_cards_table,
)
from .common import (
    attribution_shift,
    patch_mass_share,
    top_k_overlap,
)
from .figures import (
    audit_diagram,
)
from .image import (
    DIGIT_IG_BASELINES,
    detect_concentrated_digits,
    digit_attributions,
    digit_share_interval,
    digit_trigger_mask,
    digit_window_concentration,
    saliency_shift_attack,
)
from .nlp import (
    corpus_token_audit,
    counterfactual_added_words,
    first_rank_of_tokens,
    linear_token_attributions,
    occlusion_token_attributions,
    poison_texts_any_label,
    token_mass_share,
    token_rank_figure,
)
from .recommender import (
    rec_factor_explanations,
    rec_histogram_fidelity,
    rec_neighbour_service,
    rec_removal_fidelity,
    rec_sybil_explanation_leak,
)
from .results import (
    CardMetric,
    CardSecurityTest,
    DigitSaliencyAttack,
    DigitTriggerDetection,
    ExplanationLeak,
    FactorExplanations,
    FeatureRank,
    HistogramFidelity,
    ModelCard,
    NeighbourService,
    PlantedFeature,
    RemovalFidelity,
    SurrogateAudit,
    TokenAttributions,
)
from .tabular import (
    ScaffoldedModel,
    add_label_proxy,
    explainer_perturbations,
    feature_attribution_rank,
    fit_off_manifold_detector,
    linear_shap_attributions,
    permutation_importance_audit,
    plant_label_leak,
    real_data_surrogate_audit,
    scaffold_model,
    tree_shap_attributions,
)

__all__ = [
    "CardMetric",
    "CardSecurityTest",
    "DIGIT_IG_BASELINES",
    "DigitSaliencyAttack",
    "DigitTriggerDetection",
    "ExplanationLeak",
    "FactorExplanations",
    "FeatureRank",
    "HistogramFidelity",
    "ModelCard",
    "NeighbourService",
    "PlantedFeature",
    "RemovalFidelity",
    "ScaffoldedModel",
    "SurrogateAudit",
    "TokenAttributions",
    "add_label_proxy",
    "attribution_shift",
    "audit_diagram",
    "build_model_card",
    "card_security_test",
    "card_untraced_numbers",
    "corpus_token_audit",
    "counterfactual_added_words",
    "detect_concentrated_digits",
    "digit_attributions",
    "digit_share_interval",
    "digit_trigger_mask",
    "digit_window_concentration",
    "explainer_perturbations",
    "feature_attribution_rank",
    "finetune_backdoored_digits",
    "first_rank_of_tokens",
    "fit_off_manifold_detector",
    "linear_shap_attributions",
    "linear_token_attributions",
    "measure_card_metrics",
    "model_card_dict",
    "model_card_diff",
    "model_card_markdown",
    "model_cards_table",
    "occlusion_token_attributions",
    "patch_mass_share",
    "permutation_importance_audit",
    "plant_label_leak",
    "poison_texts_any_label",
    "real_data_surrogate_audit",
    "rec_factor_explanations",
    "rec_histogram_fidelity",
    "rec_neighbour_service",
    "rec_removal_fidelity",
    "rec_sybil_explanation_leak",
    "saliency_shift_attack",
    "scaffold_model",
    "token_mass_share",
    "token_rank_figure",
    "top_k_overlap",
    "tree_shap_attributions",
]
