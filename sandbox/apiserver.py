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

from sandbox import discovery, faults, reading, resources, routing, writing
from sandbox.routing import Route
from sandbox.store import Store
from sandbox.watching import WatchStreams
from sandbox.wire import MAX_BODY_BYTES, ApiError, Request, Send, not_allowed, parse_query, send_json

logger = logging.getLogger(__name__)

# A subresource's handler: (server, request, send, namespace, name). Modules register theirs here.
Subresource = Callable[["ApiServer", Request, Send, str, str], Awaitable[None]]
SUBRESOURCES: dict[tuple[str, str], Subresource] = {("deployments", "scale"): writing.scale}


class Controls(Protocol):
    """What the API server asks of the controller: the two writes users make."""

    def delete_pod(self, name: str, grace_seconds: int | None) -> dict | None: ...

    def scale(self, deployment: str, replicas: int) -> dict: ...

    def runner(self, name: str): ...

    max_replicas: int


class ApiServer:
    def __init__(
        self, store: Store, controls: Controls, *, server_address: str, bookmark_seconds: float = 10.0
    ) -> None:
        self.store = store
        self.controls = controls
        self.server_address = server_address
        self.watches = WatchStreams(store, bookmark_seconds=bookmark_seconds)
        self.down_until = 0.0

    # --- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: dict, receive: Callable, send: Send) -> None:
        if scope["type"] != "http":  # served with lifespan="off"; no websockets
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
        return Request(scope["method"], scope["path"], query, headers, b"".join(chunks))

    # --- routing -----------------------------------------------------------------------------

    async def _dispatch(self, request: Request, receive: Callable, send: Send) -> None:
        if request.path.startswith("/sandbox/faults/"):
            _only(request, "POST")
            answer = faults.switch(self, request.path.removeprefix("/sandbox/faults/"), request)
            return await send_json(send, 200, answer)
        route = routing.parse(request.path)
        if route.kind != "objects":
            _only(request, "GET")
            return await self._discovery(route, send)
        resource, namespace, name = route.resource, route.namespace, route.name
        if name is None:
            _only(request, "GET")
            if route.watch or request.query.get("watch") in ("true", "1"):
                accepts = reading.selection(request, namespace)
                extra = reading.warnings(resource)
                return await self.watches.serve(request, receive, send, resource, accepts, extra)
            return await reading.list_objects(request, send, self.store, resource, namespace)
        if namespace is None or route.watch:
            raise routing.not_found()
        if route.subresource is not None:
            handler = SUBRESOURCES.get((resource.plural, route.subresource))
            if handler is None:
                raise routing.not_found()
            return await handler(self, request, send, namespace, name)
        if request.method == "GET" and "get" in resource.verbs:
            return await reading.get(request, send, self.store, resource, namespace, name)
        if request.method == "DELETE" and resource is resources.PODS:
            return await writing.delete_pod(self, request, send, namespace, name)
        raise not_allowed(request.method)

    async def _discovery(self, route: Route, send: Send) -> None:
        if route.kind == "namespace":
            return await reading.namespace(send, route.namespace)
        if route.kind == "fixed":
            fixed = {
                "/version": discovery.version,
                "/api": lambda: discovery.api_versions(self.server_address),
                "/apis": discovery.api_group_list,
            }
            return await send_json(send, 200, fixed[route.path]())
        if route.kind == "group":
            found = discovery.api_group(route.group)
        else:
            found = discovery.api_resource_list(route.group, route.version)
        if found is None:
            raise routing.not_found()
        await send_json(send, 200, found)


def _only(request: Request, *methods: str) -> None:
    if request.method not in methods:
        raise not_allowed(request.method)
