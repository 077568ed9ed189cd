"""Recognising a study the catalog holds already: same identifier, or the same title and year."""

import difflib
import re

from .models import Study

IDENTIFIER_LABELS = {
    "doi": "DOI",
    "pmid": "PMID",
    "pmcid": "PMCID",
    "registry_id": "trial registry id",
}
# Titles this similar (difflib's ratio, after normalising) are taken for the same title.
SIMILAR_TITLE_RATIO = 0.92


def normalised_title(title):
    """Case, punctuation and spacing removed: “LDN in  Fibromyalgia.” = “ldn in fibromyalgia”."""
    return " ".join(re.sub(r"[\W_]+", " ", title.casefold()).split())


def similar_titles(a, b):
    a, b = normalised_title(a), normalised_title(b)
    if a == b:
        return True
    return difflib.SequenceMatcher(None, a, b).ratio() >= SIMILAR_TITLE_RATIO


def identifier_duplicates(study):
    """[(field name, existing study)] for each identifier of ``study`` another study holds."""
    found = []
    for field in IDENTIFIER_LABELS:
        value = getattr(study, field)
        if not value:
            continue
        existing = Study.objects.exclude(pk=study.pk).filter(**{field: value}).first()
        if existing:
            found.append((field, existing))
    return found


def title_duplicates(study):
    """Other studies of the same year whose title is the same or nearly so."""
    if not study.title:
        return []
    candidates = Study.objects.exclude(pk=study.pk).filter(year=study.year).only("title", "slug")
    # Cheap filters first: difflib is slow, and most titles differ in length a lot.
    length = len(study.title)
    return [
        other
        for other in candidates
        if abs(len(other.title) - length) <= max(10, length // 5)
        and similar_titles(other.title, study.title)
    ]
