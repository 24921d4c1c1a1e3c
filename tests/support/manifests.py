"""The kustomize manifests as the tests read them: rendered with kubectl's kustomize."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.support.programs import require

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_VERSIONS = ["1.30.0", "1.34.0"]


def render(target: str) -> list[dict]:
    kubectl = require("kubectl", "it renders the kustomize manifests")
    output = subprocess.run(
        [kubectl, "kustomize", str(ROOT / target)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return [document for document in yaml.safe_load_all(output) if document]


def find(documents: list[dict], kind: str, name: str) -> dict:
    matches = [d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}"
    return matches[0]


SECOND = "manifests/overlays/second-namespace"
DASHBOARD_NAMESPACE, SECOND_NAMESPACE = "k8s-combat", "k8s-combat-b"  # pinned by the overlay
SCALE_OUT = "manifests/overlays/scale-out"
SCALE_OUT_SECRET = "k8s-combat-scale-out"  # the user creates it: its URLs hold passwords


def env_of(deployment: dict) -> dict[str, object]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}
