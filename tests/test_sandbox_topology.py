"""The sandbox's nodes, zones, scheduler and Service proxy pick, without a cluster: the rules of
kube-proxy's pkg/proxy/topology.go ``CategorizeEndpoints`` and the scheduler's spreading, on
their own (tests/test_sandbox_traffic_policies.py holds them against a running sandbox)."""

from __future__ import annotations

from collections import Counter

import pytest

from sandbox import resources, topology
from sandbox.events import EventRecorder
from sandbox.proxy import ServiceProxy
from sandbox.scheduling import Scheduler
from sandbox.services import proxy_mode
from sandbox.store import Store


def test_one_node_keeps_its_name_and_several_are_numbered_over_round_robin_zones():
    assert topology.layout().nodes == ("sandbox-node",)
    several = topology.layout(3, 2)
    assert several.nodes == ("sandbox-node-1", "sandbox-node-2", "sandbox-node-3")
    assert [several.zones[n] for n in several.nodes] == ["zone-a", "zone-b", "zone-a"]
    with pytest.raises(ValueError):
        topology.layout(0, 1)


def test_the_scheduler_puts_a_pod_where_its_owner_has_fewest_pods_then_fewest_pods():
    nodes = ("n1", "n2", "n3")
    assert topology.spread(nodes, {"n1": 1, "n2": 0, "n3": 0}, {"n2": 5, "n3": 1}) == "n3"
    assert topology.spread(nodes, {}, {}) == "n1"


ENDPOINTS = [
    topology.Endpoint(("10.0.0.1", 80), "n1", frozenset({"zone-a"})),
    topology.Endpoint(("10.0.0.2", 80), "n2", frozenset({"zone-b"})),
    topology.Endpoint(("10.0.0.3", 80), "n3", frozenset({"zone-a"})),
]


def _backends(chosen):
    return [e.backend[0] for e in chosen]


def test_local_keeps_the_callers_node_and_none_when_it_has_no_endpoint():
    local = topology.Policy(local=True)
    assert _backends(topology.categorize(ENDPOINTS, policy=local, node="n2", zone="zone-b")) == ["10.0.0.2"]
    assert topology.categorize(ENDPOINTS, policy=local, node="n9", zone="zone-a") == []


def test_prefer_close_keeps_the_callers_zone_and_falls_back_to_all_as_kube_proxy_does():
    close = topology.Policy(prefer_close=True)
    assert _backends(topology.categorize(ENDPOINTS, policy=close, node="n1", zone="zone-a")) == [
        "10.0.0.1",
        "10.0.0.3",
    ]
    assert len(topology.categorize(ENDPOINTS, policy=close, node="n1", zone="zone-c")) == 3  # no hint for it
    unhinted = [*ENDPOINTS, topology.Endpoint(("10.0.0.4", 80), "n1")]  # one without hints: no topology
    assert len(topology.categorize(unhinted, policy=close, node="n1", zone="zone-a")) == 4


def test_the_policy_comes_from_the_services_fields_and_the_mode_from_the_sandbox_annotation():
    service = {"spec": {"internalTrafficPolicy": "Local", "trafficDistribution": "PreferClose"}}
    assert topology.policy_of(service) == topology.Policy(local=True, prefer_close=True)
    assert topology.policy_of({"spec": {}}) == topology.Policy()
    annotated = {"metadata": {"annotations": {"sandbox.k8s-combat.dev/proxy-mode": "ipvs"}}}
    assert proxy_mode(annotated, "random") == "round-robin"
    assert proxy_mode({"metadata": {}}, "round-robin") == "round-robin"


async def test_the_proxy_picks_among_the_callers_endpoints_and_cuts_off_a_caller_with_none():
    proxy = ServiceProxy("127.0.0.1", 0, mode="round-robin")
    proxy.locate = {"127.0.5.1": ("n1", "zone-a"), "127.0.5.2": ("n2", "zone-b")}.get
    try:
        await proxy.set_endpoints(ENDPOINTS, topology.Policy(local=True))
        assert {proxy.pick("127.0.5.1") for _ in range(6)} == {("10.0.0.1", 80)}
        proxy.locate = lambda host: ("n9", "zone-a")  # a node without endpoints: dropped
        await proxy.set_endpoints(ENDPOINTS, topology.Policy(local=True))
        assert proxy.pick("127.0.5.3") is None
        await proxy.set_endpoints(ENDPOINTS, topology.Policy(prefer_close=True))  # the next connection
        assert Counter(proxy.pick("127.0.5.3")[0] for _ in range(6)) == {"10.0.0.1": 3, "10.0.0.3": 3}
        await proxy.set_endpoints(ENDPOINTS, topology.Policy())
        assert len({proxy.pick("127.0.5.3") for _ in range(6)}) == 3
    finally:
        await proxy.close()


def _bare_pod(store, name: str) -> dict:
    return store.create(
        resources.PODS,
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": {}},
    )


def test_the_scheduler_spreads_new_pods_and_leaves_them_pending_with_the_nodes_counted_when_full():
    store = Store()
    scheduler = Scheduler(store, EventRecorder(store), topology.layout(2, 2))
    scheduler.register_nodes()
    assert {n["metadata"]["name"] for n in store.list(resources.NODES)} == {
        "sandbox-node-1",
        "sandbox-node-2",
    }
    placement = scheduler.placement([])
    bound = [scheduler.schedule(_bare_pod(store, f"p{i}"), placement, full=False) for i in range(3)]
    assert [p["spec"]["nodeName"] for p in bound] == ["sandbox-node-1", "sandbox-node-2", "sandbox-node-1"]
    assert scheduler.schedule(_bare_pod(store, "late"), placement, full=True) is None
    pending = store.get(resources.PODS, "default", "late")
    assert pending["status"]["conditions"][0]["message"].startswith(
        "0/2 nodes are available: 2 Too many pods."
    )
    reasons = [e["reason"] for e in store.list(resources.EVENTS)]
    assert reasons.count("Scheduled") == 3 and reasons.count("FailedScheduling") == 1


async def test_a_seeded_proxy_repeats_its_picks_and_each_seed_and_proxy_has_its_own():
    """``--proxy-seed``: the same seed gives the same pods connection after connection (the
    tests' spreads repeat), another seed or another proxy another sequence; unseeded, the OS's."""

    async def picks(seed: str | None, name: str = "the Service") -> list:
        proxy = ServiceProxy("127.0.0.1", 0, name=name, seed=seed)
        try:
            await proxy.set_endpoints(ENDPOINTS, topology.Policy())
            return [proxy.pick("127.0.5.3")[0] for _ in range(40)]
        finally:
            await proxy.close()

    first = await picks("tests")
    assert first == await picks("tests")
    assert len(set(first)) == 3, "still a choice among every endpoint"
    assert first != await picks("other"), "another seed, another sequence"
    assert first != await picks("tests", name="the gRPC port"), "each proxy its own"
    assert await picks(None) != await picks(None), "unseeded: the OS's entropy (1 in 3^40 alike)"
