"""Federated learning, its attacks, and robust and secure aggregation (lab 09).

Introduced in lab 09 (Federated learning). Clients (phones, banks, hospitals, viewers' devices)
train one model without pooling their data: the federation loop, non-IID splits, the
aggregation rules (FedAvg, coordinate-wise median, trimmed mean, Krum, Multi-Krum), Byzantine
clients (sign flipping, scaling, noise, boosted backdoors, "A Little Is Enough" and an attacker
who knows the rule), norm clipping and DP noise, what one update reveals, secure aggregation by
pairwise masks, and the same clients and server as a Flower app on Flower's deployment engine.

==============================  =================================================  ============
piece                           what it does                                       library
==============================  =================================================  ============
aggregation rules               weighted mean, median, trimmed mean, (Multi-)Krum  Flower
federation loop                 rounds of local training and aggregation           by hand
Byzantine and adaptive clients  flip, scale, noise, ALIE, directed deviation       by hand
DP on updates                   clipping and Gaussian noise (z * C / n)            Flower/opacus
secure aggregation              X25519 pairwise seeds, masks in Z_2^64             cryptography
Flower app                      ClientApp, ServerApp, strategies, deployment run   Flower
==============================  =================================================  ============

The loop runs in process with Flower's own aggregation functions: a lab runs dozens of
federations, and Flower's simulation engine (Ray) and deployment engine start processes that
take tens of seconds each. Flower's attacks and its SecAgg+ exist only inside its engine, so
the attacks and the masking are written here.

Where the code of each part of the lab lives (the lab calls ``federated.name`` for all of them):

- every part, ``common.py``: :func:`aggregate`, :data:`AGGREGATION_RULES`,
  :func:`client_dp_epsilon`, :func:`clip_updates`, :func:`directed_deviation`,
  :func:`directed_push`, :func:`dirichlet_split`, :func:`dp_noise_std`, :func:`flat_params`,
  :func:`gaussian_updates`, :func:`iid_split`, :func:`little_is_enough`,
  :func:`logistic_clients`, :func:`logistic_scores`, :func:`logistic_steps`,
  :func:`pairwise_masks`,
  :func:`run_federation`, :func:`secure_aggregate`, :func:`secure_standardiser`,
  :func:`set_flat_params`, :func:`sign_flip`, :func:`update_norms`; ``figures.py``:
  :func:`federation_diagram`.
- image, ``image.py``: :func:`backdoor_within_clip`, :func:`boosted`, :func:`decode_masked`,
  :func:`digits_accuracy`, :func:`digits_backdoor_success`, :func:`digits_evaluator`,
  :data:`DIGITS_FL_SETTINGS`, :func:`digits_gradient`, :func:`digits_gradient_inversion`,
  :func:`digits_predict`, :func:`digits_softmax`, :class:`DigitsPhones`,
  :func:`invert_gradient`, :func:`label_leak`, :func:`label_scores`,
  :func:`trigger_coordinates`.
- nlp, ``nlp.py``: :func:`backdoor_messages`, :func:`backdoor_success`,
  :func:`hashed_features`, :func:`local_trainer`, :data:`N_FEATURES`, :func:`softmax_init`,
  :func:`softmax_predict`.
- recommender, ``recommender.py``: :func:`agree_mean_rating`, :func:`catalogue_items`,
  :class:`MFFederation`, :func:`rated_items_from_update`, :func:`target_exposure`.
- fraud, ``fraud.py``: :func:`bank_split`, :func:`pr_auc_interval`,
  :func:`recall_at_alert_rate`.
- medical, ``medical.py``: :func:`case_mix_leak`, :func:`infer_case_mix`,
  :func:`masked_coordinate`, :func:`shadow_clients`.
- the Flower app, ``flower_app.py``: :func:`accuracy`, :data:`APP_DIR`, :data:`client_app`,
  :func:`flower_aggregate`, :func:`from_arrayrecord`, :func:`hospital_data`,
  :func:`hospital_statistics`, :func:`initial_params`, :func:`local_train`,
  :func:`make_strategy`, :func:`pooled_scaler`, :data:`RULE_STRATEGIES`, :data:`RUN_CONFIG`,
  :func:`run_deployment`, :func:`run_in_process`, :data:`server_app`, :func:`to_arrayrecord`.
- ``results.py``: the result dataclasses.
"""

from __future__ import annotations

from .common import (
    AGGREGATION_RULES,
    aggregate,
    client_dp_epsilon,
    clip_updates,
    directed_deviation,
    directed_push,
    dirichlet_split,
    dp_noise_std,
    flat_params,
    gaussian_updates,
    iid_split,
    little_is_enough,
    logistic_clients,
    logistic_scores,
    logistic_steps,
    pairwise_masks,
    run_federation,
    secure_aggregate,
    secure_standardiser,
    set_flat_params,
    sign_flip,
    update_norms,
)
from .figures import (
    federation_diagram,
)
from .flower_app import (
    APP_DIR,
    RULE_STRATEGIES,
    RUN_CONFIG,
    accuracy,
    client_app,
    flower_aggregate,
    from_arrayrecord,
    hospital_data,
    hospital_statistics,
    initial_params,
    local_train,
    make_strategy,
    pooled_scaler,
    run_deployment,
    run_in_process,
    server_app,
    to_arrayrecord,
)
from .fraud import (
    bank_split,
    pr_auc_interval,
    recall_at_alert_rate,
)
from .image import (
    DIGITS_FL_SETTINGS,
    DigitsPhones,
    backdoor_within_clip,
    boosted,
    decode_masked,
    digits_accuracy,
    digits_backdoor_success,
    digits_evaluator,
    digits_gradient,
    digits_gradient_inversion,
    digits_predict,
    digits_softmax,
    invert_gradient,
    label_leak,
    label_scores,
    trigger_coordinates,
)
from .medical import (
    case_mix_leak,
    infer_case_mix,
    masked_coordinate,
    shadow_clients,
)
from .nlp import (
    N_FEATURES,
    backdoor_messages,
    backdoor_success,
    hashed_features,
    local_trainer,
    softmax_init,
    softmax_predict,
)
from .recommender import (
    MFFederation,
    agree_mean_rating,
    catalogue_items,
    rated_items_from_update,
    target_exposure,
)
from .results import (
    CaseMixInference,
    DeploymentRun,
    DigitsGradientInversion,
    DigitsLabelLeak,
    FederationRun,
    SecureAggregation,
    Standardiser,
)

__all__ = [
    "AGGREGATION_RULES",
    "APP_DIR",
    "CaseMixInference",
    "DIGITS_FL_SETTINGS",
    "DeploymentRun",
    "DigitsGradientInversion",
    "DigitsLabelLeak",
    "DigitsPhones",
    "FederationRun",
    "MFFederation",
    "N_FEATURES",
    "RULE_STRATEGIES",
    "RUN_CONFIG",
    "SecureAggregation",
    "Standardiser",
    "accuracy",
    "aggregate",
    "agree_mean_rating",
    "backdoor_messages",
    "backdoor_success",
    "backdoor_within_clip",
    "bank_split",
    "boosted",
    "case_mix_leak",
    "catalogue_items",
    "client_app",
    "client_dp_epsilon",
    "clip_updates",
    "decode_masked",
    "digits_accuracy",
    "digits_backdoor_success",
    "digits_evaluator",
    "digits_gradient",
    "digits_gradient_inversion",
    "digits_predict",
    "digits_softmax",
    "directed_deviation",
    "directed_push",
    "dirichlet_split",
    "dp_noise_std",
    "federation_diagram",
    "flat_params",
    "flower_aggregate",
    "from_arrayrecord",
    "gaussian_updates",
    "hashed_features",
    "hospital_data",
    "hospital_statistics",
    "iid_split",
    "infer_case_mix",
    "initial_params",
    "invert_gradient",
    "label_leak",
    "label_scores",
    "little_is_enough",
    "local_train",
    "local_trainer",
    "logistic_clients",
    "logistic_scores",
    "logistic_steps",
    "make_strategy",
    "masked_coordinate",
    "pairwise_masks",
    "pooled_scaler",
    "pr_auc_interval",
    "rated_items_from_update",
    "recall_at_alert_rate",
    "run_deployment",
    "run_federation",
    "run_in_process",
    "secure_aggregate",
    "secure_standardiser",
    "server_app",
    "set_flat_params",
    "shadow_clients",
    "sign_flip",
    "softmax_init",
    "softmax_predict",
    "target_exposure",
    "to_arrayrecord",
    "trigger_coordinates",
    "update_norms",
]
