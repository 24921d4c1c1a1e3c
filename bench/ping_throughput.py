"""/ping on one uvicorn process, as a ratio to a bare ASGI hello-world under the same server.

Both run under the same uvicorn (httptools, uvloop), pinned to one core, with wrk on the other,
in alternating rounds of the same run; the median of each is compared. Target: ratio >= 0.5.

    .venv/bin/python bench/ping_throughput.py [--seconds 5] [--rounds 3] [--connections 50]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.support import free_port, pinned, start, stop, wrk

SERVERS = {
    "hello-world": "bench.hello_asgi:app",
    "k8s-combat /ping": "combat_app.asgi:application",
}


def measure(target: str, *, seconds: int, connections: int) -> float:
    port = free_port()
    url = f"http://127.0.0.1:{port}/ping"
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="combat_app.settings",
        DJANGO_SECRET_KEY="bench-only-" + "k" * 40,
        POD_NAME="k8s-combat-service-bench-00000",
    )
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--http",
        "httptools",
        "--loop",
        "uvloop",
    ]
    process = start(pinned(0, argv), url, env)
    try:
        wrk(url, seconds=1, connections=connections)  # warm-up
        return wrk(url, seconds=seconds, connections=connections)
    finally:
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    arguments = parser.parse_args()
    rates: dict[str, list[float]] = {name: [] for name in SERVERS}
    for _ in range(arguments.rounds):
        for name, target in SERVERS.items():
            rates[name].append(measure(target, seconds=arguments.seconds, connections=arguments.connections))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    ratio = medians["k8s-combat /ping"] / medians["hello-world"]
    print(json.dumps({"requests_per_second": rates, "median": medians, "ratio": round(ratio, 3)}, indent=2))
    print(f"/ping reaches {ratio:.2f} of a bare ASGI hello-world (target >= 0.5)")
    sys.exit(0 if ratio >= 0.5 else 1)


if __name__ == "__main__":
    main()
