"""Which runtime runs a Deployment's pods: one process per pod, or lightweight pods.

A process pod is ``python -m combat_app.serving`` (about 48 MiB); lightweight pods of one
ReplicaSet share a host process (``sandbox.pod_host``, well under 1 MiB a pod), each on its own
address with its own identity. The choice is per Deployment, made when a pod is created:

- the annotation ``sandbox.k8s-combat.dev/pod-runtime: lightweight|process`` decides;
- else pods of a Deployment whose ``spec.replicas`` is above ``--lightweight-above`` are
  lightweight (10 by default: the most process pods a Deployment may have, so no count between
  the two bounds is refused). Bare pods (no Deployment) are processes. Another annotation value
  counts as none.

A scale through the API is bounded per runtime: ``--max-replicas`` for process pods, and
``LIGHTWEIGHT_MAX_REPLICAS`` for lightweight ones. The node's capacity (the kubelet's
``maxPods``) is counted per runtime too (``capacity``).
"""

from __future__ import annotations

ANNOTATION = "sandbox.k8s-combat.dev/pod-runtime"
PROCESS = "process"
LIGHTWEIGHT = "lightweight"
LIGHTWEIGHT_MAX_REPLICAS = 5000
# Pods of a Deployment scaled above this many replicas are lightweight by default
# (--lightweight-above): the most process pods a Deployment may have (--max-replicas' default),
# so that every count up to LIGHTWEIGHT_MAX_REPLICAS is served.
LIGHTWEIGHT_ABOVE = 10


def chosen(deployment: dict | None, *, lightweight_above: int, replicas: object = None) -> str:
    """PROCESS or LIGHTWEIGHT for the pods of ``deployment`` (None: a bare pod); ``replicas``, when
    given, stands for ``spec.replicas`` (a scale being written)."""
    if deployment is None:
        return PROCESS
    annotated = (deployment.get("metadata", {}).get("annotations") or {}).get(ANNOTATION)
    if annotated in (PROCESS, LIGHTWEIGHT):
        return annotated
    wanted = deployment.get("spec", {}).get("replicas", 1) if replicas is None else replicas
    above = isinstance(wanted, int) and not isinstance(wanted, bool) and wanted > lightweight_above
    return LIGHTWEIGHT if above else PROCESS


def replica_limit(deployment: dict, replicas: object, *, max_replicas: int, lightweight_above: int) -> int:
    """The most replicas a scale of ``deployment`` to ``replicas`` may ask for: its runtime's
    bound, and never less than the Deployment has now (a scale down, 1000 -> 20, asks for no room
    even when the smaller count alone would choose process pods)."""
    runtime = chosen(deployment, lightweight_above=lightweight_above, replicas=replicas)
    bound = LIGHTWEIGHT_MAX_REPLICAS if runtime == LIGHTWEIGHT else max_replicas
    current = deployment.get("spec", {}).get("replicas", 1)
    return max(bound, current) if isinstance(current, int) and not isinstance(current, bool) else bound


def capacity(runtime: str, *, max_replicas: int) -> int:
    """How many pods of ``runtime`` the node holds: room for a rollout's surge of each kind."""
    return 2 * LIGHTWEIGHT_MAX_REPLICAS if runtime == LIGHTWEIGHT else 2 * max_replicas + 10
