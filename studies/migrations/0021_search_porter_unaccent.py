"""On PostgreSQL, the search documents read words as SQLite's FTS5 index does: accents
folded (the unaccent extension) and the Porter stemmer, in the text search configuration
``studies_search`` (studies/search_index.py). The documents are rebuilt. Going back makes
the configuration a copy of 'english' again, which the earlier code queried, and rebuilds
them. SQLite's index is unchanged.
"""

from django.db import migrations

import studies.search_index


def rebuild(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        studies.search_index.uninstall(schema_editor.connection)
        studies.search_index.install(schema_editor.connection)


def back_to_english(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "ALTER TEXT SEARCH CONFIGURATION studies_search ALTER MAPPING FOR asciiword,"
                " word, asciihword, hword, hword_asciipart, hword_part WITH english_stem;"
                "ALTER TEXT SEARCH CONFIGURATION studies_search"
                " ALTER MAPPING FOR numword WITH simple;"
                "SELECT studies_search_refresh(ARRAY(SELECT id FROM studies_study));"
            )


class Migration(migrations.Migration):
    dependencies = [("studies", "0020_bottom_line_version")]

    operations = [migrations.RunPython(rebuild, back_to_english, elidable=False)]
