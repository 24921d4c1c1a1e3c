// A run's verdict in plain words, from the engine's statistics (pure; `t` translates).

// Cochran's rule: the chi-square test wants at least about 5 expected calls per pod.
export const MIN_EXPECTED_PER_POD = 5;

// "busiest pod 1.42× the mean": what an operator reads first, after the sentence.
export function busiest(statistics, t) {
  const ratio = statistics && statistics.busiest_ratio;
  if (ratio === null || ratio === undefined) return "";
  return t.interpolate(t.gettext("busiest pod %(ratio)s× the mean"), { ratio: ratio.toFixed(2) }, true);
}

// A run whose dashboard process is gone (heartbeats.py) says so first, then what its stored
// calls show.
export function verdict(run, t) {
  const said = judged(run, t);
  if (!run || run.status !== "interrupted") return said;
  const calls = (run.statistics && run.statistics.calls) || 0;
  const head = t.interpolate(t.gettext("Interrupted after %(calls)s of %(count)s calls: %(reason)s"), { calls, count: run.count, reason: run.reason }, true);
  return calls ? `${head}; ${said}` : head;
}

function judged(run, t) {
  const s = run && run.statistics;
  if (!s || s.calls === undefined) return "";
  const fmt = (translated, values) => t.interpolate(translated, values, true);
  if (!s.ok) return fmt(t.gettext("%(calls)s calls, none answered: %(errors)s"), { calls: s.calls, errors: Object.keys(s.errors).join(", ") });
  if (s.calls === 1) return fmt(t.gettext("1 call, answered by %(pod)s"), { pod: Object.keys(s.pods)[0] });
  const p = s.p_value < 0.0001 ? s.p_value.toExponential(1) : s.p_value.toFixed(s.p_value < 0.01 ? 4 : 2);
  if (run.mode === "grpc" && s.ok > 1 && s.connections === 1 && s.pods_reached === 1) {
    return fmt(t.gettext("%(calls)s gRPC calls, 1 pod: one gRPC channel = one HTTP/2 connection = one pod; balancing gRPC per request needs a client-side balancer or a mesh"), { calls: s.ok });
  }
  if (s.ok > 1 && s.connections === 1 && s.pods_reached === 1) {
    return fmt(t.gettext("%(calls)s calls, 1 connection, 1 pod: a Service balances connections, not requests"), { calls: s.ok });
  }
  if (run.mode === "pool" && s.connections > 0 && s.max_pods_per_connection === 1) {
    return fmt(t.gettext("%(calls)s calls over %(connections)s connections reached %(pods)s pods: each connection stays on its pod"), { calls: s.ok, connections: s.connections, pods: s.pods_reached });
  }
  const changed = changedSaid(s, t);
  const setting = settingSaid(s, t);
  if (setting !== null) return [changed, setting].filter(Boolean).join("; ");
  if (s.expected_pods.length < 2) return [changed, fmt(t.gettext("%(calls)s calls, %(pods)s pod(s) reached"), { calls: s.ok, pods: s.pods_reached })].filter(Boolean).join("; ");
  const expected = s.expected_pods.length;
  const needed = s.calls_needed ?? MIN_EXPECTED_PER_POD * expected; // runs stored before it existed
  if (s.ok < needed) {
    return fmt(t.gettext("%(calls)s calls reached %(pods)s of %(expected)s pods: too few to judge the spread (the chi-square test wants about 5 calls per pod); %(needed)s calls would be enough"), { calls: s.ok, pods: s.pods_reached, expected, needed });
  }
  // Counts far more even than chance and no repeats: the choice rotates (statistics.rotation),
  // which a chi-square against uniform would only call "consistent".
  const rotating = s.rotation && s.rotation.choice === "round-robin";
  const said = rotating
    ? fmt(t.gettext("%(calls)s calls reached %(pods)s of %(expected)s pods in turn: round-robin (IPVS mode), far more even than random choice"), { calls: s.ok, pods: s.pods_reached, expected })
    : s.p_value > 0.001
    ? fmt(t.gettext("%(calls)s calls reached %(pods)s of %(expected)s pods: spread consistent with random choice, p = %(p)s"), { calls: s.ok, pods: s.pods_reached, expected, p })
    : fmt(t.gettext("%(calls)s calls reached %(pods)s of %(expected)s pods: not spread at random per call, p = %(p)s"), { calls: s.ok, pods: s.pods_reached, expected, p });
  const ratio = busiest(s, t);
  const narrowed = narrowedSaid(s, t);
  return [changed, narrowed, said, ratio].filter(Boolean).join("; ");
}

// Which pods is a run's own: the expected ones (statistics.expectation.pods = expected_pods).
const offExpected = (s) => Object.keys(s.pods).filter((pod) => !s.expected_pods.includes(pod));

// A setting changed while the run went on: its calls answer two expectations, say so first.
function changedSaid(s, t) {
  if (!s.settings_changed || !s.settings_changed.length) return "";
  const names = { session_affinity: "sessionAffinity", affinity_timeout_seconds: "sessionAffinityConfig", internal_traffic_policy: "internalTrafficPolicy", traffic_distribution: "trafficDistribution" };
  return t.interpolate(t.gettext("a Service setting changed during this run (%(names)s): it is judged against the settings at its start"),
    { names: s.settings_changed.map((name) => names[name] || name).join(", ") }, true);
}

// The whole verdict when a setting decides it (ClientIP pinning; no endpoint where the policy
// sends the calls); null when the spread test over the expected pods should speak.
function settingSaid(s, t) {
  const e = s.expectation;
  if (!e) return null;
  const fmt = (translated, values) => t.interpolate(translated, values, true);
  if (s.pinned) {
    return s.pods_reached === 1
      ? fmt(t.gettext("all %(calls)s calls on one pod: sessionAffinity ClientIP pins each client to a pod"), { calls: s.ok })
      : fmt(t.gettext("%(calls)s calls reached %(pods)s pods although sessionAffinity ClientIP pins each client to one pod (its timeout ran out, or the pod left)"), { calls: s.ok, pods: s.pods_reached });
  }
  if (e.rule === "local" && !s.expected_pods.length) {
    return fmt(t.gettext("internalTrafficPolicy Local and no ready endpoint on this dashboard's node (%(node)s): kube-proxy drops the calls"), { node: e.node || "?" });
  }
  return null;
}

// Local or PreferClose narrowed the expected pods: did the calls stay inside them?
function narrowedSaid(s, t) {
  const e = s.expectation;
  if (!e || (e.rule !== "local" && e.rule !== "prefer-close")) return "";
  const fmt = (translated, values) => t.interpolate(translated, values, true);
  const outside = offExpected(s).length;
  if (e.rule === "local") {
    return outside
      ? fmt(t.gettext("%(outside)s pod(s) off this node answered although internalTrafficPolicy Local keeps calls on it"), { outside })
      : fmt(t.gettext("%(calls)s calls stayed on the %(pods)s pods of this node (%(node)s): internalTrafficPolicy Local"), { calls: s.ok, pods: s.expected_pods.length, node: e.node });
  }
  return outside
    ? fmt(t.gettext("%(outside)s pod(s) outside zone %(zone)s answered although trafficDistribution PreferClose keeps calls in it"), { outside, zone: e.zone })
    : fmt(t.gettext("%(calls)s calls stayed on the %(pods)s pods of zone %(zone)s: trafficDistribution PreferClose"), { calls: s.ok, pods: s.expected_pods.length, zone: e.zone });
}

// Random choice or round-robin, with the statistic and its threshold (statistics.rotation).
export function rotationSaid(s, t) {
  const r = s && s.rotation;
  if (!r) return "";
  const fmt = (translated, values) => t.interpolate(translated, values, true);
  const p = r.repeats_p < 0.0001 ? r.repeats_p.toExponential(1) : r.repeats_p.toFixed(4);
  const values = { repeats: r.repeats, expected: r.repeats_expected, p, alpha: r.alpha, needed: r.calls_to_tell, lower: r.chi_square_lower_p.toExponential(1) };
  if (r.choice === "round-robin") {
    return fmt(t.gettext("calls rotated through the pods in turn: round-robin (IPVS), not the random choice of iptables mode; repeats (same pod twice in a row) %(repeats)s against %(expected)s expected under random choice, P = %(p)s < %(alpha)s; counts more even than chance, P(X² ≤ x) = %(lower)s"), values);
  }
  if (r.choice === "random") {
    return fmt(t.gettext("pods chosen at random per connection (iptables or nftables mode), not in turn: repeats (same pod twice in a row) %(repeats)s against %(expected)s expected, P = %(p)s ≥ %(alpha)s; a rotation would have shown no repeats"), values);
  }
  return fmt(t.gettext("too few calls to tell random choice from round-robin: %(needed)s calls in turn would be rarer than %(alpha)s by chance"), values);
}
