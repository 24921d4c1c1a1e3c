"""The real kubectl against the sandbox: every command the tutorial and the README use."""

from __future__ import annotations

import json
import os
import subprocess
import threading

import pytest
import yaml

from tests.support.programs import require
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
SERVICE = "k8s-combat-service"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    cluster = start_sandbox(tmp_path_factory.mktemp("sandbox-kubectl"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def kubectl(sandbox):
    program = require("kubectl", "the sandbox must work with the real kubectl")
    env = {**os.environ, "KUBECONFIG": str(sandbox.kubeconfig)}

    def run(*args: str, timeout: float = 30) -> str:
        result = subprocess.run([program, *args], env=env, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"kubectl {' '.join(args)} failed:\n{result.stderr}"
        return result.stdout

    return run


def pod_names(kubectl) -> list[str]:
    return sorted(
        kubectl("get", "pods", "-l", f"app={SERVICE}", "-o", "jsonpath={.items[*].metadata.name}").split()
    )


def test_get_lists_every_kind_with_the_real_columns(kubectl):
    output = kubectl("get", "pods,deploy,svc,endpoints,endpointslices")
    assert "READY   STATUS" in output
    assert f"deployment.apps/{SERVICE}   2/2" in output
    assert f"service/{SERVICE}   ClusterIP" in output
    assert "8081/TCP" in output
    assert f"endpoints/{SERVICE}" in output
    assert f"endpointslice.discovery.k8s.io/{SERVICE}-" in output
    for name in pod_names(kubectl):
        assert f"pod/{name}   1/1     Running" in output


def test_get_wide_shows_pod_ips_and_nodes(kubectl):
    output = kubectl("get", "pods", "-o", "wide")
    assert "IP" in output.splitlines()[0] and "NODE" in output.splitlines()[0]
    assert "sandbox-node" in output


@pytest.mark.parametrize("kind", ["pods", "deploy", "svc", "endpoints", "endpointslices"])
def test_get_json_and_yaml_return_the_objects(kubectl, kind):
    as_json = json.loads(kubectl("get", kind, "-o", "json"))
    as_yaml = yaml.safe_load(kubectl("get", kind, "-o", "yaml"))
    assert as_json["kind"] == "List" and as_json["items"]
    assert [item["metadata"]["name"] for item in as_json["items"]] == [
        item["metadata"]["name"] for item in as_yaml["items"]
    ]


def test_describe_service_shows_the_endpoints_line_as_in_the_seed(kubectl):
    output = kubectl("describe", "svc", SERVICE)
    endpoints_line = next(line for line in output.splitlines() if line.startswith("Endpoints:"))
    addresses = endpoints_line.split(None, 1)[1].split(",")
    assert len(addresses) == 2
    assert all(address.endswith(":8081") for address in addresses)
    assert "Type:                     ClusterIP" in output


def test_scale_changes_what_the_api_reports(kubectl):
    assert (
        kubectl("scale", "deployment", SERVICE, "--replicas=3").strip() == f"deployment.apps/{SERVICE} scaled"
    )
    try:
        wait_for(lambda: len(pod_names(kubectl)) == 3)
        wait_for(lambda: kubectl("get", "deploy", SERVICE, "-o", "jsonpath={.status.readyReplicas}") == "3")
        endpoints = kubectl(
            "get", "endpoints", SERVICE, "-o", "jsonpath={.subsets[0].addresses[*].ip}"
        ).split()
        assert len(endpoints) == 3
    finally:
        kubectl("scale", "deployment", SERVICE, "--replicas=2")
    wait_for(lambda: len(pod_names(kubectl)) == 2)


def test_delete_pod_replaces_it_and_get_w_streams_the_changes(kubectl, sandbox):
    program = require("kubectl", "get -w")
    victim = pod_names(kubectl)[0]
    env = {**os.environ, "KUBECONFIG": str(sandbox.kubeconfig)}
    lines: list[str] = []
    with subprocess.Popen(
        [program, "get", "pods", "-w"], env=env, stdout=subprocess.PIPE, text=True
    ) as watcher:

        def read() -> None:
            for line in watcher.stdout:
                lines.append(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            # Waits, not sleeps, so that a busy machine only makes them longer: kubectl watches from
            # the list it printed first, so once the victim is listed no later change is missed.
            wait_for(lambda: any(victim in line for line in lines), 60)
            assert kubectl("delete", "pod", victim).strip() == f'pod "{victim}" deleted'
            assert victim not in pod_names(kubectl), "kubectl delete waits until the pod is gone"
            wait_for(lambda: len(pod_names(kubectl)) == 2, 60)
            replacement = next(name for name in pod_names(kubectl) if name != victim)

            def streamed_terminating_and_replacement() -> bool:
                terminating = any(victim in line and "Terminating" in line for line in lines)
                return terminating and any(replacement in line for line in lines)

            wait_for(streamed_terminating_and_replacement, 60)
        finally:
            watcher.terminate()
            reader.join(10)
