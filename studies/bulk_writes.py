"""The importer's writes: new studies, their condition links and their "+" history records,
written by hand-written SQL rather than ``bulk_create``.

They write the same rows as ``bulk_create`` and simple-history's
``bulk_create_with_history`` would, faster: each column's distinct values are prepared once
and the rows sent with ``executemany``, and the history records are copied from the rows
just written by ``INSERT … SELECT``. ``tests/test_importers.py`` (``BulkWriteGuardTests``)
fails when a field of Study or of its history model is not written by them.
"""

from itertools import batched
from operator import attrgetter

from django.db import connections, router
from django.utils import timezone

from . import search_index
from .models import Study

INSERT_BATCH = 500
# simple-history's model (Study.history builds a manager at each access: a millisecond).
HISTORICAL_STUDY = Study.history.model


def _prepared_column(field, values, connection):
    """``field.get_db_prep_save`` of each value, each distinct (hashable) value prepared once."""
    try:
        distinct = set(values)
    except TypeError:  # unhashable values: JSON lists
        return [field.get_db_prep_save(value, connection) for value in values]
    prepared = {value: field.get_db_prep_save(value, connection) for value in distinct}
    return list(map(prepared.__getitem__, values))


def _written_fields(model):
    """The fields an INSERT into ``model``'s table gives: all but the id and generated ones."""
    return [
        f
        for f in model._meta.concrete_fields
        if f is not model._meta.auto_field and not f.generated
    ]


def insert(model, columns, using):
    """INSERT rows into ``model``'s table: ``columns`` maps the attname of each of its
    _written_fields to that column's values, one per row (a field missing is a KeyError).

    bulk_create prepares every value of every row through its field and builds one SQL
    placeholder for each: for 10,000 studies and their 10,000 history rows that was over
    half the import. Here each column prepares each distinct value once (most columns of an
    imported study are empty) and the rows go to the database with executemany. Values go
    through the fields' own get_db_prep_save, so they are stored exactly as the ORM would.
    """
    connection = connections[using]
    fields = _written_fields(model)
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    prepared = [_prepared_column(f, columns[f.attname], connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(zip(*prepared, strict=True)))


def create_with_history(rows, user, reason, between_batches=None):
    """Save the new studies of ``rows`` (the import's rows: each a study and its condition
    ids) with their conditions and their "+" history records (conditions included); return
    the studies, with their pks. ``between_batches()`` is called after each batch: the
    import's check for a cancellation.

    The same rows bulk_create and simple-history's bulk_create_with_history write, written
    with insert and copy_to_history (tests/test_importers.py checks that they write every
    field), INSERT_BATCH studies at a time; the primary keys come back from the history
    copy, by slug, which the preview made unique.
    """
    using = router.db_for_write(Study)
    now = timezone.now()
    names = [f.attname for f in _written_fields(Study)]
    values_of = attrgetter(*names)  # a study's values, in the order of names
    studies = [row.study for row in rows]
    written = []  # the new studies' ids: their search rows are written once, at the end
    with search_index.refreshed_once(using, written):
        for batch in batched(rows, INSERT_BATCH, strict=False):
            for row in batch:
                row.study.created_at = row.study.updated_at = now
            columns = zip(*(values_of(row.study) for row in batch), strict=True)
            insert(Study, dict(zip(names, map(list, columns), strict=True)), using)
            copied = copy_to_history([row.study.slug for row in batch], now, user, reason, using)
            for row in batch:
                row.study.pk, row.study._state.db = copied[row.study.slug][0], using
                row.study._state.adding = False
            with_conditions = [row for row in batch if row.condition_ids]
            if with_conditions:
                history_ids = [copied[row.study.slug][1] for row in with_conditions]
                _add_conditions(with_conditions, history_ids, using)
            if between_batches:
                between_batches()
        written.extend(study.pk for study in studies)
    return studies


def _add_conditions(rows, history_ids, using):
    """The studies' condition links, by insert, and the same links on their "+" history
    records (``history_ids``), copied in the database as copy_to_history copies the
    studies (bulk_create built two model instances a link: a third of an import of 10,000
    studies)."""
    through = Study.conditions.through
    links = [(row.study.pk, pk) for row in rows for pk in dict.fromkeys(row.condition_ids)]
    given = {"study_id": [study for study, _ in links], "condition_id": [pk for _, pk in links]}
    insert(
        through,
        {
            f.attname: given[f.attname] if f.attname in given else [f.get_default()] * len(links)
            for f in _written_fields(through)
        },
        using,
    )
    connection = connections[using]
    quote = connection.ops.quote_name
    history_model = HISTORICAL_STUDY
    history_links = history_model.conditions.model  # simple-history's HistoricalStudy_conditions
    columns = [f.column for f in through._meta.concrete_fields]  # the link's, id included
    # By the history records' primary keys: by their study and date, SQLite read every
    # history record of the import for each batch (all have the same date).
    sql = (
        "INSERT INTO {history_links} ({columns}, {history_id})"
        " SELECT {selected}, h.{history_pk} FROM {history} h JOIN {links} l"
        " ON l.{study_id} = h.{id} WHERE h.{history_pk} IN ({ids})"
    ).format(
        history_links=quote(history_links._meta.db_table),
        columns=", ".join(map(quote, columns)),
        history_id=quote(history_links._meta.get_field("history").column),
        selected=", ".join(f"l.{quote(column)}" for column in columns),
        history_pk=quote(history_model._meta.pk.column),
        links=quote(through._meta.db_table),
        history=quote(history_model._meta.db_table),
        id=quote(history_model._meta.get_field("id").column),
        study_id=quote(through._meta.get_field("study").column),
        ids=", ".join(["%s"] * len(history_ids)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, history_ids)


def copy_to_history(slugs, now, user, reason, using):
    """The "+" history records of the studies with these slugs, copied in the database;
    returns {slug: (the study's pk, its history record's pk)}.

    INSERT ... SELECT from the rows just written: no values go back through Python, and
    each record holds exactly what its study holds.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    history_model = HISTORICAL_STUDY
    study_columns = {f.attname: f.column for f in Study._meta.concrete_fields}
    extra = {
        "history_date": now,
        "history_change_reason": reason,
        "history_type": "+",
        "history_user_id": user.pk if user else None,
    }
    columns, selected, params = [], [], []
    for f in history_model._meta.concrete_fields:
        if f is history_model._meta.auto_field:
            continue
        columns.append(quote(f.column))
        if f.attname in extra:
            selected.append("%s")
            params.append(f.get_db_prep_save(extra[f.attname], connection))
        else:
            selected.append(quote(study_columns[f.attname]))
    sql = "INSERT INTO {} ({}) SELECT {} FROM {} WHERE {} IN ({}) RETURNING {}".format(
        quote(history_model._meta.db_table),
        ", ".join(columns),
        ", ".join(selected),
        quote(Study._meta.db_table),
        quote(study_columns["slug"]),
        ", ".join(["%s"] * len(slugs)),
        ", ".join(
            quote(history_model._meta.get_field(name).column)
            for name in ("slug", "id", history_model._meta.pk.name)
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *slugs])
        return {slug: (pk, history_pk) for slug, pk, history_pk in cursor.fetchall()}
