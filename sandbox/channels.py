"""The remote-command channel protocol of ``kubectl exec`` (``v5.channel.k8s.io``), on bytes.

client-go ``tools/remotecommand`` (``websocket.go``, ``v4.go``) and apimachinery
``util/remotecommand``: every binary WebSocket message starts with a channel byte, 0 stdin,
1 stdout, 2 stderr, 3 error, 4 resize. The client sends stdin, terminal sizes as JSON
(``{"Width":80,"Height":24}``, one object a line) and, in v5 only, ``[255, 0]`` when its stdin
has ended. The server sends the output, then on channel 3 a ``Status`` (``Success``;
``NonZeroExitCode`` with the code as a cause of type ``ExitCode``; ``InternalError`` when the
command could not start), then closes the WebSocket: the client takes the end of the connection
as the end of every stream. v4 is the same without the close signal.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl

from sandbox.wire import ApiError

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def frame(channel: int, data: bytes) -> bytes:
    return bytes([channel]) + data


def split(message: bytes) -> tuple[int, bytes]:
    if not message:
        raise ValueError("an empty message has no channel")
    return message[0], message[1:]


def success_status() -> bytes:
    return json.dumps({"metadata": {}, "status": "Success"}).encode()


def exit_status(code: int) -> bytes:
    """What the kubelet writes for a command that exited with ``code`` (a signal: 128 + it)."""
    if code == 0:
        return success_status()
    code = 128 - code if code < 0 else code
    return json.dumps(
        {
            "metadata": {},
            "status": "Failure",
            "message": f"command terminated with non-zero exit code: exit status {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
        }
    ).encode()


def internal_error(message: str) -> bytes:
    return json.dumps(
        {
            "metadata": {},
            "status": "Failure",
            "message": f"Internal error occurred: {message}",
            "reason": "InternalError",
            "details": {"causes": [{"message": message}]},
            "code": 500,
        }
    ).encode()


def terminal_sizes(payload: bytes) -> list[tuple[int, int]]:
    """The ``(width, height)`` pairs in a resize message (one JSON object per line); bad ones skipped."""
    sizes = []
    for line in payload.splitlines():
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            size = json.loads(line)
            width, height = int(size["Width"]), int(size["Height"])
            if 0 <= width < 65536 and 0 <= height < 65536:
                sizes.append((width, height))
    return sizes


@dataclass
class ExecOptions:
    command: list[str]
    container: str | None
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool


def exec_options(raw_query: bytes) -> ExecOptions:
    pairs = parse_qsl(raw_query.decode("utf-8", "replace"), keep_blank_values=True)
    single = dict(pairs)

    def flag(name: str) -> bool:
        return single.get(name, "").lower() in ("true", "1")

    options = ExecOptions(
        [value for key, value in pairs if key == "command"],
        single.get("container") or None,
        flag("stdin"),
        flag("stdout"),
        flag("stderr"),
        flag("tty"),
    )
    if not options.command:
        raise ApiError(400, "BadRequest", "you must specify at least 1 command")
    if not (options.stdin or options.stdout or options.stderr):
        raise ApiError(400, "BadRequest", "you must specify at least 1 of stdin, stdout, stderr")
    return options
