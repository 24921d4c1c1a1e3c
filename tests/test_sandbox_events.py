"""Events as a cluster records them (sandbox.events), selected as the API server selects them
(sandbox.selectors), printed as its Table (sandbox.tables): pure tests against a bare Store."""

from __future__ import annotations

import pytest

from sandbox import resources, tables
from sandbox.events import COMBINED, EventRecorder, Source
from sandbox.selectors import SelectorError, fields_of, parse_field_selector
from sandbox.store import Store

KUBELET = Source("kubelet", "sandbox-node")
CONTROLLER = Source("replicaset-controller")
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web-1", "namespace": "default", "uid": "u-1", "resourceVersion": "7"},
}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def recorder(clock):
    return EventRecorder(Store(), clock=clock)


def events(recorder: EventRecorder) -> list[dict]:
    return recorder.store.list(resources.EVENTS)


def test_an_event_has_the_real_name_reference_source_and_counts(recorder, clock):
    recorder.record(POD, "Normal", "Started", "Started container web", KUBELET, "spec.containers{web}")
    [event] = events(recorder)
    assert event["metadata"]["name"] == f"web-1.{int(clock.now * 1e9):x}"
    assert event["involvedObject"] == {
        "kind": "Pod",
        "namespace": "default",
        "name": "web-1",
        "uid": "u-1",
        "apiVersion": "v1",
        "resourceVersion": "7",
        "fieldPath": "spec.containers{web}",
    }
    assert event["source"] == {"component": "kubelet", "host": "sandbox-node"}
    assert (event["reportingComponent"], event["reportingInstance"]) == ("kubelet", "sandbox-node")
    assert (event["count"], event["firstTimestamp"], event["lastTimestamp"]) == (
        1,
        "2027-01-15T08:00:00Z",
        "2027-01-15T08:00:00Z",
    )
    assert event["eventTime"] is None


def test_the_same_event_again_counts_up_on_the_stored_one(recorder, clock):
    recorder.record(POD, "Warning", "Unhealthy", "Readiness probe failed: x", KUBELET)
    clock.now += 10
    recorder.record(POD, "Warning", "Unhealthy", "Readiness probe failed: x", KUBELET)
    [event] = events(recorder)
    assert event["count"] == 2
    assert event["firstTimestamp"] == "2027-01-15T08:00:00Z"
    assert event["lastTimestamp"] == "2027-01-15T08:00:10Z"


def test_the_tenth_distinct_message_of_a_reason_is_combined_as_upstream(recorder, clock):
    for n in range(12):
        clock.now += 1
        recorder.record(POD, "Normal", "SuccessfulCreate", f"Created pod: web-{n}", CONTROLLER)
    stored = events(recorder)
    assert len(stored) == 10, "9 events, then one combined event for the rest"
    combined = [e for e in stored if e["message"].startswith(COMBINED)]
    assert len(combined) == 1
    assert combined[0]["message"] == COMBINED + "Created pod: web-11"
    assert combined[0]["count"] == 3
    assert combined[0]["reportingComponent"] == "", "as on a real cluster: the aggregate has none"


def test_a_burst_beyond_25_events_about_one_object_is_dropped_then_one_every_5_minutes(recorder, clock):
    for n in range(30):
        recorder.record(POD, "Normal", f"Reason{n}", "m", KUBELET)
    assert len(events(recorder)) == 25
    clock.now += 300
    recorder.record(POD, "Normal", "Later", "m", KUBELET)
    assert len(events(recorder)) == 26


def test_events_beyond_the_cap_are_evicted_oldest_first(clock):
    recorder = EventRecorder(Store(), cap=3, clock=clock)
    for n in range(5):
        clock.now += 1
        recorder.record(
            {**POD, "metadata": {**POD["metadata"], "name": f"p{n}"}}, "Normal", "R", "m", KUBELET
        )
    assert [e["involvedObject"]["name"] for e in events(recorder)] == ["p2", "p3", "p4"]


def test_events_expire_an_hour_after_their_last_update(recorder, clock):
    recorder.record(POD, "Normal", "Old", "m", KUBELET)
    clock.now += 3000
    recorder.record({**POD, "metadata": {**POD["metadata"], "name": "other"}}, "Normal", "New", "m", KUBELET)
    clock.now += 700
    recorder.expire()
    assert [e["reason"] for e in events(recorder)] == ["New"]


def test_the_scheduler_s_event_looks_as_an_events_k8s_io_event_does_through_core_v1(recorder):
    recorder.record_new(
        POD,
        "Normal",
        "Scheduled",
        "Binding",
        "Successfully assigned default/web-1 to n",
        "default-scheduler",
        "default-scheduler-n",
    )
    [event] = events(recorder)
    assert event["source"] == {} and event["firstTimestamp"] is None and event["lastTimestamp"] is None
    assert event["eventTime"].endswith("Z") and "." in event["eventTime"]
    assert (event["action"], event["reportingComponent"]) == ("Binding", "default-scheduler")
    assert "count" not in event


def test_the_event_table_has_the_real_columns_and_cells(recorder):
    recorder.record(
        POD, "Warning", "Unhealthy", "Readiness probe failed: x ", KUBELET, "spec.containers{web}"
    )
    table = tables.table(resources.EVENTS, events(recorder), resource_version="1")
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Last Seen",
        "Type",
        "Reason",
        "Object",
        "Subobject",
        "Source",
        "Message",
        "First Seen",
        "Count",
        "Name",
    ]
    cells = table["rows"][0]["cells"]
    assert cells[1:8] == [
        "Warning",
        "Unhealthy",
        "pod/web-1",
        "spec.containers{web}",
        "kubelet, sandbox-node",
        "Readiness probe failed: x",
        cells[7],
    ]
    assert cells[8] == 1


def test_describe_s_field_selector_finds_an_object_s_events(recorder):
    recorder.record(POD, "Normal", "Started", "m", KUBELET)
    recorder.record(
        {**POD, "metadata": {**POD["metadata"], "name": "other", "uid": "u-2"}},
        "Normal",
        "Started",
        "m",
        KUBELET,
    )
    selector = parse_field_selector(
        "involvedObject.name=web-1,involvedObject.namespace=default,involvedObject.kind=Pod,involvedObject.uid=u-1",
        "Event",
    )
    assert [e["involvedObject"]["name"] for e in events(recorder) if selector(fields_of("Event", e))] == [
        "web-1"
    ]
    assert parse_field_selector("source=kubelet,type!=Warning,reason=Started", "Event")(
        fields_of("Event", events(recorder)[0])
    )


def test_pods_select_on_their_own_fields():
    pod = {
        "metadata": {"name": "p"},
        "spec": {"nodeName": "n", "restartPolicy": "Always"},
        "status": {"phase": "Running", "podIP": "1.2.3.4"},
    }
    assert parse_field_selector("status.phase=Running,spec.nodeName=n,spec.hostNetwork=false", "Pod")(
        fields_of("Pod", pod)
    )
    assert not parse_field_selector("status.podIP!=1.2.3.4", "Pod")(fields_of("Pod", pod))


@pytest.mark.parametrize(
    ("kind", "selector", "message"),
    [
        ("Event", "involvedObject.foo=x", "field label not supported: involvedObject.foo"),
        ("Pod", "foo=x", "field label not supported: foo"),
        (
            "Service",
            "spec.clusterIP=1.2.3.4",
            '"spec.clusterIP" is not a known field selector: only "metadata.name", "metadata.namespace"',
        ),
    ],
)
def test_an_unknown_field_is_refused_in_the_real_server_s_words(kind, selector, message):
    with pytest.raises(SelectorError) as refused:
        parse_field_selector(selector, kind)
    assert str(refused.value) == message
