// The page's wiring: websocket messages go through the reducer; rendering happens at most once
// per animation frame; controls send commands (docs/protocol.md).

import { connect } from "./socket.js";
import "./strings.js";
import { freshCalls, initialState, reduce, readyEndpoints } from "./state.js";
import { createFlow } from "./flow.js";
import { createPanels } from "./panels.js";
import { COMPACT_ABOVE } from "./grid.js";
import { createCompare } from "./compare.js";
import { reduceExperiment } from "./comparison.js";
import { createTargetPicker, pageQuery, withTarget } from "./target.js";

const t = { gettext: window.gettext, interpolate: window.interpolate };
const root = document.querySelector("main");
const flow = createFlow(document.querySelector("#flow"), t);
const panels = createPanels(root, t);
const form = document.querySelector("#controls");
const connectionLine = document.querySelector("#connection");
const problem = document.querySelector("#problem");
let state = initialState();
let frame = null;
let replayTimers = [];
let experiment = null; // the comparison shown (comparison.js), apart from the reducer's state
const compare = createCompare(root, t);
const picker = createTargetPicker(document.querySelector("#target-picker"));

function dispatch(message) {
  for (const call of freshCalls(state, message)) flow.addCall(call);
  state = reduce(state, message);
  experiment = reduceExperiment(experiment, message);
  if (message.type === "experiment.started") history.replaceState(null, "", pageQuery({ experiment: message.experiment.id }));
  if (!frame) frame = requestAnimationFrame(render);
}

const STATUS = {
  connecting: "Connecting to the dashboard…",
  open: "Connected",
  reconnecting: "Connection lost: reconnecting…",
  refused: "The dashboard refused this page's Service",
};

function render() {
  frame = null;
  flow.update(state);
  panels.update(state, { replay });
  compare.update(experiment, { replay, replayExperiment });
  picker.update(state);
  connectionLine.textContent = t.gettext(STATUS[state.connection]);
  connectionLine.dataset.status = state.connection;
  document.body.dataset.connection = state.connection;
  const running = state.run && state.run.status === "running";
  form.querySelector("#cancel").disabled = !running;
  for (const button of form.querySelectorAll(".fire")) button.disabled = state.connection !== "open";
  const chaos = document.querySelector("#chaos");
  chaos.hidden = !state.capabilities.chaos;
  if (state.capabilities.chaos) renderPodButtons();
  problem.textContent = state.lastError ? `${state.lastError.message}` : "";
}

// One delete button per ready pod while there are few; beyond the compact view's threshold, one
// field that takes a pod's name instead (1000 buttons rebuilt on every endpoint change would
// cost the page long tasks, and nobody scans them).
let podButtonsFor = null;
function renderPodButtons() {
  if (podButtonsFor === state.endpoints) return;
  podButtonsFor = state.endpoints;
  const list = document.querySelector("#chaos-pods");
  const pods = readyEndpoints(state).map((endpoint) => endpoint.pod).filter(Boolean);
  const many = pods.length > COMPACT_ABOVE;
  if (!many) pods.sort(); // past the threshold none is listed: 1000 names are not sorted per change
  document.querySelector("#chaos-pick").hidden = !many;
  list.hidden = many;
  const shown = many ? [] : pods;
  if (list.dataset.pods === shown.join(",")) return;
  list.dataset.pods = shown.join(",");
  list.replaceChildren(...shown.map((pod) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = t.interpolate(t.gettext("Delete %(pod)s"), { pod }, true);
    button.addEventListener("click", () => deletePod(pod));
    item.appendChild(button);
    return item;
  }));
}

function deletePod(pod) {
  if (window.confirm(t.interpolate(t.gettext("Delete pod %(pod)s? Kubernetes will replace it."), { pod }, true))) {
    socket.send({ type: "pod.delete", name: pod });
  }
}

// A name refused once must not keep the form invalid: the browser would never submit it again.
document.querySelector("#chaos-pod").addEventListener("input", (event) => event.target.setCustomValidity(""));
document.querySelector("#chaos-pick").addEventListener("submit", (event) => {
  event.preventDefault();
  const field = document.querySelector("#chaos-pod");
  const pod = field.value.trim();
  const known = readyEndpoints(state).some((endpoint) => endpoint.pod === pod);
  field.setCustomValidity(known ? "" : t.gettext("No ready pod of the Service has this name"));
  if (!field.reportValidity()) return;
  deletePod(pod);
});

function plan(count) {
  const data = new FormData(form);
  return {
    type: "run.start",
    mode: data.get("mode"),
    count,
    concurrency: Number(data.get("concurrency")),
  };
}

form.addEventListener("submit", (event) => event.preventDefault());
form.querySelector("#fire-one").addEventListener("click", () => socket.send(plan(1)));
form.querySelector("#fire-burst").addEventListener("click", () => {
  socket.send(plan(Number(new FormData(form).get("count"))));
});
form.querySelector("#cancel").addEventListener("click", () => {
  if (state.run) socket.send({ type: "run.cancel", run: state.run.id });
});
form.querySelector("#compare").addEventListener("click", () => {
  const data = new FormData(form);
  socket.send({ type: "experiment.start", count: Number(data.get("count")), concurrency: Number(data.get("concurrency")) });
});
document.querySelector("#scale").addEventListener("click", () => {
  socket.send({ type: "deployment.scale", replicas: Number(document.querySelector("#replicas").value) });
});

async function replay(run) {
  replayTimers.forEach(clearTimeout);
  replayTimers = [];
  const speed = Number(document.querySelector("#speed").value);
  const response = await fetch(`api/runs/${run.id}/calls.json`);
  const { calls } = await response.json();
  dispatch({ type: "replay.start", run });
  const first = calls.length ? calls[0].started_at : 0;
  for (const call of calls) {
    replayTimers.push(setTimeout(() => {
      flow.addCall({ ...call, run: run.id });
      dispatch({ type: "replay.call", call });
    }, ((call.started_at - first) * 1000) / speed));
  }
  const last = calls.length ? ((calls[calls.length - 1].started_at - first) * 1000) / speed : 0;
  return new Promise((resolve) => replayTimers.push(setTimeout(resolve, last + 300)));
}

// An experiment's runs replayed in order, each once the previous one is through; another replay
// started meanwhile clears the timers, and this one stops there.
async function replayExperiment(shown) {
  const started = (replayExperiment.started = (replayExperiment.started || 0) + 1);
  for (const run of shown.runs) {
    if (replayExperiment.started !== started) return;
    await replay(run);
  }
}

// ?experiment=<id> reopens a stored comparison.
const opened = new URLSearchParams(location.search).get("experiment");
if (opened && /^[0-9]{1,19}$/.test(opened)) {
  fetch(`api/experiments/${opened}`).then(async (response) => {
    const body = await response.json();
    if (response.ok) dispatch({ type: "experiment.loaded", experiment: body });
    else dispatch({ type: "error", ...body.error });
  });
}

const socket = connect({ onMessage: dispatch, onStatus: (status) => dispatch({ type: "connection", status }) });
fetch(withTarget("api/runs")).then((response) => response.json()).then(({ runs }) => dispatch({ type: "runs.loaded", runs }));
window.k8sCombat = { state: () => state }; // for the browser tests and for curious users
