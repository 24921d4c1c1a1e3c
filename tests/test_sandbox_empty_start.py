"""``make run SANDBOX_ARGS=--empty``: a cluster with no workloads, which ``kubectl apply``
fills as in the tutorial: the seed's files (whatever image they name) and ``apply -k
manifests/base``, after which the dashboard is where it always is."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import requests

from tests.support.programs import require
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SEED = Path(__file__).parent / "fixtures" / "seed"


@pytest.fixture
def empty(tmp_path):
    require("kubectl", "workloads are applied with the real kubectl")
    cluster = start_sandbox(tmp_path / "cluster", "--empty", dashboard=True)
    yield cluster
    cluster.stop()


def kubectl(sandbox, *args: str) -> str:
    result = subprocess.run(
        ["kubectl", *args],
        env={**os.environ, "KUBECONFIG": str(sandbox.kubeconfig)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"kubectl {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def items(sandbox, *args: str) -> list[dict]:
    return json.loads(kubectl(sandbox, "get", *args, "-o", "json"))["items"]


def ready_pods(sandbox, app: str) -> list[dict]:
    return [
        p
        for p in items(sandbox, "pods", "-l", f"app={app}")
        if not p["metadata"].get("deletionTimestamp")
        and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
    ]


def test_an_empty_start_runs_no_pods_and_no_service(empty):
    assert empty.children() == []
    assert items(empty, "pods") == []
    assert items(empty, "deployments,replicasets,services") == []
    assert "Empty" in empty.log()


def test_the_seed_s_files_run_as_the_k8s_combat_app_and_an_event_says_so(empty):
    assert "deployment.apps/k8s-combat created" in kubectl(
        empty, "apply", "-f", str(SEED / "deployment.yaml")
    )
    kubectl(empty, "apply", "-f", str(SEED / "deployment-service.yaml"))
    wait_for(lambda: ready_pods(empty, "k8s-combat") and ready_pods(empty, "k8s-combat-service"), 60)
    [service] = items(empty, "services")
    assert service["spec"]["clusterIP"] == empty.cluster_ip, "k8s-combat-service keeps --cluster-ip"
    notes = [e for e in items(empty, "events") if e["reason"] == "SandboxImage"]
    assert notes and all('"crossoverjie/k8s-combat:v1"' in e["message"] for e in notes)
    assert "k8s-combat app" in notes[0]["message"]
    # 127.0.0.1:<dashboard port> is the consumer Deployment's pod, as after a port-forward: its
    # /service calls the providers through the Service.
    wait_for(lambda: requests.get(f"{empty.dashboard_url}/service", timeout=5).text == "200 OK", 30)


def test_apply_k_manifests_base_on_an_empty_sandbox_brings_the_dashboard_up(empty):
    applied = kubectl(empty, "apply", "-k", "manifests/base")
    for line in (
        "serviceaccount/k8s-combat created",
        "deployment.apps/k8s-combat created",
        "deployment.apps/k8s-combat-service created",
        "service/k8s-combat-service created",
    ):
        assert line in applied
    kubectl(empty, "rollout", "status", "deploy/k8s-combat", "--timeout=90s")
    kubectl(empty, "rollout", "status", "deploy/k8s-combat-service", "--timeout=90s")
    assert len(ready_pods(empty, "k8s-combat-service")) == 2
    page = wait_for(lambda: requests.get(f"{empty.dashboard_url}/", timeout=5), 30)
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert not [e for e in items(empty, "events") if e["reason"] == "SandboxImage"], (
        "k8s-combat:dev is the app"
    )
    [consumer] = ready_pods(empty, "k8s-combat")
    name = consumer["metadata"]["name"]
    assert requests.get(f"{empty.dashboard_url}/ping", timeout=5).text == "pong"
    wait_for(lambda: f"{name} ping" in kubectl(empty, "logs", name), 10)  # the forward's pod answered
