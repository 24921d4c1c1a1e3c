"""The sandbox's two figures: how fast a scale shows up in a watch, and what the proxy costs.

1. ``kubectl scale`` to the new endpoint appearing, ready, in an EndpointSlice watch, minus the
   pod's own start-up (the same app started directly until ``/readyz`` answers, measured in the
   same run). Target: under 1 s beyond the pod's start-up.
2. Requests per second on **new connections** (wrk with ``Connection: close``) through the
   Service's ClusterIP, as a ratio to connecting to a pod directly, in alternating rounds.
   Target: >= 0.7.

    .venv/bin/python bench/sandbox_service.py [--rounds 5] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import requests
from kubernetes import client, config, watch

from bench.support import ROOT, free_port, wrk
from tests.support.sandbox import start_sandbox

SERVICE = "k8s-combat-service"
ENV = dict(
    os.environ, DJANGO_SECRET_KEY="bench-only-" + "k" * 40, DJANGO_SETTINGS_MODULE="combat_app.settings"
)


def pod_startup_seconds() -> float:
    """The pod's own start-up: spawn the app and poll /readyz as the sandbox's probe does."""
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "combat_app.serving", "--port", str(port)],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                return time.monotonic() - started
            except requests.ConnectionError:
                time.sleep(0.05)
    finally:
        process.terminate()
        process.wait()


def watch_ready_counts(kubeconfig: Path, events: queue.Queue, stop: threading.Event) -> None:
    api = config.new_client_from_config(str(kubeconfig))
    discovery = client.DiscoveryV1Api(api)
    listed = discovery.list_namespaced_endpoint_slice(
        "default", label_selector=f"kubernetes.io/service-name={SERVICE}"
    )
    version = listed.metadata.resource_version
    while not stop.is_set():
        for event in watch.Watch().stream(
            discovery.list_namespaced_endpoint_slice, "default", resource_version=version, timeout_seconds=1
        ):
            version = event["object"].metadata.resource_version
            ready = sum(1 for e in event["object"].endpoints or [] if e.conditions.ready)
            events.put((time.monotonic(), ready))


def scale_latency(kubeconfig: Path, rounds: int) -> list[float]:
    kubectl = shutil.which("kubectl") or sys.exit("kubectl is needed")
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    threading.Thread(target=watch_ready_counts, args=(kubeconfig, events, stop), daemon=True).start()
    env = dict(os.environ, KUBECONFIG=str(kubeconfig))
    latencies = []
    time.sleep(1)
    for _ in range(rounds):
        while not events.empty():
            events.get()
        started = time.monotonic()
        subprocess.run(
            [kubectl, "scale", "deployment", SERVICE, "--replicas=2"],
            env=env,
            check=True,
            capture_output=True,
        )
        while True:
            when, ready = events.get(timeout=30)
            if ready == 2:
                latencies.append(when - started)
                break
        subprocess.run(
            [kubectl, "scale", "deployment", SERVICE, "--replicas=1"],
            env=env,
            check=True,
            capture_output=True,
        )
        while events.get(timeout=30)[1] != 1:
            pass
        time.sleep(1)
    stop.set()
    return latencies


def proxy_ratio(kubeconfig: Path, cluster_ip: str, rounds: int, seconds: int) -> dict:
    api = config.new_client_from_config(str(kubeconfig))
    pod = client.CoreV1Api(api).list_namespaced_pod("default", label_selector=f"app={SERVICE}").items[0]
    direct = f"http://{pod.status.pod_ip}:8081/ping"
    through = f"http://{cluster_ip}:8081/ping"
    rates: dict[str, list[float]] = {"direct to the pod": [], "through the ClusterIP": []}
    for _ in range(rounds):
        for name, url in (("direct to the pod", direct), ("through the ClusterIP", through)):
            rates[name].append(wrk(url, seconds=seconds, connections=32, headers=["Connection: close"]))
            time.sleep(2)  # let TIME_WAIT sockets age: tw_reuse frees loopback ports after 1 s
    medians = {name: statistics.median(values) for name, values in rates.items()}
    return {
        "requests_per_second": rates,
        "median": medians,
        "ratio": round(medians["through the ClusterIP"] / medians["direct to the pod"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    arguments = parser.parse_args()
    startup = statistics.median(pod_startup_seconds() for _ in range(arguments.rounds))
    with tempfile.TemporaryDirectory() as state:
        sandbox = start_sandbox(Path(state), "--providers", "1", "--drain-seconds", "0")
        try:
            latencies = scale_latency(sandbox.kubeconfig, arguments.rounds)
            proxy = proxy_ratio(
                sandbox.kubeconfig, sandbox.cluster_ip, max(arguments.rounds // 2, 1), arguments.seconds
            )
        finally:
            sandbox.stop()
    beyond = [latency - startup for latency in latencies]
    result = {
        "pod_startup_seconds_median": round(startup, 3),
        "scale_to_ready_endpoint_seconds": [round(x, 3) for x in latencies],
        "beyond_pod_startup_seconds": {
            "median": round(statistics.median(beyond), 3),
            "max": round(max(beyond), 3),
        },
        "proxy": proxy,
    }
    print(json.dumps(result, indent=2))
    print(
        f"scale -> ready endpoint in a watch: {statistics.median(beyond):.3f} s beyond the pod's start-up "
        f"(target < 1 s); proxy on new connections: {proxy['ratio']:.2f} of direct (target >= 0.7)"
    )


if __name__ == "__main__":
    main()
