"""Validation of pod specs and pod templates, as ``pkg/apis/core/validation/validation.go`` (v1.29).

``pod_spec(errors, spec, path)`` is ``ValidatePodSpec`` for the parts a workload sets: volumes,
containers and init containers (name, image, ports, env, probes, lifecycle hooks, resources,
volume mounts, pull and termination-message policies), restart and DNS policies, the service
account's name. ``pod_template(errors, template, path)`` is ``ValidatePodTemplateSpec`` (the
template's labels and annotations, then its spec). Messages and field paths are the real
server's; errors are appended to ``errors`` (a ``FieldErrors``) in the order the server finds them.
"""

from __future__ import annotations

from sandbox import name_formats as formats
from sandbox import quantities
from sandbox.field_errors import FieldErrors
from sandbox.validating_meta import _dicts, _int, annotations, labels, nonnegative, port_number_or_name

PROTOCOLS = ("SCTP", "TCP", "UDP")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc", "sleep")
# The pod fields env vars may read (validEnvDownwardAPIFieldPathExpressions) and the ones the
# pod field-label conversion knows at all (others: "error converting fieldPath").
ENV_FIELDS = (
    "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
    "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
)  # fmt: skip
POD_FIELD_LABELS = (
    *ENV_FIELDS, "metadata.annotations", "metadata.labels", "spec.restartPolicy", "spec.schedulerName",
    "spec.hostNetwork", "status.phase", "status.nominatedNodeName",
)  # fmt: skip


def _handler(errors: FieldErrors, handler: dict, path: str) -> None:
    found = 0
    for kind in HANDLERS:
        action = handler.get(kind)
        if action is None:
            continue
        if found:
            errors.forbidden(f"{path}.{kind}", "may not specify more than 1 handler type")
            continue
        found += 1
        action = action if isinstance(action, dict) else {}
        if kind == "exec" and not action.get("command"):
            errors.required(f"{path}.exec.command")
        elif kind == "httpGet":
            if not action.get("path"):
                errors.required(f"{path}.httpGet.path")
            port_number_or_name(errors, action.get("port"), f"{path}.httpGet.port")
            if action.get("scheme") not in ("HTTP", "HTTPS"):
                errors.not_supported(f"{path}.httpGet.scheme", action.get("scheme", ""), ("HTTP", "HTTPS"))
        elif kind == "tcpSocket":
            port_number_or_name(errors, action.get("port"), f"{path}.tcpSocket.port")
        elif kind == "grpc":
            port = _int(action.get("port"))
            errors.all_invalid(f"{path}.grpc.port", port, formats.is_port_number(port))
    if not found:
        errors.required(path, "must specify a handler type")


def _probe(errors: FieldErrors, probe: object, path: str, kind: str) -> None:
    if not isinstance(probe, dict):
        return
    _handler(errors, probe, path)
    for name in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        nonnegative(errors, probe.get(name, 0), f"{path}.{name}")
    grace = probe.get("terminationGracePeriodSeconds")
    if grace is not None and _int(grace) <= 0:
        errors.invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than 0")
    if kind == "readiness" and grace is not None:
        errors.invalid(f"{path}.terminationGracePeriodSeconds", grace, "must not be set for readinessProbes")
    if kind in ("liveness", "startup") and probe.get("successThreshold", 1) != 1:
        errors.invalid(f"{path}.successThreshold", probe.get("successThreshold"), "must be 1")


def _ports(errors: FieldErrors, ports: object, path: str) -> None:
    names: set[str] = set()
    for i, port in enumerate(_dicts(ports)):
        at = f"{path}[{i}]"
        name = port.get("name") or ""
        if name:
            problems = formats.is_port_name(name)
            errors.all_invalid(f"{at}.name", name, problems)
            if not problems and name in names:
                errors.duplicate(f"{at}.name", name)
            names.add(name)
        number = _int(port.get("containerPort"))
        if number == 0:
            errors.required(f"{at}.containerPort")
        else:
            errors.all_invalid(f"{at}.containerPort", number, formats.is_port_number(number))
        if _int(port.get("hostPort")):
            errors.all_invalid(f"{at}.hostPort", port["hostPort"], formats.is_port_number(port["hostPort"]))
        protocol = port.get("protocol") or ""
        if not protocol:
            errors.required(f"{at}.protocol")
        elif protocol not in PROTOCOLS:
            errors.not_supported(f"{at}.protocol", protocol, PROTOCOLS)


def _env(errors: FieldErrors, entries: object, path: str) -> None:
    for i, entry in enumerate(_dicts(entries)):
        at = f"{path}[{i}]"
        name = entry.get("name") or ""
        if not name:
            errors.required(f"{at}.name")
        else:
            errors.all_invalid(f"{at}.name", name, formats.is_env_var_name(name))
        source = entry.get("valueFrom")
        if not isinstance(source, dict):
            continue
        given = [
            key
            for key in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
            if source.get(key)
        ]
        if len(given) > 1:
            errors.invalid(f"{at}.valueFrom", "", "may not have more than one field specified at a time")
        elif entry.get("value") and given:
            errors.invalid(f"{at}.valueFrom", "", "may not be specified when `value` is not empty")
        field_ref = source.get("fieldRef") if isinstance(source.get("fieldRef"), dict) else None
        if field_ref is not None:
            _field_path(errors, field_ref, f"{at}.valueFrom.fieldRef")
        for key in ("configMapKeyRef", "secretKeyRef"):
            ref = source.get(key)
            if isinstance(ref, dict) and not ref.get("key"):
                errors.required(f"{at}.valueFrom.{key}.key")


def _field_path(errors: FieldErrors, ref: dict, path: str) -> None:
    field_path = ref.get("fieldPath") or ""
    if not ref.get("apiVersion"):
        errors.required(f"{path}.apiVersion")
    if not field_path:
        errors.required(f"{path}.fieldPath")
        return
    base = field_path.split("[", 1)[0] if field_path.endswith("]") else field_path
    if base in ("metadata.labels", "metadata.annotations") and base != field_path:
        return
    if base not in POD_FIELD_LABELS:
        errors.invalid(
            f"{path}.fieldPath",
            field_path,
            f"error converting fieldPath: field label not supported: {field_path}",
        )
    elif field_path not in ENV_FIELDS:
        errors.not_supported(f"{path}.fieldPath", field_path, sorted(ENV_FIELDS))


def _resources(errors: FieldErrors, resources: object, path: str) -> None:
    if not isinstance(resources, dict):
        return
    limits = resources.get("limits") if isinstance(resources.get("limits"), dict) else {}
    requests = resources.get("requests") if isinstance(resources.get("requests"), dict) else {}
    for kind, values in (("limits", limits), ("requests", requests)):
        for name, text in values.items():
            value = quantities.parse(text)
            if value is not None and value < 0:
                errors.invalid(f"{path}.{kind}[{name}]", text, "must be greater than or equal to 0")
    for name, text in requests.items():
        wanted, ceiling = quantities.parse(text), quantities.parse(limits.get(name))
        if wanted is not None and ceiling is not None and wanted > ceiling:
            detail = f"must be less than or equal to {name} limit of {limits[name]}"
            errors.invalid(f"{path}.requests", text, detail)


def _container(errors: FieldErrors, item: dict, path: str, volumes: set[str]) -> None:
    name = item.get("name") or ""
    if not name:
        errors.required(f"{path}.name")
    else:
        errors.all_invalid(f"{path}.name", name, formats.is_dns1123_label(name))
    if not item.get("image"):
        errors.required(f"{path}.image")
    policy = item.get("terminationMessagePolicy") or ""
    if not policy:
        errors.required(f"{path}.terminationMessagePolicy")
    elif policy not in ("File", "FallbackToLogsOnError"):
        errors.not_supported(f"{path}.terminationMessagePolicy", policy, ("File", "FallbackToLogsOnError"))
    _ports(errors, item.get("ports"), f"{path}.ports")
    _env(errors, item.get("env"), f"{path}.env")
    mounts: set[str] = set()
    for i, mount in enumerate(_dicts(item.get("volumeMounts"))):
        at = f"{path}.volumeMounts[{i}]"
        if not mount.get("name"):
            errors.required(f"{at}.name")
        if mount.get("name") not in volumes:
            errors.not_found(f"{at}.name", mount.get("name") or "")
        if not mount.get("mountPath"):
            errors.required(f"{at}.mountPath")
        elif mount["mountPath"] in mounts:
            errors.invalid(f"{at}.mountPath", mount["mountPath"], "must be unique")
        mounts.add(mount.get("mountPath"))
    pull = item.get("imagePullPolicy") or ""
    if not pull:
        errors.required(f"{path}.imagePullPolicy")
    elif pull not in PULL_POLICIES:
        errors.not_supported(f"{path}.imagePullPolicy", pull, PULL_POLICIES)
    _resources(errors, item.get("resources"), f"{path}.resources")


def _containers(errors: FieldErrors, items: object, path: str, volumes: set[str], *, init: bool) -> None:
    containers = _dicts(items)
    if not containers and not init:
        errors.required(path)
        return
    seen: set[str] = set()
    for i, item in enumerate(containers):
        at = f"{path}[{i}]"
        _container(errors, item, at, volumes)
        if item.get("name") in seen:
            errors.duplicate(f"{at}.name", item.get("name"))
        seen.add(item.get("name"))
        if init:
            continue
        for hook in ("postStart", "preStop"):
            handler = (item.get("lifecycle") or {}).get(hook)
            if isinstance(handler, dict):
                _handler(errors, handler, f"{at}.lifecycle.{hook}")
        for kind in ("liveness", "readiness", "startup"):
            _probe(errors, item.get(f"{kind}Probe"), f"{at}.{kind}Probe", kind)


def _volumes(errors: FieldErrors, items: object, path: str, spec: dict) -> set[str]:
    names: set[str] = set()
    for i, volume in enumerate(_dicts(items)):
        at = f"{path}[{i}]"
        found = FieldErrors()
        sources = [key for key in volume if key != "name"]
        if not sources:
            found.required(at, "must specify a volume type")
        for extra in sources[1:]:
            found.forbidden(f"{at}.{extra}", "may not specify more than 1 volume type")
        source = volume.get(sources[0]) if sources else None
        source = source if isinstance(source, dict) else {}
        required = {
            "secret": "secretName",
            "configMap": "name",
            "hostPath": "path",
            "persistentVolumeClaim": "claimName",
        }
        if sources and sources[0] in required and not source.get(required[sources[0]]):
            found.required(f"{at}.{sources[0]}.{required[sources[0]]}")
        mode = source.get("defaultMode")
        if mode is not None and not 0 <= _int(mode) <= 0o777:
            found.invalid(
                f"{at}.{sources[0]}.defaultMode",
                mode,
                "must be a number between 0 and 0777 (octal), both inclusive",
            )
        for j, projection in enumerate(_dicts(source.get("sources")) if sources[:1] == ["projected"] else []):
            if "serviceAccountToken" in projection and not spec.get("serviceAccountName"):
                where = f"{at}.projected.sources[{j}].serviceAccountToken"
                found.forbidden(where, "must not be specified when serviceAccountName is not set")
        name = volume.get("name") or ""
        if not name:
            found.required(f"{at}.name")
        else:
            found.all_invalid(f"{at}.name", name, formats.is_dns1123_label(name))
        if name in names:
            found.duplicate(f"{at}.name", name)
        if not found:
            names.add(name)
        errors.extend(found)
    return names


def pod_spec(errors: FieldErrors, spec: dict, path: str) -> None:
    volumes = _volumes(errors, spec.get("volumes"), f"{path}.volumes", spec)
    _containers(errors, spec.get("containers"), f"{path}.containers", volumes, init=False)
    _containers(errors, spec.get("initContainers"), f"{path}.initContainers", volumes, init=True)
    for field, allowed in (("restartPolicy", RESTART_POLICIES), ("dnsPolicy", DNS_POLICIES)):
        value = spec.get(field) or ""
        if not value:
            errors.required(f"{path}.{field}")
        elif value not in allowed:
            errors.not_supported(f"{path}.{field}", value, allowed)
    labels(errors, spec.get("nodeSelector"), f"{path}.nodeSelector")
    account = spec.get("serviceAccountName") or ""
    if account:
        errors.all_invalid(f"{path}.serviceAccountName", account, formats.is_dns1123_subdomain(account))
    if spec.get("hostname"):
        errors.all_invalid(
            f"{path}.hostname", spec["hostname"], formats.is_dns1123_label(str(spec["hostname"]))
        )


def pod_template(errors: FieldErrors, template: dict, path: str) -> None:
    metadata = template.get("metadata") if isinstance(template.get("metadata"), dict) else {}
    labels(errors, metadata.get("labels"), f"{path}.labels")
    annotations(errors, metadata.get("annotations"), f"{path}.annotations")
    spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    pod_spec(errors, spec, f"{path}.spec")
    if spec.get("ephemeralContainers"):
        errors.forbidden(
            f"{path}.spec.ephemeralContainers", "ephemeral containers not allowed in pod template"
        )
