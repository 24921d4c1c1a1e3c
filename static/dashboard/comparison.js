// "Compare the modes", pure: which experiment the page shows (a reducer over the websocket's
// messages, docs/protocol.md), and the one sentence that states its lesson from the numbers
// measured (every figure in it comes from the runs' statistics; `t` translates).

// The experiment to show after `message`: a new one as soon as it starts, the shown one as it
// progresses, one in progress on connect, or the one opened by its address.
export function reduceExperiment(shown, message) {
  switch (message.type) {
    case "experiment.started":
    case "experiment.loaded":
      return message.experiment;
    case "experiment.progress":
    case "experiment.finished":
      return !shown || shown.id === message.experiment.id || shown.status !== "running" ? message.experiment : shown;
    case "hello": {
      const running = message.experiments || [];
      if (!running.length) return shown;
      const latest = running[running.length - 1];
      return !shown || shown.id === latest.id ? latest : shown;
    }
    default:
      return shown;
  }
}

// A finished run's figures, or null while it runs or when it has no answers.
function measured(experiment, mode) {
  const run = (experiment.runs || []).find((candidate) => candidate.mode === mode);
  const s = run && run.status !== "running" ? run.statistics : null;
  return s && s.ok ? s : null;
}

// One clause per mode measured, then what they show together when the numbers show it.
export function lesson(experiment, t) {
  if (!experiment) return "";
  const fmt = (text, values) => t.interpolate(text, values, true);
  const expected = (experiment.expected_pods || []).length;
  const clauses = [];
  const fresh = measured(experiment, "new-connection");
  if (fresh) {
    clauses.push(fmt(t.gettext("new connections spread over %(pods)s of %(expected)s pods"), { pods: fresh.pods_reached, expected }));
  }
  const kept = measured(experiment, "keep-alive");
  if (kept) {
    clauses.push(kept.connections === 1 && kept.pods_reached === 1
      ? fmt(t.gettext("one kept connection stayed on 1 pod for %(calls)s calls"), { calls: kept.ok })
      : fmt(t.gettext("kept connections (%(connections)s of them) reached %(pods)s pods in %(calls)s calls"), { connections: kept.connections, pods: kept.pods_reached, calls: kept.ok }));
  }
  const pool = measured(experiment, "pool");
  if (pool) {
    clauses.push(fmt(t.gettext("a pool of %(connections)s connections reached %(pods)s of %(expected)s pods"), { connections: pool.connections, pods: pool.pods_reached, expected }));
  }
  const channel = measured(experiment, "grpc");
  if (channel) {
    clauses.push(channel.pods_reached === 1
      ? fmt(t.gettext("a gRPC channel stayed on 1 pod for %(calls)s calls"), { calls: channel.ok })
      : fmt(t.gettext("a gRPC channel reached %(pods)s pods in %(calls)s calls"), { pods: channel.pods_reached, calls: channel.ok }));
  }
  const perCall = measured(experiment, "grpc-per-call");
  if (perCall) {
    clauses.push(fmt(t.gettext("a gRPC channel per call spread over %(pods)s of %(expected)s pods"), { pods: perCall.pods_reached, expected }));
  }
  if (!clauses.length) return "";
  const said = clauses.join(t.gettext("; "));
  const spread = [fresh, perCall].filter(Boolean);
  const stuck = [kept, channel].filter(Boolean);
  if (expected > 1 && spread.length && stuck.length
    && spread.every((s) => s.pods_reached > 1) && stuck.every((s) => s.connections === 1 && s.pods_reached === 1)) {
    return fmt(t.gettext("%(said)s: a Service picks a pod per connection, not per request."), { said });
  }
  if (expected === 1) return fmt(t.gettext("%(said)s: with one pod, every mode lands on it."), { said });
  return `${said}.`;
}

// A p-value as the verdicts print it.
export function formatP(p) {
  if (p === null || p === undefined) return "—";
  return p < 0.0001 ? p.toExponential(1) : p.toFixed(p < 0.01 ? 4 : 2);
}
