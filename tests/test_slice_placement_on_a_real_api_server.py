"""The sandbox's EndpointSlice placement (sandbox.slice_placement) against the real controller.

A real kube-controller-manager (../shared/kube, ``WITH_CONTROLLERS=1``) cuts a Service of 250
pods into slices; the test plays the scheduler and the kubelet (binding by ``nodeName``, pod
status written through the status subresource), then changes the pods step by step. After each
step the slices the real controller wrote are compared with the plan ``reconcile`` makes from
the real slices before the step: the same number of slices, holding the same number of endpoints
each. (Which pod sits in which slice is the order of a Go map upstream, so only sizes compare.)
Pods join the Service by a change of its selector, so that the controller sees them all in one
sync, as the plan does: pods made ready one by one would be placed in batches of whatever size
the controller happened to see.
"""

from __future__ import annotations

import pytest
from kubernetes import client, config

from sandbox import slice_placement
from tests.support.control_plane import start_control_plane
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
NODE = "node-a"
SERVICE = "svc"
PORT = {"name": "", "port": 8081, "protocol": "TCP"}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    plane = start_control_plane(tmp_path_factory.mktemp("controllers"), controllers=True)
    try:
        api_client = config.new_client_from_config(config_file=str(plane.kubeconfig))
        yield plane, client.CoreV1Api(api_client), client.DiscoveryV1Api(api_client)
        api_client.close()
    finally:
        plane.stop()


def _ip(index: int) -> str:
    return f"10.1.{index // 250}.{index % 250 + 1}"


def _add_pods(core, namespace: str, indexes, *, ready: bool = True, **labels: str) -> None:
    for index in indexes:
        name = f"pod-{index:04d}"
        core.create_namespaced_pod(
            namespace,
            {
                "metadata": {"name": name, "labels": {"app": "x", **labels}},
                "spec": {"nodeName": NODE, "containers": [{"name": "app", "image": "k8s-combat"}]},
            },
        )
        _set_ready(core, namespace, index, ready)


def _set_ready(core, namespace: str, index: int, ready: bool) -> None:
    core.patch_namespaced_pod_status(
        f"pod-{index:04d}",
        namespace,
        {
            "status": {
                "phase": "Running",
                "podIP": _ip(index),
                "podIPs": [{"ip": _ip(index)}],
                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            }
        },
    )


def _slices(discovery, namespace: str, service: str = SERVICE) -> list[dict]:
    listed = discovery.list_namespaced_endpoint_slice(
        namespace, label_selector=f"kubernetes.io/service-name={service}"
    )
    return [discovery.api_client.sanitize_for_serialization(item) for item in listed.items]


def _sizes(slices) -> list[int]:
    return sorted(len(s.get("endpoints") or []) for s in slices)


def _settled(discovery, namespace: str, total: int, ready: int):
    """The real slices once they hold ``total`` endpoints, ``ready`` of them ready."""

    def settled():
        slices = _slices(discovery, namespace)
        endpoints = [e for s in slices for e in s.get("endpoints") or []]
        is_ready = [e for e in endpoints if (e.get("conditions") or {}).get("ready")]
        return slices if len(endpoints) == total and len(is_ready) == ready else None

    try:
        return wait_for(settled, seconds=60, every=0.25)
    except AssertionError as timed_out:
        slices = _slices(discovery, namespace)
        endpoints = [e for s in slices for e in s.get("endpoints") or []]
        ready_now = sum(1 for e in endpoints if (e.get("conditions") or {}).get("ready"))
        raise AssertionError(
            f"slices hold {len(endpoints)} endpoints, {ready_now} ready; wanted {total}, {ready}"
        ) from timed_out


def _planned_sizes(before: list[dict], ready_by_ip: dict[str, bool], service_uid: str) -> list[int]:
    """Apply ``reconcile``'s plan to ``before`` and give the resulting sizes."""
    desired = [
        ([PORT], {"addresses": [ip], "conditions": {"ready": ready}, "targetRef": {"name": ip}})
        for ip, ready in ready_by_ip.items()
    ]
    # The real slices' endpoints, keyed as the placement keys them (by address here).
    existing = [
        {
            **s,
            "ports": [PORT],
            "endpoints": [
                {
                    "addresses": e["addresses"],
                    "conditions": {"ready": e["conditions"]["ready"]},
                    "targetRef": {"name": e["addresses"][0]},
                }
                for e in s.get("endpoints") or []
            ],
        }
        for s in before
    ]
    plan = slice_placement.reconcile(existing, desired, service_uid=service_uid)
    after = {s["metadata"]["name"]: len(s["endpoints"]) for s in existing}
    for name in plan.delete:
        after.pop(name, None)
    for name, cut in plan.update.items():
        after[name] = len(cut.endpoints)
    return sorted([*after.values(), *(len(cut.endpoints) for cut in plan.create)])


def test_slices_are_cut_as_the_real_controller_cuts_them(api):
    plane, core, discovery = api
    namespace = plane.namespace("slices")
    core.create_node({"metadata": {"name": NODE}})
    service = core.create_namespaced_service(
        namespace,
        {
            "metadata": {"name": SERVICE},
            "spec": {"selector": {"app": "x", "first": "yes"}, "ports": [{"port": 8081}]},
        },
    )
    uid = service.metadata.uid

    def select(wave: str) -> None:  # a merge patch: the other wave's key is removed with null
        other = "second" if wave == "first" else "first"
        core.patch_namespaced_service(SERVICE, namespace, {"spec": {"selector": {wave: "yes", other: None}}})

    # 295 pods, ready, none selected yet: 250 of the first wave, 45 of the second. A second
    # Service selecting all of them shows when the controller's cache holds every pod's status.
    core.create_namespaced_service(
        namespace,
        {"metadata": {"name": "all"}, "spec": {"selector": {"app": "x"}, "ports": [{"port": 8081}]}},
    )
    _add_pods(core, namespace, range(250), first="yes", second="yes")
    _add_pods(core, namespace, range(250, 295), second="yes")
    wait_for(
        lambda: sum(len(s.get("endpoints") or []) for s in _slices(discovery, namespace, "all")) == 295, 60
    )
    ready = {_ip(i): True for i in range(250)}

    # 250 pods at once: new slices of at most 100, filled before the next is made.
    select("first")
    slices = _settled(discovery, namespace, 250, 250)
    # The controller may still see them in batches (its cache lags the API), so its cut is
    # checked by the rules every batching keeps: 3 slices, none over 100. The plan's, at once:
    assert len(slices) == 3 and max(_sizes(slices)) <= 100
    assert _planned_sizes([], ready, uid) == [50, 100, 100]

    # 60 pods of the fullest slice go: that slice shrinks, no other is written.
    full = max(slices, key=lambda s: len(s["endpoints"]))  # at least 84 of the 250
    gone = sorted({int(e["targetRef"]["name"].split("-")[1]) for e in full["endpoints"]})[:60]
    for index in gone:
        core.delete_namespaced_pod(f"pod-{index:04d}", namespace, grace_period_seconds=0)
        ready.pop(_ip(index))
    before, slices = slices, _settled(discovery, namespace, 190, 190)
    assert _sizes(slices) == _planned_sizes(before, ready, uid)
    assert sorted(_sizes(slices)) == sorted([*_sizes(before)[:-1], _sizes(before)[-1] - 60])

    # 45 new pods fit in the existing slices.
    select("second")
    ready.update({_ip(i): True for i in range(250, 295)})
    before, slices = slices, _settled(discovery, namespace, 235, 235)
    # However the controller batches them, they fit in the existing slices: no new slice.
    assert {s["metadata"]["name"] for s in slices} == {s["metadata"]["name"] for s in before}
    assert max(_sizes(slices)) <= 100

    # Readiness changes in place: the same slices, the same sizes.
    for index in range(250, 260):
        _set_ready(core, namespace, index, False)
        ready[_ip(index)] = False
    before, slices = slices, _settled(discovery, namespace, 235, 225)
    assert _sizes(slices) == _planned_sizes(before, ready, uid) == _sizes(before)
    assert {s["metadata"]["name"] for s in slices} == {s["metadata"]["name"] for s in before}
