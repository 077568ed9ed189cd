from django.urls import path

from . import views

app_name = "studies"

urlpatterns = [
    path("", views.home, name="home"),
    path("studies/", views.study_list, name="study_list"),
    path("studies.bib", views.study_export, {"extension": "bib"}, name="export_bib"),
    path("studies.ris", views.study_export, {"extension": "ris"}, name="export_ris"),
    path("studies.csv", views.study_export, {"extension": "csv"}, name="export_csv"),
    path("studies.json", views.study_export, {"extension": "json"}, name="export_json"),
    path("studies.atom", views.study_feed, name="feed"),
    path("studies/<slug:slug>/", views.study_detail, name="study_detail"),
    path("studies/<slug:slug>.bib", views.study_bibtex, name="study_bibtex"),
    path("conditions/", views.condition_list, name="condition_list"),
    path("conditions/<slug:slug>/", views.condition_detail, name="condition_detail"),
    path("conditions/<slug:slug>.json", views.condition_json, name="condition_json"),
    path("sources/<slug:slug>/", views.source_detail, name="source_detail"),
]
