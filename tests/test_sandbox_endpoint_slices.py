"""The sandbox's EndpointSlice and Endpoints controllers on a bare Store (many slices per Service,
one write per change, the Endpoints' 1000-address cap), and a running sandbox with a small
``--max-endpoints-per-slice`` read through kubectl and used through the ClusterIP."""

from __future__ import annotations

import pytest
import requests

from sandbox import objects, resources
from sandbox.endpointslices import EndpointControllers
from sandbox.objects import PodState
from sandbox.store import Store
from tests.support.kubectl import kubectl_for, listed
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

TEMPLATE = {"spec": {"containers": [{"name": "app", "ports": [{"name": "http", "containerPort": 8081}]}]}}


def a_cluster(count: int, *, most: int) -> tuple[Store, EndpointControllers, list[PodState]]:
    store = Store()
    store.create(
        resources.SERVICES,
        {
            "metadata": {"name": "web", "namespace": "default", "labels": {"tier": "front"}},
            "spec": {
                "selector": {"app": "web"},
                "clusterIP": "127.0.10.9",
                "ports": [{"name": "app", "port": 80, "targetPort": "http"}],
            },
        },
    )
    states = []
    for i in range(count):
        pod = store.create(
            resources.PODS,
            {"metadata": {"name": f"web-{i:04}", "namespace": "default", "labels": {"app": "web"}}},
        )
        states.append(
            PodState(
                name=pod["metadata"]["name"],
                deployment="web",
                template_hash="h",
                template=TEMPLATE,
                uid=pod["metadata"]["uid"],
                ip=f"127.1.{i // 250}.{i % 250 + 2}",
                port=8081,
                node="sandbox",
                created="2024-01-01T00:00:00Z",
                running=True,
                ready=i % 2 == 0,
            )
        )
    return store, EndpointControllers(store, max_endpoints_per_slice=most), states


def slices_of(store: Store) -> dict[str, dict]:
    return {s["metadata"]["name"]: s for s in store.list(resources.ENDPOINT_SLICES)}


def test_slices_hold_at_most_the_maximum_and_together_every_running_pod():
    store, controllers, states = a_cluster(7, most=3)
    controllers.sync(states)
    slices = slices_of(store)
    assert sorted(len(s["endpoints"]) for s in slices.values()) == [1, 3, 3]
    held = [e["targetRef"]["name"] for s in slices.values() for e in s["endpoints"]]
    assert sorted(held) == sorted(state.name for state in states)
    for name, endpoint_slice in slices.items():
        assert name.startswith("web-") and len(name) == len("web-") + 5
        assert endpoint_slice["metadata"]["labels"] == {
            "tier": "front",
            objects.SERVICE_NAME_LABEL: "web",
            objects.MANAGED_BY_LABEL: objects.SLICE_CONTROLLER,
        }
        assert endpoint_slice["ports"] == [{"name": "app", "port": 8081, "protocol": "TCP"}]
        assert endpoint_slice["metadata"]["ownerReferences"][0]["kind"] == "Service"


def test_a_pod_becoming_ready_rewrites_only_the_slice_that_holds_it_and_nothing_rewrites_nothing():
    store, controllers, states = a_cluster(250, most=100)
    controllers.sync(states)
    before = slices_of(store)
    version = store.resource_version
    controllers.sync(states)
    assert store.resource_version == version, "an unchanged sync writes nothing"
    states[1].ready = True
    controllers.sync(states)
    after = slices_of(store)
    changed = [
        name
        for name in after
        if after[name]["metadata"]["resourceVersion"] != before[name]["metadata"]["resourceVersion"]
    ]
    holder = next(
        n for n, s in before.items() if any(e["targetRef"]["name"] == states[1].name for e in s["endpoints"])
    )
    assert changed == [holder]
    assert store.resource_version == version + 2, "the one slice and the Endpoints object"


def test_a_scale_down_deletes_the_slices_it_empties_and_keeps_one_for_none():
    store, controllers, states = a_cluster(9, most=3)
    controllers.sync(states)
    controllers.sync(states[:2])
    remaining = slices_of(store)
    assert sorted(e["targetRef"]["name"] for s in remaining.values() for e in s["endpoints"] or []) == [
        states[0].name,
        states[1].name,
    ]
    controllers.sync([])
    (placeholder,) = slices_of(store).values()
    assert placeholder["endpoints"] is None and placeholder["ports"] is None


def test_the_endpoints_object_past_1000_addresses_is_truncated_ready_first_and_annotated():
    store, controllers, states = a_cluster(1003, most=100)
    for state in states[:1001]:
        state.ready = True
    controllers.sync(states)
    endpoints = store.get(resources.ENDPOINTS, "default", "web")
    (subset,) = endpoints["subsets"]
    assert len(subset["addresses"]) == 1000 and "notReadyAddresses" not in subset
    assert endpoints["metadata"]["annotations"] == {objects.OVER_CAPACITY: "truncated"}
    assert sum(len(s["endpoints"]) for s in slices_of(store).values()) == 1003, "slices are not capped"
    controllers.sync(states[:10])
    endpoints = store.get(resources.ENDPOINTS, "default", "web")
    assert objects.OVER_CAPACITY not in (endpoints["metadata"].get("annotations") or {})


@pytest.mark.slow
def test_a_sandbox_with_three_endpoints_per_slice_routes_over_every_ready_pod(tmp_path):
    sandbox = start_sandbox(tmp_path, "--providers", "1", "--max-endpoints-per-slice", "3")
    try:
        kubectl = kubectl_for(sandbox)
        kubectl("scale", "deployment", "k8s-combat-service", "--replicas=7")

        def ready_pods() -> set[str]:
            pods = listed(kubectl, "pods", "-l", "app=k8s-combat-service")
            return {
                p["metadata"]["name"]
                for p in pods
                if not p["metadata"].get("deletionTimestamp")
                and any(
                    c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", [])
                )
            }

        def sliced() -> list[list[str]] | None:
            slices = listed(kubectl, "endpointslices", "-l", "kubernetes.io/service-name=k8s-combat-service")
            held = [
                [e["targetRef"]["name"] for e in s.get("endpoints") or [] if e["conditions"].get("ready")]
                for s in slices
            ]
            ready = ready_pods()
            return (
                held
                if len(ready) == 7 and sorted(name for names in held for name in names) == sorted(ready)
                else None
            )

        held = wait_for(sliced, 90)
        assert len(held) >= 3 and all(len(names) <= 3 for names in held)
        described = kubectl("describe", "svc", "k8s-combat-service")
        endpoints_lines = [line for line in described.splitlines() if line.startswith("Endpoints:")]
        assert endpoints_lines and all(line.endswith("+ 4 more...") for line in endpoints_lines), described
        answered = set()
        for _ in range(200):
            with requests.Session() as one_off:
                answered.add(one_off.get(f"{sandbox.service_url}/ping", timeout=5).headers["X-Pod-Name"])
            if len(answered) == 7:
                break
        assert answered == {name for names in held for name in names}
    finally:
        sandbox.stop()
