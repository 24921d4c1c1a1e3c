"""The dashboard against a real kube-apiserver, as its own ServiceAccount (a TokenRequest token and
the manifests' Roles): the watcher follows hand-written EndpointSlices through every kind of
change a cluster makes, relists after a real 410 Gone, and the chaos buttons work with the chaos
overlay's Role and are refused with a clear reason without it."""

from __future__ import annotations

import json
import threading

import pytest

from dashboard import kube, slices
from dashboard.watching import EndpointWatcher, WatchSettings
from tests.support.dashboard import LiveSocket
from tests.support.processes import start_app
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

SERVICE = "k8s-combat-service"
CATCH_UP_SECONDS = 30


def _slice(name: str, family: str, endpoints: list[dict], namespace: str) -> dict:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": namespace, "labels": {"kubernetes.io/service-name": SERVICE}},
        "addressType": family,
        "ports": [{"name": "app", "port": 8081, "protocol": "TCP"}],
        "endpoints": endpoints,
    }


def _endpoint(pod: str, address: str, namespace: str, **conditions: bool) -> dict:
    return {
        "addresses": [address],
        "conditions": conditions,
        "nodeName": "node-1",
        "targetRef": {"kind": "Pod", "namespace": namespace, "name": pod},
    }


def _servers_set(control_plane, namespace: str) -> slices.EndpointSet:
    listed = control_plane.kubectl(
        "-n", namespace, "get", "endpointslices", "-l", f"kubernetes.io/service-name={SERVICE}", "-o", "json"
    )
    return slices.from_slices(json.loads(listed.stdout)["items"])


@pytest.fixture
def account(control_plane, monkeypatch):
    """A namespace with the base manifests applied, and the dashboard's ServiceAccount's kubeconfig."""
    namespace = control_plane.namespace("watch")
    control_plane.kubectl("-n", namespace, "apply", "-f", "manifests/base/rbac.yaml")
    kubeconfig = control_plane.token_kubeconfig(namespace, "k8s-combat")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    return namespace, kubeconfig


def test_the_watcher_follows_every_change_a_cluster_makes_and_relists_after_a_real_410(
    control_plane, account
):
    namespace, _ = account
    seen = threading.Event()
    watcher = EndpointWatcher(
        lambda: kube.connect(namespace),
        WatchSettings(service=SERVICE, backoff_start=0.2, backoff_max=2.0),
        on_change=lambda _: seen.set(),
    )
    watcher.start()

    def change(*manifests: dict, delete: str | None = None) -> None:
        if delete:
            control_plane.kubectl("-n", namespace, "delete", "endpointslice", delete)
        for manifest in manifests:
            control_plane.apply(manifest, namespace=namespace)
        server = _servers_set(control_plane, namespace)
        # Normally within milliseconds (bench/dashboard_engine.py); the deadline only bounds the
        # wait, so that a busy machine cannot fail the test.
        wait_for(lambda: watcher.endpoints == server, seconds=CATCH_UP_SECONDS, every=0.01)

    a, b, c = (f"provider-{n}" for n in "abc")
    try:
        wait_for(lambda: watcher.stats.connected, seconds=30)
        ipv4 = "k8s-combat-service-ipv4"
        change(
            _slice(
                ipv4,
                "IPv4",
                [_endpoint(a, "10.1.0.5", namespace), _endpoint(b, "10.1.0.6", namespace)],
                namespace,
            )
        )
        assert sorted(e.pod for e in watcher.endpoints.values()) == [a, b]
        # Readiness flips off, then the pod terminates (serving while it drains), then it is gone.
        change(
            _slice(
                ipv4,
                "IPv4",
                [_endpoint(a, "10.1.0.5", namespace), _endpoint(b, "10.1.0.6", namespace, ready=False)],
                namespace,
            )
        )
        assert slices.ready_pods(watcher.endpoints) == [a]
        terminating = _endpoint(a, "10.1.0.5", namespace, ready=False, serving=True, terminating=True)
        change(_slice(ipv4, "IPv4", [terminating, _endpoint(b, "10.1.0.6", namespace)], namespace))
        assert [e.state for e in slices.in_order(watcher.endpoints)] == ["terminating", "ready"]
        change(_slice(ipv4, "IPv4", [_endpoint(b, "10.1.0.6", namespace)], namespace))
        # Dual-stack: an IPv6 slice lists the same pod; a third slice splits the Service.
        change(_slice("k8s-combat-service-ipv6", "IPv6", [_endpoint(b, "fd00::6", namespace)], namespace))
        assert len(watcher.endpoints) == 1, "one pod, two address families"
        change(_slice("k8s-combat-service-more", "IPv4", [_endpoint(c, "10.1.0.7", namespace)], namespace))
        assert slices.ready_pods(watcher.endpoints) == [b, c]
        change(delete="k8s-combat-service-ipv6")

        # A real 410: the restarted server's watch cache starts after the watcher's version.
        gone_before = watcher.stats.gone
        control_plane.restart()
        control_plane.apply(
            _slice(ipv4, "IPv4", [_endpoint(b, "10.1.0.6", namespace, ready=False)], namespace),
            namespace=namespace,
        )
        wait_for(lambda: watcher.stats.gone > gone_before, seconds=60)
        wait_for(lambda: watcher.endpoints == _servers_set(control_plane, namespace), seconds=30)
        change(
            _slice(
                ipv4,
                "IPv4",
                [_endpoint(b, "10.1.0.6", namespace), _endpoint(a, "10.1.0.8", namespace)],
                namespace,
            )
        )
        assert slices.ready_pods(watcher.endpoints) == [a, b, c]
    finally:
        watcher.stop()
    assert watcher.stats.errors >= 1, "the restart was seen as a failed watch, then healed"


def _provider_objects(control_plane, namespace: str) -> None:
    """What the controllers and kubelet would have made: a pod, and the slice that lists it."""
    deployment = json.loads(
        control_plane.kubectl("-n", namespace, "get", "deployment", SERVICE, "-o", "json").stdout
    )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{SERVICE}-pod-1", "labels": deployment["spec"]["selector"]["matchLabels"]},
        "spec": deployment["spec"]["template"]["spec"],
    }
    control_plane.apply(pod, namespace=namespace)
    endpoint = _endpoint(f"{SERVICE}-pod-1", "10.1.0.9", namespace, ready=True)
    control_plane.apply(_slice(f"{SERVICE}-x", "IPv4", [endpoint], namespace), namespace=namespace)


def _dashboard_for(control_plane, overlay: str, app_server, tmp_path):
    namespace = control_plane.namespace("chaos")
    control_plane.kubectl(
        "-n", namespace, "create", "secret", "generic", "k8s-combat", "--from-literal=secret-key=x"
    )
    control_plane.kubectl("-n", namespace, "apply", "-k", overlay)
    _provider_objects(control_plane, namespace)
    kubeconfig = control_plane.token_kubeconfig(namespace, "k8s-combat")
    provider = app_server(POD_NAME=f"{SERVICE}-pod-1")
    dashboard = start_app(
        COMBAT_DASHBOARD="true",
        DASHBOARD_CHAOS="true",
        DASHBOARD_NAMESPACE=namespace,
        KUBECONFIG=str(kubeconfig),
        COMBAT_SERVICE_URL=provider.url,
        DATABASE_PATH=str(tmp_path / "dashboard.sqlite3"),
    )
    socket = LiveSocket(dashboard.url)
    socket.wait_for(lambda m: m.get("_endpoints"))
    return namespace, dashboard, socket


def test_the_chaos_buttons_scale_and_delete_with_the_chaos_role(control_plane, app_server, tmp_path):
    namespace, dashboard, socket = _dashboard_for(
        control_plane, "manifests/overlays/chaos", app_server, tmp_path
    )
    try:
        socket.send({"type": "deployment.scale", "replicas": 3})
        wait_for(
            lambda: (
                control_plane.kubectl(
                    "-n", namespace, "get", "deployment", SERVICE, "-o", "jsonpath={.spec.replicas}"
                ).stdout
                == "3"
            )
        )
        socket.send({"type": "pod.delete", "name": f"{SERVICE}-pod-1"})
        wait_for(
            lambda: not control_plane.kubectl("-n", namespace, "get", "pods", "-o", "name").stdout.strip()
        )
        assert not socket.of_type("error"), socket.of_type("error")
    finally:
        socket.close()
        dashboard.stop()


def test_without_the_chaos_role_the_buttons_are_refused_with_the_reason(control_plane, app_server, tmp_path):
    namespace, dashboard, socket = _dashboard_for(control_plane, "manifests/base", app_server, tmp_path)
    try:
        socket.send({"type": "deployment.scale", "replicas": 3})
        refused = socket.wait_for(lambda m: m["type"] == "error")
        assert refused["code"] == "forbidden"
        assert "may not" in refused["message"] and "manifests/overlays/chaos" in refused["message"]
        socket.send({"type": "pod.delete", "name": f"{SERVICE}-pod-1"})
        socket.wait_for(lambda m: m["type"] == "error" and m is not refused and m["code"] == "forbidden")
        assert "Traceback" not in dashboard.output()
        replicas = control_plane.kubectl(
            "-n", namespace, "get", "deployment", SERVICE, "-o", "jsonpath={.spec.replicas}"
        )
        assert replicas.stdout == "2", "as the manifest says: nothing was scaled"
    finally:
        socket.close()
        dashboard.stop()
