"""A Service selects the pods of its own namespace only: the sandbox against the real controllers.

The same Service (manifests/base/deployment-service.yaml's) in two namespaces, each with pods
that carry the same labels: 2 in ``team-a``, 3 in ``team-b``. On a real kube-controller-manager
(../shared/kube, ``WITH_CONTROLLERS=1``; the test plays the kubelet and writes the pods' status)
and in the sandbox (the Deployment runs its pods), each namespace's EndpointSlices and Endpoints
must come out alike: in the Service's namespace, labelled for it, pointing at that namespace's
pods only.
"""

from __future__ import annotations

import json

import pytest
import yaml
from kubernetes import client, config

from tests.support.control_plane import start_control_plane
from tests.support.kubectl import kubectl_for, listed
from tests.support.processes import ROOT
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

PODS = {"team-a": 2, "team-b": 3}
DOCUMENTS = list(yaml.safe_load_all((ROOT / "manifests/base/deployment-service.yaml").read_text()))
DEPLOYMENT = next(d for d in DOCUMENTS if d["kind"] == "Deployment")
SERVICE = next(d for d in DOCUMENTS if d["kind"] == "Service")
NAME = SERVICE["metadata"]["name"]


def shape(slices: list[dict], endpoints: dict, namespace: str) -> dict:
    """What must agree: where each object lives, whom it is for, and whose pods it lists."""
    refs = [e.get("targetRef") or {} for s in slices for e in s.get("endpoints") or []]
    addresses = [a for subset in endpoints.get("subsets") or [] for a in subset.get("addresses") or []]
    return {
        "slices in": sorted({s["metadata"]["namespace"] for s in slices}),
        "slice labels": sorted({s["metadata"]["labels"].get("kubernetes.io/service-name") for s in slices}),
        "slice owner": sorted({r["name"] for s in slices for r in s["metadata"].get("ownerReferences", [])}),
        "endpoints": len(refs),
        "pods of": sorted({r.get("namespace") for r in refs}),
        "Endpoints in": endpoints["metadata"]["namespace"],
        "Endpoints addresses": len(addresses),
        "Endpoints pods of": sorted({(a.get("targetRef") or {}).get("namespace") for a in addresses}),
        "asked": namespace,
    }


def _on_real_controllers(directory) -> dict[str, dict]:
    plane = start_control_plane(directory, controllers=True)
    api_client = config.new_client_from_config(config_file=str(plane.kubeconfig))
    try:
        core, discovery = client.CoreV1Api(api_client), client.DiscoveryV1Api(api_client)
        template = DEPLOYMENT["spec"]["template"]
        core.create_node({"metadata": {"name": "node-a"}})  # the slice controller reads the pods' node
        for n, (namespace, count) in enumerate(PODS.items()):
            core.create_namespace({"metadata": {"name": namespace}})
            core.create_namespaced_service(namespace, SERVICE)
            for index in range(count):
                name = f"{NAME}-{index}"
                spec = {**template["spec"], "nodeName": "node-a"}
                core.create_namespaced_pod(
                    namespace, {"metadata": {"name": name, **template["metadata"]}, "spec": spec}
                )
                ip = f"10.2.{n}.{index + 1}"
                core.patch_namespaced_pod_status(
                    name,
                    namespace,
                    {
                        "status": {
                            "phase": "Running",
                            "podIP": ip,
                            "podIPs": [{"ip": ip}],
                            "conditions": [{"type": "Ready", "status": "True"}],
                        }
                    },
                )

        def read(namespace: str) -> dict | None:
            listed = discovery.list_namespaced_endpoint_slice(
                namespace, label_selector=f"kubernetes.io/service-name={NAME}"
            )
            slices = [api_client.sanitize_for_serialization(s) for s in listed.items]
            endpoints = api_client.sanitize_for_serialization(core.read_namespaced_endpoints(NAME, namespace))
            found = shape(slices, endpoints, namespace)
            done = found["endpoints"] == PODS[namespace] and found["Endpoints addresses"] == PODS[namespace]
            return found if done else None

        return {namespace: wait_for(lambda namespace=namespace: read(namespace), 60) for namespace in PODS}
    finally:
        api_client.close()
        plane.stop()


def _in_the_sandbox(directory) -> dict[str, dict]:
    sandbox = start_sandbox(directory, "--empty")
    try:
        kubectl = kubectl_for(sandbox)
        for namespace, count in PODS.items():
            kubectl(
                "apply",
                "-f",
                "-",
                stdin=json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
            )
            kubectl("apply", "-n", namespace, "-f", "manifests/base/deployment-service.yaml")
            kubectl("-n", namespace, "scale", "deployment", NAME, f"--replicas={count}")

        def read(namespace: str) -> dict | None:
            slices = listed(
                kubectl, "-n", namespace, "endpointslices", "-l", f"kubernetes.io/service-name={NAME}"
            )
            endpoints = json.loads(kubectl("-n", namespace, "get", "endpoints", NAME, "-o", "json"))
            found = shape(slices, endpoints, namespace)
            done = found["endpoints"] == PODS[namespace] and found["Endpoints addresses"] == PODS[namespace]
            return found if done else None

        return {
            namespace: wait_for(lambda namespace=namespace: read(namespace), 90, every=0.5)
            for namespace in PODS
        }
    finally:
        sandbox.stop()


def test_each_namespaces_service_lists_its_own_pods_as_the_real_controllers_do(tmp_path):
    real = _on_real_controllers(tmp_path / "real")
    sandbox = _in_the_sandbox(tmp_path / "sandbox")
    assert real["team-b"]["pods of"] == ["team-b"] and real["team-b"]["endpoints"] == 3  # the spec, as read
    assert sandbox == real
