"""Recommender: a viewer's top 10 computed on an encrypted or secret-shared user factor.

Introduced in lab 10 (Secure computation). Lab 00's matrix-factorisation recommender scores
item ``i`` for user ``u`` as ``mu + b_u + b_i + P_u . Q_i``. The viewer's device keeps its own
factor ``P_u`` and bias ``b_u`` secret; the server keeps the item factors ``Q`` and biases
``b_i``. The file holds:

- :func:`mf_parts`: the plaintext parts of a fitted recommender, and :func:`plain_user_scores`
  and :func:`top_k_lists` (the reference scores and each user's top ``k`` unseen items);
- :func:`recommender_he_context`: the CKKS context the device holds;
- :func:`encrypted_user_scores`: the device encrypts its factor, the server computes
  ``Q @ P_u + b_i + mu`` for every item on the ciphertext (packed: one ciphertext per factor
  dimension and items packed across the slots, no rotations; or one ciphertext per query with
  TenSEAL's vector-matrix product, which rotates), the device decrypts, adds ``b_u`` and takes
  its top 10;
- :func:`shared_user_scores`: the same scores among three parties holding additive shares of
  the factor, with public item factors (local, no interaction) or secret ones (Beaver triples).
"""

from __future__ import annotations

import time

import numpy as np

from ..validate import ArgumentTypeError, check_choice, check_fitted, check_int, check_seed
from . import common
from .results import EncryptedRecommendations, MFParts, SharedRecommendations

__all__ = [
    "HE_METHODS",
    "encrypted_user_scores",
    "mf_parts",
    "plain_user_scores",
    "recommender_he_context",
    "shared_user_scores",
    "top_k_lists",
]

HE_METHODS = ("packed", "one ciphertext")
"""How the device sends its factor: ``"packed"`` (one ciphertext per factor dimension, the
value repeated in every slot; the server multiplies each by a plaintext column of item factors,
so each returned ciphertext packs the scores of ``slots`` items, no rotation) or
``"one ciphertext"`` (the whole factor in one ciphertext; the server runs TenSEAL's
vector-matrix product ``mm``, which rotates). Introduced in lab 10 (Secure computation)."""


def mf_parts(system) -> MFParts:
    """The plaintext parts of a fitted :class:`~mlsec_helpers.systems.MFRecommender`: user
    factors and biases (each user's device holds its own row), item factors and biases and the
    global mean (the server's), and the items each user rated in training (the device knows
    its own and leaves them out of its recommendations).

    Introduced in lab 10 (Secure computation).
    """
    from ..systems import MFRecommender

    if not isinstance(system, MFRecommender):
        raise ArgumentTypeError(f"system must be an MFRecommender, got {type(system).__name__}")
    check_fitted(system, "the recommender")
    m = system.model

    def arr(t):
        return t.detach().cpu().numpy().astype(np.float64)

    return MFParts(P=arr(m.P.weight), b_user=arr(m.bu.weight)[:, 0], Q=arr(m.Q.weight),
                   b_item=arr(m.bi.weight)[:, 0], mu=float(m.mu),
                   seen={int(u): np.asarray(v) for u, v in system.seen_.items()})


def _check_parts(parts) -> MFParts:
    if not isinstance(parts, MFParts):
        raise ArgumentTypeError(f"parts must be MFParts (see mf_parts), got "
                                f"{type(parts).__name__}")
    return parts


def _check_users(users, n_users: int) -> np.ndarray:
    u = np.atleast_1d(np.asarray(users))
    if u.ndim != 1 or len(u) == 0 or not np.issubdtype(u.dtype, np.integer):
        raise ValueError("users must be a non-empty 1-D array of integer user indices")
    if u.min() < 0 or u.max() >= n_users:
        raise ValueError(f"users must be indices in 0..{n_users - 1}")
    return u.astype(np.int64)


def plain_user_scores(parts: MFParts, users) -> np.ndarray:
    """The plaintext score of every item for each of ``users`` (len(users), n_items), float64:
    ``mu + b_u + b_i + Q @ P_u`` (what the trusted server computes).

    Introduced in lab 10 (Secure computation).
    """
    parts = _check_parts(parts)
    u = _check_users(users, len(parts.P))
    return parts.mu + parts.b_user[u, None] + parts.b_item[None, :] + parts.P[u] @ parts.Q.T


def top_k_lists(scores, users, parts: MFParts, k: int = 10) -> np.ndarray:
    """Each user's top ``k`` items (len(users), k), best first, leaving out the items the user
    rated in training (as the device does with its own history). Ties break by item index.

    Introduced in lab 10 (Secure computation).
    """
    parts = _check_parts(parts)
    u = _check_users(users, len(parts.P))
    S = np.array(scores, dtype=np.float64)
    if S.shape != (len(u), len(parts.Q)):
        raise ValueError(f"scores must be (len(users), n_items) = ({len(u)}, {len(parts.Q)}), "
                         f"got {S.shape}")
    k = check_int(k, "k", minimum=1, maximum=len(parts.Q))
    for row, user in enumerate(u):
        S[row, parts.seen.get(int(user), [])] = -np.inf
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


def recommender_he_context(*, method: str = "packed"):
    """The device's CKKS context for :func:`encrypted_user_scores`: ring degree 8192 (4,096
    slots), modulus chain (60, 40, 60) (one level: a ciphertext-plaintext product), scale
    2^40; Galois keys only for ``"one ciphertext"`` (its vector-matrix product rotates).

    Introduced in lab 10 (Secure computation).
    """
    method = check_choice(method, HE_METHODS, "method")
    return common.ckks_context(poly_modulus_degree=8192, coeff_mod_bit_sizes=(60, 40, 60),
                               global_scale_bits=40, galois=method == "one ciphertext")


def encrypted_user_scores(context, parts: MFParts, users, *, method: str = "packed",
                          k: int = 10) -> EncryptedRecommendations:
    """Each user's scores of every item, computed by the server on the user's encrypted factor.

    The device (``context``, secret key inside) encrypts ``P_u`` and serialises it; the server
    loads it under :func:`common.public_context` (no secret key) and computes
    ``Q @ P_u + b_i + mu`` in chunks of ``slots`` items (``method``: see :data:`HE_METHODS`);
    the device loads the returned ciphertexts, decrypts, adds its ``b_u`` and takes its top
    ``k`` unseen items. Compared with :func:`plain_user_scores` and its top ``k``.

    Introduced in lab 10 (Secure computation).
    """
    import tenseal as ts

    parts = _check_parts(parts)
    u = _check_users(users, len(parts.P))
    method = check_choice(method, HE_METHODS, "method")
    if not isinstance(context, ts.Context):
        raise ArgumentTypeError(f"context must be a tenseal.Context (see recommender_he_context)"
                                f", got {type(context).__name__}")
    if method == "one ciphertext" and not context.has_galois_keys():
        raise ValueError("method 'one ciphertext' needs Galois keys: use "
                         "recommender_he_context(method='one ciphertext')")
    server = common.public_context(context)
    slots = common.slots(context)
    n_items, dim = parts.Q.shape
    chunks = []  # the server's plaintext columns / matrices and biases, per chunk of items
    for start in range(0, n_items, slots):
        Qc = np.zeros((slots, dim))
        bc = np.zeros(slots)
        size = min(slots, n_items - start)
        Qc[:size], bc[:size] = parts.Q[start:start + size], parts.b_item[start:start + size]
        bc[:size] += parts.mu
        if method == "packed":
            chunks.append(([Qc[:, j].tolist() for j in range(dim)], bc.tolist(), size))
        else:
            chunks.append((Qc[:size].T.tolist(), bc[:size].tolist(), size))
    scores = np.empty((len(u), n_items))
    stage = {"encrypt": 0.0, "compute": 0.0, "decrypt": 0.0}
    up = down = n_up = n_down = 0
    for row, user in enumerate(u):
        p = parts.P[user]
        t0 = time.perf_counter()
        if method == "packed":
            sent = [ts.ckks_vector(context, [float(v)] * slots).serialize() for v in p]
        else:
            sent = [ts.ckks_vector(context, p.tolist()).serialize()]
        t1 = time.perf_counter()
        received = [ts.ckks_vector_from(server, s) for s in sent]
        answers = []
        for cols, bias, _ in chunks:
            if method == "packed":
                acc = received[0] * cols[0]
                for j in range(1, dim):
                    acc += received[j] * cols[j]
            else:
                acc = received[0].mm(cols)
            answers.append((acc + bias).serialize())
        t2 = time.perf_counter()
        out = [np.asarray(ts.ckks_vector_from(context, a).decrypt())[:size]
               for a, (_, _, size) in zip(answers, chunks, strict=True)]
        scores[row] = np.concatenate(out) + parts.b_user[user]
        t3 = time.perf_counter()
        stage["encrypt"] += t1 - t0
        stage["compute"] += t2 - t1
        stage["decrypt"] += t3 - t2
        up += sum(len(s) for s in sent)
        down += sum(len(a) for a in answers)
        n_up += len(sent)
        n_down += len(answers)
    ms = {key: 1000.0 * v / len(u) for key, v in stage.items()}
    return EncryptedRecommendations(
        **_compare(parts, u, scores, k), method=method, ms_per_user=sum(ms.values()),
        encrypt_ms_per_user=ms["encrypt"], compute_ms_per_user=ms["compute"],
        decrypt_ms_per_user=ms["decrypt"], bytes_up_per_user=up / len(u),
        bytes_down_per_user=down / len(u), ciphertexts_up_per_user=n_up // len(u),
        ciphertexts_down_per_user=n_down // len(u), key_bytes=common.serialized_size(server))



def _compare(parts, u, scores, k) -> dict:
    plain = plain_user_scores(parts, u)
    top, top_plain = top_k_lists(scores, u, parts, k), top_k_lists(plain, u, parts, k)
    return {"users": u, "scores": scores, "plain_scores": plain,
            "max_abs_error": float(np.abs(scores - plain).max()), "top_k": top,
            "plain_top_k": top_plain, "same_top_k": (top == top_plain).all(axis=1)}


def shared_user_scores(parts: MFParts, users, *, secret_model: bool, seed: int,
                       n_parties: int = 3, k: int = 10) -> SharedRecommendations:
    """Each user's scores of every item among ``n_parties`` parties holding additive shares
    (:mod:`common`: Z_2^64, fixed point), the device's factor and bias always secret.

    ``secret_model=False``: the item factors and biases are public to the parties; the device
    shares ``P_u`` and ``mu + b_u``, each party computes ``Q @ share`` locally (party 0 adds
    ``b_i``), no message between parties. ``secret_model=True``: the server shares ``[Q, b_i]``
    too and the parties run :func:`common.secret_shared_linear` on ``[Q, b_i] @ [P_u, 1] +
    (mu + b_u)`` (a Beaver matrix triple: every party opens its shares of ``E`` and ``F``, one
    masked value per item factor and per factor dimension). The output shares go to the
    device, which reconstructs and takes its top ``k``.

    Introduced in lab 10 (Secure computation).
    """
    parts = _check_parts(parts)
    u = _check_users(users, len(parts.P))
    if not isinstance(secret_model, bool):
        raise ArgumentTypeError(f"secret_model must be a bool, got {type(secret_model).__name__}")
    seed = check_seed(seed)
    n_parties = check_int(n_parties, "n_parties", minimum=2)
    seeds = np.random.default_rng(seed).integers(0, 2 ** 31, size=len(u))
    n_items = len(parts.Q)
    X = np.column_stack([parts.Q, parts.b_item])  # the server's side, one row per item
    Q_ring = common.encode_fixed(parts.Q)
    b_item_ring = common.encode_fixed(parts.b_item, frac_bits=2 * common.FRAC_BITS)
    scores = np.empty((len(u), n_items))
    messages = sent = offline = opened = 0
    t0 = time.perf_counter()
    for row, user in enumerate(u):
        bias = parts.mu + parts.b_user[user]  # the device's: mu is public, b_u its own
        if secret_model:
            w = np.append(parts.P[user], 1.0)
            res = common.secret_shared_linear(X, w, bias, secret_weights=True,
                                              seed=int(seeds[row]), n_parties=n_parties)
            scores[row] = res.scores
            messages += res.messages
            sent += res.bytes_per_row * n_items
            offline += res.offline_bytes_per_row * n_items
            opened += res.opened_values
        else:
            x = common.share(np.append(parts.P[user], bias), n_parties, seed=int(seeds[row]))
            z = np.matmul(x[:, :-1], Q_ring.T, dtype=np.uint64)  # each party, locally
            # the bias share is at FRAC_BITS: lift it to the product's scale (exact in the ring)
            z += (x[:, -1] << np.uint64(common.FRAC_BITS))[:, None]
            z[0] += b_item_ring
            scores[row] = common.reconstruct(z, frac_bits=2 * common.FRAC_BITS)
            messages += 2 * n_parties  # shares to each party, output shares back
            sent += x.nbytes + z.nbytes
    ms = 1000.0 * (time.perf_counter() - t0) / len(u)
    n = len(u)
    return SharedRecommendations(
        **_compare(parts, u, scores, k), secret_model=secret_model, ms_per_user=ms,
        messages_per_user=messages / n, bytes_per_user=sent / n,
        offline_bytes_per_user=offline / n, opened_values_per_user=opened // n,
        n_parties=n_parties)
