"""The sandbox's tutorial objects, copied into a real namespace so that reads can be compared.

The real server runs no controllers, so it has no pods, no EndpointSlices and no Deployment
status of its own: the copy writes what the sandbox's controllers wrote (each object's spec and
metadata, then its status through the ``status`` subresource, as a kubelet or controller would).
What a real server must refuse or allocate itself is changed, and masked in every comparison:
IPs (a real server refuses loopback endpoint addresses, and allocates ClusterIPs from its range).
"""

from __future__ import annotations

import copy
import json
import re

from tests.support.fidelity.targets import Target

# (list path, kind's plural) in the order a cluster's objects depend on each other.
KINDS = (
    ("/api/v1/namespaces/{ns}/services", "services"),
    ("/apis/apps/v1/namespaces/{ns}/deployments", "deployments"),
    ("/apis/apps/v1/namespaces/{ns}/replicasets", "replicasets"),
    ("/api/v1/namespaces/{ns}/pods", "pods"),
    ("/api/v1/namespaces/{ns}/endpoints", "endpoints"),
    ("/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices", "endpointslices"),
    ("/api/v1/namespaces/{ns}/events", "events"),
)
_LOOPBACK = re.compile(r"(?<![\d.])127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d.])")
SERVER_SET = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink")


def _routable(obj: dict) -> dict:
    """127.A.B.C becomes 10.A.B.C: same shape, an address a real server takes in endpoints."""
    return json.loads(_LOOPBACK.sub(r"10.\1.\2.\3", json.dumps(obj)))


def copy_of(obj: dict, namespace: str, uids: dict[str, str]) -> dict:
    """What a client would send to create ``obj`` in ``namespace``: no server-set metadata, no
    status, no allocated ClusterIPs; references to copied objects by uid (owners, targets, an
    Event's object) name the copies' uids."""
    sent = copy.deepcopy(obj)
    for old, new in uids.items():
        sent = _replaced(sent, old, new)
    metadata = sent["metadata"]
    for key in SERVER_SET:
        metadata.pop(key, None)
    metadata["namespace"] = namespace
    sent.pop("status", None)
    if sent.get("kind") == "Service":
        sent["spec"].pop("clusterIP", None)
        sent["spec"].pop("clusterIPs", None)
    return _routable(_moved(sent, obj["metadata"]["namespace"], namespace))


def _replaced(value, old: str, new: str):
    if isinstance(value, dict):
        return {k: _replaced(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replaced(item, old, new) for item in value]
    return new if value == old else value


def _moved(value, old: str, new: str):
    """References to the sandbox's namespace (``targetRef.namespace``...) name the copy's."""
    if isinstance(value, dict):
        return {k: new if k == "namespace" and v == old else _moved(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(item, old, new) for item in value]
    return value


def mirror(sandbox: Target, real: Target) -> list[str]:
    """Copy every object the sandbox has in its namespace; returns what was copied."""
    copied, uids = [], {}
    for path, plural in KINDS:
        listed = sandbox.request("GET", path).json()
        for obj in listed.get("items") or [] if isinstance(listed, dict) else []:
            obj.setdefault("kind", listed["kind"].removesuffix("List"))
            obj.setdefault("apiVersion", listed.get("apiVersion", "v1"))
            created = real.request("POST", path, body=copy_of(obj, real.namespace, uids))
            if created.status != 201:
                raise AssertionError(f"mirroring {plural}/{obj['metadata']['name']}: {created.json()}")
            uids[obj["metadata"]["uid"]] = created.json()["metadata"]["uid"]
            if obj.get("status") and plural in ("pods", "deployments", "replicasets"):
                stored = created.json()
                stored["status"] = _routable(_moved(obj["status"], sandbox.namespace, real.namespace))
                for old, new in uids.items():
                    stored["status"] = _replaced(stored["status"], old, new)
                name = obj["metadata"]["name"]
                written = real.request("PUT", f"{path}/{name}/status", body=stored)
                if written.status != 200:
                    raise AssertionError(f"mirroring {plural}/{name}'s status: {written.json()}")
            copied.append(f"{plural}/{obj['metadata']['name']}")
    return copied
