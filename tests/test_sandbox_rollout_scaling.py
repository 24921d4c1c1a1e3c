"""A Deployment's replicas changed in the middle of a rollout, as pure functions (sandbox.rollout's
proportional scaling): against upstream's own test table (pkg/controller/deployment sync_test.go
TestScale, v1.29)."""

from __future__ import annotations

import pytest

from sandbox import rollout
from sandbox.rollout import DeploymentView
from tests.support.deployments import NEW, OLD, OLDER, rs, sizes


@pytest.mark.parametrize(
    ("replicas", "before", "new", "olds", "expected"),
    [
        (12, 10, ("foo-v1", 10), [], {"foo-v1": 12}),
        (5, 10, ("foo-v1", 10), [], {"foo-v1": 5}),
        (10, 5, ("foo-v2", 2), [("foo-v1", 3, OLD)], {"foo-v2": 4, "foo-v1": 6}),
        (3, 5, ("foo-v2", 2), [("foo-v1", 3, OLD)], {"foo-v2": 1, "foo-v1": 2}),
        (4, 9, ("foo-v2", 8), [("foo-v1", 1, OLD)], {"foo-v2": 4, "foo-v1": 0}),
        (
            10,
            7,
            ("foo-v3", 2),
            [("foo-v2", 3, OLD), ("foo-v1", 2, OLDER)],
            {"foo-v3": 3, "foo-v2": 4, "foo-v1": 3},
        ),
        (
            8,
            13,
            ("foo-v3", 2),
            [("foo-v2", 8, OLD), ("foo-v1", 3, OLDER)],
            {"foo-v3": 1, "foo-v2": 5, "foo-v1": 2},
        ),
        (
            4,
            3,
            ("foo-v3", 1),
            [("foo-v2", 1, OLD), ("foo-v1", 1, OLDER)],
            {"foo-v3": 2, "foo-v2": 1, "foo-v1": 1},
        ),
        (
            2,
            3,
            ("foo-v3", 1),
            [("foo-v2", 1, OLD), ("foo-v1", 1, OLDER)],
            {"foo-v3": 1, "foo-v2": 1, "foo-v1": 0},
        ),
        (5, 4, None, [("foo-v2", 2, OLD), ("foo-v1", 2, OLDER)], {"foo-v2": 3, "foo-v1": 2}),
        (
            0,
            6,
            ("foo-v3", 3),
            [("foo-v2", 2, OLD), ("foo-v1", 1, OLDER)],
            {"foo-v3": 0, "foo-v2": 0, "foo-v1": 0},
        ),
        (6, 6, ("foo-v3", 0), [("foo-v2", 0, OLD), ("foo-v1", 0, OLDER)], {"foo-v3": 6}),
    ],
)
def test_a_change_of_replicas_mid_rollout_is_spread_in_proportion_as_upstream(
    replicas, before, new, olds, expected
):
    """sync_test.go TestScale (maxSurge 0, maxUnavailable 0; each ReplicaSet sized for the
    Deployment before the change)."""
    sized = (before, before)
    d = DeploymentView(replicas, max_surge=0, max_unavailable=0)
    new_rs = rs(new[0], new[1], NEW, sized_for=sized) if new else None
    old_rss = [rs(name, count, created, sized_for=sized) for name, count, created in olds]
    scaled = sizes(rollout.proportional_scale(d, new_rs, old_rss))
    everyone = {r.name: r.replicas for r in [*old_rss, *([new_rs] if new_rs else [])]}
    assert {**everyone, **scaled} == {**everyone, **expected}


@pytest.mark.parametrize(
    ("d", "new", "old", "expected"),
    [
        (
            DeploymentView(20, max_surge=2, max_unavailable=0),
            ("foo-v2", 6),
            ("foo-v1", 6),
            {"foo-v2": 11, "foo-v1": 11},
        ),
        (
            DeploymentView(50, max_surge=6, max_unavailable=0),
            ("foo-v2", 5),
            ("foo-v1", 8),
            {"foo-v2": 22, "foo-v1": 34},
        ),
    ],
)
def test_proportional_scaling_counts_the_surge_each_replica_set_was_sized_for(d, new, old, expected):
    """TestScale "deployment with surge pods" (10+2 before) and "change both surge and size"
    (10+3 before)."""
    most = 12 if d.max_surge == 2 else 13
    new_rs = rs(*new, NEW, sized_for=(10, most))
    old_rs = rs(*old, OLD, sized_for=(10, most))
    assert sizes(rollout.proportional_scale(d, new_rs, [old_rs])) == expected


def test_a_saturated_but_broken_new_replica_set_leaves_the_old_pods_alone():
    d = DeploymentView(2, max_surge=1, max_unavailable=1)
    new_rs = rs("foo-v2", 2, NEW, available=0, sized_for=(2, 3))
    old_rs = rs("foo-v1", 1, OLD, sized_for=(2, 3))
    assert sizes(rollout.proportional_scale(d, new_rs, [old_rs])) == {"foo-v2": 2, "foo-v1": 1}


def test_a_scaling_event_is_an_active_replica_set_sized_for_other_replicas():
    d = DeploymentView(3)
    assert rollout.is_scaling_event(d, [rs("a", 2, sized_for=(2, 3))])
    assert not rollout.is_scaling_event(d, [rs("a", 3, sized_for=(3, 4)), rs("b", 0, sized_for=(2, 3))])
