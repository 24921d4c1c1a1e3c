"""The sandbox's API server: the Kubernetes REST protocol over HTTP, as an ASGI app.

It serves what k8s-combat and the tutorial touch (see ``sandbox.resources``): discovery, lists
and watches with selectors, gets, pod deletion and the Deployment ``scale`` subresource, with
errors as ``Status`` objects. Watches stream newline-delimited JSON events as they happen,
resume from a resourceVersion, send BOOKMARKs when asked and end after ``timeoutSeconds``.

For tests it also has a few fault switches under ``/sandbox/faults/`` (never part of the
Kubernetes API): drop every watch stream, silence them, compact the history (410 Gone), answer
the next watch requests with an HTTP error, restart (503s, then no history), or make a pod
fail its readiness probe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from sandbox import (
    creating,
    deleting,
    discovery,
    faults,
    logs,
    openapi,
    port_forward,
    reading,
    remote_command,
    routing,
    streaming,
    updating,
    writing,
)
from sandbox.routing import Route
from sandbox.store import Store
from sandbox.watching import WatchStreams
from sandbox.wire import MAX_BODY_BYTES, ApiError, Request, Send, not_allowed, parse_query, send_json

logger = logging.getLogger(__name__)

# A subresource's handler: (server, request, send, namespace, name). Modules register theirs here.
Subresource = Callable[["ApiServer", Request, Send, str, str], Awaitable[None]]
SUBRESOURCES: dict[tuple[str, str], Subresource] = {
    ("deployments", "scale"): writing.scale,
    ("pods", "log"): logs.serve,
    ("pods", "exec"): remote_command.serve,  # WebSocket (v5.channel.k8s.io), see sandbox.streaming
    ("pods", "portforward"): port_forward.serve,  # WebSocket (SPDY/3.1+portforward.k8s.io)
}
# The generic verbs: (server, request, send, resource, namespace[, name]).
COLLECTION_WRITES = {"POST": creating.create, "DELETE": deleting.delete_collection}
OBJECT_WRITES = {"PUT": updating.replace, "PATCH": updating.patch, "DELETE": deleting.delete}


class Controls(Protocol):
    """What the API server asks of the controller: the two writes users make, and a written
    Service's addresses (the Service allocator, ``sandbox.services``)."""

    def delete_pod(self, name: str, grace_seconds: int | None, namespace: str) -> dict | None: ...

    def scale(self, deployment: str, replicas: int, namespace: str) -> dict: ...

    def allocate_service(self, service: dict, old: dict | None) -> None: ...

    def runner(self, name: str, namespace: str): ...

    def replica_limit(self, deployment: dict, replicas: object) -> int: ...

    max_replicas: int


class ApiServer:
    def __init__(
        self, store: Store, controls: Controls, *, server_address: str, bookmark_seconds: float = 10.0
    ) -> None:
        self.store = store
        self.controls = controls
        self.server_address = server_address
        self.watches = WatchStreams(store, bookmark_seconds=bookmark_seconds)
        creating.ensure_namespaces(store)  # default, kube-system, kube-public, kube-node-lease
        self.down_until = 0.0

    # --- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: dict, receive: Callable, send: Send) -> None:
        if scope["type"] == "websocket":  # exec and port-forward
            return await streaming.serve(self, scope, receive, send, SUBRESOURCES)
        if scope["type"] != "http":  # served with lifespan="off"
            return
        started = False

        async def tracked_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            request = await self._read(scope, receive)
            if time.monotonic() < self.down_until and not request.path.startswith("/sandbox/"):
                raise ApiError(503, "ServiceUnavailable", "the API server is restarting")
            await self._dispatch(request, receive, tracked_send)
        except Exception as exc:
            if not isinstance(exc, ApiError):
                logger.exception("sandbox API server failed on %s %s", scope.get("method"), scope.get("path"))
                exc = ApiError(500, "InternalError", f"internal error: {exc}")
            if started:  # a watch stream is under way: end it; the client will resume
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await send_json(send, exc.code, exc.body)

    async def _read(self, scope: dict, receive: Callable) -> Request:
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > MAX_BODY_BYTES:
                raise ApiError(
                    413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY_BYTES}"
                )
        query = parse_query(scope.get("query_string", b""))
        headers = {key.lower(): value for key, value in scope["headers"]}
        return Request(scope["method"], scope["path"], query, headers, b"".join(chunks), receive)

    # --- routing -----------------------------------------------------------------------------

    async def _dispatch(self, request: Request, receive: Callable, send: Send) -> None:
        if request.path.startswith("/sandbox/faults/"):
            _only(request, "POST")
            answer = faults.switch(self, request.path.removeprefix("/sandbox/faults/"), request)
            return await send_json(send, 200, answer)
        if request.path.startswith("/openapi/"):  # the schemas kubectl apply, diff and explain read
            _only(request, "GET")
            return await openapi.serve(request, send, frozenset(SUBRESOURCES))
        route = routing.parse(request.path)
        if route.kind != "objects":
            _only(request, "GET")
            return await self._discovery(route, send, request)
        resource, namespace, name = route.resource, route.namespace, route.name
        if name is None:
            writable = namespace is not None or not resource.namespaced
            if request.method in COLLECTION_WRITES and writable and not route.watch:  # a watch path: 405
                return await COLLECTION_WRITES[request.method](self, request, send, resource, namespace)
            _only(request, "GET")
            if route.watch or request.query.get("watch") in ("true", "1"):
                accepts = reading.selection(request, namespace)
                extra = reading.warnings(resource)
                return await self.watches.serve(request, receive, send, resource, accepts, extra)
            return await reading.list_objects(request, send, self.store, resource, namespace)
        if (namespace is None) == resource.namespaced or route.watch:
            raise routing.not_found()
        namespace = namespace or ""  # cluster-scoped kinds are stored under ""
        if route.subresource is not None:
            handler = SUBRESOURCES.get((resource.plural, route.subresource))
            if handler is None:
                raise routing.not_found()
            return await handler(self, request, send, namespace, name)
        if request.method == "GET" and "get" in resource.verbs:
            return await reading.get(request, send, self.store, resource, namespace, name)
        if request.method in OBJECT_WRITES:  # sandbox.creating/updating/deleting
            return await OBJECT_WRITES[request.method](self, request, send, resource, namespace, name)
        raise not_allowed(request.method)

    async def _discovery(self, route: Route, send: Send, request: Request) -> None:
        if route.kind == "namespace":
            return await reading.namespace(send, route.namespace)
        if route.path == "/version":
            return await send_json(send, 200, discovery.version())
        if route.kind == "fixed":  # /api, /apis: aggregated when the client asks (sandbox.discovery)
            accept = request.headers.get(b"accept", b"")
            body, content_type = discovery.document(
                route.path, accept, self.server_address, frozenset(SUBRESOURCES)
            )
            return await send_json(send, 200, body, content_type)
        if route.kind == "group":
            found = discovery.api_group(route.group)
        else:
            found = discovery.api_resource_list(route.group, route.version, frozenset(SUBRESOURCES))
        if found is None:
            raise routing.not_found()
        await send_json(send, 200, found)


def _only(request: Request, *methods: str) -> None:
    if request.method not in methods:
        raise not_allowed(request.method)
