"""/ping and the health endpoints: what every call and every probe lands on."""

from __future__ import annotations

import pytest
import requests

from combat_app import lifecycle
from combat_app.asgi import application
from tests.support.asgi import http_request


async def fetch(method: str, path: str) -> dict:
    return await http_request(application, method, path)


def header(response: dict, name: bytes) -> bytes:
    return dict(response["headers"])[name]


async def test_ping_answers_pong_byte_for_byte_with_the_pod_identity_headers():
    response = await fetch("GET", "/ping")
    assert response["status"] == 200
    assert response["body"] == b"pong"
    assert header(response, b"content-type") == b"text/plain; charset=utf-8"
    assert header(response, b"x-pod-name") == b"k8s-combat-test-pod"
    assert header(response, b"x-pod-ip") == b"127.0.0.1"
    assert header(response, b"x-node-name") == b"test-node"


async def test_ping_logs_the_pod_name_like_the_seed(caplog):
    with caplog.at_level("INFO", logger="combat_app.ping"):
        await fetch("GET", "/ping")
    assert "k8s-combat-test-pod ping" in caplog.messages


async def test_head_answers_headers_without_a_body():
    response = await fetch("HEAD", "/ping")
    assert response["status"] == 200
    assert response["body"] == b""


@pytest.mark.parametrize("path", ["/ping", "/healthz", "/readyz"])
async def test_the_fast_paths_refuse_other_methods_with_405(path):
    response = await fetch("POST", path)
    assert response["status"] == 405
    assert header(response, b"allow") == b"GET, HEAD"


async def test_readyz_turns_503_once_the_drain_begins(monkeypatch):
    assert (await fetch("GET", "/readyz"))["status"] == 200
    monkeypatch.setattr(lifecycle, "_draining", False)
    lifecycle.begin_drain()
    drained = await fetch("GET", "/readyz")
    assert drained["status"] == 503
    assert drained["body"] == b"draining"
    assert (await fetch("GET", "/healthz"))["status"] == 200, "liveness must not fail while draining"


@pytest.mark.slow
def test_a_real_server_answers_ping_with_the_downward_api_identity(app_server):
    server = app_server(POD_NAME="k8s-combat-service-abc-1", POD_IP="10.0.0.7", NODE_NAME="node-a")
    response = requests.get(f"{server.url}/ping", timeout=5)
    assert response.content == b"pong"
    assert response.headers["X-Pod-Name"] == "k8s-combat-service-abc-1"
    assert response.headers["X-Pod-IP"] == "10.0.0.7"
    assert response.headers["X-Node-Name"] == "node-a"


@pytest.mark.slow
def test_without_downward_api_variables_the_hostname_names_the_pod(app_server):
    import socket

    server = app_server()
    response = requests.get(f"{server.url}/ping", timeout=5)
    assert response.headers["X-Pod-Name"] == socket.gethostname()
    assert response.headers["X-Node-Name"] == socket.gethostname()
