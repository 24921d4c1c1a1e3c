"""The built-in kinds' schemas, as the API server's patch and apply code reads them.

Strategic merge patch and server-side apply both walk an object along its type: which fields a
struct has, which lists merge by a key and which are replaced whole, which maps are atomic. The
real API server takes this from its OpenAPI models (``x-kubernetes-patch-strategy``,
``x-kubernetes-patch-merge-key``, ``x-kubernetes-list-type``, ``x-kubernetes-list-map-keys``,
``x-kubernetes-map-type``; the conversion rules are kube-openapi's ``schemaconv``). The sandbox
reads the same extensions from the Kubernetes 1.29 definitions that kubernetes-validate ships.

``root(resource)`` is the ``Node`` of a kind; ``Node.field(name)`` and ``Node.element`` walk
down. A field the schema does not know is an ``UNTYPED`` node: its shape is taken from the value.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.resources import Resource

# The OpenAPI of the real API server defaults these list-map key fields ("protocol": "TCP"), and
# structured-merge-diff fills a missing key from that default.
KEY_DEFAULTS = {"protocol": "TCP"}


def _definitions_file() -> Path:
    import kubernetes_validate

    package = Path(kubernetes_validate.__file__).parent
    return package / "kubernetes-json-schema" / "v1.29.0-local" / "_definitions.json"


@functools.cache
def definitions() -> dict[str, dict]:
    return json.loads(_definitions_file().read_text())["$defs"]


@functools.cache
def _by_kind() -> dict[tuple[str, str, str], str]:
    found = {}
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            found.setdefault((gvk["group"], gvk["version"], gvk["kind"]), name)
    return found


def _types(schema: dict) -> set[str]:
    kind = schema.get("type", [])
    return {kind} if isinstance(kind, str) else set(kind)


@dataclass(frozen=True)
class Node:
    """One place in a kind's schema: ``shape`` is struct, map, list, scalar or untyped."""

    schema: dict = field(hash=False, compare=False)
    extensions: dict = field(hash=False, compare=False)

    @property
    def shape(self) -> str:
        schema = self.schema
        if "properties" in schema:
            return "struct"
        if isinstance(schema.get("additionalProperties"), dict):
            return "map"
        types = _types(schema)
        if "array" in types:
            return "list"
        if "oneOf" in schema or types & {"string", "integer", "number", "boolean"}:
            return "scalar"
        return "untyped"

    def field(self, name: str) -> Node:
        properties = self.schema.get("properties")
        if properties is not None:
            return node(properties[name]) if name in properties else UNTYPED
        if self.shape == "map":
            return node(self.schema["additionalProperties"])
        return UNTYPED

    def knows(self, name: str) -> bool:
        """Whether ``name`` is a declared field of this struct (not a map key, not unknown)."""
        return name in (self.schema.get("properties") or {})

    @property
    def element(self) -> Node:
        items = self.schema.get("items")
        return node(items) if isinstance(items, dict) else UNTYPED

    # --- server-side apply (structured-merge-diff) -------------------------------------------

    @property
    def list_type(self) -> str:
        """atomic, set or map, as kube-openapi's schemaconv derives it."""
        declared = self.extensions.get("x-kubernetes-list-type")
        if declared in ("atomic", "set", "map"):
            return declared
        if "merge" in self.patch_strategies:
            return "map" if self.merge_key else "set"
        return "atomic"

    @property
    def keys(self) -> tuple[str, ...]:
        if self.extensions.get("x-kubernetes-list-type") == "map":
            return tuple(self.extensions.get("x-kubernetes-list-map-keys") or ())
        return (self.merge_key,) if self.merge_key else ()

    @property
    def atomic_map(self) -> bool:
        return self.extensions.get("x-kubernetes-map-type") == "atomic"

    # --- strategic merge patch ---------------------------------------------------------------

    @property
    def patch_strategies(self) -> list[str]:
        text = self.extensions.get("x-kubernetes-patch-strategy") or ""
        return [part for part in text.split(",") if part]

    @property
    def merge_key(self) -> str:
        return self.extensions.get("x-kubernetes-patch-merge-key") or ""


UNTYPED = Node({}, {})


def _extensions(schema: dict) -> dict:
    return {key: value for key, value in schema.items() if key.startswith("x-kubernetes-")}


def node(schema: dict) -> Node:
    """The node of a property schema: its ``$ref`` resolved, the extensions of both kept."""
    reference = schema.get("$ref")
    if reference:
        target = definitions().get(reference.rsplit("/", 1)[-1], {})
        return Node(target, {**_extensions(target), **_extensions(schema)})
    return Node(schema, _extensions(schema))


def root(resource: Resource) -> Node:
    name = _by_kind().get((resource.group, resource.version, resource.kind))
    return node({"$ref": f"#/$defs/{name}"}) if name else UNTYPED
