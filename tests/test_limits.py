"""Field limits (studies/limits.py): model validation, the admin and the database enforce
them, and a study at every limit stays inside PostgreSQL's search-vector limit."""

import hashlib
import itertools

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import TestCase
from django.urls import reverse

from studies import limits
from studies.models import Condition, Study
from tests.factories import make_condition, make_study
from tests.test_admin import make_curator, study_form_data

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the search vectors are PostgreSQL's"
)


WORDS = itertools.count()


def distinct_words(characters):
    """Text of words never used before, the worst case for a search vector's size."""
    words, total = [], 0
    while total < characters:
        word = hashlib.md5(str(next(WORDS)).encode()).hexdigest()
        words.append(word)
        total += len(word) + 1
    return " ".join(words)[:characters].strip()


def errors_of(instance):
    with pytest.raises(ValidationError) as refused:
        instance.full_clean()
    return refused.value.message_dict


class ModelValidationTests(TestCase):
    def test_each_limit_is_a_validation_error(self):
        study = Study(
            title="t" * (limits.TITLE_MAX + 1),
            slug="s",
            summary="s" * (limits.SUMMARY_MAX + 1),
            population="p" * (limits.LONG_TEXT_MAX + 1),
            authors=["Author, A"] * (limits.AUTHORS_MAX + 1),
        )
        errors = errors_of(study)
        assert errors["title"] == ["Ensure this value has at most 1000 characters (it has 1001)."]
        assert errors["summary"] == [
            "Ensure this value has at most 20000 characters (it has 20001)."
        ]
        assert "population" in errors
        assert errors["authors"] == [
            "1,001 authors: the catalog keeps at most 1,000 (keep the first ones and end "
            "with “others”)."
        ]

    def test_a_long_author_name(self):
        study = Study(title="t", slug="s", authors=["Short, A", "x" * 201])
        assert errors_of(study)["authors"] == [
            "The author “xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…” has 201 characters: "
            "at most 200 are allowed."
        ]

    def test_synonyms(self):
        condition = Condition(name="Pain", slug="pain", category="pain")
        condition.synonyms = [f"name {n}" for n in range(limits.SYNONYMS_MAX + 1)]
        assert "at most 50" in errors_of(condition)["synonyms"][0]
        condition.synonyms = ["y" * (limits.SYNONYM_MAX + 1)]
        assert "at most 200 are allowed" in errors_of(condition)["synonyms"][0]

    def test_everything_at_its_limit_is_valid(self):
        Study(
            title="t" * limits.TITLE_MAX,
            slug="s",
            summary="s" * limits.SUMMARY_MAX,
            authors=["a" * limits.AUTHOR_MAX] * limits.AUTHORS_MAX,
        ).full_clean()


class DatabaseLimitTests(TestCase):
    """Writes that skip validation (scripts, raw saves) meet the check constraints."""

    def assert_refused(self, constraint, **fields):
        with pytest.raises(IntegrityError) as refused, transaction.atomic():
            make_study(**fields)
        assert constraint in str(refused.value)

    def test_text_over_a_limit_is_refused(self):
        self.assert_refused("study_summary_length", summary="s" * (limits.SUMMARY_MAX + 1))
        self.assert_refused("study_title_length", title="t" * (limits.TITLE_MAX + 1))

    def test_an_authors_list_over_its_size_is_refused(self):
        authors = ["a" * 400] * 1_000  # 400 kB of JSON
        self.assert_refused("study_authors_length", authors=authors)

    def test_synonyms_over_their_size_are_refused(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            make_condition(synonyms=["s" * 1_000] * 30)


class AdminLimitTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.curator = make_curator()

    def setUp(self):
        self.client.force_login(self.curator)

    def test_too_many_authors_is_a_form_error(self):
        authors = "\n".join(f"Author {n}, A" for n in range(limits.AUTHORS_MAX + 1))
        response = self.client.post(
            reverse("admin:studies_study_add"), study_form_data(authors=authors)
        )
        assert response.status_code == 200
        [error] = response.context["adminform"].form.errors["authors"]
        assert error.startswith("1,001 authors: the catalog keeps at most 1,000")
        assert not Study.objects.exists()

    def test_a_summary_over_the_limit_is_a_form_error(self):
        summary = distinct_words(limits.SUMMARY_MAX + 500)
        response = self.client.post(
            reverse("admin:studies_study_add"), study_form_data(summary=summary)
        )
        assert response.status_code == 200
        assert "summary" in response.context["adminform"].form.errors
        page = response.content.decode()
        assert f'maxlength="{limits.SUMMARY_MAX}"' in page

    def test_too_many_synonyms_is_a_form_error(self):
        synonyms = str([f"name {n}" for n in range(60)]).replace("'", '"')
        response = self.client.post(
            reverse("admin:studies_condition_add"),
            {"name": "Pain", "slug": "pain", "category": "pain", "synonyms": synonyms},
        )
        assert response.status_code == 200
        [error] = response.context["adminform"].form.errors["synonyms"]
        assert error.startswith("60 synonyms: the catalog keeps at most 50")


@on_postgresql
class SearchVectorTests(TestCase):
    def vector_bytes(self, study):
        # Uncompressed, as the limit counts it: the stored column may be compressed.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_column_size(search_vector::text::tsvector) FROM studies_study"
                " WHERE id = %s",
                [study.pk],
            )
            return cursor.fetchone()[0]

    def test_a_study_at_every_limit_fits_its_search_vector(self):
        study = make_study(
            title=distinct_words(limits.TITLE_MAX),
            summary=distinct_words(limits.SUMMARY_MAX),
            authors=[distinct_words(limits.AUTHOR_MAX) for _ in range(limits.AUTHORS_MAX)],
            journal=distinct_words(300),
        )
        size = self.vector_bytes(study)
        print(f"search vector of a study at every limit: {size:,} bytes")
        assert 200_000 < size < 1_048_575 // 2  # well inside PostgreSQL's 1 MB
        assert Study.objects.search(study.summary.split()[7]).get() == study

    def test_the_issues_inputs_are_refused_as_data_not_as_an_outage(self):
        # A summary of 2.3 MB of distinct words, and 150,000 authors, written without
        # validation: the vector reads at most each limit, so the check constraint refuses
        # them (an IntegrityError), never program_limit_exceeded (an OperationalError).
        with pytest.raises(IntegrityError), transaction.atomic():
            make_study(summary=distinct_words(2_300_000))
        with pytest.raises(IntegrityError), transaction.atomic():
            make_study(authors=[f"Author {n}, A" for n in range(150_000)])
        assert errors_of(Study(title="t", slug="s", summary=distinct_words(2_300_000)))
