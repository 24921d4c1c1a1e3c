"""Reading the tutorial's objects: kubectl's tables and output formats, describe, raw Tables.

The sandbox's own objects (its Deployment, Service, pods, Endpoints, EndpointSlice) are copied
into the real namespace first (``mirror``), so both servers hold the same objects.
"""

from __future__ import annotations

from tests.fidelity.steps import SERVICE, kubectl, table, typed
from tests.support.fidelity import MIRRORED, Scenario, Step

KINDS = ("pods", "services", "deployments", "endpoints", "endpointslices")
PATHS = {
    "pods": "/api/v1/namespaces/{ns}/pods",
    "services": "/api/v1/namespaces/{ns}/services",
    "deployments": "/apis/apps/v1/namespaces/{ns}/deployments",
    "endpoints": "/api/v1/namespaces/{ns}/endpoints",
    "endpointslices": "/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
}

TABLES = Scenario(
    "kubectl get: tables of the tutorial's objects",
    mirror=True,
    strip=MIRRORED,
    steps=[
        *(Step(f"get {kind}", kubectl("get", kind, out="table")) for kind in KINDS),
        *(Step(f"get {kind} -o wide", kubectl("get", kind, "-o", "wide", out="table")) for kind in KINDS),
        Step("get all kinds at once", kubectl("get", "pods,svc,deploy,ep,endpointslices", out="table")),
        Step("get one Service", kubectl("get", "svc", SERVICE, out="table")),
        Step("get --show-labels", kubectl("get", "pods", "--show-labels", out="table")),
        Step("get -L app", kubectl("get", "deploy", "-L", "app", out="table")),
        *(Step(f"Table of {kind} (raw)", table(PATHS[kind])) for kind in KINDS),
        Step("Table with includeObject=Object", table(PATHS["services"], includeObject="Object")),
        Step("Table with includeObject=None", table(PATHS["services"], includeObject="None")),
        Step("Table of one Service", table(PATHS["services"] + "/" + SERVICE)),
    ],
)

FORMATS = Scenario(
    "kubectl get -o json|yaml|name|custom-columns|jsonpath",
    mirror=True,
    strip=MIRRORED,
    steps=[
        Step("get svc -o json", kubectl("get", "svc", SERVICE, "-o", "json", out="json")),
        Step("get deploy -o yaml", kubectl("get", "deploy", SERVICE, "-o", "yaml", out="yaml")),
        Step("get endpointslices -o json", kubectl("get", "endpointslices", "-o", "json", out="json")),
        Step("get endpoints -o yaml", kubectl("get", "endpoints", "-o", "yaml", out="yaml")),
        Step("get pods -o json", kubectl("get", "pods", "-o", "json", out="json")),
        Step("get -o name", kubectl("get", "pods,svc,deploy,endpointslices", "-o", "name")),
        Step(
            "get -o custom-columns",
            kubectl(
                "get",
                "svc",
                "-o",
                "custom-columns=NAME:.metadata.name,PORTS:.spec.ports[*].port,"
                "AFFINITY:.spec.sessionAffinity,MISSING:.spec.nothing",
                out="table",
            ),
        ),
        Step(
            "get -o jsonpath",
            kubectl(
                "get",
                "endpointslices",
                "-o",
                "jsonpath={range .items[*]}{.addressType} {.ports[*].name} "
                "{.endpoints[*].conditions}{'\\n'}{end}",
            ),
        ),
        Step(
            "get -o go-template",
            kubectl("get", "deploy", "-o", "go-template={{range .items}}{{.spec.replicas}} {{end}}"),
        ),
        Step("client: list Services", typed("CoreV1Api", "list_namespaced_service", "{ns}")),
        Step(
            "client: read the Deployment", typed("AppsV1Api", "read_namespaced_deployment", SERVICE, "{ns}")
        ),
        Step(
            "client: list EndpointSlices",
            typed("DiscoveryV1Api", "list_namespaced_endpoint_slice", "{ns}"),
        ),
        Step("client: list pods", typed("CoreV1Api", "list_namespaced_pod", "{ns}")),
    ],
)

DESCRIBE = Scenario(
    "kubectl describe",
    mirror=True,
    strip=MIRRORED,
    steps=[
        Step("describe svc", kubectl("describe", "svc", SERVICE)),
        Step(
            "describe endpointslice",
            kubectl("describe", "endpointslices", "-l", f"kubernetes.io/service-name={SERVICE}"),
        ),
        Step("describe deploy", kubectl("describe", "deploy", SERVICE)),
    ],
)

SCENARIOS = [TABLES, FORMATS, DESCRIBE]
