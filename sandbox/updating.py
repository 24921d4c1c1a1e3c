"""Updating objects: ``PUT`` (replace) and ``PATCH`` in its four media types.

As the API server's update and patch handlers do (``handlers/update.go``, ``handlers/patch.go``,
``rest/update.go``): the new object keeps the stored one's ``uid``, ``creationTimestamp`` and
deletion fields, and its ``status`` (a main-resource write does not change status); a
``metadata.resourceVersion`` that is not the stored one is ``409 Conflict`` (optimistic
concurrency), a different ``uid`` too; a name or namespace other than the URL's is 400. Then
defaulting, validation (with the old object), ``managedFields``, a Service's addresses (kept from
the old object, see ``sandbox.services``), and the store, which keeps the resourceVersion when
nothing changed. ``dryRun=All`` does all but store.

``PATCH`` bodies: ``application/json-patch+json`` (RFC 6902; a failed operation is 422),
``application/merge-patch+json`` (RFC 7386), ``application/strategic-merge-patch+json`` and
``application/apply-patch+yaml`` (server-side apply: ``fieldManager`` required, ``force``,
creates a missing object, conflicts 409). Any other type is 415.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from sandbox import applying, creating, defaulting, merge_schema, patching, validation
from sandbox.creating import conflict, decode, dry_run, field_manager, not_found
from sandbox.fieldsets import FieldError, same
from sandbox.resources import Resource
from sandbox.store import now_rfc3339
from sandbox.wire import ApiError, Request, Send, send_json

if TYPE_CHECKING:
    from sandbox.apiserver import ApiServer

JSON_PATCH = b"application/json-patch+json"
MERGE_PATCH = b"application/merge-patch+json"
STRATEGIC = b"application/strategic-merge-patch+json"
APPLY = b"application/apply-patch+yaml"
_KEPT = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


def _patch_options_invalid(field: str, reason: str, detail: str) -> ApiError:
    error = ApiError(
        422,
        "Invalid",
        f'PatchOptions.meta.k8s.io "" is invalid: {field}: {detail}',
        kind="PatchOptions",
        group="meta.k8s.io",
    )
    error.body["details"]["causes"] = [{"reason": reason, "message": detail, "field": field}]
    return error


def _check_name(obj: dict, resource: Resource, namespace: str, name: str) -> None:
    metadata = obj.setdefault("metadata", {})
    if metadata.get("name") != name:
        given = metadata.get("name") or ""
        raise ApiError(
            400, "BadRequest", f"the name of the object ({given}) does not match the name on the URL ({name})"
        )
    if resource.namespaced and metadata.get("namespace") not in (None, "", namespace):
        raise ApiError(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
        )


def updated_object(resource: Resource, current: dict, new: dict, manager: str, *, track: bool = True) -> dict:
    """``new`` as the store would keep it over ``current`` (preconditions checked, 409)."""
    name = current["metadata"]["name"]
    metadata = new.setdefault("metadata", {})
    wanted = metadata.get("resourceVersion")
    if wanted and wanted != current["metadata"]["resourceVersion"]:
        raise conflict(resource, name, creating.MODIFIED)
    uid = metadata.get("uid")
    if uid and uid != current["metadata"]["uid"]:
        raise conflict(
            resource,
            name,
            f"StorageError: invalid object, Code: 4, Key: /registry/{resource.plural}/"
            f"{current['metadata'].get('namespace', '')}/{name}, ResourceVersion: 0, AdditionalErrorMsg: "
            f"Precondition failed: UID in precondition: {uid}, "
            f"UID in object meta: {current['metadata']['uid']}",
        )
    for kept in _KEPT:
        if kept in current["metadata"]:
            metadata[kept] = current["metadata"][kept]
        else:
            metadata.pop(kept, None)
    if resource.namespaced:
        metadata["namespace"] = current["metadata"]["namespace"]
    metadata["resourceVersion"] = current["metadata"]["resourceVersion"]
    if resource in applying.WITH_STATUS:
        if "status" in current:
            new["status"] = copy.deepcopy(current["status"])
        else:
            new.pop("status", None)
    defaulting.apply_defaults(resource, new)
    validation.check(resource, new, current)
    if track:
        new = applying.track_update(resource, current, new, manager, now_rfc3339())
    return new


async def _save(
    server: ApiServer, request: Request, send: Send, resource: Resource, current, new, warnings=()
) -> None:
    """Store ``new`` over ``current`` (or as a new object), unless it is the same or a dry run;
    ``warnings`` (unknown fields, see ``validation.check_fields``) go out as ``Warning`` headers."""
    dry = dry_run(request)
    extra = validation.warning_headers(list(warnings))
    if current is None:
        return await send_json(
            send, 201, creating.store_new(server.store, resource, new, dry=dry), extra=extra
        )
    if same(new, current) or dry:
        return await send_json(send, 200, new, extra=extra)
    stored = server.store.update(resource, new, expected_version=current["metadata"]["resourceVersion"])
    metadata = stored["metadata"]
    if metadata.get("deletionTimestamp") and not metadata.get("finalizers"):
        # the last finalizer is gone: the object goes (registry/generic/registry/store.go)
        server.store.delete(resource, metadata.get("namespace", ""), metadata["name"])
    await send_json(send, 200, stored, extra=extra)


async def replace(
    server: ApiServer, request: Request, send: Send, resource: Resource, namespace: str, name: str
) -> None:
    new = decode(request)
    warnings = validation.check_fields(
        resource, new, request.query.get("fieldValidation"), raw=request.body, operation="update"
    )
    creating.check_type(resource, new)
    _check_name(new, resource, namespace, name)
    current = server.store.get(resource, namespace, name)
    if current is None:
        raise not_found(resource, name)
    new = updated_object(resource, current, new, field_manager(request))
    creating.allocate(server, resource, new, current)
    await _save(server, request, send, resource, current, new, warnings)


def _patched(resource: Resource, current: dict, request: Request, kind: bytes) -> dict:
    if kind == JSON_PATCH:
        operations = request.json_value()
        if not isinstance(operations, list):
            raise ApiError(
                400,
                "BadRequest",
                f"error decoding patch: json: cannot unmarshal {type(operations).__name__} "
                "into Go value of type []handlers.jsonPatchOp",
            )
        try:
            result = patching.json_patch(current, operations)
        except patching.PatchError:
            raise ApiError(
                422, "Invalid", "the server rejected our request due to an error in our request"
            ) from None
    elif kind == MERGE_PATCH:
        result = patching.merge_patch(current, request.json_body())
    else:
        try:
            result = patching.strategic_merge_patch(current, request.json_body(), merge_schema.root(resource))
        except patching.PatchError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from None
    if not isinstance(result, dict):
        raise ApiError(400, "BadRequest", "the patched object is not an object")
    return result


async def patch(
    server: ApiServer, request: Request, send: Send, resource: Resource, namespace: str, name: str
) -> None:
    kind = request.headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    if kind not in (JSON_PATCH, MERGE_PATCH, STRATEGIC, APPLY):
        error = ApiError(415, "UnsupportedMediaType", "415: Unsupported Media Type")
        error.body["details"] = {}
        raise error
    if kind != APPLY and request.query.get("force"):
        raise _patch_options_invalid(
            "force", "FieldValueForbidden", "Forbidden: may not be specified for non-apply patch"
        )
    if kind == APPLY:
        return await _apply(server, request, send, resource, namespace, name)
    current = server.store.get(resource, namespace, name)
    if current is None:
        raise not_found(resource, name)
    result = _patched(resource, current, request, kind)
    warnings = validation.check_fields(
        resource, result, request.query.get("fieldValidation"), operation="patch"
    )
    creating.check_type(resource, result)
    _check_name(result, resource, namespace, name)
    new = updated_object(resource, current, result, field_manager(request))
    creating.allocate(server, resource, new, current)
    await _save(server, request, send, resource, current, new, warnings)


async def _apply(
    server: ApiServer, request: Request, send: Send, resource: Resource, namespace: str, name: str
) -> None:
    manager = request.query.get("fieldManager")
    if not manager:
        raise _patch_options_invalid(
            "fieldManager", "FieldValueRequired", "Required value: is required for apply patch"
        )
    force = request.query.get("force") in ("true", "1")
    config = decode(request)
    if config.get("metadata", {}).get("managedFields") is not None:
        raise ApiError(400, "BadRequest", "metadata.managedFields must be nil")
    for field in ("apiVersion", "kind"):
        if not config.get(field):
            raise ApiError(400, "BadRequest", f"{field} must be set in an apply configuration")
    config = copy.deepcopy(config)
    probe = copy.deepcopy(config)
    creating.check_type(resource, probe)
    current = server.store.get(resource, namespace, name)
    try:
        result = applying.apply(resource, current, config, manager, force=force, now=now_rfc3339())
    except applying.Conflicts as conflicts:
        raise conflicts.error() from None
    except FieldError as exc:
        group = f"{resource.group}/" if resource.group else "/"
        raise ApiError(
            400,
            "BadRequest",
            f"failed to create typed patch object ({group}{resource.version}, Kind={resource.kind}): {exc}",
        ) from None
    result.setdefault("metadata", {}).setdefault("name", name)
    _check_name(result, resource, namespace, name)
    if current is None:
        managed = result["metadata"].pop("managedFields", None)
        result = creating.new_object(server.store, request, resource, namespace, result)
        if managed:
            result["metadata"]["managedFields"] = managed
        else:
            result["metadata"].pop("managedFields", None)
        creating.allocate(server, resource, result)
        return await _save(server, request, send, resource, None, result)
    new = updated_object(resource, current, result, manager, track=False)
    creating.allocate(server, resource, new, current)
    await _save(server, request, send, resource, current, new)
