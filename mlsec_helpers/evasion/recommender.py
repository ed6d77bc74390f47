"""Recommender: adversarial perturbations of the factor embeddings, and adversarial
personalised ranking (APR, He et al., SIGIR 2018) as the defence, for ``systems.MFRecommender``.

ART has no recommender attacks; APR is a few lines on top of the torch factorisation, written
here. The attack is on the model's parameters (what poisoning or tampering could reach), so
these helpers are white box: they read ``system.model``.

Introduced in lab 02 (Evasion).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import repro, systems
from ..validate import (
    ArgumentTypeError,
    check_eps,
    check_fitted,
    check_int,
    check_ratings,
)
from .common import progress_bar
from .results import EmbeddingPerturbation

__all__ = ["apr_training", "embedding_attack", "perturbed_scores", "ranking_under_attack"]


def _mf_module(system):
    """The torch factorisation inside a fitted ``systems.MFRecommender``."""
    check_fitted(system)
    mf = getattr(system, "model", None)
    if mf is None or not all(hasattr(mf, a) for a in ("P", "Q", "bu", "bi", "mu")):
        raise ArgumentTypeError("system must be a fitted systems.MFRecommender (with .model "
                                f"holding P, Q, bu, bi, mu), got {type(system).__name__}")
    return mf


def _row_unit(g: torch.Tensor) -> torch.Tensor:
    n = g.norm(dim=1, keepdim=True)
    return torch.where(n > 0, g / n.clamp_min(1e-12), torch.zeros_like(g))


def _bpr_loss(mf, u, i, j, dP=None, dQ=None, reduction="mean", dbi=None):
    P, Q, bi = mf.P.weight, mf.Q.weight, mf.bi.weight[:, 0]
    if dP is not None:
        P, Q = P + dP, Q + dQ
    if dbi is not None:
        bi = bi + dbi[:, 0]
    diff = bi[i] - bi[j] + (P[u] * (Q[i] - Q[j])).sum(1)
    loss = -nn.functional.logsigmoid(diff)
    return loss.mean() if reduction == "mean" else loss.sum()


def embedding_attack(system, X, y, *, like_threshold: float = 4.0, include_bias: bool = False,
                     seed: int = 0) -> EmbeddingPerturbation:
    """The adversarial direction for the user (P) and item (Q) embeddings of an MF model.

    As in adversarial personalised ranking (He et al., 2018): the gradient of the pairwise
    ranking (BPR) loss over (user, liked training item, random item) triples, normalised per
    embedding row and scaled by that row's own norm, so ``P + eps * dP`` moves each user's
    vector by ``eps`` times its length in the direction that hurts the ranking most (to first
    order). ``system`` is a fitted ``systems.MFRecommender``, ``X`` its training (user, item)
    pairs and ``y`` their ratings (a rating >= ``like_threshold`` is a liked item). With
    ``include_bias`` the item biases move too: each item's vector and bias ``(Q_i, b_i)`` are
    normalised and scaled together, so the attack can also shift the popularity term that the
    embeddings alone cannot reach. Returns an :class:`EmbeddingPerturbation`.
    Introduced in lab 02 (Evasion).
    """
    mf = _mf_module(system)
    X, y = check_ratings(X, y, system.n_users, system.n_items, dtype=np.float32)
    liked = y >= like_threshold
    u = torch.as_tensor(X[liked, 0])
    i = torch.as_tensor(X[liked, 1])
    j = torch.randint(0, mf.Q.num_embeddings, (len(u),), generator=repro.torch_generator(seed))
    dP = torch.zeros_like(mf.P.weight, requires_grad=True)
    dQ = torch.zeros_like(mf.Q.weight, requires_grad=True)
    dbi = torch.zeros_like(mf.bi.weight, requires_grad=True)
    loss = _bpr_loss(mf, u, i, j, dP, dQ, reduction="sum", dbi=dbi)
    gP, gQ, gb = torch.autograd.grad(loss, [dP, dQ, dbi])
    with torch.no_grad():
        dP = _row_unit(gP) * mf.P.weight.norm(dim=1, keepdim=True)
        if not include_bias:
            return EmbeddingPerturbation(
                dP=dP, dQ=_row_unit(gQ) * mf.Q.weight.norm(dim=1, keepdim=True))
        item = torch.cat([mf.Q.weight, mf.bi.weight], dim=1)
        d_item = _row_unit(torch.cat([gQ, gb], dim=1)) * item.norm(dim=1, keepdim=True)
        return EmbeddingPerturbation(dP=dP, dQ=d_item[:, :-1].clone(),
                                     dbi=d_item[:, -1:].clone())


@torch.no_grad()
def perturbed_scores(system, direction: EmbeddingPerturbation, eps: float) -> np.ndarray:
    """Predicted ratings of every (user, item) with the embeddings of ``system`` moved by
    ``eps`` times ``direction`` (from :func:`embedding_attack`): shape (n_users, n_items).

    Introduced in lab 02 (Evasion).
    """
    mf = _mf_module(system)
    eps = check_eps(eps)
    if not isinstance(direction, EmbeddingPerturbation):
        raise ArgumentTypeError(f"direction must be the EmbeddingPerturbation of "
                                f"embedding_attack, got {type(direction).__name__}")
    dP, dQ = direction.dP, direction.dQ
    if dP.shape != mf.P.weight.shape or dQ.shape != mf.Q.weight.shape:
        raise ValueError("direction.dP and .dQ must have the shapes of the model's P and Q "
                         "embeddings")
    P = mf.P.weight + eps * dP
    Q = mf.Q.weight + eps * dQ
    bi = mf.bi.weight
    if direction.dbi is not None:
        if direction.dbi.shape != bi.shape:
            raise ValueError("direction.dbi must have the shape of the model's item biases")
        bi = bi + eps * direction.dbi
    return (mf.mu + mf.bu.weight + bi.T + P @ Q.T).cpu().numpy()


def ranking_under_attack(system, data, eps_values: Sequence[float], *, seed: int = 0,
                         k: int = 10, include_bias: bool = False) -> pd.DataFrame:
    """HR@k and NDCG@k of the recommender for each perturbation size in ``eps_values``.

    ``system`` is a fitted ``systems.MFRecommender`` and ``data`` the recommender dataset
    (``load_dataset("recommender")``); the attack direction comes from
    :func:`embedding_attack` on the model itself (white box; ``include_bias`` moves the item
    biases too). One row per eps, with the number of test users behind HR@k and NDCG@k.
    Introduced in lab 02 (Evasion).
    """
    eps_values = [check_eps(e) for e in eps_values]
    direction = embedding_attack(system, data.X_train, data.y_train, seed=seed,
                                 include_bias=bool(include_bias))
    rows = []
    for eps in eps_values:
        q = systems.ranking_metrics(perturbed_scores(system, direction, eps), data.X_train,
                                    data.X_test, data.y_test, k=k)
        rows.append({"eps": eps, f"hr@{k}": q[f"hr@{k}"], f"ndcg@{k}": q[f"ndcg@{k}"],
                     "users": q["users"]})
    return pd.DataFrame(rows)


def apr_training(system, X, y, *, eps: float = 0.3, reg_adv: float = 1.0,
                 epochs: int = 10, lr: float = 0.005, like_threshold: float = 4.0,
                 seed: int = 0, progress: bool | str = True):
    """Adversarial personalised ranking: fine-tune a copy of a fitted MF recommender.

    Each batch minimises the recommender's own loss (squared rating error plus its weight
    decay) plus ``reg_adv`` times the pairwise ranking (BPR) loss of the batch's liked pairs
    under the worst-case embedding perturbation of relative size ``eps``, found by one
    normalised gradient step (the fast-gradient inner step of He et al., 2018). With
    ``eps=0`` it is the same fine-tuning without an adversary (the control). ``X`` are the
    training (user, item) pairs and ``y`` their ratings. Returns the new recommender; the
    original ``system`` is left alone. Introduced in lab 02 (Evasion).
    """
    mf0 = _mf_module(system)
    eps = check_eps(eps)
    epochs = check_int(epochs, "epochs")
    X, y = check_ratings(X, y, system.n_users, system.n_items, dtype=np.float32)
    rec = copy.deepcopy(system)
    mf = rec.model
    mf.load_state_dict(mf0.state_dict())
    mf.train()
    u = torch.as_tensor(X[:, 0])
    i = torch.as_tensor(X[:, 1])
    r = torch.as_tensor(np.asarray(y, dtype=np.float32))
    gen = repro.torch_generator(seed)
    opt = torch.optim.Adam(mf.parameters(), lr=lr)
    n_items = mf.Q.num_embeddings
    bs = system.batch_size
    for _ in progress_bar(progress, "APR training", iterable=range(epochs)):
        perm = torch.randperm(len(u), generator=gen)
        for s in range(0, len(u), bs):
            idx = perm[s:s + bs]
            ub, ib, rb = u[idx], i[idx], r[idx]
            opt.zero_grad()
            err = nn.functional.mse_loss(mf(ub, ib), rb)
            reg = system.weight_decay * (
                mf.P(ub).pow(2).sum(1) + mf.Q(ib).pow(2).sum(1)).mean() + \
                system.bias_decay * (mf.bu(ub).pow(2).sum(1) + mf.bi(ib).pow(2).sum(1)).mean()
            like = rb >= like_threshold
            lu, li = ub[like], ib[like]
            lj = torch.randint(0, n_items, (len(lu),), generator=gen)
            Pu, Qi, Qj = mf.P(lu), mf.Q(li), mf.Q(lj)
            if eps > 0:
                d = [torch.zeros_like(t, requires_grad=True) for t in (Pu, Qi, Qj)]
                diff = (mf.bi(li)[:, 0] - mf.bi(lj)[:, 0]
                        + ((Pu.detach() + d[0]) * (Qi.detach() + d[1] - Qj.detach() - d[2])).sum(1))
                g = torch.autograd.grad(-nn.functional.logsigmoid(diff).sum(), d)
                Pu = Pu + eps * _row_unit(g[0]) * Pu.detach().norm(dim=1, keepdim=True)
                Qi = Qi + eps * _row_unit(g[1]) * Qi.detach().norm(dim=1, keepdim=True)
                Qj = Qj + eps * _row_unit(g[2]) * Qj.detach().norm(dim=1, keepdim=True)
            diff = mf.bi(li)[:, 0] - mf.bi(lj)[:, 0] + (Pu * (Qi - Qj)).sum(1)
            adv = -nn.functional.logsigmoid(diff).mean()
            (err + reg + reg_adv * adv).backward()
            opt.step()
    mf.eval()
    return rec
