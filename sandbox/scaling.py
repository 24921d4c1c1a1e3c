"""The ``scale`` subresource's writes: patches in the three media types kubectl and clients
send, and the validation that answers 422 Invalid as the API server does."""

from __future__ import annotations

import json

from sandbox.wire import ApiError, Request


def patched(current: dict, request: Request) -> dict:
    kind = request.headers.get(b"content-type", b"").split(b";")[0].strip()
    if kind in (b"application/merge-patch+json", b"application/strategic-merge-patch+json"):
        patch = request.json_body()
        return {**current, "spec": {**current["spec"], **(patch.get("spec") or {})}}
    if kind == b"application/json-patch+json":
        try:
            operations = json.loads(request.body)
        except ValueError:
            raise ApiError(400, "BadRequest", "the JSON patch is not valid JSON") from None
        result = json.loads(json.dumps(current))
        for operation in operations if isinstance(operations, list) else []:
            if operation.get("op") in ("replace", "add") and operation.get("path") == "/spec/replicas":
                result["spec"]["replicas"] = operation.get("value")
            else:
                raise ApiError(422, "Invalid", f"unsupported JSON patch operation: {operation}")
        return result
    raise ApiError(
        415, "UnsupportedMediaType", f"the media type {kind.decode()!r} is not supported for patch"
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
