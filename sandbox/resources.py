"""The kinds the sandbox serves, and what discovery says about each (as a real API server would)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    singular: str
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    namespaced: bool = True
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version_path(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"


READ = ("get", "list", "watch")

PODS = Resource("", "v1", "pods", "Pod", "pod", (*READ, "delete"), ("po",), categories=("all",))
SERVICES = Resource("", "v1", "services", "Service", "service", READ, ("svc",), categories=("all",))
ENDPOINTS = Resource("", "v1", "endpoints", "Endpoints", "endpoints", READ, ("ep",))
EVENTS = Resource("", "v1", "events", "Event", "event", ("list",), ("ev",))
ENDPOINT_SLICES = Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", "endpointslice", READ)
DEPLOYMENTS = Resource(
    "apps", "v1", "deployments", "Deployment", "deployment", READ, ("deploy",), categories=("all",)
)

ALL = (PODS, SERVICES, ENDPOINTS, EVENTS, ENDPOINT_SLICES, DEPLOYMENTS)
SCALE_VERBS = ("get", "patch", "update")


def find(group: str, version: str, plural: str) -> Resource | None:
    for resource in ALL:
        if (resource.group, resource.version, resource.plural) == (group, version, plural):
            return resource
    return None


def group_versions() -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for resource in ALL:
        if resource.group and resource.version not in groups.setdefault(resource.group, []):
            groups[resource.group].append(resource.version)
    return groups


def in_group_version(group: str, version: str) -> list[Resource]:
    return [r for r in ALL if (r.group, r.version) == (group, version)]
