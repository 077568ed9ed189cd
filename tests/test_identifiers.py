import pytest
from django.core.exceptions import ValidationError

from studies import identifiers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://doi.org/10.1000/XYZ.", "10.1000/xyz"),
        ("http://dx.doi.org/10.1007/S10067-014-2517-2", "10.1007/s10067-014-2517-2"),
        ("doi: 10.3390/medsci6040082 ", "10.3390/medsci6040082"),
        ("10.1002/ana.22006).", "10.1002/ana.22006"),
        (
            "https://doi.org/10.1002/%28SICI%291097-4636%28199706%2935%3A3%3C343%3A%3AAID-JBM9%3E3.0.CO%3B2-N",
            "10.1002/(sici)1097-4636(199706)35:3<343::aid-jbm9>3.0.co;2-n",
        ),
        ("", None),
        (None, None),
    ],
)
def test_normalize_doi(raw, expected):
    assert identifiers.normalize_doi(raw) == expected


@pytest.mark.parametrize("raw", ["10.1007/", "11.1000/x", "doi", "10.12/abc", "10.1000/a b"])
def test_normalize_doi_rejects_what_is_not_a_doi(raw):
    with pytest.raises(ValidationError, match="not a DOI"):
        identifiers.normalize_doi(raw)


@pytest.mark.parametrize(("raw", "expected"), [("24526250", "24526250"), ("PMID: 123", "123")])
def test_normalize_pmid(raw, expected):
    assert identifiers.normalize_pmid(raw) == expected


@pytest.mark.parametrize("raw", ["12a45", "PMC123", "1234567890"])
def test_normalize_pmid_rejects_letters_and_overlong_ids(raw):
    with pytest.raises(ValidationError, match="digits only"):
        identifiers.normalize_pmid(raw)


@pytest.mark.parametrize(
    ("raw", "expected"), [("pmc3962576", "PMC3962576"), ("3962576", "PMC3962576")]
)
def test_normalize_pmcid(raw, expected):
    assert identifiers.normalize_pmcid(raw) == expected


@pytest.mark.parametrize("raw", ["PMC", "PMCabc", "PM123"])
def test_normalize_pmcid_rejects_ids_without_digits(raw):
    with pytest.raises(ValidationError, match="PubMed Central"):
        identifiers.normalize_pmcid(raw)


@pytest.mark.parametrize(
    ("raw", "expected"), [("nct04270877", "NCT04270877"), ("ISRCTN12345678", "ISRCTN12345678")]
)
def test_normalize_registry_id(raw, expected):
    assert identifiers.normalize_registry_id(raw) == expected


@pytest.mark.parametrize("raw", ["NCT123", "NCT0427087X", "trial 5"])
def test_normalize_registry_id_rejects_wrong_shapes(raw):
    with pytest.raises(ValidationError, match="NCT"):
        identifiers.normalize_registry_id(raw)


def test_registry_links():
    assert identifiers.registry_url("NCT04270877") == "https://clinicaltrials.gov/study/NCT04270877"
    assert identifiers.registry_name("NCT04270877") == "ClinicalTrials.gov"


def test_record_link_reads_each_link_the_catalog_writes():
    for url, expected in (
        (identifiers.pubmed_url("24526250"), "24526250"),
        (identifiers.pmc_url("PMC3962576"), "PMC3962576"),
        (identifiers.registry_url("NCT04270877"), "NCT04270877"),
        (identifiers.registry_url("ISRCTN12345678"), "ISRCTN12345678"),
    ):
        assert identifiers.RECORD_LINK.match(url).group(1) == expected, url
