"""The patch types and server-side apply's field sets, as pure functions on plain dicts."""

from __future__ import annotations

import pytest

from sandbox import applying, fieldsets, merge_schema, patching, resources

DEPLOYMENT = merge_schema.root(resources.DEPLOYMENTS)
POD = merge_schema.root(resources.PODS)


def deployment(**container) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "nginx", **container}]},
            },
        },
    }


def test_merge_patch_merges_objects_deletes_nulls_and_replaces_lists():
    target = {"a": {"b": 1, "c": 2}, "l": [1, 2]}
    assert patching.merge_patch(target, {"a": {"b": None, "d": 3}, "l": [3]}) == {
        "a": {"c": 2, "d": 3},
        "l": [3],
    }
    assert target == {"a": {"b": 1, "c": 2}, "l": [1, 2]}, "the target is not changed in place"


def test_json_patch_applies_operations_and_refuses_a_failed_test():
    target = {"data": {"a": "1"}}
    assert patching.json_patch(target, [{"op": "add", "path": "/data/b", "value": "2"}]) == {
        "data": {"a": "1", "b": "2"}
    }
    with pytest.raises(patching.PatchError):
        patching.json_patch(target, [{"op": "test", "path": "/data/a", "value": "2"}])
    with pytest.raises(patching.PatchError):
        patching.json_patch(target, [{"op": "remove", "path": "/data/zz"}])


def test_strategic_merge_patch_merges_containers_by_name_and_env_by_name():
    original = deployment(env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "app", "env": [{"name": "B", "value": "3"}]}]}}
        }
    }
    patched = patching.strategic_merge_patch(original, patch, DEPLOYMENT)
    container = patched["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx"
    assert container["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]


def test_strategic_merge_patch_adds_a_container_and_keeps_the_order_asked_for():
    original = deployment()
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "side"}, {"name": "app"}],
                    "containers": [{"name": "side", "image": "busybox"}],
                }
            }
        }
    }
    patched = patching.strategic_merge_patch(original, patch, DEPLOYMENT)
    assert [c["name"] for c in patched["spec"]["template"]["spec"]["containers"]] == ["side", "app"]


def test_strategic_merge_patch_directives_delete_replace_and_primitive_lists():
    original = {
        "metadata": {"name": "p", "finalizers": ["a", "b"]},
        "spec": {"containers": [{"name": "x", "image": "1"}, {"name": "y", "image": "2"}]},
    }
    deleted = patching.strategic_merge_patch(
        original, {"spec": {"containers": [{"name": "x", "$patch": "delete"}]}}, POD
    )
    assert [c["name"] for c in deleted["spec"]["containers"]] == ["y"]
    replaced = patching.strategic_merge_patch(
        original, {"spec": {"containers": [{"name": "z", "image": "3"}, {"$patch": "replace"}]}}, POD
    )
    assert replaced["spec"]["containers"] == [{"name": "z", "image": "3"}]
    pruned = patching.strategic_merge_patch(
        original, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}, POD
    )
    assert pruned["metadata"]["finalizers"] == ["b"]
    merged = patching.strategic_merge_patch(original, {"metadata": {"finalizers": ["c"]}}, POD)
    assert sorted(merged["metadata"]["finalizers"]) == ["a", "b", "c"]


def test_strategic_merge_patch_retain_keys_clears_the_other_strategy_fields():
    original = deployment()
    original["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert patching.strategic_merge_patch(original, patch, DEPLOYMENT)["spec"]["strategy"] == {
        "type": "Recreate"
    }


def test_strategic_merge_patch_replaces_lists_that_do_not_merge():
    original = deployment(args=["a", "b"])
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "args": ["c"]}]}}}}
    patched = patching.strategic_merge_patch(original, patch, DEPLOYMENT)
    assert patched["spec"]["template"]["spec"]["containers"][0]["args"] == ["c"]


def test_field_sets_round_trip_through_fields_v1_with_list_keys():
    obj = deployment(ports=[{"containerPort": 80}])
    paths = fieldsets.to_field_set(obj, DEPLOYMENT)
    trie = fieldsets.to_fields_v1(paths)
    container = trie["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    assert container["."] == {}
    assert 'k:{"containerPort":80,"protocol":"TCP"}' in container["f:ports"]
    assert fieldsets.from_fields_v1(trie) == paths


def test_a_create_is_owned_by_its_manager_and_a_label_by_kubectl_label():
    created = applying.track_update(resources.DEPLOYMENTS, None, deployment(), "kubectl-create", "T1")
    labelled = {**created, "metadata": {**created["metadata"], "labels": {"tier": "web"}}}
    updated = applying.track_update(resources.DEPLOYMENTS, created, labelled, "kubectl-label", "T2")
    managers = {entry["manager"]: entry["fieldsV1"] for entry in updated["metadata"]["managedFields"]}
    assert managers["kubectl-label"] == {"f:metadata": {"f:labels": {".": {}, "f:tier": {}}}}
    assert "f:replicas" in managers["kubectl-create"]["f:spec"]


def test_apply_conflicts_with_another_manager_unless_forced():
    first = applying.apply(resources.DEPLOYMENTS, None, deployment(), "alice", force=False, now="T1")
    first["metadata"].update(uid="u", creationTimestamp="T1", resourceVersion="1")
    changed = deployment()
    changed["spec"]["replicas"] = 3
    with pytest.raises(applying.Conflicts) as caught:
        applying.apply(resources.DEPLOYMENTS, first, changed, "bob", force=False, now="T2")
    error = caught.value.error()
    assert error.code == 409
    assert error.body["message"] == 'Apply failed with 1 conflict: conflict with "alice": .spec.replicas'
    forced = applying.apply(resources.DEPLOYMENTS, first, changed, "bob", force=True, now="T2")
    assert forced["spec"]["replicas"] == 3
    owners = {entry["manager"]: entry["fieldsV1"] for entry in forced["metadata"]["managedFields"]}
    assert "f:replicas" not in owners["alice"]["f:spec"]


def test_apply_removes_what_the_manager_no_longer_applies():
    with_env = deployment(env=[{"name": "A", "value": "1"}])
    first = applying.apply(resources.DEPLOYMENTS, None, with_env, "alice", force=False, now="T1")
    second = applying.apply(resources.DEPLOYMENTS, first, deployment(), "alice", force=False, now="T2")
    assert "env" not in second["spec"]["template"]["spec"]["containers"][0]
