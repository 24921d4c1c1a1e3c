"""Services on the machine's loopback: ClusterIP allocation and kube-proxy's sync.

- ``assign``: what the API server's Service allocator sets inside a write (create, replace,
  patch, apply: the answer carries it), as ``pkg/registry/core/service/storage/alloc.go`` does.
  A Service without a ``clusterIP`` (not ExternalName) gets one: the ``--cluster-ip`` address is
  kept for ``k8s-combat-service`` (pods and the README know it), every other Service gets the
  lowest free address of the same /24 (never the cluster DNS's); an update keeps the old
  Service's addresses. ``clusterIPs`` follows ``clusterIP`` (``["None"]`` for a headless
  Service); ``ipFamilyPolicy`` defaults to ``SingleStack`` (``RequireDualStack`` for a headless
  Service without a selector) and ``ipFamilies`` to the addresses' families (``IPv4``, with
  ``IPv6`` too when dual-stack is required). ``allocate`` does the same for Services written to
  the store directly (the tutorial's, at start-up).
- ``sync``: for every port of every Service with a ClusterIP on 127.0.0.0/8, a ``ServiceProxy``
  listens on ``clusterIP:port`` while the Service has ready endpoints (from its EndpointSlices,
  the hand-written ones too, as kube-proxy reads them), balancing per connection
  (``--balancing``, or the Service's ``sandbox.k8s-combat.dev/proxy-mode`` annotation:
  ``iptables`` random, ``ipvs`` round robin) or pinned per client with ``sessionAffinity:
  ClientIP`` (for ``sessionAffinityConfig.clientIP.timeoutSeconds``, default 10800), among the
  endpoints ``internalTrafficPolicy`` and ``trafficDistribution`` leave to the caller's node and
  zone (``sandbox.topology``; a caller is placed by its pod IP). Each pass reprograms every
  proxy, so a patched Service counts from the next new connection, as after kube-proxy's resync.
  A Service deleted, or a port removed, closes its proxy; established connections carry on, as
  with kube-proxy.
"""

from __future__ import annotations

import copy
import ipaddress
import logging
from collections.abc import Callable

from sandbox import backends, resources, topology
from sandbox.proxy import ServiceProxy
from sandbox.store import Store

logger = logging.getLogger(__name__)

PROVIDER_SERVICE = "k8s-combat-service"
DEFAULT_AFFINITY_SECONDS = 10800
PROXY_MODE_ANNOTATION = "sandbox.k8s-combat.dev/proxy-mode"  # a sandbox extension, not Kubernetes'
PROXY_MODES = {"iptables": "random", "nftables": "random", "ipvs": "round-robin"}
Key = tuple[str, int]  # (clusterIP, port)


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network("127.0.0.0/8")
    except ValueError:
        return False


def _family(address: str) -> str:
    return "IPv6" if ":" in address else "IPv4"


def address_fields(spec: dict) -> None:
    """``clusterIPs``, ``ipFamilyPolicy`` and ``ipFamilies`` of a Service with its ``clusterIP``
    (initIPFamilyFields, single-stack cluster)."""
    address = spec["clusterIP"]
    if not spec.get("clusterIPs"):
        spec["clusterIPs"] = [address]
    headless = address == "None"
    if not spec.get("ipFamilyPolicy"):
        dual = headless and not spec.get("selector")
        spec["ipFamilyPolicy"] = "RequireDualStack" if dual else "SingleStack"
    if not spec.get("ipFamilies"):
        if headless:
            dual = spec["ipFamilyPolicy"] == "RequireDualStack"
            spec["ipFamilies"] = ["IPv4", "IPv6"] if dual else ["IPv4"]
        else:
            spec["ipFamilies"] = [_family(ip) for ip in spec["clusterIPs"] if isinstance(ip, str)]


def affinity_seconds(service: dict) -> float | None:
    """Seconds a client stays pinned (``sessionAffinity: ClientIP``), or None without affinity."""
    spec = service.get("spec") or {}
    if spec.get("sessionAffinity") != "ClientIP":
        return None
    config = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds")
    return float(config or DEFAULT_AFFINITY_SECONDS)


def proxy_mode(service: dict, default: str) -> str:
    """The proxy's choice for ``service``: its ``sandbox.k8s-combat.dev/proxy-mode`` annotation
    (``iptables`` or ``nftables``: random; ``ipvs``: round robin, IPVS's default ``rr``
    scheduler), else ``default`` (``--balancing``); an unknown value counts as absent."""
    annotations = (service.get("metadata") or {}).get("annotations") or {}
    return PROXY_MODES.get(str(annotations.get(PROXY_MODE_ANNOTATION, "")).lower(), default)


class ServiceNetwork:
    """``reserved``: proxies made beforehand (their addresses checked at start-up), used for
    their (address, port) instead of new ones."""

    def __init__(
        self,
        store: Store,
        *,
        cluster_ip: str,
        mode: str = "random",
        seed: str | None = None,
        reserved: dict[Key, ServiceProxy] | None = None,
        avoid: tuple[str, ...] = (),
    ) -> None:
        self.store = store
        self.cluster_ip = cluster_ip
        self.mode = mode
        self.seed = seed
        self.proxies: dict[Key, ServiceProxy] = dict(reserved or {})
        self._reserved = set(self.proxies)
        self._avoid = set(avoid)
        self._failed: set[Key] = set()
        self._backends = backends.BackendCache()  # re-read a Service's slices when they change
        self.layout = topology.layout()  # the nodes and zones (the cluster sets its own)
        self._pod_nodes: dict[str, str] = {}  # pod IP -> node, as of the last pass

    def locate(self, host: str) -> tuple[str, str]:
        """The (node, zone) of a caller at ``host``: its pod's, or the first node's for an
        address that is no pod's (the user's terminal, the host)."""
        node = self._pod_nodes.get(host) or self.layout.first
        return node, self.layout.zones.get(node, "")

    # --- the allocator -------------------------------------------------------------------------

    def assign(self, service: dict, old: dict | None = None) -> bool:
        """Set what the allocator sets on ``service`` (in place), about to be stored over ``old``
        (None on create); whether it had an address to give."""
        spec = service.get("spec")
        if not isinstance(spec, dict) or spec.get("type") == "ExternalName":
            return True
        previous = (old or {}).get("spec") or {}
        if previous.get("type") == "ExternalName":
            previous = {}
        if not spec.get("clusterIP") and previous.get("clusterIP"):
            spec["clusterIP"] = previous["clusterIP"]
            spec.setdefault("clusterIPs", copy.deepcopy(previous.get("clusterIPs")))
        if not spec.get("clusterIP"):
            taken = {(s.get("spec") or {}).get("clusterIP") for s in self.store.list(resources.SERVICES)}
            address = self._free(service, taken | self._avoid)
            if address is None:
                return False
            spec.update(clusterIP=address, clusterIPs=[address])
        address_fields(spec)
        return True

    def allocate(self) -> None:
        """Services stored without what ``assign`` sets (written to the store directly)."""
        for service in self.store.list(resources.SERVICES):
            spec = service.get("spec") or {}
            if spec.get("type") == "ExternalName" or (spec.get("clusterIPs") and spec.get("ipFamilies")):
                continue
            if not self.assign(service):
                logger.warning("no ClusterIP left for service %s", service["metadata"]["name"])
                continue
            self.store.update(resources.SERVICES, service)

    def _free(self, service: dict, taken: set) -> str | None:
        if service["metadata"]["name"] == PROVIDER_SERVICE and self.cluster_ip not in taken:
            return self.cluster_ip
        network = ipaddress.ip_network(f"{self.cluster_ip}/24", strict=False)
        for host in network.hosts():
            address = str(host)
            if address != self.cluster_ip and address not in taken:
                return address
        return None

    # --- kube-proxy ----------------------------------------------------------------------------

    async def sync(self, host_port: Callable[[str, int], int]) -> None:
        """Program every Service's proxies; ``host_port(pod, port)`` is where a pod's port
        listens on this machine."""
        slices = self.store.list(resources.ENDPOINT_SLICES)
        self._pod_nodes = {
            (pod.get("status") or {}).get("podIP"): pod["spec"].get("nodeName", "")
            for pod in self.store.list(resources.PODS)
            if (pod.get("status") or {}).get("podIP") and pod["spec"].get("nodeName")
        }
        wanted: set[Key] = set()
        for service in self.store.list(resources.SERVICES):
            spec = service.get("spec") or {}
            address = spec.get("clusterIP") or ""
            if spec.get("type") == "ExternalName" or not _loopback(address):
                continue
            name = service["metadata"]["name"]
            namespace = service["metadata"].get("namespace", "default")
            own = [s for s in slices if backends.of_service(name, namespace)(s)]
            family = (spec.get("ipFamilies") or ["IPv4"])[0]
            for port in spec.get("ports") or []:
                if port.get("protocol", "TCP") != "TCP" or not isinstance(port.get("port"), int):
                    continue
                key = (address, port["port"])
                wanted.add(key)
                proxy = self.proxies.get(key)
                if proxy is None:
                    proxy = self.proxies[key] = ServiceProxy(
                        address,
                        port["port"],
                        mode=self.mode,
                        name=f"service {namespace}/{name} {address}:{port['port']}",
                        seed=self.seed,
                    )
                proxy.affinity_seconds = affinity_seconds(service)
                proxy.mode = proxy_mode(service, self.mode)
                proxy.locate = self.locate
                ready = self._backends.endpoints(
                    (namespace, name), own, family=family, port_name=port.get("name", ""), host_port=host_port
                )
                await self._program(key, proxy, ready, topology.policy_of(service))
        for key in [k for k in self.proxies if k not in wanted]:
            proxy = self.proxies[key]
            await proxy.set_endpoints([], topology.Policy())
            if key not in self._reserved:
                await proxy.close()
                del self.proxies[key]

    async def _program(
        self, key: Key, proxy: ServiceProxy, ready: list[topology.Endpoint], policy: topology.Policy
    ) -> None:
        try:
            await proxy.set_endpoints(ready, policy)
        except OSError as exc:
            if key not in self._failed:
                self._failed.add(key)
                logger.warning(
                    "%s: cannot listen (%s); the Service is unreachable", proxy.name, exc.strerror or exc
                )
            return
        self._failed.discard(key)

    def drop(self, gone: set[tuple[str, int]]) -> None:
        """Take a terminating pod's addresses out of every proxy at once."""
        for proxy in self.proxies.values():
            proxy.drop_backends(gone)

    def target_ports(self) -> set[int]:
        """The container ports the Services send to (8081 always): what a leaving pod drops."""
        ports = {8081}
        for service in self.store.list(resources.SERVICES):
            for port in (service.get("spec") or {}).get("ports") or []:
                if isinstance(port.get("targetPort"), int):
                    ports.add(port["targetPort"])
        return ports

    async def close(self) -> None:
        for proxy in self.proxies.values():
            await proxy.close()
