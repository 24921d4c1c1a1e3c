"""The tutorial, command for command, on an empty sandbox (``make run SANDBOX_ARGS=--empty``).

The seed article's steps, as its readers type them: apply the two files; `get pod`; change
`replicas` to 2 and apply again (`configured` / `unchanged`); `describe svc` shows two Endpoints;
`exec` into the consumer and `curl` its `/service` a few times; the providers' `logs` show the
`<pod> ping` lines of those calls, spread over both pods.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.programs import require
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

SEED = Path(__file__).parent / "fixtures" / "seed"
CALLS = 20  # both pods answer at least once unless a fair coin falls the same way 20 times (2e-6)


@pytest.fixture
def empty_sandbox(tmp_path):
    require("kubectl", "the tutorial is followed with kubectl")
    # The tutorial curls 127.0.0.1:8081 inside the consumer pod; sandbox pods share the machine's
    # loopback, so that address is the consumer's forward, on 8081 as with `make run`.
    sandbox = start_sandbox(tmp_path / "cluster", "--empty", "--dashboard-port", "8081", dashboard=True)
    yield sandbox
    sandbox.stop()


def _kubectl(sandbox, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [shutil.which("kubectl") or "kubectl", *args],
        env={**os.environ, "KUBECONFIG": str(sandbox.kubeconfig)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
    return result.stdout


def _pods(sandbox) -> dict[str, list[dict]]:
    listed = json.loads(_kubectl(sandbox, "get", "pods", "-o", "json"))["items"]
    by_app: dict[str, list[dict]] = {}
    for pod in listed:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        by_app.setdefault(pod["metadata"]["labels"]["app"], []).append(pod)
    return by_app


def _ready(pod: dict) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _running(sandbox, app: str, count: int) -> list[str]:
    def ready() -> list[str] | None:
        pods = _pods(sandbox).get(app, [])
        names = [p["metadata"]["name"] for p in pods if _ready(p)]
        return names if len(pods) == count and len(names) == count else None

    return wait_for(ready, 60, every=0.2)


def test_the_tutorial_works_as_written_on_an_empty_sandbox(empty_sandbox, tmp_path):
    sandbox = empty_sandbox
    assert _pods(sandbox) == {}, "an empty start runs no workloads"
    deployment, providers = tmp_path / "deployment.yaml", tmp_path / "deployment-service.yaml"
    shutil.copy(SEED / "deployment.yaml", deployment)
    shutil.copy(SEED / "deployment-service.yaml", providers)

    # k apply -f deployment/deployment.yaml; k apply -f deployment/deployment-service.yaml; k get pod
    assert "deployment.apps/k8s-combat created" in _kubectl(sandbox, "apply", "-f", str(deployment))
    applied = _kubectl(sandbox, "apply", "-f", str(providers))
    assert "deployment.apps/k8s-combat-service created" in applied
    assert "service/k8s-combat-service created" in applied
    (consumer,) = _running(sandbox, "k8s-combat", 1)
    _running(sandbox, "k8s-combat-service", 1)
    table = _kubectl(sandbox, "get", "pod")
    assert re.search(rf"^{consumer}\s+1/1\s+Running\s+0\s", table, re.MULTILINE), table

    # replicas: 2, apply again: configured / unchanged.
    providers.write_text(providers.read_text().replace("replicas: 1", "replicas: 2"))
    applied = _kubectl(sandbox, "apply", "-f", str(providers))
    assert "deployment.apps/k8s-combat-service configured" in applied
    assert "service/k8s-combat-service unchanged" in applied
    names = _running(sandbox, "k8s-combat-service", 2)

    # k describe svc k8s-combat-service | grep Endpoints: the two pods' IPs.
    described = _kubectl(sandbox, "describe", "svc", "k8s-combat-service")
    (endpoints,) = re.findall(r"^Endpoints:\s+(\S+)$", described, re.MULTILINE)
    ips = {p["status"]["podIP"] for p in _pods(sandbox)["k8s-combat-service"]}
    assert set(endpoints.split(",")) == {f"{ip}:8081" for ip in ips}

    # k exec -it <consumer> -- bash; curl http://127.0.0.1:8081/service, several times.
    script = "".join("curl -s http://127.0.0.1:8081/service; echo\n" for _ in range(CALLS)) + "exit\n"
    answers = _kubectl(sandbox, "exec", "-i", consumer, "--", "bash", stdin=script).split()
    assert answers == ["200", "OK"] * CALLS

    # The providers' logs: one `<pod> ping` line per call, spread over both pods.
    pings = {name: _kubectl(sandbox, "logs", name).count(f"{name} ping") for name in names}
    assert sum(pings.values()) == CALLS, pings
    assert all(count > 0 for count in pings.values()), f"new connections reach both pods: {pings}"

    # A kubelet gives each pod the variables of the Services that exist when it starts: a provider
    # made after the Service has them (the applied file's pods may have started before it did).
    cluster_ip = json.loads(_kubectl(sandbox, "get", "svc", "k8s-combat-service", "-o", "json"))["spec"][
        "clusterIP"
    ]
    _kubectl(sandbox, "delete", "pod", names[0], "--wait=false")
    replacement = next(n for n in _running(sandbox, "k8s-combat-service", 2) if n not in names)
    variables = dict(
        line.split("=", 1) for line in _kubectl(sandbox, "exec", replacement, "--", "env").splitlines()
    )
    assert variables["K8S_COMBAT_SERVICE_SERVICE_HOST"] == cluster_ip
    assert variables["K8S_COMBAT_SERVICE_SERVICE_PORT"] == "8081"
    assert variables["K8S_COMBAT_SERVICE_PORT_8081_TCP"] == f"tcp://{cluster_ip}:8081"
    assert variables["HOSTNAME"] == replacement
