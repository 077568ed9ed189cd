"""Recognising a study the catalog holds already: the same identifier, or the same title
(or a near-identical one) and year. The admin's form and the importer ask the same
questions here, through ``TitleIndex``."""

import re

from rapidfuzz import fuzz, process

from .models import Study

# "DOI", "PMID", "PMCID", "trial registry id": the identifier fields' own names.
IDENTIFIER_LABELS = {
    field.name: str(field.verbose_name)
    for field in Study._meta.concrete_fields
    if field.name in Study.IDENTIFIER_FIELDS
}
# Titles this similar (rapidfuzz's ratio, 0–100, after normalising) are the same title.
SIMILAR_TITLE_SCORE = 92
NUMBERS = re.compile(r"\d+")
NOT_WORDS = re.compile(r"[\W_]+")


def normalised_title(title):
    """Case, punctuation and spacing removed: “LDN in  Fibromyalgia.” = “ldn in fibromyalgia”."""
    return " ".join(NOT_WORDS.sub(" ", title.casefold()).split())


class TitleIndex:
    """Titles by year, each with what it stands for (a study, or an earlier entry of a
    file): ``find`` returns what has the same or a near-identical title in the same year.

    Titles whose numbers differ are different titles, so each year's titles are kept
    apart by the numbers they hold: a title is compared only with those holding the same
    numbers, which gives what comparing it with the whole year and dropping the others
    would give, with fewer comparisons.
    """

    def __init__(self):
        self.exact = {}
        self.groups = {}

    def add(self, title, year, item):
        key = normalised_title(title)
        self._add(key, year, self._group(key, year), item)

    @staticmethod
    def _group(key, year):
        return (year, *NUMBERS.findall(key))

    def _add(self, key, year, group, item):
        if (key, year) in self.exact:
            return
        self.exact[key, year] = item
        titles, items = self.groups.setdefault(group, ([], []))
        titles.append(key)
        items.append(item)

    def find(self, title, year):
        """What has the same title in ``year``, else the most similar near-identical one."""
        key = normalised_title(title)
        if (key, year) in self.exact:
            return self.exact[key, year]
        found = self._matches(key, self._group(key, year))
        return found[0] if found else None

    def find_or_add(self, title, year, item):
        """``find``; when nothing matches, ``add`` the title with ``item`` (and return None)."""
        key = normalised_title(title)
        found = self.exact.get((key, year))
        if found is None:
            group = self._group(key, year)  # the titles holding the same numbers
            similar = self._matches(key, group)
            if similar:
                return similar[0]
            self._add(key, year, group, item)
        return found

    def matches(self, title, year):
        """Everything with the same or a near-identical title in ``year``, most similar
        first. Titles whose numbers differ ("Part 1", "Part 2") are different titles."""
        key = normalised_title(title)
        return self._matches(key, self._group(key, year))

    def _matches(self, key, group):
        titles, items = self.groups.get(group, ((), ()))
        if not titles:
            return []
        found = process.extract(
            key, titles, scorer=fuzz.ratio, score_cutoff=SIMILAR_TITLE_SCORE, limit=None
        )
        return [items[position] for _, _, position in found]


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
    index = TitleIndex()
    for other in Study.objects.exclude(pk=study.pk).filter(year=study.year).only("title", "slug"):
        index.add(other.title, other.year, other)
    return index.matches(study.title, study.year)
