"""Normalising and validating bibliographic identifiers (DOI, PMID, PMCID, trial ids).

Each ``normalize_*`` function takes what a person or a file typed and returns the
canonical form the catalog stores, or raises ``ValidationError`` with a message a
curator can act on. Empty input gives ``None``: an absent identifier is stored as NULL
so that uniqueness applies only to identifiers that are present.
"""

import re
from urllib.parse import unquote

from django.core.exceptions import ValidationError

DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
DOI_PREFIXES = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
PMID_RE = re.compile(r"^\d{1,9}$")
PMCID_RE = re.compile(r"^PMC\d{1,9}$")
# Registries whose ids the catalog recognises, each with the shape of its ids.
REGISTRY_PATTERNS = {
    "ClinicalTrials.gov": re.compile(r"^NCT\d{8}$"),
    "ISRCTN": re.compile(r"^ISRCTN\d{8}$"),
    "EU Clinical Trials Register": re.compile(r"^\d{4}-\d{6}-\d{2}$"),
    "EU CTIS": re.compile(r"^\d{4}-\d{6}-\d{2}-\d{2}$"),
    "ANZCTR": re.compile(r"^ACTRN\d{14}$"),
    "DRKS": re.compile(r"^DRKS\d{8}$"),
    "ChiCTR": re.compile(r"^ChiCTR[-\dA-Za-z]+$"),
    "CTRI": re.compile(r"^CTRI/\d{4}/\d{2,3}/\d{6}$"),
}

# Trailing characters that come from the sentence around a DOI, not from the DOI.
TRAILING_PUNCTUATION = ".,;:)]}>\"'"


def _clean(value):
    if value is None:
        return ""
    return str(value).strip()


def normalize_doi(value):
    """``https://doi.org/10.1000/XYZ.`` becomes ``10.1000/xyz``."""
    text = _clean(value)
    if not text:
        return None
    if text[:4].lower() == "http":  # a link: its DOI may be percent-encoded, as “%28” for “(”
        text = unquote(text)
    text = DOI_PREFIXES.sub("", text).strip()
    text = text.rstrip(TRAILING_PUNCTUATION).lower()
    if not DOI_RE.match(text):
        raise ValidationError(
            "“%(value)s” is not a DOI: a DOI starts with “10.”, then a registrant code, "
            "a slash and a suffix, e.g. 10.1007/s10067-014-2517-2.",
            code="invalid_doi",
            params={"value": _clean(value)[:200]},
        )
    return text


def normalize_pmid(value):
    text = _clean(value)
    if not text:
        return None
    if text.upper().startswith("PMID"):
        text = text[4:].lstrip(": ").strip()
    if not PMID_RE.match(text):
        raise ValidationError(
            "“%(value)s” is not a PMID: a PubMed id is digits only, e.g. 24526250.",
            code="invalid_pmid",
            params={"value": _clean(value)[:200]},
        )
    return text.lstrip("0") or "0"


def normalize_pmcid(value):
    text = _clean(value).upper().replace(" ", "")
    if not text:
        return None
    if text.isdigit():
        text = "PMC" + text
    if not PMCID_RE.match(text):
        raise ValidationError(
            "“%(value)s” is not a PMCID: a PubMed Central id is “PMC” followed by digits, "
            "e.g. PMC3962576.",
            code="invalid_pmcid",
            params={"value": _clean(value)[:200]},
        )
    return text


def normalize_registry_id(value):
    text = _clean(value)
    if not text:
        return None
    upper = text.upper()
    for pattern in REGISTRY_PATTERNS.values():
        for candidate in (upper, text):
            if pattern.match(candidate):
                return candidate
    raise ValidationError(
        "“%(value)s” is not a trial registry id the catalog recognises: a ClinicalTrials.gov "
        "id is “NCT” followed by 8 digits, e.g. NCT04270877 (ISRCTN, EudraCT, ANZCTR, DRKS, "
        "ChiCTR and CTRI ids are also accepted).",
        code="invalid_registry_id",
        params={"value": text[:200]},
    )


def registry_name(registry_id):
    """The name of the registry an id belongs to, or an empty string."""
    for name, pattern in REGISTRY_PATTERNS.items():
        if registry_id and pattern.match(registry_id):
            return name
    return ""


# A link to the record an identifier names, as the functions below write it or as the
# sites wrote it before (ncbi.nlm.nih.gov/pmc, clinicaltrials.gov/ct2/show): the id is
# group 1.
RECORD_LINK = re.compile(
    r"^https?://(?:www\.)?(?:pubmed\.ncbi\.nlm\.nih\.gov|pmc\.ncbi\.nlm\.nih\.gov/articles"
    r"|ncbi\.nlm\.nih\.gov/pmc/articles|clinicaltrials\.gov/(?:study|ct2/show)|isrctn\.com)"
    r"/(\w+)/?(?:[?#]\S*)?$",
    re.IGNORECASE,
)


def doi_url(doi):
    return f"https://doi.org/{doi}"


def pubmed_url(pmid):
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"


def pmc_url(pmcid):
    return f"https://pmc.ncbi.nlm.nih.gov/articles/{pmcid}/"


def registry_url(registry_id):
    if registry_name(registry_id) == "ClinicalTrials.gov":
        return f"https://clinicaltrials.gov/study/{registry_id}"
    if registry_name(registry_id) == "ISRCTN":
        return f"https://www.isrctn.com/{registry_id}"
    return ""
