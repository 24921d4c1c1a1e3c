"""The live routing page in Debian's Chromium, against the sandbox: what a user sees and does."""

from __future__ import annotations

import pytest
import requests
from kubernetes import client, config
from playwright.sync_api import expect

from tests.support.browser import (
    chromium_browser,  # noqa: F401 - a fixture
    pod_card,
    screenshot,
)
from tests.support.sandbox import start_sandbox

pytestmark = pytest.mark.slow
# Waits bound how long a test waits for something to happen, never how fast it happens: how fast
# is load-dependent and is measured by the benchmarks (bench/, docs/performance.md).
WAIT_MS = 30_000
STREAM_TAP = """
// What the page had counted from the stream of calls when a run's verdict arrived (before the
// verdict replaces its counters with the server's): run id -> {counts, seen}.
(() => {
  window.__streamed = {};
  const listen = WebSocket.prototype.addEventListener;
  WebSocket.prototype.addEventListener = function (type, listener, options) {
    if (type !== "message") return listen.call(this, type, listener, options);
    return listen.call(this, type, function (event) {
      const message = JSON.parse(event.data);
      if (message.type === "run.finished" && window.k8sCombat) {
        const state = window.k8sCombat.state();
        const prefix = `${message.run.id}:`;
        window.__streamed[message.run.id] = {
          counts: { ...state.counts },
          seen: [...state.seen]
            .filter((key) => key.startsWith(prefix))
            .map((key) => Number(key.slice(prefix.length))),
        };
      }
      return listener.call(this, event);
    }, options);
  };
})();
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    # Pods drain for 3 s, not 0.5 s: a deleted pod's card then shows "terminating" for longer than
    # expect() polls (every second at most), however late a busy machine delivers the change.
    cluster = start_sandbox(
        tmp_path_factory.mktemp("page"), "--drain-seconds", "3", dashboard=True, niceness=15
    )
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def page(browser, sandbox):
    context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale="en-US")
    context.add_init_script(STREAM_TAP)
    opened = context.new_page()
    opened.goto(sandbox.dashboard_url + "/")
    expect(opened.locator("#connection")).to_have_attribute("data-status", "open", timeout=WAIT_MS)
    yield opened
    context.close()


def pod_cards(page):
    return page.locator("#flow .pod")


def counts(page) -> dict[str, int]:
    result = {}
    for index in range(pod_cards(page).count()):
        card = pod_cards(page).nth(index)
        result[card.get_attribute("data-pod")] = int(card.locator(".count").text_content())
    return result


def choose(page, mode: str, count: int, concurrency: int) -> None:
    page.check(f"input[name=mode][value={mode}]")
    page.fill("#count", str(count))
    page.fill("#concurrency", str(concurrency))


def last_run(sandbox) -> dict:
    return requests.get(f"{sandbox.dashboard_url}/api/runs", timeout=5).json()["runs"][0]


def test_the_page_shows_the_service_and_its_two_pods(page):
    expect(pod_cards(page)).to_have_count(2)
    expect(page.locator("#flow .service .title")).to_have_text("k8s-combat-service")
    expect(page.locator("#flow .pod.ready")).to_have_count(2)
    for index in range(2):
        expect(pod_cards(page).nth(index).locator(".state")).to_have_text("ready")
    screenshot(page, "01-service-and-two-pods")


def test_one_call_lights_one_pod_and_its_counter(page):
    page.click("#fire-one")
    page.wait_for_function("Object.values(window.k8sCombat.state().counts).reduce((a, b) => a + b, 0) === 1")
    assert sorted(counts(page).values()) == [0, 1]
    expect(page.locator("#log tbody tr")).to_have_count(1)
    screenshot(page, "02-one-call")


def test_a_200_call_new_connection_burst_reaches_every_pod(page, sandbox):
    choose(page, "new-connection", 200, 4)
    page.click("#fire-burst")
    expect(page.locator("#verdict")).to_contain_text("spread consistent with random choice", timeout=WAIT_MS)
    spread = counts(page)
    assert all(value > 0 for value in spread.values()) and sum(spread.values()) == 200
    run = last_run(sandbox)
    assert spread == {pod: value["count"] for pod, value in run["statistics"]["pods"].items()}
    screenshot(page, "03-burst-new-connection")


def test_a_50_call_keep_alive_burst_lands_on_one_pod_and_the_verdict_says_why(page):
    choose(page, "keep-alive", 50, 1)
    page.click("#fire-burst")
    expect(page.locator("#verdict")).to_have_text(
        "50 calls, 1 connection, 1 pod: a Service balances connections, not requests", timeout=WAIT_MS
    )
    assert sorted(counts(page).values()) == [0, 50]
    expect(page.locator("#announce")).to_contain_text("1 connection, 1 pod")
    screenshot(page, "04-burst-keep-alive")


def test_scaling_shows_a_third_pod_and_deleting_one_shows_it_terminating_gone_and_replaced(page, sandbox):
    page.fill("#replicas", "3")
    page.click("#scale")
    # Normally well under 2 s; how fast is bench/sandbox_service.py's figure (scale -> ready
    # endpoint), so this only waits, long enough for a busy machine.
    expect(page.locator("#flow .pod.ready")).to_have_count(3, timeout=WAIT_MS)
    screenshot(page, "05-scaled-to-3")
    victim = page.locator("#chaos-pods button").first
    name = victim.text_content().removeprefix("Delete ")
    page.once("dialog", lambda dialog: dialog.accept())
    victim.click()
    card = pod_card(page, name)
    expect(card).to_have_class("pod terminating", timeout=WAIT_MS)
    expect(card.locator(".state")).to_have_text("terminating")
    screenshot(page, "06-pod-terminating")
    expect(card).to_have_count(0, timeout=WAIT_MS)
    expect(page.locator("#flow .pod.ready")).to_have_count(3, timeout=WAIT_MS)
    screenshot(page, "07-pod-replaced")
    api = config.new_client_from_config(str(sandbox.kubeconfig))
    client.AppsV1Api(api).patch_namespaced_deployment_scale(
        "k8s-combat-service", "default", {"spec": {"replicas": 2}}
    )
    expect(page.locator("#flow .pod")).to_have_count(2, timeout=WAIT_MS)


def test_a_restarted_dashboard_shows_reconnecting_then_recovers_without_duplicate_rows(page, sandbox):
    choose(page, "pool", 30, 2)
    page.click("#fire-burst")
    expect(page.locator("#verdict")).to_contain_text("each connection stays on its pod", timeout=WAIT_MS)
    rows_before = page.locator("#log tbody tr").count()
    api = config.new_client_from_config(str(sandbox.kubeconfig))
    core = client.CoreV1Api(api)
    dashboard_pod = (
        core.list_namespaced_pod("default", label_selector="app=k8s-combat").items[0].metadata.name
    )
    core.delete_namespaced_pod(dashboard_pod, "default")
    expect(page.locator("#connection")).to_have_attribute("data-status", "reconnecting", timeout=WAIT_MS)
    expect(page.locator("#connection")).to_have_text("Connection lost: reconnecting…")
    screenshot(page, "08-reconnecting")
    expect(page.locator("#connection")).to_have_attribute("data-status", "open", timeout=WAIT_MS)
    keys = page.eval_on_selector_all("#log tbody tr", "rows => rows.map(row => row.dataset.key)")
    assert len(keys) == len(set(keys)), "a resync must not duplicate log rows"
    assert len(keys) <= rows_before
    screenshot(page, "09-recovered")


def test_accept_language_zh_cn_renders_the_chinese_page_and_the_switch_changes_language(browser, sandbox):
    context = browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    page = context.new_page()
    try:
        page.goto(sandbox.dashboard_url + "/")
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        expect(page.locator("#controls-title")).to_have_text("向 Service 发起调用")
        expect(page.locator("#connection")).to_have_text("已连接", timeout=WAIT_MS)
        expect(page.locator("#flow .pod .state").first).to_have_text("就绪")
        screenshot(page, "10-chinese")
        page.select_option("#language", "en")
        page.click("header form.language button")
        expect(page.locator("#controls-title")).to_have_text("Fire calls at the Service")
    finally:
        context.close()


def test_a_run_can_be_started_and_cancelled_with_the_keyboard_alone(page):
    page.locator("input[name=mode][value=new-connection]").focus()
    page.keyboard.press("Tab")  # count
    page.keyboard.press("Control+A")
    page.keyboard.type("5000")
    page.keyboard.press("Tab")  # concurrency
    page.keyboard.press("Control+A")
    page.keyboard.type("1")
    page.keyboard.press("Tab")  # fire one
    page.keyboard.press("Tab")  # start burst
    assert page.evaluate("document.activeElement.id") == "fire-burst"
    page.keyboard.press("Enter")
    expect(page.locator("#cancel")).to_be_enabled(timeout=WAIT_MS)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "cancel"
    page.keyboard.press("Space")
    expect(page.locator("#verdict")).not_to_contain_text("in progress", timeout=WAIT_MS)
    assert last_run_status(page) == "cancelled"


def last_run_status(page) -> str:
    return page.evaluate("window.k8sCombat.state().run.status")


def test_a_2000_call_burst_shows_every_call_once_and_the_counters_match_the_server(page, sandbox):
    # Long tasks and script time per frame depend on the machine's load: bench/page_burst.py
    # measures them (docs/performance.md). This checks what no load can change.
    choose(page, "new-connection", 2000, 2)
    before = page.evaluate("window.k8sCombat.state().run?.id ?? 0")
    page.click("#fire-burst")
    page.wait_for_function(
        f"window.k8sCombat.state().run?.id > {before} && window.k8sCombat.state().run.status !== 'running'",
        timeout=120_000,
    )
    run = last_run(sandbox)
    assert run["status"] == "finished" and run["statistics"]["calls"] == 2000
    server = {pod: value["count"] for pod, value in run["statistics"]["pods"].items()}
    streamed = page.evaluate(f"window.__streamed[{run['id']}]")
    assert sorted(streamed["seen"]) == list(range(2000)), "every call reached the page, each once"
    assert streamed["counts"] == server, "the counters built from the stream equal the server's"
    expect(page.locator("#verdict")).to_contain_text("2000 calls", timeout=WAIT_MS)
    assert counts(page) == server
    keys = page.eval_on_selector_all("#log tbody tr", "rows => rows.map(row => row.dataset.key)")
    assert len(keys) == len(set(keys)) == 50, "the log shows its last 50 calls, each once"
    screenshot(page, "11-burst-2000")


def test_a_grpc_run_lands_on_one_pod_and_the_verdict_explains_why(page):
    choose(page, "grpc", 40, 2)
    page.click("#fire-burst")
    expect(page.locator("#verdict")).to_contain_text(
        "one gRPC channel = one HTTP/2 connection = one pod", timeout=WAIT_MS
    )
    assert sorted(counts(page).values()) == [0, 40]
    screenshot(page, "12-grpc")
