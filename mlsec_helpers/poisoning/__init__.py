"""Data poisoning and backdoors, and the defences that find and remove them (lab 03).

The lab imports the topic (``from mlsec_helpers import poisoning``) and calls
``poisoning.name``; every name below is re-exported here. Per domain, in the course's order:

* **image** (``image.py``): the BadNets trigger (``stamp_trigger``, ART's ``add_pattern_bd``),
  ``poison_images`` (ART's ``PoisoningAttackBackdoor``), ``attack_success_rate``,
  ``layer_activations``, ``activation_clustering`` (ART's ``ActivationDefence``), spectral
  signatures (``spectral_signature_scores``, ``spectral_signature_detect``, and ART's version
  ``art_spectral_signature``);
* **nlp** (``nlp.py``): ``add_trigger_phrase``, ``poison_texts``, ``remove_token`` and the
  leave-one-token-out ``token_removal_effect`` that finds a trigger in the training data;
* **recommender** (``recommender.py``): ``SHILLING_ATTACKS``, ``shilling_profiles`` (random,
  average, bandwagon) with ``average_attack_profile``, ``rating_statistics``,
  ``target_hit_ratio``, ``profile_features``, the fake-profile detectors ``detect_shilling``
  (trained on simulated attacks) and ``detect_anomalous_profiles`` (calibrated on known-clean
  users only), and ``mimic_profiles`` (fakes that copy real users, the adaptive attacker);
* **fraud** (``fraud.py``): ``fabricate_records``, ``replay_records`` (jittered replays
  of real rows, the attacker who knows the rules) and the schema's ``validation_report``;
* **medical** (``medical.py``): ``split_sources``, ``compromise_source``,
  ``source_agreement`` (per-source validation) and ``roni_decision`` (RONI);
* **shared** (``common.py``): ``detection_scores`` (a detector against the known poison, every
  domain), ``flip_labels``, ``sanitiser_aware_flips`` (label flipping, at random and by an
  attacker who knows the sanitiser) and ``confident_label_flags`` (label sanitisation), NLP
  and fraud;
* **provenance** (``provenance.py``, not specific to a domain; the medical section uses it):
  ``shard_sha256``, ``build_manifest`` and ``verify_manifest``;
* **results** (``results.py``): the dataclasses the attacks and defences return
  (``PoisonedData``, ``FlippedLabels``, ``LabelSanitisation``, ``ActivationClusteringResult``,
  ``SpectralSignatureResult``, ``FakeProfiles``, ``ShillingDetection``, ``SourceSplit``,
  ``CompromisedSource``, ``RoniDecision``).

Helpers that attack, defend or evaluate a reference system take the course system as
``system`` (``DigitsCNN``, ``TextTriage()``, ``MFRecommender``, ``DiagnosisModel()``). Every
helper checks its input with :mod:`mlsec_helpers.validate` and raises ``ValueError``/
``TypeError`` with what it expected; none leaves a global generator changed.

Introduced in lab 03 (Data poisoning and backdoors).
"""

from .common import (
    confident_label_flags,
    detection_scores,
    flip_labels,
    sanitiser_aware_flips,
)
from .fraud import fabricate_records, replay_records, validation_report
from .image import (
    activation_clustering,
    art_spectral_signature,
    attack_success_rate,
    layer_activations,
    poison_images,
    spectral_signature_detect,
    spectral_signature_scores,
    stamp_trigger,
)
from .medical import compromise_source, roni_decision, source_agreement, split_sources
from .nlp import add_trigger_phrase, poison_texts, remove_token, token_removal_effect
from .provenance import build_manifest, shard_sha256, verify_manifest
from .recommender import (
    SHILLING_ATTACKS,
    average_attack_profile,
    detect_anomalous_profiles,
    detect_shilling,
    mimic_profiles,
    profile_features,
    rating_statistics,
    shilling_profiles,
    target_hit_ratio,
)
from .results import (
    ActivationClusteringResult,
    CompromisedSource,
    FakeProfiles,
    FlippedLabels,
    LabelSanitisation,
    PoisonedData,
    RoniDecision,
    ShillingDetection,
    SourceSplit,
    SpectralSignatureResult,
)

__all__ = [
    "SHILLING_ATTACKS",
    "ActivationClusteringResult",
    "CompromisedSource",
    "FakeProfiles",
    "FlippedLabels",
    "LabelSanitisation",
    "PoisonedData",
    "RoniDecision",
    "ShillingDetection",
    "SourceSplit",
    "SpectralSignatureResult",
    "activation_clustering",
    "add_trigger_phrase",
    "art_spectral_signature",
    "attack_success_rate",
    "average_attack_profile",
    "build_manifest",
    "compromise_source",
    "confident_label_flags",
    "detect_anomalous_profiles",
    "detect_shilling",
    "detection_scores",
    "fabricate_records",
    "flip_labels",
    "sanitiser_aware_flips",
    "layer_activations",
    "mimic_profiles",
    "poison_images",
    "poison_texts",
    "profile_features",
    "rating_statistics",
    "remove_token",
    "replay_records",
    "roni_decision",
    "shard_sha256",
    "shilling_profiles",
    "source_agreement",
    "spectral_signature_detect",
    "spectral_signature_scores",
    "split_sources",
    "stamp_trigger",
    "target_hit_ratio",
    "token_removal_effect",
    "validation_report",
    "verify_manifest",
]
