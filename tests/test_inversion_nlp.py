"""Tests of lab 06's NLP helpers: canaries, exposure, extraction, the PII scrubber, trainers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from mlsec_helpers import privacy, repro
from mlsec_helpers.inversion import nlp as inv
from mlsec_helpers.inversion import trainers
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def memorised():
    """A tiny LM that saw one canary 30 times among other messages."""
    canary = inv.canary_set(seed=3)[0]
    others = [f"my card {i} was lost, please block it" for i in range(30)]
    X = inv.canary_corpus(others, [canary.__class__(**{**canary.__dict__, "repeats": 30})],
                          seed=0)
    with repro.limited_threads(1):
        trained = privacy.train_char_lm(list(X), hidden=48, embed=16, epochs=40, lr=0.02,
                                        batch_size=16, max_len=60)
    return trained.model, canary


def test_canary_render_formats():
    assert inv.canary_render(421) == "0421"
    assert inv.canary_render(421, "spaced") == "0 4 2 1"
    assert inv.canary_render(4821, "words") == "four eight two one"
    with pytest.raises(ValueError, match="pin must be 0 to 9999"):
        inv.canary_render(10_000)
    with pytest.raises(ValueError):
        inv.canary_render(-1)
    with pytest.raises(ValueError, match="fmt"):
        inv.canary_render(1, "hex")


def test_canary_set_is_seeded_and_complete():
    a, b = inv.canary_set(seed=0), inv.canary_set(seed=0)
    assert a == b and a != inv.canary_set(seed=1)
    repeats = [c.repeats for c in a if c.fmt == "digits" and c.repeats]
    assert sorted(set(repeats)) == list(inv.CANARY_REPEATS)
    assert all(repeats.count(k) == 3 for k in inv.CANARY_REPEATS)
    assert {c.fmt for c in a} == set(inv.CANARY_FORMATS)
    assert sum(c.repeats == 0 for c in a) == 10
    assert len({c.name for c in a}) == len(a) and len({c.pin for c in a}) == len(a)
    for c in a:
        assert c.text == c.prefix + c.secret and c.secret == inv.canary_render(c.pin, c.fmt)
    with pytest.raises(ValueError, match="at most"):
        inv.canary_set(per_repeat=10)
    with pytest.raises(ValueError):
        inv.canary_set(repeats=(0,))


def test_canary_corpus_plants_each_canary_repeats_times():
    canaries = inv.canary_set(seed=0)
    X = inv.canary_corpus(["hello", "world"], canaries, seed=0)
    assert len(X) == 2 + sum(c.repeats for c in canaries)
    for c in canaries:
        assert int((X == c.text).sum()) == c.repeats
    assert list(X) == list(inv.canary_corpus(["hello", "world"], canaries, seed=0))
    with pytest.raises(ArgumentTypeError):
        inv.canary_corpus("hello", canaries)
    with pytest.raises(ValueError, match="Canary"):
        inv.canary_corpus(["hello"], ["not a canary"])


def test_scrub_pii_rules():
    s = inv.scrub_pii
    assert s("mail ann.lee@example.net now") == "mail [EMAIL] now"
    for card in ("4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111"):
        assert s(f"Card: {card}.") == "Card: [CARD]."
    assert s("4111 1111-1111 1111") != "[CARD]"  # mixed separators are not a card number
    for phone in ("+44(0)20 7946 0123", "(07700) 900 123", "07700 900123", "+447700900764"):
        assert s(f"call {phone}.") == "call [PHONE].", phone
    assert s("Account 04238214: hi") == "Account [ACCOUNT]: hi"
    assert s("my PIN is 4821") == "my PIN is [PIN]" and s("code 123456") == "code [PIN]"
    for keep in ("1100 pounds", "2500 quid", "1500 GBP", "GBP 1100", "£2500", "1003.72",
                 "1,000 pounds", "on 27 July", "E-404", "PIN 4 8 2 1", "four eight two one",
                 "Grace Thompson", "123", "1234567"):
        assert s(keep) == keep, keep
    assert s("") == ""
    with pytest.raises(ArgumentTypeError):
        s(["a list"])


def test_scrub_pii_recall_on_labelled_messages():
    frame = pd.DataFrame({
        "text": ["Hi, Ann Lee here, card 4111 1111 1111 1111", "mail ann@x.org",
                 "nothing here", "refund of 1100 pounds"],
        "has_pii": [True, True, False, False],
        "pii_types": ["name,card_number", "email", "", ""],
        "customer_name": ["Ann Lee", "Bo Li", "Cy Ng", "Di Ho"],
        "customer_email": ["ann@x.org", "ann@x.org", "c@x.org", "d@x.org"],
    })
    table = inv.scrub_pii_recall(frame).set_index("pii_type")
    assert table.loc["name", "caught"] == 0 and table.loc["name", "n"] == 1
    assert table.loc["card_number", "rate"] == 1.0 and table.loc["email", "rate"] == 1.0
    assert table.loc["phone", "n"] == 0
    assert table.loc["no PII (over-scrub)", "n"] == 2
    assert table.loc["no PII (over-scrub)", "caught"] == 0
    with pytest.raises(ValueError, match="lacks the columns"):
        inv.scrub_pii_recall(frame.drop(columns="pii_types"))
    with pytest.raises(ValueError, match="at least one"):
        inv.scrub_pii_recall(frame.iloc[:0])


def test_candidate_scores_match_scoring_each_candidate(memorised):
    model, canary = memorised
    for fmt in inv.CANARY_FORMATS:
        scores = inv.canary_candidate_scores(model, canary.prefix, fmt)
        assert scores.shape == (10_000,) and np.isfinite(scores).all() and (scores > 0).all()
        for pin in (0, 4821, 9999):
            text = canary.prefix + inv.canary_render(pin, fmt)
            codes = privacy.encode_messages([text], 200)[:, :-1]
            with torch.no_grad():
                log_p = torch.log_softmax(model(codes[:, :-1]).double(), -1)[0]
            n = len(inv.canary_render(pin, fmt))
            target = codes[0, 1:]
            bits = -log_p[torch.arange(len(target)), target][-n:].sum().item() / math.log(2)
            assert scores[pin] == pytest.approx(bits, rel=1e-6)
    # Probabilities over the closed set of 4-digit continuations sum to at most 1.
    assert np.exp2(-inv.canary_candidate_scores(model, canary.prefix)).sum() <= 1 + 1e-9


def test_memorised_canary_is_exposed_and_extracted(memorised, unchanged_global_state):
    model, canary = memorised
    result = inv.canary_exposure(model, canary)
    assert result.rank == 1 and result.best_pin == canary.pin
    assert result.exposure == pytest.approx(math.log2(10_000))
    assert inv.canary_greedy(model, canary.prefix, 4) == canary.secret
    assert inv.canary_beam_search(model, canary.prefix, 4, beam_width=4) == canary.secret
    table = inv.canary_attack_table(model, [canary], beam_width=4)
    assert table.loc[0, "greedy_right"] and table.loc[0, "beam_right"]
    assert table.loc[0, "top_guess_right"]


def test_attack_argument_checks(memorised):
    model, canary = memorised
    with pytest.raises(ValueError, match="Canary"):
        inv.canary_exposure(model, "4821")
    with pytest.raises(ValueError, match="CharLM"):
        inv.canary_candidate_scores(torch.nn.Linear(2, 2), canary.prefix)
    with pytest.raises(ArgumentTypeError):
        inv.canary_greedy(model, 42, 4)
    with pytest.raises(ValueError):
        inv.canary_greedy(model, canary.prefix, 0)
    with pytest.raises(ValueError):
        inv.canary_beam_search(model, canary.prefix, 4, beam_width=0)
    with pytest.raises(ValueError, match="fmt"):
        inv.canary_candidate_scores(model, canary.prefix, "hex")
    with pytest.raises(ValueError, match="at least one"):
        inv.canary_attack_table(model, [])


def test_bits_per_char(memorised):
    model, canary = memorised
    seen = inv.canary_lm_bits_per_char(model, [canary.text])
    unseen = inv.canary_lm_bits_per_char(model, ["zqxj wvvk plmm"])
    assert 0 < seen < unseen
    with pytest.raises(ArgumentTypeError):
        inv.canary_lm_bits_per_char(model, "one string")


def test_training_corpus_variants():
    plain = trainers.canary_lm_training_corpus("plain", n_messages=50)
    scrubbed = trainers.canary_lm_training_corpus("scrubbed", n_messages=50)
    n_planted = sum(c.repeats for c in inv.canary_set(seed=0))
    assert len(plain) == len(scrubbed) == 50 + n_planted
    assert not any("[PIN]" in t for t in plain)
    canaries = inv.canary_set(seed=0)
    assert sum(t.startswith("Hi, this is ") and t.endswith(" [PIN]") for t in scrubbed) == sum(
        c.repeats for c in canaries if c.fmt == "digits")
    for c in canaries:  # digit PINs are scrubbed, spaced and spelled-out ones are not
        assert (c.text in set(scrubbed)) == (c.fmt != "digits" and c.repeats > 0)
    with pytest.raises(ValueError):
        trainers.canary_lm_training_corpus("noisy")
    with pytest.raises(ValueError, match="unknown setting"):
        trainers.canary_lm_training_corpus("plain", layers=2)


def test_trainers_are_deterministic_and_leave_global_state(unchanged_global_state):
    tiny = dict(n_messages=20, hidden=4, embed=4, epochs=1, max_len=30, dp_epochs=1,
                dp_batch_size=40)
    first = trainers.train_canary_lm("plain", **tiny)
    again = trainers.train_canary_lm("plain", **tiny)
    assert first.keys() == again.keys() and all(torch.equal(first[k], again[k]) for k in first)
    assert first["lm.out.weight"].dtype == torch.float16
    dp = trainers.train_canary_lm("dp", **tiny)
    assert dp["dp.epsilon"].dtype == torch.float64 and 0 < float(dp["dp.epsilon"]) <= 8.2


def test_checkpointed_models_load_and_behave(unchanged_global_state):
    lms = inv.load_canary_lms()
    assert set(lms) == set(trainers.CANARY_LM_VARIANTS)
    assert lms["plain"].privacy is None and lms["scrubbed"].privacy is None
    assert 0 < lms["dp"].privacy.epsilon <= trainers.CANARY_LM_SETTINGS["dp_epsilon"] * 1.01
    often = next(c for c in inv.canary_set(seed=0) if c.repeats == 20 and c.fmt == "digits")
    assert inv.canary_exposure(lms["plain"].model, often).rank == 1
    assert inv.canary_exposure(lms["scrubbed"].model, often).rank > 1
