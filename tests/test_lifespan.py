"""Background work (the dashboard's watcher, later) starts and stops with the server."""

from __future__ import annotations

import asyncio

from asgiref.testing import ApplicationCommunicator

from combat_app import lifecycle
from combat_app.asgi import application


async def test_lifespan_runs_startup_hooks_then_shutdown_hooks_in_reverse(monkeypatch):
    events: list[str] = []
    monkeypatch.setattr(lifecycle, "_startup_hooks", [])
    monkeypatch.setattr(lifecycle, "_shutdown_hooks", [])

    async def record(name: str) -> None:
        events.append(name)

    lifecycle.on_startup(lambda: record("start watcher"))
    lifecycle.on_shutdown(lambda: record("stop watcher"))
    lifecycle.on_shutdown(lambda: record("close pool"))

    communicator = ApplicationCommunicator(application, {"type": "lifespan"})
    await communicator.send_input({"type": "lifespan.startup"})
    assert await communicator.receive_output(5) == {"type": "lifespan.startup.complete"}
    await communicator.send_input({"type": "lifespan.shutdown"})
    assert await communicator.receive_output(5) == {"type": "lifespan.shutdown.complete"}
    assert events == ["start watcher", "close pool", "stop watcher"]


async def test_a_failing_startup_hook_fails_the_lifespan_with_its_reason(monkeypatch):
    monkeypatch.setattr(lifecycle, "_startup_hooks", [])

    async def broken() -> None:
        raise RuntimeError("cannot reach the API server")

    lifecycle.on_startup(broken)
    communicator = ApplicationCommunicator(application, {"type": "lifespan"})
    await communicator.send_input({"type": "lifespan.startup"})
    message = await asyncio.wait_for(communicator.receive_output(5), 5)
    assert message == {"type": "lifespan.startup.failed", "message": "cannot reach the API server"}
