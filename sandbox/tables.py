"""Server-side printing: the ``Table`` that ``kubectl get`` asks for, with the real columns.

kubectl sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and prints the columns
the server chose; ``-o wide`` shows the priority-1 ones too. The columns and cell formats here
are those of the Kubernetes API server's printers for the same kinds.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.resources import DEPLOYMENTS, ENDPOINT_SLICES, ENDPOINTS, EVENTS, PODS, SERVICES, Resource


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery's duration.HumanDuration, the AGE column's format."""
    seconds = int(seconds)
    if seconds < 0:
        return "<invalid>"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    return f"{days}d{hours % 24}h" if days < 8 and hours % 24 else f"{days}d"


def age(obj: dict) -> str:
    created = datetime.strptime(obj["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=UTC
    )
    return human_duration((datetime.now(UTC) - created).total_seconds())


def _column(name: str, kind: str = "string", *, priority: int = 0, fmt: str = "") -> dict:
    return {"name": name, "type": kind, "format": fmt, "description": "", "priority": priority}


def _pod_row(pod: dict) -> list:
    statuses = pod["status"].get("containerStatuses", [])
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(s.get("restartCount", 0) for s in statuses)
    reason = pod["status"].get("phase", "Pending")
    for container in statuses:
        waiting = container.get("state", {}).get("waiting")
        terminated = container.get("state", {}).get("terminated")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated:
            reason = terminated.get("reason") or "Error"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return [
        pod["metadata"]["name"],
        f"{ready}/{len(pod['spec']['containers'])}",
        reason,
        restarts,
        age(pod),
        pod["status"].get("podIP") or "<none>",
        pod["spec"].get("nodeName") or "<none>",
        "<none>",
        "<none>",
    ]


def _deployment_row(deployment: dict) -> list:
    spec, state = deployment["spec"], deployment.get("status", {})
    containers = deployment["spec"]["template"]["spec"]["containers"]
    selector = ",".join(f"{k}={v}" for k, v in spec["selector"]["matchLabels"].items())
    return [
        deployment["metadata"]["name"],
        f"{state.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        state.get("updatedReplicas", 0),
        state.get("availableReplicas", 0),
        age(deployment),
        ",".join(c["name"] for c in containers),
        ",".join(c.get("image", "") for c in containers),
        selector,
    ]


def _service_row(service: dict) -> list:
    spec = service["spec"]
    ports = ",".join(f"{p['port']}/{p.get('protocol', 'TCP')}" for p in spec.get("ports", []))
    selector = ",".join(f"{k}={v}" for k, v in sorted(spec.get("selector", {}).items())) or "<none>"
    return [
        service["metadata"]["name"],
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP", "<none>"),
        "<none>",
        ports or "<none>",
        age(service),
        selector,
    ]


def _list_with_more(shown: list[str], count: int, limit: int = 3, empty: str = "<unset>") -> str:
    """The printers' listWithMoreString: the first ``limit`` items, then "+ N more..."."""
    if count > limit:
        return f"{','.join(shown[:limit])} + {count - limit} more..."
    return ",".join(shown) or empty


def _host_port(ip: str, port: object) -> str:
    """Go's net.JoinHostPort: an IPv6 address in brackets."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _endpoints_row(endpoints: dict) -> list:
    """The Endpoints printer: ready ``ip:port`` for every port (bare IPs for a subset without
    ports); "<none>" without subsets, "" when none is ready."""
    subsets = endpoints.get("subsets") or []
    shown = []
    for subset in subsets:
        ips = [a.get("ip", "") for a in subset.get("addresses") or []]
        ports = [p.get("port") for p in subset.get("ports") or []]
        shown += [_host_port(ip, port) for port in ports for ip in ips] if ports else ips
    listing = _list_with_more(shown, len(shown), empty="") if subsets else "<none>"
    return [endpoints["metadata"]["name"], listing, age(endpoints)]


def _slice_row(endpoint_slice: dict) -> list:
    """The EndpointSlice printer: a nil port number shows the port's name, or "*" (all ports);
    every address of every endpoint is listed (an FQDN slice's names as they are); an empty or
    null list is "<unset>"."""
    ports = [
        str(port["port"]) if port.get("port") is not None else port.get("name") or "*"
        for port in endpoint_slice.get("ports") or []
    ]
    addresses = [a for e in endpoint_slice.get("endpoints") or [] for a in e.get("addresses") or []]
    return [
        endpoint_slice["metadata"]["name"],
        endpoint_slice.get("addressType", ""),
        _list_with_more(ports, len(ports)),
        _list_with_more(addresses, len(addresses)),
        age(endpoint_slice),
    ]


def _event_row(event: dict) -> list:
    return [event["metadata"]["name"], age(event)]


PRINTERS = {
    PODS: (
        [
            _column("Name", fmt="name"),
            _column("Ready"),
            _column("Status"),
            _column("Restarts", "string"),
            _column("Age"),
            _column("IP", priority=1),
            _column("Node", priority=1),
            _column("Nominated Node", priority=1),
            _column("Readiness Gates", priority=1),
        ],
        _pod_row,
    ),
    DEPLOYMENTS: (
        [
            _column("Name", fmt="name"),
            _column("Ready"),
            _column("Up-to-date", "integer"),
            _column("Available", "integer"),
            _column("Age"),
            _column("Containers", priority=1),
            _column("Images", priority=1),
            _column("Selector", priority=1),
        ],
        _deployment_row,
    ),
    SERVICES: (
        [
            _column("Name", fmt="name"),
            _column("Type"),
            _column("Cluster-IP"),
            _column("External-IP"),
            _column("Port(s)"),
            _column("Age"),
            _column("Selector", priority=1),
        ],
        _service_row,
    ),
    ENDPOINTS: ([_column("Name", fmt="name"), _column("Endpoints"), _column("Age")], _endpoints_row),
    ENDPOINT_SLICES: (
        [
            _column("Name", fmt="name"),
            _column("AddressType"),
            _column("Ports"),
            _column("Endpoints"),
            _column("Age"),
        ],
        _slice_row,
    ),
    EVENTS: ([_column("Name", fmt="name"), _column("Age")], _event_row),
}


def _row_object(obj: dict, include: str) -> dict | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def table(
    resource: Resource,
    objects: list[dict],
    *,
    resource_version: str,
    include: str = "Metadata",
    with_columns: bool = True,
) -> dict:
    columns, row = PRINTERS[resource]
    rows = []
    for obj in objects:
        entry = {"cells": row(obj)[: len(columns)]}
        if (row_object := _row_object(obj, include)) is not None:
            entry["object"] = row_object
        rows.append(entry)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": columns if with_columns else [],
        "rows": rows,
    }
