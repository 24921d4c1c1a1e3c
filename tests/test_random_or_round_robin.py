"""Random choice or round-robin, told apart from the answers in order: consecutive repeats against
Binomial(m - 1, 1/n), and the chi-square's lower tail (counts far more even than chance).
Sequences are synthetic and seeded; reference values are closed forms."""

from __future__ import annotations

import math
import random

import pytest

from dashboard.records import CallRecord
from dashboard.statistics import (
    ROTATION_ALPHA,
    binomial_lower_tail,
    chi_square_lower_p_value,
    chi_square_p_value,
    repeats,
    rotation,
    rotation_calls_needed,
    run_statistics,
)

PODS = ["pod-a", "pod-b", "pod-c"]


def record(seq: int, pod: str, mode: str = "new-connection") -> CallRecord:
    return CallRecord(1, seq, mode, 0.0, 1.0, "ok", pod, "", "", 40000 + seq, False, "ready", "")


def counts_of(order, pods=PODS):
    return [order.count(pod) for pod in pods]


def random_order(seed: int, calls: int = 300, pods=PODS) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(pods) for _ in range(calls)]


def round_robin_order(calls: int = 300, pods=PODS, start: int = 0) -> list[str]:
    return [pods[(start + i) % len(pods)] for i in range(calls)]


@pytest.mark.parametrize("x", [0.01, 0.5, 2.0, 7.0, 30.0])
def test_the_chi_square_lower_tail_matches_the_closed_forms_for_one_and_two_degrees(x):
    assert chi_square_lower_p_value(x, 2) == pytest.approx(1 - math.exp(-x / 2), rel=1e-12, abs=1e-300)
    assert chi_square_lower_p_value(x, 1) == pytest.approx(math.erf(math.sqrt(x / 2)), rel=1e-12)
    assert chi_square_lower_p_value(x, 5) + chi_square_p_value(x, 5) == pytest.approx(1.0, abs=1e-12)


def test_the_lower_tail_keeps_its_digits_when_it_is_tiny():
    # P(X² <= 0.001) with 2 degrees is 1 - e^-0.0005 ≈ 5e-4, not a difference of two near-1 numbers.
    assert chi_square_lower_p_value(0.001, 2) == pytest.approx(-math.expm1(-0.0005), rel=1e-12)
    assert chi_square_lower_p_value(0.0, 4) == 0.0


@pytest.mark.parametrize(("k", "n", "p"), [(0, 10, 0.5), (3, 10, 1 / 3), (99, 299, 1 / 3), (0, 299, 1 / 3)])
def test_the_binomial_lower_tail_is_the_exact_sum(k, n, p):
    exact = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))
    assert binomial_lower_tail(k, n, p) == pytest.approx(exact, rel=1e-10)


def test_repeats_count_answers_from_the_same_pod_as_the_one_before():
    assert repeats(["a", "a", "b", "b", "b", "a"]) == 3
    assert repeats([]) == repeats(["a"]) == 0


def test_a_strict_rotation_over_3_pods_is_round_robin_with_no_repeats_against_99_expected():
    order = round_robin_order()
    said = rotation(order, counts_of(order))
    assert said["repeats"] == 0
    assert said["repeats_expected"] == pytest.approx(299 / 3, abs=0.01)
    assert said["repeats_p"] < 1e-40
    assert said["chi_square_lower_p"] < ROTATION_ALPHA
    assert said["choice"] == "round-robin"


def test_a_rotation_shuffled_by_concurrent_workers_is_still_round_robin():
    rng = random.Random(7)
    order = round_robin_order(pods=["p1", "p2"])
    for i in range(0, len(order) - 1, 2):  # two workers' calls reach the proxy in either order
        if rng.random() < 0.5:
            order[i], order[i + 1] = order[i + 1], order[i]
    said = rotation(order, counts_of(order, ["p1", "p2"]))
    assert 0 < said["repeats"] < said["repeats_expected"] / 2
    assert said["choice"] == "round-robin"
    assert said["chi_square_lower_p"] == 0.0  # the counts are exactly even: X² = 0


def test_random_choices_are_judged_random_about_as_often_as_the_threshold_promises():
    judged = [
        rotation(order, counts_of(order))["choice"] for order in (random_order(seed) for seed in range(1000))
    ]
    # The exact binomial test rejects a true random choice with probability below 0.001: about
    # one run in 1000. Some of these runs are exactly 100/100/100 (X² = 0): evenness alone, which
    # random choice gives about one time in 100 over 3 pods, is not taken for a rotation.
    assert judged.count("round-robin") <= 3
    even = [s for s in range(1000) if counts_of(random_order(s)) == [100, 100, 100]]
    assert even and all(judged[s] == "random" for s in even)
    assert judged.count(None) == 0


def test_a_short_rotation_is_not_called_anything_and_the_run_says_how_many_calls_would_tell():
    said = rotation(round_robin_order(10), counts_of(round_robin_order(10)))
    assert said["choice"] is None, "9 pairs without a repeat: (2/3)^9 = 2.6 %, chance"
    assert said["calls_to_tell"] == rotation_calls_needed(3) == 19
    assert (2 / 3) ** (19 - 1) < ROTATION_ALPHA <= (2 / 3) ** (18 - 1)
    assert rotation(round_robin_order(19), counts_of(round_robin_order(19)))["choice"] == "round-robin"


def test_over_many_pods_a_rotation_is_told_once_a_run_has_about_seven_calls_per_pod():
    pods = [f"pod-{i:03d}" for i in range(100)]
    assert rotation_calls_needed(100) == 689
    order = round_robin_order(700, pods)
    assert rotation(order, counts_of(order, pods))["choice"] == "round-robin"


def test_a_random_run_has_about_as_many_repeats_as_expected():
    order = random_order(11)
    said = rotation(order, counts_of(order))
    assert abs(said["repeats"] - said["repeats_expected"]) < 4 * math.sqrt(299 * (1 / 3) * (2 / 3))


def test_run_statistics_tells_the_choice_for_new_connections_only_and_keeps_the_first_100_in_order():
    order = round_robin_order()
    statistics = run_statistics([record(i, pod) for i, pod in enumerate(order)], PODS)
    assert statistics["rotation"]["choice"] == "round-robin"
    assert statistics["sequence"] == order[:100]
    pooled = run_statistics([record(i, pod, "pool") for i, pod in enumerate(order)], PODS)
    assert pooled["rotation"] is None, "a pool's connections are not a choice per call"
    few = run_statistics([record(i, pod) for i, pod in enumerate(order[:10])], PODS)
    assert few["rotation"] is None, "10 calls over 3 pods: too few to judge the spread (15 needed)"


def test_a_pinned_run_is_judged_against_one_pod_and_a_setting_changed_during_it_is_named():
    expectation = {
        "pods": PODS,
        "rule": "uniform",
        "pinned": True,
        "node": "n1",
        "zone": "",
        "settings": {"session_affinity": "ClientIP", "internal_traffic_policy": "Cluster"},
    }
    calls = [record(i, "pod-b") for i in range(300)]
    statistics = run_statistics(
        calls,
        PODS,
        expectation=expectation,
        settings_now={"session_affinity": "None", "internal_traffic_policy": "Cluster"},
    )
    assert statistics["pinned"] is True
    assert statistics["rotation"] is None
    assert statistics["expectation"]["rule"] == "uniform"
    assert statistics["settings_changed"] == ["session_affinity"]
    unchanged = run_statistics(calls, PODS, expectation=expectation, settings_now=expectation["settings"])
    assert unchanged["settings_changed"] == []
    assert run_statistics(calls, PODS)["settings_changed"] is None
