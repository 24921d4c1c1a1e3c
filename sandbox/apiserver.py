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
from collections.abc import Callable
from typing import Protocol

from sandbox import discovery, objects, resources, scaling, tables
from sandbox.resources import Resource
from sandbox.selectors import SelectorError, parse_field_selector, parse_label_selector
from sandbox.store import Store
from sandbox.watching import WatchStreams
from sandbox.wire import (
    JSON,
    MAX_BODY_BYTES,
    TABLE_TYPE,
    ApiError,
    Request,
    Send,
    is_int64,
    not_allowed,
    parse_query,
    send_json,
)

logger = logging.getLogger(__name__)


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
        path = request.path.rstrip("/") or "/"
        fixed = {
            "/version": lambda: discovery.version(),
            "/api": lambda: discovery.api_versions(self.server_address),
            "/apis": discovery.api_group_list,
        }
        if path in fixed:
            self._only(request, "GET")
            return await send_json(send, 200, fixed[path]())
        if path.startswith("/sandbox/faults/"):
            self._only(request, "POST")
            return await send_json(send, 200, self._fault(path.removeprefix("/sandbox/faults/"), request))
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        elif parts[0] == "apis" and len(parts) == 2:
            self._only(request, "GET")
            found = discovery.api_group(parts[1])
            if found is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return await send_json(send, 200, found)
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            self._only(request, "GET")
            listing = discovery.api_resource_list(group, version)
            if listing is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return await send_json(send, 200, listing)
        watch_path = rest[0] == "watch"
        if watch_path:
            rest = rest[1:]
        namespace = None
        if len(rest) >= 2 and rest[0] == "namespaces":
            namespace = rest[1]
            rest = rest[2:]
            if not rest:
                return await self._namespace(request, send, namespace)
        if not rest:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        resource = resources.find(group, version, rest[0])
        if resource is None or len(rest) > 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) >= 2 else None
        subresource = rest[2] if len(rest) == 3 else None
        if name is None:
            self._only(request, "GET")
            if watch_path or request.query.get("watch") in ("true", "1"):
                return await self.watches.serve(
                    request,
                    receive,
                    send,
                    resource,
                    self._filter(request, namespace),
                    self._warnings(resource),
                )
            return await self._list(request, send, resource, namespace)
        if namespace is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if subresource == "scale" and resource is resources.DEPLOYMENTS:
            return await self._scale(request, send, namespace, name)
        if subresource is not None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if request.method == "GET" and "get" in resource.verbs:
            found = self._get(resource, namespace, name)
            if request.wants_table:
                table = tables.table(
                    resource,
                    [found],
                    resource_version=found["metadata"]["resourceVersion"],
                    include=request.query.get("includeObject", "Metadata"),
                )
                return await send_json(send, 200, table, TABLE_TYPE)
            return await send_json(send, 200, found)
        if request.method == "DELETE" and "delete" in resource.verbs:
            return await self._delete_pod(request, send, namespace, name)
        raise not_allowed(request.method)

    @staticmethod
    def _only(request: Request, *methods: str) -> None:
        if request.method not in methods:
            raise not_allowed(request.method)

    def _get(self, resource: Resource, namespace: str, name: str) -> dict:
        found = self.store.get(resource, namespace, name)
        if found is None:
            group = resource.group
            qualified = f"{resource.plural}.{group}" if group else resource.plural
            raise ApiError(
                404,
                "NotFound",
                f'{qualified} "{name}" not found',
                name=name,
                kind=resource.plural,
                group=group,
            )
        return found

    async def _namespace(self, request: Request, send: Send, namespace: str) -> None:
        self._only(request, "GET")
        if namespace != objects.NAMESPACE:
            raise ApiError(
                404, "NotFound", f'namespaces "{namespace}" not found', name=namespace, kind="namespaces"
            )
        await send_json(
            send,
            200,
            {
                "kind": "Namespace",
                "apiVersion": "v1",
                "metadata": {
                    "name": namespace,
                    "uid": "00000000-0000-0000-0000-000000000001",
                    "creationTimestamp": "2026-01-01T00:00:00Z",
                    "resourceVersion": "1",
                    "labels": {"kubernetes.io/metadata.name": namespace},
                },
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            },
        )

    # --- reads -------------------------------------------------------------------------------

    def _filter(self, request: Request, namespace: str | None) -> Callable[[dict], bool]:
        try:
            labels = parse_label_selector(request.query.get("labelSelector"))
            fields = parse_field_selector(request.query.get("fieldSelector"))
        except SelectorError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from None

        def accepts(obj: dict) -> bool:
            metadata = obj["metadata"]
            if namespace is not None and metadata.get("namespace") != namespace:
                return False
            facts = {"metadata.name": metadata["name"], "metadata.namespace": metadata.get("namespace", "")}
            return labels(metadata.get("labels") or {}) and fields(facts)

        return accepts

    async def _list(self, request: Request, send: Send, resource: Resource, namespace: str | None) -> None:
        items = self.store.list(resource, self._filter(request, namespace))
        version = str(self.store.resource_version)
        extra = self._warnings(resource)
        if request.wants_table:
            body = tables.table(
                resource,
                items,
                resource_version=version,
                include=request.query.get("includeObject", "Metadata"),
            )
            return await send_json(send, 200, body, TABLE_TYPE, extra)
        body = {
            "kind": f"{resource.kind}List",
            "apiVersion": resource.api_version,
            "metadata": {"resourceVersion": version},
            "items": items,
        }
        await send_json(send, 200, body, JSON, extra)

    @staticmethod
    def _warnings(resource: Resource) -> list[tuple[bytes, bytes]]:
        if resource is resources.ENDPOINTS:
            return [
                (
                    b"warning",
                    b'299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"',
                )
            ]
        return []

    # --- watches -----------------------------------------------------------------------------

    # --- writes ------------------------------------------------------------------------------

    async def _delete_pod(self, request: Request, send: Send, namespace: str, name: str) -> None:
        options = request.json_body() if request.body else {}  # before the lookup, as the API server
        self._get(resources.PODS, namespace, name)
        grace = request.integer("gracePeriodSeconds")
        if grace is None:
            grace = options.get("gracePeriodSeconds")
            if grace is not None and not is_int64(grace):
                raise ApiError(400, "BadRequest", "gracePeriodSeconds must be a 64-bit integer")
        if grace is not None and grace < 0:
            raise ApiError(422, "Invalid", "gracePeriodSeconds: Invalid value: must be >= 0")
        preconditions = options.get("preconditions") or {}
        if not isinstance(preconditions, dict):
            raise ApiError(400, "BadRequest", "preconditions must be an object")
        uid = preconditions.get("uid")
        if uid and uid != self._get(resources.PODS, namespace, name)["metadata"]["uid"]:
            raise ApiError(
                409, "Conflict", f"Precondition failed: UID in precondition: {uid}", name=name, kind="pods"
            )
        deleted = self.controls.delete_pod(name, grace)
        if deleted is None:
            raise ApiError(404, "NotFound", f'pods "{name}" not found', name=name, kind="pods")
        await send_json(send, 200, deleted)

    async def _scale(self, request: Request, send: Send, namespace: str, name: str) -> None:
        deployment = self._get(resources.DEPLOYMENTS, namespace, name)
        if request.method == "GET":
            return await send_json(send, 200, objects.scale_object(deployment))
        current = objects.scale_object(deployment)
        if request.method == "PUT":
            wanted = scaling.objects_only(request.json_body(), "metadata", "spec")
            expected = (wanted.get("metadata") or {}).get("resourceVersion")
            if expected and expected != current["metadata"]["resourceVersion"]:
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on deployments.apps "{name}": the '
                    "object has been modified; please apply your changes to the latest version and try "
                    "again",
                    name=name,
                    kind="deployments",
                    group="apps",
                )
        elif request.method == "PATCH":
            wanted = scaling.patched(current, request)
        else:
            raise not_allowed(request.method)
        replicas = (wanted.get("spec") or {}).get("replicas", current["spec"]["replicas"])
        replicas = scaling.check_replicas(name, replicas, limit=self.controls.max_replicas)
        updated = self.controls.scale(name, replicas)
        await send_json(send, 200, objects.scale_object(updated))

    # --- faults ------------------------------------------------------------------------------

    def _fault(self, action: str, request: Request) -> dict:
        if action == "drop-watches":
            self.watches.faults.generation += 1
        elif action == "silence-watches":
            self.watches.faults.silenced = request.query.get("on", "true") == "true"
        elif action == "compact":
            self.store.compact()
        elif action == "fail-readiness":
            runner = self.controls.runner(request.query.get("pod", ""))
            if runner is None:
                raise ApiError(404, "NotFound", f"no pod {request.query.get('pod')!r}")
            runner.fail_readiness(request.query.get("on", "true") == "true")
        elif action == "restart":
            # As an API server restart looks to clients: every stream ends, requests fail with 503
            # for a while, and the new watch cache has no history (old resourceVersions are Gone).
            try:
                seconds = float(request.query.get("seconds", "1"))
            except ValueError:
                seconds = -1.0
            if not 0 <= seconds <= 3600:  # also NaN and inf, which float() takes
                raise ApiError(400, "BadRequest", "seconds must be a number from 0 to 3600")
            self.down_until = time.monotonic() + seconds
            self.watches.faults.generation += 1
            self.store.compact()
        elif action == "watch-status":
            code, count = request.integer("code"), request.integer("count")
            code, count = 410 if code is None else code, 1 if count is None else count
            if not (400 <= code <= 599 and 1 <= count <= 100):
                raise ApiError(400, "BadRequest", "code must be from 400 to 599, count from 1 to 100")
            self.watches.faults.watch_errors.extend([code] * count)
        else:
            raise ApiError(404, "NotFound", f"no such fault: {action}")
        return {
            "fault": action,
            "openWatches": self.watches.open,
            "resourceVersion": self.store.resource_version,
        }
