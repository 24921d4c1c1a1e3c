"""SIGTERM: leave the Service first, then finish what is in flight, then exit 0."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.slow_upstream import SlowUpstream
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


def test_sigterm_fails_readiness_during_the_drain_completes_in_flight_requests_and_exits_0(app_server):
    # Events and waits rather than sleeps, and a drain long enough that a busy machine's slow
    # requests still land inside it; the request in flight outlasts the drain.
    with SlowUpstream(delay_seconds=8.5) as upstream, ThreadPoolExecutor(1) as pool:
        server = app_server(
            COMBAT_SERVICE_URL=upstream.url, SHUTDOWN_DRAIN_SECONDS="8", COMBAT_CALL_TIMEOUT_SECONDS="20"
        )
        in_flight = pool.submit(requests.get, f"{server.url}/service", timeout=30)
        assert upstream.received.wait(30), "the request reached the slow upstream"
        server.process.send_signal(signal.SIGTERM)

        def not_ready() -> bool:
            return requests.get(f"{server.url}/readyz", timeout=5).status_code == 503

        wait_for(not_ready, 6, every=0.05)
        assert requests.get(f"{server.url}/ping", timeout=5).text == "pong", "still serving while draining"
        answer = in_flight.result(timeout=30)
        assert answer.status_code == 200
        assert answer.text == "200 OK"
        assert server.process.wait(timeout=30) == 0
    assert "SIGTERM: not ready; draining for 8s" in server.output()


def test_ctrl_c_stops_the_server_with_exit_code_0(app_server):
    server = app_server()
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=10) == 0
