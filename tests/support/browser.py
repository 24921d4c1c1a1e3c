"""Debian's Chromium driven by Playwright: nothing is downloaded, the tests launch /usr/bin/chromium."""

from __future__ import annotations

from pathlib import Path

from tests.support.programs import require

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
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


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
