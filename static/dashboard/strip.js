// The endpoint timeline, lined up with the calls: one row per pod over the last minute, a bar per
// second for the calls it answered, and a mark where its endpoint changed state. Past
// COMPACT_ABOVE pods, one row per node instead (its pods' calls added up), so 1000 pods stay a
// few dozen rows.

import { COMPACT_ABOVE } from "./grid.js";

const SVG = "http://www.w3.org/2000/svg";
const WINDOW_SECONDS = 60;
const ROW = 26;
const LEFT = 250;
const WIDTH = 900;

export function createStrip(svg, t) {
  let drawnAt = 0;

  function node(name, attributes, text = null) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    if (text !== null) element.textContent = text;
    return element;
  }

  return {
    update(state, now = Date.now() / 1000) {
      if (performance.now() - drawnAt < 250) return; // four times a second is plenty for a minute's strip
      drawnAt = performance.now();
      let pods = [...new Set([...state.endpoints.map((e) => e.pod), ...state.timeline.map((e) => e.pod)].filter(Boolean))].sort();
      let rowOf = (pod) => pod;
      let label = (row) => row;
      if (pods.length > COMPACT_ABOVE) {
        const nodeOf = new Map();
        for (const event of state.timeline) if (event.pod) nodeOf.set(event.pod, event.node || "");
        for (const endpoint of state.endpoints) if (endpoint.pod) nodeOf.set(endpoint.pod, endpoint.node || "");
        const size = new Map();
        for (const node of nodeOf.values()) size.set(node, (size.get(node) || 0) + 1);
        rowOf = (pod) => nodeOf.get(pod) ?? "";
        label = (node) => t.interpolate(t.gettext("%(node)s: %(count)s pods"), { node: node || t.gettext("no node"), count: size.get(node) || 0 }, true);
        pods = [...size.keys()].sort();
      }
      const start = now - WINDOW_SECONDS;
      const x = (at) => LEFT + ((at - start) / WINDOW_SECONDS) * (WIDTH - LEFT - 10);
      const perSecond = new Map();
      let peak = 1;
      for (const call of state.recent) {
        if (call.at < start || !call.ok) continue;
        const key = `${rowOf(call.pod)}|${Math.floor(call.at)}`;
        const value = (perSecond.get(key) || 0) + 1;
        perSecond.set(key, value);
        peak = Math.max(peak, value);
      }
      const children = [];
      pods.forEach((pod, row) => {
        const y = 6 + row * ROW;
        children.push(node("text", { x: 4, y: y + 16, class: "strip-pod" }, label(pod)));
        children.push(node("line", { x1: LEFT, x2: WIDTH - 10, y1: y + ROW - 4, y2: y + ROW - 4, class: "strip-axis" }));
        for (let second = Math.ceil(start); second <= now; second += 1) {
          const count = perSecond.get(`${pod}|${second}`);
          if (!count) continue;
          const height = Math.max(2, ((ROW - 8) * count) / peak);
          children.push(node("rect", { x: x(second), y: y + ROW - 4 - height, width: 9, height, class: "strip-calls" }));
        }
        for (const event of state.timeline) {
          if (rowOf(event.pod) !== pod || event.at < start) continue;
          const mark = node("line", { x1: x(event.at), x2: x(event.at), y1: y, y2: y + ROW - 2, class: `strip-event ${event.state}` });
          mark.appendChild(node("title", {}, `${t.gettext(event.kind)}: ${t.gettext(event.state.replace("-", " "))}`));
          children.push(mark);
        }
      });
      svg.setAttribute("viewBox", `0 0 ${WIDTH} ${Math.max(40, pods.length * ROW + 12)}`);
      svg.replaceChildren(...children);
    },
  };
}
