"""Tests of lab 08's transparency artefacts (mlsec_helpers.explain.cards): model cards built
from the package's metadata and measured numbers, and nothing typed by hand."""

import ast
import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from mlsec_helpers import catalogue, checkpoints, systems
from mlsec_helpers.data import load_dataset
from mlsec_helpers.explain import cards
from mlsec_helpers.explain.results import CardMetric, ModelCard
from mlsec_helpers.validate import ArgumentTypeError

SECTIONS = ("Model details", "Intended use", "Out-of-scope uses", "Factors", "Evaluation data",
            "Training data", "Quantitative analyses", "Ethical considerations", "Caveats",
            "Security")


@pytest.fixture(scope="module")
def medical():
    data = load_dataset("medical", seed=0)
    return systems.reference_system("medical", seed=0), data


@pytest.fixture(scope="module")
def image():
    data = load_dataset("image", seed=0)
    return systems.reference_system("image", seed=0), data


def _card(system, data, **kw):
    metrics, groups = cards.measure_card_metrics(system, data, seed=0, n_resamples=100)
    return cards.build_model_card(system, data, metrics=metrics, group_metrics=groups, **kw)


def test_medical_card_has_every_section_and_is_json(medical, unchanged_global_state):
    system, data = medical
    card = _card(system, data)
    assert isinstance(card, ModelCard) and card.domain == "medical"
    text = cards.model_card_markdown(card)
    for section in SECTIONS:
        assert f"**{section}" in text, section
    names = [m.name for m in card.metrics]
    assert names[:2] == ["accuracy", "ROC AUC"] and any(n.startswith("recall") for n in names)
    for m in card.metrics:
        assert m.low <= m.value <= m.high and m.n > 0 and m.on
    assert card.metrics[0].value == pytest.approx(system.evaluate(data.X_test, data.y_test)[
        "accuracy"])
    assert json.loads(json.dumps(cards.model_card_dict(card)))["domain"] == "medical"
    assert cards.card_untraced_numbers(card) == []
    assert set(card.threats_not_tested) == set(catalogue.THREAT_CATEGORIES)
    assert "No security test was run." in text
    for bias in card.ethical_considerations:
        assert bias in text


def test_card_numbers_come_from_the_metrics(medical):
    """Build the card twice with other metric values: the Markdown follows the values, and
    every number in it is a field of the card."""
    system, data = medical
    card = _card(system, data)
    shifted = tuple(dataclasses.replace(m, value=m.value * 0.5, low=m.low * 0.5,
                                        high=m.high * 0.5) for m in card.metrics)
    other = cards.build_model_card(system, data, metrics=shifted)
    a, b = cards.model_card_markdown(card), cards.model_card_markdown(other)
    assert a != b
    for m_a, m_b in zip(card.metrics, other.metrics, strict=True):
        assert f"| {m_a.value:.3f} |" in a and f"| {m_b.value:.3f} |" in b
    assert cards.card_untraced_numbers(other) == []
    # a number typed into the card's text by hand is caught
    typed = a + "\nAccuracy 0.4242 on the ward, 17 patients."
    assert cards.card_untraced_numbers(card, typed) == ["0.4242", "17"]
    with pytest.raises(ArgumentTypeError):
        cards.card_untraced_numbers(card, 0.5)


def test_card_generator_types_no_numbers():
    """The text templates of cards.py hold no digits: a card's numbers come from values."""
    source = Path(cards.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    specs = {id(n.format_spec) for n in ast.walk(tree)
             if isinstance(n, ast.FormattedValue) and n.format_spec is not None}
    spec_parts = {id(c) for n in ast.walk(tree) if id(n) in specs for c in ast.walk(n)}
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef) and n.body
                  and isinstance(n.body[0], ast.Expr)}
    bad = [n.value for n in ast.walk(tree)
           if isinstance(n, ast.Constant) and isinstance(n.value, str)
           and id(n) not in spec_parts and id(n) not in docstrings
           and re.search(r"\d", n.value.replace("SHA-256", ""))]
    assert bad == []


def test_groups_add_per_group_rows(medical):
    system, data = medical
    groups = np.where(np.arange(len(data.y_test)) % 3 == 0, "a", "b")
    metrics, rows = cards.measure_card_metrics(system, data, groups=groups, group_label="ward",
                                               seed=0, n_resamples=100)
    acc = [r for r in rows if r.name.startswith("accuracy")]
    assert [r.name for r in acc] == ["accuracy, ward a", "accuracy, ward b"]
    assert sum(r.n for r in acc) == len(data.y_test)
    assert any(r.name.startswith("recall, ward") for r in rows)
    card = cards.build_model_card(system, data, metrics=metrics, group_metrics=rows)
    assert "Per group:" in cards.model_card_markdown(card)
    assert cards.card_untraced_numbers(card) == []
    with pytest.raises(ValueError, match="one value per test row"):
        cards.measure_card_metrics(system, data, groups=groups[:-1], n_resamples=100)


def test_image_card_records_the_checkpoint_and_worst_class(image):
    system, data = image
    card = _card(system, data, checkpoint="lab00_digits_cnn")
    assert card.model_details["checkpoint SHA-256"] == checkpoints.CHECKPOINTS[
        "lab00_digits_cnn"].sha256
    assert card.model_details["parameters"] > 0
    assert len(card.group_metrics) == 10
    worst = min(card.group_metrics, key=lambda m: m.value)
    assert card.metrics[-1].name == "worst-class recall"
    assert card.metrics[-1].value == worst.value and card.metrics[-1].on == worst.on
    assert cards.card_untraced_numbers(card) == []


def test_recommender_card():
    data = load_dataset("recommender", seed=0)
    system = systems.reference_system("recommender", seed=0)
    metrics, rows = cards.measure_card_metrics(system, data, seed=0, n_resamples=100, k=5)
    names = [m.name for m in metrics]
    assert names == ["RMSE (stars)", "HR@5", "NDCG@5", "HR@5 (popularity baseline)",
                     "NDCG@5 (popularity baseline)"] and rows == ()
    assert metrics[0].low <= metrics[0].value <= metrics[0].high
    card = cards.build_model_card(system, data, metrics=metrics, checkpoint="lab00_recommender")
    assert cards.card_untraced_numbers(card) == []
    with pytest.raises(ValueError, match="no per-group"):
        cards.measure_card_metrics(system, data, groups=np.zeros(len(data.y_test)))


def test_security_section_lists_what_was_run(medical):
    system, data = medical
    test = cards.card_security_test("evasion", "a made-up test", 0.25, measure="success rate",
                                    on="ten patients")
    card = _card(system, data, security_tests=(test,))
    assert "evasion" not in card.threats_not_tested
    assert len(card.threats_not_tested) == len(catalogue.THREAT_CATEGORIES) - 1
    text = cards.model_card_markdown(card)
    assert "a made-up test" in text and "success rate 0.250" in text
    assert cards.card_untraced_numbers(card) == []
    with pytest.raises(ValueError, match="threat"):
        cards.card_security_test("backdoors", "x", 0.1, measure="m", on="o")
    with pytest.raises(ValueError, match="finite"):
        cards.card_security_test("evasion", "x", float("nan"), measure="m", on="o")
    with pytest.raises(ArgumentTypeError):
        cards.card_security_test("evasion", "x", "high", measure="m", on="o")


def test_table_and_diff(medical):
    system, data = medical
    card = _card(system, data)
    test = cards.card_security_test("poisoning", "trigger", 0.5, measure="ASR", on="o")
    tested = dataclasses.replace(card, security_tests=(test,))
    table = cards.model_cards_table({"a": card, "b": tested})
    assert list(table["security tests run"]) == [0, 1]
    diff = cards.model_card_diff(card, tested, names=("clean", "tested"))
    acc = diff.set_index("measure").loc["accuracy"]
    assert acc["difference"] == 0 and bool(acc["intervals overlap"])
    row = diff.set_index("measure").loc["security: ASR"]
    assert row["clean"] == "not measured" and row["tested"] == "0.500"


def test_bad_inputs(medical, image):
    system, data = medical
    metrics, _ = cards.measure_card_metrics(system, data, n_resamples=100)
    with pytest.raises(ValueError, match="system"):
        cards.measure_card_metrics(image[0], data)
    with pytest.raises(ValueError, match="n_resamples"):
        cards.measure_card_metrics(system, data, n_resamples=10)
    with pytest.raises(ValueError, match="confidence"):
        cards.measure_card_metrics(system, data, confidence=1.5)
    with pytest.raises(ValueError, match="seed"):
        cards.measure_card_metrics(system, data, seed=-1)
    with pytest.raises(ValueError, match="at least one"):
        cards.build_model_card(system, data, metrics=())
    with pytest.raises(ArgumentTypeError, match="CardMetric"):
        cards.build_model_card(system, data, metrics=metrics[0])
    with pytest.raises(ArgumentTypeError, match="CardMetric"):
        cards.build_model_card(system, data, metrics=[0.9])
    with pytest.raises(ValueError, match="checkpoint"):
        cards.build_model_card(system, data, metrics=metrics, checkpoint="lab99_nothing")
    with pytest.raises(ArgumentTypeError):
        cards.model_card_markdown({"name": "card"})
    with pytest.raises(ArgumentTypeError):
        cards.model_cards_table([])
    card = cards.build_model_card(system, data, metrics=metrics)
    with pytest.raises(ArgumentTypeError):
        cards.model_card_diff(card, card, names=("only one",))
    assert isinstance(metrics[0], CardMetric)


def test_finetune_backdoored_digits(image, unchanged_global_state):
    system, data = image
    before = {k: v.clone() for k, v in system.model.state_dict().items()}
    X, y = data.X_train[:300], data.y_train[:300]
    a = cards.finetune_backdoored_digits(system, X, y, target=7, rate=0.1, seed=0)
    b = cards.finetune_backdoored_digits(system, X, y, target=7, rate=0.1, seed=0)
    for k, v in system.model.state_dict().items():  # the reference model is unchanged
        assert (v == before[k]).all()
    changed = any(not (v == before[k]).all() for k, v in a.model.state_dict().items())
    assert changed
    for k, v in a.model.state_dict().items():  # deterministic for a seed
        assert (v == b.model.state_dict()[k]).all()
    assert "poisoned" in a.source_ and a.train_seconds_ >= 0
    with pytest.raises(ValueError, match="rate"):
        cards.finetune_backdoored_digits(system, X, y, target=7, rate=0.0)
    with pytest.raises(ArgumentTypeError, match="DigitsCNN"):
        cards.finetune_backdoored_digits(systems.DiagnosisModel(), X, y, target=7, rate=0.1)
