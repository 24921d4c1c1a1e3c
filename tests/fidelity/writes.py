"""Create, get, list, replace and delete every kind the sandbox serves, with kubectl, the same
manifests on both servers; and what comes back.

For the kinds a kubelet or a controller acts on (pods, Deployments, ReplicaSets), ``status`` is
left out after create: it is lifecycle (the real server runs no controllers, the sandbox does).
Deployments and ReplicaSets ask for 0 replicas, so that no pods come of them.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.fidelity.steps import kubectl, project, typed
from tests.support.fidelity import Scenario, Step, Target

LABELS = {"fidelity": "writes"}
TEMPLATE = {
    "metadata": {"labels": {"app": "fidelity-writes"}},
    "spec": {"containers": [{"name": "app", "image": "k8s-combat", "ports": [{"containerPort": 8081}]}]},
}
SELECTOR = {"matchLabels": {"app": "fidelity-writes"}}

MANIFESTS: dict[str, dict] = {
    "configmap": {"apiVersion": "v1", "kind": "ConfigMap", "data": {"greeting": "hello"}},
    "secret": {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": {"key": "c2VjcmV0"}},
    "serviceaccount": {"apiVersion": "v1", "kind": "ServiceAccount"},
    "service": {
        "apiVersion": "v1",
        "kind": "Service",
        "spec": {
            "selector": {"app": "fidelity-writes"},
            "ports": [{"name": "http", "port": 80, "targetPort": 8081}],
        },
    },
    "endpoints": {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "subsets": [{"addresses": [{"ip": "10.9.1.1"}], "ports": [{"name": "http", "port": 8081}]}],
    },
    "endpointslice": {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.9.1.1"]}],
        "ports": [{"name": "http", "port": 8081}],
    },
    # Bound to the sandbox's node from the start: no scheduler binds it on the real server.
    "pod": {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": TEMPLATE["metadata"],
        "spec": {**TEMPLATE["spec"], "nodeName": "sandbox-node"},
    },
    "deployment": {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "spec": {"replicas": 0, "selector": SELECTOR, "template": TEMPLATE},
    },
    "replicaset": {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "spec": {"replicas": 0, "selector": SELECTOR, "template": TEMPLATE},
    },
    "role": {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
    },
    "rolebinding": {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "fidelity-role"},
        "subjects": [{"kind": "ServiceAccount", "name": "fidelity-serviceaccount", "namespace": "x"}],
    },
    "event": {
        "apiVersion": "v1",
        "kind": "Event",
        "involvedObject": {"kind": "Pod", "name": "fidelity-pod", "apiVersion": "v1", "namespace": "{ns}"},
        "reason": "Testing",
        "message": "a hand-written event",
        "type": "Normal",
        "source": {"component": "fidelity"},
    },
}
LIFECYCLE = ("pod", "deployment", "replicaset")
# A pod bound to a node is deleted gracefully by its kubelet, which the real server lacks: forced.
DELETE_FLAGS = {"pod": ("--grace-period=0", "--force")}


def manifest(kind: str, **labels: str) -> dict:
    body = copy.deepcopy(MANIFESTS[kind])
    body["metadata"] = {
        **body.get("metadata", {}),
        "name": f"fidelity-{kind}",
        "labels": {**LABELS, **labels},
    }
    return body


def lifecycle_free(seen: Any) -> Any:
    """What a kubelet or a controller writes left out: ``status``, the deployment controller's
    revision annotation, and ``generation`` (which that annotation's removal by a replace
    bumps). The real server runs no controllers; the sandbox does."""
    shown = seen.get("stdout") if isinstance(seen, dict) else None
    if isinstance(shown, dict):
        shown.pop("status", None)
        metadata = shown.get("metadata") or {}
        metadata.pop("generation", None)
        annotations = metadata.get("annotations") or {}
        annotations.pop("deployment.kubernetes.io/revision", None)
        if "annotations" in metadata and not annotations:
            del metadata["annotations"]
    return seen


def pod_table(seen: Any) -> Any:
    """A pod's table row without READY, STATUS and RESTARTS: what its kubelet reports."""
    for block in seen.get("stdout") or []:
        if isinstance(block, dict) and block.get("columns", [None])[0] == "NAME":
            keep = [i for i, c in enumerate(block["columns"]) if c not in ("READY", "STATUS", "RESTARTS")]
            block["columns"] = [block["columns"][i] for i in keep]
            block["rows"] = [[row[i] for i in keep] for row in block["rows"]]
    return seen


def steps_for(kind: str) -> list[Step]:
    name = f"fidelity-{kind}"
    keep = lifecycle_free if kind in LIFECYCLE else (lambda seen: seen)
    table = pod_table if kind == "pod" else (lambda seen: seen)
    return [
        Step(
            f"{kind}: kubectl create -o json",
            kubectl("create", "-o", "json", "-f", "-", stdin=json.dumps(manifest(kind)), out="json"),
        ),
        Step(
            f"{kind}: kubectl get -o json",
            project(kubectl("get", kind, name, "-o", "json", out="json"), keep),
        ),
        Step(
            f"{kind}: kubectl get -l (table)",
            project(kubectl("get", kind, "-l", "fidelity=writes", out="table"), table),
        ),
        Step(
            f"{kind}: kubectl replace -o json",
            project(
                kubectl(
                    "replace",
                    "-o",
                    "json",
                    "-f",
                    "-",
                    stdin=json.dumps(manifest(kind, step="replaced")),
                    out="json",
                ),
                keep,
            ),
        ),
        Step(f"{kind}: kubectl delete", kubectl("delete", kind, name, *DELETE_FLAGS.get(kind, ()))),
        Step(f"{kind}: get after delete", kubectl("get", kind, name, "-o", "name")),
    ]


def _namespace_steps() -> list[Step]:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fidelity-made", "labels": LABELS}}
    return [
        Step(
            "namespace: kubectl create",
            kubectl("create", "-o", "json", "-f", "-", stdin=json.dumps(body), out="json"),
        ),
        Step("namespace: kubectl get", kubectl("get", "namespace", "fidelity-made", out="table")),
        # --wait=false: with no namespace controller, a real namespace stays Terminating.
        Step(
            "namespace: kubectl delete",
            kubectl("delete", "namespace", "fidelity-made", "--wait=false"),
        ),
        # The client shows managedFields: the finalizer the strategy adds is no manager's.
        Step(
            "namespace: the client's create (managedFields)",
            typed("CoreV1Api", "create_namespace", {**body, "metadata": {"name": "fidelity-typed"}}),
        ),
        Step(
            "namespace: kubectl delete it", kubectl("delete", "namespace", "fidelity-typed", "--wait=false")
        ),
    ]


def _cleanup(t: Target) -> None:
    for kind in MANIFESTS:
        t.run_kubectl("delete", kind, f"fidelity-{kind}", "--ignore-not-found", "--wait=false")


OBJECTS = Scenario(
    "create, get, list, replace, delete: every kind",
    cleanup=_cleanup,
    steps=[step for kind in MANIFESTS for step in steps_for(kind)] + _namespace_steps(),
)

SCENARIOS = [OBJECTS]
