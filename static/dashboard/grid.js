// The compact view, for more pods than cards can show: one small cell per pod, grouped by node.
// A cell's colour is its count against the expected share (a diverging scale: blue below, red
// above), its border its state (solid ready, dashed not ready, dotted and struck terminating).
// Cells are keyed DOM nodes written only when their bucket or state changes; the cells form a
// listbox with one tab stop (roving tabindex) and arrow keys; dots fly on one canvas
// (griddots.js).

import { neighbour } from "./gridkeys.js";
import { createGridDots } from "./griddots.js";
import { atMostEvery } from "./pacing.js";
import { bucketColour, expectedPodCount, shareBucket } from "./shares.js";

export const COMPACT_ABOVE = 24; // more endpoints than this: the compact view
const RECOLOUR_MS = 125; // 1000 colours 60 times a second would only cost paint: 8 a second is plenty
const STATE_WORDS = { ready: "ready", "not-ready": "not ready", terminating: "terminating" };

// Puts `elements` in `parent` in this order, moving only those out of place: the nodes already in
// order stay attached, so the browser restyles and repaints what moved, not the whole list.
function arrange(parent, elements) {
  let previous = null;
  for (const element of elements) {
    const expected = previous ? previous.nextSibling : parent.firstChild;
    if (expected !== element) parent.insertBefore(element, expected);
    previous = element;
  }
  while (parent.lastChild && parent.lastChild !== previous) parent.lastChild.remove();
}

export function createGrid(root, t, { colour }) {
  const cellsRoot = root.querySelector("#grid-cells");
  const detail = root.querySelector("#grid-detail");
  const summary = root.querySelector("#grid-summary");
  const search = root.querySelector("#pod-search");
  const found = root.querySelector("#pod-search-result");
  const cells = new Map(); // endpoint key -> {el, key, name, pod, node, state, bucket, dim}
  const groups = new Map(); // node -> {el, list, title}
  let order = []; // cells in display order
  let shownEndpoints = null;
  let shownCounts = null;
  let shownRun = null;
  let active = null; // the cell with the tab stop
  let latest = null; // the state last drawn, for the numbers of a focused cell
  let query = "";
  const byPod = new Map(); // pod -> its cell's entry, with its node and its slot among the node's cells
  const dots = createGridDots(root.querySelector(".grid-area"), root.querySelector("#grid-dots"), {
    colour, lists: () => [...groups].map(([node, entry]) => [node, entry.list]), placeOf: (pod) => byPod.get(pod) || null,
  });
  const fmt = (translated, values) => t.interpolate(translated, values, true);

  function group(node) {
    let entry = groups.get(node);
    if (!entry) {
      const el = document.createElement("div");
      el.setAttribute("role", "group");
      el.className = "node";
      const title = document.createElement("p");
      title.className = "node-name";
      title.setAttribute("aria-hidden", "true");
      const list = document.createElement("div");
      list.className = "cells";
      el.append(title, list);
      entry = { el, list, title };
      groups.set(node, entry);
    }
    return entry;
  }

  function cell(endpoint) {
    const el = document.createElement("div");
    el.setAttribute("role", "option");
    el.setAttribute("tabindex", "-1");
    el.setAttribute("aria-selected", "false");
    el.dataset.key = endpoint.key;
    el.dataset.pod = endpoint.pod || endpoint.name;
    const entry = { el, key: endpoint.key, name: endpoint.name, pod: endpoint.pod || endpoint.name, node: "", state: "", bucket: undefined, dim: false, match: false };
    el.setAttribute("aria-label", entry.name);
    cells.set(endpoint.key, entry);
    return entry;
  }

  // What a person wants to know about one pod: its name, node, state and numbers.
  function describe(entry) {
    const state = latest;
    const count = (state && state.counts[entry.pod]) || 0;
    const n = state ? expectedPodCount(state) : 0;
    const total = state ? Object.values(state.counts).reduce((sum, value) => sum + value, 0) : 0;
    const words = t.gettext(STATE_WORDS[entry.state] || entry.state);
    if (!total || !n) return fmt(t.gettext("%(pod)s on %(node)s, %(state)s: no calls yet"), { pod: entry.name, node: entry.node || "?", state: words });
    const expected = total / n;
    return fmt(t.gettext("%(pod)s on %(node)s, %(state)s: %(count)s calls, %(ratio)s× the expected %(expected)s"), {
      pod: entry.name, node: entry.node || "?", state: words, count,
      ratio: (count / expected).toFixed(2), expected: expected.toFixed(1),
    });
  }

  function show(entry) {
    const said = describe(entry);
    if (entry.el.getAttribute("aria-label") !== said) entry.el.setAttribute("aria-label", said);
    entry.el.title = said;
    if (detail.textContent !== said) detail.textContent = said;
  }

  function activate(entry, { focus = false } = {}) {
    if (active && active !== entry) {
      active.el.setAttribute("tabindex", "-1");
      active.el.setAttribute("aria-selected", "false");
      active.el.setAttribute("aria-label", active.name);
    }
    active = entry;
    if (!entry) return;
    entry.el.setAttribute("tabindex", "0");
    entry.el.setAttribute("aria-selected", "true");
    show(entry);
    if (focus) entry.el.focus();
  }

  function layoutOf(state) {
    // By node, then name, then key, in code-point order (localeCompare over 1000 endpoints costs
    // milliseconds). The state keeps its endpoints sorted by name and key, so grouping them by
    // node keeps that order and only the few node names are sorted, on every endpoint change.
    const text = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
    const byName = (a, b) => text(a.name, b.name) || text(a.key, b.key);
    const listed = state.endpoints;
    const sorted = listed.every((endpoint, at) => at === 0 || byName(listed[at - 1], endpoint) <= 0) ? listed : listed.slice().sort(byName);
    const nodes = new Map();
    for (const endpoint of sorted) {
      const node = endpoint.node || "";
      if (!nodes.has(node)) nodes.set(node, []);
      nodes.get(node).push(endpoint);
    }
    const endpoints = [...nodes.keys()].sort(text).flatMap((node) => nodes.get(node));
    const present = new Set();
    const next = [];
    for (const endpoint of endpoints) {
      present.add(endpoint.key);
      const entry = cells.get(endpoint.key) || cell(endpoint);
      entry.node = endpoint.node || "";
      if (entry.state !== endpoint.state) {
        entry.state = endpoint.state;
        entry.el.className = `cell ${endpoint.state}${entry.dim ? " dim" : ""}${entry.match ? " match" : ""}`;
      }
      next.push(entry);
    }
    for (const [key, entry] of cells) {
      if (present.has(key)) continue;
      entry.el.remove();
      cells.delete(key);
      if (active === entry) active = null;
    }
    // Only a changed order moves nodes: a state change alone writes one class.
    const changed = next.length !== order.length || next.some((entry, index) => entry !== order[index] || entry.el.parentNode !== group(entry.node).list);
    order = next;
    if (changed) {
      dots.relaid();
      const perNode = new Map();
      byPod.clear();
      for (const entry of order) {
        if (!perNode.has(entry.node)) perNode.set(entry.node, []);
        const members = perNode.get(entry.node);
        entry.slot = members.length;
        members.push(entry);
        byPod.set(entry.pod, entry);
      }
      for (const [node, entry] of groups) {
        if (!perNode.has(node)) {
          entry.el.remove();
          groups.delete(node);
        }
      }
      // Moved into place one by one, not replaced wholesale: re-attaching 1000 cells restyles
      // every one of them, while a rollout's window inserts or removes a few.
      const wanted = [];
      for (const [node, members] of perNode) {
        const entry = group(node);
        arrange(entry.list, members.map((member) => member.el));
        const label = fmt(t.gettext("%(node)s: %(count)s pods"), { node: node || t.gettext("no node"), count: members.length });
        if (entry.title.textContent !== label) {
          entry.el.setAttribute("aria-label", label);
          entry.title.textContent = label;
        }
        wanted.push(entry.el);
      }
      arrange(cellsRoot, wanted);
      if (query) applySearch();
    }
    if (!active && order.length) activate(order[0]);
    let ready = 0;
    let terminating = 0;
    for (const entry of order) {
      if (entry.state === "ready") ready += 1;
      else if (entry.state === "terminating") terminating += 1;
    }
    summary.textContent = fmt(t.gettext("%(pods)s pods on %(nodes)s nodes: %(ready)s ready, %(notready)s not ready, %(terminating)s terminating"), {
      pods: order.length, nodes: groups.size, ready, notready: order.length - ready - terminating, terminating,
    });
  }

  function colourCells(state) {
    const n = expectedPodCount(state);
    const total = Object.values(state.counts).reduce((sum, value) => sum + value, 0);
    const expected = total && n ? total / n : 0;
    for (const entry of order) {
      const bucket = shareBucket(state.counts[entry.pod] || 0, expected);
      if (bucket === entry.bucket) continue;
      entry.bucket = bucket;
      entry.el.style.backgroundColor = bucketColour(bucket);
    }
  }

  function applySearch() {
    let matches = 0;
    let first = null;
    for (const entry of order) {
      const match = !query || entry.name.toLowerCase().includes(query);
      if (match && query) {
        matches += 1;
        first = first || entry;
      }
      const hit = match && Boolean(query);
      if (entry.dim !== !match) {
        entry.dim = !match;
        entry.el.classList.toggle("dim", entry.dim);
      }
      if (entry.match !== hit) {
        entry.match = hit;
        entry.el.classList.toggle("match", hit);
      }
    }
    found.textContent = query ? fmt(t.gettext("%(matches)s of %(pods)s pods match"), { matches, pods: order.length }) : "";
    if (first) activate(first);
    return first;
  }

  search.addEventListener("input", () => {
    query = search.value.trim().toLowerCase();
    applySearch();
  });
  search.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const first = applySearch();
    if (first) activate(first, { focus: true });
  });

  function columns() {
    const list = order.length ? order[0].el.parentNode : null;
    if (!list || !order[0].el.offsetWidth) return 1;
    const pitch = order[0].el.offsetWidth + parseFloat(getComputedStyle(list).columnGap || "0");
    return Math.max(1, Math.floor((list.clientWidth + 1) / pitch));
  }

  const entryOf = (target) => (target && target.dataset && target.dataset.key ? cells.get(target.dataset.key) : null);
  cellsRoot.addEventListener("keydown", (event) => {
    const entry = entryOf(event.target);
    if (!entry) return;
    const next = neighbour(order, entry, event.key, columns());
    if (!next) return;
    event.preventDefault();
    activate(next, { focus: true });
  });
  cellsRoot.addEventListener("focusin", (event) => {
    const entry = entryOf(event.target);
    if (entry) activate(entry);
  });
  cellsRoot.addEventListener("mouseover", (event) => {
    const entry = entryOf(event.target);
    if (entry) show(entry);
  });
  cellsRoot.addEventListener("click", (event) => {
    const entry = entryOf(event.target);
    if (entry) activate(entry, { focus: true });
  });

  function update(state) {
    latest = state;
    if (state.endpoints !== shownEndpoints) {
      shownEndpoints = state.endpoints;
      layoutOf(state);
      shownCounts = null; // new cells have no colour yet
    }
    if (state.counts !== shownCounts || state.run !== shownRun) {
      shownCounts = state.counts;
      shownRun = state.run;
      recolour(state);
    }
  }

  const recolour = atMostEvery(RECOLOUR_MS, (state) => {
    colourCells(state);
    if (active) show(active);
  });

  return { update, addCall: dots.addCall, clear: dots.clear, inFlight: dots.inFlight, cellCount: () => order.length };
}
