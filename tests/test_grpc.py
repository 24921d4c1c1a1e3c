"""gRPC: the seed's long-connection case, side by side with HTTP."""

from __future__ import annotations

import signal
import socket

import pytest
import requests

from combat_app import greeting
from tests.support.dashboard import dashboard_with_socket, start_run
from tests.support.processes import free_port


@pytest.mark.parametrize("text", ["", "v1", "k8s-combat", "π" * 100, "x" * 300])
def test_helloworld_messages_round_trip(text):
    assert greeting.decode_string_field(greeting.encode_string_field(text)) == text


def test_unknown_fields_are_skipped_as_protobuf_parsers_do():
    extra = b"\x10\x96\x01" + b"\x1a\x03abc"  # field 2 varint 150, field 3 "abc"
    assert greeting.decode_string_field(extra + greeting.encode_string_field("name")) == "name"


def test_the_reply_names_the_pod_as_the_original_did():
    assert greeting.pod_of("hostname:k8s-combat-service-abc-12345, in:v1") == "k8s-combat-service-abc-12345"


@pytest.mark.slow
def test_a_grpc_call_to_nobody_fails_with_its_status_within_the_deadline(app_server):
    port = free_port()
    consumer = app_server(
        COMBAT_SERVICE_URL=f"http://127.0.0.1:{free_port()}",
        COMBAT_SERVICE_GRPC_PORT=str(port),
        COMBAT_CALL_TIMEOUT_SECONDS="0.5",
    )
    # The client's timeouts only bound the wait (a busy machine is slow, never wrong): what shows
    # the deadline is the status, DEADLINE_EXCEEDED from a server that never answers, which
    # without a deadline would hang past the client's timeout.
    response = requests.get(f"{consumer.url}/grpc_client", timeout=30)
    assert response.status_code == 502
    assert response.text.startswith(("grpc-UNAVAILABLE", "grpc-DEADLINE_EXCEEDED"))
    assert requests.get(f"{consumer.url}/grpc_client?name=example.com", timeout=30).status_code == 400
    with socket.socket() as silent:  # accepts connections (the kernel does) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        stuck = app_server(
            COMBAT_SERVICE_URL=f"http://127.0.0.1:{free_port()}",
            COMBAT_SERVICE_GRPC_PORT=str(silent.getsockname()[1]),
            COMBAT_CALL_TIMEOUT_SECONDS="0.5",
        )
        response = requests.get(f"{stuck.url}/grpc_client", timeout=30)
    assert response.status_code == 502
    assert response.text.startswith("grpc-DEADLINE_EXCEEDED")


@pytest.mark.slow
def test_the_grpc_server_starts_and_drains_with_the_http_server(app_server):
    port = free_port()
    server = app_server(COMBAT_GRPC_PORT=str(port), POD_NAME="k8s-combat-service-grpc-00001")
    client = greeting.Greeter(f"127.0.0.1:{port}")
    try:
        answer = client.say_hello("v1", timeout=2)
        assert (answer.outcome, answer.message) == ("ok", "hostname:k8s-combat-service-grpc-00001, in:v1")
    finally:
        client.close()
    assert server.stop(signal.SIGTERM) == 0


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    with dashboard_with_socket(tmp_path_factory.mktemp("grpc"), "--providers", "3") as opened:
        yield opened


@pytest.mark.slow
def test_grpc_client_sticks_to_one_pod_through_the_service(dashboard):
    sandbox, _ = dashboard
    url = f"{sandbox.dashboard_url}/grpc_client?name=k8s-combat-service&version=v1"  # the seed's URL
    replies = {requests.get(url, timeout=5).text for _ in range(20)}
    assert len(replies) == 1
    assert replies.pop().endswith(", in:v1")


@pytest.mark.slow
def test_200_grpc_calls_land_on_one_pod_and_200_channel_per_call_calls_reach_all_3(dashboard):
    _, socket = dashboard
    one_channel = start_run(socket, mode="grpc", count=200, concurrency=4)["statistics"]
    assert (one_channel["ok"], one_channel["pods_reached"], one_channel["connections"]) == (200, 1, 1)
    assert one_channel["longest_streak"] == 200
    per_call = start_run(socket, mode="grpc-per-call", count=200, concurrency=4)["statistics"]
    assert per_call["ok"] == 200 and per_call["pods_reached"] == 3
    assert per_call["p_value"] > 0.001
    assert per_call["connections"] == 200


@pytest.mark.slow
def test_deleting_the_pod_a_grpc_run_is_stuck_to_moves_the_calls_and_the_timeline_shows_where(dashboard):
    _, socket = dashboard
    before = {m["run"]["id"] for m in socket.of_type("run.started")}
    socket.send({"type": "run.start", "mode": "grpc", "count": 400, "concurrency": 1, "rate": 50})
    run_id = socket.wait_for(lambda m: m["type"] == "run.started" and m["run"]["id"] not in before)["run"][
        "id"
    ]
    first = socket.wait_for(
        lambda m: m["type"] == "calls.batch" and any(c["run"] == run_id for c in m["calls"])
    )
    victim = next(c["pod"] for c in first["calls"] if c["run"] == run_id)
    socket.send({"type": "pod.delete", "name": victim})
    finished = socket.wait_for(lambda m: m["type"] == "run.finished" and m["run"]["id"] == run_id, 60)["run"]
    calls = sorted(socket.calls_of(run_id), key=lambda c: c["seq"])
    answered = [c["pod"] for c in calls if c["outcome"] == "ok"]
    assert answered[0] == victim and answered[-1] != victim, "the calls moved once the connection broke"
    switch = answered.index(answered[-1])
    assert all(pod == victim for pod in answered[:switch]) and all(
        pod == answered[-1] for pod in answered[switch:]
    )
    for call in calls:
        assert call["outcome"] == "ok" or call["outcome"].startswith("grpc-"), call
        # Cut at the 2 s deadline; the figure is taken when the call's thread runs again, which on
        # a busy machine can be late, so the bound is twice the deadline (not a latency figure).
        assert call["latency_ms"] < 2 * 2000, call
    assert finished["statistics"]["pods_reached"] == 2
    timeline = [e for m in socket.of_type("endpoints.changed") for e in m["events"]]
    assert any(e["pod"] == victim and e["state"] == "terminating" for e in timeline)
