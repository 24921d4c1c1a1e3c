"""Changing objects: the four patch types, server-side and client-side apply, label/annotate;
defaulting of what is created; validation (422 naming the field); Events.

Every object here is written through the API into both servers (``setup``).
"""

from __future__ import annotations

import json

from tests.fidelity.steps import kubectl, project, typed
from tests.fidelity.writes import SELECTOR, TEMPLATE, lifecycle_free
from tests.support.fidelity import Scenario, Step, Target, known

CONFIG = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fidelity-patch"}, "data": {"a": "1"}}
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "fidelity-patch", "labels": {"app": "fidelity-writes"}},
    "spec": {"replicas": 0, "selector": SELECTOR, "template": TEMPLATE},
}


def _create(t: Target, body: dict) -> None:
    t.run_kubectl("create", "-f", "-", stdin=json.dumps(body))


def _patch_setup(t: Target) -> None:
    _create(t, CONFIG)
    _create(t, DEPLOYMENT)


def _patch_cleanup(t: Target) -> None:
    for kind in ("configmap", "deployment"):
        t.run_kubectl("delete", kind, "fidelity-patch", "fidelity-apply", "--ignore-not-found")


def patch(kind: str, kind_of_patch: str, body: object) -> Step:
    patched = kubectl(
        "patch",
        kind,
        "fidelity-patch",
        f"--type={kind_of_patch}",
        "-p",
        json.dumps(body),
        "-o",
        "json",
        out="json",
    )
    return Step(f"kubectl patch {kind} --type={kind_of_patch}", project(patched, lifecycle_free))


def _applied(data: dict, *flags: str):
    body = {**CONFIG, "metadata": {"name": "fidelity-apply"}, "data": data}
    return kubectl("apply", *flags, "-f", "-", "-o", "json", stdin=json.dumps(body), out="json")


PATCHES = Scenario(
    "patch and apply",
    setup=_patch_setup,
    cleanup=_patch_cleanup,
    steps=[
        patch(
            "deployment",
            "strategic",
            {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "k8s-combat:2"}]}}}},
        ),
        patch("deployment", "merge", {"spec": {"template": {"metadata": {"labels": {"tier": "web"}}}}}),
        patch("configmap", "merge", {"data": {"a": None, "b": "2"}}),
        patch("configmap", "json", [{"op": "add", "path": "/data/c", "value": "3"}]),
        Step(
            "json patch whose test fails",
            kubectl(
                "patch",
                "configmap",
                "fidelity-patch",
                "--type=json",
                "-p",
                '[{"op":"test","path":"/data/c","value":"9"}]',
            ),
        ),
        Step("kubectl label", kubectl("label", "configmap", "fidelity-patch", "tier=web")),
        Step(
            "kubectl annotate",
            kubectl("annotate", "configmap", "fidelity-patch", "note=hello"),
        ),
        Step("kubectl apply (create)", _applied({"a": "1"})),
        Step("kubectl apply (configure)", _applied({"a": "2"})),
        Step(
            "kubectl apply --server-side",
            _applied({"a": "3"}, "--server-side", "--force-conflicts"),
        ),
        Step(
            "server-side apply conflict with another manager",
            kubectl(
                "apply",
                "--server-side",
                "--field-manager=other",
                "-f",
                "-",
                stdin=json.dumps({**CONFIG, "metadata": {"name": "fidelity-apply"}, "data": {"a": "4"}}),
            ),
        ),
        Step(
            "get with managedFields",
            kubectl("get", "configmap", "fidelity-apply", "-o", "json", "--show-managed-fields", out="json"),
        ),
        Step(
            "kubectl diff",
            kubectl(
                "diff",
                "-f",
                "-",
                stdin=json.dumps({**CONFIG, "metadata": {"name": "fidelity-apply"}, "data": {"a": "5"}}),
            ),
        ),
    ],
)


def _created(api: str, method: str, body: dict) -> Step:
    return Step(f"defaults: {body['kind']}", typed(api, method, "{ns}", body))


def _replaced_service(t: Target) -> dict:
    """A Service replaced without its ``clusterIP``: the answer keeps the address the create gave
    (the masked answers cannot tell one address from another, so the step says it)."""
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "fidelity-replaced", "labels": {"fidelity": "defaults"}},
        "spec": {"ports": [{"port": 80}]},
    }
    path = "/api/v1/namespaces/{ns}/services"
    created = t.request("POST", path, body=body).json()
    body["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    body["spec"]["ports"] = [{"port": 81}]
    replaced = t.request("PUT", f"{path}/fidelity-replaced", body=body)
    spec = replaced.json().get("spec") or {}
    kept = spec.get("clusterIPs") == created["spec"].get("clusterIPs")
    return {"status": replaced.status, "spec": t.masker.json(spec), "kept": kept}


DEFAULTING = Scenario(
    "defaulting",
    cleanup=lambda t: t.run_kubectl("delete", "svc,deploy,pod,endpointslice", "-l", "fidelity=defaults"),
    steps=[
        _created(
            "CoreV1Api",
            "create_namespaced_service",
            {
                "kind": "Service",
                "metadata": {"name": "fidelity-defaults", "labels": {"fidelity": "defaults"}},
                "spec": {"ports": [{"port": 80}]},
            },
        ),
        _created(
            "AppsV1Api",
            "create_namespaced_deployment",
            {
                "kind": "Deployment",
                "metadata": {"name": "fidelity-defaults", "labels": {"fidelity": "defaults"}},
                "spec": {"replicas": 0, "selector": SELECTOR, "template": TEMPLATE},
            },
        ),
        _created(
            "CoreV1Api",
            "create_namespaced_pod",
            {
                "kind": "Pod",
                "metadata": {"name": "fidelity-defaults", "labels": {"fidelity": "defaults"}},
                **{"spec": TEMPLATE["spec"]},
            },
        ),
        _created(
            "DiscoveryV1Api",
            "create_namespaced_endpoint_slice",
            {
                "kind": "EndpointSlice",
                "metadata": {"name": "fidelity-defaults", "labels": {"fidelity": "defaults"}},
                "addressType": "IPv4",
                "endpoints": [{"addresses": ["10.9.2.1"]}],
                "ports": [{"port": 8081}],
            },
        ),
        Step("defaults: a Service replaced without its clusterIP keeps it", _replaced_service),
    ],
)


def _invalid(name: str, body: dict) -> Step:
    return Step(name, lambda t: t.call("POST", _collection(body), body=body))


def _collection(body: dict) -> str:
    group = {"Service": "/api/v1", "Pod": "/api/v1", "Deployment": "/apis/apps/v1"}[body["kind"]]
    return f"{group}/namespaces/{{ns}}/{body['kind'].lower()}s"


VALIDATING = Scenario(
    "validation",
    steps=[
        _invalid(
            "422: Service port 0",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "bad"},
                "spec": {"ports": [{"port": 0}]},
            },
        ),
        _invalid(
            "422: Deployment selector does not match its template",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "bad"},
                "spec": {"selector": {"matchLabels": {"app": "other"}}, "template": TEMPLATE},
            },
        ),
        _invalid(
            "422: Pod without containers",
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad"}, "spec": {"containers": []}},
        ),
        _invalid(
            "422: a name that is not a DNS label",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "Bad_Name"},
                "spec": {"ports": [{"port": 80}]},
            },
        ),
        Step(
            "409: create what exists",
            lambda t: [t.call("POST", "/api/v1/namespaces/{ns}/configmaps", body=CONFIG) for _ in range(2)][
                1
            ],
        ),
    ],
)

EVENT = {
    "apiVersion": "v1",
    "kind": "Event",
    "metadata": {"name": "fidelity-event"},
    "involvedObject": {"kind": "Pod", "name": "fidelity-pod", "apiVersion": "v1", "namespace": "{ns}"},
    "reason": "Testing",
    "message": "a hand-written event",
    "type": "Warning",
    "source": {"component": "fidelity"},
    "count": 1,
}


def _event_setup(t: Target) -> None:
    body = json.loads(json.dumps(EVENT).replace("{ns}", t.namespace))
    t.request("POST", "/api/v1/namespaces/{ns}/events", body=body)


EVENTS_SCENARIO = Scenario(
    "events",
    setup=_event_setup,
    cleanup=lambda t: t.run_kubectl("delete", "events", "fidelity-event", "--ignore-not-found"),
    steps=[
        Step("kubectl get events", kubectl("get", "events", out="table")),
        Step("kubectl get events -o wide", kubectl("get", "events", "-o", "wide", out="table")),
        Step("kubectl events", kubectl("events", out="table")),
        Step(
            "events --field-selector involvedObject.name",
            kubectl("get", "events", "--field-selector", "involvedObject.name=fidelity-pod", "-o", "name"),
        ),
        Step(
            "events --field-selector type=Warning,reason=Testing",
            kubectl("get", "events", "--field-selector", "type=Warning,reason=Testing", "-o", "name"),
        ),
        Step(
            "events/v1 (events.k8s.io) not served",
            kubectl("get", "events.events.k8s.io", "-o", "name"),
            known("no-events-v1", "rc", "stdout[0]", "stderr"),
        ),
    ],
)

SCENARIOS = [PATCHES, DEFAULTING, VALIDATING, EVENTS_SCENARIO]
