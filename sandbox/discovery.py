"""Discovery documents: how kubectl and the `kubernetes` client learn what the server serves.

As a real API server words them: the legacy documents (``/api``, ``/apis``, ``/apis/GROUP``, a
group version's ``APIResourceList`` with each kind's verbs, short names, categories, storage
version hash and the subresources served), and aggregated discovery (``/api`` and ``/apis`` as
an ``APIGroupDiscoveryList``, ``apidiscovery.k8s.io`` v2 or v2beta1, when the Accept header asks
for it: kubectl does, first).
"""

from __future__ import annotations

import base64
import hashlib

from sandbox import resources
from sandbox.resources import Resource

KUBERNETES_VERSION = {"major": "1", "minor": "32"}
# The order a real server lists its groups in (by group priority); the sandbox serves these.
GROUP_ORDER = ("apps", "events.k8s.io", "rbac.authorization.k8s.io", "discovery.k8s.io")
# Kinds stored in another version than the one served (the storage version hash says which).
STORAGE_VERSIONS = {("discovery.k8s.io", "EndpointSlice"): "v1beta1"}
# (plural, subresource): (group, version, kind) of what it answers with, and its verbs.
SUBRESOURCES: dict[tuple[str, str], tuple[str, str, str, tuple[str, ...]]] = {
    ("deployments", "scale"): ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    ("deployments", "status"): ("", "", "Deployment", ("get", "patch", "update")),
    ("replicasets", "scale"): ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    ("replicasets", "status"): ("", "", "ReplicaSet", ("get", "patch", "update")),
    ("pods", "attach"): ("", "", "PodAttachOptions", ("create", "get")),
    ("pods", "binding"): ("", "", "Binding", ("create",)),
    ("pods", "ephemeralcontainers"): ("", "", "Pod", ("get", "patch", "update")),
    ("pods", "eviction"): ("policy", "v1", "Eviction", ("create",)),
    ("pods", "exec"): ("", "", "PodExecOptions", ("create", "get")),
    ("pods", "log"): ("", "", "Pod", ("get",)),
    ("pods", "portforward"): ("", "", "PodPortForwardOptions", ("create", "get")),
    ("pods", "proxy"): ("", "", "PodProxyOptions", ("create", "delete", "get", "patch", "update")),
    ("pods", "status"): ("", "", "Pod", ("get", "patch", "update")),
    ("services", "proxy"): ("", "", "ServiceProxyOptions", ("create", "delete", "get", "patch", "update")),
    ("services", "status"): ("", "", "Service", ("get", "patch", "update")),
    ("namespaces", "finalize"): ("", "", "Namespace", ("update",)),
    ("namespaces", "status"): ("", "", "Namespace", ("get", "patch", "update")),
    ("serviceaccounts", "token"): ("authentication.k8s.io", "v1", "TokenRequest", ("create",)),
}
AGGREGATED = {b"v2": "apidiscovery.k8s.io/v2", b"v2beta1": "apidiscovery.k8s.io/v2beta1"}


def version() -> dict:
    return {
        **KUBERNETES_VERSION,
        "gitVersion": "v1.32.0-k8s-combat-sandbox",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "none",
        "compiler": "none",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> dict:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _groups() -> list[tuple[str, list[str]]]:
    served = resources.group_versions()
    ordered = [name for name in GROUP_ORDER if name in served]
    return [(name, served[name]) for name in ordered + sorted(set(served) - set(ordered))]


def _group(name: str, versions: list[str]) -> dict:
    entries = [{"groupVersion": f"{name}/{version}", "version": version} for version in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list() -> dict:
    groups = [_group(name, versions) for name, versions in _groups()]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(name: str) -> dict | None:
    versions = resources.group_versions().get(name)
    if versions is None:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def storage_version_hash(resource: Resource) -> str:
    """discovery.StorageVersionHash: the first 8 bytes of sha256("group/version/kind"), base64."""
    version = STORAGE_VERSIONS.get((resource.group, resource.kind), resource.version)
    digest = hashlib.sha256(f"{resource.group}/{version}/{resource.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _subresources(resource: Resource, served: frozenset) -> list[tuple[str, tuple]]:
    return sorted(
        (sub, found)
        for (plural, sub), found in SUBRESOURCES.items()
        if plural == resource.plural and (plural, sub) in served
    )


def _entry(resource: Resource) -> dict:
    entry = {
        "name": resource.plural,
        "singularName": resource.singular,
        "namespaced": resource.namespaced,
        "kind": resource.kind,
        "verbs": sorted(resource.verbs),
    }
    if resource.short_names:
        entry["shortNames"] = list(resource.short_names)
    if resource.categories:
        entry["categories"] = list(resource.categories)
    entry["storageVersionHash"] = storage_version_hash(resource)
    return entry


def api_resource_list(group: str, version: str, served: frozenset = frozenset()) -> dict | None:
    """A group version's kinds, and the subresources in ``served`` ((plural, name) pairs)."""
    kinds = sorted(resources.in_group_version(group, version), key=lambda r: r.plural)
    if not kinds:
        return None
    entries = []
    for resource in kinds:
        entries.append(_entry(resource))
        for sub, (sub_group, sub_version, kind, verbs) in _subresources(resource, served):
            entry = {
                "name": f"{resource.plural}/{sub}",
                "singularName": "",
                "namespaced": resource.namespaced,
            }
            if sub_group:
                entry.update(group=sub_group, version=sub_version)
            entries.append({**entry, "kind": kind, "verbs": list(verbs)})
    listed = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": kinds[0].api_version}
    if not group:  # the core group's list has no apiVersion, as a real server's
        del listed["apiVersion"]
    return {**listed, "resources": entries}


# --- aggregated discovery ------------------------------------------------------------------------


def _aggregated_resource(resource: Resource, served: frozenset) -> dict:
    entry = {
        "resource": resource.plural,
        "responseKind": {"group": "", "version": "", "kind": resource.kind},
        "scope": "Namespaced" if resource.namespaced else "Cluster",
        "singularResource": resource.singular,
        "verbs": sorted(resource.verbs),
    }
    if resource.short_names:
        entry["shortNames"] = list(resource.short_names)
    if resource.categories:
        entry["categories"] = list(resource.categories)
    subresources = [
        {"subresource": sub, "responseKind": {"group": g, "version": v, "kind": kind}, "verbs": list(verbs)}
        for sub, (g, v, kind, verbs) in _subresources(resource, served)
    ]
    if subresources:
        entry["subresources"] = subresources
    return entry


def _aggregated_group(name: str, versions: list[str], served: frozenset) -> dict:
    metadata: dict = {"creationTimestamp": None}
    if name:
        metadata = {"name": name, **metadata}
    entries = [
        {
            "version": version,
            "resources": [
                _aggregated_resource(r, served)
                for r in sorted(resources.in_group_version(name, version), key=lambda r: r.plural)
            ],
            "freshness": "Current",
        }
        for version in versions
    ]
    return {"metadata": metadata, "versions": entries}


def aggregated_version(accept: bytes) -> str | None:
    """The apidiscovery version the Accept header asks for first, if any."""
    for offer in accept.split(b","):
        params = dict(part.strip().split(b"=", 1) for part in offer.split(b";")[1:] if b"=" in part)
        if params.get(b"g") == b"apidiscovery.k8s.io" and params.get(b"as") == b"APIGroupDiscoveryList":
            if params.get(b"v") in AGGREGATED:
                return AGGREGATED[params[b"v"]]
        elif offer.split(b";")[0].strip() in (b"application/json", b"*/*"):
            return None
    return None


def document(path: str, accept: bytes, server_address: str, served: frozenset) -> tuple[dict, bytes]:
    """``/api`` or ``/apis``: (body, content type), aggregated when the client asks for it."""
    wanted = aggregated_version(accept)
    if wanted is None:
        body = api_versions(server_address) if path == "/api" else api_group_list()
        return body, b"application/json"
    if path == "/api":
        items = [_aggregated_group("", ["v1"], served)]
    else:
        items = [_aggregated_group(name, versions, served) for name, versions in _groups()]
    version = wanted.rpartition("/")[2].encode()
    content_type = b"application/json;g=apidiscovery.k8s.io;v=" + version + b";as=APIGroupDiscoveryList"
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": wanted,
        "metadata": {},
        "items": items,
    }, content_type
