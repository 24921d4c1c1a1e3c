"""JSON from outside, decoded within limits: size, nesting, UTF-8 and finite numbers.

Every parser of outside input uses ``loads``: the dashboard's websocket frames and HTTP API
bodies, and the sandbox's API server bodies. It is pure (no Django, no I/O), so the sandbox can
import it as well as the dashboard.

Python's ``json`` recurses once per nested array or object, so 2000 brackets raise
``RecursionError`` deep in the caller; and it accepts ``NaN``, ``Infinity`` and ``1e999``
(which becomes ``inf``), none of them JSON (RFC 8259). ``loads`` refuses all of these before or
while decoding, each with one error type, ``BadJson``, whose ``code`` says which rule failed:

- ``too-large``: more than ``max_bytes`` bytes of UTF-8, refused before anything is decoded;
- ``invalid-utf8``: bytes that are not UTF-8 (nor UTF-16/32 guessed from them, as ``json``
  would), or a string escape that is a lone surrogate (``"\\ud800"``), which no UTF-8 text holds;
- ``too-deep``: arrays and objects nested deeper than ``max_depth``, found by a scan that
  counts brackets outside strings (two regular expressions and a running sum, no recursion)
  before the text reaches ``json``;
- ``not-a-number``: ``NaN``, ``Infinity``, ``-Infinity``, or a number too large for a float;
- ``invalid-json``: anything else ``json`` refuses (including integers over 4300 digits).
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64  # a Kubernetes object nests about 10 deep, a dashboard command 1

# A JSON string, escapes included, or an unterminated one up to the end (as ``json`` reads it),
# and runs of characters that are not brackets: removing both leaves the brackets that nest.
# A match that starts never fails, so the scan is linear: ``"\"\"\"...`` cannot make it retry
# from every quote.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class BadJson(ValueError):
    """Input that ``loads`` refuses; ``code`` is one of the codes in the module docstring."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text``, brackets inside strings not counted.

    For text that is not JSON the count is still an upper bound of how deep ``json`` gets
    before it stops at the first error, which is all the limit needs.
    """
    brackets = _NOT_BRACKETS.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _constant(name: str) -> Any:
    raise BadJson("not-a-number", f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJson("not-a-number", f"the number {text[:40]} is too large for a float")
    return value


def _text(data: str | bytes, max_bytes: int) -> str:
    if len(data) > max_bytes:  # a character is at least one byte: too many either way
        more = "" if isinstance(data, bytes | bytearray) else " or more"
        raise BadJson("too-large", f"the JSON may hold at most {max_bytes} bytes, got {len(data)}{more}")
    if isinstance(data, str):
        try:
            size = len(data.encode("utf-8"))
        except UnicodeEncodeError:
            raise BadJson("invalid-utf8", "the text holds a lone surrogate, which is not UTF-8") from None
        if size > max_bytes:
            raise BadJson("too-large", f"the JSON may hold at most {max_bytes} bytes, got {size}")
        return data
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadJson("invalid-utf8", f"the body is not UTF-8: byte {exc.start} is invalid") from None


def loads(data: str | bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Decode one JSON value from ``data`` (UTF-8 bytes, or text), within the limits.

    Returns what ``json.loads`` returns (dict, list, str, int, float, bool or None); floats are
    always finite. Raises ``BadJson`` for anything else, never ``RecursionError``.
    """
    text = _text(data, max_bytes)
    depth = nesting_depth(text)
    if depth > max_depth:
        raise BadJson("too-deep", f"arrays and objects may nest at most {max_depth} deep, got {depth}")
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float)
    except BadJson:
        raise
    except ValueError as exc:  # JSONDecodeError, and int() refusing more than 4300 digits
        raise BadJson("invalid-json", f"not valid JSON: {exc}") from None
    if _SURROGATE_ESCAPE.search(text):  # rare: check the decoded strings only then
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BadJson("invalid-utf8", "a string escape is a lone surrogate, which is not UTF-8") from None
    return value
