"""Real server processes for tests: start one, wait until it answers, stop it by its PID."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
# The servers' logs live as long as the test session (a test may read one after stopping its
# server), then go: a full run starts hundreds of servers.
LOGS = Path(tempfile.mkdtemp(prefix="k8s-combat-app-logs-"))
atexit.register(shutil.rmtree, LOGS, ignore_errors=True)


def die_with_parent() -> None:
    """Runs in a child before exec: the kernel kills it if the test process dies first."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


_HANDED_OUT: set[int] = set()


def free_port(host: str = "127.0.0.1", span: int = 1) -> int:
    """A port P free on ``host`` now, with P .. P + span - 1 all free, none of them handed out
    before in this session. Linux picks a ``bind(0)`` port at random, so two calls in a row could
    otherwise return the same port before either server has bound it."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
        wanted = set(range(port, port + span))
        if wanted & _HANDED_OUT or not all(_bindable(host, p) for p in wanted - {port}):
            continue
        _HANDED_OUT.update(wanted)
        return port
    raise RuntimeError(f"no {span} free adjacent port(s) on {host}")


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def app_environment(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("COMBAT_", "DJANGO_", "POD_", "NODE_", "SHUTDOWN_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="combat_app.settings",
        DJANGO_SECRET_KEY="test-only-key-" + "y" * 40,
        SHUTDOWN_DRAIN_SECONDS="0",
        COMBAT_GRPC_PORT="0",  # several test servers share 127.0.0.1: gRPC only where a test asks
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


@dataclass
class ServerProcess:
    process: subprocess.Popen
    url: str

    @property
    def pid(self) -> int:
        return self.process.pid

    log_path: str = ""

    def output(self) -> str:
        with open(self.log_path, errors="replace") as log:
            return log.read()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_app(*, host: str = "127.0.0.1", port: int | None = None, **env: str) -> ServerProcess:
    """Start ``python -m combat_app.serving`` and return once ``/healthz`` answers."""
    port = port or free_port(host)
    # A file, not a pipe: nobody reads a pipe while the test runs, and a full one (the /ping log
    # lines) would block the server.
    log = tempfile.NamedTemporaryFile(dir=LOGS, prefix="app-", suffix=".log", delete=False)  # noqa: SIM115
    with log:
        process = subprocess.Popen(
            [sys.executable, "-m", "combat_app.serving", "--host", host, "--port", str(port)],
            cwd=ROOT,
            env=app_environment(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    server = ServerProcess(process, f"http://{host}:{port}", log.name)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.output()}")
        try:
            if requests.get(f"{server.url}/healthz", timeout=5).status_code == 200:
                return server
        except requests.RequestException:  # not listening yet, or too busy to answer in time
            time.sleep(0.05)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"server did not answer within 20 s:\n{server.output()}")
