"""The cluster behind the API server: controllers, the node and kube-proxy, acting on whatever
is written to the store, by the API server (``kubectl apply``, ``scale``, ``delete``...) or by
the sandbox at start-up.

``Cluster`` subscribes to the store (``Store.watch``) for Deployments, ReplicaSets, Pods,
Services and EndpointSlices. Any change schedules one level-triggered pass (a burst of changes
is one pass; a pass never overlaps another), in the order a change flows through a cluster:

1. ClusterIPs for Services stored without one (sandbox.services);
2. the garbage collector: objects whose owners are gone (sandbox.garbage);
3. the Deployment controller: ReplicaSets, rollouts, status (sandbox.deployments);
4. the ReplicaSet controller: pods (sandbox.replicasets);
5. the node: scheduling, pods as processes, their status (sandbox.node);
6. the EndpointSlice and Endpoints controllers (sandbox.endpointslices);
7. kube-proxy: the Services' proxies (sandbox.services), and the dashboard's forward.

Each step writes only what changed, so passes settle; what they write starts the next pass, so
a rollout advances as pods become ready. Events are recorded as the real components record them
(sandbox.events).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

from sandbox import pod_runtimes, pods, resources, topology
from sandbox.addresses import AddressPool
from sandbox.deployments import Deployments
from sandbox.endpointslices import EndpointControllers
from sandbox.events import EventRecorder
from sandbox.garbage import GarbageCollector
from sandbox.kubelet import PodRunner
from sandbox.node import Node
from sandbox.objects import NAMESPACE, PodState
from sandbox.proxy import ServiceProxy
from sandbox.replicasets import ReplicaSets
from sandbox.selectors import label_selector_matches
from sandbox.services import Key, ServiceNetwork
from sandbox.store import Store

logger = logging.getLogger(__name__)

WATCHED = (
    resources.DEPLOYMENTS,
    resources.REPLICA_SETS,
    resources.PODS,
    resources.SERVICES,
    resources.ENDPOINT_SLICES,
)
EXPIRY_SECONDS = 60.0  # how often old events are swept


class Cluster:
    def __init__(
        self,
        store: Store,
        *,
        addresses: AddressPool,
        pod_env: Callable[[PodState, dict], dict[str, str]],
        log_dir: Path,
        max_replicas: int = 10,
        lightweight_above: int = pod_runtimes.LIGHTWEIGHT_ABOVE,
        termination_grace_seconds: float | None = None,
        cluster_ip: str = "127.0.10.1",
        balancing: str = "random",
        proxy_seed: str | None = None,
        reserved_proxies: dict[Key, ServiceProxy] | None = None,
        avoid_ips: tuple[str, ...] = (),
        event_cap: int = 1000,
        max_endpoints_per_slice: int = 100,
        layout: topology.Layout | None = None,
    ) -> None:
        """``max_replicas`` bounds a scale of process pods through the API; the node holds ``2 x
        max_replicas + 10`` of them. Pods of a Deployment scaled above ``lightweight_above`` are
        lightweight, with their own bounds (``sandbox.pod_runtimes``). ``termination_grace_seconds``
        replaces the pods' terminationGracePeriodSeconds for deletes that give none
        (``--grace-seconds``). ``max_endpoints_per_slice`` caps each
        EndpointSlice (``--max-endpoints-per-slice``, kube-controller-manager's flag)."""
        self.store = store
        self.max_replicas = max_replicas
        self.lightweight_above = lightweight_above
        self.termination_grace_seconds = termination_grace_seconds
        self.recorder = EventRecorder(store, cap=event_cap)
        self.network = ServiceNetwork(
            store,
            cluster_ip=cluster_ip,
            mode=balancing,
            seed=proxy_seed,
            reserved=reserved_proxies,
            avoid=avoid_ips,
        )
        self.node = Node(
            store,
            self.recorder,
            addresses=addresses,
            pod_env=pod_env,
            log_dir=log_dir,
            changed=self.schedule_sync,
            leaving=self._leaving,
            grace_override=termination_grace_seconds,
            capacity=pod_runtimes.capacity(pod_runtimes.PROCESS, max_replicas=max_replicas),
            lightweight_capacity=pod_runtimes.capacity(pod_runtimes.LIGHTWEIGHT, max_replicas=max_replicas),
            lightweight_above=lightweight_above,
            layout=layout,
        )
        self.network.layout = self.node.layout
        self.deployments = Deployments(store, self.recorder)
        self.replica_sets = ReplicaSets(store, self.recorder, delete_pod=self.delete_gracefully)
        self.endpoints = EndpointControllers(store, max_endpoints_per_slice=max_endpoints_per_slice)
        self.garbage = GarbageCollector(store, self.delete_gracefully)
        self.forwards: list[tuple[ServiceProxy, str]] = []
        self._dirty = False
        self._stopped = False
        self._sync_task: asyncio.Future | None = None
        self._tasks: list[asyncio.Task] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")

    # --- set-up ------------------------------------------------------------------------------

    def start(self) -> None:
        """Subscribe to the store and run the first pass."""
        for resource in WATCHED:
            watcher = self.store.watch(resource, None, lambda _: True)
            self._tasks.append(asyncio.ensure_future(self._follow(watcher)))
        self._tasks.append(asyncio.ensure_future(self._expire_events()))
        self.schedule_sync()

    def add_forward(self, proxy: ServiceProxy, deployment: str) -> None:
        """Like ``kubectl port-forward deploy/NAME``: one ready pod of the Deployment (by its
        selector), the same one while it stays ready, another when it goes."""
        self.forwards.append((proxy, deployment))

    async def _follow(self, watcher) -> None:
        try:
            while True:
                await watcher.queue.get()
                while not watcher.queue.empty():
                    watcher.queue.get_nowait()
                self.schedule_sync()
        finally:
            self.store.unwatch(watcher)

    async def _expire_events(self) -> None:
        while True:
            await asyncio.sleep(EXPIRY_SECONDS)
            self.recorder.expire()

    # --- the pass ----------------------------------------------------------------------------

    def reconcile(self) -> None:
        """Ask for a pass (the name the sandbox has always used)."""
        self.schedule_sync()

    def schedule_sync(self) -> None:
        """Coalesce a burst of changes into one pass at a time: a pass awaits the proxies, and two
        at once would race to open a listener."""
        if self._stopped:
            return
        self._dirty = True
        if self._sync_task is None or self._sync_task.done():
            self._sync_task = asyncio.ensure_future(self._sync_until_clean())

    async def _sync_until_clean(self) -> None:
        while self._dirty and not self._stopped:
            self._dirty = False
            try:
                await self._sync()
            except Exception:
                logger.exception("sync failed; retrying on the next change")

    def _sync_controllers(self) -> list[float]:
        """The pass's synchronous steps (1-6); returns when to sync again."""
        self.network.allocate()
        self.garbage.collect()
        later = [self.deployments.sync(), self.replica_sets.sync()]
        self.node.sync()
        self.endpoints.sync(self.node.pod_states())
        return [when for when in later if when is not None]

    def _settle_now(self) -> None:
        """After a write through the sandbox's own API paths (scale, pod delete), carry out its
        effects before the answer goes back: a terminating pod is already out of the proxies
        when ``kubectl scale``/``delete`` returns. The proxies' own sync follows."""
        if not self._stopped:
            self._sync_controllers()
            self.schedule_sync()

    async def _sync(self) -> None:
        later = self._sync_controllers()
        by_name = {state.name: state for state in self.node.pod_states()}

        def host_port(pod: str, port: int) -> int:
            return by_name[pod].host_port(port) if pod in by_name else port

        await self.network.sync(host_port)
        await self._sync_forwards()
        self._arm_timer(later)

    def _arm_timer(self, moments: list[float]) -> None:
        """Sync again when a rollout may time out or a pod becomes available (minReadySeconds)."""
        if not moments:
            return
        at = min(moments) + 0.01
        if self._timer is not None and not self._timer.cancelled() and self._timer_at <= at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        # Never sooner than a quarter second: a deadline that lands in the second it is checked
        # in (timestamps have whole seconds) must not spin the loop until that second is over.
        self._timer = asyncio.get_running_loop().call_later(max(at - time.time(), 0.25), self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer, self._timer_at = None, float("inf")
        self.schedule_sync()

    async def _sync_forwards(self) -> None:
        live = {pod["metadata"]["uid"]: pod for pod in self.store.list(resources.PODS)}
        for proxy, name in self.forwards:
            deployment = self.store.get(resources.DEPLOYMENTS, NAMESPACE, name)
            selector = (deployment or {}).get("spec", {}).get("selector")
            candidates = sorted(
                (state.ip, state.host_port(8081))
                for state in self.node.pod_states()
                if state.uid in live
                and state.namespace == NAMESPACE  # a selector selects in its own namespace only
                and state.ready
                and not state.terminating
                and label_selector_matches(selector, live[state.uid]["metadata"].get("labels"))
            )
            keep = [backend for backend in proxy.backends if backend in candidates]
            await proxy.set_backends(keep or candidates[:1])

    def _leaving(self, state: PodState) -> None:
        """A terminating pod leaves every proxy at once, before the next pass (kube-proxy stops
        sending new connections as soon as its endpoint is not ready)."""
        gone = {(state.ip, state.host_port(port)) for port in self.network.target_ports()}
        self.network.drop(gone)
        for proxy, _ in self.forwards:
            proxy.drop_backends(gone)

    # --- what the API server asks (sandbox.apiserver.Controls) -------------------------------

    def delete_gracefully(self, pod: dict, grace_seconds: int | None = None) -> dict | None:
        """A pod's DELETE as the API server carries it out: ``deletionTimestamp`` now + grace
        (the node then stops it and removes it); an unscheduled pod goes at once."""
        metadata = pod["metadata"]
        current = self.store.get(resources.PODS, metadata.get("namespace", ""), metadata["name"])
        if current is None:
            return None
        if grace_seconds is None:
            grace_seconds = pods.grace_seconds(current, self.termination_grace_seconds)
        if not current["spec"].get("nodeName"):
            return self.store.delete(resources.PODS, metadata.get("namespace", ""), metadata["name"])
        marked = pods.marked_for_deletion(current, int(grace_seconds))
        if marked == current:
            return current
        updated = self.store.update(resources.PODS, marked)
        self.schedule_sync()
        return updated

    def delete_pod(self, name: str, grace_seconds: int | None, namespace: str) -> dict | None:
        """``DELETE pods/NAME`` (``gracePeriodSeconds`` or None): the pod as the API returns it."""
        deleted = self.delete_gracefully({"metadata": {"name": name, "namespace": namespace}}, grace_seconds)
        self._settle_now()
        return deleted

    def scale(self, deployment: str, replicas: int, namespace: str) -> dict:
        """The ``scale`` subresource's write: ``spec.replicas``, then its effects at once."""
        current = self.store.get(resources.DEPLOYMENTS, namespace, deployment)
        if current is None:
            raise KeyError(deployment)
        current["spec"]["replicas"] = replicas
        updated = self.store.update(resources.DEPLOYMENTS, current)
        self._settle_now()
        return updated

    def replica_limit(self, deployment: dict, replicas: object) -> int:
        """The most replicas a scale of ``deployment`` to ``replicas`` may ask for: its runtime's."""
        return pod_runtimes.replica_limit(
            deployment, replicas, max_replicas=self.max_replicas, lightweight_above=self.lightweight_above
        )

    def allocate_service(self, service: dict, old: dict | None) -> None:
        """The Service allocator's part of a write through the API (``ServiceNetwork.assign``)."""
        self.network.assign(service, old)

    def runner(self, name: str, namespace: str) -> PodRunner | None:
        """The process of the pod ``namespace/name`` (logs, exec, port-forward, faults)."""
        return self.node.runner(name, namespace)

    def pod_states(self) -> list[PodState]:
        """The node's pods as it runs them."""
        return self.node.pod_states()

    async def stop(self, grace_seconds: float = 5.0) -> None:
        self._stopped = True
        for task in self._tasks:
            task.cancel()
        if self._timer is not None:
            self._timer.cancel()
        if self._sync_task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._sync_task, 5)
        await self.node.stop(grace_seconds)
        await self.network.close()
        for proxy, _ in self.forwards:
            await proxy.close()
