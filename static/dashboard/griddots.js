// The compact view's dots: one per call, flying from the top of the grid to the cell of the pod
// that answered, drawn on one canvas, a few launched per frame at most, so a burst of calls over
// 1000 pods costs the main thread little.

const MAX_DOTS = 40; // dots in flight
const DOTS_PER_FRAME = 4; // new dots launched per frame; the calls past that are not drawn
const DOT_MS = 650;

// `lists()`: [node, element] of each node's list of cells; `placeOf(pod)`: {node, slot} of the
// pod's cell (its index among its node's cells), or null.
export function createGridDots(area, canvas, { colour, lists, placeOf }) {
  const queue = []; // calls waiting for a dot
  const dots = [];
  let frame = null;
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)");
  // Where a cell's centre is follows from its slot (the cells are fixed-size flex items that
  // wrap) and its node's list, read from the layout once after the cells or the size change,
  // never per dot, in a task of its own right after a frame is drawn, when the layout is clean:
  // reading 1000 cells after the render's writes forced a layout of every cell, tens of ms a
  // frame during a rollout. Until then dots use the last geometry.
  let geometry = null; // node -> {left, top, columns, pitchX, pitchY, width, height}
  let stale = true;
  let measuring = false;
  let size = { width: 0, height: 0 };
  new ResizeObserver(([entry]) => {
    const [box] = entry.borderBoxSize; // the canvas covers the padding too
    size = { width: Math.round(box.inlineSize), height: Math.round(box.blockSize) };
    stale = true;
  }).observe(area);

  function measure() {
    measuring = false;
    stale = false;
    geometry = new Map();
    for (const [node, list] of lists()) {
      const first = list.firstElementChild;
      if (!first || !first.offsetParent) continue;
      const style = getComputedStyle(list);
      const gapX = parseFloat(style.columnGap) || 0;
      const gapY = parseFloat(style.rowGap) || 0;
      const width = first.offsetWidth;
      const height = first.offsetHeight;
      geometry.set(node, {
        left: list.offsetLeft, top: list.offsetTop, width, height, pitchX: width + gapX, pitchY: height + gapY,
        columns: Math.max(1, Math.floor((list.clientWidth + gapX) / (width + gapX))),
      });
    }
  }

  function centreOf(pod) {
    const entry = placeOf(pod);
    const place = entry && geometry.get(entry.node);
    if (!place) return null;
    return {
      x: place.left + (entry.slot % place.columns) * place.pitchX + place.width / 2,
      y: place.top + Math.floor(entry.slot / place.columns) * place.pitchY + place.height / 2,
    };
  }

  function addCall(call) {
    if (reduced.matches) return;
    if (queue.length < DOTS_PER_FRAME * 2) queue.push(call);
    if (!frame) frame = requestAnimationFrame(step);
  }

  function launch(now) {
    if (!queue.length) return;
    if (!geometry) measure(); // the first dots: once, before any is drawn
    else if (stale && !measuring) {
      measuring = true;
      setTimeout(measure, 0); // after this frame is drawn
    }
    for (let launched = 0; launched < DOTS_PER_FRAME && queue.length && dots.length < MAX_DOTS; launched += 1) {
      const call = queue.shift();
      const to = call.outcome === "ok" ? centreOf(call.pod) : null;
      dots.push({ started: now, to, fill: call.outcome === "ok" ? colour(call.local_port ?? call.channel) : "#a1262b" });
    }
    queue.length = 0; // what could not fly this frame is not drawn: the cells' colours count it
  }

  function step(now) {
    frame = null;
    launch(now);
    const { width, height } = size;
    if (canvas.width !== width) canvas.width = width;
    if (canvas.height !== height) canvas.height = height;
    const context = canvas.getContext("2d");
    context.clearRect(0, 0, width, height);
    const from = { x: width / 2, y: 0 };
    for (let index = dots.length - 1; index >= 0; index -= 1) {
      const dot = dots[index];
      const progress = Math.min(1, (now - dot.started) / DOT_MS);
      const to = dot.to || { x: from.x, y: 18 };
      context.beginPath();
      context.fillStyle = dot.fill;
      context.arc(from.x + (to.x - from.x) * progress, from.y + (to.y - from.y) * progress, 4, 0, 2 * Math.PI);
      context.fill();
      if (progress >= 1) dots.splice(index, 1);
    }
    if (dots.length || queue.length) frame = requestAnimationFrame(step);
  }

  function clear() {
    queue.length = 0;
    dots.length = 0;
    if (canvas.width) canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  }

  // The cells moved: where they are is read again after the next frame.
  function relaid() {
    stale = true;
  }

  return { addCall, clear, relaid, inFlight: () => dots.length };
}
