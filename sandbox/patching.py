"""The patch types of ``PATCH``: pure functions from (object, patch) to the patched object.

- ``merge_patch``: JSON merge patch, RFC 7386 (``application/merge-patch+json``).
- ``json_patch``: JSON patch, RFC 6902 (``application/json-patch+json``), by the ``jsonpatch``
  library.
- ``strategic_merge_patch``: Kubernetes' strategic merge patch
  (``application/strategic-merge-patch+json``): lists merge by the merge key the type declares
  (containers by ``name``, ports by ``containerPort``...), with the directives kubectl sends
  (``$patch: replace|delete|merge``, ``$retainKeys``, ``$setElementOrder/LIST``,
  ``$deleteFromPrimitiveList/LIST``). A port of ``k8s.io/apimachinery/pkg/util/strategicpatch``'s
  ``StrategicMergeMapPatch`` (server options: parallel lists merged, unmatched nulls ignored).

Errors are ``PatchError`` (the caller answers as the API server: see ``sandbox.updating``).
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

from sandbox.fieldsets import same
from sandbox.merge_schema import UNTYPED, Node

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder/"
DELETE_FROM = "$deleteFromPrimitiveList/"


class PatchError(ValueError):
    pass


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: Any, operations: list) -> Any:
    """RFC 6902; a failed ``test``, a missing path or a bad operation is a ``PatchError``."""
    try:
        return jsonpatch.JsonPatch(operations).apply(copy.deepcopy(target))
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError, KeyError) as exc:
        raise PatchError(str(exc)) from None


# --- strategic merge patch -----------------------------------------------------------------------


def strategic_merge_patch(original: dict, patch: dict, node: Node) -> dict:
    return _merge_map(copy.deepcopy(original), copy.deepcopy(patch), node)


def _strategy(node: Node) -> str:
    other = [s for s in node.patch_strategies if s != "retainKeys"]
    return other[0] if other else ""


def _remove_directives(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if DIRECTIVE in value:
            return None, False
        out = {}
        for key, child in value.items():
            kept, keep = _remove_directives(child)
            if keep:
                out[key] = kept
        return out, True
    if isinstance(value, list):
        return [kept for kept, keep in map(_remove_directives, value) if keep], True
    return value, True


def _discard_nulls(value: Any) -> None:
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if v is None]:
            del value[key]
        for child in value.values():
            _discard_nulls(child)
    elif isinstance(value, list):
        for child in value:
            _discard_nulls(child)


def _merge_map(original: dict | None, patch: dict, node: Node) -> dict:
    if DIRECTIVE in patch:
        directive = patch[DIRECTIVE]
        if directive == "replace":
            return {k: v for k, v in patch.items() if k != DIRECTIVE}
        if directive == "delete":
            return {}
        raise PatchError(f"Unknown patch type: {directive} in map: {patch}")
    original = {} if original is None else original
    _retain_keys(original, patch)
    _set_element_orders(original, patch, node)
    for key, value in list(patch.items()):
        delete_list = key.startswith(DELETE_FROM)
        if delete_list:
            key = key.removeprefix(DELETE_FROM)
        if value is None:
            original.pop(key, None)
            continue
        child = node.field(key) if node is not UNTYPED else UNTYPED
        if key not in original or type(original[key]) is not type(value):
            if not delete_list:
                _discard_nulls(value)
                kept, keep = _remove_directives(value)
                if keep:
                    original[key] = kept
                else:
                    original.pop(key, None)
            continue
        if isinstance(value, dict):
            if _strategy(child) == "replace":
                original[key] = value
            else:
                original[key] = _merge_map(original[key], value, child)
        elif isinstance(value, list):
            if _strategy(child) == "merge" or delete_list:
                original[key] = _merge_list(original[key], value, child, delete_list)
            else:
                original[key] = value
        else:
            original[key] = value
    return original


def _retain_keys(original: dict, patch: dict) -> None:
    if RETAIN_KEYS not in patch:
        return
    keys = patch.pop(RETAIN_KEYS)
    if not isinstance(keys, list):
        raise PatchError("invalid patch format: the $retainKeys directive must be a list")
    for key, value in patch.items():
        if value is not None and not key.startswith((DELETE_FROM, SET_ORDER)) and key not in keys:
            raise PatchError("doesn't match the $retainKeys list")
    for key in [k for k in original if k not in keys]:
        del original[key]


def _set_element_orders(original: dict, patch: dict, node: Node) -> None:
    for directive in [k for k in patch if k.startswith(SET_ORDER)]:
        order = patch.pop(directive)
        key = directive.removeprefix(SET_ORDER)
        if not isinstance(order, list):
            raise PatchError("invalid patch format: $setElementOrder must be a list")
        child = node.field(key)
        merge_key = child.merge_key
        if key in original and key in patch:
            merged = _merge_list(original[key], patch.pop(key), child, False)
        elif key in patch:
            merged = _remove_directives(patch.pop(key))[0]
        elif key in original:
            merged = original[key]
        else:
            continue
        before = original.get(key) or []
        in_order = [item for item in merged if _index(order, item, merge_key) >= 0]
        server_only = [item for item in merged if _index(order, item, merge_key) < 0]
        original[key] = _normalize(in_order, server_only, order, before, merge_key)


def _value(item: Any, merge_key: str) -> Any:
    return item.get(merge_key) if merge_key and isinstance(item, dict) else item


def _index(items: list, item: Any, merge_key: str) -> int:
    wanted = _value(item, merge_key)
    for position, candidate in enumerate(items):
        if same(_value(candidate, merge_key), wanted):
            return position
    return -1


def _sorted(items: list, order: list, merge_key: str) -> list:
    """Go's sort.SliceStable (insertion sort) with strategicpatch's comparison."""
    items = list(items)
    deleted = [i for i in items if isinstance(i, dict) and i.get(DIRECTIVE) == "delete"]
    items = [i for i in items if not (isinstance(i, dict) and i.get(DIRECTIVE) == "delete")]

    def less(a: Any, b: Any) -> bool:
        ia, ib = _index(order, a, merge_key), _index(order, b, merge_key)
        return ia < ib if ia >= 0 and ib >= 0 else True

    for i in range(1, len(items)):
        j = i
        while j > 0 and less(items[j], items[j - 1]):
            items[j], items[j - 1] = items[j - 1], items[j]
            j -= 1
    return items + deleted


def _normalize(patch_items: list, server_only: list, patch_order: list, server_order: list, key: str):
    right, left = _sorted(patch_items, patch_order, key), _sorted(server_only, server_order, key)
    out, i, j = [], 0, 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li, ri = _index(server_order, left[i], key), _index(server_order, right[j], key)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def _merge_list(original: list, patch: list, node: Node, delete_list: bool) -> list:
    if not original and not patch:
        return original
    kinds = {type(item) for item in (*original, *patch)}
    if len(kinds) > 1:
        raise PatchError(f"list element types are not identical: {original} {patch}")
    if list in kinds:
        raise PatchError("lists of lists are not supported")
    merge_key = node.merge_key
    if dict not in kinds:
        if delete_list:
            return [item for item in original if not any(same(item, gone) for gone in patch)]
        merged: list = []
        for item in (*original, *patch):
            if not any(same(item, seen) for seen in merged):
                merged.append(item)
        return _normalize(
            [i for i in merged if _index(patch, i, "") >= 0],
            [i for i in merged if _index(patch, i, "") < 0],
            patch,
            original,
            "",
        )
    if not merge_key:
        raise PatchError("cannot merge lists without merge key")
    original, patch = _special_elements(original, patch, merge_key)
    merged = list(original)
    for item in patch:
        if merge_key not in item:
            raise PatchError(f"map: {item} does not contain declared merge key: {merge_key}")
        position = _index(merged, item, merge_key)
        if position >= 0:
            merged[position] = _merge_map(merged[position], item, node.element)
        else:
            merged.append(_remove_directives(item)[0])
    return _normalize(
        [i for i in merged if _index(patch, i, merge_key) >= 0],
        [i for i in merged if _index(patch, i, merge_key) < 0],
        patch,
        original,
        merge_key,
    )


def _special_elements(original: list, patch: list, merge_key: str) -> tuple[list, list]:
    plain, replace = [], False
    for item in patch:
        directive = item.get(DIRECTIVE)
        if directive is None:
            plain.append(item)
        elif directive == "delete":
            if merge_key not in item:
                raise PatchError(f"map: {item} does not contain declared merge key: {merge_key}")
            original = [i for i in original if not same(_value(i, merge_key), item[merge_key])]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise PatchError(f"Unknown patch type: {directive} in map: {item}")
    return (plain, []) if replace else (original, plain)
