from django.contrib import admin
from django.urls import include, path

from . import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("studies.urls")),
]

handler400 = "ldn_catalog.errors.handler400"
handler500 = "ldn_catalog.errors.handler500"
