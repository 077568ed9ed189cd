"""Word search over the catalog, with one meaning on SQLite and PostgreSQL.

A reader's text is parsed here, once, into terms (a word, a "quoted phrase", a -word to
exclude); every term must match, in any field a reader would expect. The same terms are
then written in the query language of each database: an FTS5 MATCH expression on SQLite,
a tsquery on PostgreSQL. Nothing the reader types reaches either language as syntax: words
are letters and digits only, so operators (``NEAR``, ``*``, ``^``, ``title:``, ``&``,
``|``, ``!``) are searched as plain words or ignored, and the page says what was ignored.

Each study has one search document (table ``studies_search``, row id = study id) holding
its title, authors, journal, summary, outcomes, conditions with their synonyms, and
identifiers. Database triggers created by migration 0010 keep it in step on every write
path (admin, importer, ``loaddata``, restores, raw SQL): an FTS5 table on SQLite, a
GIN-indexed tsvector on PostgreSQL. Their SQL is in studies/search_index.py.
"""

import re
import unicodedata
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import models

from . import identifiers
from .search_index import CONFIG, FTS5_WEIGHTS, TABLE

# PostgreSQL's English stop words (tsearch_data/english.stop): too common to narrow a
# search, so a query leaves them out where they stand alone or at either end of a phrase.
# Both indexes hold them, so inside a phrase ("effect of naltrexone") they are matched as
# written, on both databases.
_STOP_WORDS = """i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do
    does did doing a an the and but if or because as until while of at by for with about
    against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will
    just don should now"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
# The last word matches as a prefix ("fibrom" finds fibromyalgia) once it is this long.
PREFIX_MIN_LENGTH = 3
WORD = re.compile(r"[^\W_]+")
# What the reader may have meant as an operator, which is searched as plain words instead.
OPERATOR_SYMBOLS = re.compile(r"[*^&|!():+~<>{}\[\]]")
# "doi: 10.1002/art.37734", "PMID: 23359310", "PMCID: PMC3962576", as PubMed and journals
# print them: the label says what the identifier after it is, and is not searched for.
IDENTIFIER_LABEL = re.compile(
    r"(?<![^\s\"(])(?:doi\s*:\s*(?=10\.)|pmid\s*:\s*(?=\d)|pmcid\s*:\s*(?=pmc\d))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Term:
    words: tuple  # one word, or the words of a phrase, in order
    negated: bool = False
    prefix: bool = False  # the last word also matches as the start of a longer word


@dataclass(eq=False)  # compared and hashed by identity, as a lookup's value
class ParsedSearch:
    text: str
    terms: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # what was ignored, in words for the reader

    @property
    def positive(self):
        return [t for t in self.terms if not t.negated]

    def __bool__(self):
        return bool(self.positive)

    def words(self):
        """Every word searched for (not those excluded), for suggestions."""
        return [w for t in self.positive for w in t.words]

    def fts5(self):
        """The FTS5 MATCH expression: each term a quoted phrase, so nothing is syntax."""

        def phrase(term):
            return '"' + " ".join(term.words) + '"' + (" *" if term.prefix else "")

        expression = " AND ".join(phrase(t) for t in self.positive)
        for term in self.terms:
            if term.negated:
                expression = f"({expression}) NOT {phrase(term)}"
        return expression

    def tsquery(self):
        """The same terms as a ``to_tsquery('studies_search', …)`` text (search_index.CONFIG)."""

        def phrase(term):
            words = [f"'{w}'" for w in term.words]
            if term.prefix:
                words[-1] += ":*"
            return "(" + " <-> ".join(words) + ")"

        parts = [phrase(t) for t in self.positive]
        parts += ["!" + phrase(t) for t in self.terms if t.negated]
        return " & ".join(parts)


def clean_text(text):
    """The search text without control or formatting characters (NUL, right-to-left
    overrides, zero-width joiners): they are invisible, and none is part of a word."""
    kept = "".join(
        " " if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") else c
        for c in text
    )
    return " ".join(kept.split())


def parse(text):
    """Parse the reader's search text into terms; see the module docstring."""
    parsed = ParsedSearch(text)
    # Compatibility forms are their plain letters, and a letter with a combining accent
    # one letter ("ﬁ", full-width "ＬＤＮ", "Sjo\u0308gren"): both indexes fold accents.
    text = unicodedata.normalize("NFKC", text)
    text = IDENTIFIER_LABEL.sub("", text)
    chunks, unbalanced = _chunks(text)
    if unbalanced:
        parsed.notes.append("The unmatched quotation mark was ignored.")
    # The colon and slashes of a pasted link are part of it, not an operator ignored.
    plain = text
    for chunk, _quoted, _negated in chunks:
        if _identifier(chunk):
            plain = plain.replace(chunk, " ")
    if OPERATOR_SYMBOLS.search(plain):
        parsed.notes.append(
            "Symbols such as * ^ & | ! : ( ) were ignored: the search matches plain words."
        )
    dropped = []
    for chunk, _quoted, negated in chunks:
        chunk = _identifier(chunk) or chunk
        words = [w.lower() for w in WORD.findall(chunk)]
        # Dropped from either end of a phrase ("pain's", "of low dose"), as on their own.
        # Between other words a phrase keeps them, matched as written.
        start, end = 0, len(words)
        while start < end and words[start] in STOP_WORDS:
            start += 1
        while end > start and words[end - 1] in STOP_WORDS:
            end -= 1
        dropped.extend(words[:start] + words[end:])
        if start < end:
            parsed.terms.append(Term(tuple(words[start:end]), negated))
    if dropped:
        shown = ", ".join(f"“{w}”" for w in dict.fromkeys(dropped))
        parsed.notes.append(f"Very common words were not searched for: {shown}.")
    last = parsed.terms[-1] if parsed.terms else None
    if (
        last
        and not last.negated
        and chunks
        and not chunks[-1][1]  # not a quoted phrase
        and len(last.words[-1]) >= PREFIX_MIN_LENGTH
        and not last.words[-1].isdigit()
    ):
        parsed.terms[-1] = Term(last.words, prefix=True)
    if parsed.terms and not parsed.positive:
        parsed.notes.append(
            "A search needs at least one word to look for, not only words to leave out."
        )
    elif not parsed.terms:
        parsed.notes.append("There was no word to search for, so the search was not applied.")
    return parsed


def _chunks(text):
    """(chunk, quoted, negated) triples: "quoted phrases" whole, the rest split at white
    space; a leading "-" excludes. An unbalanced quotation mark is dropped, and the words
    after it are searched one by one."""
    text = text.replace("“", '"').replace("”", '"').replace("„", '"')
    pieces = text.split('"')
    unbalanced = len(pieces) % 2 == 0
    chunks = []
    negate_next = False
    for i, piece in enumerate(pieces):
        quoted = i % 2 == 1 and not (unbalanced and i == len(pieces) - 1)
        if quoted:
            if WORD.search(piece):
                chunks.append((piece, True, negate_next))
            negate_next = False
            continue
        words = piece.split()
        negate_next = bool(words) and words[-1] == "-" and not piece.endswith((" ", "\t"))
        for word in words[:-1] if negate_next else words:
            negated = word.startswith("-") and len(word) > 1
            chunks.append((word[1:] if negated else word, False, negated))
    return chunks, unbalanced


def _identifier(chunk):
    """A DOI pasted as a link (https://doi.org/10.…) is searched as the DOI it names, and a
    link to a PubMed, PubMed Central or trial registry record as its PMID, PMCID or id."""
    link = identifiers.RECORD_LINK.match(chunk.rstrip(identifiers.TRAILING_PUNCTUATION))
    if link:
        return link.group(1)
    if identifiers.DOI_PREFIXES.match(chunk):
        try:
            return identifiers.normalize_doi(chunk)
        except ValidationError:  # not a DOI after all: searched as the words it holds
            return None
    return None


# The search document and how it is matched, for the ORM.


class SearchDocumentField(models.Field):
    """The document column of ``studies_search``: an FTS5 table's hidden column on SQLite
    (named after the table), a tsvector on PostgreSQL."""

    def db_type(self, connection):
        return None  # created by the migration, not by Django


@SearchDocumentField.register_lookup
class Match(models.Lookup):
    """``document__match=ParsedSearch``: the document holds every term."""

    lookup_name = "match"

    def as_sql(self, compiler, connection):
        search = self.rhs
        column = _document_column(compiler, connection, self.lhs)
        if connection.vendor == "sqlite":
            return f"{column} MATCH %s", [search.fts5()]
        return f"{column} @@ to_tsquery('{CONFIG}'::regconfig, %s)", [search.tsquery()]


class Relevance(models.Expression):
    """How well a matched document answers the search: higher is better. BM25 with column
    weights on SQLite, ts_rank with the weights of the document's parts on PostgreSQL."""

    output_field = models.FloatField()

    def __init__(self, document, search):
        super().__init__()
        self.document, self.search = document, search

    def get_source_expressions(self):
        return [self.document]

    def set_source_expressions(self, exprs):
        (self.document,) = exprs

    def resolve_expression(self, *args, **kwargs):
        clone = self.copy()
        clone.document = self.document.resolve_expression(*args, **kwargs)
        return clone

    def as_sql(self, compiler, connection):
        column = _document_column(compiler, connection, self.document)
        if connection.vendor == "sqlite":
            weights = ", ".join(str(w) for w in FTS5_WEIGHTS.values())
            return f"-bm25({column}, {weights})", []
        return (
            f"ts_rank({column}, to_tsquery('{CONFIG}'::regconfig, %s))",
            [self.search.tsquery()],
        )


def _document_column(compiler, connection, col):
    alias = compiler.quote_name(col.alias)
    if connection.vendor == "sqlite":
        return f"{alias}.{connection.ops.quote_name(TABLE)}"
    return f"{alias}.{connection.ops.quote_name('document')}"
