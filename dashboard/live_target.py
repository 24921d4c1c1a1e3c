"""One configured Service as the dashboard holds it live: its endpoints, its settings, its runs.

Each target (``settings.DASHBOARD_SERVICES``, ``combat_app.targets``) has its own watchers (the
Service's EndpointSlices, the Service itself, in the target's namespace), its own runs and
experiments, and its own channel-layer group: a browser joins the group of the target it shows,
and every broadcast about the target goes there. Its sequence numbers are the target's own
(``origin`` + ``seq``, per target and process), so a browser sees no gap from another target's
messages.

Calls are coalesced into at most one ``calls.batch`` per ``FLUSH_SECONDS``, endpoint changes
into at most one ``endpoints.changed`` (what changed, by key: ``tracking.PendingChanges``); only
``hello`` carries the whole endpoint set (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

from django.conf import settings

from combat_app import identity
from combat_app.targets import Target
from dashboard import experiments, kube, runs, slices, tracking
from dashboard.service_settings import expectation
from dashboard.service_watching import ServiceWatcher
from dashboard.storing import CallWriter
from dashboard.watching import EndpointWatcher, WatchSettings

FLUSH_SECONDS = 0.05
RECENT_CALLS = 200
RECENT_EVENTS = 200
MAX_GROUP_NAME = 99  # Channels: group names are shorter than 100 characters


def group_name(target: Target) -> str:
    """The target's channel-layer group: ``dashboard.<name>.<namespace>``, or a digest of it
    when that would pass Channels' limit (a 63-character name in a 63-character namespace)."""
    name = f"dashboard.{target.key}"
    if len(name) <= MAX_GROUP_NAME:
        return name
    return "dashboard." + hashlib.sha256(target.key.encode()).hexdigest()[:32]


class LiveTarget:
    def __init__(
        self,
        target: Target,
        *,
        url: str,
        origin: str,
        writer: CallWriter,
        slots: threading.Semaphore,
        layer,
        spawn: Callable[[Awaitable], asyncio.Task],
        store_events: Callable[[list[dict]], None],
    ) -> None:
        self.target = target
        self.url = url  # http://host:port, where this target's calls go
        self.group = group_name(target)
        # The home Service (DASHBOARD_SERVICE): the only one the scale and delete buttons act on.
        self.home = target == settings.DASHBOARD_HOME
        self.layer = layer
        self.spawn = spawn
        self.writer = writer
        self.store_events = store_events
        self.origin = origin
        self.seq = 0
        self.delivered_seq = 0  # the last broadcast whose group_send has completed
        self._sending = asyncio.Lock()
        self.index = tracking.EndpointIndex()
        self.timeline: deque[dict] = deque(maxlen=RECENT_EVENTS)
        self.recent_calls: deque[dict] = deque(maxlen=RECENT_CALLS)
        self.runs = runs.Runs(
            origin=origin,
            writer=writer,
            slots=slots,
            endpoint_state=self.endpoint_state,
            broadcast=self.broadcast,
            flush_calls=self.flush_calls,
            spawn=spawn,
            expectation=self.expectation,
            service_settings=lambda: self.service_watcher.settings_now,
            target=target.key,
            url=url,  # its gRPC target is the same host (runs.Runs derives it)
        )
        self.experiments = experiments.Experiments(
            origin=origin, runs=self.runs, broadcast=self.broadcast, spawn=spawn
        )
        connect = lambda: kube.connect(target.namespace)  # noqa: E731
        self.watcher = EndpointWatcher(
            connect,
            WatchSettings(
                service=target.name,
                kind="endpoints" if settings.DASHBOARD_LEGACY_ENDPOINTS else "endpointslices",
                silence_seconds=settings.DASHBOARD_WATCH_SILENCE_SECONDS,
            ),
            on_change=self._endpoints_from_thread,
        )
        self.service_watcher = ServiceWatcher(
            connect,
            WatchSettings(service=target.name, silence_seconds=settings.DASHBOARD_WATCH_SILENCE_SECONDS),
            on_change=self._service_from_thread,
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[dict] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._last_flush = 0.0
        self._changes = tracking.PendingChanges()
        self._change_events: deque[dict] = deque(maxlen=RECENT_EVENTS)
        self._stored_events: list[dict] = []
        self._changes_at = 0.0
        self._changes_handle: asyncio.TimerHandle | None = None
        self._last_changes = 0.0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.watcher.start()
        self.service_watcher.start()

    def stop_watching(self) -> None:
        """Blocking (a thread's join): call it through ``asyncio.to_thread``."""
        self.watcher.stop()
        self.service_watcher.stop()

    def describe(self) -> dict:
        """The target as ``hello.targets`` lists it."""
        return {
            "key": self.target.key,
            "name": self.target.name,
            "namespace": self.target.namespace,
            "url": self.url,
        }

    # --- broadcasting -------------------------------------------------------------------------

    async def broadcast(self, message: dict) -> None:
        # One at a time: with Redis, group_send awaits the network, and two broadcasts in flight
        # could arrive out of order, which a browser would take for a lost message.
        async with self._sending:
            self.seq += 1
            message = {**message, "target": self.target.key, "origin": self.origin, "seq": self.seq}
            await self.layer.group_send(self.group, {"type": message["type"], "message": message})
            self.delivered_seq = self.seq

    def snapshot(self) -> dict:
        """The target's part of ``hello``: everything a browser needs to draw it."""
        return {
            "target": self.target.key,
            # Not self.seq: a broadcast still on its way (Redis) may or may not reach this client;
            # from the last delivered one, the next is delivered + 1 either way, or a gap shows.
            "seq": self.delivered_seq,
            "service": {"name": self.target.name, "url": self.url, "namespace": self.target.namespace},
            "settings": self.service_watcher.settings_now,
            "endpoints": [e.as_dict() for e in slices.in_order(self.endpoints)],
            "watch": {"connected": self.watcher.stats.connected, "restarts": self.watcher.stats.restarts},
            "runs": self.runs.rows(),
            "experiments": self.experiments.rows(),
            "calls": list(self.recent_calls),
            "timeline": list(self.timeline),
        }

    # --- endpoints ----------------------------------------------------------------------------

    @property
    def endpoints(self) -> slices.EndpointSet:
        """The set now; changed in place on the event loop (iterate it there only)."""
        return self.index.endpoints

    def _endpoints_from_thread(self, change: slices.Change) -> None:
        self.loop.call_soon_threadsafe(self._endpoints_changed, change, time.time())

    def _endpoints_changed(self, change: slices.Change, at: float) -> None:
        """Apply one change now (runs and calls see it at once); send it with the others of its
        window, in at most one ``endpoints.changed`` per ``FLUSH_SECONDS``."""
        self._changes.note(change, self.index.endpoints)
        self.index.apply(change)
        events = tracking.events_of(change, at)
        self.timeline.extend(events)
        self._change_events.extend(events)
        self._stored_events.extend(events)
        self._changes_at = at
        if self._changes_handle is None:
            delay = max(0.0, self._last_changes + FLUSH_SECONDS - time.monotonic())
            self._changes_handle = self.loop.call_later(delay, lambda: self.spawn(self._send_changes()))

    async def _send_changes(self) -> None:
        self._changes_handle = None
        self._last_changes = time.monotonic()
        stored, self._stored_events = self._stored_events, []
        self.writer.after_pending(lambda: self.store_events(stored))
        events = list(self._change_events)
        self._change_events.clear()
        delta = self._changes.take(self.index.endpoints)
        count = len(self.index.endpoints)
        await self.broadcast(
            {"type": "endpoints.changed", "at": self._changes_at, **delta, "events": events, "count": count}
        )

    def endpoint_state(self, ip: str, pod: str) -> str:
        """The answering pod's endpoint state now: by its name, else by its IP among the endpoints'
        IPv4/IPv6 addresses (never an FQDN name); a gRPC reply names only the pod. Called from
        worker threads: ``tracking.EndpointIndex`` lookups are safe there."""
        found = self.index.by_pod(pod) or (self.index.by_ip(ip) if ip else None)
        return found.state if found else "absent"

    # --- the Service's settings ---------------------------------------------------------------

    def _service_from_thread(self, service_settings: dict) -> None:
        self.loop.call_soon_threadsafe(lambda: self.spawn(self._service_changed(service_settings)))

    async def _service_changed(self, service_settings: dict) -> None:
        await self.broadcast({"type": "service.changed", "at": time.time(), "settings": service_settings})

    def expectation(self) -> dict:
        """Where a run started now should land (``service_settings.expectation``); on the loop."""
        return expectation(self.service_watcher.settings_now, self.endpoints, node=identity.current().node)

    # --- calls --------------------------------------------------------------------------------

    def calls_stored(self, calls: list[dict]) -> None:
        """Calls of this target's runs, stored: sent in the next ``calls.batch``; on the loop."""
        self.recent_calls.extend(calls)
        self._pending.extend(calls)
        if self._flush_handle is None:
            delay = max(0.0, self._last_flush + FLUSH_SECONDS - time.monotonic())
            self._flush_handle = self.loop.call_later(delay, lambda: self.spawn(self._flush()))

    async def flush_calls(self) -> None:
        """Broadcast the calls stored but not yet sent, now rather than at the next tick."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            await self._flush()

    async def _flush(self) -> None:
        self._flush_handle = None
        self._last_flush = time.monotonic()
        if self._pending:
            calls, self._pending = self._pending, []
            await self.broadcast({"type": "calls.batch", "calls": calls})
