"""Deployments and ReplicaSets as the Deployment controller's pure functions take them
(sandbox.rollout's views, the objects of sandbox.revisions and deployment_status), built as
upstream's own tests build them (pkg/controller/deployment, v1.29)."""

from __future__ import annotations

from sandbox.rollout import ReplicaSetView, Scale

NEW, OLD, OLDER = "2016-05-20T02:00:00Z", "2016-05-20T01:00:00Z", "2016-05-20T00:00:00Z"


def rs(name: str, replicas: int, created: str = NEW, *, available: int | None = None, sized_for=None):
    """An upstream test's ``rs()``: sized (annotations) for ``sized_for`` = (replicas, max)."""
    desired, most = sized_for or (None, None)
    return ReplicaSetView(
        name,
        replicas,
        available=replicas if available is None else available,
        actual=replicas,
        created=created,
        desired_replicas=desired,
        max_replicas=most,
    )


def sizes(scales: list[Scale]) -> dict[str, int]:
    """``{ReplicaSet: the size a step scales it to}``."""
    result: dict[str, int] = {}
    for scale in scales:
        result[scale.name] = scale.replicas
    return result


def template(image: str = "k8s-combat", **labels: str) -> dict:
    return {
        "metadata": {"labels": {"app": "web", **labels}},
        "spec": {"containers": [{"name": "c", "image": image}]},
    }


def deployment(replicas: int = 2, **annotations: str) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": "u-1",
            "annotations": annotations,
            "generation": 1,
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": template(),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "progressDeadlineSeconds": 600,
        },
    }
