"""Step actions shared by the scenarios: what one client invocation observes on one target."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.fidelity.targets import TABLE, Target

Action = Callable[[Target], Any]
SERVICE = "k8s-combat-service"  # the tutorial's objects, in the sandbox and mirrored


def kubectl(*args: str, out: str = "text", stdin: str | None = None) -> Action:
    """``{ns}`` in the manifest on stdin is the target's namespace (an Event's involvedObject)."""
    return lambda t: t.kubectl(*args, out=out, stdin=stdin.replace("{ns}", t.namespace) if stdin else None)


def call(method: str, path: str, **options: Any) -> Action:
    return lambda t: t.call(method, path, **options)


def table(path: str, **query: str) -> Action:
    """The Table kubectl asks for (the raw JSON, column definitions included)."""
    return call("GET", path, query=query, accept=TABLE)


def typed(api: str, method: str, *args: Any, **kwargs: Any) -> Action:
    """A typed client call; ``"{ns}"`` in the arguments is the target's namespace."""

    def run(t: Target) -> Any:
        values = [t.namespace if a == "{ns}" else a for a in args]
        return t.typed(api, method, *values, **kwargs)

    return run


def project(action: Action, keep: Callable[[Any], Any]) -> Action:
    """Compare only part of what ``action`` saw (each use says why)."""
    return lambda t: keep(action(t))


SLICES = "/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"


def endpoint_slice(name: str, *addresses: str, service: str = "fidelity-watch", ready: bool = True) -> dict:
    """A hand-written EndpointSlice (routable addresses: a real server refuses loopback ones)."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": name, "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8081, "protocol": "TCP"}],
        "endpoints": [{"addresses": [a], "conditions": {"ready": ready}} for a in addresses],
    }


def write_slice(t: Target, body: dict) -> None:
    """Create or replace a slice through the API, as a controller or kubectl apply would."""
    name = body["metadata"]["name"]
    current = t.request("GET", f"{SLICES}/{name}")
    if current.status == 200:
        body = {**body, "metadata": {**body["metadata"], **_kept(current.json())}}
        written = t.request("PUT", f"{SLICES}/{name}", body=body)
    else:
        written = t.request("POST", SLICES, body=body)
    if written.status not in (200, 201):
        raise AssertionError(f"writing slice {name}: {written.status} {written.json()}")


def delete_slice(t: Target, name: str) -> None:
    deleted = t.request("DELETE", f"{SLICES}/{name}")
    if deleted.status not in (200, 202):
        raise AssertionError(f"deleting slice {name}: {deleted.status} {deleted.json()}")


def _kept(current: dict) -> dict:
    return {"resourceVersion": current["metadata"]["resourceVersion"]}
