"""Waiting for a cluster to settle, with a deadline and a message when it does not."""

from __future__ import annotations

import time


def wait_for(condition, seconds: float = 20, every: float = 0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(every)
    raise AssertionError(f"{getattr(condition, '__name__', 'condition')} not met within {seconds} s")
