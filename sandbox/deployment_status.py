"""A Deployment's status, as the Deployment controller computes it: pure functions on dicts.

From kubernetes/pkg/controller/deployment ``sync.go`` (calculateStatus), ``progress.go``
(syncRolloutStatus) and ``util/deployment_util.go`` (the condition helpers), v1.29. Counts are
sums over the Deployment's ReplicaSets' status; ``Available`` says whether at least
``replicas - maxUnavailable`` pods are available; ``Progressing`` follows the rollout:
NewReplicaSetCreated / FoundNewReplicaSet, ReplicaSetUpdated while it moves,
NewReplicaSetAvailable once complete, ProgressDeadlineExceeded after ``progressDeadlineSeconds``
without progress. ``kubectl rollout status`` reads exactly these fields.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from sandbox.rollout import DeploymentView, max_unavailable

MAX_INT32 = 2**31 - 1


def condition(kind: str, status: str, reason: str, message: str, now: str) -> dict:
    """deploymentutil.NewDeploymentCondition: both times are ``now``."""
    return {
        "type": kind,
        "status": status,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


def find_condition(status: dict, kind: str) -> dict | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def set_condition(status: dict, new: dict) -> None:
    """deploymentutil.SetDeploymentCondition: the same status and reason is no change; a new
    reason with the same status keeps lastTransitionTime; the condition moves to the end."""
    current = find_condition(status, new["type"])
    if current is not None and current["status"] == new["status"] and current.get("reason") == new["reason"]:
        return
    if current is not None and current["status"] == new["status"]:
        new = {**new, "lastTransitionTime": current["lastTransitionTime"]}
    others = [c for c in status.get("conditions") or [] if c.get("type") != new["type"]]
    status["conditions"] = [*others, new]


def remove_condition(status: dict, kind: str) -> None:
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != kind]


def has_progress_deadline(deployment: dict) -> bool:
    seconds = deployment["spec"].get("progressDeadlineSeconds")
    return seconds is not None and seconds != MAX_INT32


def _total(rss: list[dict], field: str) -> int:
    return sum((rs.get("status") or {}).get(field, 0) for rs in rss)


def calculate_status(
    deployment: dict, view: DeploymentView, all_rss: list[dict], new_rs: dict | None, now: str
) -> dict:
    """calculateStatus: the counts from the ReplicaSets, and the Available condition."""
    available = _total(all_rss, "availableReplicas")
    total = sum(rs["spec"].get("replicas", 1) for rs in all_rss)
    old = deployment.get("status") or {}
    status = {
        "observedGeneration": deployment["metadata"].get("generation", 1),
        "replicas": _total(all_rss, "replicas"),
        "updatedReplicas": _total([new_rs] if new_rs else [], "replicas"),
        "readyReplicas": _total(all_rss, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(total - available, 0),
        "collisionCount": old.get("collisionCount", 0),
        "conditions": copy.deepcopy(old.get("conditions") or []),
    }
    if available >= view.replicas - max_unavailable(view):
        set_condition(
            status,
            condition(
                "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", now
            ),
        )
    else:
        set_condition(
            status,
            condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                now,
            ),
        )
    return status


def complete(deployment: dict, status: dict) -> bool:
    """deploymentutil.DeploymentComplete."""
    wanted = deployment["spec"].get("replicas", 1)
    return (
        status.get("updatedReplicas", 0) == wanted
        and status.get("replicas", 0) == wanted
        and status.get("availableReplicas", 0) == wanted
        and status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 1)
    )


def _progressing(deployment: dict, status: dict) -> bool:
    """deploymentutil.DeploymentProgressing: any count moved the right way since last time."""
    old = deployment.get("status") or {}
    old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_old = status.get("replicas", 0) - status.get("updatedReplicas", 0)
    return (
        status.get("updatedReplicas", 0) > old.get("updatedReplicas", 0)
        or new_old < old_old
        or status.get("readyReplicas", 0) > old.get("readyReplicas", 0)
        or status.get("availableReplicas", 0) > old.get("availableReplicas", 0)
    )


def _seconds(timestamp: str) -> float:
    return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def deadline(deployment: dict, status: dict) -> float | None:
    """When (epoch seconds) the rollout times out if it makes no progress, or None."""
    found = find_condition(status, "Progressing")
    if not has_progress_deadline(deployment) or found is None:
        return None
    if found.get("reason") in ("NewReplicaSetAvailable", "ProgressDeadlineExceeded"):
        return None
    return _seconds(found["lastUpdateTime"]) + deployment["spec"]["progressDeadlineSeconds"]


def rollout_status(deployment: dict, status: dict, new_rs_name: str | None, now: str) -> dict:
    """syncRolloutStatus: ``status`` with its Progressing condition brought up to date."""
    status = copy.deepcopy(status)
    if not has_progress_deadline(deployment):
        remove_condition(status, "Progressing")
        return status
    current = find_condition(deployment.get("status") or {}, "Progressing")
    done = (
        status.get("replicas", 0) == status.get("updatedReplicas", 0)
        and current is not None
        and current.get("reason") == "NewReplicaSetAvailable"
    )
    if done:
        return status
    subject = (
        f'ReplicaSet "{new_rs_name}"' if new_rs_name else f'Deployment "{deployment["metadata"]["name"]}"'
    )
    if complete(deployment, status):
        set_condition(
            status,
            condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f"{subject} has successfully progressed.",
                now,
            ),
        )
    elif _progressing(deployment, status):
        new = condition("Progressing", "True", "ReplicaSetUpdated", f"{subject} is progressing.", now)
        if current is not None:
            if current["status"] == "True":
                new["lastTransitionTime"] = current["lastTransitionTime"]
            remove_condition(status, "Progressing")
        set_condition(status, new)
    else:
        timeout = deadline(deployment, status)
        if timeout is not None and timeout < _seconds(now):
            set_condition(
                status,
                condition(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    f"{subject} has timed out progressing.",
                    now,
                ),
            )
    return status


def paused_condition(deployment: dict, status: dict, now: str) -> bool:
    """checkPausedConditions: Progressing Unknown DeploymentPaused / DeploymentResumed.
    Returns whether ``status`` changed."""
    if not has_progress_deadline(deployment):
        return False
    found = find_condition(status, "Progressing")
    paused = bool(deployment["spec"].get("paused"))
    if paused and (found is None or found.get("reason") != "DeploymentPaused"):
        set_condition(
            status, condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now)
        )
        return True
    if not paused and found is not None and found.get("reason") == "DeploymentPaused":
        set_condition(
            status, condition("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", now)
        )
        return True
    return False


def without_zeros(status: dict) -> dict:
    """As the API serializes DeploymentStatus: zero counts and empty lists are omitted."""
    return {key: value for key, value in status.items() if value not in (0, None, [])}
