"""The object a BOOKMARK event carries, as a real API server sends it.

The watch cache sends an empty object of the watched kind with only ``metadata.resourceVersion``
set, encoded like any other: Go's zero value of the kind (``sandbox.zero_objects``).
"""

from __future__ import annotations

from typing import Any

from sandbox.resources import Resource
from sandbox.zero_objects import zero_body


def bookmark_object(resource: Resource, version: int, annotations: dict[str, str] | None = None) -> dict:
    metadata: dict[str, Any] = {"resourceVersion": str(version), "creationTimestamp": None}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "kind": resource.kind,
        "apiVersion": resource.api_version,
        "metadata": metadata,
        **zero_body(resource),
    }
