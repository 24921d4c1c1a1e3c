"""Experiments: "Compare the modes", the same calls in every connection mode, one run per mode.

An experiment records the pods ready when it starts (each run is judged, as any run is, against
what the Service's settings expect at its own start), then starts one run per mode of
``dashboard.firing.MODES``, one after another, each waiting for the previous one's verdict.
It is announced as ``experiment.started``, each run's start and verdict as
``experiment.progress``, and its end as ``experiment.finished`` (docs/protocol.md). A run that is
cancelled (a user, or the pod's SIGTERM) cancels the experiment: the modes after it never run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from django.utils import timezone

from dashboard.errors import Refused
from dashboard.firing import MODES, ExperimentPlan
from dashboard.models import Experiment, Run
from dashboard.runs import USER_REASON, Runs, run_row

logger = logging.getLogger(__name__)

# One CSV row per mode: the figures the page shows side by side.
CSV_FIELDS = (
    "experiment",
    "mode",
    "run",
    "status",
    "calls",
    "ok",
    "expected_pods",
    "pods_reached",
    "connections",
    "max_pods_per_connection",
    "longest_streak",
    "chi_square",
    "p_value",
    "busiest_ratio",
    "shares",
    "latency_p50_ms",
    "latency_p95_ms",
)


class Experiments:
    def __init__(
        self,
        *,
        origin: str,
        runs: Runs,
        broadcast: Callable[[dict], Awaitable[None]],
        spawn: Callable[[Awaitable], asyncio.Task],
    ) -> None:
        self.origin = origin
        self.target = runs.target
        self.runs = runs
        self.broadcast = broadcast
        self.spawn = spawn
        self.active: dict[int, dict] = {}  # id -> its row, while it runs
        self._current_run: dict[int, int] = {}  # experiment id -> the run it is waiting for
        self._reasons: dict[int, str] = {}
        self._tasks: dict[int, asyncio.Task] = {}
        self.closing = False

    def rows(self) -> list[dict]:
        return list(self.active.values())

    async def start(self, plan: ExperimentPlan, *, expected: list[str]) -> dict:
        """Store the experiment, announce it and start its first run; returns its row."""
        if self.closing:
            raise Refused("shutting-down", "the dashboard pod is shutting down")
        experiment = await asyncio.to_thread(
            Experiment.objects.create,
            count=plan.count,
            concurrency=plan.concurrency,
            origin=self.origin,
            started_at=timezone.now(),
            expected_pods=expected,
            target=self.target,
        )
        row = experiment_row(experiment, [])
        self.active[experiment.id] = row
        await self.broadcast({"type": "experiment.started", "experiment": row})
        self._tasks[experiment.id] = self.spawn(self._run_all(experiment.id, plan, expected))
        return row

    async def _run_all(self, experiment_id: int, plan: ExperimentPlan, expected: list[str]) -> None:
        finished: list[dict] = []
        status, reason = Experiment.Status.FINISHED, ""
        try:
            for run_plan in plan.plans():
                if experiment_id in self._reasons:
                    break
                started = await self.runs.start(run_plan, expected=expected, experiment=experiment_id)
                self._current_run[experiment_id] = started["id"]
                await self._progress(experiment_id, [*finished, started])
                done = await self.runs.finished(started["id"])
                finished.append(done)
                await self._progress(experiment_id, finished)
                if done["status"] == Run.Status.CANCELLED:
                    self._reasons.setdefault(experiment_id, done["reason"] or USER_REASON)
        except Exception as exc:  # a run that cannot start (the database): the experiment says why
            logger.exception("experiment %s failed", experiment_id)
            status, reason = Experiment.Status.FAILED, str(exc)[:200]
        if experiment_id in self._reasons and status == Experiment.Status.FINISHED:
            status, reason = Experiment.Status.CANCELLED, self._reasons[experiment_id]
        try:
            row = await asyncio.to_thread(_close, experiment_id, status, reason)
        finally:
            self.active.pop(experiment_id, None)
            self._current_run.pop(experiment_id, None)
            self._reasons.pop(experiment_id, None)
            self._tasks.pop(experiment_id, None)
        await self.broadcast({"type": "experiment.finished", "experiment": row})

    async def _progress(self, experiment_id: int, runs: list[dict]) -> None:
        row = {**self.active[experiment_id], "runs": runs}
        self.active[experiment_id] = row
        await self.broadcast({"type": "experiment.progress", "experiment": row})

    def cancel(self, experiment_id: int, reason: str = USER_REASON) -> None:
        if experiment_id not in self.active:
            raise Refused(
                "unknown-experiment", f"experiment {experiment_id} is not running in this dashboard process"
            )
        self._reasons.setdefault(experiment_id, reason)
        active = self.runs.active.get(self._current_run.get(experiment_id))
        if active is not None:
            active.cancel(reason)

    async def cancel_all(self, reason: str, *, seconds: float) -> None:
        """No experiment starts from now on; each running one is cancelled, and awaited (at most
        ``seconds``) until its status is stored."""
        self.closing = True
        for experiment_id in list(self.active):
            self.cancel(experiment_id, reason)
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=seconds)


def _close(experiment_id: int, status: str, reason: str) -> dict:
    Experiment.objects.filter(id=experiment_id).update(
        status=status, finished_at=timezone.now(), reason=reason
    )
    return stored_experiment(experiment_id)


def stored_experiment(experiment_id: int) -> dict | None:
    """An experiment and its runs (in ``MODES`` order) as the protocol shows it; None if unknown."""
    experiment = Experiment.objects.filter(id=experiment_id).first()
    if experiment is None:
        return None
    return experiment_row(experiment, [run_row(run) for run in experiment.runs.all()])


def experiment_row(experiment: Experiment, runs: Sequence[dict]) -> dict:
    """An experiment as docs/protocol.md shows it: its fields, and its runs in ``MODES`` order."""
    order = {mode: index for index, mode in enumerate(MODES)}
    return {
        "id": experiment.id,
        "count": experiment.count,
        "concurrency": experiment.concurrency,
        "status": experiment.status,
        "origin": experiment.origin,
        "started_at": experiment.started_at.timestamp() if experiment.started_at else None,
        "finished_at": experiment.finished_at.timestamp() if experiment.finished_at else None,
        "expected_pods": experiment.expected_pods,
        "reason": experiment.reason,
        "target": experiment.target,
        "modes": list(MODES),
        "runs": sorted(runs, key=lambda run: (order.get(run["mode"], len(MODES)), run["id"])),
    }


def csv_rows(experiment: dict) -> list[list]:
    """One row per run of an ``experiment_row``, in ``CSV_FIELDS`` order. ``shares`` is
    ``pod=share`` over the expected pods (0 for a pod that got none), separated by spaces."""
    rows = []
    for run in experiment["runs"]:
        s = run.get("statistics") or {}
        pods = s.get("pods", {})
        latency = s.get("latency_ms") or {}
        shares = " ".join(
            f"{pod}={pods.get(pod, {}).get('share', 0.0)}" for pod in s.get("expected_pods", [])
        )
        rows.append(
            [
                experiment["id"],
                run["mode"],
                run["id"],
                run["status"],
                s.get("calls", ""),
                s.get("ok", ""),
                len(s.get("expected_pods", [])),
                s.get("pods_reached", ""),
                s.get("connections", ""),
                s.get("max_pods_per_connection", ""),
                s.get("longest_streak", ""),
                s.get("chi_square", ""),
                s.get("p_value", ""),
                s.get("busiest_ratio", ""),
                shares,
                latency.get("p50", ""),
                latency.get("p95", ""),
            ]
        )
    return rows
