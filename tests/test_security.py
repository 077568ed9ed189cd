"""The security baseline: deploy checks, response headers, who may reach the admin, CSRF."""

import os
import secrets
import subprocess
import sys
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db import connection
from django.test import Client, TestCase, override_settings
from django.urls import reverse

BASE_DIR = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "ldn-catalog.example.org",
}


def production_environment():
    unset = {"DEBUG", "SECURE_SSL_REDIRECT", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    if connection.vendor == "postgresql":
        # The checks ask the server its version: point them at the test database, which
        # exists (the one DATABASE_URL names may not, on a fresh machine).
        db = connection.settings_dict
        env["DATABASE_URL"] = (
            f"postgres://{quote(db['USER'])}:{quote(db['PASSWORD'] or '')}"
            f"@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        )
    return {**env, **PRODUCTION_ENV}


@pytest.mark.slow
@pytest.mark.django_db
def test_check_deploy_reports_nothing_with_production_settings():
    # The settings file as production loads it: only the environment differs.
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.django_db
@override_settings(
    DEBUG=False,
    SECRET_KEY=PRODUCTION_ENV["SECRET_KEY"],
    ALLOWED_HOSTS=["ldn-catalog.example.org"],
    SECURE_SSL_REDIRECT=True,
)
def test_check_deploy_in_process_reports_nothing(monkeypatch):
    # The end-to-end tests allow sync ORM calls beside Playwright's event loop; a deployment
    # never sets that, and async.E001 says so.
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    out, err = StringIO(), StringIO()
    call_command("check", deploy=True, fail_level="WARNING", stdout=out, stderr=err)
    assert err.getvalue() == ""
    assert "no issues (0 silenced)" in out.getvalue()
    assert settings.SILENCED_SYSTEM_CHECKS == []


def test_csp_never_allows_inline_code():
    policy = settings.SECURE_CSP
    assert "'unsafe-inline'" not in str(policy)
    assert "'unsafe-eval'" not in str(policy)
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert not getattr(settings, "SECURE_CSP_REPORT_ONLY", None)


def test_production_https_settings():
    # Tests run without DEBUG, i.e. with the production values.
    assert settings.DEBUG is False
    assert settings.SESSION_COOKIE_SECURE is True
    assert settings.CSRF_COOKIE_SECURE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SECURE_HSTS_SECONDS >= 31536000
    assert settings.SECURE_HSTS_INCLUDE_SUBDOMAINS is True
    assert settings.SECURE_CONTENT_TYPE_NOSNIFF is True
    assert settings.X_FRAME_OPTIONS == "DENY"


PUBLIC_PAGES = ["/", "/admin/login/", "/healthz", "/no-such-page/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_security_headers_on_public_pages(client, settings, path):
    response = client.get(path, secure=True)
    assert response.status_code < 500
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/admin/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/admin/login/"


@pytest.mark.django_db
def test_health_check_is_not_redirected_for_plain_http_probes(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_csrf_cookie_is_secure(client):
    response = client.get("/admin/login/", secure=True)
    cookie = response.cookies[settings.CSRF_COOKIE_NAME]
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Lax"


def log_in(client, page):
    return client.post(
        "/admin/login/",
        {
            "username": "curator",
            "password": "a long unguessable passphrase",
            "csrfmiddlewaretoken": page.context["csrf_token"],
        },
        secure=True,
        headers={"Referer": "https://testserver/admin/login/"},
    )


@pytest.mark.django_db
def test_session_cookie_is_secure_and_http_only():
    user = User.objects.create_user("curator", password="a long unguessable passphrase")
    client = Client(enforce_csrf_checks=True)
    page = client.get("/admin/login/", secure=True)
    response = log_in(client, page)
    # Not staff, so the admin refuses; a staff user gets the session cookie below.
    assert response.status_code == 200
    user.is_staff = True
    user.save()
    response = log_in(client, page)
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def admin_urls(kind):
    """The admin's changelist or add URLs for every registered model."""
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{kind}")
        for model in admin.site._registry
    ]


class AnonymousTests(TestCase):
    def test_admin_pages_redirect_to_login(self):
        for url in ["/admin/", *admin_urls("changelist"), *admin_urls("add")]:
            response = self.client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/"), url

    def test_admin_writes_redirect_to_login_and_store_nothing(self):
        before = {model: model.objects.count() for model in admin.site._registry}
        for url in admin_urls("add"):
            response = self.client.post(url, {"username": "intruder", "name": "intruders"})
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/"), url
        assert {model: model.objects.count() for model in admin.site._registry} == before

    def test_public_pages_refuse_writes(self):
        for method in ("post", "put", "patch", "delete"):
            response = getattr(self.client, method)("/")
            assert response.status_code == 405, method


class CsrfTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.admin = User.objects.create_superuser("admin", password="not used")

    def test_admin_login_without_token_is_forbidden(self):
        client = Client(enforce_csrf_checks=True)
        client.get("/admin/login/")  # sets the CSRF cookie, as a browser would
        response = client.post("/admin/login/", {"username": "admin", "password": "x"})
        assert response.status_code == 403

    def test_admin_login_with_token_is_accepted(self):
        client = Client(enforce_csrf_checks=True)
        page = client.get("/admin/login/")
        response = client.post(
            "/admin/login/",
            {
                "username": "admin",
                "password": "x",
                "csrfmiddlewaretoken": page.context["csrf_token"],
            },
        )
        # Wrong password, but past the CSRF check: the form answers.
        assert response.status_code == 200

    def test_every_admin_form_needs_a_token(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.admin)
        urls = [*admin_urls("add"), "/admin/logout/", "/admin/password_change/"]
        for url in urls:
            client.get(url)
            assert client.post(url, {}).status_code == 403, url
        assert User.objects.count() == 1


class CuratorPermissionTests(TestCase):
    """A curator may edit the catalog but not accounts, groups or permissions."""

    @classmethod
    def setUpTestData(cls):
        cls.curator = User.objects.create_user("curator", password="not used", is_staff=True)
        cls.curator.user_permissions.set(
            Permission.objects.filter(content_type__app_label="studies").exclude(
                codename__startswith="delete_"
            )
        )
        cls.other = User.objects.create_user("someone", password="not used")
        cls.group = Group.objects.create(name="Editors")

    def setUp(self):
        self.client.force_login(self.curator)

    def test_curator_holds_catalog_permissions_only(self):
        perms = self.curator.get_all_permissions()
        assert "studies.change_study" in perms
        assert not any(perm.startswith("auth.") for perm in perms)

    def test_user_group_and_permission_pages_are_forbidden(self):
        urls = [
            "/admin/auth/user/",
            "/admin/auth/user/add/",
            f"/admin/auth/user/{self.other.pk}/change/",
            f"/admin/auth/user/{self.other.pk}/password/",
            f"/admin/auth/user/{self.curator.pk}/change/",
            "/admin/auth/group/",
            "/admin/auth/group/add/",
            f"/admin/auth/group/{self.group.pk}/change/",
        ]
        for url in urls:
            assert self.client.get(url).status_code == 403, url

    def test_curator_cannot_create_users_or_raise_own_rights(self):
        self.client.post(
            "/admin/auth/user/add/",
            {"username": "backdoor", "password1": "x9!long-pass", "password2": "x9!long-pass"},
        )
        self.client.post(
            f"/admin/auth/user/{self.curator.pk}/change/",
            {"username": "curator", "is_superuser": "on", "is_staff": "on"},
        )
        self.client.post("/admin/auth/group/add/", {"name": "Admins"})
        assert not User.objects.filter(username="backdoor").exists()
        self.curator.refresh_from_db()
        assert not self.curator.is_superuser
        assert not Group.objects.filter(name="Admins").exists()

    def test_admin_index_does_not_offer_accounts(self):
        response = self.client.get("/admin/")
        assert response.status_code == 200
        assert "/admin/auth/user/" not in response.content.decode()
