"""Paths into JSON objects, as structured-merge-diff (``sigs.k8s.io/structured-merge-diff``)
names the fields that server-side apply tracks, and their two written forms.

- a *path* is a tuple of elements ``("f", name)`` (a field or map key), ``("k", '{"name":"app"}')``
  (a list item by its keys), ``("v", '"x"')`` (an item of a set), ``("i", 3)`` (by index);
  ``MISSING`` is a value that is absent, unlike null, and ``same`` is JSON equality as the library
  has it;
- ``path_text`` prints a path as the API server does in a conflict;
- ``to_fields_v1`` / ``from_fields_v1`` write and read a set of paths as the ``fieldsV1`` trie of
  ``managedFields``.

What is done with sets of paths (building, comparing, merging, pruning) is ``sandbox.fieldsets``.
"""

from __future__ import annotations

import json
from typing import Any

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()  # absent, unlike null
Path = tuple


class FieldError(ValueError):
    pass


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def same(left: object, right: object) -> bool:
    """JSON equality as structured-merge-diff has it: 1 == 1.0, but true is not 1."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    return type(left) is type(right) and left == right


_ORDER = {"f": 0, "k": 1, "v": 2, "i": 3}


def _element_text(element: tuple) -> str:
    kind, value = element
    return f"{kind}:{value}"


def to_fields_v1(paths: set[Path]) -> dict:
    """The ``fieldsV1`` trie: ``"."`` marks a member that also has members below it."""
    trie: dict = {}
    members: set[Path] = set(paths)
    for path in sorted(paths, key=lambda p: [(_ORDER[e[0]], str(e[1])) for e in p]):
        node = trie
        for element in path:
            node = node.setdefault(_element_text(element), {})
    _mark(trie, (), members)
    return trie


def _mark(trie: dict, path: Path, members: set[Path]) -> None:
    for text, below in list(trie.items()):
        kind, _, value = text.partition(":")
        child = (*path, (kind, int(value) if kind == "i" else value))
        if below:
            _mark(below, child, members)
            if child in members:
                trie[text] = {".": {}, **below}


def from_fields_v1(trie: dict, path: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for text, below in (trie or {}).items():
        if text == ".":
            out.add(path)
            continue
        kind, _, value = text.partition(":")
        if kind not in _ORDER:
            raise FieldError(f"unknown path element {text!r}")
        element = (
            kind,
            int(value) if kind == "i" else canonical(json.loads(value)) if kind in "kv" else value,
        )
        child = (*path, element)
        if not below:
            out.add(child)
        else:
            out |= from_fields_v1(below, child)
    return out


def path_text(path: Path) -> str:
    """A path as the API server prints it in conflicts: ``.spec.containers[name="app"].image``."""
    parts = []
    for kind, value in path:
        if kind == "f":
            parts.append(f".{value}")
        elif kind == "k":
            keys = json.loads(value)
            parts.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]")
        elif kind == "v":
            parts.append(f"[={value}]")
        else:
            parts.append(f"[{value}]")
    return "".join(parts)
