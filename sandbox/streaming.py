"""WebSocket requests to the sandbox's API server: how ``exec`` and ``port-forward`` arrive.

kubectl 1.30+ opens ``GET .../pods/NAME/exec`` and ``.../portforward`` as WebSockets and names
the protocols it speaks in ``Sec-WebSocket-Protocol`` (``v5.channel.k8s.io``,
``SPDY/3.1+portforward.k8s.io``). ``serve`` routes such a request to the subresource's handler
(the same ``SUBRESOURCES`` registry plain requests use) as a ``WebSocketRequest``; the handler
accepts with one of the offered protocols, or refuses the handshake with a ``Status``, as the
API server does (client-go reads the Status from the refused handshake's body, then falls back
to SPDY, which the sandbox does not serve: uvicorn upgrades to WebSockets only).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from sandbox import resources, routing
from sandbox.reading import get_or_404
from sandbox.wire import ApiError, Request, Send, parse_query

if TYPE_CHECKING:
    from sandbox.apiserver import ApiServer, Subresource
    from sandbox.kubelet import PodRunner

logger = logging.getLogger(__name__)


class ApiWebSockets(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, as lenient as the API server's Go one about subprotocols.

    ``websockets`` refuses a handshake whose ``Sec-WebSocket-Protocol`` values are not RFC 6455
    tokens, and kubectl's ``SPDY/3.1+portforward.k8s.io`` has a ``/``. uvicorn lists the offered
    values for the app itself (split on commas) and answers with the one the app accepts, so the
    library's own parse is simply skipped (``ws=ApiWebSockets`` in the API server's Config).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn.process_subprotocol = lambda headers: None

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body"):
            # A refused handshake answered in full: uvicorn would log that it never completed.
            self.handshake_complete = True


class WebSocket:
    """One ASGI WebSocket: accept or refuse the handshake, then binary messages both ways."""

    def __init__(self, scope: dict, receive: Callable, send: Send) -> None:
        self.offered: list[str] = list(scope.get("subprotocols") or [])
        self._can_answer_http = "websocket.http.response" in (scope.get("extensions") or {})
        self._receive, self._send = receive, send
        self.accepted = self.closed = False

    def choose(self, supported: tuple[str, ...]) -> str | None:
        """The first protocol the client offers that the server speaks (the client's order)."""
        return next((protocol for protocol in self.offered if protocol in supported), None)

    async def accept(self, subprotocol: str) -> None:
        await self._send({"type": "websocket.accept", "subprotocol": subprotocol})
        self.accepted = True

    async def refuse(self, error: ApiError) -> None:
        """Before the handshake: an HTTP answer carrying the Status. After: close with 1011."""
        if self.accepted:
            return await self.close(1011)
        self.closed = True
        if not self._can_answer_http:
            return await self._send({"type": "websocket.close", "code": 1008})
        body = json.dumps(error.body, separators=(",", ":")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await self._send({"type": "websocket.http.response.start", "status": error.code, "headers": headers})
        await self._send({"type": "websocket.http.response.body", "body": body})

    async def send(self, data: bytes) -> None:
        if not self.closed:
            await self._send({"type": "websocket.send", "bytes": data})

    async def receive(self) -> bytes | None:
        """The next message's bytes (a text message's UTF-8), or None once the client is gone."""
        message: dict[str, Any] = await self._receive()
        if message["type"] == "websocket.disconnect":
            self.closed = True
            return None
        if message.get("bytes") is not None:
            return message["bytes"]
        return (message.get("text") or "").encode()

    async def close(self, code: int = 1000) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):  # the client left first (uvicorn's ClientDisconnected)
                await self._send({"type": "websocket.close", "code": code})


@dataclass
class WebSocketRequest(Request):
    """A WebSocket handshake as a Request: ``socket`` to answer it, ``raw_query`` for the
    repeated parameters (``command=sh&command=-c&...``) that ``query`` keeps only the last of."""

    socket: WebSocket | None = field(default=None, repr=False, compare=False)
    raw_query: bytes = b""


async def serve(
    server: ApiServer,
    scope: dict,
    receive: Callable,
    send: Send,
    handlers: dict[tuple[str, str], Subresource],
) -> None:
    socket = WebSocket(scope, receive, send)
    if (await receive())["type"] != "websocket.connect":
        return
    try:
        if time.monotonic() < server.down_until:
            raise ApiError(503, "ServiceUnavailable", "the API server is restarting")
        route = routing.parse(scope["path"])
        handler = None
        if (
            route.kind == "objects"
            and route.namespace
            and route.name
            and route.subresource
            and not route.watch
        ):
            handler = handlers.get((route.resource.plural, route.subresource))
        if handler is None:
            raise routing.not_found()
        raw_query = scope.get("query_string", b"")
        headers = {key.lower(): value for key, value in scope.get("headers") or []}
        request = WebSocketRequest(
            "GET", scope["path"], parse_query(raw_query), headers, b"", receive, socket, raw_query
        )
        await handler(server, request, send, route.namespace, route.name)
    except ApiError as exc:
        await socket.refuse(exc)
    except OSError:  # the client went away in the middle
        await socket.close(1011)
    except Exception:
        logger.exception("sandbox API server failed on WebSocket %s", scope.get("path"))
        await socket.refuse(ApiError(500, "InternalError", "internal error"))
    finally:
        await socket.close()


def running_container(server: ApiServer, namespace: str, name: str, container: str | None) -> PodRunner:
    """The pod's runner, if its container runs: what exec and port-forward need."""
    stored = get_or_404(server.store, resources.PODS, namespace, name)
    runner = server.controls.runner(name, namespace)
    own = stored["spec"]["containers"][0]["name"]
    if container and container != own:
        raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}")
    if runner is None or not runner.pod.running:
        raise ApiError(400, "BadRequest", f'unable to upgrade connection: container not found ("{own}")')
    return runner


def upgrade_required() -> ApiError:
    return ApiError(
        400,
        "BadRequest",
        "Upgrade request required: the sandbox serves exec and port-forward over WebSockets "
        "(kubectl 1.30 or newer); it does not serve the older SPDY upgrade",
    )
