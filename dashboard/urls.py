from django.urls import path, register_converter
from django.views.i18n import JavaScriptCatalog, set_language

from dashboard import api, views


class ExtensionConverter:
    regex = "json|csv"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ExtensionConverter, "extension")

urlpatterns = [
    path("", views.page, name="page"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("i18n/catalog.js", JavaScriptCatalog.as_view(packages=["dashboard"]), name="javascript-catalog"),
    path("api/state", api.state, name="api-state"),
    path("api/runs", api.runs, name="api-runs"),
    path("api/runs/<int:run_id>", api.run, name="api-run"),
    path("api/runs/<int:run_id>/calls.<extension:extension>", api.calls, name="api-calls"),
    path("metrics", api.metrics, name="metrics"),
]
