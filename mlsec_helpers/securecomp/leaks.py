"""What encryption does not stop: an encrypted model still answers queries, so the attacks of
labs 04 and 05 work through it unchanged.

Homomorphic encryption hides the *query* from the server (and the model's weights can be hidden
from the client), but the client who holds the secret key decrypts the *answer*: to that client
the encrypted API is the plaintext API, up to the scheme's small numerical error. Here the
medical logistic model is served under CKKS (:class:`EncryptedLinearAPI`: the client encrypts,
the server computes the linear score on ciphertexts with plaintext weights, the client decrypts
and applies the sigmoid), and the attacker is that client:

* model extraction (lab 04): :func:`steal_through` runs lab 04's equation-solving attack
  (``extraction.equation_solving_attack``, d + 1 queries) through any prediction API and
  measures the copy's agreement with the victim (``extraction.fidelity``);
* membership inference (lab 05): lab 05's patient experiment (many logistic models on random
  halves, each the target in turn, online LiRA): :func:`half_models` trains the models,
  :func:`encrypted_scores_many` gets every target's answers through CKKS (the attacker's
  candidates encrypted once, each model's server scoring the same ciphertexts),
  :func:`lira_through` scores membership from the API's answers against the attacker's own
  plaintext shadow models, and :func:`membership_auc` averages the per-target AUC with a
  bootstrap interval over targets.

What helps instead acts on the answers or on the training: lab 04's hardened outputs and query
budgets, lab 05's differential privacy.

Introduced in lab 10 (Secure computation).
"""

from __future__ import annotations

import time

import numpy as np

from ..stats import mean_interval
from ..validate import ArgumentTypeError, check_array, check_int, check_number, check_seed
from . import common
from .results import EncryptedBatch, ExtractionThrough, HalfModels, MembershipThrough

__all__ = [
    "EncryptedLinearAPI",
    "encrypted_scores_many",
    "half_models",
    "lira_through",
    "membership_auc",
    "steal_through",
]



class EncryptedLinearAPI:
    """A logistic model's prediction API computed under CKKS: ``api(X)`` answers the same
    ``(n, 2)`` probabilities as the plaintext model, ``[1 - p, p]`` with ``p = sigmoid(X @ w +
    b)``, but the server only ever sees ciphertexts (packed: one ciphertext per feature column,
    ``common.encrypted_linear_scores``); the client decrypts the score and applies the sigmoid.
    ``context`` is the client's (secret key inside). ``queries``, ``milliseconds`` and
    ``bytes_sent`` count what all calls cost.

    Introduced in lab 10 (Secure computation).
    """

    def __init__(self, context, w, b):
        common.check_context(context, secret_key=True)
        self.context = context
        self.w = check_array(w, "w", ndim=1, dtype=np.float64)
        self.b = check_number(b, "b")
        self.queries = 0
        self.milliseconds = 0.0
        self.bytes_sent = 0.0

    def scores(self, X) -> np.ndarray:
        """The decrypted linear scores ``X @ w + b`` of the rows of ``X``."""
        X = check_array(X, "X", ndim=2, dtype=np.float64)
        if X.shape[1] != len(self.w):
            raise ValueError(f"X must have {len(self.w)} features, got {X.shape[1]}")
        out = common.encrypted_linear_scores(self.context, X, self.w, self.b, packed=True)
        self.queries += len(X)
        self.milliseconds += out.ms_per_row * len(X)
        self.bytes_sent += out.bytes_per_row * len(X)
        return out.scores

    def __call__(self, X) -> np.ndarray:
        p = common.sigmoid(self.scores(X))
        return np.column_stack([1.0 - p, p])

    def __repr__(self) -> str:
        return (f"EncryptedLinearAPI({len(self.w)} features; {self.queries} queries, "
                f"{self.milliseconds:.0f} ms so far)")


def steal_through(api, system, X_thief, X_eval, *, api_name: str, on: str = ""
                  ) -> ExtractionThrough:
    """Lab 04's equation-solving theft of a logistic model through the prediction API ``api``
    (a callable answering ``(n, 2)`` probabilities: the plaintext ``system.predict_proba`` or an
    :class:`EncryptedLinearAPI`), counted by lab 04's ``extraction.PredictionAPI``. The thief
    steps from the mean of its own patients ``X_thief`` by each feature's spread in them; the
    copy's labels are compared with ``system``'s on ``X_eval`` (fidelity, Wilson interval) and
    its parameters with the victim's (``extraction.parameter_error``).

    Introduced in lab 10 (Secure computation).
    """
    from ..extraction import PredictionAPI, equation_solving_attack, fidelity, parameter_error

    if not callable(api):
        raise ArgumentTypeError(f"api must be a callable prediction API, got "
                                f"{type(api).__name__}")
    X_thief = check_array(X_thief, "X_thief", ndim=2, dtype=np.float64)
    X_eval = check_array(X_eval, "X_eval", ndim=2, dtype=np.float64)
    if len(X_thief) < 2:
        raise ValueError("the thief needs at least 2 patients to know the features' spread")
    counted = PredictionAPI(api)
    t0 = time.perf_counter()
    stolen = equation_solving_attack(counted, X_thief.mean(axis=0), X_thief.std(axis=0))
    seconds = time.perf_counter() - t0
    return ExtractionThrough(
        api=str(api_name), fidelity=fidelity(stolen.predict(X_eval), system.predict(X_eval),
                                             on=on or f"{len(X_eval)} inputs"),
        parameter_error=parameter_error(system, stolen.w, stolen.b), queries=counted.queries,
        seconds=seconds, w=stolen.w, b=stolen.b)


def half_models(X, y, keep, *, C: float = 1.0) -> HalfModels:
    """Lab 05's patient experiment: one course logistic model (``systems.DiagnosisModel(C)``)
    per row of ``keep`` (``privacy.random_halves``), trained on that half of ``(X, y)``.
    Returns every model's decision value on every patient (what the plaintext API answers, as
    a logit) and its raw-feature parameters (what its server uses under encryption).

    Introduced in lab 10 (Secure computation).
    """
    from ..extraction import victim_parameters
    from ..systems import DiagnosisModel

    X = check_array(X, "X", ndim=2, dtype=np.float64)
    y = np.asarray(y)
    keep = np.asarray(keep)
    if keep.dtype != bool or keep.ndim != 2 or keep.shape[1] != len(X) or len(y) != len(X):
        raise ValueError(f"keep must be (n_models, {len(X)}) booleans and y one label per row "
                         f"of X, got {keep.shape} ({keep.dtype}) and {y.shape}")
    C = check_number(C, "C", low=0.0, low_open=True)
    W, B, logits = [], [], []
    for row in keep:
        system = DiagnosisModel(C=C).fit(X[row], y[row])
        w, b = victim_parameters(system)
        W.append(w)
        B.append(b)
        logits.append(system.estimator.decision_function(X))
    return HalfModels(weights=np.array(W), biases=np.array(B), logits=np.array(logits),
                      keep=keep.copy())



def encrypted_scores_many(context, X, W, b) -> EncryptedBatch:
    """The linear scores of ``m`` models (rows of ``W``, biases ``b``) on the rows of ``X``, each
    computed by its own server on the same encrypted queries: the client encrypts ``X`` once,
    packed (one ciphertext per feature column and per ``slots`` rows); each server multiplies
    the ciphertexts by its plaintext weights and adds them; the client decrypts. Returns the
    ``(m, n)`` decrypted scores and the time of each stage.

    Introduced in lab 10 (Secure computation).
    """

    common.check_context(context, secret_key=True)
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    W = check_array(W, "W", ndim=2, dtype=np.float64)
    b = check_array(b, "b", ndim=1, dtype=np.float64)
    if W.shape[1] != X.shape[1] or len(b) != len(W) or not len(X) or not len(W):
        raise ValueError(f"W must be (m, {X.shape[1]}) and b (m,) with m >= 1, and X non-empty; "
                         f"got X {X.shape}, W {W.shape}, b {b.shape}")
    slots = common.slots(context)
    scores = np.empty((len(W), len(X)))
    encrypt = compute = decrypt = 0.0
    n_ct = 0
    for start in range(0, len(X), slots):
        block = X[start:start + slots]
        t0 = time.perf_counter()
        columns = common.encrypt_columns(context, block)
        encrypt += time.perf_counter() - t0
        n_ct += len(columns)
        for k in range(len(W)):
            t0 = time.perf_counter()
            acc = common.weighted_sum(columns, W[k], b[k])
            t1 = time.perf_counter()
            scores[k, start:start + len(block)] = acc.decrypt()[:len(block)]
            compute += t1 - t0
            decrypt += time.perf_counter() - t1
    return EncryptedBatch(scores=scores, encrypt_ms=1000 * encrypt, compute_ms=1000 * compute,
                          decrypt_ms=1000 * decrypt, n_ciphertexts=n_ct)


def lira_through(target_logits, shadow_logits, keep, y) -> np.ndarray:
    """Online LiRA (lab 05's ``privacy.lira_online_scores``) against each of ``m`` models in
    turn: the target's answers ``target_logits[k]`` (the logit of class 1 it answered, through
    whatever API) against the attacker's ``m - 1`` other models as shadows, whose logits
    ``shadow_logits`` the attacker computes itself in plaintext; ``keep`` says which patients
    each model trained on, ``y`` their labels (the confidence is the logit of the true class).
    Returns the ``(m, n)`` membership scores.

    Introduced in lab 10 (Secure computation).
    """
    from ..privacy import lira_online_scores

    t = check_array(target_logits, "target_logits", ndim=2, dtype=np.float64)
    s = check_array(shadow_logits, "shadow_logits", ndim=2, dtype=np.float64)
    keep = np.asarray(keep, dtype=bool)
    y = np.asarray(y)
    if s.shape != t.shape or keep.shape != t.shape or y.shape != (t.shape[1],):
        raise ValueError(f"target_logits, shadow_logits and keep must share one (models, "
                         f"patients) shape and y have one label per patient; got {t.shape}, "
                         f"{s.shape}, {keep.shape}, {y.shape}")
    if len(t) < 3:
        raise ValueError("LiRA against each model in turn needs at least 3 models")
    sign = np.where(y == 1, 1.0, -1.0)
    scores = np.empty_like(t)
    for k in range(len(t)):
        others = np.arange(len(t)) != k
        scores[k] = lira_online_scores(t[k] * sign, s[others] * sign, keep[others],
                                       global_variance=False)
    return scores


def membership_auc(scores, keep, *, api_name: str, queries: int, on: str = "", seed: int = 0
                   ) -> MembershipThrough:
    """The membership attack's ROC AUC on each target model (row of ``scores`` against the same
    row of ``keep``), averaged over targets with a percentile bootstrap interval over them
    (``stats.mean_interval``, ``seed``): the targets are the independent units (they share
    patients); also the AUC of all pairs pooled.

    Introduced in lab 10 (Secure computation).
    """
    from sklearn.metrics import roc_auc_score

    scores = check_array(scores, "scores", ndim=2, dtype=np.float64)
    keep = np.asarray(keep, dtype=bool)
    if keep.shape != scores.shape:
        raise ValueError(f"keep must be {scores.shape} booleans like scores, got {keep.shape}")
    if (keep.all(axis=1) | (~keep).all(axis=1)).any():
        raise ValueError("every target needs members and non-members for an AUC")
    per_target = np.array([roc_auc_score(k, s) for k, s in zip(keep, scores, strict=True)])
    on = on or f"{len(scores)} targets x {scores.shape[1]} candidates"
    return MembershipThrough(
        api=str(api_name), auc=mean_interval(per_target, on=on, seed=check_seed(seed)),
        pooled_auc=float(roc_auc_score(keep.ravel(), scores.ravel())),
        per_target_auc=per_target, queries=check_int(queries, "queries", 0))
