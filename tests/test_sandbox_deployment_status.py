"""A Deployment's status, as pure functions (sandbox.deployment_status): its counts from the
ReplicaSets, and the Available and Progressing conditions with upstream's reasons, messages and
transition times."""

from __future__ import annotations

from sandbox import deployment_status, revisions
from tests.support.deployments import NEW, OLD, OLDER, deployment


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
