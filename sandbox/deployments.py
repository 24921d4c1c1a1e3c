"""The Deployment controller: each Deployment's ReplicaSets, its rollouts and its status.

From kubernetes/pkg/controller/deployment (``deployment_controller.go`` syncDeployment,
``sync.go`` getNewReplicaSet/scale/cleanupDeployment, ``rolling.go``, ``recreate.go``) and
``util/deployment_util.go``, v1.29. The arithmetic is ``sandbox.rollout``, the status
``sandbox.deployment_status``, the ReplicaSets' names and annotations ``sandbox.revisions``; this
module reads and writes the store:

- the ReplicaSet of the current pod template is ``<deployment>-<pod-template-hash>``, owned by
  the Deployment, its template and selector carrying ``pod-template-hash``, with the annotations
  ``deployment.kubernetes.io/revision`` (max of the old ones + 1; a ReplicaSet brought back by
  ``kubectl rollout undo`` gets the next number and keeps its old ones in ``revision-history``),
  ``desired-replicas`` and ``max-replicas``, and the Deployment's own annotations but
  ``kubectl.kubernetes.io/last-applied-configuration``; the Deployment gets the same revision;
- each scaling is event ``ScalingReplicaSet``: "Scaled up replica set NAME to N" when created,
  then "Scaled up|down replica set NAME to N from M";
- old ReplicaSets beyond ``revisionHistoryLimit`` (10) are deleted once drained.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable

from sandbox import defaulting, deployment_status, pods, resources, revisions, rollout
from sandbox.events import EventRecorder, Source, rfc3339
from sandbox.rollout import DeploymentView, Scale
from sandbox.selectors import label_selector_matches
from sandbox.store import Store

logger = logging.getLogger(__name__)
SOURCE = Source("deployment-controller")


class Deployments:
    def __init__(
        self, store: Store, recorder: EventRecorder, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.recorder = recorder
        self.clock = clock

    def sync(self) -> float | None:
        """One pass over every Deployment; returns when a rollout may time out, or None."""
        later = None
        for deployment in self.store.list(resources.DEPLOYMENTS):
            if deployment["metadata"].get("deletionTimestamp") or not (deployment.get("spec") or {}).get(
                "template"
            ):
                continue
            try:
                when = self._sync_one(deployment)
            except Exception:  # one broken object must not stop the others
                logger.exception("deployment %s: sync failed", deployment["metadata"]["name"])
                continue
            if when is not None:
                later = min(later or math.inf, when)
        return later

    # --- one Deployment ---------------------------------------------------------------------------

    def _sync_one(self, deployment: dict) -> float | None:
        now = rfc3339(self.clock())
        d = revisions.view(deployment)
        deployment.setdefault("status", {})
        deployment_status.paused_condition(deployment, deployment["status"], now)
        owned = self._claim(deployment)
        new_rs = revisions.find_new(deployment, owned)
        paused = bool(deployment["spec"].get("paused"))
        views = [revisions.rs_view(rs) for rs in owned]
        rolling = not (paused or rollout.is_scaling_event(d, views))
        if not rolling:
            new_rs = self._new_rs(deployment, owned, create=False)
            olds = [
                rs for rs in owned if new_rs is None or rs["metadata"]["uid"] != new_rs["metadata"]["uid"]
            ]
            scales = rollout.proportional_scale(
                d, revisions.rs_view(new_rs) if new_rs else None, [revisions.rs_view(o) for o in olds]
            )
            self._apply(deployment, scales, annotations_too=len(rollout.active(views)) > 1)
            if paused:
                self._clean_history(deployment, olds)
            owned = self._owned(deployment)
            new_rs = revisions.find_new(deployment, owned)
            status = deployment_status.calculate_status(deployment, d, owned, new_rs, now)
        else:
            new_rs = self._rollout(deployment, d, owned, new_rs)
            owned = self._owned(deployment)
            calculated = deployment_status.calculate_status(deployment, d, owned, new_rs, now)
            name = new_rs["metadata"]["name"] if new_rs else None
            status = deployment_status.rollout_status(deployment, calculated, name, now)
        status = deployment_status.without_zeros(status)
        metadata = deployment["metadata"]
        current = self.store.get(resources.DEPLOYMENTS, metadata.get("namespace", ""), metadata["name"])
        if current is not None:
            wanted = copy.deepcopy(current)
            wanted["status"] = status
            revision = (metadata.get("annotations") or {}).get(revisions.REVISION)
            if revision is not None:
                wanted["metadata"].setdefault("annotations", {})[revisions.REVISION] = revision
            if wanted != current:
                self.store.update(resources.DEPLOYMENTS, wanted, status=True)
        # Only a rollout times out (syncRolloutStatus); a paused or scaling Deployment does not.
        return deployment_status.deadline(deployment, status) if rolling else None

    def _rollout(
        self, deployment: dict, d: DeploymentView, owned: list[dict], new_rs: dict | None
    ) -> dict | None:
        olds = [rs for rs in owned if new_rs is None or rs["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        if d.strategy == "Recreate":
            new_rs = self._new_rs(deployment, owned, create=False)
            old_uids = {rs["metadata"]["uid"] for rs in olds}
            left = any(
                (pods.controller_of(p) or {}).get("uid") in old_uids
                and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
                for p in self.store.list(resources.PODS)
            )
            scales = rollout.recreate_step(
                d,
                revisions.rs_view(new_rs) if new_rs else None,
                [revisions.rs_view(o) for o in olds],
                old_pods_left=left or sum(revisions.rs_view(o).actual for o in olds) > 0,
            )
            if scales is None:
                new_rs = self._new_rs(deployment, owned, create=True)
                scales = []
        else:
            new_rs = self._new_rs(deployment, owned, create=True)
            scales = (
                rollout.rolling_step(d, revisions.rs_view(new_rs), [revisions.rs_view(o) for o in olds])
                if new_rs
                else []
            )
        self._apply(deployment, scales, annotations_too=False)
        if not scales and deployment_status.complete(deployment, deployment.get("status") or {}):
            self._clean_history(deployment, olds)
        return revisions.find_new(deployment, self._owned(deployment)) or new_rs

    # --- ReplicaSets ------------------------------------------------------------------------------

    def _owned(self, deployment: dict) -> list[dict]:
        uid, namespace = deployment["metadata"]["uid"], deployment["metadata"].get("namespace", "")
        return [
            rs
            for rs in self.store.list(resources.REPLICA_SETS)
            if rs["metadata"].get("namespace", "") == namespace
            and (pods.controller_of(rs) or {}).get("uid") == uid
        ]

    def _claim(self, deployment: dict) -> list[dict]:
        """ClaimReplicaSets: adopt matching orphans, release owned ones no longer matched."""
        uid, namespace = deployment["metadata"]["uid"], deployment["metadata"].get("namespace", "")
        selector = deployment["spec"].get("selector")
        for rs in self.store.list(resources.REPLICA_SETS):
            if rs["metadata"].get("namespace", "") != namespace or rs["metadata"].get("deletionTimestamp"):
                continue
            owner = pods.controller_of(rs)
            matches = label_selector_matches(selector, rs["metadata"].get("labels"))
            if owner is None and matches:
                rs["metadata"]["ownerReferences"] = [
                    *(rs["metadata"].get("ownerReferences") or []),
                    pods.owner_reference(deployment),
                ]
                self.store.update(resources.REPLICA_SETS, rs)
            elif owner is not None and owner.get("uid") == uid and not matches:
                rs["metadata"]["ownerReferences"] = [
                    r for r in rs["metadata"]["ownerReferences"] if r.get("uid") != uid
                ]
                self.store.update(resources.REPLICA_SETS, rs)
        return self._owned(deployment)

    def _new_rs(self, deployment: dict, owned: list[dict], *, create: bool) -> dict | None:
        """getNewReplicaSet: sync the new ReplicaSet's annotations and the Deployment's revision;
        create the ReplicaSet if there is none and ``create``."""
        existing = revisions.find_new(deployment, owned)
        olds = [
            rs for rs in owned if existing is None or rs["metadata"]["uid"] != existing["metadata"]["uid"]
        ]
        revision = max((revisions.rs_view(rs).revision for rs in olds), default=0) + 1
        status = deployment["status"]
        metadata = deployment["metadata"]
        if existing is not None:
            wanted_ready = deployment["spec"].get("minReadySeconds", 0)
            changed = revisions.new_rs_annotations(deployment, existing, revision, exists=True)
            if changed or existing["spec"].get("minReadySeconds", 0) != wanted_ready:
                if wanted_ready:
                    existing["spec"]["minReadySeconds"] = wanted_ready
                else:
                    existing["spec"].pop("minReadySeconds", None)
                existing = self.store.update(resources.REPLICA_SETS, existing)
            metadata.setdefault("annotations", {})[revisions.REVISION] = existing["metadata"]["annotations"][
                revisions.REVISION
            ]
            if (
                deployment_status.has_progress_deadline(deployment)
                and deployment_status.find_condition(status, "Progressing") is None
            ):
                message = f'Found new replica set "{existing["metadata"]["name"]}"'
                deployment_status.set_condition(
                    status,
                    deployment_status.condition(
                        "Progressing", "True", "FoundNewReplicaSet", message, rfc3339(self.clock())
                    ),
                )
            return existing
        if not create:
            return None
        replica_set = revisions.new_replica_set(deployment, olds)
        name = replica_set["metadata"]["name"]
        taken = self.store.get(resources.REPLICA_SETS, replica_set["metadata"]["namespace"], name)
        if taken is not None:  # a hash collision: count it, the next sync tries another name
            status["collisionCount"] = status.get("collisionCount", 0) + 1
            return None
        revisions.new_rs_annotations(deployment, replica_set, revision, exists=False)
        defaulting.apply_defaults(resources.REPLICA_SETS, replica_set)
        created = self.store.create(resources.REPLICA_SETS, replica_set)
        replicas = created["spec"]["replicas"]
        if replicas > 0:
            self.recorder.record(
                deployment,
                "Normal",
                "ScalingReplicaSet",
                f"Scaled up replica set {name} to {replicas}",
                SOURCE,
            )
        metadata.setdefault("annotations", {})[revisions.REVISION] = str(revision)
        if deployment_status.has_progress_deadline(deployment):
            deployment_status.set_condition(
                status,
                deployment_status.condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetCreated",
                    f'Created new replica set "{name}"',
                    rfc3339(self.clock()),
                ),
            )
        return created

    def _apply(self, deployment: dict, scales: list[Scale], *, annotations_too: bool) -> None:
        """scaleReplicaSet for each step: the size, the replica annotations, the event."""
        d = revisions.view(deployment)
        desired, most = str(d.replicas), str(d.replicas + rollout.max_surge(d))
        namespace = deployment["metadata"].get("namespace", "")
        for scale in scales:
            rs = self.store.get(resources.REPLICA_SETS, namespace, scale.name)
            if rs is None:
                continue
            old = rs["spec"].get("replicas", 1)
            annotations = rs["metadata"].setdefault("annotations", {})
            stale = (
                annotations.get(revisions.DESIRED) != desired
                or annotations.get(revisions.MAX_REPLICAS) != most
            )
            if old == scale.replicas and not (annotations_too and stale):
                continue
            rs["spec"]["replicas"] = scale.replicas
            annotations[revisions.DESIRED], annotations[revisions.MAX_REPLICAS] = desired, most
            self.store.update(resources.REPLICA_SETS, rs)
            if old != scale.replicas:
                message = f"Scaled {scale.operation} replica set {scale.name} to {scale.replicas} from {old}"
                self.recorder.record(deployment, "Normal", "ScalingReplicaSet", message, SOURCE)

    def _clean_history(self, deployment: dict, olds: list[dict]) -> None:
        """cleanupDeployment: old ReplicaSets beyond revisionHistoryLimit, drained ones only."""
        namespace = deployment["metadata"].get("namespace", "")
        live = [rs for rs in olds if not rs["metadata"].get("deletionTimestamp")]
        for name in rollout.history_to_delete(
            [revisions.rs_view(rs) for rs in live], revisions.view(deployment).revision_history_limit
        ):
            self.store.delete(resources.REPLICA_SETS, namespace, name)
