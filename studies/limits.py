"""How large a curated field may be, and the validators that say so.

The limits keep every record well inside what the databases can index: PostgreSQL's
search vector of a study (title, authors, summary, journal; migration 0005) must stay
under 1 MB, and a summary of 2.3 MB of distinct words or 150,000 authors overflowed it.
At these limits a study's text is at most about 230,000 characters, whose vector is at
most about 300 kB (tests/test_limits.py builds one). docs/editing.md ("Field limits")
lists them.

Each limit is enforced three times: by the model fields' validators (which the admin runs
through ``full_clean`` and the importer field by field), by the admin's form fields, and
by a check constraint in the database, so that no write path can store what the search
index cannot hold.
"""

from django.core.exceptions import ValidationError
from django.db.models import CheckConstraint, F, TextField
from django.db.models.functions import Cast, Length
from django.db.models.lookups import LessThanOrEqual
from django.utils.deconstruct import deconstructible

TITLE_MAX = 1_000
SUMMARY_MAX = 20_000
LONG_TEXT_MAX = 10_000  # population, adverse events, descriptions, quotes, notes, figures
SOURCE_TEXT_MAX = 2_000_000  # a source document's full text (not in any search vector)
AUTHORS_MAX = 1_000
AUTHOR_MAX = 200
SYNONYMS_MAX = 50
SYNONYM_MAX = 200
# The stored JSON text of a list, names escaped as JSON (“ü” is 6 characters): the
# database's bound, generous enough for any list the validators accept in practice.
AUTHORS_JSON_MAX = 300_000
SYNONYMS_JSON_MAX = 20_000


@deconstructible
class NameListValidator:
    """A list of at most ``max_items`` non-empty strings of at most ``max_length`` each."""

    def __init__(self, max_items, max_length, noun):
        self.max_items, self.max_length, self.noun = max_items, max_length, noun

    def __call__(self, value):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValidationError(f"Give a list of {self.noun}s.", code="invalid")
        if len(value) > self.max_items:
            raise ValidationError(
                f"{len(value):,} {self.noun}s: the catalog keeps at most "
                f"{self.max_items:,} (keep the first ones and end with “others”).",
                code="too_many",
            )
        for item in value:
            if len(item) > self.max_length:
                raise ValidationError(
                    f"The {self.noun} “{item[:40]}…” has {len(item):,} characters: "
                    f"at most {self.max_length:,} are allowed.",
                    code="too_long",
                )

    def __eq__(self, other):
        return isinstance(other, NameListValidator) and (
            (self.max_items, self.max_length, self.noun)
            == (other.max_items, other.max_length, other.noun)
        )


def length_at_most(field, limit, name):
    """A check constraint: ``field`` holds at most ``limit`` characters (a JSON field:
    its stored JSON text)."""
    column = F(field)
    if field in JSON_FIELDS:
        column = Cast(column, TextField())
    return CheckConstraint(
        condition=LessThanOrEqual(Length(column), limit),
        name=name,
        violation_error_message=f"This {field.replace('_', ' ')} is too long.",
    )


JSON_FIELDS = {"authors", "synonyms"}
