"""The sandbox's one node: the scheduler's binding and the kubelet's work, for every pod in the
store, whoever wrote it (a ReplicaSet, ``kubectl run``, a bare Pod manifest).

``Node.sync()`` is level-triggered, like the kubelet's pod workers:

- a pod without ``spec.nodeName`` is bound to one of the nodes (``--nodes``, in ``--zones``:
  ``sandbox.topology.layout``) by ``sandbox.scheduling``: the one with the fewest pods of its
  owner, or left Pending with ``FailedScheduling`` when the machine is full (``capacity``
  process pods or ``lightweight_capacity`` lightweight ones over all its nodes, the kubelets'
  ``maxPods``); each node is a Node object in the store (``kubectl get nodes``);
- a bound pod gets a ``PodRunner`` (sandbox.kubelet): a loopback address, the k8s-combat app as
  its container, readiness probes, restarts with backoff, and the kubelet's events. Its
  Deployment decides the runtime (``sandbox.pod_runtimes``): a process of its own, or a
  lightweight pod in its ReplicaSet's host process (``sandbox.hosted_pods``);
- a pod with ``deletionTimestamp`` (graceful deletion) is stopped: event ``Killing`` ("Stopping
  container NAME"), out of the Services at once, SIGTERM, SIGKILL after
  ``deletionGracePeriodSeconds``; then the kubelet's final delete removes it from the store. A pod
  removed from the store outright (a forced delete) is stopped the same way;
- the status of every running pod is written back (phase, conditions, container statuses).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sandbox import pod_runtimes, pods, resources, topology
from sandbox.addresses import AddressPool
from sandbox.events import EventRecorder, Source
from sandbox.hosted_pods import LightweightPodRunner, PodHost
from sandbox.kubelet import PodRunner
from sandbox.objects import NAMESPACE, PodState
from sandbox.scheduling import Scheduler
from sandbox.store import Store, now_rfc3339

logger = logging.getLogger(__name__)

NODE_NAME = topology.BASE_NODE_NAME


class Node:
    def __init__(
        self,
        store: Store,
        recorder: EventRecorder,
        *,
        addresses: AddressPool,
        pod_env: Callable[[PodState, dict], dict[str, str]],
        log_dir: Path,
        changed: Callable[[], None],
        leaving: Callable[[PodState], None],
        grace_override: float | None = None,
        capacity: int = 30,
        lightweight_capacity: int = 2 * pod_runtimes.LIGHTWEIGHT_MAX_REPLICAS,
        lightweight_above: int = pod_runtimes.LIGHTWEIGHT_ABOVE,
        layout: topology.Layout | None = None,
    ) -> None:
        """``changed()`` asks for a sync (a pod's state moved); ``leaving(pod)`` takes a
        terminating pod out of the Services' proxies at once; ``layout``: the nodes and their
        zones (one node, ``sandbox-node``, by default)."""
        self.store = store
        self.recorder = recorder
        self.addresses = addresses
        self.pod_env = pod_env
        self.log_dir = log_dir
        self.changed = changed
        self.leaving = leaving
        self.grace_override = grace_override
        self.capacity = {pod_runtimes.PROCESS: capacity, pod_runtimes.LIGHTWEIGHT: lightweight_capacity}
        self.lightweight_above = lightweight_above
        self.hosts: dict[tuple[str, str], PodHost] = {}  # by Deployment and pod-template-hash
        self.layout = layout or topology.layout()
        self.name = self.layout.first
        self.runners: dict[str, PodRunner] = {}  # by pod uid
        self._ready_changed: dict[str, tuple[bool, str]] = {}
        self.scheduler = Scheduler(store, recorder, self.layout)
        self._terminations: set[asyncio.Future] = set()

    # --- what the API server and tests ask --------------------------------------------------------

    def runner(self, name: str, namespace: str) -> PodRunner | None:
        """The runner of the pod ``namespace/name`` (the live one, if an old one still terminates)."""
        found = [r for r in self.runners.values() if r.pod.name == name and r.pod.namespace == namespace]
        found.sort(key=lambda r: r.pod.terminating)
        return found[0] if found else None

    def pod_states(self) -> list[PodState]:
        """What the node knows of each pod it runs (terminating ones too)."""
        return [runner.pod for runner in self.runners.values()]

    # --- the sync ---------------------------------------------------------------------------------

    def sync(self) -> None:
        # The stored pods themselves, read only: the few this pass changes or keeps are copied
        # (``_copy``); copying all 1000 each pass was most of the pass.
        listed = self.store.list(resources.PODS, copy=False)
        live = {pod["metadata"]["uid"]: pod for pod in listed}
        owners: dict[str, dict | None] = {}  # each pod's Deployment, looked up once a pass
        self.scheduler.register_nodes()
        mine = [p for p in listed if p["spec"].get("nodeName") in self.layout.zones and pods.is_active(p)]
        bound = Counter(self._runtime(p, owners) for p in mine)
        placed = self.scheduler.placement(mine)
        for pod in listed:
            uid, metadata = pod["metadata"]["uid"], pod["metadata"]
            if metadata.get("deletionTimestamp"):
                runner = self.runners.get(uid)
                if runner is None:  # never started here: nothing to wait for
                    self._final_delete(pod)
                elif not runner.pod.terminating:
                    grace = metadata.get("deletionGracePeriodSeconds")
                    self._begin_termination(runner, pods.grace_seconds(pod) if grace is None else grace)
                continue
            if not pod["spec"].get("nodeName"):
                runtime = self._runtime(pod, owners)
                pod = self.scheduler.schedule(
                    self._copy(pod), placed, full=bound[runtime] >= self.capacity[runtime]
                )
                if pod is None:
                    continue
                bound[runtime] += 1
            if pod["spec"].get("nodeName") in self.layout.zones and uid not in self.runners:
                self._start(self._copy(pod), owners)
        for uid, runner in list(self.runners.items()):
            if uid not in live and not runner.pod.terminating:  # removed outright: stop it anyway
                self._begin_termination(runner, pods.grace_seconds({"spec": runner.pod.template["spec"]}))
        for uid, runner in self.runners.items():
            if uid in live and not runner.pod.terminating:
                self._write_status(live[uid], runner.pod)

    def _copy(self, pod: dict) -> dict:
        """The pod as stored now, a copy to change or keep (``sync`` reads the stored objects)."""
        metadata = pod["metadata"]
        return self.store.get(resources.PODS, metadata.get("namespace", ""), metadata["name"]) or pod

    def _runtime(self, pod: dict, owners: dict[str, dict | None]) -> str:
        runner = self.runners.get(pod["metadata"]["uid"])
        if runner is not None:
            return runner.runtime
        return pod_runtimes.chosen(self._owner(pod, owners), lightweight_above=self.lightweight_above)

    def _owner(self, pod: dict, owners: dict[str, dict | None]) -> dict | None:
        """The Deployment that owns the pod through its ReplicaSet, or None (memoized in ``owners``
        by ReplicaSet for the pass)."""
        owner = pods.controller_of(pod)
        if owner is None or owner.get("kind") != "ReplicaSet":
            return None
        if owner["name"] not in owners:
            namespace = pod["metadata"].get("namespace", "")
            replica_set = self.store.get(resources.REPLICA_SETS, namespace, owner["name"])
            parent = pods.controller_of(replica_set) if replica_set else None
            found = None
            if parent and parent.get("kind") == "Deployment":
                found = self.store.get(resources.DEPLOYMENTS, namespace, parent["name"])
            owners[owner["name"]] = found
        return owners[owner["name"]]

    def _start(self, pod: dict, owners: dict[str, dict | None]) -> None:
        metadata, spec = pod["metadata"], pod["spec"]
        if not spec.get("containers"):
            return
        try:
            ip, port = self.addresses.take()  # the pod's IP, and where its port 8081 is on this machine
        except RuntimeError:
            logger.warning("no loopback address left for pod %s; it stays Pending", metadata["name"])
            return
        labels = metadata.get("labels") or {}
        state = PodState(
            name=metadata["name"],
            deployment=(self._owner(pod, owners) or {}).get("metadata", {}).get("name", ""),
            template_hash=labels.get("pod-template-hash", ""),
            template={
                "metadata": {"labels": labels, "annotations": metadata.get("annotations") or {}},
                "spec": spec,
            },
            uid=metadata["uid"],
            ip=ip,
            port=port,
            node=spec["nodeName"],
            zone=self.layout.zones[spec["nodeName"]],
            created=metadata.get("creationTimestamp") or now_rfc3339(),
            namespace=metadata.get("namespace") or NAMESPACE,
        )
        settings = {
            "env": self.pod_env(state, spec["containers"][0]),
            "log_path": self.log_dir / f"{state.name}.log",
            "changed": lambda _: self.changed(),
            "note": lambda kind, reason, message: self._note(state, kind, reason, message),
        }
        runtime = pod_runtimes.chosen(self._owner(pod, owners), lightweight_above=self.lightweight_above)
        if runtime == pod_runtimes.LIGHTWEIGHT and state.deployment:
            runner: PodRunner = LightweightPodRunner(state, host=self._host(state), **settings)
        else:
            runner = PodRunner(state, **settings)
        self.runners[state.uid] = runner
        runner.start()

    def _host(self, state: PodState) -> PodHost:
        """The host process of the pod's ReplicaSet: its pods share one template, so one env."""
        key = (state.deployment, state.template_hash)
        if key not in self.hosts:
            name = f"{state.deployment}-{state.template_hash}"
            self.hosts[key] = PodHost(name, log_path=self.log_dir / f"{name}.host.log")
        return self.hosts[key]

    def _note(self, state: PodState, kind: str, reason: str, message: str) -> None:
        pod = self.store.get(resources.PODS, state.namespace, state.name)
        if pod is None or pod["metadata"]["uid"] != state.uid:
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": state.name, "namespace": state.namespace, "uid": state.uid},
            }
        container = state.template["spec"]["containers"][0]["name"]
        kubelet = Source("kubelet", state.node)
        self.recorder.record(pod, kind, reason, message, kubelet, f"spec.containers{{{container}}}")

    def _write_status(self, pod: dict, state: PodState) -> None:
        uid = state.uid
        last = self._ready_changed.get(uid)
        if last is None or last[0] != state.ready:
            last = (state.ready, now_rfc3339())
            self._ready_changed[uid] = last
        wanted = pods.status(state, pod["spec"], scheduled=state.created, ready_changed=last[1])
        if pod.get("status") != wanted:
            pod = self._copy(pod)
            pod["status"] = wanted
            self.store.update(resources.PODS, pod)

    # --- stopping ---------------------------------------------------------------------------------

    def _begin_termination(self, runner: PodRunner, grace: float) -> None:
        state = runner.pod
        state.deletion_timestamp = now_rfc3339()
        state.grace_period = int(grace)
        self._note(
            state,
            "Normal",
            "Killing",
            f"Stopping container {state.template['spec']['containers'][0]['name']}",
        )
        self.leaving(state)
        self.changed()
        task = asyncio.ensure_future(self._terminate(runner, grace))
        self._terminations.add(task)
        task.add_done_callback(self._terminations.discard)

    async def _terminate(self, runner: PodRunner, grace: float) -> None:
        state = runner.pod
        try:
            await runner.terminate(grace)
        finally:
            self.runners.pop(state.uid, None)
            self._ready_changed.pop(state.uid, None)
            self.addresses.give_back(state.ip, state.port)
            current = self.store.get(resources.PODS, state.namespace, state.name)
            if current is not None and current["metadata"]["uid"] == state.uid:
                self._final_delete(current)
            self.changed()

    def _final_delete(self, pod: dict) -> None:
        """The kubelet's delete with grace 0 once the containers are gone: the pod leaves the
        store, unless finalizers hold it (then whoever owns them removes it)."""
        metadata = pod["metadata"]
        if not metadata.get("finalizers"):
            self.store.delete(resources.PODS, metadata.get("namespace", ""), metadata["name"])

    async def stop(self, grace_seconds: float = 5.0) -> None:
        runners = list(self.runners.values())
        await asyncio.gather(*(r.terminate(grace_seconds) for r in runners), return_exceptions=True)
        for runner in runners:
            runner.kill_now()
        for host in self.hosts.values():
            host.kill()
        for task in list(self._terminations):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
