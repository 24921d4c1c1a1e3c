"""The dashboard engine's figures, measured against the sandbox (see docs/performance.md).

1. endpoint change -> websocket message, p50/p99 (a pod is made to fail readiness through the
   sandbox; the clock stops when a browser's socket gets ``endpoints.changed``);
2. call answered -> websocket message, p99 (the call's start plus its latency, to the socket);
3. a 2000-call burst's throughput, as a ratio to a bare ``requests`` loop with the same mode and
   concurrency against the same Service, in the same run;
4. 50 websocket clients through a 5000-call burst: calls lost at any client (target 0);
5. the dashboard process's RSS idle and after that burst (target <= 100 MiB).

    .venv/bin/python bench/dashboard_engine.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import requests

from combat_app import upstream
from tests.support.dashboard import LiveSocket, start_run
from tests.support.sandbox import start_sandbox


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(fraction * len(ordered)) - 1)]


def dashboard_pid(sandbox) -> int:
    for pid in sandbox.children():
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        if b"COMBAT_DASHBOARD=true" in environ:
            return pid
    raise RuntimeError("no dashboard pod process")


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """VmRSS, or RssAnon: the part a memory limit cannot reclaim (RssFile is mapped libraries)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field}")


def endpoint_latency(sandbox, socket: LiveSocket, flips: int) -> list[float]:
    pod = next(e["pod"] for e in socket.latest_endpoints() if e["ready"])
    latencies = []
    for flip in range(flips):
        seen = len(socket.of_type("endpoints.changed"))
        started = time.time()
        sandbox.fault("fail-readiness", pod=pod, on=str(flip % 2 == 0).lower())
        socket.wait_for(lambda _, seen=seen: len(socket.of_type("endpoints.changed")) > seen, 10)
        latencies.append((socket.of_type("endpoints.changed")[seen]["_received_at"] - started) * 1000)
        time.sleep(0.05)
    sandbox.fault("fail-readiness", pod=pod, on="false")
    return latencies


def bare_loop(url: str, *, mode: str, count: int, concurrency: int) -> float:
    """Calls per second of plain `requests` calls, as a script would make them."""
    counter = iter(range(count))
    lock = threading.Lock()

    def work() -> None:
        session = None if mode == "new-connection" else upstream.session(1)
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            response = requests.get(url, timeout=2) if session is None else session.get(url, timeout=2)
            assert response.content == b"pong"

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(work) for _ in range(concurrency)]:
            future.result()
    return count / (time.perf_counter() - started)


def api_run(dashboard_url: str, **plan) -> dict:
    """Start a run through the API and poll it: no websocket client shares the machine's CPU."""
    with requests.Session() as script:
        script.get(f"{dashboard_url}/api/state", timeout=5)
        run = script.post(
            f"{dashboard_url}/api/runs",
            json=plan,
            timeout=10,
            headers={"X-CSRFToken": script.cookies["csrftoken"]},
        ).json()
        while run["status"] == "running":
            time.sleep(0.5)  # the rate comes from the run's own timestamps, not from this poll
            run = script.get(f"{dashboard_url}/api/runs/{run['id']}", timeout=5).json()
    return run


def run_rate(run: dict) -> float:
    return run["statistics"]["calls"] / (run["finished_at"] - run["started_at"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flips", type=int, default=40)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    result: dict = {}
    with tempfile.TemporaryDirectory() as state:
        sandbox = start_sandbox(Path(state), "--providers", "3", "--no-chaos", dashboard=True)
        try:
            pid = dashboard_pid(sandbox)
            socket = LiveSocket(sandbox.dashboard_url)
            socket.wait_for(lambda m: m["type"] == "hello")
            time.sleep(2)
            result["rss_idle_mib"] = round(rss_mib(pid), 1)
            result["rss_anon_idle_mib"] = round(rss_mib(pid, "RssAnon"), 1)

            latencies = endpoint_latency(sandbox, socket, arguments.flips)
            result["endpoint_change_to_socket_ms"] = {
                "p50": round(percentile(latencies, 0.5), 1),
                "p99": round(percentile(latencies, 0.99), 1),
            }

            run = start_run(socket, mode="new-connection", count=500, concurrency=2, rate=100)
            delays = [
                (call["_received_at"] - call["started_at"]) * 1000 - call["latency_ms"]
                for call in socket.calls_of(run["id"])
            ]
            result["call_answered_to_socket_ms"] = {
                "p50": round(percentile(delays, 0.5), 1),
                "p99": round(percentile(delays, 0.99), 1),
            }

            socket.close()
            ratios = {}
            for mode, concurrency in (("new-connection", 8), ("pool", 8), ("keep-alive", 1)):
                bare, engine = [], []
                for _ in range(arguments.rounds):  # alternating, so both see the same machine
                    bare.append(
                        bare_loop(
                            f"{sandbox.service_url}/ping", mode=mode, count=2000, concurrency=concurrency
                        )
                    )
                    engine.append(
                        run_rate(
                            api_run(sandbox.dashboard_url, mode=mode, count=2000, concurrency=concurrency)
                        )
                    )
                ratios[f"{mode} x{concurrency}"] = {
                    "bare_per_second": round(statistics.median(bare)),
                    "engine_per_second": round(statistics.median(engine)),
                    "ratio": round(statistics.median(engine) / statistics.median(bare), 3),
                }
            result["burst_2000_throughput"] = ratios

            socket = LiveSocket(sandbox.dashboard_url)
            clients = [LiveSocket(sandbox.dashboard_url) for _ in range(arguments.clients)]
            for client in clients:
                client.wait_for(lambda m: m["type"] == "hello")
            run = start_run(socket, mode="new-connection", count=5000, concurrency=8)
            time.sleep(1)
            lost = [5000 - len({c["seq"] for c in client.calls_of(run["id"])}) for client in clients]
            gaps = sum(client.gaps for client in clients)
            for client in clients:
                client.close()
            result["fan_out"] = {
                "clients": len(clients),
                "calls": 5000,
                "lost_at_worst_client": max(lost),
                "gaps": gaps,
            }
            result["rss_after_burst_mib"] = round(rss_mib(pid), 1)
            result["rss_anon_after_burst_mib"] = round(rss_mib(pid, "RssAnon"), 1)
            socket.close()
        finally:
            sandbox.stop()
    print(json.dumps(result, indent=2))
    worst = min(r["ratio"] for r in result["burst_2000_throughput"].values())
    print(
        f"endpoint change -> socket p99 {result['endpoint_change_to_socket_ms']['p99']} ms (target < 100); "
        f"call -> socket p99 {result['call_answered_to_socket_ms']['p99']} ms (target < 150); "
        f"burst ratio >= {worst} (target >= 0.8); "
        f"lost {result['fan_out']['lost_at_worst_client']} (target 0); "
        f"RSS {result['rss_idle_mib']} -> {result['rss_after_burst_mib']} MiB (target <= 100)"
    )


if __name__ == "__main__":
    main()
