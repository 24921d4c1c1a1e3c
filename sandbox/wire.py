"""The HTTP plumbing of the sandbox's API server: requests, JSON answers, ``Status`` errors."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sandbox import objects

JSON = b"application/json"
TABLE_TYPE = b"application/json;as=Table;v=v1;g=meta.k8s.io"

Send = Callable[[dict[str, Any]], Awaitable[None]]


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, **details: str) -> None:
        super().__init__(message)
        self.body = objects.status(code, reason, message, **details)
        self.code = code


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[bytes, bytes]
    body: bytes

    @property
    def wants_table(self) -> bool:
        return b"as=Table" in self.headers.get(b"accept", b"")

    def json_body(self) -> dict:
        try:
            body = json.loads(self.body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, "BadRequest", f"the body of the request is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body of the request must be a JSON object")
        return body


async def send_json(
    send: Send, code: int, body: dict, content_type: bytes = JSON, extra: list[tuple[bytes, bytes]] = ()
) -> None:
    payload = json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": code,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(payload)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def not_allowed(method: str) -> ApiError:
    return ApiError(
        405, "MethodNotAllowed", f"the server does not allow this method on the requested resource ({method})"
    )
