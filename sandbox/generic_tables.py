"""Tables for the kinds ``sandbox.tables`` has no printer for.

The columns of the API server's printers (``pkg/printers/internalversion/printers.go``) for
Nodes, Namespaces, ConfigMaps, Secrets, ServiceAccounts, ReplicaSets and RoleBindings; any other kind
gets the default table convertor's NAME and CREATED AT (``apiserver/pkg/registry/rest/table.go``),
as Roles do on a cluster."""

from __future__ import annotations

from sandbox import resources, tables
from sandbox.resources import Resource


def _column(name: str, kind: str = "string", *, priority: int = 0, fmt: str = "") -> dict:
    return {"name": name, "type": kind, "format": fmt, "description": "", "priority": priority}


def _replica_set(rs: dict) -> list:
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    selector = ",".join(
        f"{k}={v}" for k, v in ((spec.get("selector") or {}).get("matchLabels") or {}).items()
    )
    return [
        rs["metadata"]["name"],
        spec.get("replicas", 1),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        tables.age(rs),
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        selector or "<none>",
    ]


def _role_binding(binding: dict) -> list:
    subjects = binding.get("subjects") or []

    def of(kind: str) -> str:
        names = [
            f"{s.get('namespace', '')}/{s['name']}" if kind == "ServiceAccount" else s.get("name", "")
            for s in subjects
            if s.get("kind") == kind
        ]
        return ", ".join(names)

    role = binding.get("roleRef") or {}
    return [
        binding["metadata"]["name"],
        f"{role.get('kind', '')}/{role.get('name', '')}",
        tables.age(binding),
        of("User"),
        of("Group"),
        of("ServiceAccount"),
    ]


def _node(node: dict) -> list:
    """printNode: Ready from its condition, roles from ``node-role.kubernetes.io/*`` labels."""
    status, labels = node.get("status") or {}, node["metadata"].get("labels") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    info = status.get("nodeInfo") or {}
    return [
        node["metadata"]["name"],
        "Ready" if ready.get("status") == "True" else "NotReady" if ready else "Unknown",
        ",".join(roles) or "<none>",
        tables.age(node),
        info.get("kubeletVersion", ""),
        addresses.get("InternalIP", "<none>"),
        addresses.get("ExternalIP", "<none>"),
        info.get("osImage", "<unknown>"),
        info.get("kernelVersion", "<unknown>"),
        info.get("containerRuntimeVersion", "<unknown>"),
    ]


PRINTERS = {
    resources.NODES: (
        [
            _column("Name", fmt="name"),
            _column("Status"),
            _column("Roles"),
            _column("Age"),
            _column("Version"),
            _column("Internal-IP", priority=1),
            _column("External-IP", priority=1),
            _column("OS-Image", priority=1),
            _column("Kernel-Version", priority=1),
            _column("Container-Runtime", priority=1),
        ],
        _node,
    ),
    resources.NAMESPACES: (
        [_column("Name", fmt="name"), _column("Status"), _column("Age")],
        lambda ns: [ns["metadata"]["name"], (ns.get("status") or {}).get("phase", ""), tables.age(ns)],
    ),
    resources.CONFIG_MAPS: (
        [_column("Name", fmt="name"), _column("Data", "integer"), _column("Age")],
        lambda cm: [
            cm["metadata"]["name"],
            len(cm.get("data") or {}) + len(cm.get("binaryData") or {}),
            tables.age(cm),
        ],
    ),
    resources.SECRETS: (
        [_column("Name", fmt="name"), _column("Type"), _column("Data", "integer"), _column("Age")],
        lambda s: [s["metadata"]["name"], s.get("type", ""), len(s.get("data") or {}), tables.age(s)],
    ),
    resources.SERVICE_ACCOUNTS: (
        [_column("Name", fmt="name"), _column("Secrets", "integer"), _column("Age")],
        lambda sa: [sa["metadata"]["name"], len(sa.get("secrets") or []), tables.age(sa)],
    ),
    resources.REPLICA_SETS: (
        [
            _column("Name", fmt="name"),
            _column("Desired", "integer"),
            _column("Current", "integer"),
            _column("Ready", "integer"),
            _column("Age"),
            _column("Containers", priority=1),
            _column("Images", priority=1),
            _column("Selector", priority=1),
        ],
        _replica_set,
    ),
    resources.ROLE_BINDINGS: (
        [
            _column("Name", fmt="name"),
            _column("Role"),
            _column("Age"),
            _column("Users", priority=1),
            _column("Groups", priority=1),
            _column("ServiceAccounts", priority=1),
        ],
        _role_binding,
    ),
}

COLUMNS = [
    {
        "name": "Name",
        "type": "string",
        "format": "name",
        "description": "Name must be unique within a namespace. Is required when creating resources, "
        "although some resources may allow a client to request the generation of an appropriate name "
        "automatically. "
        "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
        "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
        "priority": 0,
    },
    {
        "name": "Created At",
        "type": "date",
        "format": "",
        "description": "CreationTimestamp is a timestamp representing the server time when this object was "
        "created. It is not guaranteed to be set in happens-before order across separate operations. "
        "Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by "
        "the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/"
        "sig-architecture/api-conventions.md#metadata",
        "priority": 0,
    },
]


def _default_cells(obj: dict) -> list:
    return [obj["metadata"]["name"], obj["metadata"].get("creationTimestamp")]


def table(
    resource: Resource,
    objects: list[dict],
    *,
    resource_version: str,
    include: str = "Metadata",
    with_columns: bool = True,
) -> dict:
    """``tables.table`` when it has a printer for ``resource``, else one of these."""
    if resource in tables.PRINTERS:
        return tables.table(
            resource, objects, resource_version=resource_version, include=include, with_columns=with_columns
        )
    columns, cells = PRINTERS.get(resource) or (COLUMNS, _default_cells)
    rows = []
    for obj in objects:
        row: dict = {"cells": cells(obj)}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": columns if with_columns else [],
        "rows": rows,
    }
