"""Defaulting, as the real API server does it before it stores an object.

``apply_defaults(resource, obj)`` fills in, in place, what the real server fills in on create,
replace, patch and apply, never on reads; fields already set are left alone (except the two the
real server forces: a Namespace's ``kubernetes.io/metadata.name`` label and its ``kubernetes``
finalizer). Sources, upstream (v1.29):

- ``SetDefaults_*`` of ``pkg/apis/core/v1/defaults.go`` (Service, Pod and pod specs -- see
  ``sandbox.defaulting_pods`` --, Secret, Namespace, Endpoints ports),
  ``pkg/apis/apps/v1/defaults.go`` (Deployment, ReplicaSet), ``pkg/apis/discovery/v1/defaults.go``
  (EndpointSlice ports), ``pkg/apis/rbac/v1/defaults.go`` (``roleRef`` and subjects' ``apiGroup``);
- the Secret conversion (``stringData`` written into ``data``, base64) and the registries'
  create strategies (a new Pod's ``status.phase: Pending`` and ``qosClass``, a Namespace's
  finalizer and ``phase: Active``);
- the admission plugins every cluster runs on Pods (DefaultTolerationSeconds, Priority).

``set_unowned`` is the part (those admission plugins, the Namespace finalizer) that the real
server sets after its field manager has recorded the write, so that no manager owns it; the create
path records ``managedFields`` between ``apply_defaults(..., unowned=False)`` and it.
- what Go's JSON encoder writes and leaves out, so that objects read back as from a real server:
  a Deployment's ``status: {}``, a template's ``creationTimestamp: null``, a Service's
  ``status.loadBalancer: {}``, an EndpointSlice's ``endpoints: null``; and first, no ``null``
  optional fields nor empty ``omitempty`` lists and maps (``sandbox.decoding.omit_empty``).

Not here, because they are not defaulting: ``metadata`` bookkeeping (uid, resourceVersion,
creationTimestamp, generation, managedFields), dropping a client's ``status`` on create and
keeping the stored one on update, and a Service's ``clusterIP``/``clusterIPs``/``ipFamilies``/
``ipFamilyPolicy``/``nodePort`` allocation: those belong to the write path (the real server's
registry strategies and Service allocator). Every rule was checked against a real kube-apiserver
v1.29 (``tests/test_sandbox_defaulting.py`` holds its answers).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from decimal import Decimal

from sandbox import decoding, quantities
from sandbox.defaulting_pods import pod_admission, pod_only, pod_spec
from sandbox.resources import Resource

SERVICE_AFFINITY_SECONDS = 10800  # v1.DefaultClientIPServiceAffinitySeconds


def _dict(parent: dict, key: str) -> dict:
    """``parent[key]`` as a dict, created when absent (``null`` too); a non-dict is left alone
    and a fresh, unattached dict returned, so that validation reports it, not defaulting."""
    value = parent.get(key)
    if value is None:
        value = parent[key] = {}
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _template(spec: dict) -> None:
    template = _dict(spec, "template")
    metadata = _dict(template, "metadata")
    metadata.setdefault("creationTimestamp", None)
    pod_spec(_dict(template, "spec"))


def _deployment(obj: dict) -> None:
    spec = _dict(obj, "spec")
    spec.setdefault("replicas", 1)
    strategy = _dict(spec, "strategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _dict(strategy, "rollingUpdate")
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(spec)
    _dict(obj, "status")


def _replica_set(obj: dict) -> None:
    spec = _dict(obj, "spec")
    spec.setdefault("replicas", 1)
    _template(spec)
    _dict(obj, "status").setdefault("replicas", 0)


def _pod(obj: dict) -> None:
    spec = _dict(obj, "spec")
    pod_spec(spec)
    pod_only(spec)
    status = _dict(obj, "status")
    status.setdefault("phase", "Pending")
    status.setdefault("qosClass", qos_class(spec))


def qos_class(spec: dict) -> str:
    """The pod's QoS class, as ``pkg/apis/core/v1/helper/qos.GetPodQOS`` computes it (cpu and memory
    only): Guaranteed when every container limits both and the requests equal the limits,
    BestEffort when nothing is requested or limited, else Burstable."""
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    for item in _list(spec.get("containers")) + _list(spec.get("initContainers")):
        resources = item.get("resources") if isinstance(item.get("resources"), dict) else {}
        found = set()
        for kind, total in (("requests", requests), ("limits", limits)):
            values = resources.get(kind)
            for name, text in values.items() if isinstance(values, dict) else ():
                value = quantities.parse(text)
                if name in ("cpu", "memory") and value:
                    total[name] = total.get(name, Decimal(0)) + value
                    if kind == "limits":
                        found.add(name)
        guaranteed = guaranteed and found == {"cpu", "memory"}
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and requests.keys() == limits.keys() and all(requests[k] == limits[k] for k in requests):
        return "Guaranteed"
    return "Burstable"


def _service(obj: dict) -> None:
    spec = _dict(obj, "spec")
    spec.setdefault("sessionAffinity", "None")
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        client_ip = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
        if client_ip.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": SERVICE_AFFINITY_SECONDS}}
    kind = spec.setdefault("type", "ClusterIP")
    for port in _list(spec.get("ports")):
        port.setdefault("protocol", "TCP")
        if port.get("targetPort") in (None, 0, "") and "port" in port:
            port["targetPort"] = port["port"]
    if kind in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if kind in ("NodePort", "LoadBalancer", "ClusterIP"):
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if kind == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    _dict(_dict(obj, "status"), "loadBalancer")


def _endpoint_slice(obj: dict) -> None:
    obj.setdefault("endpoints", None)
    obj.setdefault("ports", None)
    for endpoint in _list(obj.get("endpoints")):
        _dict(endpoint, "conditions")
    for port in _list(obj.get("ports")):
        port.setdefault("name", "")
        port.setdefault("protocol", "TCP")


def _endpoints(obj: dict) -> None:
    for subset in _list(obj.get("subsets")):
        for port in _list(subset.get("ports")):
            port.setdefault("protocol", "TCP")


def _namespace(obj: dict) -> None:
    metadata = _dict(obj, "metadata")
    if isinstance(metadata.get("name"), str):
        _dict(metadata, "labels")["kubernetes.io/metadata.name"] = metadata["name"]
    _dict(obj, "status").setdefault("phase", "Active")


def _secret(obj: dict) -> None:
    obj.setdefault("type", "Opaque")
    plain = obj.pop("stringData", None)
    if isinstance(plain, dict) and plain:
        data = _dict(obj, "data")
        for key, value in plain.items():
            if isinstance(value, str):
                data[key] = base64.b64encode(value.encode()).decode()


def _role(obj: dict) -> None:
    obj.setdefault("rules", None)


def _role_binding(obj: dict) -> None:
    _dict(obj, "roleRef").setdefault("apiGroup", "rbac.authorization.k8s.io")
    for subject in _list(obj.get("subjects")):
        if not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = "rbac.authorization.k8s.io"


def _event(obj: dict) -> None:
    _dict(obj, "involvedObject")
    _dict(obj, "source")
    for key in ("firstTimestamp", "lastTimestamp", "eventTime"):
        obj.setdefault(key, None)
    obj.setdefault("reportingComponent", "")
    obj.setdefault("reportingInstance", "")


DEFAULTERS: dict[str, Callable[[dict], None]] = {
    "Deployment": _deployment,
    "ReplicaSet": _replica_set,
    "Pod": _pod,
    "Service": _service,
    "EndpointSlice": _endpoint_slice,
    "Endpoints": _endpoints,
    "Namespace": _namespace,
    "Secret": _secret,
    "Role": _role,
    "RoleBinding": _role_binding,
    "Event": _event,
}


def apply_defaults(resource: Resource, obj: dict, *, unowned: bool = True) -> None:
    """Fill in ``obj``'s defaulted fields, in place (see the module docstring); ServiceAccount and
    ConfigMap have none. Never raises: a field of the wrong type is left for validation.
    ``unowned=False`` leaves out what ``set_unowned`` adds."""
    if not isinstance(obj, dict):
        return
    decoding.omit_empty(resource, obj)
    defaulter = DEFAULTERS.get(resource.kind)
    if defaulter is not None:
        defaulter(obj)
    if unowned:
        set_unowned(resource, obj)


def set_unowned(resource: Resource, obj: dict) -> None:
    """What the server sets after its field manager: mutating admission on a Pod
    (``sandbox.defaulting_pods.pod_admission``), a Namespace's ``kubernetes`` finalizer (its
    strategy's ``PrepareForCreate``)."""
    if not isinstance(obj, dict):
        return
    if resource.kind == "Pod" and isinstance(obj.get("spec"), dict):
        pod_admission(obj["spec"])
    elif resource.kind == "Namespace":
        spec = _dict(obj, "spec")
        if not spec.get("finalizers"):
            spec["finalizers"] = ["kubernetes"]
