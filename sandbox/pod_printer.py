"""The pod printer (``printPod`` of pkg/printers/internalversion), the Table row of a pod.

READY counts the running, ready containers (and the started, ready sidecars: restartable init
containers); STATUS is the last container's waiting or terminated reason (``ExitCode:N`` or
``Signal:N`` without one), ``Init:...`` while init containers run, ``Terminating`` once deleted,
else ``status.reason`` or the phase; RESTARTS says when the last restart was ("3 (5m ago)").
"""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox import tables


def _since_time(timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    pattern = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in timestamp else "%Y-%m-%dT%H:%M:%SZ"
    moment = datetime.strptime(timestamp, pattern).replace(tzinfo=UTC)
    return tables.human_duration((datetime.now(UTC) - moment).total_seconds())


def _terminated_reason(terminated: dict, prefix: str = "") -> str:
    if terminated.get("reason"):
        return prefix + terminated["reason"]
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def _restartable(container: dict | None) -> bool:
    return (container or {}).get("restartPolicy") == "Always"  # a sidecar (restartable init container)


def _pod_init(pod: dict, counts: dict) -> str | None:
    """The init containers' part of printPod: the reason while they run, or None once done."""
    spec, state = pod.get("spec") or {}, pod.get("status") or {}
    declared = {c.get("name"): c for c in spec.get("initContainers") or []}
    for index, container in enumerate(state.get("initContainerStatuses") or []):
        counts["restarts"] += container.get("restartCount", 0)
        finished = ((container.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        counts["last"] = max(counts["last"], finished or "")
        sidecar = _restartable(declared.get(container.get("name")))
        if sidecar:
            counts["sidecar_restarts"] += container.get("restartCount", 0)
            counts["sidecar_last"] = max(counts["sidecar_last"], finished or "")
        current = container.get("state") or {}
        terminated, waiting = current.get("terminated"), current.get("waiting")
        if terminated and terminated.get("exitCode", 0) == 0:
            continue
        if sidecar and container.get("started"):
            counts["ready"] += 1 if container.get("ready") else 0
            continue
        if terminated:
            return _terminated_reason(terminated, "Init:")
        if waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            return f"Init:{waiting['reason']}"
        return f"Init:{index}/{len(spec.get('initContainers') or [])}"
    return None


def pod_row(pod: dict) -> list:
    """printPod (pkg/printers/internalversion): READY counts running ready containers (and
    started ready sidecars), STATUS is the last container's waiting/terminated reason, else the
    phase (or ``status.reason``), RESTARTS says when the last restart was."""
    spec, state = pod.get("spec") or {}, pod.get("status") or {}
    sidecars = sum(1 for c in spec.get("initContainers") or [] if _restartable(c))
    total = len(spec.get("containers") or []) + sidecars
    reason = state.get("reason") or state.get("phase") or ""
    for condition in state.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    counts = {"restarts": 0, "last": "", "sidecar_restarts": 0, "sidecar_last": "", "ready": 0}
    initializing = _pod_init(pod, counts)
    initialized = any(
        c.get("type") == "Initialized" and c.get("status") == "True" for c in state.get("conditions") or []
    )
    restarts, last = counts["restarts"], counts["last"]
    if initializing is not None:
        reason = initializing
    if initializing is None or initialized:
        restarts, last = counts["sidecar_restarts"], counts["sidecar_last"]
        has_running = False
        for container in reversed(state.get("containerStatuses") or []):
            restarts += container.get("restartCount", 0)
            finished = ((container.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
            last = max(last, finished or "")
            current = container.get("state") or {}
            waiting, terminated = current.get("waiting"), current.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated:
                reason = _terminated_reason(terminated)
            elif container.get("ready") and current.get("running") is not None:
                has_running = True
                counts["ready"] += 1
        if reason == "Completed" and has_running:
            ready = any(c.get("type") == "Ready" for c in state.get("conditions") or [])
            reason = "Running" if ready else "NotReady"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Unknown" if state.get("reason") == "NodeLost" else "Terminating"
    shown = str(restarts)
    if restarts and last:
        shown = f"{restarts} ({_since_time(last)} ago)"
    gates = spec.get("readinessGates") or []
    if gates:
        true = {c.get("type") for c in state.get("conditions") or [] if c.get("status") == "True"}
        gated = f"{sum(1 for g in gates if g.get('conditionType') in true)}/{len(gates)}"
    else:
        gated = "<none>"
    ips = state.get("podIPs") or []
    return [
        pod["metadata"]["name"],
        f"{counts['ready']}/{total}",
        reason,
        shown,
        tables.age(pod),
        (ips[0].get("ip") if ips else "") or "<none>",
        spec.get("nodeName") or "<none>",
        state.get("nominatedNodeName") or "<none>",
        gated,
    ]


def row_conditions(pod: dict) -> list[dict] | None:
    """A finished pod's row says so (kubectl hides it unless -a)."""
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Succeeded":
        return [
            {
                "type": "Completed",
                "status": "True",
                "reason": "Succeeded",
                "message": "The pod has completed successfully.",
            }
        ]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]
    return None
