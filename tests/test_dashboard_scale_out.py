"""Two dashboard replicas on a real redis-server share their broadcasts (channels-redis), and on
a real PostgreSQL their runs."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.support.browser import WAIT_MS, chromium_browser  # noqa: F401 (a fixture)
from tests.support.dashboard import LiveSocket
from tests.support.postgres import postgres  # noqa: F401 (a fixture)
from tests.support.processes import start_app
from tests.support.redis_server import RedisServer
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def redis(tmp_path):
    server = RedisServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis) -> str:
    return redis.url


def two_replicas(sandbox, redis_url: str, **database: str) -> list:
    """Dashboards k8s-combat-replica-a and -b on the sandbox, sharing Redis and ``database``."""
    shared = {
        "COMBAT_DASHBOARD": "true",
        "KUBECONFIG": str(sandbox.kubeconfig),
        "COMBAT_SERVICE_URL": sandbox.service_url,
        "DASHBOARD_CHANNEL_LAYER": redis_url,
        **database,
    }
    replicas = []
    try:
        for name in ("a", "b"):
            replicas.append(start_app(POD_NAME=f"k8s-combat-replica-{name}", **shared))
    except BaseException:
        for replica in replicas:
            replica.stop()
        raise
    return replicas


def test_a_run_started_on_one_dashboard_reaches_a_websocket_on_the_other(tmp_path, redis_url):
    sandbox = start_sandbox(tmp_path / "cluster")
    replicas = []
    try:
        replicas = two_replicas(sandbox, redis_url, DATABASE_PATH=str(tmp_path / "dashboard.sqlite3"))
        first, second = replicas
        socket = LiveSocket(second.url)
        try:
            socket.wait_for(lambda m: m["type"] == "hello")
            with requests.Session() as browser:
                browser.get(f"{first.url}/api/state", timeout=5)
                started = browser.post(
                    f"{first.url}/api/runs",
                    json={"count": 20, "concurrency": 2},
                    timeout=5,
                    headers={"X-CSRFToken": browser.cookies["csrftoken"]},
                ).json()
            run_id = started["id"]
            announced = socket.wait_for(lambda m: m["type"] == "run.started" and m["run"]["id"] == run_id)
            assert announced["origin"].startswith("k8s-combat-replica-a/")
            finished = socket.wait_for(lambda m: m["type"] == "run.finished" and m["run"]["id"] == run_id)
            assert finished["run"]["statistics"]["calls"] == 20
            assert sorted(c["seq"] for c in socket.calls_of(run_id)) == list(range(20))
            assert socket.gaps == 0
        finally:
            socket.close()
    finally:
        for replica in replicas:
            replica.stop()
        sandbox.stop()


# The page's view of the stream: every call key of every calls.batch, and every broadcast's
# (origin, seq), in the order the page's socket received them.
STREAM_TAP = """
(() => {
  window.__calls = [];
  window.__seqs = [];
  const listen = WebSocket.prototype.addEventListener;
  WebSocket.prototype.addEventListener = function (type, listener, options) {
    if (type !== "message") return listen.call(this, type, listener, options);
    return listen.call(this, type, function (event) {
      const message = JSON.parse(event.data);
      if (message.type !== "hello" && message.origin) window.__seqs.push([message.origin, message.seq]);
      if (message.type !== "calls.batch") return listener.call(this, event);
      for (const call of message.calls) window.__calls.push([call.run, call.seq]);
      return listener.call(this, event);
    }, options);
  };
})();
"""


def test_two_replicas_on_postgresql_and_redis_tell_one_story(tmp_path, redis_url, postgres, browser):  # noqa: F811
    """Issue 14: a 2000-call run started on A reaches browsers on A and B, every call exactly once
    and in order; a cancel pressed on B stops A's run; both APIs list the same runs."""
    sandbox = start_sandbox(tmp_path / "cluster")
    replicas, contexts = [], []
    try:
        replicas = two_replicas(sandbox, redis_url, DATABASE_URL=postgres.create_database("two_replicas"))
        pages = []
        for replica in replicas:
            context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
            context.add_init_script(STREAM_TAP)
            contexts.append(context)
            page = context.new_page()
            page.goto(f"{replica.url}/")
            expect(page.locator("#connection")).to_have_attribute("data-status", "open", timeout=WAIT_MS)
            pages.append(page)
        on_a, on_b = pages

        on_a.check("input[name=mode][value=new-connection]")
        on_a.fill("#count", "2000")
        on_a.fill("#concurrency", "1")
        on_a.click("#fire-burst")
        for page in pages:
            expect(page.locator("#verdict")).to_contain_text("2000 calls reached", timeout=120_000)
        run_id = requests.get(f"{replicas[0].url}/api/runs", timeout=10).json()["runs"][0]["id"]
        for page in pages:
            calls = [seq for run, seq in page.evaluate("window.__calls") if run == run_id]
            assert calls == list(range(2000)), "every call once, in order"
            by_origin: dict[str, list[int]] = {}
            for origin, seq in page.evaluate("window.__seqs"):
                by_origin.setdefault(origin, []).append(seq)
            for seqs in by_origin.values():
                assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no broadcast lost or repeated"

        on_a.fill("#count", "2000")
        on_a.fill("#concurrency", "1")
        on_a.click("#fire-burst")  # 2000 calls one at a time: seconds, time enough for B to cancel
        expect(on_b.locator("#cancel")).to_be_enabled(timeout=WAIT_MS)
        on_b.click("#cancel")
        for page in pages:
            expect(page.locator("#verdict")).not_to_contain_text("in progress", timeout=WAIT_MS)
        runs_a = requests.get(f"{replicas[0].url}/api/runs", timeout=10).json()["runs"]
        runs_b = requests.get(f"{replicas[1].url}/api/runs", timeout=10).json()["runs"]
        assert runs_a == runs_b, "both replicas' APIs list the same runs"
        cancelled = runs_a[0]
        assert cancelled["status"] == "cancelled" and cancelled["reason"] == "cancelled by a user"
        assert cancelled["origin"].startswith("k8s-combat-replica-a/"), "A ran it; B's cancel reached A"
        assert cancelled["statistics"]["calls"] < 2000
    finally:
        for context in contexts:
            context.close()
        for replica in replicas:
            replica.stop()
        sandbox.stop()


def test_a_replica_whose_redis_is_gone_reports_not_ready_until_it_is_back(tmp_path, redis):
    sandbox = start_sandbox(tmp_path / "cluster")
    dashboard = None
    try:
        dashboard = start_app(
            POD_NAME="k8s-combat-replica-a",
            COMBAT_DASHBOARD="true",
            KUBECONFIG=str(sandbox.kubeconfig),
            COMBAT_SERVICE_URL=sandbox.service_url,
            DASHBOARD_CHANNEL_LAYER=redis.url,
            DATABASE_PATH=str(tmp_path / "dashboard.sqlite3"),
            DASHBOARD_HEARTBEAT_SECONDS="0.5",
            DASHBOARD_HEARTBEAT_EXPIRY_SECONDS="3",
        )
        ready = lambda: requests.get(f"{dashboard.url}/readyz", timeout=5)  # noqa: E731
        assert ready().status_code == 200
        redis.stop()
        said = wait_for(lambda: (r := ready()).status_code == 503 and r.text, 20)  # a 503 Response is falsy
        assert "the dashboard's channel layer (DASHBOARD_CHANNEL_LAYER) is unreachable" in said
        redis.start()
        wait_for(lambda: ready().status_code == 200, 20)
        socket = LiveSocket(dashboard.url)  # and its browsers hear it again
        try:
            socket.wait_for(lambda m: m["type"] == "hello")
        finally:
            socket.close()
    finally:
        if dashboard is not None:
            dashboard.stop()
        sandbox.stop()
