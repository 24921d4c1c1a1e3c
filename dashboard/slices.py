"""The Service's endpoints, from EndpointSlices (or legacy Endpoints), as one plain set.

Pure functions over the API's JSON, read as the EndpointSlice API reference
(discovery.k8s.io/v1 ``EndpointSlice``, ``Endpoint``, ``EndpointConditions``) defines it:

- An endpoint is what it points at, not an address. A Service has one slice per address family
  at least (a dual-stack Service: an ``IPv4`` and an ``IPv6`` slice listing the same pods), and
  an endpoint sits in two slices at once while the controller moves it, so the set is keyed by
  the endpoint's ``targetRef`` (kind/namespace/name, else its uid). An endpoint without one (a
  Service without a selector, with hand-written slices) is kept, keyed and named by its first
  address.
- ``addressType`` says what the addresses are. ``IPv4`` and ``IPv6`` addresses are kept per
  family and are the only ones ever matched against an answering pod's IP; ``FQDN`` names are
  kept and shown as such, never taken for IPs (kube-proxy ignores FQDN slices, so no call through
  the Service reaches them). A slice without a known ``addressType`` (the API requires one of
  the three) says nothing usable and is skipped.
- Ports are per slice: each endpoint keeps, per family, the ports of the slices listing it, by
  name (a slice's ports are named as the Service's ports: ``app`` and ``grpc`` here).
- Conditions are read by ``conditions``; ``endpoints: null`` and ``ports: null`` mean none.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

IP_FAMILIES = ("IPv4", "IPv6")
FQDN = "FQDN"
ADDRESS_TYPES = (*IP_FAMILIES, FQDN)


class Conditions(NamedTuple):
    ready: bool
    serving: bool
    terminating: bool


def conditions(raw: Mapping | None) -> Conditions:
    """An endpoint's ``conditions`` with the nil rules of the API reference (EndpointConditions):

    - ``terminating`` nil: "Consumers should interpret this unknown state to mean that the
      endpoint is not terminating."
    - ``ready`` nil: "In most cases consumers should interpret this unknown state as ready. For
      compatibility reasons, ready should never be "true" for terminating endpoints": nil is
      ready unless the endpoint is terminating. A value that is set is kept, ``true`` included:
      the reference allows it on a terminating endpoint when readiness "is being explicitly
      overridden" (``publishNotReadyAddresses``), and kube-proxy then sends it traffic.
    - ``serving`` nil: "consumers should defer to the ready condition" (as read above).

    ``raw`` None, or a value that is not a JSON boolean, counts as nil (unknown).
    """
    raw = raw if isinstance(raw, Mapping) else {}

    def known(name: str) -> bool | None:
        value = raw.get(name)
        return value if isinstance(value, bool) else None

    terminating = known("terminating") is True
    ready = known("ready")
    ready = (not terminating) if ready is None else ready
    serving = known("serving")
    return Conditions(ready, ready if serving is None else serving, terminating)


@dataclass(frozen=True)
class Endpoint:
    """One endpoint however many slices list it.

    ``key``: ``"<kind>/<namespace>/<name>"`` of its targetRef, ``"<kind>/uid/<uid>"`` when the
    reference has only a uid, or ``"<addressType>/<first address>"`` without one. ``name``: the
    target's name, else that address. ``pod``: the target's name when it is a Pod, else "".
    ``addresses``: ``{"IPv4": (...), "IPv6": (...), "FQDN": (...)}``, the families it has, each in
    the order first seen. ``ports``: ``{family: {port name: number}}``.
    """

    key: str
    name: str
    pod: str
    node: str
    zone: str
    ready: bool
    serving: bool
    terminating: bool
    addresses: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ports: dict[str, dict[str, int]] = field(default_factory=dict)
    hints: tuple[str, ...] = ()  # hints.forZones[].name: the zones kube-proxy may route it for

    @property
    def ips(self) -> tuple[str, ...]:
        """Its IP addresses, IPv4 first: the only addresses a Service call can reach."""
        return tuple(address for family in IP_FAMILIES for address in self.addresses.get(family, ()))

    @property
    def ip(self) -> str:
        """The first IP, "" for an endpoint with FQDN names only (protocol 1's ``ip``)."""
        return next(iter(self.ips), "")

    @property
    def state(self) -> str:
        if self.terminating:
            return "terminating"
        return "ready" if self.ready else "not-ready"

    def has_ip(self, ip: str) -> bool:
        """Whether ``ip`` is one of its IPv4/IPv6 addresses (compared as addresses, not text)."""
        wanted = _parse_ip(ip)
        return wanted is not None and any(_parse_ip(own) == wanted for own in self.ips)

    def as_dict(self) -> dict:
        """The endpoint of docs/protocol.md: ``{key, name, pod, ip, addresses, ports, node, zone,
        hints, ready, serving, terminating, state}``."""
        return {
            "key": self.key,
            "name": self.name,
            "pod": self.pod,
            "ip": self.ip,
            "addresses": {f: list(self.addresses[f]) for f in ADDRESS_TYPES if f in self.addresses},
            "ports": {f: dict(sorted(self.ports[f].items())) for f in ADDRESS_TYPES if f in self.ports},
            "node": self.node,
            "zone": self.zone,
            "hints": list(self.hints),
            "ready": self.ready,
            "serving": self.serving,
            "terminating": self.terminating,
            "state": self.state,
        }


EndpointSet = dict[str, Endpoint]  # by Endpoint.key


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _identity(target: object, namespace: str, family: str, first: str) -> tuple[str, str, str]:
    """(key, name, pod) of an endpoint, from its targetRef or, without one, its first address."""
    target = target if isinstance(target, Mapping) else {}
    kind = _text(target.get("kind")) or "Pod"
    name, uid = _text(target.get("name")), _text(target.get("uid"))
    if name:
        key = f"{kind}/{_text(target.get('namespace')) or namespace}/{name}"
        return key, name, name if kind == "Pod" else ""
    if uid:
        return f"{kind}/uid/{uid}", first, ""
    return f"{family}/{first}", first, ""


def _zone_hints(hints: object) -> tuple[str, ...]:
    """``hints.forZones[].name`` (EndpointHints, discovery.k8s.io/v1), in order, once each."""
    zones = hints.get("forZones") if isinstance(hints, Mapping) else None
    names = (
        (_text(z.get("name")) for z in zones or [] if isinstance(z, Mapping))
        if isinstance(zones, list)
        else ()
    )
    return tuple(dict.fromkeys(name for name in names if name))


def _slice_ports(endpoint_slice: Mapping) -> dict[str, int]:
    """The slice's ports by name ("" for an unnamed one); a port with a nil number ("all ports")
    has no number to show and is left out."""
    ports = {}
    for port in endpoint_slice.get("ports") or []:
        if isinstance(port, Mapping) and type(port.get("port")) is int:
            ports[_text(port.get("name"))] = port["port"]
    return ports


def _merge(known: Endpoint, seen: Endpoint) -> Endpoint:
    """The same endpoint listed twice (two families, or two slices during a move): its addresses
    and ports together; the conditions of the copy that says it is ready, if either does."""
    first, second = (seen, known) if seen.ready and not known.ready else (known, seen)
    addresses = dict(known.addresses)
    for family, found in seen.addresses.items():
        addresses[family] = tuple(dict.fromkeys((*addresses.get(family, ()), *found)))
    ports = {family: dict(named) for family, named in second.ports.items()}
    for family, named in first.ports.items():
        ports[family] = {**ports.get(family, {}), **named}
    return replace(first, addresses=addresses, ports=ports)


def _merged(endpoints: Iterable[Endpoint]) -> EndpointSet:
    merged: EndpointSet = {}
    for endpoint in endpoints:
        known = merged.get(endpoint.key)
        merged[endpoint.key] = endpoint if known is None else _merge(known, endpoint)
    return merged


def combined(copies: Iterable[Endpoint]) -> Endpoint:
    """One key's copies (in the order of the slices listing them, as ``from_slices`` meets them)
    as one endpoint, merged exactly as ``from_slices`` merges them. ``ValueError`` if none."""
    merged = None
    for copy in copies:
        merged = copy if merged is None else _merge(merged, copy)
    if merged is None:
        raise ValueError("no copy of the endpoint")
    return merged


def read_slice(endpoint_slice: Mapping) -> Iterable[Endpoint]:
    """The endpoints one slice lists, each as that slice alone says it (one family, its ports);
    nothing for a slice that is not an object or has no known ``addressType``."""
    if not isinstance(endpoint_slice, Mapping):
        return
    family = endpoint_slice.get("addressType")
    if family not in ADDRESS_TYPES:
        return
    metadata = endpoint_slice.get("metadata")
    namespace = _text(metadata.get("namespace")) if isinstance(metadata, Mapping) else ""
    ports = _slice_ports(endpoint_slice)
    for item in endpoint_slice.get("endpoints") or []:
        if not isinstance(item, Mapping):
            continue
        addresses = tuple(dict.fromkeys(a for a in item.get("addresses") or [] if _text(a)))
        if not addresses:  # the API requires at least one
            continue
        key, name, pod = _identity(item.get("targetRef"), namespace, family, addresses[0])
        yield Endpoint(
            key=key,
            name=name,
            pod=pod,
            node=_text(item.get("nodeName")),
            zone=_text(item.get("zone")),
            hints=_zone_hints(item.get("hints")),
            **conditions(item.get("conditions"))._asdict(),
            addresses={family: addresses},
            ports={family: dict(ports)} if ports else {},
        )


def from_slices(slices: Iterable[Mapping]) -> EndpointSet:
    """Every endpoint of a Service's EndpointSlices, once each, by key."""
    return _merged(endpoint for endpoint_slice in slices for endpoint in read_slice(endpoint_slice))


def from_endpoints(endpoints_object: Mapping) -> EndpointSet:
    """Legacy v1 Endpoints: ``addresses`` are ready, ``notReadyAddresses`` are not; the family of
    each address is what it parses as (the object has no ``addressType``)."""
    found = []
    namespace = _text((endpoints_object.get("metadata") or {}).get("namespace"))
    for subset in endpoints_object.get("subsets") or []:
        ports = _slice_ports(subset)
        for field_name, ready in (("addresses", True), ("notReadyAddresses", False)):
            for address in subset.get(field_name) or []:
                parsed = _parse_ip(_text(address.get("ip")))
                if parsed is None:
                    continue
                family = f"IPv{parsed.version}"
                key, name, pod = _identity(address.get("targetRef"), namespace, family, address["ip"])
                found.append(
                    Endpoint(
                        key=key,
                        name=name,
                        pod=pod,
                        node=_text(address.get("nodeName")),
                        zone="",
                        ready=ready,
                        serving=ready,
                        terminating=False,
                        addresses={family: (address["ip"],)},
                        ports={family: dict(ports)} if ports else {},
                    )
                )
    return _merged(found)


@dataclass(frozen=True)
class Change:
    added: tuple[Endpoint, ...]
    removed: tuple[Endpoint, ...]
    changed: tuple[Endpoint, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def applied_to(self, endpoints: EndpointSet) -> EndpointSet:
        """A new set: ``endpoints`` with this change made (``endpoints`` is left as it is)."""
        updated = dict(endpoints)
        for endpoint in self.removed:
            updated.pop(endpoint.key, None)
        updated.update((endpoint.key, endpoint) for endpoint in (*self.added, *self.changed))
        return updated


def diff(old: EndpointSet, new: EndpointSet) -> Change:
    return Change(
        added=tuple(new[key] for key in sorted(new.keys() - old.keys())),
        removed=tuple(old[key] for key in sorted(old.keys() - new.keys())),
        changed=tuple(new[key] for key in sorted(new.keys() & old.keys()) if new[key] != old[key]),
    )


def in_order(endpoints: EndpointSet) -> list[Endpoint]:
    """The endpoints as the page lists them: by name, then key."""
    return sorted(endpoints.values(), key=lambda e: (e.name, e.key))


def ready_pods(endpoints: EndpointSet) -> list[str]:
    """The names of the endpoints a call through the Service can reach now: ready, with an IP
    (FQDN names are never routed). A pod counts once however many addresses it has; an endpoint
    without a targetRef counts under its address. The run's ``expected_pods``."""
    return sorted(e.name for e in endpoints.values() if e.ready and e.ips)


def by_ip(endpoints: EndpointSet, ip: str) -> Endpoint | None:
    """The endpoint with this IPv4/IPv6 address (an answering pod's IP); FQDN names never match."""
    return next((e for e in endpoints.values() if e.has_ip(ip)), None)


def by_pod(endpoints: EndpointSet, pod: str) -> Endpoint | None:
    return next((e for e in endpoints.values() if pod and e.pod == pod), None)
