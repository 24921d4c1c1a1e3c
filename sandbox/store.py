"""The sandbox's etcd: objects, one monotonic resourceVersion, and a bounded event history.

Watches behave as the real API server's watch cache does: a watch from resourceVersion R gets
every change after R; from "" or "0" it first gets the current objects as ADDED; from an R
older than the retained history it gets a 410 Gone (reason Expired), so clients must relist.
Everything runs on one event loop, so there are no locks: writers publish to each watcher's
queue at once.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sandbox.resources import Resource


def _clone(value):
    """A deep copy of a stored (JSON) value: several times faster than ``copy.deepcopy``, which
    a controller pass over 1000 pods spends most of its time in; other types go to deepcopy."""
    kind = type(value)
    if kind is dict:
        return {key: _clone(item) for key, item in value.items()}
    if kind is list:
        return [_clone(item) for item in value]
    if kind in (str, int, float, bool) or value is None:
        return value
    return copy.deepcopy(value)


Key = tuple[str, str]  # (namespace, name)
# The kinds whose strategies keep metadata.generation, and what bumps it (PrepareForUpdate of
# pkg/registry/apps/deployment, apps/replicaset, discovery/endpointslice): a Deployment's spec or
# annotations, a ReplicaSet's spec, an EndpointSlice's endpoints, ports, addressType or labels.
GENERATION = {
    "deployments": ("spec", "metadata.annotations"),
    "replicasets": ("spec",),
    "endpointslices": ("addressType", "endpoints", "ports", "metadata.labels"),
}


def _at(obj: dict, dotted: str) -> object:
    for part in dotted.split("."):
        obj = (obj or {}).get(part) if isinstance(obj, dict) else None
    return obj


def generation_changes(resource: Resource, old: dict, new: dict) -> bool:
    """Whether an update from ``old`` to ``new`` bumps ``metadata.generation``."""
    return any(_at(old, field) != _at(new, field) for field in GENERATION.get(resource.plural, ()))


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Gone(Exception):
    """The requested resourceVersion is older than the retained history."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")


class Conflict(Exception):
    pass


@dataclass
class Event:
    type: str  # ADDED, MODIFIED, DELETED
    object: dict
    resource_version: int


@dataclass(eq=False)
class Watcher:
    resource: Resource
    accepts: Callable[[dict], bool]
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)


class Store:
    def __init__(self, *, history: int = 1000) -> None:
        self._rv = 1
        self._objects: dict[Resource, dict[Key, dict]] = {}
        self._history: dict[Resource, deque[Event]] = {}
        self._history_size = history
        # Below this resourceVersion a resource's history is gone (compacted).
        self._compacted: dict[Resource, int] = {}
        self._watchers: set[Watcher] = set()

    @property
    def resource_version(self) -> int:
        return self._rv

    # --- reads -------------------------------------------------------------------------------

    def get(self, resource: Resource, namespace: str, name: str) -> dict | None:
        found = self._objects.get(resource, {}).get((namespace, name))
        return _clone(found) if found is not None else None

    def list(
        self, resource: Resource, accepts: Callable[[dict], bool] = lambda _: True, *, copy: bool = True
    ) -> list[dict]:
        """The objects of ``resource`` that ``accepts``, by namespace and name: copies, unless
        ``copy=False``, which gives the stored objects themselves to a caller that only reads
        them and takes a copy (``get``) of any it changes. A controller's pass over 1000 pods
        spent most of its time copying objects it never changed."""
        items = [obj for obj in self._objects.get(resource, {}).values() if accepts(obj)]
        items.sort(key=lambda obj: (obj["metadata"].get("namespace", ""), obj["metadata"]["name"]))
        return _clone(items) if copy else items

    def labels_by_uid(self, resource: Resource) -> dict[str, dict[str, str]]:
        """Every object's labels (a copy) by its uid: what a controller that only selects needs,
        without copying whole objects (a list of 1000 pods is a deep copy of each)."""
        return {
            obj["metadata"]["uid"]: dict(obj["metadata"].get("labels") or {})
            for obj in self._objects.get(resource, {}).values()
        }

    # --- writes ------------------------------------------------------------------------------

    def create(self, resource: Resource, obj: dict) -> dict:
        metadata = obj["metadata"]
        key = (metadata.get("namespace", ""), metadata["name"])
        if key in self._objects.setdefault(resource, {}):
            raise Conflict(f'{resource.plural} "{metadata["name"]}" already exists')
        metadata.setdefault("uid", str(uuid.uuid4()))
        metadata.setdefault("creationTimestamp", now_rfc3339())
        if resource.plural in GENERATION:
            metadata.setdefault("generation", 1)
        return self._commit(resource, key, obj, "ADDED")

    def update(
        self, resource: Resource, obj: dict, *, expected_version: str | None = None, status: bool = False
    ) -> dict:
        """Replace the stored object. ``status=True`` is a controller's status write (the
        ``/status`` subresource's strategy): ``metadata.generation`` never moves."""
        metadata = obj["metadata"]
        key = (metadata.get("namespace", ""), metadata["name"])
        current = self._objects.get(resource, {}).get(key)
        if current is None:
            raise KeyError(key)
        if expected_version and expected_version != current["metadata"]["resourceVersion"]:
            raise Conflict(
                f'Operation cannot be fulfilled on {resource.plural} "{metadata["name"]}": '
                "the object has been modified; please apply your changes to the latest version and try again"
            )
        if not status and generation_changes(resource, current, obj):
            metadata["generation"] = current["metadata"].get("generation", 1) + 1
        return self._commit(resource, key, obj, "MODIFIED")

    def delete(self, resource: Resource, namespace: str, name: str) -> dict | None:
        current = self._objects.get(resource, {}).pop((namespace, name), None)
        if current is None:
            return None
        self._rv += 1
        current = _clone(current)
        current["metadata"]["resourceVersion"] = str(self._rv)
        self._publish(resource, Event("DELETED", current, self._rv))
        return _clone(current)

    def _commit(self, resource: Resource, key: Key, obj: dict, event_type: str) -> dict:
        self._rv += 1
        stored = _clone(obj)
        stored["metadata"]["resourceVersion"] = str(self._rv)
        self._objects[resource][key] = stored
        self._publish(resource, Event(event_type, _clone(stored), self._rv))
        return _clone(stored)

    def _publish(self, resource: Resource, event: Event) -> None:
        history = self._history.setdefault(resource, deque(maxlen=self._history_size))
        if len(history) == history.maxlen:
            self._compacted[resource] = history[0].resource_version
        history.append(event)
        for watcher in self._watchers:
            if watcher.resource is resource and watcher.accepts(event.object):
                watcher.queue.put_nowait(event)

    # --- watches -----------------------------------------------------------------------------

    def watch(self, resource: Resource, since: int | None, accepts: Callable[[dict], bool]) -> Watcher:
        """Subscribe; the queue first holds what the client missed since ``since``.

        ``since=None`` (resourceVersion "" or "0") starts with the current objects as ADDED.
        """
        watcher = Watcher(resource, accepts)
        if since is None:
            for obj in self.list(resource, accepts):
                watcher.queue.put_nowait(Event("ADDED", obj, int(obj["metadata"]["resourceVersion"])))
        else:
            oldest = self._compacted.get(resource, 0)
            if since < oldest:
                raise Gone(since, oldest)
            for event in self._history.get(resource, ()):
                if event.resource_version > since and accepts(event.object):
                    watcher.queue.put_nowait(Event(event.type, _clone(event.object), event.resource_version))
        self._watchers.add(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    def compact(self) -> None:
        """Forget all history, as etcd compaction does: every older resourceVersion is now Gone."""
        for resource in list(self._history):
            self._history[resource].clear()
            self._compacted[resource] = self._rv
