"""The lightweight pods' host: one process serving many pods of a ReplicaSet, each as the app.

    python -m sandbox.pod_host        (started by sandbox.hosted_pods, with the pods' environment)

Each pod has its own loopback address, its own listeners (HTTP on its port 8081, gRPC on its
50051) and its own identity, and is answered by the app's own code: ``combat_app.asgi``'s
``Front`` (told each pod with ``serve_pod``; it answers a connection as the pod whose address it
reached) in front of Django, under one ``uvicorn.Server`` whose protocol serves every pod's
listening socket (added and removed at run time with ``loop.create_server``, as uvicorn's own
``startup`` does for the sockets it is given), and ``combat_app.greeting.serve_on_loop``, one
``grpc.aio`` server per pod on the same loop. A pod's ``<pod> ping`` lines go to its own
container log, as CRI records (``sandbox.logs``); the host's own output (uvicorn's, Django's
errors) goes to the host's stderr, a file beside the pods' logs.

The control channel is JSON lines. On stdin, from the sandbox, one command a line:

    {"op": "add", "pod": NAME, "ip": IP, "node": NODE, "port": 8081, "grpc_port": 50051,
     "log": PATH, "raw_log": PATH}      serve the pod (grpc_port 0: no gRPC)
    {"op": "drain", "ip": IP}           the pod's SIGTERM: /readyz 503 now, listeners closed after
                                        SHUTDOWN_DRAIN_SECONDS, in-flight requests finished within
                                        SHUTDOWN_TIMEOUT_SECONDS, gRPC within
                                        SHUTDOWN_GRPC_GRACE_SECONDS (combat_app.serving's order)
    {"op": "kill", "ip": IP}            the pod's SIGKILL: listeners and connections closed now

On stdout, to the sandbox, one report a line:

    {"ip": IP, "state": "listening"}
    {"ip": IP, "state": "exited", "code": 0 | 1 | 137, "reason": TEXT}

1 is a pod that could not listen; 137 a killed one. At the end of stdin every pod is killed and
the host exits; if the host dies, the sandbox counts its pods' containers as exited.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from combat_app.env import env_bool, env_float
from sandbox.logs import PIECE_BYTES, rfc3339_nano

logger = logging.getLogger(__name__)
KILLED = 137  # 128 + SIGKILL, as a container runtime reports a killed container


class ContainerLog(logging.Handler):
    """A pod's container output as the kubelet keeps it (``sandbox.logs``): a CRI record a line
    (``<time> stderr F <line>``) in the container start's file, the bare line in ``<pod>.log``."""

    def __init__(self, path: Path, raw_path: Path) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))  # combat_app.ping's "bare" format
        path.parent.mkdir(parents=True, exist_ok=True)
        self._records = open(path, "ab", buffering=0)  # noqa: SIM115 - open while the pod runs
        self._raw = open(raw_path, "ab", buffering=0)  # noqa: SIM115

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record).encode()
            stamp = rfc3339_nano(time.time_ns())
            pieces = [line[i : i + PIECE_BYTES] for i in range(0, len(line), PIECE_BYTES)] or [b""]
            tags = [b"P"] * (len(pieces) - 1) + [b"F"]
            self._raw.write(line + b"\n")
            self._records.write(
                b"".join(b"%s stderr %s %s\n" % (stamp, t, p) for p, t in zip(pieces, tags, strict=True))
            )
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self._records.close()
        self._raw.close()
        super().close()


@dataclass
class HostedPod:
    ip: str
    log: ContainerLog
    http: asyncio.Server | None = None
    grpc: Any = None  # grpc.aio.Server
    stopping: asyncio.Task | None = None
    done: bool = False


@dataclass
class Host:
    front: Any  # combat_app.front.Front
    server: uvicorn.Server
    drain_seconds: float
    graceful_seconds: float
    grpc_grace_seconds: float
    reports: Any  # a text stream
    pods: dict[str, HostedPod] = field(default_factory=dict)

    def report(self, ip: str, state: str, **more: object) -> None:
        self.reports.write(json.dumps({"ip": ip, "state": state, **more}) + "\n")
        self.reports.flush()

    def _protocol(self) -> asyncio.Protocol:
        server, config = self.server, self.server.config
        return config.http_protocol_class(
            config=config, server_state=server.server_state, app_state=server.lifespan.state
        )

    async def add(self, command: dict) -> None:
        from combat_app import greeting
        from combat_app.front import ping_logger
        from combat_app.identity import PodIdentity

        ip, name = command["ip"], command["pod"]
        if ip in self.pods:
            await self.kill(ip)
        pod = HostedPod(ip, ContainerLog(Path(command["log"]), Path(command["raw_log"])))
        self.pods[ip] = pod
        # A Logger of its own per pod, outside logging's registry: it goes with the pod.
        pod_logger = logging.Logger("combat_app.ping", ping_logger.getEffectiveLevel())
        pod_logger.addHandler(pod.log)
        self.front.serve_pod(PodIdentity(name, ip, command["node"]), logger=pod_logger)
        loop = asyncio.get_running_loop()
        try:
            pod.http = await loop.create_server(
                self._protocol, host=ip, port=command["port"], backlog=self.server.config.backlog
            )
            self.server.servers.append(pod.http)  # uvicorn closes it too if the host stops
            if command.get("grpc_port"):
                pod.grpc = await greeting.serve_on_loop(ip, command["grpc_port"], pod_name=name)
        except OSError as exc:
            message = f"k8s-combat: could not serve on {ip}: {exc.strerror or exc}"
            pod_logger.error(message)
            await self._close(pod, graceful=False)
            self.report(ip, "exited", code=1, reason=message)
            return
        self.report(ip, "listening")

    def drain(self, ip: str) -> None:
        pod = self.pods.get(ip)
        if pod is not None and pod.stopping is None:
            pod.stopping = asyncio.ensure_future(self._drain(pod))

    async def _drain(self, pod: HostedPod) -> None:
        self.front.drain_pod(pod.ip)
        await asyncio.sleep(self.drain_seconds)
        await self._close(pod, graceful=True)
        self.report(pod.ip, "exited", code=0, reason="Completed")

    async def kill(self, ip: str) -> None:
        pod = self.pods.get(ip)
        if pod is None or pod.done:
            return
        if pod.stopping is not None:
            pod.stopping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pod.stopping
        if not pod.done:
            await self._close(pod, graceful=False)
            self.report(ip, "exited", code=KILLED, reason="Error")

    async def _close(self, pod: HostedPod, *, graceful: bool) -> None:
        """Stop accepting, then (graceful) let in-flight requests finish as uvicorn's shutdown
        does, within the graceful timeout; whatever is left is dropped."""
        if pod.http is not None:
            pod.http.close()
        connections = self.server.server_state.connections
        mine = [c for c in connections if (getattr(c, "server", None) or ("",))[0] == pod.ip]
        grpc_stop = None
        if pod.grpc is not None:
            grpc_stop = asyncio.ensure_future(pod.grpc.stop(self.grpc_grace_seconds if graceful else None))
        try:
            if graceful:
                for connection in mine:
                    connection.shutdown()
                deadline = time.monotonic() + self.graceful_seconds
                # uvicorn's own shutdown polls its connections so, every 0.1 s
                while any(c in connections for c in mine) and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
            if grpc_stop is not None:
                await grpc_stop
        finally:
            for connection in mine:
                if connection in connections:
                    connection.transport.abort()
            self._forget(pod)

    def _forget(self, pod: HostedPod) -> None:
        pod.done = True
        self.front.forget_pod(pod.ip)
        if pod.http is not None and pod.http in self.server.servers:
            self.server.servers.remove(pod.http)
        pod.log.close()
        if self.pods.get(pod.ip) is pod:
            del self.pods[pod.ip]


class _EmbeddedServer(uvicorn.Server):
    """The host stops when the sandbox closes its stdin, not on a signal of its own."""

    def capture_signals(self):
        return contextlib.nullcontext()


async def _commands() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def _serve(config: uvicorn.Config, host_settings: dict, reports) -> int:
    server = _EmbeddedServer(config)
    serving = asyncio.ensure_future(server.serve(sockets=[]))
    while not server.started:
        if serving.done():
            return 3  # the lifespan start-up failed; uvicorn logged why
        await asyncio.sleep(0.01)
    host = Host(config.app, server, reports=reports, **host_settings)
    reader = await _commands()
    while line := await reader.readline():
        command = json.loads(line)
        if command["op"] == "add":
            await host.add(command)
        elif command["op"] == "drain":
            host.drain(command["ip"])
        elif command["op"] == "kill":
            await host.kill(command["ip"])
    for ip in list(host.pods):
        await host.kill(ip)
    server.should_exit = True
    await serving
    return 0


def main() -> int:
    reports = os.fdopen(os.dup(1), "w")  # the control channel; stray prints go to stderr instead
    os.dup2(2, 1)
    os.environ["COMBAT_GRPC_PORT"] = "0"  # each pod's Greeter is served here, not by the app
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "combat_app.settings")
    from django.core.exceptions import ImproperlyConfigured

    try:
        host_settings = {
            "drain_seconds": env_float("SHUTDOWN_DRAIN_SECONDS", 3.0, minimum=0, maximum=300),
            "graceful_seconds": env_float("SHUTDOWN_TIMEOUT_SECONDS", 10.0, minimum=0, maximum=300),
        }
        access_log = env_bool("COMBAT_ACCESS_LOG", False)
        from combat_app.asgi import application
    except ImproperlyConfigured as exc:
        print(f"k8s-combat: configuration error: {exc}", file=sys.stderr)
        return 2
    from django.conf import settings

    host_settings["grpc_grace_seconds"] = settings.SHUTDOWN_GRPC_GRACE_SECONDS
    config = uvicorn.Config(
        application,
        lifespan="on",
        access_log=access_log,
        log_config=None,
        log_level=settings.LOG_LEVEL.lower(),
        timeout_graceful_shutdown=host_settings["graceful_seconds"],
        server_header=False,
        ws_per_message_deflate=False,
    )
    config.load()
    try:
        import uvloop

        return uvloop.run(_serve(config, host_settings, reports))
    except ImportError:
        return asyncio.run(_serve(config, host_settings, reports))


if __name__ == "__main__":
    sys.exit(main())
