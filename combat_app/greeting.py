"""gRPC: the seed's ``helloworld.Greeter/SayHello``, served by every pod and called by the consumer.

The one module that imports ``grpc``. The two messages of the standard helloworld proto each have
one string field (number 1), so they are encoded here by hand (tag 0x0A, a varint length, the
UTF-8 bytes) rather than generated: any helloworld client or server speaks with these.

The lesson it carries: a gRPC channel is one long-lived HTTP/2 connection, so a Service (L4)
sends every call on it to the one pod the connection landed on.
"""

from __future__ import annotations

import threading
import time
from concurrent import futures
from dataclasses import dataclass

import grpc

SERVICE = "helloworld.Greeter"
METHOD = f"/{SERVICE}/SayHello"


def encode_string_field(value: str) -> bytes:
    data = value.encode()
    length = len(data)
    varint = bytearray()
    while True:
        byte = length & 0x7F
        length >>= 7
        varint.append(byte | (0x80 if length else 0))
        if not length:
            break
    return b"\x0a" + bytes(varint) + data if data else b""


def decode_string_field(message: bytes) -> str:
    """Field 1 of a helloworld message; other fields are skipped, as protobuf parsers do."""
    position, found = 0, ""
    while position < len(message):
        key, position = _varint(message, position)
        field, wire_type = key >> 3, key & 7
        if wire_type == 2:
            length, position = _varint(message, position)
            if field == 1:
                found = message[position : position + length].decode("utf-8", "replace")
            position += length
        elif wire_type == 0:
            _, position = _varint(message, position)
        elif wire_type in (1, 5):
            position += 8 if wire_type == 1 else 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
    return found


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if position >= len(data):
            raise ValueError("truncated varint")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


# --- the server ----------------------------------------------------------------------------------


def reply(pod_name: str, name: str) -> str:
    """SayHello's answer: it names the pod, as the original's did."""
    return f"hostname:{pod_name}, in:{name}"


def serve(host: str, port: int, *, pod_name: str) -> grpc.Server:
    """Start the Greeter on ``host:port``; the reply names the pod (``reply``)."""

    def say_hello(name: str, context: grpc.ServicerContext) -> str:
        return reply(pod_name, name)

    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "SayHello": grpc.unary_unary_rpc_method_handler(
                say_hello, request_deserializer=decode_string_field, response_serializer=encode_string_field
            )
        },
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="grpc"), handlers=[handler]
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    if not bound:
        raise OSError(f"cannot serve gRPC on {host}:{port}")
    server.start()
    return server


async def serve_on_loop(host: str, port: int, *, pod_name: str) -> grpc.aio.Server:
    """The same Greeter as ``serve``, as a ``grpc.aio`` server on the running event loop.

    For a process that serves many pods (``sandbox.pod_host``): the Python API does not tell a
    servicer which address a call reached, so each pod gets its own server, and aio servers share
    the process's one completion queue and poller thread (about 25 KiB a server, against 45 KiB
    and a thread each for ``grpc.server``). The reply is encoded here: the aio server turns a
    ``str`` into bytes before a ``response_serializer`` would see it. Raises OSError when the
    address cannot be bound."""

    async def say_hello(name: str, context: grpc.aio.ServicerContext) -> bytes:
        return encode_string_field(reply(pod_name, name))

    method = grpc.unary_unary_rpc_method_handler(say_hello, request_deserializer=decode_string_field)
    handler = grpc.method_handlers_generic_handler(SERVICE, {"SayHello": method})
    server = grpc.aio.server(handlers=[handler], options=[("grpc.so_reuseport", 0)])  # one pod a port
    try:
        server.add_insecure_port(f"{host}:{port}")
    except RuntimeError as exc:  # grpc.aio raises RuntimeError("Failed to bind to address ...")
        await server.stop(None)
        raise OSError(f"cannot serve gRPC on {host}:{port}") from exc
    await server.start()
    return server


# --- the client ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrpcAnswer:
    """Shaped like ``upstream.Answer``, so a call is recorded the same way whatever carried it."""

    outcome: str  # ok, or grpc-<STATUS> (grpc-UNAVAILABLE, grpc-DEADLINE_EXCEEDED, ...)
    message: str
    pod: str
    latency_ms: float
    error: str
    channel: int | None = None  # which channel (one HTTP/2 connection) carried the call
    reused: bool = False  # True when that channel had carried an earlier call
    pod_ip: str = ""  # the reply names the pod, not its address
    node: str = ""
    local_port: int | None = None


def pod_of(message: str) -> str:
    """``hostname:<pod>, in:<name>`` -> ``<pod>``."""
    head = message.split(",", 1)[0]
    return head.removeprefix("hostname:") if head.startswith("hostname:") else ""


class Greeter:
    """A client on one channel: every call goes over the same HTTP/2 connection while it lives."""

    _ids = iter(range(1, 2**62))
    _lock = threading.Lock()

    def __init__(self, target: str) -> None:
        self.target = target
        # A local subchannel pool: gRPC otherwise shares one TCP connection among all the channels
        # of a process to the same target, and a "new channel" would not be a new connection.
        options = [("grpc.enable_retries", 0), ("grpc.use_local_subchannel_pool", 1)]
        self.channel = grpc.insecure_channel(target, options=options)
        self._call = self.channel.unary_unary(
            METHOD, request_serializer=encode_string_field, response_deserializer=decode_string_field
        )
        with Greeter._lock:
            self.id = next(Greeter._ids)  # which channel carried a call: the page tints by it
        self._calls = 0

    def say_hello(self, name: str, *, timeout: float) -> GrpcAnswer:
        """Never raises and never outlasts ``timeout``: failures come back as their status."""
        with Greeter._lock:
            reused, self._calls = self._calls > 0, self._calls + 1
        started = time.perf_counter()
        try:
            message = self._call(name, timeout=timeout, wait_for_ready=False)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
            return GrpcAnswer(
                f"grpc-{code.name}",
                "",
                "",
                _since(started),
                str(exc.details() or code.name),
                channel=self.id,
                reused=reused,
            )
        return GrpcAnswer("ok", message, pod_of(message), _since(started), "", channel=self.id, reused=reused)

    def close(self) -> None:
        self.channel.close()


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
