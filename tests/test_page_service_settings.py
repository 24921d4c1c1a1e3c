"""The Service's settings and the verdicts they explain, on the page in Debian's Chromium. The
websocket is faked at the network seam (tests/support/browser.py's harness), with messages
built by the project's own code: endpoints by ``from_slices``, settings by ``settings_of``, the
expectation by ``expectation`` and statistics by ``run_statistics``."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dashboard.records import CallRecord
from dashboard.service_settings import expectation, settings_of
from dashboard.slices import from_slices, in_order
from dashboard.statistics import run_statistics
from tests.support.browser import (
    WAIT_MS,
    chromium_browser,  # noqa: F401 - a fixture
    connect,
    open_page,
    rendered_pages,  # noqa: F401 - a fixture
    screenshot,
)

pytestmark = pytest.mark.slow

PODS = [("svc-a", "node-0", "zone-1"), ("svc-b", "node-0", "zone-1"), ("svc-c", "node-1", "zone-2")]


def endpoint_set():
    items = [
        {
            "addresses": [f"10.1.0.{i}"],
            "conditions": {"ready": True},
            "nodeName": node,
            "zone": zone,
            "hints": {"forZones": [{"name": zone}]},
            "targetRef": {"kind": "Pod", "namespace": "default", "name": name},
        }
        for i, (name, node, zone) in enumerate(PODS, start=2)
    ]
    return from_slices(
        [{"addressType": "IPv4", "endpoints": items, "ports": [{"name": "app", "port": 8081}]}]
    )


def service(**spec) -> dict:
    ports = [{"name": "app", "port": 8081, "targetPort": 8081}, {"name": "grpc", "port": 50051}]
    return {"metadata": {"name": "k8s-combat-service"}, "spec": {"type": "ClusterIP", "ports": ports, **spec}}


def finished_run(run_id: int, answers: list[str], settings: dict, settings_now: dict | None = None) -> dict:
    expected = expectation(settings, endpoint_set(), node="node-0")
    records = [
        CallRecord(
            run_id, seq, "new-connection", 1.0, 1.5, "ok", pod, "", "", 40000 + seq, False, "ready", ""
        )
        for seq, pod in enumerate(answers)
    ]
    statistics = run_statistics(
        records, expected["pods"], expectation=expected, settings_now=settings_now or settings
    )
    return {
        "id": run_id, "mode": "new-connection", "count": len(answers), "concurrency": 1, "rate": None,
        "status": "finished", "origin": "fake/1", "started_at": 1.0, "finished_at": 9.0,
        "expected_pods": expected["pods"], "statistics": statistics, "reason": "",
    }  # fmt: skip


def show(dashboard, run: dict) -> None:
    """The run as the page sees one: started, then finished with its statistics."""
    dashboard.send({"type": "run.started", "run": {**run, "status": "running", "statistics": {}}})
    dashboard.send({"type": "run.finished", "run": run})


@pytest.fixture
def opened_in(pages, browser):
    contexts = []

    def open_in(language: str):
        context, page, dashboard = open_page(browser, pages, language)
        contexts.append(context)
        endpoints = [e.as_dict() for e in in_order(endpoint_set())]
        original = dashboard.send

        def send(message):  # the hello carries the settings, as the engine's does
            if message["type"] == "hello":
                message = {**message, "settings": settings_of(service(sessionAffinity="ClientIP"))}
            original(message)

        dashboard.send = send
        connect(page, dashboard, endpoints)
        return page, dashboard

    yield open_in
    for context in contexts:
        context.close()


def test_the_settings_panel_shows_the_service_its_node_and_zone_and_follows_a_change(opened_in):
    page, dashboard = opened_in("en")
    listed = page.locator("#settings-list")
    expect(listed).to_contain_text("sessionAffinity", timeout=WAIT_MS)
    expect(listed).to_contain_text("ClientIP, for 10800 s")
    expect(listed).to_contain_text("app 8081→8081/TCP, grpc 50051→50051/TCP")
    expect(listed).to_contain_text("trafficDistribution" + "not set")  # <dt> then <dd>
    expect(listed).to_contain_text("this dashboard's node" + "node-0")
    expect(listed).to_contain_text("this dashboard's zone" + "zone-1")
    rows = page.locator("#settings-nodes tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("node-0 (this dashboard)")
    expect(rows.nth(0)).to_contain_text("zone-1")
    expect(rows.nth(0)).to_contain_text("2/2")
    expect(rows.nth(1)).to_contain_text("svc-c")

    changed = settings_of(service(internalTrafficPolicy="Local", trafficDistribution="PreferClose"))
    dashboard.send({"type": "service.changed", "at": 2.0, "settings": changed})
    expect(listed).to_contain_text("internalTrafficPolicy" + "Local", timeout=WAIT_MS)
    expect(listed).to_contain_text("trafficDistribution" + "PreferClose")
    expect(listed).to_contain_text("sessionAffinity" + "None")
    screenshot(page, "settings-01-panel")


def test_each_setting_is_named_in_the_verdict_that_it_explains(opened_in):
    page, dashboard = opened_in("en")
    verdict = page.locator("#verdict")
    pinned = settings_of(service(sessionAffinity="ClientIP"))
    show(dashboard, finished_run(1, ["svc-b"] * 300, pinned))
    expect(verdict).to_have_text(
        "all 300 calls on one pod: sessionAffinity ClientIP pins each client to a pod", timeout=WAIT_MS
    )
    local = settings_of(service(internalTrafficPolicy="Local"))
    show(dashboard, finished_run(2, ["svc-a", "svc-b"] * 150, local))
    expect(verdict).to_contain_text(
        "300 calls stayed on the 2 pods of this node (node-0): internalTrafficPolicy Local", timeout=WAIT_MS
    )
    close = settings_of(service(trafficDistribution="PreferClose"))
    show(dashboard, finished_run(3, ["svc-b", "svc-a"] * 150, close))
    expect(verdict).to_contain_text(
        "300 calls stayed on the 2 pods of zone zone-1: trafficDistribution PreferClose", timeout=WAIT_MS
    )
    plain = settings_of(service())
    show(dashboard, finished_run(4, ["svc-a", "svc-b", "svc-c"] * 100, plain, pinned))
    expect(verdict).to_contain_text(
        "a Service setting changed during this run (sessionAffinity, sessionAffinityConfig)", timeout=WAIT_MS
    )


def test_a_rotation_is_drawn_call_by_call_and_called_round_robin_with_its_statistic(opened_in):
    page, dashboard = opened_in("en")
    plain = settings_of(service())
    show(dashboard, finished_run(5, ["svc-a", "svc-b", "svc-c"] * 100, plain))
    strip = page.locator("#sequence-strip .sequence-call")
    expect(strip).to_have_count(100, timeout=WAIT_MS)
    assert [strip.nth(i).get_attribute("data-pod") for i in range(4)] == ["svc-a", "svc-b", "svc-c", "svc-a"]
    rotation = page.locator("#rotation")
    expect(rotation).to_contain_text("round-robin (IPVS), not the random choice of iptables mode")
    expect(rotation).to_contain_text("repeats (same pod twice in a row) 0 against 99.67 expected")
    expect(rotation).to_contain_text("< 0.001")
    verdict = page.locator("#verdict")  # the headline agrees: no "random choice" for a rotation
    expect(verdict).to_contain_text("300 calls reached 3 of 3 pods in turn: round-robin (IPVS mode)")
    expect(verdict).not_to_contain_text("consistent with random choice")
    screenshot(page, "settings-02-round-robin")


def test_the_verdicts_and_the_panel_are_in_chinese_too(opened_in):
    page, dashboard = opened_in("zh-hans")
    expect(page.locator("#settings-list")).to_contain_text("ClientIP，保持 10800 秒", timeout=WAIT_MS)  # noqa: RUF001
    pinned = settings_of(service(sessionAffinity="ClientIP"))
    show(dashboard, finished_run(1, ["svc-b"] * 300, pinned))
    expect(page.locator("#verdict")).to_have_text(
        "全部 300 次调用落在同一个 Pod 上：sessionAffinity ClientIP 把每个客户端固定到一个 Pod",  # noqa: RUF001
        timeout=WAIT_MS,
    )
