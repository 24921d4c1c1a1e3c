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
WRITE = ("create", "update", "patch", "delete", "deletecollection")
ALL_VERBS = (*READ, *WRITE)

# Namespaces are deleted one at a time: no deletecollection, as on a real server.
NAMESPACE_VERBS = tuple(verb for verb in ALL_VERBS if verb != "deletecollection")
NAMESPACES = Resource(
    "", "v1", "namespaces", "Namespace", "namespace", NAMESPACE_VERBS, ("ns",), namespaced=False
)
NODES = Resource("", "v1", "nodes", "Node", "node", ALL_VERBS, ("no",), namespaced=False)
PODS = Resource("", "v1", "pods", "Pod", "pod", ALL_VERBS, ("po",), categories=("all",))
SERVICES = Resource("", "v1", "services", "Service", "service", ALL_VERBS, ("svc",), categories=("all",))
ENDPOINTS = Resource("", "v1", "endpoints", "Endpoints", "endpoints", ALL_VERBS, ("ep",))
EVENTS = Resource("", "v1", "events", "Event", "event", ALL_VERBS, ("ev",))
SERVICE_ACCOUNTS = Resource(
    "", "v1", "serviceaccounts", "ServiceAccount", "serviceaccount", ALL_VERBS, ("sa",)
)
SECRETS = Resource("", "v1", "secrets", "Secret", "secret", ALL_VERBS)
CONFIG_MAPS = Resource("", "v1", "configmaps", "ConfigMap", "configmap", ALL_VERBS, ("cm",))
ENDPOINT_SLICES = Resource(
    "discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", "endpointslice", ALL_VERBS
)
DEPLOYMENTS = Resource(
    "apps", "v1", "deployments", "Deployment", "deployment", ALL_VERBS, ("deploy",), categories=("all",)
)
REPLICA_SETS = Resource(
    "apps", "v1", "replicasets", "ReplicaSet", "replicaset", ALL_VERBS, ("rs",), categories=("all",)
)
ROLES = Resource("rbac.authorization.k8s.io", "v1", "roles", "Role", "role", ALL_VERBS)
ROLE_BINDINGS = Resource(
    "rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", "rolebinding", ALL_VERBS
)

ALL = (
    NAMESPACES,
    NODES,
    PODS,
    SERVICES,
    ENDPOINTS,
    EVENTS,
    SERVICE_ACCOUNTS,
    SECRETS,
    CONFIG_MAPS,
    ENDPOINT_SLICES,
    DEPLOYMENTS,
    REPLICA_SETS,
    ROLES,
    ROLE_BINDINGS,
)
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
