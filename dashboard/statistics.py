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

import itertools
import math
from collections.abc import Mapping, Sequence

# Cochran's rule for the chi-square approximation: at least about 5 expected calls per category
# (W. G. Cochran, "Some methods for strengthening the common χ² tests", Biometrics 10, 1954).
MIN_EXPECTED_PER_POD = 5


def _regularized_gammas(a: float, x: float) -> tuple[float, float]:
    """(P(a, x), Q(a, x)), the lower and upper regularized incomplete gamma functions, each
    computed directly where it is small (series below a + 1, continued fraction above; Numerical
    Recipes' ``gser`` and ``gcf``, modified Lentz), so neither loses its digits to 1 - the other."""
    if x <= 0:
        return 0.0, 1.0
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
        lower = min(1.0, total * math.exp(log_prefactor))
        return lower, max(0.0, 1.0 - lower)
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
    upper = min(1.0, math.exp(log_prefactor) * h)
    return max(0.0, 1.0 - upper), upper


def _upper_regularized_gamma(a: float, x: float) -> float:
    return _regularized_gammas(a, x)[1]


def chi_square_p_value(statistic: float, degrees_of_freedom: int) -> float:
    """P(X >= statistic) for X chi-square with that many degrees of freedom; 1.0 for df <= 0."""
    if degrees_of_freedom <= 0:
        return 1.0
    return _upper_regularized_gamma(degrees_of_freedom / 2, statistic / 2)


def chi_square_lower_p_value(statistic: float, degrees_of_freedom: int) -> float:
    """P(X <= statistic): near 0 when counts are far more even than chance makes them (a
    rotation, not a random choice); 1.0 for df <= 0."""
    if degrees_of_freedom <= 0:
        return 1.0
    return _regularized_gammas(degrees_of_freedom / 2, statistic / 2)[0]


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


# Modes where every call opens its own connection, so each is a fresh choice of pod by the proxy.
NEW_CONNECTION_MODES = ("new-connection", "grpc-per-call")
# Below this, a statistic rejects random choice (one false "round-robin" in 1000 random runs).
ROTATION_ALPHA = 0.001
SEQUENCE_SHOWN = 100  # the first answers, in order, that the page draws as a strip


def repeats(pods_in_order: Sequence[str]) -> int:
    """How many answers came from the same pod as the answer before (consecutive repeats)."""
    return sum(1 for before, after in itertools.pairwise(pods_in_order) if before == after)


def binomial_lower_tail(successes: int, trials: int, probability: float) -> float:
    """P(X <= successes) for X ~ Binomial(trials, probability), summed in log space."""
    if successes >= trials or probability <= 0:
        return 1.0
    if successes < 0:
        return 0.0
    if probability >= 1:
        return 0.0
    log_p, log_q = math.log(probability), math.log1p(-probability)
    log_n = math.lgamma(trials + 1)
    terms = [
        log_n - math.lgamma(k + 1) - math.lgamma(trials - k + 1) + k * log_p + (trials - k) * log_q
        for k in range(successes + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(term - top) for term in terms))


def rotation_calls_needed(pods: int) -> int:
    """The answers after which a strict rotation (no repeat) is rarer than ``ROTATION_ALPHA``
    under random choice: the least m with (1 - 1/n)^(m - 1) < alpha (about 7 n)."""
    if pods < 2:
        return 0
    return 2 + math.floor(math.log(ROTATION_ALPHA) / math.log1p(-1 / pods))


def rotation(pods_in_order: Sequence[str], counts: Sequence[int]) -> dict:
    """Random choice or round-robin, from the answers in order over ``len(counts)`` pods.

    Under a uniform random choice per connection (kube-proxy's iptables and nftables modes) each
    answer repeats the one before with probability 1/n, independently, so the consecutive repeats R
    over m answers are exactly Binomial(m - 1, 1/n), mean (m - 1)/n. A round-robin (IPVS ``rr``)
    rotates: R near 0 (0 for one client in turn), and counts within 1 of each other. ``choice`` is
    ``round-robin`` when P(R <= r) < ``ROTATION_ALPHA`` (exact, so a random choice is taken for
    a rotation less than once in 1000 runs); ``random`` otherwise, once the run has
    ``calls_to_tell`` answers (a rotation that long would have shown); None before.
    ``chi_square_lower_p``, P(X² <= x), says how much more even the counts are than chance; it is
    reported, not decided on: the chi-square approximation is poor in that tail for a few pods
    (over 3 pods, 100/100/100 comes about once in 100 random runs of 300 calls, where the
    approximation says 0, and a strict rotation of 301 calls gives P = 0.003).
    ``{repeats, repeats_expected, repeats_p, chi_square_lower_p, alpha, calls_to_tell, choice}``."""
    pods = len(counts)
    observed = repeats(pods_in_order)
    trials = max(len(pods_in_order) - 1, 0)
    statistic, _ = chi_square_uniform(counts)
    repeats_p = binomial_lower_tail(observed, trials, 1 / pods) if pods else 1.0
    lower_p = chi_square_lower_p_value(statistic, pods - 1)
    needed = rotation_calls_needed(pods)
    if repeats_p < ROTATION_ALPHA:
        choice = "round-robin"
    else:
        choice = "random" if len(pods_in_order) >= needed else None
    return {
        "repeats": observed,
        "repeats_expected": round(trials / pods, 2) if pods else None,
        "repeats_p": repeats_p,
        "chi_square_lower_p": lower_p,
        "alpha": ROTATION_ALPHA,
        "calls_to_tell": needed,
        "choice": choice,
    }


def run_statistics(
    calls: Sequence,
    expected_pods: Sequence[str],
    *,
    expectation: Mapping | None = None,
    settings_now: Mapping | None = None,
) -> dict:
    """Everything the page and the API say about a run, from its calls (any objects with the
    CallRecord fields) and the pods that were ready endpoints when it started.

    ``busiest_ratio`` is the busiest expected pod's count over their mean (None without calls);
    ``calls_needed`` the answered calls Cochran's rule asks for (5 per expected pod), and
    ``too_few_calls`` says the run had fewer, so its p-value cannot judge the spread.

    ``expectation`` (``service_settings.expectation`` at the start, ``pods`` = ``expected_pods``)
    is kept as it is; with it, ``pinned`` (ClientIP affinity: all the calls should be on one pod)
    and, given ``settings_now`` (the settings at the end), ``settings_changed``: the deciding
    settings that differ. ``sequence`` is the first ``SEQUENCE_SHOWN`` answering pods in order;
    ``rotation`` (``rotation()``) is given for a run of new connections over 2 pods or more with
    enough calls, not pinned, that reached more than one pod; else None."""
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
    order = [call.pod for call in answered]
    pinned = bool(expectation and expectation.get("pinned"))
    new_connections = bool(ordered) and all(
        getattr(call, "mode", "") in NEW_CONNECTION_MODES for call in ordered
    )
    judged = len(expected) >= 2 and total_answered >= calls_needed(len(expected)) and len(per_pod) > 1
    changed = None
    if expectation is not None and settings_now is not None:
        before = expectation.get("settings") or {}
        changed = [name for name in before if before.get(name) != settings_now.get(name)]
    return {
        "expectation": dict(expectation) if expectation is not None else None,
        "pinned": pinned,
        "settings_changed": changed,
        "sequence": order[:SEQUENCE_SHOWN],
        "rotation": rotation(order, counts) if new_connections and judged and not pinned else None,
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
