"""Tests of lab 14's governance section (mlsec_helpers.capstone.governance): the regulatory
catalogue, the control map checked against the framework catalogues, the duty gaps, the
coverage matrix, the lineage, the datasheet and the capstone's model card."""

from __future__ import annotations

import dataclasses
import hashlib
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from mlsec_helpers import catalogue, frameworks, registry
from mlsec_helpers.capstone import governance as gov
from mlsec_helpers.capstone import system as cap
from mlsec_helpers.explain import cards
from mlsec_helpers.explain.results import CardSecurityTest, ModelCard
from mlsec_helpers.validate import ArgumentTypeError

EXPECTED_GAPS = ("GDPR-5-1-E", "GDPR-35", "AIA-27")


@pytest.fixture(scope="module")
def weak():
    system = cap.capstone_system(0)
    yield system
    system.close()


@pytest.fixture(scope="module")
def hardened(weak):
    system = cap.harden(weak, ["signed_safe_format", "verified_features",
                               "labels_and_rate_limit", "coarse_explanations"])
    yield system
    system.close()


def _mapping(**changes) -> gov.ControlMapping:
    return dataclasses.replace(gov.CONTROL_MAPPINGS["labels_and_rate_limit"],
                               control="student_control", **changes)


# --- the regulatory catalogue -------------------------------------------------------------------


def test_catalogue_holds_the_duties_the_brief_names():
    articles = {(d.regulation, d.article) for d in gov.REGULATORY_DUTIES.values()}
    for article in ("Art. 5(1)(c)", "Art. 22", "Art. 25", "Art. 32", "Art. 35"):
        assert ("GDPR", article) in articles
    for n in (9, 10, 12, 13, 14, 15, 72):
        assert ("EU AI Act", f"Art. {n}") in articles
    assert ("EU AI Act", "Art. 11 and Annex IV") in articles
    assert "Annex III point 5(b)" in gov.AI_ACT_HIGH_RISK_BASIS.article
    for did, duty in gov.REGULATORY_DUTIES.items():
        assert duty.id == did and duty.regulation in gov.REGULATIONS
        assert duty.article.startswith("Art. ") and duty.reference.endswith(duty.article)
        assert "\n" not in duty.summary and 20 < len(duty.summary) < 200
        assert gov.validate_duty_id(did) == did
    assert "not legal advice" in gov.NOT_LEGAL_ADVICE


def test_validate_duty_id_canonicalises_and_refuses():
    assert gov.validate_duty_id("  aia-15 ") == "AIA-15"
    with pytest.raises(ValueError, match="unknown regulatory duty 'AIA-16'.*did you mean"):
        gov.validate_duty_id("AIA-16")
    with pytest.raises(ValueError, match="not a duty ID"):
        gov.validate_duty_id("Art. 22")
    with pytest.raises(TypeError):
        gov.validate_duty_id(22)


# --- the control map ----------------------------------------------------------------------------


def test_every_identifier_of_every_mapping_is_in_the_catalogues():
    maps = gov.mappings_for()
    assert list(maps) == list(gov.CONTROL_MAPPINGS) + list(gov.GOVERNANCE_CONTROLS)
    for m in maps.values():
        for id_ in (*m.nist_categories, *m.saif, *m.saif_risks, *m.atlas_techniques,
                    *m.atlas_mitigations, *m.owasp):
            assert frameworks.describe(id_).split(" ", 1)[0] == id_
        assert set(m.saif) <= set(frameworks.SAIF_ELEMENTS)
        assert set(m.saif_risks) <= set(frameworks.SAIF_RISKS)
        assert m.nist_functions and m.duties
        assert all(d in gov.REGULATORY_DUTIES for d in m.duties)
        assert all(catalogue.get_lab(n) for n in m.labs)


def test_blue_team_mappings_agree_with_the_capstone_controls():
    assert set(gov.CONTROL_MAPPINGS) == set(cap.CONTROLS)
    for key, control in cap.CONTROLS.items():
        m = gov.CONTROL_MAPPINGS[key]
        assert control.nist in m.nist_functions, key
        assert control.saif in m.saif, key
        assert m.labs and (control.lab in m.labs or key == "coarse_explanations")
        # ATLAS's data does not list AML.M0012 (Encrypt Sensitive Information) for membership
        # inference, so the governance map leaves it out for the regularised model.
        extra = set(control.atlas_mitigations) - set(m.atlas_mitigations)
        assert extra <= ({"AML.M0012"} if key == "regularised_model" else set()), key
    bad = dataclasses.replace(gov.CONTROL_MAPPINGS["regularised_model"],
                              atlas_mitigations=("AML.M0012",))
    with pytest.raises(ValueError, match="ATLAS lists AML.M0012"):
        gov.check_control_mapping(bad)


@pytest.mark.parametrize("changes, match", [
    (dict(atlas_techniques=("AML.T9999",)), "atlas_techniques: unknown MITRE ATLAS technique"),
    (dict(atlas_techniques=("AML.M0004",)), "is a mitigation"),
    (dict(nist_categories=("PR",)), "not a NIST CSF 2.0 category"),
    (dict(nist_categories=("PR.XX",)), "unknown NIST CSF 2.0 category"),
    (dict(nist_categories=("pr.aa",)), "write 'pr.aa' as 'PR.AA'"),
    (dict(nist_categories=()), "at least one NIST CSF category"),
    (dict(saif=("SAIF-R-DP",)), "not a SAIF element"),
    (dict(saif_risks=("SAIF-1",)), "not a SAIF risk"),
    (dict(saif=("SAIF-9",)), "unknown SAIF element or risk"),
    (dict(owasp=("LLM01",)), "OWASP Top 10 for LLM"),
    (dict(owasp=("ML11",)), "unknown OWASP ML Top 10 item"),
    (dict(atlas_mitigations=("AML.M0099",)), "unknown MITRE ATLAS mitigation"),
    (dict(atlas_mitigations=("AML.M0013",)), "ATLAS lists AML.M0013"),
    (dict(duties=("GDPR-99",)), "unknown regulatory duty"),
    (dict(duties=()), "at least one regulatory duty"),
    (dict(duties=("AIA-15", "AIA-15")), "repeats an ID"),
    (dict(labs=(99,)), "unknown lab 99"),
])
def test_check_control_mapping_refuses_bad_identifiers(changes, match):
    with pytest.raises(ValueError, match=match):
        gov.check_control_mapping(_mapping(**changes))


def test_check_control_mapping_refuses_wrong_types():
    with pytest.raises(ArgumentTypeError):
        gov.check_control_mapping("labels_and_rate_limit")
    with pytest.raises(ArgumentTypeError, match="tuple of IDs"):
        gov.check_control_mapping(_mapping(duties="AIA-15"))
    with pytest.raises(ArgumentTypeError):
        gov.check_control_mapping(_mapping(evidence=None))


def test_mappings_for_keys_records_and_bad_input():
    own = _mapping(duties=("GDPR-35",))
    maps = gov.mappings_for(["audit_log", own])
    assert list(maps) == ["audit_log", "student_control"]
    assert list(gov.mappings_for(cap.CONTROLS)) == list(cap.CONTROLS)
    assert list(gov.mappings_for(())) == []
    with pytest.raises(ValueError, match="unknown control 'rate_limit'"):
        gov.mappings_for(["rate_limit"])
    with pytest.raises(ValueError, match="named twice"):
        gov.mappings_for(["audit_log", "audit_log"])
    with pytest.raises(ArgumentTypeError):
        gov.mappings_for("audit_log")
    with pytest.raises(ArgumentTypeError):
        gov.mappings_for([3])


def test_mapping_table_names_every_id():
    table = gov.mapping_table()
    assert len(table) == len(gov.CONTROL_MAPPINGS) + len(gov.GOVERNANCE_CONTROLS)
    row = table.set_index("control").loc["signed_safe_format"]
    assert "AML.M0014 Verify ML Artifacts" in row["ATLAS mitigations"]
    assert "GV.SC Cybersecurity Supply Chain Risk Management" in row["NIST CSF"]
    assert "Art. 15" in row["EU AI Act"] and "Art. 32" in row["GDPR"]


# --- duties, gaps and weaknesses ----------------------------------------------------------------


def test_duty_gaps_are_exactly_the_named_ones():
    assert gov.duty_gaps() == EXPECTED_GAPS
    table = gov.duty_table()
    assert list(table["duty"]) == list(gov.REGULATORY_DUTIES)
    assert set(table.loc[~table["covered"], "duty"]) == set(EXPECTED_GAPS)
    row = table.set_index("duty").loc["AIA-15"]
    assert "signed_safe_format" in row["controls"] and "11" in row["labs"]


def test_duty_gaps_shrink_with_controls_and_take_a_duty_list():
    only_governance = gov.duty_gaps(list(gov.GOVERNANCE_CONTROLS))
    assert set(EXPECTED_GAPS) < set(only_governance)
    assert "GDPR-15-1-H" in only_governance and "AIA-86" in only_governance
    dpia = _mapping(duties=("GDPR-35", "AIA-27", "GDPR-5-1-E"))
    assert gov.duty_gaps([*gov.CONTROL_MAPPINGS, *gov.GOVERNANCE_CONTROLS, dpia]) == ()
    assert gov.duty_gaps(duties=["AIA-27", "AIA-15"]) == ("AIA-27",)
    assert len(gov.duty_gaps([])) == len(gov.REGULATORY_DUTIES)
    with pytest.raises(ValueError, match="unknown regulatory duty"):
        gov.duty_gaps(duties=["AIA-99"])
    with pytest.raises(ArgumentTypeError):
        gov.duty_gaps(duties="AIA-15")


def test_every_planted_weakness_reaches_nist_and_the_ai_act():
    table = gov.weakness_coverage()
    assert list(table["weakness"]) == list(cap.WEAKNESSES)
    assert (table["nist functions"] >= 1).all() and (table["ai act articles"] >= 1).all()
    assert all(table["controls"].str.len() > 0)
    w6 = table.set_index("weakness").loc["W6"]
    assert "coarse_explanations" in w6["controls"] and "Art. 86" in w6["EU AI Act"]
    assert list(gov.weakness_coverage(["W4"])["weakness"]) == ["W4"]
    with pytest.raises(ValueError, match="unknown weakness 'W7'"):
        gov.weakness_coverage(["W7"])
    with pytest.raises(ArgumentTypeError):
        gov.weakness_coverage("W1")


def test_coverage_matrix_and_figure():
    nist = gov.coverage_matrix()
    assert nist.shape == (len(gov.mappings_for()), 6)
    assert nist.loc["signed_safe_format"].tolist() == [1, 0, 2, 0, 0, 0]
    for family in gov.COVERAGE_FRAMEWORKS:
        frame = gov.coverage_matrix(framework=family)
        assert frame.to_numpy().min() >= 0 and len(frame) == len(nist)
    ai = gov.coverage_matrix(framework="ai_act")
    assert ai["AI Act Art. 27"].sum() == 0 and ai["AI Act Art. 15"].sum() >= 6
    used = gov.coverage_matrix(framework="owasp", only_used=True)
    assert (used.sum(axis=0) > 0).all()
    fig = gov.coverage_figure(families=("nist", "saif", "ai_act"))
    assert isinstance(fig, go.Figure)
    assert np.asarray(fig.data[0].z).shape == (len(nist), 6 + 6 + len(ai.columns))
    with pytest.raises(ValueError, match="unknown framework"):
        gov.coverage_matrix(framework="iso27001")
    with pytest.raises(ArgumentTypeError):
        gov.coverage_figure(families="nist")


# --- lineage and datasheet ----------------------------------------------------------------------


def test_lineage_of_the_weak_system(weak):
    frame = gov.lineage(weak)
    assert list(frame["step"]) == ["raw data", "split", "features", "training run",
                                   "model artefact", "API"]
    steps = frame.set_index("step")
    assert steps.loc["raw data", "fingerprint"] == registry.get_entry("hmda").files[0].sha256
    digest = hashlib.sha256(weak.model_path.read_bytes()).hexdigest()
    assert steps.loc["model artefact", "fingerprint"] == digest
    assert "no signature" in steps.loc["model artefact", "detail"]
    assert "scikit-learn" in steps.loc["training run", "detail"]
    assert "/v1/explain" in steps.loc["API", "artefact"]
    assert "raw probability" in steps.loc["API", "detail"]
    assert frame.equals(gov.lineage(weak))  # the same system gives the same lineage
    fig = gov.lineage_figure(frame, title="lineage")
    assert isinstance(fig, go.Figure) and len(fig.layout.shapes) == 6


def test_lineage_of_the_hardened_system(weak, hardened):
    steps = gov.lineage(hardened).set_index("step")
    assert "verified before load" in steps.loc["model artefact", "detail"]
    assert steps.loc["model artefact", "artefact"].endswith("model.skops")
    assert "unemp" in steps.loc["features", "detail"].split("not inputs:")[1]
    assert "decisions only" in steps.loc["API", "detail"]
    weak_steps = gov.lineage(weak).set_index("step")
    assert steps.loc["split", "fingerprint"] == weak_steps.loc["split", "fingerprint"]
    assert steps.loc["features", "fingerprint"] != weak_steps.loc["features", "fingerprint"]
    assert (steps.loc["training run", "fingerprint"]
            != weak_steps.loc["training run", "fingerprint"])
    assert steps.loc["raw data", "fingerprint"] == weak_steps.loc["raw data", "fingerprint"]


def test_lineage_bad_input(weak):
    with pytest.raises(ArgumentTypeError):
        gov.lineage(weak.model)
    closed = cap.harden(weak, ["query_monitoring"])
    closed.close()
    with pytest.raises(ValueError, match="closed"):
        gov.lineage(closed)
    with pytest.raises(ValueError, match="lacks the columns"):
        gov.lineage_figure(pd.DataFrame({"step": ["a"]}))
    with pytest.raises(ValueError, match="no steps"):
        gov.lineage_figure(pd.DataFrame(columns=["step", "artefact", "fingerprint", "detail"]))


def test_library_versions():
    versions = gov.library_versions(["numpy", "no-such-distribution-xyz"])
    assert versions["python"] and versions["numpy"] == np.__version__
    assert versions["no-such-distribution-xyz"] == "not installed"
    with pytest.raises(ArgumentTypeError):
        gov.library_versions("numpy")


def test_datasheet_from_the_registry(monkeypatch):
    text = gov.capstone_datasheet_markdown()
    sha = registry.get_entry("hmda").files[0].sha256
    assert text.count(sha) == 2 and "(matches)" in text
    assert registry.datasheet_markdown("hmda") in text
    with pytest.raises(ValueError, match="unknown dataset"):
        gov.capstone_datasheet_markdown("hmdaa")
    entry = registry.get_entry("hmda")
    wrong = dataclasses.replace(entry.files[0], sha256="0" * 64)
    monkeypatch.setitem(registry.REGISTRY, "hmda", dataclasses.replace(entry, files=(wrong,)))
    with pytest.raises(registry.DataIntegrityError, match="does not match the registry"):
        gov.capstone_datasheet_markdown()


# --- the model card -----------------------------------------------------------------------------


def _findings() -> pd.DataFrame:
    return pd.DataFrame([
        {"weakness": "W1", "how found": "equation solving", "metric": "referred_agreement",
         "value": 0.97, "low": 0.9, "high": 0.99, "evidence": "x | y"},
        {"weakness": "W3", "how found": "referral-rate gap", "metric": "referral_gap",
         "value": 0.25, "low": 0.15, "high": 0.36, "evidence": "gap"},
    ])


def test_model_card_of_the_weak_system(weak):
    tests = gov.card_security_tests(_findings(), when="weak system")
    card = gov.capstone_model_card(weak, security_tests=tests, seed=0, n_resamples=200)
    assert isinstance(card, ModelCard) and card.domain == "fraud"
    for m in card.metrics + card.group_metrics:
        assert m.low <= m.value <= m.high and m.n > 0 and m.on
    refer = weak.refer(weak.data.X_test)
    assert card.metrics[2].value == pytest.approx(refer.mean())
    names = [m.name for m in card.group_metrics]
    assert "referral rate, black" in names and "referral-rate gap (demographic parity)" in names
    gap = card.group_metrics[names.index("referral-rate gap (demographic parity)")]
    g = weak.groups_test
    assert gap.value == pytest.approx(abs(refer[g == 1].mean() - refer[g == 0].mean()))
    assert {t.threat for t in card.security_tests} == {"theft", "bias"}
    assert "theft" not in card.threats_not_tested and "poisoning" in card.threats_not_tested
    assert card.model_details["artefact SHA-256"] == hashlib.sha256(
        weak.model_path.read_bytes()).hexdigest()
    assert cards.card_untraced_numbers(card) == []
    text = gov.capstone_card_markdown(card, findings=_findings())
    for section in ("Intended use", "Out-of-scope uses", "Training data", "Quantitative",
                    "Ethical considerations", "Caveats", "Security findings", "Regulatory"):
        assert section in text
    assert "x \\| y" in text and gov.NOT_LEGAL_ADVICE in text
    again = gov.capstone_model_card(weak, security_tests=tests, seed=0, n_resamples=200)
    assert again == card


def test_model_card_of_the_hardened_system(hardened):
    card = gov.capstone_model_card(hardened, seed=1, n_resamples=100)
    assert "signed" in card.model_details["artefact"]
    assert "unemp" not in card.model_details["inputs"]
    assert card.security_tests == () and len(card.threats_not_tested) == len(
        catalogue.THREAT_CATEGORIES)
    assert "No security test was run." in gov.capstone_card_markdown(card)


def test_model_card_bad_input(weak):
    with pytest.raises(ArgumentTypeError):
        gov.capstone_model_card(weak.model)
    with pytest.raises(ArgumentTypeError, match="CardSecurityTest"):
        gov.capstone_model_card(weak, security_tests=["W1"])
    with pytest.raises(ValueError):
        gov.capstone_model_card(weak, n_resamples=10)
    bad = _findings().assign(weakness=["W1", "W9"])
    with pytest.raises(ValueError, match="unknown weakness 'W9'"):
        gov.card_security_tests(bad, when="weak")
    with pytest.raises(ValueError, match="lacks the columns"):
        gov.card_security_tests(_findings().drop(columns="metric"), when="weak")
    tests = gov.card_security_tests(_findings(), when="weak")
    assert all(isinstance(t, CardSecurityTest) for t in tests)
    with pytest.raises(ArgumentTypeError):
        gov.capstone_card_markdown("card")


def test_frame_markdown():
    text = gov.frame_markdown(pd.DataFrame({"a|b": [1, "x|y"], "c": ["", 2.5]}))
    lines = text.splitlines()
    assert lines[0] == "| a\\|b | c |" and lines[1] == "|---|---|"
    assert lines[3] == "| x\\|y | 2.5 |" and re.fullmatch(r"\| 1 \| - \|", lines[2])
    with pytest.raises(ValueError):
        gov.frame_markdown(pd.DataFrame())
    with pytest.raises(ArgumentTypeError):
        gov.frame_markdown([1, 2])


def test_public_names_have_docstrings_with_the_lab():
    for name in gov.__all__:
        obj = getattr(gov, name)
        if callable(obj) and not isinstance(obj, dict):
            assert "Introduced in lab 14 (Capstone)." in (obj.__doc__ or ""), name
