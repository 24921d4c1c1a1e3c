"""``managedFields`` and server-side apply, as the API server's field manager keeps them.

The rules are those of ``k8s.io/apimachinery/pkg/util/managedfields/internal`` over
structured-merge-diff (``sandbox.fieldsets``):

- ``track_update(resource, live, new, manager, now)``: a create, replace or non-apply patch. The
  manager (``Update`` operation) takes the fields it added or changed from every other manager;
  removed fields leave every set. An existing object without ``managedFields`` stays untracked
  (``skipnonapplied.go``); ``status`` is not tracked on the main resource (its reset fields), nor
  the metadata the server sets (``stripmeta.go``).
- ``apply(resource, live, config, manager, force, now)``: an ``application/apply-patch+yaml``
  patch. The configuration is merged into the live object, fields this manager applied before
  and no longer applies are removed unless another manager owns them, and a field another manager
  owns with a different value is a ``409 Conflict`` naming each manager and field, unless
  ``force``. Manager ``kubectl`` upgrades from client-side apply: conflicts over fields whose live
  value is still the ``last-applied-configuration``'s are allowed, and that annotation follows
  the applied configuration (``lastappliedmanager.go``, ``lastappliedupdater.go``).

Pure functions on plain dicts; the caller gives the time (``now``) and stores the result.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass

from sandbox import fieldsets, merge_schema
from sandbox.apply_conflicts import Conflicts
from sandbox.fieldsets import Path
from sandbox.resources import DEPLOYMENTS, NAMESPACES, PODS, REPLICA_SETS, SERVICES, Resource
from sandbox.zero_objects import zero_body

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
BEFORE_FIRST_APPLY = "before-first-apply"
WITH_STATUS = (DEPLOYMENTS, REPLICA_SETS, PODS, SERVICES, NAMESPACES)
_STRIPPED = {(("f", "apiVersion"),), (("f", "kind"),), (("f", "metadata"),)} | {
    (("f", "metadata"), ("f", name))
    for name in (
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    )
}


def zero(resource: Resource) -> dict:
    """The object a create starts from: Go's zero value of the kind (``sandbox.zero_objects``)."""
    return {"metadata": {"creationTimestamp": None}, **zero_body(resource)}


@dataclass
class Entry:
    manager: str
    operation: str  # Apply or Update
    api_version: str
    fields: set[Path]
    time: str | None = None
    subresource: str = ""

    @property
    def key(self) -> tuple:
        """BuildManagerIdentifier: an applier is one manager whatever the version it used."""
        version = "" if self.operation == "Apply" else self.api_version
        return (self.manager, self.operation, version, self.subresource)

    def printed(self) -> str:
        """printManager: how a conflict names this manager."""
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        return f"{text} using {self.api_version}" if self.operation == "Update" else text


def decode(obj: dict | None) -> dict[tuple, Entry]:
    """The object's ``managedFields``; ``ValueError`` when they do not decode."""
    entries: dict[tuple, Entry] = {}
    for raw in (obj or {}).get("metadata", {}).get("managedFields") or []:
        if not isinstance(raw, dict) or raw.get("fieldsType", "FieldsV1") != "FieldsV1":
            raise ValueError("managedFields entries must have fieldsType FieldsV1")
        fields = fieldsets.from_fields_v1(raw.get("fieldsV1") or {})
        entry = Entry(
            str(raw.get("manager", "")),
            str(raw.get("operation", "")),
            str(raw.get("apiVersion", "")),
            fields,
            raw.get("time"),
            str(raw.get("subresource", "")),
        )
        if entry.key in entries:
            raise ValueError(f"duplicate managedFields entry for {entry.manager}")
        entries[entry.key] = entry
    return entries


def encode(entries: dict[tuple, Entry]) -> list[dict]:
    """Sorted as ``sortEncodedManagedFields``: Apply first, then by time, manager, version."""
    ordered = sorted(
        entries.values(),
        key=lambda e: (e.operation, e.time or "", e.manager, e.api_version, e.subresource),
    )
    out = []
    for entry in ordered:
        raw = {"manager": entry.manager, "operation": entry.operation, "apiVersion": entry.api_version}
        if entry.time:
            raw["time"] = entry.time
        raw["fieldsType"] = "FieldsV1"
        raw["fieldsV1"] = fieldsets.to_fields_v1(entry.fields)
        if entry.subresource:
            raw["subresource"] = entry.subresource
        out.append(raw)
    return out


def _tracked(resource: Resource, paths: set[Path]) -> set[Path]:
    if resource in WITH_STATUS:
        paths = {path for path in paths if not path or path[0] != ("f", "status")}
    return paths


def _without_managed_fields(obj: dict) -> dict:
    obj = copy.deepcopy(obj)
    obj.setdefault("metadata", {}).pop("managedFields", None)
    return obj


def _store(obj: dict, entries: dict[tuple, Entry]) -> dict:
    entries = {key: entry for key, entry in entries.items() if entry.fields}
    if entries:
        obj["metadata"]["managedFields"] = encode(entries)
    else:
        obj["metadata"].pop("managedFields", None)
    return obj


def _update(resource, live, new, entries, manager: Entry, *, force: bool) -> fieldsets.Comparison:
    """Updater.update: other managers lose what changed; conflicts unless ``force``."""
    node = merge_schema.root(resource)
    comparison = fieldsets.compare(live, new, node)
    changed = _tracked(resource, comparison.modified | comparison.added)
    removed = _tracked(resource, comparison.removed)
    conflicts = []
    for key, entry in entries.items():
        if key == manager.key:
            continue
        for path in sorted(entry.fields & changed, key=fieldsets.path_text):
            conflicts.append((entry, path))
    if conflicts and not force:
        raise Conflicts(conflicts)
    for key, entry in entries.items():
        if key != manager.key:
            entry.fields = entry.fields - changed - removed
    return comparison


def track_update(
    resource: Resource, live: dict | None, new: dict, manager: str, now: str, *, subresource: str = ""
) -> dict:
    """``new`` with its ``managedFields`` after this create (``live`` None) or update."""
    try:
        entries = decode(new)
    except ValueError:
        entries = {}
    if not entries and live is not None:
        try:
            entries = decode(live)
        except ValueError:
            entries = {}
    new = _without_managed_fields(new)
    if live is not None and not entries:
        return new  # an untracked object stays untracked
    before = zero(resource) if live is None else _without_managed_fields(live)
    me = Entry(manager or "unknown", "Update", resource.api_version, set(), now, subresource)
    comparison = _update(resource, before, new, entries, me, force=True)
    mine = _tracked(resource, comparison.added | comparison.modified) - _STRIPPED
    if mine:
        previous = entries.get(me.key)
        me.fields = mine | (previous.fields - comparison.removed if previous else set())
        entries[me.key] = me
    elif me.key in entries:
        entries[me.key].fields -= comparison.removed
    return _store(new, entries)


def _prune(resource, merged, entries, me: Entry, last: set[Path]) -> object:
    """Updater.prune: drop what this manager applied before and no longer applies, unless
    another manager owns it."""
    if not last:
        return merged
    node = merge_schema.root(resource)
    pruned = fieldsets.remove_items(merged, last, node)
    owned = set().union(*(entry.fields for entry in entries.values()))
    merged_set = fieldsets.to_field_set(merged, node)
    pruned_set = fieldsets.to_field_set(pruned, node)
    pruned = fieldsets.remove_items(merged, merged_set - (pruned_set | owned), node)
    pruned_set = fieldsets.to_field_set(pruned, node)
    return fieldsets.remove_items(merged, (merged_set - pruned_set) & last, node)


def _allowed_by_last_applied(resource: Resource, live: dict) -> set[Path]:
    """The fields whose live value is still what client-side apply last applied."""
    text = (live.get("metadata", {}).get("annotations") or {}).get(LAST_APPLIED)
    try:
        last = json.loads(text) if text else None
    except ValueError:
        return set()
    if not isinstance(last, dict) or last.get("apiVersion") != resource.api_version:
        return set()
    node = merge_schema.root(resource)
    comparison = fieldsets.compare(last, live, node)
    return fieldsets.to_field_set(last, node) - comparison.modified - comparison.added - comparison.removed


def apply(
    resource: Resource, live: dict | None, config: dict, manager: str, *, force: bool, now: str
) -> dict:
    """The object after applying ``config`` (its ``managedFields`` set); ``live`` is None for a
    create. Raises ``Conflicts`` (see ``Conflicts.error``) and ``fieldsets.FieldError``."""
    node = merge_schema.root(resource)
    entries = decode(live) if live is not None else {}
    base = zero(resource) if live is None else _without_managed_fields(live)
    if live is not None and not entries:  # skipnonapplied: what is there belongs to before-first-apply
        tracked = track_update(resource, zero(resource), base, BEFORE_FIRST_APPLY, now)
        entries = decode(tracked)
    try:
        result = _apply(resource, node, base, config, entries, manager, force, now)
    except Conflicts as conflicts:
        allowed = _allowed_by_last_applied(resource, base) if manager == "kubectl" else set()
        if not allowed or any(path not in allowed for _, path in conflicts.conflicts):
            if allowed:
                conflicts.conflicts = [c for c in conflicts.conflicts if c[1] not in allowed]
            raise
        entries = decode(live) if live is not None else {}
        if live is not None and not entries:
            entries = decode(track_update(resource, zero(resource), base, BEFORE_FIRST_APPLY, now))
        result = _apply(resource, node, base, config, entries, manager, True, now)
    annotations = result.get("metadata", {}).get("annotations") or {}
    if manager == "kubectl" and annotations.get(LAST_APPLIED):
        applied = copy.deepcopy(config)
        given = applied.get("metadata", {}).get("annotations")
        if isinstance(given, dict):  # buildLastApplied: the configuration without the annotation
            given.pop(LAST_APPLIED, None)
        annotations[LAST_APPLIED] = go_json(applied)
    return result


def go_json(value: object) -> str:
    """As Go's ``json.Encoder`` writes it: sorted keys, no spaces, HTML characters escaped, and
    a newline at the end."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "\n"


def _apply(resource, node, live, config, entries, manager, force, now) -> dict:
    entries = copy.deepcopy(entries)
    me = Entry(manager, "Apply", resource.api_version, set(), now)
    previous = entries.get(me.key)
    last = previous.fields if previous else set()
    merged = fieldsets.merge(live, config, node)
    me.fields = _tracked(resource, fieldsets.to_field_set(config, node))
    entries[me.key] = me
    merged = _prune(resource, merged, entries, me, last)
    _update(resource, live, merged, entries, me, force=force)
    me.fields -= _STRIPPED
    if fieldsets.same(live, merged):  # a no-op apply: the manager's time stays (or stays unset)
        me.time = previous.time if previous is not None else None
    return _store(copy.deepcopy(merged), entries)
