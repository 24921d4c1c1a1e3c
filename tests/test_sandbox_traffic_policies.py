"""The sandbox's nodes, zones and Service proxy against the Service's traffic settings.

The pure parts are in tests/test_sandbox_topology.py; here, one sandbox of 2 nodes in 2 zones
with 4 provider pods and the dashboard, where each setting is patched live with ``kubectl patch
svc`` and a 300-call new-connection run from the consumer pod (the dashboard's API) lands as
kube-proxy's rules predict (pkg/proxy/topology.go ``CategorizeEndpoints``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import requests

from sandbox import topology
from tests.support.kubectl import kubectl_for
from tests.support.programs import require
from tests.support.sandbox import TWO_ZONES, start_sandbox

SERVICE = "k8s-combat-service"
CONSUMER = "k8s-combat"
CALLS = 300


# --- a sandbox of 2 nodes in 2 zones -----------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    sandbox = start_sandbox(
        tmp_path_factory.mktemp("traffic-policies"),
        *TWO_ZONES,
        dashboard=True,
    )
    try:
        yield sandbox, kubectl_for(sandbox)
    finally:
        sandbox.stop()


def _pods(kubectl) -> dict[str, dict]:
    return {p["metadata"]["name"]: p for p in json.loads(kubectl("get", "pods", "-o", "json"))["items"]}


def _providers_by_node(kubectl) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, pod in _pods(kubectl).items():
        if name.startswith(f"{SERVICE}-") and not pod["metadata"].get("deletionTimestamp"):
            found.setdefault(pod["spec"]["nodeName"], set()).add(name)
    return found


def _consumer(kubectl) -> dict:
    return next(p for n, p in _pods(kubectl).items() if not n.startswith(f"{SERVICE}-"))


def _zones(kubectl) -> dict[str, str]:
    nodes = json.loads(kubectl("get", "nodes", "-o", "json"))["items"]
    return {n["metadata"]["name"]: n["metadata"]["labels"][topology.ZONE_LABEL] for n in nodes}


def _patch(kubectl, patch: dict) -> None:
    kubectl("patch", "svc", SERVICE, "-p", json.dumps(patch))


def _endpoints(kubectl) -> list[dict]:
    slices = json.loads(
        kubectl("get", "endpointslices", "-l", f"kubernetes.io/service-name={SERVICE}", "-o", "json")
    )
    return [e for s in slices["items"] for e in s.get("endpoints") or []]


def _wait(predicate, seconds: float = 15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


def _run(sandbox, *, count: int = CALLS, concurrency: int = 4) -> dict[str, int]:
    """A new-connection run from the consumer pod: {pod: calls answered}."""
    session = requests.Session()
    session.get(f"{sandbox.dashboard_url}/api/state", timeout=10)
    started = session.post(
        f"{sandbox.dashboard_url}/api/runs",
        json={"mode": "new-connection", "count": count, "concurrency": concurrency},
        headers={"X-CSRFToken": session.cookies["csrftoken"]},
        timeout=10,
    )
    assert started.status_code == 201, started.text
    url = f"{sandbox.dashboard_url}/api/runs/{started.json()['id']}"
    run = _wait(lambda: (r := session.get(url, timeout=10).json())["status"] != "running" and r, 60)
    assert run["status"] == "finished", run
    return {pod: entry["count"] for pod, entry in run["statistics"]["pods"].items() if entry["count"]}


def test_the_nodes_are_listed_in_their_zones_and_the_pods_spread_over_them(cluster):
    _, kubectl = cluster
    assert _zones(kubectl) == {"sandbox-node-1": "zone-a", "sandbox-node-2": "zone-b"}
    nodes = json.loads(kubectl("get", "nodes", "-o", "json"))["items"]
    assert {n["metadata"]["labels"][topology.HOSTNAME_LABEL] for n in nodes} == {
        "sandbox-node-1",
        "sandbox-node-2",
    }
    assert "Ready" in kubectl("get", "nodes")
    assert {node: len(pods) for node, pods in _providers_by_node(kubectl).items()} == {
        "sandbox-node-1": 2,
        "sandbox-node-2": 2,
    }


def test_each_pod_answers_with_its_own_node(cluster):
    sandbox, kubectl = cluster
    pods = _pods(kubectl)
    for _ in range(12):
        answer = requests.get(f"{sandbox.service_url}/ping", timeout=5)
        name = answer.headers["x-pod-name"]
        assert answer.headers["x-node-name"] == pods[name]["spec"]["nodeName"]


def test_slices_carry_each_endpoints_node_and_zone_and_no_hints_by_default(cluster):
    _, kubectl = cluster
    pods, zones = _pods(kubectl), _zones(kubectl)
    endpoints = _endpoints(kubectl)
    assert len(endpoints) == 4
    for endpoint in endpoints:
        node = pods[endpoint["targetRef"]["name"]]["spec"]["nodeName"]
        assert endpoint["nodeName"] == node and endpoint["zone"] == zones[node]
        assert "hints" not in endpoint


def test_by_default_new_connections_spread_over_every_pod(cluster):
    sandbox, kubectl = cluster
    counts = _run(sandbox)
    assert set(counts) == set().union(*_providers_by_node(kubectl).values())
    assert sum(counts.values()) == CALLS


def test_client_ip_affinity_patched_live_pins_every_new_connection_to_one_pod(cluster):
    sandbox, kubectl = cluster
    _patch(kubectl, {"spec": {"sessionAffinity": "ClientIP"}})
    try:
        counts = _run(sandbox)
        assert len(counts) == 1 and sum(counts.values()) == CALLS
    finally:
        _patch(kubectl, {"spec": {"sessionAffinity": "None"}})
    assert len(_run(sandbox, count=60)) > 1  # patched back: spread again


def test_local_traffic_stays_on_the_callers_node(cluster):
    sandbox, kubectl = cluster
    by_node = _providers_by_node(kubectl)
    consumer_node = _consumer(kubectl)["spec"]["nodeName"]
    _patch(kubectl, {"spec": {"internalTrafficPolicy": "Local"}})
    try:
        assert set(_run(sandbox)) == by_node[consumer_node]
        # A pod on the other node reaches the providers of its own node: the caller is known by
        # its pod IP, not taken for the first node.
        other = next(node for node in by_node if node != consumer_node)
        caller = sorted(by_node[other])[0]
        script = (
            "import urllib.request\n"
            "for _ in range(30):\n"
            f"    answer = urllib.request.urlopen('http://{SERVICE}:8081/ping', timeout=5)\n"
            "    print(answer.headers['x-pod-name'])\n"
        )
        answered = set(kubectl("exec", caller, "--", sys.executable, "-c", script).split())
        assert answered == by_node[other]
    finally:
        _patch(kubectl, {"spec": {"internalTrafficPolicy": "Cluster"}})


def test_prefer_close_hints_each_endpoint_for_its_zone_and_keeps_traffic_in_the_callers_zone(cluster):
    sandbox, kubectl = cluster
    by_node, zones = _providers_by_node(kubectl), _zones(kubectl)
    consumer_zone = zones[_consumer(kubectl)["spec"]["nodeName"]]
    _patch(kubectl, {"spec": {"trafficDistribution": "PreferClose"}})
    try:
        assert (
            json.loads(kubectl("get", "svc", SERVICE, "-o", "json"))["spec"]["trafficDistribution"]
            == "PreferClose"
        )
        _wait(lambda: all("hints" in e for e in _endpoints(kubectl)))
        for endpoint in _endpoints(kubectl):
            assert endpoint["hints"] == {"forZones": [{"name": endpoint["zone"]}]}
        in_zone = set().union(*(pods for node, pods in by_node.items() if zones[node] == consumer_zone))
        assert set(_run(sandbox)) == in_zone
    finally:
        _patch(kubectl, {"spec": {"trafficDistribution": None}})
    _wait(lambda: not any("hints" in e for e in _endpoints(kubectl)))


def test_a_traffic_distribution_kubernetes_does_not_know_is_refused(cluster):
    sandbox, _ = cluster
    refused = subprocess.run(
        [
            require("kubectl", "the Service is patched with kubectl"),
            "patch",
            "svc",
            SERVICE,
            "-p",
            '{"spec":{"trafficDistribution":"Nearby"}}',
        ],
        env={**os.environ, "KUBECONFIG": str(sandbox.kubeconfig)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode != 0
    assert 'spec.trafficDistribution: Unsupported value: "Nearby"' in refused.stderr, refused.stderr


def test_the_ipvs_annotation_patched_live_turns_the_choice_to_round_robin(cluster):
    sandbox, kubectl = cluster
    _patch(kubectl, {"metadata": {"annotations": {"sandbox.k8s-combat.dev/proxy-mode": "ipvs"}}})
    try:
        counts = _run(sandbox, concurrency=1)
        assert len(counts) == 4 and max(counts.values()) - min(counts.values()) <= 1
    finally:
        _patch(kubectl, {"metadata": {"annotations": {"sandbox.k8s-combat.dev/proxy-mode": None}}})


def test_lightweight_pods_of_one_host_process_each_answer_with_their_own_node(cluster):
    _, kubectl = cluster
    before = set(_pods(kubectl))
    kubectl("annotate", "deployment", SERVICE, "sandbox.k8s-combat.dev/pod-runtime=lightweight")
    kubectl("scale", "deployment", SERVICE, "--replicas=6")
    kubectl("rollout", "status", f"deployment/{SERVICE}", "--timeout=60s")
    added = {name: pod for name, pod in _pods(kubectl).items() if name not in before}
    assert len(added) == 2
    assert {pod["spec"]["nodeName"] for pod in added.values()} == {"sandbox-node-1", "sandbox-node-2"}
    for name, pod in added.items():
        answer = requests.get(f"http://{pod['status']['podIP']}:8081/ping", timeout=5)
        assert answer.headers["x-pod-name"] == name
        assert answer.headers["x-node-name"] == pod["spec"]["nodeName"]
