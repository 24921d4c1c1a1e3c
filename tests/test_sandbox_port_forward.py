"""The real kubectl's port-forward against the sandbox, as the tutorial uses it: to the dashboard's
Deployment (page, API and websocket), to the Service (one pod for every connection), and to a
port nothing listens on."""

from __future__ import annotations

import subprocess

import pytest
import requests

from tests.support.dashboard import LiveSocket, start_run
from tests.support.kubectl import Kubectl, pods, stop
from tests.support.processes import free_port
from tests.support.programs import require
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
CONSUMER, SERVICE = "k8s-combat", "k8s-combat-service"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    cluster = start_sandbox(tmp_path_factory.mktemp("sandbox-port-forward"), dashboard=True)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def kubectl(sandbox) -> Kubectl:
    return Kubectl(require("kubectl", "the sandbox must work with the real kubectl"), sandbox.kubeconfig)


def port_forward(kubectl: Kubectl, target: str, remote: int, tmp_path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    out = open(tmp_path / f"port-forward-{port}.log", "w+b")  # noqa: SIM115 - closed with the process
    process = kubectl.start(
        "port-forward", "--address", "127.0.0.1", target, f"{port}:{remote}", stdout=out, stderr=out
    )
    try:
        wait_for(
            lambda: b"Forwarding from 127.0.0.1" in (tmp_path / f"port-forward-{port}.log").read_bytes(), 20
        )
    except AssertionError:
        stop(process)
        raise
    return process, port


def test_port_forward_to_the_dashboards_deployment_serves_the_page_the_api_and_the_websocket(
    kubectl, tmp_path
):
    consumer = next(iter(pods(kubectl, CONSUMER)))
    process, port = port_forward(kubectl, f"deploy/{CONSUMER}", 8081, tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        page = requests.get(f"{url}/", timeout=10)
        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
        state = requests.get(f"{url}/api/state", timeout=10).json()
        assert state["pod"]["name"] == consumer
        socket = LiveSocket(url)
        try:
            assert socket.wait_for(lambda m: m["type"] == "hello")["pod"]["name"] == consumer
            run = start_run(socket, mode="new-connection", count=20, concurrency=2)
            assert run["statistics"]["calls"] == run["statistics"]["ok"] == 20
            assert run["statistics"]["pods_reached"] == 2
        finally:
            socket.close()
    finally:
        stop(process)


def test_port_forward_to_the_service_sends_every_connection_to_one_pod(kubectl, sandbox, tmp_path):
    providers = pods(kubectl, SERVICE)
    process, port = port_forward(kubectl, f"svc/{SERVICE}", 8081, tmp_path)
    try:
        # 50 new connections: through the ClusterIP they would spread; port-forward picked one pod.
        answered: set[str] = set()
        for _ in range(50):
            reply = requests.get(f"http://127.0.0.1:{port}/ping", headers={"Connection": "close"}, timeout=10)
            assert reply.text == "pong"
            answered.add(reply.headers["X-Pod-Name"])
        assert len(answered) == 1 and answered <= set(providers)
    finally:
        stop(process)
    through_service = {
        requests.get(f"{sandbox.service_url}/ping", headers={"Connection": "close"}, timeout=10).headers[
            "X-Pod-Name"
        ]
        for _ in range(50)
    }
    assert through_service == set(providers), "the Service itself balances each new connection"


def test_port_forward_to_a_port_nothing_listens_on_ends_as_on_a_cluster(kubectl, tmp_path):
    name = next(iter(pods(kubectl, SERVICE)))
    process, port = port_forward(kubectl, f"pod/{name}", 9, tmp_path)
    try:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert process.wait(20) == 1
        log = (tmp_path / f"port-forward-{port}.log").read_text()
        assert "error forwarding port 9" in log and "lost connection to pod" in log
    finally:
        stop(process)
