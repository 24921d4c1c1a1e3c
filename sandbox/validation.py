"""Validation, as the real API server does it: ``422 Invalid`` with the fields named.

``check(resource, obj, old=None)`` raises ``ApiError(422, "Invalid", ...)`` whose Status
``details.causes`` list each problem as the API server does (``reason`` ``FieldValueRequired``,
``FieldValueInvalid``, ``FieldValueNotSupported``..., ``field`` such as ``spec.replicas``,
``message``), or returns when ``obj`` is valid. ``old`` is the stored object on update, for the
immutable fields (a Deployment's ``spec.selector``, a Service's ``spec.clusterIP``...).
Called after defaulting, on create, replace, patch and apply.
"""

from __future__ import annotations

from sandbox.resources import Resource


def check(resource: Resource, obj: dict, old: dict | None = None) -> None:
    """Raise ``ApiError`` 422 naming every invalid field of ``obj``; return when it is valid."""
