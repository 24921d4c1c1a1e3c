"""The sandbox's nodes and zones, and kube-proxy's choice of endpoints by topology. Pure.

- ``layout(nodes, zones)``: the node names and each node's zone. One node keeps the name
  ``sandbox-node``; several are ``sandbox-node-1..N``. Zones are ``zone-a``, ``zone-b``, ...,
  dealt round-robin over the nodes (node 1 in zone-a, node 2 in zone-b, ...).
- ``node_object(name, zone)``: the Node as a kubelet registers it, labelled
  ``kubernetes.io/hostname`` and ``topology.kubernetes.io/zone`` (the well-known labels,
  https://kubernetes.io/docs/reference/labels-annotations-taints/).
- ``spread(nodes, owner_pods, all_pods)``: where the scheduler puts a pod: the node with the
  fewest pods of the same owner, then the fewest pods, then the first (kube-scheduler's default
  spreading: PodTopologySpread's system default constraints over hostname and zone).
- ``categorize(endpoints, policy=..., node=..., zone=...)``: the endpoints a new connection from
  a caller on ``node`` in ``zone`` may reach, as kube-proxy's ``CategorizeEndpoints``
  (kubernetes pkg/proxy/topology.go, v1.31-1.32) decides it.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

BASE_NODE_NAME = "sandbox-node"
ZONE_LABEL = "topology.kubernetes.io/zone"
HOSTNAME_LABEL = "kubernetes.io/hostname"
PREFER_CLOSE = "PreferClose"  # spec.trafficDistribution (discovery, v1.30+)
LOCAL = "Local"  # spec.internalTrafficPolicy


@dataclass(frozen=True)
class Layout:
    """Node names in order, and each one's zone."""

    nodes: tuple[str, ...]
    zones: Mapping[str, str]

    @property
    def first(self) -> str:
        """Where a caller that is no pod (the user's terminal) counts as being."""
        return self.nodes[0]


def layout(nodes: int = 1, zones: int = 1) -> Layout:
    """``nodes`` >= 1 nodes over ``zones`` zones (1..26, and at most one zone per node is used);
    ``ValueError`` otherwise."""
    if nodes < 1 or not 1 <= zones <= 26:
        raise ValueError("nodes must be at least 1 and zones between 1 and 26")
    names = (BASE_NODE_NAME,) if nodes == 1 else tuple(f"{BASE_NODE_NAME}-{i}" for i in range(1, nodes + 1))
    zone_names = [f"zone-{letter}" for letter in string.ascii_lowercase[:zones]]
    return Layout(names, {name: zone_names[i % zones] for i, name in enumerate(names)})


def node_object(name: str, zone: str, *, created: str) -> dict:
    """A Ready Node named ``name`` in ``zone`` (``created``: RFC 3339)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "creationTimestamp": created,
            "labels": {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/os": "linux",
                HOSTNAME_LABEL: name,
                ZONE_LABEL: zone,
            },
        },
        "spec": {},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": created,
                    "lastTransitionTime": created,
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.32.0-k8s-combat-sandbox",  # the API server's /version
                "kubeProxyVersion": "v1.32.0-k8s-combat-sandbox",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "osImage": "k8s-combat sandbox",
                "containerRuntimeVersion": "sandbox://processes",
            },
        },
    }


def spread(nodes: Iterable[str], owner_pods: Mapping[str, int], all_pods: Mapping[str, int]) -> str:
    """The node for a new pod: fewest pods of its owner (``owner_pods`` by node), then fewest pods
    (``all_pods``), then the first in ``nodes`` order."""
    ordered = list(nodes)
    return min(ordered, key=lambda n: (owner_pods.get(n, 0), all_pods.get(n, 0), ordered.index(n)))


@dataclass(frozen=True)
class Endpoint:
    """A ready endpoint as kube-proxy sees it: where it listens, its node, its zone hints."""

    backend: tuple[str, int]
    node: str = ""
    zone_hints: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Policy:
    """The Service's settings that filter endpoints: ``internalTrafficPolicy: Local`` and
    ``trafficDistribution: PreferClose`` (or the ``service.kubernetes.io/topology-mode: Auto``
    annotation, which kube-proxy reads the same way)."""

    local: bool = False
    prefer_close: bool = False


def policy_of(service: Mapping) -> Policy:
    spec = service.get("spec") or {}
    annotations = (service.get("metadata") or {}).get("annotations") or {}
    topology_mode = annotations.get("service.kubernetes.io/topology-mode", "")
    return Policy(
        local=spec.get("internalTrafficPolicy") == LOCAL,
        prefer_close=spec.get("trafficDistribution") == PREFER_CLOSE or topology_mode.lower() == "auto",
    )


def _can_use_topology(endpoints: Iterable[Endpoint], zone: str) -> bool:
    """topology.go ``canUseTopology``: every endpoint carries zone hints and one is for ``zone``."""
    if not zone:
        return False
    found = False
    for endpoint in endpoints:
        if not endpoint.zone_hints:
            return False
        found = found or zone in endpoint.zone_hints
    return found


def categorize(endpoints: list[Endpoint], *, policy: Policy, node: str, zone: str) -> list[Endpoint]:
    """The ready endpoints a new connection may go to (``endpoints`` are the ready ones).

    Under ``internalTrafficPolicy: Local`` only those on ``node``: none means kube-proxy drops
    the connection ("has no local endpoints"). Otherwise, under PreferClose, those whose hints
    name ``zone`` when every endpoint has hints and one names it (else all, as ``canUseTopology``
    falls back)."""
    if policy.local:
        return [e for e in endpoints if e.node == node]
    if policy.prefer_close and _can_use_topology(endpoints, zone):
        return [e for e in endpoints if zone in e.zone_hints]
    return list(endpoints)
