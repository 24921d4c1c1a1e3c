"""Defaulting of pod specs, as the real API server does it (for Pods and pod templates alike).

The rules are upstream's ``pkg/apis/core/v1/defaults.go`` (``SetDefaults_PodSpec``,
``SetDefaults_Container``, ``SetDefaults_Probe``, ``SetDefaults_HTTPGetAction``,
``SetDefaults_ContainerPort``, ``SetDefaults_ObjectFieldSelector``, ``SetDefaults_Volume`` and the
volume sources' ``defaultMode``), plus what Go's JSON encoder always writes for a struct field
without ``omitempty`` (a container's ``resources: {}``, a ``resourceFieldRef``'s ``divisor: "0"``).
``pod_spec(spec)`` fills a spec in place; ``pod_only(spec)`` adds what only Pods get
(``SetDefaults_Pod``: requests copied from limits, ``enableServiceLinks``), and
``pod_admission(spec)`` what the DefaultTolerationSeconds and Priority admission plugins add
(tolerations, ``priority``, ``preemptionPolicy``).
Checked against a real kube-apiserver v1.29 (``tests/test_sandbox_defaulting.py``).
"""

from __future__ import annotations

import re

from sandbox import quantities

# A docker image reference (distribution/reference): [registry/]path[:tag][@digest].
IMAGE = re.compile(
    r"(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>[a-z0-9]+:[0-9a-fA-F]{32,}))?"
)
PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
FILE_MODE = 420  # 0644, SetDefaults_{Secret,ConfigMap,DownwardAPI,Projected}VolumeSource
TOLERATIONS = tuple(
    {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
)


def _dicts(value: object) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _dict(parent: dict, key: str) -> dict | None:
    value = parent.get(key)
    return value if isinstance(value, dict) else None


def image_pull_policy(image: object) -> str:
    """``Always`` when the reference's tag is ``latest`` (also when it has no tag nor digest),
    else ``IfNotPresent`` -- also for a missing or unparsable image (``ParseImageName`` failed)."""
    found = IMAGE.fullmatch(image) if isinstance(image, str) else None
    if found is None or (found.group("digest") and not found.group("tag")):
        return "IfNotPresent"
    return "Always" if (found.group("tag") or "latest") == "latest" else "IfNotPresent"


def http_get(action: dict | None) -> None:
    if action is not None:
        action.setdefault("path", "/")
        action.setdefault("scheme", "HTTP")


def _handler(handler: dict) -> None:
    http_get(_dict(handler, "httpGet"))
    grpc = _dict(handler, "grpc")
    if grpc is not None:
        grpc.setdefault("service", "")


def _probe(probe: dict | None) -> None:
    if probe is not None:
        _handler(probe)
        for key, value in PROBE_DEFAULTS.items():
            probe.setdefault(key, value)


def _env(entries: object) -> None:
    for entry in _dicts(entries):
        source = _dict(entry, "valueFrom") or {}
        field_ref = _dict(source, "fieldRef")
        if field_ref is not None:
            field_ref.setdefault("apiVersion", "v1")
        resource_ref = _dict(source, "resourceFieldRef")
        if resource_ref is not None:
            resource_ref.setdefault("divisor", "0")


def container(item: dict, host_network: bool) -> None:
    item.setdefault("imagePullPolicy", image_pull_policy(item.get("image")))
    item.setdefault("terminationMessagePath", "/dev/termination-log")
    item.setdefault("terminationMessagePolicy", "File")
    if not isinstance(item.get("resources"), dict):
        item["resources"] = {}
    for kind in ("requests", "limits"):  # canonical, rounded up to milli: SetDefaults_ResourceList
        amounts = item["resources"].get(kind)
        for name, amount in amounts.items() if isinstance(amounts, dict) else ():
            amounts[name] = quantities.canonical(amount, scale=-3)
    for port in _dicts(item.get("ports")):
        port.setdefault("protocol", "TCP")
        if host_network and not port.get("hostPort") and "containerPort" in port:
            port["hostPort"] = port["containerPort"]
    _env(item.get("env"))
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(_dict(item, name))
    lifecycle = _dict(item, "lifecycle") or {}
    for name in ("postStart", "preStop"):
        hook = _dict(lifecycle, name)
        if hook is not None:
            _handler(hook)


def _downward_items(source: dict) -> None:
    for item in _dicts(source.get("items")):
        field_ref = _dict(item, "fieldRef")
        if field_ref is not None:
            field_ref.setdefault("apiVersion", "v1")
        resource_ref = _dict(item, "resourceFieldRef")
        if resource_ref is not None:
            resource_ref.setdefault("divisor", "0")


def volume(item: dict) -> None:
    if not item.keys() - {"name"}:  # SetDefaults_Volume: no source at all is an emptyDir
        item["emptyDir"] = {}
    for name in ("secret", "configMap", "downwardAPI", "projected"):
        source = _dict(item, name)
        if source is not None:
            source.setdefault("defaultMode", FILE_MODE)
    _downward_items(_dict(item, "downwardAPI") or {})
    host_path = _dict(item, "hostPath")
    if host_path is not None:
        host_path.setdefault("type", "")
    for projection in _dicts((_dict(item, "projected") or {}).get("sources")):
        token = _dict(projection, "serviceAccountToken")
        if token is not None:
            token.setdefault("expirationSeconds", 3600)
        _downward_items(_dict(projection, "downwardAPI") or {})


def pod_spec(spec: dict) -> None:
    """``SetDefaults_PodSpec`` and everything below it, in place."""
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    if not isinstance(spec.get("securityContext"), dict):
        spec["securityContext"] = {}
    spec.setdefault("schedulerName", "default-scheduler")
    # The v1 <-> internal conversion keeps the deprecated serviceAccount equal to serviceAccountName.
    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if account:
        spec["serviceAccountName"] = spec["serviceAccount"] = account
    host_network = spec.get("hostNetwork") is True
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for item in _dicts(spec.get(key)):
            container(item, host_network and key != "ephemeralContainers")
    for item in _dicts(spec.get("volumes")):
        volume(item)


def pod_only(spec: dict) -> None:
    """What a Pod gets and a template does not: ``SetDefaults_Pod`` and two admission plugins."""
    for key in ("initContainers", "containers"):
        for item in _dicts(spec.get(key)):
            resources = item.get("resources")
            limits = resources.get("limits") if isinstance(resources, dict) else None
            if isinstance(limits, dict) and limits:
                requests = resources.setdefault("requests", {})
                if isinstance(requests, dict):
                    for name, value in limits.items():
                        requests.setdefault(name, value)
    spec.setdefault("enableServiceLinks", True)


def pod_admission(spec: dict) -> None:
    """What the DefaultTolerationSeconds and Priority admission plugins set on a new Pod: after
    the field manager has recorded the write, so that no manager owns it."""
    tolerations = spec.get("tolerations")
    if tolerations is None or isinstance(tolerations, list):
        tolerations = spec["tolerations"] = list(tolerations or [])
        # DefaultTolerationSeconds: a toleration with no key, or no effect, already covers it.
        no_execute = (None, "", "NoExecute")
        covered = {t.get("key") or "" for t in _dicts(tolerations) if t.get("effect") in no_execute}
        tolerations.extend(dict(t) for t in TOLERATIONS if not covered & {"", t["key"]})
    if not spec.get("priorityClassName"):
        spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
