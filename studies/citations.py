"""A study as a formatted reference and as links out, for the study page (BibTeX is in
bibtex.py)."""

from urllib.parse import urlsplit

from . import identifiers


def format_authors(authors, limit=6):
    """Vancouver style: the first six authors, then “et al.”."""
    names = list(authors)
    if len(names) > limit:
        return ", ".join(names[:limit]) + ", et al."
    return ", ".join(names)


def format_reference(study):
    """E.g. ``Younger J, Mackey S. Fibromyalgia symptoms ... Pain Med. 2009;10(4):663-72.``"""
    parts = []
    if study.authors:
        parts.append(format_authors(study.authors).rstrip(".") + ".")
    parts.append(study.title.rstrip(".") + ".")
    source = study.journal.rstrip(".") + "." if study.journal else ""
    details = str(study.year) if study.year else ""
    if study.volume:
        details += f";{study.volume}"
        if study.issue:
            details += f"({study.issue})"
    if study.pages:
        details += f":{study.pages}"
    if source or details:
        parts.append(" ".join(p for p in (source, details + "." if details else "") if p))
    if study.doi:
        parts.append(f"doi:{study.doi}")
    elif study.registry_id:
        parts.append(f"Trial registration {study.registry_id}.")
    return " ".join(parts)


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
