"""A Deployment's ReplicaSets: names, pod-template-hash, revisions. Pure functions on dicts.

From kubernetes/pkg/controller/deployment/util/deployment_util.go and sync.go (getNewReplicaSet),
v1.29: the new ReplicaSet is ``<deployment>-<pod-template-hash>``, its template and selector
carry the hash label, its annotations say its revision (the old ones' highest + 1; a ReplicaSet
brought back by a rollback keeps its earlier numbers in ``revision-history``), the replica
counts it was sized for, and the Deployment's own annotations but last-applied-configuration.

The template hash is FNV-32a over the template's canonical JSON (sorted keys), encoded as
upstream's (rand.SafeEncodeString of the decimal number); upstream hashes Go's printed structure
instead, so the names have the real shape but not the real values.
"""

from __future__ import annotations

import copy
import json

from sandbox import pods, rollout
from sandbox.objects import SAFE_ALPHABET
from sandbox.rollout import DeploymentView, ReplicaSetView

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
NOT_COPIED = {
    LAST_APPLIED,
    REVISION,
    REVISION_HISTORY,
    DESIRED,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
}
MAX_HISTORY_CHARS = 2000  # the controller's maxRevHistoryLengthInChars


def _pruned(value):
    """Drop nulls and empty maps and lists: Go's semantic equality treats them as absent."""
    if isinstance(value, dict):
        kept = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def _without_hash(template: dict) -> dict:
    template = copy.deepcopy(template or {})
    labels = (template.get("metadata") or {}).get("labels") or {}
    labels.pop(HASH_LABEL, None)
    return _pruned(template)


def equal_ignoring_hash(a: dict, b: dict) -> bool:
    """deploymentutil.EqualIgnoreHash: the same template but for the pod-template-hash label."""
    return _without_hash(a) == _without_hash(b)


def template_hash(template: dict, collision_count: int = 0) -> str:
    """controller.ComputeHash's shape: FNV-32a (with the collision count, little-endian), then
    rand.SafeEncodeString of its decimal digits: 6 to 10 characters of SAFE_ALPHABET."""
    data = json.dumps(_without_hash(template), sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += collision_count.to_bytes(4, "little")
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(SAFE_ALPHABET[digit % len(SAFE_ALPHABET)] for digit in str(value).encode())


def view(deployment: dict) -> DeploymentView:
    spec = deployment["spec"]
    strategy = spec.get("strategy") or {}
    rolling = strategy.get("rollingUpdate") or {}
    return DeploymentView(
        replicas=spec.get("replicas", 1),
        strategy=strategy.get("type", "RollingUpdate"),
        max_surge=rolling.get("maxSurge", "25%"),
        max_unavailable=rolling.get("maxUnavailable", "25%"),
        status_replicas=(deployment.get("status") or {}).get("replicas", 0),
        revision_history_limit=spec.get("revisionHistoryLimit", 10),
    )


def _int(text: object) -> int | None:
    try:
        return int(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def rs_view(replica_set: dict) -> ReplicaSetView:
    metadata, status = replica_set["metadata"], replica_set.get("status") or {}
    annotations = metadata.get("annotations") or {}
    return ReplicaSetView(
        name=metadata["name"],
        replicas=replica_set["spec"].get("replicas", 1),
        available=status.get("availableReplicas", 0),
        actual=status.get("replicas", 0),
        created=metadata.get("creationTimestamp", ""),
        revision=_int(annotations.get(REVISION)) or 0,
        desired_replicas=_int(annotations.get(DESIRED)),
        max_replicas=_int(annotations.get(MAX_REPLICAS)),
        generation=metadata.get("generation", 1),
        observed_generation=status.get("observedGeneration", 0),
    )


def new_rs_annotations(deployment: dict, replica_set: dict, revision: int, *, exists: bool) -> bool:
    """SetNewReplicaSetAnnotations, in place: the Deployment's annotations, the revision (and
    the revision history of a ReplicaSet brought back), and for a new one the replica counts."""
    annotations = replica_set["metadata"].setdefault("annotations", {})
    changed = False
    for key, value in (deployment["metadata"].get("annotations") or {}).items():
        if key not in NOT_COPIED and annotations.get(key) != value:
            annotations[key] = value
            changed = True
    old = annotations.get(REVISION)
    old_number = _int(old) or 0
    if old_number < revision:
        annotations[REVISION] = str(revision)
        changed = True
        if old is not None:
            history = [r for r in (annotations.get(REVISION_HISTORY) or "").split(",") if r] + [old]
            while len(",".join(history)) > MAX_HISTORY_CHARS and len(history) > 1:
                history.pop(0)
            annotations[REVISION_HISTORY] = ",".join(history)
    if not exists:
        d = view(deployment)
        annotations[DESIRED] = str(d.replicas)
        annotations[MAX_REPLICAS] = str(d.replicas + rollout.max_surge(d))
        changed = True
    return changed


def find_new(deployment: dict, owned: list[dict]) -> dict | None:
    """FindNewReplicaSet: the oldest whose template is the Deployment's."""
    for rs in sorted(
        owned, key=lambda rs: (rs["metadata"].get("creationTimestamp", ""), rs["metadata"]["name"])
    ):
        if equal_ignoring_hash(rs["spec"].get("template") or {}, deployment["spec"]["template"]):
            return rs
    return None


def new_replica_set(deployment: dict, olds: list[dict]) -> dict:
    """The new ReplicaSet of ``deployment`` (getNewReplicaSet), sized by NewRSNewReplicas."""
    spec, metadata = deployment["spec"], deployment["metadata"]
    hashed = template_hash(spec["template"], (deployment.get("status") or {}).get("collisionCount", 0))
    template = copy.deepcopy(spec["template"])
    template.setdefault("metadata", {})["labels"] = {
        **(template["metadata"].get("labels") or {}),
        HASH_LABEL: hashed,
    }
    selector = copy.deepcopy(spec.get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: hashed}
    replica_set = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{metadata['name']}-{hashed}",
            "namespace": metadata.get("namespace", "default"),
            "labels": template["metadata"]["labels"],
            "ownerReferences": [pods.owner_reference(deployment)],
        },
        "spec": {"replicas": 0, "selector": selector, "template": template},
        "status": {"replicas": 0},
    }
    if spec.get("minReadySeconds"):
        replica_set["spec"]["minReadySeconds"] = spec["minReadySeconds"]
    new = rs_view(replica_set)
    replica_set["spec"]["replicas"] = rollout.new_rs_replicas(
        view(deployment), [*(rs_view(o) for o in olds), new], new
    )
    return replica_set
