import io
from unittest import mock

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, Permission, User
from django.core.management import CommandError, call_command
from django.test import TestCase, override_settings
from django.urls import reverse

from studies.models import Outcome, Study
from tests.factories import make_condition, make_outcome, make_study
from tests.forms_in_pages import form_data

LOGIN = reverse("admin:login")
PASSWORD = "a long curator password"


def make_curator(username="curator"):
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Curators"))
    return user


class CuratorsGroupTests(TestCase):
    def test_group_has_exactly_add_change_view_on_the_catalog(self):
        group = Group.objects.get(name="Curators")
        models = [
            "bottomline",
            "claim",
            "condition",
            "effectsummary",
            "mention",
            "outcome",
            "source",
            "study",
        ]
        expected = {
            ("studies", f"{action}_{model}")
            for model in models
            for action in ("add", "change", "view")
        }
        # Condition tags (migration 0008): a curator removes a wrong tag, not a record.
        expected |= {
            ("studies", f"{action}_studycondition")
            for action in ("add", "change", "delete", "view")
        }
        granted = set(group.permissions.values_list("content_type__app_label", "codename"))
        assert granted == expected

    def test_nothing_on_users_groups_or_permissions(self):
        group = Group.objects.get(name="Curators")
        assert not group.permissions.filter(content_type__app_label="auth").exists()
        deletable = group.permissions.filter(codename__startswith="delete_")
        assert list(deletable.values_list("codename", flat=True)) == ["delete_studycondition"]


class CuratorCannotGrantThemselvesMoreTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.curator = make_curator()
        cls.study = make_study()

    def setUp(self):
        self.client.force_login(self.curator)

    def test_user_group_and_permission_admin_are_closed(self):
        urls = [
            reverse("admin:auth_user_changelist"),
            reverse("admin:auth_user_change", args=[self.curator.pk]),
            reverse("admin:auth_group_changelist"),
            reverse("admin:auth_group_add"),
        ]
        for url in urls:
            assert self.client.get(url).status_code == 403, url
        assert "auth" not in [
            app["app_label"] for app in self.client.get("/admin/").context["app_list"]
        ]

    def test_posting_to_their_own_user_changes_nothing(self):
        url = reverse("admin:auth_user_change", args=[self.curator.pk])
        all_permissions = list(Permission.objects.values_list("pk", flat=True))
        response = self.client.post(
            url,
            {
                "username": "curator",
                "is_staff": "on",
                "is_superuser": "on",
                "user_permissions": all_permissions,
                "date_joined_0": "2026-01-01",
                "date_joined_1": "00:00:00",
            },
        )
        assert response.status_code == 403
        self.curator.refresh_from_db()
        assert not self.curator.is_superuser
        assert not self.curator.user_permissions.exists()

    def test_curators_cannot_delete_studies(self):
        url = reverse("admin:studies_study_delete", args=[self.study.pk])
        assert self.client.get(url).status_code == 403
        assert self.client.post(url, {"post": "yes"}).status_code == 403


class LoginThrottleTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.curator = make_curator()

    def _login(self, password, username="curator", address="10.0.0.1"):
        return self.client.post(
            LOGIN,
            {"username": username, "password": password, "next": "/admin/"},
            REMOTE_ADDR=address,
        )

    def test_five_failures_lock_out_the_user_at_that_address(self):
        for _ in range(4):
            assert self._login("wrong").status_code == 200
        # The fifth failure locks the account out at this address, even with the password.
        assert self._login("wrong").status_code == 429
        locked = self._login(PASSWORD)
        assert locked.status_code == 429
        assert "_auth_user_id" not in self.client.session

        # The lockout is keyed on user and address: the same user elsewhere still logs in.
        assert self._login(PASSWORD, address="10.0.0.2").status_code == 302

    def test_other_users_at_the_address_are_not_locked_out(self):
        make_curator("other")
        for _ in range(5):
            self._login("wrong")
        assert self._login(PASSWORD, username="other").status_code == 302


@override_settings(NUM_PROXIES=1)
class LoginThrottleBehindAProxyTests(TestCase):
    """Behind one proxy every request comes from the proxy's address; the throttle keys on
    the client's, the entry the proxy appended to X-Forwarded-For."""

    PROXY = "10.0.0.254"

    @classmethod
    def setUpTestData(cls):
        cls.curator = make_curator()

    def _login(self, password, forwarded_for):
        return self.client.post(
            LOGIN,
            {"username": "curator", "password": password, "next": "/admin/"},
            REMOTE_ADDR=self.PROXY,
            headers={"x-forwarded-for": forwarded_for},
        )

    def test_a_lockout_at_one_client_address_leaves_the_others_free(self):
        for _ in range(5):
            self._login("wrong", "203.0.113.5")
        assert self._login(PASSWORD, "203.0.113.5").status_code == 429
        # The same curator at another address behind the same proxy still signs in.
        assert self._login(PASSWORD, "198.51.100.7").status_code == 302
        assert AccessAttempt.objects.get().ip_address == "203.0.113.5"

    def test_a_client_cannot_escape_its_lockout_by_sending_the_header(self):
        for _ in range(5):
            self._login("wrong", "203.0.113.5")
        # What the client sends comes first; the proxy appends the real address.
        assert self._login(PASSWORD, "198.51.100.7, 203.0.113.5").status_code == 429


class CreateCuratorCommandTests(TestCase):
    def test_creates_a_staff_user_in_curators_with_a_given_password(self):
        out = io.StringIO()
        call_command(
            "create_curator",
            "ana",
            "--email",
            "ana@example.org",
            "--password",
            PASSWORD,
            stdout=out,
        )
        user = User.objects.get(username="ana")
        assert user.is_staff and not user.is_superuser
        assert user.email == "ana@example.org"
        assert list(user.groups.values_list("name", flat=True)) == ["Curators"]
        assert user.check_password(PASSWORD)
        assert "Password:" not in out.getvalue()

    def test_prints_a_generated_password_when_not_interactive(self):
        out = io.StringIO()
        with mock.patch("sys.stdin", io.StringIO()):
            call_command("create_curator", "ben", stdout=out)
        password = out.getvalue().split("Password: ")[1].strip()
        assert User.objects.get(username="ben").check_password(password)

    def test_prompts_when_interactive(self):
        stdin = mock.Mock(isatty=lambda: True)
        with (
            mock.patch("sys.stdin", stdin),
            mock.patch("getpass.getpass", side_effect=[PASSWORD, PASSWORD]),
        ):
            call_command("create_curator", "cai", stdout=io.StringIO())
        assert User.objects.get(username="cai").check_password(PASSWORD)

    def test_refuses_weak_passwords_and_existing_users(self):
        with pytest.raises(CommandError, match="too short"):
            call_command("create_curator", "dee", "--password", "abc")
        make_curator("eve")
        with pytest.raises(CommandError, match="exists already"):
            call_command("create_curator", "eve", "--password", PASSWORD)
        assert not User.objects.filter(username="dee").exists()


class InlineEditsWithoutPermissionTests(TestCase):
    """A curator saves a study page holding edits to rows they may no longer write (a
    permission taken away while the page was open): the rest is saved, and the page that
    follows says which edits were not, with what was typed, never dropping them silently."""

    @classmethod
    def setUpTestData(cls):
        cls.curator = make_curator()
        cls.fibromyalgia = make_condition(name="Fibromyalgia")
        cls.crohns = make_condition(name="Crohn's disease")
        cls.study = make_study(title="Original title", conditions=[cls.fibromyalgia])
        cls.outcome = make_outcome(cls.study, name="Pain")

    def setUp(self):
        self.client.force_login(self.curator)
        self.url = reverse("admin:studies_study_change", args=[self.study.pk])

    def open_then_lose(self, *codenames):
        """The page as opened by a curator, who then loses ``codenames``."""
        form = form_data(self.client.get(self.url), "study_form")
        curators = Group.objects.get(name="Curators")
        self.curator.groups.remove(curators)
        self.curator.user_permissions.set(curators.permissions.exclude(codename__in=codenames))
        return form

    def save(self, form):
        response = self.client.post(self.url, form, follow=True)
        assert response.redirect_chain, response.context["adminform"].form.errors
        return [str(message) for message in response.context["messages"]]

    def test_an_outcome_edit_without_change_permission_is_reported(self):
        form = self.open_then_lose("change_outcome")
        said = self.save(form | {"title": "Corrected title", "outcomes-0-name": "Pain (VAS)"})
        assert Outcome.objects.get(pk=self.outcome.pk).name == "Pain"  # Django drops it
        assert Study.objects.get(pk=self.study.pk).title == "Corrected title"
        refused = [text for text in said if text.startswith("Not saved")]
        assert refused == [
            "Not saved, as you may not change outcomes: outcome “Pain”, what was measured: "
            "“Pain” → “Pain (VAS)”. Your other changes were saved."
        ]

    def test_a_new_tag_without_add_permission_is_reported(self):
        form = self.open_then_lose("add_studycondition")
        said = self.save(
            form
            | {
                "condition_tags-TOTAL_FORMS": "2",
                "condition_tags-1-condition": str(self.crohns.pk),
                "condition_tags-1-basis": "citing",
            }
        )
        assert list(self.study.conditions.all()) == [self.fibromyalgia]
        assert [text for text in said if text.startswith("Not saved")] == [
            "Not saved, as you may not add condition tags: a new condition tag (condition "
            "“Crohn's disease”, basis “Named only by a citing document”). Your other "
            "changes were saved."
        ]

    def test_a_tag_deletion_without_delete_permission_is_reported(self):
        form = self.open_then_lose("delete_studycondition")
        said = self.save(form | {"condition_tags-0-DELETE": "on"})
        assert list(self.study.conditions.all()) == [self.fibromyalgia]
        assert [text for text in said if text.startswith("Not saved")] == [
            "Not saved, as you may not delete condition tags: deleting condition tag "
            "“Fibromyalgia”. Your other changes were saved."
        ]

    def test_edits_to_rows_no_longer_shown_at_all_are_reported(self):
        form = self.open_then_lose("view_outcome", "change_outcome", "add_outcome")
        said = self.save(form | {"outcomes-0-figures": "30% less pain"})
        assert Outcome.objects.get(pk=self.outcome.pk).figures == ""
        assert [text for text in said if text.startswith("Not saved")] == [
            "Not saved, as you may not change outcomes: outcome “Pain”, figures: “(empty)” → "
            "“30% less pain”. Your other changes were saved."
        ]

    def test_a_page_shown_read_only_saves_without_a_word(self):
        self.open_then_lose("change_outcome", "change_studycondition", "add_studycondition")
        form = form_data(self.client.get(self.url), "study_form")
        said = self.save(form | {"title": "Corrected title"})
        assert not [text for text in said if text.startswith("Not saved")]
        assert Study.objects.get(pk=self.study.pk).title == "Corrected title"
