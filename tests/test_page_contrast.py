"""The page's colours pass WCAG AA: 4.5:1 for text against the white page and the panels."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[1] / "static" / "dashboard" / "dashboard.css").read_text()


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


VARIABLES = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", CSS))


@pytest.mark.parametrize("name", ["ink", "muted", "ready", "not-ready", "terminating", "accent"])
@pytest.mark.parametrize("background", ["#ffffff", VARIABLES["surface"]])
def test_text_colours_pass_aa_on_the_page_and_panel_backgrounds(name, background):
    assert contrast(VARIABLES[name], background) >= 4.5, f"--{name} on {background}"


def test_button_text_passes_aa():
    assert contrast("#ffffff", VARIABLES["accent"]) >= 4.5
    assert contrast("#3b424c", "#c9ced6") >= 4.5, "disabled buttons stay readable"
