"""Field errors and the ``422 Invalid`` Status built from them, worded as the real API server words them.

``FieldErrors`` is ``k8s.io/apimachinery/pkg/util/validation/field``'s ``ErrorList``: each error
has a ``reason`` (``FieldValueRequired``, ``FieldValueInvalid``, ``FieldValueNotSupported``,
``FieldValueDuplicate``, ``FieldValueForbidden``, ``FieldValueNotFound``, ``FieldValueTooLong``,
``FieldValueTooMany``), a ``field`` path (``spec.template.spec.containers[0].image``,
``data[key]``) and a message body (``Required value``, ``Invalid value: -1: must be greater than
or equal to 0``, ``Unsupported value: "x": supported values: "a", "b"``).

Bad values are printed as Go prints them (``field.Error.ErrorBody``): strings quoted, numbers and
booleans bare, ``null`` for nothing, anything else with Go's ``%#v`` -- which callers render with
``go_map``, ``go_strings``, ``go_int_or_string`` or a ``GoValue`` of their own.

``invalid(resource, name, errors)`` is ``errors.NewInvalid``: the ``ApiError`` (422, reason
``Invalid``) whose message is ``Deployment.apps "x" is invalid: <error>`` (several errors in
brackets, duplicates once) and whose ``details`` are ``{name, group, kind, causes}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sandbox.resources import Resource
from sandbox.wire import ApiError


class GoValue(str):
    """A value already rendered as Go's ``%#v`` would print it: written out without quotes."""


def go_quote(text: str) -> str:
    """Go's ``%q`` (``strconv.Quote``) for the strings that matter here: JSON's quoting, with
    printable non-ASCII characters kept as they are."""
    return json.dumps(text, ensure_ascii=False)


def go_value(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, GoValue):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, int | float):
        return str(value)
    return GoValue(json.dumps(value))  # not expected: a shape callers should have rendered


def go_map(mapping: object) -> GoValue:
    """``map[string]string{"a":"b", "c":"d"}`` (keys sorted, as fmt sorts them), or ``(nil)``."""
    if not isinstance(mapping, dict) or mapping is None:
        return GoValue("map[string]string(nil)")
    inner = ", ".join(f"{go_quote(str(k))}:{go_quote(str(v))}" for k, v in sorted(mapping.items()))
    return GoValue(f"map[string]string{{{inner}}}")


def go_strings(values: object) -> GoValue:
    if not isinstance(values, list):
        return GoValue("[]string(nil)")
    return GoValue("[]string{" + ", ".join(go_quote(str(v)) for v in values) + "}")


def go_int_or_string(value: object) -> GoValue:
    if isinstance(value, str):
        return GoValue(f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{go_quote(value)}}}")
    number = value if isinstance(value, int) and not isinstance(value, bool) else 0
    return GoValue(f'intstr.IntOrString{{Type:0, IntVal:{number}, StrVal:""}}')


class FieldErrors(list):
    """An ordered list of ``{"reason", "message", "field"}`` causes, as the validators find them."""

    def _add(self, reason: str, field: str, message: str) -> None:
        self.append({"reason": reason, "message": message, "field": field})

    def required(self, field: str, detail: str = "") -> None:
        self._add("FieldValueRequired", field, "Required value" + (f": {detail}" if detail else ""))

    def forbidden(self, field: str, detail: str) -> None:
        self._add("FieldValueForbidden", field, "Forbidden" + (f": {detail}" if detail else ""))

    def invalid(self, field: str, value: object, detail: str = "") -> None:
        text = f"Invalid value: {go_value(value)}"
        self._add("FieldValueInvalid", field, text + (f": {detail}" if detail else ""))

    def not_supported(self, field: str, value: object, supported: Iterable[str]) -> None:
        listed = ", ".join(go_quote(v) for v in supported)
        text = f"Unsupported value: {go_value(value)}"
        self._add("FieldValueNotSupported", field, text + (f": supported values: {listed}" if listed else ""))

    def duplicate(self, field: str, value: object) -> None:
        self._add("FieldValueDuplicate", field, f"Duplicate value: {go_value(value)}")

    def not_found(self, field: str, value: object) -> None:
        self._add("FieldValueNotFound", field, f"Not found: {go_value(value)}")

    def too_long(self, field: str, limit: int) -> None:
        self._add("FieldValueTooLong", field, f"Too long: must have at most {limit} bytes")

    def too_many(self, field: str, count: int, limit: int) -> None:
        self._add("FieldValueTooMany", field, f"Too many: {count}: must have at most {limit} items")

    def all_invalid(self, field: str, value: object, messages: Iterable[str]) -> None:
        """One ``invalid`` per message of a format check (``sandbox.name_formats``)."""
        for message in messages:
            self.invalid(field, value, message)


def qualified_kind(resource: Resource) -> str:
    """``Deployment.apps``, ``Role.rbac.authorization.k8s.io``; ``Pod`` for the core group."""
    return f"{resource.kind}.{resource.group}" if resource.group else resource.kind


def invalid(resource: Resource, name: str, errors: list[dict]) -> ApiError:
    """The 422 ``Invalid`` error for ``errors`` (non-empty), as ``errors.NewInvalid`` builds it."""
    lines = list(
        dict.fromkeys(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors)
    )
    summary = lines[0] if len(lines) == 1 else "[" + ", ".join(lines) + "]"
    message = f"{qualified_kind(resource)} {go_quote(name)} is invalid: {summary}"
    error = ApiError(422, "Invalid", message)
    details = {"name": name, "group": resource.group, "kind": resource.kind}
    details = {key: value for key, value in details.items() if value}
    error.body["details"] = details | {"causes": [dict(e) for e in errors]}
    return error
