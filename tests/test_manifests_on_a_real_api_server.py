"""The deployment path on a real kube-apiserver: ``kubectl apply -k`` into a namespace that
enforces the "restricted" Pod Security Standard, the objects as the server stores them, and the
ServiceAccount's permissions, asked with ``kubectl auth can-i`` as that account: base and chaos
here, the second-namespace and scale-out overlays in tests/test_overlays_on_a_real_api_server.py."""

from __future__ import annotations

import pytest

from tests.support.applied_manifests import (
    BASE_ALLOWED,
    CHAOS_ALLOWED,
    RESTRICTED,
    apply_restricted,
    check_stored,
    granted,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("target", ["manifests/base", "manifests/overlays/chaos"])
def test_the_manifests_are_accepted_under_restricted_pod_security_without_a_warning(control_plane, target):
    namespace, warnings = apply_restricted(control_plane, target)
    assert "warning" not in warnings.lower(), warnings
    check_stored(control_plane, namespace, ("k8s-combat", "k8s-combat-service"))


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
    namespace, _ = apply_restricted(control_plane, "manifests/base")
    account = control_plane.token_kubeconfig(namespace, "k8s-combat")
    assert granted(control_plane, account, namespace) == set(BASE_ALLOWED)


def test_the_chaos_overlay_adds_only_the_scale_and_delete_pod_buttons_permissions(control_plane):
    namespace, _ = apply_restricted(control_plane, "manifests/overlays/chaos")
    account = control_plane.token_kubeconfig(namespace, "k8s-combat")
    assert granted(control_plane, account, namespace) == set(BASE_ALLOWED + CHAOS_ALLOWED)
