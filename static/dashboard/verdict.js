// A run's verdict in plain words, from the engine's statistics (pure; `t` translates).

// Cochran's rule: the chi-square test wants at least about 5 expected calls per pod.
export const MIN_EXPECTED_PER_POD = 5;

// "busiest pod 1.42× the mean": what an operator reads first, after the sentence.
export function busiest(statistics, t) {
  const ratio = statistics && statistics.busiest_ratio;
  if (ratio === null || ratio === undefined) return "";
  return t.interpolate(t.gettext("busiest pod %(ratio)s× the mean"), { ratio: ratio.toFixed(2) }, true);
}

export function verdict(run, t) {
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
  if (s.expected_pods.length < 2) return fmt(t.gettext("%(calls)s calls, %(pods)s pod(s) reached"), { calls: s.ok, pods: s.pods_reached });
  const expected = s.expected_pods.length;
  const needed = s.calls_needed ?? MIN_EXPECTED_PER_POD * expected; // runs stored before it existed
  if (s.ok < needed) {
    return fmt(t.gettext("%(calls)s calls reached %(pods)s of %(expected)s pods: too few to judge the spread (the chi-square test wants about 5 calls per pod); %(needed)s calls would be enough"), { calls: s.ok, pods: s.pods_reached, expected, needed });
  }
  const said = s.p_value > 0.001
    ? fmt(t.gettext("%(calls)s calls reached %(pods)s of %(expected)s pods: spread consistent with random choice, p = %(p)s"), { calls: s.ok, pods: s.pods_reached, expected, p })
    : fmt(t.gettext("%(calls)s calls reached %(pods)s of %(expected)s pods: not spread at random per call, p = %(p)s"), { calls: s.ok, pods: s.pods_reached, expected, p });
  const ratio = busiest(s, t);
  return ratio ? `${said}; ${ratio}` : said;
}
