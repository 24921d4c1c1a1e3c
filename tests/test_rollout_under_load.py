"""A rolling restart of the providers while calls go on: readiness, the drain and
``maxUnavailable: 0`` together mean no call fails; ``rollout undo`` then rolls back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.support.dashboard import dashboard_with_socket
from tests.support.programs import require

pytestmark = pytest.mark.slow


def _kubectl(sandbox, *args: str) -> str:
    result = subprocess.run(
        [shutil.which("kubectl") or "kubectl", *args],
        env={**os.environ, "KUBECONFIG": str(sandbox.kubeconfig)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
    return result.stdout


def _template_hashes(sandbox) -> set[str]:
    pods = json.loads(_kubectl(sandbox, "get", "pods", "-l", "app=k8s-combat-service", "-o", "json"))["items"]
    return {
        p["metadata"]["labels"]["pod-template-hash"]
        for p in pods
        if not p["metadata"].get("deletionTimestamp")
    }


CALLS = 4000  # at 150/s about 27 s: time for new pods to start and answer on a busy machine


def test_a_rollout_restart_during_a_4000_call_run_fails_no_call_and_undo_rolls_back(tmp_path):
    require("kubectl", "the rollout is driven with kubectl")
    with dashboard_with_socket(tmp_path / "cluster") as (sandbox, socket):
        before = _template_hashes(sandbox)
        socket.send(
            {"type": "run.start", "mode": "new-connection", "count": CALLS, "concurrency": 4, "rate": 150}
        )
        run_id = socket.wait_for(lambda m: m["type"] == "run.started")["run"]["id"]
        socket.wait_for(lambda m: len(socket.calls_of(run_id)) >= 50)

        assert "restarted" in _kubectl(sandbox, "rollout", "restart", "deploy/k8s-combat-service")
        status = _kubectl(sandbox, "rollout", "status", "deploy/k8s-combat-service", "--timeout=240s")
        assert 'deployment "k8s-combat-service" successfully rolled out' in status
        restarted = _template_hashes(sandbox)
        assert restarted and restarted.isdisjoint(before), "every provider pod was replaced"

        finished = socket.wait_for(lambda m: m["type"] == "run.finished" and m["run"]["id"] == run_id, 300)
        outcomes: dict[str, int] = {}
        for call in socket.calls_of(run_id):
            outcomes[call["outcome"]] = outcomes.get(call["outcome"], 0) + 1
        assert finished["run"]["status"] == "finished"
        assert outcomes == {"ok": CALLS}, "no call failed while the pods were replaced one by one"
        assert len({c["pod"] for c in socket.calls_of(run_id)}) > 2, "old and new pods both answered"

        history = _kubectl(sandbox, "rollout", "history", "deploy/k8s-combat-service")
        assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
        _kubectl(sandbox, "rollout", "undo", "deploy/k8s-combat-service")
        _kubectl(sandbox, "rollout", "status", "deploy/k8s-combat-service", "--timeout=240s")
        assert _template_hashes(sandbox) == before, (
            "undo brings back the first template (its pod-template-hash)"
        )
