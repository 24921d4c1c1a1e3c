"""The HTTP plumbing of the sandbox's API server: requests, JSON answers, ``Status`` errors.

Everything a request carries is read within limits and answered as the API server answers it:
a body past ``MAX_BODY_BYTES`` is 413 ``RequestEntityTooLarge``; a body that is not JSON (not
UTF-8, nested deeper than ``boundedjson.MAX_DEPTH``, ``NaN``, ``1e999``...) and a query that is
not UTF-8 or whose integers do not parse are 400 ``BadRequest``, with a ``Status`` body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from combat_app import boundedjson
from sandbox import objects

MAX_BODY_BYTES = 1 << 20  # the real API server's limit is 3 MiB; nothing the sandbox takes is near 1
MAX_QUERY_FIELDS = 100
_INTEGER = re.compile(r"[+-]?[0-9]+")
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
    # The rest of the exchange, for handlers that stream (``logs -f`` notices a client leaving).
    receive: Callable[[], Awaitable[dict[str, Any]]] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The integer options of lists and watches, refused here whatever the verb (``int()``
        # would take `` 5``, ``1_000`` and 5000 digits); a delete's only when it has no body
        # (its DeleteOptions are then the query's), as the API server reads them.
        for name in ("limit", "timeoutSeconds"):
            self.integer(name)
        if self.method == "DELETE" and not self.body:
            self.integer("gracePeriodSeconds")
        self.integer("resourceVersion", unsigned=True)

    @property
    def wants_table(self) -> bool:
        return b"as=Table" in self.headers.get(b"accept", b"")

    def json_value(self) -> Any:
        """The body as JSON, any value (an empty body is ``{}``); 400 or 413 when it is not."""
        try:
            return boundedjson.loads(self.body or b"{}", max_bytes=MAX_BODY_BYTES)
        except boundedjson.BadJson as exc:
            if exc.code == "too-large":
                raise ApiError(413, "RequestEntityTooLarge", str(exc)) from None
            raise ApiError(400, "BadRequest", f"the body of the request is not valid JSON: {exc}") from None

    def json_body(self) -> dict:
        """The body as a JSON object; any other value is 400, as for ``json_value``."""
        body = self.json_value()
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body of the request must be a JSON object")
        return body

    def integer(self, name: str, *, unsigned: bool = False) -> int | None:
        """A query parameter as the API server parses it (Go's ParseInt/ParseUint), or None.

        ``1e3``, `` 5`` and ``1_000`` are 400, and so is anything outside the 64-bit range.
        """
        text = self.query.get(name)
        if not text:  # absent or empty: not given, as for the API server
            return None
        parser = "ParseUint" if unsigned else "ParseInt"
        low, high = (0, 2**64 - 1) if unsigned else (-(2**63), 2**63 - 1)
        if not _INTEGER.fullmatch(text) or (unsigned and text[0] in "+-"):
            problem = "invalid syntax"
        elif len(text) > 21 or not low <= int(text) <= high:
            problem = "value out of range"
        else:
            return int(text)
        error = f"strconv.{parser}: parsing {json.dumps(text, ensure_ascii=False)}: {problem}"
        if name == "resourceVersion":
            # The real server's storage layer words it as a field error and answers 500 (a bug);
            # bad input is a 400 here (docs/sandbox.md, "bad-resource-version").
            error = f"resourceVersion: Invalid value: {json.dumps(text, ensure_ascii=False)}: {error}"
        raise ApiError(400, "BadRequest", error)  # as the query's decoding words it


def is_int64(value: object) -> bool:
    """A JSON integer that fits an int64 field (``true`` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def parse_query(raw: bytes) -> dict[str, str]:
    """The query string as ``{name: value}`` (the last of repeated names), UTF-8 only."""
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_QUERY_FIELDS,
        )
    except UnicodeError:
        raise ApiError(400, "BadRequest", "the query string is not UTF-8") from None
    except ValueError:
        raise ApiError(
            400, "BadRequest", f"the query string has more than {MAX_QUERY_FIELDS} fields"
        ) from None
    return dict(pairs)


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
    """405, as the API server words it (the method is not named; ``details`` is empty)."""
    error = ApiError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
    )
    error.body["details"] = {}
    return error
