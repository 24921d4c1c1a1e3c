"""The kustomize manifests: valid for the Kubernetes versions we support, faithful to the seed,
restricted, and granting the dashboard nothing it does not use."""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.support.manifests import KUBERNETES_VERSIONS, SCALE_OUT, SECOND, env_of, find, render
from tests.support.pod_security import restricted_violations


@pytest.fixture(scope="module")
def base() -> list[dict]:
    return render("manifests/base")


@pytest.fixture(scope="module")
def chaos() -> list[dict]:
    return render("manifests/overlays/chaos")


@pytest.fixture(scope="module")
def scale_out() -> list[dict]:
    return render(SCALE_OUT)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("target", ["manifests/base", "manifests/overlays/chaos", SECOND, SCALE_OUT])
def test_every_rendered_object_passes_strict_validation(target, version):
    for document in render(target):
        kubernetes_validate.validate(document, version, strict=True)


def test_the_seed_names_labels_ports_and_replicas(base):
    consumer = find(base, "Deployment", "k8s-combat")
    provider = find(base, "Deployment", "k8s-combat-service")
    service = find(base, "Service", "k8s-combat-service")
    assert consumer["spec"]["replicas"] == 1
    assert provider["spec"]["replicas"] == 2
    assert consumer["spec"]["template"]["metadata"]["labels"]["app"] == "k8s-combat"
    assert provider["spec"]["template"]["metadata"]["labels"]["app"] == "k8s-combat-service"
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"] == {"app": "k8s-combat-service"}
    assert service["spec"]["ports"] == [
        {"name": "app", "port": 8081, "targetPort": 8081, "protocol": "TCP"},
        {"name": "grpc", "port": 50051, "targetPort": 50051, "protocol": "TCP", "appProtocol": "grpc"},
    ]
    for deployment in (consumer, provider):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert {"name": "http", "containerPort": 8081, "protocol": "TCP"} in container["ports"]
        assert {"name": "grpc", "containerPort": 50051, "protocol": "TCP"} in container["ports"]


def test_the_dashboard_runs_only_in_the_consumer_and_both_know_who_they_are(base):
    consumer = env_of(find(base, "Deployment", "k8s-combat"))
    provider = env_of(find(base, "Deployment", "k8s-combat-service"))
    assert consumer["COMBAT_DASHBOARD"] == "true"
    assert provider["COMBAT_DASHBOARD"] == "false"
    for env in (consumer, provider):
        assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
        assert env["POD_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}
        assert env["NODE_NAME"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}


@pytest.mark.parametrize("name", ["k8s-combat", "k8s-combat-service"])
@pytest.mark.parametrize("rendered", ["base", "scale_out"])
def test_pods_are_restricted_read_only_and_probed(request, rendered, name):
    deployment = find(request.getfixturevalue(rendered), "Deployment", name)
    pod = deployment["spec"]["template"]["spec"]
    assert restricted_violations(pod) == []
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    for probe, path in (
        ("startupProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
        ("livenessProbe", "/healthz"),
    ):
        get = container[probe]["httpGet"]
        assert (get["path"], get["port"]) == (path, "http")
        assert {"name": "Host", "value": "localhost"} in get["httpHeaders"], "ALLOWED_HOSTS accepts localhost"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    drain = float(env_of(deployment)["SHUTDOWN_DRAIN_SECONDS"])
    assert pod["terminationGracePeriodSeconds"] > drain + 10, "room to drain and finish in-flight requests"


def test_memory_limits_fit_the_dashboard_and_the_providers(base):
    def limits(name: str) -> dict:
        return find(base, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]["resources"][
            "limits"
        ]

    assert limits("k8s-combat")["memory"] == "128Mi"
    assert limits("k8s-combat-service")["memory"] == "100Mi"


def test_only_the_dashboard_gets_an_api_token(base):
    assert find(base, "Deployment", "k8s-combat")["spec"]["template"]["spec"]["automountServiceAccountToken"]
    assert not find(base, "Deployment", "k8s-combat-service")["spec"]["template"]["spec"][
        "automountServiceAccountToken"
    ]
    assert (
        find(base, "Deployment", "k8s-combat")["spec"]["template"]["spec"]["serviceAccountName"]
        == "k8s-combat"
    )


def test_the_base_role_reads_endpoints_and_its_service_and_nothing_else(base):
    roles = [d for d in base if d["kind"] in ("Role", "ClusterRole")]
    assert [role["metadata"]["name"] for role in roles] == ["k8s-combat-endpoints"]
    granted = {
        (group, resource, verb)
        for rule in roles[0]["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    allowed = {
        (group, resource, verb)
        for group, resource in (("discovery.k8s.io", "endpointslices"), ("", "endpoints"))
        for verb in ("list", "watch")
    } | {("", "services", verb) for verb in ("get", "list", "watch")}
    assert granted <= allowed
    # The Service is read by name only: never another Service of the namespace.
    (services,) = [rule for rule in roles[0]["rules"] if "services" in rule["resources"]]
    assert services["resources"] == ["services"]
    assert services["resourceNames"] == ["k8s-combat-service"]
    assert not any(rule.get("nonResourceURLs") for rule in roles[0]["rules"])
    binding = find(base, "RoleBinding", "k8s-combat-endpoints")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "k8s-combat"}]


def test_the_chaos_overlay_adds_scale_and_pod_delete_only_and_turns_them_on(chaos):
    role = find(chaos, "Role", "k8s-combat-chaos")
    assert role["rules"] == [
        {
            "apiGroups": ["apps"],
            "resources": ["deployments/scale"],
            "resourceNames": ["k8s-combat-service"],
            "verbs": ["patch"],
        },
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]},
    ]
    assert env_of(find(chaos, "Deployment", "k8s-combat"))["DASHBOARD_CHAOS"] == "true"
    assert "DASHBOARD_CHAOS" not in env_of(find(chaos, "Deployment", "k8s-combat-service"))
