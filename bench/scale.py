"""A Service of 1000 pods: the sandbox, the dashboard and the page at scale (docs/performance.md).

One sandbox with the dashboard, the page open in Debian's Chromium, then:

1. ``kubectl scale deploy/k8s-combat-service --replicas=N`` (lightweight pods beyond
   ``--lightweight-above``): the time until every pod is ready in the EndpointSlices (each slice
   at most 100), then until the dashboard's set equals the server's, endpoint for endpoint;
2. the page reloaded: websocket ``hello`` to every pod's cell drawn;
3. ``kubectl rollout restart`` of all N pods (maxSurge and maxUnavailable 25 %, Kubernetes'
   default, not the tutorial's one at a time) while a 10,000-call ``new-connection`` run goes
   on: each ``endpoints.changed`` message to the end of the frame that draws it (p50/p99), the
   page's own script per frame, and long tasks (over 50 ms) on the page's main thread;
4. memory: the lightweight pods' host processes per pod, and the dashboard pod's anonymous
   memory (RssAnon, what its 128Mi limit counts) after that run;
5. without the sandbox: the Service proxy's new-connection rate with 1000 backends against 2
   (``bench.sandbox_service.proxy_backend_scaling``), and the dashboard engine's endpoint
   change -> websocket frame at N endpoints (``bench.dashboard_endpoints``).

    .venv/bin/python bench/scale.py                  # N = 1000, about 10 minutes
    .venv/bin/python bench/scale.py --pods 300
    .venv/bin/python bench/scale.py --record         # and add the figures to docs/performance.md

Needs ``wrk`` for step 5 (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import requests
from playwright.sync_api import expect, sync_playwright

from bench import dashboard_endpoints, sandbox_service
from bench.page_burst import percentile
from bench.support import ROOT
from tests.support.browser import launch
from tests.support.kubectl import kubectl_for
from tests.support.sandbox import start_sandbox

SERVICE = "k8s-combat-service"
RUN_CALLS = 10_000
DOCS = ROOT / "docs" / "performance.md"
MARKER = "<!-- bench/scale.py --record adds its rows above this line -->"
PROBE = """
(() => {
  // `spent`: where the page's script went, by frame callback (its function's name) and by
  // message type: {count, ms, max}, to attribute a long frame.
  const probe = { on: false, current: 0, frames: [], longTasks: [], changes: [], hello: null, spent: {} };
  window.__scale = probe;
  const cells = () => document.querySelectorAll("#grid-cells [data-key]").length;
  const account = (what, ms) => {
    if (!probe.on) return;
    const entry = probe.spent[what] || (probe.spent[what] = { count: 0, ms: 0, max: 0 });
    entry.count += 1;
    entry.ms += ms;
    entry.max = Math.max(entry.max, ms);
  };
  const timed = (callback, what) => function (...args) {
    const started = performance.now();
    try { return callback.apply(this, args); } finally {
      const ms = performance.now() - started;
      probe.current += ms;
      account(what(args), ms);
    }
  };
  const nativeFrame = window.requestAnimationFrame.bind(window);
  const named = (callback) => () => `frame ${callback.name || "anonymous"}`;
  window.requestAnimationFrame = (callback) => nativeFrame(timed(callback, named(callback)));
  const nativeListen = WebSocket.prototype.addEventListener;
  WebSocket.prototype.addEventListener = function (type, listener, options) {
    if (type !== "message") return nativeListen.call(this, type, listener, options);
    let kind = null;
    const wrapped = timed(listener, () => `message ${kind}`);
    return nativeListen.call(this, type, function (event) {
      const at = performance.now();
      kind = JSON.parse(event.data).type;
      wrapped.call(this, event);
      if (kind === "hello" && probe.hello === null) {
        const expected = window.__scaleExpected;
        const wait = () => (cells() >= expected ? (probe.hello = performance.now() - at) : nativeFrame(wait));
        nativeFrame(wait);
      } else if (kind === "endpoints.changed" && probe.on) {
        // Drawn: the end of the frame after the message (the render runs in a frame callback).
        nativeFrame(() => setTimeout(() => probe.changes.push(performance.now() - at), 0));
      }
    }, options);
  };
  const tick = () => {
    if (probe.on) probe.frames.push(probe.current);
    probe.current = 0;
    nativeFrame(tick);
  };
  nativeFrame(tick);
  new PerformanceObserver((list) => {
    if (probe.on) for (const entry of list.getEntries()) probe.longTasks.push(entry.duration);
  }).observe({ type: "longtask" });
})();
"""


def server_endpoints(api_url: str) -> list[dict]:
    """Every endpoint of the Service's slices, as the API server lists them."""
    listed = requests.get(
        f"{api_url}/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
        params={"labelSelector": f"kubernetes.io/service-name={SERVICE}"},
        timeout=30,
    ).json()["items"]
    if any(len(s.get("endpoints") or []) > 100 for s in listed):
        sys.exit(f"a slice holds more than 100 endpoints: {[len(s['endpoints']) for s in listed]}")
    return [e for s in listed for e in s.get("endpoints") or []]


def ready_pods(endpoints: list[dict]) -> set[str]:
    return {e["targetRef"]["name"] for e in endpoints if (e.get("conditions") or {}).get("ready")}


def wait(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.25)
    sys.exit(f"{what}: not within {seconds:.0f} s")


def scale_up(sandbox, kubectl, pods: int) -> dict:
    """Scale to ``pods``; seconds to all ready in the slices, and to the dashboard agreeing."""
    started = time.monotonic()
    kubectl("scale", f"deploy/{SERVICE}", f"--replicas={pods}")
    wait(lambda: len(ready_pods(server_endpoints(sandbox.api_url))) == pods, 900, f"{pods} ready pods")
    ready = time.monotonic() - started

    def agrees():
        server = {
            (e["targetRef"]["name"], bool(e["conditions"].get("ready")))
            for e in server_endpoints(sandbox.api_url)
        }
        shown = requests.get(f"{sandbox.dashboard_url}/api/state", timeout=30).json()["endpoints"]
        return server == {(e["pod"], e["ready"]) for e in shown} and len(shown) == pods

    wait(agrees, 120, "the dashboard's endpoints equal to the server's")
    return {
        "seconds_to_all_ready": round(ready, 1),
        "seconds_to_dashboard_equal": round(time.monotonic() - started, 1),
    }


def process_memory(pid: int) -> dict[str, int]:
    """RssAnon and VmRSS of a process, in KiB (/proc/PID/status)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("RssAnon", "VmRSS"):
            fields[name] = int(value.split()[0])
    return fields


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def memory(sandbox, kubectl, pods: int) -> dict:
    """The lightweight pods' host processes (per pod) and the dashboard pod's process."""
    children = {pid: command_line(pid) for pid in sandbox.children()}
    hosts = [pid for pid, line in children.items() if "pod_host" in line]
    host_kib = sum(process_memory(pid)["VmRSS"] for pid in hosts)
    consumer_ip = kubectl("get", "pods", "-l", "app=k8s-combat", "-o", "jsonpath={.items[0].status.podIP}")
    dashboard = next(pid for pid, line in children.items() if f"--host {consumer_ip} " in line + " ")
    figures = process_memory(dashboard)
    return {
        "host_processes": len(hosts),
        "kib_per_lightweight_pod": round(host_kib / pods, 1),
        "dashboard_rss_anon_mib": round(figures["RssAnon"] / 1024, 1),
        "dashboard_rss_mib": round(figures["VmRSS"] / 1024, 1),
    }


def first_drawing(page, pods: int) -> float:
    """Reload the page: ms from the websocket ``hello`` to every pod's cell drawn."""
    page.context.add_init_script(f"window.__scaleExpected = {pods};")  # before the page's scripts
    page.reload()
    expect(page.locator("#connection")).to_have_attribute("data-status", "open", timeout=60_000)
    page.wait_for_function("window.__scale && window.__scale.hello !== null", timeout=60_000)
    return round(page.evaluate("window.__scale.hello"), 1)


def restart_under_load(sandbox, kubectl, page) -> dict:
    """A rolling restart of every pod while a 10,000-call new-connection run goes on."""
    before = page.evaluate("window.k8sCombat.state().run?.id ?? 0")
    page.check("input[name=mode][value=new-connection]")
    page.fill("#count", str(RUN_CALLS))
    page.evaluate("Object.assign(window.__scale, { on: true, frames: [], longTasks: [], changes: [] })")
    # The tutorial's maxSurge 1 / maxUnavailable 0 replaces one pod at a time: a thousand would
    # take hours here as in a cluster. Kubernetes' default strategy (25 % / 25 %) is what a fleet
    # of 1000 would use.
    kubectl(
        "patch", f"deploy/{SERVICE}", "--type=merge",
        "-p", '{"spec": {"strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}}',
    )  # fmt: skip
    page.click("#fire-burst")
    rollout = threading.Thread(
        target=lambda: (
            kubectl("rollout", "restart", f"deploy/{SERVICE}"),
            kubectl("rollout", "status", f"deploy/{SERVICE}", "--timeout=900s", timeout=960),
        )
    )
    started = time.monotonic()
    rollout.start()
    page.wait_for_function(
        f"(() => {{ const run = window.k8sCombat.state().run;"
        f" return run && run.id > {before} && run.status !== 'running'; }})()",
        timeout=900_000,
    )
    rollout.join(960)
    seconds = time.monotonic() - started
    probe = page.evaluate("(() => { const p = window.__scale; p.on = false; return p; })()")
    run = page.evaluate("window.k8sCombat.state().run")
    frames, changes = probe["frames"], probe["changes"]
    return {
        "rollout_and_run_seconds": round(seconds, 1),
        "run": {k: run["statistics"][k] for k in ("calls", "ok", "pods_reached", "busiest_ratio")},
        "endpoint_messages": len(changes),
        "change_to_drawn_ms": {
            "p50": round(percentile(changes, 0.5), 1),
            "p99": round(percentile(changes, 0.99), 1),
        },
        "page_script_per_frame_ms": {
            "p95": round(percentile(frames, 0.95), 1),
            "max": round(max(frames, default=0), 1),
        },
        "long_tasks": len(probe["longTasks"]),
        "longest_task_ms": round(max(probe["longTasks"], default=0)),
        "page_script_by_source_ms": {
            what: {"count": spent["count"], "total": round(spent["ms"]), "max": round(spent["max"], 1)}
            for what, spent in sorted(probe["spent"].items(), key=lambda item: -item[1]["ms"])
        },
    }


def in_cluster(pods: int, niceness: int) -> dict:
    results: dict = {}
    with tempfile.TemporaryDirectory() as state:
        sandbox = start_sandbox(Path(state), dashboard=True, niceness=niceness, wait_seconds=120)
        try:
            kubectl = kubectl_for(sandbox)
            with sync_playwright() as playwright:
                browser = launch(playwright)
                try:
                    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
                    context.add_init_script(PROBE)
                    page = context.new_page()
                    page.goto(sandbox.dashboard_url + "/")
                    expect(page.locator("#connection")).to_have_attribute(
                        "data-status", "open", timeout=60_000
                    )
                    results["scale"] = scale_up(sandbox, kubectl, pods)
                    print(json.dumps(results["scale"]), flush=True)
                    results["hello_to_drawn_ms"] = first_drawing(page, pods)
                    results["restart_under_load"] = restart_under_load(sandbox, kubectl, page)
                    print(json.dumps(results["restart_under_load"]), flush=True)
                    results["memory"] = memory(sandbox, kubectl, pods)
                finally:
                    browser.close()
        finally:
            sandbox.stop()
    return results


def record(results: dict, pods: int) -> None:
    text = DOCS.read_text()
    if MARKER not in text:
        sys.exit(f"{DOCS} has no line {MARKER!r} to add rows above")
    scale, restart, mem = results["scale"], results["restart_under_load"], results["memory"]
    engine = results["engine"]
    cells = [
        datetime.date.today().isoformat(),
        str(pods),
        f"{scale['seconds_to_all_ready']} s / {scale['seconds_to_dashboard_equal']} s",
        f"{results['hello_to_drawn_ms']} ms",
        f"{restart['change_to_drawn_ms']['p99']} ms",
        f"{restart['long_tasks']} ({restart['longest_task_ms']} ms)",
        f"{engine['isolated_change_to_frame_ms']['p99']} / {engine['burst_change_to_frame_ms']['p99']} ms",
        f"{mem['dashboard_rss_anon_mib']} MiB",
        f"{mem['kib_per_lightweight_pod']} KiB",
        f"{results['proxy']['ratio']:.2f}",
    ]
    row = "| " + " | ".join(cells) + " |"
    DOCS.write_text(text.replace(MARKER, row + "\n" + MARKER))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=1000, choices=range(30, 5001), metavar="30..5000")
    parser.add_argument("--cluster-nice", type=int, default=15, choices=range(0, 20), metavar="0..19")
    parser.add_argument("--record", action="store_true", help="add the figures to docs/performance.md")
    arguments = parser.parse_args()
    results = in_cluster(arguments.pods, arguments.cluster_nice)
    results["engine"] = dashboard_endpoints.measure(endpoints=arguments.pods)
    results["proxy"] = sandbox_service.proxy_backend_scaling(counts=(2, 1000))
    print(json.dumps(results, indent=2))
    if arguments.record:
        record(results, arguments.pods)
        print(f"recorded in {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
