"""Runs are pruned past the configured limit, calls with them; running runs are kept."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dashboard.models import Call, Run
from dashboard.storing import prune_runs


def make_run(status: str) -> Run:
    run = Run.objects.create(
        mode="pool", count=1, concurrency=1, origin="test", started_at=timezone.now(), status=status
    )
    Call.objects.create(run=run, seq=0, mode="pool", started_at=0, latency_ms=1, outcome="ok")
    return run


@pytest.mark.django_db
def test_old_finished_runs_are_pruned_with_their_calls():
    runs = [make_run(Run.Status.FINISHED) for _ in range(5)]
    running = make_run(Run.Status.RUNNING)
    assert prune_runs(keep=2) == 3
    assert set(Run.objects.values_list("id", flat=True)) == {runs[-1].id, runs[-2].id, running.id}
    assert Call.objects.count() == 3
