"""A Service of 300 pods, end to end: lightweight pods in the sandbox, slices of at most 100, the
dashboard's endpoint set equal to the server's through a scale 300 -> 50 -> 300, and the page's
compact view showing every pod and a 3000-call run's verdict.

300 pods is what CI's two cores afford; bench/scale.py runs the same path at 1000 and measures it.
"""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from tests.support.browser import launch
from tests.support.kubectl import kubectl_for, listed
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
SERVICE = "k8s-combat-service"
WAIT_MS = 120_000


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    cluster = start_sandbox(tmp_path_factory.mktemp("scale"), dashboard=True, niceness=10)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def kubectl(sandbox):
    return kubectl_for(sandbox)


def server_endpoints(kubectl) -> set[tuple[str, bool]]:
    """(pod, ready) of every endpoint in the Service's slices; no slice holds more than 100."""
    slices = listed(kubectl, "endpointslices", "-l", f"kubernetes.io/service-name={SERVICE}")
    sizes = [len(s.get("endpoints") or []) for s in slices]
    assert max(sizes, default=0) <= 100, sizes
    return {
        (e["targetRef"]["name"], bool(e["conditions"].get("ready")))
        for s in slices
        for e in s.get("endpoints") or []
    }


def dashboard_endpoints(sandbox) -> set[tuple[str, bool]]:
    state = requests.get(f"{sandbox.dashboard_url}/api/state", timeout=30).json()
    return {(e["pod"], e["ready"]) for e in state["endpoints"]}


def settle_at(sandbox, kubectl, replicas: int) -> set[tuple[str, bool]]:
    """Scale, wait until the slices hold ``replicas`` ready pods and nothing else, then until the
    dashboard's set is the server's, endpoint for endpoint."""
    kubectl("scale", f"deploy/{SERVICE}", f"--replicas={replicas}")

    def all_ready():
        endpoints = server_endpoints(kubectl)
        return endpoints if len(endpoints) == replicas and all(ready for _, ready in endpoints) else None

    server = wait_for(all_ready, seconds=300, every=1)
    wait_for(lambda: dashboard_endpoints(sandbox) == server, seconds=60, every=0.5)
    return server


def test_the_dashboard_follows_a_scale_300_to_50_to_300_and_the_page_shows_every_pod(sandbox, kubectl):
    first = settle_at(sandbox, kubectl, 300)
    slices = listed(kubectl, "endpointslices", "-l", f"kubernetes.io/service-name={SERVICE}")
    assert len(slices) == 3  # 100 each, as the real controller cuts them
    pods = {pod for pod, _ in first}
    answered = {
        requests.get(f"{sandbox.service_url}/ping", timeout=10).headers["x-pod-name"] for _ in range(60)
    }
    assert answered <= pods and len(answered) > 20  # new connections spread over the 300

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="en-US")
            page.goto(sandbox.dashboard_url + "/")
            expect(page.locator("#connection")).to_have_attribute("data-status", "open", timeout=WAIT_MS)
            cells = page.locator("#grid-cells [role=option]")
            expect(cells).to_have_count(300, timeout=WAIT_MS)
            expect(page.locator("#flow .pod")).to_have_count(0)
            shown = set(
                page.eval_on_selector_all(
                    "#grid-cells [role=option]", "cells => cells.map(c => c.dataset.pod)"
                )
            )
            assert shown == pods

            page.check("input[name=mode][value=new-connection]")
            page.fill("#count", "3000")
            page.fill("#concurrency", "8")
            page.click("#fire-burst")
            verdict = page.locator("#verdict")
            expect(verdict).to_contain_text("3000 calls reached", timeout=300_000)
            expect(verdict).to_contain_text("of 300 pods")
            expect(verdict).to_contain_text("busiest pod")
            expect(page.locator("#distribution")).to_be_visible()
            run = page.evaluate("window.k8sCombat.state().run")
            assert run["statistics"]["ok"] == 3000 and not run["statistics"]["too_few_calls"]
            assert run["statistics"]["pods_reached"] > 250  # 10 calls a pod: few are missed

            settle_at(sandbox, kubectl, 50)
            expect(cells).to_have_count(50, timeout=WAIT_MS)
            settle_at(sandbox, kubectl, 20)  # at the threshold: the flow's cards again
            expect(page.locator("#flow .pod")).to_have_count(20, timeout=WAIT_MS)
            expect(page.locator("#grid")).to_be_hidden()
            final = settle_at(sandbox, kubectl, 300)
            expect(cells).to_have_count(300, timeout=WAIT_MS)
            shown = set(
                page.eval_on_selector_all(
                    "#grid-cells [role=option]", "cells => cells.map(c => c.dataset.pod)"
                )
            )
            assert shown == {pod for pod, _ in final}
        finally:
            browser.close()
