from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from .models import Condition, Source, Study


@require_GET
def home(request):
    return render(request, "studies/home.html", {"study_count": Study.objects.count()})


@require_GET
def study_detail(request, slug):
    study = get_object_or_404(Study, slug=slug)
    return render(request, "studies/study_detail.html", {"study": study})


@require_GET
def condition_detail(request, slug):
    condition = get_object_or_404(Condition, slug=slug)
    return render(request, "studies/condition_detail.html", {"condition": condition})


@require_GET
def source_detail(request, slug):
    source = get_object_or_404(Source, slug=slug)
    return render(request, "studies/source_detail.html", {"source": source})
