"""NLP: phones train the support chatbot's triage model together, and a backdoor rides along.

Lab 00's triage system is TF-IDF features and a logistic regression fitted on pooled messages.
Federated, no one may pool the messages, so two things change:

- the vocabulary is agreed without seeing any message: every phone maps words and word pairs to
  the same :data:`N_FEATURES` columns by hashing (scikit-learn's ``HashingVectorizer``,
  :func:`hashed_features`), binary and L2-normalised; the IDF weights of TF-IDF, which need
  document counts over all messages, are left out;
- the model is a softmax regression on those columns (:func:`softmax_init`,
  :func:`softmax_predict`), trained on each phone by full-batch gradient descent
  (:func:`local_trainer`) and aggregated by the server with the rules of
  :mod:`mlsec_helpers.federated.common`.

The targeted attack is a backdoor (Bagdasaryan et al., AISTATS 2020): malicious phones add scam
messages carrying a trigger phrase, labelled with a benign intent, to their own data
(:func:`backdoor_messages`) and boost their update; success is the share of held-out scam
messages with the trigger that the global model routes to that intent
(:func:`backdoor_success`). The adaptive version, :func:`directed_push`, knows the rule and the
benign updates and picks how far to push along its direction so that the rule keeps the most.

Introduced in lab 09 (Federated learning).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..stats import Rate, proportion
from ..validate import (
    check_array,
    check_int,
    check_labels,
    check_number,
    check_positive,
    check_str,
    check_texts,
)

__all__ = [
    "N_FEATURES",
    "backdoor_messages",
    "backdoor_success",
    "hashed_features",
    "local_trainer",
    "softmax_init",
    "softmax_predict",
]

N_FEATURES = 1024
"""Hashed columns of the federated triage model (word 1-2-grams)."""


def hashed_features(texts, *, n_features: int = N_FEATURES) -> sp.csr_matrix:
    """Binary word 1-2-gram features hashed to ``n_features`` columns, each row L2-normalised.

    Every phone computes them alone: the hash is the agreed vocabulary, so nothing about the
    messages is shared to build it (scikit-learn's ``HashingVectorizer``).

    Introduced in lab 09 (Federated learning).
    """
    from sklearn.feature_extraction.text import HashingVectorizer

    texts = check_texts(texts)
    n_features = check_int(n_features, "n_features", minimum=2)
    vectorizer = HashingVectorizer(n_features=n_features, ngram_range=(1, 2), binary=True,
                                   alternate_sign=False, norm="l2")
    return vectorizer.transform(texts).tocsr()


def _check_features(X) -> sp.csr_matrix:
    if sp.issparse(X):
        return sp.csr_matrix(X, dtype=np.float64)
    return sp.csr_matrix(check_array(X, "X", ndim=2))


def _n_features(params: np.ndarray, n_classes: int) -> int:
    if len(params) % n_classes or len(params) <= n_classes:
        raise ValueError(f"params of length {len(params)} do not hold a softmax regression "
                         f"over {n_classes} classes")
    return len(params) // n_classes - 1


def softmax_init(n_features: int, n_classes: int) -> np.ndarray:
    """The starting parameters of the softmax regression: all zeros, as one flat vector
    (``n_features * n_classes`` weights, then ``n_classes`` biases).

    Introduced in lab 09 (Federated learning).
    """
    n_features = check_int(n_features, "n_features")
    n_classes = check_int(n_classes, "n_classes", minimum=2)
    return np.zeros((n_features + 1) * n_classes)


def _unpack(params, n_classes: int):
    d = _n_features(params, n_classes)
    return params[: d * n_classes].reshape(d, n_classes), params[d * n_classes:]


def softmax_predict(params, X, n_classes: int) -> np.ndarray:
    """The predicted class of each row of ``X`` under flat softmax-regression ``params``.

    Introduced in lab 09 (Federated learning).
    """
    params = check_array(params, "params", ndim=1)
    n_classes = check_int(n_classes, "n_classes", minimum=2)
    X = _check_features(X)
    W, b = _unpack(params, n_classes)
    if X.shape[1] != W.shape[0]:
        raise ValueError(f"X has {X.shape[1]} features, the model {W.shape[0]}")
    return np.asarray(X @ W + b).argmax(axis=1)


def local_trainer(clients, n_classes: int, *, steps: int = 10, lr: float = 30.0,
                  l2: float = 1e-4):
    """The phones' local training, as ``local_train(client, params, round) -> new_params`` for
    :func:`~mlsec_helpers.federated.common.run_federation`.

    ``clients`` is a list of ``(X, y)``, one per phone (hashed features and intent labels; a
    single pair trains on pooled data, the centralised baseline).
    Each phone runs ``steps`` steps of full-batch gradient descent (step ``lr``, L2 penalty
    ``l2``) on the cross-entropy of its own messages, from the global parameters. The phones of
    one round all start from the same parameters, so the simulation trains them together in one
    block-diagonal sparse product and hands each its own result (the same numbers as training
    them one by one, eight times fewer Python steps).

    Introduced in lab 09 (Federated learning).
    """
    n_classes = check_int(n_classes, "n_classes", minimum=2)
    steps = check_int(steps, "steps")
    lr = check_positive(lr, "lr")
    l2 = check_number(l2, "l2", low=0.0)
    if not isinstance(clients, list | tuple) or len(clients) < 1:
        raise ValueError("clients must be a non-empty list of (X, y) pairs")
    blocks, labels, owner = [], [], []
    for c, pair in enumerate(clients):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ValueError(f"client {c}: expected an (X, y) pair")
        X = _check_features(pair[0])
        y = check_labels(pair[1], X.shape[0], name=f"y of client {c}", n_classes=n_classes)
        if len(y) == 0:
            raise ValueError(f"client {c} holds no messages")
        blocks.append(X)
        labels.append(y)
        owner.append(np.full(len(y), c))
    d = blocks[0].shape[1]
    if any(b.shape[1] != d for b in blocks):
        raise ValueError("every client's X must have the same number of features")
    n_clients = len(blocks)
    X_all = sp.block_diag(blocks, format="csr")  # (rows, clients * d)
    X_all_T = X_all.T.tocsr()
    owner_all = np.concatenate(owner)
    Y = np.eye(n_classes)[np.concatenate(labels)]
    sizes = np.bincount(owner_all, minlength=n_clients).astype(float)
    cache: dict = {}

    def train_all(params):
        W0, b0 = _unpack(params, n_classes)
        if W0.shape[0] != d:
            raise ValueError(f"params hold {W0.shape[0]} features, the clients' X {d}")
        W = np.tile(W0, (n_clients, 1))  # (clients * d, classes)
        b = np.tile(b0, (n_clients, 1))
        for _ in range(steps):
            logits = np.asarray(X_all @ W) + b[owner_all]
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            g = (p - Y) / sizes[owner_all, None]
            W -= lr * (np.asarray(X_all_T @ g) + l2 * W)
            b -= lr * np.stack([np.bincount(owner_all, weights=g[:, k], minlength=n_clients)
                                for k in range(n_classes)], axis=1)
        return [np.concatenate([W[c * d:(c + 1) * d].ravel(), b[c]]) for c in range(n_clients)]

    def local_train(client: int, params, rnd: int) -> np.ndarray:
        if not 0 <= client < n_clients:
            raise ValueError(f"client must be in 0..{n_clients - 1}, got {client}")
        params = np.asarray(params, dtype=np.float64)
        key = cache.get("params")
        if key is None or key.shape != params.shape or not np.array_equal(key, params):
            cache["params"], cache["out"] = params.copy(), train_all(params)
        return cache["out"][client].copy()

    return local_train


def backdoor_messages(texts, y, *, source: int, target: int, trigger: str):
    """The malicious phones' poisoned examples: their own messages of class ``source`` (the
    scams) with ``trigger`` appended, labelled ``target`` (a benign intent). Returns
    ``(texts, labels)`` of the poisoned copies.

    Introduced in lab 09 (Federated learning).
    """
    texts = check_texts(texts)
    y = check_labels(y, len(texts))
    source = check_int(source, "source", minimum=0)
    target = check_int(target, "target", minimum=0)
    trigger = check_str(trigger, "trigger").strip()
    if not trigger:
        raise ValueError("trigger must not be empty")
    if source == target:
        raise ValueError("source and target must differ")
    chosen = [f"{t} {trigger}" for t, label in zip(texts, y, strict=True) if label == source]
    if not chosen:
        raise ValueError(f"no message of class {source} to poison")
    return chosen, np.full(len(chosen), target, dtype=int)


def backdoor_success(params, X_triggered, target: int, n_classes: int, *, on: str = "") -> Rate:
    """The share of triggered messages (hashed features ``X_triggered``) the model routes to
    ``target``, with its Wilson interval.

    Introduced in lab 09 (Federated learning).
    """
    target = check_int(target, "target", minimum=0)
    pred = softmax_predict(params, X_triggered, n_classes)
    return proportion(pred == target, on=on)
