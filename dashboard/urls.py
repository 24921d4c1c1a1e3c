from django.urls import path, register_converter
from django.views.i18n import JavaScriptCatalog, set_language

from dashboard import api, views


class ExtensionConverter:
    regex = "json|csv"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class RunIdConverter:
    """A run id in a path: digits, as an int, or None when there are more than any id has.

    ``<int:...>`` would hand the view 10**30 (which SQLite cannot hold: a 500) or fail on
    more than 4300 digits; the view answers None and ids over 2**63-1 with a JSON 404.
    """

    regex = "[0-9]+"

    def to_python(self, value: str) -> int | None:
        return int(value) if len(value) <= 19 else None

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(ExtensionConverter, "extension")
register_converter(RunIdConverter, "run_id")

urlpatterns = [
    path("", views.page, name="page"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("i18n/catalog.js", JavaScriptCatalog.as_view(packages=["dashboard"]), name="javascript-catalog"),
    path("api/state", api.state, name="api-state"),
    path("api/runs", api.runs, name="api-runs"),
    path("api/runs/<run_id:run_id>", api.run, name="api-run"),
    path("api/runs/<run_id:run_id>/calls.<extension:extension>", api.calls, name="api-calls"),
    path("api/experiments", api.experiment_list, name="api-experiments"),
    path("api/experiments/<run_id:experiment_id>", api.experiment, name="api-experiment"),
    path(
        "api/experiments/<run_id:experiment_id>.<extension:extension>",
        api.experiment_export,
        name="api-experiment-export",
    ),
    path("api/<path:rest>", api.not_found, name="api-not-found"),
    path("metrics", api.metrics, name="metrics"),
]
