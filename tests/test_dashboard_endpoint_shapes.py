"""Every EndpointSlice shape at once, through the real sandbox and its dashboard pod.

The Service's 2 pods are listed twice (the controller's IPv4 slice and a hand-written IPv6 twin,
as for a dual-stack Service), beside an FQDN slice and a slice without targetRefs. The page, the
API, a run's statistics and the metrics all count 2 pods; no call goes anywhere but to them.
Hand-written slices are created through the API server, as ``kubectl apply`` creates them on a
cluster; the sandbox's EndpointSlice controller leaves them alone (they are not labelled
``endpointslice.kubernetes.io/managed-by`` its name), as the real one does.
"""

from __future__ import annotations

import pytest
import requests

from tests.support.dashboard import dashboard_with_socket, start_run, stored_calls
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
SERVICE = "k8s-combat-service"
SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
FQDN_NAMES = ["provider.example.test", "127.9.9.9"]  # the second looks like an IP; it is a name
SELECTORLESS = "127.9.9.10"  # listed, not ready: a backend nobody may dial


def _hand_written(name: str, address_type: str, endpoints: list[dict], ports: list[dict]) -> dict:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": name, "labels": {"kubernetes.io/service-name": SERVICE}},
        "addressType": address_type,
        "endpoints": endpoints,
        "ports": ports,
    }


def _post(sandbox, endpoint_slice: dict) -> None:
    response = requests.post(f"{sandbox.api_url}{SLICES}", json=endpoint_slice, timeout=5)
    assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with dashboard_with_socket(tmp_path_factory.mktemp("endpoint-shapes"), "--providers", "2") as (
        sandbox,
        socket,
    ):
        wait_for(lambda: len([e for e in socket.latest_endpoints() if e["ready"]]) == 2, 60)
        listed = requests.get(
            f"{sandbox.api_url}{SLICES}",
            params={"labelSelector": f"kubernetes.io/service-name={SERVICE}"},
            timeout=5,
        ).json()["items"]
        [ipv4] = listed
        twins = [
            {**endpoint, "addresses": [f"fd00::{endpoint['addresses'][0].rsplit('.', 1)[1]}"]}
            for endpoint in ipv4["endpoints"]
        ]
        _post(sandbox, _hand_written(f"{SERVICE}-ipv6", "IPv6", twins, list(reversed(ipv4["ports"]))))
        _post(
            sandbox,
            _hand_written(
                f"{SERVICE}-fqdn", "FQDN", [{"addresses": [name]} for name in FQDN_NAMES], ipv4["ports"]
            ),
        )
        _post(
            sandbox,
            _hand_written(
                f"{SERVICE}-selectorless",
                "IPv4",
                [{"addresses": [SELECTORLESS], "conditions": {"ready": False}}],
                ipv4["ports"],
            ),
        )
        socket.wait_for(lambda m: m["type"] == "endpoints.changed" and len(m["_endpoints"]) == 5, 30)
        yield sandbox, socket, {e["targetRef"]["name"]: e["addresses"][0] for e in ipv4["endpoints"]}


def test_the_api_lists_each_pod_once_with_both_addresses_beside_the_fqdn_and_selectorless_endpoints(cluster):
    sandbox, socket, pods = cluster
    state = requests.get(f"{sandbox.dashboard_url}/api/state", timeout=5).json()
    assert state["endpoints"] == socket.latest_endpoints(), "the API and the socket say the same"
    by_name = {endpoint["name"]: endpoint for endpoint in state["endpoints"]}
    assert sorted(e["pod"] for e in state["endpoints"] if e["pod"]) == sorted(pods)
    for pod, ipv4 in pods.items():
        endpoint = by_name[pod]
        assert endpoint["addresses"] == {"IPv4": [ipv4], "IPv6": [f"fd00::{ipv4.rsplit('.', 1)[1]}"]}
        assert (endpoint["key"], endpoint["ip"], endpoint["state"]) == (f"Pod/default/{pod}", ipv4, "ready")
        assert endpoint["ports"]["IPv4"] == endpoint["ports"]["IPv6"] == {"app": 8081, "grpc": 50051}
    for name in FQDN_NAMES:
        assert by_name[name]["addresses"] == {"FQDN": [name]}
        assert (by_name[name]["pod"], by_name[name]["ip"]) == ("", ""), "a name is never shown as an IP"
    selectorless = by_name[SELECTORLESS]
    assert (selectorless["key"], selectorless["pod"], selectorless["state"]) == (
        f"IPv4/{SELECTORLESS}",
        "",
        "not-ready",
    )


def test_a_run_expects_the_2_pods_at_half_each_and_every_answer_is_matched_to_its_pod(cluster):
    sandbox, socket, pods = cluster
    run = start_run(socket, mode="new-connection", count=60, concurrency=2)
    statistics = run["statistics"]
    assert run["expected_pods"] == statistics["expected_pods"] == sorted(pods)
    assert statistics["expected_share"] == 0.5
    assert statistics["ok"] == 60, statistics["errors"]
    assert set(statistics["pods"]) == set(pods), "calls reached the 2 pods and nothing else"
    assert statistics["on_absent"] == 0
    calls = stored_calls(sandbox.dashboard_url, run["id"])
    assert {(call["pod"], call["pod_ip"]) for call in calls} == set(pods.items())
    assert {call["endpoint_state"] for call in calls} == {"ready"}


def test_the_metrics_count_2_ready_pods(cluster):
    sandbox, _, _ = cluster
    metrics = requests.get(f"{sandbox.dashboard_url}/metrics", timeout=5).text
    assert "k8s_combat_ready_endpoints 2\n" in metrics


def test_the_service_proxy_never_dialled_a_name_an_ipv6_twin_or_an_endpoint_that_is_not_ready(cluster):
    sandbox, socket, _ = cluster
    run = start_run(socket, mode="grpc-per-call", count=20, concurrency=2)
    assert run["statistics"]["ok"] == 20, run["statistics"]["errors"]
    log = sandbox.log()
    assert "refused a connection" not in log and "Traceback" not in log, log[-3000:]


def test_kubectl_tables_print_the_hand_written_slices(cluster):
    sandbox, _, _ = cluster
    table = requests.get(
        f"{sandbox.api_url}{SLICES}",
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
        timeout=5,
    ).json()
    cells = {row["cells"][0]: row["cells"][1:4] for row in table["rows"]}
    assert cells[f"{SERVICE}-fqdn"] == ["FQDN", "8081,50051", ",".join(FQDN_NAMES)]
    assert cells[f"{SERVICE}-ipv6"][:2] == ["IPv6", "50051,8081"]


def test_the_api_server_refuses_an_invalid_slice_naming_the_field_and_stores_nothing(cluster):
    sandbox, _, _ = cluster
    invalid = requests.post(
        f"{sandbox.api_url}{SLICES}", json=_hand_written("bad", "Unix", [], []), timeout=5
    )
    assert invalid.status_code == 422
    assert [c["field"] for c in invalid.json()["details"]["causes"]] == ["addressType"]
    assert requests.post(f"{sandbox.api_url}{SLICES}", data=b"[[[", timeout=5).status_code == 400
    assert requests.get(f"{sandbox.api_url}{SLICES}/bad", timeout=5).status_code == 404


def test_the_page_draws_each_pod_once_with_its_addresses_per_family_and_the_names_as_names(cluster):
    from playwright.sync_api import expect, sync_playwright

    from tests.support.browser import launch, pod_card, screenshot

    sandbox, _, pods = cluster
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            page.goto(sandbox.dashboard_url)
            expect(page.locator("#flow .pod")).to_have_count(5, timeout=30_000)
            for pod, ipv4 in pods.items():
                card = pod_card(page, pod)
                expect(card.locator(".address")).to_have_text(f"{ipv4} · fd00::{ipv4.rsplit('.', 1)[1]}")
                expect(card.locator(".ports")).to_have_text("app 8081 · grpc 50051 · sandbox-node")
            fqdn = pod_card(page, "provider.example.test")
            expect(fqdn.locator(".address")).to_have_text("provider.example.test (FQDN)")
            expect(page.locator("#bars .bar")).to_have_count(2)
            expect(page.locator("#expected")).to_contain_text("50%")
            screenshot(page, "endpoint-shapes")
        finally:
            browser.close()
