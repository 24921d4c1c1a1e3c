"""Writing calls in batches, and only then letting them be broadcast.

One writer thread drains a queue: calls are stored with ``bulk_create`` in batches (what
arrives within 25 ms, up to 500), and each stored batch is handed back to the event loop, so a
browser never sees a call that the API would not return. Markers in the same queue (a run has
finished) are handled in order, after the calls before them.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections, transaction

from dashboard.models import Call, Run
from dashboard.records import CallRecord

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
BATCH_SECONDS = 0.025


@dataclass(frozen=True)
class Marker:
    """Something to do once every call queued before it has been stored."""

    action: Callable[[], None]


class CallWriter:
    def __init__(self, on_stored: Callable[[list[CallRecord]], None]) -> None:
        self.on_stored = on_stored
        # A deque, not a Queue: workers append without waking the writer for every call (a
        # Condition per call would hand the GIL back and forth); the writer looks every 25 ms.
        self._pending: deque = deque()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="call-writer", daemon=True)
        self.stored = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._thread.join(timeout)

    def add(self, record: CallRecord) -> None:
        self._pending.append(record)

    def after_pending(self, action: Callable[[], None]) -> None:
        self._pending.append(Marker(action))

    def _run(self) -> None:
        try:
            while not self._stopping.wait(BATCH_SECONDS):
                self._drain()
            self._drain()
        finally:
            close_old_connections()

    def _drain(self) -> None:
        """Store what is pending, in order: calls in batches, each marker after the calls before it."""
        batch: list[CallRecord] = []
        while self._pending:
            item = self._pending.popleft()
            if isinstance(item, Marker):
                if batch:
                    self._store(batch)
                    batch = []
                self._safely(item.action)
                continue
            batch.append(item)
            if len(batch) >= BATCH_SIZE:
                self._store(batch)
                batch = []
        if batch:
            self._store(batch)

    def _store(self, batch: list[CallRecord]) -> None:
        try:
            with transaction.atomic():
                Call.objects.bulk_create(Call(run_id=record.run, **_fields(record)) for record in batch)
        except Exception:
            logger.exception("could not store %d calls; they are dropped from the stream too", len(batch))
            close_old_connections()
            return
        self.stored += len(batch)
        self.on_stored(batch)

    @staticmethod
    def _safely(action: Callable[[], None]) -> None:
        try:
            action()
        except Exception:
            logger.exception("after-store action failed")


def _fields(record: CallRecord) -> dict:
    fields = record.as_dict()
    del fields["run"]
    return fields


def prune_runs(keep: int) -> int:
    """Delete all but the newest ``keep`` finished runs (their calls go with them)."""
    old = list(
        Run.objects.exclude(status=Run.Status.RUNNING).order_by("-id").values_list("id", flat=True)[keep:]
    )
    if old:
        Run.objects.filter(id__in=old).delete()
    return len(old)
