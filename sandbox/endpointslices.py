"""The EndpointSlice and Endpoints controllers: every Service with a selector gets the pods it
selects as endpoints, in one EndpointSlice and the legacy Endpoints object.

From kubernetes/pkg/controller/endpointslice (reconciler.go) and pkg/controller/endpoint,
v1.29, at the sandbox's scale (one slice per Service): a slice named ``<service>-<5 characters>``
(its ``generateName``), labelled ``kubernetes.io/service-name`` and managed by
``endpointslice-controller.k8s.io``, owned by the Service; an endpoint per running pod the
selector matches (by the pod's live labels), ``ready``/``serving``/``terminating`` as
``sandbox.objects.endpoint_slice_object`` words them; a named ``targetPort`` resolved against the
pods' container ports. A Service without a selector is left to whoever writes its slices.
"""

from __future__ import annotations

import copy

from sandbox import objects, resources
from sandbox.objects import PodState
from sandbox.pods import controller_of
from sandbox.store import Store

MANAGED_BY = ("endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io")
ENDPOINTS_MANAGED_BY = ("endpoints.kubernetes.io/managed-by", "endpoint-controller")


def _resolved(service: dict, selected: list[PodState]) -> dict:
    """``service`` with every port's targetPort a number (podutil.FindPort on the first pod that
    declares a port of that name; the port's own number when it names none or nothing matches)."""
    service = copy.deepcopy(service)
    for port in service["spec"].get("ports") or []:
        target = port.get("targetPort", port.get("port"))
        if isinstance(target, str):
            named = (
                p.get("containerPort")
                for pod in selected
                for c in pod.template["spec"].get("containers", [])
                for p in c.get("ports") or []
                if p.get("name") == target
            )
            target = next(named, port.get("port"))
        port["targetPort"] = target
    return service


def selects(service: dict, labels: dict) -> bool:
    """Whether the Service's (non-empty) selector matches ``labels``."""
    selector = service["spec"].get("selector") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def is_managed(endpoint_slice: dict, service: dict) -> bool:
    """Whether this controller keeps the slice for ``service`` (label, manager and owner)."""
    labels = endpoint_slice["metadata"].get("labels") or {}
    owner = controller_of(endpoint_slice) or {}
    return (
        labels.get(MANAGED_BY[0]) == MANAGED_BY[1]
        and labels.get(objects.SERVICE_NAME_LABEL) == service["metadata"]["name"]
        and owner.get("uid") == service["metadata"]["uid"]
    )


class EndpointControllers:
    def __init__(self, store: Store) -> None:
        self.store = store

    def sync(self, states: list[PodState]) -> None:
        """Rewrite each selector Service's slice and Endpoints from the pods (``states``: the
        node's pods; their live labels are read from the store)."""
        live = {pod["metadata"]["uid"]: pod for pod in self.store.list(resources.PODS)}
        labelled = [(s, (live[s.uid]["metadata"].get("labels") or {})) for s in states if s.uid in live]
        slices = self.store.list(resources.ENDPOINT_SLICES)
        for service in self.store.list(resources.SERVICES):
            spec = service.get("spec") or {}
            if not spec.get("selector") or spec.get("type") == "ExternalName":
                continue
            selected = [state for state, labels in labelled if selects(service, labels)]
            resolved = _resolved(service, selected)
            mine = [s for s in slices if is_managed(s, service)]
            name = mine[0]["metadata"]["name"] if mine else self._free_name(service)
            self._write(
                resources.ENDPOINT_SLICES, objects.endpoint_slice_object(resolved, name=name, pods=selected)
            )
            for extra in mine[1:]:  # one slice is enough at the sandbox's scale
                self.store.delete(
                    resources.ENDPOINT_SLICES, extra["metadata"]["namespace"], extra["metadata"]["name"]
                )
            self._write(resources.ENDPOINTS, objects.endpoints_object(resolved, pods=selected))

    def _free_name(self, service: dict) -> str:
        while True:
            name = f"{service['metadata']['name']}-{objects.random_suffix()}"
            if self.store.get(resources.ENDPOINT_SLICES, objects.NAMESPACE, name) is None:
                return name

    def _write(self, resource: resources.Resource, rendered: dict) -> None:
        """Create, or update when it changed (so watchers see real changes only)."""
        metadata = rendered["metadata"]
        current = self.store.get(resource, metadata["namespace"], metadata["name"])
        if current is None:
            self.store.create(resource, rendered)
            return
        for kept in ("uid", "creationTimestamp", "generation", "resourceVersion", "annotations"):
            if kept in current["metadata"]:
                metadata[kept] = current["metadata"][kept]
        if rendered != current:
            self.store.update(resource, rendered)
