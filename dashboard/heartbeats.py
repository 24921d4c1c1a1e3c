"""Heartbeats: which dashboard processes are alive, and what to do with the runs of the others.

Each dashboard process writes its ``Heartbeat`` (its origin, ``<pod>/<pid>``, and the time)
every ``DASHBOARD_HEARTBEAT_SECONDS``. A run or an experiment still ``running`` whose origin has
not beaten for ``DASHBOARD_HEARTBEAT_EXPIRY_SECONDS`` (or never did) belongs to a process that
is gone: OOM-killed, its node drained, its pod deleted before it could drain. Whichever replica
notices first (on start-up, then at each of its beats) marks it ``interrupted``, with the calls
stored so far kept and judged (``run_statistics`` over them) and a reason that says why; the
update is conditional on the row still being ``running``, so two replicas never both do it.

A beat that cannot reach the database takes the pod out of its Service's endpoints
(``/readyz`` 503, ``lifecycle.set_not_ready``) until one succeeds: a replica that cannot store
calls should not be sent users.
"""

from __future__ import annotations

import datetime
import logging

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from combat_app import lifecycle
from dashboard.models import Call, Experiment, Heartbeat, Run
from dashboard.statistics import run_statistics

logger = logging.getLogger(__name__)

READINESS_SOURCE = "dashboard-database"


def beat(origin: str, *, expiry_seconds: float) -> list[Run]:
    """Write ``origin``'s heartbeat, then interrupt the runs of processes gone for longer than
    ``expiry_seconds``; returns the runs this call interrupted, as stored (blocking: a thread).
    A database error is logged, marks the pod not ready and returns []."""
    close_old_connections()  # a connection the server dropped is replaced, not reused
    try:
        now = database_now()
        Heartbeat.objects.update_or_create(origin=origin, defaults={"beat_at": now})
        interrupted = interrupt_orphans(now, datetime.timedelta(seconds=expiry_seconds))
    except DatabaseError as exc:
        reason = lifecycle.one_line(exc)
        lifecycle.set_not_ready(READINESS_SOURCE, f"the dashboard's database is unreachable: {reason}")
        logger.warning("heartbeat failed (the pod reports not ready until one succeeds): %s", reason)
        return []
    lifecycle.set_not_ready(READINESS_SOURCE, None)
    return interrupted


def database_now() -> datetime.datetime:
    """The time by the database server's clock: every replica stamps and judges beats by that
    one clock, so pods whose own clocks disagree never take each other for gone. (SQLite is a
    file on one machine: its processes share that machine's clock.)"""
    if connection.vendor != "postgresql":
        return timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT CURRENT_TIMESTAMP")
        return cursor.fetchone()[0]


def forget(origin: str) -> None:
    """This process stops cleanly: its heartbeat goes (its runs were all finished or cancelled)."""
    try:
        Heartbeat.objects.filter(origin=origin).delete()
    except DatabaseError:
        logger.warning("could not remove the heartbeat of %s", origin)


def interrupt_orphans(now: datetime.datetime, expiry: datetime.timedelta) -> list[Run]:
    """Mark ``interrupted`` every running run and experiment whose process has not beaten since
    ``now - expiry``; returns the runs, as stored."""
    alive = Heartbeat.objects.filter(beat_at__gte=now - expiry).values_list("origin", flat=True)
    gone = list(Run.objects.filter(status=Run.Status.RUNNING).exclude(origin__in=alive))
    interrupted = []
    for run in gone:
        reason = (
            f"its dashboard process ({run.origin}) stopped: no heartbeat for {expiry.total_seconds():g} s"
        )
        ending = {
            "status": Run.Status.INTERRUPTED,
            "finished_at": now,
            "reason": reason[:200],
            # The stored calls have every field the statistics read.
            "statistics": run_statistics(Call.objects.filter(run_id=run.id), run.expected_pods),
        }
        if Run.objects.filter(id=run.id, status=Run.Status.RUNNING).update(**ending):
            for name, value in ending.items():
                setattr(run, name, value)
            interrupted.append(run)
    Experiment.objects.filter(status=Experiment.Status.RUNNING).exclude(origin__in=alive).update(
        status=Experiment.Status.INTERRUPTED, finished_at=now, reason="its dashboard process stopped"
    )
    if interrupted:
        ids = [run.id for run in interrupted]
        logger.warning("marked runs %s interrupted: their dashboard process is gone", ids)
    return interrupted
