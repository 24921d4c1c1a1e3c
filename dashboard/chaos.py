"""The chaos buttons: scale the provider Deployment, delete one of the Service's pods.

Off unless ``DASHBOARD_CHAOS`` is true, and then only as RBAC allows: the base manifests grant
none of it, the ``chaos`` overlay grants ``patch`` on ``deployments/scale`` of the one
Deployment and ``delete`` on pods. A 403 becomes a refusal that says what to grant.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from django.conf import settings

from dashboard import kube
from dashboard.errors import Refused


class Chaos:
    def __init__(self) -> None:
        self._cluster: kube.Cluster | None = None

    def _connect(self) -> kube.Cluster:
        if not settings.DASHBOARD_CHAOS:
            raise Refused("chaos-disabled", "scaling and deleting pods is off (DASHBOARD_CHAOS=false)")
        if self._cluster is None:  # one API client, not a kubeconfig read per button press
            self._cluster = kube.connect(settings.DASHBOARD_NAMESPACE)
        return self._cluster

    async def scale(self, replicas: int) -> None:
        cluster = await asyncio.to_thread(self._connect)
        deployment = settings.DASHBOARD_DEPLOYMENT
        with _explained_forbidden(f"patch deployments/{deployment}/scale"):
            await asyncio.to_thread(kube.scale, cluster, deployment, replicas)

    async def delete_pod(self, name: str, *, endpoint_pods: set[str]) -> None:
        """Delete ``name`` if it is one of ``endpoint_pods`` (the Service's pods, nothing else)."""
        cluster = await asyncio.to_thread(self._connect)
        if name not in endpoint_pods:
            raise Refused("not-an-endpoint", f"{name} is not a pod behind {settings.DASHBOARD_SERVICE}")
        with _explained_forbidden(f"delete pod {name}"):
            await asyncio.to_thread(kube.delete_pod, cluster, name)


@contextlib.contextmanager
def _explained_forbidden(action: str) -> Iterator[None]:
    try:
        yield
    except kube.Forbidden as exc:
        raise Refused(
            "forbidden",
            f"the dashboard's ServiceAccount may not {action} in {settings.DASHBOARD_NAMESPACE}: grant it "
            f"with the chaos overlay (kubectl apply -k manifests/overlays/chaos). The API server said: {exc}",
        ) from exc
