"""The dashboard's endpoint path at 1000 endpoints, in one process, with a fake slice source.

The engine, its watcher thread and a websocket consumer run as in the dashboard pod; only the
Kubernetes API is fake (``kube.list_objects`` and ``kube.WatchStream``, the watcher's seam): it
lists the Service's slices (100 endpoints each, as the EndpointSlice controller cuts them), then
streams MODIFIED events. Measured (reported, never asserted):

1. slice event -> websocket frame sent, p50/p99: the clock starts when the fake API server hands
   the watcher a MODIFIED slice and stops when the consumer sends the first ``endpoints.changed``
   holding that endpoint (the first frame with its new state); once for isolated changes 100 ms
   apart, once for a rolling restart's burst (every pod not ready, then ready again, one slice
   event each, ``rate`` events a second; a pod's two changes are a whole pass apart);
2. the memory of the endpoint structures at 1000 endpoints (``tracemalloc``): the watcher's
   ``SliceSet`` and the engine's ``EndpointIndex``.

    .venv/bin/python bench/dashboard_endpoints.py [--endpoints 1000]

``measure(endpoints=1000)`` returns the figures as a dict (for bench/scale.py).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import queue
import sys
import tempfile
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PER_SLICE = 100


def service_slices(endpoints: int) -> list[dict]:
    """The Service's slices: ``endpoints`` ready pods, 100 a slice, with both ports."""
    slices = []
    for first in range(0, endpoints, PER_SLICE):
        items = [
            {
                "addresses": [f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"],
                "conditions": {"ready": True, "serving": True, "terminating": False},
                "nodeName": f"node-{n % 3}",
                "targetRef": {"kind": "Pod", "namespace": "default", "name": f"pod-{n:05d}"},
            }
            for n in range(first, min(first + PER_SLICE, endpoints))
        ]
        slices.append(
            {
                "metadata": {"name": f"svc-{first // PER_SLICE:03d}", "namespace": "default"},
                "addressType": "IPv4",
                "endpoints": items,
                "ports": [{"name": "app", "port": 8081}, {"name": "grpc", "port": 50051}],
            }
        )
    return slices


class FakeApi:
    """The watcher's seam: a list, then one watch that streams what ``send`` is given."""

    def __init__(self, slices: list[dict]) -> None:
        self.slices = slices
        self.events: queue.Queue = queue.Queue()
        self.version = 1

    def list_objects(self, cluster, kind, service, *, timeout):
        if kind == "services":  # the Service's own watch: one Service with the defaults
            return [{"metadata": {"name": service, "resourceVersion": "1"}, "spec": {}}], "1"
        return copy.deepcopy(self.slices), str(self.version)

    def stream(self, cluster, kind, service, **options):
        api = self if kind != "services" else FakeApi([])  # the Service never changes here

        class Stream:
            closed = False

            def __iter__(self):  # decoded in the watcher's thread, as kube.WatchStream does
                while not self.closed:
                    try:
                        yield json.loads(api.events.get(timeout=0.1))
                    except queue.Empty:
                        continue

            def interrupt(self):
                self.closed = True

            close = interrupt

        return Stream()

    def modify(self, index: int, pod: int, *, ready: bool) -> None:
        endpoint_slice = self.slices[index]
        endpoint_slice["endpoints"][pod % PER_SLICE]["conditions"]["ready"] = ready
        self.version += 1
        endpoint_slice["metadata"]["resourceVersion"] = str(self.version)
        self.events.put(json.dumps({"type": "MODIFIED", "object": endpoint_slice}))


def _setup_django(database: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ["DATABASE_PATH"] = database
    os.environ["COMBAT_DASHBOARD"] = "true"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _percentiles(values: list[float]) -> dict:
    ordered = sorted(values)

    def at(fraction: float) -> float:
        return round(ordered[max(0, round(fraction * len(ordered)) - 1)], 1)

    return {"n": len(ordered), "p50": at(0.5), "p99": at(0.99), "max": round(ordered[-1], 1)}


async def _frames_path(endpoints: int, isolated: int, rate: float) -> dict:
    from asgiref.testing import ApplicationCommunicator  # channels.testing needs daphne

    from dashboard import engine as engine_module
    from dashboard import kube
    from dashboard.consumers import DashboardConsumer

    api = FakeApi(service_slices(endpoints))
    kube.list_objects, kube.WatchStream = api.list_objects, api.stream
    engine = engine_module.Engine()
    engine.watcher._connect = lambda: None
    engine.service_watcher._connect = lambda: None
    engine_module._engine = engine
    await engine.start()
    scope = {
        "type": "websocket",
        "path": "/ws/dashboard/",
        "headers": [],
        "query_string": b"",
        "subprotocols": [],
    }
    client = ApplicationCommunicator(DashboardConsumer.as_asgi(), scope)
    await client.send_input({"type": "websocket.connect"})
    assert (await client.receive_output(10))["type"] == "websocket.accept"
    frames: list[tuple[float, dict]] = []
    arrived = asyncio.Condition()

    async def read() -> None:  # a timeout in receive_output would cancel the consumer: none here
        while True:
            frame = await client.receive_output(3600)
            async with arrived:
                frames.append((time.perf_counter(), json.loads(frame["text"])))
                arrived.notify_all()

    reader = asyncio.ensure_future(read())

    async def receive_until(predicate, seconds: float = 30, since: int = 0) -> None:
        async with arrived:
            await asyncio.wait_for(
                arrived.wait_for(lambda: any(predicate(m) for _, m in frames[since:])), seconds
            )

    try:
        await receive_until(lambda m: m.get("count") == endpoints or len(m.get("endpoints", ())) == endpoints)
        started: dict[tuple[str, bool], float] = {}  # (key, ready) -> when the watcher got it

        def change(pod: int, *, ready: bool) -> None:
            started[(f"Pod/default/pod-{pod:05d}", ready)] = time.perf_counter()
            api.modify(pod // PER_SLICE, pod, ready=ready)

        def latencies(since: int) -> list[float]:
            first: dict[tuple[str, bool], float] = {}
            for at, message in frames[since:]:
                if message["type"] == "endpoints.changed":
                    for endpoint in message["changed"]:
                        first.setdefault((endpoint["key"], endpoint["ready"]), at)
            return [(first[target] - at) * 1000 for target, at in started.items()]

        result = {}
        isolated_start = len(frames)
        pods = [(n * 37) % endpoints for n in range(min(isolated, endpoints))]  # distinct: coprime
        for ready in (False, True):  # one pod at a time, 100 ms apart: no window to fold into
            for pod in pods:
                since = len(frames)
                change(pod, ready=ready)
                await receive_until(
                    lambda m, pod=pod, ready=ready: _names(m, _key(pod), ready=ready), since=since
                )
                await asyncio.sleep(0.1)
        result["isolated_change_to_frame_ms"] = _percentiles(latencies(isolated_start))
        since, started = len(frames), {}
        burst_started = time.perf_counter()
        for ready in (False, True):  # a rolling restart: each pod not ready, then ready, in turn
            pass_start = len(frames)

            def roll(ready=ready) -> None:
                for pod in range(endpoints):
                    change(pod, ready=ready)
                    time.sleep(1 / rate)

            await asyncio.to_thread(roll)
            await receive_until(
                lambda m, ready=ready: _names(m, _key(endpoints - 1), ready=ready), 120, pass_start
            )
        result["burst_change_to_frame_ms"] = _percentiles(latencies(since))
        result["burst"] = {
            "slice_events": 2 * endpoints,
            "events_per_second": rate,
            "frames": sum(1 for _, m in frames[since:] if m["type"] == "endpoints.changed"),
            "seconds": round(time.perf_counter() - burst_started, 2),
        }
        result["page_equals_engine"] = _folded(frames) == [
            e.as_dict() for e in sorted(engine.endpoints.values(), key=lambda e: (e.name, e.key))
        ]
        return result
    finally:
        reader.cancel()
        await client.send_input({"type": "websocket.disconnect", "code": 1000})
        await client.wait(5)
        await engine.stop()
        engine_module._engine = None


def _key(pod: int) -> str:
    return f"Pod/default/pod-{pod:05d}"


def _names(message: dict, key: str, *, ready: bool | None = None) -> bool:
    return message["type"] == "endpoints.changed" and any(
        e["key"] == key and (ready is None or e["ready"] == ready) for e in message["changed"]
    )


def _folded(frames: list[tuple[float, dict]]) -> list[dict]:
    """The endpoint list a page holds after these frames (docs/protocol.md)."""
    held: dict[str, dict] = {}
    for _, message in frames:
        if message["type"] == "hello":
            held = {e["key"]: e for e in message["endpoints"]}
        elif message["type"] == "endpoints.changed":
            for gone in message["removed"]:
                held.pop(gone["key"], None)
            held.update((e["key"], e) for e in message["added"] + message["changed"])
    return sorted(held.values(), key=lambda e: (e["name"], e["key"]))


def structures_memory(endpoints: int) -> dict:
    """KiB held by the watcher's SliceSet and by the engine's EndpointIndex at ``endpoints``."""
    from dashboard import tracking

    slices = service_slices(endpoints)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    watcher_side = tracking.SliceSet()
    change = watcher_side.reset((s["metadata"]["name"], s) for s in slices)
    middle = tracemalloc.take_snapshot()
    engine_side = tracking.EndpointIndex()
    engine_side.apply(change)
    del change
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()

    def kib(new, old) -> float:
        return round(sum(stat.size_diff for stat in new.compare_to(old, "filename")) / 1024, 1)

    figures = {"slice_set_kib": kib(middle, before), "index_kib": kib(after, middle)}
    assert len(watcher_side.endpoints) == len(engine_side.endpoints) == endpoints
    return figures


def measure(*, endpoints: int = 1000, isolated: int = 100, rate: float = 200) -> dict:
    """The figures above as a dict (endpoint counts, latencies in ms, memory in KiB)."""
    with tempfile.TemporaryDirectory() as state:
        _setup_django(os.path.join(state, "dashboard.sqlite3"))
        result = {"endpoints": endpoints, **asyncio.run(_frames_path(endpoints, isolated, rate))}
    result["memory"] = structures_memory(endpoints)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--isolated", type=int, default=100)
    parser.add_argument("--rate", type=float, default=200, help="slice events a second in the burst")
    arguments = parser.parse_args()
    figures = measure(endpoints=arguments.endpoints, isolated=arguments.isolated, rate=arguments.rate)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
