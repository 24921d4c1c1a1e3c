"""The ReplicaSet controller, the garbage collector and the pod helpers, as pure functions
(sandbox.replicasets, sandbox.garbage, sandbox.pods), and the controllers against a bare Store
(no processes: the node is left out)."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox import garbage, pods, resources
from sandbox.deployments import Deployments
from sandbox.events import EventRecorder
from sandbox.objects import SAFE_ALPHABET
from sandbox.replicasets import ReplicaSets, replica_set_status, to_delete
from sandbox.store import Store

NOW = datetime(2027, 1, 15, 8, 0, tzinfo=UTC).timestamp()


def pod(
    name: str,
    *,
    ready: bool = True,
    created: str = "2027-01-15T07:00:00Z",
    restarts: int = 0,
    node: str = "n",
    since: str | None = None,
) -> dict:
    return {
        "metadata": {"name": name, "uid": name, "creationTimestamp": created, "labels": {"app": "web"}},
        "spec": {"nodeName": node},
        "status": {
            "phase": "Running" if node else "Pending",
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "lastTransitionTime": since or created,
                }
            ],
            "containerStatuses": [{"restartCount": restarts}],
        },
    }


def test_scale_down_takes_unscheduled_then_not_ready_then_restarted_then_newer_pods_first():
    candidates = [
        pod("old-ready", created="2027-01-15T01:00:00Z"),
        pod("new-ready", created="2027-01-15T07:59:58Z", since="2027-01-15T07:59:59Z"),
        pod("not-ready", ready=False),
        pod("unscheduled", node=""),
        pod("restarted", restarts=3),
    ]
    order = [p["metadata"]["name"] for p in to_delete(candidates, 5, NOW)]
    assert order[:3] == ["unscheduled", "not-ready", "new-ready"]
    assert order.index("restarted") < order.index("old-ready")


def test_a_higher_pod_deletion_cost_is_kept_longer():
    cheap, dear = pod("cheap"), pod("dear")
    dear["metadata"]["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": "100"}
    assert to_delete([dear, cheap], 1, NOW)[0]["metadata"]["name"] == "cheap"


def test_replica_set_status_counts_active_labelled_ready_and_available_pods():
    rs = {
        "metadata": {"generation": 3},
        "spec": {"template": {"metadata": {"labels": {"app": "web"}}}, "minReadySeconds": 30},
    }
    terminating = pod("gone")
    terminating["metadata"]["deletionTimestamp"] = "2027-01-15T08:00:00Z"
    fresh = pod("fresh", since="2027-01-15T07:59:50Z")
    status, later = replica_set_status(rs, [pod("a"), pod("b", ready=False), fresh, terminating], NOW)
    assert status == {
        "replicas": 3,
        "fullyLabeledReplicas": 3,
        "readyReplicas": 2,
        "availableReplicas": 1,
        "observedGeneration": 3,
    }
    assert later == NOW + 20, "the fresh pod becomes available after minReadySeconds"


def test_a_pod_from_a_template_is_named_as_the_replica_set_controller_names_it():
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web-5fc978f5bd", "namespace": "default", "uid": "rs-1"},
        "spec": {
            "template": {
                "metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}},
                "spec": {"containers": [{"name": "c"}]},
            }
        },
    }
    created = pods.from_template(rs)
    name = created["metadata"]["name"]
    assert name.startswith("web-5fc978f5bd-") and pods.is_suffix(name.rsplit("-", 1)[1])
    assert set(name.rsplit("-", 1)[1]) <= set(SAFE_ALPHABET)
    assert created["metadata"]["generateName"] == "web-5fc978f5bd-"
    assert created["metadata"]["annotations"] == {"a": "b"}
    assert pods.controller_of(created)["uid"] == "rs-1"
    assert created["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


def test_the_qos_class_follows_requests_and_limits():
    guaranteed = {"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}
    burstable = {"containers": [{"resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}}}]}
    assert pods.qos_class(guaranteed) == "Guaranteed"
    assert pods.qos_class(burstable) == "Burstable"
    assert pods.qos_class({"containers": [{}]}) == "BestEffort"


def test_graceful_deletion_sets_the_deadline_and_only_ever_shortens_it():
    now = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    marked = pods.marked_for_deletion(pod("a"), 20, now)
    assert marked["metadata"]["deletionTimestamp"] == "2027-01-15T08:00:20Z"
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 20
    assert pods.marked_for_deletion(marked, 30, now) == marked
    assert pods.marked_for_deletion(marked, 0, now)["metadata"]["deletionGracePeriodSeconds"] == 0


def owned(kind: str, name: str, owner_kind: str, owner_uid: str) -> dict:
    return {
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": name,
            "ownerReferences": [{"kind": owner_kind, "uid": owner_uid, "name": "x"}],
        },
    }


def test_the_garbage_collector_takes_what_has_lost_every_owner_and_nothing_else():
    deployment = {"metadata": {"name": "d", "namespace": "default", "uid": "d"}}
    objects = {
        resources.DEPLOYMENTS: [deployment],
        resources.REPLICA_SETS: [
            owned("ReplicaSet", "kept", "Deployment", "d"),
            owned("ReplicaSet", "orphan", "Deployment", "gone"),
        ],
        resources.PODS: [
            owned("Pod", "p", "ReplicaSet", "gone-rs"),
            owned("Pod", "waits-a-pass", "ReplicaSet", "orphan"),
            owned("Pod", "foreign", "StatefulSet", "s"),
        ],
        resources.ENDPOINT_SLICES: [owned("EndpointSlice", "s", "Service", "svc-gone")],
        resources.SERVICES: [],
        resources.ENDPOINTS: [
            {
                "metadata": {
                    "name": "web",
                    "namespace": "default",
                    "labels": {"endpoints.kubernetes.io/managed-by": "endpoint-controller"},
                }
            },
            {"metadata": {"name": "by-hand", "namespace": "default"}},
        ],
    }
    collected = {(resource.plural, obj["metadata"]["name"]) for resource, obj in garbage.orphans(objects)}
    assert collected == {
        ("replicasets", "orphan"),
        ("pods", "p"),
        ("endpointslices", "s"),
        ("endpoints", "web"),
    }


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        },
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "progressDeadlineSeconds": 600,
        "revisionHistoryLimit": 10,
    },
}


def test_a_deployment_written_to_the_store_gets_its_replica_set_pods_revision_and_events():
    store = Store()
    recorder = EventRecorder(store)
    deleted = []
    store.create(resources.DEPLOYMENTS, {**DEPLOYMENT, "metadata": dict(DEPLOYMENT["metadata"])})
    Deployments(store, recorder).sync()
    ReplicaSets(store, recorder, delete_pod=deleted.append).sync()
    [rs] = store.list(resources.REPLICA_SETS)
    created = store.list(resources.PODS)
    assert rs["spec"]["replicas"] == 2 and len(created) == 2
    assert all(p["metadata"]["name"].startswith(rs["metadata"]["name"] + "-") for p in created)
    deployment = store.get(resources.DEPLOYMENTS, "default", "web")
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert deployment["metadata"]["generation"] == 1, "a status write moves no generation"
    messages = sorted(e["message"] for e in store.list(resources.EVENTS))
    assert messages[-1] == f"Scaled up replica set {rs['metadata']['name']} to 2"
    assert sum(m.startswith("Created pod: ") for m in messages) == 2


def test_a_pod_whose_labels_no_longer_match_is_released_and_replaced():
    store = Store()
    recorder = EventRecorder(store)
    store.create(resources.DEPLOYMENTS, {**DEPLOYMENT, "metadata": dict(DEPLOYMENT["metadata"])})
    Deployments(store, recorder).sync()
    controller = ReplicaSets(store, recorder, delete_pod=lambda p: None)
    controller.sync()
    relabelled = store.list(resources.PODS)[0]
    relabelled["metadata"]["labels"] = {"app": "debug"}
    store.update(resources.PODS, relabelled)
    controller.sync()
    after = store.list(resources.PODS)
    assert len(after) == 3
    assert (
        "ownerReferences"
        not in store.get(resources.PODS, "default", relabelled["metadata"]["name"])["metadata"]
    )


def _owned_tree(store: Store, finalizer: str) -> None:
    store.create(
        resources.DEPLOYMENTS,
        {
            "metadata": {
                "name": "d",
                "namespace": "default",
                "uid": "d",
                "deletionTimestamp": "2027-01-15T08:00:00Z",
                "finalizers": [finalizer],
            }
        },
    )
    rs = owned("ReplicaSet", "rs", "Deployment", "d")
    store.create(resources.REPLICA_SETS, rs)


def test_an_owner_deleted_with_propagation_orphan_leaves_its_dependents_without_the_reference():
    store = Store()
    _owned_tree(store, garbage.ORPHAN)
    garbage.GarbageCollector(store, delete_pod=lambda p: None).collect()
    assert store.get(resources.DEPLOYMENTS, "default", "d") is None
    assert "ownerReferences" not in store.get(resources.REPLICA_SETS, "default", "rs")["metadata"]


def test_an_owner_deleted_in_the_foreground_goes_once_its_dependents_are_gone():
    store = Store()
    _owned_tree(store, garbage.FOREGROUND)
    collector = garbage.GarbageCollector(store, delete_pod=lambda p: None)
    collector.collect()
    assert store.get(resources.REPLICA_SETS, "default", "rs") is None
    assert store.get(resources.DEPLOYMENTS, "default", "d") is not None, "one more pass: the owner"
    collector.collect()
    assert store.get(resources.DEPLOYMENTS, "default", "d") is None
