"""Pods as the API server and the kubelet write them: pure functions on dicts.

- ``from_template``: the pod a ReplicaSet controller creates (pkg/controller/controller_utils.go
  GetPodFromTemplate): the template's labels, annotations and spec, ``generateName``
  ``<replicaset>-`` and a name with 5 random characters of ``SAFE_ALPHABET``, owned by the
  ReplicaSet; phase Pending and the QoS class, as the API server stores a new pod.
- ``status``: what the kubelet reports for a pod it runs (pkg/kubelet/kubelet_pods.go
  generateAPIPodStatus): phase, conditions, the container statuses with restarts and states.
- ``marked_for_deletion``: graceful deletion as the API server does it (pkg/registry/core/pod
  strategy CheckGracefulDelete): ``deletionTimestamp`` = now + grace period.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

from sandbox.objects import SAFE_ALPHABET, PodState, random_suffix

CPU_MEMORY = ("cpu", "memory")


def owner_reference(obj: dict) -> dict:
    """The controller ownerReference a controller puts on what it creates."""
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_of(obj: dict) -> dict | None:
    """metav1.GetControllerOf: the ownerReference with ``controller: true``."""
    return next((ref for ref in obj["metadata"].get("ownerReferences") or [] if ref.get("controller")), None)


def qos_class(spec: dict) -> str:
    """v1/qos GetPodQOS: Guaranteed (every container's cpu and memory limits equal to their
    requests), BestEffort (no requests or limits at all), else Burstable."""
    containers = [*spec.get("containers", []), *spec.get("initContainers", [])]
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits, requests = r.get("limits") or {}, {**(r.get("limits") or {}), **(r.get("requests") or {})}
        if any(name not in limits or str(requests.get(name)) != str(limits[name]) for name in CPU_MEMORY):
            return "Burstable"
    return "Guaranteed"


def from_template(replica_set: dict, suffix: str | None = None) -> dict:
    """A new pod of ``replica_set``: ``<name>-<5 characters>``."""
    template = copy.deepcopy(replica_set["spec"]["template"])
    metadata = template.get("metadata") or {}
    prefix = f"{replica_set['metadata']['name']}-"
    pod_metadata = {
        "name": prefix + (suffix or random_suffix()),
        "generateName": prefix,
        "namespace": replica_set["metadata"].get("namespace", "default"),
        "labels": metadata.get("labels") or {},
        "ownerReferences": [owner_reference(replica_set)],
    }
    if metadata.get("annotations"):
        pod_metadata["annotations"] = metadata["annotations"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": pod_metadata,
        "spec": template["spec"],
        "status": {"phase": "Pending", "qosClass": qos_class(template["spec"])},
    }


def is_suffix(text: str) -> bool:
    """Whether ``text`` is a generated name's suffix: 5 characters of SAFE_ALPHABET."""
    return len(text) == 5 and all(char in SAFE_ALPHABET for char in text)


def marked_for_deletion(pod: dict, grace_seconds: int, now: datetime | None = None) -> dict:
    """``pod`` with ``deletionTimestamp`` (now + grace) and ``deletionGracePeriodSeconds``; an
    earlier deadline already set is kept, as the API server only ever shortens it."""
    now = now or datetime.now(UTC)
    pod = copy.deepcopy(pod)
    metadata = pod["metadata"]
    current = metadata.get("deletionGracePeriodSeconds")
    if current is not None and current <= grace_seconds:
        return pod
    metadata["deletionTimestamp"] = (now + timedelta(seconds=grace_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    metadata["deletionGracePeriodSeconds"] = grace_seconds
    return pod


def grace_seconds(pod: dict, override: float | None = None) -> int:
    """The grace period a delete without one gets: the pod's terminationGracePeriodSeconds
    (default 30), or the sandbox's ``--grace-seconds``."""
    if override is not None:
        return int(override)
    return int(pod["spec"].get("terminationGracePeriodSeconds", 30))


def _condition(kind: str, ok: bool, when: str) -> dict:
    return {
        "type": kind,
        "status": "True" if ok else "False",
        "lastProbeTime": None,
        "lastTransitionTime": when,
    }


def _state(pod: PodState) -> dict:
    if pod.running:
        return {"running": {"startedAt": pod.started or pod.created}}
    if pod.waiting_reason:
        return {"waiting": {"reason": pod.waiting_reason}}
    if pod.last_exit_code is not None:
        reason = "Completed" if pod.last_exit_code == 0 else "Error"
        return {"terminated": {"exitCode": pod.last_exit_code, "reason": reason}}
    return {"waiting": {"reason": "ContainerCreating"}}


def status(pod: PodState, spec: dict, *, scheduled: str, ready_changed: str | None) -> dict:
    """The status the kubelet writes; ``ready_changed`` is when readiness last flipped (the
    Ready condition's lastTransitionTime). The sandbox runs the first container; any others
    are reported as it is (one process stands for the pod)."""
    state = _state(pod)
    statuses = []
    for container in spec.get("containers", []):
        entry = {
            "name": container["name"],
            "image": container.get("image", ""),
            "imageID": "",
            "ready": pod.ready,
            "started": pod.running,
            "restartCount": pod.restarts,
            "state": copy.deepcopy(state),
            "lastState": {},
        }
        if pod.last_exit_code is not None and pod.restarts:
            reason = "Completed" if pod.last_exit_code == 0 else "Error"
            entry["lastState"] = {"terminated": {"exitCode": pod.last_exit_code, "reason": reason}}
        statuses.append(entry)
    ready_when = ready_changed or pod.created
    return {
        "phase": "Running" if pod.running or pod.restarts else "Pending",
        "conditions": [
            _condition("Initialized", True, pod.created),
            _condition("Ready", pod.ready, ready_when),
            _condition("ContainersReady", pod.ready, ready_when),
            _condition("PodScheduled", True, scheduled),
        ],
        "hostIP": "127.0.0.1",
        "hostIPs": [{"ip": "127.0.0.1"}],
        "podIP": pod.ip,
        "podIPs": [{"ip": pod.ip}],
        "startTime": pod.created,
        "containerStatuses": statuses,
        "qosClass": qos_class(spec),
    }


def is_ready(pod: dict) -> bool:
    """podutil.IsPodReady: the Ready condition is True."""
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def ready_since(pod: dict) -> str | None:
    """When the Ready condition last became True, or None."""
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True":
            return c.get("lastTransitionTime")
    return None


def is_active(pod: dict) -> bool:
    """controller.IsPodActive: not terminating, not Succeeded or Failed."""
    phase = (pod.get("status") or {}).get("phase")
    return not pod["metadata"].get("deletionTimestamp") and phase not in ("Succeeded", "Failed")
