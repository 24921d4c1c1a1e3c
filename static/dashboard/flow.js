// The flow, drawn in SVG: consumer -> Service -> one card per endpoint, and a dot per call.
// Cards are keyed by the endpoint's key (a pod is one card however many addresses it has) and
// updated in place; dots move once per animation frame. Past MAX_DOTS in flight, calls become
// per-pod pulses instead of dots, so the frame rate holds. Past COMPACT_ABOVE endpoints the
// cards give way to the compact grid (grid.js), which shows every pod as one cell.

import { COMPACT_ABOVE, createGrid } from "./grid.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 900;
const CARD_HEIGHT = 90;
const DOT_MS = 700;
export const MAX_DOTS = 60;

function el(name, attributes = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

function set(node, name, value) {
  const text = String(value);
  if (node.getAttribute(name) !== text) node.setAttribute(name, text);
}

function put(node, content) {
  if (node.textContent !== content) node.textContent = content;
}

function text(parent, x, y, className, content = "") {
  const node = el("text", { x, y, class: className }, parent);
  node.textContent = content;
  return node;
}

// "10.1.0.5 · fd00::5": the addresses per family, IPv4 first; FQDN names marked as names.
export function addressLine(endpoint, t) {
  const addresses = endpoint.addresses || {};
  const ips = [...(addresses.IPv4 || []), ...(addresses.IPv6 || [])];
  const names = (addresses.FQDN || []).map((name) => t.interpolate(t.gettext("%(name)s (FQDN)"), { name }, true));
  return [...ips, ...names].join(" · ");
}

// "app 8081 · grpc 50051 · node-a": the endpoint's ports by name, in name order (each number
// once, whichever slices and families list it), then its node.
export function portsLine(endpoint) {
  const numbers = new Map();
  for (const named of Object.values(endpoint.ports || {})) {
    for (const [name, port] of Object.entries(named)) numbers.set(name, new Set([...(numbers.get(name) || []), port]));
  }
  const ports = [...numbers.keys()].sort().map((name) => `${name ? `${name} ` : ""}${[...numbers.get(name)].join("/")}`);
  return [...ports, endpoint.node].filter(Boolean).join(" · ");
}

export function connectionColour(port) {
  if (port === null || port === undefined) return "hsl(0 0% 35%)";
  return `hsl(${(port * 47) % 360} 70% 38%)`;
}

export function createFlow(svg, t) {
  const links = el("g", { class: "links" }, svg);
  const nodes = el("g", { class: "nodes" }, svg);
  const dotsLayer = el("g", { class: "dots", "aria-hidden": "true" }, svg);
  const mainLink = el("line", { class: "main", x1: 220, x2: 330 }, links);
  const consumer = el("g", { class: "consumer" }, nodes);
  el("rect", { x: 10, y: 0, width: 210, height: 64, rx: 8 }, consumer);
  text(consumer, 22, 24, "title", t.gettext("consumer"));
  const consumerName = text(consumer, 22, 46, "detail");
  const service = el("g", { class: "service" }, nodes);
  el("rect", { x: 330, y: 0, width: 220, height: 78, rx: 30 }, service);
  const serviceName = text(service, 350, 28, "title");
  const serviceDetail = text(service, 350, 50, "detail");
  const serviceError = text(service, 350, 70, "error-label");
  const cards = new Map(); // key -> {group, rect, name, address, ports, state, count, link, y}
  const dots = [];
  // The dots are made once and reused: creating and removing 60 circles a frame during a burst
  // would cost the main thread more than moving them.
  const spare = Array.from({ length: MAX_DOTS }, () => el("circle", { r: 6, visibility: "hidden" }, dotsLayer));
  let pulses = 0;
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)");
  let layout = { height: 200, consumerY: 68, serviceY: 61 };
  let frame = null;
  const picture = svg.closest("section");
  const gridRoot = document.querySelector("#grid");
  const grid = createGrid(gridRoot, t, { colour: connectionColour });
  let compact = false;

  function place(endpoints) {
    const height = Math.max(200, endpoints.length * (CARD_HEIGHT + 12) + 20);
    layout = { height, consumerY: height / 2 - 32, serviceY: height / 2 - 39 };
    set(svg, "viewBox", `0 0 ${WIDTH} ${height}`);
    set(consumer, "transform", `translate(0 ${layout.consumerY})`);
    set(service, "transform", `translate(0 ${layout.serviceY})`);
  }

  function card(endpoint) {
    const group = el("g", { class: "pod", "data-key": endpoint.key }, nodes);
    const rect = el("rect", { x: 590, y: 0, width: 305, height: CARD_HEIGHT - 6, rx: 6 }, group);
    const marker = el("path", { class: "marker" }, group);
    const entry = {
      group, rect, marker,
      name: text(group, 618, 20, "title pod-name"),
      address: text(group, 618, 38, "detail address"),
      ports: text(group, 618, 55, "detail ports"),
      state: text(group, 618, 74, "state"),
      count: text(group, 885, 74, "count"),
      link: el("line", { x1: 550, x2: 590 }, links),
      y: 0,
    };
    entry.count.setAttribute("text-anchor", "end");
    cards.set(endpoint.key, entry);
    return entry;
  }

  // The state is told by shape and words as well as colour: a filled circle and "ready", a
  // hollow circle and "not ready", a struck-through square and "terminating".
  const MARKERS = {
    ready: "M 601 14 a 7 7 0 1 0 0.01 0 z",
    "not-ready": "M 601 14 a 7 7 0 1 0 0.01 0 z M 601 17 a 4 4 0 1 1 -0.01 0 z",
    terminating: "M 595 14 h 13 v 13 h -13 z M 593 29 L 610 12",
  };

  function update(state) {
    const wasCompact = compact;
    compact = state.endpoints.length > COMPACT_ABOVE;
    if (compact !== wasCompact) {
      picture.classList.toggle("compact", compact);
      gridRoot.hidden = !compact;
      if (!compact) grid.clear();
    }
    if (compact) grid.update(state);
    // In the compact view the cards are gone, not hidden: 1000 of them would cost every frame.
    const endpoints = compact ? [] : state.endpoints.slice().sort((a, b) => a.name.localeCompare(b.name) || a.key.localeCompare(b.key));
    place(endpoints);
    put(consumerName, state.pod ? state.pod.name : "");
    if (state.service) {
      const url = new URL(state.service.url);
      put(serviceName, state.service.name);
      put(serviceDetail, `${url.hostname}:${url.port || "80"} · ClusterIP`);
    }
    set(mainLink, "y1", layout.height / 2);
    set(mainLink, "y2", layout.height / 2);
    const present = new Set();
    endpoints.forEach((endpoint, index) => {
      present.add(endpoint.key);
      const entry = cards.get(endpoint.key) || card(endpoint);
      entry.y = 10 + index * (CARD_HEIGHT + 12);
      // Only what changed is written: a burst redraws counters, not the whole picture.
      set(entry.group, "transform", `translate(0 ${entry.y})`);
      set(entry.group, "class", `pod ${endpoint.state}`);
      set(entry.marker, "d", MARKERS[endpoint.state] || MARKERS.ready);
      put(entry.name, endpoint.name);
      put(entry.address, addressLine(endpoint, t));
      put(entry.ports, portsLine(endpoint));
      put(entry.state, t.gettext({ ready: "ready", "not-ready": "not ready", terminating: "terminating" }[endpoint.state]));
      put(entry.count, String(state.counts[endpoint.pod] || 0));
      set(entry.link, "y1", layout.height / 2);
      set(entry.link, "y2", entry.y + (CARD_HEIGHT - 6) / 2);
      set(entry.link, "class", endpoint.state);
    });
    for (const [key, entry] of cards) {
      if (!present.has(key)) {
        entry.group.remove();
        entry.link.remove();
        cards.delete(key);
      }
    }
  }

  function addCall(call) {
    if (compact) {
      grid.addCall(call);
      return;
    }
    const target = call.outcome === "ok" ? [...cards.entries()].find(([, entry]) => entry.name.textContent === call.pod) : null;
    if (call.outcome !== "ok") serviceError.textContent = call.outcome;
    if (reduced.matches || dots.length >= MAX_DOTS) {
      // Past what the eye can follow, a call is a pulse on its pod's card, not a dot. The Web
      // Animations API restarts it without forcing a layout for every call.
      if (target && !reduced.matches && !target[1].pulsing) {
        target[1].pulsing = true;
        target[1].rect.animate([{ fill: "#dfe9fb" }, { fill: "#ffffff" }], { duration: 400 }).onfinish = () => {
          target[1].pulsing = false;
        };
      }
      pulses += 1;
      return;
    }
    const dot = spare.pop();
    dot.setAttribute("fill", connectionColour(call.local_port ?? call.channel));
    dot.setAttribute("class", call.outcome === "ok" ? "dot" : "dot failed");
    dot.setAttribute("cx", 220);
    dot.setAttribute("cy", layout.height / 2);
    dot.setAttribute("visibility", "visible");
    dots.push({ dot, started: performance.now(), target: target ? target[1] : null });
    if (!frame) frame = requestAnimationFrame(step);
  }

  function step(now) {
    frame = null;
    const midY = layout.height / 2;
    for (let index = dots.length - 1; index >= 0; index -= 1) {
      const { dot, started, target } = dots[index];
      const progress = Math.min(1, (now - started) / DOT_MS);
      let x;
      let y;
      if (progress < 0.5 || !target) {
        const half = Math.min(1, progress * 2);
        x = 220 + (target ? 110 : 100) * half;
        y = midY;
      } else {
        const half = (progress - 0.5) * 2;
        x = 550 + 40 * half;
        y = midY + (target.y + (CARD_HEIGHT - 6) / 2 - midY) * half;
      }
      dot.setAttribute("cx", x);
      dot.setAttribute("cy", y);
      if (progress >= 1) {
        dot.setAttribute("visibility", "hidden");
        spare.push(dot);
        dots.splice(index, 1);
      }
    }
    if (dots.length) frame = requestAnimationFrame(step);
  }

  return { update, addCall, inFlight: () => dots.length + grid.inFlight(), pulses: () => pulses, compact: () => compact };
}
