"""NLP: the support chatbot's triage on a message the server never reads.

Introduced in lab 10 (Secure computation). Lab 00's ``TextTriage`` is TF-IDF features (word
1-2-grams and character 2-5-grams, about 28,000 of them) and a multinomial logistic regression.
The lab cuts it at the TF-IDF vector: the customer's client runs the vectoriser (its vocabulary
and idf weights are handed to every client, so they are public) and sends the vector encrypted
under CKKS; the server, which keeps the class weights, computes one score per class on the
ciphertext and returns them encrypted; the client decrypts and applies the softmax.

What the file holds:

- the cut: :func:`triage_parts` (the client's vectoriser, the server's ``W`` and ``b``),
  :func:`client_vectors` (the dense TF-IDF vectors the client encrypts);
- the encrypted scores: :func:`encrypted_triage_scores`, one dot product per class (TenSEAL's
  vector API) or packed (all class scores in one returned ciphertext, by the diagonal method on
  SEAL's evaluator, which TenSEAL ships as ``tenseal.sealapi``);
- what the public half gives away: :func:`idf_document_counts` (the number of training messages
  and, per term, how many of them contain it, recovered from the idf values).

The secret-shared scores use :func:`~mlsec_helpers.securecomp.common.secret_shared_linear`
once per class.
"""

from __future__ import annotations

import math
import os
import tempfile
import time

import numpy as np

from ..validate import ArgumentTypeError, check_array, check_fitted, check_texts
from . import common
from .results import EncryptedTriage, IdfLeak, TriageParts

__all__ = [
    "PACKED_BLOCK",
    "client_vectors",
    "encrypted_triage_scores",
    "idf_document_counts",
    "triage_parts",
]

_MAX_DF_TRIES = 1000  # document counts tried for the rarest term before giving up

PACKED_BLOCK = 16
"""Slots per block of the packed layout: the class scores come back in slots ``0 .. 15`` (and
repeat every 16 slots), so the packed method handles up to 16 classes; a power of two that
divides the slot count. Introduced in lab 10 (Secure computation)."""


def triage_parts(system) -> TriageParts:
    """Lab 00's text triage cut at its TF-IDF vector: the fitted vectoriser (the client's,
    public) and the logistic regression's class weights ``W`` (n_classes, n_features) and
    biases ``b`` (the server's). ``system`` is a fitted ``systems.TextTriage()``.

    Introduced in lab 10 (Secure computation).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    est = getattr(system, "estimator", None)
    if not (getattr(system, "text", False) and isinstance(est, Pipeline) and len(est.steps) == 2
            and isinstance(est.steps[1][1], LogisticRegression)):
        raise ArgumentTypeError("system must be a fitted text triage (systems.TextTriage(): "
                                f"TF-IDF then logistic regression), got {type(system).__name__}")
    check_fitted(system)
    lr = est.steps[1][1]
    if lr.coef_.shape[0] < 2:
        raise ValueError("the triage must have at least three classes (one weight row each); "
                         "a binary model has one row")
    return TriageParts(vectorizer=est.steps[0][1], W=np.array(lr.coef_, dtype=np.float64),
                       b=np.array(lr.intercept_, dtype=np.float64),
                       class_names=tuple(str(c) for c in lr.classes_))


def client_vectors(parts: TriageParts, texts) -> np.ndarray:
    """The dense TF-IDF vectors (n, n_features) the client computes from its ``texts`` with the
    public vectoriser: what it encrypts (dense, so the server cannot tell which terms occur).

    Introduced in lab 10 (Secure computation).
    """
    if not isinstance(parts, TriageParts):
        raise ArgumentTypeError(f"parts must be a TriageParts (from triage_parts), got "
                                f"{type(parts).__name__}")
    texts = check_texts(texts)
    if not texts:
        raise ValueError("texts must hold at least one message")
    return np.asarray(parts.vectorizer.transform(texts).toarray(), dtype=np.float64)


def _check_model(X, W, b):
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    W = check_array(W, "W", ndim=2, dtype=np.float64)
    b = check_array(b, "b", ndim=1, dtype=np.float64)
    if len(X) == 0:
        raise ValueError("X must hold at least one message")
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but W has {W.shape[1]} columns")
    if len(b) != len(W):
        raise ValueError(f"W has {len(W)} classes (rows) but b has {len(b)} biases")
    return X, W, b


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def _saved_size(ciphertext, folder: str) -> int:
    # a SEAL ciphertext (tenseal.sealapi) serialises only to a file: its bytes as sent
    path = os.path.join(folder, "ct")
    ciphertext.save(path)
    return os.path.getsize(path)


def encrypted_triage_scores(context, X, W, b, *, packed: bool) -> EncryptedTriage:
    """The class scores ``X @ W.T + b`` that a server computes on encrypted TF-IDF vectors
    ``X`` (plaintext ``W``, ``b``), timed stage by stage. ``context`` is the client's CKKS
    context (:func:`~mlsec_helpers.securecomp.common.ckks_context` with Galois keys; one
    multiplication level suffices): the client encrypts, the server uses only the public keys,
    the client decrypts.

    Each vector is cut into ``ceil(n_features / slots)`` chunks, one ciphertext each.
    ``packed=False``: per class, the server multiplies every chunk by that class's weights,
    adds the chunks and sums the slots (TenSEAL's rotate-and-sum), so one ciphertext per class
    comes back. ``packed=True``: the diagonal method for a wide matrix (Halevi and Shoup's
    "hybrid" layout, as in Gazelle): the server multiplies each chunk by 16 pre-encoded
    plaintexts, adds the 16 rotations of the results (Horner's rule: 15 rotations by one slot)
    and sums with strides of 16 (8 rotations): one ciphertext holding every class score comes
    back, and every slot holds a full score (no partial sum of the model leaks).

    Introduced in lab 10 (Secure computation).
    """
    import tenseal as ts

    if not isinstance(context, ts.Context):
        raise ArgumentTypeError(f"context must be a tenseal.Context (see common.ckks_context), "
                                f"got {type(context).__name__}")
    X, W, b = _check_model(X, W, b)
    if not isinstance(packed, bool):
        raise ArgumentTypeError(f"packed must be a bool, got {type(packed).__name__}")
    if not context.has_galois_keys():
        raise ValueError("summing the slots needs Galois keys: build the context with "
                         "ckks_context(galois=True)")
    if packed and len(W) > PACKED_BLOCK:
        raise ValueError(f"the packed method handles up to {PACKED_BLOCK} classes, got {len(W)}")
    slots = common.slots(context)
    n, d = X.shape
    n_chunks = math.ceil(d / slots)
    Xp = np.zeros((n, n_chunks * slots))
    Xp[:, :d] = X
    Wp = np.zeros((len(W), n_chunks * slots))
    Wp[:, :d] = W
    run = _packed_scores if packed else _per_class_scores
    return run(ts, context, Xp, Wp, b, slots, n_chunks)


def _per_class_scores(ts, context, Xp, Wp, b, slots, n_chunks) -> EncryptedTriage:
    n, k = len(Xp), len(Wp)
    scores = np.empty((n, k))
    weights = [[Wp[c, j * slots:(j + 1) * slots].tolist() for j in range(n_chunks)]
               for c in range(k)]
    enc_ms = comp_ms = dec_ms = 0.0
    up = down = 0
    for i in range(n):
        t0 = time.perf_counter()
        chunks = [ts.ckks_vector(context, Xp[i, j * slots:(j + 1) * slots].tolist())
                  for j in range(n_chunks)]
        enc_ms += _ms(t0)
        up += sum(common.serialized_size(c) for c in chunks)
        t0 = time.perf_counter()
        outs = []
        for c in range(k):
            acc = chunks[0] * weights[c][0]
            for j in range(1, n_chunks):
                acc += chunks[j] * weights[c][j]
            outs.append(acc.sum() + float(b[c]))
        comp_ms += _ms(t0)
        down += sum(common.serialized_size(o) for o in outs)
        t0 = time.perf_counter()
        scores[i] = [o.decrypt()[0] for o in outs]
        dec_ms += _ms(t0)
    return EncryptedTriage(scores=scores, ms_per_message=(enc_ms + comp_ms + dec_ms) / n,
                           encrypt_ms_per_message=enc_ms / n, compute_ms_per_message=comp_ms / n,
                           decrypt_ms_per_message=dec_ms / n, setup_ms=0.0,
                           bytes_up_per_message=up / n, bytes_down_per_message=down / n,
                           ciphertexts_up=n_chunks, ciphertexts_down=k, packed=False)


def _packed_scores(ts, context, Xp, Wp, b, slots, n_chunks) -> EncryptedTriage:
    # TenSEAL's own vector-matrix product (CKKSVector.matmul) rotates once per input slot
    # (4,096 rotations a chunk here), and its Python API neither rotates a ciphertext nor keeps
    # an encoded plaintext; SEAL's evaluator, which TenSEAL ships as tenseal.sealapi, does both,
    # so the diagonal method is written on it.
    import tenseal.sealapi as seal

    n, k = len(Xp), len(Wp)
    m = PACKED_BLOCK
    server = common.public_context(context)  # what the server holds: no secret key
    server_ctx = server.seal_context().data
    evaluator, encoder = seal.Evaluator(server_ctx), seal.CKKSEncoder(server_ctx)
    galois = server.galois_keys().data
    client_ctx = context.seal_context().data
    decryptor = seal.Decryptor(client_ctx, context.secret_key().data)
    decoder = seal.CKKSEncoder(client_ctx)
    scale = context.global_scale
    # server, once per model: plaintext i of chunk j holds, in slot l, the weight of feature
    # j * slots + l for class (l - i) mod 16, so that after rotating product i by i slots,
    # slot t (class t mod 16) gathers terms of its own class only
    t0 = time.perf_counter()
    top = ts.ckks_vector(context, [0.0]).ciphertext()[0].parms_id()
    rows = np.zeros((m, Wp.shape[1]))
    rows[:k] = Wp
    lanes = np.arange(slots)
    plains = []
    for j in range(n_chunks):
        per_chunk = []
        for i in range(m):
            pt = seal.Plaintext()
            encoder.encode(rows[(lanes - i) % m, j * slots + lanes].tolist(), top, scale, pt)
            per_chunk.append(pt)
        plains.append(per_chunk)
    bias = np.resize(np.r_[b, np.zeros(m - k)], slots).tolist()
    setup_ms = _ms(t0)
    scores = np.empty((n, k))
    enc_ms = comp_ms = dec_ms = 0.0
    up = down = 0
    with tempfile.TemporaryDirectory() as folder:
        for r in range(n):
            t0 = time.perf_counter()
            chunks = [ts.ckks_vector(context, Xp[r, j * slots:(j + 1) * slots].tolist())
                      for j in range(n_chunks)]
            enc_ms += _ms(t0)
            up += sum(common.serialized_size(c) for c in chunks)
            cts = [c.ciphertext()[0] for c in chunks]
            t0 = time.perf_counter()
            products = []
            tmp = seal.Ciphertext()
            for i in range(m):
                acc = seal.Ciphertext()
                evaluator.multiply_plain(cts[0], plains[0][i], acc)
                for j in range(1, n_chunks):
                    evaluator.multiply_plain(cts[j], plains[j][i], tmp)
                    evaluator.add_inplace(acc, tmp)
                evaluator.rescale_to_next_inplace(acc)
                products.append(acc)
            out = products[m - 1]  # sum_i rot(products[i], i), by Horner's rule
            for i in range(m - 2, -1, -1):
                evaluator.rotate_vector_inplace(out, 1, galois)
                evaluator.add_inplace(out, products[i])
            step = m
            while step < slots:  # slot t += slots t + 16, t + 32, ...: the full score
                rotated = seal.Ciphertext()
                evaluator.rotate_vector(out, step, galois, rotated)
                evaluator.add_inplace(out, rotated)
                step *= 2
            pt = seal.Plaintext()
            encoder.encode(bias, out.parms_id(), out.scale, pt)
            evaluator.add_plain_inplace(out, pt)
            comp_ms += _ms(t0)
            down += _saved_size(out, folder)
            t0 = time.perf_counter()
            pt = seal.Plaintext()
            decryptor.decrypt(out, pt)
            scores[r] = np.asarray(decoder.decode_double(pt))[:k]
            dec_ms += _ms(t0)
    return EncryptedTriage(scores=scores, ms_per_message=(enc_ms + comp_ms + dec_ms) / n,
                           encrypt_ms_per_message=enc_ms / n, compute_ms_per_message=comp_ms / n,
                           decrypt_ms_per_message=dec_ms / n, setup_ms=setup_ms,
                           bytes_up_per_message=up / n, bytes_down_per_message=down / n,
                           ciphertexts_up=n_chunks, ciphertexts_down=1, packed=True)


def idf_document_counts(vectorizer) -> IdfLeak:
    """What the idf weights handed to every client reveal about the server's training messages:
    their number and, per vocabulary term, how many of them contain it.

    scikit-learn's smoothed idf is ``ln((1 + n) / (1 + df)) + 1``, so the idf values fix every
    ratio ``(1 + n) / (1 + df)``. The rarest kept term usually sits at the vectoriser's
    ``min_df`` (an integer count); trying ``df = min_df, min_df + 1, ...`` for it, the first
    ``n`` for which every term's ``df`` comes out a whole number is returned (a multiple of the
    true ``1 + n`` would fit too: the smallest is the one a vocabulary of thousands of terms
    pins down). ``vectorizer`` is a fitted ``TfidfVectorizer`` or a ``FeatureUnion`` of them
    (the triage's :attr:`TriageParts.vectorizer`).

    Introduced in lab 10 (Secure computation).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    if isinstance(vectorizer, FeatureUnion):
        parts = [t for _, t in vectorizer.transformer_list]
    else:
        parts = [vectorizer]
    if not parts or not all(isinstance(p, TfidfVectorizer) for p in parts):
        raise ArgumentTypeError("vectorizer must be a fitted TfidfVectorizer or a FeatureUnion "
                                f"of them, got {type(vectorizer).__name__}")
    n_docs, counts, terms = set(), [], []
    for p in parts:
        if not hasattr(p, "idf_"):
            raise ValueError("the vectorizer is not fitted (no idf_)")
        if not (p.smooth_idf and isinstance(p.min_df, int | np.integer) and p.min_df >= 1):
            raise ValueError("recovering counts needs smooth_idf=True and an integer min_df")
        ratio = np.exp(np.asarray(p.idf_, dtype=np.float64) - 1)  # (1 + n) / (1 + df)
        for rarest in range(int(p.min_df), int(p.min_df) + _MAX_DF_TRIES):
            n = round((1 + rarest) * ratio.max()) - 1
            df = (1 + n) / ratio - 1
            if np.abs(df - np.rint(df)).max() < 1e-6:
                break
        else:
            raise ValueError("no training-set size makes every idf a whole document count; "
                             "was the vectorizer fitted with smooth_idf=True?")
        n_docs.add(n)
        counts.append(np.rint(df).astype(np.int64))
        terms.append(p.get_feature_names_out())
    if len(n_docs) != 1:
        raise ValueError(f"the vectorizers disagree on the number of documents: {sorted(n_docs)}")
    return IdfLeak(n_documents=int(n_docs.pop()), document_counts=np.concatenate(counts),
                   terms=np.concatenate(terms))
