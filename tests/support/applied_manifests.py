"""The manifests applied to a real kube-apiserver (../shared/kube): into a namespace that enforces
the "restricted" Pod Security Standard, read back as stored, and the dashboard's ServiceAccount
asked ``kubectl auth can-i`` (what it may do, and the near misses a too-broad Role would grant)."""

from __future__ import annotations

import json

from tests.support.manifests import SCALE_OUT_SECRET
from tests.support.programs import require

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
SCALE_OUT_DENIED = [
    ("get", f"secrets/{SCALE_OUT_SECRET}"),
    ("watch", f"secrets/{SCALE_OUT_SECRET}"),
    ("list", "poddisruptionbudgets.policy"),
    ("patch", "poddisruptionbudgets.policy/k8s-combat"),
    ("create", "pods", "--subresource=eviction"),
    ("update", "deployments.apps/k8s-combat", "--subresource=scale"),
]
EVERY_QUESTION = BASE_ALLOWED + CHAOS_ALLOWED + DENIED + SECOND_DENIED + SCALE_OUT_DENIED


def apply_restricted(control_plane, target: str) -> tuple[str, str]:
    """Apply ``target`` into a fresh restricted namespace; (namespace, what kubectl warned)."""
    require("kubectl", "the manifests are applied with kubectl apply -k")
    namespace = control_plane.namespace("manifests", **RESTRICTED)
    control_plane.kubectl(
        "-n", namespace, "create", "secret", "generic", "k8s-combat", "--from-literal=secret-key=x"
    )
    applied = control_plane.kubectl("-n", namespace, "apply", "-k", target)
    return namespace, applied.stderr


def read_stored(control_plane, namespace: str, kind: str, name: str) -> dict:
    return json.loads(control_plane.kubectl("-n", namespace, "get", kind, name, "-o", "json").stdout)


def can(control_plane, kubeconfig, namespace: str, verb: str, resource: str, *flags: str) -> bool:
    answer = control_plane.kubectl(
        "-n", namespace, "auth", "can-i", verb, resource, *flags, kubeconfig=kubeconfig, check=False
    )
    assert answer.stdout.strip() in ("yes", "no"), answer.stderr
    return answer.stdout.strip() == "yes"


def granted(control_plane, kubeconfig, namespace: str, *, questions=EVERY_QUESTION, as_: str = "") -> set:
    """The ``questions`` answered yes in ``namespace`` (by ``as_``, impersonated by the admin)."""
    flags = (f"--as={as_}",) if as_ else ()
    return {q for q in questions if can(control_plane, kubeconfig, namespace, *q, *flags)}


def check_stored(control_plane, namespace: str, names: tuple[str, ...]) -> None:
    # The objects as the server stored them, after its defaulting, are what the README says.
    service = read_stored(control_plane, namespace, "service", "k8s-combat-service")["spec"]
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
        deployment = read_stored(control_plane, namespace, "deployment", name)["spec"]
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
