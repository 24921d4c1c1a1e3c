// A run's verdict in plain words, from the engine's statistics (pure; `t` translates).

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
  if (s.p_value > 0.001) {
    return fmt(t.gettext("%(calls)s calls reached %(pods)s of %(expected)s pods: spread consistent with random choice, p = %(p)s"), { calls: s.ok, pods: s.pods_reached, expected: s.expected_pods.length, p });
  }
  return fmt(t.gettext("%(calls)s calls reached %(pods)s of %(expected)s pods: not spread at random per call, p = %(p)s"), { calls: s.ok, pods: s.pods_reached, expected: s.expected_pods.length, p });
}
