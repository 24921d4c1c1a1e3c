"""Shared pieces of the benchmarks: free ports, servers started and stopped by PID, wrk."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pinned(cpu: int, argv: list[str]) -> list[str]:
    """Keep the server and the load generator on separate cores when taskset is there."""
    if shutil.which("taskset") and os.cpu_count() and os.cpu_count() > 1:
        return ["taskset", "-c", str(cpu), *argv]
    return argv


def start(argv: list[str], url: str, env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=0.5)
            return process
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    sys.exit(f"server {argv} did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wrk(url: str, *, seconds: int, connections: int, headers: list[str] = ()) -> float:
    """Requests per second that wrk measured against ``url``."""
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    output = subprocess.run(
        pinned(1, ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", *(f"-H{h}" for h in headers), url]),
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match:
        sys.exit(f"wrk printed no rate:\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        sys.exit(f"wrk saw {errors.group(1)} error responses from {url}")
    return float(match.group(1))
