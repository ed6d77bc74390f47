"""Lab 13 (Monitoring and response), NLP section: traffic, launch drift, the crafted campaign,
the scored messages, the week's windows, the monitors and the paced campaign."""

import numpy as np
import pandas as pd
import pytest

from mlsec_helpers import systems
from mlsec_helpers.monitoring import common, nlp
from mlsec_helpers.nlp_corpus import LABELS, generate_support_corpus
from mlsec_helpers.validate import ArgumentTypeError, NotFittedError


@pytest.fixture(scope="module")
def triage():
    corpus = generate_support_corpus(600, seed=3)
    y = corpus["label"].map({lab: i for i, lab in enumerate(LABELS)}).to_numpy()
    return systems.TextTriage(char_ngrams=False).fit(corpus["text"].to_numpy(dtype=object), y)


@pytest.fixture(scope="module")
def ref(triage):
    texts = generate_support_corpus(300, seed=4)["text"].tolist()
    return nlp.TextMonitors.fit(triage, texts, n_components=4)


@pytest.fixture(scope="module")
def scored(ref):
    traffic = nlp.message_traffic(6.0, seed=1, warm_up=3)
    return pd.concat([traffic, ref.features(traffic["text"].tolist())], axis=1)


def test_message_traffic_covers_the_week_and_is_seeded():
    a = nlp.message_traffic(5.0, seed=2, warm_up=4)
    b = nlp.message_traffic(5.0, seed=2, warm_up=4)
    pd.testing.assert_frame_equal(a, b)
    assert a["hour"].min() >= -4 and a["hour"].max() <= common.HOURS - 1
    assert set(a["label"]) <= set(LABELS)
    assert not a["is_attack"].any() and (a["source"] == "customer").all()
    assert not a["hour"].diff().lt(0).any()  # in arrival order


@pytest.mark.parametrize("kwargs, error", [
    ({"per_hour": 0.5}, ValueError), ({"per_hour": "many"}, ArgumentTypeError),
    ({"seed": -1}, ValueError), ({"warm_up": -2}, ValueError)])
def test_message_traffic_bad_input(kwargs, error):
    with pytest.raises(error):
        nlp.message_traffic(**kwargs)


def test_launch_messages_bring_new_words_and_true_intents():
    launch = nlp.launch_messages(40, seed=0)
    assert len(launch) == 40
    assert set(launch["label"]) <= set(LABELS) - {"scam"}
    assert launch["text"].str.contains("larkpay|metal", case=False).mean() > 0.9
    assert nlp.launch_messages(0).empty
    with pytest.raises(ValueError):
        nlp.launch_messages(-1)
    with pytest.raises(ValueError):
        nlp.launch_messages(3, typo_fraction=1.5)


def test_scam_campaign_crafts_scams_against_the_triage(triage):
    campaign = nlp.scam_campaign(triage, 12, seed=0, query_budget=60)
    assert len(campaign) == 12
    assert (campaign["label"] == "scam").all() and campaign["is_attack"].all()
    passed = triage.predict(campaign["text"].to_numpy(dtype=object)) != nlp.SCAM_INDEX
    np.testing.assert_array_equal(passed, campaign["evaded"].to_numpy())
    assert (campaign["text"] != campaign["original"]).any()


def test_scam_campaign_bad_input(triage):
    with pytest.raises(NotFittedError):
        nlp.scam_campaign(systems.TextTriage(char_ngrams=False), 5)
    with pytest.raises(ValueError):
        nlp.scam_campaign(triage, 0)
    with pytest.raises(ValueError):
        nlp.scam_campaign(triage, 5, attacks=("sarcasm",))


def test_place_messages_assigns_hours_and_cycles():
    rows = pd.DataFrame({"text": ["a", "b", "c"], "is_attack": True, "source": "campaign"})
    placed = nlp.place_messages(rows, [5, 6], [2, 1], source="burst")
    assert placed["hour"].tolist() == [5, 5, 6] and (placed["source"] == "burst").all()
    cycled = nlp.place_messages(rows, range(3), 2, cycle=True)
    assert cycled["text"].tolist() == ["a", "b", "c", "a", "b", "c"]
    with pytest.raises(ValueError, match="cycle=True"):
        nlp.place_messages(rows, range(3), 2)
    with pytest.raises(ValueError):
        nlp.place_messages(rows, [1, 2], [1])
    with pytest.raises(ValueError):
        nlp.place_messages(rows, [common.HOURS], 1)
    with pytest.raises(ValueError):
        nlp.place_messages(pd.DataFrame({"message": ["a"]}), [1], 1)


def test_text_monitors_reference_and_features(ref, triage):
    feats = ref.features(["please refund the fee", "zxqv blorp wibble"])
    assert list(feats.columns[:len(nlp.TEXT_FEATURE_COLUMNS)]) == list(nlp.TEXT_FEATURE_COLUMNS)
    assert feats["n_oov"].iloc[1] == feats["n_tokens"].iloc[1] == 3  # none of them known
    assert feats["n_oov"].iloc[0] < feats["n_tokens"].iloc[0]
    np.testing.assert_allclose(feats["p_scam"], triage.predict_proba(
        ["please refund the fee", "zxqv blorp wibble"])[:, nlp.SCAM_INDEX])
    assert len(ref.embedding_columns) == 4 and len(ref.reference) == 300
    with pytest.raises(ArgumentTypeError):
        ref.features("one message")
    with pytest.raises(ValueError):
        ref.features([])


def test_text_monitors_fit_bad_input(triage):
    with pytest.raises(ValueError):
        nlp.TextMonitors.fit(triage, ["too few"] * 5)
    with pytest.raises(NotFittedError):
        nlp.TextMonitors.fit(systems.TextTriage(), ["x"] * 30)
    rng = np.random.default_rng(0)
    tabular = systems.DiagnosisModel().fit(rng.normal(size=(40, 3)), np.r_[[0] * 20, [1] * 20])
    with pytest.raises(ArgumentTypeError):
        nlp.TextMonitors.fit(tabular, ["some text"] * 30)
    with pytest.raises(ValueError):
        nlp.TextMonitors.fit(triage, ["some text"] * 30, near_miss=1.0)


def test_assemble_text_week_pools_quiet_hours(scored):
    week = nlp.assemble_text_week(scored, min_messages=10, max_hours=4)
    assert len(week) == common.HOURS
    hours = scored["hour"].to_numpy()
    for w in week.windows[:30]:
        now = int((hours == w.hour).sum())
        assert int(w.meta["current"].sum()) == now
        assert len(w) >= min(10, now) and len(w.meta["emb"]) == len(w)
        assert all(len(v) == len(w) for k, v in w.meta.items() if k != "first_hour")
        assert w.hour - w.meta["first_hour"] < 4
    # warm-up messages (negative hours) are pooled into the first hours only
    assert week.windows[0].meta["first_hour"] <= 0
    with pytest.raises(ValueError):
        nlp.assemble_text_week(scored.assign(hour=scored["hour"] + common.HOURS))
    with pytest.raises(ValueError):
        nlp.assemble_text_week(scored.drop(columns="p_scam"))


def test_monitors_and_near_miss_trace(ref, scored):
    week = nlp.assemble_text_week(scored, min_messages=10)
    monitors = nlp.text_monitors(ref, max_reference=100)
    assert [m.kind for m in monitors].count("attack") == 1
    frame = common.run_monitors(week, monitors)
    assert list(frame.columns) == [m.name for m in monitors]
    assert frame["oov_rate"].between(0, 1).all()
    fake = pd.DataFrame({"predicted": [0, 0, nlp.SCAM_INDEX, 0], "p_scam": [0.3, 0.3, 0.9, 0.1],
                         "n_oov": [5, 1, 5, 5], "n_tokens": [10, 10, 10, 10]})
    assert nlp.near_miss_mask(fake).tolist() == [True, False, False, False]
    with pytest.raises(ValueError):
        nlp.near_miss_mask(fake.drop(columns="n_oov"))
    with pytest.raises(ValueError):
        monitors[0](common.Window(0, ["a"], meta={}))
    with pytest.raises(ArgumentTypeError):
        nlp.text_monitors("not a reference")
    with pytest.raises(ValueError):
        nlp.text_monitors(ref, obfuscation=2.0)


def test_visible_hours_and_scams_passed(ref, scored):
    rows = scored.iloc[:6].copy()
    rows["hour"] = 100
    rows["source"] = "burst"
    rows["is_attack"] = True
    week = nlp.assemble_text_week(pd.concat([scored, rows], ignore_index=True), min_messages=10)
    span = nlp.visible_hours(week, "burst")
    assert span.start == 100 and span.stop >= 101
    with pytest.raises(ValueError):
        nlp.visible_hours(week, "nobody")
    with pytest.raises(ArgumentTypeError):
        nlp.visible_hours("week", "burst")
    passed = int((rows["predicted"] != nlp.SCAM_INDEX).sum())
    assert nlp.scams_passed(rows) == passed
    assert nlp.scams_passed(rows, before_hour=100) == 0


def test_pace_campaign_respects_the_thresholds(ref, scored):
    monitors = nlp.text_monitors(ref, max_reference=100)
    pool = scored.iloc[:20].assign(is_attack=True, source="campaign")
    lax = {m.name: 1e9 for m in monitors}
    hours = range(60, 64)
    sent = nlp.pace_campaign(scored, pool, hours, monitors, lax, max_per_hour=3,
                             min_messages=10)
    assert sent.groupby("hour").size().tolist() == [3, 3, 3, 3]
    strict = {m.name: -1.0 for m in monitors}
    assert nlp.pace_campaign(scored, pool, hours, monitors, strict, min_messages=10).empty
    everything = pd.DataFrame(True, index=range(common.HOURS), columns=[m.name for m in monitors])
    sent = nlp.pace_campaign(scored, pool, hours, monitors, strict, max_per_hour=2,
                             honest_alarms=everything, min_messages=10)
    assert len(sent) == 8
    with pytest.raises(ValueError):
        nlp.pace_campaign(scored, pool.iloc[:0], hours, monitors, lax)
    with pytest.raises(ValueError):
        nlp.pace_campaign(scored, pool, hours, monitors, {"oov_rate": 1.0})
    with pytest.raises(ArgumentTypeError):
        nlp.pace_campaign(scored, pool, hours, ["monitor"], lax)
