"""Several target Services (issue 13, part 5), in the sandbox: the dashboard is given its home
Service and the same app's Service in a second namespace (``DASHBOARD_SERVICES``); each is
watched in its own namespace, called by the name a pod would use (the full
``name.namespace.svc.cluster.local`` for the other namespace), and shown on its own socket. A
Service that is not configured is refused everywhere a user can name one."""

from __future__ import annotations

import contextlib
import json
import time

import pytest
import requests
from playwright.sync_api import expect

from tests.support.browser import WAIT_MS, chromium_browser, screenshot  # noqa: F401 (a fixture)
from tests.support.dashboard import LiveSocket, start_run
from tests.support.kubectl import kubectl_for, listed
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

SERVICE, OTHER = "k8s-combat-service", "team-b"
HOME_KEY, OTHER_KEY = f"{SERVICE}.default", f"{SERVICE}.{OTHER}"
FQDN = f"{SERVICE}.{OTHER}.svc.cluster.local"
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OTHER}}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    sandbox = start_sandbox(
        tmp_path_factory.mktemp("several-targets"),
        "--dashboard-env",
        f"DASHBOARD_SERVICES={SERVICE},{OTHER_KEY}",
        dashboard=True,
    )
    try:
        kubectl = kubectl_for(sandbox)
        kubectl("apply", "-f", "-", stdin=json.dumps(NAMESPACE))
        kubectl("apply", "-n", OTHER, "-f", "manifests/base/deployment-service.yaml")
        kubectl("-n", OTHER, "scale", "deployment", SERVICE, "--replicas", "2")
        kubectl("-n", OTHER, "rollout", "status", f"deployment/{SERVICE}", "--timeout", "90s", timeout=100)
        yield sandbox, kubectl
    finally:
        sandbox.stop()


def _ready_pods(kubectl, namespace: str) -> set[str]:
    pods = json.loads(kubectl("-n", namespace, "get", "pods", "-l", f"app={SERVICE}", "-o", "json"))["items"]
    return {
        p["metadata"]["name"]
        for p in pods
        if not p["metadata"].get("deletionTimestamp")
        and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
    }


def _socket(sandbox, target: str | None = None) -> LiveSocket:
    return LiveSocket(sandbox.dashboard_url, query=f"?target={target}" if target else "")


def _hello_with_pods(socket: LiveSocket, pods: set[str]) -> dict:
    """The endpoint set once it holds exactly ``pods`` (ready), as the page would fold it."""
    wait_for(
        lambda: {e["pod"] for e in socket.latest_endpoints() if e["state"] == "ready"} == pods,
        seconds=30,
    )
    return socket.of_type("hello")[0]


def test_the_home_page_lists_both_targets_and_shows_the_first(cluster):
    sandbox, kubectl = cluster
    socket = _socket(sandbox)
    try:
        hello = _hello_with_pods(socket, _ready_pods(kubectl, "default"))
        assert hello["protocol"] == 3
        assert hello["target"] == HOME_KEY
        assert [(t["key"], t["namespace"]) for t in hello["targets"]] == [
            (HOME_KEY, "default"),
            (OTHER_KEY, OTHER),
        ]
        assert dict((t["key"], t["url"]) for t in hello["targets"])[OTHER_KEY] == f"http://{FQDN}:8081"
    finally:
        socket.close()


def test_the_second_namespace_is_watched_and_called_by_its_full_name(cluster):
    sandbox, kubectl = cluster
    other_pods = _ready_pods(kubectl, OTHER)
    assert len(other_pods) == 2
    assert not other_pods & _ready_pods(kubectl, "default")
    home, other = _socket(sandbox), _socket(sandbox, OTHER_KEY)
    try:
        hello = _hello_with_pods(other, other_pods)
        assert hello["target"] == OTHER_KEY
        assert hello["service"] == {"name": SERVICE, "namespace": OTHER, "url": f"http://{FQDN}:8081"}
        assert hello["capabilities"]["chaos"] is False, "the chaos buttons act on the home Service only"

        run = start_run(other, mode="new-connection", count=60, concurrency=4)
        assert run["target"] == OTHER_KEY
        statistics = run["statistics"]
        assert statistics["ok"] == 60, statistics
        reached = {pod for pod, entry in statistics["pods"].items() if entry["count"]}
        assert reached == other_pods, "every call went to the second namespace's pods, and both answered"
        assert sorted(statistics["expected_pods"]) == sorted(other_pods)
        assert statistics["pods_reached"] == 2 and statistics["p_value"] > 0.001, "judged uniform over them"

        calls = other.calls_of(run["id"])
        assert sorted(c["seq"] for c in calls) == list(range(60))
        assert {c["pod"] for c in calls} == other_pods
        assert home.calls_of(run["id"]) == [], "the home page's socket sees none of another target's calls"
        assert all(
            m.get("target") == OTHER_KEY for m in other.messages if "seq" in m and m["type"] != "hello"
        )
    finally:
        home.close()
        other.close()


def test_the_api_starts_and_lists_runs_per_target(cluster):
    sandbox, kubectl = cluster
    session = requests.Session()
    session.get(f"{sandbox.dashboard_url}/api/state", timeout=10)
    headers = {"X-CSRFToken": session.cookies["csrftoken"]}
    started = session.post(
        f"{sandbox.dashboard_url}/api/runs?target={OTHER_KEY}",
        json={"mode": "keep-alive", "count": 20},
        headers=headers,
        timeout=10,
    )
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]

    def finished():
        run = session.get(f"{sandbox.dashboard_url}/api/runs/{run_id}", timeout=10).json()
        return run if run["status"] != "running" else None

    run = wait_for(finished, seconds=60)
    assert run["target"] == OTHER_KEY
    assert set(run["statistics"]["pods"]) <= _ready_pods(kubectl, OTHER)
    listed = session.get(f"{sandbox.dashboard_url}/api/runs?target={OTHER_KEY}", timeout=10).json()["runs"]
    assert run_id in [r["id"] for r in listed] and {r["target"] for r in listed} == {OTHER_KEY}
    home = session.get(f"{sandbox.dashboard_url}/api/runs?target={SERVICE}", timeout=10).json()["runs"]
    assert run_id not in [r["id"] for r in home], "the home Service's list holds none of the other's runs"
    state = session.get(f"{sandbox.dashboard_url}/api/state?target={OTHER_KEY}", timeout=10).json()
    assert state["target"] == OTHER_KEY and {e["pod"] for e in state["endpoints"]} >= _ready_pods(
        kubectl, OTHER
    )


@pytest.mark.parametrize(
    "name", [f"{SERVICE}.team-c", "kubernetes.default", "k8s-combat.default", "Not A Name", "a" * 300]
)
def test_a_service_that_is_not_configured_is_refused(cluster, name):
    sandbox, _ = cluster
    session = requests.Session()
    session.get(f"{sandbox.dashboard_url}/api/state", timeout=10)
    for method, path in (
        ("post", "api/runs"),
        ("post", "api/experiments"),
        ("get", "api/runs"),
        ("get", "api/state"),
    ):
        answer = getattr(session, method)(
            f"{sandbox.dashboard_url}/{path}",
            params={"target": name},
            json={"count": 5} if method == "post" else None,
            headers={"X-CSRFToken": session.cookies["csrftoken"]},
            timeout=10,
        )
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["error"]["code"] == "unknown-target"
        assert answer.json()["error"]["field"] == "target"
        assert HOME_KEY in answer.json()["error"]["message"], "the error lists what may be called"

    socket = LiveSocket(sandbox.dashboard_url, query=f"?target={requests.utils.quote(name)}")
    try:
        assert socket.wait_closed(10) == 4404
        assert [m["code"] for m in socket.messages if m["type"] == "error"] == ["unknown-target"]
        assert not socket.of_type("hello")
    finally:
        socket.close()


def test_grpc_client_may_call_the_second_target_by_its_full_name_and_nothing_else(cluster):
    sandbox, kubectl = cluster
    answer = requests.get(f"{sandbox.dashboard_url}/grpc_client", params={"name": FQDN}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert any(pod in answer.text for pod in _ready_pods(kubectl, OTHER)), answer.text
    refused = requests.get(
        f"{sandbox.dashboard_url}/grpc_client",
        params={"name": f"{SERVICE}.team-c.svc.cluster.local"},
        timeout=10,
    )
    assert refused.status_code == 400 and "team-c" in refused.text


def test_each_service_selects_the_pods_of_its_own_namespace_only(cluster):
    """Both namespaces run the same Deployment with the same labels: each Service's slices live
    in its namespace and hold its namespace's pods only, as the EndpointSlice controller writes
    them (a selector never reaches across namespaces)."""
    _, kubectl = cluster
    for namespace in ("default", OTHER):
        slices = listed(
            kubectl, "-n", namespace, "endpointslices", "-l", f"kubernetes.io/service-name={SERVICE}"
        )
        refs = [e["targetRef"] for s in slices for e in s.get("endpoints") or []]
        assert {s["metadata"]["namespace"] for s in slices} == {namespace}
        assert {r["namespace"] for r in refs} == {namespace}
        assert {r["name"] for r in refs} >= _ready_pods(kubectl, namespace)


def test_the_page_picks_the_second_service_shows_its_pods_and_judges_its_run(cluster, browser):
    sandbox, kubectl = cluster
    other_pods = _ready_pods(kubectl, OTHER)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{sandbox.dashboard_url}/")
        expect(page.locator("#connection")).to_have_attribute("data-status", "open", timeout=WAIT_MS)
        picker = page.locator("#target")
        expect(picker).to_be_visible()
        expect(picker.locator("option")).to_have_text([f"{SERVICE} (default)", f"{SERVICE} ({OTHER})"])
        expect(picker).to_have_value(HOME_KEY)

        picker.select_option(OTHER_KEY)  # the page opens again, for that Service
        page.wait_for_url(f"**/?target={OTHER_KEY}")
        expect(page.locator("#connection")).to_have_attribute("data-status", "open", timeout=WAIT_MS)
        expect(page.locator("#target")).to_have_value(OTHER_KEY)
        expect(page.locator("#flow .pod.ready")).to_have_count(len(other_pods), timeout=WAIT_MS)
        shown = page.evaluate("window.k8sCombat.state().endpoints.map((e) => e.pod)")
        assert set(shown) == other_pods
        for pod in other_pods:  # each card names its pod, in full, to the user or on hover
            assert page.locator(f"#flow .pod:has-text('{pod[-5:]}')").count() == 1
        expect(page.locator("#chaos")).to_be_hidden()
        detail, box = page.locator("#flow .service .detail"), page.locator("#flow .service rect").first
        expect(detail).to_have_text(f"{FQDN}:8081")  # the name the calls use, whole, inside its box
        inner, outer = detail.bounding_box(), box.bounding_box()
        assert outer["x"] <= inner["x"] and inner["x"] + inner["width"] <= outer["x"] + outer["width"]

        page.check("input[name=mode][value=new-connection]")
        page.fill("#count", "100")
        page.fill("#concurrency", "4")
        page.click("#fire-burst")
        expect(page.locator("#verdict")).to_contain_text(
            "spread consistent with random choice", timeout=WAIT_MS
        )
        run = requests.get(f"{sandbox.dashboard_url}/api/runs?target={OTHER_KEY}", timeout=10).json()["runs"][
            0
        ]
        assert run["target"] == OTHER_KEY
        assert {pod for pod, entry in run["statistics"]["pods"].items() if entry["count"]} == other_pods
        screenshot(page, "several-targets-second-namespace")
    finally:
        context.close()


def test_a_page_for_a_service_that_is_not_configured_says_so_and_stops(cluster, browser):
    sandbox, _ = cluster
    context = browser.new_context(locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{sandbox.dashboard_url}/?target=kubernetes.default")
        expect(page.locator("#connection")).to_have_attribute("data-status", "refused", timeout=WAIT_MS)
        expect(page.locator("#problem")).to_contain_text("is not a Service this dashboard calls")
        expect(page.locator("#fire-burst")).to_be_disabled()
    finally:
        context.close()


def test_the_chaos_buttons_act_on_the_home_service_when_another_is_listed_first(tmp_path):
    """``DASHBOARD_SERVICES`` may list another namespace's Service first (the page shows it
    first); the scale and delete buttons still act on the home Service, and a pod of it is
    deleted, not refused as no endpoint."""
    sandbox = start_sandbox(
        tmp_path, "--dashboard-env", f"DASHBOARD_SERVICES={OTHER_KEY},{SERVICE}", dashboard=True
    )
    try:
        kubectl = kubectl_for(sandbox)
        victim = sorted(wait_for(lambda: _ready_pods(kubectl, "default"), 60))[0]
        with contextlib.closing(_socket(sandbox, SERVICE)) as socket:
            wait_for(lambda: victim in {e["pod"] for e in socket.latest_endpoints()}, 30)
            socket.send({"type": "pod.delete", "name": victim})
            wait_for(lambda: socket.of_type("error") or victim not in _ready_pods(kubectl, "default"), 60)
            assert not socket.of_type("error"), socket.of_type("error")
    finally:
        sandbox.stop()


def test_the_dashboards_forward_reaches_its_own_namespaces_pod_only(cluster):
    """``make run``'s forward to the dashboard is ``kubectl port-forward deploy/k8s-combat``: a pod
    of that Deployment, in its namespace. When that pod goes, a Deployment of the same name and
    labels in another namespace is never taken instead (a selector selects in its own namespace
    only); the forward waits for the replacement."""
    sandbox, kubectl = cluster
    labels = {"app": "k8s-combat"}
    twin = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "k8s-combat", "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "k8s-combat", "image": "k8s-combat"}]},
            },
        },
    }
    kubectl("-n", OTHER, "apply", "-f", "-", stdin=json.dumps(twin))
    try:
        kubectl("-n", OTHER, "rollout", "status", "deployment/k8s-combat", "--timeout", "90s", timeout=100)
        (twin_pod,) = [
            p["metadata"]["name"] for p in listed(kubectl, "-n", OTHER, "pods", "-l", "app=k8s-combat")
        ]
        (serving,) = [p["metadata"]["name"] for p in listed(kubectl, "pods", "-l", "app=k8s-combat")]
        kubectl("delete", "pod", serving, "--wait=false")
        answered = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not answered or answered[-1] == serving):
            try:
                answered.append(
                    requests.get(f"{sandbox.dashboard_url}/ping", timeout=5).headers["x-pod-name"]
                )
            except requests.RequestException:  # the old pod gone, the new one not ready yet
                time.sleep(0.2)
        assert twin_pod not in answered, f"{OTHER}'s {twin_pod} answered for the default namespace"
        assert answered and answered[-1] != serving, "the replacement answers"
    finally:
        kubectl("-n", OTHER, "delete", "deployment", "k8s-combat", "--wait=false")
