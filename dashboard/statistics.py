"""Statistics of a run, as pure functions: is the spread over pods what the Service promises?

A Service that picks a pod per new connection at random gives each of n ready pods a share
near 1/n; the chi-square goodness-of-fit test says how surprising the observed counts are
under that hypothesis (a p-value near 0 means "not random per connection").
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def _upper_regularized_gamma(a: float, x: float) -> float:
    """Q(a, x) = Γ(a, x) / Γ(a), by series below a + 1 and by continued fraction above."""
    if x <= 0:
        return 1.0
    log_prefactor = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        denominator = a
        for _ in range(1000):
            denominator += 1
            term *= x / denominator
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefactor))
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return min(1.0, math.exp(log_prefactor) * h)


def chi_square_p_value(statistic: float, degrees_of_freedom: int) -> float:
    if degrees_of_freedom <= 0:
        return 1.0
    return _upper_regularized_gamma(degrees_of_freedom / 2, statistic / 2)


def chi_square_uniform(counts: Sequence[int]) -> tuple[float, float]:
    """(statistic, p-value) of ``counts`` against equal shares; p is 1.0 when it cannot be tested."""
    total = sum(counts)
    if len(counts) < 2 or total == 0:
        return 0.0, 1.0
    expected = total / len(counts)
    statistic = sum((count - expected) ** 2 / expected for count in counts)
    return statistic, chi_square_p_value(statistic, len(counts) - 1)


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def longest_streak(pods_in_order: Sequence[str]) -> int:
    """The most consecutive answers from one pod: 100 on one kept-alive connection is 100."""
    best = current = 0
    previous = None
    for pod in pods_in_order:
        current = current + 1 if pod == previous else 1
        previous = pod
        best = max(best, current)
    return best


def run_statistics(calls: Sequence, expected_pods: Sequence[str]) -> dict:
    """Everything the page and the API say about a run, from its calls (any objects with the
    CallRecord fields) and the pods that were ready endpoints when it started."""
    ordered = sorted(calls, key=lambda call: call.seq)
    answered = [call for call in ordered if call.outcome == "ok" and call.pod]
    per_pod: dict[str, int] = {}
    for call in answered:
        per_pod[call.pod] = per_pod.get(call.pod, 0) + 1
    expected = sorted(expected_pods)
    counts = [per_pod.get(pod, 0) for pod in expected]
    statistic, p_value = chi_square_uniform(counts) if len(expected) >= 2 else (0.0, 1.0)
    connections: dict[object, set[str]] = {}
    for call in answered:
        # A TCP connection by its local port; a gRPC channel (one HTTP/2 connection) by its id.
        key = call.local_port if call.local_port is not None else ("channel", getattr(call, "channel", None))
        if key != ("channel", None):
            connections.setdefault(key, set()).add(call.pod)
    latencies = sorted(call.latency_ms for call in answered)
    errors: dict[str, int] = {}
    for call in ordered:
        if call.outcome != "ok":
            errors[call.outcome] = errors.get(call.outcome, 0) + 1
    total_answered = len(answered)
    return {
        "calls": len(ordered),
        "ok": total_answered,
        "pods": {
            pod: {"count": count, "share": round(count / total_answered, 4) if total_answered else 0.0}
            for pod, count in sorted(per_pod.items())
        },
        "expected_pods": expected,
        "expected_share": round(1 / len(expected), 4) if expected else None,
        "pods_reached": len(per_pod),
        "chi_square": round(statistic, 4),
        "p_value": p_value,
        "longest_streak": longest_streak([call.pod for call in answered]),
        "connections": len(connections),
        "max_pods_per_connection": max((len(p) for p in connections.values()), default=0),
        "latency_ms": {
            name: percentile(latencies, fraction)
            for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
        },
        "errors": dict(sorted(errors.items())),
        "on_terminating": sum(1 for call in answered if call.endpoint_state == "terminating"),
        "on_absent": sum(1 for call in answered if call.endpoint_state == "absent"),
    }
