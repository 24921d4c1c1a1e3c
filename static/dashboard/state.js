// The page's state, changed only by reduce(): a pure function of the previous state and one
// websocket message (docs/protocol.md). Rendering reads it; nothing else writes it.

import { SeenCalls } from "./seencalls.js";

export const LOG_LIMIT = 50;
export const TIMELINE_LIMIT = 200;
export const RECENT_LIMIT = 5000; // calls kept (time and pod only) for the timeline strip

export function initialState() {
  return {
    connection: "connecting", // connecting | open | reconnecting | refused
    pod: null,
    service: null,
    target: null, // the key (name.namespace) of the Service shown
    targets: [], // every Service this dashboard may call: {key, name, namespace, url}
    settings: null, // the Service's settings (docs/protocol.md), from hello and service.changed
    capabilities: { modes: [], chaos: false, max_count: 10000, max_concurrency: 64 },
    endpoints: [],
    calls: [], // newest first, at most LOG_LIMIT
    seen: new SeenCalls(), // every call counted (iterates as "run:seq"), so a resync never counts one twice
    run: null, // the run being drawn: the last started, or the one being replayed
    counts: {}, // pod -> answered calls of `run`
    runs: [], // finished runs, newest first
    timeline: [],
    recent: [], // {at, pod, ok} of the latest calls, oldest first
    lastError: null,
  };
}

function countsOf(calls, runId) {
  const counts = {};
  for (const call of calls) {
    if (call.run === runId && call.outcome === "ok" && call.pod) counts[call.pod] = (counts[call.pod] || 0) + 1;
  }
  return counts;
}

function withCalls(state, calls) {
  const fresh = calls.filter((call) => !state.seen.has(call));
  if (!fresh.length) return state;
  const seen = state.seen.with(fresh);
  const counts = { ...state.counts };
  for (const call of fresh) {
    if (state.run && call.run === state.run.id && call.outcome === "ok" && call.pod) {
      counts[call.pod] = (counts[call.pod] || 0) + 1;
    }
  }
  const newestFirst = fresh.slice().reverse();
  const recent = state.recent.concat(fresh.map((call) => ({ at: call.started_at, pod: call.pod, ok: call.outcome === "ok" })));
  return {
    ...state, seen, counts,
    calls: newestFirst.concat(state.calls).slice(0, LOG_LIMIT),
    recent: recent.length > RECENT_LIMIT ? recent.slice(-RECENT_LIMIT) : recent,
  };
}

function upsertRun(runs, run) {
  return [run].concat(runs.filter((known) => known.id !== run.id)).slice(0, 50);
}

export function reduce(state, message) {
  switch (message.type) {
    case "connection":
      return { ...state, connection: message.status };
    case "hello": {
      // A fresh snapshot replaces everything: no call is kept twice, none is counted twice.
      const calls = message.calls.slice().reverse().slice(0, LOG_LIMIT);
      const running = message.runs.length ? message.runs[message.runs.length - 1] : null;
      const run = running || state.run;
      const seen = SeenCalls.of(message.calls);
      const counts = run ? countsOf(message.calls, run.id) : {};
      return {
        ...state,
        connection: "open",
        pod: message.pod,
        service: message.service,
        target: message.target,
        targets: message.targets || [],
        settings: message.settings || null,
        capabilities: message.capabilities,
        endpoints: message.endpoints,
        calls,
        seen,
        run,
        counts: run && run.statistics && run.statistics.pods && !running ? podCountsOf(run) : counts,
        timeline: message.timeline.slice(-TIMELINE_LIMIT),
      };
    }
    case "endpoints.changed":
      return {
        ...state,
        endpoints: withEndpointChanges(state.endpoints, message),
        timeline: state.timeline.concat(message.events).slice(-TIMELINE_LIMIT),
      };
    case "service.changed":
      return { ...state, settings: message.settings };
    case "calls.batch":
      return withCalls(state, message.calls);
    case "run.started":
      return { ...state, run: message.run, counts: {} };
    case "run.finished": {
      const run = message.run;
      const current = state.run && state.run.id === run.id ? run : state.run;
      const counts = current === run ? podCountsOf(run) : state.counts;
      return { ...state, run: current, counts, runs: upsertRun(state.runs, run) };
    }
    case "replay.start":
      return { ...state, run: message.run, counts: {} };
    case "replay.call": {
      const call = message.call;
      if (call.outcome !== "ok" || !call.pod) return state;
      return { ...state, counts: { ...state.counts, [call.pod]: (state.counts[call.pod] || 0) + 1 } };
    }
    case "runs.loaded":
      return { ...state, runs: message.runs.filter((run) => run.status !== "running") };
    case "error":
      return { ...state, lastError: message };
    default:
      return state;
  }
}

// The server's own counts for a finished run, so the page and the API always agree.
export function podCountsOf(run) {
  const counts = {};
  for (const [pod, value] of Object.entries((run.statistics && run.statistics.pods) || {})) counts[pod] = value.count;
  return counts;
}

export function freshCalls(state, message) {
  return message.type === "calls.batch" ? message.calls.filter((call) => !state.seen.has(call)) : [];
}

// The endpoint list stays sorted by (name, key), as the server sorts it (code point order; the
// names are DNS names and addresses, ASCII). A delta is applied idempotently (docs/protocol.md):
// `added` and `changed` replace or insert by key, `removed` deletes if present, so a message that
// crossed a `hello` does no harm. A small delta costs a binary search and a splice per endpoint;
// a large one (a rollout's window) one merge of the two sorted lists.
const precedes = (endpoint, name, key) => endpoint.name < name || (endpoint.name === name && endpoint.key < key);

function positionOf(endpoints, name, key) {
  let low = 0;
  let high = endpoints.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (precedes(endpoints[middle], name, key)) low = middle + 1;
    else high = middle;
  }
  return low;
}

export function withEndpointChanges(endpoints, { added = [], changed = [], removed = [] }) {
  const upserts = added.concat(changed);
  if (!upserts.length && !removed.length) return endpoints;
  if ((upserts.length + removed.length) * 8 > endpoints.length) return merged(endpoints, upserts, removed);
  const next = endpoints.slice();
  for (const { key, name } of removed) {
    const at = positionOf(next, name, key);
    if (at < next.length && next[at].key === key) next.splice(at, 1);
  }
  for (const endpoint of upserts) {
    const at = positionOf(next, endpoint.name, endpoint.key);
    const same = at < next.length && next[at].key === endpoint.key && next[at].name === endpoint.name;
    next.splice(at, same ? 1 : 0, endpoint);
  }
  return next;
}

function merged(endpoints, upserts, removed) {
  const gone = new Set(removed.map((endpoint) => endpoint.key).concat(upserts.map((endpoint) => endpoint.key)));
  const kept = endpoints.filter((endpoint) => !gone.has(endpoint.key));
  const fresh = [...new Map(upserts.map((endpoint) => [endpoint.key, endpoint])).values()];
  fresh.sort((a, b) => (precedes(a, b.name, b.key) ? -1 : 1));
  const next = [];
  let i = 0;
  let j = 0;
  while (i < kept.length || j < fresh.length) {
    if (j >= fresh.length || (i < kept.length && precedes(kept[i], fresh[j].name, fresh[j].key))) next.push(kept[i++]);
    else next.push(fresh[j++]);
  }
  return next;
}

export function readyEndpoints(state) {
  return state.endpoints.filter((endpoint) => endpoint.ready && !endpoint.terminating);
}
