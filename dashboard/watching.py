"""The endpoint watcher: list, then watch from the list's resourceVersion, for ever.

Layered as kopf does it: every event moves the resourceVersion on; a watch that simply ends
(its server timeout, a dropped connection) resumes from there without listing again; a 410 Gone
(as an ERROR event or an HTTP 410) lists again; a silent stream (no event, no bookmark for
``silence_seconds``) is cut and resumed; errors back off from 0.8 s, doubling to 30 s, with
jitter, and the loop never reconnects more than once a second. The server-side timeout is
randomised between 5 and 10 minutes so that replicas do not reconnect in step.

The blocking client runs in its own thread. Each event costs what it changes, not the size of
the set (``tracking.SliceSet``: only the keys the slice touched are merged again), and what
changed (``slices.Change``) is handed on; the engine moves it to the event loop with
``loop.call_soon_threadsafe``. A relist hands on the difference from the set before it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dashboard import kube, slices
from dashboard.slices import Change, EndpointSet
from dashboard.tracking import SliceSet

logger = logging.getLogger(__name__)


@dataclass
class WatchSettings:
    service: str
    kind: str = "endpointslices"  # or "endpoints" (legacy, behind DASHBOARD_LEGACY_ENDPOINTS)
    timeout_range: tuple[int, int] = (300, 600)
    silence_seconds: float = 90.0
    backoff_start: float = 0.8
    backoff_max: float = 30.0
    min_reconnect_interval: float = 1.0
    request_seconds: float = 10.0


@dataclass
class WatchStats:
    lists: int = 0
    watches: int = 0
    gone: int = 0
    silent: int = 0
    errors: int = 0
    connected: bool = False
    last_error: str = ""
    started: list[float] = field(default_factory=list)  # when each watch request began

    @property
    def restarts(self) -> int:
        return max(self.watches - 1, 0)


class Backoff:
    """0.8 s doubling to 30 s, each delay jittered to 50-100 % so replicas spread out."""

    def __init__(self, start: float, maximum: float, rng: random.Random | None = None) -> None:
        self.start, self.maximum = start, maximum
        self._next = start
        self._rng = rng or random.Random()

    def delay(self) -> float:
        delay = self._next * self._rng.uniform(0.5, 1.0)
        self._next = min(self._next * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = self.start


class EndpointWatcher:
    """Keeps its set equal to the server's, calling ``on_change(change)`` (a ``slices.Change``,
    never empty) from its thread on each change, in order: folding every change into an empty
    set gives ``endpoints``."""

    def __init__(
        self,
        connect: Callable[[], kube.Cluster],
        settings: WatchSettings,
        on_change: Callable[[Change], None],
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._connect = connect
        self.settings = settings
        self.on_change = on_change
        self.stats = WatchStats()
        self._slices = SliceSet()
        self._legacy: EndpointSet = {}  # kind "endpoints": the one Endpoints object's set
        self._reading = threading.Lock()  # ``endpoints`` copies the set while the thread changes it
        self._rng = rng or random.Random()
        self._stop = threading.Event()
        self._stream: kube.WatchStream | None = None
        self._thread: threading.Thread | None = None
        self._last_request = 0.0

    # --- the thread ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="endpoint-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        stream = self._stream
        if stream is not None:
            stream.interrupt()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self, iterations: int | None = None) -> None:
        """The loop; ``iterations`` caps the number of watch requests (for tests)."""
        backoff = Backoff(self.settings.backoff_start, self.settings.backoff_max, self._rng)
        cluster: kube.Cluster | None = None
        version: str | None = None
        done = 0
        while not self._stop.is_set() and (iterations is None or done < iterations):
            done += 1
            try:
                cluster = cluster or self._connect()
                if version is None:
                    version = self._relist(cluster)
                version = self._watch(cluster, version)
                backoff.reset()
            except kube.Gone as exc:
                self.stats.gone += 1
                logger.info("watch of %s expired (%s): listing again", self.settings.kind, exc)
                version = None
            except kube.Silent as exc:
                self.stats.silent += 1
                logger.warning("watch of %s went silent: %s; resuming", self.settings.kind, exc)
            except kube.KubeError as exc:
                self.stats.errors += 1
                self.stats.last_error = str(exc)
                self.stats.connected = False
                delay = backoff.delay()
                logger.warning("watch of %s failed: %s; retrying in %.1fs", self.settings.kind, exc, delay)
                self._stop.wait(delay)

    def _pace(self) -> None:
        """Never more than one request a second, however fast the server closes streams."""
        wait = self._last_request + self.settings.min_reconnect_interval - time.monotonic()
        if wait > 0:
            self._stop.wait(wait)
        self._last_request = time.monotonic()

    def _relist(self, cluster: kube.Cluster) -> str:
        self._pace()
        items, version = kube.list_objects(
            cluster, self.settings.kind, self.settings.service, timeout=self.settings.request_seconds
        )
        self.stats.lists += 1
        if self.settings.kind == "endpointslices":
            with self._reading:
                change = self._slices.reset((item["metadata"]["name"], item) for item in items)
        else:
            change = self._legacy_change(next(iter(items), {}))
        self._publish(change)
        return version

    def _watch(self, cluster: kube.Cluster, version: str) -> str:
        self._pace()
        if self._stop.is_set():
            return version
        timeout = self._rng.randint(*self.settings.timeout_range)
        stream = kube.WatchStream(
            cluster,
            self.settings.kind,
            self.settings.service,
            resource_version=version,
            timeout_seconds=timeout,
            silence_seconds=self.settings.silence_seconds,
        )
        self._stream = stream  # from here on, stop() can interrupt it
        self.stats.watches += 1
        self.stats.started.append(time.monotonic())
        self.stats.connected = True
        try:
            for event in stream if not self._stop.is_set() else ():  # stop() may have come first
                if self._stop.is_set():
                    break
                version = self._apply(event) or version
        finally:
            stream.close()
            self._stream = None
        return version

    # --- events -------------------------------------------------------------------------------

    def _apply(self, event: dict) -> str | None:
        kind, obj = event.get("type"), event.get("object") or {}
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if kind == "BOOKMARK":
            return version
        if kind not in ("ADDED", "MODIFIED", "DELETED"):
            logger.debug("skipping a watch event of unknown type %r", kind)
            return version
        name = obj["metadata"]["name"]
        if self.settings.kind != "endpointslices":
            change = self._legacy_change({} if kind == "DELETED" else obj)
        else:
            with self._reading:
                change = self._slices.delete(name) if kind == "DELETED" else self._slices.put(name, obj)
        self._publish(change)
        return version

    def _legacy_change(self, endpoints_object: dict) -> Change:
        current = slices.from_endpoints(endpoints_object)
        with self._reading:
            change, self._legacy = slices.diff(self._legacy, current), current
        return change

    def _publish(self, change: Change) -> None:
        if change:
            self.on_change(change)

    @property
    def endpoints(self) -> EndpointSet:
        """A copy of the set now (safe from any thread; it costs the size of the set)."""
        with self._reading:
            return dict(self._slices.endpoints if self.settings.kind == "endpointslices" else self._legacy)
