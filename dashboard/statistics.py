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
