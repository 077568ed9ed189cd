"""A study as a citation: one record that every way of citing it reads.

``Citation`` holds what a reference manager needs of a study (title, authors, journal,
identifiers, the conditions as keywords). BibTeX (bibtex.py), RIS (exports.py), the
formatted reference and the Highwire ``citation_*`` tags of the study page are all written
from it, so they cannot disagree. It is built from a Study or, for a long download, from
a row of ``Study.objects.values(*Citation.FIELDS)`` with no model instance.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from . import identifiers


@dataclass(frozen=True, slots=True)
class Citation:
    key: str  # the study's slug
    title: str
    authors: tuple
    year: int | None
    journal: str
    volume: str
    issue: str
    pages: str
    doi: str | None
    pmid: str | None
    pmcid: str | None
    registry_id: str | None
    url: str
    design: str
    summary: str
    keywords: tuple  # the study's condition names, in name order

    # The study's columns a citation reads.
    FIELDS = (
        "slug",
        "title",
        "authors",
        "year",
        "journal",
        "volume",
        "issue",
        "pages",
        "doi",
        "pmid",
        "pmcid",
        "registry_id",
        "url",
        "design",
        "summary",
    )

    @classmethod
    def from_row(cls, row, keywords=()):
        """From a mapping of FIELDS (a ``values()`` row) and the condition names."""
        return cls(
            key=row["slug"],
            title=row["title"],
            authors=tuple(row["authors"] or ()),
            year=row["year"],
            journal=row["journal"],
            volume=row["volume"],
            issue=row["issue"],
            pages=row["pages"],
            doi=row["doi"],
            pmid=row["pmid"],
            pmcid=row["pmcid"],
            registry_id=row["registry_id"],
            url=row["url"],
            design=row["design"],
            summary=row["summary"],
            keywords=tuple(keywords),
        )

    @classmethod
    def from_study(cls, study):
        """From a Study (its conditions read through ``study.conditions.all()``)."""
        row = {name: getattr(study, name) for name in cls.FIELDS}
        return cls.from_row(row, [condition.name for condition in study.conditions.all()])

    @property
    def first_and_last_page(self):
        return first_and_last_page(self.pages)

    def reference(self):
        """E.g. ``Younger J, Mackey S. Fibromyalgia symptoms ... Pain Med. 2009;10(4):663-72.``"""
        parts = []
        if self.authors:
            parts.append(format_authors(self.authors).rstrip(".") + ".")
        parts.append(self.title.rstrip(".") + ".")
        source = self.journal.rstrip(".") + "." if self.journal else ""
        details = str(self.year) if self.year else ""
        if self.volume:
            details += f";{self.volume}"
            if self.issue:
                details += f"({self.issue})"
        if self.pages:
            details += f":{self.pages}"
        if source or details:
            parts.append(" ".join(p for p in (source, details + "." if details else "") if p))
        if self.doi:
            parts.append(f"doi:{self.doi}")
        elif self.registry_id:
            parts.append(f"Trial registration {self.registry_id}.")
        return " ".join(parts)

    def highwire_tags(self):
        """(name, content) of the ``<meta name="citation_…">`` tags Zotero reads."""
        tags = [("citation_title", self.title)]
        tags += [("citation_author", author) for author in self.authors]
        first_page, last_page = self.first_and_last_page
        for name, value in (
            ("citation_publication_date", self.year),
            ("citation_journal_title", self.journal),
            ("citation_volume", self.volume),
            ("citation_issue", self.issue),
            ("citation_firstpage", first_page),
            ("citation_lastpage", last_page if first_page else ""),
            ("citation_doi", self.doi),
            ("citation_pmid", self.pmid),
        ):
            if value:
                tags.append((name, str(value)))
        return tags


def format_authors(authors, limit=6):
    """Vancouver style: the first six authors, then “et al.”."""
    names = list(authors)
    if len(names) > limit:
        return ", ".join(names[:limit]) + ", et al."
    return ", ".join(names)


def first_and_last_page(pages):
    """``663-72`` gives ``("663", "72")``; one page gives it twice; nothing gives blanks."""
    text = (pages or "").replace("–", "-").strip()
    if not text:
        return "", ""
    first, _, last = text.partition("-")
    return first.strip(), (last.strip() or first.strip())


def study_links(study):
    """Links out to where the study can be read: doi.org, PubMed, PMC, the trial registry."""
    return {
        "doi": identifiers.doi_url(study.doi) if study.doi else "",
        "pmid": identifiers.pubmed_url(study.pmid) if study.pmid else "",
        "pmcid": identifiers.pmc_url(study.pmcid) if study.pmcid else "",
        "registry": identifiers.registry_url(study.registry_id) if study.registry_id else "",
        # Only web addresses: a stored "javascript:" URL must never become a link.
        "url": study.url if urlsplit(study.url).scheme in ("http", "https") else "",
    }


def short_label(authors, title, year, limit=22):
    """A study as a plot's row names it: ``Younger et al. 2014``; without authors, the
    start of its title and its year."""
    year_part = f" {year}" if year else ""
    if authors:
        first = str(authors[0]).strip()
        surname = first.split(",")[0] if "," in first else first.rsplit(" ", 1)[0]
        surname = surname if len(surname) <= limit else surname[: limit - 1] + "…"
        return f"{surname}{' et al.' if len(authors) > 1 else ''}{year_part}"
    short = title if len(title) <= limit else title[: limit - 1].rstrip() + "…"
    return f"{short}{year_part}"
