from django.urls import path

from . import views

app_name = "studies"

urlpatterns = [
    path("", views.home, name="home"),
    path("studies/<slug:slug>/", views.study_detail, name="study_detail"),
    path("conditions/<slug:slug>/", views.condition_detail, name="condition_detail"),
    path("sources/<slug:slug>/", views.source_detail, name="source_detail"),
]
