"""NLP (the support-chat triage with scam detection): its reference threat model and its
probe, a few word/character edits that make a detected scam pass as a legitimate intent
(black-box greedy search; evasion).

Introduced in lab 01 (Threat modelling).
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter

import numpy as np
import pandas as pd

from ..validate import check_choice, check_fitted, check_int, check_labels, check_texts
from .common import ACTORS, entry_points, flow_diagram, prefix_ids, reference_assets
from .model import ACCESS_LEVELS, Control, Flow, Threat, ThreatModel
from .results import ProbeResult

__all__ = ["FILLER_WORDS", "LOOKALIKES", "nlp_threat_model", "probe_nlp_edits"]


def nlp_threat_model() -> ThreatModel:
    """The reference threat model of the support-chat triage with scam detection:
    its data-flow diagram, controls and eight threats, IDs prefixed.

    Introduced in lab 01 (Threat modelling).
    """
    flow = flow_diagram({
        "source": ("chat, e-mail and SMS logs", "Messages customers (and scammers) send."),
        "labelling": ("agents tag intents", "Support agents tag each message's intent."),
        "training": ("TF-IDF + LR training", "Nightly retrain on the tagged messages."),
        "artefact": ("pipeline file", "The fitted vectoriser (with its vocabulary) and model."),
        "libs": ("PyPI, scikit-learn", "scikit-learn, numpy and their dependencies."),
        "users": ("customers and scammers", "Anyone can write to the chat."),
        "api": ("triage service", "Routes each message to a queue; flags scams."),
        "downstream": ("agent queues, scam block", "Agents answer; scams are blocked."),
    }, extra_flows=(Flow("users", "source", "messages logged"),),
        source_boundary="customer channels")
    controls = (
        Control("C1", "adversarial and typo augmentation in training", "PR", "SAIF-5", 2,
                cost=3, likelihood_reduction=1, atlas_mitigations=("AML.M0003",)),
        Control("C2", "link and sender checks outside the model", "DE", "SAIF-2", 13, cost=2,
                likelihood_reduction=1, impact_reduction=1, atlas_mitigations=("AML.M0015",)),
        Control("C3", "double tagging and tag audits", "ID", "SAIF-1", 3, cost=2,
                likelihood_reduction=1, atlas_mitigations=("AML.M0007",)),
        Control("C4", "PII redaction before training, DP training", "PR", "SAIF-1", 5, cost=3,
                likelihood_reduction=1, impact_reduction=1, atlas_mitigations=("AML.M0002",)),
        Control("C5", "rate limits, authentication, coarse outputs", "PR", "SAIF-1", 12,
                cost=2, likelihood_reduction=1, atlas_mitigations=("AML.M0004", "AML.M0002")),
        Control("C6", "pinned, scanned dependencies; no pickles from outside", "PR", "SAIF-4",
                11, cost=1, likelihood_reduction=2,
                atlas_mitigations=("AML.M0011", "AML.M0016")),
        Control("C7", "error analysis by language and typing style", "GV", "SAIF-6", 7, cost=1,
                likelihood_reduction=1),
    )
    threats = (
        Threat("T1", "scammer rewords a message so it is routed as a legitimate intent",
               "evasion", "X1", ("A4",), "E5",
               ("AML.T0043.001", "AML.T0015"), ("ML01",), 4, 4, ("C1", "C2"),
               "Anyone can write to the chat and see how it is answered."),
        Threat("T2", "agent tags scams as legitimate so the model learns to let them pass",
               "poisoning", "X2", ("A2", "A1"), "E2", ("AML.T0020",), ("ML02",), 2, 4,
               ("C3",), "Needs an insider; tags are rarely double-checked."),
        Threat("T3", "competitor copies the triage model through its answers", "theft", "X4",
               ("A3",), "E5", ("AML.T0024.002",), ("ML05",), 3, 2, ("C5",),
               "Text models are easy to imitate from labelled queries."),
        Threat("T4", "model reveals that a customer's complaint was in the training set",
               "membership_inference", "X4", ("A5", "A1"), "E5", ("AML.T0024.000",),
               ("ML04",), 2, 3, ("C4", "C5"), "Chats carry names and card numbers."),
        Threat("T5", "vocabulary of the shipped vectoriser leaks card-number fragments",
               "inversion", "X2", ("A5", "A3"), "E4", ("AML.T0024.001", "AML.T0044"),
               ("ML03",), 3, 4, ("C4",), "Character n-grams of PII end up in the vocabulary."),
        Threat("T6", "messages with typos or non-native English are misrouted more often",
               "bias", None, ("A4",), "E6", ("AML.T0048.003",), (), 3, 3, ("C7",),
               "The corpus has typos; error rates per group are unknown."),
        Threat("T7", "malicious package or pickled pipeline runs code on the chat servers",
               "supply_chain", "X3", ("A6", "A5"), "E3", ("AML.T0010.001", "AML.T0011.000"),
               ("ML06",), 2, 5, ("C6",), "sklearn pipelines are pickles."),
        Threat("T8", "flood of chaff messages clogs the queues and skews the nightly retrain",
               "api_abuse", "X4", ("A7", "A1"), "E5", ("AML.T0046", "AML.T0029"), ("ML08",),
               3, 3, ("C5", "C3"), "Chat is open to everyone; logs feed training."),
    )
    return prefix_ids("NLP", ThreatModel(
        "nlp", "support-chat triage with scam detection",
        "TF-IDF + logistic regression routes support messages and flags scams.",
        reference_assets("customers' messages (names, card numbers, phones)", "support messages",
                "intent tags", "routing decisions and scam flags"),
        ACTORS["nlp"],
        entry_points("public", "public", {"E1": "messages logged for training",
                                           "E2": "agents' tags", "E5": "chat triage API"}),
        controls, threats, flow, applied=("C2",),
    ))

#: Look-alike characters a scammer swaps in (one per edit).
LOOKALIKES = {"o": "0", "i": "1", "e": "3", "a": "@", "s": "5"}
#: Everyday words a scammer may add (written by hand, not taken from the training data).
FILLER_WORDS = ("my", "i", "me", "it", "is", "got", "this", "real", "help", "please", "thanks",
                "hello", "regards", "best wishes", "?")
# Tokens that carry the scam's payload (links, addresses, numbers) are never edited.
_PAYLOAD = re.compile(r"(https?://|www\.|\.example|@|\d{3,}|\.[a-z]{2,}/)")


def _edits(text: str) -> list[str]:
    """Every message one edit away: delete a word, swap in a look-alike, add a word."""
    toks = text.split(" ")
    out = []
    for k, tok in enumerate(toks):
        if _PAYLOAD.search(tok):
            continue
        out.append(" ".join(toks[:k] + toks[k + 1:]))
        for j, ch in enumerate(tok.lower()):
            if ch in LOOKALIKES and len(tok) >= 3:
                out.append(" ".join(toks[:k] + [tok[:j] + LOOKALIKES[ch] + tok[j + 1:]]
                                    + toks[k + 1:]))
                break
    for word in FILLER_WORDS:
        out.append(f"{word} {text}")
        out.append(f"{text} {word}")
    return out


def _keeps_payload(original: str, edited: str) -> bool:
    """Whether every payload token of ``original`` is still in ``edited``, unchanged."""
    need = Counter(t for t in original.split(" ") if _PAYLOAD.search(t))
    have = Counter(edited.split(" "))
    return all(have[t] >= k for t, k in need.items())


def probe_nlp_edits(system, X, y, scam_index: int, n: int = 40, max_edits: int = 10,
                    access: str = "public", threat_id: str = "NLP-T1") -> ProbeResult:
    """Greedy black-box edits on the first ``n`` scams the model detects: the share that no
    longer reads as a scam after at most ``max_edits`` edits.

    One edit deletes a word, swaps one letter of a word for a look-alike (o->0, i->1, ...) or
    adds one everyday word (:data:`FILLER_WORDS`) at the start or the end; links, e-mail
    addresses and numbers are never touched, so the scam still works. At each step every
    one-edit variant is scored (one batch of queries to ``predict_proba``) and the one with the
    lowest scam probability is kept; the search stops as soon as a variant is classified as
    another label. ``system`` is a fitted :class:`mlsec_helpers.systems.TextTriage`, ``X`` the
    messages and ``y`` their labels. Written by hand: ART's evasion attacks work on numeric
    arrays, not on text.

    Introduced in lab 01 (Threat modelling).
    """
    check_fitted(system)
    n = check_int(n, "n")
    max_edits = check_int(max_edits, "max_edits")
    check_choice(access, ACCESS_LEVELS, "access")
    X = np.asarray(check_texts(X, "X"), dtype=object)
    y = check_labels(y, len(X))
    scam_index = check_int(scam_index, "scam_index", minimum=0)
    start = time.perf_counter()
    detected = np.flatnonzero((y == scam_index) & (system.predict(X) == scam_index))[:n]
    if len(detected) == 0:
        raise ValueError("the model detects none of these scams; nothing to evade")
    queries, needed, rows = 0, [], []
    for i in detected:
        text, used = X[i], None
        for step in range(1, max_edits + 1):
            variants = _edits(text)
            proba = system.predict_proba(np.array(variants, dtype=object))
            queries += len(variants)
            passed = np.flatnonzero(proba.argmax(1) != scam_index)
            if len(passed):
                best = passed[np.argmin(proba[passed, scam_index])]
                text, used = variants[best], step
                break
            text = variants[int(np.argmin(proba[:, scam_index]))]
        needed.append(used)
        if used is not None:
            assert _keeps_payload(X[i], text), "a payload token was edited"
            if len(rows) < 4:
                label = int(system.predict(np.array([text], dtype=object))[0])
                rows.append({"scam message": X[i], "after edits": text, "edits": used,
                             "now read as": label})
    seconds = time.perf_counter() - start
    ok = np.array([k is not None for k in needed])
    used = np.array([k for k in needed if k is not None])
    curve = {k: float(np.mean([u is not None and u <= k for u in needed]))
             for k in range(1, max_edits + 1)}
    return ProbeResult(
        domain="nlp", threat_id=threat_id, category="evasion", technique="AML.T0043.001",
        question=f"Do at most {max_edits} small edits make a detected scam pass?",
        metric=f"detected scams no longer flagged after <= {max_edits} edits",
        success_rate=float(ok.mean()), threshold=0.3, n_targets=len(detected), queries=queries,
        access=access, white_box=False, seconds=seconds, targets="detected test scams",
        details={"median edits (successes)": float(np.median(used)) if len(used) else math.nan,
                 "success within k edits": curve,
                 "queries per scam": queries / len(detected)},
        examples=pd.DataFrame(rows),
    )
