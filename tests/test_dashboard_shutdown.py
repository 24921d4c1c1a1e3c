"""A dashboard pod told to stop (SIGTERM) with browsers attached and a run going: it cancels the
run (keeping the calls stored so far), tells every browser to go (close code 1001), stops its
watch and exits 0 well before the kubelet's SIGKILL (the manifests' terminationGracePeriodSeconds,
20 s), watching the sandbox or a real API server."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest
import requests

from tests.support.dashboard import LiveSocket
from tests.support.processes import ServerProcess, start_app
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

DRAIN_SECONDS = 1.0
GRACE_SECONDS = 20  # manifests/base: terminationGracePeriodSeconds
BROWSERS = 3


def _stop_mid_run(dashboard: ServerProcess, database: Path) -> None:
    sockets = [LiveSocket(dashboard.url) for _ in range(BROWSERS)]
    try:
        for socket in sockets:
            socket.wait_for(lambda m: m["type"] == "hello")
        # The watch is up and blocked reading its stream: the endpoint it listed is on the page.
        sockets[0].wait_for(lambda m: m.get("_endpoints"))
        wait_for(lambda: requests.get(f"{dashboard.url}/api/state", timeout=5).json()["watch"]["connected"])
        first = sockets[0]
        # 2000 calls at 100 a second: the run is still going when the signal comes.
        first.send({"type": "run.start", "count": 2000, "concurrency": 4, "rate": 100})
        run_id = first.wait_for(lambda m: m["type"] == "run.started")["run"]["id"]
        first.wait_for(lambda m: m["type"] == "calls.batch" and len(first.calls_of(run_id)) >= 50)

        signalled = time.monotonic()
        dashboard.process.send_signal(signal.SIGTERM)
        exit_code = dashboard.process.wait(DRAIN_SECONDS + 30)
        took = time.monotonic() - signalled

        assert exit_code == 0, dashboard.output()[-3000:]
        # Not a speed figure: a watch read left blocked would hold the exit past the grace period.
        assert took < GRACE_SECONDS - 4, f"exited {took:.1f} s after SIGTERM:\n{dashboard.output()[-3000:]}"
        assert [socket.wait_closed(10) for socket in sockets] == [1001] * BROWSERS
        verdict = first.wait_for(lambda m: m["type"] == "run.finished" and m["run"]["id"] == run_id, 1)
        assert verdict["run"]["status"] == "cancelled"
        assert "shutting down" in verdict["run"]["reason"]
    finally:
        for socket in sockets:
            socket.close()

    with sqlite3.connect(database) as db:
        status, reason = db.execute(
            "select status, reason from dashboard_run where id = ?", (run_id,)
        ).fetchone()
        stored = {seq for (seq,) in db.execute("select seq from dashboard_call where run_id = ?", (run_id,))}
    assert (status, reason) == ("cancelled", "the dashboard pod is shutting down (SIGTERM)")
    shown = {call["seq"] for call in first.calls_of(run_id)}
    assert 50 <= len(stored) < 2000
    assert shown <= stored, "every call a browser was shown is stored"
    assert stored == set(range(len(stored))), "the run stopped between calls: no stored call is missing"


def _dashboard(tmp_path: Path, **env: str) -> tuple[ServerProcess, Path]:
    database = tmp_path / "dashboard.sqlite3"
    server = start_app(
        COMBAT_DASHBOARD="true",
        DATABASE_PATH=str(database),
        SHUTDOWN_DRAIN_SECONDS=str(DRAIN_SECONDS),
        POD_NAME="k8s-combat-dashboard",
        **env,
    )
    return server, database


def test_sigterm_mid_run_watching_the_sandbox_closes_browsers_with_1001_and_exits_0_in_time(tmp_path):
    sandbox = start_sandbox(tmp_path / "cluster")
    dashboard = None
    try:
        dashboard, database = _dashboard(
            tmp_path, KUBECONFIG=str(sandbox.kubeconfig), COMBAT_SERVICE_URL=sandbox.service_url
        )
        _stop_mid_run(dashboard, database)
    finally:
        if dashboard is not None:
            dashboard.stop(signal.SIGKILL)
        sandbox.stop()


def test_sigterm_mid_run_watching_a_real_api_server_exits_0_in_time(tmp_path, control_plane, app_server):
    """The watch of a real kube-apiserver is quiet (no event for minutes): the stop must interrupt
    its blocked read rather than wait out the 90 s silence timeout, as it once did."""
    namespace = control_plane.namespace("shutdown")
    control_plane.apply(
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "k8s-combat-service-abcde",
                "labels": {"kubernetes.io/service-name": "k8s-combat-service"},
            },
            "addressType": "IPv4",
            "ports": [{"name": "app", "port": 8081, "protocol": "TCP"}],
            "endpoints": [
                {
                    "addresses": ["10.1.0.5"],
                    "conditions": {"ready": True},
                    "targetRef": {"kind": "Pod", "namespace": namespace, "name": "provider-1"},
                }
            ],
        },
        namespace=namespace,
    )
    provider = app_server(POD_NAME="provider-1", POD_IP="10.1.0.5")  # the Service, as far as calls go
    dashboard = None
    try:
        dashboard, database = _dashboard(
            tmp_path,
            KUBECONFIG=str(control_plane.kubeconfig),
            DASHBOARD_NAMESPACE=namespace,
            COMBAT_SERVICE_URL=provider.url,
            DASHBOARD_WATCH_SILENCE_SECONDS="90",
        )
        _stop_mid_run(dashboard, database)
    finally:
        if dashboard is not None:
            dashboard.stop(signal.SIGKILL)
