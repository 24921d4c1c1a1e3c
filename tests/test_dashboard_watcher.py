"""The endpoint watcher against the sandbox's API server, through a storm of faults."""

from __future__ import annotations

import itertools
import random
import threading
import time

import pytest
import requests

from dashboard import kube, slices
from dashboard.watching import EndpointWatcher, WatchSettings
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
SERVICE = "k8s-combat-service"
# How long a test waits for the watcher to catch up. The watcher's set normally equals the server's
# within 2 s of a change, faults included (a pause of 1 s between requests, backoff capped at 2 s
# here), but on a busy machine any wait can be late: this deadline only bounds the wait, it is not
# a latency figure (bench/dashboard_engine.py measures endpoint change -> page, docs/performance.md).
CATCH_UP_SECONDS = 30


def server_endpoints(sandbox) -> slices.EndpointSet:
    """The truth, read straight from the API server (waiting out a restart's 503s)."""
    for _ in range(100):
        response = requests.get(
            f"{sandbox.api_url}/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
            params={"labelSelector": f"kubernetes.io/service-name={SERVICE}"},
            timeout=5,
        )
        if response.status_code != 503:
            return slices.from_slices(response.json()["items"])
        time.sleep(0.05)
    raise AssertionError("the API server stayed down")


def test_the_watcher_keeps_up_through_200_changes_drops_410s_restarts_and_silence(tmp_path, monkeypatch):
    sandbox = start_sandbox(tmp_path, "--providers", "3", "--bookmark-seconds", "0.5")
    monkeypatch.setenv("KUBECONFIG", str(sandbox.kubeconfig))
    seen: dict = {}
    changed = threading.Event()

    def on_change(change):  # what the engine gets: the changes, folded here into the set
        seen["now"] = change.applied_to(seen.get("now", {}))
        changed.set()

    watcher = EndpointWatcher(
        lambda: kube.connect("default"),
        WatchSettings(service=SERVICE, silence_seconds=2.0, backoff_max=2.0),
        on_change,
    )
    # When the watcher sent each request (list or watch), as its own pacing set it: gaps measured
    # there cannot shrink under load, whereas gaps between responses can (a slow answer, then a
    # quick one).
    paced: list[float] = []

    def recording(request):
        def send(*args, **kwargs):
            paced.append(watcher._last_request)
            return request(*args, **kwargs)

        return send

    monkeypatch.setattr(kube, "list_objects", recording(kube.list_objects))
    monkeypatch.setattr(kube, "WatchStream", recording(kube.WatchStream))
    watcher.start()
    rng = random.Random(7)
    caught_up = 0
    faults = ["drop-watches", "compact-and-drop", "watch-status", "restart", "silence"]
    try:
        pods = sorted(e.pod for e in server_endpoints(sandbox).values())
        assert len(pods) == 3
        failing: set[str] = set()
        for change in range(200):
            if change % 20 == 10:
                fault = faults[(change // 20) % len(faults)]
                if fault == "compact-and-drop":
                    sandbox.fault("compact")
                    sandbox.fault("drop-watches")
                elif fault == "watch-status":
                    sandbox.fault("watch-status", code="410", count="1")
                    sandbox.fault("drop-watches")
                elif fault == "restart":
                    sandbox.fault("restart", seconds="0.5")
                elif fault == "silence":
                    noticed = watcher.stats.silent
                    sandbox.fault("silence-watches", on="true")
                    # Silent until the watcher notices (after silence_seconds), however long that takes.
                    wait_for(lambda n=noticed: watcher.stats.silent > n, CATCH_UP_SECONDS)
                    sandbox.fault("silence-watches", on="false")
            pod = rng.choice(pods)
            failing ^= {pod}
            sandbox.fault("fail-readiness", pod=pod, on=str(pod in failing).lower())
            deadline = time.monotonic() + CATCH_UP_SECONDS
            while True:
                expected = server_endpoints(sandbox)
                if (
                    seen.get("now") == expected == watcher.endpoints
                    and {e.pod for e in expected.values() if not e.ready} == failing
                ):
                    caught_up += 1
                    break
                assert time.monotonic() < deadline, (
                    f"change {change}: the watcher's set differs from the server's "
                    f"{CATCH_UP_SECONDS} s after the change"
                )
                time.sleep(0.01)
    finally:
        watcher.stop()
        sandbox.stop()
    stats = watcher.stats
    assert caught_up == 200
    assert stats.gone >= 2, "compaction and the restart both cost a relist"
    assert stats.silent >= 1, "a silent stream was noticed"
    assert len(paced) >= stats.watches + stats.lists > 0
    gaps = [b - a for a, b in itertools.pairwise(paced)]
    # Load can only lengthen these gaps; 0.99 allows for the clock's rounding, not for load.
    assert min(gaps) >= 0.99, "never more than one request a second"


def test_the_legacy_endpoints_watch_sees_the_same_set(tmp_path, monkeypatch):
    sandbox = start_sandbox(tmp_path)
    monkeypatch.setenv("KUBECONFIG", str(sandbox.kubeconfig))
    seen: dict = {}
    watcher = EndpointWatcher(
        lambda: kube.connect("default"),
        WatchSettings(service=SERVICE, kind="endpoints"),
        lambda change: seen.update(now=change.applied_to(seen.get("now", {}))),
    )
    watcher.start()
    try:
        expected = {e.pod for e in server_endpoints(sandbox).values()}
        deadline = time.monotonic() + CATCH_UP_SECONDS
        while {e.pod for e in seen.get("now", {}).values() if e.ready} != expected:
            assert time.monotonic() < deadline, "the Endpoints watch did not see the ready pods"
            time.sleep(0.05)
        sick = sorted(expected)[0]
        sandbox.fault("fail-readiness", pod=sick, on="true")
        deadline = time.monotonic() + CATCH_UP_SECONDS
        while seen["now"][next(ip for ip, e in seen["now"].items() if e.pod == sick)].ready:
            assert time.monotonic() < deadline, "the Endpoints watch did not see the pod turn unready"
            time.sleep(0.05)
    finally:
        watcher.stop()
        sandbox.stop()
