"""Model encryption and secure computation (lab 10).

Introduced in lab 10 (Secure computation). The five systems' predictions computed on data the
server never reads: homomorphic encryption (CKKS) of the input, one ciphertext per query or
packed; additive secret sharing among three parties, with Beaver triples when the weights are
secret too; model files sealed at rest with an authenticated cipher and envelope keys; and the
attacks (extraction, membership inference) that go through all of them unchanged.

==============================  =================================================  ============
piece                           what it does                                       library
==============================  =================================================  ============
CKKS contexts, ciphertexts      encrypt, compute X @ w + b, decrypt; sizes, time   TenSEAL
encrypted convolution           im2col encoding and a square activation            TenSEAL
polynomial sigmoid              textbook and least-squares fits, under encryption  TenSEAL/numpy
additive sharing, Beaver        3 parties in Z_2^64, fixed point                   by hand
sealing at rest                 AES-256-GCM, wrapped data keys, key rotation       cryptography
extraction / MI through HE      lab 04's and lab 05's attacks on an encrypted API  by hand
==============================  =================================================  ============

Secret sharing is written here: CrypTen (the PyTorch MPC library) has not been maintained since
2022 and does not install against the course's pinned torch and scikit-learn; MPyC is
maintained but shares values by Shamir's scheme and runs each party as its own process over
TCP, so it shows neither additive shares nor Beaver triples inside a notebook's budget.

Where the code of each part of the lab lives (the lab calls ``securecomp.name`` for all of them):

- every part, ``common.py``: :func:`beaver_multiply`, :func:`beaver_triple`,
  :func:`check_context`, :func:`ckks_context`, :func:`decode_fixed`, :func:`encode_fixed`,
  :func:`encrypt_columns`, :func:`encrypted_linear_scores`, :func:`encrypted_sigmoid_scores`,
  :func:`fit_sigmoid_poly`,
  :data:`FRAC_BITS`, :func:`key_sizes`, :func:`public_context`, :func:`reconstruct`,
  :func:`secret_shared_linear`, :func:`serialized_size`, :func:`share`, :func:`sigmoid`,
  :func:`sigmoid_poly`, :func:`slots`, :data:`TEXTBOOK_SIGMOID_COEFFS`,
  :data:`TEXTBOOK_SIGMOID_RANGE`, :func:`weighted_sum`; ``figures.py``: :func:`trust_diagram`.
- image, ``image.py``: :func:`digits_ciphertext_sizes`, :data:`DIGITS_HE_COEFF_MOD_BIT_SIZES`,
  :func:`digits_he_context`, :data:`DIGITS_HE_SCALE_BITS`, :func:`digits_net_logits`,
  :func:`encrypted_digits_logits`, :func:`non_polynomial_layers`, :func:`shared_digits_logits`,
  :class:`SquareActivation`, :class:`SquareDigitsNet`, :func:`train_square_digits_net`.
- nlp, ``nlp.py``: :func:`client_vectors`, :func:`encrypted_triage_scores`,
  :func:`idf_document_counts`, :data:`PACKED_BLOCK`, :func:`triage_parts`.
- recommender, ``recommender.py``: :func:`encrypted_user_scores`, :data:`HE_METHODS`,
  :func:`mf_parts`, :func:`plain_user_scores`, :func:`recommender_he_context`,
  :func:`shared_user_scores`, :func:`top_k_lists`.
- fraud, ``fraud.py``: :func:`detection_cost`, :func:`fit_he_friendly_scorer`,
  :func:`he_applicability`, :func:`linear_head`, :func:`recover_linear_model`.
- medical, ``medical.py``: :func:`coalition_views`, :func:`folded_linear_model`,
  :func:`polynomial_sigmoid_study`, :func:`share_distribution_test`.
- models at rest, ``atrest.py``: :data:`FIELDS`, :func:`flip_bit`, :class:`KeyStore`,
  :data:`MAGIC`, :func:`measure_at_rest`, :func:`model_bytes`, :func:`model_predictions`,
  :func:`open_model`, :func:`read_header`, :func:`reencrypt`, :func:`restore_model`,
  :func:`rewrap`, :func:`rotate_key`, :func:`seal_model`, :class:`SealedModelError`,
  :func:`tamper_checks`, :class:`TamperedModelError`, :func:`unauthenticated_flip`,
  :class:`UnknownKeyError`.
- what encryption does not stop, ``leaks.py``: :func:`encrypted_scores_many`,
  :class:`EncryptedLinearAPI`, :func:`half_models`, :func:`lira_through`,
  :func:`membership_auc`, :func:`steal_through`.
- ``results.py``: the result dataclasses.
"""

from __future__ import annotations

from .atrest import (
    FIELDS,
    MAGIC,
    KeyStore,
    SealedModelError,
    TamperedModelError,
    UnknownKeyError,
    flip_bit,
    measure_at_rest,
    model_bytes,
    model_predictions,
    open_model,
    read_header,
    reencrypt,
    restore_model,
    rewrap,
    rotate_key,
    seal_model,
    tamper_checks,
    unauthenticated_flip,
)
from .common import (
    FRAC_BITS,
    TEXTBOOK_SIGMOID_COEFFS,
    TEXTBOOK_SIGMOID_RANGE,
    beaver_multiply,
    beaver_triple,
    check_context,
    ckks_context,
    decode_fixed,
    encode_fixed,
    encrypt_columns,
    encrypted_linear_scores,
    encrypted_sigmoid_scores,
    fit_sigmoid_poly,
    key_sizes,
    public_context,
    reconstruct,
    secret_shared_linear,
    serialized_size,
    share,
    sigmoid,
    sigmoid_poly,
    slots,
    weighted_sum,
)
from .figures import (
    trust_diagram,
)
from .fraud import (
    detection_cost,
    fit_he_friendly_scorer,
    he_applicability,
    linear_head,
    recover_linear_model,
)
from .image import (
    DIGITS_HE_COEFF_MOD_BIT_SIZES,
    DIGITS_HE_SCALE_BITS,
    SquareActivation,
    SquareDigitsNet,
    digits_ciphertext_sizes,
    digits_he_context,
    digits_net_logits,
    encrypted_digits_logits,
    non_polynomial_layers,
    shared_digits_logits,
    train_square_digits_net,
)
from .leaks import (
    EncryptedLinearAPI,
    encrypted_scores_many,
    half_models,
    lira_through,
    membership_auc,
    steal_through,
)
from .medical import (
    coalition_views,
    folded_linear_model,
    polynomial_sigmoid_study,
    share_distribution_test,
)
from .nlp import (
    PACKED_BLOCK,
    client_vectors,
    encrypted_triage_scores,
    idf_document_counts,
    triage_parts,
)
from .recommender import (
    HE_METHODS,
    encrypted_user_scores,
    mf_parts,
    plain_user_scores,
    recommender_he_context,
    shared_user_scores,
    top_k_lists,
)
from .results import (
    AtRestMeasurement,
    CoalitionView,
    DetectionCost,
    EncryptedBatch,
    EncryptedDigits,
    EncryptedProbabilities,
    EncryptedRecommendations,
    EncryptedScores,
    EncryptedTriage,
    ExtractionThrough,
    FoldedLinear,
    HalfModels,
    HEApplicability,
    IdfLeak,
    KeyRotation,
    KeySizes,
    LinearHead,
    Malleability,
    MembershipThrough,
    MFParts,
    PolySigmoidResult,
    RecoveredLinearModel,
    SealedHeader,
    SerialisedModel,
    SharedDigits,
    ShareDistributionTest,
    SharedRecommendations,
    SharedScores,
    TamperCheck,
    TriageParts,
)

__all__ = [
    "AtRestMeasurement",
    "CoalitionView",
    "DIGITS_HE_COEFF_MOD_BIT_SIZES",
    "DIGITS_HE_SCALE_BITS",
    "DetectionCost",
    "EncryptedBatch",
    "EncryptedDigits",
    "EncryptedLinearAPI",
    "EncryptedProbabilities",
    "EncryptedRecommendations",
    "EncryptedScores",
    "EncryptedTriage",
    "ExtractionThrough",
    "FIELDS",
    "FRAC_BITS",
    "FoldedLinear",
    "HEApplicability",
    "HE_METHODS",
    "HalfModels",
    "IdfLeak",
    "KeyRotation",
    "KeySizes",
    "KeyStore",
    "LinearHead",
    "MAGIC",
    "MFParts",
    "Malleability",
    "MembershipThrough",
    "PACKED_BLOCK",
    "PolySigmoidResult",
    "RecoveredLinearModel",
    "SealedHeader",
    "SealedModelError",
    "SerialisedModel",
    "ShareDistributionTest",
    "SharedDigits",
    "SharedRecommendations",
    "SharedScores",
    "SquareActivation",
    "SquareDigitsNet",
    "TEXTBOOK_SIGMOID_COEFFS",
    "TEXTBOOK_SIGMOID_RANGE",
    "TamperCheck",
    "TamperedModelError",
    "TriageParts",
    "UnknownKeyError",
    "beaver_multiply",
    "beaver_triple",
    "check_context",
    "ckks_context",
    "client_vectors",
    "coalition_views",
    "decode_fixed",
    "detection_cost",
    "digits_ciphertext_sizes",
    "digits_he_context",
    "digits_net_logits",
    "encode_fixed",
    "encrypt_columns",
    "encrypted_digits_logits",
    "encrypted_linear_scores",
    "encrypted_scores_many",
    "encrypted_sigmoid_scores",
    "encrypted_triage_scores",
    "encrypted_user_scores",
    "fit_he_friendly_scorer",
    "fit_sigmoid_poly",
    "flip_bit",
    "folded_linear_model",
    "half_models",
    "he_applicability",
    "idf_document_counts",
    "key_sizes",
    "linear_head",
    "lira_through",
    "measure_at_rest",
    "membership_auc",
    "mf_parts",
    "model_bytes",
    "model_predictions",
    "non_polynomial_layers",
    "open_model",
    "plain_user_scores",
    "polynomial_sigmoid_study",
    "public_context",
    "read_header",
    "recommender_he_context",
    "reconstruct",
    "recover_linear_model",
    "reencrypt",
    "restore_model",
    "rewrap",
    "rotate_key",
    "seal_model",
    "secret_shared_linear",
    "serialized_size",
    "share",
    "share_distribution_test",
    "shared_digits_logits",
    "shared_user_scores",
    "sigmoid",
    "sigmoid_poly",
    "slots",
    "steal_through",
    "tamper_checks",
    "top_k_lists",
    "train_square_digits_net",
    "triage_parts",
    "trust_diagram",
    "unauthenticated_flip",
    "weighted_sum",
]
