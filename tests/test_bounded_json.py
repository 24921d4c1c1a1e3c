"""combat_app.boundedjson and the websocket's frame parser: malformed JSON is a typed error, never a crash."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from combat_app.boundedjson import MAX_DEPTH, BadJson, loads, nesting_depth
from dashboard.messages import MAX_FRAME_BYTES, BadCommand, parse_command
from tests.support.malformed import DONE_WHEN, as_bytes, deeply_nested, malformed, not_utf8, very_wide

SANDBOX_BYTES = 1 << 20
CODES = {"too-large", "too-deep", "invalid-utf8", "not-a-number", "invalid-json"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


def depth_of(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    return 0


# --- the issue's examples ----------------------------------------------------------------------

EXPECTED = {  # (code within the sandbox's 1 MiB, code within a dashboard frame's 4 KiB)
    "a 2000-deep nested array": ("too-deep", "too-deep"),
    "a 2000-deep nested object": ("too-deep", "too-large"),
    "a 1 MB string": (None, "too-large"),
    "invalid UTF-8": ("invalid-utf8", "invalid-utf8"),
    "NaN": ("not-a-number", "not-a-number"),
    "1e999": ("not-a-number", "not-a-number"),
}


@pytest.mark.parametrize("name", DONE_WHEN)
def test_each_example_of_the_issue_is_refused_with_its_code_as_bytes_and_as_text(name):
    for limit, expected in zip((SANDBOX_BYTES, MAX_FRAME_BYTES), EXPECTED[name], strict=True):
        for data in {as_bytes(DONE_WHEN[name]), DONE_WHEN[name]}:
            if expected is None:
                assert loads(data, max_bytes=limit) == "x" * 1_000_000
                continue
            with pytest.raises(BadJson) as refused:
                loads(data, max_bytes=limit)
            assert refused.value.code == expected, str(refused.value)


def test_a_2000_deep_object_that_fits_a_frame_is_refused_as_too_deep():
    with pytest.raises(BadJson) as refused:
        loads('{"":' * 800 + "0" + "}" * 800, max_bytes=MAX_FRAME_BYTES)
    assert refused.value.code == "too-deep"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1E400", "9e308"])
def test_constants_and_numbers_no_float_holds_are_not_numbers(constant):
    with pytest.raises(BadJson) as refused:
        loads(f'{{"rate":{constant}}}', max_bytes=100)
    assert refused.value.code == "not-a-number"


def test_a_lone_surrogate_escape_is_invalid_utf8_and_a_pair_is_a_character():
    with pytest.raises(BadJson) as refused:
        loads('["\\ud800"]', max_bytes=100)
    assert refused.value.code == "invalid-utf8"
    assert loads('["\\ud83d\\ude00", "\\\\ud800"]', max_bytes=100) == ["\U0001f600", "\\ud800"]


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"a": ["[" * 500, '\\"{' * 200, {"b": "]]]"}]})
    assert nesting_depth(text) == 3
    assert loads(text, max_bytes=SANDBOX_BYTES)["a"][0] == "[" * 500


def test_unterminated_strings_of_escaped_quotes_are_scanned_once_not_once_per_quote():
    # A scan that retried from every quote would take hours on these (quadratic): the test would hang.
    for text in ('["' + '\\"' * 100_000, '["' + '\\"' * 100_000 + "\\", ('"' + '\\"' * 50_000 + "\\") * 2):
        assert nesting_depth(text) == text.startswith("[")
        with pytest.raises(BadJson) as refused:
            loads(text, max_bytes=SANDBOX_BYTES)
        assert refused.value.code == "invalid-json"


def test_the_limits_are_inclusive():
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH, max_bytes=1000)
    assert loads(b'"' + b"x" * 98 + b'"', max_bytes=100) == "x" * 98
    with pytest.raises(BadJson, match="at most 100 bytes"):
        loads(b'"' + b"x" * 99 + b'"', max_bytes=100)
    with pytest.raises(BadJson, match="at most 100 bytes"):
        loads('"' + "é" * 50 + '"', max_bytes=100)  # 52 characters, 102 bytes


@pytest.mark.parametrize("name", DONE_WHEN)
def test_each_example_as_a_frame_is_a_bad_command_with_a_code(name):
    data = DONE_WHEN[name]
    with pytest.raises(BadCommand) as refused:
        parse_command(data)
    expected = "invalid-frame" if isinstance(data, bytes) else EXPECTED[name][1]
    assert refused.value.code == {"too-large": "frame-too-large"}.get(expected, expected)


def test_a_binary_frame_is_refused_naming_the_rule_even_when_it_holds_a_command():
    with pytest.raises(BadCommand) as refused:
        parse_command(b'{"type":"resync"}')
    assert refused.value.as_message() == {
        "type": "error",
        "code": "invalid-frame",
        "message": "send JSON text frames: binary frames are refused",
    }


# --- generated -----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_within_the_limits_decodes_as_the_json_module_decodes_it(value):
    text = json.dumps(value)
    if depth_of(value) <= MAX_DEPTH:
        assert loads(text, max_bytes=len(text.encode())) == json.loads(text)
    assert nesting_depth(text) == depth_of(value)


@settings(max_examples=300, deadline=None)
@given(deeply_nested())
def test_nesting_of_any_depth_is_decoded_or_refused_and_never_recurses_without_bound(data):
    try:
        value = loads(data, max_bytes=SANDBOX_BYTES)
    except BadJson as refused:
        assert refused.code in {"too-deep", "invalid-json"}, refused
        return
    assert depth_of(value) <= MAX_DEPTH


@settings(max_examples=100, deadline=None)
@given(very_wide())
def test_wide_arrays_and_objects_are_decoded_or_refused_for_their_size(data):
    try:
        value = loads(data, max_bytes=SANDBOX_BYTES)
    except BadJson as refused:
        assert refused.code == "too-large" and len(data) > SANDBOX_BYTES
        return
    assert len(value) >= 1


@settings(max_examples=300, deadline=None)
@given(not_utf8())
def test_bytes_that_are_not_utf8_are_refused_as_such(data):
    with pytest.raises(BadJson) as refused:
        loads(data, max_bytes=SANDBOX_BYTES)
    # UTF-16 and UTF-32 of ASCII text are valid UTF-8, with NULs in: those are not JSON.
    assert refused.value.code == ("invalid-json" if data.isascii() else "invalid-utf8")


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(malformed(), st.binary(), st.text(alphabet='[]{}",:\\ 0123456789.eE+-NaInfityu', max_size=80))
)
def test_any_input_is_a_value_or_one_typed_error(data):
    try:
        value = loads(data, max_bytes=MAX_FRAME_BYTES)
    except BadJson as refused:
        assert refused.code in CODES and str(refused)
        return
    assert not isinstance(value, float) or math.isfinite(value)
    assert depth_of(value) <= MAX_DEPTH
