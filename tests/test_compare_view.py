"""The compare view's modules in the page, on cases no sandbox run would give: the lesson says only
what the numbers show, and past 24 pods a mode's card shows the compact distribution. The page is
the real template and modules (tests/support/browser.py's harness); no cluster, no websocket
message is needed. The experiment itself, end to end: tests/test_compare_modes.py."""

from __future__ import annotations

import pytest

from tests.support.browser import (
    chromium_browser,  # noqa: F401 - a fixture
    open_page,
    rendered_pages,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.slow


@pytest.fixture
def opened(pages, browser):  # the pages are rendered before Playwright's loop runs in this thread
    context, page, _ = open_page(browser, pages, viewport={"width": 1440, "height": 900})
    page.wait_for_function("window.k8sCombat !== undefined")
    try:
        yield page
    finally:
        context.close()


LESSON_CASES = """
async () => {
  const base = document.querySelector('script[type="module"]').src;
  const { lesson } = await import(new URL("comparison.js", base));
  const t = { gettext: window.gettext, interpolate: window.interpolate };
  const run = (mode, ok, pods, connections) => ({
    mode, status: "finished", statistics: { ok, calls: ok, pods_reached: pods, connections },
  });
  const one = { expected_pods: ["a"], runs: [run("new-connection", 50, 1, 50), run("keep-alive", 50, 1, 1)] };
  const reconnected = {
    expected_pods: ["a", "b", "c"],
    runs: [
      run("new-connection", 90, 3, 90), run("keep-alive", 90, 2, 2), { mode: "pool", status: "running" },
    ],
  };
  return [lesson(one, t), lesson(reconnected, t), lesson({ expected_pods: ["a"], runs: [] }, t)];
}
"""


def test_the_lesson_says_only_what_the_numbers_show(opened):
    page = opened
    single, reconnected, empty = page.evaluate(LESSON_CASES)
    assert single == (
        "new connections spread over 1 of 1 pods; one kept connection stayed on 1 pod for 50 calls: "
        "with one pod, every mode lands on it."
    )
    # A kept connection that was replaced reached 2 pods: no claim that connections stick, and
    # nothing about the pool while it runs.
    assert reconnected == (
        "new connections spread over 3 of 3 pods; kept connections (2 of them) reached 2 pods in 90 calls."
    )
    assert empty == ""


COMPACT_CASE = """
async () => {
  const base = document.querySelector('script[type="module"]').src;
  const { createCompare } = await import(new URL("compare.js", base));
  const t = { gettext: window.gettext, interpolate: window.interpolate };
  const pods = Array.from({ length: 30 }, (_, i) => `pod-${String(i).padStart(2, "0")}`);
  const counts = Object.fromEntries(pods.map((pod, i) => [pod, { count: 10 + (i % 3), share: 0.033 }]));
  const statistics = {
    calls: 330, ok: 330, pods: counts, expected_pods: pods, pods_reached: 30, connections: 330,
    p_value: 0.9, busiest_ratio: 1.09, max_pods_per_connection: 1, errors: {},
  };
  const experiment = {
    id: 99, count: 330, concurrency: 4, status: "finished", reason: "", expected_pods: pods,
    modes: ["new-connection"], runs: [{ id: 1, mode: "new-connection", status: "finished", statistics }],
  };
  createCompare(document, t).update(experiment, {});
  const card = document.querySelector('.compare-card[data-mode="new-connection"]');
  const count = (selector) => card.querySelectorAll(selector).length;
  return { charts: count(".compare-chart"), bars: count(".compare-bar") };
}
"""


def test_past_24_pods_a_mode_shows_the_compact_distribution_not_a_bar_per_pod(opened):
    assert opened.evaluate(COMPACT_CASE) == {"charts": 1, "bars": 0}
