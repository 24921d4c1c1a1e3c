"""The exec channel protocol (sandbox.channels) on bytes, as client-go decodes it."""

from __future__ import annotations

import json

import pytest

from sandbox import channels as rc
from sandbox.wire import ApiError


def test_every_message_starts_with_its_channel_byte():
    assert rc.frame(rc.STDOUT, b"hi\n") == b"\x01hi\n"
    assert rc.split(b"\x00typed") == (rc.STDIN, b"typed")
    assert rc.split(b"\xff\x00") == (rc.CLOSE, b"\x00")  # v5: the client's stdin has ended
    with pytest.raises(ValueError):
        rc.split(b"")


def test_a_zero_exit_is_a_success_status():
    assert json.loads(rc.exit_status(0)) == {"metadata": {}, "status": "Success"}


def test_a_non_zero_exit_is_the_status_client_go_turns_into_the_exit_code():
    status = json.loads(rc.exit_status(3))
    assert status["status"] == "Failure"
    assert status["reason"] == "NonZeroExitCode"
    # client-go's errorDecoderV4 reads the code from the cause of type ExitCode ("reason" in JSON).
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]


def test_a_command_killed_by_a_signal_exits_with_128_plus_the_signal():
    assert json.loads(rc.exit_status(-9))["details"]["causes"][0]["message"] == "137"


def test_a_command_that_cannot_start_is_an_internal_error_with_its_message():
    status = json.loads(rc.internal_error('exec: "nope": executable file not found in $PATH'))
    assert (status["status"], status["reason"], status["code"]) == ("Failure", "InternalError", 500)
    assert status["message"] == 'Internal error occurred: exec: "nope": executable file not found in $PATH'


def test_resize_messages_are_json_sizes_one_a_line():
    assert rc.terminal_sizes(b'{"Width":80,"Height":24}\n') == [(80, 24)]
    assert rc.terminal_sizes(b'{"Width":100,"Height":30}\n{"Width":120,"Height":40}\n') == [
        (100, 30),
        (120, 40),
    ]
    assert rc.terminal_sizes(b'not json\n{"Width":-1,"Height":5}\n{"Width":"x"}') == []


def test_the_exec_query_keeps_every_command_argument_in_order():
    options = rc.exec_options(
        b"command=sh&command=-c&command=exit+3&container=k8s-combat&stdin=true&stdout=true&tty=false"
    )
    assert options.command == ["sh", "-c", "exit 3"]
    assert (options.container, options.stdin, options.stdout, options.stderr, options.tty) == (
        "k8s-combat",
        True,
        True,
        False,
        False,
    )


@pytest.mark.parametrize("query", [b"stdout=true", b"command=ls"])
def test_an_exec_without_a_command_or_any_stream_is_a_bad_request(query):
    with pytest.raises(ApiError) as raised:
        rc.exec_options(query)
    assert raised.value.code == 400
