"""Creating objects (``POST`` to a collection), and what every write shares.

As the API server's create handler and generic registry do it (``staging/src/k8s.io/apiserver/
pkg/endpoints/handlers/create.go``, ``registry/generic/registry/store.go``, ``rest/create.go``):
the body is decoded and checked against the URL's kind and namespace (400), a
``metadata.generateName`` becomes a name, the namespace must exist (404), the server sets
``uid``, ``creationTimestamp``, ``generation`` and the kind's initial ``status`` (its strategy's
``PrepareForCreate``), then defaulting, validation (``sandbox.defaulting``,
``sandbox.validation``), ``managedFields`` (``sandbox.applying``), a Service's addresses (the
allocator, ``sandbox.services``), and the store: 201 with the object, 409 ``AlreadyExists``.
``dryRun=All`` does everything but store.

The sandbox starts with the namespaces a cluster has (``default``, ``kube-system``,
``kube-public``, ``kube-node-lease``).
"""

from __future__ import annotations

import copy
import uuid
from typing import TYPE_CHECKING

import yaml

from sandbox import applying, defaulting, objects, resources, validation
from sandbox.resources import Resource
from sandbox.store import Conflict, Store, now_rfc3339
from sandbox.wire import ApiError, Request, Send, send_json

if TYPE_CHECKING:
    from sandbox.apiserver import ApiServer

CLUSTER_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_INTERNAL_GROUP = {"": "core", "discovery.k8s.io": "discovery", "rbac.authorization.k8s.io": "rbac"}


def qualified(resource: Resource) -> str:
    return f"{resource.plural}.{resource.group}" if resource.group else resource.plural


def not_found(resource: Resource, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{qualified(resource)} "{name}" not found',
        name=name,
        kind=resource.plural,
        group=resource.group,
    )


def conflict(resource: Resource, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(resource)} "{name}": {why}',
        name=name,
        kind=resource.plural,
        group=resource.group,
    )


MODIFIED = "the object has been modified; please apply your changes to the latest version and try again"


def invalid(resource: Resource, name: str, field: str, reason: str, detail: str) -> ApiError:
    """422 Invalid with one cause, worded as field.ErrorList is."""
    error = ApiError(
        422, "Invalid", f'{resource.kind} "{name}" is invalid: {field}: {detail}', kind=resource.kind
    )
    if resource.group:
        error.body["details"]["group"] = resource.group
    if name:
        error.body["details"] = {"name": name, **error.body["details"]}
    error.body["details"]["causes"] = [{"reason": reason, "message": detail, "field": field}]
    return error


def dry_run(request: Request) -> bool:
    value = request.query.get("dryRun")
    if value and value != "All":
        raise ApiError(400, "BadRequest", f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return value == "All"


def field_manager(request: Request) -> str:
    """The ``fieldManager`` option, or the User-Agent's product (managerOrUserAgent)."""
    manager = request.query.get("fieldManager")
    if manager:
        return manager
    agent = request.headers.get(b"user-agent", b"").decode("utf-8", "replace")
    return agent.split("/")[0][:128] or "unknown"


def decode(request: Request) -> dict:
    """The body as an object: JSON, or YAML when the request says so. Any other media type
    (kubectl's typed clients send protobuf first) is 415, after which client-go resends JSON."""
    kind = request.headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    if kind not in (b"", b"application/json", b"application/yaml", b"application/apply-patch+yaml"):
        error = ApiError(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json, application/yaml",
        )
        error.body["details"] = {}
        raise error
    if kind in (b"application/yaml", b"application/apply-patch+yaml"):
        try:
            body = yaml.safe_load(request.body.decode("utf-8")) if request.body else {}
        except (yaml.YAMLError, UnicodeError) as exc:
            raise ApiError(400, "BadRequest", f"error decoding YAML: {exc}"[:500]) from None
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body of the request must be an object")
        return body
    return request.json_body()


def check_type(resource: Resource, obj: dict) -> None:
    """The body's ``apiVersion``/``kind`` against the URL's (filled in when absent); 400 else."""
    api_version = obj.setdefault("apiVersion", resource.api_version) or resource.api_version
    kind = obj.setdefault("kind", resource.kind) or resource.kind
    obj["apiVersion"], obj["kind"] = api_version, kind
    if not isinstance(obj.get("metadata", {}), dict):
        raise ApiError(400, "BadRequest", "metadata must be an object")
    obj.setdefault("metadata", {})
    if (api_version, kind) == (resource.api_version, resource.kind):
        return
    prefix = f'{kind} in version "{resource.version}" cannot be handled as a {resource.kind}'
    group = api_version.rpartition("/")[0]
    served = [r for r in resources.ALL if r.api_version == api_version and r.kind == kind]
    if served and group == resource.group:
        internal = _INTERNAL_GROUP.get(group, group)
        detail = f"converting ({resource.version}.{kind}) to ({internal}.{resource.kind}): unknown conversion"
    else:
        detail = (
            f'no kind "{kind}" is registered for version "{api_version}" '
            'in scheme "pkg/runtime/scheme.go:100"'
        )
    raise ApiError(400, "BadRequest", f"{prefix}: {detail}")


def check_namespace(store: Store, resource: Resource, obj: dict, namespace: str) -> None:
    """The body's namespace against the URL's (set when empty); the namespace must exist."""
    metadata = obj["metadata"]
    if not resource.namespaced:
        metadata.pop("namespace", None)
        return
    if metadata.get("namespace") and metadata["namespace"] != namespace:
        raise ApiError(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
        )
    metadata["namespace"] = namespace
    if store.get(resources.NAMESPACES, "", namespace) is None:
        raise ApiError(
            404, "NotFound", f'namespaces "{namespace}" not found', name=namespace, kind="namespaces"
        )


def _qos(pod: dict) -> str:
    """The pod's QoS class (pkg/apis/core/helper/qos): BestEffort, Guaranteed or Burstable."""
    containers = (pod.get("spec") or {}).get("containers") or []
    requests = [(c.get("resources") or {}).get("requests") or {} for c in containers]
    limits = [(c.get("resources") or {}).get("limits") or {} for c in containers]
    if not any(requests) and not any(limits):
        return "BestEffort"
    guaranteed = all(
        all(lim.get(r) is not None and req.get(r, lim.get(r)) == lim.get(r) for r in ("cpu", "memory"))
        for req, lim in zip(requests, limits, strict=True)
    )
    return "Guaranteed" if guaranteed else "Burstable"


def prepare_for_create(resource: Resource, obj: dict) -> None:
    """What the kind's strategy sets on a new object: its initial status (and a namespace's
    finalizer and name label)."""
    if resource is resources.DEPLOYMENTS:
        obj["status"] = {}
    elif resource is resources.REPLICA_SETS:
        obj["status"] = {"replicas": 0}
    elif resource is resources.SERVICES:
        obj["status"] = {"loadBalancer": {}}
    elif resource is resources.PODS:
        obj["status"] = {"phase": "Pending", "qosClass": _qos(obj)}
    elif resource is resources.NAMESPACES:
        obj["status"] = {"phase": "Active"}
        spec = obj.setdefault("spec", {})
        if "kubernetes" not in (spec.get("finalizers") or []):
            spec["finalizers"] = [*(spec.get("finalizers") or []), "kubernetes"]
        labels = obj["metadata"].setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]


def new_object(store: Store, request: Request, resource: Resource, namespace: str, obj: dict) -> dict:
    """``obj`` made ready to store as a new object (metadata, status, defaults, validation)."""
    check_type(resource, obj)
    check_namespace(store, resource, obj, namespace)
    metadata = obj["metadata"]
    if metadata.get("resourceVersion"):
        raise ApiError(400, "BadRequest", "resourceVersion should not be set on objects to be created")
    if not metadata.get("name") and metadata.get("generateName"):
        metadata["name"] = f"{metadata['generateName']}{objects.random_suffix()}"
    if not metadata.get("name"):
        raise invalid(
            resource,
            "",
            "metadata.name",
            "FieldValueRequired",
            "Required value: name or generateName is required",
        )
    metadata["uid"] = str(uuid.uuid4())
    metadata["creationTimestamp"] = now_rfc3339()
    for server_set in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "generation"):
        metadata.pop(server_set, None)
    if resource.plural in ("deployments", "replicasets", "endpointslices"):
        metadata["generation"] = 1
    defaulting.apply_defaults(resource, obj, unowned=False)
    recorded = copy.deepcopy(obj)  # what the field manager sees: before admission and the strategy
    prepare_for_create(resource, obj)
    defaulting.set_unowned(resource, obj)
    validation.check(resource, obj)
    tracked = applying.track_update(resource, None, recorded, field_manager(request), now_rfc3339())
    obj["metadata"].pop("managedFields", None)
    if "managedFields" in tracked["metadata"]:
        obj["metadata"]["managedFields"] = tracked["metadata"]["managedFields"]
    return obj


def allocate(server: ApiServer, resource: Resource, obj: dict, old: dict | None = None) -> None:
    """A Service's addresses, set inside the write as the real registry's allocator sets them
    (after ``managedFields``: no manager owns them)."""
    if resource is resources.SERVICES:
        server.controls.allocate_service(obj, old)


def store_new(store: Store, resource: Resource, obj: dict, *, dry: bool) -> dict:
    if store.get(resource, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]) is not None:
        name = obj["metadata"]["name"]
        raise ApiError(
            409,
            "AlreadyExists",
            f'{qualified(resource)} "{name}" already exists',
            name=name,
            kind=resource.plural,
            group=resource.group,
        )
    if dry:
        return obj
    try:
        return store.create(resource, obj)
    except Conflict as exc:  # pragma: no cover - checked just above, on one event loop
        raise ApiError(409, "AlreadyExists", str(exc)) from None


async def create(server: ApiServer, request: Request, send: Send, resource: Resource, namespace: str) -> None:
    obj = decode(request)
    warnings = validation.check_fields(
        resource, obj, request.query.get("fieldValidation"), raw=request.body, operation="create"
    )
    obj = new_object(server.store, request, resource, namespace, obj)
    allocate(server, resource, obj)
    stored = store_new(server.store, resource, obj, dry=dry_run(request))
    await send_json(send, 201, stored, extra=validation.warning_headers(warnings))


def ensure_namespaces(store: Store) -> None:
    """The namespaces every cluster starts with, as a new cluster has them."""
    for name in CLUSTER_NAMESPACES:
        if store.get(resources.NAMESPACES, "", name) is None:
            obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            obj["metadata"].update(uid=str(uuid.uuid4()), creationTimestamp=now_rfc3339())
            prepare_for_create(resources.NAMESPACES, obj)
            store.create(resources.NAMESPACES, obj)
