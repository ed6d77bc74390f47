"""NLP: a week of the chatbot's triage, a product launch (drift) and a scam campaign (attack).

The support desk's triage (lab 00's TF-IDF + logistic regression) reads a week of messages from
the project's seeded generator (:func:`message_traffic`). Two things happen in it:

* ordinary drift (:func:`launch_messages`): on a product-launch day, customers ask about the new
  *LarkPay* wallet and the metal card: new words, and a different mix of intents;
* an attack (:func:`scam_campaign`): a new scam campaign whose messages were crafted with lab 02's
  black-box attack (typos, leetspeak, synonyms, homoglyphs) until the triage no longer calls them
  scams.

Every message is scored once (:class:`TextMonitors`, :meth:`TextMonitors.features`); a week
is then assembled from the scored messages (:func:`assemble_text_week`), so that the adaptive
attacker can try many paces cheaply. The monitors (:func:`text_monitors`) watch the inputs
(out-of-vocabulary rate, an SVD embedding of the TF-IDF features), the predictions (the intent
mix, low-confidence answers) and one signal specific to character-level evasion: *obfuscated
near misses*, messages the triage lets through although it gives them a high scam probability,
full of words the vectoriser never saw. The adaptive campaign (:func:`pace_campaign`) sends, hour
by hour, as many trace-free scams as the thresholds let through; :func:`visible_hours` says how
long an incident stays in the monitors' windows.

Introduced in lab 13 (Monitoring and response).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..nlp_corpus import LABELS, SCAM_LABEL, generate_support_corpus
from ..validate import (
    ArgumentTypeError,
    check_fitted,
    check_fraction,
    check_frame,
    check_int,
    check_number,
    check_seed,
    check_texts,
)
from .common import (
    HOURS,
    Incident,
    Monitor,
    Week,
    Window,
    hourly_counts,
    multivariate_drift,
    psi_shares,
    window_meta,
)

__all__ = [
    "DAILY_PROFILE",
    "LAUNCH_TEMPLATES",
    "SCAM_INDEX",
    "TEXT_FEATURE_COLUMNS",
    "assemble_text_week",
    "launch_messages",
    "message_traffic",
    "near_miss_mask",
    "pace_campaign",
    "place_messages",
    "scam_campaign",
    "scams_passed",
    "text_monitors",
    "TextMonitors",
    "visible_hours",
]

SCAM_INDEX: int = LABELS.index(SCAM_LABEL)
"""The scam class's index among the triage's classes (``LABELS``).

Introduced in lab 13 (Monitoring and response)."""

DAILY_PROFILE: tuple[float, ...] = (
    0.25, 0.2, 0.15, 0.15, 0.2, 0.3, 0.5, 0.8, 1.2, 1.5, 1.6, 1.6,
    1.5, 1.5, 1.5, 1.4, 1.4, 1.4, 1.3, 1.2, 1.1, 0.9, 0.6, 0.4,
)
"""Relative traffic of each hour of the day (00:00 to 23:00): quiet nights, busy office hours.
Scaled so that its mean is 1 where it is used (:func:`message_traffic`).

Introduced in lab 13 (Monitoring and response)."""

_DEVICES = ("my watch", "my iPhone", "my Android phone", "my Pixel", "my tablet",
            "my Galaxy watch")
_MERCHANTS = ("Tesco", "Pret", "the cinema", "a petrol station", "Boots", "a coffee shop")
_OPENERS = ("", "", "Hi,", "Hello,", "Quick question:", "Morning,", "Hi there,", "Help please,")
_CLOSERS = ("", "", "Thanks", "Cheers", "Thanks in advance.", "ty", "Many thanks")

LAUNCH_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("account_access", "How do I add my card to LarkPay on {device}?"),
    ("account_access", "LarkPay says my card is not eligible, why?"),
    ("account_access", "I can't sign in to LarkPay since the update on {device}."),
    ("account_access", "The LarkPay wallet keeps asking me for a passcode I never set."),
    ("account_access", "Is LarkPay available on {device} yet?"),
    ("account_access", "LarkPay won't let me set up tap to pay on {device}."),
    ("account_access", "How do I switch on LarkPay notifications on {device}?"),
    ("delivery_status", "When will the new metal card arrive? I ordered it at the launch."),
    ("delivery_status", "I signed up for the metal card on launch day, has it been posted?"),
    ("delivery_status", "Where is my LarkPay welcome pack with the metal card?"),
    ("delivery_status", "The metal card still hasn't come, the launch email said three days."),
    ("payment_dispute", "A tap to pay purchase of {amount} at {merchant} with LarkPay "
                        "went through twice."),
    ("payment_dispute", "LarkPay took {amount} at {merchant} but the till said it "
                        "failed."),
    ("refund_request", "I was charged {amount} for the metal card, the launch offer said it "
                       "was free, can I have it back?"),
    ("loan_inquiry", "Can I spread a LarkPay purchase of {amount} over three months?"),
)
"""The product-launch messages (ordinary drift): ``(true intent, template)`` pairs about the new
*LarkPay* wallet and the metal card, with ``{device}``, ``{amount}`` and ``{merchant}``
slots. Their vocabulary (wallet, tap to pay, metal, launch, ...) is new to the triage.

Introduced in lab 13 (Monitoring and response)."""

TEXT_FEATURE_COLUMNS: tuple[str, ...] = ("predicted", "p_scam", "confidence", "n_tokens", "n_oov",
                                    "n_words")
"""The per-message columns of :meth:`TextMonitors.features` (followed by ``emb_0``,
``emb_1``, ... for the embedding): predicted class index, scam probability, top probability,
word tokens, tokens outside the vectoriser's vocabulary, words (split on spaces).

Introduced in lab 13 (Monitoring and response)."""


# --- traffic ------------------------------------------------------------------------------------


def _hourly_counts(per_hour: float, gen: np.random.Generator, hours: np.ndarray) -> np.ndarray:
    profile = np.asarray(DAILY_PROFILE)
    profile = profile / profile.mean()
    return gen.poisson(per_hour * profile[np.asarray(hours) % 24])


def message_traffic(per_hour: float = 35.0, *, seed: int = 0, warm_up: int = 6) -> pd.DataFrame:
    """A week of ordinary customer traffic: messages from lab 00's seeded generator, each with
    the hour (0-167) it arrives, after ``warm_up`` hours of traffic before the week (negative
    hours: the quiet hours at the start of the week pool them, as they would in production).

    Arrivals per hour are Poisson with mean ``per_hour`` times :data:`DAILY_PROFILE` (busy days,
    quiet nights); the messages are a fresh corpus (``generate_support_corpus`` with seed
    ``10_000 + seed``, so none is in the triage's training data), in the generator's order; it
    keeps the generator's share of scams (17 %), the everyday scams the triage is trained on.
    Returns a DataFrame with ``hour``, ``text``, ``label`` (a name of ``LABELS``), ``source``
    (``"customer"``) and ``is_attack`` (False).

    Introduced in lab 13 (Monitoring and response).
    """
    per_hour = check_number(per_hour, "per_hour", low=1.0)
    seed = check_seed(seed)
    warm_up = check_int(warm_up, "warm_up", minimum=0)
    gen = np.random.default_rng([seed, 13, 1])
    hours = np.arange(-warm_up, HOURS)
    counts = _hourly_counts(per_hour, gen, hours)
    n = int(counts.sum())
    corpus = generate_support_corpus(max(100, n), seed=10_000 + seed).iloc[:n]
    return pd.DataFrame({
        "hour": np.repeat(hours, counts),
        "text": corpus["text"].to_numpy(dtype=object),
        "label": corpus["label"].to_numpy(dtype=object),
        "source": "customer",
        "is_attack": False,
    })


def launch_messages(n: int, *, seed: int = 0, typo_fraction: float = 0.05) -> pd.DataFrame:
    """``n`` product-launch messages (ordinary drift): :data:`LAUNCH_TEMPLATES` filled in, with
    lab 02's character typos on ``typo_fraction`` of the words (customers type fast) and a
    quarter of them lower-cased, as the generator does.

    Returns a DataFrame with ``text``, ``label`` (the true intent), ``source`` (``"launch"``)
    and ``is_attack`` (False).

    Introduced in lab 13 (Monitoring and response).
    """
    from ..evasion.nlp import perturb_text

    n = check_int(n, "n", minimum=0)
    seed = check_seed(seed)
    typo_fraction = check_fraction(typo_fraction, "typo_fraction")
    gen = np.random.default_rng([seed, 13, 2])
    texts, labels = [], []
    for k in range(n):
        label, template = LAUNCH_TEMPLATES[int(gen.integers(len(LAUNCH_TEMPLATES)))]
        text = template.format(
            device=_DEVICES[int(gen.integers(len(_DEVICES)))],
            amount=f"{int(gen.integers(3, 90))}.{int(gen.integers(100)):02d} pounds",
            merchant=_MERCHANTS[int(gen.integers(len(_MERCHANTS)))])
        opener = _OPENERS[int(gen.integers(len(_OPENERS)))]
        closer = _CLOSERS[int(gen.integers(len(_CLOSERS)))]
        text = " ".join(p for p in (opener, text, closer) if p)
        if typo_fraction > 0:
            text = perturb_text(text, "typo", typo_fraction, seed=int(gen.integers(2**31)) + k)
        if gen.random() < 0.25:
            text = text.lower()
        texts.append(text)
        labels.append(label)
    return pd.DataFrame({"text": np.array(texts, dtype=object),
                         "label": np.array(labels, dtype=object),
                         "source": "launch", "is_attack": False})


def scam_campaign(system, n: int, *, seed: int = 0,
                  attacks: Sequence[str] = ("typo", "synonym", "leetspeak", "homoglyph"),
                  query_budget: int = 200) -> pd.DataFrame:
    """A new scam campaign crafted to evade the triage: ``n`` fresh scams from the generator
    (seed ``20_000 + seed``, so the triage never saw them), each rewritten with lab 02's
    black-box ``greedy_text_attack`` (the fraudster queries the public chatbot, at most
    ``query_budget`` times a message) until it is no longer called a scam.

    ``system`` is the fitted triage (a course text system). Returns a DataFrame with ``text``
    (the crafted message), ``original``, ``label`` (``"scam"``), ``source`` (``"campaign"``),
    ``is_attack`` (True), ``evaded`` (the triage lets it through) and ``queries``.

    Introduced in lab 13 (Monitoring and response).
    """
    from ..evasion.nlp import greedy_text_attack

    check_fitted(system, "system")
    n = check_int(n, "n", minimum=1)
    seed = check_seed(seed)
    query_budget = check_int(query_budget, "query_budget")
    size = max(200, int(np.ceil(n / 0.17 * 1.1)) + 20)
    corpus = generate_support_corpus(size, seed=20_000 + seed)
    scams = corpus.loc[corpus["label"] == SCAM_LABEL, "text"].tolist()[:n]
    if len(scams) < n:  # pragma: no cover - the generator's scam share makes this unreachable
        raise RuntimeError(f"the generator gave {len(scams)} scams, {n} were asked for")
    result = greedy_text_attack(system, scams, SCAM_INDEX, attacks=tuple(attacks),
                                query_budget=query_budget, seed=seed, progress=False)
    return pd.DataFrame({
        "text": np.asarray(result.adversarial, dtype=object),
        "original": np.asarray(result.original, dtype=object),
        "label": SCAM_LABEL, "source": "campaign", "is_attack": True,
        "evaded": np.asarray(result.evaded, dtype=bool),
        "queries": np.asarray(result.queries, dtype=np.int64),
    })


def place_messages(messages: pd.DataFrame, hours: Sequence[int] | range,
                   per_hour: int | Sequence[int], *, source: str | None = None,
                   cycle: bool = False) -> pd.DataFrame:
    """Give ``messages`` arrival hours: ``per_hour`` of them (one number, or one per hour) in
    each of ``hours``, in the frame's order; the rows left over are dropped. With ``cycle``
    the rows are reused in turn when more are needed (a campaign sends the same text to many
    customers). ``source`` renames their ``source`` column (e.g. ``"burst"``, ``"paced"``).
    Returns the placed rows with an ``hour`` column.

    Introduced in lab 13 (Monitoring and response).
    """
    check_frame(messages, ["text"], "messages")
    hours, counts = hourly_counts(hours, per_hour)
    need = int(sum(counts))
    if need > len(messages) and not (cycle and len(messages)):
        raise ValueError(f"placing {need} messages needs that many rows, messages has "
                         f"{len(messages)} (or pass cycle=True to reuse them)")
    out = messages.iloc[np.arange(need) % max(1, len(messages))].copy()
    out["hour"] = np.repeat(np.asarray(hours, dtype=np.int64), counts)
    if source is not None:
        out["source"] = source
    return out.reset_index(drop=True)


# --- scoring and monitors -----------------------------------------------------------------------


def _word_vectoriser(system):
    """The word TF-IDF vectoriser inside a course text system (words-only or words + chars)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, Pipeline

    est = getattr(system, "estimator", None)
    steps = est.steps if isinstance(est, Pipeline) else []
    for _, step in steps:
        parts = [p for _, p in step.transformer_list] if isinstance(step, FeatureUnion) else [
            step]
        for part in parts:
            if isinstance(part, TfidfVectorizer) and part.analyzer == "word":
                return part
    raise ArgumentTypeError("system must be a course text system (systems.TextTriage()) whose "
                            "pipeline has a word TF-IDF vectoriser")


@dataclass(frozen=True)
class TextMonitors:
    """What the NLP monitors compare each hour with: the triage, its word vocabulary, an SVD of
    its word TF-IDF features fitted on the reference (training) messages, and the reference's
    per-message features (:meth:`features` of the training messages).

    Build it with :meth:`fit`. ``near_miss``: the scam probability from which a message the
    triage lets through counts as a near miss (:func:`text_monitors`).

    Introduced in lab 13 (Monitoring and response).
    """

    system: object
    vocabulary: frozenset
    svd: object
    reference: pd.DataFrame
    near_miss: float

    @classmethod
    def fit(cls, system, reference_texts, *, n_components: int = 8, near_miss: float = 0.2,
            seed: int = 0) -> TextMonitors:
        """Fit the monitors' reference on ``reference_texts`` (the triage's training messages).

        Introduced in lab 13 (Monitoring and response).
        """
        from sklearn.decomposition import TruncatedSVD

        check_fitted(system, "system")
        texts = check_texts(reference_texts, "reference_texts")
        if len(texts) < 20:
            raise ValueError(f"reference_texts needs at least 20 messages, got {len(texts)}")
        n_components = check_int(n_components, "n_components", minimum=1)
        near_miss = check_number(near_miss, "near_miss", low=0.0, high=1.0, low_open=True,
                                 high_open=True)
        vec = _word_vectoriser(system)
        vocab = frozenset(t for t in vec.vocabulary_ if " " not in t)
        svd = TruncatedSVD(n_components, random_state=check_seed(seed)).fit(vec.transform(texts))
        partial = cls(system, vocab, svd, pd.DataFrame(), near_miss)
        return cls(system, vocab, svd, partial.features(texts), near_miss)

    def features(self, texts) -> pd.DataFrame:
        """One row per message: :data:`TEXT_FEATURE_COLUMNS` and the embedding ``emb_0``, ...

        Introduced in lab 13 (Monitoring and response).
        """
        texts = check_texts(texts, "texts")
        if not texts:
            raise ValueError("texts is empty")
        vec = _word_vectoriser(self.system)
        tokenize = vec.build_tokenizer()
        proba = self.system.predict_proba(texts)
        tokens = [tokenize(t.lower()) for t in texts]
        frame = pd.DataFrame({
            "predicted": proba.argmax(1).astype(np.int64),
            "p_scam": proba[:, SCAM_INDEX],
            "confidence": proba.max(1),
            "n_tokens": np.array([len(t) for t in tokens], dtype=np.int64),
            "n_oov": np.array([sum(w not in self.vocabulary for w in t) for t in tokens],
                              dtype=np.int64),
            "n_words": np.array([len(t.split()) for t in texts], dtype=np.int64),
        })
        emb = self.svd.transform(vec.transform(texts))
        for j in range(emb.shape[1]):
            frame[f"emb_{j}"] = emb[:, j]
        return frame

    @property
    def embedding_columns(self) -> list[str]:
        """The names of the embedding columns (``emb_0``, ...).

        Introduced in lab 13 (Monitoring and response).
        """
        return [f"emb_{j}" for j in range(self.svd.n_components)]


def assemble_text_week(messages: pd.DataFrame, incidents: Sequence[Incident] = (), *,
                  min_messages: int = 60, max_hours: int = 6, domain: str = "nlp") -> Week:
    """A :class:`~.common.Week` from scored messages: ``messages`` holds one row per message
    with its ``hour``, ``text``, ``is_attack`` and the :data:`TEXT_FEATURE_COLUMNS` (and embedding)
    of :meth:`TextMonitors.features`.

    The window of hour ``h`` holds the messages of that hour together with those of the hours
    just before it, as many hours as it takes to reach ``min_messages`` messages and at most
    ``max_hours`` hours in all: a quiet night hour alone says little, a busy hour stands alone.
    ``X`` holds the texts, ``y_true`` the true labels (``label``; never read by the monitors),
    and ``meta`` one array per feature column (``"emb"``: the embedding, one row per message),
    ``"current"`` (the message arrived in hour ``h``), ``"source"`` and ``"is_attack"`` (where
    the message comes from, the attacker's messages; never read by the monitors). Every
    ``meta`` array has one entry per message, so ``common.resample_windows`` can draw
    calibration windows from the benign hours.

    Introduced in lab 13 (Monitoring and response).
    """
    check_frame(messages, ["hour", "text", "is_attack", *TEXT_FEATURE_COLUMNS], "messages")
    min_messages = check_int(min_messages, "min_messages", minimum=1)
    max_hours = check_int(max_hours, "max_hours", minimum=1)
    hours = messages["hour"].to_numpy()
    if len(hours) and hours.max() >= HOURS:
        raise ValueError(f"message hours must be at most {HOURS - 1}")
    windows = _text_windows(messages, range(HOURS), min_messages, max_hours)
    return Week(domain, tuple(windows), tuple(incidents))


def _text_windows(messages: pd.DataFrame, hours, min_messages: int,
                  max_hours: int) -> list[Window]:
    """The windows of ``hours`` (see :func:`assemble_text_week`)."""
    order = np.argsort(messages["hour"].to_numpy(), kind="stable")
    frame = messages.iloc[order].reset_index(drop=True)
    emb_cols = [c for c in frame.columns if str(c).startswith("emb_")]
    arrays = {c: frame[c].to_numpy() for c in TEXT_FEATURE_COLUMNS}
    arrays["emb"] = frame[emb_cols].to_numpy(dtype=np.float64)
    arrays["is_attack"] = frame["is_attack"].to_numpy(dtype=bool)
    arrays["source"] = (frame["source"].to_numpy(dtype=object) if "source" in frame
                        else np.full(len(frame), "", dtype=object))
    texts = frame["text"].tolist()
    labels = frame["label"].tolist() if "label" in frame else None
    hour_of = frame["hour"].to_numpy()
    earliest = min(0, int(hour_of.min())) if len(hour_of) else 0
    starts = np.searchsorted(hour_of, np.arange(earliest, HOURS + 1))
    windows = []
    for h in hours:
        first = h
        while (first > earliest and h - first + 1 < max_hours
               and starts[h + 1 - earliest] - starts[first - earliest] < min_messages):
            first -= 1
        rows = slice(starts[first - earliest], starts[h + 1 - earliest])
        meta = {k: v[rows] for k, v in arrays.items()}
        meta["current"] = hour_of[rows] == h
        meta["first_hour"] = first
        windows.append(Window(hour=h, X=texts[rows],
                              y_true=None if labels is None else labels[rows], meta=meta))
    return windows


def pace_campaign(honest: pd.DataFrame, pool: pd.DataFrame, hours: Sequence[int] | range,
                  monitors: Sequence[Monitor], thresholds: dict[str, float], *,
                  max_per_hour: int = 4, honest_alarms: pd.DataFrame | None = None,
                  min_messages: int = 60, max_hours: int = 6) -> pd.DataFrame:
    """The adaptive campaign's traffic: hour by hour in ``hours``, as many of ``pool``'s scored
    messages (taken in turn, reused when the pool runs out) as it can send, at most
    ``max_per_hour``, without making any monitor fire on a window holding that hour where the
    honest traffic alone would not have made it fire. ``honest`` holds the scored honest
    messages (with ``hour``), ``monitors`` and ``thresholds`` are the defender's;
    ``honest_alarms``: a boolean hour x monitor frame of where the honest week alarms anyway
    (``run_monitors(...) > thresholds``; ``None``: nowhere). The attacker is allowed to look
    at each hour's honest traffic, so what it achieves bounds what an attacker of this kind
    can. Returns the placed attacker messages (``source`` ``"paced"``), with their ``hour``.

    Introduced in lab 13 (Monitoring and response).
    """
    check_frame(honest, ["hour", "text", "is_attack", *TEXT_FEATURE_COLUMNS], "honest")
    check_frame(pool, ["text", "is_attack", *TEXT_FEATURE_COLUMNS], "pool")
    if not len(pool):
        raise ValueError("pool is empty: the campaign has nothing to send")
    max_per_hour = check_int(max_per_hour, "max_per_hour", minimum=1)
    monitors = list(monitors)
    if not monitors or not all(isinstance(m, Monitor) for m in monitors):
        raise ArgumentTypeError("monitors must be Monitor objects (text_monitors)")
    names = [m.name for m in monitors]
    if set(thresholds) != set(names):
        raise ValueError(f"thresholds must name the monitors {names}")
    hours = sorted(check_int(h, "hour", minimum=0, maximum=HOURS - 1) for h in hours)
    honest_hour = honest["hour"].to_numpy()
    placed: list[pd.DataFrame] = []
    used = 0
    for h in hours:
        near = (honest_hour >= h - max_hours) & (honest_hour < h + max_hours)
        before = [p for p in placed if h - max_hours <= int(p["hour"].iloc[0]) < h + max_hours]
        for k in range(max_per_hour, 0, -1):
            rows = pool.iloc[np.arange(used, used + k) % len(pool)].copy()
            rows["hour"] = h
            rows["source"] = "paced"
            local = pd.concat([honest[near], *before, rows], ignore_index=True)
            span = range(h, min(h + max_hours, HOURS))
            quiet = True
            for w in _text_windows(local, span, min_messages, max_hours):
                if w.meta["first_hour"] > h:
                    continue  # this window does not hold hour h
                for m in monitors:
                    if honest_alarms is not None and bool(honest_alarms.loc[w.hour, m.name]):
                        continue
                    value = m(w)
                    if not np.isnan(value) and value > thresholds[m.name]:
                        quiet = False
                        break
                if not quiet:
                    break
            if quiet:
                placed.append(rows)
                used += k
                break
    if not placed:
        return pool.iloc[:0].assign(hour=np.zeros(0, dtype=np.int64), source="paced")
    return pd.concat(placed, ignore_index=True)


def visible_hours(week: Week, sources: Sequence[str] | str) -> range:
    """The hours whose windows hold at least one row from ``sources`` (the ``meta["source"]``
    of :func:`assemble_text_week` or ``recommender.assemble_profile_week``): from the hour the
    first arrives to the last window that still pools one. An incident lasts that long for the
    monitors: an alert in the hour after a burst, whose window still holds some of it, is no
    false alarm. Raises ``ValueError`` when no window holds one.

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(week, Week):
        raise ArgumentTypeError(f"week must be a Week, got {type(week).__name__}")
    wanted = {sources} if isinstance(sources, str) else set(sources)
    seen = [w.hour for w in week.windows
            if "source" in w.meta and len(wanted & set(np.asarray(w.meta["source"]).tolist()))]
    if not seen:
        raise ValueError(f"no window holds a row from {sorted(wanted)}")
    return range(min(seen), max(seen) + 1)


def scams_passed(messages: pd.DataFrame, *, before_hour: int | None = None) -> int:
    """How many attacker messages (``is_attack``) the triage let through (predicted class not
    scam), among those that arrived before ``before_hour`` (all of them when ``None``).

    Introduced in lab 13 (Monitoring and response).
    """
    check_frame(messages, ["hour", "is_attack", "predicted"], "messages")
    mask = messages["is_attack"].to_numpy(dtype=bool) & (
        messages["predicted"].to_numpy() != SCAM_INDEX)
    if before_hour is not None:
        before_hour = check_int(before_hour, "before_hour", minimum=0)
        mask &= messages["hour"].to_numpy() < before_hour
    return int(mask.sum())


def near_miss_mask(features, near_miss: float = 0.2, obfuscation: float = 0.3) -> np.ndarray:
    """Which messages are *obfuscated near misses*: let through by the triage (not predicted
    scam), with a scam probability of at least ``near_miss`` and at least ``obfuscation`` of
    their word tokens outside the vectoriser's vocabulary. ``features``: the rows of
    :meth:`TextMonitors.features` (a DataFrame, or a window's ``meta``). The ``near_miss``
    monitor is the share of these; the response holds them for review.

    Introduced in lab 13 (Monitoring and response).
    """
    missing = [k for k in ("predicted", "p_scam", "n_oov", "n_tokens") if k not in features]
    if missing:
        raise ValueError(f"features lacks {missing} (use TextMonitors.features)")
    near_miss = check_number(near_miss, "near_miss", low=0.0, high=1.0)
    obfuscation = check_fraction(obfuscation, "obfuscation")
    predicted = np.asarray(features["predicted"])
    unknown = np.asarray(features["n_oov"]) >= obfuscation * np.maximum(
        np.asarray(features["n_tokens"]), 1)
    return (predicted != SCAM_INDEX) & (np.asarray(features["p_scam"]) >= near_miss) & unknown


def text_monitors(ref: TextMonitors, *, low_confidence: float = 0.5,
                  obfuscation: float = 0.3, max_reference: int = 300, folds: int = 3,
                  seed: int = 0) -> list[Monitor]:
    """The NLP week's five monitors, computed from each window's messages (the hour, pooled with
    the hours before it when it is quiet; see :func:`assemble_text_week`):

    * ``oov_rate`` (input): share of the hour's word tokens outside the vectoriser's vocabulary;
    * ``embedding_auc`` (input): ``common.multivariate_drift`` (a classifier two-sample test,
      ``folds``-fold) of the hour's SVD embeddings against the reference's (at most
      ``max_reference`` of them);
    * ``intent_psi`` (prediction): ``common.psi_shares`` of the predicted classes' mix (half a
      count added to each class) against the triage's predictions on the reference;
    * ``low_confidence`` (prediction): share of messages whose top probability is below
      ``low_confidence``;
    * ``near_miss`` (attack): share of *obfuscated near misses*: messages the triage lets
      through (not predicted scam) with a scam probability of at least ``ref.near_miss`` and at
      least ``obfuscation`` of their tokens outside the vocabulary. A character-level evasion
      leaves exactly this trace: it stops just under the decision boundary, and its typos,
      leetspeak and homoglyphs are words the vectoriser never saw.

    An hour without messages gets ``NaN`` everywhere (and ``embedding_auc`` an hour with fewer
    than 5 or ``folds``).

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(ref, TextMonitors):
        raise ArgumentTypeError(f"ref must be a TextMonitors (TextMonitors.fit), got "
                                f"{type(ref).__name__}")
    low_confidence = check_number(low_confidence, "low_confidence", low=0.0, high=1.0,
                                  low_open=True)
    obfuscation = check_fraction(obfuscation, "obfuscation")
    max_reference = check_int(max_reference, "max_reference", minimum=10)
    folds = check_int(folds, "folds", minimum=2)
    seed = check_seed(seed)
    reference = ref.reference
    ref_classes = np.bincount(reference["predicted"], minlength=len(LABELS))
    ref_emb = reference[ref.embedding_columns].to_numpy()
    near = ref.near_miss

    def rows(window: Window) -> dict | None:
        return window_meta(window, (*TEXT_FEATURE_COLUMNS, "emb"), "predicted",
                           builder="assemble_text_week")

    def oov(w):
        f = rows(w)
        return None if f is None else f["n_oov"].sum() / max(1, f["n_tokens"].sum())

    def embedding(w):
        f = rows(w)
        if f is None or len(f["emb"]) < max(5, folds):
            return None
        return multivariate_drift(ref_emb, f["emb"], seed=seed, folds=folds,
                                  max_reference=max_reference)

    def intents(w):
        f = rows(w)
        # Jeffreys' half a count per class, so that a class a small window misses by chance
        # does not dominate the index
        return None if f is None else psi_shares(
            ref_classes + 0.5, np.bincount(f["predicted"], minlength=len(LABELS)) + 0.5)

    def unsure(w):
        f = rows(w)
        return None if f is None else float((f["confidence"] < low_confidence).mean())

    def near_miss(w):
        f = rows(w)
        return None if f is None else float(near_miss_mask(f, near, obfuscation).mean())

    return [
        Monitor("oov_rate", oov, "input", "share of word tokens outside the vocabulary"),
        Monitor("embedding_auc", embedding, "input",
                "classifier two-sample AUC on an SVD of the TF-IDF features"),
        Monitor("intent_psi", intents, "prediction", "PSI of the predicted-class mix"),
        Monitor("low_confidence", unsure, "prediction",
                f"share of answers with top probability < {low_confidence:g}"),
        Monitor("near_miss", near_miss, "attack",
                f"share let through with P(scam) >= {near:g} and >= {obfuscation:.0%} "
                "unknown tokens"),
    ]
