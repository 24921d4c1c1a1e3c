// The flow, drawn in SVG: consumer -> Service -> one card per endpoint, and a dot per call.
// Cards are keyed by the endpoint's key (a pod is one card however many addresses it has) and
// updated in place; dots move once per animation frame. Past MAX_DOTS in flight, calls become
// per-pod pulses instead of dots, so the frame rate holds. Past COMPACT_ABOVE endpoints the
// cards give way to the compact grid (grid.js), which shows every pod as one cell.
// The drawing is laid out in pixels at its width (flowlayout.js): a card is as wide as the
// pods' names need. A name that still does not fit is cut in the middle, and its card, which
// is named by the full name, shows it whole on hover and on focus; the cards are one tab stop
// (roving tabindex), arrow keys move between them.

import { COMPACT_ABOVE, createGrid } from "./grid.js";
import { columns } from "./flowlayout.js";
import { CARD_HEIGHT, createCard, el, fitName, MARKERS, nameCard, put, roveCards, set, text, widthOf } from "./flowcards.js";

const PITCH = CARD_HEIGHT + 12;
const HEAD_CARDS = 6; // the consumer and the Service stay level with the first cards: on screen
const DOT_MS = 700;
export const MAX_DOTS = 60;

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
  // The cards can be focused, so the drawing is a group of them, not one image.
  svg.setAttribute("role", "group");
  const links = el("g", { class: "links" }, svg);
  const nodes = el("g", { class: "nodes" }, svg);
  const dotsLayer = el("g", { class: "dots", "aria-hidden": "true" }, svg);
  const mainLink = el("line", { class: "main" }, links);
  const consumer = el("g", { class: "consumer" }, nodes);
  const consumerBox = el("rect", { x: 0, y: 0, height: 64, rx: 8 }, consumer);
  const consumerTitle = text(consumer, 0, 24, "title", t.gettext("consumer"));
  const consumerName = text(consumer, 0, 46, "detail");
  const service = el("g", { class: "service" }, nodes);
  const serviceBox = el("rect", { x: 0, y: 0, height: 78, rx: 30 }, service);
  const serviceName = text(service, 0, 28, "title");
  const serviceDetail = text(service, 0, 50, "detail");
  const serviceError = text(service, 0, 70, "error-label");
  const cards = new Map(); // key -> a card (flowcards.js)
  let order = []; // the cards' keys, top to bottom
  const dots = [];
  // The dots are made once and reused: creating and removing 60 circles a frame during a burst
  // would cost the main thread more than moving them.
  const spare = Array.from({ length: MAX_DOTS }, () => el("circle", { r: 6, visibility: "hidden" }, dotsLayer));
  let pulses = 0;
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)");
  let layout = { height: 200, midY: 100, consumerY: 68, serviceY: 61 };
  let across = columns(900, { consumer: 0, service: 0, card: 0 });
  let measured = null; // what `across` was measured for: the width and every text in it
  let width = svg.getBoundingClientRect().width;
  let latest = null;
  let frame = null;
  const picture = svg.closest("section");
  const gridRoot = document.querySelector("#grid");
  const grid = createGrid(gridRoot, t, { colour: connectionColour });
  let compact = false;
  const rove = roveCards(picture, cards, () => order);

  function place(endpoints) {
    const height = Math.max(200, endpoints.length * PITCH + 20);
    // With 20 pods the middle is a thousand pixels down: the consumer and the Service stay
    // level with the first cards instead, so the picture's start is on the first screen.
    const midY = Math.min(height / 2, 10 + (HEAD_CARDS * PITCH - 12) / 2);
    layout = { height, midY, consumerY: midY - 32, serviceY: midY - 39 };
    set(svg, "viewBox", `0 0 ${across.width} ${height}`);
    set(consumer, "transform", `translate(${across.consumer.x} ${layout.consumerY})`);
    set(service, "transform", `translate(${across.service.x} ${layout.serviceY})`);
    set(consumerBox, "width", across.consumer.width);
    set(serviceBox, "width", across.service.width);
    for (const node of [consumerTitle, consumerName]) set(node, "x", 12);
    for (const node of [serviceName, serviceDetail, serviceError]) set(node, "x", 20);
    set(mainLink, "x1", across.consumer.x + across.consumer.width);
    set(mainLink, "x2", across.service.x);
    set(mainLink, "y1", midY);
    set(mainLink, "y2", midY);
  }

  // Measures the texts (only when one of them or the width changed: a burst redraws counters,
  // not the layout), then fits the names in the cards, shortening those that must be.
  function measure(entries) {
    const key = [Math.round(width), consumerName.textContent, serviceName.textContent, serviceDetail.textContent, ...entries.map((entry) => entry.full)].join("\n");
    if (key === measured) return;
    measured = key;
    for (const entry of entries) put(entry.name, entry.full);
    across = columns(width, {
      consumer: Math.max(widthOf(consumerTitle), widthOf(consumerName)),
      service: Math.max(widthOf(serviceName), widthOf(serviceDetail)),
      card: Math.max(0, ...entries.map((entry) => widthOf(entry.name))),
    });
    for (const entry of entries) fitName(entry, across);
  }

  function update(state) {
    latest = state;
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
    put(consumerName, state.pod ? state.pod.name : "");
    if (state.service) {
      const url = new URL(state.service.url);
      put(serviceName, state.service.name);
      // A Service of another namespace is called by its full DNS name: that name is the lesson,
      // so it is shown whole, and the type (in the settings panel too) gives it the room.
      const fqdn = url.hostname.endsWith(".svc.cluster.local");
      put(serviceDetail, `${url.hostname}:${url.port || "80"}${fqdn ? "" : " · ClusterIP"}`);
    }
    const entries = endpoints.map((endpoint) => {
      if (!cards.has(endpoint.key)) cards.set(endpoint.key, createCard(nodes, links, endpoint));
      const entry = cards.get(endpoint.key);
      nameCard(entry, endpoint.name);
      return entry;
    });
    for (const [key, entry] of cards) {
      if (!entries.includes(entry)) {
        entry.group.remove();
        entry.link.remove();
        cards.delete(key);
      }
    }
    measure(entries);
    place(endpoints);
    const cardX = across.card.x;
    order = endpoints.map((endpoint) => endpoint.key);
    rove();
    endpoints.forEach((endpoint, index) => {
      const entry = entries[index];
      entry.y = 10 + index * PITCH;
      // Only what changed is written: a burst redraws counters, not the whole picture.
      set(entry.group, "transform", `translate(${cardX} ${entry.y})`);
      set(entry.group, "class", `pod ${endpoint.state}`);
      set(entry.rect, "width", across.card.width);
      set(entry.ring, "width", across.card.width + 10);
      set(entry.count, "x", across.card.width - 10);
      set(entry.marker, "d", MARKERS[endpoint.state] || MARKERS.ready);
      put(entry.address, addressLine(endpoint, t));
      put(entry.ports, portsLine(endpoint));
      put(entry.state, t.gettext({ ready: "ready", "not-ready": "not ready", terminating: "terminating" }[endpoint.state]));
      put(entry.count, String(state.counts[endpoint.pod] || 0));
      set(entry.link, "x1", across.service.x + across.service.width);
      set(entry.link, "x2", cardX);
      set(entry.link, "y1", layout.midY);
      set(entry.link, "y2", entry.y + (CARD_HEIGHT - 6) / 2);
      set(entry.link, "class", endpoint.state);
    });
  }

  // The layout follows the drawing's width (a resized window, a scrollbar come and gone).
  new ResizeObserver(([entry]) => {
    if (Math.abs(entry.contentRect.width - width) < 1) return;
    width = entry.contentRect.width;
    if (latest) update(latest);
  }).observe(svg);
  if (document.fonts) {
    document.fonts.ready.then(() => {
      measured = null;
      if (latest) update(latest);
    });
  }

  function addCall(call) {
    if (compact) {
      grid.addCall(call);
      return;
    }
    const target = call.outcome === "ok" ? [...cards.values()].find((entry) => entry.full === call.pod) : null;
    if (call.outcome !== "ok") serviceError.textContent = call.outcome;
    if (reduced.matches || dots.length >= MAX_DOTS) {
      // Past what the eye can follow, a call is a pulse on its pod's card, not a dot. The Web
      // Animations API restarts it without forcing a layout for every call.
      if (target && !reduced.matches && !target.pulsing) {
        target.pulsing = true;
        target.rect.animate([{ fill: "#dfe9fb" }, { fill: "#ffffff" }], { duration: 400 }).onfinish = () => {
          target.pulsing = false;
        };
      }
      pulses += 1;
      return;
    }
    const dot = spare.pop();
    dot.setAttribute("fill", connectionColour(call.local_port ?? call.channel));
    dot.setAttribute("class", call.outcome === "ok" ? "dot" : "dot failed");
    dot.setAttribute("cx", across.consumer.x + across.consumer.width);
    dot.setAttribute("cy", layout.midY);
    dot.setAttribute("visibility", "visible");
    dots.push({ dot, started: performance.now(), target: target || null });
    if (!frame) frame = requestAnimationFrame(step);
  }

  function step(now) {
    frame = null;
    const midY = layout.midY;
    const from = across.consumer.x + across.consumer.width;
    const serviceLeft = across.service.x;
    const serviceRight = across.service.x + across.service.width;
    for (let index = dots.length - 1; index >= 0; index -= 1) {
      const { dot, started, target } = dots[index];
      const progress = Math.min(1, (now - started) / DOT_MS);
      let x;
      let y;
      if (progress < 0.5 || !target) {
        // A failed call stops short of the Service.
        const half = Math.min(1, progress * 2);
        x = from + ((target ? serviceLeft : serviceLeft - 10) - from) * half;
        y = midY;
      } else {
        const half = (progress - 0.5) * 2;
        x = serviceRight + (across.card.x - serviceRight) * half;
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
