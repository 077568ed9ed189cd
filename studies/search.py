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
GIN-indexed tsvector on PostgreSQL. The SQL for both lives here.
"""

import re
import unicodedata
from dataclasses import dataclass, field

from django.db import models

from . import identifiers

# PostgreSQL's English stop words (tsearch_data/english.stop): the 'english' configuration
# drops them from documents and queries, so they are dropped from every query here too, and
# "effect of naltrexone" means the same on both databases.
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
        """The same terms as a ``to_tsquery('english', …)`` text."""

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
    chunks, unbalanced = _chunks(text)
    if unbalanced:
        parsed.notes.append("The unmatched quotation mark was ignored.")
    if OPERATOR_SYMBOLS.search(text):
        parsed.notes.append(
            "Symbols such as * ^ & | ! : ( ) were ignored: the search matches plain words."
        )
    dropped = []
    for chunk, _quoted, negated in chunks:
        chunk = _identifier(chunk) or chunk
        words = [w.lower() for w in WORD.findall(chunk)]
        if words and all(w in STOP_WORDS for w in words):
            # PostgreSQL could not search for them; with other words, a phrase keeps them
            # (as the distance between the others on PostgreSQL, as written on SQLite).
            dropped.extend(words)
            continue
        if words:
            parsed.terms.append(Term(tuple(words), negated))
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
    """A DOI pasted as a link (https://doi.org/10.…) is searched as the DOI it names."""
    if identifiers.DOI_PREFIXES.match(chunk):
        try:
            return identifiers.normalize_doi(chunk)
        except Exception:  # not a DOI after all: searched as the words it holds
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

    def get_db_prep_lookup(self, value, connection):
        return ("%s", [value])

    def as_sql(self, compiler, connection):
        search = self.rhs
        column = _document_column(compiler, connection, self.lhs)
        if connection.vendor == "sqlite":
            return f"{column} MATCH %s", [search.fts5()]
        return f"{column} @@ to_tsquery('english'::regconfig, %s)", [search.tsquery()]


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
            f"ts_rank({column}, to_tsquery('english'::regconfig, %s))",
            [self.search.tsquery()],
        )


def _document_column(compiler, connection, col):
    alias = compiler.quote_name(col.alias)
    if connection.vendor == "sqlite":
        return f"{alias}.{connection.ops.quote_name(TABLE)}"
    return f"{alias}.{connection.ops.quote_name('document')}"


# The index itself: tables and triggers for each database (migration 0010).

TABLE = "studies_search"
LINK_TABLE = "studies_study_conditions"
# FTS5 columns and their BM25 weights: a word in the title or an identifier counts most.
FTS5_WEIGHTS = {
    "title": 10.0,
    "authors": 5.0,
    "journal": 2.0,
    "summary": 2.0,
    "outcomes": 1.0,
    "conditions": 5.0,
    "identifiers": 10.0,
}


def _sqlite_json_text(column):
    # Authors and synonyms are JSON lists; their items, decoded (JSON escapes non-ASCII).
    return (
        f"(SELECT group_concat(value, ' ') FROM json_each("
        f"CASE WHEN json_valid({column}) THEN {column} ELSE '[]' END))"
    )


def _sqlite_refresh(ids):
    """Statements that rewrite the search rows of the studies whose ids ``ids`` selects."""
    columns = ", ".join(FTS5_WEIGHTS)
    return f"""
    DELETE FROM {TABLE} WHERE rowid IN ({ids});
    INSERT INTO {TABLE} (rowid, {columns})
    SELECT s.id, s.title, {_sqlite_json_text("s.authors")}, s.journal, s.summary,
      (SELECT group_concat(o.name || ' ' || o.figures, ' ')
         FROM studies_outcome o WHERE o.study_id = s.id),
      (SELECT group_concat(c.name || ' ' || coalesce({_sqlite_json_text("c.synonyms")}, ''), ' ')
         FROM studies_condition c JOIN {LINK_TABLE} l ON l.condition_id = c.id
         WHERE l.study_id = s.id),
      coalesce(s.doi, '') || ' ' || coalesce(s.pmid, '') || ' ' || coalesce(s.pmcid, '')
        || ' ' || coalesce(s.registry_id, '')
    FROM studies_study s WHERE s.id IN ({ids});"""


SQLITE_TRIGGERS = {
    "studies_search_study_insert": (
        "AFTER INSERT ON studies_study",
        _sqlite_refresh("NEW.id"),
    ),
    "studies_search_study_update": (
        "AFTER UPDATE OF id, title, authors, journal, summary, doi, pmid, pmcid, registry_id"
        " ON studies_study",
        f"DELETE FROM {TABLE} WHERE rowid = OLD.id;" + _sqlite_refresh("NEW.id"),
    ),
    "studies_search_study_delete": (
        "AFTER DELETE ON studies_study",
        f"DELETE FROM {TABLE} WHERE rowid = OLD.id;",
    ),
    "studies_search_outcome_insert": (
        "AFTER INSERT ON studies_outcome",
        _sqlite_refresh("NEW.study_id"),
    ),
    "studies_search_outcome_update": (
        "AFTER UPDATE OF study_id, name, figures ON studies_outcome",
        _sqlite_refresh("OLD.study_id, NEW.study_id"),
    ),
    "studies_search_outcome_delete": (
        "AFTER DELETE ON studies_outcome",
        _sqlite_refresh("OLD.study_id"),
    ),
    "studies_search_link_insert": (
        f"AFTER INSERT ON {LINK_TABLE}",
        _sqlite_refresh("NEW.study_id"),
    ),
    "studies_search_link_update": (
        f"AFTER UPDATE ON {LINK_TABLE}",
        _sqlite_refresh("OLD.study_id, NEW.study_id"),
    ),
    "studies_search_link_delete": (
        f"AFTER DELETE ON {LINK_TABLE}",
        _sqlite_refresh("OLD.study_id"),
    ),
    "studies_search_condition_update": (
        "AFTER UPDATE OF name, synonyms ON studies_condition",
        _sqlite_refresh(f"SELECT study_id FROM {LINK_TABLE} WHERE condition_id = NEW.id"),
    ),
}


def sqlite_install(cursor):
    """Create the FTS5 table and its triggers if missing, and fill the table when a trigger
    was missing (Django rebuilds a SQLite table to alter it, and drops its triggers)."""
    columns = ", ".join(FTS5_WEIGHTS)
    cursor.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5({columns},"
        " tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    present = {name for (name,) in cursor.fetchall()}
    missing = [name for name in SQLITE_TRIGGERS if name not in present]
    for name in missing:
        event, body = SQLITE_TRIGGERS[name]
        cursor.execute(f"CREATE TRIGGER {name} {event} BEGIN {body} END")
    if missing:
        cursor.execute(f"DELETE FROM {TABLE}")
        for statement in _sqlite_refresh("SELECT id FROM studies_study").split(";"):
            if statement.strip():
                cursor.execute(statement)


def sqlite_uninstall(cursor):
    for name in SQLITE_TRIGGERS:
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
    cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")


# PostgreSQL: weights A (title, identifiers), B (authors, conditions), C (journal,
# summary), D (outcomes), as ts_rank reads them.
def _postgres_words(text):
    # Letters and digits only, as FTS5's unicode61 splits words: PostgreSQL's own parser
    # keeps "4.5", e-mail addresses and paths as single tokens, which a search for their
    # words would then miss on one database and find on the other.
    return f"to_tsvector('english'::regconfig, regexp_replace({text}, '[^[:alnum:]]+', ' ', 'g'))"


POSTGRES_DOCUMENT = f"""
  setweight({_postgres_words("coalesce(s.title, '')")}, 'A')
  || setweight({_postgres_words("concat_ws(' ', s.doi, s.pmid, s.pmcid, s.registry_id)")}, 'A')
  || setweight({
    _postgres_words('''coalesce((
       SELECT string_agg(a, ' ') FROM jsonb_array_elements_text(
         CASE WHEN jsonb_typeof(s.authors) = 'array' THEN s.authors ELSE '[]' END) a), '')''')
},
       'B')
  || setweight({
    _postgres_words('''coalesce((
       SELECT string_agg(c.name || ' ' || coalesce((
         SELECT string_agg(y, ' ') FROM jsonb_array_elements_text(
           CASE WHEN jsonb_typeof(c.synonyms) = 'array' THEN c.synonyms ELSE '[]' END) y), ''),
         ' ')
       FROM studies_condition c JOIN studies_study_conditions l ON l.condition_id = c.id
       WHERE l.study_id = s.id), '')''')
}, 'B')
  || setweight({_postgres_words("coalesce(s.journal, '') || ' ' || coalesce(s.summary, '')")},
       'C')
  || setweight({
    _postgres_words('''coalesce((
       SELECT string_agg(o.name || ' ' || o.figures, ' ')
       FROM studies_outcome o WHERE o.study_id = s.id), '')''')
}, 'D')"""

# Statement-level triggers with transition tables: a bulk write (COPY, a bulk insert,
# loaddata) rewrites each study's document once per statement, not once per row.


def _postgres_function(name, select):
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM studies_search_refresh(ARRAY({select}));
  RETURN NULL;
END $$;"""


POSTGRES_FUNCTIONS = {
    # name: the study ids a statement touched, from its transition tables
    "studies_search_study_new": "SELECT id FROM new_rows",
    "studies_search_study_changed": (
        "SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id"
        " WHERE (n.title, n.authors, n.journal, n.summary, n.doi, n.pmid, n.pmcid,"
        " n.registry_id) IS DISTINCT FROM (o.title, o.authors, o.journal, o.summary, o.doi,"
        " o.pmid, o.pmcid, o.registry_id)"
    ),
    "studies_search_study_gone": "SELECT id FROM old_rows",
    "studies_search_by_study_new": "SELECT DISTINCT study_id FROM new_rows",
    "studies_search_by_study_both": (
        "SELECT study_id FROM new_rows UNION SELECT study_id FROM old_rows"
    ),
    "studies_search_by_study_old": "SELECT DISTINCT study_id FROM old_rows",
    "studies_search_by_condition": (
        f"SELECT DISTINCT l.study_id FROM {LINK_TABLE} l JOIN new_rows n"
        " ON l.condition_id = n.id JOIN old_rows o ON o.id = n.id"
        " WHERE (n.name, n.synonyms) IS DISTINCT FROM (o.name, o.synonyms)"
    ),
}
# (table, event, transition tables, function)
POSTGRES_TRIGGERS = [
    ("studies_study", "INSERT", "NEW TABLE AS new_rows", "studies_search_study_new"),
    (
        "studies_study",
        "UPDATE",
        "NEW TABLE AS new_rows OLD TABLE AS old_rows",
        "studies_search_study_changed",
    ),
    ("studies_study", "DELETE", "OLD TABLE AS old_rows", "studies_search_study_gone"),
    ("studies_outcome", "INSERT", "NEW TABLE AS new_rows", "studies_search_by_study_new"),
    (
        "studies_outcome",
        "UPDATE",
        "NEW TABLE AS new_rows OLD TABLE AS old_rows",
        "studies_search_by_study_both",
    ),
    ("studies_outcome", "DELETE", "OLD TABLE AS old_rows", "studies_search_by_study_old"),
    (LINK_TABLE, "INSERT", "NEW TABLE AS new_rows", "studies_search_by_study_new"),
    (
        LINK_TABLE,
        "UPDATE",
        "NEW TABLE AS new_rows OLD TABLE AS old_rows",
        "studies_search_by_study_both",
    ),
    (LINK_TABLE, "DELETE", "OLD TABLE AS old_rows", "studies_search_by_study_old"),
    (
        "studies_condition",
        "UPDATE",
        "NEW TABLE AS new_rows OLD TABLE AS old_rows",
        "studies_search_by_condition",
    ),
]


def postgres_install(cursor):
    cursor.execute(
        f"CREATE TABLE {TABLE} (rowid bigint PRIMARY KEY, document tsvector NOT NULL);"
        f"CREATE INDEX studies_search_document_idx ON {TABLE} USING gin (document);"
        "CREATE FUNCTION studies_search_refresh(ids bigint[]) RETURNS void LANGUAGE sql AS $$"
        f"  DELETE FROM {TABLE} WHERE rowid = ANY(ids);"
        f"  INSERT INTO {TABLE} (rowid, document)"
        f"  SELECT s.id, {POSTGRES_DOCUMENT}"
        "  FROM studies_study s WHERE s.id = ANY(ids);"
        "$$;"
    )
    for name, select in POSTGRES_FUNCTIONS.items():
        cursor.execute(_postgres_function(name, select))
    for i, (table, event, transitions, function) in enumerate(POSTGRES_TRIGGERS):
        cursor.execute(
            f"CREATE TRIGGER studies_search_{i} AFTER {event} ON {table}"
            f" REFERENCING {transitions} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    # Django's test flush empties tables with TRUNCATE, which fires no row trigger.
    cursor.execute(
        "CREATE FUNCTION studies_search_truncate() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN TRUNCATE {TABLE}; RETURN NULL; END $$;"
        "CREATE TRIGGER studies_search_truncate AFTER TRUNCATE ON studies_study"
        " FOR EACH STATEMENT EXECUTE FUNCTION studies_search_truncate()"
    )
    cursor.execute("SELECT studies_search_refresh(ARRAY(SELECT id FROM studies_study))")


def postgres_uninstall(cursor):
    cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
    for i, (table, *_rest) in enumerate(POSTGRES_TRIGGERS):
        cursor.execute(f"DROP TRIGGER IF EXISTS studies_search_{i} ON {table}")
    cursor.execute("DROP TRIGGER IF EXISTS studies_search_truncate ON studies_study")
    for name in [*POSTGRES_FUNCTIONS, "studies_search_truncate"]:
        cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")
    cursor.execute("DROP FUNCTION IF EXISTS studies_search_refresh(bigint[])")


def install(connection):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            sqlite_install(cursor)
        elif connection.vendor == "postgresql":
            postgres_install(cursor)


def uninstall(connection):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            sqlite_uninstall(cursor)
        elif connection.vendor == "postgresql":
            postgres_uninstall(cursor)


def suspend_sqlite_triggers(apps, schema_editor):
    """The first operation of a migration that alters (so, on SQLite, rebuilds) a table the
    search triggers read: SQLite refuses to rename the rebuilt table while a trigger on
    another table names it. ``resume_sqlite_triggers`` ends such a migration."""
    if schema_editor.connection.vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def resume_sqlite_triggers(apps, schema_editor):
    """Put the search triggers back (and rebuild the index) after ``suspend_sqlite_triggers``."""
    _reinstall_sqlite(schema_editor.connection)


def _reinstall_sqlite(connection):
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE name = %s", [TABLE])
            if cursor.fetchone():
                sqlite_install(cursor)


def ensure_installed(using, **kwargs):
    """After ``migrate`` on SQLite: put back triggers a table rebuild dropped."""
    from django.db import connections

    _reinstall_sqlite(connections[using])
