"""The page's reducer in Chromium, fed the deltas the engine makes: after a burst, its endpoint
list is the server's, in the server's order, whether a message held one change or hundreds."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from dashboard import slices, tracking
from tests.support.browser import launch

pytestmark = pytest.mark.slow
STATIC = Path(__file__).resolve().parents[1] / "static"
ORIGIN = "http://page.test"  # answered by the route below: nothing leaves the browser


@pytest.fixture(scope="module")
def reducer():
    """``apply(messages)``: the page's state.js reduce over a hello and these messages, in Chromium."""
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()

            def serve(route):
                path = route.request.url.removeprefix(ORIGIN).split("?")[0]
                if path == "/":
                    blank = "<!doctype html><title>reducer</title>"
                    return route.fulfill(body=blank, content_type="text/html")
                return route.fulfill(path=str(STATIC / path.lstrip("/")), content_type="text/javascript")

            page.route(f"{ORIGIN}/**", serve)
            page.goto(f"{ORIGIN}/")

            def apply(messages: list[dict]) -> list[dict]:
                return page.evaluate(
                    """async (messages) => {
                        const { initialState, reduce } = await import("/dashboard/state.js");
                        let state = initialState();
                        for (const message of messages) state = reduce(state, message);
                        return state.endpoints;
                    }""",
                    messages,
                )

            yield apply
        finally:
            browser.close()


def pod_slices(rng: random.Random, pods: range, per_slice: int) -> list[dict]:
    """The Service's slices for these pods, each with a random readiness, dual-stack."""
    result = []
    for family, address in (("IPv4", "10.1.{}.{}"), ("IPv6", "fd00::{}:{}")):
        for first in range(0, len(pods), per_slice):
            items = [
                {
                    "addresses": [address.format(n // 250, n % 250)],
                    "conditions": {"ready": rng.random() < 0.8, "terminating": rng.random() < 0.1},
                    "nodeName": f"node-{n % 3}",
                    "targetRef": {"kind": "Pod", "namespace": "default", "name": f"pod-{n:04d}"},
                }
                for n in pods[first : first + per_slice]
            ]
            name = f"svc-{family.lower()}-{first // per_slice}"
            result.append({"metadata": {"name": name}, "addressType": family, "endpoints": items})
    return result


def hello(endpoints: slices.EndpointSet) -> dict:
    listed = [e.as_dict() for e in slices.in_order(endpoints)]
    return {"type": "hello", "pod": None, "service": None, "capabilities": {}, "endpoints": listed,
            "calls": [], "runs": [], "timeline": []}  # fmt: skip


def burst(seed: int, *, windows: int, events_per_window: int) -> tuple[list[dict], list[dict]]:
    """(messages, the server's list after them): a hello at 300 pods, then a rollout's windows of
    slice events (scale to 420, pods replaced, readiness flapping), folded as the engine folds them."""
    rng = random.Random(seed)
    tracked, index, pending = tracking.SliceSet(), tracking.EndpointIndex(), tracking.PendingChanges()
    index.apply(tracked.reset((s["metadata"]["name"], s) for s in pod_slices(rng, range(300), 100)))
    messages = [hello(index.endpoints)]
    for _ in range(windows):
        for _ in range(events_per_window):
            low = rng.randrange(0, 400)
            kept = range(low, low + rng.randrange(1, 120))
            fresh = pod_slices(rng, kept, 100)
            if rng.random() < 0.15:
                change = tracked.delete(rng.choice(fresh)["metadata"]["name"])
            else:
                chosen = rng.choice(fresh)
                change = tracked.put(chosen["metadata"]["name"], chosen)
            pending.note(change, index.endpoints)
            index.apply(change)
        delta = pending.take(index.endpoints)
        messages.append({"type": "endpoints.changed", **delta, "events": [], "count": len(index.endpoints)})
    return messages, [e.as_dict() for e in slices.in_order(index.endpoints)]


@pytest.mark.parametrize(
    ("windows", "events_per_window"),
    [(200, 1), (30, 25)],
    ids=["one-event-per-message", "a-rollout-folded-into-few-messages"],
)
def test_the_pages_list_equals_the_servers_after_a_burst_of_deltas(reducer, windows, events_per_window):
    for seed in range(3):
        messages, server = burst(seed, windows=windows, events_per_window=events_per_window)
        assert sum(bool(m.get("removed")) for m in messages) > 0, "the burst removes endpoints too"
        assert reducer(messages) == server
        # The same messages again after the last: each change is applied idempotently.
        assert reducer(messages + messages[1:]) == server


def test_deltas_that_crossed_a_resyncs_hello_are_put_right_by_the_ones_after_them(reducer):
    messages, server = burst(7, windows=40, events_per_window=3)
    # The hello was taken after message 30's changes, but messages 20 to 30 were already queued
    # for this client: they arrive after it, older than what it shows, then the rest.
    _, at_30 = burst(7, windows=30, events_per_window=3)
    assert reducer([{**messages[0], "endpoints": at_30}, *messages[20:]]) == server
