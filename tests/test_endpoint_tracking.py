"""The endpoint set kept one slice event at a time, and the deltas sent for it, against the
whole-set functions they replace: random slice events, checked after every one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import slices, tracking

NAMES = [f"svc-{n}" for n in range(4)]
ADDRESSES = ["10.1.0.1", "10.1.0.2", "10.1.0.3", "fd00::1", "fd00::2", "0:0::1", "a.example", "b.example"]
targets = st.one_of(
    st.none(),
    st.builds(
        lambda kind, name, uid: {"kind": kind, "namespace": "default", "name": name, "uid": uid},
        st.sampled_from(["Pod", "Pod", "Node"]),
        st.sampled_from(["p0", "p1", "p2", "p3", ""]),
        st.sampled_from(["u0", "u1", ""]),
    ),
)
flags = st.sampled_from([True, False, None])
conditions = st.fixed_dictionaries({}, optional={"ready": flags, "serving": flags, "terminating": flags})
endpoints = st.fixed_dictionaries(
    {"addresses": st.lists(st.sampled_from(ADDRESSES), max_size=2), "conditions": conditions},
    optional={"targetRef": targets, "nodeName": st.sampled_from(["node-a", "node-b"])},
)
ports = st.lists(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["app", "grpc", ""]), "port": st.one_of(st.integers(1, 3), st.none())}
    ),
    max_size=2,
)


def named_slice(name: str):
    return st.fixed_dictionaries(
        {
            "metadata": st.just({"name": name, "namespace": "default"}),
            "addressType": st.sampled_from(["IPv4", "IPv6", "FQDN", "Unix"]),
            "endpoints": st.one_of(st.none(), st.lists(endpoints, max_size=4)),
            "ports": st.one_of(st.none(), ports),
        }
    )


event = st.one_of(
    st.sampled_from(NAMES).flatmap(lambda name: st.tuples(st.just("put"), st.just(name), named_slice(name))),
    st.tuples(st.just("delete"), st.sampled_from(NAMES), st.none()),
    st.tuples(
        st.just("relist"),
        st.none(),
        st.lists(st.sampled_from(NAMES), unique=True).flatmap(
            lambda names: st.tuples(*(named_slice(name) for name in names))
        ),
    ),
)


def replay(events):
    """(change, endpoints after it, the server's slices after it) for each event, as the watcher
    sees them: a dict of the slices by name, in the order it first met them."""
    tracked, objects = tracking.SliceSet(), {}
    for kind, name, body in events:
        if kind == "put":
            objects[name] = body
            change = tracked.put(name, body)
        elif kind == "delete":
            objects.pop(name, None)
            change = tracked.delete(name)
        else:
            objects = {item["metadata"]["name"]: item for item in body}
            change = tracked.reset((item["metadata"]["name"], item) for item in body)
        yield change, dict(tracked.endpoints), list(objects.values())


@settings(max_examples=400, deadline=None)
@given(st.lists(event, max_size=30))
def test_the_set_kept_per_slice_event_always_equals_the_set_made_from_all_the_slices(events):
    before: slices.EndpointSet = {}
    for change, after, server in replay(events):
        assert after == slices.from_slices(server)
        assert change == slices.diff(before, after), "the change is exactly the difference"
        assert change.applied_to(before) == after
        before = after


@settings(max_examples=200, deadline=None)
@given(st.lists(event, max_size=30), st.lists(st.booleans(), min_size=30, max_size=30))
def test_windows_of_changes_folded_by_key_bring_a_client_to_the_servers_list(events, cuts):
    index, pending = tracking.EndpointIndex(), tracking.PendingChanges()
    client = {}  # key -> endpoint dict, as a page holds them after the hello (empty here)
    for (change, _, _), cut in zip(events and list(replay(events)), cuts, strict=False):
        pending.note(change, index.endpoints)
        index.apply(change)
        if cut:
            delta = pending.take(index.endpoints)
            for gone in delta["removed"]:
                client.pop(gone["key"])  # the previous message's set held it
            for endpoint in delta["added"]:
                assert endpoint["key"] not in client
                client[endpoint["key"]] = endpoint
            for endpoint in delta["changed"]:
                assert client[endpoint["key"]]["name"] == endpoint["name"]
                client[endpoint["key"]] = endpoint
    delta = pending.take(index.endpoints)
    for gone in delta["removed"]:
        client.pop(gone["key"])
    client.update((e["key"], e) for e in delta["added"] + delta["changed"])
    assert client == {e.key: e.as_dict() for e in index.endpoints.values()}
    assert not pending


@settings(max_examples=200, deadline=None)
@given(st.lists(event, max_size=20), st.sampled_from([*ADDRESSES, "10.1.0.9", "::ffff:10.1.0.1", "x"]))
def test_the_index_finds_the_same_endpoint_by_pod_and_by_ip_as_a_search_of_the_set(events, ip):
    index = tracking.EndpointIndex()
    for change, after, _ in replay(events):
        index.apply(change)
        assert index.endpoints == after
        assert index.reachable == len(slices.ready_pods(after))
        for pod in ("p0", "p1", "p2", "p3", ""):
            assert index.by_pod(pod) == slices.by_pod(after, pod)
        found = index.by_ip(ip)
        assert (found is None) == (slices.by_ip(after, ip) is None)
        assert found is None or found.has_ip(ip)


def test_a_pod_moving_between_slices_is_one_changed_endpoint_never_removed_and_added():
    def listing(name: str, *pods: str, unready: str = "") -> dict:
        items = [
            {
                "addresses": [f"10.1.0.{n}"],
                "conditions": {"ready": n != unready},
                "targetRef": {"kind": "Pod", "namespace": "default", "name": f"p{n}"},
            }
            for n in pods
        ]
        return {"metadata": {"name": name, "namespace": "default"}, "addressType": "IPv4", "endpoints": items}

    tracked = tracking.SliceSet()
    tracked.reset([("a", listing("a", "1", "2")), ("b", listing("b", "3"))])
    moved = tracked.put("b", listing("b", "3", "2", unready="2"))  # listed twice: the ready copy wins
    assert not moved, "the second copy is not ready: the merged endpoint is unchanged"
    left = tracked.put("a", listing("a", "1"))
    assert [e.key for e in left.changed] == ["Pod/default/p2"] and not left.added and not left.removed
    assert tracked.endpoints["Pod/default/p2"].ready is False
    gone = tracked.delete("b")
    assert sorted(e.key for e in gone.removed) == ["Pod/default/p2", "Pod/default/p3"]
    assert list(tracked.endpoints) == ["Pod/default/p1"]


def test_an_endpoint_renamed_within_a_window_is_removed_at_its_old_name_and_added_at_its_new_one():
    def by_uid(address: str) -> slices.EndpointSet:
        item = {"addresses": [address], "targetRef": {"kind": "Pod", "uid": "u1"}}
        return slices.from_slices([{"addressType": "IPv4", "endpoints": [item]}])

    index, pending = tracking.EndpointIndex(), tracking.PendingChanges()
    for change in (slices.diff({}, by_uid("10.1.0.1")), slices.diff(by_uid("10.1.0.1"), by_uid("10.1.0.2"))):
        pending.note(change, index.endpoints)
        index.apply(change)
    assert pending.take(index.endpoints)["added"][0]["name"] == "10.1.0.2", "new to the client: added"
    change = slices.diff(by_uid("10.1.0.2"), by_uid("10.1.0.3"))
    pending.note(change, index.endpoints)
    index.apply(change)
    delta = pending.take(index.endpoints)
    assert delta["removed"] == [{"key": "Pod/uid/u1", "name": "10.1.0.2"}]
    assert [e["name"] for e in delta["added"]] == ["10.1.0.3"] and delta["changed"] == []
