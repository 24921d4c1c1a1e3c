"""Starting and stopping the sandbox: clear errors, crash loops, and no process left behind."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
from kubernetes import client, config

from tests.support.processes import ROOT, app_environment, free_port
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
SERVICE = "k8s-combat-service"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_every_pod_process(tmp_path, sig):
    sandbox = start_sandbox(tmp_path, dashboard=True)
    pods = sandbox.children()
    assert len(pods) == 3, "two providers and the dashboard"
    assert sandbox.stop(sig) == 0

    def every_pod_gone() -> bool:  # at once, normally; the deadline only bounds the wait
        return not any(alive(pid) for pid in pods)

    wait_for(every_pod_gone, 30)


def test_a_killed_pod_process_is_restarted_and_its_restart_counted(tmp_path):
    sandbox = start_sandbox(tmp_path)
    try:
        api = config.new_client_from_config(str(sandbox.kubeconfig))
        core = client.CoreV1Api(api)
        victim = sandbox.children()[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60  # a second or two, normally: this only bounds the wait
        while time.monotonic() < deadline:
            pods = core.list_namespaced_pod("default").items
            restarted = [p for p in pods if p.status.container_statuses[0].restart_count == 1]
            if restarted and restarted[0].status.container_statuses[0].ready:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the killed pod was not restarted and ready again")
        assert len(pods) == 2, "a crashed container restarts in place: no new pod"
        assert victim not in sandbox.children()
    finally:
        sandbox.stop()


def test_a_pod_that_cannot_start_crash_loops_with_backoff_and_its_log_tail_is_shown(tmp_path):
    sandbox = start_sandbox(tmp_path, "--provider-env", "COMBAT_CALL_TIMEOUT_SECONDS=soon")
    try:
        api = config.new_client_from_config(str(sandbox.kubeconfig))

        def restarted_twice() -> list:
            pods = client.CoreV1Api(api).list_namespaced_pod("default", label_selector=f"app={SERVICE}").items
            statuses = [(pod.metadata.name, pod.status.container_statuses[0]) for pod in pods]
            return statuses if statuses and all(s.restart_count >= 2 for _, s in statuses) else []

        # However slow the machine, each pod restarts, and waits 1 s, then 2 s, before it does:
        # the backoff is read from the kubelet's log, not inferred from a count after a sleep.
        statuses = wait_for(restarted_twice, 60)
        assert not any(status.ready for _, status in statuses)
        log = sandbox.log()
        for name, _ in statuses:
            for restart, backoff in ((1, 1), (2, 2)):
                line = rf"pod {name} exited with \S+; restarting in {backoff}s \(restart {restart}\)"
                assert re.search(line, log), f"{name}: no line {line!r} in the log"
        assert "restarting in" in log
        assert "COMBAT_CALL_TIMEOUT_SECONDS='soon' is not valid" in log
        assert "some pods are not ready yet" in log
    finally:
        sandbox.stop()


@pytest.mark.parametrize("option", ["--api-port", "--dashboard-port"])
def test_a_port_in_use_stops_start_up_naming_it_and_its_option(tmp_path, option):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        other = "--dashboard-port" if option == "--api-port" else "--api-port"
        result = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "sandbox",
                "--state-dir",
                str(tmp_path),
                option,
                str(port),
                other,
                str(free_port()),
                "--cluster-ip",
                "127.0.99.1",
                "--pod-network",
                "127.0.98",
            ],
            cwd=ROOT,
            env=app_environment(),
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr
    assert option in result.stderr
    assert "Traceback" not in result.stderr
