"""Turning EndpointSlices into one endpoint set: pure, with the API's nil defaults."""

from __future__ import annotations

from dashboard.slices import diff, from_endpoints, from_slices, ready_pods


def endpoint(ip: str, pod: str, **conditions) -> dict:
    return {
        "addresses": [ip],
        "conditions": conditions,
        "nodeName": "node-a",
        "targetRef": {"kind": "Pod", "name": pod},
        "zone": "z1",
    }


def test_nil_conditions_mean_ready_serving_and_not_terminating():
    [only] = from_slices([{"endpoints": [endpoint("10.0.0.1", "pod-a")]}]).values()
    assert (only.ready, only.serving, only.terminating) == (True, True, False)
    assert (only.pod, only.node, only.zone, only.state) == ("pod-a", "node-a", "z1", "ready")


def test_null_endpoints_mean_none():
    assert from_slices([{"endpoints": None}, {}]) == {}


def test_the_set_is_the_union_of_slices_without_duplicates():
    first = {"endpoints": [endpoint("10.0.0.1", "pod-a", ready=False), endpoint("10.0.0.2", "pod-b")]}
    second = {"endpoints": [endpoint("10.0.0.1", "pod-a", ready=True), endpoint("10.0.0.3", "pod-c")]}
    endpoints = from_slices([first, second])
    assert sorted(endpoints) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert endpoints["10.0.0.1"].ready, "an endpoint moving between slices counts as ready if either says so"


def test_a_terminating_endpoint_is_not_ready_for_new_calls():
    endpoints = from_slices(
        [
            {
                "endpoints": [
                    endpoint("10.0.0.1", "a", ready=False, serving=True, terminating=True),
                    endpoint("10.0.0.2", "b"),
                ]
            }
        ]
    )
    assert endpoints["10.0.0.1"].state == "terminating"
    assert ready_pods(endpoints) == ["b"]


def test_legacy_endpoints_split_ready_and_not_ready_addresses():
    endpoints = from_endpoints(
        {
            "subsets": [
                {
                    "addresses": [{"ip": "10.0.0.1", "targetRef": {"name": "a"}}],
                    "notReadyAddresses": [{"ip": "10.0.0.2", "targetRef": {"name": "b"}}],
                }
            ]
        }
    )
    assert endpoints["10.0.0.1"].ready and not endpoints["10.0.0.2"].ready


def test_diff_names_what_was_added_removed_and_changed():
    old = from_slices([{"endpoints": [endpoint("10.0.0.1", "a"), endpoint("10.0.0.2", "b")]}])
    new = from_slices(
        [{"endpoints": [endpoint("10.0.0.1", "a", terminating=True, ready=False), endpoint("10.0.0.3", "c")]}]
    )
    change = diff(old, new)
    assert [e.pod for e in change.added] == ["c"]
    assert [e.pod for e in change.removed] == ["b"]
    assert [e.pod for e in change.changed] == ["a"]
    assert not diff(new, new)
