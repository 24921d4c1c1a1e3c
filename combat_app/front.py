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
from combat_app.identity import serving as serving_pod

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


class _Answers:
    """One pod's answers, precomputed: the bytes of each response and its ping log line."""

    __slots__ = ("draining", "draining_reply", "identity", "logger", "not_allowed", "ok", "ping_log", "pong")

    def __init__(self, identity: PodIdentity, logger: logging.Logger) -> None:
        self.identity = identity
        self.logger = logger
        self.ping_log = f"{identity.name} ping"
        headers = identity.headers()
        self.pong = _start(200, b"pong", headers)
        self.ok = _start(200, b"ok", headers)
        self.draining_reply = _start(503, b"draining", headers)
        self.not_allowed = _start(405, b"method not allowed", [_ALLOWED, *headers])
        self.draining = False  # this pod alone drains (one of several pods in the process)


class Front:
    """Answers the hot paths itself and hands every other request to ``app``.

    A process is one pod (``identity``), unless it is told to serve more (``serve_pod``): then
    each connection is answered as the pod whose address it reached (``scope["server"]``), and
    ``combat_app.identity.current()`` names that pod to the wrapped app too. The sandbox's
    lightweight pods (``sandbox.pod_host``) are served so.
    """

    def __init__(self, app: ASGIApp, *, identity: PodIdentity) -> None:
        self.app = app
        self.identity = identity
        self._own = _Answers(identity, ping_logger)
        self._pods: dict[str, _Answers] = {}  # by IP; empty for a process that is one pod
        self._routes = {"/ping": self._ping, "/healthz": self._healthz, "/readyz": self._readyz}

    def serve_pod(self, identity: PodIdentity, *, logger: logging.Logger = ping_logger) -> None:
        """Answer connections to ``identity.ip`` as that pod; its ping lines go to ``logger``."""
        self._pods[identity.ip] = _Answers(identity, logger)

    def drain_pod(self, ip: str) -> None:
        """The pod at ``ip`` fails readiness from now on (``/readyz`` 503), as on its SIGTERM."""
        self._pods[ip].draining = True

    def forget_pod(self, ip: str) -> None:
        self._pods.pop(ip, None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answers = self._own if not self._pods else self._pod_of(scope)
        if scope["type"] == "http":
            route = self._routes.get(scope["path"])
            if route is not None:
                if scope["method"] not in ("GET", "HEAD"):
                    return await self._answer(scope, send, answers.not_allowed, b"method not allowed")
                return await route(scope, send, answers)
        elif scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        if answers is not self._own:
            serving_pod.set(answers.identity)  # this request's task (and its threads) only
        return await self.app(scope, receive, send)

    def _pod_of(self, scope: Scope) -> _Answers:
        server = scope.get("server")
        return self._pods.get(server[0], self._own) if server else self._own

    async def _ping(self, scope: Scope, send: Send, answers: _Answers) -> None:
        answers.logger.info(answers.ping_log)
        await self._answer(scope, send, answers.pong, b"pong")

    async def _healthz(self, scope: Scope, send: Send, answers: _Answers) -> None:
        await self._answer(scope, send, answers.ok, b"ok")

    async def _readyz(self, scope: Scope, send: Send, answers: _Answers) -> None:
        if answers.draining or lifecycle.is_draining():
            return await self._answer(scope, send, answers.draining_reply, b"draining")
        reasons = lifecycle.not_ready_reasons()
        if reasons:  # e.g. the dashboard's database is unreachable: no traffic until it is back
            body = "; ".join(reasons).encode()
            return await self._answer(scope, send, _start(503, body, answers.identity.headers()), body)
        await self._answer(scope, send, answers.ok, b"ok")

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
                except lifecycle.StartupFailed as exc:
                    logger.error("start-up failed: %s", exc)
                    lifecycle.startup_failure = str(exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                except Exception as exc:
                    logger.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await lifecycle.run_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return
