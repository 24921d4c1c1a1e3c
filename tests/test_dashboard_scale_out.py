"""Two dashboard replicas on a real redis-server share their broadcasts (channels-redis)."""

from __future__ import annotations

import subprocess

import pytest
import requests

from tests.support.dashboard import LiveSocket
from tests.support.processes import free_port, start_app
from tests.support.programs import require
from tests.support.sandbox import start_sandbox

pytestmark = pytest.mark.slow


@pytest.fixture
def redis_url(tmp_path):
    server = require("redis-server", "the scale-out test runs two dashboards on a real Redis")
    port = free_port()
    process = subprocess.Popen(
        [
            server,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                import time

                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def test_a_run_started_on_one_dashboard_reaches_a_websocket_on_the_other(tmp_path, redis_url):
    sandbox = start_sandbox(tmp_path / "cluster")
    replicas = []
    try:
        shared = {
            "COMBAT_DASHBOARD": "true",
            "KUBECONFIG": str(sandbox.kubeconfig),
            "COMBAT_SERVICE_URL": sandbox.service_url,
            "DASHBOARD_CHANNEL_LAYER": redis_url,
            "DATABASE_PATH": str(tmp_path / "dashboard.sqlite3"),
        }
        replicas = [start_app(POD_NAME=f"k8s-combat-replica-{n}", **shared) for n in ("a", "b")]
        first, second = replicas
        socket = LiveSocket(second.url)
        try:
            socket.wait_for(lambda m: m["type"] == "hello")
            with requests.Session() as browser:
                browser.get(f"{first.url}/api/state", timeout=5)
                started = browser.post(
                    f"{first.url}/api/runs",
                    json={"count": 20, "concurrency": 2},
                    timeout=5,
                    headers={"X-CSRFToken": browser.cookies["csrftoken"]},
                ).json()
            run_id = started["id"]
            announced = socket.wait_for(lambda m: m["type"] == "run.started" and m["run"]["id"] == run_id)
            assert announced["origin"].startswith("k8s-combat-replica-a/")
            finished = socket.wait_for(lambda m: m["type"] == "run.finished" and m["run"]["id"] == run_id)
            assert finished["run"]["statistics"]["calls"] == 20
            assert sorted(c["seq"] for c in socket.calls_of(run_id)) == list(range(20))
            assert socket.gaps == 0
        finally:
            socket.close()
    finally:
        for replica in replicas:
            replica.stop()
        sandbox.stop()
