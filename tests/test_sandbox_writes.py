"""Every write kubectl makes, with the real kubectl, against the sandbox and a real kube-apiserver.

The same commands run against both (the ``control_plane`` fixture is a genuine v1.29 API server,
in a namespace of its own); what kubectl prints is compared after masking what must differ.
kubectl apply and diff still pass ``--validate=false`` where they would download the OpenAPI
documents (another change serves them; the lead removes the flag once it has landed).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest
import yaml

from tests.support.programs import require
from tests.support.sandbox import start_sandbox

pytestmark = pytest.mark.slow
NAMESPACE = "writes"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    cluster = start_sandbox(tmp_path_factory.mktemp("sandbox-writes"))
    yield cluster
    cluster.stop()


class Kubectl:
    def __init__(self, kubeconfig, folder) -> None:
        self.program = require("kubectl", "the writes are checked with the real kubectl")
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
        self.folder = folder

    def run(self, *args: str, stdin: str | None = None, check: bool = True, env: dict | None = None):
        result = subprocess.run(
            [self.program, *args],
            env={**self.env, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check:
            assert result.returncode == 0, f"kubectl {' '.join(args)} failed:\n{result.stderr}"
        return result

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        return self.run(*args, stdin=stdin).stdout

    def file(self, name: str, manifest: dict | str) -> str:
        path = self.folder / name
        path.write_text(manifest if isinstance(manifest, str) else yaml.safe_dump(manifest))
        return str(path)


@pytest.fixture(scope="module")
def clusters(sandbox, control_plane, tmp_path_factory):
    """kubectl for the sandbox and for the real API server, each with the test namespace."""
    both = {
        "sandbox": Kubectl(sandbox.kubeconfig, tmp_path_factory.mktemp("writes-sandbox")),
        "real": Kubectl(control_plane.kubeconfig, tmp_path_factory.mktemp("writes-real")),
    }
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    for kubectl in both.values():
        kubectl("create", "-f", kubectl.file("ns.yaml", namespace))
    return both


def masked(text: str) -> str:
    text = re.sub(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "UID", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "TIME", text)
    return re.sub(r'resourceVersion: "\d+"', 'resourceVersion: "RV"', text)


def on_both(clusters, *args: str, manifest: dict | None = None, name: str = "m.yaml") -> str:
    """Run the same command on both; they must print the same (masked). Returns the output."""
    outputs = {}
    for where, kubectl in clusters.items():
        extra = ("-f", kubectl.file(name, manifest)) if manifest is not None else ()
        result = kubectl.run(*args, *extra, check=False)
        folder = str(kubectl.folder)
        outputs[where] = tuple(
            masked(text).replace(folder, "DIR") if isinstance(text, str) else text
            for text in (result.returncode, result.stdout, result.stderr)
        )
    assert outputs["sandbox"] == outputs["real"]
    return outputs["sandbox"][1]


KINDS = {
    "configmap": {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"}},
    "secret": {"apiVersion": "v1", "kind": "Secret", "stringData": {"a": "1"}},
    "serviceaccount": {"apiVersion": "v1", "kind": "ServiceAccount"},
    "service": {
        "apiVersion": "v1",
        "kind": "Service",
        "spec": {"selector": {"app": "w"}, "ports": [{"port": 80, "targetPort": 8080}]},
    },
    "endpoints": {"apiVersion": "v1", "kind": "Endpoints"},
    "endpointslice": {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.0.0.7"]}],
        "ports": [{"name": "http", "port": 80}],
    },
    "event": {
        "apiVersion": "v1",
        "kind": "Event",
        "involvedObject": {"kind": "ConfigMap", "name": "x", "namespace": NAMESPACE},
        "reason": "Tested",
        "message": "a test event",
    },
    "deployment": {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "w"}},
            "template": {
                "metadata": {"labels": {"app": "w"}},
                "spec": {"containers": [{"name": "app", "image": "k8s-combat"}]},
            },
        },
    },
    "replicaset": {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "rs"}},
            "template": {
                "metadata": {"labels": {"app": "rs"}},
                "spec": {"containers": [{"name": "app", "image": "k8s-combat"}]},
            },
        },
    },
    "role": {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    },
    "rolebinding": {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": NAMESPACE}],
    },
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_create_get_label_replace_and_delete_each_kind_as_the_real_server_does(clusters, kind):
    name = f"w-{kind}"
    manifest = {**KINDS[kind], "metadata": {"name": name, "namespace": NAMESPACE}}
    assert on_both(clusters, "create", manifest=manifest).strip().endswith(f"/{name} created")
    assert on_both(clusters, "create", manifest=manifest) == ""  # AlreadyExists, same error
    on_both(clusters, "-n", NAMESPACE, "get", kind, name, "-o", "name")
    on_both(clusters, "-n", NAMESPACE, "label", kind, name, "tier=first")
    on_both(clusters, "-n", NAMESPACE, "annotate", kind, name, "note=hello")
    labelled = {**manifest, "metadata": {**manifest["metadata"], "labels": {"tier": "second"}}}
    assert on_both(clusters, "replace", manifest=labelled).strip().endswith(f"/{name} replaced")
    for kubectl in clusters.values():
        got = json.loads(kubectl("-n", NAMESPACE, "get", kind, name, "-o", "json"))
        assert got["metadata"]["labels"] == {"tier": "second"}, "replace sets the labels it is given"
    assert on_both(clusters, "-n", NAMESPACE, "delete", kind, name).strip().endswith(f'"{name}" deleted')
    on_both(clusters, "-n", NAMESPACE, "get", kind, name, "-o", "name")  # NotFound on both


def test_create_in_a_missing_namespace_is_the_real_not_found(clusters):
    manifest = {**KINDS["configmap"], "metadata": {"name": "nowhere", "namespace": "no-such-namespace"}}
    on_both(clusters, "create", manifest=manifest)


def test_the_cluster_namespaces_are_there_and_default_cannot_be_deleted(clusters):
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        on_both(clusters, "get", "namespace", name, "-o", "name")
    on_both(clusters, "delete", "namespace", "default")


def test_list_across_namespaces_finds_objects_in_every_namespace(clusters):
    manifest = {**KINDS["configmap"], "metadata": {"name": "across", "namespace": NAMESPACE}}
    on_both(clusters, "create", manifest=manifest)
    for kubectl in clusters.values():
        listed = kubectl(
            "get",
            "configmaps",
            "-A",
            "-o",
            "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {end}",
        )
        assert f"{NAMESPACE}/across" in listed.split()


@pytest.mark.parametrize(
    ("kind", "patch", "expect"),
    [
        ("strategic", '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"v2"}]}}}}', "v2"),
        ("merge", '{"spec":{"replicas":0,"template":{"metadata":{"labels":{"app":"p","x":"m"}}}}}', None),
        ("json", '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"v3"}]', "v3"),
    ],
)
def test_kubectl_patch_of_each_type_shows_in_get_yaml(clusters, kind, patch, expect):
    name = f"patch-{kind}"
    deployment = json.loads(json.dumps(KINDS["deployment"]))
    deployment["metadata"] = {"name": name, "namespace": NAMESPACE}
    deployment["spec"]["selector"]["matchLabels"] = {"app": "p"}
    deployment["spec"]["template"]["metadata"]["labels"] = {"app": "p"}
    on_both(clusters, "create", manifest=deployment)
    on_both(clusters, "-n", NAMESPACE, "patch", "deployment", name, "--type", kind, "-p", patch)
    yamls = {}
    for where, kubectl in clusters.items():
        got = yaml.safe_load(kubectl("-n", NAMESPACE, "get", "deployment", name, "-o", "yaml"))
        yamls[where] = got["spec"]["template"]
        if expect:
            assert got["spec"]["template"]["spec"]["containers"][0]["image"] == expect
    assert yamls["sandbox"]["metadata"] == yamls["real"]["metadata"]
    assert (
        yamls["sandbox"]["spec"]["containers"][0]["image"] == yamls["real"]["spec"]["containers"][0]["image"]
    )


def test_a_patch_of_an_unknown_media_type_and_a_failed_json_patch_are_refused_as_by_the_real_server(clusters):
    manifest = {**KINDS["configmap"], "metadata": {"name": "refuse", "namespace": NAMESPACE}}
    on_both(clusters, "create", manifest=manifest)
    failing = '[{"op":"test","path":"/data/a","value":"2"}]'
    on_both(clusters, "-n", NAMESPACE, "patch", "configmap", "refuse", "--type", "json", "-p", failing)


def test_edit_with_an_editor_script_changes_the_object(clusters, tmp_path):
    editor = tmp_path / "editor.py"
    editor.write_text(
        textwrap.dedent(
            """
            import sys
            path = sys.argv[-1]
            text = open(path).read()
            open(path, "w").write(text.replace("a: \\"1\\"", "a: edited"))
            """
        )
    )
    manifest = {**KINDS["configmap"], "metadata": {"name": "edited", "namespace": NAMESPACE}}
    on_both(clusters, "create", manifest=manifest)
    for kubectl in clusters.values():
        result = kubectl.run(
            "-n", NAMESPACE, "edit", "configmap", "edited", env={"EDITOR": f"{sys.executable} {editor}"}
        )
        assert result.stdout.strip() == "configmap/edited edited"
        assert kubectl("-n", NAMESPACE, "get", "configmap", "edited", "-o", "jsonpath={.data.a}") == "edited"


def test_apply_configured_then_unchanged_then_diff_is_empty_as_on_a_cluster(clusters):
    deployment = json.loads(json.dumps(KINDS["deployment"]))
    deployment["metadata"] = {"name": "applied", "namespace": NAMESPACE}
    deployment["spec"]["selector"]["matchLabels"] = {"app": "a"}
    deployment["spec"]["template"]["metadata"]["labels"] = {"app": "a"}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container.update(env=[{"name": "A", "value": "1"}], ports=[{"containerPort": 8081}])
    assert on_both(clusters, "apply", manifest=deployment).strip().endswith("created")
    container["env"] = [{"name": "A", "value": "2"}, {"name": "B", "value": "3"}]
    deployment["spec"]["replicas"] = 1
    assert on_both(clusters, "apply", manifest=deployment).strip().endswith("configured")
    assert on_both(clusters, "apply", manifest=deployment).strip().endswith("unchanged")
    _rolled_out(clusters, "applied")
    assert on_both(clusters, "diff", manifest=deployment) == ""
    del container["env"]  # client-side apply removes what it applied before and no longer does
    assert on_both(clusters, "apply", manifest=deployment).strip().endswith("configured")
    for kubectl in clusters.values():
        got = json.loads(kubectl("-n", NAMESPACE, "get", "deployment", "applied", "-o", "json"))
        assert "env" not in got["spec"]["template"]["spec"]["containers"][0]


def _rolled_out(clusters, deployment: str) -> None:
    """Wait until the sandbox's Deployment controller is done with ``deployment``. The real server
    here runs no controllers, so its status never moves; the sandbox's does, and a status that
    changes between kubectl diff's read and its dry-run would show as a difference."""
    clusters["sandbox"]("-n", NAMESPACE, "rollout", "status", f"deployment/{deployment}", "--timeout=180s")


def test_server_side_apply_then_a_conflict_then_force_as_on_a_cluster(clusters):
    deployment = json.loads(json.dumps(KINDS["deployment"]))
    deployment["metadata"] = {"name": "ssa", "namespace": NAMESPACE}
    deployment["spec"]["selector"]["matchLabels"] = {"app": "s"}
    deployment["spec"]["template"]["metadata"]["labels"] = {"app": "s"}
    assert (
        on_both(clusters, "apply", "--server-side", manifest=deployment)
        .strip()
        .endswith("serverside-applied")
    )
    deployment["spec"]["replicas"] = 2
    on_both(clusters, "apply", "--server-side", manifest=deployment)
    _rolled_out(clusters, "ssa")
    assert on_both(clusters, "diff", "--server-side", manifest=deployment) == ""
    deployment["spec"]["replicas"] = 3
    on_both(clusters, "apply", "--server-side", "--field-manager=other", manifest=deployment)  # the conflict
    on_both(
        clusters, "apply", "--server-side", "--field-manager=other", "--force-conflicts", manifest=deployment
    )
    managed = {}
    for where, kubectl in clusters.items():
        got = json.loads(
            kubectl("-n", NAMESPACE, "get", "deployment", "ssa", "-o", "json", "--show-managed-fields")
        )
        assert got["spec"]["replicas"] == 3
        managed[where] = sorted(
            (entry["manager"], entry["operation"], json.dumps(entry["fieldsV1"], sort_keys=True))
            for entry in got["metadata"]["managedFields"]
        )
    assert managed["sandbox"] == managed["real"]


def test_client_side_apply_then_server_side_apply_takes_over_without_conflicts(clusters):
    configmap = {**KINDS["configmap"], "metadata": {"name": "migrated", "namespace": NAMESPACE}}
    on_both(clusters, "apply", manifest=configmap)
    configmap["data"] = {"a": "2"}
    assert (
        on_both(clusters, "apply", "--server-side", manifest=configmap).strip().endswith("serverside-applied")
    )
    for kubectl in clusters.values():
        assert kubectl("-n", NAMESPACE, "get", "configmap", "migrated", "-o", "jsonpath={.data.a}") == "2"


def test_dry_run_server_writes_nothing(clusters):
    configmap = {**KINDS["configmap"], "metadata": {"name": "dry", "namespace": NAMESPACE}}
    assert (
        on_both(clusters, "create", "--dry-run=server", manifest=configmap)
        .strip()
        .endswith("(server dry run)")
    )
    on_both(clusters, "-n", NAMESPACE, "get", "configmap", "dry", "-o", "name")  # NotFound on both
