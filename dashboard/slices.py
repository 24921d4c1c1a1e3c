"""The Service's endpoints, from EndpointSlices (or legacy Endpoints), as one plain set.

Pure functions over the API's JSON. A Service may have several slices and an endpoint may sit
in two of them at once while the controller moves it, so the set is their union,
de-duplicated by address. Conditions are read with their nil defaults (``ready`` and
``serving`` nil mean true, ``terminating`` nil means false) and ``endpoints: null`` means none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Endpoint:
    ip: str
    pod: str
    node: str
    zone: str
    ready: bool
    serving: bool
    terminating: bool

    @property
    def state(self) -> str:
        if self.terminating:
            return "terminating"
        return "ready" if self.ready else "not-ready"

    def as_dict(self) -> dict:
        return {**asdict(self), "state": self.state}


EndpointSet = dict[str, Endpoint]  # by IP


def _flag(conditions: dict, name: str, default: bool) -> bool:
    value = conditions.get(name)
    return default if value is None else bool(value)


def from_slices(slices: Iterable[dict]) -> EndpointSet:
    endpoints: EndpointSet = {}
    for endpoint_slice in slices:
        for item in endpoint_slice.get("endpoints") or []:
            conditions = item.get("conditions") or {}
            target = item.get("targetRef") or {}
            for ip in item.get("addresses") or []:
                candidate = Endpoint(
                    ip=ip,
                    pod=target.get("name", "") if target.get("kind", "Pod") == "Pod" else "",
                    node=item.get("nodeName") or "",
                    zone=item.get("zone") or "",
                    ready=_flag(conditions, "ready", True),
                    serving=_flag(conditions, "serving", True),
                    terminating=_flag(conditions, "terminating", False),
                )
                known = endpoints.get(ip)
                # While an endpoint moves between slices, trust the copy that says it is ready.
                if known is None or (candidate.ready and not known.ready):
                    endpoints[ip] = candidate
    return endpoints


def from_endpoints(endpoints_object: dict) -> EndpointSet:
    """Legacy v1 Endpoints: ``addresses`` are ready, ``notReadyAddresses`` are not."""
    endpoints: EndpointSet = {}
    for subset in endpoints_object.get("subsets") or []:
        for key, ready in (("addresses", True), ("notReadyAddresses", False)):
            for address in subset.get(key) or []:
                target = address.get("targetRef") or {}
                endpoints[address["ip"]] = Endpoint(
                    ip=address["ip"],
                    pod=target.get("name", ""),
                    node=address.get("nodeName") or "",
                    zone="",
                    ready=ready,
                    serving=ready,
                    terminating=False,
                )
    return endpoints


@dataclass(frozen=True)
class Change:
    added: tuple[Endpoint, ...]
    removed: tuple[Endpoint, ...]
    changed: tuple[Endpoint, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def diff(old: EndpointSet, new: EndpointSet) -> Change:
    return Change(
        added=tuple(new[ip] for ip in sorted(new.keys() - old.keys())),
        removed=tuple(old[ip] for ip in sorted(old.keys() - new.keys())),
        changed=tuple(new[ip] for ip in sorted(new.keys() & old.keys()) if new[ip] != old[ip]),
    )


def ready_pods(endpoints: EndpointSet) -> list[str]:
    return sorted(e.pod or e.ip for e in endpoints.values() if e.ready and not e.terminating)
