"""410 Gone for a study the catalog held and deleted (its history says so), 404 otherwise."""

from django.http import Http404, HttpResponseGone
from django.template import loader

from .models import Study


def deleted_study(slug):
    """The last historical record of a study deleted from the catalog, or None."""
    if Study.objects.filter(slug=slug).exists():
        return None
    last = Study.history.filter(slug=slug).order_by("-history_date", "-history_id").first()
    if last is None or last.history_type != "-":
        return None
    return last


def gone_or_404(request, slug):
    """410 Gone for the URL of a study the catalog held and deleted; Http404 otherwise.

    A study view calls it where get_object_or_404 would raise:
    ``except Http404: return gone_or_404(request, slug)``.
    """
    record = deleted_study(slug)
    if record is None:
        raise Http404("No study is found at this address.")
    body = loader.render_to_string("410.html", {"record": record}, request=request)
    return HttpResponseGone(body)
