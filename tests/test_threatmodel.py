"""The threat-model helpers of lab 01: validation, risk arithmetic, register, export, figures.

The probes of lab 01 are tested in tests/test_probes.py."""

import dataclasses
import itertools

import pandas as pd
import plotly.graph_objects as go
import pytest

from mlsec_helpers import catalogue, frameworks, stats
from mlsec_helpers import threatmodel as tm
from mlsec_helpers.threatmodel import (
    Actor,
    Asset,
    Control,
    DataFlow,
    EntryPoint,
    Flow,
    Node,
    Threat,
    ThreatModel,
    TrustBoundary,
)

THREAT = dict(id="T1", title="a threat", category="evasion", actor="X1", assets=("A1",),
              entry_point="E1", atlas=("AML.T0015",), owasp=("ML01",), likelihood=3, impact=4,
              controls=("C1",))


def _threat(**changes):
    return Threat(**(THREAT | changes))


def _control(id_="C1", lik=1, imp=0, cost=1):
    return Control(id_, f"control {id_}", "PR", "SAIF-1", 2, cost=cost,
                   likelihood_reduction=lik, impact_reduction=imp)


def _model(**changes):
    fields = dict(
        domain="image", system="toy", description="a toy system",
        assets=(Asset("A1", "data", "training data"),),
        actors=(Actor("X1", "someone", "external attacker"),),
        entry_points=(EntryPoint("E1", "API", "serving", "api", "public"),),
        controls=(_control(),), threats=(_threat(),),
        dataflow=DataFlow((Node("api", "API", "process", 0, 0),), ()),
    )
    return ThreatModel(**(fields | changes))


# --- bad input gives a clear error ------------------------------------------------------------


@pytest.mark.parametrize(("changes", "error", "message"), [
    (dict(likelihood=7), ValueError, "likelihood must be an integer from 1 to 5"),
    (dict(likelihood=0), ValueError, "from 1 to 5"),
    (dict(impact=6), ValueError, "impact must be an integer from 1 to 5"),
    (dict(likelihood=3.0), TypeError, "must be an integer"),
    (dict(likelihood="3"), TypeError, "must be an integer"),
    (dict(impact=True), TypeError, "must be an integer"),
    (dict(atlas=("AML.T9999",)), ValueError, "unknown MITRE ATLAS technique 'AML.T9999'"),
    (dict(atlas=("AML.TA0002",)), ValueError, "is a tactic"),
    (dict(atlas=()), ValueError, "at least 1"),
    (dict(owasp=("ML11",)), ValueError, "unknown OWASP ML Top 10 item 'ML11'"),
    (dict(owasp=("LLM01",)), ValueError, "OWASP Top 10 for LLM"),
    (dict(owasp=("ML01:2019",)), ValueError, "edition 2019"),
    (dict(category="evasoin"), ValueError, "did you mean 'evasion'"),
    (dict(assets=()), ValueError, "at least 1"),
    (dict(id="bad id!"), ValueError, "short ID"),
    (dict(title=""), ValueError, "must not be empty"),
    (dict(controls=("C1", "C1")), ValueError, "twice"),
])
def test_threat_rejects_bad_input(changes, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        _threat(**changes)


def test_threat_canonicalises_ids():
    t = _threat(atlas=(" aml.t0043.000",), owasp=("ml01:2023",), category="Membership inference")
    assert t.atlas == ("AML.T0043.000",) and t.owasp == ("ML01",)
    assert t.category == "membership_inference" and t.lab == 5
    assert t.inherent == 12


@pytest.mark.parametrize(("build", "message"), [
    (lambda: Control("C", "c", "Prevent", "SAIF-1", 2), "unknown NIST CSF 2.0 function"),
    (lambda: Control("C", "c", "PR", "SAIF-R-DP", 2), "is a SAIF risk"),
    (lambda: Control("C", "c", "PR", "SAIF-9", 2), "unknown SAIF"),
    (lambda: Control("C", "c", "PR", "SAIF-1", 99), "unknown lab 99"),
    (lambda: Control("C", "c", "PR", "SAIF-1", 2, likelihood_reduction=5), "<= 4"),
    (lambda: Control("C", "c", "PR", "SAIF-1", 2, cost=-1), "cost"),
    (lambda: Control("C", "c", "PR", "SAIF-1", 2, atlas_mitigations=("AML.M0999",)),
     "unknown MITRE ATLAS mitigation"),
    (lambda: Asset("A", "a", "secrets"), "unknown asset kind"),
    (lambda: Actor("X", "x", "alien"), "unknown actor kind"),
    (lambda: EntryPoint("E", "e", "deployment", "api", "public"), "unknown lifecycle stage"),
    (lambda: EntryPoint("E", "e", "serving", "api", "anyone"), "unknown access level"),
    (lambda: Node("n", "n", "cloud", 0, 0), "unknown node kind"),
])
def test_records_reject_bad_input(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_control_canonicalises_framework_ids():
    c = Control("C", "c", "protect", "saif-2", 13, atlas_mitigations=("aml.m0015",))
    assert (c.nist, c.saif, c.atlas_mitigations) == ("PR", "SAIF-2", ("AML.M0015",))
    assert "PR, SAIF-2" in c.label


@pytest.mark.parametrize(("changes", "message"), [
    (dict(threats=(_threat(actor="X9"),)), "unknown actor 'X9'"),
    (dict(threats=(_threat(assets=("A9",)),)), "unknown asset 'A9'"),
    (dict(threats=(_threat(entry_point="E9"),)), "unknown entry point 'E9'"),
    (dict(threats=(_threat(controls=("C9",)),)), "unknown control 'C9'"),
    (dict(threats=(_threat(), _threat())), "duplicate threats IDs: T1"),
    (dict(applied=("C9",)), "applied control 'C9'"),
    (dict(entry_points=(EntryPoint("E1", "API", "serving", "nowhere", "public"),)),
     "node 'nowhere'"),
    (dict(domain="audio"), "unknown domain"),
])
def test_model_rejects_broken_references(changes, message):
    with pytest.raises(ValueError, match=message):
        _model(**changes)


def test_model_rejects_wrong_types():
    with pytest.raises(TypeError, match="Threat objects"):
        _model(threats=("T1",))
    with pytest.raises(TypeError, match="DataFlow"):
        _model(dataflow="a picture")


def test_dataflow_rejects_unknown_nodes():
    node = Node("a", "A", "process", 0, 0)
    with pytest.raises(ValueError, match="unknown node 'b'"):
        DataFlow((node,), (Flow("a", "b"),))
    with pytest.raises(ValueError, match="unknown nodes"):
        DataFlow((node,), (), (TrustBoundary("t", "t", ("z",)),))
    with pytest.raises(ValueError, match="finite number"):
        Node("a", "A", "process", float("nan"), 0)
    with pytest.raises(TypeError, match="must be a number"):
        Node("a", "A", "process", "left", 0)


# --- risk arithmetic ---------------------------------------------------------------------------


def test_score_and_bands():
    assert tm.risk_score(3, 4) == 12
    assert [tm.risk_band(s) for s in (1, 4, 5, 9, 10, 14, 15, 25)] == [
        "low", "low", "medium", "medium", "high", "high", "critical", "critical"]
    with pytest.raises(ValueError, match=">= 1, <= 25"):
        tm.risk_band(26)
    with pytest.raises(ValueError, match="from 1 to 5"):
        tm.risk_score(7, 1)


def test_residual_risk_adds_steps_and_floors_at_one():
    assert tm.residual_risk(4, 5, [_control(lik=1), _control(lik=1, imp=1)]) == (2, 4, 8)
    assert tm.residual_risk(2, 3, [_control(lik=2), _control(lik=1)]) == (1, 3, 3)
    assert tm.residual_risk(5, 4, []) == (5, 4, 20)
    with pytest.raises(TypeError, match="Control objects"):
        tm.residual_risk(3, 3, ["C1"])
    with pytest.raises(ValueError, match="from 1 to 5"):
        tm.residual_risk(7, 3, [])


def test_total_residual_counts_only_the_threats_controls():
    threats = [_threat(id="T1", controls=("C1",)), _threat(id="T2", controls=())]
    assert tm.total_residual(threats, []) == 24
    assert tm.total_residual(threats, [_control("C1", lik=2)]) == 4 + 12


def test_optimal_controls_is_the_brute_force_optimum():
    controls = [_control("A", 2, cost=3), _control("B", 1, cost=1), _control("C", 1, cost=1),
                _control("D", 2, 1, cost=2)]
    threats = [_threat(id="R1", likelihood=5, impact=5, controls=("A",)),
               _threat(id="R2", likelihood=3, impact=3, controls=("B", "D")),
               _threat(id="R3", likelihood=2, impact=4, controls=("C", "D"))]
    best = min(
        (tm.total_residual(threats, s), sum(c.cost for c in s)) for k in range(5)
        for s in itertools.combinations(controls, k) if sum(c.cost for c in s) <= 4)
    chosen = tm.optimal_controls(threats, controls, 4)
    picked = [c for c in controls if c.id in chosen]
    assert (tm.total_residual(threats, picked), sum(c.cost for c in picked)) == best
    assert tm.optimal_controls(threats, controls, 0) == ()
    with pytest.raises(ValueError, match="budget"):
        tm.optimal_controls(threats, controls, -1)
    with pytest.raises(ValueError, match="exhaustive"):
        tm.optimal_controls(threats, controls * 5, 4, max_controls=16)


@pytest.mark.parametrize(("rate", "access", "white_box", "expected"), [
    (0.75, "public", False, 5), (0.3, "public", False, 4), (0.05, "public", False, 3),
    (1.0, "partner", False, 3), (0.32, "account", True, 2), (0.0, "insider", True, 1),
    (0.9, "public", False, 5),
])
def test_likelihood_from_evidence(rate, access, white_box, expected):
    assert tm.likelihood_from_evidence(rate, access, white_box) == expected


@pytest.mark.parametrize(("hits", "n", "access", "white_box", "expected"), [
    (30, 40, "public", False, 5),    # interval [0.60, 0.86] lies above 50%: +1
    (4, 4, "public", False, 4),      # 100% of 4: interval above 50%, but fewer than 5 successes
    (12, 20, "public", False, 4),    # 60% of 20: interval reaches below 50%, no step
    (0, 10, "public", False, 4),     # 0 of 10: interval reaches 28%, no step down
    (0, 40, "public", False, 3),     # 0 of 40: interval below 10%, -1
    (1, 2, "account", False, 3),     # one or two events move nothing
    (61, 191, "account", True, 2),   # the image probe: white-box discount only
    (114, 114, "partner", False, 3),
])
def test_likelihood_from_evidence_uses_the_interval(hits, n, access, white_box, expected):
    rate = stats.proportion(hits, n, on="test cases")
    assert tm.likelihood_from_evidence(rate, access, white_box) == expected


def test_likelihood_from_evidence_needs_a_proportion():
    auc = stats.Rate(0.9, 0.8, 0.95, 100, "an AUC")
    with pytest.raises(ValueError, match="proportion"):
        tm.likelihood_from_evidence(auc, "public")


def test_a_bias_threat_carries_no_owasp_id():
    bias = _threat(category="bias", actor=None, atlas=("AML.T0048.003",), owasp=())
    assert bias.owasp == ()
    assert catalogue.THREAT_CATEGORIES["bias"].owasp == ()
    with pytest.raises(ValueError, match="at least 1"):
        _threat(owasp=())  # every other category needs one
    m = tm.reference_model("nlp")
    assert m.threat("NLP-T6").category == "bias" and m.threat("NLP-T6").owasp == ()
    skewed = m.with_threat(dataclasses.replace(m.threat("NLP-T6"), owasp=("ML08",)))
    assert ("owasp", "NLP-T6") in tm.gaps(skewed)
    assert "expected none" in tm.describe_gaps(tm.gaps(skewed), skewed)


def test_likelihood_from_evidence_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        tm.likelihood_from_evidence(1.5, "public")
    with pytest.raises(ValueError, match="unknown access level"):
        tm.likelihood_from_evidence(0.5, "moon")
    with pytest.raises(TypeError):
        tm.likelihood_from_evidence("high", "public")


# --- the reference models ---------------------------------------------------------------------


def test_reference_models_are_complete_and_valid():
    models = tm.reference_models()
    assert list(models) == list(catalogue.DOMAINS)
    for domain, m in models.items():
        assert tm.gaps(m) == [], domain
        assert {t.category for t in m.threats} == set(tm.THREAT_CATEGORIES)
        for t in m.threats:
            assert all(frameworks.validate_atlas_id(a) == a for a in t.atlas)
            assert all(frameworks.validate_owasp_id(o) == o for o in t.owasp)
            assert catalogue.get_lab(t.lab).number == tm.THREAT_CATEGORIES[t.category].lab
        for c in m.controls:
            assert c.nist in frameworks.NIST_CSF_FUNCTIONS and c.saif in frameworks.SAIF_ELEMENTS
    nist = {c.nist for m in models.values() for c in m.controls}
    assert nist == set(frameworks.NIST_CSF_FUNCTIONS), "every NIST CSF function is used"
    with pytest.raises(ValueError, match="unknown domain"):
        tm.reference_model("speech")


def test_gaps_report_what_is_missing():
    m = tm.reference_model("nlp")
    fewer = dataclasses.replace(m, threats=tuple(t for t in m.threats if t.category != "bias"))
    assert ("category", "bias") in tm.gaps(fewer)
    wrong = m.with_threat(dataclasses.replace(m.threat("NLP-T4"), owasp=("ML03",)))
    assert ("owasp", "NLP-T4") in tm.gaps(wrong)
    text = tm.describe_gaps(tm.gaps(wrong), wrong)
    assert "NLP-T4 (membership_inference: expected one of ML04)" in text
    assert tm.describe_gaps([]) == "complete"
    with pytest.raises(TypeError):
        tm.gaps("a model")


def test_with_scores_and_applied_return_checked_copies():
    m = tm.reference_model("fraud")
    m2 = m.with_scores("FRD-T1", likelihood=5, evidence="measured")
    assert m2.threat("FRD-T1").likelihood == 5 and m.threat("FRD-T1").likelihood == 4
    assert [t.id for t in m2.threats] == [t.id for t in m.threats]
    with pytest.raises(ValueError, match="from 1 to 5"):
        m.with_scores("FRD-T1", likelihood=7)
    with pytest.raises(KeyError):
        m.with_scores("FRD-T99", likelihood=2)
    with pytest.raises(ValueError, match="applied control"):
        m.with_applied(["FRD-C99"])


# --- the register and its export ---------------------------------------------------------------


def test_register_rows_and_order():
    m = tm.reference_model("medical")
    reg = m.register()
    assert len(reg) == len(m.threats)
    assert (reg["residual"] <= reg["inherent"]).all()
    assert list(reg["residual"]) == sorted(reg["residual"], reverse=True)
    assert reg["treated in"].str.match(r"lab \d\d ").all()
    none = m.register(applied=())
    assert (none["residual"] == none["inherent"]).all()
    every = m.register(applied=[c.id for c in m.controls])
    assert every["residual"].sum() < reg["residual"].sum()
    with pytest.raises(ValueError, match="unknown controls"):
        m.register(applied=["MED-C99"])


def test_register_uses_a_given_residual_function():
    m = tm.reference_model("image")
    reg = m.register(residual_fn=lambda lik, imp, controls: (1, 1, 1))
    assert (reg["residual"] == 1).all()


def test_markdown_and_csv_export(tmp_path):
    m = tm.reference_model("nlp")
    reg = m.register()
    md = tm.register_to_markdown(reg)
    lines = md.strip().splitlines()
    assert len(lines) == len(reg) + 2 and lines[1].startswith("|---")
    weird = reg.copy()
    weird.loc[0, "threat"] = "a | b"
    assert "a \\| b" in tm.register_to_markdown(weird)
    path = tmp_path / "register.csv"
    text = tm.register_to_csv(reg, path)
    back = pd.read_csv(path)
    assert path.read_text() == text
    assert list(back["id"]) == list(reg["id"]) and list(back["residual"]) == list(reg["residual"])
    assert m.to_markdown().startswith("# Risk register: support-chat triage")
    assert m.to_csv() == text
    with pytest.raises(TypeError):
        tm.register_to_csv("a register")
    with pytest.raises(ValueError, match="lacks the columns"):
        tm.register_to_markdown(reg[["id"]])


# --- figures and the widget --------------------------------------------------------------------


def test_dataflow_figure_draws_boxes_boundaries_and_entry_points():
    m = tm.reference_model("fraud")
    fig = tm.dataflow_figure(m, title="x")
    assert isinstance(fig, go.Figure)
    dashed = [s for s in fig.layout.shapes if s.line.dash == "dash"]
    assert len(dashed) == len(m.dataflow.boundaries)
    assert len(fig.layout.shapes) == len(m.dataflow.nodes) + len(m.dataflow.boundaries)
    eps = [t for t in fig.data if t.name == "entry point"][0]
    assert list(eps.text) == [e.id for e in m.entry_points]
    assert any("FRD-T1" in h for h in eps.hovertext)
    assert isinstance(tm.overview_figure(), go.Figure)
    with pytest.raises(TypeError):
        tm.dataflow_figure("a diagram")
    with pytest.raises(ValueError, match="no data-flow diagram"):
        tm.dataflow_figure(dataclasses.replace(m, dataflow=None))


def test_risk_matrix_and_ranking_figures():
    reg = pd.concat([m.register() for m in tm.reference_models().values()], ignore_index=True)
    fig = tm.risk_matrix_figure(reg, "both")
    markers = [t for t in fig.data if isinstance(t, go.Scatter) and t.x and t.x[0] is not None]
    assert sum(len(t.x) for t in markers) == 2 * len(reg)
    assert isinstance(tm.risk_matrix_figure(reg, "residual"), go.Figure)
    with pytest.raises(ValueError, match="unknown matrix view"):
        tm.risk_matrix_figure(reg, "future")
    ranking = tm.ranking_figure(reg, top=10)
    assert len(ranking.data[0].y) == 10
    with pytest.raises(ValueError):
        tm.ranking_figure(reg, top=0)
    with pytest.raises(ValueError, match="lacks the columns"):
        tm.risk_matrix_figure(reg[["id"]])


def test_risk_explorer_redraws_when_controls_or_scores_change():
    models = tm.reference_models()
    explorer = tm.RiskExplorer(models, applied=[], top=5)
    fig = explorer.update()
    assert isinstance(fig, go.Figure) and len(fig.data[1].y) == 5
    none = explorer.last_register["residual"].sum()
    everything = [c.id for m in models.values() for c in m.controls]
    explorer.set_applied(everything)
    assert explorer.last_register["residual"].sum() < none
    assert explorer.cost == sum(c.cost for m in models.values() for c in m.controls)
    explorer.set_applied([])
    explorer.set_scores("IMG-T4", 5, 5)
    assert explorer.last_register.iloc[0]["id"] == "IMG-T4"
    explorer.threat.value = "IMG-T4"
    assert (explorer.likelihood.value, explorer.impact.value) == (5, 5)
    explorer.impact.value = 1  # moving a slider re-scores and redraws
    assert explorer.overrides["IMG-T4"] == (5, 1)
    explorer.controls.value = ("IMG-C5",)  # ticking a control redraws too
    assert "IMG-C5" in set(explorer.last_register["applied"])
    assert "controls applied" in explorer.summary.value
    with pytest.raises(ValueError, match="unknown controls"):
        explorer.set_applied(["NOPE"])
    with pytest.raises(ValueError, match="from 1 to 5"):
        explorer.set_scores("IMG-T4", 7, 1)
    with pytest.raises(ValueError, match="at least one"):
        tm.RiskExplorer([])


def test_gaps_check_atlas_against_the_category():
    m = tm.reference_model("image")
    wrong = m.with_threat(dataclasses.replace(m.threat("IMG-T4"), atlas=("AML.T0024.002",)))
    assert ("atlas", "IMG-T4") in tm.gaps(wrong), "extraction is not membership inference"
    sub = m.with_threat(dataclasses.replace(m.threat("IMG-T1"), atlas=("AML.T0043.002",)))
    assert ("atlas", "IMG-T1") not in tm.gaps(sub), "a sub-technique of a usual one fits"


def test_threat_categories_are_the_catalogues():
    assert tm.THREAT_CATEGORIES is catalogue.THREAT_CATEGORIES
    assert tm.ThreatCategory is catalogue.ThreatCategory


def test_names_are_forgiving_but_checked():
    from mlsec_helpers.threatmodel.model import canonical_name

    assert canonical_name(" API-abuse", tuple(tm.THREAT_CATEGORIES), "category") == "api_abuse"
    assert tm.reference_model("Medical").domain == "medical"
    with pytest.raises(ValueError, match="unknown category 3"):
        canonical_name(3, tuple(tm.THREAT_CATEGORIES), "category")


def test_each_domain_file_builds_its_reference_model():
    for domain in catalogue.DOMAINS:
        builder = getattr(tm, f"{domain}_threat_model")
        assert builder().domain == domain == tm.reference_model(domain).domain
