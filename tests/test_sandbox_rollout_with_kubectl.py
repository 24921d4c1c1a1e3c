"""The sandbox's Deployment controller through the real kubectl: ``rollout restart``, ``status``,
``history`` and ``undo``, then the events a cluster records after those rollouts, a scale, a
delete and a failed readiness probe (after the rollouts, so that the deployment controller has
said enough about one Deployment for upstream's aggregation of similar events to apply).

The expected sequences and wordings are those a real kube-controller-manager v1.29 produced for
the same commands on manifests/base (../shared/kube, WITH_CONTROLLERS=1)."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.support.kubectl import kubectl_for, listed
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
SERVICE = "k8s-combat-service"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    cluster = start_sandbox(tmp_path_factory.mktemp("sandbox-rollout"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def kubectl(sandbox):
    return kubectl_for(sandbox)


def provider_replica_sets(kubectl) -> dict[str, dict]:
    return {rs["metadata"]["name"]: rs for rs in listed(kubectl, "rs", "-l", f"app={SERVICE}")}


def scaling_messages(kubectl, since: set[str]) -> list[str]:
    events = listed(
        kubectl, "events", "--field-selector", f"involvedObject.name={SERVICE},reason=ScalingReplicaSet"
    )
    fresh = [e for e in events if e["metadata"]["name"] not in since]
    fresh.sort(key=lambda e: (e["lastTimestamp"], e["metadata"]["name"]))
    return [e["message"] for e in fresh]


def event_names(kubectl) -> set[str]:
    return {e["metadata"]["name"] for e in listed(kubectl, "events")}


class ReadyWatch:
    """Polls the API for the providers' pods: the fewest ready, not terminating, ever seen."""

    def __init__(self, api_url: str) -> None:
        self.api_url, self.lowest, self.most = api_url, 99, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pods = requests.get(
                f"{self.api_url}/api/v1/namespaces/default/pods",
                params={"labelSelector": f"app={SERVICE}"},
                timeout=5,
            ).json()["items"]
            live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
            ready = sum(
                any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
                for p in live
            )
            self.lowest, self.most = min(self.lowest, ready), max(self.most, len(pods))
            time.sleep(0.02)

    def __enter__(self) -> ReadyWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)


def test_rollout_restart_replaces_the_pods_one_by_one_as_they_become_ready(kubectl, sandbox):
    [old] = provider_replica_sets(kubectl)
    seen = event_names(kubectl)
    with ReadyWatch(sandbox.api_url) as watch:
        assert (
            kubectl("rollout", "restart", f"deploy/{SERVICE}").strip()
            == f"deployment.apps/{SERVICE} restarted"
        )
        status = kubectl("rollout", "status", f"deploy/{SERVICE}", "--timeout=90s", timeout=120)
    assert status.strip().endswith(f'deployment "{SERVICE}" successfully rolled out')
    replica_sets = provider_replica_sets(kubectl)
    [new] = [name for name in replica_sets if name != old]
    assert replica_sets[new]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert replica_sets[old]["spec"]["replicas"] == 0
    assert watch.lowest >= 2, "maxUnavailable 0: two ready providers all along"
    assert watch.most <= 4, "maxSurge 1: at most one pod more (and the one draining)"
    assert scaling_messages(kubectl, seen) == [
        f"Scaled up replica set {new} to 1",
        f"Scaled down replica set {old} to 1 from 2",
        f"Scaled up replica set {new} to 2 from 1",
        f"Scaled down replica set {old} to 0 from 1",
    ]
    history = kubectl("rollout", "history", f"deploy/{SERVICE}").split()
    assert history[history.index("CHANGE-CAUSE") + 1 :] == ["1", "<none>", "2", "<none>"]
    pods = listed(kubectl, "pods", "-l", f"app={SERVICE}")
    assert all(
        p["metadata"]["name"].startswith(f"{new}-")
        for p in pods
        if not p["metadata"].get("deletionTimestamp")
    )


def test_rollout_undo_brings_the_previous_replica_set_back_as_the_next_revision(kubectl):
    if len(provider_replica_sets(kubectl)) < 2:
        kubectl("rollout", "restart", f"deploy/{SERVICE}")
        kubectl("rollout", "status", f"deploy/{SERVICE}", "--timeout=90s", timeout=120)
    current = kubectl(
        "get",
        "deploy",
        SERVICE,
        "-o",
        "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}",
    )
    before = provider_replica_sets(kubectl)
    previous = max(
        (
            rs
            for rs in before.values()
            if rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] != current
        ),
        key=lambda rs: int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]),
    )
    assert "rolled back" in kubectl("rollout", "undo", f"deploy/{SERVICE}")
    kubectl("rollout", "status", f"deploy/{SERVICE}", "--timeout=90s", timeout=120)
    back = provider_replica_sets(kubectl)[previous["metadata"]["name"]]
    annotations = back["metadata"]["annotations"]
    assert annotations["deployment.kubernetes.io/revision"] == str(int(current) + 1)
    assert (
        annotations["deployment.kubernetes.io/revision-history"]
        == previous["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
    )
    assert back["spec"]["replicas"] == 2 and back["status"].get("readyReplicas") == 2
    assert len(provider_replica_sets(kubectl)) == len(before), "no new ReplicaSet: the old one is reused"


def test_get_events_after_a_scale_a_delete_and_a_failed_readiness_probe_lists_what_a_cluster_records(
    kubectl, sandbox
):
    kubectl("rollout", "status", f"deploy/{SERVICE}", "--timeout=90s", timeout=120)
    kubectl("scale", "deploy", SERVICE, "--replicas=3")
    wait_for(lambda: kubectl("get", "deploy", SERVICE, "-o", "jsonpath={.status.readyReplicas}") == "3", 60)
    kubectl("scale", "deploy", SERVICE, "--replicas=2")
    kubectl("rollout", "status", f"deploy/{SERVICE}", "--timeout=90s", timeout=120)
    wait_for(lambda: len([p for p in listed(kubectl, "pods", "-l", f"app={SERVICE}")]) == 2, 60)
    victim, sick = sorted(p["metadata"]["name"] for p in listed(kubectl, "pods", "-l", f"app={SERVICE}"))
    kubectl("delete", "pod", victim)
    sandbox.fault("fail-readiness", pod=sick)
    try:
        wait_for(lambda: "Unhealthy" in kubectl("get", "events"), 30)
        table = kubectl("get", "events")
        assert table.splitlines()[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
        events = listed(kubectl, "events")
        reasons = {e["reason"] for e in events}
        assert {
            "ScalingReplicaSet",
            "SuccessfulCreate",
            "SuccessfulDelete",
            "Scheduled",
            "Pulled",
            "Created",
            "Started",
            "Killing",
            "Unhealthy",
        } <= reasons
        by = {(e["reason"], e["involvedObject"]["name"]): e for e in events}
        unhealthy = by[("Unhealthy", sick)]
        assert unhealthy["type"] == "Warning"
        assert unhealthy["message"] == "Readiness probe failed: HTTP probe failed with statuscode: 503"
        assert unhealthy["source"] == {"component": "kubelet", "host": "sandbox-node"}
        assert unhealthy["involvedObject"]["fieldPath"] == "spec.containers{k8s-combat}"
        killing = by[("Killing", victim)]
        assert killing["message"] == "Stopping container k8s-combat"
        # Past 9 messages of the deployment controller about one Deployment, upstream's aggregation
        # gives one "(combined from similar events): <latest>" event, as a real cluster does.
        scaled = [e for e in events if e["reason"] == "ScalingReplicaSet"]
        latest = max(scaled, key=lambda e: (e["lastTimestamp"], e.get("count", 1)))
        assert latest["message"].endswith("to 2 from 3")
        assert latest["source"] == {"component": "deployment-controller"}
        assert latest["involvedObject"]["kind"] == "Deployment"
        deleted = [e for e in events if e["reason"] == "SuccessfulDelete"]
        assert (
            deleted[0]["message"].startswith("Deleted pod: ")
            and deleted[0]["reportingComponent"] == "replicaset-controller"
        )
        assert all(
            e["count"] >= 1 and e["firstTimestamp"] <= e["lastTimestamp"]
            for e in events
            if e["reason"] != "Scheduled"
        )
    finally:
        sandbox.fault("fail-readiness", pod=sick, on="false")
