"""A command run in a pod for ``kubectl exec``, its streams relayed over the exec channels.

It runs as the pod's container would run it in the sandbox: the pod's environment variables and
working directory, in a session of its own, on pipes or, with ``tty=true``, on a pseudo-terminal
(resized on request), killed with everything it started when the client leaves or the pod's
container stops. Output is read as it comes; stdin is fed by a task of its own, so a command that
does not read it never holds up the WebSocket (nor uvicorn's keepalive pongs behind it).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import os
import signal
import struct
import subprocess
import termios

from sandbox import streaming
from sandbox.channels import (
    CLOSE,
    ERROR,
    RESIZE,
    STDERR,
    STDIN,
    STDOUT,
    ExecOptions,
    exit_status,
    frame,
    split,
    terminal_sizes,
)
from sandbox.kubelet import ROOT

READ_BYTES = 32 * 1024  # client-go's websocket buffer size
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here, not in the child between fork and exec
PR_SET_PDEATHSIG = 1


def _child_setup(terminal: int | None):
    """Runs in the child between fork and exec. uvloop calls it straight after the fork (before
    its own setsid and dup2s), asyncio's default loop after them: so, with a terminal, make the
    new session here and take the terminal by its own descriptor, which both have open."""

    def setup() -> None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if terminal is not None:
            os.setsid()
            fcntl.ioctl(terminal, termios.TIOCSCTTY, 0)

    return setup


class Command:
    """The started command and its streams: pipes, or the master side of a pseudo-terminal."""

    def __init__(self, process: asyncio.subprocess.Process, options: ExecOptions, master: int | None) -> None:
        self.process, self.options, self.master = process, options, master
        self._stdin: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=256)

    @classmethod
    async def start(cls, options: ExecOptions, env: dict[str, str], size: tuple[int, int] | None) -> Command:
        """Start it; ``size`` is the terminal's ``(width, height)`` when there is one."""
        master = slave = None
        if options.tty:
            master, slave = os.openpty()
            if size is not None:
                _resize(master, *size)
            streams = {"stdin": slave, "stdout": slave, "stderr": slave}
        else:
            pipe, null = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
            streams = {
                "stdin": pipe if options.stdin else null,
                "stdout": pipe if options.stdout else null,
                "stderr": pipe if options.stderr else null,
            }
        try:
            process = await asyncio.create_subprocess_exec(
                *options.command,
                **streams,
                cwd=ROOT,
                env=env,
                start_new_session=slave is None,
                preexec_fn=_child_setup(slave),
            )
        except (OSError, subprocess.SubprocessError):
            if master is not None:
                os.close(master)
            raise
        finally:
            if slave is not None:
                os.close(slave)
        if master is not None:
            os.set_blocking(master, False)
        return cls(process, options, master)

    async def relay(self, socket: streaming.WebSocket, *, alive, early: list[bytes]) -> None:
        """Streams both ways until the command exits; then its status, on the error channel.
        ``early`` are the messages the client sent before the command started."""
        if self.master is not None:
            outputs = [self._pump_terminal(socket)] if self.options.stdout else []
        else:
            outputs = [self._pump(stream, channel, socket) for stream, channel in self._outputs()]
        pumps = [asyncio.ensure_future(output) for output in outputs]
        helpers = [self._receive(socket, early), self._feed_stdin(), self._watch(alive)]
        helpers = [asyncio.ensure_future(helper) for helper in helpers]
        try:
            code = await self.process.wait()
            await asyncio.gather(*pumps)
        finally:
            for task in pumps + helpers:
                task.cancel()
            if self.process.returncode is None:
                self.kill()
            await asyncio.gather(*pumps, *helpers, return_exceptions=True)  # before the fd closes
            if self.master is not None:
                os.close(self.master)
        await socket.send(frame(ERROR, exit_status(code)))

    def _outputs(self):
        for stream, channel in ((self.process.stdout, STDOUT), (self.process.stderr, STDERR)):
            if stream is not None:
                yield stream, channel

    @staticmethod
    async def _pump(stream: asyncio.StreamReader, channel: int, socket: streaming.WebSocket) -> None:
        while data := await stream.read(READ_BYTES):
            await socket.send(frame(channel, data))

    async def _pump_terminal(self, socket: streaming.WebSocket) -> None:
        loop, readable = asyncio.get_running_loop(), asyncio.Event()
        loop.add_reader(self.master, readable.set)
        try:
            while True:
                await readable.wait()
                readable.clear()
                try:
                    data = os.read(self.master, READ_BYTES)
                except BlockingIOError:
                    continue
                except OSError:  # EIO: nothing holds the terminal's other side any more
                    return
                if not data:
                    return
                await socket.send(frame(STDOUT, data))
        finally:
            loop.remove_reader(self.master)

    async def _receive(self, socket: streaming.WebSocket, early: list[bytes]) -> None:
        for message in early:
            await self._take(message)
        while (message := await socket.receive()) is not None:
            await self._take(message)
        self.kill()  # the client is gone: so is the session

    async def _take(self, message: bytes) -> None:
        if not message:
            return
        channel, payload = split(message)
        if channel == STDIN and self.options.stdin:
            await self._stdin.put(payload)  # waits only when 8 MiB are queued
        elif channel == RESIZE and self.master is not None:
            for width, height in terminal_sizes(payload):
                _resize(self.master, width, height)
        elif channel == CLOSE and payload[:1] == bytes([STDIN]):
            await self._stdin.put(None)

    async def _feed_stdin(self) -> None:
        """Stdin in its own task, so a command that does not read it never stops the receiving
        (uvicorn reads the socket, pongs included, only as fast as the app takes messages)."""
        while (data := await self._stdin.get()) is not None:
            await self._write(data)
        await self._close_stdin()

    async def _write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):  # the command has exited or closed its stdin
            if self.master is not None:
                while data:
                    try:
                        data = data[os.write(self.master, data) :]
                    except BlockingIOError:
                        await asyncio.sleep(0.01)
            elif self.process.stdin is not None:
                self.process.stdin.write(data)
                await self.process.stdin.drain()

    async def _close_stdin(self) -> None:
        if self.master is not None:
            await self._write(b"\x04")  # end-of-file, as a terminal's Ctrl-D
        elif self.process.stdin is not None:
            self.process.stdin.close()

    async def _watch(self, alive) -> None:
        while alive():  # noqa: ASYNC110 - the pod's state has no event to wait on
            await asyncio.sleep(0.5)
        self.kill()  # the container stopped: so does everything that ran in it

    def kill(self) -> None:
        """The command and whatever it started (its session's process group)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


def _resize(terminal: int, width: int, height: int) -> None:
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
