"""The Deployment controller's rolling-update and Recreate steps, as pure functions
(sandbox.rollout): against upstream's own test tables (pkg/controller/deployment rolling_test.go,
v1.29) and against the sequence a real kube-controller-manager produced for ``kubectl rollout
restart``; and which old ReplicaSets the history limit deletes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sandbox import rollout
from sandbox.rollout import DeploymentView, ReplicaSetView, Scale
from tests.support.deployments import NEW, OLD, rs, sizes


@pytest.mark.parametrize(
    ("value", "total", "up", "expected"),
    [
        ("25%", 4, True, 1),
        ("25%", 1, True, 1),
        ("25%", 1, False, 0),
        ("25%", 10, False, 2),
        (3, 10, False, 3),
    ],
)
def test_a_percentage_resolves_against_the_replicas_rounded_as_upstream(value, total, up, expected):
    assert rollout.scaled_value(value, total, round_up=up) == expected


def test_zero_surge_and_zero_unavailable_still_let_one_pod_be_unavailable():
    assert rollout.fenceposts(DeploymentView(10, max_surge=0, max_unavailable=0)) == (0, 1)


@pytest.mark.parametrize(
    ("replicas", "surge", "old", "new", "expected"),
    [(10, 0, 10, 0, 0), (10, 2, 10, 0, 2), (10, 2, 5, 0, 7), (10, 2, 10, 2, 2)],
)
def test_the_new_replica_set_grows_as_far_as_max_surge_allows(replicas, surge, old, new, expected):
    """rolling_test.go TestDeploymentController_reconcileNewReplicaSet."""
    d = DeploymentView(replicas, max_surge=surge, max_unavailable=0)
    new_rs = rs("foo-new", new)
    assert rollout.new_rs_replicas(d, [rs("foo-old", old, OLD), new_rs], new_rs) == expected


def test_a_new_replica_set_above_the_wanted_size_is_scaled_down_first():
    d = DeploymentView(10, max_surge=2, max_unavailable=0)
    assert rollout.rolling_step(d, rs("foo-new", 11), [rs("foo-old", 2, OLD)]) == [
        Scale("foo-new", 10, "down")
    ]


@pytest.mark.parametrize(
    ("unavailable", "old", "new", "old_ready", "new_ready", "expected_old"),
    [
        (0, 10, 0, 10, 0, 9),
        (2, 10, 0, 10, 0, 8),
        (2, 10, 0, 8, 0, 8),  # the unhealthy old replicas are cleaned up
        (2, 10, 0, 9, 0, 8),  # one unhealthy cleaned up, one ready scaled down
        (2, 8, 2, 8, 0, None),  # the new replica set's unavailable pods block a further step
    ],
)
def test_old_replica_sets_shrink_as_far_as_max_unavailable_allows(
    unavailable, old, new, old_ready, new_ready, expected_old
):
    """rolling_test.go TestDeploymentController_reconcileOldReplicaSets (maxSurge 0)."""
    d = DeploymentView(10, max_surge=0, max_unavailable=unavailable)
    scales = rollout.rolling_step(
        d, rs("foo-new", new, available=new_ready), [rs("foo-old", old, OLD, available=old_ready)]
    )
    assert sizes(scales).get("foo-old") == expected_old


def _rollout(d: DeploymentView, old: ReplicaSetView, *, ready_after: int = 0) -> list[tuple[str, int, int]]:
    """Drive rolling_step as the controller does: apply a step; pods become available when the
    ReplicaSet's status catches up. Returns (name, from, to) per scale; checks the invariants."""
    surge, unavailable = rollout.max_surge(d), rollout.max_unavailable(d)
    new = rs("app-new", 0, NEW, available=0)
    old_list, history = [old], []
    for _ in range(50):
        scales = rollout.rolling_step(d, new, old_list)
        if not scales:
            pending = [r for r in [new, *old_list] if r.available < r.replicas]
            if not pending:
                return history
            new = replace(new, available=new.replicas)  # the new pods became ready
            old_list = [replace(o, available=min(o.available, o.replicas)) for o in old_list]
            continue
        for scale in scales:
            target = new if scale.name == new.name else next(o for o in old_list if o.name == scale.name)
            history.append((scale.name, target.replicas, scale.replicas))
            updated = replace(
                target, replicas=scale.replicas, available=min(target.available, scale.replicas)
            )
            if scale.name == new.name:
                new = updated
            else:
                old_list = [updated if o.name == scale.name else o for o in old_list]
        everyone = [new, *old_list]
        assert sum(r.replicas for r in everyone) <= d.replicas + surge
        assert sum(r.available for r in everyone) >= d.replicas - unavailable
    raise AssertionError(f"the rollout did not finish: {history}")


def test_a_rolling_restart_with_surge_1_and_unavailable_0_steps_as_the_real_controller_did():
    """The events a real v1.29 kube-controller-manager recorded for `kubectl rollout restart` of
    manifests/base's 2-replica provider (maxSurge 1, maxUnavailable 0)."""
    d = DeploymentView(2, max_surge=1, max_unavailable=0)
    steps = _rollout(d, rs("app-old", 2, OLD))
    assert steps == [
        ("app-new", 0, 1),  # Scaled up replica set app-new to 1
        ("app-old", 2, 1),  # Scaled down replica set app-old to 1 from 2
        ("app-new", 1, 2),  # Scaled up replica set app-new to 2 from 1
        ("app-old", 1, 0),  # Scaled down replica set app-old to 0 from 1
    ]


def test_a_25_percent_rollout_of_4_keeps_between_3_available_and_5_pods():
    d = DeploymentView(4)  # the defaults: 25% / 25%
    steps = _rollout(d, rs("app-old", 4, OLD))
    assert steps[0] == ("app-new", 0, 1)
    assert steps[1] == ("app-old", 4, 3)
    assert steps[-1][0] == "app-old" and steps[-1][2] == 0


def test_a_rollout_whose_new_pods_never_become_ready_waits_with_the_old_pods_all_there():
    d = DeploymentView(2, max_surge=1, max_unavailable=0)
    new, old = rs("app-new", 1, available=0), rs("app-old", 2, OLD)
    assert rollout.rolling_step(d, new, [old]) == []


def test_recreate_scales_the_old_pods_down_first_and_the_new_up_once_they_are_gone():
    d = DeploymentView(2, strategy="Recreate")
    assert rollout.recreate_step(d, None, [rs("old", 2, OLD)], old_pods_left=True) == [
        Scale("old", 0, "down")
    ]
    assert rollout.recreate_step(d, None, [rs("old", 0, OLD)], old_pods_left=True) == []
    assert rollout.recreate_step(d, None, [rs("old", 0, OLD)], old_pods_left=False) is None
    assert rollout.recreate_step(d, rs("new", 0), [], old_pods_left=False) == [Scale("new", 2, "up")]


def test_history_beyond_the_limit_goes_oldest_revision_first_and_only_once_drained():
    old = [replace(rs(f"r{n}", 0, OLD), revision=n, actual=0, observed_generation=1) for n in (3, 1, 2)] + [
        replace(rs("r4", 1, OLD), revision=4)
    ]
    assert rollout.history_to_delete(old, 2) == ["r1", "r2"]
    assert rollout.history_to_delete(old, 10) == []
