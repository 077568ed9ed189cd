"""Two curators edit the same record: the later, stale save is refused, shows what changed
and re-applies on top (studies/admin/conflicts.py). Pages are read and forms submitted as
a browser would, hidden inputs included."""

from datetime import date
from unittest.mock import patch

from django.contrib.auth.models import User
from django.test import Client, TestCase
from django.urls import reverse

from studies.admin.conflicts import VersionedModelForm
from studies.models import BottomLine, Condition, Outcome, Study, StudyCondition
from tests.factories import (
    make_condition,
    make_effect_summary,
    make_outcome,
    make_source,
    make_study,
)
from tests.forms_in_pages import form_data
from tests.test_admin import make_curator

CHANGELIST = reverse("admin:studies_study_changelist")


def change_url(obj):
    return reverse(f"admin:studies_{obj._meta.model_name}_change", args=[obj.pk])


class CuratorsTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.alice, cls.bob = make_curator("alice"), make_curator("bob")
        cls.condition = make_condition(name="Fibromyalgia")
        cls.study = make_study(
            title="Low-dose naltrexone for fibromyalgia",
            year=2013,
            summary="First summary.",
            dose="4.5 mg",
            conditions=[cls.condition],
        )
        cls.outcome = make_outcome(cls.study, name="Pain", figures="30% less pain")
        make_effect_summary(cls.study, cls.condition)

    def setUp(self):
        self.a, self.b = Client(), Client()
        self.a.force_login(self.alice)
        self.b.force_login(self.bob)

    def open(self, client, obj):
        response = client.get(change_url(obj))
        assert response.status_code == 200
        return form_data(response, f"{obj._meta.model_name}_form")

    def save(self, client, obj, data):
        return client.post(change_url(obj), data)


class StudyFormTests(CuratorsTests):
    def test_a_stale_save_is_refused_and_keeps_the_other_curators_change(self):
        form_a, form_b = self.open(self.a, self.study), self.open(self.b, self.study)
        response = self.save(self.a, self.study, form_a | {"summary": "Alice's summary."})
        assert response.status_code == 302

        response = self.save(self.b, self.study, form_b | {"dose": "3 mg"})

        assert response.status_code == 200
        page = response.content.decode()
        assert "Someone saved this study after you opened it" in page
        assert "nothing was saved" in page
        [change] = response.context["edit_conflict"]["changes"]
        assert (change.label, change.had, change.now, change.typed, change.yours) == (
            "Curator's summary",
            "First summary.",
            "Alice's summary.",
            "First summary.",
            False,
        )
        assert "Changed since you opened this page" in page
        self.study.refresh_from_db()
        assert (self.study.summary, self.study.dose) == ("Alice's summary.", "4.5 mg")

    def test_the_refused_form_reapplies_the_edit_on_top(self):
        form_a, form_b = self.open(self.a, self.study), self.open(self.b, self.study)
        self.save(self.a, self.study, form_a | {"summary": "Alice's summary."})
        response = self.save(self.b, self.study, form_b | {"dose": "3 mg"})
        reapplied = form_data(response, "study_form")
        assert reapplied["summary"] == "Alice's summary."  # the current value
        assert reapplied["dose"] == "3 mg"  # Bob's change, on top
        assert reapplied["version"] == str(Study.objects.get(pk=self.study.pk).version)

        response = self.save(self.b, self.study, reapplied)

        assert response.status_code == 302
        self.study.refresh_from_db()
        assert (self.study.summary, self.study.dose) == ("Alice's summary.", "3 mg")
        assert [c.pk for c in self.study.conditions.all()] == [self.condition.pk]
        who = [r.history_user.username for r in self.study.history.all()[:2]]
        assert who == ["bob", "alice"]

    def test_a_field_both_changed_is_flagged_and_keeps_what_was_typed(self):
        form_a, form_b = self.open(self.a, self.study), self.open(self.b, self.study)
        self.save(self.a, self.study, form_a | {"summary": "Alice's summary."})
        response = self.save(self.b, self.study, form_b | {"summary": "Bob's summary."})
        [change] = response.context["edit_conflict"]["changes"]
        assert (change.now, change.typed, change.yours) == (
            "Alice's summary.",
            "Bob's summary.",
            True,
        )
        assert "(changed by you too)" in response.content.decode()
        assert form_data(response, "study_form")["summary"] == "Bob's summary."
        assert Study.objects.get(pk=self.study.pk).summary == "Alice's summary."

    def test_an_inline_change_makes_the_study_form_stale(self):
        form_a, form_b = self.open(self.a, self.study), self.open(self.b, self.study)
        response = self.save(self.a, self.study, form_a | {"outcomes-0-name": "Pain (VAS)"})
        assert response.status_code == 302

        # Bob changes the same outcome's figures, from the page he opened before.
        response = self.save(self.b, self.study, form_b | {"outcomes-0-figures": "29% less"})

        assert response.status_code == 200
        [change] = response.context["edit_conflict"]["changes"]
        assert change.label == "outcome “Pain (VAS)”: What was measured"
        assert (change.had, change.now, change.typed) == ("Pain", "Pain (VAS)", "Pain")
        self.outcome.refresh_from_db()
        assert (self.outcome.name, self.outcome.figures) == ("Pain (VAS)", "30% less pain")

        reapplied = form_data(response, "study_form")
        assert reapplied["outcomes-0-name"] == "Pain (VAS)"
        assert reapplied["outcomes-0-figures"] == "29% less"
        assert self.save(self.b, self.study, reapplied).status_code == 302
        self.outcome.refresh_from_db()
        assert (self.outcome.name, self.outcome.figures) == ("Pain (VAS)", "29% less")

    def test_a_study_edit_is_refused_after_an_inline_only_change(self):
        form_a, form_b = self.open(self.a, self.study), self.open(self.b, self.study)
        self.save(self.a, self.study, form_a | {"effect_summaries-0-verdict": "no_benefit"})
        response = self.save(self.b, self.study, form_b | {"dose": "3 mg"})
        assert response.status_code == 200
        [change] = response.context["edit_conflict"]["changes"]
        assert change.label.endswith(": Verdict")
        assert (change.had, change.now) == ("Benefit", "No benefit")
        assert Study.objects.get(pk=self.study.pk).dose == "4.5 mg"

    def test_a_condition_tag_changed_since_is_reapplied_not_overwritten(self):
        form_a, form_b = self.open(self.a, self.study), self.open(self.b, self.study)
        tag = {"condition_tags-0-basis": "citing", "condition_tags-0-note": "Alice's note"}
        assert self.save(self.a, self.study, form_a | tag).status_code == 302

        response = self.save(self.b, self.study, form_b | {"dose": "3 mg"})

        assert response.status_code == 200
        changes = response.context["edit_conflict"]["changes"]
        assert [(c.label, c.had, c.now, c.yours) for c in changes] == [
            (
                "condition tag “Fibromyalgia”: Basis",
                "Named by the study",
                "Named only by a citing document",
                False,
            ),
            ("condition tag “Fibromyalgia”: Note", "(empty)", "Alice's note", False),
        ]
        assert self.save(self.b, self.study, form_data(response, "study_form")).status_code == 302
        [saved] = StudyCondition.objects.filter(study=self.study)
        assert (saved.basis, saved.note) == ("citing", "Alice's note")
        assert Study.objects.get(pk=self.study.pk).dose == "3 mg"

    def test_a_condition_tag_written_alone_makes_the_study_form_stale(self):
        form_b = self.open(self.b, self.study)
        tag = StudyCondition.objects.get(study=self.study)
        tag.note = "Checked against the abstract."
        tag.save()
        response = self.save(self.b, self.study, form_b | {"condition_tags-0-note": "Bob's"})
        assert response.status_code == 200
        [change] = response.context["edit_conflict"]["changes"]
        assert (change.now, change.typed, change.yours) == (
            "Checked against the abstract.",
            "Bob's",
            True,
        )
        assert StudyCondition.objects.get(pk=tag.pk).note == "Checked against the abstract."

    def test_rows_added_or_removed_since_are_listed_and_kept(self):
        form_b = self.open(self.b, self.study)
        added = make_outcome(self.study, name="Fatigue")
        response = self.save(self.b, self.study, form_b | {"dose": "3 mg"})
        assert response.context["edit_conflict"]["added"] == ["outcome “Fatigue”"]
        assert self.save(self.b, self.study, form_data(response, "study_form")).status_code == 302
        assert Outcome.objects.filter(pk=added.pk).exists()
        assert Study.objects.get(pk=self.study.pk).dose == "3 mg"

    def test_a_row_deleted_since_is_listed_and_the_rest_of_the_form_saves(self):
        fatigue = make_outcome(self.study, name="Fatigue", figures="Less fatigue")
        admin = Client()
        admin.force_login(User.objects.create_superuser("carol", password="a long password"))
        form_admin, form_b = self.open(admin, self.study), self.open(self.b, self.study)
        deleted = form_admin | {"outcomes-0-DELETE": "on"}
        assert self.save(admin, self.study, deleted).status_code == 302

        typed = {"outcomes-0-figures": "29% less pain", "outcomes-1-figures": "Much less"}
        response = self.save(self.b, self.study, form_b | typed)

        assert response.context["edit_conflict"]["removed"] == [f"outcome #{self.outcome.pk}"]
        assert "they stay deleted" in response.content.decode()
        reapplied = form_data(response, "study_form")
        assert reapplied["outcomes-1-id"] == str(fatigue.pk)
        assert reapplied["outcomes-1-figures"] == "Much less"
        assert self.save(self.b, self.study, reapplied).status_code == 302
        assert list(Outcome.objects.values_list("name", "figures")) == [("Fatigue", "Much less")]

    def test_deleting_a_condition_makes_the_forms_of_its_studies_stale(self):
        form_b = self.open(self.b, self.study)
        Condition.objects.get(pk=self.condition.pk).delete()  # its tags and summaries too

        response = self.save(self.b, self.study, form_b | {"dose": "3 mg"})

        assert "Someone saved this study after you opened it" in response.content.decode()
        removed = response.context["edit_conflict"]["removed"]
        assert [row.split(" #")[0] for row in removed] == ["condition tag", "effect summary"]
        assert self.save(self.b, self.study, form_data(response, "study_form")).status_code == 302
        study = Study.objects.get(pk=self.study.pk)
        assert (study.dose, study.conditions.count()) == ("3 mg", 0)

    def test_an_unchanged_form_saves_as_before(self):
        form = self.open(self.a, self.study)
        assert self.save(self.a, self.study, form | {"dose": "3 mg"}).status_code == 302
        form = self.open(self.a, self.study)
        assert self.save(self.a, self.study, form | {"dose": "2 mg"}).status_code == 302
        assert Study.objects.get(pk=self.study.pk).dose == "2 mg"

    def test_a_form_without_a_version_is_refused(self):
        form = self.open(self.a, self.study)
        del form["version"]
        response = self.save(self.a, self.study, form | {"dose": "3 mg"})
        assert response.status_code == 200
        assert Study.objects.get(pk=self.study.pk).dose == "4.5 mg"

    def test_reverting_to_an_entry_of_the_history_is_checked_against_the_record(self):
        form = self.open(self.a, self.study)
        self.save(self.a, self.study, form | {"summary": "Alice's summary."})
        first = self.study.history.earliest()
        url = reverse("admin:studies_study_simple_history", args=[self.study.pk, first.pk])
        revert = form_data(self.b.get(url), "historicalstudy_form")
        assert revert["summary"] == "First summary."
        assert revert["version"] == str(Study.objects.get(pk=self.study.pk).version)
        assert self.b.post(url, revert).status_code == 302
        assert Study.objects.get(pk=self.study.pk).summary == "First summary."
        # A revert page opened before another change is refused like any stale form.
        stale = form_data(self.b.get(url), "historicalstudy_form")
        self.save(self.a, self.study, self.open(self.a, self.study) | {"dose": "1 mg"})
        response = self.b.post(url, stale)
        assert response.status_code == 200
        assert "Someone saved this study after you opened it" in response.content.decode()
        assert Study.objects.get(pk=self.study.pk).dose == "1 mg"

    def test_a_save_between_the_revert_check_and_its_write_is_shown_as_a_conflict(self):
        self.save(self.a, self.study, self.open(self.a, self.study) | {"summary": "Alice's."})
        first = self.study.history.earliest()
        url = reverse("admin:studies_study_simple_history", args=[self.study.pk, first.pk])
        revert = form_data(self.b.get(url), "historicalstudy_form")
        opened = int(revert["version"])
        # Alice saves again just after the revert's form read the version, before its write.
        self.save(self.a, self.study, self.open(self.a, self.study) | {"dose": "1 mg"})
        stored_version, reads = VersionedModelForm.stored_version, []

        def read_before_alice_saved(form):
            reads.append(form)
            return opened if len(reads) == 1 else stored_version(form)

        with patch.object(VersionedModelForm, "stored_version", read_before_alice_saved):
            response = self.b.post(url, revert)
        assert response.status_code == 200
        assert "Someone saved this study after you opened it" in response.content.decode()
        assert Study.objects.get(pk=self.study.pk).dose == "1 mg"
        assert Study.objects.get(pk=self.study.pk).summary == "Alice's."


class ConditionAndSourceFormTests(CuratorsTests):
    def test_a_stale_condition_save_is_refused_and_reapplies(self):
        form_a, form_b = self.open(self.a, self.condition), self.open(self.b, self.condition)
        self.save(self.a, self.condition, form_a | {"description": "Widespread pain."})
        response = self.save(self.b, self.condition, form_b | {"synonyms": '["FM"]'})
        assert response.status_code == 200
        [change] = response.context["edit_conflict"]["changes"]
        assert (change.label, change.had, change.now) == (
            "Description",
            "(empty)",
            "Widespread pain.",
        )
        assert Condition.objects.get(pk=self.condition.pk).synonyms == []
        assert (
            self.save(self.b, self.condition, form_data(response, "condition_form")).status_code
            == 302
        )
        condition = Condition.objects.get(pk=self.condition.pk)
        assert (condition.description, condition.synonyms) == ("Widespread pain.", ["FM"])

    def test_a_stale_source_save_is_refused(self):
        source = make_source(title="A blog")
        form_a, form_b = self.open(self.a, source), self.open(self.b, source)
        self.save(self.a, source, form_a | {"publisher": "Alice's press"})
        response = self.save(self.b, source, form_b | {"title": "Bob's title"})
        assert response.status_code == 200
        source.refresh_from_db()
        assert (source.title, source.publisher) == ("A blog", "Alice's press")


class BottomLineFormTests(CuratorsTests):
    def test_a_stale_bottom_line_save_is_refused_and_reapplies(self):
        line = BottomLine.objects.create(
            condition=self.condition, text="First.", certainty="low", reviewed=date(2025, 1, 1)
        )
        form_a, form_b = self.open(self.a, line), self.open(self.b, line)
        assert self.save(self.a, line, form_a | {"text": "Alice's."}).status_code == 302

        response = self.save(self.b, line, form_b | {"certainty": "moderate"})

        assert response.status_code == 200
        [change] = response.context["edit_conflict"]["changes"]
        assert (change.label, change.had, change.now) == ("Text", "First.", "Alice's.")
        line.refresh_from_db()
        assert (line.text, line.certainty) == ("Alice's.", "low")
        reapplied = form_data(response, "bottomline_form")
        assert self.save(self.b, line, reapplied).status_code == 302
        line.refresh_from_db()
        assert (line.text, line.certainty) == ("Alice's.", "moderate")


class StudyPartFormTests(CuratorsTests):
    def test_an_outcome_edited_on_its_own_page_is_checked_against_its_study(self):
        url = reverse("admin:studies_outcome_change", args=[self.outcome.pk])
        form_a = form_data(self.a.get(url), "outcome_form")
        form_b = self.open(self.b, self.study)
        figures = {"outcomes-0-figures": "29% less pain"}
        assert self.save(self.b, self.study, form_b | figures).status_code == 302

        response = self.a.post(url, form_a | {"name": "Pain (VAS)"})

        assert response.status_code == 200
        assert "Someone saved this outcome after you opened it" in response.content.decode()
        [change] = response.context["edit_conflict"]["changes"]
        assert (change.label, change.now, change.yours) == (
            "Figures",
            "29% less pain",
            False,
        )
        self.outcome.refresh_from_db()
        assert (self.outcome.name, self.outcome.figures) == ("Pain", "29% less pain")
        assert self.a.post(url, form_data(response, "outcome_form")).status_code == 302
        self.outcome.refresh_from_db()
        assert (self.outcome.name, self.outcome.figures) == ("Pain (VAS)", "29% less pain")
        assert self.outcome.history.first().history_user == self.alice


class MarkReviewedTests(CuratorsTests):
    def action(self, client, page, studies):
        data = form_data(page, "changelist-form")
        data |= {"action": "mark_reviewed", "_selected_action": [s.pk for s in studies]}
        return client.post(CHANGELIST, data, follow=True)

    def test_a_study_changed_since_the_list_was_loaded_is_not_marked(self):
        other = make_study(title="Another study", year=2020)
        page = self.b.get(CHANGELIST)
        form_a = self.open(self.a, self.study)
        self.save(self.a, self.study, form_a | {"summary": "Alice's summary."})

        response = self.action(self.b, page, [self.study, other])

        messages = [str(m) for m in response.context["messages"]]
        assert "Marked 1 studies as reviewed." in messages
        [refused] = [m for m in messages if m.startswith("Not marked")]
        assert "“Low-dose naltrexone for fibromyalgia (2013)” changed after this list" in refused
        assert "curator's summary: “First summary.” → “Alice's summary.”" in refused
        assert Study.objects.get(pk=self.study.pk).reviewed_by is None
        assert Study.objects.get(pk=other.pk).reviewed_by == self.bob

        # Marking again from the list as it is now works.
        response = self.action(self.b, self.b.get(CHANGELIST), [self.study])
        assert Study.objects.get(pk=self.study.pk).reviewed_by == self.bob
        assert Study.objects.get(pk=self.study.pk).summary == "Alice's summary."

    def test_a_study_form_opened_before_a_mark_says_what_changed(self):
        form_b = self.open(self.b, self.study)
        self.action(self.a, self.a.get(CHANGELIST), [self.study])

        response = self.save(self.b, self.study, form_b | {"dose": "3 mg"})

        page = response.content.decode()
        assert "without a change to the fields shown here" not in page
        assert "check what is shown read-only, such as when it was last reviewed" in page
        assert self.save(self.b, self.study, form_data(response, "study_form")).status_code == 302
        study = Study.objects.get(pk=self.study.pk)
        assert (study.dose, study.reviewed_by) == ("3 mg", self.alice)

    def test_an_inline_change_also_stops_the_mark(self):
        page = self.b.get(CHANGELIST)
        make_outcome(self.study, name="Sleep")
        response = self.action(self.b, page, [self.study])
        [message] = [str(m) for m in response.context["messages"]]
        assert message.startswith("Not marked as reviewed")
        assert "its conditions, outcomes, summaries, quotes or claims" in message
        assert Study.objects.get(pk=self.study.pk).reviewed_at is None
