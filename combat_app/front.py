"""The lean ASGI path in front of Django: ``/ping``, ``/healthz``, ``/readyz`` and the lifespan.

``/ping`` is what every call through the Service lands on and the probes hit the health
endpoints every few seconds, so these answer from precomputed bytes without Django's
middleware stack (see ``docs/performance.md``). Everything else goes to the wrapped app.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from combat_app import lifecycle
from combat_app.identity import PodIdentity

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ping_logger = logging.getLogger("combat_app.ping")
logger = logging.getLogger(__name__)

_ALLOWED = (b"allow", b"GET, HEAD")


def _start(status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
    }


class Front:
    """Answers the hot paths itself and hands every other request to ``app``."""

    def __init__(self, app: ASGIApp, *, identity: PodIdentity) -> None:
        self.app = app
        self.identity = identity
        self._ping_log = f"{identity.name} ping"
        identity_headers = identity.headers()
        self._pong = _start(200, b"pong", identity_headers)
        self._ok = _start(200, b"ok", identity_headers)
        self._draining = _start(503, b"draining", identity_headers)
        self._not_allowed = _start(405, b"method not allowed", [_ALLOWED, *identity_headers])
        self._routes = {"/ping": self._ping, "/healthz": self._healthz, "/readyz": self._readyz}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self._routes.get(scope["path"])
            if route is not None:
                if scope["method"] not in ("GET", "HEAD"):
                    return await self._answer(scope, send, self._not_allowed, b"method not allowed")
                return await route(scope, send)
        elif scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        return await self.app(scope, receive, send)

    async def _ping(self, scope: Scope, send: Send) -> None:
        ping_logger.info(self._ping_log)
        await self._answer(scope, send, self._pong, b"pong")

    async def _healthz(self, scope: Scope, send: Send) -> None:
        await self._answer(scope, send, self._ok, b"ok")

    async def _readyz(self, scope: Scope, send: Send) -> None:
        if lifecycle.is_draining():
            return await self._answer(scope, send, self._draining, b"draining")
        await self._answer(scope, send, self._ok, b"ok")

    @staticmethod
    async def _answer(scope: Scope, send: Send, start: dict[str, Any], body: bytes) -> None:
        await send(start)
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await lifecycle.run_startup()
                except Exception as exc:
                    logger.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await lifecycle.run_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return
