"""SIGTERM: leave the Service first, then finish what is in flight, then exit 0."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.slow_upstream import SlowUpstream

pytestmark = pytest.mark.slow


def test_sigterm_fails_readiness_during_the_drain_completes_in_flight_requests_and_exits_0(app_server):
    with SlowUpstream(delay_seconds=1.5) as upstream, ThreadPoolExecutor(1) as pool:
        server = app_server(
            COMBAT_SERVICE_URL=upstream.url, SHUTDOWN_DRAIN_SECONDS="1", COMBAT_CALL_TIMEOUT_SECONDS="5"
        )
        in_flight = pool.submit(requests.get, f"{server.url}/service", timeout=10)
        time.sleep(0.3)  # the request is now waiting on the slow upstream
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        during_drain = requests.get(f"{server.url}/readyz", timeout=2)
        assert during_drain.status_code == 503
        assert requests.get(f"{server.url}/ping", timeout=2).text == "pong", "still serving while draining"
        answer = in_flight.result(timeout=10)
        assert answer.status_code == 200
        assert answer.text == "200 OK"
        assert server.process.wait(timeout=10) == 0
    assert "SIGTERM: not ready; draining for 1s" in server.output()


def test_ctrl_c_stops_the_server_with_exit_code_0(app_server):
    server = app_server()
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=10) == 0
