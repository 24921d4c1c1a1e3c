"""``kubectl apply -f`` and ``apply --server-side -f`` of the project's own manifests on an empty
sandbox, then of a changed copy: the live objects are what the same applies leave on a real
kube-apiserver, and ``kubectl diff`` finds nothing left to change."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.processes import ROOT
from tests.support.programs import require
from tests.support.sandbox import start_sandbox

pytestmark = pytest.mark.slow

KINDS = "deployment,service,serviceaccount,role,rolebinding"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _kubectl(kubeconfig: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [shutil.which("kubectl") or "kubectl", *args],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert not check or result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
    return result


def _manifests(tmp_path: Path) -> tuple[Path, Path]:
    """manifests/base rendered as one file, and a copy with the changes a user would make."""
    rendered = _kubectl(Path(os.devnull), "kustomize", str(ROOT / "manifests" / "base")).stdout
    base = tmp_path / "base.yaml"
    base.write_text(rendered)
    documents = list(yaml.safe_load_all(rendered))
    for document in documents:
        if document["kind"] == "Deployment" and document["metadata"]["name"] == "k8s-combat-service":
            document["spec"]["replicas"] = 3
            container = document["spec"]["template"]["spec"]["containers"][0]
            container["env"].append({"name": "COMBAT_LOG_LEVEL", "value": "DEBUG"})
        if document["kind"] == "Service":
            document["metadata"].setdefault("labels", {})["tier"] = "provider"
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump_all(documents))
    return base, changed


def _live(kubeconfig: Path, namespace: str) -> dict[str, dict]:
    """What a user compares: each object's spec (or rules/roleRef) and its labels/annotations."""
    listed = json.loads(_kubectl(kubeconfig, "-n", namespace, "get", KINDS, "-o", "json").stdout)["items"]
    live = {}
    for item in listed:
        metadata = item["metadata"]
        key = f"{item['kind']}/{metadata['name']}"
        if key == "ServiceAccount/default":  # made by a controller the real server here lacks
            continue
        body = {k: item[k] for k in ("spec", "rules", "roleRef", "subjects") if k in item}
        spec = body.get("spec", {})
        for allocated in ("clusterIP", "clusterIPs"):  # each cluster allocates its own
            spec.pop(allocated, None)
        body["labels"] = metadata.get("labels", {})
        body["annotations"] = annotations = dict(metadata.get("annotations", {}))
        annotations.pop("deployment.kubernetes.io/revision", None)  # the Deployment controller's
        if LAST_APPLIED in annotations:  # it names the namespace, which differs by construction
            applied = json.loads(annotations[LAST_APPLIED])
            applied["metadata"].pop("namespace", None)
            annotations[LAST_APPLIED] = applied
        live[key] = body
    return live


def _differences(ours, theirs, path: str = "") -> list[str]:
    """The paths where two JSON values differ, with both values (for a readable failure)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return [
            d
            for k in sorted(ours.keys() | theirs.keys())
            for d in _differences(ours.get(k), theirs.get(k), f"{path}.{k}")
        ]
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return [
            d
            for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
            for d in _differences(a, b, f"{path}[{i}]")
        ]
    return [] if ours == theirs else [f"{path}: sandbox {ours!r}, real {theirs!r}"]


@pytest.mark.parametrize("server_side", [False, True], ids=["client-side apply", "server-side apply"])
def test_applying_the_manifests_then_a_changed_copy_leaves_what_a_real_server_leaves(
    tmp_path, control_plane, server_side
):
    require("kubectl", "the manifests are applied with kubectl")
    base, changed = _manifests(tmp_path)
    mode = ["--server-side"] if server_side else []
    sandbox = start_sandbox(tmp_path / "cluster", "--empty")
    try:
        clusters = {
            "sandbox": (sandbox.kubeconfig, "default"),
            "real": (control_plane.kubeconfig, control_plane.namespace("apply")),
        }
        for kubeconfig, namespace in clusters.values():
            for manifest in (base, changed):
                _kubectl(kubeconfig, "-n", namespace, "apply", *mode, "-f", str(manifest))
            # Nothing left to change: kubectl diff exits 0 with no output.
            diff = _kubectl(kubeconfig, "-n", namespace, "diff", *mode, "-f", str(changed), check=False)
            assert (diff.returncode, diff.stdout) == (0, ""), diff.stdout + diff.stderr
        sandbox_live = _live(*clusters["sandbox"])
        real_live = _live(*clusters["real"])
        assert sandbox_live["Deployment/k8s-combat-service"]["spec"]["replicas"] == 3
        assert sandbox_live["Service/k8s-combat-service"]["labels"]["tier"] == "provider"
        assert _differences(sandbox_live, real_live) == []
    finally:
        sandbox.stop()
