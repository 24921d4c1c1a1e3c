"""`make run`, the README's first command: the local cluster, with the dashboard on 127.0.0.1:8081."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.support.processes import ROOT
from tests.support.programs import require
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) != 0


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``: here, the sandbox that `make run` started and its pods."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, its_parent in parents.items() if its_parent == parent]
        found += children
        frontier += children
    return found


def sandbox_pods(make_pid: int) -> list[int]:
    """PIDs of the pod processes (combat_app.serving) that `make run` started."""
    pods = []
    for pid in descendants(make_pid):
        try:
            if b"combat_app.serving" in Path(f"/proc/{pid}/cmdline").read_bytes():
                pods.append(pid)
        except OSError:
            continue
    return pods


def test_make_run_serves_the_app_on_8081_runs_the_cluster_and_stops_on_ctrl_c():
    make = require("make", "make run is the README's command")
    kubectl = require("kubectl", "the banner tells users to poke at the sandbox with kubectl")
    for port in (8081, 8001):
        assert port_is_free("127.0.0.1", port), f"something else is listening on 127.0.0.1:{port}"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("COMBAT_", "DJANGO_", "POD_", "KUBECONFIG"))
    }
    process = subprocess.Popen(
        [make, "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        answer = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = requests.get("http://127.0.0.1:8081/ping", timeout=5)
                break
            except requests.RequestException:  # not up yet, or too busy to answer in time
                time.sleep(0.2)
        assert answer is not None, f"make run did not serve /ping:\n{process.stdout.read()}"
        assert answer.text == "pong"
        assert answer.headers["X-Pod-Name"].startswith("k8s-combat-"), "the dashboard pod answers"
        assert requests.get("http://127.0.0.1:8081/service", timeout=5).text == "200 OK"
        pods = subprocess.run(
            [kubectl, "get", "pods", "-o", "name"],
            env={**env, "KUBECONFIG": str(ROOT / ".sandbox" / "kubeconfig")},
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.split()
        assert len(pods) == 3
        pids = sandbox_pods(process.pid)
        assert len(pids) == 3
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise

    def every_pod_gone() -> bool:  # at once, normally; the deadline only bounds the wait
        return not any(os.path.exists(f"/proc/{pid}") for pid in pids)

    wait_for(every_pod_gone, 30)
    assert port_is_free("127.0.0.1", 8081), "the cluster outlived make run"
