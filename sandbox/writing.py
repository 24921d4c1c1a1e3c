"""Writes: deleting a pod (graceful, with preconditions) and the Deployment ``scale`` subresource.

The sandbox's controller carries them out (``Controls``): a deleted pod's process is drained and
stopped, a scaled Deployment gets or loses pods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox import objects, resources, scaling
from sandbox.reading import get_or_404
from sandbox.wire import ApiError, Request, Send, is_int64, not_allowed, send_json

if TYPE_CHECKING:
    from sandbox.apiserver import ApiServer


async def delete_pod(server: ApiServer, request: Request, send: Send, namespace: str, name: str) -> None:
    options = request.json_body() if request.body else {}  # before the lookup, as the API server
    get_or_404(server.store, resources.PODS, namespace, name)
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
    if uid and uid != get_or_404(server.store, resources.PODS, namespace, name)["metadata"]["uid"]:
        raise ApiError(
            409, "Conflict", f"Precondition failed: UID in precondition: {uid}", name=name, kind="pods"
        )
    deleted = server.controls.delete_pod(name, grace)
    if deleted is None:
        raise ApiError(404, "NotFound", f'pods "{name}" not found', name=name, kind="pods")
    await send_json(send, 200, deleted)


async def scale(server: ApiServer, request: Request, send: Send, namespace: str, name: str) -> None:
    """``deployments/NAME/scale``: GET, PUT (with its resourceVersion precondition) and PATCH."""
    deployment = get_or_404(server.store, resources.DEPLOYMENTS, namespace, name)
    current = objects.scale_object(deployment)
    if request.method == "GET":
        return await send_json(send, 200, current)
    if request.method == "PUT":
        wanted = scaling.objects_only(request.json_body(), "metadata", "spec")
        expected = (wanted.get("metadata") or {}).get("resourceVersion")
        if expected and expected != current["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on deployments.apps "{name}": the object has been modified; '
                "please apply your changes to the latest version and try again",
                name=name,
                kind="deployments",
                group="apps",
            )
    elif request.method == "PATCH":
        wanted = scaling.patched(current, request)
    else:
        raise not_allowed(request.method)
    replicas = (wanted.get("spec") or {}).get("replicas", current["spec"]["replicas"])
    replicas = scaling.check_replicas(name, replicas, limit=server.controls.max_replicas)
    updated = server.controls.scale(name, replicas)
    await send_json(send, 200, objects.scale_object(updated))
