from django.apps import AppConfig
from django.conf import settings


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "k8s-combat dashboard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """The engine (watcher, call writer) starts and stops with the server's lifespan."""
        if settings.COMBAT_DASHBOARD:
            from combat_app import lifecycle
            from dashboard import engine

            lifecycle.on_startup(engine.start)
            lifecycle.on_drain(engine.drain)
            lifecycle.on_shutdown(engine.stop)
