"""The Services the dashboard may call: ``DASHBOARD_SERVICES``, parsed, and the names each has.

A target is written ``name`` (a Service in the dashboard's own namespace) or ``name.namespace``.
Both parts are checked as the API server checks them: a Service name is a DNS-1035 label and a
namespace a DNS-1123 label, each at most 63 characters (Kubernetes API reference, "Object Names
and IDs"). So a target never holds a dot of its own, a port, a scheme or a path: nothing a user
writes can turn into a call anywhere but a Service's cluster DNS name.

A Service in another namespace is called by its full name, ``name.namespace.svc.cluster.local``,
as the tutorial says; one in the dashboard's namespace by its short name, as the seed called it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SERVICE_NAME = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")  # DNS-1035 label
NAMESPACE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")  # DNS-1123 label
MAX_LABEL = 63
MAX_TARGETS = 20
CLUSTER_DOMAIN = "cluster.local"


class BadTarget(ValueError):
    """A ``DASHBOARD_SERVICES`` entry that names no Service; the message says which and why."""


@dataclass(frozen=True)
class Target:
    """One Service the dashboard watches and calls."""

    name: str
    namespace: str

    @property
    def key(self) -> str:
        """``name.namespace``: how the page, the API and the stored runs name this target."""
        return f"{self.name}.{self.namespace}"

    def host(self, own_namespace: str) -> str:
        """The DNS name calls use: the short name at home, the full name in another namespace."""
        if self.namespace == own_namespace:
            return self.name
        return f"{self.name}.{self.namespace}.svc.{CLUSTER_DOMAIN}"

    def dns_names(self, own_namespace: str) -> tuple[str, ...]:
        """Every name the cluster's DNS answers for it from a pod in ``own_namespace``."""
        qualified = (
            f"{self.name}.{self.namespace}{suffix}" for suffix in ("", ".svc", f".svc.{CLUSTER_DOMAIN}")
        )
        return ((self.name,) if self.namespace == own_namespace else ()) + tuple(qualified)


def parse_target(entry: str, own_namespace: str) -> Target:
    """``name`` or ``name.namespace`` as a ``Target``; ``BadTarget`` says what is wrong."""
    name, _, namespace = entry.partition(".")
    namespace = namespace or own_namespace
    if len(name) > MAX_LABEL or not SERVICE_NAME.fullmatch(name):
        raise BadTarget(
            f"{entry!r}: {name!r} is not a Service name (lower-case letters, digits and '-', "
            f"starting with a letter, at most {MAX_LABEL})"
        )
    if len(namespace) > MAX_LABEL or not NAMESPACE_NAME.fullmatch(namespace):
        raise BadTarget(
            f"{entry!r}: {namespace!r} is not a namespace name (lower-case letters, digits and '-', "
            f"at most {MAX_LABEL}; write name or name.namespace)"
        )
    return Target(name, namespace)


def parse_targets(entries: list[str], own_namespace: str) -> tuple[Target, ...]:
    """The configured targets, in order (the first is the primary one); at least one, at most
    ``MAX_TARGETS``, none twice. Raises ``BadTarget``."""
    if not entries:
        raise BadTarget("name at least one Service")
    if len(entries) > MAX_TARGETS:
        raise BadTarget(f"at most {MAX_TARGETS} Services, got {len(entries)}")
    targets = tuple(parse_target(entry, own_namespace) for entry in entries)
    keys = [target.key for target in targets]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise BadTarget(f"{twice[0]} is named twice")
    return targets


def base_urls(
    targets: tuple[Target, ...], *, home: Target, home_url: str, own_namespace: str
) -> dict[str, str]:
    """``{key: "http://host:port"}``, where each target's calls go: ``home_url``
    (``COMBAT_SERVICE_URL``) for the home Service, else its DNS name on the same port."""
    port = home_url.rsplit(":", 1)[1]
    return {
        target.key: home_url if target == home else f"http://{target.host(own_namespace)}:{port}"
        for target in targets
    }
