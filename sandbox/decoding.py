"""What the real API server's JSON decoder refuses or reports before validation even runs.

The real server decodes a body into the kind's Go struct (``sigs.k8s.io/json``, case-sensitive,
strict when asked). Read against the kind's schema (``sandbox.schemas.shapes``), that gives:

- ``type_error(resource, obj)``: the first value of the wrong JSON type, as Go words it --
  ``json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type
  int32`` (``number 1.5`` for a fraction or an out-of-range number where an integer goes), or a
  custom decoder's error (``quantities must match the regular expression ...``, ``parsing time``,
  ``illegal base64 data at input byte N``). ``None`` when every value fits.
- ``unknown_fields(resource, obj, drop=...)``: the paths of fields the schema does not know, in
  document order (``spec.template.spec.containers[0].bar``); ``drop=True`` removes them, as the
  real decoder drops them (they are never stored).
- ``duplicate_fields(raw)``: the paths of keys given twice in a JSON body (``metadata.name``).
- ``kind_error(resource, obj)``: an ``apiVersion``/``kind`` the endpoint does not serve.
- ``omit_empty(resource, obj)``: drops, in place, what the real server would not write back:
  ``null`` optional fields and empty lists and maps in fields tagged ``omitempty`` (Go's encoder
  leaves them out), so ``ports: []`` or ``labels: {}`` read back as absent, as from a real server.

``sandbox.validation.check_fields`` turns these into the server's 400s and warnings.
"""

from __future__ import annotations

import json
import re

from sandbox import quantities, schemas
from sandbox.resources import Resource

RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


class _Found(Exception):
    """A custom decoder's error (Quantity, Time, base64): Go stops decoding at once."""


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else "number"


def _go_type(shape: tuple, types: dict) -> str:
    if shape[0] == "ref":
        target = types.get(shape[1], ("object",))
        if target[0] == "scalar" and target[1] == "int-or-string":
            return "int32"
        package, name = shape[1].split(".")[-2:]
        return f"{package}.{name}"
    if shape[0] == "array":
        return "[]" + _go_type(shape[1], types)
    if shape[0] == "map":
        return "map[string]" + _go_type(shape[1], types)
    if shape[0] == "scalar":
        return {"integer": shape[2] or "int64", "boolean": "bool", "number": "float64"}.get(
            shape[1], shape[1]
        )
    return "interface {}"


class _Walker:
    def __init__(self, types: dict, drop: bool) -> None:
        self.types, self.drop = types, drop
        self.unknown: list[str] = []
        self.soft: str | None = None  # Go keeps decoding after a type error and reports the first

    def mismatch(self, value: object, shape: tuple, where: tuple[str, str]) -> None:
        go_type = _go_type(shape, self.types)
        shown = _json_type(value)
        if shown == "number" and go_type in INT_RANGES:
            shown = f"number {json.dumps(value)}"
        if self.soft is None:
            self.soft = (
                f"json: cannot unmarshal {shown} into Go struct field {where[0]}.{where[1]} of type {go_type}"
            )

    def value(self, value: object, shape: tuple, path: str, where: tuple[str, str]) -> None:
        """``where``: (the Go struct holding the field, the field's dotted JSON path)."""
        if value is None:
            return
        kind = shape[0]
        if kind == "ref":
            target = self.types.get(shape[1], ("object",))
            if target[0] == "struct":
                if not isinstance(value, dict):
                    return self.mismatch(value, shape, where)
                return self.struct(value, shape[1].rsplit(".", 1)[-1], target[1], path, where[1])
            return self.scalar(value, shape, target, where)
        if kind == "array":
            if not isinstance(value, list):
                return self.mismatch(value, shape, where)
            for i, item in enumerate(value):
                self.value(item, shape[1], f"{path}[{i}]", where)
        elif kind == "map":
            if not isinstance(value, dict):
                return self.mismatch(value, shape, where)
            for key, item in value.items():
                self.value(item, shape[1], f"{path}[{key}]", where)
        elif kind == "scalar":
            self.scalar(value, shape, shape, where)

    def scalar(self, value: object, shape: tuple, target: tuple, where: tuple[str, str]) -> None:
        kind, fmt = (target[1], target[2]) if target[0] == "scalar" else ("object", "")
        if kind == "quantity":
            problem = quantities.problem(value)
            if problem:
                raise _Found(problem)
        elif kind == "int-or-string":
            if not isinstance(value, str) and not _fits(value, "int32"):
                self.mismatch(value, shape, where)
        elif kind == "string" and fmt == "date-time":
            if not isinstance(value, str):
                self.mismatch(value, ("scalar", "string", ""), where)
            elif not RFC3339.fullmatch(value):
                layout = "2006-01-02T15:04:05Z07:00"
                raise _Found(f'parsing time "{value}" as "{layout}": cannot parse "{value}" as "2006"')
        elif kind == "string" and fmt == "byte":
            if not isinstance(value, str):
                self.mismatch(value, ("scalar", "string", ""), where)
            else:
                _base64(value)
        elif (
            (kind == "string" and not isinstance(value, str))
            or (kind == "boolean" and not isinstance(value, bool))
            or (kind == "integer" and not _fits(value, fmt or "int64"))
            or (kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)))
        ):
            self.mismatch(value, shape, where)

    def struct(self, obj: dict, struct: str, fields: dict, path: str, go_path: str) -> None:
        for key in list(obj):
            child = f"{path}.{key}" if path else key
            if key not in fields:
                self.unknown.append(child)
                if self.drop:
                    del obj[key]
                continue
            self.value(obj[key], fields[key], child, (struct, f"{go_path}.{key}" if go_path else key))


def _fits(value: object, go_type: str) -> bool:
    low, high = INT_RANGES.get(go_type, INT_RANGES["int64"])
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


B64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def _base64(text: str) -> None:
    """Go's ``base64.StdEncoding`` decoding, for its error position (``CorruptInputError``)."""
    bad = _base64_error(text)
    if bad is not None:
        raise _Found(f"illegal base64 data at input byte {bad}")


def _base64_error(src: str) -> int | None:
    si = 0
    while si < len(src):
        j = 0
        while j < 4:
            if si == len(src):
                return None if j == 0 else si - j
            char = src[si]
            si += 1
            if char in B64:
                j += 1
                continue
            if char in "\r\n":
                continue
            if char != "=" or j < 2:
                return si - 1
            if j == 2:  # "==" expected, the first one read
                while si < len(src) and src[si] in "\r\n":
                    si += 1
                if si == len(src):
                    return len(src)
                if src[si] != "=":
                    return si - 1
                si += 1
            while si < len(src) and src[si] in "\r\n":
                si += 1
            return si if si < len(src) else None
    return None


def _walk(resource: Resource, obj: dict, drop: bool) -> _Walker:
    shapes = schemas.shapes()
    name = shapes["kinds"][f"{resource.group}/{resource.version}/{resource.kind}"]
    walker = _Walker(shapes["types"], drop)
    try:
        walker.struct(obj, resource.kind, shapes["types"][name][1], "", "")
    except _Found as found:
        walker.soft, walker.unknown = str(found), []
    return walker


def type_error(resource: Resource, obj: dict) -> str | None:
    """The decoder's error for ``obj`` (see the module docstring), without the kind prefix."""
    return _walk(resource, obj, drop=False).soft


def unknown_fields(resource: Resource, obj: dict, *, drop: bool = False) -> list[str]:
    return _walk(resource, obj, drop=drop).unknown


class _Pairs(dict):
    duplicates: list[str]


def _pairs(pairs: list[tuple[str, object]]) -> _Pairs:
    found = _Pairs()
    found.duplicates = []
    for key, value in pairs:
        if key in found and key not in found.duplicates:
            found.duplicates.append(key)
        found[key] = value
    return found


def duplicate_fields(raw: bytes) -> list[str]:
    """Keys given twice in the JSON object ``raw``, as paths, in document order."""
    try:
        document = json.loads(raw, object_pairs_hook=_pairs)
    except (ValueError, RecursionError):
        return []
    found: list[str] = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, _Pairs):
            found.extend(f"{path}.{key}" if path else key for key in node.duplicates)
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else key)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")

    walk(document, "")
    return found


def kind_error(resource: Resource, obj: dict) -> str | None:
    """``no kind "X" is registered for version "G/V" ...`` for a body of another kind or version."""
    api_version, kind = obj.get("apiVersion") or resource.api_version, obj.get("kind") or resource.kind
    if (api_version, kind) == (resource.api_version, resource.kind):
        return None
    return f'no kind "{kind}" is registered for version "{api_version}" in scheme "pkg/runtime/scheme.go:100"'


def _omit(obj: dict, struct: tuple, types: dict) -> None:
    _, fields, kept = struct
    for key in list(obj):
        shape, value = fields.get(key), obj[key]
        if shape is None:
            continue
        if key not in kept and (value is None or (value in ([], {}) and shape[0] in ("array", "map"))):
            del obj[key]
            continue
        _omit_value(value, shape, types)


def _omit_value(value: object, shape: tuple, types: dict) -> None:
    if shape[0] == "ref" and isinstance(value, dict):
        target = types.get(shape[1])
        if target is not None and target[0] == "struct":
            _omit(value, target, types)
    elif shape[0] == "array" and isinstance(value, list):
        for item in value:
            _omit_value(item, shape[1], types)


def omit_empty(resource: Resource, obj: dict) -> None:
    shapes = schemas.shapes()
    name = shapes["kinds"][f"{resource.group}/{resource.version}/{resource.kind}"]
    _omit(obj, shapes["types"][name], shapes["types"])
