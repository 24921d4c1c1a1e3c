"""Statistics of a run, as pure functions: is the spread over pods what the Service promises?

A Service that picks a pod per new connection at random gives each of n ready pods a share
near 1/n; the chi-square goodness-of-fit test says how surprising the observed counts are
under that hypothesis (a p-value near 0 means "not random per connection").

The p-value is Q(df/2, x/2), the regularized upper incomplete gamma function, computed here
rather than with SciPy: against mpmath at 50 digits it is within 1e-11 relative error for df up
to 4999 (tests/test_statistics.py holds the reference table) in under 50 µs, where importing
``scipy.stats`` would cost the dashboard pod (128Mi limit) about 55 MiB and 0.8 s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# Cochran's rule for the chi-square approximation: at least about 5 expected calls per category
# (W. G. Cochran, "Some methods for strengthening the common χ² tests", Biometrics 10, 1954).
MIN_EXPECTED_PER_POD = 5


def _upper_regularized_gamma(a: float, x: float) -> float:
    """Q(a, x) = Γ(a, x) / Γ(a), by series below a + 1 and by continued fraction above
    (Numerical Recipes' ``gser`` and ``gcf``, modified Lentz)."""
    if x <= 0:
        return 1.0
    log_prefactor = -x + a * math.log(x) - math.lgamma(a)
    # Both expansions need about sqrt(a) terms near x = a: 1000 covers df ~ 30000, more is allowed.
    iterations = max(1000, int(40 * math.sqrt(a)))
    if x < a + 1:
        term = total = 1.0 / a
        denominator = a
        for _ in range(iterations):
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
    for i in range(1, iterations):
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
    """P(X >= statistic) for X chi-square with that many degrees of freedom; 1.0 for df <= 0."""
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


def busiest_ratio(counts: Sequence[int]) -> float | None:
    """The busiest pod's count over the mean count (2.0: it took twice its fair share); None
    without calls. Over the expected pods, so a pod that got nothing still lowers the mean."""
    total = sum(counts)
    if not counts or total == 0:
        return None
    return max(counts) * len(counts) / total


def calls_needed(pods: int) -> int:
    """Answered calls for the chi-square test to be trusted over ``pods`` pods (Cochran's rule)."""
    return MIN_EXPECTED_PER_POD * pods


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
    CallRecord fields) and the pods that were ready endpoints when it started.

    ``busiest_ratio`` is the busiest expected pod's count over their mean (None without calls);
    ``calls_needed`` the answered calls Cochran's rule asks for (5 per expected pod), and
    ``too_few_calls`` says the run had fewer, so its p-value cannot judge the spread."""
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
    ratio = busiest_ratio(counts)
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
        "busiest_ratio": None if ratio is None else round(ratio, 4),
        "calls_needed": calls_needed(len(expected)),
        "too_few_calls": len(expected) >= 2 and total_answered < calls_needed(len(expected)),
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
