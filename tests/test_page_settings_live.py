"""Each Service setting patched live with ``kubectl patch svc``, judged by the page (issue 13):
in a sandbox of 2 nodes in 2 zones with 4 providers, a 300-call new-connection burst fired from
the page in Debian's Chromium lands as the setting predicts, and the verdict the user reads
names the setting; under the default settings the same burst is judged uniform."""

from __future__ import annotations

import json

import pytest
import requests
from playwright.sync_api import expect

from tests.support.browser import WAIT_MS, chromium_browser, open_live, screenshot  # noqa: F401 (a fixture)
from tests.support.kubectl import kubectl_for
from tests.support.sandbox import TWO_ZONES, start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

SERVICE = "k8s-combat-service"
CALLS = 300
PROXY_MODE = "sandbox.k8s-combat.dev/proxy-mode"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    sandbox = start_sandbox(
        tmp_path_factory.mktemp("page-settings-live"),
        *TWO_ZONES,
        dashboard=True,
        niceness=5,
    )
    try:
        kubectl = kubectl_for(sandbox)
        kubectl("rollout", "status", f"deployment/{SERVICE}", "--timeout", "90s", timeout=100)
        yield sandbox, kubectl
    finally:
        sandbox.stop()


@pytest.fixture
def page(cluster, browser):
    sandbox, _ = cluster
    context, opened = open_live(browser, f"{sandbox.dashboard_url}/")
    yield opened
    context.close()


def _patch_and_wait(sandbox, kubectl, patch: dict, settings: dict) -> None:
    """Patch the Service, then wait until the dashboard's watch of it shows ``settings``."""
    kubectl("patch", "svc", SERVICE, "-p", json.dumps(patch))

    def seen():
        now = requests.get(f"{sandbox.dashboard_url}/api/state", timeout=10).json()["settings"]
        return all(now.get(name) == value for name, value in settings.items())

    wait_for(seen, seconds=30)


def _burst(page, *, concurrency: int = 4) -> str:
    """Fire a 300-call new-connection burst from the page; the verdict it shows."""
    before = page.evaluate("(window.k8sCombat.state().run || {id: 0}).id")
    page.check("input[name=mode][value=new-connection]")
    page.fill("#count", str(CALLS))
    page.fill("#concurrency", str(concurrency))
    page.click("#fire-burst")
    page.wait_for_function(
        f"(run => run && run.id > {before} && run.status !== 'running')(window.k8sCombat.state().run)",
        timeout=WAIT_MS,
    )
    expect(page.locator("#verdict")).not_to_be_empty()
    return page.locator("#verdict").inner_text()


def _reached(sandbox) -> dict[str, int]:
    run = requests.get(f"{sandbox.dashboard_url}/api/runs", timeout=10).json()["runs"][0]
    assert run["status"] == "finished" and run["statistics"]["ok"] == CALLS, run
    return {pod: entry["count"] for pod, entry in run["statistics"]["pods"].items() if entry["count"]}


def _nodes_and_zones(kubectl) -> tuple[dict[str, set[str]], dict[str, str], str]:
    """Providers by node, each node's zone, and the dashboard's (consumer's) node."""
    pods = json.loads(kubectl("get", "pods", "-o", "json"))["items"]
    by_node: dict[str, set[str]] = {}
    consumer = ""
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        if pod["metadata"]["name"].startswith(f"{SERVICE}-"):
            by_node.setdefault(pod["spec"]["nodeName"], set()).add(pod["metadata"]["name"])
        else:
            consumer = pod["spec"]["nodeName"]
    nodes = json.loads(kubectl("get", "nodes", "-o", "json"))["items"]
    zones = {n["metadata"]["name"]: n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in nodes}
    return by_node, zones, consumer


def test_under_the_default_settings_the_burst_is_judged_uniform(cluster, page):
    sandbox, _ = cluster
    verdict = _burst(page)
    assert f"{CALLS} calls reached 4 of 4 pods: spread consistent with random choice" in verdict
    assert len(_reached(sandbox)) == 4


def test_client_ip_affinity_pins_the_burst_and_the_verdict_says_so(cluster, page):
    sandbox, kubectl = cluster
    _patch_and_wait(
        sandbox, kubectl, {"spec": {"sessionAffinity": "ClientIP"}}, {"session_affinity": "ClientIP"}
    )
    try:
        verdict = _burst(page)
        assert len(_reached(sandbox)) == 1
        assert f"all {CALLS} calls on one pod: sessionAffinity ClientIP pins each client to a pod" in verdict
        screenshot(page, "settings-live-client-ip")
    finally:
        _patch_and_wait(sandbox, kubectl, {"spec": {"sessionAffinity": "None"}}, {"session_affinity": "None"})


def test_internal_traffic_policy_local_keeps_the_burst_on_the_dashboards_node(cluster, page):
    sandbox, kubectl = cluster
    by_node, _, consumer_node = _nodes_and_zones(kubectl)
    _patch_and_wait(
        sandbox, kubectl, {"spec": {"internalTrafficPolicy": "Local"}}, {"internal_traffic_policy": "Local"}
    )
    try:
        verdict = _burst(page)
        assert set(_reached(sandbox)) == by_node[consumer_node]
        assert (
            f"{CALLS} calls stayed on the {len(by_node[consumer_node])} pods of this node ({consumer_node}): "
            "internalTrafficPolicy Local" in verdict
        )
    finally:
        _patch_and_wait(
            sandbox,
            kubectl,
            {"spec": {"internalTrafficPolicy": "Cluster"}},
            {"internal_traffic_policy": "Cluster"},
        )


def test_prefer_close_keeps_the_burst_in_the_dashboards_zone(cluster, page):
    sandbox, kubectl = cluster
    by_node, zones, consumer_node = _nodes_and_zones(kubectl)
    zone = zones[consumer_node]
    in_zone = set().union(*(pods for node, pods in by_node.items() if zones[node] == zone))
    _patch_and_wait(
        sandbox,
        kubectl,
        {"spec": {"trafficDistribution": "PreferClose"}},
        {"traffic_distribution": "PreferClose"},
    )
    try:
        verdict = _burst(page)
        assert set(_reached(sandbox)) == in_zone
        assert (
            f"{CALLS} calls stayed on the {len(in_zone)} pods of zone {zone}: trafficDistribution PreferClose"
            in verdict
        )
    finally:
        _patch_and_wait(
            sandbox, kubectl, {"spec": {"trafficDistribution": None}}, {"traffic_distribution": None}
        )


def test_round_robin_mode_is_told_from_random_choice_by_its_repeats(cluster, page):
    sandbox, kubectl = cluster
    kubectl("patch", "svc", SERVICE, "-p", json.dumps({"metadata": {"annotations": {PROXY_MODE: "ipvs"}}}))
    try:
        verdict = _burst(page, concurrency=1)
        counts = _reached(sandbox)
        assert len(counts) == 4 and max(counts.values()) - min(counts.values()) <= 1
        assert f"{CALLS} calls reached 4 of 4 pods in turn: round-robin (IPVS mode)" in verdict
        assert "random choice," not in verdict
    finally:
        kubectl("patch", "svc", SERVICE, "-p", json.dumps({"metadata": {"annotations": {PROXY_MODE: None}}}))
