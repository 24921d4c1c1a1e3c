"""The served kinds' schemas, from the Kubernetes v1.29 definitions that kubernetes-validate ships.

kubernetes-validate (in the ``test`` extra, which ``make run`` installs too) carries the API
server's OpenAPI definitions as JSON Schema in ``_definitions.json``: nullable types written
``["string", "null"]``, references ``#/$defs/NAME``, every ``x-kubernetes-*`` extension kept
(group-version-kind, patch strategies and merge keys, list types).

- ``shipped()``: that file's ``$defs``, loaded once when first asked (about 10 MB in memory,
  shared with the write path's ``sandbox.merge_schema``, which loads the same file).
- ``openapi(prefix, wrap_refs=...)``: the definitions reachable from the kinds
  ``sandbox.resources`` serves (about 280 of 577), turned back into OpenAPI:
  ``{group version path: {name: schema}}``, references pointing at ``prefix``
  (``#/definitions/`` for v2, ``#/components/schemas/`` for v3, where a reference with siblings
  is wrapped in ``allOf`` as the real server does); built afresh on each call, for
  ``sandbox.openapi`` to serialise once.
- ``shapes()``: a small, cached map of each definition's fields and their types, for the decoder
  checks of ``sandbox.decoding`` (unknown fields, wrong JSON types).

What the sandbox serves as v1.32 but v1.29 had not yet -- ``ServiceSpec.trafficDistribution``
(v1.30+, kubernetes/api core/v1/types.go) -- is added by ``NEWER_FIELDS`` to what ``shipped()``
returns (for the decoder's unknown-field check and the OpenAPI documents alike).

What the shipped file lacks -- the ``enum`` lists with their "Possible enum values" descriptions,
the descriptions of IntOrString and Quantity, the ``default`` values of the v3 documents -- comes
from ``openapi_extras.json``, captured from the real v1.29 kube-apiserver's ``/openapi/v3``
(``tests/support/openapi_extras.py`` rewrites it).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from pathlib import Path

from sandbox import resources

VERSION = "v1.29.0"  # of the shipped definitions; the documents' info.version says it
EXTRAS = Path(__file__).with_name("openapi_extras.json")
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
# What every group version's document holds besides its kinds, as on the real server.
COMMON = tuple(META + name for name in ("DeleteOptions", "Status", "WatchEvent", "Patch", "APIResourceList"))
# Optional fields whose Go tag has no omitempty: written even when empty (``null``, ``[]``).
NOT_OMITTED = {"io.k8s.api.discovery.v1.EndpointSlice": {"ports"}, "io.k8s.api.rbac.v1.Role": {"rules"}}
EXTRA_ROOTS = {("apps", "v1"): ("io.k8s.api.autoscaling.v1.Scale",)}


NEWER_FIELDS = {
    "io.k8s.api.core.v1.ServiceSpec": {
        "trafficDistribution": {
            "description": "TrafficDistribution offers a way to express preferences for how traffic is "
            "distributed to Service endpoints. Implementations can use this field as a hint, but "
            "are not required to guarantee strict adherence. If the field is not set, the "
            'implementation will apply its default routing strategy. If set to "PreferClose", '
            "implementations should prioritize endpoints that are topologically close (e.g., same "
            "zone). This is a beta field and requires enabling ServiceTrafficDistribution feature.",
            "type": ["string", "null"],
        }
    }
}


class SchemasMissing(RuntimeError):
    """kubernetes-validate is not installed: the sandbox has no schemas to serve or check with."""


@functools.cache
def shipped() -> dict[str, dict]:
    """The shipped ``$defs`` (never mutate them); ``SchemasMissing`` without kubernetes-validate.
    One copy in memory: the write path's ``sandbox.merge_schema`` keeps the same file loaded."""
    try:
        import kubernetes_validate
    except ImportError as exc:  # pragma: no cover - make installs the test extra
        raise SchemasMissing("kubernetes-validate is not installed: pip install -e '.[test]'") from exc
    try:
        from sandbox.merge_schema import definitions
    except ImportError:  # pragma: no cover - load it here if the write path's module changes
        base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
        with open(base / f"{VERSION}-local" / "_definitions.json", "rb") as stream:
            return _with_newer_fields(json.load(stream)["$defs"])
    return _with_newer_fields(definitions())


def _with_newer_fields(defs: dict[str, dict]) -> dict[str, dict]:
    """``defs`` with ``NEWER_FIELDS`` added, sharing every untouched definition."""
    defs = dict(defs)
    for name, fields in NEWER_FIELDS.items():
        defs[name] = {**defs[name], "properties": {**defs[name]["properties"], **fields}}
    return defs


def _gvk(schema: dict) -> list[tuple[str, str, str]]:
    return [(g["group"], g["version"], g["kind"]) for g in schema.get("x-kubernetes-group-version-kind", ())]


def _references(node: object) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value.rsplit("/", 1)[-1]
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def _closure(defs: dict[str, dict], roots: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    pending = [root for root in roots if root in defs]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen[name] = None
            pending.extend(ref for ref in _references(defs[name]) if ref not in seen)
    return sorted(seen)


def _roots(defs: dict[str, dict], group: str, version: str) -> list[str]:
    kinds = {r.kind for r in resources.in_group_version(group, version)}
    kinds |= {kind + "List" for kind in kinds}
    roots = [
        name
        for name, schema in defs.items()
        if any(g == group and v == version and k in kinds for g, v, k in _gvk(schema))
    ]
    return [*roots, *COMMON, *EXTRA_ROOTS.get((group, version), ())]


def group_versions() -> list[tuple[str, str]]:
    """The served (group, version) pairs, core first, as discovery lists them."""
    return list(dict.fromkeys((r.group, r.version) for r in resources.ALL))


def path_of(group: str, version: str) -> str:
    """A group version's path in the ``/openapi/v3`` index: ``api/v1``, ``apis/apps/v1``."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _openapi(node: object, prefix: str, wrap_refs: bool) -> object:
    """One shipped schema node in OpenAPI form: single types, ``prefix`` references, no enums
    (the shipped file's only enums are the apiVersion/kind constants the real server does not
    list; the real enums come from the extras). Never mutates ``node``."""
    if isinstance(node, list):
        return [_openapi(value, prefix, wrap_refs) for value in node]
    if not isinstance(node, dict):
        return node
    out: dict = {}
    for key, value in node.items():
        if key == "enum":
            continue
        if key == "type" and isinstance(value, list):
            value = next((t for t in value if t != "null"), value[0])
        elif key == "$ref":
            value = prefix + value.rsplit("/", 1)[-1]
        elif key in ("properties", "patternProperties"):
            value = {name: _openapi(sub, prefix, wrap_refs) for name, sub in value.items()}
        else:
            value = _openapi(value, prefix, wrap_refs)
        out[key] = value
    if wrap_refs and "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out["allOf"] = [{"$ref": ref}]
    return out


def _special(name: str, v3: bool) -> dict | None:
    """IntOrString and Quantity, which the real server describes by hand (OpenAPIDefinition)."""
    if name == INT_OR_STRING:
        if v3:
            return {"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]}
        return {"type": "string", "format": "int-or-string"}
    if name == QUANTITY:
        return {"oneOf": [{"type": "string"}, {"type": "number"}]} if v3 else {"type": "string"}
    return None


@functools.cache
def _extras() -> dict:
    with open(EXTRAS, encoding="utf-8") as stream:
        return json.load(stream)


def openapi(prefix: str, *, wrap_refs: bool, extras: bool = True) -> dict[str, dict[str, dict]]:
    """``{group version path: {name: schema}}`` for every served group version (``"api/v1"``,
    ``"apis/apps/v1"``...), each holding what that version's kinds reach, as the real documents do.
    ``extras=False`` leaves out what ``openapi_extras.json`` adds (to capture that file anew)."""
    defs = shipped()
    added = _extras() if extras else {"definitions": {}, "properties": {}, "v3_defaults": {}}
    by_version: dict[str, dict[str, dict]] = {}
    for group, version in group_versions():
        found: dict[str, dict] = {}
        for name in _closure(defs, _roots(defs, group, version)):
            schema = _openapi(defs[name], prefix, wrap_refs)
            special = _special(name, wrap_refs)
            if special is not None:
                schema = {k: v for k, v in schema.items() if k not in ("oneOf", "type")} | special
            schema.update(added["definitions"].get(name, {}))
            for prop, patch in added["properties"].get(name, {}).items():
                if prop in schema.get("properties", {}):
                    schema["properties"][prop].update(patch)
            if wrap_refs:  # v3 only, as kube-openapi writes them
                _add_defaults(schema, added["v3_defaults"].get(name, {}))
            found[name] = schema
        by_version[path_of(group, version)] = found
    return by_version


def _add_defaults(schema: dict, defaults: dict[str, object]) -> None:
    """Each ``default`` at its node's path (``properties/spec``); a bare reference given one is
    wrapped in ``allOf``, as a reference with siblings is."""
    for at, value in defaults.items():
        parent, key = None, ""
        node: object = schema
        for part in filter(None, at.split("/")):
            parent, key = node, part
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        if "$ref" in node:
            node = {"allOf": [{"$ref": node.pop("$ref")}], **node}
            if isinstance(parent, dict):
                parent[key] = node
        node["default"] = value


def _shape(node: dict) -> tuple:
    """A field's type, compactly: ("ref", name) | ("array", item) | ("map", value) |
    ("scalar", type, format) | ("object",) for free-form objects."""
    if "$ref" in node:
        return ("ref", node["$ref"].rsplit("/", 1)[-1])
    kind = node.get("type")
    kind = next((t for t in kind if t != "null"), None) if isinstance(kind, list) else kind
    if kind == "array":
        return ("array", _shape(node.get("items", {})))
    if kind == "object" or kind is None:
        extra = node.get("additionalProperties")
        return ("map", _shape(extra)) if isinstance(extra, dict) else ("object",)
    return ("scalar", kind, node.get("format", ""))


@functools.cache
def shapes() -> dict:
    """``{"kinds": {"group/version/Kind": name}, "types": {name: shape}}``: a struct's shape is
    ``("struct", {field: field shape}, {fields Go always writes})`` -- the required ones, plus the
    few optional ones without ``omitempty`` (``NOT_OMITTED``); IntOrString and Quantity are
    scalars of their own (``("scalar", "int-or-string", "")``, ``("scalar", "quantity", "")``).
    Small: no descriptions."""
    defs = shipped()
    names: set[str] = set()
    kinds = {}
    for group, version in group_versions():
        names.update(_closure(defs, _roots(defs, group, version)))
        for served in resources.in_group_version(group, version):
            wanted = (group, version, served.kind)
            kinds[f"{group}/{version}/{served.kind}"] = next(n for n, s in defs.items() if wanted in _gvk(s))
    types: dict[str, tuple] = {}
    for name in names:
        schema = defs[name]
        if name == INT_OR_STRING:
            types[name] = ("scalar", "int-or-string", "")
        elif name == QUANTITY:
            types[name] = ("scalar", "quantity", "")
        elif "properties" in schema:
            fields = {key: _shape(sub) for key, sub in schema["properties"].items()}
            kept = frozenset(schema.get("required", ())) | NOT_OMITTED.get(name, set())
            types[name] = ("struct", fields, kept)
        else:
            types[name] = _shape(schema)
    return {"kinds": kinds, "types": types}
