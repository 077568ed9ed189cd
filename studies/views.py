"""The public catalog pages and the list's downloads."""

import hashlib
from collections import Counter
from urllib.parse import parse_qsl, urlencode

from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponsePermanentRedirect,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.text import Truncator
from django.views.decorators.http import require_safe

from . import bibtex, exports, facets, plots, synthesis
from .caching import for_this_version, public_page
from .citations import Citation, study_links
from .feeds import StudyFeed
from .filters import StudyFilter
from .gone import gone_or_404
from .links import absolute_url
from .models import Condition, Source, Study
from .querysets import SORT_CHOICES
from .ratelimits import ratelimited
from .suggestions import suggest
from .vocabulary import ClaimVerdict, EvidenceLevel, OutcomeDomain

PAGE_SIZE = 25
EXPORT_CHUNK_SIZE = 1000  # studies a download reads from the database at a time
LATEST_COUNT = 6
SECTION_SIZE = 10  # rows in each section of a condition page; the rest are in the list
RELATED_COUNT = 8
MAX_PAGE_DIGITS = 20  # a longer page number is not found; a shorter one past the end is the last


@require_safe
@public_page
def home(request):
    # The map counts the conditions studies name themselves; ?tags=all adds those named
    # only by a citing document.
    every_tag = request.GET.get("tags") == "all"
    designs, rows = for_this_version(
        "evidence-map-all" if every_tag else "evidence-map",
        lambda: Condition.objects.evidence_map(every_tag=every_tag),
    )
    latest = Study.objects.for_list().order_by("-created_at", "-pk")[:LATEST_COUNT]
    return render(
        request,
        "studies/home.html",
        {
            "study_count": Study.objects.count(),
            "map_designs": designs,
            "map_rows": rows,
            "map_every_tag": every_tag,
            "latest": latest,
            "levels": list(EvidenceLevel),
        },
    )


@require_safe
@public_page
@ratelimited("RATELIMIT_SEARCH", when=lambda request: bool(request.GET.get("q")))
def study_list(request):
    filterset = StudyFilter(request.GET)
    problems = filterset.problems()
    search_notes = filterset.search_notes()
    page_number = _page_number(request.GET.get("page"), problems)
    canonical = filterset.canonical_params(page_number)
    if (
        not problems
        and not filterset.form.fields["q"].notes  # a cleaned search says what it cleaned
        and parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True) != canonical
    ):
        return HttpResponsePermanentRedirect(_url("studies:study_list", canonical))

    summary = facets.summarise(filterset)
    paginator = Paginator(filterset.qs.for_list(), PAGE_SIZE)
    paginator.count = summary.total  # counted with the facets: no COUNT query of its own
    page = paginator.get_page(page_number)
    # Past the last page, the last page is shown: its own address is the canonical one.
    canonical = filterset.canonical_params(page.number)
    page.object_list = _page_rows(filterset, page)
    chips = filterset.chips()
    suggestions = suggest(filterset.search, page.paginator.count)
    return render(
        request,
        "studies/study_list.html",
        {
            "filter": filterset,
            "facets": summary.facets,
            "page": page,
            "heading": filterset.heading(page.paginator.count),
            "sort_choices": SORT_CHOICES,
            "domain_choices": OutcomeDomain.choices,
            "problems": problems,
            "search_notes": search_notes,
            "query": _query_dict(filterset.canonical_params()),
            "canonical_url": _url("studies:study_list", canonical),
            "share_url": absolute_url(_url("studies:study_list", canonical)),
            "export_query": urlencode(filterset.export_params()),
            "chips": [(label, _url("studies:study_list", params)) for label, params in chips],
            "hidden_undated": summary.hidden_undated,
            "undated_url": _url("studies:study_list", filterset.params_with("undated", "1")),
            "description": filterset.sentence(page.paginator.count),
            **_suggestion_links(filterset, suggestions),
        },
    )


def _suggestion_links(filterset, suggestions):
    """Links for the suggestions: the corrected search and the condition the search names,
    each with the list's other filters kept (a search that is the condition's name, or a
    misspelling of it, gives way to the condition's filter)."""
    links = {}
    if suggestions and suggestions.corrected:
        params = [(k, v) for k, v in filterset.canonical_params() if k != "q"]
        links["did_you_mean"] = (
            suggestions.corrected,
            _url(
                "studies:study_list",
                filterset.sorted_params([*params, ("q", suggestions.corrected)]),
            ),
        )
    if suggestions and suggestions.condition:
        slug, name = suggestions.condition
        if slug not in (filterset.value.get("condition") or []):
            params = filterset.params_with("condition", slug)
            if suggestions.condition_is_search:  # the filter says what the search said
                params = [(k, v) for k, v in params if k != "q"]
            links["named_condition"] = (
                name,
                reverse("studies:condition_detail", args=[slug]),
                _url("studies:study_list", params),
            )
    return links


def _page_rows(filterset, page):
    """The studies on one page of the list, in order. Which studies they are is the same
    for every reader until the catalog changes, so their ids are kept per catalog version:
    a repeat view of a ranked search or a deep page reads 25 rows by primary key."""
    if not page.paginator.count:
        return []
    params = urlencode(filterset.canonical_params(page.number))
    ids = for_this_version(
        "page:" + hashlib.sha256(params.encode()).hexdigest(),
        lambda: list(page.object_list.values_list("pk", flat=True)),
    )
    studies = Study.objects.for_list().in_bulk(ids)
    return [studies[pk] for pk in ids if pk in studies]


def _page_number(raw, problems):
    if raw is None or raw == "":
        return 1
    if raw.isascii() and raw.isdigit() and len(raw) > MAX_PAGE_DIGITS:
        # No link holds such a number (and int() refuses more than 4,300 digits).
        raise Http404("No such page.")
    if raw.isascii() and raw.isdigit() and int(raw) >= 1:
        # Past the last page, the paginator shows the last page.
        return min(int(raw), 10**6)
    problems.append(f"Page: “{raw[:20]}” is not a page number; showing page 1.")
    return 1


def _url(name, params, **kwargs):
    query = urlencode(params)
    return reverse(name, kwargs=kwargs) + (f"?{query}" if query else "")


def _query_dict(params):
    query = QueryDict(mutable=True)
    for key, value in params:
        query.appendlist(key, value)
    return query


@require_safe
@public_page
def study_detail(request, slug):
    study = Study.objects.for_export().select_related("reviewed_by").filter(slug=slug).first()
    if study is None:
        return gone_or_404(request, slug)
    conditions = list(study.conditions.all())
    tags = list(study.condition_tags.all())  # prefetched by for_export, with their basis
    related = Study.objects.for_list().related_to(study)[:RELATED_COUNT]
    citation = Citation.from_study(study)
    return render(
        request,
        "studies/study_detail.html",
        {
            "study": study,
            "canonical_url": absolute_url(study.get_absolute_url()),
            "conditions": conditions,
            "tags": tags,
            "related": related,
            "citation": citation,
            "links": study_links(study),
            "bibtex": bibtex.citation_to_bibtex(citation),
            "preview_description": _study_preview(study, conditions),
        },
    )


def _study_preview(study, conditions):
    """A link preview's description: e.g. ``Randomised controlled trial, 2013, 31
    participants; fibromyalgia. Pain fell …``."""
    facts = [study.get_design_display()]
    if study.year:
        facts.append(str(study.year))
    if study.sample_size:
        facts.append(f"{study.sample_size} participants")
    text = ", ".join(facts)
    if conditions:
        text += "; " + ", ".join(c.name for c in conditions)
    if study.summary:
        text += ". " + study.summary
    return Truncator(text).chars(200)


@require_safe
def study_bibtex(request, slug):
    study = Study.objects.prefetch_related("conditions").filter(slug=slug).first()
    if study is None:
        return gone_or_404(request, slug)
    response = HttpResponse(
        bibtex.study_to_bibtex(study), content_type="application/x-bibtex; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{study.slug}.bib"'
    return response


@require_safe
@public_page
def condition_list(request):
    conditions = for_this_version(
        "condition-index",
        lambda: list(Condition.objects.with_study_counts().order_by("name")),
    )
    return render(request, "studies/condition_list.html", {"conditions": conditions})


@require_safe
@public_page
def condition_detail(request, slug):
    condition = get_object_or_404(Condition, slug=slug)
    evidence = for_this_version(
        f"condition:{condition.pk}", lambda: condition.evidence(section_size=SECTION_SIZE)
    )
    drawn = for_this_version(f"synthesis:{condition.pk}", lambda: _synthesis_for(condition))
    return render(
        request,
        "studies/condition_detail.html",
        {
            "condition": condition,
            **evidence,
            **drawn,
            "json_url": reverse("studies:condition_json", args=[condition.slug]),
            "list_url": _url("studies:study_list", [("condition", condition.slug)]),
            "strongest_first_url": _url(
                "studies:study_list", [("condition", condition.slug), ("sort", "level")]
            ),
            "canonical_url": absolute_url(condition.get_absolute_url()),
            "preview_title": f"Low-dose naltrexone for {condition.name}",
            "preview_description": (
                f"{evidence['total']} stud{'y' if evidence['total'] == 1 else 'ies'} of"
                f" low-dose naltrexone for {condition.name} in the LDN Evidence Catalog,"
                " by strength of evidence."
            ),
        },
    )


def _synthesis_for(condition):
    """The condition's synthesis and its plots' layouts, kept per catalog version."""
    found = synthesis.for_condition(condition)
    return {
        "synthesis": found,
        "forests": [(group, plots.forest(group)) for group in found.groups],
        "harvest": plots.harvest(found),
    }


@require_safe
@public_page
def condition_json(request, slug):
    """The condition's bottom line, estimates, pools and directions: the page's numbers."""
    condition = get_object_or_404(Condition, slug=slug)
    drawn = for_this_version(f"synthesis:{condition.pk}", lambda: _synthesis_for(condition))
    response = JsonResponse(drawn["synthesis"].as_json(condition))
    return response


@require_safe
@public_page
def source_detail(request, slug):
    source = get_object_or_404(Source, slug=slug)
    claims = list(source.claims.select_related("study", "cited_source").order_by("pk"))
    verdicts = Counter(claim.verdict for claim in claims)
    tally = [(v.label.lower(), verdicts[v.value]) for v in ClaimVerdict if verdicts[v.value]]
    mentions = source.mentions.select_related("study").order_by("study__title", "pk")
    return render(
        request,
        "studies/source_detail.html",
        {"source": source, "claims": claims, "tally": tally, "mentions": mentions},
    )


# Downloads of the current list: every matching study, in the list's order, streamed.


@require_safe
@ratelimited("RATELIMIT_EXPORTS", group="exports")
def study_export(request, extension):
    export = exports.BY_EXTENSION[extension]
    filterset = StudyFilter(request.GET)
    problems = filterset.problems()
    if problems:
        return _bad_filter(problems)
    if request.method == "HEAD":  # the headers of the download, without reading the catalog
        body = iter(())
    else:
        body = export.stream(filterset.qs, chunk_size=EXPORT_CHUNK_SIZE)
    response = StreamingHttpResponse(body, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{filterset.file_stem()}.{extension}"'
    return response


@require_safe
@public_page
@ratelimited("RATELIMIT_EXPORTS", group="exports")
def study_feed(request):
    problems = StudyFilter(request.GET).problems()
    if problems:
        return _bad_filter(problems)
    response = StudyFeed()(request)
    # The syndication framework dates the feed by its newest entry; public_page dates it
    # by the catalog revision, the date its If-Modified-Since check compares with.
    del response.headers["Last-Modified"]
    return response


def _bad_filter(problems):
    # A download that silently differed from what was asked would mislead: refuse and say why.
    return HttpResponseBadRequest(
        "The filter was not understood, so nothing was exported:\n" + "\n".join(problems) + "\n",
        content_type="text/plain; charset=utf-8",
    )
