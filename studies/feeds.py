"""An Atom feed of the list's newest studies, so a reader can follow a filter."""

import re
from urllib.parse import urlencode

from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from .filters import StudyFilter
from .links import absolute_url

FEED_SIZE = 50
# Characters XML 1.0 cannot hold: a search for "\x08" must not break the feed.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text):
    return NOT_XML.sub("", text)


class StudyFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request):
        return StudyFilter(request.GET)

    def title(self, filterset):
        words = " · ".join(filterset.describe()) or "all studies"
        return xml_text(f"LDN Evidence Catalog: {words}")

    def subtitle(self, filterset):
        return "Studies of low-dose naltrexone newly added to the catalog. Not medical advice."

    # Absolute links from SITE_URL: the syndication framework would otherwise prefix the
    # request's Host header.
    def link(self, filterset):
        return self._with_query("studies:study_list", filterset)

    def feed_url(self, filterset):
        return self._with_query("studies:feed", filterset)

    def _with_query(self, name, filterset):
        query = urlencode(filterset.export_params())
        return absolute_url(reverse(name) + (f"?{query}" if query else ""))

    def item_link(self, study):
        return absolute_url(study.get_absolute_url())

    def items(self, filterset):
        return filterset.qs.for_list().order_by("-created_at", "-pk")[:FEED_SIZE]

    def item_title(self, study):
        return xml_text(f"{study.title} ({study.year})" if study.year else study.title)

    def item_description(self, study):
        verdicts = "; ".join(
            f"{e.condition.name}: {e.get_verdict_display().lower()} "
            f"({e.get_certainty_display().lower()} certainty)"
            for e in study.effect_summaries.all()
        )
        design = f"{study.get_design_display()} (evidence level {study.level.value})"
        return xml_text(" — ".join(part for part in (design, verdicts, study.summary) if part))

    def item_pubdate(self, study):
        return study.created_at

    def item_updateddate(self, study):
        return study.updated_at
