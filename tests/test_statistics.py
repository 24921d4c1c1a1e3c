"""The run statistics' pure functions, against values from statistical tables."""

from __future__ import annotations

import pytest

from dashboard.records import CallRecord
from dashboard.slices import from_slices, ready_pods
from dashboard.statistics import chi_square_p_value, chi_square_uniform, run_statistics


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
