"""The page with hundreds of pods, in Debian's Chromium: the compact view, its cells, search and
the verdict at scale. No cluster: the page is the real template and modules, and the websocket is
faked at the network seam (Playwright's ``route_web_socket``) with messages built by the project's
own code (EndpointSlices read by ``from_slices``, statistics by ``run_statistics``)."""

from __future__ import annotations

import random

import pytest
from playwright.sync_api import expect

from tests.support.browser import (
    WAIT_MS,
    chromium_browser,  # noqa: F401 - a fixture
    connect,
    endpoint_set,
    hello,
    open_page,
    rendered_pages,  # noqa: F401 - a fixture
    screenshot,
)

pytestmark = pytest.mark.slow
THRESHOLD = 24  # COMPACT_ABOVE in static/dashboard/grid.js
TIMES = "\u00d7"  # the page writes a ratio as 1.50 and a multiplication sign


@pytest.fixture
def opened(pages, browser):  # the pages are rendered before Playwright's loop runs in this thread
    context, page, dashboard = open_page(browser, pages)
    try:
        yield page, dashboard
    finally:
        context.close()


cells = "#grid-cells [role=option]"


def test_up_to_the_threshold_the_flow_draws_a_card_per_pod_and_past_it_the_grid(opened):
    page, dashboard = opened
    connect(page, dashboard, endpoint_set(THRESHOLD))
    expect(page.locator("#flow .pod")).to_have_count(THRESHOLD, timeout=WAIT_MS)
    expect(page.locator("#grid")).to_be_hidden()
    expect(page.locator("#bars .bar")).to_have_count(THRESHOLD)
    dashboard.send(hello(endpoint_set(THRESHOLD + 6), seq=dashboard.seq))
    expect(page.locator(cells)).to_have_count(THRESHOLD + 6, timeout=WAIT_MS)
    expect(page.locator("#grid")).to_be_visible()
    expect(page.locator("#flow .pod")).to_have_count(0)
    expect(page.locator("#flow")).to_be_hidden()
    expect(page.locator("#distribution")).to_be_visible()
    expect(page.locator("#bars .bar")).to_have_count(0)
    dashboard.send(hello(endpoint_set(2), seq=dashboard.seq))
    expect(page.locator("#flow .pod")).to_have_count(2, timeout=WAIT_MS)
    expect(page.locator("#grid")).to_be_hidden()


def test_300_pods_are_300_cells_grouped_by_node_with_their_state_told_by_shape(opened):
    page, dashboard = opened
    connect(page, dashboard, endpoint_set(300, not_ready=5, terminating=7))
    expect(page.locator(cells)).to_have_count(300, timeout=WAIT_MS)
    expect(page.locator("#grid-cells [role=group]")).to_have_count(4)
    expect(page.locator("#grid-cells [role=group]").first).to_have_attribute("aria-label", "node-0: 75 pods")
    expect(page.locator("#grid-cells .cell.not-ready")).to_have_count(5)
    expect(page.locator("#grid-cells .cell.terminating")).to_have_count(7)
    styles = page.evaluate(
        """[".ready", ".not-ready", ".terminating"].map((kind) => {
             const style = getComputedStyle(document.querySelector(`#grid-cells .cell${kind}`));
             return style.borderTopStyle;
           })"""
    )
    assert styles == ["solid", "dashed", "dotted"], "a state is told by the border's pattern, not colour only"
    expect(page.locator("#grid-summary")).to_have_text(
        "300 pods on 4 nodes: 288 ready, 5 not ready, 7 terminating"
    )
    assert page.locator(f"{cells}[tabindex='0']").count() == 1, "one tab stop for all the cells"
    screenshot(page, "scale-01-300-pods")


def test_a_focused_cell_names_its_pod_and_its_numbers_and_arrow_keys_move(opened):
    page, dashboard = opened
    pods = [f"svc-{index:04d}" for index in range(300)]
    connect(page, dashboard, endpoint_set(300))
    expect(page.locator(cells)).to_have_count(300, timeout=WAIT_MS)
    # 10 calls on each pod but the last ten (9 each), and 10 more on svc-0000: 3000 in all.
    dashboard.run(1, pods, [pods[seq % 300] for seq in range(2990)] + [pods[0]] * 10)
    expect(page.locator("#verdict")).to_contain_text("3000 calls", timeout=WAIT_MS)
    page.locator("#pod-search").focus()
    page.keyboard.press("Tab")
    focused = page.locator(f"{cells}:focus")
    expect(focused).to_have_attribute("data-pod", "svc-0000")
    expect(focused).to_have_attribute(
        "aria-label", f"svc-0000 on node-0, ready: 20 calls, 2.00{TIMES} the expected 10.0"
    )
    page.keyboard.press("ArrowRight")
    expect(focused).to_have_attribute("data-pod", "svc-0004")
    expect(focused).to_have_attribute(
        "aria-label", f"svc-0004 on node-0, ready: 10 calls, 1.00{TIMES} the expected 10.0"
    )
    expect(page.locator("#grid-detail")).to_have_text(
        f"svc-0004 on node-0, ready: 10 calls, 1.00{TIMES} the expected 10.0"
    )
    page.keyboard.press("ArrowDown")
    below = page.evaluate("document.activeElement.dataset.pod")
    assert below != "svc-0004" and below.startswith("svc-"), "down moves to the next row"
    page.locator(f"{cells}[data-pod='svc-0101']").hover()
    expect(page.locator(f"{cells}[data-pod='svc-0101']")).to_have_attribute(
        "title", f"svc-0101 on node-1, ready: 10 calls, 1.00{TIMES} the expected 10.0"
    )


def test_the_search_box_narrows_the_grid_to_a_pod(opened):
    page, dashboard = opened
    connect(page, dashboard, endpoint_set(300))
    expect(page.locator(cells)).to_have_count(300, timeout=WAIT_MS)
    page.fill("#pod-search", "svc-01")
    expect(page.locator("#pod-search-result")).to_have_text("100 of 300 pods match")
    page.fill("#pod-search", "SVC-0123")
    expect(page.locator("#pod-search-result")).to_have_text("1 of 300 pods match")
    expect(page.locator(f"{cells}.match")).to_have_count(1)
    expect(page.locator(f"{cells}.match")).to_have_attribute("data-pod", "svc-0123")
    expect(page.locator(f"{cells}.dim")).to_have_count(299)
    expect(page.locator("#grid-detail")).to_contain_text("svc-0123 on node-3")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.dataset.pod") == "svc-0123"
    screenshot(page, "scale-02-search")
    page.fill("#pod-search", "")
    expect(page.locator(f"{cells}.dim")).to_have_count(0)


def test_a_3000_call_run_over_300_pods_shows_its_verdict_and_the_distribution(opened):
    page, dashboard = opened
    pods = [f"svc-{index:04d}" for index in range(300)]
    connect(page, dashboard, endpoint_set(300))
    expect(page.locator(cells)).to_have_count(300, timeout=WAIT_MS)
    chance = random.Random(12)
    answers = [chance.choice(pods) for _ in range(3000)]
    run = dashboard.run(1, pods, answers)
    statistics = run["statistics"]
    ratio = f"{statistics['busiest_ratio']:.2f}"
    expect(page.locator("#verdict")).to_contain_text("3000 calls reached", timeout=WAIT_MS)
    expect(page.locator("#verdict")).to_contain_text(f"busiest pod {ratio}{TIMES} the mean")
    assert "too few" not in page.locator("#verdict").text_content()
    expect(page.locator("#distribution")).to_be_visible()
    summary = page.locator("#distribution-summary")
    busiest = max(pods, key=lambda pod: (answers.count(pod), -pods.index(pod)))
    expect(summary).to_contain_text(
        f"Busiest pod {busiest}: {answers.count(busiest)} calls, {ratio}{TIMES} the mean of 10.0"
    )
    expect(summary).to_contain_text("(3.7 to 16.3 calls")  # 10 ± 2·sqrt(3000·(1/300)·(299/300))
    path = page.get_attribute("#distribution-chart .counts", "d")
    bars = path.count("M")
    assert bars == sum(1 for pod in pods if pod in answers), "one bar per pod that answered"
    colours = page.eval_on_selector_all(
        cells, "all => new Set(all.map((cell) => cell.style.backgroundColor)).size"
    )
    assert colours > 3, "cells are coloured by their share"
    screenshot(page, "scale-03-3000-calls")


def test_a_200_call_run_over_300_pods_is_too_small_to_judge_and_says_how_many_would_do(opened):
    page, dashboard = opened
    pods = [f"svc-{index:04d}" for index in range(300)]
    connect(page, dashboard, endpoint_set(300))
    expect(page.locator(cells)).to_have_count(300, timeout=WAIT_MS)
    dashboard.run(1, pods, [pods[seq] for seq in range(200)])
    expect(page.locator("#verdict")).to_have_text(
        "200 calls reached 200 of 300 pods: too few to judge the spread (the chi-square test wants"
        " about 5 calls per pod); 1500 calls would be enough",
        timeout=WAIT_MS,
    )


def test_the_chinese_page_says_too_small_and_labels_the_grid_in_chinese(browser, pages):
    context, page, dashboard = open_page(browser, pages, "zh-hans")
    try:
        pods = [f"svc-{index:04d}" for index in range(300)]
        connect(page, dashboard, endpoint_set(300))
        expect(page.locator(cells)).to_have_count(300, timeout=WAIT_MS)
        expect(page.locator("label[for=pod-search]")).to_have_text("查找 Pod")
        dashboard.run(1, pods, [pods[seq] for seq in range(200)])
        expect(page.locator("#verdict")).to_contain_text("1500 次调用", timeout=WAIT_MS)
        expect(page.locator("#grid-summary")).to_contain_text("个节点")
        screenshot(page, "scale-04-chinese")
    finally:
        context.close()


def test_past_the_threshold_chaos_takes_a_pods_name_instead_of_a_button_per_pod(opened):
    page, dashboard = opened
    connect(page, dashboard, endpoint_set(THRESHOLD))
    dashboard.send(hello(endpoint_set(THRESHOLD), seq=dashboard.seq, chaos=True))
    expect(page.locator("#chaos-pods button")).to_have_count(THRESHOLD, timeout=WAIT_MS)
    expect(page.locator("#chaos-pick")).to_be_hidden()
    endpoints = endpoint_set(300)
    dashboard.send(hello(endpoints, seq=dashboard.seq, chaos=True))
    expect(page.locator("#chaos-pick")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#chaos-pods")).to_be_hidden()
    expect(page.locator("#chaos-pods button")).to_have_count(0)
    page.fill("#chaos-pod", "no-such-pod")
    page.click("#chaos-pick button[type=submit]")
    assert "No ready pod" in page.eval_on_selector("#chaos-pod", "field => field.validationMessage")
    page.on("dialog", lambda dialog: dialog.accept())
    target = endpoints[123]["pod"]
    page.fill("#chaos-pod", target)
    page.click("#chaos-pick button[type=submit]")
    page.wait_for_function("true")  # let Playwright's loop hand the page's message over
    for _ in range(WAIT_MS // 50):
        if any(m.get("type") == "pod.delete" for m in dashboard.received):
            break
        page.wait_for_timeout(50)
    assert {"type": "pod.delete", "name": target} in dashboard.received
