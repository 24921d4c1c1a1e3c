"""Malformed input for every parser of outside input: the issue's examples and Hypothesis strategies.

``DONE_WHEN`` holds the inputs named in the issue (text is sent as a text frame or UTF-8 body,
bytes as a binary frame or raw body). The strategies build deeply nested (up to 3000 levels),
very wide, non-UTF-8, not-a-number and escape-heavy input as bytes; they are cheap to draw however
big the input, because Hypothesis draws a shape (a depth, a width, a pattern) and the text is
built from it.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

DONE_WHEN: dict[str, str | bytes] = {
    "a 2000-deep nested array": "[" * 2000 + "]" * 2000,
    "a 2000-deep nested object": '{"a":' * 2000 + "1" + "}" * 2000,
    "a 1 MB string": json.dumps("x" * 1_000_000),
    "invalid UTF-8": b'{"type":"run.start","mode":"\xff\xfe"}',
    "NaN": '{"type":"run.start","rate":NaN}',
    "1e999": '{"type":"run.start","rate":1e999}',
}


def as_bytes(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


_OPENERS = {"[": "]", '{"a":': "}", '[1,{"b":[': "]}]", '{"c":[0,': "]}"}
_LEAVES = ["1", '"x"', "null", "[]", "{}", "-0.5e3", '"[{\\"]"']


@st.composite
def deeply_nested(draw, max_depth: int = 3000) -> bytes:
    """Arrays and objects nested 1 to ``max_depth`` deep, closed or left open (not JSON then)."""
    depth = draw(st.integers(1, max_depth))
    pattern = draw(st.lists(st.sampled_from(sorted(_OPENERS)), min_size=1, max_size=4))
    openers = [pattern[i % len(pattern)] for i in range(depth)]
    closers = "".join(_OPENERS[opener] for opener in reversed(openers))
    if not draw(st.booleans()):
        closers = closers[: draw(st.integers(0, len(closers)))]
    return ("".join(openers) + draw(st.sampled_from(_LEAVES)) + closers).encode()


@st.composite
def very_wide(draw, max_width: int = 20_000) -> bytes:
    """An array or object of 1 to ``max_width`` members, each a small value."""
    width = draw(st.integers(1, max_width))
    leaf = draw(st.sampled_from(_LEAVES))
    if draw(st.booleans()):
        return ("[" + ",".join([leaf] * width) + "]").encode()
    return ("{" + ",".join(f'"k{i}":{leaf}' for i in range(width)) + "}").encode()


# Bytes no UTF-8 text holds: stray continuation bytes, overlong forms, UTF-16 surrogates
# encoded as UTF-8, code points past U+10FFFF, truncated sequences.
_NOT_UTF8 = [
    b"\x80",
    b"\xbf",
    b"\xc0\xaf",
    b"\xc1\xbf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xff",
    b"\xe2\x82",
]


@st.composite
def not_utf8(draw) -> bytes:
    """JSON text (or any bytes) with bytes that are not UTF-8 put in, or UTF-16/32 encodings."""
    text = draw(st.sampled_from(['{"type":"resync"}', '{"count":1}', '["a","b"]', '"x"', "{}"]))
    if draw(st.integers(0, 4)) == 0:
        return text.encode(draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32", "utf-32-be"])))
    raw = text.encode()
    at = draw(st.integers(0, len(raw)))
    return raw[:at] + draw(st.sampled_from(_NOT_UTF8)) + raw[at:]


def not_numbers() -> st.SearchStrategy[bytes]:
    """Non-standard constants and numbers that overflow a float, where a value goes."""
    number = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1E400", "123456789e999"])
    shape = st.sampled_from(['{{"rate":{}}}', "[{}]", "{}", '{{"spec":{{"replicas":{}}}}}'])
    return st.builds(lambda s, n: s.format(n).encode(), shape, number)


def escaped_quotes(max_count: int = 50_000) -> st.SearchStrategy[bytes]:
    """A string of escaped quotes, closed or not: a scan that retried per quote would be quadratic."""
    return st.builds(
        lambda opener, count, tail: (opener + '\\"' * count + tail).encode(),
        st.sampled_from(['"', '["', '{"a":"']),
        st.integers(1, max_count),
        st.sampled_from(["", "\\", '"', '"]']),
    )


def malformed(*, max_depth: int = 3000, max_width: int = 20_000) -> st.SearchStrategy[bytes]:
    """Any of the above, or a few random bytes."""
    return st.one_of(
        deeply_nested(max_depth),
        very_wide(max_width),
        not_utf8(),
        not_numbers(),
        escaped_quotes(max_width),
        st.binary(max_size=64),
    )
