import asyncio
import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger(__name__)


class CombatAppConfig(AppConfig):
    name = "combat_app"
    verbose_name = "k8s-combat app"

    def ready(self) -> None:
        """Every pod serves the gRPC Greeter beside HTTP, started and drained with the server."""
        if not settings.COMBAT_GRPC_PORT:
            return
        from combat_app import greeting, identity, lifecycle

        servers = []

        async def start_grpc() -> None:
            servers.append(
                greeting.serve(
                    settings.COMBAT_GRPC_HOST, settings.COMBAT_GRPC_PORT, pod_name=identity.current().name
                )
            )
            logger.info("gRPC Greeter on %s:%s", settings.COMBAT_GRPC_HOST, settings.COMBAT_GRPC_PORT)

        async def stop_grpc() -> None:
            for server in servers:
                # In-flight calls get the grace period; the HTTP drain has already happened.
                await asyncio.to_thread(server.stop(settings.SHUTDOWN_GRPC_GRACE_SECONDS).wait)

        lifecycle.on_startup(start_grpc)
        lifecycle.on_shutdown(stop_grpc)
