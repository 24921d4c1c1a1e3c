"""The websocket ``/ws/dashboard/[?target=name.namespace]``: a thin consumer over the engine.

A socket shows one target Service (the first configured one unless ``target`` names another):
it joins that target's group and its commands act on that target (see docs/protocol.md). A
target that is not configured is refused: an ``error`` (``unknown-target``), then close 4404.
"""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from combat_app import lifecycle
from dashboard import access, engine, kube
from dashboard.messages import BadCommand, parse_command

logger = logging.getLogger(__name__)

GOING_AWAY = 1001  # RFC 6455: "an endpoint is going away, such as a server going down"
UNKNOWN_TARGET = 4404  # application range (4000-4999): the target asked for is not configured


class TokenBucket:
    """A per-connection flood guard: ``rate`` commands a second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class DashboardConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        if not access.scope_allowed(self.scope):
            await self.close(code=4401)  # before accept: the handshake is refused (403)
            return
        if lifecycle.is_draining():  # this pod is stopping: the page retries, and finds the next one
            await self.close(code=GOING_AWAY)
            return
        try:
            self.engine = engine.current()
        except RuntimeError:
            await self.close(code=1011)
            return
        self.bucket = TokenBucket(
            settings.DASHBOARD_COMMANDS_PER_SECOND, settings.DASHBOARD_COMMANDS_PER_SECOND
        )
        asked = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get("target")
        try:
            self.target = self.engine.target(asked[-1] if asked else None)
        except engine.Refused as exc:  # accepted first, so that the page can say why
            await self.accept()
            await self.send_message({"type": "error", "code": exc.code, "message": str(exc)})
            await self.close(code=UNKNOWN_TARGET)
            return
        await self.channel_layer.group_add(self.target.group, self.channel_name)
        self.engine.attach(self.channel_name)
        await self.accept()
        await self.send_message(self.engine.snapshot(self.target.target.key))

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "target"):
            await self.channel_layer.group_discard(self.target.group, self.channel_name)
            self.engine.detach(self.channel_name)

    async def server_going_away(self, event: dict) -> None:
        """Sent by the engine's drain to this process's own clients only (not to the group)."""
        await self.close(code=GOING_AWAY, reason="the dashboard pod is shutting down")

    async def send_message(self, message: dict) -> None:
        await self.send(text_data=json.dumps(message, separators=(",", ":")))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.bucket.take():
            return await self.send_message(
                BadCommand("rate-limited", "too many commands; slow down").as_message()
            )
        try:
            command = parse_command(text_data if text_data is not None else bytes_data)
            await self.dispatch_command(command)
        except BadCommand as exc:
            await self.send_message(exc.as_message())
        except engine.Refused as exc:
            await self.send_message({"type": "error", "code": exc.code, "message": str(exc)})
        except kube.KubeError as exc:
            await self.send_message({"type": "error", "code": "kubernetes", "message": str(exc)})
        except Exception:  # a bug in one command must not drop the socket: say so, and log it
            logger.exception("the websocket command failed")
            await self.send_message({"type": "error", "code": "internal", "message": "the command failed"})

    async def dispatch_command(self, command) -> None:
        key = self.target.target.key
        if command.type in ("deployment.scale", "pod.delete") and not self.target.home:
            raise engine.Refused(
                "chaos-not-here", f"the scale and delete buttons act on {settings.DASHBOARD_HOME.key} only"
            )
        if command.type == "run.start":
            await self.engine.start_run(command.plan, key)
        elif command.type == "run.cancel":
            await self.engine.replicas.cancel_anywhere("run", command.run)
        elif command.type == "experiment.start":
            await self.engine.start_experiment(command.experiment, key)
        elif command.type == "experiment.cancel":
            await self.engine.replicas.cancel_anywhere("experiment", command.experiment_id)
        elif command.type == "deployment.scale":
            await self.engine.scale(command.replicas)
        elif command.type == "pod.delete":
            await self.engine.delete_pod(command.pod)
        elif command.type == "resync":
            await self.send_message(self.engine.snapshot(key))

    # One handler per broadcast type; each forwards the engine's message as it is.
    async def calls_batch(self, event: dict) -> None:
        await self.send_message(event["message"])

    async def endpoints_changed(self, event: dict) -> None:
        await self.send_message(event["message"])

    async def run_started(self, event: dict) -> None:
        await self.send_message(event["message"])

    async def run_finished(self, event: dict) -> None:
        await self.send_message(event["message"])

    async def experiment_started(self, event: dict) -> None:
        await self.send_message(event["message"])

    async def experiment_progress(self, event: dict) -> None:
        await self.send_message(event["message"])

    async def experiment_finished(self, event: dict) -> None:
        await self.send_message(event["message"])

    async def service_changed(self, event: dict) -> None:
        await self.send_message(event["message"])
