"""Settings come from the environment; a malformed value stops start-up and says which."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.processes import ROOT, app_environment, free_port


def start_with(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "combat_app.serving", "--port", str(free_port())],
        cwd=ROOT,
        env=app_environment(**env),
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("DJANGO_DEBUG", "yes please", "DJANGO_DEBUG='yes please' is not valid: expected true or false"),
        ("COMBAT_CALL_TIMEOUT_SECONDS", "two", "COMBAT_CALL_TIMEOUT_SECONDS='two' is not valid"),
        ("COMBAT_CALL_TIMEOUT_SECONDS", "-1", "COMBAT_CALL_TIMEOUT_SECONDS='-1' is not valid"),
        ("COMBAT_SERVICE_URL", "ftp://k8s-combat-service", "COMBAT_SERVICE_URL='ftp://k8s-combat-service'"),
        ("COMBAT_SERVICE_URL", "http://svc:8081/path", "COMBAT_SERVICE_URL='http://svc:8081/path'"),
        ("SHUTDOWN_DRAIN_SECONDS", "soon", "SHUTDOWN_DRAIN_SECONDS='soon' is not valid"),
        ("COMBAT_PORT", "99999", "COMBAT_PORT='99999' is not valid"),
        ("DJANGO_ALLOWED_HOSTS", "*", "DJANGO_ALLOWED_HOSTS must name hosts"),
        ("COMBAT_LOG_LEVEL", "LOUD", "COMBAT_LOG_LEVEL='LOUD' is not valid"),
        ("POD_NAME", "pod\u00e9", "POD_NAME="),
        ("DASHBOARD_SERVICES", "svc.Team", "'Team' is not a namespace name"),
        ("DASHBOARD_SERVICES", "http://evil:80", "'http://evil:80': 'http://evil:80' is not a Service name"),
        ("DASHBOARD_SERVICES", "a.b.svc.cluster.local", "'b.svc.cluster.local' is not a namespace name"),
        ("DASHBOARD_SERVICES", "a,b.default,a", "a.default is named twice"),
        ("DASHBOARD_SERVICES", ",", "DASHBOARD_SERVICES=',' is not valid: name at least one Service"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(variable, value, says):
    env = {variable: value}
    if variable == "COMBAT_PORT":
        result = subprocess.run(
            [sys.executable, "-m", "combat_app.serving"],
            cwd=ROOT,
            env=app_environment(**env),
            capture_output=True,
            text=True,
            timeout=30,
        )
    else:
        result = start_with(**env)
    assert result.returncode == 2
    assert "configuration error" in result.stderr
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_without_a_secret_key_a_production_start_stops_and_says_how_to_set_one():
    result = start_with(DJANGO_SECRET_KEY="")
    assert result.returncode == 2
    assert "DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) must be set" in result.stderr


def test_the_secret_key_can_come_from_a_mounted_file(tmp_path):
    from django.core.exceptions import ImproperlyConfigured

    from combat_app.env import env_secret

    key_file = tmp_path / "secret-key"
    key_file.write_text("from-a-kubernetes-secret\n")
    env = {"DJANGO_SECRET_KEY_FILE": str(key_file)}
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DJANGO_SECRET_KEY", raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        assert env_secret("DJANGO_SECRET_KEY", generate=False) == "from-a-kubernetes-secret"
        patch.setenv("DJANGO_SECRET_KEY_FILE", str(tmp_path / "missing"))
        with pytest.raises(ImproperlyConfigured, match=r"DJANGO_SECRET_KEY_FILE=.*cannot be read"):
            env_secret("DJANGO_SECRET_KEY", generate=False)


def test_a_port_in_use_stops_start_up_naming_the_option_that_changes_it():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "combat_app.serving", "--port", str(port)],
            cwd=ROOT,
            env=app_environment(),
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode != 0
    assert f"could not serve on 127.0.0.1:{port}" in result.stderr
    assert "COMBAT_PORT" in result.stderr
