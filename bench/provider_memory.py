"""A provider pod's memory: RSS with gRPC serving, against the same pod without it (target: 100Mi).

Starts the app as the provider Deployment runs it (the manifests' MALLOC_ARENA_MAX=2), warms it
with 2000 HTTP /ping calls and 2000 gRPC SayHello calls over 4 channels, then reads VmRSS.

    .venv/bin/python bench/provider_memory.py
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import requests

from bench.support import free_port
from combat_app import greeting
from tests.support.processes import start_app


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def measure(grpc_on: bool) -> dict:
    grpc_port = free_port() if grpc_on else 0
    server = start_app(
        POD_NAME="k8s-combat-service-bench-00000", COMBAT_GRPC_PORT=str(grpc_port), MALLOC_ARENA_MAX="2"
    )
    try:
        idle = rss_mib(server.pid)
        with requests.Session() as session:
            for _ in range(2000):
                session.get(f"{server.url}/ping", timeout=2)
        if grpc_on:

            def hello(_: int) -> None:
                client = greeting.Greeter(f"127.0.0.1:{grpc_port}")
                for _ in range(500):
                    assert client.say_hello("bench", timeout=2).outcome == "ok"
                client.close()

            with ThreadPoolExecutor(4) as pool:
                list(pool.map(hello, range(4)))
        return {"idle_mib": round(idle, 1), "after_load_mib": round(rss_mib(server.pid), 1)}
    finally:
        server.stop()


def main() -> None:
    result = {"http only": measure(False), "http + grpc": measure(True)}
    print(json.dumps(result, indent=2))
    peak = result["http + grpc"]["after_load_mib"]
    print(f"provider RSS with gRPC serving: {peak} MiB after load (limit 100 MiB)")
    sys.exit(0 if peak <= 100 else 1)


if __name__ == "__main__":
    main()
