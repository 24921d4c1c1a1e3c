"""Table cells at their edges: empty lists, ``<none>``, ``<unset>``, ``<pending>``, ``+ N more...``,
the kinds of Service, nil EndpointSlice ports, set-based selectors: the same objects written
into both servers, then ``kubectl get`` and the raw Table."""

from __future__ import annotations

import json

from tests.fidelity.reads import PATHS
from tests.fidelity.steps import kubectl, table
from tests.fidelity.writes import TEMPLATE
from tests.support.fidelity import Scenario, Step, Target

LABEL = {"fidelity": "cells"}
SELECT = "fidelity=cells"
PORT = [{"name": "http", "port": 80, "targetPort": 8081}]
OBJECTS = [
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bare"}, "spec": {"ports": PORT}},
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "headless"},
        "spec": {"clusterIP": "None", "selector": {"b": "2", "a": "1"}, "ports": PORT},
    },
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "external"},
        "spec": {"type": "ExternalName", "externalName": "example.com"},
    },
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "balanced"},
        "spec": {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False, "ports": PORT},
    },
    {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "empty"}},
    {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "portless"},
        "subsets": [{"addresses": [{"ip": f"10.9.3.{n}"} for n in range(1, 6)]}],
    },
    {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "unset"},
        "addressType": "IPv4",
        "endpoints": [],
    },
    {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "nil-ports"},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [f"10.9.4.{n}"]} for n in range(1, 6)],
        "ports": [
            {"name": "named"},
            {"port": 1, "name": "a"},
            {"port": 2, "name": "b"},
            {"port": 3, "name": "c"},
        ],
    },
    {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "all-ports"},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.9.5.1"]}],
        "ports": [{}],
    },
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "expressions"},
        "spec": {
            "replicas": 0,
            "selector": {
                "matchLabels": {"app": "fidelity-writes"},
                "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db", "cache"]}],
            },
            "template": TEMPLATE,
        },
    },
]


def _setup(t: Target) -> None:
    for obj in OBJECTS:
        body = {**obj, "metadata": {**obj["metadata"], "labels": LABEL}}
        created = t.run_kubectl("create", "-f", "-", stdin=json.dumps(body))
        if created.returncode != 0:
            raise AssertionError(f"{t.label}: {created.stderr}")


# What the endpoint controllers write for the scenario's selector Services (their labels are
# copied from the Service's) is left out: the real server here runs no controllers, the sandbox
# does (its slices are held against a real kube-controller-manager elsewhere).
NOT_MADE_BY = {
    "endpoints": ",!endpoints.kubernetes.io/managed-by",
    "endpointslices": ",!endpointslice.kubernetes.io/managed-by",
}


def get(kind: str, *flags: str) -> Step:
    shown = kubectl("get", kind, "-l", SELECT + NOT_MADE_BY.get(kind, ""), *flags, out="table")
    return Step(f"get {kind} {' '.join(flags)}".strip(), shown)


CELLS = Scenario(
    "table cells: empty lists, <none>, <unset>, every kind of Service",
    setup=_setup,
    steps=[
        *(
            Step(f"empty list: get {kind}", kubectl("get", kind, "-l", "fidelity=none", out="table"))
            for kind in ("pods", "services", "endpoints", "endpointslices", "deployments")
        ),
        Step("empty list: the raw Table", table(PATHS["services"], labelSelector="fidelity=none")),
        get("services", "-o", "wide"),
        get("endpoints"),
        get("endpointslices"),
        get("deployments", "-o", "wide"),
        Step("raw Table of the Services", table(PATHS["services"], labelSelector=SELECT)),
        Step(
            "raw Table of the EndpointSlices",
            table(PATHS["endpointslices"], labelSelector=SELECT + NOT_MADE_BY["endpointslices"]),
        ),
    ],
)

SCENARIOS = [CELLS]
