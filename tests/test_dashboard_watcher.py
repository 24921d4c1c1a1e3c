"""The endpoint watcher against the sandbox's API server, through a storm of faults."""

from __future__ import annotations

import random
import threading
import time

import pytest
import requests

from dashboard import kube, slices
from dashboard.watching import EndpointWatcher, WatchSettings
from tests.support.sandbox import start_sandbox

pytestmark = pytest.mark.slow
SERVICE = "k8s-combat-service"


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

    def on_change(endpoints):
        seen["now"] = endpoints
        changed.set()

    watcher = EndpointWatcher(
        lambda: kube.connect("default"),
        WatchSettings(service=SERVICE, silence_seconds=2.0, backoff_max=2.0),
        on_change,
    )
    watcher.start()
    rng = random.Random(7)
    lags: list[float] = []
    faults = ["drop-watches", "compact-and-drop", "watch-status", "restart", "silence"]
    try:
        pods = sorted(e.pod for e in server_endpoints(sandbox).values())
        assert len(pods) == 3
        failing: set[str] = set()
        started = time.monotonic()
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
                    sandbox.fault("silence-watches", on="true")
                    time.sleep(2.5)  # longer than silence_seconds: the watcher must notice
                    sandbox.fault("silence-watches", on="false")
            pod = rng.choice(pods)
            failing ^= {pod}
            sandbox.fault("fail-readiness", pod=pod, on=str(pod in failing).lower())
            changed_at = time.monotonic()
            deadline = changed_at + 2.0
            while True:
                expected = server_endpoints(sandbox)
                if (
                    seen.get("now") == expected
                    and {e.pod for e in expected.values() if not e.ready} == failing
                ):
                    lags.append(time.monotonic() - changed_at)
                    break
                assert time.monotonic() < deadline, (
                    f"change {change}: the watcher's set differs from the server's 2 s after the change"
                )
                time.sleep(0.01)
        duration = time.monotonic() - started
    finally:
        watcher.stop()
        sandbox.stop()
    stats = watcher.stats
    assert len(lags) == 200
    assert stats.gone >= 2, "compaction and the restart both cost a relist"
    assert stats.silent >= 1, "a silent stream was noticed"
    gaps = [b - a for a, b in zip(stats.started, stats.started[1:], strict=False)]
    assert min(gaps) >= 0.95, "never more than one reconnect a second"
    assert stats.watches / duration < 1.0


def test_the_legacy_endpoints_watch_sees_the_same_set(tmp_path, monkeypatch):
    sandbox = start_sandbox(tmp_path)
    monkeypatch.setenv("KUBECONFIG", str(sandbox.kubeconfig))
    seen: dict = {}
    watcher = EndpointWatcher(
        lambda: kube.connect("default"),
        WatchSettings(service=SERVICE, kind="endpoints"),
        lambda endpoints: seen.update(now=endpoints),
    )
    watcher.start()
    try:
        expected = {e.pod for e in server_endpoints(sandbox).values()}
        deadline = time.monotonic() + 5
        while {e.pod for e in seen.get("now", {}).values() if e.ready} != expected:
            assert time.monotonic() < deadline, "the Endpoints watch did not see the ready pods"
            time.sleep(0.05)
        sick = sorted(expected)[0]
        sandbox.fault("fail-readiness", pod=sick, on="true")
        while seen["now"][next(ip for ip, e in seen["now"].items() if e.pod == sick)].ready:
            assert time.monotonic() < deadline + 5, "the Endpoints watch did not see the pod turn unready"
            time.sleep(0.05)
    finally:
        watcher.stop()
        sandbox.stop()
