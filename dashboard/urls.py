from django.urls import path, register_converter

from dashboard import api


class ExtensionConverter:
    regex = "json|csv"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ExtensionConverter, "extension")

urlpatterns = [
    path("api/state", api.state, name="api-state"),
    path("api/runs", api.runs, name="api-runs"),
    path("api/runs/<int:run_id>", api.run, name="api-run"),
    path("api/runs/<int:run_id>/calls.<extension:extension>", api.calls, name="api-calls"),
    path("metrics", api.metrics, name="metrics"),
]
