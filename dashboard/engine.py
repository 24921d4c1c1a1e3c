"""The dashboard's engine: endpoints in, calls out, every change broadcast to the browsers.

It lives on the server's event loop, started and stopped by the ASGI lifespan. Blocking work
runs elsewhere: the endpoint watcher and the runs' workers in threads, the ORM through the
call writer's thread or ``asyncio.to_thread``. Threads hand results back with
``loop.call_soon_threadsafe`` (``async_to_sync`` from a plain thread costs hundreds of ms).

Every broadcast carries ``origin`` (this process) and ``seq`` (this process's counter): the
in-memory channel layer drops messages silently when a browser's channel is full, so a client
that sees a gap asks for a resync. Calls are coalesced into at most one ``calls.batch`` per
``FLUSH_SECONDS``, endpoint changes into at most one ``endpoints.changed`` (what changed, by key:
``tracking.PendingChanges``); only ``hello`` carries the whole endpoint set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import deque

from channels.layers import get_channel_layer
from django.conf import settings

from combat_app import identity
from dashboard import experiments, kube, runs, slices, tracking
from dashboard.chaos import Chaos
from dashboard.errors import Refused
from dashboard.firing import MAX_CONCURRENCY, MAX_COUNT, MODES, ExperimentPlan, RunPlan
from dashboard.messages import PROTOCOL_VERSION
from dashboard.metrics import Metrics
from dashboard.models import EndpointEvent
from dashboard.records import CallRecord
from dashboard.service_settings import expectation
from dashboard.service_watching import ServiceWatcher
from dashboard.storing import CallWriter
from dashboard.watching import EndpointWatcher, WatchSettings

logger = logging.getLogger(__name__)

__all__ = ["Engine", "Refused", "current", "run_row"]  # Refused: what consumers catch

GROUP = "dashboard"
FLUSH_SECONDS = 0.05
RECENT_CALLS = 200
RECENT_EVENTS = 200
STORED_EVENTS = 10_000  # EndpointEvent rows kept: a rollout of 1000 pods is a few thousand


class Engine:
    def __init__(self) -> None:
        pod = identity.current()
        self.origin = f"{pod.name}/{os.getpid()}"
        self.seq = 0
        self.delivered_seq = 0  # the last broadcast whose group_send has completed
        self.index = tracking.EndpointIndex()
        self.timeline: deque[dict] = deque(maxlen=RECENT_EVENTS)
        self.recent_calls: deque[dict] = deque(maxlen=RECENT_CALLS)
        self.metrics = Metrics()
        self.writer = CallWriter(on_stored=self._stored_from_thread)
        self.runs = runs.Runs(
            origin=self.origin,
            writer=self.writer,
            slots=threading.Semaphore(settings.DASHBOARD_MAX_CONCURRENCY),
            endpoint_state=self.endpoint_state,
            broadcast=self.broadcast,
            flush_calls=self.flush_calls,
            spawn=self._spawn,
            expectation=self.expectation,
            service_settings=lambda: self.service_watcher.settings_now,
        )
        self.experiments = experiments.Experiments(
            origin=self.origin, runs=self.runs, broadcast=self.broadcast, spawn=self._spawn
        )
        self.chaos = Chaos()
        self.watcher = EndpointWatcher(
            lambda: kube.connect(settings.DASHBOARD_NAMESPACE),
            WatchSettings(
                service=settings.DASHBOARD_SERVICE,
                kind="endpoints" if settings.DASHBOARD_LEGACY_ENDPOINTS else "endpointslices",
                silence_seconds=settings.DASHBOARD_WATCH_SILENCE_SECONDS,
            ),
            on_change=self._endpoints_from_thread,
        )
        self.service_watcher = ServiceWatcher(
            lambda: kube.connect(settings.DASHBOARD_NAMESPACE),
            WatchSettings(
                service=settings.DASHBOARD_SERVICE, silence_seconds=settings.DASHBOARD_WATCH_SILENCE_SECONDS
            ),
            on_change=self._service_from_thread,
        )
        self.layer = get_channel_layer()
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
        self._tasks: set[asyncio.Task] = set()
        self._sending = asyncio.Lock()
        self.clients: set[str] = set()  # this process's websocket channels (see drain)
        self._no_clients = asyncio.Event()
        self._drained = False

    # --- life ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        if settings.DASHBOARD_LEGACY_ENDPOINTS:
            logger.warning(
                "watching v1 Endpoints, deprecated since Kubernetes 1.33; EndpointSlices are the default"
            )
        self.writer.start()
        self.watcher.start()
        self.service_watcher.start()

    async def drain(self) -> None:
        """The pod is told to stop (SIGTERM): cancel every run, let each store its calls so far
        and its verdict (``cancelled``, with the reason), tell every browser to go (close code
        1001, after the verdict) and stop watching. Bounded: a call never outlasts its timeout."""
        if self._drained:
            return
        self._drained = True
        watcher_stopped = asyncio.ensure_future(asyncio.to_thread(self.watcher.stop))
        service_watcher_stopped = asyncio.ensure_future(asyncio.to_thread(self.service_watcher.stop))
        seconds = settings.COMBAT_CALL_TIMEOUT_SECONDS + 3
        await self.experiments.cancel_all(runs.SHUTDOWN_REASON, seconds=seconds)
        await self.runs.cancel_all(runs.SHUTDOWN_REASON, seconds=seconds)
        await self._send_clients_away()
        await watcher_stopped
        await service_watcher_stopped

    async def _send_clients_away(self, seconds: float = 2.0) -> None:
        # Through each client's own channel: it comes after the broadcasts already queued there.
        for name in list(self.clients):
            await self.layer.send(name, {"type": "server.going_away"})
        if self.clients:
            self._no_clients.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._no_clients.wait(), seconds)

    def attach(self, channel: str) -> None:
        self.clients.add(channel)

    def detach(self, channel: str) -> None:
        self.clients.discard(channel)
        if not self.clients:
            self._no_clients.set()

    async def stop(self) -> None:
        await self.drain()  # a no-op after SIGTERM's drain; the whole of it on a plain exit
        await asyncio.to_thread(self.writer.stop)

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- broadcasting -------------------------------------------------------------------------

    async def broadcast(self, message: dict) -> None:
        # One at a time: with Redis, group_send awaits the network, and two broadcasts in flight
        # could arrive out of order, which a browser would take for a lost message.
        async with self._sending:
            self.seq += 1
            message = {**message, "origin": self.origin, "seq": self.seq}
            await self.layer.group_send(GROUP, {"type": message["type"], "message": message})
            self.delivered_seq = self.seq

    def snapshot(self) -> dict:
        """The ``hello`` a browser gets on connect and on resync: everything it needs to draw."""
        pod = identity.current()
        return {
            "type": "hello",
            "protocol": PROTOCOL_VERSION,
            "origin": self.origin,
            # Not self.seq: a broadcast still on its way (Redis) may or may not reach this client;
            # from the last delivered one, the next is delivered + 1 either way, or a gap shows.
            "seq": self.delivered_seq,
            "pod": {"name": pod.name, "ip": pod.ip, "node": pod.node},
            "service": {
                "name": settings.DASHBOARD_SERVICE,
                "url": settings.COMBAT_SERVICE_URL,
                "namespace": settings.DASHBOARD_NAMESPACE,
            },
            "settings": self.service_watcher.settings_now,
            "endpoints": [e.as_dict() for e in slices.in_order(self.endpoints)],
            "capabilities": {
                "modes": list(MODES),
                "chaos": settings.DASHBOARD_CHAOS,
                "max_count": MAX_COUNT,
                "max_concurrency": min(MAX_CONCURRENCY, settings.DASHBOARD_MAX_CONCURRENCY),
            },
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
        self.metrics.ready_endpoints = self.index.reachable  # pods, not addresses
        self.metrics.watch_restarts = self.watcher.stats.restarts
        events = tracking.events_of(change, at)
        self.timeline.extend(events)
        self._change_events.extend(events)
        self._stored_events.extend(events)
        self._changes_at = at
        if self._changes_handle is None:
            delay = max(0.0, self._last_changes + FLUSH_SECONDS - time.monotonic())
            self._changes_handle = self.loop.call_later(delay, lambda: self._spawn(self._send_changes()))

    async def _send_changes(self) -> None:
        self._changes_handle = None
        self._last_changes = time.monotonic()
        stored, self._stored_events = self._stored_events, []
        self.writer.after_pending(lambda: _store_events(stored))
        events = list(self._change_events)
        self._change_events.clear()
        delta = self._changes.take(self.index.endpoints)
        count = len(self.index.endpoints)
        await self.broadcast(
            {"type": "endpoints.changed", "at": self._changes_at, **delta, "events": events, "count": count}
        )

    # --- the Service's settings ---------------------------------------------------------------

    def _service_from_thread(self, service_settings: dict) -> None:
        self.loop.call_soon_threadsafe(lambda: self._spawn(self._service_changed(service_settings)))

    async def _service_changed(self, service_settings: dict) -> None:
        await self.broadcast({"type": "service.changed", "at": time.time(), "settings": service_settings})

    def expectation(self) -> dict:
        """Where a run started now should land (``service_settings.expectation``); on the loop."""
        return expectation(self.service_watcher.settings_now, self.endpoints, node=identity.current().node)

    def endpoint_state(self, ip: str, pod: str) -> str:
        """The answering pod's endpoint state now: by its name, else by its IP among the endpoints'
        IPv4/IPv6 addresses (never an FQDN name); a gRPC reply names only the pod. Called from
        worker threads: ``tracking.EndpointIndex`` lookups are safe there."""
        found = self.index.by_pod(pod) or (self.index.by_ip(ip) if ip else None)
        return found.state if found else "absent"

    # --- calls --------------------------------------------------------------------------------

    def _stored_from_thread(self, batch: list[CallRecord]) -> None:
        self.loop.call_soon_threadsafe(self._calls_stored, batch)

    def _calls_stored(self, batch: list[CallRecord]) -> None:
        for record in batch:
            self.metrics.count(record)
        calls = [record.as_dict() for record in batch]
        self.recent_calls.extend(calls)
        self._pending.extend(calls)
        if self._flush_handle is None:
            delay = max(0.0, self._last_flush + FLUSH_SECONDS - time.monotonic())
            self._flush_handle = self.loop.call_later(delay, lambda: self._spawn(self._flush()))

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

    # --- runs and chaos ---------------------------------------------------------------------

    async def start_run(self, plan: RunPlan) -> dict:
        return await self.runs.start(plan, expected=slices.ready_pods(self.endpoints))

    def cancel_run(self, run_id: int) -> None:
        self.runs.cancel(run_id)

    async def start_experiment(self, plan: ExperimentPlan) -> dict:
        """Compare the modes over the pods ready now (``dashboard.experiments``)."""
        return await self.experiments.start(plan, expected=slices.ready_pods(self.endpoints))

    def cancel_experiment(self, experiment_id: int) -> None:
        self.experiments.cancel(experiment_id)

    async def scale(self, replicas: int) -> None:
        await self.chaos.scale(replicas)

    async def delete_pod(self, name: str) -> None:
        await self.chaos.delete_pod(name, endpoint_pods={e.pod for e in self.endpoints.values() if e.pod})


def _store_events(events: list[dict]) -> None:
    """Store a window's endpoint events, keeping the newest ``STORED_EVENTS`` (writer's thread)."""
    fields = ("at", "kind", "ip", "pod", "node", "state")
    EndpointEvent.objects.bulk_create(EndpointEvent(**{f: e[f] for f in fields}) for e in events)
    newest = EndpointEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    EndpointEvent.objects.filter(id__lte=newest - STORED_EVENTS).delete()


run_row = runs.run_row  # the HTTP API lists stored runs the way the websocket shows them


_engine: Engine | None = None


def current() -> Engine:
    if _engine is None:
        raise RuntimeError(
            "the dashboard engine is not running (COMBAT_DASHBOARD is off, or start-up failed)"
        )
    return _engine


async def start() -> None:
    global _engine
    if settings.DASHBOARD_MIGRATE:
        from django.core.management import call_command

        await asyncio.to_thread(call_command, "migrate", interactive=False, verbosity=0)
    _engine = Engine()
    await _engine.start()


async def drain() -> None:
    if _engine is not None:
        await _engine.drain()


async def stop() -> None:
    global _engine
    if _engine is not None:
        await _engine.stop()
        _engine = None
