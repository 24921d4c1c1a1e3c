"""Reads: get one object, list many (JSON or the Table kubectl asks for), with selectors."""

from __future__ import annotations

from collections.abc import Callable

from sandbox import objects, resources, tables
from sandbox.resources import Resource
from sandbox.selectors import SelectorError, parse_field_selector, parse_label_selector
from sandbox.store import Store
from sandbox.wire import JSON, TABLE_TYPE, ApiError, Request, Send, send_json


def get_or_404(store: Store, resource: Resource, namespace: str, name: str) -> dict:
    found = store.get(resource, namespace, name)
    if found is None:
        group = resource.group
        qualified = f"{resource.plural}.{group}" if group else resource.plural
        raise ApiError(
            404, "NotFound", f'{qualified} "{name}" not found', name=name, kind=resource.plural, group=group
        )
    return found


def selection(request: Request, namespace: str | None) -> Callable[[dict], bool]:
    """The request's namespace, ``labelSelector`` and ``fieldSelector`` as one predicate."""
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


def warnings(resource: Resource) -> list[tuple[bytes, bytes]]:
    """The ``Warning`` headers the API server adds for a deprecated kind."""
    if resource is resources.ENDPOINTS:
        return [
            (
                b"warning",
                b'299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"',
            )
        ]
    return []


async def get(
    request: Request, send: Send, store: Store, resource: Resource, namespace: str, name: str
) -> None:
    found = get_or_404(store, resource, namespace, name)
    if request.wants_table:
        table = tables.table(
            resource,
            [found],
            resource_version=found["metadata"]["resourceVersion"],
            include=request.query.get("includeObject", "Metadata"),
        )
        return await send_json(send, 200, table, TABLE_TYPE)
    await send_json(send, 200, found)


async def list_objects(
    request: Request, send: Send, store: Store, resource: Resource, namespace: str | None
) -> None:
    items = store.list(resource, selection(request, namespace))
    version = str(store.resource_version)
    extra = warnings(resource)
    if request.wants_table:
        body = tables.table(
            resource, items, resource_version=version, include=request.query.get("includeObject", "Metadata")
        )
        return await send_json(send, 200, body, TABLE_TYPE, extra)
    body = {
        "kind": f"{resource.kind}List",
        "apiVersion": resource.api_version,
        "metadata": {"resourceVersion": version},
        "items": items,
    }
    await send_json(send, 200, body, JSON, extra)


async def namespace(send: Send, name: str) -> None:
    if name != objects.NAMESPACE:
        raise ApiError(404, "NotFound", f'namespaces "{name}" not found', name=name, kind="namespaces")
    await send_json(
        send,
        200,
        {
            "kind": "Namespace",
            "apiVersion": "v1",
            "metadata": {
                "name": name,
                "uid": "00000000-0000-0000-0000-000000000001",
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "resourceVersion": "1",
                "labels": {"kubernetes.io/metadata.name": name},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        },
    )
