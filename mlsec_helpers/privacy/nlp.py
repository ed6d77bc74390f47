"""NLP: a character-level language model of support messages, and its membership signal.

The message encoding, the LSTM language model (and its opacus ``DPLSTM`` twin), each message's
loss under it, the letter-frequency baseline, the members/non-members split of the support
corpus and loading the checkpointed models. The trainer is in
:mod:`mlsec_helpers.privacy.trainers`.

Introduced in lab 05 (Membership inference).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .. import checkpoints
from ..repro import rng, seeded
from ..validate import check_int, check_texts
from .common import unpack_state
from .results import MembershipSplit, PrivacySpent, TrainedCharLM

__all__ = [
    "CHARSET",
    "PAD",
    "VOCAB_SIZE",
    "CharLM",
    "char_lm_losses",
    "char_unigram_losses",
    "encode_messages",
    "load_char_lm",
    "sequence_losses",
    "support_membership_split",
]

CHARSET: str = "".join(chr(c) for c in range(32, 127))
"""The characters the language model knows (printable ASCII); others map to "unknown".

Introduced in lab 05 (Membership inference)."""
PAD: int = 0
"""The id of padding (after a message's end). Introduced in lab 05 (Membership inference)."""
_BOS, _EOS, _UNK = 1, 2, 3
_CHAR_INDEX = {c: i + 4 for i, c in enumerate(CHARSET)}
VOCAB_SIZE: int = len(CHARSET) + 4
"""Padding, begin, end and unknown, then :data:`CHARSET`. Introduced in lab 05 (Membership
inference)."""


def encode_messages(X, max_len: int = 160) -> torch.Tensor:
    """Encode messages as (n, L) character ids: begin, up to ``max_len`` characters, end, pad.

    Introduced in lab 05 (Membership inference).
    """
    X = check_texts(X, "X")
    if not X:
        raise ValueError("X must hold at least one message")
    max_len = check_int(max_len, "max_len")
    seqs = [[_BOS] + [_CHAR_INDEX.get(c, _UNK) for c in t[:max_len]] + [_EOS] for t in X]
    out = torch.full((len(seqs), max(map(len, seqs))), PAD, dtype=torch.long)
    for k, s in enumerate(seqs):
        out[k, :len(s)] = torch.tensor(s)
    return out


class CharLM(nn.Module):
    """A character-level LSTM language model: embedding, one LSTM layer, a linear read-out.

    ``dp=True`` builds the LSTM from opacus's ``DPLSTM`` (same maths and the same state-dict
    keys as ``nn.LSTM``, but opacus can compute its per-example gradients), so a model trained
    with DP-SGD loads into the fast ``nn.LSTM`` version for scoring. Its weights are drawn from
    torch's global generator: build it inside ``repro.seeded``.

    Introduced in lab 05 (Membership inference).
    """

    def __init__(self, hidden: int = 256, embed: int = 32, dp: bool = False):
        super().__init__()
        check_int(hidden, "hidden")
        check_int(embed, "embed")
        self.emb = nn.Embedding(VOCAB_SIZE, embed)
        if dp:
            from opacus.layers import DPLSTM

            self.rnn = DPLSTM(embed, hidden, batch_first=True)
        else:
            self.rnn = nn.LSTM(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, VOCAB_SIZE)

    def forward(self, x):
        return self.out(self.rnn(self.emb(x))[0])


def sequence_losses(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood per predicted character of each encoded sequence
    (nats/char), differentiable: the training loss of the language model.

    Introduced in lab 05 (Membership inference).
    """
    target = X[:, 1:]
    nll = nn.functional.cross_entropy(model(X[:, :-1]).transpose(1, 2), target,
                                      reduction="none", ignore_index=PAD)
    return nll.sum(1) / (target != PAD).sum(1).clamp(min=1)


@torch.no_grad()
def char_lm_losses(model: nn.Module, X, batch_size: int = 256, max_len: int = 160
                   ) -> np.ndarray:
    """Each message's loss under a character language model (mean nats per character).

    Members of the training set are less surprising to the model: lower loss. Messages are
    scored in batches of similar length (less padding, about twice as fast).

    Introduced in lab 05 (Membership inference).
    """
    model.eval()
    codes = encode_messages(X, max_len)
    lengths = (codes != PAD).sum(1)
    order = torch.argsort(lengths, stable=True)
    out = torch.empty(len(codes), dtype=torch.float64)
    for i in range(0, len(codes), batch_size):
        idx = order[i:i + batch_size]
        out[idx] = sequence_losses(model, codes[idx, : int(lengths[idx].max())]).double()
    return out.numpy()


def char_unigram_losses(X_train, X, max_len: int = 160) -> np.ndarray:
    """Each message of ``X``'s loss under letter frequencies alone (add-one smoothed, from
    ``X_train``): the baseline a language model must beat (mean nats per character).

    Introduced in lab 05 (Membership inference).
    """
    train = encode_messages(X_train, max_len)[:, 1:]
    counts = torch.bincount(train[train != PAD], minlength=VOCAB_SIZE).double() + 1
    log_p = torch.log(counts / counts.sum())
    codes = encode_messages(X, max_len)[:, 1:]
    nll = -log_p[codes] * (codes != PAD)
    return (nll.sum(1) / (codes != PAD).sum(1)).numpy()


def support_membership_split(n_messages: int, n_members: int, *, seed: int = 0
                             ) -> MembershipSplit:
    """Indices of the language model's members and of as many non-members (disjoint).

    Introduced in lab 05 (Membership inference).
    """
    n_messages = check_int(n_messages, "n_messages", 2)
    n_members = check_int(n_members, "n_members")
    if 2 * n_members > n_messages:
        raise ValueError(f"need 2 x n_members <= n_messages, got {n_members} and {n_messages}")
    perm = rng(seed).permutation(n_messages)
    return MembershipSplit(members=np.sort(perm[:n_members]),
                           non_members=np.sort(perm[n_members:2 * n_members]))


def load_char_lm(name: str) -> TrainedCharLM:
    """Load a language-model checkpoint of the table: the model and the privacy it spent.

    Introduced in lab 05 (Membership inference).
    """
    tensors = checkpoints.load(name)
    hidden = tensors["lm.out.weight"].shape[1]
    embed = tensors["lm.emb.weight"].shape[1]
    with seeded(0):  # the initial weights are overwritten; leave torch's generator alone
        model = unpack_state(tensors, "lm", CharLM(hidden, embed))
    spent = {k[3:]: float(v) for k, v in tensors.items() if k.startswith("dp.")}
    privacy = None
    if spent:
        privacy = PrivacySpent(noise_multiplier=spent["noise_multiplier"],
                               sample_rate=spent["sample_rate"], steps=int(spent["steps"]),
                               epsilon=spent["epsilon"], delta=spent["delta"])
    return TrainedCharLM(model=model, privacy=privacy)
