"""The Deployment controller's arithmetic, as pure functions (sandbox.rollout, revisions,
deployment_status): the rolling-update step against upstream's own test tables
(pkg/controller/deployment rolling_test.go and sync_test.go TestScale, v1.29) and against the
sequence a real kube-controller-manager produced for ``kubectl rollout restart``."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sandbox import deployment_status, revisions, rollout
from sandbox.objects import SAFE_ALPHABET
from sandbox.rollout import DeploymentView, ReplicaSetView, Scale

NEW, OLD, OLDER = "2016-05-20T02:00:00Z", "2016-05-20T01:00:00Z", "2016-05-20T00:00:00Z"


def rs(name: str, replicas: int, created: str = NEW, *, available: int | None = None, sized_for=None):
    """An upstream test's ``rs()``: sized (annotations) for ``sized_for`` = (replicas, max)."""
    desired, most = sized_for or (None, None)
    return ReplicaSetView(
        name,
        replicas,
        available=replicas if available is None else available,
        actual=replicas,
        created=created,
        desired_replicas=desired,
        max_replicas=most,
    )


def sizes(scales: list[Scale]) -> dict[str, int]:
    result: dict[str, int] = {}
    for scale in scales:
        result[scale.name] = scale.replicas
    return result


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


def test_history_beyond_the_limit_goes_oldest_revision_first_and_only_once_drained():
    old = [replace(rs(f"r{n}", 0, OLD), revision=n, actual=0, observed_generation=1) for n in (3, 1, 2)] + [
        replace(rs("r4", 1, OLD), revision=4)
    ]
    assert rollout.history_to_delete(old, 2) == ["r1", "r2"]
    assert rollout.history_to_delete(old, 10) == []


# --- the ReplicaSets' names and annotations ---------------------------------------------------


def template(image: str = "k8s-combat", **labels: str) -> dict:
    return {
        "metadata": {"labels": {"app": "web", **labels}},
        "spec": {"containers": [{"name": "c", "image": image}]},
    }


def deployment(replicas: int = 2, **annotations: str) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": "u-1",
            "annotations": annotations,
            "generation": 1,
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": template(),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "progressDeadlineSeconds": 600,
        },
    }


def test_the_pod_template_hash_has_the_real_shape_and_ignores_its_own_label_and_nulls():
    hashed = revisions.template_hash(template())
    assert 6 <= len(hashed) <= 10 and set(hashed) <= set(SAFE_ALPHABET)
    same = template(**{"pod-template-hash": hashed})
    same["metadata"]["creationTimestamp"] = None
    assert revisions.template_hash(same) == hashed
    assert revisions.template_hash(template("other")) != hashed
    assert revisions.template_hash(template(), collision_count=1) != hashed


def test_a_new_replica_set_is_named_labelled_selected_owned_and_annotated_as_upstream():
    d = deployment(
        **{"kubernetes.io/change-cause": "v2", "kubectl.kubernetes.io/last-applied-configuration": "{}"}
    )
    created = revisions.new_replica_set(d, [])
    revisions.new_rs_annotations(d, created, 1, exists=False)
    hashed = created["metadata"]["name"].removeprefix("web-")
    assert created["metadata"]["labels"] == {"app": "web", "pod-template-hash": hashed}
    assert created["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": hashed}}
    assert created["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == hashed
    assert created["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "web",
            "uid": "u-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert created["metadata"]["annotations"] == {
        "kubernetes.io/change-cause": "v2",
        "deployment.kubernetes.io/revision": "1",
        "deployment.kubernetes.io/desired-replicas": "2",
        "deployment.kubernetes.io/max-replicas": "3",
    }
    assert created["spec"]["replicas"] == 2, "no old pods: the whole size at once"


def test_a_replica_set_brought_back_by_undo_gets_the_next_revision_and_keeps_its_old_one():
    """What the real controller wrote after `kubectl rollout undo`: revision 3, history "1"."""
    old = revisions.new_replica_set(deployment(), [])
    revisions.new_rs_annotations(deployment(), old, 1, exists=False)
    assert revisions.new_rs_annotations(deployment(), old, 3, exists=True)
    assert old["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert old["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert not revisions.new_rs_annotations(deployment(), old, 3, exists=True), "nothing more to change"


def test_the_new_replica_set_is_the_one_whose_template_matches_but_for_the_hash():
    old = revisions.new_replica_set(deployment(), [])
    old["metadata"].update(uid="rs-1", creationTimestamp=OLD)
    changed = deployment()
    changed["spec"]["template"] = template("k8s-combat:v2")
    assert revisions.find_new(deployment(), [old]) is old
    assert revisions.find_new(changed, [old]) is None


# --- the Deployment's status ------------------------------------------------------------------


def replica_set(replicas: int, available: int, ready: int | None = None) -> dict:
    ready = available if ready is None else ready
    return {
        "metadata": {"name": "web-abc"},
        "spec": {"replicas": replicas},
        "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": available},
    }


def test_the_status_counts_come_from_the_replica_sets_and_available_follows_max_unavailable():
    d = deployment()
    status = deployment_status.calculate_status(d, revisions.view(d), [replica_set(2, 1)], None, NEW)
    assert (status["replicas"], status["updatedReplicas"], status["availableReplicas"]) == (2, 0, 1)
    assert status["unavailableReplicas"] == 1
    available = deployment_status.find_condition(status, "Available")
    assert (available["status"], available["reason"]) == ("False", "MinimumReplicasUnavailable")
    assert available["message"] == "Deployment does not have minimum availability."


def test_progressing_says_replica_set_updated_while_it_moves_then_successfully_progressed():
    d = deployment()
    d["status"] = {"replicas": 2, "updatedReplicas": 1, "availableReplicas": 2, "observedGeneration": 1}
    moving = {"replicas": 2, "updatedReplicas": 2, "availableReplicas": 1, "observedGeneration": 1}
    status = deployment_status.rollout_status(d, moving, "web-abc", NEW)
    progressing = deployment_status.find_condition(status, "Progressing")
    assert (progressing["reason"], progressing["message"]) == (
        "ReplicaSetUpdated",
        'ReplicaSet "web-abc" is progressing.',
    )
    done = {"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "observedGeneration": 1}
    d["status"] = status
    status = deployment_status.rollout_status(d, done, "web-abc", NEW)
    progressing = deployment_status.find_condition(status, "Progressing")
    assert progressing["reason"] == "NewReplicaSetAvailable"
    assert progressing["message"] == 'ReplicaSet "web-abc" has successfully progressed.'
    assert progressing["lastTransitionTime"] == NEW


def test_a_rollout_without_progress_past_its_deadline_times_out():
    d = deployment()
    d["spec"]["progressDeadlineSeconds"] = 60
    stuck = {"replicas": 3, "updatedReplicas": 1, "availableReplicas": 2, "observedGeneration": 1}
    d["status"] = {
        **stuck,
        "conditions": [deployment_status.condition("Progressing", "True", "ReplicaSetUpdated", "x", OLDER)],
    }
    assert deployment_status.deadline(d, d["status"]) is not None
    status = deployment_status.rollout_status(d, d["status"], "web-abc", NEW)  # calculate_status's
    progressing = deployment_status.find_condition(status, "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert progressing["message"] == 'ReplicaSet "web-abc" has timed out progressing.'


def test_a_condition_that_changes_reason_but_not_status_keeps_its_transition_time_and_moves_last():
    status = {
        "conditions": [deployment_status.condition("Progressing", "True", "NewReplicaSetCreated", "a", OLD)]
    }
    deployment_status.set_condition(
        status, deployment_status.condition("Available", "True", "MinimumReplicasAvailable", "b", NEW)
    )
    deployment_status.set_condition(
        status, deployment_status.condition("Progressing", "True", "NewReplicaSetAvailable", "c", NEW)
    )
    assert [c["type"] for c in status["conditions"]] == ["Available", "Progressing"]
    assert status["conditions"][1]["lastTransitionTime"] == OLD
    assert status["conditions"][1]["lastUpdateTime"] == NEW
