"""The events of a pod and of a Deployment through the real kubectl: ``describe``'s Events,
``kubectl events --for``, ``get events -w``, and a crashing container's back-off, worded as a
real kubelet and kube-controller-manager v1.29 word them."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest

from tests.support.kubectl import kubectl_for, listed
from tests.support.programs import require
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
SERVICE = "k8s-combat-service"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    cluster = start_sandbox(tmp_path_factory.mktemp("sandbox-events"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def kubectl(sandbox):
    return kubectl_for(sandbox)


def test_describe_pod_shows_the_pod_s_events_from_the_scheduler_and_the_kubelet(kubectl):
    name = listed(kubectl, "pods", "-l", f"app={SERVICE}")[0]["metadata"]["name"]
    output = kubectl("describe", "pod", name)
    events = output.split("\nEvents:\n", 1)[1]
    rows = [line.split(None, 4) for line in events.splitlines()[2:]]
    assert rows[0][:2] == ["Normal", "Scheduled"] and rows[0][3] == "default-scheduler"
    assert f"Successfully assigned default/{name} to sandbox-node" in events
    for line in ("Pulled", "Created", "Started"):
        assert line in events
    assert "kubelet" in events and "Created container k8s-combat" in events


def test_describe_deployment_and_kubectl_events_show_the_deployment_controller_s_events(kubectl):
    described = kubectl("describe", "deploy", SERVICE).split("\nEvents:\n", 1)[1]
    assert "ScalingReplicaSet" in described and "deployment-controller" in described
    assert "NewReplicaSet:" in kubectl("describe", "deploy", SERVICE)
    listed_for = kubectl("events", "--for", f"deploy/{SERVICE}")
    assert "ScalingReplicaSet" in listed_for and "Scaled up replica set" in listed_for
    assert "Started" not in listed_for, "only the Deployment's own events"


def test_get_events_w_streams_the_events_of_a_new_pod(kubectl, sandbox):
    program = require("kubectl", "get events -w")
    env = {**os.environ, "KUBECONFIG": str(sandbox.kubeconfig)}
    lines: list[str] = []
    with subprocess.Popen(
        [program, "get", "events", "-w", "--field-selector", "reason=Killing"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    ) as watcher:
        reader = threading.Thread(target=lambda: lines.extend(watcher.stdout), daemon=True)
        reader.start()
        try:
            time.sleep(1)  # the watch is open once the list is printed; this only lets it start
            victim = listed(kubectl, "pods", "-l", f"app={SERVICE}")[0]["metadata"]["name"]
            kubectl("delete", "pod", victim)
            wait_for(lambda: any(victim in line and "Killing" in line for line in list(lines)), 30)
        finally:
            watcher.terminate()
            reader.join(10)


def test_a_container_that_keeps_crashing_gets_backoff_events_as_the_kubelet_words_them(kubectl):
    kubectl("run", "crash", "--image=k8s-combat", "--env=COMBAT_CALL_TIMEOUT_SECONDS=soon")
    try:
        uid = kubectl("get", "pod", "crash", "-o", "jsonpath={.metadata.uid}")

        def backoff() -> list[dict]:
            return [
                e
                for e in listed(
                    kubectl, "events", "--field-selector", "involvedObject.name=crash,reason=BackOff"
                )
            ]

        [event] = wait_for(backoff, 60)
        assert event["type"] == "Warning"
        assert event["message"] == f"Back-off restarting failed container crash in pod crash_default({uid})"
        restarts = kubectl(
            "get", "pod", "crash", "-o", "jsonpath={.status.containerStatuses[0].restartCount}"
        )
        assert int(restarts) >= 1
    finally:
        kubectl("delete", "pod", "crash", "--grace-period=0", "--force")
