"""The runs this dashboard process is firing: start one, cancel one, cancel them all.

A run is a ``Run`` row, a ``Firing`` (its worker threads) and the calls recorded so far. When its
workers are done, its verdict is written on the call writer's thread *after* every call of the
run is stored, then broadcast as ``run.finished`` after the run's last ``calls.batch``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from dashboard.errors import Refused
from dashboard.firing import Firing, RunPlan
from dashboard.models import Run
from dashboard.records import CallRecord
from dashboard.statistics import run_statistics
from dashboard.storing import CallWriter, prune_runs

SHUTDOWN_REASON = "the dashboard pod is shutting down (SIGTERM)"
USER_REASON = "cancelled by a user"


@dataclass
class ActiveRun:
    row: dict
    plan: RunPlan
    firing: Firing
    expected: list[str]
    records: list[CallRecord] = field(default_factory=list)
    reason: str = ""  # why it was cancelled, stored with the run
    expectation: dict | None = None  # service_settings.expectation at its start
    finishing: asyncio.Task | None = None

    def cancel(self, reason: str) -> None:
        self.reason = self.reason or reason
        self.firing.cancel()


class Runs:
    def __init__(
        self,
        *,
        origin: str,
        writer: CallWriter,
        slots: threading.Semaphore,
        endpoint_state: Callable[[str, str], str],
        broadcast: Callable[[dict], Awaitable[None]],
        flush_calls: Callable[[], Awaitable[None]],
        spawn: Callable[[Awaitable], asyncio.Task],
        expectation: Callable[[], dict] | None = None,
        service_settings: Callable[[], dict] | None = None,
        target: str,
        url: str,
    ) -> None:
        # The target Service (its key, ``combat_app.targets.Target.key``) and where its calls go:
        # http://host:port, and the same host on the gRPC port.
        self.target = target
        self.url = url
        self.grpc_target = f"{urlsplit(self.url).hostname}:{settings.COMBAT_SERVICE_GRPC_PORT}"
        # From the Service's settings (service_settings.py): the pods a run should reach, at its
        # start; the settings now, at its end, to say whether one changed during the run.
        self.expectation = expectation
        self.service_settings = service_settings
        self.origin = origin
        self.writer = writer
        self.slots = slots
        self.endpoint_state = endpoint_state
        self.broadcast = broadcast
        self.flush_calls = flush_calls
        self.spawn = spawn
        self.active: dict[int, ActiveRun] = {}

    def rows(self) -> list[dict]:
        return [active.row for active in self.active.values()]

    async def start(self, plan: RunPlan, *, expected: list[str], experiment: int | None = None) -> dict:
        """Store the run (in ``experiment`` when given), announce it (``run.started``) and start
        its workers; returns its row. ``finished(row["id"])`` awaits its final row."""
        expectation = self.expectation() if self.expectation is not None else None
        expected = expectation["pods"] if expectation is not None else expected
        run = await asyncio.to_thread(
            Run.objects.create,
            mode=plan.mode,
            count=plan.count,
            concurrency=plan.workers,
            rate=plan.rate,
            origin=self.origin,
            started_at=timezone.now(),
            expected_pods=expected,
            experiment_id=experiment,
            target=self.target,
        )
        row = run_row(run)
        active = ActiveRun(row=row, plan=plan, firing=None, expected=expected, expectation=expectation)  # type: ignore[arg-type]

        def on_call(record: CallRecord) -> None:
            active.records.append(record)
            self.writer.add(record)

        active.firing = Firing(
            plan,
            run_id=run.id,
            url=f"{self.url}/ping",
            timeout=settings.COMBAT_CALL_TIMEOUT_SECONDS,
            on_call=on_call,
            endpoint_state=self.endpoint_state,
            slots=self.slots,
            grpc_target=self.grpc_target,
        )
        self.active[run.id] = active
        await self.broadcast({"type": "run.started", "run": row})
        active.firing.start()
        active.finishing = self.spawn(self._finish_when_done(run.id))
        return row

    async def finished(self, run_id: int) -> dict:
        """The run's row once its verdict is stored and broadcast (``run.finished``)."""
        return await asyncio.shield(self.active[run_id].finishing)

    async def _finish_when_done(self, run_id: int) -> dict:
        active = self.active[run_id]
        await asyncio.to_thread(active.firing.join)
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def finish() -> None:  # on the writer thread, after every call of the run is stored
            try:
                status = Run.Status.CANCELLED if active.firing.cancelled.is_set() else Run.Status.FINISHED
                statistics = run_statistics(
                    active.records,
                    active.expected,
                    expectation=active.expectation,
                    settings_now=self.service_settings() if self.service_settings is not None else None,
                )
                Run.objects.filter(id=run_id).update(
                    status=status, finished_at=timezone.now(), statistics=statistics, reason=active.reason
                )
                prune_runs(settings.DASHBOARD_MAX_RUNS)
                loop.call_soon_threadsafe(done.set_result, run_row(Run.objects.get(id=run_id)))
            except Exception as exc:
                loop.call_soon_threadsafe(done.set_exception, exc)

        self.writer.after_pending(finish)
        try:
            row = await done
        finally:
            self.active.pop(run_id, None)
            active.records.clear()
            await asyncio.to_thread(release_freed_memory)
        await self.flush_calls()  # the run's last calls go out before its verdict
        await self.broadcast({"type": "run.finished", "run": row})
        return row

    def cancel(self, run_id: int) -> None:
        active = self.active.get(run_id)
        if active is None:
            raise Refused("unknown-run", f"run {run_id} is not running in this dashboard process")
        active.cancel(USER_REASON)

    async def cancel_all(self, reason: str, *, seconds: float) -> None:
        """Cancel every run and wait (at most ``seconds``) until each has stored its verdict."""
        for active in list(self.active.values()):
            active.cancel(reason)
        finishing = [a.finishing for a in self.active.values() if a.finishing is not None]
        if finishing:
            await asyncio.wait(finishing, timeout=seconds)


def release_freed_memory() -> None:
    """Give the heap freed by a run back to the OS (glibc keeps it otherwise), so the pod's RSS
    after a burst stays near its idle size and well inside its memory limit."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def run_row(run: Run) -> dict:
    """A run as the protocol shows it (docs/protocol.md, ``run.started``/``run.finished``)."""
    return {
        "id": run.id,
        "mode": run.mode,
        "count": run.count,
        "concurrency": run.concurrency,
        "rate": run.rate,
        "status": run.status,
        "origin": run.origin,
        "started_at": run.started_at.timestamp() if run.started_at else None,
        "finished_at": run.finished_at.timestamp() if run.finished_at else None,
        "expected_pods": run.expected_pods,
        "statistics": run.statistics,
        "reason": run.reason,
        "experiment": run.experiment_id,
        "target": run.target,
    }
