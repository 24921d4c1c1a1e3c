"""kube-scheduler's part for the sandbox's nodes: bind each new pod to a node, or say why not.

- ``register_nodes``: each node of the layout as a Node object (``kubectl get nodes``), as its
  kubelet registers it, again if it was deleted.
- ``placement(bound)`` then ``schedule(pod, placement, full=...)``: a pod without
  ``spec.nodeName`` goes to the node with the fewest pods of its owner, then the fewest pods
  (``sandbox.topology.spread``), with the event ``Scheduled`` ("Successfully assigned NS/NAME to
  NODE", from default-scheduler); when the machine is full it stays Pending with
  ``FailedScheduling`` "0/N nodes are available: N Too many pods." and an Unschedulable
  ``PodScheduled`` condition, as in a cluster (recorded once per pod).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sandbox import pods, resources, topology
from sandbox.events import EventRecorder
from sandbox.store import Store, now_rfc3339

SCHEDULER = "default-scheduler"


def too_many_pods(nodes: int) -> str:
    """kube-scheduler's FailedScheduling message when every one of ``nodes`` nodes is full."""
    return (
        f"0/{nodes} nodes are available: {nodes} Too many pods. "
        f"preemption: 0/{nodes} nodes are available: {nodes} No preemption victims found for incoming pod.."
    )


def owner_key(pod: dict) -> str:
    """Which pods spread together: those of one controller (a ReplicaSet), or all bare pods."""
    owner = pods.controller_of(pod)
    return f"{owner.get('kind')}/{owner.get('name')}" if owner else ""


@dataclass
class Placement:
    """Active pods per node, and per (owner, node), as of a pass; ``schedule`` keeps it current."""

    by_node: Counter = field(default_factory=Counter)
    by_owner: Counter = field(default_factory=Counter)


class Scheduler:
    def __init__(self, store: Store, recorder: EventRecorder, layout: topology.Layout) -> None:
        self.store = store
        self.recorder = recorder
        self.layout = layout
        self._unschedulable: set[str] = set()

    def register_nodes(self) -> None:
        for name in self.layout.nodes:
            if self.store.get(resources.NODES, "", name) is None:
                self.store.create(
                    resources.NODES,
                    topology.node_object(name, self.layout.zones[name], created=now_rfc3339()),
                )

    def placement(self, bound: list[dict]) -> Placement:
        """Where the active pods ``bound`` to the layout's nodes are."""
        return Placement(
            Counter(p["spec"]["nodeName"] for p in bound),
            Counter((owner_key(p), p["spec"]["nodeName"]) for p in bound),
        )

    def schedule(self, pod: dict, placement: Placement, *, full: bool) -> dict | None:
        """The pod bound to its node (as stored), or None when ``full`` (it stays Pending)."""
        uid = pod["metadata"]["uid"]
        if full:
            if uid not in self._unschedulable:
                self._unschedulable.add(uid)
                self._unschedulable_now(pod)
            return None
        self._unschedulable.discard(uid)
        owner = owner_key(pod)
        nodes = self.layout.nodes
        node = topology.spread(nodes, {n: placement.by_owner[(owner, n)] for n in nodes}, placement.by_node)
        placement.by_node[node] += 1
        placement.by_owner[(owner, node)] += 1
        pod["spec"]["nodeName"] = node
        pod = self.store.update(resources.PODS, pod)
        metadata = pod["metadata"]
        message = f"Successfully assigned {metadata.get('namespace', '')}/{metadata['name']} to {node}"
        self.recorder.record_new(pod, "Normal", "Scheduled", "Binding", message, SCHEDULER, self._instance)
        return pod

    def _unschedulable_now(self, pod: dict) -> None:
        message = too_many_pods(len(self.layout.nodes))
        self.recorder.record_new(
            pod, "Warning", "FailedScheduling", "Scheduling", message, SCHEDULER, self._instance
        )
        pod["status"] = {
            **(pod.get("status") or {}),
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": now_rfc3339(),
                    "reason": "Unschedulable",
                    "message": message,
                }
            ],
        }
        self.store.update(resources.PODS, pod)

    @property
    def _instance(self) -> str:
        return f"{SCHEDULER}-{self.layout.first}"
