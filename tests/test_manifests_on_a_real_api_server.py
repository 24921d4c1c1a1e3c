"""The deployment path on a real kube-apiserver: ``kubectl apply -k`` into a namespace that
enforces the "restricted" Pod Security Standard, the objects as the server stores them, and the
ServiceAccount's permissions, asked with ``kubectl auth can-i`` as that account."""

from __future__ import annotations

import json

import pytest

from tests.support.programs import require

pytestmark = pytest.mark.slow

RESTRICTED = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn", "audit")}

# What the dashboard does with the API (dashboard/kube.py), and so all its Role may allow.
BASE_ALLOWED = [
    ("list", "endpointslices.discovery.k8s.io"),
    ("watch", "endpointslices.discovery.k8s.io"),
    ("list", "endpoints/k8s-combat-service"),  # DASHBOARD_LEGACY_ENDPOINTS, by name
    ("watch", "endpoints/k8s-combat-service"),
    ("get", "services/k8s-combat-service"),  # its settings, by name (dashboard/service_watching.py)
    ("list", "services/k8s-combat-service"),
    ("watch", "services/k8s-combat-service"),
]
CHAOS_ALLOWED = [
    ("patch", "deployments.apps/k8s-combat-service", "--subresource=scale"),
    ("delete", "pods"),
]
# Near misses: what a too-broad Role would also grant.
DENIED = [
    ("get", "endpointslices.discovery.k8s.io"),
    ("create", "endpointslices.discovery.k8s.io"),
    ("patch", "endpointslices.discovery.k8s.io"),
    ("delete", "endpointslices.discovery.k8s.io"),
    ("list", "endpoints"),
    ("get", "endpoints/k8s-combat-service"),
    ("list", "endpoints/kubernetes"),
    ("get", "pods"),
    ("list", "pods"),
    ("create", "pods"),
    ("create", "pods/exec"),
    ("get", "secrets"),
    ("list", "secrets"),
    ("get", "deployments.apps"),
    ("patch", "deployments.apps/k8s-combat-service"),
    ("get", "deployments.apps/k8s-combat-service", "--subresource=scale"),
    ("patch", "deployments.apps/k8s-combat", "--subresource=scale"),
    ("update", "deployments.apps/k8s-combat-service", "--subresource=scale"),
    ("create", "roles.rbac.authorization.k8s.io"),
    ("list", "services"),
    ("watch", "services"),
    ("get", "services/kubernetes"),
    ("list", "services/kubernetes"),
    ("patch", "services/k8s-combat-service"),
    ("update", "services/k8s-combat-service"),
    ("delete", "services/k8s-combat-service"),
    ("list", "endpointslices.discovery.k8s.io", "--all-namespaces"),
]

# manifests/overlays/second-namespace pins its two namespaces (its kustomization.yaml says why):
# base in the dashboard's, and a second k8s-combat-service, with base's Role, in the second's.
SECOND = "manifests/overlays/second-namespace"
DASHBOARD_NAMESPACE, SECOND_NAMESPACE = "k8s-combat", "k8s-combat-b"
# Near misses across namespaces: the other Service names and writes a too-broad second Role grants.
SECOND_DENIED = [
    ("get", "services/k8s-combat"),
    ("list", "services/k8s-combat-service-b"),
    ("watch", "services/other"),
    ("create", "services"),
    ("delete", "endpointslices.discovery.k8s.io"),
    ("list", "endpoints/k8s-combat"),
    ("watch", "pods"),
    ("watch", "secrets"),
    ("list", "configmaps"),
    ("create", "rolebindings.rbac.authorization.k8s.io"),
    ("get", "namespaces/k8s-combat-b"),
    ("list", "services", "--all-namespaces"),
]
# manifests/overlays/scale-out: two dashboards on the user's PostgreSQL and Redis, whose URLs
# (with their passwords) only the kubelet reads, from this Secret; and their disruption budget.
SCALE_OUT = "manifests/overlays/scale-out"
SCALE_OUT_SECRET = "k8s-combat-scale-out"
SCALE_OUT_DENIED = [
    ("get", f"secrets/{SCALE_OUT_SECRET}"),
    ("watch", f"secrets/{SCALE_OUT_SECRET}"),
    ("list", "poddisruptionbudgets.policy"),
    ("patch", "poddisruptionbudgets.policy/k8s-combat"),
    ("create", "pods", "--subresource=eviction"),
    ("update", "deployments.apps/k8s-combat", "--subresource=scale"),
]
EVERY_QUESTION = BASE_ALLOWED + CHAOS_ALLOWED + DENIED + SECOND_DENIED + SCALE_OUT_DENIED


def _apply(control_plane, target: str) -> tuple[str, str]:
    """Apply ``target`` into a fresh restricted namespace; (namespace, what kubectl warned)."""
    require("kubectl", "the manifests are applied with kubectl apply -k")
    namespace = control_plane.namespace("manifests", **RESTRICTED)
    control_plane.kubectl(
        "-n", namespace, "create", "secret", "generic", "k8s-combat", "--from-literal=secret-key=x"
    )
    applied = control_plane.kubectl("-n", namespace, "apply", "-k", target)
    return namespace, applied.stderr


def _stored(control_plane, namespace: str, kind: str, name: str) -> dict:
    return json.loads(control_plane.kubectl("-n", namespace, "get", kind, name, "-o", "json").stdout)


def _can(control_plane, kubeconfig, namespace: str, verb: str, resource: str, *flags: str) -> bool:
    answer = control_plane.kubectl(
        "-n", namespace, "auth", "can-i", verb, resource, *flags, kubeconfig=kubeconfig, check=False
    )
    assert answer.stdout.strip() in ("yes", "no"), answer.stderr
    return answer.stdout.strip() == "yes"


def _granted(control_plane, kubeconfig, namespace: str, *, questions=EVERY_QUESTION, as_: str = "") -> set:
    """The ``questions`` answered yes in ``namespace`` (by ``as_``, impersonated by the admin)."""
    flags = (f"--as={as_}",) if as_ else ()
    return {q for q in questions if _can(control_plane, kubeconfig, namespace, *q, *flags)}


@pytest.fixture(scope="module")
def second_namespace(control_plane) -> str:
    """The overlay applied as its header says: ``kubectl apply -k`` with no ``-n`` on a cluster
    that has neither namespace yet, then the Secret in each; what kubectl warned."""
    require("kubectl", "the manifests are applied with kubectl apply -k")
    for namespace in (DASHBOARD_NAMESPACE, SECOND_NAMESPACE):
        missing = control_plane.kubectl("get", "namespace", namespace, check=False)
        assert missing.returncode != 0, f"{namespace} exists before the overlay makes it"
    applied = control_plane.kubectl("apply", "-k", SECOND)
    for namespace in (DASHBOARD_NAMESPACE, SECOND_NAMESPACE):
        control_plane.kubectl(
            "-n", namespace, "create", "secret", "generic", "k8s-combat", "--from-literal=secret-key=x"
        )
    return applied.stderr


@pytest.fixture(scope="module")
def scale_out(control_plane) -> tuple[str, str]:
    """The overlay applied as its header says, with the user's Secret (URLs of no server: nothing
    here connects); (namespace, what kubectl warned)."""
    namespace, warnings = _apply(control_plane, SCALE_OUT)
    control_plane.kubectl(
        "-n",
        namespace,
        "create",
        "secret",
        "generic",
        SCALE_OUT_SECRET,
        "--from-literal=database-url=postgres://combat:pw@postgres:5432/combat",
        "--from-literal=redis-url=redis://:pw@redis:6379/0",
    )
    return namespace, warnings


@pytest.mark.parametrize("target", ["manifests/base", "manifests/overlays/chaos", SECOND, SCALE_OUT])
def test_the_manifests_are_accepted_under_restricted_pod_security_without_a_warning(
    control_plane, request, target
):
    if target == SCALE_OUT:
        namespace, warnings = request.getfixturevalue("scale_out")
        deployments = {namespace: ("k8s-combat", "k8s-combat-service")}
    elif target == SECOND:
        warnings = request.getfixturevalue("second_namespace")
        deployments = {
            DASHBOARD_NAMESPACE: ("k8s-combat", "k8s-combat-service"),
            SECOND_NAMESPACE: ("k8s-combat-service",),
        }
    else:
        namespace, warnings = _apply(control_plane, target)
        deployments = {namespace: ("k8s-combat", "k8s-combat-service")}
    assert "warning" not in warnings.lower(), warnings
    for namespace, names in deployments.items():
        _check_stored(control_plane, namespace, names)


def _check_stored(control_plane, namespace: str, names: tuple[str, ...]) -> None:
    # The objects as the server stored them, after its defaulting, are what the README says.
    service = _stored(control_plane, namespace, "service", "k8s-combat-service")["spec"]
    assert service["type"] == "ClusterIP"
    assert service["sessionAffinity"] == "None"
    assert {p["name"]: (p["port"], p["targetPort"]) for p in service["ports"]} == {
        "app": (8081, 8081),  # the seed's port name; the EndpointSlice ports carry it
        "grpc": (50051, 50051),
    }
    stored = control_plane.kubectl("-n", namespace, "get", "deployments", "-o", "name").stdout.split()
    assert sorted(stored) == sorted(f"deployment.apps/{name}" for name in names)
    limits = {}
    for name in names:
        deployment = _stored(control_plane, namespace, "deployment", name)["spec"]
        assert deployment["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        pod = deployment["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert (
            isinstance(pod["securityContext"]["runAsUser"], int) and pod["securityContext"]["runAsUser"] > 0
        )
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["imagePullPolicy"] == "IfNotPresent"  # defaulted: the tag is not :latest
        limits[name] = container["resources"]["limits"]["memory"]
        # No controller runs here, so make the pod its ReplicaSet would: admission enforces
        # "restricted" on pods (on Deployments it only warns).
        created = control_plane.kubectl(
            "-n",
            namespace,
            "create",
            "--dry-run=server",
            "-f",
            "-",
            stdin=json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": f"{name}-admitted", "labels": deployment["selector"]["matchLabels"]},
                    "spec": pod,
                }
            ),
        )
        assert "warning" not in created.stderr.lower(), created.stderr
    assert limits == {name: {"k8s-combat": "128Mi", "k8s-combat-service": "100Mi"}[name] for name in names}


def test_a_pod_that_breaks_restricted_is_refused_in_that_namespace(control_plane):
    """The check above could pass because nothing is enforced: show that the namespace enforces."""
    namespace = control_plane.namespace("manifests", **RESTRICTED)
    refused = control_plane.kubectl(
        "-n",
        namespace,
        "run",
        "root-pod",
        "--image=k8s-combat:dev",
        "--dry-run=server",
        check=False,
    )
    assert refused.returncode != 0
    assert 'violates PodSecurity "restricted' in refused.stderr


def test_the_base_service_account_may_do_exactly_what_the_dashboard_does(control_plane):
    namespace, _ = _apply(control_plane, "manifests/base")
    account = control_plane.token_kubeconfig(namespace, "k8s-combat")
    assert _granted(control_plane, account, namespace) == set(BASE_ALLOWED)


def test_the_chaos_overlay_adds_only_the_scale_and_delete_pod_buttons_permissions(control_plane):
    namespace, _ = _apply(control_plane, "manifests/overlays/chaos")
    account = control_plane.token_kubeconfig(namespace, "k8s-combat")
    assert _granted(control_plane, account, namespace) == set(BASE_ALLOWED + CHAOS_ALLOWED)


def test_the_second_namespace_overlay_makes_both_namespaces_enforce_restricted(
    control_plane, second_namespace
):
    for namespace in (DASHBOARD_NAMESPACE, SECOND_NAMESPACE):
        stored = control_plane.kubectl("get", "namespace", namespace, "-o", "json").stdout
        labels = json.loads(stored)["metadata"]["labels"]
        assert RESTRICTED.items() <= labels.items()
        refused = control_plane.kubectl(
            "-n", namespace, "run", "root-pod", "--image=k8s-combat:dev", "--dry-run=server", check=False
        )
        assert refused.returncode != 0
        assert 'violates PodSecurity "restricted' in refused.stderr


def test_the_dashboard_may_read_the_second_target_and_nothing_else_there(control_plane, second_namespace):
    account = control_plane.token_kubeconfig(DASHBOARD_NAMESPACE, "k8s-combat")
    # In the second namespace: the same reads as at home, of that namespace's k8s-combat-service.
    assert _granted(control_plane, account, SECOND_NAMESPACE) == set(BASE_ALLOWED)
    # At home: base's Role, nothing more.
    assert _granted(control_plane, account, DASHBOARD_NAMESPACE) == set(BASE_ALLOWED)
    # Anywhere else: nothing.
    third = control_plane.namespace("manifests", **RESTRICTED)
    assert _granted(control_plane, account, third) == set()
    # The binding names the dashboard's namespace: a k8s-combat ServiceAccount elsewhere, in the
    # second namespace itself (what a subject without a namespace would mean) or in a third, gets
    # nothing there.
    for namespace in (SECOND_NAMESPACE, third):
        impostor = f"system:serviceaccount:{namespace}:k8s-combat"
        assert _granted(control_plane, None, SECOND_NAMESPACE, questions=BASE_ALLOWED, as_=impostor) == set()


def _label_query(selector: dict) -> str:
    """A LabelSelector as ``kubectl -l`` takes it, for the API server to evaluate."""
    terms = [f"{key}={value}" for key, value in selector.get("matchLabels", {}).items()]
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        terms.append(
            {
                "In": f"{key} in ({','.join(values)})",
                "NotIn": f"{key} notin ({','.join(values)})",
                "Exists": key,
                "DoesNotExist": f"!{key}",
            }[operator]
        )
    assert terms, "an empty selector would select every pod of the namespace"
    return ",".join(terms)


def test_the_scale_out_overlay_stores_two_dashboards_and_a_budget_for_exactly_their_pods(
    control_plane, scale_out
):
    namespace, _ = scale_out
    consumer = _stored(control_plane, namespace, "deployment", "k8s-combat")["spec"]
    assert consumer["replicas"] == 2
    assert consumer["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    (container,) = consumer["template"]["spec"]["containers"]
    env = {item["name"]: item for item in container["env"]}
    for variable, key in (("DATABASE_URL", "database-url"), ("DASHBOARD_CHANNEL_LAYER", "redis-url")):
        assert env[variable] == {
            "name": variable,
            "valueFrom": {"secretKeyRef": {"name": SCALE_OUT_SECRET, "key": key}},
        }
    assert "DATABASE_PATH" not in env
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    (spread,) = consumer["template"]["spec"]["topologySpreadConstraints"]
    assert spread["whenUnsatisfiable"] == "ScheduleAnyway"

    budget = _stored(control_plane, namespace, "poddisruptionbudget", "k8s-combat")
    assert budget["apiVersion"] == "policy/v1"
    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"  # kept, not dropped

    # Pods made from both templates, admitted under "restricted"; the server itself then says
    # which of them the budget's and the spread's selectors pick: the dashboard's only.
    made = {}
    for name in ("k8s-combat", "k8s-combat-service"):
        template = _stored(control_plane, namespace, "deployment", name)["spec"]["template"]
        made[name] = f"{name}-pod"
        created = control_plane.kubectl(
            "-n",
            namespace,
            "create",
            "-f",
            "-",
            stdin=json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": made[name], "labels": template["metadata"]["labels"]},
                    "spec": template["spec"],
                }
            ),
        )
        assert "warning" not in created.stderr.lower(), created.stderr
    for selector in (budget["spec"]["selector"], spread["labelSelector"]):
        picked = control_plane.kubectl(
            "-n", namespace, "get", "pods", "-l", _label_query(selector), "-o", "name"
        ).stdout.split()
        assert picked == [f"pod/{made['k8s-combat']}"]


def test_the_scale_out_overlay_grants_the_dashboard_nothing_more_than_base(control_plane, scale_out):
    namespace, _ = scale_out
    account = control_plane.token_kubeconfig(namespace, "k8s-combat")
    assert _granted(control_plane, account, namespace) == set(BASE_ALLOWED)
