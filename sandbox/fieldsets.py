"""Field sets over typed objects: what server-side apply tracks in ``managedFields``.

A port of the parts of structured-merge-diff (``sigs.k8s.io/structured-merge-diff``, the library
the API server's field manager is built on) that the sandbox needs, on plain JSON values walked
with their schema (``sandbox.merge_schema``); paths, and their written forms, are
``sandbox.field_paths``:

- a *set* is a Python ``set`` of member paths (``typed/tofieldset.go``: leaves, list items, map
  keys that are not struct fields, empty or null values);
- ``compare`` gives the added, modified and removed paths between two objects (``compare.go``);
- ``merge`` is apply's merge of a configuration into the live object (``merge.go``, keep-RHS);
- ``remove_items`` drops the values at a set's paths (``remove.go``).

Pure functions; ``FieldError`` for an object the schema cannot index (a list item without its key).
The names of ``sandbox.field_paths`` that callers use are importable from here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.field_paths import (
    MISSING,
    FieldError,
    Path,
    canonical,
    from_fields_v1,
    path_text,
    same,
    to_fields_v1,
)
from sandbox.merge_schema import KEY_DEFAULTS, Node

__all__ = [
    "MISSING",
    "Comparison",
    "FieldError",
    "Path",
    "compare",
    "from_fields_v1",
    "item_element",
    "merge",
    "path_text",
    "remove_items",
    "same",
    "to_field_set",
    "to_fields_v1",
]


def _shape(node: Node, *values: object) -> str:
    shape = node.shape
    if shape in ("struct", "map"):
        return "map"
    if shape in ("list", "scalar"):
        return shape
    for value in values:  # untyped: deduced from the value
        if value is MISSING or value is None:
            continue
        return "map" if isinstance(value, dict) else "list" if isinstance(value, list) else "scalar"
    return "scalar"


def _atomic_list(node: Node) -> bool:
    return node.shape != "list" or node.list_type == "atomic"


def item_element(node: Node, item: object) -> tuple:
    """The path element of a list item: by its keys, or by its value in a set."""
    if node.keys:
        if not isinstance(item, dict):
            raise FieldError("associative list with keys has an element that is not a map type")
        fields = {}
        for key in node.keys:
            if key in item:
                fields[key] = item[key]
            elif key in KEY_DEFAULTS:
                fields[key] = KEY_DEFAULTS[key]
            else:
                raise FieldError(
                    f'associative list with keys has an element that omits key field "{key}" '
                    "(and doesn't have default value)"
                )
        return ("k", canonical(fields))
    if isinstance(item, dict | list):
        raise FieldError("associative list without keys has an element that's a map type")
    return ("v", canonical(item))


def _index(node: Node, items: list | None, *, duplicates: bool) -> tuple[list[tuple], dict[tuple, Any]]:
    order, found = [], {}
    for item in items or ():
        element = item_element(node, item)
        if element in found:
            if not duplicates:
                raise FieldError(f"duplicate entries for key {path_text((element,))}")
            continue
        found[element] = item
        order.append(element)
    return order, found


def _is(value: object, kind: type) -> bool:
    return value is None or value is MISSING or isinstance(value, kind)


# --- sets of fields ------------------------------------------------------------------------------


def to_field_set(value: object, node: Node) -> set[Path]:
    out: set[Path] = set()
    _to_set(value, node, (), out)
    return out


def _to_set(value: object, node: Node, path: Path, out: set[Path]) -> None:
    shape = _shape(node, value)
    if shape == "map" and _is(value, dict):
        if node.atomic_map:
            out.add(path)
            return
        for key, child in (value or {}).items():
            child_path = (*path, ("f", key))
            _to_set(child, node.field(key), child_path, out)
            if child is None or child == {} or not node.knows(key):
                out.add(child_path)
    elif shape == "list" and _is(value, list):
        if _atomic_list(node):
            out.add(path)
            return
        order, found = _index(node, value, duplicates=True)
        for element in order:
            _to_set(found[element], node.element, (*path, element), out)
            out.add((*path, element))
    else:
        out.add(path)


@dataclass
class Comparison:
    added: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)
    removed: set[Path] = field(default_factory=set)


def compare(lhs: object, rhs: object, node: Node) -> Comparison:
    """What changed from ``lhs`` to ``rhs`` (either may be ``MISSING``)."""
    result = Comparison()
    _compare(lhs, rhs, node, (), result)
    return result


def _compare(lhs: object, rhs: object, node: Node, path: Path, out: Comparison) -> None:
    shape = _shape(node, rhs, lhs)
    left = None if lhs is MISSING else lhs
    right = None if rhs is MISSING else rhs
    leaf = True
    if shape == "map" and _is(left, dict) and _is(right, dict):
        if not node.atomic_map and (left or right):
            leaf = False
            for key in dict.fromkeys([*(left or {}), *(right or {})]):
                _compare(
                    (left or {}).get(key, MISSING),
                    (right or {}).get(key, MISSING),
                    node.field(key),
                    (*path, ("f", key)),
                    out,
                )
    elif shape == "list" and _is(left, list) and _is(right, list) and not _atomic_list(node):
        leaf = not (left or right)
        _, before = _index(node, left, duplicates=True)
        _, after = _index(node, right, duplicates=True)
        for element in dict.fromkeys([*before, *after]):
            _compare(
                before.get(element, MISSING), after.get(element, MISSING), node.element, (*path, element), out
            )
    if lhs is MISSING:
        out.added.add(path)
    elif rhs is MISSING:
        out.removed.add(path)
    elif leaf and not same(lhs, rhs):
        out.modified.add(path)


# --- apply's merge and pruning -------------------------------------------------------------------


def merge(lhs: object, rhs: object, node: Node) -> object:
    """``rhs`` merged over ``lhs``: fields and keyed items merge, atomic values are replaced."""
    if rhs is MISSING:
        return lhs
    if lhs is MISSING:
        return rhs
    shape = _shape(node, rhs, lhs)
    if shape == "map" and _is(lhs, dict) and _is(rhs, dict):
        if node.atomic_map or (not lhs and not rhs):
            return rhs
        out = {}
        for key in dict.fromkeys([*(lhs or {}), *(rhs or {})]):
            out[key] = merge((lhs or {}).get(key, MISSING), (rhs or {}).get(key, MISSING), node.field(key))
        return out
    if shape == "list" and _is(lhs, list) and _is(rhs, list):
        if _atomic_list(node) or (not lhs and not rhs):
            return rhs
        return _merge_list(lhs or [], rhs or [], node)
    return rhs


def _merge_list(lhs: list, rhs: list, node: Node) -> list:
    """structured-merge-diff's order: the configuration's order, the live-only items kept where
    they were relative to the items both share."""
    right_order, right = _index(node, rhs, duplicates=False)
    left_order, left = _index(node, lhs, duplicates=True)
    shared = [element for element in right_order if element in left]
    next_shared = shared.pop(0) if shared else None
    merged_right: set[tuple] = set()
    out: list = []
    li = ri = 0
    while li < len(left_order) or ri < len(right_order):
        if li < len(left_order) and ri < len(right_order):
            element = left_order[li]
            if element == right_order[ri]:
                merged_right.add(element)
                out.append(merge(left[element], right[element], node.element))
                li, ri = li + 1, ri + 1
                next_shared = shared.pop(0) if shared else None
                continue
            if element in right and next_shared is not None and next_shared != element:
                li += 1
                continue
        if li < len(left_order):
            element = left_order[li]
            if element not in right:
                out.append(left[element])
                li += 1
                continue
            if element in merged_right:
                li += 1
        if ri < len(right_order):
            element = right_order[ri]
            merged_right.add(element)
            out.append(merge(left.get(element, MISSING), right[element], node.element))
            ri += 1
            if next_shared is not None and next_shared == element:
                next_shared = shared.pop(0) if shared else None
    return out


def _under(paths: set[Path], element: tuple) -> set[Path]:
    return {path[1:] for path in paths if len(path) > 1 and path[0] == element}


def remove_items(value: object, paths: set[Path], node: Node) -> object:
    """``value`` without what ``paths`` name; a map or list left empty becomes ``None``."""
    shape = _shape(node, value)
    if shape == "map" and isinstance(value, dict):
        if not value or node.atomic_map:
            return value
        out = {}
        for key, child in value.items():
            element = ("f", key)
            if (element,) in paths:
                continue
            below = _under(paths, element)
            if below:
                trimmed = remove_items(child, below, node.field(key))
                if trimmed is None and child is not None:
                    continue
                child = trimmed
            out[key] = child
        return out or None
    if shape == "list" and isinstance(value, list):
        if not value or _atomic_list(node):
            return value
        out_items = []
        for item in value:
            element = item_element(node, item)
            if (element,) in paths:
                continue
            below = _under(paths, element)
            out_items.append(remove_items(item, below, node.element) if below else item)
        return out_items or None
    return value
