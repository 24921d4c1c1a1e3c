"""Deleting objects: ``DELETE`` on an object and on a collection (``deletecollection``).

As the API server's delete handler and generic registry (``handlers/delete.go``,
``registry/generic/registry/store.go``): ``DeleteOptions`` come in the body, or in the query when
there is no body (``gracePeriodSeconds``, ``propagationPolicy``, ``preconditions`` on ``uid`` and
``resourceVersion``: 409 when they do not hold, ``dryRun: [All]``). Pods, Services and Namespaces
answer with the object, the other kinds with a ``Success`` Status; a collection answers with the
list of what it deleted. An object with ``finalizers`` is only marked (``deletionTimestamp``) and
goes when they are removed.

The sandbox's pods are processes: deleting one of the controller's pods goes through
``Controls.delete_pod`` (the controller drains and stops it). A namespace is emptied and removed
at once (a cluster's namespace controller does it in the background; ``default``,
``kube-system`` and ``kube-public`` may not be deleted: 403).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox import reading, resources
from sandbox.creating import dry_run, not_found
from sandbox.field_errors import go_quote, go_strings
from sandbox.resources import Resource
from sandbox.store import now_rfc3339
from sandbox.wire import JSON, ApiError, Request, Send, is_int64, send_json

if TYPE_CHECKING:
    from sandbox.apiserver import ApiServer

RETURNS_OBJECT = (resources.PODS, resources.SERVICES, resources.NAMESPACES)
UNDELETABLE = ("default", "kube-system", "kube-public")
POLICIES = ("Orphan", "Background", "Foreground")


@dataclass
class DeleteOptions:
    grace: int | None
    preconditions: dict
    dry: bool


def _options_invalid(field: str, shown: str, supported: str) -> ApiError:
    detail = f"Unsupported value: {shown}: supported values: {supported}"
    error = ApiError(
        422,
        "Invalid",
        f'DeleteOptions.meta.k8s.io "" is invalid: {field}: {detail}',
        kind="DeleteOptions",
        group="meta.k8s.io",
    )
    cause = {"reason": "FieldValueNotSupported", "message": detail, "field": field}
    error.body["details"]["causes"] = [cause]
    return error


def delete_options(request: Request) -> DeleteOptions:
    """The request's ``DeleteOptions``, as the delete handler reads them: from the body when there
    is one (the query's options are then not read at all), else from the query; checked before
    the object is looked up. A negative grace period is one second (``rest.BeforeDelete``)."""
    if request.body:
        options = request.json_body()
        grace = options.get("gracePeriodSeconds")
        if grace is not None and not is_int64(grace):
            raise ApiError(400, "BadRequest", "gracePeriodSeconds must be a 64-bit integer")
        policy = options.get("propagationPolicy")
        dry = options.get("dryRun") or []
        if not isinstance(dry, list) or any(value != "All" for value in dry):
            raise _options_invalid("dryRun", str(go_strings(dry)), '"All"')
        dry = bool(dry)
    else:
        options, grace = {}, request.integer("gracePeriodSeconds")
        policy, dry = request.query.get("propagationPolicy") or None, dry_run(request)
    if policy is not None and policy not in POLICIES:
        raise _options_invalid(
            "propagationPolicy", go_quote(str(policy)), '"Foreground", "Background", "Orphan", "nil"'
        )
    preconditions = options.get("preconditions") or {}
    if not isinstance(preconditions, dict):
        raise ApiError(400, "BadRequest", "preconditions must be an object")
    return DeleteOptions(1 if grace is not None and grace < 0 else grace, preconditions, dry)


def _check_preconditions(resource: Resource, current: dict, preconditions: dict) -> None:
    """409 Conflict as ``rest.BeforeDelete`` words it: on the kind (``Deployment.apps``)."""
    metadata = current["metadata"]
    for field, label, why in (
        ("uid", "UID", "deleted and then recreated"),
        ("resourceVersion", "ResourceVersion", "modified"),
    ):
        wanted = preconditions.get(field)
        if wanted and wanted != metadata.get(field):
            kind = f"{resource.kind}.{resource.group}" if resource.group else resource.kind
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {kind} "{metadata["name"]}": the {label} in the '
                f"precondition ({wanted}) does not match the {label} in record ({metadata.get(field)}). "
                f"The object might have been {why}",
                name=metadata["name"],
                kind=resource.kind,
                group=resource.group,
            )


def _success(resource: Resource, deleted: dict) -> dict:
    details = {"name": deleted["metadata"]["name"], "group": resource.group, "kind": resource.plural}
    details["uid"] = deleted["metadata"].get("uid", "")
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {key: value for key, value in details.items() if value},
    }


def remove(
    server: ApiServer, resource: Resource, current: dict, *, dry: bool, grace: int | None = None
) -> dict:
    """Delete one stored object as its kind is deleted; returns what the client is shown."""
    metadata = current["metadata"]
    namespace, name = metadata.get("namespace", ""), metadata["name"]
    if dry:
        return current
    if resource is resources.PODS and server.controls.runner(name, namespace):
        return server.controls.delete_pod(name, grace, namespace) or current
    if resource is resources.NAMESPACES:
        return _remove_namespace(server, current)
    if metadata.get("finalizers"):
        if not metadata.get("deletionTimestamp"):
            metadata.update(deletionTimestamp=now_rfc3339(), deletionGracePeriodSeconds=0)
            return server.store.update(resource, current)
        return current
    return server.store.delete(resource, namespace, name) or current


def _remove_namespace(server: ApiServer, namespace: dict) -> dict:
    name = namespace["metadata"]["name"]
    namespace["metadata"]["deletionTimestamp"] = now_rfc3339()
    namespace["status"] = {"phase": "Terminating"}
    marked = server.store.update(resources.NAMESPACES, namespace)
    for resource in resources.ALL:
        if resource.namespaced:
            for obj in server.store.list(resource, lambda o: o["metadata"].get("namespace") == name):
                obj["metadata"]["finalizers"] = []
                remove(server, resource, obj, dry=False)
    server.store.delete(resources.NAMESPACES, "", name)
    return marked


async def delete(
    server: ApiServer, request: Request, send: Send, resource: Resource, namespace: str, name: str
) -> None:
    options = delete_options(request)
    current = server.store.get(resource, namespace, name)
    if current is None:
        raise not_found(resource, name)
    if resource is resources.NAMESPACES and name in UNDELETABLE:
        raise ApiError(
            403,
            "Forbidden",
            f'namespaces "{name}" is forbidden: this namespace may not be deleted',
            name=name,
            kind="namespaces",
        )
    _check_preconditions(resource, current, options.preconditions)
    deleted = remove(server, resource, current, dry=options.dry, grace=options.grace)
    body = deleted if resource in RETURNS_OBJECT or deleted["metadata"].get("deletionTimestamp") else None
    await send_json(send, 200, body or _success(resource, deleted))


async def delete_collection(
    server: ApiServer, request: Request, send: Send, resource: Resource, namespace: str | None
) -> None:
    options = delete_options(request)
    items = []
    for current in server.store.list(resource, reading.selection(request, namespace)):
        if resource is resources.NAMESPACES and current["metadata"]["name"] in UNDELETABLE:
            continue
        deleted = remove(server, resource, current, dry=options.dry, grace=options.grace)
        deleted.pop("kind", None)
        deleted.pop("apiVersion", None)
        items.append(deleted)
    body = {
        "kind": f"{resource.kind}List",
        "apiVersion": resource.api_version,
        "metadata": {"resourceVersion": str(server.store.resource_version)},
        "items": items,
    }
    await send_json(send, 200, body, JSON)
