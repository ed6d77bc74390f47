"""Tests of the framework catalogue (mlsec_helpers.frameworks): fast, no data, no models."""

from __future__ import annotations

import dataclasses
import re

import pytest

from mlsec_helpers import frameworks as fw

# --------------------------------------------------------------------------------------------
# Catalogue consistency
# --------------------------------------------------------------------------------------------


def test_catalogue_is_consistent():
    fw.check_catalogue()


def test_fifteen_labs_numbered_0_to_14_with_unique_slugs():
    assert [lab.number for lab in fw.LABS] == list(range(15))
    slugs = [lab.slug for lab in fw.LABS]
    assert len(set(slugs)) == 15
    for lab in fw.LABS:
        assert re.fullmatch(rf"{lab.number:02d}_[a-z_]+", lab.slug), lab.slug
        assert lab.title and lab.threat and lab.defence
        assert lab.label == f"{lab.number:02d}"


def test_expected_slugs():
    assert fw.get_lab(0).slug == "00_meet_the_systems"
    assert fw.get_lab(2).slug == "02_evasion"
    assert fw.get_lab(14).slug == "14_capstone"


def test_every_lab_uses_known_ids_only():
    for lab in fw.LABS:
        assert set(lab.domains) <= set(fw.DOMAINS)
        assert set(lab.atlas) <= set(fw.ATLAS_TECHNIQUES)
        assert set(lab.atlas_mitigations) <= set(fw.ATLAS_MITIGATIONS)
        assert set(lab.owasp) <= set(fw.OWASP_ML_TOP10)
        assert set(lab.nist_csf) <= set(fw.NIST_CSF_FUNCTIONS)
        assert set(lab.nist_categories) <= set(fw.NIST_CSF_CATEGORIES)
        assert {c[:2] for c in lab.nist_categories} <= set(lab.nist_csf)
        assert set(lab.saif) <= set(fw.SAIF_ELEMENTS)
        assert set(lab.saif_risks) <= set(fw.SAIF_RISKS)
        assert set(lab.ibm) <= set(fw.IBM_PILLARS)


def test_every_owasp_item_and_nist_function_is_covered():
    owasp = {id_ for lab in fw.LABS for id_ in lab.owasp}
    nist = {id_ for lab in fw.LABS for id_ in lab.nist_csf}
    assert owasp == set(fw.OWASP_ML_TOP10)
    assert nist == set(fw.NIST_CSF_FUNCTIONS)
    assert {id_ for lab in fw.LABS for id_ in lab.saif} == set(fw.SAIF_ELEMENTS)


def test_lab_00_covers_the_frameworks_not_attacks():
    lab = fw.get_lab(0)
    assert set(lab.atlas) <= {"AML.T0040", "AML.T0047"}
    assert set(lab.nist_csf) == {"GV", "ID"}


def test_lab_02_evasion_mapping():
    lab = fw.get_lab(2)
    assert {"AML.T0043", "AML.T0015", "AML.T0043.000", "AML.T0043.001"} <= set(lab.atlas)
    assert lab.owasp == ("ML01",)
    assert {"PR", "DE"} <= set(lab.nist_csf)


def test_check_catalogue_reports_bad_labs():
    bad = dataclasses.replace(fw.get_lab(0), atlas=("AML.T9999",), owasp=("ML11",))
    with pytest.raises(ValueError, match=r"AML\.T9999") as info:
        fw.check_catalogue([bad])
    assert "ML11" in str(info.value)
    assert "not covered by any lab" in str(info.value)


def test_records_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        fw.get_lab(1).title = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        fw.ATLAS_TECHNIQUES["AML.T0043"].name = "x"  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# Framework contents
# --------------------------------------------------------------------------------------------


def test_atlas_tactics():
    assert len(fw.ATLAS_TACTICS) == 14
    assert fw.ATLAS_TACTICS["AML.TA0002"].name == "Reconnaissance"
    assert fw.ATLAS_TACTICS["AML.TA0001"].name == "ML Attack Staging"
    assert fw.ATLAS_TACTICS["AML.TA0000"].name == "ML Model Access"
    assert fw.ATLAS_TACTICS["AML.TA0011"].name == "Impact"


def test_atlas_techniques():
    t = fw.ATLAS_TECHNIQUES
    assert 30 <= sum(not x.is_subtechnique for x in t.values()) <= 50
    assert t["AML.T0043"].name == "Craft Adversarial Data"
    assert t["AML.T0043.004"].name == "Insert Backdoor Trigger"
    assert t["AML.T0024.000"].name == "Infer Training Data Membership"
    assert t["AML.T0024.001"].name == "Invert ML Model"
    assert t["AML.T0024.002"].name == "Extract ML Model"
    assert t["AML.T0015"].tactics == ("AML.TA0004", "AML.TA0007", "AML.TA0011")
    assert t["AML.T0020"].tactics == ("AML.TA0003", "AML.TA0006")
    for tech in t.values():
        assert re.fullmatch(r"AML\.T\d{4}(\.\d{3})?", tech.id)
        assert tech.tactics and set(tech.tactics) <= set(fw.ATLAS_TACTICS)
        if tech.is_subtechnique:
            assert tech.parent == tech.id[:-4]
            assert tech.tactics == t[tech.parent].tactics


def test_atlas_mitigations():
    m = fw.ATLAS_MITIGATIONS
    assert m["AML.M0003"].name == "Model Hardening"
    assert m["AML.M0007"].name == "Sanitize Training Data"
    assert m["AML.M0024"].name == "AI Telemetry Logging"
    for mit in m.values():
        assert re.fullmatch(r"AML\.M\d{4}", mit.id)
        assert set(mit.techniques) <= set(fw.ATLAS_TECHNIQUES)


def test_other_frameworks():
    assert list(fw.OWASP_ML_TOP10) == [f"ML{i:02d}" for i in range(1, 11)]
    assert fw.OWASP_ML_TOP10["ML06"].name == "AI Supply Chain Attacks"
    assert list(fw.NIST_CSF_FUNCTIONS) == ["GV", "ID", "PR", "DE", "RS", "RC"]
    assert len(fw.NIST_CSF_CATEGORIES) == 22
    assert fw.NIST_CSF_CATEGORIES["PR.DS"].name == "Data Security"
    assert list(fw.SAIF_ELEMENTS) == [f"SAIF-{i}" for i in range(1, 7)]
    assert fw.SAIF_RISKS["SAIF-R-DP"].name == "Data Poisoning"
    assert len(fw.SAIF_RISKS) == 15
    assert set(fw.IBM_PILLARS) == {"IBM-DATA", "IBM-MODEL", "IBM-USAGE", "IBM-INFRA", "IBM-GOV"}
    for catalogue in (fw.OWASP_ML_TOP10, fw.NIST_CSF_FUNCTIONS, fw.SAIF_RISKS, fw.IBM_PILLARS):
        assert all(item.description for item in catalogue.values())


def test_lifecycle_stages():
    names = [s.name for s in fw.LIFECYCLE_STAGES.values()]
    assert names == [
        "data collection", "labelling", "training", "model artefact", "deployment/serving",
        "use/monitoring",
    ]
    covered = {n for s in fw.LIFECYCLE_STAGES.values() for n in s.labs}
    assert covered == set(range(2, 14))  # every attack lab enters somewhere


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("AML.T0043", "AML.T0043"),
        ("aml.t0043.000", "AML.T0043.000"),
        ("  AML.T0024.002 ", "AML.T0024.002"),
    ],
)
def test_validate_atlas_id_accepts(given, expected):
    assert fw.validate_atlas_id(given) == expected


def test_validate_atlas_id_rejects_unknown_with_clear_message():
    with pytest.raises(ValueError, match=r"unknown MITRE ATLAS technique 'AML\.T9999'.*; known: "):
        fw.validate_atlas_id("AML.T9999")
    with pytest.raises(ValueError) as info:
        fw.validate_atlas_id("AML.T9999")
    assert "in all)" in str(info.value)  # the list of known IDs is shortened
    assert len(str(info.value)) < 300


def test_validate_atlas_id_suggests_close_ids():
    with pytest.raises(ValueError, match=r"did you mean 'AML\.T0043"):
        fw.validate_atlas_id("AML.T0043.009")


@pytest.mark.parametrize("bad", ["AML.TA0002", "AML.M0003", "T0043", "AML.T43", "", "ML01"])
def test_validate_atlas_id_rejects_malformed_and_other_kinds(bad):
    with pytest.raises(ValueError):
        fw.validate_atlas_id(bad)


def test_validate_atlas_id_names_the_kind_of_a_tactic():
    with pytest.raises(ValueError, match="is a tactic"):
        fw.validate_atlas_id("AML.TA0002")


@pytest.mark.parametrize(
    "validator",
    [
        fw.validate_atlas_id,
        fw.validate_atlas_tactic_id,
        fw.validate_atlas_mitigation_id,
        fw.validate_owasp_id,
        fw.validate_nist_function,
        fw.validate_nist_category,
        fw.validate_saif_id,
        fw.validate_ibm_id,
        fw.describe,
        fw.labs_covering,
    ],
)
@pytest.mark.parametrize("bad", [43, None, b"ML01", ["ML01"]])
def test_validators_reject_non_strings(validator, bad):
    with pytest.raises(TypeError, match="must be a str"):
        validator(bad)


def test_validate_atlas_tactic_and_mitigation_ids():
    assert fw.validate_atlas_tactic_id("aml.ta0002") == "AML.TA0002"
    assert fw.validate_atlas_mitigation_id("aml.m0015") == "AML.M0015"
    with pytest.raises(ValueError, match="unknown MITRE ATLAS tactic"):
        fw.validate_atlas_tactic_id("AML.TA0099")
    with pytest.raises(ValueError, match="unknown MITRE ATLAS mitigation"):
        fw.validate_atlas_mitigation_id("AML.M0999")
    with pytest.raises(ValueError, match="is a technique"):
        fw.validate_atlas_mitigation_id("AML.T0043")


@pytest.mark.parametrize(
    ("given", "expected"),
    [("ML01", "ML01"), ("ml01", "ML01"), ("ML01:2023", "ML01"), (" ML10:2023 ", "ML10")],
)
def test_validate_owasp_id_accepts(given, expected):
    assert fw.validate_owasp_id(given) == expected


@pytest.mark.parametrize("bad", ["ML11", "ML00", "ML1", "ML01:2024", "LLM01", "A01:2021", ""])
def test_validate_owasp_id_rejects(bad):
    with pytest.raises(ValueError, match="OWASP"):
        fw.validate_owasp_id(bad)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("PR", "PR"), ("pr", "PR"), ("Protect", "PR"), ("PROTECT", "PR"), (" govern ", "GV"),
     ("Recover", "RC")],
)
def test_validate_nist_function_accepts(given, expected):
    assert fw.validate_nist_function(given) == expected


@pytest.mark.parametrize("bad", ["XX", "Prevent", "PR.DS", ""])
def test_validate_nist_function_rejects(bad):
    with pytest.raises(ValueError, match=r"unknown NIST CSF 2\.0 function .*GV \(Govern\)"):
        fw.validate_nist_function(bad)


def test_validate_nist_category():
    assert fw.validate_nist_category("pr.ds") == "PR.DS"
    with pytest.raises(ValueError, match="unknown NIST CSF 2.0 category"):
        fw.validate_nist_category("PR.XX")
    with pytest.raises(ValueError, match="not a NIST CSF 2.0 category"):
        fw.validate_nist_category("PR")


def test_validate_saif_and_ibm_ids():
    assert fw.validate_saif_id("saif-3") == "SAIF-3"
    assert fw.validate_saif_id("SAIF-R-MEV") == "SAIF-R-MEV"
    for bad in ("SAIF-7", "SAIF-R-XYZ", "SAIF"):
        with pytest.raises(ValueError, match="unknown SAIF"):
            fw.validate_saif_id(bad)
    assert fw.validate_ibm_id("ibm-data") == "IBM-DATA"
    with pytest.raises(ValueError, match="unknown IBM"):
        fw.validate_ibm_id("IBM-CLOUD")


# --------------------------------------------------------------------------------------------
# Look-ups
# --------------------------------------------------------------------------------------------


def test_get_lab():
    assert fw.get_lab(3).title == "Data poisoning and backdoors"
    for bad in (15, -1, 99):
        with pytest.raises(KeyError, match="0 to 14"):
            fw.get_lab(bad)
        with pytest.raises(ValueError, match="0 to 14"):
            fw.get_lab(bad)
    for bad in ("02", 2.0, True, None):
        with pytest.raises(TypeError):
            fw.get_lab(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("AML.T0043", "AML.T0043 Craft Adversarial Data"),
        ("aml.t0024.000", "AML.T0024.000 Infer Training Data Membership"),
        ("AML.TA0002", "AML.TA0002 Reconnaissance"),
        ("AML.M0015", "AML.M0015 Adversarial Input Detection"),
        ("ML01", "ML01 Input Manipulation Attack"),
        ("ML05:2023", "ML05 Model Theft"),
        ("PR", "PR Protect"),
        ("Detect", "DE Detect"),
        ("ID.RA", "ID.RA Risk Assessment"),
        ("SAIF-1", "SAIF-1 Expand strong security foundations to the AI ecosystem"),
        ("SAIF-R-DP", "SAIF-R-DP Data Poisoning"),
        ("IBM-GOV", "IBM-GOV Establish governance"),
    ],
)
def test_describe(given, expected):
    assert fw.describe(given) == expected


@pytest.mark.parametrize("bad", ["AML.T9999", "ML11", "XYZ", "LLM01", ""])
def test_describe_rejects_unknown(bad):
    with pytest.raises(ValueError):
        fw.describe(bad)


def test_labs_covering():
    assert fw.labs_covering("ML01") == tuple(
        lab.number for lab in fw.LABS if "ML01" in lab.owasp
    )
    assert 2 in fw.labs_covering("aml.t0043")
    assert 13 in fw.labs_covering("Respond")
    assert 2 in fw.labs_covering("AML.TA0001")  # via Craft Adversarial Data
    assert fw.labs_covering("AML.T0010.000") == ()


def test_mitigations_for():
    assert fw.mitigations_for("AML.T0015") == (
        "AML.M0003", "AML.M0006", "AML.M0009", "AML.M0010", "AML.M0015",
    )
    # a sub-technique gets its parent's mitigations too
    assert "AML.M0019" in fw.mitigations_for("AML.T0024.002")
    assert "AML.M0002" in fw.mitigations_for("AML.T0024.002")
    with pytest.raises(ValueError):
        fw.mitigations_for("AML.T9999")


# --------------------------------------------------------------------------------------------
# Tables and Markdown
# --------------------------------------------------------------------------------------------


def test_labs_table():
    table = fw.labs_table()
    assert list(table.columns) == [
        "lab", "title", "threat", "defence", "domains", "ATLAS", "OWASP", "NIST CSF", "SAIF",
    ]
    assert table.shape == (15, 9)
    assert list(table["lab"]) == [f"{i:02d}" for i in range(15)]
    row = table.set_index("lab").loc["02"]
    assert "AML.T0043" in row["ATLAS"].split(", ")
    assert row["OWASP"] == "ML01"


@pytest.mark.parametrize(
    ("framework", "catalogue"),
    [
        ("atlas", fw.ATLAS_TECHNIQUES),
        ("atlas_tactics", fw.ATLAS_TACTICS),
        ("atlas_mitigations", fw.ATLAS_MITIGATIONS),
        ("owasp", fw.OWASP_ML_TOP10),
        ("nist", fw.NIST_CSF_FUNCTIONS),
        ("nist_categories", fw.NIST_CSF_CATEGORIES),
        ("saif", fw.SAIF_ELEMENTS),
        ("saif_risks", fw.SAIF_RISKS),
        ("IBM", fw.IBM_PILLARS),
    ],
)
def test_coverage_table(framework, catalogue):
    table = fw.coverage_table(framework)
    assert list(table.columns) == ["id", "name", "labs"]
    assert list(table["id"]) == list(catalogue)
    for id_, labs in zip(table["id"], table["labs"], strict=True):
        expected = ", ".join(f"{n:02d}" for n in fw.labs_covering(id_))
        assert labs == expected


def test_coverage_table_values():
    owasp = fw.coverage_table("owasp").set_index("id")
    assert owasp.loc["ML01", "name"] == "Input Manipulation Attack"
    assert "02" in owasp.loc["ML01", "labs"].split(", ")
    assert (owasp["labs"] != "").all()
    nist = fw.coverage_table("nist").set_index("id")
    assert (nist["labs"] != "").all()


def test_coverage_table_rejects_unknown_framework():
    with pytest.raises(ValueError, match="unknown framework"):
        fw.coverage_table("iso27001")
    with pytest.raises(TypeError):
        fw.coverage_table(None)  # type: ignore[arg-type]


def test_lifecycle_table():
    table = fw.lifecycle_table()
    assert list(table.columns) == ["stage", "description", "labs", "threats"]
    assert len(table) == len(fw.LIFECYCLE_STAGES)


@pytest.mark.parametrize("number", range(15))
def test_lab_header_markdown(number):
    lab = fw.get_lab(number)
    text = fw.lab_header_markdown(number)
    assert text.startswith(f"### Lab {lab.label} · {lab.title}")
    assert lab.threat in text and lab.defence in text
    for id_ in (*lab.atlas, *lab.owasp, *lab.nist_csf, *lab.saif, *lab.saif_risks, *lab.ibm):
        assert f"`{id_}` {fw.describe(id_).split(' ', 1)[1]}" in text


def test_lab_header_markdown_rejects_unknown_lab():
    with pytest.raises(KeyError):
        fw.lab_header_markdown(15)


def test_lab_table_markdown_without_bench():
    text = fw.lab_table_markdown()
    lines = text.strip().splitlines()
    assert len(lines) == 2 + 15
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == [
        "Lab", "Threat", "Defence", "Domains", "ATLAS", "OWASP", "NIST CSF", "SAIF",
        "Runtime (s)", "Peak memory (MB)",
    ]
    for lab, line in zip(fw.LABS, lines[2:], strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert len(cells) == len(header)
        assert cells[0] == f"{lab.label} {lab.title}"
        assert cells[1] == lab.threat
        assert cells[-2:] == ["-", "-"]


def test_lab_table_markdown_with_bench():
    text = fw.lab_table_markdown({2: (12.34, 512.6), 0: (3, 100)})
    rows = {line.split("|")[1].strip()[:2]: line for line in text.splitlines()[2:]}
    assert rows["02"].rstrip().endswith("| 12.3 | 513 |")
    assert rows["00"].rstrip().endswith("| 3.0 | 100 |")
    assert rows["05"].rstrip().endswith("| - | - |")


@pytest.mark.parametrize(
    ("bench", "error"),
    [
        ({15: (1.0, 1.0)}, KeyError),
        ({2: (1.0,)}, ValueError),
        ({2: (1.0, -1.0)}, ValueError),
        ({2: (float("nan"), 1.0)}, ValueError),
        ({2: ("1", 1.0)}, ValueError),
        ([(2, (1.0, 1.0))], TypeError),
    ],
)
def test_lab_table_markdown_rejects_bad_bench(bench, error):
    with pytest.raises(error):
        fw.lab_table_markdown(bench)
