"""The public catalog pages and the list's downloads."""

import hashlib
from collections import Counter
from urllib.parse import parse_qsl, urlencode

from django.core.paginator import Paginator
from django.db.models import Count, Min, Q
from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponsePermanentRedirect,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from . import bibtex, exports, facets
from .caching import for_this_version, public_page
from .citations import first_and_last_page, format_reference, study_links
from .feeds import StudyFeed
from .filters import SORT_CHOICES, StudyFilter
from .history import gone_or_404
from .models import Condition, EffectSummary, Source, Study
from .ratelimits import ratelimited
from .vocabulary import ClaimVerdict, EvidenceLevel, Status

PAGE_SIZE = 25
EXPORT_CHUNK_SIZE = 500
LATEST_COUNT = 6
SECTION_SIZE = 10  # rows in each section of a condition page; the rest are in the list
RELATED_COUNT = 8


@require_GET
@public_page
def home(request):
    # The map counts the conditions studies name themselves; ?tags=all adds those named
    # only by a citing document.
    every_tag = request.GET.get("tags") == "all"
    designs, rows = for_this_version(
        "evidence-map-all" if every_tag else "evidence-map",
        lambda: facets.evidence_map(every_tag=every_tag),
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


@require_GET
@public_page
@ratelimited("RATELIMIT_SEARCH", when=lambda request: bool(request.GET.get("q")))
def study_list(request):
    filterset = StudyFilter(request.GET)
    problems = filterset.problems()
    page_number = _page_number(request.GET.get("page"), problems)
    canonical = filterset.canonical_params(page_number)
    if (
        not problems
        and parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True) != canonical
    ):
        return HttpResponsePermanentRedirect(_url("studies:study_list", canonical))

    # Turning a page or re-sorting leaves the filters and their counts as they are, so the
    # progressive script asks for the results partial only (static/studies/catalog.js).
    partial = request.headers.get("X-Partial") == "results"
    summary = facets.summarise(filterset)  # from the cache when the full page was shown
    paginator = Paginator(filterset.qs.for_list(), PAGE_SIZE)
    paginator.count = summary.total  # counted with the facets: no COUNT query of its own
    page = paginator.get_page(page_number)
    page.object_list = _page_rows(filterset, page)
    response = render(
        request,
        "studies/study_list.html#results" if partial else "studies/study_list.html",
        {
            "filter": filterset,
            "facets": None if partial else summary.facets,
            "page": page,
            "heading": filterset.heading(page.paginator.count),
            "sort_choices": SORT_CHOICES,
            "problems": problems,
            "query": _query_dict(filterset.canonical_params()),
            "canonical_url": _url("studies:study_list", canonical),
            "share_url": request.build_absolute_uri(_url("studies:study_list", canonical)),
            "export_query": urlencode(filterset.export_params()),
        },
    )
    patch_vary_headers(response, ["X-Partial"])
    return response


def _page_rows(filterset, page):
    """The studies on one page of the list, in order. Which studies they are is the same
    for every reader until the catalog changes, so their ids are kept per catalog version:
    a repeat view of a ranked search or a deep page reads 25 rows by primary key."""
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


@require_GET
@public_page
def study_detail(request, slug):
    study = Study.objects.for_export().select_related("reviewed_by").filter(slug=slug).first()
    if study is None:
        return gone_or_404(request, slug)
    conditions = list(study.conditions.all())
    tags = list(study.condition_tags.all())  # prefetched by for_export, with their basis
    related = (
        Study.objects.for_list()
        .for_any_condition([c.slug for c in conditions])
        .exclude(pk=study.pk)
        .sorted_by("level")[:RELATED_COUNT]
        if conditions
        else Study.objects.none()
    )
    first_page, last_page = first_and_last_page(study.pages)
    return render(
        request,
        "studies/study_detail.html",
        {
            "study": study,
            "conditions": conditions,
            "tags": tags,
            "related": related,
            "reference": format_reference(study),
            "links": study_links(study),
            "bibtex": bibtex.study_to_bibtex(study),
            "first_page": first_page,
            "last_page": last_page,
        },
    )


@require_GET
def study_bibtex(request, slug):
    study = Study.objects.prefetch_related("conditions").filter(slug=slug).first()
    if study is None:
        return gone_or_404(request, slug)
    response = HttpResponse(
        bibtex.study_to_bibtex(study), content_type="application/x-bibtex; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{study.slug}.bib"'
    return response


@require_GET
@public_page
def condition_list(request):
    conditions = for_this_version(
        "condition-index",
        lambda: list(
            Condition.objects.annotate(
                study_count=Count("studies"), best_level=Min("studies__evidence_level")
            ).order_by("name")
        ),
    )
    return render(request, "studies/condition_list.html", {"conditions": conditions})


@require_GET
@public_page
def condition_detail(request, slug):
    condition = get_object_or_404(Condition, slug=slug)
    evidence = for_this_version(f"condition:{condition.pk}", lambda: _evidence_for(condition))
    return render(
        request,
        "studies/condition_detail.html",
        {
            "condition": condition,
            **evidence,
            "list_url": _url("studies:study_list", [("condition", condition.slug)]),
            "strongest_first_url": _url(
                "studies:study_list", [("condition", condition.slug), ("sort", "level")]
            ),
        },
    )


def _evidence_for(condition):
    """What a condition page shows of its studies, the same for every reader until the
    catalog changes: the studies by evidence level, and the first rows of each section
    with how many there are in all (a condition with thousands of studies still gives a
    page of a few dozen lines). The section counts come with the levels, in one query."""
    studies = Study.objects.for_any_condition_id([condition.pk])
    ongoing = Q(status__in=[Status.ONGOING, Status.PROTOCOL]) | Q(
        evidence_level=EvidenceLevel.NO_RESULTS
    )
    harms = ~Q(adverse_events="")
    counts = (
        studies.order_by()
        .values("evidence_level")
        .annotate(
            n=Count("pk"), ongoing=Count("pk", filter=ongoing), harms=Count("pk", filter=harms)
        )
    )
    by_level = {row["evidence_level"]: row for row in counts}
    findings = (
        EffectSummary.objects.filter(
            condition=condition, study__evidence_level__lte=EvidenceLevel.CONTROLLED_OBSERVATIONAL
        )
        .select_related("study")
        .order_by("study__evidence_level", "-study__year", "study__title")
    )
    return {
        "total": sum(row["n"] for row in by_level.values()),
        "pyramid": [
            (level, by_level[level.value]["n"] if level.value in by_level else 0)
            for level in EvidenceLevel
        ],
        "pyramid_max": max((row["n"] for row in by_level.values()), default=0),
        "findings": {"rows": list(findings[:SECTION_SIZE]), "total": findings.count()},
        "ongoing": {
            "rows": list(studies.filter(ongoing).for_list().sorted_by("newest")[:SECTION_SIZE]),
            "total": sum(row["ongoing"] for row in by_level.values()),
        },
        "harms": {
            "rows": list(studies.filter(harms).sorted_by("level")[:SECTION_SIZE]),
            "total": sum(row["harms"] for row in by_level.values()),
        },
        "strongest": list(studies.for_list().sorted_by("level")[:5]),
    }


@require_GET
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

EXPORT_FORMATS = {  # writer, content type, the related rows it writes (none named: all)
    "bib": (bibtex.iter_bibtex, "application/x-bibtex; charset=utf-8", bibtex.RELATIONS),
    "ris": (
        exports.iter_ris,
        "application/x-research-info-systems; charset=utf-8",
        exports.RIS_RELATIONS,
    ),
    "csv": (exports.iter_csv, "text/csv; charset=utf-8", exports.CSV_RELATIONS),
    "json": (exports.iter_json, "application/json; charset=utf-8", ()),
}


@require_GET
@ratelimited("RATELIMIT_EXPORTS", group="exports")
def study_export(request, extension):
    writer, content_type, relations = EXPORT_FORMATS[extension]
    filterset = StudyFilter(request.GET)
    problems = filterset.problems()
    if problems:
        return _bad_filter(problems)
    studies = filterset.qs.for_export(*relations).stream(chunk_size=EXPORT_CHUNK_SIZE)
    response = StreamingHttpResponse(writer(studies), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filterset.file_stem()}.{extension}"'
    return response


@require_GET
@public_page
@ratelimited("RATELIMIT_EXPORTS", group="exports")
def study_feed(request):
    problems = StudyFilter(request.GET).problems()
    if problems:
        return _bad_filter(problems)
    return StudyFeed()(request)


def _bad_filter(problems):
    # A download that silently differed from what was asked would mislead: refuse and say why.
    return HttpResponseBadRequest(
        "The filter was not understood, so nothing was exported:\n" + "\n".join(problems) + "\n",
        content_type="text/plain; charset=utf-8",
    )
