"""Where the EndpointSlice controller puts a Service's endpoints: which slices to create, update
and delete so that the slices hold exactly the desired endpoints, at most N to a slice, with as
few writes as possible.

Pure, ported from the staging package ``k8s.io/endpointslice`` (reconciler.go:
``reconcileByAddressType``, ``reconcileByPortMapping``, ``finalize``; utils.go:
``getSliceToFill``, ``endpointSliceEndpointLen``; util/endpointset.go: ``hashEndpoint``;
util/controller_utils.go: ``NewPortMapKey``, ``EndpointsEqualBeyondHash``). Per address type
and per set of ports (pods whose named ports resolve differently get slices of their own):

1. every existing slice loses the endpoints no longer desired and takes the new version of
   the ones that changed; a slice left empty is deleted, a changed one is to be updated, an
   untouched one is kept aside;
2. the remaining new endpoints go first into the slices being updated anyway, fullest first;
3. then, while fewer than N remain, into the untouched slice they fill most closely
   (``getSliceToFill``), else into new slices of up to N each;
4. a slice of a port set no longer wanted is deleted, and ``finalize`` turns a create plus a
   delete of an owned slice of the same address type into one update of that slice;
5. a Service left with no slice gets one placeholder (no ports, no endpoints), kept as is when
   it is already there.

Upstream pops endpoints from a Go map (any order) and walks slices in map order; here both
follow the input order (slices by name), so a plan is the same every time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

MAX_ENDPOINTS_PER_SLICE = 100  # kube-controller-manager --max-endpoints-per-slice default

EndpointKey = tuple
PortKey = tuple


@dataclass(frozen=True)
class Cut:
    """One slice's content: ``ports`` (discovery/v1 EndpointPort dicts; ``[]`` for none) and
    ``endpoints`` (discovery/v1 Endpoint dicts, in the order they sit in the slice)."""

    ports: list[dict]
    endpoints: list[dict]


@dataclass
class Plan:
    """What to write. ``create``: new slices' content (names to be generated); ``update``:
    slice name -> its new content; ``delete``: slice names. Written in that order, a watcher
    sees an endpoint twice for a moment rather than not at all."""

    create: list[Cut] = field(default_factory=list)
    update: dict[str, Cut] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return len(self.create) + len(self.update) + len(self.delete)


def endpoint_key(endpoint: Mapping) -> EndpointKey:
    """An endpoint's identity across versions (``hashEndpoint``): its addresses, hostname and
    target's namespace/name; conditions, node and uid may change under the same key."""
    target = endpoint.get("targetRef") or {}
    return (
        tuple(endpoint.get("addresses") or ()),
        endpoint.get("hostname") or "",
        target.get("namespace") or "",
        target.get("name") or "",
    )


def port_key(ports: Iterable[Mapping] | None) -> PortKey:
    """A port set, order-free (``NewPortMapKey``: nil and empty are the same set)."""
    return tuple(
        sorted(
            (p.get("name") or "", p.get("port"), p.get("protocol") or "TCP", p.get("appProtocol") or "")
            for p in ports or ()
        )
    )


def owned_by(endpoint_slice: Mapping, service_uid: str) -> bool:
    """Whether the Service (by uid) is among the slice's owners (utils.go ``ownedBy``)."""
    return any(
        ref.get("kind") == "Service" and ref.get("apiVersion") == "v1" and ref.get("uid") == service_uid
        for ref in (endpoint_slice.get("metadata") or {}).get("ownerReferences") or []
    )


def _name(endpoint_slice: Mapping) -> str:
    return endpoint_slice["metadata"]["name"]


def _is_placeholder(endpoint_slice: Mapping) -> bool:
    return not endpoint_slice.get("endpoints") and not endpoint_slice.get("ports")


def reconcile(
    existing: Sequence[Mapping],
    desired: Iterable[tuple[list[dict], dict]],
    *,
    service_uid: str,
    address_type: str = "IPv4",
    max_endpoints_per_slice: int = MAX_ENDPOINTS_PER_SLICE,
    relabel: frozenset[str] = frozenset(),
) -> Plan:
    """The plan that turns ``existing`` (the Service's EndpointSlices: dicts with
    ``metadata.name``, ``metadata.ownerReferences``, ``addressType``, ``ports``, ``endpoints``)
    into slices holding ``desired`` (``(ports, endpoint)`` pairs, one per pod, in the order new
    endpoints are placed). The Service supports ``address_type`` only: slices of another type,
    and slices not owned by ``service_uid``, are deleted. ``relabel``: names of slices whose
    labels must be rewritten, so they count as being updated anyway. Raises ValueError when
    ``max_endpoints_per_slice`` < 1."""
    if max_endpoints_per_slice < 1:
        raise ValueError("max_endpoints_per_slice must be at least 1")
    plan = Plan()
    of_type = [s for s in existing if s.get("addressType") == address_type]
    other_types = [_name(s) for s in existing if s.get("addressType") != address_type]
    owned = {_name(s) for s in of_type if owned_by(s, service_uid)}
    plan.delete = [_name(s) for s in of_type if _name(s) not in owned]

    by_ports: dict[PortKey, list[Mapping]] = {}
    for endpoint_slice in of_type:
        if _name(endpoint_slice) in owned:
            by_ports.setdefault(port_key(endpoint_slice.get("ports")), []).append(endpoint_slice)
    wanted: dict[PortKey, tuple[list[dict], dict[EndpointKey, dict]]] = {}
    for ports, endpoint in desired:
        group = wanted.setdefault(port_key(ports), (list(ports), {}))
        group[1][endpoint_key(endpoint)] = endpoint

    for key, (ports, endpoints) in wanted.items():
        _by_port_mapping(plan, by_ports.get(key, []), ports, endpoints, max_endpoints_per_slice, relabel)
    for key, slices in by_ports.items():
        if key not in wanted:
            plan.delete.extend(_name(s) for s in slices)

    if len(plan.delete) == len(of_type) and not plan.create:
        only = [s for s in of_type if _name(s) == plan.delete[0]] if len(plan.delete) == 1 else []
        if only and _name(only[0]) in owned and _name(only[0]) not in relabel and _is_placeholder(only[0]):
            plan.delete.clear()  # the placeholder is already there
        else:
            plan.create.append(Cut(ports=[], endpoints=[]))
    _finalize(plan, owned)
    plan.delete.extend(other_types)  # Reconcile deletes the unsupported address types last
    return plan


def _by_port_mapping(
    plan: Plan,
    slices: list[Mapping],
    ports: list[dict],
    desired: dict[EndpointKey, dict],
    most: int,
    relabel: frozenset[str],
) -> None:
    """``reconcileByPortMapping`` for one port set; adds to ``plan``. ``desired`` is consumed."""
    content: dict[str, list[dict]] = {}
    to_update: list[str] = []
    unchanged: list[str] = []
    # 1. Drop what is no longer desired, take the new version of what changed.
    for endpoint_slice in slices:
        name = _name(endpoint_slice)
        current = endpoint_slice.get("endpoints") or []
        kept, changed = [], False
        for endpoint in current:
            got = desired.pop(endpoint_key(endpoint), None)
            if got is not None:
                kept.append(got)
                changed = changed or got != endpoint
        content[name] = kept
        if changed or len(kept) != len(current):
            if kept:
                to_update.append(name)
            else:
                plan.delete.append(name)
        elif name in relabel:
            to_update.append(name)
        else:
            unchanged.append(name)
    remaining = iter(list(desired.values()))
    left = len(desired)

    def fill(endpoints: list[dict]) -> None:
        nonlocal left
        while left and len(endpoints) < most:
            endpoints.append(next(remaining))
            left -= 1

    # 2. Fill the slices that are written anyway, fullest first (sort.Sort by length, descending).
    for name in sorted(to_update, key=lambda n: -len(content[n])):
        fill(content[name])
    # 3. Fit the rest into the untouched slice it fills most closely, else into new slices.
    created: list[list[dict]] = []
    while left:
        target = _slice_to_fill(unchanged, content, left, most) if left < most else None
        if target is None:
            created.append([])
            fill(created[-1])
        else:
            fill(content[target])
            unchanged.remove(target)
            to_update.append(target)
    plan.update.update({name: Cut(ports=list(ports), endpoints=content[name]) for name in to_update})
    plan.create.extend(Cut(ports=list(ports), endpoints=endpoints) for endpoints in created)


def _slice_to_fill(names: list[str], content: dict[str, list[dict]], count: int, most: int) -> str | None:
    """``getSliceToFill``: the slice that ``count`` more endpoints fill most closely, or None."""
    closest, best = most, None
    for name in names:
        room = most - (count + len(content[name]))
        if 0 <= room < closest:
            closest, best = room, name
            if room == 0:
                break
    return best


def _finalize(plan: Plan, recyclable: set[str]) -> None:
    """``finalize``: a slice to create and an owned slice of the same address type to delete
    become one update of that slice (the last create takes the first such delete's name)."""
    index = 0
    while index < len(plan.delete) and plan.create:
        name = plan.delete[index]
        if name in recyclable:
            plan.update[name] = plan.create.pop()
            del plan.delete[index]
        else:
            index += 1
