"""The sandbox starts with what ``manifests/base`` declares: the same Deployments and Service,
stored as ``kubectl apply`` would store them (defaulted, in the ``default`` namespace); the
controllers then do the rest. ``--empty`` skips this: the user applies them."""

from __future__ import annotations

from pathlib import Path

import yaml

from sandbox import defaulting, objects, resources
from sandbox.store import Store

BASE = Path(__file__).resolve().parents[1] / "manifests" / "base"
KINDS = {"Deployment": resources.DEPLOYMENTS, "Service": resources.SERVICES}


def load(base: Path = BASE) -> list[dict]:
    documents: list[dict] = []
    for name in ("deployment.yaml", "deployment-service.yaml"):
        with open(base / name) as stream:
            documents += [document for document in yaml.safe_load_all(stream) if document]
    return documents


def of_kind(documents: list[dict], kind: str) -> list[dict]:
    return [document for document in documents if document["kind"] == kind]


def create(store: Store, documents: list[dict]) -> None:
    """Store each Deployment and Service of ``documents``, defaulted as the API server does."""
    for document in documents:
        resource = KINDS.get(document["kind"])
        if resource is None:
            continue
        document["metadata"].setdefault("namespace", objects.NAMESPACE)
        defaulting.apply_defaults(resource, document)
        store.create(resource, document)
