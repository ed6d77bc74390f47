"""Tests of mlsec_helpers.nlp_corpus, the seeded customer-support corpus (NLP system data)."""

from __future__ import annotations

import ast
import inspect
import re

import numpy as np
import pandas as pd
import pytest

from mlsec_helpers import nlp_corpus
from mlsec_helpers.nlp_corpus import (
    DATASHEET,
    INTENTS,
    LABELS,
    SCAM_LABEL,
    generate_support_corpus,
)

COLUMNS = [
    "message_id",
    "text",
    "label",
    "is_scam",
    "template_id",
    "has_pii",
    "pii_types",
    "customer_name",
    "customer_email",
    "channel",
]
PII_KINDS = ("name", "email", "card_number", "account_number", "phone")
LAB = "Introduced in lab 00 (Meet the five systems)."

# Independent detectors of the personal data the generator may put into a text.
CARD_RE = re.compile(r"(?<![\d-])\d{4}([ -]?)\d{4}\1\d{4}\1\d{4}(?![\d-])")
ACCOUNT_RE = re.compile(r"(?<![\d-])\d{8}(?![\d-])")
PHONE_RE = re.compile(r"(?<![\w)])(?:\+44|\(?0)[\d ()]{8,}\d")


@pytest.fixture(scope="module")
def corpus() -> pd.DataFrame:
    return generate_support_corpus(4000, seed=0)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def detect_pii(text: str, name: str, email: str) -> set[str]:
    """Kinds of personal data in ``text``, found without help from the generator."""
    found = set()
    if name in text:
        found.add("name")
    if "@" in text:
        found.add("email")
    if any(luhn_ok(re.sub(r"\D", "", m.group(0))) for m in CARD_RE.finditer(text)):
        found.add("card_number")
    text = CARD_RE.sub("<card>", text)  # a phone or account pattern must not start inside one
    for m in PHONE_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 10 <= len(digits) <= 13 and digits.startswith(("0", "44")):
            found.add("phone")
            text = text.replace(m.group(0), "<phone>")
    if ACCOUNT_RE.search(text):
        found.add("account_number")
    return found


# --- shape, columns, labels ------------------------------------------------------------------


def test_shape_columns_and_dtypes(corpus):
    assert list(corpus.columns) == COLUMNS
    assert len(corpus) == 4000
    assert corpus["message_id"].tolist() == list(range(4000))
    assert pd.api.types.is_integer_dtype(corpus["message_id"])
    assert corpus["is_scam"].dtype == bool
    assert corpus["has_pii"].dtype == bool
    for col in (
        "text",
        "label",
        "template_id",
        "pii_types",
        "customer_name",
        "customer_email",
        "channel",
    ):
        assert all(isinstance(v, str) for v in corpus[col]), col
    assert (corpus["text"].str.len() > 0).all()
    assert (corpus["customer_name"].str.len() > 0).all()
    assert corpus["customer_email"].str.contains("@").all()
    assert set(corpus["channel"]) == {"chat", "email", "sms"}


def test_label_set_and_constants(corpus):
    assert SCAM_LABEL == "scam"
    assert len(INTENTS) >= 6
    assert SCAM_LABEL not in INTENTS
    assert LABELS == (*INTENTS, SCAM_LABEL)
    assert set(corpus["label"]) == set(LABELS)
    assert (corpus["is_scam"] == (corpus["label"] == SCAM_LABEL)).all()


@pytest.mark.parametrize("seed", [0, 7])
def test_class_shares(seed):
    df = generate_support_corpus(3000, seed=seed)
    shares = df["label"].value_counts(normalize=True)
    assert shares.min() >= 0.05
    assert 0.15 <= shares[SCAM_LABEL] <= 0.20
    assert shares.max() - shares.min() > 0.03  # not uniform


def test_many_templates_per_label(corpus):
    own = corpus["template_id"].str.extract(r"^([a-z_]+):(\d+)$").dropna()
    per_label = own.groupby(0)[1].nunique()
    for label in LABELS:
        assert per_label[label] >= 12, label
    # The hard parts exist: shared families, vague and two-request messages.
    kinds = corpus["template_id"].str.split(":").str[0]
    assert kinds.str.startswith("shared_").mean() > 0.05
    assert (kinds == "vague").mean() > 0.02
    assert (kinds == "mixed").mean() > 0.02
    shared = corpus[kinds.str.startswith("shared_")]
    assert (shared.groupby("template_id")["label"].nunique() == 2).sum() >= 5
    assert set(shared.loc[shared["is_scam"], "template_id"].str.split(":").str[0]) != set()


def test_overlapping_vocabulary(corpus):
    lower = corpus["text"].str.lower()

    def labels_with(word: str) -> set[str]:
        return set(corpus.loc[lower.str.contains(word), "label"])

    assert {"card_lost", "payment_dispute", "scam"} <= labels_with("card")
    assert {"refund_request", "scam"} <= labels_with("refund")
    legit = corpus[~corpus["is_scam"]]
    assert legit["text"].str.contains("http|\\.example/", regex=True).sum() > 20  # links
    assert legit["text"].str.lower().str.contains("code").sum() > 50
    assert legit["text"].str.lower().str.contains("urgent").sum() > 50
    scam = corpus[corpus["is_scam"]]
    assert (~scam["text"].str.contains(".example", regex=False)).mean() > 0.2  # not all links


def test_customer_pool(corpus):
    n_customers = corpus["customer_name"].nunique()
    assert 300 <= n_customers <= 650
    per_customer = corpus["customer_name"].value_counts()
    assert per_customer.mean() >= 5
    assert per_customer.max() >= 15
    # One e-mail per customer.
    assert (corpus.groupby("customer_name")["customer_email"].nunique() == 1).all()


# --- determinism and speed -------------------------------------------------------------------


def test_deterministic(corpus):
    again = generate_support_corpus(4000, seed=0)
    pd.testing.assert_frame_equal(corpus, again)


def test_seeds_differ(corpus):
    other = generate_support_corpus(4000, seed=1)
    assert (corpus["text"] != other["text"]).mean() > 0.9
    assert set(corpus["customer_name"]) != set(other["customer_name"])


# --- text: ASCII, typos ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_ascii_only(seed, corpus):
    df = corpus if seed == 0 else generate_support_corpus(3000, seed=seed, typo_rate=0.3)
    for text in df["text"]:
        assert re.fullmatch(r"[\x20-\x7e]+", text), repr(text)


def test_typo_rate_changes_only_characters_inside_words():
    clean = generate_support_corpus(1000, seed=4, typo_rate=0.0)
    noisy = generate_support_corpus(1000, seed=4, typo_rate=0.05)
    for col in ("label", "template_id", "pii_types", "customer_name", "channel"):
        assert (clean[col] == noisy[col]).all(), col
    changed = clean["text"] != noisy["text"]
    assert 0.15 < changed.mean() < 0.6
    # Typos edit characters inside words: the number of words stays the same.
    assert (clean["text"].str.split().str.len() == noisy["text"].str.split().str.len()).all()
    full = generate_support_corpus(1000, seed=4, typo_rate=1.0)
    assert (clean["text"] != full["text"]).mean() > 0.95


def test_pii_share_leaves_labels_and_templates_unchanged():
    none = generate_support_corpus(500, seed=5, pii_share=0.0)
    some = generate_support_corpus(500, seed=5, pii_share=0.5)
    for col in ("label", "template_id", "customer_name", "channel"):
        assert (none[col] == some[col]).all(), col


# --- personal data ---------------------------------------------------------------------------


def test_pii_share_and_truthfulness(corpus):
    assert abs(int(corpus["has_pii"].sum()) - round(0.3 * 4000)) <= 1
    assert (corpus["has_pii"] == (corpus["pii_types"] != "")).all()
    kinds_seen = set()
    for row in corpus.itertuples(index=False):
        listed = set(row.pii_types.split(",")) if row.pii_types else set()
        assert listed <= set(PII_KINDS)
        found = detect_pii(row.text, row.customer_name, row.customer_email)
        assert found == listed, (row.text, row.pii_types)
        if "email" in listed:
            assert row.customer_email in row.text
        kinds_seen |= listed
    assert kinds_seen == set(PII_KINDS)


def test_card_numbers_are_luhn_valid_and_grouped_or_not(corpus):
    cards = [m.group(0) for t in corpus["text"] for m in CARD_RE.finditer(t)]
    assert len(cards) > 50
    for card in cards:
        digits = re.sub(r"\D", "", card)
        assert len(digits) == 16 and luhn_ok(digits), card
    assert any(" " in c for c in cards) and any(c.isdigit() for c in cards)


@pytest.mark.parametrize("share", [0.0, 0.05, 1.0])
def test_pii_share_parameter(share):
    df = generate_support_corpus(400, seed=2, pii_share=share)
    assert abs(int(df["has_pii"].sum()) - round(share * 400)) <= 1
    for row in df.itertuples(index=False):
        listed = set(row.pii_types.split(",")) if row.pii_types else set()
        assert detect_pii(row.text, row.customer_name, row.customer_email) == listed


# --- the baseline the course promises --------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_baseline_accuracy_band_and_scam_auc(seed):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, recall_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline, make_union
    from threadpoolctl import threadpool_limits

    df = generate_support_corpus(4000, seed=seed)
    train, test = train_test_split(df, test_size=0.2, stratify=df["label"], random_state=seed)
    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
        ),
        LogisticRegression(max_iter=2000, C=10.0),
    )
    with threadpool_limits(1):  # BLAS oversubscription makes the fit 10x slower on small CPUs
        model.fit(train["text"], train["label"])
        pred = model.predict(test["text"])
        proba = model.predict_proba(test["text"])
    accuracy = accuracy_score(test["label"], pred)
    assert 0.85 <= accuracy <= 0.95, accuracy
    is_scam = (test["label"] == SCAM_LABEL).to_numpy()
    scam_col = list(model.classes_).index(SCAM_LABEL)
    auc = roc_auc_score(is_scam, proba[:, scam_col])
    assert auc >= 0.95, auc
    recall = recall_score(is_scam, pred == SCAM_LABEL)
    assert recall < 1.0, recall


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_messages": 99}, ValueError, "n_messages"),
        ({"n_messages": -5}, ValueError, "n_messages"),
        ({"n_messages": 4000.0}, TypeError, "n_messages"),
        ({"n_messages": "4000"}, TypeError, "n_messages"),
        ({"n_messages": True}, TypeError, "n_messages"),
        ({"seed": 1.5}, TypeError, "seed"),
        ({"seed": "0"}, TypeError, "seed"),
        ({"seed": None}, TypeError, "seed"),
        ({"pii_share": -0.1}, ValueError, "pii_share"),
        ({"pii_share": 1.5}, ValueError, "pii_share"),
        ({"pii_share": float("nan")}, ValueError, "pii_share"),
        ({"typo_rate": -0.01}, ValueError, "typo_rate"),
        ({"typo_rate": 2}, ValueError, "typo_rate"),
        ({"typo_rate": "low"}, TypeError, "typo_rate"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        generate_support_corpus(**kwargs)


def test_numpy_ints_accepted():
    df = generate_support_corpus(np.int64(150), seed=np.int64(3))
    assert len(df) == 150


# --- documentation ---------------------------------------------------------------------------


def test_datasheet():
    for key in (
        "name",
        "version",
        "source",
        "licence",
        "citation",
        "row",
        "columns",
        "generation",
        "biases_and_limits",
        "intended_use",
    ):
        assert DATASHEET[key], key
    assert DATASHEET["source"] == "generated by mlsec_helpers.nlp_corpus, seeded"
    assert DATASHEET["licence"] == "CC0-1.0 (generated data)"
    assert list(DATASHEET["columns"]) == COLUMNS


def test_public_api_is_documented():
    assert LAB in inspect.getdoc(generate_support_corpus)
    for name in nlp_corpus.__all__:
        obj = getattr(nlp_corpus, name)
        if callable(obj):
            assert LAB in (obj.__doc__ or ""), name
    # Every public module-level constant is followed by a docstring.
    tree = ast.parse(inspect.getsource(nlp_corpus))
    body = tree.body
    documented = set()
    for node, nxt in zip(body, body[1:], strict=False):
        targets = []
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            targets = [node.target.id]
        if (
            isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            documented.update(targets)
    public_constants = {n for n in nlp_corpus.__all__ if n.isupper()}
    assert public_constants <= documented
