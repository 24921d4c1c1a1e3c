"""The ReplicaSet controller: every ReplicaSet keeps ``spec.replicas`` pods and reports them.

From kubernetes/pkg/controller/replicaset/replica_set.go (syncReplicaSet, manageReplicas,
calculateStatus) and pkg/controller/controller_utils.go (ActivePodsWithRanks), v1.29:

- its pods are those whose controller ownerReference is the ReplicaSet; an orphan pod its
  selector matches is adopted, an owned pod it no longer matches is released (so ``kubectl label
  pod NAME app-`` takes a pod out, and the ReplicaSet makes a new one);
- too few active pods: new ones from the template, ``<replicaset>-<5 characters>``, event
  ``SuccessfulCreate`` "Created pod: NAME"; too many: the lowest-ranked are deleted (unscheduled,
  pending, not ready, lower pod-deletion-cost, ready for less time, more restarts, newer: first),
  event ``SuccessfulDelete`` "Deleted pod: NAME";
- status: ``replicas`` (active pods), ``fullyLabeledReplicas``, ``readyReplicas``,
  ``availableReplicas`` (ready for ``minReadySeconds``), ``observedGeneration``.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sandbox import defaulting, pods, resources
from sandbox.events import EventRecorder, Source
from sandbox.selectors import label_selector_matches
from sandbox.store import Store

logger = logging.getLogger(__name__)
SOURCE = Source("replicaset-controller")
BURST_REPLICAS = 500  # the most pods one sync creates or deletes
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def _epoch(timestamp: str | None) -> float | None:
    if not timestamp:
        return None
    return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def _log_rank(moment: float, now: float) -> int:
    """logarithmicRankDiff's rank: log2 of the age in nanoseconds."""
    age = (now - moment) * 1e9
    return int(math.log2(age)) if age > 0 else -1


def _compare(a: dict, b: dict, now: float) -> int:
    """ActivePodsWithRanks.Less as a comparison: negative when ``a`` goes first."""

    def first(flag: bool) -> int:
        return -1 if flag else 1

    assigned_a, assigned_b = bool(a["spec"].get("nodeName")), bool(b["spec"].get("nodeName"))
    if assigned_a != assigned_b:
        return first(not assigned_a)
    phase_a = _PHASE_RANK.get((a.get("status") or {}).get("phase", "Pending"), 0)
    phase_b = _PHASE_RANK.get((b.get("status") or {}).get("phase", "Pending"), 0)
    if phase_a != phase_b:
        return first(phase_a < phase_b)
    ready_a, ready_b = pods.is_ready(a), pods.is_ready(b)
    if ready_a != ready_b:
        return first(not ready_a)
    cost_a, cost_b = _deletion_cost(a), _deletion_cost(b)
    if cost_a != cost_b:
        return first(cost_a < cost_b)
    if ready_a and ready_b:
        since_a, since_b = _epoch(pods.ready_since(a)), _epoch(pods.ready_since(b))
        if since_a != since_b and since_a is not None and since_b is not None:
            diff = _log_rank(since_a, now) - _log_rank(since_b, now)
            if diff:
                return first(diff < 0)
    restarts_a, restarts_b = _restarts(a), _restarts(b)
    if restarts_a != restarts_b:
        return first(restarts_a > restarts_b)
    created_a, created_b = (
        _epoch(a["metadata"].get("creationTimestamp")),
        _epoch(b["metadata"].get("creationTimestamp")),
    )
    if created_a != created_b and created_a is not None and created_b is not None:
        diff = _log_rank(created_a, now) - _log_rank(created_b, now)
        if diff:
            return first(diff < 0)
    return 0


def _deletion_cost(pod: dict) -> int:
    try:
        return int((pod["metadata"].get("annotations") or {}).get(DELETION_COST, 0))
    except ValueError:
        return 0


def _restarts(pod: dict) -> int:
    return max(
        (s.get("restartCount", 0) for s in (pod.get("status") or {}).get("containerStatuses") or []),
        default=0,
    )


def to_delete(active: list[dict], count: int, now: float) -> list[dict]:
    """getPodsToDelete: the ``count`` lowest-ranked pods."""
    ranked = sorted(active, key=functools.cmp_to_key(lambda a, b: _compare(a, b, now)))
    return ranked[:count]


def replica_set_status(replica_set: dict, owned: list[dict], now: float) -> tuple[dict, float | None]:
    """calculateStatus; also when the next pod becomes available (minReadySeconds), or None."""
    active = [pod for pod in owned if pods.is_active(pod)]
    template_labels = ((replica_set["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = replica_set["spec"].get("minReadySeconds", 0)
    ready = available = labelled = 0
    later = None
    for pod in active:
        labels = pod["metadata"].get("labels") or {}
        labelled += all(labels.get(k) == v for k, v in template_labels.items())
        if pods.is_ready(pod):
            ready += 1
            since = _epoch(pods.ready_since(pod)) or now
            if min_ready == 0 or since + min_ready < now:
                available += 1
            else:
                later = min(later or math.inf, since + min_ready)
    status = {
        "replicas": len(active),
        "fullyLabeledReplicas": labelled,
        "readyReplicas": ready,
        "availableReplicas": available,
        "observedGeneration": replica_set["metadata"].get("generation", 1),
    }
    return {k: v for k, v in status.items() if v or k == "replicas"}, later


class ReplicaSets:
    """``delete_pod(pod)`` deletes gracefully, as a DELETE through the API server would."""

    def __init__(
        self,
        store: Store,
        recorder: EventRecorder,
        *,
        delete_pod: Callable[[dict], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.recorder = recorder
        self.delete_pod = delete_pod
        self.clock = clock

    def sync(self) -> float | None:
        """One pass over every ReplicaSet; returns when to sync again for availability, or None."""
        later = None
        listed = self.store.list(resources.PODS, copy=False)  # read; a claim changes a copy
        for replica_set in self.store.list(resources.REPLICA_SETS):
            if replica_set["metadata"].get("deletionTimestamp") or not (replica_set.get("spec") or {}).get(
                "template"
            ):
                continue
            try:
                when = self._sync_one(replica_set, listed)
            except Exception:  # one broken object must not stop the others
                logger.exception("replicaset %s: sync failed", replica_set["metadata"]["name"])
                continue
            if when is not None:
                later = min(later or math.inf, when)
        return later

    def _sync_one(self, replica_set: dict, listed: list[dict]) -> float | None:
        """``listed``: every pod as stored (read only: ``_claim`` changes copies)."""
        metadata = replica_set["metadata"]
        namespace, uid = metadata.get("namespace", ""), metadata["uid"]
        owned = self._claim(
            replica_set, [p for p in listed if p["metadata"].get("namespace", "") == namespace]
        )
        active = [pod for pod in owned if pods.is_active(pod)]
        diff = len(active) - replica_set["spec"].get("replicas", 1)
        if diff < 0:
            for _ in range(min(-diff, BURST_REPLICAS)):
                pod = self._create(replica_set)
                owned.append(pod)
                self.recorder.record(
                    replica_set,
                    "Normal",
                    "SuccessfulCreate",
                    f"Created pod: {pod['metadata']['name']}",
                    SOURCE,
                )
        elif diff > 0:
            for pod in to_delete(active, min(diff, BURST_REPLICAS), self.clock()):
                self.delete_pod(pod)
                self.recorder.record(
                    replica_set,
                    "Normal",
                    "SuccessfulDelete",
                    f"Deleted pod: {pod['metadata']['name']}",
                    SOURCE,
                )
            owned = [
                p for p in self.store.list(resources.PODS) if (pods.controller_of(p) or {}).get("uid") == uid
            ]
        status, later = replica_set_status(replica_set, owned, self.clock())
        current = self.store.get(resources.REPLICA_SETS, namespace, metadata["name"])
        if current is not None and current.get("status") != status:
            current["status"] = status
            self.store.update(resources.REPLICA_SETS, current, status=True)
        return later

    def _claim(self, replica_set: dict, candidates: list[dict]) -> list[dict]:
        """ClaimPods: adopt matching orphans, release owned pods the selector no longer matches."""
        uid, selector = replica_set["metadata"]["uid"], replica_set["spec"].get("selector")
        owned = []
        for pod in candidates:
            owner = pods.controller_of(pod)
            matches = label_selector_matches(selector, pod["metadata"].get("labels"))
            if owner is not None and owner.get("uid") == uid:
                if matches or pod["metadata"].get("deletionTimestamp"):
                    owned.append(pod)
                else:
                    pod = self._fresh(pod)
                    refs = [r for r in pod["metadata"]["ownerReferences"] if r.get("uid") != uid]
                    pod["metadata"]["ownerReferences"] = refs
                    if not refs:
                        del pod["metadata"]["ownerReferences"]
                    self.store.update(resources.PODS, pod)
            elif owner is None and matches and pods.is_active(pod):
                pod = self._fresh(pod)
                pod["metadata"]["ownerReferences"] = [
                    *(pod["metadata"].get("ownerReferences") or []),
                    pods.owner_reference(replica_set),
                ]
                owned.append(self.store.update(resources.PODS, pod))
        return owned

    def _fresh(self, pod: dict) -> dict:
        """A copy of the pod as stored now, to change and write back."""
        metadata = pod["metadata"]
        return self.store.get(resources.PODS, metadata.get("namespace", ""), metadata["name"]) or pod

    def _create(self, replica_set: dict) -> dict:
        while True:
            pod = pods.from_template(replica_set)
            if self.store.get(resources.PODS, pod["metadata"]["namespace"], pod["metadata"]["name"]) is None:
                break
        defaulting.apply_defaults(resources.PODS, pod)  # as the API server defaults any new pod
        return self.store.create(resources.PODS, pod)
