"""Who may cancel an import job: the curator who started it, or one allowed to change any
import job (a superuser, or the permission studies.change_importjob). Any curator may
follow a job's page; the others are told who started it, and a cancel they send anyway
is refused with that message, the job going on."""

from django.contrib.auth.models import Permission, User
from django.test import TestCase
from django.urls import reverse

from studies.models import ImportJob
from tests.test_admin import make_curator


def cancel_url(job):
    return reverse("admin:studies_study_import_cancel", args=[job.pk])


class CancelPermissionTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.alice = make_curator("alice")
        cls.bob = make_curator("bob")

    def setUp(self):
        self.job = ImportJob.objects.create(
            file_name="alice.ris", user=self.alice, status=ImportJob.Status.CHECKING
        )

    def test_the_curator_who_started_it_cancels_it(self):
        self.client.force_login(self.alice)
        page = self.client.get(self.job.get_absolute_url()).content.decode()
        assert 'value="Cancel the import"' in page
        response = self.client.post(cancel_url(self.job), follow=True)
        assert "Cancelling the import" in response.content.decode()
        assert ImportJob.objects.get(pk=self.job.pk).cancel_requested

    def test_another_curator_sees_who_started_it_and_no_cancel_button(self):
        self.client.force_login(self.bob)
        page = self.client.get(self.job.get_absolute_url()).content.decode()
        assert "(uploaded by alice)" in page
        assert "Only alice, who started this import, or a superuser can cancel it." in page
        assert cancel_url(self.job) not in page
        assert "Cancel the import" not in page

    def test_another_curators_cancel_is_refused_and_the_job_goes_on(self):
        self.client.force_login(self.bob)
        response = self.client.post(cancel_url(self.job))
        assert response.status_code == 403
        page = response.content.decode()
        assert "You cannot cancel this import; it goes on." in page
        assert "Only alice, who started this import, or a superuser can cancel it." in page
        assert "(uploaded by alice)" in page  # the job's page, with the message
        self.job.refresh_from_db()
        assert (self.job.status, self.job.cancel_requested) == ("checking", False)

    def test_a_queued_job_of_another_curator_is_not_cancelled_either(self):
        ImportJob.objects.filter(pk=self.job.pk).update(status=ImportJob.Status.QUEUED)
        self.client.force_login(self.bob)
        assert self.client.post(cancel_url(self.job)).status_code == 403
        assert ImportJob.objects.get(pk=self.job.pk).status == "queued"

    def test_a_superuser_cancels_any_job(self):
        admin = User.objects.create_superuser("admin", password="a long admin password")
        self.client.force_login(admin)
        page = self.client.get(self.job.get_absolute_url()).content.decode()
        assert 'value="Cancel the import"' in page
        self.client.post(cancel_url(self.job))
        assert ImportJob.objects.get(pk=self.job.pk).cancel_requested

    def test_a_curator_given_the_permission_cancels_any_job(self):
        self.bob.user_permissions.add(Permission.objects.get(codename="change_importjob"))
        self.client.force_login(User.objects.get(pk=self.bob.pk))  # no cached permissions
        self.client.post(cancel_url(self.job))
        assert ImportJob.objects.get(pk=self.job.pk).cancel_requested

    def test_a_job_started_from_the_command_line_is_cancelled_by_a_superuser_only(self):
        job = ImportJob.objects.create(file_name="big.bib", status=ImportJob.Status.QUEUED)
        self.client.force_login(self.bob)
        page = self.client.get(job.get_absolute_url()).content.decode()
        assert "Started from the command line: only a superuser can cancel it." in page
        assert self.client.post(cancel_url(job)).status_code == 403
        assert ImportJob.objects.get(pk=job.pk).status == "queued"
