"""What every kind's validation shares, as ``k8s.io/apimachinery``'s and ``pkg/apis/core``'s validators.

``object_meta`` is ``ValidateObjectMetaAccessor`` (name or generateName, namespace, generation,
labels, annotations); ``labels``/``annotations`` are ``ValidateLabels``/``ValidateAnnotations``;
``nonnegative`` is ``ValidateNonnegativeField``; ``port_number_or_name`` is
``ValidatePortNumOrName`` (an IntOrString port: a number in range or an IANA service name).
"""

from __future__ import annotations

from sandbox import name_formats as formats
from sandbox.field_errors import FieldErrors


def _dicts(value: object) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def nonnegative(errors: FieldErrors, value: object, path: str) -> None:
    if _int(value) < 0:
        errors.invalid(path, value, "must be greater than or equal to 0")


def labels(errors: FieldErrors, mapping: object, path: str) -> None:
    """``ValidateLabels``: every key a qualified name, every value a label value."""
    for key, value in (mapping or {}).items() if isinstance(mapping, dict) else ():
        errors.all_invalid(path, key, formats.is_qualified_name(str(key)))
        errors.all_invalid(path, value, formats.is_label_value(str(value or "")))


def annotations(errors: FieldErrors, mapping: object, path: str) -> None:
    """``ValidateAnnotations``: keys are qualified names (checked lower-cased), 256 KiB in all."""
    if not isinstance(mapping, dict):
        return
    for key in mapping:
        errors.all_invalid(path, key, formats.is_qualified_name(str(key).lower()))
    if sum(len(str(k)) + len(str(v or "")) for k, v in mapping.items()) > 256 * 1024:
        errors.too_long(path, 256 * 1024)


def port_number_or_name(errors: FieldErrors, value: object, path: str) -> None:
    if isinstance(value, str):
        errors.all_invalid(path, value, formats.is_port_name(value))
    else:
        errors.all_invalid(path, _int(value), formats.is_port_number(_int(value)))


def object_meta(errors: FieldErrors, meta: dict, namespaced: bool, name_check) -> None:
    generate = meta.get("generateName") or ""
    if generate:
        errors.all_invalid("metadata.generateName", generate, name_check(generate.rstrip("-") or "a"))
    name = meta.get("name") or ""
    if not name:
        errors.required("metadata.name", "name or generateName is required")
    else:
        errors.all_invalid("metadata.name", name, name_check(name))
    namespace = meta.get("namespace") or ""
    if namespaced and not namespace:
        errors.required("metadata.namespace")
    elif namespaced:
        errors.all_invalid("metadata.namespace", namespace, formats.is_dns1123_label(namespace))
    elif namespace:
        errors.forbidden("metadata.namespace", "not allowed on this type")
    nonnegative(errors, meta.get("generation", 0), "metadata.generation")
    labels(errors, meta.get("labels"), "metadata.labels")
    annotations(errors, meta.get("annotations"), "metadata.annotations")
