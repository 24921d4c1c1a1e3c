"""Events, recorded as a cluster's components record them, and not kept for ever.

``EventRecorder.record`` is client-go's ``record.EventRecorder`` (tools/record, v1.29) writing
core/v1 Events into the store: named ``<object>.<unix nanoseconds in hex>``, with ``source``,
``reportingComponent``/``reportingInstance``, ``involvedObject`` (an ObjectReference, with
``fieldPath`` such as ``spec.containers{NAME}`` for a container), ``count``, ``firstTimestamp``
and ``lastTimestamp``. Its ``Correlator`` is client-go's EventCorrelator:

- dedup: the same event again (same source, object, type, reason, message) updates the stored
  one: ``count`` + 1, a new ``lastTimestamp``;
- aggregation: from the 10th distinct message with the same source, object, type and reason
  within 10 minutes, one event "(combined from similar events): <message>" stands for them;
- spam filter: per source and object, a token bucket of 25 that refills one per 5 minutes;
  events beyond it are dropped.

``record_new`` is the events.k8s.io/v1 recorder the scheduler uses (``eventTime``, ``action``,
no count). Kept events are capped (``cap``, oldest last-update first) and expire ``ttl_seconds``
after their last update, as kube-apiserver's ``--event-ttl`` (1 h) does.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sandbox import resources
from sandbox.store import Store

MAX_SIMILAR = 10  # EventCorrelator's maxEvents
SIMILAR_WINDOW_SECONDS = 600  # maxIntervalInSeconds
SPAM_BURST = 25
SPAM_REFILL_SECONDS = 300  # qps 1/300
CACHE_SIZE = 4096  # maxLruCacheEntries
COMBINED = "(combined from similar events): "


@dataclass(frozen=True)
class Source:
    """Who records: ``component`` ("deployment-controller", "kubelet"...), ``host`` (the node,
    for the kubelet; "" for controllers)."""

    component: str
    host: str = ""


def reference(obj: dict, field_path: str = "") -> dict:
    """The ObjectReference of ``obj`` (reference.GetReference), ``fieldPath`` if given."""
    metadata = obj["metadata"]
    ref = {
        "kind": obj.get("kind", ""),
        "namespace": metadata.get("namespace", ""),
        "name": metadata["name"],
        "uid": metadata.get("uid", ""),
        "apiVersion": obj.get("apiVersion", ""),
        "resourceVersion": metadata.get("resourceVersion", ""),
    }
    if field_path:
        ref["fieldPath"] = field_path
    return ref


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _involved(event: dict) -> tuple:
    ref = event["involvedObject"]
    return (ref.get("kind"), ref.get("namespace"), ref.get("name"), ref.get("uid"), ref.get("apiVersion"))


def spam_key(event: dict) -> tuple:
    """getSpamKey: the source and the object."""
    source = event["source"]
    return (source.get("component", ""), source.get("host", ""), *_involved(event))


def aggregate_key(event: dict) -> tuple:
    """EventAggregatorByReasonFunc's first key: all but the message (and fieldPath)."""
    return (
        *spam_key(event),
        event["type"],
        event["reason"],
        event.get("reportingComponent", ""),
        event.get("reportingInstance", ""),
    )


def event_key(event: dict) -> tuple:
    """getEventKey: what makes two events the same one (the message included)."""
    return (
        *spam_key(event),
        event["involvedObject"].get("fieldPath", ""),
        event["type"],
        event["reason"],
        event["message"],
    )


class _Lru(OrderedDict):
    def remember(self, key, value) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > CACHE_SIZE:
            self.popitem(last=False)


@dataclass
class _Observed:
    name: str
    count: int
    first: str


@dataclass
class Correlator:
    """EventCorrelator: ``correlate(event, now)`` returns the event to write (a new one, or
    the stored one with count + 1 and the same name) and whether it exists, or None (spam)."""

    similar: _Lru = field(default_factory=_Lru)  # aggregate key -> (messages, last seen)
    observed: _Lru = field(default_factory=_Lru)  # event key or aggregate key -> _Observed
    buckets: _Lru = field(default_factory=_Lru)  # spam key -> (tokens, last refill)

    def correlate(self, event: dict, now: float) -> tuple[dict, bool] | None:
        event, key = self._aggregate(event, now)
        seen = self.observed.get(key)
        exists = seen is not None and seen.count > 0
        if exists:
            event = {
                **event,
                "metadata": {**event["metadata"], "name": seen.name},
                "firstTimestamp": seen.first,
                "count": seen.count + 1,
            }
        self.observed.remember(
            key, _Observed(event["metadata"]["name"], event["count"], event["firstTimestamp"])
        )
        if not self._accept(spam_key(event), now):
            return None
        return event, exists

    def _aggregate(self, event: dict, now: float) -> tuple[dict, tuple]:
        key = aggregate_key(event)
        messages, last = self.similar.get(key, (set(), now))
        if now - last > SIMILAR_WINDOW_SECONDS:
            messages = set()
        messages.add(event["message"])
        self.similar.remember(key, (messages, now))
        if len(messages) < MAX_SIMILAR:
            return event, event_key(event)
        messages.pop()  # do not grow beyond the threshold
        combined = {
            **event,
            "message": COMBINED + event["message"],
            "reportingComponent": "",  # the aggregate event is built without them upstream
            "reportingInstance": "",
        }
        return combined, key

    def _accept(self, key: tuple, now: float) -> bool:
        tokens, since = self.buckets.get(key, (float(SPAM_BURST), now))
        tokens = min(float(SPAM_BURST), tokens + (now - since) / SPAM_REFILL_SECONDS)
        accepted = tokens >= 1
        self.buckets.remember(key, (tokens - 1 if accepted else tokens, now))
        return accepted


class EventRecorder:
    """Writes Events into ``store``; ``clock`` gives epoch seconds (``time.time``)."""

    def __init__(
        self,
        store: Store,
        *,
        cap: int = 1000,
        ttl_seconds: float = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.cap = cap
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.correlator = Correlator()
        self._kept: OrderedDict[tuple[str, str], float] = OrderedDict()  # oldest update first

    def record(
        self, obj: dict, kind: str, reason: str, message: str, source: Source, field_path: str = ""
    ) -> None:
        """Record a core/v1 Event about ``obj``: ``kind`` is "Normal" or "Warning"."""
        now = self.clock()
        stamp = rfc3339(now)
        ref = reference(obj, field_path)
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": self._name(ref["name"], now), "namespace": ref["namespace"] or "default"},
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "source": {
                key: value for key, value in (("component", source.component), ("host", source.host)) if value
            },
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": kind,
            "eventTime": None,
            "reportingComponent": source.component,
            "reportingInstance": source.host,
        }
        correlated = self.correlator.correlate(event, now)
        if correlated is not None:
            self._write(*correlated, now)

    def record_new(
        self, obj: dict, kind: str, reason: str, action: str, message: str, controller: str, instance: str
    ) -> None:
        """Record an events.k8s.io/v1 Event (as the scheduler does), seen through core/v1."""
        now = self.clock()
        ref = reference(obj)
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": self._name(ref["name"], now), "namespace": ref["namespace"] or "default"},
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "source": {},
            "firstTimestamp": None,
            "lastTimestamp": None,
            "type": kind,
            "eventTime": micro_time(now),
            "action": action,
            "reportingComponent": controller,
            "reportingInstance": instance,
        }
        self._write(event, False, now)

    def _name(self, involved: str, now: float) -> str:
        return f"{involved}.{int(now * 1e9):x}"

    def _write(self, event: dict, exists: bool, now: float) -> None:
        metadata = event["metadata"]
        key = (metadata["namespace"], metadata["name"])
        current = self.store.get(resources.EVENTS, *key) if exists else None
        if current is not None:
            for field_name in ("count", "message", "lastTimestamp"):
                current[field_name] = event[field_name]
            self.store.update(resources.EVENTS, current)
        else:
            while self.store.get(resources.EVENTS, *key) is not None:  # a name taken in the same ns
                metadata["name"] = f"{metadata['name']}0"
                key = (metadata["namespace"], metadata["name"])
            self.store.create(resources.EVENTS, event)
        self._kept[key] = now
        self._kept.move_to_end(key)
        self._evict(now)

    def _evict(self, now: float) -> None:
        while self._kept:
            key, last = next(iter(self._kept.items()))
            if len(self._kept) <= self.cap and now - last <= self.ttl_seconds:
                return
            del self._kept[key]
            self.store.delete(resources.EVENTS, *key)

    def expire(self) -> None:
        """Drop the events past their TTL (called now and then, not only on a new event)."""
        self._evict(self.clock())
