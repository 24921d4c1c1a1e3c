"""The real kubectl's logs, exec and port-forward against the sandbox, as the tutorial uses them."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import select
import signal
import struct
import subprocess
import termios
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.support.dashboard import LiveSocket, start_run
from tests.support.processes import ROOT, die_with_parent, free_port
from tests.support.programs import require
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
CONSUMER, SERVICE = "k8s-combat", "k8s-combat-service"
RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")


class Kubectl:
    def __init__(self, program: str, kubeconfig) -> None:
        self.program = program
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig)}

    def run(self, *args: str, input: bytes | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.program, *args], env=self.env, input=input, capture_output=True, timeout=timeout
        )

    def __call__(self, *args: str, **kwargs) -> str:
        result = self.run(*args, **kwargs)
        assert result.returncode == 0, f"kubectl {' '.join(args)} failed:\n{result.stderr.decode()}"
        return result.stdout.decode()

    def start(self, *args: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(
            [self.program, *args], env=self.env, preexec_fn=die_with_parent, start_new_session=True, **kwargs
        )


def stop(process: subprocess.Popen) -> None:
    """Every kubectl a test starts is stopped by its PID."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    cluster = start_sandbox(tmp_path_factory.mktemp("sandbox-streams"), dashboard=True)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def kubectl(sandbox) -> Kubectl:
    return Kubectl(require("kubectl", "the sandbox must work with the real kubectl"), sandbox.kubeconfig)


def pods(kubectl: Kubectl, app: str) -> dict[str, str]:
    """``{name: pod IP}`` of the Deployment's pods."""
    items = json.loads(kubectl("get", "pods", "-l", f"app={app}", "-o", "json"))["items"]
    return {item["metadata"]["name"]: item["status"]["podIP"] for item in items}


def ping(ip: str) -> requests.Response:
    return requests.get(f"http://{ip}:8081/ping", headers={"Connection": "close"}, timeout=10)


def ping_lines(text: str, pod: str) -> list[str]:
    return [line for line in text.splitlines() if line.endswith(f"{pod} ping")]


# --- logs ----------------------------------------------------------------------------------------


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
    time.sleep(2.5)
    assert ping_lines(kubectl("logs", name, "--since", "2s"), name) == []
    ping(ip)
    assert len(ping_lines(kubectl("logs", name, "--since", "2s"), name)) == 1
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


# --- exec ----------------------------------------------------------------------------------------


def test_exec_runs_the_command_with_the_pods_environment_and_working_directory(kubectl):
    name, ip = next(iter(pods(kubectl, SERVICE).items()))
    env = dict(line.split("=", 1) for line in kubectl("exec", name, "--", "env").splitlines() if "=" in line)
    assert env["POD_NAME"] == name
    assert env["POD_IP"] == ip
    assert env["HOSTNAME"] == name
    assert kubectl("exec", name, "--", "pwd").strip() == str(ROOT)


def test_exec_exits_with_the_commands_exit_code(kubectl):
    name = next(iter(pods(kubectl, SERVICE)))
    result = kubectl.run("exec", name, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert result.returncode == 3
    assert result.stdout == b"out\n"
    assert result.stderr.decode().startswith("err\n")
    assert "command terminated with exit code 3" in result.stderr.decode()


def test_exec_with_stdin_passes_it_to_the_command(kubectl):
    name = next(iter(pods(kubectl, SERVICE)))
    assert kubectl("exec", "-i", name, "--", "cat", input=b"hello from stdin\n") == "hello from stdin\n"
    payload = os.urandom(1 << 20)
    digest = kubectl("exec", "-i", name, "--", "sha256sum", input=payload).split()[0]
    assert digest == hashlib.sha256(payload).hexdigest()


def test_exec_of_a_program_the_pod_does_not_have_fails_as_on_a_cluster(kubectl):
    name = next(iter(pods(kubectl, SERVICE)))
    result = kubectl.run("exec", name, "--", "no-such-program")
    assert result.returncode == 1
    assert 'exec: "no-such-program": executable file not found in $PATH' in result.stderr.decode()


class Terminal:
    """kubectl in a pseudo-terminal of a given size, as in a user's shell."""

    def __init__(self, kubectl: Kubectl, *args: str, rows: int, cols: int) -> None:
        self.master, slave = os.openpty()
        self.resize(rows, cols)
        self.process = kubectl.start(*args, stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        self.output = b""

    def resize(self, rows: int, cols: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def read_until(self, pattern: str, seconds: float = 20) -> re.Match:
        deadline = time.monotonic() + seconds
        while not (found := re.search(pattern.encode(), self.output)):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {pattern!r} in {self.output!r}"
            if select.select([self.master], [], [], remaining)[0]:
                try:
                    self.output += os.read(self.master, 4096)
                except OSError:  # EIO: kubectl has exited
                    assert re.search(pattern.encode(), self.output), f"no {pattern!r} in {self.output!r}"
        return found

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def close(self) -> None:
        stop(self.process)
        os.close(self.master)


def test_exec_with_a_tty_runs_the_command_in_a_terminal_of_the_clients_size(kubectl):
    name = next(iter(pods(kubectl, CONSUMER)))
    command = 'stty size; tty >/dev/null && echo on-a-tty; curl -s "http://$POD_IP:8081/ping"; echo'
    terminal = Terminal(kubectl, "exec", "-it", name, "--", "sh", "-c", command, rows=33, cols=101)
    try:
        terminal.read_until(r"33 101\r\non-a-tty\r\npong\r\n")
        assert terminal.process.wait(20) == 0
    finally:
        terminal.close()


def test_an_interactive_shell_follows_the_terminals_resizes_and_returns_its_exit_code(kubectl):
    name = next(iter(pods(kubectl, CONSUMER)))
    terminal = Terminal(
        kubectl, "exec", "-it", name, "--", "env", "PS1=ready> ", "sh", "-i", rows=24, cols=80
    )
    try:
        terminal.read_until("ready> ")
        terminal.type("stty size\n")
        terminal.read_until(r"\r\n24 80\r\n")
        terminal.resize(40, 120)
        os.kill(terminal.process.pid, signal.SIGWINCH)  # what the terminal would send kubectl
        time.sleep(1)
        terminal.type("stty size; echo $POD_NAME\n")
        terminal.read_until(rf"\r\n40 120\r\n{name}\r\n")
        terminal.type("exit 4\n")
        assert terminal.process.wait(20) == 4
    finally:
        terminal.close()


# --- port-forward --------------------------------------------------------------------------------


def port_forward(kubectl: Kubectl, target: str, remote: int, tmp_path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    out = open(tmp_path / f"port-forward-{port}.log", "w+b")  # noqa: SIM115 - closed with the process
    process = kubectl.start(
        "port-forward", "--address", "127.0.0.1", target, f"{port}:{remote}", stdout=out, stderr=out
    )
    try:
        wait_for(
            lambda: b"Forwarding from 127.0.0.1" in (tmp_path / f"port-forward-{port}.log").read_bytes(), 20
        )
    except AssertionError:
        stop(process)
        raise
    return process, port


def test_port_forward_to_the_dashboards_deployment_serves_the_page_the_api_and_the_websocket(
    kubectl, tmp_path
):
    consumer = next(iter(pods(kubectl, CONSUMER)))
    process, port = port_forward(kubectl, f"deploy/{CONSUMER}", 8081, tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        page = requests.get(f"{url}/", timeout=10)
        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
        state = requests.get(f"{url}/api/state", timeout=10).json()
        assert state["pod"]["name"] == consumer
        socket = LiveSocket(url)
        try:
            assert socket.wait_for(lambda m: m["type"] == "hello")["pod"]["name"] == consumer
            run = start_run(socket, mode="new-connection", count=20, concurrency=2)
            assert run["statistics"]["calls"] == run["statistics"]["ok"] == 20
            assert run["statistics"]["pods_reached"] == 2
        finally:
            socket.close()
    finally:
        stop(process)


def test_port_forward_to_the_service_sends_every_connection_to_one_pod(kubectl, sandbox, tmp_path):
    providers = pods(kubectl, SERVICE)
    process, port = port_forward(kubectl, f"svc/{SERVICE}", 8081, tmp_path)
    try:
        # 50 new connections: through the ClusterIP they would spread; port-forward picked one pod.
        answered: set[str] = set()
        for _ in range(50):
            reply = requests.get(f"http://127.0.0.1:{port}/ping", headers={"Connection": "close"}, timeout=10)
            assert reply.text == "pong"
            answered.add(reply.headers["X-Pod-Name"])
        assert len(answered) == 1 and answered <= set(providers)
    finally:
        stop(process)
    through_service = {
        requests.get(f"{sandbox.service_url}/ping", headers={"Connection": "close"}, timeout=10).headers[
            "X-Pod-Name"
        ]
        for _ in range(50)
    }
    assert through_service == set(providers), "the Service itself balances each new connection"


def test_port_forward_to_a_port_nothing_listens_on_ends_as_on_a_cluster(kubectl, tmp_path):
    name = next(iter(pods(kubectl, SERVICE)))
    process, port = port_forward(kubectl, f"pod/{name}", 9, tmp_path)
    try:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert process.wait(20) == 1
        log = (tmp_path / f"port-forward-{port}.log").read_text()
        assert "error forwarding port 9" in log and "lost connection to pod" in log
    finally:
        stop(process)


# --- a crash: logs -p ----------------------------------------------------------------------------


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
