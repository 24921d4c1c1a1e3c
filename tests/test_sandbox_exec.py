"""The real kubectl's exec against the sandbox, as the tutorial uses it: the pod's environment
and working directory, exit codes, stdin, a missing program, and a terminal of the client's size
that follows its resizes."""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import select
import signal
import struct
import termios
import time

import pytest

from tests.support.kubectl import Kubectl, pods, stop
from tests.support.processes import ROOT
from tests.support.programs import require
from tests.support.sandbox import start_sandbox

pytestmark = pytest.mark.slow
CONSUMER, SERVICE = "k8s-combat", "k8s-combat-service"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    cluster = start_sandbox(tmp_path_factory.mktemp("sandbox-exec"), dashboard=True)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def kubectl(sandbox) -> Kubectl:
    return Kubectl(require("kubectl", "the sandbox must work with the real kubectl"), sandbox.kubeconfig)


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
