"""BibTeX in and out. The only module that imports bibtexparser.

Writing: each study becomes one entry whose field values are LaTeX-escaped UTF-8, so
that a title holding ``&``, ``%``, ``{`` or ``\\`` neither breaks the file nor changes
meaning, and Zotero, JabRef and BibTeX itself read it back as the same text.
"""

import re

import bibtexparser
from bibtexparser.library import Library
from bibtexparser.model import Entry, Field

# LaTeX's special characters and how to write each as text.
LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    # BibTeX counts every brace, escaped or not, so braces are written as commands.
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "_": r"\_",
    "$": r"\$",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
LATEX_SPECIALS = re.compile("|".join(re.escape(c) for c in LATEX_ESCAPES))
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def latex_escape(text):
    text = CONTROL_CHARACTERS.sub("", str(text))
    text = " ".join(text.split())
    return LATEX_SPECIALS.sub(lambda m: LATEX_ESCAPES[m.group(0)], text)


def entry_type(study):
    if study.journal and study.design not in ("registered_trial",):
        return "article"
    return "misc"


def study_to_entry(study):
    """A bibtexparser Entry for one study; its key is the study's slug."""
    fields = [("title", study.title)]
    if study.authors:
        fields.append(("author", " and ".join(study.authors)))
    for name, value in (
        ("journal", study.journal),
        ("year", study.year),
        ("volume", study.volume),
        ("number", study.issue),
        ("pages", study.pages),
        ("doi", study.doi),
        ("pmid", study.pmid),
        ("pmcid", study.pmcid),
        ("url", study.url),
        ("note", f"Trial registration: {study.registry_id}" if study.registry_id else ""),
        ("keywords", ", ".join(c.name for c in study.conditions.all())),
    ):
        if value:
            fields.append((name, value))
    return Entry(
        entry_type(study),
        study.slug,
        [Field(name, latex_escape(value)) for name, value in fields],
    )


def study_to_bibtex(study):
    library = Library([study_to_entry(study)])
    return bibtexparser.write_string(library)


def iter_bibtex(studies):
    """BibTeX for many studies, one entry at a time (streams a long list)."""
    for study in studies:
        yield study_to_bibtex(study)


def dumps(studies):
    return "".join(iter_bibtex(studies))
