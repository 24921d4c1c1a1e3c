"""Server-side printing: the ``Table`` that ``kubectl get`` asks for, with the real columns.

kubectl sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and prints the columns
the server chose; ``-o wide`` shows the priority-1 ones too. The columns and cell formats here
are those of the Kubernetes API server's printers for the same kinds.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sandbox import pod_printer
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


def selector_string(selector: dict | None) -> str:
    """metav1.LabelSelectorAsSelector(...).String(): requirements sorted by key, ``k=v``,
    ``k in (a,b)``, ``k notin (a)``, ``k``, ``!k``; "<none>" for no selector, "" for an empty one."""
    if selector is None:
        return "<none>"
    requirements = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key", ""), expression.get("operator")
        values = ",".join(sorted(expression.get("values") or []))
        text = {
            "In": f"{key} in ({values})",
            "NotIn": f"{key} notin ({values})",
            "Exists": key,
            "DoesNotExist": f"!{key}",
        }.get(operator, "<invalid>")
        requirements.append((key, text))
    return ",".join(text for _, text in sorted(requirements, key=lambda r: r[0]))


def _deployment_row(deployment: dict) -> list:
    spec, state = deployment.get("spec") or {}, deployment.get("status") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return [
        deployment["metadata"]["name"],
        f"{state.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        state.get("updatedReplicas", 0),
        state.get("availableReplicas", 0),
        age(deployment),
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        selector_string(spec.get("selector")),
    ]


def _external_ip(service: dict) -> str:
    """getServiceExternalIP, with the server's wide view."""
    spec = service.get("spec") or {}
    external = spec.get("externalIPs") or []
    kind = spec.get("type", "")
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        balancers = sorted(
            {i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")}
        )
        shown = [*balancers, *external]
        return ",".join(shown) or "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def _service_row(service: dict) -> list:
    spec = service.get("spec") or {}
    ports = ",".join(
        f"{p.get('port')}:{p['nodePort']}/{p.get('protocol', '')}"
        if p.get("nodePort")
        else f"{p.get('port')}/{p.get('protocol', '')}"
        for p in spec.get("ports") or []
    )
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    cluster_ips = spec.get("clusterIPs") or []
    return [
        service["metadata"]["name"],
        spec.get("type", ""),
        cluster_ips[0] if cluster_ips else "<none>",
        _external_ip(service),
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
        str(port["port"])
        if port.get("port") is not None
        else port["name"]
        if port.get("name") is not None
        else "*"
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


def _since(timestamp: str | None) -> str:
    """translateTimestampSince / translateMicroTimestampSince: "<unknown>" for none."""
    if not timestamp:
        return "<unknown>"
    pattern = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in timestamp else "%Y-%m-%dT%H:%M:%SZ"
    moment = datetime.strptime(timestamp, pattern).replace(tzinfo=UTC)
    return human_duration((datetime.now(UTC) - moment).total_seconds())


def _event_row(event: dict) -> list:
    """printEvent (pkg/printers/internalversion): the server prints every column, wide ones too.
    An events.k8s.io event has no first/last timestamp but an eventTime; series count instead."""
    first = _since(event.get("firstTimestamp") or event.get("eventTime"))
    last = _since(event["lastTimestamp"]) if event.get("lastTimestamp") else first
    count = event.get("count") or 1
    if event.get("series"):
        last = _since(event["series"].get("lastObservedTime"))
        count = event["series"].get("count", count)
    involved, source = event.get("involvedObject") or {}, event.get("source") or {}
    kind = (involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    component = source.get("component") or event.get("reportingComponent") or ""
    host = source.get("host") or event.get("reportingInstance") or ""
    origin = "<unknown>" if not component else f"{component}, {host}" if host else component
    return [
        last,
        event.get("type", ""),
        event.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        origin,
        (event.get("message") or "").strip(),
        first,
        count,
        event["metadata"]["name"],
    ]


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
        pod_printer.pod_row,
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
    EVENTS: (
        [
            _column("Last Seen"),
            _column("Type"),
            _column("Reason"),
            _column("Object"),
            _column("Subobject", priority=1),
            _column("Source", priority=1),
            _column("Message"),
            _column("First Seen", priority=1),
            _column("Count", priority=1),
            _column("Name", priority=1, fmt="name"),
        ],
        _event_row,
    ),
}


# The real printers' column definitions (names, types, descriptions), as a v1.29 API server
# serves them: ``printer_columns.json``, written from its Tables.
_COLUMNS = json.loads((Path(__file__).with_name("printer_columns.json")).read_text())


def columns_of(resource: Resource, columns: list[dict]) -> list[dict]:
    """``columns`` with each one's definition as the real server's printer gives it."""
    known = {c["name"]: c for c in _COLUMNS.get(resource.plural, [])}
    return [{**column, **known.get(column["name"], {})} for column in columns]


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
        entry: dict = {"cells": row(obj)[: len(columns)]}
        if resource is PODS and (conditions := pod_printer.row_conditions(obj)):
            entry["conditions"] = conditions
        entry["object"] = _row_object(obj, include)  # null with includeObject=None, as the server
        rows.append(entry)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": columns_of(resource, columns) if with_columns else [],
        "rows": rows,
    }
