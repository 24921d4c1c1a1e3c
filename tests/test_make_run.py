"""`make run`, the README's first command: it serves the app on 127.0.0.1:8081."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest
import requests

from tests.support.processes import ROOT
from tests.support.programs import require

pytestmark = pytest.mark.slow


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) != 0


def test_make_run_serves_ping_on_127_0_0_1_port_8081_and_stops_on_ctrl_c():
    make = require("make", "make run is the README's command")
    assert port_is_free("127.0.0.1", 8081), "something else is listening on 127.0.0.1:8081"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMBAT_", "DJANGO_", "POD_"))}
    process = subprocess.Popen(
        [make, "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        answer = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = requests.get("http://127.0.0.1:8081/ping", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert answer is not None, f"make run did not serve /ping:\n{process.stdout.read()}"
        assert answer.text == "pong"
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    assert port_is_free("127.0.0.1", 8081), "the server outlived make run"
