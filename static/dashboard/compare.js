// "Compare the modes" on the page: one card per connection mode, side by side, each with its
// per-pod shares against 1/n (small bars, or past COMPACT_ABOVE pods a compact distribution),
// connections used, pods reached, p-value, busiest-pod ratio and verdict; over them, the lesson
// (comparison.js), the exports and the experiment's own address. DOM by createElement and
// textContent only; redrawn only when the experiment shown changes.

import { formatP, lesson } from "./comparison.js";
import { COMPACT_ABOVE } from "./grid.js";
import { uniformBand } from "./shares.js";
import { verdict } from "./verdict.js";

const SVG = "http://www.w3.org/2000/svg";
const CHART = { width: 200, height: 48 };

function node(tag, attributes = {}, content = null) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (content !== null) element.textContent = content;
  return element;
}

function svgNode(name, attributes, parent) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  parent.appendChild(element);
  return element;
}

// The pods a run's shares are drawn over: the expected ones, then any other that answered.
function podsOf(experiment, s) {
  const pods = [...(experiment.expected_pods || [])];
  for (const pod of Object.keys(s.pods || {})) if (!pods.includes(pod)) pods.push(pod);
  return pods;
}

function shareBars(pods, s, n, t) {
  const list = node("ul", { class: "compare-bars" });
  for (const pod of pods) {
    const found = (s.pods || {})[pod];
    const share = found ? found.share : 0;
    const label = t.interpolate(t.gettext("%(pod)s: %(count)s calls, %(share)s (expected %(expected)s)"),
      { pod, count: found ? found.count : 0, share: `${Math.round(share * 100)}%`, expected: `${Math.round(100 / n)}%` }, true);
    const item = node("li", { class: "compare-bar", title: label, "aria-label": label });
    const fill = node("span", { class: "compare-fill" });
    fill.style.width = `${(share * 100).toFixed(1)}%`;
    const mark = node("span", { class: "compare-mark", "aria-hidden": "true" });
    mark.style.left = `${(100 / n).toFixed(1)}%`;
    item.append(fill, mark);
    list.appendChild(item);
  }
  return list;
}

// Past COMPACT_ABOVE pods: counts sorted from the busiest, against the band a uniform choice gives.
function compactChart(pods, s, n, t) {
  const chart = document.createElementNS(SVG, "svg");
  chart.setAttribute("viewBox", `0 0 ${CHART.width} ${CHART.height}`);
  chart.setAttribute("class", "compare-chart");
  chart.setAttribute("role", "img");
  const counts = pods.map((pod) => ((s.pods || {})[pod] ? s.pods[pod].count : 0)).sort((a, b) => b - a);
  const { mean, low, high } = uniformBand(s.ok, n);
  const peak = Math.max(1, high, counts[0] || 0);
  const y = (count) => CHART.height - (CHART.height * count) / peak;
  svgNode("rect", { class: "band", x: 0, width: CHART.width, y: y(high), height: Math.max(0, y(low) - y(high)) }, chart);
  const width = CHART.width / Math.max(1, counts.length);
  let d = "";
  counts.forEach((count, index) => {
    if (count) d += `M${(index * width).toFixed(2)} ${CHART.height}V${y(count).toFixed(1)}h${Math.max(0.3, width * 0.85).toFixed(2)}V${CHART.height}z`;
  });
  svgNode("path", { class: "counts", d }, chart);
  svgNode("line", { class: "mean", x1: 0, x2: CHART.width, y1: y(mean), y2: y(mean) }, chart);
  chart.setAttribute("aria-label", t.interpolate(t.gettext("calls per pod over %(pods)s pods, busiest first, against the band a uniform choice gives"), { pods: n }, true));
  return chart;
}

function figure(list, term, value) {
  list.append(node("dt", {}, term), node("dd", {}, value));
}

function card(experiment, mode, t, actions) {
  const run = (experiment.runs || []).find((candidate) => candidate.mode === mode);
  const article = node("article", { class: "compare-card", "data-mode": mode });
  article.appendChild(node("h3", {}, t.gettext(mode)));
  if (!run) {
    article.appendChild(node("p", { class: "help" }, experiment.status === "running" ? t.gettext("waiting…") : t.gettext("not run")));
    return article;
  }
  article.dataset.run = run.id;
  const s = run.statistics || {};
  if (run.status === "running" || s.calls === undefined) {
    article.appendChild(node("p", { class: "help" }, t.gettext("running…")));
    return article;
  }
  const n = Math.max(1, (experiment.expected_pods || []).length);
  const pods = podsOf(experiment, s);
  article.appendChild(pods.length > COMPACT_ABOVE ? compactChart(pods, s, n, t) : shareBars(pods, s, n, t));
  const figures = node("dl", { class: "compare-figures" });
  figure(figures, t.gettext("calls answered"), `${s.ok} / ${s.calls}`);
  figure(figures, t.gettext("connections"), String(s.connections));
  figure(figures, t.gettext("pods reached"), t.interpolate(t.gettext("%(pods)s of %(expected)s"), { pods: s.pods_reached, expected: s.expected_pods.length }, true));
  figure(figures, t.gettext("p-value"), formatP(s.p_value));
  figure(figures, t.gettext("busiest pod"), s.busiest_ratio === null || s.busiest_ratio === undefined ? "—" : `${s.busiest_ratio.toFixed(2)}×`);
  article.appendChild(figures);
  article.appendChild(node("p", { class: "compare-verdict" }, verdict(run, t)));
  const replay = node("button", { type: "button", class: "link" }, t.gettext("Replay"));
  replay.addEventListener("click", () => actions.replay(run));
  article.appendChild(replay);
  return article;
}

export function createCompare(root, t) {
  const section = root.querySelector("#compare-view");
  const title = root.querySelector("#compare-title");
  const status = root.querySelector("#compare-status");
  const said = root.querySelector("#compare-lesson");
  const cards = root.querySelector("#compare-cards");
  const links = root.querySelector("#compare-links");
  let shown = null;

  function update(experiment, actions) {
    if (experiment === shown) return;
    shown = experiment;
    section.hidden = !experiment;
    if (!experiment) return;
    section.dataset.experiment = experiment.id;
    section.dataset.status = experiment.status;
    const fmt = (text, values) => t.interpolate(text, values, true);
    title.textContent = fmt(t.gettext("Compare the modes: experiment %(id)s, %(count)s calls per mode, concurrency %(concurrency)s"), experiment);
    const done = (experiment.runs || []).filter((run) => run.status !== "running").length;
    status.textContent = experiment.status === "running"
      ? fmt(t.gettext("Running: %(done)s of %(modes)s modes done…"), { done, modes: experiment.modes.length })
      : experiment.status === "finished" ? "" : fmt(t.gettext("Stopped (%(status)s): %(reason)s"), { status: t.gettext(experiment.status), reason: experiment.reason });
    said.textContent = lesson(experiment, t);
    cards.replaceChildren(...experiment.modes.map((mode) => card(experiment, mode, t, actions)));
    const json = node("a", { href: `api/experiments/${experiment.id}.json`, download: `experiment-${experiment.id}.json` }, "JSON");
    const csv = node("a", { href: `api/experiments/${experiment.id}.csv`, download: `experiment-${experiment.id}.csv` }, "CSV");
    const address = node("a", { href: `?experiment=${experiment.id}`, id: "compare-address" }, t.gettext("Link to this comparison"));
    const replayAll = node("button", { type: "button", class: "link", id: "compare-replay" }, t.gettext("Replay every mode in order"));
    replayAll.disabled = experiment.status === "running";
    replayAll.addEventListener("click", () => actions.replayExperiment(experiment));
    links.replaceChildren(replayAll, " · ", json, " ", csv, " · ", address);
  }

  return { update };
}
