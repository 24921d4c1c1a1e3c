"""The process's life: background work that starts and stops with the server, and the drain.

A pod that is told to stop (SIGTERM) must first leave the Service's endpoints, or calls routed
to it in the meantime would be refused. So, like podinfo, it fails readiness at once, keeps
serving for ``SHUTDOWN_DRAIN_SECONDS`` while the endpoint controller and kube-proxy catch up,
and only then stops accepting connections and finishes what is in flight.

Apps register their background work here (the dashboard's endpoint watcher); the ASGI lifespan
in ``combat_app.front`` runs it. Work that must end as soon as the drain begins, not when the
server stops (the dashboard cancels its runs and tells its browsers to go), registers with
``on_drain``: ``begin_drain()``, called from the SIGTERM handler, starts it on the server's loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]

_startup_hooks: list[Hook] = []
_shutdown_hooks: list[Hook] = []
_drain_hooks: list[Hook] = []
_draining = False
_loop: asyncio.AbstractEventLoop | None = None
_drain_task: asyncio.Task | None = None
startup_failure: str | None = None  # why start-up failed, for the command line to say
_not_ready: dict[str, str] = {}  # what keeps this pod out of its Service's endpoints, by source


class StartupFailed(Exception):
    """Start-up cannot go on, for a reason the user can act on: said without a traceback."""


def set_not_ready(source: str, reason: str | None) -> None:
    """``source`` (e.g. the dashboard's database check) says this pod cannot serve now
    (``reason``), or can again (None): ``/readyz`` answers 503 with the reasons meanwhile."""
    if reason is None:
        _not_ready.pop(source, None)
    else:
        _not_ready[source] = reason


def not_ready_reasons() -> list[str]:
    return list(_not_ready.values())


def one_line(exc: BaseException, limit: int = 200) -> str:
    """An error as one line of at most ``limit`` characters (its type when it says nothing),
    for a not-ready reason or a log line."""
    return " ".join(str(exc).split())[:limit] or type(exc).__name__


def on_startup(hook: Hook) -> Hook:
    _startup_hooks.append(hook)
    return hook


def on_shutdown(hook: Hook) -> Hook:
    _shutdown_hooks.append(hook)
    return hook


def on_drain(hook: Hook) -> Hook:
    _drain_hooks.append(hook)
    return hook


async def run_startup() -> None:
    global _loop
    _loop = asyncio.get_running_loop()
    for hook in _startup_hooks:
        await hook()


async def _run_all(hooks: list[Hook], what: str) -> None:
    for hook in hooks:
        try:
            await hook()
        except Exception:
            logger.exception("%s hook %s failed", what, getattr(hook, "__qualname__", hook))


async def run_shutdown() -> None:
    """Finish the drain hooks if they still run, then every shutdown hook in reverse order, even
    when one fails."""
    if _drain_task is not None:
        await asyncio.shield(_drain_task)
    await _run_all(list(reversed(_shutdown_hooks)), "shutdown")


def begin_drain() -> None:
    """Fail readiness from now on and start the drain hooks on the server's loop.

    Safe to call from a signal handler or another thread; a second call does nothing.
    """
    global _draining
    if _draining:
        return
    _draining = True
    if _loop is not None and not _loop.is_closed():
        _loop.call_soon_threadsafe(_start_drain)


def _start_drain() -> None:
    global _drain_task
    _drain_task = asyncio.ensure_future(_run_all(list(_drain_hooks), "drain"))


def is_draining() -> bool:
    return _draining
