"""The object a BOOKMARK event carries, as a real API server sends it.

The watch cache sends an empty object of the watched kind with only ``metadata.resourceVersion``
set, encoded like any other: every field Go's encoder does not omit is there, zero-valued
(``creationTimestamp: null``, a Service's ``status.loadBalancer: {}``, an EndpointSlice's
``addressType: ""``...). Clients decode it into their model of the kind, so its shape matters.
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.resources import Resource

_TEMPLATE = {"metadata": {"creationTimestamp": None}, "spec": {"containers": None}}
# What a zero-valued object of each kind has besides kind, apiVersion and metadata.
ZERO: dict[str, dict[str, Any]] = {
    "Pod": {"spec": {"containers": None}, "status": {}},
    "Service": {"spec": {}, "status": {"loadBalancer": {}}},
    "Endpoints": {},
    "EndpointSlice": {"addressType": "", "endpoints": None, "ports": None},
    "Deployment": {"spec": {"selector": None, "template": _TEMPLATE, "strategy": {}}, "status": {}},
    "ReplicaSet": {"spec": {"selector": None, "template": _TEMPLATE}, "status": {"replicas": 0}},
    "Namespace": {"spec": {}, "status": {}},
    "Event": {
        "involvedObject": {},
        "source": {},
        "firstTimestamp": None,
        "lastTimestamp": None,
        "eventTime": None,
        "reportingComponent": "",
        "reportingInstance": "",
    },
    "Role": {"rules": None},
    "RoleBinding": {"roleRef": {"apiGroup": "", "kind": "", "name": ""}},
}


def bookmark_object(resource: Resource, version: int, annotations: dict[str, str] | None = None) -> dict:
    metadata: dict[str, Any] = {"resourceVersion": str(version), "creationTimestamp": None}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "kind": resource.kind,
        "apiVersion": resource.api_version,
        "metadata": metadata,
        **copy.deepcopy(ZERO.get(resource.kind, {})),
    }
