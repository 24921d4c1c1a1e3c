"""The ReplicaSets a Deployment controller makes, as pure functions (sandbox.revisions): their
pod-template hash, names, labels, selectors, owners and revision annotations, as upstream writes
them, and which one is the new one."""

from __future__ import annotations

from sandbox import revisions
from sandbox.objects import SAFE_ALPHABET
from tests.support.deployments import OLD, deployment, template


def test_the_pod_template_hash_has_the_real_shape_and_ignores_its_own_label_and_nulls():
    hashed = revisions.template_hash(template())
    assert 6 <= len(hashed) <= 10 and set(hashed) <= set(SAFE_ALPHABET)
    same = template(**{"pod-template-hash": hashed})
    same["metadata"]["creationTimestamp"] = None
    assert revisions.template_hash(same) == hashed
    assert revisions.template_hash(template("other")) != hashed
    assert revisions.template_hash(template(), collision_count=1) != hashed


def test_a_new_replica_set_is_named_labelled_selected_owned_and_annotated_as_upstream():
    d = deployment(
        **{"kubernetes.io/change-cause": "v2", "kubectl.kubernetes.io/last-applied-configuration": "{}"}
    )
    created = revisions.new_replica_set(d, [])
    revisions.new_rs_annotations(d, created, 1, exists=False)
    hashed = created["metadata"]["name"].removeprefix("web-")
    assert created["metadata"]["labels"] == {"app": "web", "pod-template-hash": hashed}
    assert created["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": hashed}}
    assert created["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == hashed
    assert created["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "web",
            "uid": "u-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert created["metadata"]["annotations"] == {
        "kubernetes.io/change-cause": "v2",
        "deployment.kubernetes.io/revision": "1",
        "deployment.kubernetes.io/desired-replicas": "2",
        "deployment.kubernetes.io/max-replicas": "3",
    }
    assert created["spec"]["replicas"] == 2, "no old pods: the whole size at once"


def test_a_replica_set_brought_back_by_undo_gets_the_next_revision_and_keeps_its_old_one():
    """What the real controller wrote after `kubectl rollout undo`: revision 3, history "1"."""
    old = revisions.new_replica_set(deployment(), [])
    revisions.new_rs_annotations(deployment(), old, 1, exists=False)
    assert revisions.new_rs_annotations(deployment(), old, 3, exists=True)
    assert old["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert old["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert not revisions.new_rs_annotations(deployment(), old, 3, exists=True), "nothing more to change"


def test_the_new_replica_set_is_the_one_whose_template_matches_but_for_the_hash():
    old = revisions.new_replica_set(deployment(), [])
    old["metadata"].update(uid="rs-1", creationTimestamp=OLD)
    changed = deployment()
    changed["spec"]["template"] = template("k8s-combat:v2")
    assert revisions.find_new(deployment(), [old]) is old
    assert revisions.find_new(changed, [old]) is None
