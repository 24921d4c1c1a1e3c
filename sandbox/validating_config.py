"""Validation of Namespaces, Secrets, ConfigMaps, Events and RBAC objects (v1.29 sources).

``pkg/apis/core/validation``: ``ValidateSecret``/``ValidateSecretUpdate`` (config keys, 1 MiB,
the keys each ``type`` needs, ``immutable``), ``ValidateConfigMap``/``ValidateConfigMapUpdate``,
``ValidateNamespace`` (finalizer names) and the legacy Event rules (``involvedObject.namespace``
must match). ``pkg/apis/rbac/validation``: ``ValidatePolicyRule`` (verbs, API groups, resources;
no non-resource URLs in a namespaced Role) and ``ValidateRoleBinding`` (``roleRef`` group, kind
and name; subjects' kinds, names and groups; ``roleRef`` cannot change). Each function appends
to ``errors`` in the server's order; object metadata is checked by ``sandbox.validation``.
"""

from __future__ import annotations

import base64
import binascii

from sandbox import name_formats as formats
from sandbox.field_errors import FieldErrors, GoValue, go_quote, go_strings
from sandbox.validating_meta import _dicts

RBAC = "rbac.authorization.k8s.io"
MAX_SECRET_BYTES = 1024 * 1024
SECRET_KEYS = {  # type: the data keys it needs, and whether one of them is enough
    "kubernetes.io/basic-auth": (("username", "password"), True),
    "kubernetes.io/ssh-auth": (("ssh-privatekey",), False),
    "kubernetes.io/tls": (("tls.crt", "tls.key"), False),
    "kubernetes.io/dockercfg": ((".dockercfg",), False),
    "kubernetes.io/dockerconfigjson": ((".dockerconfigjson",), False),
}


def _decoded_size(value: object) -> int:
    try:
        return len(base64.b64decode(str(value), validate=True))
    except (binascii.Error, ValueError):
        return 0


def namespace(errors: FieldErrors, obj: dict, old: dict | None) -> None:
    for i, name in enumerate(((obj.get("spec") or {}).get("finalizers")) or []):
        if "/" not in str(name) and name != "kubernetes":
            detail = "name is neither a standard finalizer name nor is it fully qualified"
            errors.invalid(f"spec.finalizers[{i}]", name, detail)
        else:
            errors.all_invalid(f"spec.finalizers[{i}]", name, formats.is_qualified_name(str(name)))


def _immutable_data(errors: FieldErrors, obj: dict, old: dict | None, fields: tuple[str, ...]) -> None:
    if old is None or old.get("immutable") is not True:
        return
    if obj.get("immutable") is not True:
        errors.forbidden("immutable", "field is immutable when `immutable` is set")
    for name in fields:
        if obj.get(name) != old.get(name):
            errors.forbidden(name, "field is immutable when `immutable` is set")


def secret(errors: FieldErrors, obj: dict, old: dict | None) -> None:
    data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
    for key in data:
        errors.all_invalid(f"data[{key}]", key, formats.is_config_key(str(key)))
    if sum(_decoded_size(value) for value in data.values()) > MAX_SECRET_BYTES:
        errors.too_long("data", MAX_SECRET_BYTES)
    kind = obj.get("type") or ""
    account = ((obj.get("metadata") or {}).get("annotations") or {}).get("kubernetes.io/service-account.name")
    if kind == "kubernetes.io/service-account-token" and not account:
        errors.required("metadata.annotations[kubernetes.io/service-account.name]")
    keys, one_is_enough = SECRET_KEYS.get(kind, ((), False))
    if keys and not (one_is_enough and any(k in data for k in keys)):
        for key in keys:
            if key not in data or (kind == "kubernetes.io/ssh-auth" and not data[key]):
                errors.required(f"data[{key}]")
    if old is not None and kind != (old.get("type") or ""):
        errors.invalid("type", kind, "field is immutable")
    _immutable_data(errors, obj, old, ("data",))


def config_map(errors: FieldErrors, obj: dict, old: dict | None) -> None:
    data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
    binary = obj.get("binaryData") if isinstance(obj.get("binaryData"), dict) else {}
    for key in data:
        errors.all_invalid(f"data[{key}]", key, formats.is_config_key(str(key)))
        if key in binary:
            errors.invalid(f"data[{key}]", key, "duplicate of key present in binaryData")
    for key in binary:
        errors.all_invalid(f"binaryData[{key}]", key, formats.is_config_key(str(key)))
    size = sum(len(str(v).encode()) for v in data.values()) + sum(_decoded_size(v) for v in binary.values())
    if size > MAX_SECRET_BYTES:
        errors.too_long("", MAX_SECRET_BYTES)
    _immutable_data(errors, obj, old, ("data", "binaryData"))


def event(errors: FieldErrors, obj: dict, old: dict | None) -> None:
    own = (obj.get("metadata") or {}).get("namespace") or ""
    involved = ((obj.get("involvedObject") or {}).get("namespace")) or ""
    if not obj.get("eventTime"):
        if (not involved and own not in ("", "default")) or (involved and own != involved):
            errors.invalid("involvedObject.namespace", involved, "does not match event.namespace")
    else:
        if not involved and own not in ("default", "kube-system"):
            errors.invalid("involvedObject.namespace", involved, "does not match event.namespace")
        controller = obj.get("reportingComponent") or ""
        if not controller:
            errors.required("reportingComponent")
        errors.all_invalid("reportingComponent", controller, formats.is_qualified_name(controller))
        for field in ("reportingInstance", "action", "reason"):
            if not obj.get(field):
                errors.required(field)
    errors.all_invalid("namespace", own, formats.is_dns1123_subdomain(own))


def role(errors: FieldErrors, obj: dict, old: dict | None) -> None:
    for i, rule in enumerate(_dicts(obj.get("rules"))):
        at = f"rules[{i}]"
        if not rule.get("verbs"):
            errors.required(f"{at}.verbs", "verbs must contain at least one value")
        if rule.get("nonResourceURLs"):
            urls = go_strings(rule["nonResourceURLs"])
            detail = "namespaced rules cannot apply to non-resource URLs"
            errors.invalid(f"{at}.nonResourceURLs", urls, detail)
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                detail = "rules cannot apply to both regular resources and non-resource URLs"
                errors.invalid(f"{at}.nonResourceURLs", urls, detail)
            continue
        if not rule.get("apiGroups"):
            errors.required(f"{at}.apiGroups", "resource rules must supply at least one api group")
        if not rule.get("resources"):
            errors.required(f"{at}.resources", "resource rules must supply at least one resource")


def _subject(errors: FieldErrors, subject: dict, at: str) -> None:
    name, kind, group = subject.get("name") or "", subject.get("kind") or "", subject.get("apiGroup") or ""
    if not name:
        errors.required(f"{at}.name")
    if kind == "ServiceAccount":
        if name:
            errors.all_invalid(f"{at}.name", name, formats.is_dns1123_subdomain(name))
        if group:
            errors.not_supported(f"{at}.apiGroup", group, ("",))
    elif kind in ("User", "Group"):
        if group != RBAC:
            errors.not_supported(f"{at}.apiGroup", group, (RBAC,))
    else:
        errors.not_supported(f"{at}.kind", kind, ("ServiceAccount", "User", "Group"))


def role_binding(errors: FieldErrors, obj: dict, old: dict | None) -> None:
    ref = obj.get("roleRef") if isinstance(obj.get("roleRef"), dict) else {}
    if ref.get("apiGroup") != RBAC:
        errors.not_supported("roleRef.apiGroup", ref.get("apiGroup") or "", (RBAC,))
    if ref.get("kind") not in ("Role", "ClusterRole"):
        errors.not_supported("roleRef.kind", ref.get("kind") or "", ("Role", "ClusterRole"))
    if not ref.get("name"):
        errors.required("roleRef.name")
    else:
        errors.all_invalid("roleRef.name", ref["name"], formats.is_path_segment_name(str(ref["name"])))
    for i, subject in enumerate(_dicts(obj.get("subjects"))):
        _subject(errors, subject, f"subjects[{i}]")
    if old is not None and ref != (old.get("roleRef") or {}):
        fields = (("APIGroup", "apiGroup"), ("Kind", "kind"), ("Name", "name"))
        shown = ", ".join(f"{key}:{go_quote(str(ref.get(field) or ''))}" for key, field in fields)
        errors.invalid("roleRef", GoValue("rbac.RoleRef{" + shown + "}"), "cannot change roleRef")
