"""Keeping an endpoint set current one change at a time, at the cost of the change, not the set.

Three pieces, each pure and single-threaded (who calls them from where is the caller's concern):

- ``SliceSet``, the watcher's: each slice's own contribution, so that a slice event recomputes
  only the keys that slice touched, merged exactly as ``slices.from_slices`` merges the current
  slices (a pod listed by several slices: dual-stack, or moving between slices).
- ``EndpointIndex``, the engine's: the set with lookups by pod name and by IP, for the answering
  pod of every call.
- ``PendingChanges``, the engine's: the changes since the last ``endpoints.changed``, one entry per
  key however often it changed, turned into that message's ``added``, ``changed`` and ``removed``
  (docs/protocol.md).
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable, Mapping

from dashboard import slices
from dashboard.slices import Change, Endpoint, EndpointSet


class SliceSet:
    """The endpoint set of a Service's current EndpointSlices, kept by slice name.

    ``endpoints`` always equals ``slices.from_slices`` of the current slices in the order a
    ``dict`` of them by name would hold them (first listed or added first; a modified slice keeps
    its place): ``from_slices`` merges a pod's copies in that order. ``put`` and ``delete`` cost
    the size of the slice plus, per key whose copy changed, the number of slices listing it.
    """

    def __init__(self) -> None:
        self.endpoints: EndpointSet = {}
        self._place: dict[str, int] = {}  # slice name -> its place in the order above
        self._copies: dict[str, dict[str, tuple[Endpoint, ...]]] = {}  # slice -> key -> its copies
        self._holders: dict[str, set[str]] = {}  # key -> the slices listing it
        self._counter = itertools.count()

    def reset(self, named: Iterable[tuple[str, Mapping]]) -> Change:
        """Start again from a full list of ``(name, slice)`` (a relist): the change from before."""
        before = self.endpoints
        self.__init__()
        for name, endpoint_slice in named:
            self._store(name, endpoint_slice)
        self.endpoints = {key: self._merged(key) for key in self._holders}
        return slices.diff(before, self.endpoints)

    def put(self, name: str, endpoint_slice: Mapping) -> Change:
        """A slice added or modified (a watch's ``ADDED`` or ``MODIFIED``)."""
        old, new = self._copies.get(name, {}), self._store(name, endpoint_slice)
        return self._refresh(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))

    def delete(self, name: str) -> Change:
        """A slice deleted (``DELETED``); an unknown name changes nothing."""
        old = self._copies.pop(name, {})
        self._place.pop(name, None)
        for key in old:
            self._unhold(key, name)
        return self._refresh(old)

    def _store(self, name: str, endpoint_slice: Mapping) -> dict[str, tuple[Endpoint, ...]]:
        grouped: dict[str, list[Endpoint]] = {}
        for endpoint in slices.read_slice(endpoint_slice):
            grouped.setdefault(endpoint.key, []).append(endpoint)
        new = {key: tuple(copies) for key, copies in grouped.items()}
        for key in self._copies.get(name, {}).keys() - new.keys():
            self._unhold(key, name)
        for key in new:
            self._holders.setdefault(key, set()).add(name)
        self._place.setdefault(name, next(self._counter))
        self._copies[name] = new
        return new

    def _unhold(self, key: str, name: str) -> None:
        holders = self._holders[key]
        holders.discard(name)
        if not holders:
            del self._holders[key]

    def _merged(self, key: str) -> Endpoint:
        holders = sorted(self._holders[key], key=self._place.__getitem__)
        return slices.combined(copy for name in holders for copy in self._copies[name][key])

    def _refresh(self, keys: Iterable[str]) -> Change:
        added, removed, changed = [], [], []
        for key in sorted(keys):
            old = self.endpoints.get(key)
            new = self._merged(key) if key in self._holders else None
            if new is None:
                if old is not None:
                    removed.append(self.endpoints.pop(key))
            elif old is None:
                added.append(new)
            elif new != old:
                changed.append(new)
            if new is not None:
                self.endpoints[key] = new
        return Change(tuple(added), tuple(removed), tuple(changed))


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class EndpointIndex:
    """The engine's endpoint set, with the lookups a call's answer needs.

    Changed only by ``apply`` (on the event loop); the lookups may run in other threads at the
    same time: they only ever ``get`` from dicts whose values are never mutated (tuples,
    frozen endpoints), which CPython does atomically under the GIL, and never iterate them.
    """

    def __init__(self) -> None:
        self.endpoints: EndpointSet = {}
        self.reachable = 0  # ready endpoints with an IP: ``len(slices.ready_pods(endpoints))``
        self._pods: dict[str, tuple[str, ...]] = {}  # pod name -> keys
        self._ips: dict[object, tuple[str, ...]] = {}  # parsed IPv4/IPv6 address -> keys

    def apply(self, change: Change) -> None:
        for endpoint in (*change.removed, *change.changed, *change.added):
            old = self.endpoints.pop(endpoint.key, None)
            if old is not None:
                self._unindex(old)
        for endpoint in (*change.changed, *change.added):
            self.endpoints[endpoint.key] = endpoint
            self._index(endpoint)

    def _index(self, endpoint: Endpoint) -> None:
        self.reachable += bool(endpoint.ready and endpoint.ips)
        if endpoint.pod:
            self._pods[endpoint.pod] = (*self._pods.get(endpoint.pod, ()), endpoint.key)
        for address in filter(None, map(_address, endpoint.ips)):
            self._ips[address] = (*self._ips.get(address, ()), endpoint.key)

    def _unindex(self, endpoint: Endpoint) -> None:
        self.reachable -= bool(endpoint.ready and endpoint.ips)
        _drop(self._pods, endpoint.pod, endpoint.key)
        for address in filter(None, map(_address, endpoint.ips)):
            _drop(self._ips, address, endpoint.key)

    def _first(self, keys: tuple[str, ...]) -> Endpoint | None:
        return next(filter(None, map(self.endpoints.get, keys)), None)

    def by_pod(self, pod: str) -> Endpoint | None:
        """As ``slices.by_pod``, in O(1)."""
        return self._first(self._pods.get(pod, ())) if pod else None

    def by_ip(self, ip: str) -> Endpoint | None:
        """As ``slices.by_ip`` (compared as addresses; FQDN names never match), in O(1)."""
        address = _address(ip)
        return self._first(self._ips.get(address, ())) if address is not None else None


def _drop(index: dict, name: object, key: str) -> None:
    keys = tuple(k for k in index.get(name, ()) if k != key)
    if keys:
        index[name] = keys
    else:
        index.pop(name, None)


def events_of(change: Change, at: float) -> list[dict]:
    """The timeline's events for one change: ``{at, kind, key, name, ip, pod, node, state}``."""
    return [
        {
            "at": at,
            "kind": kind,
            "key": e.key,
            "name": e.name,
            "ip": e.ip,
            "pod": e.pod,
            "node": e.node,
            "state": e.state,
        }
        for kind, group in (("added", change.added), ("removed", change.removed), ("changed", change.changed))
        for e in group
    ]


class PendingChanges:
    """What changed since the last message, one entry per key: a key that changed ten times in a
    window is sent once, as it is at the end. ``note`` each change before applying it to the
    set; ``take`` returns the message's lists and starts a new window."""

    def __init__(self) -> None:
        self._before: dict[str, Endpoint | None] = {}  # key -> as the last message left it

    def __bool__(self) -> bool:
        return bool(self._before)

    def note(self, change: Change, endpoints: EndpointSet) -> None:
        for endpoint in (*change.added, *change.removed, *change.changed):
            self._before.setdefault(endpoint.key, endpoints.get(endpoint.key))

    def take(self, endpoints: EndpointSet) -> dict[str, list]:
        """``{added: [endpoint dicts], changed: [...], removed: [{key, name}]}`` as the set now
        is against the last message, each list by (name, key). An endpoint whose name changed
        (keyed by a uid, named by its first address) is removed at its old name and added at
        its new one, so a client's list, sorted by name, never needs a search by key."""
        added, changed, removed = [], [], []
        for key, old in self._before.items():
            new = endpoints.get(key)
            if new == old:
                continue
            if old is not None and (new is None or new.name != old.name):
                removed.append(old)
            if new is not None:
                (changed if old is not None and new.name == old.name else added).append(new)
        self._before = {}
        return {
            "added": [e.as_dict() for e in _by_name(added)],
            "changed": [e.as_dict() for e in _by_name(changed)],
            "removed": [{"key": e.key, "name": e.name} for e in _by_name(removed)],
        }


def _by_name(endpoints: list[Endpoint]) -> list[Endpoint]:
    return sorted(endpoints, key=lambda e: (e.name, e.key))
