"""The second-namespace and scale-out overlays on a real kube-apiserver: applied as their
headers say, admitted under "restricted" with no warning, stored as intended, and granting the
dashboard's ServiceAccount exactly base's reads (tests/support/applied_manifests.py)."""

from __future__ import annotations

import json

import pytest

from tests.support.applied_manifests import (
    BASE_ALLOWED,
    RESTRICTED,
    apply_restricted,
    check_stored,
    granted,
    read_stored,
)
from tests.support.manifests import DASHBOARD_NAMESPACE, SCALE_OUT, SCALE_OUT_SECRET, SECOND, SECOND_NAMESPACE
from tests.support.programs import require

pytestmark = pytest.mark.slow


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
    namespace, warnings = apply_restricted(control_plane, SCALE_OUT)
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


def test_the_second_namespace_overlay_is_accepted_under_restricted_without_a_warning(
    control_plane, second_namespace
):
    assert "warning" not in second_namespace.lower(), second_namespace
    check_stored(control_plane, DASHBOARD_NAMESPACE, ("k8s-combat", "k8s-combat-service"))
    check_stored(control_plane, SECOND_NAMESPACE, ("k8s-combat-service",))


def test_the_scale_out_overlay_is_accepted_under_restricted_without_a_warning(control_plane, scale_out):
    namespace, warnings = scale_out
    assert "warning" not in warnings.lower(), warnings
    check_stored(control_plane, namespace, ("k8s-combat", "k8s-combat-service"))


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
    assert granted(control_plane, account, SECOND_NAMESPACE) == set(BASE_ALLOWED)
    # At home: base's Role, nothing more.
    assert granted(control_plane, account, DASHBOARD_NAMESPACE) == set(BASE_ALLOWED)
    # Anywhere else: nothing.
    third = control_plane.namespace("manifests", **RESTRICTED)
    assert granted(control_plane, account, third) == set()
    # The binding names the dashboard's namespace: a k8s-combat ServiceAccount elsewhere, in the
    # second namespace itself (what a subject without a namespace would mean) or in a third, gets
    # nothing there.
    for namespace in (SECOND_NAMESPACE, third):
        impostor = f"system:serviceaccount:{namespace}:k8s-combat"
        assert granted(control_plane, None, SECOND_NAMESPACE, questions=BASE_ALLOWED, as_=impostor) == set()


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
    consumer = read_stored(control_plane, namespace, "deployment", "k8s-combat")["spec"]
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

    budget = read_stored(control_plane, namespace, "poddisruptionbudget", "k8s-combat")
    assert budget["apiVersion"] == "policy/v1"
    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"  # kept, not dropped

    # Pods made from both templates, admitted under "restricted"; the server itself then says
    # which of them the budget's and the spread's selectors pick: the dashboard's only.
    made = {}
    for name in ("k8s-combat", "k8s-combat-service"):
        template = read_stored(control_plane, namespace, "deployment", name)["spec"]["template"]
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
    assert granted(control_plane, account, namespace) == set(BASE_ALLOWED)
