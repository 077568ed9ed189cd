"""The rate-limit decorator for the expensive public endpoints, on a tiny view of its own."""

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import path

from studies.ratelimits import client_ip, ratelimited


@ratelimited("RATELIMIT_EXPORTS")
def limited_export(request):
    return HttpResponse("data", content_type="text/csv")


@ratelimited("RATELIMIT_EXPORTS", group="exports")
def export_ris(request):
    return HttpResponse("data", content_type="application/x-research-info-systems")


@ratelimited("RATELIMIT_EXPORTS", group="exports")
def export_bib(request):
    return HttpResponse("data", content_type="application/x-bibtex")


@ratelimited("RATELIMIT_SEARCH", when=lambda request: bool(request.GET.get("q")))
def search(request):
    return HttpResponse("results")


urlpatterns = [
    path("export.csv", limited_export),
    path("export.ris", export_ris),
    path("export.bib", export_bib),
    path("search/", search),
]


@pytest.fixture(autouse=True)
def limited_urls(settings):
    settings.ROOT_URLCONF = __name__
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_EXPORTS = "3/m"
    settings.NUM_PROXIES = 0
    cache.clear()
    yield
    cache.clear()


def fetch(client, times, **extra):
    return [client.get("/export.csv", **extra) for _ in range(times)]


def test_requests_over_the_rate_get_429_with_retry_after(client):
    responses = fetch(client, 4)
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    refused = responses[-1]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["Content-Type"] == "text/plain; charset=utf-8"
    assert refused.content.decode().startswith("Too many requests: try again in ")
    assert refused["Cache-Control"] == "no-store"


def test_browsers_get_a_429_page(client):
    fetch(client, 3)
    response = client.get("/export.csv", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 429
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert "Too many requests" in response.content.decode()
    assert f"wait {response['Retry-After']} seconds" in response.content.decode()


def test_each_address_has_its_own_count(client):
    fetch(client, 3, REMOTE_ADDR="192.0.2.1")
    assert client.get("/export.csv", REMOTE_ADDR="192.0.2.1").status_code == 429
    assert client.get("/export.csv", REMOTE_ADDR="192.0.2.2").status_code == 200


def test_without_proxies_a_forwarded_header_cannot_dodge_the_limit(client):
    statuses = [
        client.get(
            "/export.csv", REMOTE_ADDR="192.0.2.1", headers={"X-Forwarded-For": f"10.0.0.{n}"}
        ).status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_behind_a_proxy_the_client_is_keyed_by_its_forwarded_address(client, settings):
    settings.NUM_PROXIES = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}

    def get(forwarded):
        return client.get("/export.csv", headers={"X-Forwarded-For": forwarded}, **proxy)

    # The client varies what it sends itself; the proxy appends the real address.
    statuses = [get(f"198.51.100.{n}, 203.0.113.7").status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    # Another client behind the same proxy is not affected.
    assert get("203.0.113.8").status_code == 200


def test_client_ip_counts_proxies_from_the_right(settings):
    factory = RequestFactory()
    request = factory.get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7, 10.0.0.1"
    )
    settings.NUM_PROXIES = 0
    assert client_ip(request) == "10.0.0.2"
    settings.NUM_PROXIES = 1
    assert client_ip(request) == "10.0.0.1"
    settings.NUM_PROXIES = 2
    assert client_ip(request) == "203.0.113.7"


@pytest.mark.parametrize("forwarded", ["", "not-an-address", "203.0.113.7, <script>"])
def test_client_ip_falls_back_to_the_connection_on_a_bad_header(settings, forwarded):
    settings.NUM_PROXIES = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == "10.0.0.2"


def test_client_ip_normalises_ipv6(settings):
    settings.NUM_PROXIES = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="2001:DB8::1")
    assert client_ip(request) == "2001:db8::1"


def test_limits_can_be_switched_off(client, settings):
    settings.RATELIMIT_ENABLE = False
    assert {r.status_code for r in fetch(client, 5)} == {200}


def test_the_rate_comes_from_settings(client, settings):
    settings.RATELIMIT_EXPORTS = "1/h"
    responses = fetch(client, 2)
    assert [r.status_code for r in responses] == [200, 429]
    assert 1 <= int(responses[-1]["Retry-After"]) <= 3600


def test_views_in_a_group_share_one_budget(client):
    statuses = [client.get(url).status_code for url in ["/export.ris", "/export.bib"] * 2]
    assert statuses == [200, 200, 200, 429]
    # A view outside the group keeps its own count.
    assert client.get("/export.csv").status_code == 200


def test_only_requests_matching_when_are_counted(client, settings):
    settings.RATELIMIT_SEARCH = "2/m"
    assert {client.get("/search/").status_code for _ in range(5)} == {200}
    searches = [client.get("/search/", {"q": f"pain {n}"}).status_code for n in range(3)]
    assert searches == [200, 200, 429]
    assert client.get("/search/").status_code == 200  # browsing still works


@pytest.mark.django_db
def test_the_catalogs_exports_and_searches_are_limited(client, settings):
    settings.ROOT_URLCONF = "ldn_catalog.urls"
    settings.RATELIMIT_EXPORTS = "2/m"
    settings.RATELIMIT_SEARCH = "2/m"
    exports = [
        client.get(path).status_code for path in ("/studies.csv", "/studies.bib", "/studies.atom")
    ]
    assert exports == [200, 200, 429]
    browsing = [client.get("/studies/").status_code for _ in range(3)]
    assert browsing == [200, 200, 200]
    searches = [client.get("/studies/", {"q": "pain"}).status_code for _ in range(3)]
    assert searches == [200, 200, 429]
