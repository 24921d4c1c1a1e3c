// The numbers beside the picture: per-pod bars (past COMPACT_ABOVE endpoints, the distribution
// instead), the verdict, latency, the call log, the endpoint timeline and past runs. DOM is built
// with createElement/textContent (never innerHTML with data), and rows are keyed so an update
// touches only what changed.

import { createDistribution } from "./distribution.js";
import { COMPACT_ABOVE } from "./grid.js";
import { createStrip } from "./strip.js";
import { verdict } from "./verdict.js";
import { createSequence } from "./sequence.js";
import { createSettingsPanel } from "./settings.js";

function node(tag, attributes = {}, content = null) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (content !== null) element.textContent = content;
  return element;
}

// One formatter for every row: toLocaleTimeString builds a new one per call, about 0.5 ms each,
// which is most of a frame when a burst brings 100 rows.
const CLOCK = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
const time = (seconds) => CLOCK.format(new Date(seconds * 1000));

export function createPanels(root, t) {
  const bars = root.querySelector("#bars");
  const verdictLine = root.querySelector("#verdict");
  const latency = root.querySelector("#latency");
  const log = root.querySelector("#log tbody");
  const timeline = root.querySelector("#timeline");
  const runs = root.querySelector("#runs tbody");
  const live = root.querySelector("#announce");
  const logRows = new Map(); // "run:seq" -> <tr>
  const barRows = new Map(); // pod -> {row, fill, label}
  let announced = null;
  let shownTimeline = null;
  let shownRuns = null;
  const strip = createStrip(root.querySelector("#strip"), t);
  const distribution = createDistribution(root, t);
  const distributionBox = root.querySelector("#distribution");
  const expectedLine = root.querySelector("#expected");
  const sequence = createSequence(root, t);
  const settingsPanel = createSettingsPanel(root, t);

  function updateSpread(state) {
    const compact = state.endpoints.length > COMPACT_ABOVE;
    distributionBox.hidden = !compact;
    bars.hidden = compact;
    expectedLine.hidden = compact;
    if (!compact) {
      updateBars(state);
      return;
    }
    for (const entry of barRows.values()) entry.row.remove();
    barRows.clear();
    distribution.update(state);
  }

  function updateBars(state) {
    const pods = new Set(state.endpoints.map((endpoint) => endpoint.pod).filter(Boolean));
    Object.keys(state.counts).forEach((pod) => pods.add(pod));
    const total = Object.values(state.counts).reduce((sum, value) => sum + value, 0);
    const expected = state.run && state.run.expected_pods && state.run.expected_pods.length
      ? 1 / state.run.expected_pods.length : (pods.size ? 1 / pods.size : 0);
    root.querySelector("#expected").textContent = pods.size
      ? t.interpolate(t.gettext("expected share: %(share)s each (the marks)"), { share: `${Math.round(expected * 100)}%` }, true) : "";
    for (const pod of [...pods].sort()) {
      let entry = barRows.get(pod);
      if (!entry) {
        const row = node("li", { class: "bar", "data-pod": pod });
        const name = node("span", { class: "bar-name" }, pod);
        const track = node("span", { class: "bar-track" });
        const fill = node("span", { class: "bar-fill" });
        const mark = node("span", { class: "bar-expected", "aria-hidden": "true" });
        const label = node("span", { class: "bar-label" });
        track.append(fill, mark);
        row.append(name, track, label);
        bars.appendChild(row);
        entry = { row, fill, mark, label };
        barRows.set(pod, entry);
      }
      const count = state.counts[pod] || 0;
      const share = total ? count / total : 0;
      entry.fill.style.width = `${(share * 100).toFixed(1)}%`;
      entry.mark.style.left = `${(expected * 100).toFixed(1)}%`;
      entry.label.textContent = `${count} · ${(share * 100).toFixed(0)}%`;
    }
    for (const [pod, entry] of barRows) {
      if (!pods.has(pod)) {
        entry.row.remove();
        barRows.delete(pod);
      }
    }
  }

  function updateVerdict(state) {
    const run = state.run;
    if (!run) {
      verdictLine.textContent = t.gettext("Press a button to fire calls at the Service.");
      latency.textContent = "";
      return;
    }
    const said = run.status === "running"
      ? t.interpolate(t.gettext("Run %(id)s: %(count)s %(mode)s calls in progress…"), { id: run.id, count: run.count, mode: t.gettext(run.mode) }, true)
      : verdict(run, t);
    verdictLine.textContent = said;
    const l = run.statistics && run.statistics.latency_ms;
    latency.textContent = l && l.p50 !== null
      ? t.interpolate(t.gettext("latency p50 %(p50)s ms · p95 %(p95)s ms · p99 %(p99)s ms"), { p50: l.p50.toFixed(1), p95: l.p95.toFixed(1), p99: l.p99.toFixed(1) }, true) : "";
    if (run.status !== "running" && announced !== run.id) {
      announced = run.id;
      live.textContent = said; // the ARIA live region tells screen readers how the run ended
    }
  }

  function updateLog(state) {
    const wanted = state.calls.map((call) => `${call.run}:${call.seq}`);
    const keep = new Set(wanted);
    for (const [key, row] of logRows) {
      if (!keep.has(key)) {
        row.remove();
        logRows.delete(key);
      }
    }
    let previous = null;
    state.calls.forEach((call, index) => {
      const key = wanted[index];
      let row = logRows.get(key);
      if (!row) {
        row = node("tr", { "data-key": key, class: call.outcome === "ok" ? "" : "failed" });
        row.append(
          node("td", {}, time(call.started_at)),
          node("td", {}, `${call.run}/${call.seq}`),
          node("td", {}, call.pod || "—"),
          node("td", {}, call.local_port ? `:${call.local_port}${call.reused ? " ↺" : " ✚"}`
            : call.channel ? `gRPC #${call.channel}${call.reused ? " ↺" : " ✚"}` : "—"),
          node("td", { class: "number" }, call.latency_ms.toFixed(1)),
          node("td", {}, call.outcome),
        );
        logRows.set(key, row);
      }
      const expectedNext = previous ? previous.nextSibling : log.firstChild;
      if (expectedNext !== row) log.insertBefore(row, expectedNext);
      previous = row;
    });
  }

  function updateTimeline(state) {
    const events = state.timeline.slice(-30).reverse();
    const items = events.map((event) => node("li", { class: event.state },
      `${time(event.at)} ${event.name || event.pod || event.ip} ${t.gettext(event.kind)} (${t.gettext(event.state.replace("-", " "))})`));
    timeline.replaceChildren(...items);
  }

  function updateRuns(state, actions) {
    const rows = state.runs.map((run) => {
      const row = node("tr", { "data-run": run.id });
      const open = node("button", { type: "button", class: "link" }, t.gettext("Replay"));
      open.addEventListener("click", () => actions.replay(run));
      const json = node("a", { href: `api/runs/${run.id}/calls.json`, download: `run-${run.id}-calls.json` }, "JSON");
      const csv = node("a", { href: `api/runs/${run.id}/calls.csv` }, "CSV");
      const cell = node("td");
      cell.append(open, " ", json, " ", csv);
      row.append(node("td", {}, String(run.id)), node("td", {}, t.gettext(run.mode)),
        node("td", { class: "number" }, String(run.statistics.calls ?? run.count)),
        node("td", {}, verdict(run, t)), cell);
      return row;
    });
    runs.replaceChildren(...rows);
  }

  return {
    update(state, actions) {
      updateSpread(state);
      updateVerdict(state);
      sequence.update(state.run);
      settingsPanel.update(state);
      updateLog(state);
      strip.update(state);
      if (state.timeline !== shownTimeline) {
        shownTimeline = state.timeline;
        updateTimeline(state);
      }
      if (state.runs !== shownRuns) {
        shownRuns = state.runs;
        updateRuns(state, actions);
      }
    },
  };
}
