"""Discovery and OpenAPI: what kubectl and the client read before anything else.

A real server serves dozens of kinds; the sandbox serves the ones the tutorial touches. Every
comparison here is over what the sandbox serves (its groups, its kinds and their subresources);
that it serves no more is its scope (docs/sandbox.md), not a difference.
"""

from __future__ import annotations

from typing import Any

from tests.support.fidelity import Scenario, Step, Target, known

SERVED = {
    "": ("namespaces", "pods", "services", "endpoints", "events", "serviceaccounts", "secrets", "configmaps"),
    "apps": ("deployments", "replicasets"),
    "discovery.k8s.io": ("endpointslices",),
    "rbac.authorization.k8s.io": ("roles", "rolebindings"),
}
VERSION_KEYS = (
    "major",
    "minor",
    "gitVersion",
    "gitCommit",
    "gitTreeState",
    "buildDate",
    "goVersion",
    "compiler",
    "platform",
)
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"


# Subresources a real server has for these kinds that the sandbox does not serve (its scope).
UNSERVED = {
    "": (
        "namespaces/finalize",
        "namespaces/status",
        "pods/attach",
        "pods/binding",
        "pods/ephemeralcontainers",
        "pods/eviction",
        "pods/proxy",
        "pods/status",
        "services/proxy",
        "services/status",
        "serviceaccounts/token",
    ),
    "apps": ("deployments/status", "replicasets/scale", "replicasets/status"),
}


def unserved(group: str, *, aggregated: bool = False):
    """The known difference: exactly these entries missing, nothing else different."""
    if aggregated:
        where = [
            f"body.items.{group}.versions.v1.resources.{n.replace('/', '.subresources.')}"
            for n in UNSERVED[group]
        ]
    else:
        where = [f"body.resources.{name}" for name in UNSERVED[group]]
    return known("subresources", *where)


def _served(group: str, name: str) -> bool:
    return name.split("/")[0] in SERVED.get(group, ())


def version(t: Target) -> dict:
    """/version: the same keys; the values are each build's own (masked: the server version)."""
    seen = t.call("GET", "/version")
    return {"status": seen["status"], "keys": sorted(seen["body"])}


def api_versions(t: Target) -> dict:
    seen = t.call("GET", "/api")
    for entry in seen["body"].get("serverAddressByClientCIDRs", []):
        entry["serverAddress"] = "<address>"  # where each server listens
    return seen


def group_list(t: Target) -> dict:
    seen = t.call("GET", "/apis")
    seen["body"]["groups"] = [g for g in seen["body"].get("groups", []) if g["name"] in SERVED]
    return seen


def resource_list(path: str, group: str):
    """A group version's resources, by name (a missing one then shows as that name)."""

    def run(t: Target) -> dict:
        seen = t.call("GET", path)
        body = seen["body"]
        if isinstance(body, dict) and "resources" in body:
            body["resources"] = {r["name"]: r for r in body["resources"] if _served(group, r["name"])}
        return seen

    return run


def aggregated(path: str, accept: str = AGGREGATED):
    """Aggregated discovery (what kubectl 1.26+ asks for first), over the sandbox's groups, by
    group, version, resource and subresource name."""

    def run(t: Target) -> Any:
        response = t.request("GET", path, accept=f"{accept},application/json")
        body = response.json()
        shown = {"status": response.status, "content-type": response.headers.get("content-type", "")}
        if isinstance(body, dict) and body.get("kind") == "APIGroupDiscoveryList":
            groups = {}
            for item in body.get("items", []):
                group = item["metadata"].get("name", "")
                if group not in SERVED:
                    continue
                versions = {}
                for version in item.get("versions", []):
                    kinds = {}
                    for r in version.get("resources", []):
                        if _served(group, r["resource"]):
                            subresources = {sub.pop("subresource"): sub for sub in r.pop("subresources", [])}
                            kinds[r["resource"]] = {**r, "subresources": subresources}
                    versions[version["version"]] = {**version, "resources": kinds}
                groups[group] = {**item, "versions": versions}
            body = {**body, "items": groups}
        shown["body"] = t.masker.json(body)
        return shown

    return run


def api_resources(t: Target) -> dict:
    seen = t.kubectl("api-resources", "-o", "wide", out="table")
    for block in seen["stdout"]:
        block["rows"] = [row for row in block["rows"] if _served(row[2].rpartition("/")[0], row[0])]
    return seen


def api_versions_kubectl(t: Target) -> dict:
    seen = t.kubectl("api-versions")
    groups = {g for g in SERVED if g} | {"v1"}
    seen["stdout"] = [
        line for line in seen["stdout"].splitlines() if line.split("/")[0] in groups or line == "v1"
    ]
    return seen


def kubectl_version(t: Target) -> dict:
    seen = t.kubectl("version", "-o", "json", out="json")
    server = seen["stdout"].get("serverVersion", {})
    seen["stdout"]["serverVersion"] = sorted(server)  # the keys; the values are the build's
    return seen


DISCOVERY = Scenario(
    "discovery",
    steps=[
        Step("/version", version),
        Step("kubectl version -o json", kubectl_version),
        Step("/api", api_versions),
        Step("/apis (the sandbox's groups)", group_list),
        Step("/apis/apps", lambda t: t.call("GET", "/apis/apps")),
        Step("/apis/discovery.k8s.io", lambda t: t.call("GET", "/apis/discovery.k8s.io")),
        Step("/apis/rbac.authorization.k8s.io", lambda t: t.call("GET", "/apis/rbac.authorization.k8s.io")),
        Step("/api/v1 (the sandbox's kinds)", resource_list("/api/v1", ""), unserved("")),
        Step("/apis/apps/v1", resource_list("/apis/apps/v1", "apps"), unserved("apps")),
        Step("/apis/discovery.k8s.io/v1", resource_list("/apis/discovery.k8s.io/v1", "discovery.k8s.io")),
        Step(
            "/apis/rbac.authorization.k8s.io/v1",
            resource_list("/apis/rbac.authorization.k8s.io/v1", "rbac.authorization.k8s.io"),
        ),
        Step("aggregated /api", aggregated("/api"), unserved("", aggregated=True)),
        Step("aggregated /apis", aggregated("/apis"), unserved("apps", aggregated=True)),
        Step(
            "aggregated, as kubectl 1.32 asks (v2 first)",
            aggregated("/apis", f"{AGGREGATED.replace('v2beta1', 'v2')},{AGGREGATED}"),
            known(
                "version-gap", "content-type", "body.apiVersion", "body.items.apps.versions.v1.resources.*"
            ),
        ),
        Step("kubectl api-resources -o wide", api_resources),
        Step("kubectl api-versions", api_versions_kubectl),
    ],
)


def openapi_v3_index(t: Target) -> dict:
    seen = t.call("GET", "/openapi/v3")
    paths = seen["body"].get("paths", {}) if isinstance(seen["body"], dict) else {}
    wanted = {"api/v1", "apis/apps/v1", "apis/discovery.k8s.io/v1", "apis/rbac.authorization.k8s.io/v1"}
    # The hash in each URL is of that server's own document.
    seen["body"] = {p: v["serverRelativeURL"].split("?")[0] for p, v in paths.items() if p in wanted}
    return seen


def openapi_v3_schema(path: str, *names: str):
    def run(t: Target) -> dict:
        seen = t.call("GET", path)
        schemas = (
            (seen["body"].get("components") or {}).get("schemas", {})
            if isinstance(seen["body"], dict)
            else {}
        )
        return {"status": seen["status"], "schemas": {name: schemas.get(name) for name in names}}

    return run


def openapi_v2(t: Target) -> dict:
    seen = t.call("GET", "/openapi/v2")
    definitions = seen["body"].get("definitions", {}) if isinstance(seen["body"], dict) else {}
    names = (
        "io.k8s.api.core.v1.Service",
        "io.k8s.api.apps.v1.Deployment",
        "io.k8s.api.discovery.v1.EndpointSlice",
    )
    return {"status": seen["status"], "definitions": {name: definitions.get(name) for name in names}}


OPEN_API = Scenario(
    "OpenAPI",
    steps=[
        Step("/openapi/v2 (the definitions of the tutorial's kinds)", openapi_v2),
        Step("/openapi/v3 (the sandbox's group versions)", openapi_v3_index),
        Step(
            "/openapi/v3/api/v1: Service, Pod",
            openapi_v3_schema("/openapi/v3/api/v1", "io.k8s.api.core.v1.Service", "io.k8s.api.core.v1.Pod"),
        ),
        Step(
            "/openapi/v3/apis/apps/v1: Deployment",
            openapi_v3_schema("/openapi/v3/apis/apps/v1", "io.k8s.api.apps.v1.Deployment"),
        ),
        Step(
            "kubectl explain service.spec.sessionAffinity",
            lambda t: t.kubectl("explain", "service.spec.sessionAffinity"),
        ),
        Step(
            "kubectl explain deployment.spec.strategy --recursive",
            lambda t: t.kubectl("explain", "deployment.spec.strategy", "--recursive"),
        ),
    ],
)

SCENARIOS = [DISCOVERY, OPEN_API]
