"""Label and field selectors, as kubectl and the client send them, over the tutorial's objects:
what they select, and the 400s for what does not parse or is not a field of that kind."""

from __future__ import annotations

from tests.fidelity.reads import PATHS
from tests.fidelity.steps import SERVICE, call, kubectl
from tests.support.fidelity import MIRRORED, Scenario, Step, Target


def names(kind: str, *selector: str) -> Step:
    """``kubectl get KIND -o name`` with the selector flags: which objects, or the error."""
    return Step(f"get {kind} {' '.join(selector)}", kubectl("get", kind, *selector, "-o", "name"))


def raw(kind: str, **query: str) -> Step:
    """The list through the client, for what kubectl would refuse before sending."""
    shown = "&".join(f"{k}={v}" for k, v in query.items())
    return Step(f"list {kind}?{shown}", call("GET", PATHS[kind], query=query))


def _pod_ip(t: Target) -> str:
    """The first pod's IP on that server (the two servers' IPs differ: see masking)."""
    pods = t.request("GET", PATHS["pods"]).json()["items"]
    return sorted(pods, key=lambda p: p["metadata"]["name"])[0]["status"]["podIP"]


def by_pod_ip(operator: str) -> Step:
    return Step(
        f"get pods --field-selector status.podIP{operator}<first pod's IP>",
        lambda t: t.kubectl(
            "get", "pods", "--field-selector", f"status.podIP{operator}{_pod_ip(t)}", "-o", "name"
        ),
    )


LABELS = Scenario(
    "label selectors",
    mirror=True,
    strip=MIRRORED,
    steps=[
        names("pods", "-l", f"app={SERVICE}"),
        names("pods", "-l", f"app=={SERVICE}"),
        names("pods", "-l", "app!=other"),
        names("pods", "-l", "app in (other,k8s-combat-service)"),
        names("pods", "-l", "app notin (other)"),
        names("pods", "-l", "pod-template-hash"),
        names("pods", "-l", "!pod-template-hash"),
        names("deploy", "-l", "app,!missing"),
        names("pods", "-l", "missing!=x"),
        names("svc", "-l", "app in ()"),
        names("endpointslices", "-l", f"kubernetes.io/service-name={SERVICE}"),
        names("endpoints", "-l", "endpoints.kubernetes.io/managed-by=endpoint-controller"),
        raw("pods", labelSelector="a in (b"),
        raw("pods", labelSelector="a=b=c"),
        raw("pods", labelSelector="-a=b"),
        raw("pods", labelSelector="a=-b"),
        raw("pods", labelSelector="a,,b"),
        raw("pods", labelSelector="a in (x y)"),
        raw("pods", labelSelector="a gt 1"),
        raw("pods", labelSelector="a>1"),
        raw("pods", labelSelector="x/y/z=1"),
        raw("services", labelSelector="a b"),
    ],
)

POD_FIELDS = Scenario(
    "field selectors: pods",
    mirror=True,
    strip=MIRRORED,
    steps=[
        names("pods", "--field-selector", "status.phase=Running"),
        names("pods", "--field-selector", "status.phase!=Running"),
        names("pods", "--field-selector", "spec.nodeName=sandbox-node"),
        names("pods", "--field-selector", "spec.host=sandbox-node"),
        names("pods", "--field-selector", "spec.restartPolicy=Always"),
        names("pods", "--field-selector", "spec.schedulerName=default-scheduler"),
        names("pods", "--field-selector", "spec.serviceAccountName="),
        names("pods", "--field-selector", "spec.hostNetwork=false"),
        names("pods", "--field-selector", "status.nominatedNodeName="),
        names("pods", "--field-selector", "status.podIPs!=x"),
        by_pod_ip("="),
        by_pod_ip("!="),
        names("pods", "--field-selector", "metadata.namespace!=nowhere,status.phase==Running"),
        names("pods", "--field-selector", "metadata.uid=x"),
        names("pods", "--field-selector", "status.hostIP=x"),
        names("pods", "--field-selector", "metadata.name in (a)"),
        raw("pods", fieldSelector="metadata.name = x"),
        raw("pods", fieldSelector="metadata.name=a\\,b"),
        raw("pods", fieldSelector="metadata.name=a\\b"),
        raw("pods", fieldSelector="zzz=1,metadata.uid=1"),
    ],
)

OTHER_FIELDS = Scenario(
    "field selectors: services, endpointslices, endpoints, deployments, events",
    mirror=True,
    strip=MIRRORED,
    steps=[
        names("svc", "--field-selector", f"metadata.name={SERVICE}"),
        names("svc", "--field-selector", "metadata.name!=x"),
        names("svc", "--field-selector", "spec.clusterIP=x"),
        names("svc", "--field-selector", "spec.type=ClusterIP"),
        names("endpointslices", "--field-selector", "metadata.namespace!=x"),
        names("endpointslices", "--field-selector", "addressType=IPv4"),
        names("endpoints", "--field-selector", f"metadata.name={SERVICE}"),
        names("endpoints", "--field-selector", "subsets=x"),
        names("deploy", "--field-selector", "status.replicas=2"),
        Step(
            "events: every field the real server accepts",
            kubectl(
                "get",
                "events",
                "-o",
                "name",
                "--field-selector",
                "involvedObject.kind=Pod,involvedObject.name=x,involvedObject.namespace=y,"
                "involvedObject.uid=u,involvedObject.apiVersion=v1,involvedObject.resourceVersion=1,"
                "involvedObject.fieldPath=f,reason=r,reportingComponent=c,source=s,type=Normal",
            ),
        ),
        names("events", "--field-selector", "message=x"),
        Step(
            "events: metadata.name",
            kubectl("get", "events", "-o", "name", "--field-selector", "metadata.name=x"),
        ),
    ],
)

SCENARIOS = [LABELS, POD_FIELDS, OTHER_FIELDS]
