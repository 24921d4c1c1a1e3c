"""The objects the defaulting and validation tests send to a real kube-apiserver and the sandbox.

``defaulting_cases()``: valid objects of every served kind, bare and rich, to compare what
defaulting adds. ``invalid_cases()``: one broken rule each (names, required fields, selector vs
template labels, replicas, containers, ports, Service and EndpointSlice fields, labels and
annotations, RBAC). ``decoding_cases()``: bodies the decoder refuses or warns about (unknown,
duplicate and mistyped fields) with a ``fieldValidation`` directive. ``update_cases()``: an object
to store, then the edits of its replacement (immutable fields). ``NAMESPACE`` stands for the
namespace a test works in. ``tests.support.real_answers`` sends them and records the answers.
"""

from __future__ import annotations

import copy
import json
from typing import Any

NAMESPACE = "the-namespace"  # masks the namespace a test works in
C0 = "spec.template.spec.containers.0"
DELETE = object()


def deployment(name: str = "x") -> dict:
    template = {
        "metadata": {"labels": {"app": "x"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    spec = {"selector": {"matchLabels": {"app": "x"}}, "template": template}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def service(name: str = "s") -> dict:
    spec = {"selector": {"app": "x"}, "ports": [{"port": 80}]}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def endpoint_slice(name: str = "e") -> dict:
    body = {
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.0.0.1"]}],
        "ports": [{"port": 80, "name": "a"}],
    }
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": name}, **body}


def core(kind: str, name: str, **fields: Any) -> dict:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}, **fields}


def rbac(kind: str, name: str, **fields: Any) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name}, **fields}


def edited(obj: dict, *edits: tuple[str, Any]) -> dict:
    """``obj`` with each dotted ``path`` set to ``value`` (``DELETE`` removes it)."""
    obj = copy.deepcopy(obj)
    for path, value in edits:
        *parents, last = path.split(".")
        node: Any = obj
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        if value is DELETE:
            node.pop(last)
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return obj


def defaulting_cases() -> dict[str, dict]:
    container = {
        "name": "c",
        "image": "nginx",
        "ports": [{"containerPort": 80}, {"containerPort": 81, "name": "x", "hostPort": 81}],
        "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "readinessProbe": {"httpGet": {"path": "/", "port": 80}},
        "livenessProbe": {"tcpSocket": {"port": 80}},
        "startupProbe": {"exec": {"command": ["true"]}},
        "lifecycle": {"preStop": {"httpGet": {"port": 80}}},
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
    }
    volumes = [
        {"name": "v", "secret": {"secretName": "s"}},
        {"name": "e", "emptyDir": {}},
        {"name": "none"},
        {"name": "c", "configMap": {"name": "cm"}},
        {"name": "h", "hostPath": {"path": "/tmp"}},
        {
            "name": "d",
            "downwardAPI": {"items": [{"path": "l", "fieldRef": {"fieldPath": "metadata.labels"}}]},
        },
    ]
    pod_spec = {
        "containers": [container],
        "initContainers": [{"name": "i", "image": "busybox:1.0"}],
        "volumes": volumes,
    }
    rich = edited(
        deployment("rich"), ("spec.template.spec", pod_spec), ("spec.strategy", {"type": "Recreate"})
    )
    return {
        "pod-minimal": core("Pod", "p1", spec={"containers": [{"name": "c", "image": "nginx"}]}),
        "pod-rich": core("Pod", "p2", spec={**pod_spec, "serviceAccountName": "sa", "hostNetwork": True}),
        "pod-qos-guaranteed": core("Pod", "p3", spec={"containers": [{**container, "ports": []}]}),
        "deployment-minimal": deployment("d1"),
        "deployment-rich": rich,
        "deployment-max-surge-0": edited(
            deployment("d3"), ("spec.strategy", {"rollingUpdate": {"maxSurge": 0}})
        ),
        "replicaset": {**edited(deployment("r1"), ("spec.replicas", 0)), "kind": "ReplicaSet"},
        "service-cluster-ip": service("s1"),
        "service-node-port": edited(
            service("s2"),
            ("spec.type", "NodePort"),
            (
                "spec.ports",
                [{"port": 80, "name": "a"}, {"port": 81, "name": "b", "targetPort": "x", "protocol": "UDP"}],
            ),
        ),
        "service-load-balancer": edited(service("s3"), ("spec.type", "LoadBalancer")),
        "service-external-name": core(
            "Service", "s4", spec={"type": "ExternalName", "externalName": "example.com"}
        ),
        "service-client-ip": edited(service("s6"), ("spec.sessionAffinity", "ClientIP")),
        "endpointslice": edited(
            endpoint_slice("e1"), ("endpoints.0.conditions", {"ready": True}), ("ports", [{"port": 80}])
        ),
        "endpointslice-empty": {**endpoint_slice("e2"), "endpoints": None, "ports": None},
        "endpoints": core(
            "Endpoints", "ep", subsets=[{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]
        ),
        "namespace": core("Namespace", "answers-ns"),
        "service-account": core("ServiceAccount", "sa"),
        "secret-string-data": core("Secret", "sec", data={"a": "YQ==", "b": "Yg=="}, stringData={"a": "zz"}),
        "config-map": core("ConfigMap", "cm", data={"a": "b"}),
        "role": rbac("Role", "r", rules=[{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]),
        "role-binding": rbac(
            "RoleBinding",
            "rb",
            roleRef={"kind": "Role", "name": "r"},
            subjects=[{"kind": "ServiceAccount", "name": "sa"}, {"kind": "User", "name": "u"}],
        ),
        "event": core("Event", "ev", involvedObject={"kind": "Pod", "name": "p", "namespace": NAMESPACE}),
    }


def invalid_cases() -> dict[str, dict]:
    d, s, e = deployment(), service(), endpoint_slice()
    return {
        "deployment-negative-replicas": edited(d, ("spec.replicas", -1)),
        "deployment-name": edited(d, ("metadata.name", "X_y")),
        "deployment-no-name": edited(d, ("metadata.name", DELETE)),
        "deployment-no-selector": edited(d, ("spec.selector", DELETE)),
        "deployment-empty-selector": edited(d, ("spec.selector", {})),
        "deployment-selector-mismatch": edited(d, ("spec.selector.matchLabels", {"app": "y"})),
        "deployment-bad-operator": edited(
            d, ("spec.selector", {"matchExpressions": [{"key": "a", "operator": "Is"}]})
        ),
        "deployment-no-container-name": edited(d, (C0 + ".name", DELETE)),
        "deployment-container-name": edited(d, (C0 + ".name", "Web_1")),
        "deployment-no-image": edited(d, (C0 + ".image", DELETE)),
        "deployment-no-containers": edited(d, ("spec.template.spec.containers", [])),
        "deployment-port-range": edited(d, (C0 + ".ports", [{"containerPort": 70000, "hostPort": 70000}])),
        "deployment-port-protocol": edited(d, (C0 + ".ports", [{"containerPort": 80, "protocol": "tcp"}])),
        "deployment-port-name": edited(d, (C0 + ".ports", [{"containerPort": 80, "name": "Http_1"}])),
        "deployment-restart-never": edited(d, ("spec.template.spec.restartPolicy", "Never")),
        "deployment-strategy": edited(d, ("spec.strategy", {"type": "Bogus"})),
        "deployment-both-zero": edited(
            d, ("spec.strategy.rollingUpdate", {"maxSurge": 0, "maxUnavailable": 0})
        ),
        "deployment-percent": edited(
            d, ("spec.strategy.rollingUpdate", {"maxSurge": -1, "maxUnavailable": "abc"})
        ),
        "deployment-label": edited(d, ("metadata.labels", {"ok": "bad value!"})),
        "deployment-annotation": edited(d, ("metadata.annotations", {"a b": "c"})),
        "deployment-env": edited(d, (C0 + ".env", [{"name": "1a=b", "value": "x"}, {"name": ""}])),
        "deployment-probe": edited(
            d, (C0 + ".readinessProbe", {"httpGet": {"port": 0}, "periodSeconds": -1})
        ),
        "deployment-two-handlers": edited(
            d, (C0 + ".readinessProbe", {"httpGet": {"port": 80}, "tcpSocket": {"port": 80}})
        ),
        "deployment-requests": edited(
            d, (C0 + ".resources", {"limits": {"cpu": "1"}, "requests": {"cpu": "2"}})
        ),
        "deployment-mount": edited(d, (C0 + ".volumeMounts", [{"name": "v", "mountPath": "/x"}])),
        "deployment-many": edited(d, ("spec.replicas", -2), ("metadata.name", "Bad"), (C0 + ".image", "")),
        "service-port-zero": edited(s, ("spec.ports.0.port", 0)),
        "service-target-port": edited(s, ("spec.ports.0.targetPort", "Bad_Name")),
        "service-protocol": edited(s, ("spec.ports.0.protocol", "HTTP")),
        "service-no-ports": edited(s, ("spec.ports", DELETE)),
        "service-unnamed-ports": edited(s, ("spec.ports", [{"port": 80}, {"port": 81}])),
        "service-type": edited(s, ("spec.type", "Bogus")),
        "service-affinity": edited(s, ("spec.sessionAffinity", "Sticky")),
        "service-selector": edited(s, ("spec.selector", {"a b": "c"})),
        "service-name": edited(s, ("metadata.name", "1abc")),
        "service-cluster-ip": edited(s, ("spec.clusterIP", "300.1.1.1")),
        "endpointslice-address-type": edited(e, ("addressType", "IPv5")),
        "endpointslice-address": edited(e, ("endpoints.0.addresses", ["10.0.0.300"])),
        "endpointslice-no-address": edited(e, ("endpoints.0.addresses", [])),
        "endpointslice-unspecified": edited(e, ("endpoints.0.addresses", ["0.0.0.0"])),
        "endpointslice-port-name": edited(e, ("ports.0.name", "Bad_Name")),
        "namespace-name": core("Namespace", "a.b"),
        "secret-key": core("Secret", "sec", data={"a b": "eA=="}),
        "secret-tls": core("Secret", "tls", type="kubernetes.io/tls", data={}),
        "config-map-duplicate": core("ConfigMap", "cm", data={"a": "x"}, binaryData={"a": "eA=="}),
        "role-verbs": rbac("Role", "r", rules=[{"apiGroups": [""], "resources": ["pods"]}]),
        "role-name": rbac("Role", "a/b", rules=[]),
        "role-binding": rbac(
            "RoleBinding",
            "rb",
            roleRef={"apiGroup": "x", "kind": "Pod", "name": ""},
            subjects=[{"kind": "Robot", "name": "a"}],
        ),
        "event-namespace": core("Event", "ev"),
    }


def update_cases() -> dict[str, tuple[dict, list[tuple[str, Any]]]]:
    """name: (the object to store first, the edits of the replacement)."""
    selector = ("spec.selector", {"matchLabels": {"app": "x", "b": "c"}})
    return {
        "deployment-selector": (deployment("u1"), [selector, ("spec.template.metadata.labels.b", "c")]),
        "deployment-scaled": (deployment("u2"), [("spec.replicas", 3)]),
        "service-cluster-ip": (
            service("u3"),
            [("spec.clusterIP", "10.96.5.5"), ("spec.clusterIPs", ["10.96.5.5"])],
        ),
        "endpointslice-address-type": (
            endpoint_slice("u4"),
            [("addressType", "IPv6"), ("endpoints", [{"addresses": ["fd00::1"]}])],
        ),
        "role-binding-role-ref": (
            rbac("RoleBinding", "u5", roleRef={"kind": "Role", "name": "r"}),
            [("roleRef.name", "o")],
        ),
    }


def decoding_cases() -> dict[str, tuple[dict | bytes, str | None]]:
    """name: (body -- raw JSON bytes where keys repeat --, fieldValidation directive)."""
    d = deployment
    unknown = edited(d("f1"), ("spec.foo", 1), (C0 + ".bar", 2), ("baz", 3), ("metadata.qux", 4))
    twice = json.dumps(d("f2")).replace('"replicas"', '"x"')
    twice = twice.replace('{"name": "f2"}', '{"name": "f2", "name": "f2"}').replace(
        '"image": "nginx"', '"image": "a", "image": "nginx"'
    )
    limits = C0 + ".resources"
    return {
        "unknown-strict": (unknown, "Strict"),
        "unknown-warn": (edited(unknown, ("metadata.name", "f3")), "Warn"),
        "unknown-ignore": (edited(unknown, ("metadata.name", "f4")), "Ignore"),
        "unknown-default": (edited(unknown, ("metadata.name", "f5")), None),
        "duplicate-strict": (twice.encode(), "Strict"),
        "duplicate-warn": (twice.replace('"f2"', '"f6"').encode(), "Warn"),
        "string-for-integer": (edited(d("f7"), ("spec.replicas", "two")), "Strict"),
        "fraction-for-integer": (edited(d("f8"), (C0 + ".ports", [{"containerPort": 1.5}])), "Strict"),
        "object-for-list": (edited(d("f9"), ("spec.template.spec.containers", {"name": "c"})), None),
        "number-for-string": (edited(d("f10"), ("metadata.labels", {"a": 1})), None),
        "bool-for-int-or-string": (
            edited(d("f11"), ("spec.strategy", {"rollingUpdate": {"maxSurge": True}})),
            None,
        ),
        "bad-quantity": (edited(d("f12"), (limits, {"limits": {"cpu": "lots"}})), None),
        "bad-time": (edited(d("f13"), ("metadata.creationTimestamp", "yesterday")), None),
        "bad-base64": (core("Secret", "f14", data={"a": "YQ"}), None),
        "other-version": (edited(d("f15"), ("apiVersion", "apps/v2")), None),
        "bad-directive": (d("f16"), "Bogus"),
    }
