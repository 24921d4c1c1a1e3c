// The per-pod bars at scale: every pod's count, sorted from the busiest down, against the band
// a uniform choice would give. Under a uniform choice over n pods a pod's count of N calls is
// binomial(N, 1/n): the band is its mean ± 2 standard deviations (about 95 % of pods inside).
// One SVG path draws all the bars, so 1000 pods are four elements, not 1000.

import { atMostEvery } from "./pacing.js";
import { expectedPodCount, uniformBand } from "./shares.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 900;
const HEIGHT = 170;
const LEFT = 44;
const TOP = 10;
const BOTTOM = 20;

function el(name, attributes, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  parent.appendChild(node);
  return node;
}

export function createDistribution(root, t) {
  const chart = root.querySelector("#distribution-chart");
  const said = root.querySelector("#distribution-summary");
  chart.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  const band = el("rect", { class: "band", x: LEFT, width: WIDTH - LEFT, y: 0, height: 0 }, chart);
  const bars = el("path", { class: "counts" }, chart);
  const mean = el("line", { class: "mean", x1: LEFT, x2: WIDTH }, chart);
  el("line", { class: "axis", x1: LEFT, x2: WIDTH, y1: HEIGHT - BOTTOM, y2: HEIGHT - BOTTOM }, chart);
  const top = el("text", { class: "tick", x: LEFT - 4, y: TOP + 4, "text-anchor": "end" }, chart);
  const zero = el("text", { class: "tick", x: LEFT - 4, y: HEIGHT - BOTTOM + 4, "text-anchor": "end" }, chart);
  const first = el("text", { class: "tick", x: LEFT, y: HEIGHT - 4 }, chart);
  const last = el("text", { class: "tick", x: WIDTH, y: HEIGHT - 4, "text-anchor": "end" }, chart);
  zero.textContent = "0";
  let shown = null;
  const fmt = (translated, values) => t.interpolate(translated, values, true);

  function update(state) {
    if (shown && shown.counts === state.counts && shown.endpoints === state.endpoints && shown.run === state.run) return;
    draw(state);
  }

  const draw = atMostEvery(125, (state) => {
    shown = { counts: state.counts, endpoints: state.endpoints, run: state.run };
    const pods = new Set((state.run && state.run.expected_pods) || []);
    for (const endpoint of state.endpoints) if (endpoint.pod) pods.add(endpoint.pod);
    for (const pod of Object.keys(state.counts)) pods.add(pod);
    // The bars need the counts in order, not the names: a typed array sorts 1000 numbers in a
    // fraction of what sorting [name, count] pairs by a comparator costs, 8 times a second. The
    // two names said are found in one pass (the busiest: highest count, first name; the
    // quietest: lowest count, last name, as a sort by count then name puts them).
    const counts = new Float64Array(pods.size);
    let busiest = null;
    let quietest = null;
    let index = 0;
    for (const pod of pods) {
      const count = state.counts[pod] || 0;
      counts[index++] = count;
      if (busiest === null || count > busiest[1] || (count === busiest[1] && pod < busiest[0])) busiest = [pod, count];
      if (quietest === null || count < quietest[1] || (count === quietest[1] && pod > quietest[0])) quietest = [pod, count];
    }
    counts.sort().reverse();
    const total = counts.reduce((sum, count) => sum + count, 0);
    const n = expectedPodCount(state) || counts.length;
    const { mean: average, low, high } = uniformBand(total, n);
    const peak = Math.max(1, high, counts.length ? counts[0] : 0);
    const y = (count) => HEIGHT - BOTTOM - ((HEIGHT - BOTTOM - TOP) * count) / peak;
    const width = counts.length ? (WIDTH - LEFT) / counts.length : 0;
    let d = "";
    counts.forEach((count, at) => {
      if (count) d += `M${(LEFT + at * width).toFixed(2)} ${(HEIGHT - BOTTOM).toFixed(1)}V${y(count).toFixed(1)}h${Math.max(0.5, width * 0.85).toFixed(2)}V${HEIGHT - BOTTOM}z`;
    });
    bars.setAttribute("d", d);
    band.setAttribute("y", y(high).toFixed(1));
    band.setAttribute("height", Math.max(0, y(low) - y(high)).toFixed(1));
    mean.setAttribute("y1", y(average).toFixed(1));
    mean.setAttribute("y2", y(average).toFixed(1));
    band.style.display = total ? "" : "none";
    mean.style.display = total ? "" : "none";
    top.textContent = String(Math.round(peak));
    first.textContent = t.gettext("busiest");
    last.textContent = t.gettext("quietest");
    if (!total) {
      said.textContent = fmt(t.gettext("%(pods)s pods, no calls yet: fire a burst of at least %(needed)s calls (5 per pod) to judge the spread."), { pods: n, needed: 5 * n });
      return;
    }
    let outside = 0;
    for (const count of counts) if (count < low || count > high) outside += 1;
    const [busiestPod, most] = busiest;
    const [quietestPod, least] = quietest;
    said.textContent = fmt(t.gettext("Busiest pod %(busiest)s: %(most)s calls, %(ratio)s× the mean of %(mean)s. Quietest %(quietest)s: %(least)s calls. %(outside)s of %(pods)s pods lie outside the band a uniform choice gives (%(low)s to %(high)s calls; about 1 in 20 would by chance)."),
      {
        busiest: busiestPod, most, ratio: (most / average).toFixed(2), mean: average.toFixed(1), quietest: quietestPod, least,
        outside, pods: counts.length, low: low.toFixed(1), high: high.toFixed(1),
      },
    );
  });

  return { update };
}
