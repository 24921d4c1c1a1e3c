"""Validation, as the real API server does it: ``422 Invalid`` with the fields named, and the
decoder's ``400 BadRequest`` for unknown, duplicate or mistyped fields.

The write path calls, for every create, replace, patch and apply::

    warnings = check_fields(resource, obj, request.query.get("fieldValidation"),
                            raw=request.body, operation="create" | "update" | "patch")
    apply_defaults(resource, obj)            # sandbox.defaulting
    check(resource, obj, old)                # old: the stored object on update, else None

``check_fields(resource, obj, directive=None, *, raw=None, operation="create") -> list[str]``
reads ``obj`` (the decoded body, or the patched object) as the real server's decoder would:

- a ``directive`` other than ``""``/``Ignore``/``Warn``/``Strict`` -> 422 ``CreateOptions.meta.k8s.io
  "" is invalid: fieldValidation: Unsupported value: ...`` (``UpdateOptions``/``PatchOptions``);
- another kind or version in the body -> 400 ``... no kind "X" is registered for version ...``;
- a value of the wrong JSON type -> 400 ``Deployment in version "v1" cannot be handled as a
  Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas
  of type int32`` (also for Ignore and Warn: the real decoder cannot store it either);
- unknown fields (and, given ``raw``, the JSON body, duplicate keys) are removed from ``obj`` in
  place, as the real server never stores them, and then: ``Strict`` -> 400 ``... strict decoding
  error: unknown field "spec.foo", unknown field "baz"``; ``Warn`` or no directive (the default
  since v1.27) -> returned as warning texts (``unknown field "spec.foo"``) for the response's
  ``Warning`` headers (``warning_headers(texts)`` formats them: ``299 - "unknown field \\"spec.foo\\""``);
  ``Ignore`` -> ``[]``.

For ``operation="patch"`` the real server words decoding failures of the patched object as a 422
on ``patch`` (``"" is invalid: patch: Invalid value: "<patched object>": strict decoding error:
...``); so does this (the value shown is the object's JSON, as for a JSON merge patch).

``check(resource, obj, old=None)`` raises ``ApiError(422, "Invalid", ...)`` whose Status is the
real server's (``Deployment.apps "x" is invalid: spec.replicas: Invalid value: -1: must be
greater than or equal to 0``; ``details`` ``{name, group, kind, causes: [{reason, message,
field}]}``, see ``sandbox.field_errors``), or returns when ``obj`` is valid. Call it after
defaulting, with ``metadata.namespace`` set for namespaced kinds. ``old`` enables the update rules
(immutable ``spec.selector``, ``addressType``, ``roleRef``, a Service's first cluster IP, an
immutable Secret's or ConfigMap's data). Per-kind rules: ``sandbox.validating_*``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

from sandbox import decoding, defaulting, resources
from sandbox import name_formats as formats
from sandbox.field_errors import FieldErrors, invalid
from sandbox.resources import Resource
from sandbox.validating_apps import deployment, replica_set
from sandbox.validating_config import config_map, event, namespace, role, role_binding, secret
from sandbox.validating_meta import object_meta
from sandbox.validating_network import endpoint_slice, endpoints, service
from sandbox.validating_pods import pod_spec
from sandbox.wire import ApiError

Validator = Callable[[FieldErrors, dict, dict | None], None]
DIRECTIVES = ("", "Ignore", "Strict", "Warn")
OPTIONS = {"create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions"}


POD_UPDATE = (
    "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


def _pod(errors: FieldErrors, obj: dict, old: dict | None) -> None:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    pod_spec(errors, spec, "spec")
    if old is not None and _changed_pod_spec(old, obj):
        errors.forbidden("spec", POD_UPDATE)  # the real message goes on with a cmp diff of the specs


def _changed_pod_spec(old: dict, new: dict) -> bool:
    """``ValidatePodUpdate``: whether ``new``'s spec changes more than what a pod update may."""
    before, after = copy.deepcopy(old), copy.deepcopy(new)
    for obj in (before, after):  # compare defaulted specs, whatever wrote the stored one
        defaulting.apply_defaults(resources.PODS, obj)
    before, after = before["spec"], after["spec"]
    for key in ("containers", "initContainers"):
        for was, now in zip(before.get(key) or [], after.get(key) or [], strict=False):
            if isinstance(was, dict) and isinstance(now, dict) and "image" in now:
                was["image"] = now["image"]
    before.pop("activeDeadlineSeconds", None)
    if "activeDeadlineSeconds" in after:
        before["activeDeadlineSeconds"] = after["activeDeadlineSeconds"]
    grace = before.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and grace < 0 and after.get("terminationGracePeriodSeconds") == 1:
        before["terminationGracePeriodSeconds"] = 1
    tolerations = after.get("tolerations") or []
    if all(t in tolerations for t in before.get("tolerations") or []):
        before["tolerations"] = tolerations
    return before != after


def _nothing(errors: FieldErrors, obj: dict, old: dict | None) -> None:
    return None


# kind: (name rule, the kind's own validator); None: no metadata check before the kind's own.
KINDS: dict[str, tuple[Callable[[str], list[str]] | None, Validator]] = {
    "Deployment": (formats.is_dns1123_subdomain, deployment),
    "ReplicaSet": (formats.is_dns1123_subdomain, replica_set),
    "Pod": (formats.is_dns1123_subdomain, _pod),
    "Service": (formats.is_dns1035_label, service),
    "EndpointSlice": (formats.is_dns1123_subdomain, endpoint_slice),
    "Endpoints": (formats.is_dns1123_subdomain, endpoints),
    "Namespace": (formats.is_dns1123_label, namespace),
    "ServiceAccount": (formats.is_dns1123_subdomain, _nothing),
    "Secret": (formats.is_dns1123_subdomain, secret),
    "ConfigMap": (formats.is_dns1123_subdomain, config_map),
    "Role": (formats.is_path_segment_name, role),
    "RoleBinding": (formats.is_path_segment_name, role_binding),
    "Event": (None, event),
}


def check(resource: Resource, obj: dict, old: dict | None = None) -> None:
    """Raise ``ApiError`` 422 naming every invalid field of ``obj``; return when it is valid.
    A value of the wrong JSON type is the decoder's 400 (as from ``check_fields``): the real
    server never gets as far as validating it."""
    problem = decoding.type_error(resource, obj)
    if problem:
        raise _decoding_error(resource, obj, problem, "create")
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name_rule, validator = KINDS.get(resource.kind, (formats.is_dns1123_subdomain, _nothing))
    errors = FieldErrors()
    if name_rule is not None:
        object_meta(errors, meta, resource.namespaced, name_rule)
    validator(errors, obj, old)
    if not errors:  # rest.BeforeCreate: the common metadata rules, once the kind's own have passed
        object_meta(errors, meta, resource.namespaced, formats.is_path_segment_name)
    if errors:
        raise invalid(resource, str(meta.get("name") or ""), errors)


def _decoding_error(resource: Resource, obj: dict, message: str, operation: str) -> ApiError:
    if operation == "patch":  # the patch handler's errors.NewInvalid(schema.GroupKind{}, "", ...)
        errors = FieldErrors()
        errors.invalid("patch", json.dumps(obj, separators=(",", ":")), message)
        return invalid(Resource("", "", "", "", "", ()), "", errors)
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) and obj.get("kind") else resource.kind
    version = str(obj.get("apiVersion") or resource.api_version).rsplit("/", 1)[-1]
    message = f'{kind} in version "{version}" cannot be handled as a {kind}: {message}'
    return ApiError(400, "BadRequest", message)


def check_fields(
    resource: Resource,
    obj: dict,
    directive: str | None = None,
    *,
    raw: bytes | None = None,
    operation: str = "create",
) -> list[str]:
    """See the module docstring: raise the decoder's 400 (422 for a patch, or for a bad
    ``directive``), drop unknown and duplicate fields from ``obj``, return the warnings to send."""
    directive = directive or ""
    if directive not in DIRECTIVES:
        errors = FieldErrors()
        errors.not_supported("fieldValidation", directive, DIRECTIVES)
        options = Resource("meta.k8s.io", "v1", "", OPTIONS.get(operation, "CreateOptions"), "", ())
        raise invalid(options, "", errors)
    problem = decoding.kind_error(resource, obj) or decoding.type_error(resource, obj)
    if problem:
        raise _decoding_error(resource, obj, problem, operation)
    found = [f'duplicate field "{path}"' for path in decoding.duplicate_fields(raw)] if raw else []
    found += [f'unknown field "{path}"' for path in decoding.unknown_fields(resource, obj, drop=True)]
    if found and directive == "Strict":
        raise _decoding_error(resource, obj, "strict decoding error: " + ", ".join(found), operation)
    return found if directive in ("", "Warn") else []


def warning_headers(texts: list[str]) -> list[tuple[bytes, bytes]]:
    """``Warning`` response headers for ``texts``, as the real server sends them (code 299)."""
    return [(b"warning", ("299 - " + json.dumps(text)).encode()) for text in texts]
