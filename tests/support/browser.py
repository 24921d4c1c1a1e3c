"""Debian's Chromium driven by Playwright: nothing is downloaded, the tests launch /usr/bin/chromium.

Also the page's harness without a cluster: the real template and modules, the websocket faked at
the network seam (Playwright's ``route_web_socket``) and fed messages built by the project's own
code. A test module takes the fixtures by importing them::

    from tests.support.browser import (
        chromium_browser,  # noqa: F401 - a fixture
        rendered_pages,  # noqa: F401 - a fixture
    )

which gives its tests ``browser`` (one Chromium per module) and ``pages`` (the page as served, in
English and Chinese)."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

import pytest
from django.test import Client, override_settings
from playwright.sync_api import expect, sync_playwright

from dashboard.records import CallRecord
from dashboard.slices import from_slices, in_order
from dashboard.statistics import run_statistics
from tests.support.programs import require

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
STATIC = Path(__file__).resolve().parents[2] / "static"
ORIGIN = "http://dashboard.test"  # answered by the routes below: nothing leaves the browser
WAIT_MS = 30_000
# As the machine's notes say: without the background-networking flags Chromium keeps trying to
# reach Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright):
    executable = require("chromium", "the page's tests run in Debian's Chromium")
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


def pod_card(page, name: str):
    """The flow's card of pod (or endpoint) `name`, found by its full name: the name drawn on a
    card may be cut in the middle when the window is narrow (flowlayout.js), the card's
    `data-pod` and accessible name never are."""
    return page.locator(f"#flow .pod[data-pod='{name}']")


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="module", name="browser")
def chromium_browser():
    """One Chromium for the module's tests; each test opens its own context."""
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def open_live(browser, url: str, viewport: dict | None = None):
    """A new context on a running dashboard's page at ``url`` (1440x900 unless told), once its
    websocket is open."""
    context = browser.new_context(viewport=viewport or {"width": 1440, "height": 900}, locale="en-US")
    page = context.new_page()
    page.goto(url)
    expect(page.locator("#connection")).to_have_attribute("data-status", "open", timeout=WAIT_MS)
    return context, page


# --- the page with a fake websocket -----------------------------------------------------------


def endpoint_set(
    count: int, *, not_ready: int = 0, terminating: int = 0, names: list[str] | None = None
) -> list[dict]:
    """``count`` pods over 4 nodes, as EndpointSlices of at most 100 endpoints each, read by the
    dashboard's own reader: the first ``not_ready`` are not ready, the next ``terminating`` are
    terminating. The pods are ``svc-0000``, ``svc-0001``… unless ``names`` names them."""
    items = []
    for index in range(count):
        name = names[index] if names else f"svc-{index:04d}"
        condition = {"ready": True, "serving": True, "terminating": False}
        if index < not_ready:
            condition = {"ready": False, "serving": False, "terminating": False}
        elif index < not_ready + terminating:
            condition = {"ready": False, "serving": True, "terminating": True}
        items.append(
            {
                "addresses": [f"10.{1 + index // 250}.{index % 250}.{7 + index % 3}"],
                "conditions": condition,
                "nodeName": f"node-{index % 4}",
                "targetRef": {"kind": "Pod", "namespace": "default", "name": name},
            }
        )
    slices = [
        {
            "addressType": "IPv4",
            "endpoints": items[start : start + 100],
            "ports": [{"name": "app", "port": 8081}],
        }
        for start in range(0, count, 100)
    ]
    return [endpoint.as_dict() for endpoint in in_order(from_slices(slices))]


def hello(endpoints: list[dict], seq: int = 0, *, chaos: bool = False) -> dict:
    return {
        "type": "hello",
        "protocol": 2,
        "origin": "fake/1",
        "seq": seq,
        "pod": {"name": "k8s-combat-dashboard", "ip": "10.0.0.2", "node": "node-0"},
        "service": {
            "name": "k8s-combat-service",
            "url": "http://k8s-combat-service:80",
            "namespace": "default",
        },
        "endpoints": endpoints,
        "capabilities": {
            "modes": ["new-connection"],
            "chaos": chaos,
            "max_count": 10000,
            "max_concurrency": 64,
        },
        "watch": {"connected": True, "restarts": 0},
        "runs": [],
        "calls": [],
        "timeline": [],
    }


class FakeDashboard:
    """The websocket's server end: sends what a test says, numbered like broadcasts."""

    def __init__(self) -> None:
        self.socket = None
        self.seq = 0
        self.received: list[dict] = []

    def accept(self, socket) -> None:
        self.socket = socket
        socket.on_message(lambda text: self.received.append(json.loads(text)))

    def send(self, message: dict) -> None:
        self.seq += 1
        self.socket.send(json.dumps({**message, "origin": "fake/1", "seq": self.seq}))

    def run(self, run_id: int, pods: list[str], answers: list[str]) -> dict:
        """A new-connection run whose calls were answered by ``answers``, streamed in batches of 100
        as the engine does, then finished with the dashboard's own statistics."""
        run = {
            "id": run_id, "mode": "new-connection", "count": len(answers), "concurrency": 4, "rate": None,
            "status": "running", "origin": "fake/1", "started_at": 1.0, "finished_at": None,
            "expected_pods": sorted(pods), "statistics": {},
        }  # fmt: skip
        self.send({"type": "run.started", "run": run})
        records = [
            CallRecord(
                run_id,
                seq,
                "new-connection",
                1.0 + seq / 1000,
                1.5,
                "ok",
                pod,
                "",
                "",
                40000 + seq,
                False,
                "ready",
                "",
            )
            for seq, pod in enumerate(answers)
        ]
        for start in range(0, len(records), 100):
            batch = [record.as_dict() for record in records[start : start + 100]]
            self.send({"type": "calls.batch", "calls": batch})
        statistics = run_statistics(records, pods)
        finished = {**run, "status": "finished", "finished_at": 9.0, "statistics": statistics}
        self.send({"type": "run.finished", "run": finished})
        return finished


def rendered(language: str) -> dict[str, tuple[bytes, str]]:
    """The page and its JavaScript catalog as the dashboard serves them, in ``language``; static
    files under /static/ are served from the source tree (no hashed names)."""
    storages = {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    page_settings = {"ROOT_URLCONF": "dashboard.urls", "DASHBOARD_TOKEN": "", "ALLOWED_HOSTS": ["*"]}
    with override_settings(STORAGES=storages, **page_settings):
        client = Client(headers={"accept-language": language})
        page = client.get("/")
        catalog = client.get("/i18n/catalog.js")
    assert page.status_code == 200 and catalog.status_code == 200
    return {"/": (page.content, "text/html"), "/i18n/catalog.js": (catalog.content, "text/javascript")}


@pytest.fixture(scope="module", name="pages")
def rendered_pages():
    """The page as served in English and in Chinese (rendered before Playwright's loop runs in
    this thread: request ``pages`` before ``browser``)."""
    return {language: rendered(language) for language in ("en", "zh-hans")}


def open_page(browser, pages, language: str = "en", viewport: dict | None = None):
    """A new context on the page in ``language``, its websocket answered by a FakeDashboard."""
    viewport = viewport or {"width": 1400, "height": 1100}
    context = browser.new_context(viewport=viewport, locale="en-US")
    served = pages[language]

    def serve(route):
        path = route.request.url.removeprefix(ORIGIN).split("?")[0]
        if path in served:
            body, kind = served[path]
        elif path == "/api/runs":
            body, kind = b'{"runs": []}', "application/json"
        elif (
            path.startswith("/static/")
            and ".." not in path
            and (STATIC / path.removeprefix("/static/")).is_file()
        ):
            file = STATIC / path.removeprefix("/static/")
            body, kind = file.read_bytes(), mimetypes.guess_type(file.name)[0] or "text/plain"
        else:
            route.fulfill(status=404, body="not found")
            return
        route.fulfill(status=200, body=body, content_type=kind)

    dashboard = FakeDashboard()
    context.route(f"{ORIGIN}/**", serve)
    context.route_web_socket(f"{ORIGIN.replace('http', 'ws')}/ws/dashboard/", dashboard.accept)
    page = context.new_page()
    page.goto(f"{ORIGIN}/")
    return context, page, dashboard


def connect(page, dashboard, endpoints: list[dict]) -> None:
    """Wait for the page's socket (Playwright hands it over while the test waits), then say hello."""
    page.wait_for_function("window.k8sCombat !== undefined", timeout=WAIT_MS)
    for _ in range(WAIT_MS // 50):
        if dashboard.socket is not None:
            break
        page.wait_for_timeout(50)
    assert dashboard.socket is not None, "the page opened no websocket"
    dashboard.send(hello(endpoints))
    expect(page.locator("#connection")).to_have_attribute("data-status", "open", timeout=WAIT_MS)
