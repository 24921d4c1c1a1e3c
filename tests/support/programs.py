"""Outside programs the tests need (kubectl, redis-server, chromium).

On a laptop that lacks one, its tests skip and say why; CI sets COMBAT_REQUIRE_ALL=1, which
turns every such skip into a failure, so nothing is quietly left untested there.
"""

from __future__ import annotations

import os
import shutil

import pytest


def require(program: str, why: str) -> str:
    path = shutil.which(program)
    if path:
        return path
    message = f"{program} is not installed ({why})"
    if os.environ.get("COMBAT_REQUIRE_ALL") == "1":
        pytest.fail(f"{message}; COMBAT_REQUIRE_ALL=1 forbids skipping")
    pytest.skip(message)
