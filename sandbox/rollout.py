"""The Deployment controller's arithmetic: what one sync scales, as pure functions.

Ported from kubernetes/pkg/controller/deployment (``rolling.go``, ``recreate.go``, ``sync.go``)
and its ``util/deployment_util.go``, v1.29: the same fenceposts, the same order of ReplicaSets,
the same rounding. A sync does one step and returns; the controller syncs again when a
ReplicaSet's status changes (a new pod became available), so a rollout advances with readiness:

- ``rolling_step``: scale the new ReplicaSet up as far as ``maxSurge`` allows, else scale the old
  ones down as far as ``maxUnavailable`` and the available pods allow (unhealthy old replicas
  first).
- ``recreate_step``: every old ReplicaSet to 0, then (once no old pod is left) the new one up.
- ``proportional_scale``: a change of ``spec.replicas`` alone (``is_scaling_event``) spreads the
  difference over the active ReplicaSets in proportion to their size.
- ``history_to_delete``: old, empty ReplicaSets beyond ``revisionHistoryLimit``.

Counts are pods; "available" is the ReplicaSet status' ``availableReplicas``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ReplicaSetView:
    """What the arithmetic needs of one ReplicaSet (its spec, status and annotations)."""

    name: str
    replicas: int  # spec.replicas
    available: int = 0  # status.availableReplicas
    actual: int = 0  # status.replicas
    created: str = ""  # metadata.creationTimestamp, RFC 3339: orders ReplicaSets
    revision: int = 0  # deployment.kubernetes.io/revision
    desired_replicas: int | None = None  # deployment.kubernetes.io/desired-replicas
    max_replicas: int | None = None  # deployment.kubernetes.io/max-replicas
    generation: int = 1
    observed_generation: int = 0


@dataclass(frozen=True)
class DeploymentView:
    """A Deployment's spec as the arithmetic reads it; ``status_replicas`` is status.replicas."""

    replicas: int
    strategy: str = "RollingUpdate"  # or "Recreate"
    max_surge: int | str = "25%"
    max_unavailable: int | str = "25%"
    status_replicas: int = 0
    revision_history_limit: int = 10


@dataclass(frozen=True)
class Scale:
    """Set ReplicaSet ``name`` to ``replicas``; ``operation`` ("up"/"down") words the event."""

    name: str
    replicas: int
    operation: str


def scaled_value(value: int | str, total: int, *, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int as is, "25%" of ``total`` rounded."""
    if isinstance(value, int):
        return value
    percent = int(value.rstrip("%"))
    exact = percent * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def fenceposts(d: DeploymentView) -> tuple[int, int]:
    """deploymentutil.ResolveFenceposts: (maxSurge, maxUnavailable) in pods; never both 0."""
    surge = scaled_value(d.max_surge, d.replicas, round_up=True)
    unavailable = scaled_value(d.max_unavailable, d.replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # the upstream comment: surge might not work due to quota
    return surge, unavailable


def max_surge(d: DeploymentView) -> int:
    return fenceposts(d)[0] if d.strategy == "RollingUpdate" else 0


def max_unavailable(d: DeploymentView) -> int:
    if d.strategy != "RollingUpdate" or d.replicas == 0:
        return 0
    return min(fenceposts(d)[1], d.replicas)


def _by_creation(rss: Sequence[ReplicaSetView]) -> list[ReplicaSetView]:
    """controller.ReplicaSetsByCreationTimestamp: oldest first, then by name."""
    return sorted(rss, key=lambda rs: (rs.created, rs.name))


def active(rss: Sequence[ReplicaSetView | None]) -> list[ReplicaSetView]:
    """controller.FilterActiveReplicaSets: those with spec.replicas > 0."""
    return [rs for rs in rss if rs is not None and rs.replicas > 0]


def new_rs_replicas(d: DeploymentView, all_rss: Sequence[ReplicaSetView], new_rs: ReplicaSetView) -> int:
    """deploymentutil.NewRSNewReplicas: how far the new ReplicaSet may grow now."""
    if d.strategy != "RollingUpdate":
        return d.replicas
    surge = scaled_value(d.max_surge, d.replicas, round_up=True)
    current = sum(rs.replicas for rs in all_rss)
    most = d.replicas + surge
    if current >= most:
        return new_rs.replicas
    return new_rs.replicas + min(most - current, d.replicas - new_rs.replicas)


def _scale(rs: ReplicaSetView, replicas: int) -> Scale:
    return Scale(rs.name, replicas, "up" if replicas > rs.replicas else "down")


def rolling_step(d: DeploymentView, new_rs: ReplicaSetView, old_rss: Sequence[ReplicaSetView]) -> list[Scale]:
    """rolloutRolling: scale the new ReplicaSet (reconcileNewReplicaSet), or else the old ones
    (reconcileOldReplicaSets); ``[]`` when neither may move (waiting for readiness, or done)."""
    all_rss = [*old_rss, new_rs]
    if new_rs.replicas > d.replicas:
        return [_scale(new_rs, d.replicas)]
    if new_rs.replicas < d.replicas:
        wanted = new_rs_replicas(d, all_rss, new_rs)
        if wanted != new_rs.replicas:
            return [_scale(new_rs, wanted)]
    return _scale_down_old(d, new_rs, active(old_rss))


def _scale_down_old(
    d: DeploymentView, new_rs: ReplicaSetView, old_rss: Sequence[ReplicaSetView]
) -> list[Scale]:
    if sum(rs.replicas for rs in old_rss) == 0:
        return []
    all_count = sum(rs.replicas for rs in [*old_rss, new_rs])
    min_available = d.replicas - max_unavailable(d)
    new_unavailable = new_rs.replicas - new_rs.available
    most = all_count - min_available - new_unavailable
    if most <= 0:
        return []
    actions: list[Scale] = []
    # cleanupUnhealthyReplicas: the old ReplicaSets' unavailable pods go first.
    old = _by_creation(old_rss)
    cleaned = 0
    for index, rs in enumerate(old):
        if cleaned >= most:
            break
        if rs.replicas == 0 or rs.replicas == rs.available:
            continue
        count = min(most - cleaned, rs.replicas - rs.available)
        actions.append(Scale(rs.name, rs.replicas - count, "down"))
        old[index] = replace(rs, replicas=rs.replicas - count)
        cleaned += count
    # scaleDownOldReplicaSetsForRollingUpdate: then as many as availability allows.
    available = sum(rs.available for rs in [*old, new_rs])
    if available > min_available:
        budget, done = available - min_available, 0
        for rs in old:
            if done >= budget:
                break
            if rs.replicas == 0:
                continue
            count = min(rs.replicas, budget - done)
            actions.append(Scale(rs.name, rs.replicas - count, "down"))
            done += count
    return actions


def recreate_step(
    d: DeploymentView,
    new_rs: ReplicaSetView | None,
    old_rss: Sequence[ReplicaSetView],
    *,
    old_pods_left: bool,
) -> list[Scale] | None:
    """rolloutRecreate: old ReplicaSets to 0; while old pods remain, nothing; then the new one
    to ``d.replicas``. ``None`` means "create the new ReplicaSet now, with d.replicas"."""
    down = [_scale(rs, 0) for rs in active(old_rss)]
    if down:
        return down
    if old_pods_left:
        return []
    if new_rs is None:
        return None
    return [_scale(new_rs, d.replicas)] if new_rs.replicas != d.replicas else []


def is_scaling_event(d: DeploymentView, rss: Sequence[ReplicaSetView | None]) -> bool:
    """isScalingEvent: an active ReplicaSet was sized for another ``spec.replicas``."""
    return any(rs.desired_replicas is not None and rs.desired_replicas != d.replicas for rs in active(rss))


def _saturated(d: DeploymentView, rs: ReplicaSetView | None) -> bool:
    return (
        rs is not None
        and rs.desired_replicas == d.replicas
        and rs.replicas == d.replicas
        and rs.available == d.replicas
    )


def _fraction(rs: ReplicaSetView, d: DeploymentView) -> int:
    """getReplicaSetFraction: this ReplicaSet's share of the new size, minus its size."""
    if d.replicas == 0:
        return -rs.replicas
    allowed = d.replicas + max_surge(d)
    annotated = rs.max_replicas if rs.max_replicas is not None else d.status_replicas
    if annotated == 0:
        return 0
    exact = rs.replicas * allowed / annotated
    return int(exact + 0.5) - rs.replicas  # integer.RoundToInt32: half away from 0 (exact >= 0)


def proportional_scale(
    d: DeploymentView, new_rs: ReplicaSetView | None, old_rss: Sequence[ReplicaSetView]
) -> list[Scale]:
    """DeploymentController.scale: a new ``spec.replicas`` applied to the ReplicaSets."""
    olds_newest_first = _by_creation(old_rss)[::-1]
    everyone = active([*olds_newest_first, new_rs])
    if new_rs is None and not old_rss:
        return []
    if len(everyone) <= 1:
        target = everyone[0] if everyone else (new_rs or olds_newest_first[0])
        return [] if target.replicas == d.replicas else [_scale(target, d.replicas)]
    if _saturated(d, new_rs):
        return [_scale(rs, 0) for rs in active(old_rss)]
    if d.strategy != "RollingUpdate":
        return []
    allowed = d.replicas + max_surge(d) if d.replicas > 0 else 0
    to_add = allowed - sum(rs.replicas for rs in everyone)
    if to_add > 0:  # ReplicaSetsBySizeNewer: the largest first, then the newest
        ordered = sorted(_by_creation(everyone)[::-1], key=lambda rs: -rs.replicas)
    elif to_add < 0:  # ReplicaSetsBySizeOlder: the largest first, then the oldest
        ordered = sorted(_by_creation(everyone), key=lambda rs: -rs.replicas)
    else:
        ordered = everyone
    sizes, added = {}, 0
    for rs in ordered:
        proportion = 0
        if to_add != 0 and rs.replicas != 0 and to_add != added:
            fraction, left = _fraction(rs, d), to_add - added
            proportion = min(fraction, left) if to_add > 0 else max(fraction, left)
        sizes[rs.name] = rs.replicas + proportion
        added += proportion
    if to_add != 0 and ordered:
        first = ordered[0].name
        sizes[first] = max(sizes[first] + to_add - added, 0)  # leftovers to the largest
    # Every active ReplicaSet is written (scaleReplicaSet), if only for its annotations.
    operation = "up" if to_add > 0 else "down"
    return [Scale(rs.name, sizes[rs.name], operation) for rs in ordered]


def history_to_delete(old_rss: Sequence[ReplicaSetView], limit: int) -> list[str]:
    """cleanupDeployment: the oldest revisions beyond ``revisionHistoryLimit``, if drained."""
    excess = len(old_rss) - limit
    if excess <= 0:
        return []
    ordered = sorted(old_rss, key=lambda rs: (rs.revision, rs.created, rs.name))[:excess]
    return [
        rs.name
        for rs in ordered
        if rs.actual == 0 and rs.replicas == 0 and rs.generation <= rs.observed_generation
    ]
