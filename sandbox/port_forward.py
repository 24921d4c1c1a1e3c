"""``kubectl port-forward``: SPDY/3.1 streams inside a WebSocket, each pair one TCP connection.

kubectl 1.31+ opens ``GET .../pods/NAME/portforward`` as a WebSocket with the subprotocol
``SPDY/3.1+portforward.k8s.io`` and runs a SPDY client over its binary messages (client-go
``tools/portforward``: ``tunneling_dialer.go``, ``tunneling_connection.go``); the API server
relays those bytes to the kubelet's SPDY server unchanged, so this module plays the kubelet
(``cri/streaming/portforward/httpstream.go``). For every local connection kubectl creates an
``error`` stream and a ``data`` stream carrying the headers ``port`` and ``requestID``; each
stream is answered with SYN_REPLY. Once a request has both, the sandbox connects to the pod's
address and that port: DATA both ways, a FIN from either side half-closes, an RST ends it; when
the pod's side is done the data stream and then the error stream are closed (a failure to connect
is written on the error stream first, and kubectl gives up, as it does on a cluster). PINGs are
echoed. The session ends with the WebSocket, on GOAWAY, or when the pod's container stops.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sandbox import spdy, streaming
from sandbox.wire import ApiError, Request, Send

if TYPE_CHECKING:
    from sandbox.apiserver import ApiServer
    from sandbox.objects import PodState

PROTOCOL = "SPDY/3.1+portforward.k8s.io"
READ_BYTES = 32 * 1024


async def serve(server: ApiServer, request: Request, send: Send, namespace: str, name: str) -> None:
    """``GET|POST /api/v1/namespaces/NS/pods/NAME/portforward``."""
    socket: streaming.WebSocket | None = getattr(request, "socket", None)
    runner = streaming.running_container(server, namespace, name, None)
    if socket is None:
        raise streaming.upgrade_required()
    if socket.choose((PROTOCOL,)) is None:
        raise ApiError(400, "BadRequest", f"unable to negotiate protocol: server supports [{PROTOCOL}]")
    await socket.accept(PROTOCOL)

    def alive() -> bool:
        return server.controls.runner(name, namespace) is runner and runner.pod.running

    await Session(socket, runner.pod, alive).run()


@dataclass
class Pair:
    """One forwarded connection: its two streams and what goes to the pod."""

    request_id: str
    port: int = 0
    error_id: int = 0
    data_id: int = 0
    to_pod: asyncio.Queue = field(default_factory=asyncio.Queue)  # bytes, then None at the FIN
    task: asyncio.Task | None = None


def stream_headers(headers: spdy.Headers) -> tuple[str, int, str]:
    """``(streamtype, port, requestid)`` of a port-forward stream; ValueError if unusable."""
    kind = (headers.get("streamtype") or [""])[0]
    if kind not in ("error", "data"):
        raise ValueError(f'invalid stream type "{kind}"')
    port = int((headers.get("port") or [""])[0])
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} must be from 1 to 65535")
    return kind, port, (headers.get("requestid") or [""])[0]


class Session:
    def __init__(self, socket: streaming.WebSocket, pod: PodState, alive) -> None:
        self.socket, self.pod, self.alive = socket, pod, alive
        self.reader, self.writer = spdy.FrameReader(), spdy.FrameWriter()
        self.pairs: dict[str, Pair] = {}
        self.by_stream: dict[int, Pair] = {}
        self._sending = asyncio.Lock()  # header compression needs frames sent in encoding order

    async def _send(self, encode) -> None:
        async with self._sending:
            await self.socket.send(encode())

    async def run(self) -> None:
        watcher = asyncio.ensure_future(self._watch())
        try:
            while (message := await self.socket.receive()) is not None:
                for frame in self.reader.feed(message):
                    if frame.type == spdy.GOAWAY:
                        return
                    await self._handle(frame)
        except spdy.SpdyError:
            with contextlib.suppress(OSError):
                await self._send(lambda: self.writer.goaway(0, 1))
        finally:
            watcher.cancel()
            tasks = [pair.task for pair in self.pairs.values() if pair.task is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch(self) -> None:
        while self.alive():  # noqa: ASYNC110 - the pod's state has no event to wait on
            await asyncio.sleep(0.5)
        await self.socket.close()  # the pod is gone: kubectl says "lost connection to pod"

    async def _handle(self, frame: spdy.Frame) -> None:
        if frame.type == spdy.SYN_STREAM:
            await self._new_stream(frame)
        elif frame.type == spdy.PING:
            await self._send(lambda: self.writer.ping(frame.ping_id))
        elif frame.type in (0, spdy.RST_STREAM):
            pair = self.by_stream.get(frame.stream_id)
            if pair is None or frame.stream_id != pair.data_id:
                return  # the error stream carries nothing from the client; unknown streams are over
            if frame.type == spdy.RST_STREAM and pair.task is not None:
                pair.task.cancel()
            elif frame.type == 0:
                if frame.data:
                    pair.to_pod.put_nowait(frame.data)
                if frame.fin:
                    pair.to_pod.put_nowait(None)

    async def _new_stream(self, frame: spdy.Frame) -> None:
        try:
            kind, port, request_id = stream_headers(frame.headers)
        except ValueError:
            return await self._send(lambda: self.writer.rst_stream(frame.stream_id, spdy.PROTOCOL_ERROR))
        if not request_id:  # very old clients: the kubelet pairs stream ids n (error) and n+2 (data)
            request_id = str(frame.stream_id - (2 if kind == "data" else 0))
        pair = self.pairs.setdefault(request_id, Pair(request_id, port))
        if getattr(pair, f"{kind}_id"):
            return await self._send(lambda: self.writer.rst_stream(frame.stream_id, spdy.PROTOCOL_ERROR))
        setattr(pair, f"{kind}_id", frame.stream_id)
        self.by_stream[frame.stream_id] = pair
        await self._send(lambda: self.writer.syn_reply(frame.stream_id))
        if pair.error_id and pair.data_id:
            pair.task = asyncio.ensure_future(self._forward(pair))

    async def _forward(self, pair: Pair) -> None:
        host, port = self.pod.ip, self.pod.host_port(pair.port)
        writer = None
        try:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError as exc:
                message = (
                    f"error forwarding port {pair.port} to pod {self.pod.name}, uid {self.pod.uid}: "
                    f"failed to connect to {host}:{port} inside the pod: {exc.strerror or exc}"
                )
                await self._send(lambda: self.writer.data(pair.error_id, message.encode()))
                return
            upstream = asyncio.ensure_future(self._to_pod(pair, writer))
            try:
                while data := await reader.read(READ_BYTES):
                    await self._send(lambda data=data: self.writer.data(pair.data_id, data))
            finally:
                upstream.cancel()
        except OSError:
            pass  # the pod or the client went away: the FINs below say so
        finally:
            if writer is not None:
                writer.close()
            with contextlib.suppress(OSError):
                await self._send(lambda: self.writer.data(pair.data_id, fin=True))
                await self._send(lambda: self.writer.data(pair.error_id, fin=True))
            self.pairs.pop(pair.request_id, None)
            self.by_stream.pop(pair.data_id, None)
            self.by_stream.pop(pair.error_id, None)

    @staticmethod
    async def _to_pod(pair: Pair, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while (data := await pair.to_pod.get()) is not None:
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
