"""Registered trials' registry status, the date it was verified, the expected completion
and whether results are posted; two more catalog statuses (completed, stopped). Import
jobs keep their file's format and the curator's choices at confirmation (skip the entries
with errors, the registry updates accepted).

It suspends the SQLite search triggers while SQLite rebuilds the study table (see 0012).

On SQLite, adding a NOT NULL column rebuilds the table, which drops the indexes that
0003 and 0006 created with raw SQL: they are put back after the new columns are added,
and after they are removed when migrating backwards.
"""

from django.db import migrations, models

import studies.search_index

# The raw-SQL indexes of 0003 and 0006, as SQLite writes them.
SQLITE_INDEXES = [
    "CREATE INDEX IF NOT EXISTS study_newest_idx ON studies_study (year DESC, created_at DESC, id)",
    "CREATE INDEX IF NOT EXISTS study_level_order_idx ON studies_study "
    "(evidence_level, year DESC, id)",
]


def restore_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_INDEXES:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0014_condition_basis"),
    ]

    operations = [
        migrations.RunPython(
            studies.search_index.suspend_sqlite_triggers,
            studies.search_index.resume_sqlite_triggers,
        ),
        migrations.RunPython(migrations.RunPython.noop, restore_indexes, elidable=False),
        migrations.AddField(
            model_name="importjob",
            name="format",
            field=models.CharField(default="bibtex", max_length=20),
        ),
        migrations.AddField(
            model_name="importjob",
            name="skip_errors",
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name="importjob",
            name="accepted_updates",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="historicalstudy",
            name="expected_completion",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="The trial's completion date as the registry gives it (expected, or actual once completed): YYYY-MM or YYYY-MM-DD.",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="historicalstudy",
            name="registry_checked",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="When the registry last verified that status, as it gives the date (YYYY-MM or YYYY-MM-DD).",
                max_length=10,
                verbose_name="registry status checked",
            ),
        ),
        migrations.AddField(
            model_name="historicalstudy",
            name="registry_status",
            field=models.CharField(
                blank=True,
                choices=[
                    ("NOT_YET_RECRUITING", "Not yet recruiting"),
                    ("RECRUITING", "Recruiting"),
                    ("ENROLLING_BY_INVITATION", "Enrolling by invitation"),
                    ("ACTIVE_NOT_RECRUITING", "Active, not recruiting"),
                    ("SUSPENDED", "Suspended"),
                    ("TERMINATED", "Terminated"),
                    ("COMPLETED", "Completed"),
                    ("WITHDRAWN", "Withdrawn"),
                    ("UNKNOWN", "Unknown status"),
                ],
                db_default="",
                default="",
                help_text="The trial's overall status as its registry gives it.",
                max_length=30,
            ),
        ),
        migrations.AddField(
            model_name="historicalstudy",
            name="results_posted",
            field=models.BooleanField(
                blank=True, help_text="Whether the registry holds the trial's results.", null=True
            ),
        ),
        migrations.AddField(
            model_name="study",
            name="expected_completion",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="The trial's completion date as the registry gives it (expected, or actual once completed): YYYY-MM or YYYY-MM-DD.",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="study",
            name="registry_checked",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="When the registry last verified that status, as it gives the date (YYYY-MM or YYYY-MM-DD).",
                max_length=10,
                verbose_name="registry status checked",
            ),
        ),
        migrations.AddField(
            model_name="study",
            name="registry_status",
            field=models.CharField(
                blank=True,
                choices=[
                    ("NOT_YET_RECRUITING", "Not yet recruiting"),
                    ("RECRUITING", "Recruiting"),
                    ("ENROLLING_BY_INVITATION", "Enrolling by invitation"),
                    ("ACTIVE_NOT_RECRUITING", "Active, not recruiting"),
                    ("SUSPENDED", "Suspended"),
                    ("TERMINATED", "Terminated"),
                    ("COMPLETED", "Completed"),
                    ("WITHDRAWN", "Withdrawn"),
                    ("UNKNOWN", "Unknown status"),
                ],
                db_default="",
                default="",
                help_text="The trial's overall status as its registry gives it.",
                max_length=30,
            ),
        ),
        migrations.AddField(
            model_name="study",
            name="results_posted",
            field=models.BooleanField(
                blank=True, help_text="Whether the registry holds the trial's results.", null=True
            ),
        ),
        migrations.AlterField(
            model_name="historicalstudy",
            name="status",
            field=models.CharField(
                choices=[
                    ("published", "Published"),
                    ("ongoing", "Ongoing or recruiting"),
                    ("protocol", "Protocol only"),
                    ("completed", "Completed, not published"),
                    ("stopped", "Stopped early"),
                ],
                default="published",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="study",
            name="status",
            field=models.CharField(
                choices=[
                    ("published", "Published"),
                    ("ongoing", "Ongoing or recruiting"),
                    ("protocol", "Protocol only"),
                    ("completed", "Completed, not published"),
                    ("stopped", "Stopped early"),
                ],
                default="published",
                max_length=20,
            ),
        ),
        migrations.RunPython(restore_indexes, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(
            studies.search_index.resume_sqlite_triggers,
            studies.search_index.suspend_sqlite_triggers,
        ),
    ]
