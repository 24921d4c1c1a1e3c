"""The sandbox's API server, through the real `kubernetes` client: lists, watches, errors."""

from __future__ import annotations

import time

import pytest
import requests
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from tests.support.sandbox import start_sandbox

pytestmark = pytest.mark.slow
SERVICE = "k8s-combat-service"
SLICE_LABEL = f"kubernetes.io/service-name={SERVICE}"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    cluster = start_sandbox(tmp_path_factory.mktemp("sandbox-api"), "--bookmark-seconds", "0.5")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def api(sandbox):
    return config.new_client_from_config(str(sandbox.kubeconfig))


def ready_addresses(slices) -> set[str]:
    return {
        address
        for endpoint_slice in slices.items
        for endpoint in endpoint_slice.endpoints or []
        if endpoint.conditions.ready
        for address in endpoint.addresses
    }


def test_the_client_lists_endpointslices_endpoints_and_pods_that_agree(api):
    discovery, core = client.DiscoveryV1Api(api), client.CoreV1Api(api)
    slices = discovery.list_namespaced_endpoint_slice("default", label_selector=SLICE_LABEL)
    pods = core.list_namespaced_pod("default", label_selector=f"app={SERVICE}")
    endpoints = core.read_namespaced_endpoints(SERVICE, "default")
    pod_ips = {pod.status.pod_ip for pod in pods.items}
    assert len(pods.items) == 2
    assert ready_addresses(slices) == pod_ips
    assert {address.ip for address in endpoints.subsets[0].addresses} == pod_ips
    assert endpoints.subsets[0].ports[0].port == 8081
    for endpoint_slice in slices.items:
        assert endpoint_slice.address_type == "IPv4"
        for endpoint in endpoint_slice.endpoints:
            assert endpoint.target_ref.kind == "Pod"
            assert endpoint.target_ref.name.startswith(f"{SERVICE}-")
            assert endpoint.node_name == "sandbox-node"


def test_pods_look_like_pods_of_the_deployment(api):
    pods = client.CoreV1Api(api).list_namespaced_pod("default", label_selector=f"app={SERVICE}").items
    for pod in pods:
        hash_label = pod.metadata.labels["pod-template-hash"]
        assert pod.metadata.name.startswith(f"{SERVICE}-{hash_label}-")
        assert len(pod.metadata.name.rsplit("-", 1)[1]) == 5
        assert pod.status.phase == "Running"
        assert pod.status.pod_ip.endswith(tuple(f".{n}" for n in range(2, 255)))
        assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "True"


def test_a_field_selector_finds_one_pod_by_name(api):
    core = client.CoreV1Api(api)
    name = core.list_namespaced_pod("default").items[0].metadata.name
    found = core.list_namespaced_pod("default", field_selector=f"metadata.name={name}").items
    assert [pod.metadata.name for pod in found] == [name]
    assert core.list_namespaced_pod("default", field_selector="metadata.name=nope").items == []


def test_a_watch_sees_a_scale_up_as_it_happens(api):
    discovery, apps = client.DiscoveryV1Api(api), client.AppsV1Api(api)
    listed = discovery.list_namespaced_endpoint_slice("default", label_selector=SLICE_LABEL)
    before = ready_addresses(listed)
    apps.patch_namespaced_deployment_scale(SERVICE, "default", {"spec": {"replicas": 3}})
    seen: set[str] = set()
    try:
        for event in watch.Watch().stream(
            discovery.list_namespaced_endpoint_slice,
            "default",
            label_selector=SLICE_LABEL,
            resource_version=listed.metadata.resource_version,
            timeout_seconds=20,
        ):
            seen = {a for e in event["object"].endpoints or [] if e.conditions.ready for a in e.addresses}
            if len(seen) == 3:
                break
        assert len(seen) == 3 and before < seen
    finally:
        apps.patch_namespaced_deployment_scale(SERVICE, "default", {"spec": {"replicas": 2}})


def test_a_watch_from_a_resource_version_older_than_the_history_gets_410_gone(api, sandbox):
    discovery = client.DiscoveryV1Api(api)
    old = discovery.list_namespaced_endpoint_slice("default").metadata.resource_version
    sandbox.fault("compact")  # as etcd compaction does: history up to now is gone
    with pytest.raises(ApiException) as gone:
        for _ in watch.Watch().stream(
            discovery.list_namespaced_endpoint_slice,
            "default",
            resource_version=str(int(old) - 1),
            timeout_seconds=5,
        ):
            pass
    assert gone.value.status == 410
    assert "too old resource version" in gone.value.reason
    # From a fresh list's version the watch works again: that is what a relist gives a client.
    current = discovery.list_namespaced_endpoint_slice("default").metadata.resource_version
    events = list(
        watch.Watch().stream(
            discovery.list_namespaced_endpoint_slice, "default", resource_version=current, timeout_seconds=1
        )
    )
    assert all(int(event["object"].metadata.resource_version) > int(current) for event in events)


def test_bookmarks_arrive_when_asked_and_only_then(api):
    discovery = client.DiscoveryV1Api(api)
    version = discovery.list_namespaced_endpoint_slice("default").metadata.resource_version

    def event_types(**options) -> list[str]:
        stream = watch.Watch().stream(
            discovery.list_namespaced_endpoint_slice,
            "default",
            resource_version=version,
            timeout_seconds=2,
            deserialize=False,
            **options,
        )
        return [event["type"] for event in stream]

    assert "BOOKMARK" in event_types(allow_watch_bookmarks=True)
    assert "BOOKMARK" not in event_types()


def test_a_watch_ends_after_its_timeout_seconds(api):
    discovery = client.DiscoveryV1Api(api)
    version = discovery.list_namespaced_endpoint_slice("default").metadata.resource_version
    started = time.monotonic()
    list(
        watch.Watch().stream(
            discovery.list_namespaced_endpoint_slice, "default", resource_version=version, timeout_seconds=1
        )
    )
    # Not before its timeoutSeconds; and long before the server's default (30 to 60 minutes): the
    # upper bound only catches a watch that ignored timeoutSeconds, so a busy machine cannot fail it.
    assert 0.9 <= time.monotonic() - started < 60


@pytest.mark.parametrize(
    ("method", "path", "body", "code", "reason"),
    [
        ("GET", "/api/v1/namespaces/default/pods/nope", None, 404, "NotFound"),
        ("GET", "/api/v1/namespaces/default/widgets", None, 404, "NotFound"),
        ("GET", "/no/such/thing", None, 404, "NotFound"),
        # As the real API server: a nameless create is 422, a replace naming no object 400.
        ("POST", "/api/v1/namespaces/default/pods", {}, 422, "Invalid"),
        ("PUT", "/api/v1/namespaces/default/services/k8s-combat-service", {}, 400, "BadRequest"),
        ("PATCH", "/api/v1/namespaces/default/pods", {}, 405, "MethodNotAllowed"),
        ("GET", "/api/v1/namespaces/default/pods?labelSelector=app%20in%20(", None, 400, "BadRequest"),
        ("GET", "/api/v1/namespaces/default/pods?fieldSelector=spec.containers%3Dx", None, 400, "BadRequest"),
        ("GET", "/api/v1/namespaces/default/pods?watch=true&resourceVersion=abc", None, 400, "BadRequest"),
    ],
)
def test_errors_are_status_objects(sandbox, method, path, body, code, reason):
    response = requests.request(method, sandbox.api_url + path, json=body, timeout=5)
    assert response.status_code == code
    status = response.json()
    assert (status["kind"], status["status"], status["code"], status["reason"]) == (
        "Status",
        "Failure",
        code,
        reason,
    )
    assert status["message"]


def test_scale_rejects_out_of_range_replicas_with_422_and_stale_updates_with_409(api):
    apps = client.AppsV1Api(api)
    for replicas, says in ((-1, "must be greater than or equal to 0"), (5001, "must be no more than 5000")):
        with pytest.raises(ApiException) as invalid:
            apps.patch_namespaced_deployment_scale(SERVICE, "default", {"spec": {"replicas": replicas}})
        assert invalid.value.status == 422
        assert says in invalid.value.body
    scale = apps.read_namespaced_deployment_scale(SERVICE, "default")
    scale.metadata.resource_version = "1"
    with pytest.raises(ApiException) as conflict:
        apps.replace_namespaced_deployment_scale(SERVICE, "default", scale)
    assert conflict.value.status == 409
