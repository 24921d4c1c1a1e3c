"""A real sandbox cluster for tests: `manage.py sandbox` as a process, on its own loopback range."""

from __future__ import annotations

import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.processes import ROOT, app_environment, die_with_parent, free_port

_ranges = itertools.count(random.randint(0, 40) * 5)


@dataclass
class SandboxProcess:
    process: subprocess.Popen
    state_dir: Path
    api_url: str
    cluster_ip: str
    dashboard_url: str
    log_path: Path

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def service_url(self) -> str:
        return f"http://{self.cluster_ip}:8081"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def children(self) -> list[int]:
        """PIDs of the pod processes: every process whose parent is the sandbox."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    pids.append(int(entry.name))
        return pids

    def fault(self, action: str, **params: str) -> dict:
        response = requests.post(f"{self.api_url}/sandbox/faults/{action}", params=params, timeout=5)
        response.raise_for_status()
        return response.json()

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def _free_block() -> int:
    """A 127.N block whose Service address is free: another sandbox (another test run, a sandbox
    started by hand) may hold one, and its ports would clash."""
    for _ in range(150):
        block = 100 + next(_ranges) % 150
        with socket.socket() as probe:
            try:
                probe.bind((f"127.{block}.10.1", 8081))
            except OSError:
                continue
        return block
    raise RuntimeError("no free 127.N block for a sandbox")


# 2 nodes in 2 zones with 4 providers: where every traffic setting has something to choose from.
TWO_ZONES = ("--nodes", "2", "--zones", "2", "--providers", "4")


# The proxies' random picks repeat from run to run (--proxy-seed): a spread judged at P < 0.001
# would otherwise fail one correct run in a thousand per assertion, and the suite has several.
PROXY_SEED = "k8s-combat-tests"


def start_sandbox(
    state_dir: Path,
    *args: str,
    dashboard: bool = False,
    wait_seconds: float = 60,
    niceness: int = 0,
    proxy_seed: str | None = PROXY_SEED,
) -> SandboxProcess:
    block = _free_block()
    cluster_ip, pod_network = f"127.{block}.10.1", f"127.{block}.1"
    api_port, dashboard_port = free_port(), free_port()
    argv = [
        sys.executable,
        "manage.py",
        "sandbox",
        "--state-dir",
        str(state_dir),
        "--api-port",
        str(api_port),
        "--dashboard-port",
        str(dashboard_port),
        "--cluster-ip",
        cluster_ip,
        "--pod-network",
        pod_network,
        "--drain-seconds",
        "0.5",
        *(("--proxy-seed", proxy_seed) if proxy_seed is not None else ()),
        # A call slower than the default 2 s on a busy 2-core machine would count as failed in
        # tests that are not about timeouts; one that is gives its own (a later one wins).
        *(("--dashboard-env", "COMBAT_CALL_TIMEOUT_SECONDS=10") if dashboard else ()),
        *args,
    ]
    if not dashboard:
        argv.append("--no-dashboard")
    if niceness:
        # The browser tests: a user's browser does not share its CPU with the cluster it looks at.
        argv = ["nice", "-n", str(niceness), *argv]
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "sandbox.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=app_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    sandbox = SandboxProcess(
        process,
        state_dir,
        f"http://127.0.0.1:{api_port}",
        cluster_ip,
        f"http://127.0.0.1:{dashboard_port}",
        log_path,
    )
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sandbox exited with {process.returncode}:\n{sandbox.log()}")
        if "sandbox is up" in sandbox.log():
            return sandbox
        time.sleep(0.1)
    sandbox.stop(signal.SIGKILL)
    raise RuntimeError(f"sandbox did not come up in {wait_seconds} s:\n{sandbox.log()}")
