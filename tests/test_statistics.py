"""The run statistics' pure functions, against values from statistical tables."""

from __future__ import annotations

import pytest

from dashboard.records import CallRecord
from dashboard.slices import from_slices, ready_pods
from dashboard.statistics import (
    busiest_ratio,
    calls_needed,
    chi_square_p_value,
    chi_square_uniform,
    run_statistics,
)


@pytest.mark.parametrize(
    ("statistic", "dof", "p"),
    [
        (3.841, 1, 0.05),
        (6.635, 1, 0.01),
        (5.991, 2, 0.05),
        (13.816, 2, 0.001),
        (7.815, 3, 0.05),
        (0.0, 2, 1.0),
        (100.0, 2, 1.93e-22),
        (30.578, 15, 0.01),
    ],
)
def test_chi_square_p_values_match_the_tables(statistic, dof, p):
    assert chi_square_p_value(statistic, dof) == pytest.approx(p, rel=2e-3)


# Q(df/2, x/2), the chi-square upper tail, from mpmath 1.4.1 at 50 significant digits:
# mpmath.gammainc(df / 2, x / 2, mpmath.inf, regularized=True), rounded to 17 digits. The
# hand-written function is within 1e-11 of these; 1e-9 leaves room for another libm's lgamma.
REFERENCE = [
    (0.5, 1, 0.47950012218695346),
    (3.841, 1, 0.050013683763956699),
    (100.0, 1, 1.5239706048321052e-23),
    (1000.0, 1, 1.7958327848007262e-219),
    (2.0, 2, 0.36787944117144232),
    (13.816, 2, 0.00099975530892388247),
    (1000.0, 2, 7.1245764067412855e-218),
    (1.0, 10, 0.99982788437004416),
    (10.0, 10, 0.44049328506521241),
    (40.0, 10, 1.6944743930067384e-5),
    (1000.0, 10, 1.8702907209159497e-208),
    (60.0, 100, 0.99948110853745197),
    (100.0, 100, 0.48119168452795672),
    (150.0, 100, 0.00090393204235400909),
    (600.0, 100, 2.4188285833464858e-72),
    (900.0, 999, 0.98862118708341889),
    (999.0, 999, 0.49404987795852787),
    (1100.0, 999, 0.013818467525532355),
    (1500.0, 999, 8.513135655491612e-23),
    (3000.0, 999, 9.4779730751692266e-199),
    (4700.0, 4999, 0.99883809485181039),
    (4999.0, 4999, 0.4973401128891531),
    (5300.0, 4999, 0.001545430513331123),
    (6500.0, 4999, 3.1807056005553258e-43),
    (9000.0, 4999, 2.9029353946640942e-233),
]


@pytest.mark.parametrize(("statistic", "dof", "p"), REFERENCE)
def test_chi_square_p_values_match_mpmath_up_to_4999_degrees_of_freedom(statistic, dof, p):
    assert chi_square_p_value(statistic, dof) == pytest.approx(p, rel=1e-9, abs=0)


def test_a_p_value_too_small_for_a_double_is_zero_not_an_error():
    assert chi_square_p_value(50_000.0, 999) == 0.0


def test_1000_pods_that_split_3000_calls_evenly_are_consistent_with_random_choice():
    statistic, p = chi_square_uniform([3] * 1000)
    assert (statistic, p) == (0.0, 1.0)
    statistic, p = chi_square_uniform([6] * 500 + [0] * 500)
    assert statistic == pytest.approx(3000.0) and p < 1e-100


def test_the_busiest_ratio_is_the_busiest_pods_count_over_the_mean():
    assert busiest_ratio([10, 10, 10]) == 1.0
    assert busiest_ratio([30, 0, 0]) == 3.0
    assert busiest_ratio([6, 2]) == pytest.approx(1.5)
    assert busiest_ratio([0, 0]) is None
    assert busiest_ratio([]) is None


def test_cochrans_rule_asks_5_calls_per_pod():
    assert calls_needed(2) == 10
    assert calls_needed(300) == 1500


def record(seq: int, pod: str, outcome: str = "ok") -> CallRecord:
    return CallRecord(1, seq, "new-connection", 0.0, 1.0, outcome, pod, "", "", seq, False, "ready", "")


def test_a_200_call_run_over_300_pods_is_too_small_to_judge_and_says_1500_calls_would_do():
    pods = [f"pod-{index:03d}" for index in range(300)]
    statistics = run_statistics([record(seq, pods[seq % 300]) for seq in range(200)], pods)
    assert statistics["too_few_calls"] is True
    assert statistics["calls_needed"] == 1500
    assert statistics["busiest_ratio"] == pytest.approx(1.5), "1 call on 200 pods, 300 expected"


def test_a_3000_call_run_over_300_pods_is_enough_and_names_the_busiest_ratio():
    pods = [f"pod-{index:03d}" for index in range(300)]
    calls = [record(seq, pods[seq % 300]) for seq in range(2990)]
    calls += [record(2990 + seq, pods[0]) for seq in range(10)]
    calls.append(record(3000, "", "refused"))
    statistics = run_statistics(calls, pods)
    assert statistics["too_few_calls"] is False and statistics["ok"] == 3000
    # pod-000 answered 10 + 10 = 20 of 3000 calls, the mean is 10.
    assert statistics["busiest_ratio"] == pytest.approx(2.0)
    assert statistics["p_value"] > 0.5, "at 10 calls a pod, one pod at twice the mean is chance"


def test_calls_on_a_pod_that_was_not_expected_do_not_count_in_the_busiest_ratio():
    calls = [record(0, "a"), record(1, "b"), record(2, "late"), record(3, "late"), record(4, "late")]
    assert run_statistics(calls, ["a", "b"])["busiest_ratio"] == 1.0


def test_an_even_spread_is_perfectly_consistent_with_random_choice():
    assert chi_square_uniform([100, 100, 100]) == (0.0, 1.0)


def test_everything_on_one_pod_is_not_random():
    statistic, p = chi_square_uniform([300, 0, 0])
    assert statistic == pytest.approx(600.0)
    assert p < 1e-100


def test_one_pod_or_no_calls_cannot_be_tested():
    assert chi_square_uniform([42]) == (0.0, 1.0)
    assert chi_square_uniform([0, 0]) == (0.0, 1.0)


def test_a_dual_stack_service_of_2_pods_expects_2_pods_at_half_the_calls_each():
    def slice_of(family: str, *addresses: str) -> dict:
        endpoints = [
            {"addresses": [address], "targetRef": {"kind": "Pod", "name": f"pod-{index}"}}
            for index, address in enumerate(addresses)
        ]
        return {"addressType": family, "endpoints": endpoints}

    expected = ready_pods(
        from_slices([slice_of("IPv4", "10.1.0.5", "10.1.0.6"), slice_of("IPv6", "fd00::5", "fd00::6")])
    )
    calls = [
        CallRecord(
            1, seq, "new-connection", 0.0, 1.0, "ok", f"pod-{seq % 2}", "", "", seq, False, "ready", ""
        )
        for seq in range(10)
    ]
    statistics = run_statistics(calls, expected)
    assert statistics["expected_pods"] == ["pod-0", "pod-1"]
    assert statistics["expected_share"] == 0.5
    assert statistics["p_value"] == 1.0, "5 and 5 over 2 pods is an even spread"
