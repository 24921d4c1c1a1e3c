"""The Service's settings on the page: read from the Service object (defaults as the API server
fills them), the pods a run should reach under them (kube-proxy's rules), and the dashboard's
own watch of its Service, as its ServiceAccount, on a real kube-apiserver."""

from __future__ import annotations

import json
import threading

import pytest

from dashboard import kube, slices
from dashboard.service_settings import changed_settings, consumer_zone, expectation, settings_of
from dashboard.service_watching import ServiceWatcher
from dashboard.watching import WatchSettings
from tests.support.dashboard import LiveSocket
from tests.support.kubectl import kubectl_for
from tests.support.processes import start_app
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

SERVICE = "k8s-combat-service"


def _endpoints(
    *pods: tuple[str, str, str], hints: dict | None = None, not_ready: tuple = ()
) -> slices.EndpointSet:
    """(pod, node, zone) each, on 10.0.0.<i>; ``hints`` pod -> zones; ``not_ready`` pods."""
    items = []
    for i, (pod, node, zone) in enumerate(pods, start=1):
        item = {
            "addresses": [f"10.0.0.{i}"],
            "conditions": {"ready": pod not in not_ready},
            "nodeName": node,
            "zone": zone,
            "targetRef": {"kind": "Pod", "namespace": "default", "name": pod},
        }
        if hints and pod in hints:
            item["hints"] = {"forZones": [{"name": z} for z in hints[pod]]}
        items.append(item)
    return slices.from_slices(
        [{"addressType": "IPv4", "metadata": {"namespace": "default"}, "endpoints": items}]
    )


SPREAD = _endpoints(("a", "n1", "z1"), ("b", "n1", "z1"), ("c", "n2", "z2"), ("d", "n3", "z2"))


def _service(**spec) -> dict:
    return {"metadata": {"name": SERVICE}, "spec": {"ports": [{"name": "app", "port": 8081}], **spec}}


def test_a_service_without_the_optional_fields_reads_as_the_api_server_defaults_them():
    read = settings_of(_service())
    assert read == {
        "present": True,
        "type": "ClusterIP",
        "cluster_ip": "",
        "ports": [{"name": "app", "port": 8081, "target_port": 8081, "protocol": "TCP"}],
        "session_affinity": "None",
        "affinity_timeout_seconds": None,
        "internal_traffic_policy": "Cluster",
        "traffic_distribution": None,  # v1.29 does not know the field: "not set"
    }
    assert settings_of(None)["present"] is False


def test_client_ip_affinity_has_the_default_timeout_of_three_hours_unless_set():
    assert settings_of(_service(sessionAffinity="ClientIP"))["affinity_timeout_seconds"] == 10800
    pinned = _service(sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})
    assert settings_of(pinned)["affinity_timeout_seconds"] == 60


def test_by_default_a_run_should_spread_over_every_ready_endpoint():
    endpoints = _endpoints(("a", "n1", "z1"), ("b", "n2", "z1"), ("c", "n2", "z2"), not_ready=("c",))
    expected = expectation(settings_of(_service()), endpoints, node="n1")
    assert (expected["pods"], expected["rule"], expected["pinned"]) == (["a", "b"], "uniform", False)
    assert (expected["node"], expected["zone"]) == ("n1", "z1")


def test_client_ip_affinity_pins_the_dashboard_to_one_of_the_pods():
    expected = expectation(settings_of(_service(sessionAffinity="ClientIP")), SPREAD, node="n1")
    assert expected["pinned"] is True
    assert expected["pods"] == ["a", "b", "c", "d"]


def test_local_traffic_policy_keeps_the_calls_on_the_callers_node():
    settings = settings_of(_service(internalTrafficPolicy="Local"))
    assert expectation(settings, SPREAD, node="n1")["pods"] == ["a", "b"]
    assert expectation(settings, SPREAD, node="n1")["rule"] == "local"
    # No endpoint on the caller's node: kube-proxy drops the calls, none is expected anywhere.
    assert expectation(settings, SPREAD, node="n9")["pods"] == []


def test_prefer_close_keeps_the_calls_in_the_callers_zone_when_it_has_ready_endpoints():
    settings = settings_of(_service(trafficDistribution="PreferClose"))
    assert expectation(settings, SPREAD, node="n2")["pods"] == ["c", "d"]
    assert expectation(settings, SPREAD, node="n2")["rule"] == "prefer-close"
    # The caller's zone has no ready endpoint: every endpoint.
    down = _endpoints(("a", "n1", "z1"), ("c", "n2", "z2"), not_ready=("c",))
    assert expectation(settings, down, node="n2")["pods"] == ["a"]
    assert expectation(settings, down, node="n2")["rule"] == "uniform"
    # The caller's zone unknown (no endpoint on its node says one): every endpoint.
    assert expectation(settings, SPREAD, node="n9")["rule"] == "uniform"


def test_prefer_close_follows_the_hints_when_every_endpoint_has_them_and_ignores_partial_hints():
    settings = settings_of(_service(trafficDistribution="PreferClose"))
    hinted = _endpoints(
        ("a", "n1", "z1"), ("b", "n2", "z2"), ("c", "n2", "z2"), hints={"a": ["z1"], "b": ["z1"], "c": ["z2"]}
    )
    assert expectation(settings, hinted, node="n1")["pods"] == ["a", "b"]
    partial = _endpoints(("a", "n1", "z1"), ("b", "n2", "z2"), hints={"a": ["z1"]})
    assert expectation(settings, partial, node="n1")["pods"] == ["a", "b"]  # topology off


def test_local_policy_wins_over_prefer_close_as_in_kube_proxy():
    settings = settings_of(_service(internalTrafficPolicy="Local", trafficDistribution="PreferClose"))
    assert expectation(settings, SPREAD, node="n3")["pods"] == ["d"]


def test_the_consumers_zone_is_the_zone_of_the_endpoints_on_its_node_else_unknown():
    assert consumer_zone(SPREAD, "n2") == "z2"
    assert consumer_zone(SPREAD, "n9") == ""
    assert consumer_zone(SPREAD, "") == ""


def test_hints_are_part_of_the_endpoint_the_page_gets():
    hinted = _endpoints(("a", "n1", "z1"), hints={"a": ["z1", "z1", "z2"]})
    assert hinted["Pod/default/a"].as_dict()["hints"] == ["z1", "z2"]
    assert SPREAD["Pod/default/a"].as_dict()["hints"] == []


def test_only_the_settings_that_decide_where_calls_go_count_as_a_change():
    before = settings_of(_service())
    assert changed_settings(before, settings_of(_service(ports=[{"name": "x", "port": 1}]))) == []
    assert changed_settings(before, settings_of(_service(sessionAffinity="ClientIP"))) == [
        "session_affinity",
        "affinity_timeout_seconds",
    ]


class _ScriptedStream:
    """The seam: ``kube.WatchStream`` answering with scripted events (no server)."""

    def __init__(self, events):
        self.events = events

    def __iter__(self):
        yield from self.events

    def interrupt(self):
        pass

    def close(self):
        pass


def test_the_watcher_hands_on_each_change_of_settings_once_and_an_absent_service(monkeypatch):
    listed = [_service()]
    events = [
        {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "5"}}},
        {"type": "MODIFIED", "object": {**_service(), "metadata": {"name": SERVICE, "resourceVersion": "6"}}},
        {
            "type": "MODIFIED",
            "object": {
                **_service(sessionAffinity="ClientIP"),
                "metadata": {"name": SERVICE, "resourceVersion": "7"},
            },
        },
        {"type": "DELETED", "object": {**_service(), "metadata": {"name": SERVICE, "resourceVersion": "8"}}},
    ]
    monkeypatch.setattr(kube, "list_objects", lambda cluster, kind, name, timeout: (listed, "4"))
    requested = []

    def stream(cluster, kind, service, **kwargs):
        requested.append((kind, service, kwargs["resource_version"]))
        return _ScriptedStream(events)

    monkeypatch.setattr(kube, "WatchStream", stream)
    seen = []
    watcher = ServiceWatcher(
        lambda: None, WatchSettings(service=SERVICE, min_reconnect_interval=0), on_change=seen.append
    )
    watcher.run(iterations=1)
    assert requested == [("services", SERVICE, "4")]
    assert [(s["present"], s["session_affinity"]) for s in seen] == [
        (True, "None"),
        (True, "ClientIP"),
        (False, "None"),
    ]


def test_the_watcher_lists_again_after_410_gone_and_sees_a_change_made_meanwhile(monkeypatch):
    listings = iter([[_service()], [_service(internalTrafficPolicy="Local")]])
    monkeypatch.setattr(kube, "list_objects", lambda cluster, kind, name, timeout: (next(listings), "9"))

    class Expired(_ScriptedStream):
        def __iter__(self):
            raise kube.Gone("too old resource version", status=410)
            yield  # a generator, as the real stream is

    monkeypatch.setattr(kube, "WatchStream", lambda *args, **kwargs: Expired([]))
    seen = []
    watcher = ServiceWatcher(
        lambda: None, WatchSettings(service=SERVICE, min_reconnect_interval=0), on_change=seen.append
    )
    watcher.run(iterations=2)
    assert (watcher.stats.lists, watcher.stats.gone) == (2, 2)
    assert [s["internal_traffic_policy"] for s in seen] == ["Cluster", "Local"]


# --- on a real kube-apiserver, as the dashboard's ServiceAccount ------------------------------


@pytest.fixture
def service_namespace(control_plane, monkeypatch):
    """A namespace with the base manifests applied; KUBECONFIG is the ServiceAccount's."""
    namespace = control_plane.namespace("settings")
    control_plane.kubectl(
        "-n", namespace, "create", "secret", "generic", "k8s-combat", "--from-literal=secret-key=x"
    )
    control_plane.kubectl("-n", namespace, "apply", "-k", "manifests/base")
    kubeconfig = control_plane.token_kubeconfig(namespace, "k8s-combat")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    return namespace, kubeconfig


@pytest.mark.slow
def test_the_service_account_watches_its_service_by_name_and_no_other(control_plane, service_namespace):
    namespace, kubeconfig = service_namespace
    control_plane.apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "other"},
            "spec": {"ports": [{"port": 80}]},
        },
        namespace=namespace,
    )
    cluster = kube.connect(namespace)
    with pytest.raises(kube.Forbidden):
        kube.list_objects(cluster, "services", "other", timeout=10)
    # Without the fieldSelector, a list asks for every Service of the namespace: refused.
    every = control_plane.kubectl("-n", namespace, "get", "services", kubeconfig=kubeconfig, check=False)
    assert every.returncode != 0 and "forbidden" in every.stderr.lower()

    changed = threading.Condition()
    seen: list[dict] = []

    def on_change(settings: dict) -> None:
        with changed:
            seen.append(settings)
            changed.notify_all()

    watcher = ServiceWatcher(
        lambda: kube.connect(namespace),
        WatchSettings(service=SERVICE, backoff_start=0.2),
        on_change=on_change,
    )
    watcher.start()
    try:
        wait_for(lambda: seen and seen[-1]["present"])
        assert seen[-1]["session_affinity"] == "None"
        assert seen[-1]["internal_traffic_policy"] == "Cluster"
        assert seen[-1]["traffic_distribution"] is None  # v1.29 drops the field
        patches = [
            ({"sessionAffinity": "ClientIP"}, ("session_affinity", "ClientIP")),
            ({"internalTrafficPolicy": "Local"}, ("internal_traffic_policy", "Local")),
        ]
        for patch, (name, value) in patches:
            control_plane.kubectl("-n", namespace, "patch", "svc", SERVICE, "-p", json.dumps({"spec": patch}))
            wait_for(lambda name=name, value=value: seen[-1][name] == value)
        assert seen[-1]["affinity_timeout_seconds"] == 10800
        assert watcher.stats.errors == 0, watcher.stats.last_error
    finally:
        watcher.stop()


@pytest.mark.slow
def test_the_dashboard_sends_its_services_settings_in_hello_and_each_change(
    control_plane, service_namespace, tmp_path
):
    namespace, kubeconfig = service_namespace
    dashboard = start_app(
        COMBAT_DASHBOARD="true",
        DASHBOARD_NAMESPACE=namespace,
        KUBECONFIG=str(kubeconfig),
        COMBAT_SERVICE_URL="http://127.0.0.1:9",
        DATABASE_PATH=str(tmp_path / "dashboard.sqlite3"),
    )
    try:
        socket = LiveSocket(dashboard.url)
        assert "settings" in socket.wait_for(lambda m: m["type"] == "hello")
        # Read at start: in the hello if the watch was quicker than the socket, else announced.
        read = socket.wait_for(
            lambda m: m["type"] in ("hello", "service.changed") and m["settings"]["present"], seconds=60
        )
        assert read["settings"]["session_affinity"] == "None"
        assert [p["name"] for p in read["settings"]["ports"]] == ["app", "grpc"]
        control_plane.kubectl(
            "-n",
            namespace,
            "patch",
            "svc",
            SERVICE,
            "-p",
            json.dumps({"spec": {"sessionAffinity": "ClientIP"}}),
        )
        changed = socket.wait_for(
            lambda m: m["type"] == "service.changed" and m["settings"]["session_affinity"] != "None"
        )
        assert changed["settings"]["session_affinity"] == "ClientIP"
        assert changed["settings"]["affinity_timeout_seconds"] == 10800
        socket.close()
        assert "Traceback" not in dashboard.output()
    finally:
        dashboard.stop()


@pytest.mark.slow
def test_in_the_sandbox_a_patched_setting_reaches_the_page_and_the_next_runs_expectation(tmp_path):
    sandbox = start_sandbox(tmp_path / "sandbox", "--providers", "2", dashboard=True)
    try:
        kubectl = kubectl_for(sandbox)
        socket = LiveSocket(sandbox.dashboard_url)
        try:
            socket.wait_for(lambda m: len([e for e in m.get("_endpoints", ()) if e["ready"]]) == 2, 60)
            socket.wait_for(lambda m: m["type"] in ("hello", "service.changed") and m["settings"]["present"])
            kubectl("patch", "svc", SERVICE, "-p", json.dumps({"spec": {"sessionAffinity": "ClientIP"}}))
            socket.wait_for(
                lambda m: m["type"] == "service.changed" and m["settings"]["session_affinity"] == "ClientIP"
            )
            socket.send({"type": "run.start", "mode": "new-connection", "count": 20, "concurrency": 1})
            finished = socket.wait_for(lambda m: m["type"] == "run.finished", 60)["run"]
            statistics = finished["statistics"]
            assert statistics["pinned"] is True
            assert statistics["expectation"]["settings"]["session_affinity"] == "ClientIP"
            assert statistics["settings_changed"] == []
            assert len(statistics["sequence"]) == statistics["ok"] == 20
        finally:
            socket.close()
    finally:
        sandbox.stop()
