"""/service and /dial: calls through the Service, and where they are allowed to go."""

from __future__ import annotations

import socket

import pytest
import requests

from tests.support.processes import free_port
from tests.support.tcp_proxy import RoundRobinProxy

pytestmark = pytest.mark.slow


@pytest.fixture
def two_pods_behind_a_service(app_server):
    """Two provider processes behind one address, and a consumer configured to call it."""
    pods = [app_server(POD_NAME=f"k8s-combat-service-7d9f-{suffix}") for suffix in ("aaaaa", "bbbbb")]
    backends = [("127.0.0.1", int(pod.url.rsplit(":", 1)[1])) for pod in pods]
    with RoundRobinProxy(backends) as service:
        consumer = app_server(POD_NAME="k8s-combat-5c6b-ccccc", COMBAT_SERVICE_URL=service.url)
        yield consumer, service


def test_service_answers_the_upstream_status_line(two_pods_behind_a_service):
    consumer, _ = two_pods_behind_a_service
    response = requests.get(f"{consumer.url}/service", timeout=5)
    assert response.status_code == 200
    assert response.text == "200 OK"


def test_service_json_names_the_pod_that_answered_and_calls_spread(two_pods_behind_a_service):
    consumer, _ = two_pods_behind_a_service
    answers = [requests.get(f"{consumer.url}/service?format=json", timeout=5).json() for _ in range(4)]
    for answer in answers:
        assert answer["status"] == 200
        assert answer["error"] == ""
        assert answer["pod_ip"] == "127.0.0.1"
        assert answer["latency_ms"] > 0
    # Each /service call opens a new connection, so the Service picks a pod every time.
    assert {answer["pod"] for answer in answers} == {
        "k8s-combat-service-7d9f-aaaaa",
        "k8s-combat-service-7d9f-bbbbb",
    }


def test_dial_twenty_tries_returns_both_pod_names(two_pods_behind_a_service):
    consumer, service = two_pods_behind_a_service
    response = requests.get(
        f"{consumer.url}/dial",
        params={
            "request": "hostname",
            "host": "127.0.0.1",
            "port": service.port,
            "protocol": "http",
            "tries": 20,
        },
        timeout=30,
    )
    assert response.status_code == 200
    result = response.json()
    assert result["errors"] == []
    assert len(result["responses"]) == 20
    assert set(result["responses"]) == {"k8s-combat-service-7d9f-aaaaa", "k8s-combat-service-7d9f-bbbbb"}


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"host": "169.254.169.254"}, "host: only the configured Service"),
        ({"host": "example.com", "port": "80"}, "host: only the configured Service"),
        ({"port": "22"}, "port: only the Service's port"),
        ({"tries": "0"}, "tries: must be a whole number from 1 to 100"),
        ({"tries": "101"}, "tries: must be a whole number from 1 to 100"),
        ({"tries": "ten"}, "tries: must be a whole number from 1 to 100"),
        ({"request": "shell"}, "request: must be one of hostname, ping"),
        ({"protocol": "udp"}, "protocol: only http is supported"),
    ],
)
def test_dial_refuses_anything_but_the_configured_service(two_pods_behind_a_service, query, says):
    consumer, _ = two_pods_behind_a_service
    response = requests.get(f"{consumer.url}/dial", params=query, timeout=5)
    assert response.status_code == 400
    assert response.text.startswith(says)


def test_an_unreachable_service_is_a_502_that_says_refused(app_server):
    closed_port = free_port()
    consumer = app_server(COMBAT_SERVICE_URL=f"http://127.0.0.1:{closed_port}")
    response = requests.get(f"{consumer.url}/service", timeout=5)
    assert response.status_code == 502
    assert response.text.startswith("refused: ")
    assert requests.get(f"{consumer.url}/service?format=json", timeout=5).json()["outcome"] == "refused"


def test_a_silent_service_is_a_502_timeout_within_the_configured_budget(app_server):
    with socket.socket() as silent:  # accepts connections (the kernel does) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        consumer = app_server(
            COMBAT_SERVICE_URL=f"http://127.0.0.1:{port}", COMBAT_CALL_TIMEOUT_SECONDS="0.5"
        )
        response = requests.get(f"{consumer.url}/service?format=json", timeout=5)
    answer = response.json()
    assert response.status_code == 502
    assert answer["outcome"] == "timeout"
    # Not cut before the configured 0.5 s, and cut by it rather than by the default 2 s budget:
    # the room between the two is for a busy machine's late wake-up.
    assert 450 <= answer["latency_ms"] < 2000


def test_a_name_that_does_not_resolve_is_a_502_that_says_dns(app_server):
    consumer = app_server(COMBAT_SERVICE_URL="http://k8s-combat-service.invalid:8081")
    answer = requests.get(f"{consumer.url}/service?format=json", timeout=10).json()
    assert answer["outcome"] == "dns"
    assert "k8s-combat-service.invalid" in answer["error"]
