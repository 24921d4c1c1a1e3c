"""The overlays beyond chaos: a second target in a second namespace, and two dashboard replicas
on the user's PostgreSQL and Redis (rendered offline; tests/test_manifests.py has base's checks,
and the real API server admits them in tests/test_manifests_on_a_real_api_server.py)."""

from __future__ import annotations

import copy

import pytest

from tests.support.manifests import (
    DASHBOARD_NAMESPACE,
    SCALE_OUT,
    SCALE_OUT_SECRET,
    SECOND,
    SECOND_NAMESPACE,
    env_of,
    find,
    render,
)
from tests.support.pod_security import restricted_violations


@pytest.fixture(scope="module")
def base() -> list[dict]:
    return render("manifests/base")


@pytest.fixture(scope="module")
def second_namespace() -> list[dict]:
    return render(SECOND)


@pytest.fixture(scope="module")
def scale_out() -> list[dict]:
    return render(SCALE_OUT)


def located(documents: list[dict]) -> dict[tuple[str, str | None, str], dict]:
    """Every object by (kind, namespace, name)."""
    return {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in documents}


def test_the_second_namespace_overlay_is_base_plus_a_second_provider_and_role(base, second_namespace):
    objects = located(second_namespace)
    home, second = DASHBOARD_NAMESPACE, SECOND_NAMESPACE
    assert set(objects) == {
        ("Namespace", None, home),
        ("Namespace", None, second),
        # base, in the dashboard's namespace
        ("ServiceAccount", home, "k8s-combat"),
        ("Role", home, "k8s-combat-endpoints"),
        ("RoleBinding", home, "k8s-combat-endpoints"),
        ("Deployment", home, "k8s-combat"),
        ("Deployment", home, "k8s-combat-service"),
        ("Service", home, "k8s-combat-service"),
        # the second target, and the dashboard's reads of it
        ("Deployment", second, "k8s-combat-service"),
        ("Service", second, "k8s-combat-service"),
        ("Role", second, "k8s-combat-endpoints"),
        ("RoleBinding", second, "k8s-combat-endpoints"),
    }
    for namespace in (home, second):
        labels = objects["Namespace", None, namespace]["metadata"]["labels"]
        assert {
            f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn", "audit")
        }.items() <= labels.items()

    # Everything but the consumer's DASHBOARD_SERVICES is base's, moved to a namespace.
    def unplaced(document: dict) -> dict:
        return {**document, "metadata": {k: v for k, v in document["metadata"].items() if k != "namespace"}}

    for namespace in (home, second):
        for kind in ("Deployment", "Service"):
            assert unplaced(objects[kind, namespace, "k8s-combat-service"]) == find(
                base, kind, "k8s-combat-service"
            )
        assert (
            objects["Role", namespace, "k8s-combat-endpoints"]["rules"]
            == find(base, "Role", "k8s-combat-endpoints")["rules"]
        )
    consumer = objects["Deployment", home, "k8s-combat"]
    assert {k: v for k, v in env_of(consumer).items() if k != "DASHBOARD_SERVICES"} == env_of(
        find(base, "Deployment", "k8s-combat")
    )
    assert restricted_violations(consumer["spec"]["template"]["spec"]) == []


def test_the_second_namespace_role_is_bound_to_the_dashboards_account_only(second_namespace):
    objects = located(second_namespace)
    assert not [d for d in second_namespace if d["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    for namespace in (DASHBOARD_NAMESPACE, SECOND_NAMESPACE):
        binding = objects["RoleBinding", namespace, "k8s-combat-endpoints"]
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "k8s-combat-endpoints",
        }
        # Named with its namespace: a subject without one would mean the binding's own namespace.
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "k8s-combat", "namespace": DASHBOARD_NAMESPACE}
        ]


def test_the_dashboard_targets_a_rendered_service_in_each_namespace(second_namespace):
    objects = located(second_namespace)
    consumer = objects["Deployment", DASHBOARD_NAMESPACE, "k8s-combat"]
    services = env_of(consumer)["DASHBOARD_SERVICES"]
    assert services == f"k8s-combat-service,k8s-combat-service.{SECOND_NAMESPACE}"
    for entry in services.split(","):
        name, _, namespace = entry.partition(".")
        assert ("Service", namespace or DASHBOARD_NAMESPACE, name) in objects, entry


def selects(selector: dict, labels: dict[str, str]) -> bool:
    """Whether a LabelSelector (matchLabels and matchExpressions, ANDed) selects ``labels``."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        held = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not held:
            return False
    return True


def pod_labels(documents: list[dict], name: str) -> dict[str, str]:
    return find(documents, "Deployment", name)["spec"]["template"]["metadata"]["labels"]


# What the overlay changes in base's consumer, and nothing else.
SCALE_OUT_ENV = {
    "DATABASE_URL": {"secretKeyRef": {"name": SCALE_OUT_SECRET, "key": "database-url"}},
    "DASHBOARD_CHANNEL_LAYER": {"secretKeyRef": {"name": SCALE_OUT_SECRET, "key": "redis-url"}},
    "DASHBOARD_HEARTBEAT_SECONDS": "5",
}


def test_the_scale_out_overlay_is_base_with_two_dashboards_and_their_budget(base, scale_out):
    assert sorted((d["kind"], d["metadata"]["name"]) for d in scale_out) == sorted(
        [(d["kind"], d["metadata"]["name"]) for d in base] + [("PodDisruptionBudget", "k8s-combat")]
    )
    # Every other object is base's: the provider, its Service, and the RBAC (no new permission).
    for document in base:
        if (document["kind"], document["metadata"]["name"]) != ("Deployment", "k8s-combat"):
            assert find(scale_out, document["kind"], document["metadata"]["name"]) == document
    before, after = find(base, "Deployment", "k8s-combat"), find(scale_out, "Deployment", "k8s-combat")
    assert after["spec"]["replicas"] == 2
    # SQLite's file goes; the database, the channel layer and the heartbeat come.
    expected = {k: v for k, v in env_of(before).items() if k != "DATABASE_PATH"} | SCALE_OUT_ENV
    assert env_of(after) == expected

    def unchanged_part(deployment: dict) -> dict:
        spec = copy.deepcopy(deployment["spec"])
        del spec["replicas"]
        spec["template"]["spec"].pop("topologySpreadConstraints", None)
        del spec["template"]["spec"]["containers"][0]["env"]
        return spec

    assert unchanged_part(after) == unchanged_part(before)
    assert after["metadata"] == before["metadata"]


def test_the_scale_out_budget_covers_exactly_the_dashboards_pods_and_lets_one_go(scale_out):
    (budget,) = [d for d in scale_out if d["kind"] == "PodDisruptionBudget"]
    assert budget["apiVersion"] == "policy/v1"  # an empty selector there would select every pod
    selector = budget["spec"]["selector"]
    assert selector.get("matchLabels") or selector.get("matchExpressions")
    assert selects(selector, pod_labels(scale_out, "k8s-combat"))
    assert not selects(selector, pod_labels(scale_out, "k8s-combat-service"))
    # With two replicas, one at a time may be evicted: never both, never none (a drain would hang).
    replicas = find(scale_out, "Deployment", "k8s-combat")["spec"]["replicas"]
    spec = budget["spec"]
    assert ("maxUnavailable" in spec) != ("minAvailable" in spec)
    allowed = spec["maxUnavailable"] if "maxUnavailable" in spec else replicas - spec["minAvailable"]
    assert (replicas, allowed) == (2, 1)
    # Unready pods (the database is unreachable) do not hold a drain up.
    assert spec["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_the_scale_out_replicas_are_spread_over_nodes_and_rolled_one_at_a_time(scale_out):
    deployment = find(scale_out, "Deployment", "k8s-combat")
    (spread,) = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert spread["maxSkew"] == 1
    assert spread["whenUnsatisfiable"] == "ScheduleAnyway"  # a one-node cluster still runs both
    assert selects(spread["labelSelector"], pod_labels(scale_out, "k8s-combat"))
    assert not selects(spread["labelSelector"], pod_labels(scale_out, "k8s-combat-service"))
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }


@pytest.mark.parametrize(
    ("variable", "key"), [("DATABASE_URL", "database-url"), ("DASHBOARD_CHANNEL_LAYER", "redis-url")]
)
def test_the_scale_out_urls_come_from_the_users_secret_only(scale_out, variable, key):
    container = find(scale_out, "Deployment", "k8s-combat")["spec"]["template"]["spec"]["containers"][0]
    (item,) = [item for item in container["env"] if item["name"] == variable]
    assert "value" not in item, "a URL holds a password: never a literal in the manifests"
    # Not optional: without the Secret the pod waits, rather than start on a SQLite of its own.
    assert item["valueFrom"] == {"secretKeyRef": {"name": SCALE_OUT_SECRET, "key": key}}
    assert not [d for d in scale_out if d["kind"] in ("Secret", "ConfigMap")]
    assert "envFrom" not in container
    # The providers store no runs and broadcast nothing.
    assert variable not in env_of(find(scale_out, "Deployment", "k8s-combat-service"))


def test_the_scale_out_readiness_fails_while_the_database_is_unreachable(scale_out):
    deployment = find(scale_out, "Deployment", "k8s-combat")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = env_of(deployment)
    assert "DATABASE_PATH" not in env
    probe = container["readinessProbe"]
    assert (probe["httpGet"]["path"], probe["httpGet"]["port"]) == ("/readyz", "http")
    # A failed heartbeat keeps /readyz at 503 until the next beat succeeds, so for at least
    # DASHBOARD_HEARTBEAT_SECONDS: the probe must fail often enough within that to count.
    reaction = probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3)
    assert reaction <= float(env["DASHBOARD_HEARTBEAT_SECONDS"])
    # And a stopping pod still leaves the endpoints while it drains.
    assert reaction <= float(env["SHUTDOWN_DRAIN_SECONDS"])
    assert probe.get("successThreshold", 1) == 1
