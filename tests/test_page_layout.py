"""What a user sees first, at 1440x900 in Debian's Chromium: the flow has the room the lesson
needs. Pods are named as a Deployment names them (``k8s-combat-service-twb5cpg4v2-lwm6z``); a
card shows a name whole whenever the window allows, never spills out of its box, and where a name
must be shortened the card still gives it whole on hover and on keyboard focus. The consumer and
the Service are on the first screen, and nothing leaves empty space under the flow.

The page is the real template and modules, the websocket faked at the network seam
(tests/support/browser.py's harness)."""

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
WINDOW = {"width": 1440, "height": 900}
FLOW_SHARE = 0.6  # the flow is at least this share of the window's width
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what Kubernetes draws pod-template hashes and suffixes from
ISSUE_13 = "k8s-combat-service-twb5cpg4v2-lwm6z"  # the name the issue saw cut
TOO_LONG = "k8s-combat-service-with-a-much-longer-deployment-name-7d4f8b9c6d-x2v9q"


def deployment_pods(count: int) -> list[str]:
    """``count`` pods of the k8s-combat-service Deployment, two ReplicaSets as in a rollout."""
    chance = random.Random(13)

    def draw(length: int) -> str:
        return "".join(chance.choice(ALPHABET) for _ in range(length))

    hashes = ["twb5cpg4v2", draw(10)]
    names = {ISSUE_13}
    while len(names) < count:
        names.add(f"k8s-combat-service-{hashes[len(names) % 2]}-{draw(5)}")
    return sorted(names)


CASES = {
    "3-pods": deployment_pods(3),
    "20-pods": deployment_pods(20),
    "a-name-too-long-for-a-card": [*deployment_pods(2), TOO_LONG],
}

# Every card's name, what it shows and where its boxes are; the consumer's and the Service's too.
DRAWN = """() => {
  const box = (node) => {
    const b = node.getBoundingClientRect();
    return [b.left, b.top, b.right, b.bottom];
  };
  const texts = (group) => [...group.querySelectorAll(":scope > text")].filter((t) => t.textContent).map(box);
  const part = (selector) => {
    const group = document.querySelector(selector);
    return { box: box(group.querySelector("rect")), texts: texts(group) };
  };
  const top = (selector) => document.querySelector(selector).getBoundingClientRect().top;
  const bottom = (selector) => document.querySelector(selector).getBoundingClientRect().bottom;
  return {
    flow: box(document.querySelector("#flow")),
    below: top(".numbers") - bottom("#flow-help"),
    consumer: part("#flow .consumer"),
    service: part("#flow .service"),
    cards: [...document.querySelectorAll("#flow .pod")].map((card) => ({
      label: card.getAttribute("aria-label"),
      title: card.querySelector("title")?.textContent ?? null,
      shown: card.querySelector(".pod-name").textContent,
      box: box(card.querySelector("rect.card") || card.querySelector("rect")),
      texts: texts(card),
    })),
  };
}"""


def inside(inner: list[float], outer: list[float], slack: float = 0.5) -> bool:
    left, top, right, bottom = inner
    return (
        left >= outer[0] - slack
        and top >= outer[1] - slack
        and right <= outer[2] + slack
        and bottom <= outer[3] + slack
    )


@pytest.fixture
def shown(request, pages, browser):
    """The page at 1440x900 with the case's pods (and chaos on, as in the sandbox)."""
    names = CASES[request.param]
    context, page, dashboard = open_page(browser, pages, viewport=WINDOW)
    try:
        endpoints = endpoint_set(len(names), names=names)
        connect(page, dashboard, endpoints)
        dashboard.send(hello(endpoints, seq=dashboard.seq, chaos=True))
        expect(page.locator("#flow .pod")).to_have_count(len(names), timeout=WAIT_MS)
        expect(page.locator("#chaos-pods button")).to_have_count(len(names), timeout=WAIT_MS)
        page.evaluate("document.fonts.ready.then(() => true)")
        yield request.param, names, page
    finally:
        context.close()


@pytest.mark.parametrize("shown", list(CASES), indirect=True)
def test_the_flow_has_the_room_and_no_text_leaves_its_box(shown):
    case, _, page = shown
    screenshot(page, f"layout-{case}")
    drawn = page.evaluate(DRAWN)
    flow = drawn["flow"]
    assert flow[2] - flow[0] >= FLOW_SHARE * WINDOW["width"], f"the flow is {flow[2] - flow[0]:.0f} px wide"
    assert drawn["below"] <= 40, f"{drawn['below']:.0f} px of empty space under the flow"
    for part in ("consumer", "service"):
        box = drawn[part]["box"]
        assert box[1] >= 0 and box[3] <= WINDOW["height"], f"the {part} is off the first screen: {box}"
        assert inside(box, flow)
        for text in drawn[part]["texts"]:
            assert inside(text, box), f"a text of the {part} leaves its box: {text} in {box}"
    for card in drawn["cards"]:
        assert inside(card["box"], flow), f"{card['shown']}'s card leaves the flow"
        for text in card["texts"]:
            assert inside(text, card["box"]), f"a text of {card['shown']}'s card leaves it: {text}"


@pytest.mark.parametrize("shown", list(CASES), indirect=True)
def test_each_card_shows_its_pods_name_whole_or_gives_it_on_hover_and_focus(shown):
    case, names, page = shown
    cards = page.evaluate(DRAWN)["cards"]
    assert sorted(card["label"] or "" for card in cards) == names, "each card is named by its pod's full name"
    assert all(card["title"] == card["label"] for card in cards), "and says it on hover (its <title>)"
    shortened = {card["label"] for card in cards if card["shown"] != card["label"]}
    if case != "a-name-too-long-for-a-card":
        assert not shortened, "at 1440x900 a Deployment's pod names fit their cards whole"
    else:
        assert shortened == {TOO_LONG}, "only the name that cannot fit is shortened"
        (cut,) = [card["shown"] for card in cards if card["label"] == TOO_LONG]
        assert "\u2026" in cut and cut.endswith("7d4f8b9c6d-x2v9q"), f"{cut}: cut in the middle, end kept"

    page.mouse.move(0, 0)
    for name in names:
        card = page.locator(f'#flow .pod[aria-label="{name}"]')
        tip = card.locator(".name-tip")
        card.hover()
        if name in shortened:
            expect(tip).to_be_visible()
            expect(tip).to_have_text(name)
            assert inside(list(box_of(tip)), list(box_of(page.locator("#flow")))), "the tip is drawn whole"
        else:
            expect(card.locator(".pod-name")).to_have_text(name)
            expect(tip).to_be_hidden()
    page.mouse.move(0, 0)

    # The keyboard: one tab stop after the header, then the arrow keys, card after card.
    page.locator("header form.language button").focus()
    page.keyboard.press("Tab")
    for index, name in enumerate(names):
        if index:
            page.keyboard.press("ArrowDown")
        focused = page.locator("#flow .pod:focus")
        expect(focused).to_have_accessible_name(name)
        expect(focused.locator(".focus-ring")).to_be_visible()
        if name in shortened:
            expect(focused.locator(".name-tip")).to_be_visible()
            expect(focused.locator(".name-tip")).to_have_text(name)
        else:
            expect(focused.locator(".pod-name")).to_have_text(name)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#flow')") is None, "one tab stop for all the cards"


def box_of(locator) -> tuple[float, float, float, float]:
    box = locator.bounding_box()
    return box["x"], box["y"], box["x"] + box["width"], box["y"] + box["height"]
