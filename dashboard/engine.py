"""The dashboard's engine: endpoints in, calls out, every change broadcast to the browsers.

It lives on the server's event loop, started and stopped by the ASGI lifespan. Blocking work
runs elsewhere: the endpoint watcher and the runs' workers in threads, the ORM through the
call writer's thread or ``asyncio.to_thread``. Threads hand results back with
``loop.call_soon_threadsafe`` (``async_to_sync`` from a plain thread costs hundreds of ms).

It holds one ``live_target.LiveTarget`` per configured Service (``DASHBOARD_SERVICES``): each
watches its Service, runs its calls and broadcasts to its own group, with ``origin`` (this
process) and ``seq`` (the target's counter here): the in-memory channel layer drops messages
silently when a browser's channel is full, so a client that sees a gap asks for a resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading

from channels.layers import get_channel_layer
from django.conf import settings

from combat_app import databases, identity
from dashboard import runs, slices
from dashboard.chaos import Chaos
from dashboard.errors import Refused
from dashboard.firing import MAX_CONCURRENCY, MAX_COUNT, MODES, ExperimentPlan, RunPlan
from dashboard.heartbeats import forget
from dashboard.live_target import LiveTarget
from dashboard.messages import PROTOCOL_VERSION
from dashboard.metrics import Metrics
from dashboard.models import EndpointEvent
from dashboard.records import CallRecord
from dashboard.replicas import Replicas
from dashboard.storing import CallWriter

logger = logging.getLogger(__name__)

__all__ = ["Engine", "Refused", "current", "run_row"]  # Refused: what consumers catch

STORED_EVENTS = 10_000  # EndpointEvent rows kept: a rollout of 1000 pods is a few thousand


class Engine:
    def __init__(self) -> None:
        pod = identity.current()
        self.origin = f"{pod.name}/{os.getpid()}"
        self.metrics = Metrics()
        self.writer = CallWriter(on_stored=self._stored_from_thread)
        self.layer = get_channel_layer()
        self._tasks: set[asyncio.Task] = set()
        slots = threading.Semaphore(settings.DASHBOARD_MAX_CONCURRENCY)
        self.targets: dict[str, LiveTarget] = {
            target.key: LiveTarget(
                target,
                url=settings.DASHBOARD_TARGET_URLS[target.key],
                origin=self.origin,
                writer=self.writer,
                slots=slots,
                layer=self.layer,
                spawn=self._spawn,
                store_events=_store_events,
            )
            for target in settings.DASHBOARD_SERVICES
        }
        self.primary = next(iter(self.targets.values()))  # what the page shows first
        # The Service the chaos buttons act on (DASHBOARD_HOME), if it is configured at all.
        self.home = next((t for t in self.targets.values() if t.home), None)
        self.chaos = Chaos()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.replicas = Replicas(self)
        self.clients: set[str] = set()  # this process's websocket channels (see drain)
        self._no_clients = asyncio.Event()
        self._drained = False

    def target(self, key: str | None) -> LiveTarget:
        """The configured target ``key`` (``name.namespace``, or ``name`` in the dashboard's own
        namespace; the first configured one when None); ``Refused("unknown-target")`` for any
        other name: calls go to the configured Services and nowhere else."""
        if key is None:
            return self.primary
        found = self.targets.get(key) or self.targets.get(f"{key}.{settings.DASHBOARD_NAMESPACE}")
        if found is None:
            configured = ", ".join(self.targets)
            raise Refused(
                "unknown-target",
                f"{key[:200]!r} is not a Service this dashboard calls; configured: {configured}",
            )
        return found

    # The first target's, for callers that know of one Service only (bench/, the metrics).
    @property
    def watcher(self):
        return self.primary.watcher

    @property
    def service_watcher(self):
        return self.primary.service_watcher

    @property
    def endpoints(self) -> slices.EndpointSet:
        return self.primary.endpoints

    # --- life ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        if settings.DASHBOARD_LEGACY_ENDPOINTS:
            logger.warning(
                "watching v1 Endpoints, deprecated since Kubernetes 1.33; EndpointSlices are the default"
            )
        self.writer.start()
        for target in self.targets.values():
            target.start(self.loop)
        await self.replicas.start()

    async def drain(self) -> None:
        """The pod is told to stop (SIGTERM): cancel every run, let each store its calls so far
        and its verdict (``cancelled``, with the reason), tell every browser to go (close code
        1001, after the verdict) and stop watching. Bounded: a call never outlasts its timeout."""
        if self._drained:
            return
        self._drained = True
        stopped = [asyncio.ensure_future(asyncio.to_thread(t.stop_watching)) for t in self.targets.values()]
        seconds = settings.COMBAT_CALL_TIMEOUT_SECONDS + 3
        for target in self.targets.values():
            await target.experiments.cancel_all(runs.SHUTDOWN_REASON, seconds=seconds)
        for target in self.targets.values():
            await target.runs.cancel_all(runs.SHUTDOWN_REASON, seconds=seconds)
        await self._send_clients_away()
        await asyncio.gather(*stopped)

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
        self.replicas.stop()
        await asyncio.to_thread(self.writer.stop)
        await asyncio.to_thread(forget, self.origin)

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- what a browser sees ------------------------------------------------------------------

    def snapshot(self, key: str | None = None) -> dict:
        """The ``hello`` a browser gets on connect and on resync: everything it needs to draw
        the target ``key`` (the first configured one by default), and which others it may pick."""
        pod = identity.current()
        target = self.target(key)
        return {
            "type": "hello",
            "protocol": PROTOCOL_VERSION,
            "origin": self.origin,
            "pod": {"name": pod.name, "ip": pod.ip, "node": pod.node},
            **target.snapshot(),
            "targets": [t.describe() for t in self.targets.values()],
            "capabilities": {
                "modes": list(MODES),
                # The scale and delete buttons act on the home Service's Deployment only.
                "chaos": settings.DASHBOARD_CHAOS and target.home,
                "max_count": MAX_COUNT,
                "max_concurrency": min(MAX_CONCURRENCY, settings.DASHBOARD_MAX_CONCURRENCY),
            },
        }

    def metrics_text(self) -> str:
        """The Prometheus exposition (``/metrics``); the endpoint gauges are the first target's."""
        self.metrics.ready_endpoints = self.primary.index.reachable  # pods, not addresses
        self.metrics.watch_restarts = self.primary.watcher.stats.restarts
        return self.metrics.render()

    # --- calls --------------------------------------------------------------------------------

    def _stored_from_thread(self, batch: list[CallRecord]) -> None:
        self.loop.call_soon_threadsafe(self._calls_stored, batch)

    def _calls_stored(self, batch: list[CallRecord]) -> None:
        by_target: dict[LiveTarget, list[dict]] = {}
        owners: dict[int, LiveTarget] = {}  # a batch holds a few runs' calls: each looked up once
        for record in batch:
            self.metrics.count(record)
            if record.run not in owners:
                owners[record.run] = self.local_run(record.run) or self.primary
            by_target.setdefault(owners[record.run], []).append(record.as_dict())
        for target, calls in by_target.items():
            target.calls_stored(calls)

    # --- runs and chaos ---------------------------------------------------------------------

    async def start_run(self, plan: RunPlan, target: str | None = None) -> dict:
        live = self.target(target)
        return await live.runs.start(plan, expected=slices.ready_pods(live.endpoints))

    def local_run(self, run_id: int) -> LiveTarget | None:
        return next((t for t in self.targets.values() if run_id in t.runs.active), None)

    def local_experiment(self, experiment_id: int) -> LiveTarget | None:
        return next((t for t in self.targets.values() if experiment_id in t.experiments.active), None)

    def cancel_run(self, run_id: int) -> None:
        (self.local_run(run_id) or self.primary).runs.cancel(run_id)

    async def start_experiment(self, plan: ExperimentPlan, target: str | None = None) -> dict:
        """Compare the modes over the pods ready now (``dashboard.experiments``)."""
        live = self.target(target)
        return await live.experiments.start(plan, expected=slices.ready_pods(live.endpoints))

    def cancel_experiment(self, experiment_id: int) -> None:
        (self.local_experiment(experiment_id) or self.primary).experiments.cancel(experiment_id)

    async def scale(self, replicas: int) -> None:
        await self.chaos.scale(replicas)

    async def delete_pod(self, name: str) -> None:
        endpoints = self.home.endpoints if self.home else {}  # the consumer lets home sockets only
        pods = {e.pod for e in endpoints.values() if e.pod}
        await self.chaos.delete_pod(name, endpoint_pods=pods)


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
    await asyncio.to_thread(databases.check)  # DatabaseUnreachable: start-up says which, and why
    if settings.DASHBOARD_MIGRATE:
        await asyncio.to_thread(databases.migrate)
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
