"""Turning EndpointSlices into one endpoint set: pure, one endpoint per pod, addresses per family."""

from __future__ import annotations

from dashboard.slices import by_ip, by_pod, diff, from_endpoints, from_slices, in_order, ready_pods

APP, GRPC = (
    {"name": "app", "port": 8081, "protocol": "TCP"},
    {"name": "grpc", "port": 50051, "protocol": "TCP"},
)


def endpoint(address: str, pod: str | None, **conditions) -> dict:
    item = {"addresses": [address], "conditions": conditions, "nodeName": "node-a", "zone": "z1"}
    if pod is not None:
        item["targetRef"] = {"kind": "Pod", "namespace": "default", "name": pod, "uid": f"uid-{pod}"}
    return item


def endpoint_slice(address_type: str, *endpoints: dict, ports=(APP, GRPC), name: str = "") -> dict:
    return {
        "metadata": {"name": name or f"svc-{address_type.lower()}", "namespace": "default"},
        "addressType": address_type,
        "endpoints": list(endpoints),
        "ports": list(ports),
    }


def dual_stack(**conditions) -> list[dict]:
    return [
        endpoint_slice("IPv4", endpoint("10.1.0.5", "pod-a", **conditions), endpoint("10.1.0.6", "pod-b")),
        endpoint_slice("IPv6", endpoint("fd00::5", "pod-a", **conditions), endpoint("fd00::6", "pod-b")),
    ]


def test_a_dual_stack_service_has_one_endpoint_per_pod_with_its_address_in_each_family():
    endpoints = from_slices(dual_stack())
    assert sorted(endpoints) == ["Pod/default/pod-a", "Pod/default/pod-b"]
    pod_a = endpoints["Pod/default/pod-a"]
    assert pod_a.addresses == {"IPv4": ("10.1.0.5",), "IPv6": ("fd00::5",)}
    assert (pod_a.name, pod_a.pod, pod_a.ip, pod_a.node, pod_a.zone) == (
        "pod-a",
        "pod-a",
        "10.1.0.5",
        "node-a",
        "z1",
    )
    assert ready_pods(endpoints) == ["pod-a", "pod-b"]
    assert pod_a.as_dict()["addresses"] == {"IPv4": ["10.1.0.5"], "IPv6": ["fd00::5"]}


def test_an_answering_pod_is_found_by_its_ip_in_either_family_compared_as_an_address():
    endpoints = from_slices(dual_stack())
    assert by_ip(endpoints, "10.1.0.6").pod == "pod-b"
    assert by_ip(endpoints, "fd00:0:0:0::6").pod == "pod-b", "the same IPv6 address, written longer"
    assert by_ip(endpoints, "10.1.0.7") is None
    assert by_ip(endpoints, "not-an-ip") is None
    assert by_pod(endpoints, "pod-a").ips == ("10.1.0.5", "fd00::5")


def test_an_fqdn_slice_is_kept_by_its_names_never_taken_for_ips_and_never_counted_as_reachable():
    fqdn = endpoint_slice("FQDN", endpoint("backend.example.test", None), endpoint("10.9.9.9", None))
    endpoints = from_slices([*dual_stack(), fqdn])
    names = endpoints["FQDN/backend.example.test"]
    assert (names.name, names.pod, names.ip, names.state) == ("backend.example.test", "", "", "ready")
    assert names.addresses == {"FQDN": ("backend.example.test",)}
    assert by_ip(endpoints, "10.9.9.9") is None, "an FQDN name that looks like an IP is still a name"
    assert ready_pods(endpoints) == ["pod-a", "pod-b"], "kube-proxy never routes to FQDN slices"


def test_endpoints_without_a_target_ref_are_kept_and_named_by_their_address():
    selectorless = endpoint_slice(
        "IPv4", endpoint("192.0.2.10", None), endpoint("192.0.2.11", None, ready=False)
    )
    endpoints = from_slices([selectorless])
    assert sorted(endpoints) == ["IPv4/192.0.2.10", "IPv4/192.0.2.11"]
    assert endpoints["IPv4/192.0.2.10"].name == "192.0.2.10"
    assert endpoints["IPv4/192.0.2.10"].pod == ""
    assert ready_pods(endpoints) == ["192.0.2.10"], "a ready one is a backend a call can reach"
    assert by_ip(endpoints, "192.0.2.11").state == "not-ready"


def test_a_target_ref_with_only_a_uid_still_makes_one_endpoint_of_two_families():
    def by_uid(address: str) -> dict:
        return {"addresses": [address], "targetRef": {"kind": "Pod", "uid": "1234"}}

    endpoints = from_slices(
        [endpoint_slice("IPv4", by_uid("10.1.0.5")), endpoint_slice("IPv6", by_uid("fd00::5"))]
    )
    [only] = endpoints.values()
    assert (only.key, only.name, only.ips) == ("Pod/uid/1234", "10.1.0.5", ("10.1.0.5", "fd00::5"))


def test_an_endpoint_in_two_slices_during_a_move_is_one_endpoint_ready_if_either_copy_says_so():
    old = endpoint_slice("IPv4", endpoint("10.1.0.5", "pod-a", ready=False), name="svc-old")
    new = endpoint_slice("IPv4", endpoint("10.1.0.5", "pod-a", ready=True), name="svc-new")
    for order in ([old, new], [new, old]):
        [only] = from_slices(order).values()
        assert only.ready and only.addresses == {"IPv4": ("10.1.0.5",)}


def test_ports_are_read_by_name_for_each_slice_and_family():
    ipv4 = endpoint_slice("IPv4", endpoint("10.1.0.5", "pod-a"), ports=[GRPC, APP])
    ipv6 = endpoint_slice("IPv6", endpoint("fd00::5", "pod-a"), ports=[{"name": "app", "port": 9081}])
    [only] = from_slices([ipv4, ipv6]).values()
    assert only.ports == {"IPv4": {"grpc": 50051, "app": 8081}, "IPv6": {"app": 9081}}


def test_null_endpoints_null_ports_nil_port_numbers_and_unknown_address_types_mean_none():
    assert from_slices([{"addressType": "IPv4", "endpoints": None}, {}]) == {}
    assert from_slices([endpoint_slice("Unix", endpoint("/run/x.sock", "pod-a"))]) == {}
    [only] = from_slices([{**endpoint_slice("IPv4", endpoint("10.1.0.5", "pod-a")), "ports": None}]).values()
    assert only.ports == {}
    [only] = from_slices(
        [endpoint_slice("IPv4", endpoint("10.1.0.5", "a"), ports=[{"name": "all", "port": None}])]
    ).values()
    assert only.ports == {}, "a nil port number means all ports: no number to show"


def test_a_terminating_endpoint_is_not_ready_for_new_calls():
    endpoints = from_slices(
        [
            endpoint_slice(
                "IPv4",
                endpoint("10.0.0.1", "a", ready=False, serving=True, terminating=True),
                endpoint("10.0.0.2", "b"),
            )
        ]
    )
    assert by_pod(endpoints, "a").state == "terminating"
    assert ready_pods(endpoints) == ["b"]


def test_legacy_endpoints_split_ready_and_not_ready_addresses_and_read_each_family():
    endpoints = from_endpoints(
        {
            "metadata": {"namespace": "default"},
            "subsets": [
                {
                    "addresses": [{"ip": "fd00::1", "targetRef": {"kind": "Pod", "name": "a"}}],
                    "notReadyAddresses": [{"ip": "10.0.0.2", "targetRef": {"kind": "Pod", "name": "b"}}],
                    "ports": [APP],
                }
            ],
        }
    )
    assert endpoints["Pod/default/a"].ready and not endpoints["Pod/default/b"].ready
    assert endpoints["Pod/default/a"].addresses == {"IPv6": ("fd00::1",)}
    assert endpoints["Pod/default/a"].ports == {"IPv6": {"app": 8081}}


def test_diff_names_what_was_added_removed_and_changed_by_endpoint_not_by_address():
    old = from_slices([endpoint_slice("IPv4", endpoint("10.0.0.1", "a"), endpoint("10.0.0.2", "b"))])
    new = from_slices(
        [
            endpoint_slice("IPv4", endpoint("10.0.0.1", "a", terminating=True), endpoint("10.0.0.3", "c")),
            endpoint_slice("IPv6", endpoint("fd00::3", "c")),
        ]
    )
    change = diff(old, new)
    assert [e.pod for e in change.added] == ["c"]
    assert [e.pod for e in change.removed] == ["b"]
    assert [e.pod for e in change.changed] == ["a"]
    assert not diff(new, new)
    assert [e.name for e in in_order(new)] == ["a", "c"]


def test_two_pods_sharing_an_address_are_still_two_endpoints():
    shared = endpoint_slice("IPv4", endpoint("127.0.0.1", "pod-a"), endpoint("127.0.0.1", "pod-b"))
    endpoints = from_slices([shared])
    assert ready_pods(endpoints) == ["pod-a", "pod-b"]
    assert by_pod(endpoints, "pod-b").ip == "127.0.0.1"
