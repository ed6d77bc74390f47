"""The course catalogue is the one place the course's facts live; everything reads it."""

import pytest

from mlsec_helpers import catalogue, data, frameworks, plots, registry, systems


def test_domains_in_course_order_with_their_datasets():
    assert catalogue.DOMAINS == ("image", "nlp", "recommender", "fraud", "medical")
    assert tuple(catalogue.DOMAIN_DATASETS) == catalogue.DOMAINS
    for domain, name in catalogue.DOMAIN_DATASETS.items():
        assert registry.get_entry(name).domain == domain


def test_every_module_reads_the_one_domain_list():
    assert frameworks.DOMAINS is catalogue.DOMAINS
    assert systems.DOMAINS is catalogue.DOMAINS
    assert tuple(plots.DOMAIN_COLORS) == catalogue.DOMAINS
    assert frameworks.LABS is catalogue.LABS and frameworks.get_lab is catalogue.get_lab


def test_threat_categories_point_at_labs_that_treat_them():
    for cat in catalogue.THREAT_CATEGORIES.values():
        lab = catalogue.get_lab(cat.lab)
        assert cat.lab_title == f"lab {lab.label} {lab.title}"
        assert set(cat.owasp) <= set(frameworks.OWASP_ML_TOP10)
        for tid in cat.atlas:
            frameworks.validate_atlas_id(tid)


def test_check_domain():
    assert catalogue.check_domain("fraud") == "fraud"
    with pytest.raises(ValueError, match="did you mean 'image'"):
        catalogue.check_domain("imagee")
    with pytest.raises(ValueError, match="unknown domain"):
        catalogue.check_domain(3)


def test_make_system_has_a_system_for_every_domain():
    for domain in catalogue.DOMAINS:
        extra = data.load_dataset(domain) if domain == "recommender" else None
        assert systems.make_system(domain, extra).domain == domain
