"""The port-forward session (sandbox.port_forward) driven with SPDY bytes, as kubectl drives it."""

from __future__ import annotations

import asyncio

from sandbox import spdy
from sandbox.objects import PodState
from sandbox.port_forward import Session


class FakeSocket:
    """The WebSocket side: messages in from a queue (None = the client left), frames out decoded."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.reader = spdy.FrameReader()
        self.frames: list[spdy.Frame] = []
        self.arrived = asyncio.Event()
        self.closed = False

    async def receive(self) -> bytes | None:
        return await self.incoming.get()

    async def send(self, data: bytes) -> None:
        self.frames += self.reader.feed(data)
        self.arrived.set()

    async def close(self, code: int = 1000) -> None:
        self.closed = True
        self.incoming.put_nowait(None)

    async def until(self, predicate, seconds: float = 5) -> list[spdy.Frame]:
        async with asyncio.timeout(seconds):
            while not predicate(self.frames):
                self.arrived.clear()
                await self.arrived.wait()
        return self.frames


async def shouting_pod() -> tuple[asyncio.Server, int]:
    """A pod's server that reads until the client's end-of-file, then answers in capitals."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((await reader.read()).upper())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def a_pod(port: int) -> PodState:
    # The pod's port 8081 is reachable at 127.0.0.1:port (PodState.host_port).
    return PodState("web-1", "web", "h", {}, "uid-1", "127.0.0.1", port, "node", "2026-01-01T00:00:00Z")


def streams_for(client: spdy.FrameWriter, request_id: int, port: int = 8081) -> bytes:
    headers = {"port": [str(port)], "requestid": [str(request_id)]}
    first = 4 * request_id + 1
    return client.syn_stream(first, {"streamtype": ["error"], **headers}) + client.syn_stream(
        first + 2, {"streamtype": ["data"], **headers}
    )


async def test_a_forwarded_connection_half_closes_both_ways_then_closes_its_error_stream():
    server, port = await shouting_pod()
    socket, client = FakeSocket(), spdy.FrameWriter()
    session = asyncio.ensure_future(Session(socket, a_pod(port), alive=lambda: True).run())
    socket.incoming.put_nowait(
        streams_for(client, 0) + client.data(3, b"hello ") + client.data(3, b"pod", fin=True)
    )
    frames = await socket.until(lambda fs: any(f.stream_id == 1 and f.fin for f in fs if f.type == 0))
    replies = [f.stream_id for f in frames if f.type == spdy.SYN_REPLY]
    data = [f for f in frames if f.type == 0]
    assert replies == [1, 3]
    assert b"".join(f.data for f in data if f.stream_id == 3) == b"HELLO POD"
    assert [(f.stream_id, f.fin) for f in data if f.fin] == [(3, True), (1, True)]  # data, then error
    assert not any(f.data for f in data if f.stream_id == 1), "no error to report"
    socket.incoming.put_nowait(None)
    await session
    server.close()


async def test_a_refused_port_is_reported_on_the_error_stream():
    server, port = await shouting_pod()
    server.close()
    await server.wait_closed()  # nothing listens there any more
    socket, client = FakeSocket(), spdy.FrameWriter()
    session = asyncio.ensure_future(Session(socket, a_pod(port), alive=lambda: True).run())
    socket.incoming.put_nowait(streams_for(client, 0))
    frames = await socket.until(lambda fs: any(f.stream_id == 1 and f.fin for f in fs if f.type == 0))
    error = b"".join(f.data for f in frames if f.type == 0 and f.stream_id == 1)
    assert error.startswith(b"error forwarding port 8081 to pod web-1, uid uid-1: failed to connect to")
    socket.incoming.put_nowait(None)
    await session


async def test_pings_are_echoed_and_bad_streams_reset():
    socket, client = FakeSocket(), spdy.FrameWriter()
    session = asyncio.ensure_future(Session(socket, a_pod(1), alive=lambda: True).run())
    socket.incoming.put_nowait(
        client.ping(1) + client.syn_stream(1, {"streamtype": ["bogus"], "port": ["80"]})
    )
    frames = await socket.until(lambda fs: len(fs) == 2)
    assert (frames[0].type, frames[0].ping_id) == (spdy.PING, 1)
    assert (frames[1].type, frames[1].stream_id, frames[1].status) == (
        spdy.RST_STREAM,
        1,
        spdy.PROTOCOL_ERROR,
    )
    socket.incoming.put_nowait(client.goaway(0))
    await asyncio.wait_for(session, 5)  # GOAWAY ends the session


async def test_the_session_ends_when_the_pods_container_stops():
    socket = FakeSocket()
    alive = [True]
    session = asyncio.ensure_future(Session(socket, a_pod(1), alive=lambda: alive[0]).run())
    await asyncio.sleep(0.1)
    alive[0] = False
    await asyncio.wait_for(session, 5)
    assert socket.closed
