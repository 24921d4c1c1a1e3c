"""The process's life: background work that starts and stops with the server, and the drain.

A pod that is told to stop (SIGTERM) must first leave the Service's endpoints, or calls routed
to it in the meantime would be refused. So, like podinfo, it fails readiness at once, keeps
serving for ``SHUTDOWN_DRAIN_SECONDS`` while the endpoint controller and kube-proxy catch up,
and only then stops accepting connections and finishes what is in flight.

Apps register their background work here (the dashboard's endpoint watcher); the ASGI lifespan
in ``combat_app.front`` runs it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]

_startup_hooks: list[Hook] = []
_shutdown_hooks: list[Hook] = []
_draining = False


def on_startup(hook: Hook) -> Hook:
    _startup_hooks.append(hook)
    return hook


def on_shutdown(hook: Hook) -> Hook:
    _shutdown_hooks.append(hook)
    return hook


async def run_startup() -> None:
    for hook in _startup_hooks:
        await hook()


async def run_shutdown() -> None:
    """Run every shutdown hook, in reverse order, even when one fails."""
    for hook in reversed(_shutdown_hooks):
        try:
            await hook()
        except Exception:
            logger.exception("shutdown hook %s failed", getattr(hook, "__qualname__", hook))


def begin_drain() -> None:
    global _draining
    _draining = True


def is_draining() -> bool:
    return _draining
