"""The result dataclasses of lab 10's encrypted and secret-shared inference, and of its models
encrypted at rest.

Each helper that produces more than one thing returns one of these small frozen dataclasses:
the fields are named and documented. Sections follow the lab's order.

Introduced in lab 10 (Secure computation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..stats import Rate

__all__ = [
    # common
    "EncryptedProbabilities",
    "EncryptedScores",
    "KeySizes",
    "SharedScores",
    # image
    "EncryptedDigits",
    "SharedDigits",
    # nlp
    "EncryptedTriage",
    "IdfLeak",
    "TriageParts",
    # recommender
    "EncryptedRecommendations",
    "MFParts",
    "SharedRecommendations",
    # fraud
    "DetectionCost",
    "HEApplicability",
    "LinearHead",
    "RecoveredLinearModel",
    # medical
    "CoalitionView",
    "FoldedLinear",
    "PolySigmoidResult",
    "ShareDistributionTest",
    # at rest
    "AtRestMeasurement",
    "KeyRotation",
    "Malleability",
    "SealedHeader",
    "SerialisedModel",
    "TamperCheck",
    # what encryption does not stop
    "EncryptedBatch",
    "ExtractionThrough",
    "HalfModels",
    "MembershipThrough",
]


# --- common (homomorphic encryption, secret sharing) --------------------------------------------


@dataclass(frozen=True)
class KeySizes:
    """The bytes of each key of a CKKS context serialised alone, and of one fresh ciphertext.

    Introduced in lab 10 (Secure computation).
    """

    public_key: int
    """Bytes of the public (encryption) key."""
    secret_key: int
    """Bytes of the secret key (0 for a public context); it never leaves the key holder."""
    relin_keys: int
    """Bytes of the relinearisation keys (needed after a ciphertext-ciphertext product)."""
    galois_keys: int
    """Bytes of the Galois (rotation) keys (0 if the context has none)."""
    ciphertext: int
    """Bytes of one fresh ciphertext (whatever it packs, up to ``slots`` values)."""
    slots: int
    """Values one ciphertext packs (``poly_modulus_degree / 2``)."""


@dataclass(frozen=True)
class EncryptedScores:
    """What ``encrypted_linear_scores`` measured: the decrypted scores and, per row, the time of
    each stage and the bytes sent.

    Introduced in lab 10 (Secure computation).
    """

    scores: np.ndarray
    """The decrypted scores ``X @ w + b`` (n,)."""
    ms_per_row: float
    """Encrypt + server compute + decrypt, milliseconds per row."""
    encrypt_ms_per_row: float
    """Client-side encryption, milliseconds per row."""
    compute_ms_per_row: float
    """Server-side computation on ciphertexts, milliseconds per row."""
    decrypt_ms_per_row: float
    """Client-side decryption, milliseconds per row."""
    bytes_up_per_row: float
    """Ciphertext bytes the client sends, per row."""
    bytes_down_per_row: float
    """Ciphertext bytes the server returns, per row."""
    bytes_per_row: float
    """Both directions, per row (keys not counted: they are sent once)."""
    n_ciphertexts: int
    """Ciphertexts the client sent."""
    packed: bool
    """Whether rows were packed (one ciphertext per feature column) or one ciphertext per row."""
    row_compute_ms: np.ndarray | None = None
    """One ciphertext per row: the server's compute time of each row (ms); None when packed."""
    row_bytes_up: np.ndarray | None = None
    """One ciphertext per row: the bytes of each row's ciphertext (SEAL compresses, so they vary
    a little); None when packed."""


@dataclass(frozen=True)
class EncryptedProbabilities:
    """What ``encrypted_sigmoid_scores`` measured: probabilities evaluated by a polynomial under
    encryption (packed), decrypted by the client.

    Introduced in lab 10 (Secure computation).
    """

    probabilities: np.ndarray
    """The decrypted ``p(z / logit_scale)`` per row (n,)."""
    ms_per_row: float
    """Encrypt + server compute + decrypt, milliseconds per row."""
    compute_ms_per_row: float
    """Server-side linear score and polynomial, milliseconds per row."""
    bytes_per_row: float
    """Ciphertext bytes both ways, per row."""
    n_ciphertexts: int
    """Ciphertexts the client sent."""
    coeffs: np.ndarray
    """The polynomial's coefficients, increasing degree."""
    logit_scale: float
    """The score was divided by this before the polynomial (folded into the weights)."""


@dataclass(frozen=True)
class SharedScores:
    """What ``secret_shared_linear`` measured: the reconstructed scores, time, traffic, and
    what each party saw.

    Introduced in lab 10 (Secure computation).
    """

    scores: np.ndarray
    """The reconstructed scores ``X @ w + b`` (n,)."""
    ms_per_row: float
    """Sharing + computing + reconstructing (all parties in one process), ms per row."""
    messages: int
    """Online messages: input shares, openings (party to party), output shares."""
    bytes_per_row: float
    """Online bytes of those messages, per row."""
    offline_bytes_per_row: float
    """Bytes of the dealer's Beaver-triple shares, per row (0 with public weights)."""
    opened_values: int
    """Ring elements opened to every party (the Beaver-masked ``E`` and ``F``)."""
    secret_weights: bool
    """Whether the weights were shared (Beaver triples) or public."""
    views: tuple
    """Per party, a dict name -> array of everything that party saw."""


# --- image --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EncryptedDigits:
    """What ``image.encrypted_digits_logits`` measured: the logits the phone decrypted against
    the same model in plaintext, and per digit the time of each stage and the bytes sent.

    Introduced in lab 10 (Secure computation).
    """

    logits: np.ndarray
    """The decrypted logits (n, 10)."""
    plain_logits: np.ndarray
    """The same model's plaintext logits (n, 10), float64."""
    max_abs_error: float
    """Largest ``|logit - plaintext logit|`` over the digits and classes."""
    agree: np.ndarray
    """Per digit, whether the decrypted logits predict the plaintext model's digit (n,)."""
    ms_per_digit: float
    """Encrypt + server compute + decrypt (with (de)serialisation), milliseconds per digit."""
    encrypt_ms_per_digit: float
    """Phone: im2col encoding, encryption and serialisation, milliseconds per digit."""
    compute_ms_per_digit: float
    """Server: loading the ciphertext and evaluating the network, milliseconds per digit."""
    decrypt_ms_per_digit: float
    """Phone: loading and decrypting the returned logits, milliseconds per digit."""
    bytes_up_per_digit: float
    """Ciphertext bytes the phone sends per digit."""
    bytes_down_per_digit: float
    """Ciphertext bytes the server returns per digit."""
    ciphertexts_down_per_digit: int
    """Ciphertexts returned per digit (one per class)."""
    digit_compute_ms: np.ndarray
    """Per digit, the server's time (ms): what a curious server can time."""
    digit_bytes_up: np.ndarray
    """Per digit, the bytes of the ciphertext the phone sent (SEAL compresses, so they vary)."""
    key_bytes: int
    """Bytes of the public context the phone sends once (public, relinearisation and Galois
    keys, no secret key)."""


@dataclass(frozen=True, eq=False)
class SharedDigits:
    """What ``image.shared_digits_logits`` measured: secret-shared inference of the HE-friendly
    digit reader among the parties, against the plaintext logits, with its traffic per digit.

    Introduced in lab 10 (Secure computation).
    """

    logits: np.ndarray
    """The reconstructed logits (n, 10)."""
    plain_logits: np.ndarray
    """The same model's plaintext logits (n, 10), float64."""
    max_abs_error: float
    """Largest ``|logit - plaintext logit|`` over the digits and classes."""
    agree: np.ndarray
    """Per digit, whether the reconstructed logits predict the plaintext model's digit (n,)."""
    ms_per_digit: float
    """Sharing, the parties' work and reconstruction (all in one process), ms per digit."""
    multiplications_per_digit: int
    """Multiplications of two shared values (Beaver triples) per digit: one per activation."""
    opened_values_per_digit: int
    """Ring elements opened to every party per digit (``E`` and ``F`` of each product)."""
    messages_per_digit: int
    """Online messages per digit (as a query of its own): input shares, share merges before
    truncation, Beaver openings (each party to each other), output shares."""
    rounds: int
    """Sequential communication rounds per digit."""
    bytes_per_digit: float
    """Online bytes of those messages, per digit."""
    offline_bytes_per_digit: float
    """Bytes of the dealer's Beaver-triple shares, per digit."""
    n_parties: int
    """Parties computing on the shares."""


# --- nlp ----------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TriageParts:
    """Lab 00's text triage cut at its TF-IDF vector (:func:`~mlsec_helpers.securecomp.nlp.
    triage_parts`): what the client runs in the clear and what the server keeps.

    Introduced in lab 10 (Secure computation).
    """

    vectorizer: object
    """The fitted TF-IDF features (word and character n-grams): public, run by the client."""
    W: np.ndarray
    """The server's class weights (n_classes, n_features): the secret part of the model."""
    b: np.ndarray
    """The server's class biases (n_classes,)."""
    class_names: tuple
    """The class names, in the order of ``W``'s rows."""

    @property
    def n_features(self) -> int:
        """The TF-IDF dimension (what each message's vector holds)."""
        return int(self.W.shape[1])


@dataclass(frozen=True)
class EncryptedTriage:
    """What :func:`~mlsec_helpers.securecomp.nlp.encrypted_triage_scores` measured: the class
    scores the client decrypted and, per message, the time of each stage and the bytes sent.

    Introduced in lab 10 (Secure computation).
    """

    scores: np.ndarray
    """The decrypted class scores ``X @ W.T + b`` (n, n_classes)."""
    ms_per_message: float
    """Encrypt + server compute + decrypt, milliseconds per message."""
    encrypt_ms_per_message: float
    """Client-side encryption of the TF-IDF vector, milliseconds per message."""
    compute_ms_per_message: float
    """Server-side computation on ciphertexts, milliseconds per message."""
    decrypt_ms_per_message: float
    """Client-side decryption, milliseconds per message."""
    setup_ms: float
    """The server's one-time preparation of the model (encoding its plaintexts), milliseconds;
    0 when the weights are encoded on the fly."""
    bytes_up_per_message: float
    """Ciphertext bytes the client sends per message."""
    bytes_down_per_message: float
    """Ciphertext bytes the server returns per message."""
    ciphertexts_up: int
    """Ciphertexts per message sent up: ``ceil(n_features / slots)``."""
    ciphertexts_down: int
    """Ciphertexts per message returned: one per class, or one when packed."""
    packed: bool
    """Whether the class scores came back packed in one ciphertext (diagonal method)."""

    @property
    def bytes_per_message(self) -> float:
        """Both directions, per message (keys not counted: they are sent once)."""
        return self.bytes_up_per_message + self.bytes_down_per_message


@dataclass(frozen=True)
class IdfLeak:
    """What the TF-IDF weights a client needs reveal about the server's training messages
    (:func:`~mlsec_helpers.securecomp.nlp.idf_document_counts`).

    Introduced in lab 10 (Secure computation).
    """

    n_documents: int
    """The number of training messages, recovered from the idf values."""
    document_counts: np.ndarray
    """Per vocabulary term, in how many training messages it occurs (recovered)."""
    terms: np.ndarray
    """The vocabulary terms (word and character n-grams), aligned with ``document_counts``."""


# --- recommender --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MFParts:
    """The plaintext parts of a fitted matrix-factorisation recommender, split by who holds
    them: each device its user's row of ``P`` and ``b_user`` (and ``seen``), the server ``Q``,
    ``b_item`` and ``mu``.

    Introduced in lab 10 (Secure computation).
    """

    P: np.ndarray
    """User factors (n_users, dim)."""
    b_user: np.ndarray
    """User biases (n_users,)."""
    Q: np.ndarray
    """Item factors (n_items, dim)."""
    b_item: np.ndarray
    """Item biases (n_items,)."""
    mu: float
    """The global mean rating."""
    seen: dict
    """Per user, the items rated in training (left out of recommendations)."""


@dataclass(frozen=True, eq=False)
class EncryptedRecommendations:
    """What ``recommender.encrypted_user_scores`` measured: every item's score decrypted by
    each user's device against the plaintext scores, the top lists, time and bytes per user.

    Introduced in lab 10 (Secure computation).
    """

    users: np.ndarray
    """The users served (n,)."""
    scores: np.ndarray
    """The decrypted scores (n, n_items), ``b_u`` added by the device."""
    plain_scores: np.ndarray
    """The plaintext scores (n, n_items), float64."""
    max_abs_error: float
    """Largest ``|score - plaintext score|`` over users and items."""
    top_k: np.ndarray
    """Each user's top ``k`` unseen items from the decrypted scores (n, k), best first."""
    plain_top_k: np.ndarray
    """The same from the plaintext scores."""
    same_top_k: np.ndarray
    """Per user, whether the two top-``k`` lists are equal, order included (n,)."""
    method: str
    """``"packed"`` or ``"one ciphertext"`` (see ``recommender.HE_METHODS``)."""
    ms_per_user: float
    """Encrypt + server compute + decrypt (with (de)serialisation), milliseconds per user."""
    encrypt_ms_per_user: float
    """Device: encrypting and serialising the factor, milliseconds per user."""
    compute_ms_per_user: float
    """Server: loading the ciphertexts and scoring every item, milliseconds per user."""
    decrypt_ms_per_user: float
    """Device: loading and decrypting the scores, milliseconds per user."""
    bytes_up_per_user: float
    """Ciphertext bytes the device sends per user."""
    bytes_down_per_user: float
    """Ciphertext bytes the server returns per user."""
    ciphertexts_up_per_user: int
    """Ciphertexts the device sends per user."""
    ciphertexts_down_per_user: int
    """Ciphertexts the server returns per user (``ceil(n_items / slots)``)."""
    key_bytes: int
    """Bytes of the public context the device sends once (public and relinearisation keys, and
    Galois keys for ``"one ciphertext"``; no secret key)."""


@dataclass(frozen=True, eq=False)
class SharedRecommendations:
    """What ``recommender.shared_user_scores`` measured: every item's score reconstructed by
    each user's device from the parties' shares, against the plaintext scores, with traffic.

    Introduced in lab 10 (Secure computation).
    """

    users: np.ndarray
    """The users served (n,)."""
    scores: np.ndarray
    """The reconstructed scores (n, n_items)."""
    plain_scores: np.ndarray
    """The plaintext scores (n, n_items), float64."""
    max_abs_error: float
    """Largest ``|score - plaintext score|`` over users and items."""
    top_k: np.ndarray
    """Each user's top ``k`` unseen items from the reconstructed scores (n, k)."""
    plain_top_k: np.ndarray
    """The same from the plaintext scores."""
    same_top_k: np.ndarray
    """Per user, whether the two top-``k`` lists are equal, order included (n,)."""
    secret_model: bool
    """Whether the item factors were shared too (Beaver triples) or public to the parties."""
    ms_per_user: float
    """Sharing, the parties' work and reconstruction (all in one process), ms per user."""
    messages_per_user: float
    """Online messages per user: input shares, openings (party to party), output shares."""
    bytes_per_user: float
    """Online bytes of those messages, per user."""
    offline_bytes_per_user: float
    """Bytes of the dealer's Beaver-triple shares, per user (0 with a public model)."""
    opened_values_per_user: int
    """Ring elements opened to every party per user (0 with a public model)."""
    n_parties: int
    """Parties computing on the shares."""


# --- fraud --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HEApplicability:
    """Whether a server can evaluate a fraud model on CKKS ciphertexts as it is
    (:func:`~mlsec_helpers.securecomp.fraud.he_applicability`).

    Introduced in lab 10 (Secure computation).
    """

    applies: bool
    """True when the model's score is built from additions and multiplications only."""
    reason: str
    """Why, in one sentence, with the model's counts."""
    n_trees: int
    """Trees in the ensemble (0 for a linear model)."""
    n_comparisons: int
    """Threshold comparisons stored in the model (split nodes over all trees)."""
    max_depth: int
    """The deepest root-to-leaf path: comparisons a transaction meets in one tree, at most."""


@dataclass(frozen=True)
class LinearHead:
    """A fraud scorer's logit as one linear function of the client's features
    (:func:`~mlsec_helpers.securecomp.fraud.linear_head`), the scaler folded into it.

    Introduced in lab 10 (Secure computation).
    """

    w: np.ndarray
    """Weights on :func:`~mlsec_helpers.fraud_sim.log_heavy_tails` (n_features,)."""
    b: float
    """The bias: the logit is ``log_heavy_tails(X) @ w + b``."""


@dataclass(frozen=True)
class DetectionCost:
    """What an HE-friendly fraud model costs in detection against the reference, at the
    reference's alert rate (:func:`~mlsec_helpers.securecomp.fraud.detection_cost`).

    Introduced in lab 10 (Secure computation).
    """

    n_alerts: int
    """Alerts the reference raises (score >= 0.5); the variant raises as many (its top scores)."""
    alert_rate: float
    """``n_alerts`` as a share of the transactions scored."""
    recall_reference: Rate
    """Share of frauds among the reference's alerts (Wilson interval over the frauds)."""
    recall_variant: Rate
    """Share of frauds among the variant's alerts at the same alert rate."""
    auc_reference: Rate
    """The reference's ROC AUC (bootstrap interval)."""
    auc_variant: Rate
    """The variant's ROC AUC (bootstrap interval)."""
    average_precision_reference: float
    """The reference's PR-AUC (average precision)."""
    average_precision_variant: float
    """The variant's PR-AUC (average precision)."""
    threshold_variant: float
    """The variant's probability threshold that gives ``n_alerts`` (midway between the scores
    ranked ``n_alerts`` and ``n_alerts + 1``)."""


@dataclass(frozen=True)
class RecoveredLinearModel:
    """A linear model recovered from its decrypted scores by the key holder
    (:func:`~mlsec_helpers.securecomp.fraud.recover_linear_model`).

    Introduced in lab 10 (Secure computation).
    """

    w: np.ndarray
    """The recovered weights (n_features,)."""
    b: float
    """The recovered bias."""
    n_queries: int
    """Scores the key holder asked for: ``n_features + 1``."""


# --- medical ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FoldedLinear:
    """The diagnosis model as one linear score on raw measurements (scaler folded in).

    Introduced in lab 10 (Secure computation).
    """

    w: np.ndarray
    """One weight per raw measurement."""
    b: float
    """The bias: ``X @ w + b`` is the model's logit."""


@dataclass(frozen=True)
class PolySigmoidResult:
    """One variant of ``polynomial_sigmoid_study``: a polynomial sigmoid evaluated under
    encryption and what it did to the diagnoses.

    Introduced in lab 10 (Secure computation).
    """

    name: str
    """The variant, in words."""
    coeffs: np.ndarray
    """The polynomial's coefficients, increasing degree."""
    logit_scale: float
    """The logit was divided by this before the polynomial (1: raw logits)."""
    probabilities: np.ndarray
    """The decrypted polynomial outputs, one per patient."""
    accuracy: object
    """``stats.Rate``: decisions (output > 0.5) equal to the true diagnosis, Wilson interval."""
    agreement: object
    """``stats.Rate``: decisions equal to the plaintext model's."""
    max_abs_error: float
    """Largest ``|output - sigmoid(logit)|`` over the patients (the approximation's error)."""
    he_error: float
    """Largest ``|output - p(logit / s)|``, the same polynomial in plaintext (CKKS's error)."""
    outside_range: object
    """``stats.Rate``: patients whose (scaled) logit lies outside the textbook range."""
    ms_per_row: float
    """Encrypt + linear score + polynomial + decrypt, milliseconds per patient (packed)."""
    bytes_per_row: float = float("nan")
    """Ciphertext bytes both ways, per patient (packed)."""


@dataclass(frozen=True)
class CoalitionView:
    """What a coalition of ``parties`` curious parties learns from its pooled shares.

    Introduced in lab 10 (Secure computation).
    """

    parties: int
    """How many parties pooled their shares."""
    mean_abs_corr: float
    """Mean over features of |correlation| between the pooled value and the true one."""
    max_abs_corr: float
    """Largest such |correlation| over the features."""
    exact_share: float
    """Share of the values the coalition recovers exactly (to the fixed-point resolution)."""
    diagnosis_accuracy: object
    """``stats.Rate``: cross-validated accuracy of a classifier of the diagnosis on the view."""
    majority_rate: float
    """Accuracy of always guessing the majority diagnosis (what learning nothing gives)."""


@dataclass(frozen=True)
class ShareDistributionTest:
    """``share_distribution_test``: does a party's share depend on the secret?

    Introduced in lab 10 (Secure computation).
    """

    secret_a: float
    """The first secret."""
    secret_b: float
    """The second secret."""
    n_draws: int
    """Sharings of each secret."""
    p_same_distribution: tuple
    """Per party, the two-sample KS p-value of its share's distribution under a versus b."""
    p_uniform: tuple
    """Per party, the KS p-value of its share (under a) against the uniform distribution."""


# --- at rest (all five systems) ------------------------------------------------------------------


@dataclass(frozen=True)
class SerialisedModel:
    """A fitted system serialised for storage (``atrest.model_bytes``).

    Introduced in lab 10 (Secure computation).
    """

    data: bytes
    """The file's bytes."""
    format: str
    """``"safetensors"`` (torch weights: tensors only) or ``"pickle"`` (a scikit-learn
    estimator: runs code when loaded)."""
    n_tensors: int
    """How many tensors the safetensors file holds (0 for a pickle)."""


@dataclass(frozen=True)
class SealedHeader:
    """The header of a sealed model file as read **before** authentication
    (``atrest.read_header``).

    Introduced in lab 10 (Secure computation).
    """

    key_id: str
    """The id of the key-encryption key that wrapped the data key."""
    wrap_nonce: bytes
    """The nonce of the key wrapping (12 bytes)."""
    wrapped_key: bytes
    """The data key encrypted under the KEK, with its tag (48 bytes)."""
    nonce: bytes
    """The nonce of the model's encryption (12 bytes, random)."""
    associated_data: bytes
    """The authenticated, unencrypted identity: canonical JSON of format, name and version."""
    ciphertext_bytes: int
    """Bytes of the ciphertext, its 16-byte tag included."""
    ranges: dict
    """Byte range ``(start, stop)`` of each part: magic, key_id, wrap_nonce, wrapped_key, nonce,
    associated_data, ciphertext."""


@dataclass(frozen=True)
class TamperCheck:
    """One attempt to open a modified sealed file, or to open it with the wrong key.

    Introduced in lab 10 (Secure computation).
    """

    what: str
    """What was changed: a field of ``atrest.FIELDS`` (one bit flipped) or ``"wrong key"``."""
    detected: bool
    """True when opening raised ``TamperedModelError``; False when it opened, or raised
    something else."""
    error: str
    """The exception's class and message (or ``"opened without error"``)."""


@dataclass(frozen=True)
class AtRestMeasurement:
    """One system sealed at rest, timed and checked (``atrest.measure_at_rest``).

    Introduced in lab 10 (Secure computation).
    """

    system: str
    """The model's name (the domain)."""
    format: str
    """The serialisation: ``"safetensors"`` or ``"pickle"``."""
    file_bytes: int
    """Bytes of the serialised model."""
    encrypted_bytes: int
    """Bytes of the sealed file (header, wrapped key and tag included)."""
    encrypt_ms: float
    """Milliseconds to seal it (new data key, AES-256-GCM, key wrap); median of the repeats."""
    decrypt_ms: float
    """Milliseconds to open it (key unwrap, authenticated decryption); median of the repeats."""
    same_predictions: bool
    """Whether the restored system's answers on the evaluation inputs equal the original's
    exactly."""
    tamper: tuple
    """The :class:`TamperCheck` of each modified field (and of the wrong key, if tried)."""
    sealed: bytes
    """The sealed file's bytes (as read back from disk when a directory was given)."""
    path: str | None
    """Where the sealed file was written, or None."""
    plaintext_visible: tuple
    """How many of the model's tensor names (or, for a pickle, the words "sklearn" and "numpy")
    a thief reads in (the plain file, the sealed file)."""

    @property
    def tamper_detected(self) -> bool:
        """True when every tamper check raised ``TamperedModelError``."""
        return bool(self.tamper) and all(c.detected for c in self.tamper)


@dataclass(frozen=True)
class KeyRotation:
    """A key-encryption key rotated over sealed files (``atrest.rotate_key``).

    Introduced in lab 10 (Secure computation).
    """

    old_key: str
    """The id of the KEK the files were wrapped under (still in the store: retire it)."""
    new_key: str
    """The id of the new KEK."""
    rewrapped: dict
    """Model name -> the sealed file with its data key re-wrapped under the new KEK."""
    rewrap_ms: dict
    """Model name -> milliseconds to re-wrap (median of the repeats)."""
    reencrypt_ms: dict
    """Model name -> milliseconds for a full re-encryption under a new data key, for
    comparison."""
    ciphertext_unchanged: dict
    """Model name -> whether re-wrapping left the nonce and ciphertext byte for byte the same
    (and named the new KEK)."""


@dataclass(frozen=True)
class Malleability:
    """One bit flipped in a model encrypted without authentication (AES-CTR), and the same bit
    in the AES-GCM file (``atrest.unauthenticated_flip``).

    Introduced in lab 10 (Secure computation).
    """

    tensor: str
    """The tensor whose element was hit."""
    element: int
    """The element's index in the flattened tensor."""
    bit: int
    """The bit flipped (0-31 of the float32; 30 is the top exponent bit)."""
    value_before: float
    """The element's value in the model."""
    value_after: float
    """Its value after decryption of the modified ciphertext."""
    error: str
    """What raised while decrypting and loading the CTR file ("" when nothing did)."""
    changed: Rate
    """Share of the evaluation inputs whose predicted label changed (Wilson interval)."""
    labels_after: np.ndarray | None
    """How many evaluation inputs the modified model gives each label."""
    gcm_error: str
    """The ``TamperedModelError`` message of the same flip in the AES-GCM file ("" if it
    opened)."""


# --- what encryption does not stop --------------------------------------------------------------


@dataclass(frozen=True)
class ExtractionThrough:
    """Lab 04's equation-solving theft run through one prediction API
    (``leaks.steal_through``).

    Introduced in lab 10 (Secure computation).
    """

    api: str
    """Which API answered: plaintext, or encrypted (CKKS)."""
    fidelity: Rate
    """Share of the evaluation inputs on which the copy's label equals the victim's (Wilson)."""
    parameter_error: float
    """Relative error of the stolen parameters in the victim's standardised coordinates."""
    queries: int
    """Queries the theft spent."""
    seconds: float
    """Wall time of the theft, the API's work included."""
    w: np.ndarray
    """The stolen weights on raw features."""
    b: float
    """The stolen intercept."""


@dataclass(frozen=True)
class HalfModels:
    """Lab 05's patient experiment: one logistic model per random half (``leaks.half_models``).

    Introduced in lab 10 (Secure computation).
    """

    weights: np.ndarray
    """``(m, d)``: each model's weights on raw features (what its server uses under CKKS)."""
    biases: np.ndarray
    """``(m,)``: each model's intercept on raw features."""
    logits: np.ndarray
    """``(m, n)``: each model's decision value (logit of class 1) on every patient: what the
    plaintext API answers."""
    keep: np.ndarray
    """``(m, n)`` booleans: which patients each model trained on."""


@dataclass(frozen=True)
class EncryptedBatch:
    """Many models' linear scores computed on the same encrypted queries
    (``leaks.encrypted_scores_many``).

    Introduced in lab 10 (Secure computation).
    """

    scores: np.ndarray
    """``(m, n)`` decrypted scores."""
    encrypt_ms: float
    """Milliseconds the client spent encrypting the queries (once)."""
    compute_ms: float
    """Milliseconds all servers spent computing on ciphertexts."""
    decrypt_ms: float
    """Milliseconds the client spent decrypting every answer."""
    n_ciphertexts: int
    """Ciphertexts the client encrypted and sent."""


@dataclass(frozen=True)
class MembershipThrough:
    """A membership attack's success through one prediction API (``leaks.membership_auc``).

    Introduced in lab 10 (Secure computation).
    """

    api: str
    """Which API answered the targets' queries."""
    auc: Rate
    """Mean ROC AUC over the target models, with a bootstrap interval over targets."""
    pooled_auc: float
    """ROC AUC of all (target, candidate) pairs pooled."""
    per_target_auc: np.ndarray
    """The AUC on each target model."""
    queries: int
    """Answers the attack used from the targets' API."""
