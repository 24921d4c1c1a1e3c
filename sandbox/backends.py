"""kube-proxy's reading of a Service's EndpointSlices: where a Service port's new connections go.

Pure, and the dashboard's own reading (``dashboard.slices``) underneath, so the sandbox's proxy
and the page can never disagree on what a slice says: one pod listed in several slices is one
backend, conditions follow the API reference's nil rules, ``endpoints: null`` is none.
kube-proxy programs a ClusterIP of one family with the endpoints of that family only, so an
``IPv6`` slice never feeds an IPv4 ClusterIP and an ``FQDN`` slice feeds nothing; it dials an
endpoint's first address, on the port of the slice named like the Service's port.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from dashboard import slices
from sandbox.objects import NAMESPACE, SERVICE_NAME_LABEL
from sandbox.topology import Endpoint

Backend = tuple[str, int]
Ready = tuple[str, str, int, str, frozenset[str]]  # pod, first address, port, node, zone hints


def of_service(name: str, namespace: str = NAMESPACE) -> Callable[[Mapping], bool]:
    """Whether an EndpointSlice is one of the Service's: its ``kubernetes.io/service-name``."""

    def accepts(obj: Mapping) -> bool:
        metadata = obj.get("metadata") or {}
        return metadata.get("namespace") == namespace and (
            (metadata.get("labels") or {}).get(SERVICE_NAME_LABEL) == name
        )

    return accepts


def service_backends(
    endpoint_slices: Iterable[Mapping],
    *,
    family: str,
    port_name: str,
    host_port: Callable[[str, int], int] = lambda pod, port: port,
) -> list[Backend]:
    """The ready endpoints of ``family`` ("IPv4" or "IPv6") as ``(address, port)``, sorted, each
    once. ``port_name`` is the Service port's name ("" when unnamed); an endpoint whose slices
    have no port of that name is not a backend for it. ``host_port(pod, port)`` says where a
    pod's port listens on this machine (the sandbox may shift it); ``pod`` is "" for an endpoint
    without a Pod targetRef."""
    return sorted(
        {
            (address, host_port(pod, port))
            for pod, address, port, _, _ in _ready(endpoint_slices, family, port_name)
        }
    )


def _ready(endpoint_slices: Iterable[Mapping], family: str, port_name: str) -> list[Ready]:
    """``(pod, first address, port, node, zone hints)`` of each ready endpoint of ``family`` with
    a port so named."""
    if family not in slices.IP_FAMILIES:
        return []
    ready = []
    for endpoint in slices.from_slices(endpoint_slices).values():
        addresses = endpoint.addresses.get(family)
        port = endpoint.ports.get(family, {}).get(port_name)
        if endpoint.ready and addresses and port is not None:
            ready.append((endpoint.pod, addresses[0], port, endpoint.node, frozenset(endpoint.hints)))
    return ready


class BackendCache:
    """``service_backends`` that reads a Service's slices again only when they changed: kube-proxy
    recomputes a Service's endpoints on an EndpointSlice event, not on every sync. The slices are
    known by name and ``metadata.resourceVersion`` (a slice without one is always read); one
    entry is kept per Service, family and port."""

    def __init__(self) -> None:
        self._memo: dict[tuple, tuple[tuple, list[Ready]]] = {}

    def backends(
        self,
        service: tuple[str, str],
        endpoint_slices: list[Mapping],
        *,
        family: str,
        port_name: str,
        host_port: Callable[[str, int], int] = lambda pod, port: port,
    ) -> list[Backend]:
        """As ``service_backends``; ``service`` is its (namespace, name)."""
        return sorted(
            {
                e.backend
                for e in self.endpoints(
                    service, endpoint_slices, family=family, port_name=port_name, host_port=host_port
                )
            }
        )

    def endpoints(
        self,
        service: tuple[str, str],
        endpoint_slices: list[Mapping],
        *,
        family: str,
        port_name: str,
        host_port: Callable[[str, int], int] = lambda pod, port: port,
    ) -> list[Endpoint]:
        """The ready endpoints as kube-proxy's topology filter needs them: each backend once
        (sorted), with its ``nodeName`` and ``hints.forZones`` names."""
        versions = tuple(
            ((s.get("metadata") or {}).get("name"), (s.get("metadata") or {}).get("resourceVersion"))
            for s in endpoint_slices
        )
        key = (service, family, port_name)
        known = self._memo.get(key)
        if known is None or known[0] != versions or not all(version for _, version in versions):
            known = self._memo[key] = (versions, _ready(endpoint_slices, family, port_name))
        found: dict[Backend, Endpoint] = {}
        for pod, address, port, node, hints in known[1]:
            backend = (address, host_port(pod, port))
            found.setdefault(backend, Endpoint(backend, node, hints))
        return [found[backend] for backend in sorted(found)]
