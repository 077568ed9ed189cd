"""Curated records carry a version (optimistic concurrency, studies/versions.py), and
every long field has a limit (studies/limits.py) that the database checks too.

Two steps beside the generated ones:

- On SQLite, adding the check constraints rebuilds the study table, which drops the two
  indexes migrations 0003 and 0006 made with raw SQL: they are made again.
- On PostgreSQL, the search vectors of migration 0005 are rebuilt to read at most each
  field's limit (left(...)), so that no write, however large, can overflow the tsvector
  limit (1 MB, "program_limit_exceeded"): a write over a limit fails on its check
  constraint instead, as a plain integrity error.
"""

import django.core.validators
import django.db.models.functions.comparison
import django.db.models.functions.text
import django.db.models.lookups
import studies.limits
import studies.search_index
from django.conf import settings
from django.db import migrations, models


RAW_INDEXES = {
    "study_newest_idx": "(year DESC, created_at DESC, id)",
    "study_level_order_idx": "(evidence_level, year DESC, id)",
}


def restore_raw_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name, columns in RAW_INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON studies_study {columns}")


def vector(text, weight):
    return f"setweight(to_tsvector('english'::regconfig, {text}), '{weight}')"


# (table, index, expression read with limits, expression of migration 0005)
VECTORS = [
    (
        "studies_study",
        "study_search_idx",
        " || ".join(
            [
                vector("left(coalesce(title, ''), 1000)", "A"),
                vector("left(coalesce(authors::text, ''), 300000)", "B"),
                vector("left(coalesce(summary, ''), 20000)", "B"),
                vector("left(coalesce(journal, ''), 300)", "C"),
            ]
        ),
        " || ".join(
            [
                vector("coalesce(title, '')", "A"),
                vector("coalesce(authors::text, '')", "B"),
                vector("coalesce(summary, '')", "B"),
                vector("coalesce(journal, '')", "C"),
            ]
        ),
    ),
    (
        "studies_outcome",
        "outcome_search_idx",
        vector("left(coalesce(name, ''), 300) || ' ' || left(coalesce(figures, ''), 10000)", "C"),
        vector("coalesce(name, '') || ' ' || coalesce(figures, '')", "C"),
    ),
]


def replace_vectors(schema_editor, bounded):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, index, with_limits, unbounded in VECTORS:
        expression = with_limits if bounded else unbounded
        schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN search_vector")  # and index
        schema_editor.execute(
            f"ALTER TABLE {table} ADD COLUMN search_vector tsvector"
            f" GENERATED ALWAYS AS ({expression}) STORED"
        )
        schema_editor.execute(f"CREATE INDEX {index} ON {table} USING gin (search_vector)")


def bounded_vectors(apps, schema_editor):
    replace_vectors(schema_editor, bounded=True)


def unbounded_vectors(apps, schema_editor):
    replace_vectors(schema_editor, bounded=False)


class Migration(migrations.Migration):

    dependencies = [
        ('studies', '0012_estimates_dose_band'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Reversed last: the rebuilt tables get their raw indexes back when unapplied too.
        migrations.RunPython(
            studies.search_index.suspend_sqlite_triggers,
            studies.search_index.resume_sqlite_triggers,
        ),
        migrations.RunPython(migrations.RunPython.noop, restore_raw_indexes, elidable=False),
        migrations.AddField(
            model_name='condition',
            name='version',
            field=models.PositiveIntegerField(db_default=1, default=1, editable=False, help_text='Bumped by every save: an edit based on an older version is refused.'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='version',
            field=models.PositiveIntegerField(db_default=1, default=1, editable=False, help_text='Bumped by every save: an edit based on an older version is refused.'),
        ),
        migrations.AddField(
            model_name='historicalsource',
            name='version',
            field=models.PositiveIntegerField(db_default=1, default=1, editable=False, help_text='Bumped by every save: an edit based on an older version is refused.'),
        ),
        migrations.AddField(
            model_name='historicalstudy',
            name='version',
            field=models.PositiveIntegerField(db_default=1, default=1, editable=False, help_text='Bumped by every save: an edit based on an older version is refused.'),
        ),
        migrations.AddField(
            model_name='source',
            name='version',
            field=models.PositiveIntegerField(db_default=1, default=1, editable=False, help_text='Bumped by every save: an edit based on an older version is refused.'),
        ),
        migrations.AddField(
            model_name='study',
            name='version',
            field=models.PositiveIntegerField(db_default=1, default=1, editable=False, help_text='Bumped by every save: an edit based on an older version is refused.'),
        ),
        migrations.AlterField(
            model_name='claim',
            name='note',
            field=models.TextField(blank=True, max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='claim',
            name='quote',
            field=models.TextField(max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='condition',
            name='description',
            field=models.TextField(blank=True, max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='condition',
            name='synonyms',
            field=models.JSONField(blank=True, default=list, help_text='Other names, one per item.', validators=[studies.limits.NameListValidator(50, 200, 'synonym')]),
        ),
        migrations.AlterField(
            model_name='effectsummary',
            name='rationale',
            field=models.TextField(blank=True, max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)], verbose_name='why'),
        ),
        migrations.AlterField(
            model_name='historicalclaim',
            name='note',
            field=models.TextField(blank=True, max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='historicalclaim',
            name='quote',
            field=models.TextField(max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='historicalcondition',
            name='description',
            field=models.TextField(blank=True, max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='historicalcondition',
            name='synonyms',
            field=models.JSONField(blank=True, default=list, help_text='Other names, one per item.', validators=[studies.limits.NameListValidator(50, 200, 'synonym')]),
        ),
        migrations.AlterField(
            model_name='historicaleffectsummary',
            name='rationale',
            field=models.TextField(blank=True, max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)], verbose_name='why'),
        ),
        migrations.AlterField(
            model_name='historicalmention',
            name='quote',
            field=models.TextField(max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='historicaloutcome',
            name='figures',
            field=models.TextField(blank=True, help_text='The figures verbatim as reported.', max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='historicalsource',
            name='description',
            field=models.TextField(blank=True, max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='historicalstudy',
            name='adverse_events',
            field=models.TextField(blank=True, max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='historicalstudy',
            name='authors',
            field=models.JSONField(blank=True, default=list, help_text='Author names, in order.', validators=[studies.limits.NameListValidator(1000, 200, 'author')]),
        ),
        migrations.AlterField(
            model_name='historicalstudy',
            name='population',
            field=models.TextField(blank=True, max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='historicalstudy',
            name='summary',
            field=models.TextField(blank=True, max_length=20000, validators=[django.core.validators.MaxLengthValidator(20000)], verbose_name="curator's summary"),
        ),
        migrations.AlterField(
            model_name='historicalstudy',
            name='title',
            field=models.TextField(max_length=1000, validators=[django.core.validators.MaxLengthValidator(1000)]),
        ),
        migrations.AlterField(
            model_name='mention',
            name='quote',
            field=models.TextField(max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='outcome',
            name='figures',
            field=models.TextField(blank=True, help_text='The figures verbatim as reported.', max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='source',
            name='description',
            field=models.TextField(blank=True, max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='source',
            name='text',
            field=models.TextField(blank=True, help_text="The document's full text, where the catalog holds it.", max_length=2000000, validators=[django.core.validators.MaxLengthValidator(2000000)]),
        ),
        migrations.AlterField(
            model_name='study',
            name='adverse_events',
            field=models.TextField(blank=True, max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='study',
            name='authors',
            field=models.JSONField(blank=True, default=list, help_text='Author names, in order.', validators=[studies.limits.NameListValidator(1000, 200, 'author')]),
        ),
        migrations.AlterField(
            model_name='study',
            name='population',
            field=models.TextField(blank=True, max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='study',
            name='summary',
            field=models.TextField(blank=True, max_length=20000, validators=[django.core.validators.MaxLengthValidator(20000)], verbose_name="curator's summary"),
        ),
        migrations.AlterField(
            model_name='study',
            name='title',
            field=models.TextField(max_length=1000, validators=[django.core.validators.MaxLengthValidator(1000)]),
        ),
        migrations.AddConstraint(
            model_name='claim',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(models.F('quote')), 10000), name='claim_quote_length', violation_error_message='This quote is too long.'),
        ),
        migrations.AddConstraint(
            model_name='claim',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(models.F('note')), 10000), name='claim_note_length', violation_error_message='This note is too long.'),
        ),
        migrations.AddConstraint(
            model_name='condition',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast(models.F('synonyms'), models.TextField())), 20000), name='condition_synonyms_length', violation_error_message='This synonyms is too long.'),
        ),
        migrations.AddConstraint(
            model_name='condition',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(models.F('description')), 10000), name='condition_description_length', violation_error_message='This description is too long.'),
        ),
        migrations.AddConstraint(
            model_name='effectsummary',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(models.F('rationale')), 10000), name='effect_summary_rationale_length', violation_error_message='This rationale is too long.'),
        ),
        migrations.AddConstraint(
            model_name='mention',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(models.F('quote')), 10000), name='mention_quote_length', violation_error_message='This quote is too long.'),
        ),
        migrations.AddConstraint(
            model_name='outcome',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(models.F('figures')), 10000), name='outcome_figures_length', violation_error_message='This figures is too long.'),
        ),
        migrations.AddConstraint(
            model_name='source',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(models.F('text')), 2000000), name='source_text_length', violation_error_message='This text is too long.'),
        ),
        migrations.AddConstraint(
            model_name='source',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(models.F('description')), 10000), name='source_description_length', violation_error_message='This description is too long.'),
        ),
        migrations.AddConstraint(
            model_name='study',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(models.F('title')), 1000), name='study_title_length', violation_error_message='This title is too long.'),
        ),
        migrations.AddConstraint(
            model_name='study',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast(models.F('authors'), models.TextField())), 300000), name='study_authors_length', violation_error_message='This authors is too long.'),
        ),
        migrations.AddConstraint(
            model_name='study',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(models.F('summary')), 20000), name='study_summary_length', violation_error_message='This summary is too long.'),
        ),
        migrations.AddConstraint(
            model_name='study',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(models.F('population')), 10000), name='study_population_length', violation_error_message='This population is too long.'),
        ),
        migrations.AddConstraint(
            model_name='study',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(models.F('adverse_events')), 10000), name='study_adverse_events_length', violation_error_message='This adverse events is too long.'),
        ),
            migrations.RunPython(restore_raw_indexes, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(bounded_vectors, unbounded_vectors, elidable=False),
        migrations.RunPython(
            studies.search_index.resume_sqlite_triggers,
            studies.search_index.suspend_sqlite_triggers,
        ),
    ]
