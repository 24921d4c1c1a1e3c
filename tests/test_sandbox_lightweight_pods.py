"""Lightweight pods: a Deployment scaled to 300 runs as pods in one host process, each answering
as itself, probed, deleted with a drain and replaced as process pods are (``sandbox.hosted_pods``).

The figures (the host's memory per pod, the time for the pods to be ready) are printed, not
asserted: run with ``-s`` to read them."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from combat_app import greeting
from sandbox import pod_runtimes
from sandbox.addresses import AddressPool
from tests.support.kubectl import kubectl_for, listed
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
SERVICE = "k8s-combat-service"
PODS = 300


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _ready(pod: dict) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _running_pods(kubectl) -> list[dict]:
    pods = listed(kubectl, "pods", "-l", f"app={SERVICE}")
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def _all_ready(kubectl, count: int):
    def all_ready() -> list[dict]:
        pods = _running_pods(kubectl)
        return pods if len(pods) == count and all(_ready(p) for p in pods) else []

    return all_ready


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    # A drain long enough to see a deleted pod answer 503 before its listener closes, after a
    # few kubectl calls over 300 pods on a busy machine.
    sandbox = start_sandbox(tmp_path_factory.mktemp("lightweight"), "--drain-seconds", "8")
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture(scope="module")
def kubectl(sandbox):
    return kubectl_for(sandbox)


@pytest.fixture(scope="module")
def scaled(sandbox, kubectl) -> list[dict]:
    before = set(sandbox.children())
    started = time.monotonic()
    kubectl("scale", f"deploy/{SERVICE}", f"--replicas={PODS}")
    pods = wait_for(_all_ready(kubectl, PODS), 300, every=1)
    hosts = [pid for pid in sandbox.children() if pid not in before]
    print(f"\n{PODS} pods ready in {time.monotonic() - started:.1f} s")
    for pid in hosts:
        print(f"host process {pid}: RSS {_rss_kib(pid) / 1024:.1f} MiB for {PODS - 2} lightweight pods")
    return pods


def test_the_pods_above_the_threshold_share_one_host_process(sandbox, scaled):
    # Two process pods from before the scale, and one host for the 298 new ones.
    assert len(sandbox.children()) == 3


def test_every_lightweight_pod_answers_ping_with_its_own_identity(scaled):
    def answer(pod: dict) -> tuple[dict, requests.Response]:
        return pod, requests.get(f"http://{pod['status']['podIP']}:8081/ping", timeout=10)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(answer, scaled))
    assert len({pod["status"]["podIP"] for pod in scaled}) == PODS
    for pod, response in answers:
        assert response.status_code == 200 and response.text == "pong"
        assert response.headers["x-pod-name"] == pod["metadata"]["name"]
        assert response.headers["x-pod-ip"] == pod["status"]["podIP"]
        assert response.headers["x-node-name"] == pod["spec"]["nodeName"]


def test_say_hello_names_the_lightweight_pod_that_answered(scaled):
    for pod in scaled[-3:]:
        greeter = greeting.Greeter(f"{pod['status']['podIP']}:50051")
        try:
            answer = greeter.say_hello("test", timeout=10)
        finally:
            greeter.close()
        assert answer.outcome == "ok", answer.error
        assert answer.pod == pod["metadata"]["name"]


def test_kubectl_logs_of_a_lightweight_pod_shows_its_own_ping_line(scaled, kubectl):
    pod, other = scaled[-1], scaled[-2]
    requests.get(f"http://{pod['status']['podIP']}:8081/ping", timeout=10)

    def logged() -> bool:
        return f"{pod['metadata']['name']} ping" in kubectl("logs", pod["metadata"]["name"])

    wait_for(logged, 10)
    assert f"{other['metadata']['name']} ping" not in kubectl("logs", pod["metadata"]["name"])


def test_a_failing_readiness_probe_shows_in_the_pods_ready_condition(sandbox, scaled, kubectl):
    name = scaled[-4]["metadata"]["name"]

    def ready_is(wanted: bool):
        def check() -> bool:
            return _ready(json.loads(kubectl("get", "pod", name, "-o", "json"))) is wanted

        return check

    sandbox.fault("fail-readiness", pod=name)
    wait_for(ready_is(False), 30)
    sandbox.fault("fail-readiness", pod=name, on="false")
    wait_for(ready_is(True), 30)


def test_a_deleted_lightweight_pod_terminates_drains_and_is_replaced(scaled, kubectl):
    victim = scaled[-5]
    name, ip = victim["metadata"]["name"], victim["status"]["podIP"]
    kubectl("delete", "pod", name, "--wait=false")

    def terminating_endpoint() -> bool:
        for piece in listed(kubectl, "endpointslices", "-l", f"kubernetes.io/service-name={SERVICE}"):
            for endpoint in piece.get("endpoints") or []:
                if ip in endpoint["addresses"] and endpoint["conditions"].get("terminating"):
                    return not endpoint["conditions"].get("ready")
        return False

    wait_for(terminating_endpoint, 10)
    # Draining (8 s): it still serves, and fails readiness.
    readyz = requests.get(f"http://{ip}:8081/readyz", timeout=5)
    assert (readyz.status_code, readyz.text) == (503, "draining")
    assert readyz.headers["x-pod-name"] == name

    def gone() -> bool:
        return not any(p["metadata"]["name"] == name for p in listed(kubectl, "pods"))

    wait_for(gone, 60)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{ip}:8081/ping", timeout=5)
    pods = wait_for(_all_ready(kubectl, PODS), 120, every=1)
    assert name not in {p["metadata"]["name"] for p in pods}


# --- the pure parts: which runtime, how far a scale may go, where the addresses come from -------


def _deployment(replicas: int, **annotations: str) -> dict:
    return {"metadata": {"name": "web", "annotations": annotations}, "spec": {"replicas": replicas}}


def test_the_runtime_follows_the_annotation_then_the_replica_count():
    chosen = pod_runtimes.chosen
    assert chosen(_deployment(20), lightweight_above=20) == pod_runtimes.PROCESS
    assert chosen(_deployment(21), lightweight_above=20) == pod_runtimes.LIGHTWEIGHT
    assert chosen(_deployment(2, **{pod_runtimes.ANNOTATION: "lightweight"}), lightweight_above=20) == (
        pod_runtimes.LIGHTWEIGHT
    )
    assert chosen(_deployment(500, **{pod_runtimes.ANNOTATION: "process"}), lightweight_above=20) == (
        pod_runtimes.PROCESS
    )
    assert chosen(_deployment(2, **{pod_runtimes.ANNOTATION: "wasm"}), lightweight_above=1) == (
        pod_runtimes.LIGHTWEIGHT
    ), "an unknown value counts as none"
    assert chosen(None, lightweight_above=0) == pod_runtimes.PROCESS, "a bare pod is a process"


def test_a_scale_is_bounded_by_the_runtime_it_would_give():
    def limit(replicas: object, **annotations: str) -> int:
        deployment = _deployment(2, **annotations)
        return pod_runtimes.replica_limit(deployment, replicas, max_replicas=10, lightweight_above=20)

    assert limit(15) == 10
    assert limit(1000) == pod_runtimes.LIGHTWEIGHT_MAX_REPLICAS
    assert limit(1000, **{pod_runtimes.ANNOTATION: "process"}) == 10
    assert limit("many") == 10
    scaled_up = _deployment(300)
    assert pod_runtimes.replica_limit(scaled_up, 20, max_replicas=10, lightweight_above=20) == 300, (
        "scaling 300 lightweight pods down to 20 asks for no room"
    )


def test_the_pod_network_continues_past_254_and_skips_the_blocks_the_sandbox_binds():
    pool = AddressPool("127.231.1", avoid=("127.231.10.1", "127.231.65.1"))
    if not pool.own_addresses:
        pytest.skip("this system cannot bind extra loopback addresses")
    taken = [pool.take() for _ in range(1000)]
    hosts = [host for host, _ in taken]
    assert hosts[0] == "127.231.1.2" and hosts[252] == "127.231.1.254" and hosts[253] == "127.231.64.2"
    assert hosts[506] == "127.231.66.2", "127.231.65.x holds a ClusterIP: pods skip its /24"
    assert len(set(hosts)) == len(hosts)
    assert not any(host.startswith(("127.231.10.", "127.231.65.")) for host in hosts)
    assert {port for _, port in taken} == {8081}
    pool.give_back(*taken[7])
    assert pool.take() == taken[7], "the lowest address given back is taken first"


def test_with_the_sandboxs_defaults_every_replica_count_up_to_5000_is_served():
    """A user who scales to 15 gets 15 pods, as in a cluster: past the process pods' bound the
    Deployment's pods are lightweight, with no count in between that is refused."""
    from sandbox.running import Options

    defaults = Options(state_dir=Path("unused"))
    assert defaults.lightweight_above == defaults.max_replicas
    for replicas in (1, defaults.max_replicas, defaults.max_replicas + 1, 15, 21, 1000, 5000):
        bound = pod_runtimes.replica_limit(
            _deployment(2),
            replicas,
            max_replicas=defaults.max_replicas,
            lightweight_above=defaults.lightweight_above,
        )
        assert replicas <= bound, replicas
