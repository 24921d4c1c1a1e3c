"""The ``scale`` subresource's writes: patches in the three media types kubectl and clients
send, and the validation that answers 422 Invalid as the API server does."""

from __future__ import annotations

import json

from sandbox.wire import ApiError, Request


def objects_only(body: dict, *fields: str) -> dict:
    """``body``, checked that each of ``fields`` is an object when given: else 400 BadRequest."""
    for name in fields:
        if body.get(name) is not None and not isinstance(body[name], dict):
            raise ApiError(400, "BadRequest", f"{name} must be an object, got {type(body[name]).__name__}")
    return body


def patched(current: dict, request: Request) -> dict:
    """``current`` (a Scale) with the request's patch applied; 400/415/422 as the API server.

    The body is read by ``Request.json_value`` (bounded: size, depth, UTF-8, finite numbers).
    """
    kind = request.headers.get(b"content-type", b"").split(b";")[0].strip()
    if kind in (b"application/merge-patch+json", b"application/strategic-merge-patch+json"):
        patch = objects_only(request.json_body(), "spec")
        return {**current, "spec": {**current["spec"], **(patch.get("spec") or {})}}
    if kind == b"application/json-patch+json":
        operations = request.json_value()
        if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
            raise ApiError(400, "BadRequest", "error decoding patch: a JSON patch is a list of operations")
        result = json.loads(json.dumps(current))
        for operation in operations:
            if operation.get("op") in ("replace", "add") and operation.get("path") == "/spec/replicas":
                result["spec"]["replicas"] = operation.get("value")
            else:
                raise ApiError(422, "Invalid", f"unsupported JSON patch operation: {operation}"[:300])
        return result
    raise ApiError(
        415,
        "UnsupportedMediaType",
        f"the media type {kind.decode(errors='replace')!r} is not supported for patch",
    )


def check_replicas(name: str, replicas: object, *, limit: int) -> int:
    if isinstance(replicas, int) and not isinstance(replicas, bool) and 0 <= replicas <= limit:
        return replicas
    if isinstance(replicas, int) and replicas < 0:
        detail = "must be greater than or equal to 0"
    elif isinstance(replicas, int):
        detail = f"must be no more than {limit} in the sandbox"
    else:
        detail = "must be a whole number"
    invalid = f"Invalid value: {json.dumps(replicas)}: {detail}"
    error = ApiError(
        422,
        "Invalid",
        f'Scale.autoscaling "{name}" is invalid: spec.replicas: {invalid}',
        name=name,
        kind="Scale",
        group="autoscaling",
    )
    error.body["details"]["causes"] = [
        {"reason": "FieldValueInvalid", "message": invalid, "field": "spec.replicas"}
    ]
    raise error
