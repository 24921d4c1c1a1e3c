"""Kubernetes objects as the API server would return them, built from the sandbox's state.

Pure functions: they take what the controller knows about pods and return the dicts that the
store keeps and clients read. Field names, defaults and conventions follow the real objects
closely enough that the `kubernetes` client's models and `kubectl` accept them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

NAMESPACE = "default"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"  # on every EndpointSlice of a Service
# Kubernetes' rand.SafeEncodeString alphabet: no vowels, no look-alikes.
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def random_suffix(length: int = 5, rng: random.Random | None = None) -> str:
    rng = rng or random.SystemRandom()
    return "".join(rng.choice(SAFE_ALPHABET) for _ in range(length))


def status(code: int, reason: str, message: str, *, name: str = "", kind: str = "", group: str = "") -> dict:
    """A ``Status`` object: how the API server reports every error."""
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if not reason:  # StatusReasonUnknown is "", and omitted
        del body["reason"]
    if name or kind:
        body["details"] = {k: v for k, v in (("name", name), ("group", group), ("kind", kind)) if v}
    return body


@dataclass
class PodState:
    """What the controller knows of one pod; ``sandbox.pods.status`` reports it as the kubelet does."""

    name: str
    deployment: str
    template_hash: str
    template: dict
    uid: str
    ip: str
    port: int
    node: str
    created: str
    zone: str = ""  # its node's topology.kubernetes.io/zone
    namespace: str = NAMESPACE
    started: str | None = None
    ready: bool = False
    running: bool = False
    restarts: int = 0
    waiting_reason: str | None = None  # e.g. CrashLoopBackOff
    last_exit_code: int | None = None
    deletion_timestamp: str | None = None
    grace_period: int | None = None

    @property
    def terminating(self) -> bool:
        return self.deletion_timestamp is not None

    def host_port(self, container_port: int) -> int:
        """Where a container port is reachable: the same number on the pod's own loopback IP, or
        shifted when pods share 127.0.0.1 (systems without extra loopback addresses)."""
        return container_port + self.port - 8081


def scale_object(deployment: dict) -> dict:
    metadata = deployment["metadata"]
    selector = ",".join(f"{k}={v}" for k, v in deployment["spec"]["selector"]["matchLabels"].items())
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": metadata["name"],
            "namespace": metadata["namespace"],
            "uid": metadata["uid"],
            "resourceVersion": metadata["resourceVersion"],
            "creationTimestamp": metadata["creationTimestamp"],
        },
        "spec": {"replicas": deployment["spec"].get("replicas", 1)},
        "status": {"replicas": deployment.get("status", {}).get("replicas", 0), "selector": selector},
    }


def _slice_ports(service: dict) -> list[dict]:
    return [
        {"name": port.get("name", ""), "port": port["targetPort"], "protocol": port.get("protocol", "TCP")}
        for port in service["spec"]["ports"]
    ]


MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
SLICE_CONTROLLER = "endpointslice-controller.k8s.io"
HEADLESS_LABEL = "service.kubernetes.io/headless"


def slice_labels(service: dict) -> dict:
    """A controller-made slice's labels (endpointslice utils.go ``setEndpointSliceLabels``): the
    Service's own, less the reserved keys, then the Service's name, the manager, and
    ``service.kubernetes.io/headless`` when the Service has no ClusterIP."""
    reserved = (SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL)
    labels = {k: v for k, v in (service["metadata"].get("labels") or {}).items() if k not in reserved}
    if (service.get("spec") or {}).get("clusterIP") in ("", "None", None):
        labels[HEADLESS_LABEL] = ""
    labels[SERVICE_NAME_LABEL] = service["metadata"]["name"]
    labels[MANAGED_BY_LABEL] = SLICE_CONTROLLER
    return labels


def pod_endpoint(pod: PodState, *, prefer_close: bool = False) -> dict:
    """A pod as an EndpointSlice endpoint (endpointslice utils.go ``podToEndpoint``): a
    terminating pod stays, not ready but still serving while it is ready; ``nodeName`` is the
    pod's node and ``zone`` that node's ``topology.kubernetes.io/zone``. ``prefer_close`` (the
    Service's ``trafficDistribution: PreferClose``) adds ``hints.forZones: [{name: zone}]``, as
    k8s.io/endpointslice trafficdist.go's ``preferCloseHeuristic`` does (v1.31+)."""
    endpoint = {
        "addresses": [pod.ip],
        "conditions": {
            "ready": pod.ready and not pod.terminating,
            "serving": pod.ready,
            "terminating": pod.terminating,
        },
        "nodeName": pod.node,
        "targetRef": {"kind": "Pod", "namespace": pod.namespace, "name": pod.name, "uid": pod.uid},
    }
    if pod.zone:
        endpoint["zone"] = pod.zone
        if prefer_close:
            endpoint["hints"] = {"forZones": [{"name": pod.zone}]}
    return endpoint


def endpoint_slice_object(
    service: dict, *, name: str, ports: list[dict], endpoints: list[dict], address_type: str = "IPv4"
) -> dict:
    """The slice the EndpointSlice controller would write (``newEndpointSlice``): named ``name``
    (from ``generateName`` ``<service>-``), owned by the Service; empty lists read back as null,
    as from a real API server."""
    service_name = service["metadata"]["name"]
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": service["metadata"].get("namespace", NAMESPACE),
            "generateName": f"{service_name}-",
            "labels": slice_labels(service),
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "name": service_name,
                    "uid": service["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "addressType": address_type,
        "endpoints": endpoints or None,
        "ports": ports or None,
    }


ENDPOINTS_MAX_CAPACITY = 1000  # endpoints_controller.go maxCapacity
OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity"  # v1.EndpointsOverCapacity


def endpoints_object(service: dict, *, pods: list[PodState]) -> dict:
    """Legacy v1 Endpoints: ready pods in ``addresses``, unready ones in ``notReadyAddresses``;
    a terminating pod leaves both, as the endpoints controller does. Past 1000 addresses it is
    truncated, ready ones kept first, and annotated ``endpoints.kubernetes.io/over-capacity:
    truncated`` (endpoints_controller.go ``truncateEndpoints``)."""

    def address(pod: PodState) -> dict:
        return {
            "ip": pod.ip,
            "nodeName": pod.node,
            "targetRef": {"kind": "Pod", "namespace": pod.namespace, "name": pod.name, "uid": pod.uid},
        }

    live = sorted((pod for pod in pods if pod.running and not pod.terminating), key=lambda pod: pod.ip)
    ready = [address(pod) for pod in live if pod.ready]
    not_ready = [address(pod) for pod in live if not pod.ready]
    truncated = len(ready) + len(not_ready) > ENDPOINTS_MAX_CAPACITY
    if truncated:  # truncateEndpoints: ready addresses first, then what room is left
        ready = ready[:ENDPOINTS_MAX_CAPACITY]
        not_ready = not_ready[: ENDPOINTS_MAX_CAPACITY - len(ready)]
    subset = {"addresses": ready, "notReadyAddresses": not_ready, "ports": _slice_ports(service)}
    subset = {key: value for key, value in subset.items() if value}
    endpoints = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": service["metadata"]["name"],
            "namespace": service["metadata"].get("namespace", NAMESPACE),
            "labels": {
                **service["metadata"].get("labels", {}),
                "endpoints.kubernetes.io/managed-by": "endpoint-controller",
            },
        },
        "subsets": [subset] if "addresses" in subset or "notReadyAddresses" in subset else [],
    }
    if truncated:
        endpoints["metadata"]["annotations"] = {OVER_CAPACITY: "truncated"}
    return endpoints
