"""The Service's settings that decide where a call goes, and the pods a run should reach under them.

Pure functions over the API's JSON. The fields are read as the Service API reference (core/v1
``ServiceSpec``) defines them, with the API server's defaults for fields it leaves out (an
object read from an older server, or one written by hand for a test): ``type`` ClusterIP,
``sessionAffinity`` None, ``sessionAffinityConfig.clientIP.timeoutSeconds`` 10800 under ClientIP,
``internalTrafficPolicy`` Cluster. ``trafficDistribution`` (1.30+) has no default: None when the
server does not know the field (v1.29) or it is unset.

Which endpoints kube-proxy routes a call to follows ``CategorizeEndpoints`` in
kubernetes/pkg/proxy/topology.go: ``internalTrafficPolicy: Local`` keeps only the endpoints on
the caller's node (none there: the call is dropped); otherwise, with topology in use
(``trafficDistribution: PreferClose``, every ready endpoint carrying ``hints.forZones``), the
endpoints hinted for the caller's zone when there is one, else all of them. The dashboard, which
cannot see the hints an older controller left out, also reads ``zone`` when no endpoint has
hints. ``sessionAffinity: ClientIP`` then pins each client IP to one of those endpoints for
``timeoutSeconds`` (pkg/proxy/iptables ``-m recent``; IPVS persistence): the dashboard is one
client, so every call of a run lands on one pod.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dashboard.slices import Endpoint, EndpointSet

DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800  # ServiceSpec: ClientIPConfig.timeoutSeconds, 3 hours

# The settings a run's expectation depends on: a change of one of these during a run is reported.
DECIDING = ("session_affinity", "affinity_timeout_seconds", "internal_traffic_policy", "traffic_distribution")


def settings_of(service: Mapping | None) -> dict:
    """``{present, type, cluster_ip, ports: [{name, port, target_port, protocol}], session_affinity,
    affinity_timeout_seconds (None without ClientIP), internal_traffic_policy,
    traffic_distribution (None: not set)}`` of a Service object; ``present`` False for None (the
    Service does not exist, or has not been read yet), the other fields then at their defaults."""
    service = service if isinstance(service, Mapping) else None
    spec = (service or {}).get("spec") or {}
    affinity = spec.get("sessionAffinity") or "None"
    timeout = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds")
    return {
        "present": service is not None,
        "type": spec.get("type") or "ClusterIP",
        "cluster_ip": spec.get("clusterIP") or "",
        "ports": [
            {
                "name": port.get("name") or "",
                "port": port.get("port"),
                "target_port": port.get("targetPort", port.get("port")),
                "protocol": port.get("protocol") or "TCP",
            }
            for port in spec.get("ports") or []
            if isinstance(port, Mapping)
        ],
        "session_affinity": affinity,
        "affinity_timeout_seconds": (timeout or DEFAULT_AFFINITY_TIMEOUT_SECONDS)
        if affinity == "ClientIP"
        else None,
        "internal_traffic_policy": spec.get("internalTrafficPolicy") or "Cluster",
        "traffic_distribution": spec.get("trafficDistribution") or None,
    }


def changed_settings(before: Mapping, after: Mapping) -> list[str]:
    """The names (of ``DECIDING``) whose value differs between two ``settings_of`` results."""
    return [name for name in DECIDING if before.get(name) != after.get(name)]


def _routable(endpoints: Iterable[Endpoint]) -> list[Endpoint]:
    return [e for e in endpoints if e.ready and e.ips]


def consumer_zone(endpoints: EndpointSet, node: str) -> str:
    """The zone of the caller's node, as the slices say it: the ``zone`` of an endpoint on that
    node ("" when none is there or none says, so unknown)."""
    return next(
        (
            e.zone
            for e in sorted(endpoints.values(), key=lambda e: e.key)
            if node and e.node == node and e.zone
        ),
        "",
    )


def expectation(settings: Mapping, endpoints: EndpointSet, *, node: str) -> dict:
    """Where a run's calls should go, from the settings and the endpoints when it starts.

    ``{pods: [names], rule, pinned, node, zone, settings}``: ``pods`` the endpoints a call may
    reach (sorted; the run's ``expected_pods``); ``rule`` the setting that narrowed them
    (``uniform``, ``local``, ``prefer-close``); ``pinned`` True under ClientIP affinity (all the
    calls on one of ``pods``); ``node`` and ``zone`` the caller's (zone "" when unknown).
    """
    ready = _routable(endpoints.values())
    zone = consumer_zone(endpoints, node)
    chosen, rule = ready, "uniform"
    if settings.get("internal_traffic_policy") == "Local":
        chosen, rule = [e for e in ready if node and e.node == node], "local"
    elif settings.get("traffic_distribution") == "PreferClose" and zone:
        hinted = sum(1 for e in ready if e.hints)
        if hinted == len(ready):
            close = [e for e in ready if zone in e.hints]
        elif hinted == 0:
            close = [e for e in ready if e.zone == zone]
        else:  # kube-proxy ignores hints unless every endpoint has them
            close = []
        if close:
            chosen, rule = close, "prefer-close"
    return {
        "pods": sorted({e.name for e in chosen}),
        "rule": rule,
        "pinned": settings.get("session_affinity") == "ClientIP",
        "node": node,
        "zone": zone,
        "settings": {name: settings.get(name) for name in DECIDING},
    }
