"""``kubectl exec``: ``GET .../pods/NAME/exec?command=...`` as a ``v5.channel.k8s.io`` WebSocket.

The handler checks the pod and the request as the API server and kubelet do, accepts the
WebSocket with the newest channel protocol the client offers (``sandbox.channels``), starts the
command in the pod's environment (``sandbox.exec_process``) and relays it until it exits. With a
terminal it first waits (briefly) for the client's initial size, so the command starts on a
terminal of the user's size rather than resizing after its first output.
"""

from __future__ import annotations

import asyncio
import subprocess
from typing import TYPE_CHECKING

from sandbox import streaming
from sandbox.channels import ERROR, PROTOCOLS, RESIZE, exec_options, frame, internal_error, terminal_sizes
from sandbox.exec_process import Command
from sandbox.wire import ApiError, Request, Send

if TYPE_CHECKING:
    from sandbox.apiserver import ApiServer
    from sandbox.kubelet import PodRunner

INITIAL_SIZE_SECONDS = 1.0


async def serve(server: ApiServer, request: Request, send: Send, namespace: str, name: str) -> None:
    """``GET|POST /api/v1/namespaces/NS/pods/NAME/exec?command=...``."""
    socket = getattr(request, "socket", None)
    raw_query = getattr(request, "raw_query", b"")
    options = exec_options(raw_query) if socket else None
    runner = streaming.running_container(server, namespace, name, request.query.get("container"))
    if socket is None or options is None:
        raise streaming.upgrade_required()
    protocol = socket.choose(PROTOCOLS)
    if protocol is None:
        raise ApiError(400, "BadRequest", f"unable to negotiate protocol: server supports {list(PROTOCOLS)}")
    env = {**runner.env, "HOSTNAME": runner.env.get("HOSTNAME", runner.pod.name)}
    if options.tty:
        env.setdefault("TERM", "xterm")
    await socket.accept(protocol)
    size, early = await _initial_size(socket) if options.tty else (None, [])
    if socket.closed:
        return
    try:
        process = await Command.start(options, env, size)
    except (OSError, subprocess.SubprocessError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        if isinstance(exc, FileNotFoundError) and "/" not in options.command[0]:
            reason = "executable file not found in $PATH"  # as runc says it
        problem = f'exec: "{options.command[0]}": {reason}'
        await socket.send(frame(ERROR, internal_error(f"error executing command in container: {problem}")))
        return
    await process.relay(socket, alive=lambda: _alive(server, runner), early=early)


async def _initial_size(socket: streaming.WebSocket) -> tuple[tuple[int, int] | None, list[bytes]]:
    """kubectl sends the terminal's size as soon as its streams exist: wait for it (not long),
    keeping whatever else arrives first (typed-ahead stdin) for the command."""
    early: list[bytes] = []
    try:
        async with asyncio.timeout(INITIAL_SIZE_SECONDS):
            while (message := await socket.receive()) is not None:
                if message[:1] == bytes([RESIZE]) and (sizes := terminal_sizes(message[1:])):
                    return sizes[-1], early
                early.append(message)
    except TimeoutError:
        pass
    return None, early


def _alive(server: ApiServer, runner: PodRunner) -> bool:
    return server.controls.runner(runner.pod.name, runner.pod.namespace) is runner and runner.pod.running
