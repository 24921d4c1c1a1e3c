"""Bring the local cluster up, tell the user what is where, and take it all down on Ctrl-C.

What each pod's process is given to run with is ``sandbox.pod_environment``'s to say."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import resource
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from sandbox import manifests, names, pod_environment, pod_runtimes, resources, topology
from sandbox.addresses import AddressPool
from sandbox.apiserver import ApiServer
from sandbox.controller import Cluster
from sandbox.pod_environment import CONSUMER, PROVIDER_SERVICE
from sandbox.proxy import AddressInUse, ServiceProxy
from sandbox.store import Store
from sandbox.streaming import ApiWebSockets

logger = logging.getLogger(__name__)


@dataclass
class Options:
    state_dir: Path
    api_port: int = 8001
    dashboard_port: int = 8081
    cluster_ip: str = "127.0.10.1"
    pod_network: str = "127.0.1"
    balancing: str = "random"
    proxy_seed: str | None = None  # repeatable random picks (--proxy-seed); None: from the OS
    session_affinity: bool = False
    drain_seconds: float | None = None
    grace_seconds: float | None = None
    providers: int | None = None
    dashboard: bool = True
    chaos: bool = True
    bookmark_seconds: float = 10.0
    empty: bool = False  # no workloads at start: the user applies them, as in the tutorial
    max_replicas: int = 10
    lightweight_above: int = pod_runtimes.LIGHTWEIGHT_ABOVE  # above this, a Deployment's pods are lightweight
    max_endpoints_per_slice: int = 100  # kube-controller-manager --max-endpoints-per-slice
    nodes: int = 1  # sandbox-node, or sandbox-node-1..N (sandbox.topology)
    zones: int = 1  # zone-a, zone-b, ... dealt round-robin over the nodes
    provider_env: dict[str, str] = field(default_factory=dict)
    dashboard_env: dict[str, str] = field(default_factory=dict)


class StartupError(Exception):
    """Something the user can fix (a port in use); the message says what and which option."""


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside the sandbox's loop: the sandbox, not uvicorn, handles the signals."""

    def capture_signals(self):
        return contextlib.nullcontext()


def _bind(host: str, port: int, option: str) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(
            f"{host}:{port} is not available ({exc.strerror}); choose another with {option}"
        ) from exc
    sock.listen(128)
    return sock


def write_kubeconfig(path: Path, server: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: k8s-combat-sandbox\n  cluster:\n    server: {server}\n"
        "users:\n- name: k8s-combat-sandbox\n  user: {}\n"
        "contexts:\n- name: k8s-combat-sandbox\n  context:\n    cluster: k8s-combat-sandbox\n"
        "    user: k8s-combat-sandbox\n    namespace: default\n"
        "current-context: k8s-combat-sandbox\n"
    )


class Sandbox:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.state_dir = options.state_dir
        self.kubeconfig = self.state_dir / "kubeconfig"
        self.store = Store()
        # The pod network grows past NETWORK.254 into other /24s of its /16, never the ClusterIPs'.
        self.addresses = AddressPool(options.pod_network, avoid=(options.cluster_ip,))
        self.service_url = f"http://{options.cluster_ip}:8081"
        # The cluster DNS (CoreDNS's part): pods find the Service by name through it.
        self.dns = names.ClusterDns(self.store, names.dns_address(options.cluster_ip))
        self.service_proxy = ServiceProxy(
            options.cluster_ip,
            8081,
            mode=options.balancing,
            name="the Service's ClusterIP (--cluster-ip)",
            seed=options.proxy_seed,
        )
        self.grpc_proxy = ServiceProxy(
            options.cluster_ip,
            50051,
            mode=options.balancing,
            name="the Service's gRPC port (--cluster-ip)",
            seed=options.proxy_seed,
        )
        # Whatever Services get applied, k8s-combat-service keeps --cluster-ip (sandbox.services).
        self.cluster = Cluster(
            self.store,
            addresses=self.addresses,
            pod_env=functools.partial(
                pod_environment.for_container,
                store=self.store,
                nameserver=self.dns.address,
                state_dir=self.state_dir,
                kubeconfig=self.kubeconfig,
                options=options,
            ),
            log_dir=self.state_dir / "logs",
            max_replicas=options.max_replicas,
            lightweight_above=options.lightweight_above,
            max_endpoints_per_slice=options.max_endpoints_per_slice,
            layout=topology.layout(options.nodes, options.zones),
            termination_grace_seconds=options.grace_seconds,
            cluster_ip=options.cluster_ip,
            balancing=options.balancing,
            proxy_seed=options.proxy_seed,
            reserved_proxies={
                (options.cluster_ip, 8081): self.service_proxy,
                (options.cluster_ip, 50051): self.grpc_proxy,
            },
            avoid_ips=(self.dns.host,),  # the cluster DNS server's address is no ClusterIP
        )
        self.forward = ServiceProxy(
            "127.0.0.1", options.dashboard_port, name="the dashboard (--dashboard-port)"
        )
        self.api: ApiServer | None = None
        self._server: _EmbeddedServer | None = None
        self._server_task: asyncio.Task | None = None

    async def start(self) -> None:
        options = self.options
        api_socket = _bind("127.0.0.1", options.api_port, "--api-port")
        try:
            await self.service_proxy.check_address()
            await self.grpc_proxy.check_address()
            await self.forward.check_address()
        except AddressInUse as exc:
            api_socket.close()
            raise StartupError(str(exc)) from exc
        try:
            await self.dns.start()
        except OSError as exc:
            api_socket.close()
            raise StartupError(
                f"the cluster DNS cannot listen on {self.dns.address} ({exc.strerror}); "
                "choose another --cluster-ip"
            ) from exc
        api_address = f"127.0.0.1:{api_socket.getsockname()[1]}"
        self.api = ApiServer(
            self.store, self.cluster, server_address=api_address, bookmark_seconds=options.bookmark_seconds
        )
        config = uvicorn.Config(
            self.api,
            lifespan="off",
            ws=ApiWebSockets,  # exec and port-forward: kubectl's subprotocol names (sandbox.streaming)
            log_level="warning",
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=1,
        )
        self._server = _EmbeddedServer(config)
        self._server_task = asyncio.create_task(self._server.serve(sockets=[api_socket]))
        write_kubeconfig(self.kubeconfig, f"http://{api_address}")
        if not options.empty:
            manifests.create(self.store, self._workloads())
        # 127.0.0.1:8081 is the consumer's pod, as after `kubectl port-forward deploy/k8s-combat`.
        self.cluster.add_forward(self.forward, CONSUMER)
        self.cluster.start()

    def _workloads(self) -> list[dict]:
        """manifests/base's Deployments and Service, as the options shape them."""
        options, chosen = self.options, []
        for document in manifests.load():
            name = document["metadata"]["name"]
            if document["kind"] == "Deployment":
                if name == CONSUMER and not options.dashboard:
                    continue
                if name == PROVIDER_SERVICE and options.providers is not None:
                    document["spec"]["replicas"] = options.providers
            elif document["kind"] == "Service" and options.session_affinity:
                document["spec"]["sessionAffinity"] = "ClientIP"
            chosen.append(document)
        return chosen

    async def wait_ready(self, limit_seconds: float) -> bool:
        """Until every Deployment has rolled out with all its pods ready (at once when there are
        none: ``--empty``); False after ``limit_seconds``, or at once on a crash loop."""
        deadline = time.monotonic() + limit_seconds
        while time.monotonic() < deadline:
            pods = self.cluster.pod_states()
            if all(_rolled_out(d) for d in self.store.list(resources.DEPLOYMENTS)) and all(
                pod.ready for pod in pods if not pod.terminating
            ):
                return True
            if any(pod.waiting_reason == "CrashLoopBackOff" for pod in pods):
                return False  # say so now rather than after the whole wait
            await asyncio.sleep(0.1)
        return False

    def banner(self) -> str:
        options = self.options
        pods = self.cluster.pod_states()
        lines = ["", "k8s-combat sandbox is up: a local stand-in for the tutorial's cluster.", ""]
        if options.empty:
            lines.append("  Empty       no workloads yet: kubectl apply them (-f FILE, or -k manifests/base)")
        if options.dashboard:
            once = ", once it runs" if options.empty else ""
            lines.append(
                f"  Dashboard   http://127.0.0.1:{options.dashboard_port}/   (as after kubectl port-forward"
                f" deploy/{CONSUMER}{once})"
            )
        for service in self.store.list(resources.SERVICES):
            address, ports = service["spec"].get("clusterIP", ""), service["spec"].get("ports") or []
            affinity = ", ClientIP affinity" if service["spec"].get("sessionAffinity") == "ClientIP" else ""
            lines.append(
                f"  Service     {service['metadata']['name']}  ClusterIP {address}:"
                f"{','.join(str(p.get('port')) for p in ports)}  ({options.balancing}{affinity})"
            )
        layout = self.cluster.node.layout
        if len(layout.nodes) > 1:
            lines.append("  Nodes       " + ", ".join(f"{n} ({layout.zones[n]})" for n in layout.nodes))
        for pod in sorted(pods, key=lambda p: p.name):
            state = "ready" if pod.ready else "not ready"
            where = f"  {pod.node}" if len(layout.nodes) > 1 else ""
            lines.append(f"  Pod         {pod.name:<46} {pod.ip}:{pod.port}  {state}{where}")
        lines += [
            f"  API server  http://{self.api.server_address if self.api else ''}",
            "",
            "Poke at it with kubectl:",
            f"  KUBECONFIG={self.kubeconfig} kubectl get pods,deploy,svc,endpointslices -o wide",
            f"  KUBECONFIG={self.kubeconfig} kubectl scale deployment {PROVIDER_SERVICE} --replicas=3",
            f"  curl http://127.0.0.1:{options.dashboard_port}/service" if options.dashboard else "",
            "",
            f"Pod logs are in {self.state_dir / 'logs'}/. Ctrl-C stops everything.",
            "",
        ]
        return "\n".join(line for line in lines if line is not None)

    async def stop(self) -> None:
        await self.cluster.stop()
        await self.service_proxy.close()
        await self.grpc_proxy.close()
        await self.forward.close()
        await self.dns.close()
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._server_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server_task, 5)


def _rolled_out(deployment: dict) -> bool:
    """What ``kubectl rollout status`` waits for, and every replica ready."""
    status, wanted = deployment.get("status") or {}, deployment["spec"].get("replicas", 1)
    return (
        status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 1)
        and status.get("updatedReplicas", 0) == wanted
        and status.get("replicas", 0) == wanted
        and status.get("readyReplicas", 0) == wanted
    )


def _raise_open_file_limit() -> None:
    """Every proxied connection holds two sockets; the default soft limit (often 1024) is low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))


async def run(options: Options, *, out=sys.stdout) -> int:
    _raise_open_file_limit()
    sandbox = Sandbox(options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        try:
            await sandbox.start()
        except StartupError as exc:
            print(f"sandbox: {exc}", file=sys.stderr)
            return 2
        ready = await sandbox.wait_ready(60)
        print(sandbox.banner(), file=out, flush=True)
        if not ready:
            print("sandbox: some pods are not ready yet; see their logs", file=sys.stderr, flush=True)
        await stop.wait()
        print("sandbox: stopping pods...", file=out, flush=True)
        return 0
    finally:
        await sandbox.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
