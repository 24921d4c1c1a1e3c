"""The real kubectl's logs against the sandbox, as the tutorial uses them: a line for each call
a provider answered, ``--tail``, ``--timestamps``, ``--since``, ``-f``, a Deployment's logs, a
pod that does not exist, and ``-p`` after the container crashed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.support.kubectl import Kubectl, pods, stop
from tests.support.programs import require
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
SERVICE = "k8s-combat-service"
RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    cluster = start_sandbox(tmp_path_factory.mktemp("sandbox-logs"), dashboard=True)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def kubectl(sandbox) -> Kubectl:
    return Kubectl(require("kubectl", "the sandbox must work with the real kubectl"), sandbox.kubeconfig)


def ping(ip: str) -> requests.Response:
    return requests.get(f"http://{ip}:8081/ping", headers={"Connection": "close"}, timeout=10)


def ping_lines(text: str, pod: str) -> list[str]:
    return [line for line in text.splitlines() if line.endswith(f"{pod} ping")]


def test_logs_of_each_provider_show_a_ping_line_for_every_call_it_answered(kubectl):
    providers = pods(kubectl, SERVICE)
    assert len(providers) == 2
    before = {name: len(ping_lines(kubectl("logs", name), name)) for name in providers}
    for name, ip in providers.items():
        for _ in range(3):
            assert ping(ip).headers["X-Pod-Name"] == name
    for name in providers:
        assert len(ping_lines(kubectl("logs", name), name)) == before[name] + 3


def test_logs_tail_shows_only_the_last_lines(kubectl):
    name, ip = next(iter(pods(kubectl, SERVICE).items()))
    ping(ip)
    assert kubectl("logs", name, "--tail", "1") == f"{name} ping\n"
    assert len(kubectl("logs", name, "--tail", "2").splitlines()) == 2


def test_logs_timestamps_prefix_every_line_with_its_rfc3339_nano_time(kubectl):
    name, ip = next(iter(pods(kubectl, SERVICE).items()))
    ping(ip)
    lines = kubectl("logs", name, "--timestamps").splitlines()
    assert lines and all(RFC3339_NANO.match(line) for line in lines)
    assert lines[-1].endswith(f"Z {name} ping")


def test_logs_since_leaves_out_the_older_lines(kubectl):
    name, ip = next(iter(pods(kubectl, SERVICE).items()))
    ping(ip)
    # Seconds of slack either side: the line's time is when the pod wrote it, and kubectl takes
    # its time to start on a busy machine.
    time.sleep(8)
    assert ping_lines(kubectl("logs", name, "--since", "5s"), name) == []
    ping(ip)
    assert len(ping_lines(kubectl("logs", name, "--since", "5s"), name)) == 1
    assert len(ping_lines(kubectl("logs", name, "--since", "1h"), name)) >= 2


def test_logs_follow_streams_each_new_line_as_the_pod_writes_it(kubectl):
    name, ip = next(iter(pods(kubectl, SERVICE).items()))
    follower = kubectl.start("logs", "-f", name, "--tail", "0", stdout=subprocess.PIPE)
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(line.decode() for line in follower.stdout), daemon=True
    )
    reader.start()
    try:

        def followed() -> bool:
            ping(ip)  # until the stream is open, a line may land before it: call again
            time.sleep(0.3)
            return bool(lines)

        wait_for(followed, 20)
        assert lines[0] == f"{name} ping\n"
        assert follower.poll() is None, "-f keeps streaming while the container runs"
    finally:
        stop(follower)


def test_logs_of_a_deployment_read_one_of_its_pods(kubectl):
    providers = pods(kubectl, SERVICE)
    for ip in providers.values():
        ping(ip)
    result = kubectl.run("logs", f"deploy/{SERVICE}", "--tail", "1")
    assert result.returncode == 0, result.stderr.decode()
    chosen = re.search(r"using pod/(\S+)", result.stderr.decode()).group(1)
    assert chosen in providers
    assert result.stdout.decode() == f"{chosen} ping\n"


def test_logs_of_a_pod_that_does_not_exist_are_not_found(kubectl):
    result = kubectl.run("logs", "no-such-pod")
    assert result.returncode == 1
    assert 'pods "no-such-pod" not found' in result.stderr.decode()


def container_pid(sandbox, ip: str) -> int:
    """The PID of the pod's container: the sandbox's child serving on the pod's address."""
    for pid in sandbox.children():
        try:
            command = (Path("/proc") / str(pid) / "cmdline").read_bytes()
        except OSError:
            continue
        if f"--host\0{ip}\0".encode() in command:
            return pid
    raise AssertionError(f"no container process serves {ip}")


def test_logs_previous_show_the_container_that_crashed(kubectl, sandbox):
    name, ip = next(iter(pods(kubectl, SERVICE).items()))
    result = kubectl.run("logs", "-p", name)
    assert result.returncode == 1 and "previous terminated container" in result.stderr.decode()
    for _ in range(4):
        ping(ip)
    crashed = len(ping_lines(kubectl("logs", name), name))
    os.kill(container_pid(sandbox, ip), signal.SIGKILL)

    def restarted() -> bool:
        status = json.loads(kubectl("get", "pod", name, "-o", "json"))["status"]["containerStatuses"][0]
        return status["restartCount"] >= 1 and status["ready"]

    wait_for(restarted, 60)
    assert len(ping_lines(kubectl("logs", "-p", name), name)) == crashed
    assert ping_lines(kubectl("logs", name), name) == []
    ping(ip)
    assert ping_lines(kubectl("logs", name), name) == [f"{name} ping"]
