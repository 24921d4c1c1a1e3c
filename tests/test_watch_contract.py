"""The watch contract, whatever the fault switches do.

A BOOKMARK at resourceVersion R promises that every event up to R has been sent on that stream:
a client that resumes from R misses nothing. Faults may end, delay or silence streams, never
break that promise. First against the watch streams themselves, then end to end: the real
`kubernetes` client's watch, through silence, a change, healing, a bookmark and a reconnect,
ends with the same pods as the server.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import subprocess
import threading
import time

import pytest
from kubernetes import client, config, watch

from sandbox import resources
from sandbox.store import Store
from sandbox.watching import WatchStreams
from sandbox.wire import Request
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

# --- the streams, in-process ---------------------------------------------------------------------


def pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": {}}


class Stream:
    """One watch request to ``WatchStreams``; ``lines`` are the events as the client got them."""

    def __init__(self, streams: WatchStreams, on_line=None, **query: str) -> None:
        self.lines: list[dict] = []
        self._on_line = on_line
        self._gone = asyncio.Event()
        request = Request("GET", "/api/v1/namespaces/default/pods", {"watch": "true", **query}, {}, b"")
        self.task = asyncio.ensure_future(
            streams.serve(request, self._receive, self._send, resources.PODS, lambda obj: True, [])
        )

    async def _receive(self) -> dict:
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict) -> None:
        for line in message.get("body", b"").splitlines():
            self.lines.append(json.loads(line))
            if self._on_line is not None:
                self._on_line(self.lines[-1])

    def bookmarks(self) -> list[int]:
        return [
            int(line["object"]["metadata"]["resourceVersion"])
            for line in self.lines
            if line["type"] == "BOOKMARK"
        ]

    async def until(self, condition, seconds: float = 5) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, f"not met in {seconds} s: {self.lines}"
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        self._gone.set()
        await asyncio.wait_for(self.task, 5)


def assert_contract(lines: list[dict], written: list[int], since: int) -> None:
    """Every BOOKMARK comes after every event up to its resourceVersion; events in order."""
    sent: list[int] = []
    for line in lines:
        version = int(line["object"]["metadata"]["resourceVersion"])
        if line["type"] == "BOOKMARK":
            if line["object"]["metadata"].get("annotations", {}).get("k8s.io/initial-events-end"):
                continue  # checked on its own: it promises the snapshot, not the events after it
            missing = [rv for rv in written if since < rv <= version and rv not in sent]
            assert not missing, f"a bookmark at {version} came before the events at {missing}"
        else:
            assert not sent or version > sent[-1], f"the event at {version} came after {sent[-1]}"
            sent.append(version)


async def test_a_silenced_stream_holds_its_events_back_and_sends_them_before_any_bookmark():
    store = Store()
    streams = WatchStreams(store, bookmark_seconds=0.05)
    store.create(resources.PODS, pod("a"))
    since = store.resource_version
    stream = Stream(streams, resourceVersion=str(since), allowWatchBookmarks="true", timeoutSeconds="30")
    await stream.until(lambda: stream.bookmarks())
    streams.faults.silenced = True
    await asyncio.sleep(0.1)
    heard = len(stream.lines)
    written = [
        int(store.create(resources.PODS, pod(f"p{i}"))["metadata"]["resourceVersion"]) for i in range(5)
    ]
    current = store.get(resources.PODS, "default", "p1")
    current["spec"] = {"nodeName": "n"}
    written.append(int(store.update(resources.PODS, current)["metadata"]["resourceVersion"]))
    written.append(int(store.delete(resources.PODS, "default", "p2")["metadata"]["resourceVersion"]))
    await asyncio.sleep(0.3)
    assert len(stream.lines) == heard, "silent: not an event, not a bookmark"
    streams.faults.silenced = False
    await stream.until(lambda: any(rv >= written[-1] for rv in stream.bookmarks()))
    await stream.close()
    events = [line for line in stream.lines if line["type"] != "BOOKMARK"]
    assert [int(e["object"]["metadata"]["resourceVersion"]) for e in events] == written, (
        "all of them, in order"
    )
    assert_contract(stream.lines, written, since)


async def test_faults_in_any_order_never_break_what_a_bookmark_promises():
    rng = random.Random(10)
    store = Store()
    streams = WatchStreams(store, bookmark_seconds=0.01)
    since = store.resource_version
    stream = Stream(streams, resourceVersion=str(since), allowWatchBookmarks="true", timeoutSeconds="60")
    written: list[int] = []
    names: list[str] = []
    for step in range(300):
        roll = rng.random()
        if roll < 0.1:
            streams.faults.silenced = not streams.faults.silenced
        elif roll < 0.6 or not names:
            names.append(f"p{step}")
            written.append(int(store.create(resources.PODS, pod(names[-1]))["metadata"]["resourceVersion"]))
        else:
            gone = names.pop(rng.randrange(len(names)))
            written.append(int(store.delete(resources.PODS, "default", gone)["metadata"]["resourceVersion"]))
        await asyncio.sleep(rng.choice([0, 0, 0.001, 0.02]))
    streams.faults.silenced = False
    await stream.until(lambda: any(rv >= written[-1] for rv in stream.bookmarks()), 10)
    await stream.close()
    assert_contract(stream.lines, written, since)
    # How many bookmarks a 10 ms period yields depends on how busy the loop is; that one came
    # before the last write does not.
    assert any(rv < written[-1] for rv in stream.bookmarks()), (
        "bookmarks came throughout, not only at the end"
    )


async def test_the_initial_events_end_bookmark_is_the_snapshot_not_what_changed_since():
    store = Store()
    streams = WatchStreams(store, bookmark_seconds=30)
    for name in ("a", "b", "c"):
        store.create(resources.PODS, pod(name))
    snapshot = store.resource_version
    changed: list[int] = []

    def change_during_the_initial_events(line: dict) -> None:
        if line["type"] == "ADDED" and not changed:  # while the initial events are going out
            changed.append(int(store.create(resources.PODS, pod("late"))["metadata"]["resourceVersion"]))

    stream = Stream(
        streams,
        change_during_the_initial_events,
        sendInitialEvents="true",
        resourceVersionMatch="NotOlderThan",
        allowWatchBookmarks="true",
        timeoutSeconds="30",
    )
    await stream.until(lambda: any(line["object"]["metadata"].get("name") == "late" for line in stream.lines))
    await stream.close()
    kinds = [(line["type"], line["object"]["metadata"].get("name")) for line in stream.lines]
    end = kinds.index(("BOOKMARK", None))
    assert sorted(kinds[:end]) == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c")]
    assert stream.bookmarks()[0] == snapshot < changed[0]
    assert kinds[end + 1] == ("ADDED", "late")


# --- end to end: the real client, the real sandbox ----------------------------------------------


class PodWatch:
    """The `kubernetes` client's own watch loop (it resumes from the last resourceVersion it saw,
    bookmarks included), kept in a thread; ``pods`` is what the client believes."""

    def __init__(self, api: client.ApiClient) -> None:
        core = client.CoreV1Api(api)
        listed = core.list_namespaced_pod("default")
        self.pods = {p.metadata.name: p.metadata.resource_version for p in listed.items}
        self.bookmarks: list[int] = []
        self.requests = 0
        self.lock = threading.Lock()

        @functools.wraps(core.list_namespaced_pod)  # the client reads the return type from it
        def list_pods(*args, **kwargs):
            self.requests += 1
            return core.list_namespaced_pod(*args, **kwargs)

        self.watch = watch.Watch()
        self._stream = self.watch.stream(
            list_pods,
            "default",
            resource_version=listed.metadata.resource_version,
            allow_watch_bookmarks=True,
        )
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for event in self._stream:
                self._apply(event)
        except Exception:  # the sandbox went away at the end of the test: so does the watch
            if not self.watch._stop:
                raise

    def _apply(self, event: dict) -> None:
        raw = event["raw_object"]
        with self.lock:
            if event["type"] == "BOOKMARK":
                self.bookmarks.append(int(raw["metadata"]["resourceVersion"]))
            elif event["type"] == "DELETED":
                self.pods.pop(raw["metadata"]["name"], None)
            else:
                self.pods[raw["metadata"]["name"]] = raw["metadata"]["resourceVersion"]

    def bookmark_since(self, version: int) -> bool:
        with self.lock:
            return any(rv >= version for rv in self.bookmarks)

    def stop(self) -> None:
        self.watch.stop()


def server_pods(api: client.ApiClient) -> tuple[dict[str, str], int]:
    listed = client.CoreV1Api(api).list_namespaced_pod("default")
    return {p.metadata.name: p.metadata.resource_version for p in listed.items}, int(
        listed.metadata.resource_version
    )


@pytest.mark.slow
def test_silence_change_heal_bookmark_reconnect_and_the_clients_pods_equal_the_servers(tmp_path):
    sandbox = start_sandbox(tmp_path, "--providers", "2", "--bookmark-seconds", "0.3")
    api = config.new_client_from_config(str(sandbox.kubeconfig))
    watcher = PodWatch(api)
    try:
        wait_for(lambda: watcher.bookmarks, 30)
        before = dict(watcher.pods)
        # Silence: the stream stays open and says nothing.
        sandbox.fault("silence-watches", on="true")
        time.sleep(0.5)
        heard = len(watcher.bookmarks)
        # Change: one more provider, created, scheduled, started and made ready while silent.
        kubectl = ["kubectl", "--kubeconfig", str(sandbox.kubeconfig)]
        subprocess.run([*kubectl, "scale", "deployment", "k8s-combat-service", "--replicas=3"], check=True)
        wait_for(lambda: _ready_providers(api) == 3, 60)
        time.sleep(1)
        assert (watcher.pods, len(watcher.bookmarks)) == (before, heard), "nothing came while silent"
        # Heal: the held events go out, then a bookmark that covers them.
        _, version = server_pods(api)
        sandbox.fault("silence-watches", on="false")
        wait_for(lambda: watcher.bookmark_since(version), 30)
        # Reconnect: the client resumes from that bookmark, and misses nothing.
        requests_before = watcher.requests
        sandbox.fault("drop-watches")
        wait_for(lambda: watcher.requests > requests_before, 30)

        def same_as_the_server():
            pods, version = server_pods(api)
            return watcher.bookmark_since(version) and watcher.pods == pods

        wait_for(same_as_the_server, 30)
        assert watcher.watch.resource_version is not None, "the client resumed from what it had seen"
        assert len(watcher.pods) == 3 and set(before) < set(watcher.pods)
    finally:
        watcher.stop()
        sandbox.stop()


def _ready_providers(api: client.ApiClient) -> int:
    pods = client.CoreV1Api(api).list_namespaced_pod("default", label_selector="app=k8s-combat-service").items
    return sum(
        1
        for p in pods
        if p.metadata.deletion_timestamp is None
        and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
    )
