"""The sandbox runs what ``manifests/base`` declares: the same Deployments and Service."""

from __future__ import annotations

from pathlib import Path

import yaml

BASE = Path(__file__).resolve().parents[1] / "manifests" / "base"


def load(base: Path = BASE) -> list[dict]:
    documents: list[dict] = []
    for name in ("deployment.yaml", "deployment-service.yaml"):
        with open(base / name) as stream:
            documents += [document for document in yaml.safe_load_all(stream) if document]
    return documents


def of_kind(documents: list[dict], kind: str) -> list[dict]:
    return [document for document in documents if document["kind"] == kind]
