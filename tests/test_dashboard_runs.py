"""Runs through the dashboard pod in the sandbox: the seed's lesson, with evidence."""

from __future__ import annotations

import threading

import pytest
import requests

from tests.support.dashboard import dashboard_with_socket, start_run, stored_calls
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
CLASSIFIED = {"ok", "refused", "reset", "timeout", "dns", "error"}


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    with dashboard_with_socket(tmp_path_factory.mktemp("dashboard-runs"), "--providers", "3") as opened:
        yield opened


def test_hello_names_the_consumer_the_service_and_its_endpoints(dashboard):
    _, socket = dashboard
    hello = socket.of_type("hello")[0]
    assert hello["protocol"] == 3
    assert hello["pod"]["name"].startswith("k8s-combat-")
    assert hello["service"]["name"] == "k8s-combat-service"
    assert hello["capabilities"]["modes"] == ["new-connection", "keep-alive", "pool", "grpc", "grpc-per-call"]
    endpoints = (
        hello["endpoints"] or socket.wait_for(lambda m: m["type"] == "endpoints.changed")["_endpoints"]
    )
    assert len([e for e in endpoints if e["ready"]]) == 3


def test_300_new_connection_calls_reach_all_3_pods_as_random_choice_would(dashboard):
    sandbox, socket = dashboard
    run = start_run(socket, mode="new-connection", count=300, concurrency=4)
    statistics = run["statistics"]
    assert statistics["calls"] == statistics["ok"] == 300
    assert statistics["pods_reached"] == 3
    assert statistics["p_value"] > 0.001
    assert statistics["connections"] == 300
    assert {call["pod"] for call in stored_calls(sandbox.dashboard_url, run["id"])} == set(statistics["pods"])


def test_100_keep_alive_calls_stick_to_one_pod_and_the_statistics_say_so(dashboard):
    _, socket = dashboard
    statistics = start_run(socket, mode="keep-alive", count=100)["statistics"]
    assert statistics["pods_reached"] == 1
    assert statistics["longest_streak"] == 100
    assert statistics["connections"] == 1
    assert statistics["p_value"] < 0.001


def test_a_burst_survives_pods_deleted_every_2s_and_the_socket_gets_exactly_the_stored_calls(dashboard):
    sandbox, socket = dashboard
    stop = threading.Event()

    def delete_pods() -> None:
        while not stop.wait(2):
            ready = [e["pod"] for e in socket.latest_endpoints() if e["ready"]]
            if ready:
                socket.send({"type": "pod.delete", "name": ready[0]})

    deleter = threading.Thread(target=delete_pods, daemon=True)
    deleter.start()
    try:
        run = start_run(socket, mode="new-connection", count=1000, concurrency=8, rate=150)
    finally:
        stop.set()
        deleter.join()
    stored = stored_calls(sandbox.dashboard_url, run["id"])
    assert len(stored) == 1000
    assert sorted(call["seq"] for call in stored) == list(range(1000))
    for call in stored:
        assert call["outcome"] in CLASSIFIED or call["outcome"].startswith("http-"), call
        # Cut at its 2 s timeout; the figure is taken when the call's thread runs again, which on a
        # busy machine can be late, so the bound is twice the timeout (not a latency figure).
        assert call["latency_ms"] < 2 * 2000, f"call {call['seq']} outlasted its 2 s timeout"
    streamed = socket.calls_of(run["id"])
    assert sorted(c["seq"] for c in streamed) == list(range(1000)), "every stored call, each once"
    assert {(c["seq"], c["pod"], c["outcome"]) for c in streamed} == {
        (c["seq"], c["pod"], c["outcome"]) for c in stored
    }
    assert len(socket.of_type("endpoints.changed")) > 2, "the deletes showed up as endpoint changes"
    assert socket.gaps == 0


def test_a_run_can_be_cancelled(dashboard):
    _, socket = dashboard
    before = {m["run"]["id"] for m in socket.of_type("run.started")}
    socket.send({"type": "run.start", "mode": "new-connection", "count": 10000, "concurrency": 2, "rate": 50})
    started = socket.wait_for(lambda m: m["type"] == "run.started" and m["run"]["id"] not in before)
    socket.wait_for(  # a call stored, however long a busy machine takes to make it
        lambda m: m["type"] == "calls.batch" and any(c["run"] == started["run"]["id"] for c in m["calls"])
    )
    socket.send({"type": "run.cancel", "run": started["run"]["id"]})
    finished = socket.wait_for(
        lambda m: m["type"] == "run.finished" and m["run"]["id"] == started["run"]["id"]
    )
    assert finished["run"]["status"] == "cancelled"
    assert 0 < finished["run"]["statistics"]["calls"] < 10000


def test_runs_export_as_csv_and_metrics_count_calls_by_pod(dashboard):
    sandbox, socket = dashboard
    run = start_run(socket, mode="pool", count=40, concurrency=2)
    csv_text = requests.get(f"{sandbox.dashboard_url}/api/runs/{run['id']}/calls.csv", timeout=5).text
    rows = csv_text.strip().splitlines()
    assert rows[0].startswith("seq,mode,started_at,latency_ms,outcome,pod")
    assert len(rows) == 41
    metrics = requests.get(f"{sandbox.dashboard_url}/metrics", timeout=5).text
    for pod in run["statistics"]["pods"]:
        assert f'k8s_combat_calls_total{{pod="{pod}",outcome="ok"}}' in metrics

    def three_ready_endpoints() -> bool:
        metrics = requests.get(f"{sandbox.dashboard_url}/metrics", timeout=5).text
        return "k8s_combat_ready_endpoints 3" in metrics.splitlines()

    # The pods deleted by an earlier test are replaced, and ready again, when their start-up is
    # done: sooner or later depending on the machine's load, so this waits for it.
    wait_for(three_ready_endpoints, 30)
    listed = requests.get(f"{sandbox.dashboard_url}/api/runs", timeout=5).json()["runs"]
    assert listed[0]["id"] == run["id"]
    assert requests.get(f"{sandbox.dashboard_url}/api/runs/999999", timeout=5).status_code == 404


def test_the_timeline_keeps_every_endpoint_change_with_its_time(dashboard):
    _, socket = dashboard
    hellos = len(socket.of_type("hello"))
    socket.send({"type": "resync"})
    socket.wait_for(lambda _: len(socket.of_type("hello")) > hellos)
    timeline = socket.of_type("hello")[-1]["timeline"]
    kinds = {event["kind"] for event in timeline}
    assert {"added", "changed", "removed"} <= kinds, "pods came, turned terminating and left during the burst"
    assert all(event["at"] > 0 and event["pod"] for event in timeline)
