"""Where the EndpointSlice controller puts endpoints: tables after upstream's reconciler_test.go
(k8s.io/endpointslice), on the pure ``sandbox.slice_placement.reconcile``."""

from __future__ import annotations

import random

import pytest

from sandbox.slice_placement import Cut, Plan, endpoint_key, reconcile

UID = "uid-of-the-service"
PORTS = [{"name": "app", "port": 8081, "protocol": "TCP"}]
OTHER_PORTS = [{"name": "app", "port": 81, "protocol": "TCP"}]


def endpoint(i: int, *, ready: bool = True) -> dict:
    return {
        "addresses": [f"10.0.{i // 250}.{i % 250 + 1}"],
        "conditions": {"ready": ready, "serving": ready, "terminating": False},
        "nodeName": "node-1",
        "targetRef": {"kind": "Pod", "namespace": "default", "name": f"pod{i}", "uid": f"uid{i}"},
    }


def pods(count: int, *, start: int = 0) -> list[dict]:
    """Upstream's newPod(i, ready = i % 3 != 0)."""
    return [endpoint(i, ready=i % 3 != 0) for i in range(start, start + count)]


def a_slice(name: str, endpoints: list[dict], *, ports=PORTS, uid=UID, address_type="IPv4") -> dict:
    return {
        "metadata": {"name": name, "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "uid": uid}]},
        "addressType": address_type,
        "ports": ports,
        "endpoints": endpoints or None,
    }


def desired(endpoints: list[dict], ports=PORTS) -> list[tuple[list[dict], dict]]:
    return [(ports, e) for e in endpoints]


def lengths(plan: Plan) -> list[int]:
    return sorted(len(cut.endpoints) for cut in [*plan.create, *plan.update.values()])


def applied(existing: list[dict], plan: Plan) -> list[dict]:
    """The slices after the plan is written (new ones named new-0, new-1...)."""
    by_name = {s["metadata"]["name"]: s for s in existing}
    for name in plan.delete:
        del by_name[name]
    for name, cut in plan.update.items():
        by_name[name] = a_slice(name, cut.endpoints, ports=cut.ports)
    for index, cut in enumerate(plan.create):
        name = f"new-{len(by_name)}-{index}"
        by_name[name] = a_slice(name, cut.endpoints, ports=cut.ports)
    return list(by_name.values())


def every_endpoint(slices: list[dict]) -> list[dict]:
    return [e for s in slices for e in s["endpoints"] or []]


def test_250_endpoints_and_no_slices_make_three_slices_in_three_creates():
    plan = reconcile([], desired(pods(250)), service_uid=UID)
    assert (len(plan.create), plan.update, plan.delete) == (3, {}, [])
    assert lengths(plan) == [50, 100, 100]


def test_an_existing_slice_is_filled_before_a_new_one_is_made():
    # SomePreexisting: 62 + 61 placed, 127 to add: one new slice of 100, the other 27 into the
    # slice they fill most closely (62 -> 89), 1 create + 1 update rather than 2 updates + 1 create.
    endpoints = pods(250)
    first = a_slice("s1", [endpoints[i] for i in range(1, 246, 4)])
    second = a_slice("s2", [endpoints[i] for i in range(3, 246, 4)])
    plan = reconcile([first, second], desired(endpoints), service_uid=UID)
    assert [len(c.endpoints) for c in plan.create] == [100]
    assert {name: len(cut.endpoints) for name, cut in plan.update.items()} == {"s1": 89}
    assert plan.delete == []


def test_a_remainder_that_fits_no_single_slice_gets_a_new_one_rather_than_two_updates():
    # SomePreexistingWorseAllocation: 74 + 74 placed, 152 to add: 100 + 52 in two new slices.
    endpoints = pods(300)
    first = a_slice("s1", [endpoints[i] for i in range(1, 296, 4)])
    second = a_slice("s2", [endpoints[i] for i in range(3, 296, 4)])
    plan = reconcile([first, second], desired(endpoints), service_uid=UID)
    assert sorted(len(c.endpoints) for c in plan.create) == [52, 100]
    assert (plan.update, plan.delete) == ({}, [])


def test_slices_that_already_hold_every_endpoint_are_not_written():
    endpoints = pods(250)
    slices = applied([], reconcile([], desired(endpoints), service_uid=UID))
    assert reconcile(slices, desired(endpoints), service_uid=UID).writes == 0


def test_one_pod_becoming_ready_updates_only_the_slice_that_holds_it():
    endpoints = pods(250)
    slices = applied([], reconcile([], desired(endpoints), service_uid=UID))
    endpoints[3] = endpoint(3, ready=True)  # was not ready (3 % 3 == 0)
    plan = reconcile(slices, desired(endpoints), service_uid=UID)
    holder = next(
        s["metadata"]["name"]
        for s in slices
        if endpoint_key(endpoints[3]) in map(endpoint_key, s["endpoints"])
    )
    assert (plan.create, list(plan.update), plan.delete) == ([], [holder], [])
    assert endpoints[3] in plan.update[holder].endpoints


def test_endpoints_no_longer_desired_leave_and_a_slice_left_empty_is_deleted():
    endpoints = pods(20)
    slices = [a_slice("s1", endpoints[:10]), a_slice("s2", endpoints[10:])]
    plan = reconcile(slices, desired(endpoints[:7]), service_uid=UID)
    assert plan.create == []
    assert plan.update == {"s1": Cut(ports=PORTS, endpoints=endpoints[:7])}
    assert plan.delete == ["s2"]


def test_new_endpoints_go_first_into_slices_being_updated_anyway_the_fullest_first():
    # UpdatePacking: 80 and 20 placed, both touched by a readiness change; 15 new go to the 80.
    first = [endpoint(i) for i in range(80)]
    second = [endpoint(i) for i in range(100, 120)]
    slices = [a_slice("s1", first), a_slice("s2", second)]
    changed = [endpoint(i, ready=i % 10 != 0) for i in [*range(80), *range(100, 120)]]
    plan = reconcile(slices, desired([*changed, *(endpoint(i) for i in range(200, 215))]), service_uid=UID)
    assert (plan.create, plan.delete) == ([], [])
    assert {name: len(cut.endpoints) for name, cut in plan.update.items()} == {"s1": 95, "s2": 20}


def test_a_port_change_repacks_into_the_old_slices_instead_of_create_and_delete():
    # Recycling: 10 slices of 30; a new targetPort makes 3 updates (full) and 7 deletes.
    endpoints = pods(300)
    slices = [a_slice(f"s{n}", endpoints[n * 30 : n * 30 + 30]) for n in range(10)]
    assert reconcile(slices, desired(endpoints), service_uid=UID).writes == 0
    plan = reconcile(slices, desired(endpoints, OTHER_PORTS), service_uid=UID)
    assert plan.create == []
    assert len(plan.update) == 3 and len(plan.delete) == 7
    assert lengths(plan) == [100, 100, 100]
    assert all(cut.ports == OTHER_PORTS for cut in plan.update.values())


@pytest.mark.parametrize(
    ("most", "expected"),
    [(50, [50, 50, 50, 50, 50]), (80, [10, 80, 80, 80]), (150, [100, 150]), (250, [250]), (500, [250])],
)
def test_max_endpoints_per_slice_is_honoured(most, expected):
    plan = reconcile([], desired(pods(250)), service_uid=UID, max_endpoints_per_slice=most)
    assert lengths(plan) == expected


def test_a_max_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        reconcile([], [], service_uid=UID, max_endpoints_per_slice=0)


def test_pods_whose_ports_resolve_differently_get_slices_of_their_own():
    plan = reconcile([], [*desired(pods(3)), *desired(pods(2, start=3), OTHER_PORTS)], service_uid=UID)
    assert sorted((c.ports[0]["port"], len(c.endpoints)) for c in plan.create) == [(81, 2), (8081, 3)]


def test_a_service_without_endpoints_gets_one_placeholder_and_keeps_it():
    plan = reconcile([], [], service_uid=UID)
    assert (plan.create, plan.update, plan.delete) == ([Cut(ports=[], endpoints=[])], {}, [])
    placeholder = a_slice("p", [], ports=None)
    assert reconcile([placeholder], [], service_uid=UID).writes == 0


def test_the_placeholder_is_reused_for_the_first_endpoints_and_becomes_it_again_for_none():
    placeholder = a_slice("p", [], ports=None)
    plan = reconcile([placeholder], desired(pods(3)), service_uid=UID)
    assert (plan.create, plan.delete) == ([], [])
    assert plan.update == {"p": Cut(ports=PORTS, endpoints=pods(3))}
    emptied = reconcile([a_slice("p", pods(3))], [], service_uid=UID)
    assert emptied.update == {"p": Cut(ports=[], endpoints=[])} and emptied.delete == []


def test_a_slice_of_another_service_uid_is_deleted_and_not_reused():
    # Recreation: a Service deleted and made again under the same name.
    plan = reconcile([a_slice("old", pods(3), uid="old-uid")], desired(pods(3)), service_uid=UID)
    assert [len(c.endpoints) for c in plan.create] == [3]
    assert (plan.update, plan.delete) == ({}, ["old"])


def test_a_slice_of_an_address_type_the_service_does_not_have_is_deleted():
    stale = a_slice("v6", pods(2), address_type="IPv6")
    plan = reconcile([stale], desired(pods(2)), service_uid=UID)
    assert len(plan.create) == 1 and plan.delete == ["v6"]


def test_slices_to_relabel_are_updated_and_nothing_else_is():
    endpoints = pods(250)
    slices = applied([], reconcile([], desired(endpoints), service_uid=UID))
    names = frozenset(s["metadata"]["name"] for s in slices)
    plan = reconcile(slices, desired(endpoints), service_uid=UID, relabel=names)
    assert (plan.create, set(plan.update), plan.delete) == ([], names, [])


def test_through_a_random_rollout_the_slices_hold_exactly_the_desired_endpoints():
    rng = random.Random(12)
    live = {i: endpoint(i, ready=False) for i in range(40)}
    slices: list[dict] = []
    next_pod = 40
    for _ in range(200):
        action = rng.random()
        if action < 0.3 and live:
            live.pop(rng.choice(list(live)))
        elif action < 0.6:
            live[next_pod] = endpoint(next_pod, ready=False)
            next_pod += 1
        elif live:
            pod = rng.choice(list(live))
            live[pod] = endpoint(pod, ready=rng.random() < 0.5)
        before = {s["metadata"]["name"]: s for s in slices}
        plan = reconcile(slices, desired(list(live.values())), service_uid=UID, max_endpoints_per_slice=7)
        slices = applied(slices, plan)
        held = every_endpoint(slices)
        assert sorted(map(endpoint_key, held)) == sorted(map(endpoint_key, live.values()))
        assert all(e == live[int(e["targetRef"]["name"][3:])] for e in held)
        assert all(len(s["endpoints"] or []) <= 7 for s in slices)
        assert all(s["endpoints"] for s in slices) or len(slices) == 1
        after = {s["metadata"]["name"]: s for s in slices}
        assert all(before[name] != after[name] for name in plan.update), "an update changes its slice"
