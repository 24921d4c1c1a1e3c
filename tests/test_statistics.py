"""The run statistics' pure functions, against values from statistical tables."""

from __future__ import annotations

import pytest

from dashboard.statistics import chi_square_p_value, chi_square_uniform


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
