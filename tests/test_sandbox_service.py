"""The sandbox's Service: kube-proxy's L4 balancing, reproduced. This is the seed's lesson."""

from __future__ import annotations

import os
import socket
from collections import Counter

import pytest
import requests
from kubernetes import client, config

from dashboard.statistics import chi_square_uniform
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
SERVICE = "k8s-combat-service"


def pod_of_new_connection(url: str) -> str:
    """One call on a connection of its own, as `curl` and the seed's /service make."""
    with requests.Session() as one_off:
        return one_off.get(f"{url}/ping", timeout=5).headers["X-Pod-Name"]


def ready_pods(api) -> set[str]:
    pods = client.CoreV1Api(api).list_namespaced_pod("default", label_selector=f"app={SERVICE}").items
    return {
        pod.metadata.name
        for pod in pods
        if not pod.metadata.deletion_timestamp
        and {c.type: c.status for c in pod.status.conditions}["Ready"] == "True"
    }


@pytest.fixture(scope="module")
def three_pods(tmp_path_factory):
    cluster = start_sandbox(
        tmp_path_factory.mktemp("sandbox-service"), "--providers", "3", "--drain-seconds", "2"
    )
    api = config.new_client_from_config(str(cluster.kubeconfig))
    yield cluster, api
    cluster.stop()


def test_new_connections_reach_every_pod_and_spread_as_random_choice_does(three_pods):
    sandbox, api = three_pods
    counts = Counter(pod_of_new_connection(sandbox.service_url) for _ in range(300))
    assert set(counts) == ready_pods(api)
    assert len(counts) == 3
    statistic, p = chi_square_uniform(list(counts.values()))
    assert p > 0.001, (
        f"spread {dict(counts)} is not consistent with uniform random choice (chi2={statistic:.1f})"
    )


def test_a_kept_alive_connection_sticks_to_one_pod(three_pods):
    sandbox, _ = three_pods
    with requests.Session() as kept_alive:
        pods = {
            kept_alive.get(f"{sandbox.service_url}/ping", timeout=5).headers["X-Pod-Name"] for _ in range(100)
        }
    assert len(pods) == 1


def test_deleting_a_pod_stops_new_connections_at_once_but_lets_open_ones_finish(three_pods):
    sandbox, api = three_pods
    with requests.Session() as kept_alive:
        victim = kept_alive.get(f"{sandbox.service_url}/ping", timeout=5).headers["X-Pod-Name"]
        client.CoreV1Api(api).delete_namespaced_pod(victim, "default")
        # The connection opened before still works during the pod's drain (2 s): asked first, so
        # that a busy machine's slow newcomers below cannot use up the drain before it is asked...
        assert kept_alive.get(f"{sandbox.service_url}/ping", timeout=5).headers["X-Pod-Name"] == victim
        # ...while from the moment it turns terminating, no new connection reaches it.
        newcomers = Counter(pod_of_new_connection(sandbox.service_url) for _ in range(60))
        assert victim not in newcomers
    slices = client.DiscoveryV1Api(api).list_namespaced_endpoint_slice(
        "default", label_selector=f"kubernetes.io/service-name={SERVICE}"
    )
    # A replacement becomes ready, and the victim leaves for good.
    wait_for(lambda: len(ready_pods(api)) == 3 and victim not in ready_pods(api))
    wait_for(
        lambda: (
            victim
            not in {p.metadata.name for p in client.CoreV1Api(api).list_namespaced_pod("default").items}
        )
    )
    assert slices.items


def test_scaling_2_3_1_shows_in_slices_endpoints_pods_and_the_proxy(three_pods):
    sandbox, api = three_pods
    apps, core, discovery = client.AppsV1Api(api), client.CoreV1Api(api), client.DiscoveryV1Api(api)

    def ready_ips_everywhere() -> tuple[set, set, set, set]:
        slices = discovery.list_namespaced_endpoint_slice(
            "default", label_selector=f"kubernetes.io/service-name={SERVICE}"
        )
        in_slices = {
            a for s in slices.items for e in s.endpoints or [] if e.conditions.ready for a in e.addresses
        }
        subsets = core.read_namespaced_endpoints(SERVICE, "default").subsets or []
        in_endpoints = {a.ip for s in subsets for a in s.addresses or []}
        pods = core.list_namespaced_pod("default", label_selector=f"app={SERVICE}").items
        in_pods = {p.status.pod_ip for p in pods if p.metadata.name in ready_pods(api)}
        answered = {pod_of_new_connection(sandbox.service_url) for _ in range(40)}
        names = {p.metadata.name for p in pods if p.status.pod_ip in in_slices}
        return in_slices, in_endpoints, in_pods, answered if answered <= names else {"unexpected"} | answered

    try:
        for replicas in (2, 3, 1):
            apps.patch_namespaced_deployment_scale(SERVICE, "default", {"spec": {"replicas": replicas}})
            wait_for(
                lambda n=replicas: (
                    len(ready_pods(api)) == n and all(len(view) == n for view in ready_ips_everywhere()[:3])
                )
            )
            in_slices, in_endpoints, in_pods, answered = ready_ips_everywhere()
            assert in_slices == in_endpoints == in_pods
            assert len(answered) == replicas, f"with {replicas} ready pods, calls reached {answered}"
    finally:
        apps.patch_namespaced_deployment_scale(SERVICE, "default", {"spec": {"replicas": 3}})
        wait_for(lambda: len(ready_pods(api)) == 3)


def test_with_no_ready_endpoint_a_connection_is_refused_at_once(three_pods):
    sandbox, api = three_pods
    apps = client.AppsV1Api(api)
    apps.patch_namespaced_deployment_scale(SERVICE, "default", {"spec": {"replicas": 0}})
    try:
        # Refused, not dropped: a dropped SYN would raise TimeoutError after the 30 s instead.
        with (
            pytest.raises(ConnectionRefusedError),
            socket.create_connection((sandbox.cluster_ip, 8081), timeout=30),
        ):
            pass
    finally:
        apps.patch_namespaced_deployment_scale(SERVICE, "default", {"spec": {"replicas": 3}})
        wait_for(lambda: len(ready_pods(api)) == 3)
    assert pod_of_new_connection(sandbox.service_url).startswith(f"{SERVICE}-")


def test_round_robin_takes_turns_like_ipvs(tmp_path):
    sandbox = start_sandbox(tmp_path, "--providers", "3", "--balancing", "round-robin")
    try:
        counts = Counter(pod_of_new_connection(sandbox.service_url) for _ in range(90))
    finally:
        sandbox.stop()
    assert sorted(counts.values()) == [30, 30, 30]


def test_client_ip_session_affinity_pins_a_client_to_one_pod(tmp_path):
    sandbox = start_sandbox(tmp_path, "--providers", "3", "--session-affinity")
    try:
        pods = {pod_of_new_connection(sandbox.service_url) for _ in range(30)}
    finally:
        sandbox.stop()
    assert len(pods) == 1


def test_proxied_connections_are_closed_when_both_sides_are_done(three_pods):
    sandbox, _ = three_pods
    before = len(os.listdir(f"/proc/{sandbox.process.pid}/fd"))
    for _ in range(300):
        pod_of_new_connection(sandbox.service_url)

    def closed_again() -> bool:  # the proxy closes its sides as its loop gets to them
        return len(os.listdir(f"/proc/{sandbox.process.pid}/fd")) - before < 20

    wait_for(closed_again, 30)  # raises "closed_again not met": the proxy leaks sockets
