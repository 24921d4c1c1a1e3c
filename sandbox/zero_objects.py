"""Go's zero value of each served kind, as the API server's JSON encoder writes it.

Fields without ``omitempty`` are written even when empty (``creationTimestamp: null``, a
Service's ``status.loadBalancer: {}``, an EndpointSlice's ``addressType: ""``...). Server-side
apply starts a create from this object, and a watch's BOOKMARK carries it: clients decode both
into their model of the kind, so their shape matters.
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


def zero_body(resource: Resource) -> dict[str, Any]:
    """A fresh copy of the kind's zero-valued fields (everything but kind, apiVersion, metadata)."""
    return copy.deepcopy(ZERO.get(resource.kind, {}))
