"""The dashboard's guards, each with a test that fails when the guard is removed."""

from __future__ import annotations

import json

import pytest
import requests
from kubernetes import client, config
from websockets.exceptions import InvalidStatus

from tests.support.dashboard import LiveSocket
from tests.support.sandbox import start_sandbox

pytestmark = pytest.mark.slow
TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def open_dashboard(tmp_path_factory):
    sandbox = start_sandbox(tmp_path_factory.mktemp("dashboard-open"), dashboard=True)
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def locked_dashboard(tmp_path_factory):
    sandbox = start_sandbox(
        tmp_path_factory.mktemp("dashboard-locked"),
        "--no-chaos",
        "--dashboard-env",
        f"DASHBOARD_TOKEN={TOKEN}",
        dashboard=True,
    )
    yield sandbox
    sandbox.stop()


def hello_of(socket: LiveSocket) -> dict:
    return socket.wait_for(lambda m: m["type"] == "hello")


# --- Origin -----------------------------------------------------------------------------------


def test_it_rejects_a_websocket_from_a_foreign_origin(open_dashboard):
    with pytest.raises(InvalidStatus) as refused:
        LiveSocket(open_dashboard.dashboard_url, origin="http://evil.example")
    assert refused.value.response.status_code == 403


def test_it_accepts_a_websocket_from_its_own_origin(open_dashboard):
    socket = LiveSocket(open_dashboard.dashboard_url)
    try:
        assert hello_of(socket)["protocol"] == 3
    finally:
        socket.close()


# --- CSRF -------------------------------------------------------------------------------------


def test_a_post_without_the_csrf_token_is_refused(open_dashboard):
    response = requests.post(f"{open_dashboard.dashboard_url}/api/runs", json={"count": 1}, timeout=5)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf"


def test_a_post_with_the_csrf_token_starts_a_run(open_dashboard):
    with requests.Session() as browser:
        browser.get(f"{open_dashboard.dashboard_url}/api/state", timeout=5)
        response = browser.post(
            f"{open_dashboard.dashboard_url}/api/runs",
            json={"count": 2},
            timeout=5,
            headers={"X-CSRFToken": browser.cookies["csrftoken"]},
        )
    assert response.status_code == 201
    assert response.json()["count"] == 2


# --- the Service only -------------------------------------------------------------------------


def test_a_run_cannot_be_pointed_anywhere_but_the_service(open_dashboard):
    with requests.Session() as browser:
        browser.get(f"{open_dashboard.dashboard_url}/api/state", timeout=5)
        for field in ("url", "target", "host", "path"):
            response = browser.post(
                f"{open_dashboard.dashboard_url}/api/runs",
                json={"count": 1, field: "http://169.254.169.254/"},
                timeout=5,
                headers={"X-CSRFToken": browser.cookies["csrftoken"]},
            )
            assert response.status_code == 400
            assert response.json()["error"] == {
                "code": "unknown-field",
                "field": field,
                "message": f"unknown field {field}",
            }
    socket = LiveSocket(open_dashboard.dashboard_url)
    try:
        socket.send({"type": "run.start", "count": 1, "url": "http://example.com/"})
        error = socket.wait_for(lambda m: m["type"] == "error")
        assert (error["code"], error["field"]) == ("unknown-field", "url")
    finally:
        socket.close()


def test_only_pods_behind_the_service_can_be_deleted(open_dashboard):
    api = config.new_client_from_config(str(open_dashboard.kubeconfig))
    dashboard_pod = (
        client.CoreV1Api(api).list_namespaced_pod("default", label_selector="app=k8s-combat").items[0]
    )
    socket = LiveSocket(open_dashboard.dashboard_url)
    try:
        hello_of(socket)
        socket.send({"type": "pod.delete", "name": dashboard_pod.metadata.name})
        error = socket.wait_for(lambda m: m["type"] == "error")
        assert error["code"] == "not-an-endpoint"
    finally:
        socket.close()
    assert (
        not client.CoreV1Api(api)
        .read_namespaced_pod(dashboard_pod.metadata.name, "default")
        .metadata.deletion_timestamp
    )


def test_a_bad_frame_is_answered_and_the_connection_stays_usable(open_dashboard):
    socket = LiveSocket(open_dashboard.dashboard_url)
    try:
        hello_of(socket)
        socket.send({"type": "run.start", "count": 1, "padding": "x" * 5000})
        assert socket.wait_for(lambda m: m["type"] == "error")["code"] == "frame-too-large"
        socket.socket.send("{not json")
        assert socket.wait_for(lambda m: m["type"] == "error" and m["code"] == "invalid-json")
        socket.send({"type": "run.start", "count": 0})
        error = socket.wait_for(lambda m: m["type"] == "error" and m["code"] == "out-of-range")
        assert error["field"] == "count"
        socket.send({"type": "resync"})
        assert len(socket.wait_for(lambda m: m["type"] == "hello" and len(socket.of_type("hello")) == 2)) > 0
    finally:
        socket.close()


def test_a_flood_of_commands_is_rate_limited_without_closing_the_connection(open_dashboard):
    socket = LiveSocket(open_dashboard.dashboard_url)
    try:
        hello_of(socket)
        for _ in range(60):
            socket.socket.send(json.dumps({"type": "nope"}))
        socket.wait_for(lambda m: m["type"] == "error" and m["code"] == "rate-limited")
        errors = [m["code"] for m in socket.of_type("error")]
        assert "unknown-type" in errors and "rate-limited" in errors
    finally:
        socket.close()


# --- the token --------------------------------------------------------------------------------


def test_with_a_token_set_the_websocket_needs_it(locked_dashboard):
    with pytest.raises(InvalidStatus) as refused:
        LiveSocket(locked_dashboard.dashboard_url)
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        LiveSocket(locked_dashboard.dashboard_url, query="?token=wrong")
    for socket in (
        LiveSocket(locked_dashboard.dashboard_url, query=f"?token={TOKEN}"),
        LiveSocket(locked_dashboard.dashboard_url, headers={"Cookie": f"k8s_combat_token={TOKEN}"}),
    ):
        try:
            assert hello_of(socket)["protocol"] == 3
        finally:
            socket.close()


def test_with_a_token_set_the_api_needs_it(locked_dashboard):
    url = f"{locked_dashboard.dashboard_url}/api/state"
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).status_code == 200
    assert requests.get(f"{locked_dashboard.dashboard_url}/metrics", timeout=5).status_code == 401
    started = requests.post(
        f"{locked_dashboard.dashboard_url}/api/runs",
        json={"count": 1},
        timeout=5,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert started.status_code == 201, "the bearer token stands in for CSRF"


# --- chaos off --------------------------------------------------------------------------------


def test_with_chaos_off_scale_and_delete_are_refused_and_nothing_changes(locked_dashboard):
    api = config.new_client_from_config(str(locked_dashboard.kubeconfig))
    pods_before = {p.metadata.name for p in client.CoreV1Api(api).list_namespaced_pod("default").items}
    socket = LiveSocket(locked_dashboard.dashboard_url, query=f"?token={TOKEN}")
    try:
        hello = hello_of(socket)
        assert hello["capabilities"]["chaos"] is False
        victim = next(e["pod"] for e in socket.latest_endpoints()) if socket.latest_endpoints() else "any"
        socket.send({"type": "deployment.scale", "replicas": 3})
        socket.send({"type": "pod.delete", "name": victim})
        socket.wait_for(
            lambda m: len([e for e in socket.of_type("error") if e["code"] == "chaos-disabled"]) == 2
        )
    finally:
        socket.close()
    assert (
        client.AppsV1Api(api).read_namespaced_deployment_scale("k8s-combat-service", "default").spec.replicas
        == 2
    )
    assert {
        p.metadata.name for p in client.CoreV1Api(api).list_namespaced_pod("default").items
    } == pods_before
