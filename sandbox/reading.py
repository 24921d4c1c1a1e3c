"""Reads: get one object, list many (JSON or the Table kubectl asks for), with selectors."""

from __future__ import annotations

import base64
import json
import posixpath
import re
from collections.abc import Callable

from sandbox import generic_tables, objects, routing
from sandbox.field_errors import FieldErrors, invalid
from sandbox.resources import Resource
from sandbox.selectors import SelectorError, fields_of, parse_field_selector, parse_label_selector
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
    """The request's namespace, ``labelSelector`` and ``fieldSelector`` as one predicate; the
    field selector knows the fields of the kind the request's path names (sandbox.selectors)."""
    kind = _kind(request.path)
    try:
        labels = parse_label_selector(request.query.get("labelSelector"))
        fields = parse_field_selector(request.query.get("fieldSelector"), kind)
    except SelectorError as exc:
        raise ApiError(400, "BadRequest", str(exc)) from None

    def accepts(obj: dict) -> bool:
        metadata = obj["metadata"]
        if namespace is not None and metadata.get("namespace") != namespace:
            return False
        return labels(metadata.get("labels") or {}) and fields(fields_of(kind, obj))

    return accepts


def _kind(path: str) -> str:
    try:
        resource = routing.parse(path).resource
    except ApiError:
        return ""
    return resource.kind if resource is not None else ""


def warnings(resource: Resource) -> list[tuple[bytes, bytes]]:
    """The ``Warning`` headers the API server adds for a deprecated kind: none for the kinds and
    the version served (v1 Endpoints' deprecation warning came with v1.33)."""
    return []


async def get(
    request: Request, send: Send, store: Store, resource: Resource, namespace: str, name: str
) -> None:
    found = get_or_404(store, resource, namespace, name)
    if request.wants_table:
        table = generic_tables.table(
            resource,
            [found],
            resource_version=found["metadata"]["resourceVersion"],
            include=request.query.get("includeObject", "Metadata"),
        )
        return await send_json(send, 200, table, TABLE_TYPE)
    await send_json(send, 200, found)


LIST_OPTIONS = Resource("meta.k8s.io", "v1", "listoptions", "ListOptions", "listoptions", ())
CONTINUE_VERSION = "meta.k8s.io/v1"


def check_list_options(request: Request) -> None:
    """ValidateListOptions (apimachinery's internalversion validation): 422 for a
    ``resourceVersionMatch`` that cannot be honoured."""
    query = request.query
    match = query.get("resourceVersionMatch", "")
    if not match:
        return
    errors = FieldErrors()
    if not query.get("resourceVersion"):
        errors.forbidden(
            "resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided"
        )
    if query.get("continue"):
        errors.forbidden(
            "resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"
        )
    if match not in ("Exact", "NotOlderThan"):
        errors.not_supported("resourceVersionMatch", match, ("Exact", "NotOlderThan", ""))
    if match == "Exact" and query.get("resourceVersion") == "0":
        errors.forbidden(
            "resourceVersionMatch", 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'
        )
    if errors:
        raise invalid(LIST_OPTIONS, "", errors)


def encode_continue(version: int, key: str) -> str:
    """The etcd3 store's continue token: base64url (unpadded) of ``{"v","rv","start"}``, where
    ``start`` is the key after the last item returned."""
    token = json.dumps({"v": CONTINUE_VERSION, "rv": version, "start": key + "\x00"}, separators=(",", ":"))
    return base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


def _invalid_continue(problem: str) -> ApiError:
    return ApiError(400, "BadRequest", f"invalid continue token: continue key is not valid{problem}")


def decode_continue(token: str) -> tuple[str, int]:
    """(start key, resourceVersion) of a continue token, or 400 worded as storage.DecodeContinue."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for index, char in enumerate(token):
        if char not in alphabet:
            raise _invalid_continue(f": illegal base64 data at input byte {index}")
    if len(token) % 4 == 1:
        raise _invalid_continue(f": illegal base64 data at input byte {len(token) - 1}")
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        raise _invalid_continue(": invalid character looking for beginning of value") from None
    if not isinstance(decoded, dict):
        raise _invalid_continue(": json: cannot unmarshal into Go value of type storage.continueToken")
    if decoded.get("v") != CONTINUE_VERSION:
        raise _invalid_continue(f": server does not recognize this encoded version {decoded.get('v', '')}")
    version, start = decoded.get("rv"), decoded.get("start")
    if not isinstance(version, int) or isinstance(version, bool) or version <= 0:
        raise _invalid_continue(": incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    if not isinstance(start, str) or not start:
        raise _invalid_continue(": encoded start key empty")
    key = start if start.startswith("/") else "/" + start
    if re.sub("/+", "/", posixpath.normpath(key)) != key:  # no climbing out of the list's prefix
        raise _invalid_continue(f": {start}")
    return start, version


def _key(obj: dict, namespace: str | None) -> str:
    """An object's key under the list's prefix, as etcd orders them."""
    metadata = obj["metadata"]
    if namespace is not None or not metadata.get("namespace"):
        return metadata["name"]
    return f"{metadata['namespace']}/{metadata['name']}"


def page(
    request: Request, store: Store, resource: Resource, namespace: str | None, accepts: Callable[[dict], bool]
) -> tuple[list[dict], dict]:
    """The items of one list request and its list metadata: everything, or with ``limit`` a
    page of it, ``continue`` (and, when nothing filters, ``remainingItemCount``) when more keys
    follow. ``resourceVersion=0`` is served whole, as the watch cache serves it (limit ignored).
    The sandbox keeps no old versions: a continued list shows the objects as they are now."""
    version = store.resource_version
    token = request.query.get("continue")
    start = ""
    if token:
        start, version = decode_continue(token)
        if request.query.get("resourceVersion") not in (None, "", "0"):
            raise ApiError(
                400, "BadRequest", "specifying resource version is not allowed when using continue"
            )
    limit = request.integer("limit") or 0
    if request.query.get("resourceVersion") == "0" and not token:
        limit = 0
    in_scope = store.list(
        resource, lambda obj: namespace is None or obj["metadata"].get("namespace") == namespace
    )
    in_scope.sort(key=lambda obj: _key(obj, namespace))
    if start:
        in_scope = [obj for obj in in_scope if _key(obj, namespace) >= start]
    items, metadata = [], {"resourceVersion": str(version)}
    for index, obj in enumerate(in_scope):
        if limit > 0 and len(items) == limit:
            metadata["continue"] = encode_continue(version, _key(items[-1], namespace))
            filtered = request.query.get("labelSelector") or request.query.get("fieldSelector")
            if not filtered:
                metadata["remainingItemCount"] = len(in_scope) - index
            break
        if accepts(obj):
            items.append(obj)
    return items, metadata


async def list_objects(
    request: Request, send: Send, store: Store, resource: Resource, namespace: str | None
) -> None:
    check_list_options(request)
    items, metadata = page(request, store, resource, namespace, selection(request, namespace))
    extra = warnings(resource)
    if request.wants_table:
        body = generic_tables.table(
            resource,
            items,
            resource_version=metadata["resourceVersion"],
            include=request.query.get("includeObject", "Metadata"),
        )
        body["metadata"] = metadata
        return await send_json(send, 200, body, TABLE_TYPE, extra)
    for item in items:  # a list's items carry no kind and apiVersion: the list says them
        item.pop("kind", None)
        item.pop("apiVersion", None)
    body = {
        "kind": f"{resource.kind}List",
        "apiVersion": resource.api_version,
        "metadata": metadata,
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
