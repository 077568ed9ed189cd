"""The search index: one document per study in the table ``studies_search``, kept in step
by database triggers on every write path (migration 0010; see docs/search.md).

An FTS5 table with row triggers on SQLite; a GIN-indexed tsvector with statement-level
triggers on PostgreSQL. ``studies/search.py`` queries it.
"""

from contextlib import contextmanager
from itertools import batched

from django.db import connections

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


@contextmanager
def refreshed_once(using, study_ids):
    """For a bulk write inside a transaction: on SQLite, the search triggers are dropped
    while it runs and the search rows of the studies in ``study_ids`` (a list the write
    fills) are written once at the end, and the triggers put back, all in the same
    transaction. Row triggers would rewrite a study's row once for the study and again for
    each condition link: most of an import's cost (benchmarks/README.md). Another writer
    waits for the transaction, so it never writes without the triggers. On PostgreSQL the
    statement triggers already index each study once per statement: nothing changes."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        for name in SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
    yield
    with connection.cursor() as cursor:
        for batch in batched(study_ids, 10_000, strict=False):
            ids = ", ".join(str(int(pk)) for pk in batch)
            for statement in _sqlite_refresh(ids).split(";"):
                if statement.strip():
                    cursor.execute(statement)
        for name, (event, body) in SQLITE_TRIGGERS.items():
            cursor.execute(f"CREATE TRIGGER {name} {event} BEGIN {body} END")


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


# PostgreSQL: the text search configuration of the documents and queries, which reads
# words as FTS5's "porter unicode61 remove_diacritics 2" does: accents folded (the unaccent
# extension: "Muller" finds "Müller") and the Porter stemmer, which PostgreSQL ships among
# its Snowball stemmers, where the 'english' configuration has Snowball's later English
# stemmer (it stems "generous" and "general" apart, Porter together). And every word is
# indexed, stop words too, as FTS5 indexes them: otherwise "others" (stemmed "other", a stop
# word) or the prefix "bot" (of "both") would find studies on SQLite only. The query parser
# leaves stop words out of the search itself (search.STOP_WORDS).
CONFIG = "studies_search"
WORD_TOKENS = "asciiword, word, numword, asciihword, hword, hword_asciipart, hword_part"
POSTGRES_CONFIG = f"""
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH DICTIONARY {CONFIG}_porter (TEMPLATE = snowball, LANGUAGE = porter);
CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = english);
ALTER TEXT SEARCH CONFIGURATION {CONFIG}
  ALTER MAPPING FOR {WORD_TOKENS} WITH unaccent, {CONFIG}_porter;"""


# Weights A (title, identifiers), B (authors, conditions), C (journal, summary),
# D (outcomes), as ts_rank reads them.
def _postgres_words(text):
    # Letters and digits only, as FTS5's unicode61 splits words: PostgreSQL's own parser
    # keeps "4.5", e-mail addresses and paths as single tokens, which a search for their
    # words would then miss on one database and find on the other. Composed first (NFC):
    # a combining accent is not a letter to PostgreSQL, so "Sjo\u0308gren" would split.
    return (
        f"to_tsvector('{CONFIG}'::regconfig,"
        f" regexp_replace(normalize({text}, NFC), '[^[:alnum:]]+', ' ', 'g'))"
    )


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
    cursor.execute(POSTGRES_CONFIG)
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
    # The unaccent extension stays: another schema object may use it.
    cursor.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}")
    cursor.execute(f"DROP TEXT SEARCH DICTIONARY IF EXISTS {CONFIG}_porter")


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
    _reinstall_sqlite(connections[using])
