"""The controllers: Deployments keep their replica count, Services keep their endpoints.

One object plays the Deployment/ReplicaSet controller, the EndpointSlice and Endpoints
controllers and kube-proxy's sync loop: every pod change rewrites the objects that depend on
it in the store (so watches see it at once) and hands the ready endpoints to the proxies.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sandbox import backends, objects, resources
from sandbox.addresses import AddressPool
from sandbox.kubelet import PodRunner
from sandbox.objects import PodState
from sandbox.proxy import ServiceProxy
from sandbox.selectors import parse_label_selector
from sandbox.store import Store, now_rfc3339

logger = logging.getLogger(__name__)

NODE_NAME = "sandbox-node"
_SERVER_SET = ("uid", "creationTimestamp", "generation")


@dataclass
class DeploymentState:
    manifest: dict
    template_hash: str
    pods: dict[str, PodRunner] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.manifest["metadata"]["name"]

    @property
    def replicas(self) -> int:
        return self.manifest["spec"].get("replicas", 1)


@dataclass
class ServiceState:
    obj: dict
    slice_name: str
    proxies: list[ServiceProxy]


class Cluster:
    def __init__(
        self,
        store: Store,
        *,
        addresses: AddressPool,
        pod_env: Callable[[PodState, dict], dict[str, str]],
        log_dir: Path,
        max_replicas: int = 10,
        termination_grace_seconds: float | None = None,
    ) -> None:
        self.store = store
        self.addresses = addresses
        self.pod_env = pod_env
        self.log_dir = log_dir
        self.max_replicas = max_replicas
        self.termination_grace_seconds = termination_grace_seconds
        self.deployments: dict[str, DeploymentState] = {}
        self.services: dict[str, ServiceState] = {}
        self.forwards: list[tuple[ServiceProxy, Callable[[dict], bool]]] = []
        self._terminations: set[asyncio.Future] = set()
        self._dirty = False
        self._sync_task: asyncio.Future | None = None

    # --- set-up ------------------------------------------------------------------------------

    def add_deployment(self, manifest: dict) -> None:
        manifest = copy.deepcopy(manifest)
        manifest["metadata"]["namespace"] = objects.NAMESPACE
        state = DeploymentState(manifest, objects.template_hash(manifest["spec"]["template"]))
        self.deployments[state.name] = state
        self.store.create(resources.DEPLOYMENTS, objects.deployment_object(manifest, pods=[]))

    def add_service(self, manifest: dict, *, cluster_ip: str, proxies: list[ServiceProxy]) -> dict:
        service = self.store.create(
            resources.SERVICES, objects.service_object(manifest, cluster_ip=cluster_ip)
        )
        name = service["metadata"]["name"]
        self.services[name] = ServiceState(service, f"{name}-{objects.random_suffix()}", proxies)
        self.store.create(
            resources.ENDPOINT_SLICES,
            objects.endpoint_slice_object(service, name=self.services[name].slice_name, pods=[]),
        )
        self.store.create(resources.ENDPOINTS, objects.endpoints_object(service, pods=[]))
        return service

    def add_forward(self, proxy: ServiceProxy, selector: dict[str, str]) -> None:
        """Like `kubectl port-forward deploy/NAME`, but it follows the Deployment's ready pod."""
        matches = parse_label_selector(",".join(f"{k}={v}" for k, v in selector.items()))
        self.forwards.append((proxy, lambda labels: matches(labels)))

    # --- the reconcile loop ------------------------------------------------------------------

    def reconcile(self) -> None:
        for deployment in self.deployments.values():
            live = [runner for runner in deployment.pods.values() if not runner.pod.terminating]
            for _ in range(deployment.replicas - len(live)):
                self._create_pod(deployment)
            if len(live) > deployment.replicas:
                for runner in self._to_remove(live, deployment):
                    self._begin_termination(runner, None)
        self.schedule_sync()

    @staticmethod
    def _to_remove(live: list[PodRunner], deployment: DeploymentState) -> list[PodRunner]:
        """The ReplicaSet controller's order: not-ready pods first, then the newest."""
        excess = len(live) - deployment.replicas
        ranked = sorted(live, key=lambda r: (r.pod.ready, -_seconds(r.pod.created), r.pod.name))
        return ranked[:excess]

    def _create_pod(self, deployment: DeploymentState) -> None:
        ip, port = self.addresses.take()  # the pod's IP, and where its port 8081 is on this machine
        name = f"{deployment.name}-{deployment.template_hash}-{objects.random_suffix()}"
        template = copy.deepcopy(deployment.manifest["spec"]["template"])
        pod = PodState(
            name=name,
            deployment=deployment.name,
            template_hash=deployment.template_hash,
            template=template,
            uid=str(uuid.uuid4()),
            ip=ip,
            port=port,
            node=NODE_NAME,
            created=now_rfc3339(),
        )
        container = template["spec"]["containers"][0]
        runner = PodRunner(
            pod,
            env=self.pod_env(pod, container),
            log_path=self.log_dir / f"{name}.log",
            changed=self._pod_changed,
        )
        deployment.pods[name] = runner
        self.store.create(resources.PODS, objects.pod_object(pod))
        runner.start()

    def _pod_changed(self, pod: PodState) -> None:
        self.schedule_sync()

    def schedule_sync(self) -> None:
        """Coalesce a burst of changes (a probe flipping, a process exiting) into one sync at a
        time: a sync awaits the proxies, and two at once would race to open a listener."""
        self._dirty = True
        if self._sync_task is None or self._sync_task.done():
            self._sync_task = asyncio.ensure_future(self._sync_until_clean())

    async def _sync_until_clean(self) -> None:
        while self._dirty:
            self._dirty = False
            try:
                await self._sync()
            except Exception:
                logger.exception("sync failed; retrying on the next change")

    async def _sync(self) -> None:
        pods = self._pods()
        for pod in pods:
            self._write(resources.PODS, objects.pod_object(pod))
        for deployment in self.deployments.values():
            current = self.store.get(resources.DEPLOYMENTS, objects.NAMESPACE, deployment.name)
            rendered = objects.deployment_object(current, pods=[r.pod for r in deployment.pods.values()])
            self._write(resources.DEPLOYMENTS, rendered)
        by_name = {pod.name: pod for pod in pods}

        def host_port(pod: str, port: int) -> int:
            return by_name[pod].host_port(port) if pod in by_name else port

        for service in self.services.values():
            selected = self._selected(service.obj["spec"].get("selector", {}), pods)
            self._write(
                resources.ENDPOINT_SLICES,
                objects.endpoint_slice_object(service.obj, name=service.slice_name, pods=selected),
            )
            self._write(resources.ENDPOINTS, objects.endpoints_object(service.obj, pods=selected))
            # As kube-proxy does: from every EndpointSlice of the Service (hand-written ones too),
            # not from the pods, for the ClusterIP's family.
            name = service.obj["metadata"]["name"]
            service_slices = self.store.list(resources.ENDPOINT_SLICES, backends.of_service(name))
            family = (service.obj["spec"].get("ipFamilies") or ["IPv4"])[0]
            for proxy, port in zip(service.proxies, service.obj["spec"]["ports"], strict=True):
                await proxy.set_backends(
                    backends.service_backends(
                        service_slices, family=family, port_name=port.get("name", ""), host_port=host_port
                    )
                )
        for proxy, matches in self.forwards:
            ready = [
                (pod.ip, pod.host_port(8081))
                for pod in pods
                if matches(pod.template["metadata"].get("labels", {})) and pod.ready and not pod.terminating
            ]
            await proxy.set_backends(ready[:1])

    def _proxies(self) -> list[ServiceProxy]:
        return [p for service in self.services.values() for p in service.proxies] + [
            p for p, _ in self.forwards
        ]

    def _pods(self) -> list[PodState]:
        runners = [r for d in self.deployments.values() for r in d.pods.values()]
        return [runner.pod for runner in runners]

    @staticmethod
    def _selected(selector: dict[str, str], pods: list[PodState]) -> list[PodState]:
        return [
            pod
            for pod in pods
            if all(pod.template["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
        ]

    def _write(self, resource: resources.Resource, rendered: dict) -> None:
        """Update the stored object only when it changed, so watchers see real changes only."""
        current = self.store.get(resource, objects.NAMESPACE, rendered["metadata"]["name"])
        if current is None:
            return
        for kept in _SERVER_SET:
            if kept in current["metadata"]:
                rendered["metadata"][kept] = current["metadata"][kept]
        rendered["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        if rendered != current:
            self.store.update(resource, rendered)

    # --- what users do -----------------------------------------------------------------------

    def scale(self, deployment: str, replicas: int) -> dict:
        state = self.deployments[deployment]
        state.manifest["spec"]["replicas"] = replicas
        current = self.store.get(resources.DEPLOYMENTS, objects.NAMESPACE, deployment)
        current["spec"]["replicas"] = replicas
        updated = self.store.update(resources.DEPLOYMENTS, current)
        self.reconcile()
        return updated

    def runner(self, name: str) -> PodRunner | None:
        for deployment in self.deployments.values():
            if name in deployment.pods:
                return deployment.pods[name]
        return None

    def delete_pod(self, name: str, grace_seconds: int | None) -> dict | None:
        for deployment in self.deployments.values():
            runner = deployment.pods.get(name)
            if runner is not None:
                if not runner.pod.terminating:
                    self._begin_termination(runner, grace_seconds)
                    self.reconcile()
                return objects.pod_object(runner.pod)
        return None

    def _begin_termination(self, runner: PodRunner, grace_seconds: int | None) -> None:
        pod = runner.pod
        default = pod.template["spec"].get("terminationGracePeriodSeconds", 30)
        grace = default if grace_seconds is None else grace_seconds
        if self.termination_grace_seconds is not None and grace_seconds is None:
            grace = self.termination_grace_seconds
        pod.deletion_timestamp = now_rfc3339()
        pod.grace_period = int(grace)
        ports = {8081} | {
            port["targetPort"] for s in self.services.values() for port in s.obj["spec"]["ports"]
        }
        for proxy in self._proxies():
            proxy.drop_backends({(pod.ip, pod.host_port(port)) for port in ports})
        self.schedule_sync()
        task = asyncio.ensure_future(self._terminate(runner, grace))
        self._terminations.add(task)
        task.add_done_callback(self._terminations.discard)

    async def _terminate(self, runner: PodRunner, grace: float) -> None:
        try:
            await runner.terminate(grace)
        finally:
            for deployment in self.deployments.values():
                deployment.pods.pop(runner.pod.name, None)
            self.addresses.give_back(runner.pod.ip, runner.pod.port)
            self.store.delete(resources.PODS, objects.NAMESPACE, runner.pod.name)
            self.schedule_sync()

    async def stop(self, grace_seconds: float = 5.0) -> None:
        runners = [r for d in self.deployments.values() for r in d.pods.values()]
        for deployment in self.deployments.values():
            deployment.manifest["spec"]["replicas"] = 0
        await asyncio.gather(*(runner.terminate(grace_seconds) for runner in runners), return_exceptions=True)
        for runner in runners:
            runner.kill_now()


def _seconds(timestamp: str) -> float:
    return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").timestamp()
