from __future__ import annotations

import pytest

from tests.support.processes import start_app


@pytest.fixture
def app_server():
    """Start real app processes (``app_server(POD_NAME=...)``); all are stopped afterwards."""
    started = []

    def start(**env: str):
        server = start_app(**env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
