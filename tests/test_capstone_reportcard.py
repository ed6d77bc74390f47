"""Lab 14 (Capstone): the security report card, its grading rule, its HTML and its targets."""

import datetime as dt
import math

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from mlsec_helpers.capstone import reportcard as rc
from mlsec_helpers.capstone import reportcard_html as rh
from mlsec_helpers.extraction import PredictionAPI
from mlsec_helpers.validate import ArgumentTypeError

# --- the grading rule -----------------------------------------------------------------------


@pytest.mark.parametrize(("low", "high", "grade"), [
    (0.0, 0.04, "A"), (0.0, 0.05, "A"), (0.0, 0.051, "B"), (0.1, 0.2, "C"), (0.2, 0.5, "D"),
    (0.45, 0.51, "F"), (0.9, 1.0, "F")])
def test_grade_interval_reads_the_upper_end_when_higher_is_worse(low, high, grade):
    assert rc.grade_interval(low, high, (0.05, 0.15, 0.30, 0.50)) == grade


def test_grade_interval_reads_the_lower_end_when_higher_is_better():
    cuts = (1000, 500, 200, 100)
    assert rc.grade_interval(1000, 5000, cuts, higher_is_worse=False) == "A"
    assert rc.grade_interval(999, 5000, cuts, higher_is_worse=False) == "B"
    assert rc.grade_interval(150, 2000, cuts, higher_is_worse=False) == "D"
    assert rc.grade_interval(50, 2000, cuts, higher_is_worse=False) == "F"


def test_a_wider_interval_never_earns_a_better_grade():
    cuts = (0.55, 0.60, 0.70, 0.80)
    grades = [rc.grade_interval(0.5 - w, 0.5 + w, cuts) for w in np.linspace(0, 0.4, 30)]
    ranks = [rc.GRADES.index(g) for g in grades]
    assert ranks == sorted(ranks) and grades[0] == "A" and grades[-1] == "F"


@pytest.mark.parametrize(("args", "match"), [
    ((0.5, 0.4, (0.1, 0.2, 0.3, 0.4)), "low must not exceed high"),
    ((math.nan, 0.4, (0.1, 0.2, 0.3, 0.4)), "finite"),
    ((0.1, math.inf, (0.1, 0.2, 0.3, 0.4)), "finite"),
    ((0.1, 0.2, (0.1, 0.2, 0.3)), "four"),
    ((0.1, 0.2, (0.1, 0.2, 0.3, 0.4, 0.5)), "four"),
    ((0.1, 0.2, (0.4, 0.3, 0.2, 0.1)), "increase"),
    ((0.1, 0.2, (0.1, 0.1, 0.3, 0.4)), "increase"),
    ((0.1, 0.2, "abcd"), "four numbers"),
])
def test_grade_interval_refuses_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        rc.grade_interval(*args)


def test_grade_interval_refuses_increasing_cuts_when_higher_is_better():
    with pytest.raises(ValueError, match="decrease"):
        rc.grade_interval(0.1, 0.2, (0.1, 0.2, 0.3, 0.4), higher_is_worse=False)
    with pytest.raises(ValueError, match="True or False"):
        rc.grade_interval(0.1, 0.2, (0.1, 0.2, 0.3, 0.4), higher_is_worse="yes")


def test_grade_scale_is_documented_and_consistent():
    assert {s.category for s in rc.GRADE_SCALE.values()} == set(rc.CATEGORIES)
    for metric, scale in rc.GRADE_SCALE.items():
        assert scale.metric == metric and scale.rationale
        bands = scale.bands()
        assert [b[0] for b in bands] == list(rc.GRADES)
        assert math.isclose(sum(b[2] - b[1] for b in bands), scale.axis[1] - scale.axis[0])
    checks = rc.GRADE_SCALE["failed checks"]
    assert [checks.grade(k, k) for k in range(5)] == list(rc.GRADES)


def test_card_date_comes_from_the_seed():
    assert rc.card_date(0) == rc.REPORT_EPOCH
    assert rc.card_date(3) - rc.card_date(0) == dt.timedelta(days=3)
    with pytest.raises(ValueError):
        rc.card_date(-1)


def test_measurement_checks_itself():
    m = rc.Measurement("privacy", "membership AUC", 0.6, 0.55, 0.66, 100, "x", "how", "fix")
    assert m.grade == "C" and m.graded_on == 0.66 and m.applicable
    assert m.text() == "0.600 [0.550, 0.660]"
    with pytest.raises(ValueError, match="grades privacy"):
        rc.Measurement("fairness", "membership AUC", 0.6, 0.55, 0.66, 100, "x", "h", "i")
    with pytest.raises(ValueError, match="must hold the value"):
        rc.Measurement("privacy", "membership AUC", 0.7, 0.55, 0.66, 100, "x", "h", "i")
    with pytest.raises(ValueError, match="unknown metric"):
        rc.Measurement("privacy", "auc", 0.6, 0.55, 0.66, 100, "x", "h", "i")
    na = rc.not_applicable("fairness", "no groups")
    assert na.grade == "n/a" and na.graded_on is None and na.text() == "n/a"
    with pytest.raises(ValueError, match="why"):
        rc.Measurement("fairness", None, None, None, None, 0, "", "", "")


# --- a small tabular model through from_sklearn ----------------------------------------------


@pytest.fixture(scope="module")
def tabular():
    gen = np.random.default_rng(0)
    n, d = 700, 5
    X = gen.normal(size=(n, d)) + 3.0
    group = gen.integers(0, 2, n)
    logit = 1.5 * (X[:, 0] - 3) - 1.0 * (X[:, 1] - 3) + 1.2 * group
    y = (logit + gen.logistic(size=n) > 0).astype(int)
    X[:, 4] = group + 0.1 * gen.normal(size=n)  # a proxy of the group
    return X[:400], y[:400], X[400:], y[400:], group[400:]


@pytest.fixture(scope="module")
def linear_card(tabular):
    X_tr, y_tr, X_te, y_te, g_te = tabular
    model = LogisticRegression(max_iter=1000).fit(X_tr, y_tr)
    target = rc.AuditTarget.from_sklearn(model, X_tr, y_tr, X_te, y_te, sensitive=g_te,
                                         budget=rc.Budget(attack_inputs=40, members=120,
                                                          theft_queries=120,
                                                          fidelity_inputs=200))
    return target, rc.report_card(target, seed=0)


def test_from_sklearn_card_has_five_graded_categories(linear_card):
    target, card = linear_card
    assert isinstance(card, rc.ReportCard) and card.kind == "tabular"
    assert [m.category for m in card.measurements] == list(rc.CATEGORIES)
    grades = card.grades
    assert set(grades) == set(rc.CATEGORIES)
    assert all(g in (*rc.GRADES, "n/a") for g in grades.values())
    assert grades["supply_chain"] == "n/a"  # no artefact given
    for cat in ("robustness", "privacy", "extraction", "fairness"):
        m = card.measurement(cat)
        assert m.applicable and m.low <= m.value <= m.high and m.n > 0 and m.on and m.how
        assert m.improve
    assert card.measurement("fairness").value > 0.1  # the planted group effect shows
    assert card.measurement("extraction").value > 0.8  # probabilities make theft easy
    frame = card.frame()
    assert list(frame["category"]) == [c.replace("_", " ") for c in rc.CATEGORIES]
    assert {"value", "low", "high", "graded on", "grade", "sample"} <= set(frame.columns)
    assert card.date == rc.card_date(0) and "seed=0" in repr(card)


def test_the_same_seed_gives_the_same_card(linear_card):
    target, card = linear_card
    again = rc.report_card(target, seed=0)
    pd.testing.assert_frame_equal(card.frame(), again.frame())
    assert rh.render_report([card]) == rh.render_report([again])


def test_target_without_sensitive_attribute_marks_fairness_not_applicable(tabular):
    X_tr, y_tr, X_te, y_te, _ = tabular
    model = LogisticRegression(max_iter=1000).fit(X_tr, y_tr)
    target = rc.AuditTarget.from_sklearn(model, X_tr, y_tr, X_te, y_te,
                                         budget=rc.Budget(attack_inputs=20, members=60,
                                                          theft_queries=60))
    m = rc.report_card(target, seed=1).measurement("fairness")
    assert m.grade == "n/a" and "sensitive" in m.reason and m.value is None


def test_defences_move_the_grades_the_expected_way(tabular):
    """Labels plus a query quota make theft harder; regularisation leaks less membership."""
    X_tr, y_tr, X_te, y_te, _ = tabular
    budget = rc.Budget(attack_inputs=40, members=150, theft_queries=200, fidelity_inputs=200)
    deep = DecisionTreeClassifier(random_state=0).fit(X_tr, y_tr)
    weak = rc.AuditTarget.from_sklearn(deep, X_tr, y_tr, X_te, y_te, budget=budget)
    shallow = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X_tr, y_tr)
    quota = rc.AuditTarget.from_sklearn(shallow, X_tr, y_tr, X_te, y_te, budget=budget)
    quota.attacker_session = lambda: PredictionAPI(shallow.predict_proba, output="labels",
                                                   max_queries=10)
    before, after = rc.report_card(weak, seed=0), rc.report_card(quota, seed=0)
    assert before.measurement("privacy").value > 0.6
    assert after.measurement("privacy").high < before.measurement("privacy").low
    assert after.measurement("extraction").details["queries answered"] <= 10
    assert after.measurement("extraction").details["refused"] is True
    table = rc.compare(before, after)
    assert list(table["category"]) == [c.replace("_", " ") for c in rc.CATEGORIES]
    steps = dict(zip(table["category"], table["steps"], strict=True))
    assert steps["privacy"] > 0
    assert table.loc[table["category"] == "supply chain", "change"].item() == "n/a"


def test_compare_refuses_non_cards(linear_card):
    with pytest.raises(ArgumentTypeError, match="ReportCard"):
        rc.compare(linear_card[1], "card")


# --- bad input --------------------------------------------------------------------------------


def test_unknown_domain_is_refused_with_a_suggestion():
    with pytest.raises(ValueError, match="did you mean 'image'"):
        rc.reference_target("imgae", seed=0)
    with pytest.raises(ValueError):
        rc.reference_target("capstone", seed=0)


def test_wrong_shapes_are_refused(tabular):
    X_tr, y_tr, X_te, y_te, g_te = tabular
    model = LogisticRegression(max_iter=500).fit(X_tr, y_tr)
    with pytest.raises(ValueError, match="same features"):
        rc.AuditTarget.from_sklearn(model, X_tr, y_tr, X_te[:, :3], y_te)
    with pytest.raises(ValueError, match="labels"):
        rc.AuditTarget.from_sklearn(model, X_tr, y_tr[:-1], X_te, y_te)
    with pytest.raises(ValueError, match="one group per evaluation row"):
        rc.AuditTarget.from_sklearn(model, X_tr, y_tr, X_te, y_te, sensitive=g_te[:-3])
    with pytest.raises(ValueError, match="two groups"):
        rc.AuditTarget.from_sklearn(model, X_tr, y_tr, X_te, y_te,
                                    sensitive=np.zeros(len(y_te)))
    with pytest.raises(ValueError, match="dimension"):
        rc.AuditTarget.from_sklearn(model, X_tr[:, 0], y_tr, X_te, y_te)
    with pytest.raises(ValueError, match="constraints describe"):
        rc.AuditTarget.from_sklearn(model, X_tr, y_tr, X_te, y_te,
                                    constraints=rc.FeatureConstraints(step=np.ones(3)))
    with pytest.raises(ArgumentTypeError, match="scikit-learn classifier"):
        rc.AuditTarget.from_sklearn(object(), X_tr, y_tr, X_te, y_te)
    with pytest.raises(ValueError, match="unknown kind"):
        rc.AuditTarget("m", "video", X_te, y_te, predict=model.predict)
    with pytest.raises(ValueError, match="predict or predict_proba"):
        rc.AuditTarget("m", "tabular", X_te, y_te)
    with pytest.raises(ValueError, match="unknown category"):
        rc.AuditTarget("m", "tabular", X_te, y_te, predict=model.predict,
                       not_applicable={"speed": "no"})
    with pytest.raises(ArgumentTypeError, match="AuditTarget"):
        rc.report_card(model, seed=0)
    with pytest.raises(ValueError, match="seed"):
        rc.report_card(rc.AuditTarget("m", "tabular", X_te, y_te, predict=model.predict),
                       seed=-1)


class _BrokenProba:
    """A classifier whose 'probabilities' run past 1."""

    classes_ = np.array([0, 1])

    def __init__(self, model, scale):
        self.model, self.scale = model, scale

    def predict(self, X):
        return self.model.predict(X)

    def predict_proba(self, X):
        return self.model.predict_proba(X) * self.scale


@pytest.mark.parametrize("scale", [1.5, -1.0])
def test_probabilities_outside_zero_one_are_refused(tabular, scale):
    X_tr, y_tr, X_te, y_te, _ = tabular
    model = _BrokenProba(LogisticRegression(max_iter=500).fit(X_tr, y_tr), scale)
    target = rc.AuditTarget.from_sklearn(model, X_tr, y_tr, X_te, y_te,
                                         budget=rc.Budget(attack_inputs=5, members=20))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        rc.report_card(target, seed=0)


def test_feature_constraints_check_their_input():
    with pytest.raises(ValueError, match=">= 0"):
        rc.FeatureConstraints(step=np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="at least one feature"):
        rc.FeatureConstraints(step=np.zeros(3))
    with pytest.raises(ValueError, match="boolean mask"):
        rc.FeatureConstraints(step=np.ones(3), integer=np.ones(2, dtype=bool))
    box = rc.FeatureConstraints(step=np.array([0.5, 0.0, 2.0]), lower=np.zeros(3),
                                integer=np.array([False, False, True]))
    moved = box.clip(np.array([[3.0, 9.0, 0.4]]), np.array([1.0, 1.0, 1.0]))
    assert moved.tolist() == [[1.5, 1.0, 0.0]]
    assert box.mutable.tolist() == [0, 2]


def test_box_attack_finds_the_corner_of_a_linear_model():
    """With probabilities, the card's black-box attack reaches the worst corner of the box."""
    w = np.array([1.0, -2.0, 0.5])

    def proba(X):
        p = 1 / (1 + np.exp(-(np.asarray(X) @ w - 0.2)))
        return np.column_stack([1 - p, p])

    X = np.array([[0.5, 0.0, 0.0], [0.1, -0.1, 0.2]])
    y = proba(X).argmax(1)
    box = rc.FeatureConstraints(step=np.full(3, 0.3))
    evaded, used, has_proba = rc._box_attack(proba, X, y, box, queries=10, seed=0)
    assert has_proba and evaded.all() and (used <= 10).all()


# --- supply chain -----------------------------------------------------------------------------


def test_a_bare_pickle_fails_every_check_but_none_crashes(tabular, tmp_path):
    X_tr, y_tr, X_te, y_te, _ = tabular
    model = LogisticRegression(max_iter=500).fit(X_tr, y_tr)
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    shipped = path.read_bytes()
    target = rc.AuditTarget.from_sklearn(model, X_tr, y_tr, X_te, y_te, artefact=path,
                                         budget=rc.Budget(attack_inputs=5, members=20,
                                                          theft_queries=30))
    m = rc.report_card(target, seed=0).measurement("supply_chain")
    assert m.details["safe format"] is False and m.details["signature verifies"] is False
    assert m.details["dependencies pinned"] is False
    assert m.value >= 3 and m.grade in ("D", "F") and m.low == m.high == m.value
    assert path.read_bytes() == shipped  # the card tampers with copies only


def test_lab11_packaging_passes_every_check(tabular, tmp_path):
    from mlsec_helpers import systems

    X_tr, y_tr, *_ = tabular
    system = systems.SklearnSystem(LogisticRegression(max_iter=500), domain="medical")
    system.fit(X_tr, y_tr)
    artefact = rc._lab11_artefact(system, "medical")(tmp_path / "shipped")
    (tmp_path / "work").mkdir()
    checks = rc.supply_chain_checks(artefact, tmp_path / "work", seed=0, trials=3)
    assert checks["passed"].all(), checks
    assert "3 of 3" in checks.loc[checks["check"] == "tampered copy refused",
                                  "evidence"].item()
    assert not any((tmp_path / "work").iterdir())  # every tampered copy was removed
    with pytest.raises(ArgumentTypeError, match="Artefact"):
        rc.supply_chain_checks(str(tmp_path), tmp_path)


def test_artefact_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError):
        rc.Artefact(tmp_path / "missing.joblib")


# --- image and text targets built by hand -----------------------------------------------------


def test_a_torch_image_model_is_attacked_with_pgd():
    gen = np.random.default_rng(0)
    X = gen.random((80, 1, 8, 8)).astype(np.float32)
    y = (X[:, 0, :4].mean((1, 2)) > X[:, 0, 4:].mean((1, 2))).astype(int)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.as_tensor(X)), torch.as_tensor(y)).backward()
        opt.step()

    def proba(images):
        with torch.no_grad():
            return torch.softmax(model(torch.as_tensor(np.asarray(images))), 1).numpy()

    target = rc.AuditTarget("tiny images", "image", X[40:], y[40:], X_members=X[:40],
                            y_members=y[:40], predict_proba=proba, white_box=model, eps=0.2,
                            budget=rc.Budget(attack_inputs=20, members=40, theft_queries=40,
                                             fidelity_inputs=40))
    card = rc.report_card(target, seed=0)
    rob = card.measurement("robustness")
    assert "PGD" in rob.how and rob.value > 0.5
    assert card.grades["fairness"] == "n/a" and card.grades["supply_chain"] == "n/a"
    with pytest.raises(ValueError, match="pixels"):
        rc.AuditTarget("bad", "image", X * 255, y, predict_proba=proba)


def test_a_text_model_with_labels_only():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    words = ["refund", "card", "blocked", "prize", "winner", "urgent", "hello", "thanks"]
    gen = np.random.default_rng(1)
    texts = [" ".join(gen.choice(words, 6)) for _ in range(200)]
    y = np.array([int(("prize" in t) or ("winner" in t)) for t in texts])
    pipe = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)),
                         LogisticRegression(max_iter=500)).fit(texts[:120], y[:120])
    target = rc.AuditTarget("tiny triage", "text", texts[120:], y[120:],
                            X_members=texts[:120], y_members=y[:120], predict=pipe.predict,
                            attack_classes=(1,),
                            budget=rc.Budget(attack_inputs=10, attack_queries=8, members=40,
                                             theft_queries=60, fidelity_inputs=60))
    card = rc.report_card(target, seed=0)
    assert "labels-only" in card.measurement("robustness").how
    assert "gap attack" in card.measurement("privacy").how
    assert card.measurement("extraction").details["answers"] == "labels"
    with pytest.raises(ArgumentTypeError, match="strings"):
        rc.AuditTarget("bad", "text", [1, 2], [0, 1], predict=pipe.predict)
    with pytest.raises(ArgumentTypeError, match="not one string"):
        rc.AuditTarget("bad", "text", "one text", [0], predict=pipe.predict)


def test_override_must_return_its_category(tabular):
    X_tr, y_tr, X_te, y_te, _ = tabular
    model = LogisticRegression(max_iter=500).fit(X_tr, y_tr)
    target = rc.AuditTarget("m", "tabular", X_te, y_te, predict=model.predict,
                            overrides={"privacy": lambda t, s: rc.not_applicable("fairness",
                                                                                 "x")})
    with pytest.raises(ValueError, match="Measurement of privacy"):
        rc.report_card(target, seed=0)


# --- the HTML report --------------------------------------------------------------------------


def test_html_report_is_one_self_contained_file(linear_card, tmp_path):
    _, card = linear_card
    path = card.to_html(tmp_path / "card.html")
    text = path.read_text(encoding="utf-8")
    assert path.exists() and list(tmp_path.iterdir()) == [path]
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text.lower() and "@import" not in text
    assert rh.network_references(text) == []
    assert text.startswith("<!DOCTYPE html>") and "<style>" in text and "<svg" in text
    assert card.name in text and card.date.isoformat() in text
    for m in card.measurements:
        assert m.grade in text
    assert "The grading scale" in text


def test_html_escapes_names(linear_card, tmp_path):
    _, card = linear_card
    evil = rc.ReportCard('<script src="https://x.example/a.js"></script>', card.kind,
                         card.seed, card.date, card.measurements)
    text = rh.render_report([evil])
    assert "<script" not in text and "&lt;script src=&quot;" in text
    with pytest.raises(ValueError, match="reach the network"):
        rh.write_report(evil, tmp_path / "evil.html")


@pytest.mark.parametrize("snippet", [
    '<script src="app.js"></script>', "<img src='https://cdn.example/x.png'>",
    '<link rel="stylesheet" href="//fonts.example/css">',
    "<style>@import 'theme.css';</style>", "<div style=\"background:url(/bg.png)\"></div>",
    "see http://example.org"])
def test_network_references_catches_what_a_browser_would_fetch(snippet):
    assert rh.network_references(f"<html><body>{snippet}</body></html>")


def test_network_references_allows_data_uris_and_fragments():
    page = ('<html><body><img src="data:image/png;base64,AAAA"><a href="#top">top</a>'
            "<svg width='4' height='4'><rect width='4' height='4'/></svg></body></html>")
    assert rh.network_references(page) == []


def test_report_with_comparison_and_iframe(linear_card, tabular, tmp_path):
    _, card = linear_card
    text = rh.render_report([card, card], title="Two cards", comparisons=[(card, card)])
    assert text.count("<h2>") == 4 and "Grade changes" in text
    frame = rh.inline_frame(text, height=300)
    assert frame.startswith("<iframe srcdoc=") and "&lt;!DOCTYPE html&gt;" in frame
    with pytest.raises(ValueError, match="at least one card"):
        rh.render_report([])
    with pytest.raises(FileNotFoundError):
        rh.write_report(card, tmp_path / "missing" / "card.html")
    svg = rh.grade_bar_svg(rc.not_applicable("fairness", "none"))
    assert "not applicable" in svg
    with pytest.raises(ArgumentTypeError):
        rh.grade_bar_svg("A")


# --- the reference systems --------------------------------------------------------------------


def test_medical_reference_card():
    card = rc.report_card(rc.reference_target("medical", seed=0), seed=0)
    assert card.grades["fairness"] == "n/a" and "WDBC" in card.measurement("fairness").reason
    assert card.grades["supply_chain"] == "A"
    assert card.measurement("extraction").value > 0.9  # probabilities give the model away
    assert card.measurement("robustness").value > 0.0


def test_recommender_reference_card_measures_what_ranking_means():
    card = rc.report_card(rc.reference_target("recommender", seed=0), seed=0)
    assert card.kind == "ranking"
    assert card.measurement("extraction").metric == "overlap@10"
    assert "long-tail" in card.measurement("fairness").how
    assert all(m.applicable for m in card.measurements)


def test_image_reference_card_uses_pgd_and_marks_fairness():
    target = rc.reference_target("image", seed=1)
    target.budget = rc.Budget(attack_inputs=30, members=60, theft_queries=100,
                              fidelity_inputs=100)
    card = rc.report_card(target, seed=1)
    assert "PGD" in card.measurement("robustness").how
    assert "FGSM success at the same eps" in card.measurement("robustness").details
    assert card.grades["fairness"] == "n/a" and card.grades["supply_chain"] == "A"
    assert "seed-0 checkpoint" in card.description


@pytest.mark.parametrize("domain", ["nlp", "fraud"])
def test_nlp_and_fraud_reference_cards_use_their_labs_attacks(domain):
    target = rc.reference_target(domain, seed=0)
    target.budget = rc.Budget(attack_inputs=10, attack_queries=10, members=60,
                              theft_queries=100, fidelity_inputs=100, bootstrap=200)
    target.artefact = None  # lab 11's packaging is tested above; skops is slow on the triage
    card = rc.report_card(target, seed=0)
    rob, fair = card.measurement("robustness"), card.measurement("fairness")
    if domain == "nlp":
        assert "labels-only" in rob.how and "registers" in fair.on
        assert card.measurement("extraction").details["answers"] == "labels"
    else:
        assert "constrained attack" in rob.how and rob.value > 0.5
        assert "false positive rate" in fair.how and "customer region" in fair.on
    assert card.grades["supply_chain"] == "n/a"


def test_thief_pool_and_fidelity_inputs_never_overlap(linear_card):
    target, _ = linear_card
    pool, idx, fid = rc._theft_sets(target, seed=3)
    queried = {tuple(r) for r in pool[idx]}
    assert len(idx) <= len(target.X_eval) // 2
    assert not queried & {tuple(r) for r in fid}
    assert len(idx) + len(fid) == len(target.X_eval)


# --- the capstone system ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def capstone():
    from mlsec_helpers.capstone import system as cap

    weak = cap.capstone_system(0)
    hard = cap.harden(weak, [k for k, c in cap.CONTROLS.items() if c.changes_code])
    yield cap, weak, hard
    weak.close()
    hard.close()


def test_capstone_cards_improve_with_the_controls(capstone):
    cap, weak, hard = capstone
    before = rc.report_card(rc.capstone_target(weak), seed=0)
    after = rc.report_card(rc.capstone_target(hard), seed=0)
    assert all(m.applicable for m in before.measurements + after.measurements)
    table = rc.compare(before, after)
    assert (table["steps"] >= 0).all() and table["steps"].sum() >= 6
    assert before.measurement("privacy").low > 0.8 > 0.6 > after.measurement("privacy").high
    assert before.measurement("supply_chain").value == 3
    assert after.measurement("supply_chain").value == 0
    theft = after.measurement("extraction").details
    assert theft["refused"] and theft["queries answered"] == cap.QUERY_BUDGET
    assert theft["answers"] == "labels"  # one-hot decisions are read as labels
    assert "probabilities" in rob_how(before) and "labels" in rob_how(after)
    assert "race" in before.measurement("fairness").on


def rob_how(card):
    return card.measurement("robustness").how


def test_capstone_target_refuses_other_things(capstone):
    cap, weak, _ = capstone
    with pytest.raises(ArgumentTypeError, match="CapstoneSystem"):
        rc.capstone_target("weak")
    closed = cap.capstone_system(1)
    closed.close()
    with pytest.raises(ValueError, match="closed"):
        rc.capstone_target(closed)


def test_html_parses_with_balanced_tags(linear_card):
    from html.parser import HTMLParser

    _, card = linear_card
    text = rh.render_report([card], comparisons=[(card, card)])
    void = {"meta", "br", "img", "link", "input", "hr", "rect", "line", "circle"}
    stack = []

    class Checker(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag not in void:
                stack.append(tag)

        def handle_startendtag(self, tag, attrs):
            pass

        def handle_endtag(self, tag):
            if tag in void:
                return
            assert stack and stack[-1] == tag, (tag, stack[-3:])
            stack.pop()

    Checker().feed(text)
    assert stack == []
