"""The dashboard page under a 2000-call burst, in Debian's Chromium (see docs/performance.md).

For each burst, at each concurrency asked for, in alternating rounds:

1. main-thread long tasks (over 50 ms), from a ``PerformanceObserver`` for ``longtask``;
2. the page's own script time per animation frame: an init script (the page's modules are not
   touched) wraps every websocket ``message`` listener and every ``requestAnimationFrame``
   callback the page registers (so the reducer, ``flow.addCall`` and the render) and times them
   with ``performance.now()``; a frame clock of its own, on the unwrapped
   ``requestAnimationFrame``, sums them from one frame to the next;
3. Chromium's own accounting for the page over the burst (CDP ``Performance.getMetrics``): all
   main-thread task time, and of it script, layout and style; the page's script as a share of
   that task time is the ratio against a baseline of the same run;
4. calls streamed to the page per second (the run's own start and finish).

Long tasks and times per frame depend on how busy the machine is: that is why they are here and
not in the tests. The cluster runs at ``nice 15`` by default, as in the browser tests: a user's
browser does not share its CPU with the cluster it looks at.

    .venv/bin/python bench/page_burst.py                    # about a minute
    .venv/bin/python bench/page_burst.py --record           # and add the figures to docs/performance.md
    .venv/bin/python bench/page_burst.py --concurrency 2 --rounds 5
    .venv/bin/python bench/page_burst.py --record --load "stress-ng --cpu 2"   # say what else ran
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from playwright.sync_api import expect, sync_playwright

from bench.support import ROOT
from tests.support.browser import launch
from tests.support.sandbox import start_sandbox

CALLS = 2000
DOCS = ROOT / "docs" / "performance.md"
MARKER = "<!-- bench/page_burst.py --record adds its rows above this line -->"
PROBE = """
(() => {
  const probe = { on: false, current: 0, frames: [], longTasks: [] };
  window.__pageBurst = probe;
  const timed = (callback) => function (...args) {
    const started = performance.now();
    try {
      return callback.apply(this, args);
    } finally {
      probe.current += performance.now() - started;
    }
  };
  const nativeFrame = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (callback) => nativeFrame(timed(callback));
  const nativeListen = WebSocket.prototype.addEventListener;
  WebSocket.prototype.addEventListener = function (type, listener, options) {
    return nativeListen.call(this, type, type === "message" ? timed(listener) : listener, options);
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
METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(fraction * len(ordered)) - 1)] if ordered else 0.0


def chromium_metrics(cdp) -> dict[str, float]:
    """Seconds of main-thread work Chromium has counted for the page so far."""
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return {metric["name"]: metric["value"] for metric in metrics if metric["name"] in METRICS}


def burst(page, cdp, concurrency: int) -> dict:
    """One 2000-call new-connection burst, with the probe on from the click to the verdict."""
    before = page.evaluate("window.k8sCombat.state().run?.id ?? 0")
    page.check("input[name=mode][value=new-connection]")
    page.fill("#count", str(CALLS))
    page.fill("#concurrency", str(concurrency))
    page.evaluate("Object.assign(window.__pageBurst, { on: true, frames: [], longTasks: [] })")
    metrics_before, clock_before = chromium_metrics(cdp), time.monotonic()
    page.click("#fire-burst")
    page.wait_for_function(
        f"(() => {{ const run = window.k8sCombat.state().run;"
        f" return run && run.id > {before} && run.status !== 'running'; }})()",
        timeout=120_000,
    )
    page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    wall = time.monotonic() - clock_before
    metrics_after = chromium_metrics(cdp)
    probe = page.evaluate(
        "(() => { const p = window.__pageBurst; p.on = false;"
        " return { frames: p.frames, longTasks: p.longTasks, run: window.k8sCombat.state().run }; })()"
    )
    run = probe["run"]
    if run["statistics"]["calls"] != CALLS:
        sys.exit(f"the burst made {run['statistics']['calls']} calls, not {CALLS}: {run}")
    spent = {name: metrics_after[name] - metrics_before[name] for name in METRICS}
    return {
        "calls_per_second": CALLS / (run["finished_at"] - run["started_at"]),
        "frames": probe["frames"],
        "long_tasks": probe["longTasks"],
        "task_share": spent["TaskDuration"] / wall,
        "script_of_tasks": sum(probe["frames"]) / 1000 / spent["TaskDuration"],
        "chromium_ms": {name: round(value * 1000) for name, value in spent.items()},
    }


def summary(bursts: list[dict]) -> dict:
    frames = [ms for one in bursts for ms in one["frames"]]
    long_tasks = [ms for one in bursts for ms in one["long_tasks"]]
    return {
        "bursts": len(bursts),
        "calls_per_second": round(statistics.median(b["calls_per_second"] for b in bursts)),
        "long_tasks_per_burst": [len(b["long_tasks"]) for b in bursts],
        "longest_task_ms": round(max(long_tasks, default=0)),
        "page_script_per_frame_ms": {
            "frames": len(frames),
            "p50": round(percentile(frames, 0.5), 2),
            "p95": round(percentile(frames, 0.95), 2),
            "max": round(max(frames, default=0), 2),
        },
        "main_thread_busy_share": round(statistics.median(b["task_share"] for b in bursts), 3),
        "page_script_of_main_thread": round(statistics.median(b["script_of_tasks"] for b in bursts), 3),
        "chromium_ms_per_burst": {
            name: round(statistics.median(b["chromium_ms"][name] for b in bursts)) for name in METRICS
        },
    }


def record(results: dict, conditions: str) -> None:
    """Add one row per concurrency to the table in docs/performance.md, above the marker."""
    text = DOCS.read_text()
    if MARKER not in text:
        sys.exit(f"{DOCS} has no line {MARKER!r} to add rows above")
    today = datetime.date.today().isoformat()
    rows = []
    for concurrency, figures in results.items():
        frame = figures["page_script_per_frame_ms"]
        fewest, most = min(figures["long_tasks_per_burst"]), max(figures["long_tasks_per_burst"])
        rows.append(
            f"| {today} | {concurrency} | {figures['bursts']} | {figures['calls_per_second']:,} "
            f"| {fewest if fewest == most else f'{fewest} to {most}'} | {figures['longest_task_ms']} ms "
            f"| {frame['p50']} / **{frame['p95']}** / {frame['max']} ms "
            f"| {figures['main_thread_busy_share']:.2f} | **{figures['page_script_of_main_thread']:.2f}** "
            f"| {conditions} |"
        )
    DOCS.write_text(text.replace(MARKER, "\n".join(rows) + "\n" + MARKER))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 21), metavar="1..20")
    parser.add_argument("--cluster-nice", type=int, default=15, choices=range(0, 20), metavar="0..19")
    parser.add_argument("--record", action="store_true", help="add the figures to docs/performance.md")
    parser.add_argument("--load", default="", help="what else ran on the machine, for the record")
    arguments = parser.parse_args()
    if not all(1 <= c <= 64 for c in arguments.concurrency):
        sys.exit("--concurrency takes values from 1 to 64")
    bursts: dict[int, list[dict]] = {c: [] for c in arguments.concurrency}
    with tempfile.TemporaryDirectory() as state:
        sandbox = start_sandbox(Path(state), dashboard=True, niceness=arguments.cluster_nice)
        try:
            with sync_playwright() as playwright:
                browser = launch(playwright)
                try:
                    context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale="en-US")
                    context.add_init_script(PROBE)
                    page = context.new_page()
                    page.goto(sandbox.dashboard_url + "/")
                    connection = page.locator("#connection")
                    expect(connection).to_have_attribute("data-status", "open", timeout=30_000)
                    cdp = context.new_cdp_session(page)
                    cdp.send("Performance.enable")
                    burst(page, cdp, arguments.concurrency[0])  # warm-up: caches, JIT, the pods' pools
                    # Alternating rounds, so that every concurrency sees the same machine.
                    for _ in range(arguments.rounds):
                        for concurrency in arguments.concurrency:
                            time.sleep(1)  # the last burst's dots have landed
                            bursts[concurrency].append(burst(page, cdp, concurrency))
                finally:
                    browser.close()
        finally:
            sandbox.stop()
    results = {concurrency: summary(measured) for concurrency, measured in bursts.items()}
    print(json.dumps(results, indent=2))
    for concurrency, figures in results.items():
        frame = figures["page_script_per_frame_ms"]
        print(
            f"concurrency {concurrency}: {figures['calls_per_second']} calls/s to the page; "
            f"long tasks per burst {figures['long_tasks_per_burst']}, "
            f"longest {figures['longest_task_ms']} ms; "
            f"page script per frame p95 {frame['p95']} ms, max {frame['max']} ms; "
            f"page script {figures['page_script_of_main_thread']:.0%} of the main thread's work"
        )
    if arguments.record:
        conditions = f"cluster at nice {arguments.cluster_nice}"
        record(results, f"{conditions}; {arguments.load}" if arguments.load else conditions)
        print(f"recorded in {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
