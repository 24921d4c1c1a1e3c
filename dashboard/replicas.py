"""This dashboard process among its replicas (several pods sharing PostgreSQL and Redis).

- **Heartbeats** (``dashboard.heartbeats``): written on start-up, before any run, then every
  ``DASHBOARD_HEARTBEAT_SECONDS``; the runs another replica's beat finds orphaned are announced
  here (``run.finished`` with ``status: interrupted``) to their target's browsers.
- **Commands for another replica**: a cancel pressed on one replica for a run that another
  runs goes to every process's control channel (group ``dashboard.control`` on the channel
  layer); the one that runs it cancels it, the others ignore it.
- **Readiness**: with Redis (``DASHBOARD_CHANNEL_LAYER``), each beat also sends one message
  through it; while that fails the pod reports not ready (``/readyz`` 503), as it does for the
  database (``heartbeats.beat``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from django.conf import settings

from combat_app import lifecycle
from dashboard import heartbeats
from dashboard.errors import Refused
from dashboard.models import Experiment, Run
from dashboard.runs import run_row

if TYPE_CHECKING:
    from dashboard.engine import Engine

logger = logging.getLogger(__name__)

CONTROL_GROUP = "dashboard.control"
LAYER_SOURCE = "dashboard-channel-layer"  # lifecycle.set_not_ready's source for Redis
LAYER_TIMEOUT_SECONDS = 3


class Replicas:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.control = ""  # this process's channel in CONTROL_GROUP
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        await self.beat()  # before the first run: a run's process must be seen alive
        self.control = await self.engine.layer.new_channel()
        await self.engine.layer.group_add(CONTROL_GROUP, self.control)
        self._tasks = [self.engine._spawn(self._beat_forever()), self.engine._spawn(self._listen())]

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()

    async def beat(self) -> None:
        """One heartbeat; the runs it found orphaned are announced as ``run.finished``."""
        engine = self.engine
        interrupted = await asyncio.to_thread(
            heartbeats.beat, engine.origin, expiry_seconds=settings.DASHBOARD_HEARTBEAT_EXPIRY_SECONDS
        )
        for run in interrupted:
            row = run_row(run)
            # A row from before targets had keys (target "") was the home Service's.
            live = engine.targets.get(row["target"]) if row["target"] else engine.home
            if live is not None:  # else: a Service no longer configured; the row is stored
                await live.broadcast({"type": "run.finished", "run": row})
        if settings.DASHBOARD_CHANNEL_LAYER:
            await self._check_channel_layer()

    async def _check_channel_layer(self) -> None:
        """A replica whose Redis is unreachable cannot reach its browsers (nor hear a cancel):
        it reports not ready until a message goes through again."""
        try:
            message = {"type": "replica.alive", "origin": self.engine.origin}
            await asyncio.wait_for(
                self.engine.layer.group_send(CONTROL_GROUP, message), LAYER_TIMEOUT_SECONDS
            )
        except Exception as exc:  # redis-py's connection errors, a timeout: all mean the same here
            reason = lifecycle.one_line(exc)
            lifecycle.set_not_ready(
                LAYER_SOURCE,
                f"the dashboard's channel layer (DASHBOARD_CHANNEL_LAYER) is unreachable: {reason}",
            )
            logger.warning("the channel layer is unreachable (not ready until it is back): %s", reason)
            return
        lifecycle.set_not_ready(LAYER_SOURCE, None)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(settings.DASHBOARD_HEARTBEAT_SECONDS)
            try:
                await self.beat()
            except Exception:  # the next beat tries again; readiness says what failed meanwhile
                logger.exception("heartbeat failed")

    async def cancel_anywhere(self, kind: str, ident: int) -> None:
        """Cancel a ``run`` or an ``experiment`` (``kind``) wherever it runs: here, or in the
        replica that runs it (through ``CONTROL_GROUP``). ``Refused`` when none runs it."""
        engine = self.engine
        if kind == "run" and engine.local_run(ident):
            return engine.cancel_run(ident)
        if kind == "experiment" and engine.local_experiment(ident):
            return engine.cancel_experiment(ident)
        model = Run if kind == "run" else Experiment
        running = await asyncio.to_thread(
            lambda: model.objects.filter(id=ident, status=model.Status.RUNNING).exists()
        )
        if not running:
            raise Refused(f"unknown-{kind}", f"{kind} {ident} is not running")
        await engine.layer.group_send(CONTROL_GROUP, {"type": f"{kind}.cancel", kind: ident})

    async def _listen(self) -> None:
        """Commands another replica forwards to the process that runs what they name."""
        engine = self.engine
        while True:
            try:
                message = await engine.layer.receive(self.control)
            except Exception:  # Redis is gone for now: the beat reports it; listen again later
                await asyncio.sleep(settings.DASHBOARD_HEARTBEAT_SECONDS)
                continue
            try:
                if message.get("type") == "run.cancel" and engine.local_run(message["run"]):
                    engine.cancel_run(message["run"])
                elif message.get("type") == "experiment.cancel" and engine.local_experiment(
                    message["experiment"]
                ):
                    engine.cancel_experiment(message["experiment"])
            except Refused:  # it ended meanwhile
                pass
