// The flow's pod cards (flow.js draws the rest): one SVG group per endpoint, in its own
// coordinates, placed by flow.js. A card is named by the pod's full name (aria-label and a
// <title>); a name too long for its card is cut in the middle (flowlayout.js) and then shown
// whole on hover and on focus, in a tip over the name. The cards are one tab stop (roving
// tabindex): arrow keys, Home and End move between them.

import { NAME_X, shorten } from "./flowlayout.js";

export const SVG = "http://www.w3.org/2000/svg";
export const CARD_HEIGHT = 90;

export function el(name, attributes = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

export function set(node, name, value) {
  const text = String(value);
  if (node.getAttribute(name) !== text) node.setAttribute(name, text);
}

export function put(node, content) {
  if (node.textContent !== content) node.textContent = content;
}

export function text(parent, x, y, className, content = "") {
  const node = el("text", { x, y, class: className }, parent);
  node.textContent = content;
  return node;
}

export const widthOf = (node) => (node.textContent ? node.getComputedTextLength() : 0);

// The state is told by shape and words as well as colour: a filled circle and "ready", a
// hollow circle and "not ready", a struck-through square and "terminating".
export const MARKERS = {
  ready: "M 11 14 a 7 7 0 1 0 0.01 0 z",
  "not-ready": "M 11 14 a 7 7 0 1 0 0.01 0 z M 11 17 a 4 4 0 1 1 -0.01 0 z",
  terminating: "M 5 14 h 13 v 13 h -13 z M 3 29 L 20 12",
};

let serial = 0;

// A card for `endpoint` in `nodes`, and its link in `links`; its texts are written by flow.js.
export function createCard(nodes, links, endpoint) {
  serial += 1;
  const id = `flow-pod-${serial}`;
  const group = el("g", { class: "pod", "data-key": endpoint.key, role: "group", tabindex: "-1" }, nodes);
  group.setAttribute("aria-describedby", `${id}-address ${id}-ports ${id}-state`);
  const entry = {
    group,
    title: el("title", {}, group),
    ring: el("rect", { class: "focus-ring", x: -5, y: -5, height: CARD_HEIGHT + 4, rx: 9 }, group),
    rect: el("rect", { class: "card", x: 0, y: 0, height: CARD_HEIGHT - 6, rx: 6 }, group),
    marker: el("path", { class: "marker" }, group),
    name: text(group, NAME_X, 20, "title pod-name"),
    address: text(group, NAME_X, 38, "detail address"),
    ports: text(group, NAME_X, 55, "detail ports"),
    state: text(group, NAME_X, 74, "state"),
    count: text(group, 0, 74, "count"),
    link: el("line", {}, links),
    full: "",
    y: 0,
  };
  const tip = el("g", { class: "name-tip", "aria-hidden": "true" }, group);
  entry.tipBox = el("rect", { y: 4, height: 22, rx: 4 }, tip);
  entry.tipText = text(tip, NAME_X, 20, "tip-text");
  entry.address.id = `${id}-address`;
  entry.ports.id = `${id}-ports`;
  entry.state.id = `${id}-state`;
  entry.count.setAttribute("text-anchor", "end");
  return entry;
}

// The card's name is the pod's `full` name (its accessible name and its title, always).
export function nameCard(entry, full) {
  if (entry.full === full) return;
  entry.full = full;
  entry.group.dataset.pod = full;
  entry.group.setAttribute("aria-label", full);
  put(entry.title, full);
}

// Writes the name as it fits the card `across` (flowlayout.js's columns) lays out: whole, or
// cut, with the tip that shows it whole.
export function fitName(entry, across) {
  const shown = shorten(entry.full, across.nameRoom, (candidate) => {
    entry.name.textContent = candidate;
    return entry.name.getComputedTextLength();
  });
  put(entry.name, shown);
  const shortened = shown !== entry.full;
  set(entry.group, "data-shortened", shortened);
  put(entry.tipText, shortened ? entry.full : "");
  if (!shortened) return;
  // The tip covers the name and grows leftwards, over the links, as far as the name needs.
  const tipWidth = widthOf(entry.tipText) + 16;
  const x = Math.max(-across.card.x + 2, Math.min(NAME_X - 8, across.card.width - 6 - tipWidth));
  set(entry.tipBox, "x", x);
  set(entry.tipBox, "width", tipWidth);
  set(entry.tipText, "x", x + 8);
}

// One tab stop over the cards: `cards` (key -> entry) and `order()` (their keys, top to bottom).
// The events are listened for on `root`, an HTML element: an SVG element that listens for focus
// becomes a tab stop itself. Returns `active()`, the key of the card with the tab stop.
export function roveCards(root, cards, order) {
  let active = null;
  const keyOf = (target) => (target && target.dataset && cards.has(target.dataset.key) ? target.dataset.key : null);
  function activate(key, { focus = false } = {}) {
    active = key;
    for (const [other, entry] of cards) set(entry.group, "tabindex", other === key ? 0 : -1);
    if (focus && cards.has(key)) cards.get(key).group.focus();
  }
  root.addEventListener("keydown", (event) => {
    const key = keyOf(event.target);
    if (!key) return;
    const keys = order();
    const index = keys.indexOf(key);
    const to = { ArrowDown: index + 1, ArrowRight: index + 1, ArrowUp: index - 1, ArrowLeft: index - 1, Home: 0, End: keys.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    activate(keys[Math.max(0, Math.min(keys.length - 1, to))], { focus: true });
  });
  root.addEventListener("focusin", (event) => {
    const key = keyOf(event.target);
    if (key && key !== active) activate(key);
  });
  // After an update: the tab stop stays on its card while it is drawn, else goes to the first.
  return () => {
    const keys = order();
    activate(cards.has(active) ? active : (keys[0] ?? null));
    return active;
  };
}
