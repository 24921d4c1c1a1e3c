"""`manage.py check --deploy` under the production settings: clean, or silenced on purpose."""

from __future__ import annotations

import secrets
import subprocess
import sys

import pytest

from tests.support.processes import ROOT, app_environment


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=app_environment(DJANGO_SECRET_KEY=secrets.token_urlsafe(50), **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("https", ["false", "true"])
def test_check_deploy_prints_no_warning(https):
    result = check_deploy(COMBAT_HTTPS=https, COMBAT_DASHBOARD="true")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_still_catches_debug_left_on():
    result = check_deploy(DJANGO_DEBUG="true")
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr
