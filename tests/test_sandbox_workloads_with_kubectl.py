"""Workloads applied to a running sandbox, through the real kubectl: a bare pod, a Deployment
whose deletion takes its ReplicaSets and pods (the garbage collector), and a Service applied later
that gets a ClusterIP, EndpointSlices and a proxy listening on it."""

from __future__ import annotations

import pytest
import requests

from tests.support.kubectl import kubectl_for, listed
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    cluster = start_sandbox(tmp_path_factory.mktemp("sandbox-workloads"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def kubectl(sandbox):
    return kubectl_for(sandbox)


EXTRA = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: extra, labels: {app: extra}}
spec:
  replicas: 1
  selector: {matchLabels: {app: extra}}
  template:
    metadata: {labels: {app: extra}}
    spec: {containers: [{name: web, image: k8s-combat}]}
"""


def test_a_bare_pod_runs_and_deleting_a_deployment_takes_its_replica_sets_and_pods(kubectl, sandbox):
    kubectl("run", "bare", "--image=busybox", "--labels=app=bare")
    wait_for(
        lambda: (
            kubectl("get", "pod", "bare", "-o", "jsonpath={.status.containerStatuses[0].ready}") == "true"
        ),
        60,
    )
    assert "SandboxImage" in kubectl("get", "events", "--field-selector", "involvedObject.name=bare")
    kubectl("delete", "pod", "bare")
    kubectl("apply", "-f", "-", stdin=EXTRA)
    wait_for(lambda: listed(kubectl, "pods", "-l", "app=extra"), 60)
    kubectl("delete", "deploy", "extra")
    wait_for(
        lambda: (
            not listed(kubectl, "rs", "-l", "app=extra") and not listed(kubectl, "pods", "-l", "app=extra")
        ),
        60,
    )


SECOND_SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: second}
spec:
  selector: {app: k8s-combat-service}
  ports: [{name: web, port: 9090, targetPort: http}]
"""


def test_a_service_applied_later_gets_a_cluster_ip_endpoints_and_a_listening_proxy(kubectl, sandbox):
    kubectl("apply", "-f", "-", stdin=SECOND_SERVICE)
    address = wait_for(lambda: kubectl("get", "svc", "second", "-o", "jsonpath={.spec.clusterIP}"), 30)
    assert address != sandbox.cluster_ip and address.rsplit(".", 1)[0] == sandbox.cluster_ip.rsplit(".", 1)[0]
    slices = wait_for(
        lambda: listed(kubectl, "endpointslices", "-l", "kubernetes.io/service-name=second"), 30
    )
    assert slices[0]["ports"] == [{"name": "web", "port": 8081, "protocol": "TCP"}], (
        "the named targetPort resolved"
    )
    answer = wait_for(lambda: _get(f"http://{address}:9090/ping"), 30)
    assert answer == "pong"
    kubectl("delete", "svc", "second")
    wait_for(lambda: not listed(kubectl, "endpointslices", "-l", "kubernetes.io/service-name=second"), 30)
    wait_for(lambda: _get(f"http://{address}:9090/ping") is None, 30)


def _get(url: str) -> str | None:
    try:
        return requests.get(url, timeout=2).text
    except requests.ConnectionError:
        return None
