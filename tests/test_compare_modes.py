"""Compare the modes: 200 calls in every connection mode against the same 3 pods, one experiment.

The sandbox's Service picks a pod per new connection, as kube-proxy does: new connections and a
gRPC channel per call spread over the 3 pods; one kept connection and one gRPC channel stay on
one pod; a pool of ``concurrency`` connections reaches at most that many. Then the page: the
modes side by side, the lesson in English and Chinese, the exports and the experiment's address.
(The lesson's and the cards' cases without a cluster: tests/test_compare_view.py.)

``K8S_COMBAT_SCREENSHOT=docs/page.png`` (``make docs/page.png``) writes the README's picture.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from dashboard.firing import MODES
from tests.support.browser import (
    ARTIFACTS,
    WAIT_MS,
    chromium_browser,  # noqa: F401 - a fixture
    open_live,
)
from tests.support.dashboard import LiveSocket, stored_calls
from tests.support.sandbox import start_sandbox

pytestmark = pytest.mark.slow
CALLS = 200
CONCURRENCY = 4


def wait_finished(url: str, experiment_id: int, seconds: float = 240) -> dict:
    """The experiment once it is no longer running (the deadline only bounds the wait)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = requests.get(f"{url}/api/experiments/{experiment_id}", timeout=10).json()
        if found["status"] != "running":
            return found
        time.sleep(0.5)
    raise AssertionError(f"experiment {experiment_id} still running after {seconds} s")


def post_experiment(url: str, body: dict) -> requests.Response:
    with requests.Session() as browser:
        browser.get(f"{url}/api/state", timeout=10)
        return browser.post(
            f"{url}/api/experiments",
            json=body,
            timeout=10,
            headers={"X-CSRFToken": browser.cookies["csrftoken"]},
        )


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """A sandbox of 3 pods and one experiment of 200 calls per mode, watched over a websocket."""
    sandbox = start_sandbox(
        tmp_path_factory.mktemp("compare"), "--providers", "3", dashboard=True, niceness=15
    )
    try:
        socket = LiveSocket(sandbox.dashboard_url)
        try:
            socket.wait_for(lambda m: len([e for e in m.get("_endpoints", ()) if e["ready"]]) == 3, 60)
            response = post_experiment(sandbox.dashboard_url, {"count": CALLS, "concurrency": CONCURRENCY})
            assert response.status_code == 201, response.text
            experiment = wait_finished(sandbox.dashboard_url, response.json()["id"])
            socket.wait_for(
                lambda m: m["type"] == "experiment.finished" and m["experiment"]["id"] == experiment["id"]
            )
            yield sandbox, socket, experiment
        finally:
            socket.close()
    finally:
        sandbox.stop()


def by_mode(experiment: dict) -> dict:
    return {run["mode"]: run for run in experiment["runs"]}


def test_one_experiment_runs_every_mode_once_against_the_same_pods(compared):
    _, _, experiment = compared
    assert experiment["status"] == "finished"
    assert [run["mode"] for run in experiment["runs"]] == list(MODES)
    assert len(experiment["expected_pods"]) == 3
    for run in experiment["runs"]:
        assert run["experiment"] == experiment["id"]
        assert run["status"] == "finished"
        assert run["count"] == CALLS
        assert run["expected_pods"] == experiment["expected_pods"]
        assert run["statistics"]["ok"] == CALLS, run["statistics"]["errors"]
    ids = [run["id"] for run in experiment["runs"]]
    assert ids == sorted(ids), "one mode after another"
    runs = sorted(experiment["runs"], key=lambda run: run["id"])
    for before, after in itertools.pairwise(runs):
        assert before["finished_at"] <= after["started_at"], "a mode starts once the previous one is over"


def test_new_connections_and_a_channel_per_call_spread_over_the_3_pods(compared):
    runs = by_mode(compared[2])
    for mode in ("new-connection", "grpc-per-call"):
        s = runs[mode]["statistics"]
        assert s["pods_reached"] == 3, (mode, s["pods"])
        assert s["p_value"] > 0.001, (mode, s["pods"], s["p_value"])


def test_a_kept_connection_and_a_grpc_channel_stay_on_one_pod(compared):
    runs = by_mode(compared[2])
    for mode in ("keep-alive", "grpc"):
        s = runs[mode]["statistics"]
        assert s["pods_reached"] == 1, (mode, s["pods"])
        assert s["connections"] == 1, mode
        assert s["longest_streak"] == CALLS, mode


def test_a_pool_uses_at_most_its_concurrency_in_connections(compared):
    sandbox, _, experiment = compared
    run = by_mode(experiment)["pool"]
    s = run["statistics"]
    calls = stored_calls(sandbox.dashboard_url, run["id"])
    ports = {call["local_port"] for call in calls}
    # The figure is the calls' own: one local port per TCP connection the pool kept open.
    assert s["connections"] == len(ports), (s["connections"], sorted(ports))
    # Each of the CONCURRENCY workers keeps its own connection: more than one, never more.
    assert 2 <= len(ports) <= CONCURRENCY, sorted(ports)
    assert sum(not call["reused"] for call in calls) == len(ports), "each connection opened once, then reused"
    assert s["pods_reached"] <= s["connections"]
    assert s["max_pods_per_connection"] == 1


def test_the_websocket_announced_the_experiment_and_each_mode(compared):
    _, socket, experiment = compared
    mine = lambda kind: [m for m in socket.of_type(kind) if m["experiment"]["id"] == experiment["id"]]  # noqa: E731
    assert len(mine("experiment.started")) == 1
    assert mine("experiment.started")[0]["experiment"]["runs"] == []
    progress = mine("experiment.progress")
    assert len(progress) == 2 * len(MODES), "one when each run starts, one when it ends"
    assert [len(m["experiment"]["runs"]) for m in progress] == [n for n in range(1, 6) for _ in (0, 1)]
    finished = mine("experiment.finished")[0]["experiment"]
    assert finished["runs"] == experiment["runs"]


def test_the_experiment_exports_as_json_and_as_csv_one_row_per_mode(compared):
    sandbox, _, experiment = compared
    url = f"{sandbox.dashboard_url}/api/experiments/{experiment['id']}"
    exported = requests.get(f"{url}.json", timeout=10)
    assert exported.status_code == 200
    assert "attachment" in exported.headers["Content-Disposition"]
    assert exported.json() == experiment
    table = requests.get(f"{url}.csv", timeout=10)
    assert table.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [row["mode"] for row in rows] == list(MODES)
    runs = by_mode(experiment)
    for row in rows:
        s = runs[row["mode"]]["statistics"]
        assert int(row["pods_reached"]) == s["pods_reached"]
        assert int(row["connections"]) == s["connections"]
        assert float(row["p_value"]) == pytest.approx(s["p_value"])
        shares = dict(part.split("=") for part in row["shares"].split())
        assert sorted(shares) == experiment["expected_pods"]
        assert sum(float(share) for share in shares.values()) == pytest.approx(1.0, abs=0.01)


def test_the_api_lists_it_and_refuses_what_it_should(compared):
    sandbox, _, experiment = compared
    url = sandbox.dashboard_url
    listed = requests.get(f"{url}/api/experiments", timeout=10).json()["experiments"]
    assert experiment["id"] in [found["id"] for found in listed]
    assert requests.post(f"{url}/api/experiments", json={"count": 5}, timeout=10).status_code == 403
    bad = post_experiment(url, {"count": 0})
    assert (bad.status_code, bad.json()["error"]["field"]) == (400, "count")
    unknown = post_experiment(url, {"mode": "pool"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "unknown-field")
    assert requests.get(f"{url}/api/experiments/999999", timeout=10).status_code == 404
    assert requests.get(f"{url}/api/experiments/{10**30}.csv", timeout=10).status_code == 404


def test_an_experiment_can_be_cancelled_and_the_modes_after_it_never_run(compared):
    sandbox, socket, _ = compared
    socket.send({"type": "experiment.start", "count": 5000, "concurrency": 1})
    started = socket.wait_for(
        lambda m: m["type"] == "experiment.started" and m["experiment"]["count"] == 5000
    )
    experiment_id = started["experiment"]["id"]
    socket.wait_for(lambda m: m["type"] == "experiment.progress" and m["experiment"]["id"] == experiment_id)
    socket.send({"type": "experiment.cancel", "experiment": experiment_id})
    stopped = wait_finished(sandbox.dashboard_url, experiment_id, 60)
    assert stopped["status"] == "cancelled"
    assert stopped["reason"] == "cancelled by a user"
    assert [run["mode"] for run in stopped["runs"]] == ["new-connection"]
    assert stopped["runs"][0]["status"] == "cancelled"
    socket.send({"type": "experiment.cancel", "experiment": experiment_id})
    refused = socket.wait_for(lambda m: m["type"] == "error" and m["code"] == "unknown-experiment")
    assert str(experiment_id) in refused["message"]


# --- the page ---------------------------------------------------------------------------------


def test_the_address_reopens_the_modes_side_by_side_with_the_lesson(compared, browser):
    sandbox, _, experiment = compared
    context, page = open_live(browser, f"{sandbox.dashboard_url}/?experiment={experiment['id']}")
    try:
        view = page.locator("#compare-view")
        expect(view).to_be_visible(timeout=WAIT_MS)
        expect(view).to_have_attribute("data-experiment", str(experiment["id"]))
        cards = page.locator(".compare-card")
        expect(cards).to_have_count(len(MODES))
        boxes = [cards.nth(index).bounding_box() for index in range(len(MODES))]
        assert len({round(box["y"]) for box in boxes}) == 1, "the five modes side by side, on one row"
        runs = by_mode(experiment)
        for mode, run in runs.items():
            card = page.locator(f'.compare-card[data-mode="{mode}"]')
            expect(card.locator(".compare-bar")).to_have_count(3)
            s = run["statistics"]
            expect(card.locator("dd").nth(2)).to_have_text(f"{s['pods_reached']} of 3")
            expect(card.locator("dd").nth(1)).to_have_text(str(s["connections"]))
            expect(card.locator(".compare-verdict")).not_to_be_empty()
        kept = runs["keep-alive"]["statistics"]
        lesson = page.locator("#compare-lesson")
        expect(lesson).to_contain_text("new connections spread over 3 of 3 pods")
        expect(lesson).to_contain_text(f"one kept connection stayed on 1 pod for {kept['ok']} calls")
        expect(lesson).to_contain_text("a gRPC channel stayed on 1 pod")
        pool = runs["pool"]["statistics"]
        expect(lesson).to_contain_text(
            f"a pool of {pool['connections']} connections reached {pool['pods_reached']} of 3 pods"
        )
        expect(lesson).to_contain_text("a Service picks a pod per connection, not per request")
        json_link = page.locator("#compare-links a", has_text="JSON")
        assert json_link.get_attribute("href") == f"api/experiments/{experiment['id']}.json"
        # Replaying the experiment draws each mode's calls again, in order.
        page.locator("#speed").select_option("4")
        page.locator("#compare-replay").click()
        first = experiment["runs"][0]["id"]
        page.wait_for_function(f"window.k8sCombat.state().run?.id === {first}", timeout=WAIT_MS)
        last = experiment["runs"][-1]["id"]
        page.wait_for_function(f"window.k8sCombat.state().run?.id === {last}", timeout=120_000)
        # The Chinese page says the same lesson, translated, with the same numbers.
        page.select_option("#language", "zh-hans")
        page.click("header form.language button")
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans", timeout=WAIT_MS)
        page.goto(f"{sandbox.dashboard_url}/?experiment={experiment['id']}")
        zh = page.locator("#compare-lesson")
        expect(zh).to_contain_text("新建连接分散到了 3 个 Pod 中的 3 个", timeout=WAIT_MS)
        expect(zh).to_contain_text(f"一条保持的连接在 {kept['ok']} 次调用中始终停在 1 个 Pod 上")
        expect(zh).to_contain_text("Service 按连接选择 Pod")
    finally:
        context.close()


def test_the_button_compares_the_modes_and_the_address_follows(compared, browser):
    sandbox, _, _ = compared
    context, page = open_live(browser, f"{sandbox.dashboard_url}/")
    try:
        page.locator("#count").fill(str(CALLS))
        page.locator("#concurrency").fill(str(CONCURRENCY))
        page.locator("#compare").click()
        view = page.locator("#compare-view")
        expect(view).to_have_attribute("data-status", "finished", timeout=180_000)
        experiment_id = view.get_attribute("data-experiment")
        assert page.url.endswith(f"?experiment={experiment_id}")
        stored = requests.get(f"{sandbox.dashboard_url}/api/experiments/{experiment_id}", timeout=10).json()
        assert (stored["count"], stored["concurrency"], len(stored["runs"])) == (
            CALLS,
            CONCURRENCY,
            len(MODES),
        )
        expect(page.locator(".compare-card .compare-verdict")).to_have_count(len(MODES))
        page.evaluate("window.scrollTo(0, 0)")
        shot = page.screenshot(path=str(screenshot_path()))
        assert shot[:8] == b"\x89PNG\r\n\x1a\n"
        assert page.viewport_size == {"width": 1440, "height": 900}
    finally:
        context.close()


def screenshot_path() -> Path:
    """Where the picture goes: ``K8S_COMBAT_SCREENSHOT`` (``make docs/page.png``), else
    test-artifacts/ (never docs/ from a plain test run)."""
    wanted = os.environ.get("K8S_COMBAT_SCREENSHOT")
    if wanted:
        return Path(wanted)
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / "compare-the-modes.png"


def test_cancelling_its_current_run_cancels_the_experiment(compared):
    sandbox, socket, _ = compared
    socket.send({"type": "experiment.start", "count": 4000, "concurrency": 1})
    started = socket.wait_for(
        lambda m: m["type"] == "experiment.started" and m["experiment"]["count"] == 4000
    )
    experiment_id = started["experiment"]["id"]
    running = socket.wait_for(
        lambda m: m["type"] == "experiment.progress" and m["experiment"]["id"] == experiment_id
    )
    socket.send({"type": "run.cancel", "run": running["experiment"]["runs"][0]["id"]})
    stopped = wait_finished(sandbox.dashboard_url, experiment_id, 60)
    assert (stopped["status"], stopped["reason"]) == ("cancelled", "cancelled by a user")
    assert [run["status"] for run in stopped["runs"]] == ["cancelled"]
