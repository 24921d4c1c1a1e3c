"""Writes: the Deployment ``scale`` subresource (deleting a pod is ``sandbox.deleting``'s).

The sandbox's controller carries it out (``Controls``): a scaled Deployment gets or loses pods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox import objects, resources, scaling
from sandbox.reading import get_or_404
from sandbox.wire import ApiError, Request, Send, not_allowed, send_json

if TYPE_CHECKING:
    from sandbox.apiserver import ApiServer


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
    limit = server.controls.replica_limit(deployment, replicas)  # per pod runtime
    replicas = scaling.check_replicas(name, replicas, limit=limit)
    updated = server.controls.scale(name, replicas, namespace)
    await send_json(send, 200, objects.scale_object(updated))
