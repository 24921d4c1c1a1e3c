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


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory):
    """One real kube-apiserver (+ etcd) for the whole session, stopped by its PIDs at the end."""
    from tests.support.control_plane import start_control_plane

    plane = start_control_plane(tmp_path_factory.mktemp("control-plane"))
    yield plane
    plane.stop()
