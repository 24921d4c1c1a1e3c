"""The EndpointSlice and Endpoints controllers: every Service with a selector gets the pods it
selects as endpoints, in EndpointSlices of at most ``max_endpoints_per_slice`` endpoints and in
the legacy Endpoints object.

From kubernetes/pkg/controller/endpointslice with the staging package ``k8s.io/endpointslice``
(reconciler.go, utils.go) and pkg/controller/endpoint: slices named ``<service>-<5 characters>``
(their ``generateName``), labelled ``kubernetes.io/service-name`` and managed by
``endpointslice-controller.k8s.io``, owned by the Service; an endpoint per running pod the
selector matches (by the pod's live labels), ``ready``/``serving``/``terminating`` as
``sandbox.objects.pod_endpoint`` words them; each pod's named ``targetPort`` resolved against
its own container ports (``FindPort``; a port it does not declare is left out of its slice);
``nodeName`` and ``zone`` from the pod's node, and zone hints under ``trafficDistribution:
PreferClose`` (``sandbox.objects.pod_endpoint``).
Which slice holds which endpoint, and which slices are written, is
``sandbox.slice_placement.reconcile``: a change to one pod writes the one slice that holds it,
and a slice whose content is unchanged is not written at all. A Service without a selector is
left to whoever writes its slices. The Endpoints object stays one object, truncated at 1000
addresses (``sandbox.objects.endpoints_object``).
"""

from __future__ import annotations

import copy

from sandbox import objects, resources, slice_placement, topology
from sandbox.objects import PodState
from sandbox.store import Store

MANAGED_BY = (objects.MANAGED_BY_LABEL, objects.SLICE_CONTROLLER)
ENDPOINTS_MANAGED_BY = ("endpoints.kubernetes.io/managed-by", "endpoint-controller")


def _resolved(service: dict, selected: list[PodState]) -> dict:
    """``service`` with every port's targetPort a number, for the legacy Endpoints' one subset
    (podutil.FindPort on the first pod that declares a port of that name; the port's own number
    when it names none or nothing matches)."""
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


def pod_ports(service: dict, pod: PodState) -> list[dict]:
    """The slice ports of ``pod`` for ``service`` (utils.go ``getEndpointPorts``): each Service
    port with its targetPort as the pod resolves it (``FindPort``: a name matches a container
    port of that name and protocol); a port the pod cannot resolve is left out."""
    ports = []
    for port in (service.get("spec") or {}).get("ports") or []:
        protocol = port.get("protocol", "TCP")
        target = port.get("targetPort", port.get("port"))
        if isinstance(target, str):
            target = next(
                (
                    p.get("containerPort")
                    for c in pod.template["spec"].get("containers", [])
                    for p in c.get("ports") or []
                    if p.get("name") == target and p.get("protocol", "TCP") == protocol
                ),
                None,
            )
            if target is None:
                continue
        found = {"name": port.get("name", ""), "port": target, "protocol": protocol}
        if port.get("appProtocol"):
            found["appProtocol"] = port["appProtocol"]
        ports.append(found)
    return ports


def selects(service: dict, labels: dict) -> bool:
    """Whether the Service's (non-empty) selector matches ``labels``."""
    selector = service["spec"].get("selector") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


class EndpointControllers:
    def __init__(
        self, store: Store, *, max_endpoints_per_slice: int = slice_placement.MAX_ENDPOINTS_PER_SLICE
    ) -> None:
        """``max_endpoints_per_slice``: kube-controller-manager's ``--max-endpoints-per-slice``
        (100 by default; at least 1)."""
        if max_endpoints_per_slice < 1:
            raise ValueError("max_endpoints_per_slice must be at least 1")
        self.store = store
        self.max_endpoints_per_slice = max_endpoints_per_slice

    def sync(self, states: list[PodState]) -> None:
        """Bring each selector Service's slices and Endpoints up to date with the pods
        (``states``: the node's pods; their live labels are read from the store). O(pods +
        endpoints) per Service."""
        live = self.store.labels_by_uid(resources.PODS)
        labelled = [(state, live[state.uid]) for state in states if state.uid in live]
        slices: dict[tuple[str, str], list[dict]] = {}
        for endpoint_slice in self.store.list(resources.ENDPOINT_SLICES):
            metadata = endpoint_slice["metadata"]
            labels = metadata.get("labels") or {}
            if labels.get(MANAGED_BY[0]) == MANAGED_BY[1] and objects.SERVICE_NAME_LABEL in labels:
                key = (metadata.get("namespace", ""), labels[objects.SERVICE_NAME_LABEL])
                slices.setdefault(key, []).append(endpoint_slice)
        for service in self.store.list(resources.SERVICES):
            spec = service.get("spec") or {}
            if not spec.get("selector") or spec.get("type") == "ExternalName":
                continue
            metadata = service["metadata"]
            namespace = metadata.get("namespace", "")
            selected = [
                state
                for state, labels in labelled
                if state.namespace == namespace and selects(service, labels)
            ]
            self._sync_slices(service, selected, slices.get((namespace, metadata["name"]), []))
            self._write_endpoints(objects.endpoints_object(_resolved(service, selected), pods=selected))

    def _sync_slices(self, service: dict, selected: list[PodState], existing: list[dict]) -> None:
        prefer_close = (service.get("spec") or {}).get("trafficDistribution") == topology.PREFER_CLOSE
        desired = [
            (pod_ports(service, pod), objects.pod_endpoint(pod, prefer_close=prefer_close))
            for pod in sorted(selected, key=lambda pod: pod.name)
            if pod.running
        ]
        labels = objects.slice_labels(service)
        plan = slice_placement.reconcile(
            existing,
            desired,
            service_uid=service["metadata"]["uid"],
            max_endpoints_per_slice=self.max_endpoints_per_slice,
            relabel=frozenset(
                s["metadata"]["name"] for s in existing if s["metadata"].get("labels") != labels
            ),
        )
        for cut in plan.create:
            self.store.create(
                resources.ENDPOINT_SLICES,
                objects.endpoint_slice_object(
                    service, name=self._free_name(service), ports=cut.ports, endpoints=cut.endpoints
                ),
            )
        by_name = {s["metadata"]["name"]: s for s in existing}
        for name, cut in plan.update.items():
            current = by_name[name]
            rendered = objects.endpoint_slice_object(
                service, name=name, ports=cut.ports, endpoints=cut.endpoints
            )
            updated = {**current, **{k: v for k, v in rendered.items() if k != "metadata"}}
            updated["metadata"] = {**current["metadata"], "labels": labels}
            if updated != current:  # watchers see real changes only
                self.store.update(resources.ENDPOINT_SLICES, updated)
        for name in plan.delete:
            self.store.delete(resources.ENDPOINT_SLICES, by_name[name]["metadata"]["namespace"], name)

    def _free_name(self, service: dict) -> str:
        while True:
            name = f"{service['metadata']['name']}-{objects.random_suffix()}"
            if self.store.get(resources.ENDPOINT_SLICES, service["metadata"]["namespace"], name) is None:
                return name

    def _write_endpoints(self, rendered: dict) -> None:
        """Create, or update when it changed (so watchers see real changes only); annotations
        others set are kept, the over-capacity one follows the rendering."""
        metadata = rendered["metadata"]
        current = self.store.get(resources.ENDPOINTS, metadata["namespace"], metadata["name"])
        if current is None:
            self.store.create(resources.ENDPOINTS, rendered)
            return
        for kept in ("uid", "creationTimestamp", "generation", "resourceVersion"):
            if kept in current["metadata"]:
                metadata[kept] = current["metadata"][kept]
        annotations = {
            **{
                k: v
                for k, v in (current["metadata"].get("annotations") or {}).items()
                if k != objects.OVER_CAPACITY
            },
            **(metadata.get("annotations") or {}),
        }
        metadata.pop("annotations", None)
        if annotations or "annotations" in current["metadata"]:
            metadata["annotations"] = annotations
        if rendered != current:
            self.store.update(resources.ENDPOINTS, rendered)
